//! SQS queues and messages (`SqsStore`): what `hearth-sqs` finds again after a restart.

use hearth_store::{SqsMessageRow, SqsMoveTaskRow, SqsOp, SqsQueueRow};

use crate::backend::Fixture;

each_backend!(
    queues_and_messages_survive_a_restart,
    deletion_times_survive_a_restart,
    move_tasks_survive_a_restart,
);

fn queues_and_messages_survive_a_restart(s: Fixture) {
    let q = SqsQueueRow {
        arn: "arn:aws:sqs:us-east-1:000000000000:q".into(),
        account: "000000000000".into(),
        name: "q".into(),
        data: "{}".into(),
    };
    let msg = |seq| SqsMessageRow {
        queue: q.arn.clone(),
        seq,
        data: format!("{{\"n\":{seq}}}"),
        receive_count: 0,
        first_receive_ms: 0,
    };
    s.sqs()
        .sqs_apply(&[
            SqsOp::PutQueue(q.clone()),
            SqsOp::PutMessage(msg(1)),
            SqsOp::PutMessage(msg(2)),
            SqsOp::PutMessage(msg(3)),
        ])
        .expect("apply");
    let updated = SqsQueueRow {
        data: "{\"x\":1}".into(),
        ..q.clone()
    };
    s.sqs()
        .sqs_apply(&[
            SqsOp::PutQueue(updated.clone()),
            SqsOp::Received {
                queue: q.arn.clone(),
                seq: 2,
                receive_count: 3,
                first_receive_ms: 7,
            },
            SqsOp::DeleteMessage {
                queue: q.arn.clone(),
                seq: 3,
            },
        ])
        .expect("apply");
    let s = s.reopen();
    assert_eq!(s.sqs().sqs_queues().expect("queues"), vec![updated]);
    let got = s.sqs().sqs_messages(&q.arn).expect("messages");
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].data, "{\"n\":2}");
    assert_eq!((got[1].receive_count, got[1].first_receive_ms), (3, 7));
    assert_eq!(s.sqs().sqs_max_seq().expect("max"), 2);
    s.sqs()
        .sqs_apply(&[SqsOp::Purge {
            queue: q.arn.clone(),
            below: 2,
        }])
        .expect("purge");
    assert_eq!(s.sqs().sqs_messages(&q.arn).expect("messages").len(), 1);
    s.sqs()
        .sqs_apply(&[SqsOp::DeleteQueue { arn: q.arn.clone() }])
        .expect("delete");
    assert!(s.sqs().sqs_queues().expect("queues").is_empty());
    assert!(s.sqs().sqs_messages(&q.arn).expect("messages").is_empty());
}

fn deletion_times_survive_a_restart(s: Fixture) {
    let (a, b) = (
        "arn:aws:sqs:us-east-1:000000000000:a",
        "arn:aws:sqs:us-east-1:000000000000:b",
    );
    assert_eq!(s.sqs().sqs_deleted_at(a).expect("read"), None);
    s.sqs()
        .sqs_apply(&[
            SqsOp::QueueDeleted {
                arn: a.into(),
                at_ms: 1_000,
            },
            SqsOp::QueueDeleted {
                arn: b.into(),
                at_ms: 5_000,
            },
        ])
        .expect("apply");
    // A second deletion of the name replaces the first.
    s.sqs()
        .sqs_apply(&[SqsOp::QueueDeleted {
            arn: a.into(),
            at_ms: 2_000,
        }])
        .expect("apply");
    let s = s.reopen();
    assert_eq!(s.sqs().sqs_deleted_at(a).expect("read"), Some(2_000));
    assert_eq!(s.sqs().sqs_deleted_at(b).expect("read"), Some(5_000));
    s.sqs()
        .sqs_apply(&[SqsOp::ForgetDeletions { before_ms: 3_000 }])
        .expect("forget");
    assert_eq!(s.sqs().sqs_deleted_at(a).expect("read"), None);
    assert_eq!(s.sqs().sqs_deleted_at(b).expect("read"), Some(5_000));
}

fn move_tasks_survive_a_restart(s: Fixture) {
    let dlq = "arn:aws:sqs:us-east-1:000000000000:dlq";
    let other = "arn:aws:sqs:us-east-1:000000000000:other";
    let task = |handle: &str, source: &str, started_ms, data: &str| SqsMoveTaskRow {
        handle: handle.into(),
        source: source.into(),
        started_ms,
        data: data.into(),
    };
    s.sqs()
        .sqs_apply(&[
            SqsOp::PutQueue(SqsQueueRow {
                arn: dlq.into(),
                account: "000000000000".into(),
                name: "dlq".into(),
                data: "{}".into(),
            }),
            SqsOp::PutMoveTask(task("h2", dlq, 20, "{\"n\":2}")),
            SqsOp::PutMoveTask(task("h1", dlq, 10, "{\"n\":1}")),
            SqsOp::PutMoveTask(task("h3", other, 5, "{\"n\":3}")),
        ])
        .expect("apply");
    // Progress replaces a task's record (its source and start stay).
    s.sqs()
        .sqs_apply(&[
            SqsOp::PutMoveTask(task("h2", dlq, 20, "{\"n\":22}")),
            SqsOp::DeleteMoveTask {
                handle: "h3".into(),
            },
        ])
        .expect("apply");
    let s = s.reopen();
    assert_eq!(
        s.sqs().sqs_move_tasks().expect("tasks"),
        vec![
            task("h1", dlq, 10, "{\"n\":1}"),
            task("h2", dlq, 20, "{\"n\":22}")
        ]
    );
    // Deleting the source queue deletes its tasks.
    s.sqs()
        .sqs_apply(&[
            SqsOp::PutMoveTask(task("h4", other, 30, "{}")),
            SqsOp::DeleteQueue { arn: dlq.into() },
        ])
        .expect("delete");
    assert_eq!(
        s.sqs().sqs_move_tasks().expect("tasks"),
        vec![task("h4", other, 30, "{}")]
    );
}
