"""Versions and aliases: PublishVersion (immutable snapshots, preconditions, `Publish: true`),
ListVersionsByFunction, the alias operations with weighted routing, qualifiers on every call
that takes one, `X-Amz-Executed-Version`, and DeleteFunction of one version."""

import collections

import pytest
from botocore.exceptions import ClientError

import hearth_e2e as h


def publish_two(client, name):
    """A function with version 1 (python.zip, v1) and version 2 (python-v2.zip, v2)."""
    h.create_function(client, name)
    v1 = client.publish_version(FunctionName=name, Description="first")
    h.update_code(client, name, "python-v2.zip")
    v2 = client.publish_version(FunctionName=name)
    return v1, v2


def test_versions_are_immutable_snapshots(client):
    name = h.unique_name("ver")
    v1, v2 = publish_two(client, name)
    assert (v1["Version"], v2["Version"]) == ("1", "2")
    assert v1["FunctionArn"] == h.function_arn(name, "1")
    assert v1["Description"] == "first"
    assert v1["CodeSha256"] == h.code_sha256(h.zip_bytes("python.zip"))
    assert v2["CodeSha256"] == h.code_sha256(h.zip_bytes("python-v2.zip"))

    # $LATEST changes again; the versions do not.
    h.update_config(client, name, Environment={"Variables": {"STAGE": "latest"}}, MemorySize=256)
    got = client.get_function_configuration(FunctionName=name, Qualifier="1")
    assert got["CodeSha256"] == v1["CodeSha256"] and got["MemorySize"] == 128
    assert "Environment" not in got

    for qualifier, code, version in [("1", "v1", "1"), ("2", "v2", "2"), ("$LATEST", "v2", "$LATEST")]:
        inv = h.invoke(client, name, {"env": ["STAGE"]}, Qualifier=qualifier)
        assert inv.status == 200 and inv.function_error is None, inv
        out = inv.json
        assert out["code_version"] == code
        assert inv.executed_version == version
        assert inv.headers["x-amz-executed-version"] == version
        assert out["context"]["function_version"] == version
        assert out["env"]["AWS_LAMBDA_FUNCTION_VERSION"] == version
        assert out["env"]["STAGE"] == ("latest" if version == "$LATEST" else None)
        assert out["env_id"].split("]")[0].endswith(f"[{version}")
        assert out["context"]["invoked_function_arn"] == h.function_arn(name, qualifier)

    # The qualifier can also be part of the name, or of an ARN.
    assert h.invoke_ok(client, f"{name}:1")["code_version"] == "v1"
    assert h.invoke_ok(client, h.function_arn(name, "2"))["code_version"] == "v2"


def test_publish_preconditions_and_unchanged_code(client):
    name = h.unique_name("ver-pre")
    h.create_function(client, name)
    cfg = client.get_function_configuration(FunctionName=name)
    with pytest.raises(ClientError) as e:
        client.publish_version(FunctionName=name, CodeSha256="AAAA" + cfg["CodeSha256"][4:])
    status, code, message = h.error_of(e.value)
    # A 400 on AWS (recorded), unlike a RevisionId that does not match.
    assert (status, code) == (400, "InvalidParameterValueException")
    assert "CodeSHA256" in message
    with pytest.raises(ClientError) as e:
        client.publish_version(FunctionName=name, RevisionId="00000000-0000-0000-0000-000000000000")
    assert h.error_of(e.value)[:2] == (412, "PreconditionFailedException")
    # Nothing was published by the failed calls.
    assert [v["Version"] for v in client.list_versions_by_function(FunctionName=name)["Versions"]] == ["$LATEST"]

    v1 = client.publish_version(FunctionName=name, CodeSha256=cfg["CodeSha256"], RevisionId=cfg["RevisionId"])
    assert v1["Version"] == "1"
    # Nothing changed since version 1: Lambda hands back version 1.
    again = client.publish_version(FunctionName=name)
    assert again["Version"] == "1" and again["RevisionId"] == v1["RevisionId"]


def test_publish_on_create_and_update(client):
    name = h.unique_name("ver-pub")
    created = client.create_function(FunctionName=name, Runtime=h.PYTHON, Role=h.ROLE,
                                     Handler="app.handler", Publish=True,
                                     Code={"ZipFile": h.zip_bytes("python.zip")})
    assert created["Version"] == "1"
    assert created["FunctionArn"] == h.function_arn(name, "1")
    h.wait_active(client, name)
    updated = client.update_function_code(FunctionName=name, ZipFile=h.zip_bytes("python-v2.zip"),
                                          Publish=True)
    assert updated["Version"] == "2"
    h.wait_updated(client, name)
    assert h.invoke_ok(client, name, Qualifier="1")["code_version"] == "v1"
    assert h.invoke_ok(client, name, Qualifier="2")["code_version"] == "v2"
    for version in ("1", "2"):
        cfg = client.get_function_configuration(FunctionName=name, Qualifier=version)
        assert cfg["State"] == "Active" and cfg["LastUpdateStatus"] == "Successful", cfg


