//! EventBridge Schemas on SQLite: the side of [`crate::traits::SchemaStore`] that keeps
//! each account's registries (`schema_registries`) and every version of their schemas
//! (`schema_versions`), as JSON records whose shapes are the API layer's.

use rusqlite::{params, OptionalExtension};

use crate::traits::{SchemaRow, SchemaStore};
use crate::{SqliteStore, StoreError};

/// The migration step that makes the tables (see `migrations.rs`). A schema is its
/// versions: its latest is the one with the highest number.
pub(crate) const SCHEMA: &str = "
CREATE TABLE schema_registries (
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (account, name)
);
CREATE TABLE schema_versions (
    account TEXT NOT NULL,
    registry TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (account, registry, name, version)
);
";

fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

impl SchemaStore for SqliteStore {
    fn insert_schema_registry(
        &self,
        account: &str,
        name: &str,
        data: &str,
    ) -> Result<(), StoreError> {
        let inserted = self.conn().execute(
            "INSERT OR IGNORE INTO schema_registries (account, name, data) VALUES (?1, ?2, ?3)",
            params![account, name, data],
        )?;
        if inserted == 0 {
            return Err(StoreError::Exists(name.to_string()));
        }
        Ok(())
    }

    fn get_schema_registry(&self, account: &str, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT data FROM schema_registries WHERE account = ?1 AND name = ?2",
                params![account, name],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn list_schema_registries(
        &self,
        account: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT name, data FROM schema_registries
             WHERE account = ?1 AND substr(name, 1, length(?2)) = ?2 AND name > ?3
             ORDER BY name LIMIT ?4",
        )?;
        let rows = stmt.query_map(
            params![account, prefix, after.unwrap_or(""), limit_of(limit)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn delete_schema_registry(&self, account: &str, name: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM schema_versions WHERE account = ?1 AND registry = ?2",
            params![account, name],
        )?;
        let n = tx.execute(
            "DELETE FROM schema_registries WHERE account = ?1 AND name = ?2",
            params![account, name],
        )?;
        tx.commit()?;
        Ok(n > 0)
    }

    fn insert_schema_version(
        &self,
        account: &str,
        registry: &str,
        schema: &str,
        version: i64,
        data: &str,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let registry_exists: Option<i64> = tx
            .query_row(
                "SELECT 1 FROM schema_registries WHERE account = ?1 AND name = ?2",
                params![account, registry],
                |r| r.get(0),
            )
            .optional()?;
        if registry_exists.is_none() {
            return Ok(false);
        }
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO schema_versions (account, registry, name, version, data)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![account, registry, schema, version, data],
        )?;
        if inserted == 0 {
            return Err(StoreError::Exists(format!("{schema} version {version}")));
        }
        tx.commit()?;
        Ok(true)
    }

    fn get_schema_version(
        &self,
        account: &str,
        registry: &str,
        schema: &str,
        version: Option<i64>,
    ) -> Result<Option<(i64, String)>, StoreError> {
        let conn = self.conn();
        let row = match version {
            Some(v) => conn
                .query_row(
                    "SELECT version, data FROM schema_versions
                     WHERE account = ?1 AND registry = ?2 AND name = ?3 AND version = ?4",
                    params![account, registry, schema, v],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?,
            None => conn
                .query_row(
                    "SELECT version, data FROM schema_versions
                     WHERE account = ?1 AND registry = ?2 AND name = ?3
                     ORDER BY version DESC LIMIT 1",
                    params![account, registry, schema],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?,
        };
        Ok(row)
    }

    fn list_schemas(
        &self,
        account: &str,
        registry: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<SchemaRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT s.name, (SELECT COUNT(*) FROM schema_versions c
                             WHERE c.account = s.account AND c.registry = s.registry
                               AND c.name = s.name),
                    s.version, s.data
             FROM schema_versions s
             WHERE s.account = ?1 AND s.registry = ?2 AND substr(s.name, 1, length(?3)) = ?3
               AND s.name > ?4
               AND s.version = (SELECT MAX(m.version) FROM schema_versions m
                                WHERE m.account = s.account AND m.registry = s.registry
                                  AND m.name = s.name)
             ORDER BY s.name LIMIT ?5",
        )?;
        let rows = stmt.query_map(
            params![
                account,
                registry,
                prefix,
                after.unwrap_or(""),
                limit_of(limit)
            ],
            |r| {
                Ok(SchemaRow {
                    name: r.get(0)?,
                    versions: r.get(1)?,
                    version: r.get(2)?,
                    data: r.get(3)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn list_schema_versions(
        &self,
        account: &str,
        registry: &str,
        schema: &str,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT version, data FROM schema_versions
             WHERE account = ?1 AND registry = ?2 AND name = ?3 ORDER BY version",
        )?;
        let rows = stmt.query_map(params![account, registry, schema], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn delete_schema(
        &self,
        account: &str,
        registry: &str,
        schema: &str,
    ) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "DELETE FROM schema_versions WHERE account = ?1 AND registry = ?2 AND name = ?3",
            params![account, registry, schema],
        )?;
        Ok(n > 0)
    }

    fn delete_schema_version(
        &self,
        account: &str,
        registry: &str,
        schema: &str,
        version: i64,
    ) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "DELETE FROM schema_versions
             WHERE account = ?1 AND registry = ?2 AND name = ?3 AND version = ?4",
            params![account, registry, schema, version],
        )?;
        Ok(n > 0)
    }
}
