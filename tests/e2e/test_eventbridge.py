"""EventBridge's control plane on Hearth's endpoint, driven by boto3's `events` client and
the AWS CLI: buses (the `default` one always there), rules, targets, tags and
TestEventPattern, every answer compared whole (minus ResponseMetadata's request id) with
the shapes of botocore's `events` model and AWS's messages (docs/eventbridge.md says where
each was read and which are unsure). PutEvents and delivery are in
test_eventbridge_delivery.py."""

import json

import boto3
import pytest
from botocore.config import Config

import hearth_e2e as h

answer, failure = h.answer, h.failure
neutral = pytest.mark.sandbox_neutral
A = h.ACCOUNT
EVENTS = f"arn:aws:events:{h.REGION}:{A}"
QUEUE = f"arn:aws:sqs:{h.REGION}:{A}:q"
TOPIC = f"arn:aws:sns:{h.REGION}:{A}:t"
FUNCTION = f"arn:aws:lambda:{h.REGION}:{A}:function:f"
PATTERN = json.dumps({"source": ["orders"]})
OK = {"ResponseMetadata": {"HTTPStatusCode": 200}}


def events_client(endpoint, validate=True):
    return h.service_client(endpoint, "events", validate)


@pytest.fixture(scope="module")
def events(server):
    return events_client(server.endpoint)


@pytest.fixture(scope="module")
def raw_events(server):
    return events_client(server.endpoint, validate=False)


