//! Tests of the alarm operations and the evaluator through `CloudWatch::call`, over the
//! in-memory store of `mem_store`.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::alarm_evaluator::{AlarmActions, AlarmData, BoxFuture, EvaluationReport, MetricQuery};
use crate::alarm_model::MetricDataQuery;
use crate::alarm_notify::subject_of;
use crate::mem_store::MemStore;
use crate::{CloudWatch, CloudWatchError, Datapoint};

const ACCOUNT: &str = "123456789012";
// 2026-12-03T10:00:00Z
const T: i64 = 1_796_292_000_000;
const MIN: i64 = 60_000;
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:ops";

struct Env {
    cw: CloudWatch,
    now: Arc<AtomicI64>,
}

fn env() -> Env {
    let now = Arc::new(AtomicI64::new(T));
    let clock = now.clone();
    let cw = CloudWatch::new(Arc::new(MemStore::default()), "us-east-1")
        .with_clock(Arc::new(move || clock.load(Ordering::SeqCst)));
    Env { cw, now }
}

impl Env {
    async fn call(&self, op: &str, input: Value) -> Result<Value, CloudWatchError> {
        self.cw.call(ACCOUNT, op, input).await
    }

    async fn ok(&self, op: &str, input: Value) -> Value {
        self.call(op, input).await.expect(op)
    }

    async fn put(&self, name: &str, extra: Value) {
        let mut input = json!({
            "AlarmName": name,
            "MetricName": "Errors",
            "Namespace": "AWS/Lambda",
            "Statistic": "Sum",
            "Dimensions": [{"Name": "FunctionName", "Value": "f"}],
            "Period": 60,
            "EvaluationPeriods": 1,
            "Threshold": 1.0,
            "ComparisonOperator": "GreaterThanThreshold"
        });
        for (k, v) in extra.as_object().expect("object") {
            input[k] = v.clone();
        }
        self.ok("PutMetricAlarm", input).await;
    }

    async fn alarm(&self, name: &str) -> Value {
        let out = self
            .ok("DescribeAlarms", json!({"AlarmNames": [name]}))
            .await;
        out["MetricAlarms"][0].clone()
    }

    fn at(&self, ms: i64) {
        self.now.store(ms, Ordering::SeqCst);
    }
}

fn names(out: &Value) -> Vec<String> {
    out["MetricAlarms"]
        .as_array()
        .expect("list")
        .iter()
        .map(|a| a["AlarmName"].as_str().expect("name").to_string())
        .collect()
}

#[tokio::test]
async fn a_new_alarm_is_insufficient_data_and_describes_fully() {
    let e = env();
    e.put(
        "errors",
        json!({"AlarmActions": [TOPIC], "Tags": [{"Key": "k", "Value": "v"}]}),
    )
    .await;
    assert_eq!(
        e.alarm("errors").await,
        json!({
            "AlarmName": "errors",
            "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:errors",
            "AlarmConfigurationUpdatedTimestamp": 1_796_292_000.0,
            "ActionsEnabled": true,
            "OKActions": [],
            "AlarmActions": [TOPIC],
            "InsufficientDataActions": [],
            "StateValue": "INSUFFICIENT_DATA",
            "StateReason": "Unchecked: Initial alarm creation",
            "StateUpdatedTimestamp": 1_796_292_000.0,
            "MetricName": "Errors",
            "Namespace": "AWS/Lambda",
            "Statistic": "Sum",
            "Dimensions": [{"Name": "FunctionName", "Value": "f"}],
            "Period": 60,
            "EvaluationPeriods": 1,
            "Threshold": 1.0,
            "ComparisonOperator": "GreaterThanThreshold",
            "StateTransitionedTimestamp": 1_796_292_000.0
        })
    );
    let h = e
        .ok("DescribeAlarmHistory", json!({"AlarmName": "errors"}))
        .await;
    let items = h["AlarmHistoryItems"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["HistoryItemType"], "ConfigurationUpdate");
    assert_eq!(items[0]["HistorySummary"], "Alarm \"errors\" created");
    assert_eq!(items[0]["AlarmType"], "MetricAlarm");
    assert_eq!(items[0]["Timestamp"], json!(1_796_292_000.0));
    let data: Value =
        serde_json::from_str(items[0]["HistoryData"].as_str().expect("text")).expect("json");
    assert_eq!(data["type"], "Create");
    assert_eq!(data["createdAlarm"]["alarmName"], "errors");
}

