"""Resource-based policies (AddPermission, RemovePermission, GetPolicy) on functions,
versions and aliases, compared whole with what AWS answered (LocalStack's snapshots of real
AWS, test_lambda_api.snapshot.json, keys TestLambdaPermissions::*). Policies are stored and
returned; nothing enforces them yet (request signing comes with issue 14)."""

import json
import re

import pytest

import hearth_e2e as h

# How environments are isolated plays no part here (or the tests choose their sandbox
# themselves): run once, in the jail pass, not again under the process sandbox
# (scripts/test.sh).
pytestmark = pytest.mark.sandbox_neutral


BUCKET = "arn:aws:s3:::test-bucket"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


answer, failure = h.answer, h.failure
not_found = h.not_found_answer


def user_error(code, status, message):
    return {"Error": {"Code": code, "Message": message}, "Type": "User", "message": message,
            "ResponseMetadata": {"HTTPStatusCode": status}}


def s3_statement(sid, resource, source_arn=BUCKET):
    s = {"Sid": sid, "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
         "Action": "lambda:InvokeFunction", "Resource": resource}
    if source_arn:
        s["Condition"] = {"ArnLike": {"AWS:SourceArn": source_arn}}
    return s


def add_s3(client, name, sid, **kw):
    return client.add_permission(FunctionName=name, Action="lambda:InvokeFunction",
                                 StatementId=sid, Principal="s3.amazonaws.com",
                                 SourceArn=BUCKET, **kw)


def policy_of(client, name, **kw):
    """GetPolicy's answer with the policy parsed and the revision checked for form."""
    resp = answer(client.get_policy(FunctionName=name, **kw))
    assert UUID.match(resp["RevisionId"]), resp
    return {**resp, "Policy": json.loads(resp["Policy"]), "RevisionId": "<revision>"}


def document(*statements):
    return {"Version": "2012-10-17", "Id": "default", "Statement": list(statements)}


NO_RESOURCE = not_found("The resource you requested does not exist.")


def test_add_and_get_policy(client):
    name = h.unique_name("policy")
    h.create_function(client, name)
    arn = h.function_arn(name)
    added = answer(add_s3(client, name, "s3"))
    statement = s3_statement("s3", arn)
    # The statement is compact JSON, its members in Lambda's order.
    assert added == {"Statement": json.dumps(statement, separators=(",", ":")),
                     "ResponseMetadata": {"HTTPStatusCode": 201}}
    raw = client.get_policy(FunctionName=name)
    assert raw["Policy"] == json.dumps(document(statement), separators=(",", ":"))
    assert policy_of(client, name) == {"Policy": document(statement), "RevisionId": "<revision>",
                                       "ResponseMetadata": {"HTTPStatusCode": 200}}


def test_permission_fields(client, server):
    name = h.unique_name("policy-fields")
    h.create_function(client, name)
    arn = h.function_arn(name)
    account = "111111111111"

    def statement(**kw):
        return json.loads(client.add_permission(FunctionName=name, **kw)["Statement"])

    assert statement(Action="lambda:InvokeFunction", StatementId="wilcard", Principal="*",
                     SourceAccount=account) == {
        "Sid": "wilcard", "Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunction",
        "Resource": arn, "Condition": {"StringEquals": {"AWS:SourceAccount": account}}}
    assert statement(Action="lambda:InvokeFunction", StatementId="lambda",
                     Principal="lambda.amazonaws.com", SourceAccount=account) == {
        "Sid": "lambda", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "lambda:InvokeFunction", "Resource": arn,
        "Condition": {"StringEquals": {"AWS:SourceAccount": account}}}
    assert statement(Action="lambda:InvokeFunction", StatementId="account-id",
                     Principal=account) == {
        "Sid": "account-id", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "lambda:InvokeFunction", "Resource": arn}
    user = f"arn:aws:iam::{account}:user/someone"
    assert statement(Action="lambda:InvokeFunction", StatementId="user-arn", Principal=user,
                     SourceAccount=account) == {
        "Sid": "user-arn", "Effect": "Allow", "Principal": {"AWS": user},
        "Action": "lambda:InvokeFunction", "Resource": arn,
        "Condition": {"StringEquals": {"AWS:SourceAccount": account}}}
    url = client.add_permission(
        FunctionName=name, StatementId="urlPermission", Action="lambda:InvokeFunctionUrl",
        Principal="*", SourceArn=BUCKET, SourceAccount=account, PrincipalOrgID="o-1234567890",
        FunctionUrlAuthType="NONE")["Statement"]
    # Condition operators and keys in AWS's order.
    assert url == json.dumps({
        "Sid": "urlPermission", "Effect": "Allow", "Principal": "*",
        "Action": "lambda:InvokeFunctionUrl", "Resource": arn,
        "Condition": {"StringEquals": {"AWS:SourceAccount": account,
                                       "lambda:FunctionUrlAuthType": "NONE",
                                       "aws:PrincipalOrgID": "o-1234567890"},
                      "ArnLike": {"AWS:SourceArn": BUCKET}}}, separators=(",", ":"))
    token = "amzn1.ask.skill.xxxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
    assert statement(StatementId="alexaSkill", Action="lambda:InvokeFunction", Principal="*",
                     EventSourceToken=token) == {
        "Sid": "alexaSkill", "Effect": "Allow", "Principal": "*",
        "Action": "lambda:InvokeFunction", "Resource": arn,
        "Condition": {"StringEquals": {"lambda:EventSourceToken": token}}}
    assert [s["Sid"] for s in policy_of(client, name)["Policy"]["Statement"]] == [
        "wilcard", "lambda", "account-id", "user-arn", "urlPermission", "alexaSkill"]


