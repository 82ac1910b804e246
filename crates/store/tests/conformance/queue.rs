//! The asynchronous queue's durable rows (`QueueStore`, written through `ChangeStore` and
//! the `Writer`).

use std::collections::BTreeSet;
use std::time::Duration;

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
    claims_take_events_no_live_node_holds,
    changes_are_fenced_by_the_holder,
    racing_claims_get_distinct_events,
    an_event_taken_over_is_no_longer_the_old_holders,
    sequence_numbers_are_never_given_twice,
);

const TIMEOUT: Duration = Duration::from_secs(600);

fn event(seq: i64) -> QueuedEvent {
    QueuedEvent {
        seq,
        owner: None,
        request_id: format!("req-{seq}"),
        function: "f".into(),
        qualifier: Some("live".into()),
        client_context: None,
        accepted_ms: 100 + seq,
        due_ms: 100 + seq,
        progress: Progress::default(),
        // Every other row carries a trace header (and the SNS mark): both round-trip.
        trace_header: (seq % 2 == 0).then(|| {
            format!(
                "Root=1-5759e988-bd862e3fe1be46a99427279{};Sampled=1;Lineage=a87bd80c:{seq}",
                seq % 10
            )
        }),
        counts_lineage: seq % 4 == 0,
    }
}

fn insert(seq: i64) -> Change {
    Change::Queue(QueueOp::Insert(
        event(seq),
        Bytes::from(format!("{{\"n\":{seq}}}")),
    ))
}

fn owned(seq: i64, owner: &str) -> QueuedEvent {
    QueuedEvent {
        owner: Some(owner.into()),
        ..event(seq)
    }
}

fn insert_owned(seq: i64, owner: &str) -> Change {
    Change::Queue(QueueOp::Insert(
        owned(seq, owner),
        Bytes::from_static(b"{}"),
    ))
}

fn seqs(events: &[QueuedEvent]) -> Vec<i64> {
    events.iter().map(|e| e.seq).collect()
}

