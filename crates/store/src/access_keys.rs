//! Access keys (issue 14): one row per key, its secret sealed under the server key (the
//! store never sees it in the clear), the account and IAM user name it belongs to (no
//! name: the account's root, the administrator key), and the optional identity policy
//! attached to it. The SQLite side of [`crate::traits::KeyStore`].

use rusqlite::{params, OptionalExtension, Row};

use crate::traits::KeyStore;
use crate::{SqliteStore, StoreError};

/// A stored access key.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub access_key_id: String,
    /// The 12-digit account.
    pub account: String,
    /// The IAM user name; `None` for the account's root.
    pub user_name: Option<String>,
    /// The secret, sealed under the server key bound to the access key id.
    pub sealed_secret: Vec<u8>,
    /// An identity policy document (AWS's JSON grammar), as given.
    pub policy: Option<String>,
    /// Seconds since the epoch.
    pub created: i64,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("access_key_id", &self.access_key_id)
            .field("account", &self.account)
            .field("user_name", &self.user_name)
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

fn key_of(r: &Row<'_>) -> rusqlite::Result<StoredKey> {
    Ok(StoredKey {
        access_key_id: r.get(0)?,
        account: r.get(1)?,
        user_name: r.get(2)?,
        sealed_secret: r.get(3)?,
        policy: r.get(4)?,
        created: r.get(5)?,
    })
}

const COLUMNS: &str = "access_key_id, account, user_name, sealed_secret, policy, created";

impl KeyStore for SqliteStore {
    fn insert_key(&self, k: &StoredKey) -> Result<(), StoreError> {
        let conn = self.conn();
        let taken: bool = conn
            .query_row(
                "SELECT 1 FROM access_keys WHERE access_key_id = ?1
                 OR (user_name IS NOT NULL AND account = ?2 AND user_name = ?3)",
                params![k.access_key_id, k.account, k.user_name],
                |_| Ok(true),
            )
            .optional()?
            .unwrap_or(false);
        if taken {
            return Err(StoreError::Exists(k.access_key_id.clone()));
        }
        conn.execute(
            &format!("INSERT INTO access_keys ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
            params![
                k.access_key_id,
                k.account,
                k.user_name,
                k.sealed_secret,
                k.policy,
                k.created
            ],
        )?;
        Ok(())
    }

    fn list_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM access_keys ORDER BY account, user_name, created"
        ))?;
        let rows = stmt.query_map([], key_of)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn replace_key(&self, old_access_key_id: &str, new: &StoredKey) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let gone = tx.execute(
            "DELETE FROM access_keys WHERE access_key_id = ?1",
            params![old_access_key_id],
        )?;
        if gone == 0 {
            return Ok(false);
        }
        tx.execute(
            &format!("INSERT INTO access_keys ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
            params![
                new.access_key_id,
                new.account,
                new.user_name,
                new.sealed_secret,
                new.policy,
                new.created
            ],
        )?;
        tx.commit()?;
        Ok(true)
    }

    fn delete_key(&self, access_key_id: &str) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "DELETE FROM access_keys WHERE access_key_id = ?1",
            params![access_key_id],
        )?;
        Ok(n > 0)
    }
}
