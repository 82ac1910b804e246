"""The `hearth` client verbs against a running server: deploy, invoke, ls, logs, rm."""

import json
import shutil
import subprocess
import threading
import time
import uuid

import pytest
from botocore.exceptions import ClientError

import hearth_e2e as h


@pytest.fixture
def cli(server):
    def _cli(*args, check=True):
        return h.hearth_cli(*args, "--endpoint", server.endpoint, check=check)

    return _cli


@pytest.fixture
def code_dir(tmp_path):
    d = tmp_path / "code"
    shutil.copytree(h.FUNCTIONS_DIR / "python", d)
    (d / "version.txt").write_text("cli-1\n")
    return d


@pytest.fixture
def deployed(cli, client, code_dir):
    name = h.unique_name("cli")
    cli("deploy", name, code_dir, "--runtime", h.PYTHON, "--handler", "app.handler",
        "--memory", "256", "--timeout", "5", "--env", "FOO=bar", "--env", "EQ=a=b")
    return name


def test_deploy_creates_function(client, deployed):
    cfg = client.get_function_configuration(FunctionName=deployed)
    assert cfg["State"] == "Active", "deploy should return once the function can be invoked"
    assert cfg["Runtime"] == h.PYTHON
    assert cfg["Handler"] == "app.handler"
    assert cfg["MemorySize"] == 256
    assert cfg["Timeout"] == 5
    assert cfg["Environment"]["Variables"] == {"FOO": "bar", "EQ": "a=b"}
    body = h.invoke_ok(client, deployed, {"env": ["FOO", "EQ"]})
    assert body["code_version"] == "cli-1"
    assert body["env"]["FOO"] == "bar"
    assert body["env"]["EQ"] == "a=b"


def test_deploy_again_updates_code(cli, client, deployed, code_dir):
    (code_dir / "version.txt").write_text("cli-2\n")
    cli("deploy", deployed, code_dir, "--runtime", h.PYTHON, "--handler", "app.handler")
    h.wait_updated(client, deployed)
    assert h.invoke_ok(client, deployed)["code_version"] == "cli-2"


def test_deploy_zip_file(cli, client):
    name = h.unique_name("cli-zip")
    cli("deploy", name, h.zip_path("shell.zip"), "--runtime", h.PROVIDED, "--handler", "zip.h")
    cfg = client.get_function_configuration(FunctionName=name)
    assert cfg["CodeSha256"] == h.code_sha256(h.zip_bytes("shell.zip"))
    out = cli("invoke", name, "--payload", '{"zip": true}')
    assert json.loads(out.stdout)["event"] == {"zip": True}
    assert json.loads(out.stdout)["handler"] == "zip.h"


def test_invoke_prints_payload(cli, deployed):
    out = cli("invoke", deployed, "--payload", '{"from": "cli"}')
    body = json.loads(out.stdout)
    assert body["event"] == {"from": "cli"}
    assert body["context"]["function_name"] == deployed


def test_invoke_payload_from_file(cli, deployed, tmp_path):
    f = tmp_path / "event.json"
    f.write_text('{"from": "file"}')
    out = cli("invoke", deployed, "--payload", f"@{f}")
    assert json.loads(out.stdout)["event"] == {"from": "file"}


def test_invoke_json(cli, deployed):
    out = cli("invoke", deployed, "--payload", '{"from": "json"}', "--json")
    doc = json.loads(out.stdout)
    assert h.contains_value(doc, {"from": "json"}), doc


def test_invoke_log(cli, deployed):
    line = f"cli log line {uuid.uuid4().hex}"
    out = cli("invoke", deployed, "--payload", json.dumps({"action": "log", "line": line}),
              "--log")
    both = out.stdout + out.stderr
    assert line in both
    assert "START RequestId:" in both
    assert "REPORT RequestId:" in both


def test_invoke_function_error_is_reported(cli, deployed):
    out = cli("invoke", deployed, "--payload", '{"action": "raise", "message": "cli boom"}',
              check=False)
    assert "cli boom" in out.stdout + out.stderr
    assert "HearthTestError" in out.stdout + out.stderr


def test_ls(cli, deployed):
    assert deployed in cli("ls").stdout
    doc = json.loads(cli("ls", "--json").stdout)
    assert h.contains_value(doc, deployed), doc


def test_logs(cli, client, deployed):
    line = f"logs verb {uuid.uuid4().hex}"
    h.invoke_ok(client, deployed, {"action": "log", "line": line})
    out = cli("logs", deployed)
    assert line in out.stdout
    assert "START RequestId:" in out.stdout
    assert line in cli("logs", deployed, "--since", "10m").stdout


def test_logs_follow(server, client, deployed):
    proc = subprocess.Popen([str(h.HEARTH_BIN), "logs", deployed, "--follow", "--endpoint",
                             server.endpoint], stdout=subprocess.PIPE, env=h.cli_env(server.endpoint),
                            stderr=subprocess.DEVNULL, text=True)
    seen = []
    found = threading.Event()
    line = f"followed line {uuid.uuid4().hex}"

    def reader():
        for out_line in proc.stdout:
            seen.append(out_line)
            if line in out_line:
                found.set()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        time.sleep(0.5)
        h.invoke_ok(client, deployed, {"action": "log", "line": line})
        assert found.wait(20), f"--follow did not show the new line; saw: {seen[-20:]}"
        assert proc.poll() is None, "--follow exited"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_rm(cli, client, deployed):
    cli("rm", deployed)
    with pytest.raises(ClientError) as e:
        client.get_function(FunctionName=deployed)
    assert h.error_of(e.value)[:2] == (404, "ResourceNotFoundException")
    assert deployed not in cli("ls").stdout


@pytest.mark.parametrize("verb", [["invoke"], ["rm"], ["logs"]])
def test_unknown_function_fails(cli, verb):
    name = h.unique_name("cli-missing")
    out = cli(*verb, name, check=False)
    assert out.rc != 0, out
    text = (out.stdout + out.stderr).lower()
    assert "not found" in text or "resourcenotfound" in text, out


def test_unreachable_endpoint_fails():
    out = h.hearth_cli("ls", "--endpoint", f"http://127.0.0.1:{h.free_port()}", check=False)
    assert out.rc != 0, out
