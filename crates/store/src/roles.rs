//! IAM roles, one JSON row per role keyed by account and case-folded name: the SQLite
//! side of [`crate::traits::RoleStore`].

use hearth_model::iam::{name_key, Role};
use rusqlite::{params, OptionalExtension, Transaction};

use crate::traits::{Edit, Edited, RoleStore};
use crate::{SqliteStore, StoreError};

fn read(tx: &Transaction<'_>, account: &str, key: &str) -> Result<Option<Role>, StoreError> {
    let data: Option<String> = tx
        .query_row(
            "SELECT data FROM roles WHERE account = ?1 AND key = ?2",
            params![account, key],
            |r| r.get(0),
        )
        .optional()?;
    Ok(data.map(|d| serde_json::from_str(&d)).transpose()?)
}

impl RoleStore for SqliteStore {
    fn insert_role(&self, role: &Role) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let key = name_key(&role.name);
        if read(&tx, &role.account, &key)?.is_some() {
            return Err(StoreError::Exists(role.name.clone()));
        }
        tx.execute(
            "INSERT INTO roles (account, key, path, data) VALUES (?1, ?2, ?3, ?4)",
            params![role.account, key, role.path, serde_json::to_string(role)?],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn get_role(&self, account: &str, name: &str) -> Result<Option<Role>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        read(&tx, account, &name_key(name))
    }

    fn edit_role(
        &self,
        account: &str,
        name: &str,
        edit: Edit<'_, Role>,
    ) -> Result<Edited<Role>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let key = name_key(name);
        let Some(mut role) = read(&tx, account, &key)? else {
            return Ok(Edited::Missing);
        };
        if !edit(&mut role) {
            return Ok(Edited::Declined);
        }
        tx.execute(
            "UPDATE roles SET data = ?3, path = ?4 WHERE account = ?1 AND key = ?2",
            params![account, key, serde_json::to_string(&role)?, role.path],
        )?;
        tx.commit()?;
        Ok(Edited::Done(role))
    }

    fn delete_role(
        &self,
        account: &str,
        name: &str,
        decide: Box<dyn FnOnce(&Role) -> bool + '_>,
    ) -> Result<Edited<Role>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let key = name_key(name);
        let Some(role) = read(&tx, account, &key)? else {
            return Ok(Edited::Missing);
        };
        if !decide(&role) {
            return Ok(Edited::Declined);
        }
        tx.execute(
            "DELETE FROM roles WHERE account = ?1 AND key = ?2",
            params![account, key],
        )?;
        tx.commit()?;
        Ok(Edited::Done(role))
    }

    fn list_roles(
        &self,
        account: &str,
        path_prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Role>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT data FROM roles
             WHERE account = ?1 AND substr(path, 1, length(?2)) = ?2 AND key > ?3
             ORDER BY key LIMIT ?4",
        )?;
        let after = after.map(name_key).unwrap_or_default();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![account, path_prefix, after, limit], |r| {
            r.get::<_, String>(0)
        })?;
        let mut roles = Vec::new();
        for data in rows {
            roles.push(serde_json::from_str(&data?)?);
        }
        Ok(roles)
    }
}
