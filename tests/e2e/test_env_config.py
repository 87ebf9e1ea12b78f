"""daxd configured from the environment: every `daxd serve` flag has a `DAXD_` variable
(how container images and CI services are configured), flags win over variables, a bad
value gets one line naming the flag, its variable and what is allowed, `--help` lists the
variables and `--version` names the git commit. The real binary, started here with a
controlled environment (the shared harness always passes flags)."""
import json
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager

import amazondax
import boto3
import pytest
from botocore.config import Config

from daxd import BIN, ROOT, refused, wait_for

KEY = ("ENVKEYID", "ENVSECRET")
REGION = "us-east-1"
PORTS = "27700-27719"
DAX_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "dax.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**daxd_vars):
    """The test's environment without any DAXD_ or AWS_ variable, plus `daxd_vars`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAXD_", "AWS_"))}
    env.update(daxd_vars)
    return env


@contextmanager
def daxd(env, args=(), timeout=30):
    """`daxd serve` with `args` and exactly `env`; yields (endpoint, output lines)."""
    proc = subprocess.Popen([BIN, "serve", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)
    lines, ready = [], threading.Event()

    def drain():
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("daxd ready:"):
                ready.set()
        ready.set()

    threading.Thread(target=drain, daemon=True).start()
    try:
        if not ready.wait(timeout) or proc.poll() is not None:
            raise RuntimeError("daxd did not become ready:\n" + "\n".join(lines))
        endpoint = next(l for l in lines if l.startswith("daxd ready:")).split(" on ", 1)[1].split()[0]
        yield endpoint, lines
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(15)


def client(endpoint, service):
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id=KEY[0],
                        aws_secret_access_key=KEY[1], config=Config(retries={"max_attempts": 1}))


def post_reset(endpoint):
    req = urllib.request.Request(endpoint + "/moto-api/reset", method="POST", data=b"")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def refused_at(host, port):
    try:
        socket.create_connection((host, port), timeout=1).close()
        return False
    except OSError:
        return True


def run(args, env):
    return subprocess.run([BIN, *args], capture_output=True, text=True, env=env, timeout=30)


def test_a_daxd_configured_only_by_environment_serves_dax():
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="daxd-env-") as data:
        env = clean_env(
            DAXD_LISTEN=f"127.0.0.1:{port}",
            DAXD_DATA_DIR=data,
            DAXD_DAX_PORTS=PORTS,
            DAXD_DAX_ADVERTISE_HOST="127.0.0.2",
            DAXD_PROVISIONING_DELAY_MS="0",
            DAXD_ROOT_ACCESS_KEY_ID=KEY[0],
            DAXD_ROOT_SECRET_ACCESS_KEY=KEY[1],
            DAXD_ENABLE_RESET="true",
            DAXD_ACCOUNT_ID="210987654321",
            DAXD_MAX_CONNECTIONS="64",
        )
        with daxd(env) as (endpoint, lines):
            assert endpoint == f"http://127.0.0.1:{port}"
            assert f"data dir {data}" in lines[-1] and "account 210987654321" in lines[-1]
            # The root key from the environment signs; nothing was generated.
            assert not any("generated root credentials" in l for l in lines)
            assert os.listdir(data) and "root-credentials.json" not in os.listdir(data)
            ident = client(endpoint, "sts").get_caller_identity()
            assert ident["Arn"] == "arn:aws:iam::210987654321:root"
            iam = client(endpoint, "iam")
            iam.create_role(RoleName="dax", AssumeRolePolicyDocument=DAX_TRUST)
            iam.attach_role_policy(RoleName="dax", PolicyArn="arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess")
            role_arn = iam.get_role(RoleName="dax")["Role"]["Arn"]
            ddb = client(endpoint, "dynamodb")
            ddb.create_table(TableName="envt", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                             AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                             BillingMode="PAY_PER_REQUEST")
            ddb.put_item(TableName="envt", Item={"k": {"S": "a"}, "v": {"N": "1"}})
            dax = client(endpoint, "dax")
            # DAXD_PROVISIONING_DELAY_MS=0: available on the next tick, not after the default 2 s steps.
            dax.create_cluster(ClusterName="env", NodeType="dax.t3.small", ReplicationFactor=1, IamRoleArn=role_arn)

            def available():
                c = dax.describe_clusters(ClusterNames=["env"])["Clusters"][0]
                nodes = c.get("Nodes", [])
                return c if c["Status"] == "available" and nodes and all(
                    n["NodeStatus"] == "available" for n in nodes) else None
            c = wait_for(available, 1.5)
            assert c["ClusterDiscoveryEndpoint"]["Address"] == "127.0.0.2"
            node_port = c["Nodes"][0]["Endpoint"]["Port"]
            assert 27700 <= node_port <= 27719
            wait_for(lambda: not refused_at("127.0.0.2", node_port), 5)
            url = f"dax://127.0.0.2:{c['ClusterDiscoveryEndpoint']['Port']}"
            dc = amazondax.AmazonDaxClient(endpoint_url=url, region_name=REGION, aws_access_key_id=KEY[0],
                                           aws_secret_access_key=KEY[1])
            try:
                assert dc.get_item(TableName="envt", Key={"k": {"S": "a"}})["Item"]["v"] == {"N": "1"}
            finally:
                dc.close()
            # DAXD_ENABLE_RESET=true.
            assert post_reset(endpoint) == 200


def test_nodes_listen_on_the_bind_host_and_advertise_the_advertise_host():
    """DAXD_DAX_BIND_HOST (a container's 0.0.0.0; here another loopback address, as tests
    bind loopback only) is where the nodes listen; the endpoints still name the advertise host."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="daxd-bind-") as data:
        env = clean_env(
            DAXD_LISTEN=f"127.0.0.1:{port}",
            DAXD_DATA_DIR=data,
            DAXD_DAX_PORTS="27720-27739",
            DAXD_DAX_ADVERTISE_HOST="127.0.0.2",
            DAXD_DAX_BIND_HOST="127.0.0.3",
            DAXD_PROVISIONING_DELAY_MS="0",
            DAXD_ROOT_ACCESS_KEY_ID=KEY[0],
            DAXD_ROOT_SECRET_ACCESS_KEY=KEY[1],
        )
        with daxd(env) as (endpoint, _lines):
            iam = client(endpoint, "iam")
            iam.create_role(RoleName="dax", AssumeRolePolicyDocument=DAX_TRUST)
            role_arn = iam.get_role(RoleName="dax")["Role"]["Arn"]
            dax = client(endpoint, "dax")
            dax.create_cluster(ClusterName="bind", NodeType="dax.t3.small", ReplicationFactor=1, IamRoleArn=role_arn)

            def available():
                c = dax.describe_clusters(ClusterNames=["bind"])["Clusters"][0]
                nodes = c.get("Nodes", [])
                return c if c["Status"] == "available" and nodes and all(
                    n["NodeStatus"] == "available" for n in nodes) else None
            c = wait_for(available, 1.5)
            node = c["Nodes"][0]["Endpoint"]
            assert c["ClusterDiscoveryEndpoint"]["Address"] == "127.0.0.2" and node["Address"] == "127.0.0.2"
            wait_for(lambda: not refused_at("127.0.0.3", node["Port"]), 5)
            assert refused_at("127.0.0.2", node["Port"])


