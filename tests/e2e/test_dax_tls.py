"""A `ClusterEndpointEncryptionType=TLS` cluster served over TLS (rustls)
with a certificate signed by the CA daxd makes in its data dir, used by the OFFICIAL
Python DAX client (amazon-dax-client 2.1.0) through the `daxs://` URL exactly as
DescribeClusters returns it, trusting that CA the way the README shows (SSL_CERT_FILE:
the client builds its TLS context with `ssl.create_default_context()`)."""
import json
import os
import socket
import ssl
import stat
import time
from contextlib import contextmanager

import amazondax
import pytest
from amazondax.DaxError import DaxClientError, DaxValidationError
from botocore.config import Config
from botocore.exceptions import ClientError

from daxd import Daxd, refused, wait_for

REGION = "us-east-1"
ARGS = ["--dax-ports", "24500-24599"]
DAX_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "dax.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
KEY = {"pk": {"S": "p"}, "sk": {"N": "1"}}
ITEM = {**KEY, "v": {"S": "over tls"}, "n": {"N": "42"}, "b": {"B": b"\x00\xff"}}



def tls_dir(daxd):
    return daxd.data_dir / "tls"


@contextmanager
def dax_client(url, key, **kw):
    c = amazondax.AmazonDaxClient(endpoint_url=url, region_name=REGION, aws_access_key_id=key[0],
                                  aws_secret_access_key=key[1], **kw)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture(scope="module")
def env():
    daxd = Daxd(args=ARGS).start()
    iam = daxd.client("iam")
    iam.create_role(RoleName="DAXTls", AssumeRolePolicyDocument=DAX_TRUST)
    iam.attach_role_policy(RoleName="DAXTls", PolicyArn="arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess")
    role_arn = iam.get_role(RoleName="DAXTls")["Role"]["Arn"]
    daxd.client("dynamodb").create_table(
        TableName="Secure",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}],
        BillingMode="PAY_PER_REQUEST")
    dax = daxd.client("dax")
    dax.create_cluster(ClusterName="secure", NodeType="dax.t3.small", ReplicationFactor=2, IamRoleArn=role_arn,
                       ClusterEndpointEncryptionType="TLS")
    c = wait_for(lambda: (lambda c: c if c["Status"] == "available" else None)(
        dax.describe_clusters(ClusterNames=["secure"])["Clusters"][0]), 20)
    daxd.ports = [n["Endpoint"]["Port"] for n in c["Nodes"]]
    wait_for(lambda: not any(refused(p) for p in daxd.ports), 5)
    daxd.cluster = c
    yield daxd
    daxd.close()


