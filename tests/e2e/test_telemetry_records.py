"""The Telemetry API's records beyond a clean init (docs/telemetry.md): an external
extension from a layer subscribes to `platform`, `function` and `extension` records and
prints, to its output (the function's log stream), what it receives. Its own output
comes back as `extension` records (on both sandboxes the extensions write to a pipe of
their own), `platform.runtimeDone` carries
`producedBytes` and its spans, and a failed init's records reach it before the
environment goes. The same extension on the older Logs API (2020-08-15) gets its records
too."""


import hearth_e2e as h

EXTENSION = r'''#!/usr/bin/env python3
import json, os, sys, threading, time, urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
api = os.environ["AWS_LAMBDA_RUNTIME_API"]
base = "http://" + api + "/2020-01-01/extension/"
def say(text):
    print("[recext] " + text, flush=True)
class Listener(BaseHTTPRequestHandler):
    def do_POST(self):
        batch = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if any(r["type"] == "platform.initReport" and r["record"]["status"] != "success"
               for r in batch):
            # Slow to take a failed init's records: they must still arrive before the
            # runtime, answered, exits and takes the environment's processes with it.
            time.sleep(0.5)
        for r in batch:
            rec, kind = r["record"], r["type"]
            if kind in ("function", "extension"):
                if isinstance(rec, str) and ("hello" in rec or "handler says" in rec) and "got" not in rec:
                    say("got %s %s" % (kind, rec))
            elif kind == "platform.runtimeDone":
                say("got runtimeDone %s producedBytes=%s spans=%s" % (rec["status"],
                    rec["metrics"].get("producedBytes"),
                    ",".join(s["name"] for s in rec.get("spans", []))))
            elif kind in ("platform.initRuntimeDone", "platform.initReport"):
                say("got %s %s %s" % (kind, rec["status"], rec.get("errorType", "-")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
server = HTTPServer(("127.0.0.1", 0), Listener)
threading.Thread(target=server.serve_forever, daemon=True).start()
req = urllib.request.Request(base + "register", method="POST",
    data=json.dumps({"events": ["INVOKE", "SHUTDOWN"]}).encode(),
    headers={"Lambda-Extension-Name": "recext"})
with urllib.request.urlopen(req) as r:
    ext_id = r.headers["Lambda-Extension-Identifier"]
subscription = {"schemaVersion": "2022-12-13", "types": ["platform", "function", "extension"],
    "buffering": {"timeoutMs": 25},
    "destination": {"protocol": "HTTP",
                    "URI": "http://sandbox.localdomain:%d/t" % server.server_address[1]}}
req = urllib.request.Request("http://" + api + "/2022-07-01/telemetry", method="PUT",
    data=json.dumps(subscription).encode(), headers={"Lambda-Extension-Identifier": ext_id})
urllib.request.urlopen(req).read()
say("hello")
open("/tmp/recext-subscribed-" + os.environ["MARK"], "w").close()
while True:
    req = urllib.request.Request(base + "event/next", headers={"Lambda-Extension-Identifier": ext_id})
    with urllib.request.urlopen(req) as r:
        event = json.load(r)
    if event["eventType"] == "SHUTDOWN":
        say("SHUTDOWN")
        sys.exit(0)
'''

HANDLER = "def handler(event, context):\n    print('handler says', event['n'])\n    return event\n"

# Fails its init once the extension has subscribed (so that it hears of the failure).
FAILING = ("import os, time\n"
           "while not os.path.exists('/tmp/recext-subscribed-' + os.environ['MARK']):\n"
           "    time.sleep(0.01)\n"
           "raise RuntimeError('no')\n"
           "def handler(event, context):\n    return event\n")


