//! Invocation logs (`LogStore`, written through `ChangeStore`) and their retention
//! (`MetadataStore`'s retention days).

use hearth_model::log_filter::FilterPattern;
use hearth_store::{Change, Durability, LogBatch, LogQuery};

use crate::backend::Fixture;

each_backend!(
    append_then_query_in_order,
    streams_time_ranges_patterns_and_paging_backwards,
    a_bounded_scan_says_where_to_go_on,
    expiry_follows_each_functions_retention,
    deleting_a_log_group_removes_lines_and_retention,
    two_nodes_read_each_others_lines,
    a_follower_misses_no_line_of_nodes_writing_at_once,
);

const DAY: i64 = 86_400_000;

fn batch(function: &str, stream: &str, lines: &[(i64, &str)]) -> Change {
    Change::Logs(LogBatch::from_lines(
        function,
        stream,
        lines.iter().copied(),
    ))
}

fn append(s: &Fixture, changes: &[Change]) {
    s.changes()
        .apply_changes(changes, Durability::Committed)
        .expect("append");
}

/// The messages a query of `function` finds (at most 100).
fn messages(s: &Fixture, function: &str, q: LogQuery) -> Vec<String> {
    let q = LogQuery { limit: 100, ..q };
    let got = s.logs().query_logs(function, &q).expect("query");
    got.into_iter().map(|e| e.message).collect()
}

fn append_then_query_in_order(s: Fixture) {
    assert!(!s.logs().has_logs("f").expect("has"));
    append(
        &s,
        &[
            batch("f", "s1", &[(10, "a"), (20, "b")]),
            batch("g", "s2", &[(15, "x")]),
        ],
    );
    let s = s.reopen();
    assert!(s.logs().has_logs("f").expect("has"));
    assert!(!s.logs().has_logs("h").expect("has"));
    let q = LogQuery {
        limit: 100,
        ..Default::default()
    };
    let all = s.logs().query_logs("f", &q).expect("query");
    assert_eq!(
        all.iter()
            .map(|e| (e.timestamp, e.log_stream.as_str(), e.message.as_str()))
            .collect::<Vec<_>>(),
        [(10, "s1", "a"), (20, "s1", "b")]
    );
    assert!(all[0].id < all[1].id);
    let after = LogQuery {
        after: Some(all[0].id),
        ..Default::default()
    };
    assert_eq!(messages(&s, "f", after), ["b"]);
    let since = LogQuery {
        since_ms: Some(20),
        ..Default::default()
    };
    assert_eq!(messages(&s, "f", since), ["b"]);
    let limited = LogQuery {
        limit: 1,
        ..Default::default()
    };
    assert_eq!(s.logs().query_logs("f", &limited).expect("query").len(), 1);
}

fn streams_time_ranges_patterns_and_paging_backwards(s: Fixture) {
    append(
        &s,
        &[
            batch("f", "2024/a", &[(10, "a1 ERROR"), (20, "a2")]),
            batch("f", "2024/b", &[(15, "b1 ERROR"), (25, "b2")]),
            batch("f", "2024/a", &[(30, "a3 ERROR")]),
            batch("f", "x", &[(40, "x1 ERROR")]),
        ],
    );
    assert_eq!(
        messages(
            &s,
            "f",
            LogQuery {
                streams: vec!["2024/a".into()],
                ..Default::default()
            }
        ),
        ["a1 ERROR", "a2", "a3 ERROR"]
    );
    assert_eq!(
        messages(
            &s,
            "f",
            LogQuery {
                stream_prefix: Some("2024/".into()),
                since_ms: Some(15),
                until_ms: Some(30),
                ..Default::default()
            }
        ),
        ["a2", "b1 ERROR", "b2"]
    );
    assert_eq!(
        messages(
            &s,
            "f",
            LogQuery {
                pattern: Some(FilterPattern::parse("ERROR -b1").expect("pattern")),
                ..Default::default()
            }
        ),
        ["a1 ERROR", "a3 ERROR", "x1 ERROR"]
    );
    let newest = s
        .logs()
        .query_logs(
            "f",
            &LogQuery {
                newest_first: true,
                limit: 2,
                ..Default::default()
            },
        )
        .expect("query");
    assert_eq!(
        newest
            .iter()
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>(),
        ["x1 ERROR", "a3 ERROR"]
    );
    assert_eq!(
        messages(
            &s,
            "f",
            LogQuery {
                before: Some(newest[1].id),
                newest_first: true,
                ..Default::default()
            }
        ),
        ["b2", "b1 ERROR", "a2", "a1 ERROR"]
    );
    let streams = s.logs().log_streams("f").expect("streams");
    assert_eq!(
        streams
            .iter()
            .map(|s| (s.name.as_str(), s.first_ts, s.last_ts))
            .collect::<Vec<_>>(),
        [("2024/a", 10, 30), ("2024/b", 15, 25), ("x", 40, 40)]
    );
    assert_eq!(streams[2].last_id, newest[0].id);
    s.metadata().put_retention("r", 3).expect("retention");
    let groups: Vec<_> = s
        .logs()
        .log_groups()
        .expect("groups")
        .into_iter()
        .map(|g| (g.function, g.first_ts, g.retention_days))
        .collect();
    assert_eq!(
        groups,
        [
            ("f".to_string(), Some(10), None),
            ("r".to_string(), None, Some(3))
        ]
    );
}

