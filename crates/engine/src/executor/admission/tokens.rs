//! A node's tokens in a fleet (see `hearth_store::FleetStore::lease_tokens` and
//! docs/concurrency.md): the node admits an invocation only on a token it holds of the
//! limit's scope (a function's reserved concurrency, or its account's unreserved pool),
//! so the fleet's busy environments never exceed what the store handed out.
//!
//! - A node short of tokens asks for exactly what it uses plus what is waiting, one
//!   request at a time per node (so the store sees its requests in the order their
//!   answers are applied), and throttles what the answer does not cover.
//! - At each heartbeat it renews what it keeps and gives back the rest: it keeps the
//!   peak it used since the last heartbeat (idle tokens go back after one quiet period,
//!   so load that moved to another node finds them there).
//! - It uses a token only until its lease's time-to-live, counted from when the request
//!   was sent, less a margin, on its own monotonic clock: by then the store's copy,
//!   counted from when the store wrote it (no earlier), has not lapsed yet.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hearth_store::{Standing, Store};

use super::{Admission, Permit, Refused};
use crate::error::{EngineError, Throttle};

/// What a node's tokens are counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Scope {
    /// A function's reserved concurrency (its key).
    Reserved(String),
    /// An account's unreserved pool.
    Unreserved(String),
}

impl Scope {
    /// Its name in the store.
    fn key(&self) -> String {
        match self {
            Self::Reserved(f) => format!("reserved/{f}"),
            Self::Unreserved(a) => format!("unreserved/{a}"),
        }
    }
}

/// The tokens a node holds of one scope.
#[derive(Debug, Clone)]
pub(crate) struct Holding {
    held: i64,
    /// When this node stops using them (its own clock).
    until: Instant,
    /// The most in use at once since the last renewal.
    peak: i64,
    /// Invocations waiting for this node's next request.
    waiting: i64,
    /// Invocations that ever waited here (each waiter's ticket is the count after its
    /// own).
    registered: u64,
    /// The tickets the last answered request counted among the waiting (all up to it).
    covered: u64,
}

impl Holding {
    fn new() -> Self {
        Self {
            held: 0,
            until: Instant::now(),
            peak: 0,
            waiting: 0,
            registered: 0,
            covered: 0,
        }
    }

    /// Whether one more invocation may start with `in_use` already running.
    pub(super) fn usable(&self, in_use: i64) -> bool {
        in_use < self.held && Instant::now() < self.until
    }

    pub(super) fn used(&mut self, in_use: i64) {
        self.peak = self.peak.max(in_use);
    }
}

/// How many tokens to ask for when short: what runs and what waits, within the limit.
fn want_when_short(in_use: i64, waiting: i64, limit: i64) -> i64 {
    (in_use + waiting).min(limit)
}

/// How many tokens to keep at a renewal: the peak since the last one, never less than
/// what runs and waits now, within the limit; the rest goes back.
fn want_at_renewal(in_use: i64, waiting: i64, peak: i64, limit: i64) -> i64 {
    (in_use + waiting).max(peak).min(limit)
}

/// How long a node may use tokens leased for `ttl`: the rest is a margin for the clocks'
/// rates and the moment between checking and admitting (as `crate::fleet`'s standing).
fn good_for(ttl: Duration) -> Duration {
    ttl - ttl / 5
}

/// What a node gives its admission when it joins a fleet on a shared store.
pub(crate) struct FleetTokens {
    pub store: Store,
    pub node: String,
    /// How long a lease of tokens lasts unless renewed (the node's timeout).
    pub ttl: Duration,
    pub standing: Standing,
}

pub(crate) struct Fleet {
    store: Store,
    node: String,
    ttl: Duration,
    standing: Standing,
    /// One request to the store at a time: answers are applied in the store's order.
    asking: tokio::sync::Mutex<()>,
    /// The node left the fleet (a clean stop): it admits nothing more.
    left: AtomicBool,
}

impl Fleet {
    /// Whether the node may admit on its tokens at all: a node whose heartbeats are not
    /// current may hold tokens that have lapsed in the store, and a node that left has
    /// given them back.
    pub(super) fn admits(&self) -> bool {
        self.standing.is_good() && !self.left.load(Ordering::SeqCst)
    }
}

impl Admission {
    /// Admits against fleet-wide tokens from now on (once).
    pub(crate) fn join_fleet(&self, t: FleetTokens) {
        let _ = self.fleet.set(Fleet {
            store: t.store,
            node: t.node,
            ttl: t.ttl,
            standing: t.standing,
            asking: tokio::sync::Mutex::new(()),
            left: AtomicBool::new(false),
        });
    }

