"""The security review. Each point of docs/security.md has its test here:
no path to state without authentication (AWS APIs, the console, /metrics, the reset
endpoint, DAX data methods before authorizeConnection); secrets stored 0600, never logged,
compared in constant time; iam:PassRole wherever a role is passed, with no confused deputy
through DAX or the console; console sessions that resist CSRF and fixation; TLS settings;
limits."""
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import stat
import subprocess
import time
import urllib.parse

import pytest
from botocore.exceptions import ClientError

from daxd import BIN, ROOT, Daxd, wait_for
from faults import (ENDPOINTS, PREAMBLE, authorize_frame, cbor_bytes, cbor_text, get_item_frame, is_success,
                    scan_frame)
from test_dax_data import create_cluster, role

ACCOUNT = "123456789012"
REGION = "us-east-1"
ARGS = ["--provisioning-delay-ms", "100", "--dax-ports", "26300-26349"]
FULL = "arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess"


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def code(exc_info):
    return exc_info.value.response["Error"]["Code"], exc_info.value.response["Error"].get("Message", "")


@pytest.fixture(scope="module")
def sec():
    """One daxd with a table, a DAX cluster (its role), and a user with a password."""
    d = Daxd(args=ARGS).start()
    iam, ddb = d.client("iam"), d.client("dynamodb")
    ddb.create_table(TableName="Secrets", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName="Secrets", Item={"id": {"S": "k"}, "v": {"S": "the-hidden-value"}})
    d.role_arn = role(iam, "DAXSecRole", managed=FULL)
    c = create_cluster(d, "sec", d.role_arn)
    d.node_port = c["Nodes"][0]["Endpoint"]["Port"]
    d.url = c["ClusterDiscoveryEndpoint"]["URL"]
    yield d
    d.close()


def http_port(d):
    return int(d.endpoint.rsplit(":", 1)[1])


