"""One AWS endpoint, SigV4 authentication, IAM users and keys,
durable state. Everything here drives the real daxd binary with the real
AWS CLI and boto3."""
import datetime
import http.client
import json
import os
import stat
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from unittest import mock

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
from botocore.exceptions import ClientError

from daxd import BIN, Daxd, ROOT_KEY, signed_headers


def err(exc_info):
    e = exc_info.value.response
    return e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"], e["Error"].get("Message", "")


# ---------------------------------------------------------------- identity


def test_cli_get_caller_identity_with_root_keys(daxd):
    out = json.loads(daxd.aws("sts", "get-caller-identity").stdout)
    assert out == {"UserId": "123456789012", "Account": "123456789012", "Arn": "arn:aws:iam::123456789012:root"}


def test_user_created_by_root_authenticates_with_its_own_key(daxd):
    created = json.loads(daxd.aws("iam", "create-user", "--user-name", "bob", "--path", "/team/").stdout)["User"]
    assert created["Arn"] == "arn:aws:iam::123456789012:user/team/bob"
    assert created["UserId"].startswith("AIDA")
    key = json.loads(daxd.aws("iam", "create-access-key", "--user-name", "bob").stdout)["AccessKey"]
    assert key["AccessKeyId"].startswith("AKIA") and key["Status"] == "Active"
    bob = (key["AccessKeyId"], key["SecretAccessKey"])

    who = json.loads(daxd.aws("sts", "get-caller-identity", key=bob).stdout)
    assert who == {"UserId": created["UserId"], "Account": "123456789012", "Arn": created["Arn"]}
    who = daxd.client("sts", key=bob, region="eu-west-3").get_caller_identity()
    assert who["Arn"] == created["Arn"]
    # Without policies, knowing who you are is all a user may do.
    with pytest.raises(ClientError) as e:
        daxd.client("iam", key=bob).get_user()
    assert err(e)[:2] == ("AccessDenied", 403)
    with pytest.raises(ClientError) as e:
        daxd.client("iam", key=bob).list_users()
    code, status, message = err(e)
    assert (code, status) == ("AccessDenied", 403)
    assert message == (
        "User: arn:aws:iam::123456789012:user/team/bob is not authorized to perform: iam:ListUsers "
        "on resource: arn:aws:iam::123456789012:user/ because no identity-based policy allows the iam:ListUsers action"
    )


def test_user_and_key_lifecycle(daxd, iam):
    iam.create_user(UserName="carol", Tags=[{"Key": "team", "Value": "db"}])
    with pytest.raises(ClientError) as e:
        iam.create_user(UserName="CAROL")
    assert err(e)[:2] == ("EntityAlreadyExists", 409)
    assert iam.get_user(UserName="carol")["User"]["Tags"] == [{"Key": "team", "Value": "db"}]
    listed = iam.list_users()["Users"]
    assert [u["UserName"] for u in listed] == ["carol"] and "Tags" not in listed[0]

    k1 = iam.create_access_key(UserName="carol")["AccessKey"]
    iam.create_access_key(UserName="carol")
    with pytest.raises(ClientError) as e:
        iam.create_access_key(UserName="carol")
    assert err(e) == ("LimitExceeded", 409, "Cannot exceed quota for AccessKeysPerUser: 2")
    assert len(iam.list_access_keys(UserName="carol")["AccessKeyMetadata"]) == 2

    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName="carol")
    assert err(e) == ("DeleteConflict", 409, "Cannot delete entity, must delete access keys first.")

    carol = daxd.client("sts", key=(k1["AccessKeyId"], k1["SecretAccessKey"]))
    assert carol.get_caller_identity()["Arn"].endswith(":user/carol")
    iam.update_access_key(UserName="carol", AccessKeyId=k1["AccessKeyId"], Status="Inactive")
    with pytest.raises(ClientError) as e:
        carol.get_caller_identity()
    assert err(e)[:2] == ("InvalidClientTokenId", 403)
    iam.update_access_key(UserName="carol", AccessKeyId=k1["AccessKeyId"], Status="Active")
    assert carol.get_caller_identity()["Arn"].endswith(":user/carol")

    for k in iam.list_access_keys(UserName="carol")["AccessKeyMetadata"]:
        iam.delete_access_key(UserName="carol", AccessKeyId=k["AccessKeyId"])
    with pytest.raises(ClientError) as e:
        carol.get_caller_identity()
    assert err(e)[:2] == ("InvalidClientTokenId", 403)
    with pytest.raises(ClientError) as e:
        iam.delete_access_key(UserName="carol", AccessKeyId=k1["AccessKeyId"])
    assert err(e)[:2] == ("NoSuchEntity", 404)
    iam.delete_user(UserName="carol")
    with pytest.raises(ClientError) as e:
        iam.get_user(UserName="carol")
    assert err(e) == ("NoSuchEntity", 404, "The user with name carol cannot be found.")