def test_list_versions_pages(client):
    name = h.unique_name("ver-list")
    publish_two(client, name)
    listed = client.list_versions_by_function(FunctionName=name)["Versions"]
    assert [v["Version"] for v in listed] == ["$LATEST", "1", "2"]
    assert listed[0]["FunctionArn"] == h.function_arn(name, "$LATEST")
    assert listed[2]["FunctionArn"] == h.function_arn(name, "2")
    seen, marker = [], None
    while True:
        kw = {"Marker": marker} if marker else {}
        page = client.list_versions_by_function(FunctionName=name, MaxItems=1, **kw)
        seen += [v["Version"] for v in page["Versions"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert seen == ["$LATEST", "1", "2"]
    with pytest.raises(ClientError) as e:
        client.list_versions_by_function(FunctionName=h.unique_name("nope"))
    assert h.error_of(e.value)[:2] == (404, "ResourceNotFoundException")


def test_alias_lifecycle(client):
    name = h.unique_name("alias")
    publish_two(client, name)
    created = client.create_alias(FunctionName=name, Name="live", FunctionVersion="1",
                                  Description="production")
    assert created["AliasArn"] == h.function_arn(name, "live")
    assert created["FunctionVersion"] == "1" and created["Description"] == "production"
    assert client.get_alias(FunctionName=name, Name="live")["RevisionId"] == created["RevisionId"]

    inv = h.invoke(client, name, Qualifier="live")
    assert inv.executed_version == "1" and inv.json["code_version"] == "v1"
    assert inv.json["context"]["invoked_function_arn"] == h.function_arn(name, "live")
    cfg = client.get_function(FunctionName=name, Qualifier="live")["Configuration"]
    assert cfg["Version"] == "1" and cfg["FunctionArn"] == h.function_arn(name, "live")

    with pytest.raises(ClientError) as e:
        client.create_alias(FunctionName=name, Name="live", FunctionVersion="2")
    assert h.error_of(e.value)[:2] == (409, "ResourceConflictException")
    with pytest.raises(ClientError) as e:
        client.create_alias(FunctionName=name, Name="other", FunctionVersion="7")
    assert h.error_of(e.value)[:2] == (404, "ResourceNotFoundException")
    with pytest.raises(ClientError) as e:
        client.update_alias(FunctionName=name, Name="live", FunctionVersion="2",
                            RevisionId="00000000-0000-0000-0000-000000000000")
    assert h.error_of(e.value)[:2] == (412, "PreconditionFailedException")

    moved = client.update_alias(FunctionName=name, Name="live", FunctionVersion="2",
                                RevisionId=created["RevisionId"])
    assert moved["FunctionVersion"] == "2" and moved["RevisionId"] != created["RevisionId"]
    assert moved["Description"] == "production"
    assert h.invoke(client, f"{name}:live").executed_version == "2"

    client.create_alias(FunctionName=name, Name="canary", FunctionVersion="1")
    client.create_alias(FunctionName=name, Name="edge", FunctionVersion="$LATEST")
    names = [a["Name"] for a in client.list_aliases(FunctionName=name)["Aliases"]]
    assert names == ["canary", "edge", "live"]
    only_2 = client.list_aliases(FunctionName=name, FunctionVersion="2")["Aliases"]
    assert [a["Name"] for a in only_2] == ["live"]
    first = client.list_aliases(FunctionName=name, MaxItems=2)
    assert len(first["Aliases"]) == 2 and first["NextMarker"]
    rest = client.list_aliases(FunctionName=name, Marker=first["NextMarker"])
    assert [a["Name"] for a in rest["Aliases"]] == ["live"]

    client.delete_alias(FunctionName=name, Name="canary")
    with pytest.raises(ClientError) as e:
        client.get_alias(FunctionName=name, Name="canary")
    assert h.error_of(e.value)[:2] == (404, "ResourceNotFoundException")
    with pytest.raises(ClientError) as e:
        h.invoke(client, name, Qualifier="canary")
    assert h.error_of(e.value)[:2] == (404, "ResourceNotFoundException")


def test_alias_validation(raw_client, client):
    name = h.unique_name("alias-bad")
    publish_two(client, name)
    cases = [
        (dict(Name="123", FunctionVersion="1"), "ValidationException"),
        (dict(Name="bad:name", FunctionVersion="1"), "ValidationException"),
        (dict(Name="a", FunctionVersion="one"), "ValidationException"),
        (dict(Name="a", FunctionVersion="1",
              RoutingConfig={"AdditionalVersionWeights": {"2": 1.5}}), "ValidationException"),
        (dict(Name="a", FunctionVersion="1",
              RoutingConfig={"AdditionalVersionWeights": {"1": 0.5}}), "InvalidParameterValueException"),
        (dict(Name="a", FunctionVersion="$LATEST",
              RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}}), "InvalidParameterValueException"),
    ]
    for kw, code in cases:
        with pytest.raises(ClientError) as e:
            raw_client.create_alias(FunctionName=name, **kw)
        assert h.error_of(e.value)[1] == code, (kw, e.value.response)
    assert raw_client.list_aliases(FunctionName=name)["Aliases"] == []


