"""Adversarial test function for Hearth's isolation tests (tests/e2e/test_isolation.py).

`adversary.handler` runs one attack on the sandbox, chosen by the event's "action", and
returns a JSON report of what it observed (errno names, exception names, booleans). It never
decides whether the attack "worked": the tests do.

Failures are reported as errno names ("ENOENT", "EACCES", "EROFS", "EPERM", ...) or, for
exceptions without an errno, the exception's type name. Success is "ok".

Every action also returns "env_id" (the log stream name, unique per execution environment)
and "pid" (as this process sees it).

Actions (event fields in brackets):
  identity                          uid/gid/groups, /proc/self/status (capabilities,
                                    NoNewPrivs, Seccomp), hostname, Lambda variables,
                                    rlimits, open descriptors, /etc/passwd
  find [names, roots, skip,         walk the file system for entries with any of `names`
        budget]                     ("$TASK" in a root or path is LAMBDA_TASK_ROOT)
  probe [paths]                     stat / list / read (one non-blocking read) each path
  read [files, dirs, limit]         the text of files and the listing of directories
  write [paths, data, keep,         create each file (removed again unless `keep`) and open
         overwrite]                 each existing `overwrite` file for writing
  procs                             every process visible in /proc
  net [ports, abstract, http]       TCP connect to 127.0.0.1:<port>, connect to abstract unix
                                    sockets, GET paths from the Runtime API, interfaces, their IPv6
                                    addresses and listening sockets of this network namespace
  syscalls                          mount, umount, unshare, setns, chroot, pivot_root, ptrace,
                                    process_vm_readv, keyctl, bpf, name_to_handle_at, setuid,
                                    each in a throwaway child (mount calls in a private mount
                                    namespace when one can be made, so that without a jail
                                    they cannot touch the host's mounts)
  forkbomb [cap, child_seconds]     fork until fork fails (or `cap` children), print a report
                                    line ("ADVERSARY-FORKBOMB {json}"), keep forking until
                                    the invocation times out
  oom [mb]                          allocate and touch `mb` MB, 16 MB at a time
  child_alloc [mb]                  a child process allocates and touches `mb` MB, then exits
  fill_tmp [chunk_mb, max_mb]       write /tmp/fill in chunks until a write fails, then
                                    delete it and check /tmp is usable again
  spin                              busy loop forever
  exit [code]                       the runtime exits at once without answering (a crash)
  conn_flood [count, per_process,   open `count` TCP connections to this environment's
              hold]                 Runtime API from child processes of `per_process` sockets
                                    each (a process has 1024 descriptors), report once all
                                    are opened and leave the children holding them for `hold`
                                    seconds; with "to": "aws_api", to Hearth's AWS API
                                    (AWS_ENDPOINT_URL) instead
  daemon [token, seconds]           leave two daemons behind: a double-forked setsid Python
                                    with `token` in its argv that ignores SIGTERM/SIGHUP, and
                                    a new-session child with an empty environment
"""

import ctypes
import errno
import gc
import json
import os
import resource
import signal
import socket
import stat
import subprocess
import sys
import time

STATUS_FIELDS = ("Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb",
                 "NoNewPrivs", "Seccomp")
ENV_NAMES = ("AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "AWS_LAMBDA_FUNCTION_NAME",
             "AWS_LAMBDA_LOG_STREAM_NAME", "HOME", "PATH")


def err_name(e):
    """An errno name for an OSError, else the exception's type name."""
    if isinstance(e, OSError) and e.errno:
        return errno.errorcode.get(e.errno, "errno%d" % e.errno)
    return type(e).__name__


def attempt(fn, *args):
    try:
        fn(*args)
        return "ok"
    except Exception as e:  # noqa: BLE001 - report whatever happened
        return err_name(e)


def _libc():
    for name in ("libc.so.6", None):
        try:
            return ctypes.CDLL(name, use_errno=True)
        except OSError:
            continue
    raise OSError(errno.ENOENT, "no libc")


def _c_result(rc):
    """'ok' for rc >= 0, else the errno name of the failed libc call."""
    if rc >= 0:
        return "ok"
    e = ctypes.get_errno()
    return errno.errorcode.get(e, "errno%d" % e)


