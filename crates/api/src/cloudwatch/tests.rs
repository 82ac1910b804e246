//! The codecs against botocore: requests botocore's serializers wrote (the Python that
//! wrote each fixture is beside it) decode into one JSON form whatever the protocol, and
//! answers the codecs write parse back with botocore's own parsers
//! (`testdata/botocore_parse.py`, run here: botocore is installed wherever the suite runs).

use std::collections::HashMap;
use std::io::Write as _;
use std::process::{Command, Stdio};

use axum::http::HeaderMap;
use serde_json::{json, Value};

use super::model::model;
use super::wire::{Wire, WireError};
use super::*;
use crate::query::QueryRequest;

fn input(op: &str) -> &'static model::Shape {
    input_shape(op).expect("the operation has an input")
}

fn hex(text: &str) -> Vec<u8> {
    hex::decode(text).expect("hex fixture")
}

fn form(text: &str) -> HashMap<String, String> {
    QueryRequest::parse(text.as_bytes()).params().clone()
}

// The fixtures of one request in the three protocols, written by:
//
// import datetime, urllib.parse, botocore.session, botocore.serialize as s
// m = botocore.session.get_session().get_service_model('cloudwatch')
// t = datetime.datetime(2026, 12, 3, 14, 55, tzinfo=datetime.timezone.utc)
// put = {'Namespace': 'App', 'MetricData': [
//     {'MetricName': 'Latency', 'Dimensions': [{'Name': 'Fn', 'Value': 'f'}, {'Name': 'Stage', 'Value': 'prod'}],
//      'Timestamp': t, 'Values': [1.5, 2.0], 'Counts': [3.0, 1.0], 'Unit': 'Milliseconds', 'StorageResolution': 1},
//     {'MetricName': 'Hits', 'Value': 7.0, 'StatisticValues': {'SampleCount': 2.0, 'Sum': 7.0, 'Minimum': 3.0, 'Maximum': 4.0}}]}
// alarm = {'AlarmName': 'high', 'ActionsEnabled': False, 'MetricName': 'Latency', 'Namespace': 'App',
//          'Statistic': 'Average', 'Period': 60, 'EvaluationPeriods': 2, 'Threshold': 100.0,
//          'ComparisonOperator': 'GreaterThanThreshold', 'Dimensions': [{'Name': 'Fn', 'Value': 'f'}],
//          'AlarmActions': [], 'Tags': [{'Key': 'team', 'Value': 'a'}]}
// for op, p in [('PutMetricData', put), ('PutMetricAlarm', alarm)]:
//     for proto in ['smithy-rpc-v2-cbor', 'json', 'query']:
//         b = s.create_serializer(proto).serialize_to_request(p, m.operation_model(op))['body']
//         print(b.hex() if proto == 'smithy-rpc-v2-cbor' else b.decode() if proto == 'json'
//               else urllib.parse.urlencode(b, doseq=True))
const PUT_CBOR: &str = "a2694e616d657370616365634170706a4d65747269634461746182a76a4d65747269634e616d65674c6174656e63796a44696d656e73696f6e7382a2644e616d6562466e6556616c75656166a2644e616d656553746167656556616c75656470726f646954696d657374616d70c11a6b1182c46656616c75657382fb3ff8000000000000fb400000000000000066436f756e747382fb4008000000000000fb3ff000000000000064556e69746c4d696c6c697365636f6e64737153746f726167655265736f6c7574696f6e01a36a4d65747269634e616d6564486974736556616c7565fb401c0000000000006f53746174697374696356616c756573a46b53616d706c65436f756e74fb40000000000000006353756dfb401c000000000000674d696e696d756dfb4008000000000000674d6178696d756dfb4010000000000000";
const PUT_JSON: &str = r#"{"Namespace": "App", "MetricData": [{"MetricName": "Latency", "Dimensions": [{"Name": "Fn", "Value": "f"}, {"Name": "Stage", "Value": "prod"}], "Timestamp": 1796309700, "Values": [1.5, 2.0], "Counts": [3.0, 1.0], "Unit": "Milliseconds", "StorageResolution": 1}, {"MetricName": "Hits", "Value": 7.0, "StatisticValues": {"SampleCount": 2.0, "Sum": 7.0, "Minimum": 3.0, "Maximum": 4.0}}]}"#;
const PUT_QUERY: &str = "Action=PutMetricData&Version=2010-08-01&Namespace=App&MetricData.member.1.MetricName=Latency&MetricData.member.1.Dimensions.member.1.Name=Fn&MetricData.member.1.Dimensions.member.1.Value=f&MetricData.member.1.Dimensions.member.2.Name=Stage&MetricData.member.1.Dimensions.member.2.Value=prod&MetricData.member.1.Timestamp=2026-12-03T14%3A55%3A00Z&MetricData.member.1.Values.member.1=1.5&MetricData.member.1.Values.member.2=2.0&MetricData.member.1.Counts.member.1=3.0&MetricData.member.1.Counts.member.2=1.0&MetricData.member.1.Unit=Milliseconds&MetricData.member.1.StorageResolution=1&MetricData.member.2.MetricName=Hits&MetricData.member.2.Value=7.0&MetricData.member.2.StatisticValues.SampleCount=2.0&MetricData.member.2.StatisticValues.Sum=7.0&MetricData.member.2.StatisticValues.Minimum=3.0&MetricData.member.2.StatisticValues.Maximum=4.0";
const ALARM_CBOR: &str = "ac69416c61726d4e616d6564686967686e416374696f6e73456e61626c6564f46a4d65747269634e616d65674c6174656e6379694e616d6573706163656341707069537461746973746963674176657261676566506572696f64183c714576616c756174696f6e506572696f647302695468726573686f6c64fb405900000000000072436f6d70617269736f6e4f70657261746f7274477265617465725468616e5468726573686f6c646a44696d656e73696f6e7381a2644e616d6562466e6556616c756561666c416c61726d416374696f6e7380645461677381a2634b6579647465616d6556616c75656161";
const ALARM_JSON: &str = r#"{"AlarmName": "high", "ActionsEnabled": false, "MetricName": "Latency", "Namespace": "App", "Statistic": "Average", "Period": 60, "EvaluationPeriods": 2, "Threshold": 100.0, "ComparisonOperator": "GreaterThanThreshold", "Dimensions": [{"Name": "Fn", "Value": "f"}], "AlarmActions": [], "Tags": [{"Key": "team", "Value": "a"}]}"#;
const ALARM_QUERY: &str = "Action=PutMetricAlarm&Version=2010-08-01&AlarmName=high&ActionsEnabled=false&MetricName=Latency&Namespace=App&Statistic=Average&Period=60&EvaluationPeriods=2&Threshold=100.0&ComparisonOperator=GreaterThanThreshold&Dimensions.member.1.Name=Fn&Dimensions.member.1.Value=f&AlarmActions=&Tags.member.1.Key=team&Tags.member.1.Value=a";