fn a_bounded_scan_says_where_to_go_on(s: Fixture) {
    let rows: Vec<Change> = (0..3)
        .map(|r| {
            Change::Logs(LogBatch::from_lines(
                "f",
                "s",
                (0..4).map(move |i| (r * 10 + i, format!("row{r} line{i}"))),
            ))
        })
        .collect();
    append(&s, &rows);
    let pattern = FilterPattern::parse("line3").expect("pattern");
    let mut q = LogQuery {
        pattern: Some(pattern),
        limit: 100,
        scan_bytes: Some(1),
        ..Default::default()
    };
    let (found, calls) = scan_all(&s, q.clone());
    assert_eq!(found, ["row0 line3", "row1 line3", "row2 line3"]);
    assert!(calls > 1, "a scan of one byte stops before the end");
    q.newest_first = true;
    let (found, _) = scan_all(&s, q.clone());
    assert_eq!(found, ["row2 line3", "row1 line3", "row0 line3"]);
    // Unbounded, one call finds everything.
    q.scan_bytes = None;
    let scan = s.logs().scan_logs("f", &q).expect("scan");
    assert_eq!((scan.events.len(), scan.resume), (3, None));
}

/// The messages a scan of `f` finds, resumed where each call stopped, and how many
/// calls it took.
fn scan_all(s: &Fixture, mut q: LogQuery) -> (Vec<String>, usize) {
    let mut found = Vec::new();
    for calls in 1..=100 {
        let scan = s.logs().scan_logs("f", &q).expect("scan");
        found.extend(scan.events.into_iter().map(|e| e.message));
        match scan.resume {
            Some(at) if q.newest_first => q.before = Some(at),
            Some(at) => q.after = Some(at),
            None => return (found, calls),
        }
    }
    panic!("the scan never ended: {found:?}");
}

fn count(s: &Fixture, function: &str) -> usize {
    messages(s, function, LogQuery::default()).len()
}

fn expiry_follows_each_functions_retention(s: Fixture) {
    let now = 100 * DAY;
    // `short` keeps 1 day, `plain` the default of 30.
    assert_eq!(s.metadata().retention("short").expect("get"), None);
    s.metadata().put_retention("short", 1).expect("put");
    let s = s.reopen();
    assert_eq!(s.metadata().retention("short").expect("get"), Some(1));
    let line = |f: &str, ts| batch(f, "s", &[(ts, "line")]);
    append(&s, &[line("short", now - 2 * DAY)]);
    append(&s, &[line("short", now - DAY / 2)]);
    append(&s, &[line("plain", now - 2 * DAY)]);
    append(&s, &[line("plain", now - 31 * DAY)]);
    assert_eq!(s.logs().expire_logs(now, 30).expect("expire"), 2);
    assert_eq!(count(&s, "short"), 1);
    assert_eq!(count(&s, "plain"), 1);
    // Back to the default: the 1.5-day-old line is within 30 days.
    assert!(s.metadata().delete_retention("short").expect("delete"));
    assert!(!s.metadata().delete_retention("short").expect("deleted"));
    assert_eq!(s.metadata().retention("short").expect("get"), None);
    assert_eq!(s.logs().expire_logs(now, 30).expect("expire"), 0);
    assert_eq!(count(&s, "short"), 1);
}