    /// Asks the store for the tokens `function` needs, then admits it or throttles it.
    pub(super) async fn admit_with_more_tokens(
        self: &Arc<Self>,
        function: &str,
        scope: Scope,
        throttle: Throttle,
    ) -> Result<Permit, EngineError> {
        let Some(fleet) = self.fleet.get() else {
            return Err(EngineError::Throttled(throttle));
        };
        let ticket = self.wait(&scope);
        let turn = fleet.asking.lock().await;
        // If a request answered while this one waited counted it among the waiting and
        // did not bring enough, the fleet had none to spare: asking again now would only
        // make a throttle wait for one more round trip.
        let mut admitted = self.try_admit(function);
        let counted = self
            .lock()
            .holdings
            .get(&scope)
            .is_some_and(|h| h.covered >= ticket);
        if matches!(admitted, Err(Refused::Short(..))) && !counted {
            let (key, want, limit, covered) = {
                let s = self.lock();
                let limit = self.scope_limit(&s, &scope);
                let (waiting, covered) = s
                    .holdings
                    .get(&scope)
                    .map_or((0, 0), |h| (h.waiting, h.registered));
                let in_use = Self::in_use(&s, &scope);
                let want = want_when_short(in_use, waiting, limit);
                (scope.key(), want, limit, covered)
            };
            self.lease(fleet, &scope, key, want, limit, covered).await;
            admitted = self.try_admit(function);
        }
        drop(turn);
        self.done_waiting(&scope);
        admitted.map_err(|r| match r {
            Refused::Throttled(t) | Refused::Short(_, t) => EngineError::Throttled(t),
        })
    }

    /// Counts an invocation among the waiting; answers its ticket.
    fn wait(&self, scope: &Scope) -> u64 {
        let mut s = self.lock();
        let h = s.holdings.entry(scope.clone()).or_insert_with(Holding::new);
        h.waiting += 1;
        h.registered += 1;
        h.registered
    }

    fn done_waiting(&self, scope: &Scope) {
        if let Some(h) = self.lock().holdings.get_mut(scope) {
            h.waiting -= 1;
        }
    }

    /// Sets this node's tokens of `scope` to `want` if the store grants them, and
    /// records what it granted and that it counted the waiters up to ticket `covered`.
    /// The caller holds `fleet.asking`.
    async fn lease(
        &self,
        fleet: &Fleet,
        scope: &Scope,
        key: String,
        want: i64,
        limit: i64,
        covered: u64,
    ) {
        let (store, node, ttl) = (fleet.store.clone(), fleet.node.clone(), fleet.ttl);
        let sent = Instant::now();
        let answer = tokio::task::spawn_blocking(move || {
            store.fleet().lease_tokens(&key, &node, want, limit, ttl)
        })
        .await;
        let mut s = self.lock();
        let h = s.holdings.entry(scope.clone()).or_insert_with(Holding::new);
        match answer {
            Ok(Ok(granted)) => {
                h.held = granted;
                h.until = sent + good_for(ttl);
                h.covered = h.covered.max(covered);
            }
            Ok(Err(e)) => tracing::warn!(error = %e, scope = ?scope, "could not lease tokens"),
            Err(e) => tracing::warn!(error = %e, scope = ?scope, "could not lease tokens"),
        }
    }

    /// At each heartbeat: reads the reservations again (another node may have changed
    /// them), renews the tokens this node keeps and gives back the rest.
    pub(crate) async fn renew_tokens(self: &Arc<Self>) {
        let Some(fleet) = self.fleet.get() else {
            return;
        };
        let _turn = fleet.asking.lock().await;
        let store = fleet.store.clone();
        match tokio::task::spawn_blocking(move || store.metadata().all_reserved()).await {
            Ok(Ok(reserved)) => self.lock().set_all_reserved(reserved),
            Ok(Err(e)) => tracing::warn!(error = %e, "could not read reservations"),
            Err(e) => tracing::warn!(error = %e, "could not read reservations"),
        }
        let plans: Vec<(Scope, i64, i64, u64)> = {
            let mut s = self.lock();
            let scopes: Vec<Scope> = s.holdings.keys().cloned().collect();
            scopes
                .into_iter()
                .map(|scope| {
                    let in_use = Self::in_use(&s, &scope);
                    let limit = self.scope_limit(&s, &scope);
                    let h = s.holdings.get_mut(&scope).expect("listed");
                    let want = want_at_renewal(in_use, h.waiting, h.peak, limit);
                    h.peak = in_use;
                    (scope, want, limit, h.registered)
                })
                .collect()
        };
        for (scope, want, limit, covered) in plans {
            self.lease(fleet, &scope, scope.key(), want, limit, covered)
                .await;
            let mut s = self.lock();
            if s.holdings
                .get(&scope)
                .is_some_and(|h| h.held == 0 && h.waiting == 0)
            {
                s.holdings.remove(&scope);
            }
        }
    }