def test_list_users_paginates(iam):
    for i in range(7):
        iam.create_user(UserName=f"u{i}")
    pages = list(iam.get_paginator("list_users").paginate(PaginationConfig={"PageSize": 3}))
    assert [len(p["Users"]) for p in pages] == [3, 3, 1]
    assert pages[0]["IsTruncated"] and not pages[-1]["IsTruncated"]


# ---------------------------------------------------------- authentication

# (IAM on awsQuery, DAX on JSON 1.1, DynamoDB on JSON 1.0): the codes and
# statuses AWS gives each failure on that protocol.
PROTOCOLS = [
    ("iam", "list_users", {}, {
        "wrong_secret": ("SignatureDoesNotMatch", 403),
        "unknown_key": ("InvalidClientTokenId", 403),
        "stale_date": ("SignatureDoesNotMatch", 403),
        "tampered_body": ("SignatureDoesNotMatch", 403),
    }),
    ("dynamodb", "list_tables", {}, {
        "wrong_secret": ("InvalidSignatureException", 400),
        "unknown_key": ("UnrecognizedClientException", 400),
        "stale_date": ("InvalidSignatureException", 400),
        "tampered_body": ("InvalidSignatureException", 400),
    }),
    ("dax", "describe_clusters", {}, {
        "wrong_secret": ("InvalidSignatureException", 400),
        "unknown_key": ("UnrecognizedClientException", 400),
        "stale_date": ("InvalidSignatureException", 400),
        "tampered_body": ("InvalidSignatureException", 400),
    }),
]


def _tamper(request, **_):
    body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
    # Same length, different bytes: only the signature can notice.
    request.body = body[:-1] + (b"X" if body[-1:] != b"X" else b"Y") if body else b" "


@pytest.mark.parametrize("service,op,kwargs,expected", PROTOCOLS, ids=[p[0] for p in PROTOCOLS])
@pytest.mark.parametrize("case", ["wrong_secret", "unknown_key", "stale_date", "tampered_body"])
def test_authentication_failures(daxd, service, op, kwargs, expected, case):
    key = ROOT_KEY
    if case == "wrong_secret":
        key = (ROOT_KEY[0], "not-the-secret")
    elif case == "unknown_key":
        key = ("AKIAUNKNOWNKEY000000", "whatever")
    client = daxd.client(service, key=key)
    if case == "tampered_body":
        client.meta.events.register("before-send", _tamper)
    call = getattr(client, op)
    if case == "stale_date":
        old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)
        with mock.patch("botocore.auth.get_current_datetime", return_value=old):
            with pytest.raises(ClientError) as e:
                call(**kwargs)
    else:
        with pytest.raises(ClientError) as e:
            call(**kwargs)
    code, status, message = err(e)
    assert (code, status) == expected[case]
    if case == "stale_date":
        assert message.startswith("Signature expired: ") and message.endswith(" - 15 min.)")
    if case in ("wrong_secret", "tampered_body"):
        assert message.startswith("The request signature we calculated does not match")


def test_cli_reports_a_wrong_secret(daxd):
    proc = daxd.aws("iam", "list-users", key=(ROOT_KEY[0], "wrong"), check=False)
    assert proc.returncode != 0
    assert "SignatureDoesNotMatch" in proc.stderr


def _raw(daxd, method, path, body=b"", headers=None):
    url = urllib.parse.urlparse(daxd.endpoint)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.putrequest(method, path, skip_accept_encoding=True)
    for k, v in (headers or {}).items():
        conn.putheader(k, v)
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), data


def test_missing_and_garbled_authentication(daxd):
    form = b"Action=ListUsers&Version=2010-05-08"
    ct = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    status, _, body = _raw(daxd, "POST", "/", form, ct)
    assert status == 403 and b"<Code>MissingAuthenticationToken</Code>" in body
    status, _, body = _raw(daxd, "POST", "/", form, {**ct, "Authorization": "AWS4-HMAC-SHA256 garbage", "X-Amz-Date": "20260101T000000Z"})
    assert status == 400 and b"<Code>IncompleteSignature</Code>" in body
    json_headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.ListTables"}
    status, _, body = _raw(daxd, "POST", "/", b"{}", json_headers)
    assert status == 400 and json.loads(body)["__type"].endswith("MissingAuthenticationTokenException")


