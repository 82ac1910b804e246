"""Adversarial isolation tests: functions deployed through the API attack the jail
(`hearth server --sandbox jail`, the default) and every attack must fail safely while Hearth
keeps serving other functions.

The attacks live in tests/functions/adversary/adversary.py (one event "action" per attack,
returning a report of errno names and booleans); these tests decide what the report must
say. Each test also checks a positive control (the thing hidden from the attacker does
exist: the marker is visible to its owner, the host has the file, the daemon was running),
so a negative answer means something.

The process sandbox isolates nothing by design, so the module is skipped under
HEARTH_SANDBOX=process. To see these tests fail there (proof that they test something), set
HEARTH_ISOLATION_UNDER_PROCESS=1 as well.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
import socket
import subprocess
import threading
import time
import uuid
import zipfile
from pathlib import Path

import pytest

import hearth_e2e as h

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("HEARTH_SANDBOX") == "process"
        and not os.environ.get("HEARTH_ISOLATION_UNDER_PROCESS"),
        reason="the process sandbox isolates nothing by design (set "
               "HEARTH_ISOLATION_UNDER_PROCESS=1 to watch these tests fail there)",
    ),
    # Scans every process's namespaces and the host's cgroups for what an environment
    # left: never run beside other tests' servers (scripts/test.sh runs it alone).
    pytest.mark.host_wide,
]

ADVERSARY_SOURCE = h.FUNCTIONS_DIR / "adversary" / "adversary.py"
HANDLER = "adversary.handler"
SANDBOX_UID, SANDBOX_GID = 993, 990
RUNTIME_API = "127.0.0.1:9001"
PIDS_MAX = 1024
UNREACHABLE = {"ENOENT", "EACCES"}
READ_ONLY = {"EROFS", "EACCES", "EPERM"}


# ---------------------------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture(scope="module")
def ordinary(client):
    """An ordinary Python function: after every attack it must still answer correctly."""
    name = h.unique_name("iso-ordinary")
    h.create_function(client, name)
    return name


@pytest.fixture(scope="module")
def adversary(client):
    """The adversary with one whole vCPU (1769 MB), so that walking the root is quick."""
    name = h.unique_name("iso-adversary")
    h.create_function(client, name, "adversary.zip", handler=HANDLER, MemorySize=1769,
                      Timeout=60)
    return name


def attack(client, name, action, **fields):
    """Invokes the adversary with `action`; the attack itself must not crash the function."""
    return h.invoke_ok(client, name, {"action": action, **fields})


def assert_serving(client, ordinary):
    """Hearth still serves another function, with the right answer."""
    token = uuid.uuid4().hex
    out = h.invoke_ok(client, ordinary, {"probe": token})
    assert out["event"] == {"probe": token}
    assert out["python"] is True


def adversary_zip(extra: dict[str, bytes]) -> bytes:
    """The adversary's code plus `extra` files, as a zip made on the fly."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("adversary.py", ADVERSARY_SOURCE.read_bytes())
        for arcname, data in extra.items():
            zf.writestr(arcname, data)
    return buf.getvalue()


def create_adversary(client, prefix, zip_file=None, **kw):
    name = h.unique_name(prefix)
    kw.setdefault("Timeout", 30)
    if zip_file is None:
        h.create_function(client, name, "adversary.zip", handler=HANDLER, **kw)
    else:
        h.create_function(client, name, None, handler=HANDLER, zip_file=zip_file, **kw)
    return name


def kill_pids(pids):
    for pid in pids:
        try:
            os.kill(pid, 9)
        except OSError:
            pass


# --- what an environment holds on the host -----------------------------------------------------


def cgroup_mounts() -> dict[str, str]:
    """Controller (or "" for cgroup2) -> the host's mount point of its hierarchy."""
    mounts: dict[str, str] = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            point, rest = left.split()[4], right.split()
            if rest[0] == "cgroup":
                for opt in rest[2].split(","):
                    mounts.setdefault(opt, point)
            elif rest[0] == "cgroup2":
                mounts.setdefault("", point)
    return mounts


def env_cgroup_dirs(pid: int) -> list[Path]:
    """The host directories of the environment cgroup (`.../env-*`) that holds `pid`."""
    mounts = cgroup_mounts()
    dirs = set()
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if "/env-" not in path:
                continue
            for c in controllers.split(",") if controllers else [""]:
                if c in mounts:
                    dirs.add(Path(mounts[c] + path))
    return sorted(dirs)


def namespaces_of(pid: int) -> set[str]:
    out = set()
    for kind in ("net", "mnt", "pid", "ipc", "uts"):
        try:
            out.add(os.readlink(f"/proc/{pid}/ns/{kind}"))
        except OSError:
            pass
    return out


