"""Lambda layers' control plane, driven with boto3 and the AWS CLI: PublishLayerVersion,
GetLayerVersion(ByArn), ListLayers, ListLayerVersions (filters, paging), DeleteLayerVersion,
the layer version policy operations, `Layers` on CreateFunction and
UpdateFunctionConfiguration (shown with Arn and CodeSize, kept by published versions), the
errors of each, another account's layers through their policy, and the collection of a
layer's zip once neither its version nor any function version uses it.

How a layer appears at /opt in an environment is tested with the environment's part."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import urllib.request
import zipfile

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import hearth_e2e as h

# How environments are isolated plays no part here: run once, in the jail pass.
pytestmark = pytest.mark.sandbox_neutral

B = "111122223333"
ALLOW_ALL = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
TRUST_LAMBDA = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
    "Action": "sts:AssumeRole"}]}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")


def layer_zip(tag: str, size: int = 0) -> bytes:
    """A layer with `python/<tag>.py` (and `size` more bytes): one distinct zip per tag."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        info = zipfile.ZipInfo(f"python/{tag}.py", date_time=(2024, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        zf.writestr(info, f"TAG = {tag!r}\n" + "#" * size)
    return buf.getvalue()


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def layer_arn(name: str, account: str = h.ACCOUNT) -> str:
    return f"arn:aws:lambda:{h.REGION}:{account}:layer:{name}"


def strip(resp: dict) -> dict:
    return {k: v for k, v in resp.items() if k != "ResponseMetadata"}


def error(call, **kw) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as e:
        call(**kw)
    return h.error_of(e.value)


def publish(client, name: str, tag: str | None = None, **kw) -> dict:
    return client.publish_layer_version(LayerName=name,
                                        Content={"ZipFile": layer_zip(tag or name)}, **kw)


def test_publish_and_get_answer_awss_shapes(client, server):
    name = h.unique_name("lay-shape")
    data = layer_zip(name)
    out = strip(client.publish_layer_version(
        LayerName=name, Description="shared code", Content={"ZipFile": data},
        CompatibleRuntimes=["python3.12", "python3.11"], LicenseInfo="MIT",
        CompatibleArchitectures=["x86_64"]))
    assert TIMESTAMP.match(out["CreatedDate"]), out
    location = out["Content"]["Location"]
    assert out == {
        "Content": {"Location": location, "CodeSha256": sha256_b64(data),
                    "CodeSize": len(data)},
        "LayerArn": layer_arn(name),
        "LayerVersionArn": f"{layer_arn(name)}:1",
        "Description": "shared code",
        "CreatedDate": out["CreatedDate"],
        "Version": 1,
        "CompatibleRuntimes": ["python3.12", "python3.11"],
        "LicenseInfo": "MIT",
        "CompatibleArchitectures": ["x86_64"],
    }
    with urllib.request.urlopen(location) as resp:
        assert resp.read() == data
    assert strip(client.get_layer_version(LayerName=name, VersionNumber=1)) == out
    assert strip(client.get_layer_version(LayerName=layer_arn(name), VersionNumber=1)) == out
    assert strip(client.get_layer_version_by_arn(Arn=f"{layer_arn(name)}:1")) == out

    # Without the optional members: empty lists, an empty description, no LicenseInfo.
    bare = strip(publish(client, name, "bare"))
    assert {k: bare[k] for k in ("Version", "Description", "CompatibleRuntimes",
                                 "CompatibleArchitectures")} == {
        "Version": 2, "Description": "", "CompatibleRuntimes": [],
        "CompatibleArchitectures": []}
    assert "LicenseInfo" not in bare


