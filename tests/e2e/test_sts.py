"""STS on Hearth's endpoint: GetCallerIdentity and AssumeRole's checks, compared whole with
what AWS answered (LocalStack's snapshots of real AWS, sts/test_sts.snapshot.json:
TestSTSIntegrations::test_sts_invalid_parameters, TestSTSAssumeRoleTagging::
test_assume_role_tag_validation). The credentials are the authentication layer's
sessions, verified and authorised with the role's policies."""

import json

import boto3
import pytest
from botocore.config import Config

import hearth_e2e as h

# How environments are isolated plays no part here (or the tests choose their sandbox
# themselves): run once, in the jail pass, not again under the process sandbox
# (scripts/test.sh).
pytestmark = pytest.mark.sandbox_neutral


answer, failure = h.answer, h.failure
ROOT = f"arn:aws:iam::{h.ACCOUNT}:root"
ASSUMER = f"arn:aws:iam::{h.ACCOUNT}:user/assumer"
TRUST_ACCOUNT = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": h.ACCOUNT},
     "Action": ["sts:AssumeRole", "sts:TagSession"]}]}
TRUST_LAMBDA = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
     "Action": "sts:AssumeRole"}]}


def client(endpoint, service, validate=True, creds=None):
    keys = (h.key_args(endpoint) if creds is None else
            {"aws_access_key_id": creds[0], "aws_secret_access_key": creds[1]})
    return boto3.session.Session().client(
        service, region_name=h.REGION, endpoint_url=endpoint, **keys,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"},
                      parameter_validation=validate))


@pytest.fixture(scope="module")
def sts(server):
    return client(server.endpoint, "sts")


@pytest.fixture(scope="module")
def assumer_key(server, tmp_path_factory):
    """A user allowed every STS action: STS refuses AssumeRole to an account's root."""
    return h.user_key(server, tmp_path_factory.mktemp("assumer"), h.ACCOUNT, "assumer", [
        {"Effect": "Allow", "Action": "sts:*", "Resource": "*"}])


@pytest.fixture(scope="module")
def assumer(server, assumer_key):
    return client(server.endpoint, "sts", creds=assumer_key)


@pytest.fixture(scope="module")
def raw_assumer(server, assumer_key):
    return client(server.endpoint, "sts", validate=False, creds=assumer_key)


@pytest.fixture(scope="module")
def iam(server):
    return client(server.endpoint, "iam")


def error(code, message, status, kind="Sender"):
    return {"Error": {"Type": kind, "Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status}}


def test_get_caller_identity_is_the_default_root(sts, server, tmp_path):
    assert answer(sts.get_caller_identity()) == {
        "UserId": h.ACCOUNT, "Account": h.ACCOUNT, "Arn": ROOT,
        "ResponseMetadata": {"HTTPStatusCode": 200}}
    run = h.run(h._aws_command() + ["sts", "get-caller-identity", "--endpoint-url",
                                    server.endpoint, "--region", h.REGION, "--output", "json"],
                env=h.aws_env(tmp_path))
    assert run.json == {"UserId": h.ACCOUNT, "Account": h.ACCOUNT, "Arn": ROOT}


def test_assume_role_parameters_as_sts_checks_them(assumer, raw_assumer):
    for arn in ("nothing-valid-in-here", "arn::b:::something/test-role",
                "arn:a::::something/test-role", "arn:a:::something/test-role",
                "arn:a:a::aaaaaaaaaa:"):
        assert failure(assumer.assume_role, RoleArn=arn, RoleSessionName="Session1") == error(
            "ValidationError", f"{arn} is invalid", 400), arn
    assert failure(raw_assumer.assume_role, RoleArn=f"arn:aws:iam::{h.ACCOUNT}:role/r",
                   RoleSessionName="Session1:2") == error(
        "ValidationError",
        "1 validation error detected: Value 'Session1:2' at 'roleSessionName' failed to "
        r"satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*", 400)
    assert failure(raw_assumer.assume_role, RoleArn=f"arn:aws:iam::{h.ACCOUNT}:role/r",
                   RoleSessionName="s1", DurationSeconds=100) == error(
        "ValidationError",
        "1 validation error detected: Value '100' at 'durationSeconds' failed to satisfy "
        "constraint: Member must have value greater than or equal to 900", 400)


def test_assume_role_tag_validation(assumer, iam):
    name = h.unique_name("tagged")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST_ACCOUNT))
    arn = f"arn:aws:iam::{h.ACCOUNT}:role/{name}"
    assert failure(assumer.assume_role, RoleArn=arn, RoleSessionName="s1",
                   Tags=[{"Key": "k1", "Value": "v"}], TransitiveTagKeys=["k2"]) == error(
        "InvalidParameterValue",
        "The specified transitive tag key must be included in the requested tags.", 400)
    assert failure(assumer.assume_role, RoleArn=arn, RoleSessionName="s1",
                   Tags=[{"Key": "Key", "Value": "a"}, {"Key": "key", "Value": "b"}]) == error(
        "InvalidParameterValue",
        "Duplicate tag keys found. Please note that Tag keys are case insensitive.", 400)
    iam.delete_role(RoleName=name)


