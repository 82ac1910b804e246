"""Helpers shared by Hearth's end-to-end tests: paths, the server process, clients, invocations.

The fixtures in conftest.py wrap these; test modules import the plain functions directly.
"""

from __future__ import annotations

import base64
import dataclasses
import fcntl
import hashlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

REPO = Path(__file__).resolve().parents[2]
HEARTH_BIN = Path(os.environ.get("HEARTH_BIN", REPO / "target" / "debug" / "hearth"))
RUNTIMES_DIR = Path(os.environ.get("HEARTH_TEST_RUNTIMES", REPO / "target" / "test-runtimes"))
ZIPS_DIR = Path(os.environ.get("HEARTH_TEST_ZIPS", REPO / "target" / "test-zips"))
FUNCTIONS_DIR = REPO / "tests" / "functions"
BUILD_SCRIPT = REPO / "tests" / "build-functions.sh"

REGION = "us-east-1"
ACCOUNT = "000000000000"
ROLE = "arn:aws:iam::000000000000:role/hearth-e2e"
PYTHON = "python3.11"
NODE = "nodejs20.x"
PROVIDED = "provided.al2023"
MANAGED_RUNTIMES = (PYTHON, NODE)

MAX_RESPONSE = 6291556
MAX_REQUEST = 6291456

TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
LOG_STREAM_RE = re.compile(r"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]+$")


def require_privileged(what: str, present: bool) -> None:
    """The one marker of an end-to-end test that needs a privilege (root, say) it cannot do
    without. Without it the test is skipped, or fails when HEARTH_REQUIRE_PRIVILEGED_TESTS=1
    (scripts/test.sh sets it when run as root), so that such a run cannot pass with the test
    silently not run. Tests skipped by design under the process sandbox do not use this:
    see docs/testing.md."""
    if present:
        return
    if os.environ.get("HEARTH_REQUIRE_PRIVILEGED_TESTS") == "1":
        pytest.fail(f"this test needs {what}, which this host lacks, and "
                    "HEARTH_REQUIRE_PRIVILEGED_TESTS=1 says it must run", pytrace=False)
    pytest.skip(f"needs {what} (set HEARTH_REQUIRE_PRIVILEGED_TESTS=1 to make that a failure)")


def function_arn(name: str, qualifier: str | None = None) -> str:
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def not_found_message(name: str) -> str:
    return f"Function not found: {function_arn(name)}"


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def zip_path(name: str) -> Path:
    return ZIPS_DIR / name


def zip_bytes(name: str) -> bytes:
    return zip_path(name).read_bytes()


def code_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


# ---------------------------------------------------------------------------------------------
# Server process


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The administrator key of each running test server (by endpoint), read from its data
# directory's admin-credentials once it serves; the last one started is the default.
CREDENTIALS: dict = {}
_LAST_CREDENTIALS: list = []


def read_credentials(path: Path, profile: str = "default") -> tuple:
    """(access key id, secret) of a profile of an AWS shared-credentials file."""
    import configparser

    ini = configparser.ConfigParser()
    ini.read(path)
    return ini[profile]["aws_access_key_id"], ini[profile]["aws_secret_access_key"]


def credentials_for(endpoint: str | None = None) -> tuple:
    """The administrator key of the server at `endpoint` (else of the last one started)."""
    if endpoint is not None:
        base = "/".join(endpoint.split("/", 3)[:3])
        if base in CREDENTIALS:
            return CREDENTIALS[base]
    if _LAST_CREDENTIALS:
        return _LAST_CREDENTIALS[-1]
    return ("hearth-test", "hearth-test")


def key_args(endpoint: str | None = None) -> dict:
    """boto3's keyword arguments for the administrator key of the server at `endpoint`."""
    key = credentials_for(endpoint)
    return {"aws_access_key_id": key[0], "aws_secret_access_key": key[1]}


def service_of(path: str, headers: dict) -> str:
    """The SigV4 service a request to Hearth is signed for."""
    if path.split("?")[0] == "/":
        target = next((v for k, v in headers.items() if k.lower() == "x-amz-target"), "")
        return "logs" if target.startswith("Logs_") else "sts"
    return "lambda"


