"""Error answers on the wire exactly as AWS gives them: HTTP status, `x-amzn-ErrorType` and the
whole JSON body (its keys, `Type` or not, `message` or `Message`), for the cases AWS's recorded
answers cover (LocalStack's snapshots of real AWS, `lambda___test_lambda_api.snapshot.json`; the
snapshot key is named next to each expectation), and the typed answer of every operation of the
Lambda model that Hearth does not implement.

Calls go through boto3 with parameter validation off (so the server decides) and the raw HTTP
answer is captured from botocore's `after-call` event; a few go through the AWS CLI.
"""

import base64
import json
from pathlib import Path
import re

import botocore.session
import pytest
from botocore.exceptions import ClientError

import hearth_e2e as h

# How environments are isolated plays no part here (or the tests choose their sandbox
# themselves): run once, in the jail pass, not again under the process sandbox
# (scripts/test.sh).
pytestmark = pytest.mark.sandbox_neutral


VALIDATION = "ValidationException"
IPV = "InvalidParameterValueException"
NOT_FOUND = "ResourceNotFoundException"

# The models' patterns, as AWS quotes them.
NAMESPACED = (r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
              r"(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?")
FUNCTION_NAME = (r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
                 r"(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?")
QUALIFIER = r"\$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+"
SUPPORTED = ("nodejs20.x, python3.14, provided.al2023, python3.12, python3.13, nodejs24.x, nodejs22.x, "
             "java25, python3.10, python3.11, java21, ruby3.3, ruby3.4, ruby3.2, python3.8, python3.9, "
             "java17, nodejs16.x, dotnet10, dotnet8, java11, dotnet6, nodejs18.x, provided.al2, "
             "java8.al2, ruby4.0")


def wire_error(client, operation: str, **params) -> dict:
    """Calls `operation`, which must fail; its raw answer as
    {"status", "type", "body"}, after checking botocore read the same code and message."""
    captured = {}

    def grab(http_response, **_):
        captured["r"] = http_response

    client.meta.events.register("after-call.lambda", grab)
    try:
        with pytest.raises(ClientError) as e:
            getattr(client, operation)(**params)
    finally:
        client.meta.events.unregister("after-call.lambda", grab)
    r = captured["r"]
    body = json.loads(r.content) if r.content else None
    out = {"status": r.status_code, "type": r.headers.get("x-amzn-ErrorType"), "body": body}
    status, code, message = h.error_of(e.value)
    assert (status, code) == (out["status"], out["type"])
    if isinstance(body, dict) and (body.get("message") or body.get("Message")):
        assert message == (body.get("message") or body.get("Message"))
    return out


def _cli_error(text: str) -> str:
    """botocore's error line, without the retry note its standard retry mode adds (which shows
    the error was not retried)."""
    return re.sub(r" \(reached max retries: \d+\)", "", text.strip())


def validation(*violations: str) -> dict:
    n = len(violations)
    noun = "error" if n == 1 else "errors"
    return {"status": 400, "type": VALIDATION,
            "body": {"message": f"{n} validation {noun} detected: " + "; ".join(violations)}}


def typed(status: int, code: str, message: str) -> dict:
    key = "Message" if code in (NOT_FOUND, "AccessDeniedException") else "message"
    return {"status": status, "type": code, "body": {"Type": "User", key: message}}


def untyped(status: int, code: str, message: str) -> dict:
    return {"status": status, "type": code, "body": {"message": message}}


@pytest.fixture(scope="module")
def fn(client):
    """A function with versions 1 and 2 and an alias `live` on 1."""
    name = h.unique_name("wire")
    h.create_function(client, name)
    client.publish_version(FunctionName=name)
    h.update_config(client, name, Description="second")
    client.publish_version(FunctionName=name)
    client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    return name


# --- names and qualifiers ---------------------------------------------------------------------

