"""The CloudWatch Logs API over functions' log groups (issue 11, item 8): DescribeLogGroups,
DescribeLogStreams, GetLogEvents and FilterLogEvents through boto3 and the AWS CLI, with
whole responses compared (timestamps, ids and tokens normalised), and AWS CLI v2's
`aws logs tail --follow` played with boto3 making the same calls.

Facts from botocore's logs/2014-03-28 model and the answers recorded on AWS
(LocalStack's snapshots of real AWS, tests/aws/services/logs/*.snapshot.json): the group and stream shapes, the error
codes and messages ("The specified log group does not exist.", "The specified nextToken
is invalid.", the limit validation wording).
"""

import json
import re
import threading
import time
import uuid
from collections import defaultdict

import boto3
import pytest
from botocore.config import Config

import hearth_e2e as h

ARN_PREFIX = f"arn:aws:logs:{h.REGION}:{h.ACCOUNT}:log-group:"
TOKEN_RE = re.compile(r"^[fb]/\d{56}/s$")
EVENT_ID_RE = re.compile(r"^\d{56}$")
REPORT_RE = re.compile(r"^(REPORT RequestId: \S+)\tDuration: .*$")


def logs_client(endpoint):
    return boto3.session.Session().client(
        "logs",
        region_name=h.REGION,
        endpoint_url=endpoint,
        aws_access_key_id=h.credentials_for(endpoint)[0],
        aws_secret_access_key=h.credentials_for(endpoint)[1],
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


def aws_logs(server, tmp_path, *args):
    """Runs `aws logs ARGS` (AWS CLI v1) against the server; its JSON output."""
    cmd = h._aws_command()
    run = h.run(cmd + ["logs", *args, "--endpoint-url", server.endpoint,
                       "--region", h.REGION, "--output", "json"], env=h.aws_env(tmp_path, server.endpoint))
    return run.json


def now_ms():
    return int(time.time() * 1000)


def ts(value, since):
    """A timestamp of this test run, normalised."""
    assert isinstance(value, int) and since - 5_000 <= value <= now_ms() + 5_000, value
    return "<ts>"


def norm_event(e, since):
    e = dict(e)
    for key in ("timestamp", "ingestionTime"):
        if key in e:
            e[key] = ts(e[key], since)
    if "eventId" in e:
        assert EVENT_ID_RE.match(e["eventId"]), e
        e["eventId"] = "<id>"
    m = REPORT_RE.match(e["message"])
    if m:
        e["message"] = m.group(1) + "\t<metrics>"
    return e


def norm(resp, since):
    """A response without its volatile values (and without ResponseMetadata)."""
    out = {k: v for k, v in resp.items() if k != "ResponseMetadata"}
    if "events" in out:
        out["events"] = [norm_event(e, since) for e in out["events"]]
    for key in ("nextForwardToken", "nextBackwardToken"):
        if key in out:
            assert TOKEN_RE.match(out[key]), out[key]
            out[key] = out[key][:2] + "<n>"
    if "logStreams" in out:
        streams = []
        for s in out["logStreams"]:
            s = dict(s)
            for key in ("creationTime", "firstEventTimestamp", "lastEventTimestamp",
                        "lastIngestionTime"):
                s[key] = ts(s[key], since)
            assert re.match(r"^\d+$", s["uploadSequenceToken"]), s
            s["uploadSequenceToken"] = "<token>"
            streams.append(s)
        out["logStreams"] = streams
    return out


def lines_of(stream_events):
    return [e["message"] for e in stream_events]


@pytest.fixture(scope="module")
def logs(server):
    return logs_client(server.endpoint)


@pytest.fixture(scope="module")
def fn(client):
    """A function with two streams (environments): the first with two invocations, the
    second (after a configuration change) with one that logs a JSON line."""
    since = now_ms()
    name = h.unique_name("wirelogs")
    h.create_function(client, name)
    tag = uuid.uuid4().hex[:8]
    first = h.invoke(client, name, {"action": "log", "line": f"alpha ERROR one {tag}"})
    second = h.invoke(client, name, {"action": "log", "line": f"beta WARN two {tag}"})
    h.update_config(client, name, Environment={"Variables": {"WIRE_LOGS": "1"}})
    third = h.invoke(client, name, {"action": "log",
                                    "line": json.dumps({"level": "ERROR", "n": 3, "tag": tag})})
    for inv in (first, second, third):
        assert inv.status == 200 and inv.function_error is None, inv
    s1 = first.json["env_id"]
    s2 = third.json["env_id"]
    assert second.json["env_id"] == s1 and s1 != s2
    return dict(name=name, group=f"/aws/lambda/{name}", since=since, tag=tag, s1=s1, s2=s2,
                rids=[first.request_id, second.request_id, third.request_id])


def stream_shape(fn, stream):
    return {
        "logStreamName": stream,
        "creationTime": "<ts>",
        "firstEventTimestamp": "<ts>",
        "lastEventTimestamp": "<ts>",
        "lastIngestionTime": "<ts>",
        "uploadSequenceToken": "<token>",
        "arn": f"{ARN_PREFIX}{fn['group']}:log-stream:{stream}",
        "storedBytes": 0,
    }


def expected_stream1(fn):
    r1, r2, _ = fn["rids"]
    return [
        "INIT_START Runtime Version: python:3.11",
        f"START RequestId: {r1} Version: $LATEST",
        f"alpha ERROR one {fn['tag']}",
        f"END RequestId: {r1}",
        f"REPORT RequestId: {r1}\t<metrics>",
        f"START RequestId: {r2} Version: $LATEST",
        f"beta WARN two {fn['tag']}",
        f"END RequestId: {r2}",
        f"REPORT RequestId: {r2}\t<metrics>",
    ]


def test_stream_names_are_lambdas(fn):
    for s in (fn["s1"], fn["s2"]):
        assert h.LOG_STREAM_RE.match(s), s


def test_describe_log_groups(logs, fn):
    resp = logs.describe_log_groups(logGroupNamePrefix=fn["group"])
    group = resp["logGroups"][0]
    assert group["storedBytes"] > 0
    assert norm(resp, fn["since"]) == {
        "logGroups": [{
            "logGroupName": fn["group"],
            "creationTime": resp["logGroups"][0]["creationTime"],
            "metricFilterCount": 0,
            "arn": f"{ARN_PREFIX}{fn['group']}:*",
            "storedBytes": group["storedBytes"],
            "logGroupClass": "STANDARD",
            "logGroupArn": f"{ARN_PREFIX}{fn['group']}",
            "deletionProtectionEnabled": False,
        }],
    }
    ts(group["creationTime"], fn["since"])
    logs.put_retention_policy(logGroupName=fn["group"], retentionInDays=7)
    again = logs.describe_log_groups(logGroupNamePattern=fn["name"])
    assert [(g["logGroupName"], g["retentionInDays"]) for g in again["logGroups"]] == [
        (fn["group"], 7)]
    assert logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/no-such-")[
        "logGroups"] == []


