"""Node hosts in operation (docs/node-hosts.md): a cluster on a host keeps serving cache hits
while the control daxd restarts (SIGTERM and kill -9), and the host is known again after;
the hosted nodes' metrics reach CloudWatch's AWS/DAX and /metrics through the control; the
official JavaScript DAX clients run their suite against a cluster on a host."""
import json
import socket
import threading
import time
import urllib.request

import pytest

from daxd import Daxd, wait_for
from test_cloudwatch import wait_next_minute
from test_node_hosts import DAX_TRUST, HOST_POLICY, ROLE_POLICY, call, start, user

TIMEOUT_SECS = 3
REGION = "us-east-1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def control(tls_port=None):
    """A control daxd with HTTPS on `tls_port` (fixed, so that it can restart on it)."""
    d = Daxd(args=["--tls-listen", f"127.0.0.1:{tls_port or free_port()}",
                   "--node-host-timeout-secs", str(TIMEOUT_SECS), "--provisioning-delay-ms", "0"]).start()
    d.started = []
    return d


def host_status(d, host_id):
    status, out = call(d, "DescribeNodeHosts", {"NodeHostIds": [host_id]})
    assert status == 200, out
    return out["NodeHosts"][0]["Status"]


def cluster_on_a_host(d, name, address, ports, rf=1, table="Tab"):
    """IAM for a host and the cluster's role, a table, a host, and a cluster on it, available:
    (host, cluster description, role ARN)."""
    iam = d.client("iam")
    host_key = user(iam, "host", json.loads(HOST_POLICY)["Statement"])
    iam.create_role(RoleName="DAXOnHosts", AssumeRolePolicyDocument=DAX_TRUST)
    iam.put_role_policy(RoleName="DAXOnHosts", PolicyName="ddb", PolicyDocument=ROLE_POLICY)
    role = iam.get_role(RoleName="DAXOnHosts")["Role"]["Arn"]
    if table:
        d.client("dynamodb").create_table(
            TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    h = start(d, host_key, "us-east-1a", address, ports).wait_ready()
    dax = d.client("dax")
    dax.create_cluster(ClusterName=name, NodeType="dax.t3.small", ReplicationFactor=rf, IamRoleArn=role)

    def available():
        c = dax.describe_clusters(ClusterNames=[name])["Clusters"][0]
        return c if c["Status"] == "available" and all(n["NodeStatus"] == "available" for n in c["Nodes"]) else None
    c = wait_for(available, TIMEOUT_SECS * 4)
    assert all(n["Endpoint"]["Address"] == address for n in c["Nodes"]), c
    h.id = next(l for l in h.output if l.startswith("daxd node-host ready:")).split(" as ", 1)[1].split()[0]
    h.key = host_key
    return h, c, role


def close(d):
    for h in d.started:
        h.stop()
    d.close()


def test_cache_hits_survive_control_restarts():
    """A steady loop of GetItem cache hits through the Python DAX client loses no request
    while the control is stopped (SIGTERM), then killed (kill -9), and restarted on the same
    data dir and port each time; the host is active again after, and writes work."""
    amazondax = pytest.importorskip("amazondax")
    d = control()
    try:
        h, c, _ = cluster_on_a_host(d, "steady", "127.0.0.2", "27300-27309", rf=2)
        cluster_arn = c["ClusterArn"]
        iam = d.client("iam")
        app_key = user(iam, "app", [{"Effect": "Allow", "Action": "dax:*", "Resource": cluster_arn}])
        client = amazondax.AmazonDaxClient(endpoint_url=c["ClusterDiscoveryEndpoint"]["URL"], region_name=REGION,
                                           aws_access_key_id=app_key[0], aws_secret_access_key=app_key[1])
        keys = [f"k{i}" for i in range(10)]
        try:
            for k in keys:
                client.put_item(TableName="Tab", Item={"pk": {"S": k}, "v": {"S": "dax-" + k}})
            # Warm every node's cache: each key read often enough for both nodes to serve it.
            for _ in range(20):
                for k in keys:
                    assert client.get_item(TableName="Tab", Key={"pk": {"S": k}})["Item"]["v"] == {"S": "dax-" + k}
            stop, done, failures = threading.Event(), [0], []

            def loop():
                i = 0
                while not stop.is_set():
                    k = keys[i % len(keys)]
                    i += 1
                    try:
                        item = client.get_item(TableName="Tab", Key={"pk": {"S": k}})["Item"]
                        if item["v"] != {"S": "dax-" + k}:
                            failures.append(f"{k}: {item}")
                        done[0] += 1
                    except Exception as e:  # noqa: BLE001 -- every failure is counted
                        failures.append(f"{k}: {e!r}")
                    time.sleep(0.005)

            t = threading.Thread(target=loop, daemon=True)
            t.start()
            try:
                time.sleep(1)
                for how in ("SIGTERM", "kill -9"):
                    before = done[0]
                    d.stop() if how == "SIGTERM" else d.kill9()
                    # Down for longer than an allowed action is trusted (2 s) and the host's timeout.
                    time.sleep(TIMEOUT_SECS + 1)
                    down = done[0] - before
                    assert down > 50, f"{how}: only {down} hits while the control was down"
                    d.start()
                    wait_for(lambda: host_status(d, h.id) == "active", TIMEOUT_SECS * 2, 0.2)
                    time.sleep(1)
            finally:
                stop.set()
                t.join(10)
            assert not failures, (len(failures), done[0], failures[:3], failures[-3:])
            assert done[0] > 300, done[0]
            assert any("heartbeat of " + h.id + " failed, retrying in 250 ms" in l for l in h.output), h.output
            assert h.proc.poll() is None, h.output
            # Writes and misses reach DynamoDB through the control again.
            client.put_item(TableName="Tab", Item={"pk": {"S": "after"}, "v": {"S": "restarted"}})
            ddb = d.client("dynamodb")
            assert ddb.get_item(TableName="Tab", Key={"pk": {"S": "after"}})["Item"]["v"] == {"S": "restarted"}
            ddb.put_item(TableName="Tab", Item={"pk": {"S": "miss"}, "v": {"S": "from-dynamodb"}})
            assert client.get_item(TableName="Tab", Key={"pk": {"S": "miss"}})["Item"]["v"] == {"S": "from-dynamodb"}
        finally:
            client.close()
    finally:
        close(d)


def test_misses_fail_retryably_while_the_control_is_down():
    """With the control down a miss cannot be served: the client gets DAX's retryable
    InternalServerError (after its own retries), and the same call works once it is back."""
    amazondax = pytest.importorskip("amazondax")
    from botocore.exceptions import ClientError

    d = control()
    try:
        _, c, _ = cluster_on_a_host(d, "misses", "127.0.0.3", "27320-27329")
        client = amazondax.AmazonDaxClient(endpoint_url=c["ClusterDiscoveryEndpoint"]["URL"], region_name=REGION,
                                           aws_access_key_id=d.root[0], aws_secret_access_key=d.root[1])
        try:
            client.get_item(TableName="Tab", Key={"pk": {"S": "warm"}})
            d.stop()
            with pytest.raises(ClientError) as e:
                client.get_item(TableName="Tab", Key={"pk": {"S": "cold"}})
            assert e.value.response["Error"]["Code"] == "InternalServerError", e.value.response
            assert "control" in e.value.response["Error"]["Message"]
            d.start()
            # Once it is back (the client may take its health checks to route to the node again).
            errors, deadline = [], time.time() + 30
            while (out := _try(client, "cold", errors)) is None and time.time() < deadline:
                time.sleep(0.2)
            assert out is not None and "Item" not in out, errors[-3:]
        finally:
            client.close()
    finally:
        close(d)


def _try(client, key, errors):
    try:
        return client.get_item(TableName="Tab", Key={"pk": {"S": key}})
    except Exception as e:  # noqa: BLE001 -- not back yet
        errors.append(repr(e))
        return None


def test_hosted_node_metrics_reach_cloudwatch_and_metrics():
    """GetItem hits on a hosted node show in CloudWatch (GetMetricStatistics) per node and
    per cluster, with the same names and dimensions as nodes inside the control, and in
    the control's /metrics."""
    amazondax = pytest.importorskip("amazondax")
    d = control()
    try:
        h, c, _ = cluster_on_a_host(d, "measured", "127.0.0.4", "27340-27349")
        node = c["Nodes"][0]["NodeId"]
        # Reports are validated against the model: DAX's metric names only, bounded, not negative.
        for bad, why in (({"Counters": {"Bogus": 1}}, "Member must satisfy enum value set"),
                         ({"Counters": {"ItemCacheHits": -1}}, "Member must have value greater than or equal to 0"),
                         ({"MinuteFigures": {"CPUUtilization": "x"}}, "")):
            status, out = call(d, "SendNodeHostHeartbeat", {"NodeHostId": h.id, "Metrics": [
                {"ClusterArn": c["ClusterArn"], "NodeId": node, **bad}]}, key=h.key)
            assert status == 400 and out["__type"] in ("InvalidParameterValueException", "SerializationException"), out
            assert why in out.get("message", ""), out
        client = amazondax.AmazonDaxClient(endpoint_url=c["ClusterDiscoveryEndpoint"]["URL"], region_name=REGION,
                                           aws_access_key_id=d.root[0], aws_secret_access_key=d.root[1])
        # The workload within one minute, with a heartbeat after it before the minute ends.
        if time.time() % 60 > 40:
            wait_next_minute(1)
        start_minute = int(time.time() // 60 * 60) - 60
        gets = 40
        try:
            client.put_item(TableName="Tab", Item={"pk": {"S": "m"}, "v": {"S": "x"}})
            for _ in range(gets):
                client.get_item(TableName="Tab", Key={"pk": {"S": "m"}})
        finally:
            client.close()
        # The control's /metrics, from the host's next heartbeat.
        line = f'dax_node_ItemCacheHits{{region="us-east-1",cluster="measured",node="{node}"}} '

        def hits():
            text = urllib.request.urlopen(d.endpoint + "/metrics").read().decode()
            return line in text and int(text.split(line, 1)[1].split("\n", 1)[0])
        assert wait_for(lambda: hits() == gets, TIMEOUT_SECS * 2, 0.2)
        text = urllib.request.urlopen(d.endpoint + "/metrics").read().decode()
        assert f'dax_cluster_GetItemRequestCount{{region="us-east-1",cluster="measured"}} {gets}' in text, text
        wait_next_minute()
        cw = d.client("cloudwatch")

        def total(metric, node=None):
            dims = [{"Name": "ClusterId", "Value": "measured"}] + ([{"Name": "NodeId", "Value": node}] if node else [])
            points = cw.get_metric_statistics(Namespace="AWS/DAX", MetricName=metric, Dimensions=dims,
                                              StartTime=start_minute, EndTime=start_minute + 240, Period=60,
                                              Statistics=["Sum"])["Datapoints"]
            return sum(p["Sum"] for p in points)

        wait_for(lambda: total("GetItemRequestCount", node) == gets, 10, 0.5)
        assert total("ItemCacheHits", node) == gets
        assert total("ItemCacheHits") == gets
        assert total("GetItemRequestCount") == gets
        assert total("NetworkBytesIn", node) > 0
        listed = cw.list_metrics(Namespace="AWS/DAX", MetricName="ItemCacheHits")["Metrics"]
        assert {"Name": "NodeId", "Value": node} in [x for m in listed for x in m["Dimensions"]], listed
    finally:
        close(d)


def test_js_clients_on_a_host():
    """Both official JavaScript DAX clients run their whole suite (put, get and its cache
    hits, query, scan, batches, transactions, errors) against a cluster on a node host."""
    js = pytest.importorskip("test_dax_js")
    if js.NODE is None or not (js.JS / "node_modules" / "@amazon-dax-sdk" / "client-dax").is_dir():
        pytest.skip("node or tests/dax-js/node_modules missing")
    import re

    d = control()
    try:
        ddb = d.client("dynamodb")
        for _, prefix in js.CLIENTS.values():
            js.create_tables(ddb, prefix)
        _, c, _ = cluster_on_a_host(d, "jsonhost", "127.0.0.5", "27360-27369", table=None)
        iam = d.client("iam")
        iam.create_user(UserName="nogetitem")
        k = iam.create_access_key(UserName="nogetitem")["AccessKey"]
        iam.put_user_policy(UserName="nogetitem", PolicyName="p", PolicyDocument=js.doc(
            {"Effect": "Allow", "Action": ["dax:PutItem", "dax:Query", "dax:Scan"], "Resource": c["ClusterArn"]}))
        d.url = c["ClusterDiscoveryEndpoint"]["URL"]
        assert d.url.startswith("dax://127.0.0.5:"), d.url
        d.reader = (k["AccessKeyId"], k["SecretAccessKey"])
        for client in sorted(js.CLIENTS):
            script, prefix = js.CLIENTS[client]
            proc = js.run_node(d, script, prefix)
            out = proc.stdout + proc.stderr
            assert proc.returncode == 0, f"node {script} failed ({proc.returncode}):\n{out}"
            counts = {k: int(v) for k, v in re.findall(r"^ℹ (\w+) (\d+)$", proc.stdout, re.M)}
            assert counts.get("fail") == 0 and counts.get("pass") == counts.get("tests") >= 14, out
    finally:
        close(d)


def test_fis_faults_reach_nodes_on_a_host():
    """A FIS experiment's daxd:dax:stop-node on a node of a host: the host stops it within a
    heartbeat or two, and it listens again once the experiment is stopped."""
    from test_fis import allow, node_target, role, template, wait_state

    d = control()
    try:
        _, c, _ = cluster_on_a_host(d, "faulty", "127.0.0.6", "27400-27409", rf=2)
        node = c["Nodes"][1]
        port = node["Endpoint"]["Port"]
        fis_role = role(d.client("iam"), "FisFull", "fis.amazonaws.com", allow(["dax:RebootNode", "daxd:*"]))
        fis = d.client("fis")

        def refused():
            try:
                socket.create_connection(("127.0.0.6", port), timeout=0.5).close()
                return False
            except OSError:
                return True
        assert not refused()
        t = template(fis, fis_role, {
            "stop": {"actionId": "daxd:dax:stop-node", "parameters": {"duration": "PT10M"}, "targets": {"Nodes": "n"}},
        }, targets={"n": node_target(arns=[f"{c['ClusterArn']}/{node['NodeId']}"])})
        e = fis.start_experiment(experimentTemplateId=t["id"])["experiment"]
        wait_state(fis, e["id"], "running")
        wait_for(refused, TIMEOUT_SECS * 2, 0.1)
        fis.stop_experiment(id=e["id"])
        wait_state(fis, e["id"], "stopped", timeout=5)
        wait_for(lambda: not refused(), TIMEOUT_SECS * 2, 0.1)
    finally:
        close(d)
