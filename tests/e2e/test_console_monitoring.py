"""The console's Monitoring and Cost tabs and the function list's sparklines, in a real browser
(Playwright driving Debian's Chromium, see console_browser.py).

The charts are drawn from the server's own CloudWatch (GetMetricData, as the signed-in
principal) and its cost endpoint; each has a text alternative, which the tests read and
check against what boto3's CloudWatch client and `GET /_hearth/cost` say. Power tuning's
button runs `POST /_hearth/tune/<function>`, the same run as `hearth tune`, whose answer
has the same keys as `hearth tune --json`'s.
"""

import datetime
import json
import math
import re
import time
import urllib.parse

import pytest

import console_browser as cb
import hearth_e2e as h

pytestmark = pytest.mark.sandbox_neutral

browser = cb.browser_fixture()
page = cb.page_fixture()


def invoke_n(client, name: str, ok: int, failing: int) -> None:
    for i in range(ok):
        h.invoke_ok(client, name, {"i": i})
    for _ in range(failing):
        inv = h.invoke(client, name, {"action": "raise", "message": "boom"})
        assert inv.function_error == "Unhandled", inv


def cloudwatch_sum(server, name: str, metric: str) -> float:
    """The metric's sum over the last two hours, as boto3's CloudWatch client reads it."""
    cw = h.service_client(server.endpoint, "cloudwatch")
    now = datetime.datetime.now(datetime.timezone.utc)
    got = cw.get_metric_data(
        MetricDataQueries=[{"Id": "m", "MetricStat": {
            "Metric": {"Namespace": "AWS/Lambda", "MetricName": metric,
                       "Dimensions": [{"Name": "FunctionName", "Value": name}]},
            "Period": 60, "Stat": "Sum"}}],
        StartTime=now - datetime.timedelta(hours=2), EndTime=now + datetime.timedelta(minutes=1))
    return sum(got["MetricDataResults"][0]["Values"])


def latest_p99(server, name: str) -> float:
    cw = h.service_client(server.endpoint, "cloudwatch")
    now = datetime.datetime.now(datetime.timezone.utc)
    got = cw.get_metric_data(
        MetricDataQueries=[{"Id": "d", "MetricStat": {
            "Metric": {"Namespace": "AWS/Lambda", "MetricName": "Duration",
                       "Dimensions": [{"Name": "FunctionName", "Value": name}]},
            "Period": 60, "Stat": "p99"}}],
        StartTime=now - datetime.timedelta(hours=1), EndTime=now + datetime.timedelta(minutes=1),
        ScanBy="TimestampAscending")
    return got["MetricDataResults"][0]["Values"][-1]


def summary(page, chart: str) -> str:
    return page.locator(f"#chart-{chart} figcaption").inner_text()


def wait_summary(page, chart: str, text: str) -> None:
    page.locator(f"#chart-{chart} figcaption", has_text=text).wait_for()


def table_total(page, chart: str) -> float:
    """The sum of the figures in the chart's data table (its text alternative in full)."""
    cells = page.locator(f"#chart-{chart} table.chart-data tbody td").all_text_contents()
    return sum(float(c.replace(",", "")) for c in cells)


