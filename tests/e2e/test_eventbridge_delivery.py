"""PutEvents and delivery on Hearth's endpoint, driven by boto3's `events` client and the
AWS CLI: entries checked one by one, events matched against their bus's rules and
delivered at least once to Lambda functions (asynchronous invocations), SQS queues, SNS
topics and other buses, in the envelope AWS builds or shaped by the target's `Input`,
`InputPath` or `InputTransformer`; a delivery that a target's policy does not allow goes to
the target's dead-letter queue with AWS's attributes."""

import io
import json
import zipfile

import pytest

import hearth_e2e as h

answer, failure = h.answer, h.failure
neutral = pytest.mark.sandbox_neutral
A = h.ACCOUNT
EVENTS = f"arn:aws:events:{h.REGION}:{A}"

@pytest.fixture(scope="module")
def events(server):
    return h.service_client(server.endpoint, "events")


@pytest.fixture(scope="module")
def sqs(server):
    return h.service_client(server.endpoint, "sqs")


@pytest.fixture(scope="module")
def sns(server):
    return h.service_client(server.endpoint, "sns")


def queue_for_events(sqs, name, rule_arns):
    """A queue whose policy lets EventBridge send to it for the rules `rule_arns`."""
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage", "Resource": arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": rule_arns}}}]}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    return url, arn


def receive(sqs, url, n, timeout=30):
    """Waits for `n` messages, which are deleted; returns them."""
    got = []

    def poll():
        resp = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                   MessageAttributeNames=["All"])
        for m in resp.get("Messages", []):
            got.append(m)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return len(got) >= n

    assert h.wait_until(poll, timeout=timeout), got
    return got


def quiet(sqs, url):
    """Nothing more arrives (a second's long poll)."""
    return sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []


