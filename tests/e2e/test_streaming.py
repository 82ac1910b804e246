"""Response streaming (issue 15 §2): InvokeWithResponseStream read through boto3's event
stream reader, from functions that stream through Node's aws-lambda-ric
(`awslambda.streamifyResponse`, `awslambda.HttpResponseStream.from`) and a custom runtime
that posts a chunked body with curl; a streaming function through plain Invoke, a buffered
one through the streaming API; errors and timeouts after the stream began."""

import base64
import json
import subprocess
import time

import pytest

import hearth_e2e as h
from hearth_fleet import fleet, nodes, postgres  # noqa: F401 (fixtures)

HTTP_INTEGRATION = "application/vnd.awslambda.http-integration-response"


@pytest.fixture(scope="module")
def fns(client):
    """The streaming functions, created together so their cold starts overlap."""
    names = {
        "node": h.unique_name("st-node"),
        "short": h.unique_name("st-short"),
        "buffered": h.unique_name("st-buf"),
        "shell": h.unique_name("st-shell"),
    }
    h.create_function(client, names["node"], "stream-node.zip", h.NODE, "index.handler",
                      wait=False)
    h.create_function(client, names["short"], "stream-node.zip", h.NODE, "index.handler",
                      Timeout=2, wait=False)
    h.create_function(client, names["buffered"], "stream-node.zip", h.NODE, "index.buffered",
                      wait=False)
    h.create_function(client, names["shell"], "stream-shell.zip", h.PROVIDED, "ignored",
                      wait=False)
    for n in names.values():
        h.wait_active(client, n)
    return names


class Streamed:
    """What InvokeWithResponseStream answered: the response's fields, each PayloadChunk
    with when it arrived (epoch ms), and the InvokeComplete event."""

    def __init__(self, resp):
        self.status = resp["StatusCode"]
        self.content_type = resp.get("ResponseStreamContentType")
        self.executed_version = resp.get("ExecutedVersion")
        self.chunks: list[tuple[float, bytes]] = []
        self.complete = None
        for event in resp["EventStream"]:
            assert self.complete is None, f"an event after InvokeComplete: {event}"
            if "PayloadChunk" in event:
                self.chunks.append((time.time() * 1000, event["PayloadChunk"]["Payload"]))
            elif "InvokeComplete" in event:
                self.complete = event["InvokeComplete"]
            else:
                pytest.fail(f"unexpected event {event}")
        assert self.complete is not None, "the stream ended without InvokeComplete"

    @property
    def payload(self) -> bytes:
        return b"".join(c for _, c in self.chunks)


def stream(client, name, payload, **kw) -> Streamed:
    return Streamed(client.invoke_with_response_stream(
        FunctionName=name, Payload=json.dumps(payload).encode(), **kw))


def test_chunks_then_invoke_complete(client, fns):
    got = stream(client, fns["node"], {"mode": "chunks", "chunks": ["a", "bb", "ccc"]})
    assert got.status == 200
    assert got.executed_version == "$LATEST"
    assert got.content_type == "text/plain"
    assert got.payload == b"abbccc"
    assert got.complete == {}


def test_the_first_chunk_arrives_while_the_function_is_still_writing(client, fns):
    # The function writes "first", waits, then writes the time it writes the second
    # chunk: the first must have reached us before that moment (buffering would deliver
    # both after it).
    got = stream(client, fns["node"], {"mode": "paced", "waitMs": 1500})
    assert got.chunks[0][1] == b"first"
    rest = b"".join(c for _, c in got.chunks[1:]).decode()
    assert rest.startswith("second "), got.chunks
    second_written_ms = int(rest.split()[1])
    assert got.chunks[0][0] < second_written_ms, (got.chunks[0][0], second_written_ms)


def test_an_error_after_the_stream_began_ends_it_with_the_error(client, fns):
    got = stream(client, fns["node"], {"mode": "error"})
    assert got.status == 200
    assert got.payload == b"partial"
    assert got.complete.get("ErrorCode"), got.complete
    assert "it broke mid-stream" in got.complete.get("ErrorDetails", ""), got.complete


def test_log_tail_comes_with_invoke_complete(client, fns):
    got = stream(client, fns["node"], {"mode": "log"}, LogType="Tail")
    assert got.payload == b"logged"
    log = base64.b64decode(got.complete["LogResult"]).decode()
    assert "streamed-log-line" in log
    assert "END RequestId:" in log and "REPORT RequestId:" in log
    # Without Tail there is none.
    assert "LogResult" not in stream(client, fns["node"], {"mode": "log"}).complete


