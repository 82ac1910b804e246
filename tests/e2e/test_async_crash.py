"""The async queue across a SIGKILL of the server: thousands of accepted events, the server
killed mid-drain and restarted, every accepted event delivered at least once (the test prints
how many twice); and an event that was running when the server died runs again."""

import concurrent.futures
import collections
import json

import hearth_e2e as h

EVENTS = 2000


def post_event(endpoint, name, payload):
    """(status, request id) of a raw Event invoke."""
    status, headers, body = h.http_request(
        f"{endpoint}/2015-03-31/functions/{name}/invocations", "POST",
        json.dumps(payload).encode(), {"X-Amz-Invocation-Type": "Event"}, 30)
    return status, headers.get("x-amzn-RequestId"), body


def outstanding(server, name):
    status, _, body = server.get("/_hearth/queue")
    assert status == 200, body
    for q in json.loads(body)["functions"]:
        if q["function"] == name:
            return q["queued"] + q["running"], q["running"]
    return 0, 0


def start_counts(server, name):
    """How many times each request id started, from the function's logs."""
    return collections.Counter(
        e["message"].split()[2] for e in h.log_events(server, name)
        if e["message"].startswith("START RequestId: "))


def test_sigkill_mid_drain_loses_no_accepted_event(server_with_env):
    srv = server_with_env(HEARTH_ASYNC_CONCURRENCY="4")
    client = h.lambda_client(srv.endpoint)
    name = h.unique_name("crash")
    h.create_function(client, name)
    payload = {"action": "sleep", "seconds": 0.01}
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda _: post_event(srv.endpoint, name, payload), range(EVENTS)))
    assert all(status == 202 for status, _, _ in results), \
        collections.Counter(status for status, _, _ in results)
    accepted = {rid for _, rid, _ in results}
    assert len(accepted) == EVENTS

    # Kill it once a good part, but not all, has been delivered.
    assert h.wait_until(lambda: outstanding(srv, name)[0] <= EVENTS * 2 // 3, timeout=120)
    left, running = outstanding(srv, name)
    srv.kill()
    assert 0 < left < EVENTS, left

    srv.start()
    assert h.wait_until(lambda: outstanding(srv, name)[0] == 0, timeout=300), \
        f"{outstanding(srv, name)} (waiting, running) left; the server's processes:\n" \
        f"{h.process_tree(srv.proc.pid)}\n{srv.stderr_tail(8000)}"
    counts = start_counts(srv, name)
    lost = accepted - set(counts)
    twice = sum(1 for rid in accepted if counts[rid] > 1)
    print(f"\nasync crash test: {EVENTS} accepted, {left} not done at SIGKILL "
          f"({running} running), {len(lost)} lost, {twice} delivered more than once")
    assert not lost, f"{len(lost)} accepted events never delivered, e.g. {sorted(lost)[:5]}"


def test_event_running_at_sigkill_runs_again_after_restart(server_with_env):
    srv = server_with_env()
    client = h.lambda_client(srv.endpoint)
    name = h.unique_name("crash-running")
    h.create_function(client, name, Timeout=30)
    status, rid, body = post_event(srv.endpoint, name, {"action": "sleep", "seconds": 3})
    assert status == 202, body
    assert h.wait_until(lambda: outstanding(srv, name)[1] == 1, timeout=30)
    srv.kill()
    srv.start()
    assert h.wait_until(lambda: start_counts(srv, name)[rid] == 1, timeout=60)
    assert h.wait_until(lambda: outstanding(srv, name)[0] == 0, timeout=30)