def test_every_violated_constraint_of_name_and_qualifier_is_listed(raw_client):
    # test_function_name_and_qualifier_validation[invalid_characters_in_function_name / ..._qualifier]
    assert wire_error(raw_client, "get_function", FunctionName="my-function!") == validation(
        f"Value 'my-function!' at 'functionName' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {NAMESPACED}")
    assert wire_error(raw_client, "delete_function", FunctionName="my-function",
                      Qualifier="invalid!") == validation(
        f"Value 'invalid!' at 'qualifier' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {QUALIFIER}")
    # [full_arn_and_qualifier_too_long_and_invalid_region]: two members, two errors.
    long_arn = f"arn:aws:lambda:invalid-region:{h.ACCOUNT}:function:my-function-{'a' * 170}"
    assert wire_error(raw_client, "get_function", FunctionName=long_arn, Qualifier="a" * 129) == validation(
        f"Value '{long_arn}' at 'functionName' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {NAMESPACED}",
        f"Value '{'a' * 129}' at 'qualifier' failed to satisfy constraint: "
        f"Member must have length less than or equal to 128")
    # [function_name_too_long_and_invalid_region-create_function]: one member, two constraints.
    create_arn = f"arn:aws:lambda:invalid-region:{h.ACCOUNT}:function:my-function{'a' * 170}"
    assert wire_error(raw_client, "create_function", FunctionName=create_arn, Role=h.ROLE,
                      Runtime=h.PYTHON, Handler="app.handler",
                      Code={"ZipFile": h.zip_bytes("python.zip")}) == validation(
        f"Value '{create_arn}' at 'functionName' failed to satisfy constraint: "
        "Member must have length less than or equal to 140",
        f"Value '{create_arn}' at 'functionName' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {FUNCTION_NAME}")


def test_loose_names_and_other_regions_and_accounts(raw_client, fn):
    # Partial ARNs, `name:qualifier` and dotted names are well-formed references.
    got = raw_client.get_function(FunctionName=f"{h.ACCOUNT}:function:{fn}:1")["Configuration"]
    assert (got["FunctionName"], got["Version"]) == (fn, "1")
    assert raw_client.get_function_configuration(FunctionName=f"{fn}:live")["Version"] == "1"
    # [function_name_too_long-get_function]: a long name is only a function that does not exist.
    long = "a" * 65
    assert wire_error(raw_client, "get_function", FunctionName=long) == typed(
        404, NOT_FOUND, f"Function not found: {h.function_arn(long)}")
    # [function_name_too_long-invoke]: Invoke names the $LATEST it would run.
    assert wire_error(raw_client, "invoke", FunctionName=long) == typed(
        404, NOT_FOUND, f"Function not found: {h.function_arn(long, '$LATEST')}")
    # [incomplete_arn-get_function]: the ARN cut short names the function "function".
    assert wire_error(raw_client, "get_function", FunctionName=f"arn:aws:lambda:{h.REGION}:{h.ACCOUNT}:function") \
        == typed(404, NOT_FOUND, f"Function not found: {h.function_arn('function')}")
    # test_get_function_wrong_region / test_function_arns[function_arn_other_region_exc].
    other = f"arn:aws:lambda:ap-southeast-1:{h.ACCOUNT}:function:{fn}"
    for op, extra in [("get_function", {}), ("get_function_configuration", {}), ("delete_function", {}),
                      ("invoke", {}), ("get_function_concurrency", {}),
                      ("get_function_event_invoke_config", {})]:
        assert wire_error(raw_client, op, FunctionName=other, **extra) == typed(
            404, NOT_FOUND, "Functions from 'ap-southeast-1' are not reachable in this region ('us-east-1')"), op
    # [function_arn_other_account_exc]: 403 with a null message.
    assert wire_error(raw_client, "create_function", FunctionName=f"arn:aws:lambda:{h.REGION}:123456789012:function:x",
                      Role=h.ROLE, Runtime=h.PYTHON, Handler="app.handler",
                      Code={"ZipFile": h.zip_bytes("python.zip")}) == {
        "status": 403, "type": "AccessDeniedException", "body": {"Message": None}}
    # test_ops_with_arn_qualifier_mismatch[not_match_exception].
    assert wire_error(raw_client, "get_function", FunctionName=h.function_arn(fn, "1"), Qualifier="$LATEST") \
        == typed(400, IPV, "The derived qualifier from the function name does not match the specified qualifier.")
    # test_invalid_invoke: a name that breaks the pattern.
    bad = f"arn:aws:lambda:{h.REGION}:123400000000@function:myfn"
    assert wire_error(raw_client, "invoke", FunctionName=bad) == validation(
        f"Value '{bad}' at 'functionName' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {NAMESPACED}")


