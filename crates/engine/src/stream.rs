//! Invocations whose response is read as a stream (`InvokeWithResponseStream`, function
//! URLs in `RESPONSE_STREAM` mode). They run through the one invoke path
//! ([`crate::InvokePath`]): the same lookup, admission, environments, timeout, logs and
//! `REPORT`. The only difference is that the event carries a [`StreamTarget`], through
//! which a runtime's streamed response reaches the caller as it is written. The
//! invocation runs in its own task, so a caller that reads slowly or goes away changes
//! nothing but what it receives: the channel is bounded, so a slow reader holds the
//! function's writes back (back-pressure), and a gone one makes them dropped.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use hearth_runtime_api::{ResponseSink, StreamPart};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::error::EngineError;
use crate::executor::{InvokeRequest, InvokeResponse};
use crate::Engine;

/// Parts of a streamed response held between the function and its caller. Each part is
/// one body frame of the runtime's post, so this bounds what one stream holds.
const HELD_PARTS: usize = 16;

/// The content type of a response that was not streamed (a buffered function's JSON).
const BUFFERED_CONTENT_TYPE: &str = "application/json";

/// Lambda's bandwidth for streamed responses ("Bandwidth limits for response
/// streaming"): the first 6 MB go uncapped, the rest at most 2 MB/s.
const UNCAPPED_BYTES: u64 = 6 * 1024 * 1024;
const CAPPED_BYTES_PER_SECOND: f64 = 2.0 * 1024.0 * 1024.0;

/// Paces a stream's chunks to Lambda's bandwidth.
#[derive(Debug, Default)]
struct Pace {
    /// Bytes given so far.
    given: u64,
    /// When the stream passed its uncapped bytes.
    capped_since: Option<Instant>,
}

impl Pace {
    /// How long a chunk of `len` bytes waits at `now` before it may go: none within
    /// the uncapped bytes; past them, until the capped rate since the crossing has
    /// room for every byte past them.
    fn delay(&mut self, len: u64, now: Instant) -> Duration {
        self.given += len;
        if self.given <= UNCAPPED_BYTES {
            return Duration::ZERO;
        }
        let since = *self.capped_since.get_or_insert(now);
        let past = (self.given - UNCAPPED_BYTES) as f64;
        let due = since + Duration::from_secs_f64(past / CAPPED_BYTES_PER_SECOND);
        due.saturating_duration_since(now)
    }
}

/// Where a streamed response goes, set on an [`InvokeRequest`] only by
/// [`Engine::invoke_stream`]; every other caller leaves `stream` empty.
#[derive(Debug, Clone)]
pub struct StreamTarget {
    pub(crate) sink: ResponseSink,
    /// The version the invocation runs, written before the event is handed over: the
    /// stream's head names it, and only the run knows it.
    version: Arc<Mutex<Option<String>>>,
}

impl StreamTarget {
    /// The sink for an invocation of `version`.
    pub(crate) fn for_version(&self, version: &str) -> ResponseSink {
        *self.version.lock().unwrap_or_else(|p| p.into_inner()) = Some(version.to_string());
        self.sink.clone()
    }
}

/// A function error that ended a stream, as `InvokeComplete` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamError {
    /// `ErrorCode`: the error's type (`Sandbox.Timedout`, the function's `errorType`).
    pub code: String,
    /// `ErrorDetails`: its message.
    pub details: String,
}

/// How a stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEnd {
    pub error: Option<StreamError>,
    /// Base64 of the invocation log's last 4 KB, when asked for.
    pub log_result: Option<String>,
}

/// What reading a stream gives, in order: chunks, then one end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    Chunk(Bytes),
    End(StreamEnd),
}

/// An invocation whose response is being streamed.
pub struct StreamedInvoke {
    pub executed_version: String,
    /// The type the function declared for its stream (`application/json` for a
    /// function that answered buffered).
    pub content_type: String,
    source: Source,
    pace: Pace,
}

enum Source {
    /// The function streams: parts as it writes them, then the invocation's end.
    Live {
        parts: mpsc::Receiver<StreamPart>,
        /// The invocation's result, until it came.
        done: Option<oneshot::Receiver<Result<InvokeResponse, EngineError>>>,
        /// Set once the invocation is over; what is left in `parts` goes out first,
        /// then this, once.
        ended: Option<StreamEnd>,
    },
    /// The function answered buffered, or failed before it streamed: at most one
    /// chunk, then the end.
    Whole {
        chunk: Option<Bytes>,
        end: Option<StreamEnd>,
    },
}

