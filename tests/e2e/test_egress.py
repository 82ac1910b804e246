"""Function egress (docs/egress.md): what a jailed function may connect to, per policy.

The test makes its own "test host": a network namespace with a veth to this host and an
address out of 198.18.0.0/15 (the benchmarking range, on no real network), running an
HTTP server on two ports, a DNS server, and a stand-in for the metadata service at
169.254.169.254 (routed to the test host, so that a missing block would reach it rather
than time out). The host itself runs TCP listeners on 127.0.0.1 and on every address.
Each probe's positive control (the host reaches the service) runs next to it, so a
refusal means the rules refused, not that nothing was there.

Needs root and the jail (namespaces, veths, nftables); under HEARTH_SANDBOX=process only
the test that the policy is shown as not enforced runs.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import hearth_e2e as h

# Looks at (and changes) the host's firewall, network namespaces and sweeps of what other
# servers left: never run beside other tests' servers (scripts/test.sh runs it alone).
pytestmark = pytest.mark.host_wide

PROCESS = os.environ.get("HEARTH_SANDBOX") == "process"
jail_only = pytest.mark.skipif(PROCESS, reason="the process sandbox enforces no egress policy")

HTTP_PORT, OTHER_PORT, LISTEN_PORT = 8080, 8081, 7000
METADATA = "169.254.169.254"
# Lambda's X-Ray daemon address, on the loopback of every jailed environment (its daemon's
# socket: test_xray_daemon.py); local to the namespace, not an address of the range.
XRAY_DAEMON = "169.254.79.129"
TEST_NAME = "testhost.hearth.test"

# The test host's processes: an HTTP server answering with the port it serves, and a DNS
# server answering TEST_NAME's A record with the test host's address (NXDOMAIN otherwise).
TEST_HOST_SERVERS = r'''
import socket, socketserver, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Server(ThreadingHTTPServer):
    def server_bind(self):
        # HTTPServer's own looks its address up in DNS (getfqdn): nothing to ask here.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

addr, name, metadata = sys.argv[1], sys.argv[2].encode(), sys.argv[3]

def http(bind, port):
    class H(BaseHTTPRequestHandler):
        def do_GET(self):
            body = f"test host {port}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, *a):
            pass
    Server((bind, port), H).serve_forever()

def dns():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    while True:
        q, peer = s.recvfrom(512)
        i, labels = 12, []
        while q[i]:
            labels.append(q[i + 1:i + 1 + q[i]])
            i += 1 + q[i]
        question = q[12:i + 5]
        qtype = q[i + 1:i + 3]
        known = b".".join(labels).lower() == name
        flags = b"\x81\x80" if known else b"\x81\x83"
        answers = b""
        if known and qtype == b"\x00\x01":
            answers = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + socket.inet_aton(addr)
        count = b"\x00\x01" if answers else b"\x00\x00"
        s.sendto(q[:2] + flags + b"\x00\x01" + count + b"\x00\x00\x00\x00" + question + answers, peer)

for bind, port in ((addr, 8080), (addr, 8081), (metadata, 80)):
    threading.Thread(target=http, args=(bind, port), daemon=True).start()
threading.Thread(target=dns, daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
'''


def sh(*args):
    subprocess.run([str(a) for a in args], check=True, capture_output=True, timeout=30)


class TestHost:
    __test__ = False  # a helper, not a test class

    """A network namespace reachable from this host through a veth."""

    def __init__(self):
        tag = secrets.token_hex(3)
        self.ns = f"hearth-e2e-{tag}"
        self.link = f"hxt{tag}"
        octet = int(tag[:2], 16)
        self.addr = f"198.18.{octet}.1"
        self.host_side = f"198.18.{octet}.2"
        self.proc = None

    def start(self):
        sh("ip", "netns", "add", self.ns)
        sh("ip", "link", "add", self.link, "type", "veth", "peer", "name", "eth0",
           "netns", self.ns)
        sh("ip", "addr", "add", f"{self.host_side}/30", "dev", self.link)
        sh("ip", "link", "set", self.link, "up")
        sh("ip", "-n", self.ns, "addr", "add", f"{self.addr}/30", "dev", "eth0")
        sh("ip", "-n", self.ns, "addr", "add", f"{METADATA}/32", "dev", "lo")
        sh("ip", "-n", self.ns, "link", "set", "eth0", "up")
        sh("ip", "-n", self.ns, "link", "set", "lo", "up")
        # The metadata address leads to the test host: reachable from here, so that a
        # function's refusal is the rules', not the address being nowhere.
        sh("ip", "route", "add", f"{METADATA}/32", "via", self.addr)
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, sys.executable, "-c", TEST_HOST_SERVERS,
             self.addr, TEST_NAME, METADATA],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready", self.proc.stderr.read()

    def stop(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
        subprocess.run(["ip", "route", "del", f"{METADATA}/32"], capture_output=True)
        subprocess.run(["ip", "link", "del", self.link], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)


@pytest.fixture(scope="module")
def testhost():
    if PROCESS:
        yield None
        return
    h.require_privileged("root (network namespaces, veths, nftables)",
                         os.geteuid() == 0 and shutil.which("ip") is not None
                         and shutil.which("nft") is not None)
    th = TestHost()
    try:
        th.start()
        yield th
    finally:
        th.stop()


@pytest.fixture(scope="module")
def host_services():
    """TCP listeners on the host: one on 127.0.0.1, one on every address."""
    loop = socket.socket()
    loop.bind(("127.0.0.1", 0))
    loop.listen(64)
    anywhere = socket.socket()
    anywhere.bind(("0.0.0.0", 0))
    anywhere.listen(64)
    yield {"loopback": loop.getsockname()[1], "any": anywhere.getsockname()[1]}
    loop.close()
    anywhere.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, runtimes_dir, zips, testhost):
    base = tmp_path_factory.mktemp("hearth-egress")
    (base / "data").mkdir()
    extra = ["--egress-dns", testhost.addr] if testhost else []
    srv = h.HearthServer(base / "data", runtimes_dir, base, extra_args=extra)
    srv.start()
    yield srv
    srv.stop_cleanly()


@pytest.fixture(scope="module")
def client(server):
    return h.lambda_client(server.endpoint)


def egress(server, name, method="GET", policy=None):
    body = None if policy is None else json.dumps({"Policy": policy}).encode()
    status, _, out = server.get(f"/_hearth/functions/{name}/egress", method=method, body=body)
    return status, json.loads(out)


def make(client, server, policy=None):
    name = h.unique_name("egress")
    h.create_function(client, name, "net.zip", handler="net.handler", Timeout=30)
    if policy is not None:
        status, out = egress(server, name, "PUT", policy)
        assert status == 200, out
    return name


def probe(client, name, **event):
    return h.invoke_ok(client, name, event)


def host_addresses() -> list[str]:
    out = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True,
                         check=True).stdout
    return [line.split()[3].split("/")[0] for line in out.splitlines()
            if not line.split()[3].startswith("127.")]


def range_addresses(out) -> list[str]:
    """A probe's addresses of the environment's own but the X-Ray daemon's."""
    return [a for a in out["addresses"] if a != XRAY_DAEMON]


