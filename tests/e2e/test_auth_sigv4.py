"""SigV4 authentication (issue 14): every AWS request is verified as AWS verifies it, and
refused with the error each protocol answers (Lambda's REST-JSON, CloudWatch Logs' JSON
1.1). Requests are signed with botocore's own signer (SigV4Auth, SigV4QueryAuth), the
administrator key the server wrote to DATA_DIR/admin-credentials, and variations of it.

The messages compared are AWS's: "The security token included in the request is
invalid.", "The request signature we calculated does not match ...", "Signature expired:
... is now earlier than ... (... - 15 min.)" and "Credential should be scoped to a valid
region, not '...'. " are recorded answers of AWS services (see docs/security.md); the
others follow their pattern."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import stat
import subprocess
import time

import boto3
import botocore.auth
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

import hearth_e2e as h

# How environments are isolated plays no part here (or the tests choose their sandbox
# themselves): run once, in the jail pass, not again under the process sandbox
# (scripts/test.sh).
pytestmark = pytest.mark.sandbox_neutral


MISMATCH = ("The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service "
            "documentation for details.")
INVALID_TOKEN = "The security token included in the request is invalid."


def send(server, method, path, body=b"", headers=None, auth=None, sign=True):
    """(status, error type header, parsed JSON body) of one request signed by `auth`
    (a botocore signer) or unsigned."""
    url = server.endpoint + path
    headers = dict(headers or {})
    if auth is not None:
        req = AWSRequest(method=method, url=url, data=body, headers=headers)
        auth.add_auth(req)
        headers = dict(req.headers.items())
        url = req.url
    status, resp_headers, raw = h.http_request(url, method, body or None, headers, sign=False)
    doc = json.loads(raw) if raw else None
    return status, resp_headers.get("x-amzn-ErrorType"), doc


def admin(server) -> Credentials:
    return Credentials(*server.credentials)


def lambda_error(message, code):
    return (403, code, {"message": message})


class Payload(SigV4Auth):
    """A signer that declares `payload` as the body's hash (UNSIGNED-PAYLOAD, or a hash)."""

    def __init__(self, creds, payload):
        super().__init__(creds, "lambda", h.REGION)
        self._payload = payload

    def payload(self, request):
        return self._payload


def test_the_admin_key_file_is_private_and_in_the_aws_format(server):
    path = server.data_dir / "admin-credentials"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    key, secret = h.read_credentials(path, "hearth")
    assert (key, secret) == server.credentials
    assert key.startswith("AKIA") and len(key) == 20 and len(secret) == 40


def test_valid_requests_pass_lambda_and_logs(server, client):
    assert client.list_functions()["Functions"] == []
    logs = boto3.session.Session().client(
        "logs", region_name=h.REGION, endpoint_url=server.endpoint,
        aws_access_key_id=server.credentials[0], aws_secret_access_key=server.credentials[1])
    assert logs.describe_log_groups()["logGroups"] == []


def test_missing_authentication(server):
    assert send(server, "GET", "/2015-03-31/functions") == lambda_error(
        "Missing Authentication Token", "MissingAuthenticationTokenException")
    status, _, raw = h.http_request(server.endpoint + "/", "POST", b"{}", {
        "X-Amz-Target": "Logs_20140328.DescribeLogGroups",
        "Content-Type": "application/x-amz-json-1.1"}, sign=False)
    assert (status, json.loads(raw)) == (400, {
        "__type": "MissingAuthenticationTokenException",
        "message": "Request is missing Authentication Token"})


