"""The Telemetry API seen by an extension written with the official Rust `lambda-extension`
crate (crates/ext-probe, `hearth-ext-probe`), shipped as a user ships one: the executable
as `extensions/rust-probe` in a layer (PublishLayerVersion through boto3), named in a Python
function's `Layers`. The probe registers for INVOKE and SHUTDOWN, subscribes to `platform`
and `function` records with the crate's listener, and checks what it is sent itself; its
verdicts (the init's, one per invocation, a summary at SHUTDOWN) are lines of its output,
the function's log stream, which this test reads.

The probe is built here with cargo (`cargo build -p hearth-ext-probe`, quick when
`scripts/test.sh`'s `cargo build` already made it) unless HEARTH_EXT_PROBE names a
binary."""

import json
import os
from pathlib import Path

import pytest

import hearth_e2e as h

# Each line names the request id, so that the probe can count them as that invocation's.
# Each line in one write (extensions have a pipe of their own, so the probe's lines cannot
# land inside it; the write keeps the test from depending on that).
HANDLER = ("import sys\n"
           "def handler(event, context):\n"
           "    for i in range(event['lines']):\n"
           "        sys.stdout.write('probe-fn %s %d\\n' % (context.aws_request_id, i))\n"
           "        sys.stdout.flush()\n"
           "    return event\n")


@pytest.fixture(scope="module")
def probe() -> bytes:
    given = os.environ.get("HEARTH_EXT_PROBE")
    if given:
        return Path(given).read_bytes()
    # The artifact's path from cargo itself, wherever CARGO_TARGET_DIR puts it.
    out = h.run(["cargo", "build", "--locked", "--quiet", "-p", "hearth-ext-probe",
                 "--message-format=json-render-diagnostics"], cwd=h.REPO, timeout=900)
    exes = [m["executable"] for m in map(json.loads, out.stdout.splitlines())
            if m.get("reason") == "compiler-artifact" and m.get("executable")
            and m["target"]["name"] == "hearth-ext-probe"]
    assert len(exes) == 1, out
    return Path(exes[0]).read_bytes()


def test_the_rust_lambda_extension_crate_receives_and_checks_the_telemetry(server, client, probe):
    layer_arn = client.publish_layer_version(
        LayerName=h.unique_name("rust-probe"),
        Content={"ZipFile": h.zip_of({"extensions/rust-probe": probe})},
        CompatibleRuntimes=[h.PYTHON])["LayerVersionArn"]
    name = h.unique_name("tel-rust")
    h.create_function(client, name, None, zip_file=h.zip_of({"app.py": HANDLER}),
                      Layers=[layer_arn])
    rids = []
    for lines in (1, 2, 3):
        inv = h.invoke(client, name, {"lines": lines}, LogType="Tail")
        assert inv.status == 200 and inv.function_error is None, inv
        assert json.loads(inv.payload) == {"lines": lines}
        assert f"[ext-probe] INVOKE {inv.request_id}" in inv.log, inv.log
        rids.append(inv.request_id)
    # An update retires the environment: its subscribers are flushed, then SHUTDOWN.
    h.update_config(client, name, Environment={"Variables": {"VV": "2"}})
    h.eventually("the probe gets SHUTDOWN",
               lambda: "[ext-probe] SHUTDOWN spindown" in h.log_messages(server, name))
    got = [m for m in h.log_messages(server, name) if m.startswith("[ext-probe] ")]
    verdicts = [m for m in got if m.startswith("[ext-probe] TELEMETRY ")]
    assert verdicts == [
        "[ext-probe] TELEMETRY init OK records=telemetrySubscription:Subscribed,"
        "extension:Ready,initStart:on-demand,initRuntimeDone:success,initReport:on-demand",
        *(f"[ext-probe] TELEMETRY {rid} OK invoke=yes records=start,runtimeDone:success,"
          f"report:success function={n} naming-id={n}" for n, rid in enumerate(rids, 1)),
        "[ext-probe] TELEMETRY summary invokes=3 verdicts=3 ok=3 init=OK outside=0 dropped=0",
    ], h.log_messages(server, name)
    assert [m for m in got if not m.startswith("[ext-probe] TELEMETRY ")] == [
        *(f"[ext-probe] INVOKE {rid}" for rid in rids),
        "[ext-probe] SHUTDOWN spindown",
    ], got
