"""Function configurations shaped as AWS shapes them, compared whole.

The expected answers follow the responses recorded on AWS (LocalStack's snapshot file
`lambda___test_lambda_api.snapshot.json`: `test_function_lifecycle`, `test_redundant_updates`,
`test_lambda_code_location_zipfile`, `test_publish_version_on_create`, `test_version_lifecycle`,
`test_publish_with_update`, `test_list_functions`, `TestLoggingConfig`, `test_vpc_config`,
`TestLambdaRevisions`, `test_account_settings_total_code_size*`): `RuntimeVersionConfig` in
every configuration, `Environment: {"Variables": {}}` when set empty, no `LastUpdateStatus`
while `Pending`, a new `RevisionId` on every state change and on PublishVersion, list entries
without the members only GetFunction gives, and `$LATEST` under its qualified ARN in
`ListFunctions(FunctionVersion=ALL)`. Only volatile values are normalised: timestamps,
RevisionIds (kept as "rev" placeholders so that equal ones stay equal), the runtime
version's 64 hex digits (checked, then kept as one placeholder) and the code location.
"""

from __future__ import annotations

import json
import re

import pytest
from botocore.exceptions import ClientError

import hearth_e2e as h

# How environments are isolated plays no part here (or the tests choose their sandbox
# themselves): run once, in the jail pass, not again under the process sandbox
# (scripts/test.sh).
pytestmark = pytest.mark.sandbox_neutral


RUNTIME_ARN_RE = re.compile(r"^arn:aws:lambda:us-east-1::runtime:[0-9a-f]{64}$")
WAIT = {"Delay": 1, "MaxAttempts": 60}


class Volatile:
    """Replaces volatile values by stable placeholders: the n-th distinct RevisionId seen
    becomes `<rev:n>`, so a test can say which answers share a revision."""

    def __init__(self):
        self.revisions: dict[str, str] = {}

    def __call__(self, value):
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, dict):
            return value
        out = {}
        for k, v in value.items():
            if k == "ResponseMetadata":
                continue
            if isinstance(v, str) and v.startswith("<"):
                pass  # a placeholder already
            elif k == "LastModified":
                assert h.TIMESTAMP_RE.match(v), v
                v = "<date>"
            elif k == "RevisionId":
                assert h.UUID_RE.match(v), v
                v = self.revisions.setdefault(v, f"<rev:{len(self.revisions) + 1}>")
            elif k == "RuntimeVersionArn":
                assert RUNTIME_ARN_RE.match(v), v
                v = "<runtime-version-arn>"
            elif k == "Location":
                v = "<location>"
            else:
                v = self(v)
            out[k] = v
        return out


def configuration(name, data, *, version="$LATEST", qualified=False, **changes):
    """A whole FunctionConfiguration as GetFunctionConfiguration gives it for `name`,
    Active and Successful, with the settings these tests use unless `changes` say."""
    arn = h.function_arn(name, version if (qualified or version != "$LATEST") else None)
    c = {
        "FunctionName": name,
        "FunctionArn": arn,
        "Runtime": h.PYTHON,
        "Role": h.ROLE,
        "Handler": "app.handler",
        "CodeSize": len(data),
        "Description": "",
        "Timeout": 3,
        "MemorySize": 128,
        "LastModified": "<date>",
        "CodeSha256": h.code_sha256(data),
        "Version": version,
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": "<rev>",
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "Architectures": ["x86_64"],
        "EphemeralStorage": {"Size": 512},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
        "RuntimeVersionConfig": {"RuntimeVersionArn": "<runtime-version-arn>"},
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}"},
    }
    c.update(changes)
    return {k: v for k, v in c.items() if v is not None}


PENDING = dict(State="Pending", StateReason="The function is being created.",
               StateReasonCode="Creating", LastUpdateStatus=None)
IN_PROGRESS = dict(LastUpdateStatus="InProgress",
                   LastUpdateStatusReason="The function is being created.",
                   LastUpdateStatusReasonCode="Creating")
# What ListFunctions and ListVersionsByFunction leave to GetFunction.
LISTED = dict(State=None, LastUpdateStatus=None, RuntimeVersionConfig=None)


