"""EventBridge Scheduler's control plane on Hearth's endpoint, driven by boto3's `scheduler`
client and the AWS CLI: schedule groups (the `default` one always there), schedules and the
groups' tags, answers compared whole (minus ResponseMetadata's request id and the
timestamps, checked apart) with the shapes of botocore's `scheduler` model and AWS's
messages (docs/scheduler.md says where each was read and which are unsure)."""

import datetime
import json

import boto3
import pytest
from botocore.config import Config

import hearth_e2e as h

answer, failure = h.answer, h.failure
neutral = pytest.mark.sandbox_neutral
A = h.ACCOUNT
SCHEDULER = f"arn:aws:scheduler:{h.REGION}:{A}"
QUEUE = f"arn:aws:sqs:{h.REGION}:{A}:q"
FUNCTION = f"arn:aws:lambda:{h.REGION}:{A}:function:f"
ROLE = f"arn:aws:iam::{A}:role/scheduler"
OK = {"ResponseMetadata": {"HTTPStatusCode": 200}}
TARGET = {"Arn": FUNCTION, "RoleArn": ROLE}
OFF = {"Mode": "OFF"}


@pytest.fixture(scope="module")
def scheduler(server):
    return h.service_client(server.endpoint, "scheduler")


@pytest.fixture(scope="module")
def raw_scheduler(server):
    return h.service_client(server.endpoint, "scheduler", validate=False)


def error(code, message, status):
    """A modeled error as botocore parses it: the code and message, and the message again
    at the top (the error shape's member)."""
    return {"Error": {"Code": code, "Message": message}, "Message": message,
            "ResponseMetadata": {"HTTPStatusCode": status}}


def ok(**body):
    return {**body, **OK}


def no_times(d):
    return {k: v for k, v in d.items() if k not in ("CreationDate", "LastModificationDate")}


@neutral
def test_the_default_group_is_always_there_and_cannot_be_deleted(scheduler):
    got = answer(scheduler.get_schedule_group(Name="default"))
    assert isinstance(got["CreationDate"], datetime.datetime)
    assert no_times(got) == ok(Arn=f"{SCHEDULER}:schedule-group/default", Name="default",
                               State="ACTIVE")
    refused = failure(scheduler.delete_schedule_group, Name="default")
    assert refused == error("ValidationException", "Cannot delete the default schedule group.", 400)
    assert failure(scheduler.create_schedule_group, Name="default") == error(
        "ConflictException", "Schedule group default already exists.", 409)


