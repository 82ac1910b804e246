//! SQS queues and messages (`SqsStore`): what `hearth-sqs` finds again after a restart.

use hearth_store::{SqsMessageRow, SqsOp, SqsQueueRow};

use crate::backend::Fixture;

each_backend!(queues_and_messages_survive_a_restart);

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
