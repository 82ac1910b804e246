//! Where a synchronous invoke runs in a fleet (issue 21 §3): each function version has a
//! home set of nodes, chosen by rendezvous (highest random weight) hashing of its key
//! over the live nodes that are not draining, so that its warm environments gather on
//! few nodes and a node joining or leaving moves only the functions it gains or loses.
//! An invoke goes to the first node of that order with capacity (its home), else to the
//! least loaded other node with capacity, else runs where it arrived.
//!
//! The view of the fleet is kept in memory and replaced at each heartbeat (from the
//! nodes' rows and the capacity they publish), so choosing a node costs no store round
//! trip. A node that could not be reached is left out for a while ([`AVOID_FOR`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use hearth_model::FunctionRef;
use hearth_store::NodeRecord;

/// How many nodes of a function's order are its home.
pub const HOME_SET: usize = 2;

/// How long a node that could not be reached is not forwarded to.
pub const AVOID_FOR: Duration = Duration::from_secs(10);

/// A node an invoke may be forwarded to, as its last heartbeat described it.
#[derive(Debug, Clone, PartialEq)]
pub struct Peer {
    pub id: String,
    /// `host:port` (the node's `--advertise`).
    pub address: String,
    /// `http` or `https`, as the node serves.
    pub scheme: String,
    /// Environments busy with an invocation.
    pub busy: i64,
    /// How many invocations it runs at once at most.
    pub max_concurrency: i64,
}

impl Peer {
    /// Whether it can take one more invocation.
    pub fn has_capacity(&self) -> bool {
        self.busy < self.max_concurrency
    }

    /// Its busy share of what it can run.
    pub fn load(&self) -> f64 {
        self.busy as f64 / self.max_concurrency.max(1) as f64
    }

    /// The peer a node row describes, if it is live, not draining and publishes where
    /// and how much it runs.
    pub fn of(record: &NodeRecord, now_ms: i64) -> Option<Self> {
        if record.draining || record.gone_at(now_ms) {
            return None;
        }
        let info: serde_json::Value = serde_json::from_str(&record.info).ok()?;
        Some(Self {
            id: record.id.clone(),
            address: record.address.clone(),
            scheme: info.get("scheme")?.as_str()?.to_string(),
            busy: info.get("busyEnvironments")?.as_i64()?,
            max_concurrency: info.get("maxConcurrency")?.as_i64()?,
        })
    }
}

/// Where an invoke should run.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// On this node.
    Local,
    /// On the first of these that answers (in order), else on this node.
    Forward(Vec<Peer>),
}

/// An invoke to send to another node.
#[derive(Debug, Clone, PartialEq)]
pub struct Forward {
    /// The nodes to try, in order; this node runs it if none answers.
    pub peers: Vec<Peer>,
    /// The function's timeout: a forward unanswered well beyond it is lost.
    pub timeout: Duration,
}

/// A 64-bit mix of `node` and `key` (FNV-1a, then SplitMix64's finaliser for the
/// avalanche FNV lacks): the weight of a node for a key. Stable across processes and
/// versions, as every node of a fleet must compute the same order.
fn weight(node: &str, key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in node.bytes().chain([0u8]).chain(key.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// `nodes` in `key`'s rendezvous order (highest weight first; ids break ties).
pub fn rank<'a, T>(key: &str, nodes: &'a [T], id: impl Fn(&T) -> &str) -> Vec<&'a T> {
    let mut ranked: Vec<(u64, &T)> = nodes.iter().map(|n| (weight(id(n), key), n)).collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| id(a.1).cmp(id(b.1))));
    ranked.into_iter().map(|(_, n)| n).collect()
}