def namespaces_in_use() -> set[str]:
    """Every namespace some host process is in, or holds open as a file descriptor."""
    used = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        used |= namespaces_of(int(entry))
        try:
            for fd in os.listdir(f"/proc/{entry}/fd"):
                try:
                    link = os.readlink(f"/proc/{entry}/fd/{fd}")
                except OSError:
                    continue
                if link.startswith(("net:[", "mnt:[", "pid:[", "ipc:[", "uts:[")):
                    used.add(link)
        except OSError:
            pass
    return used


def host_mounts_mentioning(path: Path) -> list[str]:
    needle = str(path)
    with open("/proc/self/mountinfo") as f:
        return [line for line in f if needle in line]


@dataclasses.dataclass
class Footprint:
    """Everything one environment holds on the host, captured while it is alive: every
    process of its cgroup (also the jail's init and PID 1, which carry no Lambda variables),
    its cgroup directories, and the namespaces the host does not share with it. (Every
    environment assembles its root on the one mount point <data_dir>/jail/root, in its own
    mount namespace: on the host that directory exists and stays empty.)"""

    env_id: str
    server_pid: int
    jail_id: str | None
    pids: set[int]
    cgroup_dirs: list[Path]
    data_dir: Path
    root_existed: bool
    namespaces: set[str]

    @classmethod
    def capture(cls, server, env_id: str) -> "Footprint":
        runtime = h.env_pids(env_id)
        assert runtime, f"environment {env_id} has no processes on the host"
        dirs = env_cgroup_dirs(runtime[0])
        names = {d.name for d in dirs}
        assert len(names) <= 1, names
        jail_id = names.pop()[len("env-"):] if names else None
        pids = set(runtime)
        for d in dirs:
            procs = d / "cgroup.procs"
            if procs.exists():
                pids |= {int(p) for p in procs.read_text().split()}
        own = namespaces_of(runtime[0]) - namespaces_of(os.getpid())
        return cls(env_id, server.proc.pid, jail_id, pids, dirs, server.data_dir,
                   h.jail_root(server.data_dir).is_dir(), own)

    def assert_jailed(self):
        """Positive control: this environment had the jail's resources to tear down."""
        assert self.cgroup_dirs, f"environment {self.env_id} is in no env-* cgroup"
        assert self.jail_id and self.jail_id.startswith(f"{self.server_pid}-"), self.jail_id
        assert len(self.cgroup_dirs) >= 3, f"memory, cpu, pids (+freezer): {self.cgroup_dirs}"
        assert self.root_existed, \
            f"no jail root mount point {h.jail_root(self.data_dir)} while it ran"
        assert h.jail_root_entries(self.data_dir) == [], \
            "the root is assembled in the environment's mount namespace, never on the host"
        assert len(self.namespaces) == 5, \
            f"own net, mnt, pid, ipc and uts namespaces, found {self.namespaces}"

    def leftovers(self) -> dict:
        out = {
            "processes": sorted(p for p in self.pids if h.process_alive(p)),
            "env_pids": h.env_pids(self.env_id),
            "cgroup_dirs": [str(d) for d in self.cgroup_dirs if d.exists()],
            "root_dir_entries": h.jail_root_entries(self.data_dir),
        }
        if not any(out.values()):
            # Namespaces last: scanning every process is the slowest check.
            out["namespaces"] = sorted(self.namespaces & namespaces_in_use())
        return {k: v for k, v in out.items() if v}

    def assert_gone(self, timeout: float = 10):
        h.wait_until(lambda: not self.leftovers(), timeout=timeout, interval=0.1)
        left = self.leftovers()
        assert not left, f"environment {self.env_id} (jail {self.jail_id}) left behind: {left}"


def env_dirs(server_pid: int, bases: list[Path]) -> set[str]:
    """The env-* cgroup directories of the server with pid `server_pid`, per hierarchy."""
    out = set()
    for base in bases:
        for d in base.glob(f"env-{server_pid}-*"):
            out.add(str(d))
    return out


def cgroup_live(d: Path) -> bool:
    """Whether a cgroup directory holds a running (not frozen) process: an environment
    in use or one made ahead and waiting, not a leftover."""
    try:
        if not (d / "cgroup.procs").read_text().split():
            return False
        state = d / "freezer.state"
        return not (state.exists() and state.read_text().strip() != "THAWED")
    except OSError:
        return False


def leftovers_since(server_pid: int, bases: list[Path], dirs_before: set[str],
                    data_dir: Path) -> dict:
    """cgroup dirs that appeared since the snapshot and belong to nothing alive (a server
    may make environments ahead; those hold a waiting process), and anything on the host
    in the root mount point."""
    new_dirs = env_dirs(server_pid, bases) - dirs_before
    dead = sorted(d for d in new_dirs if not cgroup_live(Path(d)))
    stray = h.jail_root_entries(data_dir)
    return {k: v for k, v in (("cgroup_dirs", dead), ("root_dir_entries", stray)) if v}


# ---------------------------------------------------------------------------------------------
# Identity