def test_http_response_stream_sends_its_prelude_then_eight_nuls_then_the_body(client, fns):
    got = stream(client, fns["node"], {"mode": "http"})
    assert got.content_type == HTTP_INTEGRATION
    prelude, sep, body = got.payload.partition(b"\0" * 8)
    assert sep, got.payload
    assert json.loads(prelude) == {"statusCode": 201,
                                   "headers": {"x-stream": "yes", "content-type": "text/plain"},
                                   "cookies": ["flavour=oat"]}
    assert body == b"hello from a prelude"


def test_a_timeout_mid_stream_ends_the_stream_with_sandbox_timedout(client, fns):
    got = stream(client, fns["short"], {"mode": "hang"})
    assert got.payload == b"before"
    assert got.complete["ErrorCode"] == "Sandbox.Timedout"
    assert got.complete["ErrorDetails"].endswith("Task timed out after 2.00 seconds")
    # The environment was killed; the next invocation runs on a new one.
    again = stream(client, fns["short"], {"mode": "chunks", "chunks": ["ok"]})
    assert (again.payload, again.complete) == (b"ok", {})


def test_a_runtime_that_dies_mid_stream_ends_the_stream_with_an_error(client, fns):
    got = stream(client, fns["node"], {"mode": "crash"})
    assert got.payload == b"doomed"
    # Which Hearth sees first, the process's exit or its connection closing, names it.
    assert got.complete.get("ErrorCode") in ("Runtime.ExitError", "Runtime.InvalidResponse"), \
        got.complete
    # The environment is gone; the next invocation gets a new one.
    again = stream(client, fns["node"], {"mode": "chunks", "chunks": ["alive"]})
    assert (again.payload, again.complete) == (b"alive", {})


def test_a_streaming_function_through_invoke_is_buffered_whole(client, fns):
    inv = h.invoke(client, fns["node"], {"mode": "chunks", "chunks": ["x", "y", "z"]})
    assert (inv.status, inv.function_error, inv.payload) == (200, None, b"xyz")
    failed = h.invoke(client, fns["node"], {"mode": "error"})
    assert failed.function_error == "Unhandled"
    assert "it broke mid-stream" in failed.payload.decode()


def test_a_buffered_function_through_the_stream_is_one_chunk(client, fns):
    got = stream(client, fns["buffered"], {"k": "v"})
    assert got.status == 200
    assert len(got.chunks) == 1
    assert json.loads(got.payload) == {"buffered": True, "event": {"k": "v"}}
    assert got.complete == {}


def test_a_stream_holds_its_concurrency_until_it_ends(client):
    name = h.unique_name("st-slot")
    h.create_function(client, name, "stream-node.zip", h.NODE, "index.handler", Timeout=8)
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    resp = client.invoke_with_response_stream(FunctionName=name,
                                              Payload=json.dumps({"mode": "hang"}).encode())
    events = iter(resp["EventStream"])
    assert next(events)["PayloadChunk"]["Payload"] == b"before"
    # The function is still running (it hangs until its timeout): its one slot is taken,
    # by the stream as by any invocation.
    throttled = h.failure(client.invoke_with_response_stream, FunctionName=name,
                          Payload=b"{}")
    assert throttled["Error"]["Code"] == "TooManyRequestsException"
    assert h.failure(client.invoke, FunctionName=name,
                     Payload=b"{}")["Error"]["Code"] == "TooManyRequestsException"
    rest = list(events)
    assert rest[-1]["InvokeComplete"]["ErrorCode"] == "Sandbox.Timedout", rest
    # Once the stream ended, the slot is free again.
    again = stream(client, name, {"mode": "chunks", "chunks": ["free"]})
    assert again.payload == b"free"


def test_a_custom_runtime_streams_with_curl(client, fns):
    got = stream(client, fns["shell"], {"lines": 4})
    assert got.content_type == "text/plain"
    assert got.payload == b"line 1\nline 2\nline 3\nline 4\n"
    assert got.complete == {}


def test_a_rust_lambda_runtime_function_streams(client):
    if not h.zip_path("rust-stream.zip").exists():
        pytest.skip("rust-stream.zip is built without HEARTH_SKIP_RUST")
    name = h.unique_name("st-rust")
    h.create_function(client, name, "rust-stream.zip", h.PROVIDED, "ignored")
    got = stream(client, name, {"chunks": ["one", "two", "three"], "waitMs": 300})
    # lambda_runtime always sends a metadata prelude, as HttpResponseStream.from does.
    assert got.content_type == HTTP_INTEGRATION
    prelude, sep, body = got.payload.partition(b"\0" * 8)
    assert sep, got.payload
    assert json.loads(prelude) == {"statusCode": 200,
                                   "headers": {"content-type": "application/octet-stream"},
                                   "cookies": []}
    assert body == b"onetwothree"
    assert got.complete == {}
    # The chunks came apart, as written (300 ms apart), not as one buffered answer.
    assert [c for _, c in got.chunks][-3:] == [b"one", b"two", b"three"], got.chunks


