"""CloudWatch on every wire its SDKs speak: boto3 (botocore 1.43's default, Smithy RPC v2
CBOR), boto3 on AWS JSON 1.0 (the same botocore with the model's protocol set to `json`,
loaded from a data path of its own: botocore then sends `X-Amz-Target:
GraniteServiceVersion20100801.<Op>` as older SDKs do, and parses JSON answers with its
query-compatible error handling), the query protocol through the older botocore of
target/old-botocore (1.30, run in its own process by cloudwatch_query_client.py), raw
signed requests, and the AWS CLI. The scenario (cloudwatch_scenario.py) puts data and reads
it back exactly, lives an alarm through, and reads errors as code and message."""

import datetime
import json
import subprocess
import sys
import time

import boto3
import botocore.parsers
import botocore.session
import pytest
from botocore.config import Config

import cloudwatch_scenario as scenario
import hearth_e2e as h

pytestmark = pytest.mark.sandbox_neutral

OLD = h.REPO / "target" / "old-botocore"


@pytest.fixture(scope="module")
def old_botocore():
    if not (OLD / "botocore" / "__init__.py").exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", str(OLD),
                        "botocore<1.31", "boto3<1.28"], check=True, timeout=600)
    return OLD


def cbor_client(endpoint):
    cw = h.service_client(endpoint, "cloudwatch")
    assert cw.meta.service_model.protocol == "smithy-rpc-v2-cbor"
    return cw


