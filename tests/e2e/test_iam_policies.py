"""Managed and inline policies, groups, and their enforcement on
every request, through boto3 and the AWS CLI against the real daxd."""
import json

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra):
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def err(exc_info):
    e = exc_info.value.response
    return e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"], e["Error"].get("Message", "")


def denied(call, **kwargs):
    with pytest.raises(ClientError) as e:
        call(**kwargs)
    code, status, message = err(e)
    assert (code, status) == ("AccessDenied", 403), message
    return message


def test_managed_policy_lifecycle(iam):
    with pytest.raises(ClientError) as e:
        iam.create_policy(PolicyName="bad", PolicyDocument='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]}')
    assert err(e)[:2] == ("MalformedPolicyDocument", 400)
    with pytest.raises(ClientError) as e:
        iam.create_policy(PolicyName="bad", PolicyDocument="not json")
    assert err(e) == ("MalformedPolicyDocument", 400, "Syntax errors in policy.")

    p = iam.create_policy(PolicyName="readers", Path="/team/", PolicyDocument=doc(allow("iam:Get*")), Description="d")["Policy"]
    arn = p["Arn"]
    assert arn == f"arn:aws:iam::{ACCOUNT}:policy/team/readers" and p["DefaultVersionId"] == "v1"
    with pytest.raises(ClientError) as e:
        iam.create_policy(PolicyName="readers", PolicyDocument=doc(allow("iam:Get*")))
    assert err(e)[:2] == ("EntityAlreadyExists", 409)

    for n in range(2, 6):
        v = iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc(allow(f"iam:List{n}*")), SetAsDefault=(n == 3))
        assert v["PolicyVersion"]["VersionId"] == f"v{n}"
    with pytest.raises(ClientError) as e:
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc(allow("iam:*")))
    assert err(e)[:2] == ("LimitExceeded", 409)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v3"
    got = iam.get_policy_version(PolicyArn=arn, VersionId="v3")["PolicyVersion"]
    assert got["IsDefaultVersion"] and got["Document"]["Statement"][0]["Action"] == "iam:List3*"
    with pytest.raises(ClientError) as e:
        iam.delete_policy_version(PolicyArn=arn, VersionId="v3")
    assert err(e) == ("DeleteConflict", 409, "Cannot delete the default version of a policy.")
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    assert [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]] == ["v5", "v4", "v3", "v2", "v1"]

    iam.create_user(UserName="u1")
    iam.attach_user_policy(UserName="u1", PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    assert iam.list_entities_for_policy(PolicyArn=arn)["PolicyUsers"][0]["UserName"] == "u1"
    with pytest.raises(ClientError) as e:
        iam.delete_policy(PolicyArn=arn)
    assert err(e)[:2] == ("DeleteConflict", 409)
    iam.detach_user_policy(UserName="u1", PolicyArn=arn)
    for v in ("v2", "v3", "v4", "v5"):
        iam.delete_policy_version(PolicyArn=arn, VersionId=v)
    iam.delete_policy(PolicyArn=arn)
    with pytest.raises(ClientError) as e:
        iam.get_policy(PolicyArn=arn)
    assert err(e)[:2] == ("NoSuchEntity", 404)

    aws = {p["PolicyName"] for p in iam.list_policies(Scope="AWS")["Policies"]}
    assert {"DAXServiceRolePolicy", "AmazonDynamoDBFullAccess", "AmazonDynamoDBReadOnlyAccess",
            "AdministratorAccess", "IAMFullAccess", "ReadOnlyAccess"} <= aws
    assert iam.list_policies(Scope="Local")["Policies"] == []


def test_inline_policies_groups_and_enforcement(daxd, iam, user_key):
    name, key = user_key
    mine = daxd.client("iam", key=key)
    denied(mine.list_users)

    # An inline user policy grants; the document round-trips (URL-encoded on the wire).
    iam.put_user_policy(UserName=name, PolicyName="list", PolicyDocument=doc(allow("iam:ListUsers")))
    assert iam.get_user_policy(UserName=name, PolicyName="list")["PolicyDocument"]["Statement"][0]["Action"] == "iam:ListUsers"
    assert [u["UserName"] for u in mine.list_users()["Users"]] == [name]
    denied(mine.create_user, UserName="x")

    # A group's managed policy grants to its members.
    iam.create_group(GroupName="admins")
    iam.attach_group_policy(GroupName="admins", PolicyArn="arn:aws:iam::aws:policy/IAMFullAccess")
    iam.add_user_to_group(GroupName="admins", UserName=name)
    mine.create_user(UserName="made-by-alice")
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=name)["Groups"]] == ["admins"]

    # An explicit deny beats every allow, and says so.
    iam.put_user_policy(UserName=name, PolicyName="no-delete", PolicyDocument=doc(deny("iam:DeleteUser")))
    message = denied(mine.delete_user, UserName="made-by-alice")
    assert message == (
        f"User: arn:aws:iam::{ACCOUNT}:user/{name} is not authorized to perform: iam:DeleteUser on resource: "
        f"arn:aws:iam::{ACCOUNT}:user/made-by-alice with an explicit deny in an identity-based policy"
    )

    # A permissions boundary caps what the policies allow.
    bound = iam.create_policy(PolicyName="bound", PolicyDocument=doc(allow(["iam:List*", "iam:Get*"])))["Policy"]["Arn"]
    iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=bound)
    message = denied(mine.create_user, UserName="y")
    assert message.endswith("because no permissions boundary allows the iam:CreateUser action")
    mine.list_roles()
    iam.delete_user_permissions_boundary(UserName=name)
    mine.create_user(UserName="y")

    # Deleting a group or user with attachments is refused until cleaned.
    with pytest.raises(ClientError) as e:
        iam.delete_group(GroupName="admins")
    assert err(e)[:2] == ("DeleteConflict", 409)
    iam.remove_user_from_group(GroupName="admins", UserName=name)
    iam.detach_group_policy(GroupName="admins", PolicyArn="arn:aws:iam::aws:policy/IAMFullAccess")
    iam.delete_group(GroupName="admins")
    denied(mine.create_user, UserName="z")


