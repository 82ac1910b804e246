"""What Hearth shows of its work, read by real consumers: Prometheus's own text parser
(`prometheus_client`) reads `/metrics` after scripted invocations, with exact counts;
`/metrics` needs the metrics token when requests are signed; boto3's `cloudwatch` and the
AWS CLI read the `AWS/Lambda` metrics of the same invocations (counts exact, durations
within the REPORT lines'); an alarm on them fires and delivers to an SNS topic (and on to a
subscribed queue) and to a webhook; the metering `hearth cost` prices agrees with the REPORT
lines."""

import base64
import datetime
import http.server
import json
import re
import threading
import time
import urllib.parse

import pytest
from prometheus_client.parser import text_string_to_metric_families

import hearth_e2e as h

TOKEN = "scrape-secret-0123456789"
FAILED_AT = []


@pytest.fixture(scope="module")
def server(tmp_path_factory, runtimes_dir, zips):
    base = tmp_path_factory.mktemp("observe")
    (base / "data").mkdir()
    # Alarms evaluated every 2 s instead of AWS's minute, so that the test sees one fire.
    srv = h.HearthServer(base / "data", runtimes_dir, base,
                         env={"HEARTH_METRICS_TOKEN": TOKEN, "HEARTH_ALARM_INTERVAL": "2s"})
    srv.start()
    yield srv
    srv.stop_cleanly()


@pytest.fixture(scope="module")
def client(server):
    return h.lambda_client(server.endpoint)


def scrape(server, token=TOKEN):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return h.http_request(f"{server.endpoint}/metrics", headers=headers, sign=False)


