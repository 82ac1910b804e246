"""`hearth cost`: the server's metering priced as AWS Lambda would bill it, by the server
(`GET /_hearth/cost`), which the verb prints.

The expected figures are computed here by hand from the price file and from each
invocation's REPORT line (with the free tier off, so every request and GB-second is priced).
The billed milliseconds are AWS's since 1 August 2025: `Duration` plus `Init Duration` (on a
cold start), exact, rounded up to the millisecond: the REPORT line's `Billed Duration`. The
line shows the two durations rounded to hundredths, so the test checks `Billed Duration`
against them within that rounding (a duration of 10.004 ms shows as 10.00 and bills 11 ms)
and sums it.
"""

import json
import math
import re
import time
import urllib.parse

import hearth_e2e as h

PRICES = json.loads((h.REPO / "crates" / "cost" / "data" / "lambda-prices.json").read_text())

DURATION = re.compile(r"\tDuration: (\d+)\.(\d\d) ms")
INIT = re.compile(r"\tInit Duration: (\d+)\.(\d\d) ms")
BILLED = re.compile(r"\tBilled Duration: (\d+) ms")


def billed_ms(log: str) -> int:
    """The REPORT line's `Billed Duration`, checked against its durations: the exact sum,
    within half a hundredth per shown duration, rounded up to the ms (at least 1)."""
    report = next(line for line in log.splitlines() if line.startswith("REPORT "))
    thousandths = 0
    shown = 0
    for pattern in (DURATION, INIT):
        m = pattern.search(report)
        if m:
            thousandths += (int(m.group(1)) * 100 + int(m.group(2))) * 10
            shown += 1
    lowest = max(1, -(-(thousandths - 5 * shown) // 1000))
    highest = max(1, -(-(thousandths + 5 * shown) // 1000))
    billed = int(BILLED.search(report).group(1))
    assert lowest <= billed <= highest, report
    return billed


def test_cost_prices_a_scripted_workload(server, client):
    name = h.unique_name("cost")
    memory = 256
    h.create_function(client, name, MemorySize=memory)
    invocations = 7
    billed = 0
    for i in range(invocations):
        inv = h.invoke(client, name, {"i": i}, LogType="Tail")
        assert inv.function_error is None
        billed += billed_ms(inv.log)

    # The metering may be written a moment after the answers: wait for all the requests.
    deadline = time.monotonic() + 15
    while True:
        out = h.hearth_cli("cost", "--function", name, "--no-free-tier", "--since", "1d",
                           "--json", "--endpoint", server.endpoint)
        doc = json.loads(out.stdout)
        counted = doc["Functions"].get(name, {}).get("Requests", 0)
        if counted >= invocations or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert doc["Region"] == "us-east-1"
    assert doc["FreeTier"] is False
    assert doc["PricesReadOn"] == PRICES["ReadOn"]
    assert list(doc["Functions"]) == [name]
    line = doc["Functions"][name]

    x86 = PRICES["Regions"]["us-east-1"]["x86_64"]
    gb_seconds = billed / 1000 * memory / 1024
    requests = invocations * x86["RequestsPerMillion"] / 1e6
    duration = gb_seconds * x86["DurationTiers"][0]["PerGbSecond"]
    assert line["Requests"] == invocations
    assert math.isclose(line["GbSeconds"], gb_seconds, rel_tol=1e-9)
    assert math.isclose(line["Charges"]["Requests"], requests, rel_tol=1e-9)
    assert math.isclose(line["Charges"]["Duration"], duration, rel_tol=1e-9)
    assert line["Charges"]["Provisioned"] == 0
    assert line["Charges"]["Ephemeral"] == 0
    assert math.isclose(line["Total"], requests + duration, rel_tol=1e-9)
    assert math.isclose(doc["Total"]["Total"], requests + duration, rel_tol=1e-9)
    # The host's own use is measured, not priced: present and not negative.
    assert line["HostCpuSeconds"] >= 0 and line["HostMemoryGbSeconds"] >= 0

    text = h.hearth_cli("cost", "--function", name, "--no-free-tier", "--since", "1d",
                        "--endpoint", server.endpoint).stdout.splitlines()
    assert text[0].split()[0] == "FUNCTION"
    assert text[1].split()[:2] == [name, str(invocations)]
    assert text[2].split()[0] == "TOTAL"
    assert text[3].startswith(f"AWS Lambda prices for us-east-1 (USD), read on {PRICES['ReadOn']}")


HOST = ("HostCpuSeconds", "HostMemoryGbSeconds")


def without_host(doc: dict) -> dict:
    """`doc` without the host's measured use, per function and in total."""
    doc = json.loads(json.dumps(doc))
    for line in [*doc["Functions"].values(), doc["Total"]]:
        for key in HOST:
            line.pop(key)
    return doc


def cost_endpoint(server, **params):
    """`GET /_hearth/cost` signed with the administrator key: (status, headers, body)."""
    query = urllib.parse.urlencode(params)
    return h.http_request(f"{server.endpoint}/_hearth/cost?{query}")


def test_the_cost_endpoint_is_what_hearth_cost_prints(server, client):
    name = h.unique_name("costapi")
    h.create_function(client, name, MemorySize=128)
    invocations = 3
    for i in range(invocations):
        h.invoke_ok(client, name, {"i": i})

    def cli():
        out = h.hearth_cli("cost", "--function", name, "--no-free-tier", "--since", "1d",
                           "--json", "--endpoint", server.endpoint)
        return json.loads(out.stdout)

    deadline = time.monotonic() + 15
    while True:
        doc = cli()
        if doc["Functions"].get(name, {}).get("Requests", 0) >= invocations \
                or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert doc["Functions"][name]["Requests"] == invocations
    period = {"from_day": doc["FromDay"], "to_day": doc["ToDay"], "function": name,
              "region": "us-east-1", "free_tier": "false"}

    # The host's use of a live environment grows each time the server samples it (every
    # read flushes): those figures lie between the endpoint's answers before and after the
    # CLI's; everything else is equal.
    status, headers, before = cost_endpoint(server, **period)
    assert status == 200, before
    assert headers["Content-Type"] == "application/json"
    printed = cli()
    status, _, after = cost_endpoint(server, **period)
    assert status == 200, after
    before, after = json.loads(before), json.loads(after)
    assert without_host(printed) == without_host(before) == without_host(after)
    for key in HOST:
        for pick in (lambda d: d["Functions"][name], lambda d: d["Total"]):
            assert pick(before)[key] <= pick(printed)[key] <= pick(after)[key], key
    line = printed["Functions"][name]
    assert line["GbSeconds"] == line["X86GbSeconds"] and line["ArmGbSeconds"] == 0
    assert 0 < line["InitGbSeconds"] < line["GbSeconds"]
    assert line["ProvisionedGbSeconds"] == 0


def test_the_cost_endpoint_refuses_a_bad_query(server):
    status, headers, body = cost_endpoint(server, since="soon")
    assert status == 400
    assert headers["x-amzn-ErrorType"] == "InvalidParameterValueException"
    assert json.loads(body) == {
        "Type": "User",
        "message": 'since must be a whole number and a unit (s, m, h or d), such as 30d, '
                   'got "soon"'}
    status, _, body = cost_endpoint(server, region="eu-west-9")
    assert status == 400
    assert json.loads(body)["message"] == \
        'no AWS Lambda prices for region "eu-west-9" (known: us-east-1)'
