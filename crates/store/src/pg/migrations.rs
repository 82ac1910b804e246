//! The PostgreSQL schema as a numbered list of migrations, in the table
//! `hearth_schema`. Every node runs them at start (and `hearth migrate` alone), under a
//! transaction-scoped advisory lock so that nodes starting together apply each once; a
//! node refuses a database whose version is newer than it knows (a newer Hearth wrote
//! it). Add a migration at the end; never change one that has shipped. Migration 1 is
//! the schema of every area (each area's file holds its tables).

use super::pool::{backend, wait, Pool};
use crate::StoreError;

/// The advisory lock key of migrations (any constant the nodes agree on: "hearthmg").
const LOCK: i64 = 0x6865_6172_7468_6d67;

/// One step of the schema.
struct Migration {
    version: i64,
    name: &'static str,
    sql: fn() -> String,
}

fn first() -> String {
    [
        super::SCHEMA,
        super::metadata::SCHEMA,
        super::resources::SCHEMA,
        super::roles::SCHEMA,
        super::keys::SCHEMA,
        super::kms::SCHEMA,
        super::changes::SCHEMA,
        super::queue::SCHEMA,
        super::logs::SCHEMA,
        super::audit::SCHEMA,
        super::code::SCHEMA,
        super::fleet::SCHEMA,
    ]
    .concat()
}

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "the schema of every area",
    sql: first,
}];

/// The newest version this build knows.
pub(crate) fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Applies every migration the database at `url` lacks (`hearth migrate`): the version
/// before and after.
pub fn migrate_url(url: &str) -> Result<(i64, i64), StoreError> {
    let pool = Pool::connect(url)?;
    migrate(&pool)
}

/// Applies every migration the database lacks; refuses a newer database. Answers the
/// version before and after.
pub(crate) fn migrate(pool: &Pool) -> Result<(i64, i64), StoreError> {
    let mut conn = pool.get()?;
    wait(conn.batch_execute("CREATE TABLE IF NOT EXISTS hearth_schema (version BIGINT NOT NULL)"))
        .map_err(backend)?;
    let mut before = None;
    loop {
        let tx = wait(conn.transaction()).map_err(backend)?;
        wait(tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])).map_err(backend)?;
        let row = wait(tx.query_one("SELECT COALESCE(MAX(version), 0) FROM hearth_schema", &[]))
            .map_err(backend)?;
        let found: i64 = row.get(0);
        before.get_or_insert(found);
        if found > latest() {
            return Err(StoreError::NewerSchema {
                found,
                supported: latest(),
            });
        }
        let Some(next) = MIGRATIONS.iter().find(|m| m.version > found) else {
            return Ok((before.unwrap_or(found), found));
        };
        wait(tx.batch_execute(&(next.sql)())).map_err(backend)?;
        wait(tx.execute("DELETE FROM hearth_schema", &[])).map_err(backend)?;
        wait(tx.execute(
            "INSERT INTO hearth_schema (version) VALUES ($1)",
            &[&next.version],
        ))
        .map_err(backend)?;
        wait(tx.commit()).map_err(backend)?;
        tracing::info!(
            version = next.version,
            name = next.name,
            "PostgreSQL schema migrated"
        );
    }
}