# The same extension on the older Logs API (2020-08-15, schema 2021-03-18, which adds
# `platform.runtimeDone`): it prints each platform record's type and request id.
LOGS_EXTENSION = EXTENSION.replace(
    '"/2022-07-01/telemetry"', '"/2020-08-15/logs"').replace(
    '{"schemaVersion": "2022-12-13", "types": ["platform", "function", "extension"],',
    '{"schemaVersion": "2021-03-18", "types": ["platform", "function"],').replace(
    '''            elif kind == "platform.runtimeDone":''',
    '''            elif kind in ("platform.start", "platform.end", "platform.report"):
                say("got %s %s" % (kind, rec["requestId"]))
            elif kind == "platform.runtimeDone" and "metrics" not in rec:
                say("got logs runtimeDone %s" % rec["status"])
            elif kind == "platform.runtimeDone":''')


def with_extension(client, name: str, handler: str, extension: str = EXTENSION) -> None:
    layer_arn = client.publish_layer_version(
        LayerName=h.unique_name("records-layer"),
        Content={"ZipFile": h.zip_of({"extensions/recext": extension})},
        CompatibleRuntimes=[h.PYTHON])["LayerVersionArn"]
    h.create_function(client, name, None, zip_file=h.zip_of({"app.py": handler}),
                      Layers=[layer_arn], Environment={"Variables": {"MARK": name}})


def test_extension_records_and_runtime_done_spans(server, client):
    name = h.unique_name("records")
    with_extension(client, name, HANDLER)
    inv = h.invoke(client, name, {"n": 12345})
    assert inv.status == 200 and inv.function_error is None, inv
    assert inv.payload == b'{"n": 12345}', inv.payload
    h.update_config(client, name, Environment={"Variables": {"MARK": name, "VV": "2"}})
    h.eventually("the extension gets SHUTDOWN",
               lambda: "[recext] SHUTDOWN" in h.log_messages(server, name))
    got = [m for m in h.log_messages(server, name) if m.startswith("[recext] ")]
    # The extension's own line stays in the log stream as before.
    assert "[recext] hello" in got, got
    got.remove("[recext] hello")
    assert got == [
        "[recext] got extension [recext] hello",
        "[recext] got platform.initRuntimeDone success -",
        "[recext] got platform.initReport success -",
        "[recext] got function handler says 12345",
        "[recext] got runtimeDone success producedBytes=12 spans=responseLatency,responseDuration",
        "[recext] SHUTDOWN",
    ], got


def test_a_failed_init_reaches_the_subscriber(server, client):
    name = h.unique_name("records-fail")
    with_extension(client, name, FAILING)
    inv = h.invoke(client, name, {"n": 1})
    assert inv.status == 200 and inv.function_error == "Unhandled", inv
    # Flushed before the environment went: the extension printed what it got before it
    # was stopped.
    got = [m for m in h.log_messages(server, name) if m.startswith("[recext] got platform.init")]
    # The error type the runtime posted, as the log's INIT_REPORT line has it.
    assert got == [
        "[recext] got platform.initRuntimeDone failure RuntimeError",
        "[recext] got platform.initReport failure RuntimeError",
    ], got
    reports = [m for m in h.log_messages(server, name) if m.startswith("INIT_REPORT")]
    assert reports and reports[0].endswith("\tStatus: error\tError Type: RuntimeError"), reports


def test_the_logs_api_delivers_too(server, client):
    name = h.unique_name("records-logs")
    with_extension(client, name, HANDLER, LOGS_EXTENSION)
    inv = h.invoke(client, name, {"n": 777})
    assert inv.status == 200 and inv.function_error is None, inv
    h.update_config(client, name, Environment={"Variables": {"MARK": name, "VV": "2"}})
    h.eventually("the extension gets SHUTDOWN",
                 lambda: "[recext] SHUTDOWN" in h.log_messages(server, name))
    got = [m for m in h.log_messages(server, name)
           if m.startswith("[recext] ") and m != "[recext] hello"]
    rid = inv.request_id
    assert got == [
        f"[recext] got platform.start {rid}",
        "[recext] got function handler says 777",
        "[recext] got logs runtimeDone success",
        f"[recext] got platform.end {rid}",
        f"[recext] got platform.report {rid}",
        "[recext] SHUTDOWN",
    ], got