#[tokio::test]
async fn an_update_keeps_the_state() {
    let e = env();
    e.put("errors", json!({})).await;
    e.at(T + MIN);
    e.ok(
        "SetAlarmState",
        json!({"AlarmName": "errors", "StateValue": "ALARM", "StateReason": "testing",
               "StateReasonData": "{\"a\":1}"}),
    )
    .await;
    e.at(T + 2 * MIN);
    e.put("errors", json!({"Threshold": 7.5})).await;
    let a = e.alarm("errors").await;
    assert_eq!(a["StateValue"], "ALARM");
    assert_eq!(a["StateReason"], "testing");
    assert_eq!(a["StateReasonData"], "{\"a\":1}");
    assert_eq!(a["Threshold"], json!(7.5));
    assert_eq!(a["StateUpdatedTimestamp"], json!(1_796_292_060.0));
    assert_eq!(
        a["AlarmConfigurationUpdatedTimestamp"],
        json!(1_796_292_120.0)
    );
    let h = e
        .ok("DescribeAlarmHistory", json!({"AlarmName": "errors"}))
        .await;
    let summaries: Vec<&str> = h["AlarmHistoryItems"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["HistorySummary"].as_str().expect("summary"))
        .collect();
    assert_eq!(
        summaries,
        [
            "Alarm \"errors\" updated",
            "Alarm updated from INSUFFICIENT_DATA to ALARM",
            "Alarm \"errors\" created"
        ]
    );
}

#[tokio::test]
async fn describe_alarms_filters_and_pages() {
    let e = env();
    for n in ["b-1", "a-1", "a-2", "a-3"] {
        e.put(n, json!({})).await;
    }
    e.put("c-1", json!({"OKActions": ["https://hooks.example.com/x"]}))
        .await;
    e.ok(
        "SetAlarmState",
        json!({"AlarmName": "a-2", "StateValue": "OK", "StateReason": "r"}),
    )
    .await;
    let all = e.ok("DescribeAlarms", json!({})).await;
    assert_eq!(names(&all), ["a-1", "a-2", "a-3", "b-1", "c-1"]);
    assert_eq!(all["CompositeAlarms"], json!([]));
    assert_eq!(all.get("NextToken"), None);
    let p = e
        .ok("DescribeAlarms", json!({"AlarmNamePrefix": "a-"}))
        .await;
    assert_eq!(names(&p), ["a-1", "a-2", "a-3"]);
    let s = e.ok("DescribeAlarms", json!({"StateValue": "OK"})).await;
    assert_eq!(names(&s), ["a-2"]);
    let ap = e
        .ok("DescribeAlarms", json!({"ActionPrefix": "https://hooks"}))
        .await;
    assert_eq!(names(&ap), ["c-1"]);
    let n = e
        .ok(
            "DescribeAlarms",
            json!({"AlarmNames": ["c-1", "a-3", "nope"]}),
        )
        .await;
    assert_eq!(names(&n), ["a-3", "c-1"]);

    let page1 = e.ok("DescribeAlarms", json!({"MaxRecords": 2})).await;
    assert_eq!(names(&page1), ["a-1", "a-2"]);
    let token = page1["NextToken"].clone();
    let page2 = e
        .ok(
            "DescribeAlarms",
            json!({"MaxRecords": 2, "NextToken": token}),
        )
        .await;
    assert_eq!(names(&page2), ["a-3", "b-1"]);
    let page3 = e
        .ok(
            "DescribeAlarms",
            json!({"MaxRecords": 2, "NextToken": page2["NextToken"]}),
        )
        .await;
    assert_eq!(names(&page3), ["c-1"]);
    assert_eq!(page3.get("NextToken"), None);

    let bad = e
        .call("DescribeAlarms", json!({"NextToken": "not-a-token"}))
        .await
        .expect_err("bad token");
    assert_eq!(bad.code, "InvalidNextToken");
    let both = e
        .call(
            "DescribeAlarms",
            json!({"AlarmNames": ["a"], "AlarmNamePrefix": "a"}),
        )
        .await
        .expect_err("both");
    assert_eq!(both.code, "InvalidParameterCombination");
    let composite = e
        .ok("DescribeAlarms", json!({"AlarmTypes": ["CompositeAlarm"]}))
        .await;
    assert_eq!(
        composite,
        json!({"MetricAlarms": [], "CompositeAlarms": []})
    );
    let big = e
        .call("DescribeAlarms", json!({"MaxRecords": 101}))
        .await
        .expect_err("too many");
    assert_eq!(big.code, "ValidationError");
}

