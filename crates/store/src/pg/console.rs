//! The web console's sign-outs on PostgreSQL ([`ConsoleStore`]): the same rows as the
//! SQLite store keeps (`crate::console`), one per signed-out session until the session's
//! own expiry, shared by every node of the fleet, so that a session signed out on one
//! node is refused on all. Whether a row has lapsed is judged on the database's clock,
//! as tokens and leases are (`super::tokens`), so that nodes' clocks need not agree.

use super::fleet::NOW_MS;
use super::{backend, wait, PgStore};
use crate::traits::ConsoleStore;
use crate::StoreError;

/// The migration step that makes the table ([`super::migrations`]). No index on the
/// expiry: rows are only the sessions signed out within a session's lifetime, and only a
/// sign-out (rare, a person's click) scans them for the lapsed.
pub(super) const SCHEMA: &str = r#"
CREATE TABLE console_signouts (
    id TEXT COLLATE "C" PRIMARY KEY,
    until_ms BIGINT NOT NULL
);
"#;

impl ConsoleStore for PgStore {
    fn end_console_session(&self, id: &str, until_ms: i64) -> Result<(), StoreError> {
        let c = self.conn()?;
        // One statement, so one round trip: the sweep of lapsed rows spares this id's
        // (parts of one statement changing the same row leave which wins unpredictable),
        // and the upsert keeps the later expiry, replacing a lapsed one and never
        // shortening a standing refusal.
        wait(c.execute(
            &format!(
                "WITH lapsed AS (
                     DELETE FROM console_signouts WHERE until_ms <= {NOW_MS} AND id <> $1
                 )
                 INSERT INTO console_signouts (id, until_ms) VALUES ($1, $2)
                 ON CONFLICT (id) DO UPDATE
                     SET until_ms = GREATEST(console_signouts.until_ms, EXCLUDED.until_ms)"
            ),
            &[&id, &until_ms],
        ))
        .map_err(backend)?;
        Ok(())
    }

    fn console_session_ended(&self, id: &str) -> Result<bool, StoreError> {
        let c = self.conn()?;
        let row = wait(c.query_one(
            &format!(
                "SELECT EXISTS (SELECT 1 FROM console_signouts
                                WHERE id = $1 AND until_ms > {NOW_MS})"
            ),
            &[&id],
        ))
        .map_err(backend)?;
        row.try_get(0).map_err(backend)
    }
}
