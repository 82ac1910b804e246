//! Concurrency tokens (issue 21): how a fleet shares a concurrency limit (a function's
//! reserved concurrency, an account's unreserved pool) without a store round trip per
//! invocation. Each node holds a number of tokens of a scope until an expiry on the
//! store's clock, in one row per scope and node; a node admits invocations against the
//! tokens it holds, and asks for more, gives back idle ones and renews the rest with
//! [`crate::FleetStore::lease_tokens`]. That one call sets a node's row under a lock on
//! the scope, granting only what the other nodes' unexpired rows leave of the limit, so
//! the unexpired tokens of a scope never add up to more than the limit the caller
//! names. A node that dies keeps its tokens until they lapse; then others may take them.
//! docs/concurrency.md tells how the engine uses them and what a failure costs.

use std::time::Duration;

use rusqlite::{params, TransactionBehavior};

use crate::fleet::{now_ms, ttl_ms};
use crate::{SqliteStore, StoreError};

/// One node's tokens of a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenLease {
    pub node: String,
    pub tokens: i64,
    /// When they lapse unless renewed, on the store's clock (ms).
    pub expires_ms: i64,
}

/// How many of `want` tokens a node may hold when the other nodes hold `others` of
/// `limit` (never fewer than none).
pub(crate) fn grant(want: i64, limit: i64, others: i64) -> i64 {
    want.min(limit.saturating_sub(others)).max(0)
}

/// The tokens table (SQLite migration 8; PostgreSQL's in `pg/tokens.rs`).
pub(crate) const SQLITE_SCHEMA: &str = "
CREATE TABLE concurrency_tokens (
    scope TEXT NOT NULL,
    node TEXT NOT NULL,
    tokens INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    PRIMARY KEY (scope, node)
);
";

impl SqliteStore {
    /// See [`crate::FleetStore::lease_tokens`]. An immediate transaction: another
    /// process on the same file waits for it, so two never grant from the same count.
    pub(crate) fn lease_tokens_sqlite(
        &self,
        scope: &str,
        node: &str,
        want: i64,
        limit: i64,
        ttl: Duration,
    ) -> Result<i64, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = now_ms();
        tx.execute(
            "DELETE FROM concurrency_tokens WHERE scope = ?1 AND expires_ms <= ?2",
            params![scope, now],
        )?;
        let others: i64 = tx.query_row(
            "SELECT COALESCE(SUM(tokens), 0) FROM concurrency_tokens
             WHERE scope = ?1 AND node <> ?2",
            params![scope, node],
            |r| r.get(0),
        )?;
        let granted = grant(want, limit, others);
        if granted > 0 {
            tx.execute(
                "INSERT INTO concurrency_tokens (scope, node, tokens, expires_ms)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (scope, node) DO UPDATE SET tokens = excluded.tokens,
                     expires_ms = excluded.expires_ms",
                params![scope, node, granted, now.saturating_add(ttl_ms(ttl))],
            )?;
        } else {
            tx.execute(
                "DELETE FROM concurrency_tokens WHERE scope = ?1 AND node = ?2",
                params![scope, node],
            )?;
        }
        tx.commit()?;
        Ok(granted)
    }

    /// See [`crate::FleetStore::token_leases`].
    pub(crate) fn token_leases_sqlite(&self, scope: &str) -> Result<Vec<TokenLease>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT node, tokens, expires_ms FROM concurrency_tokens
             WHERE scope = ?1 AND expires_ms > ?2 ORDER BY node",
        )?;
        let rows = stmt.query_map(params![scope, now_ms()], |r| {
            Ok(TokenLease {
                node: r.get(0)?,
                tokens: r.get(1)?,
                expires_ms: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::grant;

    #[test]
    fn a_grant_is_what_the_others_leave_of_the_limit() {
        assert_eq!(grant(3, 10, 0), 3);
        assert_eq!(grant(3, 10, 8), 2, "only two left");
        assert_eq!(grant(3, 10, 10), 0);
        // A limit lowered below what others hold grants nothing, not a negative count.
        assert_eq!(grant(3, 2, 5), 0);
        // Asking for less (giving back) is always granted.
        assert_eq!(grant(1, 10, 9), 1);
        assert_eq!(grant(0, 10, 3), 0);
        assert_eq!(grant(-1, 10, 0), 0);
    }
}
