"""The DynamoDB API behind IAM, with boto3 and the AWS CLI, run
twice: on the embedded engine, and in front of dynalite (a DynamoDB server
daxd did not write) through the remote backend."""
import http.client
import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from daxd import ROOT, Daxd, signed_headers, wait_for

ACCOUNT = "123456789012"
DYNALITE = ROOT / "tests" / "node" / "node_modules" / ".bin" / "dynalite"


def err_of(exc):
    e = exc.response
    return e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"], e["Error"].get("Message", "")


def err(exc_info):
    return err_of(exc_info.value)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dynalite:
    def __init__(self):
        if not DYNALITE.exists():
            raise RuntimeError(f"{DYNALITE} is missing: run ./scripts/test (it installs tests/node)")
        self.port = free_port()
        self.proc = subprocess.Popen([str(DYNALITE), "--port", str(self.port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("dynalite did not start")

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def close(self):
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture(params=["embedded", "remote"])
def server(request):
    peer = None
    args = []
    env = {}
    if request.param == "remote":
        peer = Dynalite()
        args = ["--dynamodb-endpoint", peer.endpoint]
        env = {"AWS_ACCESS_KEY_ID": "dynalite", "AWS_SECRET_ACCESS_KEY": "dynalite"}
    s = Daxd(args=args, env=env).start()
    s.backend = request.param
    yield s
    s.close()
    if peer:
        peer.close()


def make_books(ddb, name="Books"):
    ddb.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "author", "AttributeType": "S"},
            {"AttributeName": "title", "AttributeType": "S"},
            {"AttributeName": "year", "AttributeType": "N"},
        ],
        KeySchema=[{"AttributeName": "author", "KeyType": "HASH"}, {"AttributeName": "title", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{
            "IndexName": "by-year",
            "KeySchema": [{"AttributeName": "year", "KeyType": "HASH"}, {"AttributeName": "title", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }],
        BillingMode="PAY_PER_REQUEST",
    )
    waiter_deadline = time.time() + 10
    while ddb.describe_table(TableName=name)["Table"]["TableStatus"] != "ACTIVE":
        assert time.time() < waiter_deadline
        time.sleep(0.05)


def book(author, title, year, **extra):
    item = {"author": {"S": author}, "title": {"S": title}, "year": {"N": str(year)}}
    item.update(extra)
    return item


def test_table_and_item_lifecycle(server):
    ddb = server.client("dynamodb")
    make_books(ddb)
    ddb.put_item(TableName="Books", Item=book("Herbert", "Dune", 1965, pages={"N": "412"}))
    ddb.put_item(TableName="Books", Item=book("Herbert", "Dune Messiah", 1969))
    got = ddb.get_item(TableName="Books", Key={"author": {"S": "Herbert"}, "title": {"S": "Dune"}})["Item"]
    assert got["pages"] == {"N": "412"}

    # Conditional update; a failed condition is ConditionalCheckFailedException.
    out = ddb.update_item(
        TableName="Books", Key={"author": {"S": "Herbert"}, "title": {"S": "Dune"}},
        UpdateExpression="SET pages = pages + :n", ConditionExpression="pages = :old",
        ExpressionAttributeValues={":n": {"N": "1"}, ":old": {"N": "412"}}, ReturnValues="UPDATED_NEW")
    assert out["Attributes"] == {"pages": {"N": "413"}}
    with pytest.raises(ClientError) as e:
        ddb.update_item(
            TableName="Books", Key={"author": {"S": "Herbert"}, "title": {"S": "Dune"}},
            UpdateExpression="SET pages = :n", ConditionExpression="pages = :old",
            ExpressionAttributeValues={":n": {"N": "1"}, ":old": {"N": "412"}})
    assert err(e)[:2] == ("ConditionalCheckFailedException", 400)

    # Query on the table and on the GSI.
    q = ddb.query(TableName="Books", KeyConditionExpression="author = :a AND begins_with(title, :t)",
                  ExpressionAttributeValues={":a": {"S": "Herbert"}, ":t": {"S": "Dune"}})
    assert [i["title"]["S"] for i in q["Items"]] == ["Dune", "Dune Messiah"]
    q = ddb.query(TableName="Books", IndexName="by-year", KeyConditionExpression="#y = :y",
                  ExpressionAttributeNames={"#y": "year"}, ExpressionAttributeValues={":y": {"N": "1969"}})
    assert [i["title"]["S"] for i in q["Items"]] == ["Dune Messiah"]

    # Batch write and get, then a paginated scan.
    ddb.batch_write_item(RequestItems={"Books": [{"PutRequest": {"Item": book("Le Guin", f"Book {i:02}", 1970 + i)}} for i in range(12)]})
    got = ddb.batch_get_item(RequestItems={"Books": {"Keys": [{"author": {"S": "Le Guin"}, "title": {"S": "Book 03"}},
                                                               {"author": {"S": "Herbert"}, "title": {"S": "Dune"}}]}})
    assert len(got["Responses"]["Books"]) == 2
    pages = list(ddb.get_paginator("scan").paginate(TableName="Books", PaginationConfig={"PageSize": 5}))
    assert sum(len(p["Items"]) for p in pages) == 14 and len(pages) >= 3

    # Transactions, and their cancellation reasons. dynalite has no
    # transactions: in front of it, daxd passes its error through unchanged.
    if server.backend == "remote":
        with pytest.raises(ClientError) as e:
            ddb.transact_write_items(TransactItems=[{"Put": {"TableName": "Books", "Item": book("Banks", "Excession", 1996)}}])
        assert err(e)[:2] == ("UnknownOperationException", 400)
        ddb.put_item(TableName="Books", Item=book("Banks", "Excession", 1996))
        ddb.update_item(TableName="Books", Key={"author": {"S": "Herbert"}, "title": {"S": "Dune"}},
                        UpdateExpression="SET sold = :s", ExpressionAttributeValues={":s": {"BOOL": True}})
    else:
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "Books", "Item": book("Banks", "Excession", 1996)}},
            {"Update": {"TableName": "Books", "Key": {"author": {"S": "Herbert"}, "title": {"S": "Dune"}},
                        "UpdateExpression": "SET sold = :s", "ExpressionAttributeValues": {":s": {"BOOL": True}}}},
        ])
        with pytest.raises(ClientError) as e:
            ddb.transact_write_items(TransactItems=[
                {"Put": {"TableName": "Books", "Item": book("Banks", "Excession", 1996), "ConditionExpression": "attribute_not_exists(title)"}},
                {"Put": {"TableName": "Books", "Item": book("Banks", "Matter", 2008)}},
            ])
        assert err(e)[:2] == ("TransactionCanceledException", 400)
        reasons = e.value.response["CancellationReasons"]
        assert [r["Code"] for r in reasons] == ["ConditionalCheckFailed", "None"]
        tg = ddb.transact_get_items(TransactItems=[{"Get": {"TableName": "Books", "Key": {"author": {"S": "Banks"}, "title": {"S": "Excession"}}}}])
        assert tg["Responses"][0]["Item"]["year"] == {"N": "1996"}

    # A table ARN works as a table name.
    arn = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Books"
    assert ddb.get_item(TableName=arn, Key={"author": {"S": "Banks"}, "title": {"S": "Excession"}})["Item"]

    # The CLI agrees.
    out = json.loads(server.aws("dynamodb", "get-item", "--table-name", "Books", "--key",
                                json.dumps({"author": {"S": "Herbert"}, "title": {"S": "Dune"}})).stdout)
    assert out["Item"]["sold"] == {"BOOL": True}

    ddb.delete_table(TableName="Books")

    def gone():
        try:
            ddb.describe_table(TableName="Books")  # DELETING for a moment on some engines
        except ClientError as e:
            assert err_of(e)[:2] == ("ResourceNotFoundException", 400)
            return True
        return False
    wait_for(gone)