#[tokio::test]
async fn describe_alarms_for_metric_matches_the_metric() {
    let e = env();
    e.put("sum", json!({})).await;
    e.put("max", json!({"Statistic": "Maximum"})).await;
    e.put(
        "other",
        json!({"Dimensions": [{"Name": "FunctionName", "Value": "g"}]}),
    )
    .await;
    let all = e
        .ok(
            "DescribeAlarmsForMetric",
            json!({"MetricName": "Errors", "Namespace": "AWS/Lambda"}),
        )
        .await;
    assert_eq!(names(&all), ["max", "other", "sum"]);
    let f = e
        .ok(
            "DescribeAlarmsForMetric",
            json!({"MetricName": "Errors", "Namespace": "AWS/Lambda", "Statistic": "Sum",
                   "Dimensions": [{"Name": "FunctionName", "Value": "f"}]}),
        )
        .await;
    assert_eq!(names(&f), ["sum"]);
    let missing = e
        .call("DescribeAlarmsForMetric", json!({"MetricName": "Errors"}))
        .await
        .expect_err("namespace");
    assert_eq!(
        (missing.code.as_str(), missing.message.as_str()),
        ("MissingParameter", "The parameter Namespace is required.")
    );
}

#[tokio::test]
async fn delete_alarms_and_set_state_errors() {
    let e = env();
    e.put("x", json!({})).await;
    e.ok("DeleteAlarms", json!({"AlarmNames": ["x", "never-was"]}))
        .await;
    assert_eq!(
        names(&e.ok("DescribeAlarms", json!({})).await),
        Vec::<String>::new()
    );
    let h = e
        .ok("DescribeAlarmHistory", json!({"AlarmName": "x"}))
        .await;
    assert_eq!(
        h["AlarmHistoryItems"][0]["HistorySummary"],
        "Alarm \"x\" deleted"
    );

    let nf = e
        .call(
            "SetAlarmState",
            json!({"AlarmName": "x", "StateValue": "OK", "StateReason": "r"}),
        )
        .await
        .expect_err("gone");
    assert_eq!(
        (nf.code.as_str(), nf.message.as_str(), nf.status),
        ("ResourceNotFound", "", 404)
    );
    e.put("y", json!({})).await;
    let bad = e
        .call(
            "SetAlarmState",
            json!({"AlarmName": "y", "StateValue": "OK", "StateReason": "r",
                   "StateReasonData": "{not json"}),
        )
        .await
        .expect_err("json");
    assert_eq!(bad.code, "InvalidFormat");
    let state = e
        .call(
            "SetAlarmState",
            json!({"AlarmName": "y", "StateValue": "BROKEN", "StateReason": "r"}),
        )
        .await
        .expect_err("state");
    assert_eq!(
        (state.code.as_str(), state.message.as_str()),
        (
            "ValidationError",
            "1 validation error detected: Value 'BROKEN' at 'stateValue' failed to satisfy \
             constraint: Member must satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]"
        )
    );
    let none = e.call("DeleteAlarms", json!({})).await.expect_err("names");
    assert_eq!(none.code, "MissingParameter");
}