impl StreamedInvoke {
    /// The next chunk, or the end; `None` after the end. Chunks past the first 6 MB
    /// come no faster than 2 MB/s, as Lambda streams them.
    pub async fn next(&mut self) -> Option<StreamEvent> {
        let event = self.next_unpaced().await;
        if let Some(StreamEvent::Chunk(c)) = &event {
            let wait = self.pace.delay(c.len() as u64, Instant::now());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
        event
    }

    async fn next_unpaced(&mut self) -> Option<StreamEvent> {
        match &mut self.source {
            Source::Whole { chunk, end } => match chunk.take() {
                Some(c) => Some(StreamEvent::Chunk(c)),
                None => end.take().map(StreamEvent::End),
            },
            Source::Live { parts, done, ended } => loop {
                let Some(running) = done else {
                    // A finished post was read to its end before its outcome was sent,
                    // so what is queued is the rest of it; after a timeout or a crash,
                    // whatever the dying post still sends is not waited for.
                    return match parts.try_recv() {
                        Ok(StreamPart::Chunk(c)) => Some(StreamEvent::Chunk(c)),
                        Ok(StreamPart::Start { .. }) => continue,
                        Err(_) => ended.take().map(StreamEvent::End),
                    };
                };
                let result = tokio::select! {
                    biased;
                    part = parts.recv() => match part {
                        Some(StreamPart::Chunk(c)) => return Some(StreamEvent::Chunk(c)),
                        Some(StreamPart::Start { .. }) => continue,
                        // Every sender is gone only once the invocation is over.
                        None => running.await,
                    },
                    result = &mut *running => result,
                };
                *done = None;
                *ended = Some(end_of(result.ok()));
            },
        }
    }
}

/// The end of a stream whose invocation finished with `result` (`None`: the task
/// running it was lost, which only a panic does).
fn end_of(result: Option<Result<InvokeResponse, EngineError>>) -> StreamEnd {
    match result {
        Some(Ok(resp)) => StreamEnd {
            error: resp
                .function_error
                .is_some()
                .then(|| stream_error(&resp.payload)),
            log_result: resp.log_result,
        },
        Some(Err(e)) => StreamEnd {
            error: Some(StreamError {
                code: "ServiceException".into(),
                details: e.to_string(),
            }),
            log_result: None,
        },
        None => StreamEnd {
            error: Some(StreamError {
                code: "ServiceException".into(),
                details: "the invocation was lost".into(),
            }),
            log_result: None,
        },
    }
}

/// `ErrorCode` and `ErrorDetails` of a function error's payload: its `errorType` and
/// `errorMessage` when it is Lambda's error JSON, else `Unhandled` and the payload.
fn stream_error(payload: &[u8]) -> StreamError {
    let json: Option<serde_json::Value> = serde_json::from_slice(payload).ok();
    let field = |name: &str| {
        json.as_ref()
            .and_then(|v| v.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    StreamError {
        code: field("errorType").unwrap_or_else(|| "Unhandled".into()),
        details: field("errorMessage")
            .unwrap_or_else(|| String::from_utf8_lossy(payload).into_owned()),
    }
}

impl Engine {
    /// Runs `req` through the invoke path with its response streamed. Errors before
    /// anything ran (no such function, throttled) come back as they do for
    /// [`Engine::invoke`]; once the function streams, its errors end the stream.
    pub(crate) async fn invoke_stream(
        &self,
        mut req: InvokeRequest,
    ) -> Result<StreamedInvoke, EngineError> {
        if req.dry_run {
            return self.invoke(req).await.map(|r| whole(r, false));
        }
        let (sink, mut parts) = mpsc::channel(HELD_PARTS);
        let version = Arc::new(Mutex::new(None));
        req.stream = Some(StreamTarget {
            sink,
            version: version.clone(),
        });
        let (done_tx, mut done) = oneshot::channel();
        let engine = self.clone();
        tokio::spawn(async move {
            let _ = done_tx.send(engine.invoke(req).await);
        });
        // Written by the run before it hands the event over, so set by the time the
        // runtime's start arrives.
        let executed_version = || {
            version
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone()
                .unwrap_or_default()
        };
        let lost = |_| EngineError::internal("the invocation was lost");
        tokio::select! {
            biased;
            part = parts.recv() => match part {
                Some(StreamPart::Start { content_type }) => Ok(StreamedInvoke {
                    executed_version: executed_version(),
                    content_type,
                    source: Source::Live { parts, done: Some(done), ended: None },
                    pace: Pace::default(),
                }),
                // The start is always the first part, and the invocation holds a sender
                // until it is over: this one ended without streaming.
                _ => done.await.map_err(lost)?.map(|r| whole(r, true)),
            },
            result = &mut done => match parts.try_recv() {
                // A start sent just before the end is read first, as the biased select
                // would have read it.
                Ok(StreamPart::Start { content_type }) => Ok(StreamedInvoke {
                    executed_version: executed_version(),
                    content_type,
                    source: Source::Live { parts, done: None, ended: Some(end_of(result.ok())) },
                    pace: Pace::default(),
                }),
                _ => result.map_err(lost)?.map(|r| whole(r, true)),
            },
        }
    }
}

/// A buffered answer as a stream: its payload as one chunk (none for a failure, whose
/// error the end carries, or a dry run), then the end.
fn whole(resp: InvokeResponse, with_payload: bool) -> StreamedInvoke {
    let end = end_of(Some(Ok(resp.clone())));
    let chunk =
        (with_payload && end.error.is_none() && !resp.payload.is_empty()).then_some(resp.payload);
    StreamedInvoke {
        executed_version: resp.executed_version,
        content_type: BUFFERED_CONTENT_TYPE.into(),
        source: Source::Whole {
            chunk,
            end: Some(end),
        },
        pace: Pace::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1024 * 1024;

    #[test]
    fn the_first_6_mb_go_uncapped_and_the_rest_at_2_mb_a_second() {
        let start = Instant::now();
        let mut pace = Pace::default();
        for _ in 0..6 {
            assert_eq!(pace.delay(MB, start), Duration::ZERO);
        }
        // The 7th MB crosses the line now: it may go half a second later.
        let at = start + Duration::from_secs(1);
        assert_eq!(pace.delay(MB, at), Duration::from_millis(500));
        // Sent when due, the 8th MB waits another half second.
        let at = at + Duration::from_millis(500);
        assert_eq!(pace.delay(MB, at), Duration::from_millis(500));
        // A reader that fell behind owes nothing: the rate is over the whole stream.
        let late = at + Duration::from_secs(10);
        assert_eq!(pace.delay(MB, late), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_past_6_mb_is_read_at_2_mb_a_second() {
        let (tx, parts) = mpsc::channel(16);
        let mut st = StreamedInvoke {
            executed_version: "1".into(),
            content_type: "text/plain".into(),
            source: Source::Live {
                parts,
                done: None,
                ended: Some(StreamEnd {
                    error: None,
                    log_result: None,
                }),
            },
            pace: Pace::default(),
        };
        for _ in 0..10 {
            let chunk = Bytes::from(vec![0u8; MB as usize]);
            tx.send(StreamPart::Chunk(chunk)).await.expect("queued");
        }
        drop(tx);
        // Paused time: the clock moves only by the stream's own waits.
        let start = Instant::now();
        let mut chunks = 0;
        while let Some(StreamEvent::Chunk(_)) = st.next().await {
            chunks += 1;
        }
        assert_eq!(chunks, 10);
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(2),
            "4 MB past the line"
        );
    }

    #[test]
    fn a_chunk_across_the_line_waits_only_for_its_bytes_past_it() {
        let now = Instant::now();
        let mut pace = Pace::default();
        assert_eq!(pace.delay(5 * MB, now), Duration::ZERO);
        assert_eq!(pace.delay(2 * MB, now), Duration::from_millis(500));
    }

    #[test]
    fn a_lambda_error_payload_gives_its_type_and_message() {
        let e = stream_error(
            br#"{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: r Error: Task timed out after 1.00 seconds"}"#,
        );
        assert_eq!(e.code, "Sandbox.Timedout");
        assert_eq!(
            e.details,
            "RequestId: r Error: Task timed out after 1.00 seconds"
        );
        let plain = stream_error(b"it broke");
        assert_eq!(
            (plain.code.as_str(), plain.details.as_str()),
            ("Unhandled", "it broke")
        );
    }

    #[tokio::test]
    async fn a_buffered_answer_is_one_chunk_then_the_end() {
        let mut s = whole(
            InvokeResponse {
                executed_version: "3".into(),
                function_error: None,
                log_result: Some("bG9n".into()),
                payload: Bytes::from_static(b"{\"ok\":1}"),
            },
            true,
        );
        assert_eq!(s.executed_version, "3");
        assert_eq!(
            s.next().await,
            Some(StreamEvent::Chunk(Bytes::from_static(b"{\"ok\":1}")))
        );
        assert_eq!(
            s.next().await,
            Some(StreamEvent::End(StreamEnd {
                error: None,
                log_result: Some("bG9n".into())
            }))
        );
        assert_eq!(s.next().await, None);
    }
}