def test_errors_of_publish_and_get(client):
    name = h.unique_name("lay-err")
    assert error(client.get_layer_version, LayerName=name, VersionNumber=1) == (
        404, "ResourceNotFoundException",
        f"Layer version {layer_arn(name)}:1 does not exist.")
    assert error(client.get_layer_version_by_arn, Arn=f"{layer_arn(name)}:7") == (
        404, "ResourceNotFoundException",
        f"Layer version {layer_arn(name)}:7 does not exist.")
    status, code, message = error(
        client.publish_layer_version, LayerName=name,
        Content={"S3Bucket": "bucket", "S3Key": "k.zip"})
    assert (status, code) == (400, "InvalidParameterValueException")
    assert "no object store" in message
    status, code, _ = error(client.publish_layer_version, LayerName=name,
                            Content={"ZipFile": b"not a zip"})
    assert (status, code) == (400, "InvalidParameterValueException")
    status, code, message = error(client.publish_layer_version, LayerName="bad.name",
                                  Content={"ZipFile": layer_zip("x")})
    assert (status, code) == (400, "ValidationException"), message
    assert "layerName" in message
    status, code, message = error(client.publish_layer_version, LayerName=name,
                                  Content={"ZipFile": layer_zip("x")},
                                  CompatibleArchitectures=["sparc"])
    assert (status, code) == (400, "ValidationException"), message
    # Nothing was published by the failed calls.
    assert client.list_layer_versions(LayerName=name)["LayerVersions"] == []


