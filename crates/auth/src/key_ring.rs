//! The server's long-term access keys: kept in the store with their secrets sealed under
//! a key derived from the server key, and in memory (opened) for verification. Every
//! change goes through here, so the memory copy is always the store's.

use hearth_model::FastMap;
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use hearth_model::caller::{Caller, CallerKind, Identity};
use hearth_store::seal::SealKey;
use hearth_store::{Store, StoreError, StoredKey};

use crate::keys::{base32, new_key_id, new_secret};
use crate::verify::{KeyLookup, LongTermKey};

/// Why a key operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot seal or open a key's secret: {0}")]
    Seal(#[from] hearth_store::seal::SealError),
    #[error("no access key {0}")]
    NotFound(String),
    #[error("account {account} already has a key named {name}")]
    Exists { account: String, name: String },
    #[error("{0}")]
    Invalid(String),
}

/// A key as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyInfo {
    #[serde(rename = "AccessKeyId")]
    pub access_key_id: String,
    #[serde(rename = "Account")]
    pub account: String,
    /// `None`: the account's root.
    #[serde(rename = "UserName")]
    pub user_name: Option<String>,
    #[serde(rename = "Arn")]
    pub arn: String,
    #[serde(rename = "Policy")]
    pub policy: Option<String>,
    #[serde(rename = "Created")]
    pub created: i64,
}

/// A key just made: the one time its secret is shown.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NewKey {
    #[serde(flatten)]
    pub info: KeyInfo,
    #[serde(rename = "SecretAccessKey")]
    pub secret_access_key: String,
}

/// Told the new administrator key (id, secret) when it is rotated.
pub type AdminRotated = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// A key as verification reads it (shared: a lookup copies nothing) and as stored.
type Cached = (Arc<LongTermKey>, StoredKey);

/// The server's keys. Cheap to clone.
#[derive(Clone)]
pub struct KeyRing {
    store: Store,
    seal: SealKey,
    cache: Arc<RwLock<FastMap<String, Cached>>>,
    on_admin_rotated: Option<AdminRotated>,
}

fn is_admin(k: &StoredKey) -> bool {
    k.user_name.is_none() && k.account == hearth_model::arn::ACCOUNT
}

fn caller_of(k: &StoredKey, user_id_key: &SealKey) -> Caller {
    match &k.user_name {
        None => Identity {
            access_key_id: Some(k.access_key_id.clone()),
            ..Identity::root(&k.account)
        }
        .into(),
        Some(name) => Identity {
            account: k.account.clone(),
            arn: format!("arn:aws:iam::{}:user/{name}", k.account),
            user_id: format!(
                "AIDA{}",
                &base32(&user_id_key.mac(format!("{}:{name}", k.account).as_bytes()))[..17]
            ),
            access_key_id: Some(k.access_key_id.clone()),
            kind: CallerKind::User { name: name.clone() },
        }
        .into(),
    }
}

fn info_of(k: &StoredKey, caller: &Caller) -> KeyInfo {
    KeyInfo {
        access_key_id: k.access_key_id.clone(),
        account: k.account.clone(),
        user_name: k.user_name.clone(),
        arn: caller.arn.clone(),
        policy: k.policy.clone(),
        created: k.created,
    }
}

/// IAM's user name shape (`[\w+=,.@-]+`, 1 to 64).
fn valid_user_name(n: &str) -> bool {
    (1..=64).contains(&n.len())
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
}

impl KeyRing {
    /// The keys of `store`, their secrets opened with a key derived from `server_key`.
    pub fn load(store: Store, server_key: &SealKey) -> Result<Self, KeyError> {
        let ring = Self {
            store,
            seal: server_key.derive("hearth access key secrets"),
            cache: Arc::default(),
            on_admin_rotated: None,
        };
        ring.reload()?;
        Ok(ring)
    }

    /// Calls `f` with the new administrator key whenever it is rotated (the server
    /// rewrites its credentials file).
    pub fn on_admin_rotated(mut self, f: AdminRotated) -> Self {
        self.on_admin_rotated = Some(f);
        self
    }

    fn reload(&self) -> Result<(), KeyError> {
        let mut map = FastMap::default();
        for k in self.store.keys().list_keys()? {
            let secret = self
                .seal
                .open(&k.sealed_secret, k.access_key_id.as_bytes())?;
            let secret = String::from_utf8(secret).map_err(|_| {
                KeyError::Invalid(format!("the secret of {} is not text", k.access_key_id))
            })?;
            let caller = caller_of(&k, &self.seal);
            map.insert(
                k.access_key_id.clone(),
                (Arc::new(LongTermKey { secret, caller }), k),
            );
        }
        *self.cache.write().unwrap_or_else(|p| p.into_inner()) = map;
        Ok(())
    }

