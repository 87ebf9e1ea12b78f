"""AssumeRole honours every input member, or refuses it.

Managed session policies (`PolicyArns`) scope a session down like the inline
`Policy`; session tags become `aws:PrincipalTag/*` and need `sts:TagSession`
in the trust policy; transitive tags follow role chaining; `SourceIdentity`
needs `sts:SetSourceIdentity`; MFA and trusted-context inputs, which daxd
cannot check, are refused. Also the IAM listings whose paging or filters were
dropped before (`crates/daxd/tests/repo/input_members.rs` found them). Sources: the STS API
reference for AssumeRole and GetSessionToken, and the IAM User Guide pages
"Session policies", "Passing session tags in AWS STS" and "Monitor and
control actions taken with assumed roles" (source identity).
"""
import json

import pytest
from botocore.exceptions import ClientError

from daxd import Daxd

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/worker"


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def err(exc_info):
    e = exc_info.value.response
    return e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"], e["Error"].get("Message", "")


def fails(call, code, status, **kwargs):
    with pytest.raises(ClientError) as e:
        call(**kwargs)
    got = err(e)
    assert got[:2] == (code, status), got
    return got[2]


def trust(*actions, **extra):
    return doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/alice"}, "Action": list(actions), **extra})


@pytest.fixture(scope="module")
def server():
    s = Daxd().start()
    yield s
    s.close()


@pytest.fixture(scope="module")
def env(server):
    """alice may assume any role; `worker` (tagged team=ops) may do anything."""
    iam = server.client("iam")
    iam.create_user(UserName="alice")
    k = iam.create_access_key(UserName="alice")["AccessKey"]
    iam.put_user_policy(UserName="alice", PolicyName="assume", PolicyDocument=doc(
        allow(["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"])))
    iam.create_role(RoleName="worker", AssumeRolePolicyDocument=trust("sts:AssumeRole"),
                    Tags=[{"Key": "team", "Value": "ops"}])
    iam.attach_role_policy(RoleName="worker", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    iam.create_policy(PolicyName="ListUsersOnly", PolicyDocument=doc(allow("iam:ListUsers")))
    iam.create_policy(PolicyName="ListRolesOnly", PolicyDocument=doc(allow("iam:ListRoles")))
    return {"iam": iam, "sts": server.client("sts", key=(k["AccessKeyId"], k["SecretAccessKey"]))}


def session(server, creds, service="iam"):
    return server.client(service, key=(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]))


def policy_arn(name):
    return f"arn:aws:iam::{ACCOUNT}:policy/{name}"


def test_managed_session_policies_scope_the_session_down(server, env):
    sts = env["sts"]
    # Before: PolicyArns was dropped and the session had AdministratorAccess.
    out = sts.assume_role(RoleArn=ROLE, RoleSessionName="s1", PolicyArns=[{"arn": policy_arn("ListUsersOnly")}])
    s = session(server, out["Credentials"])
    s.list_users()
    message = fails(s.list_roles, "AccessDenied", 403)
    assert message.endswith("because no session policy allows the iam:ListRoles action")
    fails(s.create_user, "AccessDenied", 403, UserName="nope")
    # Inline and managed session policies together: either one allows.
    out = sts.assume_role(RoleArn=ROLE, RoleSessionName="s2", Policy=doc(allow("iam:GetRole")),
                          PolicyArns=[{"arn": policy_arn("ListUsersOnly")}, {"arn": policy_arn("ListRolesOnly")}])
    s = session(server, out["Credentials"])
    s.list_users()
    s.list_roles()
    s.get_role(RoleName="worker")
    fails(s.list_groups, "AccessDenied", 403)
    # An AWS managed policy works too; the role's own policies still bound the session.
    out = sts.assume_role(RoleArn=ROLE, RoleSessionName="s3", PolicyArns=[{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}])
    s = session(server, out["Credentials"])
    s.list_groups()
    fails(s.create_group, "AccessDenied", 403, GroupName="g")


def test_a_deleted_managed_session_policy_allows_nothing(server, env):
    iam = env["iam"]
    iam.create_policy(PolicyName="Doomed", PolicyDocument=doc(allow("iam:ListUsers")))
    out = env["sts"].assume_role(RoleArn=ROLE, RoleSessionName="doomed", PolicyArns=[{"arn": policy_arn("Doomed")}])
    s = session(server, out["Credentials"])
    s.list_users()
    iam.delete_policy(PolicyArn=policy_arn("Doomed"))
    fails(s.list_users, "AccessDenied", 403)


