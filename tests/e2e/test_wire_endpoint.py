"""Functions call Hearth's own AWS API (issue 11, item 9): every environment gets
AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_LAMBDA, AWS_ENDPOINT_URL_CLOUDWATCH_LOGS), so boto3
inside a function works unmodified, as on Lambda.

In a jail the endpoint is 127.0.0.1:9002 inside the environment's own network namespace,
served in-process by Hearth with the AWS paths only: Hearth's /_hearth endpoints answer
404 there, and the host's loopback (where the server listens) stays unreachable. Under
--sandbox process the endpoint is the server's own address.

The function (tests/functions/sdk/app.py, sdk.zip) bundles boto3 and botocore, since
Hearth's Python runtime does not include them.
"""

import os
import time

import pytest

import hearth_e2e as h

JAILED = os.environ.get("HEARTH_SANDBOX", "jail") != "process"
jail_only = pytest.mark.skipif(not JAILED, reason="the process sandbox shares the host's network")


@pytest.fixture(scope="module")
def target(client):
    name = h.unique_name("callee")
    h.create_function(client, name)
    return name


@pytest.fixture(scope="module")
def caller(server, client):
    # The caller's role may invoke functions and read logs.
    h.allow_role(server.endpoint, ["lambda:InvokeFunction", "logs:*"])
    name = h.unique_name("caller")
    h.create_function(client, name, zip_name="sdk.zip", Timeout=30)
    return name


def endpoint(server):
    return "http://127.0.0.1:9002" if JAILED else server.endpoint


def endpoints(server):
    url = endpoint(server)
    return {"AWS_ENDPOINT_URL": url, "AWS_ENDPOINT_URL_LAMBDA": url,
            "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": url}


def test_a_function_invokes_another_with_boto3(server, client, caller, target):
    payload = {"hello": "from a function"}
    got = h.invoke_ok(client, caller, {"action": "invoke", "target": target, "payload": payload})
    answer = got["Payload"]
    # The callee's own answer (tests/functions/python/app.py) names it and echoes the event.
    assert answer["event"] == payload
    assert answer["context"]["function_name"] == target
    assert answer["context"]["invoked_function_arn"] == h.function_arn(target)
    assert got == {
        "StatusCode": 200,
        "ExecutedVersion": "$LATEST",
        "FunctionError": None,
        "Payload": answer,
        "endpoints": endpoints(server),
    }


def test_a_function_reads_logs_with_boto3(server, client, caller, target):
    h.invoke_ok(client, target, {})
    got = h.invoke_ok(client, caller, {"action": "streams", "group": f"/aws/lambda/{target}"})
    events = h.log_events(server, target)
    streams = sorted({e["logStream"] for e in events})
    assert got == {"streams": streams, "endpoints": endpoints(server)}


def test_a_function_that_errs_is_reported_to_its_caller(server, client, caller, target):
    got = h.invoke_ok(client, caller, {"action": "invoke", "target": target,
                                       "payload": {"action": "raise", "message": "inner"}})
    assert got["FunctionError"] == "Unhandled"
    assert got["Payload"]["errorMessage"] == "inner"
    assert got["Payload"]["errorType"] == "HearthTestError"


def test_the_python_function_sees_the_endpoint_variables(server, client, target):
    got = h.invoke_ok(client, target, {"env": list(endpoints(server))})
    assert {k: got["env"][k] for k in endpoints(server)} == endpoints(server)


@jail_only
def test_only_aws_paths_are_served_in_the_jail(client, caller, target):
    fn = h.invoke_ok(client, caller, {"action": "get",
                                      "url": f"http://127.0.0.1:9002/2015-03-31/functions/{target}"})
    # An AWS path is served, and like any AWS request needs a signature (the SDK's, with
    # the environment's role credentials, in the tests above).
    assert fn == {"status": 403, "body": '{"message":"Missing Authentication Token"}'}, fn
    for path in ("/_hearth/runtimes", "/_hearth/environments", f"/_hearth/logs/{target}",
                 "/_hearth"):
        got = h.invoke_ok(client, caller, {"action": "get", "url": f"http://127.0.0.1:9002{path}"})
        assert got == {"status": 404, "body": ""}, path


@jail_only
def test_the_host_loopback_stays_unreachable(server, client, caller):
    port = server.endpoint.rsplit(":", 1)[1]
    got = h.invoke_ok(client, caller, {"action": "get",
                                       "url": f"http://127.0.0.1:{port}/_hearth/runtimes"})
    assert got["error"] == "ConnectionRefusedError", got


AWS_API_CAP = 16  # FUNCTION_API_LIMITS in crates/engine/src/executor/aws_api.rs


def fd_count(server) -> int:
    return len(os.listdir(f"/proc/{server.proc.pid}/fd"))


@jail_only
def test_a_function_cannot_flood_the_aws_api(server, client, target):
    """Like the Runtime API's (test_connections.py): the listener in the environment's
    namespace is served with its own cap, so a function's connections to it cost the
    server a bounded number of descriptors."""
    adversary = h.unique_name("aws-flood")
    h.create_function(client, adversary, "adversary.zip", handler="adversary.handler",
                      Timeout=60)
    h.invoke_ok(client, adversary, {"action": "identity"})
    base = fd_count(server)
    count = 2000
    report = h.invoke_ok(client, adversary, {"action": "conn_flood", "to": "aws_api",
                                             "count": count, "per_process": 900, "hold": 20})
    assert report["opened"] == count, report
    peak = fd_count(server)
    for _ in range(20):
        peak = max(peak, fd_count(server))
        time.sleep(0.1)
    # Meanwhile another function is served.
    assert h.invoke_ok(client, target, {"during": "flood"})["event"] == {"during": "flood"}
    peak = max(peak, fd_count(server))
    assert peak <= base + AWS_API_CAP + 25, \
        f"{peak} descriptors while a function held {count} connections (base {base})"
