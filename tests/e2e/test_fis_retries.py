"""What a partial throttle does to the official DAX clients, and FIS time on a scaled clock.

A 3-node cluster throttles a share of the requests (`daxd:dax:throttle-requests`); the
official Python client (amazon-dax-client 2.1.0) and the official JavaScript one
(@amazon-dax-sdk/client-dax 3.1.0, tests/dax-js/fis-retries.test.mjs) read through it. The
nodes count every attempt (`GetItemRequestCount`) and every throttle
(`ThrottledRequestCount`) in /metrics, so the attempts per request are measured: a request
fails with `ThrottlingException` exactly when all of its attempts were throttled, and with
p = 0.5 and N retries about p^(N+1) of the requests fail.

daxd runs with `--fis-time-scale 0.05`: PT1M lasts 3 s, and `aws:fis:wait` with a later
action runs in seconds (test_a_wait_of_a_minute_then_a_fault_of_two_on_the_scaled_clock)."""
import json
import math
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.request

import amazondax
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from daxd import BIN, ROOT, Daxd, refused
from test_fis import allow, available_cluster, node_target, role, template, wait_state

REGION = "us-east-1"
SCALE = 0.05
# Ports from a range the other suites do not use.
ARGS = ["--dax-ports", "25400-25449", "--fis-time-scale", str(SCALE)]
CLUSTER = "retries"
TABLE = "FisRetries"
KEY = "k"
JS = ROOT / "tests" / "dax-js"
NODE = shutil.which("node")
# What the clients' sources set (docs/fault-injection.md cites where): retries of a
# ThrottlingException by default.
PY_DEFAULT_RETRIES = 2
JS_DEFAULT_RETRIES = 1
# How far from its mean a count may fall, in standard deviations (in the normal
# approximation, each check fails by chance about once in 1.7 million runs).
Z = 5


@pytest.fixture(scope="module")
def env():
    daxd = Daxd(args=ARGS).start()
    iam = daxd.client("iam")
    dax_role = role(iam, "DaxRole", "dax.amazonaws.com", allow("dynamodb:*"))
    ddb = daxd.client("dynamodb")
    ddb.create_table(
        TableName=TABLE, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName=TABLE, Item={"id": {"S": KEY}, "v": {"N": "1"}})
    dax = daxd.client("dax")
    cluster = available_cluster(dax, CLUSTER, dax_role)
    daxd.cluster = cluster
    daxd.fis_role = role(iam, "FisFull", "fis.amazonaws.com", allow(["dax:RebootNode", "daxd:*"]))
    yield daxd
    daxd.close()


def metrics(env):
    """The cluster's counters in /metrics: {CloudWatch name: value}."""
    text = urllib.request.urlopen(env.endpoint + "/metrics").read().decode()
    out = {}
    for name, labels, value in re.findall(r"^dax_cluster_(\w+)\{([^}]*)\} (\S+)$", text, re.M):
        if f'cluster="{CLUSTER}"' in labels:
            out[name] = int(float(value))
    return out


def throttle(env, percent):
    """Start throttling `percent` % of the requests of every node (for an hour of
    experiment time, until `end`); returns the experiment's id once it runs."""
    fis = env.client("fis")
    arns = [f"{env.cluster['ClusterArn']}/{n['NodeId']}" for n in env.cluster["Nodes"]]
    t = template(fis, env.fis_role, {"t": {"actionId": "daxd:dax:throttle-requests", "targets": {"Nodes": "n"},
                                           "parameters": {"duration": "PT1H", "percentage": str(percent)}}},
                 targets={"n": node_target(arns=arns)})
    eid = fis.start_experiment(experimentTemplateId=t["id"])["experiment"]["id"]
    state = wait_state(fis, eid, "running", "failed")
    assert state["state"]["status"] == "running", state["state"]
    return eid


def end(env, eid):
    fis = env.client("fis")
    fis.stop_experiment(id=eid)
    wait_state(fis, eid, "stopped")


def counted(env, run):
    """Run `run()` (which returns (requests, {error code: count})) and what the nodes
    counted meanwhile: (requests, failures by code, attempts, throttled attempts)."""
    before = metrics(env)
    requests, failures = run()
    after = metrics(env)
    attempts = after["GetItemRequestCount"] - before["GetItemRequestCount"]
    throttled = after["ThrottledRequestCount"] - before["ThrottledRequestCount"]
    return requests, failures, attempts, throttled


