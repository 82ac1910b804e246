"""A function's whole life driven by boto3, with botocore's own waiters and paging."""

import pytest
from botocore.exceptions import ClientError

import hearth_e2e as h

FAST_WAIT = {"Delay": 1, "MaxAttempts": 60}


def test_lifecycle_with_boto3(client):
    name = h.unique_name("boto-life")
    data_v1 = h.zip_bytes("python.zip")
    data_v2 = h.zip_bytes("python-v2.zip")

    created = client.create_function(FunctionName=name, Runtime=h.PYTHON, Role=h.ROLE,
                                     Handler="app.handler", Code={"ZipFile": data_v1},
                                     Description="lifecycle test", Timeout=5)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["State"] == "Pending"
    assert created["StateReasonCode"] == "Creating"
    assert created["Description"] == "lifecycle test"
    assert created["Timeout"] == 5
    assert created["CodeSha256"] == h.code_sha256(data_v1)
    assert created["CodeSize"] == len(data_v1)
    revision = created["RevisionId"]

    client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=FAST_WAIT)

    got = client.get_function(FunctionName=name)
    assert got["Configuration"]["State"] == "Active"
    assert got["Configuration"]["CodeSha256"] == h.code_sha256(data_v1)
    status, _, body = h.http_request(got["Code"]["Location"])
    assert (status, body) == (200, data_v1)

    result = h.invoke_ok(client, name, {"n": 1})
    assert result["event"] == {"n": 1}
    assert result["code_version"] == "v1"

    updated = client.update_function_code(FunctionName=name, ZipFile=data_v2)
    assert updated["LastUpdateStatus"] == "InProgress"
    assert updated["CodeSha256"] == h.code_sha256(data_v2)
    assert updated["RevisionId"] != revision
    client.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=FAST_WAIT)
    assert h.invoke_ok(client, name)["code_version"] == "v2"

    status, _, body = h.http_request(client.get_function(FunctionName=name)["Code"]["Location"])
    assert (status, body) == (200, data_v2)

    updated = client.update_function_configuration(
        FunctionName=name, MemorySize=512, Environment={"Variables": {"COLOR": "blue"}})
    assert updated["LastUpdateStatus"] == "InProgress"
    client.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=FAST_WAIT)
    cfg = client.get_function_configuration(FunctionName=name)
    assert cfg["MemorySize"] == 512
    assert cfg["Timeout"] == 5, "an update must keep the settings it does not name"
    assert cfg["Description"] == "lifecycle test"
    assert cfg["Environment"]["Variables"] == {"COLOR": "blue"}
    result = h.invoke_ok(client, name, {"env": ["COLOR"]})
    assert result["env"]["COLOR"] == "blue"
    assert result["env"]["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"
    assert result["code_version"] == "v2", "a configuration update must keep the code"

    deleted = client.delete_function(FunctionName=name)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as e:
        client.get_function(FunctionName=name)
    assert h.error_of(e.value) == (404, "ResourceNotFoundException", h.not_found_message(name))
    with pytest.raises(ClientError) as e:
        client.delete_function(FunctionName=name)
    assert h.error_of(e.value)[:2] == (404, "ResourceNotFoundException")


def test_list_functions_paging(client):
    prefix = h.unique_name("page")
    names = [f"{prefix}-{i}" for i in range(5)]
    for n in names:
        h.create_function(client, n, wait=False)
    for n in names:
        h.wait_active(client, n)

    seen = []
    marker = None
    pages = 0
    while True:
        kw = {"MaxItems": 2}
        if marker:
            kw["Marker"] = marker
        page = client.list_functions(**kw)
        pages += 1
        assert len(page["Functions"]) <= 2
        seen += [f["FunctionName"] for f in page["Functions"]]
        marker = page.get("NextMarker")
        if not marker:
            break
        assert pages < 100, "paging does not end"
    assert len(seen) == len(set(seen)), f"a function was listed twice: {seen}"
    for n in names:
        assert n in seen
    assert pages >= 3

    everything = client.list_functions()["Functions"]
    listed = {f["FunctionName"]: f for f in everything}
    for n in names:
        assert listed[n]["FunctionArn"] == h.function_arn(n)
        assert listed[n]["Runtime"] == h.PYTHON

    paginated = [f["FunctionName"]
                 for page in client.get_paginator("list_functions").paginate(
                     PaginationConfig={"PageSize": 1})
                 for f in page["Functions"]]
    assert sorted(paginated) == sorted(seen)

    for n in names:
        client.delete_function(FunctionName=n)
    remaining = [f["FunctionName"] for f in client.list_functions()["Functions"]]
    assert not set(names) & set(remaining)


def test_create_existing_conflicts(client):
    name = h.unique_name("dup")
    h.create_function(client, name)
    with pytest.raises(ClientError) as e:
        h.create_function(client, name, wait=False)
    status, code, _ = h.error_of(e.value)
    assert (status, code) == (409, "ResourceConflictException")


def test_invoke_right_after_create(client):
    """A function still Pending refuses invocations with 409; once Active it is served."""
    name = h.unique_name("pending")
    created = h.create_function(client, name, wait=False)
    assert created["State"] == "Pending"
    try:
        inv = h.invoke(client, name, {"early": True})
    except ClientError as e:
        status, code, message = h.error_of(e)
        assert (status, code) == (409, "ResourceConflictException"), message
        assert message == ("The operation cannot be performed at this time. "
                           "The function is currently in the following state: Pending")
    else:
        assert inv.function_error is None, inv.payload
        assert inv.json["event"] == {"early": True}
    h.wait_active(client, name)
    assert h.invoke_ok(client, name, {"late": True})["event"] == {"late": True}
