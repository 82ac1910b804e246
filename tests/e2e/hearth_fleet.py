"""A fleet on PostgreSQL for end-to-end tests (issue 21, docs/fleet.md): a private
PostgreSQL cluster (Debian's package, run as the `postgres` user, reachable only through a
Unix socket in a temporary directory), a fresh database per test, and `hearth server` nodes
on it, each with its own data directory and the same server key.

A test module uses the fixtures by importing them: `from hearth_fleet import fleet, postgres`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import hearth_e2e as h


# Runs a command as the `postgres` user.
AS_POSTGRES = ["setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups"]


def nodes(server) -> list:
    """The fleet as `hearth nodes --json` on `server` lists it."""
    ca = ["--ca-bundle", server.ca_bundle] if server.ca_bundle else []
    out = h.hearth_cli("nodes", "--json", "--endpoint", server.endpoint, *ca).stdout
    return json.loads(out)


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
    subprocess.run([*AS_POSTGRES, bin_dir / "initdb", "-D", base / "data", "-U", "postgres",
                    "--auth=trust", "-E", "UTF8"], check=True, capture_output=True)
    with open(base / "data" / "pg_hba.conf", "a") as f:
        f.writelines(line + "\n" for line in hba or [])
    proc = subprocess.Popen(
        [*AS_POSTGRES, "--pdeathsig", "KILL", "--", bin_dir / "postgres", "-D", base / "data",
         "-k", base, "-h", listen, "-p", str(port), "-c", "fsync=off"],
        stdout=subprocess.DEVNULL, stderr=open(base / "postgres.log", "wb"))

    def ready():
        return subprocess.run([*AS_POSTGRES, bin_dir / "pg_isready", "-h", base, "-p", str(port)],
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
    subprocess.run([*AS_POSTGRES, postgres["bin"] / "createdb", "-h", postgres["base"], name],
                   check=True, capture_output=True)
    return f"{postgres['url']} dbname={name}"


class Fleet:
    """Nodes on one database, each with its own data directory and the same server key."""

    def __init__(self, tmp: Path, runtimes_dir: Path, store: str):
        self.tmp, self.runtimes_dir, self.store = tmp, runtimes_dir, store
        self.nodes: list = []

    def add(self, extra_args: list | None = None, store: str | None = None,
            ca_bundle: Path | None = None, **kw):
        """A node; `extra_args` for its `hearth server`, `store` instead of the fleet's
        URL (the same database reached another way), `ca_bundle` what its clients trust
        when it serves HTTPS, `kw` for its HearthServer."""
        i = len(self.nodes)
        data = self.tmp / f"node{i}"
        data.mkdir()
        if self.nodes:
            shutil.copy(self.nodes[0].data_dir / "server.key", data / "server.key")
            os.chmod(data / "server.key", 0o600)
        # Each node's stderr apart (a HearthServer names its files by its starts).
        logs = self.tmp / f"node{i}-logs"
        logs.mkdir()
        node = h.HearthServer(data, self.runtimes_dir, logs,
                              extra_args=["--store", store or self.store, "--heartbeat", "1s",
                                          "--node-timeout", "3s", *(extra_args or [])], **kw)
        node.ca_bundle = ca_bundle
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