def request(d, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", http_port(d), timeout=10)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    out = r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read().decode(errors="replace"), r.headers.get_all("Set-Cookie") or []
    c.close()
    return out


# ------------------------------------------------------------------ 1. authentication everywhere


@pytest.mark.parametrize("target,version", [
    ("DynamoDB_20120810.Scan", None), ("AmazonDAXV3.DescribeClusters", None),
    (None, "2010-05-08"), (None, "2011-06-15"), (None, "2016-11-15")])
def test_unsigned_api_requests_reach_no_state(sec, target, version):
    if target:
        status, _, body, _ = request(sec, "POST", "/", json.dumps({"TableName": "Secrets"}),
                                     {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0"})
    else:
        action = {"2010-05-08": "ListUsers", "2011-06-15": "GetCallerIdentity", "2016-11-15": "DescribeNetworkInterfaces"}[version]
        status, _, body, _ = request(sec, "POST", "/", f"Action={action}&Version={version}",
                                     {"Content-Type": "application/x-www-form-urlencoded"})
    assert status in (400, 401, 403) and "the-hidden-value" not in body and "DAXSecRole" not in body
    assert re.search(r"MissingAuthenticationToken|IncompleteSignature|AuthFailure|MissingAuthenticationTokenException", body), body


CONSOLE_PAGES = ["/console/iam/users", "/console/iam/roles", "/console/iam/roles/DAXSecRole", "/console/dax/clusters",
                 "/console/dax/clusters/sec", "/console/dynamodb/tables", "/console/dynamodb/tables/Secrets",
                 "/console/iam/policies", "/console/dax/events", "/console/dax/parameter-groups"]


def test_console_pages_need_a_session(sec):
    for path in CONSOLE_PAGES:
        status, headers, body, _ = request(sec, "GET", path)
        assert status in (302, 303) and "/console/signin" in headers["location"], path
        assert "the-hidden-value" not in body and "DAXSecRole" not in body
    # Actions too: a POST without a session changes nothing.
    status, headers, _, _ = request(sec, "POST", "/console/iam/users", "name=mallory",
                                    {"Content-Type": "application/x-www-form-urlencoded"})
    assert status in (302, 303, 403)
    with pytest.raises(ClientError):
        sec.client("iam").get_user(UserName="mallory")
    # A made-up session id is no session.
    status, headers, _, _ = request(sec, "GET", "/console/iam/users", headers={"Cookie": "daxd_console=" + "ab" * 32})
    assert status in (302, 303)


def test_metrics_are_counters_without_names_or_secrets(sec):
    """Decision: /metrics is served without authentication (Prometheus scrapers), and so
    holds only counters labelled with region, cluster and node ids."""
    sec.client("dynamodb").get_item(TableName="Secrets", Key={"id": {"S": "k"}})
    s = socket.create_connection(("127.0.0.1", sec.node_port), timeout=5)
    s.sendall(PREAMBLE + authorize_frame(*sec.root) + get_item_frame("Secrets", "k"))
    s.recv(65536)
    s.close()
    status, headers, body, _ = request(sec, "GET", "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    for secret in ("Secrets", "the-hidden-value", sec.root[0], sec.root[1], "DAXSecRole", "arn:aws"):
        assert secret not in body, secret
    labels = set(re.findall(r"(\w+)=\"", body))
    assert labels <= {"region", "cluster", "node"}, labels


def test_reset_is_off_by_default(sec):
    status, _, body, _ = request(sec, "POST", "/moto-api/reset")
    assert status == 403 and "--enable-reset" in body
    assert sec.client("dynamodb").describe_table(TableName="Secrets")


DAX_METHODS = {
    "endpoints": ENDPOINTS,
    "defineKeySchema": bytes.fromhex("013a2c43e27e") + cbor_bytes(b"Secrets"),
    "defineAttributeListId": bytes.fromhex("013a495927bb") + b"\x81" + cbor_text("v"),
    "defineAttributeList": bytes.fromhex("011a27f9bd71") + b"\x01",
    "getItem": get_item_frame("Secrets", "k"),
    "scan": scan_frame("Secrets"),
    "query": bytes.fromhex("013a3781c2ae") + cbor_bytes(b"Secrets") + b"\xf6\xf6",
    "batchGetItem": bytes.fromhex("013a29985cdb") + b"\xa1" + cbor_text("Secrets") + b"\x83\xf4\xf6\x81" + cbor_bytes(b"k") + b"\xf6",
    "deleteItem": bytes.fromhex("011a3c696221") + cbor_bytes(b"Secrets") + cbor_bytes(b"k") + b"\xf6",
}


def dax_exchange(port, first, frame, timeout=5):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(PREAMBLE + first + frame)
        return s.recv(65536)
    finally:
        s.close()


@pytest.mark.parametrize("method", sorted(DAX_METHODS))
def test_dax_methods_need_authorize_connection(sec, method):
    frame = DAX_METHODS[method]
    # No authorizeConnection at all.
    out = dax_exchange(sec.node_port, b"", frame)
    assert out and not is_success(out) and b"the-hidden-value" not in out
    assert b"AuthenticationRequired" in out or b"UnrecognizedClient" in out, out
    # A wrong secret, an unknown key, a stale signature.
    for first in (authorize_frame(sec.root[0], "wrong"), authorize_frame("AKIANOSUCHKEY0000000", sec.root[1]),
                  authorize_frame(*sec.root, when=time.time() - 3600)):
        out = dax_exchange(sec.node_port, first, frame)
        assert out and not is_success(out) and b"the-hidden-value" not in out, out
    # The item is still there: the unauthenticated deleteItem did nothing.
    assert sec.client("dynamodb").get_item(TableName="Secrets", Key={"id": {"S": "k"}}, ConsistentRead=True)["Item"]


def test_authorized_connection_is_served(sec):
    out = dax_exchange(sec.node_port, authorize_frame(*sec.root), get_item_frame("Secrets", "k"))
    assert is_success(out)


# ------------------------------------------------------------------ 2. secrets


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_secret_files_are_owner_only(tmp_path):
    d = Daxd(data_dir=tmp_path / "data", root=None, args=ARGS[:2] + ["--dax-ports", "26350-26359"]).start()
    try:
        d.client("iam", key=tuple(json.loads((tmp_path / "data" / "root-credentials.json").read_text()).values()))
        data = tmp_path / "data"
        assert mode(data) == 0o700
        for f in ("root-credentials.json", "state.db", "tls/ca-key.pem", "tls/node-key.pem"):
            assert mode(data / f) == 0o600, f
        for f in data.glob("state.db-*"):  # SQLite's -wal and -shm follow the database's mode
            assert mode(f) == 0o600, f.name
        assert mode(data / "tls" / "ca.pem") == 0o644
    finally:
        d.close()


def test_secrets_are_never_logged(tmp_path):
    d = Daxd(args=ARGS[:2] + ["--dax-ports", "26360-26369"], env={"DAXD_LOG": "trace"}).start()
    try:
        iam, sts = d.client("iam"), d.client("sts")
        iam.create_user(UserName="logged")
        key = iam.create_access_key(UserName="logged")["AccessKey"]
        iam.create_login_profile(UserName="logged", Password="Correct-Horse-Battery-9")
        r = role(iam, "Assumable", managed=FULL)
        iam.update_assume_role_policy(RoleName="Assumable", PolicyDocument=doc(
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root", "Service": "dax.amazonaws.com"},
             "Action": "sts:AssumeRole"}))
        iam.put_user_policy(UserName="logged", PolicyName="assume", PolicyDocument=doc(
            {"Effect": "Allow", "Action": ["sts:AssumeRole", "dax:*"], "Resource": "*"}))
        time.sleep(0.1)
        user_sts = d.client("sts", key=(key["AccessKeyId"], key["SecretAccessKey"]))
        creds = user_sts.assume_role(RoleArn=r, RoleSessionName="sess")["Credentials"]
        d.client("sts", key=(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])).get_caller_identity()
        d.client("sts", key=(key["AccessKeyId"], key["SecretAccessKey"])).get_caller_identity()
        # A wrong secret and a console sign-in with the password.
        with pytest.raises(ClientError):
            d.client("sts", key=(key["AccessKeyId"], "not-" + key["SecretAccessKey"])).get_caller_identity()
        jar = console_sign_in(d, mode="password", account=ACCOUNT, username="logged", password="Correct-Horse-Battery-9")
        assert jar
        console_sign_in(d, mode="root", access_key_id=d.root[0], secret_access_key=d.root[1])
        # DAX: an authorizeConnection, good and bad.
        cl = create_cluster(d, "logs", r)
        port = cl["Nodes"][0]["Endpoint"]["Port"]
        dax_exchange(port, authorize_frame(key["AccessKeyId"], key["SecretAccessKey"]), ENDPOINTS)
        dax_exchange(port, authorize_frame(key["AccessKeyId"], "bad-secret"), ENDPOINTS)
        time.sleep(0.3)
    finally:
        d.close()
    log = "\n".join(d.output)
    assert len(log) > 1000, "trace logging produced little output"
    for secret in (d.root[1], key["SecretAccessKey"], creds["SecretAccessKey"], creds["SessionToken"],
                   "Correct-Horse-Battery-9"):
        assert secret not in log, f"a secret is in the log: {secret[:6]}…"


def callgrind_instructions(*args):
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *args],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return int(re.search(r"Collected : (\d+)", out.stderr).group(1))


def test_secret_comparisons_are_constant_time():
    """Every secret daxd compares (signatures, session tokens, the root secret, CSRF tokens)
    goes through `sigv4::constant_time_eq`. Its behaviour, measured: the instructions it
    executes (valgrind's callgrind counts them, the same on any machine, loaded or not) do
    not depend on where two secrets first differ. The control, a comparison that stops at
    the first difference, shows that the measurement sees an early exit."""
    if not shutil.which("valgrind"):
        if os.environ.get("DAXD_VALGRIND") == "required":
            pytest.fail("valgrind is missing (scripts/test installs it)")
        pytest.skip("valgrind is missing")
    subprocess.run(["cargo", "build", "-q", "--example", "ct_probe", "-p", "sigv4"], cwd=ROOT, check=True, timeout=600)
    probe = str(ROOT / "target" / "debug" / "examples" / "ct_probe")
    ct = [callgrind_instructions(probe, "ct", str(p)) for p in (0, 31, 63)]
    naive = [callgrind_instructions(probe, "naive", str(p)) for p in (0, 63)]
    # 20 000 comparisons: a difference of even one instruction per comparison is 20 000.
    assert max(ct) - min(ct) < 1000, f"constant_time_eq's work depends on the position: {ct}"
    assert naive[1] - naive[0] > 20_000 * 10, f"the control did not show its early exit: {naive}"


# ------------------------------------------------------------------ 3. iam:PassRole and confused deputies


def user_with(d, name, *statements):
    iam = d.client("iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=doc(*statements))
    k = iam.create_access_key(UserName=name)["AccessKey"]
    return k["AccessKeyId"], k["SecretAccessKey"]


DAX_ALL = {"Effect": "Allow", "Action": ["dax:*", "iam:CreateServiceLinkedRole", "iam:GetRole", "ec2:Describe*"], "Resource": "*"}


def test_create_cluster_needs_pass_role_on_that_role_for_dax(sec):
    iam = sec.client("iam")
    other = role(iam, "OtherRole", managed=FULL)
    cases = {
        "nopass": [DAX_ALL],
        "passother": [DAX_ALL, {"Effect": "Allow", "Action": "iam:PassRole", "Resource": other}],
        "passtoec2": [DAX_ALL, {"Effect": "Allow", "Action": "iam:PassRole", "Resource": sec.role_arn,
                                "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}}],
    }
    for name, statements in cases.items():
        key = user_with(sec, f"pr-{name}", *statements)
        with pytest.raises(ClientError) as e:
            sec.client("dax", key=key).create_cluster(ClusterName=f"pr-{name}", NodeType="dax.t3.small", ReplicationFactor=1,
                                                      IamRoleArn=sec.role_arn)
        c, msg = code(e)
        assert c == "AccessDeniedException" and "iam:PassRole" in msg, (name, c, msg)
    key = user_with(sec, "pr-ok", DAX_ALL, {"Effect": "Allow", "Action": "iam:PassRole", "Resource": sec.role_arn,
                                           "Condition": {"StringEquals": {"iam:PassedToService": "dax.amazonaws.com"}}})
    sec.client("dax", key=key).create_cluster(ClusterName="pr-ok", NodeType="dax.t3.small", ReplicationFactor=1,
                                              IamRoleArn=sec.role_arn)
    names = {c["ClusterName"] for c in sec.client("dax").describe_clusters()["Clusters"]}
    assert "pr-ok" in names and not names & {"pr-nopass", "pr-passother", "pr-passtoec2"}
    sec.client("dax").delete_cluster(ClusterName="pr-ok")


def test_cluster_role_must_trust_dax_and_be_in_the_account(sec):
    iam = sec.client("iam")
    iam.create_role(RoleName="TrustsEc2", AssumeRolePolicyDocument=doc(
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}))
    for arn in (iam.get_role(RoleName="TrustsEc2")["Role"]["Arn"], "arn:aws:iam::999999999999:role/DAXSecRole"):
        with pytest.raises(ClientError) as e:
            sec.client("dax").create_cluster(ClusterName="untrusted", NodeType="dax.t3.small", ReplicationFactor=1, IamRoleArn=arn)
        assert code(e)[0] in ("InvalidParameterValueException", "AccessDeniedException"), code(e)


def test_no_confused_deputy_through_dax(sec):
    """The cluster's role may read every table, but a caller gets through a node only what
    its own dax:<Action> permissions allow."""
    nobody = user_with(sec, "nobody", {"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"})
    out = dax_exchange(sec.node_port, authorize_frame(*nobody), get_item_frame("Secrets", "k"))
    assert not is_success(out) and b"AccessDenied" in out and b"the-hidden-value" not in out
    # dax:GetItem on another cluster does not open this one.
    elsewhere = user_with(sec, "elsewhere", {"Effect": "Allow", "Action": "dax:GetItem",
                                             "Resource": f"arn:aws:dax:{REGION}:{ACCOUNT}:cache/other"})
    out = dax_exchange(sec.node_port, authorize_frame(*elsewhere), get_item_frame("Secrets", "k"))
    assert not is_success(out) and b"AccessDenied" in out
    here = user_with(sec, "here", {"Effect": "Allow", "Action": "dax:GetItem", "Resource": f"arn:aws:dax:{REGION}:{ACCOUNT}:cache/sec"})
    assert is_success(dax_exchange(sec.node_port, authorize_frame(*here), get_item_frame("Secrets", "k")))


# ------------------------------------------------------------------ 4. console sessions


def cookie_of(set_cookies):
    for c in set_cookies:
        m = re.match(r"daxd_console=([^;]*)", c)
        if m:
            return m.group(1), c
    return None, None


def csrf_of(body):
    m = re.search(r'name="_csrf" value="([0-9a-f]+)"', body)
    return m and m.group(1)


def console_sign_in(d, cookie=None, **fields):
    """Sign in through the form; returns the session cookie value (None when refused)."""
    headers = {"Cookie": f"daxd_console={cookie}"} if cookie else {}
    status, _, body, sc = request(d, "GET", "/console/signin", headers=headers)
    fresh, _ = cookie_of(sc)
    anon = fresh or cookie
    form = urllib.parse.urlencode({"_csrf": csrf_of(body), "next": "/console/iam/users", **fields})
    status, headers, body, sc = request(d, "POST", "/console/signin", form, {
        "Cookie": f"daxd_console={anon}", "Content-Type": "application/x-www-form-urlencoded"})
    new, _ = cookie_of(sc)
    return new if status in (302, 303) else None


def page(d, cookie, path):
    return request(d, "GET", path, headers={"Cookie": f"daxd_console={cookie}"})


def test_console_cookie_attributes_and_fixation(sec):
    status, _, body, sc = request(sec, "GET", "/console/signin")
    anon, attrs = cookie_of(sc)
    assert anon and "HttpOnly" in attrs and "SameSite=Strict" in attrs and "Path=/console" in attrs
    # Signing in issues a new id; the one known before sign-in stays anonymous.
    signed = console_sign_in(sec, cookie=anon, mode="root", access_key_id=sec.root[0], secret_access_key=sec.root[1])
    assert signed and signed != anon
    assert page(sec, anon, "/console/iam/users")[0] in (302, 303)
    assert page(sec, signed, "/console/iam/users")[0] == 200
    # An id the attacker invents is never adopted.
    planted = "cd" * 32
    signed2 = console_sign_in(sec, cookie=planted, mode="root", access_key_id=sec.root[0], secret_access_key=sec.root[1])
    assert signed2 and signed2 != planted and page(sec, planted, "/console/iam/users")[0] in (302, 303)
    # Signing out destroys the session server-side.
    _, _, body, _ = page(sec, signed, "/console/iam/users")
    status, _, _, sc = request(sec, "POST", "/console/signout", urllib.parse.urlencode({"_csrf": csrf_of(body)}),
                               {"Cookie": f"daxd_console={signed}", "Content-Type": "application/x-www-form-urlencoded"})
    assert status in (302, 303)
    assert page(sec, signed, "/console/iam/users")[0] in (302, 303)
    # A wrong password or key signs nobody in.
    assert console_sign_in(sec, mode="root", access_key_id=sec.root[0], secret_access_key="wrong") is None


def test_console_secure_cookie_flag(sec):
    """Plain HTTP by default: no `Secure` (a browser would never send the cookie back);
    behind a TLS proxy, `--console-secure-cookie` marks every session cookie `Secure`."""
    _, attrs = cookie_of(request(sec, "GET", "/console/signin")[3])
    assert "Secure" not in attrs
    d = Daxd(args=["--console-secure-cookie"]).start()
    try:
        anon, attrs = cookie_of(request(d, "GET", "/console/signin")[3])
        assert anon and "; Secure" in attrs and "HttpOnly" in attrs and "SameSite=Strict" in attrs
        signed = console_sign_in(d, cookie=anon, mode="root", access_key_id=d.root[0], secret_access_key=d.root[1])
        assert signed and signed != anon
    finally:
        d.close()


def test_console_forms_resist_csrf(sec):
    cookie = console_sign_in(sec, mode="root", access_key_id=sec.root[0], secret_access_key=sec.root[1])
    _, _, body, _ = page(sec, cookie, "/console/iam/users")
    token = csrf_of(body)
    assert token
    form = "application/x-www-form-urlencoded"
    attempts = {
        "no token": ({"name": "csrf1"}, {}),
        "wrong token": ({"name": "csrf2", "_csrf": "0" * len(token)}, {}),
        "other origin": ({"name": "csrf3", "_csrf": token}, {"Origin": "http://evil.example"}),
        "other referer": ({"name": "csrf4", "_csrf": token}, {"Referer": "http://evil.example/x"}),
    }
    for why, (fields, extra) in attempts.items():
        status, _, _, _ = request(sec, "POST", "/console/iam/users", urllib.parse.urlencode(fields),
                                  {"Cookie": f"daxd_console={cookie}", "Content-Type": form, **extra})
        assert status == 403, why
    users = {u["UserName"] for u in sec.client("iam").list_users()["Users"]}
    assert not users & {"csrf1", "csrf2", "csrf3", "csrf4"}
    # The token of another session does not work either.
    other = console_sign_in(sec, mode="root", access_key_id=sec.root[0], secret_access_key=sec.root[1])
    other_token = csrf_of(page(sec, other, "/console/iam/users")[2])
    assert other_token != token
    status, _, _, _ = request(sec, "POST", "/console/iam/users", urllib.parse.urlencode({"name": "csrf5", "_csrf": other_token}),
                              {"Cookie": f"daxd_console={cookie}", "Content-Type": form})
    assert status == 403
    # The right token from this origin works.
    status, _, _, _ = request(sec, "POST", "/console/iam/users", urllib.parse.urlencode({"name": "csrfok", "_csrf": token}),
                              {"Cookie": f"daxd_console={cookie}", "Content-Type": form,
                               "Origin": f"http://127.0.0.1:{http_port(sec)}"})
    assert status in (200, 302, 303)
    sec.client("iam").get_user(UserName="csrfok")


def test_console_passes_roles_as_the_signed_in_user(sec):
    """No confused deputy through the console: its create-cluster form is CreateCluster as
    the signed-in user, PassRole check included."""
    iam = sec.client("iam")
    iam.create_user(UserName="consoleuser")
    iam.put_user_policy(UserName="consoleuser", PolicyName="p", PolicyDocument=doc(DAX_ALL,
                        {"Effect": "Allow", "Action": ["iam:List*", "iam:Get*"], "Resource": "*"}))
    iam.create_login_profile(UserName="consoleuser", Password="Correct-Horse-Battery-9")
    cookie = console_sign_in(sec, mode="password", account=ACCOUNT, username="consoleuser", password="Correct-Horse-Battery-9")
    assert cookie
    _, _, body, _ = page(sec, cookie, "/console/dax/clusters/create")
    fields = {"_csrf": csrf_of(body), "name": "viaconsole", "node_type": "dax.t3.small", "role": sec.role_arn,
              "replication": "1", "region": REGION}
    status, _, body, _ = request(sec, "POST", "/console/dax/clusters/create", urllib.parse.urlencode(fields),
                                 {"Cookie": f"daxd_console={cookie}", "Content-Type": "application/x-www-form-urlencoded"})
    assert "iam:PassRole" in body, body[:500]
    assert "viaconsole" not in {c["ClusterName"] for c in sec.client("dax").describe_clusters()["Clusters"]}


# ------------------------------------------------------------------ 5. TLS


@pytest.fixture(scope="module")
def tls_node(sec):
    sec.client("dax").create_cluster(ClusterName="sectls", NodeType="dax.t3.small", ReplicationFactor=1,
                                     IamRoleArn=sec.role_arn, ClusterEndpointEncryptionType="TLS")
    c = wait_for(lambda: next((c for c in sec.client("dax").describe_clusters(ClusterNames=["sectls"])["Clusters"]
                               if c["Status"] == "available"), None), 20)
    port = c["Nodes"][0]["Endpoint"]["Port"]

    def up():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False
    wait_for(up, 10)
    return port, sec.data_dir / "tls" / "ca.pem"


def handshake(port, ca, lo=None, hi=None, ciphers=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    if lo:
        ctx.minimum_version = lo
    if hi:
        ctx.maximum_version = hi
    if ciphers:
        ctx.set_ciphers(ciphers)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            return s.version(), s.cipher(), s.getpeercert()


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning")
def test_tls_versions_ciphers_and_certificate(tls_node):
    port, ca = tls_node
    version, cipher, cert = handshake(port, ca)
    assert version == "TLSv1.3"
    version, cipher, _ = handshake(port, ca, hi=ssl.TLSVersion.TLSv1_2)
    assert version == "TLSv1.2" and cipher[0].startswith("ECDHE-") and ("GCM" in cipher[0] or "CHACHA20" in cipher[0]), cipher
    # No CBC, no RSA key exchange, nothing older than TLS 1.2.
    for ciphers in ("AES128-SHA:AES256-SHA:AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA384"):
        with pytest.raises((ssl.SSLError, ConnectionError)):
            handshake(port, ca, hi=ssl.TLSVersion.TLSv1_2, ciphers=ciphers)
    with pytest.raises((ssl.SSLError, ConnectionError)):
        handshake(port, ca, lo=ssl.TLSVersion.TLSv1, hi=ssl.TLSVersion.TLSv1_1)
    # The certificate: names the advertise host, valid at most 397 days.
    sans = {v for _, v in cert["subjectAltName"]}
    assert "127.0.0.1" in sans and "localhost" in sans
    life = ssl.cert_time_to_seconds(cert["notAfter"]) - ssl.cert_time_to_seconds(cert["notBefore"])
    assert life <= 398 * 86400
    pem = ssl.get_server_certificate(("127.0.0.1", port))
    out = subprocess.run(["openssl", "x509", "-noout", "-text"], input=pem, capture_output=True, text=True)
    if out.returncode == 0:
        assert re.search(r"Public Key Algorithm: id-ecPublicKey|Public-Key: \((2048|3072|4096) bit\)", out.stdout), out.stdout[:400]


def test_plaintext_to_tls_node_gets_no_dax_answer(tls_node, sec):
    port, _ = tls_node
    out = dax_exchange(port, authorize_frame(*sec.root), get_item_frame("Secrets", "k"))
    assert not is_success(out) and b"the-hidden-value" not in out


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning")
def test_https_endpoint_serves_every_api_with_the_data_dir_ca():
    """--tls-listen serves the same APIs over HTTPS, with a certificate of the data dir's CA:
    boto3 and the AWS CLI trust it through the CA file, nothing else does, and the TLS
    settings are those of the daxs:// nodes."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import SSLError
    d = Daxd(args=["--tls-listen", "127.0.0.1:0"]).start()
    try:
        line = next(l for l in d.output if l.startswith("daxd: serving AWS APIs over HTTPS on "))
        url = line.split(" on ", 1)[1].split()[0]
        ca = os.path.join(d.data_dir, "tls", "ca.pem")
        assert url.startswith("https://127.0.0.1:") and f"(clients trust {ca})" in line
        port = int(url.rsplit(":", 1)[1])

        def client(service, verify):
            return boto3.client(service, endpoint_url=url, region_name="us-east-1", aws_access_key_id=d.root[0],
                                aws_secret_access_key=d.root[1], verify=verify, config=Config(retries={"max_attempts": 1}))
        # boto3 through the CA: IAM (query protocol), DynamoDB (JSON), DAX, STS; the same
        # state as the plain endpoint.
        assert client("sts", ca).get_caller_identity()["Arn"].endswith(":root")
        client("iam", ca).create_user(UserName="over-tls")
        assert d.client("iam").get_user(UserName="over-tls")["User"]["UserName"] == "over-tls"
        client("dynamodb", ca).create_table(TableName="Tls", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                                           AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                                           BillingMode="PAY_PER_REQUEST")
        assert "Tls" in d.client("dynamodb").list_tables()["TableNames"]
        assert client("dax", ca).describe_clusters()["Clusters"] == []
        # Without the CA, the certificate is not trusted.
        with pytest.raises(SSLError):
            client("sts", True).get_caller_identity()
        # The AWS CLI with --ca-bundle.
        plain = d.endpoint
        try:
            d.endpoint = url
            out = d.aws("iam", "get-user", "--user-name", "over-tls", "--ca-bundle", ca)
            assert json.loads(out.stdout)["User"]["UserName"] == "over-tls"
            assert d.aws("sts", "get-caller-identity", check=False).returncode != 0  # no CA: refused
        finally:
            d.endpoint = plain
        # /health is there too, and the console, whose session cookies are `Secure` over
        # HTTPS (not over the plain endpoint of the same daxd).
        def https(method, path, body=None, headers=None):
            c = http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=ssl.create_default_context(cafile=ca))
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            out = r.status, r.read().decode(errors="replace"), r.headers.get_all("Set-Cookie") or []
            c.close()
            return out
        assert json.loads(https("GET", "/health")[1]) == {"status": "ok"}
        status, body, set_cookies = https("GET", "/console/signin")
        anon, attrs = cookie_of(set_cookies)
        assert status == 200 and anon and "; Secure" in attrs and "HttpOnly" in attrs
        form = urllib.parse.urlencode({"_csrf": csrf_of(body), "next": "/console/iam/users", "mode": "root",
                                       "access_key_id": d.root[0], "secret_access_key": d.root[1]})
        status, _, set_cookies = https("POST", "/console/signin", form, {
            "Cookie": f"daxd_console={anon}", "Content-Type": "application/x-www-form-urlencoded"})
        signed, attrs = cookie_of(set_cookies)
        assert status in (302, 303) and signed and signed != anon and "; Secure" in attrs
        status, body, _ = https("GET", "/console/iam/users", headers={"Cookie": f"daxd_console={signed}"})
        assert status == 200 and "over-tls" in body
        _, attrs = cookie_of(request(d, "GET", "/console/signin")[3])
        assert "Secure" not in attrs
        # TLS 1.2 and 1.3 only, forward-secret AEAD ciphers, the node certificate's names.
        version, _, cert = handshake(port, ca)
        assert version == "TLSv1.3"
        assert {"127.0.0.1", "localhost"} <= {v for _, v in cert["subjectAltName"]}
        with pytest.raises((ssl.SSLError, ConnectionError)):
            handshake(port, ca, lo=ssl.TLSVersion.TLSv1, hi=ssl.TLSVersion.TLSv1_1)
        with pytest.raises((ssl.SSLError, ConnectionError)):
            handshake(port, ca, hi=ssl.TLSVersion.TLSv1_2, ciphers="AES128-SHA:AES256-SHA:AES128-GCM-SHA256")
        # Plain HTTP to the TLS port gets no HTTP answer.
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                got = s.recv(4096)
            except OSError:
                got = b""
            assert not got.startswith(b"HTTP/")
    finally:
        d.close()


# ------------------------------------------------------------------ 6. limits


def test_limits_have_sane_defaults():
    text = subprocess.run([BIN, "serve", "--help"], capture_output=True, text=True, check=True).stdout
    defaults = {
        "--max-body-bytes": 16 * 1024 * 1024, "--max-connections": 4096, "--http-read-timeout-ms": 30000,
        "--node-max-in-flight": 1024, "--node-max-connections": 4096, "--dynamodb-timeout-ms": 30000,
        "--node-frame-buffer-bytes": 256 * 1024 * 1024,
    }
    flat = " ".join(text.split())
    for flag, value in defaults.items():
        m = re.search(re.escape(flag) + r" <[A-Z_]+>.*?\[default: (\d+)\]", flat)
        assert m and int(m.group(1)) == value, flag
    assert "--enable-reset" in flat and "[default" not in flat.split("--enable-reset", 1)[1].split("--", 1)[0]