def near(observed, n, p):
    """Whether `observed` is a plausible count of successes in `n` draws of probability `p`."""
    mean, sd = n * p, math.sqrt(n * p * (1 - p))
    return abs(observed - mean) <= Z * sd + 1


def check(requests, failures, attempts, throttled, retries, p):
    """What N = `retries` retries of every throttle imply, with a share `p` throttled."""
    failed = failures.get("ThrottlingException", 0)
    assert set(failures) <= {"ThrottlingException"}, failures
    # A throttled attempt is retried unless it was the request's last: then the request
    # fails. So every attempt beyond the first of a request follows a throttle.
    assert attempts - requests == throttled - failed, (requests, failed, attempts, throttled)
    assert attempts <= requests * (retries + 1), (requests, attempts)
    if p == 1:
        assert failed == requests and throttled == attempts == requests * (retries + 1), \
            (requests, failed, attempts, throttled)
        return
    assert near(throttled, attempts, p), (attempts, throttled)
    assert near(failed, requests, p ** (retries + 1)), (requests, failed, p ** (retries + 1))


# ---------------------------------------------------------------------------------------


def py_client(env, retries):
    """The official Python client; `retries` None leaves its default."""
    config = dict(connect_timeout=1, read_timeout=5)
    if retries is not None:
        config["retries"] = {"max_attempts": retries}
    return amazondax.AmazonDaxClient(
        endpoint_url=env.cluster["ClusterDiscoveryEndpoint"]["URL"], region_name=REGION,
        aws_access_key_id=env.root[0], aws_secret_access_key=env.root[1], config=Config(**config))