def test_numbers_are_never_reused_and_delete_is_idempotent(client):
    name = h.unique_name("lay-num")
    assert [publish(client, name, f"{name}{i}")["Version"] for i in range(3)] == [1, 2, 3]
    for version in (3, 3, 2, 1, 9):
        out = client.delete_layer_version(LayerName=name, VersionNumber=version)
        assert out["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert client.list_layer_versions(LayerName=name)["LayerVersions"] == []
    assert publish(client, name)["Version"] == 4


def test_lists_filter_and_page(client, aws):
    prefix = h.unique_name("lay-list")
    names = [f"{prefix}-a", f"{prefix}-b", f"{prefix}-c"]
    published = {}
    for name in names:
        published[name] = [
            publish(client, name, f"{name}1", CompatibleRuntimes=["python3.12"],
                    CompatibleArchitectures=["x86_64"]),
            publish(client, name, f"{name}2", CompatibleRuntimes=["nodejs20.x"],
                    CompatibleArchitectures=["arm64"], Description="second"),
        ]

    def item(v: dict) -> dict:
        keys = ("LayerVersionArn", "Version", "Description", "CreatedDate",
                "CompatibleRuntimes", "CompatibleArchitectures")
        return {k: v[k] for k in keys}

    def ours(layers: list) -> list:
        return [l for l in layers if l["LayerName"].startswith(prefix)]

    every = ours(client.list_layers()["Layers"])
    assert every == [{"LayerName": n, "LayerArn": layer_arn(n),
                      "LatestMatchingVersion": item(published[n][1])} for n in names]
    python = ours(client.list_layers(CompatibleRuntime="python3.12")["Layers"])
    assert [l["LatestMatchingVersion"] for l in python] == [item(published[n][0]) for n in names]
    assert ours(client.list_layers(CompatibleRuntime="python3.12",
                                   CompatibleArchitecture="arm64")["Layers"]) == []

    versions = client.list_layer_versions(LayerName=names[0])
    assert strip(versions) == {"LayerVersions": [item(v) for v in reversed(published[names[0]])]}
    arm = client.list_layer_versions(LayerName=names[0], CompatibleArchitecture="arm64")
    assert arm["LayerVersions"] == [item(published[names[0]][1])]

    # Paging: one item a page, by marker, until no NextMarker.
    seen, marker = [], None
    while True:
        kw = {"Marker": marker} if marker else {}
        page = client.list_layer_versions(LayerName=names[1], MaxItems=1, **kw)
        assert len(page["LayerVersions"]) == 1
        seen.append(page["LayerVersions"][0]["Version"])
        marker = page.get("NextMarker")
        if not marker:
            break
    assert seen == [2, 1]
    status, code, _ = error(client.list_layers, MaxItems=51)
    assert (status, code) == (400, "ValidationException")

    # The AWS CLI reads the same.
    out = aws("list-layer-versions", "--layer-name", names[2]).json
    assert out == {"LayerVersions": [item(v) for v in reversed(published[names[2]])]}


def test_the_aws_cli_publishes_from_a_file(aws, client, tmp_path):
    name = h.unique_name("lay-cli")
    data = layer_zip(name)
    path = tmp_path / "layer.zip"
    path.write_bytes(data)
    out = aws("publish-layer-version", "--layer-name", name, "--zip-file", f"fileb://{path}",
              "--compatible-runtimes", "python3.12").json
    assert (out["Version"], out["Content"]["CodeSha256"], out["CompatibleRuntimes"]) == (
        1, sha256_b64(data), ["python3.12"])
    got = aws("get-layer-version-by-arn", "--arn", out["LayerVersionArn"]).json
    assert got == out


def test_policies_add_get_remove_and_their_errors(client):
    name = h.unique_name("lay-pol")
    publish(client, name)
    arn = f"{layer_arn(name)}:1"
    assert error(client.get_layer_version_policy, LayerName=name, VersionNumber=1) == (
        404, "ResourceNotFoundException", "No policy is associated with the given resource.")
    added = client.add_layer_version_permission(
        LayerName=name, VersionNumber=1, StatementId="one", Action="lambda:GetLayerVersion",
        Principal=B)
    assert added["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert json.loads(added["Statement"]) == {
        "Sid": "one", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{B}:root"},
        "Action": "lambda:GetLayerVersion", "Resource": arn}
    everyone = client.add_layer_version_permission(
        LayerName=name, VersionNumber=1, StatementId="org", Action="lambda:GetLayerVersion",
        Principal="*", OrganizationId="o-abcdefghij", RevisionId=added["RevisionId"])
    assert json.loads(everyone["Statement"]) == {
        "Sid": "org", "Effect": "Allow", "Principal": "*", "Action": "lambda:GetLayerVersion",
        "Resource": arn,
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}}}
    policy = client.get_layer_version_policy(LayerName=name, VersionNumber=1)
    assert policy["RevisionId"] == everyone["RevisionId"]
    assert json.loads(policy["Policy"]) == {
        "Version": "2012-10-17", "Id": "default",
        "Statement": [json.loads(added["Statement"]), json.loads(everyone["Statement"])]}

    status, code, message = error(
        client.add_layer_version_permission, LayerName=name, VersionNumber=1,
        StatementId="one", Action="lambda:GetLayerVersion", Principal="*")
    assert (status, code) == (409, "ResourceConflictException")
    assert message == ("The statement id (one) provided already exists. Please provide a new "
                       "statement id, or remove the existing statement.")
    assert error(client.add_layer_version_permission, LayerName=name, VersionNumber=1,
                 StatementId="two", Action="lambda:GetLayerVersion", Principal="*",
                 RevisionId=added["RevisionId"])[:2] == (412, "PreconditionFailedException")
    assert error(client.add_layer_version_permission, LayerName=name, VersionNumber=1,
                 StatementId="two", Action="lambda:GetLayerVersion", Principal=B,
                 OrganizationId="o-abcdefghij")[:2] == (400, "InvalidParameterValueException")
    assert error(client.add_layer_version_permission, LayerName=name, VersionNumber=1,
                 StatementId="two", Action="lambda:InvokeFunction",
                 Principal="*")[:2] == (400, "ValidationException")
    assert error(client.add_layer_version_permission, LayerName=name, VersionNumber=9,
                 StatementId="two", Action="lambda:GetLayerVersion", Principal="*") == (
        404, "ResourceNotFoundException", f"Layer version {layer_arn(name)}:9 does not exist.")

    assert error(client.remove_layer_version_permission, LayerName=name, VersionNumber=1,
                 StatementId="nope") == (
        404, "ResourceNotFoundException", "Statement nope is not found in resource policy.")
    out = client.remove_layer_version_permission(LayerName=name, VersionNumber=1,
                                                 StatementId="one")
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 204
    left = json.loads(client.get_layer_version_policy(LayerName=name, VersionNumber=1)["Policy"])
    assert [s["Sid"] for s in left["Statement"]] == ["org"]


