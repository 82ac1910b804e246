//! Access keys on PostgreSQL ([`KeyStore`]): one row per key as the SQLite store keeps
//! them (`crate::access_keys`), the secret stored as the caller sealed it (under the
//! server key, bound to the access key id: the store never sees it in the clear).
//!
//! SQLite refuses a second key of one IAM user by looking before inserting, under its
//! one connection's lock. Nodes sharing this database have no such lock, so the rule
//! is the database's: a unique index on (account, user name), whose NULL names (the
//! account's root keys, of which there may be several) are distinct, and an insert that
//! does nothing on a conflict with it or with the access key id, so that two nodes
//! racing to give one user a key end with one, the other told [`StoreError::Exists`].
//! Rotation deletes the old row and inserts the new in one transaction, so no node
//! ever sees the user keyless or with both keys.

use tokio_postgres::Row;

use super::{backend, wait, PgStore};
use crate::traits::KeyStore;
use crate::{StoreError, StoredKey};

/// This area's tables, part of the first migration ([`super::migrations`]).
pub(super) const SCHEMA: &str = r#"
CREATE TABLE access_keys (
    access_key_id TEXT COLLATE "C" PRIMARY KEY,
    account TEXT COLLATE "C" NOT NULL,
    user_name TEXT COLLATE "C",
    sealed_secret BYTEA NOT NULL,
    policy TEXT,
    created BIGINT NOT NULL
);
CREATE UNIQUE INDEX access_keys_by_user ON access_keys (account, user_name);
"#;

const COLUMNS: &str = "access_key_id, account, user_name, sealed_secret, policy, created";

fn key_of(r: &Row) -> Result<StoredKey, StoreError> {
    Ok(StoredKey {
        access_key_id: r.try_get(0).map_err(backend)?,
        account: r.try_get(1).map_err(backend)?,
        user_name: r.try_get(2).map_err(backend)?,
        sealed_secret: r.try_get(3).map_err(backend)?,
        policy: r.try_get(4).map_err(backend)?,
        created: r.try_get(5).map_err(backend)?,
    })
}

impl KeyStore for PgStore {
    fn insert_key(&self, k: &StoredKey) -> Result<(), StoreError> {
        let c = self.conn()?;
        let inserted = wait(c.execute(
            &format!(
                "INSERT INTO access_keys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT DO NOTHING"
            ),
            &[
                &k.access_key_id,
                &k.account,
                &k.user_name,
                &k.sealed_secret,
                &k.policy,
                &k.created,
            ],
        ))
        .map_err(backend)?;
        if inserted == 0 {
            return Err(StoreError::Exists(k.access_key_id.clone()));
        }
        Ok(())
    }

    fn list_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        let c = self.conn()?;
        // SQLite's order: its NULLs (root keys) sort first. Keys of one principal made
        // in the same second are in id order (SQLite leaves their order to its plan).
        let rows = wait(c.query(
            &format!(
                "SELECT {COLUMNS} FROM access_keys
                 ORDER BY account, user_name NULLS FIRST, created, access_key_id"
            ),
            &[],
        ))
        .map_err(backend)?;
        rows.iter().map(key_of).collect()
    }

    fn replace_key(&self, old_access_key_id: &str, new: &StoredKey) -> Result<bool, StoreError> {
        let mut c = self.conn()?;
        let tx = wait(c.transaction()).map_err(backend)?;
        let gone = wait(tx.execute(
            "DELETE FROM access_keys WHERE access_key_id = $1",
            &[&old_access_key_id],
        ))
        .map_err(backend)?;
        if gone == 0 {
            return Ok(false);
        }
        wait(tx.execute(
            &format!("INSERT INTO access_keys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"),
            &[
                &new.access_key_id,
                &new.account,
                &new.user_name,
                &new.sealed_secret,
                &new.policy,
                &new.created,
            ],
        ))
        .map_err(backend)?;
        wait(tx.commit()).map_err(backend)?;
        Ok(true)
    }

    fn delete_key(&self, access_key_id: &str) -> Result<bool, StoreError> {
        let c = self.conn()?;
        let n = wait(c.execute(
            "DELETE FROM access_keys WHERE access_key_id = $1",
            &[&access_key_id],
        ))
        .map_err(backend)?;
        Ok(n > 0)
    }
}
