"""A fresh environment per invocation (docs/fresh-env.md): with the Hearth setting on, every
invocation of a function runs in a new environment that is never reused; a version keeps the
value it was published with; `/_hearth/functions/{name}/fresh-env` shows and sets it (the
administrator's, as every `/_hearth` endpoint); `hearth deploy --fresh-env` sets it.

The function keeps a module-level counter, an id made at import (which environment ran it)
and writes a file in /tmp, saying whether one was there already. In the jail every
environment has its own /tmp; under `--sandbox process` functions share the host's /tmp, so
a file the previous invocation left is visible there (the fresh environment is a new process
all the same): each test asserts what its sandbox gives.
"""

from __future__ import annotations

import json
import os

import hearth_e2e as h

PROCESS = os.environ.get("HEARTH_SANDBOX") == "process"

# The file's name starts with the prefix the suite removes from the host's /tmp at the end
# (the process sandbox writes there).
FUNCTION = '''
import os, uuid

ENV_ID = uuid.uuid4().hex
COUNT = 0


def handler(event, context):
    global COUNT
    COUNT += 1
    path = "/tmp/hearth-e2e-marker-fresh-" + event["tag"]
    seen = os.path.exists(path)
    with open(path, "w") as f:
        f.write(ENV_ID)
    return {"count": COUNT, "env": ENV_ID, "seen": seen}
'''


def make(client, prefix="fresh"):
    name = h.unique_name(prefix)
    h.create_function(client, name, zip_file=h.zip_of({"app.py": FUNCTION}))
    return name


def fresh_env(server, name, method="GET", body=None, credentials=None):
    """(status, error type header, JSON answer) of the fresh-env endpoint."""
    path = f"/_hearth/functions/{name}/fresh-env"
    data = None if body is None else (body if isinstance(body, bytes)
                                      else json.dumps(body).encode())
    headers = None
    if credentials is not None:
        headers = h.sign_headers(server.endpoint + path, method, data, credentials=credentials)
    status, resp, out = server.get(path, method=method, body=data, headers=headers)
    return status, resp.get("x-amzn-ErrorType"), json.loads(out)


def turn(server, name, enabled):
    assert fresh_env(server, name, "PUT", {"Enabled": enabled}) == (200, None,
                                                                     {"Enabled": enabled})


def call(client, name, tag, **kw):
    inv = h.invoke(client, name, {"tag": tag}, LogType="Tail", **kw)
    assert inv.status == 200 and inv.function_error is None, inv
    out = inv.json
    out["cold"] = "Init Duration" in inv.log
    return out


def hearth_section(server, name, qualifier=None):
    query = f"?Qualifier={qualifier}" if qualifier else ""
    status, _, body = server.get(f"/2015-03-31/functions/{name}{query}")
    assert status == 200, body
    return json.loads(body)["Hearth"]


def test_every_invocation_runs_in_a_new_environment(client, server):
    name = make(client)
    turn(server, name, True)
    runs = [call(client, name, name) for _ in range(3)]
    # Each one initialised from scratch: counter 1, a REPORT with Init Duration, an id of
    # its own.
    assert [r["count"] for r in runs] == [1, 1, 1], runs
    assert all(r["cold"] for r in runs), runs
    assert len({r["env"] for r in runs}) == 3, runs
    # The jail's /tmp is the environment's own; the process sandbox's is the host's, where
    # the previous invocation's file is still there.
    assert [r["seen"] for r in runs] == ([False, True, True] if PROCESS
                                         else [False, False, False]), runs


def test_turning_it_on_makes_the_next_invocation_cold_and_off_reuses_again(client, server):
    name = make(client)
    first, second = call(client, name, name), call(client, name, name)
    assert (first["count"], first["cold"], second["count"], second["cold"]) == (
        1, True, 2, False)
    assert second["env"] == first["env"] and second["seen"]
    before = client.get_function_configuration(FunctionName=name)
    turn(server, name, True)
    # A change of the configuration: a new RevisionId, and nothing left to settle.
    after = client.get_function_configuration(FunctionName=name)
    assert after["RevisionId"] != before["RevisionId"]
    assert after["LastUpdateStatus"] == "Successful" and after["State"] == "Active"
    # The same value again changes nothing.
    turn(server, name, True)
    assert client.get_function_configuration(
        FunctionName=name)["RevisionId"] == after["RevisionId"]
    # The warm environment started before is not used again.
    third = call(client, name, name)
    assert (third["count"], third["cold"]) == (1, True) and third["env"] != first["env"]
    assert third["seen"] == PROCESS, third
    turn(server, name, False)
    fourth, fifth = call(client, name, name), call(client, name, name)
    assert (fourth["count"], fourth["cold"], fifth["count"], fifth["cold"]) == (
        1, True, 2, False)
    assert fifth["env"] == fourth["env"] != third["env"]


def test_asynchronous_events_get_it_too(client, server):
    name = make(client)
    turn(server, name, True)
    for _ in range(2):
        resp = client.invoke(FunctionName=name, InvocationType="Event",
                             Payload=json.dumps({"tag": name}).encode())
        assert resp["StatusCode"] == 202

    def reports():
        return [m for m in h.log_messages(server, name) if m.startswith("REPORT")]

    h.eventually("both events ran", lambda: len(reports()) == 2)
    assert all("Init Duration" in m for m in reports()), reports()


