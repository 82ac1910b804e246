"""The metrics of what feeds functions and of the store, read back by real consumers: boto3's
CloudWatch client (`get_metric_statistics`, exact sums) and Prometheus's own text parser
(`prometheus_client`) on `/metrics`.

- An SQS mapping with `MetricsConfig` `EventCount` processes N messages: `AWS/Lambda`'s
  `PolledEventCount`, `InvokedEventCount` and `DeletedEventCount` under
  `EventSourceMappingUUID` are N each; Get/List show the `MetricsConfig`, and Kafka's
  metrics are refused for an SQS mapping.
- `AWS/SQS` per `QueueName`: `NumberOfMessagesSent` exact, `SentMessageSize`'s sum the
  bodies' bytes, and `ApproximateAgeOfOldestMessage` above 0 for a queue whose message waits.
- `/metrics`: each queue's visible depth and oldest message age, and the store writer's
  commit histogram.
- A version with provisioned concurrency 1 invoked twice at once: one invocation runs on the
  provisioned environment, the other spills over (`ProvisionedConcurrencySpilloverInvocations`).

The server evaluates its minute's work every 2 s (`HEARTH_ALARM_INTERVAL`), so queue depths are
sampled without waiting a minute."""

import concurrent.futures
import datetime
import json
import time

import pytest
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families

import hearth_e2e as h

TOKEN = "scrape-secret-sources-0123456789"
SQS_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
               "sqs:ChangeMessageVisibility"]


@pytest.fixture(scope="module")
def server(tmp_path_factory, runtimes_dir, zips):
    base = tmp_path_factory.mktemp("source-metrics")
    (base / "data").mkdir()
    srv = h.HearthServer(base / "data", runtimes_dir, base,
                         env={"HEARTH_METRICS_TOKEN": TOKEN, "HEARTH_ALARM_INTERVAL": "2s"})
    srv.start()
    h.allow_role(srv.endpoint, SQS_ACTIONS)
    yield srv
    srv.stop_cleanly()


@pytest.fixture(scope="module")
def client(server):
    return h.lambda_client(server.endpoint)


@pytest.fixture(scope="module")
def sqs(server):
    return h.service_client(server.endpoint, "sqs")


def queue(sqs, prefix):
    """A new queue: its URL, ARN and name."""
    name = h.unique_name(prefix)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    return url, arn, name


def drained(sqs, url):
    """Whether the queue has no message left, visible or in flight."""
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(a["ApproximateNumberOfMessages"]) + int(
        a["ApproximateNumberOfMessagesNotVisible"]) == 0


