"""IAM's subset on Hearth's endpoint (the query protocol): roles, inline and attached
policies, Hearth's managed policies, with boto3 and the AWS CLI, compared whole with
what AWS answered (LocalStack's snapshots of real AWS, iam/test_iam.snapshot.json:
TestIAMIntegrations::test_create_describe_role, test_role_attach_policy,
TestRoles::test_role_with_tags, TestIAMPolicyEncoding::test_put_role_policy_encoding,
TestIAMExtensions::test_create_role_with_malformed_assume_role_policy_document), and
CreateFunction's role check (on by default with --auth sigv4), and the default execution
role the server makes."""

import datetime
import json
import re
import urllib.request

import boto3
import pytest
from botocore.config import Config

import hearth_e2e as h

# How environments are isolated plays no part here (or the tests choose their sandbox
# themselves): run once, in the jail pass, not again under the process sandbox
# (scripts/test.sh).
pytestmark = pytest.mark.sandbox_neutral


answer, failure = h.answer, h.failure

BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
XRAY = "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess"
TRUST_EC2 = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
TRUST_LAMBDA = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
     "Action": "sts:AssumeRole"}]}
S3_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/*"]}]}
ROLE_ID = re.compile(r"^AROA[A-Z2-7]{17}$")


def iam_client(endpoint, validate=True):
    return boto3.session.Session().client(
        "iam", region_name=h.REGION, endpoint_url=endpoint,
        **h.key_args(endpoint),
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"},
                      parameter_validation=validate))


@pytest.fixture(scope="module")
def iam(server):
    return iam_client(server.endpoint)


@pytest.fixture(scope="module")
def raw_iam(server):
    """Without botocore's validation, to reach the server's."""
    return iam_client(server.endpoint, validate=False)


def normalised(value):
    """Role ids and dates replaced by placeholders (after checking their form)."""
    if isinstance(value, dict):
        return {k: normalised(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalised(v) for v in value]
    if isinstance(value, datetime.datetime):
        return "<datetime>"
    if isinstance(value, str) and value.startswith("AROA"):
        assert ROLE_ID.match(value), value
        return "<role-id>"
    return value


def role(name, path="/", trust=TRUST_EC2, **extra):
    """A role as CreateRole answers it (ListRoles and GetRole add members)."""
    return {"Path": path, "RoleName": name, "RoleId": "<role-id>",
            "Arn": f"arn:aws:iam::{h.ACCOUNT}:role{path}{name}", "CreateDate": "<datetime>",
            "AssumeRolePolicyDocument": trust, **extra}


def error(code, message, status):
    return {"Error": {"Type": "Sender", "Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status}}


OK = {"ResponseMetadata": {"HTTPStatusCode": 200}}


def test_role_lifecycle_whole_answers(iam):
    name = h.unique_name("role")
    tags = [{"Key": "test", "Value": "value"}]
    created = iam.create_role(RoleName=name, Path="/role-with-tags/",
                              AssumeRolePolicyDocument=json.dumps(TRUST_EC2), Tags=tags)
    assert normalised(answer(created)) == {
        "Role": role(name, "/role-with-tags/", Tags=tags), **OK}
    assert normalised(answer(iam.get_role(RoleName=name))) == {
        "Role": role(name, "/role-with-tags/", MaxSessionDuration=3600, Tags=tags,
                     RoleLastUsed={}), **OK}
    listed = iam.list_roles(PathPrefix="/role-with-tags/")
    assert normalised(answer(listed)) == {
        "Roles": [role(name, "/role-with-tags/", MaxSessionDuration=3600)],
        "IsTruncated": False, **OK}
    # The id and date are the same in every answer.
    assert created["Role"]["RoleId"] == listed["Roles"][0]["RoleId"]
    assert created["Role"]["CreateDate"] == listed["Roles"][0]["CreateDate"]
    assert answer(iam.delete_role(RoleName=name)) == OK
    assert failure(iam.get_role, RoleName=name) == error(
        "NoSuchEntity", f"The role with name {name} cannot be found.", 404)


def test_create_role_members_and_errors(iam, raw_iam):
    name = h.unique_name("described")
    created = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA),
                              Description="runs things", MaxSessionDuration=7200)
    assert normalised(answer(created)) == {
        "Role": role(name, trust=TRUST_LAMBDA, Description="runs things"), **OK}
    assert iam.get_role(RoleName=name)["Role"]["MaxSessionDuration"] == 7200
    # Names are unique regardless of case.
    assert failure(iam.create_role, RoleName=name.upper(),
                   AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA)) == error(
        "EntityAlreadyExists", f"Role with name {name.upper()} already exists.", 409)
    assert failure(iam.create_role, RoleName=h.unique_name("bad"),
                   AssumeRolePolicyDocument="{invalid json}") == error(
        "MalformedPolicyDocument", "This policy contains invalid Json", 400)
    identity_doc = json.dumps(S3_POLICY)
    assert failure(iam.create_role, RoleName=h.unique_name("bad"),
                   AssumeRolePolicyDocument=identity_doc) == error(
        "MalformedPolicyDocument", "Has prohibited field Resource", 400)
    assert failure(raw_iam.create_role, RoleName="has space",
                   AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA)) == error(
        "ValidationError",
        "1 validation error detected: Value 'has space' at 'roleName' failed to satisfy "
        r"constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+", 400)
    assert failure(raw_iam.create_role, RoleName=h.unique_name("bad"), MaxSessionDuration=60,
                   AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA)) == error(
        "ValidationError",
        "1 validation error detected: Value '60' at 'maxSessionDuration' failed to satisfy "
        "constraint: Member must have value greater than or equal to 3600", 400)


def test_policy_documents_come_back_as_sent(iam):
    """IAM answers documents URL-encoded; botocore decodes them once, so text that is
    itself encoded inside the document stays as it was (test_put_role_policy_encoding)."""
    name = h.unique_name("encoded")
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {
            "aws:SourceArn": "arn%3Aaws%3Aapigateway%3Aus-east-1%3A%3A%2Frestapis%2Faaeeieije"}}}]}
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["apigatway:PUT"],
        "Resource": ["arn:aws:apigateway:us-east-1::/tags/arn%3Aaws%3Aapigateway%3Aus-east-1"
                     "%3A%3A%2Frestapis%2Faaeeieije"]}]}
    iam.create_role(RoleName=name, Path="/enc/", AssumeRolePolicyDocument=json.dumps(trust))
    # Spaces and plus signs survive too.
    iam.put_role_policy(RoleName=name, PolicyName="p+1",
                        PolicyDocument=json.dumps(policy, indent=2))
    assert answer(iam.get_role_policy(RoleName=name, PolicyName="p+1")) == {
        "RoleName": name, "PolicyName": "p+1", "PolicyDocument": policy, **OK}
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == trust
    iam.delete_role_policy(RoleName=name, PolicyName="p+1")
    iam.delete_role(RoleName=name)


def test_list_roles_pages_and_filters_by_path(iam):
    names = sorted(h.unique_name(f"page{i}") for i in range(3))
    for n in names:
        iam.create_role(RoleName=n, Path="/paging/", AssumeRolePolicyDocument=json.dumps(TRUST_EC2))
    first = iam.list_roles(PathPrefix="/paging/", MaxItems=2)
    assert [r["RoleName"] for r in first["Roles"]] == names[:2]
    assert first["IsTruncated"] is True
    second = iam.list_roles(PathPrefix="/paging/", MaxItems=2, Marker=first["Marker"])
    assert [r["RoleName"] for r in second["Roles"]] == names[2:]
    assert second["IsTruncated"] is False and "Marker" not in second
    paged = [r["RoleName"] for p in iam.get_paginator("list_roles").paginate(
        PathPrefix="/paging/", PaginationConfig={"PageSize": 1}) for r in p["Roles"]]
    assert paged == names
    assert answer(iam.list_roles(PathPrefix="/nothing-here/")) == {
        "Roles": [], "IsTruncated": False, **OK}
    for n in names:
        iam.delete_role(RoleName=n)


def test_inline_policies(iam):
    name = h.unique_name("inline")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA))
    assert answer(iam.put_role_policy(RoleName=name, PolicyName="s3",
                                      PolicyDocument=json.dumps(S3_POLICY))) == OK
    iam.put_role_policy(RoleName=name, PolicyName="logs", PolicyDocument=json.dumps(S3_POLICY))
    assert answer(iam.list_role_policies(RoleName=name)) == {
        "PolicyNames": ["logs", "s3"], "IsTruncated": False, **OK}
    page = iam.list_role_policies(RoleName=name, MaxItems=1)
    assert (page["PolicyNames"], page["IsTruncated"]) == (["logs"], True)
    assert iam.list_role_policies(RoleName=name, Marker=page["Marker"])["PolicyNames"] == ["s3"]
    assert failure(iam.get_role_policy, RoleName=name, PolicyName="nope") == error(
        "NoSuchEntity", "The role policy with name nope cannot be found.", 404)
    with_principal = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}
    assert failure(iam.put_role_policy, RoleName=name, PolicyName="x",
                   PolicyDocument=json.dumps(with_principal)) == error(
        "MalformedPolicyDocument", "Policy document should not specify a principal.", 400)
    assert failure(iam.put_role_policy, RoleName=name, PolicyName="x",
                   PolicyDocument=json.dumps({"Version": "2012-10-17"})) == error(
        "MalformedPolicyDocument", "Syntax errors in policy.", 400)
    # A role with inline policies cannot be deleted.
    assert failure(iam.delete_role, RoleName=name) == error(
        "DeleteConflict", "Cannot delete entity, must delete policies first.", 409)
    for p in ("logs", "s3"):
        assert answer(iam.delete_role_policy(RoleName=name, PolicyName=p)) == OK
    assert failure(iam.delete_role_policy, RoleName=name, PolicyName="s3") == error(
        "NoSuchEntity", "The role policy with name s3 cannot be found.", 404)
    iam.delete_role(RoleName=name)


def test_managed_policies_attach_list_detach(iam):
    name = h.unique_name("attached")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA))
    # As test_role_attach_policy: a name is not an ARN; an ARN of no policy is not found.
    for bad in ("longpolicynamebutnoarn", "AWSLambdaBasicExecutionRole"):
        assert failure(iam.attach_role_policy, RoleName=name, PolicyArn=bad) == error(
            "ValidationError", "Invalid ARN:  Could not be parsed!", 400)
    missing = f"arn:aws:iam::{h.ACCOUNT}:policy/nothing123"
    assert failure(iam.attach_role_policy, RoleName=name, PolicyArn=missing) == error(
        "NoSuchEntity", f"Policy {missing} does not exist or is not attachable.", 404)
    assert failure(iam.attach_role_policy, RoleName="no-such-role", PolicyArn=BASIC) == error(
        "NoSuchEntity", "The role with name no-such-role cannot be found.", 404)
    assert answer(iam.attach_role_policy(RoleName=name, PolicyArn=BASIC)) == OK
    iam.attach_role_policy(RoleName=name, PolicyArn=XRAY)
    assert answer(iam.list_attached_role_policies(RoleName=name)) == {
        "AttachedPolicies": [
            {"PolicyName": "AWSLambdaBasicExecutionRole", "PolicyArn": BASIC},
            {"PolicyName": "AWSXRayDaemonWriteAccess", "PolicyArn": XRAY}],
        "IsTruncated": False, **OK}
    assert iam.list_attached_role_policies(
        RoleName=name, PathPrefix="/service-role/")["AttachedPolicies"] == [
        {"PolicyName": "AWSLambdaBasicExecutionRole", "PolicyArn": BASIC}]

    policy = answer(iam.get_policy(PolicyArn=BASIC))
    assert re.match(r"^ANPA[A-Z2-7]{17}$", policy["Policy"].pop("PolicyId"))
    assert policy == {"Policy": {
        "PolicyName": "AWSLambdaBasicExecutionRole", "Arn": BASIC, "Path": "/service-role/",
        # Attached to this role and to the default role the server made (role/hearth).
        "DefaultVersionId": "v1", "AttachmentCount": 2, "PermissionsBoundaryUsageCount": 0,
        "IsAttachable": True, "Description": "Provides write permissions to CloudWatch Logs.",
        "CreateDate": datetime.datetime(2015, 4, 9, 15, 3, 43, tzinfo=datetime.timezone.utc),
        "UpdateDate": datetime.datetime(2015, 4, 9, 15, 3, 43, tzinfo=datetime.timezone.utc)},
        **OK}
    assert answer(iam.get_policy_version(PolicyArn=BASIC, VersionId="v1")) == {
        "PolicyVersion": {
            "Document": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "*"}]},
            "VersionId": "v1", "IsDefaultVersion": True,
            "CreateDate": datetime.datetime(2015, 4, 9, 15, 3, 43,
                                            tzinfo=datetime.timezone.utc)}, **OK}
    attached = iam.list_policies(Scope="AWS", OnlyAttached=True)["Policies"]
    assert sorted((p["PolicyName"], p["AttachmentCount"]) for p in attached) == [
        ("AWSLambdaBasicExecutionRole", 2), ("AWSXRayDaemonWriteAccess", 1)]
    everything = [p["Arn"] for p in iam.list_policies()["Policies"]]
    assert BASIC in everything and XRAY in everything
    assert iam.list_policies(Scope="Local")["Policies"] == []

    # A role with attached policies cannot be deleted either.
    assert failure(iam.delete_role, RoleName=name) == error(
        "DeleteConflict", "Cannot delete entity, must detach all policies first.", 409)
    assert answer(iam.detach_role_policy(RoleName=name, PolicyArn=BASIC)) == OK
    assert failure(iam.detach_role_policy, RoleName=name, PolicyArn=BASIC) == error(
        "NoSuchEntity", f"Policy {BASIC} was not found.", 404)
    iam.detach_role_policy(RoleName=name, PolicyArn=XRAY)
    assert iam.get_policy(PolicyArn=BASIC)["Policy"]["AttachmentCount"] == 1
    assert answer(iam.delete_role(RoleName=name)) == OK


def test_update_assume_role_policy(iam):
    name = h.unique_name("retrust")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST_EC2))
    assert answer(iam.update_assume_role_policy(
        RoleName=name, PolicyDocument=json.dumps(TRUST_LAMBDA))) == OK
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == TRUST_LAMBDA
    assert failure(iam.update_assume_role_policy, RoleName="no-such-role",
                   PolicyDocument=json.dumps(TRUST_LAMBDA)) == error(
        "NoSuchEntity", "The role with name no-such-role cannot be found.", 404)
    iam.delete_role(RoleName=name)


def test_unknown_action_is_invalid_action(server):
    url, form = f"{server.endpoint}/", b"Action=CreateUser&Version=2010-05-08"
    signed = h.sign_headers(url, "POST", form,
                            {"Content-Type": "application/x-www-form-urlencoded"},
                            service="iam")
    status, headers, raw = h.http_request(url, method="POST", body=form, headers=signed,
                                          timeout=10)
    body = raw.decode()
    rid = headers["x-amzn-RequestId"]
    assert status == 400
    assert headers["Content-Type"] == "text/xml"
    assert body == (
        '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error>'
        "<Type>Sender</Type><Code>InvalidAction</Code>"
        "<Message>Could not find operation CreateUser for version 2010-05-08</Message>"
        f"</Error><RequestId>{rid}</RequestId></ErrorResponse>")


def aws_iam(endpoint, tmp_dir, *args, check=True):
    return h.run(h._aws_command() + ["iam", *args, "--endpoint-url", endpoint,
                                     "--region", h.REGION, "--output", "json"],
                 env=h.aws_env(tmp_dir), check=check)


def test_roles_with_the_aws_cli(server, tmp_path):
    name = h.unique_name("cli-role")
    created = aws_iam(server.endpoint, tmp_path, "create-role", "--role-name", name,
                      "--assume-role-policy-document", json.dumps(TRUST_LAMBDA)).json
    assert ROLE_ID.match(created["Role"].pop("RoleId"))
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\+00:00|Z)$",
                    created["Role"].pop("CreateDate"))
    assert created == {"Role": {
        "Path": "/", "RoleName": name, "Arn": f"arn:aws:iam::{h.ACCOUNT}:role/{name}",
        "AssumeRolePolicyDocument": TRUST_LAMBDA}}
    assert aws_iam(server.endpoint, tmp_path, "attach-role-policy", "--role-name", name,
                   "--policy-arn", BASIC).stdout.strip() == ""
    assert aws_iam(server.endpoint, tmp_path, "list-attached-role-policies",
                   "--role-name", name).json == {
        "AttachedPolicies": [{"PolicyName": "AWSLambdaBasicExecutionRole", "PolicyArn": BASIC}]}
    refused = aws_iam(server.endpoint, tmp_path, "delete-role", "--role-name", name, check=False)
    assert refused.rc != 0
    assert "An error occurred (DeleteConflict) when calling the DeleteRole operation" \
        in refused.stderr
    assert refused.stderr.strip().endswith(
        ": Cannot delete entity, must detach all policies first.")
    aws_iam(server.endpoint, tmp_path, "detach-role-policy", "--role-name", name,
            "--policy-arn", BASIC)
    aws_iam(server.endpoint, tmp_path, "delete-role", "--role-name", name)
    gone = aws_iam(server.endpoint, tmp_path, "get-role", "--role-name", name, check=False)
    assert gone.rc != 0
    assert "(NoSuchEntity) when calling the GetRole operation" in gone.stderr
    assert gone.stderr.strip().endswith(f": The role with name {name} cannot be found.")


def lambda_refusal(message):
    return {"Error": {"Code": "InvalidParameterValueException", "Message": message},
            "Type": "User", "message": message, "ResponseMetadata": {"HTTPStatusCode": 400}}


CANNOT_ASSUME = "The role defined for the function cannot be assumed by Lambda."


def test_the_server_makes_a_default_execution_role(iam):
    """role/hearth: what the README's commands, `hearth deploy` and scripts/setup.sh name."""
    got = normalised(answer(iam.get_role(RoleName="hearth")))
    assert got == {"Role": {
        **role("hearth", trust=TRUST_LAMBDA), "MaxSessionDuration": 3600,
        "Description": "Hearth's default execution role: Lambda may assume it; basic "
                       "execution (logs)",
        "RoleLastUsed": {}}, **OK}
    assert answer(iam.list_attached_role_policies(RoleName="hearth")) == {
        "AttachedPolicies": [{"PolicyName": "AWSLambdaBasicExecutionRole", "PolicyArn": BASIC}],
        "IsTruncated": False, **OK}
    assert answer(iam.list_role_policies(RoleName="hearth")) == {
        "PolicyNames": [], "IsTruncated": False, **OK}


def test_the_default_role_is_made_once_and_left_as_the_operator_changed_it(own_server):
    iam = iam_client(own_server.endpoint)
    first = iam.get_role(RoleName="hearth")["Role"]
    iam.detach_role_policy(RoleName="hearth", PolicyArn=BASIC)
    own_server.restart()
    iam = iam_client(own_server.endpoint)
    assert iam.get_role(RoleName="hearth")["Role"]["RoleId"] == first["RoleId"]
    assert iam.list_attached_role_policies(RoleName="hearth")["AttachedPolicies"] == []
    # Deleted, it is made again at the next start.
    iam.delete_role(RoleName="hearth")
    own_server.restart()
    iam = iam_client(own_server.endpoint)
    again = iam.get_role(RoleName="hearth")["Role"]
    assert again["RoleId"] != first["RoleId"]
    assert iam.list_attached_role_policies(RoleName="hearth")["AttachedPolicies"] == [
        {"PolicyName": "AWSLambdaBasicExecutionRole", "PolicyArn": BASIC}]


def check_roles_on(srv):
    """CreateFunction and UpdateFunctionConfiguration refuse what Lambda refuses."""
    iam = iam_client(srv.endpoint)
    lam = h.lambda_client(srv.endpoint)
    iam.create_role(RoleName="ec2-only", AssumeRolePolicyDocument=json.dumps(TRUST_EC2))
    iam.create_role(RoleName="exec", Path="/fn/", AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA))
    name = h.unique_name("checked")
    for role_arn in (f"arn:aws:iam::{h.ACCOUNT}:role/no-such-role",
                     f"arn:aws:iam::{h.ACCOUNT}:role/ec2-only",  # does not trust Lambda
                     "arn:aws:iam::111111111111:role/fn/exec"):  # another account's
        assert failure(h.create_function, client=lam, name=name, Role=role_arn) == lambda_refusal(
            CANNOT_ASSUME), role_arn
    created = h.create_function(lam, name, Role=f"arn:aws:iam::{h.ACCOUNT}:role/fn/exec")
    assert created["Role"] == f"arn:aws:iam::{h.ACCOUNT}:role/fn/exec"
    assert failure(lam.update_function_configuration, FunctionName=name,
                   Role=f"arn:aws:iam::{h.ACCOUNT}:role/ec2-only") == lambda_refusal(CANNOT_ASSUME)
    # Trusting Lambda later makes the role usable.
    iam.update_assume_role_policy(RoleName="ec2-only", PolicyDocument=json.dumps(TRUST_LAMBDA))
    h.wait_updated(lam, name)
    updated = lam.update_function_configuration(
        FunctionName=name, Role=f"arn:aws:iam::{h.ACCOUNT}:role/ec2-only")
    assert updated["Role"] == f"arn:aws:iam::{h.ACCOUNT}:role/ec2-only"
    assert h.invoke_ok(lam, name, {"x": 1}) is not None
    # The default role and the harness's ROLE (made at start) are taken.
    for role_arn in (f"arn:aws:iam::{h.ACCOUNT}:role/hearth", h.ROLE):
        other = h.unique_name("default-role")
        assert h.create_function(lam, other, Role=role_arn)["Role"] == role_arn


def test_create_function_checks_the_role_by_default(server_with_env):
    check_roles_on(server_with_env())


def test_check_roles_with_auth_off_when_asked(server_with_env):
    check_roles_on(server_with_env("--auth", "off", "--check-roles"))


@pytest.mark.parametrize("args", [("--check-roles=false",), ("--auth", "off")],
                         ids=["check-roles=false", "auth-off"])
def test_without_the_check_any_role_is_taken(server_with_env, args):
    srv = server_with_env(*args)
    lam = h.lambda_client(srv.endpoint)
    for role_arn in (f"arn:aws:iam::{h.ACCOUNT}:role/no-such-role",
                     "arn:aws:iam::111111111111:role/fn/exec"):
        name = h.unique_name("unchecked")
        assert h.create_function(lam, name, Role=role_arn)["Role"] == role_arn
    if args[0] == "--check-roles=false":
        assert "EXECUTION ROLES ARE NOT CHECKED (--check-roles=false)" in srv.stderr_tail()
