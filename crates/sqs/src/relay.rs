//! How a node that does not serve SQS runs an operation anyway: as a [`Call`] sent to the
//! node that does (the holder of the lease `sqs`, `fleet.rs`) through a [`Relay`] (the
//! server's signed channel between nodes), answered there as if local.
//!
//! When the holder changes mid-call: a holder that no longer serves refuses before doing
//! anything (`ServiceUnavailable`), and so does one that cannot be connected to; either
//! way the call is sent once more, to the holder the store names now (or run here, if
//! this node took SQS over). A call whose answer was lost after it was sent (the holder
//! died or went silent) may have been carried out: it is sent again only when doing it
//! twice changes nothing ([`Call::repeatable`]); a send, a receive, a purge are not
//! (the caller gets an error saying the outcome is unknown, and a client's own retry is
//! its choice, as with AWS).

use std::future::Future;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::attributes::MAX_WAIT;
use crate::call::Call;
use crate::error::{ErrorKind, SqsError};
use crate::handle::Sqs;
use crate::service::Standing;

/// The node that serves SQS, as other nodes reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Its node id.
    pub node: String,
    /// `host:port`.
    pub address: String,
    /// `http` or `https`.
    pub scheme: String,
}

/// Why a call did not come back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelayError {
    /// It never reached the holder (no connection, or refused before it ran).
    #[error("not sent: {0}")]
    NotSent(String),
    /// It was sent and its answer is lost: it may have been carried out.
    #[error("answer lost: {0}")]
    Lost(String),
}

/// The channel to the holder: the server's (signed with the fleet's key).
pub trait Relay: Send + Sync + 'static {
    /// Sends `call` (a serialized call) to `to`, waiting at most `wait` for its answer;
    /// answers the answer's bytes (what [`Sqs::answer`] made of it there).
    fn send<'a>(
        &'a self,
        to: &'a Holder,
        call: Vec<u8>,
        wait: Duration,
    ) -> BoxFuture<'a, Result<Vec<u8>, RelayError>>;
}

/// How long a call may go unanswered: a receive's long poll (up to 20 s) and a commit.
const ANSWER_WAIT: Duration = Duration::from_secs(30);

/// What became of one try.
enum Try<T> {
    Done(Result<T, SqsError>),
    /// Nothing was done (or doing it again changes nothing): worth one more try, once
    /// the holder has been looked for again; else this error.
    Again(SqsError),
}

impl Sqs {
    /// Runs an operation where SQS is served: `here` when this node serves it, else
    /// `call` sent to the holder; one more try when the holder changed under it.
    pub(crate) async fn run<T, H, F>(&self, call: impl Fn() -> Call, here: H) -> Result<T, SqsError>
    where
        T: DeserializeOwned,
        H: Fn() -> F,
        F: Future<Output = Result<T, SqsError>>,
    {
        let mut looked_again = false;
        loop {
            let tried = match self.local.standing() {
                Standing::Serving => match here().await {
                    // This node stood down before the operation did anything.
                    Err(e) if e.kind == ErrorKind::Unavailable => Try::Again(e),
                    done => Try::Done(done),
                },
                Standing::Elsewhere {
                    holder: Some(holder),
                    why,
                } => match self.local.inner.relay.get() {
                    Some(relay) => send(&**relay, &holder, call()).await,
                    None => Try::Done(Err(SqsError::new(ErrorKind::Unavailable, why))),
                },
                Standing::Elsewhere { holder: None, why } => {
                    Try::Again(SqsError::new(ErrorKind::Unavailable, why))
                }
            };
            match tried {
                Try::Done(result) => return result,
                Try::Again(e) => {
                    if looked_again || !self.local.look_for_holder().await {
                        return Err(e);
                    }
                    looked_again = true;
                }
            }
        }
    }
}

