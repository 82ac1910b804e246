"""A fleet (issue 21, docs/fleet.md): nodes that share one store register themselves,
heartbeat, list each other, and count a silent node as gone.

The embedded store is a fleet of one. The PostgreSQL tests start a private PostgreSQL
cluster (Debian's package, run as the `postgres` user, reachable only through a Unix
socket in a temporary directory) and several `hearth server` nodes on it, each with its
own data directory and the same server key.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request

import pytest

import hearth_e2e as h
from hearth_fleet import fleet, nodes, postgres  # noqa: F401 (fixtures)

# How environments are isolated plays no part here (or the tests choose their sandbox
# themselves): run once, in the jail pass, not again under the process sandbox
# (scripts/test.sh).
pytestmark = pytest.mark.sandbox_neutral


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
        assert 0 < me["info"]["memoryAvailableMb"] <= me["info"]["memoryMb"], me
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


# ---------------------------------------------------------------------------------------------
# Placement, forwarding and draining (docs/fleet.md, "Where a synchronous invoke runs")

# Answers which environment ran it (a random id made at import, once per environment) and
# how many invocations that environment has run; sleeps when asked.
ENV_APP = """
import time, uuid
ENV = uuid.uuid4().hex
COUNT = 0

def handler(event, context):
    global COUNT
    COUNT += 1
    time.sleep(event.get("sleep", 0))
    return {"env": ENV, "count": COUNT, "requestId": context.aws_request_id}
"""


def env_zip() -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", ENV_APP)
    return buf.getvalue()


def concurrency(node) -> dict:
    status, _, body = node.get("/_hearth/concurrency")
    assert status == 200, body
    return json.loads(body)


def node_id(node) -> str:
    return next(n["id"] for n in nodes(node) if n["thisNode"])


def views_refreshed():
    """Each node's placement view is the one of its last heartbeat (1 s in these tests):
    two heartbeats later every node has read the store's nodes again."""
    time.sleep(2.5)


def test_invokes_run_on_the_functions_home_node_and_move_when_it_drains(fleet):
    a, b, c = fleet.add(), fleet.add(), fleet.add()
    everyone = (a, b, c)
    clients = [h.lambda_client(n.endpoint) for n in everyone]
    assert h.wait_until(lambda: all(len([m for m in nodes(n) if m["state"] == "alive"]) == 3
                                    for n in everyone), timeout=10)
    assert all(n["info"]["maxConcurrency"] >= 1 and n["info"]["scheme"] == "http"
               for n in nodes(a)), nodes(a)
    views_refreshed()
    name = h.unique_name("home")
    h.create_function(clients[0], name, zip_file=env_zip(), Timeout=60)
    # Through A, B and C in turn: one environment fleet-wide answers them all (without
    # forwarding each node would start its own).
    answers = [h.invoke(clients[i % 3], name, {}) for i in range(30)]
    assert all(r.status == 200 and r.function_error is None for r in answers), answers
    assert {r.json["env"] for r in answers} == {answers[0].json["env"]}, answers
    assert [r.json["count"] for r in answers] == list(range(1, 31)), answers
    # The function sees the request id its caller got, whichever node ran it.
    assert all(r.json["requestId"] == r.request_id for r in answers), answers
    env0 = answers[0].json["env"]
    idle = {n.port: concurrency(n)["idle"] for n in everyone}
    homes = [n for n in everyone if idle[n.port] == 1]
    assert len(homes) == 1 and sum(idle.values()) == 1, idle
    home = homes[0]
    others = [n for n in everyone if n is not home]
    # A forwarded invoke keeps the local invoke's answer: a log tail, an error.
    tail = h.invoke(h.lambda_client(others[0].endpoint), name, {}, LogType="Tail")
    assert tail.status == 200 and "START RequestId: " + tail.request_id in tail.log, tail
    assert tail.executed_version == "$LATEST", tail

    # An invocation running on the home when it is drained finishes there.
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        slow = pool.submit(h.invoke, h.lambda_client(others[0].endpoint), name, {"sleep": 4})
        assert h.wait_until(lambda: concurrency(home)["busy"] == 1, timeout=10)
        home_id = node_id(home)
        out = h.hearth_cli("nodes", "drain", home_id, "--endpoint", others[1].endpoint).stdout
        assert "draining" in out, out
        assert {n["id"]: n["state"] for n in nodes(a)}[home_id] == "draining"
        text = h.hearth_cli("nodes", "--endpoint", a.endpoint).stdout
        assert any(line.startswith(home_id) and " draining " in line
                   for line in text.splitlines()), text
        done = slow.result(timeout=60)
        assert done.status == 200 and done.function_error is None, done
        assert done.json["env"] == env0, done
    views_refreshed()
    # The home's environment is warm and idle, yet nothing goes there: through every node
    # (the drained one too) the invokes run in one environment elsewhere.
    moved = [h.invoke(clients[i % 3], name, {}) for i in range(12)]
    assert all(r.status == 200 and r.function_error is None for r in moved), moved
    assert {r.json["env"] for r in moved} == {moved[0].json["env"]}, moved
    assert moved[0].json["env"] != env0, moved
    assert concurrency(home)["idle"] == 1, concurrency(home)
    # Undrained, its home takes its invokes again (its environment is still warm).
    h.hearth_cli("nodes", "undrain", home_id, "--endpoint", a.endpoint)
    views_refreshed()
    back = [h.invoke(clients[i % 3], name, {}) for i in range(6)]
    assert {r.json["env"] for r in back} == {env0}, back
    # A function's error comes back through the forwarding node as it left the home.
    failed = h.invoke(h.lambda_client(others[0].endpoint), name, {"sleep": "x"})
    assert failed.status == 200 and failed.function_error == "Unhandled", failed
    assert "TypeError" in failed.payload.decode(), failed