def test_forged_unknown_and_truncated_signatures(server):
    key, secret = server.credentials
    # One character changed (never to itself: a secret that ends in "x" would stay valid).
    forged_secret = secret[:-1] + ("y" if secret.endswith("x") else "x")
    forged = SigV4Auth(Credentials(key, forged_secret), "lambda", h.REGION)
    assert send(server, "GET", "/2015-03-31/functions", auth=forged) == lambda_error(
        MISMATCH, "InvalidSignatureException")
    unknown = SigV4Auth(Credentials("AKIAAAAAAAAAAAAAAAAA", secret), "lambda", h.REGION)
    assert send(server, "GET", "/2015-03-31/functions", auth=unknown) == lambda_error(
        INVALID_TOKEN, "UnrecognizedClientException")
    # A valid signature cut short.
    req = AWSRequest(method="GET", url=server.endpoint + "/2015-03-31/functions")
    SigV4Auth(admin(server), "lambda", h.REGION).add_auth(req)
    headers = dict(req.headers.items())
    headers["Authorization"] = headers["Authorization"][:-2]
    status, resp, raw = h.http_request(req.url, "GET", None, headers, sign=False)
    assert (status, resp["x-amzn-ErrorType"], json.loads(raw)) == lambda_error(
        MISMATCH, "InvalidSignatureException")
    # Without its parts.
    headers["Authorization"] = f"AWS4-HMAC-SHA256 Credential={key}/20261201/us-east-1/lambda/aws4_request"
    status, resp, raw = h.http_request(req.url, "GET", None, headers, sign=False)
    assert (status, resp["x-amzn-ErrorType"], json.loads(raw)) == lambda_error(
        "Authorization header requires 'Signature' parameter. Authorization header requires "
        f"'SignedHeaders' parameter. Authorization={headers['Authorization']}",
        "IncompleteSignatureException")


def test_logs_answers_in_json_1_1(server):
    forged = SigV4Auth(Credentials("AKIAAAAAAAAAAAAAAAAA", "x" * 40), "logs", h.REGION)
    req = AWSRequest(method="POST", url=server.endpoint + "/", data=b"{}", headers={
        "X-Amz-Target": "Logs_20140328.DescribeLogGroups",
        "Content-Type": "application/x-amz-json-1.1"})
    forged.add_auth(req)
    status, _, raw = h.http_request(req.url, "POST", b"{}", dict(req.headers.items()), sign=False)
    assert (status, json.loads(raw)) == (400, {"__type": "UnrecognizedClientException",
                                               "message": INVALID_TOKEN})


def test_sqs_answers_in_json_1_0_with_its_query_code(server):
    """SQS speaks JSON 1.0 and is compatible with its query protocol: a refusal comes back
    in 1.0 with `x-amzn-query-error`, whose code boto3 (and the other SDKs) report."""
    forged = SigV4Auth(Credentials("AKIAAAAAAAAAAAAAAAAA", "x" * 40), "sqs", h.REGION)
    req = AWSRequest(method="POST", url=server.endpoint + "/", data=b"{}", headers={
        "X-Amz-Target": "AmazonSQS.ListQueues",
        "Content-Type": "application/x-amz-json-1.0"})
    forged.add_auth(req)
    status, headers, raw = h.http_request(req.url, "POST", b"{}", dict(req.headers.items()),
                                          sign=False)
    headers = {k.lower(): v for k, v in headers.items()}
    assert (status, json.loads(raw)) == (400, {"__type": "UnrecognizedClientException",
                                               "message": INVALID_TOKEN})
    assert headers["content-type"] == "application/x-amz-json-1.0"
    assert headers["x-amzn-query-error"] == "InvalidClientTokenId;Sender"
    sqs = boto3.session.Session().client(
        "sqs", region_name=h.REGION, endpoint_url=server.endpoint,
        aws_access_key_id="AKIAAAAAAAAAAAAAAAAA", aws_secret_access_key="x" * 40)
    with pytest.raises(sqs.exceptions.ClientError) as refused:
        sqs.list_queues()
    assert h.error_of(refused.value) == (400, "InvalidClientTokenId", INVALID_TOKEN)


def test_wrong_region_and_service(server):
    wrong_region = SigV4Auth(admin(server), "lambda", "us-west-2")
    assert send(server, "GET", "/2015-03-31/functions", auth=wrong_region) == lambda_error(
        "Credential should be scoped to a valid region, not 'us-west-2'. ",
        "InvalidSignatureException")
    wrong_service = SigV4Auth(admin(server), "logs", h.REGION)
    assert send(server, "GET", "/2015-03-31/functions", auth=wrong_service) == lambda_error(
        "Credential should be scoped to correct service: 'lambda'. ",
        "InvalidSignatureException")