async fn send<T: DeserializeOwned>(relay: &dyn Relay, holder: &Holder, call: Call) -> Try<T> {
    let repeatable = call.repeatable();
    let wait = match call {
        Call::ReceiveMessage { .. } => ANSWER_WAIT + Duration::from_secs(MAX_WAIT as u64),
        _ => ANSWER_WAIT,
    };
    let body = match serde_json::to_vec(&call) {
        Ok(b) => b,
        Err(e) => return Try::Done(Err(SqsError::internal(&e))),
    };
    match relay.send(holder, body, wait).await {
        Ok(answer) => match serde_json::from_slice::<Result<T, SqsError>>(&answer) {
            // It does not serve SQS (any more): it did nothing.
            Ok(Err(e)) if e.kind == ErrorKind::Unavailable => Try::Again(e),
            Ok(done) => Try::Done(done),
            Err(e) => Try::Done(Err(SqsError::internal(&format!(
                "node {} answered an SQS call unreadably: {e}",
                holder.node
            )))),
        },
        Err(RelayError::NotSent(why)) => {
            tracing::warn!(node = %holder.node, address = %holder.address, why, "cannot send an SQS call to the node that serves SQS");
            Try::Again(unreachable(holder))
        }
        Err(RelayError::Lost(why)) if repeatable => {
            tracing::warn!(node = %holder.node, why, "an SQS call's answer was lost; sending it again");
            Try::Again(unreachable(holder))
        }
        Err(RelayError::Lost(why)) => {
            tracing::error!(node = %holder.node, why, "an SQS call's answer was lost; it may have been carried out");
            Try::Done(Err(SqsError::new(
                ErrorKind::Internal,
                format!(
                    "The request was sent to node {} of this fleet, which serves SQS, and its answer was lost: it may have been carried out.",
                    holder.node
                ),
            )))
        }
    }
}

