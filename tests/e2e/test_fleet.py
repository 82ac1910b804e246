"""A fleet (issue 21, docs/fleet.md): nodes that share one store register themselves,
heartbeat, list each other, and count a silent node as gone.

The embedded store is a fleet of one. The PostgreSQL tests start a private PostgreSQL
cluster (Debian's package, run as the `postgres` user, reachable only through a Unix
socket in a temporary directory) and several `hearth server` nodes on it, each with its
own data directory and the same server key.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import hearth_e2e as h


def nodes(server) -> list:
    out = h.hearth_cli("nodes", "--json", "--endpoint", server.endpoint).stdout
    return json.loads(out)


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