# ---------------------------------------------------------------------------------------------


def identity(event):
    status = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in STATUS_FIELDS:
                status[key] = value.strip()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    fds = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            fds[fd] = os.readlink("/proc/self/fd/" + fd)
        except OSError as e:
            fds[fd] = err_name(e)
    try:
        with open("/etc/passwd") as f:
            passwd = f.read()
    except OSError as e:
        passwd = err_name(e)
    return {
        "uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(), "egid": os.getegid(),
        "groups": os.getgroups(),
        "status": status,
        "hostname": socket.gethostname(),
        "nodename": os.uname().nodename,
        "env": {k: os.environ.get(k) for k in ENV_NAMES},
        "cwd": os.getcwd(),
        "ppid": os.getppid(),
        "nofile": [soft, hard],
        "raise_nofile": attempt(resource.setrlimit, resource.RLIMIT_NOFILE,
                                (hard * 4, hard * 4)),
        "setuid0": attempt(os.setuid, 0),
        "setgid0": attempt(os.setgid, 0),
        "fds": fds,
        "passwd": passwd,
        "prefix": sys.prefix,
        "executable": sys.executable,
        "proc_cgroup": open("/proc/self/cgroup").read(),
        "sched_policy": os.sched_getscheduler(0),
    }


def find(event):
    """Walks `roots` (not following symlinks, not entering `skip`) for entries named in
    `names`, for at most `budget` seconds."""
    names = set(event.get("names", []))
    skip = set(event.get("skip", ["/proc", "/sys"]))
    budget = float(event.get("budget", 20))
    deadline = time.monotonic() + budget
    found, errors = [], {}
    dirs = files = 0
    truncated = False
    stack = [_expand(r) for r in event.get("roots", ["/"])]
    while stack:
        if time.monotonic() > deadline:
            truncated = True
            break
        top = stack.pop()
        dirs += 1
        try:
            with os.scandir(top) as it:
                for entry in it:
                    if entry.name in names:
                        found.append(entry.path)
                    try:
                        is_dir = entry.is_dir(follow_symlinks=False)
                    except OSError:
                        is_dir = False
                    if is_dir:
                        if entry.path not in skip:
                            stack.append(entry.path)
                    else:
                        files += 1
        except OSError as e:
            name = err_name(e)
            errors[name] = errors.get(name, 0) + 1
    return {"found": found, "dirs": dirs, "files": files, "errors": errors,
            "truncated": truncated, "root_listing": sorted(os.listdir("/"))}


def probe_one(path):
    out = {"lexists": os.path.lexists(path)}
    try:
        st = os.stat(path)
        out["stat"] = "ok"
        out["is_dir"] = stat.S_ISDIR(st.st_mode)
    except OSError as e:
        out["stat"] = err_name(e)
        return out
    if out["is_dir"]:
        try:
            out["list"] = sorted(os.listdir(path))[:100]
        except OSError as e:
            out["list"] = err_name(e)
    else:
        try:
            # One non-blocking read: character devices such as /dev/kmsg never end.
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            try:
                out["read"] = "ok"
                out["size"] = len(os.read(fd, 65536))
            finally:
                os.close(fd)
        except OSError as e:
            out["read"] = err_name(e)
    return out


def _expand(path):
    return path.replace("$TASK", os.environ.get("LAMBDA_TASK_ROOT", "/var/task"))


def probe(event):
    return {"paths": {p: probe_one(_expand(p)) for p in event.get("paths", [])}}


def read(event):
    """The text of each of `files` (at most `limit` bytes) and the listing of each of
    `dirs`, or the errno name."""
    limit = int(event.get("limit", 65536))
    files, dirs = {}, {}
    for path in event.get("files", []):
        try:
            with open(path, "rb") as f:
                files[path] = f.read(limit).decode("utf-8", "replace")
        except OSError as e:
            files[path] = {"error": err_name(e)}
    for path in event.get("dirs", []):
        try:
            dirs[path] = sorted(os.listdir(path))
        except OSError as e:
            dirs[path] = {"error": err_name(e)}
    return {"files": files, "dirs": dirs}


