//! Environments' X-Ray daemons: a [`hearth_traces::Daemon`] on each environment's socket
//! (where its function's X-Ray SDK sends segment documents), each document handed to the
//! [`SegmentSink`] the server gives, and the daemons' counts in Prometheus:
//! `hearth_xray_segments_received_total` (documents parsed and handed on) and
//! `hearth_xray_segments_dropped_total` (datagrams dropped as malformed), per function.
//!
//! Received documents are counted as they arrive. A daemon counts the datagrams it drops
//! itself, out of reach of any callback, so those are read from the live daemons when
//! Prometheus gathers, and from each daemon once more as its environment ends.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use hearth_engine::observe::{DaemonGuard, Daemonized};
use hearth_traces::{Daemon, Segment};
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntCounter, IntCounterVec, Opts, Registry};

/// The environment a segment document came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentSource {
    /// The function's key (`name` in the default account, `ACCOUNT:name` in another).
    pub function: String,
    /// The version the environment runs (`$LATEST` or a number).
    pub version: String,
    /// The environment's log stream.
    pub log_stream: String,
}

/// Where received segment documents go (the OTLP exporter); called on the daemon's
/// task, so it must hand the document on, not block.
pub type SegmentSink = Arc<dyn Fn(Segment, &SegmentSource) + Send + Sync>;

const FN: &[&str] = &["account", "function"];

/// The daemons of every environment, and their counters.
pub(crate) struct Daemons {
    sink: Option<SegmentSink>,
    received: IntCounterVec,
    dropped: Arc<Dropped>,
}

impl Daemons {
    /// Registers the counters in `registry`.
    pub(crate) fn new(registry: &Registry, sink: Option<SegmentSink>) -> Self {
        let counter = |name: &str, help: &str| {
            IntCounterVec::new(Opts::new(name, help), FN).expect("valid counter")
        };
        let received = counter(
            "hearth_xray_segments_received_total",
            "Segment documents functions sent to their X-Ray daemon, parsed and handed on.",
        );
        registry
            .register(Box::new(received.clone()))
            .expect("unique name");
        let dropped = Arc::new(Dropped {
            counter: counter(
                "hearth_xray_segments_dropped_total",
                "Datagrams functions sent to their X-Ray daemon that were not segment documents.",
            ),
            live: Mutex::default(),
        });
        registry
            .register(Box::new(DroppedCollector(dropped.clone())))
            .expect("unique name");
        Self {
            sink,
            received,
            dropped,
        }
    }

    /// Runs a daemon on `socket` for `environment`, until the guard is dropped; `None`
    /// should the socket not take to Tokio (the environment then has no daemon).
    pub(crate) fn start(
        &self,
        environment: &Daemonized<'_>,
        socket: std::net::UdpSocket,
    ) -> Option<DaemonGuard> {
        let (account, name) = hearth_model::arn::key_parts(environment.function);
        let received = self.received.with_label_values(&[account, name]);
        let source = SegmentSource {
            function: environment.function.to_string(),
            version: environment.version.to_string(),
            log_stream: environment.log_stream.to_string(),
        };
        let sink = self.sink.clone();
        let daemon = Daemon::spawn_std(socket, move |segment| {
            received.inc();
            if let Some(sink) = &sink {
                sink(segment, &source);
            }
        });
        let daemon = match daemon {
            Ok(daemon) => daemon,
            Err(e) => {
                tracing::warn!(error = %e, function = environment.function, "cannot run an environment's X-Ray daemon");
                return None;
            }
        };
        let watched = Arc::new(Watched {
            daemon,
            reported: AtomicU64::new(0),
            dropped: self.dropped.counter.with_label_values(&[account, name]),
        });
        self.dropped.watch(&watched);
        Some(Box::new(Guard(watched)))
    }
}

/// One running daemon and how much of its drop count is in the counter.
struct Watched {
    daemon: Daemon,
    reported: AtomicU64,
    dropped: IntCounter,
}

impl Watched {
    /// Adds to the counter what the daemon dropped since last reported. `fetch_max`
    /// keeps two callers at once (a gather and the environment's end) from counting a
    /// drop twice or a negative step.
    fn report(&self) {
        let now = self.daemon.stats().dropped;
        let before = self.reported.fetch_max(now, Ordering::AcqRel);
        if now > before {
            self.dropped.inc_by(now - before);
        }
    }
}

/// Keeps an environment's daemon running; its last drops are counted as it stops.
struct Guard(Arc<Watched>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.report();
    }
}

