"""Accounts as tenants: two accounts on one server, each with its own keys, cannot see
or touch each other's functions, logs, tags or trail; the same function name in both
is two functions; another account's function is reached only through its resource
policy (AddPermission), as on AWS. Driven with boto3 and keys made by `hearth keys`."""

import json

import boto3
import pytest
from botocore.config import Config

import hearth_e2e as h

# How environments are isolated plays no part here (or the tests choose their sandbox
# themselves): run once, in the jail pass, not again under the process sandbox
# (scripts/test.sh).
pytestmark = pytest.mark.sandbox_neutral


B = "111122223333"
C = "444455556666"
ALLOW_ALL = {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
TRUST_LAMBDA = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
    "Action": "sts:AssumeRole"}]}


def user_key(server, tmp_path_factory, account: str, name: str) -> tuple:
    """A key of `account`'s user `name` allowed everything by its identity policy."""
    return h.user_key(server, tmp_path_factory.mktemp(name), account, name,
                      ALLOW_ALL["Statement"])


def client(server, service: str, key: tuple):
    return boto3.session.Session().client(
        service, region_name=h.REGION, endpoint_url=server.endpoint,
        aws_access_key_id=key[0], aws_secret_access_key=key[1],
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


@pytest.fixture(scope="module")
def tenants(server, tmp_path_factory):
    """Account A (the default one, the administrator), B and C, each with a Lambda client;
    A and B each have a function `shared` (the same name) and B one more, `b-only`."""
    bob = user_key(server, tmp_path_factory, B, "bob")
    carol = user_key(server, tmp_path_factory, C, "carol")
    a = h.lambda_client(server.endpoint)
    b = client(server, "lambda", bob)
    c = client(server, "lambda", carol)
    # B's functions run as B's own role, made with B's key.
    role = client(server, "iam", bob).create_role(
        RoleName="exec", AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA))["Role"]["Arn"]
    assert role == f"arn:aws:iam::{B}:role/exec"
    h.allow_role(server.endpoint, ["logs:*"])
    h.create_function(a, "shared", Environment={"Variables": {"OWNER": "A"}})
    for name in ("shared", "b-only"):
        b.create_function(FunctionName=name, Runtime=h.PYTHON, Role=role, Handler="app.handler",
                          Code={"ZipFile": h.zip_bytes("python.zip")},
                          Environment={"Variables": {"OWNER": "B"}})
        h.wait_active(b, name)
    return {"a": a, "b": b, "c": c, "bob": bob, "carol": carol, "role": role}


def arn(account: str, name: str, qualifier: str | None = None) -> str:
    base = f"arn:aws:lambda:{h.REGION}:{account}:function:{name}"
    return f"{base}:{qualifier}" if qualifier else base


def invoke(client, name: str, payload: dict | None = None) -> dict:
    out = client.invoke(FunctionName=name, Payload=json.dumps(payload or {"env": ["OWNER"]}))
    assert "FunctionError" not in out, out
    return json.loads(out["Payload"].read())


def denied(account_user: str, action: str, resource: str) -> dict:
    return {"Code": "AccessDeniedException",
            "Message": f"User: {account_user} is not authorized to perform: {action} on "
                       f"resource: {resource} because no resource-based policy allows the "
                       f"{action} action"}


def error_of(call, **kw) -> dict:
    try:
        call(**kw)
    except Exception as e:  # botocore's ClientError
        err = e.response["Error"]
        return {"Code": err["Code"], "Message": err.get("Message")}
    raise AssertionError("the call succeeded")


def test_each_account_lists_only_its_own_functions(tenants):
    def listed(client):
        return sorted((f["FunctionName"], f["FunctionArn"], f["Role"])
                      for f in client.list_functions()["Functions"])
    assert listed(tenants["b"]) == [
        ("b-only", arn(B, "b-only"), tenants["role"]),
        ("shared", arn(B, "shared"), tenants["role"])]
    a_names = [n for n, _, _ in listed(tenants["a"])]
    assert "shared" in a_names and "b-only" not in a_names
    assert all(account_arn.split(":")[4] == h.ACCOUNT for _, account_arn, _ in listed(tenants["a"]))
    assert listed(tenants["c"]) == []
    # Pages stay within the account.
    first = tenants["b"].list_functions(MaxItems=1)
    assert [f["FunctionName"] for f in first["Functions"]] == ["b-only"]
    rest = tenants["b"].list_functions(Marker=first["NextMarker"])
    assert [f["FunctionName"] for f in rest["Functions"]] == ["shared"]
    assert "NextMarker" not in rest
    assert tenants["b"].get_account_settings()["AccountUsage"] == {
        "FunctionCount": 2, "TotalCodeSize": 2 * len(h.zip_bytes("python.zip"))}
    assert tenants["c"].get_account_settings()["AccountUsage"] == {
        "FunctionCount": 0, "TotalCodeSize": 0}


