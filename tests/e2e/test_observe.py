"""What Hearth shows of its work, read by real consumers: Prometheus's own text parser
(`prometheus_client`) reads `/metrics` after scripted invocations, with exact counts;
`/metrics` needs the metrics token when requests are signed; the metering `hearth cost`
prices agrees with the REPORT lines of the same invocations."""

import base64
import json
import re
import time
import urllib.parse

import pytest
from prometheus_client.parser import text_string_to_metric_families

import hearth_e2e as h

TOKEN = "scrape-secret-0123456789"


@pytest.fixture(scope="module")
def server(tmp_path_factory, runtimes_dir, zips):
    base = tmp_path_factory.mktemp("observe")
    (base / "data").mkdir()
    srv = h.HearthServer(base / "data", runtimes_dir, base,
                         env={"HEARTH_METRICS_TOKEN": TOKEN})
    srv.start()
    yield srv
    srv.stop_cleanly()


@pytest.fixture(scope="module")
def client(server):
    return h.lambda_client(server.endpoint)


def scrape(server, token=TOKEN):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return h.http_request(f"{server.endpoint}/metrics", headers=headers, sign=False)


def samples(text):
    """{(name, frozenset(labels)): value} of every sample, as Prometheus parses them."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def billed_of(log_result):
    raw = base64.b64decode(log_result).decode()
    return int(re.search(r"Billed Duration: (\d+) ms", raw).group(1))


@pytest.fixture(scope="module")
def workload(client):
    """One function invoked 3 times successfully and once failing, with the billed ms
    of each REPORT line."""
    name = h.unique_name("observe")
    h.create_function(client, name, MemorySize=256)
    billed = []
    for i in range(3):
        inv = h.invoke(client, name, {"n": i}, LogType="Tail")
        assert inv.function_error is None, inv.payload
        billed.append(billed_of(inv.log_result))
    inv = h.invoke(client, name, {"action": "raise", "message": "boom"}, LogType="Tail")
    assert inv.function_error == "Unhandled"
    billed.append(billed_of(inv.log_result))
    return name, billed


def test_prometheus_reads_exact_invocation_counts(server, workload):
    name, _ = workload
    status, headers, body = scrape(server)
    assert status == 200, body
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    got = samples(body.decode())
    fn = {("account", h.ACCOUNT), ("function", name)}

    def value(metric, **labels):
        return got.get((metric, frozenset(fn | set(labels.items()))))

    assert value("hearth_invocations_total", outcome="success") == 3
    assert value("hearth_invocations_total", outcome="error") == 1
    assert value("hearth_invocations_total", outcome="timeout") == 0
    assert value("hearth_invocation_duration_seconds_count") == 4
    assert value("hearth_cold_starts_total") == 1
    assert value("hearth_init_duration_seconds_count") == 1
    assert value("hearth_invocation_memory_used_megabytes_count") == 4
    # The warm environment waits for work; nothing is busy now.
    assert value("hearth_warm_environments") == 1
    assert got[("hearth_environment_starts_total", frozenset({("outcome", "ok")}))] >= 1
    assert ("hearth_host_memory_total_bytes", frozenset()) in got


def test_metrics_need_the_token_when_requests_are_signed(server):
    status, headers, _ = scrape(server, token=None)
    assert status == 401
    assert headers["WWW-Authenticate"] == "Bearer"
    status, _, _ = scrape(server, token="wrong")
    assert status == 401


def test_metering_counts_what_the_report_lines_bill(server, workload):
    name, billed = workload
    today = int(time.time() // 86400)
    query = urllib.parse.urlencode({"from_day": today - 1, "to_day": today + 1,
                                    "function": name})
    status, _, body = h.http_request(f"{server.endpoint}/_hearth/metering?{query}")
    assert status == 200, body
    rows = json.loads(body)["Rows"]
    assert len(rows) == 1, rows
    row = rows[0]
    assert (row["Function"], row["Version"], row["MemoryMB"], row["Architecture"]) == \
        (name, "$LATEST", 256, "x86_64")
    assert row["Requests"] == 4
    assert row["BilledMs"] == sum(billed)
    # The first invocation cold-started: its init is billed with it (and is > 0 ms).
    assert 0 < row["InitBilledMs"] < billed[0]