#[test]
fn every_protocol_decodes_into_botocores_json_form() {
    for (op, cbor_hex, json_text, query) in [
        ("PutMetricData", PUT_CBOR, PUT_JSON, PUT_QUERY),
        ("PutMetricAlarm", ALARM_CBOR, ALARM_JSON, ALARM_QUERY),
    ] {
        let expected: Value = serde_json::from_str(json_text).expect("json fixture");
        let from_cbor = cbor::decode(&hex(cbor_hex), input(op)).expect("cbor decodes");
        assert_eq!(from_cbor, expected, "{op} in CBOR");
        let from_query = form::decode(&form(query), input(op)).expect("form decodes");
        assert_eq!(from_query, expected, "{op} in the query protocol");
    }
}

#[test]
fn cbor_takes_indefinite_lengths_float_times_half_floats_and_nulls() {
    // {_ "Namespace": (_ "Ap" "p"), "MetricData": [_ {_ "MetricName": "M",
    //   "Timestamp": 1(1796309700.25), "Value": 1.5 (half), "Unit": null}], "Bogus": 1}
    let bytes = hex(concat!(
        "bf",
        "694e616d657370616365",
        "7f6241706170ff",
        "6a4d657472696344617461",
        "9f",
        "bf",
        "6a4d65747269634e616d65614d",
        "6954696d657374616d70c1fb41dac460b1100000",
        "6556616c7565f93e00",
        "64556e6974f6",
        "ff",
        "ff",
        "65426f67757301",
        "ff",
    ));
    assert_eq!(
        cbor::decode(&bytes, input("PutMetricData")).expect("decodes"),
        json!({"Namespace": "App",
               "MetricData": [{"MetricName": "M", "Timestamp": 1796309700.25, "Value": 1.5}]})
    );
    assert_eq!(
        cbor::decode(b"", input("PutMetricData")).expect("empty"),
        json!({})
    );
}

