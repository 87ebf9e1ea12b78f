"""`aws:SecureTransport` is how the request reached daxd: true on the `--tls-listen` HTTPS
endpoint (API and console) and on `daxs://` DAX nodes, false on the plain endpoint and on
`dax://` nodes; true for the calls a service makes as its role (AWS services call each
other over HTTPS). Two IAM users, each `Allow *` plus one `Deny *` on the condition key:
"tls-only" denies when it is false, "plain-only" when it is true. One daxd for the module."""
import http.client
import json
import re
import ssl
import urllib.parse
from contextlib import contextmanager

import amazondax
import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from daxd import Daxd, refused, wait_for

REGION = "us-east-1"
DAX_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "dax.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
# user → the value of aws:SecureTransport its policy denies
USERS = {"tls-only": "false", "plain-only": "true"}
CASES = [("tls-only", False), ("tls-only", True), ("plain-only", False), ("plain-only", True)]


def deny_when(value):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": value}}}]})


def allowed(user, over_tls):
    return over_tls == (user == "tls-only")



def available(dax, name):
    c = dax.describe_clusters(ClusterNames=[name])["Clusters"][0]
    return c if c["Status"] == "available" else None


@pytest.fixture(scope="module")
def env():
    d = Daxd(args=["--tls-listen", "127.0.0.1:0", "--dax-ports", "26400-26419"]).start()
    try:
        iam = d.client("iam")
        d.keys = {}
        for user, value in USERS.items():
            iam.create_user(UserName=user)
            iam.put_user_policy(UserName=user, PolicyName="transport", PolicyDocument=deny_when(value))
            k = iam.create_access_key(UserName=user)["AccessKey"]
            d.keys[user] = (k["AccessKeyId"], k["SecretAccessKey"])
        # The clusters' role may reach DynamoDB only over TLS: the node's calls as the role
        # must count as secure, whatever the client's connection to the node.
        iam.create_role(RoleName="DAXTransport", AssumeRolePolicyDocument=DAX_TRUST)
        iam.put_role_policy(RoleName="DAXTransport", PolicyName="transport", PolicyDocument=deny_when("false"))
        role_arn = iam.get_role(RoleName="DAXTransport")["Role"]["Arn"]
        d.client("dynamodb").create_table(
            TableName="Transport", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
        dax = d.client("dax")
        for name, encryption in (("plain", "NONE"), ("secure", "TLS")):
            dax.create_cluster(ClusterName=name, NodeType="dax.t3.small", ReplicationFactor=1, IamRoleArn=role_arn,
                               ClusterEndpointEncryptionType=encryption)
        d.urls = {}
        for name in ("plain", "secure"):
            c = wait_for(lambda: available(dax, name), 20)
            d.urls[name] = c["ClusterDiscoveryEndpoint"]["URL"]
            wait_for(lambda: not any(refused(n["Endpoint"]["Port"]) for n in c["Nodes"]), 5)
        assert d.urls["plain"].startswith("dax://") and d.urls["secure"].startswith("daxs://")
    except BaseException:
        d.close()
        raise
    yield d
    d.close()


def api_client(env, service, user, over_tls):
    key = env.keys[user]
    return boto3.client(service, endpoint_url=env.https if over_tls else env.endpoint, region_name=REGION,
                        aws_access_key_id=key[0], aws_secret_access_key=key[1], verify=env.ca if over_tls else None,
                        config=Config(retries={"max_attempts": 1}))


@pytest.mark.parametrize("user,over_tls", CASES)
def test_http_api(env, user, over_tls):
    # The three paths of the front door: awsQuery (IAM), DynamoDB's own, DAX's JSON.
    calls = [("iam", lambda c: c.list_users(), "AccessDenied", "iam:ListUsers"),
             ("dynamodb", lambda c: c.list_tables(), "AccessDeniedException", "dynamodb:ListTables"),
             ("dax", lambda c: c.describe_clusters(), "AccessDeniedException", "dax:DescribeClusters")]
    for service, call, code, action in calls:
        client = api_client(env, service, user, over_tls)
        if allowed(user, over_tls):
            call(client)
        else:
            with pytest.raises(ClientError) as e:
                call(client)
            err = e.value.response["Error"]
            assert err["Code"] == code, (service, err)
            assert action in err["Message"] and "explicit deny" in err["Message"], err


def console(env, over_tls):
    """A request function for the console on the plain or the HTTPS endpoint."""
    base = env.https if over_tls else env.endpoint
    port = int(base.rsplit(":", 1)[1])

    def request(method, path, body=None, headers=None):
        if over_tls:
            c = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=ssl.create_default_context(cafile=env.ca))
        else:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        out = r.status, r.read().decode(errors="replace"), r.headers.get_all("Set-Cookie") or []
        c.close()
        return out
    return request


def session_cookie(set_cookies):
    return next(m.group(1) for c in set_cookies if (m := re.match(r"daxd_console=([^;]*)", c)))


@pytest.mark.parametrize("user,over_tls", CASES)
def test_console(env, user, over_tls):
    request = console(env, over_tls)
    status, body, set_cookies = request("GET", "/console/signin")
    assert status == 200
    anon = session_cookie(set_cookies)
    csrf = re.search(r'name="_csrf" value="([0-9a-f]+)"', body).group(1)
    key = env.keys[user]
    form = urllib.parse.urlencode({"_csrf": csrf, "next": "/console/iam/users", "mode": "keys",
                                   "access_key_id": key[0], "secret_access_key": key[1]})
    status, _, set_cookies = request("POST", "/console/signin", form, {
        "Cookie": f"daxd_console={anon}", "Content-Type": "application/x-www-form-urlencoded"})
    assert status in (302, 303)
    signed = session_cookie(set_cookies)
    status, body, _ = request("GET", "/console/iam/users", headers={"Cookie": f"daxd_console={signed}"})
    assert status == 200
    if allowed(user, over_tls):
        assert "Access denied" not in body and "plain-only" in body and "tls-only" in body
    else:
        assert "Access denied" in body and "is not authorized to perform: iam:ListUsers" in body, body
        other = next(u for u in USERS if u != user)
        assert other not in body, "the list is not shown"


@contextmanager
def dax_client(url, key):
    c = amazondax.AmazonDaxClient(endpoint_url=url, region_name=REGION, aws_access_key_id=key[0],
                                  aws_secret_access_key=key[1])
    try:
        yield c
    finally:
        c.close()


@pytest.mark.parametrize("user,over_tls", CASES)
def test_dax_node(env, user, over_tls, monkeypatch):
    # The official client trusts daxd's CA through OpenSSL's default trust (README).
    monkeypatch.setenv("SSL_CERT_FILE", env.ca)
    item = {"id": {"S": f"{user}-{over_tls}"}, "v": {"S": "cached"}}
    env.client("dynamodb").put_item(TableName="Transport", Item=item)
    with dax_client(env.urls["secure" if over_tls else "plain"], env.keys[user]) as dax:
        if allowed(user, over_tls):
            # A miss: the node reads DynamoDB as the cluster's role, over "HTTPS".
            assert dax.get_item(TableName="Transport", Key={"id": item["id"]})["Item"] == item
        else:
            with pytest.raises(ClientError) as e:
                dax.get_item(TableName="Transport", Key={"id": item["id"]})
            err = e.value.response["Error"]
            assert err["Code"] == "AccessDeniedException", err
            assert "dax:GetItem" in err["Message"], err