def test_describe_log_groups_pages(logs, client, fn):
    other = h.unique_name("wirelogs")
    h.create_function(client, other)
    h.invoke_ok(client, other, {})
    prefix = "/aws/lambda/wirelogs"
    all_names = sorted(g["logGroupName"]
                       for g in logs.describe_log_groups(logGroupNamePrefix=prefix)["logGroups"])
    assert len(all_names) >= 2
    first = logs.describe_log_groups(logGroupNamePrefix=prefix, limit=1)
    assert [g["logGroupName"] for g in first["logGroups"]] == all_names[:1]
    second = logs.describe_log_groups(logGroupNamePrefix=prefix, limit=1,
                                      nextToken=first["nextToken"])
    assert [g["logGroupName"] for g in second["logGroups"]] == all_names[1:2]


def test_describe_log_streams(logs, fn):
    resp = logs.describe_log_streams(logGroupName=fn["group"])
    # In name order (the environments' ids are random, so not in time order).
    assert norm(resp, fn["since"]) == {
        "logStreams": [stream_shape(fn, s) for s in sorted([fn["s1"], fn["s2"]])],
    }
    by_name = {s["logStreamName"]: s for s in resp["logStreams"]}
    s1, s2 = by_name[fn["s1"]], by_name[fn["s2"]]
    assert s1["firstEventTimestamp"] <= s1["lastEventTimestamp"] <= s2["firstEventTimestamp"]
    # Newest first, one a page, as `aws logs tail` and consoles ask.
    page = logs.describe_log_streams(logGroupName=fn["group"], orderBy="LastEventTime",
                                     descending=True, limit=1)
    assert norm(page, fn["since"]) == {"logStreams": [stream_shape(fn, fn["s2"])],
                                       "nextToken": page["nextToken"]}
    rest = logs.describe_log_streams(logGroupName=fn["group"], orderBy="LastEventTime",
                                     descending=True, limit=1, nextToken=page["nextToken"])
    assert norm(rest, fn["since"]) == {"logStreams": [stream_shape(fn, fn["s1"])]}
    by_arn = logs.describe_log_streams(logGroupIdentifier=f"{ARN_PREFIX}{fn['group']}",
                                       logStreamNamePrefix=fn["s2"][:-4])
    assert norm(by_arn, fn["since"]) == {"logStreams": [stream_shape(fn, fn["s2"])]}