def write(event):
    data = event.get("data", "adversary was here\n").encode()
    keep = bool(event.get("keep", False))
    results = {}
    for path in event.get("paths", []):
        path = _expand(path)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except OSError as e:
            results[path] = err_name(e)
            continue
        try:
            os.write(fd, data)
            results[path] = "ok"
        except OSError as e:
            results[path] = "open-ok-write-" + err_name(e)
        finally:
            os.close(fd)
        if not keep:
            attempt(os.remove, path)
    opened = {}
    for path in event.get("overwrite", []):
        path = _expand(path)
        try:
            # Opened for writing only, never written: enough to show the file could change.
            os.close(os.open(path, os.O_WRONLY | os.O_APPEND))
            opened[path] = "ok"
        except OSError as e:
            opened[path] = err_name(e)
    return {"results": results, "overwrite": opened, "tmp_listing": sorted(os.listdir("/tmp"))}


def procs(event):
    seen = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        info = {}
        try:
            with open("/proc/%s/comm" % entry) as f:
                info["comm"] = f.read().strip()
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                info["cmdline"] = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            with open("/proc/%s/status" % entry) as f:
                for line in f:
                    if line.startswith(("PPid:", "Uid:")):
                        key, _, value = line.partition(":")
                        info[key.lower()] = value.split()[0]
        except OSError as e:
            info["error"] = err_name(e)
        seen[entry] = info
    return {"self": os.getpid(), "ppid": os.getppid(), "procs": seen,
            "kill_pid1": attempt(os.kill, 1, 0)}


def net(event):
    ports = {}
    for port in event.get("ports", []):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(2)
        ports[str(port)] = attempt(s.connect, ("127.0.0.1", int(port)))
        s.close()
    ipv6 = {}
    for port in event.get("ports", []):
        try:
            s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        except OSError as e:
            ipv6[str(port)] = err_name(e)
            continue
        s.settimeout(2)
        ipv6[str(port)] = attempt(s.connect, ("::1", int(port)))
        s.close()
    abstract = {}
    for name in event.get("abstract", []):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2)
        abstract[name] = attempt(s.connect, "\0" + name)
        s.close()
    http = {}
    api = os.environ.get("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")
    for path in event.get("http", []):
        http[path] = _http_get(api, path)
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if cols[3] == "0A":  # LISTEN
                        listening.add(int(cols[1].rsplit(":", 1)[1], 16))
        except OSError:
            pass
    try:
        interfaces = sorted(name for _, name in socket.if_nameindex())
    except OSError as e:
        interfaces = err_name(e)
    # Each IPv6 address the kernel gave an interface (a link-local one comes unasked).
    inet6 = {}
    try:
        with open("/proc/net/if_inet6") as f:
            for line in f:
                cols = line.split()
                inet6.setdefault(cols[5], []).append(cols[0])
    except OSError as e:
        inet6 = err_name(e)
    return {"ports": ports, "ipv6": ipv6, "abstract": abstract, "http": http,
            "listening": sorted(listening), "interfaces": interfaces, "inet6": inet6}


def _http_get(hostport, path):
    host, _, port = hostport.rpartition(":")
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect((host, int(port)))
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                   % (path, hostport)).encode())
        data = b""
        while len(data) < 65536:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        status_line = data.split(b"\r\n", 1)[0].decode(errors="replace")
        parts = status_line.split()
        return {"status": int(parts[1]) if len(parts) > 1 else None,
                "body": data.split(b"\r\n\r\n", 1)[-1][:200].decode(errors="replace")}
    except Exception as e:  # noqa: BLE001
        return {"error": err_name(e)}
    finally:
        s.close()


# --- privileged system calls, each tried in a throwaway child process -------------------------

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MNT_DETACH = 2
MS_REC = 0x4000
MS_PRIVATE = 0x40000
PTRACE_TRACEME = 0
PTRACE_ATTACH = 16
PTRACE_DETACH = 17
SYS_PIVOT_ROOT = 155   # x86_64
SYS_BPF = 321          # x86_64
SYS_KEYCTL = 250       # x86_64
SYS_NAME_TO_HANDLE_AT = 303  # x86_64
SYS_PROCESS_VM_READV = 310   # x86_64
KEYCTL_GET_KEYRING_ID = 0
KEY_SPEC_SESSION_KEYRING = -3