#[test]
fn malformed_requests_are_refused_with_where_they_went_wrong() {
    // Truncated: a map of two entries with one.
    let e = cbor::decode(
        &hex("a2694e616d65737061636563417070"),
        input("PutMetricData"),
    )
    .expect_err("truncated");
    assert!(e.starts_with("malformed CBOR"), "{e}");
    // {"Namespace": 5}
    let e = cbor::decode(&hex("a1694e616d65737061636505"), input("PutMetricData"))
        .expect_err("wrong type");
    assert_eq!(e, "Namespace: expected a String, found Integer(Integer(5))");
    let e = form::decode(&form("Period=sixty"), input("PutMetricAlarm")).expect_err("not a number");
    assert_eq!(e, "Value 'sixty' for parameter Period is invalid.");
    let e = form::decode(&form("ActionsEnabled=yes"), input("PutMetricAlarm"))
        .expect_err("not a boolean");
    assert_eq!(e, "Value 'yes' for parameter ActionsEnabled is invalid.");
}

#[test]
fn query_forms_take_fractional_and_epoch_times_maps_and_gaps() {
    let got = form::decode(
        &form(
            "StartTime=2026-12-03T14%3A55%3A00.250000Z&EndTime=1796309760\
             &MetricName=m&Namespace=n&Period=60\
             &Statistics.member.1=Sum&Statistics.member.3=Average",
        ),
        input("GetMetricStatistics"),
    )
    .expect("decodes");
    assert_eq!(
        got,
        json!({"StartTime": 1796309700.25, "EndTime": 1796309760, "MetricName": "m",
               "Namespace": "n", "Period": 60, "Statistics": ["Sum"]})
    );
}

/// Encodes `output` of `op` (or `error`) in `wire`: what botocore's parser is given.
async fn response(wire: Wire, op: &str, result: Result<Value, WireError>) -> Value {
    let resp = match result {
        Ok(output) => wire.output(op, &output, "rid-1"),
        Err(e) => wire.error(&e, "rid-1"),
    };
    let status = resp.status().as_u16();
    let headers: serde_json::Map<String, Value> = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v.to_str().expect("ascii header"))))
        .collect();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body");
    let protocol = match wire {
        Wire::Cbor => "smithy-rpc-v2-cbor",
        Wire::Json => "json",
        Wire::Query => "query",
    };
    json!({"protocol": protocol, "operation": op, "status": status, "headers": headers,
           "body_hex": hex::encode(&body)})
}

/// What botocore's parsers read of `responses`.
fn botocore_parse(responses: &[Value]) -> Vec<Value> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/cloudwatch/testdata/botocore_parse.py"
    );
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 runs (botocore is installed with tests/requirements.txt)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(Value::from(responses.to_vec()).to_string().as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("python3 finishes");
    assert!(out.status.success(), "botocore_parse.py failed");
    serde_json::from_slice(&out.stdout).expect("json from botocore_parse.py")
}

