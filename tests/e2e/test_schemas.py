"""EventBridge Schemas on Hearth's endpoint (docs/schemas.md), driven by boto3's `schemas`
client: registries, schemas and their versions as the console's Test tab and `sam remote
test-event` keep a function's shareable test events, the model's errors, each account's
own registries, IAM on the registry and schema ARNs, and writes in the audit trail."""

import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import hearth_e2e as h

pytestmark = pytest.mark.sandbox_neutral
A = h.ACCOUNT
OTHER = "222233334444"
CONTENT = json.dumps({
    "openapi": "3.0.0", "info": {"version": "1.0.0", "title": "Event"}, "paths": {},
    "components": {"schemas": {"Event": {"type": "object"}},
                   "examples": {"first": {"value": {"n": 1}}}}})


@pytest.fixture(scope="module")
def schemas(server):
    return h.service_client(server.endpoint, "schemas")


def client_of(server, key):
    return boto3.session.Session().client(
        "schemas", region_name=h.REGION, endpoint_url=server.endpoint,
        aws_access_key_id=key[0], aws_secret_access_key=key[1],
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def without_meta(answer):
    return {k: v for k, v in answer.items() if k != "ResponseMetadata"}


def test_registries_and_schemas_with_their_versions(schemas):
    registry = h.unique_name("reg")
    made = schemas.create_registry(RegistryName=registry, Description="test events")
    assert made["ResponseMetadata"]["HTTPStatusCode"] == 201
    arn = f"arn:aws:schemas:{h.REGION}:{A}:registry/{registry}"
    assert without_meta(made) == {"RegistryArn": arn, "RegistryName": registry,
                                  "Description": "test events", "Tags": {}}
    assert without_meta(schemas.describe_registry(RegistryName=registry)) == without_meta(made)
    listed = schemas.list_registries(RegistryNamePrefix=registry)["Registries"]
    assert listed == [{"RegistryArn": arn, "RegistryName": registry, "Tags": {}}]

    name = "_f-schema"
    created = schemas.create_schema(RegistryName=registry, SchemaName=name, Type="OpenApi3",
                                    Content=CONTENT)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    schema_arn = f"arn:aws:schemas:{h.REGION}:{A}:schema/{registry}/{name}"
    assert created["SchemaArn"] == schema_arn
    assert created["SchemaVersion"] == "1" and created["Type"] == "OpenApi3"
    described = schemas.describe_schema(RegistryName=registry, SchemaName=name)
    assert described["Content"] == CONTENT and described["SchemaVersion"] == "1"
    assert described["VersionCreatedDate"] == described["LastModified"]

    changed = json.loads(CONTENT)
    changed["components"]["examples"]["second"] = {"value": {"n": 2}}
    updated = schemas.update_schema(RegistryName=registry, SchemaName=name, Type="OpenApi3",
                                    Content=json.dumps(changed))
    assert updated["SchemaVersion"] == "2"
    latest = schemas.describe_schema(RegistryName=registry, SchemaName=name)
    assert json.loads(latest["Content"]) == changed and latest["SchemaVersion"] == "2"
    first = schemas.describe_schema(RegistryName=registry, SchemaName=name, SchemaVersion="1")
    assert first["Content"] == CONTENT
    # Nothing changed: no new version.
    same = schemas.update_schema(RegistryName=registry, SchemaName=name,
                                 Content=json.dumps(changed))
    assert same["SchemaVersion"] == "2"
    versions = schemas.list_schema_versions(RegistryName=registry, SchemaName=name)
    assert [v["SchemaVersion"] for v in versions["SchemaVersions"]] == ["1", "2"]
    # The oldest version deleted (as `sam remote test-event put` keeps five): the others kept.
    gone_version = schemas.delete_schema_version(RegistryName=registry, SchemaName=name,
                                                 SchemaVersion="1")
    assert gone_version["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as missing:
        schemas.describe_schema(RegistryName=registry, SchemaName=name, SchemaVersion="1")
    assert h.error_of(missing.value)[:2] == (404, "NotFoundException")
    with pytest.raises(ClientError) as missing:
        schemas.delete_schema_version(RegistryName=registry, SchemaName=name,
                                      SchemaVersion="1")
    assert h.error_of(missing.value)[:2] == (404, "NotFoundException")
    versions = schemas.list_schema_versions(RegistryName=registry, SchemaName=name)
    assert [v["SchemaVersion"] for v in versions["SchemaVersions"]] == ["2"]

    schemas.create_schema(RegistryName=registry, SchemaName="_g-schema", Type="OpenApi3",
                          Content=CONTENT)
    schemas.create_schema(RegistryName=registry, SchemaName="other", Type="JSONSchemaDraft4",
                          Content='{"type": "object"}')
    page = schemas.list_schemas(RegistryName=registry, SchemaNamePrefix="_", Limit=1)
    assert [(s["SchemaName"], s["VersionCount"]) for s in page["Schemas"]] == [(name, 1)]
    rest = schemas.list_schemas(RegistryName=registry, SchemaNamePrefix="_", Limit=1,
                                NextToken=page["NextToken"])
    assert [s["SchemaName"] for s in rest["Schemas"]] == ["_g-schema"]
    assert "NextToken" not in rest
    everything = schemas.list_schemas(RegistryName=registry)["Schemas"]
    assert [s["SchemaName"] for s in everything] == [name, "_g-schema", "other"]

    deleted = schemas.delete_schema(RegistryName=registry, SchemaName=name)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as gone:
        schemas.describe_schema(RegistryName=registry, SchemaName=name)
    assert h.error_of(gone.value)[:2] == (404, "NotFoundException")
    schemas.delete_registry(RegistryName=registry)
    with pytest.raises(ClientError) as gone:
        schemas.describe_registry(RegistryName=registry)
    assert h.error_of(gone.value)[:2] == (404, "NotFoundException")


def test_errors_have_the_models_shapes(schemas):
    registry = h.unique_name("reg-errors")
    with pytest.raises(ClientError) as missing:
        schemas.describe_registry(RegistryName=registry)
    assert h.error_of(missing.value)[:2] == (404, "NotFoundException")
    with pytest.raises(ClientError) as missing:
        schemas.create_schema(RegistryName=registry, SchemaName="s", Type="OpenApi3",
                              Content=CONTENT)
    assert h.error_of(missing.value)[:2] == (404, "NotFoundException")
    schemas.create_registry(RegistryName=registry)
    with pytest.raises(ClientError) as twice:
        schemas.create_registry(RegistryName=registry)
    assert h.error_of(twice.value)[:2] == (409, "ConflictException")
    with pytest.raises(ClientError) as missing:
        schemas.describe_schema(RegistryName=registry, SchemaName="nothing")
    assert h.error_of(missing.value)[:2] == (404, "NotFoundException")
    with pytest.raises(ClientError) as missing:
        schemas.update_schema(RegistryName=registry, SchemaName="nothing", Content=CONTENT)
    assert h.error_of(missing.value)[:2] == (404, "NotFoundException")
    schemas.create_schema(RegistryName=registry, SchemaName="s", Type="OpenApi3",
                          Content=CONTENT)
    with pytest.raises(ClientError) as twice:
        schemas.create_schema(RegistryName=registry, SchemaName="s", Type="OpenApi3",
                              Content=CONTENT)
    assert h.error_of(twice.value)[:2] == (409, "ConflictException")
    with pytest.raises(ClientError) as bad:
        schemas.update_schema(RegistryName=registry, SchemaName="s", Content="not json")
    assert h.error_of(bad.value)[:2] == (400, "BadRequestException")
    with pytest.raises(ClientError) as bad:
        schemas.describe_schema(RegistryName=registry, SchemaName="s", SchemaVersion="x")
    assert h.error_of(bad.value)[:2] == (400, "BadRequestException")
    with pytest.raises(ClientError) as missing:
        schemas.describe_schema(RegistryName=registry, SchemaName="s", SchemaVersion="9")
    assert h.error_of(missing.value)[:2] == (404, "NotFoundException")
    assert "version 9" in h.error_of(missing.value)[2]
    schemas.delete_registry(RegistryName=registry)


def test_each_account_sees_only_its_own_registries(server, schemas, tmp_path):
    registry = h.unique_name("reg-own")
    schemas.create_registry(RegistryName=registry)
    schemas.create_schema(RegistryName=registry, SchemaName="s", Type="OpenApi3",
                          Content=CONTENT)
    everything = [{"Effect": "Allow", "Action": "schemas:*", "Resource": "*"}]
    other = client_of(server, h.user_key(server, tmp_path, OTHER, "schemas-other", everything))
    assert registry not in [r["RegistryName"] for r in other.list_registries()["Registries"]]
    with pytest.raises(ClientError) as missing:
        other.describe_registry(RegistryName=registry)
    assert h.error_of(missing.value)[:2] == (404, "NotFoundException")
    with pytest.raises(ClientError) as missing:
        other.describe_schema(RegistryName=registry, SchemaName="s")
    assert h.error_of(missing.value)[:2] == (404, "NotFoundException")
    # The other account may have a registry of the same name, its own.
    mine = other.create_registry(RegistryName=registry)
    assert mine["RegistryArn"] == f"arn:aws:schemas:{h.REGION}:{OTHER}:registry/{registry}"
    with pytest.raises(ClientError) as missing:
        other.describe_schema(RegistryName=registry, SchemaName="s")
    assert h.error_of(missing.value)[:2] == (404, "NotFoundException")
    assert schemas.describe_schema(RegistryName=registry, SchemaName="s")["SchemaVersion"] == "1"
    other.delete_registry(RegistryName=registry)
    assert schemas.describe_registry(RegistryName=registry)["RegistryName"] == registry
    schemas.delete_registry(RegistryName=registry)


def test_each_operation_is_authorised_on_its_registry_or_schema(server, schemas, tmp_path):
    registry = h.unique_name("reg-auth")
    schemas.create_registry(RegistryName=registry)
    schemas.create_schema(RegistryName=registry, SchemaName="_mine-schema", Type="OpenApi3",
                          Content=CONTENT)
    schemas.create_schema(RegistryName=registry, SchemaName="theirs", Type="OpenApi3",
                          Content=CONTENT)
    base = f"arn:aws:schemas:{h.REGION}:{A}"
    reader = client_of(server, h.user_key(server, tmp_path, A, "schemas-reader", [
        {"Effect": "Allow", "Action": "schemas:DescribeSchema",
         "Resource": f"{base}:schema/{registry}/_*"}]))
    assert reader.describe_schema(RegistryName=registry,
                                  SchemaName="_mine-schema")["SchemaVersion"] == "1"
    for call in (lambda: reader.describe_schema(RegistryName=registry, SchemaName="theirs"),
                 lambda: reader.update_schema(RegistryName=registry,
                                              SchemaName="_mine-schema", Content=CONTENT),
                 lambda: reader.describe_registry(RegistryName=registry),
                 lambda: reader.list_registries()):
        with pytest.raises(ClientError) as refused:
            call()
        assert h.error_of(refused.value)[:2] == (403, "ForbiddenException")
    denied = client_of(server, h.user_key(server, tmp_path, A, "schemas-denied", [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "schemas:*", "Resource": "*"}]))
    with pytest.raises(ClientError) as refused:
        denied.list_schemas(RegistryName=registry)
    status, code, message = h.error_of(refused.value)
    assert (status, code) == (403, "ForbiddenException")
    assert "schemas:ListSchemas" in message
    schemas.delete_registry(RegistryName=registry)


def test_writes_are_in_the_audit_trail(server, schemas):
    registry = h.unique_name("reg-audit")
    made = schemas.create_registry(RegistryName=registry)
    schemas.create_schema(RegistryName=registry, SchemaName="s", Type="OpenApi3",
                          Content=CONTENT)
    read = schemas.describe_schema(RegistryName=registry, SchemaName="s")
    gone = schemas.delete_registry(RegistryName=registry)
    trail = h.service_client(server.endpoint, "cloudtrail")
    ids = {made["ResponseMetadata"]["RequestId"]: "CreateRegistry",
           gone["ResponseMetadata"]["RequestId"]: "DeleteRegistry"}

    def recorded():
        events = trail.lookup_events(LookupAttributes=[
            {"AttributeKey": "EventSource", "AttributeValue": "schemas.amazonaws.com"}],
            MaxResults=50)["Events"]
        return {json.loads(e["CloudTrailEvent"])["requestID"]: json.loads(e["CloudTrailEvent"])
                for e in events}

    assert h.wait_until(lambda: set(ids) <= set(recorded()), timeout=10)
    events = recorded()
    for request_id, name in ids.items():
        event = events[request_id]
        assert event["eventSource"] == "schemas.amazonaws.com"
        assert event["eventName"] == name
        assert event["resources"][0]["ARN"] == \
            f"arn:aws:schemas:{h.REGION}:{A}:registry/{registry}"
    assert read["ResponseMetadata"]["RequestId"] not in events
