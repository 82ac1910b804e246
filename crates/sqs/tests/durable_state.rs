//! What the service keeps across a restart besides queues and messages, through its
//! public handle on a real (SQLite) store: a deleted queue's name is refused for 60 s,
//! move tasks are listed again and a running one is resumed; and FIFO deduplication by
//! `DeduplicationScope`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hearth_sqs::{
    ErrorKind, MoveTaskInfo, OutgoingMessage, QueueId, ReceiveRequest, SendRequest, Sqs,
};
use hearth_store::{SqsMoveTaskRow, SqsOp, Store};

const ACCOUNT: &str = "000000000000";

fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn message(body: &str, group: Option<&str>, dedup: Option<&str>) -> SendRequest {
    SendRequest {
        message: OutgoingMessage {
            body: body.into(),
            sender_id: ACCOUNT.into(),
            group_id: group.map(str::to_string),
            dedup_id: dedup.map(str::to_string),
            ..Default::default()
        },
        system_attributes: BTreeMap::new(),
    }
}

async fn bodies(sqs: &Sqs, id: &QueueId) -> Vec<String> {
    let mut all = Vec::new();
    loop {
        let got = sqs
            .receive_message(
                id,
                ReceiveRequest {
                    max_messages: Some(10),
                    visibility_timeout: Some(600),
                    ..Default::default()
                },
            )
            .await
            .expect("receive");
        if got.is_empty() {
            all.sort();
            return all;
        }
        all.extend(got.into_iter().map(|m| m.body));
    }
}

async fn create(
    sqs: &Sqs,
    name: &str,
    a: &[(&str, &str)],
) -> Result<QueueId, hearth_sqs::SqsError> {
    sqs.create_queue(ACCOUNT, name, attrs(a), BTreeMap::new())
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_queues_name_waits_60_seconds_across_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("store");
    let sqs = Sqs::open(store.sqs_handle()).expect("sqs");
    let id = create(&sqs, "gone", &[]).await.expect("create");
    sqs.delete_queue(&id).await.expect("delete");
    let e = create(&sqs, "gone", &[]).await.expect_err("too soon");
    assert_eq!(e.kind, ErrorKind::QueueDeletedRecently);
    assert_eq!(
        e.message,
        "You must wait 60 seconds after deleting a queue before you can create another with the same name."
    );
    // Another account's queue of that name is not held back.
    sqs.create_queue("111111111111", "gone", BTreeMap::new(), BTreeMap::new())
        .await
        .expect("another account's");
    drop(sqs);

    let sqs = Sqs::open(store.sqs_handle()).expect("reopen");
    let e = create(&sqs, "gone", &[]).await.expect_err("still too soon");
    assert_eq!(e.kind, ErrorKind::QueueDeletedRecently);
    // A minute later (the deletion recorded as 61 s old), the name is free again.
    let at_ms = now_ms() - 61_000;
    store
        .sqs()
        .sqs_apply(&[SqsOp::QueueDeleted {
            arn: id.arn(),
            at_ms,
        }])
        .expect("age the deletion");
    create(&sqs, "gone", &[]).await.expect("created again");
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_deduplication_is_per_queue_or_per_group_as_the_scope_says() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("store");
    let sqs = Sqs::open(store.sqs_handle()).expect("sqs");
    let per_queue = create(&sqs, "q.fifo", &[("FifoQueue", "true")])
        .await
        .expect("queue scope");
    let per_group = create(
        &sqs,
        "g.fifo",
        &[
            ("FifoQueue", "true"),
            ("DeduplicationScope", "messageGroup"),
            ("FifoThroughputLimit", "perMessageGroupId"),
        ],
    )
    .await
    .expect("group scope");
    for id in [&per_queue, &per_group] {
        for (body, group) in [("a1", "a"), ("b1", "b"), ("a2", "a")] {
            sqs.send_message(id, message(body, Some(group), Some("same")))
                .await
                .expect("send");
        }
    }
    assert_eq!(bodies(&sqs, &per_queue).await, ["a1"]);
    assert_eq!(bodies(&sqs, &per_group).await, ["a1", "b1"]);
}

/// A dead-letter queue `dlq` (of `src`) holding `n` messages, and a destination `dest`.
async fn dead_letters(sqs: &Sqs, n: usize) -> (QueueId, QueueId) {
    let dlq = create(sqs, "dlq", &[]).await.expect("dlq");
    let policy = format!(
        r#"{{"deadLetterTargetArn":"{}","maxReceiveCount":"1"}}"#,
        dlq.arn()
    );
    create(sqs, "src", &[("RedrivePolicy", &policy)])
        .await
        .expect("src");
    let dest = create(sqs, "dest", &[]).await.expect("dest");
    for i in 0..n {
        sqs.send_message(&dlq, message(&format!("m{i}"), None, None))
            .await
            .expect("send");
    }
    (dlq, dest)
}

