"""A DAX cluster spread over three node hosts (docs/node-hosts.md): one node per host, in
three zones; writes through the primary replicate to the caches of the nodes on the other
hosts (proved as test_node_hosts.py proves a cache hit: the item changed behind DAX's back
still reads as written, from every node), with the Python and the JavaScript DAX clients; `kill -9` and `SIGSTOP` of the primary's host
under a steady workload of the Python DAX client (amazondax): a replica is promoted, the
lost node is replaced on another host, the client goes on. Prints the failed requests and
the time to recover (the figures of docs/node-hosts.md)."""
import os
import shutil
import signal
import subprocess
import threading
import time

import pytest
from botocore.config import Config

from daxd import ROOT, Daxd, wait_for
from test_node_hosts import DAX_TRUST, ROLE_POLICY, Host, user

TIMEOUT_SECS = 3
ZONES = {"127.0.0.2": "us-east-1a", "127.0.0.3": "us-east-1b", "127.0.0.4": "us-east-1c"}
HOST_STATEMENTS = [{
    "Effect": "Allow",
    "Action": ["daxd:JoinNodeHost", "daxd:SendNodeHostHeartbeat", "daxd:LeaveNodeHost",
               "daxd:AuthorizeDaxClient", "daxd:ForwardDynamoDbCall"],
    "Resource": "arn:aws:daxd:us-east-1:123456789012:node-host/*",
}]


JS = ROOT / "tests" / "dax-js"
NODE = shutil.which("node")
# The official JavaScript client (AWS SDK v3): MODE=put writes js0..js4 through DAX, MODE=get
# reads them ten times each and fails unless every read answers what DAX wrote.
JS_SCRIPT = """
import { Dax } from '@amazon-dax-sdk/client-dax';
const dax = new Dax({ endpoints: [process.env.DAX_URL], region: 'us-east-1',
  credentials: { accessKeyId: process.env.KEY_ID, secretAccessKey: process.env.SECRET } });
try {
  for (let round = 0; round < (process.env.MODE === 'put' ? 1 : 10); round++) {
    for (let k = 0; k < 5; k++) {
      const Key = { pk: { S: `js${k}` } };
      if (process.env.MODE === 'put') {
        await dax.putItem({ TableName: 'Tab', Item: { ...Key, v: { S: 'dax-js' } } });
      } else {
        const got = (await dax.getItem({ TableName: 'Tab', Key })).Item.v.S;
        if (got !== 'dax-js') { throw new Error(`js${k} read ${got}`); }
      }
    }
  }
} finally {
  dax.shutdown();
}
"""