fn statistics() -> Value {
    json!({"Label": "Latency", "Datapoints": [
        {"Timestamp": 1796309700, "SampleCount": 2.0, "Average": 1.75, "Sum": 3.5,
         "Minimum": 1.5, "Maximum": 2.0, "Unit": "Milliseconds",
         "ExtendedStatistics": {"p99": 2.0}},
        {"Timestamp": 1796309760.25, "SampleCount": 1.0, "Sum": 0.0, "Unit": "Milliseconds"}]})
}

fn alarms() -> Value {
    json!({"MetricAlarms": [{"AlarmName": "high",
        "AlarmArn": "arn:aws:cloudwatch:us-east-1:000000000000:alarm:high",
        "ActionsEnabled": false, "AlarmActions": [], "OKActions": ["arn:aws:sns:us-east-1:000000000000:t"],
        "StateValue": "ALARM", "StateReason": "a <b> & c",
        "StateUpdatedTimestamp": 1796309700.25, "MetricName": "Latency", "Namespace": "App",
        "Statistic": "Average", "Dimensions": [{"Name": "Fn", "Value": "f"}], "Period": 60,
        "EvaluationPeriods": 2, "Threshold": 100.0,
        "ComparisonOperator": "GreaterThanThreshold"}],
        "CompositeAlarms": [], "NextToken": "n1"})
}

fn metric_data() -> Value {
    json!({"MetricDataResults": [{"Id": "q", "Label": "Latency", "StatusCode": "Complete",
        "Timestamps": [1796309760, 1796309700], "Values": [2.0, 1.25]}], "Messages": []})
}

fn parsed_statistics() -> Value {
    json!({"Label": "Latency", "Datapoints": [
        {"Timestamp": "2026-12-03T14:55:00+00:00", "SampleCount": 2.0, "Average": 1.75,
         "Sum": 3.5, "Minimum": 1.5, "Maximum": 2.0, "Unit": "Milliseconds",
         "ExtendedStatistics": {"p99": 2.0}},
        {"Timestamp": "2026-12-03T14:56:00.250000+00:00", "SampleCount": 1.0, "Sum": 0.0,
         "Unit": "Milliseconds"}],
        "RequestId": "rid-1"})
}

fn parsed_alarms() -> Value {
    let mut a = alarms();
    a["MetricAlarms"][0]["StateUpdatedTimestamp"] = json!("2026-12-03T14:55:00.250000+00:00");
    a["RequestId"] = json!("rid-1");
    a
}

fn parsed_metric_data() -> Value {
    json!({"MetricDataResults": [{"Id": "q", "Label": "Latency", "StatusCode": "Complete",
        "Timestamps": ["2026-12-03T14:56:00+00:00", "2026-12-03T14:55:00+00:00"],
        "Values": [2.0, 1.25]}], "Messages": [], "RequestId": "rid-1"})
}

#[tokio::test]
async fn botocore_reads_every_answer_as_it_was_given() {
    let not_found = || {
        Err(WireError {
            status: 404,
            ..WireError::client("ResourceNotFound", "No alarm named missing.")
        })
    };
    let mut responses = Vec::new();
    let mut expected = Vec::new();
    for wire in [Wire::Cbor, Wire::Json, Wire::Query] {
        responses.push(response(wire, "GetMetricStatistics", Ok(statistics())).await);
        expected.push(parsed_statistics());
        responses.push(response(wire, "DescribeAlarms", Ok(alarms())).await);
        expected.push(parsed_alarms());
        responses.push(response(wire, "GetMetricData", Ok(metric_data())).await);
        expected.push(parsed_metric_data());
        responses.push(response(wire, "PutMetricData", Ok(json!({}))).await);
        // botocore's RPC v2 parser gives an operation without output no metadata.
        let id = if wire == Wire::Cbor {
            Value::Null
        } else {
            json!("rid-1")
        };
        expected.push(json!({ "RequestId": id }));
        responses.push(response(wire, "SetAlarmState", not_found()).await);
        let mut error = json!({"Code": "ResourceNotFound", "Message": "No alarm named missing."});
        if wire == Wire::Query {
            error["Type"] = json!("Sender");
        } else {
            // The query-compatible parsers keep `__type`'s shape and the header's fault.
            error["QueryErrorCode"] = json!("ResourceNotFound");
            error["Type"] = json!("Sender");
        }
        expected.push(json!({"Error": error, "RequestId": "rid-1"}));
        let unknown = Err(wire.unknown_operation("PutDashboard"));
        responses.push(response(wire, "PutMetricData", unknown).await);
        let error = match wire {
            Wire::Query => json!({"Code": "InvalidAction", "Type": "Sender",
                "Message": "Could not find operation PutDashboard for version 2010-08-01"}),
            _ => json!({"Code": "UnknownOperationException", "Type": "Sender",
                "QueryErrorCode": "UnknownOperationException",
                "Message": "The operation PutDashboard is not supported by Hearth's CloudWatch."}),
        };
        expected.push(json!({"Error": error, "RequestId": "rid-1"}));
    }
    let parsed = botocore_parse(&responses);
    assert_eq!(parsed.len(), expected.len());
    for ((got, want), sent) in parsed.iter().zip(&expected).zip(&responses) {
        assert_eq!(got, want, "{} {}", sent["protocol"], sent["operation"]);
    }
}

