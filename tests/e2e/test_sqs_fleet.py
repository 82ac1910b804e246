"""SQS on a fleet (nodes sharing PostgreSQL, docs/fleet.md): one node serves it, the holder
of the store lease `sqs`, and every node answers SQS all the same by sending each operation
to the holder. Clients of any node (boto3's JSON protocol, the query protocol, the AWS CLI)
see one service, long polls wake at a send through any node, SNS and async destinations
send from any node, and when the holder dies another takes over and the others follow."""

import json
import threading
import time

import boto3
import pytest
from botocore.config import Config

import hearth_e2e as h
from hearth_fleet import fleet, postgres  # noqa: F401
from test_sqs_query import check_forms, check_scenario, old_botocore  # noqa: F401

pytestmark = pytest.mark.sandbox_neutral

SERVES = "this node serves SQS"


def client(node):
    return boto3.session.Session().client(
        "sqs", region_name=h.REGION, endpoint_url=node.endpoint, **h.key_args(node.endpoint),
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=60))


def serves(node) -> bool:
    """Whether the node's log says it took the SQS lease."""
    return SERVES in node.stderr_path.read_text(errors="replace")


def fleet_of_three(fleet):
    a = fleet.add()
    assert h.wait_until(lambda: serves(a), timeout=10)
    b, c = fleet.add(), fleet.add()
    assert not serves(b) and not serves(c)
    return a, b, c


def until_served(call, timeout=40, **kw):
    """`call(**kw)` once SQS answers it (a holder is being taken over meanwhile)."""
    deadline = time.time() + timeout
    while True:
        try:
            return call(**kw)
        except Exception:
            if time.time() > deadline:
                raise
            time.sleep(0.5)


def test_every_node_answers_sqs_through_the_holder(fleet, tmp_path, old_botocore):
    a, b, c = fleet_of_three(fleet)
    sqs_a, sqs_b, sqs_c = client(a), client(b), client(c)
    name = h.unique_name("fleetq")
    # Made on a node that does not serve SQS; each node answers with URLs of its own.
    url_b = sqs_b.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "30"})[
        "QueueUrl"]
    assert url_b == f"{b.endpoint}/{h.ACCOUNT}/{name}"
    url_c = sqs_c.get_queue_url(QueueName=name)["QueueUrl"]
    assert url_c == f"{c.endpoint}/{h.ACCOUNT}/{name}"
    assert url_b.replace(b.endpoint, a.endpoint) in sqs_a.list_queues(
        QueueNamePrefix=name)["QueueUrls"]

    # A long poll through one node is woken by a send through another, at once.
    polled = {}

    def poll():
        start = time.monotonic()
        polled["out"] = sqs_b.receive_message(QueueUrl=url_b, WaitTimeSeconds=20,
                                              MessageAttributeNames=["All"])
        polled["took"] = time.monotonic() - start

    t = threading.Thread(target=poll)
    t.start()
    time.sleep(1.5)
    sent = sqs_c.send_message(QueueUrl=url_c, MessageBody="wake up", MessageAttributes={
        "k": {"DataType": "String", "StringValue": "v"}})
    t.join(timeout=30)
    assert polled["took"] < 10, polled
    [msg] = polled["out"]["Messages"]
    assert (msg["Body"], msg["MessageId"]) == ("wake up", sent["MessageId"])
    assert msg["MessageAttributes"]["k"]["StringValue"] == "v"
    # Its receipt works through any node.
    sqs_c.delete_message(QueueUrl=url_c, ReceiptHandle=msg["ReceiptHandle"])
    attrs = sqs_b.get_queue_attributes(QueueUrl=url_b, AttributeNames=["All"])["Attributes"]
    assert (attrs["ApproximateNumberOfMessages"],
            attrs["ApproximateNumberOfMessagesNotVisible"]) == ("0", "0"), attrs

    # Batches through the nodes that do not serve SQS.
    out = sqs_b.send_message_batch(QueueUrl=url_b, Entries=[
        {"Id": f"e{i}", "MessageBody": f"m{i}"} for i in range(5)])
    assert len(out["Successful"]) == 5, out
    got = []
    while len(got) < 5:
        got += sqs_c.receive_message(QueueUrl=url_c, MaxNumberOfMessages=10,
                                     WaitTimeSeconds=2).get("Messages", [])
    changed = sqs_b.change_message_visibility_batch(QueueUrl=url_b, Entries=[
        {"Id": f"v{i}", "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 60}
        for i, m in enumerate(got)])
    assert len(changed["Successful"]) == 5, changed
    deleted = sqs_b.delete_message_batch(QueueUrl=url_b, Entries=[
        {"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])
    assert len(deleted["Successful"]) == 5, deleted

    # The queue's policy, read from the holder, is applied on every node.
    arn = attrs["QueueArn"]
    sqs_c.set_queue_attributes(QueueUrl=url_c, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Deny", "Principal": "*", "Action": "sqs:SendMessage",
            "Resource": arn}]})})
    for node_client, url in ((sqs_b, url_b), (sqs_a, url_b.replace(b.endpoint, a.endpoint))):
        err = h.failure(node_client.send_message, QueueUrl=url, MessageBody="no")
        assert err["ResponseMetadata"]["HTTPStatusCode"] == 403, err
    sqs_b.set_queue_attributes(QueueUrl=url_b, Attributes={"Policy": ""})

    # The AWS CLI through a node that does not serve SQS.
    env = h.aws_env(tmp_path, c.endpoint)

    def aws(*args):
        out = h.run(h._aws_command() + ["sqs", *args, "--endpoint-url", c.endpoint,
                                        "--region", h.REGION, "--output", "json"], env=env)
        return json.loads(out.stdout) if out.stdout.strip() else None

    aws("send-message", "--queue-url", url_c, "--message-body", "from the cli")
    [cli_msg] = aws("receive-message", "--queue-url", url_c, "--wait-time-seconds", "5")[
        "Messages"]
    assert cli_msg["Body"] == "from the cli"
    aws("delete-message", "--queue-url", url_c, "--receipt-handle", cli_msg["ReceiptHandle"])

    # The query protocol through a node that does not serve SQS: an older botocore, and
    # forms POSTed to `/` and to the queue's URL.
    check_scenario(b.endpoint, old_botocore)
    check_forms(c)
    # None of this moved the lease.
    assert serves(a) and not serves(b) and not serves(c)


