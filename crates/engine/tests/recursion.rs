//! Recursive loop detection on the invoke path: an invocation from SQS or SNS is counted
//! in its trace header's `Lineage`, the function sees the counted header, and past the
//! limit a `Terminate` function is not run (the observer hears of the drop) while an
//! `Allow` one is.

// Shared with the executor's tests, of which this one uses a part.
#[allow(dead_code, unused_imports)]
mod fixture;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use fixture::{config, function, Fixture};
use hearth_engine::observe::{Invoked, Observer, ObserverHandle};
use hearth_engine::{EngineError, InvokeRequest};
use hearth_model::arn::function_arn;
use hearth_model::function_settings::RecursiveLoop;
use hearth_sandbox::scripted::Script;
use hearth_traces::function_hash;

const ROOT: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0";

/// The headers the runtimes were given, and the functions whose invocations were dropped.
#[derive(Default)]
struct Recording {
    headers: Mutex<Vec<String>>,
    dropped: Mutex<Vec<String>>,
}

impl Observer for Recording {
    fn invoked(&self, i: &Invoked<'_>) {
        self.headers
            .lock()
            .expect("not poisoned")
            .push(i.trace_header.to_string());
    }

    fn recursive_invocation_dropped(&self, function: &str) {
        self.dropped
            .lock()
            .expect("not poisoned")
            .push(function.to_string());
    }
}

fn from_queue(name: &str, header: &str, counts_lineage: bool) -> InvokeRequest {
    InvokeRequest {
        trace_id: Some(header.to_string()),
        counts_lineage,
        ..InvokeRequest::new(
            uuid::Uuid::new_v4().to_string(),
            function(name),
            Bytes::from_static(b"{}"),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seventeenth_invocation_of_a_chain_is_dropped_unless_allowed() {
    let observer = Arc::new(Recording::default());
    let fx = Fixture::new(
        Script::default(),
        hearth_engine::EngineConfig {
            observer: ObserverHandle(observer.clone()),
            ..config(Duration::from_secs(600))
        },
    );
    fx.create("looped", 3, &[]).await;
    let h = function_hash(&function_arn("looped", None));

    // The 16th runs, with its count in the header the runtime gets.
    let at_15 = format!("{ROOT};Lineage={h}:15");
    fx.path
        .invoke(from_queue("looped", &at_15, true))
        .await
        .expect("the 16th runs");
    assert_eq!(
        observer.headers.lock().expect("headers").last().cloned(),
        Some(format!("{ROOT};Lineage={h}:16"))
    );

    // The 17th is refused, and counted.
    let at_16 = format!("{ROOT};Lineage={h}:16");
    let err = fx
        .path
        .invoke(from_queue("looped", &at_16, true))
        .await
        .expect_err("the 17th is dropped");
    assert!(
        matches!(&err, EngineError::RecursiveInvocation(m) if m.ends_with(":function:looped")),
        "{err:?}"
    );
    assert_eq!(*observer.dropped.lock().expect("dropped"), ["looped"]);
    assert_eq!(observer.headers.lock().expect("headers").len(), 1);

    // A direct invoke is not counted: the same header runs as it came.
    fx.path
        .invoke(from_queue("looped", &at_16, false))
        .await
        .expect("not counted");
    assert_eq!(
        observer.headers.lock().expect("headers").last().cloned(),
        Some(at_16.clone())
    );

    // Allow lets the loop run on.
    fx.engine
        .put_recursion("looped", RecursiveLoop::Allow)
        .expect("allow");
    fx.path
        .invoke(from_queue("looped", &at_16, true))
        .await
        .expect("allowed");
    assert_eq!(
        observer.headers.lock().expect("headers").last().cloned(),
        Some(format!("{ROOT};Lineage={h}:17"))
    );
    assert_eq!(observer.dropped.lock().expect("dropped").len(), 1);
}