fn unreachable(holder: &Holder) -> SqsError {
    SqsError::new(
        ErrorKind::Unavailable,
        format!(
            "SQS is served by node {} ({}) of this fleet, which cannot be reached from this node; try again.",
            holder.node, holder.address
        ),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use hearth_store::Store;

    use super::*;
    use crate::fleet::{LEASE, LOOK_AGAIN_AFTER};
    use crate::message::{OutgoingMessage, ReceiveRequest, SendRequest};
    use crate::service::{Local, QueueId};

    /// What the in-process channel does with a call.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Mode {
        Deliver,
        /// The holder cannot be connected to.
        Down,
        /// The holder runs the call and its answer is lost.
        LoseAnswer,
    }

    /// A channel to the holder that hands each call to its [`Sqs::answer`] in process.
    struct InProcess {
        holder: Mutex<Option<Sqs>>,
        mode: Mutex<Mode>,
        sent: AtomicUsize,
    }

    impl Relay for InProcess {
        fn send<'a>(
            &'a self,
            _to: &'a Holder,
            call: Vec<u8>,
            _wait: Duration,
        ) -> BoxFuture<'a, Result<Vec<u8>, RelayError>> {
            Box::pin(async move {
                self.sent.fetch_add(1, Ordering::SeqCst);
                let mode = *self.mode.lock().expect("mode");
                let holder = self.holder.lock().expect("holder").clone();
                match (mode, holder) {
                    (Mode::Down, _) | (_, None) => Err(RelayError::NotSent("down".into())),
                    (Mode::Deliver, Some(h)) => Ok(h.answer(&call).await),
                    (Mode::LoseAnswer, Some(h)) => {
                        h.answer(&call).await;
                        Err(RelayError::Lost("connection reset".into()))
                    }
                }
            })
        }
    }

    struct Fleet {
        _dir: tempfile::TempDir,
        store: Store,
        a: Sqs,
        b: Sqs,
        relay: Arc<InProcess>,
    }

    /// Two nodes on one store: `a` holds the lease, `b` sends to it.
    fn fleet() -> Fleet {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        for (id, port) in [("a", 1), ("b", 2)] {
            store
                .fleet()
                .heartbeat(
                    id,
                    &format!("127.0.0.1:{port}"),
                    r#"{"scheme":"http"}"#,
                    Duration::from_secs(60),
                )
                .expect("heartbeat");
        }
        let a = Sqs {
            local: Local::joined(&store, "a").expect("a"),
        };
        let b = Sqs {
            local: Local::joined(&store, "b").expect("b"),
        };
        assert!(a.serves_here() && !b.serves_here());
        let relay = Arc::new(InProcess {
            holder: Mutex::new(Some(a.clone())),
            mode: Mutex::new(Mode::Deliver),
            sent: AtomicUsize::new(0),
        });
        b.relay_through(relay.clone());
        Fleet {
            _dir: dir,
            store,
            a,
            b,
            relay,
        }
    }

    fn message(body: &str) -> SendRequest {
        SendRequest {
            message: OutgoingMessage {
                body: body.into(),
                sender_id: "AIDA".into(),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    async fn queue(sqs: &Sqs) -> QueueId {
        sqs.create_queue("000000000000", "q", BTreeMap::new(), BTreeMap::new())
            .await
            .expect("queue")
    }

    #[tokio::test]
    async fn a_node_without_the_lease_runs_everything_at_the_holder() {
        let f = fleet();
        let id = queue(&f.b).await;
        assert_eq!(
            f.a.get_queue("000000000000", "q", None).await,
            Ok(id.clone())
        );
        f.b.send_message(&id, message("one")).await.expect("send");
        let got = f.a.receive_message(&id, ReceiveRequest::default()).await;
        let got = got.expect("receive");
        assert_eq!(got.len(), 1);
        // A receipt from the holder works through the other node.
        f.b.delete_message(&id, &got[0].receipt_handle)
            .await
            .expect("delete");
        let attrs = f.b.get_queue_attributes(&id, &["All".to_string()]).await;
        assert_eq!(
            attrs.expect("attributes")["ApproximateNumberOfMessages"],
            "0"
        );
        let missing = QueueId {
            account: id.account.clone(),
            name: "nothing".into(),
        };
        assert_eq!(
            f.b.send_message(&missing, message("x")).await,
            Err(SqsError::no_queue())
        );
        assert_eq!(f.b.queue_policy(&missing).await, Ok(None));
    }

    #[tokio::test]
    async fn a_long_poll_through_another_node_wakes_at_a_send() {
        let f = fleet();
        let id = queue(&f.a).await;
        let started = Instant::now();
        let poll = {
            let (b, id) = (f.b.clone(), id.clone());
            tokio::spawn(async move {
                b.receive_message(
                    &id,
                    ReceiveRequest {
                        wait_seconds: Some(20),
                        ..Default::default()
                    },
                )
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        f.b.send_message(&id, message("wake")).await.expect("send");
        let got = poll.await.expect("joined").expect("received");
        assert_eq!(got.len(), 1);
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[tokio::test]
    async fn a_lost_send_is_not_repeated_and_a_lost_read_is() {
        let f = fleet();
        let id = queue(&f.b).await;
        *f.relay.mode.lock().expect("mode") = Mode::LoseAnswer;
        let before = f.relay.sent.load(Ordering::SeqCst);
        let err = f.b.send_message(&id, message("once")).await;
        let err = err.expect_err("its answer was lost");
        assert_eq!(err.kind, ErrorKind::Internal);
        assert!(err.message.contains("may have been carried out"), "{err}");
        assert_eq!(f.relay.sent.load(Ordering::SeqCst), before + 1);
        // It was sent once: one message at the holder.
        let attrs = f.a.get_queue_attributes(&id, &["All".to_string()]).await;
        assert_eq!(
            attrs.expect("attributes")["ApproximateNumberOfMessages"],
            "1"
        );
        // A read is sent again (and here lost again: then unavailable).
        let before = f.relay.sent.load(Ordering::SeqCst);
        let err = f.b.get_queue_attributes(&id, &[]).await.expect_err("lost");
        assert_eq!(err.kind, ErrorKind::Unavailable);
        assert_eq!(f.relay.sent.load(Ordering::SeqCst), before + 2);
    }

    #[tokio::test]
    async fn when_the_holder_is_gone_the_call_follows_the_lease() {
        let f = fleet();
        let id = queue(&f.b).await;
        f.b.send_message(&id, message("kept")).await.expect("send");
        // The holder is unreachable but its lease stands: unavailable, naming it.
        *f.relay.mode.lock().expect("mode") = Mode::Down;
        let err = f.b.send_message(&id, message("x")).await.expect_err("down");
        assert_eq!(err.kind, ErrorKind::Unavailable);
        assert!(err.message.contains("node a (127.0.0.1:1)"), "{err}");
        // The holder is gone and its lease lapsed: the next call finds no holder there,
        // takes the lease and runs here, with what the store kept.
        f.a.local.stand_down(None, "gone".into());
        f.store.fleet().release_lease(LEASE, "a").expect("release");
        tokio::time::sleep(LOOK_AGAIN_AFTER).await;
        let got = f.b.receive_message(&id, ReceiveRequest::default()).await;
        assert_eq!(got.expect("received")[0].body, "kept");
        assert!(f.b.serves_here());
        // And the old holder, asked again, sends its calls to the new one.
        *f.relay.holder.lock().expect("holder") = Some(f.b.clone());
        *f.relay.mode.lock().expect("mode") = Mode::Deliver;
        f.a.relay_through(f.relay.clone());
        tokio::time::sleep(LOOK_AGAIN_AFTER).await;
        assert_eq!(f.a.get_queue("000000000000", "q", None).await, Ok(id));
        assert!(!f.a.serves_here());
    }
}
