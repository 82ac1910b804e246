"""Concurrency: reserved concurrency and throttling (429 with Lambda's Reason and Retry-After),
the account limit, GetAccountSettings, provisioned concurrency on versions and aliases, and
parallel scale-out of a burst of cold starts."""

import concurrent.futures
import json
import time

import pytest
from botocore.exceptions import ClientError

import hearth_e2e as h


def raw_invoke(endpoint, name, payload, qualifier=None):
    """Invoke over plain HTTP: (status, headers, parsed body), so throttles can be read whole."""
    url = f"{endpoint}/2015-03-31/functions/{name}/invocations"
    if qualifier:
        url += f"?Qualifier={qualifier}"
    status, headers, body = h.http_request(url, method="POST", body=json.dumps(payload).encode(),
                                           timeout=60)
    return status, headers, json.loads(body) if body else None


def burst(endpoint, name, payloads, qualifier=None):
    """Sends every payload at once; returns the results in order."""
    with concurrent.futures.ThreadPoolExecutor(len(payloads)) as pool:
        futures = [pool.submit(raw_invoke, endpoint, name, p, qualifier) for p in payloads]
        return [f.result() for f in futures]


def busy(server, name=None):
    """Environments busy with an invocation (of `name`, or account-wide), from Hearth."""
    status, _, body = server.get("/_hearth/concurrency")
    assert status == 200, body
    doc = json.loads(body)
    return doc["functions"].get(name, 0) if name else doc["busy"]


def throttles(results):
    return [(headers, body) for status, headers, body in results if status == 429]


def test_reserved_concurrency_throttles_with_reason(server, client):
    name = h.unique_name("conc")
    h.create_function(client, name)
    put = client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    assert put["ReservedConcurrentExecutions"] == 1
    got = client.get_function_concurrency(FunctionName=name)
    assert got["ReservedConcurrentExecutions"] == 1
    assert client.get_function(FunctionName=name)["Concurrency"] == {"ReservedConcurrentExecutions": 1}

    # The first call holds the only slot for 3 s; the two sent while it runs are throttled.
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        first = pool.submit(raw_invoke, server.endpoint, name, {"action": "sleep", "seconds": 3})
        assert h.wait_until(lambda: busy(server, name) >= 1, timeout=30)
        others = [pool.submit(raw_invoke, server.endpoint, name, {}) for _ in range(2)]
        results = [first.result()] + [f.result() for f in others]
    assert [r[0] for r in results] == [200, 429, 429], results
    for headers, body in throttles(results):
        assert headers["x-amzn-ErrorType"] == "TooManyRequestsException"
        assert headers["Retry-After"] == "1"
        assert body["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
        assert body["Type"] == "User" and body["message"] == "Rate Exceeded."
    # The slot is free again once the first call is over.
    assert raw_invoke(server.endpoint, name, {})[0] == 200

    client.delete_function_concurrency(FunctionName=name)
    assert "ReservedConcurrentExecutions" not in client.get_function_concurrency(FunctionName=name)
    assert "Concurrency" not in client.get_function(FunctionName=name)


def test_reserved_zero_disables_the_function(server, client):
    name = h.unique_name("conc-zero")
    h.create_function(client, name)
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError) as e:
        h.invoke(client, name)
    status, code, _ = h.error_of(e.value)
    assert (status, code) == (429, "TooManyRequestsException")
    assert e.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    # Nothing ran: no log lines at all.
    status, _, body = server.get(f"/_hearth/logs/{name}")
    assert status == 200 and json.loads(body)["events"] == []
    client.delete_function_concurrency(FunctionName=name)
    assert h.invoke_ok(client, name)["python"] is True


def test_reservations_and_account_settings(client):
    name = h.unique_name("conc-acct")
    h.create_function(client, name)
    before = client.get_account_settings()["AccountLimit"]
    assert before["ConcurrentExecutions"] == 1000
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=50)
    after = client.get_account_settings()["AccountLimit"]
    assert after["UnreservedConcurrentExecutions"] == before["UnreservedConcurrentExecutions"] - 50
    # 100 must stay unreserved.
    with pytest.raises(ClientError) as e:
        client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=
                                        before["UnreservedConcurrentExecutions"] - 99)
    status, code, message = h.error_of(e.value)
    assert (status, code) == (400, "InvalidParameterValueException") and "[100]" in message
    with pytest.raises(ClientError) as e:
        client.put_function_concurrency(FunctionName=h.unique_name("nope"), ReservedConcurrentExecutions=1)
    assert h.error_of(e.value)[:2] == (404, "ResourceNotFoundException")
    # Deleting the function gives its reservation back.
    client.delete_function(FunctionName=name)
    assert client.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == \
        before["UnreservedConcurrentExecutions"]


def test_account_limit_throttles_unreserved_functions(server_with_env):
    srv = server_with_env(HEARTH_ACCOUNT_CONCURRENCY="2")
    client = h.lambda_client(srv.endpoint)
    assert client.get_account_settings()["AccountLimit"]["ConcurrentExecutions"] == 2
    a, b = h.unique_name("acct-a"), h.unique_name("acct-b")
    h.create_function(client, a)
    h.create_function(client, b)
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        running = [pool.submit(raw_invoke, srv.endpoint, f, {"action": "sleep", "seconds": 3})
                   for f in (a, b)]
        assert h.wait_until(lambda: busy(srv) >= 2, timeout=30)
        status, headers, body = raw_invoke(srv.endpoint, a, {})
        assert [f.result()[0] for f in running] == [200, 200]
    assert status == 429
    assert body["Reason"] == "ConcurrentInvocationLimitExceeded"
    assert headers["Retry-After"] == "1"
    assert raw_invoke(srv.endpoint, a, {})[0] == 200


