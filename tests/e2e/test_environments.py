"""Environment lifecycle: idle environments are reclaimed after --idle-ttl, a busy
environment is never shared (a concurrent call gets a new one), and a burst of calls
starts environments side by side."""

import time
from concurrent.futures import ThreadPoolExecutor

import hearth_e2e as h


def _wait_gone(env_id, timeout=15):
    deadline = time.monotonic() + timeout
    while h.env_alive(env_id):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_idle_environment_is_reclaimed(short_ttl_server):
    client = h.lambda_client(short_ttl_server.endpoint)
    name = h.unique_name("ttl")
    h.create_function(client, name)
    first = h.invoke(client, name, {"n": 1}, LogType="Tail")
    env_id = first.json["env_id"]
    assert "Init Duration" in first.log
    warm = h.invoke(client, name, {"n": 2}, LogType="Tail")
    assert warm.json["env_id"] == env_id, "an environment used within the TTL is reused"
    assert "Init Duration" not in warm.log
    assert _wait_gone(env_id), f"idle environment {env_id} outlived its 1 s TTL"
    again = h.invoke(client, name, {"n": 3}, LogType="Tail")
    assert again.json["env_id"] != env_id
    assert again.json["count"] == 1
    assert "Init Duration" in again.log, "after reclaim the next call is a cold start"


def test_busy_environment_is_not_shared(client):
    name = h.unique_name("busy")
    h.create_function(client, name, Timeout=30)
    base_env = h.invoke_ok(client, name, {})["env_id"]
    with ThreadPoolExecutor(max_workers=1) as pool:
        slow = pool.submit(h.invoke_ok, client, name, {"action": "sleep", "seconds": 2})
        time.sleep(0.5)
        fast = h.invoke_ok(client, name, {"n": "fast"})
        slow_result = slow.result(timeout=30)
    assert slow_result["env_id"] == base_env, "the idle warm environment took the first call"
    assert fast["env_id"] != base_env, "a call while the only environment is busy gets a new one"
    assert fast["event"] == {"n": "fast"}
    # Both environments are warm now; sequential calls reuse one of them.
    after = {h.invoke_ok(client, name, {})["env_id"] for _ in range(4)}
    assert after <= {base_env, fast["env_id"]}


def test_burst_starts_environments_side_by_side(client):
    name = h.unique_name("burst")
    h.create_function(client, name, Timeout=30)
    calls = 4
    with ThreadPoolExecutor(max_workers=calls) as pool:
        futures = [
            pool.submit(h.invoke, client, name, {"action": "sleep", "seconds": 1.5}, LogType="Tail")
            for _ in range(calls)
        ]
        results = [f.result(timeout=60) for f in futures]
    for r in results:
        assert r.status == 200 and r.function_error is None, r
    envs = {r.json["env_id"] for r in results}
    assert len(envs) == calls, f"{calls} overlapping calls need {calls} environments, got {envs}"
    assert all("Init Duration" in r.log for r in results)
    request_ids = {r.request_id for r in results}
    assert len(request_ids) == calls