def test_functions_use_layers_and_versions_keep_them(client):
    lib = h.unique_name("lay-fn")
    v1 = publish(client, lib, f"{lib}1")
    v2 = publish(client, lib, f"{lib}2")
    other = h.unique_name("lay-fn-other")
    o1 = publish(client, other)
    name = h.unique_name("lay-fn-f")
    created = h.create_function(client, name, Layers=[v1["LayerVersionArn"], o1["LayerVersionArn"]])
    shown = [{"Arn": v1["LayerVersionArn"], "CodeSize": v1["Content"]["CodeSize"]},
             {"Arn": o1["LayerVersionArn"], "CodeSize": o1["Content"]["CodeSize"]}]
    assert created["Layers"] == shown
    assert client.get_function_configuration(FunctionName=name)["Layers"] == shown
    version = client.publish_version(FunctionName=name)
    assert version["Layers"] == shown

    updated = h.update_config(client, name, Layers=[v2["LayerVersionArn"]])
    assert updated["Layers"] == [{"Arn": v2["LayerVersionArn"],
                                  "CodeSize": v2["Content"]["CodeSize"]}]
    # The version keeps the layers it was published with.
    assert client.get_function_configuration(FunctionName=name,
                                             Qualifier=version["Version"])["Layers"] == shown
    # An empty list removes them (and the member leaves the configuration).
    cleared = h.update_config(client, name, Layers=[])
    assert "Layers" not in cleared

    # A deleted layer version keeps working for the functions that use it.
    client.delete_layer_version(LayerName=other, VersionNumber=1)
    assert client.get_function_configuration(FunctionName=name,
                                             Qualifier=version["Version"])["Layers"] == shown


def test_errors_of_a_functions_layers(client):
    lib = h.unique_name("lay-bad")
    v1 = publish(client, lib, f"{lib}1")
    v2 = publish(client, lib, f"{lib}2")
    name = h.unique_name("lay-bad-f")
    h.create_function(client, name)
    missing = f"{layer_arn(lib)}:9"
    assert error(client.update_function_configuration, FunctionName=name,
                 Layers=[missing]) == (400, "InvalidParameterValueException",
                                       f"Layer version {missing} does not exist.")
    assert error(client.update_function_configuration, FunctionName=name,
                 Layers=[v1["LayerVersionArn"], v2["LayerVersionArn"]]) == (
        400, "InvalidParameterValueException",
        "Two different versions of the same layer are not allowed.")
    six = [f"{layer_arn(f'{lib}-{i}')}:1" for i in range(6)]
    assert error(client.update_function_configuration, FunctionName=name, Layers=six) == (
        400, "InvalidParameterValueException", "Cannot reference more than 5 layers.")
    status, code, _ = error(client.update_function_configuration, FunctionName=name,
                            Layers=["not-an-arn"])
    assert (status, code) == (400, "ValidationException")
    assert error(client.create_function, FunctionName=h.unique_name("lay-bad-c"),
                 Runtime=h.PYTHON, Role=h.ROLE, Handler="app.handler",
                 Code={"ZipFile": h.zip_bytes("python.zip")}, Layers=[missing]) == (
        400, "InvalidParameterValueException", f"Layer version {missing} does not exist.")
    # Nothing changed.
    assert "Layers" not in client.get_function_configuration(FunctionName=name)


