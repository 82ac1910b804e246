"""The shutdown phase (issue 19): an environment with an external extension (from a layer)
that goes gets SIGTERM to its runtime, then SHUTDOWN to its extension, when (a) an update
replaces it and (b) the server is stopped with SIGTERM. Both say so on their output, the
function's log stream, which the test reads (after (b), from the server started again on
the same data dir). Asserts presence and order, not times.

The runtime is a `provided.al2023` bootstrap in Python: the managed python3.11's
awslambdaric waits in `next` on its main thread (it polls from a thread, where signals can
be handled, only from python3.12 on), so a handler there would run too late."""

import json

import hearth_e2e as h

RUNTIME = r'''#!/usr/bin/env python3
import os, signal, threading, urllib.request
def on_term(sig, frame):
    print("[runtime] SIGTERM", flush=True)
    os._exit(0)
signal.signal(signal.SIGTERM, on_term)
if os.environ.get("INTERNAL_EXT"):
    # An internal extension: registered from the runtime's process, waiting in `next` on
    # a thread that leaves SIGTERM to the main one.
    ext = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2020-01-01/extension/"
    req = urllib.request.Request(ext + "register", method="POST", data=b'{"events": []}',
                                 headers={"Lambda-Extension-Name": "in-process"})
    with urllib.request.urlopen(req) as r:
        ext_id = r.headers["Lambda-Extension-Identifier"]
    def wait():
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        urllib.request.urlopen(urllib.request.Request(ext + "event/next",
            headers={"Lambda-Extension-Identifier": ext_id})).read()
    threading.Thread(target=wait, daemon=True).start()
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        body = r.read()
    urllib.request.urlopen(urllib.request.Request(api + rid + "/response", data=body,
                                                  method="POST")).read()
'''

EXTENSION = r'''#!/usr/bin/env python3
import json, os, sys, urllib.request
name = os.path.basename(sys.argv[0])
base = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2020-01-01/extension/"
req = urllib.request.Request(base + "register", method="POST",
    data=json.dumps({"events": ["SHUTDOWN"]}).encode(),
    headers={"Lambda-Extension-Name": name})
with urllib.request.urlopen(req) as r:
    ext_id = r.headers["Lambda-Extension-Identifier"]
req = urllib.request.Request(base + "event/next", headers={"Lambda-Extension-Identifier": ext_id})
with urllib.request.urlopen(req) as r:
    event = json.load(r)
print("[%s] %s %s" % (name, event["eventType"], event.get("shutdownReason")), flush=True)
'''

SIGTERM = "[runtime] SIGTERM"
SHUTDOWN = "[e2e-ext] SHUTDOWN spindown"


def graceful_function(client, with_layer: bool = True, **kw) -> str:
    """A function running RUNTIME, with the extension's layer unless `with_layer` is
    false."""
    if with_layer:
        layer = client.publish_layer_version(
            LayerName=h.unique_name("shutdown-ext"),
            Content={"ZipFile": h.zip_of({"extensions/e2e-ext": EXTENSION})})
        kw["Layers"] = [layer["LayerVersionArn"]]
    name = h.unique_name("graceful")
    h.create_function(client, name, None, runtime="provided.al2023", handler="x",
                      zip_file=h.zip_of({"bootstrap": RUNTIME}), **kw)
    return name


def invoked_and_idle(server, client, name: str) -> None:
    """One invocation, whose REPORT (written once the extension is done with it too) is
    in the log: the environment is then idle."""
    inv = h.invoke(client, name, {"n": 1})
    assert inv.status == 200 and inv.function_error is None, inv
    assert json.loads(inv.payload) == {"n": 1}
    report = f"REPORT RequestId: {inv.request_id}"
    h.eventually("the REPORT", lambda: any(m.startswith(report) for m in h.log_messages(server, name)))


def assert_sigterm_then_shutdown(lines: list) -> None:
    assert SIGTERM in lines and SHUTDOWN in lines, lines
    assert lines.index(SIGTERM) < lines.index(SHUTDOWN), lines


def test_an_update_gives_the_runtime_sigterm_then_the_extension_shutdown(server, client):
    name = graceful_function(client)
    invoked_and_idle(server, client, name)
    assert SIGTERM not in h.log_messages(server, name)
    h.update_config(client, name, Environment={"Variables": {"VV": "2"}})
    h.eventually("the extension gets SHUTDOWN", lambda: SHUTDOWN in h.log_messages(server, name))
    assert_sigterm_then_shutdown(h.log_messages(server, name))


def test_an_internal_extension_alone_gets_the_runtime_sigterm(server, client):
    name = graceful_function(client, with_layer=False,
                             Environment={"Variables": {"INTERNAL_EXT": "1"}})
    invoked_and_idle(server, client, name)
    assert "EXTENSION Name: in-process\tState: Ready\tEvents: []" in h.log_messages(server, name)
    h.update_config(client, name, Environment={"Variables": {"INTERNAL_EXT": "2"}})
    h.eventually("the runtime gets SIGTERM", lambda: SIGTERM in h.log_messages(server, name))
    assert SHUTDOWN not in h.log_messages(server, name)


def test_without_extensions_the_runtime_gets_no_sigterm(server, client):
    name = graceful_function(client, with_layer=False)
    invoked_and_idle(server, client, name)
    h.update_config(client, name, Environment={"Variables": {"VV": "2"}})
    # The next invocation runs in a new environment: the old one is gone by then.
    h.invoke_ok(client, name, {"n": 2})
    h.eventually("two INIT_STARTs",
               lambda: sum(m.startswith("INIT_START") for m in h.log_messages(server, name)) == 2)
    assert SIGTERM not in h.log_messages(server, name)


def test_the_servers_stop_runs_the_shutdown_phase(own_server):
    client = h.lambda_client(own_server.endpoint)
    name = graceful_function(client)
    invoked_and_idle(own_server, client, name)
    # Within the phase's limit (2,000 ms) and the server's own stop.
    own_server.stop_cleanly(timeout=20)
    own_server.start()
    assert_sigterm_then_shutdown(h.log_messages(own_server, name))
