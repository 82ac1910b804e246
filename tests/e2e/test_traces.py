"""X-Ray tracing as Lambda does it, exported over OTLP to a real receiver in the test (an
HTTP/protobuf collector endpoint decoding `ExportTraceServiceRequest` with the
OpenTelemetry project's own protobuf classes): an Active function's sampled invocation
gives the spans of the `AWS::Lambda` and `AWS::Lambda::Function` segments with the right
trace and parent ids, continuing the caller's `X-Amzn-Trace-Id`; the function sees the
header it continues as `_X_AMZN_TRACE_ID`; an asynchronous invocation's `Dwell Time` and
`Attempt #1`; the function segment's `Overhead` after `Invocation`; an unsampled or
PassThrough invocation exports nothing. (gRPC export is tested against a tonic receiver in crates/traces/tests/otlp.rs.)"""

import http.server
import threading

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

import hearth_e2e as h

ROOT = "1-5759e988-bd862e3fe1be46a994272793"
PARENT = "53995c3f42cd8ad8"


class Collector(http.server.BaseHTTPRequestHandler):
    """An OTLP/HTTP trace receiver that keeps every span it is sent."""
    spans: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        assert self.path == "/v1/traces", self.path
        req = ExportTraceServiceRequest()
        req.ParseFromString(body)
        for rs in req.resource_spans:
            resource = {a.key: a.value.string_value for a in rs.resource.attributes}
            for ss in rs.scope_spans:
                for span in ss.spans:
                    Collector.spans.append((resource, span))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()
        self.wfile.write(b"")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def collector():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


@pytest.fixture(scope="module")
def server(tmp_path_factory, runtimes_dir, zips, collector):
    base = tmp_path_factory.mktemp("traces")
    (base / "data").mkdir()
    srv = h.HearthServer(base / "data", runtimes_dir, base, env={
        "HEARTH_OTLP_ENDPOINT": collector, "HEARTH_OTLP_PROTOCOL": "http/protobuf"})
    srv.start()
    yield srv
    srv.stop_cleanly()


@pytest.fixture(scope="module")
def client(server):
    return h.lambda_client(server.endpoint)


def invoke_traced(client, name, header, payload):
    """Invoke with the caller's `X-Amzn-Trace-Id`, as an X-Ray-instrumented SDK sends it."""
    def add(request, **kw):
        request.headers["X-Amzn-Trace-Id"] = header
    client.meta.events.register("before-sign.lambda.Invoke", add)
    try:
        return h.invoke_ok(client, name, payload)
    finally:
        client.meta.events.unregister("before-sign.lambda.Invoke", add)


def spans_of(trace_hex):
    return [(r, s) for r, s in Collector.spans if s.trace_id.hex() == trace_hex]


def test_an_active_sampled_invocation_exports_lambdas_segments(client):
    name = h.unique_name("traced")
    h.create_function(client, name, TracingConfig={"Mode": "Active"})
    out = invoke_traced(client, name, f"Root={ROOT};Parent={PARENT};Sampled=1",
                        {"env": ["_X_AMZN_TRACE_ID"]})
    # The function's header continues the caller's trace, sampled, under Lambda's segment.
    seen = dict(p.split("=", 1) for p in out["env"]["_X_AMZN_TRACE_ID"].split(";"))
    assert (seen["Root"], seen["Sampled"]) == (ROOT, "1")
    trace_hex = ROOT.replace("1-", "", 1).replace("-", "")
    assert h.wait_until(lambda: len(spans_of(trace_hex)) >= 4, timeout=20), Collector.spans
    spans = spans_of(trace_hex)
    by_name = {}
    for resource, span in spans:
        assert resource["service.name"] == name and resource["faas.name"] == name
        by_name.setdefault(span.name, []).append(span)
    # Both segments are named after the function: the service's first (parent = caller).
    segments = sorted(by_name[name], key=lambda s: s.start_time_unix_nano)
    service = next(s for s in segments if s.parent_span_id.hex() == PARENT)
    function = next(s for s in segments if s.parent_span_id == service.span_id)
    # The function's header names its segment as the parent of what the function records.
    assert function.span_id.hex() == seen["Parent"]
    init = by_name["Initialization"][0]
    invocation = by_name["Invocation"][0]
    assert init.parent_span_id == function.span_id
    assert invocation.parent_span_id == function.span_id
    assert init.end_time_unix_nano <= invocation.start_time_unix_nano
    assert service.start_time_unix_nano <= function.start_time_unix_nano
    assert invocation.end_time_unix_nano <= service.end_time_unix_nano
    attributes = {a.key: a.value for a in function.attributes}
    assert attributes["aws.xray.origin"].string_value == "AWS::Lambda::Function"


def test_unsampled_and_passthrough_invocations_export_nothing(client):
    active = h.unique_name("unsampled")
    h.create_function(client, active, TracingConfig={"Mode": "Active"})
    passthrough = h.unique_name("passthrough")
    h.create_function(client, passthrough)
    root_a = "1-5759e988-000000000000000000000001"
    root_b = "1-5759e988-000000000000000000000002"
    out = invoke_traced(client, active, f"Root={root_a};Parent={PARENT};Sampled=0",
                        {"env": ["_X_AMZN_TRACE_ID"]})
    assert "Sampled=0" in out["env"]["_X_AMZN_TRACE_ID"]
    out = invoke_traced(client, passthrough, f"Root={root_b};Parent={PARENT};Sampled=1",
                        {"env": ["_X_AMZN_TRACE_ID"]})
    # PassThrough hands the caller's trace on and records nothing of its own.
    assert f"Root={root_b}" in out["env"]["_X_AMZN_TRACE_ID"]
    # A traced invocation after them: once its spans arrived, theirs would have too.
    marker = h.unique_name("marker")
    h.create_function(client, marker, TracingConfig={"Mode": "Active"})
    root_c = "1-5759e988-000000000000000000000003"
    invoke_traced(client, marker, f"Root={root_c};Sampled=1", {})
    assert h.wait_until(lambda: spans_of(root_c[2:].replace("-", "")), timeout=20)
    for root in (root_a, root_b):
        assert spans_of(root[2:].replace("-", "")) == []


