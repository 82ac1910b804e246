//! Change notifications: every committed change to a function's metadata is told to the
//! subscribers after its commit, so that caches of it (the engine's registry) stay
//! correct whoever made the change. The embedded store calls the subscribers on the
//! writing thread before the write returns, so a caller that wrote and then reads
//! through a cache sees its own write; a networked store would deliver its database's
//! notifications (PostgreSQL's LISTEN/NOTIFY) the same way, and
//! [`MetadataChange::Everything`] when it may have missed some.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataChange {
    /// The function's `$LATEST`, a version, an alias, an asynchronous invocation
    /// setting, or a resource of a qualifier of it (its policy, settings or function
    /// URL) was written or deleted (or the whole function was).
    Function(String),
    /// Changes may have been missed (a subscription fell behind, a connection was
    /// lost): forget everything cached.
    Everything,
}

/// Told each change; must not block, and must not write to the store.
pub type Subscriber = Box<dyn Fn(&MetadataChange) + Send + Sync>;

/// The subscribers of one store; a building block for implementations of
/// [`crate::MetadataStore::subscribe`].
#[derive(Default)]
pub struct Notifier {
    subscribers: Arc<Mutex<Subscribers>>,
}

#[derive(Default)]
struct Subscribers {
    next: u64,
    by_id: BTreeMap<u64, Arc<Subscriber>>,
}

fn lock(s: &Mutex<Subscribers>) -> MutexGuard<'_, Subscribers> {
    // The map is never left half changed, so a poisoned lock is safe to keep using.
    s.lock().unwrap_or_else(|p| p.into_inner())
}

impl Notifier {
    /// Adds a subscriber until the returned [`Subscription`] is dropped.
    pub fn subscribe(&self, subscriber: Subscriber) -> Subscription {
        let mut s = lock(&self.subscribers);
        let id = s.next;
        s.next += 1;
        s.by_id.insert(id, Arc::new(subscriber));
        Subscription {
            id,
            subscribers: Arc::downgrade(&self.subscribers),
        }
    }

    /// Tells every subscriber; call after the change is committed.
    pub fn notify(&self, change: &MetadataChange) {
        // Called outside the lock, so a subscriber may subscribe or unsubscribe.
        let subscribers: Vec<_> = lock(&self.subscribers).by_id.values().cloned().collect();
        for s in subscribers {
            s(change);
        }
    }

    /// [`Self::notify`] of a change to `function`.
    pub fn function_changed(&self, function: &str) {
        self.notify(&MetadataChange::Function(function.to_string()));
    }
}

/// Keeps a subscriber subscribed; dropping it unsubscribes.
pub struct Subscription {
    id: u64,
    subscribers: Weak<Mutex<Subscribers>>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(s) = self.subscribers.upgrade() {
            lock(&s).by_id.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribers_are_told_until_they_unsubscribe() {
        let notifier = Notifier::default();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let sub = notifier.subscribe(Box::new(move |c| {
            sink.lock().expect("lock").push(c.clone());
        }));
        notifier.function_changed("f");
        drop(sub);
        notifier.function_changed("g");
        assert_eq!(
            *seen.lock().expect("lock"),
            [MetadataChange::Function("f".into())]
        );
    }
}