def test_identity_inside_the_jail(client, adversary, ordinary):
    me = attack(client, adversary, "identity")
    assert (me["uid"], me["euid"], me["gid"], me["egid"]) == (SANDBOX_UID, SANDBOX_UID,
                                                               SANDBOX_GID, SANDBOX_GID)
    assert 0 not in me["groups"] and set(me["groups"]) <= {SANDBOX_GID}, me["groups"]
    st = me["status"]
    for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(st[cap], 16) == 0, f"{cap} = {st[cap]}"
    assert st["NoNewPrivs"] == "1"
    assert st["Seccomp"] == "2", "a seccomp filter must be installed (mode 2)"
    assert me["setuid0"] == "EPERM" and me["setgid0"] == "EPERM"
    assert me["nofile"] == [1024, 1024]
    assert me["raise_nofile"] != "ok", "the open-file limit must not be raisable"
    # The environment's own UTS namespace, named as on Lambda, not after the host.
    assert me["hostname"] == me["nodename"] == "localhost" != socket.gethostname()
    assert me["env"]["AWS_LAMBDA_RUNTIME_API"] == RUNTIME_API
    assert me["env"]["LAMBDA_TASK_ROOT"] == "/var/task"
    assert me["cwd"] == "/var/task"
    assert me["pid"] == 2 and me["ppid"] == 1, "the runtime is PID 2 under the jail's PID 1"
    # Functions run under SCHED_BATCH: they do not preempt the server on wake-up.
    assert me["sched_policy"] == os.SCHED_BATCH, me["sched_policy"]
    # Its own cgroup namespace: it sees itself at the root of every hierarchy.
    for line in me["proc_cgroup"].splitlines():
        assert line.endswith(":/"), me["proc_cgroup"]
    # A synthetic /etc/passwd, none of the host's accounts.
    assert "sbx_user:x:993:990:" in me["passwd"]
    with open("/etc/passwd") as f:
        host_users = {line.split(":")[0] for line in f if ":" in line} - {"root"}
    jail_users = {line.split(":")[0] for line in me["passwd"].splitlines() if ":" in line}
    assert host_users, "positive control: the host has accounts besides root"
    assert not (jail_users & host_users), jail_users & host_users
    # No inherited descriptor points into the host's file tree.
    for fd, target in me["fds"].items():
        assert (target.startswith(("pipe:", "socket:", "anon_inode:")) or target in
                ("/dev/null", "ENOENT") or target.startswith(("/proc/", "/var/task"))), \
            f"fd {fd} -> {target}"
    assert_serving(client, ordinary)


# ---------------------------------------------------------------------------------------------
# 1. Another function's code and /tmp


def test_cannot_read_another_functions_code_or_tmp(server, client, adversary, ordinary):
    marker = f"hearth-iso-marker-{uuid.uuid4().hex}"
    tmp_marker = f"hearth-iso-tmp-{uuid.uuid4().hex}"
    victim_zip = adversary_zip({marker: b"secret code of B\n",
                                f"{marker}-dir/inner.txt": b"more secret code\n"})
    victim = create_adversary(client, "iso-victim", zip_file=victim_zip)
    # Where Hearth unpacked B's code on the host (content-addressed by the zip's sha256).
    code_dir = server.data_dir / "code" / hashlib.sha256(victim_zip).hexdigest()
    try:
        _other_functions_code_or_tmp(server, client, adversary, victim, marker, tmp_marker,
                                     code_dir)
    finally:
        # Without a jail (the process sandbox) B's markers land in the host's /tmp.
        for leftover in (f"/tmp/{tmp_marker}", f"/dev/shm/{tmp_marker}"):
            if os.path.exists(leftover):
                os.remove(leftover)
    assert_serving(client, ordinary)


def _other_functions_code_or_tmp(server, client, adversary, victim, marker, tmp_marker,
                                 code_dir):
    """B (`victim`) holds a unique marker in its code and in its /tmp and /dev/shm; A
    (`adversary`) must not reach any of them."""
    # Positive controls: B sees its own code and its own /tmp and /dev/shm files.
    own = attack(client, victim, "find", names=[marker], roots=["$TASK"])
    assert [os.path.basename(p) for p in own["found"]] == [marker], own
    wrote = attack(client, victim, "write", keep=True, data="B's tmp secret",
                   paths=[f"/tmp/{tmp_marker}", f"/dev/shm/{tmp_marker}"])
    assert set(wrote["results"].values()) == {"ok"}, wrote
    seen = attack(client, victim, "probe", paths=[f"/tmp/{tmp_marker}"])
    assert seen["env_id"] == own["env_id"] == wrote["env_id"]
    assert seen["paths"][f"/tmp/{tmp_marker}"]["read"] == "ok"
    b_pid = h.env_pids(own["env_id"])[0]
    assert os.path.exists(f"/proc/{b_pid}/root/tmp/{tmp_marker}"), \
        "positive control: the host sees B's /tmp marker through B's root"
    assert (code_dir / marker).is_file(), f"positive control: B's code is at {code_dir}"

    # A cannot reach B's files by their host paths or by B's own paths...
    probes = attack(client, adversary, "probe", paths=[
        str(code_dir), str(code_dir / marker), str(server.data_dir / "code"),
        f"/tmp/{tmp_marker}", f"/dev/shm/{tmp_marker}", f"/var/task/{marker}",
        f"/proc/{b_pid}/root/tmp/{tmp_marker}",
    ])["paths"]
    for path, res in probes.items():
        assert res["stat"] in UNREACHABLE, f"A reached {path}: {res}"
    # ... nor finds any of B's names anywhere it can list.
    names = [marker, f"{marker}-dir", tmp_marker]
    walk = attack(client, adversary, "find", names=names, roots=["/"],
                  skip=["/proc", "/sys"], budget=40)
    assert walk["found"] == [], f"A found B's files: {walk['found']}"
    assert not walk["truncated"], f"the walk of / did not finish: {walk}"
    assert walk["files"] > 1000, f"the walk must have covered the root: {walk}"
    listing = attack(client, adversary, "probe", paths=["/var/task"])["paths"]["/var/task"]
    assert listing["list"] == ["adversary.py"], listing