@neutral
def test_a_schedule_is_created_read_updated_listed_and_deleted(scheduler):
    made = answer(scheduler.create_schedule(
        Name="nightly", ScheduleExpression="cron(0 3 * * ? *)", FlexibleTimeWindow=OFF,
        Target=TARGET, ScheduleExpressionTimezone="Europe/Berlin"))
    assert made == ok(ScheduleArn=f"{SCHEDULER}:schedule/default/nightly")
    got = answer(scheduler.get_schedule(Name="nightly"))
    assert isinstance(got["CreationDate"], datetime.datetime)
    assert got["CreationDate"] == got["LastModificationDate"]
    assert no_times(got) == ok(
        ActionAfterCompletion="NONE", Arn=f"{SCHEDULER}:schedule/default/nightly",
        FlexibleTimeWindow=OFF, GroupName="default", Name="nightly",
        ScheduleExpression="cron(0 3 * * ? *)", ScheduleExpressionTimezone="Europe/Berlin",
        State="ENABLED",
        Target={**TARGET, "RetryPolicy": {"MaximumEventAgeInSeconds": 86400,
                                          "MaximumRetryAttempts": 185}})
    end = datetime.datetime(2031, 1, 1, tzinfo=datetime.timezone.utc)
    updated = answer(scheduler.update_schedule(
        Name="nightly", ScheduleExpression="rate(2 hours)",
        FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 10},
        Target={"Arn": QUEUE, "RoleArn": ROLE, "Input": '{"n": 1}',
                "SqsParameters": {"MessageGroupId": "g"},
                "RetryPolicy": {"MaximumEventAgeInSeconds": 60, "MaximumRetryAttempts": 3}},
        State="DISABLED", EndDate=end, Description="every two hours"))
    assert updated == ok(ScheduleArn=f"{SCHEDULER}:schedule/default/nightly")
    got = answer(scheduler.get_schedule(Name="nightly", GroupName="default"))
    # A full replacement: the time zone not given again is UTC again.
    assert no_times(got) == ok(
        ActionAfterCompletion="NONE", Arn=f"{SCHEDULER}:schedule/default/nightly",
        Description="every two hours", EndDate=end,
        FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 10},
        GroupName="default", Name="nightly", ScheduleExpression="rate(2 hours)",
        ScheduleExpressionTimezone="UTC", State="DISABLED",
        Target={"Arn": QUEUE, "RoleArn": ROLE, "Input": '{"n": 1}',
                "SqsParameters": {"MessageGroupId": "g"},
                "RetryPolicy": {"MaximumEventAgeInSeconds": 60, "MaximumRetryAttempts": 3}})
    listed = answer(scheduler.list_schedules(NamePrefix="nightly"))
    assert [no_times(s) for s in listed["Schedules"]] == [
        {"Arn": f"{SCHEDULER}:schedule/default/nightly", "GroupName": "default",
         "Name": "nightly", "State": "DISABLED", "Target": {"Arn": QUEUE}}]
    assert answer(scheduler.list_schedules(NamePrefix="nightly", State="ENABLED")) == \
        ok(Schedules=[])
    assert answer(scheduler.delete_schedule(Name="nightly")) == OK
    assert failure(scheduler.get_schedule, Name="nightly") == error(
        "ResourceNotFoundException", "Schedule nightly does not exist.", 404)


@neutral
def test_errors_are_the_models(scheduler, raw_scheduler):
    assert failure(scheduler.create_schedule, Name="bad", ScheduleExpression="rate(5 minute)",
                   FlexibleTimeWindow=OFF, Target=TARGET) == error(
        "ValidationException", "Invalid Schedule Expression rate(5 minute).", 400)
    assert failure(scheduler.create_schedule, Name="bad", ScheduleExpression="rate(5 minutes)",
                   FlexibleTimeWindow=OFF, Target=TARGET,
                   StartDate=datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)) == error(
        "ValidationException", "The StartDate you specify cannot be earlier than 5 minutes ago.",
        400)
    assert failure(raw_scheduler.create_schedule, Name="bad", ScheduleExpression="rate(5 minutes)",
                   FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 0},
                   Target=TARGET) == error(
        "ValidationException",
        "1 validation error detected: Value '0' at 'flexibleTimeWindow.maximumWindowInMinutes' "
        "failed to satisfy constraint: Member must have value greater than or equal to 1", 400)
    kinesis = {**TARGET, "KinesisParameters": {"PartitionKey": "k"}}
    assert failure(scheduler.create_schedule, Name="bad", ScheduleExpression="rate(5 minutes)",
                   FlexibleTimeWindow=OFF, Target=kinesis) == error(
        "ValidationException",
        "Hearth does not run KinesisParameters targets; remove Target.KinesisParameters.", 400)
    scheduler.create_schedule(Name="taken", ScheduleExpression="rate(5 minutes)",
                              FlexibleTimeWindow=OFF, Target=TARGET)
    assert failure(scheduler.create_schedule, Name="taken", ScheduleExpression="rate(5 minutes)",
                   FlexibleTimeWindow=OFF, Target=TARGET) == error(
        "ConflictException", "Schedule taken already exists.", 409)
    assert failure(scheduler.update_schedule, Name="missing", ScheduleExpression="rate(5 minutes)",
                   FlexibleTimeWindow=OFF, Target=TARGET) == error(
        "ResourceNotFoundException", "Schedule missing does not exist.", 404)
    assert failure(scheduler.delete_schedule, Name="missing") == error(
        "ResourceNotFoundException", "Schedule missing does not exist.", 404)
    assert failure(scheduler.get_schedule, Name="taken", GroupName="no-group") == error(
        "ResourceNotFoundException", "Schedule group no-group does not exist.", 404)
    assert failure(scheduler.get_schedule_group, Name="no-group") == error(
        "ResourceNotFoundException", "Schedule group no-group does not exist.", 404)
    scheduler.delete_schedule(Name="taken")


