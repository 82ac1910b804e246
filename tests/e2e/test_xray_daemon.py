"""Each environment's X-Ray daemon: a function finds it at AWS_XRAY_DAEMON_ADDRESS (Lambda's
own 169.254.79.129:2000 in a jail, a loopback port under HEARTH_SANDBOX=process), sends it a
subsegment the way the aws-xray-sdk's UDP emitter does, and Hearth's /metrics (read by
Prometheus's own parser) counts exactly that document received, and a malformed datagram
sent before it dropped. Runs under both sandboxes."""

import io
import json
import os
import re
import time
import zipfile

import pytest
from prometheus_client.parser import text_string_to_metric_families

import hearth_e2e as h

TOKEN = "xray-scrape-secret-0123456789"
PROCESS = os.environ.get("HEARTH_SANDBOX") == "process"

# What aws_xray_sdk.core.emitters.udp_emitter.UDPEmitter does: a non-blocking IPv4 UDP
# socket, the address split from AWS_XRAY_DAEMON_ADDRESS, and each document sent as
# `{"format":"json","version":1}` + "\n" + the entity's JSON. In Lambda the SDK sends
# subsegments of Lambda's own segment, named by _X_AMZN_TRACE_ID's Root and Parent.
FUNCTION = r'''
import json
import os
import secrets
import socket
import time

PROTOCOL_HEADER = '{"format":"json","version":1}'
PROTOCOL_DELIMITER = "\n"


def trace_ids():
    fields = dict(part.split("=", 1) for part in
                  os.environ.get("_X_AMZN_TRACE_ID", "").split(";") if "=" in part)
    root = fields.get("Root") or "1-%08x-%s" % (int(time.time()), secrets.token_hex(12))
    parent = fields.get("Parent") or secrets.token_hex(8)
    return root, parent


def handler(event, context):
    address = os.environ["AWS_XRAY_DAEMON_ADDRESS"]
    ip, port = address.split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(0)
    sock.sendto(b"not a segment document", (ip, int(port)))
    root, parent = trace_ids()
    now = time.time()
    entity = {"name": "work", "id": secrets.token_hex(8), "trace_id": root,
              "parent_id": parent, "start_time": now - 0.01, "end_time": now,
              "type": "subsegment", "namespace": "local"}
    message = "%s%s%s" % (PROTOCOL_HEADER, PROTOCOL_DELIMITER,
                          json.dumps(entity, separators=(",", ":")))
    sock.sendto(message.encode("utf-8"), (ip, int(port)))
    sock.close()
    return {name: os.environ.get(name) for name in (
        "AWS_XRAY_DAEMON_ADDRESS", "_AWS_XRAY_DAEMON_ADDRESS", "_AWS_XRAY_DAEMON_PORT",
        "AWS_XRAY_CONTEXT_MISSING")}
'''


def function_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", FUNCTION)
    return buf.getvalue()


@pytest.fixture(scope="module")
def server(tmp_path_factory, runtimes_dir):
    base = tmp_path_factory.mktemp("xray")
    (base / "data").mkdir()
    srv = h.HearthServer(base / "data", runtimes_dir, base,
                         env={"HEARTH_METRICS_TOKEN": TOKEN})
    srv.start()
    yield srv
    srv.stop_cleanly()


def xray_counts(server, name):
    """(received, dropped) for function `name` on /metrics, None where absent."""
    status, _, body = h.http_request(f"{server.endpoint}/metrics",
                                     headers={"Authorization": f"Bearer {TOKEN}"},
                                     sign=False)
    assert status == 200, body
    labels = {"account": h.ACCOUNT, "function": name}
    got = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            if s.labels == labels:
                got[s.name] = s.value
    return (got.get("hearth_xray_segments_received_total"),
            got.get("hearth_xray_segments_dropped_total"))


def test_a_functions_segment_reaches_the_daemon(server):
    client = h.lambda_client(server.endpoint)
    name = h.unique_name("xray")
    h.create_function(client, name, zip_file=function_zip())
    seen = h.invoke_ok(client, name, {})

    if PROCESS:
        assert re.fullmatch(r"127\.0\.0\.1:\d+", seen["AWS_XRAY_DAEMON_ADDRESS"]), seen
        ip, port = seen["AWS_XRAY_DAEMON_ADDRESS"].split(":")
        assert port != "0"
    else:
        # Lambda's own address, on the loopback of the environment's namespace.
        ip, port = "169.254.79.129", "2000"
        assert seen["AWS_XRAY_DAEMON_ADDRESS"] == "169.254.79.129:2000"
    assert seen == {"AWS_XRAY_DAEMON_ADDRESS": f"{ip}:{port}",
                    "_AWS_XRAY_DAEMON_ADDRESS": ip,
                    "_AWS_XRAY_DAEMON_PORT": port,
                    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR"}

    # The datagrams were sent before the function answered; the daemon reads them on its
    # own task, so the count may trail the answer by a moment.
    deadline = time.monotonic() + 10
    while xray_counts(server, name)[0] != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    # Sent first from the same socket, the malformed one was read (and dropped) first.
    assert xray_counts(server, name) == (1, 1)
    # A second invocation of the same warm environment: the same daemon, counts grow.
    h.invoke_ok(client, name, {})
    deadline = time.monotonic() + 10
    while xray_counts(server, name)[0] != 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert xray_counts(server, name) == (2, 2)
