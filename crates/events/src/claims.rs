//! Which events this node holds. It holds what it accepted; now and then it claims the
//! events whose holder is gone (a node that died, or was cut off from the store beyond
//! its own timeout) or that no one holds (let go by a drained node, or queued by an
//! older Hearth). While its own heartbeats are not current, or it is drained, it lets
//! go of what waits in memory (a drained node gives it back to the store for others; the
//! dispatcher itself lets it go when the node falls out of standing, see [`lapsed`]);
//! once it may run again it reads back what is still its own, which excludes anything
//! another node took over meanwhile.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hearth_store::StoreError;

use crate::queue::Pending;
use crate::Shared;

/// How often the node's standing is looked at.
const WATCH: Duration = Duration::from_millis(100);

/// Reads back the events this node holds and claims those no live node holds; queues
/// the ones not in memory yet. Blocking (store round trips). Answers how many it queued.
pub(crate) fn read_back(s: &Shared) -> Result<usize, StoreError> {
    // Cleared first: a let-go while the store answers asks for another read-back.
    s.let_go.store(false, Ordering::SeqCst);
    let mut events = match s.store.queue().own_events(&s.holder.node) {
        Ok(events) => events,
        Err(e) => {
            s.let_go.store(true, Ordering::SeqCst);
            return Err(e);
        }
    };
    events.extend(claim_all(s)?);
    Ok(queue_new(s, events))
}

/// Claims batches until one comes back short.
fn claim_all(s: &Shared) -> Result<Vec<hearth_store::QueuedEvent>, StoreError> {
    let batch = s.config.claim_batch.max(1);
    let mut out = Vec::new();
    loop {
        let got = s.store.queue().claim_events(&s.holder.node, batch)?;
        let full = got.len() == batch;
        out.extend(got);
        if !full {
            return Ok(out);
        }
    }
}

fn queue_new(s: &Shared, events: Vec<hearth_store::QueuedEvent>) -> usize {
    let fresh: Vec<Pending> = {
        let q = s.queue();
        events
            .into_iter()
            .filter(|e| !q.knows(e.seq))
            .map(|event| Pending {
                event,
                payload: None,
            })
            .collect()
    };
    let n = fresh.len();
    if n > 0 {
        s.enqueue(fresh);
    }
    n
}

/// Watches the node's standing and claims what is left to no one, until the queue
/// stops.
pub(crate) async fn run(s: Arc<Shared>) {
    let mut last_claim = Instant::now();
    loop {
        if s.stopping.load(Ordering::SeqCst) {
            return;
        }
        if !s.may_run() {
            let_go(&s).await;
        } else if s.let_go.load(Ordering::SeqCst) || last_claim.elapsed() >= s.config.claim_every {
            last_claim = Instant::now();
            let shared = s.clone();
            let back = s.let_go.load(Ordering::SeqCst);
            let done = tokio::task::spawn_blocking(move || {
                if back {
                    read_back(&shared)
                } else {
                    claim_all(&shared).map(|events| queue_new(&shared, events))
                }
            })
            .await;
            match done {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) if back => {
                    tracing::info!(events = n, "async events held by this node read back")
                }
                Ok(Ok(n)) => tracing::info!(
                    events = n,
                    "claimed async events of a node that is gone (or of none)"
                ),
                Ok(Err(e)) => tracing::warn!(error = %e, "could not claim async events"),
                Err(e) => tracing::warn!(error = %e, "the claim task failed"),
            }
        }
        tokio::time::sleep(WATCH).await;
    }
}

/// The node is out of good standing: what waits in memory is let go (it is read back
/// once the node is in standing again). Called by the dispatcher, which must not start
/// anything meanwhile.
pub(crate) fn lapsed(s: &Shared) {
    let first = !s.let_go.swap(true, Ordering::SeqCst);
    let waiting = s.queue().let_go();
    if first {
        tracing::warn!(
            events = waiting.len(),
            "this node's heartbeats are not current: it starts no async event until they are"
        );
    }
}

/// The node may not run its events. Drained (and in standing), it gives what waits in
/// memory back to the store for other nodes; out of standing the dispatcher lets it go
/// ([`lapsed`]).
async fn let_go(s: &Arc<Shared>) {
    let standing = &s.holder.standing;
    if !standing.is_good() || !standing.draining() {
        return;
    }
    s.let_go.store(true, Ordering::SeqCst);
    let waiting = s.queue().let_go();
    if waiting.is_empty() {
        return;
    }
    let shared = s.clone();
    let node = s.holder.node.clone();
    let released =
        tokio::task::spawn_blocking(move || shared.store.queue().release_events(&node, &waiting))
            .await;
    match released {
        Ok(Ok(n)) => tracing::info!(events = n, "drained: async events given to other nodes"),
        Ok(Err(e)) => tracing::warn!(error = %e, "drained, but could not give events back"),
        Err(e) => tracing::warn!(error = %e, "the release task failed"),
    }
}