fn rows_live_until_removed_and_reload_as_written(s: Fixture) {
    assert!(s.queue().queued_events().expect("load").is_empty());
    s.changes()
        .apply_changes(
            &[insert(1), insert(2), insert(3), insert(4)],
            Durability::Synced,
        )
        .expect("insert");
    let loaded = s.queue().queued_events().expect("load");
    assert_eq!(loaded, [event(1), event(2), event(3), event(4)]);
    assert_eq!(loaded[0].trace_header, None);
    assert_eq!(
        loaded[1].trace_header.as_deref(),
        Some("Root=1-5759e988-bd862e3fe1be46a994272792;Sampled=1;Lineage=a87bd80c:2")
    );
    assert_eq!(
        loaded.iter().map(|e| e.counts_lineage).collect::<Vec<_>>(),
        [false, false, false, true]
    );
    s.changes()
        .apply_changes(&[Change::Queue(QueueOp::remove(4))], Durability::Synced)
        .expect("remove 4");
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
                    owner: None,
                    due_ms: 5_000,
                    progress: progress.clone(),
                }),
                Change::Queue(QueueOp::remove(1)),
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
        Change::Queue(QueueOp::remove(1)),
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
            group.push(Change::Queue(QueueOp::remove(seq)));
        } else {
            group.push(Change::Queue(QueueOp::Reschedule {
                seq,
                owner: None,
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

/// Events with no holder, or whose holder is gone (silent beyond its own timeout, or
/// not registered at all), are claimed; a live node's and the claimer's own are not.
fn claims_take_events_no_live_node_holds(s: Fixture) {
    let fleet = s.fleet();
    fleet.heartbeat("live", "a:1", "{}", TIMEOUT).expect("beat");
    fleet.heartbeat("me", "a:2", "{}", TIMEOUT).expect("beat");
    fleet
        .heartbeat("silent", "a:3", "{}", Duration::from_millis(1))
        .expect("beat");
    s.changes()
        .apply_changes(
            &[
                insert(1),
                insert_owned(2, "live"),
                insert_owned(3, "silent"),
                insert_owned(4, "never-registered"),
                insert_owned(5, "me"),
            ],
            Durability::Synced,
        )
        .expect("insert");
    std::thread::sleep(Duration::from_millis(20));
    let claimed = s.queue().claim_events("me", 2).expect("claim");
    assert_eq!(seqs(&claimed), [1, 3], "a limit of 2, in sequence order");
    assert!(claimed.iter().all(|e| e.owner.as_deref() == Some("me")));
    assert_eq!(seqs(&s.queue().claim_events("me", 10).expect("claim")), [4]);
    assert!(s.queue().claim_events("me", 10).expect("claim").is_empty());
    assert_eq!(
        seqs(&s.queue().own_events("me").expect("own")),
        [1, 3, 4, 5]
    );
    assert_eq!(seqs(&s.queue().own_events("live").expect("own")), [2]);
    // A drain lets events go; anyone claims them, the node that let go included.
    assert_eq!(
        s.queue().release_events("me", &[1, 2, 5]).expect("release"),
        2
    );
    assert_eq!(seqs(&s.queue().own_events("me").expect("own")), [3, 4]);
    assert_eq!(
        seqs(&s.queue().claim_events("live", 10).expect("claim")),
        [1, 5]
    );
    // A node that left (its row forgotten) is gone at once.
    assert!(fleet.forget_node("live").expect("forget"));
    assert_eq!(
        seqs(&s.queue().claim_events("me", 10).expect("claim")),
        [1, 2, 5]
    );
}

/// A node's changes to an event apply only while it holds the event; a done event's
/// follow-up (its destination record) is queued only if the event was still its own.
fn changes_are_fenced_by_the_holder(s: Fixture) {
    s.changes()
        .apply_changes(
            &[insert_owned(1, "a"), insert_owned(2, "a")],
            Durability::Synced,
        )
        .expect("insert");
    let reschedule = |seq, owner: &str| {
        Change::Queue(QueueOp::Reschedule {
            seq,
            owner: Some(owner.into()),
            due_ms: 9_999,
            progress: Progress {
                runs: 1,
                ..Progress::default()
            },
        })
    };
    let finish = |seq, owner: &str, follow: i64| {
        Change::Queue(QueueOp::Finish {
            seq,
            owner: Some(owner.into()),
            follow: Some(Box::new((owned(follow, owner), Bytes::from_static(b"{}")))),
        })
    };
    s.changes()
        .apply_changes(
            &[reschedule(1, "b"), finish(2, "b", 10)],
            Durability::Synced,
        )
        .expect("not b's: nothing happens");
    assert_eq!(
        s.queue().queued_events().expect("load"),
        [owned(1, "a"), owned(2, "a")]
    );
    s.changes()
        .apply_changes(
            &[reschedule(1, "a"), finish(2, "a", 10)],
            Durability::Synced,
        )
        .expect("a's");
    let left = s.queue().queued_events().expect("load");
    assert_eq!(seqs(&left), [1, 10]);
    assert_eq!((left[0].due_ms, left[0].progress.runs), (9_999, 1));
    assert_eq!(left[1], owned(10, "a"));
    // Done twice (a retry of a lost answer): the follow-up is not queued twice.
    s.changes()
        .apply_changes(&[finish(2, "a", 11)], Durability::Synced)
        .expect("again");
    assert_eq!(seqs(&s.queue().queued_events().expect("load")), [1, 10]);
}

/// Four nodes claiming a dead node's 400 events at once: each event goes to one of
/// them, and all are taken.
fn racing_claims_get_distinct_events(s: Fixture) {
    let group: Vec<Change> = (1..=400).map(|seq| insert_owned(seq, "dead")).collect();
    s.changes()
        .apply_changes(&group, Durability::Synced)
        .expect("insert");
    let claims: Vec<Vec<i64>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|n| {
                let store = s.another();
                scope.spawn(move || {
                    let me = format!("node-{n}");
                    // Claimers are live nodes (an unregistered holder counts as gone).
                    store
                        .fleet()
                        .heartbeat(&me, "a:1", "{}", TIMEOUT)
                        .expect("beat");
                    let mut mine = Vec::new();
                    loop {
                        let got = store.queue().claim_events(&me, 7).expect("claim");
                        if got.is_empty() {
                            return mine;
                        }
                        assert!(got.iter().all(|e| e.owner.as_deref() == Some(me.as_str())));
                        mine.extend(seqs(&got));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("claimer"))
            .collect()
    });
    let all: Vec<i64> = claims.iter().flatten().copied().collect();
    let distinct: BTreeSet<i64> = all.iter().copied().collect();
    assert_eq!(
        all.len(),
        400,
        "claimed twice: {}",
        all.len() - distinct.len()
    );
    assert_eq!(distinct, (1..=400).collect::<BTreeSet<i64>>());
}

/// Once another node claimed a silent node's events, they are not the silent node's
/// when it comes back, and its fenced changes to them do nothing.
fn an_event_taken_over_is_no_longer_the_old_holders(s: Fixture) {
    let fleet = s.fleet();
    fleet
        .heartbeat("x", "a:1", "{}", Duration::from_millis(1))
        .expect("beat");
    s.changes()
        .apply_changes(
            &[insert_owned(1, "x"), insert_owned(2, "x")],
            Durability::Synced,
        )
        .expect("insert");
    std::thread::sleep(Duration::from_millis(20));
    let other = s.another();
    assert_eq!(
        seqs(&other.queue().claim_events("y", 1).expect("claim")),
        [1]
    );
    // x is back (a heartbeat): what was not taken is still its own.
    fleet.heartbeat("x", "a:1", "{}", TIMEOUT).expect("beat");
    assert_eq!(seqs(&s.queue().own_events("x").expect("own")), [2]);
    assert!(other
        .queue()
        .claim_events("y", 10)
        .expect("claim")
        .is_empty());
    s.changes()
        .apply_changes(
            &[Change::Queue(QueueOp::Finish {
                seq: 1,
                owner: Some("x".into()),
                follow: None,
            })],
            Durability::Synced,
        )
        .expect("fenced");
    assert_eq!(seqs(&s.queue().own_events("y").expect("own")), [1]);
}

/// Nodes take sequence numbers that no other node takes, past every number queued.
fn sequence_numbers_are_never_given_twice(s: Fixture) {
    let first = s.queue().queue_seqs().expect("seqs");
    s.changes()
        .apply_changes(&[insert(first.start)], Durability::Synced)
        .expect("insert");
    let s = s.reopen();
    let again = s.queue().queue_seqs().expect("seqs");
    assert!(
        again.start > first.start && again.end > again.start,
        "{again:?}"
    );
    let first = again;
    if let Some(b) = s.another_node() {
        let second = b.queue().queue_seqs().expect("seqs");
        assert!(second.start >= first.end || second.end <= first.start);
        assert!(second.end - second.start >= 1 << 16);
    }
}
