"""Schedules firing on a real clock against a running server: a scheduled rule's
`rate(1 minute)` delivering AWS's `Scheduled Event`, and EventBridge Scheduler's schedules
(at/rate/cron, their inputs and targets, `ActionAfterCompletion`), each slot exactly once
across a `kill -9` of the server. Timing itself (how close to its slot a schedule fires)
is measured by `hearth-bench`, not asserted here."""

import json

import pytest

import hearth_e2e as h

A = h.ACCOUNT
EVENTS = f"arn:aws:events:{h.REGION}:{A}"


def queue_for(sqs, name, principal="events.amazonaws.com"):
    """A queue whose policy lets `principal` send to it."""
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": principal},
        "Action": "sqs:SendMessage", "Resource": arn}]}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    return url, arn


def drain(sqs, url, n, timeout):
    """Waits for `n` messages, deleting them; returns their bodies."""
    got = []

    def poll():
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                     WaitTimeSeconds=1).get("Messages", []):
            got.append(m["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return len(got) >= n

    assert h.wait_until(poll, timeout=timeout, interval=0), got
    return got


def test_a_rate_rule_sends_the_scheduled_event_every_minute(server):
    events = h.service_client(server.endpoint, "events")
    sqs = h.service_client(server.endpoint, "sqs")
    url, queue = queue_for(sqs, "tick-rule")
    rule = events.put_rule(Name="every-minute", ScheduleExpression="rate(1 minute)")["RuleArn"]
    events.put_targets(Rule="every-minute", Targets=[{"Id": "q", "Arn": queue}])
    [body] = drain(sqs, url, 1, timeout=90)
    event = json.loads(body)
    assert list(event) == ["version", "id", "detail-type", "source", "account", "time",
                           "region", "resources", "detail"]
    assert {k: v for k, v in event.items() if k not in ("id", "time")} == {
        "version": "0", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": A, "region": h.REGION, "resources": [rule], "detail": {}}
    # Disabled, it stops.
    events.disable_rule(Name="every-minute")
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5).get("Messages", []) == []