def _in_child(fn):
    """Runs fn() in a forked child (so a call that works cannot change this runtime) and
    returns what it returned, or the exception's name."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            out = fn()
        except Exception as e:  # noqa: BLE001
            out = "raised-" + err_name(e)
        os.write(w, json.dumps(out).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 4096)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return json.loads(data) if data else "child-died"


def syscalls(event):
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    machine = os.uname().machine
    out = {"machine": machine}

    def private_mounts():
        # Where a mount call could work at all (no jail: the process sandbox, as root), it
        # must not touch the host's mounts: move to a private mount namespace first. In a
        # jail this unshare is refused and the calls below meet the jail's own namespace.
        if libc.unshare(CLONE_NEWNS) == 0:
            libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None)

    def do_mount():
        private_mounts()
        target = "/tmp/adversary-mnt-%d" % os.getpid()
        os.makedirs(target, exist_ok=True)
        rc = libc.mount(b"none", target.encode(), b"tmpfs", 0, None)
        res = _c_result(rc)
        if rc == 0:  # it worked (no jail): do not leave it behind
            libc.umount2(target.encode(), MNT_DETACH)
        attempt(os.rmdir, target)
        return res

    def do_bind_remount_task():
        private_mounts()
        task = os.environ.get("LAMBDA_TASK_ROOT", "/var/task").encode()
        # Remounting /var/task read-write in place: MS_REMOUNT|MS_BIND = 0x20|0x1000.
        return _c_result(libc.mount(None, task, None, 0x20 | 0x1000, None))

    def do_umount_task():
        private_mounts()
        return _c_result(libc.umount2(b"/var/task", MNT_DETACH))

    out["mount"] = _in_child(do_mount)
    out["remount_task_rw"] = _in_child(do_bind_remount_task)
    out["umount"] = _in_child(do_umount_task)
    for name, flag in (("user", CLONE_NEWUSER), ("ns", CLONE_NEWNS), ("net", CLONE_NEWNET),
                       ("pid", CLONE_NEWPID), ("uts", CLONE_NEWUTS), ("ipc", CLONE_NEWIPC)):
        out["unshare_" + name] = _in_child(lambda flag=flag: _c_result(libc.unshare(flag)))

    def do_setns():
        try:
            fd = os.open("/proc/1/ns/net", os.O_RDONLY)
        except OSError as e:
            return "open-" + err_name(e)
        return _c_result(libc.setns(fd, 0))

    def do_setns_self():
        # Our own namespace: only the seccomp filter (or missing capabilities) refuses.
        fd = os.open("/proc/self/ns/net", os.O_RDONLY)
        return _c_result(libc.setns(fd, CLONE_NEWNET))

    out["setns_pid1"] = _in_child(do_setns)
    out["setns_self"] = _in_child(do_setns_self)
    out["chroot"] = _in_child(lambda: _c_result(libc.chroot(b"/tmp")))
    if machine == "x86_64":
        def do_pivot():
            private_mounts()
            return _c_result(libc.syscall(SYS_PIVOT_ROOT, b"/tmp", b"/tmp"))

        def do_keyctl():
            return _c_result(libc.syscall(SYS_KEYCTL, KEYCTL_GET_KEYRING_ID,
                                          KEY_SPEC_SESSION_KEYRING, 0))

        def do_bpf():
            # BPF_MAP_CREATE with a zeroed attribute: EINVAL if the call is reachable.
            attr = ctypes.create_string_buffer(128)
            return _c_result(libc.syscall(SYS_BPF, 0, attr, 128))

        def do_name_to_handle():
            buf = ctypes.create_string_buffer(8 + 128)
            ctypes.c_uint.from_buffer(buf).value = 128
            mount_id = ctypes.c_int()
            return _c_result(libc.syscall(SYS_NAME_TO_HANDLE_AT, -100, b"/var/task", buf,
                                          ctypes.byref(mount_id), 0))

        out["pivot_root"] = _in_child(do_pivot)
        out["keyctl"] = _in_child(do_keyctl)
        out["bpf"] = _in_child(do_bpf)
        out["name_to_handle_at"] = _in_child(do_name_to_handle)
    out["ptrace_traceme"] = _in_child(lambda: _c_result(libc.ptrace(PTRACE_TRACEME, 0, None,
                                                                    None)))
    out["ptrace_attach_child"], out["process_vm_readv_child"] = _ptrace_child(libc)
    out["ptrace_attach_pid1"] = _c_result(libc.ptrace(PTRACE_ATTACH, 1, None, None))
    out["setuid0"] = _in_child(lambda: attempt(os.setuid, 0))
    out["kill_pid1"] = attempt(os.kill, 1, 0)
    return out


def _ptrace_child(libc):
    """PTRACE_ATTACH and process_vm_readv on a child of ours, the same uid: only seccomp
    (or a missing capability/ptrace policy) stands in the way."""
    target = os.fork()
    if target == 0:
        time.sleep(30)
        os._exit(0)
    try:
        rc = libc.ptrace(PTRACE_ATTACH, target, None, None)
        attach = _c_result(rc)
        if rc == 0:
            os.waitpid(target, 0)
            libc.ptrace(PTRACE_DETACH, target, None, None)
        readv = "skipped"
        if os.uname().machine == "x86_64":
            class IoVec(ctypes.Structure):
                _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
            src_buf = ctypes.create_string_buffer(64)
            dst_buf = ctypes.create_string_buffer(64)
            local = IoVec(ctypes.cast(dst_buf, ctypes.c_void_p), 64)
            remote = IoVec(ctypes.cast(src_buf, ctypes.c_void_p), 64)
            readv = _c_result(libc.syscall(SYS_PROCESS_VM_READV, target, ctypes.byref(local),
                                           1, ctypes.byref(remote), 1, 0))
        return attach, readv
    finally:
        os.kill(target, signal.SIGKILL)
        os.waitpid(target, 0)


# --- resource exhaustion ----------------------------------------------------------------------


def forkbomb(event):
    cap = int(event.get("cap", 3000))
    child_seconds = float(event.get("child_seconds", 60))
    gc.disable()
    gc.freeze()
    forked = 0
    errors = {}
    reported = False
    while True:
        if forked < cap:
            try:
                pid = os.fork()
            except OSError as e:
                name = err_name(e)
                errors[name] = errors.get(name, 0) + 1
                pid = None
            if pid == 0:
                # A child holds its pid until it is killed (or `child_seconds` pass).
                try:
                    time.sleep(child_seconds)
                finally:
                    os._exit(0)
            if pid:
                forked += 1
                continue
        if not reported:
            print("ADVERSARY-FORKBOMB " + json.dumps({"forked": forked, "errors": errors}),
                  flush=True)
            reported = True
        # Keep the pressure on until the invocation times out.
        time.sleep(0.01)


def oom(event):
    mb = int(event.get("mb", 1024))
    chunks = []
    for _ in range(max(1, mb // 16)):
        chunks.append(b"\x01" * (16 << 20))  # written, so the pages are really used
    return {"allocated_mb": len(chunks) * 16}


def child_alloc(event):
    mb = int(event.get("mb", 64))
    code = f"b = bytearray({mb} << 20)\nfor i in range(0, len(b), 4096): b[i] = 1\n"
    rc = subprocess.run([sys.executable, "-c", code]).returncode
    return {"child_rc": rc, "allocated_mb": mb}


def fill_tmp(event):
    chunk = b"\xa5" * (int(event.get("chunk_mb", 1)) << 20)
    max_mb = int(event.get("max_mb", 2048))
    st = os.statvfs("/tmp")
    before = {"total_mb": st.f_blocks * st.f_frsize / 2**20,
              "free_mb": st.f_bavail * st.f_frsize / 2**20}
    path = "/tmp/adversary-fill"
    written = 0
    error = None
    with open(path, "wb", buffering=0) as f:
        for _ in range(max_mb):
            try:
                n = f.write(chunk)
            except OSError as e:
                error = err_name(e)
                break
            written += n
            if n < len(chunk):  # a short write: the next one gets the error
                continue
    size_on_disk = os.path.getsize(path)
    os.remove(path)
    # Usable again: a fresh file of a few MB goes in and reads back.
    again = "ok"
    try:
        with open("/tmp/adversary-again", "wb") as f:
            f.write(chunk * 4)
        with open("/tmp/adversary-again", "rb") as f:
            if f.read() != chunk * 4:
                again = "mismatch"
        os.remove("/tmp/adversary-again")
    except OSError as e:
        again = err_name(e)
    return {"error": error, "written": written, "size": size_on_disk, "before": before,
            "again": again}


def exit_now(event):
    os._exit(int(event.get("code", 3)))


def spin(event):
    while True:
        pass


def daemon(event):
    token = str(event.get("token", "adversary-daemon"))
    seconds = str(int(event.get("seconds", 300)))
    sleeper = "import signal, time\n" \
              "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" \
              "signal.signal(signal.SIGHUP, signal.SIG_IGN)\n" \
              "time.sleep(%s)\n" % seconds
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.setsid()
        grandchild = os.fork()
        if grandchild == 0:
            os.close(w)
            # Keeps the inherited stdout/stderr (the environment's log pipe) open.
            os.execv(sys.executable, [sys.executable, "-c", sleeper, token + "-double-fork"])
        os.write(w, str(grandchild).encode())
        os._exit(0)
    os.close(w)
    grandchild = int(os.read(r, 64) or b"0")
    os.close(r)
    os.waitpid(pid, 0)
    # A second one that drops its environment (so it cannot be found by its variables)
    # and sits in a new session.
    popen = subprocess.Popen([sys.executable, "-c", sleeper, token + "-empty-env"], env={},
                             start_new_session=True, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return {"double_fork": grandchild, "new_session": popen.pid}


def conn_flood(event):
    count = int(event.get("count", 3000))
    per_process = int(event.get("per_process", 900))
    hold = float(event.get("hold", 60))
    if event.get("to") == "aws_api":
        # Hearth's AWS API for the function (AWS_ENDPOINT_URL, http://host:port).
        host, port = os.environ["AWS_ENDPOINT_URL"].split("//", 1)[1].rsplit(":", 1)
    else:
        host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].rsplit(":", 1)
    reports = []
    for start in range(0, count, per_process):
        n = min(per_process, count - start)
        r, w = os.pipe()
        if os.fork() == 0:
            os.close(r)
            opened, errors, socks = 0, {}, []
            for _ in range(n):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setblocking(False)
                try:
                    s.connect((host, int(port)))
                except BlockingIOError:
                    pass
                except OSError as e:
                    errors[err_name(e)] = errors.get(err_name(e), 0) + 1
                    s.close()
                    continue
                socks.append(s)
                opened += 1
            os.write(w, json.dumps({"opened": opened, "errors": errors}).encode())
            os.close(w)
            # Holds the sockets while the test looks at the server.
            time.sleep(hold)
            os._exit(0)
        os.close(w)
        reports.append(json.loads(os.read(r, 65536) or b"{}"))
        os.close(r)
    return {"opened": sum(x.get("opened", 0) for x in reports),
            "errors": [x.get("errors") for x in reports if x.get("errors")]}


ACTIONS = {
    "identity": identity,
    "find": find,
    "probe": probe,
    "read": read,
    "write": write,
    "procs": procs,
    "net": net,
    "syscalls": syscalls,
    "forkbomb": forkbomb,
    "oom": oom,
    "child_alloc": child_alloc,
    "fill_tmp": fill_tmp,
    "spin": spin,
    "exit": exit_now,
    "daemon": daemon,
    "conn_flood": conn_flood,
}


def handler(event, context):
    action = event.get("action", "identity") if isinstance(event, dict) else "identity"
    report = ACTIONS[action](event)
    report["action"] = action
    report["env_id"] = context.log_stream_name
    report["pid"] = os.getpid()
    return report