@pytest.fixture
def trust_daxd_ca(env, monkeypatch):
    """What the README tells Python users: point OpenSSL's default trust at daxd's CA."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_dir(env) / "ca.pem"))


def test_the_ca_is_in_the_data_dir(env):
    d = tls_dir(env)
    ca = (d / "ca.pem").read_text()
    assert ca.startswith("-----BEGIN CERTIFICATE-----")
    assert stat.S_IMODE(os.stat(d / "ca-key.pem").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(d / "node-key.pem").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(d / "ca.pem").st_mode) == 0o644
    # The key is not in the certificate file.
    assert "PRIVATE KEY" not in ca


def test_describe_clusters_says_daxs(env):
    c = env.client("dax").describe_clusters(ClusterNames=["secure"])["Clusters"][0]
    assert c["ClusterEndpointEncryptionType"] == "TLS"
    assert c["ClusterDiscoveryEndpoint"]["URL"].startswith("daxs://127.0.0.1:")
    assert all(n["Endpoint"]["URL"].startswith("daxs://") for n in c["Nodes"])


def test_python_client_over_tls(env, trust_daxd_ca):
    url = env.cluster["ClusterDiscoveryEndpoint"]["URL"]
    with dax_client(url, env.root) as dax:
        dax.put_item(TableName="Secure", Item=ITEM)
        assert dax.get_item(TableName="Secure", Key=KEY)["Item"] == ITEM
        dax.put_item(TableName="Secure", Item={"pk": {"S": "p"}, "sk": {"N": "2"}, "v": {"S": "second"}})
        out = dax.query(TableName="Secure", KeyConditionExpression="pk = :p AND sk >= :lo",
                        ExpressionAttributeValues={":p": {"S": "p"}, ":lo": {"N": "1"}})
        assert [i["sk"]["N"] for i in out["Items"]] == ["1", "2"]
        # Both nodes are reached over TLS (the client routes reads to either).
        assert len(dax._cluster._router.backends) == 2
        with pytest.raises(ClientError) as e:
            dax.get_item(TableName="NoSuchTable", Key=KEY)
        assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    # What DAX wrote is in DynamoDB.
    direct = env.client("dynamodb").get_item(TableName="Secure", Key=KEY, ConsistentRead=True)["Item"]
    assert direct == ITEM


def test_the_python_ssl_module_sees_daxd_certificate(env):
    """The handshake as any TLS client sees it: TLS 1.2 or 1.3, a chain to daxd's CA, the
    advertise host and localhost both valid names."""
    ctx = ssl.create_default_context(cafile=str(tls_dir(env) / "ca.pem"))
    for name in ("127.0.0.1", "localhost"):
        with socket.create_connection(("127.0.0.1", env.ports[0]), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname=name) as s:
                assert s.version() in ("TLSv1.3", "TLSv1.2")
    # A name the certificate does not cover is refused by the client's check.
    with socket.create_connection(("127.0.0.1", env.ports[0]), timeout=5) as raw:
        with pytest.raises(ssl.SSLCertVerificationError):
            ctx.wrap_socket(raw, server_hostname="dax.example.com")


def test_without_trusting_the_ca_the_client_refuses(env, monkeypatch, tmp_path):
    # An empty trust store: the certificate cannot be verified, so no route is found.
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    monkeypatch.setenv("SSL_CERT_FILE", str(empty))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    url = env.cluster["ClusterDiscoveryEndpoint"]["URL"]
    start = time.time()
    # (amazondax reports every certificate failure as a "Hostname mismatch".)
    with pytest.raises(DaxValidationError, match="Certificate verification failed"):
        with dax_client(url, env.root, config=Config(connect_timeout=3, read_timeout=3)) as dax:
            dax.get_item(TableName="Secure", Key=KEY)
    assert time.time() - start < 30


def test_plaintext_client_to_a_tls_port_fails_cleanly(env, trust_daxd_ca):
    port = env.ports[0]
    # The DAX preamble in the clear: no DAX answer, at most a TLS alert, and the
    # connection is closed at once.
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(bytes.fromhex("674a37796e65354700") + b"\x50" + b"\x01" * 16 + bytes.fromhex("a0") + b"\x00")
        got = b""
        while True:
            try:
                chunk = s.recv(4096)
            except ConnectionResetError:
                break
            if not chunk:
                break
            got += chunk
        assert got == b"" or got[0] == 0x15, got  # 0x15: a TLS alert record
        assert len(got) < 64
    # The official client with dax:// against the TLS port finds no route, quickly.
    start = time.time()
    with pytest.raises(DaxClientError, match="NoRoute"):
        with dax_client(f"dax://127.0.0.1:{port}", env.root, config=Config(connect_timeout=3, read_timeout=3)) as dax:
            dax.get_item(TableName="Secure", Key=KEY)
    assert time.time() - start < 30
    # The node still serves TLS clients.
    with dax_client(env.cluster["ClusterDiscoveryEndpoint"]["URL"], env.root) as dax:
        assert dax.get_item(TableName="Secure", Key=KEY)["Item"] == ITEM


def test_ca_and_node_certificate_survive_a_restart(env, trust_daxd_ca):
    d = tls_dir(env)
    before = {f: (d / f).read_bytes() for f in ("ca.pem", "ca-key.pem", "node.pem", "node-key.pem")}
    env.restart()
    after = {f: (d / f).read_bytes() for f in before}
    assert after == before
    wait_for(lambda: not any(refused(p) for p in env.ports), 10)
    # A client that trusted the CA before the restart still connects.
    with dax_client(env.cluster["ClusterDiscoveryEndpoint"]["URL"], env.root) as dax:
        assert dax.get_item(TableName="Secure", Key=KEY)["Item"] == ITEM
        dax.put_item(TableName="Secure", Item={**KEY, "v": {"S": "after restart"}})
        assert dax.get_item(TableName="Secure", Key=KEY)["Item"]["v"] == {"S": "after restart"}
