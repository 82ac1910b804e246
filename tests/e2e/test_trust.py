"""Role trust policies evaluated by the policy crate (issue 14): STS AssumeRole is decided
by the role's trust policy, its conditions evaluated with the request (sts:ExternalId,
aws:SourceIp, aws:PrincipalAccount), together with the caller's identity policy as the IAM
User Guide documents for role trust policies: the trust policy must always allow; naming
the caller itself is enough in the role's account; naming only the account (its root, or
its id) delegates to the caller's identity policy, which must allow sts:AssumeRole on the
role; from another account both must allow; an explicit Deny in either wins.

Callers are IAM users' keys made with `hearth keys create` (STS refuses AssumeRole to an
account's root, `test_sts.py`). A refusal is STS's AccessDenied, "User: ARN is not authorized to
perform: sts:AssumeRole on resource: ARN", in the query protocol's XML."""

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
A = h.ACCOUNT
B = "111122223333"
ROOT = f"arn:aws:iam::{A}:root"
OPS = f"arn:aws:iam::{A}:user/ops"
CONFIG = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def client(endpoint, service, creds=None, validate=True):
    keys = (h.key_args(endpoint) if creds is None else
            {"aws_access_key_id": creds[0], "aws_secret_access_key": creds[1]})
    config = CONFIG.merge(Config(parameter_validation=validate))
    return boto3.session.Session().client(service, region_name=h.REGION,
                                          endpoint_url=endpoint, config=config, **keys)


@pytest.fixture(scope="module")
def sts(server, tmp_path_factory):
    """STS as user `ops`, allowed every STS action by its identity policy (STS refuses
    AssumeRole to an account's root)."""
    creds = h.user_key(server, tmp_path_factory.mktemp("ops"), A, "ops", [
        {"Effect": "Allow", "Action": "sts:*", "Resource": "*"}])
    return client(server.endpoint, "sts", creds)


@pytest.fixture(scope="module")
def iam(server):
    return client(server.endpoint, "iam")


def trust(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal, condition=None, action="sts:AssumeRole"):
    s = {"Effect": "Allow", "Principal": principal, "Action": action}
    if condition is not None:
        s["Condition"] = condition
    return s


def role(iam, document, prefix="trusting"):
    """A new role with trust policy `document`; its ARN."""
    name = h.unique_name(prefix)
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=document)["Role"]["Arn"]


def denied(caller_arn, role_arn, action="sts:AssumeRole"):
    message = (f"User: {caller_arn} is not authorized to perform: {action} on "
               f"resource: {role_arn}")
    return {"Error": {"Type": "Sender", "Code": "AccessDenied", "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": 403}}


def assumed(sts, role_arn, session="s1", **kw):
    """AssumeRole's whole answer, its volatile credentials checked for their shape and
    left out."""
    got = answer(sts.assume_role(RoleArn=role_arn, RoleSessionName=session, **kw))
    creds = got.pop("Credentials")
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["AccessKeyId"]) == 20, creds
    assert len(creds["SecretAccessKey"]) == 40 and creds["SessionToken"], creds
    role_id = got["AssumedRoleUser"]["AssumedRoleId"].split(":")[0]
    assert role_id.startswith("AROA"), got
    name = role_arn.rsplit("/", 1)[1]
    account = role_arn.split(":")[4]
    assert got == {
        "AssumedRoleUser": {"AssumedRoleId": f"{role_id}:{session}",
                            "Arn": f"arn:aws:sts::{account}:assumed-role/{name}/{session}"},
        "ResponseMetadata": {"HTTPStatusCode": 200}}
    return creds


def test_external_id_condition(sts, iam):
    """sts:ExternalId is the ExternalId parameter: refused without it or with another
    value, allowed with the one the trust policy names."""
    arn = role(iam, trust(allow({"AWS": A}, {"StringEquals": {"sts:ExternalId": "Unique-42"}})))
    assert failure(sts.assume_role, RoleArn=arn, RoleSessionName="s1") == denied(OPS, arn)
    assert failure(sts.assume_role, RoleArn=arn, RoleSessionName="s1",
                   ExternalId="unique-42") == denied(OPS, arn)
    assumed(sts, arn, ExternalId="Unique-42")


