//! The X-Ray daemon's UDP protocol, as functions' X-Ray SDKs speak it to
//! `AWS_XRAY_DAEMON_ADDRESS`: one datagram per document,
//! `{"format": "json", "version": 1}\n<segment JSON>`. A document is a whole segment, a
//! subsegment sent alone (`type: subsegment` with `parent_id` and `trace_id`), or an
//! `in_progress` one to be overwritten later.
//!
//! [`Daemon`] reads datagrams from a socket it is given (bound inside an environment's network
//! namespace by the caller) and hands each parsed document to a callback. Malformed
//! datagrams are dropped and counted; nothing a function sends can stop or crash the loop.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::Deserialize;
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

use crate::header::{SegmentId, TraceId};
use crate::segment::Segment;

/// The largest datagram read: UDP's own limit, so no datagram is ever truncated unseen.
const MAX_DATAGRAM: usize = 65_535;

/// Why a datagram was dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatagramError {
    /// No `\n` between the header and the document.
    #[error("no header line")]
    NoHeader,
    /// The header is not `{"format": "json", "version": 1}`.
    #[error("unsupported header `{0}`")]
    Header(String),
    /// The document is not a segment.
    #[error("invalid segment document: {0}")]
    Document(String),
}

#[derive(Deserialize)]
struct DatagramHeader {
    format: String,
    version: u32,
}

/// Parses one datagram into the document it carries.
///
/// Beyond the schema, it checks what export relies on: a `trace_id` (X-Ray ids of the form
/// `1-<8 hex>-<24 hex>`), 16-hex-digit `id` and `parent_id`, and, for a subsegment sent alone,
/// a `parent_id`.
pub fn parse_datagram(datagram: &[u8]) -> Result<Segment, DatagramError> {
    let newline = datagram
        .iter()
        .position(|b| *b == b'\n')
        .ok_or(DatagramError::NoHeader)?;
    let (header, document) = (&datagram[..newline], &datagram[newline + 1..]);
    let bad_header = || DatagramError::Header(String::from_utf8_lossy(header).into_owned());
    let parsed: DatagramHeader = serde_json::from_slice(header).map_err(|_| bad_header())?;
    if parsed.format != "json" || parsed.version != 1 {
        return Err(bad_header());
    }
    let segment: Segment =
        serde_json::from_slice(document).map_err(|e| DatagramError::Document(e.to_string()))?;
    let invalid = |what: &str| DatagramError::Document(what.to_owned());
    let trace_id = segment
        .trace_id
        .as_deref()
        .ok_or_else(|| invalid("missing trace_id"))?;
    trace_id
        .parse::<TraceId>()
        .map_err(|e| invalid(&e.to_string()))?;
    segment
        .id
        .parse::<SegmentId>()
        .map_err(|e| invalid(&e.to_string()))?;
    match segment.parent_id.as_deref() {
        Some(parent) => {
            parent
                .parse::<SegmentId>()
                .map_err(|e| invalid(&e.to_string()))?;
        }
        None if segment.is_subsegment() => return Err(invalid("subsegment without parent_id")),
        None => {}
    }
    if segment.end_time.is_none() && !segment.in_progress {
        return Err(invalid("neither end_time nor in_progress"));
    }
    Ok(segment)
}

/// What a daemon has seen so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DaemonStats {
    /// Documents parsed and handed on.
    pub received: u64,
    /// Datagrams dropped as malformed.
    pub dropped: u64,
}

#[derive(Debug, Default)]
struct Counters {
    received: AtomicU64,
    dropped: AtomicU64,
}

/// A running X-Ray daemon endpoint; stops when dropped (or by [`Daemon::stop`]).
#[derive(Debug)]
pub struct Daemon {
    counters: Arc<Counters>,
    task: JoinHandle<()>,
}

