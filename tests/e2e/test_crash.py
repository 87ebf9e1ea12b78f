"""Crash safety. daxd is killed with SIGKILL at a random moment of a mixed
workload — IAM changes, DAX clusters created and deleted, service-linked role deletion
tasks, DynamoDB writes through the API and through DAX — then restarted on the same data
dir, CRASH_CYCLES times (8 by default; the full run uses 50, see docs/reliability.md).
After every restart:

- every acknowledged operation is there (users and their policies, items written through
  the API and through DAX, clusters created and not deleted);
- no network interface is left without its DAX node, no cluster without
  AWSServiceRoleForDAX, and no deletion task stays unfinished;
- every available cluster serves DAX again.
"""
import json
import os
import random
import socket
import threading
import time

import amazondax
from botocore.config import Config

from daxd import Daxd
from faults import ENDPOINTS, PREAMBLE, authorize_frame, is_success

CYCLES = int(os.environ.get("CRASH_CYCLES", "8"))
SEED = int(os.environ.get("CRASH_SEED", str(random.randrange(1 << 30))))
REGION = "us-east-1"
TABLE = "Crashes"
SLR = "AWSServiceRoleForDAX"
ARGS = ["--provisioning-delay-ms", "100", "--dax-ports", "26200-26299"]
DAX_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "dax.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})


