"""The Grafana dashboard in the repository (docs/grafana/hearth.json) imports as Grafana
expects (a `${DS_PROMETHEUS}` input, schemaVersion 36 or later, a `function` variable),
and every metric its queries name is in a real `/metrics` scrape after an invocation,
as Prometheus's own parser reads it."""

import json
import re
import threading
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

import hearth_e2e as h

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "hearth.json"
TOKEN = "dashboard-scrape-0123456789"
# Pressure stall information is a kernel option: without it the gauges are left out
# rather than reported as zero (crates/observe/src/host.rs).
PSI = {"cpu": "hearth_host_cpu_pressure_ratio", "memory": "hearth_host_memory_pressure_ratio",
       "io": "hearth_host_io_pressure_ratio"}


def dashboard():
    return json.loads(DASHBOARD.read_text())


def queried_metrics(dash) -> set:
    """Every `hearth_*` name in the panels' queries, a histogram's `_bucket` series
    named by its family."""
    names = set()
    for panel in dash["panels"]:
        for target in panel.get("targets", []):
            names.update(re.findall(r"\bhearth_[a-z0-9_]+", target["expr"]))
    return names


def test_the_dashboard_imports_with_a_prometheus_input_and_a_function_variable():
    dash = dashboard()
    assert dash["schemaVersion"] >= 36
    assert [(i["name"], i["type"], i["pluginId"]) for i in dash["__inputs"]] == \
        [("DS_PROMETHEUS", "datasource", "prometheus")]
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["function"]["query"]["query"] == \
        "label_values(hearth_invocations_total, function)"
    for panel in dash["panels"]:
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
        assert panel["targets"], panel["title"]
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    # What the dashboard promises to show.
    wanted = {"hearth_invocations_total", "hearth_invocation_duration_seconds_bucket",
              "hearth_init_duration_seconds_bucket", "hearth_cold_starts_total",
              "hearth_throttles_total", "hearth_concurrent_executions",
              "hearth_warm_environments", "hearth_async_queue_depth",
              "hearth_environment_starts_total", "hearth_environment_start_seconds_bucket",
              "hearth_invocation_memory_used_megabytes_bucket", *PSI.values()}
    assert wanted <= queried_metrics(dash)


@pytest.fixture(scope="module")
def server(tmp_path_factory, runtimes_dir, zips):
    base = tmp_path_factory.mktemp("dashboard")
    (base / "data").mkdir()
    srv = h.HearthServer(base / "data", runtimes_dir, base,
                         env={"HEARTH_METRICS_TOKEN": TOKEN})
    srv.start()
    yield srv
    srv.stop_cleanly()


def scrape(server) -> set:
    status, _, body = h.http_request(f"{server.endpoint}/metrics",
                                     headers={"Authorization": f"Bearer {TOKEN}"}, sign=False)
    assert status == 200, body
    return {s.name for family in text_string_to_metric_families(body.decode())
            for s in family.samples}


def test_every_metric_the_dashboard_queries_is_scraped(server):
    """Scraped after an invocation (its environment then waits in the warm pool), and
    while one invocation runs and one asynchronous event waits or runs: the gauges of
    what exists now have no series when nothing is there to count (a queue with a
    message gives the SQS panel its series)."""
    client = h.lambda_client(server.endpoint)
    sqs = h.service_client(server.endpoint, "sqs")
    url = sqs.create_queue(QueueName=h.unique_name("dashboard-q"))["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="waiting")
    name = h.unique_name("dashboard")
    h.create_function(client, name, Timeout=30)
    assert h.invoke(client, name, {"n": 1}).function_error is None
    wanted = queried_metrics(dashboard())
    for kind, metric in PSI.items():
        if not Path(f"/proc/pressure/{kind}").exists():
            wanted.discard(metric)
    # Now the environment that ran waits in the warm pool.
    seen = scrape(server)
    busy = threading.Thread(target=h.invoke, daemon=True,
                            args=(client, name, {"action": "sleep", "seconds": 6}))
    busy.start()
    client.invoke(FunctionName=name, InvocationType="Event",
                  Payload=json.dumps({"action": "sleep", "seconds": 6}).encode())
    missing = wanted - seen
    deadline = time.monotonic() + 5
    while missing and time.monotonic() < deadline:
        seen |= scrape(server)
        missing = wanted - seen
        time.sleep(0.2)
    busy.join(timeout=30)
    assert not missing, f"queried but not scraped: {sorted(missing)}"