def test_errors_before_the_stream_answer_as_invoke_does(client, fns):
    missing = h.unique_name("st-missing")
    as_invoke = h.failure(client.invoke, FunctionName=missing, Payload=b"{}")
    as_stream = h.failure(client.invoke_with_response_stream, FunctionName=missing,
                          Payload=b"{}")
    assert as_stream == as_invoke
    assert as_stream["Error"]["Code"] == "ResourceNotFoundException"
    # Event is not one of this operation's invocation types.
    bad = h.failure(h.lambda_client(client.meta.endpoint_url, validate=False)
                    .invoke_with_response_stream,
                    FunctionName=fns["node"], InvocationType="Event", Payload=b"{}")
    assert bad["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert bad["Error"]["Code"] == "ValidationException"
    dry = client.invoke_with_response_stream(FunctionName=fns["node"], InvocationType="DryRun",
                                             Payload=b"{}")
    assert dry["StatusCode"] == 204


def test_a_throttled_stream_answers_as_a_throttled_invoke(client):
    name = h.unique_name("st-throttled")
    h.create_function(client, name, "stream-node.zip", h.NODE, "index.handler")
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    as_invoke = h.failure(client.invoke, FunctionName=name, Payload=b"{}")
    as_stream = h.failure(client.invoke_with_response_stream, FunctionName=name,
                          Payload=b"{}")
    assert as_stream == as_invoke
    assert as_stream["Error"]["Code"] == "TooManyRequestsException"


def test_a_fleet_forwards_streams_and_passes_them_through_as_they_come(fleet):
    a, b = fleet.add(), fleet.add()
    assert h.wait_until(lambda: all(len([m for m in nodes(n) if m["state"] == "alive"]) == 2
                                    for n in (a, b)), timeout=10)
    # Each node's placement view is the one of its last heartbeat (1 s here).
    time.sleep(2.5)
    clients = [h.lambda_client(n.endpoint) for n in (a, b)]
    name = h.unique_name("st-fleet")
    h.create_function(clients[0], name, "stream-node.zip", h.NODE, "index.handler")
    got = [stream(clients[i % 2], name, {"mode": "chunks", "chunks": [str(i), "-end"]})
           for i in range(6)]
    assert [g.payload for g in got] == [f"{i}-end".encode() for i in range(6)]
    assert all(g.complete == {} and g.content_type == "text/plain" for g in got), got
    # One environment fleet-wide answered them all: the other node's calls were forwarded.
    idle = []
    for n in (a, b):
        status, _, body = n.get("/_hearth/concurrency")
        assert status == 200, body
        idle.append(json.loads(body)["idle"])
    assert sorted(idle) == [0, 1], idle
    # Through each node, the first chunk arrives while the function is still writing (a
    # forward passes the stream through rather than collecting it), and the log tail
    # comes back with InvokeComplete.
    for c in clients:
        paced = stream(c, name, {"mode": "paced", "waitMs": 1000}, LogType="Tail")
        assert paced.chunks[0][1] == b"first"
        second = b"".join(x for _, x in paced.chunks[1:]).decode()
        assert paced.chunks[0][0] < int(second.split()[1]), paced.chunks
        assert "REPORT RequestId:" in base64.b64decode(paced.complete["LogResult"]).decode()


@pytest.fixture(scope="session")
def js_sdk():
    """The JS SDK v3's Lambda client (hearth_e2e.npm_packages)."""
    return h.npm_packages({"@aws-sdk/client-lambda": "3.1164.0"})


def test_the_js_sdk_v3_reads_the_stream(server, fns, js_sdk, tmp_path):
    env = h.aws_env(tmp_path, server.endpoint)
    env["AWS_REGION"] = h.REGION
    out = subprocess.run(["node", h.js_script("stream_reader.mjs"), server.endpoint, fns["node"],
                          json.dumps({"mode": "paced", "waitMs": 1000})],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    head, events = lines[0], lines[1:]
    assert head == {"contentType": "text/plain", "executedVersion": "$LATEST", "status": 200}
    chunks = [(e["at"], base64.b64decode(e["chunk"])) for e in events if "chunk" in e]
    assert chunks[0][1] == b"first"
    second = b"".join(c for _, c in chunks[1:]).decode()
    assert chunks[0][0] < int(second.split()[1]), chunks
    complete = events[-1]["complete"]
    assert "REPORT RequestId:" in base64.b64decode(complete["LogResult"]).decode()
    assert "ErrorCode" not in complete, complete
