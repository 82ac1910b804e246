//! This node in the fleet (issue 21): it registers itself in the store with its address
//! and what it has (CPUs, memory, runtimes, environments busy and idle), refreshes that every
//! heartbeat, and leaves at a clean stop. Every node reads the same rows, so any node
//! answers which nodes there are and which are gone: a node is gone once its last
//! heartbeat is older than the timeout, on the store's clock (PostgreSQL's, in a fleet),
//! so nodes' clocks need not agree. On the embedded store the fleet is this one node.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use hearth_store::{NodeRecord, Standing, StoreError};

use serde::Serialize;

use crate::Engine;

/// How this node takes part.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Stable across restarts (the server keeps it in its data directory).
    pub id: String,
    /// Where other nodes reach this one (`host:port`).
    pub address: String,
    /// How often it heartbeats.
    pub heartbeat: Duration,
    /// Silence after which a node counts as gone.
    pub timeout: Duration,
}

/// A node as any node sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeView {
    pub id: String,
    pub address: String,
    /// `alive`, `draining` (asked to take no new work), or `gone` (no heartbeat within
    /// its own timeout).
    pub state: &'static str,
    /// Whether it is the node answering.
    pub this_node: bool,
    pub registered_ms: i64,
    pub last_seen_ms: i64,
    /// How long ago its last heartbeat was, on the store's clock.
    pub silent_ms: i64,
    /// What it told of itself (CPUs, runtimes, environments).
    pub info: serde_json::Value,
}

/// The membership of a running node; its heartbeat task ends when this is dropped.
pub(crate) struct Membership {
    pub(crate) config: NodeConfig,
    _alive: Arc<()>,
}

/// What a node tells of itself at each heartbeat.
fn info(engine: &Engine) -> String {
    let runtimes = engine.catalog().available();
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| HostMemory::parse(&text));
    serde_json::json!({
        "cpus": std::thread::available_parallelism().map_or(1, usize::from),
        "memoryMb": memory.map(|m| m.total_mb),
        "memoryAvailableMb": memory.map(|m| m.available_mb),
        "runtimes": runtimes,
        "sandbox": engine.sandbox_name(),
        "busyEnvironments": engine.busy_environments(),
        "maxConcurrency": engine.inner.max_concurrency,
        "scheme": engine.inner.placement.scheme(),
        "idleEnvironments": engine.idle_environments(),
        "version": env!("CARGO_PKG_VERSION"),
        "provisioned": engine.provisioned_info(),
    })
    .to_string()
}

/// The host's memory, in MiB: all of it, and what the kernel counts as available for new
/// work without swapping (`MemAvailable`), which is what new environments can take.
#[derive(Debug, Clone, Copy, PartialEq)]
struct HostMemory {
    total_mb: u64,
    available_mb: u64,
}

impl HostMemory {
    /// From `/proc/meminfo`'s text (values in kB).
    fn parse(meminfo: &str) -> Option<Self> {
        let field = |name: &str| {
            meminfo.lines().find_map(|line| {
                let rest = line.strip_prefix(name)?.strip_prefix(':')?;
                rest.split_whitespace().next()?.parse::<u64>().ok()
            })
        };
        Some(Self {
            total_mb: field("MemTotal")? / 1024,
            available_mb: field("MemAvailable")? / 1024,
        })
    }
}

/// How much of its timeout a node counts on after a heartbeat is sent: the rest is a
/// margin for the two clocks' rates and for the moment between checking the standing
/// and acting on it.
fn good_for(timeout: Duration) -> Duration {
    timeout - timeout / 5
}

/// One heartbeat; on success the node's standing is renewed from when it was sent.
fn beat(
    store: &hearth_store::Store,
    standing: &Standing,
    config: &NodeConfig,
    info: &str,
) -> Result<NodeRecord, StoreError> {
    let sent = Instant::now();
    let node = store
        .fleet()
        .heartbeat(&config.id, &config.address, info, config.timeout)?;
    standing.beat(sent, good_for(config.timeout));
    standing.set_draining(node.draining);
    Ok(node)
}