def test_weighted_alias_routing_follows_weights(client):
    name = h.unique_name("alias-w")
    publish_two(client, name)
    client.create_alias(FunctionName=name, Name="live", FunctionVersion="1",
                        RoutingConfig={"AdditionalVersionWeights": {"2": 0.3}})
    got = client.get_alias(FunctionName=name, Name="live")
    assert got["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.3}}
    runs = 400
    counts = collections.Counter()
    for _ in range(runs):
        inv = h.invoke(client, name, Qualifier="live")
        assert inv.function_error is None
        # The executed version is the one whose code ran.
        assert inv.json["code_version"] == f"v{inv.executed_version}"
        counts[inv.executed_version] += 1
    share = counts["2"] / runs
    # 0.3 ± 4.4 standard deviations of a binomial(400, 0.3).
    assert 0.2 < share < 0.4, counts
    # Removing the routing sends everything to the primary version.
    client.update_alias(FunctionName=name, Name="live",
                        RoutingConfig={"AdditionalVersionWeights": {}})
    assert {h.invoke(client, name, Qualifier="live").executed_version for _ in range(20)} == {"1"}


def test_delete_one_version(client):
    name = h.unique_name("ver-del")
    publish_two(client, name)
    client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    h.invoke_ok(client, name, Qualifier="1")  # leaves a warm environment of version 1
    with pytest.raises(ClientError) as e:
        client.delete_function(FunctionName=name, Qualifier="1")
    status, code, message = h.error_of(e.value)
    assert (status, code) == (409, "ResourceConflictException") and "live" in message
    client.delete_alias(FunctionName=name, Name="live")
    client.delete_function(FunctionName=name, Qualifier="1")
    with pytest.raises(ClientError) as e:
        h.invoke(client, name, Qualifier="1")
    assert h.error_of(e.value)[:2] == (404, "ResourceNotFoundException")
    with pytest.raises(ClientError) as e:
        client.delete_function(FunctionName=name, Qualifier="$LATEST")
    assert h.error_of(e.value)[:2] == (400, "InvalidParameterValueException")
    assert [v["Version"] for v in client.list_versions_by_function(FunctionName=name)["Versions"]] == ["$LATEST", "2"]
    assert h.invoke_ok(client, name, Qualifier="2")["code_version"] == "v2"
    # Numbers are never reused.
    h.update_config(client, name, MemorySize=192)
    assert client.publish_version(FunctionName=name)["Version"] == "3"
    # Deleting the function takes its versions and aliases with it.
    client.delete_function(FunctionName=name)
    h.create_function(client, name)
    assert [v["Version"] for v in client.list_versions_by_function(FunctionName=name)["Versions"]] == ["$LATEST"]
    assert client.list_aliases(FunctionName=name)["Aliases"] == []


def test_versions_and_aliases_with_the_aws_cli(client, aws):
    name = h.unique_name("ver-cli")
    h.create_function(client, name)
    published = aws("publish-version", "--function-name", name).json
    assert published["Version"] == "1"
    alias = aws("create-alias", "--function-name", name, "--name", "live",
                "--function-version", "1").json
    assert alias["AliasArn"] == h.function_arn(name, "live")
    listed = aws("list-aliases", "--function-name", name).json
    assert [a["Name"] for a in listed["Aliases"]] == ["live"]
    versions = aws("list-versions-by-function", "--function-name", name).json
    assert [v["Version"] for v in versions["Versions"]] == ["$LATEST", "1"]
