//! SQS on a fleet (nodes sharing a PostgreSQL store): one node serves it at a time, the
//! holder of the store lease `sqs`, because a queue's hot state (visibility, receipts,
//! FIFO locks, long polls) is in that node's memory. The holder renews the lease; a node
//! that takes it over loads every queue and message from the store (messages in flight
//! at the old holder are visible again: at least once, and move tasks that were running
//! there are gone).
//!
//! Every node serves SQS's API all the same: a node without the lease sends each
//! operation to the holder (`relay.rs`), which it looks up here with every renewal, and
//! again at once when the holder it knew refuses or cannot be reached. Only when no
//! holder can be reached does a caller get `ServiceUnavailable`, naming it. Long polls
//! wait at the holder, where every send arrives, so they wake as soon as one does.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hearth_store::Store;

use crate::error::SqsError;
use crate::handle::Sqs;
use crate::relay::Holder;
use crate::service::{Local, Standing};

/// The store lease that names the node serving SQS.
pub const LEASE: &str = "sqs";
/// How long the lease lasts unless renewed, and how often the holder renews it.
const TTL: Duration = Duration::from_secs(10);
const RENEW_EVERY: Duration = Duration::from_secs(2);
/// A failed call looks for the holder again at most this often (many failing at once
/// look once).
pub(crate) const LOOK_AGAIN_AFTER: Duration = Duration::from_millis(200);

/// What a node needs to take part: the fleet's store and its own id.
pub(crate) struct FleetLink {
    store: Store,
    node: String,
    /// Held while contending (renewals and lookups take turns); when it last ended.
    last: Mutex<Option<Instant>>,
}

impl Sqs {
    /// The service of node `node` on `store`: on the embedded store, [`Sqs::open`]; on a
    /// shared store, served while this node holds the lease [`LEASE`] and sent to its
    /// holder otherwise (once [`Sqs::relay_through`] names the way). Call within a tokio
    /// runtime (the lease is renewed by a task).
    pub fn open_on(store: &Store, node: &str) -> Result<Self, SqsError> {
        if !store.fleet().shared() {
            return Self::open(store.sqs_handle());
        }
        let local = Local::joined(store, node)?;
        local.spawn_sweeper();
        let weak = Arc::downgrade(&local.inner);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(RENEW_EVERY).await;
                let Some(inner) = weak.upgrade() else { break };
                let local = Local { inner };
                let _ = tokio::task::spawn_blocking(move || contend(&local)).await;
            }
        });
        Ok(Self { local })
    }
}

impl Local {
    /// Node `node` of the fleet on `store`, having contended once for the lease.
    pub(crate) fn joined(store: &Store, node: &str) -> Result<Self, SqsError> {
        let local = Self::with(
            store.sqs_handle(),
            Default::default(),
            0,
            Standing::Elsewhere {
                holder: None,
                why: "SQS is starting on this node.".into(),
            },
        )?;
        let _ = local.inner.fleet.set(FleetLink {
            store: store.clone(),
            node: node.to_string(),
            last: Mutex::new(None),
        });
        contend(&local);
        Ok(local)
    }

    /// Looks for the holder again now (a call found the one it knew gone): takes the
    /// lease if it lapsed. Calls failing together look once. False when this node is not
    /// on a fleet.
    pub(crate) async fn look_for_holder(&self) -> bool {
        if self.inner.fleet.get().is_none() {
            return false;
        }
        let local = self.clone();
        let _ = tokio::task::spawn_blocking(move || {
            contend_unless(&local, |last| {
                last.is_some_and(|at| at.elapsed() < LOOK_AGAIN_AFTER)
            })
        })
        .await;
        true
    }
}

/// Takes or renews the lease and serves, or stands down naming its holder.
fn contend(sqs: &Local) {
    contend_unless(sqs, |_| false);
}

/// [`contend`], unless `fresh` says the last time (when it ended) is recent enough. One
/// node contends once at a time (its renewals and lookups take turns).
fn contend_unless(sqs: &Local, fresh: impl Fn(Option<Instant>) -> bool) {
    let Some(link) = sqs.inner.fleet.get() else {
        return;
    };
    let mut last = link.last.lock().unwrap_or_else(|p| p.into_inner());
    if fresh(*last) {
        return;
    }
    let (store, node) = (&link.store, link.node.as_str());
    let serving = sqs.serving().is_ok();
    match store.fleet().acquire_lease(LEASE, node, TTL) {
        Ok(Some(_)) if serving => {}
        Ok(Some(_)) => match sqs.take_over() {
            Ok(()) => tracing::info!(node, "this node serves SQS (it holds the sqs lease)"),
            Err(e) => {
                tracing::error!(error = %e, "could not load the SQS queues; giving the lease up");
                let _ = store.fleet().release_lease(LEASE, node);
            }
        },
        Ok(None) => {
            let holder = holder(store);
            if serving {
                tracing::warn!(holder = ?holder, "another node took the sqs lease; this node stops serving SQS");
            }
            let why = format!(
                "SQS is served by node {} ({}) of this fleet, which cannot be reached from this node.",
                holder.as_ref().map_or("?", |h| h.node.as_str()),
                holder
                    .as_ref()
                    .map_or("address unknown", |h| h.address.as_str())
            );
            sqs.stand_down(holder, why);
        }
        Err(e) => {
            if serving {
                tracing::error!(error = %e, "cannot renew the sqs lease; this node stops serving SQS");
            }
            sqs.stand_down(
                None,
                "SQS cannot reach the fleet's store on this node.".into(),
            );
        }
    }
    *last = Some(Instant::now());
}

/// The lease's holder as the fleet's node list gives it.
fn holder(store: &Store) -> Option<Holder> {
    let id = store.fleet().lease(LEASE).ok().flatten()?.holder;
    let node = store
        .fleet()
        .nodes()
        .ok()?
        .into_iter()
        .find(|n| n.id == id)?;
    let scheme = serde_json::from_str::<serde_json::Value>(&node.info)
        .ok()
        .and_then(|i| i.get("scheme")?.as_str().map(str::to_string))
        .unwrap_or_else(|| "http".into());
    Some(Holder {
        node: node.id,
        address: node.address,
        scheme,
    })
}
