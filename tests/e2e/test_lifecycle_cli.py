"""A function's whole life driven by the real AWS CLI (`aws lambda ... --endpoint-url`)."""

import json

import hearth_e2e as h


def test_lifecycle_with_aws_cli(aws, server, tmp_path):
    name = h.unique_name("cli-life")
    zip_v1 = h.zip_path("python.zip")
    zip_v2 = h.zip_path("python-v2.zip")
    data_v1 = zip_v1.read_bytes()

    created = aws("create-function", "--function-name", name, "--runtime", h.PYTHON,
                  "--handler", "app.handler", "--role", h.ROLE,
                  "--zip-file", f"fileb://{zip_v1}").json
    assert created["FunctionName"] == name
    assert created["FunctionArn"] == h.function_arn(name)
    assert created["State"] == "Pending"
    assert created["StateReasonCode"] == "Creating"
    assert created["CodeSha256"] == h.code_sha256(data_v1)

    aws("wait", "function-active-v2", "--function-name", name)

    got = aws("get-function", "--function-name", name).json
    cfg = got["Configuration"]
    assert cfg["State"] == "Active"
    assert cfg["CodeSha256"] == h.code_sha256(data_v1)
    assert cfg["CodeSize"] == len(data_v1)
    status, _, body = h.http_request(got["Code"]["Location"])
    assert status == 200
    assert body == data_v1

    cfg = aws("get-function-configuration", "--function-name", name).json
    assert cfg["FunctionName"] == name
    assert cfg["FunctionArn"] == h.function_arn(name)
    assert cfg["Runtime"] == h.PYTHON
    assert cfg["Handler"] == "app.handler"
    assert cfg["Role"] == h.ROLE
    assert cfg["MemorySize"] == 128
    assert cfg["Timeout"] == 3
    assert cfg["Version"] == "$LATEST"
    assert cfg["PackageType"] == "Zip"
    assert cfg["LastUpdateStatus"] == "Successful"
    assert h.TIMESTAMP_RE.match(cfg["LastModified"]), cfg["LastModified"]
    assert h.UUID_RE.match(cfg["RevisionId"]), cfg["RevisionId"]

    # Page size 1 makes the CLI follow NextMarker across as many pages as there are functions.
    listed = aws("list-functions", "--page-size", "1").json
    names = [f["FunctionName"] for f in listed["Functions"]]
    assert names.count(name) == 1
    assert len(names) == len(set(names))
    first = aws("list-functions", "--max-items", "1").json
    assert len(first["Functions"]) == 1

    out_file = tmp_path / "out.json"
    inv = aws("invoke", "--function-name", name, "--payload", '{"hello": "cli"}',
              str(out_file)).json
    assert inv["StatusCode"] == 200
    assert inv["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in inv
    result = json.loads(out_file.read_bytes())
    assert result["event"] == {"hello": "cli"}
    assert result["code_version"] == "v1"

    updated = aws("update-function-code", "--function-name", name,
                  "--zip-file", f"fileb://{zip_v2}").json
    assert updated["LastUpdateStatus"] == "InProgress"
    assert updated["RevisionId"] != cfg["RevisionId"]
    aws("wait", "function-updated-v2", "--function-name", name)
    inv = aws("invoke", "--function-name", name, "--payload", "{}", str(out_file)).json
    assert inv["StatusCode"] == 200
    assert json.loads(out_file.read_bytes())["code_version"] == "v2"
    cfg = aws("get-function-configuration", "--function-name", name).json
    assert cfg["CodeSha256"] == h.code_sha256(zip_v2.read_bytes())

    updated = aws("update-function-configuration", "--function-name", name,
                  "--memory-size", "256", "--timeout", "7",
                  "--environment", "Variables={GREETING=hello-cli,OTHER=2}").json
    assert updated["LastUpdateStatus"] == "InProgress"
    aws("wait", "function-updated-v2", "--function-name", name)
    cfg = aws("get-function-configuration", "--function-name", name).json
    assert cfg["MemorySize"] == 256
    assert cfg["Timeout"] == 7
    assert cfg["Environment"]["Variables"] == {"GREETING": "hello-cli", "OTHER": "2"}
    aws("invoke", "--function-name", name, "--payload", '{"env": ["GREETING", "OTHER"]}',
        str(out_file))
    result = json.loads(out_file.read_bytes())
    assert result["env"]["GREETING"] == "hello-cli"
    assert result["env"]["OTHER"] == "2"
    assert result["env"]["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert str(result["context"]["memory_limit_in_mb"]) == "256"
    assert 0 < result["context"]["remaining_ms"] <= 7000

    aws("delete-function", "--function-name", name)
    gone = aws("get-function", "--function-name", name, check=False)
    assert gone.rc != 0
    assert "ResourceNotFoundException" in gone.stderr, gone
    assert h.not_found_message(name) in gone.stderr, gone
    names = [f["FunctionName"] for f in aws("list-functions").json["Functions"]]
    assert name not in names


def test_account_settings_with_aws_cli(aws, client):
    before = aws("get-account-settings").json
    limit = before["AccountLimit"]
    assert limit["CodeSizeZipped"] == 50 * 1024 * 1024
    assert limit["CodeSizeUnzipped"] == 250 * 1024 * 1024
    assert limit["ConcurrentExecutions"] > 0
    assert 0 < limit["UnreservedConcurrentExecutions"] <= limit["ConcurrentExecutions"]
    count = before["AccountUsage"]["FunctionCount"]

    name = h.unique_name("cli-acct")
    h.create_function(client, name)
    after = aws("get-account-settings").json
    assert after["AccountUsage"]["FunctionCount"] == count + 1
    assert after["AccountUsage"]["TotalCodeSize"] >= len(h.zip_bytes("python.zip"))

    client.delete_function(FunctionName=name)
    assert aws("get-account-settings").json["AccountUsage"]["FunctionCount"] == count