    fn make(
        &self,
        account: &str,
        user_name: Option<&str>,
        policy: Option<String>,
    ) -> Result<(StoredKey, String), KeyError> {
        if !hearth_model::arn::is_account_id(account) {
            return Err(KeyError::Invalid(format!(
                "the account must be 12 digits, not {account:?}"
            )));
        }
        if let Some(n) = user_name.filter(|n| !valid_user_name(n)) {
            return Err(KeyError::Invalid(format!(
                "the name must be 1 to 64 letters, digits or _+=,.@- characters, not {n:?}"
            )));
        }
        if let Some(p) = &policy {
            serde_json::from_str::<serde_json::Value>(p)
                .map_err(|e| KeyError::Invalid(format!("the policy is not JSON: {e}")))?;
        }
        let access_key_id = new_key_id("AKIA")?;
        let secret = new_secret()?;
        let created = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let stored = StoredKey {
            sealed_secret: self
                .seal
                .seal(secret.as_bytes(), access_key_id.as_bytes())?,
            access_key_id,
            account: account.to_string(),
            user_name: user_name.map(str::to_string),
            policy,
            created,
        };
        Ok((stored, secret))
    }

    fn answer(&self, stored: &StoredKey, secret: String) -> NewKey {
        let caller = caller_of(stored, &self.seal);
        NewKey {
            info: info_of(stored, &caller),
            secret_access_key: secret,
        }
    }

    /// A new key of `account`'s user `user_name` (`None`: its root).
    pub fn create(
        &self,
        account: &str,
        user_name: Option<&str>,
        policy: Option<String>,
    ) -> Result<NewKey, KeyError> {
        let (stored, secret) = self.make(account, user_name, policy)?;
        self.store.keys().insert_key(&stored).map_err(|e| match e {
            StoreError::Exists(_) => KeyError::Exists {
                account: account.to_string(),
                name: user_name.unwrap_or("(root)").to_string(),
            },
            other => KeyError::Store(other),
        })?;
        self.reload()?;
        Ok(self.answer(&stored, secret))
    }

    /// Replaces a key by a new one of the same principal and policy.
    pub fn rotate(&self, access_key_id: &str) -> Result<NewKey, KeyError> {
        let old = self
            .stored(access_key_id)
            .ok_or_else(|| KeyError::NotFound(access_key_id.to_string()))?;
        let (stored, secret) = self.make(&old.account, old.user_name.as_deref(), old.policy)?;
        if !self.store.keys().replace_key(access_key_id, &stored)? {
            return Err(KeyError::NotFound(access_key_id.to_string()));
        }
        self.reload()?;
        if is_admin(&stored) {
            if let Some(f) = &self.on_admin_rotated {
                f(&stored.access_key_id, &secret);
            }
        }
        Ok(self.answer(&stored, secret))
    }

    /// Removes a key; never the administrator key (rotate it instead).
    pub fn delete(&self, access_key_id: &str) -> Result<(), KeyError> {
        if self.stored(access_key_id).is_some_and(|k| is_admin(&k)) {
            return Err(KeyError::Invalid(format!(
                "{access_key_id} is the administrator key: it cannot be deleted (rotate it instead)"
            )));
        }
        if !self.store.keys().delete_key(access_key_id)? {
            return Err(KeyError::NotFound(access_key_id.to_string()));
        }
        self.reload()
    }

    fn stored(&self, access_key_id: &str) -> Option<StoredKey> {
        let cache = self.cache.read().unwrap_or_else(|p| p.into_inner());
        cache.get(access_key_id).map(|(_, s)| s.clone())
    }

    /// Every key, by account and user.
    pub fn list(&self) -> Vec<KeyInfo> {
        let cache = self.cache.read().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<KeyInfo> = cache.values().map(|(k, s)| info_of(s, &k.caller)).collect();
        out.sort_by(|a, b| {
            (&a.account, &a.user_name, a.created).cmp(&(&b.account, &b.user_name, b.created))
        });
        out
    }

    /// The identity policy attached to a key.
    pub fn policy(&self, access_key_id: &str) -> Option<String> {
        self.stored(access_key_id).and_then(|s| s.policy)
    }

    /// The default account's administrator key: the one there is, or a new one.
    /// `Some` with its secret when it was made now.
    pub fn ensure_admin(&self, account: &str) -> Result<Option<NewKey>, KeyError> {
        let has = {
            let cache = self.cache.read().unwrap_or_else(|p| p.into_inner());
            cache
                .values()
                .any(|(_, s)| s.user_name.is_none() && s.account == account)
        };
        if has {
            return Ok(None);
        }
        self.create(account, None, None).map(Some)
    }

    /// The secret of the administrator key of `account` (to write the credentials file).
    pub fn admin_secret(&self, account: &str) -> Option<(String, String)> {
        let cache = self.cache.read().unwrap_or_else(|p| p.into_inner());
        cache
            .values()
            .filter(|(_, s)| s.user_name.is_none() && s.account == account)
            .min_by_key(|(_, s)| s.created)
            .map(|(k, s)| (s.access_key_id.clone(), k.secret.clone()))
    }
}

impl KeyLookup for KeyRing {
    fn lookup(&self, access_key_id: &str) -> Option<Arc<LongTermKey>> {
        let cache = self.cache.read().unwrap_or_else(|p| p.into_inner());
        cache.get(access_key_id).map(|(k, _)| k.clone())
    }
}
