//! Nodes and leases on PostgreSQL ([`FleetStore`], see `crate::fleet`): the same rows as
//! the embedded store's, on the database's clock (`clock_timestamp()`), so that the
//! nodes' own clocks need not agree for a lease to lapse when it should.

use std::time::Duration;

use super::{backend, wait, PgStore};
use crate::fleet::{ttl_ms, FleetStore, Lease, NodeRecord, NODE_COLUMNS};
use crate::StoreError;

/// This area's tables, part of the first migration ([`super::migrations`]).
pub(super) const SCHEMA: &str = "
CREATE TABLE fleet_nodes (
    id TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    info TEXT NOT NULL,
    registered_ms BIGINT NOT NULL,
    seen_ms BIGINT NOT NULL
);
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    token BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
";

/// Each node's own timeout and its drain (migration 2).
pub(super) const SCHEMA_2: &str = "
ALTER TABLE fleet_nodes ADD COLUMN timeout_ms BIGINT NOT NULL DEFAULT 10000;
ALTER TABLE fleet_nodes ADD COLUMN draining BOOLEAN NOT NULL DEFAULT false;
";

/// The database's clock in ms, as SQL.
pub(super) const NOW_MS: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

fn node(r: &tokio_postgres::Row) -> NodeRecord {
    NodeRecord {
        id: r.get(0),
        address: r.get(1),
        info: r.get(2),
        registered_ms: r.get(3),
        seen_ms: r.get(4),
        timeout_ms: r.get(5),
        draining: r.get(6),
    }
}

fn lease(r: &tokio_postgres::Row) -> Lease {
    Lease {
        name: r.get(0),
        holder: r.get(1),
        token: r.get(2),
        expires_ms: r.get(3),
    }
}

impl FleetStore for PgStore {
    fn store_time_ms(&self) -> Result<i64, StoreError> {
        let c = self.conn()?;
        let row = wait(c.query_one(&format!("SELECT {NOW_MS}"), &[])).map_err(backend)?;
        Ok(row.get(0))
    }

    fn heartbeat(
        &self,
        id: &str,
        address: &str,
        info: &str,
        timeout: Duration,
    ) -> Result<NodeRecord, StoreError> {
        let c = self.conn()?;
        let row = wait(c.query_one(
            &format!(
                "INSERT INTO fleet_nodes (id, address, info, registered_ms, seen_ms, timeout_ms)
                 VALUES ($1, $2, $3, {NOW_MS}, {NOW_MS}, $4)
                 ON CONFLICT (id) DO UPDATE SET address = EXCLUDED.address,
                     info = EXCLUDED.info, seen_ms = EXCLUDED.seen_ms,
                     timeout_ms = EXCLUDED.timeout_ms
                 RETURNING {NODE_COLUMNS}"
            ),
            &[&id, &address, &info, &ttl_ms(timeout)],
        ))
        .map_err(backend)?;
        Ok(node(&row))
    }

    fn set_draining(&self, id: &str, draining: bool) -> Result<bool, StoreError> {
        let c = self.conn()?;
        let n = wait(c.execute(
            "UPDATE fleet_nodes SET draining = $2 WHERE id = $1",
            &[&id, &draining],
        ))
        .map_err(backend)?;
        Ok(n > 0)
    }

    fn nodes(&self) -> Result<Vec<NodeRecord>, StoreError> {
        let c = self.conn()?;
        let rows = wait(c.query(
            &format!("SELECT {NODE_COLUMNS} FROM fleet_nodes ORDER BY id"),
            &[],
        ))
        .map_err(backend)?;
        Ok(rows.iter().map(node).collect())
    }

    fn forget_node(&self, id: &str) -> Result<bool, StoreError> {
        let c = self.conn()?;
        let n =
            wait(c.execute("DELETE FROM fleet_nodes WHERE id = $1", &[&id])).map_err(backend)?;
        Ok(n > 0)
    }

    fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, StoreError> {
        let c = self.conn()?;
        // One statement: ON CONFLICT locks the row, so two nodes racing for a lapsed
        // lease cannot both take it.
        let row = wait(c.query_opt(
            &format!(
                "INSERT INTO leases (name, holder, token, expires_ms)
                 VALUES ($1, $2, 1, {NOW_MS} + $3)
                 ON CONFLICT (name) DO UPDATE SET
                     token = CASE WHEN leases.holder = EXCLUDED.holder THEN leases.token
                                  ELSE leases.token + 1 END,
                     holder = EXCLUDED.holder,
                     expires_ms = EXCLUDED.expires_ms
                 WHERE leases.holder = EXCLUDED.holder OR leases.expires_ms <= {NOW_MS}
                 RETURNING name, holder, token, expires_ms"
            ),
            &[&name, &holder, &ttl_ms(ttl)],
        ))
        .map_err(backend)?;
        Ok(row.as_ref().map(lease))
    }

    fn release_lease(&self, name: &str, holder: &str) -> Result<bool, StoreError> {
        let c = self.conn()?;
        let n = wait(c.execute(
            &format!(
                "UPDATE leases SET expires_ms = {NOW_MS}
                 WHERE name = $1 AND holder = $2 AND expires_ms > {NOW_MS}"
            ),
            &[&name, &holder],
        ))
        .map_err(backend)?;
        Ok(n > 0)
    }

    fn lease(&self, name: &str) -> Result<Option<Lease>, StoreError> {
        let c = self.conn()?;
        let row = wait(c.query_opt(
            "SELECT name, holder, token, expires_ms FROM leases WHERE name = $1",
            &[&name],
        ))
        .map_err(backend)?;
        Ok(row.as_ref().map(lease))
    }

    fn shared(&self) -> bool {
        true
    }

    fn lease_tokens(
        &self,
        scope: &str,
        node: &str,
        want: i64,
        limit: i64,
        ttl: Duration,
    ) -> Result<i64, StoreError> {
        self.lease_tokens_pg(scope, node, want, limit, ttl)
    }

    fn token_leases(&self, scope: &str) -> Result<Vec<crate::TokenLease>, StoreError> {
        self.token_leases_pg(scope)
    }
}