/// The order in which `peers` should be tried for `key`: its home set's nodes with
/// capacity in rendezvous order, then the others with capacity, least loaded first.
pub fn candidates(key: &str, peers: &[Peer]) -> Vec<Peer> {
    let ranked = rank(key, peers, |p| p.id.as_str());
    let (home, rest) = ranked.split_at(ranked.len().min(HOME_SET));
    let mut others: Vec<&Peer> = rest.iter().copied().filter(|p| p.has_capacity()).collect();
    others.sort_by(|a, b| a.load().total_cmp(&b.load()));
    home.iter()
        .copied()
        .filter(|p| p.has_capacity())
        .chain(others)
        .cloned()
        .collect()
}

/// This node's view of the fleet for placement: see the module documentation.
#[derive(Default)]
pub struct Placement {
    /// This node's id (once it joined) and the live, non-draining peers (itself
    /// included unless it drains).
    view: RwLock<Arc<(String, Vec<Peer>)>>,
    /// Nodes that could not be reached, until when they are left out.
    avoid: Mutex<HashMap<String, Instant>>,
    /// Whether this node serves HTTPS (published, so that others forward to it rightly).
    https: std::sync::atomic::AtomicBool,
}

impl Placement {
    /// `http` or `https`: how this node serves.
    pub fn scheme(&self) -> &'static str {
        if self.https.load(std::sync::atomic::Ordering::Relaxed) {
            "https"
        } else {
            "http"
        }
    }

    /// Replaces the view with the nodes as the store listed them at store time `now_ms`.
    pub fn refresh(&self, this: &str, nodes: &[NodeRecord], now_ms: i64) {
        let peers = nodes.iter().filter_map(|n| Peer::of(n, now_ms)).collect();
        *self.view.write().unwrap_or_else(|e| e.into_inner()) = Arc::new((this.to_string(), peers));
    }

    /// Where an invoke of `key` (a function key and the version it runs) should run,
    /// with this node busy with `busy_here` invocations now (its own count is fresher
    /// than its last heartbeat's).
    pub fn route(&self, key: &str, busy_here: i64) -> Route {
        let view = self.view.read().unwrap_or_else(|e| e.into_inner()).clone();
        let (this, peers) = (&view.0, &view.1);
        let now = Instant::now();
        let avoid = {
            let mut avoid = self.avoid.lock().unwrap_or_else(|e| e.into_inner());
            avoid.retain(|_, until| *until > now);
            avoid.clone()
        };
        let usable: Vec<Peer> = peers
            .iter()
            .filter(|p| !avoid.contains_key(&p.id))
            .map(|p| {
                let mut p = p.clone();
                if p.id == *this {
                    p.busy = busy_here;
                }
                p
            })
            .collect();
        let order = candidates(key, &usable);
        // Before this node in the order: forward; this node itself: run here. A node
        // that drains is not in the order, so it forwards to any node with capacity.
        let forward: Vec<Peer> = order.into_iter().take_while(|p| p.id != *this).collect();
        if forward.is_empty() {
            Route::Local
        } else {
            Route::Forward(forward)
        }
    }

    /// `id` could not be reached: left out of routes for [`AVOID_FOR`].
    pub fn avoid(&self, id: &str) {
        self.avoid
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_string(), Instant::now() + AVOID_FOR);
    }
}

/// The store's clock and its nodes, read once for everything a heartbeat refreshes (the
/// placement view, the provisioned spread); `None` (logged) if the store failed. Blocking.
pub(crate) fn read_nodes(store: &hearth_store::Store) -> Option<(i64, Vec<NodeRecord>)> {
    let fleet = store.fleet();
    match fleet
        .store_time_ms()
        .and_then(|now| Ok((now, fleet.nodes()?)))
    {
        Ok(read) => Some(read),
        Err(e) => {
            tracing::warn!(error = %e, "could not read the fleet's nodes");
            None
        }
    }
}

/// Replaces `placement`'s view with the store's nodes (blocking).
pub(crate) fn refresh(store: &hearth_store::Store, placement: &Placement, this: &str) {
    if let Some((now, nodes)) = read_nodes(store) {
        placement.refresh(this, &nodes, now);
    }
}

