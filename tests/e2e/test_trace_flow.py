"""The X-Ray trace header on the paths into a function that do not answer the caller, and
Lambda's recursive loop detection, with real clients: boto3 (the caller's header added by
an event hook, as an X-Ray-instrumented SDK sends it; and inside the function, where
botocore forwards `_X_AMZN_TRACE_ID` as `X-Amzn-Trace-Id` on its own) and the AWS CLI
(`put-function-recursion-config`, `cloudwatch get-metric-statistics`).

- An asynchronous Invoke keeps the caller's header with the queued event: the function
  sees the same Root in `_X_AMZN_TRACE_ID`. So does an invoke one node of a fleet forwards
  to the node it runs on.
- A Python function mapped to an SQS queue sends a message to its own queue each time it
  runs. Its messages carry its trace (SQS keeps the SDK's header as `AWSTraceHeader`), the
  poller continues it, and the header's `Lineage` counts the chain's invocations: the 16th
  runs, the 17th is dropped (the function's recursion config is `Terminate` by default),
  and `AWS/Lambda` `RecursiveInvocationsDropped` counts it. With `Allow` the chain runs
  past 16, to the limit the function sets itself."""

import datetime
import json
import re
import time

import pytest

import hearth_e2e as h
from hearth_fleet import fleet, nodes, postgres  # noqa: F401 (fixtures)

pytestmark = pytest.mark.sandbox_neutral

ROOT = "1-5759e988-bd862e3fe1be46a994272793"
CALLER = f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=0"
SQS_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
               "sqs:ChangeMessageVisibility", "sqs:SendMessage", "sqs:GetQueueUrl"]
LOOP_RE = re.compile(r"^LOOP n=(\d+) trace=(.*)$")


@pytest.fixture(scope="module", autouse=True)
def role(server):
    """The functions' role may poll their queues and send to them (their own SDK calls)."""
    h.allow_role(server.endpoint, SQS_ACTIONS)


@pytest.fixture(scope="module")
def sqs(server):
    return h.service_client(server.endpoint, "sqs")


def messages(server, name):
    return [e["message"].rstrip("\n") for e in h.log_events(server, name)]


def test_an_async_invoke_continues_the_callers_trace(server, client):
    name = h.unique_name("async-trace")
    h.create_function(client, name, "sdk.zip", Timeout=30)

    def add(request, **kw):
        request.headers["X-Amzn-Trace-Id"] = CALLER
    client.meta.events.register("before-sign.lambda.Invoke", add)
    try:
        resp = client.invoke(FunctionName=name, InvocationType="Event",
                             Payload=json.dumps({"action": "trace"}))
    finally:
        client.meta.events.unregister("before-sign.lambda.Invoke", add)
    assert resp["StatusCode"] == 202

    def traced():
        return [m for m in messages(server, name) if m.startswith("TRACE ")]
    assert h.wait_until(lambda: traced(), timeout=60, interval=0.5), messages(server, name)
    [line] = traced()
    header = dict(p.split("=", 1) for p in line[len("TRACE "):].split(";"))
    assert header["Root"] == ROOT, line
    # The caller's decision is kept; no Lineage: an Invoke is not counted.
    assert header["Sampled"] == "0", line
    assert "Lineage" not in header, line


def invoke_traced(client, name):
    def add(request, **kw):
        request.headers["X-Amzn-Trace-Id"] = CALLER
    client.meta.events.register("before-sign.lambda.Invoke", add)
    try:
        return h.invoke_ok(client, name, {"action": "trace"})
    finally:
        client.meta.events.unregister("before-sign.lambda.Invoke", add)


def test_a_forwarded_invoke_continues_the_callers_trace(fleet):
    a, b = fleet.add(), fleet.add()
    assert h.wait_until(lambda: all(
        len([m for m in nodes(n) if m["state"] == "alive"]) == 2 for n in (a, b)), timeout=10)
    time.sleep(2.5)  # each node's placement view is its last heartbeat's (1 s here)
    clients = [h.lambda_client(n.endpoint) for n in (a, b)]
    name = h.unique_name("fwd-trace")
    h.create_function(clients[0], name, "sdk.zip", Timeout=30)
    # One node is the function's home: through the other, the invoke is forwarded.
    answers = [invoke_traced(c, name) for c in clients]
    idle = [json.loads(n.get("/_hearth/concurrency")[2])["idle"] for n in (a, b)]
    assert sorted(idle) == [0, 1], idle
    for answer in answers:
        header = dict(p.split("=", 1) for p in answer["trace"].split(";"))
        assert header["Root"] == ROOT, answers
        assert header["Sampled"] == "0", answers