def test_the_same_name_is_two_functions(tenants):
    got = tenants["b"].get_function(FunctionName="shared")["Configuration"]
    assert (got["FunctionName"], got["FunctionArn"], got["Role"]) == (
        "shared", arn(B, "shared"), tenants["role"])
    assert got["Environment"] == {"Variables": {"OWNER": "B"}}
    mine = invoke(tenants["b"], "shared")
    theirs = invoke(tenants["a"], "shared")
    assert (mine["env"]["OWNER"], theirs["env"]["OWNER"]) == ("B", "A")
    assert mine["context"]["invoked_function_arn"] == arn(B, "shared")
    assert theirs["context"]["invoked_function_arn"] == arn(h.ACCOUNT, "shared")
    # The runtime sees the name and log group Lambda gives it, not Hearth's key.
    assert mine["context"]["function_name"] == "shared"
    assert mine["env"]["AWS_LAMBDA_FUNCTION_NAME"] == "shared"
    assert mine["context"]["log_group_name"] == "/aws/lambda/shared"
    # By full ARN in its own account too.
    assert invoke(tenants["b"], arn(B, "shared"))["env"]["OWNER"] == "B"


def test_another_accounts_function_is_refused_without_a_resource_policy(tenants):
    bob = f"arn:aws:iam::{B}:user/bob"
    theirs = arn(h.ACCOUNT, "shared")
    b = tenants["b"]
    assert error_of(b.get_function, FunctionName=theirs) == denied(
        bob, "lambda:GetFunction", theirs)
    assert error_of(b.invoke, FunctionName=theirs) == denied(
        bob, "lambda:InvokeFunction", theirs)
    assert error_of(b.delete_function, FunctionName=theirs) == denied(
        bob, "lambda:DeleteFunction", theirs)
    assert error_of(b.update_function_configuration, FunctionName=theirs,
                    Description="x") == denied(bob, "lambda:UpdateFunctionConfiguration", theirs)
    # Nothing was changed.
    assert tenants["a"].get_function(FunctionName="shared")["Configuration"].get("Description", "") == ""
    # C has no function of that name: its own account is where a bare name is looked up.
    assert error_of(tenants["c"].get_function, FunctionName="b-only") == {
        "Code": "ResourceNotFoundException",
        "Message": f"Function not found: {arn(C, 'b-only')}"}
    # Creating in another account is refused as AWS refuses it (403, no message).
    assert error_of(b.create_function, FunctionName=arn(C, "x"), Runtime=h.PYTHON,
                    Role=tenants["role"], Handler="app.handler",
                    Code={"ZipFile": h.zip_bytes("python.zip")})["Code"] == "AccessDeniedException"
    assert tenants["c"].list_functions()["Functions"] == []


def test_a_resource_policy_lets_another_account_invoke(tenants):
    a, b = tenants["a"], tenants["b"]
    theirs = arn(h.ACCOUNT, "shared")
    a.add_permission(FunctionName="shared", StatementId="b-invokes",
                     Action="lambda:InvokeFunction", Principal=B)
    try:
        out = invoke(b, theirs)
        assert out["env"]["OWNER"] == "A"
        assert out["context"]["invoked_function_arn"] == theirs
        # Only what the policy grants: reading the configuration stays refused, and C,
        # which the policy does not name, is refused too.
        bob = f"arn:aws:iam::{B}:user/bob"
        assert error_of(b.get_function, FunctionName=theirs) == denied(
            bob, "lambda:GetFunction", theirs)
        carol = f"arn:aws:iam::{C}:user/carol"
        assert error_of(tenants["c"].invoke, FunctionName=theirs) == denied(
            carol, "lambda:InvokeFunction", theirs)
    finally:
        a.remove_permission(FunctionName="shared", StatementId="b-invokes")
    assert error_of(b.invoke, FunctionName=theirs)["Code"] == "AccessDeniedException"


