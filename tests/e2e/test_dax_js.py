"""The DAX data plane driven by the OFFICIAL JavaScript DAX clients,
`@amazon-dax-sdk/client-dax` 3.1.0 (AWS SDK v3) and `amazon-dax-client` 1.2.10
(AWS SDK v2), pinned in tests/dax-js/package-lock.json.

daxd, the tables, the cluster's role, a user without dax:GetItem and the cluster
are made here with boto3; each node script (tests/dax-js/*.test.*) then runs its
node:test suite against the cluster's `ClusterDiscoveryEndpoint.URL` exactly as
DescribeClusters returns it, and this test passes when the script does."""
import json
import os
import re
import shutil
import subprocess

import pytest

from daxd import Daxd, ROOT, refused, wait_for

ACCOUNT = "123456789012"
REGION = "us-east-1"
JS = ROOT / "tests" / "dax-js"
NODE = shutil.which("node")
DAX_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "dax.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
# Ports from a range the other suites do not use.
ARGS = ["--dax-ports", "25000-25099"]

pytestmark = pytest.mark.skipif(
    NODE is None or not (JS / "node_modules" / "@amazon-dax-sdk" / "client-dax").is_dir()
    or not (JS / "node_modules" / "amazon-dax-client").is_dir(),
    reason="node or tests/dax-js/node_modules missing (scripts/test runs `npm ci` there)")


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})



def create_cluster(daxd, name, role_arn):
    dax = daxd.client("dax")
    dax.create_cluster(ClusterName=name, NodeType="dax.t3.small", ReplicationFactor=1, IamRoleArn=role_arn)

    def available():
        c = dax.describe_clusters(ClusterNames=[name])["Clusters"][0]
        return c if c["Status"] == "available" and all(n["NodeStatus"] == "available" for n in c.get("Nodes", [])) else None
    c = wait_for(available, 20)
    # Listeners start on the background tick (every 200 ms) after the nodes are available.
    wait_for(lambda: not any(refused(n["Endpoint"]["Port"]) for n in c["Nodes"]), 5)
    return c


def create_tables(ddb, prefix):
    """The tables one client's suite works on (a prefix per client keeps the suites'
    caches and items apart): composite S/N keys with a GSI, hash-only S, hash-only N,
    and composite B/B keys, so every key codec is used."""
    ddb.create_table(
        TableName=f"{prefix}Things",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"},
                              {"AttributeName": "cat", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{"IndexName": "byCat", "KeySchema": [{"AttributeName": "cat", "KeyType": "HASH"},
                                                                      {"AttributeName": "sk", "KeyType": "RANGE"}],
                                 "Projection": {"ProjectionType": "ALL"}}],
        BillingMode="PAY_PER_REQUEST")
    ddb.create_table(TableName=f"{prefix}Simple", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    ddb.create_table(TableName=f"{prefix}Nums", KeySchema=[{"AttributeName": "n", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "n", "AttributeType": "N"}], BillingMode="PAY_PER_REQUEST")
    ddb.create_table(
        TableName=f"{prefix}Bins",
        KeySchema=[{"AttributeName": "h", "KeyType": "HASH"}, {"AttributeName": "r", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "h", "AttributeType": "B"}, {"AttributeName": "r", "AttributeType": "B"}],
        BillingMode="PAY_PER_REQUEST")


CLIENTS = {
    # script, table prefix
    "v3": ("client-dax-v3.test.mjs", "v3_"),
    "v2": ("amazon-dax-client-v2.test.cjs", "v2_"),
}


@pytest.fixture(scope="module")
def env():
    daxd = Daxd(args=ARGS).start()
    iam = daxd.client("iam")
    iam.create_role(RoleName="DAXFull", AssumeRolePolicyDocument=DAX_TRUST)
    iam.attach_role_policy(RoleName="DAXFull", PolicyArn="arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess")
    role_arn = iam.get_role(RoleName="DAXFull")["Role"]["Arn"]
    ddb = daxd.client("dynamodb")
    for _, prefix in CLIENTS.values():
        create_tables(ddb, prefix)
    cluster = create_cluster(daxd, "jsfunc", role_arn)
    # A user with every data action on the cluster but dax:GetItem, and no dynamodb:* at all.
    iam.create_user(UserName="nogetitem")
    k = iam.create_access_key(UserName="nogetitem")["AccessKey"]
    iam.put_user_policy(UserName="nogetitem", PolicyName="p", PolicyDocument=doc(
        {"Effect": "Allow", "Action": ["dax:PutItem", "dax:Query", "dax:Scan"],
         "Resource": f"arn:aws:dax:{REGION}:{ACCOUNT}:cache/jsfunc"}))
    daxd.url = cluster["ClusterDiscoveryEndpoint"]["URL"]
    daxd.reader = (k["AccessKeyId"], k["SecretAccessKey"])
    yield daxd
    daxd.close()


def run_node(env, script, prefix, timeout=300):
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    child_env.update(
        DAX_URL=env.url,
        AWS_REGION=REGION,
        AWS_ACCESS_KEY_ID=env.root[0],
        AWS_SECRET_ACCESS_KEY=env.root[1],
        DAX_READER_ACCESS_KEY_ID=env.reader[0],
        DAX_READER_SECRET_ACCESS_KEY=env.reader[1],
        DAXD_ENDPOINT=env.endpoint,
        DAX_TABLE_PREFIX=prefix,
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
    )
    proc = subprocess.run([NODE, "--test", "--test-reporter=spec", "--test-concurrency=1", script], cwd=JS,
                          env=child_env, capture_output=True, text=True, timeout=timeout)
    return proc


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_js_client(env, client):
    script, prefix = CLIENTS[client]
    proc = run_node(env, script, prefix)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"node {script} failed ({proc.returncode}):\n{out}\n--- daxd ---\n" + "\n".join(env.output[-50:])
    # node:test's spec reporter closes with "ℹ tests N", "ℹ pass N", "ℹ fail N", ...
    counts = {k: int(v) for k, v in re.findall(r"^ℹ (\w+) (\d+)$", proc.stdout, re.M)}
    assert counts.get("fail") == 0 and counts.get("cancelled") == 0, out
    assert counts.get("pass") == counts.get("tests") and counts["pass"] >= 14, out
