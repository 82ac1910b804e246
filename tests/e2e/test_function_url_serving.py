"""Function URLs' data plane: requests to the address `CreateFunctionUrlConfig` answers
(`<server>/lambda-url/<url-id>/...`, and `<url-id>.lambda-url.<region>.<domain>` with a
server domain) reach the function as payload 2.0 events, and its answers come back as
HTTP responses, buffered or streamed, the way Lambda serves function URLs ("Invoking
Lambda function URLs", "Control access to Lambda function URLs").

Driven with `requests` and curl, signed requests with botocore's SigV4 signer."""

import io
import json
import subprocess
import zipfile

import pytest
import requests

import hearth_e2e as h

# Function URLs: the routing, authorization, events and answers are the server's; the
# sandbox only runs the function, which every other module checks under both sandboxes.
pytestmark = pytest.mark.sandbox_neutral

# The function (tests/functions/http/echo.py, in http-echo.zip) echoes its event in a 2.0
# response, with the trace it ran under in `x-seen-trace`, unless the request body asks
# for another answer.


# Streams through awslambda.HttpResponseStream: a status, headers and cookies, then the
# body in three writes; `/plain` streams without a prelude; `/fail` throws after a write.
STREAM = '''
export const handler = awslambda.streamifyResponse(async (event, stream) => {
  if (event.rawPath === "/plain") {
    stream.setContentType("text/csv");
    stream.write("a,b\\n");
    stream.write("1,2\\n");
    stream.end();
    return;
  }
  if (event.rawPath === "/fail") {
    throw new Error("no stream today");
  }
  const http = awslambda.HttpResponseStream.from(stream, {
    statusCode: 202,
    headers: { "content-type": "text/plain", "x-path": event.rawPath },
    cookies: ["a=1", "b=2; Path=/"],
  });
  http.write("one ");
  http.write("two ");
  http.write("three");
  http.end();
});
'''


def _zip(name: str, source: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(name, source)
    return buf.getvalue()


def url_id_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]


def allow_public(client, fn, qualifier=None):
    kw = {"Qualifier": qualifier} if qualifier else {}
    client.add_permission(FunctionName=fn, StatementId="public-url", Principal="*",
                          Action="lambda:InvokeFunctionUrl", FunctionUrlAuthType="NONE", **kw)


@pytest.fixture(scope="module")
def echo(client):
    name = h.unique_name("url-echo")
    h.create_function(client, name, "http-echo.zip", handler="echo.handler")
    return name


@pytest.fixture(scope="module")
def public(client, echo):
    """The echo function's URL, open to anyone."""
    url = client.create_function_url_config(FunctionName=echo, AuthType="NONE")["FunctionUrl"]
    allow_public(client, echo)
    return url


def test_a_url_without_a_public_permission_is_forbidden(client):
    name = h.unique_name("url-closed")
    h.create_function(client, name, "http-echo.zip", handler="echo.handler")
    url = client.create_function_url_config(FunctionName=name, AuthType="NONE")["FunctionUrl"]
    r = requests.get(url, timeout=30)
    assert (r.status_code, r.json()) == (403, {"Message": "Forbidden"})
    # A permission for another action or for a named principal opens nothing.
    client.add_permission(FunctionName=name, StatementId="invoke", Principal="*",
                          Action="lambda:InvokeFunction")
    client.add_permission(FunctionName=name, StatementId="acct", Principal=h.ACCOUNT,
                          Action="lambda:InvokeFunctionUrl", FunctionUrlAuthType="NONE")
    assert requests.get(url, timeout=30).status_code == 403
    allow_public(client, name)
    assert requests.get(url, timeout=30).status_code == 200
    # An id that names no URL.
    r = requests.get(url.rsplit("/", 2)[0] + "/" + "0" * 32 + "/", timeout=30)
    assert (r.status_code, r.json()) == (403, {"Message": None})