#[tokio::test]
async fn answers_carry_each_protocols_headers_and_envelope() {
    let resp = Wire::Cbor.output("GetMetricStatistics", &statistics(), "rid-1");
    assert_eq!(resp.headers()["content-type"], "application/cbor");
    assert_eq!(resp.headers()["smithy-protocol"], "rpc-v2-cbor");
    assert_eq!(resp.headers()["x-amzn-requestid"], "rid-1");
    let e = WireError::client(
        "InvalidParameterValue",
        "The value AWS/X for parameter Namespace is invalid.",
    );
    let resp = Wire::Json.error(&e, "rid-1");
    assert_eq!(resp.status().as_u16(), 400);
    assert_eq!(resp.headers()["content-type"], "application/x-amz-json-1.0");
    assert_eq!(
        resp.headers()["x-amzn-query-error"],
        "InvalidParameterValue;Sender"
    );
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body");
    assert_eq!(
        serde_json::from_slice::<Value>(&body).expect("json"),
        json!({"__type": "com.amazonaws.cloudwatch#InvalidParameterValueException",
               "message": "The value AWS/X for parameter Namespace is invalid."})
    );
    let resp = Wire::Query.output("GetMetricStatistics", &statistics(), "rid-1");
    assert_eq!(resp.headers()["content-type"], "text/xml");
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body");
    assert_eq!(
        String::from_utf8(body.to_vec()).expect("utf-8"),
        concat!(
            r#"<GetMetricStatisticsResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">"#,
            "<GetMetricStatisticsResult><Datapoints>",
            "<member><Average>1.75</Average><ExtendedStatistics><entry><key>p99</key><value>2.0</value></entry></ExtendedStatistics>",
            "<Maximum>2.0</Maximum><Minimum>1.5</Minimum><SampleCount>2.0</SampleCount><Sum>3.5</Sum>",
            "<Timestamp>2026-12-03T14:55:00Z</Timestamp><Unit>Milliseconds</Unit></member>",
            "<member><SampleCount>1.0</SampleCount><Sum>0.0</Sum>",
            "<Timestamp>2026-12-03T14:56:00.250Z</Timestamp><Unit>Milliseconds</Unit></member>",
            "</Datapoints><Label>Latency</Label></GetMetricStatisticsResult>",
            "<ResponseMetadata><RequestId>rid-1</RequestId></ResponseMetadata>",
            "</GetMetricStatisticsResponse>"
        )
    );
}

#[test]
fn cbor_answers_write_times_as_tag_1_floats() {
    let shape = model().shape("GetMetricDataOutput");
    let bytes = cbor::encode(
        &json!({"MetricDataResults": [{"Timestamps": [1796309700]}]}),
        shape,
    );
    // {"MetricDataResults": [{"Timestamps": [1(1796309700.0)]}]}: a float (in the shortest
    // width that keeps it exactly, as CBOR allows; a time needs a double).
    assert_eq!(
        hex::encode(bytes),
        concat!(
            "a1",
            "714d657472696344617461526573756c7473",
            "81a1",
            "6a54696d657374616d7073",
            "81c1",
            "fb41dac460b1000000"
        )
    );
}