def test_describe_log_streams_with_the_cli(server, tmp_path, fn):
    out = aws_logs(server, tmp_path, "describe-log-streams", "--log-group-name", fn["group"])
    assert norm(out, fn["since"]) == {
        "logStreams": [stream_shape(fn, s) for s in sorted([fn["s1"], fn["s2"]])],
    }


def test_get_log_events_from_head_and_tokens(logs, fn):
    resp = logs.get_log_events(logGroupName=fn["group"], logStreamName=fn["s1"],
                               startFromHead=True)
    assert norm(resp, fn["since"]) == {
        "events": [{"timestamp": "<ts>", "message": m, "ingestionTime": "<ts>"}
                   for m in expected_stream1(fn)],
        "nextForwardToken": "f/<n>",
        "nextBackwardToken": "b/<n>",
    }
    # At the end of the stream the forward token comes back as it was given.
    end = logs.get_log_events(logGroupName=fn["group"], logStreamName=fn["s1"],
                              nextToken=resp["nextForwardToken"])
    assert end["events"] == []
    assert end["nextForwardToken"] == resp["nextForwardToken"]
    # And at its start the backward token.
    start = logs.get_log_events(logGroupName=fn["group"], logStreamName=fn["s1"],
                                nextToken=resp["nextBackwardToken"])
    assert start["events"] == []
    assert start["nextBackwardToken"] == resp["nextBackwardToken"]


def test_get_log_events_newest_first_then_backwards(logs, fn):
    want = expected_stream1(fn)
    last = logs.get_log_events(logGroupName=fn["group"], logStreamName=fn["s1"], limit=3)
    assert [norm_event(e, fn["since"])["message"] for e in last["events"]] == want[-3:]
    before = logs.get_log_events(logGroupName=fn["group"], logStreamName=fn["s1"], limit=3,
                                 nextToken=last["nextBackwardToken"])
    assert [norm_event(e, fn["since"])["message"] for e in before["events"]] == want[-6:-3]
    # Forwards from the earlier page reads the later one again.
    after = logs.get_log_events(logGroupName=fn["group"], logStreamName=fn["s1"], limit=3,
                                nextToken=before["nextForwardToken"])
    assert after["events"] == last["events"]


def test_get_log_events_time_range(logs, fn):
    events = logs.get_log_events(logGroupName=fn["group"], logStreamName=fn["s1"],
                                 startFromHead=True)["events"]
    printed = [e for e in events if e["message"].startswith("beta WARN")][0]
    inside = logs.get_log_events(logGroupName=fn["group"], logStreamName=fn["s1"],
                                 startFromHead=True, startTime=printed["timestamp"],
                                 endTime=printed["timestamp"] + 1)["events"]
    assert printed in inside
    assert all(e["timestamp"] == printed["timestamp"] for e in inside)
    # endTime is exclusive.
    none = logs.get_log_events(logGroupName=fn["group"], logStreamName=fn["s1"],
                               startTime=printed["timestamp"], endTime=printed["timestamp"])
    assert none["events"] == []


def test_get_log_events_with_the_cli(server, tmp_path, fn):
    out = aws_logs(server, tmp_path, "get-log-events", "--log-group-name", fn["group"],
                   "--log-stream-name", fn["s2"], "--start-from-head")
    _, _, r3 = fn["rids"]
    line = json.dumps({"level": "ERROR", "n": 3, "tag": fn["tag"]})
    assert norm(out, fn["since"]) == {
        "events": [{"timestamp": "<ts>", "message": m, "ingestionTime": "<ts>"} for m in [
            "INIT_START Runtime Version: python:3.11",
            f"START RequestId: {r3} Version: $LATEST",
            line,
            f"END RequestId: {r3}",
            f"REPORT RequestId: {r3}\t<metrics>",
        ]],
        "nextForwardToken": "f/<n>",
        "nextBackwardToken": "b/<n>",
    }


