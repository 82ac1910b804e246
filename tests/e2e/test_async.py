"""Asynchronous invocation: Event invokes and InvokeAsync accepted with 202 and delivered with
the same request id, the payload limit, retries of function errors (count and spacing, with the
server's retry delays shrunk to 1 s and 2 s), OnSuccess and OnFailure destination records,
event age expiry after throttles, reserved concurrency 0, and the queue shown by `hearth ls`.

Destination functions print every event they get (HEARTH_TEST_PRINT_EVENT), so a record is
read back from their logs."""

import concurrent.futures
import json
import os
import time

import pytest
from botocore.exceptions import ClientError

import hearth_e2e as h

PRINT_EVENTS = {"Variables": {"HEARTH_TEST_PRINT_EVENT": "1"}}
ONE_MB = 1024 * 1024


@pytest.fixture(scope="module")
def srv(tmp_path_factory, runtimes_dir, zips):
    """A server whose function-error retries come 1 s and then 2 s after a failure."""
    base = tmp_path_factory.mktemp("hearth-async")
    (base / "data").mkdir()
    server = h.HearthServer(base / "data", runtimes_dir, base)
    os.environ["HEARTH_ASYNC_RETRY_DELAYS"] = "1s,2s"
    try:
        server.start()
    finally:
        del os.environ["HEARTH_ASYNC_RETRY_DELAYS"]
    # Lambda sends destination records with the function's execution role, which must
    # allow lambda:InvokeFunction on the destination (see the last test).
    h.allow_role(server.endpoint, ["lambda:InvokeFunction"])
    yield server
    server.stop_cleanly()


@pytest.fixture(scope="module")
def client(srv):
    return h.lambda_client(srv.endpoint)


def invoke_event(client, name, payload, **kw):
    """An Event invoke; returns the request id of the 202."""
    resp = client.invoke(FunctionName=name, InvocationType="Event",
                         Payload=json.dumps(payload).encode(), **kw)
    assert resp["StatusCode"] == 202, resp
    assert resp["Payload"].read() == b""
    return resp["ResponseMetadata"]["RequestId"]


def starts(server, name, request_id):
    """Times (epoch ms) at which the function started running this event."""
    return [e["timestamp"] for e in h.log_events(server, name)
            if e["message"].startswith(f"START RequestId: {request_id} ")]


def records(server, dest):
    """The events a destination function received."""
    return [json.loads(e["message"][len("EVENT "):]) for e in h.log_events(server, dest)
            if e["message"].startswith("EVENT ")]


def wait_records(server, dest, count, timeout=60):
    found = []

    def enough():
        found[:] = records(server, dest)
        return len(found) >= count

    assert h.wait_until(enough, timeout=timeout, interval=0.2), \
        f"{dest} got {len(found)} records, expected {count}"
    return found


def with_destinations(client, name, qualifier=None, **config):
    """Creates a destination function and sets it for both outcomes of `name`."""
    dest = h.unique_name("dest")
    h.create_function(client, dest, Environment=PRINT_EVENTS)
    kw = {"Qualifier": qualifier} if qualifier else {}
    client.put_function_event_invoke_config(
        FunctionName=name, **kw, **config,
        DestinationConfig={"OnSuccess": {"Destination": h.function_arn(dest)},
                           "OnFailure": {"Destination": h.function_arn(dest)}})
    return dest


def test_event_is_delivered_with_its_request_id_and_a_success_record(srv, client):
    name = h.unique_name("async")
    h.create_function(client, name)
    dest = with_destinations(client, name)
    rid = invoke_event(client, name, {"hello": 1})
    [record] = wait_records(srv, dest, 1)
    assert record["version"] == "1.0"
    assert record["timestamp"].endswith("Z")
    assert record["requestContext"] == {
        "requestId": rid, "functionArn": h.function_arn(name, "$LATEST"),
        "condition": "Success", "approximateInvokeCount": 1}
    assert record["requestPayload"] == {"hello": 1}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    # The function saw the 202's request id, and the event as sent.
    assert record["responsePayload"]["context"]["request_id"] == rid
    assert record["responsePayload"]["event"] == {"hello": 1}
    messages = [e["message"] for e in h.log_events(srv, name)]
    assert f"ASYNC RequestId: {rid} Attempt: 1" in messages
    assert len(starts(srv, name, rid)) == 1


