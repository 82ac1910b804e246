//! API Gateway HTTP APIs on SQLite: the side of [`crate::traits::HttpApiStore`] that
//! keeps each API's JSON record (`http_apis`) and its children's (`http_api_children`).

use rusqlite::{params, OptionalExtension};

use crate::traits::HttpApiStore;
use crate::{SqliteStore, StoreError};

/// The migration step that makes the tables (see `migrations.rs`).
pub(crate) const SCHEMA: &str = "
CREATE TABLE http_apis (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX http_apis_account ON http_apis (account, id);
CREATE TABLE http_api_children (
    api TEXT NOT NULL,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (api, kind, id)
);
";

impl HttpApiStore for SqliteStore {
    fn insert_http_api(&self, account: &str, id: &str, data: &str) -> Result<(), StoreError> {
        let inserted = self.conn().execute(
            "INSERT OR IGNORE INTO http_apis (id, account, data) VALUES (?1, ?2, ?3)",
            params![id, account, data],
        )?;
        if inserted == 0 {
            return Err(StoreError::Exists(id.to_string()));
        }
        Ok(())
    }

    fn get_http_api(&self, id: &str) -> Result<Option<(String, String)>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT account, data FROM http_apis WHERE id = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    fn list_http_apis(
        &self,
        account: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT data FROM http_apis WHERE account = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![account, after.unwrap_or(""), limit], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn put_http_api(&self, id: &str, data: &str) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "UPDATE http_apis SET data = ?2 WHERE id = ?1",
            params![id, data],
        )?;
        Ok(n > 0)
    }

    fn delete_http_api(&self, id: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM http_api_children WHERE api = ?1", params![id])?;
        let n = tx.execute("DELETE FROM http_apis WHERE id = ?1", params![id])?;
        tx.commit()?;
        Ok(n > 0)
    }

    fn insert_http_api_child(
        &self,
        api: &str,
        kind: &str,
        id: &str,
        data: &str,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let exists: Option<i64> = tx
            .query_row("SELECT 1 FROM http_apis WHERE id = ?1", params![api], |r| {
                r.get(0)
            })
            .optional()?;
        if exists.is_none() {
            return Ok(false);
        }
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO http_api_children (api, kind, id, data)
             VALUES (?1, ?2, ?3, ?4)",
            params![api, kind, id, data],
        )?;
        if inserted == 0 {
            return Err(StoreError::Exists(id.to_string()));
        }
        tx.commit()?;
        Ok(true)
    }

    fn put_http_api_child(
        &self,
        api: &str,
        kind: &str,
        id: &str,
        data: &str,
    ) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "UPDATE http_api_children SET data = ?4 WHERE api = ?1 AND kind = ?2 AND id = ?3",
            params![api, kind, id, data],
        )?;
        Ok(n > 0)
    }

    fn get_http_api_child(
        &self,
        api: &str,
        kind: &str,
        id: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT data FROM http_api_children WHERE api = ?1 AND kind = ?2 AND id = ?3",
                params![api, kind, id],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn list_http_api_children(&self, api: &str, kind: &str) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT data FROM http_api_children WHERE api = ?1 AND kind = ?2 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![api, kind], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn delete_http_api_child(&self, api: &str, kind: &str, id: &str) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "DELETE FROM http_api_children WHERE api = ?1 AND kind = ?2 AND id = ?3",
            params![api, kind, id],
        )?;
        Ok(n > 0)
    }
}