def environment_addresses(server) -> list[str]:
    """Every environment address of the server's range, from its veths' /31 routes."""
    out = subprocess.run(["ip", "-4", "-o", "route", "show"], capture_output=True, text=True,
                         check=True).stdout
    found = []
    for line in out.splitlines():
        cols = line.split()
        if "dev" in cols and cols[cols.index("dev") + 1].startswith("hh") and "/31" in cols[0]:
            first = cols[0].split("/")[0]
            parts = first.split(".")
            found.append(".".join(parts[:3] + [str(int(parts[3]) + 1)]))
    return found


def reachable(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=3).close()
        return True
    except OSError:
        return False


# ---------------------------------------------------------------------------------------------


@jail_only
def test_all_reaches_the_test_host_by_name_and_address(client, server, testhost):
    name = make(client, server)
    assert egress(server, name) == (200, {"Policy": "all", "Source": "default",
                                          "Enforced": True})
    url = f"http://{testhost.addr}:{HTTP_PORT}/"
    by_name = f"http://{TEST_NAME}:{OTHER_PORT}/"
    out = probe(client, name, http=[url, by_name], dns=[TEST_NAME, "unknown.hearth.test"])
    assert out["http"] == {url: {"status": 200, "body": f"test host {HTTP_PORT}"},
                           by_name: {"status": 200, "body": f"test host {OTHER_PORT}"}}, out
    assert out["dns"] == {TEST_NAME: [testhost.addr],
                          "unknown.hearth.test": "gaierror:EAI_NONAME"}, out
    # One address of the range (besides the X-Ray daemon's on lo) and a route through the
    # host's end of the veth.
    assert XRAY_DAEMON in out["addresses"], out
    assert len(range_addresses(out)) == 1 and out["gateway"], out
    # Each veth is made with one queue each way (the kernel's default, one per CPU cut
    # down to one afterwards, holds its RTNL lock through an RCU grace period per link).
    _, prefix = network_names(server.data_dir)
    links = subprocess.run(["ip", "-d", "-o", "link", "show"], capture_output=True, text=True,
                           check=True).stdout
    veths = [line for line in links.splitlines() if f": {prefix}" in line]
    assert veths, links
    for line in veths:
        assert " numtxqueues 1 numrxqueues 1 " in line, line


