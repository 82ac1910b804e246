//! Event-source mappings in-process, over a real SQS service and no poller (so a
//! transitional state lasts until the test settles it, as a poller would): the queue
//! checks of Create and Update (the queue must exist, and its visibility timeout cover
//! the function's timeout), and the refusal of a change while another is in progress, in
//! Lambda's codes and words. Behaviour with real clients and pollers is covered by
//! `tests/e2e/test_event_source_mappings.py`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use hearth_engine::testing;
use hearth_engine::NewFunction;
use hearth_events::AsyncQueue;
use hearth_mappings::{Endpoints, LocalQueues};
use hearth_model::event_source_mapping::MappingState;
use hearth_serve::BoxApp;
use hearth_sqs::Sqs;
use hearth_store::Store;
use hearth_triggers::{EventSource, Invoker, SourceContext};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

const ACCOUNT: &str = "000000000000";

fn queue_arn(name: &str) -> String {
    format!("arn:aws:sqs:us-east-1:{ACCOUNT}:{name}")
}

struct Fixture {
    app: BoxApp,
    store: Store,
    sqs: Sqs,
    _dir: tempfile::TempDir,
}

impl Fixture {
    /// The router with this server's queues and a function `f` whose timeout is 3 s.
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let (engine, path) = testing::engine(dir.path());
        let store = engine.store().clone();
        let sqs = Sqs::open_on(&store, "test").expect("the SQS service");
        let queue = AsyncQueue::open(
            store.clone(),
            engine.writer().clone(),
            Default::default(),
            hearth_events::Holder::alone("test"),
        )
        .expect("the async queue");
        let invoker = Invoker::new(path, Arc::new(queue.clone()));
        drop(
            Box::new(queue.dispatcher())
                .start(SourceContext::new(invoker.clone()))
                .expect("the dispatcher starts"),
        );
        testing::create(
            &engine,
            NewFunction {
                timeout: 3,
                ..testing::new_function("f")
            },
        )
        .await;
        let queues = Endpoints::new(
            LocalQueues {
                sqs: sqs.clone(),
                invoker: invoker.clone(),
            },
            Default::default(),
        );
        let options = hearth_api::ApiOptions {
            sqs: Some(sqs.clone()),
            mapping_queues: Some(Arc::new(queues)),
            ..Default::default()
        };
        Self {
            app: hearth_serve::boxed(hearth_api::router_with(engine, invoker, options)),
            store,
            sqs,
            _dir: dir,
        }
    }

    async fn queue(&self, name: &str, visibility: &str) -> String {
        let attrs = BTreeMap::from([("VisibilityTimeout".to_string(), visibility.to_string())]);
        self.sqs
            .create_queue(ACCOUNT, name, attrs, BTreeMap::new())
            .await
            .expect("the queue");
        queue_arn(name)
    }

    async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .body(body.map_or_else(Body::empty, |v| Body::from(v.to_string())))
            .expect("request");
        let resp = self.app.clone().oneshot(req).await.expect("response");
        let status = resp.status();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        (status, serde_json::from_slice(&bytes).expect("a JSON body"))
    }

    async fn create(&self, queue: &str) -> (StatusCode, Value) {
        self.call(
            "POST",
            "/2015-03-31/event-source-mappings/",
            Some(json!({"FunctionName": "f", "EventSourceArn": queue})),
        )
        .await
    }

    /// What a poller does once the mapping's change is in effect.
    fn settle(&self, uuid: &str) {
        self.store
            .mappings()
            .edit_mapping(
                uuid,
                Box::new(|m| {
                    m.state = m.state.settled(m.enabled).expect("not deleting");
                    true
                }),
            )
            .expect("settled");
    }
}

/// Lambda's error: its status, type and message.
fn error(reply: (StatusCode, Value)) -> (u16, String, String) {
    let (status, body) = reply;
    (
        status.as_u16(),
        body["Type"]
            .as_str()
            .map_or_else(String::new, str::to_string),
        body["Message"]
            .as_str()
            .or_else(|| body["message"].as_str())
            .unwrap_or_default()
            .to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mapping_needs_a_function_and_a_queue_that_hides_messages_as_long_as_it_runs() {
    let f = Fixture::new().await;
    let missing = f
        .call(
            "POST",
            "/2015-03-31/event-source-mappings/",
            Some(json!({"FunctionName": "nope", "EventSourceArn": queue_arn("nothing")})),
        )
        .await;
    assert_eq!(
        error(missing),
        (400, "User".into(), "Function does not exist".into())
    );
    let (status, body) = f.create(&queue_arn("nothing")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        f.call("GET", "/2015-03-31/event-source-mappings/", None)
            .await
            .1["EventSourceMappings"],
        json!([])
    );
    assert_eq!(
        body["message"].as_str().or(body["Message"].as_str()),
        Some(
            "Error occurred while ReceiveMessage. SQS Error Code: \
             AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue \
             does not exist."
        ),
        "{body}"
    );
    let short = f.queue("short", "2").await;
    let (status, body) = f.create(&short).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["message"].as_str().or(body["Message"].as_str()),
        Some("Queue visibility timeout: 2 seconds is less than Function timeout: 3 seconds"),
        "{body}"
    );
    // As long as the function's timeout is enough.
    let exact = f.queue("exact", "3").await;
    let (status, body) = f.create(&exact).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_waits_until_the_last_one_is_in_effect() {
    let f = Fixture::new().await;
    let q = f.queue("jobs", "30").await;
    let (status, made) = f.create(&q).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{made}");
    assert_eq!(made["State"], "Creating");
    let uuid = made["UUID"].as_str().expect("a UUID").to_string();
    let path = format!("/2015-03-31/event-source-mappings/{uuid}");
    let update = || f.call("PUT", &path, Some(json!({"BatchSize": 5})));
    let in_use = |verb: &str| {
        (
            400,
            "User".to_string(),
            format!("Cannot {verb} the event source mapping because it is in use."),
        )
    };
    let (status, body) = update().await;
    assert_eq!(error((status, body.clone())), in_use("update"), "{body}");
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error(f.call("DELETE", &path, None).await), in_use("delete"));

    f.settle(&uuid);
    let (status, updated) = update().await;
    assert_eq!(status, StatusCode::ACCEPTED, "{updated}");
    assert_eq!(updated["State"], "Updating");
    assert_eq!(error(update().await), in_use("update"));
    assert_eq!(error(f.call("DELETE", &path, None).await), in_use("delete"));

    f.settle(&uuid);
    let (status, deleted) = f.call("DELETE", &path, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{deleted}");
    assert_eq!(deleted["State"], "Deleting");
    assert_eq!(error(update().await), in_use("update"));
    assert_eq!(error(f.call("DELETE", &path, None).await), in_use("delete"));
    let kept = f
        .store
        .mappings()
        .get_mapping(&uuid)
        .expect("get")
        .expect("kept until the poller deletes it");
    assert_eq!(kept.state, MappingState::Deleting);
    assert_eq!(kept.batch_size, 5);
}
