//! The asynchronous queue's durable rows (`QueueStore`, written through `ChangeStore` and
//! the `Writer`).

use bytes::Bytes;
use hearth_store::{
    Change, Durability, LogBatch, LogQuery, Progress, QueueOp, QueuedEvent, Writer,
};

use crate::backend::Fixture;

each_backend!(
    rows_live_until_removed_and_reload_as_written,
    a_group_of_changes_is_applied_whole_or_not_at_all,
    the_writer_commits_in_submission_order,
    a_large_group_is_applied_in_order,
);

fn event(seq: i64) -> QueuedEvent {
    QueuedEvent {
        seq,
        request_id: format!("req-{seq}"),
        function: "f".into(),
        qualifier: Some("live".into()),
        client_context: None,
        accepted_ms: 100 + seq,
        due_ms: 100 + seq,
        progress: Progress::default(),
    }
}

fn insert(seq: i64) -> Change {
    Change::Queue(QueueOp::Insert(
        event(seq),
        Bytes::from(format!("{{\"n\":{seq}}}")),
    ))
}

fn rows_live_until_removed_and_reload_as_written(s: Fixture) {
    assert_eq!(s.queue().last_queue_seq().expect("seq"), 0);
    assert!(s.queue().queued_events().expect("load").is_empty());
    s.changes()
        .apply_changes(&[insert(1), insert(2), insert(3)], Durability::Synced)
        .expect("insert");
    assert_eq!(
        s.queue().queued_events().expect("load"),
        [event(1), event(2), event(3)]
    );
    let progress = Progress {
        runs: 1,
        setbacks: 0,
        last_outcome: Some("{}".into()),
    };
    s.changes()
        .apply_changes(
            &[
                Change::Queue(QueueOp::Reschedule {
                    seq: 2,
                    due_ms: 5_000,
                    progress: progress.clone(),
                }),
                Change::Queue(QueueOp::Remove(1)),
            ],
            Durability::Committed,
        )
        .expect("update");
    let s = s.reopen();
    let left = s.queue().queued_events().expect("load");
    assert_eq!(left.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(left[0].due_ms, 5_000);
    assert_eq!(left[0].progress, progress);
    assert_eq!(left[1], event(3));
    assert_eq!(
        s.queue().queued_payload(3).expect("payload"),
        Some(Bytes::from_static(b"{\"n\":3}"))
    );
    assert_eq!(s.queue().queued_payload(1).expect("payload"), None);
    assert_eq!(s.queue().last_queue_seq().expect("seq"), 3);
    // The newest event done, the highest still queued is what new ones follow.
    s.changes()
        .apply_changes(&[Change::Queue(QueueOp::Remove(3))], Durability::Synced)
        .expect("remove");
    assert_eq!(s.queue().last_queue_seq().expect("seq"), 2);
}

/// A taken sequence number is refused, and with it the whole group it came in: the
/// lines and events before it are not written either.
fn a_group_of_changes_is_applied_whole_or_not_at_all(s: Fixture) {
    s.changes()
        .apply_changes(&[insert(1)], Durability::Synced)
        .expect("insert");
    let group = [
        Change::Logs(LogBatch::from_lines("f", "s", [(1, "line")])),
        insert(2),
        Change::Queue(QueueOp::Remove(1)),
        insert(2),
    ];
    assert!(s
        .changes()
        .apply_changes(&group, Durability::Synced)
        .is_err());
    assert!(!s.logs().has_logs("f").expect("has"));
    assert_eq!(s.queue().queued_events().expect("load"), [event(1)]);
    assert_eq!(s.queue().queued_payload(2).expect("payload"), None);
    // The store goes on taking changes.
    s.changes()
        .apply_changes(&group[..3], Durability::Committed)
        .expect("apply");
    assert!(s.logs().has_logs("f").expect("has"));
    assert_eq!(s.queue().queued_events().expect("load"), [event(2)]);
}

fn the_writer_commits_in_submission_order(s: Fixture) {
    let writer = Writer::start((*s).clone()).expect("writer");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    writer.submit_logs_now(LogBatch::from_lines("f", "s", [(1, "START")]));
    rt.block_on(writer.commit(vec![insert(9)], Durability::Synced))
        .expect("commit");
    // The commit that carried the event also carried the lines submitted before it.
    let q = LogQuery {
        limit: 10,
        ..Default::default()
    };
    assert_eq!(s.logs().query_logs("f", &q).expect("logs").len(), 1);
    assert_eq!(s.queue().queued_events().expect("load"), [event(9)]);
    drop(writer);
    let s = s.reopen();
    assert_eq!(s.queue().queued_events().expect("load"), [event(9)]);
    assert_eq!(s.logs().query_logs("f", &q).expect("logs").len(), 1);
}

/// A group as large as the writer makes under load, each change depending on the ones
/// before it: applied in order, and refused whole when one of its changes fails.
fn a_large_group_is_applied_in_order(s: Fixture) {
    let mut group = Vec::new();
    for seq in 1..=300 {
        group.push(insert(seq));
        group.push(Change::Logs(LogBatch::from_lines(
            "f",
            "s",
            [(seq, format!("line {seq}"))],
        )));
        if seq % 2 == 0 {
            group.push(Change::Queue(QueueOp::Remove(seq)));
        } else {
            group.push(Change::Queue(QueueOp::Reschedule {
                seq,
                due_ms: 10_000 + seq,
                progress: Progress::default(),
            }));
        }
    }
    // A taken sequence number early on: the changes after it are refused with it.
    let mut failing = group.clone();
    failing.insert(3, insert(1));
    assert!(s
        .changes()
        .apply_changes(&failing, Durability::Synced)
        .is_err());
    assert!(s.queue().queued_events().expect("load").is_empty());
    assert!(!s.logs().has_logs("f").expect("has"));
    s.changes()
        .apply_changes(&group, Durability::Committed)
        .expect("apply");
    let left = s.queue().queued_events().expect("load");
    assert_eq!(
        left.iter().map(|e| (e.seq, e.due_ms)).collect::<Vec<_>>(),
        (1..=300)
            .filter(|seq| seq % 2 == 1)
            .map(|seq| (seq, 10_000 + seq))
            .collect::<Vec<_>>()
    );
    let q = LogQuery {
        limit: 1000,
        ..Default::default()
    };
    let lines: Vec<String> = s
        .logs()
        .query_logs("f", &q)
        .expect("logs")
        .into_iter()
        .map(|e| e.message)
        .collect();
    assert_eq!(
        lines,
        (1..=300).map(|n| format!("line {n}")).collect::<Vec<_>>()
    );
}
