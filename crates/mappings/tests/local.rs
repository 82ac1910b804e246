//! The in-process client of this server's own queues (`hearth_mappings::local`) over a
//! real SQS service and engine, with role checking on: each call is authorized for the
//! execution role of the mapping's function at its qualifier, with the queue's policy,
//! and what SQS answers reaches the poller in the JSON client's shapes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use hearth_engine::testing;
use hearth_engine::{ConfigChange, Engine, NewFunction, NewRole};
use hearth_events::{AsyncQueue, EventsConfig};
use hearth_mappings::client::{Entry, Receive};
use hearth_mappings::{LocalQueues, QueueError};
use hearth_sandbox::scripted::Script;
use hearth_sqs::{MessageAttributeValue, OutgoingMessage, QueueId, SendRequest, Sqs};
use hearth_triggers::Invoker;
use serde_json::json;

const ACCOUNT: &str = "000000000000";
const QUEUE: &str = "arn:aws:sqs:us-east-1:000000000000:jobs";

/// Lambda may assume the test roles.
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

struct Fixture {
    engine: Engine,
    queues: LocalQueues,
    _dir: tempfile::TempDir,
}

impl Fixture {
    /// An engine that checks roles, its SQS service, and the queue `jobs`.
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = testing::config(Duration::from_secs(60));
        config.check_roles = true;
        let (engine, path, _) = testing::scripted(dir.path(), Script::default(), config);
        let events = AsyncQueue::open(
            engine.store().clone(),
            engine.writer().clone(),
            EventsConfig::default(),
            hearth_events::Holder::alone("test"),
        )
        .expect("the async queue");
        let invoker = Invoker::new(path, Arc::new(events));
        let sqs = Sqs::open_on(engine.store(), "test").expect("the SQS service");
        sqs.create_queue(ACCOUNT, "jobs", BTreeMap::new(), BTreeMap::new())
            .await
            .expect("the queue");
        Self {
            queues: LocalQueues { sqs, invoker },
            engine,
            _dir: dir,
        }
    }

    fn sqs(&self) -> &Sqs {
        &self.queues.sqs
    }

    /// A role of `account` whose one inline policy allows `actions` on `resource`.
    fn role(&self, account: &str, name: &str, actions: &[&str], resource: &str) -> String {
        self.engine
            .create_role(NewRole {
                account: account.into(),
                name: name.into(),
                path: "/".into(),
                assume_role_policy: TRUST.into(),
                description: None,
                max_session_duration: 3600,
                tags: Vec::new(),
                permissions_boundary: None,
            })
            .expect("the role");
        if !actions.is_empty() {
            let policy = json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": actions, "Resource": resource}]});
            self.engine
                .put_role_policy(account, name, "sqs", policy.to_string())
                .expect("the policy");
        }
        format!("arn:aws:iam::{account}:role/{name}")
    }

    /// The function `name` with `role`, published as version 1.
    async fn function(&self, name: &str, role: &str) {
        testing::create(
            &self.engine,
            NewFunction {
                role: role.into(),
                publish: true,
                ..testing::new_function(name)
            },
        )
        .await;
    }

    async fn send(&self, body: &str) {
        let mut attributes = BTreeMap::new();
        attributes.insert("team".to_string(), MessageAttributeValue::string("a"));
        attributes.insert(
            "blob".to_string(),
            MessageAttributeValue {
                data_type: "Binary".into(),
                string_value: None,
                binary_value: Some(vec![1, 2, 3]),
            },
        );
        self.sqs()
            .send_message(
                &QueueId {
                    account: ACCOUNT.into(),
                    name: "jobs".into(),
                },
                SendRequest {
                    message: OutgoingMessage {
                        body: body.into(),
                        attributes,
                        sender_id: ACCOUNT.into(),
                        ..Default::default()
                    },
                    ..Default::default()
                },
            )
            .await
            .expect("sent");
    }

    async fn set_policy(&self, policy: serde_json::Value) {
        self.sqs()
            .set_queue_attributes(
                &QueueId {
                    account: ACCOUNT.into(),
                    name: "jobs".into(),
                },
                BTreeMap::from([("Policy".to_string(), policy.to_string())]),
            )
            .await
            .expect("the policy is set");
    }
}

fn receive() -> Receive {
    Receive {
        max_messages: 10,
        wait_seconds: 0,
        visibility_timeout: None,
    }
}

