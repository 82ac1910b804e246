"""EventBridge and EventBridge Scheduler driven by the AWS SDK for JavaScript v3
(@aws-sdk/client-eventbridge over AWS JSON 1.1, @aws-sdk/client-scheduler over REST-JSON;
the flow is tests/e2e/js/events.mjs), which prints one JSON line per call, compared whole
with what AWS answers: a bus, a rule with a pattern and its queue target, PutEvents with a
matching, a non-matching and a malformed entry, TestEventPattern both ways; a schedule
group and a `rate(1 minute)` schedule into a queue, read back field by field with the
defaults AWS fills in, listed, deleted, and then missing as the SDK types the error (and
a rule on the deleted bus likewise).
The queues are made and read here with boto3: the rule's queue receives exactly the
matching event in AWS's envelope, the schedule's queue the schedule's Input."""

import datetime
import json
import re

import pytest

import hearth_e2e as h

pytestmark = pytest.mark.sandbox_neutral

JS_PACKAGES = {"@aws-sdk/client-eventbridge": "3.1178.0",
               "@aws-sdk/client-scheduler": "3.1178.0"}

A = h.ACCOUNT
EVENTS = f"arn:aws:events:{h.REGION}:{A}"
SCHEDULER = f"arn:aws:scheduler:{h.REGION}:{A}"
SCHEDULE_ROLE = f"arn:aws:iam::{A}:role/hearth-scheduler"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ENVELOPE = ["version", "id", "detail-type", "source", "account", "time", "region",
            "resources", "detail"]


@pytest.fixture(scope="module")
def js_sdk():
    return h.npm_packages(JS_PACKAGES)


@pytest.fixture(scope="module")
def sqs(server):
    return h.service_client(server.endpoint, "sqs")


class Masks:
    """Stands in for what differs from run to run, after checking its form: ids become
    `<id1>`, `<id2>`... in order of first appearance, so the same id stays the same token
    wherever it appears (an event put, then received); the SDK's parsed dates `<time>`."""

    def __init__(self):
        self.ids: dict = {}

    def _id(self, m) -> str:
        return self.ids.setdefault(m.group(0), f"<id{len(self.ids) + 1}>")

    def value(self, key, v):
        if isinstance(v, dict):
            return {k: self.value(k, x) for k, x in v.items()}
        if isinstance(v, list):
            return [self.value(key, x) for x in v]
        if not isinstance(v, str):
            return v
        if key in ("CreationDate", "LastModificationDate"):
            # A Date the SDK parsed, printed by JSON.stringify.
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", v), v
            return "<time>"
        return re.sub(UUID, self._id, v)


def run_step(server, tmp_path, masks, prefix, step, *args) -> list:
    env = h.aws_env(tmp_path, server.endpoint)
    env.update(AWS_REGION=h.REGION)
    out = h.run(["node", h.js_script("events.mjs"), server.endpoint, prefix, step, *args],
                env=env, timeout=120)
    return [masks.value(None, json.loads(line)) for line in out.stdout.splitlines()]


def check(got: list, want: list):
    want = [{"op": op, **fields} for op, fields in want] + [{"op": "Done"}]
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, f"line {i + 1} ({w['op']})"
    assert len(got) == len(want), [g["op"] for g in got]


def queue(sqs, name, policy_for=None):
    """A queue (with a policy letting EventBridge send to it for the rule `policy_for`);
    its URL and ARN."""
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    if policy_for:
        policy = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage", "Resource": arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": policy_for}}}]}
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    return url, arn


