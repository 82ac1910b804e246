//! The fleet's shared bookkeeping ([`FleetStore`]): which nodes there are, each with its
//! last heartbeat, and leases on work that must run once across the fleet (the async
//! dispatcher's claims, retention sweeps, code collection; later schedules and queue
//! pollers). A lease is a row with a holder and an expiry on the store's own clock (the
//! database's, on PostgreSQL, so that nodes' clocks need not agree), taken atomically by
//! one statement; its token grows with every change of holder, so work done under a
//! lease can be fenced: a node that lost its lease while cut off finds a newer token
//! when it comes back and must not act on the old one. On the embedded store there is
//! one node, and the same rows serve its own singletons.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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
    /// The silence after which it counts as gone, as it declared (ms): every node judges
    /// a node by the node's own timeout, so that none takes its work over before the
    /// node itself has stopped counting on it.
    pub timeout_ms: i64,
    /// Asked to take no new work (`hearth nodes drain`).
    pub draining: bool,
}

impl NodeRecord {
    /// Whether the node is gone at store time `now_ms`.
    pub fn gone_at(&self, now_ms: i64) -> bool {
        now_ms - self.seen_ms > self.timeout_ms
    }
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

/// Whether this node may act on the work it holds in the store (the async events it
/// claimed): only while its heartbeats are current. Another node takes a node's work
/// over once the node's last heartbeat, on the store's clock, is older than the node's
/// timeout; the node itself stops a margin sooner, counting on its own monotonic clock
/// from the moment it *sent* its last successful heartbeat (which the store recorded no
/// earlier). So a node cut off from the store has stopped before anyone takes over,
/// whatever the two clocks read, as long as they run at about the same rate. Cheap to
/// clone; every clone is the same standing.
#[derive(Clone)]
pub struct Standing(Arc<StandingState>);

struct StandingState {
    /// Until when (ms after [`base`], on the monotonic clock); `i64::MAX`: always.
    until: AtomicI64,
    /// Asked to take no new work.
    draining: AtomicBool,
    /// How many heartbeats found the standing lapsed (see [`Standing::lapses`]).
    lapses: AtomicU64,
}

/// The origin of [`Standing`]'s clock.
fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

fn mono_ms(t: Instant) -> i64 {
    i64::try_from(t.saturating_duration_since(base()).as_millis()).unwrap_or(i64::MAX)
}

impl Standing {
    /// Not in good standing until its first heartbeat.
    pub fn new() -> Self {
        base();
        Self(Arc::new(StandingState {
            until: AtomicI64::new(0),
            draining: AtomicBool::new(false),
            lapses: AtomicU64::new(0),
        }))
    }

    /// Always in good standing: a process that is the only one to use its store (tests).
    pub fn always() -> Self {
        let s = Self::new();
        s.0.until.store(i64::MAX, Ordering::SeqCst);
        s
    }

    /// A heartbeat sent at `sent` succeeded: good until `sent + valid_for`.
    pub fn beat(&self, sent: Instant, valid_for: Duration) {
        let until = mono_ms(sent).saturating_add(ttl_ms(valid_for));
        // Counted before the new term shows, so that whoever sees the standing good
        // again also sees that it lapsed.
        if !self.is_good() {
            self.0.lapses.fetch_add(1, Ordering::SeqCst);
        }
        self.0.until.fetch_max(until, Ordering::SeqCst);
    }

    /// How many times a heartbeat found the standing lapsed (the first heartbeat
    /// included). A holder that saw a different count when it last looked may hold in
    /// memory what others took over meanwhile, even if it never saw the lapse itself (it
    /// was waiting on something else the whole time): it must let that go and read back
    /// what is still its own.
    pub fn lapses(&self) -> u64 {
        self.0.lapses.load(Ordering::SeqCst)
    }

    /// Whether the node may act on its work now.
    pub fn is_good(&self) -> bool {
        mono_ms(Instant::now()) < self.0.until.load(Ordering::SeqCst)
    }

    /// Records whether the node was asked to drain (as its last heartbeat read it).
    pub fn set_draining(&self, draining: bool) {
        self.0.draining.store(draining, Ordering::SeqCst);
    }

