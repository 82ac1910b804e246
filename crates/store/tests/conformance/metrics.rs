//! CloudWatch's store (`MetricStore`): series with their activity, points by half-open
//! range and their atomic replacement, the rollup pass's walk and the deletion of old
//! points, alarms as records listed by name, alarm history newest first, and metering
//! rows that add up, also when nodes add to one row at once.

use std::sync::Barrier;

use hearth_store::{Edited, MeterRow, MetricPoint, MetricSeries, Store};

use crate::backend::Fixture;

const A: &str = "000000000000";
const B: &str = "111111111111";
const MINUTE: i64 = 60_000;

each_backend!(
    series_are_listed_by_id_and_their_activity_only_moves_forward,
    points_are_read_by_half_open_range_in_order,
    replacing_points_swaps_only_the_range_at_once,
    racing_replacements_leave_one_merge,
    the_rollup_walk_pages_through_series_with_short_old_points,
    deleting_old_points_takes_empty_stale_series_only,
    alarms_are_records_listed_by_name,
    alarm_history_is_read_newest_first_and_ages_out,
    metering_adds_up_by_day_and_function,
    racing_nodes_all_count
);

fn series(
    account: &str,
    namespace: &str,
    name: &str,
    dims: &[(&str, &str)],
    last_ms: i64,
) -> MetricSeries {
    let dimensions: Vec<(String, String)> = dims
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let id = format!(
        "{account}/{namespace}/{name}/{}",
        dims.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    MetricSeries {
        id,
        account: account.into(),
        namespace: namespace.into(),
        name: name.into(),
        dimensions,
        last_ms,
    }
}

fn point(series: &MetricSeries, start_ms: i64, resolution_s: u32, stats: &[u8]) -> MetricPoint {
    MetricPoint {
        series: series.id.clone(),
        start_ms,
        resolution_s,
        stats: stats.to_vec(),
    }
}

fn ids(listed: &[MetricSeries]) -> Vec<&str> {
    listed.iter().map(|s| s.id.as_str()).collect()
}

fn stats(points: &[MetricPoint]) -> Vec<(i64, u32, &[u8])> {
    points
        .iter()
        .map(|p| (p.start_ms, p.resolution_s, p.stats.as_slice()))
        .collect()
}

fn series_are_listed_by_id_and_their_activity_only_moves_forward(s: Fixture) {
    let m = s.metrics();
    let inv = series(
        A,
        "AWS/Lambda",
        "Invocations",
        &[("FunctionName", "f")],
        10 * MINUTE,
    );
    let err = series(
        A,
        "AWS/Lambda",
        "Errors",
        &[("FunctionName", "f")],
        10 * MINUTE,
    );
    let all = series(A, "AWS/Lambda", "Invocations", &[], 5 * MINUTE);
    let custom = series(
        A,
        "App",
        "Latency",
        &[("Route", "/a"), ("Verb", "GET")],
        20 * MINUTE,
    );
    let other = series(B, "AWS/Lambda", "Invocations", &[], 30 * MINUTE);
    m.add_metric_points(
        &[
            inv.clone(),
            err.clone(),
            all.clone(),
            custom.clone(),
            other.clone(),
        ],
        &[point(&inv, 0, 60, b"i")],
    )
    .expect("add");
    assert_eq!(
        m.get_metric_series(&custom.id).expect("get"),
        Some(custom.clone())
    );
    assert_eq!(m.get_metric_series("nope").expect("get"), None);

    let listed = m
        .list_metric_series(A, None, None, 0, None, 100)
        .expect("list");
    assert_eq!(
        listed,
        [err.clone(), all.clone(), inv.clone(), custom.clone()],
        "A's series in id order"
    );
    assert_eq!(
        ids(&m
            .list_metric_series(A, Some("AWS/Lambda"), None, 0, None, 100)
            .expect("by namespace")),
        [&err.id, &all.id, &inv.id]
    );
    assert_eq!(
        ids(&m
            .list_metric_series(A, Some("AWS/Lambda"), Some("Invocations"), 0, None, 100)
            .expect("by name")),
        [&all.id, &inv.id]
    );
    assert_eq!(
        ids(&m
            .list_metric_series(A, None, Some("Invocations"), 0, None, 100)
            .expect("by name alone")),
        [&all.id, &inv.id]
    );
    assert_eq!(
        ids(&m
            .list_metric_series(A, None, None, 10 * MINUTE, None, 100)
            .expect("active")),
        [&err.id, &inv.id, &custom.id],
        "last_ms at least active_since_ms"
    );
    // Pages.
    let first = m
        .list_metric_series(A, None, None, 0, None, 2)
        .expect("page 1");
    assert_eq!(ids(&first), [&err.id, &all.id]);
    let second = m
        .list_metric_series(A, None, None, 0, Some(&all.id), 2)
        .expect("page 2");
    assert_eq!(ids(&second), [&inv.id, &custom.id]);
    assert!(m
        .list_metric_series(A, None, None, 0, Some(&custom.id), 2)
        .expect("page 3")
        .is_empty());

    // last_ms moves forward, never back (an older flush, or the same series twice in
    // one write, keeps the latest).
    let later = MetricSeries {
        last_ms: 40 * MINUTE,
        ..inv.clone()
    };
    let earlier = MetricSeries {
        last_ms: 1,
        ..inv.clone()
    };
    m.add_metric_points(&[earlier.clone(), later.clone(), earlier.clone()], &[])
        .expect("forward");
    assert_eq!(
        m.get_metric_series(&inv.id).expect("get"),
        Some(later.clone())
    );
    m.add_metric_points(&[earlier], &[]).expect("back");
    let s = s.reopen();
    assert_eq!(
        s.metrics().get_metric_series(&inv.id).expect("get"),
        Some(later),
        "an older last_ms leaves it"
    );
    assert_eq!(
        s.another()
            .metrics()
            .get_metric_series(&other.id)
            .expect("get"),
        Some(other)
    );
}

fn points_are_read_by_half_open_range_in_order(s: Fixture) {
    let m = s.metrics();
    let x = series(A, "App", "X", &[], 0);
    let y = series(A, "App", "Y", &[], 0);
    // Written out of order; two rows of one period (two flushes) and a coarser point at
    // the same start.
    m.add_metric_points(
        &[x.clone(), y.clone()],
        &[
            point(&x, 2 * MINUTE, 60, b"x2"),
            point(&x, 0, 3600, b"xh"),
            point(&x, 0, 60, b"x0a"),
            point(&y, MINUTE, 60, b"y1"),
        ],
    )
    .expect("add");
    m.add_metric_points(
        std::slice::from_ref(&x),
        &[
            point(&x, 0, 60, b"x0b"),
            point(&x, MINUTE, 60, b"x1"),
            point(&x, 3 * MINUTE, 60, b"x3"),
        ],
    )
    .expect("add more");
    assert_eq!(
        stats(&m.metric_points(&x.id, 0, 10 * MINUTE).expect("all")),
        [
            (0, 60, &b"x0a"[..]),
            (0, 60, b"x0b"),
            (0, 3600, b"xh"),
            (MINUTE, 60, b"x1"),
            (2 * MINUTE, 60, b"x2"),
            (3 * MINUTE, 60, b"x3"),
        ]
    );
    assert_eq!(
        stats(&m.metric_points(&x.id, MINUTE, 3 * MINUTE).expect("range")),
        [(MINUTE, 60, &b"x1"[..]), (2 * MINUTE, 60, b"x2")],
        "from inclusive, to exclusive"
    );
    assert!(m
        .metric_points(&x.id, 4 * MINUTE, 10 * MINUTE)
        .expect("after")
        .is_empty());
    let ys = m.metric_points(&y.id, 0, 10 * MINUTE).expect("y");
    assert_eq!(ys, [point(&y, MINUTE, 60, b"y1")]);
}

fn replacing_points_swaps_only_the_range_at_once(s: Fixture) {
    let m = s.metrics();
    let x = series(A, "App", "X", &[], 0);
    let y = series(A, "App", "Y", &[], 0);
    let mut points = Vec::new();
    for minute in 0..6 {
        points.push(point(&x, minute * MINUTE, 60, &[b'a', minute as u8]));
        points.push(point(&x, minute * MINUTE, 60, &[b'b', minute as u8]));
        points.push(point(&y, minute * MINUTE, 60, &[b'y', minute as u8]));
    }
    m.add_metric_points(&[x.clone(), y.clone()], &points)
        .expect("add");
    // Minutes 1 to 3 merged into one row each, minute 4 rolled up away (none for it).
    m.replace_metric_points(
        &x.id,
        MINUTE,
        5 * MINUTE,
        &[
            point(&x, MINUTE, 60, b"m1"),
            point(&x, 2 * MINUTE, 60, b"m2"),
            point(&x, 3 * MINUTE, 60, b"m3"),
        ],
    )
    .expect("replace");
    assert_eq!(
        stats(&m.metric_points(&x.id, 0, 10 * MINUTE).expect("x")),
        [
            (0, 60, &[b'a', 0][..]),
            (0, 60, &[b'b', 0]),
            (MINUTE, 60, b"m1"),
            (2 * MINUTE, 60, b"m2"),
            (3 * MINUTE, 60, b"m3"),
            (5 * MINUTE, 60, &[b'a', 5]),
            (5 * MINUTE, 60, &[b'b', 5]),
        ]
    );
    assert_eq!(
        m.metric_points(&y.id, 0, 10 * MINUTE).expect("y").len(),
        6,
        "another series keeps its points"
    );
    // A rollup: minutes 0 to 5 become one five-minute point.
    m.replace_metric_points(&x.id, 0, 5 * MINUTE, &[point(&x, 0, 300, b"r")])
        .expect("roll up");
    let s = s.reopen();
    assert_eq!(
        stats(&s.metrics().metric_points(&x.id, 0, 10 * MINUTE).expect("x")),
        [
            (0, 300, &b"r"[..]),
            (5 * MINUTE, 60, &[b'a', 5]),
            (5 * MINUTE, 60, &[b'b', 5]),
        ]
    );
    // Nothing in the range: the points are simply added.
    s.metrics()
        .replace_metric_points(
            &x.id,
            20 * MINUTE,
            21 * MINUTE,
            &[point(&x, 20 * MINUTE, 60, b"n")],
        )
        .expect("replace nothing");
    assert_eq!(
        stats(
            &s.metrics()
                .metric_points(&x.id, 20 * MINUTE, 21 * MINUTE)
                .expect("x")
        ),
        [(20 * MINUTE, 60, &b"n"[..])]
    );
}

/// Nodes replacing one range at once: each replacement leaves exactly its one merged
/// row, so however they interleave the range ends with one row (a replacement that
/// missed another's new row would leave two).
fn racing_replacements_leave_one_merge(s: Fixture) {
    const NODES: usize = 3;
    let x = series(A, "App", "Race", &[], 0);
    s.metrics()
        .add_metric_points(
            std::slice::from_ref(&x),
            &[point(&x, 0, 60, b"a"), point(&x, 0, 60, b"b")],
        )
        .expect("add");
    let nodes: Vec<Store> = (0..NODES).map(|_| s.another()).collect();
    let start = Barrier::new(NODES);
    std::thread::scope(|scope| {
        for (i, node) in nodes.iter().enumerate() {
            let (x, start) = (&x, &start);
            scope.spawn(move || {
                start.wait();
                for _ in 0..20 {
                    node.metrics()
                        .replace_metric_points(&x.id, 0, MINUTE, &[point(x, 0, 60, &[i as u8])])
                        .expect("replace");
                }
            });
        }
    });
    let left = s.metrics().metric_points(&x.id, 0, MINUTE).expect("points");
    assert_eq!(left.len(), 1, "{left:?}");
}

fn the_rollup_walk_pages_through_series_with_short_old_points(s: Fixture) {
    let m = s.metrics();
    let cutoff = 100 * MINUTE;
    let a = series(A, "App", "a", &[], 0);
    let b = series(A, "App", "b", &[], 0);
    let c = series(B, "App", "c", &[], 0);
    let d = series(A, "App", "d", &[], 0);
    let e = series(A, "App", "e", &[], 0);
    let f = series(A, "App", "f", &[], 0);
    m.add_metric_points(
        &[
            a.clone(),
            b.clone(),
            c.clone(),
            d.clone(),
            e.clone(),
            f.clone(),
        ],
        &[
            // Old, one minute: to roll up to five minutes.
            point(&a, 0, 60, b"."),
            point(&a, MINUTE, 60, b"."),
            point(&c, cutoff - MINUTE, 60, b"."),
            // Old, high resolution.
            point(&e, 0, 1, b"."),
            // Recent, one minute: not yet.
            point(&b, cutoff, 60, b"."),
            // Old but already five minutes (or an hour): nothing to do at five.
            point(&d, 0, 300, b"."),
            point(&f, 0, 3600, b"."),
        ],
    )
    .expect("add");
    assert_eq!(
        m.metric_series_to_roll_up(cutoff, 300, None, 100)
            .expect("walk"),
        [a.id.as_str(), e.id.as_str(), c.id.as_str()]
    );
    assert_eq!(
        m.metric_series_to_roll_up(cutoff, 300, None, 2)
            .expect("page 1"),
        [a.id.as_str(), e.id.as_str()]
    );
    assert_eq!(
        m.metric_series_to_roll_up(cutoff, 300, Some(&e.id), 2)
            .expect("page 2"),
        [c.id.as_str()]
    );
    assert!(m
        .metric_series_to_roll_up(cutoff, 300, Some(&c.id), 2)
        .expect("page 3")
        .is_empty());
    assert_eq!(
        m.metric_series_to_roll_up(cutoff, 60, None, 100)
            .expect("to a minute"),
        [e.id.as_str()],
        "only the high-resolution one is shorter than a minute"
    );
    assert_eq!(
        m.metric_series_to_roll_up(cutoff, 3600, None, 100)
            .expect("to an hour"),
        [a.id.as_str(), d.id.as_str(), e.id.as_str(), c.id.as_str()]
    );
    assert_eq!(
        m.metric_series_to_roll_up(cutoff + MINUTE, 300, None, 100)
            .expect("later cutoff"),
        [a.id.as_str(), b.id.as_str(), e.id.as_str(), c.id.as_str()]
    );
    assert!(m
        .metric_series_to_roll_up(cutoff, 1, None, 100)
        .expect("nothing shorter than a second")
        .is_empty());
    // Rolled up: a's old minutes are one five-minute point now.
    m.replace_metric_points(&a.id, 0, 5 * MINUTE, &[point(&a, 0, 300, b"r")])
        .expect("roll up");
    assert_eq!(
        m.metric_series_to_roll_up(cutoff, 300, None, 100)
            .expect("walk"),
        [e.id.as_str(), c.id.as_str()]
    );
}

fn deleting_old_points_takes_empty_stale_series_only(s: Fixture) {
    let m = s.metrics();
    let cutoff = 1_000 * MINUTE;
    // Old points only, stale: goes with its points.
    let gone = series(A, "App", "gone", &[], cutoff - MINUTE);
    // Old and new points: keeps the new.
    let mixed = series(A, "App", "mixed", &[], cutoff + MINUTE);
    // Old points only but active since (listed by ListMetrics until it ages out).
    let active = series(A, "App", "active", &[], cutoff);
    // No points, stale: goes. No points, recent: stays.
    let empty = series(A, "App", "empty", &[], 0);
    let fresh = series(A, "App", "fresh", &[], cutoff + 5 * MINUTE);
    let mut points = vec![
        point(&gone, 0, 60, b"."),
        point(&gone, cutoff - MINUTE, 1, b"."),
        point(&mixed, cutoff - 300_000, 300, b"."),
        point(&mixed, cutoff, 60, b"new"),
        point(&active, 10 * MINUTE, 3600, b"."),
    ];
    // Enough old rows of one resolution to take several batches.
    for i in 0..12_000 {
        points.push(point(&mixed, i, 1, b"."));
    }
    m.add_metric_points(
        &[
            gone.clone(),
            mixed.clone(),
            active.clone(),
            empty.clone(),
            fresh.clone(),
        ],
        &points,
    )
    .expect("add");
    assert_eq!(
        m.delete_metric_points_before(cutoff).expect("delete"),
        12_004
    );
    assert_eq!(
        stats(&m.metric_points(&mixed.id, 0, i64::MAX).expect("mixed")),
        [(cutoff, 60, &b"new"[..])]
    );
    for gone in [&gone, &active] {
        assert!(m
            .metric_points(&gone.id, 0, i64::MAX)
            .expect("points")
            .is_empty());
    }
    assert_eq!(
        ids(&m
            .list_metric_series(A, None, None, 0, None, 100)
            .expect("list")),
        [&active.id, &fresh.id, &mixed.id]
    );
    assert_eq!(m.get_metric_series(&gone.id).expect("get"), None);
    assert_eq!(m.delete_metric_points_before(cutoff).expect("again"), 0);
}

fn alarm(account: &str, name: &str) -> String {
    format!("arn:aws:cloudwatch:us-east-1:{account}:alarm:{name}")
}

fn alarms_are_records_listed_by_name(s: Fixture) {
    let m = s.metrics();
    for name in ["errors-f", "cpu", "errors", "err_x", "errors:g", "zz"] {
        m.put_metric_alarm(A, &alarm(A, name), name).expect("put");
    }
    m.put_metric_alarm(B, &alarm(B, "cpu"), "B cpu")
        .expect("put");
    // Put again: replaced.
    m.put_metric_alarm(A, &alarm(A, "cpu"), "cpu v2")
        .expect("replace");
    assert_eq!(
        m.get_metric_alarm(&alarm(A, "cpu"))
            .expect("get")
            .as_deref(),
        Some("cpu v2")
    );
    assert_eq!(m.get_metric_alarm(&alarm(A, "nope")).expect("get"), None);
    assert_eq!(
        m.list_metric_alarms(A, None, None, 100).expect("all of A"),
        ["cpu v2", "err_x", "errors", "errors-f", "errors:g", "zz"],
        "by name, bytewise"
    );
    assert_eq!(
        m.list_metric_alarms(A, Some("errors"), None, 100)
            .expect("prefix"),
        ["errors", "errors-f", "errors:g"]
    );
    assert_eq!(
        m.list_metric_alarms(A, Some("err_"), None, 100)
            .expect("an underscore is no wildcard"),
        ["err_x"]
    );
    assert_eq!(
        m.list_metric_alarms(A, Some("errors"), None, 2)
            .expect("page 1"),
        ["errors", "errors-f"]
    );
    assert_eq!(
        m.list_metric_alarms(A, Some("errors"), Some("errors-f"), 2)
            .expect("page 2"),
        ["errors:g"]
    );
    assert_eq!(
        m.list_metric_alarms(B, None, None, 100).expect("B"),
        ["B cpu"]
    );

    // Edits: one that declines leaves the record, one that changes it writes it.
    let declined = m
        .edit_metric_alarm(&alarm(A, "zz"), Box::new(|_| false))
        .expect("decline");
    assert!(matches!(declined, Edited::Declined));
    let done = m
        .edit_metric_alarm(
            &alarm(A, "zz"),
            Box::new(|d| {
                d.push_str(" ALARM");
                true
            }),
        )
        .expect("edit");
    assert!(matches!(done, Edited::Done(ref d) if d == "zz ALARM"));
    let missing = m
        .edit_metric_alarm(&alarm(A, "nope"), Box::new(|_| true))
        .expect("missing");
    assert!(matches!(missing, Edited::Missing));
    let refused = m
        .update_metric_alarm(&alarm(A, "zz"), |d| {
            d.push_str(" never");
            Err("refused")
        })
        .expect("update");
    assert_eq!(refused, Some(Err("refused")));
    assert_eq!(
        m.update_metric_alarm(&alarm(A, "zz"), |d| {
            d.push_str(" OK");
            Ok::<(), ()>(())
        })
        .expect("update"),
        Some(Ok("zz ALARM OK".to_string()))
    );
    let s = s.reopen();
    let m = s.metrics();
    assert_eq!(
        m.get_metric_alarm(&alarm(A, "zz")).expect("get").as_deref(),
        Some("zz ALARM OK")
    );
    assert_eq!(
        m.all_metric_alarms().expect("all"),
        [
            "cpu v2",
            "err_x",
            "errors",
            "errors-f",
            "errors:g",
            "zz ALARM OK",
            "B cpu"
        ],
        "every account's, by ARN"
    );
    assert!(m.delete_metric_alarm(&alarm(A, "errors")).expect("delete"));
    assert!(!m.delete_metric_alarm(&alarm(A, "errors")).expect("deleted"));
    assert_eq!(
        s.another()
            .metrics()
            .list_metric_alarms(A, Some("errors"), None, 100)
            .expect("list"),
        ["errors-f", "errors:g"]
    );
}

fn alarm_history_is_read_newest_first_and_ages_out(s: Fixture) {
    let m = s.metrics();
    for (name, ts, data) in [
        ("x", 100, "x100"),
        ("y", 150, "y150"),
        ("x", 200, "x200a"),
        ("x", 200, "x200b"),
        ("x", 300, "x300"),
        ("y", 400, "y400"),
    ] {
        m.add_alarm_history(A, name, ts, data).expect("add");
    }
    m.add_alarm_history(B, "x", 250, "B x250").expect("add");
    let texts = |items: Vec<(i64, String)>| -> Vec<(i64, String)> { items };
    let h = |name, from, to, skip, limit| {
        texts(
            m.list_alarm_history(A, name, from, to, skip, limit)
                .expect("history"),
        )
    };
    let pairs = |v: &[(i64, &str)]| -> Vec<(i64, String)> {
        v.iter().map(|(t, d)| (*t, d.to_string())).collect()
    };
    assert_eq!(
        h(Some("x"), 0, 1_000, 0, 100),
        pairs(&[(300, "x300"), (200, "x200b"), (200, "x200a"), (100, "x100")]),
        "newest first; of one time, the later written first"
    );
    assert_eq!(
        h(None, 0, 1_000, 0, 100),
        pairs(&[
            (400, "y400"),
            (300, "x300"),
            (200, "x200b"),
            (200, "x200a"),
            (150, "y150"),
            (100, "x100")
        ])
    );
    assert_eq!(
        h(None, 150, 400, 0, 100),
        pairs(&[(300, "x300"), (200, "x200b"), (200, "x200a"), (150, "y150")]),
        "from inclusive, to exclusive"
    );
    assert_eq!(
        h(None, 0, 1_000, 1, 2),
        pairs(&[(300, "x300"), (200, "x200b")])
    );
    assert_eq!(h(Some("x"), 0, 1_000, 4, 10), pairs(&[]));
    assert_eq!(h(Some("z"), 0, 1_000, 0, 10), pairs(&[]));
    assert_eq!(m.delete_alarm_history_before(200).expect("delete"), 2);
    let s = s.reopen();
    let m = s.metrics();
    assert_eq!(
        m.list_alarm_history(A, None, 0, 1_000, 0, 100)
            .expect("left"),
        pairs(&[(400, "y400"), (300, "x300"), (200, "x200b"), (200, "x200a")])
    );
    assert_eq!(
        m.list_alarm_history(B, None, 0, 1_000, 0, 100).expect("B"),
        pairs(&[(250, "B x250")])
    );
}

fn meter(function: &str, version: &str, day: i64, requests: u64) -> MeterRow {
    MeterRow {
        account: A.into(),
        function: function.into(),
        version: version.into(),
        day,
        architecture: "x86_64".into(),
        memory_mb: 128,
        ephemeral_mb: 512,
        requests,
        billed_ms: requests * 10,
        init_billed_ms: requests,
        provisioned_s: 7,
        host_cpu_ms: requests * 3,
        host_memory_mb_ms: requests * 1_280,
    }
}

fn metering_adds_up_by_day_and_function(s: Fixture) {
    let m = s.metrics();
    let arm = MeterRow {
        architecture: "arm64".into(),
        ..meter("f", "$LATEST", 20_000, 4)
    };
    let big = MeterRow {
        memory_mb: 1_024,
        ..meter("f", "$LATEST", 20_000, 1)
    };
    m.add_metering(&[
        meter("f", "$LATEST", 20_000, 2),
        meter("g", "1", 19_999, 1),
        meter("f", "1", 20_001, 3),
        arm.clone(),
        big.clone(),
        MeterRow {
            account: B.into(),
            ..meter("f", "$LATEST", 20_000, 9)
        },
    ])
    .expect("add");
    // Added again (twice within one call): the counts sum.
    m.add_metering(&[
        meter("f", "$LATEST", 20_000, 5),
        meter("f", "$LATEST", 20_000, 1),
    ])
    .expect("add again");
    let sum = MeterRow {
        provisioned_s: 21,
        ..meter("f", "$LATEST", 20_000, 8)
    };
    assert_eq!(
        m.metering(A, None, 0, 100_000).expect("all"),
        [
            arm.clone(),
            sum.clone(),
            big.clone(),
            meter("f", "1", 20_001, 3),
            meter("g", "1", 19_999, 1),
        ],
        "by function, version, day (then architecture, memory)"
    );
    assert_eq!(
        m.metering(A, Some("f"), 20_000, 20_001)
            .expect("f, one day"),
        [arm.clone(), sum.clone(), big.clone()],
        "to_day exclusive"
    );
    assert_eq!(
        m.metering(A, Some("g"), 0, 100_000).expect("g"),
        [meter("g", "1", 19_999, 1)]
    );
    assert!(m.metering(A, Some("h"), 0, 100_000).expect("h").is_empty());
    assert_eq!(m.metering(B, None, 0, 100_000).expect("B").len(), 1);
    // Counts beyond 32 bits keep.
    let huge = MeterRow {
        host_memory_mb_ms: 1 << 40,
        ..meter("h", "1", 20_000, 0)
    };
    m.add_metering(std::slice::from_ref(&huge)).expect("huge");
    assert_eq!(m.metering(A, Some("h"), 0, 100_000).expect("h"), [huge]);
    assert_eq!(m.delete_metering_before(20_000).expect("delete"), 1);
    let s = s.reopen();
    let m = s.metrics();
    assert_eq!(
        m.metering(A, None, 0, 100_000).expect("left").len(),
        5,
        "g's older day went"
    );
    assert_eq!(m.metering(B, None, 0, 100_000).expect("B").len(), 1);
}

/// Nodes (stores of their own on the same state) adding to the same metering rows and
/// the same series at once, each in its own order: every count lands, no write fails.
fn racing_nodes_all_count(s: Fixture) {
    const NODES: usize = 4;
    const ROUNDS: u64 = 25;
    let nodes: Vec<Store> = (0..NODES).map(|_| s.another()).collect();
    let shared: Vec<MetricSeries> = (0..5)
        .map(|i| series(A, "App", &format!("s{i}"), &[], 0))
        .collect();
    let start = Barrier::new(NODES);
    std::thread::scope(|scope| {
        for (n, node) in nodes.iter().enumerate() {
            let (shared, start) = (&shared, &start);
            scope.spawn(move || {
                start.wait();
                for round in 0..ROUNDS {
                    let mut rows = vec![meter("f", "1", 1, 1), meter("g", "1", 1, 2)];
                    let mut mine = shared.clone();
                    if n % 2 == 1 {
                        rows.reverse();
                        mine.reverse();
                    }
                    node.metrics().add_metering(&rows).expect("add metering");
                    let at = i64::try_from(round).expect("few rounds") * MINUTE;
                    for s in &mut mine {
                        s.last_ms = at;
                    }
                    let points: Vec<MetricPoint> =
                        mine.iter().map(|s| point(s, at, 60, &[n as u8])).collect();
                    node.metrics()
                        .add_metric_points(&mine, &points)
                        .expect("add points");
                }
            });
        }
    });
    let m = s.metrics();
    let total = NODES as u64 * ROUNDS;
    let f = MeterRow {
        provisioned_s: 7 * total,
        ..meter("f", "1", 1, total)
    };
    let g = MeterRow {
        provisioned_s: 7 * total,
        ..meter("g", "1", 1, 2 * total)
    };
    assert_eq!(m.metering(A, None, 0, 10).expect("metering"), [f, g]);
    for series in &shared {
        let stored = m.get_metric_series(&series.id).expect("get").expect("kept");
        let last = i64::try_from(ROUNDS - 1).expect("few rounds") * MINUTE;
        assert_eq!(stored.last_ms, last);
        assert_eq!(
            m.metric_points(&series.id, 0, i64::MAX)
                .expect("points")
                .len(),
            NODES * ROUNDS as usize
        );
    }
}