def test_regions_are_separate(server):
    if server.backend == "remote":
        pytest.skip("one remote endpoint serves every region (see docs/dynamodb.md)")
    east, west = server.client("dynamodb"), server.client("dynamodb", region="eu-west-1")
    make_books(east, "Regional")
    assert "Regional" in east.list_tables()["TableNames"]
    assert "Regional" not in west.list_tables()["TableNames"]
    with pytest.raises(ClientError) as e:
        west.get_item(TableName="Regional", Key={"author": {"S": "a"}, "title": {"S": "b"}})
    assert err(e)[:2] == ("ResourceNotFoundException", 400)


def user(server, name, policy):
    iam = server.client("iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": policy}))
    k = iam.create_access_key(UserName=name)["AccessKey"]
    return server.client("dynamodb", key=(k["AccessKeyId"], k["SecretAccessKey"]))


def test_iam_limits_actions_tables_and_partitions(server):
    root = server.client("dynamodb")
    make_books(root, "TabA")
    make_books(root, "TabB")
    root.put_item(TableName="TabA", Item=book("alice", "t", 1))
    root.put_item(TableName="TabA", Item=book("bob", "t", 1))
    root.put_item(TableName="TabB", Item=book("alice", "t", 1))

    reader = user(server, "reader", [{"Effect": "Allow", "Action": "dynamodb:GetItem",
                                      "Resource": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/TabA"}])
    assert reader.get_item(TableName="TabA", Key={"author": {"S": "alice"}, "title": {"S": "t"}})["Item"]
    with pytest.raises(ClientError) as e:
        reader.put_item(TableName="TabA", Item=book("x", "y", 1))
    code, status, message = err(e)
    assert (code, status) == ("AccessDeniedException", 400)
    assert message == (f"User: arn:aws:iam::{ACCOUNT}:user/reader is not authorized to perform: dynamodb:PutItem on resource: "
                       f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/TabA because no identity-based policy allows the dynamodb:PutItem action")
    with pytest.raises(ClientError) as e:
        reader.get_item(TableName="TabB", Key={"author": {"S": "alice"}, "title": {"S": "t"}})
    assert err(e)[:2] == ("AccessDeniedException", 400)

    # dynamodb:LeadingKeys keeps a user to its own partition.
    alice = user(server, "alice", [{
        "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
        "Resource": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/TabA",
        "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:username}"]}},
    }])
    assert alice.get_item(TableName="TabA", Key={"author": {"S": "alice"}, "title": {"S": "t"}})["Item"]
    alice.put_item(TableName="TabA", Item=book("alice", "new", 2))
    assert len(alice.query(TableName="TabA", KeyConditionExpression="author = :a", ExpressionAttributeValues={":a": {"S": "alice"}})["Items"]) == 2
    for call in (
        lambda: alice.get_item(TableName="TabA", Key={"author": {"S": "bob"}, "title": {"S": "t"}}),
        lambda: alice.put_item(TableName="TabA", Item=book("bob", "evil", 2)),
        lambda: alice.query(TableName="TabA", KeyConditionExpression="author = :a", ExpressionAttributeValues={":a": {"S": "bob"}}),
    ):
        with pytest.raises(ClientError) as e:
            call()
        assert err(e)[:2] == ("AccessDeniedException", 400)


def test_resource_policies(server):
    root = server.client("dynamodb")
    make_books(root, "Shared")
    arn = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Shared"
    guest = user(server, "guest", [{"Effect": "Allow", "Action": "dynamodb:ListTables", "Resource": "*"}])
    with pytest.raises(ClientError) as e:
        guest.get_item(TableName="Shared", Key={"author": {"S": "a"}, "title": {"S": "b"}})
    assert err(e)[:2] == ("AccessDeniedException", 400)
    with pytest.raises(ClientError) as e:
        root.get_resource_policy(ResourceArn=arn)
    assert err(e)[0] == "PolicyNotFoundException"
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/guest"},
        "Action": "dynamodb:GetItem", "Resource": arn}]})
    rev = root.put_resource_policy(ResourceArn=arn, Policy=policy)["RevisionId"]
    got = root.get_resource_policy(ResourceArn=arn)
    assert got["RevisionId"] == rev and json.loads(got["Policy"])["Statement"][0]["Action"] == "dynamodb:GetItem"
    # The table's own policy grants the guest.
    assert "Item" not in guest.get_item(TableName="Shared", Key={"author": {"S": "a"}, "title": {"S": "b"}})
    with pytest.raises(ClientError) as e:
        root.put_resource_policy(ResourceArn=arn, Policy=policy, ExpectedRevisionId="999")
    assert err(e)[0] == "PolicyNotFoundException"
    root.delete_resource_policy(ResourceArn=arn)
    with pytest.raises(ClientError) as e:
        guest.get_item(TableName="Shared", Key={"author": {"S": "a"}, "title": {"S": "b"}})
    assert err(e)[:2] == ("AccessDeniedException", 400)


