"""Invocation logs: X-Amz-Log-Type Tail and Hearth's GET /_hearth/logs/{function}."""

import base64
import json
import math
import re
import threading
import time
import uuid

import pytest

import hearth_e2e as h

REPORT_RE = re.compile(
    r"^REPORT RequestId: (?P<id>\S+)\tDuration: (?P<duration>\d+\.\d{2}) ms"
    r"\tBilled Duration: (?P<billed>\d+) ms\tMemory Size: (?P<memory>\d+) MB"
    r"\tMax Memory Used: (?P<used>\d+) MB(?:\tInit Duration: (?P<init>\d+\.\d{2}) ms)?"
    # Failed invocations end with Status (and Error Type), as on AWS.
    r"(?:\tStatus: (?P<status>[a-z]+))?(?:\tError Type: (?P<error_type>\S+))?\t?$"
)


def _lines(text):
    return [line for line in text.splitlines() if line.strip()]


def _report(lines, request_id):
    reports = [line for line in lines if line.startswith(f"REPORT RequestId: {request_id}")]
    assert len(reports) == 1, lines
    m = REPORT_RE.match(reports[0])
    assert m, f"REPORT line does not match the Lambda format: {reports[0]!r}"
    return m


@pytest.fixture(scope="module")
def fn(client):
    name = h.unique_name("logs")
    h.create_function(client, name, MemorySize=192)
    return name


@pytest.fixture(scope="module")
def cold(client, fn):
    """The first (cold) invocation of `fn`, with a known printed line."""
    line = f"hearth-e2e cold line {uuid.uuid4().hex}"
    inv = h.invoke(client, fn, {"action": "log", "line": line}, LogType="Tail")
    assert inv.status == 200 and inv.function_error is None, inv.payload
    return inv, line


def test_tail_has_start_output_end_report(cold):
    inv, line = cold
    assert inv.log_result, "X-Amz-Log-Result missing"
    lines = _lines(inv.log)
    rid = inv.request_id
    start = lines.index(f"START RequestId: {rid} Version: $LATEST")
    printed = lines.index(line)
    end = lines.index(f"END RequestId: {rid}")
    report = [i for i, l in enumerate(lines) if l.startswith(f"REPORT RequestId: {rid}")]
    assert report, lines
    assert start < printed < end < report[0]


def test_report_fields_cold_then_warm(client, fn, cold):
    inv, _ = cold
    m = _report(_lines(inv.log), inv.request_id)
    duration, billed = float(m["duration"]), int(m["billed"])
    assert m["init"] is not None, "a cold start's REPORT must carry Init Duration"
    # Since August 2025 AWS bills a cold start's init with its invocation.
    billed_time = duration + float(m["init"])
    assert math.ceil(billed_time) <= billed <= math.ceil(billed_time) + 1
    assert m["memory"] == "192"
    assert int(m["used"]) > 0
    assert m["status"] is None, "a successful invocation has no Status"

    warm = h.invoke(client, fn, {"action": "log", "line": "warm"}, LogType="Tail")
    # The log tail says why not (a runtime that exited before it took the event says so).
    assert warm.json["count"] >= 2, f"expected the warm environment; its log:\n{warm.log}"
    m = _report(_lines(warm.log), warm.request_id)
    assert m["init"] is None, "a warm invocation's REPORT must not carry Init Duration"
    duration, billed = float(m["duration"]), int(m["billed"])
    assert max(1, math.ceil(duration)) <= billed <= math.ceil(duration) + 1


def test_no_log_result_without_tail(client, fn):
    inv = h.invoke(client, fn, {})
    assert inv.log_result is None
    assert "x-amz-log-result" not in inv.headers


def test_tail_is_last_4_kb(client, fn):
    inv = h.invoke(client, fn, {"action": "log", "line": "y" * 10000}, LogType="Tail")
    assert inv.status == 200 and inv.function_error is None
    raw = base64.b64decode(inv.log_result)
    assert len(raw) <= 4096
    assert len(raw) > 3000
    lines = _lines(raw.decode(errors="replace"))
    assert lines[-1].startswith(f"REPORT RequestId: {inv.request_id}")


def test_tail_of_failed_invocation(client, fn):
    inv = h.invoke(client, fn, {"action": "raise", "message": "logged failure"}, LogType="Tail")
    assert inv.function_error == "Unhandled"
    log = inv.log
    assert f"START RequestId: {inv.request_id}" in log
    assert f"END RequestId: {inv.request_id}" in log
    assert "logged failure" in log
    m = _report(_lines(log), inv.request_id)
    assert m["status"] in (None, "error")


