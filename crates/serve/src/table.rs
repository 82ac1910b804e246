//! The table of open connections: what each one is doing, which one to close when the
//! server is at its connection cap, and which ones waited too long for a request.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::Limits;

/// What one connection is doing, as far as closing it is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct State {
    /// Requests being handled (their handler runs or their response is being written).
    pub(crate) busy: usize,
    /// Bytes of a request arrived, but its header is not complete yet.
    pub(crate) reading: bool,
    /// Whether a request was ever answered on it (a keep-alive connection of a real client).
    pub(crate) served: bool,
    /// When it last went idle (or was accepted), or when the first byte of the
    /// request being read arrived.
    pub(crate) since: Instant,
    /// Asked to close; not chosen again.
    pub(crate) closing: bool,
}

impl State {
    fn new(now: Instant) -> Self {
        Self {
            busy: 0,
            reading: false,
            served: false,
            since: now,
            closing: false,
        }
    }

    /// Whether the connection has waited past its deadline without a request to handle:
    /// the header-read timeout while a request head is awaited on a connection that
    /// never had one answered, or is arriving; the idle timeout between requests of a
    /// keep-alive connection.
    pub(crate) fn expired(&self, now: Instant, limits: &Limits) -> bool {
        if self.busy > 0 {
            return false;
        }
        let limit = if self.reading || !self.served {
            limits.header_read_timeout
        } else {
            limits.idle_timeout
        };
        limit.is_some_and(|t| now.saturating_duration_since(self.since) >= t)
    }

    /// The order in which connections are closed to make room for a new one: never a
    /// busy one; first those that never had a request answered (an attacker's idle or
    /// slow sockets look like this), then keep-alive connections, the longest idle first.
    fn eviction_key(&self) -> Option<(bool, Instant)> {
        (self.busy == 0 && !self.closing).then_some((self.served, self.since))
    }
}

/// The connection [`State::eviction_key`] ranks first, if any may be closed.
pub(crate) fn pick_victim<'a>(states: impl Iterator<Item = (u64, &'a State)>) -> Option<u64> {
    states
        .filter_map(|(id, s)| s.eviction_key().map(|k| (k, id)))
        .min()
        .map(|(_, id)| id)
}

/// One open connection, shared by its task, its I/O and the table.
pub(crate) struct Conn {
    state: Mutex<State>,
    /// Wakes the connection's task to close it (if still not busy).
    pub(crate) close: Notify,
}

impl Conn {
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        // The state is a few plain fields, each update whole; a panic cannot tear it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Request bytes arrived.
    pub(crate) fn on_read(&self) {
        let mut s = self.state();
        if s.busy == 0 && !s.reading {
            s.reading = true;
            s.since = Instant::now();
        }
    }

    /// A request reached the handler; the connection is busy until the guard drops.
    pub(crate) fn begin(self: &Arc<Self>) -> Busy {
        let mut s = self.state();
        s.busy += 1;
        s.reading = false;
        Busy(self.clone())
    }

    /// How to carry out a close request: not at all when a request is in flight (one may
    /// have started since the connection was chosen).
    pub(crate) fn confirm_close(&self) -> Close {
        let mut s = self.state();
        s.closing = s.busy == 0;
        if !s.closing {
            Close::No
        } else if s.served && !s.reading {
            Close::Drain
        } else {
            Close::Now
        }
    }
}

/// What to do with a connection asked to close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Close {
    /// A request is in flight: keep it.
    No,
    /// Nothing was ever answered on it, or a request is half read: drop it.
    Now,
    /// Between requests of a keep-alive connection: the last response may still be being
    /// written, so close it the HTTP way (at once if it is idle).
    Drain,
}

/// A request in flight on a connection.
pub(crate) struct Busy(Arc<Conn>);

impl Drop for Busy {
    fn drop(&mut self) {
        let mut s = self.0.state();
        s.busy = s.busy.saturating_sub(1);
        if s.busy == 0 {
            s.served = true;
            s.reading = false;
            s.since = Instant::now();
        }
    }
}

/// Every open connection of one server.
pub(crate) struct Table {
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    next_id: AtomicU64,
    /// Signalled when a connection closes.
    pub(crate) gone: Notify,
    pub(crate) limits: Limits,
}

impl Table {
    pub(crate) fn new(limits: Limits) -> Self {
        Self {
            conns: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            gone: Notify::new(),
            limits,
        }
    }

    fn conns(&self) -> MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        self.conns.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn len(&self) -> usize {
        self.conns().len()
    }

    /// Adds a connection; it leaves the table when the returned entry drops.
    pub(crate) fn register(self: &Arc<Self>) -> Entry {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            state: Mutex::new(State::new(Instant::now())),
            close: Notify::new(),
        });
        self.conns().insert(id, conn.clone());
        Entry {
            table: self.clone(),
            id,
            conn,
        }
    }

    /// Whether a connection is closing or could be asked to: room for one more is on the
    /// way. False when every connection is busy.
    pub(crate) fn can_make_room(&self) -> bool {
        self.conns().values().any(|c| {
            let s = c.state();
            s.closing || s.busy == 0
        })
    }

    /// Asks the connection that matters least (other than `except`, the one just accepted)
    /// to close, unless one is closing already; false when there is none to ask.
    pub(crate) fn evict_one(&self, except: Option<u64>) -> bool {
        let conns = self.conns();
        let states: Vec<(u64, State)> = conns
            .iter()
            .filter(|(id, _)| Some(**id) != except)
            .map(|(id, c)| (*id, *c.state()))
            .collect();
        if states.iter().any(|(_, s)| s.closing) {
            return true;
        }
        let Some(victim) = pick_victim(states.iter().map(|(id, s)| (*id, s))) else {
            return false;
        };
        if let Some(conn) = conns.get(&victim) {
            conn.state().closing = true;
            conn.close.notify_one();
        }
        true
    }

    /// Asks every connection past its deadline to close; returns how many.
    pub(crate) fn reap(&self, now: Instant) -> usize {
        let mut n = 0;
        for conn in self.conns().values() {
            let mut s = conn.state();
            if !s.closing && s.expired(now, &self.limits) {
                s.closing = true;
                conn.close.notify_one();
                n += 1;
            }
        }
        n
    }

    /// How often to look for expired connections: often enough that one is closed
    /// within a quarter of its timeout after it expires.
    pub(crate) fn reap_every(&self) -> Option<Duration> {
        let shortest = [self.limits.header_read_timeout, self.limits.idle_timeout]
            .into_iter()
            .flatten()
            .min()?;
        Some((shortest / 4).clamp(Duration::from_millis(50), Duration::from_secs(1)))
    }
}

