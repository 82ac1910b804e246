"""The `hearth` client verbs about what invokes a function, against a running server:
`hearth ls` showing each function's triggers (its URL, SQS mapping, EventBridge rule, SNS
subscription and Scheduler schedule), `hearth schedule` (create, ls, rm) and `hearth events
put`. The triggers are made with boto3, as a user would with the AWS tools; what `ls`
prints is compared line by line."""

import json
import re

import pytest
from botocore.exceptions import ClientError

import hearth_e2e as h

A = h.ACCOUNT
SQS_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
               "sqs:ChangeMessageVisibility"]


@pytest.fixture
def cli(server):
    def _cli(*args, check=True):
        return h.hearth_cli(*args, "--endpoint", server.endpoint, check=check)

    return _cli


@pytest.fixture(scope="module", autouse=True)
def role_may_poll(server):
    """The test functions' execution role may poll queues (Lambda checks it at create)."""
    h.allow_role(server.endpoint, SQS_ACTIONS)


@pytest.fixture(scope="module")
def sqs(server):
    return h.service_client(server.endpoint, "sqs")


@pytest.fixture(scope="module")
def events(server):
    return h.service_client(server.endpoint, "events")


@pytest.fixture(scope="module")
def sns(server):
    return h.service_client(server.endpoint, "sns")


@pytest.fixture(scope="module")
def scheduler(server):
    return h.service_client(server.endpoint, "scheduler")


@pytest.fixture
def function(client):
    name = h.unique_name("trig")
    h.create_function(client, name)
    return name


