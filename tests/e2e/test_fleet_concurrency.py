"""Concurrency limits hold for the fleet (issue 21, docs/concurrency.md): three nodes on one
PostgreSQL database admit a function's invocations against one reserved concurrency, not
one each. Each node admits only on tokens of the limit it holds in the store, and gives
idle ones back, so a load that comes through one node only can use the whole limit there.

The function records when its handler started and ended (time.time(): every node runs on
this host, so the clocks are one); the test counts how many of the successful
invocations ran at once."""

from __future__ import annotations

import concurrent.futures
import io
import json
import zipfile

import pytest

import hearth_e2e as h
from hearth_fleet import fleet, postgres  # noqa: F401 (fixtures)

# How environments are isolated plays no part here (or the tests choose their sandbox
# themselves): run once, in the jail pass, not again under the process sandbox
# (scripts/test.sh).
pytestmark = pytest.mark.sandbox_neutral

RESERVED = 3

SLEEPER = b'''
import time

def handler(event, context):
    start = time.time()
    time.sleep(event["seconds"])
    return {"start": start, "end": time.time()}
'''


def sleeper_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", SLEEPER)
    return buf.getvalue()


def raw_invoke(endpoint: str, name: str, payload) -> tuple:
    """(status, headers, parsed body), so that a throttle can be read whole."""
    url = f"{endpoint}/2015-03-31/functions/{name}/invocations"
    status, headers, body = h.http_request(url, method="POST", body=json.dumps(payload).encode(),
                                           timeout=120)
    return status, headers, json.loads(body) if body else None


def burst(endpoints: list, name: str, seconds: float) -> list:
    """One invocation per endpoint (repeat an endpoint for several), all sent at once."""
    with concurrent.futures.ThreadPoolExecutor(len(endpoints)) as pool:
        futures = [pool.submit(raw_invoke, e, name, {"seconds": seconds}) for e in endpoints]
        return [f.result() for f in futures]


def most_at_once(results: list) -> int:
    """The most successful invocations whose [start, end] intervals overlap at one time."""
    edges = []
    for status, _, body in results:
        if status == 200:
            edges += [(body["start"], 1), (body["end"], -1)]
    # An end before a start at the same instant: touching intervals do not overlap.
    edges.sort(key=lambda e: (e[0], e[1]))
    most = running = 0
    for _, step in edges:
        running += step
        most = max(most, running)
    return most


def assert_throttled_as_lambda(results: list,
                               reason="ReservedFunctionConcurrentInvocationLimitExceeded") -> None:
    for status, headers, body in results:
        assert status in (200, 429), (status, body)
        if status == 429:
            assert headers["x-amzn-ErrorType"] == "TooManyRequestsException", headers
            assert body["Reason"] == reason, body
            assert body["Type"] == "User" and body["message"] == "Rate Exceeded.", body


def test_reserved_concurrency_holds_for_the_fleet_and_follows_the_load(fleet):  # noqa: F811
    nodes = [fleet.add(), fleet.add(), fleet.add()]
    clients = [h.lambda_client(n.endpoint) for n in nodes]
    name = h.unique_name("fleet-conc")
    h.create_function(clients[0], name, zip_file=sleeper_zip(), Timeout=30)
    clients[0].put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=RESERVED)
    # Every node has read the reservation (at its next heartbeat).
    for c in clients:
        assert h.wait_until(
            lambda c=c: c.get_function_concurrency(FunctionName=name)
            .get("ReservedConcurrentExecutions") == RESERVED, timeout=20)

    # Twelve at once, four through each node: never more than RESERVED run at once in the
    # fleet (each node alone would admit RESERVED), and the rest are throttled as Lambda does.
    results = burst([n.endpoint for n in nodes] * 4, name, 1.5)
    assert_throttled_as_lambda(results)
    ran = sum(1 for r in results if r[0] == 200)
    overlap = most_at_once(results)
    print(f"spread over three nodes: {ran} ran, {len(results) - ran} throttled, "
          f"at most {overlap} at once")
    assert 1 <= overlap <= RESERVED, results
    assert ran < len(results), "nothing was throttled"

    # The same load through one node only: once the others have given their idle tokens
    # back (within two heartbeats), that node runs RESERVED at once and throttles the rest.
    one = nodes[2].endpoint
    tries = []

    def one_node_uses_all():
        results = burst([one] * (RESERVED + 1), name, 2)
        assert_throttled_as_lambda(results)
        tries.append(results)
        return most_at_once(results) == RESERVED

    assert h.wait_until(one_node_uses_all, timeout=60, interval=0.5), tries[-1]
    assert sum(1 for r in tries[-1] if r[0] == 429) == 1, tries[-1]


