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

# How environments are isolated plays no part here (or the tests choose their sandbox
# themselves): run once, in the jail pass, not again under the process sandbox
# (scripts/test.sh).
pytestmark = pytest.mark.sandbox_neutral


ROOT = f"arn:aws:iam::{h.ACCOUNT}:root"
# What CloudTrail records in place of a member the service model marks sensitive.
HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"


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


def expected(name, request_id, resource=None, error=None, params=None, source="lambda"):
    """An Event of LookupEvents as Hearth answers it, volatile values left to `normal`."""
    record = {
        "eventVersion": "1.08",
        "userIdentity": {"type": "Root", "principalId": h.ACCOUNT, "arn": ROOT,
                         "accountId": h.ACCOUNT, "accessKeyId": h.credentials_for()[0]},
        "eventTime": "<time>",
        "eventSource": f"{source}.amazonaws.com",
        "eventName": name,
        "awsRegion": h.REGION,
        "sourceIPAddress": "127.0.0.1",
        "userAgent": "<agent>",
        "requestParameters": params,
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
        "EventSource": f"{source}.amazonaws.com",
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
        expected("DeleteFunction20150331", failed_id, arn, error="ResourceNotFoundException",
                 params={"functionName": name}),
        expected("DeleteFunction20150331", rid(deleted), arn, params={"functionName": name}),
        expected("UpdateFunctionConfiguration20150331v2", rid(updated), arn,
                 params={"functionName": name, "description": "changed"}),
        # The zip is never recorded.
        expected("CreateFunction20150331", rid(created), params={
            "functionName": name, "runtime": h.PYTHON, "role": h.ROLE,
            "handler": "app.handler", "code": {"zipFile": HIDDEN}}),
    ]
    read_ids = {rid(read), rid(listed), rid(invoked)}
    time.sleep(0.5)
    recorded = {json.loads(e["CloudTrailEvent"])["requestID"] for e in all_events(trail)}
    assert not read_ids & recorded


