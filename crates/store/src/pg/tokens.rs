//! Concurrency tokens on PostgreSQL (see `crate::tokens`): the same rows as the embedded
//! store's, on the database's clock. A node's call locks the scope with a
//! transaction-scoped advisory lock first, so two nodes asking at once are served one
//! after the other and never both count the same free tokens (under READ COMMITTED, a
//! sum and an insert alone would let them).

use std::time::Duration;

use super::fleet::NOW_MS;
use super::{backend, wait, PgStore};
use crate::fleet::ttl_ms;
use crate::tokens::{grant, TokenLease};
use crate::StoreError;

/// The tokens table (migration 3).
pub(super) const SCHEMA: &str = "
CREATE TABLE concurrency_tokens (
    scope TEXT COLLATE \"C\" NOT NULL,
    node TEXT COLLATE \"C\" NOT NULL,
    tokens BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    PRIMARY KEY (scope, node)
);
";

/// The first key of the scopes' advisory locks ("tokn"): their second is the scope's
/// hash, so they collide with no other lock of Hearth's.
const LOCK_CLASS: i32 = 0x746f_6b6e;

impl PgStore {
    pub(crate) fn lease_tokens_pg(
        &self,
        scope: &str,
        node: &str,
        want: i64,
        limit: i64,
        ttl: Duration,
    ) -> Result<i64, StoreError> {
        let mut c = self.conn()?;
        let tx = wait(c.transaction()).map_err(backend)?;
        wait(tx.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            &[&LOCK_CLASS, &scope],
        ))
        .map_err(backend)?;
        wait(tx.execute(
            &format!("DELETE FROM concurrency_tokens WHERE scope = $1 AND expires_ms <= {NOW_MS}"),
            &[&scope],
        ))
        .map_err(backend)?;
        let others: i64 = wait(tx.query_one(
            "SELECT COALESCE(SUM(tokens), 0)::bigint FROM concurrency_tokens
             WHERE scope = $1 AND node <> $2",
            &[&scope, &node],
        ))
        .map_err(backend)?
        .get(0);
        let granted = grant(want, limit, others);
        if granted > 0 {
            wait(tx.execute(
                &format!(
                    "INSERT INTO concurrency_tokens (scope, node, tokens, expires_ms)
                     VALUES ($1, $2, $3, {NOW_MS} + $4)
                     ON CONFLICT (scope, node) DO UPDATE SET tokens = EXCLUDED.tokens,
                         expires_ms = EXCLUDED.expires_ms"
                ),
                &[&scope, &node, &granted, &ttl_ms(ttl)],
            ))
            .map_err(backend)?;
        } else {
            wait(tx.execute(
                "DELETE FROM concurrency_tokens WHERE scope = $1 AND node = $2",
                &[&scope, &node],
            ))
            .map_err(backend)?;
        }
        wait(tx.commit()).map_err(backend)?;
        Ok(granted)
    }

    pub(crate) fn token_leases_pg(&self, scope: &str) -> Result<Vec<TokenLease>, StoreError> {
        let c = self.conn()?;
        let rows = wait(c.query(
            &format!(
                "SELECT node, tokens, expires_ms FROM concurrency_tokens
                 WHERE scope = $1 AND expires_ms > {NOW_MS} ORDER BY node"
            ),
            &[&scope],
        ))
        .map_err(backend)?;
        Ok(rows
            .iter()
            .map(|r| TokenLease {
                node: r.get(0),
                tokens: r.get(1),
                expires_ms: r.get(2),
            })
            .collect())
    }
}