def fleet_secret(node) -> bytes:
    """The forwarding secret every node derives from the fleet's server key."""
    import hashlib
    import hmac

    key = (node.data_dir / "server.key").read_bytes()
    return hmac.new(key, b"hearth fleet forwarding", hashlib.sha256).digest()


def forward(node, secret: bytes | None, function: str, body: bytes = b"{}",
            time_ms: int | None = None, signed_body: bytes | None = None):
    """POST /_hearth/fleet/invoke as another node would, signed with `secret` (None: not
    signed); `signed_body` signs other bytes than those sent."""
    import hashlib
    import hmac

    fields = {
        "x-hearth-fleet-time": str(time_ms if time_ms is not None else int(time.time() * 1000)),
        "x-hearth-fleet-from": "node-test",
        "x-hearth-fleet-request-id": f"forged-{time.time_ns()}",
        "x-hearth-fleet-caller": "arn:aws:iam::000000000000:root",
        "x-hearth-fleet-function": function,  # a key: the bare name in the default account
        "x-hearth-fleet-qualifier": "$LATEST",
        "x-amz-log-type": "None",
    }
    headers = dict(fields)
    if secret is not None:
        parts = ["HEARTH-FLEET-1", "POST", "/_hearth/fleet/invoke",
                 *[fields[k] for k in ("x-hearth-fleet-time", "x-hearth-fleet-from",
                                       "x-hearth-fleet-request-id", "x-hearth-fleet-caller",
                                       "x-hearth-fleet-function", "x-hearth-fleet-qualifier",
                                       "x-amz-log-type")],
                 "", hashlib.sha256(signed_body if signed_body is not None else body).hexdigest()]
        mac = hmac.new(secret, digestmod=hashlib.sha256)
        for p in parts:
            mac.update(len(p.encode()).to_bytes(8, "big") + p.encode())
        headers["x-hearth-fleet-signature"] = mac.hexdigest()
    return h.http_request(f"{node.endpoint}/_hearth/fleet/invoke", method="POST", body=body,
                          headers=headers, sign=False)


def test_forwards_must_be_signed_with_the_fleets_key_and_fresh(fleet):
    a = fleet.add()
    name = h.unique_name("forged")
    h.create_function(h.lambda_client(a.endpoint), name, zip_file=env_zip())
    secret = fleet_secret(a)
    # Signed with the fleet's key: run here, answered as an invoke.
    status, headers, body = forward(a, secret, name)
    assert status == 200, body
    assert json.loads(body)["count"] == 1
    # Unsigned, another key, a body that is not the signed one, stale: 403, nothing ran.
    for forged in (forward(a, None, name),
                   forward(a, b"\0" * 32, name),
                   forward(a, secret, name, body=b'{"sleep": 0}', signed_body=b"{}"),
                   forward(a, secret, name, time_ms=int(time.time() * 1000) - 120_000)):
        status, headers, body = forged
        assert status == 403, (status, body)
        assert headers.get("x-amzn-errortype", "").startswith("AccessDeniedException"), headers
    assert json.loads(forward(a, secret, name)[2])["count"] == 2


