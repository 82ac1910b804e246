//! Tests of the data operations through `CloudWatch::call`, over an in-memory store,
//! with the clock fixed.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use crate::mem_store::MemStore;
use crate::point::PointStats;
use crate::query::{DAY_MS, HOUR_MS, MINUTE_MS};
use crate::statistic::Statistic;
use crate::{CloudWatch, CloudWatchError, MetricRef, Retention, RollupReport};

/// 2026-12-01T00:00:00Z.
const NOW: i64 = 1_796_083_200_000;

struct Fixture {
    cw: CloudWatch,
    store: Arc<MemStore>,
    clock: Arc<AtomicI64>,
}

fn fixture() -> Fixture {
    let store = Arc::new(MemStore::default());
    let clock = Arc::new(AtomicI64::new(NOW));
    let c = clock.clone();
    let cw = CloudWatch::new(store.clone(), "us-east-1")
        .with_clock(Arc::new(move || c.load(Ordering::SeqCst)));
    Fixture { cw, store, clock }
}

fn call(cw: &CloudWatch, op: &str, input: Value) -> Result<Value, CloudWatchError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(cw.call("111122223333", op, input))
}

fn ok(cw: &CloudWatch, op: &str, input: Value) -> Value {
    call(cw, op, input).expect(op)
}

fn code(r: Result<Value, CloudWatchError>) -> String {
    r.expect_err("refused").code
}

fn secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

fn put(cw: &CloudWatch, data: Value) {
    ok(
        cw,
        "PutMetricData",
        json!({"Namespace": "App", "MetricData": data}),
    );
}

fn stats_input(start: i64, end: i64, period: i64, stats: Value) -> Value {
    json!({
        "Namespace": "App", "MetricName": "Latency",
        "Dimensions": [{"Name": "Service", "Value": "api"}],
        "StartTime": secs(start), "EndTime": secs(end), "Period": period,
        "Statistics": stats,
    })
}

fn latency(ts: i64, value: f64) -> Value {
    json!({"MetricName": "Latency", "Dimensions": [{"Name": "Service", "Value": "api"}],
           "Timestamp": secs(ts), "Value": value, "Unit": "Milliseconds"})
}

#[test]
fn statistics_are_per_period_from_the_rounded_start() {
    let f = fixture();
    let t0 = NOW - HOUR_MS;
    put(
        &f.cw,
        json!([
            latency(t0 + 5_000, 10.0),
            latency(t0 + 65_000, 20.0),
            latency(t0 + 130_000, 30.0),
            latency(t0 + 179_000, 50.0)
        ]),
    );
    // A start 34 s into a minute reads from that minute's start.
    let out = ok(
        &f.cw,
        "GetMetricStatistics",
        stats_input(
            t0 + 34_000,
            t0 + 600_000,
            120,
            json!(["Sum", "SampleCount", "Average", "Minimum", "Maximum"]),
        ),
    );
    assert_eq!(
        out,
        json!({"Label": "Latency", "Datapoints": [
            {"Timestamp": t0 / 1000, "Sum": 30.0, "SampleCount": 2.0, "Average": 15.0, "Minimum": 10.0, "Maximum": 20.0, "Unit": "Milliseconds"},
            {"Timestamp": t0 / 1000 + 120, "Sum": 80.0, "SampleCount": 2.0, "Average": 40.0, "Minimum": 30.0, "Maximum": 50.0, "Unit": "Milliseconds"},
        ]})
    );
    // The unit filter: data of another unit is not answered.
    let mut input = stats_input(t0, t0 + 600_000, 60, json!(["Sum"]));
    input["Unit"] = json!("Seconds");
    assert_eq!(
        ok(&f.cw, "GetMetricStatistics", input)["Datapoints"],
        json!([])
    );
}