# ---------------------------------------------------------------------------------------------
# 2. Host processes


def test_cannot_list_host_processes(server, client, adversary, ordinary):
    out = attack(client, adversary, "procs")
    procs = out["procs"]
    assert 1 <= len(procs) <= 3, f"the jail shows more than its own processes: {procs}"
    assert out["self"] <= 3 and out["ppid"] == 1, out
    for pid, info in procs.items():
        cmd = info.get("cmdline", "")
        assert "pytest" not in cmd and "--listen" not in cmd and " server" not in cmd, \
            f"a host process is visible: {pid} {info}"
        assert str(server.data_dir) not in cmd, (pid, info)
    assert out["kill_pid1"] == "EPERM", "the runtime must not signal the jail's PID 1"
    host_pids = [p for p in os.listdir("/proc") if p.isdigit()]
    assert len(host_pids) > 10 and h.process_alive(server.proc.pid), \
        "positive control: the host has many processes, Hearth among them"
    assert_serving(client, ordinary)


# ---------------------------------------------------------------------------------------------
# 3. Host files outside the allowed mounts


def test_cannot_read_host_files(server, client, adversary, ordinary):
    me = attack(client, adversary, "identity")
    secrets = [
        "/home", "/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/ssh", "/etc/machine-id",
        "/root/.bash_history", "/root/.ssh", "/root/.aws", "/root/.cargo",
        str(server.data_dir), str(server.data_dir / "jail"), str(server.data_dir / "blobs"),
        str(h.REPO), str(h.RUNTIMES_DIR), str(Path.cwd()), "/work",
        "/proc/1/root", "/proc/1/cwd", "/proc/1/environ", "/proc/1/fd", "/proc/1/mem",
        "/proc/kcore", "/sys", "/sys/fs/cgroup", "/run", "/var/lib", "/var/log", "/boot",
        "/dev/mem", "/dev/kmsg", "/dev/sda", "/dev/vda",
    ]
    probes = attack(client, adversary, "probe", paths=secrets)["paths"]
    for path, res in probes.items():
        blocked = (res["stat"] in UNREACHABLE or res.get("list") == "EACCES"
                   or res.get("read") == "EACCES")
        assert blocked, f"{path} is readable inside the jail: {res}"
    # Positive controls: the host does have these.
    for path in ("/etc/shadow", str(server.data_dir), str(h.REPO)):
        assert os.path.exists(path), path
    assert probes[str(server.data_dir)]["stat"] == "ENOENT"
    assert probes["/etc/shadow"]["stat"] == "ENOENT"

    # /root: only the path down to the interpreter's own prefix may exist (read-only).
    prefix = Path(me["prefix"])
    if prefix.is_relative_to("/root"):
        chain, d = [], Path("/root")
        for part in prefix.relative_to("/root").parts:
            chain.append((str(d), part))
            d = d / part
        listed = attack(client, adversary, "probe", paths=[c for c, _ in chain])["paths"]
        host_extra = False
        for dir_, allowed in chain:
            assert listed[dir_].get("list") == [allowed], \
                f"{dir_} shows more than the way to {prefix}: {listed[dir_]}"
            host_extra |= len(os.listdir(dir_)) > 1
        assert host_extra, "positive control: the host's /root holds more than the prefix"
    else:
        res = attack(client, adversary, "probe", paths=["/root"])["paths"]["/root"]
        assert res["stat"] in UNREACHABLE or res.get("list") in ([], "EACCES"), res
    assert_serving(client, ordinary)


def _mountinfo_roots(text: str) -> dict[str, str]:
    """Mount point -> the mount's root inside its file system (mountinfo fields 5 and 4)."""
    out = {}
    for line in text.splitlines():
        fields = line.split()
        out[fields[4]] = fields[3]
    return out