/// A query the evaluator asked: (account, metric, period, from, to).
type Asked = (String, String, i64, i64, i64);

/// Datapoints served to the evaluator, and the queries it asked.
#[derive(Default)]
struct FakeData {
    points: Mutex<Vec<Datapoint>>,
    asked: Mutex<Vec<Asked>>,
}

impl FakeData {
    fn set(&self, points: &[(i64, f64)]) {
        *self.points.lock().expect("lock") = points
            .iter()
            .map(|&(ts, v)| Datapoint {
                timestamp_ms: ts,
                value: v,
                sample_count: Some(1.0),
            })
            .collect();
    }
}

impl AlarmData for FakeData {
    fn datapoints(
        &self,
        account: &str,
        q: &MetricQuery<'_>,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<Datapoint>, String> {
        self.asked.lock().expect("lock").push((
            account.into(),
            format!("{}/{}/{}", q.namespace, q.metric_name, q.stat),
            q.period_s,
            from_ms,
            to_ms,
        ));
        Ok(self.points.lock().expect("lock").clone())
    }

    fn metric_math(
        &self,
        _: &str,
        queries: &[MetricDataQuery],
        period_s: i64,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<Datapoint>, String> {
        self.asked.lock().expect("lock").push((
            "math".into(),
            queries
                .iter()
                .map(|q| q.id.as_str())
                .collect::<Vec<_>>()
                .join(","),
            period_s,
            from_ms,
            to_ms,
        ));
        Ok(self.points.lock().expect("lock").clone())
    }
}

/// Notifications sent; an action containing "fail" fails.
#[derive(Default)]
struct FakeActions {
    sent: Mutex<Vec<(String, String, Value)>>,
}

impl AlarmActions for FakeActions {
    fn notify<'a>(
        &'a self,
        action: &'a str,
        alarm_arn: &'a str,
        message: &'a Value,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            if action.contains("fail") {
                return Err("topic does not exist".to_string());
            }
            self.sent.lock().expect("lock").push((
                action.into(),
                alarm_arn.into(),
                message.clone(),
            ));
            Ok(())
        })
    }
}

#[tokio::test]
async fn the_evaluator_changes_state_and_notifies() {
    let e = env();
    let failing = "https://fail.example.com/hook";
    e.put(
        "errors",
        json!({"AlarmActions": [TOPIC, failing], "OKActions": [TOPIC]}),
    )
    .await;
    let data = FakeData::default();
    let actions = FakeActions::default();
    // 10:03:30: the last complete minute is 10:02; the range is 3 periods (1 + 2).
    let now = T + 3 * MIN + 30_000;
    data.set(&[(T + 2 * MIN, 5.0)]);
    let report =
        e.cw.evaluate_alarms(now, &data, &actions)
            .await
            .expect("pass");
    assert_eq!(
        report,
        EvaluationReport {
            evaluated: 1,
            changed: 1,
            notified: 1,
            failed_actions: 1,
            unreadable: 0,
            failed: 0,
            history_deleted: 0
        }
    );
    assert_eq!(
        data.asked.lock().expect("lock")[0],
        (
            ACCOUNT.into(),
            "AWS/Lambda/Errors/Sum".into(),
            60,
            T,
            T + 3 * MIN
        )
    );
    let a = e.alarm("errors").await;
    assert_eq!(a["StateValue"], "ALARM");
    let reason = "Threshold Crossed: 1 datapoint [5.0 (03/12/26 10:02:00)] was greater than \
                  the threshold (1.0).";
    assert_eq!(a["StateReason"], reason);
    assert_eq!(a["StateTransitionedTimestamp"], json!(now as f64 / 1000.0));
    {
        let sent = actions.sent.lock().expect("lock");
        assert_eq!(sent.len(), 1);
        let (action, arn, message) = &sent[0];
        assert_eq!(action, TOPIC);
        assert_eq!(
            arn,
            "arn:aws:cloudwatch:us-east-1:123456789012:alarm:errors"
        );
        assert_eq!(message["NewStateValue"], "ALARM");
        assert_eq!(message["OldStateValue"], "INSUFFICIENT_DATA");
        assert_eq!(message["NewStateReason"], reason);
        assert_eq!(message["StateChangeTime"], "2026-12-03T10:03:30.000+0000");
        assert_eq!(
            subject_of(message),
            "ALARM: \"errors\" in US East (N. Virginia)"
        );
    }
    let h = e
        .ok("DescribeAlarmHistory", json!({"HistoryItemType": "Action"}))
        .await;
    let summaries: Vec<&str> = h["AlarmHistoryItems"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["HistorySummary"].as_str().expect("summary"))
        .collect();
    assert_eq!(
        summaries,
        [
            "Failed to execute action https://fail.example.com/hook. Received error: \
             \"topic does not exist\"",
            "Successfully executed action arn:aws:sns:us-east-1:123456789012:ops",
        ]
    );

    // The same data again: no change, nothing sent.
    let again =
        e.cw.evaluate_alarms(now + MIN, &data, &actions)
            .await
            .expect("pass");
    assert_eq!((again.changed, again.notified), (0, 0));

    // Back under the threshold: OK, and its action runs.
    data.set(&[(T + 4 * MIN, 0.0)]);
    let back =
        e.cw.evaluate_alarms(T + 5 * MIN, &data, &actions)
            .await
            .expect("pass");
    assert_eq!((back.changed, back.notified), (1, 1));
    assert_eq!(e.alarm("errors").await["StateValue"], "OK");
    assert_eq!(
        actions.sent.lock().expect("lock")[1].2["NewStateValue"],
        "OK"
    );
}