def sign_headers(url: str, method: str = "GET", body: bytes | None = None,
                 headers: dict | None = None, credentials: tuple | None = None,
                 service: str | None = None, region: str = REGION) -> dict:
    """`headers` with the SigV4 headers (Authorization, X-Amz-Date) botocore's signer
    adds for the administrator key of the server at `url` (or `credentials`)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    headers = dict(headers or {})
    key = credentials or credentials_for(url)
    path = "/" + url.split("/", 3)[3] if url.count("/") >= 3 else "/"
    req = AWSRequest(method=method, url=url, data=body or b"", headers=headers)
    SigV4Auth(Credentials(*key), service or service_of(path, headers), region).add_auth(req)
    return dict(req.headers.items())


def http_request(url: str, method: str = "GET", body: bytes | None = None,
                 headers: dict | None = None, timeout: float = 30, context=None,
                 sign: bool = True):
    """Returns (status, headers, body) without raising on HTTP error statuses; `context`
    is the ssl.SSLContext of an https URL. Signed with the server's administrator key
    unless `sign` is false or it has an Authorization header already."""
    headers = dict(headers or {})
    if sign and not any(k.lower() == "authorization" for k in headers):
        headers = sign_headers(url, method, body, headers)
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


class HearthServer:
    """`hearth server` on a free port with its own data dir and the shared runtimes dir."""

    def __init__(self, data_dir: Path, runtimes_dir: Path, log_dir: Path,
                 cwd: Path | None = None, env: dict | None = None,
                 extra_args: list | None = None, make_role: bool = True,
                 netns: str | None = None, host: str = "127.0.0.1"):
        """With `cwd`, the server runs there and gets both directories as relative paths;
        `env` adds to (or overrides) the test's environment, and `extra_args` are added to
        `hearth server`'s command line. With `make_role` (the default) each start makes
        the test functions' execution role (ROLE) unless it exists: CreateFunction checks
        it with authentication on. With `netns` the server runs in that network namespace
        (`nsenter --net`), listening on `host`, an address of that namespace."""
        self.netns = netns
        self.extra_args = [str(a) for a in extra_args or []]
        self.make_role = make_role
        self.data_dir = Path(data_dir)
        self.runtimes_dir = Path(runtimes_dir)
        self.log_dir = Path(log_dir)
        self.cwd = Path(cwd) if cwd else None
        self.env = dict(env or {})
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.starts = 0
        self.stderr_path: Path | None = None
        # A server started with a TLS flag: the CA bundle its clients trust (the
        # certificate it serves, for a self-signed one) and the name it is reached by.
        self.ca_bundle: Path | None = None
        self.host = host
        # Where it listens (clients may reach it by another name, as `localhost`).
        self.listen_host = host
        self.credentials: tuple | None = None

    @property
    def endpoint(self) -> str:
        scheme = "https" if self.ca_bundle else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def ssl_context(self):
        """The ssl.SSLContext that trusts the server's certificate (None for plain HTTP);
        raises OSError while the server has not written a self-signed one yet."""
        if self.ca_bundle is None:
            return None
        import ssl

        return ssl.create_default_context(cafile=str(self.ca_bundle))

    def ssl_verify(self):
        """boto3's `verify` for this server: its CA bundle, or the default."""
        return str(self.ca_bundle) if self.ca_bundle else None

    def start(self, port: int | None = None, timeout: float = 60):
        assert self.proc is None, "server already running"
        self.port = port or free_port()
        self.starts += 1
        self.stderr_path = self.log_dir / f"hearth-server-{self.starts}.stderr"
        stderr = open(self.stderr_path, "wb")
        data_dir, runtimes_dir = str(self.data_dir), str(self.runtimes_dir)
        if self.cwd:
            data_dir = os.path.relpath(data_dir, self.cwd)
            runtimes_dir = os.path.relpath(runtimes_dir, self.cwd)
        cmd = [
            # nsenter, not `ip netns exec`, which also remounts /sys (hiding the cgroup
            # hierarchies the jail needs).
            *(["nsenter", f"--net=/var/run/netns/{self.netns}", "--"] if self.netns else []),
            str(HEARTH_BIN), "server",
            "--listen", f"{self.listen_host}:{self.port}",
            "--data-dir", data_dir,
            "--runtimes-dir", runtimes_dir,
            *self.extra_args,
        ]
        env = dict(os.environ)
        env.setdefault("RUST_BACKTRACE", "1")
        env.update(self.env)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=stderr,
                                     stderr=stderr, env=env, cwd=self.cwd)
        stderr.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                self.proc = None
                raise RuntimeError(f"hearth server exited with {rc} before serving:\n"
                                   f"{self.stderr_tail()}")
            try:
                status, _, _ = http_request(f"{self.endpoint}/2016-08-19/account-settings/",
                                            timeout=2, context=self.ssl_context(),
                                            sign=False)
                # Any answer means it serves (403: authentication on, as by default).
                if status in (200, 403):
                    self._register_credentials()
                    if self.make_role and self.credentials:
                        make_execution_role(self.endpoint, verify=self.ssl_verify())
                    return
            except (urllib.error.URLError, ConnectionError, socket.timeout, OSError):
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"hearth server did not answer within {timeout}s:\n"
                                   f"{self.stderr_tail()}")
            time.sleep(0.05)

    def _register_credentials(self):
        path = self.data_dir / "admin-credentials"
        if self.cwd and not path.is_absolute():
            path = self.cwd / path
        if path.exists():
            self.credentials = read_credentials(path)
            CREDENTIALS[self.endpoint] = self.credentials
            _LAST_CREDENTIALS.append(self.credentials)

    def stop(self, timeout: float = 10) -> int:
        """SIGTERM and wait; returns the exit code (raises if it does not exit in time)."""
        assert self.proc is not None, "server not running"
        proc, self.proc = self.proc, None
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError(f"hearth server did not exit within {timeout}s of SIGTERM:\n"
                                 f"{self.stderr_tail()}")

    def stop_cleanly(self, timeout: float = 10):
        rc = self.stop(timeout)
        assert rc == 0, f"hearth server exited with {rc} after SIGTERM:\n{self.stderr_tail()}"

    def restart(self, same_port: bool = False):
        port = self.port if same_port else None
        self.stop_cleanly()
        self.start(port=port)

    def kill(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def stderr_tail(self, limit: int = 20000) -> str:
        if not self.log_dir.exists():
            return ""
        out = []
        for path in sorted(self.log_dir.glob("hearth-server-*.stderr")):
            text = path.read_text(errors="replace")
            out.append(f"--- {path.name} ---\n{text[-limit:]}")
        return "\n".join(out)

    def get(self, path: str, **kw):
        return http_request(self.endpoint + path, context=self.ssl_context(), **kw)


def log_events(server: HearthServer, name: str) -> list:
    """Every log event of a function from /_hearth/logs, oldest first (all pages)."""
    events, after = [], None
    while True:
        query = "?limit=10000" + (f"&after={after}" if after else "")
        status, _, body = server.get(f"/_hearth/logs/{name}{query}")
        assert status == 200, body
        page = json.loads(body)["events"]
        if not page:
            return events
        events.extend(page)
        after = page[-1]["id"]


# ---------------------------------------------------------------------------------------------
# Clients


def start_self_signed(base: Path, runtimes_dir: Path) -> "HearthServer":
    """A server under `base` with a generated certificate for localhost and 127.0.0.1,
    started, with `ca_bundle` (its certificate) and `host` set for clients."""
    (base / "data").mkdir()
    srv = HearthServer(base / "data", runtimes_dir, base,
                       extra_args=["--tls-self-signed", "localhost,127.0.0.1"])
    srv.ca_bundle = base / "data" / "tls" / "self-signed.pem"
    srv.host = "localhost"
    srv.start()
    return srv


def lambda_client(endpoint: str, validate: bool = True, credentials: tuple | None = None,
                  verify=None):
    """A boto3 Lambda client of `endpoint`; `verify` as boto3's (a CA bundle for HTTPS)."""
    config = Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        read_timeout=60,
        connect_timeout=5,
        parameter_validation=validate,
    )
    return boto3.session.Session().client(
        "lambda",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id=(credentials or credentials_for(endpoint))[0],
        aws_secret_access_key=(credentials or credentials_for(endpoint))[1],
        config=config,
        verify=verify,
    )


