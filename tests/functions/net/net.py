"""Network probes for Hearth's egress tests (tests/e2e/test_egress.py).

`net.handler` runs the probes the event lists and reports what each saw; it never decides
whether an outcome is right (the tests do). Errors are errno names (EHOSTUNREACH,
ECONNREFUSED, ...) or the exception's type name; DNS failures are "gaierror:<name>".

Event fields (all optional):
  http     [url, ...]            GET each URL: {"status": N, "body": text} or the error
  tcp      [[host, port], ...]   TCP connect: "ok" or the error
  dns      [name, ...]           IPv4 addresses of each name, or the error
  listen   {"port": P, "seconds": S}
                                 accept TCP connections on 0.0.0.0:P for S seconds and
                                 report when, how many, and whether this environment
                                 reaches its own listener
Always reported: "addresses" (this environment's IPv4 addresses but loopback) and
"gateway" (its default route's gateway, or null), and "time" (when probing began).
"""

import errno
import json
import socket
import time
import urllib.request

TIMEOUT = 4


def _err(e):
    if isinstance(e, socket.gaierror):
        names = [n for n in dir(socket) if n.startswith("EAI_") and getattr(socket, n) == e.errno]
        return "gaierror:" + (names[0] if names else str(e.errno))
    reason = getattr(e, "reason", None)
    if isinstance(reason, BaseException):
        return _err(reason)
    if isinstance(e, OSError) and e.errno in errno.errorcode:
        return errno.errorcode[e.errno]
    return type(e).__name__


def _routes():
    addrs, gateway = [], None
    try:
        with open("/proc/net/route") as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if cols[1] == "00000000":
                    gw = int(cols[2], 16)
                    gateway = socket.inet_ntoa(gw.to_bytes(4, "little"))
    except OSError:
        pass
    try:
        with open("/proc/net/fib_trie") as f:
            lines = f.read().splitlines()
        for i, line in enumerate(lines):
            if "/32 host LOCAL" in line:
                addr = lines[i - 1].split()[-1]
                if not addr.startswith("127.") and addr not in addrs:
                    addrs.append(addr)
    except OSError:
        pass
    return sorted(addrs), gateway


def _tcp(host, port):
    try:
        with socket.create_connection((host, int(port)), timeout=TIMEOUT):
            return "ok"
    except Exception as e:  # noqa: BLE001 - reported, judged by the test
        return _err(e)


def _http(url):
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as r:
            return {"status": r.status, "body": r.read(2000).decode(errors="replace")}
    except Exception as e:  # noqa: BLE001
        return {"error": _err(e)}


def _dns(name):
    try:
        return sorted({a[4][0] for a in socket.getaddrinfo(name, None, socket.AF_INET)})
    except Exception as e:  # noqa: BLE001
        return _err(e)


def _listen(port, seconds):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", int(port)))
    srv.listen(16)
    srv.settimeout(0.2)
    start = time.time()
    own, _ = _routes()
    itself = _tcp(own[0], port) if own else "no-address"
    accepted = -1 if itself == "ok" else 0  # its own connection is not a visitor
    while time.time() - start < seconds:
        try:
            conn, _ = srv.accept()
            conn.close()
            accepted += 1
        except socket.timeout:
            pass
    srv.close()
    return {"start": start, "end": time.time(), "self": itself, "accepted": accepted}


def handler(event, context):
    addresses, gateway = _routes()
    out = {"addresses": addresses, "gateway": gateway, "time": time.time()}
    if "dns" in event:
        out["dns"] = {n: _dns(n) for n in event["dns"]}
    if "tcp" in event:
        out["tcp"] = {f"{h}:{p}": _tcp(h, p) for h, p in event["tcp"]}
    if "http" in event:
        out["http"] = {u: _http(u) for u in event["http"]}
    if "listen" in event:
        out["listen"] = _listen(event["listen"]["port"], event["listen"]["seconds"])
    return json.loads(json.dumps(out))
