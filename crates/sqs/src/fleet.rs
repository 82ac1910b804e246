//! SQS on a fleet (nodes sharing a PostgreSQL store): one node serves it at a time, the
//! holder of the store lease `sqs`, because a queue's hot state (visibility, receipts,
//! FIFO locks, long polls) is in that node's memory. The holder renews the lease; a node
//! that takes it over loads every queue and message from the store (messages in flight
//! at the old holder are visible again: at least once); a node without it answers
//! `ServiceUnavailable` naming the holder, and its retention sweeps and move tasks have
//! nothing to act on. Forwarding SQS requests to the holder is a later step.

use std::sync::Arc;
use std::time::Duration;

use hearth_store::Store;

use crate::error::SqsError;
use crate::service::Sqs;

/// The store lease that names the node serving SQS.
pub const LEASE: &str = "sqs";
/// How long the lease lasts unless renewed, and how often the holder renews it.
const TTL: Duration = Duration::from_secs(10);
const RENEW_EVERY: Duration = Duration::from_secs(2);

impl Sqs {
    /// The service of node `node` on `store`: on the embedded store, [`Sqs::open`]; on a
    /// shared store, served while this node holds the lease [`LEASE`]. Call within a
    /// tokio runtime (the lease is renewed by a task).
    pub fn open_on(store: &Store, node: &str) -> Result<Self, SqsError> {
        if !store.fleet().shared() {
            return Self::open(store.sqs_handle());
        }
        let sqs = Self::with(
            store.sqs_handle(),
            Default::default(),
            0,
            Some("SQS is starting on this node.".into()),
        )?;
        sqs.spawn_sweeper();
        contend(&sqs, store, node);
        let (sqs2, store2, node2) = (Arc::downgrade(&sqs.inner), store.clone(), node.to_string());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(RENEW_EVERY).await;
                let Some(inner) = sqs2.upgrade() else { break };
                let sqs = Sqs { inner };
                let (store, node) = (store2.clone(), node2.clone());
                let _ = tokio::task::spawn_blocking(move || contend(&sqs, &store, &node)).await;
            }
        });
        Ok(sqs)
    }
}

/// Takes or renews the lease and serves, or stands down naming its holder.
fn contend(sqs: &Sqs, store: &Store, node: &str) {
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
            let holder = store.fleet().lease(LEASE).ok().flatten().map(|l| l.holder);
            let address = holder.as_deref().and_then(|h| {
                store
                    .fleet()
                    .nodes()
                    .ok()?
                    .into_iter()
                    .find(|n| n.id == h)
                    .map(|n| n.address)
            });
            if serving {
                tracing::warn!(holder = ?holder, "another node took the sqs lease; this node stops serving SQS");
            }
            sqs.stand_down(format!(
                "SQS is served by node {} ({}) of this fleet; send SQS requests there.",
                holder.as_deref().unwrap_or("?"),
                address.as_deref().unwrap_or("address unknown")
            ));
        }
        Err(e) => {
            if serving {
                tracing::error!(error = %e, "cannot renew the sqs lease; this node stops serving SQS");
            }
            sqs.stand_down("SQS cannot reach the fleet's store on this node.".into());
        }
    }
}