def test_external_id_is_checked_as_sts_checks_it(server, iam):
    raw = client(server.endpoint, "sts", validate=False)
    arn = role(iam, trust(allow({"AWS": A})))
    assert failure(raw.assume_role, RoleArn=arn, RoleSessionName="s1", ExternalId="x") == {
        "Error": {"Type": "Sender", "Code": "ValidationError",
                  "Message": "1 validation error detected: Value 'x' at 'externalId' failed "
                             "to satisfy constraint: Member must have length greater than or "
                             "equal to 2"},
        "ResponseMetadata": {"HTTPStatusCode": 400}}
    assert failure(raw.assume_role, RoleArn=arn, RoleSessionName="s1",
                   ExternalId="two words") == {
        "Error": {"Type": "Sender", "Code": "ValidationError",
                  "Message": "1 validation error detected: Value 'two words' at 'externalId' "
                             "failed to satisfy constraint: Member must satisfy regular "
                             r"expression pattern: [\w+=,.@:\/-]*"},
        "ResponseMetadata": {"HTTPStatusCode": 400}}


def test_source_ip_and_time_conditions(sts, iam):
    """The test client connects from 127.0.0.1."""
    inside = role(iam, trust(allow({"AWS": A}, {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}})))
    outside = role(iam, trust(allow({"AWS": A}, {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})))
    expired = role(iam, trust(allow(
        {"AWS": A}, {"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}})))
    assumed(sts, inside)
    assert failure(sts.assume_role, RoleArn=outside, RoleSessionName="s1") == denied(OPS, outside)
    assert failure(sts.assume_role, RoleArn=expired, RoleSessionName="s1") == denied(OPS, expired)


def test_session_tags_and_source_identity_need_their_own_trust(sts, iam):
    """Tags ask the trust policy for sts:TagSession, a source identity for
    sts:SetSourceIdentity; a trust allowing only sts:AssumeRole refuses both."""
    plain = role(iam, trust(allow({"AWS": ROOT})))
    tagging = role(iam, trust(allow({"AWS": ROOT}, action=[
        "sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"])))
    tags = [{"Key": "team", "Value": "a"}]
    assert failure(sts.assume_role, RoleArn=plain, RoleSessionName="s1", Tags=tags) == \
        denied(OPS, plain, "sts:TagSession")
    assert failure(sts.assume_role, RoleArn=plain, RoleSessionName="s1",
                   SourceIdentity="alice") == denied(OPS, plain, "sts:SetSourceIdentity")
    assert sts.assume_role(RoleArn=plain, RoleSessionName="s1")["AssumedRoleUser"]["Arn"]
    made = sts.assume_role(RoleArn=tagging, RoleSessionName="s1", Tags=tags,
                           SourceIdentity="alice")
    assert made["SourceIdentity"] == "alice"


def test_explicit_deny_in_the_trust_policy_wins(sts, iam):
    everyone_but_local = trust(
        allow("*"),
        {"Effect": "Deny", "Principal": {"AWS": A}, "Action": "sts:AssumeRole",
         "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}})
    arn = role(iam, everyone_but_local)
    assert failure(sts.assume_role, RoleArn=arn, RoleSessionName="s1") == denied(OPS, arn)
    # The same trust policy without the deny lets the caller in.
    iam.update_assume_role_policy(RoleName=arn.rsplit("/", 1)[1], PolicyDocument=trust(allow("*")))
    assumed(sts, arn)


def test_a_user_needs_its_identity_policy_when_the_trust_names_the_account(
        server, sts, iam, tmp_path):
    account_only = role(iam, trust(allow({"AWS": ROOT})))
    bob_arn = f"arn:aws:iam::{A}:user/bob"
    bob = client(server.endpoint, "sts", h.user_key(server, tmp_path, A, "bob", [
        {"Effect": "Allow", "Action": "lambda:ListFunctions", "Resource": "*"}]))
    # No identity policy allows sts:AssumeRole: the account's trust is not enough.
    assert failure(bob.assume_role, RoleArn=account_only, RoleSessionName="s1") == denied(
        bob_arn, account_only)
    # A trust policy naming bob himself is.
    names_bob = role(iam, trust(allow({"AWS": bob_arn})))
    assumed(bob, names_bob)
    # Carol's policy allows sts:AssumeRole on the account-trusting role only.
    carol_arn = f"arn:aws:iam::{A}:user/carol"
    carol = client(server.endpoint, "sts", h.user_key(server, tmp_path, A, "carol", [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": account_only}]))
    assumed(carol, account_only)
    # Her identity policy alone does not let her into a role whose trust names only bob.
    assert failure(carol.assume_role, RoleArn=names_bob, RoleSessionName="s1") == denied(
        carol_arn, names_bob)
    # An explicit deny in her identity policy wins over a trust policy naming her.
    dave_arn = f"arn:aws:iam::{A}:user/dave"
    names_dave = role(iam, trust(allow({"AWS": [dave_arn, ROOT]})))
    dave = client(server.endpoint, "sts", h.user_key(server, tmp_path, A, "dave", [
        {"Effect": "Allow", "Action": "sts:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": names_dave}]))
    assert failure(dave.assume_role, RoleArn=names_dave, RoleSessionName="s1") == denied(
        dave_arn, names_dave)
    assumed(dave, account_only)
    # The trust policy's own deny wins over an identity policy allowing everything.
    deny_dave = role(iam, trust(allow({"AWS": A}), {
        "Effect": "Deny", "Principal": {"AWS": dave_arn}, "Action": "sts:AssumeRole"}))
    assert failure(dave.assume_role, RoleArn=deny_dave, RoleSessionName="s1") == denied(
        dave_arn, deny_dave)
    assumed(sts, deny_dave)


def test_across_accounts_both_policies_must_allow(server, iam, tmp_path):
    trusts_b = role(iam, trust(allow({"AWS": B})))
    trusts_b_if = role(iam, trust(allow(
        "*", {"StringEquals": {"aws:PrincipalAccount": B}})))
    trusts_a = role(iam, trust(allow({"AWS": A})))
    erin_arn = f"arn:aws:iam::{B}:user/erin"
    erin = client(server.endpoint, "sts", h.user_key(server, tmp_path, B, "erin", [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]))
    assumed(erin, trusts_b)
    assumed(erin, trusts_b_if)
    assert failure(erin.assume_role, RoleArn=trusts_a, RoleSessionName="s1") == denied(
        erin_arn, trusts_a)
    # Named by the trust policy, but without an identity policy of its own account.
    frank_arn = f"arn:aws:iam::{B}:user/frank"
    names_frank = role(iam, trust(allow({"AWS": frank_arn})))
    frank = client(server.endpoint, "sts", h.user_key(server, tmp_path, B, "frank", None))
    assert failure(frank.assume_role, RoleArn=names_frank, RoleSessionName="s1") == denied(
        frank_arn, names_frank)
    # The session is the role's, in the role's account.
    creds = assumed(erin, trusts_b)
    as_role = boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"], region_name=h.REGION,
    ).client("sts", endpoint_url=server.endpoint, config=CONFIG)
    name = trusts_b.rsplit("/", 1)[1]
    assert as_role.get_caller_identity()["Arn"] == f"arn:aws:sts::{A}:assumed-role/{name}/s1"


def test_role_chaining_names_the_role_not_a_session(server, sts, iam):
    """A trust policy naming a role lets that role's sessions assume it; one naming a
    session's ARN lets that session only."""
    first = role(iam, trust(allow({"AWS": A})), "first")
    first_name = first.rsplit("/", 1)[1]
    by_role = role(iam, trust(allow({"AWS": first})), "by-role")
    by_session = role(iam, trust(allow(
        {"AWS": f"arn:aws:sts::{A}:assumed-role/{first_name}/one"})), "by-session")

    def session_client(name):
        creds = assumed(sts, first, session=name)
        return boto3.session.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"], region_name=h.REGION,
        ).client("sts", endpoint_url=server.endpoint, config=CONFIG)

    one, two = session_client("one"), session_client("two")
    assumed(one, by_role)
    assumed(two, by_role)
    assumed(one, by_session)
    assert failure(two.assume_role, RoleArn=by_session, RoleSessionName="s1") == denied(
        f"arn:aws:sts::{A}:assumed-role/{first_name}/two", by_session)


def test_create_function_role_check_evaluates_the_trust_conditions(server_with_env):
    """With --check-roles, Lambda's trust is evaluated with the function as aws:SourceArn
    and its account as aws:SourceAccount."""
    srv = server_with_env("--check-roles")
    iam = client(srv.endpoint, "iam")
    lam = h.lambda_client(srv.endpoint)
    only_f = iam.create_role(RoleName="only-f", AssumeRolePolicyDocument=trust(allow(
        {"Service": "lambda.amazonaws.com"},
        {"ArnLike": {"aws:SourceArn": f"arn:aws:lambda:{h.REGION}:{A}:function:f-*"},
         "StringEquals": {"aws:SourceAccount": A}})))["Role"]["Arn"]
    refusal = "The role defined for the function cannot be assumed by Lambda."
    assert failure(h.create_function, client=lam, name=h.unique_name("g"), Role=only_f) == {
        "Error": {"Code": "InvalidParameterValueException", "Message": refusal},
        "Type": "User", "message": refusal, "ResponseMetadata": {"HTTPStatusCode": 400}}
    name = h.unique_name("f")
    assert h.create_function(lam, name, Role=only_f)["Role"] == only_f