#[tokio::test]
async fn set_alarm_state_actions_run_at_the_next_pass_unless_disabled() {
    let e = env();
    e.put(
        "quiet",
        json!({"AlarmActions": [TOPIC], "TreatMissingData": "ignore"}),
    )
    .await;
    e.ok(
        "SetAlarmState",
        json!({"AlarmName": "quiet", "StateValue": "ALARM", "StateReason": "drill"}),
    )
    .await;
    let data = FakeData::default();
    let actions = FakeActions::default();
    let r =
        e.cw.evaluate_alarms(T + MIN, &data, &actions)
            .await
            .expect("pass");
    assert_eq!((r.changed, r.notified), (0, 1));
    assert_eq!(
        actions.sent.lock().expect("lock")[0].2["NewStateReason"],
        "drill"
    );
    // Delivered once only.
    let r =
        e.cw.evaluate_alarms(T + 2 * MIN, &data, &actions)
            .await
            .expect("pass");
    assert_eq!(r.notified, 0);

    e.ok("DisableAlarmActions", json!({"AlarmNames": ["quiet"]}))
        .await;
    assert_eq!(e.alarm("quiet").await["ActionsEnabled"], json!(false));
    e.ok(
        "SetAlarmState",
        json!({"AlarmName": "quiet", "StateValue": "OK", "StateReason": "x"}),
    )
    .await;
    e.ok(
        "SetAlarmState",
        json!({"AlarmName": "quiet", "StateValue": "ALARM", "StateReason": "y"}),
    )
    .await;
    let r =
        e.cw.evaluate_alarms(T + 3 * MIN, &data, &actions)
            .await
            .expect("pass");
    assert_eq!(r.notified, 0);
    e.ok("EnableAlarmActions", json!({"AlarmNames": ["quiet"]}))
        .await;
    assert_eq!(e.alarm("quiet").await["ActionsEnabled"], json!(true));
    assert_eq!(actions.sent.lock().expect("lock").len(), 1);
}