def py_reads(clients, requests):
    """A run of `requests` GetItem calls over `clients` at once, each in a thread."""
    def run():
        failures, lock, left = {}, threading.Lock(), [requests]

        def worker(c):
            while True:
                with lock:
                    if left[0] == 0:
                        return
                    left[0] -= 1
                try:
                    assert c.get_item(TableName=TABLE, Key={"id": {"S": KEY}})["Item"]
                except ClientError as e:
                    code = e.response["Error"]["Code"]
                    with lock:
                        failures[code] = failures.get(code, 0) + 1

        threads = [threading.Thread(target=worker, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads)
        return requests, failures

    return run


@pytest.mark.parametrize("retries", [None, 0], ids=["default", "no-retries"])
def test_the_python_client_retries_throttles_as_its_source_says(env, retries):
    n = PY_DEFAULT_RETRIES if retries is None else retries
    clients = [py_client(env, retries) for _ in range(8)]
    try:
        for c in clients:  # every client knows the cluster before the count starts
            assert c.get_item(TableName=TABLE, Key={"id": {"S": KEY}})["Item"]
        eid = throttle(env, 100)
        try:
            all_throttled = counted(env, py_reads(clients[:1], 5))
        finally:
            end(env, eid)
        eid = throttle(env, 50)
        started = time.monotonic()
        try:
            half = counted(env, py_reads(clients, 400))
        finally:
            end(env, eid)
        took = time.monotonic() - started
    finally:
        for c in clients:
            c.close()
    print(f"python client, {n} retries: at 100 % {all_throttled}, at 50 % (requests, failures, attempts, "
          f"throttled) = {half} in {took:.1f} s")
    check(*all_throttled, n, 1)
    check(*half, n, 0.5)


@pytest.mark.skipif(NODE is None or not (JS / "node_modules" / "@amazon-dax-sdk" / "client-dax").is_dir(),
                    reason="node or tests/dax-js/node_modules missing (scripts/test runs `npm ci` there)")
@pytest.mark.parametrize("retries", [None, 0], ids=["default", "no-retries"])
def test_the_js_client_retries_throttles_as_its_source_says(env, retries, tmp_path):
    n = JS_DEFAULT_RETRIES if retries is None else retries
    took = []  # how long each run of the script's reads took, ms

    def js_reads(requests, parallel):
        out = tmp_path / f"{requests}.json"
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        child_env.update(
            DAX_URL=env.cluster["ClusterDiscoveryEndpoint"]["URL"], AWS_REGION=REGION,
            AWS_ACCESS_KEY_ID=env.root[0], AWS_SECRET_ACCESS_KEY=env.root[1], FIS_TABLE=TABLE, RETRY_KEY=KEY,
            RETRY_REQUESTS=str(requests), RETRY_PARALLEL=str(parallel), RETRY_MAX="" if retries is None else str(retries),
            RETRY_OUT=str(out), AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")

        def run():
            proc = subprocess.run([NODE, "--test", "--test-reporter=spec", "fis-retries.test.mjs"], cwd=JS,
                                  env=child_env, capture_output=True, text=True, timeout=60)
            assert proc.returncode == 0, f"node fis-retries.test.mjs failed:\n{proc.stdout}\n{proc.stderr}"
            seen = json.loads(out.read_text())
            assert seen["requests"] == requests, seen
            took.append(seen["ms"])
            return requests, seen["failures"]

        return run

    eid = throttle(env, 100)
    try:
        all_throttled = counted(env, js_reads(5, 1))
    finally:
        end(env, eid)
    eid = throttle(env, 50)
    try:
        half = counted(env, js_reads(400, 8))
    finally:
        end(env, eid)
    print(f"js client, {n} retries: at 100 % {all_throttled}, at 50 % (requests, failures, attempts, "
          f"throttled) = {half} in {took[-1] / 1000:.1f} s")
    check(*all_throttled, n, 1)
    check(*half, n, 0.5)


# ---------------------------------------------------------------------------------------


def test_a_wait_of_a_minute_then_a_fault_of_two_on_the_scaled_clock(env):
    """`aws:fis:wait` PT1M, then `daxd:dax:stop-node` PT2M on one replica: 3 s and 6 s at
    the scale of 0.05. The node listens through the wait, refuses connections while the
    stop runs, and listens again after; the timestamps are daxd's true clock."""
    fis = env.client("fis")
    node = env.cluster["Nodes"][2]
    port = node["Endpoint"]["Port"]
    arn = f"{env.cluster['ClusterArn']}/{node['NodeId']}"
    t = template(fis, env.fis_role, {
        "wait": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1M"}},
        "stop": {"actionId": "daxd:dax:stop-node", "parameters": {"duration": "PT2M"}, "targets": {"Nodes": "n"},
                 "startAfter": ["wait"]}}, targets={"n": node_target(arns=[arn])})
    before = time.time()
    eid = fis.start_experiment(experimentTemplateId=t["id"])["experiment"]["id"]
    seen = []  # (experiment status, wait, stop, whether the node refused connections)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        e = fis.get_experiment(id=eid)["experiment"]
        seen.append((e["state"]["status"], e["actions"]["wait"]["state"]["status"],
                     e["actions"]["stop"]["state"]["status"], refused(port)))
        if e["state"]["status"] in ("completed", "failed", "stopped"):
            break
        time.sleep(0.1)
    states = []
    for s in seen:  # the distinct states, in order
        if not states or states[-1] != s:
            states.append(s)
    assert states[-1] == ("completed", "completed", "completed", False), states
    running = [s for s in states if s[0] == "running"]
    # The wait ran first, with the node up; the stop only after it, with the node down.
    assert running[0] == ("running", "running", "pending", False), states
    assert ("running", "completed", "running", True) in running, states
    assert all(not (s[1] == "running" and s[3]) for s in states), states
    assert all(s[1] == "completed" for s in states if s[2] == "running"), states

    e = fis.get_experiment(id=eid)["experiment"]
    wait, stop = e["actions"]["wait"], e["actions"]["stop"]
    ts = lambda d: d.timestamp()  # noqa: E731
    waited = ts(wait["endTime"]) - ts(wait["startTime"])
    stopped = ts(stop["endTime"]) - ts(stop["startTime"])
    print(f"scaled clock: wait PT1M lasted {waited:.2f} s, stop-node PT2M {stopped:.2f} s")
    # One tick (200 ms) of slack each way.
    assert 60 * SCALE - 0.05 <= waited <= 60 * SCALE + 0.5, waited
    assert 120 * SCALE - 0.05 <= stopped <= 120 * SCALE + 0.5, stopped
    assert ts(stop["startTime"]) >= ts(wait["endTime"])
    # Timestamps are daxd's clock, which the scale leaves alone.
    assert before - 2 <= ts(e["creationTime"]) <= before + 2, (before, e["creationTime"])
    assert abs(ts(e["endTime"]) - time.time()) < 3, e["endTime"]
    assert not refused(port)


@pytest.mark.parametrize("how", ["flag", "variable"])
def test_a_time_scale_out_of_range_is_refused_at_start(tmp_path, how):
    args, env = [BIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path)], dict(os.environ)
    if how == "flag":
        args += ["--fis-time-scale", "0"]
    else:
        env["DAXD_FIS_TIME_SCALE"] = "2"
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=30)
    assert proc.returncode == 2, proc
    assert "--fis-time-scale" in proc.stderr and "expected a number from 0.001 to 1" in proc.stderr, proc.stderr