fn deleting_a_log_group_removes_lines_and_retention(s: Fixture) {
    // Many separate writes: more stored units than one deletion may take at once.
    for ts in 0..450 {
        append(&s, &[batch("f", "s", &[(ts, "line")])]);
    }
    append(&s, &[batch("g", "s", &[(1, "line")])]);
    s.metadata().put_retention("f", 7).expect("put");
    s.metadata().put_retention("h", 7).expect("put");
    assert!(s.logs().delete_log_group("f").expect("delete"));
    assert_eq!(count(&s, "f"), 0);
    assert!(!s.logs().has_logs("f").expect("has"));
    assert_eq!(s.metadata().retention("f").expect("get"), None);
    assert!(!s.logs().delete_log_group("f").expect("delete again"));
    // A group of a retention alone is deleted too.
    assert!(s.logs().delete_log_group("h").expect("delete"));
    assert_eq!(s.metadata().retention("h").expect("get"), None);
    s.logs().release_space();
    let s = s.reopen();
    assert_eq!(count(&s, "f"), 0);
    assert_eq!(count(&s, "g"), 1);
}

/// Two nodes on one store: lines either writes are read through the other, and ids keep
/// growing across them (a follower on one node continues after the other's lines).
fn two_nodes_read_each_others_lines(s: Fixture) {
    let other = s.another();
    append(&s, &[batch("f", "a", &[(10, "one"), (20, "two")])]);
    let q = LogQuery {
        limit: 100,
        ..Default::default()
    };
    let seen = other.logs().query_logs("f", &q).expect("query");
    assert_eq!(
        seen.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(),
        ["one", "two"]
    );
    other
        .changes()
        .apply_changes(&[batch("f", "b", &[(30, "three")])], Durability::Committed)
        .expect("append through the other node");
    let after = LogQuery {
        after: Some(seen[1].id),
        ..q.clone()
    };
    let next = s.logs().query_logs("f", &after).expect("query");
    assert_eq!(
        next.iter()
            .map(|e| (e.log_stream.as_str(), e.message.as_str()))
            .collect::<Vec<_>>(),
        [("b", "three")]
    );
    assert!(next[0].id > seen[1].id);
    let streams = s.logs().log_streams("f").expect("streams");
    assert_eq!(
        streams.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert!(s.logs().delete_log_group("f").expect("delete"));
    assert!(!other.logs().has_logs("f").expect("has"));
}

/// Two nodes log for one function at once while a follower reads `after` the last id
/// it saw, as `hearth logs --follow` does: it must see every line once, in id order.
/// (An id drawn before another node's but committed after it would be skipped.)
fn a_follower_misses_no_line_of_nodes_writing_at_once(s: Fixture) {
    const EACH: usize = 150;
    let nodes = [(*s).clone(), s.another()];
    let done = std::sync::atomic::AtomicUsize::new(0);
    let follower = s.another();
    let seen = std::thread::scope(|scope| {
        for (n, node) in nodes.iter().enumerate() {
            let done = &done;
            scope.spawn(move || {
                for i in 0..EACH {
                    let line = format!("n{n} {i}");
                    node.changes()
                        .apply_changes(
                            &[batch("f", &format!("s{n}"), &[(i as i64, line.as_str())])],
                            Durability::Committed,
                        )
                        .expect("append");
                }
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            });
        }
        let mut seen = Vec::new();
        let mut last = None;
        loop {
            // Whether both writers were done before this read: then it is the last.
            let finished = done.load(std::sync::atomic::Ordering::SeqCst) == nodes.len();
            let q = LogQuery {
                after: last,
                limit: 1000,
                ..Default::default()
            };
            let got = follower.logs().query_logs("f", &q).expect("follow");
            if let Some(e) = got.last() {
                last = Some(e.id);
            }
            seen.extend(got);
            if finished {
                return seen;
            }
        }
    });
    assert!(seen.windows(2).all(|w| w[0].id < w[1].id), "ids in order");
    let mut messages: Vec<String> = seen.into_iter().map(|e| e.message).collect();
    messages.sort();
    let mut want: Vec<String> = (0..2)
        .flat_map(|n| (0..EACH).map(move |i| format!("n{n} {i}")))
        .collect();
    want.sort();
    assert_eq!(messages.len(), want.len(), "every line once");
    assert_eq!(messages, want);
}
