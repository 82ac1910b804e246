//! How one node of a fleet proves to another that an invoke it forwards is its own
//! (docs/fleet.md): every node has the fleet's server key (the store refuses a node with
//! another), so each derives the same secret from it and signs what it forwards with
//! HMAC-SHA256 over the method, path, time, the forwarded fields (sender, request id,
//! caller, function, qualifier, log type, client context) and the body's SHA-256. The
//! receiver refuses a signature that does not match, a time outside [`WINDOW`] of its
//! own clock, and a signature it has already accepted within that window (a replay).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// How far a forward's time may be from the receiver's clock.
pub(crate) const WINDOW: Duration = Duration::from_secs(30);

/// What a forward says and the signature covers, besides its method and path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Signed<'a> {
    /// When it was sent (ms since the epoch, the sender's clock).
    pub time_ms: i64,
    /// The sending node's id.
    pub from: &'a str,
    pub request_id: &'a str,
    /// The ARN of who called the sending node (authenticated and authorised there).
    pub caller: &'a str,
    /// The function key.
    pub function: &'a str,
    pub qualifier: &'a str,
    /// `Tail` or `None`.
    pub log_type: &'a str,
    /// `X-Amz-Client-Context` as the caller sent it (Base64), or empty.
    pub client_context: &'a str,
    /// The caller's `X-Amzn-Trace-Id`, or empty: the node that runs the invoke continues
    /// the caller's trace.
    pub trace_header: &'a str,
}

/// Why a forward was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum Refused {
    #[error("the forwarded request is not signed")]
    Unsigned,
    #[error("the forwarded request's signature does not match")]
    BadSignature,
    #[error("the forwarded request is stale or from the future (more than {}s off)", WINDOW.as_secs())]
    Stale,
    #[error("the forwarded request was seen before")]
    Replayed,
    #[error("this node takes no forwarded requests (it is not in a fleet)")]
    NoFleet,
}

/// The fleet's forwarding secret and the signatures accepted within the window.
pub(crate) struct FleetKey {
    mac: Hmac<Sha256>,
    seen: Mutex<HashMap<[u8; 32], i64>>,
}

/// Past this many remembered signatures the oldest are dropped even within the window:
/// a bound on memory, not a limit anyone reaches at real rates.
const MAX_SEEN: usize = 100_000;

impl FleetKey {
    /// The key of a fleet whose nodes share `secret` (derived from the server key).
    pub(crate) fn new(secret: &[u8]) -> Self {
        Self {
            mac: Hmac::new_from_slice(secret).expect("HMAC takes a key of any length"),
            seen: Mutex::new(HashMap::new()),
        }
    }