#[test]
fn rows_of_two_flushes_merge_on_read() {
    let f = fixture();
    let t0 = NOW - HOUR_MS;
    put(&f.cw, json!([latency(t0, 1.0)]));
    f.cw.flush().expect("flush");
    put(&f.cw, json!([latency(t0 + 1_000, 3.0)]));
    f.cw.flush().expect("flush");
    assert_eq!(f.store.points.lock().expect("lock").len(), 2);
    let out = ok(
        &f.cw,
        "GetMetricStatistics",
        stats_input(t0, t0 + 60_000, 60, json!(["Sum", "Maximum"])),
    );
    assert_eq!(
        out["Datapoints"],
        json!([{"Timestamp": t0 / 1000, "Sum": 4.0, "Maximum": 3.0, "Unit": "Milliseconds"}])
    );
}

#[test]
fn percentiles_from_values_and_counts_within_one_percent() {
    let f = fixture();
    let t0 = NOW - HOUR_MS;
    let values: Vec<f64> = (1..=150).map(f64::from).collect();
    let counts: Vec<f64> = vec![2.0; 150];
    put(
        &f.cw,
        json!([{"MetricName": "Latency", "Dimensions": [{"Name": "Service", "Value": "api"}], "Timestamp": secs(t0), "Values": values, "Counts": counts}]),
    );
    let mut input = stats_input(t0, t0 + 60_000, 60, json!(null));
    input.as_object_mut().expect("object").remove("Statistics");
    input["ExtendedStatistics"] = json!(["p50", "p99", "tc90"]);
    let out = ok(&f.cw, "GetMetricStatistics", input);
    let ext = &out["Datapoints"][0]["ExtendedStatistics"];
    let p50 = ext["p50"].as_f64().expect("p50");
    let p99 = ext["p99"].as_f64().expect("p99");
    assert!((p50 - 75.0).abs() <= 0.75, "{p50}");
    assert!((p99 - 149.0).abs() <= 1.49, "{p99}");
    assert_eq!(ext["tc90"], json!(270.0));
    assert_eq!(out["Datapoints"][0]["Unit"], json!("None"));
}

#[test]
fn get_metric_statistics_refuses_as_aws() {
    let f = fixture();
    let t0 = NOW - HOUR_MS;
    assert_eq!(
        code(call(
            &f.cw,
            "GetMetricStatistics",
            stats_input(t0, t0 + 60_000, 45, json!(["Sum"]))
        )),
        "InvalidParameterValue"
    );
    let mut both = stats_input(t0, t0 + 60_000, 60, json!(["Sum"]));
    both["ExtendedStatistics"] = json!(["p99"]);
    assert_eq!(
        code(call(&f.cw, "GetMetricStatistics", both)),
        "InvalidParameterCombination"
    );
    let none = stats_input(t0, t0 + 60_000, 60, json!(null));
    assert_eq!(
        code(call(&f.cw, "GetMetricStatistics", none)),
        "InvalidParameterCombination"
    );
    let mut bad_ext = stats_input(t0, t0 + 60_000, 60, json!(null));
    bad_ext["ExtendedStatistics"] = json!(["p101"]);
    assert_eq!(
        code(call(&f.cw, "GetMetricStatistics", bad_ext)),
        "InvalidParameterValue"
    );
    let too_many = call(
        &f.cw,
        "GetMetricStatistics",
        stats_input(NOW - DAY_MS - MINUTE_MS, NOW, 60, json!(["Sum"])),
    );
    let e = too_many.expect_err("over 1,440");
    assert_eq!(e.code, "InvalidParameterCombination");
    assert!(
        e.message
            .starts_with("You have requested up to 1441 datapoints"),
        "{}",
        e.message
    );
    assert!(call(
        &f.cw,
        "GetMetricStatistics",
        stats_input(NOW - DAY_MS, NOW, 60, json!(["Sum"]))
    )
    .is_ok());
    assert_eq!(
        code(call(
            &f.cw,
            "GetMetricStatistics",
            stats_input(t0, t0, 60, json!(["Sum"]))
        )),
        "InvalidParameterValue"
    );
    let mut missing = stats_input(t0, t0 + 60_000, 60, json!(["Sum"]));
    missing
        .as_object_mut()
        .expect("object")
        .remove("MetricName");
    assert_eq!(
        code(call(&f.cw, "GetMetricStatistics", missing)),
        "MissingParameter"
    );
}