def test_an_account_root_may_not_assume_a_role(sts, iam):
    """Whatever the trust policy says, as STS answers it."""
    name = h.unique_name("trusts-root")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "sts:AssumeRole"}]}))
    assert failure(sts.assume_role, RoleArn=f"arn:aws:iam::{h.ACCOUNT}:role/{name}",
                   RoleSessionName="s1") == error(
        "AccessDenied", "Roles may not be assumed by root accounts.", 403)
    iam.delete_role(RoleName=name)


def test_assume_role_refused_unless_the_trust_policy_names_the_caller(assumer, iam):
    lambda_only = h.unique_name("lambda-only")
    iam.create_role(RoleName=lambda_only, AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA))
    for arn in (f"arn:aws:iam::{h.ACCOUNT}:role/{lambda_only}",
                f"arn:aws:iam::{h.ACCOUNT}:role/no-such-role",
                "arn:aws:iam::111111111111:role/other-account"):
        assert failure(assumer.assume_role, RoleArn=arn, RoleSessionName="s1") == error(
            "AccessDenied",
            f"User: {ASSUMER} is not authorized to perform: sts:AssumeRole on resource: {arn}",
            403), arn
    iam.delete_role(RoleName=lambda_only)


def test_assumed_credentials_act_as_the_role_with_its_policies(assumer, iam, server):
    """AssumeRole mints session credentials that the server verifies: a client using them
    is the role's session (GetCallerIdentity), allowed what the role's inline policy
    allows and refused the rest with AWS's text; a role with no policy is allowed nothing."""
    name = h.unique_name("trusting")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST_ACCOUNT),
                    MaxSessionDuration=7200)
    arn = f"arn:aws:iam::{h.ACCOUNT}:role/{name}"
    assert failure(assumer.assume_role, RoleArn=arn, RoleSessionName="s1",
                   DurationSeconds=7201) == error(
        "ValidationError",
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.", 400)
    got = assumer.assume_role(RoleArn=arn, RoleSessionName="s1", DurationSeconds=900)
    creds = got["Credentials"]
    role_id = iam.get_role(RoleName=name)["Role"]["RoleId"]
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["AccessKeyId"]) == 20
    assert got["AssumedRoleUser"] == {
        "AssumedRoleId": f"{role_id}:s1",
        "Arn": f"arn:aws:sts::{h.ACCOUNT}:assumed-role/{name}/s1"}
    session = boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"], region_name=h.REGION)
    config = Config(retries={"total_max_attempts": 1, "mode": "standard"})
    as_role = session.client("sts", endpoint_url=server.endpoint, config=config)
    lam = session.client("lambda", endpoint_url=server.endpoint, config=config)
    assert answer(as_role.get_caller_identity()) == {
        "UserId": f"{role_id}:s1", "Account": h.ACCOUNT,
        "Arn": f"arn:aws:sts::{h.ACCOUNT}:assumed-role/{name}/s1",
        "ResponseMetadata": {"HTTPStatusCode": 200}}
    session_arn = f"arn:aws:sts::{h.ACCOUNT}:assumed-role/{name}/s1"

    def denied(action, resource):
        return (f"User: {session_arn} is not authorized to perform: {action} on resource: "
                f"{resource} because no identity-based policy allows the {action} action")

    # No policy yet: nothing is allowed.
    assert failure(lam.list_functions)["Error"]["Message"] == denied("lambda:ListFunctions", "*")
    iam.put_role_policy(RoleName=name, PolicyName="list", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "lambda:ListFunctions", "Resource": "*"}]}))
    assert answer(lam.list_functions())["ResponseMetadata"] == {"HTTPStatusCode": 200}
    assert failure(lam.get_account_settings)["Error"]["Message"] == denied(
        "lambda:GetAccountSettings", "*")
    iam.delete_role_policy(RoleName=name, PolicyName="list")
    iam.delete_role(RoleName=name)