def test_remove_permissions(client):
    name = h.unique_name("policy-rm")
    h.create_function(client, name)
    arn = h.function_arn(name)
    client.add_permission(FunctionName=name, Action="lambda:InvokeFunction", StatementId="s3",
                          Principal="s3.amazonaws.com")
    client.add_permission(FunctionName=name, Action="lambda:InvokeFunction", StatementId="sqs",
                          Principal="sqs.amazonaws.com", SourceArn=BUCKET)
    sqs = {"Sid": "sqs", "Effect": "Allow", "Principal": {"Service": "sqs.amazonaws.com"},
           "Action": "lambda:InvokeFunction", "Resource": arn,
           "Condition": {"ArnLike": {"AWS:SourceArn": BUCKET}}}
    assert policy_of(client, name)["Policy"] == document(s3_statement("s3", arn, None), sqs)
    assert failure(client.remove_permission, FunctionName=name, StatementId="non-existent") == \
        not_found("Statement non-existent is not found in resource policy.")
    assert answer(client.remove_permission(FunctionName=name, StatementId="sqs")) == {
        "ResponseMetadata": {"HTTPStatusCode": 204}}
    assert policy_of(client, name)["Policy"] == document(s3_statement("s3", arn, None))
    client.remove_permission(FunctionName=name, StatementId="s3")
    # The policy goes with its last statement.
    assert failure(client.get_policy, FunctionName=name) == NO_RESOURCE
    assert failure(client.remove_permission, FunctionName=name, StatementId="s3") == \
        not_found("No policy is associated with the given resource.")


def test_permission_exceptions(client):
    name = h.unique_name("policy-err")
    h.create_function(client, name)
    arn = h.function_arn(name)
    e = failure(client.add_permission, FunctionName=name, Action="lambda:InvokeFunction",
                StatementId="example.com", Principal="s3.amazonaws.com")
    assert (e["Error"], e["ResponseMetadata"]) == (
        {"Code": "ValidationException",
         "Message": "1 validation error detected: Value 'example.com' at 'statementId' failed to "
                    "satisfy constraint: Member must satisfy regular expression pattern: "
                    "([a-zA-Z0-9-_]+)"}, {"HTTPStatusCode": 400})
    assert failure(add_s3, client=client, name=f"{name}:alias-not-42", sid="s3",
                   Qualifier="42") == user_error(
        "InvalidParameterValueException", 400,
        "The derived qualifier from the function name does not match the specified qualifier.")
    assert failure(add_s3, client=client, name=f"{name}:$LATEST", sid="s3",
                   Qualifier="$LATEST") == user_error(
        "InvalidParameterValueException", 400,
        "We currently do not support adding policies for $LATEST.")
    assert failure(client.add_permission, FunctionName=name, Action="lambda:InvokeFunction",
                   StatementId="lambda", Principal="invalid.nonaws.com",
                   SourceAccount="111111111111") == user_error(
        "InvalidParameterValueException", 400,
        "The provided principal was invalid. Please check the principal and try again.")
    assert failure(client.get_policy, FunctionName="doesnotexist") == NO_RESOURCE
    assert failure(client.get_policy, FunctionName=name, Qualifier="77") == NO_RESOURCE
    assert failure(add_s3, client=client, name="doesnotexist", sid="s3") == not_found(
        f"Function not found: {h.function_arn('doesnotexist')}")
    assert failure(client.remove_permission, FunctionName=name, StatementId="s3") == not_found(
        "No policy is associated with the given resource.")
    assert failure(add_s3, client=client, name=f"{name}:alias-doesnotexist", sid="s3") == \
        not_found(f"Cannot find alias arn: {arn}:alias-doesnotexist")
    assert failure(add_s3, client=client, name=name, sid="s3", Qualifier="42") == not_found(
        f"Function not found: {arn}:42")
    e = failure(add_s3, client=client, name=name, sid="s3",
                Qualifier="invalid-qualifier-with-?-char")
    assert (e["Error"], e["ResponseMetadata"]) == (
        {"Code": "ValidationException",
         "Message": "1 validation error detected: Value 'invalid-qualifier-with-?-char' at "
                    "'qualifier' failed to satisfy constraint: Member must satisfy regular "
                    r"expression pattern: \$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+"},
        {"HTTPStatusCode": 400})
    assert failure(add_s3, client=client, name=name, sid="s3",
                   Qualifier="valid-with-$-but-doesnotexist") == not_found(
        f"Function not found: {arn}:valid-with-$-but-doesnotexist")
    add_s3(client, name, "s3")
    assert failure(add_s3, client=client, name=name, sid="s3") == user_error(
        "ResourceConflictException", 409,
        "The statement id (s3) provided already exists. Please provide a new statement id, or "
        "remove the existing statement.")
    assert failure(client.remove_permission, FunctionName="doesnotexist", StatementId="s3") == \
        not_found(f"No policy found for: {h.function_arn('doesnotexist')}")
    assert failure(client.remove_permission, FunctionName=f"{name}:alias-doesnotexist",
                   StatementId="s3") == \
        not_found(f"Cannot find alias arn: {arn}:alias-doesnotexist")


