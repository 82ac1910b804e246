//! Provisioned concurrency spread over a fleet (issue 21): each live node (heartbeat
//! current, not draining) starts its share of a configuration's environments, the
//! requested count divided by the live nodes, the remainder going to the nodes after a
//! place that depends on the configuration (so that many small configurations do not all
//! land on the first node). Every node reconciles at each heartbeat: it reads the live
//! nodes and the configurations, allocates where its share (or an alias's versions)
//! changed and retires what is no longer configured, so a configuration put, changed or
//! deleted on any node, and a node joining or gone, are followed within a heartbeat.
//! Each node tells its allocations in its heartbeat's info, and
//! GetProvisionedConcurrencyConfig adds the live nodes' up. On the embedded store there
//! is no spread: the one node starts every environment.

use std::collections::HashSet;

use hearth_store::NodeRecord;

use crate::executor::{AllocationView, Retire};
use crate::Engine;

/// Where this node stands among the live nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Placement {
    /// Its place among the live nodes by id.
    pub index: usize,
    /// How many are live; 0 when this node is not (draining): it has no share.
    pub live: usize,
}

/// A stable hash of a configuration (FNV-1a: the same on every node and version).
fn config_hash(function: &str, qualifier: &str) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in function.bytes().chain([0]).chain(qualifier.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as usize
}

/// The share of `requested` environments of the node at `index` of `live`: the
/// quotient, and one of the remainder for the `requested % live` places after the
/// configuration's own offset.
pub(crate) fn share(requested: i64, index: usize, live: usize, offset: usize) -> i64 {
    if live == 0 || requested <= 0 {
        return 0;
    }
    let n = live as i64;
    let place = ((index + live - offset % live) % live) as i64;
    requested / n + i64::from(place < requested % n)
}

impl Engine {
    /// This node's share of a configuration of `requested` environments.
    pub(crate) fn share_of(&self, function: &str, qualifier: &str, requested: i64) -> i64 {
        match *self.placement() {
            None => requested,
            Some(p) => share(requested, p.index, p.live, config_hash(function, qualifier)),
        }
    }

    fn placement(&self) -> std::sync::MutexGuard<'_, Option<Placement>> {
        self.inner.share.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// From the fleet's `nodes` at store time `now` (read once per heartbeat, see
    /// `placement::read_nodes`), works out this node's share and reads the configurations,
    /// allocating or retiring what the share asks for (node `me`). Blocking.
    pub(crate) fn spread_provisioned(&self, me: &str, now: i64, nodes: &[NodeRecord]) {
        let live: Vec<&str> = nodes
            .iter()
            .filter(|n| !n.gone_at(now) && !n.draining)
            .map(|n| n.id.as_str())
            .collect();
        let placement =
            live.iter()
                .position(|id| *id == me)
                .map_or(Placement { index: 0, live: 0 }, |index| Placement {
                    index,
                    live: live.len(),
                });
        *self.placement() = Some(placement);
        let configs = match self.store().metadata().list_provisioned(None) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "could not read provisioned concurrency");
                return;
            }
        };
        let local = self.inner.executor.allocations();
        let configured: HashSet<(&str, &str)> = configs
            .iter()
            .map(|c| (c.function.as_str(), c.qualifier.as_str()))
            .collect();
        for a in &local {
            if !configured.contains(&(a.function.as_str(), a.qualifier.as_str())) {
                self.inner.executor.retire(&Retire::Allocation {
                    function: a.function.clone(),
                    qualifier: a.qualifier.clone(),
                });
            }
        }
        for c in &configs {
            let plan = match self.provisioned_plan(c) {
                Ok(plan) => plan,
                Err(e) => {
                    tracing::debug!(function = %c.function, error = %e, "no provisioned plan");
                    continue;
                }
            };
            let current = local
                .iter()
                .find(|a| a.function == c.function && a.qualifier == c.qualifier)
                .map(|a| a.plan.clone());
            if current.unwrap_or_default() != plan {
                if let Err(e) = self.allocate(&c.function, &c.qualifier) {
                    tracing::warn!(function = %c.function, error = %e, "could not provision");
                }
            }
        }
    }

    /// This node's allocations, for its heartbeat's info.
    pub(crate) fn provisioned_info(&self) -> serde_json::Value {
        self.inner
            .executor
            .allocations()
            .into_iter()
            .map(|a| {
                serde_json::json!({
                    "function": a.function,
                    "qualifier": a.qualifier,
                    "allocated": a.view.allocated,
                    "available": a.view.available,
                })
            })
            .collect()
    }

    /// How far a configuration's allocation came over the fleet: this node's own, and
    /// the other live nodes' as they told at their last heartbeat. `local` alone on the
    /// embedded store.
    pub(crate) fn fleet_allocation(
        &self,
        function: &str,
        qualifier: &str,
        requested: i64,
        local: Option<AllocationView>,
    ) -> Option<AllocationView> {
        if self.placement().is_none() {
            return local;
        }
        let me = self.node_id().unwrap_or_default().to_string();
        let fleet = self.store().fleet();
        let (now, nodes) = match (fleet.store_time_ms(), fleet.nodes()) {
            (Ok(now), Ok(nodes)) => (now, nodes),
            _ => return local,
        };
        let mut total = local.unwrap_or(AllocationView {
            allocated: 0,
            available: 0,
            wanted: 0,
            failure: None,
        });
        total.wanted = requested;
        for n in nodes.iter().filter(|n| n.id != me && !n.gone_at(now)) {
            let info: serde_json::Value = serde_json::from_str(&n.info).unwrap_or_default();
            let Some(allocs) = info.get("provisioned").and_then(|p| p.as_array()) else {
                continue;
            };
            for a in allocs {
                if a["function"] == function && a["qualifier"] == qualifier {
                    total.allocated += a["allocated"].as_i64().unwrap_or(0);
                    total.available += a["available"].as_i64().unwrap_or(0);
                }
            }
        }
        Some(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_and_differ_by_one_at_most() {
        for requested in 0..12 {
            for live in 1..5 {
                for offset in [0, 1, 7, usize::MAX] {
                    let shares: Vec<i64> = (0..live)
                        .map(|i| share(requested, i, live, offset))
                        .collect();
                    assert_eq!(shares.iter().sum::<i64>(), requested, "{shares:?}");
                    let (lo, hi) = (shares.iter().min(), shares.iter().max());
                    assert!(hi.zip(lo).is_some_and(|(h, l)| h - l <= 1), "{shares:?}");
                }
            }
        }
        assert_eq!(share(5, 0, 0, 0), 0, "a node that is not live has no share");
        // The remainder goes to different nodes for different configurations.
        let first = |offset| (0..3).find(|&i| share(1, i, 3, offset) == 1);
        assert_ne!(first(0), first(1));
    }
}