#[test]
fn old_data_is_served_only_at_long_periods() {
    let f = fixture();
    let t0 = NOW - 10 * DAY_MS;
    put(&f.cw, json!([latency(t0, 1.0)]));
    f.clock.store(NOW + 6 * DAY_MS, Ordering::SeqCst);
    // 16 days old: a one-minute period answers nothing, five minutes answers it.
    assert_eq!(
        ok(
            &f.cw,
            "GetMetricStatistics",
            stats_input(t0, t0 + HOUR_MS, 60, json!(["Sum"]))
        )["Datapoints"],
        json!([])
    );
    let out = ok(
        &f.cw,
        "GetMetricStatistics",
        stats_input(t0, t0 + HOUR_MS, 300, json!(["Sum"])),
    );
    assert_eq!(out["Datapoints"][0]["Sum"], json!(1.0));
}

#[test]
fn put_metric_data_refuses_as_aws() {
    let f = fixture();
    let refused = |input: Value| code(call(&f.cw, "PutMetricData", input));
    assert_eq!(
        refused(
            json!({"Namespace": "AWS/Lambda", "MetricData": [{"MetricName": "m", "Value": 1}]})
        ),
        "InvalidParameterValue"
    );
    assert_eq!(
        refused(json!({"MetricData": [{"MetricName": "m", "Value": 1}]})),
        "MissingParameter"
    );
    assert_eq!(
        refused(json!({"Namespace": "N", "MetricData": []})),
        "MissingParameter"
    );
    assert_eq!(
        refused(
            json!({"Namespace": "N", "MetricData": [{"MetricName": "m", "Value": 1, "Values": [1]}]})
        ),
        "InvalidParameterCombination"
    );
    assert_eq!(
        refused(json!({"Namespace": "N", "MetricData": [{"MetricName": "m", "Counts": [1]}]})),
        "InvalidParameterCombination"
    );
    assert_eq!(
        refused(
            json!({"Namespace": "N", "MetricData": [{"MetricName": "m", "Values": [1, 2], "Counts": [1]}]})
        ),
        "InvalidParameterValue"
    );
    assert_eq!(
        refused(
            json!({"Namespace": "N", "MetricData": [{"MetricName": "m", "Value": 1, "StorageResolution": 30}]})
        ),
        "InvalidParameterValue"
    );
    assert_eq!(
        refused(
            json!({"Namespace": "N", "MetricData": [{"MetricName": "m", "Value": 1, "Unit": "ms"}]})
        ),
        "InvalidParameterValue"
    );
    assert_eq!(
        refused(json!({"Namespace": "N", "MetricData": [{"MetricName": "m", "Value": 1e300}]})),
        "InvalidParameterValue"
    );
    let two_weeks_back = secs(NOW - 14 * DAY_MS - 1000);
    assert_eq!(
        refused(
            json!({"Namespace": "N", "MetricData": [{"MetricName": "m", "Value": 1, "Timestamp": two_weeks_back}]})
        ),
        "InvalidParameterValue"
    );
    let ahead = secs(NOW + 2 * HOUR_MS + 1000);
    assert_eq!(
        refused(
            json!({"Namespace": "N", "MetricData": [{"MetricName": "m", "Value": 1, "Timestamp": ahead}]})
        ),
        "InvalidParameterValue"
    );
    let dims: Vec<Value> = (0..31)
        .map(|i| json!({"Name": format!("d{i}"), "Value": "v"}))
        .collect();
    assert_eq!(
        refused(
            json!({"Namespace": "N", "MetricData": [{"MetricName": "m", "Value": 1, "Dimensions": dims}]})
        ),
        "InvalidParameterValue"
    );
    let values: Vec<f64> = (0..151).map(f64::from).collect();
    assert_eq!(
        refused(json!({"Namespace": "N", "MetricData": [{"MetricName": "m", "Values": values}]})),
        "InvalidParameterValue"
    );
    let data: Vec<Value> = (0..1001)
        .map(|_| json!({"MetricName": "m", "Value": 1}))
        .collect();
    assert_eq!(
        refused(json!({"Namespace": "N", "MetricData": data})),
        "InvalidParameterValue"
    );
    // A refused request records nothing, even its valid data.
    assert_eq!(
        refused(
            json!({"Namespace": "N", "MetricData": [{"MetricName": "ok", "Value": 1}, {"MetricName": "m"}]})
        ),
        "MissingParameter"
    );
    assert_eq!(f.cw.recorder().drain().1.len(), 0);
}

