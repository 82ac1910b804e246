//! IAM roles on PostgreSQL ([`RoleStore`]): one JSON row per role keyed by account and
//! case-folded name, as the SQLite store keeps them (`crate::roles`).
//!
//! Several nodes write this table, so every check-then-write is made atomic in the
//! database, not in this process: an insert is one `INSERT ... ON CONFLICT DO NOTHING`
//! (a name taken by a racing node shows as no row inserted), and an edit or delete
//! reads its row `FOR UPDATE`, so that a racing node's edit waits for this one's commit
//! and then reads what it wrote (neither edit is lost). Text columns that are compared
//! or ordered are `COLLATE "C"`, byte order, as SQLite's `BINARY` compares them,
//! whatever the database's default collation.

use hearth_model::iam::{name_key, Role};
use tokio_postgres::{GenericClient, Row};

use super::{backend, wait, PgStore};
use crate::traits::{Edit, Edited, RoleStore};
use crate::StoreError;

/// This area's tables, part of the first migration ([`super::migrations`]).
pub(super) const SCHEMA: &str = r#"
CREATE TABLE roles (
    account TEXT COLLATE "C" NOT NULL,
    -- The name folded to lower case: IAM's names are unique regardless of case.
    key TEXT COLLATE "C" NOT NULL,
    path TEXT COLLATE "C" NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (account, key)
);
"#;

/// The role at (`account`, `key`), its row locked until the transaction ends when
/// `lock` (the read of a read-modify-write).
fn read<C: GenericClient>(
    c: &C,
    account: &str,
    key: &str,
    lock: bool,
) -> Result<Option<Role>, StoreError> {
    let sql = if lock {
        "SELECT data FROM roles WHERE account = $1 AND key = $2 FOR UPDATE"
    } else {
        "SELECT data FROM roles WHERE account = $1 AND key = $2"
    };
    let row = wait(c.query_opt(sql, &[&account, &key])).map_err(backend)?;
    row.as_ref().map(role_of).transpose()
}

/// The role in a row whose first column is its JSON.
fn role_of(r: &Row) -> Result<Role, StoreError> {
    Ok(serde_json::from_str(r.try_get(0).map_err(backend)?)?)
}

impl RoleStore for PgStore {
    fn insert_role(&self, role: &Role) -> Result<(), StoreError> {
        let key = name_key(&role.name);
        let data = serde_json::to_string(role)?;
        let c = self.conn()?;
        let inserted = wait(c.execute(
            "INSERT INTO roles (account, key, path, data) VALUES ($1, $2, $3, $4)
             ON CONFLICT (account, key) DO NOTHING",
            &[&role.account, &key, &role.path, &data],
        ))
        .map_err(backend)?;
        if inserted == 0 {
            return Err(StoreError::Exists(role.name.clone()));
        }
        Ok(())
    }

    fn get_role(&self, account: &str, name: &str) -> Result<Option<Role>, StoreError> {
        let c = self.conn()?;
        read(&*c, account, &name_key(name), false)
    }

    fn edit_role(
        &self,
        account: &str,
        name: &str,
        edit: Edit<'_, Role>,
    ) -> Result<Edited<Role>, StoreError> {
        let key = name_key(name);
        let mut c = self.conn()?;
        let tx = wait(c.transaction()).map_err(backend)?;
        let Some(mut role) = read(&tx, account, &key, true)? else {
            return Ok(Edited::Missing);
        };
        if !edit(&mut role) {
            return Ok(Edited::Declined);
        }
        let data = serde_json::to_string(&role)?;
        wait(tx.execute(
            "UPDATE roles SET data = $3, path = $4 WHERE account = $1 AND key = $2",
            &[&account, &key, &data, &role.path],
        ))
        .map_err(backend)?;
        wait(tx.commit()).map_err(backend)?;
        Ok(Edited::Done(role))
    }

    fn delete_role(
        &self,
        account: &str,
        name: &str,
        decide: Box<dyn FnOnce(&Role) -> bool + '_>,
    ) -> Result<Edited<Role>, StoreError> {
        let key = name_key(name);
        let mut c = self.conn()?;
        let tx = wait(c.transaction()).map_err(backend)?;
        let Some(role) = read(&tx, account, &key, true)? else {
            return Ok(Edited::Missing);
        };
        if !decide(&role) {
            return Ok(Edited::Declined);
        }
        wait(tx.execute(
            "DELETE FROM roles WHERE account = $1 AND key = $2",
            &[&account, &key],
        ))
        .map_err(backend)?;
        wait(tx.commit()).map_err(backend)?;
        Ok(Edited::Done(role))
    }

    fn list_roles(
        &self,
        account: &str,
        path_prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Role>, StoreError> {
        let after = after.map(name_key).unwrap_or_default();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let c = self.conn()?;
        // `starts_with` is SQLite's `substr(path, 1, length(prefix)) = prefix` (both count
        // characters, and an empty prefix matches every path).
        let rows = wait(c.query(
            "SELECT data FROM roles
             WHERE account = $1 AND starts_with(path, $2) AND key > $3
             ORDER BY key LIMIT $4",
            &[&account, &path_prefix, &after, &limit],
        ))
        .map_err(backend)?;
        rows.iter().map(role_of).collect()
    }
}
