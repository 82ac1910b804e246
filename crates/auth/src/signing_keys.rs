//! Signing keys kept once derived: a SigV4 signing key is four HMACs of the secret, the
//! date, the region and the service, the same for every request a client signs that
//! day, so it is derived once per (secret, date, region, service) instead of per request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// Past this many keys the cache starts over (a day's keys of many clients fit).
const MAX_KEYS: usize = 4096;

#[derive(Clone, Default)]
pub(crate) struct SigningKeys {
    keys: Arc<Mutex<HashMap<String, Arc<[u8]>>>>,
}

impl SigningKeys {
    /// The signing key of `secret` for `date` (`YYYYMMDD`, the day of `at`), `region`
    /// and `service`.
    pub(crate) fn get(
        &self,
        secret: &str,
        (date, at): (&str, SystemTime),
        region: &str,
        service: &str,
    ) -> Arc<[u8]> {
        // The secret is part of the name: a rotated or another key never finds this one.
        let name = format!("{date}/{region}/{service}\n{secret}");
        if let Some(k) = self.lock().get(&name) {
            return k.clone();
        }
        let key: Arc<[u8]> = Arc::from(
            aws_sigv4::sign::v4::generate_signing_key(secret, at, region, service).as_ref(),
        );
        let mut keys = self.lock();
        if keys.len() >= MAX_KEYS {
            keys.clear();
        }
        keys.insert(name, key.clone());
        key
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<[u8]>>> {
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }
}