@dataclasses.dataclass
class Invocation:
    status: int
    payload: bytes
    function_error: str | None
    request_id: str
    log_result: str | None
    executed_version: str | None
    headers: dict

    @property
    def json(self) -> Any:
        return json.loads(self.payload)

    @property
    def log(self) -> str:
        assert self.log_result is not None, "no X-Amz-Log-Result in the response"
        return base64.b64decode(self.log_result).decode("utf-8", errors="replace")


def invoke(client, name: str, payload: Any = None, raw: bytes | None = None, **kw) -> Invocation:
    """Invokes synchronously; `payload` is JSON-encoded unless `raw` bytes are given."""
    if raw is None:
        raw = json.dumps({} if payload is None else payload).encode()
    resp = client.invoke(FunctionName=name, Payload=raw, **kw)
    body = resp["Payload"].read() if "Payload" in resp else b""
    meta = resp["ResponseMetadata"]
    return Invocation(
        status=resp["StatusCode"],
        payload=body,
        function_error=resp.get("FunctionError"),
        request_id=meta.get("RequestId", ""),
        log_result=resp.get("LogResult"),
        executed_version=resp.get("ExecutedVersion"),
        headers=meta.get("HTTPHeaders", {}),
    )


def invoke_ok(client, name: str, payload: Any = None, **kw) -> Any:
    inv = invoke(client, name, payload, **kw)
    assert inv.status == 200, inv
    assert inv.function_error is None, f"function failed: {inv.payload[:2000]!r}"
    return inv.json