def wait_ready(client, name, qualifier, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        cfg = client.get_provisioned_concurrency_config(FunctionName=name, Qualifier=qualifier)
        if cfg["Status"] == "READY":
            return cfg
        assert cfg["Status"] == "IN_PROGRESS", cfg
        assert time.monotonic() < deadline, cfg
        time.sleep(0.1)


def test_provisioned_concurrency_has_no_cold_start(server, client):
    name = h.unique_name("prov")
    h.create_function(client, name)
    client.publish_version(FunctionName=name)
    with pytest.raises(ClientError) as e:
        client.put_provisioned_concurrency_config(FunctionName=name, Qualifier="$LATEST",
                                                  ProvisionedConcurrentExecutions=1)
    assert h.error_of(e.value)[:2] == (400, "InvalidParameterValueException")
    with pytest.raises(ClientError) as e:
        client.get_provisioned_concurrency_config(FunctionName=name, Qualifier="1")
    assert h.error_of(e.value)[:2] == (404, "ProvisionedConcurrencyConfigNotFoundException")

    put = client.put_provisioned_concurrency_config(FunctionName=name, Qualifier="1",
                                                    ProvisionedConcurrentExecutions=2)
    assert put["RequestedProvisionedConcurrentExecutions"] == 2
    assert put["Status"] in ("IN_PROGRESS", "READY")
    ready = wait_ready(client, name, "1")
    assert ready["AllocatedProvisionedConcurrentExecutions"] == 2
    assert ready["AvailableProvisionedConcurrentExecutions"] == 2

    inv = h.invoke(client, name, LogType="Tail", Qualifier="1")
    assert inv.function_error is None
    assert inv.json["env"]["AWS_LAMBDA_INITIALIZATION_TYPE"] == "provisioned-concurrency"
    assert "REPORT RequestId" in inv.log and "Init Duration" not in inv.log
    # $LATEST has no provisioned concurrency: its first call is a cold start.
    latest = h.invoke(client, name, LogType="Tail")
    assert latest.json["env"]["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert "Init Duration" in latest.log

    # Overflow beyond the two provisioned environments runs on demand.
    results = burst(server.endpoint, name, [{"action": "sleep", "seconds": 2}] * 3, qualifier="1")
    assert [r[0] for r in results] == [200, 200, 200], results
    types = sorted(r[2]["env"]["AWS_LAMBDA_INITIALIZATION_TYPE"] for r in results)
    assert types == ["on-demand", "provisioned-concurrency", "provisioned-concurrency"]

    listed = client.list_provisioned_concurrency_configs(FunctionName=name)["ProvisionedConcurrencyConfigs"]
    assert [c["FunctionArn"] for c in listed] == [h.function_arn(name, "1")]
    client.delete_provisioned_concurrency_config(FunctionName=name, Qualifier="1")
    with pytest.raises(ClientError) as e:
        client.get_provisioned_concurrency_config(FunctionName=name, Qualifier="1")
    assert h.error_of(e.value)[:2] == (404, "ProvisionedConcurrencyConfigNotFoundException")
    after = h.invoke(client, name, Qualifier="1")
    assert after.json["env"]["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"


def test_provisioned_concurrency_on_an_alias(server, client):
    name = h.unique_name("prov-alias")
    h.create_function(client, name)
    client.publish_version(FunctionName=name)
    client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=2)
    with pytest.raises(ClientError) as e:
        client.put_provisioned_concurrency_config(FunctionName=name, Qualifier="live",
                                                  ProvisionedConcurrentExecutions=3)
    assert h.error_of(e.value)[:2] == (400, "InvalidParameterValueException")
    client.put_provisioned_concurrency_config(FunctionName=name, Qualifier="live",
                                              ProvisionedConcurrentExecutions=1)
    wait_ready(client, name, "live")
    out = h.invoke(client, name, Qualifier="live")
    assert out.executed_version == "1"
    assert out.json["env"]["AWS_LAMBDA_INITIALIZATION_TYPE"] == "provisioned-concurrency"
    # Version 1 itself has no configuration: the alias's environments are the alias's.
    assert h.invoke_ok(client, name, Qualifier="1")["env"]["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"


def test_burst_of_cold_starts_runs_in_parallel(server, client):
    """Six cold starts whose init takes 2 s each: if they ran one after another behind a lock,
    the last would finish its init about 10 s after the first; in parallel, every init overlaps
    every other one."""
    name = h.unique_name("burst")
    init_sleep = 2.0
    h.create_function(client, name, Environment={"Variables": {"HEARTH_TEST_INIT_SLEEP": str(init_sleep)}},
                      Timeout=30)
    results = burst(server.endpoint, name, [{"n": i} for i in range(6)])
    assert [r[0] for r in results] == [200] * 6, results
    bodies = [r[2] for r in results]
    assert len({b["env_id"] for b in bodies}) == 6, "each call of the burst needs its own environment"
    loaded = sorted(b["loaded_at"] for b in bodies)
    # Init i ran during [loaded_i - init_sleep, loaded_i]; all of them share one instant.
    assert loaded[-1] - init_sleep < loaded[0], loaded