def test_the_lifecycle_answers_as_aws(client):
    """test_function_lifecycle and TestLambdaRevisions: each answer whole, each state change
    a new revision."""
    v = Volatile()
    name = h.unique_name("shape-life")
    data, data_v2 = h.zip_bytes("python.zip"), h.zip_bytes("python-v2.zip")
    created = client.create_function(FunctionName=name, Runtime=h.PYTHON, Role=h.ROLE,
                                     Handler="app.handler", Code={"ZipFile": data},
                                     Environment={"Variables": {}})
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert v(created) == configuration(name, data, RevisionId="<rev:1>",
                                       Environment={"Variables": {}}, **PENDING)

    client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=WAIT)
    got = client.get_function(FunctionName=name)
    assert v(got) == {
        "Configuration": configuration(name, data, RevisionId="<rev:2>",
                                       Environment={"Variables": {}}),
        "Code": {"RepositoryType": "S3", "Location": "<location>"},
    }, "Pending to Active is a new revision"
    assert v(client.get_function_configuration(FunctionName=name)) == v(got)["Configuration"]

    updated = client.update_function_configuration(
        FunctionName=name, Description="Changed-Description", MemorySize=512, Timeout=10,
        Environment={"Variables": {"ENV_A": "a"}})
    assert v(updated) == configuration(
        name, data, RevisionId="<rev:3>", Description="Changed-Description", MemorySize=512,
        Timeout=10, Environment={"Variables": {"ENV_A": "a"}}, **IN_PROGRESS)
    client.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=WAIT)
    assert v(client.get_function_configuration(FunctionName=name)) == configuration(
        name, data, RevisionId="<rev:4>", Description="Changed-Description", MemorySize=512,
        Timeout=10, Environment={"Variables": {"ENV_A": "a"}}), "an update settling is a new revision"

    code = client.update_function_code(FunctionName=name, ZipFile=data_v2)
    assert v(code) == configuration(
        name, data_v2, RevisionId="<rev:5>", Description="Changed-Description", MemorySize=512,
        Timeout=10, Environment={"Variables": {"ENV_A": "a"}}, **IN_PROGRESS)
    client.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=WAIT)
    settled = client.get_function_configuration(FunctionName=name)
    assert v(settled)["RevisionId"] == "<rev:6>"

    # PublishVersion gives the version a revision of its own and $LATEST a new one.
    published = client.publish_version(FunctionName=name)
    assert v(published) == configuration(
        name, data_v2, version="1", RevisionId="<rev:7>", Description="Changed-Description",
        MemorySize=512, Timeout=10, Environment={"Variables": {"ENV_A": "a"}})
    listed = client.list_versions_by_function(FunctionName=name)
    assert v(listed) == {"Versions": [
        configuration(name, data_v2, qualified=True, RevisionId="<rev:8>",
                      Description="Changed-Description", MemorySize=512, Timeout=10,
                      Environment={"Variables": {"ENV_A": "a"}}, **LISTED),
        configuration(name, data_v2, version="1", RevisionId="<rev:7>",
                      Description="Changed-Description", MemorySize=512, Timeout=10,
                      Environment={"Variables": {"ENV_A": "a"}}, **LISTED),
    ]}
    client.delete_function(FunctionName=name)


def test_environment_is_absent_unless_given(client):
    """test_lambda_code_location_zipfile: no Environment at all when never set."""
    v = Volatile()
    name = h.unique_name("shape-noenv")
    data = h.zip_bytes("python.zip")
    created = client.create_function(FunctionName=name, Runtime=h.PYTHON, Role=h.ROLE,
                                     Handler="app.handler", Code={"ZipFile": data})
    assert v(created) == configuration(name, data, RevisionId="<rev:1>", **PENDING)
    h.wait_active(client, name)
    # Setting it empty later keeps it, as {"Variables": {}}.
    client.update_function_configuration(FunctionName=name, Environment={})
    h.wait_updated(client, name)
    assert v(client.get_function_configuration(FunctionName=name)) == configuration(
        name, data, RevisionId="<rev:2>", Environment={"Variables": {}})
    client.delete_function(FunctionName=name)