def test_a_signature_20_minutes_old_is_refused(server, monkeypatch):
    then = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: then)
    req = AWSRequest(method="GET", url=server.endpoint + "/2015-03-31/functions")
    SigV4Auth(admin(server), "lambda", h.REGION).add_auth(req)
    monkeypatch.undo()
    sent = time.time()
    status, resp, raw = h.http_request(req.url, "GET", None, dict(req.headers.items()),
                                       sign=False)
    message = json.loads(raw)["message"]
    assert (status, resp["x-amzn-ErrorType"]) == (403, "InvalidSignatureException")
    stamp = then.strftime("%Y%m%dT%H%M%SZ")
    # "Signature expired: SIGNED is now earlier than NOW-15 (NOW - 15 min.)"
    fmt = lambda t: time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t))  # noqa: E731
    candidates = {f"Signature expired: {stamp} is now earlier than {fmt(t - 900)} ({fmt(t)} - 15 min.)"
                  for t in range(int(sent) - 1, int(sent) + 3)}
    assert message in candidates, message


def test_presigned_urls_are_honoured_until_they_expire(server):
    req = AWSRequest(method="GET", url=server.endpoint + "/2016-08-19/account-settings/")
    SigV4QueryAuth(admin(server), "lambda", h.REGION, expires=3).add_auth(req)
    assert "X-Amz-Signature=" in req.url
    status, _, raw = h.http_request(req.url, sign=False)
    assert status == 200, raw
    assert json.loads(raw)["AccountLimit"]["ConcurrentExecutions"] > 0
    time.sleep(4.2)
    status, resp, raw = h.http_request(req.url, sign=False)
    assert (status, resp["x-amzn-ErrorType"]) == (403, "InvalidSignatureException"), raw
    assert json.loads(raw)["message"].startswith("Signature expired: "), raw
    # A presigned URL whose signature was changed is refused.
    status, _, raw = h.http_request(req.url.replace("X-Amz-Signature=", "X-Amz-Signature=0"),
                                    sign=False)
    assert status == 403


def test_unsigned_payload_is_accepted_and_a_wrong_payload_hash_refused(server, client):
    name = h.unique_name("auth-payload")
    h.create_function(client, name)
    body = json.dumps({"signed": False}).encode()
    path = f"/2015-03-31/functions/{name}/invocations"
    status, _, doc = send(server, "POST", path, body,
                          {"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"},
                          auth=Payload(admin(server), "UNSIGNED-PAYLOAD"))
    assert status == 200, doc
    assert doc["event"] == {"signed": False}
    # The real hash of the body: accepted.
    digest = hashlib.sha256(body).hexdigest()
    status, _, doc = send(server, "POST", path, body, {"X-Amz-Content-SHA256": digest},
                          auth=Payload(admin(server), digest))
    assert status == 200, doc
    # The hash of another body, correctly signed: refused.
    other = hashlib.sha256(b'{"signed": true}').hexdigest()
    assert send(server, "POST", path, body, {"X-Amz-Content-SHA256": other},
                auth=Payload(admin(server), other)) == lambda_error(
        MISMATCH, "InvalidSignatureException")
    # A body changed after signing (no declared hash): refused.
    req = AWSRequest(method="POST", url=server.endpoint + path, data=body)
    SigV4Auth(admin(server), "lambda", h.REGION).add_auth(req)
    status, resp, raw = h.http_request(req.url, "POST", body.replace(b"false", b"true "),
                                       dict(req.headers.items()), sign=False)
    assert (status, resp["x-amzn-ErrorType"]) == (403, "InvalidSignatureException")


def test_private_endpoints_need_the_admin_and_code_urls_stay_open(server, client):
    status, resp, raw = h.http_request(server.endpoint + "/_hearth/runtimes", sign=False)
    assert (status, resp["x-amzn-ErrorType"]) == (403, "MissingAuthenticationTokenException")
    status, _, _ = h.http_request(server.endpoint + "/_hearth/runtimes")
    assert status == 200
    name = h.unique_name("auth-code")
    h.create_function(client, name)
    location = client.get_function(FunctionName=name)["Code"]["Location"]
    status, _, body = h.http_request(location, sign=False)
    assert (status, body) == (200, h.zip_bytes("python.zip"))