def test_a_published_version_keeps_the_value(client, server):
    name = make(client)
    turn(server, name, True)
    one = client.publish_version(FunctionName=name)["Version"]
    turn(server, name, False)
    # Only the setting changed: that is a new version to publish.
    two = client.publish_version(FunctionName=name)["Version"]
    assert (one, two) == ("1", "2")
    assert client.publish_version(FunctionName=name)["Version"] == "2"
    assert hearth_section(server, name, one)["FreshEnv"] is True
    assert hearth_section(server, name, two)["FreshEnv"] is False
    assert hearth_section(server, name)["FreshEnv"] is False
    assert fresh_env(server, name) == (200, None, {"Enabled": False})
    v1 = [call(client, name, f"{name}-1", Qualifier=one) for _ in range(2)]
    assert [(r["count"], r["cold"]) for r in v1] == [(1, True), (1, True)], v1
    v2 = [call(client, name, f"{name}-2", Qualifier=two) for _ in range(2)]
    assert [(r["count"], r["cold"]) for r in v2] == [(1, True), (2, False)], v2


def test_shapes_and_errors(client, server):
    name = make(client)
    assert fresh_env(server, name) == (200, None, {"Enabled": False})
    assert hearth_section(server, name) == {
        "Egress": {"Policy": "all", "Source": "default", "Enforced": not PROCESS},
        "FreshEnv": False}
    assert fresh_env(server, name, "PUT", {"Enabled": True}) == (200, None, {"Enabled": True})
    assert fresh_env(server, name) == (200, None, {"Enabled": True})
    assert hearth_section(server, name)["FreshEnv"] is True
    # By ARN as by name.
    assert fresh_env(server, h.function_arn(name)) == (200, None, {"Enabled": True})

    invalid = "InvalidParameterValueException"
    assert fresh_env(server, name, "PUT", {}) == (
        400, invalid, {"Type": "User", "message": "Enabled is required: true or false"})
    assert fresh_env(server, name, "PUT", {"Enabled": "yes"}) == (
        400, invalid, {"Type": "User",
                       "message": 'Enabled must be a boolean (true or false), not "yes"'})
    assert fresh_env(server, name, "PUT", {"Enabled": True, "Policy": "none"}) == (
        400, invalid, {"Type": "User",
                       "message": 'Unknown field Policy: the body is {"Enabled": true | false}'})
    status, kind, _ = fresh_env(server, name, "PUT", b"not json")
    assert (status, kind) == (400, "InvalidRequestContentException")
    # Nothing of those changed it.
    assert fresh_env(server, name) == (200, None, {"Enabled": True})

    missing = h.unique_name("missing")
    gone = (404, "ResourceNotFoundException",
            {"Type": "User", "Message": f"Function not found: {h.function_arn(missing)}"})
    assert fresh_env(server, missing) == gone
    assert fresh_env(server, missing, "PUT", {"Enabled": True}) == gone


def test_a_caller_denied_the_put_is_refused(client, server, tmp_path):
    """Over HTTP, `/_hearth/*` is the administrator's (the default account's root): any other
    principal is refused before its policy is read, so a user denied
    `hearth:PutFunctionFreshEnv` is refused (and so, here, is its GET, which its policy
    allows). The declared actions themselves are checked in-process, a Deny refusing exactly
    the function it names: crates/api/tests/authorization.rs."""
    name = make(client)
    key = h.user_key(server, tmp_path, h.ACCOUNT, h.unique_name("fresh-user"), [
        {"Effect": "Allow", "Action": ["hearth:GetFunctionFreshEnv",
                                       "hearth:PutFunctionFreshEnv"], "Resource": "*"},
        {"Effect": "Deny", "Action": "hearth:PutFunctionFreshEnv",
         "Resource": h.function_arn(name)},
    ])
    status, kind, out = fresh_env(server, name, "PUT", {"Enabled": True}, credentials=key)
    assert (status, kind) == (403, "AccessDeniedException"), out
    assert "is not authorized to perform: PUT" in out["Message"], out
    status, kind, _ = fresh_env(server, name, credentials=key)
    assert (status, kind) == (403, "AccessDeniedException")
    # Nothing changed; the administrator still may.
    assert fresh_env(server, name) == (200, None, {"Enabled": False})
    turn(server, name, True)


def test_deploy_sets_it_and_an_update_without_the_flag_leaves_it(client, server, tmp_path):
    name = h.unique_name("fresh-cli")
    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text(FUNCTION)
    deploy = ["deploy", name, code, "--runtime", h.PYTHON, "--handler", "app.handler",
              "--endpoint", server.endpoint]
    out = h.hearth_cli(*deploy, "--fresh-env")
    assert "a fresh environment per invocation" in out.stdout, out
    assert fresh_env(server, name) == (200, None, {"Enabled": True})
    assert [call(client, name, name)["count"] for _ in range(2)] == [1, 1]
    h.hearth_cli(*deploy, "--description", "redeployed")
    assert fresh_env(server, name) == (200, None, {"Enabled": True})
    h.hearth_cli(*deploy, "--no-fresh-env")
    assert fresh_env(server, name) == (200, None, {"Enabled": False})
    assert [call(client, name, name)["count"] for _ in range(2)] == [1, 2]
