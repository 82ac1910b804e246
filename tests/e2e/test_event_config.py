"""Asynchronous invocation settings (Put/Get/Update/Delete/ListFunctionEventInvokeConfig(s))
on $LATEST, versions and aliases, with Lambda's validation and error messages; and
DeadLetterConfig on CreateFunction / UpdateFunctionConfiguration."""

import datetime
import json

import pytest
from botocore.exceptions import ClientError

import hearth_e2e as h

EMPTY_DESTINATIONS = {"OnSuccess": {}, "OnFailure": {}}
SQS = "arn:aws:sqs:us-east-1:000000000000:hearth-dlq"


@pytest.fixture(scope="module", autouse=True)
def destinations_allowed(server):
    """The functions' execution role may invoke functions, send to queues and publish to
    topics: Lambda sends destination records and dead letters with it, and refuses a
    destination or dead-letter target it may not send to (`test_async.py`)."""
    h.allow_role(server.endpoint, ["lambda:InvokeFunction", "sqs:SendMessage", "sns:Publish"])


def error(call, **kw):
    with pytest.raises(ClientError) as e:
        call(**kw)
    return h.error_of(e.value)


def no_config(name, qualifier="$LATEST"):
    return f"The function {h.function_arn(name, qualifier)} doesn't have an EventInvokeConfig"


def strip(resp):
    return {k: v for k, v in resp.items() if k != "ResponseMetadata"}


def with_version_and_alias(client, prefix):
    name = h.unique_name(prefix)
    h.create_function(client, name)
    client.publish_version(FunctionName=name)
    alias = client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    return name, alias["AliasArn"]


def test_wire_shape(client, server):
    """LastModified is epoch seconds (a number); DestinationConfig is always there."""
    name = h.unique_name("eic-wire")
    h.create_function(client, name)
    path = f"/2019-09-25/functions/{name}/event-invoke-config"
    status, headers, body = server.get(path, method="PUT", body=b'{"MaximumRetryAttempts": 1}',
                                       headers={"Content-Type": "application/json"})
    assert status == 200, body
    put = json.loads(body)
    assert isinstance(put["LastModified"], float)
    assert abs(put["LastModified"] - datetime.datetime.now().timestamp()) < 60
    assert put == {"LastModified": put["LastModified"],
                   "FunctionArn": h.function_arn(name, "$LATEST"),
                   "MaximumRetryAttempts": 1,
                   "DestinationConfig": EMPTY_DESTINATIONS}
    status, headers, body = server.get(path, method="DELETE")
    assert (status, body) == (204, b"")
    status, headers, body = server.get(path)
    assert status == 404
    assert headers["x-amzn-errortype"] == "ResourceNotFoundException"
    assert json.loads(body) == {"Type": "User", "Message": no_config(name)}


def test_put_get_update_delete_on_latest(client):
    name = h.unique_name("eic")
    h.create_function(client, name)
    before = datetime.datetime.now(datetime.timezone.utc)

    put = client.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=1)
    assert put["FunctionArn"] == h.function_arn(name, "$LATEST")
    assert put["MaximumRetryAttempts"] == 1
    assert "MaximumEventAgeInSeconds" not in put
    assert put["DestinationConfig"] == EMPTY_DESTINATIONS
    assert isinstance(put["LastModified"], datetime.datetime)
    assert put["LastModified"] >= before - datetime.timedelta(seconds=5)
    assert strip(client.get_function_event_invoke_config(FunctionName=name)) == strip(put)
    assert strip(client.get_function_event_invoke_config(FunctionName=name,
                                                         Qualifier="$LATEST")) == strip(put)

    # Update merges: what is not given is kept.
    updated = client.update_function_event_invoke_config(FunctionName=name,
                                                         MaximumEventAgeInSeconds=120)
    assert (updated["MaximumRetryAttempts"], updated["MaximumEventAgeInSeconds"]) == (1, 120)
    assert updated["LastModified"] >= put["LastModified"]
    got = client.get_function_event_invoke_config(FunctionName=name)
    assert (got["MaximumRetryAttempts"], got["MaximumEventAgeInSeconds"]) == (1, 120)

    # Put replaces: what is not given is unset.
    put = client.put_function_event_invoke_config(FunctionName=name, MaximumEventAgeInSeconds=60)
    assert put["MaximumEventAgeInSeconds"] == 60 and "MaximumRetryAttempts" not in put
    got = client.get_function_event_invoke_config(FunctionName=name)
    assert "MaximumRetryAttempts" not in got and got["MaximumEventAgeInSeconds"] == 60

    delete = client.delete_function_event_invoke_config(FunctionName=name)
    assert delete["ResponseMetadata"]["HTTPStatusCode"] == 204
    for call in (client.get_function_event_invoke_config,
                 client.delete_function_event_invoke_config):
        assert error(call, FunctionName=name) == (404, "ResourceNotFoundException",
                                                  no_config(name))
    assert error(client.update_function_event_invoke_config, FunctionName=name,
                 MaximumRetryAttempts=0) == (404, "ResourceNotFoundException", no_config(name))
    assert client.list_function_event_invoke_configs(
        FunctionName=name)["FunctionEventInvokeConfigs"] == []


