"""The Telemetry API (issue 19, docs/telemetry.md): an external extension from a layer
(`Layers=[arn]` through boto3) subscribes to `platform` and `function` records (the
destination `sandbox.localdomain`, its listener on the environment's loopback) and prints what it receives to its output,
the function's log stream. It gets the init's records, each invocation's `platform.start`,
the function's lines, `platform.runtimeDone` and `platform.report`, the last of them
flushed at the shutdown phase before SHUTDOWN. It also checks them itself and prints a
verdict: the init's records in order, for each request id it had an INVOKE for exactly
start, the handler's line, runtimeDone and report, and a summary at SHUTDOWN. In a jail the listener is on the
environment's own loopback, which Hearth reaches through the jail's network namespace."""

import json

import hearth_e2e as h

# Prints each platform record it receives, and each function line the handler printed
# (only those: a line it prints is itself a function record, which must not come back).
EXTENSION = r'''#!/usr/bin/env python3
import json, os, sys, threading, urllib.error, urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
api = os.environ["AWS_LAMBDA_RUNTIME_API"]
base = "http://" + api + "/2020-01-01/extension/"
def say(text):
    print("[telext] " + text, flush=True)
# What it checks: the INVOKEs it had, the init's records, each request id's records, and
# the request whose platform.start came last (the handler's lines are that one's).
lock = threading.Lock()
invoked, init, traces, current = set(), [], {}, [None]
tally = {"verdicts": 0, "ok": 0}
INIT = ["platform.telemetrySubscription", "platform.extension", "platform.initStart",
        "platform.initRuntimeDone:success", "platform.initReport"]
def check(r):
    kind, rec = r["type"], r["record"]
    if kind == "function":
        if current[0] and isinstance(rec, str) and rec.startswith("handler says"):
            traces[current[0]].append("function")
    elif kind in ("platform.telemetrySubscription", "platform.extension", "platform.initStart",
                  "platform.initReport"):
        init.append(kind)
    elif kind == "platform.initRuntimeDone":
        init.append(kind + ":" + rec["status"])
    elif kind == "platform.start":
        traces.setdefault(rec["requestId"], []).append("start")
        current[0] = rec["requestId"]
    elif kind == "platform.runtimeDone":
        traces.setdefault(rec["requestId"], []).append("runtimeDone:" + rec["status"])
        current[0] = None
    elif kind == "platform.report":
        trace = traces.pop(rec["requestId"], []) + ["report:" + rec["status"]]
        ok = rec["requestId"] in invoked and trace == [
            "start", "function", "runtimeDone:success", "report:success"]
        tally["verdicts"] += 1
        tally["ok"] += ok
        say("verdict %s %s %s" % (rec["requestId"], "OK" if ok else "FAIL", ",".join(trace)))
    if kind == "platform.initReport":
        say("verdict init " + ("OK" if init == INIT else "FAIL " + ",".join(init)))
class Listener(BaseHTTPRequestHandler):
    def do_POST(self):
        batch = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        for r in batch:
            rec = r["record"]
            if r["type"] == "function":
                if isinstance(rec, str) and rec.startswith("handler says"):
                    say("got function " + rec)
            elif r["type"] in ("platform.start", "platform.runtimeDone", "platform.report"):
                say("got %s %s %s" % (r["type"], rec["requestId"], rec.get("status", "-")))
            elif r["type"] == "platform.initStart":
                say("got %s %s" % (r["type"], rec["initializationType"]))
            else:
                say("got " + r["type"])
            with lock:
                check(r)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
server = HTTPServer(("127.0.0.1", 0), Listener)
threading.Thread(target=server.serve_forever, daemon=True).start()
req = urllib.request.Request(base + "register", method="POST",
    data=json.dumps({"events": ["INVOKE", "SHUTDOWN"]}).encode(),
    headers={"Lambda-Extension-Name": "telext"})
with urllib.request.urlopen(req) as r:
    ext_id = r.headers["Lambda-Extension-Identifier"]
subscription = {"schemaVersion": "2022-12-13", "types": ["platform", "function"],
    "buffering": {"timeoutMs": 25},
    "destination": {"protocol": "HTTP",
                    "URI": "http://sandbox.localdomain:%d/telemetry" % server.server_address[1]}}
req = urllib.request.Request("http://" + api + "/2022-07-01/telemetry", method="PUT",
    data=json.dumps(subscription).encode(), headers={"Lambda-Extension-Identifier": ext_id})
try:
    with urllib.request.urlopen(req) as r:
        say("subscribed %d %s" % (r.status, r.read().decode()))
except urllib.error.HTTPError as e:
    say("subscribed %d %s" % (e.code, e.read().decode()))
while True:
    req = urllib.request.Request(base + "event/next", headers={"Lambda-Extension-Identifier": ext_id})
    with urllib.request.urlopen(req) as r:
        event = json.load(r)
    if event["eventType"] == "INVOKE":
        with lock:
            invoked.add(event["requestId"])
    if event["eventType"] == "SHUTDOWN":
        with lock:
            say("verdict summary invokes=%d verdicts=%d ok=%d"
                % (len(invoked), tally["verdicts"], tally["ok"]))
        say("SHUTDOWN")
        sys.exit(0)
'''

# Each line in one write (extensions have a pipe of their own, so theirs cannot land inside
# it; the write keeps the test from depending on that).
HANDLER = ("import sys\n"
           "def handler(event, context):\n"
           "    sys.stdout.write('handler says %s\\n' % event['n'])\n"
           "    sys.stdout.flush()\n"
           "    return event\n")


def test_an_extension_from_a_layer_receives_the_telemetry(server, client):
    layer_arn = client.publish_layer_version(
        LayerName=h.unique_name("telemetry-layer"),
        Content={"ZipFile": h.zip_of({"extensions/telext": EXTENSION})},
        CompatibleRuntimes=[h.PYTHON])["LayerVersionArn"]
    name = h.unique_name("telemetry")
    h.create_function(client, name, None, zip_file=h.zip_of({"app.py": HANDLER}),
                      Layers=[layer_arn])
    inv = h.invoke(client, name, {"n": 1})
    assert inv.status == 200 and inv.function_error is None, inv
    assert json.loads(inv.payload) == {"n": 1}
    # An update retires the environment: its subscribers are flushed, then SHUTDOWN.
    h.update_config(client, name, Environment={"Variables": {"VV": "2"}})
    h.eventually("the extension gets SHUTDOWN",
               lambda: "[telext] SHUTDOWN" in h.log_messages(server, name))
    got = [m for m in h.log_messages(server, name) if m.startswith("[telext] ")]
    rid = inv.request_id
    # Its listener's thread may print the first record before its main thread prints the
    # answer to the subscription.
    assert '[telext] subscribed 200 "OK"' in got, got
    got.remove('[telext] subscribed 200 "OK"')
    assert got == [
        "[telext] got platform.telemetrySubscription",
        "[telext] got platform.extension",
        "[telext] got platform.initStart on-demand",
        "[telext] got platform.initRuntimeDone",
        "[telext] got platform.initReport",
        "[telext] verdict init OK",
        f"[telext] got platform.start {rid} -",
        "[telext] got function handler says 1",
        f"[telext] got platform.runtimeDone {rid} success",
        f"[telext] got platform.report {rid} success",
        f"[telext] verdict {rid} OK start,function,runtimeDone:success,report:success",
        "[telext] verdict summary invokes=1 verdicts=1 ok=1",
        "[telext] SHUTDOWN",
    ], got
