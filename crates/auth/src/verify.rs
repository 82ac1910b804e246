//! Verifying a SigV4-signed request: parse what it claims, check the scope (region,
//! service, date), the time (15 minutes of skew; a presigned URL's expiry), find the
//! secret (a long-term key, or a session token's), re-sign the request as received
//! with `aws-sigv4` over the headers the client signed, and compare in constant time.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SessionTokenMode, SignableBody,
    SignableRequest, SignatureLocation, SigningSettings, UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use chrono::{DateTime, NaiveDateTime, Utc};
use hearth_model::caller::Caller;
use http::HeaderName;
use sha2::{Digest, Sha256};

use crate::canonical::{self, Hex, Signing, StackText};
use crate::error::AuthError;
use crate::parse::{is_presigned, parse_authorization, parse_presigned, Claimed};
use crate::session::Sessions;
use crate::signing_keys::SigningKeys;

/// How far a request's date may be from the server's clock, either way.
pub const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// The longest a presigned URL may be valid (seven days, as on AWS).
pub const MAX_EXPIRES: u64 = 604_800;

const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// A long-term key's secret and whose it is.
#[derive(Clone)]
pub struct LongTermKey {
    pub secret: String,
    pub caller: Caller,
}

/// Where long-term keys are found (the server's keys, cached from its store).
pub trait KeyLookup: Send + Sync {
    /// The key, shared (a lookup copies no secret or caller).
    fn lookup(&self, access_key_id: &str) -> Option<Arc<LongTermKey>>;
}

/// The secret a request was signed with, and whose it is.
enum Signer {
    LongTerm(Arc<LongTermKey>),
    Session(Caller, String),
}

impl Signer {
    fn secret(&self) -> &str {
        match self {
            Self::LongTerm(k) => &k.secret,
            Self::Session(_, secret) => secret,
        }
    }

    fn into_caller(self) -> Caller {
        match self {
            Self::LongTerm(k) => k.caller.clone(),
            Self::Session(caller, _) => caller,
        }
    }
}

/// The request as received.
pub struct Incoming<'a> {
    pub method: &'a str,
    /// The path and query exactly as sent (still percent-encoded).
    pub path_and_query: &'a str,
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
}

/// Which services a request may be scoped to.
#[derive(Debug, Clone, Copy)]
pub enum ServiceCheck<'a> {
    /// The service the request is for.
    Is(&'a str),
    /// One of these (the query protocol's services, told apart by the scope itself).
    OneOf(&'a [&'a str]),
}

/// Verifies requests for one server (its region, keys and session key).
#[derive(Clone)]
pub struct Verifier {
    region: String,
    keys: Arc<dyn KeyLookup>,
    sessions: Sessions,
    signing_keys: SigningKeys,
}

impl Verifier {
    pub fn new(region: impl Into<String>, keys: Arc<dyn KeyLookup>, sessions: Sessions) -> Self {
        Self {
            region: region.into(),
            keys,
            sessions,
            signing_keys: SigningKeys::default(),
        }
    }

    /// The session issuer this verifier accepts the tokens of.
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// Who signed `req`, if its signature is valid at `now` for a service `service` allows.
    pub fn verify(
        &self,
        req: &Incoming<'_>,
        service: ServiceCheck<'_>,
        now: SystemTime,
    ) -> Result<Caller, AuthError> {
        let query = req.path_and_query.split_once('?').map_or("", |(_, q)| q);
        let auth = req.headers.get(http::header::AUTHORIZATION).map(|v| {
            // A signature is ASCII; anything else only makes the error's text.
            v.to_str()
                .map_or_else(|_| String::from_utf8_lossy(v.as_bytes()), Cow::Borrowed)
        });
        let claimed = match &auth {
            Some(header) => parse_authorization(header)?,
            None if is_presigned(query) => parse_presigned(query)?,
            None => return Err(AuthError::Missing),
        };
        let date_text: &str = match &claimed.date {
            Some(d) => d,
            None => header(req.headers, &X_AMZ_DATE).ok_or_else(|| {
                AuthError::Incomplete(format!(
                    "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization={}",
                    auth.as_deref().unwrap_or_default()
                ))
            })?,
        };
        let signed_at = parse_date(date_text)?;
        self.check_scope(&claimed, date_text, service)?;
        check_time(&claimed, date_text, signed_at, now)?;
        let token = claimed
            .security_token
            .as_deref()
            .or_else(|| header(req.headers, &X_AMZ_SECURITY_TOKEN));
        let signer = self.signer(&claimed.scope.access_key_id, token, now)?;
        // A signature that is not 64 lower-case hex digits matches nothing.
        let sent = decode_signature(&claimed.signature).ok_or_else(AuthError::mismatch)?;
        let expected = self.signature(
            req,
            &claimed,
            signer.secret(),
            token,
            (date_text, signed_at),
        )?;
        if constant_time_eq(&expected, &sent) {
            Ok(signer.into_caller())
        } else {
            Err(AuthError::mismatch())
        }
    }