def samples(text):
    """{(name, frozenset(labels)): value} of every sample, as Prometheus parses them."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def report_of(log_result):
    """(billed ms, duration ms) of the REPORT line in a log tail."""
    raw = base64.b64decode(log_result).decode()
    m = re.search(r"\tDuration: ([\d.]+) ms\tBilled Duration: (\d+) ms", raw)
    return int(m.group(2)), float(m.group(1))


@pytest.fixture(scope="module")
def workload(client):
    """One function invoked 3 times successfully and once failing, with the billed ms and
    the duration of each REPORT line. The failure's wall-clock time is kept in `FAILED_AT`
    (the alarm test waits for the end of its minute)."""
    name = h.unique_name("observe")
    h.create_function(client, name, MemorySize=256)
    reports = []
    for i in range(3):
        inv = h.invoke(client, name, {"n": i}, LogType="Tail")
        assert inv.function_error is None, inv.payload
        reports.append(report_of(inv.log_result))
    FAILED_AT.append(time.time())
    inv = h.invoke(client, name, {"action": "raise", "message": "boom"}, LogType="Tail")
    assert inv.function_error == "Unhandled"
    reports.append(report_of(inv.log_result))
    return name, reports


def test_prometheus_reads_exact_invocation_counts(server, workload):
    name, _ = workload
    status, headers, body = scrape(server)
    assert status == 200, body
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    got = samples(body.decode())
    fn = {("account", h.ACCOUNT), ("function", name)}

    def value(metric, **labels):
        return got.get((metric, frozenset(fn | set(labels.items()))))

    assert value("hearth_invocations_total", outcome="success") == 3
    assert value("hearth_invocations_total", outcome="error") == 1
    assert value("hearth_invocations_total", outcome="timeout") == 0
    assert value("hearth_invocation_duration_seconds_count") == 4
    assert value("hearth_cold_starts_total") == 1
    assert value("hearth_init_duration_seconds_count") == 1
    assert value("hearth_invocation_memory_used_megabytes_count") == 4
    # The warm environment waits for work; nothing is busy now.
    assert value("hearth_warm_environments") == 1
    assert got[("hearth_environment_starts_total", frozenset({("outcome", "ok")}))] >= 1
    assert ("hearth_host_memory_total_bytes", frozenset()) in got


def test_metrics_need_the_token_when_requests_are_signed(server):
    status, headers, _ = scrape(server, token=None)
    assert status == 401
    assert headers["WWW-Authenticate"] == "Bearer"
    status, _, _ = scrape(server, token="wrong")
    assert status == 401


def test_metering_counts_what_the_report_lines_bill(server, workload):
    name, reports = workload
    billed = [b for b, _ in reports]
    today = int(time.time() // 86400)
    query = urllib.parse.urlencode({"from_day": today - 1, "to_day": today + 1,
                                    "function": name})
    status, _, body = h.http_request(f"{server.endpoint}/_hearth/metering?{query}")
    assert status == 200, body
    rows = json.loads(body)["Rows"]
    assert len(rows) == 1, rows
    row = rows[0]
    assert (row["Function"], row["Version"], row["MemoryMB"], row["Architecture"]) == \
        (name, "$LATEST", 256, "x86_64")
    assert row["Requests"] == 4
    assert row["BilledMs"] == sum(billed)
    # The first invocation cold-started: its init is billed with it (and is > 0 ms).
    assert 0 < row["InitBilledMs"] < billed[0]


def lambda_statistics(cw, name, metric, statistics):
    now = datetime.datetime.now(datetime.timezone.utc)
    got = cw.get_metric_statistics(
        Namespace="AWS/Lambda", MetricName=metric,
        Dimensions=[{"Name": "FunctionName", "Value": name}],
        StartTime=now - datetime.timedelta(minutes=10), EndTime=now + datetime.timedelta(minutes=1),
        Period=60, Statistics=statistics)
    return got["Datapoints"]


def test_cloudwatch_reads_the_lambda_metrics_of_the_invocations(server, workload):
    name, reports = workload
    cw = h.service_client(server.endpoint, "cloudwatch")
    invocations = lambda_statistics(cw, name, "Invocations", ["Sum", "SampleCount"])
    assert sum(d["Sum"] for d in invocations) == 4
    assert all(d["Unit"] == "Count" for d in invocations)
    errors = lambda_statistics(cw, name, "Errors", ["Sum"])
    assert sum(d["Sum"] for d in errors) == 1
    durations = lambda_statistics(cw, name, "Duration", ["SampleCount", "Minimum", "Maximum"])
    assert sum(d["SampleCount"] for d in durations) == 4
    assert all(d["Unit"] == "Milliseconds" for d in durations)
    # REPORT rounds to 1/100 ms; the metric keeps the measured value.
    low, high = min(r for _, r in reports), max(r for _, r in reports)
    assert abs(min(d["Minimum"] for d in durations) - low) <= 0.01
    assert abs(max(d["Maximum"] for d in durations) - high) <= 0.01
    listed = cw.list_metrics(Namespace="AWS/Lambda", MetricName="Invocations",
                             Dimensions=[{"Name": "FunctionName", "Value": name}])["Metrics"]
    assert listed == [{"Namespace": "AWS/Lambda", "MetricName": "Invocations",
                       "Dimensions": [{"Name": "FunctionName", "Value": name}]}]
    # Account-wide, the same counts (the module's only function).
    now = datetime.datetime.now(datetime.timezone.utc)
    total = cw.get_metric_statistics(
        Namespace="AWS/Lambda", MetricName="Invocations",
        StartTime=now - datetime.timedelta(minutes=10), EndTime=now + datetime.timedelta(minutes=1),
        Period=600, Statistics=["Sum"])["Datapoints"]
    assert sum(d["Sum"] for d in total) == 4


def test_the_aws_cli_reads_lambda_invocations(server, workload, tmp_path):
    name, _ = workload
    now = int(time.time())
    out = h.run(h._aws_command() + [
        "--endpoint-url", server.endpoint, "--region", h.REGION, "--output", "json",
        "cloudwatch", "get-metric-statistics", "--namespace", "AWS/Lambda",
        "--metric-name", "Invocations", "--dimensions", f"Name=FunctionName,Value={name}",
        "--start-time", str(now - 600), "--end-time", str(now + 60), "--period", "3600",
        "--statistics", "Sum"], env=h.aws_env(tmp_path, server.endpoint))
    doc = json.loads(out.stdout)
    assert doc["Label"] == "Invocations"
    assert [(d["Sum"], d["Unit"]) for d in doc["Datapoints"]] == [(4.0, "Count")]


class Hook(http.server.BaseHTTPRequestHandler):
    """A webhook that keeps what it was sent."""
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_an_alarm_on_errors_fires_to_a_topic_and_a_webhook(server, client, workload):
    name, _ = workload
    hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{hook.server_address[1]}/alarm"
    sqs = h.service_client(server.endpoint, "sqs")
    sns = h.service_client(server.endpoint, "sns")
    cw = h.service_client(server.endpoint, "cloudwatch")
    queue = sqs.create_queue(QueueName=f"{name}-alarms")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    # The default topic policy: its own account's alarms may publish, as on AWS.
    topic = sns.create_topic(Name=f"{name}-alarms")["TopicArn"]
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage", "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]})})
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    alarm = f"{name}-errors"
    cw.put_metric_alarm(
        AlarmName=alarm, Namespace="AWS/Lambda", MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": name}], Statistic="Sum", Period=60,
        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
        AlarmActions=[topic, url])
    # The alarm reads complete minutes only: the failure's minute must end first (up to 60 s
    # after it), then one evaluation (every 2 s here); 30 s of slack for a loaded machine.
    period_end = (FAILED_AT[0] // 60 + 1) * 60
    try:
        assert h.wait_until(lambda: cw.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0][
            "StateValue"] == "ALARM", timeout=max(0, period_end - time.time()) + 30), \
            cw.describe_alarms(AlarmNames=[alarm])
        assert h.wait_until(lambda: Hook.received, timeout=30)
        sent = Hook.received[0]
        assert (sent["AlarmName"], sent["NewStateValue"], sent["OldStateValue"]) == \
            (alarm, "ALARM", "INSUFFICIENT_DATA")
        assert sent["Trigger"]["MetricName"] == "Errors"
        assert sent["Trigger"]["Dimensions"] == [{"value": name, "name": "FunctionName"}]
        got = []
        assert h.wait_until(lambda: got.extend(sqs.receive_message(
            QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])) or got, timeout=30)
        note = json.loads(got[0]["Body"])
        assert note["Type"] == "Notification" and note["TopicArn"] == topic
        assert note["Subject"] == f'ALARM: "{alarm}" in US East (N. Virginia)'
        assert json.loads(note["Message"]) == sent
        history = cw.describe_alarm_history(AlarmName=alarm, HistoryItemType="Action")
        assert len(history["AlarmHistoryItems"]) >= 1
    finally:
        hook.shutdown()
        cw.delete_alarms(AlarmNames=[alarm])