def test_host_information_is_hidden(server, client, adversary, ordinary):
    """Nothing in the environment names the host's data directory or runtimes directory,
    and the host's disks, file systems and locks (other environments' /tmp loop devices
    among them) are not listed."""
    host_only = ["/proc/diskstats", "/proc/partitions", "/proc/swaps", "/proc/locks"]
    out = attack(client, adversary, "read",
                 files=["/proc/self/mountinfo", "/proc/mounts", *host_only],
                 dirs=["/proc/fs", "/proc/bus", "/var/task", "/var/runtime"])
    files, dirs = out["files"], out["dirs"]
    mountinfo = files["/proc/self/mountinfo"]
    assert isinstance(mountinfo, str) and "/var/task" in mountinfo, files
    data_dir = os.path.realpath(server.data_dir)
    for text in (mountinfo, files["/proc/mounts"]):
        for secret in (str(server.data_dir), data_dir, os.path.realpath(h.RUNTIMES_DIR),
                       "jail/etc", "/code/"):
            assert secret not in text, f"{secret} shows inside the jail:\n{text}"
    roots = _mountinfo_roots(mountinfo)
    for point in ("/var/task", "/var/runtime", "/etc"):
        assert roots[point] == "/", f"{point}'s root names a host path: {roots[point]}"
    # The code and the runtime client as they are, nothing added (no lost+found).
    assert dirs["/var/task"] == ["adversary.py"], dirs["/var/task"]
    assert "awslambdaric" in dirs["/var/runtime"]
    assert "lost+found" not in dirs["/var/runtime"]
    # Empty inside, while the host's have something to hide: its disks and the loop
    # devices of the environments' /tmp, their ext4 file systems, the server's lock on
    # its data directory.
    for path in host_only:
        assert files[path] == "", f"{path} inside the jail: {files[path]!r}"
    assert dirs["/proc/fs"] == [] and dirs["/proc/bus"] == [], dirs
    with open("/proc/diskstats") as f:
        assert re.search(r"\bloop\d+\b", f.read()), "positive control: loop devices"
    with open("/proc/partitions") as f:
        assert f.read().count("\n") > 2
    assert any(d.startswith("loop") for d in os.listdir("/proc/fs/ext4"))
    with open("/proc/locks") as f:
        assert f.read().strip(), "positive control: the server holds its data dir lock"
    assert_serving(client, ordinary)


# ---------------------------------------------------------------------------------------------
# 4. Writing the code, the root and the system directories


def test_cannot_write_code_root_or_system(client, adversary, ordinary):
    me = attack(client, adversary, "identity")
    prefix = me["prefix"]
    out = attack(client, adversary, "write", paths=[
        "/var/task/planted.py", "/planted", "/usr/planted", "/usr/bin/planted", "/etc/planted",
        "/var/planted", "/var/runtime/planted", "/opt/planted", "/dev/planted",
        "/proc/planted", f"{prefix}/planted", f"{prefix}/bin/planted", "/root/planted",
        "/tmp/allowed",
    ], overwrite=[
        "/var/task/adversary.py", "/etc/passwd", "/etc/hosts", "/etc/ld.so.cache",
        f"{me['executable']}",
    ])
    results = out["results"]
    assert results.pop("/tmp/allowed") == "ok", "positive control: /tmp is writable"
    assert results.pop("/var/task/planted.py") == "EROFS", out
    assert results.pop("/planted") == "EROFS", out
    for path, res in results.items():
        assert res in READ_ONLY | {"ENOENT"}, f"{path} is writable: {res}"
    # Existing files are read-only (0444) as well, so EACCES may come before EROFS here.
    for path, res in out["overwrite"].items():
        assert res in READ_ONLY, f"{path} can be opened for writing: {res}"
    # The code is unchanged.
    listing = attack(client, adversary, "probe", paths=["/var/task"])["paths"]["/var/task"]
    assert listing["list"] == ["adversary.py"]
    assert_serving(client, ordinary)


# ---------------------------------------------------------------------------------------------
# 5. The control plane and the host's loopback services


