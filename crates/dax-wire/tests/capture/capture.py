#!/usr/bin/env python3
"""Record what the official Python DAX client (amazon-dax-client) sends.

A throw-away TCP stub accepts the client's connections, records every byte it receives,
and answers each request burst with canned bytes chosen by the last method id in the
burst (the client writes a request, then waits for the answer). The data connection's
bytes are saved under ../fixtures/:

  py_preamble.bin      the first burst: the 5-item connection preamble, then
                       authorizeConnection and defineKeySchema
  py_<op>.bin          one burst per operation (authorizeConnection first when the
                       client re-authorizes, then e.g. defineKeySchema or the request)
  py_session.bin       the whole client -> server stream of the data connection

Run from the repository root:  .venv/bin/python crates/dax-wire/tests/capture/capture.py
The fixtures are committed; the Rust tests only read them.
"""
import os
import socket
import sys
import threading
import time
from decimal import Decimal

import amazondax

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures")
QUIET = 0.25  # seconds of silence that end a burst

# method id CBOR (after the service id 01) -> canned answer
def answers(port):
    roster = (bytes.fromhex("8081a7000101696c6f63616c686f73740244") + bytes([127, 0, 0, 1])
              + bytes.fromhex("0319") + port.to_bytes(2, "big")
              + bytes.fromhex("0401056a75732d656173742d3161") + bytes.fromhex("06182a"))
    return {
        "1a1b2bcf02": ("endpoints", roster),
        "3a2c43e27e": ("defineKeySchema", None),  # depends on the table
        "3a495927bb": ("defineAttributeListId", bytes.fromhex("8002")),
        "1a27f9bd71": ("defineAttributeList", bytes.fromhex("8082616e6173")),
        "1a0fb0cc6a": ("getItem", bytes.fromhex("80a0")),
        "3a7d8e7e56": ("putItem", bytes.fromhex("80a0")),
        "1a3c696221": ("deleteItem", bytes.fromhex("80a0")),
        "1a54f89c0f": ("updateItem", bytes.fromhex("80a0")),
        "3a3781c2ae": ("query", bytes.fromhex("80a208000a00")),
        "3a6fc8309b": ("scan", bytes.fromhex("80a208000a00")),
        "3a29985cdb": ("batchGetItem", bytes.fromhex("8082a0a080")),
        "1a06ed585f": ("batchWriteItem", bytes.fromhex("80a080a0")),
        "1a6f3d49db": ("transactGetItems", bytes.fromhex("80828080")),
        "3a4524c569": ("transactWriteItems", bytes.fromhex("80838080a0")),
    }

SCHEMAS = {
    b"t1": bytes.fromhex("80a162706b6153"),
    b"t2": bytes.fromhex("80a262706b615362736b614e"),
}

connections = []  # list of (bursts, methods)


def last_method(burst, table):
    best = None
    for hexid, (name, _) in table.items():
        pat = bytes.fromhex("01" + hexid)
        i = burst.rfind(pat)
        if i >= 0 and (best is None or i > best[0]):
            best = (i, hexid)
    return best


def serve_conn(conn, port):
    table = answers(port)
    bursts, methods = [], []
    connections.append((bursts, methods))
    conn.settimeout(QUIET)
    pending = b""
    while True:
        try:
            data = conn.recv(65536)
            if not data:
                break
            pending += data
            continue
        except socket.timeout:
            if not pending:
                continue
        except OSError:
            break
        burst, pending = pending, b""
        bursts.append(burst)
        found = last_method(burst, table)
        if os.environ.get("CAPTURE_DEBUG"):
            print("burst", burst.hex(), found, file=sys.stderr)
        if found is None:
            methods.append("preamble-or-auth")
            continue
        i, hexid = found
        name, reply = table[hexid]
        methods.append(name)
        if name == "defineKeySchema":
            # 01 3a2c43e27e 42 <table>
            n = burst[i + 6] - 0x40
            reply = SCHEMAS.get(burst[i + 7:i + 7 + n], SCHEMAS[b"t1"])
        try:
            conn.sendall(reply)
        except OSError:
            break
    conn.close()


