"""`hearth tune`: power tuning on isolated copies of a function.

A CPU-bound Python function is tuned at 128 and 1024 MB. Under the jail (HEARTH_SANDBOX unset
or `jail`) CPU is given in proportion to memory, so 1024 MB must be faster than 128 MB;
with HEARTH_SANDBOX=process CPU is not limited and only the shape of the result and the
cleanup are checked. Whatever the sandbox, no `F-tune-*` copy may outlive a run: not after
a normal end, not after SIGINT in the middle.
"""

import io
import json
import math
import os
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

import hearth_e2e as h

JAILED = os.environ.get("HEARTH_SANDBOX", "jail") == "jail"

PRICES = json.loads((h.REPO / "crates" / "cost" / "data" / "lambda-prices.json").read_text())

# About 30 ms of pure Python at a whole CPU; ten times longer at 128 MB under the jail.
CPU_BOUND = """
def handler(event, context):
    n = int(event.get("n", 300000))
    total = 0
    for i in range(n):
        total += i * i % 7
    return {"total": total}
"""


def cpu_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", CPU_BOUND)
    return buf.getvalue()


@pytest.fixture
def function(client):
    name = h.unique_name("tune")
    h.create_function(client, name, zip_file=cpu_zip(), MemorySize=256, Timeout=60)
    return name


def copies_of(client, name: str) -> list:
    names, marker = [], None
    while True:
        page = client.list_functions(**({"Marker": marker} if marker else {}))
        names += [f["FunctionName"] for f in page["Functions"]
                  if f["FunctionName"].startswith(f"{name}-tune-")]
        marker = page.get("NextMarker")
        if not marker:
            return names


def tune_cmd(server, name: str, *args) -> list:
    return [str(h.HEARTH_BIN), "tune", name, "--endpoint", server.endpoint, *map(str, args)]


def test_tune_measures_each_size_and_deletes_the_copies(server, client, function, tmp_path):
    payload = tmp_path / "event.json"
    payload.write_text('{"n": 300000}')
    chart = tmp_path / "tune.svg"
    out = h.hearth_cli("tune", function, "--payload", payload, "--memory", "128,1024",
                       "--invocations", "5", "--strategy", "balanced", "--chart", chart,
                       "--json", "--endpoint", server.endpoint, timeout=600)
    doc = json.loads(out.stdout)
    assert doc["FunctionName"] == function
    assert doc["Strategy"] == "balanced"
    assert doc["Architecture"] == "x86_64"
    sizes = doc["Sizes"]
    assert [s["MemoryMB"] for s in sizes] == [128, 1024]
    x86 = PRICES["Regions"]["us-east-1"]["x86_64"]
    for s in sizes:
        assert s["Invocations"] == 5
        assert 0 < s["P50Ms"] <= s["P95Ms"]
        # Cost per million, by hand: request + average billed seconds × GB × first tier.
        gb_s = s["AverageBilledMs"] / 1000 * s["MemoryMB"] / 1024
        expected = (x86["RequestsPerMillion"] / 1e6
                    + gb_s * x86["DurationTiers"][0]["PerGbSecond"]) * 1e6
        assert math.isclose(s["CostPerMillion"], expected, rel_tol=1e-9), s
    assert doc["Recommended"] in (128, 1024)
    if JAILED:
        # CPU in proportion to memory: eight times the CPU is faster.
        assert sizes[0]["P50Ms"] > sizes[1]["P50Ms"], sizes
    svg = chart.read_text()
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert svg.count("<circle") == 2
    assert copies_of(client, function) == []
    # The original is untouched.
    assert client.get_function_configuration(FunctionName=function)["MemorySize"] == 256


def test_tune_text_output_has_the_chart_and_a_recommendation(server, client, function):
    out = h.hearth_cli("tune", function, "--memory", "128", "--invocations", "2",
                       "--endpoint", server.endpoint, timeout=300)
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["MEMORY", "P50-MS", "P95-MS", "AVG-BILLED-MS", "$/1M-INVOKES"]
    assert lines[1].split()[:2] == ["128", "MB"]
    assert "recommended (cost): 128 MB" in out.stdout
    # Not a terminal: no progress bar on stderr.
    assert out.stderr == ""
    assert copies_of(client, function) == []


def test_sigint_in_the_middle_deletes_the_copies(server, client, function):
    proc = subprocess.Popen(tune_cmd(server, function, "--memory", "128,1024",
                                     "--invocations", "2000"),
                            env=h.cli_env(server.endpoint), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while not copies_of(client, function):
            assert proc.poll() is None, proc.communicate()
            assert time.time() < deadline, "no tuning copy appeared"
            time.sleep(0.2)
        # Let it get into its invocations.
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, (stdout, stderr)
    assert "interrupted: deleting 1 tuning cop(ies)" in stderr
    assert copies_of(client, function) == []
    assert client.get_function_configuration(FunctionName=function)["State"] == "Active"


def test_a_failing_function_still_leaves_no_copy(server, client, tmp_path):
    name = h.unique_name("tune-err")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    raise ValueError('no')\n")
    h.create_function(client, name, zip_file=buf.getvalue())
    out = h.hearth_cli("tune", name, "--memory", "128,256", "--invocations", "2",
                       "--endpoint", server.endpoint, check=False, timeout=300)
    assert out.rc == 1
    assert f"warming {name}-tune-128-" in out.stderr
    assert copies_of(client, name) == []