def test_restart_keeps_data(server):
    if server.backend == "remote":
        pytest.skip("the remote backend's data lives in dynalite, which outlives daxd's restart by design")
    ddb = server.client("dynamodb")
    make_books(ddb, "Durable")
    for i in range(20):
        ddb.put_item(TableName="Durable", Item=book("a", f"t{i}", i))
    server.kill9()
    server.start()
    ddb = server.client("dynamodb")
    assert ddb.scan(TableName="Durable", Select="COUNT")["Count"] == 20


def test_remote_backend_survives_daxd_restart(server):
    if server.backend != "remote":
        pytest.skip("remote backend only")
    ddb = server.client("dynamodb")
    make_books(ddb, "Remote")
    ddb.put_item(TableName="Remote", Item=book("a", "t", 1))
    server.restart()
    assert server.client("dynamodb").get_item(TableName="Remote", Key={"author": {"S": "a"}, "title": {"S": "t"}})["Item"]



def connection_threads(pid):
    """How many of daxd's threads serve one HTTP connection each (`--http-connection-threads`)."""
    n = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                n += f.read().strip() == "daxd-http-conn"
        except (FileNotFoundError, ProcessLookupError):  # the thread ended meanwhile (ENOENT or ESRCH)
            pass
    return n


class RawConnection:
    """One keep-alive HTTP connection that sends SigV4-signed DynamoDB calls and notices
    if the server ever closes it."""

    def __init__(self, daxd):
        self.daxd = daxd
        self.conn = http.client.HTTPConnection(daxd.endpoint.split("//", 1)[1], timeout=10)
        self.conn.connect()
        self.sock = self.conn.sock

    def call(self, op, body):
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"DynamoDB_20120810.{op}"}
        self.conn.request("POST", "/", body=data, headers=signed_headers(self.daxd, "dynamodb", data, headers))
        r = self.conn.getresponse()
        out = json.loads(r.read())
        assert r.status == 200, out
        # The same socket, never told to close: the connection was not cut over to another.
        assert self.conn.sock is self.sock and r.getheader("connection", "") != "close"
        return out

    def close(self):
        self.conn.close()