@pytest.fixture(scope="module")
def bob(server, tmp_path_factory):
    """A Lambda client of account B's user `bob`, and B's execution role."""
    key = h.user_key(server, tmp_path_factory.mktemp("bob"), B, "bob", ALLOW_ALL)

    def client_of(service):
        return boto3.session.Session().client(
            service, region_name=h.REGION, endpoint_url=server.endpoint,
            aws_access_key_id=key[0], aws_secret_access_key=key[1],
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))

    role = client_of("iam").create_role(
        RoleName="layers-exec", AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA))["Role"]["Arn"]
    return client_of("lambda"), role


def test_another_accounts_layer_only_through_its_policy(client, bob):
    b, role = bob
    lib = h.unique_name("lay-x")
    v1 = publish(client, lib)
    arn = v1["LayerVersionArn"]
    user = f"arn:aws:iam::{B}:user/bob"
    denied = (403, "AccessDeniedException",
              f"User: {user} is not authorized to perform: lambda:GetLayerVersion on resource: "
              f"{arn} because no resource-based policy allows the lambda:GetLayerVersion action")
    assert error(b.get_layer_version_by_arn, Arn=arn) == denied
    fn = h.unique_name("lay-x-f")
    create = dict(FunctionName=fn, Runtime=h.PYTHON, Role=role, Handler="app.handler",
                  Code={"ZipFile": h.zip_bytes("python.zip")}, Layers=[arn])
    assert error(b.create_function, **create) == denied
    # B's own layers are B's: A's are not listed to it.
    assert [l for l in b.list_layers()["Layers"] if l["LayerName"] == lib] == []

    client.add_layer_version_permission(LayerName=lib, VersionNumber=1, StatementId="b",
                                        Action="lambda:GetLayerVersion", Principal=B)
    assert strip(b.get_layer_version_by_arn(Arn=arn)) == strip(
        client.get_layer_version_by_arn(Arn=arn))
    created = b.create_function(**create)
    assert created["Layers"] == [{"Arn": arn, "CodeSize": v1["Content"]["CodeSize"]}]
    h.wait_active(b, fn)
    # Only A changes A's layer.
    status, code, _ = error(b.delete_layer_version, LayerName=layer_arn(lib), VersionNumber=1)
    assert (status, code) == (403, "AccessDeniedException")