def test_publish_on_create_and_on_update(client):
    """test_publish_version_on_create and test_publish_with_update: the version is Pending
    without a LastUpdateStatus until the change settles, then a new revision."""
    v = Volatile()
    name = h.unique_name("shape-pub")
    data, data_v2 = h.zip_bytes("python.zip"), h.zip_bytes("python-v2.zip")
    created = client.create_function(FunctionName=name, Runtime=h.PYTHON, Role=h.ROLE,
                                     Handler="app.handler", Code={"ZipFile": data},
                                     Publish=True)
    assert v(created) == configuration(name, data, version="1", RevisionId="<rev:1>",
                                       **PENDING)
    client.get_waiter("published_version_active").wait(FunctionName=name, WaiterConfig=WAIT)
    h.wait_active(client, name)
    version = client.get_function_configuration(FunctionName=name, Qualifier="1")
    assert v(version)["RevisionId"] not in ("<rev:1>",), "settling is a new revision"
    assert v(version) == configuration(name, data, version="1", RevisionId=v(version)["RevisionId"])
    again = client.publish_version(FunctionName=name)
    assert v(again) == v(version), "nothing changed: the same version answers"

    updated = client.update_function_code(FunctionName=name, ZipFile=data_v2, Publish=True)
    rev = v(updated)["RevisionId"]
    assert v(updated) == configuration(name, data_v2, version="2", RevisionId=rev, **PENDING)
    latest = client.get_function_configuration(FunctionName=name)
    assert v(latest)["RevisionId"] != rev
    client.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=WAIT)
    settled = client.get_function_configuration(FunctionName=name, Qualifier="2")
    assert settled["State"] == "Active" and settled["LastUpdateStatus"] == "Successful"
    client.delete_function(FunctionName=name)


def test_publishing_keeps_latest_warm(client):
    """PublishVersion's new RevisionId for $LATEST does not make its environments stale."""
    name = h.unique_name("shape-warm")
    h.create_function(client, name)
    before = h.invoke_ok(client, name)
    revision = client.get_function_configuration(FunctionName=name)["RevisionId"]
    client.publish_version(FunctionName=name)
    assert client.get_function_configuration(FunctionName=name)["RevisionId"] != revision
    after = h.invoke_ok(client, name)
    assert after["env_id"] == before["env_id"] and after["count"] == before["count"] + 1
    client.delete_function(FunctionName=name)


def test_publish_version_sees_a_changed_description(client):
    """test_version_lifecycle: a description changed on $LATEST is a change; PublishVersion's
    own Description alone is not."""
    name = h.unique_name("shape-desc")
    h.create_function(client, name, Description="No version :(")
    h.update_config(client, name, Description="First version :)")
    first = client.publish_version(FunctionName=name, Description="First version description :)")
    assert (first["Version"], first["Description"]) == ("1", "First version description :)")
    h.update_config(client, name, Description="Second version :))")
    second = client.publish_version(FunctionName=name)
    assert (second["Version"], second["Description"]) == ("2", "Second version :))")
    third = client.publish_version(FunctionName=name, Description="Third version description :)))")
    assert (third["Version"], third["Description"]) == ("2", "Second version :))")
    assert third["RevisionId"] == second["RevisionId"]
    versions = client.list_versions_by_function(FunctionName=name)["Versions"]
    assert [(x["Version"], x["Description"]) for x in versions] == [
        ("$LATEST", "Second version :))"), ("1", "First version description :)"),
        ("2", "Second version :))")]
    client.delete_function(FunctionName=name)


