"""Function URLs' control plane (Create/Get/Update/Delete/ListFunctionUrlConfig(s)) through
boto3 and the AWS CLI: whole answers, AWS's errors and messages, one URL per qualifier,
aliases only as qualifiers, and the URL's id kept across updates and restarts.

Serving requests at the URL: test_function_url_serving.py."""

import json
import re

import pytest
from botocore.exceptions import ClientError

import hearth_e2e as h

# Lambda's control plane: the sandbox plays no part.
pytestmark = pytest.mark.sandbox_neutral

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
QUALIFIER_PATTERN = r"((?!^\d+$)^[0-9a-zA-Z-_]+$)"


def error(call, **kw):
    with pytest.raises(ClientError) as e:
        call(**kw)
    return h.error_of(e.value)


def strip(resp):
    return {k: v for k, v in resp.items() if k != "ResponseMetadata"}


def url_of(endpoint, resp):
    """The URL id of an answer, checking the address is this server's path form."""
    m = re.fullmatch(re.escape(endpoint) + r"/lambda-url/([a-z0-9]{32})/", resp["FunctionUrl"])
    assert m, resp["FunctionUrl"]
    return m.group(1)


def test_create_get_update_list_delete_answer_as_aws(client, server):
    name = h.unique_name("url")
    h.create_function(client, name)
    created = strip(client.create_function_url_config(FunctionName=name, AuthType="NONE"))
    url_id = url_of(server.endpoint, created)
    assert ISO.match(created["CreationTime"]), created
    assert created == {"FunctionUrl": created["FunctionUrl"],
                       "FunctionArn": h.function_arn(name),
                       "AuthType": "NONE",
                       "CreationTime": created["CreationTime"],
                       "InvokeMode": "BUFFERED"}
    got = strip(client.get_function_url_config(FunctionName=name))
    assert got == {**created, "LastModifiedTime": created["CreationTime"]}

    cors = {"AllowOrigins": ["https://example.com"], "AllowMethods": ["GET", "POST"],
            "AllowHeaders": ["x-custom"], "ExposeHeaders": ["x-out"], "MaxAge": 60,
            "AllowCredentials": True}
    updated = strip(client.update_function_url_config(
        FunctionName=name, Cors=cors, InvokeMode="RESPONSE_STREAM"))
    assert url_of(server.endpoint, updated) == url_id, "the id is kept"
    assert ISO.match(updated["LastModifiedTime"])
    assert updated == {**got, "Cors": cors, "InvokeMode": "RESPONSE_STREAM",
                       "LastModifiedTime": updated["LastModifiedTime"]}
    # An update names only what changes.
    again = strip(client.update_function_url_config(FunctionName=name, AuthType="AWS_IAM"))
    assert again["Cors"] == cors and again["AuthType"] == "AWS_IAM"

    listed = client.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"]
    assert listed == [strip(client.get_function_url_config(FunctionName=name))]

    client.delete_function_url_config(FunctionName=name)
    assert error(client.get_function_url_config, FunctionName=name) == (
        404, "ResourceNotFoundException", "The resource you requested does not exist.")
    assert error(client.delete_function_url_config, FunctionName=name) == (
        404, "ResourceNotFoundException", "The resource you requested does not exist.")
    assert client.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"] == []


