"""API Gateway HTTP APIs (apigatewayv2): the control plane through boto3 and the AWS CLI,
the data plane through `requests` and `curl` at the path form of `ApiEndpoint`
(`<server>/execute-api/<api-id>`).

Expected shapes are AWS's: the members botocore's `apigatewayv2/2018-11-29` model gives
each answer, the 1.0 and 2.0 events of "Working with AWS Lambda proxy integrations for
HTTP APIs", and API Gateway's own answers (`{"message": "Not Found"}`, ...)."""

import http.client
import json
import re
import subprocess
import time
import urllib.parse

import boto3
import pytest
import requests
from botocore.config import Config

import hearth_e2e as h

# API Gateway's routing, events and answers: the sandbox plays no part beyond running the
# function, which every other module checks under both sandboxes.
pytestmark = pytest.mark.sandbox_neutral

# The function (tests/functions/http/echo.py, in http-echo.zip) echoes its event as a
# proxy response, unless the request body asks it to raise, sleep, or answer something else.


# The 1.0 event of AWS's page: its keys, its requestContext's and identity's (the client
# certificate aside: Hearth has no mutual TLS).
V1_KEYS = {"version", "resource", "path", "httpMethod", "headers", "multiValueHeaders",
           "queryStringParameters", "multiValueQueryStringParameters", "requestContext",
           "pathParameters", "stageVariables", "body", "isBase64Encoded"}
V1_CONTEXT_KEYS = {"accountId", "apiId", "authorizer", "domainName", "domainPrefix",
                   "extendedRequestId", "httpMethod", "identity", "path", "protocol",
                   "requestId", "requestTime", "requestTimeEpoch", "resourceId",
                   "resourcePath", "stage"}
V1_IDENTITY_KEYS = {"accessKey", "accountId", "caller", "cognitoAuthenticationProvider",
                    "cognitoAuthenticationType", "cognitoIdentityId", "cognitoIdentityPoolId",
                    "principalOrgId", "sourceIp", "user", "userAgent", "userArn"}
# The 2.0 event's keys (cookies, queryStringParameters, body, pathParameters and
# stageVariables only when there are some; no authorizer or client certificate).
V2_KEYS = {"version", "routeKey", "rawPath", "rawQueryString", "headers", "requestContext",
           "isBase64Encoded"}
V2_CONTEXT_KEYS = {"accountId", "apiId", "domainName", "domainPrefix", "http", "requestId",
                   "routeKey", "stage", "time", "timeEpoch"}

API_KEYS = {"ApiEndpoint", "ApiId", "ApiKeySelectionExpression", "CreatedDate",
            "DisableExecuteApiEndpoint", "IpAddressType", "Name", "ProtocolType",
            "RouteSelectionExpression", "Tags"}


def aws_gw(endpoint, tmp_path, *args, check=True):
    cmd = [*h._aws_command(), "apigatewayv2", *args, "--endpoint-url", endpoint,
           "--region", h.REGION, "--output", "json"]
    return h.run(cmd, env=h.aws_env(tmp_path, endpoint), check=check)


def meta(resp: dict) -> dict:
    return {k: v for k, v in resp.items() if k != "ResponseMetadata"}


