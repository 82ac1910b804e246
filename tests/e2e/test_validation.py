"""Server-side validation: each rejected request gets Lambda's error code and HTTP status.

Uses the client with botocore's parameter validation off so the server, not botocore, decides.
"""

import io
import json
import os
import zipfile

import pytest
from botocore.exceptions import ClientError

import hearth_e2e as h

# How environments are isolated plays no part here (or the tests choose their sandbox
# themselves): run once, in the jail pass, not again under the process sandbox
# (scripts/test.sh).
pytestmark = pytest.mark.sandbox_neutral


IPV = (400, "InvalidParameterValueException")
VALIDATION = (400, "ValidationException")


def _create_error(raw_client, **overrides):
    """CreateFunction that must fail; returns (HTTP status, error code)."""
    fresh = "FunctionName" not in overrides
    params = dict(FunctionName=h.unique_name("val"), Runtime=h.PYTHON, Role=h.ROLE,
                  Handler="app.handler", Code={"ZipFile": h.zip_bytes("python.zip")})
    params.update(overrides)
    params = {k: v for k, v in params.items() if v is not None}
    with pytest.raises(ClientError) as e:
        raw_client.create_function(**params)
    status, code, message = h.error_of(e.value)
    assert message, f"{code} without a message"
    if fresh:  # a rejected function must not exist afterwards
        with pytest.raises(ClientError) as gone:
            raw_client.get_function(FunctionName=params["FunctionName"])
        assert h.error_of(gone.value)[:2] == (404, "ResourceNotFoundException")
    return status, code


@pytest.fixture(scope="module")
def existing(client):
    name = h.unique_name("val-existing")
    h.create_function(client, name)
    return name


# --- InvalidParameterValueException ---------------------------------------------------------

def _update_error(raw_client, name, **changes):
    """UpdateFunctionConfiguration that must fail; returns (HTTP status, error code)."""
    with pytest.raises(ClientError) as e:
        raw_client.update_function_configuration(FunctionName=name, **changes)
    return h.error_of(e.value)[:2]


@pytest.mark.parametrize("runtime", ["nosuchruntime9.9", "java21", "python2.7"])
def test_unknown_or_uninstalled_runtime(raw_client, existing, runtime):
    assert _create_error(raw_client, Runtime=runtime) == IPV
    assert _update_error(raw_client, existing, Runtime=runtime) == IPV


def test_handler_missing_for_managed_runtime(raw_client):
    assert _create_error(raw_client, Handler=None) == IPV
    assert _create_error(raw_client, Handler=None, Runtime=h.NODE,
                         Code={"ZipFile": h.zip_bytes("node.zip")}) == IPV


@pytest.mark.parametrize("var", [
    "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_ANYTHING", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_EXECUTION_ENV",
])
def test_reserved_environment_variable(raw_client, existing, var):
    env = {"Variables": {"FINE": "1", var: "x"}}
    assert _create_error(raw_client, Environment=env) == IPV
    assert _update_error(raw_client, existing, Environment=env) == IPV


def test_environment_too_large(raw_client, existing):
    env = {"Variables": {"BIG": "x" * 4200}}
    assert _create_error(raw_client, Environment=env) == IPV
    assert _update_error(raw_client, existing, Environment=env) == IPV


def test_environment_just_under_limit_is_accepted(client):
    name = h.unique_name("val-env-ok")
    h.create_function(client, name, Environment={"Variables": {"OK": "y" * 3000}})
    body = h.invoke_ok(client, name, {"env": ["OK"]})
    assert body["env"]["OK"] == "y" * 3000


@pytest.mark.parametrize("data", [b"this is not a zip file", b"", b"PK\x03\x04truncated"])
def test_bad_zip(raw_client, existing, data):
    assert _create_error(raw_client, Code={"ZipFile": data}) == IPV
    if data:
        with pytest.raises(ClientError) as e:
            raw_client.update_function_code(FunctionName=existing, ZipFile=data)
        assert h.error_of(e.value)[:2] == IPV


def test_memory_too_large(raw_client, existing):
    assert _create_error(raw_client, MemorySize=10241) == IPV
    assert _update_error(raw_client, existing, MemorySize=10241) == IPV


def test_timeout_too_large(raw_client, existing):
    assert _create_error(raw_client, Timeout=901) == IPV
    assert _update_error(raw_client, existing, Timeout=901) == IPV


def test_limits_inclusive(client):
    name = h.unique_name("val-limits")
    h.create_function(client, name, MemorySize=10240, Timeout=900,
                      EphemeralStorage={"Size": 10240})
    cfg = client.get_function_configuration(FunctionName=name)
    assert (cfg["MemorySize"], cfg["Timeout"], cfg["EphemeralStorage"]["Size"]) == \
        (10240, 900, 10240)
    h.update_config(client, name, MemorySize=128, Timeout=1, EphemeralStorage={"Size": 512})
    cfg = client.get_function_configuration(FunctionName=name)
    assert (cfg["MemorySize"], cfg["Timeout"], cfg["EphemeralStorage"]["Size"]) == \
        (128, 1, 512)