def test_logging_config_is_stored_validated_and_used(client, raw_client, server):
    """TestLoggingConfig: JSON takes INFO levels unless given, Text drops them; levels need
    JSON; the log group is the function's own. With JSON, the platform lines are JSON
    records filtered by SystemLogLevel and the Python runtime client writes JSON itself."""
    v = Volatile()
    name = h.unique_name("shape-log")
    data = h.zip_bytes("python.zip")
    created = client.create_function(FunctionName=name, Runtime=h.PYTHON, Role=h.ROLE,
                                     Handler="app.handler", Code={"ZipFile": data},
                                     LoggingConfig={"LogFormat": "JSON"})
    json_info = {"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "INFO",
                 "LogGroup": f"/aws/lambda/{name}"}
    assert v(created) == configuration(name, data, RevisionId="<rev:1>",
                                       LoggingConfig=json_info, **PENDING)
    h.wait_active(client, name)

    updated = client.update_function_configuration(
        FunctionName=name, LoggingConfig={"ApplicationLogLevel": "WARN",
                                          "LogGroup": f"/aws/lambda/{name}"})
    assert updated["LoggingConfig"] == json_info | {"ApplicationLogLevel": "WARN"}
    h.wait_updated(client, name)

    for bad, code, message in [
        ({"LogFormat": "Text", "SystemLogLevel": "INFO"}, "InvalidParameterValueException",
         'LogLevel is not supported when LogFormat is set to "Text". Remove LogLevel from your '
         'request or change the LogFormat to "Json" and try again.'),
        ({"LogGroup": "cool_lambda"}, "InvalidParameterValueException",
         f"LoggingConfig.LogGroup cool_lambda is not supported by Hearth: a function's logs go "
         f"to its own log group, /aws/lambda/{name}"),
        ({"LogFormat": "XML"}, "ValidationException",
         "1 validation error detected: Value 'XML' at 'loggingConfig.logFormat' failed to "
         "satisfy constraint: Member must satisfy enum value set: [JSON, Text]"),
    ]:
        with pytest.raises(ClientError) as e:
            raw_client.update_function_configuration(FunctionName=name, LoggingConfig=bad)
        assert h.error_of(e.value) == (400, code, message), bad

    inv = h.invoke(client, name, {"action": "logging", "line": "hello"}, LogType="Tail")
    assert inv.status == 200 and inv.function_error is None, inv
    records = [json.loads(line) for line in inv.log.splitlines() if line.strip()]
    kinds = [r.get("type") or r.get("level") for r in records]
    # The invocation's log: START as an INFO record, the application's WARNING only (its
    # level is WARN), no END (platform.runtimeDone is DEBUG), then the report.
    assert kinds[0] == "platform.start" and kinds[-1] == "platform.report", records
    assert kinds[1:-1] in (["WARN"], ["WARNING"]), records
    start, app, report = records
    assert start["record"] == {"requestId": inv.request_id, "version": "$LATEST"}
    assert app["message"] == "warning hello" and app["requestId"] == inv.request_id, app
    assert set(report["record"]) == {"requestId", "metrics", "status"}
    assert report["record"]["status"] == "success"
    assert set(report["record"]["metrics"]) >= {"durationMs", "billedDurationMs",
                                                "memorySizeMB", "maxMemoryUsedMB"}
    stored = [e["message"] for e in h.log_events(server, name)]
    assert any('"type":"platform.initStart"' in m for m in stored), stored

    # Back to Text: the levels go, the platform lines are text again.
    back = client.update_function_configuration(FunctionName=name,
                                                LoggingConfig={"LogFormat": "Text"})
    assert back["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}"}
    h.wait_updated(client, name)
    text = h.invoke(client, name, {"action": "logging", "line": "plain"}, LogType="Tail").log
    assert "START RequestId:" in text and "REPORT RequestId:" in text, text
    client.delete_function(FunctionName=name)


def test_tracing_vpc_snapstart_and_kms(client, raw_client):
    """Stored and returned as AWS returns them, or refused by name."""
    v = Volatile()
    name = h.unique_name("shape-cfg")
    data = h.zip_bytes("python.zip")
    created = client.create_function(
        FunctionName=name, Runtime=h.PYTHON, Role=h.ROLE, Handler="app.handler",
        Code={"ZipFile": data}, TracingConfig={"Mode": "Active"},
        VpcConfig={"SubnetIds": [], "SecurityGroupIds": []}, SnapStart={"ApplyOn": "None"},
        KMSKeyArn="")
    empty_vpc = {"SubnetIds": [], "SecurityGroupIds": [], "VpcId": "",
                 "Ipv6AllowedForDualStack": False}
    assert v(created) == configuration(name, data, RevisionId="<rev:1>",
                                       TracingConfig={"Mode": "Active"}, VpcConfig=empty_vpc,
                                       **PENDING)
    h.wait_active(client, name)
    back = client.update_function_configuration(FunctionName=name,
                                                TracingConfig={"Mode": "PassThrough"})
    assert back["TracingConfig"] == {"Mode": "PassThrough"}
    assert back["VpcConfig"] == empty_vpc
    h.wait_updated(client, name)

    for kw, code, message in [
        (dict(VpcConfig={"SubnetIds": ["subnet-1"], "SecurityGroupIds": ["sg-1"]}),
         "InvalidParameterValueException",
         "VpcConfig with subnets or security groups is not supported by Hearth: functions "
         "reach the host's network, there are no VPCs"),
        (dict(SnapStart={"ApplyOn": "PublishedVersions"}), "InvalidParameterValueException",
         "SnapStart ApplyOn PublishedVersions is not supported by Hearth: environments start "
         "from the code, not from snapshots"),
        (dict(SnapStart={"ApplyOn": "invalidOption"}), "ValidationException",
         "1 validation error detected: Value 'invalidOption' at 'snapStart.applyOn' failed to "
         "satisfy constraint: Member must satisfy enum value set: [PublishedVersions, None]"),
        # A key Hearth does not have (see test_data_at_rest.py for one it has).
        (dict(KMSKeyArn="arn:aws:kms:us-east-1:000000000000:key/k"),
         "InvalidParameterValueException",
         "Lambda was unable to configure access to your environment variables because the KMS "
         "key is invalid for CreateGrant. Please check your KMS key settings. KMS Exception: "
         "NotFoundExceptionKMS Message: Key 'arn:aws:kms:us-east-1:000000000000:key/k' does not "
         "exist"),
        (dict(TracingConfig={"Mode": "Sometimes"}), "ValidationException",
         "1 validation error detected: Value 'Sometimes' at 'tracingConfig.mode' failed to "
         "satisfy constraint: Member must satisfy enum value set: [Active, PassThrough]"),
    ]:
        with pytest.raises(ClientError) as e:
            raw_client.update_function_configuration(FunctionName=name, **kw)
        assert h.error_of(e.value) == (400, code, message), kw
    client.delete_function(FunctionName=name)