def test_version_and_alias_policies_and_revisions(client):
    name = h.unique_name("policy-ver")
    h.create_function(client, name)
    arn = h.function_arn(name)
    add_s3(client, name, "s3")
    base = client.get_policy(FunctionName=name)
    version = client.publish_version(FunctionName=name)["Version"]
    # Publishing does not copy the policy: each version has its own.
    assert failure(client.get_policy, FunctionName=name, Qualifier=version) == NO_RESOURCE
    assert answer(client.get_policy(FunctionName=name)) == answer(base)
    add_s3(client, f"{name}:{version}", "s3", Qualifier=version)
    assert policy_of(client, name, Qualifier=version)["Policy"] == document(
        s3_statement("s3", f"{arn}:{version}"))

    alias = client.create_alias(FunctionName=name, Name="permission-alias",
                                FunctionVersion=version)
    assert failure(add_s3, client=client, name=name, sid="s3", Qualifier="permission-alias",
                   RevisionId="wrong") == user_error(
        "PreconditionFailedException", 412,
        "The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API "
        "to retrieve the latest Revision Id")
    # Before an alias has a policy, its own revision is the one to give.
    add_s3(client, f"{name}:permission-alias", "s3", Qualifier="permission-alias",
           RevisionId=alias["RevisionId"])
    assert policy_of(client, name, Qualifier="permission-alias")["Policy"] == document(
        s3_statement("s3", f"{arn}:permission-alias"))
    assert policy_of(client, name)["Policy"] == document(s3_statement("s3", arn))

    stale = user_error(
        "PreconditionFailedException", 412,
        "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/"
        "GetAlias API to retrieve the latest Revision Id")
    assert failure(add_s3, client=client, name=name, sid="s3_2", RevisionId="wrong") == stale
    current = client.get_policy(FunctionName=name)["RevisionId"]
    add_s3(client, name, "s3_2", RevisionId=current)
    after = client.get_policy(FunctionName=name)
    assert after["RevisionId"] != current
    assert json.loads(after["Policy"]) == document(s3_statement("s3", arn),
                                                   s3_statement("s3_2", arn))
    assert failure(client.remove_permission, FunctionName=name, StatementId="s3",
                   RevisionId=current) == stale
    client.remove_permission(FunctionName=name, StatementId="s3", RevisionId=after["RevisionId"])

    # Deleting the alias, the version, then the function removes their policies.
    client.delete_alias(FunctionName=name, Name="permission-alias")
    client.create_alias(FunctionName=name, Name="permission-alias", FunctionVersion=version)
    assert failure(client.get_policy, FunctionName=name,
                   Qualifier="permission-alias") == NO_RESOURCE
    client.delete_alias(FunctionName=name, Name="permission-alias")
    client.delete_function(FunctionName=name, Qualifier=version)
    client.delete_function(FunctionName=name)
    h.create_function(client, name)
    assert failure(client.get_policy, FunctionName=name) == NO_RESOURCE
    client.publish_version(FunctionName=name)
    assert failure(client.get_policy, FunctionName=name, Qualifier="1") == NO_RESOURCE


def test_policies_with_the_aws_cli(server, client, tmp_path):
    name = h.unique_name("policy-cli")
    h.create_function(client, name)
    arn = h.function_arn(name)
    added = h.aws_lambda(server.endpoint, tmp_path, "add-permission", "--function-name", name,
                         "--statement-id", "s3", "--action", "lambda:InvokeFunction",
                         "--principal", "s3.amazonaws.com", "--source-arn", BUCKET).json
    assert added == {"Statement": json.dumps(s3_statement("s3", arn), separators=(",", ":"))}
    got = h.aws_lambda(server.endpoint, tmp_path, "get-policy", "--function-name", name).json
    assert sorted(got) == ["Policy", "RevisionId"]
    assert json.loads(got["Policy"]) == document(s3_statement("s3", arn))
    removed = h.aws_lambda(server.endpoint, tmp_path, "remove-permission", "--function-name",
                           name, "--statement-id", "s3")
    assert removed.stdout.strip() == ""
    missing = h.aws_lambda(server.endpoint, tmp_path, "get-policy", "--function-name", name,
                           check=False)
    assert missing.rc != 0
    assert "An error occurred (ResourceNotFoundException) when calling the GetPolicy operation" \
        in missing.stderr
    assert missing.stderr.rstrip().endswith(": The resource you requested does not exist.")