#[test]
fn operations_are_authorised_on_their_alarms() {
    for (op, action, _) in OPERATIONS {
        assert_eq!(*action, format!("cloudwatch:{op}"));
        assert!(model().operations.contains_key(*op), "{op} is in the model");
    }
    let acct = "123456789012";
    let r = "us-east-1";
    assert_eq!(
        resources_of(Resource::AlarmName, &json!({"AlarmName": "a"}), r, acct),
        ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:a"]
    );
    assert_eq!(
        resources_of(Resource::AlarmName, &json!({}), r, acct),
        ["*"]
    );
    assert_eq!(
        resources_of(
            Resource::AlarmNames,
            &json!({"AlarmNames": ["a", "b", "a"]}),
            r,
            acct
        ),
        [
            "arn:aws:cloudwatch:us-east-1:123456789012:alarm:a",
            "arn:aws:cloudwatch:us-east-1:123456789012:alarm:b"
        ]
    );
    assert_eq!(
        resources_of(Resource::AlarmNames, &json!({}), r, acct),
        ["*"]
    );
    assert_eq!(
        resources_of(Resource::Any, &json!({"AlarmName": "a"}), r, acct),
        ["*"]
    );
    assert_eq!(
        resources_of(
            Resource::ArnInBody,
            &json!({"ResourceARN": "arn:x"}),
            r,
            acct
        ),
        ["arn:x"]
    );
}

#[test]
fn cbor_paths_and_gzip_bodies_are_recognised() {
    assert!(is_cbor_path(
        "/service/GraniteServiceVersion20100801/operation/ListMetrics"
    ));
    assert!(!is_cbor_path("/service/a/b/operation/c"));
    assert!(!is_cbor_path("/2015-03-31/functions"));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(PUT_QUERY.as_bytes()).expect("gzip");
    let zipped = gz.finish().expect("gzip");
    let mut headers = HeaderMap::new();
    assert_eq!(
        inflate(&headers, zipped.clone().into()).expect("as is"),
        zipped.as_slice()
    );
    headers.insert("content-encoding", "gzip".parse().expect("header"));
    assert_eq!(
        inflate(&headers, zipped.into()).expect("inflates"),
        PUT_QUERY.as_bytes()
    );
    assert!(inflate(&headers, bytes::Bytes::from_static(b"not gzip")).is_err());
}

/// Every truncation and every one-byte change of the fixtures decodes or is refused,
/// without a panic (the decoders take untrusted bytes; a deterministic sweep rather than
/// a fuzz target, as `hearth-api`'s internals are not reachable from `fuzz/`).
#[test]
fn damaged_bodies_are_refused_without_panicking() {
    for (op, fixture) in [("PutMetricData", PUT_CBOR), ("PutMetricAlarm", ALARM_CBOR)] {
        let bytes = hex(fixture);
        let mut refused = 0;
        for cut in 0..bytes.len() {
            refused += usize::from(cbor::decode(&bytes[..cut], input(op)).is_err());
        }
        // Only the empty body (no members) decodes among the truncations.
        assert_eq!(refused, bytes.len() - 1, "{op}");
        for at in 0..bytes.len() {
            for flip in [0x01u8, 0x20, 0x80, 0xff] {
                let mut damaged = bytes.clone();
                damaged[at] ^= flip;
                let _ = cbor::decode(&damaged, input(op));
            }
        }
    }
    for (op, fixture) in [
        ("PutMetricData", PUT_QUERY),
        ("PutMetricAlarm", ALARM_QUERY),
    ] {
        for cut in 0..fixture.len() {
            let _ = form::decode(&form(&fixture[..cut]), input(op));
        }
    }
}
