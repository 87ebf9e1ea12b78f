"""The seed's IAM story for AWSServiceRoleForDAX, walked with the
real AWS CLI and boto3 against the real daxd binary."""
import json
import time

import pytest
from botocore.exceptions import ClientError

from daxd import Daxd

ACCOUNT = "123456789012"
SLR_ARN = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/dax.amazonaws.com/AWSServiceRoleForDAX"
DAX_POLICY_ARN = "arn:aws:iam::aws:policy/aws-service-role/DAXServiceRolePolicy"
TWELVE = sorted([
    "ec2:AuthorizeSecurityGroupIngress", "ec2:CreateNetworkInterface", "ec2:CreateSecurityGroup",
    "ec2:DeleteNetworkInterface", "ec2:DeleteSecurityGroup", "ec2:DescribeAvailabilityZones",
    "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs",
    "ec2:ModifyNetworkInterfaceAttribute", "ec2:RevokeSecurityGroupIngress",
])
UNMODIFIABLE = (
    "Cannot perform the operation on the protected role 'AWSServiceRoleForDAX' - this role is only modifiable by AWS"
)
ALLOW_DAX_SLR = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Action": "iam:CreateServiceLinkedRole",
        "Resource": "*",
        "Condition": {"StringLike": {"iam:AWSServiceName": "dax.amazonaws.com"}},
    }],
})


def err(exc_info):
    e = exc_info.value.response
    return e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"], e["Error"].get("Message", "")


def cli_error(proc):
    assert proc.returncode != 0, proc.stdout
    return proc.stderr


def wait_deletion(iam, task_id, timeout=15):
    seen = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = iam.get_service_linked_role_deletion_status(DeletionTaskId=task_id)
        if not seen or seen[-1] != status["Status"]:
            seen.append(status["Status"])
        if status["Status"] in ("SUCCEEDED", "FAILED"):
            return status, seen
        time.sleep(0.05)
    raise AssertionError(f"deletion task stuck: {seen}")