    /// Whether the node was asked to take no new work.
    pub fn draining(&self) -> bool {
        self.0.draining.load(Ordering::SeqCst)
    }
}

impl Default for Standing {
    fn default() -> Self {
        Self::new()
    }
}

/// See the module documentation.
pub trait FleetStore: Send + Sync {
    /// The store's clock in ms since the epoch (the one leases and heartbeats use).
    fn store_time_ms(&self) -> Result<i64, StoreError>;
    /// Registers or refreshes node `id` (a heartbeat) that counts as gone after
    /// `timeout` of silence. A drain asked for stays asked for.
    fn heartbeat(
        &self,
        id: &str,
        address: &str,
        info: &str,
        timeout: Duration,
    ) -> Result<NodeRecord, StoreError>;
    /// Asks node `id` to take no new work (or to take it again); false if no such node.
    fn set_draining(&self, id: &str, draining: bool) -> Result<bool, StoreError>;
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
    /// Whether other nodes may share this store (PostgreSQL), so that what must hold for
    /// the fleet (concurrency limits) must be agreed through it; false on the embedded
    /// store, whose one node keeps such counts in memory.
    fn shared(&self) -> bool;
    /// Sets `node`'s tokens of `scope` (see `crate::tokens`) to as many of `want` as the
    /// other nodes' unexpired tokens leave of `limit`, until `ttl` from now on the
    /// store's clock: takes, grows, shrinks (gives back) and renews in one atomic step,
    /// and answers how many it holds now (none: its row is gone).
    fn lease_tokens(
        &self,
        scope: &str,
        node: &str,
        want: i64,
        limit: i64,
        ttl: Duration,
    ) -> Result<i64, StoreError>;
    /// The unexpired tokens of `scope`, by node (in node order).
    fn token_leases(&self, scope: &str) -> Result<Vec<crate::TokenLease>, StoreError>;
}

/// The nodes and leases tables (SQLite migration 6, with the columns of
/// [`SQLITE_SCHEMA_2`]; PostgreSQL's in `pg/fleet.rs`).
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

/// Each node's own timeout and its drain (SQLite migration 7).
pub(crate) const SQLITE_SCHEMA_2: &str = "
ALTER TABLE fleet_nodes ADD COLUMN timeout_ms INTEGER NOT NULL DEFAULT 10000;
ALTER TABLE fleet_nodes ADD COLUMN draining INTEGER NOT NULL DEFAULT 0;
";

/// The columns of a node row, in [`NodeRecord`]'s order.
pub(crate) const NODE_COLUMNS: &str =
    "id, address, info, registered_ms, seen_ms, timeout_ms, draining";

pub(crate) fn now_ms() -> i64 {
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
        timeout_ms: r.get(5)?,
        draining: r.get(6)?,
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

    fn heartbeat(
        &self,
        id: &str,
        address: &str,
        info: &str,
        timeout: Duration,
    ) -> Result<NodeRecord, StoreError> {
        let now = now_ms();
        Ok(self.conn().query_row(
            &format!(
                "INSERT INTO fleet_nodes (id, address, info, registered_ms, seen_ms, timeout_ms)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5)
                 ON CONFLICT (id) DO UPDATE SET address = excluded.address,
                     info = excluded.info, seen_ms = excluded.seen_ms,
                     timeout_ms = excluded.timeout_ms
                 RETURNING {NODE_COLUMNS}"
            ),
            params![id, address, info, now, ttl_ms(timeout)],
            node,
        )?)
    }

    fn set_draining(&self, id: &str, draining: bool) -> Result<bool, StoreError> {
        Ok(self.conn().execute(
            "UPDATE fleet_nodes SET draining = ?2 WHERE id = ?1",
            params![id, draining],
        )? > 0)
    }

    fn nodes(&self) -> Result<Vec<NodeRecord>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {NODE_COLUMNS} FROM fleet_nodes ORDER BY id"
        ))?;
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

    fn shared(&self) -> bool {
        false
    }

    fn lease_tokens(
        &self,
        scope: &str,
        node: &str,
        want: i64,
        limit: i64,
        ttl: Duration,
    ) -> Result<i64, StoreError> {
        self.lease_tokens_sqlite(scope, node, want, limit, ttl)
    }

    fn token_leases(&self, scope: &str) -> Result<Vec<crate::TokenLease>, StoreError> {
        self.token_leases_sqlite(scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_heartbeat_after_a_lapse_counts_it() {
        let s = Standing::new();
        s.beat(Instant::now(), Duration::from_millis(30));
        assert_eq!(
            s.lapses(),
            1,
            "the first heartbeat ends the lapse before it"
        );
        s.beat(Instant::now(), Duration::from_millis(30));
        assert_eq!(s.lapses(), 1, "a heartbeat in standing is no lapse");
        std::thread::sleep(Duration::from_millis(60));
        assert!(!s.is_good());
        s.beat(Instant::now(), Duration::from_secs(60));
        assert!(s.is_good());
        assert_eq!(s.lapses(), 2);
    }

    #[test]
    fn a_standing_lasts_from_the_heartbeats_sending() {
        let s = Standing::new();
        assert!(!s.is_good(), "not before a heartbeat");
        // The clock's origin well behind the instants below.
        std::thread::sleep(Duration::from_millis(150));
        s.beat(Instant::now(), Duration::from_secs(60));
        assert!(s.is_good());
        // A heartbeat sent long ago (its answer came late) gives nothing more.
        let late = Standing::new();
        late.beat(
            Instant::now() - Duration::from_millis(50),
            Duration::from_millis(40),
        );
        assert!(!late.is_good());
        // An older heartbeat's late answer does not shorten a newer one's.
        s.beat(
            Instant::now() - Duration::from_secs(100),
            Duration::from_secs(1),
        );
        assert!(s.is_good());
        assert!(Standing::always().is_good());
        assert_eq!(Standing::always().lapses(), 0);
        s.set_draining(true);
        assert!(s.clone().draining());
    }
}
