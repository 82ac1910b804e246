"""What a function sees: the context object and the environment variables
(docs/wire/environment.md, docs/wire/runtime-api.md)."""

import os
import re

import pytest

import hearth_e2e as h


@pytest.fixture(scope="module")
def fn(client):
    name = h.unique_name("ctx")
    h.create_function(client, name, MemorySize=256, Timeout=9,
                      Environment={"Variables": {"USER_VAR": "user value", "EMPTYISH": "x"}})
    return name


def test_request_id_matches_response_header(client, fn):
    inv = h.invoke(client, fn, {"a": 1})
    body = inv.json
    assert h.UUID_RE.match(inv.request_id), inv.request_id
    assert body["context"]["request_id"] == inv.request_id
    assert inv.headers.get("x-amzn-requestid") == inv.request_id
    again = h.invoke(client, fn, {"a": 2})
    assert again.json["context"]["request_id"] == again.request_id != inv.request_id


def test_context_fields(client, fn):
    body = h.invoke_ok(client, fn, {"a": 1})
    ctx = body["context"]
    assert ctx["function_name"] == fn
    assert str(ctx["memory_limit_in_mb"]) == "256"
    assert ctx["function_version"] == "$LATEST"
    assert ctx["invoked_function_arn"] == h.function_arn(fn)
    assert 0 < ctx["remaining_ms"] <= 9000
    assert ctx["log_group_name"] == f"/aws/lambda/{fn}"
    assert h.LOG_STREAM_RE.match(ctx["log_stream_name"]), ctx["log_stream_name"]


@pytest.mark.parametrize("how", ["name", "partial-arn", "full-arn"])
def test_invoked_function_arn_unqualified(client, fn, how):
    ident = {"name": fn, "partial-arn": f"{h.ACCOUNT}:function:{fn}",
             "full-arn": h.function_arn(fn)}[how]
    inv = h.invoke(client, ident, {"how": how})
    assert inv.status == 200 and inv.function_error is None, inv.payload
    ctx = inv.json["context"]
    assert ctx["function_name"] == fn
    assert ctx["invoked_function_arn"] == h.function_arn(fn)


@pytest.mark.parametrize("how", ["qualifier-param", "name-suffix", "arn-suffix"])
def test_invoked_function_arn_qualified(client, fn, how):
    if how == "qualifier-param":
        inv = h.invoke(client, fn, {}, Qualifier="$LATEST")
    elif how == "name-suffix":
        inv = h.invoke(client, f"{fn}:$LATEST", {})
    else:
        inv = h.invoke(client, h.function_arn(fn, "$LATEST"), {})
    assert inv.status == 200 and inv.function_error is None, inv.payload
    assert inv.executed_version == "$LATEST"
    assert inv.json["context"]["invoked_function_arn"] == h.function_arn(fn, "$LATEST")


def test_environment_variables(client, fn):
    body = h.invoke_ok(client, fn, {"env": ["USER_VAR", "AWS_DEFAULT_REGION"]})
    env = body["env"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == fn
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert re.match(r"^127\.0\.0\.1:\d+$", env["AWS_LAMBDA_RUNTIME_API"] or ""), env
    assert env["_HANDLER"] == "app.handler"
    assert env["AWS_REGION"] == "us-east-1"
    assert env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.11"
    assert env["TZ"] == ":UTC"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{fn}"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == body["context"]["log_stream_name"]
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert env["USER_VAR"] == "user value"

    # The code directory is the working directory and holds the unpacked zip.
    root = env["LAMBDA_TASK_ROOT"]
    assert root and os.path.isabs(root)
    assert os.path.realpath(body["cwd"]) == os.path.realpath(root)
    # Seen from inside the function, whatever the sandbox maps it to on the host.
    assert "app.py" in body["task_files"]
    assert "version.txt" in body["task_files"]


def test_client_context_reaches_function(client):
    """X-Amz-Client-Context (base64 JSON) is decoded into Lambda-Runtime-Client-Context."""
    import base64
    import json

    name = h.unique_name("ctx-node")
    h.create_function(client, name, "node.zip", h.NODE, "index.handler")
    cc = {"custom": {"k": "v"}, "env": {"platform": "e2e"}, "client": {"app_title": "t"}}
    inv = h.invoke(client, name, {"cc": True},
                   ClientContext=base64.b64encode(json.dumps(cc).encode()).decode())
    assert inv.status == 200 and inv.function_error is None, inv.payload
    ctx = inv.json["context"]
    assert ctx["awsRequestId"] == inv.request_id
    assert ctx["clientContext"]["custom"] == {"k": "v"}
    assert ctx["clientContext"]["env"] == {"platform": "e2e"}