def test_versions_aliases_and_list(client):
    name, alias_arn = with_version_and_alias(client, "eic-q")

    v1 = client.put_function_event_invoke_config(FunctionName=name, Qualifier="1",
                                                 MaximumRetryAttempts=2)
    assert v1["FunctionArn"] == h.function_arn(name, "1")
    live = client.put_function_event_invoke_config(FunctionName=f"{name}:live",
                                                   MaximumRetryAttempts=0)
    assert live["FunctionArn"] == alias_arn
    by_arn = client.put_function_event_invoke_config(FunctionName=alias_arn, Qualifier="live",
                                                     MaximumEventAgeInSeconds=300)
    assert by_arn["FunctionArn"] == alias_arn and "MaximumRetryAttempts" not in by_arn
    client.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=1)

    assert client.get_function_event_invoke_config(
        FunctionName=h.function_arn(name, "1"))["MaximumRetryAttempts"] == 2
    assert client.get_function_event_invoke_config(
        FunctionName=name, Qualifier="live")["MaximumEventAgeInSeconds"] == 300
    # Each qualifier has its own configuration.
    assert client.get_function_event_invoke_config(FunctionName=name)["MaximumRetryAttempts"] == 1

    listed = client.list_function_event_invoke_configs(FunctionName=name)
    arns = [c["FunctionArn"] for c in listed["FunctionEventInvokeConfigs"]]
    assert arns == [h.function_arn(name, q) for q in ("$LATEST", "1", "live")]
    assert "NextMarker" not in listed
    assert all(isinstance(c["LastModified"], datetime.datetime)
               for c in listed["FunctionEventInvokeConfigs"])

    pages, marker = [], None
    while True:
        kw = {"Marker": marker} if marker else {}
        page = client.list_function_event_invoke_configs(FunctionName=name, MaxItems=1, **kw)
        assert len(page["FunctionEventInvokeConfigs"]) == 1
        pages.append(page["FunctionEventInvokeConfigs"][0]["FunctionArn"])
        marker = page.get("NextMarker")
        if not marker:
            break
    assert pages == arns
    paginated = [c["FunctionArn"]
                 for p in client.get_paginator("list_function_event_invoke_configs").paginate(
                     FunctionName=name, PaginationConfig={"PageSize": 2})
                 for c in p["FunctionEventInvokeConfigs"]]
    assert paginated == arns

    # A qualifier that names nothing, in either place.
    doesnt_exist = (404, "ResourceNotFoundException", "The function doesn't exist.")
    for kw in ({"FunctionName": name, "Qualifier": "7"},
               {"FunctionName": name, "Qualifier": "nope"},
               {"FunctionName": f"{name}:nope"},
               {"FunctionName": "doesnotexist"},
               {"FunctionName": h.function_arn("doesnotexist")}):
        assert error(client.put_function_event_invoke_config, MaximumRetryAttempts=1,
                     **kw) == doesnt_exist, kw
        assert error(client.update_function_event_invoke_config, MaximumRetryAttempts=1,
                     **kw) == doesnt_exist, kw
    assert error(client.get_function_event_invoke_config, FunctionName=name,
                 Qualifier="nope") == (404, "ResourceNotFoundException", no_config(name, "nope"))
    assert error(client.get_function_event_invoke_config, FunctionName="doesnotexist") == (
        404, "ResourceNotFoundException", no_config("doesnotexist"))
    assert error(client.list_function_event_invoke_configs,
                 FunctionName="doesnotexist") == doesnt_exist
    status, code, _ = error(client.list_function_event_invoke_configs,
                            FunctionName=f"{name}:live")
    assert (status, code) == (400, "InvalidParameterValueException")
    # The name's qualifier and Qualifier must agree.
    status, code, _ = error(client.put_function_event_invoke_config, FunctionName=alias_arn,
                            Qualifier="1", MaximumRetryAttempts=1)
    assert (status, code) == (400, "InvalidParameterValueException")

    for q in ("$LATEST", "1", "live"):
        client.delete_function_event_invoke_config(FunctionName=name, Qualifier=q)
    assert client.list_function_event_invoke_configs(
        FunctionName=name)["FunctionEventInvokeConfigs"] == []