def test_the_aws_cli_shows_awss_words(aws):
    other = f"arn:aws:lambda:ap-southeast-1:{h.ACCOUNT}:function:f"
    out = aws("get-function", "--function-name", other, check=False)
    assert out.rc != 0
    assert _cli_error(out.stderr) == (
        "An error occurred (ResourceNotFoundException) when calling the GetFunction operation: "
        "Functions from 'ap-southeast-1' are not reachable in this region ('us-east-1')")


# --- CreateFunction and UpdateFunctionConfiguration ------------------------------------------

def _create(raw_client, **overrides):
    params = dict(FunctionName=h.unique_name("wire-c"), Runtime=h.PYTHON, Role=h.ROLE,
                  Handler="app.handler", Code={"ZipFile": h.zip_bytes("python.zip")})
    params.update(overrides)
    return wire_error(raw_client, "create_function", **{k: v for k, v in params.items() if v is not None})


def test_create_function_in_awss_words(raw_client):
    # test_function_arns[long_function_name_exc]: Lambda's own rule, in the validator's words, typed.
    long = "a" * 65
    assert _create(raw_client, FunctionName=long) == typed(
        400, IPV, f"1 validation error detected: Value '{long}' at 'functionName' failed to satisfy "
                  "constraint: Member must have length less than or equal to 64")
    # test_create_lambda_exceptions.
    assert _create(raw_client, Role="r1") == validation(
        "Value 'r1' at 'role' failed to satisfy constraint: Member must satisfy regular expression "
        r"pattern: arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+")
    for runtime in ["non-existent-runtime", "PYTHON3.9"]:
        assert _create(raw_client, Runtime=runtime) == typed(
            400, IPV, f"Value {runtime} at 'runtime' failed to satisfy constraint: Member must satisfy "
                      f"enum value set: [{SUPPORTED}] or be a valid ARN")
    assert _create(raw_client, Architectures=["x86_64", "arm64"]) == validation(
        "Value '[x86_64, arm64]' at 'architectures' failed to satisfy constraint: "
        "Member must have length less than or equal to 1")
    assert _create(raw_client, Architectures=["X86_64"]) == validation(
        "Value '[X86_64]' at 'architectures' failed to satisfy constraint: Member must satisfy constraint: "
        "[Member must satisfy enum value set: [x86_64, arm64], Member must not be null]")
    assert _create(raw_client, Code={"ZipFile": b"not a zip"}) == typed(
        400, IPV, "Could not unzip uploaded file. Please check your file, then try to upload again.")


@pytest.mark.parametrize("runtime", ["provided", "go1.x", "python3.7", "nodejs12.x", "java8", "dotnetcore3.1"])
def test_deprecated_runtimes_are_refused_as_aws_does(raw_client, fn, runtime):
    # TestRuntimeValidation::test_create_deprecated_function_runtime_with_validation_enabled.
    expected = typed(400, IPV, f"The runtime parameter of {runtime} is no longer supported for creating or "
                               "updating AWS Lambda functions. We recommend you use a supported runtime "
                               "while creating or updating functions.")
    assert _create(raw_client, Runtime=runtime) == expected
    assert wire_error(raw_client, "update_function_configuration", FunctionName=fn, Runtime=runtime) == expected