# AWS answers an over-50 MB direct upload with 413 (its request-size limit is the base64 size of
# 50 MB); the contract says InvalidParameterValueException. Either is a rejection the clients show.
TOO_LARGE = {IPV, (413, "RequestTooLargeException"), (413, "RequestEntityTooLargeException")}


def test_zip_over_50_mb(raw_client, existing):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("app.py", b"def handler(e, c):\n    return e\n")
        zf.writestr("random.bin", os.urandom(50 * 1024 * 1024 + 1024))
    data = buf.getvalue()
    assert len(data) > 50 * 1024 * 1024
    assert _create_error(raw_client, Code={"ZipFile": data}) in TOO_LARGE
    with pytest.raises(ClientError) as e:
        raw_client.update_function_code(FunctionName=existing, ZipFile=data)
    assert h.error_of(e.value)[:2] in TOO_LARGE
    assert h.invoke_ok(raw_client, existing)["code_version"] == "v1", "the code must not change"


def test_unzipped_over_250_mb(raw_client, existing):
    buf = io.BytesIO()
    chunk = b"\0" * (1024 * 1024)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("app.py", b"def handler(e, c):\n    return e\n")
        with zf.open("zeros.bin", "w", force_zip64=True) as f:
            for _ in range(251):
                f.write(chunk)
    data = buf.getvalue()
    assert len(data) < 5 * 1024 * 1024
    assert _create_error(raw_client, Code={"ZipFile": data}) == IPV
    with pytest.raises(ClientError) as e:
        raw_client.update_function_code(FunctionName=existing, ZipFile=data)
    assert h.error_of(e.value)[:2] == IPV


# --- ValidationException (model constraints) -------------------------------------------------

@pytest.mark.parametrize("name", ["bad name", "bad/name", "bad!", "a" * 141, "name.with.dots"])
def test_function_name_pattern_and_length(raw_client, name):
    assert _create_error(raw_client, FunctionName=name) == VALIDATION


def test_function_name_longer_than_64(raw_client):
    # Lambda's own rule (AWS answers it as InvalidParameterValue, in the validator's words);
    # the model allows 140.
    assert _create_error(raw_client, FunctionName="a" * 65) == IPV


@pytest.mark.parametrize("var", ["_HANDLER", "_X_AMZN_TRACE_ID"])
def test_reserved_names_outside_the_models_pattern(raw_client, existing, var):
    # Names starting with `_` break the model's `[a-zA-Z]([a-zA-Z0-9_])+` before Lambda sees
    # they are reserved.
    env = {"Variables": {"FINE": "1", var: "x"}}
    assert _create_error(raw_client, Environment=env) == VALIDATION
    assert _update_error(raw_client, existing, Environment=env) == VALIDATION


def test_function_name_of_64_is_accepted(client):
    name = ("n" + h.unique_name("x")).ljust(64, "z")
    assert len(name) == 64
    h.create_function(client, name)
    assert client.get_function(FunctionName=name)["Configuration"]["FunctionName"] == name


def test_memory_too_small(raw_client, existing):
    assert _create_error(raw_client, MemorySize=127) == VALIDATION
    assert _update_error(raw_client, existing, MemorySize=127) == VALIDATION


def test_timeout_too_small(raw_client, existing):
    assert _create_error(raw_client, Timeout=0) == VALIDATION
    assert _update_error(raw_client, existing, Timeout=0) == VALIDATION


@pytest.mark.parametrize("size", [511, 10241])
def test_ephemeral_storage_out_of_range(raw_client, existing, size):
    assert _create_error(raw_client, EphemeralStorage={"Size": size}) == VALIDATION
    assert _update_error(raw_client, existing, EphemeralStorage={"Size": size}) == VALIDATION


def test_description_too_long(raw_client, existing):
    assert _create_error(raw_client, Description="d" * 257) == VALIDATION
    assert _update_error(raw_client, existing, Description="d" * 257) == VALIDATION


def test_description_of_256_is_accepted(client):
    name = h.unique_name("val-desc")
    h.create_function(client, name, Description="d" * 256)
    assert client.get_function_configuration(FunctionName=name)["Description"] == "d" * 256


# --- Not found / conflict, and the three ways of naming a function ----------------------------

def _identifiers(name):
    return {
        "name": name,
        "partial-arn": f"{h.ACCOUNT}:function:{name}",
        "full-arn": h.function_arn(name),
    }