    fn check_scope(
        &self,
        claimed: &Claimed<'_>,
        date: &str,
        service: ServiceCheck<'_>,
    ) -> Result<(), AuthError> {
        let scope = &claimed.scope;
        if date.get(..8) != Some(&*scope.date) {
            return Err(AuthError::Signature(format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{date}'.",
                scope.date,
                date.get(..8).unwrap_or(date)
            )));
        }
        if scope.region != self.region {
            return Err(AuthError::Signature(format!(
                "Credential should be scoped to a valid region, not '{}'. ",
                scope.region
            )));
        }
        let allowed = match service {
            ServiceCheck::Is(s) => scope.service == s,
            ServiceCheck::OneOf(list) => list.contains(&&*scope.service),
        };
        if !allowed {
            let want = match service {
                ServiceCheck::Is(s) => s,
                ServiceCheck::OneOf(list) => list.first().copied().unwrap_or_default(),
            };
            return Err(AuthError::Signature(format!(
                "Credential should be scoped to correct service: '{want}'. "
            )));
        }
        Ok(())
    }

    fn signer(
        &self,
        access_key_id: &str,
        token: Option<&str>,
        now: SystemTime,
    ) -> Result<Signer, AuthError> {
        if access_key_id.starts_with("ASIA") {
            let token = token.ok_or(AuthError::UnknownKey)?;
            let (caller, secret) = self.sessions.open(access_key_id, token, now)?;
            return Ok(Signer::Session(caller, secret));
        }
        self.keys
            .lookup(access_key_id)
            .map(Signer::LongTerm)
            .ok_or(AuthError::UnknownKey)
    }

    /// The signature of `req` as a client holding `secret` computes it (its 32 bytes).
    fn signature(
        &self,
        req: &Incoming<'_>,
        claimed: &Claimed<'_>,
        secret: &str,
        token: Option<&str>,
        (date_text, signed_at): (&str, SystemTime),
    ) -> Result<[u8; 32], AuthError> {
        let content_sha = header(req.headers, &X_AMZ_CONTENT_SHA256);
        // The body's hash is computed once, for the check and for the canonical request.
        let body_hash;
        let payload_hash = match content_sha {
            Some(UNSIGNED_PAYLOAD) => UNSIGNED_PAYLOAD,
            Some(hash) => {
                body_hash = Hex::of(&Sha256::digest(req.body).into());
                // A signed payload hash must be the body's: else anything could be sent
                // under a signature of something else.
                if !hash.eq_ignore_ascii_case(body_hash.as_str()) {
                    return Err(AuthError::mismatch());
                }
                body_hash.as_str()
            }
            None => {
                body_hash = Hex::of(&Sha256::digest(req.body).into());
                body_hash.as_str()
            }
        };
        if !claimed.signs("host") {
            // aws-sigv4 always signs a host; without one the client's cannot match.
            return Err(AuthError::mismatch());
        }
        let sign_content_sha =
            !claimed.presigned && content_sha.is_some() && claimed.signs("x-amz-content-sha256");
        let sign_token = claimed.presigned || claimed.signs("x-amz-security-token");
        if !claimed.presigned {
            let signing = Signing {
                signed_headers: &claimed.signed,
                date_time: date_text,
                token: token.filter(|_| sign_token),
                content_sha256: sign_content_sha,
                payload_hash,
            };
            let mut creq = StackText::<2048>::new();
            if canonical::canonical_request(
                req.method,
                req.path_and_query,
                req.headers,
                &signing,
                &mut creq,
            ) {
                let scope = &claimed.scope;
                let mac = self.signing_keys.get(
                    secret,
                    (&scope.date, signed_at),
                    &scope.region,
                    &scope.service,
                );
                return Ok(canonical::sign(
                    mac,
                    date_text,
                    (&scope.date, &scope.region, &scope.service),
                    &Sha256::digest(creq.as_bytes()).into(),
                ));
            }
        }
        self.signature_by_aws_sigv4(
            req,
            claimed,
            secret,
            token,
            signed_at,
            (payload_hash, sign_content_sha, sign_token),
        )
    }

    /// [`Verifier::signature`] by aws-sigv4's general signer, for what the direct
    /// canonical form does not take (`canonical`'s module documentation).
    fn signature_by_aws_sigv4(
        &self,
        req: &Incoming<'_>,
        claimed: &Claimed<'_>,
        secret: &str,
        token: Option<&str>,
        signed_at: SystemTime,
        (payload_hash, sign_content_sha, sign_token): (&str, bool, bool),
    ) -> Result<[u8; 32], AuthError> {
        let body = SignableBody::Precomputed(payload_hash.to_string());
        // The headers the client signed, as received (several values joined by commas);
        // aws-sigv4 adds x-amz-date, the token and the content hash itself.
        let mut headers: Vec<(&str, Cow<'_, str>)> = Vec::new();
        for name in claimed.signed_headers() {
            if !claimed.presigned && canonical::ADDED.contains(&name) {
                continue;
            }
            let values: Vec<&str> = req
                .headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            headers.push((name, Cow::Owned(values.join(","))));
        }
        let path_and_query = if claimed.presigned {
            strip_presign_params(req.path_and_query)
        } else {
            Cow::Borrowed(req.path_and_query)
        };
        let host = header(req.headers, &http::header::HOST).unwrap_or("localhost");
        let uri = format!("http://{host}{path_and_query}");
        let mut settings = SigningSettings::default();
        settings.excluded_headers = Some(Vec::new());
        settings.percent_encoding_mode = PercentEncodingMode::Double;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Enabled;
        settings.payload_checksum_kind = if sign_content_sha {
            PayloadChecksumKind::XAmzSha256
        } else {
            PayloadChecksumKind::NoHeader
        };
        settings.session_token_mode = if sign_token {
            SessionTokenMode::Include
        } else {
            SessionTokenMode::Exclude
        };
        if claimed.presigned {
            settings.signature_location = SignatureLocation::QueryParams;
            settings.expires_in = claimed.expires.map(Duration::from_secs);
        }
        let identity = Credentials::new(
            claimed.scope.access_key_id.to_string(),
            secret.to_string(),
            token.map(str::to_string),
            None,
            "hearth",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&claimed.scope.region)
            .name(&claimed.scope.service)
            .time(signed_at)
            .settings(settings)
            .build()
            .map_err(|_| AuthError::mismatch())?
            .into();
        let signable = SignableRequest::new(
            req.method,
            uri,
            headers.iter().map(|(n, v)| (*n, v.as_ref())),
            body,
        )
        .map_err(|_| AuthError::mismatch())?;
        let out = sign(signable, &params).map_err(|_| AuthError::mismatch())?;
        decode_signature(out.signature()).ok_or_else(AuthError::mismatch)
    }
}