def test_presigned_query_string(daxd):
    req = botocore.awsrequest.AWSRequest(method="GET", url=daxd.endpoint + "/?Action=GetCallerIdentity&Version=2011-06-15")
    botocore.auth.SigV4QueryAuth(botocore.credentials.Credentials(*ROOT_KEY), "sts", "us-east-1", expires=60).add_auth(req)
    url = urllib.parse.urlparse(req.url)
    status, _, body = _raw(daxd, "GET", url.path + "?" + url.query)
    assert status == 200, body
    assert b"<Arn>arn:aws:iam::123456789012:root</Arn>" in body
    # Tamper with a signed parameter.
    status, _, body = _raw(daxd, "GET", (url.path + "?" + url.query).replace("GetCallerIdentity", "GetCallerIdentitz"))
    assert status == 403 and b"SignatureDoesNotMatch" in body


def test_session_token_with_a_long_term_key_is_refused(daxd):
    # A session token names a temporary session; a long-term key has none.
    with pytest.raises(ClientError) as e:
        daxd.client("sts", key=(*ROOT_KEY, "bogus-token")).get_caller_identity()
    assert err(e)[:2] == ("InvalidClientTokenId", 403)
    with pytest.raises(ClientError) as e:
        daxd.client("dynamodb", key=(*ROOT_KEY, "bogus-token")).list_tables()
    assert err(e)[:2] == ("UnrecognizedClientException", 400)


# ----------------------------------------------------------- malformed input