def test_cannot_reach_control_plane_or_host_loopback(server, client, adversary, ordinary):
    token = uuid.uuid4().hex[:16]
    abstract = f"hearth-iso-{token}"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp, \
            socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix:
        tcp.bind(("127.0.0.1", 0))
        tcp.listen(16)
        host_port = tcp.getsockname()[1]
        unix.bind("\0" + abstract)
        unix.listen(16)
        # Positive controls: both services answer on the host, and so does Hearth.
        socket.create_connection(("127.0.0.1", host_port), timeout=2).close()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
            c.connect("\0" + abstract)
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()

        out = attack(client, adversary, "net", ports=[server.port, host_port, 9001, 9002],
                     abstract=[abstract],
                     http=["/2015-03-31/functions/", "/_hearth/runtimes",
                           "/2016-08-19/account-settings/"])
    ports = out["ports"]
    assert ports[str(server.port)] == "ECONNREFUSED", f"control plane reachable: {out}"
    assert ports[str(host_port)] == "ECONNREFUSED", f"host loopback reachable: {out}"
    assert ports["9001"] == "ok", f"the Runtime API must be at {RUNTIME_API}: {out}"
    # Hearth's AWS API for the function's SDK (AWS_ENDPOINT_URL), served in-process.
    assert ports["9002"] == "ok", out
    for port in (server.port, host_port):
        assert out["ipv6"][str(port)] != "ok", out
    assert out["abstract"][abstract] == "ECONNREFUSED", \
        f"the host's abstract unix sockets are reachable: {out}"
    # The veth of the egress network (docs/egress.md) besides loopback.
    assert out["interfaces"] == ["eth0", "lo"], out
    # IPv4 only: the veth has no IPv6 address, not even a link-local one (loopback's ::1
    # may stay; the host's table refuses IPv6 from the veth anyway).
    assert isinstance(out["inet6"], dict) and "eth0" not in out["inet6"], out
    assert out["listening"] == [9001, 9002], out
    # The Runtime API answers only the runtime's routes, none of the control plane's.
    for path, res in out["http"].items():
        assert res.get("status") == 404, f"GET {path} on the Runtime API: {res}"
    assert_serving(client, ordinary)


# ---------------------------------------------------------------------------------------------
# 6. Mount, namespaces, ptrace and friends


def test_privileged_syscalls_are_refused(client, adversary, ordinary):
    out = attack(client, adversary, "syscalls")
    expected_eperm = [
        "mount", "remount_task_rw", "umount",
        "unshare_user", "unshare_ns", "unshare_net", "unshare_pid", "unshare_uts",
        "unshare_ipc", "setns_self", "chroot",
        "ptrace_traceme", "ptrace_attach_child", "ptrace_attach_pid1",
        "process_vm_readv_child", "setuid0",
    ]
    if out["machine"] == "x86_64":
        expected_eperm += ["pivot_root", "keyctl", "bpf", "name_to_handle_at"]
    wrong = {k: out[k] for k in expected_eperm if out[k] != "EPERM"}
    assert not wrong, f"calls that must fail with EPERM did not: {wrong}"
    assert out["setns_pid1"] in ("open-EACCES", "EPERM"), out
    assert out["kill_pid1"] == "EPERM", out
    assert_serving(client, ordinary)


# ---------------------------------------------------------------------------------------------
# 7. A fork bomb


def test_fork_bomb_is_contained(server, client, ordinary):
    # Memory enough that the pids limit, not the memory limit, stops the bomb. The
    # timeout leaves a loaded machine time for the ~1000 forks before the limit.
    bomb = create_adversary(client, "iso-bomb", MemorySize=3008, Timeout=15)
    env_id = attack(client, bomb, "identity")["env_id"]
    footprint = Footprint.capture(server, env_id)
    pids_dir = next((d for d in footprint.cgroup_dirs if (d / "pids.max").exists()), None)
    pids_max = (pids_dir / "pids.max").read_text().strip() if pids_dir else None

    result = {}
    thread = threading.Thread(
        target=lambda: result.update(inv=h.invoke(client, bomb, {"action": "forkbomb"},
                                                  LogType="Tail")))
    thread.start()
    most, served_during = 0, False
    while thread.is_alive():
        pids = h.env_pids(env_id)
        footprint.pids |= set(pids)
        most = max(most, len(pids))
        try:
            current = int((pids_dir / "pids.current").read_text()) if pids_dir else 0
            assert current <= PIDS_MAX, current
        except FileNotFoundError:
            pass
        if most > 500 and not served_during:
            # Mid-bomb: the host still forks, Hearth still serves another function.
            assert subprocess.run(["true"]).returncode == 0
            assert_serving(client, ordinary)
            served_during = True
        time.sleep(0.1)
    thread.join()
    inv = result["inv"]
    assert inv.function_error == "Unhandled", inv
    assert inv.json["errorType"] == "Sandbox.Timedout", inv.json
    report_lines = [line for line in inv.log.splitlines()
                    if line.startswith("ADVERSARY-FORKBOMB ")]
    assert report_lines, f"the bomb never saw fork fail:\n{inv.log}"
    report = json.loads(report_lines[0].split(" ", 1)[1])
    assert "EAGAIN" in report["errors"], report
    assert 500 < report["forked"] < PIDS_MAX, report
    assert 500 < most <= PIDS_MAX, f"{most} processes in the bomb's environment"
    assert served_during, "the bomb never got going"
    footprint.assert_jailed()
    assert pids_max == str(PIDS_MAX), pids_max

    footprint.assert_gone()
    assert_serving(client, ordinary)
    again = attack(client, bomb, "identity")
    assert again["env_id"] != env_id


# ---------------------------------------------------------------------------------------------
# 8. Memory far past MemorySize


