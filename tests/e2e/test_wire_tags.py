"""Tags (TagResource, UntagResource, ListTags, CreateFunction's Tags, GetFunction's Tags),
compared whole with what AWS answered (LocalStack's snapshots of real AWS,
test_lambda_api.snapshot.json, keys TestLambdaTag::* and TestLambdaTags::*)."""


import pytest

import hearth_e2e as h

# How environments are isolated plays no part here (or the tests choose their sandbox
# themselves): run once, in the jail pass, not again under the process sandbox
# (scripts/test.sh).
pytestmark = pytest.mark.sandbox_neutral


VALIDATION_PATTERN = (
    r"arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:"
    r"(function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?|code-signing-config:csc-[a-z0-9]{17}|"
    r"event-source-mapping:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{12}|(capacity-provider|network-connector):[a-zA-Z0-9-_]{1,64})")
QUALIFIED = "Tags on function aliases and versions are not supported. Please specify a function ARN."


answer, failure = h.answer, h.failure


def not_found(arn):
    return h.not_found_answer(f"Function not found: {arn}")


def invalid(message):
    return {"Error": {"Code": "InvalidParameterValueException", "Message": message},
            "Type": "User", "message": message, "ResponseMetadata": {"HTTPStatusCode": 400}}


def validation(resp):
    """A ValidationException's code, message and status (its body keys are item 3's)."""
    return resp["Error"], resp["ResponseMetadata"]["HTTPStatusCode"]


NO_CONTENT = {"ResponseMetadata": {"HTTPStatusCode": 204}}


def tags_of(client, arn):
    return answer(client.list_tags(Resource=arn))


def test_tag_lifecycle(client):
    name = h.unique_name("tags")
    h.create_function(client, name, Tags={"key_a": "value_a"})
    arn = h.function_arn(name)
    expected = {"key_a": "value_a"}
    assert tags_of(client, arn) == {"Tags": expected, "ResponseMetadata": {"HTTPStatusCode": 200}}
    assert client.get_function(FunctionName=name)["Tags"] == expected

    assert answer(client.tag_resource(Resource=arn, Tags={
        "key_b": "value_b", "key_c": "value_c", "key_d": "value_d", "key_e": "value_e"})) == NO_CONTENT
    expected = {"key_a": "value_a", "key_b": "value_b", "key_c": "value_c", "key_d": "value_d",
                "key_e": "value_e"}
    assert tags_of(client, arn)["Tags"] == expected
    assert client.get_function(FunctionName=name)["Tags"] == expected

    client.tag_resource(Resource=arn, Tags={"key_c": "value_x"})
    expected["key_c"] = "value_x"
    assert tags_of(client, arn)["Tags"] == expected

    assert answer(client.untag_resource(Resource=arn, TagKeys=["key_c", "key_d"])) == NO_CONTENT
    expected = {"key_a": "value_a", "key_b": "value_b", "key_e": "value_e"}
    assert tags_of(client, arn)["Tags"] == expected
    assert client.get_function(FunctionName=name)["Tags"] == expected
    # A key the resource does not have is no error.
    assert answer(client.untag_resource(Resource=arn, TagKeys=["key_a", "nope"])) == NO_CONTENT

    client.untag_resource(Resource=arn, TagKeys=["key_b", "key_e"])
    assert tags_of(client, arn) == {"Tags": {}, "ResponseMetadata": {"HTTPStatusCode": 200}}
    # With no tags, GetFunction has no Tags member at all.
    assert "Tags" not in client.get_function(FunctionName=name)

    client.tag_resource(Resource=arn, Tags={"gone": "soon"})
    client.delete_function(FunctionName=name)
    assert failure(client.list_tags, Resource=arn) == not_found(arn)
    assert failure(client.tag_resource, Resource=arn, Tags={"a": "b"}) == not_found(arn)
    assert failure(client.untag_resource, Resource=arn, TagKeys=["a"]) == not_found(arn)
    # A new function of the same name starts without the old one's tags.
    h.create_function(client, name)
    assert tags_of(client, arn)["Tags"] == {}


