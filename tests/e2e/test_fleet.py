"""A fleet (issue 21, docs/fleet.md): nodes that share one store register themselves,
heartbeat, list each other, and count a silent node as gone.

The embedded store is a fleet of one. The PostgreSQL tests start a private PostgreSQL
cluster (Debian's package, run as the `postgres` user, reachable only through a Unix
socket in a temporary directory) and several `hearth server` nodes on it, each with its
own data directory and the same server key.
"""

from __future__ import annotations

import subprocess
import time
import urllib.request

import hearth_e2e as h
from hearth_fleet import fleet, nodes, postgres  # noqa: F401 (fixtures)


def test_one_node_lists_itself_alive_and_keeps_its_id(tmp_path, runtimes_dir):
    srv = h.HearthServer(tmp_path / "data", runtimes_dir, tmp_path,
                         extra_args=["--heartbeat", "1s", "--node-timeout", "3s"])
    srv.start()
    try:
        listed = nodes(srv)
        assert len(listed) == 1, listed
        me = listed[0]
        assert me["thisNode"] is True and me["state"] == "alive", me
        assert me["address"] == f"127.0.0.1:{srv.port}", me
        assert me["id"] == (tmp_path / "data" / "node-id").read_text().strip()
        assert me["info"]["cpus"] >= 1 and "provided.al2023" in me["info"]["runtimes"], me
        # Heartbeats move its last sighting on.
        first = me["lastSeenMs"]
        assert h.wait_until(lambda: nodes(srv)[0]["lastSeenMs"] > first, timeout=10)
        text = h.hearth_cli("nodes", "--endpoint", srv.endpoint).stdout
        assert text.splitlines()[0].split()[:3] == ["ID", "ADDRESS", "STATE"], text
        assert f"{me['id']}*" in text and " alive " in text, text
        # A clean stop leaves the fleet; the restarted node is the same node.
        srv.stop_cleanly()
        srv.start()
        again = nodes(srv)
        assert [n["id"] for n in again] == [me["id"]], again
        assert again[0]["registeredMs"] > me["registeredMs"], again
    finally:
        srv.kill()


def test_the_node_settings_are_checked(tmp_path, runtimes_dir):
    out = subprocess.run(
        [str(h.HEARTH_BIN), "server", "--data-dir", str(tmp_path / "data"),
         "--runtimes-dir", str(runtimes_dir), "--listen", f"127.0.0.1:{h.free_port()}",
         "--sandbox", "process", "--heartbeat", "5s", "--node-timeout", "5s"],
        capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "--node-timeout (5s) must be longer than --heartbeat (5s)" in out.stderr, out.stderr


# ---------------------------------------------------------------------------------------------
# A fleet on PostgreSQL (the cluster and nodes: hearth_fleet.py)


def test_three_nodes_share_functions_and_see_each_others_updates(fleet):
    a, b, c = fleet.add(), fleet.add(), fleet.add()
    ids = {n["id"] for n in nodes(a)}
    assert len(ids) == 3 and all(n["state"] == "alive" for n in nodes(c)), nodes(c)
    ca, cb, cc = (h.lambda_client(n.endpoint) for n in (a, b, c))
    name = h.unique_name("fleet")
    h.create_function(ca, name)
    # C has never had the code: GetFunction's Code.Location on C still downloads the zip
    # (fetched from the database into C's cache).
    location = cc.get_function(FunctionName=name)["Code"]["Location"]
    assert location.startswith(c.endpoint), location
    with urllib.request.urlopen(location, timeout=30) as r:
        assert r.read() == h.zip_bytes("python.zip")
    # Created on A, invoked on B and C (the code comes from the database).
    for client in (cb, cc):
        out = h.invoke_ok(client, name, {"n": 1})
        assert out is not None
    # An update on B reaches A's cache by notification: A answers the new value as soon
    # as it hears, with no polling (the time is printed, not asserted: CI machines vary).
    ca.get_function_configuration(FunctionName=name)
    cb.update_function_configuration(FunctionName=name, Description="from B")
    start = time.monotonic()
    assert h.wait_until(
        lambda: ca.get_function_configuration(FunctionName=name)["Description"] == "from B",
        timeout=5, interval=0.005)
    print(f"update on B seen on A {(time.monotonic() - start) * 1000:.0f} ms after B answered")
    h.wait_updated(cb, name)
    # A node killed is gone after the timeout; the others keep serving its functions.
    c.kill()
    assert h.wait_until(lambda: sorted(n["state"] for n in nodes(b)) == ["alive", "alive", "gone"],
                        timeout=10), nodes(b)
    assert h.invoke_ok(ca, name, {"n": 2}) is not None


def test_a_node_with_another_server_key_refuses_to_start(fleet, tmp_path):
    fleet.add()
    other = tmp_path / "stranger"
    other.mkdir()
    out = subprocess.run(
        [str(h.HEARTH_BIN), "server", "--store", fleet.store, "--data-dir", str(other),
         "--runtimes-dir", str(fleet.runtimes_dir), "--listen", f"127.0.0.1:{h.free_port()}",
         "--sandbox", "process"], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "is not the one the fleet's secrets are sealed under" in out.stderr, out.stderr