/// The query string without the presigned signature's own parameters, which aws-sigv4
/// adds back from what it signs with.
fn strip_presign_params(path_and_query: &str) -> Cow<'_, str> {
    let Some((path, query)) = path_and_query.split_once('?') else {
        return Cow::Borrowed(path_and_query);
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| {
            let name = crate::parse::decode(p.split_once('=').map_or(p, |(k, _)| k));
            !matches!(
                name.as_str(),
                "X-Amz-Algorithm"
                    | "X-Amz-Credential"
                    | "X-Amz-Date"
                    | "X-Amz-Expires"
                    | "X-Amz-SignedHeaders"
                    | "X-Amz-Signature"
                    | "X-Amz-Security-Token"
            )
        })
        .collect();
    if kept.is_empty() {
        Cow::Owned(path.to_string())
    } else {
        Cow::Owned(format!("{path}?{}", kept.join("&")))
    }
}

// The headers every verification reads, named once (a lookup by `&str` parses the name
// on every request).
static X_AMZ_DATE: HeaderName = HeaderName::from_static("x-amz-date");
static X_AMZ_SECURITY_TOKEN: HeaderName = HeaderName::from_static("x-amz-security-token");
static X_AMZ_CONTENT_SHA256: HeaderName = HeaderName::from_static("x-amz-content-sha256");