impl crate::Engine {
    /// Where a synchronous invoke of `r` should run: `None` on this node, else the nodes
    /// to try. No store round trip: the view is the last heartbeat's, the function's
    /// configuration the registry's. A reference that does not resolve runs here, which
    /// answers its error.
    pub fn place(&self, r: &FunctionRef) -> Option<Forward> {
        // Keyed on the version the invoke runs (an alias's primary version), so that an
        // alias and the version it names share one home set, as they share environments.
        let config = self.select(r, |a| a.function_version.as_str()).ok()?;
        let key = format!("{}:{}", r.name, config.version);
        match self.inner.placement.route(&key, self.busy_environments()) {
            Route::Local => None,
            Route::Forward(peers) => Some(Forward {
                peers,
                timeout: Duration::from_secs(config.timeout.max(1) as u64),
            }),
        }
    }

    /// Node `id` could not be reached: no invokes go to it for [`AVOID_FOR`].
    pub fn avoid_node(&self, id: &str) {
        self.inner.placement.avoid(id);
    }

    /// Asks node `id` to take no new work, or to take it again (`hearth nodes drain`);
    /// false if there is no such node. Blocking. This node's own view follows at once,
    /// the others' at their next heartbeat.
    pub fn drain_node(&self, id: &str, draining: bool) -> Result<bool, hearth_store::StoreError> {
        let found = self.store().fleet().set_draining(id, draining)?;
        if let Some(this) = self.node_id() {
            if this == id {
                self.inner.standing.set_draining(draining);
            }
            refresh(self.store(), &self.inner.placement, this);
        }
        Ok(found)
    }