@neutral
def test_entries_are_answered_in_order_with_ids_or_errors(events):
    resp = answer(events.put_events(Entries=[
        {"Source": "shop", "DetailType": "Order", "Detail": json.dumps({"a": 1})},
        {"Source": "shop", "DetailType": "Order", "Detail": "[1]"},
        {"Source": "aws.s3", "DetailType": "Order", "Detail": "{}"},
        {"Source": "shop", "DetailType": "Order", "Detail": "{}", "EventBusName": "nope"},
        {"Source": "shop", "DetailType": "Order"},
    ]))
    ids = [e.get("EventId") for e in resp["Entries"]]
    assert ids[0] and len(ids[0]) == 36
    assert resp == {"FailedEntryCount": 4, "Entries": [
        {"EventId": ids[0]},
        {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."},
        {"ErrorCode": "NotAuthorizedForSourceException",
         "ErrorMessage": "Not authorized for the source."},
        {"ErrorCode": "ResourceNotFoundException",
         "ErrorMessage": "Event bus nope does not exist."},
        {"ErrorCode": "InvalidArgument",
         "ErrorMessage": "Parameter Detail is not valid. Reason: Detail is a required argument."},
    ], "ResponseMetadata": {"HTTPStatusCode": 200}}
    too_many = [{"Source": "s", "DetailType": "t", "Detail": "{}"}] * 11
    err = failure(events.put_events, Entries=too_many)
    assert err["Error"]["Code"] == "ValidationException"
    assert "Member must have length less than or equal to 10" in err["Error"]["Message"]


def test_a_function_receives_the_event_once_the_rule_may_invoke_it(server, client, events, sqs):
    name = h.unique_name("eb-fn")
    fn = h.create_function(client, name, zip_file=h.recorder_zip())["FunctionArn"]
    rule = events.put_rule(Name="to-fn", EventPattern=json.dumps(
        {"source": ["shop"], "detail": {"total": [{"numeric": [">", 100]}]}}))["RuleArn"]
    dlq_url, dlq = queue_for_events(sqs, "eb-fn-dlq", [rule])
    events.put_targets(Rule="to-fn", Targets=[{
        "Id": "fn", "Arn": fn, "DeadLetterConfig": {"Arn": dlq}}])
    # Without a permission for EventBridge the function is not invoked: the event goes
    # to the dead-letter queue at once, with why.
    denied = events.put_events(Entries=[{"Source": "shop", "DetailType": "Order Placed",
                                         "Detail": json.dumps({"total": 101})}])
    [dead] = receive(sqs, dlq_url, 1)
    event = json.loads(dead["Body"])
    assert event["id"] == denied["Entries"][0]["EventId"]
    attrs = {k: v["StringValue"] for k, v in dead["MessageAttributes"].items()}
    assert attrs["RULE_ARN"] == rule and attrs["TARGET_ARN"] == fn
    assert attrs["ERROR_CODE"] == "NO_PERMISSIONS" and attrs["RETRY_ATTEMPTS"] == "0"
    assert "EXHAUSTED_RETRY_CONDITION" not in attrs
    assert h.recorded(server, name) == []

    client.add_permission(FunctionName=name, StatementId="eb", Action="lambda:InvokeFunction",
                          Principal="events.amazonaws.com", SourceArn=rule)
    sent = events.put_events(Entries=[
        {"Source": "shop", "DetailType": "Order Placed", "Resources": ["arn:aws:x:::r"],
         "Detail": json.dumps({"total": 150, "items": ["a", "b"]})},
        {"Source": "shop", "DetailType": "Order Placed", "Detail": json.dumps({"total": 5})},
    ])
    assert sent["FailedEntryCount"] == 0
    assert h.wait_until(lambda: len(h.recorded(server, name)) >= 1, timeout=60)
    [got] = h.recorded(server, name)
    assert list(got) == ["version", "id", "detail-type", "source", "account", "time",
                         "region", "resources", "detail"]
    assert {k: v for k, v in got.items() if k != "time"} == {
        "version": "0", "id": sent["Entries"][0]["EventId"], "detail-type": "Order Placed",
        "source": "shop", "account": A, "region": h.REGION, "resources": ["arn:aws:x:::r"],
        "detail": {"total": 150, "items": ["a", "b"]}}
    assert got["time"].endswith("Z") and len(got["time"]) == 20
    assert quiet(sqs, dlq_url)


@neutral
def test_queue_targets_take_input_input_path_and_transformer(events, sqs):
    arn_of = lambda n: f"{EVENTS}:rule/{n}"  # noqa: E731
    url, queue = queue_for_events(sqs, "eb-shapes", [arn_of("shapes")])
    events.put_rule(Name="shapes", EventPattern=json.dumps({"detail-type": ["shape"]}))
    events.put_targets(Rule="shapes", Targets=[
        {"Id": "const", "Arn": queue, "Input": '{"fixed": true}'},
        {"Id": "path", "Arn": queue, "InputPath": "$.detail.user"},
        {"Id": "tmpl", "Arn": queue, "InputTransformer": {
            "InputPathsMap": {"name": "$.detail.user.name", "id": "$.id"},
            "InputTemplate": '{"who": <name>, "event": <id>, "rule": <aws.events.rule-name>}'}},
        {"Id": "text", "Arn": queue, "InputTransformer": {
            "InputPathsMap": {"name": "$.detail.user.name"},
            "InputTemplate": '"Hello <name>"'}},
    ])
    sent = events.put_events(Entries=[{"Source": "app", "DetailType": "shape",
                                       "Detail": json.dumps({"user": {"name": "ann", "n": 1}})}])
    event_id = sent["Entries"][0]["EventId"]
    bodies = sorted(m["Body"] for m in receive(sqs, url, 4))
    assert bodies == sorted([
        '{"fixed": true}',
        '{"name":"ann","n":1}',
        f'{{"who": "ann", "event": "{event_id}", "rule": "shapes"}}',
        '"Hello ann"',
    ])
    assert quiet(sqs, url)


@neutral
@pytest.mark.parametrize("pattern,matching,other", [
    ({"detail": {"state": [{"anything-but": ["done", "failed"]}]}},
     {"state": "running"}, {"state": "done"}),
    ({"detail": {"n": [{"numeric": [">=", 10, "<", 20]}]}}, {"n": 10}, {"n": 20}),
    ({"detail": {"tag": [{"exists": False}]}}, {"x": 1}, {"tag": "t"}),
    ({"detail": {"file": [{"suffix": ".png"}]}}, {"file": "a.png"}, {"file": "a.jpg"}),
    ({"detail": {"file": [{"wildcard": "img/*.png"}]}}, {"file": "img/a.png"},
     {"file": "doc/a.png"}),
    ({"detail": {"ip": [{"cidr": "10.0.0.0/24"}]}}, {"ip": "10.0.0.7"}, {"ip": "10.0.1.7"}),
    ({"detail": {"c": [{"equals-ignore-case": "RED"}]}}, {"c": "red"}, {"c": "blue"}),
    ({"detail": {"$or": [{"a": [1]}, {"b": [2]}]}}, {"b": 2}, {"a": 2}),
    ({"detail": {"items": {"kind": ["book"]}}}, {"items": [{"kind": "pen"}, {"kind": "book"}]},
     {"items": [{"kind": "pen"}]}),
], ids=["anything-but", "numeric", "exists", "suffix", "wildcard", "cidr", "ignore-case", "or",
        "arrays"])
def test_the_pattern_grammar_decides_delivery(events, sqs, request, pattern, matching, other):
    rule_name = "grammar-" + request.node.callspec.id
    kind = "grammar " + request.node.callspec.id
    rule = events.put_rule(Name=rule_name, EventPattern=json.dumps(
        {"detail-type": [kind], **pattern}))["RuleArn"]
    url, queue = queue_for_events(sqs, rule_name, [rule])
    events.put_targets(Rule=rule_name, Targets=[{"Id": "q", "Arn": queue,
                                                 "InputPath": "$.detail"}])
    events.put_events(Entries=[
        {"Source": "app", "DetailType": kind, "Detail": json.dumps(other)},
        {"Source": "app", "DetailType": kind, "Detail": json.dumps(matching)},
    ])
    [m] = receive(sqs, url, 1)
    assert json.loads(m["Body"]) == matching
    assert quiet(sqs, url)


@neutral
def test_a_topic_and_another_bus_deliver_onwards(events, sqs, sns):
    topic = sns.create_topic(Name="eb-topic")["TopicArn"]
    to_topic = events.put_rule(Name="to-topic", EventPattern=json.dumps(
        {"source": ["relay"]}))["RuleArn"]
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sns:Publish", "Resource": topic,
            "Condition": {"ArnEquals": {"aws:SourceArn": to_topic}}}]}))
    url, queue = queue_for_events(sqs, "eb-onwards", [f"{EVENTS}:rule/eb-second/on-second"])
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": ["events.amazonaws.com",
                                                         "sns.amazonaws.com"]},
            "Action": "sqs:SendMessage", "Resource": queue}]})})
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue,
                  Attributes={"RawMessageDelivery": "true"})
    events.put_targets(Rule="to-topic", Targets=[{"Id": "t", "Arn": topic}])
    # The default bus hands the event to a second bus, whose rule sends it to the queue.
    bus = events.create_event_bus(Name="eb-second")["EventBusArn"]
    events.put_rule(Name="to-bus", EventPattern=json.dumps({"source": ["relay"]}))
    events.put_targets(Rule="to-bus", Targets=[{"Id": "b", "Arn": bus}])
    events.put_rule(Name="on-second", EventBusName="eb-second",
                    EventPattern=json.dumps({"source": ["relay"]}))
    events.put_targets(Rule="on-second", EventBusName="eb-second",
                       Targets=[{"Id": "q", "Arn": queue}])
    sent = events.put_events(Entries=[{"Source": "relay", "DetailType": "t",
                                       "Detail": '{"hop": 1}'}])
    event_id = sent["Entries"][0]["EventId"]
    bodies = [json.loads(m["Body"]) for m in receive(sqs, url, 2)]
    # Both paths carry the same event: the topic's raw message and the second bus's.
    assert [b["id"] for b in bodies] == [event_id, event_id]
    assert all(b["detail"] == {"hop": 1} for b in bodies)
    assert quiet(sqs, url)