fn header<'a>(headers: &'a http::HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `20261201T203000Z` as a time.
fn parse_date(text: &str) -> Result<SystemTime, AuthError> {
    if let Some(t) = parse_basic_date(text) {
        return Ok(t);
    }
    NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%SZ")
        .map(|t| SystemTime::from(t.and_utc()))
        .map_err(|_| {
            AuthError::Incomplete(format!(
                "Date must be in ISO-8601 'basic format'. Got '{text}'. See http://en.wikipedia.org/wiki/ISO_8601"
            ))
        })
}

/// The canonical `YYYYMMDDTHHMMSSZ` read by hand, with the calendar's arithmetic (chrono's
/// format parser costs more than the rest of a verification's parsing, and its calendar
/// types more code on every request); anything else goes to chrono.
fn parse_basic_date(text: &str) -> Option<SystemTime> {
    let b = text.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u64> {
        b[r].iter().try_fold(0u64, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u64::from(c - b'0'))
        })
    };
    let (year, month, day) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hour, minute, second) = (num(9..11)?, num(11..13)?, num(13..15)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    // Before 1970 is no signature's date; a leap second (:60) is chrono's to read.
    if year < 1970 || day == 0 || day > month_days || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    // Days since 1970-01-01 of a proleptic Gregorian date (the civil-from-days inverse of
    // Howard Hinnant's date algorithms), years counted from March.
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y / 400;
    let year_of_era = y % 400;
    let day_of_year = (153 * m + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = (era * 146_097 + day_of_era).checked_sub(719_468)?;
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    Some(std::time::UNIX_EPOCH + Duration::from_secs(secs))
}

fn stamp(t: SystemTime) -> String {
    DateTime::<Utc>::from(t)
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

/// AWS's 15 minutes either way for a signed request; a presigned URL from its date to
/// its expiry.
fn check_time(
    claimed: &Claimed,
    date: &str,
    signed_at: SystemTime,
    now: SystemTime,
) -> Result<(), AuthError> {
    if signed_at > now + MAX_SKEW {
        return Err(AuthError::Signature(format!(
            "Signature not yet current: {date} is still later than {} ({} + 15 min.)",
            stamp(now + MAX_SKEW),
            stamp(now)
        )));
    }
    match claimed.expires {
        Some(expires) => {
            if expires > MAX_EXPIRES {
                return Err(AuthError::Incomplete(format!(
                    "X-Amz-Expires must be less than a week (in seconds) that is 604800, not {expires}."
                )));
            }
            let until = signed_at + Duration::from_secs(expires);
            if now > until {
                return Err(AuthError::Signature(format!(
                    "Signature expired: {} is now earlier than {} ({} - {expires} sec.)",
                    stamp(until),
                    stamp(now),
                    stamp(now),
                )));
            }
        }
        None => {
            if signed_at + MAX_SKEW < now {
                return Err(AuthError::Signature(format!(
                    "Signature expired: {date} is now earlier than {} ({} - 15 min.)",
                    stamp(now - MAX_SKEW),
                    stamp(now)
                )));
            }
        }
    }
    Ok(())
}

/// The 32 bytes of a signature in lower-case hex (AWS's form; anything else is no
/// signature Hearth computes).
fn decode_signature(hex: &str) -> Option<[u8; 32]> {
    let b = hex.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

/// The principal whose long-term key is `access_key_id` when `secret` is its secret (the
/// web console's sign-in), or `None`. The secrets' digests are compared in constant
/// time, so neither where they differ nor their lengths show in the time taken.
pub fn sign_in(keys: &dyn KeyLookup, access_key_id: &str, secret: &str) -> Option<Caller> {
    let key = keys.lookup(access_key_id)?;
    let expected = Sha256::digest(key.secret.as_bytes());
    let given = Sha256::digest(secret.as_bytes());
    constant_time_eq(&expected, &given).then(|| key.caller.clone())
}

/// Equality whose time does not depend on where the inputs differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::UNIX_EPOCH;

    use hearth_store::seal::SealKey;

    use super::*;
    use crate::session::SessionGrant;

    const ID: &str = "AKIAEXAMPLE000000000";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    struct Keys(HashMap<String, Arc<LongTermKey>>);

    impl KeyLookup for Keys {
        fn lookup(&self, id: &str) -> Option<Arc<LongTermKey>> {
            self.0.get(id).cloned()
        }
    }

    fn verifier() -> Verifier {
        let key = LongTermKey {
            secret: SECRET.into(),
            caller: Caller::default_root(),
        };
        Verifier::new(
            "us-east-1",
            Arc::new(Keys([(ID.to_string(), Arc::new(key))].into())),
            Sessions::new(&SealKey::from_bytes([3; 32])),
        )
    }

    #[test]
    fn sign_in_takes_the_keys_secret_and_nothing_else() {
        let keys = Keys(
            [(
                ID.to_string(),
                Arc::new(LongTermKey {
                    secret: SECRET.into(),
                    caller: Caller::default_root(),
                }),
            )]
            .into(),
        );
        assert_eq!(sign_in(&keys, ID, SECRET), Some(Caller::default_root()));
        assert_eq!(sign_in(&keys, ID, &SECRET[1..]), None);
        assert_eq!(sign_in(&keys, ID, ""), None);
        assert_eq!(sign_in(&keys, "AKIAOTHER00000000000", SECRET), None);
    }

    fn t0() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_796_000_000)
    }

    /// Signs as an AWS SDK does (aws-sigv4 on the client side): the request's headers.
    fn signed(
        (id, secret, token): (&str, &str, Option<&str>),
        (region, service): (&str, &str),
        (method, path, body): (&str, &str, &[u8]),
        at: SystemTime,
        settings: SigningSettings,
    ) -> (http::HeaderMap, String) {
        let identity = Credentials::new(id, secret, token.map(str::to_string), None, "test").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(region)
            .name(service)
            .time(at)
            .settings(settings)
            .build()
            .expect("params")
            .into();
        let url = format!("http://127.0.0.1:9000{path}");
        let req = SignableRequest::new(
            method,
            url.clone(),
            [("host", "127.0.0.1:9000")].into_iter(),
            SignableBody::Bytes(body),
        )
        .expect("signable");
        let (instructions, _) = sign(req, &params).expect("sign").into_parts();
        let mut headers = http::HeaderMap::new();
        headers.insert("host", "127.0.0.1:9000".parse().expect("host"));
        for (k, v) in instructions.headers() {
            headers.insert(
                http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                v.parse().expect("value"),
            );
        }
        let mut path = path.to_string();
        for (i, (k, v)) in instructions.params().iter().enumerate() {
            let sep = if i == 0 && !path.contains('?') {
                '?'
            } else {
                '&'
            };
            path.push_str(&format!("{sep}{k}={}", percent(v)));
        }
        (headers, path)
    }

    fn percent(v: &str) -> String {
        v.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    fn check(
        v: &Verifier,
        (method, path, body): (&str, &str, &[u8]),
        headers: &http::HeaderMap,
        now: SystemTime,
    ) -> Result<Caller, AuthError> {
        v.verify(
            &Incoming {
                method,
                path_and_query: path,
                headers,
                body,
            },
            ServiceCheck::Is("lambda"),
            now,
        )
    }

    const REQ: (&str, &str, &[u8]) = ("POST", "/2015-03-31/functions/f%24x/invocations", b"{}");

    #[test]
    fn a_valid_signature_passes_and_any_change_fails() {
        let v = verifier();
        let (headers, _) = signed(
            (ID, SECRET, None),
            ("us-east-1", "lambda"),
            REQ,
            t0(),
            SigningSettings::default(),
        );
        assert_eq!(check(&v, REQ, &headers, t0()), Ok(Caller::default_root()));
        // Another body, path or method under the same signature.
        assert_eq!(
            check(&v, (REQ.0, REQ.1, b"{ }"), &headers, t0()),
            Err(AuthError::mismatch())
        );
        assert_eq!(
            check(
                &v,
                (REQ.0, "/2015-03-31/functions/g/invocations", REQ.2),
                &headers,
                t0()
            ),
            Err(AuthError::mismatch())
        );
        // Another secret; an unknown key.
        let (forged, _) = signed(
            (ID, "not-the-secret", None),
            ("us-east-1", "lambda"),
            REQ,
            t0(),
            SigningSettings::default(),
        );
        assert_eq!(check(&v, REQ, &forged, t0()), Err(AuthError::mismatch()));
        let (unknown, _) = signed(
            ("AKIAUNKNOWN000000000", SECRET, None),
            ("us-east-1", "lambda"),
            REQ,
            t0(),
            SigningSettings::default(),
        );
        assert_eq!(check(&v, REQ, &unknown, t0()), Err(AuthError::UnknownKey));
        assert_eq!(
            check(&v, REQ, &http::HeaderMap::new(), t0()),
            Err(AuthError::Missing)
        );
    }

    #[test]
    fn the_scope_and_the_clock_are_checked() {
        let v = verifier();
        let (west, _) = signed(
            (ID, SECRET, None),
            ("us-west-2", "lambda"),
            REQ,
            t0(),
            SigningSettings::default(),
        );
        assert_eq!(
            check(&v, REQ, &west, t0()),
            Err(AuthError::Signature(
                "Credential should be scoped to a valid region, not 'us-west-2'. ".into()
            ))
        );
        let (logs, _) = signed(
            (ID, SECRET, None),
            ("us-east-1", "logs"),
            REQ,
            t0(),
            SigningSettings::default(),
        );
        assert_eq!(
            check(&v, REQ, &logs, t0()),
            Err(AuthError::Signature(
                "Credential should be scoped to correct service: 'lambda'. ".into()
            ))
        );
        let (headers, _) = signed(
            (ID, SECRET, None),
            ("us-east-1", "lambda"),
            REQ,
            t0(),
            SigningSettings::default(),
        );
        // 15 minutes either way pass; 20 do not.
        assert!(check(&v, REQ, &headers, t0() + Duration::from_secs(900)).is_ok());
        assert!(check(&v, REQ, &headers, t0() - Duration::from_secs(900)).is_ok());
        let late = t0() + Duration::from_secs(1200);
        assert_eq!(
            check(&v, REQ, &headers, late),
            Err(AuthError::Signature(format!(
                "Signature expired: {} is now earlier than {} ({} - 15 min.)",
                stamp(t0()),
                stamp(late - MAX_SKEW),
                stamp(late)
            )))
        );
        assert!(matches!(
            check(&v, REQ, &headers, t0() - Duration::from_secs(1200)),
            Err(AuthError::Signature(m)) if m.starts_with("Signature not yet current: ")
        ));
    }

    #[test]
    fn presigned_urls_pass_until_they_expire() {
        let v = verifier();
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(60));
        let get = ("GET", "/2016-08-19/account-settings/?a=b%20c", &b""[..]);
        let (headers, path) = signed(
            (ID, SECRET, None),
            ("us-east-1", "lambda"),
            get,
            t0(),
            settings,
        );
        let mut only_host = http::HeaderMap::new();
        only_host.insert("host", headers["host"].clone());
        let req = (get.0, path.as_str(), get.2);
        assert!(check(&v, req, &only_host, t0() + Duration::from_secs(59)).is_ok());
        assert!(matches!(
            check(&v, req, &only_host, t0() + Duration::from_secs(61)),
            Err(AuthError::Signature(m)) if m.starts_with("Signature expired: ")
        ));
        let tampered = path.replace("a=b", "a=c");
        assert_eq!(
            check(&v, (get.0, &tampered, get.2), &only_host, t0()),
            Err(AuthError::mismatch())
        );
    }

    #[test]
    fn session_credentials_sign_until_they_expire() {
        let v = verifier();
        let grant = SessionGrant {
            account: "000000000000".into(),
            role_arn: "arn:aws:iam::000000000000:role/r".into(),
            session_name: "f".into(),
            role_id: None,
            duration: Duration::from_secs(3600),
        };
        let c = v.sessions().issue_session(&grant, t0()).expect("issued");
        let creds = (
            c.access_key_id.as_str(),
            c.secret_access_key.as_str(),
            Some(c.session_token.as_str()),
        );
        let (headers, _) = signed(
            creds,
            ("us-east-1", "lambda"),
            REQ,
            t0(),
            SigningSettings::default(),
        );
        let caller = check(&v, REQ, &headers, t0()).expect("verified");
        assert_eq!(caller.arn, "arn:aws:sts::000000000000:assumed-role/r/f");
        let later = t0() + Duration::from_secs(3601);
        let (headers, _) = signed(
            creds,
            ("us-east-1", "lambda"),
            REQ,
            later,
            SigningSettings::default(),
        );
        assert_eq!(
            check(&v, REQ, &headers, later),
            Err(AuthError::TokenExpired)
        );
    }

    /// The direct canonical form and aws-sigv4's signer give the same signature on every
    /// request the direct form takes, and the direct form takes the usual ones.
    #[test]
    fn the_direct_canonical_form_signs_as_aws_sigv4_does() {
        let v = verifier();
        let paths = [
            "/",
            "/2015-03-31/functions/f%24x/invocations",
            "/2016-08-19/account-settings/",
            "/a/b.c/d~e_f-g",
            "/x/%3a%3A/y",
            "/a%2Fb/",
            "/a/./b",
            "/a//b",
            "/a b",
        ];
        let queries = [
            "",
            "?Qualifier=%24LATEST",
            "?b=2&a=1&a=0",
            "?k",
            "?k=",
            "?x=%41%7e%7E",
            "?=v",
            "?&&a=b&",
            "?%C3%A9=%E2%82%AC",
            "?%FF=1",
            "?a=b+c",
            "?a=%zz",
        ];
        let extra: [&[(&str, &str)]; 4] = [
            &[],
            &[("content-type", "  application/json   x  ")],
            &[("x-amz-target", "Logs_20140328.GetLogEvents"), ("x-b", "1")],
            &[("x-multi", "a"), ("x-multi", " b ")],
        ];
        let mut taken = 0;
        for path in paths {
            for query in queries {
                for headers_extra in extra {
                    for (token, content_sha) in [(None, false), (Some("tok/en=="), true)] {
                        let mut headers = http::HeaderMap::new();
                        headers.insert("host", "127.0.0.1:9000".parse().expect("host"));
                        for (k, val) in headers_extra {
                            headers.append(*k, val.parse().expect("value"));
                        }
                        let hash = hex::encode(Sha256::digest(b"{}"));
                        if content_sha {
                            headers.insert("x-amz-content-sha256", hash.parse().expect("hash"));
                        }
                        let mut names: Vec<String> =
                            headers.keys().map(|k| k.as_str().to_string()).collect();
                        names.push("x-amz-date".into());
                        if token.is_some() {
                            names.push("x-amz-security-token".into());
                            headers.insert("x-amz-security-token", "tok/en==".parse().expect("t"));
                        }
                        names.sort();
                        let claimed = Claimed {
                            scope: crate::parse::Scope {
                                access_key_id: ID.into(),
                                date: "20261130".into(),
                                region: "us-east-1".into(),
                                service: "lambda".into(),
                            },
                            signed: names.join(";").into(),
                            signature: "".into(),
                            date: None,
                            expires: None,
                            security_token: None,
                            presigned: false,
                        };
                        let pq = format!("{path}{query}");
                        let req = Incoming {
                            method: "POST",
                            path_and_query: &pq,
                            headers: &headers,
                            body: b"{}",
                        };
                        let date = "20261130T083320Z";
                        let at = parse_date(date).expect("date");
                        let direct = v.signature(&req, &claimed, SECRET, token, (date, at));
                        let general = v.signature_by_aws_sigv4(
                            &req,
                            &claimed,
                            SECRET,
                            token,
                            at,
                            (&hash, content_sha, token.is_some()),
                        );
                        assert_eq!(direct, general, "{pq} {headers:?}");
                        let signing = Signing {
                            signed_headers: &claimed.signed,
                            date_time: date,
                            token,
                            content_sha256: content_sha,
                            payload_hash: &hash,
                        };
                        let mut text = String::new();
                        // Small enough to spill: both ways write the same text.
                        let mut stack = StackText::<64>::new();
                        let written = canonical::canonical_request(
                            "POST", &pq, &headers, &signing, &mut text,
                        );
                        canonical::canonical_request("POST", &pq, &headers, &signing, &mut stack);
                        if written {
                            assert_eq!(text.as_bytes(), stack.as_bytes());
                            taken += 1;
                        }
                    }
                }
            }
        }
        // Every plain path (6) with every plain query (9), whatever the headers.
        assert_eq!(taken, 6 * 9 * 4 * 2);
    }

    #[test]
    fn dates_read_by_hand_read_as_chrono_reads_them() {
        for text in [
            "20261201T203000Z",
            "19700101T000000Z",
            "20000229T120000Z",
            "21000229T120000Z",
            "20991231T235959Z",
            "20260131T000000Z",
            "20260431T000000Z",
            "20260001T000000Z",
            "20260100T000000Z",
            "20240229T235959Z",
            "20230229T000000Z",
            "20261301T000000Z",
            "20261201T246000Z",
            "20261201T235960Z",
            "2026120lT203000Z",
            "20261201 203000Z",
        ] {
            if !text.ends_with("60Z") {
                assert_eq!(parse_basic_date(text), parse_date(text).ok(), "{text}");
            }
            let chrono = NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%SZ")
                .ok()
                .map(|t| SystemTime::from(t.and_utc()));
            assert_eq!(parse_date(text).ok(), chrono, "{text}");
        }
        // Every day from 1970 to 2100, at a time of day that moves through the hours.
        for day in 0..47_500u64 {
            let t = UNIX_EPOCH + Duration::from_secs(day * 86_400 + (day * 3_607) % 86_400);
            assert_eq!(parse_basic_date(&stamp(t)), Some(t), "{}", stamp(t));
        }
    }

    /// What one verification costs (run with `--release -- --ignored --nocapture`): the
    /// figure behind docs/security.md's overhead note, not a check.
    #[test]
    #[ignore]
    fn cost_of_one_verification() {
        let v = verifier();
        // The bench's request: a warm Invoke with a 1 KB event.
        let event = vec![b'x'; 1024];
        let req = (REQ.0, REQ.1, &event[..]);
        let (headers, _) = signed(
            (ID, SECRET, None),
            ("us-east-1", "lambda"),
            req,
            t0(),
            SigningSettings::default(),
        );
        let n: u32 = 20_000;
        let start = std::time::Instant::now();
        for _ in 0..n {
            assert!(check(&v, req, &headers, t0()).is_ok());
        }
        println!("one verification: {:?}", start.elapsed() / n);
        // The same on cold caches, as in a server where the rest of an invoke runs between
        // two verifications: each after a pass over 8 MiB of other memory and a sleep.
        let mut other = vec![0u8; 8 << 20];
        let mut cold = std::time::Duration::ZERO;
        for i in 0..2_000u32 {
            other
                .iter_mut()
                .step_by(64)
                .for_each(|b| *b = b.wrapping_add(i as u8));
            std::thread::sleep(Duration::from_micros(300));
            let start = std::time::Instant::now();
            let ok = check(&v, req, &headers, t0()).is_ok();
            cold += start.elapsed();
            assert!(ok);
        }
        println!("  on cold caches: {:?}", cold / 2_000);
        // The re-signing alone, direct and by aws-sigv4's general signer.
        let auth = headers["authorization"].to_str().expect("text");
        let claimed = parse_authorization(auth).expect("claims");
        let incoming = Incoming {
            method: req.0,
            path_and_query: req.1,
            headers: &headers,
            body: req.2,
        };
        let date = header(&headers, &X_AMZ_DATE).expect("date");
        let hash = Hex::of(&Sha256::digest(req.2).into());
        let sent = decode_signature(&claimed.signature).expect("a signature in hex");
        let start = std::time::Instant::now();
        for _ in 0..n {
            let s = v.signature(&incoming, &claimed, SECRET, None, (date, t0()));
            assert_eq!(s, Ok(sent));
        }
        println!("  re-signing, direct: {:?}", start.elapsed() / n);
        let start = std::time::Instant::now();
        for _ in 0..n {
            let s = v.signature_by_aws_sigv4(
                &incoming,
                &claimed,
                SECRET,
                None,
                t0(),
                (hash.as_str(), false, false),
            );
            assert_eq!(s, Ok(sent));
        }
        println!("  re-signing, aws-sigv4: {:?}", start.elapsed() / n);
    }
}