def main():
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    port = srv.getsockname()[1]

    def accept_loop():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=serve_conn, args=(c, port), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()

    client = amazondax.AmazonDaxClient(
        endpoint_url="dax://127.0.0.1:%d" % port, region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")

    ops = []

    def op(name, fn):
        fn()
        ops.append(name)

    op("get_item", lambda: client.get_item(TableName="t1", Key={"pk": {"S": "a"}}))
    op("put_item", lambda: client.put_item(TableName="t1", Item={"pk": {"S": "a"}, "n": {"N": "42"}, "s": {"S": "hi"}}))
    op("query", lambda: client.query(
        TableName="t2", KeyConditionExpression="pk = :h AND sk BETWEEN :a AND :b",
        ExpressionAttributeValues={":h": {"S": "h"}, ":a": {"N": "1"}, ":b": {"N": "2.5"}},
        Limit=10, ScanIndexForward=False, ReturnConsumedCapacity="TOTAL"))
    op("update_item", lambda: client.update_item(
        TableName="t1", Key={"pk": {"S": "a"}},
        UpdateExpression="SET #a = :v, b = b + :one REMOVE d ADD cnt :one DELETE ss :ss",
        ConditionExpression="attribute_exists(pk) AND (#a <> :v OR size(l) > :one)",
        ExpressionAttributeNames={"#a": "name"},
        ExpressionAttributeValues={":v": {"S": "x"}, ":one": {"N": "1"}, ":ss": {"SS": ["p", "q"]}},
        ReturnValues="UPDATED_NEW"))
    op("delete_item", lambda: client.delete_item(
        TableName="t1", Key={"pk": {"S": "a"}}, ConditionExpression="attribute_not_exists(pk)",
        ReturnValues="ALL_OLD"))
    op("get_item_projection", lambda: client.get_item(
        TableName="t1", Key={"pk": {"S": "a"}}, ConsistentRead=True,
        ProjectionExpression="a, b.c, #n[2].d, e[1][3]", ExpressionAttributeNames={"#n": "name"}))
    op("scan", lambda: client.scan(
        TableName="t2", FilterExpression="v IN (:x, :y) AND NOT begins_with(s, :x)",
        ExpressionAttributeValues={":x": {"S": "x"}, ":y": {"N": "-12345678901234567890123"}},
        Segment=1, TotalSegments=4, Select="COUNT"))
    op("batch_get_item", lambda: client.batch_get_item(RequestItems={
        "t1": {"Keys": [{"pk": {"S": "a"}}, {"pk": {"S": "b"}}], "ConsistentRead": True},
        "t2": {"Keys": [{"pk": {"S": "h"}, "sk": {"N": "2.5"}}], "ProjectionExpression": "v"}}))
    op("batch_write_item", lambda: client.batch_write_item(RequestItems={
        "t1": [{"PutRequest": {"Item": {"pk": {"S": "c"}, "n": {"N": "1"}, "s": {"S": "z"}}}},
               {"DeleteRequest": {"Key": {"pk": {"S": "d"}}}}]}))
    op("transact_get_items", lambda: client.transact_get_items(TransactItems=[
        {"Get": {"TableName": "t1", "Key": {"pk": {"S": "a"}}}},
        {"Get": {"TableName": "t2", "Key": {"pk": {"S": "h"}, "sk": {"N": "-0.5"}},
                 "ProjectionExpression": "v"}}]))
    op("transact_write_items", lambda: client.transact_write_items(TransactItems=[
        {"Put": {"TableName": "t1", "Item": {"pk": {"S": "p"}, "n": {"N": "1"}, "s": {"S": "z"}},
                 "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Update": {"TableName": "t1", "Key": {"pk": {"S": "u"}}, "UpdateExpression": "SET n = :n",
                    "ExpressionAttributeValues": {":n": {"N": "1e5"}},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
        {"Delete": {"TableName": "t1", "Key": {"pk": {"S": "x"}}}},
        {"ConditionCheck": {"TableName": "t2", "Key": {"pk": {"S": "h"}, "sk": {"N": "1"}},
                            "ConditionExpression": "attribute_exists(v)"}}],
        ClientRequestToken="tok-1"))
    time.sleep(QUIET * 2)
    try:
        client.close()
    except Exception:
        pass

    # The data connection is the one that saw getItem.
    data = [c for c in connections if "getItem" in c[1]]
    if not data:
        sys.exit("no data connection recorded")
    bursts, methods = data[0]
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "py_session.bin"), "wb") as f:
        f.write(b"".join(bursts))
    with open(os.path.join(OUT, "py_preamble.bin"), "wb") as f:
        f.write(bursts[0])
    # Name the bursts that carry each data operation, in call order.
    wanted = {
        "getItem": [], "putItem": [], "query": [], "updateItem": [], "deleteItem": [],
        "scan": [], "batchGetItem": [], "batchWriteItem": [], "transactGetItems": [],
        "transactWriteItems": [],
    }
    for b, m in zip(bursts, methods):
        if m in wanted:
            wanted[m].append(b)
    names = {"getItem": ["get_item", "get_item_projection"], "putItem": ["put_item"],
             "query": ["query"], "updateItem": ["update_item"], "deleteItem": ["delete_item"],
             "scan": ["scan"], "batchGetItem": ["batch_get_item"],
             "batchWriteItem": ["batch_write_item"], "transactGetItems": ["transact_get_items"],
             "transactWriteItems": ["transact_write_items"]}
    for m, fixture_names in names.items():
        for name, b in zip(fixture_names, wanted[m]):
            with open(os.path.join(OUT, "py_%s.bin" % name), "wb") as f:
                f.write(b)
    print("methods seen on the data connection:", methods)
    print("ops:", ops)


if __name__ == "__main__":
    main()