def filtered(logs, fn, **kw):
    resp = logs.filter_log_events(logGroupName=fn["group"], **kw)
    return norm(resp, fn["since"])


def event(fn, stream, message):
    return {"logStreamName": stream, "timestamp": "<ts>", "message": message,
            "ingestionTime": "<ts>", "eventId": "<id>"}


def test_filter_log_events_patterns(logs, fn):
    tag = fn["tag"]
    json_line = json.dumps({"level": "ERROR", "n": 3, "tag": tag})
    alpha = event(fn, fn["s1"], f"alpha ERROR one {tag}")
    beta = event(fn, fn["s1"], f"beta WARN two {tag}")
    js = event(fn, fn["s2"], json_line)
    assert filtered(logs, fn, filterPattern=f'"ERROR one {tag}"') == {
        "events": [alpha], "searchedLogStreams": []}
    assert filtered(logs, fn, filterPattern=f"{tag} ?alpha ?beta") == {
        "events": [alpha, beta], "searchedLogStreams": []}
    assert filtered(logs, fn, filterPattern=f"{tag} ERROR -alpha") == {
        "events": [js], "searchedLogStreams": []}
    assert filtered(logs, fn, filterPattern='{ $.level = "ERROR" && $.n >= 3 }') == {
        "events": [js], "searchedLogStreams": []}
    assert filtered(logs, fn, filterPattern=tag, logStreamNames=[fn["s2"]]) == {
        "events": [js], "searchedLogStreams": []}
    assert filtered(logs, fn, filterPattern=tag, logStreamNamePrefix=fn["s1"][:-3]) == {
        "events": [alpha, beta], "searchedLogStreams": []}


def test_filter_log_events_time_range_and_paging(logs, fn):
    everything = logs.filter_log_events(logGroupName=fn["group"])["events"]
    assert "nextToken" not in logs.filter_log_events(logGroupName=fn["group"])
    assert len(everything) == 14
    pages, token = [], None
    while True:
        kw = {"nextToken": token} if token else {}
        page = logs.filter_log_events(logGroupName=fn["group"], limit=4, **kw)
        pages.append(page["events"])
        token = page.get("nextToken")
        if not token:
            break
    assert [e for p in pages for e in p] == everything
    assert len(pages) == 4
    mid = everything[6]["timestamp"]
    ranged = logs.filter_log_events(logGroupName=fn["group"], startTime=mid, endTime=mid)
    assert ranged["events"] == [e for e in everything if e["timestamp"] == mid]


def test_filter_log_events_with_the_cli(server, tmp_path, fn):
    out = aws_logs(server, tmp_path, "filter-log-events", "--log-group-name", fn["group"],
                   "--filter-pattern", f"{fn['tag']} -ERROR")
    assert norm(out, fn["since"]) == {
        "events": [event(fn, fn["s1"], f"beta WARN two {fn['tag']}")],
        "searchedLogStreams": [],
    }


def error_of(exc):
    err = exc.value.response
    return err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]


def test_errors_as_aws(logs, fn):
    missing = "/aws/lambda/" + h.unique_name("nope")
    cases = [
        (lambda: logs.get_log_events(logGroupName=missing, logStreamName="x"),
         {"Code": "ResourceNotFoundException",
          "Message": "The specified log group does not exist."}),
        (lambda: logs.filter_log_events(logGroupName=missing),
         {"Code": "ResourceNotFoundException",
          "Message": "The specified log group does not exist."}),
        (lambda: logs.describe_log_streams(logGroupName=missing),
         {"Code": "ResourceNotFoundException",
          "Message": "The specified log group does not exist."}),
        (lambda: logs.get_log_events(logGroupName=fn["group"], logStreamName="no-such"),
         {"Code": "ResourceNotFoundException",
          "Message": "The specified log stream does not exist."}),
        (lambda: logs.get_log_events(logGroupName=fn["group"], logStreamName=fn["s1"],
                                     nextToken="garbage"),
         {"Code": "InvalidParameterException",
          "Message": "The specified nextToken is invalid."}),
        (lambda: logs.filter_log_events(logGroupName=fn["group"], nextToken="garbage"),
         {"Code": "InvalidParameterException",
          "Message": "The specified nextToken is invalid."}),
        (lambda: logs.describe_log_groups(logGroupNamePrefix="/a", logGroupNamePattern="a"),
         {"Code": "InvalidParameterException",
          "Message": "LogGroup name prefix and LogGroup name pattern are mutually exclusive "
                     "parameters."}),
        (lambda: logs.describe_log_streams(logGroupName=fn["group"],
                                           logGroupIdentifier=fn["group"]),
         {"Code": "ValidationException",
          "Message": "LogGroup name and LogGroup ARN are mutually exclusive parameters."}),
    ]
    for call, want in cases:
        with pytest.raises(logs.exceptions.ClientError) as exc:
            call()
        assert error_of(exc) == (400, want)