def test_the_aws_cli_and_hearth_cli_sign(server, tmp_path):
    assert h.aws_lambda(server.endpoint, tmp_path, "list-functions").rc == 0
    env = h.aws_env(tmp_path, server.endpoint)
    env["AWS_SECRET_ACCESS_KEY"] = "wrong" * 8
    out = h.run(h._aws_command() + ["lambda", "list-functions", "--endpoint-url",
                                    server.endpoint, "--region", h.REGION],
                env=env, check=False)
    assert out.rc != 0
    assert out.stderr.strip() == (
        "An error occurred (InvalidSignatureException) when calling the ListFunctions "
        f"operation (reached max retries: 0): {MISMATCH}"), out
    assert h.hearth_cli("ls", "--endpoint", server.endpoint).rc == 0
    # The hearth CLI finds the administrator key in the data directory.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HEARTH_DATA_DIR=str(server.data_dir), HOME=str(tmp_path))
    assert h.hearth_cli("ls", "--endpoint", server.endpoint, env=env).rc == 0
    env["HEARTH_DATA_DIR"] = str(tmp_path)
    out = h.hearth_cli("ls", "--endpoint", server.endpoint, env=env, check=False)
    assert out.rc == 1
    assert "MissingAuthenticationTokenException: Missing Authentication Token" in out.stderr


def test_auth_off_accepts_anything(server_with_env):
    srv = server_with_env("--auth", "off")
    anyone = boto3.session.Session().client(
        "lambda", region_name=h.REGION, endpoint_url=srv.endpoint,
        aws_access_key_id="anyone", aws_secret_access_key="anything",
        config=Config(retries={"total_max_attempts": 1}))
    assert anyone.list_functions()["Functions"] == []
    status, _, _ = h.http_request(srv.endpoint + "/2015-03-31/functions", sign=False)
    assert status == 200
    assert "AUTHENTICATION IS OFF" in srv.stderr_tail()


def test_auth_off_on_a_public_address_is_refused_without_the_force_flag(tmp_path):
    port = h.free_port()
    cmd = [str(h.HEARTH_BIN), "server", "--auth", "off", "--listen", f"0.0.0.0:{port}",
           "--data-dir", str(tmp_path / "data"), "--runtimes-dir", str(h.RUNTIMES_DIR)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                         stdin=subprocess.DEVNULL)
    assert out.returncode != 0
    assert (f"--auth off would let anyone who reaches 0.0.0.0:{port} deploy and run code as "
            "this host; listen on a loopback address, or add --auth-off-anywhere if you mean "
            "it") in out.stderr, out.stderr


@pytest.fixture(scope="module")
def sdk_function(server, client):
    # Its role allows exactly these; everything else is refused.
    h.allow_role(server.endpoint, ["lambda:InvokeFunction", "lambda:ListFunctions",
                                   "logs:DescribeLogStreams"])
    name = h.unique_name("auth-sdk")
    h.create_function(client, name, zip_name="sdk.zip", Timeout=30)
    return name


