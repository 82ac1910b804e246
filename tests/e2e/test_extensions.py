"""External extensions (issue 19): executables under `extensions/` in a layer, started
before the runtime of a function created with `Layers=[arn]` through boto3; they register
with the Extensions API, get INVOKE and SHUTDOWN, their output is in the function's log,
their work after the response counts in `Duration`, and one that exits during init fails
it with `Extension.Crash`. Needs the Layers API (PublishLayerVersion) and `/opt`."""

import json

import pytest

import hearth_e2e as h

# Writes each event to its output, which is the function's log stream; after an INVOKE it
# works EXT_POST_MS more before it asks for the next event.
EXTENSION = r'''#!/usr/bin/env python3
import json, os, sys, time, urllib.request
name = os.path.basename(sys.argv[0])
base = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2020-01-01/extension/"
req = urllib.request.Request(base + "register", method="POST",
    data=json.dumps({"events": ["INVOKE", "SHUTDOWN"]}).encode(),
    headers={"Lambda-Extension-Name": name})
with urllib.request.urlopen(req) as r:
    ext_id = r.headers["Lambda-Extension-Identifier"]
    reg = json.load(r)
print("[%s] registered %s %s" % (name, reg["functionName"], reg["functionVersion"]), flush=True)
while True:
    req = urllib.request.Request(base + "event/next", headers={"Lambda-Extension-Identifier": ext_id})
    with urllib.request.urlopen(req) as r:
        event = json.load(r)
    if event["eventType"] == "INVOKE":
        print("[%s] INVOKE %s" % (name, event["requestId"]), flush=True)
        time.sleep(int(os.environ.get("EXT_POST_MS", "0")) / 1000)
    else:
        print("[%s] SHUTDOWN %s" % (name, event["shutdownReason"]), flush=True)
        sys.exit(0)
'''

CRASHER = "#!/bin/sh\necho crashing before next\nexit 1\n"

HANDLER = "def handler(event, context):\n    return event\n"


def layer(client, name: str, files: dict) -> str:
    out = client.publish_layer_version(LayerName=h.unique_name(name),
                                       Content={"ZipFile": h.zip_of(files)},
                                       CompatibleRuntimes=[h.PYTHON])
    return out["LayerVersionArn"]


def function(client, prefix: str, layer_arn: str, **kw) -> str:
    name = h.unique_name(prefix)
    h.create_function(client, name, None, zip_file=h.zip_of({"app.py": HANDLER}),
                      Layers=[layer_arn], **kw)
    return name


@pytest.fixture(scope="module")
def ext_layer(client):
    return layer(client, "ext-layer", {"extensions/e2e-ext": EXTENSION})


def test_an_extension_gets_each_invoke_and_the_shutdown(server, client, ext_layer):
    name = function(client, "ext", ext_layer)
    inv = h.invoke(client, name, {"n": 1}, LogType="Tail")
    assert inv.status == 200 and inv.function_error is None, inv
    assert json.loads(inv.payload) == {"n": 1}
    assert f"[e2e-ext] INVOKE {inv.request_id}" in inv.log, inv.log
    lines = h.log_messages(server, name)
    assert f"[e2e-ext] registered {name} $LATEST" in lines, lines
    assert "EXTENSION Name: e2e-ext\tState: Ready\tEvents: [INVOKE,SHUTDOWN]" in lines, lines
    # An update retires the environment: the extension hears of it before it goes.
    h.update_config(client, name, Environment={"Variables": {"VV": "2"}})
    h.eventually("the extension gets SHUTDOWN",
               lambda: "[e2e-ext] SHUTDOWN spindown" in h.log_messages(server, name))


def test_work_after_the_response_counts_in_duration(server, client, ext_layer):
    name = function(client, "ext-slow", ext_layer,
                    Environment={"Variables": {"EXT_POST_MS": "500"}})
    h.invoke_ok(client, name, {"warm": True})
    inv = h.invoke(client, name, {"n": 2})
    assert inv.status == 200 and inv.function_error is None, inv
    report = f"REPORT RequestId: {inv.request_id}"

    def reported():
        return [m for m in h.log_messages(server, name) if m.startswith(report)]

    h.eventually("the REPORT line", reported)
    duration = float(reported()[0].split("\tDuration: ")[1].split(" ")[0])
    assert duration >= 500, reported()


def test_an_extension_that_exits_during_init_is_extension_crash(server, client):
    crash_layer = layer(client, "ext-crash", {"extensions/crasher": CRASHER})
    name = function(client, "ext-crash", crash_layer)
    inv = h.invoke(client, name, {}, LogType="Tail")
    assert inv.status == 200
    assert inv.function_error == "Unhandled"
    body = json.loads(inv.payload)
    assert body["errorType"] == "Extension.Crash", body
    assert body["errorMessage"].startswith(f"RequestId: {inv.request_id} Error: "), body
    assert "crashing before next" in inv.log, inv.log
    assert "Status: error\tError Type: Extension.Crash" in inv.log, inv.log