def test_the_monitoring_tab_shows_what_cloudwatch_says_and_the_count_rises(page, server, client):
    name = h.unique_name("mon")
    h.create_function(client, name)
    invoke_n(client, name, ok=5, failing=2)
    # boto3 reads the server's own CloudWatch (GetMetricData flushes what was counted).
    assert cloudwatch_sum(server, name, "Invocations") == 7
    assert cloudwatch_sum(server, name, "Errors") == 2

    cb.sign_in(page, server)
    cb.open_tab(page, server, name, "monitoring")
    wait_summary(page, "invocations", "in the last hour")
    assert summary(page, "invocations").startswith("7 invocations in the last hour")
    assert summary(page, "errors").startswith("2 errors in the last hour")
    assert summary(page, "throttles") == "0 throttles in the last hour."
    assert table_total(page, "invocations") == 7
    assert table_total(page, "errors") == 2
    # The chart is an image named by its title and that summary.
    chart = page.get_by_role("img", name=re.compile(r"^Invocations 7 invocations in the last hour"))
    assert chart.count() == 1
    # Duration's p99 at its latest minute, as CloudWatch has it (to the hundredth shown).
    shown = re.search(r"p99 latest ([\d.,]+) ms", summary(page, "duration"))
    assert shown, summary(page, "duration")
    assert math.isclose(float(shown.group(1).replace(",", "")), latest_p99(server, name),
                        abs_tol=0.006)
    assert summary(page, "concurrency").startswith("At most ")
    cb.assert_accessible(page)
    cb.screenshot(page, "monitoring")

    # Another range: the same invocations, in 5-minute periods.
    page.get_by_label("Time range").select_option("24h")
    wait_summary(page, "invocations", "in the last 24 hours")
    assert summary(page, "invocations").startswith("7 invocations in the last 24 hours")
    page.locator("#chart-invocations summary").click()
    assert "per 5 minutes" in page.locator("#chart-invocations caption").inner_text()
    assert table_total(page, "invocations") == 7
    page.get_by_label("Time range").select_option("7d")
    wait_summary(page, "errors", "2 errors in the last 7 days")
    cb.assert_accessible(page)

    # Invocations made from outside show on the graph at the next refresh.
    page.get_by_label("Time range").select_option("1h")
    wait_summary(page, "invocations", "7 invocations in the last hour")
    invoke_n(client, name, ok=3, failing=0)
    page.get_by_role("button", name="Refresh").click()
    wait_summary(page, "invocations", "10 invocations in the last hour")
    assert cloudwatch_sum(server, name, "Invocations") == 10
    assert table_total(page, "invocations") == 10
    assert summary(page, "errors").startswith("2 errors")


def test_the_function_list_has_sparklines_of_the_last_hour(page, server, client):
    busy, idle = h.unique_name("mon-busy"), h.unique_name("mon-idle")
    h.create_function(client, busy)
    h.create_function(client, idle)
    invoke_n(client, busy, ok=4, failing=1)
    cb.sign_in(page, server)
    row = page.locator("tbody tr", has=page.get_by_role("link", name=busy, exact=True))
    row.locator(".spark-text").wait_for()
    assert row.locator(".spark-text").inner_text() == "5 invocations, 1 error"
    other = page.locator("tbody tr", has=page.get_by_role("link", name=idle, exact=True))
    assert other.locator(".spark-text").inner_text() == "0 invocations, 0 errors"
    # Five-minute bars of the hour: invocations, and errors over them.
    assert row.locator(".spark-svg rect.bar:not(.bad)").count() >= 1
    assert row.locator(".spark-svg rect.bar.bad").count() >= 1
    assert page.get_by_role("columnheader", name="Last hour").count() == 1
    cb.assert_accessible(page)


def cost_endpoint(server, name: str) -> dict:
    query = urllib.parse.urlencode({"since": "1d", "function": name, "free_tier": "false"})
    status, _, body = h.http_request(f"{server.endpoint}/_hearth/cost?{query}")
    assert status == 200, body
    return json.loads(body)


def cost_row(page, label: str) -> str:
    return page.locator("#cost-figures tr", has=page.get_by_role("rowheader", name=label,
                                                                 exact=True)).locator("td").inner_text()