def test_tags_and_policies_stay_in_their_account(tenants):
    b = tenants["b"]
    b.tag_resource(Resource=arn(B, "shared"), Tags={"team": "b"})
    assert b.list_tags(Resource=arn(B, "shared"))["Tags"] == {"team": "b"}
    assert tenants["a"].list_tags(Resource=arn(h.ACCOUNT, "shared"))["Tags"] == {}
    b.add_permission(FunctionName="shared", StatementId="only-b",
                     Action="lambda:GetFunction", Principal=B)
    policy = json.loads(b.get_policy(FunctionName="shared")["Policy"])
    assert [s["Resource"] for s in policy["Statement"]] == [arn(B, "shared")]
    assert error_of(tenants["a"].get_policy, FunctionName="shared")["Code"] == \
        "ResourceNotFoundException"


def test_logs_and_the_trail_are_per_account(tenants, server):
    b_out = invoke(tenants["b"], "shared", {"action": "log", "line": "line-of-b"})
    a_out = invoke(tenants["a"], "shared", {"action": "log", "line": "line-of-a"})
    logs_b = client(server, "logs", tenants["bob"])
    logs_a = boto3.session.Session().client(
        "logs", region_name=h.REGION, endpoint_url=server.endpoint, **h.key_args(server.endpoint))

    def messages(logs):
        return " ".join(e["message"] for e in logs.filter_log_events(
            logGroupName="/aws/lambda/shared")["events"])
    in_b, in_a = messages(logs_b), messages(logs_a)
    assert "line-of-b" in in_b and b_out["context"]["request_id"] in in_b
    assert "line-of-a" not in in_b and a_out["context"]["request_id"] not in in_b
    assert "line-of-a" in in_a and "line-of-b" not in in_a
    groups_b = [g["logGroupName"] for g in logs_b.describe_log_groups()["logGroups"]]
    assert set(groups_b) <= {"/aws/lambda/shared", "/aws/lambda/b-only"} and groups_b
    arns_b = [g["logGroupArn"] for g in logs_b.describe_log_groups()["logGroups"]]
    assert all(f":{B}:" in a for a in arns_b), arns_b
    # C's view: no groups, and B's group by name is not C's.
    logs_c = client(server, "logs", tenants["carol"])
    assert logs_c.describe_log_groups()["logGroups"] == []
    assert error_of(logs_c.get_log_events, logGroupName="/aws/lambda/shared",
                    logStreamName="x")["Code"] == "ResourceNotFoundException"
    # CloudTrail: each account's trail holds its principals' calls and others' calls on
    # its resources, as CloudTrail delivers a cross-account call to both accounts.
    def trail(c):
        return [json.loads(e["CloudTrailEvent"]) for e in c.lookup_events(MaxResults=50)["Events"]]

    def caller(r):
        return r["userIdentity"]["accountId"]

    def owner(r):
        return r["resources"][0]["accountId"] if r.get("resources") else None

    records = trail(client(server, "cloudtrail", tenants["bob"]))
    assert records and all(r["recipientAccountId"] == B and B in (caller(r), owner(r))
                           for r in records), records
    # Its two functions, and its refused attempt to make one in C's account.
    made = [r.get("errorCode") for r in records
            if r["eventName"] == "CreateFunction20150331" and caller(r) == B]
    assert sorted(made, key=str) == ["AccessDeniedException", None, None], made
    # Its calls on A's function are in its trail, with A's account as the resource's...
    on_a = [r["eventID"] for r in records if r.get("resources")
            and r["resources"][0]["ARN"] == arn(h.ACCOUNT, "shared")]
    assert on_a and all(owner(r) == h.ACCOUNT for r in records if r["eventID"] in on_a)
    # ... and in A's, which holds no call of B's on anything else.
    a_records = trail(boto3.session.Session().client(
        "cloudtrail", region_name=h.REGION, endpoint_url=server.endpoint,
        **h.key_args(server.endpoint)))
    assert a_records and all(r["recipientAccountId"] == h.ACCOUNT
                             and h.ACCOUNT in (caller(r), owner(r)) for r in a_records)
    from_b = {r["eventID"] for r in a_records if caller(r) == B}
    assert from_b == set(on_a), (from_b, on_a)


