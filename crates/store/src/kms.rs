//! Hearth's KMS keys (`hearth kms create`, `KMSKeyArn`): each a random 32-byte data key,
//! stored sealed under a key derived from the server key and bound to its ARN. A
//! function naming one has its environment variables sealed under its data key.

use hearth_model::arn::REGION;
use rusqlite::params;

use crate::seal::{random_bytes, SealKey};
use crate::sealed_env::EnvSeal;
use crate::{SqliteStore, StoreError};

/// One key as listed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KmsKeyInfo {
    pub key_id: String,
    pub arn: String,
    pub description: String,
    pub created_ms: i64,
}

fn io(e: impl std::fmt::Display) -> StoreError {
    StoreError::Io(std::io::Error::other(e.to_string()))
}

/// A new Hearth key of `account`: its id, ARN and data key, the data key also sealed
/// (under the master key, bound to the ARN) as the store keeps it. Every backend makes
/// keys this way, then stores the row and [`remember`]s the data key.
pub(crate) struct NewKmsKey {
    pub(crate) key_id: String,
    pub(crate) arn: String,
    pub(crate) raw: [u8; 32],
    pub(crate) sealed: Vec<u8>,
}

pub(crate) fn mint(seal: &EnvSeal, account: &str) -> Result<NewKmsKey, StoreError> {
    let key_id = uuid::Uuid::new_v4().to_string();
    // The account is in the ARN, which the data key is sealed to: no column of its own.
    let arn = format!("arn:aws:kms:{REGION}:{account}:key/{key_id}");
    let raw = random_bytes::<32>().map_err(io)?;
    let sealed = seal.kms_master.seal(&raw, arn.as_bytes()).map_err(io)?;
    Ok(NewKmsKey {
        key_id,
        arn,
        raw,
        sealed,
    })
}

/// Keeps a key's data key for the records sealed under it.
pub(crate) fn remember(seal: &EnvSeal, arn: &str, raw: [u8; 32]) {
    seal.kms
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .insert(arn.to_string(), SealKey::from_bytes(raw));
}

impl SqliteStore {
    /// Loads every key's data key into the environment sealer.
    pub(crate) fn load_kms_keys(&self) -> Result<(), StoreError> {
        let rows: Vec<(String, Vec<u8>)> = {
            let conn = self.conn();
            let mut stmt = conn.prepare("SELECT arn, data_key FROM kms_keys")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut keys = self.env_seal.kms.write().unwrap_or_else(|p| p.into_inner());
        for (arn, sealed) in rows {
            let raw = self
                .env_seal
                .kms_master
                .open(&sealed, arn.as_bytes())
                .map_err(io)?;
            let raw: [u8; 32] = raw.as_slice().try_into().map_err(io)?;
            keys.insert(arn, SealKey::from_bytes(raw));
        }
        Ok(())
    }

    pub(crate) fn create_kms_key(
        &self,
        account: &str,
        description: &str,
    ) -> Result<KmsKeyInfo, StoreError> {
        let NewKmsKey {
            key_id,
            arn,
            raw,
            sealed,
        } = mint(&self.env_seal, account)?;
        let created_ms = hearth_model::time::now_ms();
        self.conn().execute(
            "INSERT INTO kms_keys (key_id, arn, description, created_ms, data_key)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![key_id, arn, description, created_ms, sealed],
        )?;
        remember(&self.env_seal, &arn, raw);
        Ok(KmsKeyInfo {
            key_id,
            arn,
            description: description.to_string(),
            created_ms,
        })
    }

    pub(crate) fn list_kms_keys(&self) -> Result<Vec<KmsKeyInfo>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT key_id, arn, description, created_ms FROM kms_keys ORDER BY created_ms, key_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(KmsKeyInfo {
                key_id: r.get(0)?,
                arn: r.get(1)?,
                description: r.get(2)?,
                created_ms: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub(crate) fn kms_key_exists(&self, arn: &str) -> bool {
        self.env_seal
            .kms
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(arn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A function's variables under a Hearth key are sealed under that key's data key,
    /// not the server's own environment key (the row's JSON is SQLite's layout).
    #[test]
    fn a_function_under_a_hearth_key_is_not_sealed_under_the_server_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = SealKey::from_bytes([9; 32]);
        let store = SqliteStore::open_with(dir.path(), &server, false).expect("open");
        let key = store
            .create_kms_key(hearth_model::arn::ACCOUNT, "mine")
            .expect("create");
        let mut f = hearth_model::testing::function("f");
        f.environment = [("S".to_string(), "value-under-kms".to_string())].into();
        f.kms_key_arn = Some(key.arn.clone());
        store.insert_function(&f).expect("insert");
        let raw: String = store
            .conn()
            .query_row("SELECT data FROM functions", [], |r| r.get(0))
            .expect("row");
        assert!(!raw.contains("value-under-kms"));
        assert!(crate::sealed_env::EnvSeal::new(&server)
            .decode(&raw.replace("kms_key_arn", "other_field"))
            .is_err());
    }
}