def test_the_cost_tab_shows_what_the_cost_endpoint_says(page, server, client):
    name = h.unique_name("mon-cost")
    h.create_function(client, name, MemorySize=256)
    invoke_n(client, name, ok=3, failing=0)
    # The metering may be written a moment after the answers.
    deadline = time.monotonic() + 15
    while True:
        doc = cost_endpoint(server, name)
        line = doc["Functions"].get(name, {})
        if line.get("Requests") == 3 or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert line["Requests"] == 3

    cb.sign_in(page, server)
    cb.open_tab(page, server, name, "cost")
    page.locator("#cost-figures").wait_for()
    assert cost_row(page, "Requests") == "3"
    assert math.isclose(float(cost_row(page, "GB-seconds").replace(",", "")), line["GbSeconds"],
                        rel_tol=1e-5)
    total = float(cost_row(page, "AWS-equivalent cost").lstrip("$").replace(",", ""))
    assert math.isclose(total, line["Total"], rel_tol=1e-3)
    note = page.locator("[role=tabpanel]").inner_text()
    assert f"read on {doc['PricesReadOn']}" in note and "without the free tier" in note
    cb.assert_accessible(page)
    cb.screenshot(page, "cost")

    # The CLI prints the same figures.
    out = json.loads(h.hearth_cli("cost", "--function", name, "--no-free-tier", "--since", "1d",
                                  "--json", "--endpoint", server.endpoint).stdout)
    assert out["Functions"][name]["Requests"] == 3
    assert out["Functions"][name]["GbSeconds"] == line["GbSeconds"]


def test_another_principal_sees_its_own_refusals(page, server, client, tmp_path):
    """The console asks as the signed-in key: CloudWatch as its policy allows, and the cost
    endpoint (the administrator's) refused with the API's own message."""
    name = h.unique_name("mon-user")
    h.create_function(client, name)
    invoke_n(client, name, ok=2, failing=0)
    watcher = h.user_key(server, tmp_path, "000000000000", h.unique_name("watcher"), [
        {"Effect": "Allow", "Action": ["lambda:*", "cloudwatch:GetMetricData"], "Resource": "*"},
    ])
    cb.sign_in(page, server, watcher)
    cb.open_tab(page, server, name, "monitoring")
    wait_summary(page, "invocations", "2 invocations in the last hour")
    cb.open_tab(page, server, name, "cost")
    alert = page.get_by_role("alert").first
    alert.wait_for()
    assert alert.inner_text().startswith("AccessDeniedException: User: arn:aws:iam::000000000000:user/")
    assert "Hearth's own endpoints are the administrator's" in alert.inner_text()

    blind = h.user_key(server, tmp_path, "000000000000", h.unique_name("blind"), [
        {"Effect": "Allow", "Action": "lambda:*", "Resource": "*"},
    ])
    page.get_by_role("button", name="Sign out").click()
    cb.sign_in(page, server, blind)
    cb.open_tab(page, server, name, "monitoring")
    alert = page.get_by_role("alert").first
    alert.wait_for()
    assert "AccessDenied" in alert.inner_text()
    assert "cloudwatch:GetMetricData" in alert.inner_text()


def function_names(client) -> list:
    names, marker = [], None
    while True:
        page = client.list_functions(**({"Marker": marker} if marker else {}))
        names += [f["FunctionName"] for f in page["Functions"]]
        marker = page.get("NextMarker")
        if not marker:
            return names


