//! EventBridge Schemas on PostgreSQL ([`SchemaStore`]): the same two tables of JSON
//! records as the SQLite store keeps (`crate::schemas`). Inserts are
//! `INSERT ... ON CONFLICT DO NOTHING`, so a racing node's insert of the same registry or
//! schema version shows as no row inserted; a version's insert locks its registry's row
//! (`FOR SHARE`), so a registry deleted meanwhile leaves no orphan.

use tokio_postgres::Row;

use super::{backend, wait, PgStore};
use crate::traits::{SchemaRow, SchemaStore};
use crate::StoreError;

/// The migration step that makes the tables ([`super::migrations`]).
pub(super) const SCHEMA: &str = r#"
CREATE TABLE schema_registries (
    account TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (account, name)
);
CREATE TABLE schema_versions (
    account TEXT COLLATE "C" NOT NULL,
    registry TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (account, registry, name, version)
);
"#;

fn pair(r: &Row) -> Result<(String, String), StoreError> {
    Ok((
        r.try_get(0).map_err(backend)?,
        r.try_get(1).map_err(backend)?,
    ))
}

fn version(r: &Row) -> Result<(i64, String), StoreError> {
    Ok((
        r.try_get(0).map_err(backend)?,
        r.try_get(1).map_err(backend)?,
    ))
}

fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

impl SchemaStore for PgStore {
    fn insert_schema_registry(
        &self,
        account: &str,
        name: &str,
        data: &str,
    ) -> Result<(), StoreError> {
        let c = self.conn()?;
        let n = wait(c.execute(
            "INSERT INTO schema_registries (account, name, data) VALUES ($1, $2, $3)
             ON CONFLICT (account, name) DO NOTHING",
            &[&account, &name, &data],
        ))
        .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::Exists(name.to_string()));
        }
        Ok(())
    }

    fn get_schema_registry(&self, account: &str, name: &str) -> Result<Option<String>, StoreError> {
        let c = self.conn()?;
        let row = wait(c.query_opt(
            "SELECT data FROM schema_registries WHERE account = $1 AND name = $2",
            &[&account, &name],
        ))
        .map_err(backend)?;
        row.map(|r| r.try_get(0).map_err(backend)).transpose()
    }

    fn list_schema_registries(
        &self,
        account: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let after = after.unwrap_or("");
        let limit = limit_of(limit);
        let c = self.conn()?;
        let rows = wait(c.query(
            "SELECT name, data FROM schema_registries
             WHERE account = $1 AND starts_with(name, $2) AND name > $3
             ORDER BY name LIMIT $4",
            &[&account, &prefix, &after, &limit],
        ))
        .map_err(backend)?;
        rows.iter().map(pair).collect()
    }

    fn delete_schema_registry(&self, account: &str, name: &str) -> Result<bool, StoreError> {
        let c = self.conn()?;
        // One statement: the registry's schemas go with it.
        let n = wait(c.execute(
            "WITH gone AS (
                 DELETE FROM schema_versions WHERE account = $1 AND registry = $2
             )
             DELETE FROM schema_registries WHERE account = $1 AND name = $2",
            &[&account, &name],
        ))
        .map_err(backend)?;
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
        let c = self.conn()?;
        // The registry's row is locked FOR SHARE by the same statement, so a delete of
        // the registry either comes first (no row inserted) or waits for this one.
        let rows = wait(c.query(
            "WITH reg AS (
                 SELECT 1 FROM schema_registries WHERE account = $1 AND name = $2 FOR SHARE
             ), ins AS (
                 INSERT INTO schema_versions (account, registry, name, version, data)
                 SELECT $1, $2, $3, $4, $5 FROM reg
                 ON CONFLICT (account, registry, name, version) DO NOTHING
                 RETURNING 1
             )
             SELECT (SELECT COUNT(*) FROM reg), (SELECT COUNT(*) FROM ins)",
            &[&account, &registry, &schema, &version, &data],
        ))
        .map_err(backend)?;
        let row = rows.first().ok_or_else(|| {
            StoreError::Backend("the insert of a schema version answered no row".into())
        })?;
        let registries: i64 = row.try_get(0).map_err(backend)?;
        let inserted: i64 = row.try_get(1).map_err(backend)?;
        if registries == 0 {
            return Ok(false);
        }
        if inserted == 0 {
            return Err(StoreError::Exists(format!("{schema} version {version}")));
        }
        Ok(true)
    }

    fn get_schema_version(
        &self,
        account: &str,
        registry: &str,
        schema: &str,
        version: Option<i64>,
    ) -> Result<Option<(i64, String)>, StoreError> {
        let c = self.conn()?;
        let row = wait(c.query_opt(
            "SELECT version, data FROM schema_versions
             WHERE account = $1 AND registry = $2 AND name = $3
               AND ($4::BIGINT IS NULL OR version = $4)
             ORDER BY version DESC LIMIT 1",
            &[&account, &registry, &schema, &version],
        ))
        .map_err(backend)?;
        row.map(|r| self::version(&r)).transpose()
    }

    fn list_schemas(
        &self,
        account: &str,
        registry: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<SchemaRow>, StoreError> {
        let after = after.unwrap_or("");
        let limit = limit_of(limit);
        let c = self.conn()?;
        let rows = wait(c.query(
            "SELECT DISTINCT ON (name) name,
                    COUNT(*) OVER (PARTITION BY name), version, data
             FROM schema_versions
             WHERE account = $1 AND registry = $2 AND starts_with(name, $3) AND name > $4
             ORDER BY name, version DESC LIMIT $5",
            &[&account, &registry, &prefix, &after, &limit],
        ))
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(SchemaRow {
                    name: r.try_get(0).map_err(backend)?,
                    versions: r.try_get(1).map_err(backend)?,
                    version: r.try_get(2).map_err(backend)?,
                    data: r.try_get(3).map_err(backend)?,
                })
            })
            .collect()
    }

    fn list_schema_versions(
        &self,
        account: &str,
        registry: &str,
        schema: &str,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let c = self.conn()?;
        let rows = wait(c.query(
            "SELECT version, data FROM schema_versions
             WHERE account = $1 AND registry = $2 AND name = $3 ORDER BY version",
            &[&account, &registry, &schema],
        ))
        .map_err(backend)?;
        rows.iter().map(version).collect()
    }

    fn delete_schema(
        &self,
        account: &str,
        registry: &str,
        schema: &str,
    ) -> Result<bool, StoreError> {
        let c = self.conn()?;
        let n = wait(c.execute(
            "DELETE FROM schema_versions WHERE account = $1 AND registry = $2 AND name = $3",
            &[&account, &registry, &schema],
        ))
        .map_err(backend)?;
        Ok(n > 0)
    }

    fn delete_schema_version(
        &self,
        account: &str,
        registry: &str,
        schema: &str,
        version: i64,
    ) -> Result<bool, StoreError> {
        let c = self.conn()?;
        let n = wait(c.execute(
            "DELETE FROM schema_versions
             WHERE account = $1 AND registry = $2 AND name = $3 AND version = $4",
            &[&account, &registry, &schema, &version],
        ))
        .map_err(backend)?;
        Ok(n > 0)
    }
}
