"""Failed invocations: what the caller gets back (HTTP 200 + X-Amz-Function-Error: Unhandled and
the error payload, or an API error) and that the function is served again afterwards."""

import json

import pytest
from botocore.exceptions import ClientError

import hearth_e2e as h


@pytest.fixture(scope="module")
def py_fn(client):
    name = h.unique_name("fail-py")
    h.create_function(client, name)
    return name


@pytest.fixture(scope="module")
def short_fn(client):
    """Timeout 1 s."""
    name = h.unique_name("fail-timeout")
    h.create_function(client, name, Timeout=1)
    return name


def _assert_unhandled(inv):
    assert inv.status == 200, inv
    assert inv.function_error == "Unhandled", inv.payload[:2000]
    assert inv.headers.get("x-amz-function-error") == "Unhandled"
    return inv.json


def test_handler_exception(client, py_fn):
    err = _assert_unhandled(h.invoke(client, py_fn, {"action": "raise", "message": "it broke"}))
    assert err["errorType"] == "HearthTestError"
    assert err["errorMessage"] == "it broke"
    assert isinstance(err["stackTrace"], list) and err["stackTrace"]
    # A handled error keeps the environment warm.
    after = h.invoke_ok(client, py_fn, {"after": "raise"})
    assert after["event"] == {"after": "raise"}


def test_timeout(client, short_fn):
    warm = h.invoke_ok(client, short_fn)
    inv = h.invoke(client, short_fn, {"action": "sleep", "seconds": 5})
    err = _assert_unhandled(inv)
    assert err == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {inv.request_id} Error: Task timed out after 1.00 seconds",
    }
    # The timed-out environment is replaced: the next invocation is served by a fresh one.
    after = h.invoke_ok(client, short_fn, {"after": "timeout"})
    assert after["event"] == {"after": "timeout"}
    assert after["env_id"] != warm["env_id"]
    assert after["count"] == 1


@pytest.mark.parametrize("code,reason", [
    (1, "Runtime exited with error: exit status 1"),
    (3, "Runtime exited with error: exit status 3"),
    (0, "Runtime exited without providing a reason"),
])
def test_runtime_exit(client, py_fn, code, reason):
    inv = h.invoke(client, py_fn, {"action": "exit", "code": code})
    err = _assert_unhandled(inv)
    assert err == {"errorType": "Runtime.ExitError",
                   "errorMessage": f"RequestId: {inv.request_id} Error: {reason}"}
    after = h.invoke_ok(client, py_fn, {"after": "exit"})
    assert after["count"] == 1, "the next invocation must get a new environment"


def test_runtime_killed(client, py_fn):
    inv = h.invoke(client, py_fn, {"action": "kill"})
    err = _assert_unhandled(inv)
    assert err == {"errorType": "Runtime.ExitError",
                   "errorMessage": f"RequestId: {inv.request_id} Error: "
                                   f"Runtime exited with error: signal: killed"}
    assert h.invoke_ok(client, py_fn)["count"] == 1


def test_init_error_import_module(client):
    name = h.unique_name("fail-import")
    h.create_function(client, name, handler="broken_import.handler")
    expected_message = ("Unable to import module 'broken_import': "
                        "No module named 'hearth_e2e_module_that_does_not_exist'")
    for _ in range(2):  # every invocation retries the init and reports it again
        err = _assert_unhandled(h.invoke(client, name, {}))
        assert err["errorType"] == "Runtime.ImportModuleError"
        assert err["errorMessage"] == expected_message


def test_init_error_exception_at_import(client):
    name = h.unique_name("fail-init")
    h.create_function(client, name, handler="broken_raise.handler")
    err = _assert_unhandled(h.invoke(client, name, {}))
    assert err["errorType"] == "RuntimeError"
    assert err["errorMessage"] == "hearth-e2e init failure"


def test_handler_not_found(client):
    name = h.unique_name("fail-nohandler")
    h.create_function(client, name, handler="app.no_such_function")
    err = _assert_unhandled(h.invoke(client, name, {}))
    assert err["errorType"] == "Runtime.HandlerNotFound"
    assert err["errorMessage"] == "Handler 'no_such_function' missing on module 'app'"