def test_a_functions_own_segment_arrives_in_the_same_trace(client):
    """The function's X-Ray SDK sends a subsegment to `AWS_XRAY_DAEMON_ADDRESS` under the
    header's Parent (test_xray_daemon's function does it as the SDK's UDP emitter does): it
    is exported in the invocation's trace, under Lambda's function segment."""
    import test_xray_daemon

    name = h.unique_name("own-segment")
    h.create_function(client, name, zip_file=test_xray_daemon.function_zip(),
                      TracingConfig={"Mode": "Active"})
    root = "1-5759e988-00000000000000000000000d"
    invoke_traced(client, name, f"Root={root};Parent={PARENT};Sampled=1", {})
    trace_hex = root[2:].replace("-", "")
    assert h.wait_until(lambda: {"work", "Invocation"} <= {
        s.name for _, s in spans_of(trace_hex)}, timeout=20), spans_of(trace_hex)
    spans = {s.name: s for _, s in spans_of(trace_hex)}
    function = next(s for _, s in spans_of(trace_hex)
                    if s.name == name and s.parent_span_id.hex() != PARENT)
    assert spans["work"].parent_span_id == function.span_id


def origin(span):
    return {a.key: a.value.string_value for a in span.attributes}.get("aws.xray.origin")


def spans_named(function):
    """The spans of `function`'s invocations (its resource names it)."""
    return [s for r, s in Collector.spans if r.get("service.name") == function]


def test_an_event_invocation_exports_its_dwell_time_and_attempt(client):
    """Queued (`InvocationType: Event`): the `AWS::Lambda` segment runs from the queue's
    acceptance, `Dwell Time` until the event was taken, then `Attempt #1`, under which the
    function's segment hangs."""
    name = h.unique_name("traced-event")
    h.create_function(client, name, TracingConfig={"Mode": "Active"})
    # A new function's first trace is sampled (X-Ray's reservoir of 1 a second).
    resp = client.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")
    assert resp["StatusCode"] == 202
    wanted = {"Dwell Time", "Attempt #1", "Invocation", "Overhead"}
    assert h.wait_until(lambda: wanted <= {s.name for s in spans_named(name)}, timeout=30), \
        spans_named(name)
    spans = spans_named(name)
    assert len({s.trace_id for s in spans}) == 1, spans
    by_name = {s.name: s for s in spans if s.name != name}
    service = next(s for s in spans if s.name == name and origin(s) == "AWS::Lambda")
    function = next(s for s in spans if s.name == name and origin(s) == "AWS::Lambda::Function")
    dwell, attempt = by_name["Dwell Time"], by_name["Attempt #1"]
    invocation = by_name["Invocation"]
    assert dwell.parent_span_id == service.span_id
    assert attempt.parent_span_id == service.span_id
    assert function.parent_span_id == attempt.span_id
    assert invocation.parent_span_id == function.span_id
    # Accepted → dequeued → run → answered, each span within its parent.
    assert service.start_time_unix_nano == dwell.start_time_unix_nano
    assert dwell.start_time_unix_nano <= dwell.end_time_unix_nano
    assert dwell.end_time_unix_nano == attempt.start_time_unix_nano
    assert attempt.start_time_unix_nano <= function.start_time_unix_nano
    assert function.start_time_unix_nano <= invocation.start_time_unix_nano
    assert invocation.end_time_unix_nano <= attempt.end_time_unix_nano
    assert attempt.end_time_unix_nano == service.end_time_unix_nano
    status = {a.key: a.value.int_value for a in service.attributes}["http.response.status_code"]
    assert status == 202


def test_a_synchronous_invocation_exports_overhead_after_invocation(client):
    """The runtime's `next` after its response ends `Overhead`, the function segment's last
    subsegment; the caller was answered before it."""
    name = h.unique_name("overhead")
    h.create_function(client, name, TracingConfig={"Mode": "Active"})
    root = "1-5759e988-00000000000000000000000e"
    invoke_traced(client, name, f"Root={root};Parent={PARENT};Sampled=1", {})
    trace_hex = root[2:].replace("-", "")
    assert h.wait_until(lambda: {"Invocation", "Overhead"} <= {
        s.name for _, s in spans_of(trace_hex)}, timeout=20), spans_of(trace_hex)
    spans = {s.name: s for _, s in spans_of(trace_hex) if s.name != name}
    function = next(s for _, s in spans_of(trace_hex)
                    if s.name == name and s.parent_span_id.hex() != PARENT)
    assert "Dwell Time" not in spans and "Attempt #1" not in spans
    invocation, overhead = spans["Invocation"], spans["Overhead"]
    assert overhead.parent_span_id == function.span_id
    assert invocation.end_time_unix_nano == overhead.start_time_unix_nano
    assert overhead.start_time_unix_nano <= overhead.end_time_unix_nano
    assert overhead.end_time_unix_nano <= function.end_time_unix_nano
