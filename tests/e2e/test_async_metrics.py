"""Lambda's asynchronous-invocation metrics and functions' Embedded Metric Format lines, read
back by real consumers: Prometheus's own text parser (`prometheus_client`) on `/metrics`, and
boto3's CloudWatch client (`get_metric_statistics`, exact sums) on the store.

One function fails every event and is retried once (server retry delays shrunk to 1 s): one
event received, two attempts aged, one dropped. Another fails with no retry while its
dead-letter queue and on-failure destination queue are gone: one dead-letter error and one
destination delivery failure, and one drop (AWS counts an event dropped whether or not it
then went to a DLQ or destination). A third prints one valid EMF line and one that breaks
the format."""

import datetime
import json
import time

import pytest
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families

import hearth_e2e as h

TOKEN = "scrape-secret-async-0123456789"


@pytest.fixture(scope="module")
def server(tmp_path_factory, runtimes_dir, zips):
    base = tmp_path_factory.mktemp("async-metrics")
    (base / "data").mkdir()
    srv = h.HearthServer(base / "data", runtimes_dir, base,
                         env={"HEARTH_METRICS_TOKEN": TOKEN,
                              "HEARTH_ASYNC_RETRY_DELAYS": "1s,1s"})
    srv.start()
    # Lambda sends dead letters and destination records with the function's role.
    h.allow_role(srv.endpoint, ["lambda:InvokeFunction", "sqs:SendMessage"])
    yield srv
    srv.stop_cleanly()


@pytest.fixture(scope="module")
def client(server):
    return h.lambda_client(server.endpoint)


def scrape(server):
    status, _, body = h.http_request(f"{server.endpoint}/metrics",
                                     headers={"Authorization": f"Bearer {TOKEN}"}, sign=False)
    assert status == 200, body
    out = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(samples, metric, name, **labels):
    fn = {("account", h.ACCOUNT), ("function", name)}
    return samples.get((metric, frozenset(fn | set(labels.items()))))


def wait_value(server, metric, name, expected, timeout=60, **labels):
    """Scrapes until `metric` of `name` is `expected` (counts land when the event is done,
    and EMF lines at the next flush, every 10 s); returns the last scrape."""
    got = {}

    def there():
        got.update(scrape(server))
        return value(got, metric, name, **labels) == expected

    assert h.wait_until(there, timeout=timeout, interval=0.5), \
        f"{metric} of {name}: {value(got, metric, name, **labels)}, expected {expected}"
    return got


def invoke_event(client, name, payload):
    resp = client.invoke(FunctionName=name, InvocationType="Event",
                         Payload=json.dumps(payload).encode())
    assert resp["StatusCode"] == 202, resp


@pytest.fixture(scope="module")
def retried(client, server):
    """A function whose one event fails twice (one retry) and is dropped."""
    name = h.unique_name("async-retried")
    h.create_function(client, name)
    client.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=1)
    invoke_event(client, name, {"action": "raise", "message": "no"})
    wait_value(server, "hearth_async_events_dropped_total", name, 1,
               reason="retries_exhausted")
    return name


