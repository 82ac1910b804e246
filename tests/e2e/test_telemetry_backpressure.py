"""The Telemetry API never makes the function wait for a slow subscriber (issue 19,
docs/telemetry.md "Buffering and delivery"): an extension from a layer subscribes to
`function` records with the smallest buffering (maxItems 1,000) and its listener stalls:
every POST it gets is held, unanswered, until the extension's second INVOKE, then refused
with 500 (so no record is both counted here and given up by Hearth). The function prints
5,000 lines in one invocation: it prints the first 1,500, waits until the listener holds a
POST (a file the listener creates), then prints the rest and answers. Its answer reaching
the test proves it ran to the end while the listener had acknowledged nothing; the test then
invokes again, which releases the listener. The function has a reserved concurrency of 1, so
that second invocation runs in the same environment: with an extension subscribed to INVOKE the
first one is concluded after its answer (its log drained, the extension's next), and until then
the second is throttled and tried again rather than given a new environment.

What the listener got is exact: Hearth keeps at most 2 x maxItems waiting while a batch is
out, so at most 3,000 of the 5,000 lines can be kept and the rest are dropped; a later batch
starts with `platform.logsDropped`, and the function lines delivered plus the
`droppedRecords` reported add up to the 5,000 printed (a batch Hearth gives up after its
retries is counted in a later `logsDropped` too). The delivered lines are one run of
consecutive lines, in order (Hearth keeps the oldest and drops the newest). The extension
prints its findings as one JSON line at SHUTDOWN, after Hearth flushed the subscription."""

import json

from botocore.exceptions import ClientError

import hearth_e2e as h

PRINTED = 5000
BEFORE_STALL = 1500
REASON = "Consumer seems to have fallen behind as it has not acknowledged receipt of logs."

EXTENSION = r'''#!/usr/bin/env python3
import json, os, sys, threading, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
api = os.environ["AWS_LAMBDA_RUNTIME_API"]
base = "http://" + api + "/2020-01-01/extension/"
mark = os.environ["STALL_MARK"]
release = threading.Event()
lock = threading.Lock()
seen = {"order": [], "stalled_posts": 0, "batches": 0, "function": 0, "lines": [],
        "dropped": 0, "dropped_at": [], "reasons": [], "other": []}
def note(what):
    with lock:
        seen["order"].append(what)
class Listener(BaseHTTPRequestHandler):
    def answer(self, status):
        try:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
        except OSError:
            pass  # Hearth gave up waiting for this one: nothing to tell it
    def do_POST(self):
        try:
            body = self.rfile.read(int(self.headers["Content-Length"]))
        except OSError:
            return
        if not release.is_set():
            with lock:
                seen["stalled_posts"] += 1
                first = seen["stalled_posts"] == 1
                if first:
                    seen["order"].append("STALL")
            if first:
                open(mark, "w").close()
            release.wait()
            self.answer(500)
            return
        batch = json.loads(body)
        with lock:
            if seen["batches"] == 0:
                seen["order"].append("ACK")
            for i, r in enumerate(batch):
                if r["type"] == "function":
                    seen["function"] += 1
                    seen["lines"].append(int(r["record"].split()[1]))
                elif r["type"] == "platform.logsDropped":
                    seen["dropped"] += r["record"]["droppedRecords"]
                    seen["dropped_at"].append(i)
                    seen["reasons"].append(r["record"]["reason"])
                else:
                    seen["other"].append(r["type"])
            seen["batches"] += 1
        self.answer(200)
    def log_message(self, *args):
        pass
server = ThreadingHTTPServer(("0.0.0.0", 0), Listener)
server.daemon_threads = True
threading.Thread(target=server.serve_forever, daemon=True).start()
req = urllib.request.Request(base + "register", method="POST",
    data=json.dumps({"events": ["INVOKE", "SHUTDOWN"]}).encode(),
    headers={"Lambda-Extension-Name": "slowext"})
with urllib.request.urlopen(req) as r:
    ext_id = r.headers["Lambda-Extension-Identifier"]
subscription = {"schemaVersion": "2022-12-13", "types": ["function"],
    "buffering": {"maxItems": 1000, "maxBytes": 262144, "timeoutMs": 25},
    "destination": {"protocol": "HTTP",
                    "URI": "http://sandbox.localdomain:%d/" % server.server_address[1]}}
req = urllib.request.Request("http://" + api + "/2022-07-01/telemetry", method="PUT",
    data=json.dumps(subscription).encode(), headers={"Lambda-Extension-Identifier": ext_id})
with urllib.request.urlopen(req) as r:
    subscribed = r.status
invokes = 0
while True:
    req = urllib.request.Request(base + "event/next", headers={"Lambda-Extension-Identifier": ext_id})
    with urllib.request.urlopen(req) as r:
        event = json.load(r)
    if event["eventType"] == "INVOKE":
        invokes += 1
        note("INVOKE " + event["requestId"])
        if invokes == 2:
            release.set()
        continue
    with lock:
        lines = seen.pop("lines")
        seen["contiguous"] = lines == list(range(lines[0], lines[0] + len(lines))) if lines else None
        seen["first_line"] = lines[0] if lines else None
        seen["subscribed"] = subscribed
        print("[slowext] " + json.dumps(seen, sort_keys=True), flush=True)
    try:
        os.remove(mark)
    except OSError:
        pass
    sys.exit(0)
'''