def test_legacy_invoke_async_and_hearth_invoke_event(srv, client):
    name = h.unique_name("async-legacy")
    h.create_function(client, name)
    resp = client.invoke_async(FunctionName=name, InvokeArgs=json.dumps({"legacy": True}))
    assert resp["Status"] == 202
    rid = resp["ResponseMetadata"]["RequestId"]
    assert h.wait_until(lambda: starts(srv, name, rid), timeout=30)
    out = h.hearth_cli("invoke", name, "--event", "--payload", '{"cli": 1}',
                       "--endpoint", srv.endpoint).stdout
    assert out.startswith("queued ")
    queued = out.split()[1]
    assert h.wait_until(lambda: starts(srv, name, queued), timeout=30)


def test_destinations_are_sent_to_with_the_execution_role(srv, client):
    """A destination is accepted, and later sent a record, only where the function's
    execution role may invoke it: by the role's identity policy or by the destination's
    resource policy naming the role. Otherwise PutFunctionEventInvokeConfig answers
    Lambda's InvalidParameterValueException, and a role whose permission went away since
    loses the record (the server says why)."""
    role = h.unique_name("sender")
    allowed, other = h.unique_name("dest-ok"), h.unique_name("dest-no")
    for dest in (allowed, other):
        h.create_function(client, dest, Environment=PRINT_EVENTS)
    h.allow_role(srv.endpoint, ["lambda:InvokeFunction"], role=role,
                 resource=h.function_arn(allowed))
    role_arn = f"arn:aws:iam::{h.ACCOUNT}:role/{role}"
    name = h.unique_name("async-role")
    h.create_function(client, name, Role=role_arn)

    def put(success, failure=None):
        config = {"OnSuccess": {"Destination": success}}
        if failure:
            config["OnFailure"] = {"Destination": failure}
        return client.put_function_event_invoke_config(FunctionName=name,
                                                        DestinationConfig=config)

    for denied in ([h.function_arn(other)], [h.function_arn(allowed), h.function_arn(other)],
                   [h.function_arn(allowed, "$LATEST")]):
        with pytest.raises(ClientError) as e:
            put(*denied)
        assert h.error_of(e.value) == (
            400, "InvalidParameterValueException",
            "The function execution role does not have permissions to call InvokeFunction "
            f"on {denied[-1]}"), denied
    with pytest.raises(ClientError):
        client.get_function_event_invoke_config(FunctionName=name)
    # The destination's own policy may let the role in instead.
    client.add_permission(FunctionName=other, StatementId="sender", Principal=role_arn,
                          Action="lambda:InvokeFunction")
    put(h.function_arn(allowed), h.function_arn(other))
    first = invoke_event(client, name, {"n": 1})
    [record] = wait_records(srv, allowed, 1)
    assert record["requestContext"]["requestId"] == first
    # The role loses its permission: the next record is not sent.
    h.allow_role(srv.endpoint, ["lambda:GetFunction"], role=role)
    second = invoke_event(client, name, {"n": 2})
    assert h.wait_until(
        lambda: any("destination record not sent" in line and second in line
                    for line in srv.stderr_tail().splitlines()), timeout=60), srv.stderr_tail()
    assert [r["requestContext"]["requestId"] for r in records(srv, allowed)] == [first]


