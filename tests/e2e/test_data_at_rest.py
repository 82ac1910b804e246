"""Data at rest (docs/data-protection.md): the data directory is 0700 and Hearth's own
files in it 0600 (made so, and tightened at start when an older Hearth left them wider);
functions' environment variables are sealed under the server key, so no file of the data
directory holds a variable's value in the clear, while the function still sees it."""

from __future__ import annotations

import os
import stat
import uuid

import pytest
from botocore.exceptions import ClientError

import hearth_e2e as h


@pytest.fixture(scope="module")
def rest_server(tmp_path_factory, runtimes_dir, zips):
    base = tmp_path_factory.mktemp("hearth-rest")
    data = base / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    # What an older Hearth (or a script's redirect) left readable by everyone.
    (data / "hearth.log").write_text("an older log\n")
    os.chmod(data / "hearth.log", 0o644)
    srv = h.HearthServer(data, runtimes_dir, base)
    srv.start()
    yield srv
    if srv.proc is not None:
        srv.stop_cleanly()


@pytest.fixture(scope="module")
def client(rest_server):
    return h.lambda_client(rest_server.endpoint)


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_the_data_directory_and_its_files_are_private(rest_server, client):
    # A stored zip, too.
    name = h.unique_name("rest-modes")
    h.create_function(client, name)
    data = rest_server.data_dir
    assert mode(data) == 0o700
    files = {p.name: mode(p) for p in data.iterdir() if p.is_file()}
    for must in ("hearth.db", "hearth.db-wal", "hearth.db-shm", "server.key", "hearth.log"):
        assert must in files, files
    assert files == {n: 0o600 for n in files}, files
    assert mode(data / "blobs") == 0o700
    blobs = {p.name: mode(p) for p in (data / "blobs").iterdir()}
    assert blobs and set(blobs.values()) == {0o600}, blobs
    assert (data / "hearth.log").read_text() == "an older log\n"


def files_holding(root, needle: bytes) -> list[str]:
    found = []
    for dirpath, _dirs, names in os.walk(root):
        for n in names:
            path = os.path.join(dirpath, n)
            if not os.path.isfile(path) or os.path.islink(path):
                continue
            try:
                with open(path, "rb") as f:
                    if needle in f.read():
                        found.append(path)
            except OSError:
                pass
    return found


def test_environment_variables_are_sealed_at_rest(rest_server, client):
    name = h.unique_name("rest-env")
    first, second = f"first-{uuid.uuid4().hex}", f"second-{uuid.uuid4().hex}"
    h.create_function(client, name, Environment={"Variables": {"HEARTH_SECRET": first}})
    got = h.invoke_ok(client, name, {"env": ["HEARTH_SECRET"]})
    assert got["env"]["HEARTH_SECRET"] == first
    h.update_config(client, name, Environment={"Variables": {"HEARTH_SECRET": second,
                                                             "OTHER": "x"}})
    published = client.publish_version(FunctionName=name)
    assert published["Environment"] == {"Variables": {"HEARTH_SECRET": second, "OTHER": "x"}}
    # The API answers the variables as given, for $LATEST and the version.
    for qualifier in (None, published["Version"]):
        kw = {"Qualifier": qualifier} if qualifier else {}
        cfg = client.get_function_configuration(FunctionName=name, **kw)
        assert cfg["Environment"] == {"Variables": {"HEARTH_SECRET": second, "OTHER": "x"}}
    got = h.invoke_ok(client, name, {"env": ["HEARTH_SECRET"]}, Qualifier=published["Version"])
    assert got["env"]["HEARTH_SECRET"] == second
    # No file of the data directory (database, WAL, logs, blobs, jail files) holds a value.
    for value in (first, second):
        assert files_holding(rest_server.data_dir, value.encode()) == [], value
    # Nor does the server's own log.
    log = rest_server.stderr_tail()
    assert first not in log and second not in log
    # The variables survive a restart (the server key is reused).
    rest_server.restart(same_port=True)
    cfg = h.lambda_client(rest_server.endpoint).get_function_configuration(FunctionName=name)
    assert cfg["Environment"] == {"Variables": {"HEARTH_SECRET": second, "OTHER": "x"}}


def test_kms_key_arn_names_a_hearth_key(rest_server, client):
    made = h.hearth_cli("kms", "create", "--description", "e2e", "--endpoint",
                        rest_server.endpoint)
    arn = made.stdout.strip()
    assert h.UUID_RE.match(arn.removeprefix(f"arn:aws:kms:{h.REGION}:{h.ACCOUNT}:key/")), arn
    listed = h.hearth_cli("kms", "list", "--endpoint", rest_server.endpoint).stdout
    assert f"{arn}  e2e\n" in listed
    name = h.unique_name("rest-kms")
    value = f"kms-{uuid.uuid4().hex}"
    created = h.create_function(client, name, KMSKeyArn=arn,
                                Environment={"Variables": {"HEARTH_SECRET": value}})
    assert created["KMSKeyArn"] == arn
    cfg = client.get_function_configuration(FunctionName=name)
    assert (cfg["KMSKeyArn"], cfg["Environment"]) == (arn, {"Variables": {"HEARTH_SECRET": value}})
    got = h.invoke_ok(client, name, {"env": ["HEARTH_SECRET"]})
    assert got["env"]["HEARTH_SECRET"] == value
    assert files_holding(rest_server.data_dir, value.encode()) == []
    # Back to the server's key with an empty KMSKeyArn: no KMSKeyArn answered.
    back = h.update_config(client, name, KMSKeyArn="")
    assert "KMSKeyArn" not in back
    assert client.get_function_configuration(FunctionName=name)["Environment"] == {
        "Variables": {"HEARTH_SECRET": value}}
    # A key Hearth does not have: Lambda's KMS answer.
    missing = f"arn:aws:kms:{h.REGION}:{h.ACCOUNT}:key/{uuid.uuid4()}"
    for call in (lambda: h.create_function(client, h.unique_name("rest-kms"), KMSKeyArn=missing),
                 lambda: client.update_function_configuration(FunctionName=name,
                                                              KMSKeyArn=missing)):
        with pytest.raises(ClientError) as e:
            call()
        assert h.error_of(e.value) == (
            400, "InvalidParameterValueException",
            "Lambda was unable to configure access to your environment variables because the "
            "KMS key is invalid for CreateGrant. Please check your KMS key settings. KMS "
            f"Exception: NotFoundExceptionKMS Message: Key '{missing}' does not exist")
    # The key survives a restart, and the function's variables still open.
    rest_server.restart(same_port=True)
    fresh = h.lambda_client(rest_server.endpoint)
    h.update_config(fresh, name, KMSKeyArn=arn)
    rest_server.restart(same_port=True)
    fresh = h.lambda_client(rest_server.endpoint)
    cfg = fresh.get_function_configuration(FunctionName=name)
    assert (cfg["KMSKeyArn"], cfg["Environment"]) == (arn, {"Variables": {"HEARTH_SECRET": value}})
