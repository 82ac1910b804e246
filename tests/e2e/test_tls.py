"""TLS on the listen address (docs/tls.md): `hearth server --tls-self-signed NAMES` makes a
certificate once, keeps it in DATA_DIR/tls/ and serves HTTPS with it; boto3 (`verify=`) and
the AWS CLI (`--ca-bundle`) trusting that file make whole Lambda calls; ALPN offers HTTP/2
and HTTP/1.1; a plain HTTP request on the TLS port gets a readable 400."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import SSLError

import hearth_e2e as h

# How environments are isolated plays no part here (or the tests choose their sandbox
# themselves): run once, in the jail pass, not again under the process sandbox
# (scripts/test.sh).
pytestmark = pytest.mark.sandbox_neutral


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory, runtimes_dir, zips):
    srv = h.start_self_signed(tmp_path_factory.mktemp("hearth-tls"), runtimes_dir)
    yield srv
    if srv.proc is not None:
        srv.stop_cleanly()


def tls_client(srv, verify):
    return boto3.session.Session().client(
        "lambda", region_name=h.REGION, endpoint_url=srv.endpoint,
        **h.key_args(srv.endpoint),
        verify=verify,
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=60))


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_self_signed_certificate_is_kept_private_and_logged(tls_server):
    tls_dir = tls_server.data_dir / "tls"
    assert sorted(p.name for p in tls_dir.iterdir()) == [
        "self-signed.key", "self-signed.names", "self-signed.pem"]
    assert mode(tls_dir) == 0o700
    for f in tls_dir.iterdir():
        assert mode(f) == 0o600, f
    assert tls_server.ca_bundle.read_text().startswith("-----BEGIN CERTIFICATE-----\n")
    log = re.sub(r"\x1b\[[0-9;]*m", "", tls_server.stderr_tail())
    assert f"certificate={tls_server.ca_bundle}" in log
    assert f"listening on https://127.0.0.1:{tls_server.port}" in log


def test_boto3_over_https_makes_whole_lambda_calls(tls_server):
    client = tls_client(tls_server, str(tls_server.ca_bundle))
    name = h.unique_name("tls")
    created = h.create_function(client, name, Environment={"Variables": {"COLOR": "blue"}})
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["FunctionArn"] == h.function_arn(name)
    result = h.invoke_ok(client, name, {"n": 1, "env": ["COLOR"]})
    assert (result["event"], result["env"]["COLOR"]) == ({"n": 1, "env": ["COLOR"]}, "blue")
    listed = client.list_functions()["Functions"]
    assert [f["FunctionName"] for f in listed] == [name]
    deleted = client.delete_function(FunctionName=name)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    # The audit trail knows the write came over TLS, and from where.
    request_id = deleted["ResponseMetadata"]["RequestId"]
    found = []

    def recorded():
        status, _, body = tls_server.get("/_hearth/audit?action=DeleteFunction")
        found[:] = [e for e in json.loads(body)["events"] if e["request_id"] == request_id]
        return status == 200 and found

    assert h.wait_until(recorded, timeout=10)
    assert (found[0]["secure"], found[0]["source_ip"], found[0]["status"]) == (
        True, "127.0.0.1", 204)


def test_a_client_that_does_not_trust_the_certificate_is_refused(tls_server):
    client = tls_client(tls_server, True)
    with pytest.raises(SSLError) as e:
        client.list_functions()
    assert "CERTIFICATE_VERIFY_FAILED" in str(e.value)


def test_aws_cli_with_ca_bundle(tls_server, tmp_path):
    name = h.unique_name("tls-cli")
    zip_file = tmp_path / "f.zip"
    zip_file.write_bytes(h.zip_bytes("python.zip"))
    created = h.aws_lambda(tls_server.endpoint, tmp_path, "create-function",
                           "--function-name", name, "--runtime", h.PYTHON,
                           "--handler", "app.handler", "--role", h.ROLE,
                           "--zip-file", f"fileb://{zip_file}",
                           "--ca-bundle", str(tls_server.ca_bundle))
    assert '"FunctionName": "%s"' % name in created.stdout
    h.wait_active(tls_client(tls_server, str(tls_server.ca_bundle)), name)
    out = tmp_path / "out.json"
    invoked = h.aws_lambda(tls_server.endpoint, tmp_path, "invoke", "--function-name", name,
                           "--payload", '{"via": "cli"}', str(out),
                           "--ca-bundle", str(tls_server.ca_bundle))
    assert '"StatusCode": 200' in invoked.stdout
    assert json.loads(out.read_text())["event"] == {"via": "cli"}
    h.aws_lambda(tls_server.endpoint, tmp_path, "delete-function", "--function-name", name,
                 "--ca-bundle", str(tls_server.ca_bundle))
    # Without the bundle the CLI does not trust the server.
    refused = h.aws_lambda(tls_server.endpoint, tmp_path, "list-functions", check=False)
    assert refused.rc != 0
    assert "CERTIFICATE_VERIFY_FAILED" in refused.stderr


def curl(tls_server, *args):
    return subprocess.run(
        ["curl", "-sS", "--max-time", "10", "--cacert", str(tls_server.ca_bundle),
         # Signed as any client must (curl's own SigV4).
         "--aws-sigv4", f"aws:amz:{h.REGION}:lambda",
         "--user", ":".join(h.credentials_for(tls_server.endpoint)), *args,
         f"{tls_server.endpoint}/2016-08-19/account-settings/"],
        capture_output=True, text=True, check=False)


def test_alpn_negotiates_http2_and_http1(tls_server):
    h2 = curl(tls_server, "--http2", "-o", "/dev/null", "-v", "-w", "%{http_code} %{http_version}")
    assert (h2.returncode, h2.stdout) == (0, "200 2"), h2.stderr
    assert "ALPN: server accepted h2" in h2.stderr
    h11 = curl(tls_server, "--http1.1", "-o", "/dev/null", "-w", "%{http_code} %{http_version}")
    assert (h11.returncode, h11.stdout) == (0, "200 1.1"), h11.stderr


def test_plain_http_on_the_tls_port_gets_a_readable_refusal(tls_server):
    status, headers, body = h.http_request(
        f"http://127.0.0.1:{tls_server.port}/2016-08-19/account-settings/", timeout=10)
    assert (status, headers["content-type"], body.decode()) == (
        400, "text/plain",
        "This port speaks HTTPS: send the request to https://, trusting the server's "
        "certificate (see docs/tls.md).\n")


def test_the_certificate_is_reused_across_restarts(tls_server):
    before = tls_server.ca_bundle.read_bytes()
    tls_server.restart()
    assert tls_server.ca_bundle.read_bytes() == before
    client = tls_client(tls_server, str(tls_server.ca_bundle))
    assert client.list_functions()["Functions"] == []


def test_given_certificate_and_key_files(tmp_path_factory, runtimes_dir, zips, tls_server):
    # The self-signed pair made by the other server, given as files to a new one.
    base = tmp_path_factory.mktemp("hearth-tls-files")
    (base / "data").mkdir()
    tls_dir = tls_server.data_dir / "tls"
    srv = h.HearthServer(base / "data", runtimes_dir, base, extra_args=[
        "--tls-cert", tls_dir / "self-signed.pem", "--tls-key", tls_dir / "self-signed.key"])
    srv.ca_bundle = tls_dir / "self-signed.pem"
    srv.host = "localhost"
    srv.start()
    try:
        assert tls_client(srv, str(srv.ca_bundle)).list_functions()["Functions"] == []
        assert not (srv.data_dir / "tls").exists()
    finally:
        srv.stop_cleanly()


def test_a_missing_key_file_stops_the_server_with_the_reason(tmp_path):
    cert = tmp_path / "cert.pem"
    cert.write_text("not a certificate")
    run = h.hearth_cli("server", "--listen", f"127.0.0.1:{h.free_port()}",
                       "--data-dir", tmp_path / "data", "--tls-cert", cert,
                       "--tls-key", tmp_path / "missing.key", check=False, timeout=60)
    assert run.rc != 0
    assert f"cannot read the certificates of {cert}" in run.stderr or \
        f"{cert} holds no certificate" in run.stderr, run.stderr
