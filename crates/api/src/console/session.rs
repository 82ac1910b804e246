//! The web console's sessions: stateless, like STS's (`hearth_auth::session`), so that
//! every node of a fleet holding the server key accepts them without a store lookup. The
//! cookie is the session itself, sealed under a key derived for console sessions: who
//! signed in (the access key id, whose key is looked up again on every request, so a
//! deleted key ends its sessions), a random id (what a sign-out records in the store),
//! the CSRF token the page must send back with every change, and two times: when it was
//! issued (a session lasts [`Settings::lifetime`] at most) and when it was last used
//! (idle for [`Settings::idle`], it ends). Each request re-issues the cookie with the new
//! last use.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use hearth_store::seal::SealKey;
use serde::{Deserialize, Serialize};

/// The cookie's name.
pub(crate) const COOKIE: &str = "hearth-console";

/// Where a sealed session belongs: nothing else sealed under the key opens as one.
const AAD: &[u8] = b"hearth console session v1";

/// How long the console's sessions last.
#[derive(Clone)]
pub struct Settings {
    /// Sessions are sealed under this key (derived from the server key).
    pub(crate) key: SealKey,
    /// A session not used for this long ends.
    pub idle: Duration,
    /// A session ends this long after sign-in, however used.
    pub lifetime: Duration,
}

impl Settings {
    /// The console's sessions under the server key, ending after `idle` without use and
    /// `lifetime` after sign-in.
    pub fn new(server_key: &SealKey, idle: Duration, lifetime: Duration) -> Self {
        Self {
            key: server_key.derive("hearth console sessions"),
            idle,
            lifetime,
        }
    }
}

/// One signed-in session (short names: it travels in every request's cookie).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Session {
    /// The session's id: random, what a sign-out records.
    #[serde(rename = "i")]
    pub id: String,
    /// The access key signed in with; empty with `--auth off`.
    #[serde(rename = "k")]
    pub access_key_id: String,
    /// The CSRF token: sent back in `X-Hearth-Csrf` with every change.
    #[serde(rename = "c")]
    pub csrf: String,
    /// Sign-in, seconds since the epoch.
    #[serde(rename = "t")]
    pub issued_s: u64,
    /// Last use, seconds since the epoch.
    #[serde(rename = "l")]
    pub last_s: u64,
}

/// Why a session cookie is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// No cookie, or one this server did not seal.
    Missing,
    /// Unused for longer than the idle time.
    Idle,
    /// Older than the lifetime.
    Expired,
}

impl Ended {
    pub(crate) fn message(self) -> &'static str {
        match self {
            Self::Missing => "You are not signed in to the console.",
            Self::Idle => "Your console session ended after a time without use; sign in again.",
            Self::Expired => "Your console session has expired; sign in again.",
        }
    }
}

impl Session {
    /// A new session of `access_key_id` (empty: `--auth off`) at `now_s`.
    pub(crate) fn new(
        access_key_id: &str,
        now_s: u64,
    ) -> Result<Self, hearth_store::seal::SealError> {
        Ok(Self {
            id: random_token()?,
            access_key_id: access_key_id.to_string(),
            csrf: random_token()?,
            issued_s: now_s,
            last_s: now_s,
        })
    }

    /// When the session ends however it is used, in ms since the epoch (how long a
    /// sign-out must be remembered).
    pub(crate) fn expires_ms(&self, settings: &Settings) -> i64 {
        let end = self.issued_s.saturating_add(settings.lifetime.as_secs());
        i64::try_from(end.saturating_mul(1000)).unwrap_or(i64::MAX)
    }

    /// The cookie's value.
    pub(crate) fn seal(
        &self,
        settings: &Settings,
    ) -> Result<String, hearth_store::seal::SealError> {
        let plain = serde_json::to_vec(self).expect("a session serializes");
        Ok(B64.encode(settings.key.seal(&plain, AAD)?))
    }