def test_memory_past_limit_is_killed_and_replaced(server, client, ordinary):
    hog = create_adversary(client, "iso-oom", MemorySize=128)
    env_id = attack(client, hog, "identity")["env_id"]
    footprint = Footprint.capture(server, env_id)
    inv = h.invoke(client, hog, {"action": "oom", "mb": 1024})
    assert inv.status == 200 and inv.function_error == "Unhandled", inv
    err = inv.json
    assert err["errorType"] == "Runtime.OutOfMemory", err
    assert "signal: killed" in err["errorMessage"], err
    footprint.assert_jailed()
    footprint.assert_gone()
    again = attack(client, hog, "identity")
    assert again["env_id"] != env_id, "the killed environment must be replaced"
    assert_serving(client, ordinary)


# ---------------------------------------------------------------------------------------------
# 9. /tmp past EphemeralStorage


def _fill_tmp(client, name, size_mb=512):
    out = attack(client, name, "fill_tmp", chunk_mb=1, max_mb=size_mb + 512)
    mib = out["written"] / 2**20
    # A disk file system of which the function may use exactly EphemeralStorage MiB.
    assert out["before"]["free_mb"] == size_mb, out
    assert out["error"] == "ENOSPC", out
    assert size_mb - 4 <= mib <= size_mb, f"{mib:.1f} MiB written before ENOSPC"
    assert out["again"] == "ok", "/tmp must be usable again after deleting"
    # Usable in the next invocation of the same environment too.
    after = attack(client, name, "write", paths=["/tmp/after-fill"])
    assert after["env_id"] == out["env_id"] and after["results"]["/tmp/after-fill"] == "ok"


def test_fill_tmp_past_ephemeral_storage(client, ordinary):
    filler = create_adversary(client, "iso-fill", MemorySize=1024)
    _fill_tmp(client, filler)
    assert_serving(client, ordinary)


def test_fill_tmp_with_default_memory(client, ordinary):
    """As on Lambda, /tmp is disk, not memory: a 128 MB function fills all of its /tmp
    without running out of memory."""
    filler = create_adversary(client, "iso-fill128", MemorySize=128)
    try:
        _fill_tmp(client, filler)
    finally:
        assert_serving(client, ordinary)


def test_fill_tmp_of_a_chosen_size(client, ordinary):
    filler = create_adversary(client, "iso-fill600", MemorySize=128, EphemeralStorage={"Size": 600})
    _fill_tmp(client, filler, size_mb=600)
    assert_serving(client, ordinary)


# ---------------------------------------------------------------------------------------------
# 10. Background processes left behind


def test_background_processes_end_with_the_environment(short_ttl_server):
    srv = short_ttl_server
    client = h.lambda_client(srv.endpoint)
    name = create_adversary(client, "iso-daemon")
    other = h.unique_name("iso-daemon-other")
    h.create_function(client, other)
    token = f"hearth-iso-daemon-{uuid.uuid4().hex}"
    try:
        out = attack(client, name, "daemon", token=token, seconds=300)
        env_id = out["env_id"]
        footprint = Footprint.capture(srv, env_id)
        daemons = h.pids_with_arg(token)
        # Positive controls: both daemons outlived the invocation, one of them invisible
        # to env_pids (it dropped its environment).
        assert len(daemons) == 2, f"expected 2 daemons with {token}, found {daemons}"
        assert not set(daemons) <= set(h.env_pids(env_id))
        footprint.pids |= set(daemons)
        # The environment idles past its 1 s TTL and is reclaimed with every process.
        footprint.assert_gone(timeout=15)
        assert h.pids_with_arg(token) == []
        footprint.assert_jailed()
        again = attack(client, name, "identity")
        assert again["env_id"] != env_id
        assert_serving(client, other)
    finally:
        kill_pids(h.pids_with_arg(token))


# ---------------------------------------------------------------------------------------------
# 11. Spinning forever


def test_spin_forever_times_out(server, client, ordinary):
    spinner = create_adversary(client, "iso-spin", Timeout=1)
    env_id = attack(client, spinner, "identity")["env_id"]
    footprint = Footprint.capture(server, env_id)
    inv = h.invoke(client, spinner, {"action": "spin"})
    assert inv.function_error == "Unhandled", inv
    assert inv.json["errorType"] == "Sandbox.Timedout", inv.json
    footprint.assert_gone()
    footprint.assert_jailed()
    assert_serving(client, ordinary)
    assert attack(client, spinner, "identity")["env_id"] != env_id


# ---------------------------------------------------------------------------------------------
# 12. Teardown, counted: on deletion, on an update, after a crash, when the server stops