@pytest.mark.parametrize("zip_name,reason", [
    ("no-bootstrap.zip", "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]"),
    ("not-executable.zip", "fork/exec /var/task/bootstrap: permission denied"),
])
def test_invalid_entrypoint(client, zip_name, reason):
    """The messages are AWS's (which names the paths as seen inside an environment)."""
    name = h.unique_name("fail-entry")
    h.create_function(client, name, zip_name, h.PROVIDED, "handler")
    for _ in range(2):
        inv = h.invoke(client, name, {})
        err = _assert_unhandled(inv)
        assert err == {"errorType": "Runtime.InvalidEntrypoint",
                       "errorMessage": f"RequestId: {inv.request_id} Error: {reason}"}


def test_response_too_large(client, py_fn):
    inv = h.invoke(client, py_fn, {"action": "big", "size": h.MAX_RESPONSE + 1024})
    err = _assert_unhandled(inv)
    assert err == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size "
                        "(6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }
    assert h.invoke_ok(client, py_fn, {"after": "big"})["event"] == {"after": "big"}


def test_response_just_under_limit(client, py_fn):
    # A JSON string of size-2 characters plus its quotes is exactly the limit.
    inv = h.invoke(client, py_fn, {"action": "big", "size": h.MAX_RESPONSE - 2})
    assert inv.status == 200
    assert inv.function_error is None, inv.payload[:500]
    assert len(inv.payload) == h.MAX_RESPONSE


def _payload_of_size(size):
    head = b'{"action":"big","size":1,"pad":"'
    tail = b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def test_request_too_large(client, py_fn):
    payload = _payload_of_size(h.MAX_REQUEST + 1)
    assert len(payload) == h.MAX_REQUEST + 1
    with pytest.raises(ClientError) as e:
        h.invoke(client, py_fn, raw=payload)
    status, code, _ = h.error_of(e.value)
    assert (status, code) == (413, "RequestTooLargeException")


def test_request_at_limit_is_accepted(client, py_fn):
    payload = _payload_of_size(h.MAX_REQUEST)
    inv = h.invoke(client, py_fn, raw=payload)
    assert inv.status == 200
    assert inv.function_error is None, inv.payload[:500]
    assert inv.json == "x"


@pytest.mark.parametrize("raw", [b'{"unterminated": ', b"not json at all", b"{'single': 1}"])
def test_invalid_json_payload(client, py_fn, raw):
    with pytest.raises(ClientError) as e:
        h.invoke(client, py_fn, raw=raw)
    status, code, _ = h.error_of(e.value)
    assert (status, code) == (400, "InvalidRequestContentException")


def test_non_object_json_payloads_are_events(client, py_fn):
    for value in ([1, 2, 3], "text", 42, None):
        body = h.invoke_ok(client, py_fn, raw=json.dumps(value).encode())
        assert body["event"] == value


def test_empty_payload_is_empty_object_or_null(client, py_fn):
    inv = h.invoke(client, py_fn, raw=b"")
    assert inv.status == 200 and inv.function_error is None, inv.payload
    assert inv.json["event"] in ({}, None)


def test_dry_run(client, py_fn):
    first = h.invoke_ok(client, py_fn)
    resp = client.invoke(FunctionName=py_fn, InvocationType="DryRun", Payload=b"{}")
    assert resp["StatusCode"] == 204
    assert resp["Payload"].read() == b""
    second = h.invoke_ok(client, py_fn)
    assert second["env_id"] == first["env_id"]
    assert second["count"] == first["count"] + 1, "DryRun must not run the function"


def test_dry_run_unknown_function(client):
    name = h.unique_name("missing")
    with pytest.raises(ClientError) as e:
        client.invoke(FunctionName=name, InvocationType="DryRun")
    # Invoke names the $LATEST it would run, as AWS does.
    assert h.error_of(e.value) == (404, "ResourceNotFoundException",
                                   f"Function not found: {h.function_arn(name, '$LATEST')}")