def test_request_parameters_are_recorded_without_secrets(server, client, trail):
    """CloudTrail's requestParameters: the operation's input with the model's member names
    (first letter lower-case), tag keys as written, and what the model marks sensitive
    (environment variables, zips, tokens) replaced by HIDDEN_DUE_TO_SECURITY_REASONS."""
    secret = f"s3cr3t-{h.unique_name('v')}"
    name = h.unique_name("audit-params")
    arn = h.function_arn(name)
    created = h.create_function(client, name, MemorySize=256, Timeout=7,
                                Environment={"Variables": {"DB_PASSWORD": secret}},
                                TracingConfig={"Mode": "Active"},
                                Tags={"Team": "core", "cost-center": "42"})
    config = h.update_config(client, name, Environment={"Variables": {"API_KEY": secret}})
    code = h.update_code(client, name, "python.zip")
    published = client.publish_version(FunctionName=name, Description="v1")
    alias = client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    deleted_alias = client.delete_alias(FunctionName=name, Name="live")
    tagged = client.tag_resource(Resource=arn, Tags={"Stage": "prod"})
    untagged = client.untag_resource(Resource=arn, TagKeys=["Stage", "Team"])
    permitted = client.add_permission(FunctionName=name, StatementId="s1",
                                      Action="lambda:InvokeFunction",
                                      Principal="events.amazonaws.com")
    unpermitted = client.remove_permission(FunctionName=name, StatementId="s1")
    iam = aws_client(server, "iam")
    role = h.unique_name("audited-role")
    trust = json.dumps(h.TRUST_LAMBDA)
    made_role = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust,
                                Tags=[{"Key": "Team", "Value": "core"}])
    logs = aws_client(server, "logs")
    retention = logs.put_retention_policy(logGroupName=f"/aws/lambda/{name}",
                                          retentionInDays=7)
    events = events_for(trail, [rid(r) for r in (
        created, config, code, published, alias, deleted_alias, tagged, untagged, permitted,
        unpermitted, made_role, retention)])
    role_arn = f"arn:aws:iam::{h.ACCOUNT}:role/{role}"
    record = expected("PutRetentionPolicy", rid(retention), source="logs", params={
        "logGroupName": f"/aws/lambda/{name}", "retentionInDays": 7})
    log_group = f"arn:aws:logs:{h.REGION}:{h.ACCOUNT}:log-group:/aws/lambda/{name}"
    record["Resources"] = [{"ResourceType": "AWS::Logs::LogGroup", "ResourceName": log_group}]
    record["CloudTrailEvent"]["resources"] = [
        {"ARN": log_group, "accountId": h.ACCOUNT, "type": "AWS::Logs::LogGroup"}]
    made = expected("CreateRole", rid(made_role), source="iam", params={
        "roleName": role, "assumeRolePolicyDocument": trust,
        "tags": [{"key": "Team", "value": "core"}]})
    made["Resources"] = [{"ResourceType": "AWS::IAM::Role", "ResourceName": role_arn}]
    made["CloudTrailEvent"]["resources"] = [
        {"ARN": role_arn, "accountId": h.ACCOUNT, "type": "AWS::IAM::Role"}]
    assert [normal(e) for e in events] == [
        record,
        made,
        expected("RemovePermission20150331v2", rid(unpermitted), arn,
                 params={"functionName": name, "statementId": "s1"}),
        expected("AddPermission20150331v2", rid(permitted), arn, params={
            "functionName": name, "statementId": "s1", "action": "lambda:InvokeFunction",
            "principal": "events.amazonaws.com"}),
        expected("UntagResource20170331v2", rid(untagged), arn,
                 params={"resource": arn, "tagKeys": ["Stage", "Team"]}),
        expected("TagResource20170331v2", rid(tagged), arn,
                 params={"resource": arn, "tags": {"Stage": "prod"}}),
        expected("DeleteAlias20150331", rid(deleted_alias), f"{arn}:live",
                 params={"functionName": name, "name": "live"}),
        expected("CreateAlias20150331", rid(alias), arn,
                 params={"functionName": name, "name": "live", "functionVersion": "1"}),
        expected("PublishVersion20150331", rid(published), arn,
                 params={"functionName": name, "description": "v1"}),
        expected("UpdateFunctionCode20150331v2", rid(code), arn,
                 params={"functionName": name, "zipFile": HIDDEN}),
        expected("UpdateFunctionConfiguration20150331v2", rid(config), arn, params={
            "functionName": name, "environment": {"variables": HIDDEN}}),
        expected("CreateFunction20150331", rid(created), params={
            "functionName": name, "runtime": h.PYTHON, "role": h.ROLE,
            "handler": "app.handler", "code": {"zipFile": HIDDEN}, "memorySize": 256,
            "timeout": 7, "environment": {"variables": HIDDEN},
            "tracingConfig": {"mode": "Active"},
            "tags": {"Team": "core", "cost-center": "42"}}),
    ]
    # The secret is nowhere in the trail, whichever way it is read.
    assert secret not in json.dumps(all_events(trail), default=str)
    everything = h.hearth_cli("audit", "--endpoint", server.endpoint, "--json").stdout
    assert secret not in everything
    mine = [e for e in json.loads(everything) if e["request_id"] == rid(config)]
    assert [e["request_parameters"] for e in mine] == [
        {"functionName": name, "environment": {"variables": HIDDEN}}]


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
    assert [e["EventName"] for e in by_name] == ["DeleteFunction20150331"]
    creates = all_events(trail, LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "CreateFunction20150331"}])
    assert creates and {e["EventName"] for e in creates} == {"CreateFunction20150331"}
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
        "principal_arn": ROOT, "event_name": "DeleteFunction20150331",
        "action": "lambda:DeleteFunction",
        "resource_arn": h.function_arn(name), "source_ip": "127.0.0.1", "status": 204,
        "error_code": None, "secure": False, "event_source": "lambda.amazonaws.com"}
    assert {ev["event_name"] for ev in events} == {"DeleteFunction20150331"}
    table = h.hearth_cli("audit", "--endpoint", server.endpoint, "--limit", "1").stdout
    lines = table.splitlines()
    assert lines[0].split() == ["TIME", "PRINCIPAL", "EVENT", "RESOURCE", "SOURCE", "RESULT"]
    assert len(lines) == 2
    assert lines[1].split()[1:] == [ROOT, "DeleteFunction20150331", h.function_arn(name),
                                    "127.0.0.1", "204"]
