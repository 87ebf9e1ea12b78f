"""The web console, in a real browser. The real daxd serves it; the
state is prepared with boto3 (a DAX role, clusters in two regions through the
DAX API, DAX traffic for the cache chart, IAM users with console passwords: an administrator, a user with no permissions and a read-only user,
and a FIS experiment template that stops one node of a cluster);
then headless Chromium, driven by playwright-core (tests/console), walks the
seed's console procedures and the rest of the console. Screenshots of every
page land in artifacts/console/.

Needs node, Debian's chromium and `npm ci` in tests/console; ./scripts/test
installs them and sets DAXD_CONSOLE_TESTS=required, so there a missing piece
fails instead of skipping."""
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from daxd import Daxd, refused, wait_for

REPO = Path(__file__).resolve().parents[2]
BROWSER_TESTS = REPO / "tests" / "console"
ARTIFACTS = REPO / "artifacts" / "console"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ACCOUNT = "123456789012"
SLR = "AWSServiceRoleForDAX"
DAX_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "dax.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
FIS_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
ADMIN = ("console-admin", "Console-Admin-1")
VIEWER = ("viewer", "Viewer-Pass-1")
READER = ("reader", "Reader-Pass-1")


def missing():
    if shutil.which("node") is None:
        return "node is not installed"
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    if not (BROWSER_TESTS / "node_modules" / "playwright-core").is_dir():
        return "tests/console/node_modules is missing (npm ci in tests/console)"
    return None



def wait_available(dax, name, timeout=30):
    def check():
        c = dax.describe_clusters(ClusterNames=[name])["Clusters"][0]
        ready = c["Status"] == "available" and all(n["NodeStatus"] == "available" for n in c.get("Nodes", []))
        return c if ready else None
    c = wait_for(check, timeout)
    wait_for(lambda: not any(refused(n["Endpoint"]["Port"]) for n in c["Nodes"]), 10)
    return c


