"""The console's logs tab (issue 22): a live tail of a function's log group over
Server-Sent Events (`GET /console/logs/<function>`), which the server reads with CloudWatch
Logs' own FilterLogEvents as the signed-in principal.

A line printed by an invoke made from outside (boto3) appears in the tail within a second
of the invoke's answer; the filter, pause and order work on what arrives; a key whose policy
denies `logs:FilterLogEvents` sees the API's AccessDenied message. What the page shows is
checked against what FilterLogEvents answers through boto3.
"""

import http.client
import json
import urllib.parse

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import console_browser as cb
import hearth_e2e as h

pytestmark = pytest.mark.sandbox_neutral

browser = cb.browser_fixture()
page = cb.page_fixture()


def log_line(client, name: str, line: str):
    """Invokes `name` so that it prints `line` (tests/functions/python/app.py)."""
    h.invoke_ok(client, name, {"action": "log", "line": line})


def logs_client(endpoint: str, key: tuple | None = None):
    if key is None:
        return h.service_client(endpoint, "logs")
    return boto3.session.Session().client(
        "logs", region_name=h.REGION, endpoint_url=endpoint,
        aws_access_key_id=key[0], aws_secret_access_key=key[1],
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def open_logs(page, server, name: str, live: str = "Live."):
    cb.open_tab(page, server, name, "logs")
    page.locator("#logs-state").filter(has_text=live).wait_for()


def shown(page, text: str):
    """The tail's line containing `text`."""
    return page.locator("#log-lines li", has_text=text)


def test_a_line_invoked_from_outside_appears_in_the_live_tail_within_a_second(page, server,
                                                                              client):
    name = h.unique_name("cons-logs")
    h.create_function(client, name)
    early = h.unique_name("before-the-tab")
    log_line(client, name, early)
    cb.sign_in(page, server)
    open_logs(page, server, name)
    # The tail starts with the newest lines.
    shown(page, early).wait_for()

    line = h.unique_name("live-line")
    log_line(client, name, line)
    shown(page, line).wait_for(timeout=1000)

    # The page shows what FilterLogEvents answers, in its order.
    api = logs_client(server.endpoint).filter_log_events(logGroupName=f"/aws/lambda/{name}")
    expected = [e["message"].rstrip("\n") for e in api["events"]]
    assert page.locator("#log-lines li .msg").all_inner_texts() == expected
    assert any(line in m for m in expected)
    cb.assert_accessible(page)
    cb.screenshot(page, "logs")


def test_filter_pause_and_order(page, server, client):
    name = h.unique_name("cons-logf")
    h.create_function(client, name)
    cb.sign_in(page, server)
    open_logs(page, server, name)
    keep, drop = h.unique_name("keep"), h.unique_name("drop")
    log_line(client, name, f"{keep}-1")
    log_line(client, name, f"{drop}-1")
    shown(page, f"{drop}-1").wait_for()

    # The filter hides the lines shown that do not match, and the stream restarts with it.
    page.get_by_label("Filter").fill(keep)
    page.locator("#logs-state").filter(has_text=f"Live: lines containing “{keep}”.").wait_for()
    assert shown(page, f"{drop}-1").is_hidden()
    assert shown(page, f"{keep}-1").is_visible()
    assert page.locator("#log-lines li:visible .msg").all_inner_texts() == [f"{keep}-1"]
    # The server sends only matching lines: the later of two lines arrives, not the earlier.
    log_line(client, name, f"{drop}-2")
    log_line(client, name, f"{keep}-2")
    shown(page, f"{keep}-2").wait_for()
    assert shown(page, f"{drop}-2").count() == 0

    # Paused, a new line is held (the page counts it) and not shown; resumed, it is.
    pause = page.get_by_role("button", name="Pause")
    pause.click()
    assert pause.get_attribute("aria-pressed") == "true"
    page.locator("#logs-state").filter(has_text="Paused.").wait_for()
    log_line(client, name, f"{keep}-held")
    page.locator("#logs-count").filter(has_text="1 new line held while paused.").wait_for()
    assert shown(page, f"{keep}-held").count() == 0
    pause.click()
    assert pause.get_attribute("aria-pressed") == "false"
    shown(page, f"{keep}-held").wait_for()

    # Newest first: the latest line is on top, and a new one goes above it.
    page.get_by_label("Order").select_option("first")
    visible = page.locator("#log-lines li:visible .msg")
    assert visible.all_inner_texts() == [f"{keep}-held", f"{keep}-2", f"{keep}-1"]
    log_line(client, name, f"{keep}-last")
    shown(page, f"{keep}-last").wait_for()
    assert visible.first.inner_text() == f"{keep}-last"
    page.get_by_label("Order").select_option("last")
    assert visible.last.inner_text() == f"{keep}-last"
    cb.assert_accessible(page)


def test_a_key_denied_filter_log_events_sees_access_denied(page, server, client, tmp_path):
    name = h.unique_name("cons-logd")
    h.create_function(client, name)
    log_line(client, name, "a line it may not read")
    key = h.user_key(server, tmp_path, h.ACCOUNT, h.unique_name("nologs"), [
        {"Effect": "Allow", "Action": ["lambda:*", "logs:*"], "Resource": "*"},
        {"Effect": "Deny", "Action": "logs:FilterLogEvents", "Resource": "*"},
    ])
    # The API's own answer to this key.
    with pytest.raises(ClientError) as refused:
        logs_client(server.endpoint, key).filter_log_events(logGroupName=f"/aws/lambda/{name}")
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    message = refused.value.response["Error"]["Message"]
    assert "is not authorized to perform: logs:FilterLogEvents on resource: " in message

    cb.sign_in(page, server, key)
    cb.open_tab(page, server, name, "logs")
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert alert.inner_text() == f"AccessDeniedException: {message}"
    assert page.locator("#logs-state").inner_text() == "Stopped."
    assert page.locator("#log-lines li").count() == 0
    cb.assert_accessible(page)


def sse_events(resp, until: str, limit: int = 200) -> list[tuple[str, str, str]]:
    """Reads SSE events (id, event, data) from `resp` until one of type `until`."""
    events, fields = [], {}
    for _ in range(limit * 4):
        raw = resp.readline()
        assert raw, f"the stream ended before `{until}`: {events}"
        text = raw.decode().rstrip("\n")
        if text == "":
            # As a browser does: a block without data (`retry:`) dispatches nothing.
            if "data" in fields:
                event = (fields.get("id", ""), fields.get("event", "message"),
                         fields.get("data", ""))
                events.append(event)
                fields = {}
                if event[1] == until:
                    return events
            fields = {}
            continue
        if text.startswith(":"):
            continue
        key, _, value = text.partition(": ")
        fields[key] = value
    raise AssertionError(f"no `{until}` event: {events}")


def open_stream(server, name: str, cookie: str | None, headers: dict | None = None,
                query: str = ""):
    url = urllib.parse.urlsplit(server.endpoint)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    all_headers = {"Accept": "text/event-stream", **(headers or {})}
    if cookie:
        all_headers["Cookie"] = cookie
    conn.request("GET", f"/console/logs/{name}{query}", headers=all_headers)
    return conn, conn.getresponse()


def test_the_stream_over_http_resumes_after_the_last_id_and_needs_a_session(server, client):
    name = h.unique_name("cons-logs-sse")
    h.create_function(client, name)
    for i in range(3):
        log_line(client, name, f"sse-line-{i}")
    cookie, _ = cb.session_cookie(server)

    conn, resp = open_stream(server, name, cookie)
    try:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        events = sse_events(resp, "live")
    finally:
        conn.close()
    lines = [(i, json.loads(d)) for i, kind, d in events if kind == "message"]
    ours = [(i, d) for i, d in lines if d["message"].startswith("sse-line-")]
    assert [d["message"].rstrip("\n") for _, d in ours] == [f"sse-line-{i}" for i in range(3)]
    api = logs_client(server.endpoint).filter_log_events(logGroupName=f"/aws/lambda/{name}")
    assert [(int(e["eventId"]), e["message"], e["timestamp"], e["logStreamName"])
            for e in api["events"]] \
        == [(int(i), d["message"], d["timestamp"], d["stream"]) for i, d in lines]

    # A browser that reconnects sends the last id it got: the lines after it follow.
    first_id = ours[0][0]
    conn, resp = open_stream(server, name, cookie, {"Last-Event-ID": first_id},
                             "?filter=" + urllib.parse.quote("sse-line-"))
    try:
        events = sse_events(resp, "message")
        events += sse_events(resp, "message")
    finally:
        conn.close()
    got = [json.loads(d)["message"].rstrip("\n") for _, kind, d in events if kind == "message"]
    assert got == ["sse-line-1", "sse-line-2"]

    # Without a session: refused before any stream.
    conn, resp = open_stream(server, name, None)
    try:
        assert resp.status == 401
        assert resp.headers["x-amzn-errortype"] == "SessionEnded"
    finally:
        conn.close()
