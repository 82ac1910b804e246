"""The audit trail (docs/data-protection.md): every write is recorded (who, what, on which
resource, from where, with which result), reads and invocations are not; CloudTrail's
LookupEvents reads it (boto3's `cloudtrail` client: filters, time range, paging) and so
does `hearth audit`."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import hearth_e2e as h

ROOT = f"arn:aws:iam::{h.ACCOUNT}:root"


def aws_client(server, service, validate=True):
    return boto3.session.Session().client(
        service, region_name=h.REGION, endpoint_url=server.endpoint,
        **h.key_args(server.endpoint),
        config=Config(retries={"total_max_attempts": 1}, parameter_validation=validate))


@pytest.fixture(scope="module")
def trail(server):
    return aws_client(server, "cloudtrail")


def all_events(trail, **kw) -> list:
    events, token = [], None
    while True:
        page = trail.lookup_events(**kw, **({"NextToken": token} if token else {}))
        events += page["Events"]
        token = page.get("NextToken")
        if not token:
            return events


def events_for(trail, request_ids: list, timeout=10) -> list:
    """The events of these requests (they are committed a moment after the answers)."""
    found = []

    def ready():
        found[:] = [e for e in all_events(trail)
                    if json.loads(e["CloudTrailEvent"])["requestID"] in request_ids]
        return len(found) == len(request_ids)

    assert h.wait_until(ready, timeout=timeout), (request_ids, found)
    return found


def rid(resp) -> str:
    return resp["ResponseMetadata"]["RequestId"]


def expected(name, request_id, resource=None, error=None):
    """An Event of LookupEvents as Hearth answers it, volatile values left to `normal`."""
    record = {
        "eventVersion": "1.08",
        "userIdentity": {"type": "Root", "principalId": h.ACCOUNT, "arn": ROOT,
                         "accountId": h.ACCOUNT, "accessKeyId": h.credentials_for()[0]},
        "eventTime": "<time>",
        "eventSource": "lambda.amazonaws.com",
        "eventName": name,
        "awsRegion": h.REGION,
        "sourceIPAddress": "127.0.0.1",
        "userAgent": "<agent>",
        "requestParameters": None,
        "responseElements": None,
        "requestID": request_id,
        "eventID": "<id>",
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": h.ACCOUNT,
        "eventCategory": "Management",
    }
    if resource:
        record["resources"] = [{"ARN": resource, "accountId": h.ACCOUNT,
                                "type": "AWS::Lambda::Function"}]
    if error:
        record["errorCode"] = error
    return {
        "EventId": "<id>",
        "EventName": name,
        "ReadOnly": "false",
        "AccessKeyId": h.credentials_for()[0],
        "EventTime": "<time>",
        "EventSource": "lambda.amazonaws.com",
        "Username": "root",
        "Resources": [{"ResourceType": "AWS::Lambda::Function", "ResourceName": resource}]
        if resource else [],
        "CloudTrailEvent": record,
    }


def normal(event):
    e = dict(event)
    record = json.loads(e["CloudTrailEvent"])
    assert h.UUID_RE.match(e["EventId"]) and record["eventID"] == e["EventId"]
    assert abs(e["EventTime"].timestamp() - time.time()) < 120
    assert record["eventTime"] == e["EventTime"].strftime("%Y-%m-%dT%H:%M:%SZ")
    assert record["userAgent"].startswith("Boto3/")
    record.update(eventTime="<time>", eventID="<id>", userAgent="<agent>")
    e.update(EventId="<id>", EventTime="<time>", CloudTrailEvent=record)
    return e


def test_writes_are_recorded_with_their_fields_and_reads_are_not(server, client, trail):
    name = h.unique_name("audited")
    arn = h.function_arn(name)
    created = h.create_function(client, name)
    updated = h.update_config(client, name, Description="changed")
    # Reads and invocations: not recorded.
    read = client.get_function(FunctionName=name)
    listed = client.list_functions()
    invoked = client.invoke(FunctionName=name, Payload=b"{}")
    deleted = client.delete_function(FunctionName=name)
    with pytest.raises(ClientError) as failed:
        client.delete_function(FunctionName=name)
    failed_id = failed.value.response["ResponseMetadata"]["RequestId"]
    writes = [rid(created), rid(updated), rid(deleted), failed_id]
    events = events_for(trail, writes)
    assert [normal(e) for e in events] == [
        expected("DeleteFunction", failed_id, arn, error="ResourceNotFoundException"),
        expected("DeleteFunction", rid(deleted), arn),
        expected("UpdateFunctionConfiguration", rid(updated), arn),
        expected("CreateFunction", rid(created)),
    ]
    read_ids = {rid(read), rid(listed), rid(invoked)}
    time.sleep(0.5)
    recorded = {json.loads(e["CloudTrailEvent"])["requestID"] for e in all_events(trail)}
    assert not read_ids & recorded


def test_logs_writes_name_their_log_group(server, client, trail):
    name = h.unique_name("audit-logs")
    h.create_function(client, name)
    logs = aws_client(server, "logs")
    put = logs.put_retention_policy(logGroupName=f"/aws/lambda/{name}", retentionInDays=7)
    (event,) = events_for(trail, [rid(put)])
    assert (event["EventName"], event["EventSource"], event["Resources"]) == (
        "PutRetentionPolicy", "logs.amazonaws.com",
        [{"ResourceType": "AWS::Logs::LogGroup",
          "ResourceName": f"arn:aws:logs:{h.REGION}:{h.ACCOUNT}:log-group:/aws/lambda/{name}"}])


def test_lookup_events_pages_and_filters(server, client, trail):
    start = time.time()
    names = [h.unique_name("audit-page") for _ in range(3)]
    ids = []
    for n in names:
        ids.append(rid(h.create_function(client, n, wait=False)))
    for n in names:
        h.wait_active(client, n)
        ids.append(rid(client.delete_function(FunctionName=n)))
    events_for(trail, ids)
    everything = all_events(trail)
    # Pages of two give the same events, in the same order, newest first.
    paged, token, pages = [], None, 0
    while True:
        page = trail.lookup_events(MaxResults=2, **({"NextToken": token} if token else {}))
        assert len(page["Events"]) <= 2
        paged += page["Events"]
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert [e["EventId"] for e in paged] == [e["EventId"] for e in everything]
    assert pages >= 4
    times = [e["EventTime"] for e in everything]
    assert times == sorted(times, reverse=True)
    # One attribute.
    by_name = all_events(trail, LookupAttributes=[
        {"AttributeKey": "ResourceName", "AttributeValue": h.function_arn(names[1])}])
    assert [e["EventName"] for e in by_name] == ["DeleteFunction"]
    creates = all_events(trail, LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "CreateFunction"}])
    assert creates and {e["EventName"] for e in creates} == {"CreateFunction"}
    assert all_events(trail, LookupAttributes=[
        {"AttributeKey": "ReadOnly", "AttributeValue": "true"}]) == []
    # A time range.
    recent = all_events(trail, StartTime=start - 1, EndTime=time.time() + 1)
    assert {json.loads(e["CloudTrailEvent"])["requestID"] for e in recent} >= set(ids)
    assert all_events(trail, EndTime=start - 3600) == []


def test_lookup_events_errors(server):
    raw = aws_client(server, "cloudtrail", validate=False)
    cases = [
        (dict(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "a"},
                                {"AttributeKey": "Username", "AttributeValue": "b"}]),
         "InvalidLookupAttributesException"),
        (dict(LookupAttributes=[{"AttributeKey": "Nope", "AttributeValue": "a"}]),
         "InvalidLookupAttributesException"),
        (dict(StartTime=2_000_000_000, EndTime=1_000_000_000), "InvalidTimeRangeException"),
        (dict(MaxResults=51), "InvalidMaxResultsException"),
        (dict(MaxResults=0), "InvalidMaxResultsException"),
        (dict(NextToken="garbage"), "InvalidNextTokenException"),
        (dict(EventCategory="other"), "InvalidEventCategoryException"),
    ]
    for kw, code in cases:
        with pytest.raises(ClientError) as e:
            raw.lookup_events(**kw)
        assert h.error_of(e.value)[:2] == (400, code), kw


def test_hearth_audit_prints_the_trail(server, client, trail):
    name = h.unique_name("audit-cli")
    created = h.create_function(client, name)
    deleted = client.delete_function(FunctionName=name)
    events_for(trail, [rid(created), rid(deleted)])
    run = h.hearth_cli("audit", "--endpoint", server.endpoint, "--action", "DeleteFunction",
                       "--principal", "root", "--since", "10m", "--json")
    events = json.loads(run.stdout)
    mine = [e for e in events if e["request_id"] == rid(deleted)]
    assert len(mine) == 1
    e = mine[0]
    assert {k: e[k] for k in ("principal_arn", "event_name", "action", "resource_arn",
                              "source_ip", "status", "error_code", "secure",
                              "event_source")} == {
        "principal_arn": ROOT, "event_name": "DeleteFunction", "action": "lambda:DeleteFunction",
        "resource_arn": h.function_arn(name), "source_ip": "127.0.0.1", "status": 204,
        "error_code": None, "secure": False, "event_source": "lambda.amazonaws.com"}
    assert {ev["event_name"] for ev in events} == {"DeleteFunction"}
    table = h.hearth_cli("audit", "--endpoint", server.endpoint, "--limit", "1").stdout
    lines = table.splitlines()
    assert lines[0].split() == ["TIME", "PRINCIPAL", "EVENT", "RESOURCE", "SOURCE", "RESULT"]
    assert len(lines) == 2
    assert lines[1].split()[1:] == [ROOT, "DeleteFunction", h.function_arn(name),
                                    "127.0.0.1", "204"]