@pytest.mark.parametrize("how", ["name", "partial-arn", "full-arn"])
def test_unknown_function_everywhere(raw_client, how):
    name = h.unique_name("nope")
    ident = _identifiers(name)[how]
    expected = (404, "ResourceNotFoundException", h.not_found_message(name))
    calls = [
        lambda: raw_client.get_function(FunctionName=ident),
        lambda: raw_client.get_function_configuration(FunctionName=ident),
        lambda: raw_client.update_function_code(FunctionName=ident,
                                                ZipFile=h.zip_bytes("python.zip")),
        lambda: raw_client.update_function_configuration(FunctionName=ident, Timeout=5),
        lambda: raw_client.delete_function(FunctionName=ident),
    ]
    for call in calls:
        with pytest.raises(ClientError) as e:
            call()
        assert h.error_of(e.value) == expected
    # Invoke names the $LATEST it would run, as AWS does.
    with pytest.raises(ClientError) as e:
        raw_client.invoke(FunctionName=ident, Payload=b"{}")
    assert h.error_of(e.value) == (404, "ResourceNotFoundException",
                                   f"Function not found: {h.function_arn(name, '$LATEST')}")


def test_not_found_response_shape(server):
    name = h.unique_name("nope")
    status, headers, body = server.get(f"/2015-03-31/functions/{name}")
    assert status == 404
    assert headers.get("x-amzn-ErrorType", "").split(":")[0] == "ResourceNotFoundException"
    assert headers.get("x-amzn-RequestId")
    doc = json.loads(body)
    assert doc["Type"] == "User"
    assert (doc.get("message") or doc.get("Message")) == h.not_found_message(name)


@pytest.mark.parametrize("how", ["name", "partial-arn", "full-arn"])
def test_function_identifiers(client, existing, how):
    ident = _identifiers(existing)[how]
    got = client.get_function(FunctionName=ident)
    assert got["Configuration"]["FunctionName"] == existing
    assert got["Configuration"]["FunctionArn"] == h.function_arn(existing)
    cfg = client.get_function_configuration(FunctionName=ident)
    assert cfg["FunctionName"] == existing
    body = h.invoke_ok(client, ident, {"how": how})
    assert body["context"]["function_name"] == existing


def test_create_existing_conflicts(raw_client, existing):
    assert _create_error(raw_client, FunctionName=existing) == (409, "ResourceConflictException")


def test_create_with_arn_name(client):
    name = h.unique_name("val-arn-create")
    created = h.create_function(client, h.function_arn(name))
    assert created["FunctionName"] == name
    assert client.get_function(FunctionName=name)["Configuration"]["FunctionName"] == name


def test_unknown_qualifier(raw_client, existing):
    with pytest.raises(ClientError) as e:
        raw_client.invoke(FunctionName=existing, Qualifier="42", Payload=b"{}")
    assert h.error_of(e.value)[:2] == (404, "ResourceNotFoundException")


# --- Invoke payloads that are not UTF-8 -----------------------------------------------------

UTF8_PREFIX = "Could not parse request body into json: Could not parse payload into json: "


@pytest.mark.parametrize("payload,detail", [
    (b'{"a":"\xff"}', "Invalid UTF-8 start byte 0xff"),
    (b'{"a":"x\xc3("}', "Invalid UTF-8 middle byte 0x28"),
    (b'["\xed\xa0\x80"]', "Invalid UTF-8 middle byte 0xa0"),
])
def test_payload_not_utf8_inside_a_json_string(server, raw_client, payload, detail):
    """AWS refuses these (its JSON parser decodes strings); a sync Invoke, an Event invoke
    and InvokeAsync all answer 400 InvalidRequestContentException, and nothing runs."""
    name = h.unique_name("val-utf8")
    h.create_function(raw_client, name)
    calls = [
        lambda: raw_client.invoke(FunctionName=name, Payload=payload),
        lambda: raw_client.invoke(FunctionName=name, InvocationType="Event", Payload=payload),
        lambda: raw_client.invoke_async(FunctionName=name, InvokeArgs=payload),
    ]
    for call in calls:
        with pytest.raises(ClientError) as e:
            call()
        status, code, message = h.error_of(e.value)
        assert (status, code) == (400, "InvalidRequestContentException"), message
        assert message.startswith(UTF8_PREFIX + detail), message
    # Raw HTTP, as any client would send it.
    for path, headers in [(f"/2015-03-31/functions/{name}/invocations", {}),
                          (f"/2015-03-31/functions/{name}/invocations",
                           {"X-Amz-Invocation-Type": "Event"}),
                          (f"/2014-11-13/functions/{name}/invoke-async/", {})]:
        status, resp_headers, body = server.get(path, method="POST", body=payload,
                                                headers=headers)
        assert status == 400, body
        assert resp_headers["x-amzn-ErrorType"] == "InvalidRequestContentException"
        doc = json.loads(body)
        assert doc["Type"] == "User"
        assert doc["message"].startswith(UTF8_PREFIX + detail), doc
    # Nothing was queued or run: the function's log is empty.
    assert not any(e["message"].startswith("START") for e in h.log_events(server, name))
    # The same text in valid UTF-8 reaches the function unchanged.
    text = payload.decode("utf-8", errors="replace")
    assert h.invoke_ok(raw_client, name, json.loads(text))["event"] == json.loads(text)