def test_a_functions_own_calls_act_in_its_account(tenants, server):
    """A function of B calls Hearth with its role's credentials: a bare name is B's
    function, and A's is refused without a resource policy naming B."""
    iam_b = client(server, "iam", tenants["bob"])
    iam_b.put_role_policy(RoleName="exec", PolicyName="invoke", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "*"}]}))
    b = tenants["b"]
    b.create_function(FunctionName="caller", Runtime=h.PYTHON, Role=tenants["role"],
                      Handler="app.handler", Code={"ZipFile": h.zip_bytes("sdk.zip")}, Timeout=30)
    h.wait_active(b, "caller")
    mine = invoke(b, "caller", {"action": "invoke", "target": "shared",
                                "payload": {"env": ["OWNER"]}})
    assert mine["Payload"]["env"]["OWNER"] == "B", mine
    assert mine["Payload"]["context"]["invoked_function_arn"] == arn(B, "shared")
    out = b.invoke(FunctionName="caller", Payload=json.dumps(
        {"action": "invoke", "target": arn(h.ACCOUNT, "shared")}))
    error = json.loads(out["Payload"].read())
    assert out.get("FunctionError") == "Unhandled", error
    assert "AccessDeniedException" in json.dumps(error), error
    assert "assumed-role/exec/" in json.dumps(error), error


def test_each_account_has_its_own_concurrency_limit(tenants):
    """Reservations count against their own account's limit only, and each account's
    GetAccountSettings shows its own unreserved pool."""
    a, b = tenants["a"], tenants["b"]
    limits = lambda c: c.get_account_settings()["AccountLimit"]  # noqa: E731
    limit = limits(a)["ConcurrentExecutions"]
    assert limits(b)["ConcurrentExecutions"] == limit
    try:
        a.put_function_concurrency(FunctionName="shared", ReservedConcurrentExecutions=limit - 100)
        assert limits(a)["UnreservedConcurrentExecutions"] == 100
        assert limits(b)["UnreservedConcurrentExecutions"] == limit
        # B's pool is untouched by A's reservation: B may reserve as much.
        b.put_function_concurrency(FunctionName="shared", ReservedConcurrentExecutions=limit - 100)
        assert limits(b)["UnreservedConcurrentExecutions"] == 100
        # And each is now at its own minimum.
        h.create_function(a, "a-other")
        for client, name in ((a, "a-other"), (b, "b-only")):
            with pytest.raises(client.exceptions.InvalidParameterValueException) as e:
                client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
            assert e.value.response["Error"]["Message"] == (
                "Specified ReservedConcurrentExecutions for function decreases account's "
                "UnreservedConcurrentExecution below its minimum value of [100].")
        # Both run, each within its own reservation.
        assert invoke(a, "shared")["env"]["OWNER"] == "A"
        assert invoke(b, "shared")["env"]["OWNER"] == "B"
    finally:
        a.delete_function_concurrency(FunctionName="shared")
        b.delete_function_concurrency(FunctionName="shared")
    assert limits(a)["UnreservedConcurrentExecutions"] == limit
    assert limits(b)["UnreservedConcurrentExecutions"] == limit


def test_kms_keys_belong_to_an_account(tenants, server):
    """`hearth kms create --account` makes a key of that account: its functions may name
    it, another account's may not (Lambda's not-found answer), and the default account's
    keys are not B's either."""
    made = lambda *account: h.hearth_cli(  # noqa: E731
        "kms", "create", *account, "--endpoint", server.endpoint).stdout.strip()
    b_key, a_key = made("--account", B), made()
    assert b_key.startswith(f"arn:aws:kms:{h.REGION}:{B}:key/"), b_key
    assert a_key.startswith(f"arn:aws:kms:{h.REGION}:{h.ACCOUNT}:key/"), a_key
    b = tenants["b"]
    name = h.unique_name("b-sealed")
    b.create_function(FunctionName=name, Runtime=h.PYTHON, Role=tenants["role"],
                      Handler="app.handler", Code={"ZipFile": h.zip_bytes("python.zip")},
                      KMSKeyArn=b_key, Environment={"Variables": {"OWNER": "B"}})
    h.wait_active(b, name)
    assert invoke(b, name)["env"]["OWNER"] == "B"
    for client, key in ((tenants["a"], b_key), (b, a_key)):
        with pytest.raises(client.exceptions.InvalidParameterValueException) as e:
            client.update_function_configuration(FunctionName="shared", KMSKeyArn=key)
        assert e.value.response["Error"]["Message"] == (
            "Lambda was unable to configure access to your environment variables because the "
            "KMS key is invalid for CreateGrant. Please check your KMS key settings. KMS "
            f"Exception: NotFoundExceptionKMS Message: Key '{key}' does not exist")
    bad = h.hearth_cli("kms", "create", "--account", "12", "--endpoint", server.endpoint,
                       check=False)
    assert bad.rc != 0 and "Account must be 12 digits, not '12'" in bad.stderr, bad