def test_every_member_is_checked_before_lambdas_rules(raw_client, fn):
    """Multi-fault requests: the model's constraints (all of them, in the model's member order),
    then Lambda's rules (runtime, limits), then what needs the function (the engine)."""
    assert _create(raw_client, FunctionName="bad name", Role="r", Handler="a b", Timeout=0,
                   Runtime="cobol") == validation(
        f"Value 'bad name' at 'functionName' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {FUNCTION_NAME}",
        "Value 'r' at 'role' failed to satisfy constraint: Member must satisfy regular expression "
        r"pattern: arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+",
        r"Value 'a b' at 'handler' failed to satisfy constraint: Member must satisfy regular expression pattern: [^\s]+",
        "Value '0' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1")
    assert wire_error(raw_client, "update_function_configuration", FunctionName="nope!", MemorySize=64,
                      Runtime="cobol") == validation(
        f"Value 'nope!' at 'functionName' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {FUNCTION_NAME}",
        "Value '64' at 'memorySize' failed to satisfy constraint: Member must have value greater than or equal to 128")
    # A valid request for a missing function: Lambda's runtime rule comes before the lookup.
    assert wire_error(raw_client, "update_function_configuration", FunctionName=h.unique_name("gone"),
                      Runtime="go1.x")["body"]["message"].startswith("The runtime parameter of go1.x")


def test_environment_size_message_keeps_the_request_order(raw_client):
    # test_large_environment_fails_multiple_keys.
    big = "x" * 4096
    got = _create(raw_client, Environment={"Variables": {"SMALL_VAR": "ok", "LARGE_VAR": big}})
    measured = json.dumps({"SMALL_VAR": "ok", "LARGE_VAR": big}, separators=(",", ":"))
    assert got == typed(400, IPV, "Lambda was unable to configure your environment variables because the "
                                  "environment variables you have provided exceeded the 4KB limit. "
                                  f"String measured: {measured}")


def test_a_zip_over_50_mb_is_too_large_for_the_front_end(server):
    # test_oversized_zipped_create_lambda: 413 RequestEntityTooLargeException, no Type.
    zip_b64 = base64.b64encode(b"\0" * (52428800 + 1)).decode()
    body = json.dumps({"FunctionName": h.unique_name("wire-big"), "Role": h.ROLE, "Runtime": h.PYTHON,
                       "Handler": "app.handler", "Code": {"ZipFile": zip_b64}}).encode()
    status, headers, raw = h.http_request(f"{server.endpoint}/2015-03-31/functions", "POST", body,
                                          {"Content-Type": "application/json"}, timeout=120)
    assert {"status": status, "type": headers.get("x-amzn-ErrorType"), "body": json.loads(raw)} == untyped(
        413, "RequestEntityTooLargeException", "Zipped size must be smaller than 52428800 bytes")


# --- versions, aliases, concurrency, event invoke configs -------------------------------------

def test_versions_in_awss_words(raw_client, fn):
    # test_publish_with_wrong_sha256: a 400, not a 412.
    current = raw_client.get_function_configuration(FunctionName=fn)["CodeSha256"]
    assert wire_error(raw_client, "publish_version", FunctionName=fn, CodeSha256="somenonexistentsha256") == typed(
        400, IPV, f"CodeSHA256 (somenonexistentsha256) is different from current CodeSHA256 in $LATEST "
                  f"({current}). Please try again with the CodeSHA256 in $LATEST.")
    # test_delete_on_nonexisting_version: deleting a version that does not exist is a 204, twice.
    for _ in range(2):
        assert raw_client.delete_function(FunctionName=fn, Qualifier="1233")["ResponseMetadata"]["HTTPStatusCode"] == 204
    # test_ops_with_arn_qualifier_mismatch[delete_function match_exception]; an alias (qualifier_too_long1).
    assert wire_error(raw_client, "delete_function", FunctionName=fn, Qualifier="$LATEST") == typed(
        400, IPV, "$LATEST version cannot be deleted without deleting the function.")
    assert wire_error(raw_client, "delete_function", FunctionName=fn, Qualifier="live") == typed(
        400, IPV, "Deletion of aliases is not currently supported.")
    gone = h.unique_name("gone")
    assert wire_error(raw_client, "delete_function", FunctionName=gone, Qualifier="1233") == typed(
        404, NOT_FOUND, f"Function not found: {h.function_arn(gone)}")