def test_sns_and_async_destinations_send_from_a_node_without_sqs(fleet, zips):
    """A topic published to on a node that does not serve SQS delivers to a queue, a
    function run there (an Event invoke runs on the node that accepted it) sends its
    destination record to one, and a FIFO topic's groups keep their order."""
    a = fleet.add()
    assert h.wait_until(lambda: serves(a), timeout=10)
    b = fleet.add()
    h.allow_role(b.endpoint, ["sqs:SendMessage"])
    sqs = client(b)
    sns = h.service_client(b.endpoint, "sns")
    lam = h.lambda_client(b.endpoint)
    name = h.unique_name("fleetsns")
    urls = {q: sqs.create_queue(QueueName=f"{name}-{q}")["QueueUrl"] for q in ("sub", "ok")}
    arns = {q: sqs.get_queue_attributes(QueueUrl=u, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"] for q, u in urls.items()}
    topic = sns.create_topic(Name=name)["TopicArn"]
    sqs.set_queue_attributes(QueueUrl=urls["sub"], Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage", "Resource": arns["sub"],
            "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]})})
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arns["sub"],
                  Attributes={"RawMessageDelivery": "true"})
    for i in range(5):
        sns.publish(TopicArn=topic, Message=f"n{i}")

    h.create_function(lam, name)
    lam.put_function_event_invoke_config(
        FunctionName=name, MaximumRetryAttempts=0,
        DestinationConfig={"OnSuccess": {"Destination": arns["ok"]}})
    lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"on": "b"}')

    def drain(url, n):
        bodies = []

        def arrived():
            for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                         WaitTimeSeconds=1).get("Messages", []):
                bodies.append(m["Body"])
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            return len(bodies) >= n

        assert h.wait_until(arrived, timeout=60), bodies
        return bodies

    assert sorted(drain(urls["sub"], 5)) == [f"n{i}" for i in range(5)]
    [record] = drain(urls["ok"], 1)
    record = json.loads(record)
    assert record["requestContext"]["condition"] == "Success", record
    assert record["requestPayload"] == {"on": "b"}

    # A FIFO topic published to through both nodes (each node's workers delivering)
    # keeps each group's order into a FIFO queue.
    fifo = {"ContentBasedDeduplication": "true"}
    topic = sns.create_topic(Name=f"{name}.fifo", Attributes={"FifoTopic": "true", **fifo})[
        "TopicArn"]
    url = sqs.create_queue(QueueName=f"{name}.fifo", Attributes={"FifoQueue": "true", **fifo})[
        "QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage", "Resource": arn}]})})
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                  Attributes={"RawMessageDelivery": "true"})
    publishers = (sns, h.service_client(a.endpoint, "sns"))
    for i in range(10):
        for g in ("x", "y"):
            publishers[i % 2].publish(TopicArn=topic, Message=f"{g}{i}", MessageGroupId=g)
    bodies = drain(url, 20)
    for g in ("x", "y"):
        assert [b for b in bodies if b[0] == g] == [f"{g}{i}" for i in range(10)], bodies
    assert serves(a) and not serves(b)


def test_the_holder_killed_another_takes_over_and_the_others_follow(fleet):
    a, b, c = fleet_of_three(fleet)
    sqs_b, sqs_c = client(b), client(c)
    url = sqs_b.create_queue(QueueName="shared")["QueueUrl"]
    for i in range(20):
        sqs_c.send_message(QueueUrl=url.replace(b.endpoint, c.endpoint), MessageBody=f"m{i}")
    got = sqs_b.receive_message(QueueUrl=url, MaxNumberOfMessages=3)["Messages"]
    assert len(got) == 3
    a.kill()
    # Until its lease lapses the holder is named, unreachable.
    err = h.failure(sqs_b.get_queue_url, QueueName="shared")
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 503, err
    assert err["Error"]["Code"] == "ServiceUnavailable"
    assert f"127.0.0.1:{a.port}" in err["Error"]["Message"], err
    # Then one of the others takes it over, and both answer.
    url_b = until_served(sqs_b.get_queue_url, QueueName="shared")["QueueUrl"]
    url_c = until_served(sqs_c.get_queue_url, QueueName="shared")["QueueUrl"]
    assert h.wait_until(lambda: serves(b) or serves(c), timeout=10)
    assert not (serves(b) and serves(c))
    follower, url_f = (sqs_c, url_c) if serves(b) else (sqs_b, url_b)
    bodies = []
    while True:
        msgs = follower.receive_message(QueueUrl=url_f, MaxNumberOfMessages=10,
                                        WaitTimeSeconds=1).get("Messages", [])
        if not msgs:
            break
        for m in msgs:
            bodies.append(m["Body"])
            follower.delete_message(QueueUrl=url_f, ReceiptHandle=m["ReceiptHandle"])
    # The three received at the old holder and not deleted are delivered again.
    assert sorted(bodies) == sorted(f"m{i}" for i in range(20)), got