def wait_for(client, name: str, field: str, target: str, timeout: float = 60) -> dict:
    """Polls GetFunctionConfiguration until `field` equals `target` (fails on Failed)."""
    deadline = time.monotonic() + timeout
    while True:
        cfg = client.get_function_configuration(FunctionName=name)
        if cfg.get(field) == target:
            return cfg
        assert cfg.get(field) != "Failed", f"{name}: {field} is Failed: {cfg}"
        assert time.monotonic() < deadline, f"{name}: {field} never became {target}: {cfg}"
        time.sleep(0.05)


def wait_active(client, name: str) -> dict:
    return wait_for(client, name, "State", "Active")


def wait_updated(client, name: str) -> dict:
    return wait_for(client, name, "LastUpdateStatus", "Successful")


def wait_mapping_state(client, uuid: str, state: str, timeout: float = 30) -> dict:
    """Polls GetEventSourceMapping until the mapping's `State` is `state` (a new mapping is
    `Creating`, then `Enabled`); returns it."""
    deadline = time.monotonic() + timeout
    while True:
        got = client.get_event_source_mapping(UUID=uuid)
        if got["State"] == state:
            return got
        assert time.monotonic() < deadline, f"mapping stayed {got['State']}, not {state}"
        time.sleep(0.2)


RECORDER_MARK = "RECORDED-EVENT "


def recorder_zip() -> bytes:
    """A Python function that prints every event it gets, as one JSON line after
    RECORDER_MARK, and answers `{}`."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "import json\n\n\ndef handler(event, context):\n"
                             f"    print({RECORDER_MARK!r} + json.dumps(event))\n"
                             "    return {}\n")
    return buf.getvalue()


def recorded(server: "HearthServer", name: str) -> list:
    """The events the recorder function `name` printed, oldest first."""
    return [json.loads(e["message"].split(RECORDER_MARK, 1)[1])
            for e in log_events(server, name) if RECORDER_MARK in e.get("message", "")]


def create_function(client, name: str, zip_name: str | None = "python.zip",
                    runtime: str = PYTHON, handler: str | None = "app.handler",
                    wait: bool = True, zip_file: bytes | None = None, **kw) -> dict:
    params = dict(FunctionName=name, Runtime=runtime, Role=ROLE,
                  Code={"ZipFile": zip_file if zip_file is not None else zip_bytes(zip_name)})
    if handler is not None:
        params["Handler"] = handler
    params.update(kw)
    created = client.create_function(**params)
    if wait:
        wait_active(client, name)
    return created


def update_code(client, name: str, zip_name: str) -> dict:
    out = client.update_function_code(FunctionName=name, ZipFile=zip_bytes(zip_name))
    wait_updated(client, name)
    return out


def update_config(client, name: str, **kw) -> dict:
    out = client.update_function_configuration(FunctionName=name, **kw)
    wait_updated(client, name)
    return out


TRUST_LAMBDA = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
    "Action": "sts:AssumeRole"}]}


def make_execution_role(endpoint: str, role: str = "hearth-e2e", verify=None) -> None:
    """Makes an execution role trusting Lambda (ROLE by default) in the server's IAM with
    its administrator key, unless it exists: with authentication on, CreateFunction
    refuses a role that does not exist or does not trust Lambda."""
    iam = boto3.session.Session().client(
        "iam", region_name=REGION, endpoint_url=endpoint, verify=verify, **key_args(endpoint),
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
    try:
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA))
    except iam.exceptions.EntityAlreadyExistsException:
        pass


def allow_role(endpoint: str, actions: list, role: str = "hearth-e2e",
               resource: str = "*", verify=None) -> None:
    """Makes the test functions' execution role (ROLE) in the server's IAM, trusting
    Lambda, with one inline policy allowing `actions` on `resource`: with authentication
    on, a function's own SDK calls are allowed exactly what its role's policies allow.
    `verify` as boto3's (a CA bundle for HTTPS)."""
    iam = boto3.session.Session().client(
        "iam", region_name=REGION, endpoint_url=endpoint, verify=verify, **key_args(endpoint),
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
    try:
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA))
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    iam.put_role_policy(RoleName=role, PolicyName="e2e", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}]}))