def test_ranges_and_missing_settings(client, raw_client):
    name = h.unique_name("eic-range")
    h.create_function(client, name)
    for field, value, constraint in [
        ("MaximumRetryAttempts", 3, "Member must have value less than or equal to 2"),
        ("MaximumRetryAttempts", -1, "Member must have value greater than or equal to 0"),
        ("MaximumEventAgeInSeconds", 59, "Member must have value greater than or equal to 60"),
        ("MaximumEventAgeInSeconds", 21601,
         "Member must have value less than or equal to 21600"),
    ]:
        member = field[0].lower() + field[1:]
        expected = (400, "ValidationException",
                    f"1 validation error detected: Value '{value}' at '{member}' failed to "
                    f"satisfy constraint: {constraint}")
        for call in (raw_client.put_function_event_invoke_config,
                     raw_client.update_function_event_invoke_config):
            assert error(call, FunctionName=name, **{field: value}) == expected
    put = client.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0,
                                                  MaximumEventAgeInSeconds=21600)
    assert (put["MaximumRetryAttempts"], put["MaximumEventAgeInSeconds"]) == (0, 21600)
    put = client.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=2,
                                                  MaximumEventAgeInSeconds=60)
    assert (put["MaximumRetryAttempts"], put["MaximumEventAgeInSeconds"]) == (2, 60)

    nothing = (400, "InvalidParameterValueException",
               "You must specify at least one of error handling or destination setting.")
    assert error(client.put_function_event_invoke_config, FunctionName=name) == nothing
    assert error(client.put_function_event_invoke_config, FunctionName="doesnotexist") == nothing
    assert error(client.update_function_event_invoke_config, FunctionName=name) == nothing

    for bad in (0, 51):
        status, code, message = error(raw_client.list_function_event_invoke_configs,
                                      FunctionName=name, MaxItems=bad)
        assert (status, code) == (400, "ValidationException"), message
        assert "maxItems" in message


def test_destinations(client, raw_client):
    name = h.unique_name("eic-dest")
    other = h.unique_name("eic-dest-target")
    h.create_function(client, name)
    h.create_function(client, other)
    client.publish_version(FunctionName=other)

    def put(success=None, failure=None, c=client):
        config = {}
        if success is not None:
            config["OnSuccess"] = {"Destination": success}
        if failure is not None:
            config["OnFailure"] = {"Destination": failure}
        return c.put_function_event_invoke_config(FunctionName=name, DestinationConfig=config)

    got = put(success=h.function_arn(other), failure=h.function_arn(other, "1"))
    assert got["DestinationConfig"] == {"OnSuccess": {"Destination": h.function_arn(other)},
                                        "OnFailure": {"Destination": h.function_arn(other, "1")}}
    assert strip(client.get_function_event_invoke_config(FunctionName=name)) == strip(got)
    # Update replaces DestinationConfig as a whole and keeps the rest.
    client.update_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
    got = client.update_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnFailure": {"Destination": h.function_arn(other)}})
    assert got["DestinationConfig"] == {"OnSuccess": {},
                                        "OnFailure": {"Destination": h.function_arn(other)}}
    assert got["MaximumRetryAttempts"] == 0
    # An empty destination, or none, means none.
    assert put(success="")["DestinationConfig"] == EMPTY_DESTINATIONS
    assert client.put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnSuccess": {}})["DestinationConfig"] == \
        EMPTY_DESTINATIONS

    def invalid(message):
        return (400, "InvalidParameterValueException", message)

    assert error(put, success=h.function_arn(name)) == invalid(
        "You can't specify the function as a destination for itself.")
    assert error(put, failure=h.function_arn(name, "$LATEST")) == invalid(
        "You can't specify the function as a destination for itself.")
    missing = h.function_arn("doesnotexist")
    assert error(put, success=missing) == invalid(f"The destination ARN {missing} is invalid.")
    no_version = h.function_arn(other, "9")
    assert error(put, failure=no_version) == invalid(
        f"The destination ARN {no_version} is invalid.")
    iam = "arn:aws:iam::000000000000:role/hearth"
    assert error(put, success=iam) == invalid(
        f"The provided destination config DestinationConfig(onSuccess=OnSuccess(destination="
        f"{iam}), onFailure=null) is invalid.")
    bucket = "arn:aws:s3:::records"
    status, code, message = error(put, failure=bucket)
    assert (status, code) == (400, "InvalidParameterValueException")
    assert bucket in message and \
        "only to Lambda functions, SQS queues, SNS topics and event buses" in message, message
    bad = h.function_arn(other).replace(":lambda:", ":_-/!lambda:")
    status, code, message = error(put, failure=bad, c=raw_client)
    assert (status, code) == (400, "ValidationException")
    assert message.startswith(
        f"1 validation error detected: Value '{bad}' at 'destinationConfig.onFailure.destination' "
        f"failed to satisfy constraint: Member must satisfy regular expression pattern: "), message
    # Nothing was stored by the failed calls.
    got = client.get_function_event_invoke_config(FunctionName=name)
    assert got["DestinationConfig"] == EMPTY_DESTINATIONS


