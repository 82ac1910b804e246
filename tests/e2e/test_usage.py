"""Host use in metering: a CPU-bound Python function's row has the CPU its environment
really used (`HostCpuMs`, from the jail's cgroup or the process's /proc/<pid>/stat),
about what its REPORT lines say it ran, and memory × time (`HostMemoryMbMs`); with
`--metrics off` the server has no `/metrics` and meters nothing. Runs with the jail (the
default) and with `HEARTH_SANDBOX=process`."""

import io
import json
import re
import time
import urllib.parse
import zipfile

import pytest

import hearth_e2e as h

# 1769 MB buys one full vCPU (Lambda's ratio, which the jail's cgroup applies): CPU
# time then cannot exceed the wall time of the REPORT lines.
MEMORY_MB = 1769
BURN_MS = 400
INVOKES = 3

BURNER = """
import time


def handler(event, context):
    # Spins until this process has used `ms` of CPU: the host's figure has a known floor.
    end = time.process_time() + event["ms"] / 1000
    n = 0
    while time.process_time() < end:
        n += 1
    return {"spins": n}
"""


def burner_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", BURNER)
    return buf.getvalue()


@pytest.fixture(scope="module")
def server(tmp_path_factory, runtimes_dir):
    base = tmp_path_factory.mktemp("usage")
    (base / "data").mkdir()
    srv = h.HearthServer(base / "data", runtimes_dir, base)
    srv.start()
    yield srv
    srv.stop_cleanly()


def metering(server, name):
    today = int(time.time() // 86400)
    query = urllib.parse.urlencode({"from_day": today - 1, "to_day": today + 1,
                                    "function": name})
    status, _, body = h.http_request(f"{server.endpoint}/_hearth/metering?{query}")
    assert status == 200, body
    return json.loads(body)["Rows"]


def report_ms(log: str, field: str) -> float:
    m = re.search(rf"{field}: ([\d.]+) ms", log)
    return float(m.group(1)) if m else 0.0


def test_a_cpu_bound_function_is_metered_its_host_cpu(server):
    client = h.lambda_client(server.endpoint)
    name = h.unique_name("usage")
    h.create_function(client, name, zip_name=None, zip_file=burner_zip(),
                      MemorySize=MEMORY_MB, Timeout=30)
    durations, inits = [], []
    for _ in range(INVOKES):
        inv = h.invoke(client, name, {"ms": BURN_MS}, LogType="Tail")
        assert inv.function_error is None, inv.payload
        durations.append(report_ms(inv.log, "Duration"))
        inits.append(report_ms(inv.log, "Init Duration"))
    rows = metering(server, name)
    assert len(rows) == 1, rows
    row = rows[0]
    assert (row["Version"], row["MemoryMB"], row["Requests"]) == ("$LATEST", MEMORY_MB, INVOKES)
    cpu = row["HostCpuMs"]
    burned = INVOKES * BURN_MS
    ran = sum(durations) + sum(inits)
    # At least what the handler burned (it spins until its own CPU clock says so); at
    # most the time it ran on its one vCPU, plus the runtime's start before init and
    # its work between invocations (generous: a shared machine).
    assert burned * 0.95 <= cpu <= ran + 1500, (cpu, burned, durations, inits)
    # Memory × time: the environment held some MB for at least the time it burned.
    assert row["HostMemoryMbMs"] >= burned, row
    assert row["ProvisionedSeconds"] == 0


def test_metrics_off_has_no_metrics_and_meters_nothing(tmp_path, runtimes_dir):
    (tmp_path / "data").mkdir()
    srv = h.HearthServer(tmp_path / "data", runtimes_dir, tmp_path,
                         env={"HEARTH_METRICS": "off"})
    srv.start()
    try:
        client = h.lambda_client(srv.endpoint)
        name = h.unique_name("usage-off")
        h.create_function(client, name, zip_name=None, zip_file=burner_zip())
        assert h.invoke(client, name, {"ms": 10}).function_error is None
        status, _, _ = h.http_request(f"{srv.endpoint}/metrics", sign=False)
        assert status == 404
        assert metering(srv, name) == []
    finally:
        srv.stop_cleanly()