/// A connection's place in the table.
pub(crate) struct Entry {
    table: Arc<Table>,
    pub(crate) id: u64,
    pub(crate) conn: Arc<Conn>,
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.table.conns().remove(&self.id);
        self.table.gone.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_connections: 4,
            header_read_timeout: Some(Duration::from_secs(10)),
            idle_timeout: Some(Duration::from_secs(60)),
        }
    }

    fn state(t0: Instant, secs: u64) -> State {
        State::new(t0 + Duration::from_secs(secs))
    }

    #[test]
    fn a_silent_new_connection_gets_the_header_timeout() {
        let t0 = Instant::now();
        let s = state(t0, 0);
        assert!(!s.expired(t0 + Duration::from_secs(9), &limits()));
        assert!(s.expired(t0 + Duration::from_secs(10), &limits()));
    }

    #[test]
    fn a_keep_alive_connection_gets_the_idle_timeout_until_bytes_arrive() {
        let t0 = Instant::now();
        let s = State {
            served: true,
            ..state(t0, 0)
        };
        assert!(!s.expired(t0 + Duration::from_secs(59), &limits()));
        assert!(s.expired(t0 + Duration::from_secs(60), &limits()));
        let reading = State { reading: true, ..s };
        assert!(reading.expired(t0 + Duration::from_secs(10), &limits()));
    }

    #[test]
    fn a_busy_connection_never_expires_nor_is_evicted() {
        let t0 = Instant::now();
        let s = State {
            busy: 1,
            ..state(t0, 0)
        };
        assert!(!s.expired(t0 + Duration::from_secs(3600), &limits()));
        assert_eq!(pick_victim([(1, &s)].into_iter()), None);
    }

    #[test]
    fn no_timeouts_means_no_expiry() {
        let t0 = Instant::now();
        let none = Limits {
            max_connections: 1,
            header_read_timeout: None,
            idle_timeout: None,
        };
        assert!(!state(t0, 0).expired(t0 + Duration::from_secs(3600), &none));
    }

    #[test]
    fn eviction_prefers_never_served_then_longest_idle() {
        let t0 = Instant::now();
        let kept_alive_old = State {
            served: true,
            ..state(t0, 0)
        };
        let kept_alive_new = State {
            served: true,
            ..state(t0, 5)
        };
        let fresh_new = state(t0, 8);
        let fresh_old = state(t0, 3);
        let busy_oldest = State {
            busy: 2,
            ..state(t0, 0)
        };
        let all = [
            (1, &kept_alive_old),
            (2, &kept_alive_new),
            (3, &fresh_new),
            (4, &fresh_old),
            (5, &busy_oldest),
        ];
        assert_eq!(pick_victim(all.into_iter()), Some(4));
        assert_eq!(pick_victim(all[..3].iter().copied()), Some(3));
        assert_eq!(pick_victim(all[..2].iter().copied()), Some(1));
        let closing = State {
            closing: true,
            ..kept_alive_old
        };
        assert_eq!(
            pick_victim([(1, &closing), (2, &kept_alive_new)].into_iter()),
            Some(2)
        );
    }

    #[test]
    fn busy_guards_track_requests_and_reset_the_clock() {
        let table = Arc::new(Table::new(limits()));
        let entry = table.register();
        entry.conn.on_read();
        assert!(entry.conn.state().reading);
        let a = entry.conn.begin();
        let b = entry.conn.begin();
        assert_eq!(entry.conn.confirm_close(), Close::No);
        drop(a);
        assert_eq!(entry.conn.state().busy, 1);
        assert!(!entry.conn.state().served);
        drop(b);
        let s = *entry.conn.state();
        assert!(s.served && s.busy == 0 && !s.reading);
        assert_eq!(entry.conn.confirm_close(), Close::Drain);
        entry.conn.on_read();
        assert_eq!(entry.conn.confirm_close(), Close::Now);
        assert_eq!(table.len(), 1);
        drop(entry);
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn reap_and_evict_mark_their_choice_once() {
        let table = Arc::new(Table::new(limits()));
        let first = table.register();
        let second = table.register();
        let third = table.register();
        let _busy = third.conn.begin();
        // The one just accepted is spared.
        assert!(table.evict_one(Some(first.id)));
        assert!(second.conn.state().closing);
        assert!(!first.conn.state().closing);
        // One closing is enough room: no second victim until it is gone.
        assert!(table.evict_one(None));
        assert!(!first.conn.state().closing);
        drop(second);
        assert!(table.can_make_room());
        assert!(table.evict_one(None));
        assert!(first.conn.state().closing);
        drop(first);
        // The only connection left is busy.
        assert!(!table.can_make_room());
        assert!(!table.evict_one(None));
        assert_eq!(table.reap(Instant::now() + Duration::from_secs(3600)), 0);
    }
}