impl Engine {
    /// Registers this node and heartbeats until the engine is dropped or
    /// [`Engine::leave_fleet`]. Must be called inside the tokio runtime, once.
    pub fn join_fleet(&self, config: NodeConfig) -> Result<(), hearth_store::StoreError> {
        let store = self.store().clone();
        beat(&store, &self.inner.standing, &config, &info(self))?;
        let admission = self.inner.executor.admission_handle();
        // Other nodes may share the store: concurrency limits hold for the fleet, through
        // tokens leased for as long as the node counts as alive, and provisioned
        // concurrency is spread over the live nodes.
        let shared = store.fleet().shared();
        // One read of the nodes serves the provisioned spread and the placement view.
        let view = crate::placement::read_nodes(&store);
        if shared {
            if let Some((now, nodes)) = &view {
                self.spread_provisioned(&config.id, *now, nodes);
            }
            admission.join_fleet(crate::executor::FleetTokens {
                store: store.clone(),
                node: config.id.clone(),
                ttl: config.timeout,
                standing: self.inner.standing.clone(),
            });
        }
        if let Some((now, nodes)) = &view {
            self.inner.placement.refresh(&config.id, nodes, *now);
        }
        let alive = Arc::new(());
        let watch: Weak<()> = Arc::downgrade(&alive);
        let engine = Arc::downgrade(&self.inner);
        let every = config.heartbeat;
        let node = config.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                let (Some(_), Some(inner)) = (watch.upgrade(), engine.upgrade()) else {
                    return;
                };
                let engine = Engine { inner };
                let (node, info) = (node.clone(), info(&engine));
                let (store, standing) = (engine.store().clone(), engine.inner.standing.clone());
                let spread = shared.then(|| Arc::downgrade(&engine.inner));
                let placement = engine.inner.placement.clone();
                drop(engine);
                let beaten = tokio::task::spawn_blocking(move || {
                    let beaten = beat(&store, &standing, &node, &info);
                    if let Some((now, nodes)) = crate::placement::read_nodes(&store) {
                        placement.refresh(&node.id, &nodes, now);
                        if let Some(inner) = spread.and_then(|w| w.upgrade()) {
                            Engine { inner }.spread_provisioned(&node.id, now, &nodes);
                        }
                    }
                    beaten
                })
                .await;
                if let Ok(Err(e)) = beaten {
                    tracing::warn!(error = %e, "fleet heartbeat failed");
                }
                admission.renew_tokens().await;
            }
        });
        let _ = self.inner.membership.set(Membership {
            config,
            _alive: alive,
        });
        Ok(())
    }

    /// Whether this node is the one to do the fleet-wide singleton work `name` now (a
    /// retention sweep): it takes or renews the work's lease for `ttl`, so the node that
    /// holds it keeps it while it renews at least every `ttl`, and another takes over
    /// once it stops. Blocking (a store round trip). A node that has not joined holds
    /// leases under its process id (tests).
    pub(crate) fn holds_lease(&self, name: &str, ttl: Duration) -> bool {
        let holder = self
            .node_id()
            .map_or_else(|| format!("process-{}", std::process::id()), str::to_string);
        match self.store().fleet().acquire_lease(name, &holder, ttl) {
            Ok(held) => held.is_some(),
            Err(e) => {
                tracing::warn!(error = %e, lease = name, "could not take a lease");
                false
            }
        }
    }

    /// Whether this node's heartbeats are current and whether it was asked to drain:
    /// what decides if it may act on the work it holds (async events). Not good until
    /// [`Engine::join_fleet`].
    pub fn standing(&self) -> &Standing {
        &self.inner.standing
    }

    /// This node's id, once it joined.
    pub fn node_id(&self) -> Option<&str> {
        self.inner.membership.get().map(|m| m.config.id.as_str())
    }

    /// Leaves the fleet (a clean stop): the node's row goes, so it is not listed as gone.
    pub fn leave_fleet(&self) {
        if let Some(m) = self.inner.membership.get() {
            self.inner.executor.admission().give_back_tokens();
            if let Err(e) = self.store().fleet().forget_node(&m.config.id) {
                tracing::warn!(error = %e, "could not leave the fleet");
            }
        }
    }

    /// Every registered node, in id order.
    pub fn nodes(&self) -> Result<Vec<NodeView>, hearth_store::StoreError> {
        let fleet = self.store().fleet();
        let now = fleet.store_time_ms()?;
        let membership = self.inner.membership.get();
        Ok(fleet
            .nodes()?
            .into_iter()
            .map(|n| {
                let silent_ms = (now - n.seen_ms).max(0);
                NodeView {
                    this_node: membership.is_some_and(|m| m.config.id == n.id),
                    state: if n.gone_at(now) {
                        "gone"
                    } else if n.draining {
                        "draining"
                    } else {
                        "alive"
                    },
                    info: serde_json::from_str(&n.info).unwrap_or(serde_json::Value::Null),
                    id: n.id,
                    address: n.address,
                    registered_ms: n.registered_ms,
                    last_seen_ms: n.seen_ms,
                    silent_ms,
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_memory_is_read_from_meminfo_in_mib() {
        let text = "MemTotal:       24576000 kB\nMemFree:         1000000 kB\n\
                    MemAvailable:   12288000 kB\nBuffers:          100 kB\n";
        assert_eq!(
            HostMemory::parse(text),
            Some(HostMemory {
                total_mb: 24_000,
                available_mb: 12_000
            })
        );
        // A kernel without MemAvailable (before 3.14): not guessed.
        assert_eq!(
            HostMemory::parse("MemTotal: 1024 kB\nMemFree: 10 kB\n"),
            None
        );
        assert_eq!(HostMemory::parse(""), None);
    }
}