def test_forwards_reach_https_nodes_keyed_on_the_version_run_and_never_run_twice(fleet):
    """Nodes serving HTTPS forward to each other (trusting the certificate they serve,
    shared here); an alias and the version it names share one home; a forward whose node
    dies mid-invoke answers ServiceException and is not run again; a node that cannot be
    reached is passed over (docs/fleet.md, "Forwarding")."""
    import concurrent.futures

    from botocore.exceptions import ClientError

    cert = fleet.tmp / "node0" / "tls" / "self-signed.pem"
    a = fleet.add(["--tls-self-signed", "127.0.0.1"], ca_bundle=cert)
    b = fleet.add(["--tls-cert", cert, "--tls-key", cert.with_suffix(".key")], ca_bundle=cert)
    both = (a, b)
    clients = [h.lambda_client(n.endpoint, verify=str(cert)) for n in both]
    assert h.wait_until(lambda: len([m for m in nodes(a) if m["state"] == "alive"]) == 2,
                        timeout=10)
    assert {n["info"]["scheme"] for n in nodes(a)} == {"https"}, nodes(a)
    views_refreshed()
    name = h.unique_name("https-home")
    h.create_function(clients[0], name, zip_file=env_zip(), Timeout=60)
    version = clients[0].publish_version(FunctionName=name)["Version"]
    # Keyed on the qualifier as invoked, each alias would have its own home: with four,
    # all five keys would share a first node by chance one time in sixteen.
    aliases = ["live", "blue", "green", "canary"]
    for alias in aliases:
        clients[0].create_alias(FunctionName=name, Name=alias, FunctionVersion=version)

    # Through both nodes, by version and by alias: one environment answers them all.
    qualifiers = [version, *aliases]
    answers = [h.invoke(clients[i % 2], name, {}, Qualifier=qualifiers[i // 2 % 5])
               for i in range(20)]
    assert all(r.status == 200 and r.function_error is None for r in answers), answers
    assert {r.json["env"] for r in answers} == {answers[0].json["env"]}, answers
    assert [r.json["count"] for r in answers] == list(range(1, 21)), answers
    assert {r.executed_version for r in answers} == {version}, answers
    idle = {n.port: concurrency(n)["idle"] for n in both}
    assert sorted(idle.values()) == [0, 1], idle
    home, other = (a, b) if idle[a.port] == 1 else (b, a)
    via_other = clients[both.index(other)]

    # The home dies while running a forwarded invoke: its outcome is unknown, so the
    # forwarding node answers ServiceException and does not run it itself.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        slow = pool.submit(h.invoke, via_other, name, {"sleep": 30}, Qualifier="live")
        assert h.wait_until(lambda: concurrency(home)["busy"] == 1, timeout=20)
        home.kill()
        try:
            lost = slow.result(timeout=60)
            raise AssertionError(f"answered after its node died: {lost}")
        except ClientError as e:
            err = e.response["Error"]
            assert err["Code"] == "ServiceException", e.response
            assert "did not answer" in err["Message"], e.response
    assert concurrency(other) == {**concurrency(other), "busy": 0, "idle": 0}, \
        concurrency(other)

    # The dead home is still in the other node's view (its timeout has not passed), but it
    # refuses connections: the invoke runs on the node it reached, in a new environment.
    again = h.invoke(via_other, name, {}, Qualifier="live")
    assert again.status == 200 and again.function_error is None, again
    assert again.json["count"] == 1 and again.json["env"] != answers[0].json["env"], again
    assert "cannot forward an invoke to this node" in other.stderr_tail(), other.stderr_tail()


def test_a_node_whose_certificate_is_not_trusted_is_passed_over(fleet):
    """Two nodes, each with a self-signed certificate of its own and no --fleet-ca: neither
    trusts the other's, so neither can forward to the other. Every invoke still succeeds,
    on the node that received it, and the node that would forward logs why it did not."""
    certs = [fleet.tmp / f"node{i}" / "tls" / "self-signed.pem" for i in range(2)]
    a = fleet.add(["--tls-self-signed", "127.0.0.1"], ca_bundle=certs[0])
    b = fleet.add(["--tls-self-signed", "127.0.0.1"], ca_bundle=certs[1])
    assert certs[0].read_bytes() != certs[1].read_bytes()
    clients = [h.lambda_client(n.endpoint, verify=str(c)) for n, c in zip((a, b), certs)]
    assert h.wait_until(lambda: len([m for m in nodes(a) if m["state"] == "alive"]) == 2,
                        timeout=10)
    views_refreshed()
    name = h.unique_name("untrusted")
    h.create_function(clients[0], name, zip_file=env_zip(), Timeout=60)
    answers = [h.invoke(clients[i % 2], name, {}) for i in range(6)]
    assert all(r.status == 200 and r.function_error is None for r in answers), answers
    # One environment on each node: nothing was forwarded.
    assert len({r.json["env"] for r in answers}) == 2, answers
    assert {concurrency(n)["idle"] for n in (a, b)} == {1}
    logs = a.stderr_tail() + b.stderr_tail()
    refused = [line for line in logs.splitlines() if "cannot forward an invoke" in line]
    assert refused and all("invalid peer certificate" in line for line in refused), logs