def test_seed_iam_story(daxd, iam, user_key):
    name, key = user_key

    # 1. Without iam:CreateServiceLinkedRole the user is denied, in AWS's words.
    proc = daxd.aws("iam", "create-service-linked-role", "--aws-service-name", "dax.amazonaws.com", key=key, check=False)
    assert "AccessDenied" in cli_error(proc)
    assert (
        f"User: arn:aws:iam::{ACCOUNT}:user/{name} is not authorized to perform: iam:CreateServiceLinkedRole "
        f"on resource: {SLR_ARN} because no identity-based policy allows the iam:CreateServiceLinkedRole action"
    ) in proc.stderr

    # 2. Allowed only for iam:AWSServiceName = dax.amazonaws.com.
    iam.put_user_policy(UserName=name, PolicyName="dax-slr", PolicyDocument=ALLOW_DAX_SLR)
    proc = daxd.aws("iam", "create-service-linked-role", "--aws-service-name", "elasticache.amazonaws.com", key=key, check=False)
    assert "AccessDenied" in cli_error(proc)
    role = json.loads(daxd.aws("iam", "create-service-linked-role", "--aws-service-name", "dax.amazonaws.com", key=key).stdout)["Role"]

    # 3. Exact path, trust policy and attached policy.
    assert role["RoleName"] == "AWSServiceRoleForDAX"
    assert role["Path"] == "/aws-service-role/dax.amazonaws.com/"
    assert role["Arn"] == SLR_ARN
    got = iam.get_role(RoleName="AWSServiceRoleForDAX")["Role"]
    assert got["AssumeRolePolicyDocument"] == {
        "Version": "2012-10-17",
        "Statement": [{"Action": ["sts:AssumeRole"], "Effect": "Allow", "Principal": {"Service": ["dax.amazonaws.com"]}}],
    }
    assert got["RoleLastUsed"] == {}
    attached = iam.list_attached_role_policies(RoleName="AWSServiceRoleForDAX")["AttachedPolicies"]
    assert attached == [{"PolicyName": "DAXServiceRolePolicy", "PolicyArn": DAX_POLICY_ARN}]
    pol = iam.get_policy(PolicyArn=DAX_POLICY_ARN)["Policy"]
    assert pol["Path"] == "/aws-service-role/" and pol["DefaultVersionId"] == "v1"
    doc = iam.get_policy_version(PolicyArn=DAX_POLICY_ARN, VersionId="v1")["PolicyVersion"]["Document"]
    assert len(doc["Statement"]) == 1
    assert doc["Statement"][0]["Effect"] == "Allow" and doc["Statement"][0]["Resource"] == "*"
    assert sorted(doc["Statement"][0]["Action"]) == TWELVE
    listed = iam.list_roles(PathPrefix="/aws-service-role/dax.amazonaws.com/")["Roles"]
    assert [r["RoleName"] for r in listed] == ["AWSServiceRoleForDAX"]
    assert "RoleLastUsed" not in listed[0] and "Tags" not in listed[0]

    # 4. The description can be edited, with both calls.
    daxd.aws("iam", "update-role-description", "--role-name", "AWSServiceRoleForDAX", "--description", "DAX's role")
    assert iam.get_role(RoleName="AWSServiceRoleForDAX")["Role"]["Description"] == "DAX's role"
    iam.update_role(RoleName="AWSServiceRoleForDAX", Description="edited again")
    assert iam.get_role(RoleName="AWSServiceRoleForDAX")["Role"]["Description"] == "edited again"
    # Tags work too.
    iam.tag_role(RoleName="AWSServiceRoleForDAX", Tags=[{"Key": "team", "Value": "db"}])
    assert iam.list_role_tags(RoleName="AWSServiceRoleForDAX")["Tags"] == [{"Key": "team", "Value": "db"}]
    iam.untag_role(RoleName="AWSServiceRoleForDAX", TagKeys=["team"])

    # 5. Everything that would change its trust, permissions or sessions.
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}]})
    revoke = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
                         "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2030-01-01T00:00:00Z"}}}]})
    protected = [
        ("update-assume-role-policy", "--policy-document", trust),
        ("put-role-policy", "--policy-name", "AWSRevokeOlderSessions", "--policy-document", revoke),
        ("delete-role-policy", "--policy-name", "anything"),
        ("attach-role-policy", "--policy-arn", "arn:aws:iam::aws:policy/AdministratorAccess"),
        ("detach-role-policy", "--policy-arn", DAX_POLICY_ARN),
        ("put-role-permissions-boundary", "--permissions-boundary", "arn:aws:iam::aws:policy/ReadOnlyAccess"),
        ("delete-role-permissions-boundary",),
        ("delete-role",),
        ("update-role", "--max-session-duration", "7200"),
    ]
    for cmd, *args in protected:
        proc = daxd.aws("iam", cmd, "--role-name", "AWSServiceRoleForDAX", *args, check=False)
        assert "UnmodifiableEntity" in cli_error(proc), cmd
        assert UNMODIFIABLE in proc.stderr, cmd
    for op in ("add_role_to_instance_profile", "remove_role_from_instance_profile"):
        with pytest.raises(ClientError) as e:
            getattr(iam, op)(InstanceProfileName="p", RoleName="AWSServiceRoleForDAX")
        assert err(e) == ("UnmodifiableEntity", 400, UNMODIFIABLE)
    # No API renames it: UpdateRole has no name parameter, and the role is intact.
    got = iam.get_role(RoleName="AWSServiceRoleForDAX")["Role"]
    assert got["Arn"] == SLR_ARN and got["MaxSessionDuration"] == 3600
    assert iam.list_role_policies(RoleName="AWSServiceRoleForDAX")["PolicyNames"] == []

    # 6. Only DAX can assume it.
    iam.put_user_policy(UserName=name, PolicyName="assume", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
    with pytest.raises(ClientError) as e:
        daxd.client("sts", key=key).assume_role(RoleArn=SLR_ARN, RoleSessionName="s1")
    code, status, message = err(e)
    assert (code, status) == ("AccessDenied", 403)
    assert message.startswith(f"User: arn:aws:iam::{ACCOUNT}:user/{name} is not authorized to perform: sts:AssumeRole on resource: {SLR_ARN}")

    # 7. Deleting the unused role succeeds; the role is gone.
    task_id = json.loads(daxd.aws("iam", "delete-service-linked-role", "--role-name", "AWSServiceRoleForDAX").stdout)["DeletionTaskId"]
    assert task_id.startswith("task/aws-service-role/dax.amazonaws.com/AWSServiceRoleForDAX/")
    status, _ = wait_deletion(iam, task_id)
    assert status["Status"] == "SUCCEEDED" and "Reason" not in status
    with pytest.raises(ClientError) as e:
        iam.get_role(RoleName="AWSServiceRoleForDAX")
    assert err(e)[:2] == ("NoSuchEntity", 404)

    # 8. It can be created again.
    again = daxd.client("iam", key=key).create_service_linked_role(AWSServiceName="dax.amazonaws.com")["Role"]
    assert again["Arn"] == SLR_ARN and again["RoleId"] != role["RoleId"]


def test_deletion_task_is_asynchronous_and_idempotent():
    # Each step lasts 2 s, so that polling sees every state even on a loaded machine.
    server = Daxd(args=["--provisioning-delay-ms", "2000"]).start()
    try:
        iam = server.client("iam")
        iam.create_service_linked_role(AWSServiceName="dax.amazonaws.com")
        first = iam.delete_service_linked_role(RoleName="AWSServiceRoleForDAX")["DeletionTaskId"]
        assert iam.get_service_linked_role_deletion_status(DeletionTaskId=first)["Status"] == "NOT_STARTED"
        assert iam.delete_service_linked_role(RoleName="AWSServiceRoleForDAX")["DeletionTaskId"] == first
        status, seen = wait_deletion(iam, first)
        assert seen == ["NOT_STARTED", "IN_PROGRESS", "SUCCEEDED"]
        with pytest.raises(ClientError) as e:
            iam.get_service_linked_role_deletion_status(DeletionTaskId=first.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000")
        assert err(e)[:2] == ("NoSuchEntity", 404)
    finally:
        server.close()


def test_service_linked_role_input_errors(iam):
    cases = [
        (dict(AWSServiceName="dax.amazonaws.com", CustomSuffix="x"), "Custom suffix is not allowed for dax.amazonaws.com"),
        (dict(AWSServiceName="nosuch.amazonaws.com"), "nosuch.amazonaws.com"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ClientError) as e:
            iam.create_service_linked_role(**kwargs)
        code, status, text = err(e)
        assert (code, status) == ("InvalidInput", 400) and message in text
    iam.create_service_linked_role(AWSServiceName="dax.amazonaws.com")
    with pytest.raises(ClientError) as e:
        iam.create_service_linked_role(AWSServiceName="dax.amazonaws.com")
    assert err(e) == ("InvalidInput", 400,
                      "Service role name AWSServiceRoleForDAX has been taken in this account, please try a different suffix.")
    with pytest.raises(ClientError) as e:
        iam.create_role(RoleName="fake", Path="/aws-service-role/dax.amazonaws.com/", AssumeRolePolicyDocument="{}")
    assert err(e) == ("InvalidInput", 400, "Path prefix '/aws-service-role/' can only be used for AWS Service linked Roles")


def test_service_role_policy_is_not_attachable_elsewhere(iam):
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "dax.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    iam.create_role(RoleName="ordinary", AssumeRolePolicyDocument=trust)
    iam.create_user(UserName="u")
    iam.create_group(GroupName="g")
    for call, kwargs in [
        (iam.attach_role_policy, dict(RoleName="ordinary")),
        (iam.attach_user_policy, dict(UserName="u")),
        (iam.attach_group_policy, dict(GroupName="g")),
    ]:
        with pytest.raises(ClientError) as e:
            call(PolicyArn=DAX_POLICY_ARN, **kwargs)
        assert err(e) == ("PolicyNotAttachable", 400,
                          "AWS service role policies can only be attached to the service-linked role for that service.")


def test_assumed_role_last_used_and_access_advisor(daxd, iam, user_key):
    name, key = user_key
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/{name}"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": "secret-42"}}}]})
    iam.create_role(RoleName="reader", AssumeRolePolicyDocument=trust)
    iam.attach_role_policy(RoleName="reader", PolicyArn="arn:aws:iam::aws:policy/IAMFullAccess")
    sts = daxd.client("sts", key=key)
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/reader", RoleSessionName="s1")
    assert err(e)[:2] == ("AccessDenied", 403)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/reader", RoleSessionName="s1", ExternalId="secret-42")
    c = creds["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA")
    assert creds["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/reader/s1"
    session = (c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    who = daxd.client("sts", key=session, region="eu-west-1").get_caller_identity()
    assert who["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/reader/s1"
    assert who["UserId"].startswith("AROA") and who["UserId"].endswith(":s1")
    role_iam = daxd.client("iam", key=session, region="eu-west-1")
    assert any(u["UserName"] == name for u in role_iam.list_users()["Users"])
    # The CLI works with the session too.
    out = json.loads(daxd.aws("iam", "list-roles", key=session, region="eu-west-1").stdout)
    assert any(r["RoleName"] == "reader" for r in out["Roles"])
    # A wrong token is refused.
    with pytest.raises(ClientError) as e:
        daxd.client("sts", key=(session[0], session[1], "forged")).get_caller_identity()
    assert err(e)[:2] == ("InvalidClientTokenId", 403)

    last = iam.get_role(RoleName="reader")["Role"]["RoleLastUsed"]
    assert last["Region"] == "eu-west-1" and "LastUsedDate" in last

    role_arn = f"arn:aws:iam::{ACCOUNT}:role/reader"
    job = iam.generate_service_last_accessed_details(Arn=role_arn, Granularity="ACTION_LEVEL")["JobId"]
    assert len(job) == 36
    report = iam.get_service_last_accessed_details(JobId=job)
    assert report["JobStatus"] == "COMPLETED" and report["JobType"] == "ACTION_LEVEL"
    by_ns = {s["ServiceNamespace"]: s for s in report["ServicesLastAccessed"]}
    assert by_ns["iam"]["LastAuthenticatedEntity"] == role_arn
    assert by_ns["iam"]["LastAuthenticatedRegion"] == "eu-west-1"
    assert by_ns["iam"]["TotalAuthenticatedEntities"] == 1
    actions = {a["ActionName"] for a in by_ns["iam"]["TrackedActionsLastAccessed"]}
    assert {"ListUsers", "ListRoles"} <= actions
    assert "organizations" in by_ns and "LastAuthenticated" not in by_ns["organizations"]
    with_entities = iam.get_service_last_accessed_details_with_entities(JobId=job, ServiceNamespace="iam")
    assert [e["EntityInfo"]["Arn"] for e in with_entities["EntityDetailsList"]] == [role_arn]

    # Sessions survive a restart.
    daxd.restart()
    who = daxd.client("sts", key=session).get_caller_identity()
    assert who["Arn"].endswith(":assumed-role/reader/s1")