def error(code, message, status=400):
    return {"Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status}}


def ok(**body):
    return {**body, **OK}


def no_times(bus):
    """A bus without its timestamps, which are checked apart."""
    return {k: v for k, v in bus.items() if k not in ("CreationTime", "LastModifiedTime")}


@neutral
def test_the_default_bus_is_always_there_and_cannot_be_deleted(events):
    described = answer(events.describe_event_bus())
    assert set(described) == {"Name", "Arn", "CreationTime", "LastModifiedTime",
                              "ResponseMetadata"}
    assert no_times(described) == ok(Name="default", Arn=f"{EVENTS}:event-bus/default")
    assert described["CreationTime"] == described["LastModifiedTime"]
    assert answer(events.describe_event_bus(Name="default")) == described
    assert failure(events.delete_event_bus, Name="default") == \
        error("ValidationException", "Cannot delete event bus default.")
    assert failure(events.create_event_bus, Name="default") == \
        error("ResourceAlreadyExistsException", "Event bus default already exists.")


@neutral
def test_buses_are_created_described_listed_in_pages_and_deleted(events):
    made = [answer(events.create_event_bus(Name=f"eb-page-{i}", Description=f"d{i}",
                                           Tags=[{"Key": "k", "Value": str(i)}]))
            for i in range(3)]
    assert made == [ok(EventBusArn=f"{EVENTS}:event-bus/eb-page-{i}", Description=f"d{i}")
                    for i in range(3)]
    assert failure(events.create_event_bus, Name="eb-page-0") == \
        error("ResourceAlreadyExistsException", "Event bus eb-page-0 already exists.")
    assert no_times(answer(events.describe_event_bus(Name="eb-page-1"))) == \
        ok(Name="eb-page-1", Arn=f"{EVENTS}:event-bus/eb-page-1", Description="d1")
    by_arn = events.describe_event_bus(Name=f"{EVENTS}:event-bus/eb-page-1")
    assert by_arn["Name"] == "eb-page-1"
    first = events.list_event_buses(NamePrefix="eb-page-", Limit=2)
    assert [no_times(b) for b in first["EventBuses"]] == [
        {"Name": f"eb-page-{i}", "Arn": f"{EVENTS}:event-bus/eb-page-{i}", "Description": f"d{i}"}
        for i in range(2)]
    second = answer(events.list_event_buses(NamePrefix="eb-page-", Limit=2,
                                            NextToken=first["NextToken"]))
    assert [no_times(b) for b in second.pop("EventBuses")] == [
        {"Name": "eb-page-2", "Arn": f"{EVENTS}:event-bus/eb-page-2", "Description": "d2"}]
    assert second == OK
    everything = [b["Name"] for b in events.list_event_buses()["EventBuses"]]
    assert "default" in everything and everything == sorted(everything)
    assert answer(events.list_tags_for_resource(ResourceARN=f"{EVENTS}:event-bus/eb-page-2")) \
        == ok(Tags=[{"Key": "k", "Value": "2"}])
    assert answer(events.delete_event_bus(Name="eb-page-0")) == OK
    # Deleting a bus that is not there succeeds, as AWS.
    assert answer(events.delete_event_bus(Name="eb-page-0")) == OK
    assert failure(events.describe_event_bus, Name="eb-page-0") == \
        error("ResourceNotFoundException", "Event bus eb-page-0 does not exist.")
    assert failure(events.create_event_bus, Name="a/b") == \
        error("ValidationException", "Event bus name must not contain '/'.")


@neutral
def test_rules_are_put_described_replaced_enabled_and_listed(events):
    arn = answer(events.put_rule(Name="r-basic", EventPattern=PATTERN, Description="first",
                                 Tags=[{"Key": "team", "Value": "a"}]))
    assert arn == ok(RuleArn=f"{EVENTS}:rule/r-basic")
    assert answer(events.describe_rule(Name="r-basic")) == ok(
        Name="r-basic", Arn=f"{EVENTS}:rule/r-basic", EventPattern=PATTERN, State="ENABLED",
        Description="first", EventBusName="default", CreatedBy=A)
    # PutRule on an existing rule replaces its settings.
    assert answer(events.put_rule(Name="r-basic", ScheduleExpression="rate(5 minutes)",
                                  State="DISABLED", RoleArn=f"arn:aws:iam::{A}:role/r")) == arn
    assert answer(events.describe_rule(Name="r-basic")) == ok(
        Name="r-basic", Arn=f"{EVENTS}:rule/r-basic", ScheduleExpression="rate(5 minutes)",
        State="DISABLED", RoleArn=f"arn:aws:iam::{A}:role/r", EventBusName="default",
        CreatedBy=A)
    assert answer(events.enable_rule(Name="r-basic")) == OK
    assert events.describe_rule(Name="r-basic")["State"] == "ENABLED"
    assert answer(events.disable_rule(Name="r-basic")) == OK
    assert events.describe_rule(Name="r-basic")["State"] == "DISABLED"
    assert answer(events.list_tags_for_resource(ResourceARN=arn["RuleArn"])) == \
        ok(Tags=[{"Key": "team", "Value": "a"}])

    events.create_event_bus(Name="eb-rules")
    on_bus = answer(events.put_rule(Name="r-bus", EventPattern=PATTERN, EventBusName="eb-rules"))
    assert on_bus == ok(RuleArn=f"{EVENTS}:rule/eb-rules/r-bus")
    assert answer(events.describe_rule(Name="r-bus", EventBusName=f"{EVENTS}:event-bus/eb-rules")) \
        == ok(Name="r-bus", Arn=f"{EVENTS}:rule/eb-rules/r-bus", EventPattern=PATTERN,
              State="ENABLED", EventBusName="eb-rules", CreatedBy=A)
    for i in range(3):
        events.put_rule(Name=f"r-page-{i}", EventPattern=PATTERN, EventBusName="eb-rules")
    first = answer(events.list_rules(EventBusName="eb-rules", NamePrefix="r-page-", Limit=2))
    assert first == ok(Rules=[
        {"Name": f"r-page-{i}", "Arn": f"{EVENTS}:rule/eb-rules/r-page-{i}",
         "EventPattern": PATTERN, "State": "ENABLED", "EventBusName": "eb-rules"}
        for i in range(2)], NextToken=first["NextToken"])
    second = answer(events.list_rules(EventBusName="eb-rules", NamePrefix="r-page-", Limit=2,
                                      NextToken=first["NextToken"]))
    assert second == ok(Rules=[
        {"Name": "r-page-2", "Arn": f"{EVENTS}:rule/eb-rules/r-page-2",
         "EventPattern": PATTERN, "State": "ENABLED", "EventBusName": "eb-rules"}])
    # Deleting a bus deletes its rules.
    events.delete_event_bus(Name="eb-rules")
    assert failure(events.list_rules, EventBusName="eb-rules") == \
        error("ResourceNotFoundException", "Event bus eb-rules does not exist.")


@neutral
def test_rules_are_refused_as_aws_refuses_them(events, raw_events):
    assert failure(events.put_rule, Name="r-bad") == error(
        "ValidationException", "Parameter(s) EventPattern or ScheduleExpression must be specified.")
    bad = failure(events.put_rule, Name="r-bad", EventPattern=json.dumps({"source": "orders"}))
    assert bad["Error"]["Code"] == "InvalidEventPatternException"
    assert bad["Error"]["Message"].startswith("Event pattern is not valid. Reason: ")
    assert failure(events.put_rule, Name="r-bad", ScheduleExpression="rate(0 minutes)") == \
        error("ValidationException", "Parameter ScheduleExpression is not valid.")
    # Both day fields given: one of them must be `?`.
    assert failure(events.put_rule, Name="r-bad", ScheduleExpression="cron(0 10 * * * *)") == \
        error("ValidationException", "Parameter ScheduleExpression is not valid.")
    events.create_event_bus(Name="eb-sched")
    assert failure(events.put_rule, Name="r-bad", ScheduleExpression="rate(5 minutes)",
                   EventBusName="eb-sched") == error(
        "ValidationException", "ScheduleExpression is supported only on the default event bus.")
    assert failure(events.put_rule, Name="r-bad", EventPattern=PATTERN, EventBusName="nope") == \
        error("ResourceNotFoundException", "Event bus nope does not exist.")
    assert failure(raw_events.put_rule, Name="a b", EventPattern=PATTERN) == error(
        "ValidationException", "1 validation error detected: Value 'a b' at 'name' failed to "
        "satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+")
    assert failure(raw_events.put_rule, Name="r-bad", EventPattern=PATTERN, State="ON") == error(
        "ValidationException", "1 validation error detected: Value 'ON' at 'state' failed to "
        "satisfy constraint: Member must satisfy enum value set: "
        "[ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]")
    assert failure(raw_events.describe_rule) == error(
        "ValidationException", "1 validation error detected: Value null at 'name' failed to "
        "satisfy constraint: Member must not be null")
    for call in (events.describe_rule, events.enable_rule, events.disable_rule):
        assert failure(call, Name="r-missing") == error(
            "ResourceNotFoundException", "Rule r-missing does not exist on EventBus default.")
    # Deleting a rule that is not there succeeds, as AWS.
    assert answer(events.delete_rule(Name="r-missing")) == OK


@neutral
def test_targets_are_put_listed_removed_and_hold_the_rule(events, raw_events):
    events.put_rule(Name="r-targets", EventPattern=PATTERN)
    put = answer(events.put_targets(Rule="r-targets", Targets=[
        {"Id": "fn", "Arn": FUNCTION, "Input": '{"a": 1}'},
        {"Id": "q", "Arn": QUEUE, "InputPath": "$.detail",
         "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600},
         "DeadLetterConfig": {"Arn": f"arn:aws:sqs:{h.REGION}:{A}:dlq"}},
        {"Id": "kin", "Arn": f"arn:aws:kinesis:{h.REGION}:{A}:stream/s"},
    ]))
    assert put == ok(FailedEntryCount=1, FailedEntries=[{
        "TargetId": "kin", "ErrorCode": "ValidationException",
        "ErrorMessage": "Hearth delivers to Lambda functions, SQS queues, SNS topics and event "
                        f"buses only; arn:aws:kinesis:{h.REGION}:{A}:stream/s is none of them."}])
    # The same Id replaces the target.
    assert answer(events.put_targets(Rule="r-targets", Targets=[
        {"Id": "fn", "Arn": TOPIC, "InputTransformer": {
            "InputPathsMap": {"src": "$.source"}, "InputTemplate": '{"from": <src>}'}}])) == \
        ok(FailedEntryCount=0, FailedEntries=[])
    fn_target = {"Id": "fn", "Arn": TOPIC, "InputTransformer": {
        "InputPathsMap": {"src": "$.source"}, "InputTemplate": '{"from": <src>}'}}
    q_target = {"Id": "q", "Arn": QUEUE, "InputPath": "$.detail",
                "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600},
                "DeadLetterConfig": {"Arn": f"arn:aws:sqs:{h.REGION}:{A}:dlq"}}
    assert answer(events.list_targets_by_rule(Rule="r-targets")) == ok(Targets=[fn_target, q_target])
    first = answer(events.list_targets_by_rule(Rule="r-targets", Limit=1))
    assert first == ok(Targets=[fn_target], NextToken=first["NextToken"])
    assert answer(events.list_targets_by_rule(Rule="r-targets", Limit=1,
                                              NextToken=first["NextToken"])) == ok(Targets=[q_target])
    assert answer(events.list_rule_names_by_target(TargetArn=QUEUE)) == ok(RuleNames=["r-targets"])
    assert answer(events.list_rule_names_by_target(TargetArn=FUNCTION)) == ok(RuleNames=[])

    # Refusals of the whole request.
    assert failure(events.put_targets, Rule="r-targets", Targets=[
        {"Id": "x", "Arn": QUEUE, "Input": "{}", "InputPath": "$.detail"}]) == error(
        "ValidationException", "Only one of Input, InputPath, or InputTransformer must be "
        "provided for target x.")
    assert failure(events.put_targets, Rule="r-targets", Targets=[
        {"Id": "x", "Arn": QUEUE, "InputTransformer": {"InputTemplate": "<nope>"}}]) == error(
        "ValidationException", "InputTemplate for target x contains invalid placeholder nope.")
    assert failure(raw_events.put_targets, Rule="r-targets", Targets=[
        {"Id": "x", "Arn": QUEUE, "RetryPolicy": {"MaximumRetryAttempts": 186}}]) == error(
        "ValidationException", "1 validation error detected: Value '186' at "
        "'targets.1.member.retryPolicy.maximumRetryAttempts' failed to satisfy constraint: "
        "Member must have value less than or equal to 185")
    assert failure(events.put_targets, Rule="r-targets", Targets=[
        {"Id": f"t{i}", "Arn": QUEUE} for i in range(4)]) == error(
        "LimitExceededException", "The requested resource exceeds the maximum number allowed.")
    assert failure(events.put_targets, Rule="r-missing", Targets=[{"Id": "x", "Arn": QUEUE}]) == \
        error("ResourceNotFoundException", "Rule r-missing does not exist on EventBus default.")

    # DeleteRule is refused while targets remain, then forced.
    assert failure(events.delete_rule, Name="r-targets") == \
        error("ValidationException", "Rule can't be deleted since it has targets.")
    removed = answer(events.remove_targets(Rule="r-targets", Ids=["fn", "ghost"]))
    assert removed == ok(FailedEntryCount=1, FailedEntries=[{
        "TargetId": "ghost", "ErrorCode": "ResourceNotFoundException",
        "ErrorMessage": "Target ghost does not exist on rule r-targets."}])
    assert answer(events.list_targets_by_rule(Rule="r-targets")) == ok(Targets=[q_target])
    assert failure(events.delete_rule, Name="r-targets") == \
        error("ValidationException", "Rule can't be deleted since it has targets.")
    assert answer(events.delete_rule(Name="r-targets", Force=True)) == OK
    assert failure(events.describe_rule, Name="r-targets") == error(
        "ResourceNotFoundException", "Rule r-targets does not exist on EventBus default.")


@neutral
def test_tags_are_added_replaced_and_removed(events):
    arn = events.put_rule(Name="r-tags", EventPattern=PATTERN)["RuleArn"]
    assert answer(events.tag_resource(ResourceARN=arn, Tags=[
        {"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])) == OK
    assert answer(events.tag_resource(ResourceARN=arn, Tags=[{"Key": "a", "Value": "3"}])) == OK
    assert answer(events.list_tags_for_resource(ResourceARN=arn)) == \
        ok(Tags=[{"Key": "a", "Value": "3"}, {"Key": "b", "Value": "2"}])
    assert answer(events.untag_resource(ResourceARN=arn, TagKeys=["a"])) == OK
    assert answer(events.list_tags_for_resource(ResourceARN=arn)) == \
        ok(Tags=[{"Key": "b", "Value": "2"}])
    assert failure(events.list_tags_for_resource, ResourceARN=f"{EVENTS}:rule/r-ghost") == error(
        "ResourceNotFoundException", "Rule r-ghost does not exist on EventBus default.")


EVENT = {"id": "1", "account": A, "source": "orders", "time": "2026-01-01T00:00:00Z",
         "region": h.REGION, "resources": [], "detail-type": "created", "detail": {"n": 1}}


@neutral
def test_test_event_pattern_answers_true_false_or_refuses(events):
    assert answer(events.test_event_pattern(EventPattern=PATTERN, Event=json.dumps(EVENT))) == \
        ok(Result=True)
    other = json.dumps({"source": ["shipping"]})
    assert answer(events.test_event_pattern(EventPattern=other, Event=json.dumps(EVENT))) == \
        ok(Result=False)
    bad = failure(events.test_event_pattern, EventPattern='{"source": "x"}', Event=json.dumps(EVENT))
    assert bad["Error"]["Code"] == "InvalidEventPatternException"
    assert bad["Error"]["Message"].startswith("Event pattern is not valid. Reason: ")
    lacking = {k: v for k, v in EVENT.items() if k != "region"}
    assert failure(events.test_event_pattern, EventPattern=PATTERN, Event=json.dumps(lacking)) == \
        error("ValidationException", "Parameter Event is not valid.")


def test_rules_targets_and_buses_survive_a_restart(own_server):
    events = events_client(own_server.endpoint)
    events.create_event_bus(Name="eb-kept", Tags=[{"Key": "k", "Value": "v"}])
    events.put_rule(Name="r-kept", EventPattern=PATTERN, EventBusName="eb-kept",
                    Description="kept")
    events.put_targets(Rule="r-kept", EventBusName="eb-kept",
                       Targets=[{"Id": "q", "Arn": QUEUE, "Input": "{}"}])
    default_bus = answer(events.describe_event_bus())
    bus = answer(events.describe_event_bus(Name="eb-kept"))
    rule = answer(events.describe_rule(Name="r-kept", EventBusName="eb-kept"))
    targets = answer(events.list_targets_by_rule(Rule="r-kept", EventBusName="eb-kept"))
    own_server.restart()
    events = events_client(own_server.endpoint)
    assert answer(events.describe_event_bus()) == default_bus
    assert answer(events.describe_event_bus(Name="eb-kept")) == bus
    assert answer(events.describe_rule(Name="r-kept", EventBusName="eb-kept")) == rule
    assert answer(events.list_targets_by_rule(Rule="r-kept", EventBusName="eb-kept")) == targets
    assert answer(events.list_tags_for_resource(ResourceARN=f"{EVENTS}:event-bus/eb-kept")) == \
        ok(Tags=[{"Key": "k", "Value": "v"}])


@neutral
def test_the_aws_cli(server, tmp_path):
    env = h.aws_env(tmp_path, server.endpoint)

    def aws(*args):
        out = h.run(h._aws_command() + ["events", *args, "--endpoint-url", server.endpoint,
                                        "--region", h.REGION, "--output", "json"], env=env)
        return json.loads(out.stdout) if out.stdout.strip() else None

    assert aws("put-rule", "--name", "cli-rule", "--event-pattern", PATTERN) == \
        {"RuleArn": f"{EVENTS}:rule/cli-rule"}
    assert aws("put-targets", "--rule", "cli-rule", "--targets",
               json.dumps([{"Id": "q", "Arn": QUEUE}])) == \
        {"FailedEntryCount": 0, "FailedEntries": []}
    assert aws("list-targets-by-rule", "--rule", "cli-rule") == {"Targets": [{"Id": "q", "Arn": QUEUE}]}
    assert aws("describe-rule", "--name", "cli-rule") == {
        "Name": "cli-rule", "Arn": f"{EVENTS}:rule/cli-rule", "EventPattern": PATTERN,
        "State": "ENABLED", "EventBusName": "default", "CreatedBy": A}
    assert aws("delete-rule", "--name", "cli-rule", "--force") is None


@neutral
def test_each_operation_is_authorised_as_its_action_on_its_rule_or_bus(server, events, tmp_path):
    key = h.user_key(server, tmp_path, A, "rules-reader", [
        {"Effect": "Allow", "Action": ["events:DescribeRule", "events:ListRules"],
         "Resource": f"{EVENTS}:rule/r-auth"},
        {"Effect": "Allow", "Action": "events:ListRules", "Resource": "*"}])
    reader = boto3.session.Session().client(
        "events", region_name=h.REGION, endpoint_url=server.endpoint,
        aws_access_key_id=key[0], aws_secret_access_key=key[1],
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
    events.put_rule(Name="r-auth", EventPattern=PATTERN)
    events.put_rule(Name="r-auth-other", EventPattern=PATTERN)
    assert reader.describe_rule(Name="r-auth")["Name"] == "r-auth"
    assert "Rules" in reader.list_rules(NamePrefix="r-auth")
    denied = failure(reader.describe_rule, Name="r-auth-other")
    assert denied == error(
        "AccessDeniedException",
        f"User: arn:aws:iam::{A}:user/rules-reader is not authorized to perform: "
        f"events:DescribeRule on resource: {EVENTS}:rule/r-auth-other because no "
        "identity-based policy allows the events:DescribeRule action")
    assert failure(reader.put_rule, Name="r-auth", EventPattern=PATTERN)["Error"]["Code"] == \
        "AccessDeniedException"
    # The answers are AWS JSON 1.1.
    raw = events.describe_rule(Name="r-auth")["ResponseMetadata"]["HTTPHeaders"]
    assert raw["content-type"] == "application/x-amz-json-1.1"
