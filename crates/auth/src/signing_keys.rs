//! Signing keys kept once derived: a SigV4 signing key is four HMACs of the secret, the
//! date, the region and the service, the same for every request a client signs that
//! day, so it is derived once per (secret, date, region, service) instead of per request.
//! What is kept is the HMAC keyed with it, its key blocks already hashed (two of the four
//! SHA-256 blocks a signature's HMAC costs). A lookup makes no string: its name is
//! written into a buffer on the stack.

use hearth_model::FastMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use hmac::{Hmac, KeyInit};
use sha2::Sha256;

/// Past this many keys the cache starts over (a day's keys of many clients fit).
const MAX_KEYS: usize = 4096;

/// The longest name looked up (`DATE/REGION/SERVICE\nSECRET`); a longer one (no real
/// scope is) is derived every time.
const MAX_NAME: usize = 256;

#[derive(Clone, Default)]
pub(crate) struct SigningKeys {
    keys: Arc<Mutex<FastMap<Box<str>, Hmac<Sha256>>>>,
}

impl SigningKeys {
    /// The HMAC keyed with the signing key of `secret` for `date` (`YYYYMMDD`, the day
    /// of `at`), `region` and `service`.
    pub(crate) fn get(
        &self,
        secret: &str,
        (date, at): (&str, SystemTime),
        region: &str,
        service: &str,
    ) -> Hmac<Sha256> {
        let derive = || {
            let key = aws_sigv4::sign::v4::generate_signing_key(secret, at, region, service);
            Hmac::<Sha256>::new_from_slice(key.as_ref()).expect("HMAC takes a key of any length")
        };
        // The secret is part of the name: a rotated or another key never finds this one.
        let mut buf = [0u8; MAX_NAME];
        let Some(name) = name_in(&mut buf, [date, "/", region, "/", service, "\n", secret]) else {
            return derive();
        };
        if let Some(k) = self.lock().get(name) {
            return k.clone();
        }
        let key = derive();
        let mut keys = self.lock();
        if keys.len() >= MAX_KEYS {
            keys.clear();
        }
        keys.insert(name.into(), key.clone());
        key
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FastMap<Box<str>, Hmac<Sha256>>> {
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// `parts` joined in `buf`, if they fit.
fn name_in<'b, const N: usize>(buf: &'b mut [u8; MAX_NAME], parts: [&str; N]) -> Option<&'b str> {
    let mut len = 0;
    for part in parts {
        let end = len + part.len();
        buf.get_mut(len..end)?.copy_from_slice(part.as_bytes());
        len = end;
    }
    std::str::from_utf8(&buf[..len]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_kept_per_secret_and_scope() {
        let keys = SigningKeys::default();
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_796_000_000);
        let date = "20261128";
        let mac = |secret: &str, service: &str| {
            use hmac::Mac;
            let mut m = keys.get(secret, (date, at), "us-east-1", service);
            m.update(b"text");
            m.finalize().into_bytes()
        };
        let direct = |secret: &str| {
            use hmac::Mac;
            let key = aws_sigv4::sign::v4::generate_signing_key(secret, at, "us-east-1", "lambda");
            let mut m = Hmac::<Sha256>::new_from_slice(key.as_ref()).expect("key");
            m.update(b"text");
            m.finalize().into_bytes()
        };
        let a = mac("secret-a", "lambda");
        assert_eq!(a, direct("secret-a"));
        assert_eq!(a, mac("secret-a", "lambda"));
        assert_ne!(a, mac("secret-b", "lambda"));
        assert_ne!(a, mac("secret-a", "logs"));
        // A name too long for the buffer is derived, not cached, and still right.
        let long = "s".repeat(MAX_NAME);
        assert_eq!(mac(&long, "lambda"), direct(&long));
        assert_eq!(keys.lock().len(), 3);
    }
}