def json_client(endpoint, tmp_path):
    """boto3's CloudWatch client on AWS JSON 1.0: botocore's own model with `json` as its
    only protocol, found first on the loader's search path."""
    model = botocore.session.get_session().get_component("data_loader").load_service_model(
        "cloudwatch", "service-2")
    model["metadata"]["protocol"] = "json"
    model["metadata"]["protocols"] = ["json"]
    root = tmp_path / "models"
    where = root / "cloudwatch" / model["metadata"]["apiVersion"]
    where.mkdir(parents=True, exist_ok=True)
    (where / "service-2.json").write_text(json.dumps(model))
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, str(root))
    cw = boto3.session.Session(botocore_session=session).client(
        "cloudwatch", region_name=h.REGION, endpoint_url=endpoint, **h.key_args(endpoint),
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
    assert cw.meta.service_model.protocol == "json"
    return cw


def query_run(endpoint, old_botocore, *args):
    key = h.credentials_for(endpoint)
    proc = subprocess.run(
        [sys.executable, str(h.REPO / "tests" / "e2e" / "cloudwatch_query_client.py"),
         endpoint, key[0], key[1], *map(str, args)],
        capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": f"{old_botocore}:{h.REPO / 'tests' / 'e2e'}", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen["protocol"] == "query", seen
    return seen


def aws_cloudwatch(server, tmp_path, *args, check=True):
    return h.run(h._aws_command() + ["cloudwatch", *args, "--endpoint-url", server.endpoint,
                                     "--region", h.REGION, "--output", "json"],
                 env=h.aws_env(tmp_path, server.endpoint), check=check)


def unserved_error(protocol):
    if protocol == "query":
        return {"status": 400, "code": "InvalidAction",
                "message": "Could not find operation ListDashboards for version 2010-08-01"}
    return {"status": 400, "code": "UnknownOperationException",
            "message": "The operation ListDashboards is not supported by Hearth's CloudWatch."}


def test_an_unserved_operation_is_a_well_formed_error_in_every_protocol(server, tmp_path,
                                                                         old_botocore):
    assert scenario.unserved(cbor_client(server.endpoint)) == unserved_error("cbor")
    assert scenario.unserved(json_client(server.endpoint, tmp_path)) == unserved_error("json")
    seen = query_run(server.endpoint, old_botocore, "unserved")
    assert seen["unserved"] == unserved_error("query")
    cli = aws_cloudwatch(server, tmp_path, "list-dashboards", check=False)
    assert cli.rc != 0
    # The CLI may add "(reached max retries: 0)" after the operation's name.
    assert "An error occurred (UnknownOperationException) when calling the ListDashboards " \
           "operation" in cli.stderr, str(cli)
    assert cli.stderr.strip().endswith(
        ": The operation ListDashboards is not supported by Hearth's CloudWatch."), str(cli)


def test_raw_json_errors_carry_the_query_code(server):
    """A raw AWS JSON 1.0 request: the error's `__type` and `x-amzn-query-error`."""
    url = server.endpoint + "/"
    body = b"{}"
    headers = {"Content-Type": "application/x-amz-json-1.0",
               "X-Amz-Target": "GraniteServiceVersion20100801.ListDashboards"}
    signed = h.sign_headers(url, "POST", body, headers, service="monitoring")
    status, resp_headers, answer = h.http_request(url, "POST", body, signed)
    assert status == 400
    assert resp_headers["Content-Type"] == "application/x-amz-json-1.0"
    assert resp_headers["x-amzn-query-error"] == "UnknownOperationException;Sender"
    assert json.loads(answer) == {
        "__type": "UnknownOperationException",
        "message": "The operation ListDashboards is not supported by Hearth's CloudWatch."}


def expected(namespace, alarm, now, protocol):
    """What the scenario reads back, as AWS answers it."""
    t = scenario.minute(now).isoformat()
    dims = [{"Name": "Fn", "Value": "f"}]
    arn = f"arn:aws:cloudwatch:{h.REGION}:{h.ACCOUNT}:alarm:{alarm}"
    alarm_fields = {"AlarmName": alarm, "AlarmArn": arn, "ActionsEnabled": False,
                    "Namespace": namespace, "MetricName": "Latency", "Dimensions": dims,
                    "Statistic": "Average", "Period": 60, "EvaluationPeriods": 1,
                    "Threshold": 100.0, "ComparisonOperator": "GreaterThanThreshold"}
    return {
        "protocol": protocol,
        "put": {},
        "statistics": {"Label": "Latency", "Datapoints": [
            {"Timestamp": t, "SampleCount": 4.0, "Sum": 80.0, "Minimum": 10.0,
             "Maximum": 30.0, "Average": 20.0, "Unit": "Milliseconds"}]},
        "data": {"MetricDataResults": [{"Id": "s", "Label": "Latency", "Timestamps": [t],
                                        "Values": [80.0], "StatusCode": "Complete"}]},
        "metrics": {"Metrics": [{"Namespace": namespace, "MetricName": "Latency",
                                 "Dimensions": dims}]},
        "bulk_put": {},
        "bulk": {"Label": "Bulk", "Datapoints": [
            {"Timestamp": t, "SampleCount": 500.0, "Sum": 500.0, "Unit": "None"}]},
        "put_alarm": {},
        "alarms": [dict(alarm_fields, StateValue="INSUFFICIENT_DATA")],
        "set_state": {},
        "alarms_after": [dict(alarm_fields, StateValue="ALARM",
                              StateReason="set by the e2e test")],
        "delete": {},
        "alarms_deleted": [],
        "aws_namespace": {"status": 400, "code": "InvalidParameterValue"},
        "missing_alarm": {"status": 404, "code": "ResourceNotFound"},
        "unserved": unserved_error(protocol if protocol == "query" else "cbor"),
    }


def comparable(seen, fields):
    """`seen` with what the comparison leaves to the service: alarms cut to `fields` (their
    timestamps and state reasons are the service's), empty lists AWS may leave out, and
    error messages (UNSURE of AWS's exact words: the code is compared, the message only
    checked to be there)."""
    out = dict(seen)
    out.pop("botocore", None)
    for key in ("alarms", "alarms_after", "alarms_deleted"):
        if isinstance(seen.get(key), dict) and "MetricAlarms" in seen[key]:
            keep = fields[key]
            out[key] = [{k: a.get(k) for k in keep} for a in seen[key]["MetricAlarms"]]
    if isinstance(seen.get("data"), dict):
        out["data"] = {k: v for k, v in seen["data"].items() if v != []}
        if isinstance(out["data"].get("MetricDataResults"), list):
            out["data"]["MetricDataResults"] = [
                {k: v for k, v in r.items() if v != []}
                for r in out["data"]["MetricDataResults"]]
    if isinstance(seen.get("metrics"), dict):
        out["metrics"] = {k: v for k, v in seen["metrics"].items() if k != "NextToken"}
    if isinstance(seen.get("aws_namespace"), dict):
        assert seen["aws_namespace"].get("message"), seen["aws_namespace"]
        out["aws_namespace"] = {k: v for k, v in seen["aws_namespace"].items() if k != "message"}
    # SetAlarmState on a missing alarm: AWS answers ResourceNotFound with an empty message
    # (as recorded against AWS in LocalStack's snapshots).
    # (The query protocol's parser reads the empty element as None.)
    if isinstance(seen.get("missing_alarm"), dict):
        assert seen["missing_alarm"].get("message") in ("", None), seen["missing_alarm"]
        out["missing_alarm"] = {k: v for k, v in seen["missing_alarm"].items() if k != "message"}
    return out


def check(seen, namespace, alarm, now, protocol):
    want = expected(namespace, alarm, now, protocol)
    fields = {k: list(want[k][0]) if want[k] else [] for k in
              ("alarms", "alarms_after", "alarms_deleted")}
    fields["alarms_deleted"] = fields["alarms"]
    assert comparable(seen, fields) == want


@pytest.mark.parametrize("wire", ["cbor", "json", "query"])
def test_the_scenario_on_each_protocol(server, tmp_path, old_botocore, wire):
    namespace = h.unique_name(f"Hearth/E2E/{wire}")
    alarm = h.unique_name(f"alarm-{wire}")
    now = time.time()
    if wire == "query":
        seen = query_run(server.endpoint, old_botocore, "scenario", namespace, alarm, now)
        protocol = "query"
    else:
        cw = cbor_client(server.endpoint) if wire == "cbor" else json_client(
            server.endpoint, tmp_path)
        seen = scenario.run(cw, namespace, alarm, now)
        protocol = cw.meta.service_model.protocol
    check(seen, namespace, alarm, now, protocol)


def test_the_aws_cli_puts_and_reads_back(server, tmp_path):
    namespace = h.unique_name("Hearth/E2E/cli")
    alarm = h.unique_name("alarm-cli")
    t = scenario.minute(time.time())
    datum = [{"MetricName": "Latency", "Dimensions": [{"Name": "Fn", "Value": "f"}],
              "Timestamp": t.isoformat(), "Values": [10.0, 20.0], "Counts": [1.0, 2.0],
              "Unit": "Milliseconds"}]
    aws_cloudwatch(server, tmp_path, "put-metric-data", "--namespace", namespace,
                   "--metric-data", json.dumps(datum))
    start = int(t.timestamp()) - 60
    stats = aws_cloudwatch(
        server, tmp_path, "get-metric-statistics", "--namespace", namespace,
        "--metric-name", "Latency", "--dimensions", "Name=Fn,Value=f",
        "--start-time", str(start), "--end-time", str(start + 180),
        "--period", "60", "--statistics", "SampleCount", "Sum", "Maximum").json
    # The CLI prints timestamps as they came on the wire (its default `cli_timestamp_format`):
    # epoch seconds in CBOR, which is what it speaks to CloudWatch now.
    for d in stats["Datapoints"]:
        if isinstance(d["Timestamp"], (int, float)):
            d["Timestamp"] = datetime.datetime.fromtimestamp(
                d["Timestamp"], datetime.timezone.utc).isoformat()
    assert stats == {"Label": "Latency", "Datapoints": [
        {"Timestamp": t.isoformat(), "SampleCount": 3.0, "Sum": 50.0, "Maximum": 20.0,
         "Unit": "Milliseconds"}]}
    aws_cloudwatch(server, tmp_path, "put-metric-alarm", "--alarm-name", alarm,
                   "--namespace", namespace, "--metric-name", "Latency",
                   "--statistic", "Sum", "--period", "60", "--evaluation-periods", "1",
                   "--threshold", "5", "--comparison-operator", "GreaterThanThreshold")
    alarms = aws_cloudwatch(server, tmp_path, "describe-alarms", "--alarm-names", alarm).json
    assert [a["AlarmName"] for a in alarms["MetricAlarms"]] == [alarm]
    aws_cloudwatch(server, tmp_path, "delete-alarms", "--alarm-names", alarm)
    bad = aws_cloudwatch(server, tmp_path, "put-metric-data", "--namespace", "AWS/EC2",
                         "--metric-name", "m", "--value", "1", check=False)
    assert bad.rc != 0
    assert "An error occurred (InvalidParameterValue) when calling the PutMetricData " \
           "operation" in bad.stderr, str(bad)


def test_an_unsigned_cbor_request_is_refused_in_cbor(server):
    """Authentication refuses an RPC v2 CBOR request in CBOR, which botocore's parser
    reads as the query protocol's code."""
    url = server.endpoint + "/service/GraniteServiceVersion20100801/operation/ListMetrics"
    status, headers, answer = h.http_request(
        url, "POST", b"\xa0", {"smithy-protocol": "rpc-v2-cbor",
                               "Content-Type": "application/cbor"}, sign=False)
    assert status == 400
    assert headers["Content-Type"] == "application/cbor"
    assert headers["smithy-protocol"] == "rpc-v2-cbor"
    assert headers["x-amzn-query-error"] == "MissingAuthenticationToken;Sender"
    parsed = botocore.parsers.create_parser("smithy-rpc-v2-cbor").parse(
        {"status_code": status, "headers": {k.lower(): v for k, v in headers.items()},
         "body": answer}, None)
    assert parsed["Error"] == {"Code": "MissingAuthenticationToken",
                               "Message": "Request is missing Authentication Token",
                               "QueryErrorCode": "MissingAuthenticationTokenException",
                               "Type": "Sender"}