def test_tail_of_timeout(client):
    name = h.unique_name("logs-timeout")
    h.create_function(client, name, Timeout=1)
    inv = h.invoke(client, name, {"action": "sleep", "seconds": 5}, LogType="Tail")
    assert inv.function_error == "Unhandled"
    lines = _lines(inv.log)
    assert f"END RequestId: {inv.request_id}" in lines
    m = _report(lines, inv.request_id)
    assert m["status"] in (None, "timeout")


def _events(server, fn, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    status, headers, body = server.get(f"/_hearth/logs/{fn}" + (f"?{query}" if query else ""))
    assert status == 200, body
    doc = json.loads(body)
    return doc["events"]


def test_hearth_logs_endpoint(server, client, fn, cold):
    inv, line = cold
    events = _events(server, fn)
    messages = [e["message"] for e in events]
    rid = inv.request_id
    assert f"START RequestId: {rid} Version: $LATEST" in messages
    assert line in messages
    assert f"END RequestId: {rid}" in messages
    assert any(m.startswith(f"REPORT RequestId: {rid}\t") for m in messages)
    assert all("\n" not in m for m in messages)

    ids = [e["id"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids), "oldest first, unique ids"
    stamps = [e["timestamp"] for e in events]
    assert all(isinstance(t, int) and t > 1_600_000_000_000 for t in stamps)
    assert stamps == sorted(stamps)
    stream = inv.json["context"]["log_stream_name"]
    ours = [e for e in events if e["message"] == line]
    assert ours[0]["logStream"] == stream
    assert all(h.LOG_STREAM_RE.match(e["logStream"]) for e in events)


def test_hearth_logs_paging(server, client, fn, cold):
    events = _events(server, fn)
    assert len(events) >= 4
    ids = [e["id"] for e in events]
    assert _events(server, fn, after=ids[-1]) == []
    assert [e["id"] for e in _events(server, fn, after=ids[0])] == ids[1:]
    assert [e["id"] for e in _events(server, fn, limit=2)] == ids[:2]
    assert [e["id"] for e in _events(server, fn, after=ids[0], limit=1)] == ids[1:2]
    future = events[-1]["timestamp"] + 3_600_000
    assert _events(server, fn, since=future) == []
    assert [e["id"] for e in _events(server, fn, since=0)] == ids

    line = f"followed {uuid.uuid4().hex}"
    h.invoke_ok(client, fn, {"action": "log", "line": line})
    newer = _events(server, fn, after=ids[-1])
    assert line in [e["message"] for e in newer]
    assert all(e["id"] > ids[-1] for e in newer)


def test_hearth_logs_unknown_function(server):
    name = h.unique_name("nologs")
    status, headers, body = server.get(f"/_hearth/logs/{name}")
    assert status == 404
    assert headers.get("x-amzn-ErrorType", "").split(":")[0] == "ResourceNotFoundException"


def test_logs_are_per_function(server, client, fn):
    other = h.unique_name("logs-other")
    h.create_function(client, other)
    line = f"other function {uuid.uuid4().hex}"
    h.invoke_ok(client, other, {"action": "log", "line": line})
    assert line in [e["message"] for e in _events(server, other)]
    assert line not in [e["message"] for e in _events(server, fn)]


def test_lines_reach_the_log_while_the_invocation_runs(server, client):
    """Output is held briefly so that an invocation's lines go to the store with its END
    (one hand-over instead of two), but a long invocation's lines must not wait for its
    end: the printed line is readable while the function still sleeps."""
    name = h.unique_name("logs-running")
    h.create_function(client, name, Timeout=30,
                      Environment={"Variables": {"HEARTH_TEST_PRINT_EVENT": "1"}})
    token = uuid.uuid4().hex
    done = threading.Event()

    def invoke():
        try:
            h.invoke(client, name, {"action": "sleep", "seconds": 20, "token": token})
        finally:
            done.set()

    threading.Thread(target=invoke, daemon=True).start()
    seen = False
    deadline = time.monotonic() + 15
    while not seen and not done.is_set() and time.monotonic() < deadline:
        seen = any(token in e["message"] and e["message"].startswith("EVENT ")
                   for e in _events(server, name))
        time.sleep(0.2)
    assert seen and not done.is_set(), "the printed line was not in the log while the invocation ran"
    assert done.wait(30)
    messages = [e["message"] for e in _events(server, name)]
    assert sum(token in m for m in messages) == 1, messages
