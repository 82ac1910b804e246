//! Streamed invocations (`InvokePath::invoke_stream`) on scripted runtimes that post
//! their response as a stream: chunks reach the caller as the runtime writes them, and
//! the invocation is an invocation like any (its concurrency slot, timeout, log).

// Shared with tests/executor.rs: what this file leaves unused, that one uses.
#[allow(dead_code)]
mod fixture;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use fixture::{config, eventually, function, throttled_by_reservation, Fixture};
use hearth_engine::{
    EngineError, InvokeRequest, StreamEnd, StreamError, StreamEvent, StreamedInvoke,
};
use hearth_sandbox::scripted::{Script, Step, StreamStep};
use tokio::sync::Semaphore;

fn engine(script: Script) -> Fixture {
    Fixture::new(script, config(Duration::from_secs(600)))
}

/// Invokes `$LATEST` with its response read as a stream, and the log tail.
async fn try_stream(
    fx: &Fixture,
    name: &str,
    payload: &str,
) -> Result<StreamedInvoke, EngineError> {
    fx.path
        .invoke_stream(InvokeRequest {
            log_tail: true,
            ..InvokeRequest::new(
                uuid::Uuid::new_v4().to_string(),
                function(name),
                Bytes::from(payload.to_string()),
            )
        })
        .await
}

/// A gate the test opens: a future that waits for one permit.
fn gate() -> (Arc<Semaphore>, impl Fn() -> StreamStep) {
    let gate = Arc::new(Semaphore::new(0));
    let held = gate.clone();
    let wait = move || {
        let held = held.clone();
        StreamStep::until(async move {
            if let Ok(p) = held.acquire().await {
                p.forget();
            }
        })
    };
    (gate, wait)
}

/// The rest of a stream: its chunks joined, and its end.
async fn rest(s: &mut StreamedInvoke) -> (Vec<u8>, StreamEnd) {
    let mut body = Vec::new();
    loop {
        match s.next().await.expect("a stream ends with its end") {
            StreamEvent::Chunk(c) => body.extend_from_slice(&c),
            StreamEvent::End(end) => {
                assert_eq!(s.next().await, None, "nothing after the end");
                return (body, end);
            }
        }
    }
}

fn log(end: &StreamEnd) -> String {
    let tail = end.log_result.as_deref().expect("a log tail");
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(tail)
            .expect("base64"),
    )
    .expect("utf-8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_reach_the_caller_while_the_runtime_is_still_writing() {
    let (open, wait) = gate();
    let fx = engine(Script::default().on_invoke(move |_| {
        vec![
            Step::print("streaming"),
            Step::Stream {
                content_type: "text/plain".into(),
                parts: vec![
                    StreamStep::write("first"),
                    wait(),
                    StreamStep::write("second"),
                ],
            },
        ]
    }));
    fx.create("streams", 3, &[]).await;
    let mut s = try_stream(&fx, "streams", "{}").await.expect("streams");
    assert_eq!(s.executed_version, "$LATEST");
    assert_eq!(s.content_type, "text/plain");
    // The runtime waits at the gate: what it wrote before is already here.
    assert_eq!(
        s.next().await,
        Some(StreamEvent::Chunk(Bytes::from_static(b"first")))
    );
    open.add_permits(1);
    let (body, end) = rest(&mut s).await;
    assert_eq!(body, b"second");
    assert_eq!(end.error, None);
    let log = log(&end);
    assert!(log.contains("streaming"), "{log}");
    assert!(
        log.contains("END RequestId:") && log.contains("REPORT RequestId:"),
        "{log}"
    );
    // The environment serves again.
    let again = try_stream(&fx, "streams", "{}").await.expect("streams");
    drop(again);
    eventually("the second event ran", || fx.records.events().len() == 2).await;
    assert_eq!(fx.records.environments(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_holds_its_concurrency_slot_until_it_ends() {
    let (open, wait) = gate();
    let fx = engine(Script::default().on_invoke(move |_| {
        vec![Step::Stream {
            content_type: "text/plain".into(),
            parts: vec![StreamStep::write("a"), wait(), StreamStep::write("b")],
        }]
    }));
    fx.create("slot", 3, &[]).await;
    fx.reserve("slot", 1);
    let mut s = try_stream(&fx, "slot", "{}").await.expect("streams");
    assert!(matches!(s.next().await, Some(StreamEvent::Chunk(_))));
    match try_stream(&fx, "slot", "{}").await {
        Err(e) => assert!(throttled_by_reservation(&e), "{e:?}"),
        Ok(_) => panic!("a second stream was admitted past the reservation"),
    }
    let (_, refused) = fx.try_invoke("slot", "{}").await;
    assert!(refused.is_err_and(|e| throttled_by_reservation(&e)));
    open.add_permits(1);
    assert_eq!(rest(&mut s).await.0, b"b");
    // Ended, it gives its slot back.
    let mut next = try_stream(&fx, "slot", "{}").await.expect("admitted again");
    open.add_permits(1);
    assert_eq!(rest(&mut next).await.0, b"ab");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_in_the_trailers_or_a_timeout_ends_the_stream() {
    let fx = engine(Script::default().on_invoke(|e| {
        let last = if e.payload.as_ref() == b"\"hang\"" {
            StreamStep::Hang
        } else {
            StreamStep::Fail {
                error_type: "Error".into(),
                body: Bytes::from_static(br#"{"errorType":"Error","errorMessage":"late"}"#),
            }
        };
        vec![Step::Stream {
            content_type: "application/octet-stream".into(),
            parts: vec![StreamStep::write("partial"), last],
        }]
    }));
    fx.create("fails", 1, &[]).await;
    let mut s = try_stream(&fx, "fails", "\"fail\"").await.expect("streams");
    let (body, end) = rest(&mut s).await;
    assert_eq!(body, b"partial");
    assert_eq!(
        end.error,
        Some(StreamError {
            code: "Error".into(),
            details: "late".into()
        })
    );
    assert!(
        log(&end).contains("Status: error\tError Type: Error"),
        "{}",
        log(&end)
    );
    let mut s = try_stream(&fx, "fails", "\"hang\"").await.expect("streams");
    let (body, end) = rest(&mut s).await;
    assert_eq!(body, b"partial");
    let error = end.error.expect("timed out");
    assert_eq!(error.code, "Sandbox.Timedout");
    assert!(
        error.details.ends_with("Task timed out after 1.00 seconds"),
        "{}",
        error.details
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_read_whole_and_a_whole_answer_read_as_a_stream() {
    let fx = engine(Script::default().on_invoke(|e| {
        if e.payload.as_ref() == b"\"buffered\"" {
            return vec![Step::respond("{\"whole\":true}")];
        }
        vec![Step::Stream {
            content_type: "text/plain".into(),
            parts: vec![StreamStep::write("x"), StreamStep::write("y")],
        }]
    }));
    fx.create("both", 3, &[]).await;
    // A streaming runtime answering a buffered Invoke: the stream, buffered whole.
    assert_eq!(fx.invoke("both", "\"streamed\"").await.ok(), "xy");
    // A buffered answer read as a stream: one chunk, then the end.
    let mut s = try_stream(&fx, "both", "\"buffered\"")
        .await
        .expect("answers");
    assert_eq!(s.content_type, "application/json");
    assert_eq!(
        s.next().await,
        Some(StreamEvent::Chunk(Bytes::from_static(b"{\"whole\":true}")))
    );
    assert!(matches!(
        s.next().await,
        Some(StreamEvent::End(StreamEnd { error: None, .. }))
    ));
}