#[tokio::test]
async fn metric_math_alarms_ask_for_their_queries() {
    let e = env();
    e.ok(
        "PutMetricAlarm",
        json!({
            "AlarmName": "ratio",
            "EvaluationPeriods": 2,
            "DatapointsToAlarm": 1,
            "Threshold": 0.5,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "Metrics": [
                {"Id": "e", "ReturnData": false, "MetricStat": {"Metric":
                    {"Namespace": "AWS/Lambda", "MetricName": "Errors"}, "Period": 300, "Stat": "Sum"}},
                {"Id": "i", "ReturnData": false, "MetricStat": {"Metric":
                    {"Namespace": "AWS/Lambda", "MetricName": "Invocations"}, "Period": 300, "Stat": "Sum"}},
                {"Id": "r", "Expression": "e / i"}
            ]
        }),
    )
    .await;
    let data = FakeData::default();
    let actions = FakeActions::default();
    let r =
        e.cw.evaluate_alarms(T, &data, &actions)
            .await
            .expect("pass");
    assert_eq!(r.changed, 1);
    assert_eq!(
        data.asked.lock().expect("lock")[0],
        ("math".into(), "e,i,r".into(), 300, T - 4 * 300_000, T)
    );
    let a = e.alarm("ratio").await;
    assert_eq!(a["StateValue"], "OK");
    assert_eq!(
        a["StateReason"],
        "Threshold Crossed: no datapoints were received for 2 periods and 2 missing \
         datapoints were treated as [NonBreaching]."
    );
    assert_eq!(a.get("Period"), None);
    assert_eq!(a["Metrics"][2], json!({"Id": "r", "Expression": "e / i"}));
}

#[tokio::test]
async fn alarm_history_filters_orders_and_pages() {
    let e = env();
    for (k, n) in ["h1", "h2", "h3"].iter().enumerate() {
        e.at(T + k as i64 * MIN);
        e.put(n, json!({})).await;
    }
    e.at(T + 10 * MIN);
    e.ok(
        "SetAlarmState",
        json!({"AlarmName": "h1", "StateValue": "OK", "StateReason": "r"}),
    )
    .await;
    let summaries = |v: &Value| -> Vec<String> {
        v["AlarmHistoryItems"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["HistorySummary"].as_str().expect("s").to_string())
            .collect()
    };
    let asc = e
        .ok(
            "DescribeAlarmHistory",
            json!({"ScanBy": "TimestampAscending", "HistoryItemType": "ConfigurationUpdate",
                   "MaxRecords": 2}),
        )
        .await;
    assert_eq!(
        summaries(&asc),
        ["Alarm \"h1\" created", "Alarm \"h2\" created"]
    );
    let rest = e
        .ok(
            "DescribeAlarmHistory",
            json!({"ScanBy": "TimestampAscending", "HistoryItemType": "ConfigurationUpdate",
                   "MaxRecords": 2, "NextToken": asc["NextToken"]}),
        )
        .await;
    assert_eq!(summaries(&rest), ["Alarm \"h3\" created"]);
    assert_eq!(rest.get("NextToken"), None);
    let dated = e
        .ok(
            "DescribeAlarmHistory",
            json!({"StartDate": (T + MIN) as f64 / 1000.0, "EndDate": (T + 5 * MIN) as f64 / 1000.0}),
        )
        .await;
    assert_eq!(
        summaries(&dated),
        ["Alarm \"h3\" created", "Alarm \"h2\" created"]
    );
    let state = e
        .ok(
            "DescribeAlarmHistory",
            json!({"HistoryItemType": "StateUpdate"}),
        )
        .await;
    assert_eq!(
        summaries(&state),
        ["Alarm updated from INSUFFICIENT_DATA to OK"]
    );
    let data: Value = serde_json::from_str(
        state["AlarmHistoryItems"][0]["HistoryData"]
            .as_str()
            .expect("text"),
    )
    .expect("json");
    assert_eq!(
        data,
        json!({
            "version": "1.0",
            "oldState": {"stateValue": "INSUFFICIENT_DATA",
                         "stateReason": "Unchecked: Initial alarm creation"},
            "newState": {"stateValue": "OK", "stateReason": "r"}
        })
    );
    let bad = e
        .call("DescribeAlarmHistory", json!({"NextToken": "zz"}))
        .await
        .expect_err("token");
    assert_eq!(bad.code, "InvalidNextToken");
}

