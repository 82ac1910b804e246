"""Browsers cannot drive the API: a request whose Host does not name the server (DNS
rebinding) or that carries another site's Origin is refused with 403 AccessDeniedException,
unless --allowed-hosts / --allowed-origins (or their HEARTH_* variables) allow it; the AWS CLI,
boto3, the hearth verbs and GetFunction's Code.Location keep working.

Requests are sent with http.client so that the Host and Origin headers are exactly the test's.
"""

import base64
import http.client
import json

import pytest

import hearth_e2e as h

# How environments are isolated plays no part here (or the tests choose their sandbox
# themselves): run once, in the jail pass, not again under the process sandbox
# (scripts/test.sh).
pytestmark = pytest.mark.sandbox_neutral


FOREIGN = "http://evil.example"


def raw(server, method, path, body=b"", headers=None, host=None):
    """(status, headers dict with lower-case names, body) of one request with exactly the
    given headers; Host defaults to the server's own 127.0.0.1:PORT."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    host = host if host is not None else f"127.0.0.1:{server.port}"
    # Signed with the administrator key, for the Host sent: the guard is what is tested.
    headers = h.sign_headers(f"http://{host}{path}", method, body,
                             {"Host": host, **(headers or {})}, credentials=server.credentials)
    headers.pop("Host")
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def create_body(name: str) -> bytes:
    return json.dumps({
        "FunctionName": name, "Runtime": h.PYTHON, "Role": h.ROLE, "Handler": "app.handler",
        "Code": {"ZipFile": base64.b64encode(h.zip_bytes("python.zip")).decode()},
    }).encode()


def assert_refused(reply, flag):
    status, headers, body = reply
    assert status == 403, (status, body)
    assert headers.get("x-amzn-errortype") == "AccessDeniedException", headers
    assert headers.get("x-amzn-requestid"), headers
    doc = json.loads(body)
    assert doc["Type"] == "User"
    assert flag in doc["Message"], doc
    assert not any(k.startswith("access-control-") for k in headers), headers


def exists(server, name) -> bool:
    status, _, _ = raw(server, "GET", f"/2015-03-31/functions/{name}")
    assert status in (200, 404)
    return status == 200


def test_cross_origin_text_plain_create_is_refused_and_creates_nothing(server):
    # The reported attack: what a page on any web site can make a browser send without a
    # preflight.
    name = h.unique_name("guard-attack")
    reply = raw(server, "POST", "/2015-03-31/functions", create_body(name),
                {"Content-Type": "text/plain", "Origin": FOREIGN})
    assert_refused(reply, "--allowed-origins (HEARTH_ALLOWED_ORIGINS)")
    assert FOREIGN in json.loads(reply[2])["Message"]
    assert not exists(server, name)
    status, _, body = raw(server, "GET", "/2015-03-31/functions")
    assert name not in body.decode()
    # The very same request without the Origin is what a tool sends, and works.
    status, _, body = raw(server, "POST", "/2015-03-31/functions", create_body(name),
                          {"Content-Type": "text/plain"})
    assert status == 201, body
    assert exists(server, name)


@pytest.mark.parametrize("origin", [FOREIGN, "null", "https://127.0.0.1:{port}",
                                    "http://localhost:{port}", "http://127.0.0.1:1"])
def test_foreign_origins_are_refused_on_every_route(server, origin):
    origin = origin.format(port=server.port)
    headers = {"Origin": origin}
    for method, path in [("GET", "/2015-03-31/functions"),
                         ("GET", "/2016-08-19/account-settings/"),
                         ("POST", "/2015-03-31/functions/anything/invocations"),
                         ("DELETE", "/2015-03-31/functions/anything"),
                         ("GET", "/_hearth/concurrency"),
                         ("GET", "/no/such/route")]:
        assert_refused(raw(server, method, path, headers=headers), "--allowed-origins")


def test_same_origin_is_allowed(server):
    status, _, body = raw(server, "GET", "/2016-08-19/account-settings/",
                          headers={"Origin": f"http://127.0.0.1:{server.port}"})
    assert status == 200, body
    status, _, body = raw(server, "GET", "/2016-08-19/account-settings/",
                          headers={"Origin": f"http://localhost:{server.port}"},
                          host=f"localhost:{server.port}")
    assert status == 200, body


def test_preflight_gets_no_permission(server):
    headers = {"Origin": FOREIGN, "Access-Control-Request-Method": "POST",
               "Access-Control-Request-Headers": "content-type"}
    for path in ["/2015-03-31/functions", "/2015-03-31/functions/x/invocations"]:
        assert_refused(raw(server, "OPTIONS", path, headers=headers), "--allowed-origins")
    # Even from its own origin, OPTIONS grants nothing.
    status, headers, _ = raw(server, "OPTIONS", "/2015-03-31/functions",
                             headers={"Origin": f"http://127.0.0.1:{server.port}",
                                      "Access-Control-Request-Method": "POST"})
    assert status >= 400
    assert not any(k.startswith("access-control-") for k in headers), headers


@pytest.mark.parametrize("host", ["evil.example:{port}", "evil.example", "127.0.0.1:1",
                                  "127.0.0.1.evil.example:{port}", "localhost",
                                  "[::2]:{port}", "not a host"])
def test_foreign_host_is_refused(server, host):
    # DNS rebinding: the page's own name, now resolving to 127.0.0.1, in Host; no Origin.
    name = h.unique_name("guard-rebind")
    host = host.format(port=server.port)
    assert_refused(raw(server, "GET", "/2015-03-31/functions", host=host),
                   "--allowed-hosts (HEARTH_ALLOWED_HOSTS)")
    assert_refused(raw(server, "POST", "/2015-03-31/functions", create_body(name),
                       {"Content-Type": "application/json"}, host=host), "--allowed-hosts")
    assert not exists(server, name)


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LocalHost:{port}",
                                  "[::1]:{port}"])
def test_own_names_are_accepted(server, host):
    status, _, body = raw(server, "GET", "/2016-08-19/account-settings/",
                          host=host.format(port=server.port))
    assert status == 200, body


def test_aws_cli_boto3_hearth_and_code_location_work(server, client, aws):
    name = h.unique_name("guard-clients")
    h.create_function(client, name)
    assert h.invoke_ok(client, name, {"hello": "guard"})["event"] == {"hello": "guard"}
    listed = aws("list-functions").json
    assert name in [f["FunctionName"] for f in listed["Functions"]]
    out = aws("invoke", "--function-name", name, "--payload", '{"via": "cli"}', "/dev/stdout")
    assert out.rc == 0, out
    ls = h.hearth_cli("ls", "--endpoint", server.endpoint, "--json")
    assert name in ls.stdout
    # GetFunction's Code.Location is a URL a user (or a browser, by navigating) fetches.
    location = client.get_function(FunctionName=name)["Code"]["Location"]
    status, _, body = h.http_request(location)
    assert status == 200
    assert body == h.zip_bytes("python.zip")


def test_flags_allow_hosts_and_origins(server_with_env):
    srv = server_with_env("--allowed-hosts", "hearth.test,proxy.test:8443",
                          "--allowed-origins", "http://ui.test")
    port = srv.port
    ok = lambda reply: reply[0] == 200  # noqa: E731
    path = "/2016-08-19/account-settings/"
    assert ok(raw(srv, "GET", path, host=f"hearth.test:{port}"))
    assert ok(raw(srv, "GET", path, host="hearth.test"))
    assert ok(raw(srv, "GET", path, host="proxy.test:8443"))
    assert_refused(raw(srv, "GET", path, host="proxy.test:8444"), "--allowed-hosts")
    assert_refused(raw(srv, "GET", path, host=f"evil.example:{port}"), "--allowed-hosts")
    assert ok(raw(srv, "GET", path, headers={"Origin": "http://ui.test"}))
    assert_refused(raw(srv, "GET", path, headers={"Origin": FOREIGN}), "--allowed-origins")
    # Its own names still work.
    assert ok(raw(srv, "GET", path))
    assert ok(raw(srv, "GET", path, host=f"localhost:{port}"))


def test_env_star_allows_everything(server_with_env):
    srv = server_with_env(HEARTH_ALLOWED_HOSTS="*", HEARTH_ALLOWED_ORIGINS="*")
    name = h.unique_name("guard-star")
    status, _, body = raw(srv, "POST", "/2015-03-31/functions", create_body(name),
                          {"Content-Type": "text/plain", "Origin": FOREIGN},
                          host="anything.example:1")
    assert status == 201, body
    # Allowing is not answering CORS: a browser still gets no permission to read.
    status, headers, _ = raw(srv, "OPTIONS", "/2015-03-31/functions",
                             headers={"Origin": FOREIGN, "Access-Control-Request-Method": "POST"})
    assert not any(k.startswith("access-control-") for k in headers), headers
