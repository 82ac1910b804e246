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

#[cfg(test)]
mod tests {
    use super::*;

    fn role(account: &str, name: &str, path: &str) -> Role {
        Role {
            account: account.into(),
            name: name.into(),
            path: path.into(),
            id: "AROAAAAAAAAAAAAAAAAAA".into(),
            create_date: "2026-12-01T00:00:00Z".into(),
            assume_role_policy: "{}".into(),
            description: None,
            max_session_duration: 3600,
            tags: Vec::new(),
            permissions_boundary: None,
            inline_policies: Default::default(),
            attached_policies: Vec::new(),
        }
    }

    #[test]
    fn roles_are_per_account_unique_regardless_of_case_and_listed_by_prefix() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = SqliteStore::open(dir.path()).expect("open");
        s.insert_role(&role("111111111111", "Alpha", "/"))
            .expect("insert");
        s.insert_role(&role("111111111111", "beta", "/svc/"))
            .expect("insert");
        s.insert_role(&role("222222222222", "alpha", "/"))
            .expect("other account");
        assert!(matches!(
            s.insert_role(&role("111111111111", "ALPHA", "/")),
            Err(StoreError::Exists(_))
        ));
        assert_eq!(
            s.get_role("111111111111", "alpha")
                .expect("get")
                .map(|r| r.name),
            Some("Alpha".to_string())
        );
        let names = |prefix, after, limit| {
            s.list_roles("111111111111", prefix, after, limit)
                .expect("list")
                .into_iter()
                .map(|r| r.name)
                .collect::<Vec<_>>()
        };
        assert_eq!(names("/", None, 10), ["Alpha", "beta"]);
        assert_eq!(names("/svc", None, 10), ["beta"]);
        assert_eq!(names("/", None, 1), ["Alpha"]);
        assert_eq!(names("/", Some("Alpha"), 10), ["beta"]);
        let edited = s
            .edit_role(
                "111111111111",
                "BETA",
                Box::new(|r| {
                    r.attached_policies.push("arn".into());
                    true
                }),
            )
            .expect("edit");
        assert!(matches!(edited, Edited::Done(r) if r.attached_policies == ["arn"]));
        let kept = s
            .delete_role(
                "111111111111",
                "beta",
                Box::new(|r| r.attached_policies.is_empty()),
            )
            .expect("delete");
        assert_eq!(kept, Edited::Declined);
        let gone = s
            .delete_role("111111111111", "alpha", Box::new(|_| true))
            .expect("delete");
        assert!(matches!(gone, Edited::Done(_)));
        assert_eq!(s.get_role("111111111111", "alpha").expect("get"), None);
        assert!(s.get_role("222222222222", "alpha").expect("get").is_some());
    }
}