    /// Gives back every token not in use (a clean stop), and admits nothing more: the
    /// tokens of invocations still running (async events past the stop's grace) stay
    /// leased, and lapse with the lease once the node is gone. Blocking.
    pub(crate) fn give_back_tokens(&self) {
        let Some(fleet) = self.fleet.get() else {
            return;
        };
        fleet.left.store(true, Ordering::SeqCst);
        let keep: Vec<(Scope, i64, i64)> = {
            let mut s = self.lock();
            let scopes: Vec<Scope> = s.holdings.drain().map(|(k, _)| k).collect();
            scopes
                .into_iter()
                .map(|scope| {
                    let (in_use, limit) = (Self::in_use(&s, &scope), self.scope_limit(&s, &scope));
                    (scope, in_use, limit)
                })
                .collect()
        };
        for (scope, in_use, limit) in keep {
            if let Err(e) = fleet.store.fleet().lease_tokens(
                &scope.key(),
                &fleet.node,
                in_use,
                limit,
                fleet.ttl,
            ) {
                tracing::warn!(error = %e, scope = ?scope, "could not give tokens back");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_node_asks_for_what_runs_and_waits_within_the_limit() {
        assert_eq!(want_when_short(2, 1, 5), 3);
        assert_eq!(want_when_short(2, 5, 5), 5);
        assert_eq!(
            want_when_short(0, 1, 0),
            0,
            "a reservation of 0 asks for none"
        );
    }

    #[test]
    fn a_renewal_keeps_the_peak_and_gives_back_the_rest() {
        assert_eq!(
            want_at_renewal(0, 0, 3, 5),
            3,
            "used since the last renewal"
        );
        assert_eq!(
            want_at_renewal(0, 0, 0, 5),
            0,
            "idle for a period: all back"
        );
        assert_eq!(want_at_renewal(2, 0, 0, 5), 2, "what runs is kept");
        assert_eq!(want_at_renewal(2, 2, 3, 5), 4, "and what waits");
        assert_eq!(want_at_renewal(4, 0, 4, 2), 2, "a lowered limit");
    }

    fn fleet_node(store: &Store, node: &str) -> Arc<Admission> {
        let a = Arc::new(Admission::new(10, [("f".to_string(), 2)]));
        a.join_fleet(FleetTokens {
            store: store.clone(),
            node: node.into(),
            ttl: Duration::from_secs(60),
            standing: Standing::always(),
        });
        a
    }

    /// Two nodes on one store share a reservation of 2: together they never admit
    /// more, and the tokens move to the node with the load once the other renews.
    #[tokio::test]
    async fn two_nodes_share_one_reservation() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let (a, b) = (fleet_node(&store, "a"), fleet_node(&store, "b"));
        let a1 = a.admit("f").await.expect("a's first");
        let b1 = b.admit("f").await.expect("b's first");
        assert!(matches!(
            a.admit("f").await,
            Err(EngineError::Throttled(Throttle::ReservedConcurrency))
        ));
        assert!(b.admit("f").await.is_err(), "both tokens are out");
        // The unreserved pool is a scope of its own (10 - 2).
        let mut pool = Vec::new();
        for _ in 0..8 {
            pool.push(a.admit("g").await.expect("unreserved"));
        }
        assert!(matches!(
            b.admit("g").await,
            Err(EngineError::Throttled(Throttle::AccountConcurrency))
        ));
        drop(pool);
        // b's token, idle, stays b's until b renews twice (its peak, then nothing).
        drop(b1);
        assert!(a.admit("f").await.is_err(), "b still holds its idle token");
        b.renew_tokens().await;
        b.renew_tokens().await;
        let a2 = a.admit("f").await.expect("b gave its token back");
        drop((a1, a2));
        a.renew_tokens().await;
        a.renew_tokens().await;
        let _b = (
            b.admit("f").await.expect("a gave both back"),
            b.admit("f").await.expect("a gave both back"),
        );
    }

    /// Invocations arriving together on one node, each short of a token, are all
    /// admitted while the limit has room: one that came after a request was made asks
    /// again rather than being throttled by that request's answer.
    #[tokio::test]
    async fn invocations_arriving_together_all_get_tokens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let a = fleet_node(&store, "a");
        let (p1, p2) = tokio::join!(a.admit("f"), a.admit("f"));
        let (_p1, _p2) = (p1.expect("first"), p2.expect("second"));
        let (p3, p4) = tokio::join!(a.admit("f"), a.admit("f"));
        assert!(p3.is_err() && p4.is_err(), "the reservation of 2 is used");
    }

    /// A node that leaves keeps the tokens of what still runs (they lapse with its
    /// lease), gives the rest back, and admits nothing more.
    #[tokio::test]
    async fn a_node_leaving_keeps_only_what_runs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let (a, b) = (fleet_node(&store, "a"), fleet_node(&store, "b"));
        let running = a.admit("f").await.expect("a's first");
        let idle = a.admit("f").await.expect("a's second");
        drop(idle);
        a.give_back_tokens();
        assert!(a.admit("f").await.is_err(), "a left");
        let _b = b.admit("f").await.expect("the idle token came back");
        assert!(
            b.admit("f").await.is_err(),
            "the running one's token stays a's"
        );
        drop(running);
    }

    /// A node whose heartbeats are not current admits nothing on its tokens.
    #[tokio::test]
    async fn a_node_out_of_standing_admits_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let a = Arc::new(Admission::new(10, []));
        a.join_fleet(FleetTokens {
            store,
            node: "a".into(),
            ttl: Duration::from_secs(60),
            standing: Standing::new(),
        });
        assert!(a.admit("g").await.is_err());
    }
}