def service_client(endpoint: str, service: str, validate: bool = True, verify=None):
    """boto3's client of `service` (`sqs`, `sns`, ...) for the server at `endpoint`, with
    its administrator key and no retries; `validate=False` turns botocore's parameter
    validation off; `verify` as boto3's (a CA bundle for HTTPS)."""
    return boto3.session.Session().client(
        service, region_name=REGION, endpoint_url=endpoint, verify=verify, **key_args(endpoint),
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"},
                      parameter_validation=validate))


def gateway_client(endpoint: str, validate: bool = True):
    """boto3's `apigatewayv2` client for the server at `endpoint`, with its administrator
    key; `validate=False` turns botocore's parameter validation off."""
    return boto3.session.Session().client(
        "apigatewayv2", region_name=REGION, endpoint_url=endpoint, **key_args(endpoint),
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"},
                      parameter_validation=validate))


def http_api(gw, client, fn: str, version: str, cors: dict | None = None) -> str:
    """An HTTP API whose `$default` route and stage send everything to `fn` with payload
    format `version`, allowed to invoke it; its base URL (without a trailing slash)."""
    api = gw.create_api(Name=unique_name("http-api"), ProtocolType="HTTP",
                        **({"CorsConfiguration": cors} if cors else {}))
    integ = gw.create_integration(ApiId=api["ApiId"], IntegrationType="AWS_PROXY",
                                  IntegrationUri=function_arn(fn),
                                  PayloadFormatVersion=version)
    gw.create_route(ApiId=api["ApiId"], RouteKey="$default",
                    Target=f"integrations/{integ['IntegrationId']}")
    gw.create_stage(ApiId=api["ApiId"], StageName="$default", AutoDeploy=True)
    client.add_permission(
        FunctionName=fn, StatementId=f"apigw-{api['ApiId']}", Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api['ApiId']}/*")
    return api["ApiEndpoint"]


def user_key(server, tmp_path, account: str, name: str, statements) -> tuple[str, str]:
    """A key of IAM user `name` in `account` (`hearth keys create`) whose identity policy
    has `statements` (None: a key without a policy); (access key id, secret)."""
    args = ["keys", "create", "--account", account, "--name", name]
    if statements is not None:
        path = tmp_path / f"{account}-{name}.json"
        path.write_text(json.dumps({"Version": "2012-10-17", "Statement": statements}))
        args += ["--policy", path]
    made = hearth_cli(*args, "--json", "--endpoint", server.endpoint).json
    return made["AccessKeyId"], made["SecretAccessKey"]


def error_of(exc) -> tuple[int, str, str]:
    """(HTTP status, error code, message) of a botocore ClientError."""
    resp = exc.response
    return (resp["ResponseMetadata"]["HTTPStatusCode"], resp["Error"].get("Code"),
            resp["Error"].get("Message"))


# ---------------------------------------------------------------------------------------------
# Command-line tools


@dataclasses.dataclass
class Run:
    args: list
    rc: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)

    def __str__(self):
        return (f"$ {' '.join(map(str, self.args))}\nexit {self.rc}\n"
                f"stdout:\n{self.stdout[-4000:]}\nstderr:\n{self.stderr[-4000:]}")


def run(args: list, env: dict | None = None, check: bool = True, timeout: float = 120,
        cwd: Path | None = None) -> Run:
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, env=env,
                          timeout=timeout, stdin=subprocess.DEVNULL, cwd=cwd)
    result = Run(list(args), proc.returncode, proc.stdout, proc.stderr)
    if check:
        assert result.rc == 0, f"command failed:\n{result}"
    return result


def _aws_command() -> list:
    override = os.environ.get("HEARTH_AWS_CLI")
    if override:
        return override.split()
    try:
        import awscli  # noqa: F401

        return [sys.executable, "-m", "awscli"]
    except ImportError:
        found = shutil.which("aws")
        assert found, "the AWS CLI is needed: pip install -r tests/requirements.txt"
        return [found]


_AWS_MAJOR: list = []


def _aws_major(cmd: list, env: dict) -> int:
    if not _AWS_MAJOR:
        out = subprocess.run(cmd + ["--version"], capture_output=True, text=True, env=env)
        m = re.search(r"aws-cli/(\d+)\.", out.stdout + out.stderr)
        _AWS_MAJOR.append(int(m.group(1)) if m else 1)
    return _AWS_MAJOR[0]


def aws_env(tmp_dir: Path, endpoint: str | None = None) -> dict:
    """The AWS CLI's environment: the administrator key of the server at `endpoint` (else
    of the last one started), no config or credentials files of the user's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    key = credentials_for(endpoint)
    env.update(
        AWS_ACCESS_KEY_ID=key[0],
        AWS_SECRET_ACCESS_KEY=key[1],
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=str(tmp_dir / "aws-config-none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_dir / "aws-credentials-none"),
        AWS_PAGER="",
        AWS_MAX_ATTEMPTS="1",
        AWS_RETRY_MODE="standard",
    )
    return env


def aws_lambda(endpoint: str, tmp_dir: Path, *args, check: bool = True) -> Run:
    """Runs `aws lambda ARGS --endpoint-url ... --region us-east-1 --output json`."""
    cmd = _aws_command()
    env = aws_env(tmp_dir, endpoint)
    extra = []
    # AWS CLI v2 reads blobs as base64 by default; v1 passes them raw and lacks the option.
    if args and args[0] == "invoke" and _aws_major(cmd, env) >= 2:
        extra = ["--cli-binary-format", "raw-in-base64-out"]
    return run(cmd + ["lambda", *args, *extra, "--endpoint-url", endpoint, "--region", REGION,
                      "--output", "json"], env=env, check=check)


def cli_env(endpoint: str | None = None) -> dict:
    """The environment of a `hearth` client verb: the administrator key of the server at
    `endpoint` (else of the last one started) as AWS_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    key = credentials_for(endpoint)
    env.update(AWS_ACCESS_KEY_ID=key[0], AWS_SECRET_ACCESS_KEY=key[1])
    return env


# ---------------------------------------------------------------------------------------------
# The AWS SDK for JavaScript

JS_DIR = REPO / "target" / "e2e-js-sdk"
JS_SCRIPTS = REPO / "tests" / "e2e" / "js"


def _npm_version(name: str) -> str | None:
    try:
        return json.loads((JS_DIR / "node_modules" / name / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def npm_packages(packages: dict) -> Path:
    """`packages` ({name: exact version}) installed with npm under target/e2e-js-sdk, once
    for every test process (a file lock keeps parallel workers from installing at once);
    its node_modules. Versions are pinned so that a run tests what the last one did."""
    JS_DIR.mkdir(parents=True, exist_ok=True)
    with open(JS_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        missing = [f"{n}@{v}" for n, v in packages.items() if _npm_version(n) != v]
        if missing:
            done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--save-exact",
                                   *missing], cwd=JS_DIR, capture_output=True, text=True,
                                  timeout=600, stdin=subprocess.DEVNULL)
            if done.returncode != 0:
                pytest.fail(f"npm install {' '.join(missing)} failed:\n{done.stderr}",
                            pytrace=False)
    return JS_DIR / "node_modules"


def js_script(name: str) -> Path:
    """tests/e2e/js/`name` copied beside the installed packages, where node resolves its
    imports (ES modules do not look at NODE_PATH)."""
    path = JS_DIR / name
    path.write_bytes((JS_SCRIPTS / name).read_bytes())
    return path


def hearth_cli(*args, check: bool = True, timeout: float = 120, cwd: Path | None = None,
               env: dict | None = None) -> Run:
    """Runs `hearth ARGS`; its client verbs sign with the administrator key of the server
    named by `--endpoint` (else of the last one started), given as AWS_* variables."""
    args = [str(a) for a in args]
    endpoint = args[args.index("--endpoint") + 1] if "--endpoint" in args[:-1] else None
    if env is None:
        env = cli_env(endpoint)
    return run([HEARTH_BIN, *args], check=check, timeout=timeout, cwd=cwd, env=env)


def contains_value(haystack: Any, needle: Any) -> bool:
    """True if `needle` equals `haystack` or any value nested in it (JSON strings are parsed)."""
    if haystack == needle:
        return True
    if isinstance(haystack, dict):
        return any(contains_value(v, needle) for v in haystack.values())
    if isinstance(haystack, list):
        return any(contains_value(v, needle) for v in haystack)
    if isinstance(haystack, str) and haystack[:1] in "{[":
        try:
            return contains_value(json.loads(haystack), needle)
        except ValueError:
            return False
    return False


def jail_root(data_dir: Path) -> Path:
    """The one mount point every jailed environment of the server on `data_dir` assembles
    its root on, each in its own mount namespace."""
    return data_dir / "jail" / "root"


def jail_root_entries(data_dir: Path) -> list[str]:
    """What the host sees in that mount point: always nothing."""
    root = jail_root(data_dir)
    return sorted(os.listdir(root)) if root.is_dir() else []


def process_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def env_pids(env_id: str) -> list[int]:
    """Host pids of the processes of one execution environment (found by its
    AWS_LAMBDA_LOG_STREAM_NAME, which is unique per environment), in any sandbox."""
    needle = f"AWS_LAMBDA_LOG_STREAM_NAME={env_id}".encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle in f.read().split(b"\0") and process_alive(int(entry)):
                    pids.append(int(entry))
        except OSError:
            pass
    return pids


def env_alive(env_id: str) -> bool:
    return bool(env_pids(env_id))


def pids_with_arg(token: str) -> list[int]:
    """Host pids of live processes with `token` inside one of their command-line arguments:
    finds processes that dropped their environment (which env_pids cannot see)."""
    needle = token.encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if any(needle in a for a in args) and process_alive(int(entry)):
            pids.append(int(entry))
    return pids


def zip_of(files: dict) -> bytes:
    """A zip of `files` (name to text or bytes), every entry executable: what a layer of
    extensions or a `bootstrap` needs."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()


def log_messages(server: HearthServer, name: str) -> list:
    """The messages of every log event of function `name`, in order."""
    return [e["message"] for e in log_events(server, name)]


def eventually(what: str, check, timeout: float = 30) -> None:
    """Waits until `check()` is true, failing with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.1)


def process_tree(root: int) -> str:
    """Every process under `root` (its own threads too): pid, name, state and the kernel
    function it sleeps in, one per line, to tell from a failure's message what a server
    and its environments were stuck on."""
    stats = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                text = f.read()
        except OSError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        fields = text[text.rindex(")") + 2:].split()
        stats[int(entry)] = (name, fields[0], int(fields[1]))
    under = {root}
    grew = True
    while grew:
        grew = False
        for pid, (_, _, ppid) in stats.items():
            if ppid in under and pid not in under:
                under.add(pid)
                grew = True
    lines = []
    for pid in sorted(under):
        try:
            tids = sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))
        except OSError:
            continue
        for tid in tids:
            base = f"/proc/{pid}/task/{tid}"
            try:
                with open(f"{base}/comm") as f:
                    comm = f.read().strip()
                with open(f"{base}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
                with open(f"{base}/wchan") as f:
                    wchan = f.read().strip()
            except OSError:
                continue
            lines.append(f"{pid}/{tid} {comm} {state} {wchan}")
    return "\n".join(lines)


def wait_until(predicate, timeout: float = 10, interval: float = 0.05) -> bool:
    """Polls `predicate()` until it is true (returns True) or `timeout` passes (False)."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)


# --- whole responses, as AWS's recordings keep them ----------------------------------------


def answer(resp):
    """A boto3 response as the recordings keep it: the body and the HTTP status."""
    out = {k: v for k, v in resp.items() if k != "ResponseMetadata"}
    out["ResponseMetadata"] = {"HTTPStatusCode": resp["ResponseMetadata"]["HTTPStatusCode"]}
    return out


def failure(call, **kw):
    """The error answer of `call(**kw)`, which must fail, as `answer` keeps it."""
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as e:
        call(**kw)
    return answer(e.value.response)


def not_found_answer(message):
    """Lambda's 404 ResourceNotFoundException answer with `message`."""
    return {"Error": {"Code": "ResourceNotFoundException", "Message": message},
            "Message": message, "Type": "User", "ResponseMetadata": {"HTTPStatusCode": 404}}