def test_managed_session_policy_limits(env):
    sts = env["sts"]
    eleven = [{"arn": policy_arn("ListUsersOnly")}] * 11
    message = fails(sts.assume_role, "ValidationError", 400, RoleArn=ROLE, RoleSessionName="s0", PolicyArns=eleven)
    assert "less than or equal to 10" in message
    fails(sts.assume_role, "NoSuchEntity", 400, RoleArn=ROLE, RoleSessionName="s0",
          PolicyArns=[{"arn": policy_arn("NoSuchPolicy")}])
    out = sts.assume_role(RoleArn=ROLE, RoleSessionName="s0", PolicyArns=[{"arn": policy_arn("ListUsersOnly")}] * 10)
    assert 0 < out["PackedPolicySize"] <= 100


def test_session_tags_need_tag_session_in_the_trust_policy(server, env):
    iam, sts = env["iam"], env["sts"]
    iam.create_role(RoleName="tagless", AssumeRolePolicyDocument=trust("sts:AssumeRole"))
    message = fails(sts.assume_role, "AccessDenied", 403, RoleArn=f"arn:aws:iam::{ACCOUNT}:role/tagless",
                    RoleSessionName="s0", Tags=[{"Key": "team", "Value": "eng"}])
    assert "sts:TagSession" in message
    # Trust conditions on the request's tags.
    iam.create_role(RoleName="tagged", AssumeRolePolicyDocument=doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/alice"}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/alice"}, "Action": "sts:TagSession",
         "Condition": {"StringEquals": {"aws:RequestTag/team": "eng"},
                       "ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}}))
    tagged = f"arn:aws:iam::{ACCOUNT}:role/tagged"
    sts.assume_role(RoleArn=tagged, RoleSessionName="s0", Tags=[{"Key": "team", "Value": "eng"}])
    fails(sts.assume_role, "AccessDenied", 403, RoleArn=tagged, RoleSessionName="s0", Tags=[{"Key": "team", "Value": "ops"}])
    fails(sts.assume_role, "AccessDenied", 403, RoleArn=tagged, RoleSessionName="s0",
          Tags=[{"Key": "team", "Value": "eng"}, {"Key": "cost", "Value": "1"}])
    # Without tags, TagSession is not needed.
    sts.assume_role(RoleArn=tagged, RoleSessionName="s0")


def test_session_tags_are_principal_tags_and_override_the_roles(server, env):
    iam, sts = env["iam"], env["sts"]
    iam.create_role(RoleName="abac", AssumeRolePolicyDocument=trust("sts:AssumeRole", "sts:TagSession"),
                    Tags=[{"Key": "Team", "Value": "ops"}])
    iam.put_role_policy(RoleName="abac", PolicyName="abac", PolicyDocument=doc(
        allow("iam:ListUsers", Condition={"StringEquals": {"aws:PrincipalTag/team": "eng"}}),
        allow("iam:ListRoles", Condition={"StringEquals": {"aws:PrincipalTag/team": "ops"}})))
    abac = f"arn:aws:iam::{ACCOUNT}:role/abac"
    plain = session(server, sts.assume_role(RoleArn=abac, RoleSessionName="plain")["Credentials"])
    plain.list_roles()
    fails(plain.list_users, "AccessDenied", 403)
    # A session tag overrides the role tag of the same key, whatever its case.
    out = sts.assume_role(RoleArn=abac, RoleSessionName="eng", Tags=[{"Key": "team", "Value": "eng"}])
    eng = session(server, out["Credentials"])
    eng.list_users()
    fails(eng.list_roles, "AccessDenied", 403)
    fails(sts.assume_role, "InvalidParameterValue", 400, RoleArn=abac, RoleSessionName="dup",
          Tags=[{"Key": "team", "Value": "a"}, {"Key": "TEAM", "Value": "b"}])


def test_transitive_tags_follow_role_chaining(server, env):
    iam, sts = env["iam"], env["sts"]
    iam.create_role(RoleName="first", AssumeRolePolicyDocument=trust("sts:AssumeRole", "sts:TagSession"))
    iam.put_role_policy(RoleName="first", PolicyName="chain", PolicyDocument=doc(
        allow(["sts:AssumeRole", "sts:TagSession"])))
    iam.create_role(RoleName="second", AssumeRolePolicyDocument=doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/first"},
         "Action": ["sts:AssumeRole", "sts:TagSession"]}))
    iam.put_role_policy(RoleName="second", PolicyName="abac", PolicyDocument=doc(
        allow("iam:ListUsers", Condition={"StringEquals": {"aws:PrincipalTag/project": "apollo"}})))
    first = f"arn:aws:iam::{ACCOUNT}:role/first"
    second = f"arn:aws:iam::{ACCOUNT}:role/second"
    fails(sts.assume_role, "InvalidParameterValue", 400, RoleArn=first, RoleSessionName="s-a",
          Tags=[{"Key": "project", "Value": "apollo"}], TransitiveTagKeys=["cost"])
    out = sts.assume_role(RoleArn=first, RoleSessionName="s-a", Tags=[{"Key": "project", "Value": "apollo"},
                          {"Key": "cost", "Value": "7"}], TransitiveTagKeys=["project"])
    chain = session(server, out["Credentials"], "sts")
    hop = session(server, chain.assume_role(RoleArn=second, RoleSessionName="s-b")["Credentials"])
    hop.list_users()
    # The inherited tag cannot be set again in the chain.
    fails(chain.assume_role, "InvalidParameterValue", 400, RoleArn=second, RoleSessionName="s-c",
          Tags=[{"Key": "Project", "Value": "gemini"}])
    # Without TransitiveTagKeys nothing passes on.
    out = sts.assume_role(RoleArn=first, RoleSessionName="s-d", Tags=[{"Key": "project", "Value": "apollo"}])
    chain = session(server, out["Credentials"], "sts")
    hop = session(server, chain.assume_role(RoleArn=second, RoleSessionName="s-e")["Credentials"])
    fails(hop.list_users, "AccessDenied", 403)