def test_a_function_signs_with_its_roles_session_credentials(server, client, sdk_function):
    target = h.unique_name("auth-target")
    h.create_function(client, target)
    got = h.invoke_ok(client, sdk_function, {"action": "invoke", "target": target,
                                             "payload": {"from": "sdk"}})
    assert (got["StatusCode"], got["Payload"]["event"]) == (200, {"from": "sdk"}), got
    streams = h.invoke_ok(client, sdk_function, {"action": "streams",
                                                 "group": f"/aws/lambda/{target}"})
    assert len(streams["streams"]) == 1, streams
    creds = h.invoke_ok(client, sdk_function, {"action": "credentials"})
    key, secret, token = (creds["AWS_ACCESS_KEY_ID"], creds["AWS_SECRET_ACCESS_KEY"],
                          creds["AWS_SESSION_TOKEN"])
    assert key.startswith("ASIA") and len(key) == 20, creds
    assert token and token != "hearth", creds
    # The same session credentials verify from outside, as temporary credentials do ...
    session = h.lambda_client(server.endpoint, credentials=(key, secret))
    with pytest.raises(session.exceptions.ClientError) as missing_token:
        session.list_functions()
    assert h.error_of(missing_token.value) == (403, "UnrecognizedClientException", INVALID_TOKEN)
    with_token = boto3.session.Session().client(
        "lambda", region_name=h.REGION, endpoint_url=server.endpoint,
        aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token,
        config=Config(retries={"total_max_attempts": 1}))
    assert target in [f["FunctionName"] for f in with_token.list_functions()["Functions"]]
    # What the role's policy does not name is refused, with AWS's text.
    with pytest.raises(with_token.exceptions.ClientError) as denied:
        with_token.get_account_settings()
    session_arn = f"arn:aws:sts::{h.ACCOUNT}:assumed-role/hearth-e2e/{sdk_function}"
    assert h.error_of(denied.value) == (
        403, "AccessDeniedException",
        f"User: {session_arn} is not authorized to perform: lambda:GetAccountSettings on "
        "resource: * because no identity-based policy allows the lambda:GetAccountSettings "
        "action")
    # ... and a token changed by one character does not.
    forged = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    bad = boto3.session.Session().client(
        "lambda", region_name=h.REGION, endpoint_url=server.endpoint,
        aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=forged,
        config=Config(retries={"total_max_attempts": 1}))
    with pytest.raises(bad.exceptions.ClientError) as refused:
        bad.list_functions()
    assert h.error_of(refused.value) == (403, "UnrecognizedClientException", INVALID_TOKEN)


def test_keys_are_created_listed_rotated_and_deleted(server, tmp_path):
    policy = tmp_path / "policy.json"
    malformed = tmp_path / "malformed.json"
    malformed.write_text('{"Version": "2012-10-17", "Statement": []}')
    refused = h.hearth_cli("keys", "create", "--account", "111122223333", "--name", "alice",
                           "--policy", malformed, "--endpoint", server.endpoint, check=False)
    assert refused.rc == 1 and "InvalidParameterValueException" in refused.stderr, refused
    allow_list = ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
                  '"Action": "lambda:ListFunctions", "Resource": "*"}]}')
    policy.write_text(allow_list)
    made = h.hearth_cli("keys", "create", "--account", "111122223333", "--name", "alice",
                        "--policy", policy, "--json", "--endpoint", server.endpoint).json
    key, secret = made["AccessKeyId"], made["SecretAccessKey"]
    assert key.startswith("AKIA") and len(key) == 20 and len(secret) == 40, made
    assert {k: v for k, v in made.items() if k not in ("AccessKeyId", "SecretAccessKey", "Created")} == {
        "Account": "111122223333", "UserName": "alice",
        "Arn": "arn:aws:iam::111122223333:user/alice",
        "Policy": allow_list}
    # The secret is stored sealed, never in the clear.
    data = b"".join(p.read_bytes() for p in server.data_dir.glob("hearth.db*"))
    assert secret.encode() not in data
    listed = h.hearth_cli("keys", "list", "--json", "--endpoint", server.endpoint).json["Keys"]
    assert [(k["AccessKeyId"], k.get("UserName")) for k in listed] == [
        (server.credentials[0], None), (key, "alice")]
    assert all("SecretAccessKey" not in k for k in listed)
    # The key signs; it is not the administrator's, so Hearth's own endpoints refuse it.
    alice = h.lambda_client(server.endpoint, credentials=(key, secret))
    assert isinstance(alice.list_functions()["Functions"], list)
    # Its policy allows ListFunctions and nothing else.
    with pytest.raises(alice.exceptions.ClientError) as denied:
        alice.get_account_settings()
    assert h.error_of(denied.value) == (
        403, "AccessDeniedException",
        "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: "
        "lambda:GetAccountSettings on resource: * because no identity-based policy allows "
        "the lambda:GetAccountSettings action")
    status, resp, raw = h.http_request(server.endpoint + "/_hearth/keys", sign=False,
                                       headers=h.sign_headers(server.endpoint + "/_hearth/keys",
                                                              credentials=(key, secret)))
    assert (status, resp["x-amzn-ErrorType"], json.loads(raw)) == (403, "AccessDeniedException", {
        "Type": "User",
        "Message": "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: "
                   "GET /_hearth/keys: Hearth's own endpoints are the administrator's (the "
                   "default account's root)"})
    taken = h.hearth_cli("keys", "create", "--account", "111122223333", "--name", "alice",
                         "--endpoint", server.endpoint, check=False)
    assert taken.rc == 1 and "ResourceConflictException" in taken.stderr, taken
    # Rotation: the old key stops working, the new one works.
    rotated = h.hearth_cli("keys", "rotate", key, "--json", "--endpoint", server.endpoint).json
    assert rotated["UserName"] == "alice" and rotated["AccessKeyId"] != key
    with pytest.raises(alice.exceptions.ClientError) as old:
        alice.list_functions()
    assert h.error_of(old.value) == (403, "UnrecognizedClientException", INVALID_TOKEN)
    new = h.lambda_client(server.endpoint, credentials=(rotated["AccessKeyId"],
                                                       rotated["SecretAccessKey"]))
    assert isinstance(new.list_functions()["Functions"], list)
    out = h.hearth_cli("keys", "delete", rotated["AccessKeyId"], "--endpoint", server.endpoint)
    assert out.stdout.strip() == f"deleted {rotated['AccessKeyId']}"
    with pytest.raises(new.exceptions.ClientError) as gone:
        new.list_functions()
    assert h.error_of(gone.value)[1] == "UnrecognizedClientException"
    # The administrator key is not deleted (that would lock the operator out).
    refused = h.hearth_cli("keys", "delete", server.credentials[0], "--endpoint",
                           server.endpoint, check=False)
    assert refused.rc == 1 and "cannot be deleted" in refused.stderr, refused


