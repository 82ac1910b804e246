//! Temporary credentials (a function's execution role; STS `AssumeRole`), stateless so
//! that any server holding the server key verifies them without a store lookup: the
//! session token is the grant itself, sealed under a key derived for tokens, and the
//! secret is a MAC of the access key id under a key derived for secrets. A token opens
//! only under this server key, names its access key id (so it cannot be paired with
//! another key's secret) and carries its expiration.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hearth_model::caller::{Caller, CallerKind, Identity};
use hearth_store::seal::{SealError, SealKey};
use serde::{Deserialize, Serialize};

use crate::error::AuthError;
use crate::keys::{base32, new_key_id};

/// What a session is for: whose, which role, under what name, for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionGrant {
    /// The 12-digit account the role belongs to.
    pub account: String,
    /// `arn:aws:iam::ACCOUNT:role/NAME` (a path may precede the name).
    pub role_arn: String,
    pub session_name: String,
    /// The role's `AROA...` id when the issuer knows it (AssumeRole); otherwise one is
    /// derived from the role's ARN.
    pub role_id: Option<String>,
    pub duration: Duration,
}

/// Temporary credentials, as STS hands them out.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionCredentials {
    /// `ASIA` and 16 more characters.
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expiration: SystemTime,
}

impl std::fmt::Debug for SessionCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &self.expiration)
            .finish_non_exhaustive()
    }
}

/// What a token holds (short names: it travels in every request).
#[derive(Serialize, Deserialize)]
struct Sealed {
    k: String,
    a: String,
    r: String,
    s: String,
    /// Expiration, seconds since the epoch.
    e: u64,
    /// The role's id, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    i: Option<String>,
}

/// Where a sealed token belongs: nothing else sealed under the token key opens as one.
const TOKEN_AAD: &[u8] = b"hearth session token v1";

/// Issues and opens session credentials. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Sessions {
    token_key: SealKey,
    secret_key: SealKey,
}

impl Sessions {
    /// The session keys derived from the server key.
    pub fn new(server_key: &SealKey) -> Self {
        Self {
            token_key: server_key.derive("hearth session tokens"),
            secret_key: server_key.derive("hearth session secrets"),
        }
    }

    /// Temporary credentials for `grant`, valid from `now` for its duration.
    pub fn issue_session(
        &self,
        grant: &SessionGrant,
        now: SystemTime,
    ) -> Result<SessionCredentials, SealError> {
        let access_key_id = new_key_id("ASIA")?;
        let expiration = now + grant.duration;
        let e = expiration
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let sealed = Sealed {
            k: access_key_id.clone(),
            a: grant.account.clone(),
            r: grant.role_arn.clone(),
            s: grant.session_name.clone(),
            e,
            i: grant.role_id.clone(),
        };
        let plain = serde_json::to_vec(&sealed).map_err(|_| SealError::Random)?;
        let token = self.token_key.seal(&plain, TOKEN_AAD)?;
        Ok(SessionCredentials {
            secret_access_key: self.secret_of(&access_key_id),
            access_key_id,
            session_token: base64::engine::general_purpose::STANDARD.encode(token),
            expiration: UNIX_EPOCH + Duration::from_secs(e),
        })
    }

    /// The secret of a session's access key id.
    fn secret_of(&self, access_key_id: &str) -> String {
        let mac = self.secret_key.mac(access_key_id.as_bytes());
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(&mac[..30])
    }

    /// The principal and signing secret of a session, if `token` is one this server
    /// issued for `access_key_id` and it has not expired at `now`.
    pub fn open(
        &self,
        access_key_id: &str,
        token: &str,
        now: SystemTime,
    ) -> Result<(Caller, String), AuthError> {
        let sealed = base64::engine::general_purpose::STANDARD
            .decode(token)
            .map_err(|_| AuthError::UnknownKey)?;
        let plain = self
            .token_key
            .open(&sealed, TOKEN_AAD)
            .map_err(|_| AuthError::UnknownKey)?;
        let s: Sealed = serde_json::from_slice(&plain).map_err(|_| AuthError::UnknownKey)?;
        if s.k != access_key_id {
            return Err(AuthError::UnknownKey);
        }
        if now > UNIX_EPOCH + Duration::from_secs(s.e) {
            return Err(AuthError::TokenExpired);
        }
        let role_name = s.r.rsplit('/').next().unwrap_or(&s.r).to_string();
        let role_id = s.i.clone().unwrap_or_else(|| {
            format!(
                "AROA{}",
                &base32(&self.secret_key.mac(s.r.as_bytes()))[..17]
            )
        });
        let caller = Identity {
            arn: format!("arn:aws:sts::{}:assumed-role/{role_name}/{}", s.a, s.s),
            user_id: format!("{role_id}:{}", s.s),
            account: s.a,
            access_key_id: Some(access_key_id.to_string()),
            kind: CallerKind::AssumedRole {
                role_arn: s.r,
                session_name: s.s,
            },
        };
        Ok((caller.into(), self.secret_of(access_key_id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant() -> SessionGrant {
        SessionGrant {
            account: "000000000000".into(),
            role_arn: "arn:aws:iam::000000000000:role/service/fn-role".into(),
            role_id: None,
            session_name: "my-fn".into(),
            duration: Duration::from_secs(3600),
        }
    }

    #[test]
    fn a_session_opens_until_it_expires() {
        let sessions = Sessions::new(&SealKey::from_bytes([7; 32]));
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let c = sessions.issue_session(&grant(), now).expect("issued");
        assert!(c.access_key_id.starts_with("ASIA") && c.access_key_id.len() == 20);
        assert_eq!(c.expiration, now + Duration::from_secs(3600));
        let (caller, secret) = sessions
            .open(&c.access_key_id, &c.session_token, now)
            .expect("opens");
        assert_eq!(secret, c.secret_access_key);
        assert_eq!(
            caller.arn,
            "arn:aws:sts::000000000000:assumed-role/fn-role/my-fn"
        );
        assert!(caller.user_id.starts_with("AROA") && caller.user_id.ends_with(":my-fn"));
        assert_eq!(
            sessions.open(
                &c.access_key_id,
                &c.session_token,
                c.expiration + Duration::from_secs(1)
            ),
            Err(AuthError::TokenExpired)
        );
        // Another key id, another server key, or a damaged token: not a session.
        assert_eq!(
            sessions.open("ASIAAAAAAAAAAAAAAAAA", &c.session_token, now),
            Err(AuthError::UnknownKey)
        );
        let other = Sessions::new(&SealKey::from_bytes([8; 32]));
        assert_eq!(
            other.open(&c.access_key_id, &c.session_token, now),
            Err(AuthError::UnknownKey)
        );
        assert_eq!(
            sessions.open(&c.access_key_id, "bm90IGEgdG9rZW4=", now),
            Err(AuthError::UnknownKey)
        );
    }
}
