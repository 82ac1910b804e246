"""Warm reuse: sequential invocations of unchanged code and configuration share one environment;
any update of either gets a new one."""

import os
import uuid

import hearth_e2e as h


def _cleanup_markers(name):
    for entry in os.listdir("/tmp"):
        if entry.startswith(f"hearth-e2e-marker-{name}-"):
            try:
                os.remove(os.path.join("/tmp", entry))
            except OSError:
                pass


def test_warm_environment_is_reused(client):
    name = h.unique_name("warm")
    h.create_function(client, name)
    marker = uuid.uuid4().hex
    try:
        first = h.invoke_ok(client, name, {"marker": marker})
        second = h.invoke_ok(client, name, {"marker": marker})
        third = h.invoke_ok(client, name, {"marker": marker})
    finally:
        _cleanup_markers(name)
    assert first["count"] == 1
    assert first["tmp_marker"] is False
    assert second["env_id"] == first["env_id"]
    assert third["env_id"] == first["env_id"]
    assert (second["count"], third["count"]) == (2, 3)
    assert second["tmp_marker"] is True
    assert first["context"]["request_id"] != second["context"]["request_id"]


def test_code_update_gets_new_environment(client):
    name = h.unique_name("warm-code")
    h.create_function(client, name)
    try:
        h.invoke_ok(client, name)
        before = h.invoke_ok(client, name)
        assert before["count"] == 2
        h.update_code(client, name, "python-v2.zip")
        after = h.invoke_ok(client, name)
    finally:
        _cleanup_markers(name)
    assert after["code_version"] == "v2"
    assert after["env_id"] != before["env_id"]
    assert after["count"] == 1


def test_configuration_update_gets_new_environment(client):
    name = h.unique_name("warm-cfg")
    h.create_function(client, name, Environment={"Variables": {"STAGE": "one"}})
    try:
        h.invoke_ok(client, name)
        before = h.invoke_ok(client, name, {"env": ["STAGE"]})
        assert before["count"] == 2
        assert before["env"]["STAGE"] == "one"
        h.update_config(client, name, Environment={"Variables": {"STAGE": "two"}})
        after = h.invoke_ok(client, name, {"env": ["STAGE"]})
    finally:
        _cleanup_markers(name)
    assert after["env"]["STAGE"] == "two"
    assert after["env_id"] != before["env_id"]
    assert after["count"] == 1


def test_functions_do_not_share_environments(client):
    a, b = h.unique_name("warm-a"), h.unique_name("warm-b")
    h.create_function(client, a)
    h.create_function(client, b)
    try:
        ra = h.invoke_ok(client, a)
        rb = h.invoke_ok(client, b)
        ra2 = h.invoke_ok(client, a)
    finally:
        _cleanup_markers(a)
        _cleanup_markers(b)
    assert ra["env_id"] != rb["env_id"]
    assert rb["count"] == 1
    assert ra2["count"] == 2
    assert rb["context"]["function_name"] == b