impl Daemon {
    /// Starts reading `socket` on the current Tokio runtime, calling `on_segment` with each
    /// document received. The callback runs on the daemon's task: it should hand the segment
    /// on (e.g. to [`crate::Exporter::record`]), not block.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn spawn<F>(socket: UdpSocket, on_segment: F) -> Self
    where
        F: Fn(Segment) + Send + Sync + 'static,
    {
        let counters = Arc::new(Counters::default());
        let task = tokio::spawn(receive(socket, Arc::clone(&counters), on_segment));
        Daemon { counters, task }
    }

    /// As [`Daemon::spawn`], from a standard library socket (set non-blocking here).
    pub fn spawn_std<F>(socket: std::net::UdpSocket, on_segment: F) -> std::io::Result<Self>
    where
        F: Fn(Segment) + Send + Sync + 'static,
    {
        socket.set_nonblocking(true)?;
        Ok(Self::spawn(UdpSocket::from_std(socket)?, on_segment))
    }

    /// Counts so far.
    pub fn stats(&self) -> DaemonStats {
        DaemonStats {
            received: self.counters.received.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
        }
    }

    /// Stops reading; the socket is closed.
    pub fn stop(self) {
        self.task.abort();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive<F>(socket: UdpSocket, counters: Arc<Counters>, on_segment: F)
where
    F: Fn(Segment) + Send + Sync + 'static,
{
    loop {
        // Every environment has a daemon and most never hear from a function, so none
        // holds a buffer while it waits (a zeroed 64 KiB one each was a sixth of an idle
        // environment's memory): one is taken when a datagram is there, and given back.
        if let Err(error) = socket.readable().await {
            // Only a socket the runtime no longer drives fails here, for good.
            tracing::debug!(%error, "X-Ray daemon socket cannot be read");
            return;
        }
        let mut buffer = Vec::with_capacity(MAX_DATAGRAM);
        let len = match socket.try_recv_buf(&mut buffer) {
            Ok(len) => len,
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(error) => {
                // ICMP-induced errors (connection refused from an earlier send) are per
                // datagram; the socket stays usable, so keep reading.
                tracing::debug!(%error, "X-Ray daemon socket error");
                continue;
            }
        };
        match parse_datagram(&buffer[..len]) {
            Ok(segment) => {
                counters.received.fetch_add(1, Ordering::Relaxed);
                on_segment(segment);
            }
            Err(error) => {
                counters.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(%error, "dropped an X-Ray datagram");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    const HEADER: &str = "{\"format\": \"json\", \"version\": 1}\n";

    fn datagram(doc: &str) -> Vec<u8> {
        format!("{HEADER}{doc}").into_bytes()
    }

    const SUBSEGMENT: &str = r#"{"name":"DynamoDB","id":"6b55dcc497932f1a","trace_id":"1-5759e988-bd862e3fe1be46a994272793","parent_id":"53995c3f42cd8ad8","start_time":1461096053.37,"end_time":1461096053.4,"type":"subsegment","namespace":"aws"}"#;

    #[test]
    fn parses_a_subsegment_sent_alone() {
        let segment = parse_datagram(&datagram(SUBSEGMENT)).expect("a valid datagram");
        assert_eq!(segment.name, "DynamoDB");
        assert_eq!(segment.id, "6b55dcc497932f1a");
        assert_eq!(segment.parent_id.as_deref(), Some("53995c3f42cd8ad8"));
        assert!(segment.is_subsegment());
    }

    #[test]
    fn parses_whole_and_in_progress_segments() {
        let whole = parse_datagram(&datagram(
            r#"{"name":"app","id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1478293361.271,"end_time":1478293361.449,"subsegments":[{"name":"s3","id":"70de5b6f19ff9a0b","start_time":1478293361.3,"end_time":1478293361.4}]}"#,
        ))
        .expect("a whole segment");
        assert_eq!(whole.subsegments.len(), 1);
        let open = parse_datagram(&datagram(
            r#"{"name":"app","id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1478293361.271,"in_progress":true}"#,
        ))
        .expect("an in-progress segment");
        assert!(open.in_progress);
    }

    #[test]
    fn malformed_datagrams_are_rejected_with_their_reason() {
        let cases: Vec<(Vec<u8>, DatagramError)> = vec![
            (SUBSEGMENT.as_bytes().to_vec(), DatagramError::NoHeader),
            (
                format!("{{\"format\": \"xml\", \"version\": 1}}\n{SUBSEGMENT}").into_bytes(),
                DatagramError::Header("{\"format\": \"xml\", \"version\": 1}".to_owned()),
            ),
            (
                format!("{{\"format\": \"json\", \"version\": 2}}\n{SUBSEGMENT}").into_bytes(),
                DatagramError::Header("{\"format\": \"json\", \"version\": 2}".to_owned()),
            ),
            (
                datagram(r#"{"name":"a","id":"6b55dcc497932f1a","start_time":1,"end_time":2}"#),
                DatagramError::Document("missing trace_id".to_owned()),
            ),
            (
                datagram(
                    r#"{"name":"a","id":"6b55dcc4","trace_id":"1-5759e988-bd862e3fe1be46a994272793","start_time":1,"end_time":2}"#,
                ),
                DatagramError::Document("invalid X-Ray segment id `6b55dcc4`".to_owned()),
            ),
            (
                datagram(
                    r#"{"name":"a","id":"6b55dcc497932f1a","trace_id":"1-5759e988-bd862e3fe1be46a994272793","start_time":1,"end_time":2,"type":"subsegment"}"#,
                ),
                DatagramError::Document("subsegment without parent_id".to_owned()),
            ),
            (
                datagram(
                    r#"{"name":"a","id":"6b55dcc497932f1a","trace_id":"1-5759e988-bd862e3fe1be46a994272793","start_time":1}"#,
                ),
                DatagramError::Document("neither end_time nor in_progress".to_owned()),
            ),
        ];
        for (bytes, expected) in cases {
            assert_eq!(parse_datagram(&bytes), Err(expected));
        }
        assert!(matches!(
            parse_datagram(&datagram("{\"name\": 3")),
            Err(DatagramError::Document(_))
        ));
        assert!(matches!(
            parse_datagram(&[b'\n', 0xff, 0xfe]),
            Err(DatagramError::Header(_))
        ));
    }

    #[test]
    fn deeply_nested_documents_are_refused_not_a_stack_overflow() {
        let mut doc = String::new();
        for _ in 0..10_000 {
            doc.push_str(r#"{"subsegments":["#);
        }
        assert!(matches!(
            parse_datagram(&datagram(&doc)),
            Err(DatagramError::Document(_))
        ));
    }

    #[tokio::test]
    async fn the_daemon_hands_on_good_datagrams_and_counts_bad_ones() {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let address = socket.local_addr().expect("address");
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let daemon = Daemon::spawn(socket, move |segment| {
            // The receiver lives for the whole test.
            tx.send(segment).expect("receiver open");
        });
        let client = UdpSocket::bind("127.0.0.1:0").await.expect("bind client");
        client
            .send_to(b"garbage", address)
            .await
            .expect("send garbage");
        client
            .send_to(&datagram(SUBSEGMENT), address)
            .await
            .expect("send subsegment");
        let segment = rx.recv().await.expect("a segment");
        assert_eq!(segment.id, "6b55dcc497932f1a");
        // Datagrams from one sender on loopback arrive in order, so the garbage was counted
        // before the segment was handed on.
        assert_eq!(
            daemon.stats(),
            DaemonStats {
                received: 1,
                dropped: 1
            }
        );
        daemon.stop();
    }

    #[test]
    fn a_std_socket_is_accepted() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .expect("runtime");
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        runtime.block_on(async {
            let address = socket.local_addr().expect("address");
            let daemon = Daemon::spawn_std(socket, move |segment| {
                sink.lock().expect("not poisoned").push(segment.name);
            })
            .expect("spawned");
            let client = UdpSocket::bind("127.0.0.1:0").await.expect("bind client");
            client
                .send_to(&datagram(SUBSEGMENT), address)
                .await
                .expect("send");
            while daemon.stats().received == 0 {
                tokio::task::yield_now().await;
            }
        });
        assert_eq!(*seen.lock().expect("not poisoned"), vec!["DynamoDB"]);
    }
}