async fn wait_status(sqs: &Sqs, source: &str, status: &str) -> MoveTaskInfo {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let tasks = sqs
            .list_message_move_tasks(source, None)
            .await
            .expect("list");
        if tasks[0].status == status || Instant::now() > deadline {
            assert_eq!(tasks[0].status, status, "{tasks:?}");
            return tasks[0].clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn move_tasks_are_listed_after_a_restart_and_a_running_one_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("store");
    let sqs = Sqs::open(store.sqs_handle()).expect("sqs");
    let (dlq, dest) = dead_letters(&sqs, 3).await;
    let source = dlq.arn();
    sqs.start_message_move_task(&source, Some(&dest.arn()), None)
        .await
        .expect("start");
    let done = wait_status(&sqs, &source, "COMPLETED").await;
    assert_eq!((done.moved, done.to_move), (3, 3));
    assert!(
        done.task_handle.is_empty(),
        "only a running task has a handle"
    );
    drop(sqs);

    // The finished task is listed after a restart.
    let sqs = Sqs::open(store.sqs_handle()).expect("reopen");
    assert_eq!(
        sqs.list_message_move_tasks(&source, None)
            .await
            .expect("list"),
        vec![done.clone()]
    );
    // A task that was RUNNING when the service stopped (one message of four moved)
    // resumes when it starts again, and one that was CANCELLING is CANCELLED.
    for i in 0..3 {
        sqs.send_message(&dlq, message(&format!("n{i}"), None, None))
            .await
            .expect("send");
    }
    drop(sqs);
    let running = MoveTaskInfo {
        task_handle: "running-handle".into(),
        status: "RUNNING".into(),
        source_arn: source.clone(),
        destination_arn: Some(dest.arn()),
        max_per_second: None,
        moved: 1,
        to_move: 4,
        failure_reason: None,
        started_ms: done.started_ms + 1,
    };
    let cancelling = MoveTaskInfo {
        task_handle: "cancelling-handle".into(),
        status: "CANCELLING".into(),
        source_arn: "arn:aws:sqs:us-east-1:000000000000:src".into(),
        destination_arn: None,
        started_ms: done.started_ms,
        ..running.clone()
    };
    let row = |t: &MoveTaskInfo| {
        SqsOp::PutMoveTask(SqsMoveTaskRow {
            handle: t.task_handle.clone(),
            source: t.source_arn.clone(),
            started_ms: t.started_ms,
            data: serde_json::to_string(t).expect("json"),
        })
    };
    store
        .sqs()
        .sqs_apply(&[row(&running), row(&cancelling)])
        .expect("tasks as a crash left them");
    let sqs = Sqs::open(store.sqs_handle()).expect("reopen");
    let resumed = wait_status(&sqs, &source, "COMPLETED").await;
    assert_eq!((resumed.moved, resumed.to_move), (4, 4));
    assert_eq!(
        bodies(&sqs, &dest).await,
        ["m0", "m1", "m2", "n0", "n1", "n2"]
    );
    let listed = sqs
        .list_message_move_tasks(&source, Some(10))
        .await
        .expect("list");
    assert_eq!(listed.len(), 2, "newest first: {listed:?}");
    assert_eq!(listed[1], done);
    let other = sqs
        .list_message_move_tasks("arn:aws:sqs:us-east-1:000000000000:src", None)
        .await
        .expect("list");
    assert_eq!(other[0].status, "CANCELLED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_task_stays_cancelled_and_each_source_keeps_ten() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("store");
    let sqs = Sqs::open(store.sqs_handle()).expect("sqs");
    let (dlq, dest) = dead_letters(&sqs, 5).await;
    let source = dlq.arn();
    let handle = sqs
        .start_message_move_task(&source, Some(&dest.arn()), Some(1))
        .await
        .expect("start");
    let e = sqs
        .start_message_move_task(&source, None, None)
        .await
        .expect_err("one at a time");
    assert_eq!(
        e.message,
        "There is already a task running. Only one active task is allowed for a source queue arn at a given time."
    );
    let moved = sqs.cancel_message_move_task(&handle).await.expect("cancel");
    assert!(moved < 5, "{moved}");
    let e = sqs
        .cancel_message_move_task("not a handle")
        .await
        .expect_err("bad");
    assert_eq!(
        (e.kind, e.message.as_str()),
        (
            ErrorKind::InvalidParameterValue,
            "Value for parameter TaskHandle is invalid."
        )
    );
    let cancelled = wait_status(&sqs, &source, "CANCELLED").await;
    assert!(!bodies(&sqs, &dlq).await.is_empty(), "some were left");
    // Ten more tasks (each done at once on the now empty queue) push the first out.
    for _ in 0..10 {
        sqs.start_message_move_task(&source, Some(&dest.arn()), None)
            .await
            .expect("start");
        wait_status(&sqs, &source, "COMPLETED").await;
    }
    drop(sqs);
    let sqs = Sqs::open(store.sqs_handle()).expect("reopen");
    let listed = sqs
        .list_message_move_tasks(&source, Some(10))
        .await
        .expect("list");
    assert_eq!(listed.len(), 10);
    assert!(listed.iter().all(|t| t.status == "COMPLETED"), "{listed:?}");
    assert!(!listed.contains(&cancelled));
    assert_eq!(store.sqs().sqs_move_tasks().expect("rows").len(), 10);
}