def test_the_event_is_payload_2_0(public, server):
    url_id = url_id_of(public)
    r = requests.post(public + "items/42?b=2&a=1&a=3", data="hello",
                      headers={"Content-Type": "text/plain", "X-Multi": "one",
                               "Cookie": "c1=v1; c2=v2", "User-Agent": "e2e-agent"},
                      timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-amzn-requestid"]
    assert r.headers["x-amzn-trace-id"].startswith("Root=1-")
    event = r.json()
    ctx = event["requestContext"]
    host = f"127.0.0.1:{server.port}"
    headers = event["headers"]
    assert headers["content-type"] == "text/plain" and headers["x-multi"] == "one"
    assert headers["host"] == host and "cookie" not in headers
    assert event == {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/items/42",
        "rawQueryString": "b=2&a=1&a=3",
        "cookies": ["c1=v1", "c2=v2"],
        "headers": headers,
        "queryStringParameters": {"a": "1,3", "b": "2"},
        "requestContext": {
            **ctx,
            "accountId": "anonymous",
            "apiId": url_id,
            "domainName": host,
            "domainPrefix": ctx["domainPrefix"],
            "http": {"method": "POST", "path": "/items/42", "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "e2e-agent"},
            "requestId": r.headers["x-amzn-requestid"],
            "routeKey": "$default",
            "stage": "$default",
            "time": ctx["time"],
            "timeEpoch": ctx["timeEpoch"],
        },
        "body": "hello",
        "isBase64Encoded": False,
        **{k: event[k] for k in ("pathParameters", "stageVariables") if k in event},
    }
    assert "authorizer" not in ctx or ctx["authorizer"] is None
    assert isinstance(ctx["timeEpoch"], int)
    # The bare URL is the path `/`, with no query.
    event = requests.get(public.rstrip("/"), timeout=30).json()
    assert (event["rawPath"], event["rawQueryString"]) == ("/", "")
    assert "queryStringParameters" not in event and "body" not in event


def test_binary_bodies_are_base64_both_ways(public):
    png = bytes(range(256))
    r = requests.post(public, data=png, headers={"Content-Type": "image/png"}, timeout=30)
    event = r.json()
    assert event["isBase64Encoded"] is True
    import base64
    assert base64.b64decode(event["body"]) == png
    answer = {"statusCode": 200, "headers": {"content-type": "image/png"},
              "body": base64.b64encode(png).decode(), "isBase64Encoded": True}
    r = requests.post(public, json={"respond": answer}, timeout=30)
    assert (r.status_code, r.headers["content-type"], r.content) == (200, "image/png", png)


def test_answers_map_as_lambda_maps_them(public):
    # A whole 2.0 response: status, headers, each cookie its own Set-Cookie.
    answer = {"statusCode": 418, "headers": {"content-type": "text/plain", "x-one": "1"},
              "cookies": ["a=1; Path=/", "b=2"], "body": "short and stout"}
    r = requests.post(public, json={"respond": answer}, timeout=30)
    assert (r.status_code, r.text, r.headers["x-one"]) == (418, "short and stout", "1")
    assert r.raw.headers.getlist("Set-Cookie") == ["a=1; Path=/", "b=2"]
    # JSON without statusCode: a 200 JSON answer of that JSON.
    r = requests.post(public, json={"respond": {"hello": "world"}}, timeout=30)
    assert (r.status_code, r.headers["content-type"]) == (200, "application/json")
    assert r.json() == {"hello": "world"}
    # A function error is a 502.
    r = requests.post(public, json={"raise": True}, timeout=30)
    assert (r.status_code, r.text) == (502, "Internal Server Error")
    # So is an answer that is not a response.
    r = requests.post(public, json={"respond": {"statusCode": "teapot"}}, timeout=30)
    assert r.status_code == 502


def test_limits_and_timeouts_answer_as_lambda(client):
    name = h.unique_name("url-limits")
    h.create_function(client, name, "http-echo.zip", handler="echo.handler",
                      Timeout=1)
    url = client.create_function_url_config(FunctionName=name, AuthType="NONE")["FunctionUrl"]
    allow_public(client, name)
    # A timeout is the function's failure: 502.
    r = requests.post(url, json={"sleep": 3}, timeout=60)
    assert (r.status_code, r.text) == (502, "Internal Server Error")
    # A request over 6 MB is refused before the function runs; a response over Lambda's
    # 6,291,556 bytes fails.
    r = requests.post(url, data=b"x" * (6 * 1024 * 1024 + 1), timeout=60)
    assert r.status_code == 413, r.text
    r = requests.post(url, json={"big": 6_291_556}, timeout=60)
    assert r.status_code == 502
    # The function still serves afterwards.
    assert requests.post(url, json={"respond": {"ok": 1}}, timeout=60).json() == {"ok": 1}


def test_browsers_on_other_origins_reach_urls_and_get_cors(client):
    name = h.unique_name("url-cors")
    h.create_function(client, name, "http-echo.zip", handler="echo.handler")
    url = client.create_function_url_config(
        FunctionName=name, AuthType="NONE",
        Cors={"AllowOrigins": ["https://app.example"], "AllowMethods": ["POST"],
              "AllowHeaders": ["x-custom"], "ExposeHeaders": ["x-amzn-requestid"],
              "MaxAge": 300})["FunctionUrl"]
    allow_public(client, name)
    # The preflight is answered without running the function (its answer has no body).
    r = requests.options(url, headers={"Origin": "https://app.example",
                                       "Access-Control-Request-Method": "POST",
                                       "Access-Control-Request-Headers": "x-custom"},
                         timeout=30)
    assert r.status_code == 204 and r.content == b""
    assert r.headers["access-control-allow-origin"] == "https://app.example"
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "x-custom" in r.headers["access-control-allow-headers"].lower()
    assert r.headers["access-control-max-age"] == "300"
    # The request itself passes the request guard (another origin) and gets the headers.
    r = requests.post(url, data="{}", headers={"Origin": "https://app.example",
                                               "x-custom": "1"}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == "https://app.example"
    assert r.json()["headers"]["origin"] == "https://app.example"
    # An origin the URL does not allow gets the answer but no permission to read it.
    r = requests.post(url, data="{}", headers={"Origin": "https://evil.example"}, timeout=30)
    assert "access-control-allow-origin" not in r.headers
    # Lambda's own API still refuses browsers of other origins.
    r = requests.get(f"{url.split('/lambda-url/')[0]}/2015-03-31/functions",
                     headers={"Origin": "https://app.example"}, timeout=30)
    assert r.status_code == 403


def test_aws_iam_urls_need_a_signature_and_a_permission(client, server, tmp_path):
    name = h.unique_name("url-iam")
    h.create_function(client, name, "http-echo.zip", handler="echo.handler")
    url = client.create_function_url_config(FunctionName=name,
                                            AuthType="AWS_IAM")["FunctionUrl"]
    r = requests.get(url + "x", timeout=30)
    assert (r.status_code, r.json()) == (403, {"Message": "Forbidden"})
    # The administrator (the account's root), signing for the service `lambda`.
    signed = h.sign_headers(url + "x?q=1", "GET", service="lambda")
    r = requests.get(url + "x?q=1", headers=signed, timeout=30)
    assert r.status_code == 200, r.text
    iam = r.json()["requestContext"]["authorizer"]["iam"]
    key = h.credentials_for(server.endpoint)
    assert iam["accessKey"] == key[0] and iam["accountId"] == h.ACCOUNT
    assert iam["userArn"] == f"arn:aws:iam::{h.ACCOUNT}:root"
    assert r.json()["requestContext"]["accountId"] == h.ACCOUNT
    # A signature for another service, or a tampered one, is refused.
    wrong = h.sign_headers(url + "x", "GET", service="apigateway")
    assert requests.get(url + "x", headers=wrong, timeout=30).status_code == 403
    assert requests.get(url + "y", headers=h.sign_headers(url + "x", "GET", service="lambda"),
                        timeout=30).status_code == 403
    # A user whose policy allows only lambda:InvokeFunction may not; one allowed
    # lambda:InvokeFunctionUrl on this function may.
    denied = h.user_key(server, tmp_path, h.ACCOUNT, h.unique_name("nourl"),
                        [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "*"}])
    r = requests.get(url, headers=h.sign_headers(url, "GET", credentials=denied,
                                                 service="lambda"), timeout=30)
    assert r.status_code == 403
    allowed = h.user_key(server, tmp_path, h.ACCOUNT, h.unique_name("url"),
                         [{"Effect": "Allow", "Action": "lambda:InvokeFunctionUrl",
                           "Resource": h.function_arn(name),
                           "Condition": {"StringEquals":
                                         {"lambda:FunctionUrlAuthType": "AWS_IAM"}}}])
    body = b'{"respond": {"ok": true}}'
    r = requests.post(url, data=body, headers=h.sign_headers(
        url, "POST", body=body, credentials=allowed, service="lambda"), timeout=30)
    assert (r.status_code, r.json()) == (200, {"ok": True})


def test_urls_of_aliases_run_the_alias(client):
    name = h.unique_name("url-alias")
    h.create_function(client, name, "http-echo.zip", handler="echo.handler")
    version = client.publish_version(FunctionName=name)["Version"]
    client.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    url = client.create_function_url_config(FunctionName=name, Qualifier="live",
                                            AuthType="NONE")["FunctionUrl"]
    # The permission must be the alias's: the unqualified function's does not count.
    allow_public(client, name)
    assert requests.get(url, timeout=30).status_code == 403
    allow_public(client, name, qualifier="live")
    r = requests.get(url, timeout=30)
    assert r.status_code == 200, r.text


def test_a_throttled_function_answers_429(client):
    name = h.unique_name("url-throttle")
    h.create_function(client, name, "http-echo.zip", handler="echo.handler")
    url = client.create_function_url_config(FunctionName=name, AuthType="NONE")["FunctionUrl"]
    allow_public(client, name)
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    r = requests.get(url, timeout=30)
    assert r.status_code == 429, r.text


def test_the_caller_trace_id_is_kept(public):
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    r = requests.get(public, headers={"X-Amzn-Trace-Id": trace}, timeout=30)
    # The answer names it, and the function saw it.
    assert r.headers["x-amzn-trace-id"] == trace
    assert r.headers["x-seen-trace"] == trace
    # Without one, the answer names the trace the function saw.
    r = requests.get(public, timeout=30)
    assert r.headers["x-amzn-trace-id"] == r.headers["x-seen-trace"]
    assert r.headers["x-amzn-trace-id"].startswith("Root=1-")


def test_host_based_addressing(own_server, tmp_path):
    own_server.stop()
    own_server.extra_args += ["--http-domain", "hearth.test"]
    own_server.start()
    client = h.lambda_client(own_server.endpoint)
    name = h.unique_name("url-host")
    h.create_function(client, name, "http-echo.zip", handler="echo.handler")
    url = client.create_function_url_config(FunctionName=name, AuthType="NONE")["FunctionUrl"]
    allow_public(client, name)
    url_id = url.split("//", 1)[1].split(".", 1)[0]
    host = f"{url_id}.lambda-url.{h.REGION}.hearth.test:{own_server.port}"
    assert url == f"http://{host}/"
    # No DNS here: curl resolves the URL's name to the server itself.
    out = subprocess.run(
        ["curl", "-sS", "--resolve",
         f"{url_id}.lambda-url.{h.REGION}.hearth.test:{own_server.port}:127.0.0.1",
         url + "deep/path?x=1"], capture_output=True, check=True, timeout=60)
    event = json.loads(out.stdout)
    assert event["rawPath"] == "/deep/path" and event["rawQueryString"] == "x=1"
    assert event["requestContext"]["domainName"] == f"{url_id}.lambda-url.{h.REGION}.hearth.test"
    assert event["requestContext"]["domainPrefix"] == url_id
    # The path form keeps working beside it.
    r = requests.get(f"{own_server.endpoint}/lambda-url/{url_id}/p", timeout=30)
    assert r.json()["rawPath"] == "/p"
    # An HTTP API by its host, likewise.
    gw = h.gateway_client(own_server.endpoint)
    api = gw.create_api(Name="by-host", ProtocolType="HTTP", Target=h.function_arn(name))
    api_host = f"{api['ApiId']}.execute-api.{h.REGION}.hearth.test"
    assert api["ApiEndpoint"] == f"http://{api_host}:{own_server.port}"
    client.add_permission(FunctionName=name, StatementId="apigw", Principal="apigateway.amazonaws.com",
                          Action="lambda:InvokeFunction")
    out = subprocess.run(
        ["curl", "-sS", "--resolve", f"{api_host}:{own_server.port}:127.0.0.1",
         api["ApiEndpoint"] + "/via/api"], capture_output=True, check=True, timeout=60)
    event = json.loads(out.stdout)
    assert event["rawPath"] == "/via/api"
    assert event["requestContext"]["domainName"] == api_host
    # A name under the domain that is neither is Lambda's API's, and refused by the guard.
    out = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--resolve",
         f"x.other.{h.REGION}.hearth.test:{own_server.port}:127.0.0.1",
         f"http://x.other.{h.REGION}.hearth.test:{own_server.port}/2015-03-31/functions"],
        capture_output=True, check=True, timeout=60)
    assert out.stdout == b"403"