def test_limit_validation_as_aws(server, fn):
    raw = boto3.session.Session().client(
        "logs", region_name=h.REGION, endpoint_url=server.endpoint,
        aws_access_key_id=h.credentials_for(server.endpoint)[0],
        aws_secret_access_key=h.credentials_for(server.endpoint)[1],
        config=Config(parameter_validation=False, retries={"total_max_attempts": 1}))
    for call in (lambda: raw.get_log_events(logGroupName=fn["group"], logStreamName=fn["s1"],
                                            limit=10001),
                 lambda: raw.filter_log_events(logGroupName=fn["group"], limit=10001)):
        with pytest.raises(raw.exceptions.ClientError) as exc:
            call()
        assert error_of(exc) == (400, {
            "Code": "InvalidParameterException",
            "Message": "1 validation error detected: Value '10001' at 'limit' failed to "
                       "satisfy constraint: Member must have value less than or equal to 10000",
        })


def test_unknown_operation_is_typed(server):
    status, headers, body = h.http_request(
        server.endpoint + "/", method="POST", body=b"{}",
        headers={"X-Amz-Target": "Logs_20140328.PutLogEvents",
                 "Content-Type": "application/x-amz-json-1.1"})
    assert status == 400
    assert json.loads(body)["__type"] == "UnknownOperationException"


def test_tail_follow_as_cli_v2_does(logs, client, fn):
    """`aws logs tail GROUP --follow` (AWS CLI v2, awscli/customizations/logs/tail.py):
    FilterLogEvents with logGroupName, interleaved=True and startTime (now - 10 minutes by
    default); it follows nextToken while there is one, then polls again from the newest
    timestamp seen, skipping events whose eventId it has already shown at that timestamp
    (the v2 binary itself is not installable here; boto3 makes the same calls)."""
    shown = []
    stop = threading.Event()
    kwargs = {"logGroupName": fn["group"], "interleaved": True,
              "startTime": now_ms() - 10 * 60 * 1000}

    def follow():
        seen = defaultdict(set)
        while not stop.is_set():
            resp = logs.filter_log_events(**kwargs)
            for e in resp["events"]:
                if e["eventId"] not in seen[e["timestamp"]]:
                    seen[e["timestamp"]].add(e["eventId"])
                    shown.append(e)
            if seen:
                newest = max(seen)
                seen = defaultdict(set, {newest: seen[newest]})
            if "nextToken" in resp:
                kwargs["nextToken"] = resp["nextToken"]
            else:
                if seen:
                    kwargs["startTime"] = max(seen)
                kwargs.pop("nextToken", None)
                stop.wait(0.2)

    t = threading.Thread(target=follow, daemon=True)
    t.start()
    try:
        assert h.wait_until(lambda: len(shown) >= 14, timeout=10), shown
        marks = [f"tail line {i} {uuid.uuid4().hex}" for i in range(3)]
        for m in marks:
            h.invoke_ok(client, fn["name"], {"action": "log", "line": m})
        assert h.wait_until(lambda: all(any(e["message"] == m for e in shown) for m in marks),
                            timeout=15), [e["message"] for e in shown]
        time.sleep(0.6)
    finally:
        stop.set()
        t.join(5)
    ids = [e["eventId"] for e in shown]
    assert len(ids) == len(set(ids)), "an event was shown twice"
    assert ids == sorted(ids), "events out of order"
    messages = [e["message"] for e in shown]
    assert [m for m in messages if m.startswith("tail line")] == marks
    total = logs.filter_log_events(logGroupName=fn["group"])["events"]
    assert [e["eventId"] for e in total] == ids