@neutral
def test_the_cli_puts_events(server, events, sqs, tmp_path):
    rule = events.put_rule(Name="from-cli", EventPattern=json.dumps(
        {"source": ["cli"]}))["RuleArn"]
    url, queue = queue_for_events(sqs, "eb-cli", [rule])
    events.put_targets(Rule="from-cli", Targets=[{"Id": "q", "Arn": queue}])
    entries = json.dumps([{"Source": "cli", "DetailType": "d", "Detail": '{"x": "y"}'}])
    out = h.run(h._aws_command() + ["events", "put-events", "--entries", entries,
                 "--endpoint-url", server.endpoint, "--output", "json"],
                env=h.aws_env(tmp_path, server.endpoint))
    resp = json.loads(out.stdout)
    assert resp["FailedEntryCount"] == 0
    [m] = receive(sqs, url, 1)
    assert json.loads(m["Body"])["id"] == resp["Entries"][0]["EventId"]


OUTCOME = """
def handler(event, context):
    if event.get("fail"):
        raise ValueError("asked to fail")
    return {"ok": event["n"]}
"""


def test_async_destinations_put_the_record_on_a_bus(server, client, events, sqs):
    role = "eb-destinations"
    h.allow_role(server.endpoint, ["events:PutEvents", "logs:*"], role=role)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", OUTCOME)
    name = h.unique_name("eb-dest")
    fn = h.create_function(client, name, zip_file=buf.getvalue(),
                           Role=f"arn:aws:iam::{A}:role/{role}")["FunctionArn"]
    bus = f"{EVENTS}:event-bus/default"
    client.put_function_event_invoke_config(
        FunctionName=name, MaximumRetryAttempts=0,
        DestinationConfig={"OnSuccess": {"Destination": bus}, "OnFailure": {"Destination": bus}})
    rule = events.put_rule(Name="lambda-results", EventPattern=json.dumps(
        {"source": ["lambda"], "resources": [{"prefix": fn}]}))["RuleArn"]
    url, queue = queue_for_events(sqs, "eb-results", [rule])
    events.put_targets(Rule="lambda-results", Targets=[{"Id": "q", "Arn": queue}])
    client.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"n": 7}))
    client.invoke(FunctionName=name, InvocationType="Event",
                  Payload=json.dumps({"n": 8, "fail": True}))
    got = {json.loads(m["Body"])["detail-type"]: json.loads(m["Body"])
           for m in receive(sqs, url, 2, timeout=60)}
    ok = got["Lambda Function Invocation Result - Success"]
    failed = got["Lambda Function Invocation Result - Failure"]
    for event in (ok, failed):
        assert list(event) == ["version", "id", "detail-type", "source", "account", "time",
                               "region", "resources", "detail"]
        assert (event["source"], event["account"]) == ("lambda", A)
        assert event["resources"] == [bus, f"{fn}:$LATEST"]
    assert ok["detail"]["requestPayload"] == {"n": 7}
    assert ok["detail"]["responsePayload"] == {"ok": 7}
    assert ok["detail"]["requestContext"]["condition"] == "Success"
    assert failed["detail"]["requestPayload"] == {"n": 8, "fail": True}
    assert failed["detail"]["requestContext"]["condition"] == "RetriesExhausted"
    assert failed["detail"]["responsePayload"]["errorMessage"] == "asked to fail"