@neutral
def test_client_tokens_make_retries_safe(scheduler):
    args = dict(Name="retried", ScheduleExpression="rate(1 day)", FlexibleTimeWindow=OFF,
                Target=TARGET, ClientToken="same-token")
    first = answer(scheduler.create_schedule(**args))
    assert answer(scheduler.create_schedule(**args)) == first
    assert answer(scheduler.delete_schedule(Name="retried", ClientToken="del-token")) == OK
    assert answer(scheduler.delete_schedule(Name="retried", ClientToken="del-token")) == OK


@neutral
def test_groups_page_take_their_schedules_and_are_tagged(scheduler):
    for name in ("grp-a", "grp-b", "grp-c"):
        made = answer(scheduler.create_schedule_group(
            Name=name, Tags=[{"Key": "team", "Value": name}]))
        assert made == ok(ScheduleGroupArn=f"{SCHEDULER}:schedule-group/{name}")
    page = answer(scheduler.list_schedule_groups(NamePrefix="grp-", MaxResults=2))
    assert [g["Name"] for g in page["ScheduleGroups"]] == ["grp-a", "grp-b"]
    assert page["ScheduleGroups"][0]["State"] == "ACTIVE"
    rest = answer(scheduler.list_schedule_groups(NamePrefix="grp-", NextToken=page["NextToken"]))
    assert [g["Name"] for g in rest["ScheduleGroups"]] == ["grp-c"]
    assert "NextToken" not in rest
    for name in ("s1", "s2", "s3"):
        scheduler.create_schedule(Name=name, GroupName="grp-a", ScheduleExpression="rate(1 hour)",
                                  FlexibleTimeWindow=OFF, Target=TARGET)
    first = answer(scheduler.list_schedules(GroupName="grp-a", MaxResults=2))
    assert [s["Name"] for s in first["Schedules"]] == ["s1", "s2"]
    second = answer(scheduler.list_schedules(GroupName="grp-a", NextToken=first["NextToken"]))
    assert [s["Name"] for s in second["Schedules"]] == ["s3"]
    group = f"{SCHEDULER}:schedule-group/grp-a"
    assert answer(scheduler.tag_resource(ResourceArn=group, Tags=[{"Key": "env", "Value": "dev"}])) \
        == OK
    assert answer(scheduler.untag_resource(ResourceArn=group, TagKeys=["team"])) == OK
    assert answer(scheduler.list_tags_for_resource(ResourceArn=group)) == \
        ok(Tags=[{"Key": "env", "Value": "dev"}])
    assert failure(scheduler.list_tags_for_resource,
                   ResourceArn=f"{SCHEDULER}:schedule-group/nope") == error(
        "ResourceNotFoundException", "Schedule group nope does not exist.", 404)
    # Deleting a group deletes its schedules.
    assert answer(scheduler.delete_schedule_group(Name="grp-a")) == OK
    assert failure(scheduler.get_schedule, Name="s1", GroupName="grp-a") == error(
        "ResourceNotFoundException", "Schedule group grp-a does not exist.", 404)
    assert failure(scheduler.list_schedules, GroupName="grp-a") == error(
        "ResourceNotFoundException", "Schedule group grp-a does not exist.", 404)
    assert all(s["GroupName"] != "grp-a"
               for s in scheduler.list_schedules()["Schedules"])


