"""Runtime management (Get/PutRuntimeManagementConfig), recursion (Get/Put-
FunctionRecursionConfig) and GetFunctionCodeSigningConfig, compared whole with what AWS
answered (LocalStack's snapshots of real AWS, test_lambda_api.snapshot.json, keys
TestLambdaRecursion::*, TestCodeSigningConfig::test_code_signing_not_found_excs,
TestLambdaFunction::test_ops_on_nonexisting_fn)."""


import pytest

import hearth_e2e as h

# How environments are isolated plays no part here (or the tests choose their sandbox
# themselves): run once, in the jail pass, not again under the process sandbox
# (scripts/test.sh).
pytestmark = pytest.mark.sandbox_neutral


RUNTIME_VERSION = "arn:aws:lambda:us-east-1::runtime:0123456789abcdef0123456789abcdef"


answer, failure = h.answer, h.failure


def not_found(arn):
    return h.not_found_answer(f"Function not found: {arn}")


OK = {"HTTPStatusCode": 200}


def test_recursion_config(client):
    name = h.unique_name("recursion")
    h.create_function(client, name)
    assert answer(client.get_function_recursion_config(FunctionName=name)) == {
        "RecursiveLoop": "Terminate", "ResponseMetadata": OK}
    assert answer(client.put_function_recursion_config(FunctionName=name,
                                                       RecursiveLoop="Allow")) == {
        "RecursiveLoop": "Allow", "ResponseMetadata": OK}
    assert answer(client.get_function_recursion_config(FunctionName=name)) == {
        "RecursiveLoop": "Allow", "ResponseMetadata": OK}
    raw = h.lambda_client(client.meta.endpoint_url, validate=False)
    e = failure(raw.put_function_recursion_config, FunctionName=name,
                RecursiveLoop="InvalidValue")
    assert (e["Error"], e["ResponseMetadata"]) == (
        {"Code": "ValidationException",
         "Message": "1 validation error detected: Value 'InvalidValue' at 'recursiveLoop' failed "
                    "to satisfy constraint: Member must satisfy enum value set: [Terminate, Allow]"},
        {"HTTPStatusCode": 400})
    # The recursion operations take the model's UnqualifiedFunctionName: no qualifier.
    e = failure(raw.get_function_recursion_config, FunctionName=f"{name}:1")
    assert (e["Error"], e["ResponseMetadata"]) == (
        {"Code": "ValidationException",
         "Message": f"1 validation error detected: Value '{name}:1' at 'functionName' failed to "
                    "satisfy constraint: Member must satisfy regular expression pattern: "
                    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
                    r"(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)"},
        {"HTTPStatusCode": 400})
    missing = h.unique_name("recursion")
    assert failure(client.get_function_recursion_config, FunctionName=missing) == \
        not_found(h.function_arn(missing))
    # The setting goes with the function.
    client.delete_function(FunctionName=name)
    h.create_function(client, name)
    assert client.get_function_recursion_config(FunctionName=name)["RecursiveLoop"] == "Terminate"


def test_runtime_management_config(client):
    name = h.unique_name("runtime-mgmt")
    h.create_function(client, name)
    arn = h.function_arn(name)
    assert answer(client.get_runtime_management_config(FunctionName=name)) == {
        "UpdateRuntimeOn": "Auto", "FunctionArn": arn, "ResponseMetadata": OK}
    assert answer(client.put_runtime_management_config(
        FunctionName=name, UpdateRuntimeOn="Manual", RuntimeVersionArn=RUNTIME_VERSION)) == {
        "UpdateRuntimeOn": "Manual", "RuntimeVersionArn": RUNTIME_VERSION, "FunctionArn": arn,
        "ResponseMetadata": OK}
    assert answer(client.get_runtime_management_config(FunctionName=name)) == {
        "UpdateRuntimeOn": "Manual", "RuntimeVersionArn": RUNTIME_VERSION, "FunctionArn": arn,
        "ResponseMetadata": OK}
    # Each version has its own.
    version = client.publish_version(FunctionName=name)["Version"]
    assert answer(client.get_runtime_management_config(FunctionName=name, Qualifier=version)) == {
        "UpdateRuntimeOn": "Auto", "FunctionArn": f"{arn}:{version}", "ResponseMetadata": OK}
    assert answer(client.put_runtime_management_config(
        FunctionName=name, Qualifier=version, UpdateRuntimeOn="FunctionUpdate")) == {
        "UpdateRuntimeOn": "FunctionUpdate", "FunctionArn": f"{arn}:{version}",
        "ResponseMetadata": OK}
    assert client.get_runtime_management_config(FunctionName=name)["UpdateRuntimeOn"] == "Manual"

    assert failure(client.get_runtime_management_config, FunctionName=name,
                   Qualifier="9") == not_found(f"{arn}:9")
    missing = h.unique_name("runtime-mgmt")
    assert failure(client.put_runtime_management_config, FunctionName=missing,
                   UpdateRuntimeOn="Auto") == not_found(h.function_arn(missing))
    e = failure(client.put_runtime_management_config, FunctionName=name, UpdateRuntimeOn="Manual")
    assert (e["Error"]["Code"], e["ResponseMetadata"]) == ("InvalidParameterValueException",
                                                           {"HTTPStatusCode": 400})


def test_code_signing_config(client):
    name = h.unique_name("csc")
    h.create_function(client, name)
    # A function without a code signing config: an empty answer, as AWS gives.
    assert answer(client.get_function_code_signing_config(FunctionName=name)) == {
        "ResponseMetadata": OK}
    missing = h.unique_name("csc")
    assert failure(client.get_function_code_signing_config, FunctionName=missing) == \
        not_found(h.function_arn(missing))


def test_settings_with_the_aws_cli(server, client, tmp_path):
    name = h.unique_name("settings-cli")
    h.create_function(client, name)
    assert h.aws_lambda(server.endpoint, tmp_path, "put-function-recursion-config",
                        "--function-name", name, "--recursive-loop", "Allow").json == {
        "RecursiveLoop": "Allow"}
    assert h.aws_lambda(server.endpoint, tmp_path, "get-runtime-management-config",
                        "--function-name", name).json == {
        "UpdateRuntimeOn": "Auto", "FunctionArn": h.function_arn(name)}
    # The CLI prints nothing for an empty answer.
    assert h.aws_lambda(server.endpoint, tmp_path, "get-function-code-signing-config",
                        "--function-name", name).stdout.strip() == ""
