//! The observer's view of a traced invocation's end and of the runtime's next request
//! after it (X-Ray's `Overhead`): the caller is answered first; the next request is
//! reported once, when it comes; functions without Active tracing are not watched; a
//! queued event's acceptance and attempt reach the observer.

// Shared with the executor's tests, of which this one uses a part.
#[allow(dead_code)]
mod fixture;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use fixture::{config, eventually, function, Fixture};
use hearth_engine::observe::{Invoked, Observer, ObserverHandle, Queued};
use hearth_engine::{testing, EngineConfig, InvokeRequest, NewFunction};
use hearth_model::settings::TracingMode;
use hearth_sandbox::scripted::{Script, Step};
use tokio::sync::Semaphore;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Asked(String),
    Invoked(String, Option<Queued>),
    Next(String, bool),
}

/// Records what it is told, and watches every invocation it is asked about.
#[derive(Default)]
struct Recording {
    seen: Mutex<Vec<Seen>>,
    next_at: Mutex<Option<SystemTime>>,
}

impl Recording {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("not poisoned").clone()
    }

    fn push(&self, s: Seen) {
        self.seen.lock().expect("not poisoned").push(s);
    }
}

impl Observer for Recording {
    fn invoked(&self, i: &Invoked<'_>) {
        self.push(Seen::Invoked(i.request_id.to_string(), i.queued));
    }

    fn watches_next(&self, request_id: &str) -> bool {
        self.push(Seen::Asked(request_id.to_string()));
        true
    }

    fn next_requested(&self, request_id: &str, at: Option<SystemTime>) {
        *self.next_at.lock().expect("not poisoned") = at;
        self.push(Seen::Next(request_id.to_string(), at.is_some()));
    }
}

/// An engine whose runtime responds, then waits for the test's permit before it asks
/// for its next event.
fn engine(observer: Arc<Recording>, gate: Arc<Semaphore>) -> Fixture {
    let script = Script::default().on_invoke(move |e| {
        let held = gate.clone();
        vec![
            Step::Respond(e.payload.clone()),
            Step::until(async move {
                if let Ok(permit) = held.acquire().await {
                    permit.forget();
                }
            }),
        ]
    });
    Fixture::new(
        script,
        EngineConfig {
            observer: ObserverHandle(observer),
            ..config(Duration::from_secs(600))
        },
    )
}

async fn create(fx: &Fixture, name: &str, tracing: TracingMode) {
    let f = NewFunction {
        tracing,
        ..testing::new_function(name)
    };
    testing::create(&fx.engine, f).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_request_is_reported_after_the_answer() {
    let observer = Arc::new(Recording::default());
    let gate = Arc::new(Semaphore::new(0));
    let fx = engine(observer.clone(), gate.clone());
    create(&fx, "traced", TracingMode::Active).await;
    let queued = Queued {
        accepted_ms: 1_700_000_000_000,
        attempt: 2,
    };
    let req = InvokeRequest {
        queued: Some(queued),
        ..InvokeRequest::new("req-1".into(), function("traced"), Bytes::from("\"a\""))
    };
    // Answered while the runtime still holds off its next request.
    let answer = fx.path.invoke(req).await.expect("answered");
    assert_eq!(answer.payload, Bytes::from("\"a\""));
    assert_eq!(
        observer.seen(),
        vec![
            Seen::Asked("req-1".into()),
            Seen::Invoked("req-1".into(), Some(queued)),
        ]
    );
    let opened = SystemTime::now();
    gate.add_permits(1);
    eventually("the next request is reported", || {
        observer.seen().len() == 3
    })
    .await;
    assert_eq!(observer.seen()[2], Seen::Next("req-1".into(), true));
    let at = observer
        .next_at
        .lock()
        .expect("not poisoned")
        .expect("an instant");
    assert!(at >= opened, "{at:?} is before the runtime was let go");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_active_tracing_nothing_is_watched() {
    let observer = Arc::new(Recording::default());
    let gate = Arc::new(Semaphore::new(1));
    let fx = engine(observer.clone(), gate);
    create(&fx, "untraced", TracingMode::PassThrough).await;
    let req = InvokeRequest::new("req-2".into(), function("untraced"), Bytes::from("1"));
    fx.path.invoke(req).await.expect("answered");
    assert_eq!(observer.seen(), vec![Seen::Invoked("req-2".into(), None)]);
}