def test_rotating_the_admin_key_rewrites_its_file(own_server):
    old = own_server.credentials
    rotated = h.hearth_cli("keys", "rotate", old[0], "--json", "--endpoint",
                           own_server.endpoint).json
    new = (rotated["AccessKeyId"], rotated["SecretAccessKey"])
    assert h.read_credentials(own_server.data_dir / "admin-credentials") == new
    assert h.read_credentials(own_server.data_dir / "admin-credentials", "hearth") == new
    status, _, _ = h.http_request(own_server.endpoint + "/_hearth/runtimes", sign=False,
                                  headers=h.sign_headers(own_server.endpoint + "/_hearth/runtimes",
                                                         credentials=new))
    assert status == 200
    status, _, _ = h.http_request(own_server.endpoint + "/_hearth/runtimes", sign=False,
                                  headers=h.sign_headers(own_server.endpoint + "/_hearth/runtimes",
                                                         credentials=old))
    assert status == 403
    # After a restart the server keeps the rotated key and its file.
    own_server.restart()
    assert own_server.credentials == new


def test_query_protocol_answers_in_xml(server):
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    forged = SigV4Auth(Credentials("AKIAAAAAAAAAAAAAAAAA", "x" * 40), "sts", h.REGION)
    req = AWSRequest(method="POST", url=server.endpoint + "/", data=body, headers=headers)
    forged.add_auth(req)
    status, resp, raw = h.http_request(req.url, "POST", body, dict(req.headers.items()),
                                       sign=False)
    request_id = resp["x-amzn-RequestId"]
    assert (status, raw.decode()) == (403, (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n'
        "  <Error>\n    <Type>Sender</Type>\n    <Code>InvalidClientTokenId</Code>\n"
        f"    <Message>{INVALID_TOKEN}</Message>\n  </Error>\n"
        f"  <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n"))
    # boto3 reads it as AWS's.
    sts = boto3.session.Session().client(
        "sts", region_name=h.REGION, endpoint_url=server.endpoint,
        aws_access_key_id=server.credentials[0], aws_secret_access_key="x" * 40,
        config=Config(retries={"total_max_attempts": 1}))
    with pytest.raises(sts.exceptions.ClientError) as refused:
        sts.get_caller_identity()
    assert h.error_of(refused.value) == (403, "SignatureDoesNotMatch", MISMATCH)