def cache_traffic(daxd, cluster):
    """A few reads through the cluster (misses, then hits) for the cache chart."""
    import amazondax
    ddb = daxd.client("dynamodb")
    ddb.create_table(TableName="console-cache", AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
    for i in range(3):
        ddb.put_item(TableName="console-cache", Item={"id": {"S": f"k{i}"}, "n": {"N": str(i)}})
    client = amazondax.AmazonDaxClient(endpoint_url=cluster["ClusterDiscoveryEndpoint"]["URL"], region_name="us-east-1",
                                       aws_access_key_id=daxd.root[0], aws_secret_access_key=daxd.root[1])
    try:
        for _ in range(4):
            for i in range(3):
                client.get_item(TableName="console-cache", Key={"id": {"S": f"k{i}"}})
            time.sleep(0.4)
    finally:
        client.close()


@pytest.fixture(scope="module")
def prepared():
    why = missing()
    if why:
        if os.environ.get("DAXD_CONSOLE_TESTS") == "required":
            pytest.fail(f"browser tests cannot run: {why}")
        pytest.skip(f"browser tests need: {why}")
    daxd = Daxd(args=["--provisioning-delay-ms", "1000", "--dax-ports", "24600-24699"],
                env={"DAXD_CONSOLE_SAMPLE_MS": "1000"}).start()
    try:
        iam = daxd.client("iam")
        iam.create_role(RoleName="DAXtoDynamoDB", AssumeRolePolicyDocument=DAX_TRUST)
        iam.attach_role_policy(RoleName="DAXtoDynamoDB", PolicyArn="arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess")
        role_arn = iam.get_role(RoleName="DAXtoDynamoDB")["Role"]["Arn"]
        # Clusters in two regions through the DAX API; DAX creates AWSServiceRoleForDAX and
        # does its EC2 work as that role, which is what Access Advisor shows.
        dax_us, dax_eu = daxd.client("dax"), daxd.client("dax", region="eu-west-1")
        dax_us.create_cluster(ClusterName="console-a", NodeType="dax.t3.small", ReplicationFactor=2, IamRoleArn=role_arn)
        dax_eu.create_cluster(ClusterName="console-eu", NodeType="dax.t3.small", ReplicationFactor=1, IamRoleArn=role_arn)
        cluster = wait_available(dax_us, "console-a")
        wait_available(dax_eu, "console-eu")
        # An administrator and a user with no permissions, both with console passwords.
        iam.create_user(UserName=ADMIN[0])
        iam.attach_user_policy(UserName=ADMIN[0], PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
        iam.create_login_profile(UserName=ADMIN[0], Password=ADMIN[1])
        iam.create_user(UserName=VIEWER[0])
        iam.create_login_profile(UserName=VIEWER[0], Password=VIEWER[1])
        # A read-only user: sees everything, may change nothing.
        iam.create_user(UserName=READER[0])
        iam.attach_user_policy(UserName=READER[0], PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
        iam.create_login_profile(UserName=READER[0], Password=READER[1])
        # A FIS experiment template that stops the second node of console-a for five
        # minutes, as a role that may reboot DAX nodes (the Resilience page starts and stops it).
        fis_role = iam.create_role(RoleName="FisConsole", AssumeRolePolicyDocument=FIS_TRUST)["Role"]["Arn"]
        iam.put_role_policy(RoleName="FisConsole", PolicyName="reboot", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dax:RebootNode", "Resource": "*"}]}))
        node = cluster["Nodes"][1]
        fis_template = daxd.client("fis").create_experiment_template(
            description="Stop one node of console-a", roleArn=fis_role, stopConditions=[{"source": "none"}],
            targets={"node": {"resourceType": "daxd:dax:node", "selectionMode": "ALL",
                              "resourceArns": [f"{cluster['ClusterArn']}/{node['NodeId']}"]}},
            actions={"stop": {"actionId": "daxd:dax:stop-node", "parameters": {"duration": "PT5M"},
                              "targets": {"Nodes": "node"}}})["experimentTemplate"]
        daxd.fis = {"FIS_TEMPLATE_ID": fis_template["id"], "FIS_ROLE_ARN": fis_role,
                    "FIS_NODE_ID": node["NodeId"], "FIS_NODE_PORT": str(node["Endpoint"]["Port"])}
        # A couple of counter samples first, then traffic: the chart shows it.
        time.sleep(2.5)
        cache_traffic(daxd, cluster)
        yield daxd, role_arn
    finally:
        daxd.close()


def test_console_in_chromium(prepared):
    daxd, role_arn = prepared
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    env = dict(os.environ)
    env.update(
        CONSOLE_URL=f"{daxd.endpoint}/console",
        ROOT_KEY=daxd.root[0], ROOT_SECRET=daxd.root[1], ACCOUNT=ACCOUNT, ROLE_ARN=role_arn,
        ADMIN_USER=ADMIN[0], ADMIN_PASSWORD=ADMIN[1], VIEWER_USER=VIEWER[0], VIEWER_PASSWORD=VIEWER[1],
        READER_USER=READER[0], READER_PASSWORD=READER[1],
        ARTIFACTS=str(ARTIFACTS), CHROMIUM=CHROMIUM, **daxd.fis,
    )
    proc = subprocess.run(
        ["node", "--test", "--test-concurrency=1", "--test-reporter=spec", "console.test.mjs"],
        cwd=BROWSER_TESTS, env=env, capture_output=True, text=True, timeout=900,
    )
    report = proc.stdout + proc.stderr
    (ARTIFACTS / "report.txt").write_text(report)
    assert proc.returncode == 0, f"browser tests failed (screenshots in {ARTIFACTS}):\n{report}"

    # What the browser did is what the API sees.
    iam = daxd.client("iam")
    with pytest.raises(ClientError) as e:
        iam.get_role(RoleName=SLR)
    assert e.value.response["Error"]["Code"] == "NoSuchEntity"
    assert daxd.client("dax").describe_clusters()["Clusters"] == []
    assert daxd.client("dax", region="eu-west-1").describe_clusters()["Clusters"] == []
    assert iam.get_login_profile(UserName="carol")["LoginProfile"]["UserName"] == "carol"
    assert "Used by DAX" not in json.dumps(iam.list_roles()["Roles"], default=str)
    # The experiment the browser started from the template, and stopped.
    experiments = daxd.client("fis").list_experiments()["experiments"]
    assert [(e["experimentTemplateId"], e["state"]["status"]) for e in experiments] == [
        (daxd.fis["FIS_TEMPLATE_ID"], "stopped")], experiments
    shots = sorted(p.name for p in ARTIFACTS.glob("*.png"))
    assert len(shots) >= 20 and not any(s.startswith("FAILED") for s in shots), shots


def err(exc_info):
    e = exc_info.value.response
    return e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"], e["Error"].get("Message", "")


def test_login_profiles_through_the_api(daxd, iam):
    """CreateLoginProfile / GetLoginProfile / UpdateLoginProfile / DeleteLoginProfile with
    AWS's password rules and errors, authorized on the user's ARN like every IAM call."""
    with pytest.raises(ClientError) as e:
        iam.create_login_profile(UserName="nobody", Password="Good-Pass-1")
    assert err(e)[:2] == ("NoSuchEntity", 404)
    iam.create_user(UserName="dora", Path="/team/")
    with pytest.raises(ClientError) as e:
        iam.get_login_profile(UserName="dora")
    assert err(e) == ("NoSuchEntity", 404, "Login Profile for User dora cannot be found.")
    for weak, why in [("Sh0rt!", "minimum length of 8"), ("alllowercase", "at least three of the following character types")]:
        with pytest.raises(ClientError) as e:
            iam.create_login_profile(UserName="dora", Password=weak)
        code, status, message = err(e)
        assert (code, status) == ("PasswordPolicyViolation", 400) and why in message, message
    out = iam.create_login_profile(UserName="dora", Password="Dora-Pass-1", PasswordResetRequired=True)["LoginProfile"]
    assert out["UserName"] == "dora" and out["PasswordResetRequired"] is True
    with pytest.raises(ClientError) as e:
        iam.create_login_profile(UserName="dora", Password="Dora-Pass-2")
    assert err(e) == ("EntityAlreadyExists", 409, "Login Profile for user dora already exists.")
    assert iam.get_login_profile(UserName="dora")["LoginProfile"]["PasswordResetRequired"] is True
    iam.update_login_profile(UserName="dora", Password="Dora-Pass-2", PasswordResetRequired=False)
    assert iam.get_login_profile(UserName="dora")["LoginProfile"]["PasswordResetRequired"] is False
    with pytest.raises(ClientError) as e:
        iam.update_login_profile(UserName="dora", Password="weak")
    assert err(e)[0] == "PasswordPolicyViolation"
    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName="dora")
    assert err(e) == ("DeleteConflict", 409, "Cannot delete entity, must delete login profile first.")

    # Authorized on the user's ARN: a user may manage only the profiles its policy names.
    iam.create_user(UserName="helpdesk")
    key = iam.create_access_key(UserName="helpdesk")["AccessKey"]
    iam.put_user_policy(UserName="helpdesk", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["iam:GetLoginProfile", "iam:UpdateLoginProfile"], "Resource": f"arn:aws:iam::{ACCOUNT}:user/team/*"}]}))
    helpdesk = daxd.client("iam", key=(key["AccessKeyId"], key["SecretAccessKey"]))
    assert helpdesk.get_login_profile(UserName="dora")["LoginProfile"]["UserName"] == "dora"
    with pytest.raises(ClientError) as e:
        helpdesk.delete_login_profile(UserName="dora")
    code, status, message = err(e)
    assert (code, status) == ("AccessDenied", 403)
    assert message == (f"User: arn:aws:iam::{ACCOUNT}:user/helpdesk is not authorized to perform: iam:DeleteLoginProfile on resource: "
                       f"arn:aws:iam::{ACCOUNT}:user/team/dora because no identity-based policy allows the iam:DeleteLoginProfile action")

    iam.delete_login_profile(UserName="dora")
    with pytest.raises(ClientError) as e:
        iam.delete_login_profile(UserName="dora")
    assert err(e)[:2] == ("NoSuchEntity", 404)
    iam.delete_user(UserName="dora")
    # The AWS CLI too.
    iam.create_user(UserName="erin")
    out = json.loads(daxd.aws("iam", "create-login-profile", "--user-name", "erin", "--password", "Erin-Pass-1").stdout)
    assert out["LoginProfile"]["UserName"] == "erin"