def test_one_url_per_qualifier_aliases_only(client):
    name = h.unique_name("url-q")
    h.create_function(client, name)
    client.publish_version(FunctionName=name)
    client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    client.create_function_url_config(FunctionName=name, AuthType="NONE")
    assert error(client.create_function_url_config, FunctionName=name, AuthType="NONE") == (
        409, "ResourceConflictException",
        f"Failed to create function url config for [functionArn = {h.function_arn(name)}]. "
        "Error message:  FunctionUrlConfig exists for this Lambda function")
    alias = strip(client.create_function_url_config(
        FunctionName=name, Qualifier="live", AuthType="AWS_IAM"))
    assert alias["FunctionArn"] == h.function_arn(name, "live")
    assert error(client.create_function_url_config, FunctionName=name, Qualifier="gone",
                 AuthType="NONE") == (404, "ResourceNotFoundException",
                                      "Function does not exist")
    assert error(client.create_function_url_config, FunctionName=name, Qualifier="1",
                 AuthType="NONE") == (
        400, "ValidationException",
        "1 validation error detected: Value '1' at 'qualifier' failed to satisfy constraint: "
        r"Member must satisfy regular expression pattern: (^\$LATEST$)|((?!^[0-9]+$)([a-zA-Z0-9-_]+))")
    assert error(client.get_function_url_config, FunctionName=name, Qualifier="$LATEST") == (
        400, "ValidationException",
        "1 validation error detected: Value '$LATEST' at 'qualifier' failed to satisfy "
        f"constraint: Member must satisfy regular expression pattern: {QUALIFIER_PATTERN}")
    # Two URLs, one page each.
    first = client.list_function_url_configs(FunctionName=name, MaxItems=1)
    assert [u["FunctionArn"] for u in first["FunctionUrlConfigs"]] == [h.function_arn(name)]
    second = client.list_function_url_configs(FunctionName=name, Marker=first["NextMarker"])
    assert [u["FunctionArn"] for u in second["FunctionUrlConfigs"]] == [
        h.function_arn(name, "live")]
    assert "NextMarker" not in second
    # Deleting the alias deletes its URL.
    client.delete_alias(FunctionName=name, Name="live")
    assert len(client.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"]) == 1
    missing = h.unique_name("url-none")
    assert error(client.create_function_url_config, FunctionName=missing, AuthType="NONE") == (
        404, "ResourceNotFoundException", "Function does not exist")
    assert error(client.list_function_url_configs, FunctionName=missing) == (
        404, "ResourceNotFoundException", "Function does not exist")


def test_bad_configurations_get_the_validators_message(server):
    name = h.unique_name("url-bad")
    h.create_function(h.lambda_client(server.endpoint), name)
    path = f"/2021-10-31/functions/{name}/url"
    status, _, body = server.get(path, method="POST", body=json.dumps(
        {"AuthType": "OPEN", "Cors": {"MaxAge": 86401}}).encode(),
        headers={"Content-Type": "application/json"})
    assert status == 400, body
    err = json.loads(body)
    assert (err.get("message") or err.get("Message")) == (
        "2 validation errors detected: Value 'OPEN' at 'authType' failed to satisfy constraint: "
        "Member must satisfy enum value set: [AWS_IAM, NONE]; Value '86401' at 'cors.maxAge' "
        "failed to satisfy constraint: Member must have value less than or equal to 86400"), err


def test_the_aws_cli_creates_and_reads_a_url(server, tmp_path):
    name = h.unique_name("url-cli")
    h.create_function(h.lambda_client(server.endpoint), name)
    created = json.loads(h.aws_lambda(server.endpoint, tmp_path, "create-function-url-config",
                                      "--function-name", name, "--auth-type", "NONE").stdout)
    got = json.loads(h.aws_lambda(server.endpoint, tmp_path, "get-function-url-config",
                                  "--function-name", name).stdout)
    assert got["FunctionUrl"] == created["FunctionUrl"]
    assert got["AuthType"] == "NONE"


def test_a_url_keeps_its_id_across_a_restart(own_server):
    client = h.lambda_client(own_server.endpoint)
    name = h.unique_name("url-restart")
    h.create_function(client, name)
    url_id = url_of(own_server.endpoint, client.create_function_url_config(
        FunctionName=name, AuthType="NONE"))
    own_server.restart()
    client = h.lambda_client(own_server.endpoint)
    assert url_of(own_server.endpoint,
                  client.get_function_url_config(FunctionName=name)) == url_id