def test_malformed_bodies_get_clean_errors(daxd):
    xml = b"<CreateUser><UserName>x</UserName>"
    h = signed_headers(daxd, "iam", xml, {"Content-Type": "text/xml"})
    status, _, body = _raw(daxd, "POST", "/", xml, h)
    assert status == 400 and b"<Code>MissingAction</Code>" in body

    bad_json = b'{"TableName": '
    h = signed_headers(daxd, "dynamodb", bad_json, {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.DescribeTable"})
    status, _, body = _raw(daxd, "POST", "/", bad_json, h)
    assert status == 400 and json.loads(body)["__type"].endswith("#SerializationException")

    wrong_type = b'{"ClusterNames": "not-a-list"}'
    h = signed_headers(daxd, "dax", wrong_type, {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonDAXV3.DescribeClusters"})
    status, _, body = _raw(daxd, "POST", "/", wrong_type, h)
    assert status == 400 and json.loads(body)["__type"] == "SerializationException"

    truncated = b"Action=CreateUser&Version=2010-05-08&UserNa"
    h = signed_headers(daxd, "iam", truncated, {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    status, _, body = _raw(daxd, "POST", "/", truncated, h)
    assert status == 400 and b"<Code>ValidationError</Code>" in body and b"Member must not be null" in body

    unknown = b"Action=MakeCoffee&Version=2010-05-08"
    h = signed_headers(daxd, "iam", unknown, {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    status, _, body = _raw(daxd, "POST", "/", unknown, h)
    assert status == 400 and b"<Code>InvalidAction</Code>" in body

    h = signed_headers(daxd, "dynamodb", b"{}", {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.MakeCoffee"})
    status, _, body = _raw(daxd, "POST", "/", b"{}", h)
    assert status == 400 and json.loads(body)["__type"].endswith("UnknownOperationException")


def test_oversize_body_is_refused():
    server = Daxd(args=["--max-body-bytes", "4096"]).start()
    try:
        big = b"Action=CreateUser&Version=2010-05-08&UserName=" + b"a" * 10000
        status, _, body = _raw(server, "POST", "/", big, {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 413 and b"<Code>RequestEntityTooLarge</Code>" in body
        assert server.client("sts").get_caller_identity()["Account"] == "123456789012"
    finally:
        server.close()


def test_invalid_utf8_header_gets_a_clean_error(daxd):
    url = urllib.parse.urlparse(daxd.endpoint)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    body = b"Action=ListUsers&Version=2010-05-08"
    conn.putrequest("POST", "/")
    conn.putheader("Content-Type", "application/x-www-form-urlencoded")
    conn.putheader("Authorization", b"AWS4-HMAC-SHA256 Credential=\xff\xfe/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00")
    conn.putheader("X-Amz-Date", "20260101T000000Z")
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    resp = conn.getresponse()
    data = resp.read()
    assert resp.status in (400, 403) and b"<Code>" in data
    assert resp.status != 500


# -------------------------------------------------------------- durability


def test_users_and_keys_survive_restart(daxd, iam):
    iam.create_user(UserName="dave")
    key = iam.create_access_key(UserName="dave")["AccessKey"]
    assert daxd.restart()
    assert daxd.client("iam").get_user(UserName="dave")["User"]["UserName"] == "dave"
    dave = daxd.client("sts", key=(key["AccessKeyId"], key["SecretAccessKey"]))
    assert dave.get_caller_identity()["Arn"].endswith(":user/dave")


def test_kill9_during_create_user_burst_loses_nothing_acknowledged(daxd):
    acked = []
    stop = threading.Event()

    def burst(worker):
        client = daxd.client("iam")
        i = 0
        while not stop.is_set():
            name = f"w{worker}-{i}"
            try:
                client.create_user(UserName=name)
            except Exception:  # the kill interrupts calls in flight
                return
            acked.append(name)
            i += 1

    threads = [threading.Thread(target=burst, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(acked) < 40 and time.monotonic() < deadline and any(t.is_alive() for t in threads):
        time.sleep(0.01)
    assert len(acked) >= 40, f"only {len(acked)} creations acknowledged before the kill (workers stopped or 60 s passed)"
    daxd.kill9()
    stop.set()
    for t in threads:
        t.join(30)
    daxd.start()
    present = {u["UserName"] for p in daxd.client("iam").get_paginator("list_users").paginate() for u in p["Users"]}
    missing = set(acked) - present
    assert not missing, f"acknowledged but lost: {sorted(missing)}"


# --------------------------------------------------------- the binary itself


def test_health_and_help(daxd):
    status, _, body = _raw(daxd, "GET", "/health")
    assert status == 200 and json.loads(body) == {"status": "ok"}
    for args in (["--help"], ["serve", "--help"]):
        out = subprocess.run([BIN, *args], capture_output=True, text=True, check=True).stdout
        for flag in ["--listen", "--data-dir", "--account-id", "--root-access-key-id", "--root-secret-access-key",
                     "--enable-reset", "--provisioning-delay-ms", "--dax-ports", "--dax-advertise-host",
                     "--dynamodb-endpoint", "--max-body-bytes"]:
            assert flag in out, (args, flag)


def test_generated_root_credentials_are_stored_0600_and_printed_once(tmp_path):
    server = Daxd(data_dir=tmp_path, root=None).start()
    try:
        lines = [l for l in server.output if l.startswith("export ")]
        assert len(lines) == 1
        env = dict(kv.split("=", 1) for kv in lines[0][len("export "):].split())
        assert env["AWS_ENDPOINT_URL"] == server.endpoint
        creds_file = tmp_path / "root-credentials.json"
        assert stat.S_IMODE(os.stat(creds_file).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(tmp_path / "state.db").st_mode) == 0o600
        key = (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"])
        assert server.client("sts", key=key).get_caller_identity()["Arn"].endswith(":root")
        server.restart()
        assert not [l for l in server.output if l.startswith("export ")]
        assert server.client("sts", key=key).get_caller_identity()["Arn"].endswith(":root")
    finally:
        server.close()


def test_root_credentials_from_environment(tmp_path):
    server = Daxd(data_dir=tmp_path, root=None, env={"DAXD_ROOT_ACCESS_KEY_ID": "ENVKEY", "DAXD_ROOT_SECRET_ACCESS_KEY": "ENVSECRET"})
    server.start()
    try:
        assert server.client("sts", key=("ENVKEY", "ENVSECRET")).get_caller_identity()["Account"] == "123456789012"
        assert not (tmp_path / "root-credentials.json").exists()
    finally:
        server.close()


def test_account_id_flag(tmp_path):
    server = Daxd(data_dir=tmp_path, args=["--account-id", "210987654321"]).start()
    try:
        assert server.client("sts").get_caller_identity()["Arn"] == "arn:aws:iam::210987654321:root"
        assert server.client("iam").create_user(UserName="x")["User"]["Arn"] == "arn:aws:iam::210987654321:user/x"
    finally:
        server.close()


def test_sigterm_shuts_down_gracefully(daxd):
    assert daxd.stop() == 0
    assert "daxd stopped" in daxd.output


def test_reset_requires_the_flag(daxd):
    status, _, body = _raw(daxd, "POST", "/moto-api/reset")
    assert status == 403


def test_reset_wipes_state():
    server = Daxd(args=["--enable-reset"]).start()
    try:
        server.client("iam").create_user(UserName="gone")
        status, _, body = _raw(server, "POST", "/moto-api/reset")
        assert status == 200 and json.loads(body) == {"status": "ok"}
        assert server.client("iam").list_users()["Users"] == []
        # The root keeps working after a reset.
        assert server.client("sts").get_caller_identity()["Account"] == "123456789012"
    finally:
        server.close()