@neutral
def test_the_aws_cli(server, tmp_path):
    env = h.aws_env(tmp_path, server.endpoint)

    def aws(*args, check=True):
        out = h.run(h._aws_command() + ["scheduler", *args, "--endpoint-url", server.endpoint,
                                        "--region", h.REGION, "--output", "json"],
                    env=env, check=check)
        return out if not check else (json.loads(out.stdout) if out.stdout.strip() else None)

    assert aws("create-schedule-group", "--name", "cli-group") == \
        {"ScheduleGroupArn": f"{SCHEDULER}:schedule-group/cli-group"}
    assert aws("create-schedule", "--name", "cli", "--group-name", "cli-group",
               "--schedule-expression", "at(2030-06-01T12:00:00)",
               "--flexible-time-window", "Mode=OFF",
               "--action-after-completion", "DELETE",
               "--target", json.dumps({"Arn": QUEUE, "RoleArn": ROLE})) == \
        {"ScheduleArn": f"{SCHEDULER}:schedule/cli-group/cli"}
    got = aws("get-schedule", "--name", "cli", "--group-name", "cli-group")
    assert (got["ScheduleExpression"], got["ActionAfterCompletion"], got["GroupName"]) == \
        ("at(2030-06-01T12:00:00)", "DELETE", "cli-group")
    listed = aws("list-schedules", "--group-name", "cli-group")
    assert [s["Name"] for s in listed["Schedules"]] == ["cli"]
    refused = aws("create-schedule", "--name", "bad", "--schedule-expression", "cron(0 3 * * *)",
                  "--flexible-time-window", "Mode=OFF",
                  "--target", json.dumps({"Arn": QUEUE, "RoleArn": ROLE}), check=False)
    assert refused.rc != 0
    assert "ValidationException" in refused.stderr
    assert "Invalid Schedule Expression cron(0 3 * * *)." in refused.stderr
    assert aws("delete-schedule", "--name", "cli", "--group-name", "cli-group") is None
    assert aws("delete-schedule-group", "--name", "cli-group") is None


@neutral
def test_each_operation_is_authorised_as_its_action_on_its_schedule_or_group(
        server, scheduler, tmp_path):
    key = h.user_key(server, tmp_path, A, "schedules-reader", [
        {"Effect": "Allow", "Action": "scheduler:GetSchedule",
         "Resource": f"{SCHEDULER}:schedule/default/auth-*"},
        {"Effect": "Allow", "Action": "scheduler:ListSchedules", "Resource": "*"}])
    reader = boto3.session.Session().client(
        "scheduler", region_name=h.REGION, endpoint_url=server.endpoint,
        aws_access_key_id=key[0], aws_secret_access_key=key[1],
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
    scheduler.create_schedule(Name="auth-s", ScheduleExpression="rate(1 hour)",
                              FlexibleTimeWindow=OFF, Target=TARGET)
    scheduler.create_schedule(Name="other-s", ScheduleExpression="rate(1 hour)",
                              FlexibleTimeWindow=OFF, Target=TARGET)
    assert reader.get_schedule(Name="auth-s")["Name"] == "auth-s"
    assert "Schedules" in reader.list_schedules()
    denied = failure(reader.get_schedule, Name="other-s")
    assert denied["Error"]["Code"] == "AccessDeniedException"
    assert denied["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert denied["Error"]["Message"] == (
        f"User: arn:aws:iam::{A}:user/schedules-reader is not authorized to perform: "
        f"scheduler:GetSchedule on resource: {SCHEDULER}:schedule/default/other-s because no "
        "identity-based policy allows the scheduler:GetSchedule action")
    assert failure(reader.delete_schedule, Name="auth-s")["Error"]["Code"] == \
        "AccessDeniedException"
    raw = scheduler.get_schedule(Name="auth-s")["ResponseMetadata"]["HTTPHeaders"]
    assert raw["content-type"] == "application/json"
    scheduler.delete_schedule(Name="auth-s")
    scheduler.delete_schedule(Name="other-s")
