"""Node hosts (docs/node-hosts.md): `daxd node-host` processes join a control daxd over
HTTPS with IAM credentials, show as active, become unreachable when killed and leave on
SIGTERM; bad credentials, a missing permission and plain HTTP are refused. The nodes of new clusters
are placed on the active hosts node by node (spread over zones and hosts), which run
them for the Python DAX client."""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest

from daxd import BIN, Daxd, signed_headers, wait_for

TIMEOUT_SECS = 3

HOST_POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Action": ["daxd:JoinNodeHost", "daxd:SendNodeHostHeartbeat", "daxd:LeaveNodeHost",
                   "daxd:AuthorizeDaxClient", "daxd:ForwardDynamoDbCall"],
        "Resource": "arn:aws:daxd:us-east-1:123456789012:node-host/*",
        "Condition": {"StringEquals": {"daxd:AvailabilityZone": ["us-east-1a", "us-east-1b"]}},
    }],
})
READER_POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "daxd:DescribeNodeHosts", "Resource": "*"}],
})


def call(d, op, body, key=None):
    """A signed `DaxdNodeHost.<op>` call on the plain endpoint: (status, JSON answer)."""
    data = json.dumps(body).encode()
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"DaxdNodeHost.{op}"}
    headers = signed_headers(d, "daxd", data, headers, key=key or d.root)
    req = urllib.request.Request(d.endpoint + "/", data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def console_page(d, key, path):
    """`path` of the console, signed in with `key`: the page's HTML."""
    host, port = d.endpoint.split("//", 1)[1].split(":")

    def request(method, url, body=None, headers=None):
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request(method, url, body=body, headers=headers or {})
        r = conn.getresponse()
        out = (r.status, r.read().decode(), r.headers.get_all("Set-Cookie") or [])
        conn.close()
        return out

    def cookie(set_cookies):
        return next(m.group(1) for c in set_cookies if (m := re.match(r"daxd_console=([^;]*)", c)))

    _, body, set_cookies = request("GET", "/console/signin")
    csrf = re.search(r'name="_csrf" value="([0-9a-f]+)"', body).group(1)
    form = urllib.parse.urlencode({"_csrf": csrf, "next": path, "mode": "keys",
                                   "access_key_id": key[0], "secret_access_key": key[1]})
    status, _, set_cookies = request("POST", "/console/signin", form, {
        "Cookie": f"daxd_console={cookie(set_cookies)}", "Content-Type": "application/x-www-form-urlencoded"})
    assert status in (302, 303)
    status, body, _ = request("GET", path, headers={"Cookie": f"daxd_console={cookie(set_cookies)}"})
    assert status == 200
    return body


def hosts(d):
    status, out = call(d, "DescribeNodeHosts", {})
    assert status == 200, out
    return {h["AdvertiseHost"]: h for h in out["NodeHosts"]}


class Host:
    """One `daxd node-host` process."""

    def __init__(self, d, key, zone, address, ports, control=None, ca=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DAXD_"))}
        env.update(AWS_ACCESS_KEY_ID=key[0], AWS_SECRET_ACCESS_KEY=key[1])
        cmd = [BIN, "node-host", "--control", control or d.https, "--control-ca", ca or d.ca,
               "--availability-zone", zone, "--advertise-host", address, "--dax-ports", ports]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        self.output = []
        self.ready = threading.Event()

        def drain():
            for line in self.proc.stdout:
                self.output.append(line.rstrip("\n"))
                if line.startswith("daxd node-host ready:"):
                    self.ready.set()
            self.ready.set()

        threading.Thread(target=drain, daemon=True).start()

    def wait_ready(self):
        assert self.ready.wait(15) and self.proc.poll() is None, "\n".join(self.output)
        return self

    def finish(self):
        """Its exit code and output, once it ended by itself."""
        code = self.proc.wait(15)
        self.ready.wait(5)
        return code, "\n".join(self.output)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture(scope="module")
def d():
    d = Daxd(args=["--tls-listen", "127.0.0.1:0", "--node-host-timeout-secs", str(TIMEOUT_SECS)]).start()
    started = []
    try:
        iam = d.client("iam")
        d.keys = {}
        for user, policy in (("host", HOST_POLICY), ("reader", READER_POLICY)):
            iam.create_user(UserName=user)
            iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=policy)
            k = iam.create_access_key(UserName=user)["AccessKey"]
            d.keys[user] = (k["AccessKeyId"], k["SecretAccessKey"])
        d.started = started
        yield d
    finally:
        for h in started:
            h.stop()
        d.close()


def start(d, *args, **kw):
    h = Host(d, *args, **kw)
    d.started.append(h)
    return h


def test_hosts_join_heartbeat_and_leave(d):
    a = start(d, d.keys["host"], "us-east-1a", "127.0.0.2", "27000-27009").wait_ready()
    b = start(d, d.keys["host"], "us-east-1b", "127.0.0.3", "27000-27009").wait_ready()
    listed = hosts(d)
    for host, zone in ((listed["127.0.0.2"], "us-east-1a"), (listed["127.0.0.3"], "us-east-1b")):
        assert host["Status"] == "active"
        assert host["AvailabilityZone"] == zone
        assert (host["PortRangeStart"], host["PortRangeEnd"]) == (27000, 27009)
        assert host["PrincipalArn"] == "arn:aws:iam::123456789012:user/host"
        assert host["NodeHostArn"] == f"arn:aws:daxd:us-east-1:123456789012:node-host/{host['NodeHostId']}"
    assert any("node host " + listed["127.0.0.2"]["NodeHostId"] + " joined us-east-1" in l for l in d.output)
    # The console lists them through DescribeNodeHosts, as the signed-in principal.
    page = console_page(d, d.keys["reader"], "/console/dax/node-hosts")
    for host in listed.values():
        row = page.split(f'data-node-host="{host["NodeHostId"]}"', 1)[1].split("</tr>", 1)[0]
        assert host["AvailabilityZone"] in row and host["AdvertiseHost"] in row and "active" in row, row
    page = console_page(d, d.keys["host"], "/console/dax/node-hosts")
    assert "is not authorized to perform: daxd:DescribeNodeHosts" in page

    # Heartbeats keep them active past the timeout.
    first = listed["127.0.0.3"]["LastHeartbeatTime"]
    wait_for(lambda: hosts(d)["127.0.0.3"]["LastHeartbeatTime"] > first, TIMEOUT_SECS + 2)
    # Only the principal that joined may heartbeat for a host, even one IAM allows everything.
    status, out = call(d, "SendNodeHostHeartbeat", {"NodeHostId": listed["127.0.0.3"]["NodeHostId"]})
    assert (status, out["__type"]) == (400, "AccessDeniedException"), out
    assert "is not the principal that joined" in out["message"]

    # kill -9: no more heartbeats, unreachable after the timeout.
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait(5)
    wait_for(lambda: hosts(d)["127.0.0.2"]["Status"] == "unreachable", TIMEOUT_SECS + 3)
    assert hosts(d)["127.0.0.3"]["Status"] == "active"
    assert any(listed["127.0.0.2"]["NodeHostId"] + " of us-east-1 is unreachable" in l for l in d.output)

    # SIGTERM: it leaves and exits 0.
    b.proc.send_signal(signal.SIGTERM)
    code, output = b.finish()
    assert code == 0, output
    left = hosts(d)["127.0.0.3"]
    assert left["Status"] == "left" and "LeaveTime" in left, left

    # An operator removes the lost host.
    status, out = call(d, "RemoveNodeHost", {"NodeHostId": listed["127.0.0.2"]["NodeHostId"]})
    assert status == 200, out
    assert "127.0.0.2" not in hosts(d)


def test_refused_joins(d):
    # A wrong secret: the signature does not match.
    code, output = start(d, (d.keys["host"][0], "wrong-secret"), "us-east-1a", "127.0.0.4", "27100-27109").finish()
    assert code != 0 and "InvalidSignatureException" in output, output
    # A principal without daxd:JoinNodeHost.
    code, output = start(d, d.keys["reader"], "us-east-1a", "127.0.0.4", "27100-27109").finish()
    assert code != 0 and "AccessDeniedException" in output and "daxd:JoinNodeHost" in output, output
    # A zone the policy's daxd:AvailabilityZone condition does not allow.
    code, output = start(d, d.keys["host"], "us-east-1c", "127.0.0.4", "27100-27109").finish()
    assert code != 0 and "AccessDeniedException" in output, output
    # Plain HTTP is refused before anything is sent.
    code, output = start(d, d.keys["host"], "us-east-1a", "127.0.0.4", "27100-27109", control=d.endpoint).finish()
    assert code != 0 and "TLS only" in output, output
    # A CA that did not sign the control's certificate.
    other = d.data_dir / "other-ca.pem"
    other.write_text(OTHER_CA)
    code, output = start(d, d.keys["host"], "us-east-1a", "127.0.0.4", "27100-27109", ca=str(other)).finish()
    assert code != 0 and "TLS with the control" in output, output
    assert "127.0.0.4" not in hosts(d)


def test_api_validation_and_authorization(d):
    status, out = call(d, "JoinNodeHost", {"AvailabilityZone": "us-east-1a", "AdvertiseHost": "h",
                                           "PortRangeStart": 0, "PortRangeEnd": 70000})
    assert (status, out["__type"]) == (400, "InvalidParameterValueException"), out
    assert out["message"].startswith("2 validation errors detected: "), out
    assert "Member must have value greater than or equal to 1" in out["message"]
    status, out = call(d, "JoinNodeHost", {"AvailabilityZone": "eu-west-1a", "AdvertiseHost": "h",
                                           "PortRangeStart": 1, "PortRangeEnd": 2})
    assert (status, out["__type"]) == (400, "InvalidParameterValueException"), out
    status, out = call(d, "DescribeNodeHosts", {"NodeHostIds": ["nh-00000000000000000"]})
    assert (status, out["__type"]) == (400, "NodeHostNotFoundFault"), out
    status, out = call(d, "DescribeNodeHosts", {}, key=d.keys["host"])
    assert (status, out["__type"]) == (400, "AccessDeniedException"), out
    status, out = call(d, "DescribeNodeHosts", {}, key=d.keys["reader"])
    assert status == 200, out


DAX_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "dax.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
ROLE_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]})