def statistic(server, namespace, metric, dimensions, stat="Sum"):
    """The statistic over the last hour (combined over the periods it straddles)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    resp = h.service_client(server.endpoint, "cloudwatch").get_metric_statistics(
        Namespace=namespace, MetricName=metric,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=now - datetime.timedelta(hours=1),
        EndTime=now + datetime.timedelta(minutes=5),
        Period=3900, Statistics=[stat])
    values = [p[stat] for p in resp["Datapoints"]]
    if not values:
        return None
    return {"Sum": sum, "SampleCount": sum, "Minimum": min, "Maximum": max}[stat](values)


def wait_statistic(server, namespace, metric, dimensions, expected, stat="Sum", timeout=60):
    """Waits for the statistic to be `expected` (counts reach CloudWatch every 10 s), then
    checks it stays so past one more flush: exact, not just reached once."""
    got = []

    def there():
        got.append(statistic(server, namespace, metric, dimensions, stat))
        return expected(got[-1]) if callable(expected) else got[-1] == expected

    assert h.wait_until(there, timeout=timeout, interval=1), \
        f"{namespace} {metric} {dimensions}: {got[-1:]}, expected {expected}"
    return got[-1]


def scrape(server):
    status, _, body = h.http_request(f"{server.endpoint}/metrics",
                                     headers={"Authorization": f"Bearer {TOKEN}"}, sign=False)
    assert status == 200, body
    out = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def test_a_mapping_with_event_count_publishes_its_event_counts(server, client, sqs):
    name = h.unique_name("esm-metrics")
    h.create_function(client, name)
    url, arn, _ = queue(sqs, "esm-metrics")
    with pytest.raises(ClientError) as e:
        client.create_event_source_mapping(EventSourceArn=arn, FunctionName=name,
                                           MetricsConfig={"Metrics": ["KafkaMetrics"]})
    assert h.error_of(e.value)[:2] == (400, "InvalidParameterValueException")
    made = client.create_event_source_mapping(EventSourceArn=arn, FunctionName=name,
                                              BatchSize=10,
                                              MetricsConfig={"Metrics": ["EventCount"]})
    uuid = made["UUID"]
    assert made["MetricsConfig"] == {"Metrics": ["EventCount"]}
    assert client.get_event_source_mapping(UUID=uuid)["MetricsConfig"] == {
        "Metrics": ["EventCount"]}
    listed = client.list_event_source_mappings(FunctionName=name)["EventSourceMappings"]
    assert [m.get("MetricsConfig") for m in listed] == [{"Metrics": ["EventCount"]}]
    n = 7
    for i in range(n):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": i}))
    assert h.wait_until(lambda: drained(sqs, url), timeout=60)
    dims = {"EventSourceMappingUUID": uuid}
    for metric in ("PolledEventCount", "InvokedEventCount", "DeletedEventCount"):
        wait_statistic(server, "AWS/Lambda", metric, dims, n)
    # One more flush adds nothing: the counts are exact.
    time.sleep(11)
    for metric in ("PolledEventCount", "InvokedEventCount", "DeletedEventCount"):
        assert statistic(server, "AWS/Lambda", metric, dims) == n, metric
    assert statistic(server, "AWS/Lambda", "FilteredOutEventCount", dims) is None
    assert statistic(server, "AWS/Lambda", "FailedInvokeEventCount", dims) is None


def test_a_mapping_without_metrics_config_publishes_none(server, client, sqs):
    name = h.unique_name("esm-quiet")
    h.create_function(client, name)
    url, arn, _ = queue(sqs, "esm-quiet")
    uuid = client.create_event_source_mapping(EventSourceArn=arn, FunctionName=name)["UUID"]
    assert "MetricsConfig" not in client.get_event_source_mapping(UUID=uuid)
    sqs.send_message(QueueUrl=url, MessageBody="x")
    assert h.wait_until(lambda: drained(sqs, url), timeout=60)
    time.sleep(11)
    assert statistic(server, "AWS/Lambda", "PolledEventCount",
                     {"EventSourceMappingUUID": uuid}) is None


def test_sqs_publishes_its_queue_metrics(server, sqs):
    url, _, name = queue(sqs, "sqs-metrics")
    bodies = ["a" * 10, "b" * 20, "c" * 30]
    for b in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=b)
    empty_url, _, empty = queue(sqs, "sqs-empty")
    assert sqs.receive_message(QueueUrl=empty_url, WaitTimeSeconds=0).get("Messages") is None
    q = {"QueueName": name}
    wait_statistic(server, "AWS/SQS", "NumberOfMessagesSent", q, 3)
    assert statistic(server, "AWS/SQS", "SentMessageSize", q) == 60
    assert statistic(server, "AWS/SQS", "SentMessageSize", q, "SampleCount") == 3
    assert statistic(server, "AWS/SQS", "SentMessageSize", q, "Maximum") == 30
    wait_statistic(server, "AWS/SQS", "NumberOfEmptyReceives", {"QueueName": empty}, 1)
    # The messages wait; a sample a few seconds later finds the oldest aged.
    time.sleep(3)
    wait_statistic(server, "AWS/SQS", "ApproximateAgeOfOldestMessage", q,
                   lambda v: v is not None and v > 0, stat="Maximum")
    assert wait_statistic(server, "AWS/SQS", "ApproximateNumberOfMessagesVisible", q,
                          3, stat="Maximum") == 3
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    for m in got:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    wait_statistic(server, "AWS/SQS", "NumberOfMessagesReceived", q, len(got))
    wait_statistic(server, "AWS/SQS", "NumberOfMessagesDeleted", q, len(got))
    assert statistic(server, "AWS/SQS", "NumberOfMessagesSent", q) == 3


def test_metrics_show_queue_depths_and_store_commits(server, sqs):
    url, _, name = queue(sqs, "sqs-depth")
    sqs.send_message(QueueUrl=url, MessageBody="one")
    sqs.send_message(QueueUrl=url, MessageBody="two")
    time.sleep(1.5)
    got = scrape(server)
    labels = frozenset({("account", h.ACCOUNT), ("queue", name)})
    assert got[("hearth_sqs_messages_visible", labels)] == 2
    assert got[("hearth_sqs_messages_in_flight", labels)] == 0
    assert got[("hearth_sqs_messages_delayed", labels)] == 0
    assert got[("hearth_sqs_oldest_message_age_seconds", labels)] >= 1
    commits = got[("hearth_store_commit_seconds_count", frozenset())]
    assert commits >= 1
    assert got[("hearth_store_commit_changes_count", frozenset())] == commits
    assert got[("hearth_store_commit_seconds_bucket", frozenset({("le", "+Inf")}))] == commits


def test_a_busy_provisioned_version_spills_over(server, client):
    name = h.unique_name("spill")
    h.create_function(client, name)
    client.publish_version(FunctionName=name)
    client.put_provisioned_concurrency_config(FunctionName=name, Qualifier="1",
                                              ProvisionedConcurrentExecutions=1)
    assert h.wait_until(lambda: client.get_provisioned_concurrency_config(
        FunctionName=name, Qualifier="1")["Status"] == "READY", timeout=60)

    def slow(_):
        own = h.lambda_client(server.endpoint)
        return h.invoke(own, name, {"action": "sleep", "seconds": 2}, Qualifier="1")

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(slow, range(2)))
    types = sorted(r.json["env"]["AWS_LAMBDA_INITIALIZATION_TYPE"] for r in results)
    assert types == ["on-demand", "provisioned-concurrency"]
    resource = {"FunctionName": name, "Resource": f"{name}:1"}
    wait_statistic(server, "AWS/Lambda", "ProvisionedConcurrencySpilloverInvocations",
                   resource, 1)
    assert statistic(server, "AWS/Lambda", "ProvisionedConcurrencySpilloverInvocations",
                     {"FunctionName": name}) == 1
    assert statistic(server, "AWS/Lambda", "ProvisionedConcurrencyInvocations", resource) == 1
    samples = scrape(server)
    fn = frozenset({("account", h.ACCOUNT), ("function", name)})
    assert samples[("hearth_provisioned_spillover_invocations_total", fn)] == 1