    fn mac(&self, method: &str, path: &str, s: &Signed<'_>, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        let body_hash = hex::encode(Sha256::digest(body));
        let time = s.time_ms.to_string();
        for part in [
            "HEARTH-FLEET-1",
            method,
            path,
            &time,
            s.from,
            s.request_id,
            s.caller,
            s.function,
            s.qualifier,
            s.log_type,
            s.client_context,
            &body_hash,
        ] {
            // Lengths first: no two different field lists make the same bytes.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        // Covered only when present, so that a forward without one signs as nodes that
        // predate the field sign it.
        if !s.trace_header.is_empty() {
            mac.update(&(s.trace_header.len() as u64).to_be_bytes());
            mac.update(s.trace_header.as_bytes());
        }
        mac
    }

    /// The signature (hex) of a forward.
    pub(crate) fn sign(&self, method: &str, path: &str, s: &Signed<'_>, body: &[u8]) -> String {
        hex::encode(self.mac(method, path, s, body).finalize().into_bytes())
    }

    /// Accepts a forward received at `now_ms` (this node's clock) with `signature`, once.
    pub(crate) fn verify(
        &self,
        (method, path): (&str, &str),
        s: &Signed<'_>,
        body: &[u8],
        signature: &str,
        now_ms: i64,
    ) -> Result<(), Refused> {
        let given = hex::decode(signature).map_err(|_| Refused::BadSignature)?;
        self.mac(method, path, s, body)
            .verify_slice(&given)
            .map_err(|_| Refused::BadSignature)?;
        let window = i64::try_from(WINDOW.as_millis()).unwrap_or(i64::MAX);
        if (now_ms - s.time_ms).abs() > window {
            return Err(Refused::Stale);
        }
        let key: [u8; 32] = given.try_into().map_err(|_| Refused::BadSignature)?;
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.retain(|_, t| now_ms - *t <= window);
        if seen.len() >= MAX_SEEN {
            seen.clear();
        }
        if seen.insert(key, s.time_ms).is_some() {
            return Err(Refused::Replayed);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(time_ms: i64) -> Signed<'static> {
        Signed {
            time_ms,
            from: "node-a",
            request_id: "r-1",
            caller: "arn:aws:iam::123456789012:root",
            function: "123456789012:f",
            qualifier: "$LATEST",
            log_type: "None",
            client_context: "",
            trace_header: "",
        }
    }

    const AT: (&str, &str) = ("POST", "/_hearth/fleet/invoke");

    #[test]
    fn a_signed_forward_is_accepted_once() {
        let key = FleetKey::new(b"fleet secret");
        let s = signed(1_000_000);
        let sig = key.sign(AT.0, AT.1, &s, b"{}");
        assert_eq!(key.verify(AT, &s, b"{}", &sig, 1_000_500), Ok(()));
        assert_eq!(
            key.verify(AT, &s, b"{}", &sig, 1_000_600),
            Err(Refused::Replayed)
        );
    }

    #[test]
    fn tampering_another_key_and_staleness_are_refused() {
        let key = FleetKey::new(b"fleet secret");
        let s = signed(1_000_000);
        let sig = key.sign(AT.0, AT.1, &s, b"{\"a\":1}");
        let now = 1_000_000;
        // Another body, field, path or key.
        assert_eq!(
            key.verify(AT, &s, b"{\"a\":2}", &sig, now),
            Err(Refused::BadSignature)
        );
        for changed in [
            Signed {
                caller: "arn:aws:iam::210987654321:root",
                ..s.clone()
            },
            Signed {
                function: "123456789012:g",
                ..s.clone()
            },
            Signed {
                qualifier: "1",
                ..s.clone()
            },
            Signed {
                log_type: "Tail",
                ..s.clone()
            },
            Signed {
                trace_header: "Root=1-5759e988-bd862e3fe1be46a994272793",
                ..s.clone()
            },
            Signed {
                time_ms: s.time_ms + 1,
                ..s.clone()
            },
        ] {
            assert_eq!(
                key.verify(AT, &changed, b"{\"a\":1}", &sig, now),
                Err(Refused::BadSignature),
                "{changed:?}"
            );
        }
        assert_eq!(
            key.verify(
                ("POST", "/_hearth/fleet/other"),
                &s,
                b"{\"a\":1}",
                &sig,
                now
            ),
            Err(Refused::BadSignature)
        );
        let other = FleetKey::new(b"another fleet");
        assert_eq!(
            other.verify(AT, &s, b"{\"a\":1}", &sig, now),
            Err(Refused::BadSignature)
        );
        assert_eq!(
            key.verify(AT, &s, b"{\"a\":1}", "not hex", now),
            Err(Refused::BadSignature)
        );
        // Right signature, outside the window either way.
        let window = WINDOW.as_millis() as i64;
        assert_eq!(
            key.verify(AT, &s, b"{\"a\":1}", &sig, now + window + 1),
            Err(Refused::Stale)
        );
        assert_eq!(
            key.verify(AT, &s, b"{\"a\":1}", &sig, now - window - 1),
            Err(Refused::Stale)
        );
        // Fields that run into each other are told apart.
        let a = Signed {
            from: "node-ab",
            request_id: "c",
            ..s.clone()
        };
        let b = Signed {
            from: "node-a",
            request_id: "bc",
            ..s.clone()
        };
        assert_ne!(key.sign(AT.0, AT.1, &a, b""), key.sign(AT.0, AT.1, &b, b""));
    }
}