def test_list_functions_all_versions_and_paging(own_server):
    """test_list_functions: FunctionVersion=ALL lists every version after its $LATEST
    (qualified), one entry a page with PageSize 1; MasterRegion as AWS answers it."""
    client = h.lambda_client(own_server.endpoint)
    v = Volatile()
    data = h.zip_bytes("python.zip")
    one, two = "list-fn-1", "list-fn-2"
    h.create_function(client, one, Publish=True, Environment={"Variables": {}})
    h.create_function(client, two, Environment={"Variables": {}})
    h.wait_for(client, one, "State", "Active")
    client.get_waiter("published_version_active").wait(FunctionName=one, WaiterConfig=WAIT)

    paginator = client.get_paginator("list_functions")
    pages = list(paginator.paginate(FunctionVersion="ALL", PaginationConfig={"PageSize": 1}))
    assert [len(p["Functions"]) for p in pages] == [1, 1, 1]
    revs = {c["FunctionArn"]: c["RevisionId"] for p in pages for c in p["Functions"]}
    env = {"Variables": {}}
    assert v([c for p in pages for c in p["Functions"]]) == v([
        configuration(one, data, qualified=True, Environment=env,
                      RevisionId=revs[h.function_arn(one, "$LATEST")], **LISTED),
        configuration(one, data, version="1", Environment=env,
                      RevisionId=revs[h.function_arn(one, "1")], **LISTED),
        configuration(two, data, qualified=True, Environment=env,
                      RevisionId=revs[h.function_arn(two, "$LATEST")], **LISTED),
    ])
    default = paginator.paginate(PaginationConfig={"PageSize": 1}).build_full_result()
    assert [f["FunctionArn"] for f in default["Functions"]] == [h.function_arn(one),
                                                               h.function_arn(two)]

    with pytest.raises(ClientError) as e:
        h.lambda_client(own_server.endpoint, validate=False).list_functions(
            FunctionVersion="invalid")
    assert h.error_of(e.value) == (
        400, "ValidationException",
        "1 validation error detected: Value 'invalid' at 'functionVersion' failed to satisfy "
        "constraint: Member must satisfy enum value set: [ALL]")
    with pytest.raises(ClientError) as e:
        client.list_functions(MasterRegion="eu-west-1")
    assert h.error_of(e.value) == (
        400, "InvalidParameterValueException",
        "The combination MasterArn=eu-west-1 and FunctionVersion=NULL is not supported. "
        "Please see our documentation for valid combinations of ListFunctions options.")
    edge = client.list_functions(MasterRegion="us-east-1", FunctionVersion="ALL")
    assert v(edge) == {"Functions": []}, "Hearth has no Lambda@Edge replicas"

    # TotalCodeSize: $LATEST of both and version 1, as AWS counts it.
    usage = client.get_account_settings()["AccountUsage"]
    assert usage == {"TotalCodeSize": 3 * len(data), "FunctionCount": 2}
    client.publish_version(FunctionName=two)
    assert client.get_account_settings()["AccountUsage"]["TotalCodeSize"] == 4 * len(data)


def test_the_cli_sees_the_same_shapes(client, aws):
    name = h.unique_name("shape-cli")
    data = h.zip_bytes("python.zip")
    h.create_function(client, name, LoggingConfig={"LogFormat": "JSON",
                                                   "SystemLogLevel": "WARN"})
    got = aws("get-function-configuration", "--function-name", name).json
    assert Volatile()(got) == configuration(
        name, data, RevisionId="<rev:1>",
        LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "INFO",
                       "SystemLogLevel": "WARN", "LogGroup": f"/aws/lambda/{name}"})
    listed = aws("list-functions", "--function-version", "ALL").json["Functions"]
    mine = [f for f in listed if f["FunctionName"] == name]
    assert Volatile()(mine) == [configuration(
        name, data, qualified=True, RevisionId="<rev:1>",
        LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "INFO",
                       "SystemLogLevel": "WARN", "LogGroup": f"/aws/lambda/{name}"}, **LISTED)]
    client.delete_function(FunctionName=name)