#[tokio::test]
async fn a_stale_evaluation_is_not_written() {
    use crate::alarm_model::StateValue;
    use crate::alarm_state::{change, Expect, NewState};
    let e = env();
    e.put("x", json!({})).await;
    let arn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:x";
    // Read at T, then reconfigured at T + 1 min: the evaluation made of the old read
    // is declined.
    e.at(T + MIN);
    e.put("x", json!({"Threshold": 9.0})).await;
    let stale = Expect {
        state_updated_ms: T,
        configuration_updated_ms: T,
    };
    let new = || NewState {
        state: StateValue::Alarm,
        reason: "r".into(),
        reason_data: None,
    };
    let written = change(&e.cw, arn, Some(stale), new(), T + 2 * MIN).expect("store");
    assert_eq!(written, None);
    assert_eq!(e.alarm("x").await["StateValue"], "INSUFFICIENT_DATA");
    let fresh = Expect {
        state_updated_ms: T,
        configuration_updated_ms: T + MIN,
    };
    let (old, alarm) = change(&e.cw, arn, Some(fresh), new(), T + 2 * MIN)
        .expect("store")
        .expect("written");
    assert_eq!(
        (old, alarm.state_value),
        (StateValue::InsufficientData, StateValue::Alarm)
    );
}

/// Data that cannot be read.
struct BrokenData;

impl AlarmData for BrokenData {
    fn datapoints(
        &self,
        _: &str,
        _: &MetricQuery<'_>,
        _: i64,
        _: i64,
    ) -> Result<Vec<Datapoint>, String> {
        Err("no data service".into())
    }
    fn metric_math(
        &self,
        _: &str,
        _: &[MetricDataQuery],
        _: i64,
        _: i64,
        _: i64,
    ) -> Result<Vec<Datapoint>, String> {
        Err("no data service".into())
    }
}

#[tokio::test]
async fn unreadable_data_keeps_the_state() {
    let e = env();
    e.put("x", json!({"TreatMissingData": "breaching"})).await;
    let r =
        e.cw.evaluate_alarms(T + MIN, &BrokenData, &FakeActions::default())
            .await
            .expect("pass");
    assert_eq!((r.evaluated, r.unreadable, r.changed), (1, 1, 0));
    assert_eq!(e.alarm("x").await["StateValue"], "INSUFFICIENT_DATA");
}

#[tokio::test]
async fn the_evaluator_reads_this_services_own_data() {
    let e = env();
    let now = T + 3 * MIN + 30_000;
    e.at(now);
    e.put(
        "app-errors",
        json!({"Namespace": "App", "Dimensions": [{"Name": "FunctionName", "Value": "f"}],
               "AlarmActions": [TOPIC]}),
    )
    .await;
    e.ok(
        "PutMetricAlarm",
        json!({
            "AlarmName": "app-double",
            "EvaluationPeriods": 1,
            "DatapointsToAlarm": 1,
            "Threshold": 10.0,
            "ComparisonOperator": "GreaterThanThreshold",
            "Metrics": [
                {"Id": "e", "ReturnData": false, "MetricStat": {"Metric": {"Namespace": "App",
                    "MetricName": "Errors", "Dimensions": [{"Name": "FunctionName", "Value": "f"}]},
                    "Period": 60, "Stat": "Sum"}},
                {"Id": "d", "Expression": "e * 2"}
            ]
        }),
    )
    .await;
    e.ok(
        "PutMetricData",
        json!({"Namespace": "App", "MetricData": [{
            "MetricName": "Errors",
            "Dimensions": [{"Name": "FunctionName", "Value": "f"}],
            "Values": [2.0, 4.0],
            "Timestamp": (T + 2 * MIN + 10_000) as f64 / 1000.0
        }]}),
    )
    .await;
    let actions = FakeActions::default();
    let r =
        e.cw.evaluate_alarms(now, &e.cw, &actions)
            .await
            .expect("pass");
    assert_eq!((r.evaluated, r.changed, r.unreadable), (2, 2, 0));
    let a = e.alarm("app-errors").await;
    assert_eq!(a["StateValue"], "ALARM");
    assert_eq!(
        a["StateReason"],
        "Threshold Crossed: 1 datapoint [6.0 (03/12/26 10:02:00)] was greater than the \
         threshold (1.0)."
    );
    let data: Value =
        serde_json::from_str(a["StateReasonData"].as_str().expect("text")).expect("json");
    assert_eq!(
        data["evaluatedDatapoints"],
        json!([{"timestamp": "2026-12-03T10:02:00.000+0000", "sampleCount": 2.0, "value": 6.0}])
    );
    let m = e.alarm("app-double").await;
    assert_eq!(m["StateValue"], "ALARM");
    assert_eq!(
        m["StateReason"],
        "Threshold Crossed: 1 out of the last 1 datapoints [12.0 (03/12/26 10:02:00)] was \
         greater than the threshold (10.0) (minimum 1 datapoint for OK -> ALARM transition)."
    );
    assert_eq!(actions.sent.lock().expect("lock").len(), 1);
}