def test_the_account_limit_holds_for_the_fleet(fleet):  # noqa: F811
    limit = 4
    nodes = [fleet.add(["--account-concurrency", limit]) for _ in range(3)]
    client = h.lambda_client(nodes[0].endpoint)
    name = h.unique_name("fleet-acct")
    h.create_function(client, name, zip_file=sleeper_zip(), Timeout=30)
    assert client.get_account_settings()["AccountLimit"]["ConcurrentExecutions"] == limit
    results = burst([n.endpoint for n in nodes] * 4, name, 1.5)
    assert_throttled_as_lambda(results, "ConcurrentInvocationLimitExceeded")
    ran = sum(1 for r in results if r[0] == 200)
    overlap = most_at_once(results)
    print(f"account limit {limit} over three nodes: {ran} ran, {len(results) - ran} "
          f"throttled, at most {overlap} at once")
    assert 1 <= overlap <= limit, results
    assert ran < len(results), "nothing was throttled"


def provisioned_on_nodes(endpoint: str, name: str, qualifier: str) -> dict:
    """Per live node: the provisioned environments it has allocated for `name:qualifier`, as
    its last heartbeat told."""
    listed = json.loads(h.hearth_cli("nodes", "--json", "--endpoint", endpoint).stdout)
    out = {}
    for n in listed:
        if n["state"] == "gone":
            continue
        out[n["id"]] = sum(a["allocated"] for a in n["info"].get("provisioned", [])
                           if a["function"] == name and a["qualifier"] == qualifier)
    return out


def test_provisioned_concurrency_is_spread_over_the_nodes(fleet):  # noqa: F811
    nodes = [fleet.add(), fleet.add(), fleet.add()]
    clients = [h.lambda_client(n.endpoint) for n in nodes]
    name = h.unique_name("fleet-pc")
    h.create_function(clients[0], name, zip_file=sleeper_zip())
    version = clients[0].publish_version(FunctionName=name)["Version"]
    clients[1].put_provisioned_concurrency_config(
        FunctionName=name, Qualifier=version, ProvisionedConcurrentExecutions=4)
    # Each node starts its share (4 over 3 nodes: 2, 1, 1), whichever node was asked.
    seen = []

    def spread(expected):
        seen.append(provisioned_on_nodes(nodes[0].endpoint, name, version))
        return sorted(seen[-1].values()) == expected

    assert h.wait_until(lambda: spread([1, 1, 2]), timeout=60, interval=0.5), seen[-1]
    # Every node reports the fleet's allocation.
    for c in clients:
        assert h.wait_until(
            lambda c=c: c.get_provisioned_concurrency_config(FunctionName=name, Qualifier=version)
            ["AllocatedProvisionedConcurrentExecutions"] == 4, timeout=30), \
            c.get_provisioned_concurrency_config(FunctionName=name, Qualifier=version)
    got = clients[2].get_provisioned_concurrency_config(FunctionName=name, Qualifier=version)
    assert got["Status"] == "READY" and got["RequestedProvisionedConcurrentExecutions"] == 4, got
    # A node gone: the two left take its share over (2 and 2).
    nodes[2].kill()
    assert h.wait_until(lambda: spread([2, 2]), timeout=60, interval=0.5), seen[-1]
    assert h.wait_until(
        lambda: clients[0].get_provisioned_concurrency_config(FunctionName=name, Qualifier=version)
        ["AllocatedProvisionedConcurrentExecutions"] == 4, timeout=30)
    # Deleted on one node: every node lets its environments go.
    clients[1].delete_provisioned_concurrency_config(FunctionName=name, Qualifier=version)
    assert h.wait_until(lambda: spread([0, 0]), timeout=30, interval=0.5), seen[-1]


def test_a_dead_nodes_tokens_lapse_and_the_others_admit_again(fleet):  # noqa: F811
    nodes = [fleet.add(), fleet.add()]
    clients = [h.lambda_client(n.endpoint) for n in nodes]
    name = h.unique_name("fleet-dead")
    h.create_function(clients[0], name, zip_file=sleeper_zip(), Timeout=60)
    clients[0].put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=2)
    for c in clients:
        assert h.wait_until(
            lambda c=c: c.get_function_concurrency(FunctionName=name)
            .get("ReservedConcurrentExecutions") == 2, timeout=20)

    def busy_on(node) -> int:
        status, _, body = node.get("/_hearth/concurrency")
        assert status == 200, body
        return json.loads(body)["functions"].get(name, 0)

    def quietly(endpoint):
        try:
            return raw_invoke(endpoint, name, {"seconds": 30})
        except Exception as e:  # the node is killed under it
            return e

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        # Two long invocations run on the function's home node (whichever node they are
        # sent to, it is placed there): it holds both tokens.
        held = [pool.submit(quietly, nodes[0].endpoint) for _ in range(2)]
        assert h.wait_until(lambda: 2 in (busy_on(nodes[0]), busy_on(nodes[1])), timeout=60)
        home, other = (0, 1) if busy_on(nodes[0]) == 2 else (1, 0)
        status, _, body = raw_invoke(nodes[other].endpoint, name, {"seconds": 0})
        assert (status, body["Reason"]) == (
            429, "ReservedFunctionConcurrentInvocationLimitExceeded"), body
        # Killed mid-invocation: its tokens lapse with its lease (its 3 s timeout), and then
        # the other node admits again.
        nodes[home].kill()
        assert h.wait_until(
            lambda: raw_invoke(nodes[other].endpoint, name, {"seconds": 0})[0] == 200,
            timeout=30, interval=0.5)
        for f in held:
            f.result()
