"""What FIS's DAX faults do to a client, end to end: the official Python DAX client
(amazon-dax-client 2.1.0) and the official JavaScript one (@amazon-dax-sdk/client-dax
3.1.0, tests/dax-js/fis.test.mjs) against a 3-node daxd cluster while an experiment
pauses replication to a replica, adds latency, slows or fails the cluster's calls to
DynamoDB, throttles or fails requests (counted in the node metrics of /metrics), stalls a
replica, stops a node or fails the primary over (recorded by DescribeEvents)."""
import json
import os
import re
import shutil
import subprocess
import time
import urllib.request

import amazondax
import pytest
from amazondax.router.RouterUtils import random_route
from botocore.config import Config
from botocore.exceptions import ClientError

from daxd import ROOT, Daxd, refused, wait_for
from test_fis import allow, available_cluster, node_target, role, template, wait_state

REGION = "us-east-1"
# Ports from a range the other suites do not use.
ARGS = ["--dax-ports", "25200-25299"]
CLUSTER = "fx"
TABLE = "FisEffects"
JS = ROOT / "tests" / "dax-js"
NODE = shutil.which("node")


@pytest.fixture(scope="module")
def env():
    """One daxd with a 3-node cluster, its table, and an experiment role that may do every
    daxd action."""
    daxd = Daxd(args=ARGS).start()
    iam = daxd.client("iam")
    dax_role = role(iam, "DaxRole", "dax.amazonaws.com", allow("dynamodb:*"))
    daxd.client("dynamodb").create_table(
        TableName=TABLE, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    dax = daxd.client("dax")
    cluster = available_cluster(dax, CLUSTER, dax_role)
    daxd.cluster = cluster
    daxd.node_of = {n["Endpoint"]["Port"]: n["NodeId"] for n in cluster["Nodes"]}
    daxd.fis_role = role(iam, "FisFull", "fis.amazonaws.com", allow(["dax:RebootNode", "daxd:*"]))
    yield daxd
    daxd.close()


# ---------------------------------------------------------------------------------------


def dax_client(env, read_timeout=2, attempts=1):
    return amazondax.AmazonDaxClient(
        endpoint_url=env.cluster["ClusterDiscoveryEndpoint"]["URL"], region_name=REGION,
        aws_access_key_id=env.root[0], aws_secret_access_key=env.root[1],
        config=Config(connect_timeout=1, read_timeout=read_timeout, retries={"max_attempts": attempts}))


def routes(client):
    """The client's nodes: {port: whether it is the leader}, once it knows all three."""
    return wait_for(lambda: (lambda r: r if len(r) == 3 else None)(
        {ap.port: b.leader for ap, b in dict(client._cluster._router.backends).items()}), 10)


def leader_port(client):
    return wait_for(lambda: next((p for p, leader in routes(client).items() if leader), None), 10)


def bind(client, port):
    """Send the client's reads to the node listening on `port` (writes still go to the
    leader): the router's selector picks that node whenever it is among the routes."""
    def select(prev, candidates):
        return next((r for r in candidates if r.addrport.port == port), None) or random_route(prev, candidates)
    client._cluster._router.selector = select


def node_arn(env, node_id):
    return f"{env.cluster['ClusterArn']}/{node_id}"


def run(env, action, params=None, nodes=None, cluster=False):
    """Start an experiment of one action on `nodes` (node ids; every node by default) or on
    the cluster; returns its id once it runs (or has completed, for an instant action)."""
    fis = env.client("fis")
    if cluster:
        targets = {"t": {"resourceType": "daxd:dax:cluster", "selectionMode": "ALL",
                         "resourceArns": [env.cluster["ClusterArn"]]}}
        a = {"actionId": action, "targets": {"Clusters": "t"}}
    else:
        arns = [node_arn(env, n) for n in (nodes or env.node_of.values())]
        targets = {"t": node_target(arns=arns)}
        a = {"actionId": action, "parameters": params or {}, "targets": {"Nodes": "t"}}
    t = template(fis, env.fis_role, {"a": a}, targets=targets)
    eid = fis.start_experiment(experimentTemplateId=t["id"])["experiment"]["id"]
    state = wait_state(fis, eid, "running", "completed", "failed")
    assert state["state"]["status"] != "failed", state["state"]
    return eid


def finish(env, eid, timeout=15):
    return wait_state(env.client("fis"), eid, "completed", timeout=timeout)


def metrics(env):
    """The cluster's counters in /metrics: {CloudWatch name: value}."""
    text = urllib.request.urlopen(env.endpoint + "/metrics").read().decode()
    out = {}
    for name, labels, value in re.findall(r"^dax_cluster_(\w+)\{([^}]*)\} (\S+)$", text, re.M):
        if f'cluster="{CLUSTER}"' in labels:
            out[name] = float(value)
    return out


def put(client, key, v):
    client.put_item(TableName=TABLE, Item={"id": {"S": key}, "v": {"N": str(v)}})


def get(client, key):
    item = client.get_item(TableName=TABLE, Key={"id": {"S": key}}).get("Item")
    return int(item["v"]["N"]) if item else None


def timed(f):
    started = time.monotonic()
    value = f()
    return value, time.monotonic() - started


# ---------------------------------------------------------------------------------------


def test_pause_replication_gives_stale_reads_on_the_paused_replica_until_it_ends(env):
    client, other = dax_client(env), dax_client(env)
    try:
        leader = leader_port(client)
        paused, unpaused = sorted(p for p in routes(client) if p != leader)
        bind(client, paused)
        bind(other, unpaused)
        put(client, "pause", 1)
        wait_for(lambda: get(client, "pause") == 1 and get(other, "pause") == 1, 5)

        eid = run(env, "daxd:dax:pause-replication", {"duration": "PT4S"}, nodes=[env.node_of[paused]])
        put(client, "pause", 2)
        got = env.client("dynamodb").get_item(TableName=TABLE, Key={"id": {"S": "pause"}})["Item"]
        assert got["v"] == {"N": "2"}
        # The replica that still receives replication sees the write; the paused one serves
        # what it cached before.
        wait_for(lambda: get(other, "pause") == 2, 5)
        assert [get(client, "pause") for _ in range(5)] == [1] * 5

        finish(env, eid)
        # The pause has ended: the replica dropped what it may have missed, and reads the
        # write from DynamoDB.
        assert get(client, "pause") == 2
    finally:
        client.close()
        other.close()


def test_add_latency_delays_every_answer_while_it_runs(env):
    client = dax_client(env)
    try:
        put(client, "slow", 1)
        assert get(client, "slow") == 1
        eid = run(env, "daxd:dax:add-latency", {"duration": "PT3S", "latencyMilliseconds": "400"})
        during = [timed(lambda: get(client, "slow")) for _ in range(4)]
        assert all(v == 1 and s >= 0.4 for v, s in during), during
        finish(env, eid)
        after = sorted(timed(lambda: get(client, "slow"))[1] for _ in range(9))
        assert after[4] < 0.2, after
    finally:
        client.close()


def warm(env, key):
    """Cache `key` on every node: each read is bound to one node."""
    for port in env.node_of:
        client = dax_client(env)
        try:
            bind(client, port)
            routes(client)
            assert get(client, key) is not None
        finally:
            client.close()


def test_slow_backend_delays_misses_and_writes_but_not_hits(env):
    client = dax_client(env)
    try:
        put(client, "hit", 1)
        warm(env, "hit")
        eid = run(env, "daxd:dax:slow-backend", {"duration": "PT4S", "latencyMilliseconds": "500"})
        hits = [timed(lambda: get(client, "hit")) for _ in range(5)]
        assert all(v == 1 and s < 0.4 for v, s in hits), hits
        misses = [timed(lambda i=i: get(client, f"absent-{i}")) for i in range(2)]
        assert all(v is None and s >= 0.5 for v, s in misses), misses
        _, write = timed(lambda: put(client, "slow-write", 1))
        assert write >= 0.5, write
        finish(env, eid)
        _, miss = timed(lambda: get(client, "absent-after"))
        assert miss < 0.5, miss
    finally:
        client.close()


def test_fail_backend_fails_misses_and_writes_with_internal_server_error_but_not_hits(env):
    """DynamoDB failing behind DAX: the node answers InternalServerError (a 5xx, counted in
    FaultRequestCount), as DAX passes DynamoDB's error on."""
    client = dax_client(env)
    try:
        put(client, "kept", 1)
        warm(env, "kept")
        before = metrics(env)
        eid = run(env, "daxd:dax:fail-backend", {"duration": "PT3S", "percentage": "100"})
        assert [get(client, "kept") for _ in range(5)] == [1] * 5
        for call in (lambda: get(client, "never-cached"), lambda: put(client, "failed-write", 1)):
            with pytest.raises(ClientError) as e:
                call()
            assert e.value.response["Error"]["Code"] == "InternalServerError"
        after = metrics(env)
        assert after["FaultRequestCount"] - before["FaultRequestCount"] >= 2
        assert after["ThrottledRequestCount"] == before["ThrottledRequestCount"]
        finish(env, eid)
        put(client, "failed-write", 2)
        assert get(client, "failed-write") == 2
    finally:
        client.close()


@pytest.mark.parametrize("action,code", [("daxd:dax:throttle-requests", "ThrottlingException"),
                                         ("daxd:dax:fail-requests", "InternalServerError")])
def test_throttled_and_failed_requests_count_in_the_node_metrics(env, action, code):
    """As AWS counts them: a DAX throttle in ThrottledRequestCount and ErrorRequestCount (a
    user error, throttles included), a failure in FaultRequestCount."""
    client = dax_client(env)
    try:
        put(client, "counted", 1)
        assert get(client, "counted") == 1
        before = metrics(env)
        eid = run(env, action, {"duration": "PT3S", "percentage": "100"})
        failed = 0
        for _ in range(5):
            with pytest.raises(ClientError) as e:
                get(client, "counted")
            assert e.value.response["Error"]["Code"] == code
            failed += 1
        after = metrics(env)
        finish(env, eid)
        delta = {k: after[k] - before[k] for k in
                 ("ThrottledRequestCount", "ErrorRequestCount", "FaultRequestCount", "FailedRequestCount")}
        if code == "ThrottlingException":
            assert delta["ThrottledRequestCount"] >= failed, delta
            assert delta["ErrorRequestCount"] == delta["ThrottledRequestCount"], delta
            assert delta["FaultRequestCount"] == 0, delta
        else:
            assert delta["FaultRequestCount"] >= failed, delta
            assert delta["ThrottledRequestCount"] == delta["ErrorRequestCount"] == 0, delta
        assert delta["FailedRequestCount"] == delta["ErrorRequestCount"] + delta["FaultRequestCount"], delta
    finally:
        client.close()


def test_how_many_reads_fail_and_for_how_long_through_a_stalled_replica(env):
    """The measure docs/fault-injection.md reports: the official Python client (circuit
    breaker on, its default), a 0.5 s read timeout and one attempt per read, reading one
    item in a loop while one replica is stalled for three seconds."""
    client = dax_client(env, read_timeout=0.5)
    try:
        put(client, "stalled", 1)
        assert get(client, "stalled") == 1
        stalled = next(p for p, leader in routes(client).items() if not leader)
        eid = run(env, "daxd:dax:stall-node", {"duration": "PT3S"}, nodes=[env.node_of[stalled]])
        started = time.monotonic()
        reads, failures = 0, []
        while time.monotonic() - started < 3:
            at = time.monotonic()
            try:
                value = get(client, "stalled")
            except ClientError:
                raise
            except Exception as x:  # a read the stalled node never answers times out
                failures.append((round(at - started, 2), round(time.monotonic() - at, 2), type(x).__name__))
                continue
            assert value == 1
            reads += 1
        lost = sum(f[1] for f in failures)
        span = (failures[-1][0] + failures[-1][1] - failures[0][0]) if failures else 0
        print(f"stalled replica: {reads} reads answered, {len(failures)} failed {failures}, "
              f"{lost:.2f} s spent in failed reads, failures within {span:.2f} s of the 3 s stall")
        assert reads > 100, (reads, failures)
        assert all(f[2] == "TimeoutError" for f in failures), failures
        assert len(failures) <= 10, failures
        finish(env, eid)
        assert [get(client, "stalled") for _ in range(30)] == [1] * 30
    finally:
        client.close()


def test_stop_node_and_failover_are_recorded_by_describe_events(env):
    dax = env.client("dax")
    client = dax_client(env)
    try:
        old = leader_port(client)
        stopped = next(p for p in routes(client) if p != old)
        node = env.node_of[stopped]
        eid = run(env, "daxd:dax:stop-node", {"duration": "PT2S"}, nodes=[node])
        wait_for(lambda: refused(stopped), 5)
        done = finish(env, eid)
        wait_for(lambda: not refused(stopped), 5)

        eid = run(env, "daxd:dax:failover-primary", cluster=True)
        fo = finish(env, eid)
        new = wait_for(lambda: (lambda p: p if p != old else None)(leader_port(client)), 15)

        events = dax.describe_events(SourceName=CLUSTER, SourceType="CLUSTER")["Events"]
        by_message = {e["Message"]: e for e in events}
        recovering = by_message[f"Recovering cache nodes {node}"]
        recovered = by_message[f"Finished recovery for cache nodes {node}"]
        failover = by_message[f"Failover from primary node {env.node_of[old]} to replica node {env.node_of[new]} completed"]
        assert all(e["SourceName"] == CLUSTER and e["SourceType"] == "CLUSTER"
                   for e in (recovering, recovered, failover))
        # Dated by daxd's clock when the fault began and ended (to the tick, 200 ms).
        start, end = done["actions"]["a"]["startTime"].timestamp(), done["actions"]["a"]["endTime"].timestamp()
        assert abs(recovering["Date"].timestamp() - start) < 1, (recovering, done)
        assert abs(recovered["Date"].timestamp() - end) < 1, (recovered, done)
        assert recovered["Date"].timestamp() - recovering["Date"].timestamp() >= 1.9
        assert abs(failover["Date"].timestamp() - fo["actions"]["a"]["startTime"].timestamp()) < 1, (failover, fo)
        # Newest first; the filter leaves other sources out.
        assert events.index(failover) < events.index(recovered) < events.index(recovering)
        assert dax.describe_events(SourceName=CLUSTER, SourceType="PARAMETER_GROUP")["Events"] == []
    finally:
        client.close()


@pytest.mark.skipif(NODE is None or not (JS / "node_modules" / "@amazon-dax-sdk" / "client-dax").is_dir(),
                    reason="node or tests/dax-js/node_modules missing (scripts/test runs `npm ci` there)")
def test_the_js_client_reads_through_a_stalled_replica_and_writes_after_a_failover(env, tmp_path):
    """tests/dax-js/fis.test.mjs reads in a loop while a replica is stalled, then writes in a
    loop while the primary fails over; it asks for each experiment with a `<step>.ready`
    file, this test answers with `<step>.done` once the experiment has completed, and the
    script reports what it saw in `<step>.json`."""
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    child_env.update(
        DAX_URL=env.cluster["ClusterDiscoveryEndpoint"]["URL"], AWS_REGION=REGION,
        AWS_ACCESS_KEY_ID=env.root[0], AWS_SECRET_ACCESS_KEY=env.root[1], DAXD_ENDPOINT=env.endpoint,
        FIS_TABLE=TABLE, FIS_SYNC_DIR=str(tmp_path), AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    proc = subprocess.Popen([NODE, "--test", "--test-reporter=spec", "--test-concurrency=1", "fis.test.mjs"], cwd=JS,
                            env=child_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        def step(name, start):
            wait_for(lambda: (tmp_path / f"{name}.ready").exists() or proc.poll() is not None, 60)
            assert proc.poll() is None, proc.stdout.read()
            finish(env, start())
            (tmp_path / f"{name}.done").touch()

        def stall():
            client = dax_client(env)
            try:
                replica = next(p for p, leader in routes(client).items() if not leader)
            finally:
                client.close()
            return run(env, "daxd:dax:stall-node", {"duration": "PT3S"}, nodes=[env.node_of[replica]])

        step("stall", stall)
        step("failover", lambda: run(env, "daxd:dax:failover-primary", cluster=True))
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, f"node fis.test.mjs failed ({proc.returncode}):\n{out}"
    counts = {k: int(v) for k, v in re.findall(r"^ℹ (\w+) (\d+)$", out, re.M)}
    assert counts.get("pass") == counts.get("tests") == 2 and counts.get("fail") == 0, out
    stalled = json.loads((tmp_path / "stall.json").read_text())
    failover = json.loads((tmp_path / "failover.json").read_text())
    print(f"js client, stalled replica: {stalled['reads']} reads answered, {len(stalled['failures'])} failed "
          f"{stalled['failures']}, slowest read {stalled['maxMs']} ms")
    print(f"js client, failover: {failover['writes']} writes acknowledged, {len(failover['failures'])} failed "
          f"{failover['failures']}")