def test_policy_variables_scope_a_user_to_itself(daxd, iam, user_key):
    name, key = user_key
    iam.create_user(UserName="other")
    iam.put_user_policy(UserName=name, PolicyName="self", PolicyDocument=doc(
        allow(["iam:GetUser", "iam:*AccessKey*"], f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}")))
    mine = daxd.client("iam", key=key)
    assert mine.get_user()["User"]["UserName"] == name
    assert mine.get_user(UserName=name)["User"]["UserName"] == name
    denied(mine.get_user, UserName="other")
    assert len(mine.list_access_keys()["AccessKeyMetadata"]) == 1
    denied(mine.list_access_keys, UserName="other")


def test_operations_naming_a_user_are_authorized_on_it(daxd, iam, user_key):
    """ListGroupsForUser acts on the user it names: a Deny on that user applies, though an
    Allow on every resource lets the caller list the groups of anyone else."""
    name, key = user_key
    iam.create_user(UserName="other")
    iam.put_user_policy(UserName=name, PolicyName="groups", PolicyDocument=doc(
        allow("iam:ListGroupsForUser"),
        deny("iam:ListGroupsForUser", f"arn:aws:iam::{ACCOUNT}:user/other")))
    mine = daxd.client("iam", key=key)
    assert mine.list_groups_for_user(UserName=name)["Groups"] == []
    message = denied(mine.list_groups_for_user, UserName="other")
    assert f"on resource: arn:aws:iam::{ACCOUNT}:user/other" in message


def test_conditions_on_requests(daxd, iam, user_key):
    name, key = user_key
    iam.put_user_policy(UserName=name, PolicyName="cond", PolicyDocument=doc(
        allow("iam:CreateUser", Condition={"StringEquals": {"aws:RequestTag/team": "db"}}),
        allow("iam:ListUsers", Condition={"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}),
        allow("iam:ListRoles", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
        deny("iam:ListGroups", Condition={"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}}),
        allow("iam:ListGroups"),
    ))
    mine = daxd.client("iam", key=key)
    mine.create_user(UserName="tagged", Tags=[{"Key": "team", "Value": "db"}])
    denied(mine.create_user, UserName="untagged")
    mine.list_users()
    denied(mine.list_roles)
    daxd.client("iam", key=key, region="eu-west-1").list_groups()
    denied(mine.list_groups)


def test_session_policies_and_get_session_token(daxd, iam, user_key):
    name, key = user_key
    trust = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"})
    iam.create_role(RoleName="admin", AssumeRolePolicyDocument=trust)
    iam.attach_role_policy(RoleName="admin", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    sts = daxd.client("sts", key=key)
    # The trust policy names the account: the caller's own policies must allow it too.
    denied(sts.assume_role, RoleArn=f"arn:aws:iam::{ACCOUNT}:role/admin", RoleSessionName="s1")
    iam.put_user_policy(UserName=name, PolicyName="assume", PolicyDocument=doc(allow("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/admin")))
    c = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/admin", RoleSessionName="s1",
                        Policy=doc(allow("iam:List*")))["Credentials"]
    session = daxd.client("iam", key=(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]))
    session.list_users()
    message = denied(session.create_user, UserName="q")
    assert message.endswith("because no session policy allows the iam:CreateUser action")
    # The root may not assume roles.
    with pytest.raises(ClientError) as e:
        daxd.client("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/admin", RoleSessionName="s1")
    assert err(e)[:2] == ("AccessDenied", 403)
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/admin", RoleSessionName="s2", DurationSeconds=7200)
    assert err(e)[:2] == ("ValidationError", 400)

    # GetSessionToken: temporary credentials that act as the user.
    t = sts.get_session_token()["Credentials"]
    assert t["AccessKeyId"].startswith("ASIA")
    temp = daxd.client("sts", key=(t["AccessKeyId"], t["SecretAccessKey"], t["SessionToken"]))
    assert temp.get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/{name}"
    with pytest.raises(ClientError) as e:
        temp.get_session_token()
    assert err(e)[:2] == ("AccessDenied", 403)


def test_simulators_use_the_same_engine(daxd, iam, user_key):
    name, key = user_key
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=doc(
        allow("iam:CreateServiceLinkedRole", Condition={"StringLike": {"iam:AWSServiceName": "dax.amazonaws.com"}}),
        deny("iam:DeleteUser")))
    arn = f"arn:aws:iam::{ACCOUNT}:user/{name}"
    res = iam.simulate_principal_policy(
        PolicySourceArn=arn,
        ActionNames=["iam:CreateServiceLinkedRole", "iam:DeleteUser", "iam:ListUsers"],
        ContextEntries=[{"ContextKeyName": "iam:AWSServiceName", "ContextKeyValues": ["dax.amazonaws.com"], "ContextKeyType": "string"}],
    )["EvaluationResults"]
    assert {r["EvalActionName"]: r["EvalDecision"] for r in res} == {
        "iam:CreateServiceLinkedRole": "allowed", "iam:DeleteUser": "explicitDeny", "iam:ListUsers": "implicitDeny"}
    res = iam.simulate_custom_policy(
        PolicyInputList=[doc(allow("dynamodb:GetItem", "arn:aws:dynamodb:*:*:table/Books"))],
        ActionNames=["dynamodb:GetItem", "dynamodb:PutItem"],
        ResourceArns=[f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Books", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Other"],
    )["EvaluationResults"]
    got = {(r["EvalActionName"], r["EvalResourceName"].rsplit("/", 1)[1]): r["EvalDecision"] for r in res}
    assert got == {
        ("dynamodb:GetItem", "Books"): "allowed", ("dynamodb:GetItem", "Other"): "implicitDeny",
        ("dynamodb:PutItem", "Books"): "implicitDeny", ("dynamodb:PutItem", "Other"): "implicitDeny",
    }
    # The CLI shows the same.
    out = json.loads(daxd.aws("iam", "simulate-custom-policy", "--policy-input-list", doc(allow("iam:*")),
                              "--action-names", "iam:CreateUser").stdout)
    assert out["EvaluationResults"][0]["EvalDecision"] == "allowed"
    assert out["EvaluationResults"][0]["MissingContextValues"] == []


def test_simulators_report_missing_context_values(daxd, iam, user_key):
    name, _ = user_key
    policy = doc(allow("dynamodb:GetItem", "*", Condition={
        "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
        "StringEquals": {"aws:username": name}}))
    # aws:username comes from the caller; aws:SourceIp from nowhere: reported, and the
    # decision is what the missing key makes it (the condition fails).
    res = iam.simulate_custom_policy(PolicyInputList=[policy], ActionNames=["dynamodb:GetItem", "dynamodb:PutItem"],
                                     CallerArn=f"arn:aws:iam::{ACCOUNT}:user/{name}")["EvaluationResults"]
    got = {r["EvalActionName"]: (r["EvalDecision"], r["MissingContextValues"]) for r in res}
    assert got == {"dynamodb:GetItem": ("implicitDeny", ["aws:SourceIp"]), "dynamodb:PutItem": ("implicitDeny", [])}
    # Given, the key is no longer missing.
    res = iam.simulate_custom_policy(
        PolicyInputList=[policy], ActionNames=["dynamodb:GetItem"], CallerArn=f"arn:aws:iam::{ACCOUNT}:user/{name}",
        ContextEntries=[{"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["10.1.2.3"], "ContextKeyType": "ip"}],
    )["EvaluationResults"]
    assert (res[0]["EvalDecision"], res[0]["MissingContextValues"]) == ("allowed", [])
    # SimulatePrincipalPolicy reports the keys of the principal's own policies.
    iam.put_user_policy(UserName=name, PolicyName="ip", PolicyDocument=policy)
    res = iam.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/{name}",
                                        ActionNames=["dynamodb:GetItem"])["EvaluationResults"]
    assert res[0]["MissingContextValues"] == ["aws:SourceIp"]
    out = json.loads(daxd.aws("iam", "simulate-principal-policy", "--policy-source-arn",
                              f"arn:aws:iam::{ACCOUNT}:user/{name}", "--action-names", "dynamodb:GetItem").stdout)
    assert out["EvaluationResults"][0]["MissingContextValues"] == ["aws:SourceIp"]