fn code(e: QueueError) -> String {
    match e {
        QueueError::Service { code, .. } => code,
        other => panic!("not an answer of the queue: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_role_receives_deletes_and_reads_in_the_json_shapes() {
    let f = Fixture::new().await;
    let role = f.role(ACCOUNT, "poller", &["sqs:*"], QUEUE);
    f.function("f", &role).await;
    f.send("hello").await;
    let client = f.queues.client("f", None);
    let got = client.receive(QUEUE, receive()).await.expect("received");
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.body, "hello");
    assert_eq!(m.attributes["ApproximateReceiveCount"], "1");
    assert!(m.attributes.contains_key("SentTimestamp"));
    assert_eq!(
        m.message_attributes["team"].string_value.as_deref(),
        Some("a")
    );
    // Binary values as the JSON protocol carries them: base64.
    assert_eq!(
        m.message_attributes["blob"].binary_value.as_deref(),
        Some("AQID")
    );
    assert!(m.md5_of_message_attributes.is_some());
    let attrs = client
        .attributes(QUEUE, &["VisibilityTimeout"])
        .await
        .expect("attributes");
    assert_eq!(attrs["VisibilityTimeout"], "30");
    let entries = vec![
        Entry {
            id: "0".into(),
            receipt_handle: m.receipt_handle.clone(),
        },
        Entry {
            id: "1".into(),
            receipt_handle: "not-a-receipt".into(),
        },
    ];
    let failed = client
        .change_visibility_batch(QUEUE, entries.clone(), 0)
        .await
        .expect("changed");
    assert_eq!(failed, ["1"]);
    let failed = client.delete_batch(QUEUE, entries).await.expect("deleted");
    assert_eq!(failed, ["1"]);
    assert!(client
        .receive(QUEUE, receive())
        .await
        .expect("received")
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_call_needs_its_action_and_a_missing_queue_is_said_once_allowed() {
    let f = Fixture::new().await;
    let role = f.role(ACCOUNT, "reader", &["sqs:ReceiveMessage"], "*");
    f.function("f", &role).await;
    f.send("hello").await;
    let client = f.queues.client("f", None);
    let got = client.receive(QUEUE, receive()).await.expect("received");
    let entry = Entry {
        id: "0".into(),
        receipt_handle: got[0].receipt_handle.clone(),
    };
    let denied = client
        .delete_batch(QUEUE, vec![entry])
        .await
        .expect_err("no sqs:DeleteMessage");
    assert_eq!(code(denied), "AccessDenied");
    let missing = "arn:aws:sqs:us-east-1:000000000000:nothing";
    assert_eq!(
        code(
            client
                .receive(missing, receive())
                .await
                .expect_err("no queue")
        ),
        "AWS.SimpleQueueService.NonExistentQueue"
    );
    // Another region's queue is none of this server's.
    assert_eq!(
        code(
            client
                .receive("arn:aws:sqs:eu-west-1:000000000000:jobs", receive())
                .await
                .expect_err("no queue")
        ),
        "AWS.SimpleQueueService.NonExistentQueue"
    );
    // Whether a queue exists is no business of a role that may not call it.
    assert_eq!(
        code(
            client
                .attributes(missing, &["VisibilityTimeout"])
                .await
                .expect_err("denied")
        ),
        "AccessDenied"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mapping_of_a_version_polls_with_that_versions_role() {
    let f = Fixture::new().await;
    let allowed = f.role(ACCOUNT, "allowed", &["sqs:*"], QUEUE);
    let denied = f.role(ACCOUNT, "denied", &[], QUEUE);
    f.function("f", &allowed).await;
    f.engine
        .update_configuration(
            &testing::fref("f"),
            ConfigChange {
                role: Some(denied),
                ..Default::default()
            },
        )
        .await
        .expect("the role changes");
    testing::settled(&f.engine, "f").await;
    f.send("hello").await;
    let latest = f.queues.client("f", None);
    assert_eq!(
        code(latest.receive(QUEUE, receive()).await.expect_err("denied")),
        "AccessDenied"
    );
    let version = f.queues.client("f", Some("1"));
    assert_eq!(
        version
            .receive(QUEUE, receive())
            .await
            .expect("received")
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queues_policy_denies_and_lets_another_accounts_role_in() {
    let f = Fixture::new().await;
    let other = "111111111111";
    let own = f.role(ACCOUNT, "own", &["sqs:*"], "*");
    let foreign = f.role(other, "foreign", &["sqs:*"], "*");
    f.function("mine", &own).await;
    testing::create(
        &f.engine,
        NewFunction {
            role: foreign.clone(),
            ..testing::new_function(&hearth_model::arn::function_key(other, "theirs"))
        },
    )
    .await;
    f.send("hello").await;
    let theirs = f
        .queues
        .client(&hearth_model::arn::function_key(other, "theirs"), None);
    assert_eq!(
        code(
            theirs
                .receive(QUEUE, receive())
                .await
                .expect_err("not let in")
        ),
        "AccessDenied"
    );
    f.set_policy(json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": foreign}, "Action": "sqs:*", "Resource": QUEUE},
        {"Effect": "Deny", "Principal": "*", "Action": "sqs:DeleteMessage", "Resource": QUEUE}]}))
        .await;
    let got = theirs.receive(QUEUE, receive()).await.expect("let in");
    assert_eq!(got.len(), 1);
    let mine = f.queues.client("mine", None);
    let entry = Entry {
        id: "0".into(),
        receipt_handle: got[0].receipt_handle.clone(),
    };
    assert_eq!(
        code(
            mine.delete_batch(QUEUE, vec![entry])
                .await
                .expect_err("denied by the queue")
        ),
        "AccessDenied"
    );
}