def test_payload_limit_and_bad_requests(srv, client):
    name = h.unique_name("async-limit")
    h.create_function(client, name)
    over = b'"' + b"x" * (ONE_MB - 1) + b'"'
    with pytest.raises(ClientError) as e:
        client.invoke(FunctionName=name, InvocationType="Event", Payload=over)
    status, code, message = h.error_of(e.value)
    assert (status, code) == (413, "RequestTooLargeException")
    assert str(ONE_MB) in message
    # Exactly 1 MB is accepted and delivered; a synchronous call may be larger.
    exact = b'"' + b"x" * (ONE_MB - 2) + b'"'
    resp = client.invoke(FunctionName=name, InvocationType="Event", Payload=exact)
    assert resp["StatusCode"] == 202
    rid = resp["ResponseMetadata"]["RequestId"]
    assert h.wait_until(lambda: starts(srv, name, rid), timeout=30)
    assert client.invoke(FunctionName=name, Payload=b'"' + b"y" * (2 * ONE_MB) + b'"')["StatusCode"] == 200
    # An unknown function and a payload that is not JSON are refused, not queued.
    with pytest.raises(ClientError) as e:
        invoke_event(client, h.unique_name("missing"), {})
    assert h.error_of(e.value)[:2] == (404, "ResourceNotFoundException")
    with pytest.raises(ClientError) as e:
        client.invoke(FunctionName=name, InvocationType="Event", Payload=b"{not json")
    assert h.error_of(e.value)[:2] == (400, "InvalidRequestContentException")