@pytest.mark.parametrize("how", ["delete", "update", "crash", "server_stop"])
def test_teardown_leaves_nothing_behind(request, how):
    srv = request.getfixturevalue("own_server" if how == "server_stop" else "server")
    client = h.lambda_client(srv.endpoint)
    plain = h.unique_name("iso-teardown-plain")
    h.create_function(client, plain)
    name = create_adversary(client, "iso-teardown")
    token = f"hearth-iso-teardown-{uuid.uuid4().hex}"
    server_pid = srv.proc.pid
    try:
        out = attack(client, name, "daemon", token=token, seconds=300)
        footprint = Footprint.capture(srv, out["env_id"])
        footprint.pids |= set(h.pids_with_arg(token))
        bases = sorted({d.parent for d in footprint.cgroup_dirs})
        dirs_before = env_dirs(server_pid, bases)
        mounts_before = host_mounts_mentioning(srv.data_dir)
        # Positive controls: what must go is there now.
        footprint.assert_jailed()
        assert {str(d) for d in footprint.cgroup_dirs} <= dirs_before
        assert len(footprint.pids) >= 5, \
            f"init, PID 1, the runtime and two daemons, found {footprint.pids}"

        if how == "delete":
            client.delete_function(FunctionName=name)
        elif how == "update":
            h.update_config(client, name, Description="changed")
        elif how == "crash":
            inv = h.invoke(client, name, {"action": "exit", "code": 3})
            assert inv.function_error == "Unhandled", inv
            assert inv.json["errorType"] == "Runtime.ExitError", inv.json
        else:
            srv.stop_cleanly()

        footprint.assert_gone()
        assert h.pids_with_arg(token) == []
        # Counted: this environment's cgroup dirs are gone (assert_gone), and nothing new
        # was left behind in their place.
        dirs_after = env_dirs(server_pid, bases)
        assert not dirs_after & {str(d) for d in footprint.cgroup_dirs}
        assert h.wait_until(lambda: not leftovers_since(server_pid, bases, dirs_before,
                                                        srv.data_dir), timeout=5), \
            leftovers_since(server_pid, bases, dirs_before, srv.data_dir)
        assert host_mounts_mentioning(srv.data_dir) == [] == mounts_before, \
            "the jail's mounts must never reach the host's mount table"
        if how == "server_stop":
            # A stopped server leaves nothing at all: no cgroup dir, nothing in the root
            # mount point, no process of any environment (in use or made ahead).
            assert h.wait_until(lambda: not env_dirs(server_pid, bases), timeout=5), \
                {d: cgroup_live(Path(d)) for d in env_dirs(server_pid, bases)}
            assert h.jail_root_entries(srv.data_dir) == []
            srv.start()
            client = h.lambda_client(srv.endpoint)
    finally:
        kill_pids(h.pids_with_arg(token))
    assert_serving(client, plain)
    if how != "delete":
        assert attack(client, name, "identity")["env_id"] != out["env_id"]


# ---------------------------------------------------------------------------------------------
# Limits as the host sees them


def _cgroup_file(pid, controller, name):
    """The content of `name` in `pid`'s cgroup for `controller`, read on the host (v1 or v2)."""
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            names = controllers.split(",") if controllers else []
            if controller in names:
                mount = "/sys/fs/cgroup/" + controllers
                if not os.path.isdir(mount):
                    mount = f"/sys/fs/cgroup/{controller}"
                break
            if not controllers and os.path.exists(f"/sys/fs/cgroup{path}/{name}"):
                mount = "/sys/fs/cgroup"
                break
        else:
            raise AssertionError(f"no {controller} cgroup for {pid}")
    with open(f"{mount}{path}/{name}") as f:
        return f.read().strip()


def test_cgroup_limits_follow_memory_size(client):
    """Memory = MemorySize, CPU = MemorySize/1769 of a CPU (after init), pids ≤ 1024."""
    name = create_adversary(client, "iso-limits", MemorySize=512)
    env_id = attack(client, name, "identity")["env_id"]
    pid = h.env_pids(env_id)[0]
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        assert _cgroup_file(pid, "memory", "memory.max") == str(512 << 20)
        assert _cgroup_file(pid, "cpu", "cpu.max") == "28900 100000"
    else:
        assert _cgroup_file(pid, "memory", "memory.limit_in_bytes") == str(512 << 20)
        assert _cgroup_file(pid, "cpu", "cpu.cfs_quota_us") == "28900"
        assert _cgroup_file(pid, "cpu", "cpu.cfs_period_us") == "100000"
    assert _cgroup_file(pid, "pids", "pids.max") == "1024"


def test_max_memory_used_is_the_environments_peak(client):
    """REPORT's Max Memory Used counts every process of the environment (the cgroup's
    peak), so a child process's allocation shows although the runtime stays small."""
    name = create_adversary(client, "iso-peak", MemorySize=512)
    used = []
    for mb in (40, 200):
        inv = h.invoke(client, name, {"action": "child_alloc", "mb": mb}, LogType="Tail")
        assert inv.function_error is None and inv.json["child_rc"] == 0, inv.payload
        used.append(int(re.search(r"Max Memory Used: (\d+) MB", inv.log).group(1)))
    # The second ran in the same environment (no init), whose peak is read again after
    # each invocation: it rose with the larger allocation.
    assert "Init Duration" not in inv.log, inv.log
    assert 40 <= used[0] < 200 and 200 <= used[1] <= 512, used