def rows_of(stdout, name):
    """The function's row of `hearth ls` and its indented trigger lines under it."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:1] == [name])
    under = []
    for line in lines[start + 1:]:
        if not line.startswith("  "):
            break
        under.append(line[2:])
    return lines[start], under


def test_ls_shows_url_mapping_rule_and_subscription(cli, client, sqs, events, sns, function):
    arn = h.function_arn(function)
    url = client.create_function_url_config(FunctionName=function, AuthType="NONE")[
        "FunctionUrl"]
    queue_url = sqs.create_queue(QueueName=h.unique_name("trig-q"))["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    uuid = client.create_event_source_mapping(EventSourceArn=queue, FunctionName=function)["UUID"]
    # Both listings below then see one state.
    h.wait_mapping_state(client, uuid, "Enabled")
    rule = h.unique_name("trig-rule")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["cli-e2e"]}))
    events.put_targets(Rule=rule, Targets=[{"Id": "f", "Arn": arn}])
    topic = sns.create_topic(Name=h.unique_name("trig-t"))["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn)

    row, triggers = rows_of(cli("ls").stdout, function)
    assert row.split()[0] == function
    assert triggers == [
        f"url       {url} (NONE)",
        f"sqs       {queue} (Enabled)",
        f"rule      default/{rule} (ENABLED)",
        f"sns       {topic}",
    ]

    doc = json.loads(cli("ls", "--json").stdout)
    (listed,) = [f for f in doc if f["FunctionName"] == function]
    got = listed["Triggers"]
    assert got == [
        {"Type": "url", "Source": url, "State": "NONE"},
        {"Type": "sqs", "Source": queue, "State": "Enabled"},
        {"Type": "rule", "Source": f"default/{rule}", "State": "ENABLED"},
        {"Type": "sns", "Source": topic},
    ]


def test_ls_shows_an_alias_trigger_with_its_qualifier(cli, client, events, function):
    version = client.publish_version(FunctionName=function)["Version"]
    client.create_alias(FunctionName=function, Name="live", FunctionVersion=version)
    rule = h.unique_name("trig-alias")
    events.put_rule(Name=rule, ScheduleExpression="rate(1 day)", State="DISABLED")
    events.put_targets(Rule=rule, Targets=[{"Id": "a",
                                            "Arn": h.function_arn(function) + ":live"}])
    _, triggers = rows_of(cli("ls").stdout, function)
    assert triggers == [f"rule      default/{rule} (DISABLED) for :live"]


def test_ls_without_triggers_shows_only_the_row(cli, function):
    _, triggers = rows_of(cli("ls").stdout, function)
    assert triggers == []


def test_schedule_create_ls_rm(cli, client, scheduler, function):
    name = h.unique_name("every5")
    out = cli("schedule", name, "rate(5 minutes)", "--function", function,
              "--input", '{"from": "cli"}')
    arn = f"arn:aws:scheduler:{h.REGION}:{A}:schedule/default/{name}"
    assert out.stdout == arn + "\n"

    got = scheduler.get_schedule(Name=name)
    assert got["Arn"] == arn
    assert got["ScheduleExpression"] == "rate(5 minutes)"
    assert got["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert got["State"] == "ENABLED"
    assert got["Target"]["Arn"] == h.function_arn(function)
    # The server's default schedule role (trusting the Scheduler), as --help says.
    assert got["Target"]["RoleArn"] == f"arn:aws:iam::{A}:role/hearth-scheduler"
    assert got["Target"]["Input"] == '{"from": "cli"}'

    _, triggers = rows_of(cli("ls").stdout, function)
    assert triggers == [f"schedule  default/{name} (ENABLED)"]

    listed = cli("schedule", "ls").stdout.splitlines()
    assert listed[0].split() == ["NAME", "GROUP", "STATE", "TARGET"]
    assert [name, "default", "ENABLED", h.function_arn(function)] in [
        line.split() for line in listed[1:]]

    assert cli("schedule", "rm", name).stdout == f"deleted {name}\n"
    with pytest.raises(ClientError) as e:
        scheduler.get_schedule(Name=name)
    assert h.error_of(e.value)[1] == "ResourceNotFoundException"
    _, triggers = rows_of(cli("ls").stdout, function)
    assert triggers == []


def test_schedule_every_option(cli, scheduler, function):
    group = h.unique_name("grp")
    scheduler.create_schedule_group(Name=group)
    name = h.unique_name("nightly")
    role = f"arn:aws:iam::{A}:role/scheduler-invoker"
    out = cli("schedule", name, "cron(0 3 * * ? *)", "--function", function,
              "--group", group, "--timezone", "Europe/Paris", "--role", role, "--disabled",
              "--json")
    arn = f"arn:aws:scheduler:{h.REGION}:{A}:schedule/{group}/{name}"
    assert json.loads(out.stdout) == {"ScheduleArn": arn}
    got = scheduler.get_schedule(Name=name, GroupName=group)
    assert got["ScheduleExpressionTimezone"] == "Europe/Paris"
    assert got["State"] == "DISABLED"
    assert got["GroupName"] == group
    assert got["Target"]["RoleArn"] == role
    assert "Input" not in got["Target"]

    listed = json.loads(cli("schedule", "ls", "--group", group, "--json").stdout)
    assert [(s["Name"], s["GroupName"], s["State"]) for s in listed] == [
        (name, group, "DISABLED")]
    assert cli("schedule", "rm", name, "--group", group).stdout == f"deleted {name}\n"
    assert json.loads(cli("schedule", "ls", "--group", group, "--json").stdout) == []


def test_schedule_errors(cli, scheduler, function):
    bad = cli("schedule", "x", "rate(5 minutes)", "--function", function, "--input", "{a}",
              check=False)
    assert bad.rc == 1
    assert bad.stderr.strip() == (
        "error: --input is not valid JSON: key must be a string at line 1 column 2")

    missing = cli("schedule", "x", "rate(5 minutes)", "--function", h.unique_name("nope"),
                  check=False)
    assert missing.rc == 1
    assert "ResourceNotFoundException" in missing.stderr

    refused = cli("schedule", h.unique_name("bad"), "every five minutes", "--function",
                  function, check=False)
    assert refused.rc == 1
    assert refused.stderr.startswith("error: creating the schedule ")
    assert "ValidationException: " in refused.stderr

    gone = cli("schedule", "rm", h.unique_name("never"), check=False)
    assert gone.rc == 1
    assert gone.stderr.startswith("error: ResourceNotFoundException: ")


def test_events_put_prints_the_event_id(cli):
    out = cli("events", "put", "--source", "cli-e2e", "--detail-type", "Order Placed",
              "--detail", '{"id": 7}', "--resources", f"arn:aws:sqs:{h.REGION}:{A}:q")
    assert re.fullmatch(r"[0-9a-f-]{36}\n", out.stdout), out.stdout
    doc = json.loads(cli("events", "put", "--source", "cli-e2e", "--detail-type", "t",
                         "--detail", "{}", "--json").stdout)
    assert set(doc) == {"EventId"}
    assert doc["EventId"] != out.stdout.strip()


def test_events_put_to_a_custom_bus(cli, events):
    bus = h.unique_name("bus")
    events.create_event_bus(Name=bus)
    out = cli("events", "put", "--source", "cli-e2e", "--detail-type", "t", "--detail", "{}",
              "--bus", bus)
    assert re.fullmatch(r"[0-9a-f-]{36}\n", out.stdout), out.stdout


def test_events_put_failures(cli):
    local = cli("events", "put", "--source", "s", "--detail-type", "t", "--detail", "[1]",
                check=False)
    assert local.rc == 1
    assert local.stderr.strip() == """error: --detail must be a JSON object, e.g. '{"id": 7}'"""
    # An entry the server refuses (a bus that does not exist) is shown as its error code
    # and message, with nothing on standard output.
    refused = cli("events", "put", "--source", "s", "--detail-type", "t", "--detail", "{}",
                  "--bus", h.unique_name("nobus"), check=False)
    assert refused.rc == 1
    assert refused.stdout == ""
    assert re.fullmatch(r"error: \w+: .+\n", refused.stderr), refused.stderr