@pytest.fixture(scope="module")
def streamer(client):
    name = h.unique_name("url-stream")
    h.create_function(client, name, zip_file=_zip("index.mjs", STREAM), runtime=h.NODE,
                      handler="index.handler")
    url = client.create_function_url_config(FunctionName=name, AuthType="NONE",
                                            InvokeMode="RESPONSE_STREAM")["FunctionUrl"]
    allow_public(client, name)
    return url


def test_streamed_urls_send_the_prelude_then_the_body(streamer):
    with requests.get(streamer + "hello", stream=True, timeout=60) as r:
        assert r.status_code == 202
        assert r.headers["content-type"] == "text/plain"
        assert r.headers["x-path"] == "/hello"
        assert r.headers.get("transfer-encoding") == "chunked"
        assert r.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2; Path=/"]
        assert r.content == b"one two three"


def test_streamed_urls_without_a_prelude_and_failures(streamer):
    r = requests.get(streamer + "plain", timeout=60)
    assert (r.status_code, r.headers["content-type"], r.text) == (200, "text/csv", "a,b\n1,2\n")
    r = requests.get(streamer + "fail", timeout=60)
    assert r.status_code == 502


@pytest.fixture(scope="module")
def rust_http(client, server):
    """A Rust `lambda_http` app behind a function URL and HTTP APIs of both payload
    formats: its base URLs by front."""
    if not h.zip_path("rust-http.zip").exists():
        pytest.skip("rust-http.zip is built without HEARTH_SKIP_RUST")
    name = h.unique_name("url-rust-http")
    h.create_function(client, name, "rust-http.zip", h.PROVIDED, "ignored")
    bases = {"url": client.create_function_url_config(
        FunctionName=name, AuthType="NONE")["FunctionUrl"].rstrip("/")}
    allow_public(client, name)
    gw = h.gateway_client(server.endpoint)
    for version in ("1.0", "2.0"):
        bases[f"api-{version}"] = h.http_api(gw, client, name, version)
    return bases


@pytest.mark.parametrize("front", ["url", "api-1.0", "api-2.0"])
def test_a_rust_lambda_http_app_serves_unchanged(rust_http, front):
    base = rust_http[front]
    r = requests.get(base + "/hello/hearth?greeting=Hi", timeout=60)
    assert (r.status_code, r.headers["content-type"], r.text) == (200, "text/plain",
                                                                  "Hi, hearth!")
    png = bytes(range(256)) * 4
    r = requests.post(base + "/echo", data=png, headers={"Content-Type": "image/png"},
                      timeout=60)
    assert (r.status_code, r.headers["content-type"], r.content) == (200, "image/png", png)
    r = requests.post(base + "/echo", json={"a": [1, 2]}, timeout=60)
    assert r.json() == {"a": [1, 2]}
    r = requests.get(base + "/cookies", headers={"Cookie": "x=1; y=2"}, timeout=60)
    assert r.json() == {"cookies": ["x=1", "y=2"]}
    assert sorted(r.raw.headers.getlist("Set-Cookie")) == ["session=abc; Path=/; HttpOnly",
                                                           "theme=dark"]
    r = requests.get(base + "/nowhere", timeout=60)
    assert (r.status_code, r.text) == (404, "not found")