def test_tag_exceptions(client):
    name = h.unique_name("tags-err")
    h.create_function(client, name)
    arn = h.function_arn(name)

    assert validation(failure(client.tag_resource, Resource="arn:aws:something",
                              Tags={"key_a": "value_a"})) == (
        {"Code": "ValidationException",
         "Message": "1 validation error detected: Value 'arn:aws:something' at 'resource' "
                    f"failed to satisfy constraint: Member must satisfy regular expression "
                    f"pattern: {VALIDATION_PATTERN}"}, 400)
    missing = h.function_arn("doesnotexist")
    assert failure(client.tag_resource, Resource=missing, Tags={"a": "b"}) == not_found(missing)
    assert failure(client.tag_resource, Resource=f"{arn}:v1", Tags={"a": "b"}) == invalid(QUALIFIED)
    client.publish_version(FunctionName=name)
    for qualified in (f"{arn}:1", f"{arn}:$LATEST"):
        assert failure(client.tag_resource, Resource=qualified, Tags={"a": "b"}) == invalid(QUALIFIED)
        assert failure(client.list_tags, Resource=qualified) == invalid(QUALIFIED)

    assert tags_of(client, arn) == {"Tags": {}, "ResponseMetadata": {"HTTPStatusCode": 200}}
    assert answer(client.untag_resource(Resource=arn, TagKeys=["somekey"])) == NO_CONTENT
    assert validation(failure(client.untag_resource, Resource=arn, TagKeys=[])) == (
        {"Code": "ValidationException",
         "Message": "1 validation error detected: Value null at 'tagKeys' failed to satisfy "
                    "constraint: Member must not be null"}, 400)
    assert failure(client.tag_resource, Resource=arn, Tags={}) == invalid(
        "An error occurred and the request cannot be processed.")
    # A mapping that does not exist.
    esm = "arn:aws:lambda:us-east-1:000000000000:event-source-mapping:0a1b2c3d-0a1b-0a1b-0a1b-0a1b2c3d4e5f"
    message = "The resource you requested does not exist."
    assert failure(client.list_tags, Resource=esm) == {
        "Error": {"Code": "ResourceNotFoundException", "Message": message}, "Message": message,
        "Type": "User", "ResponseMetadata": {"HTTPStatusCode": 404}}


def test_tag_limits(client):
    name = h.unique_name("tags-limit")
    h.create_function(client, name)
    arn = h.function_arn(name)
    too_many = invalid("Number of tags exceeds resource tag limit.")
    assert failure(client.tag_resource, Resource=arn,
                   Tags={f"{k}_key": f"{k}_value" for k in range(51)}) == too_many
    fifty = {f"{k}_key": f"{k}_value" for k in range(50)}
    assert answer(client.tag_resource(Resource=arn, Tags=fifty)) == NO_CONTENT
    assert tags_of(client, arn) == {"Tags": fifty, "ResponseMetadata": {"HTTPStatusCode": 200}}
    assert client.get_function(FunctionName=name)["Tags"] == fifty
    assert failure(client.tag_resource, Resource=arn, Tags={"a_key": "a_value"}) == too_many
    # Replacing a value of a key it has stays within the limit.
    client.tag_resource(Resource=arn, Tags={"0_key": "new"})

    other = h.unique_name("tags-limit")
    assert failure(h.create_function, client=client, name=other, wait=False,
                   Tags={f"{k}_key": f"{k}_value" for k in range(51)}) == too_many
    assert failure(client.get_function, FunctionName=other) == not_found(h.function_arn(other))


def test_tags_with_the_aws_cli(server, client, tmp_path):
    name = h.unique_name("tags-cli")
    h.create_function(client, name)
    arn = h.function_arn(name)
    run = h.aws_lambda(server.endpoint, tmp_path, "tag-resource", "--resource", arn,
                       "--tags", "team=blue,env=test")
    assert run.stdout.strip() == ""
    assert h.aws_lambda(server.endpoint, tmp_path, "list-tags", "--resource", arn).json == {
        "Tags": {"env": "test", "team": "blue"}}
    h.aws_lambda(server.endpoint, tmp_path, "untag-resource", "--resource", arn,
                 "--tag-keys", "env")
    assert h.aws_lambda(server.endpoint, tmp_path, "list-tags", "--resource", arn).json == {
        "Tags": {"team": "blue"}}