def test_configs_go_with_their_version_alias_and_function(client):
    name, alias_arn = with_version_and_alias(client, "eic-del")
    for kw in ({}, {"Qualifier": "1"}, {"Qualifier": "live"}):
        client.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0, **kw)

    client.delete_alias(FunctionName=name, Name="live")
    client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    assert error(client.get_function_event_invoke_config, FunctionName=alias_arn) == (
        404, "ResourceNotFoundException", no_config(name, "live"))
    client.delete_alias(FunctionName=name, Name="live")
    client.delete_function(FunctionName=name, Qualifier="1")
    assert [c["FunctionArn"] for c in client.list_function_event_invoke_configs(
        FunctionName=name)["FunctionEventInvokeConfigs"]] == [h.function_arn(name, "$LATEST")]

    client.delete_function(FunctionName=name)
    assert error(client.get_function_event_invoke_config, FunctionName=name) == (
        404, "ResourceNotFoundException", no_config(name))
    h.create_function(client, name)
    assert error(client.get_function_event_invoke_config, FunctionName=name) == (
        404, "ResourceNotFoundException", no_config(name))
    assert client.list_function_event_invoke_configs(
        FunctionName=name)["FunctionEventInvokeConfigs"] == []


def test_aws_cli_round_trip(client, aws):
    name = h.unique_name("eic-cli")
    target = h.unique_name("eic-cli-target")
    h.create_function(client, name)
    h.create_function(client, target)
    destinations = {"OnSuccess": {}, "OnFailure": {"Destination": h.function_arn(target)}}

    put = aws("put-function-event-invoke-config", "--function-name", name,
              "--maximum-retry-attempts", "0", "--maximum-event-age-in-seconds", "3600",
              "--destination-config", json.dumps(destinations)).json
    assert put["FunctionArn"] == h.function_arn(name, "$LATEST")
    assert (put["MaximumRetryAttempts"], put["MaximumEventAgeInSeconds"]) == (0, 3600)
    assert put["DestinationConfig"] == destinations
    assert put["LastModified"]

    got = aws("get-function-event-invoke-config", "--function-name", name).json
    assert got == put
    updated = aws("update-function-event-invoke-config", "--function-name", name,
                  "--maximum-retry-attempts", "2").json
    assert (updated["MaximumRetryAttempts"], updated["MaximumEventAgeInSeconds"]) == (2, 3600)
    listed = aws("list-function-event-invoke-configs", "--function-name", name).json
    assert [c["FunctionArn"] for c in listed["FunctionEventInvokeConfigs"]] == [put["FunctionArn"]]

    aws("delete-function-event-invoke-config", "--function-name", name)
    missing = aws("get-function-event-invoke-config", "--function-name", name, check=False)
    assert missing.rc != 0
    assert "ResourceNotFoundException" in missing.stderr
    assert no_config(name) in missing.stderr


