"""SQS on a fleet (nodes sharing PostgreSQL): one node serves it, the holder of the store
lease `sqs`; another answers 503 ServiceUnavailable naming it, and takes over (with every
message not deleted) when the holder is gone."""

import time

import boto3
import pytest
from botocore.config import Config

import hearth_e2e as h
from hearth_fleet import fleet, postgres  # noqa: F401

pytestmark = pytest.mark.sandbox_neutral


def client(node):
    return boto3.session.Session().client(
        "sqs", region_name=h.REGION, endpoint_url=node.endpoint, **h.key_args(node.endpoint),
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def test_one_node_serves_and_another_takes_over(fleet):
    a = fleet.add()
    sqs_a = client(a)
    url = sqs_a.create_queue(QueueName="shared")["QueueUrl"]
    for i in range(20):
        sqs_a.send_message(QueueUrl=url, MessageBody=f"m{i}")
    got = sqs_a.receive_message(QueueUrl=url, MaxNumberOfMessages=3)["Messages"]
    b = fleet.add()
    sqs_b = client(b)
    err = h.failure(sqs_b.get_queue_url, QueueName="shared")
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert err["Error"]["Code"] == "ServiceUnavailable"
    assert f"127.0.0.1:{a.port}" in err["Error"]["Message"], err
    a.kill()
    deadline = time.time() + 30
    while True:
        try:
            url_b = sqs_b.get_queue_url(QueueName="shared")["QueueUrl"]
            break
        except Exception:
            if time.time() > deadline:
                raise
            time.sleep(0.5)
    bodies = []
    while True:
        msgs = sqs_b.receive_message(QueueUrl=url_b, MaxNumberOfMessages=10,
                                     WaitTimeSeconds=1).get("Messages", [])
        if not msgs:
            break
        for m in msgs:
            bodies.append(m["Body"])
            sqs_b.delete_message(QueueUrl=url_b, ReceiptHandle=m["ReceiptHandle"])
    # The three received at the old holder and not deleted are delivered again.
    assert sorted(bodies) == sorted(f"m{i}" for i in range(20)), got
