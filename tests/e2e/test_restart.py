"""A server restarted on the same data dir keeps its functions, code and logs, and a stopped
server leaves no function processes behind."""

import json
import time
import uuid

import hearth_e2e as h


def _wait_gone(env_id, timeout=10):
    deadline = time.monotonic() + timeout
    while h.env_alive(env_id):
        assert time.monotonic() < deadline, f"environment {env_id} outlived the server"
        time.sleep(0.05)


def test_restart_keeps_functions(own_server):
    srv = own_server
    client = h.lambda_client(srv.endpoint)
    py, sh = h.unique_name("keep-py"), h.unique_name("keep-sh")
    h.create_function(client, py, MemorySize=256, Environment={"Variables": {"KEPT": "yes"}})
    h.create_function(client, sh, "shell.zip", h.PROVIDED, "keep.handler")
    line = f"before restart {uuid.uuid4().hex}"
    before = h.invoke_ok(client, py, {"action": "log", "line": line, "env": ["KEPT"]})
    assert h.invoke_ok(client, sh, {"n": 1})["event"] == {"n": 1}
    cfg_before = client.get_function_configuration(FunctionName=py)

    srv.restart()
    _wait_gone(before["env_id"])
    client = h.lambda_client(srv.endpoint)

    cfg = client.get_function_configuration(FunctionName=py)
    for key in ("FunctionArn", "Runtime", "Handler", "MemorySize", "Timeout", "CodeSha256",
                "CodeSize", "RevisionId", "LastModified", "Environment"):
        assert cfg[key] == cfg_before[key], key
    assert cfg["State"] == "Active"
    names = [f["FunctionName"] for f in client.list_functions()["Functions"]]
    assert py in names and sh in names

    got = client.get_function(FunctionName=py)
    status, _, body = h.http_request(got["Code"]["Location"])
    assert (status, body) == (200, h.zip_bytes("python.zip"))

    after = h.invoke_ok(client, py, {"env": ["KEPT"]})
    assert after["env"]["KEPT"] == "yes"
    assert after["env"]["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert after["count"] == 1
    assert after["env_id"] != before["env_id"]
    assert h.invoke_ok(client, sh, {"n": 2})["event"] == {"n": 2}

    status, _, body = srv.get(f"/_hearth/logs/{py}")
    assert status == 200
    messages = [e["message"] for e in json.loads(body)["events"]]
    assert line in messages, "logs written before the restart must survive it"

    # The restarted server still accepts changes.
    h.update_code(client, py, "python-v2.zip")
    assert h.invoke_ok(client, py)["code_version"] == "v2"
    client.delete_function(FunctionName=py)
    srv.restart()
    client = h.lambda_client(srv.endpoint)
    names = [f["FunctionName"] for f in client.list_functions()["Functions"]]
    assert py not in names and sh in names


def test_stop_ends_function_processes(own_server):
    srv = own_server
    client = h.lambda_client(srv.endpoint)
    name = h.unique_name("stop")
    h.create_function(client, name)
    env_id = h.invoke_ok(client, name)["env_id"]
    assert h.env_alive(env_id)
    srv.stop_cleanly()
    _wait_gone(env_id)
    srv.start()
    client = h.lambda_client(srv.endpoint)
    again = h.invoke_ok(client, name)
    assert again["env_id"] != env_id


def test_restart_keeps_versions_aliases_and_concurrency(own_server):
    srv = own_server
    client = h.lambda_client(srv.endpoint)
    name = h.unique_name("keep-ver")
    h.create_function(client, name)
    client.publish_version(FunctionName=name)
    client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=3)
    client.put_provisioned_concurrency_config(FunctionName=name, Qualifier="live",
                                              ProvisionedConcurrentExecutions=1)

    srv.restart()
    client = h.lambda_client(srv.endpoint)

    assert client.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "1"
    assert client.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"] == 3
    # The provisioned environment is made again at start-up.
    deadline = time.monotonic() + 60
    while client.get_provisioned_concurrency_config(FunctionName=name, Qualifier="live")["Status"] != "READY":
        assert time.monotonic() < deadline, "provisioned concurrency never became READY again"
        time.sleep(0.1)
    out = h.invoke(client, name, Qualifier="live", LogType="Tail")
    assert out.executed_version == "1"
    assert out.json["env"]["AWS_LAMBDA_INITIALIZATION_TYPE"] == "provisioned-concurrency"
    assert "Init Duration" not in out.log