    /// Tells the fleet that this node serves HTTPS (before it joins).
    pub fn serve_https(&self, https: bool) {
        self.inner
            .placement
            .https
            .store(https, std::sync::atomic::Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(id: &str, busy: i64) -> Peer {
        Peer {
            id: id.into(),
            address: format!("{id}:9000"),
            scheme: "http".into(),
            busy,
            max_concurrency: 10,
        }
    }

    fn ids(order: &[&String]) -> Vec<String> {
        order.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_order_is_stable_and_independent_of_listing_order() {
        let nodes: Vec<String> = (0..5).map(|i| format!("node-{i}")).collect();
        let mut reversed = nodes.clone();
        reversed.reverse();
        for key in ["123456789012:f:$LATEST", "123456789012:g:3", "x"] {
            let a = ids(&rank(key, &nodes, String::as_str));
            let b = ids(&rank(key, &reversed, String::as_str));
            assert_eq!(a, b, "{key}");
            assert_eq!(a, ids(&rank(key, &nodes, String::as_str)));
        }
        // The weights are fixed: every node of every version computes the same.
        assert_eq!(weight("node-1", "f"), weight("node-1", "f"));
        assert_ne!(weight("node-1", "f"), weight("node-1f", ""));
    }

    #[test]
    fn functions_spread_over_the_nodes() {
        let nodes: Vec<String> = (0..4).map(|i| format!("node-{i}")).collect();
        let mut first = HashMap::<String, usize>::new();
        for f in 0..4000 {
            let key = format!("123456789012:function-{f}:$LATEST");
            *first
                .entry(rank(&key, &nodes, String::as_str)[0].clone())
                .or_default() += 1;
        }
        // 1000 each on average; a fair hash stays far within 800..1200.
        for n in &nodes {
            let got = first.get(n).copied().unwrap_or(0);
            assert!((800..1200).contains(&got), "{n}: {got} of 4000 ({first:?})");
        }
    }

    #[test]
    fn a_node_leaving_moves_only_its_own_functions() {
        let nodes: Vec<String> = (0..5).map(|i| format!("node-{i}")).collect();
        let fewer: Vec<String> = nodes.iter().filter(|n| *n != "node-2").cloned().collect();
        let mut moved = 0;
        for f in 0..2000 {
            let key = format!("123456789012:function-{f}:1");
            let before = rank(&key, &nodes, String::as_str)[0].clone();
            let after = rank(&key, &fewer, String::as_str)[0].clone();
            if before != "node-2" {
                assert_eq!(before, after, "{key} moved though its home stayed");
            } else {
                moved += 1;
                // It goes to what was second in its order.
                assert_eq!(after, *rank(&key, &nodes, String::as_str)[1]);
            }
        }
        assert!(moved > 0);
    }

    #[test]
    fn the_home_with_capacity_comes_first_then_the_least_loaded() {
        let key = "123456789012:f:$LATEST";
        let peers: Vec<Peer> = (0..4).map(|i| peer(&format!("n{i}"), 0)).collect();
        let order = rank(key, &peers, |p| p.id.as_str());
        let home0 = order[0].id.clone();
        let home1 = order[1].id.clone();
        let got = candidates(key, &peers);
        assert_eq!(got[0].id, home0);
        assert_eq!(got[1].id, home1);
        // The first home full: the second; both full: the least loaded other.
        let mut loaded = peers.clone();
        for p in &mut loaded {
            p.busy = if p.id == home0 || p.id == home1 {
                10
            } else if p.id == order[2].id {
                7
            } else {
                1
            };
        }
        let got = candidates(key, &loaded);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].id, order[3].id);
        assert_eq!(got[1].id, order[2].id);
    }

    fn record(id: &str, draining: bool, seen_ms: i64) -> NodeRecord {
        NodeRecord {
            id: id.into(),
            address: format!("{id}:9000"),
            info: r#"{"scheme":"http","busyEnvironments":0,"maxConcurrency":10}"#.into(),
            registered_ms: 0,
            seen_ms,
            timeout_ms: 10_000,
            draining,
        }
    }

    #[test]
    fn routes_run_here_on_the_home_and_skip_draining_gone_and_unreachable_nodes() {
        let key = "123456789012:f:$LATEST";
        let names: Vec<String> = (0..3).map(|i| format!("n{i}")).collect();
        let order = ids(&rank(key, &names, String::as_str));
        let records: Vec<NodeRecord> = names.iter().map(|n| record(n, false, 100_000)).collect();
        let p = Placement::default();
        // On the home: here. Elsewhere: forward to the home, then the next, not itself.
        p.refresh(&order[0], &records, 100_000);
        assert_eq!(p.route(key, 0), Route::Local);
        p.refresh(&order[2], &records, 100_000);
        let Route::Forward(to) = p.route(key, 0) else {
            panic!("not forwarded")
        };
        assert_eq!(
            to.iter().map(|p| &p.id).collect::<Vec<_>>(),
            [&order[0], &order[1]]
        );
        // The home unreachable: the second home.
        p.avoid(&order[0]);
        let Route::Forward(to) = p.route(key, 0) else {
            panic!("not forwarded")
        };
        assert_eq!(to[0].id, order[1]);
        // The home draining, the second gone: this node (the third) runs it.
        let mut changed = records.clone();
        for r in &mut changed {
            if r.id == order[0] {
                r.draining = true;
            }
            if r.id == order[1] {
                r.seen_ms = 0;
            }
        }
        let p = Placement::default();
        p.refresh(&order[2], &changed, 100_000);
        assert_eq!(p.route(key, 0), Route::Local);
        // The home itself draining forwards its own invokes to a node with capacity.
        let mut drained = records.clone();
        drained
            .iter_mut()
            .for_each(|r| r.draining = r.id == order[0]);
        p.refresh(&order[0], &drained, 100_000);
        let Route::Forward(to) = p.route(key, 0) else {
            panic!("not forwarded")
        };
        assert_eq!(to[0].id, order[1]);
        // Full here and nowhere else to go: here all the same (the caller's last resort).
        let single = [record(&order[0], false, 100_000)];
        p.refresh(&order[0], &single, 100_000);
        assert_eq!(p.route(key, 10), Route::Local);
    }
}