def receive(sqs, url, n, timeout):
    """Waits for `n` messages, deleting them; then a two-second long poll finds nothing
    more. Their bodies."""
    got = []

    def poll():
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                     WaitTimeSeconds=1).get("Messages", []):
            got.append(m["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return len(got) >= n

    assert h.wait_until(poll, timeout=timeout, interval=0), got
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2).get("Messages", []) == []
    return got


def test_the_js_sdk_v3_puts_events_and_schedules(server, js_sdk, sqs, tmp_path):
    prefix = h.unique_name("js")
    bus, rule = f"{prefix}-bus", f"{prefix}-orders"
    group, schedule = f"{prefix}-group", f"{prefix}-tick"
    rule_arn = f"{EVENTS}:rule/{bus}/{rule}"
    events_url, events_queue = queue(sqs, f"{prefix}-events", policy_for=rule_arn)
    sched_url, sched_queue = queue(sqs, f"{prefix}-sched")
    masks = Masks()

    # --- EventBridge ---------------------------------------------------------------------
    got = run_step(server, tmp_path, masks, prefix, "events", events_queue)
    no_failures = {"FailedEntryCount": 0, "FailedEntries": []}
    check(got, [
        ("CreateEventBus", {"EventBusArn": f"{EVENTS}:event-bus/{bus}"}),
        ("PutRule", {"RuleArn": rule_arn}),
        ("PutTargets", no_failures),
        ("ListTargetsByRule", {"Targets": [{"Id": "queue", "Arn": events_queue}]}),
        ("PutEvents", {"FailedEntryCount": 1, "Entries": [
            {"EventId": "<id1>"}, {"EventId": "<id2>"},
            {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}]}),
        ("TestEventPattern", {"Result": True}),
        ("TestEventPattern", {"Result": False}),
    ])
    [event_id] = [i for i, token in masks.ids.items() if token == "<id1>"]
    [body] = receive(sqs, events_url, 1, timeout=30)
    event = json.loads(body)
    assert list(event) == ENVELOPE
    assert datetime.datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ")
    assert {**event, "time": "<time>"} == {
        "version": "0", "id": event_id, "detail-type": "Order Placed", "source": "shop",
        "account": A, "time": "<time>", "region": h.REGION,
        "resources": ["arn:aws:shop:::order/1"], "detail": {"total": 150, "items": ["a", "ü"]}}

    # --- EventBridge Scheduler -----------------------------------------------------------
    got = run_step(server, tmp_path, masks, prefix, "schedule", sched_queue)
    schedule_arn = f"{SCHEDULER}:schedule/{group}/{schedule}"
    input_ = json.dumps({"hello": "from the scheduler ✓"}, separators=(",", ":"),
                        ensure_ascii=False)
    target = {"Arn": sched_queue, "RoleArn": SCHEDULE_ROLE, "Input": input_}
    sent = {"Name": schedule, "GroupName": group, "ScheduleExpression": "rate(1 minute)",
            "Description": "every minute", "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": target}
    assert got[2]["op"] == "GetSchedule" and got[2]["Sent"] == sent
    check(got, [
        ("CreateScheduleGroup", {"ScheduleGroupArn": f"{SCHEDULER}:schedule-group/{group}"}),
        ("CreateSchedule", {"ScheduleArn": schedule_arn}),
        # Everything sent comes back, with the defaults AWS fills in.
        ("GetSchedule", {"Sent": sent, "Got": {
            **sent, "Arn": schedule_arn, "State": "ENABLED", "ActionAfterCompletion": "NONE",
            "ScheduleExpressionTimezone": "UTC",
            "CreationDate": "<time>", "LastModificationDate": "<time>",
            "Target": {**target, "RetryPolicy": {"MaximumEventAgeInSeconds": 86400,
                                                 "MaximumRetryAttempts": 185}}}}),
        ("ListSchedules", {"Schedules": [{
            "Arn": schedule_arn, "CreationDate": "<time>", "GroupName": group,
            "LastModificationDate": "<time>", "Name": schedule, "State": "ENABLED",
            "Target": {"Arn": sched_queue}}]}),
    ])
    # A rate without a StartDate fires at once.
    assert receive(sqs, sched_url, 1, timeout=30) == [input_]

    # --- Both deleted; the schedule then missing -----------------------------------------
    got = run_step(server, tmp_path, masks, prefix, "teardown")
    missing = f"Schedule {schedule} does not exist."
    check(got, [
        ("DeleteSchedule", {"status": 200}),
        ("GetSchedule", {"error": {"name": "ResourceNotFoundException", "fault": "client",
                                   "status": 404, "message": missing}}),
        ("DeleteScheduleGroup", {}),
        ("RemoveTargets", no_failures),
        ("DeleteRule", {}),
        # AWS JSON 1.1's error (`__type`), every client error a 400 in EventBridge.
        ("PutRule", {"error": {"name": "ResourceNotFoundException", "fault": "client",
                               "status": 400, "message": f"Event bus {bus} does not exist."}}),
    ])
    for url in (events_url, sched_url):
        sqs.delete_queue(QueueUrl=url)