def js(url, key, mode):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(DAX_URL=url, KEY_ID=key[0], SECRET=key[1], MODE=mode, AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    proc = subprocess.run([NODE, "--input-type=module", "-e", JS_SCRIPT], cwd=JS, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


class Workload:
    """A put then a get of one key, over and over, through one amazondax client; counts
    the requests that failed and when."""

    def __init__(self, client):
        self.client = client
        self.ok = 0
        self.failed = []
        self.last_ok = 0.0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        i = 0
        while not self.stop.is_set():
            i += 1
            try:
                self.client.put_item(TableName="Tab", Item={"pk": {"S": "w"}, "n": {"N": str(i)}})
                got = self.client.get_item(TableName="Tab", Key={"pk": {"S": "w"}})["Item"]["n"]
                assert got == {"N": str(i)}, got
                self.ok += 1
                self.last_ok = time.time()
            except Exception as e:  # noqa: BLE001 - every failure counts
                self.failed.append((time.time(), type(e).__name__))
                time.sleep(0.05)
            time.sleep(0.01)

    def finish(self):
        self.stop.set()
        self.thread.join(30)


def cluster(dax):
    return dax.describe_clusters(ClusterNames=["spread"])["Clusters"][0]


def dax_lines(dax):
    return [e["Message"] for e in dax.describe_events(SourceName="spread", SourceType="CLUSTER",
                                                       Duration=60)["Events"]]


def primary_address(dax):
    return cluster(dax)["ClusterDiscoveryEndpoint"]["Address"]


def recover(dax, w, host, how):
    """Lose `host` (the primary's) by `how` during the workload: the time until the
    client's requests succeed again, the failed requests, the new primary."""
    failed_before, lost_at = len(w.failed), time.time()
    if how == "kill":
        host.proc.send_signal(signal.SIGKILL)
        host.proc.wait(5)
    else:
        host.proc.send_signal(signal.SIGSTOP)
    old = host.address
    # A replica on another host is promoted, and a node replaces the lost one.
    try:
        wait_for(lambda: primary_address(dax) not in (None, old), TIMEOUT_SECS * 6)
    except AssertionError:
        raise AssertionError(f"no new primary: {cluster(dax)}\n" + "\n".join(dax_lines(dax))) from None

    def replaced():
        c = cluster(dax)
        nodes = c["Nodes"]
        return (len(nodes) == 3 and all(n["NodeStatus"] == "available" for n in nodes)
                and all(n["Endpoint"]["Address"] != old for n in nodes)) and c
    try:
        c = wait_for(replaced, TIMEOUT_SECS * 6)
    except AssertionError:
        raise AssertionError(f"not replaced: {cluster(dax)}\n" + "\n".join(dax_lines(dax))) from None
    # The client goes on: successes after the loss.
    ok_before = w.ok
    wait_for(lambda: w.ok > ok_before + 5, 30)
    recovered = max((t for t, _ in w.failed[failed_before:]), default=lost_at) - lost_at
    failures = len(w.failed) - failed_before
    print(f"{how}: {failures} failed requests, recovered {recovered:.1f} s after the loss, "
          f"new primary {c['ClusterDiscoveryEndpoint']['Address']}, nodes "
          f"{[(n['NodeId'], n['Endpoint']['Address']) for n in c['Nodes']]}")
    return c, failures, recovered


def test_a_cluster_spread_over_three_hosts_replicates_and_fails_over():
    amazondax = pytest.importorskip("amazondax")
    p = Daxd(args=["--tls-listen", "127.0.0.1:0", "--node-host-timeout-secs", str(TIMEOUT_SECS),
                   "--provisioning-delay-ms", "0"]).start()
    hosts = {}
    stopped = []
    try:
        iam = p.client("iam")
        host_key = user(iam, "host", HOST_STATEMENTS)
        role = iam.create_role(RoleName="DAXOnHosts", AssumeRolePolicyDocument=DAX_TRUST)["Role"]["Arn"]
        iam.put_role_policy(RoleName="DAXOnHosts", PolicyName="ddb", PolicyDocument=ROLE_POLICY)
        cluster_arn = "arn:aws:dax:us-east-1:123456789012:cache/spread"
        app_key = user(iam, "app", [{"Effect": "Allow", "Action": "dax:*", "Resource": cluster_arn}])
        ddb = p.client("dynamodb")
        ddb.create_table(TableName="Tab", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
        for address, zone in ZONES.items():
            h = Host(p, host_key, zone, address, "27300-27309")
            h.address = address
            hosts[address] = h
        for h in hosts.values():
            h.wait_ready()
            assert "certificate for nh-" in "\n".join(h.output)
        dax = p.client("dax")
        dax.create_cluster(ClusterName="spread", NodeType="dax.t3.small", ReplicationFactor=3, IamRoleArn=role)
        wait_for(lambda: cluster(dax)["Status"] == "available", TIMEOUT_SECS * 5)
        c = cluster(dax)
        # One node per host, in its zone; the primary (the discovery endpoint) on the first zone's.
        assert sorted((n["Endpoint"]["Address"], n["AvailabilityZone"]) for n in c["Nodes"]) == sorted(ZONES.items())
        assert c["ClusterDiscoveryEndpoint"]["Address"] == "127.0.0.2"

        url = c["ClusterDiscoveryEndpoint"]["URL"]
        client = amazondax.AmazonDaxClient(endpoint_url=url, region_name="us-east-1",
                                           aws_access_key_id=app_key[0], aws_secret_access_key=app_key[1])
        try:
            # Replicated, not re-read: written through DAX, changed behind its back, every
            # node (the client spreads reads over the three) answers what DAX wrote.
            for k in range(5):
                client.put_item(TableName="Tab", Item={"pk": {"S": f"r{k}"}, "v": {"S": "dax"}})
            time.sleep(0.5)
            for k in range(5):
                ddb.put_item(TableName="Tab", Item={"pk": {"S": f"r{k}"}, "v": {"S": "changed"}})
            for _ in range(10):
                for k in range(5):
                    got = client.get_item(TableName="Tab", Key={"pk": {"S": f"r{k}"}})["Item"]["v"]
                    assert got == {"S": "dax"}, got
        finally:
            client.close()
        # The same with the official JavaScript client, when it is installed.
        if NODE and (JS / "node_modules" / "@amazon-dax-sdk" / "client-dax").is_dir():
            js(url, app_key, "put")
            time.sleep(0.5)
            for k in range(5):
                ddb.put_item(TableName="Tab", Item={"pk": {"S": f"js{k}"}, "v": {"S": "changed"}})
            js(url, app_key, "get")

        # Short socket timeouts: a stopped host does not reset connections, it stops answering.
        client = amazondax.AmazonDaxClient(endpoint_url=url, region_name="us-east-1",
                                           aws_access_key_id=app_key[0], aws_secret_access_key=app_key[1],
                                           config=Config(connect_timeout=1, read_timeout=2))
        w = Workload(client)
        try:
            wait_for(lambda: w.ok > 20, 30)
            # kill -9 of the primary's host.
            c, killed_failures, killed_recovery = recover(dax, w, hosts[primary_address(dax)], "kill")
            events = dax_lines(dax)
            assert any(m.startswith("Failover to replica node") for m in events), events
            assert any(m.startswith("Replacing failed node spread-a with node") for m in events), events
            # SIGSTOP of the new primary's host: the same, and it is resumed afterwards.
            stopped_host = hosts[primary_address(dax)]
            stopped.append(stopped_host)
            c, stopped_failures, stopped_recovery = recover(dax, w, stopped_host, "stop")
            # The new primary takes writes through a fresh client too.
            fresh = amazondax.AmazonDaxClient(endpoint_url=c["ClusterDiscoveryEndpoint"]["URL"],
                                              region_name="us-east-1", aws_access_key_id=app_key[0],
                                              aws_secret_access_key=app_key[1])
            try:
                fresh.put_item(TableName="Tab", Item={"pk": {"S": "after"}, "v": {"S": "ok"}})
                assert fresh.get_item(TableName="Tab", Key={"pk": {"S": "after"}})["Item"]["v"] == {"S": "ok"}
            finally:
                fresh.close()
        finally:
            w.finish()
            client.close()
        print(f"workload: {w.ok} put+get pairs succeeded, {len(w.failed)} failed "
              f"(kill -9: {killed_failures} failed, {killed_recovery:.1f} s; "
              f"SIGSTOP: {stopped_failures} failed, {stopped_recovery:.1f} s)")
        # The stopped host resumes: it is active again and is told its replaced node is gone.
        stopped_host.proc.send_signal(signal.SIGCONT)
        stopped.remove(stopped_host)
        sid = next(l for l in stopped_host.output if "ready: joined" in l).split(" as ")[1].split()[0]
        wait_for(lambda: any(f"{sid} is assigned none" in l for l in stopped_host.output), TIMEOUT_SECS * 4)
    finally:
        for h in stopped:
            h.proc.send_signal(signal.SIGCONT)
        for h in hosts.values():
            h.stop()
        p.close()
