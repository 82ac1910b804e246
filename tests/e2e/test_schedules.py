"""Schedules firing on a real clock against a running server: a scheduled rule's
`rate(1 minute)` delivering AWS's `Scheduled Event`, and EventBridge Scheduler's schedules
(at/rate/cron, their inputs and targets, `ActionAfterCompletion`), each slot exactly once
across a `kill -9` of the server. Timing itself (how close to its slot a schedule fires)
is measured by `hearth-bench`, not asserted here."""

import datetime
import json
import time


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


SCHEDULE_ROLE = f"arn:aws:iam::{A}:role/hearth-scheduler"
OFF = {"Mode": "OFF"}

def at(t: float) -> str:
    """`at(...)` of the epoch time `t`, in UTC."""
    return "at(" + datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S") + ")"


def test_a_schedule_invokes_a_function_with_its_input_and_role(server, client):
    sched = h.service_client(server.endpoint, "scheduler")
    name = h.unique_name("sched-fn")
    fn = h.create_function(client, name, zip_file=h.recorder_zip())["FunctionArn"]
    # A role that does not trust the Scheduler (the functions' own) invokes nothing.
    sched.create_schedule(Name="untrusted", ScheduleExpression="rate(1 minute)",
                          FlexibleTimeWindow=OFF, Target={
                              "Arn": fn, "RoleArn": h.ROLE,
                              "Input": '{"from": "untrusted"}'})
    arn = sched.create_schedule(
        Name="every-minute", ScheduleExpression="rate(1 minute)", FlexibleTimeWindow=OFF,
        Target={"Arn": fn, "RoleArn": SCHEDULE_ROLE, "Input": json.dumps(
            {"schedule": "<aws.scheduler.schedule-arn>",
             "at": "<aws.scheduler.scheduled-time>"})})["ScheduleArn"]
    # A rate without a StartDate starts at once.
    assert h.wait_until(lambda: h.recorded(server, name), timeout=30)
    [event] = h.recorded(server, name)
    assert event["schedule"] == arn
    assert datetime.datetime.strptime(event["at"], "%Y-%m-%dT%H:%M:%SZ")
    time.sleep(2)
    assert [e for e in h.recorded(server, name) if e.get("from") == "untrusted"] == []
    sched.delete_schedule(Name="untrusted")
    sched.delete_schedule(Name="every-minute")


def test_one_time_schedules_fire_once_and_delete_themselves(server):
    sched = h.service_client(server.endpoint, "scheduler")
    sqs = h.service_client(server.endpoint, "sqs")
    url, queue = queue_for(sqs, "sched-once")
    start = time.time() + 3
    for i, action in enumerate(["DELETE", "DELETE", "NONE"]):
        sched.create_schedule(Name=f"once-{i}", ScheduleExpression=at(start + i),
                              FlexibleTimeWindow=OFF, ActionAfterCompletion=action,
                              Target={"Arn": queue, "RoleArn": SCHEDULE_ROLE,
                                      "Input": json.dumps({"n": i})})
    bodies = drain(sqs, url, 3, timeout=30)
    assert sorted(json.loads(b)["n"] for b in bodies) == [0, 1, 2]

    def gone(name):
        try:
            sched.get_schedule(Name=name)
            return False
        except sched.exceptions.ResourceNotFoundException:
            return True

    assert h.wait_until(lambda: gone("once-0") and gone("once-1"), timeout=10)
    assert sched.get_schedule(Name="once-2")["ActionAfterCompletion"] == "NONE"
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2).get("Messages", []) == []


def test_a_schedule_puts_its_event_on_a_bus(server):
    sched = h.service_client(server.endpoint, "scheduler")
    events = h.service_client(server.endpoint, "events")
    sqs = h.service_client(server.endpoint, "sqs")
    url, queue = queue_for(sqs, "sched-bus")
    events.put_rule(Name="from-scheduler", EventPattern=json.dumps({"source": ["my.cron"]}))
    events.put_targets(Rule="from-scheduler", Targets=[{"Id": "q", "Arn": queue}])
    arn = sched.create_schedule(
        Name="to-bus", ScheduleExpression=at(time.time() + 2), FlexibleTimeWindow=OFF,
        Target={"Arn": f"{EVENTS}:event-bus/default", "RoleArn": SCHEDULE_ROLE,
                "Input": '{"job": "nightly"}',
                "EventBridgeParameters": {"DetailType": "Cron Tick", "Source": "my.cron"}},
    )["ScheduleArn"]
    [body] = drain(sqs, url, 1, timeout=30)
    event = json.loads(body)
    assert (event["source"], event["detail-type"], event["detail"], event["resources"]) == \
        ("my.cron", "Cron Tick", {"job": "nightly"}, [arn])


def test_each_slot_fires_exactly_once_across_a_kill(own_server):
    """Twenty one-time schedules a second apart; the server is killed (SIGKILL) in the
    middle and started again: each fires once, those due while it was down late."""
    sched = h.service_client(own_server.endpoint, "scheduler")
    sqs = h.service_client(own_server.endpoint, "sqs")
    url, queue = queue_for(sqs, "sched-kill")
    start = int(time.time()) + 4
    for i in range(20):
        sched.create_schedule(Name=f"k-{i}", ScheduleExpression=at(start + i),
                              FlexibleTimeWindow=OFF,
                              Target={"Arn": queue, "RoleArn": SCHEDULE_ROLE,
                                      "Input": json.dumps({"n": i})})
    time.sleep(max(0.0, start + 8 - time.time()))
    port = own_server.port
    own_server.kill()
    time.sleep(2)
    own_server.start(port=port)
    sqs = h.service_client(own_server.endpoint, "sqs")
    bodies = drain(sqs, url, 20, timeout=90)
    assert sorted(json.loads(b)["n"] for b in bodies) == list(range(20))
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=3).get("Messages", []) == []
