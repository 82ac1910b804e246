//! Hearth's KMS keys on PostgreSQL ([`KmsStore`]): each a random 32-byte data key,
//! stored sealed under the server key's `kms` key and bound to its ARN, exactly as the
//! SQLite store does (`crate::kms`), so that a row means the same to either store.
//!
//! Functions' environments are sealed under these data keys by [`EnvSeal`], which finds
//! them in its in-memory map (it is called mid-transaction and looks nothing up). The
//! SQLite store fills that map once at open; on PostgreSQL other nodes create keys
//! meanwhile, so the map is a cache here: every node loads all keys at open
//! ([`PgStore::load_kms_keys`]), and a lookup that misses it asks the database and keeps
//! what it finds ([`PgStore::ensure_kms_key`], which [`KmsStore::kms_key_exists`] uses,
//! and so do [`PgStore::encode_function`] and [`PgStore::decode_function`], through
//! which the metadata area should seal and open records).
//! Only found keys are cached, never an absence, and that needs no invalidation: a key's
//! ARN and data key never change and no key is ever deleted. So a key created on one
//! node exists on every other at once. (Were keys ever deleted, every node would have
//! to drop it from its map, through a notification as functions' changes are.)
//!
//! [`EnvSeal`]: crate::sealed_env::EnvSeal

use hearth_model::FunctionConfig;

use super::{backend, wait, PgStore};
use crate::kms::{mint, remember, NewKmsKey};
use crate::seal::SealKey;
use crate::traits::KmsStore;
use crate::{KmsKeyInfo, StoreError};

/// This area's tables, part of the first migration ([`super::migrations`]).
pub(super) const SCHEMA: &str = r#"
CREATE TABLE kms_keys (
    key_id TEXT COLLATE "C" PRIMARY KEY,
    arn TEXT COLLATE "C" NOT NULL UNIQUE,
    description TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    data_key BYTEA NOT NULL
);
"#;

fn io(e: impl std::fmt::Display) -> StoreError {
    StoreError::Io(std::io::Error::other(e.to_string()))
}

impl PgStore {
    /// Opens a stored data key (sealed to its ARN) and keeps it in the sealer's map.
    fn remember_kms_key(&self, arn: String, sealed: &[u8]) -> Result<(), StoreError> {
        let raw = self
            .env_seal
            .kms_master
            .open(sealed, arn.as_bytes())
            .map_err(io)?;
        let raw: [u8; 32] = raw.as_slice().try_into().map_err(io)?;
        self.env_seal
            .kms
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(arn, SealKey::from_bytes(raw));
        Ok(())
    }

    /// Loads every key's data key into the environment sealer (at open, as SQLite does).
    pub(crate) fn load_kms_keys(&self) -> Result<(), StoreError> {
        let rows = {
            let c = self.conn()?;
            wait(c.query("SELECT arn, data_key FROM kms_keys", &[])).map_err(backend)?
        };
        for r in &rows {
            let arn: String = r.try_get(0).map_err(backend)?;
            let sealed: &[u8] = r.try_get(1).map_err(backend)?;
            self.remember_kms_key(arn, sealed)?;
        }
        Ok(())
    }

    fn kms_key_cached(&self, arn: &str) -> bool {
        self.env_seal
            .kms
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(arn)
    }

    /// Whether `arn` names a key, loading its data key into the environment sealer if
    /// this node has not yet (a key another node created since this one opened).
    pub(crate) fn ensure_kms_key(&self, arn: &str) -> Result<bool, StoreError> {
        if self.kms_key_cached(arn) {
            return Ok(true);
        }
        let row = {
            let c = self.conn()?;
            wait(c.query_opt("SELECT arn, data_key FROM kms_keys WHERE arn = $1", &[&arn]))
                .map_err(backend)?
        };
        let Some(r) = row else {
            return Ok(false);
        };
        let sealed: &[u8] = r.try_get(1).map_err(backend)?;
        self.remember_kms_key(r.try_get(0).map_err(backend)?, sealed)?;
        Ok(true)
    }
}

/// Functions' records through the sealer, with the Hearth key they name loaded first if
/// another node made it: what the metadata area encodes and decodes records with, so
/// that no node fails to read a function because its key is newer than the node's map.
impl PgStore {
    /// The stored JSON of `f` (its variables sealed as SQLite seals them).
    pub(crate) fn encode_function(&self, f: &FunctionConfig) -> Result<String, StoreError> {
        if let Some(arn) = f.kms_key_arn.as_deref().filter(|a| !a.is_empty()) {
            // A key that does not exist is the sealer's to refuse, as on SQLite.
            self.ensure_kms_key(arn)?;
        }
        self.env_seal.encode(f)
    }

    /// A stored record read back. Only a record that does not open, and names a key this
    /// node lacks, costs a lookup.
    pub(crate) fn decode_function(&self, data: &str) -> Result<FunctionConfig, StoreError> {
        let first = self.env_seal.decode(data);
        let Err(e) = first else {
            return first;
        };
        let arn = serde_json::from_str::<serde_json::Value>(data)
            .ok()
            .and_then(|v| v.get("kms_key_arn")?.as_str().map(str::to_string))
            .filter(|a| !a.is_empty());
        match arn {
            Some(arn) if !self.kms_key_cached(&arn) && self.ensure_kms_key(&arn)? => {
                self.env_seal.decode(data)
            }
            _ => Err(e),
        }
    }
}

impl KmsStore for PgStore {
    fn create_kms_key(&self, account: &str, description: &str) -> Result<KmsKeyInfo, StoreError> {
        let NewKmsKey {
            key_id,
            arn,
            raw,
            sealed,
        } = mint(&self.env_seal, account)?;
        let created_ms = hearth_model::time::now_ms();
        {
            let c = self.conn()?;
            wait(c.execute(
                "INSERT INTO kms_keys (key_id, arn, description, created_ms, data_key)
                 VALUES ($1, $2, $3, $4, $5)",
                &[&key_id, &arn, &description, &created_ms, &sealed],
            ))
            .map_err(backend)?;
        }
        remember(&self.env_seal, &arn, raw);
        Ok(KmsKeyInfo {
            key_id,
            arn,
            description: description.to_string(),
            created_ms,
        })
    }

    fn list_kms_keys(&self) -> Result<Vec<KmsKeyInfo>, StoreError> {
        let c = self.conn()?;
        let rows = wait(c.query(
            "SELECT key_id, arn, description, created_ms FROM kms_keys
             ORDER BY created_ms, key_id",
            &[],
        ))
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(KmsKeyInfo {
                    key_id: r.try_get(0).map_err(backend)?,
                    arn: r.try_get(1).map_err(backend)?,
                    description: r.try_get(2).map_err(backend)?,
                    created_ms: r.try_get(3).map_err(backend)?,
                })
            })
            .collect()
    }

    fn kms_key_exists(&self, arn: &str) -> bool {
        // The trait answers a bare yes or no (SQLite's answer comes from memory and
        // cannot fail): a database that cannot be asked is logged and answered no, so
        // the caller refuses the ARN for now rather than accepting a key it cannot use.
        self.ensure_kms_key(arn).unwrap_or_else(|e| {
            tracing::warn!(arn, error = %e, "could not look up a Hearth KMS key");
            false
        })
    }
}