def test_the_power_tuning_button_draws_the_servers_tuning(page, server, client):
    name = h.unique_name("mon-tune")
    # At 128 MB under the jail a cold start has a fraction of a CPU: time enough for it.
    h.create_function(client, name, MemorySize=256, Timeout=30)
    cb.sign_in(page, server)
    cb.open_tab(page, server, name, "cost")
    page.get_by_label("Memory sizes (MB)").fill("128,512")
    page.get_by_label("Invocations per size").fill("3")
    page.get_by_label("Strategy").select_option("speed")
    with page.expect_response(lambda r: f"/_hearth/tune/{name}" in r.url, timeout=300_000) as got:
        page.get_by_role("button", name="Run power tuning").click()
    doc = got.value.json()
    assert got.value.status == 200, doc
    page.locator("#tune-chart").wait_for()

    assert doc["FunctionName"] == name and doc["Strategy"] == "speed"
    assert [s["MemoryMB"] for s in doc["Sizes"]] == [128, 512]
    assert all(s["Invocations"] == 3 for s in doc["Sizes"])
    fastest = min(doc["Sizes"], key=lambda s: (s["TrimmedBilledMs"], s["CostPerMillion"]))
    assert doc["Recommended"] == fastest["MemoryMB"]
    # The chart's text alternative and its table say the same.
    assert f"recommended (speed): {doc['Recommended']} MB." in \
        page.locator("#tune-chart figcaption").inner_text()
    rows = page.locator("#tune-figures tbody tr")
    assert rows.count() == 2
    assert rows.locator("th").all_inner_texts() == [
        f"{s['MemoryMB']}{' (recommended)' if s['MemoryMB'] == doc['Recommended'] else ''}"
        for s in doc["Sizes"]]
    assert page.locator("#tune-chart svg rect.bar").count() == 2
    assert page.locator("#tune-chart svg circle").count() == 2
    # The copies are gone, the function is as it was.
    assert not [n for n in function_names(client) if n.startswith(f"{name}-tune-")]
    assert client.get_function_configuration(FunctionName=name)["MemorySize"] == 256
    cb.assert_accessible(page)
    cb.screenshot(page, "power-tuning")

    # `hearth tune --json` answers the same document.
    cli = json.loads(h.hearth_cli("tune", name, "--memory", "128", "--invocations", "1", "--json",
                                  "--endpoint", server.endpoint, timeout=300).stdout)
    assert sorted(cli) == sorted(doc)
    assert sorted(cli["Sizes"][0]) == sorted(doc["Sizes"][0])

    # The last run stays on the page.
    page.reload()
    page.locator("#tune-chart").wait_for()


def test_the_tune_endpoint_checks_first_and_is_the_administrators(server, client, tmp_path):
    name = h.unique_name("mon-tune-api")
    h.create_function(client, name)
    url = f"{server.endpoint}/_hearth/tune/{name}"
    headers = {"Content-Type": "application/json"}
    status, hdrs, body = h.http_request(url, "POST", json.dumps({"Memory": [64]}).encode(), headers)
    assert (status, hdrs["x-amzn-errortype"]) == (400, "InvalidParameterValueException")
    assert json.loads(body)["message"] == "memory size 64: a size is 128 to 10240 MB"
    status, hdrs, _ = h.http_request(url, "POST", json.dumps({"Bogus": 1}).encode(), headers)
    assert status == 400
    status, hdrs, body = h.http_request(f"{server.endpoint}/_hearth/tune/{name}-nope", "POST",
                                        b"{}", headers)
    assert (status, hdrs["x-amzn-errortype"]) == (404, "ResourceNotFoundException")
    assert json.loads(body)["message"].startswith(f"reading {name}-nope: Function not found")
    # A function error ends the run, and no copy is left.
    status, hdrs, body = h.http_request(url, "POST", json.dumps(
        {"Memory": [128], "Invocations": 1, "Payload": {"action": "raise", "message": "no"}}
    ).encode(), headers)
    assert (status, hdrs["x-amzn-errortype"]) == (400, "FunctionError")
    assert json.loads(body)["message"].startswith(f"warming {name}-tune-128-")
    assert not [n for n in function_names(client) if n.startswith(f"{name}-tune-")]

    # Not the administrator: refused, whatever the key's policy allows.
    key = h.user_key(server, tmp_path, "000000000000", h.unique_name("tuner"), [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
    ])
    cookie, csrf = cb.session_cookie(server, key)
    status, code, body = cb.console_call(server, "POST", f"/_hearth/tune/{name}", cookie, csrf,
                                         b"{}")
    assert (status, code) == (403, "AccessDeniedException")
    assert not [n for n in function_names(client) if n.startswith(f"{name}-tune-")]