@jail_only
def test_none_reaches_nothing_outside(client, server, testhost):
    name = make(client, server, "none")
    assert egress(server, name) == (200, {"Policy": "none", "Source": "function",
                                          "Enforced": True})
    out = probe(client, name, tcp=[[testhost.addr, HTTP_PORT]], dns=[TEST_NAME])
    assert out["tcp"] == {f"{testhost.addr}:{HTTP_PORT}": "EHOSTUNREACH"}, out
    assert out["dns"][TEST_NAME].startswith("gaierror:"), out
    # The jail's own listeners are inside its namespace and still answer.
    assert probe(client, name, tcp=[["127.0.0.1", 9001], ["127.0.0.1", 9002]])["tcp"] == {
        "127.0.0.1:9001": "ok", "127.0.0.1:9002": "ok"}


@jail_only
def test_an_allowlist_opens_exactly_what_it_lists(client, server, testhost):
    name = make(client, server, f"tcp:{testhost.addr}:{HTTP_PORT}")
    assert egress(server, name) == (200, {"Policy": f"tcp:{testhost.addr}:{HTTP_PORT}",
                                          "Source": "function", "Enforced": True})
    out = probe(client, name, tcp=[[testhost.addr, HTTP_PORT], [testhost.addr, OTHER_PORT],
                                   [METADATA, 80]],
                dns=[TEST_NAME])
    assert out["tcp"] == {f"{testhost.addr}:{HTTP_PORT}": "ok",
                          f"{testhost.addr}:{OTHER_PORT}": "EHOSTUNREACH",
                          f"{METADATA}:80": "EHOSTUNREACH"}, out
    # The resolvers stay reachable under an allowlist.
    assert out["dns"] == {TEST_NAME: [testhost.addr]}, out
    # A whole network with every port.
    net = testhost.addr.rsplit(".", 1)[0] + ".0/30"
    wide = make(client, server, net)
    out = probe(client, wide, tcp=[[testhost.addr, HTTP_PORT], [testhost.addr, OTHER_PORT]])
    assert out["tcp"] == {f"{testhost.addr}:{HTTP_PORT}": "ok",
                          f"{testhost.addr}:{OTHER_PORT}": "ok"}, out


@jail_only
def test_no_policy_reaches_the_host_metadata_or_the_hearth_port(client, server, testhost,
                                                                 host_services):
    everything = make(client, server, "0.0.0.0/0")
    default = make(client, server)
    gateway = probe(client, default)["gateway"]
    # Hearth listens on 127.0.0.1; a service on every address stands for a Hearth
    # listening on 0.0.0.0, reached through the environment's gateway or any host address.
    targets = [("127.0.0.1", host_services["loopback"]), ("127.0.0.1", server.port),
               (METADATA, 80), (gateway, host_services["any"])]
    targets += [(a, host_services["any"]) for a in host_addresses()]
    # Positive controls: from the host, every one of these answers (the loopback ones on
    # the host's loopback).
    for host, port in targets:
        assert reachable(host, port), f"control: the host cannot reach {host}:{port}"
    for name in (default, everything):
        out = probe(client, name, tcp=[[t, p] for t, p in targets])
        for (host, port) in targets:
            got = out["tcp"][f"{host}:{port}"]
            if host.startswith("127."):
                # The jail's own loopback, where nothing listens on those ports.
                assert got == "ECONNREFUSED", (name, host, port, out)
            else:
                assert got == "EHOSTUNREACH", (name, host, port, out)