def allow_api(client, fn: str, api_id: str, sid: str | None = None, pattern: str = "*"):
    client.add_permission(
        FunctionName=fn, StatementId=sid or f"apigw-{api_id}", Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{h.REGION}:{h.ACCOUNT}:{api_id}/{pattern}")


@pytest.fixture(scope="module")
def gw(server):
    return h.gateway_client(server.endpoint)


@pytest.fixture(scope="module")
def echo(client):
    name = h.unique_name("apigw-echo")
    h.create_function(client, name, "http-echo.zip", handler="echo.handler")
    return name


def make_api(gw, client, fn, version="1.0", routes=("$default",), stage="$default",
             allow=True, **stage_kw):
    api = gw.create_api(Name=h.unique_name("api"), ProtocolType="HTTP")
    integ = gw.create_integration(ApiId=api["ApiId"], IntegrationType="AWS_PROXY",
                                  IntegrationUri=h.function_arn(fn),
                                  PayloadFormatVersion=version)
    for key in routes:
        gw.create_route(ApiId=api["ApiId"], RouteKey=key,
                        Target=f"integrations/{integ['IntegrationId']}")
    gw.create_stage(ApiId=api["ApiId"], StageName=stage, AutoDeploy=True, **stage_kw)
    if allow:
        allow_api(client, fn, api["ApiId"])
    return api, integ


def call(api, path, method="GET", **kw):
    return requests.request(method, api["ApiEndpoint"] + path, timeout=60, **kw)


def test_update_api_changes_what_quick_create_made(client, echo, gw):
    """UpdateApi's Target replaces the quick-create integration's URI and its RouteKey the
    quick-create route's key; an API made without quick create has neither."""
    other = h.unique_name("apigw-other")
    h.create_function(client, other)
    api = gw.create_api(Name=h.unique_name("quick"), ProtocolType="HTTP",
                        Target=h.function_arn(echo))
    allow_api(client, echo, api["ApiId"])
    allow_api(client, other, api["ApiId"])
    assert call(api, "/anything").json()["rawPath"] == "/anything"
    gw.update_api(ApiId=api["ApiId"], Target=h.function_arn(other), RouteKey="GET /only")
    (integration,) = gw.get_integrations(ApiId=api["ApiId"])["Items"]
    assert integration["IntegrationUri"] == h.function_arn(other)
    (route,) = gw.get_routes(ApiId=api["ApiId"])["Items"]
    assert (route["RouteKey"], route["ApiGatewayManaged"]) == ("GET /only", True)
    # The other function (tests/functions/python/app.py) answers with its own name.
    r = call(api, "/only")
    assert r.status_code == 200 and other in r.text, r.text
    assert call(api, "/anything").status_code == 404
    plain = gw.create_api(Name=h.unique_name("plain"), ProtocolType="HTTP")
    with pytest.raises(gw.exceptions.BadRequestException):
        gw.update_api(ApiId=plain["ApiId"], Target=h.function_arn(echo))


def test_quick_create_with_the_cli(server, client, echo, gw, tmp_path):
    arn = h.function_arn(echo)
    out = aws_gw(server.endpoint, tmp_path, "create-api", "--name", "quick",
                 "--protocol-type", "HTTP", "--target", arn)
    api = json.loads(out.stdout)
    assert set(api) == API_KEYS, api
    assert re.fullmatch(r"[a-z0-9]{10}", api["ApiId"])
    assert api["ApiEndpoint"] == f"{server.endpoint}/execute-api/{api['ApiId']}"
    assert api["ProtocolType"] == "HTTP" and api["Name"] == "quick"
    assert api["RouteSelectionExpression"] == "$request.method $request.path"
    assert api["ApiKeySelectionExpression"] == "$request.header.x-api-key"
    assert api["DisableExecuteApiEndpoint"] is False

    integrations = gw.get_integrations(ApiId=api["ApiId"])["Items"]
    assert len(integrations) == 1
    i = integrations[0]
    assert {k: v for k, v in i.items() if k != "IntegrationId"} == {
        "ApiGatewayManaged": True, "ConnectionType": "INTERNET", "IntegrationMethod": "POST",
        "IntegrationType": "AWS_PROXY", "IntegrationUri": arn, "PayloadFormatVersion": "2.0",
        "TimeoutInMillis": 30000}
    routes = gw.get_routes(ApiId=api["ApiId"])["Items"]
    assert [(r["RouteKey"], r["Target"], r["ApiGatewayManaged"]) for r in routes] == [
        ("$default", f"integrations/{i['IntegrationId']}", True)]
    stage = gw.get_stage(ApiId=api["ApiId"], StageName="$default")
    assert stage["AutoDeploy"] is True and stage["ApiGatewayManaged"] is True
    assert stage["LastDeploymentStatusMessage"] == (
        f"Successfully deployed stage with deployment ID '{stage['DeploymentId']}'")

    # As on AWS, quick create from the CLI adds no permission: the function refuses
    # until one is added.
    r = call(api, "/hello")
    assert (r.status_code, r.json()) == (500, {"message": "Internal Server Error"})
    allow_api(client, echo, api["ApiId"], pattern="*/$default")
    r = call(api, "/hello?x=1")
    assert r.status_code == 200, r.text
    event = r.json()
    assert event["version"] == "2.0" and event["routeKey"] == "$default"
    assert event["rawPath"] == "/hello" and event["rawQueryString"] == "x=1"
    assert r.headers["apigw-requestid"] == event["requestContext"]["requestId"]
    # API Gateway names its own id only, not Lambda's.
    assert "x-amzn-requestid" not in r.headers

    got = json.loads(aws_gw(server.endpoint, tmp_path, "get-api", "--api-id",
                            api["ApiId"]).stdout)
    assert got == api
    aws_gw(server.endpoint, tmp_path, "delete-api", "--api-id", api["ApiId"])
    missing = aws_gw(server.endpoint, tmp_path, "get-api", "--api-id", api["ApiId"],
                     check=False)
    assert missing.rc != 0
    assert "(NotFoundException) when calling the GetApi operation" in missing.stderr
    assert missing.stderr.strip().endswith(
        f": Invalid API identifier specified {h.ACCOUNT}:{api['ApiId']}")


def test_control_plane_shapes(gw, server, echo):
    arn = h.function_arn(echo)
    api = meta(gw.create_api(Name="shapes", ProtocolType="HTTP", Description="d",
                             Tags={"team": "a"}))
    assert set(api) == API_KEYS | {"Description"}
    assert api["Tags"] == {"team": "a"}
    assert meta(gw.get_api(ApiId=api["ApiId"])) == api
    updated = meta(gw.update_api(ApiId=api["ApiId"], Name="renamed"))
    assert updated == {**api, "Name": "renamed"}

    integ = meta(gw.create_integration(ApiId=api["ApiId"], IntegrationType="AWS_PROXY",
                                       IntegrationUri=arn, PayloadFormatVersion="1.0",
                                       TimeoutInMillis=5000))
    assert set(integ) == {"ConnectionType", "IntegrationId", "IntegrationMethod",
                          "IntegrationType", "IntegrationUri", "PayloadFormatVersion",
                          "TimeoutInMillis"}
    assert (integ["PayloadFormatVersion"], integ["TimeoutInMillis"]) == ("1.0", 5000)
    assert meta(gw.get_integration(ApiId=api["ApiId"],
                                   IntegrationId=integ["IntegrationId"])) == integ
    integ2 = meta(gw.update_integration(ApiId=api["ApiId"],
                                        IntegrationId=integ["IntegrationId"],
                                        PayloadFormatVersion="2.0"))
    assert integ2 == {**integ, "PayloadFormatVersion": "2.0"}

    route = meta(gw.create_route(ApiId=api["ApiId"], RouteKey="GET /items/{id}",
                                 Target=f"integrations/{integ['IntegrationId']}"))
    assert set(route) == {"ApiKeyRequired", "AuthorizationType", "RouteId", "RouteKey",
                          "Target"}
    assert (route["ApiKeyRequired"], route["AuthorizationType"]) == (False, "NONE")
    assert meta(gw.get_route(ApiId=api["ApiId"], RouteId=route["RouteId"])) == route
    moved = meta(gw.update_route(ApiId=api["ApiId"], RouteId=route["RouteId"],
                                 RouteKey="ANY /{proxy+}"))
    assert moved == {**route, "RouteKey": "ANY /{proxy+}"}
    assert [r["RouteId"] for r in gw.get_routes(ApiId=api["ApiId"])["Items"]] == [
        route["RouteId"]]

    stage = meta(gw.create_stage(ApiId=api["ApiId"], StageName="dev",
                                 StageVariables={"color": "blue"}))
    assert set(stage) == {"AutoDeploy", "CreatedDate", "DefaultRouteSettings",
                          "LastUpdatedDate", "RouteSettings", "StageName", "StageVariables",
                          "Tags"}
    assert stage["DefaultRouteSettings"] == {"DetailedMetricsEnabled": False}
    assert (stage["RouteSettings"], stage["Tags"]) == ({}, {})
    deployment = meta(gw.create_deployment(ApiId=api["ApiId"], StageName="dev"))
    assert set(deployment) == {"AutoDeployed", "CreatedDate", "DeploymentId",
                               "DeploymentStatus"}
    assert deployment["DeploymentStatus"] == "DEPLOYED"
    assert gw.get_stage(ApiId=api["ApiId"], StageName="dev")["DeploymentId"] == \
        deployment["DeploymentId"]
    assert [d["DeploymentId"] for d in gw.get_deployments(ApiId=api["ApiId"])["Items"]] == [
        deployment["DeploymentId"]]
    vars2 = gw.update_stage(ApiId=api["ApiId"], StageName="dev",
                            StageVariables={"color": "green"})["StageVariables"]
    assert vars2 == {"color": "green"}

    # Tags, on the API and through CreateApi's.
    api_arn = f"arn:aws:apigateway:{h.REGION}::/apis/{api['ApiId']}"
    gw.tag_resource(ResourceArn=api_arn, Tags={"env": "test"})
    assert gw.get_tags(ResourceArn=api_arn)["Tags"] == {"team": "a", "env": "test"}
    gw.untag_resource(ResourceArn=api_arn, TagKeys=["team"])
    assert gw.get_tags(ResourceArn=api_arn)["Tags"] == {"env": "test"}

    gw.delete_route(ApiId=api["ApiId"], RouteId=route["RouteId"])
    gw.delete_integration(ApiId=api["ApiId"], IntegrationId=integ["IntegrationId"])
    gw.delete_stage(ApiId=api["ApiId"], StageName="dev")
    assert gw.get_routes(ApiId=api["ApiId"])["Items"] == []
    assert gw.get_stages(ApiId=api["ApiId"])["Items"] == []
    gw.delete_api(ApiId=api["ApiId"])


def test_paging(gw):
    ids = sorted(gw.create_api(Name=f"page-{i}", ProtocolType="HTTP")["ApiId"]
                 for i in range(3))
    seen, token = [], None
    while True:
        kw = {"MaxResults": "1"} | ({"NextToken": token} if token else {})
        page = gw.get_apis(**kw)
        assert len(page["Items"]) <= 1
        seen += [a["ApiId"] for a in page["Items"]]
        token = page.get("NextToken")
        if not token:
            break
    assert set(ids) <= set(seen) and seen == sorted(seen)
    for i in ids:
        gw.delete_api(ApiId=i)


def error(call, **kw):
    with pytest.raises(Exception) as e:
        call(**kw)
    err = e.value.response
    return err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Code"], err["Error"]["Message"]


def test_errors(gw, server, echo):
    raw = h.gateway_client(server.endpoint, validate=False)
    assert error(gw.get_api, ApiId="nope") == (
        404, "NotFoundException", f"Invalid API identifier specified {h.ACCOUNT}:nope")
    assert error(gw.delete_api, ApiId="nope")[:2] == (404, "NotFoundException")
    assert error(gw.create_integration, ApiId="nope", IntegrationType="AWS_PROXY",
                 IntegrationUri=h.function_arn(echo), PayloadFormatVersion="2.0")[2] == \
        f"Invalid API identifier specified {h.ACCOUNT}:nope"
    api = gw.create_api(Name="errors", ProtocolType="HTTP")["ApiId"]
    assert error(raw.create_integration, ApiId=api, IntegrationType="AWS_PROXY",
                 IntegrationUri=h.function_arn(echo), PayloadFormatVersion="3.0")[:2] == (
        400, "BadRequestException")
    assert error(raw.create_integration, ApiId=api, IntegrationType="AWS_PROXY",
                 IntegrationUri=h.function_arn(echo), PayloadFormatVersion="2.0",
                 TimeoutInMillis=10)[:2] == (400, "BadRequestException")
    assert error(gw.create_route, ApiId=api, RouteKey="GET items")[:2] == (
        400, "BadRequestException")
    assert error(gw.create_route, ApiId=api, RouteKey="GET /a",
                 Target="integrations/nope")[:2] == (400, "BadRequestException")
    gw.create_route(ApiId=api, RouteKey="GET /a")
    assert error(gw.create_route, ApiId=api, RouteKey="GET /a")[:2] == (
        409, "ConflictException")
    gw.create_stage(ApiId=api, StageName="s")
    assert error(gw.create_stage, ApiId=api, StageName="s")[:2] == (409, "ConflictException")
    assert error(gw.get_stage, ApiId=api, StageName="other")[:2] == (404, "NotFoundException")
    assert error(gw.get_route, ApiId=api, RouteId="nope")[:2] == (404, "NotFoundException")
    gw.delete_api(ApiId=api)


def test_routing_and_the_1_0_event(gw, client, echo):
    api, _ = make_api(gw, client, echo, "1.0", routes=(
        "GET /items/{id}", "GET /items/special", "ANY /files/{proxy+}", "$default"))

    r = call(api, "/items/7?a=1&a=2&b=x", headers={"X-Multi": "one"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.headers["apigw-requestid"]
    e = r.json()
    assert set(e) == V1_KEYS
    assert set(e["requestContext"]) == V1_CONTEXT_KEYS
    assert set(e["requestContext"]["identity"]) == V1_IDENTITY_KEYS
    assert e["version"] == "1.0" and e["httpMethod"] == "GET"
    assert (e["resource"], e["path"], e["pathParameters"]) == (
        "/items/{id}", "/items/7", {"id": "7"})
    assert e["queryStringParameters"] == {"a": "1", "b": "x"}
    assert e["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["x"]}
    assert e["headers"]["x-multi"] == "one" and e["multiValueHeaders"]["x-multi"] == ["one"]
    assert (e["body"], e["isBase64Encoded"], e["stageVariables"]) == (None, False, None)
    ctx = e["requestContext"]
    assert ctx["apiId"] == api["ApiId"] and ctx["accountId"] == h.ACCOUNT
    assert (ctx["stage"], ctx["resourceId"], ctx["resourcePath"]) == (
        "$default", "GET /items/{id}", "/items/{id}")
    assert ctx["requestId"] == r.headers["apigw-requestid"] == ctx["extendedRequestId"]
    assert ctx["identity"]["sourceIp"] == "127.0.0.1"
    assert ctx["identity"]["userAgent"].startswith("python-requests/")
    assert re.fullmatch(r"\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000",
                        ctx["requestTime"])

    # Precedence: the exact route, then the variable, then greedy, then $default.
    assert call(api, "/items/special").json()["resource"] == "/items/special"
    greedy = call(api, "/files/a/b.txt", "DELETE").json()
    assert (greedy["resource"], greedy["pathParameters"]) == (
        "/files/{proxy+}", {"proxy": "a/b.txt"})
    fallback = call(api, "/elsewhere", "POST", data="plain text",
                    headers={"content-type": "text/plain"}).json()
    assert (fallback["resource"], fallback["requestContext"]["resourceId"]) == (
        "$default", "$default")
    assert (fallback["body"], fallback["isBase64Encoded"]) == ("plain text", False)
    binary = call(api, "/elsewhere", "POST", data=b"\x89PNG",
                  headers={"content-type": "image/png"}).json()
    assert (binary["body"], binary["isBase64Encoded"]) == ("iVBORw==", True)

    # No route and no $default: API Gateway's 404.
    bare, _ = make_api(gw, client, echo, "1.0", routes=("GET /only",))
    r = call(bare, "/other")
    assert (r.status_code, r.json()) == (404, {"message": "Not Found"})
    assert r.headers["apigw-requestid"]


def test_1_0_responses(gw, client, echo):
    api, integ = make_api(gw, client, echo, "1.0", routes=("$default",))
    answer = {"statusCode": 201, "headers": {"x-one": "1", "set-cookie": "dropped"},
              "multiValueHeaders": {"set-cookie": ["a=1", "b=2"]},
              "body": "aGVsbG8=", "isBase64Encoded": True}
    r = call(api, "/", "POST", json={"respond": answer})
    assert r.status_code == 201
    assert (r.headers["x-one"], r.content) == ("1", b"hello")
    assert r.raw.headers.getlist("set-cookie") == ["a=1", "b=2"]
    for bad in ({"body": "no status"}, "just a string"):
        r = call(api, "/", "POST", json={"respond": bad})
        assert (r.status_code, r.json()) == (500, {"message": "Internal Server Error"})
    r = call(api, "/", "POST", json={"raise": True})
    assert (r.status_code, r.json()) == (500, {"message": "Internal Server Error"})
    gw.update_integration(ApiId=api["ApiId"], IntegrationId=integ["IntegrationId"],
                          TimeoutInMillis=1000)
    r = call(api, "/", "POST", json={"sleep": 3})
    assert (r.status_code, r.json()) == (503, {"message": "Service Unavailable"})


def test_2_0_event_on_a_named_stage(gw, client, echo):
    api, _ = make_api(gw, client, echo, "2.0", routes=("GET /items/{id}", "POST /form"),
                      stage="prod", StageVariables={"color": "blue"})
    r = call(api, "/prod/items/9?a=1&a=2", headers={"Cookie": "c1=v1; c2=v2"})
    assert r.status_code == 200, r.text
    e = r.json()
    assert set(e) == V2_KEYS | {"cookies", "queryStringParameters", "pathParameters",
                                "stageVariables"}
    assert set(e["requestContext"]) == V2_CONTEXT_KEYS
    assert set(e["requestContext"]["http"]) == {"method", "path", "protocol", "sourceIp",
                                                "userAgent"}
    assert (e["routeKey"], e["rawPath"], e["rawQueryString"]) == (
        "GET /items/{id}", "/prod/items/9", "a=1&a=2")
    assert e["queryStringParameters"] == {"a": "1,2"}
    assert e["cookies"] == ["c1=v1", "c2=v2"] and "cookie" not in e["headers"]
    assert (e["pathParameters"], e["stageVariables"]) == ({"id": "9"}, {"color": "blue"})
    assert e["requestContext"]["stage"] == "prod"
    # The 2.0 answer's inferred form: anything without statusCode is a 200 JSON body.
    r = call(api, "/prod/form", "POST", json={"respond": {"hello": "world"}})
    assert (r.status_code, r.json()) == (200, {"hello": "world"})
    # Without a $default stage, a path without the stage finds nothing.
    r = call(api, "/items/9")
    assert (r.status_code, r.json()) == (404, {"message": "Not Found"})


def raw_request(api, method, path, headers, body=b""):
    """A request with exactly these headers (repeats included), by http.client."""
    url = urllib.parse.urlsplit(api["ApiEndpoint"])
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    conn.putrequest(method, url.path + path, skip_accept_encoding=True)
    for name, value in headers:
        conn.putheader(name, value)
    if body:
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body or None)
    resp = conn.getresponse()
    out = (resp.status, dict(resp.getheaders()), resp.read())
    conn.close()
    return out


def test_2_0_event_whole(gw, client, echo):
    """The 2.0 event of the page's example request, compared whole: only the request's id,
    time and host are the server's own."""
    api, _ = make_api(gw, client, echo, "2.0", routes=("POST /my/{name}",),
                      StageVariables={"stageVariable1": "value1"})
    query = "parameter1=value1&parameter1=value2&parameter2=value"
    before = int(time.time() * 1000)
    status, headers, body = raw_request(
        api, "POST", "/my/path?" + query,
        [("Header1", "value1"), ("Header2", "value1"), ("Header2", "value2"),
         ("Cookie", "cookie1; cookie2"), ("User-Agent", "agent"),
         ("Content-Type", "text/plain")],
        b"Hello from client!")
    assert status == 200, body
    e = json.loads(body)
    ctx = e["requestContext"]
    host = urllib.parse.urlsplit(api["ApiEndpoint"]).netloc
    assert e == {
        "version": "2.0",
        "routeKey": "POST /my/{name}",
        "rawPath": "/my/path",
        "rawQueryString": query,
        "cookies": ["cookie1", "cookie2"],
        "headers": {"host": host, "header1": "value1", "header2": "value1,value2",
                    "user-agent": "agent", "content-type": "text/plain",
                    "content-length": "18"},
        "queryStringParameters": {"parameter1": "value1,value2", "parameter2": "value"},
        "requestContext": {
            "accountId": h.ACCOUNT,
            "apiId": api["ApiId"],
            "domainName": ctx["domainName"],
            "domainPrefix": ctx["domainName"].split(".")[0],
            "http": {"method": "POST", "path": "/my/path", "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "agent"},
            "requestId": headers["apigw-requestid"],
            "routeKey": "POST /my/{name}",
            "stage": "$default",
            "time": ctx["time"],
            "timeEpoch": ctx["timeEpoch"],
        },
        "body": "Hello from client!",
        "pathParameters": {"name": "path"},
        "isBase64Encoded": False,
        "stageVariables": {"stageVariable1": "value1"},
    }
    assert before <= ctx["timeEpoch"] <= int(time.time() * 1000)
    assert ctx["time"] == time.strftime("%d/%b/%Y:%H:%M:%S +0000",
                                        time.gmtime(ctx["timeEpoch"] / 1000))
    # A string answer is the body of a 200 JSON answer; cookies become Set-Cookie.
    r = call(api, "/my/x", "POST", json={"respond": "Hello from Lambda!"})
    assert (r.status_code, r.headers["content-type"], r.text) == (
        200, "application/json", "Hello from Lambda!")
    r = call(api, "/my/x", "POST", json={"respond": {
        "statusCode": "201", "cookies": ["a=1", "b=2; Path=/"], "body": "made"}})
    assert (r.status_code, r.text) == (201, "made")
    assert r.raw.headers.getlist("set-cookie") == ["a=1", "b=2; Path=/"]
    r = call(api, "/my/x", "POST", json={"respond": {"statusCode": 200, "body": {"a": 1}}})
    assert (r.status_code, r.json()) == (500, {"message": "Internal Server Error"})


def test_cors(gw, client):
    """An API's CorsConfiguration: API Gateway answers preflights itself, whatever the
    routes, and its headers replace the function's on every answer. Requests from other
    origins pass the server's request guard: APIs are public endpoints."""
    echo = h.unique_name("apigw-cors")
    h.create_function(client, echo, "http-echo.zip", handler="echo.handler")
    api, _ = make_api(gw, client, echo, "2.0", routes=("GET /items", "OPTIONS /opt"))
    gw.update_api(ApiId=api["ApiId"], CorsConfiguration={
        "AllowOrigins": ["https://app.example.com"], "AllowMethods": ["GET", "POST"],
        "AllowHeaders": ["x-custom"], "ExposeHeaders": ["x-trace"], "MaxAge": 300})
    origin = "https://app.example.com"
    cors_keys = lambda r: {k.lower(): v for k, v in r.headers.items()  # noqa: E731
                           if k.lower().startswith("access-control-")}
    pre = {"Origin": origin, "Access-Control-Request-Method": "POST",
           "Access-Control-Request-Headers": "X-Custom"}
    # No OPTIONS route for /items, and the one for /opt is not invoked: a bare 204.
    for path in ("/items", "/opt", "/nowhere"):
        r = call(api, path, "OPTIONS", headers=pre)
        assert (r.status_code, r.content) == (204, b""), (path, r.text)
        assert cors_keys(r) == {
            "access-control-allow-origin": origin,
            "access-control-allow-methods": "GET,POST",
            "access-control-allow-headers": "x-custom",
            "access-control-max-age": "300"}, path
        assert r.headers["vary"] == "Origin"
    # A preflight from another origin, or for a method not allowed: no CORS headers.
    r = call(api, "/items", "OPTIONS", headers={**pre, "Origin": "https://evil.example"})
    assert (r.status_code, cors_keys(r)) == (204, {})
    r = call(api, "/items", "OPTIONS", headers={**pre, "Access-Control-Request-Method": "PUT"})
    assert (r.status_code, cors_keys(r)) == (204, {})
    # An OPTIONS request that is no preflight reaches the function.
    r = call(api, "/opt", "OPTIONS", headers={"Origin": origin})
    assert r.status_code == 200 and r.json()["requestContext"]["http"]["method"] == "OPTIONS"
    # The actual request: the configured headers, the function's own dropped.
    r = call(api, "/items", headers={"Origin": origin})
    assert r.status_code == 200 and r.json()["headers"]["origin"] == origin
    assert cors_keys(r) == {"access-control-allow-origin": origin,
                            "access-control-expose-headers": "x-trace"}
    fn_cors = {"statusCode": 200, "body": "x",
               "headers": {"Access-Control-Allow-Origin": "*", "X-Own": "kept"}}
    r = call(api, "/items", "GET", headers={"Origin": origin},
             data=json.dumps({"respond": fn_cors}))
    assert (r.headers["x-own"], cors_keys(r)["access-control-allow-origin"]) == ("kept", origin)
    r = call(api, "/items", "GET", headers={"Origin": "https://evil.example"},
             data=json.dumps({"respond": fn_cors}))
    assert (r.headers["x-own"], cors_keys(r)) == ("kept", {})
    # Without a configuration, preflights go to the routes like any request.
    plain, _ = make_api(gw, client, echo, "2.0", routes=("GET /items",))
    r = call(plain, "/items", "OPTIONS", headers=pre)
    assert (r.status_code, r.json(), cors_keys(r)) == (404, {"message": "Not Found"}, {})


def test_curl_reaches_a_route(gw, client, echo):
    api, _ = make_api(gw, client, echo, "1.0", routes=("GET /hello/{name}",))
    out = subprocess.run(["curl", "-s", "-i", api["ApiEndpoint"] + "/hello/world"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    head, _, body = out.partition("\n\n")
    assert body, out
    assert head.startswith("HTTP/1.1 200")
    assert re.search(r"(?im)^apigw-requestid: \S+", head)
    assert json.loads(body)["pathParameters"] == {"name": "world"}


def test_permission_is_needed(gw, client):
    fn = h.unique_name("apigw-noperm")
    h.create_function(client, fn, "http-echo.zip", handler="echo.handler")
    api, _ = make_api(gw, client, fn, "2.0", routes=("GET /x",), allow=False)
    r = call(api, "/x")
    assert (r.status_code, r.json()) == (500, {"message": "Internal Server Error"})
    # A permission for another API's source does not let this one in.
    allow_api(client, fn, "otherapi01", sid="other")
    assert call(api, "/x").status_code == 500
    # One for this API's GET routes of any stage does.
    allow_api(client, fn, api["ApiId"], pattern="*/GET/*")
    assert call(api, "/x").status_code == 200
    # A function that may not run now (reserved concurrency 0) is throttled: 429.
    client.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=0)
    r = call(api, "/x")
    assert (r.status_code, r.json()) == (429, {"message": "Too Many Requests"})
    assert r.headers["apigw-requestid"]


def test_restart_keeps_apis(own_server):
    client = h.lambda_client(own_server.endpoint)
    gw = h.gateway_client(own_server.endpoint)
    fn = h.unique_name("apigw-restart")
    h.create_function(client, fn, "http-echo.zip", handler="echo.handler")
    api, _ = make_api(gw, client, fn, "1.0", routes=("GET /items/{id}",))
    before = {"api": meta(gw.get_api(ApiId=api["ApiId"])),
              "routes": gw.get_routes(ApiId=api["ApiId"])["Items"],
              "integrations": gw.get_integrations(ApiId=api["ApiId"])["Items"],
              "stages": gw.get_stages(ApiId=api["ApiId"])["Items"]}
    own_server.restart()
    gw = h.gateway_client(own_server.endpoint)
    after = {"api": meta(gw.get_api(ApiId=api["ApiId"])),
             "routes": gw.get_routes(ApiId=api["ApiId"])["Items"],
             "integrations": gw.get_integrations(ApiId=api["ApiId"])["Items"],
             "stages": gw.get_stages(ApiId=api["ApiId"])["Items"]}
    # The API keeps everything but its address, the restarted server's.
    assert after["api"].pop("ApiEndpoint") == (
        f"{own_server.endpoint}/execute-api/{api['ApiId']}")
    before["api"].pop("ApiEndpoint")
    assert after == before
    r = call({"ApiEndpoint": f"{own_server.endpoint}/execute-api/{api['ApiId']}"}, "/items/5")
    assert r.status_code == 200 and r.json()["pathParameters"] == {"id": "5"}


def test_iam_authorizes_by_method_and_resource(server, gw, tmp_path):
    """A user may do what its policy allows of `apigateway:<METHOD>` on
    `arn:aws:apigateway:REGION::/apis...`, and no more; another account sees none of the
    default account's APIs."""
    mine = gw.create_api(Name="iam", ProtocolType="HTTP")["ApiId"]
    reader = h.user_key(server, tmp_path, h.ACCOUNT, h.unique_name("reader"), [{
        "Effect": "Allow", "Action": "apigateway:GET",
        "Resource": [f"arn:aws:apigateway:{h.REGION}::/apis",
                     f"arn:aws:apigateway:{h.REGION}::/apis/*"]}])
    as_reader = boto3.session.Session().client(
        "apigatewayv2", region_name=h.REGION, endpoint_url=server.endpoint,
        aws_access_key_id=reader[0], aws_secret_access_key=reader[1],
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
    assert as_reader.get_api(ApiId=mine)["Name"] == "iam"
    assert mine in [a["ApiId"] for a in as_reader.get_apis()["Items"]]
    status, code, message = error(as_reader.create_api, Name="no", ProtocolType="HTTP")
    assert (status, code) == (403, "AccessDeniedException")
    assert f"apigateway:POST on resource: arn:aws:apigateway:{h.REGION}::/apis" in message
    assert error(as_reader.delete_api, ApiId=mine)[:2] == (403, "AccessDeniedException")

    other = h.user_key(server, tmp_path, "111111111111", "root-ish", [{
        "Effect": "Allow", "Action": "apigateway:*", "Resource": "*"}])
    as_other = boto3.session.Session().client(
        "apigatewayv2", region_name=h.REGION, endpoint_url=server.endpoint,
        aws_access_key_id=other[0], aws_secret_access_key=other[1],
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
    assert error(as_other.get_api, ApiId=mine) == (
        404, "NotFoundException", f"Invalid API identifier specified 111111111111:{mine}")
    assert mine not in [a["ApiId"] for a in as_other.get_apis()["Items"]]
    gw.delete_api(ApiId=mine)


def test_a_stage_without_auto_deploy_serves_its_deployment(gw, client, echo):
    api = gw.create_api(Name="deployed", ProtocolType="HTTP")
    api_id = api["ApiId"]
    integ = gw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY",
                                  IntegrationUri=h.function_arn(echo),
                                  PayloadFormatVersion="1.0")["IntegrationId"]
    gw.create_route(ApiId=api_id, RouteKey="GET /a", Target=f"integrations/{integ}")
    gw.create_stage(ApiId=api_id, StageName="v1")
    allow_api(client, echo, api_id)
    # Never deployed: nothing answers.
    assert call(api, "/v1/a").status_code == 404
    first = gw.create_deployment(ApiId=api_id, StageName="v1")["DeploymentId"]
    e = call(api, "/v1/a").json()
    # The 1.0 event's paths keep the stage, as HTTP APIs send them.
    assert (e["resource"], e["path"], e["requestContext"]["path"]) == ("/a", "/v1/a", "/v1/a")
    assert e["requestContext"]["stage"] == "v1"
    # A route added later is not in the stage until the next deployment.
    gw.create_route(ApiId=api_id, RouteKey="GET /b", Target=f"integrations/{integ}")
    assert call(api, "/v1/b").status_code == 404
    second = gw.create_deployment(ApiId=api_id, StageName="v1")["DeploymentId"]
    assert call(api, "/v1/b").json()["resource"] == "/b"
    assert error(gw.delete_deployment, ApiId=api_id, DeploymentId=second) == (
        400, "BadRequestException",
        "Active stages pointing to this deployment must be moved or deleted")
    gw.delete_deployment(ApiId=api_id, DeploymentId=first)
    assert [d["DeploymentId"] for d in gw.get_deployments(ApiId=api_id)["Items"]] == [second]
    gw.delete_api(ApiId=api_id)


def test_writes_reach_the_audit_trail(server, gw):
    """CreateApi and DeleteApi are recorded as API Gateway's (CloudTrail's LookupEvents);
    GetApi, a read, is not."""
    created = gw.create_api(Name="audited", ProtocolType="HTTP")
    api_id = created["ApiId"]
    gw.get_api(ApiId=api_id)
    deleted = gw.delete_api(ApiId=api_id)
    ids = [created["ResponseMetadata"]["RequestId"], deleted["ResponseMetadata"]["RequestId"]]
    trail = boto3.session.Session().client(
        "cloudtrail", region_name=h.REGION, endpoint_url=server.endpoint,
        **h.key_args(server.endpoint), config=Config(retries={"total_max_attempts": 1}))
    found = {}

    def recorded():
        for e in trail.lookup_events(MaxResults=50)["Events"]:
            event = json.loads(e["CloudTrailEvent"])
            if event["requestID"] in ids:
                found[event["eventName"]] = (event, e)
        return len(found) == 2

    assert h.wait_until(recorded, timeout=10), found
    event, summary = found["CreateApi"]
    assert event["eventSource"] == "apigateway.amazonaws.com"
    resource = f"arn:aws:apigateway:{h.REGION}::/apis"
    assert resource in [r.get("ResourceName") for r in summary["Resources"]]
    event, summary = found["DeleteApi"]
    assert f"{resource}/{api_id}" in [r.get("ResourceName") for r in summary["Resources"]]
