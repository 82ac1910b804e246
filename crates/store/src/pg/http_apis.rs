//! API Gateway HTTP APIs on PostgreSQL ([`HttpApiStore`]): the same two tables of JSON
//! records as the SQLite store keeps (`crate::http_apis`). Inserts are
//! `INSERT ... ON CONFLICT DO NOTHING`, so a racing node's insert of the same id shows as
//! no row inserted; a child's insert locks its API's row (`FOR SHARE`), so an API deleted
//! meanwhile leaves no orphan.

use tokio_postgres::Row;

use super::{backend, wait, PgStore};
use crate::traits::HttpApiStore;
use crate::StoreError;

/// The migration step that makes the tables ([`super::migrations`]).
pub(super) const SCHEMA: &str = r#"
CREATE TABLE http_apis (
    id TEXT COLLATE "C" PRIMARY KEY,
    account TEXT COLLATE "C" NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX http_apis_account ON http_apis (account, id);
CREATE TABLE http_api_children (
    api TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (api, kind, id)
);
"#;

fn text(r: &Row, i: usize) -> Result<String, StoreError> {
    r.try_get(i).map_err(backend)
}

impl HttpApiStore for PgStore {
    fn insert_http_api(&self, account: &str, id: &str, data: &str) -> Result<(), StoreError> {
        let c = self.conn()?;
        let n = wait(c.execute(
            "INSERT INTO http_apis (id, account, data) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO NOTHING",
            &[&id, &account, &data],
        ))
        .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::Exists(id.to_string()));
        }
        Ok(())
    }

    fn get_http_api(&self, id: &str) -> Result<Option<(String, String)>, StoreError> {
        let c = self.conn()?;
        let row = wait(c.query_opt("SELECT account, data FROM http_apis WHERE id = $1", &[&id]))
            .map_err(backend)?;
        row.map(|r| Ok((text(&r, 0)?, text(&r, 1)?))).transpose()
    }

    fn list_http_apis(
        &self,
        account: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let after = after.unwrap_or("");
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let c = self.conn()?;
        let rows = wait(c.query(
            "SELECT data FROM http_apis WHERE account = $1 AND id > $2 ORDER BY id LIMIT $3",
            &[&account, &after, &limit],
        ))
        .map_err(backend)?;
        rows.iter().map(|r| text(r, 0)).collect()
    }

    fn put_http_api(&self, id: &str, data: &str) -> Result<bool, StoreError> {
        let c = self.conn()?;
        let n = wait(c.execute(
            "UPDATE http_apis SET data = $2 WHERE id = $1",
            &[&id, &data],
        ))
        .map_err(backend)?;
        Ok(n > 0)
    }

    fn delete_http_api(&self, id: &str) -> Result<bool, StoreError> {
        let mut c = self.conn()?;
        let tx = wait(c.transaction()).map_err(backend)?;
        let n = wait(tx.execute("DELETE FROM http_apis WHERE id = $1", &[&id])).map_err(backend)?;
        wait(tx.execute("DELETE FROM http_api_children WHERE api = $1", &[&id]))
            .map_err(backend)?;
        wait(tx.commit()).map_err(backend)?;
        Ok(n > 0)
    }

    fn insert_http_api_child(
        &self,
        api: &str,
        kind: &str,
        id: &str,
        data: &str,
    ) -> Result<bool, StoreError> {
        let mut c = self.conn()?;
        let tx = wait(c.transaction()).map_err(backend)?;
        let found = wait(tx.query_opt("SELECT 1 FROM http_apis WHERE id = $1 FOR SHARE", &[&api]))
            .map_err(backend)?;
        if found.is_none() {
            return Ok(false);
        }
        let n = wait(tx.execute(
            "INSERT INTO http_api_children (api, kind, id, data) VALUES ($1, $2, $3, $4)
             ON CONFLICT (api, kind, id) DO NOTHING",
            &[&api, &kind, &id, &data],
        ))
        .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::Exists(id.to_string()));
        }
        wait(tx.commit()).map_err(backend)?;
        Ok(true)
    }

    fn put_http_api_child(
        &self,
        api: &str,
        kind: &str,
        id: &str,
        data: &str,
    ) -> Result<bool, StoreError> {
        let c = self.conn()?;
        let n = wait(c.execute(
            "UPDATE http_api_children SET data = $4 WHERE api = $1 AND kind = $2 AND id = $3",
            &[&api, &kind, &id, &data],
        ))
        .map_err(backend)?;
        Ok(n > 0)
    }

    fn get_http_api_child(
        &self,
        api: &str,
        kind: &str,
        id: &str,
    ) -> Result<Option<String>, StoreError> {
        let c = self.conn()?;
        let row = wait(c.query_opt(
            "SELECT data FROM http_api_children WHERE api = $1 AND kind = $2 AND id = $3",
            &[&api, &kind, &id],
        ))
        .map_err(backend)?;
        row.map(|r| text(&r, 0)).transpose()
    }

    fn list_http_api_children(&self, api: &str, kind: &str) -> Result<Vec<String>, StoreError> {
        let c = self.conn()?;
        let rows = wait(c.query(
            "SELECT data FROM http_api_children WHERE api = $1 AND kind = $2 ORDER BY id",
            &[&api, &kind],
        ))
        .map_err(backend)?;
        rows.iter().map(|r| text(r, 0)).collect()
    }

    fn delete_http_api_child(&self, api: &str, kind: &str, id: &str) -> Result<bool, StoreError> {
        let c = self.conn()?;
        let n = wait(c.execute(
            "DELETE FROM http_api_children WHERE api = $1 AND kind = $2 AND id = $3",
            &[&api, &kind, &id],
        ))
        .map_err(backend)?;
        Ok(n > 0)
    }
}