def user(iam, name, statements):
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    k = iam.create_access_key(UserName=name)["AccessKey"]
    return k["AccessKeyId"], k["SecretAccessKey"]


def test_clusters_run_on_hosts_and_serve_the_dax_client():
    """A cluster's nodes are placed on the hosts by the placement rule (with one host: all
    on it), on ports of its range; the host runs its nodes, which the Python DAX client reads and
    writes through (client checks and DynamoDB calls through the control; cache hits on
    the host alone); deleting the cluster stops them."""
    amazondax = pytest.importorskip("amazondax")
    from botocore.exceptions import ClientError

    p = Daxd(args=["--tls-listen", "127.0.0.1:0", "--node-host-timeout-secs", str(TIMEOUT_SECS),
                   "--provisioning-delay-ms", "0"]).start()
    started = []
    try:
        p.started = started
        iam = p.client("iam")
        host_key = user(iam, "host", json.loads(HOST_POLICY)["Statement"])
        role = iam.create_role(RoleName="DAXOnHosts", AssumeRolePolicyDocument=DAX_TRUST)["Role"]["Arn"]
        iam.put_role_policy(RoleName="DAXOnHosts", PolicyName="ddb", PolicyDocument=ROLE_POLICY)
        cluster_arn = "arn:aws:dax:us-east-1:123456789012:cache/onhost"
        app_key = user(iam, "app", [{"Effect": "Allow", "Action": "dax:*", "Resource": cluster_arn}])
        writer_key = user(iam, "writer", [{"Effect": "Allow", "Action": "dax:PutItem", "Resource": cluster_arn}])
        ddb = p.client("dynamodb")
        ddb.create_table(TableName="Tab", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
        dax = p.client("dax")

        one = start(p, host_key, "us-east-1a", "127.0.0.2", "27200-27209").wait_ready()
        c = dax.create_cluster(ClusterName="onhost", NodeType="dax.t3.small", ReplicationFactor=3,
                               IamRoleArn=role)["Cluster"]
        assert c["ClusterDiscoveryEndpoint"]["Port"] == 27200, c
        # The host runs the three nodes; its heartbeats report them serving: available.
        wait_for(lambda: dax.describe_clusters(ClusterNames=["onhost"])["Clusters"][0]["Status"] == "available",
                 TIMEOUT_SECS * 4)
        c = dax.describe_clusters(ClusterNames=["onhost"])["Clusters"][0]
        assert [(n["Endpoint"]["Address"], n["Endpoint"]["Port"]) for n in c["Nodes"]] == [
            ("127.0.0.2", 27200), ("127.0.0.2", 27201), ("127.0.0.2", 27202)], c
        assert c["ClusterDiscoveryEndpoint"]["URL"] == "dax://127.0.0.2:27200"
        assert any("is assigned onhost (onhost-a@27200, onhost-b@27201, onhost-c@27202)" in l for l in one.output)

        url = c["ClusterDiscoveryEndpoint"]["URL"]
        client = amazondax.AmazonDaxClient(endpoint_url=url, region_name="us-east-1",
                                           aws_access_key_id=app_key[0], aws_secret_access_key=app_key[1])
        try:
            client.put_item(TableName="Tab", Item={"pk": {"S": "a"}, "v": {"S": "one"}})
            client.put_item(TableName="Tab", Item={"pk": {"S": "b"}, "v": {"S": "two"}})
            assert client.get_item(TableName="Tab", Key={"pk": {"S": "a"}})["Item"]["v"] == {"S": "one"}
            q = client.query(TableName="Tab", KeyConditionExpression="pk = :p",
                             ExpressionAttributeValues={":p": {"S": "b"}})
            assert [i["v"] for i in q["Items"]] == [{"S": "two"}]
            # The writes reached DynamoDB on the control.
            assert ddb.get_item(TableName="Tab", Key={"pk": {"S": "b"}})["Item"]["v"] == {"S": "two"}
            # A cache hit: change the item behind DAX's back; the node still answers from its cache.
            ddb.put_item(TableName="Tab", Item={"pk": {"S": "a"}, "v": {"S": "changed"}})
            for _ in range(3):
                assert client.get_item(TableName="Tab", Key={"pk": {"S": "a"}})["Item"]["v"] == {"S": "one"}
        finally:
            client.close()
        # A wrong secret is refused; a user without dax:GetItem gets DAX's AccessDeniedException.
        with pytest.raises(Exception) as e:
            amazondax.AmazonDaxClient(endpoint_url=url, region_name="us-east-1",
                                      aws_access_key_id=app_key[0], aws_secret_access_key="wrong-secret")
        assert "UnrecognizedClientException" in str(e.value) and "signature" in str(e.value), e.value
        writer = amazondax.AmazonDaxClient(endpoint_url=url, region_name="us-east-1",
                                           aws_access_key_id=writer_key[0], aws_secret_access_key=writer_key[1])
        try:
            writer.put_item(TableName="Tab", Item={"pk": {"S": "w"}})
            with pytest.raises(ClientError) as e:
                writer.get_item(TableName="Tab", Key={"pk": {"S": "a"}})
            assert e.value.response["Error"]["Code"] == "AccessDeniedException"
            assert "dax:GetItem" in e.value.response["Error"]["Message"]
        finally:
            writer.close()

        # A second host in the same zone: the next cluster's first node goes to it (the less
        # loaded), its second to the first host (two nodes of a cluster never share a host
        # while another is free).
        two = start(p, host_key, "us-east-1a", "127.0.0.3", "27200-27209").wait_ready()
        dax.create_cluster(ClusterName="second", NodeType="dax.t3.small", ReplicationFactor=2, IamRoleArn=role)
        wait_for(lambda: any("is assigned second (second-a@27200)" in l for l in two.output), TIMEOUT_SECS + 3)
        wait_for(lambda: any("second (second-b@27203)" in l for l in one.output), TIMEOUT_SECS + 3)
        # A zone without a host has no capacity, named alone or with another.
        for zones in (["us-east-1b"], ["us-east-1a", "us-east-1b"]):
            with pytest.raises(dax.exceptions.InsufficientClusterCapacityFault):
                dax.create_cluster(ClusterName="elsewhere", NodeType="dax.t3.small", ReplicationFactor=len(zones),
                                   IamRoleArn=role, AvailabilityZones=zones)
        # Deleting a cluster stops its listeners on the host.
        dax.delete_cluster(ClusterName="onhost")
        wait_for(lambda: any("is assigned second (second-b@27203)" in l for l in one.output), TIMEOUT_SECS + 3)

        def refused():
            try:
                socket.create_connection(("127.0.0.2", 27200), timeout=1).close()
                return False
            except OSError:
                return True
        wait_for(refused, 5)
    finally:
        for h in started:
            h.stop()
        p.close()


# A CA certificate of another key (made with openssl; never a daxd's).
OTHER_CA = """-----BEGIN CERTIFICATE-----
MIIBizCCATGgAwIBAgIUctIUkPdXjnwrQxzlKDxKk0KgYbwwCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPbm90IHRoZSBkYXhkIENBMCAXDTI2MTIwNzIyMDIyNloYDzIx
MjYxMTEzMjIwMjI2WjAaMRgwFgYDVQQDDA9ub3QgdGhlIGRheGQgQ0EwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAAQ6LyZkfU/j8ZhIbIHeK7CzNXwlfjMLyXXMw9mo
P0DJb9kR41tFyaaguv/w+27Od+19s2yR1Hkb2Hg3wUpatf/Wo1MwUTAdBgNVHQ4E
FgQU9Ik+b3AQLn3CFNabl/nJZh8ojf0wHwYDVR0jBBgwFoAU9Ik+b3AQLn3CFNab
l/nJZh8ojf0wDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiEAztVA
3K6+kRg7Ew+fg+/jSE00nyiN9v/2RaXQftMEZ0QCIEc7P1kCv2UBm+zC2lpNiW7U
wdMh+MS9hCWTrolnk0xz
-----END CERTIFICATE-----
"""