def test_packed_size_counts_tags(env):
    sts = env["sts"]
    iam = env["iam"]
    iam.create_role(RoleName="packed", AssumeRolePolicyDocument=trust("sts:AssumeRole", "sts:TagSession"))
    packed = f"arn:aws:iam::{ACCOUNT}:role/packed"
    small = sts.assume_role(RoleArn=packed, RoleSessionName="s0", Tags=[{"Key": "k", "Value": "v"}])["PackedPolicySize"]
    big_tags = [{"Key": f"key{n:03d}" + "k" * 100, "Value": "v" * 250} for n in range(20)]
    message = fails(sts.assume_role, "PackedPolicyTooLarge", 400, RoleArn=packed, RoleSessionName="s0", Tags=big_tags)
    assert message.startswith("Packed policy consumes ") and message.endswith("% of allotted space, please use smaller policy.")
    some = sts.assume_role(RoleArn=packed, RoleSessionName="s0", Tags=big_tags[:4])["PackedPolicySize"]
    assert small < some <= 100


def test_source_identity(server, env):
    iam, sts = env["iam"], env["sts"]
    fails(sts.assume_role, "AccessDenied", 403, RoleArn=ROLE, RoleSessionName="s0", SourceIdentity="alice-laptop")
    iam.create_role(RoleName="audited", AssumeRolePolicyDocument=trust("sts:AssumeRole", "sts:SetSourceIdentity"))
    iam.put_role_policy(RoleName="audited", PolicyName="p", PolicyDocument=doc(
        allow("iam:ListUsers", Condition={"StringEquals": {"aws:SourceIdentity": "alice-laptop"}})))
    audited = f"arn:aws:iam::{ACCOUNT}:role/audited"
    out = sts.assume_role(RoleArn=audited, RoleSessionName="s0", SourceIdentity="alice-laptop")
    assert out["SourceIdentity"] == "alice-laptop"
    session(server, out["Credentials"]).list_users()
    out = sts.assume_role(RoleArn=audited, RoleSessionName="s0", SourceIdentity="someone-else")
    fails(session(server, out["Credentials"]).list_users, "AccessDenied", 403)


def test_inputs_daxd_cannot_check_are_refused(server, env):
    sts = env["sts"]
    mfa = "MultiFactorAuthentication failed with invalid MFA one time pass code."
    assert fails(sts.assume_role, "AccessDenied", 403, RoleArn=ROLE, RoleSessionName="s0",
                 SerialNumber=f"arn:aws:iam::{ACCOUNT}:mfa/alice", TokenCode="123456") == mfa
    assert fails(sts.get_session_token, "AccessDenied", 403,
                 SerialNumber=f"arn:aws:iam::{ACCOUNT}:mfa/alice", TokenCode="123456") == mfa
    fails(sts.assume_role, "InvalidContextAssertion", 400, RoleArn=ROLE, RoleSessionName="s0",
          ProvidedContexts=[{"ProviderArn": "arn:aws:iam::aws:contextProvider/IdentityCenter",
                             "ContextAssertion": "x" * 8}])
    # Honoured: the token is at least as long as asked.
    out = sts.assume_role(RoleArn=ROLE, RoleSessionName="s0", MinimumSessionTokenSize=2000)
    assert len(out["Credentials"]["SessionToken"]) >= 2000
    session(server, out["Credentials"]).list_users()
    out = sts.get_session_token(MinimumSessionTokenSize=1500)
    assert len(out["Credentials"]["SessionToken"]) >= 1500