fn gmd(queries: Value, extra: Value) -> Value {
    let mut input = json!({"MetricDataQueries": queries, "StartTime": secs(NOW - HOUR_MS), "EndTime": secs(NOW)});
    if let (Some(o), Some(e)) = (input.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    input
}

fn stat_query(id: &str, name: &str, stat: &str) -> Value {
    json!({"Id": id, "MetricStat": {"Metric": {"Namespace": "App", "MetricName": name}, "Period": 60, "Stat": stat}, "ReturnData": false})
}

fn requests_and_errors(cw: &CloudWatch) {
    let t0 = NOW - HOUR_MS;
    let mut data = Vec::new();
    for k in 0..3 {
        data.push(json!({"MetricName": "Requests", "Timestamp": secs(t0 + k * MINUTE_MS), "Value": 10.0 * (k + 1) as f64}));
    }
    for k in 0..2 {
        data.push(
            json!({"MetricName": "Errors", "Timestamp": secs(t0 + k * MINUTE_MS), "Value": 1.0}),
        );
    }
    put(cw, Value::Array(data));
}

#[test]
fn metric_math_broadcasts_and_meets_at_shared_timestamps() {
    let f = fixture();
    requests_and_errors(&f.cw);
    let t0 = (NOW - HOUR_MS) / 1000;
    let out = ok(
        &f.cw,
        "GetMetricData",
        gmd(
            json!([
                stat_query("req", "Requests", "Sum"),
                stat_query("err", "Errors", "Sum"),
                {"Id": "rate", "Expression": "100 * err / req", "Label": "Error rate"},
                {"Id": "total", "Expression": "SUM([req, err])"},
                {"Id": "peak", "Expression": "MAX(req)"},
            ]),
            json!({"ScanBy": "TimestampAscending"}),
        ),
    );
    let results = out["MetricDataResults"].as_array().expect("results");
    assert_eq!(results.len(), 3);
    assert_eq!(
        results[0],
        json!({"Id": "rate", "Label": "Error rate", "Timestamps": [t0, t0 + 60], "Values": [10.0, 5.0], "StatusCode": "Complete", "Messages": []})
    );
    assert_eq!(results[1]["Values"], json!([11.0, 21.0, 30.0]));
    assert_eq!(results[1]["Label"], json!("total"));
    // A scalar is answered at every period of the range.
    assert_eq!(results[2]["Values"].as_array().expect("values").len(), 60);
    assert_eq!(results[2]["Values"][0], json!(30.0));
    assert_eq!(out["Messages"], json!([]));
    assert!(out.get("NextToken").is_none());
}

#[test]
fn get_metric_data_scans_descending_and_pages() {
    let f = fixture();
    requests_and_errors(&f.cw);
    let t0 = (NOW - HOUR_MS) / 1000;
    let mut q = stat_query("req", "Requests", "Sum");
    q["ReturnData"] = json!(true);
    let input = gmd(json!([q]), json!({"MaxDatapoints": 2}));
    let first = ok(&f.cw, "GetMetricData", input.clone());
    assert_eq!(
        first["MetricDataResults"][0],
        json!({"Id": "req", "Label": "Requests", "Timestamps": [t0 + 120, t0 + 60], "Values": [30.0, 20.0], "StatusCode": "PartialData", "Messages": []})
    );
    let token = first["NextToken"].clone();
    let mut next = input.clone();
    next["NextToken"] = token;
    let second = ok(&f.cw, "GetMetricData", next);
    assert_eq!(second["MetricDataResults"][0]["Timestamps"], json!([t0]));
    assert_eq!(
        second["MetricDataResults"][0]["StatusCode"],
        json!("Complete")
    );
    assert!(second.get("NextToken").is_none());
    let mut bad = input;
    bad["NextToken"] = json!("nonsense-token-123456");
    assert_eq!(code(call(&f.cw, "GetMetricData", bad)), "InvalidNextToken");
}

#[test]
fn get_metric_data_refuses_as_aws() {
    let f = fixture();
    let refused = |q: Value| code(call(&f.cw, "GetMetricData", gmd(q, json!({}))));
    assert_eq!(
        refused(json!([{"Id": "Bad", "Expression": "1"}])),
        "InvalidParameterValue"
    );
    assert_eq!(
        refused(json!([{"Id": "a", "Expression": "1"}, {"Id": "a", "Expression": "2"}])),
        "InvalidParameterValue"
    );
    assert_eq!(refused(json!([{"Id": "a"}])), "InvalidParameterCombination");
    let e = call(
        &f.cw,
        "GetMetricData",
        gmd(json!([{"Id": "a", "Expression": "RATE(b)"}]), json!({})),
    )
    .expect_err("unknown function");
    assert_eq!(e.message, "Error in expression a: Unknown function RATE: Hearth's metric math has SUM, AVG, MIN, MAX and METRICS");
    assert_eq!(
        refused(json!([{"Id": "a", "Expression": "b"}, {"Id": "b", "Expression": "a"}])),
        "InvalidParameterValue"
    );
    assert_eq!(
        refused(json!([{"Id": "a", "Expression": "METRICS()"}])),
        "InvalidParameterValue"
    );
    let mut q = stat_query("m", "Requests", "p1000");
    q["ReturnData"] = json!(true);
    assert_eq!(refused(json!([q])), "InvalidParameterValue");
}

#[test]
fn list_metrics_filters_and_pages() {
    let f = fixture();
    let mut data = Vec::new();
    for i in 0..502 {
        data.push(json!({"MetricName": "Hits", "Dimensions": [{"Name": "Page", "Value": format!("p{i:03}")}], "Value": 1, "Timestamp": secs(NOW - 4 * HOUR_MS)}));
    }
    put(&f.cw, Value::Array(data));
    put(
        &f.cw,
        json!([{"MetricName": "Errors", "Dimensions": [{"Name": "Host", "Value": "a"}], "Value": 1}]),
    );
    let first = ok(&f.cw, "ListMetrics", json!({"Namespace": "App"}));
    assert_eq!(first["Metrics"].as_array().expect("metrics").len(), 500);
    assert_eq!(
        first["Metrics"][0],
        json!({"Namespace": "App", "MetricName": "Errors", "Dimensions": [{"Name": "Host", "Value": "a"}]})
    );
    let second = ok(
        &f.cw,
        "ListMetrics",
        json!({"Namespace": "App", "NextToken": first["NextToken"]}),
    );
    assert_eq!(second["Metrics"].as_array().expect("metrics").len(), 3);
    assert!(second.get("NextToken").is_none());
    let by_dim = ok(
        &f.cw,
        "ListMetrics",
        json!({"Dimensions": [{"Name": "Page", "Value": "p007"}]}),
    );
    assert_eq!(
        by_dim["Metrics"],
        json!([{"Namespace": "App", "MetricName": "Hits", "Dimensions": [{"Name": "Page", "Value": "p007"}]}])
    );
    let recent = ok(&f.cw, "ListMetrics", json!({"RecentlyActive": "PT3H"}));
    assert_eq!(recent["Metrics"].as_array().expect("metrics").len(), 1);
    assert_eq!(
        code(call(&f.cw, "ListMetrics", json!({"NextToken": "zz"}))),
        "InvalidNextToken"
    );
    assert_eq!(
        code(call(
            &f.cw,
            "ListMetrics",
            json!({"RecentlyActive": "PT1H"})
        )),
        "InvalidParameterValue"
    );
    // Two weeks after its last point a metric is no longer listed.
    f.clock
        .store(NOW + 14 * DAY_MS - 3 * HOUR_MS, Ordering::SeqCst);
    let later = ok(&f.cw, "ListMetrics", json!({"MetricName": "Errors"}));
    assert_eq!(later["Metrics"].as_array().expect("metrics").len(), 1);
    f.clock.store(NOW + 14 * DAY_MS + 1, Ordering::SeqCst);
    assert_eq!(
        ok(&f.cw, "ListMetrics", json!({"MetricName": "Errors"}))["Metrics"],
        json!([])
    );
}

#[test]
fn high_resolution_data_at_short_periods() {
    let f = fixture();
    let t0 = NOW - 10 * MINUTE_MS;
    let mut data = Vec::new();
    for s in 0..20 {
        data.push(json!({"MetricName": "Latency", "Dimensions": [{"Name": "Service", "Value": "api"}], "Timestamp": secs(t0 + s * 1000), "Value": 1.0, "StorageResolution": 1}));
    }
    put(&f.cw, Value::Array(data));
    let out = ok(
        &f.cw,
        "GetMetricStatistics",
        stats_input(t0, t0 + 20_000, 10, json!(["SampleCount"])),
    );
    assert_eq!(
        out["Datapoints"],
        json!([
            {"Timestamp": t0 / 1000, "SampleCount": 10.0, "Unit": "None"},
            {"Timestamp": t0 / 1000 + 10, "SampleCount": 10.0, "Unit": "None"},
        ])
    );
}

#[test]
fn rollup_moves_old_points_to_longer_periods_and_deletes_the_oldest() {
    let f = fixture();
    let t0 = NOW - HOUR_MS; // a whole hour
    let mut data = Vec::new();
    for m in 0..10 {
        data.push(latency(t0 + m * MINUTE_MS, m as f64));
    }
    put(&f.cw, Value::Array(data));
    f.cw.flush().expect("flush");
    put(&f.cw, json!([latency(t0 + 30_000, 100.0)]));
    f.cw.flush().expect("flush");
    assert_eq!(f.store.points.lock().expect("lock").len(), 11);
    // A pass now compacts the two rows of the first minute.
    let report = f.cw.roll_up(NOW).expect("rollup");
    assert_eq!(
        report,
        RollupReport {
            rolled: 0,
            compacted: 1,
            deleted: 0
        }
    );
    assert_eq!(f.store.points.lock().expect("lock").len(), 10);
    // 16 days on: five-minute points.
    let later = NOW + 16 * DAY_MS;
    f.clock.store(later, Ordering::SeqCst);
    assert_eq!(f.cw.roll_up(later).expect("rollup").rolled, 1);
    let points: Vec<(i64, u32, f64, f64)> = f
        .store
        .points
        .lock()
        .expect("lock")
        .iter()
        .map(|p| {
            let s = PointStats::decode(&p.stats)
                .expect("decodes")
                .combined(None)
                .expect("stats");
            (p.start_ms - t0, p.resolution_s, s.count, s.sum)
        })
        .collect();
    assert_eq!(
        points,
        vec![(0, 300, 6.0, 110.0), (300_000, 300, 5.0, 35.0)]
    );
    // 64 days on: one hour; 456 days on: gone.
    let later = NOW + 64 * DAY_MS;
    assert_eq!(f.cw.roll_up(later).expect("rollup").rolled, 1);
    assert_eq!(f.store.points.lock().expect("lock").len(), 1);
    let later = NOW + 456 * DAY_MS;
    assert_eq!(f.cw.roll_up(later).expect("rollup").deleted, 1);
    assert!(f.store.points.lock().expect("lock").is_empty());
    assert!(f.store.series.lock().expect("lock").is_empty());
}

#[test]
fn retention_is_configurable() {
    let f = fixture();
    let cw = f.cw.clone().with_retention(Retention {
        high_res_hours: 1,
        minute_days: 1,
        five_minute_days: 2,
        hour_days: 3,
    });
    put(&cw, json!([latency(NOW - HOUR_MS, 1.0)]));
    cw.flush().expect("flush");
    assert_eq!(cw.roll_up(NOW + DAY_MS).expect("rollup").rolled, 1);
    assert_eq!(f.store.points.lock().expect("lock")[0].resolution_s, 300);
    // Past the five-minute retention too: the series goes on to one hour.
    assert_eq!(
        cw.roll_up(NOW + 2 * DAY_MS + HOUR_MS)
            .expect("rollup")
            .rolled,
        1
    );
    assert_eq!(f.store.points.lock().expect("lock")[0].resolution_s, 3600);
    assert_eq!(cw.roll_up(NOW + 4 * DAY_MS).expect("rollup").deleted, 1);
}

#[test]
fn emf_lines_are_recorded_and_read() {
    let f = fixture();
    let line = format!(
        r#"{{"_aws":{{"Timestamp":{},"CloudWatchMetrics":[{{"Namespace":"App","Dimensions":[["Service"]],"Metrics":[{{"Name":"Latency","Unit":"Milliseconds"}}]}}]}},"Service":"api","Latency":[4,6]}}"#,
        NOW - HOUR_MS
    );
    assert_eq!(f.cw.record_emf("111122223333", &line), Ok(2));
    let out = ok(
        &f.cw,
        "GetMetricStatistics",
        stats_input(NOW - HOUR_MS, NOW, 60, json!(["Average"])),
    );
    assert_eq!(
        out["Datapoints"],
        json!([{"Timestamp": (NOW - HOUR_MS) / 1000, "Average": 5.0, "Unit": "Milliseconds"}])
    );
    let old = line.replace(
        &format!("{}", NOW - HOUR_MS),
        &format!("{}", NOW - 15 * DAY_MS),
    );
    assert!(matches!(
        f.cw.record_emf("111122223333", &old),
        Err(crate::EmfError::Invalid(_))
    ));
}

#[test]
fn a_failed_flush_keeps_its_points() {
    let f = fixture();
    put(&f.cw, json!([latency(NOW - HOUR_MS, 2.0)]));
    *f.store.fail_adds.lock().expect("lock") = true;
    assert!(f.cw.flush().is_err());
    *f.store.fail_adds.lock().expect("lock") = false;
    assert_eq!(f.cw.flush(), Ok(1));
}

#[test]
fn the_alarm_query_api() {
    let f = fixture();
    requests_and_errors(&f.cw);
    let metric = MetricRef {
        namespace: "App".into(),
        name: "Requests".into(),
        dimensions: vec![],
    };
    let t0 = NOW - HOUR_MS;
    let points =
        f.cw.metric_datapoints("111122223333", &metric, 120, &Statistic::Sum, None, t0, NOW)
            .expect("points");
    assert_eq!(points, vec![(t0, 30.0), (t0 + 120_000, 30.0)]);
    let queries = vec![
        stat_query("req", "Requests", "Sum"),
        json!({"Id": "half", "Expression": "req / 2", "ReturnData": true}),
    ];
    let results =
        f.cw.evaluate_queries("111122223333", &queries, t0, NOW)
            .expect("results");
    assert_eq!(
        results[1].points,
        vec![(t0, 5.0), (t0 + 60_000, 10.0), (t0 + 120_000, 15.0)]
    );
    assert!(results[1].return_data && !results[0].return_data);
}