@jail_only
def test_one_environment_cannot_reach_another(client, server, testhost):
    listener = make(client, server)
    visitor = make(client, server, "0.0.0.0/0")
    probe(client, visitor)  # started ahead, so that its cold start is not in the window
    result = {}

    def listen():
        result["out"] = probe(client, listener, listen={"port": LISTEN_PORT, "seconds": 6})

    t = threading.Thread(target=listen)
    t.start()
    deadline = time.monotonic() + 20
    others = []
    while time.monotonic() < deadline and len(others) < 2:
        others = environment_addresses(server)
        time.sleep(0.2)
    time.sleep(2)
    out = probe(client, visitor, tcp=[[a, LISTEN_PORT] for a in environment_addresses(server)])
    t.join()
    listened = result["out"]["listen"]
    assert listened["self"] == "ok", result
    assert listened["start"] < out["time"] < listened["end"], (listened, out)
    assert range_addresses(result["out"])[0] in [k.split(":")[0] for k in out["tcp"]], out
    for target, got in out["tcp"].items():
        mine = target.split(":")[0] in out["addresses"]
        assert got == ("ECONNREFUSED" if mine else "EHOSTUNREACH"), (target, out)
    assert listened["accepted"] == 0, listened


@jail_only
def test_a_new_policy_applies_to_new_environments(client, server, testhost):
    name = make(client, server)
    target = [[testhost.addr, HTTP_PORT]]
    assert probe(client, name, tcp=target)["tcp"] == {f"{testhost.addr}:{HTTP_PORT}": "ok"}
    assert egress(server, name, "PUT", "none")[0] == 200
    assert probe(client, name, tcp=target)["tcp"] == {
        f"{testhost.addr}:{HTTP_PORT}": "EHOSTUNREACH"}
    assert egress(server, name, "DELETE") == (200, {"Policy": "all", "Source": "default",
                                                    "Enforced": True})
    assert probe(client, name, tcp=target)["tcp"] == {f"{testhost.addr}:{HTTP_PORT}": "ok"}


def test_the_policy_is_shown_set_and_refused_when_invalid(client, server, testhost):
    name = make(client, server)
    enforced = not PROCESS
    status, _, body = server.get(f"/2015-03-31/functions/{name}")
    assert status == 200
    assert json.loads(body)["Hearth"] == {
        "Egress": {"Policy": "all", "Source": "default", "Enforced": enforced},
        "FreshEnv": False}
    assert egress(server, name, "PUT", "tcp:192.0.2.0/24:443, 10.0.0.0/8") == (200, {
        "Policy": "10.0.0.0/8,tcp:192.0.2.0/24:443", "Source": "function",
        "Enforced": enforced})
    status, out = egress(server, name, "PUT", "10.0.0.1/8")
    assert (status, out) == (400, {
        "Type": "User",
        "message": "Invalid egress policy: 10.0.0.1/8 has host bits set "
                   "(the network is 10.0.0.0/8)"})
    missing = h.unique_name("missing")
    assert egress(server, missing) == (404, {
        "Type": "User",
        "Message": f"Function not found: {h.function_arn(missing)}"})
    # The CLI shows and sets it the same way.
    cli = h.hearth_cli("egress", "set", name, "none", "--endpoint", server.endpoint, "--json")
    assert cli.json == {"Policy": "none", "Source": "function", "Enforced": enforced}
    cli = h.hearth_cli("egress", "get", name, "--endpoint", server.endpoint)
    suffix = "" if enforced else "; NOT ENFORCED by this server's sandbox"
    assert cli.stdout.strip() == f"{name}: none (the function's own){suffix}"


def fnv1a(data: bytes) -> int:
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def claimed_range(data_dir: Path) -> str:
    return (data_dir / "jail" / "egress.state").read_text().strip()


def network_names(data_dir: Path) -> tuple[str, str]:
    """The nftables table and the veth name prefix of the server on `data_dir`."""
    digest = fnv1a(str((data_dir / "jail").resolve()).encode())
    return f"hearth_{digest:016x}", f"hh{digest & 0xFFFFFF:06x}x"


def network_of(data_dir: Path, claimed: str) -> dict:
    """What the server on `data_dir` has on the host: its table, its links and the
    `unreachable` route that claims its range `claimed`."""
    table, prefix = network_names(data_dir)
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True,
                            check=True).stdout.split()
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True,
                           check=True).stdout
    routes = subprocess.run(["ip", "route", "show", "type", "unreachable"], capture_output=True,
                            text=True, check=True).stdout.split()
    return {"table": table in tables,
            "links": sum(1 for line in links.splitlines() if f" {prefix}" in line),
            "route": claimed in routes}