def test_listings_page_and_filter(server, env):
    iam = env["iam"]
    # List*Tags and GetGroup read Marker and MaxItems.
    iam.create_user(UserName="tagged", Tags=[{"Key": f"k{n}", "Value": "v"} for n in range(5)])
    first = iam.list_user_tags(UserName="tagged", MaxItems=2)
    assert first["IsTruncated"] and len(first["Tags"]) == 2
    rest = iam.list_user_tags(UserName="tagged", Marker=first["Marker"])
    assert not rest["IsTruncated"]
    assert [t["Key"] for t in first["Tags"] + rest["Tags"]] == [f"k{n}" for n in range(5)]
    iam.create_group(GroupName="crew")
    for n in range(3):
        iam.create_user(UserName=f"crew{n}")
        iam.add_user_to_group(GroupName="crew", UserName=f"crew{n}")
    page = iam.get_group(GroupName="crew", MaxItems=2)
    assert page["IsTruncated"] and len(page["Users"]) == 2 and page["Group"]["GroupName"] == "crew"
    assert len(iam.get_group(GroupName="crew", Marker=page["Marker"])["Users"]) == 1
    # ListEntitiesForPolicy: EntityFilter and PolicyUsageFilter, boundaries included.
    arn = policy_arn("ListUsersOnly")
    iam.attach_user_policy(UserName="crew0", PolicyArn=arn)
    iam.attach_group_policy(GroupName="crew", PolicyArn=arn)
    iam.put_user_permissions_boundary(UserName="crew1", PermissionsBoundary=arn)
    got = iam.list_entities_for_policy(PolicyArn=arn)
    assert sorted(u["UserName"] for u in got["PolicyUsers"]) == ["crew0", "crew1"]
    assert [g["GroupName"] for g in got["PolicyGroups"]] == ["crew"]
    got = iam.list_entities_for_policy(PolicyArn=arn, EntityFilter="User", PolicyUsageFilter="PermissionsPolicy")
    assert [u["UserName"] for u in got["PolicyUsers"]] == ["crew0"] and got["PolicyGroups"] == []
    got = iam.list_entities_for_policy(PolicyArn=arn, PolicyUsageFilter="PermissionsBoundary")
    assert [u["UserName"] for u in got["PolicyUsers"]] == ["crew1"] and got["PolicyGroups"] == []
    got = iam.list_entities_for_policy(PolicyArn=arn, MaxItems=1)
    assert got["IsTruncated"]
    fails(iam.list_entities_for_policy, "NoSuchEntity", 404, PolicyArn=policy_arn("Nope"))
    bounds = iam.list_policies(Scope="Local", PolicyUsageFilter="PermissionsBoundary")["Policies"]
    assert [p["PolicyName"] for p in bounds] == ["ListUsersOnly"]
    # The simulator pages its results.
    sim = iam.simulate_custom_policy(PolicyInputList=[doc(allow("iam:*"))], ActionNames=["iam:ListUsers", "iam:ListRoles", "iam:GetUser"], MaxItems=2)
    assert sim["IsTruncated"] and len(sim["EvaluationResults"]) == 2
    sim = iam.simulate_custom_policy(PolicyInputList=[doc(allow("iam:*"))], ActionNames=["iam:ListUsers", "iam:ListRoles", "iam:GetUser"], Marker=sim["Marker"])
    assert not sim["IsTruncated"] and [r["EvalActionName"] for r in sim["EvaluationResults"]] == ["iam:GetUser"]
    # What the simulator does not implement is refused, not ignored.
    fails(iam.simulate_custom_policy, "NotImplemented", 501, PolicyInputList=[doc(allow("iam:*"))],
          ActionNames=["iam:ListUsers"], ResourceHandlingOption="EC2-VPC-InstanceStore")
    fails(iam.simulate_custom_policy, "NotImplemented", 501, PolicyInputList=[doc(allow("iam:*"))],
          ActionNames=["iam:ListUsers"], ResourceOwner="arn:aws:iam::999999999999:root")
    iam.simulate_custom_policy(PolicyInputList=[doc(allow("iam:*"))], ActionNames=["iam:ListUsers"],
                               ResourceOwner=f"arn:aws:iam::{ACCOUNT}:root")
