"""`available` means the nodes answer. The OFFICIAL Python DAX client
(`amazondax`) connects the moment DescribeClusters says a cluster or node is `available`
(no sleep, no retry) and reads, after CreateCluster, IncreaseReplicationFactor (through the
new node only), RebootNode and a restart of daxd: not one attempt may fail."""
import json
import time

import amazondax
import pytest

from daxd import Daxd

REGION = "us-east-1"
DAX_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "dax.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
KEY = {"id": {"S": "k"}}
ITEM = {**KEY, "v": {"S": "hello"}}


def setup(daxd):
    """The cluster role and the table the clusters read, with one item."""
    iam = daxd.client("iam")
    iam.create_role(RoleName="DAXReady", AssumeRolePolicyDocument=DAX_TRUST)
    iam.attach_role_policy(RoleName="DAXReady", PolicyArn="arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess")
    ddb = daxd.client("dynamodb")
    ddb.create_table(TableName="Ready", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName="Ready", Item=ITEM)
    daxd.role_arn = iam.get_role(RoleName="DAXReady")["Role"]["Arn"]
    return daxd


@pytest.fixture(scope="module")
def quick():
    daxd = setup(Daxd(args=["--provisioning-delay-ms", "0", "--dax-ports", "27200-27299"]).start())
    yield daxd
    daxd.close()


def describe(daxd, name):
    return daxd.client("dax").describe_clusters(ClusterNames=[name])["Clusters"][0]


def poll(daxd, name, ready, timeout=15.0):
    """DescribeClusters as fast as a client would, until `ready(cluster)`."""
    dax = daxd.client("dax")
    deadline = time.time() + timeout
    while time.time() < deadline:
        c = dax.describe_clusters(ClusterNames=[name])["Clusters"][0]
        if ready(c):
            return c
        time.sleep(0.01)
    raise AssertionError(f"{name} never ready: {c}")


def cluster_available(c):
    return c["Status"] == "available"


def all_available(c):
    return c["Status"] == "available" and all(n["NodeStatus"] == "available" for n in c.get("Nodes", []))


def read_at_once(daxd, url, pin_port=None):
    """Connect the official client to `url` and GetItem at once; with `pin_port`, the read
    goes to that node. Returns None, or the exception."""
    try:
        client = amazondax.AmazonDaxClient(endpoint_url=url, region_name=REGION, aws_access_key_id=daxd.root[0],
                                           aws_secret_access_key=daxd.root[1])
    except Exception as e:  # noqa: BLE001 - what fails is the point
        return e
    try:
        if pin_port is not None:
            router = client._cluster._router
            backend = next((b for ap, b in dict(router.backends).items() if ap.port == pin_port and b.client), None)
            if backend is None:
                return AssertionError(f"the client has no connection to the node on {pin_port}: {dict(router.backends)}")
            client._cluster.read_client = lambda prev_client=None: backend.client
        got = client.get_item(TableName="Ready", Key=KEY)
        return None if got.get("Item") == ITEM else AssertionError(f"read {got}")
    except Exception as e:  # noqa: BLE001
        return e
    finally:
        client.close()


def create(daxd, name, rf=1):
    daxd.client("dax").create_cluster(ClusterName=name, NodeType="dax.t3.small", ReplicationFactor=rf,
                                      IamRoleArn=daxd.role_arn)


def create_cycles(daxd, prefix, cycles):
    failures = []
    for i in range(cycles):
        name = f"{prefix}{i}"
        create(daxd, name)
        c = poll(daxd, name, cluster_available)
        err = read_at_once(daxd, c["ClusterDiscoveryEndpoint"]["URL"])
        if err is not None:
            failures.append((name, repr(err)))
        daxd.client("dax").delete_cluster(ClusterName=name)
    return failures


def test_new_clusters_answer_when_available(quick):
    assert create_cycles(quick, "new", 20) == []


def test_new_clusters_answer_when_available_with_a_delay():
    daxd = setup(Daxd(args=["--provisioning-delay-ms", "300", "--dax-ports", "26600-26619"]).start())
    try:
        assert create_cycles(daxd, "slow", 5) == []
    finally:
        daxd.close()


def test_added_nodes_answer_when_available(quick):
    dax = quick.client("dax")
    create(quick, "grow")
    poll(quick, "grow", cluster_available)
    failures = []
    for i in range(8):
        before = {n["NodeId"] for n in describe(quick, "grow")["Nodes"]}
        dax.increase_replication_factor(ClusterName="grow", NewReplicationFactor=2)
        c = poll(quick, "grow", cluster_available)
        new = next(n for n in c["Nodes"] if n["NodeId"] not in before)
        assert new["NodeStatus"] == "available"
        # The client knows only the new node: it asks it for the endpoints, and reads from it.
        err = read_at_once(quick, f"dax://127.0.0.1:{new['Endpoint']['Port']}", pin_port=new["Endpoint"]["Port"])
        if err is not None:
            failures.append((i, new["NodeId"], repr(err)))
        dax.decrease_replication_factor(ClusterName="grow", NewReplicationFactor=1, NodeIdsToRemove=[new["NodeId"]])
        poll(quick, "grow", all_available)
    assert failures == []


def test_rebooted_nodes_answer_when_available(quick):
    dax = quick.client("dax")
    create(quick, "boot", rf=2)
    c = poll(quick, "boot", all_available)
    failures = []
    for i in range(10):
        node = c["Nodes"][i % 2]
        dax.reboot_node(ClusterName="boot", NodeId=node["NodeId"])
        poll(quick, "boot", all_available)
        port = node["Endpoint"]["Port"]
        err = read_at_once(quick, f"dax://127.0.0.1:{port}", pin_port=port)
        if err is not None:
            failures.append((i, node["NodeId"], repr(err)))
    assert failures == []


def test_nodes_answer_when_available_after_a_restart():
    daxd = setup(Daxd(args=["--provisioning-delay-ms", "0", "--dax-ports", "26620-26639"]).start())
    try:
        create(daxd, "stay", rf=2)
        c = poll(daxd, "stay", all_available)
        failures = []
        for i in range(4):
            # A graceful stop, then a crash: the nodes come back on the same ports.
            daxd.stop() if i % 2 == 0 else daxd.kill9()
            daxd.start()
            poll(daxd, "stay", all_available)
            for node in c["Nodes"]:
                port = node["Endpoint"]["Port"]
                err = read_at_once(daxd, f"dax://127.0.0.1:{port}", pin_port=port)
                if err is not None:
                    failures.append((i, node["NodeId"], repr(err)))
        assert failures == []
    finally:
        daxd.close()