def test_a_key_allowed_get_layer_version_reads_by_arn_and_cannot_list(server, client,
                                                                        tmp_path):
    """GetLayerVersionByArn (`GET /2018-10-31/layers?find=LayerVersion`, ListLayers' path)
    is authorized as `lambda:GetLayerVersion` on the version its ARN names, as AWS's service
    authorization reference lists it: a key allowed only that action reads by ARN and is
    refused ListLayers."""
    lib = h.unique_name("lay-get")
    arn = publish(client, lib)["LayerVersionArn"]
    key = h.user_key(server, tmp_path, h.ACCOUNT, "lena", [
        {"Effect": "Allow", "Action": "lambda:GetLayerVersion", "Resource": "*"}])
    lena = boto3.session.Session().client(
        "lambda", region_name=h.REGION, endpoint_url=server.endpoint,
        aws_access_key_id=key[0], aws_secret_access_key=key[1],
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
    assert strip(lena.get_layer_version_by_arn(Arn=arn)) == strip(
        client.get_layer_version_by_arn(Arn=arn))
    assert strip(lena.get_layer_version(LayerName=lib, VersionNumber=1)) == strip(
        client.get_layer_version_by_arn(Arn=arn))
    user = f"arn:aws:iam::{h.ACCOUNT}:user/lena"
    assert error(lena.list_layers) == (
        403, "AccessDeniedException",
        f"User: {user} is not authorized to perform: lambda:ListLayers on resource: * "
        "because no identity-based policy allows the lambda:ListLayers action")


def blobs(server) -> set:
    return {p.name[:-4] for p in (server.data_dir / "blobs").glob("*.zip")}


def test_a_layers_zip_goes_only_when_nothing_uses_it(client, server):
    lib = h.unique_name("lay-gc")
    data = layer_zip(lib, size=4096)
    hex_ = hashlib.sha256(data).hexdigest()
    usage = lambda: client.get_account_settings()["AccountUsage"]["TotalCodeSize"]  # noqa: E731
    before = usage()
    v1 = client.publish_layer_version(LayerName=lib, Content={"ZipFile": data})
    assert hex_ in blobs(server)
    # A layer archive counts in TotalCodeSize, as "deployment packages and layer archives".
    assert usage() == before + len(data)
    name = h.unique_name("lay-gc-f")
    h.create_function(client, name, Layers=[v1["LayerVersionArn"]])
    client.publish_version(FunctionName=name)
    client.delete_layer_version(LayerName=lib, VersionNumber=1)
    h.update_config(client, name, Layers=[])
    # Version 1 of the function still uses the layer: its zip stays, and downloads.
    with urllib.request.urlopen(v1["Content"]["Location"]) as resp:
        assert resp.read() == data
    assert hex_ in blobs(server)
    client.delete_function(FunctionName=name)
    assert h.wait_until(lambda: hex_ not in blobs(server), timeout=30), sorted(blobs(server))


def test_the_hearth_cli_publishes_lists_deploys_with_and_removes_layers(server, client, tmp_path):
    name = h.unique_name("lay-hcli")
    tree = tmp_path / "layer" / "python"
    tree.mkdir(parents=True)
    (tree / "shared.py").write_text("VALUE = 1\n")
    cli = lambda *args, **kw: h.hearth_cli(*args, "--endpoint", server.endpoint, **kw)  # noqa: E731
    arn = cli("layer", "publish", name, tmp_path / "layer", "--runtime", "python3.12",
              "--runtime", "python3.11", "--architecture", "x86_64", "--description", "d",
              "--license", "MIT").stdout.strip()
    assert arn == f"{layer_arn(name)}:1"
    got = client.get_layer_version_by_arn(Arn=arn)
    assert (got["CompatibleRuntimes"], got["CompatibleArchitectures"], got["Description"],
            got["LicenseInfo"]) == (["python3.12", "python3.11"], ["x86_64"], "d", "MIT")
    with zipfile.ZipFile(io.BytesIO(urllib.request.urlopen(got["Content"]["Location"]).read())) as z:
        assert z.namelist() == ["python/", "python/shared.py"]
    listed = cli("layer", "ls", name).stdout.splitlines()
    assert listed == [f"{arn}  python3.12,python3.11  x86_64  {got['CreatedDate']}"]
    assert any(line.startswith(f"{arn} ") for line in cli("layer", "ls").stdout.splitlines())

    fn = h.unique_name("lay-hcli-f")
    cli("deploy", fn, h.zip_path("python.zip"), "--runtime", h.PYTHON, "--handler",
        "app.handler", "--layer", arn)
    assert client.get_function_configuration(FunctionName=fn)["Layers"] == [
        {"Arn": arn, "CodeSize": got["Content"]["CodeSize"]}]
    assert cli("layer", "rm", name, "1").stdout.strip() == f"deleted {name}:1"
    assert cli("layer", "ls", name).stdout == ""


def test_changing_only_the_layers_publishes_a_new_version(client):
    lib = h.unique_name("lay-pubv")
    v1 = publish(client, lib)
    name = h.unique_name("lay-pubv-f")
    h.create_function(client, name)
    assert client.publish_version(FunctionName=name)["Version"] == "1"
    h.update_config(client, name, Layers=[v1["LayerVersionArn"]])
    second = client.publish_version(FunctionName=name)
    assert (second["Version"], second["Layers"]) == (
        "2", [{"Arn": v1["LayerVersionArn"], "CodeSize": v1["Content"]["CodeSize"]}])
    # Nothing changed since: version 2 again.
    assert client.publish_version(FunctionName=name)["Version"] == "2"
