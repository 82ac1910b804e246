"""One server per data directory, and a clean start after `kill -9`.

`hearth server` locks its data directory (a second server there refuses to start and names
the first one's pid). A server killed with SIGKILL leaves its environments' cgroups (one
directory per v1 hierarchy per environment) and any temporary files it was writing (and a
server of an older version, one root mount point per environment under `jail/roots`; every
environment now assembles its root on the one empty `jail/root`); the next start on the same
data directory sweeps exactly those, and nothing of another server's (each data directory has
its own cgroup base, `hearth/<FNV-1a of the canonical jail dir>`, under the server's own
cgroup).

The sweep tests need the jail (root and cgroups): they are skipped under
HEARTH_SANDBOX=process. The lock test runs in both sandboxes.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest

import hearth_e2e as h

# Looks at the host's cgroups and what a killed server left, which other servers' sweeps
# would also touch: never run beside other tests' servers (scripts/test.sh runs it alone).
pytestmark = pytest.mark.host_wide

JAILED = os.environ.get("HEARTH_SANDBOX", "jail") == "jail"
V1_HIERARCHIES = ("memory", "cpu", "pids", "freezer")


# ---------------------------------------------------------------------------------------------
# Where a server's environments live on the host


def fnv1a64(data: bytes) -> int:
    h64 = 0xCBF29CE484222325
    for b in data:
        h64 = ((h64 ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h64


def cgroup_base_name(data_dir: Path) -> str:
    return f"hearth/{fnv1a64(os.path.realpath(data_dir / 'jail').encode()):016x}"


def _cgroup_mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, fstype, controllers) of every cgroup mount."""
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        pre, post = line.split(" - ", 1)
        fstype, _source, options = post.split()[:3]
        if fstype in ("cgroup", "cgroup2"):
            point = pre.split()[4].replace("\\040", " ")
            mounts.append((point, fstype, set(options.split(","))))
    return mounts


def cgroup_bases(pid: int, data_dir: Path) -> dict[str, Path]:
    """The server's environment cgroup base per hierarchy ("memory", ... on v1, "unified"
    on v2), from where the server process `pid` runs."""
    own = {}
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        own[controllers] = path
    base = cgroup_base_name(data_dir)
    mounts = _cgroup_mounts()
    out = {}
    v1 = {point: opts for point, fstype, opts in mounts if fstype == "cgroup"}
    if any("memory" in opts for opts in v1.values()):
        for controller in V1_HIERARCHIES:
            point = next(p for p, opts in v1.items() if controller in opts)
            path = next(v for k, v in own.items() if controller in k.split(","))
            out[controller] = Path(point + path.rstrip("/")) / base
    else:
        point = next(p for p, fstype, _ in mounts if fstype == "cgroup2")
        path = own[""].rstrip("/")
        if path.endswith("/supervisor"):
            path = path[: -len("/supervisor")]
        out["unified"] = Path(point + path) / base
    return out


def env_cgroups(bases: dict[str, Path]) -> dict[str, set[str]]:
    """Environment cgroup names per hierarchy."""
    return {k: {p.name for p in b.iterdir() if p.is_dir()} if b.is_dir() else set()
            for k, b in bases.items()}


def cgroup_procs(bases: dict[str, Path]) -> set[int]:
    """Live processes in any environment cgroup of the base."""
    pids = set()
    for base in bases.values():
        if not base.is_dir():
            continue
        for env in base.iterdir():
            procs = env / "cgroup.procs"
            if procs.exists():
                pids |= {int(p) for p in procs.read_text().split() if h.process_alive(int(p))}
    return pids