def test_flags_win_over_variables():
    env_port, flag_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as env_data, tempfile.TemporaryDirectory() as flag_data:
        env = clean_env(
            DAXD_LISTEN=f"127.0.0.1:{env_port}",
            DAXD_DATA_DIR=env_data,
            DAXD_DAX_PORTS=PORTS,
            DAXD_PROVISIONING_DELAY_MS="600000",
            DAXD_ROOT_ACCESS_KEY_ID="NOTTHISONE",
            DAXD_ROOT_SECRET_ACCESS_KEY="NOTTHISSECRET",
            DAXD_ENABLE_RESET="false",
        )
        args = ["--listen", f"127.0.0.1:{flag_port}", f"--data-dir={flag_data}", "--provisioning-delay-ms", "0",
                "--root-access-key-id", KEY[0], "--root-secret-access-key", KEY[1], "--enable-reset"]
        with daxd(env, args) as (endpoint, lines):
            assert endpoint == f"http://127.0.0.1:{flag_port}"
            assert refused(env_port)
            assert f"data dir {flag_data}" in lines[-1]
            assert os.listdir(flag_data) and not os.listdir(env_data)
            assert client(endpoint, "sts").get_caller_identity()["Arn"].endswith(":root")
            assert post_reset(endpoint) == 200
        # Without the flag, DAXD_ENABLE_RESET=false keeps reset off.
        with daxd(env, ["--listen", "127.0.0.1:0", "--data-dir", flag_data]) as (endpoint, _):
            assert post_reset(endpoint) == 403