/// The lifecycle over the embedded SQLite store, as the server runs it.
#[tokio::test]
async fn the_lifecycle_on_the_sqlite_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = hearth_store::Store::open(dir.path()).expect("store");
    let now = Arc::new(AtomicI64::new(T));
    let clock = now.clone();
    let cw = CloudWatch::new(store.metrics().clone(), "us-east-1")
        .with_clock(Arc::new(move || clock.load(Ordering::SeqCst)));
    let e = Env { cw, now };
    for n in ["s-1", "s-2", "t-1"] {
        e.put(n, json!({"AlarmActions": [TOPIC]})).await;
    }
    let page = e
        .ok(
            "DescribeAlarms",
            json!({"AlarmNamePrefix": "s-", "MaxRecords": 1}),
        )
        .await;
    assert_eq!(names(&page), ["s-1"]);
    let next = e
        .ok(
            "DescribeAlarms",
            json!({"AlarmNamePrefix": "s-", "MaxRecords": 1, "NextToken": page["NextToken"]}),
        )
        .await;
    assert_eq!(names(&next), ["s-2"]);
    assert_eq!(next.get("NextToken"), None);

    let data = FakeData::default();
    data.set(&[(T + 2 * MIN, 5.0)]);
    let actions = FakeActions::default();
    let r =
        e.cw.evaluate_alarms(T + 3 * MIN, &data, &actions)
            .await
            .expect("pass");
    assert_eq!((r.evaluated, r.changed, r.notified), (3, 3, 3));
    let again =
        e.cw.evaluate_alarms(T + 4 * MIN, &data, &actions)
            .await
            .expect("pass");
    assert_eq!((again.changed, again.notified), (0, 0));
    e.at(T + 5 * MIN);
    e.ok("DeleteAlarms", json!({"AlarmNames": ["t-1"]})).await;
    let h = e
        .ok("DescribeAlarmHistory", json!({"AlarmName": "t-1"}))
        .await;
    let summaries: Vec<&str> = h["AlarmHistoryItems"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["HistorySummary"].as_str().expect("summary"))
        .collect();
    assert_eq!(
        summaries,
        [
            "Alarm \"t-1\" deleted",
            "Successfully executed action arn:aws:sns:us-east-1:123456789012:ops",
            "Alarm updated from INSUFFICIENT_DATA to ALARM",
            "Alarm \"t-1\" created"
        ]
    );
    // History outlives the alarm, then ages out after 30 days: all but the deletion.
    let later = T + 5 * MIN + crate::alarm_evaluator::ALARM_HISTORY_RETENTION_MS;
    let aged =
        e.cw.evaluate_alarms(later, &data, &actions)
            .await
            .expect("pass");
    assert_eq!(aged.history_deleted, 9);
    let h = e
        .ok("DescribeAlarmHistory", json!({"AlarmName": "t-1"}))
        .await;
    assert_eq!(
        h["AlarmHistoryItems"][0]["HistorySummary"],
        "Alarm \"t-1\" deleted"
    );
    assert_eq!(h["AlarmHistoryItems"].as_array().map(Vec::len), Some(1));
}