def test_dead_letter_config(client, raw_client, aws):
    name = h.unique_name("dlq")
    created = h.create_function(client, name, DeadLetterConfig={"TargetArn": SQS})
    assert created["DeadLetterConfig"] == {"TargetArn": SQS}
    assert client.get_function_configuration(FunctionName=name)["DeadLetterConfig"] == {
        "TargetArn": SQS}
    assert client.get_function(FunctionName=name)["Configuration"]["DeadLetterConfig"] == {
        "TargetArn": SQS}
    listed = {f["FunctionName"]: f for f in client.list_functions()["Functions"]}
    assert listed[name]["DeadLetterConfig"] == {"TargetArn": SQS}
    v1 = client.publish_version(FunctionName=name)
    assert v1["DeadLetterConfig"] == {"TargetArn": SQS}

    topic = "arn:aws:sns:us-east-1:000000000000:hearth-dlq"
    updated = aws("update-function-configuration", "--function-name", name,
                  "--dead-letter-config", f"TargetArn={topic}").json
    assert updated["DeadLetterConfig"] == {"TargetArn": topic}
    aws("wait", "function-updated-v2", "--function-name", name)
    got = aws("get-function-configuration", "--function-name", name).json
    assert got["DeadLetterConfig"] == {"TargetArn": topic}
    # The version keeps the target it was published with; a changed one publishes anew.
    assert client.get_function_configuration(FunctionName=name,
                                             Qualifier="1")["DeadLetterConfig"] == {
        "TargetArn": SQS}
    assert client.publish_version(FunctionName=name)["Version"] == "2"

    # Other settings leave it alone; an empty TargetArn clears it.
    h.update_config(client, name, Timeout=5)
    assert client.get_function_configuration(FunctionName=name)["DeadLetterConfig"] == {
        "TargetArn": topic}
    cleared = h.update_config(client, name, DeadLetterConfig={"TargetArn": ""})
    assert "DeadLetterConfig" not in cleared
    assert "DeadLetterConfig" not in client.get_function_configuration(FunctionName=name)
    got = aws("get-function-configuration", "--function-name", name).json
    assert "DeadLetterConfig" not in got


    for call, kw in [
        (raw_client.update_function_configuration, {"FunctionName": name}),
        (raw_client.create_function, {"FunctionName": h.unique_name("dlq-bad"),
                                      "Runtime": h.PYTHON, "Role": h.ROLE,
                                      "Handler": "app.handler",
                                      "Code": {"ZipFile": h.zip_bytes("python.zip")}}),
    ]:
        status, code, message = error(call, DeadLetterConfig={"TargetArn": "not-an-arn"}, **kw)
        assert (status, code) == (400, "ValidationException")
        assert message == (
            "1 validation error detected: Value 'not-an-arn' at 'deadLetterConfig.targetArn' "
            "failed to satisfy constraint: Member must satisfy regular expression pattern: "
            "(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()")

    plain = h.unique_name("dlq-none")
    assert "DeadLetterConfig" not in h.create_function(client, plain)


def test_a_role_that_may_not_send_to_the_target_is_refused(server, client):
    """Lambda sends dead letters and destination records with the execution role, so it
    refuses a target the role may not send to, with its own messages."""
    h.allow_role(server.endpoint, ["lambda:InvokeFunction"], role="hearth-e2e-nosend")
    role = h.ROLE.replace("hearth-e2e", "hearth-e2e-nosend")
    name = h.unique_name("dlq-refused")
    topic = "arn:aws:sns:us-east-1:000000000000:hearth-dlq"
    assert error(h.create_function, client=client, name=name, Role=role,
                 DeadLetterConfig={"TargetArn": SQS}) == (
        400, "InvalidParameterValueException",
        "The provided execution role does not have permissions to call SendMessage on SQS")
    h.create_function(client, name, Role=role)
    assert error(client.update_function_configuration, FunctionName=name,
                 DeadLetterConfig={"TargetArn": topic}) == (
        400, "InvalidParameterValueException",
        "The provided execution role does not have permissions to call Publish on SNS")
    assert error(client.put_function_event_invoke_config, FunctionName=name,
                 DestinationConfig={"OnFailure": {"Destination": SQS}}) == (
        400, "InvalidParameterValueException",
        f"The function execution role does not have permissions to call SendMessage on {SQS}")
    # The role the function is given decides: one that may send is accepted.
    h.update_config(client, name, DeadLetterConfig={"TargetArn": topic}, Role=h.ROLE)
    assert client.get_function_configuration(FunctionName=name)["DeadLetterConfig"] == {
        "TargetArn": topic}