    /// The session in `value` if this server sealed it and it has not ended at `now_s`.
    pub(crate) fn open(settings: &Settings, value: &str, now_s: u64) -> Result<Self, Ended> {
        let sealed = B64.decode(value).map_err(|_| Ended::Missing)?;
        let plain = settings
            .key
            .open(&sealed, AAD)
            .map_err(|_| Ended::Missing)?;
        let session: Self = serde_json::from_slice(&plain).map_err(|_| Ended::Missing)?;
        if now_s >= session.issued_s.saturating_add(settings.lifetime.as_secs()) {
            return Err(Ended::Expired);
        }
        if now_s
            >= session
                .last_s
                .saturating_add(settings.idle.as_secs().max(1))
        {
            return Err(Ended::Idle);
        }
        Ok(session)
    }

    /// Whether `token` is this session's CSRF token (in constant time).
    pub(crate) fn csrf_matches(&self, token: &str) -> bool {
        let (a, b) = (self.csrf.as_bytes(), token.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// The `Set-Cookie` value that keeps `value` in the browser for the console's paths only,
/// out of scripts' reach (`HttpOnly`), never sent by another site's page
/// (`SameSite=Strict`), and only over TLS when the console is served over TLS.
pub(crate) fn set_cookie(value: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={value}; Path=/console; HttpOnly; SameSite=Strict{secure}")
}

/// The `Set-Cookie` value that removes the cookie.
pub(crate) fn clear_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
}

/// The session cookie's value among a request's `Cookie` headers.
pub(crate) fn cookie_value(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// 32 random bytes, URL-safe Base64.
fn random_token() -> Result<String, hearth_store::seal::SealError> {
    Ok(B64.encode(hearth_store::seal::random_bytes::<32>()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings::new(
            &SealKey::from_bytes([7; 32]),
            Duration::from_secs(60),
            Duration::from_secs(3600),
        )
    }

    #[test]
    fn a_sealed_session_opens_until_idle_or_expired() {
        let s = settings();
        let session = Session::new("AKIAEXAMPLE000000000", 1_000).expect("new");
        let value = session.seal(&s).expect("seal");
        assert_eq!(Session::open(&s, &value, 1_059), Ok(session.clone()));
        assert_eq!(Session::open(&s, &value, 1_060), Err(Ended::Idle));
        let used = Session {
            last_s: 4_580,
            ..session.clone()
        };
        let value = used.seal(&s).expect("seal");
        assert_eq!(Session::open(&s, &value, 4_590), Ok(used));
        assert_eq!(Session::open(&s, &value, 4_600), Err(Ended::Expired));
        assert_eq!(session.expires_ms(&s), 4_600_000);
    }

    #[test]
    fn a_cookie_sealed_elsewhere_or_changed_does_not_open() {
        let session = Session::new("", 1_000).expect("new");
        let value = session.seal(&settings()).expect("seal");
        let other = Settings::new(
            &SealKey::from_bytes([8; 32]),
            Duration::from_secs(60),
            Duration::from_secs(3600),
        );
        assert_eq!(Session::open(&other, &value, 1_001), Err(Ended::Missing));
        let mut changed = value.into_bytes();
        changed[10] = if changed[10] == b'A' { b'B' } else { b'A' };
        let changed = String::from_utf8(changed).expect("ascii");
        assert_eq!(
            Session::open(&settings(), &changed, 1_001),
            Err(Ended::Missing)
        );
        assert_eq!(
            Session::open(&settings(), "not base64!", 1_001),
            Err(Ended::Missing)
        );
    }

    #[test]
    fn the_csrf_token_must_be_the_sessions() {
        let session = Session::new("", 1).expect("new");
        assert!(session.csrf_matches(&session.csrf.clone()));
        assert!(!session.csrf_matches(""));
        assert!(!session.csrf_matches(&session.csrf[1..]));
        assert_ne!(session.csrf, session.id);
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = axum::http::HeaderMap::new();
        headers.append(
            "cookie",
            "a=1; hearth-console=abc; b=2".parse().expect("value"),
        );
        assert_eq!(cookie_value(&headers), Some("abc"));
        assert_eq!(cookie_value(&axum::http::HeaderMap::new()), None);
        assert!(set_cookie("v", true).ends_with("HttpOnly; SameSite=Strict; Secure"));
        assert!(!set_cookie("v", false).contains("Secure"));
    }
}
