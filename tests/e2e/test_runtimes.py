"""Each kind of runtime answers an invocation through its official runtime interface client:
Python (awslambdaric), Node.js (aws-lambda-ric), Rust (lambda_runtime) and a bash bootstrap."""

import time

import pytest

import hearth_e2e as h


@pytest.fixture(scope="module")
def fns(client):
    """One function per runtime, created together so their cold starts overlap."""
    names = {
        "python": h.unique_name("rt-py"),
        "node": h.unique_name("rt-node"),
        "rust": h.unique_name("rt-rust"),
        "shell": h.unique_name("rt-shell"),
    }
    h.create_function(client, names["python"], "python.zip", h.PYTHON, "app.handler",
                      wait=False)
    h.create_function(client, names["node"], "node.zip", h.NODE, "index.handler", wait=False)
    h.create_function(client, names["rust"], "rust.zip", h.PROVIDED, "bootstrap.is.ignored",
                      wait=False)
    h.create_function(client, names["shell"], "shell.zip", "provided.al2", "shell.handler",
                      wait=False)
    for n in names.values():
        h.wait_active(client, n)
    return names


def test_python(client, fns):
    name = fns["python"]
    inv = h.invoke(client, name, {"lang": "python", "nested": {"list": [1, 2, None]}})
    assert inv.status == 200
    assert inv.function_error is None, inv.payload
    assert inv.executed_version == "$LATEST"
    body = inv.json
    assert body["python"] is True
    assert body["event"] == {"lang": "python", "nested": {"list": [1, 2, None]}}
    assert body["context"]["request_id"] == inv.request_id
    assert body["context"]["function_name"] == name
    assert body["context"]["invoked_function_arn"] == h.function_arn(name)
    assert body["env"]["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.11"


def test_node(client, fns):
    name = fns["node"]
    inv = h.invoke(client, name, {"lang": "node"})
    assert inv.status == 200
    assert inv.function_error is None, inv.payload
    body = inv.json
    assert body["node"] is True
    assert body["event"] == {"lang": "node"}
    ctx = body["context"]
    assert ctx["awsRequestId"] == inv.request_id
    assert ctx["functionName"] == name
    assert ctx["functionVersion"] == "$LATEST"
    assert str(ctx["memoryLimitInMB"]) == "128"
    assert ctx["invokedFunctionArn"] == h.function_arn(name)
    assert 0 < ctx["remainingMs"] <= 3000
    assert ctx["logGroupName"] == f"/aws/lambda/{name}"
    assert h.LOG_STREAM_RE.match(ctx["logStreamName"]), ctx["logStreamName"]
    assert body["env"]["AWS_EXECUTION_ENV"] == "AWS_Lambda_nodejs20.x"
    assert body["env"]["_HANDLER"] == "index.handler"


def test_node_throws(client, fns):
    inv = h.invoke(client, fns["node"], {"action": "throw", "message": "node went wrong"})
    assert inv.status == 200
    assert inv.function_error == "Unhandled"
    err = inv.json
    assert err["errorType"] == "HearthNodeError"
    assert err["errorMessage"] == "node went wrong"
    # The environment survives a handled error.
    assert h.invoke_ok(client, fns["node"], {"after": "throw"})["event"] == {"after": "throw"}


def test_rust_lambda_runtime(client, fns):
    name = fns["rust"]
    before_ms = int(time.time() * 1000)
    inv = h.invoke(client, name, {"lang": "rust", "n": 42})
    after_ms = int(time.time() * 1000)
    assert inv.status == 200
    assert inv.function_error is None, inv.payload
    body = inv.json
    assert body["rust"] is True
    assert body["event"] == {"lang": "rust", "n": 42}
    ctx = body["context"]
    assert ctx["request_id"] == inv.request_id
    assert ctx["invoked_function_arn"] == h.function_arn(name)
    assert ctx["function_name"] == name
    assert ctx["memory"] == 128
    assert ctx["version"] == "$LATEST"
    assert ctx["log_group"] == f"/aws/lambda/{name}"
    # Lambda-Runtime-Deadline-Ms is epoch ms: start of the invoke + the 3 s default timeout.
    assert before_ms < ctx["deadline"] <= after_ms + 3000 + 1000


def test_rust_error(client, fns):
    inv = h.invoke(client, fns["rust"], {"fail": "rust went wrong"})
    assert inv.status == 200
    assert inv.function_error == "Unhandled"
    assert inv.json["errorMessage"] == "rust went wrong"
    assert inv.json["errorType"]


def test_shell_bootstrap(client, fns):
    name = fns["shell"]
    for i in range(3):
        inv = h.invoke(client, name, {"lang": "bash", "i": i})
        assert inv.status == 200
        assert inv.function_error is None, inv.payload
        body = inv.json
        assert body == {"shell": True, "request_id": inv.request_id, "handler": "shell.handler",
                        "event": {"lang": "bash", "i": i}}


def test_executed_version_and_qualifier(client, fns):
    for name in fns.values():
        inv = h.invoke(client, name, {"q": 1}, Qualifier="$LATEST")
        assert inv.status == 200, name
        assert inv.function_error is None, (name, inv.payload)
        assert inv.executed_version == "$LATEST"
