"""`hearth` client verbs over HTTPS (docs/tls.md): against `hearth server
--tls-self-signed`, `--ca-bundle FILE` (or AWS_CA_BUNDLE, as the AWS CLI reads it) makes
them trust DATA_DIR/tls/self-signed.pem; without it, or with a bundle that does not hold the
server's certificate, they refuse with a message that says what to do."""

from __future__ import annotations

import json

import boto3
import certifi
import pytest
from botocore.config import Config

import hearth_e2e as h

# How environments are isolated plays no part here (or the tests choose their sandbox
# themselves): run once, in the jail pass, not again under the process sandbox
# (scripts/test.sh).
pytestmark = pytest.mark.sandbox_neutral


DEFAULT_ROLE = f"arn:aws:iam::{h.ACCOUNT}:role/hearth"


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory, runtimes_dir, zips):
    srv = h.start_self_signed(tmp_path_factory.mktemp("hearth-client-tls"), runtimes_dir)
    yield srv
    if srv.proc is not None:
        srv.stop_cleanly()


@pytest.fixture(scope="module")
def client(tls_server):
    return boto3.session.Session().client(
        "lambda", region_name=h.REGION, endpoint_url=tls_server.endpoint,
        verify=str(tls_server.ca_bundle), **h.key_args(tls_server.endpoint),
        config=Config(retries={"total_max_attempts": 1}))


def hearth(srv, *args, env_extra=None, check=True):
    env = h.cli_env(srv.endpoint)
    env.update(env_extra or {})
    return h.hearth_cli(*args, "--endpoint", srv.endpoint, env=env, check=check)


def untrusted(srv, hint):
    return (f"error: cannot reach Hearth at {srv.endpoint}: the server's TLS certificate is "
            f"not trusted (invalid peer certificate: UnknownIssuer); {hint}\n")


NO_BUNDLE = ("for a self-signed one (`hearth server --tls-self-signed`), trust "
             "DATA_DIR/tls/self-signed.pem with --ca-bundle FILE or AWS_CA_BUNDLE")
OTHER_BUNDLE = "it is not signed by a certificate of the --ca-bundle (AWS_CA_BUNDLE) given"


def test_verbs_trust_the_ca_bundle(tls_server, client, tmp_path):
    bundle = str(tls_server.ca_bundle)
    name = h.unique_name("client-tls")
    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text(
        "def handler(event, context):\n    return {'got': event}\n")
    deployed = hearth(tls_server, "deploy", name, code, "--runtime", h.PYTHON,
                      "--handler", "app.handler", "--ca-bundle", bundle)
    assert deployed.rc == 0, deployed
    # deploy names the server's default execution role (CreateFunction checks it).
    config = client.get_function_configuration(FunctionName=name)
    assert (config["State"], config["Role"]) == ("Active", DEFAULT_ROLE)

    invoked = hearth(tls_server, "invoke", name, "--payload", '{"over": "tls"}',
                     "--ca-bundle", bundle)
    assert json.loads(invoked.stdout) == {"got": {"over": "tls"}}
    listed = json.loads(hearth(tls_server, "ls", "--json", "--ca-bundle", bundle).stdout)
    assert [f["FunctionName"] for f in listed] == [name]
    # AWS_CA_BUNDLE, as the AWS CLI and SDKs read it.
    by_env = hearth(tls_server, "ls", "--json", env_extra={"AWS_CA_BUNDLE": bundle})
    assert json.loads(by_env.stdout) == listed
    table = hearth(tls_server, "ls", env_extra={"AWS_CA_BUNDLE": bundle}).stdout
    assert name in table.splitlines()[1].split()
    assert hearth(tls_server, "rm", name, "--ca-bundle", bundle).rc == 0
    assert client.list_functions()["Functions"] == []


def test_without_the_bundle_the_server_is_not_trusted(tls_server):
    for verb in (["ls"], ["invoke", "anything", "--payload", "{}"]):
        refused = hearth(tls_server, *verb, check=False)
        assert (refused.rc, refused.stdout, refused.stderr) == (
            1, "", untrusted(tls_server, NO_BUNDLE)), verb


def test_a_bundle_without_the_servers_certificate_is_refused(tls_server):
    refused = hearth(tls_server, "ls", "--ca-bundle", certifi.where(), check=False)
    assert (refused.rc, refused.stdout, refused.stderr) == (
        1, "", untrusted(tls_server, OTHER_BUNDLE))


def test_an_unreadable_bundle_is_refused_before_connecting(tls_server, tmp_path):
    missing = tmp_path / "missing.pem"
    refused = hearth(tls_server, "ls", "--ca-bundle", missing, check=False)
    assert (refused.rc, refused.stdout, refused.stderr) == (
        1, "", f"error: cannot read the CA bundle {missing}: No such file or directory "
               f"(os error 2)\n")
    empty = tmp_path / "empty.pem"
    empty.write_text("not a certificate\n")
    refused = hearth(tls_server, "ls", env_extra={"AWS_CA_BUNDLE": str(empty)}, check=False)
    assert (refused.rc, refused.stdout, refused.stderr) == (
        1, "", f"error: the CA bundle {empty} holds no certificate\n")