@pytest.fixture(scope="module")
def undeliverable(client, server):
    """A function whose failed event has a dead-letter queue and an on-failure destination,
    both deleted before the event runs."""
    sqs = h.service_client(server.endpoint, "sqs")
    name = h.unique_name("async-lost")
    arns, urls = {}, {}
    for q in ("dlq", "failures"):
        urls[q] = sqs.create_queue(QueueName=f"{name}-{q}")["QueueUrl"]
        arns[q] = sqs.get_queue_attributes(QueueUrl=urls[q], AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
    h.create_function(client, name, DeadLetterConfig={"TargetArn": arns["dlq"]})
    client.put_function_event_invoke_config(
        FunctionName=name, MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": arns["failures"]}})
    for url in urls.values():
        sqs.delete_queue(QueueUrl=url)
    invoke_event(client, name, {"action": "raise", "message": "lost"})
    wait_value(server, "hearth_async_dead_letter_errors_total", name, 1)
    wait_value(server, "hearth_async_destination_delivery_failures_total", name, 1)
    return name


def emf_line(namespace, ts_ms):
    return json.dumps({
        "_aws": {"Timestamp": ts_ms, "CloudWatchMetrics": [{
            "Namespace": namespace, "Dimensions": [["Shop"]],
            "Metrics": [{"Name": "Widgets", "Unit": "Count"}]}]},
        "Shop": "north", "Widgets": [3, 4]})


@pytest.fixture(scope="module")
def emf(client, server):
    """A function that printed one valid EMF line (two values) and one invalid one."""
    name = h.unique_name("emf")
    namespace = f"HearthE2E/{name}"
    h.create_function(client, name)
    now_ms = int(time.time() * 1000)
    h.invoke_ok(client, name, {"action": "log", "line": emf_line(namespace, now_ms)})
    bad = json.dumps({"_aws": {"Timestamp": now_ms, "CloudWatchMetrics": "not a list"}})
    h.invoke_ok(client, name, {"action": "log", "line": bad})
    wait_value(server, "hearth_emf_values_total", name, 2)
    return name, namespace


def test_a_retried_event_is_received_once_and_aged_per_attempt(server, retried):
    got = scrape(server)
    assert value(got, "hearth_async_events_received_total", retried) == 1
    assert value(got, "hearth_async_event_age_seconds_count", retried) == 2
    assert value(got, "hearth_async_events_dropped_total", retried,
                 reason="retries_exhausted") == 1
    # The retry waited its second in the queue.
    assert value(got, "hearth_async_event_age_seconds_sum", retried) >= 1.0
    assert value(got, "hearth_async_dead_letter_errors_total", retried) is None
    assert value(got, "hearth_invocations_total", retried, outcome="error") == 2


def test_lost_dead_letters_and_records_are_counted(server, undeliverable):
    got = scrape(server)
    assert value(got, "hearth_async_events_received_total", undeliverable) == 1
    assert value(got, "hearth_async_event_age_seconds_count", undeliverable) == 1
    assert value(got, "hearth_async_events_dropped_total", undeliverable,
                 reason="retries_exhausted") == 1
    assert value(got, "hearth_async_dead_letter_errors_total", undeliverable) == 1
    assert value(got, "hearth_async_destination_delivery_failures_total", undeliverable) == 1


def test_emf_lines_are_extracted_and_invalid_ones_counted(server, emf):
    name, _ = emf
    got = scrape(server)
    assert value(got, "hearth_emf_values_total", name) == 2
    assert value(got, "hearth_emf_rejected_total", name) == 1
    assert value(got, "hearth_emf_dropped_total", name) is None
    # The lines stay in the function's log either way.
    messages = [e["message"] for e in h.log_events(server, name)]
    assert sum(1 for m in messages if m.startswith('{"_aws"')) == 2


# ---------------------------------------------------------------------------------------------
# CloudWatch read-back

def cloudwatch(server):
    return h.service_client(server.endpoint, "cloudwatch")


def statistics(server, namespace, metric, dimensions, stat="Sum"):
    """The statistic over the last hour, or a skip if this server does not serve
    CloudWatch's GetMetricStatistics."""
    now = datetime.datetime.now(datetime.timezone.utc)
    try:
        resp = cloudwatch(server).get_metric_statistics(
            Namespace=namespace, MetricName=metric,
            Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
            StartTime=now - datetime.timedelta(hours=1),
            EndTime=now + datetime.timedelta(minutes=5),
            Period=3900, Statistics=[stat])
    except ClientError as e:
        if e.response["Error"]["Code"] in ("UnknownOperationException", "InvalidAction"):
            pytest.skip("this server does not serve CloudWatch's GetMetricStatistics yet")
        raise
    values = [p[stat] for p in resp["Datapoints"]]
    if not values:
        return None
    # The hour may straddle two periods: combine them as the statistic does.
    return {"Sum": sum, "SampleCount": sum, "Minimum": min, "Maximum": max}[stat](values)


def test_cloudwatch_has_the_async_metrics_of_aws_lambda(server, retried, undeliverable):
    f = {"FunctionName": retried}
    assert statistics(server, "AWS/Lambda", "AsyncEventsReceived", f) == 1
    assert statistics(server, "AWS/Lambda", "AsyncEventAge", f, "SampleCount") == 2
    assert statistics(server, "AWS/Lambda", "AsyncEventAge", f, "Minimum") >= 0
    assert statistics(server, "AWS/Lambda", "AsyncEventAge", f, "Maximum") >= 1000
    assert statistics(server, "AWS/Lambda", "AsyncEventsDropped", f) == 1
    assert statistics(server, "AWS/Lambda", "DeadLetterErrors", f) is None
    lost = {"FunctionName": undeliverable}
    assert statistics(server, "AWS/Lambda", "AsyncEventsDropped", lost) == 1
    assert statistics(server, "AWS/Lambda", "DeadLetterErrors", lost) == 1
    assert statistics(server, "AWS/Lambda", "DestinationDeliveryFailures", lost) == 1
    # The events named no qualifier: no Resource series.
    assert statistics(server, "AWS/Lambda", "AsyncEventsReceived",
                      {**f, "Resource": f"{retried}:$LATEST"}) is None


def test_cloudwatch_has_the_emf_metrics_in_their_namespace(server, emf):
    _, namespace = emf
    shop = {"Shop": "north"}
    assert statistics(server, namespace, "Widgets", shop) == 7
    assert statistics(server, namespace, "Widgets", shop, "SampleCount") == 2
    # Dimensions are exact: no series without the dimension set the line declared.
    assert statistics(server, namespace, "Widgets", {}) is None