def test_alias_errors_in_awss_words(raw_client, fn):
    # test_notfound_and_invalid_routingconfigs.
    def create(**kw):
        return wire_error(raw_client, "create_alias", FunctionName=fn, Name="custom", **kw)

    assert create(FunctionVersion="1", RoutingConfig={"AdditionalVersionWeights": {"1": 0.8, "2": 0.2}}) == typed(
        400, IPV, "Number of items in AdditionalVersionWeights cannot be greater than 1")
    weights_field = "at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: "
    assert create(FunctionVersion="1", RoutingConfig={"AdditionalVersionWeights": {"2": 2}}) == validation(
        "Value '{2=2.0}' " + weights_field + "Map value must satisfy constraint: [Member must have value less "
        "than or equal to 1.0, Member must have value greater than or equal to 0.0, Member must not be null]")
    assert create(FunctionVersion="1", RoutingConfig={"AdditionalVersionWeights": {"$LATEST": 0.5}}) == validation(
        "Value '{$LATEST=0.5}' " + weights_field + "Map keys must satisfy constraint: [Member must have length "
        "less than or equal to 1024, Member must have length greater than or equal to 1, Member must satisfy "
        "regular expression pattern: [0-9]+]")
    assert create(FunctionVersion="1", RoutingConfig={"AdditionalVersionWeights": {"1": 0.5}}) == typed(
        400, IPV, "Invalid function version 1. Function version 1 is already included in routing configuration.")
    assert create(FunctionVersion="$LATEST", RoutingConfig={"AdditionalVersionWeights": {"1": 0.5}}) == untyped(
        400, IPV, "$LATEST is not supported for an alias pointing to more than 1 version")
    assert create(FunctionVersion="10", RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}}) == typed(
        404, NOT_FOUND, f"Function not found: {h.function_arn(fn, '10')}")
    missing = f"{fn}-unknown"
    assert wire_error(raw_client, "create_alias", FunctionName=missing, Name="custom", FunctionVersion="1") == typed(
        404, NOT_FOUND, f"Function not found: {h.function_arn(missing, '1')}")
    # test_alias_naming: a number is not an alias name, and the pattern comes before existence.
    assert wire_error(raw_client, "create_alias", FunctionName=missing, Name="2024", FunctionVersion="1") == validation(
        "Value '2024' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: "
        "(?!^[0-9]+$)([a-zA-Z0-9-_]+)")
    assert wire_error(raw_client, "get_alias", FunctionName=fn, Name="non-existent") == typed(
        404, NOT_FOUND, f"Cannot find alias arn: {h.function_arn(fn, 'non-existent')}")
    # test_non_existent_alias_update / _deletion.
    assert wire_error(raw_client, "update_alias", FunctionName=fn, Name="non-existent", Description="x") == typed(
        404, NOT_FOUND, f"Alias not found: {h.function_arn(fn, 'non-existent')}")
    assert raw_client.delete_alias(FunctionName=fn, Name="non-existent")["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_concurrency_errors_in_awss_words(raw_client, fn):
    # test_function_concurrency_exceptions.
    assert wire_error(raw_client, "put_function_concurrency", FunctionName="doesnotexist",
                      ReservedConcurrentExecutions=1) == typed(
        404, NOT_FOUND, f"Function not found: {h.function_arn('doesnotexist', '$LATEST')}")
    assert wire_error(raw_client, "put_function_concurrency", FunctionName=h.function_arn(fn, "$LATEST"),
                      ReservedConcurrentExecutions=0) == typed(
        400, IPV, "This operation is permitted on Lambda functions only. Aliases and versions do not support "
                  "this operation. Please specify either a function name or an unqualified function ARN.")
    # test_provisioned_concurrency_exceptions.
    assert wire_error(raw_client, "get_provisioned_concurrency_config", FunctionName=fn, Qualifier="1") == typed(
        404, "ProvisionedConcurrencyConfigNotFoundException", "No Provisioned Concurrency Config found for this function")
    assert wire_error(raw_client, "get_provisioned_concurrency_config", FunctionName="doesnotexist",
                      Qualifier="noalias") == typed(
        404, NOT_FOUND, f"Cannot find alias arn: {h.function_arn('doesnotexist', 'noalias')}")
    assert wire_error(raw_client, "get_provisioned_concurrency_config", FunctionName=fn, Qualifier="10") == typed(
        404, NOT_FOUND, f"Function not found: {h.function_arn(fn, '10')}")
    for op in ["get_provisioned_concurrency_config", "delete_provisioned_concurrency_config"]:
        assert wire_error(raw_client, op, FunctionName=fn, Qualifier="$LATEST") == typed(
            400, IPV, "The function resource provided must be an alias or a published version.")
    assert wire_error(raw_client, "put_provisioned_concurrency_config", FunctionName=fn, Qualifier="$LATEST",
                      ProvisionedConcurrentExecutions=1) == typed(
        400, IPV, "Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
    assert wire_error(raw_client, "put_provisioned_concurrency_config", FunctionName=fn, Qualifier="1",
                      ProvisionedConcurrentExecutions=0) == validation(
        "Value '0' at 'provisionedConcurrentExecutions' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1")


def test_conflicting_provisioned_concurrency(raw_client):
    # test_lambda_provisioned_lifecycle: one configuration per version, on it or on an alias to it.
    name = h.unique_name("wire-pc")
    h.create_function(raw_client, name)
    raw_client.publish_version(FunctionName=name)
    raw_client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    raw_client.put_provisioned_concurrency_config(FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=1)
    assert wire_error(raw_client, "put_provisioned_concurrency_config", FunctionName=name, Qualifier="live",
                      ProvisionedConcurrentExecutions=1) == typed(
        409, "ResourceConflictException",
        "Alias can't be used for Provisioned Concurrency configuration on an already Provisioned version")
    raw_client.delete_provisioned_concurrency_config(FunctionName=name, Qualifier="1")
    raw_client.put_provisioned_concurrency_config(FunctionName=name, Qualifier="live", ProvisionedConcurrentExecutions=1)
    assert wire_error(raw_client, "put_provisioned_concurrency_config", FunctionName=name, Qualifier="1",
                      ProvisionedConcurrentExecutions=1) == typed(
        409, "ResourceConflictException", "Version is pointed by a Provisioned Concurrency alias")
    raw_client.delete_provisioned_concurrency_config(FunctionName=name, Qualifier="live")
    raw_client.delete_function(FunctionName=name)


def test_event_invoke_config_errors_in_awss_words(raw_client, fn):
    # test_lambda_eventinvokeconfig_exceptions.
    assert wire_error(raw_client, "put_function_event_invoke_config", FunctionName="doesnotexist",
                      MaximumRetryAttempts=1) == typed(404, NOT_FOUND, "The function doesn't exist.")
    assert wire_error(raw_client, "put_function_event_invoke_config", FunctionName=fn) == typed(
        400, IPV, "You must specify at least one of error handling or destination setting.")
    assert wire_error(raw_client, "get_function_event_invoke_config", FunctionName="doesnotexist") == typed(
        404, NOT_FOUND, f"The function {h.function_arn('doesnotexist', '$LATEST')} doesn't have an EventInvokeConfig")
    assert wire_error(raw_client, "put_function_event_invoke_config", FunctionName=f"{fn}:live", Qualifier="1",
                      MaximumRetryAttempts=1) == typed(
        400, IPV, "The derived qualifier from the function name does not match the specified qualifier.")


# --- operations Hearth does not implement ------------------------------------------------------

# Operations no part of Hearth implements (others, such as tags or policies, may be added later).
NEVER_HERE = ["ListCodeSigningConfigs"]


def _request_of(operation) -> tuple[str, str]:
    """Method and path (with any fixed query) of `operation`, labels filled with sample values."""
    uri = operation.http["requestUri"]
    path, _, query = uri.partition("?")
    for label in set(part.strip("{}+") for part in path.split("/") if part.startswith("{")):
        value = "1" if label in ("VersionNumber",) else "x"
        path = path.replace("{" + label + "+}", value).replace("{" + label + "}", value)
    return operation.http["method"], path + (f"?{query}" if query else "")


def test_every_operation_of_the_model_routes_or_names_itself(server):
    model = botocore.session.get_session().get_service_model("lambda")
    missing = []
    for name in model.operation_names:
        method, path = _request_of(model.operation_model(name))
        body = b"{}" if method in ("POST", "PUT") else None
        status, headers, raw = h.http_request(f"{server.endpoint}{path}", method, body,
                                              {"Content-Type": "application/json"})
        code = headers.get("x-amzn-ErrorType")
        assert code != "UnknownOperationException", f"{name}: {method} {path} is not routed"
        if code == "NotImplementedException":
            missing.append(name)
            assert {"status": status, "body": json.loads(raw)} == {"status": 400, "body": {
                "__type": "NotImplementedException", "Type": "User",
                "message": f"Hearth does not implement {name}"}}, name
    assert set(NEVER_HERE) <= set(missing)
    # What Hearth implements is routed: none of these is refused.
    assert not {"CreateFunction", "Invoke", "InvokeWithResponseStream", "GetFunction",
                "PublishVersion", "CreateAlias", "PutProvisionedConcurrencyConfig",
                "PutFunctionEventInvokeConfig", "CreateFunctionUrlConfig",
                "ListFunctionUrlConfigs", "CreateEventSourceMapping",
                "ListEventSourceMappings", "PublishLayerVersion", "ListLayers",
                "GetLayerVersionByArn", "AddLayerVersionPermission"} & set(missing)
    # docs/operations.md says the same, for every operation of the model it lists.
    documented = _documented("Lambda")
    listed = [name for name in model.operation_names if name in documented]
    assert {name: documented[name] for name in listed} == {
        name: name not in missing for name in listed}


def _documented(section) -> dict[str, bool]:
    """docs/operations.md's table under `## <section>`: operation -> implemented."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
    table = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|") for line in table.splitlines() if line.startswith("| ")]
    return {cells[1].strip(): cells[2].strip() == "yes" for cells in rows
            if cells[1].strip() != "operation"}


def test_the_logs_operations_are_those_documented(server):
    model = botocore.session.get_session().get_service_model("logs")
    implemented = {name for name, yes in _documented("CloudWatch Logs").items() if yes}
    answered = set()
    for name in model.operation_names:
        status, headers, raw = h.http_request(
            f"{server.endpoint}/", "POST", b"{}",
            {"Content-Type": "application/x-amz-json-1.1",
             "X-Amz-Target": f"Logs_20140328.{name}"})
        if json.loads(raw).get("__type") == "UnknownOperationException":
            assert status == 400, (name, status)
        else:
            answered.add(name)
    assert answered == implemented


def test_sdks_and_the_cli_name_the_operation(client, aws):
    with pytest.raises(ClientError) as e:
        client.list_code_signing_configs()
    assert h.error_of(e.value) == (400, "NotImplementedException",
                                   "Hearth does not implement ListCodeSigningConfigs")
    assert _cli_error(str(e.value)) == (
        "An error occurred (NotImplementedException) when calling the ListCodeSigningConfigs "
        "operation: Hearth does not implement ListCodeSigningConfigs")
    out = aws("list-code-signing-configs", check=False)
    assert out.rc != 0
    assert _cli_error(out.stderr) == (
        "An error occurred (NotImplementedException) when calling the ListCodeSigningConfigs "
        "operation: Hearth does not implement ListCodeSigningConfigs")
    # A path of no operation stays an unknown operation.
    status, headers, raw = h.http_request(f"{client.meta.endpoint_url}/2015-03-31/nothing-here")
    assert (status, headers.get("x-amzn-ErrorType"), json.loads(raw)) == (
        404, "UnknownOperationException", {"Type": "User", "message": "Unknown operation"})