/// The dropped-datagram counter and the daemons it reads.
struct Dropped {
    counter: IntCounterVec,
    live: Mutex<Vec<Weak<Watched>>>,
}

impl Dropped {
    fn watch(&self, watched: &Arc<Watched>) {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.retain(|w| w.strong_count() > 0);
        live.push(Arc::downgrade(watched));
    }

    fn report_live(&self) {
        let live: Vec<Arc<Watched>> = {
            let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
            live.retain(|w| w.strong_count() > 0);
            live.iter().filter_map(Weak::upgrade).collect()
        };
        for watched in live {
            watched.report();
        }
    }
}

/// The dropped counter as Prometheus gathers it: brought up to date first.
struct DroppedCollector(Arc<Dropped>);

impl Collector for DroppedCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.0.counter.desc()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        self.0.report_live();
        self.0.counter.collect()
    }
}

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;

    use prometheus::{Encoder, TextEncoder};

    use super::*;

    const DATAGRAM: &str = concat!(
        "{\"format\": \"json\", \"version\": 1}\n",
        r#"{"name":"f","id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1478293361.271,"end_time":1478293361.449}"#
    );

    fn render(registry: &Registry) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&registry.gather(), &mut out)
            .expect("encoded");
        String::from_utf8(out).expect("utf-8")
    }

    fn line(text: &str, prefix: &str) -> Option<String> {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .map(str::to_string)
    }

    #[tokio::test]
    async fn segments_reach_the_sink_and_both_counts_show() {
        let registry = Registry::new();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let sink: SegmentSink = Arc::new(move |segment: Segment, source: &SegmentSource| {
            // The receiver lives for the whole test.
            tx.send((segment.id, source.clone()))
                .expect("receiver open");
        });
        let daemons = Daemons::new(&registry, Some(sink));
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let addr = socket.local_addr().expect("address");
        let guard = daemons
            .start(
                &Daemonized {
                    function: "111122223333:fn",
                    version: "3",
                    log_stream: "2026/12/03/[3]abc",
                },
                socket,
            )
            .expect("a daemon");
        let client = UdpSocket::bind("127.0.0.1:0").expect("client");
        client.send_to(b"not a segment", addr).expect("sent");
        client.send_to(DATAGRAM.as_bytes(), addr).expect("sent");
        let (id, source) = rx.recv().await.expect("a segment");
        assert_eq!(id, "70de5b6f19ff9a0a");
        assert_eq!(
            source,
            SegmentSource {
                function: "111122223333:fn".into(),
                version: "3".into(),
                log_stream: "2026/12/03/[3]abc".into(),
            }
        );
        // From one sender on loopback, the garbage was read (and counted) first.
        let text = render(&registry);
        assert_eq!(
            line(&text, "hearth_xray_segments_received_total{").as_deref(),
            Some("hearth_xray_segments_received_total{account=\"111122223333\",function=\"fn\"} 1")
        );
        assert_eq!(
            line(&text, "hearth_xray_segments_dropped_total{").as_deref(),
            Some("hearth_xray_segments_dropped_total{account=\"111122223333\",function=\"fn\"} 1")
        );
        // Counted once, however often gathered; kept once the environment is gone.
        drop(guard);
        let text = render(&registry);
        assert_eq!(
            line(&text, "hearth_xray_segments_dropped_total{").as_deref(),
            Some("hearth_xray_segments_dropped_total{account=\"111122223333\",function=\"fn\"} 1")
        );
        assert!(daemons
            .dropped
            .live
            .lock()
            .expect("not poisoned")
            .iter()
            .all(|w| w.strong_count() == 0));
    }

    #[tokio::test]
    async fn drops_seen_only_at_the_end_are_counted_then() {
        let registry = Registry::new();
        let daemons = Daemons::new(&registry, None);
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let addr = socket.local_addr().expect("address");
        let guard = daemons
            .start(
                &Daemonized {
                    function: "fn",
                    version: "$LATEST",
                    log_stream: "s",
                },
                socket,
            )
            .expect("a daemon");
        let client = UdpSocket::bind("127.0.0.1:0").expect("client");
        client.send_to(b"junk", addr).expect("sent");
        client.send_to(DATAGRAM.as_bytes(), addr).expect("sent");
        let received = daemons.received.with_label_values(&["000000000000", "fn"]);
        while received.get() == 0 {
            tokio::task::yield_now().await;
        }
        // Not gathered while it ran: the guard's drop reports the drop.
        drop(guard);
        assert_eq!(
            daemons
                .dropped
                .counter
                .with_label_values(&["000000000000", "fn"])
                .get(),
            1
        );
    }
}
