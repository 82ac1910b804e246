//! The fleet's shared bookkeeping ([`FleetStore`]): which nodes there are, each with its
//! last heartbeat, and leases on work that must run once across the fleet (the async
//! dispatcher's claims, retention sweeps, code collection; later schedules and queue
//! pollers). A lease is a row with a holder and an expiry on the store's own clock (the
//! database's, on PostgreSQL, so that nodes' clocks need not agree), taken atomically by
//! one statement; its token grows with every change of holder, so work done under a
//! lease can be fenced: a node that lost its lease while cut off finds a newer token
//! when it comes back and must not act on the old one. On the embedded store there is
//! one node, and the same rows serve its own singletons.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, OptionalExtension};

use crate::{SqliteStore, StoreError};

/// A node as it last registered itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRecord {
    pub id: String,
    /// Where other nodes reach it (`host:port`).
    pub address: String,
    /// What it told of itself at its last heartbeat (JSON: capacity, runtimes, state).
    pub info: String,
    /// Its first heartbeat since it last registered, on the store's clock (ms).
    pub registered_ms: i64,
    /// Its last heartbeat, on the store's clock (ms).
    pub seen_ms: i64,
}

/// A lease on work that must run once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub name: String,
    pub holder: String,
    /// Grows with every change of holder (never with a renewal): the fencing token.
    pub token: i64,
    /// When it lapses unless renewed, on the store's clock (ms).
    pub expires_ms: i64,
}

/// See the module documentation.
pub trait FleetStore: Send + Sync {
    /// The store's clock in ms since the epoch (the one leases and heartbeats use).
    fn store_time_ms(&self) -> Result<i64, StoreError>;
    /// Registers or refreshes node `id` (a heartbeat).
    fn heartbeat(&self, id: &str, address: &str, info: &str) -> Result<NodeRecord, StoreError>;
    /// Every registered node, in id order.
    fn nodes(&self) -> Result<Vec<NodeRecord>, StoreError>;
    /// Removes a node's registration; false if there was none.
    fn forget_node(&self, id: &str) -> Result<bool, StoreError>;
    /// Takes lease `name` for `holder` for `ttl`, or renews it if `holder` has it:
    /// `Some` with the lease `holder` now holds, `None` if another holds it unexpired.
    fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, StoreError>;
    /// Gives lease `name` up if `holder` has it (it lapses at once); false if not.
    fn release_lease(&self, name: &str, holder: &str) -> Result<bool, StoreError>;
    /// The lease `name` as it stands (perhaps lapsed: compare with
    /// [`FleetStore::store_time_ms`]).
    fn lease(&self, name: &str) -> Result<Option<Lease>, StoreError>;
}

/// The nodes and leases tables (SQLite migration 6; PostgreSQL's in `pg/fleet.rs`).
pub(crate) const SQLITE_SCHEMA: &str = "
CREATE TABLE fleet_nodes (
    id TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    info TEXT NOT NULL,
    registered_ms INTEGER NOT NULL,
    seen_ms INTEGER NOT NULL
);
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    token INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
);
";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

pub(crate) fn ttl_ms(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2)
}

fn node(r: &rusqlite::Row<'_>) -> rusqlite::Result<NodeRecord> {
    Ok(NodeRecord {
        id: r.get(0)?,
        address: r.get(1)?,
        info: r.get(2)?,
        registered_ms: r.get(3)?,
        seen_ms: r.get(4)?,
    })
}

fn lease(r: &rusqlite::Row<'_>) -> rusqlite::Result<Lease> {
    Ok(Lease {
        name: r.get(0)?,
        holder: r.get(1)?,
        token: r.get(2)?,
        expires_ms: r.get(3)?,
    })
}

impl FleetStore for SqliteStore {
    fn store_time_ms(&self) -> Result<i64, StoreError> {
        Ok(now_ms())
    }

    fn heartbeat(&self, id: &str, address: &str, info: &str) -> Result<NodeRecord, StoreError> {
        let now = now_ms();
        Ok(self.conn().query_row(
            "INSERT INTO fleet_nodes (id, address, info, registered_ms, seen_ms)
             VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT (id) DO UPDATE SET address = excluded.address,
                 info = excluded.info, seen_ms = excluded.seen_ms
             RETURNING id, address, info, registered_ms, seen_ms",
            params![id, address, info, now],
            node,
        )?)
    }

    fn nodes(&self) -> Result<Vec<NodeRecord>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, address, info, registered_ms, seen_ms FROM fleet_nodes ORDER BY id",
        )?;
        let rows = stmt.query_map([], node)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn forget_node(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn()
            .execute("DELETE FROM fleet_nodes WHERE id = ?1", params![id])?
            > 0)
    }

    fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, StoreError> {
        let now = now_ms();
        // One statement: the row is taken, renewed or left as it is atomically.
        Ok(self
            .conn()
            .query_row(
                "INSERT INTO leases (name, holder, token, expires_ms) VALUES (?1, ?2, 1, ?3)
                 ON CONFLICT (name) DO UPDATE SET
                     token = CASE WHEN leases.holder = excluded.holder THEN leases.token
                                  ELSE leases.token + 1 END,
                     holder = excluded.holder,
                     expires_ms = excluded.expires_ms
                 WHERE leases.holder = excluded.holder OR leases.expires_ms <= ?4
                 RETURNING name, holder, token, expires_ms",
                params![name, holder, now.saturating_add(ttl_ms(ttl)), now],
                lease,
            )
            .optional()?)
    }

    fn release_lease(&self, name: &str, holder: &str) -> Result<bool, StoreError> {
        // Kept (with its token) but lapsed, so that the next holder's token is higher.
        Ok(self.conn().execute(
            "UPDATE leases SET expires_ms = ?3 WHERE name = ?1 AND holder = ?2 AND expires_ms > ?3",
            params![name, holder, now_ms()],
        )? > 0)
    }

    fn lease(&self, name: &str) -> Result<Option<Lease>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT name, holder, token, expires_ms FROM leases WHERE name = ?1",
                params![name],
                lease,
            )
            .optional()?)
    }
}