def test_connection_threads_serve_few_connections_and_hand_them_over_under_load():
    """The first --http-connection-threads connections are each served by a thread of their
    own (where engine calls run in place); once more connections are open than that, new
    ones go to the async runtime and those on threads move there at their next request,
    unseen by the client; with fewer connections again, new ones get threads. Every
    connection keeps being answered throughout, and a graceful stop ends them all."""
    d = Daxd(args=["--http-connection-threads", "2"]).start()
    try:
        setup = d.client("dynamodb")
        make_books(setup, "Threads")
        setup.close()
        wait_for(lambda: connection_threads(d.proc.pid) == 0, 5)
        threads = lambda: connection_threads(d.proc.pid)  # noqa: E731
        key = lambda i: {"author": {"S": "a"}, "title": {"S": f"t{i}"}}  # noqa: E731

        def round_trip(c, i):
            c.call("PutItem", {"TableName": "Threads", "Item": {**key(i), "year": {"N": str(i)}}})
            assert c.call("GetItem", {"TableName": "Threads", "Key": key(i)})["Item"]["year"] == {"N": str(i)}

        c1, c2 = RawConnection(d), RawConnection(d)
        round_trip(c1, 1)
        round_trip(c2, 2)
        assert threads() == 2
        c3 = RawConnection(d)  # three open: crowded, c3 goes to the runtime
        round_trip(c3, 3)
        round_trip(c1, 1)  # c1 and c2 move at their next wake-up (if not already)
        round_trip(c2, 2)
        wait_for(lambda: threads() == 0, 5)
        for i, c in enumerate([c1, c2, c3], 1):
            round_trip(c, i)
        c2.close()
        c3.close()

        def fresh_connection_on_a_thread():
            # Once daxd has seen both closes, two are open: c1 (on the runtime) and this one.
            c = RawConnection(d)
            round_trip(c, 4)
            if threads() == 1:
                return c
            c.close()
            return None

        c4 = wait_for(fresh_connection_on_a_thread, 10, interval=0.1)
        round_trip(c4, 4)
        round_trip(c1, 1)
        assert threads() == 1
        # SIGTERM with a connection on a thread and one on the runtime: daxd stops cleanly.
        assert d.stop(timeout=15) == 0
        assert "daxd stopped" in d.output
    finally:
        d.close()


def test_no_connection_threads():
    d = Daxd(args=["--http-connection-threads", "0"]).start()
    try:
        make_books(d.client("dynamodb"), "Threads")
        c = RawConnection(d)
        c.call("PutItem", {"TableName": "Threads", "Item": {"author": {"S": "a"}, "title": {"S": "t"}}})
        assert c.call("GetItem", {"TableName": "Threads", "Key": {"author": {"S": "a"}, "title": {"S": "t"}}})["Item"]
        assert connection_threads(d.proc.pid) == 0
    finally:
        d.close()
