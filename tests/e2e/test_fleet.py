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
import tempfile
import time
import urllib.request
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


# ---------------------------------------------------------------------------------------------
# A fleet on PostgreSQL


def postgres_bin() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    if not versions:
        pytest.fail("PostgreSQL is not installed: scripts/setup.sh installs Debian's package")
    return versions[-1].parent


def start_postgres(prefix: str, listen: str = "", port: int = 5432, hba: list | None = None):
    """A private PostgreSQL cluster run as the `postgres` user, killed with this process
    if the test dies: reachable through a Unix socket in its temporary directory, and over
    TCP on `listen` (none by default) for the clients `hba` lines let in. Answers the
    process, its directory and the server's binaries directory."""
    h.require_privileged("root (PostgreSQL runs as the postgres user)", os.geteuid() == 0)
    # Not under pytest's temporary directory, which only root may enter.
    base = Path(tempfile.mkdtemp(prefix=prefix))
    shutil.chown(base, "postgres", "postgres")
    os.chmod(base, 0o755)
    bin_dir = postgres_bin()
    as_pg = ["setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups"]
    subprocess.run([*as_pg, bin_dir / "initdb", "-D", base / "data", "-U", "postgres",
                    "--auth=trust", "-E", "UTF8"], check=True, capture_output=True)
    with open(base / "data" / "pg_hba.conf", "a") as f:
        f.writelines(line + "\n" for line in hba or [])
    proc = subprocess.Popen(
        [*as_pg, "--pdeathsig", "KILL", "--", bin_dir / "postgres", "-D", base / "data",
         "-k", base, "-h", listen, "-p", str(port), "-c", "fsync=off"],
        stdout=subprocess.DEVNULL, stderr=open(base / "postgres.log", "wb"))

    def ready():
        return subprocess.run([*as_pg, bin_dir / "pg_isready", "-h", base, "-p", str(port)],
                              capture_output=True).returncode == 0

    assert h.wait_until(ready, timeout=30), (base / "postgres.log").read_text()
    return proc, base, bin_dir


@pytest.fixture(scope="module")
def postgres():
    """A private PostgreSQL cluster reachable only through a Unix socket."""
    proc, base, bin_dir = start_postgres("hearth-fleet-pg-")
    yield {"url": f"host={base} port=5432 user=postgres", "base": base, "bin": bin_dir}
    proc.kill()
    proc.wait()
    shutil.rmtree(base, ignore_errors=True)


def new_database(postgres, name: str) -> str:
    subprocess.run(["setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups",
                    postgres["bin"] / "createdb", "-h", postgres["base"], name],
                   check=True, capture_output=True)
    return f"{postgres['url']} dbname={name}"


class Fleet:
    """Nodes on one database, each with its own data directory and the same server key."""

    def __init__(self, tmp: Path, runtimes_dir: Path, store: str):
        self.tmp, self.runtimes_dir, self.store = tmp, runtimes_dir, store
        self.nodes: list = []

    def add(self, *extra_args, store: str | None = None, **kw):
        """A node; `extra_args` for its `hearth server`, `store` instead of the fleet's
        URL (the same database reached another way), `kw` for its HearthServer."""
        i = len(self.nodes)
        data = self.tmp / f"node{i}"
        data.mkdir()
        if self.nodes:
            shutil.copy(self.nodes[0].data_dir / "server.key", data / "server.key")
            os.chmod(data / "server.key", 0o600)
        logs = self.tmp / f"node{i}-logs"
        logs.mkdir()
        node = h.HearthServer(data, self.runtimes_dir, logs,
                              extra_args=["--store", store or self.store, "--heartbeat", "1s",
                                          "--node-timeout", "3s", *extra_args], **kw)
        node.start()
        self.nodes.append(node)
        return node

    def stop(self):
        for n in self.nodes:
            n.kill()


@pytest.fixture
def fleet(tmp_path, runtimes_dir, zips, postgres):
    f = Fleet(tmp_path, runtimes_dir, new_database(postgres, f"fleet_{os.getpid()}_"
                                                           f"{int(time.time() * 1000)}"))
    yield f
    f.stop()


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