def test_function_errors_are_retried_twice_with_spacing_then_a_failure_record(srv, client):
    name = h.unique_name("async-retry")
    h.create_function(client, name)
    dest = with_destinations(client, name)
    rid = invoke_event(client, name, {"action": "raise", "message": "always"})
    [record] = wait_records(srv, dest, 1)
    times = starts(srv, name, rid)
    assert len(times) == 3, times
    # The server's delays are 1 s, then 2 s.
    assert times[1] - times[0] >= 1000 and times[2] - times[1] >= 2000, times
    messages = [e["message"] for e in h.log_events(srv, name)]
    assert [m for m in messages if m.startswith(f"ASYNC RequestId: {rid}")] == [
        f"ASYNC RequestId: {rid} Attempt: {n}" for n in (1, 2, 3)]
    ctx = record["requestContext"]
    assert (ctx["condition"], ctx["approximateInvokeCount"], ctx["requestId"]) == \
        ("RetriesExhausted", 3, rid)
    assert record["requestPayload"] == {"action": "raise", "message": "always"}
    assert record["responseContext"] == {
        "statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert record["responsePayload"]["errorType"] == "HearthTestError"
    assert record["responsePayload"]["errorMessage"] == "always"
    # Nothing more comes after the record.
    time.sleep(3)
    assert len(starts(srv, name, rid)) == 3


def test_no_retries_on_a_version_with_its_own_config(srv, client):
    name = h.unique_name("async-version")
    h.create_function(client, name)
    client.publish_version(FunctionName=name)
    dest = with_destinations(client, name, qualifier="1", MaximumRetryAttempts=0)
    rid = invoke_event(client, name, {"action": "raise"}, Qualifier="1")
    [record] = wait_records(srv, dest, 1)
    assert record["requestContext"]["functionArn"] == h.function_arn(name, "1")
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["responseContext"]["executedVersion"] == "1"
    time.sleep(2)
    assert len(starts(srv, name, rid)) == 1
    # Unqualified events use the $LATEST configuration: none here, so no record.
    ok = invoke_event(client, name, {})
    assert h.wait_until(lambda: starts(srv, name, ok), timeout=30)
    time.sleep(1)
    assert len(records(srv, dest)) == 1


def test_reserved_concurrency_zero_sends_events_straight_to_failure(srv, client):
    name = h.unique_name("async-zero")
    h.create_function(client, name)
    dest = with_destinations(client, name)
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    rid = invoke_event(client, name, {"n": 0})
    [record] = wait_records(srv, dest, 1)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert record["requestContext"]["requestId"] == rid
    assert record["responseContext"]["statusCode"] == 429
    assert h.log_events(srv, name) == []


def queue_of(server, name):
    status, _, body = server.get("/_hearth/queue")
    assert status == 200, body
    for q in json.loads(body)["functions"]:
        if q["function"] == name:
            return q
    return None


def test_queue_depth_and_oldest_age_are_shown(srv, client):
    name = h.unique_name("async-depth")
    h.create_function(client, name, Timeout=30)
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    ids = [invoke_event(client, name, {"action": "sleep", "seconds": 2}) for _ in range(3)]
    q = queue_of(srv, name)
    assert q is not None and q["queued"] + q["running"] == 3 and q["running"] <= 1, q
    time.sleep(1)
    out = h.hearth_cli("ls", "--endpoint", srv.endpoint).stdout
    header, row = out.splitlines()[0].split(), next(
        line.split() for line in out.splitlines() if line.startswith(name + " "))
    assert "QUEUED" in header and "OLDEST" in header
    # The row's cells line up with the header except MEMORY and TIMEOUT, which have units.
    queued = int(row[header.index("QUEUED") + 2])
    assert 1 <= queued <= 3, out
    assert row[header.index("OLDEST") + 2].endswith("s"), out
    # Reserved concurrency 1 keeps them one at a time: it takes about 6 s to drain.
    assert h.wait_until(lambda: queue_of(srv, name) is None, timeout=60)
    for rid in ids:
        assert len(starts(srv, name, rid)) == 1
    assert max(e["message"].count("Attempt: 2") for e in h.log_events(srv, name)) == 0


def test_throttled_event_expires_at_its_maximum_age(srv, client):
    """Reserved concurrency 1 is held by a 70 s synchronous call: the event is throttled,
    backed off (1 s, 2 s, 4 s, ...), and discarded at 60 s with an EventAgeExceeded record."""
    name = h.unique_name("async-age")
    h.create_function(client, name, Timeout=90)
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    dest = with_destinations(client, name, MaximumEventAgeInSeconds=60)
    url = f"{srv.endpoint}/2015-03-31/functions/{name}/invocations"
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        holder = pool.submit(h.http_request, url, "POST",
                             json.dumps({"action": "sleep", "seconds": 70}).encode(), None, 120)
        assert h.wait_until(lambda: _busy(srv, name) >= 1, timeout=30)
        accepted = time.time()
        rid = invoke_event(client, name, {"late": True})
        [record] = wait_records(srv, dest, 1, timeout=120)
        waited = time.time() - accepted
        ctx = record["requestContext"]
        assert (ctx["condition"], ctx["approximateInvokeCount"], ctx["requestId"]) == \
            ("EventAgeExceeded", 0, rid)
        assert "responseContext" not in record
        assert record["requestPayload"] == {"late": True}
        assert waited >= 59, waited
        assert starts(srv, name, rid) == []
        assert holder.result(timeout=120)[0] == 200


def _busy(server, name):
    status, _, body = server.get("/_hearth/concurrency")
    assert status == 200, body
    return json.loads(body)["functions"].get(name, 0)


def test_a_backlog_does_not_starve_another_function(server_with_env):
    """Two delivery slots: 30 slow events of one function are queued first, then 2 of another.
    The second function's events get a slot as soon as one frees, long before the backlog is
    through, because functions take turns."""
    server = server_with_env(HEARTH_ASYNC_CONCURRENCY="2")
    lam = h.lambda_client(server.endpoint)
    big, small = h.unique_name("async-big"), h.unique_name("async-small")
    h.create_function(lam, big)
    h.create_function(lam, small)
    big_ids = [invoke_event(lam, big, {"action": "sleep", "seconds": 0.3}) for _ in range(30)]
    small_ids = [invoke_event(lam, small, {}) for _ in range(2)]
    assert h.wait_until(lambda: queue_of(server, big) is None and queue_of(server, small) is None,
                        timeout=120)
    big_starts = sorted(t for rid in big_ids for t in starts(server, big, rid))
    small_starts = [t for rid in small_ids for t in starts(server, small, rid)]
    assert len(big_starts) == 30 and len(small_starts) == 2
    assert max(small_starts) < big_starts[-10], (small_starts, big_starts)