class Acks:
    """What daxd acknowledged, per kind; appended to by the workload threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.users = []          # created (with an inline policy when the second call returned)
        self.policies = []
        self.api_items = []
        self.dax_items = []
        self.created = set()     # clusters whose CreateCluster returned
        self.deleted = set()     # clusters whose DeleteCluster returned
        self.deleting = set()    # clusters a DeleteCluster was sent for (it may apply unacknowledged)
        self.tasks = []          # SLR deletion task ids

    def add(self, kind, value):
        with self.lock:
            target = getattr(self, kind)
            if isinstance(target, set):
                target.add(value)
            else:
                target.append(value)


def until(predicate, timeout, interval=0.1, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - the condition may raise until it holds
            last = e
        time.sleep(interval)
    raise AssertionError(f"{what} not met within {timeout} s (last error: {last!r})")


def clusters(dax):
    out = []
    for page in dax.get_paginator("describe_clusters").paginate():
        out.extend(page["Clusters"])
    return out


def node_serves(port, root):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(PREAMBLE + authorize_frame(*root) + ENDPOINTS)
        return is_success(s.recv(65536))
    finally:
        s.close()


def check_invariants(d, acks, cycle):
    iam, ddb, dax, ec2 = d.client("iam"), d.client("dynamodb"), d.client("dax"), d.client("ec2")
    where = f"after crash {cycle} (seed {SEED})"

    # Every acknowledged IAM change.
    users = {u["UserName"] for p in iam.get_paginator("list_users").paginate() for u in p["Users"]}
    missing = set(acks.users) - users
    assert not missing, f"{where}: acknowledged users lost: {sorted(missing)[:5]}"
    for name in acks.policies:
        assert "inline" in iam.list_user_policies(UserName=name)["PolicyNames"], f"{where}: policy of {name} lost"

    # Every acknowledged write, through the API and through DAX.
    held = set()
    for page in ddb.get_paginator("scan").paginate(TableName=TABLE, ConsistentRead=True):
        held.update(i["id"]["S"] for i in page["Items"])
    for kind in ("api_items", "dax_items"):
        missing = set(getattr(acks, kind)) - held
        assert not missing, f"{where}: acknowledged {kind} lost: {sorted(missing)[:5]}"

    # Clusters: created ones exist unless a deletion was sent; deleted ones are gone or going.
    def settled():
        cs = clusters(dax)
        return (cs,) if all(c["Status"] in ("available", "deleting") for c in cs) else None
    # Lifecycles resume after the restart: nothing stays `creating` (or `modifying`).
    cs, = until(settled, 15, what=f"{where}: clusters settled")
    names = {c["ClusterName"]: c for c in cs}
    lost = acks.created - acks.deleting - set(names)
    assert not lost, f"{where}: acknowledged clusters lost: {sorted(lost)}"
    for name in acks.deleted & set(names):
        assert names[name]["Status"] == "deleting", f"{where}: deleted cluster {name} is {names[name]['Status']}"

    # No cluster without the service-linked role.
    if cs:
        iam.get_role(RoleName=SLR)

    # No network interface without its node.
    nodes = {(c["ClusterName"], n["NodeId"]) for c in cs for n in c.get("Nodes", [])}
    for eni in ec2.describe_network_interfaces()["NetworkInterfaces"]:
        desc = eni.get("Description", "")
        if desc.startswith("DAX cluster "):
            _, _, cluster, _, node = desc.split(" ")
            assert (cluster, node) in nodes or (cluster in names and names[cluster]["Status"] == "deleting"), \
                f"{where}: network interface {eni['NetworkInterfaceId']} ({desc}) has no node"

    # No deletion task left unfinished.
    for task in acks.tasks:
        until(lambda: iam.get_service_linked_role_deletion_status(DeletionTaskId=task)["Status"] in ("SUCCEEDED", "FAILED"),
              10, what=f"{where}: deletion task {task} finished")

    # Every available cluster serves again.
    for c in cs:
        if c["Status"] == "available":
            for n in c["Nodes"]:
                until(lambda: node_serves(n["Endpoint"]["Port"], d.root), 10, what=f"{where}: {n['NodeId']} serves")
    return cs


def workload(d, acks, cycle, stop, serving, killing):
    """The workload's threads. A call that fails before `killing` is set is an
    error of daxd's (the workload only makes calls that succeed), recorded in
    the returned list; after it, calls in flight die with daxd."""
    rnd = random.Random(SEED * 1000 + cycle)
    errors = []
    serving_url = serving["ClusterDiscoveryEndpoint"]["URL"]

    def loop(fn):
        def run():
            i = 0
            while not stop.is_set():
                try:
                    fn(i)
                except Exception as e:  # noqa: BLE001 - the kill interrupts calls in flight
                    if killing.is_set():
                        return
                    errors.append(f"{fn.__name__}: {e!r}")
                    time.sleep(0.05)
                i += 1
        return threading.Thread(target=run, daemon=True)

    iam, ddb, dax = d.client("iam"), d.client("dynamodb"), d.client("dax")

    def iam_change(i):
        name = f"u{cycle}-{i}"
        iam.create_user(UserName=name)
        acks.add("users", name)
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=POLICY)
        acks.add("policies", name)

    def api_write(i):
        key = f"api-{cycle}-{i}"
        ddb.put_item(TableName=TABLE, Item={"id": {"S": key}, "n": {"N": str(i)}})
        acks.add("api_items", key)

    dax_client = []

    def dax_write(i):
        if not serving_url:
            stop.wait(0.1)
            return
        if not dax_client:
            dax_client.append(amazondax.AmazonDaxClient(
                endpoint_url=serving_url, region_name=REGION, aws_access_key_id=d.root[0], aws_secret_access_key=d.root[1],
                config=Config(connect_timeout=5, read_timeout=5, retries={"max_attempts": 1})))
        key = f"dax-{cycle}-{i}"
        dax_client[0].put_item(TableName=TABLE, Item={"id": {"S": key}, "n": {"N": str(i)}})
        acks.add("dax_items", key)

    def churn(i):
        # Create a cluster; then delete one, sometimes every one (so that the role's
        # deletion can succeed and race the next creation).
        if rnd.random() < 0.6:
            name = f"churn-{cycle}-{i}"
            dax.create_cluster(ClusterName=name, NodeType="dax.t3.small", ReplicationFactor=rnd.choice([1, 2]),
                               IamRoleArn=d.role_arn)
            acks.add("created", name)
        else:
            # Never the cluster the DAX writes go through.
            live = [c["ClusterName"] for c in clusters(dax) if c["Status"] != "deleting" and c["ClusterName"] != serving["ClusterName"]]
            victims = live if rnd.random() < 0.3 else live[:1]
            for name in victims:
                acks.add("deleting", name)
                dax.delete_cluster(ClusterName=name)
                acks.add("deleted", name)
        stop.wait(rnd.uniform(0.05, 0.3))

    def slr_delete(i):
        try:
            task = iam.delete_service_linked_role(RoleName=SLR)["DeletionTaskId"]
            acks.add("tasks", task)
        except iam.exceptions.NoSuchEntityException:
            pass
        stop.wait(rnd.uniform(0.1, 0.4))

    threads = [loop(f) for f in (iam_change, api_write, dax_write, churn, slr_delete)]
    for t in threads:
        t.start()
    return threads, dax_client, errors


def test_kill9_during_mixed_workload():
    d = Daxd(args=ARGS)
    d.start()
    acks = Acks()
    done = 0
    try:
        iam, ddb = d.client("iam"), d.client("dynamodb")
        iam.create_role(RoleName="DAXCrash", AssumeRolePolicyDocument=DAX_TRUST)
        iam.attach_role_policy(RoleName="DAXCrash", PolicyArn="arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess")
        d.role_arn = iam.get_role(RoleName="DAXCrash")["Role"]["Arn"]
        ddb.create_table(TableName=TABLE, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
        rnd = random.Random(SEED)
        for cycle in range(CYCLES):
            cs = check_invariants(d, acks, cycle)
            # A cluster to write through: an available one, else a new one.
            serving = next((c for c in cs if c["Status"] == "available"), None)
            if serving is None or rnd.random() < 0.2:
                name = f"serve-{cycle}"
                d.client("dax").create_cluster(ClusterName=name, NodeType="dax.t3.small", ReplicationFactor=1,
                                               IamRoleArn=d.role_arn)
                acks.add("created", name)
                serving = until(lambda: next((c for c in clusters(d.client("dax"))
                                              if c["ClusterName"] == name and c["Status"] == "available"), None),
                                15, what=f"cluster {name} available")
                port = serving["Nodes"][0]["Endpoint"]["Port"]
                until(lambda: node_serves(port, d.root), 10, what=f"cluster {name} serves")
            stop, killing = threading.Event(), threading.Event()
            threads, dax_client, errors = workload(d, acks, cycle, stop, serving, killing)
            time.sleep(rnd.uniform(0.3, 1.5))
            killing.set()
            d.kill9()
            stop.set()
            for t in threads:
                t.join(30)
            for c in dax_client:
                try:
                    c.close()
                except Exception:  # noqa: BLE001 - its connections died with daxd
                    pass
            assert not errors, f"cycle {cycle} (seed {SEED}): calls failed before the kill: {errors[:5]}"
            d.start()
            done += 1
        check_invariants(d, acks, CYCLES)
        print(f"\n{done} kill -9 cycles (seed {SEED}): {len(acks.users)} users, {len(acks.policies)} policies, "
              f"{len(acks.api_items)} API writes, {len(acks.dax_items)} DAX writes, {len(acks.created)} clusters created, "
              f"{len(acks.deleted)} deleted, {len(acks.tasks)} role deletion tasks acknowledged; all present after restart")
        assert acks.users and acks.api_items and acks.dax_items and acks.created and acks.tasks
    finally:
        d.close()