def zygotes_of(pid: int) -> list[int]:
    """`hearth __jail-init` processes whose parent is `pid`, or orphans (parent 1)."""
    out = []
    for p in h.pids_with_arg("__jail-init"):
        try:
            ppid = int(Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid in (pid, 1):
            out.append(p)
    return out


# ---------------------------------------------------------------------------------------------
# One server per data directory


def test_second_server_on_the_same_data_dir_refuses_to_start(own_server, tmp_path):
    first = own_server.proc.pid
    second = h.HearthServer(own_server.data_dir, own_server.runtimes_dir, tmp_path / "second")
    second.log_dir.mkdir()
    with pytest.raises(RuntimeError) as refused:
        second.start(timeout=30)
    message = str(refused.value)
    assert "exited with 1 before serving" in message, message
    assert "another hearth server is using the data directory" in message, message
    assert str(own_server.data_dir) in message, message
    assert f"(pid {first})" in message, message
    # The first one is untouched and still serves.
    status, _, _ = own_server.get("/2016-08-19/account-settings/")
    assert status == 200
    # Once the first is gone (even by SIGKILL, which runs no clean-up), the lock is free.
    own_server.kill()
    second.start()
    try:
        status, _, _ = second.get("/2016-08-19/account-settings/")
        assert status == 200
        assert (own_server.data_dir / "server.lock").read_text().strip() == str(second.proc.pid)
    finally:
        second.stop_cleanly()


# ---------------------------------------------------------------------------------------------
# Sweeping after kill -9


def _invoke_in_background(client, name, payload, results):
    def run():
        try:
            results.append(h.invoke(client, name, payload))
        except Exception as e:  # the server dies under it: any outcome is fine
            results.append(e)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


@pytest.mark.skipif(not JAILED, reason="the process sandbox makes no cgroups or roots")
def test_kill_9_leftovers_are_swept_at_the_next_start(own_server, tmp_path_factory,
                                                      runtimes_dir):
    server = own_server
    data = server.data_dir
    # A bystander: another server from the same cgroup, which must keep everything.
    other_base = tmp_path_factory.mktemp("bystander")
    (other_base / "data").mkdir()
    other = h.HearthServer(other_base / "data", runtimes_dir, other_base)
    other.start()
    try:
        _kill_and_restart(server, other)
    finally:
        if other.proc is not None:
            other.stop_cleanly()


def _kill_and_restart(server, other):
    data = server.data_dir
    client = h.lambda_client(server.endpoint)
    other_client = h.lambda_client(other.endpoint)
    bystander = h.unique_name("crash-bystander")
    h.create_function(other_client, bystander)
    h.invoke_ok(other_client, bystander, {})
    other_bases = cgroup_bases(other.proc.pid, other.data_dir)
    assert other_bases != cgroup_bases(server.proc.pid, data)

    # Load: several functions, idle warm environments, concurrent invocations in flight,
    # and daemons that try to outlive their invocation.
    names = [h.unique_name(f"crash-{i}") for i in range(3)]
    for name in names:
        h.create_function(client, name)
    adversary = h.unique_name("crash-adversary")
    h.create_function(client, adversary, "adversary.zip", handler="adversary.handler",
                      Timeout=60)
    token = f"hearth-crash-daemon-{uuid.uuid4().hex}"
    daemons = h.invoke_ok(client, adversary, {"action": "daemon", "token": token,
                                              "seconds": 300})
    for name in names:
        h.invoke_ok(client, name, {})
    results: list = []
    threads = [_invoke_in_background(client, names[i % 3], {"action": "sleep", "seconds": 60},
                                     results) for i in range(5)]
    old_pid = server.proc.pid
    bases = cgroup_bases(old_pid, data)
    def busy():
        status, _, body = server.get("/_hearth/concurrency")
        return status == 200 and json.loads(body)["busy"] == 5
    assert h.wait_until(busy, timeout=30), "the sleeping invocations did not all start"
    zygotes = zygotes_of(old_pid)
    assert len(zygotes) == 1, zygotes

    # kill -9.
    before = env_cgroups(bases)
    procs_before = cgroup_procs(bases)
    daemon_pids = h.pids_with_arg(token)
    assert len(daemon_pids) == 2, daemon_pids
    os.kill(old_pid, signal.SIGKILL)
    server.proc.wait()
    server.proc = None
    for t in threads:
        t.join(timeout=30)

    # What the dead server left: every environment's cgroup in every hierarchy (the
    # pool's environments, the warm ones and the busy ones), and nothing in the root
    # mount point they shared.
    # Its processes die with it: the zygote by its parent-death signal, each init with
    # the zygote, and everything in an environment's PID namespace with its PID 1.
    left = env_cgroups(bases)
    # (The pool may have been making more at the moment of the kill.)
    assert all(left[k] >= before[k] for k in bases), (before, left)
    envs = set.union(*left.values())
    # 5 busy (3 of them in the environments the first invocations warmed), the
    # adversary's idle one with its daemons, and whatever the pool had ready or making.
    assert len(envs) >= 5 + 1, f"expected the busy and the warm ones at least: {envs}"
    for k, names_in in left.items():
        assert names_in == envs, f"{k} lacks some environments: {envs - names_in}"
    assert h.jail_root(data).is_dir() and h.jail_root_entries(data) == []
    assert all(n.startswith(f"env-{old_pid}-") for n in envs), envs
    assert h.wait_until(lambda: not cgroup_procs(bases), timeout=10), \
        f"processes outlived the server: {cgroup_procs(bases)}"
    assert not any(h.process_alive(p) for p in procs_before | set(daemon_pids))
    assert not any(h.process_alive(p) for p in zygotes), "the zygote outlived the server"

    # Temporary files a server dies in the middle of writing (a zip being stored, code
    # being unpacked, a /tmp image), named as Hearth names them.
    sha = "0" * 64
    (data / "blobs" / f"{sha}.tmp-{old_pid}-7").write_bytes(b"partial zip")
    partial = data / "code" / f".{sha}.tmp-{old_pid}-8"
    (partial / "pkg").mkdir(parents=True)
    (partial / "pkg" / "mod.py").write_text("x = 1\n")
    (data / "jail" / "tmp" / f"{old_pid}-9.img").write_bytes(b"\0" * 4096)
    (data / "jail" / "images" / "00000000000000aa.tmp").write_bytes(b"\0" * 4096)
    # The per-environment root mount points a server of an older version left.
    legacy_roots = data / "jail" / "roots"
    for n in (5, 6):
        (legacy_roots / f"{old_pid}-{n}").mkdir(parents=True)
    images = {p.name for p in (data / "jail" / "images").glob("*.img")}
    assert images, "the functions' code and runtime client have images"
    stored = {p.name for p in (data / "blobs").iterdir()}
    # The bystander, idle meanwhile: its pool and its warm environment, with their processes.
    other_before = env_cgroups(other_bases)
    other_procs = cgroup_procs(other_bases)
    assert other_procs
    unpacked = {p.name for p in (data / "code").iterdir()}

    server.start()
    new_pid = server.proc.pid
    new_bases = cgroup_bases(new_pid, data)
    assert new_bases == bases, "the same data directory gets the same cgroup base"
    # Everything of the old server is gone; what is there is the new server's pool.
    now = env_cgroups(bases)
    for k, names_now in now.items():
        assert not names_now & envs, f"{k}: old environments left: {names_now & envs}"
        assert all(n.startswith(f"env-{new_pid}-") for n in names_now), names_now
    assert not legacy_roots.exists(), list(legacy_roots.iterdir())
    assert h.jail_root(data).is_dir() and h.jail_root_entries(data) == []

    def settled():
        # The new pool: every environment has its cgroup in each hierarchy.
        cg = env_cgroups(bases)
        every = set.union(*cg.values())
        return every and all(v == every for v in cg.values())
    assert h.wait_until(settled, timeout=30), env_cgroups(bases)
    pool = set.union(*env_cgroups(bases).values())
    assert 2 <= len(pool) <= 32, pool
    assert {p.name for p in (data / "blobs").iterdir()} == stored - {f"{sha}.tmp-{old_pid}-7"}
    assert {p.name for p in (data / "code").iterdir()} == unpacked - {partial.name}
    # The images of the code and runtime client stay (they are kept across restarts),
    # the partial one is gone.
    assert {p.name for p in (data / "jail" / "images").glob("*.img")} == images
    assert not list((data / "jail" / "images").glob("*.tmp"))
    # Only the new server's: its template for the pool's /tmp size and an image it is
    # setting up at this moment (unlinked once attached).
    assert all(p.name == "template-512.img" or p.name.startswith(f"{new_pid}-")
               for p in (data / "jail" / "tmp").glob("*.img"))
    assert f"removed what an earlier server on this data directory left behind" in \
        server.stderr_tail()

    # The functions still work, and the bystander lost nothing: its environments (the
    # warm one included) are where they were and it still answers.
    client = h.lambda_client(server.endpoint)
    for name in names:
        assert h.invoke_ok(client, name, {"n": 1})
    assert env_cgroups(other_bases) == other_before
    assert cgroup_procs(other_bases) == other_procs
    h.invoke_ok(other_client, bystander, {})
    # A clean stop removes its environments and then its cgroup base.
    server.stop_cleanly()
    assert not [b for b in bases.values() if b.exists()], bases