@jail_only
def test_a_crashed_servers_network_is_swept_and_a_stopped_one_leaves_nothing(
        tmp_path_factory, runtimes_dir, zips, testhost):
    base = tmp_path_factory.mktemp("hearth-egress-crash")
    data = base / "data"
    data.mkdir()
    srv = h.HearthServer(data, runtimes_dir, base, extra_args=["--egress-dns", testhost.addr])
    srv.start()
    try:
        client = h.lambda_client(srv.endpoint)
        name = make(client, srv)
        out = probe(client, name, tcp=[[testhost.addr, HTTP_PORT]])
        assert out["tcp"] == {f"{testhost.addr}:{HTTP_PORT}": "ok"}, out
        claimed = claimed_range(data)
        during = network_of(data, claimed)
        assert during["table"] and during["route"] and during["links"] >= 1, during
        srv.kill()
        # The environments' namespaces die with their processes, and their veths with
        # them; the table and the range's route stay until the next start.
        assert h.wait_until(lambda: network_of(data, claimed)["links"] == 0, timeout=15)
        assert network_of(data, claimed) == {"table": True, "links": 0, "route": True}
        srv.start()
        client = h.lambda_client(srv.endpoint)
        out = probe(client, name, tcp=[[testhost.addr, HTTP_PORT]])
        assert out["tcp"] == {f"{testhost.addr}:{HTTP_PORT}": "ok"}, out
        assert "removed the egress network an earlier server left" in srv.stderr_tail()
        claimed = claimed_range(data)
        now = network_of(data, claimed)
        assert now["table"] and now["route"] and now["links"] >= 1, now
        srv.stop_cleanly()
        assert network_of(data, claimed) == {"table": False, "links": 0, "route": False}
    finally:
        srv.kill()


def forward_rules(table: str) -> list[dict]:
    """The rules of the FORWARD chain of the test's `ip` table."""
    out = subprocess.run(["nft", "-j", "list", "chain", "ip", table, "FORWARD"],
                         capture_output=True, text=True, check=True).stdout
    return [item["rule"] for item in json.loads(out)["nftables"] if "rule" in item]


@jail_only
def test_a_host_forward_chain_that_drops_by_default_lets_functions_out(
        tmp_path_factory, runtimes_dir, zips, testhost):
    """Docker, ufw and firewalld leave a forward chain whose policy is drop: a packet must
    pass every base chain, so functions would reach nothing. The server opens such chains
    to its environments' veths (its own table still decides what passes) while it runs,
    and takes that back when it stops or, after a crash, at its next start."""
    table = f"hearth_e2e_drop_{secrets.token_hex(3)}"
    sh("nft", "add", "table", "ip", table)
    base = tmp_path_factory.mktemp("hearth-egress-forward-drop")
    data = base / "data"
    data.mkdir()
    srv = h.HearthServer(data, runtimes_dir, base, extra_args=["--egress-dns", testhost.addr])
    try:
        sh("nft", "add", "chain", "ip", table, "FORWARD",
           "{ type filter hook forward priority filter; policy drop; }")
        srv.start()
        ours = network_names(data)[0]
        opened = [r for r in forward_rules(table) if r.get("comment") == ours]
        assert len(opened) == 2, forward_rules(table)
        client = h.lambda_client(srv.endpoint)
        open_name = make(client, srv)
        closed_name = make(client, srv, "none")
        target = f"{testhost.addr}:{HTTP_PORT}"
        assert probe(client, open_name, tcp=[[testhost.addr, HTTP_PORT]])["tcp"] == {
            target: "ok"}
        # The host's chain accepting the veths opens nothing the server's table refuses.
        assert probe(client, closed_name, tcp=[[testhost.addr, HTTP_PORT]])["tcp"] == {
            target: "EHOSTUNREACH"}
        # A crash leaves the rules; the next start replaces them rather than adding more.
        srv.kill()
        srv.start()
        assert len([r for r in forward_rules(table) if r.get("comment") == ours]) == 2
        client = h.lambda_client(srv.endpoint)
        assert probe(client, open_name, tcp=[[testhost.addr, HTTP_PORT]])["tcp"] == {
            target: "ok"}
        srv.stop_cleanly()
        assert forward_rules(table) == []
    finally:
        srv.kill()
        subprocess.run(["nft", "delete", "table", "ip", table], capture_output=True)