@pytest.mark.parametrize("var,flag,value,allowed", [
    ("DAXD_PROVISIONING_DELAY_MS", "--provisioning-delay-ms", "soon", "expected a whole number from 0 to"),
    ("DAXD_LISTEN", "--listen", "localhost", "expected IP:PORT"),
    ("DAXD_DAX_PORTS", "--dax-ports", "9000-8000", "expected FIRST-LAST"),
    ("DAXD_MAX_CONNECTIONS", "--max-connections", "-1", "expected a whole number from 0 to"),
    ("DAXD_ENABLE_RESET", "--enable-reset", "maybe", "expected true or false"),
    ("DAXD_TLS_LISTEN", "--tls-listen", "8443", "expected IP:PORT"),
    ("DAXD_HTTP_CONNECTION_THREADS", "--http-connection-threads", "many", "expected a whole number from 0 to"),
])
def test_a_bad_variable_gets_one_line_naming_flag_variable_and_what_is_allowed(var, flag, value, allowed):
    with tempfile.TemporaryDirectory() as data:
        r = run(["serve", "--data-dir", data], clean_env(**{var: value}))
        assert r.returncode == 2, r
        assert r.stdout == ""
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1, r.stderr
        line = lines[0]
        assert line.startswith("daxd: invalid value"), line
        assert f"'{value}'" in line and var in line and flag in line and allowed in line, line
        assert "panick" not in r.stderr
        assert not os.listdir(data)


def test_a_bad_flag_value_names_its_variable_too():
    r = run(["serve", "--dax-ports", "1-2-3"], clean_env())
    assert r.returncode == 2
    assert r.stderr.strip() == ("daxd: invalid value '1-2-3' for --dax-ports (or DAXD_DAX_PORTS): expected FIRST-LAST, "
                                "two ports from 1 to 65535 with FIRST <= LAST, e.g. 8111-8999")
    # The flag's bad value is reported even when the variable holds a good one.
    r = run(["serve", "--provisioning-delay-ms=x"], clean_env(DAXD_PROVISIONING_DELAY_MS="5"))
    assert r.returncode == 2
    assert r.stderr.strip().startswith("daxd: invalid value 'x' for --provisioning-delay-ms (or "
                                       "DAXD_PROVISIONING_DELAY_MS): expected a whole number")


def test_help_lists_every_variable():
    r = run(["serve", "--help"], clean_env(DAXD_LISTEN="0.0.0.0:9000", DAXD_ROOT_SECRET_ACCESS_KEY="hidden"))
    assert r.returncode == 0, r
    flags = re.findall(r"^\s+(?:-\w, )?--([a-z0-9-]+)", r.stdout, re.M)
    flags = [f for f in flags if f != "help"]
    assert len(flags) > 20 and "listen" in flags and "dax-ports" in flags
    for flag in flags:
        assert f"[env: DAXD_{flag.upper().replace('-', '_')}" in r.stdout, flag
    assert "[env: DAXD_LISTEN=0.0.0.0:9000]" in r.stdout
    assert "hidden" not in r.stdout
    # The AWS variables the remote DynamoDB credentials fall back to are named too.
    assert "AWS_ACCESS_KEY_ID" in r.stdout and "AWS_SESSION_TOKEN" in r.stdout


def test_version_names_the_commit():
    r = run(["--version"], clean_env())
    assert r.returncode == 0, r
    m = re.fullmatch(r"daxd (\d+\.\d+\.\d+) \(commit ([0-9a-f]{7,40}|unknown)\)\n", r.stdout)
    assert m, r.stdout
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    if head.returncode == 0:
        assert head.stdout.startswith(m.group(2)), (m.group(2), head.stdout)