def loop_function(server, client, sqs, limit):
    """A function mapped to a new queue, sending {"n": N+1} back to it below `limit`; the
    first message sent (by the test, with no trace) starts the chain."""
    name = h.unique_name("loop")
    queue = h.unique_name("loopq")
    url = sqs.create_queue(QueueName=queue, Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    h.create_function(client, name, "sdk.zip", Timeout=30,
                      Environment={"Variables": {"LOOP_QUEUE": queue, "LOOP_LIMIT": str(limit)}})
    return name, url, arn


def start_loop(client, sqs, name, url, arn):
    uuid = client.create_event_source_mapping(EventSourceArn=arn, FunctionName=name,
                                              BatchSize=1)["UUID"]
    h.wait_mapping_state(client, uuid, "Enabled")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": 0}))
    return uuid


def loops(server, name):
    """(n, trace header) of each run, in order."""
    out = []
    for m in messages(server, name):
        match = LOOP_RE.match(m)
        if match:
            out.append((int(match.group(1)), match.group(2)))
    return out


def statistic(server, tmp_path, name):
    now = datetime.datetime.now(datetime.timezone.utc)
    got = h.run(h._aws_command() + [
        "cloudwatch", "get-metric-statistics", "--namespace", "AWS/Lambda",
        "--metric-name", "RecursiveInvocationsDropped",
        "--dimensions", f"Name=FunctionName,Value={name}",
        "--start-time", (now - datetime.timedelta(hours=1)).isoformat(),
        "--end-time", (now + datetime.timedelta(minutes=5)).isoformat(),
        "--period", "3900", "--statistics", "Sum",
        "--endpoint-url", server.endpoint, "--region", h.REGION, "--output", "json"],
        env=h.aws_env(tmp_path, server.endpoint)).json
    return sum(p["Sum"] for p in got["Datapoints"]), got["Datapoints"]


def test_a_loop_through_sqs_is_stopped_at_the_17th_invocation(server, client, sqs, tmp_path):
    name, url, arn = loop_function(server, client, sqs, limit=40)
    start_loop(client, sqs, name, url, arn)
    assert h.wait_until(lambda: any(n == 16 for n, _ in loops(server, name)),
                        timeout=120, interval=0.5), loops(server, name)
    # The 16th run sent the 17th message: its invocation is dropped and counted.
    assert h.wait_until(lambda: statistic(server, tmp_path, name)[0] >= 1,
                        timeout=60, interval=1), statistic(server, tmp_path, name)
    runs = loops(server, name)
    assert [n for n, _ in runs] == list(range(1, 17)), runs
    # One chain: every run continued the first one's trace, its count in the Lineage.
    roots = {dict(p.split("=", 1) for p in t.split(";"))["Root"] for _, t in runs}
    assert len(roots) == 1, runs
    for n, trace in runs:
        assert re.search(rf"(^|;)Lineage=[0-9a-f]{{8}}:{n}($|;)", trace), (n, trace)
    # The message stays in the queue (in flight until its visibility timeout), not run.
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"]) == 1, attrs
    recursion = h.aws_lambda(server.endpoint, tmp_path, "get-function-recursion-config",
                             "--function-name", name).json
    assert recursion == {"RecursiveLoop": "Terminate"}


def test_allow_lets_the_loop_run_past_16(server, client, sqs, tmp_path):
    name, url, arn = loop_function(server, client, sqs, limit=20)
    allowed = h.aws_lambda(server.endpoint, tmp_path, "put-function-recursion-config",
                           "--function-name", name, "--recursive-loop", "Allow").json
    assert allowed == {"RecursiveLoop": "Allow"}
    start_loop(client, sqs, name, url, arn)
    assert h.wait_until(lambda: any(n == 20 for n, _ in loops(server, name)),
                        timeout=120, interval=0.5), loops(server, name)
    runs = loops(server, name)
    assert [n for n, _ in runs] == list(range(1, 21)), runs
    assert re.search(r"(^|;)Lineage=[0-9a-f]{8}:20($|;)", runs[-1][1]), runs[-1]
    # Nothing was dropped (the metrics are flushed every 10 s: wait past one flush).
    time.sleep(11)
    assert statistic(server, tmp_path, name)[0] == 0