HANDLER = f'''import os, sys, time
def handler(event, context):
    for i in range(event.get("lines", 0)):
        print("line", i)
        if i == {BEFORE_STALL} - 1:
            sys.stdout.flush()
            # Until the listener holds a POST: the lines already printed are on their way.
            deadline = time.monotonic() + 30
            while not os.path.exists(os.environ["STALL_MARK"]):
                if time.monotonic() > deadline:
                    return {{"stalled": False}}
                time.sleep(0.01)
    sys.stdout.flush()
    return {{"printed": event.get("lines", 0), "stalled": event.get("lines", 0) > 0}}
'''


def invoke_when_free(client, name):
    """Invokes with an empty event once the function's one environment is free (until then
    Lambda answers TooManyRequestsException)."""
    outcome = []

    def attempt():
        try:
            outcome.append(h.invoke(client, name, {}))
        except ClientError as e:
            if e.response["Error"]["Code"] != "TooManyRequestsException":
                raise
        return bool(outcome)

    h.eventually("the second invocation admitted", attempt, timeout=60)
    return outcome[0]


def test_a_stalled_subscriber_neither_blocks_the_function_nor_loses_count(server, client):
    layer_arn = client.publish_layer_version(
        LayerName=h.unique_name("slow-telemetry"),
        Content={"ZipFile": h.zip_of({"extensions/slowext": EXTENSION})},
        CompatibleRuntimes=[h.PYTHON])["LayerVersionArn"]
    name = h.unique_name("tel-slow")
    # Unique per function: on the process sandbox /tmp is the host's.
    mark = f"/tmp/{name}.stalled"
    h.create_function(client, name, None, zip_file=h.zip_of({"app.py": HANDLER}),
                      Layers=[layer_arn], Timeout=60,
                      Environment={"Variables": {"STALL_MARK": mark}})
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    first = h.invoke(client, name, {"lines": PRINTED})
    assert first.status == 200 and first.function_error is None, first
    # The function printed every line and answered while the listener held a POST.
    assert json.loads(first.payload) == {"printed": PRINTED, "stalled": True}
    # Its second INVOKE releases the listener.
    second = invoke_when_free(client, name)
    assert second.status == 200 and second.function_error is None, second
    assert json.loads(second.payload) == {"printed": 0, "stalled": False}
    # An update retires the environment: the subscription is flushed, then SHUTDOWN.
    h.update_config(client, name, Timeout=61)

    def summary():
        return [m for m in h.log_messages(server, name) if m.startswith("[slowext] ")]

    h.eventually("the extension's summary at SHUTDOWN", summary, timeout=60)
    seen = json.loads(summary()[0][len("[slowext] "):])
    assert seen["subscribed"] == 200, seen
    # Nothing was acknowledged before the second INVOKE, after the first had answered.
    assert seen["order"][-2:] == [f"INVOKE {second.request_id}", "ACK"], seen
    assert sorted(seen["order"][:2]) == sorted(["STALL", f"INVOKE {first.request_id}"]), seen
    assert seen["stalled_posts"] >= 1, seen
    # Drops, reported at the front of a batch with AWS's reason, and every line accounted.
    assert seen["dropped"] > 0, seen
    assert seen["dropped"] >= PRINTED - 3 * 1000, seen
    assert seen["function"] + seen["dropped"] == PRINTED, seen
    assert seen["dropped_at"] and set(seen["dropped_at"]) == {0}, seen
    assert set(seen["reasons"]) == {REASON}, seen
    assert seen["contiguous"] is True, seen
    assert seen["other"] == [], seen
