"""The DAX data plane, driven by the OFFICIAL Python DAX client
(amazon-dax-client 2.1.0, `amazondax`) against clusters created through daxd's
control plane, with writes made around DAX through daxd's DynamoDB API (boto3)
to show the cache semantics."""
import json
import threading
import time
import urllib.request
from contextlib import contextmanager
from decimal import Decimal

import amazondax
import pytest
from botocore.exceptions import ClientError

from daxd import Daxd, refused, wait_for

ACCOUNT = "123456789012"
REGION = "us-east-1"
DAX_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "dax.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
# Lifecycles take a visible moment so that the background tick (200 ms) sees nodes
# rebooting; ports from a range the other suites do not use.
ARGS = ["--provisioning-delay-ms", "600", "--dax-ports", "24200-24299"]


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def code_of(exc_info):
    return exc_info.value.response["Error"]["Code"]


def wait_status(dax, name, status, timeout=20):
    def check():
        c = dax.describe_clusters(ClusterNames=[name])["Clusters"][0]
        return c if c["Status"] == status and all(n["NodeStatus"] == "available" for n in c.get("Nodes", [])) else None
    return wait_for(check, timeout)


def role(iam, name, *statements, managed=None):
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=DAX_TRUST)
    if managed:
        iam.attach_role_policy(RoleName=name, PolicyArn=managed)
    if statements:
        iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=doc(*statements))
    return iam.get_role(RoleName=name)["Role"]["Arn"]


def create_cluster(daxd, name, role_arn, rf=1, parameter_group=None):
    dax = daxd.client("dax")
    kw = {"ParameterGroupName": parameter_group} if parameter_group else {}
    dax.create_cluster(ClusterName=name, NodeType="dax.t3.small", ReplicationFactor=rf, IamRoleArn=role_arn, **kw)
    c = wait_status(dax, name, "available")
    # Listeners start on the background tick (every 200 ms) after the nodes are available.
    wait_for(lambda: not any(refused(n["Endpoint"]["Port"]) for n in c["Nodes"]), 5)
    return c


def parameter_group(daxd, name, record_ms, query_ms):
    dax = daxd.client("dax")
    dax.create_parameter_group(ParameterGroupName=name)
    set_ttls(daxd, name, record_ms, query_ms)


def set_ttls(daxd, name, record_ms, query_ms):
    daxd.client("dax").update_parameter_group(ParameterGroupName=name, ParameterNameValues=[
        {"ParameterName": "record-ttl-millis", "ParameterValue": str(record_ms)},
        {"ParameterName": "query-ttl-millis", "ParameterValue": str(query_ms)}])


@contextmanager
def dax_client(url, key, token=None):
    c = amazondax.AmazonDaxClient(endpoint_url=url, region_name=REGION, aws_access_key_id=key[0],
                                  aws_secret_access_key=key[1], aws_session_token=token)
    try:
        yield c
    finally:
        c.close()


def backends(client):
    return dict(client._cluster._router.backends)


def pin(client, port, reads=True, writes=False):
    """Send this client's reads (and writes) to the node on `port` only."""
    b = wait_for(lambda: next((b for ap, b in backends(client).items() if ap.port == port and b.client), None))
    if reads:
        client._cluster.read_client = lambda prev_client=None: b.client
    if writes:
        client._cluster.write_client = lambda prev_client=None: b.client


def leader_ports(client):
    return {ap.port for ap, b in backends(client).items() if b.leader}


def metrics(daxd):
    text = urllib.request.urlopen(daxd.endpoint + "/metrics").read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def node_metric(daxd, cluster, node, name):
    return metrics(daxd).get(f'dax_node_{name}{{region="{REGION}",cluster="{cluster}",node="{node}"}}', 0)


def cluster_metric(daxd, cluster, name):
    return metrics(daxd).get(f'dax_cluster_{name}{{region="{REGION}",cluster="{cluster}"}}', 0)


def norm(v):
    """An AttributeValue (or item) with numbers compared by value and sets unordered."""
    if isinstance(v, dict):
        if len(v) == 1:
            (t, x), = v.items()
            if t == "N":
                return ("N", Decimal(x))
            if t == "NS":
                return ("NS", frozenset(Decimal(n) for n in x))
            if t in ("SS", "BS"):
                return (t, frozenset(x))
            if t == "L":
                return ("L", tuple(norm(e) for e in x))
            if t == "M":
                return ("M", norm(x))
        return tuple(sorted((k, norm(e)) for k, e in v.items()))
    return v


def norm_items(items):
    return sorted(norm(i) for i in items)


# ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def env():
    """One daxd with a full-access cluster role, a table with a GSI, and a cluster whose
    parameter group keeps results long (functional tests)."""
    daxd = Daxd(args=ARGS).start()
    iam = daxd.client("iam")
    full = role(iam, "DAXFull", managed="arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess")
    ddb = daxd.client("dynamodb")
    ddb.create_table(
        TableName="Things",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"},
                              {"AttributeName": "cat", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{"IndexName": "byCat", "KeySchema": [{"AttributeName": "cat", "KeyType": "HASH"},
                                                                      {"AttributeName": "sk", "KeyType": "RANGE"}],
                                 "Projection": {"ProjectionType": "ALL"}}],
        BillingMode="PAY_PER_REQUEST")
    ddb.create_table(TableName="Simple", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    cluster = create_cluster(daxd, "func", full)
    daxd.role_arn = full
    daxd.url = cluster["ClusterDiscoveryEndpoint"]["URL"]
    yield daxd
    daxd.close()


EVERY_TYPE = {
    "pk": {"S": "types"}, "sk": {"N": "1"},
    "s": {"S": "héllo wörld"}, "empty_s": {"S": ""},
    "n_int": {"N": "42"}, "n_neg": {"N": "-17"}, "n_dec": {"N": "3.14159"}, "n_big": {"N": "12345678901234567890123456789012345678"},
    "n_small": {"N": "1E-130"}, "n_exp": {"N": "1.5E+3"},
    "b": {"B": b"\x00\x01\xfe\xff"}, "t": {"BOOL": True}, "f": {"BOOL": False}, "nul": {"NULL": True},
    "l": {"L": [{"S": "a"}, {"N": "1"}, {"L": [{"BOOL": False}]}, {"M": {"k": {"S": "v"}}}]},
    "m": {"M": {"name": {"S": "x"}, "nested": {"M": {"deep": {"N": "7"}}}, "list": {"L": [{"S": "0"}, {"S": "1"}, {"S": "2"}]}}},
    "ss": {"SS": ["a", "b", "c"]}, "ns": {"NS": ["1", "2.5", "-3"]}, "bs": {"BS": [b"x", b"y"]},
    "reserved words": {"S": "name with space"},
}


def test_every_value_type_round_trips(env):
    ddb = env.client("dynamodb")
    with dax_client(env.url, env.root) as dax:
        assert dax.put_item(TableName="Things", Item=EVERY_TYPE).get("Attributes") is None
        got = dax.get_item(TableName="Things", Key={"pk": {"S": "types"}, "sk": {"N": "1"}})["Item"]
        assert norm(got) == norm(EVERY_TYPE)
        # What DAX wrote is what DynamoDB holds.
        direct = ddb.get_item(TableName="Things", Key={"pk": {"S": "types"}, "sk": {"N": "1"}}, ConsistentRead=True)["Item"]
        assert norm(direct) == norm(EVERY_TYPE)
        # Projections with nested paths, list indexes and attribute-name placeholders.
        proj = dax.get_item(TableName="Things", Key={"pk": {"S": "types"}, "sk": {"N": "1"}},
                            ProjectionExpression="s, m.nested.deep, m.#l[1], #r, l[3].k, missing",
                            ExpressionAttributeNames={"#l": "list", "#r": "reserved words"})["Item"]
        assert norm(proj) == norm({"s": {"S": "héllo wörld"},
                                   "m": {"M": {"nested": {"M": {"deep": {"N": "7"}}}, "list": {"L": [{"S": "1"}]}}},
                                   "reserved words": {"S": "name with space"}, "l": {"L": [{"M": {"k": {"S": "v"}}}]}})
        # Numbers of any form: the hash key as a big decimal, sort key values compared numerically.
        item = {"pk": {"S": "num"}, "sk": {"N": "2.50"}, "v": {"N": "0.000001"}}
        dax.put_item(TableName="Things", Item=item)
        assert norm(dax.get_item(TableName="Things", Key={"pk": {"S": "num"}, "sk": {"N": "2.5"}})["Item"]) == norm(item)
        # Sort keys past DynamoDB's 38 digits when written out: the node encodes their key
        # bytes as the client does (coefficient and exponent), and the client decodes them.
        for sk in ("1E+100", "-1E+100", "12E+37", "1E+38"):
            dax.put_item(TableName="Things", Item={"pk": {"S": "huge"}, "sk": {"N": sk}})
        got = dax.query(TableName="Things", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "huge"}})
        assert [Decimal(i["sk"]["N"]) for i in got["Items"]] == [Decimal("-1E+100"), Decimal("1E+38"), Decimal("12E+37"), Decimal("1E+100")]
        # Consistent reads, ReturnConsumedCapacity.
        out = dax.get_item(TableName="Things", Key={"pk": {"S": "num"}, "sk": {"N": "2.5"}}, ConsistentRead=True,
                           ReturnConsumedCapacity="TOTAL")
        assert out["ConsumedCapacity"]["TableName"] == "Things"


def test_writes_return_values_and_conditions(env):
    key = {"id": {"S": "rv"}}
    with dax_client(env.url, env.root) as dax:
        dax.put_item(TableName="Simple", Item={**key, "a": {"N": "1"}, "b": {"S": "x"}, "ss": {"SS": ["p", "q"]}})
        old = dax.put_item(TableName="Simple", Item={**key, "a": {"N": "2"}, "b": {"S": "y"}, "ss": {"SS": ["p", "q"]}},
                           ReturnValues="ALL_OLD")["Attributes"]
        assert norm(old) == norm({**key, "a": {"N": "1"}, "b": {"S": "x"}, "ss": {"SS": ["p", "q"]}})
        upd = "SET a = a + :one, c = if_not_exists(c, :zero), m = :m REMOVE b ADD cnt :one DELETE ss :p"
        vals = {":one": {"N": "1"}, ":zero": {"N": "0"}, ":m": {"M": {"x": {"L": [{"S": "0"}, {"S": "1"}]}}}, ":p": {"SS": ["p"]}}
        # NONE answers nothing, even though the node asks DynamoDB for the new image.
        assert "Attributes" not in dax.update_item(TableName="Simple", Key=key, UpdateExpression=upd,
                                                   ExpressionAttributeValues=vals, ReturnValues="NONE")
        new = dax.get_item(TableName="Simple", Key=key)["Item"]
        assert norm(new) == norm({**key, "a": {"N": "3"}, "c": {"N": "0"}, "cnt": {"N": "1"}, "ss": {"SS": ["q"]},
                                  "m": {"M": {"x": {"L": [{"S": "0"}, {"S": "1"}]}}}})
        # UPDATED_NEW of a target through a list index: the whole top-level attribute, as daxd's
        # DynamoDB API (the reference for a node's answers) gives it; checked on a twin item.
        twin = {"id": {"S": "rv-twin"}}
        ddb = env.client("dynamodb")
        ddb.put_item(TableName="Simple", Item={**new, **twin})
        change = {"UpdateExpression": "SET a = a + :one, m.x[1] = :v, m.y = :v",
                  "ExpressionAttributeValues": {":one": {"N": "1"}, ":v": {"S": "new"}}, "ReturnValues": "UPDATED_NEW"}
        out = dax.update_item(TableName="Simple", Key=key, **change)
        want = ddb.update_item(TableName="Simple", Key=twin, **change)["Attributes"]
        assert norm(out["Attributes"]) == norm(want)
        assert norm(out["Attributes"]) == norm({"a": {"N": "4"}, "m": {"M": {"x": {"L": [{"S": "0"}, {"S": "new"}]}, "y": {"S": "new"}}}})
        out = dax.update_item(TableName="Simple", Key=key, UpdateExpression="SET a = :v",
                              ExpressionAttributeValues={":v": {"N": "10"}}, ReturnValues="UPDATED_OLD")
        assert norm(out["Attributes"]) == norm({"a": {"N": "4"}})
        out = dax.update_item(TableName="Simple", Key=key, UpdateExpression="SET a = :v",
                              ExpressionAttributeValues={":v": {"N": "11"}}, ReturnValues="ALL_NEW")
        assert out["Attributes"]["a"] == {"N": "11"} and out["Attributes"]["id"] == {"S": "rv"}
        out = dax.update_item(TableName="Simple", Key=key, UpdateExpression="SET a = :v",
                              ExpressionAttributeValues={":v": {"N": "12"}}, ReturnValues="ALL_OLD")
        assert out["Attributes"]["a"] == {"N": "11"}
        # After an ALL_OLD update the node does not know the new image: the next read is fresh.
        assert dax.get_item(TableName="Simple", Key=key)["Item"]["a"] == {"N": "12"}
        # Conditions.
        with pytest.raises(ClientError) as e:
            dax.put_item(TableName="Simple", Item={**key}, ConditionExpression="attribute_not_exists(id)")
        assert code_of(e) == "ConditionalCheckFailedException"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        with pytest.raises(ClientError) as e:
            dax.update_item(TableName="Simple", Key=key, UpdateExpression="SET a = :v",
                            ConditionExpression="a BETWEEN :lo AND :hi AND begins_with(#n, :p) OR size(c) > :big",
                            ExpressionAttributeNames={"#n": "id"},
                            ExpressionAttributeValues={":v": {"N": "0"}, ":lo": {"N": "100"}, ":hi": {"N": "200"},
                                                       ":p": {"S": "r"}, ":big": {"N": "99"}})
        assert code_of(e) == "ConditionalCheckFailedException"
        dax.update_item(TableName="Simple", Key=key, UpdateExpression="SET a = :v", ConditionExpression="a IN (:x, :y) AND NOT contains(ss, :z)",
                        ExpressionAttributeValues={":v": {"N": "13"}, ":x": {"N": "12"}, ":y": {"N": "0"}, ":z": {"S": "zz"}})
        old = dax.delete_item(TableName="Simple", Key=key, ReturnValues="ALL_OLD")["Attributes"]
        assert old["a"] == {"N": "13"}
        assert "Item" not in dax.get_item(TableName="Simple", Key=key)
        # Validation errors come back as DynamoDB's.
        with pytest.raises(ClientError) as e:
            dax.update_item(TableName="Simple", Key=key, UpdateExpression="SET a = a + :s", ExpressionAttributeValues={":s": {"S": "x"}})
        assert code_of(e) == "ValidationException"


def load_things(dax, n=12):
    with_cat = []
    for i in range(n):
        item = {"pk": {"S": "q"}, "sk": {"N": str(i)}, "cat": {"S": "even" if i % 2 == 0 else "odd"}, "v": {"N": str(i * 10)},
                "tag": {"S": f"t{i % 3}"}}
        with_cat.append(item)
    for chunk in (with_cat[:6], with_cat[6:]):
        out = dax.batch_write_item(RequestItems={"Things": [{"PutRequest": {"Item": i}} for i in chunk]})
        assert out["UnprocessedItems"] == {}
    return with_cat


def test_query_scan_pagination_and_indexes(env):
    ddb = env.client("dynamodb")
    with dax_client(env.url, env.root) as dax:
        items = load_things(dax)
        q = dict(TableName="Things", KeyConditionExpression="pk = :p AND sk BETWEEN :a AND :b",
                 ExpressionAttributeValues={":p": {"S": "q"}, ":a": {"N": "2"}, ":b": {"N": "9"}})
        out = dax.query(**q)
        assert out["Count"] == 8 and [i["sk"]["N"] for i in out["Items"]] == [str(i) for i in range(2, 10)]
        assert norm_items(out["Items"]) == norm_items(ddb.query(**q)["Items"])
        desc = dax.query(**q, ScanIndexForward=False, Limit=3)
        assert [i["sk"]["N"] for i in desc["Items"]] == ["9", "8", "7"] and "LastEvaluatedKey" in desc
        # Pagination: page by page, each page the same as DynamoDB's.
        pages, start = [], None
        while True:
            kw = {"ExclusiveStartKey": start} if start else {}
            page = dax.query(**q, Limit=3, **kw)
            assert norm_items(page["Items"]) == norm_items(ddb.query(**q, Limit=3, **kw)["Items"])
            pages.append([i["sk"]["N"] for i in page["Items"]])
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        assert sum(pages, []) == [str(i) for i in range(2, 10)] and len(pages) >= 3
        # Filters, projections, COUNT.
        f = dax.query(**{**q, "ExpressionAttributeValues": {**q["ExpressionAttributeValues"], ":t": {"S": "t1"}}},
                      FilterExpression="tag = :t", ProjectionExpression="sk, #v", ExpressionAttributeNames={"#v": "v"})
        assert f["Items"] == [{"sk": {"N": "4"}, "v": {"N": "40"}}, {"sk": {"N": "7"}, "v": {"N": "70"}}]
        assert f["ScannedCount"] == 8 and f["Count"] == 2
        c = dax.query(**q, Select="COUNT")
        assert c["Count"] == 8 and "Items" not in c
        # A global secondary index, paginated with compound keys.
        gi = dict(TableName="Things", IndexName="byCat", KeyConditionExpression="cat = :c",
                  ExpressionAttributeValues={":c": {"S": "odd"}})
        got, start = [], None
        while True:
            page = dax.query(**gi, Limit=2, **({"ExclusiveStartKey": start} if start else {}))
            got += page["Items"]
            start = page.get("LastEvaluatedKey")
            if start:
                assert set(start) == {"pk", "sk", "cat"}
            else:
                break
        assert norm_items(got) == norm_items([i for i in items if i["cat"]["S"] == "odd"])
        # Scan: filter with IN, segments, pagination.
        s = dax.scan(TableName="Things", FilterExpression="tag IN (:a, :b) AND attribute_exists(cat)",
                     ExpressionAttributeValues={":a": {"S": "t0"}, ":b": {"S": "t2"}})
        assert s["Count"] == 8
        seg = [dax.scan(TableName="Things", Segment=i, TotalSegments=2, ConsistentRead=True)["Items"] for i in range(2)]
        assert norm_items(seg[0] + seg[1]) == norm_items(ddb.scan(TableName="Things", ConsistentRead=True)["Items"])
        paged, start = [], None
        while True:
            page = dax.scan(TableName="Things", Limit=5, **({"ExclusiveStartKey": start} if start else {}))
            paged += page["Items"]
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        assert len(paged) == len(ddb.scan(TableName="Things")["Items"])
        # An index scan.
        assert dax.scan(TableName="Things", IndexName="byCat", Select="COUNT")["Count"] == 12


def test_batches_and_transactions(env):
    with dax_client(env.url, env.root) as dax:
        load_things(dax)
        keys = [{"pk": {"S": "q"}, "sk": {"N": str(i)}} for i in (1, 2, 3)] + [{"pk": {"S": "none"}, "sk": {"N": "0"}}]
        out = dax.batch_get_item(RequestItems={"Things": {"Keys": keys},
                                               "Simple": {"Keys": [{"id": {"S": "absent"}}]}})
        assert sorted(i["sk"]["N"] for i in out["Responses"]["Things"]) == ["1", "2", "3"]
        assert out["Responses"].get("Simple", []) == []
        proj = dax.batch_get_item(RequestItems={"Things": {"Keys": keys[:2], "ProjectionExpression": "v",
                                                           "ConsistentRead": True}})
        assert sorted(i["v"]["N"] for i in proj["Responses"]["Things"]) == ["10", "20"]
        dax.batch_write_item(RequestItems={"Things": [{"DeleteRequest": {"Key": keys[0]}},
                                                      {"PutRequest": {"Item": {"pk": {"S": "bw"}, "sk": {"N": "1"}, "x": {"BS": [b"1"]}}}}]})
        assert "Item" not in dax.get_item(TableName="Things", Key=keys[0])
        assert dax.get_item(TableName="Things", Key={"pk": {"S": "bw"}, "sk": {"N": "1"}})["Item"]["x"] == {"BS": [b"1"]}

        # TransactWriteItems: put, update, delete, condition check; then TransactGetItems.
        dax.transact_write_items(TransactItems=[
            {"Put": {"TableName": "Simple", "Item": {"id": {"S": "tx1"}, "n": {"N": "1"}}}},
            {"Update": {"TableName": "Things", "Key": keys[1], "UpdateExpression": "SET v = v + :d",
                        "ExpressionAttributeValues": {":d": {"N": "5"}}}},
            {"Delete": {"TableName": "Things", "Key": keys[2]}},
            {"ConditionCheck": {"TableName": "Things", "Key": {"pk": {"S": "q"}, "sk": {"N": "4"}},
                                "ConditionExpression": "attribute_exists(pk)"}},
        ], ClientRequestToken="token-1")
        got = dax.transact_get_items(TransactItems=[
            {"Get": {"TableName": "Simple", "Key": {"id": {"S": "tx1"}}}},
            {"Get": {"TableName": "Things", "Key": keys[1], "ProjectionExpression": "#v", "ExpressionAttributeNames": {"#v": "v"}}},
            {"Get": {"TableName": "Things", "Key": keys[2]}},
        ])["Responses"]
        assert got[0]["Item"] == {"id": {"S": "tx1"}, "n": {"N": "1"}}
        assert got[1]["Item"] == {"v": {"N": "25"}}
        assert got[2] == {} or "Item" not in got[2]
        # The item cache catches up with what the transaction wrote (background refresh).
        wait_for(lambda: dax.get_item(TableName="Things", Key=keys[1])["Item"]["v"] == {"N": "25"}, 5)
        assert "Item" not in dax.get_item(TableName="Things", Key=keys[2])

        # A cancelled transaction: the code, and the reasons in request order.
        with pytest.raises(ClientError) as e:
            dax.transact_write_items(TransactItems=[
                {"Put": {"TableName": "Simple", "Item": {"id": {"S": "tx2"}}}},
                {"ConditionCheck": {"TableName": "Simple", "Key": {"id": {"S": "tx1"}},
                                    "ConditionExpression": "n = :two", "ExpressionAttributeValues": {":two": {"N": "2"}},
                                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
            ])
        assert code_of(e) == "TransactionCanceledException"
        reasons = e.value.cancellation_reasons
        assert reasons[0] == "None" and reasons[3] == "ConditionalCheckFailed", reasons
        assert reasons[5] is not None  # the old item, as value bytes
        assert "Item" not in dax.get_item(TableName="Simple", Key={"id": {"S": "tx2"}})


def test_resource_not_found(env):
    with dax_client(env.url, env.root) as dax:
        for call in (lambda: dax.get_item(TableName="Nope", Key={"id": {"S": "x"}}),
                     lambda: dax.put_item(TableName="Nope", Item={"id": {"S": "x"}}),
                     lambda: dax.query(TableName="Nope", KeyConditionExpression="id = :v", ExpressionAttributeValues={":v": {"S": "x"}})):
            with pytest.raises(ClientError) as e:
                call()
            assert code_of(e) == "ResourceNotFoundException"


def test_user_permissions_and_the_documented_caveat(env):
    iam = env.client("iam")
    arn = f"arn:aws:dax:{REGION}:{ACCOUNT}:cache/func"
    iam.create_user(UserName="reader")
    k = iam.create_access_key(UserName="reader")["AccessKey"]
    key = (k["AccessKeyId"], k["SecretAccessKey"])
    # dax:Query and dax:PutItem on the cluster, no dax:GetItem, and no dynamodb:* at all.
    iam.put_user_policy(UserName="reader", PolicyName="p", PolicyDocument=doc(
        {"Effect": "Allow", "Action": ["dax:Query", "dax:PutItem"], "Resource": arn}))
    with dax_client(env.url, env.root) as root:
        root.put_item(TableName="Simple", Item={"id": {"S": "secret"}, "v": {"S": "only the role may read me"}})
    with dax_client(env.url, key) as dax:
        with pytest.raises(ClientError) as e:
            dax.get_item(TableName="Simple", Key={"id": {"S": "secret"}})
        assert code_of(e) == "AccessDeniedException"
        assert "dax:GetItem" in e.value.response["Error"]["Message"]
        dax.put_item(TableName="Simple", Item={"id": {"S": "by-reader"}})
    # The caveat AWS documents: with dax:GetItem the user reads whatever the cluster's role
    # can read, although the same user may not read the table through DynamoDB.
    iam.put_user_policy(UserName="reader", PolicyName="p2", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "dax:GetItem", "Resource": arn}))
    time.sleep(0.1)
    with dax_client(env.url, key) as dax:
        assert dax.get_item(TableName="Simple", Key={"id": {"S": "secret"}})["Item"]["v"] == {"S": "only the role may read me"}
    with pytest.raises(ClientError) as e:
        env.client("dynamodb", key=key).get_item(TableName="Simple", Key={"id": {"S": "secret"}})
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    # dax:EnclosingOperation tells transactions apart.
    iam.put_user_policy(UserName="reader", PolicyName="p3", PolicyDocument=doc(
        {"Effect": "Deny", "Action": "dax:GetItem", "Resource": arn,
         "Condition": {"StringEquals": {"dax:EnclosingOperation": "TransactGetItems"}}}))
    time.sleep(0.1)
    with dax_client(env.url, key) as dax:
        assert "Item" in dax.get_item(TableName="Simple", Key={"id": {"S": "secret"}})
        with pytest.raises(ClientError) as e:
            dax.transact_get_items(TransactItems=[{"Get": {"TableName": "Simple", "Key": {"id": {"S": "secret"}}}}])
        assert code_of(e) == "AccessDeniedException"
    # Temporary credentials (an STS session of the user) authenticate too.
    creds = env.client("sts", key=key).get_session_token()["Credentials"]
    with dax_client(env.url, (creds["AccessKeyId"], creds["SecretAccessKey"]), token=creds["SessionToken"]) as dax:
        assert "Item" in dax.get_item(TableName="Simple", Key={"id": {"S": "secret"}})
    # A wrong secret is refused.
    with pytest.raises(Exception):
        with dax_client(env.url, (key[0], "wrong-secret")) as dax:
            dax.get_item(TableName="Simple", Key={"id": {"S": "secret"}})


def test_cluster_role_without_getitem(env):
    iam = env.client("iam")
    limited = role(iam, "DAXNoGet", {"Effect": "Allow", "Action": ["dynamodb:DescribeTable", "dynamodb:PutItem"],
                                     "Resource": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/*"})
    c = create_cluster(env, "noget", limited)
    with dax_client(c["ClusterDiscoveryEndpoint"]["URL"], env.root) as dax:
        dax.put_item(TableName="Simple", Item={"id": {"S": "via-noget"}})
        # A miss makes the node call GetItem as the role, which may not: AccessDenied.
        with pytest.raises(ClientError) as e:
            dax.get_item(TableName="Simple", Key={"id": {"S": "rv"}})
        assert code_of(e) == "AccessDeniedException"
        assert "DAXNoGet" in e.value.response["Error"]["Message"] and "dynamodb:GetItem" in e.value.response["Error"]["Message"]
        # (The item it just wrote through is in the item cache: a hit never asks DynamoDB.)
        assert dax.get_item(TableName="Simple", Key={"id": {"S": "via-noget"}})["Item"] == {"id": {"S": "via-noget"}}
        with pytest.raises(ClientError) as e:
            dax.query(TableName="Simple", KeyConditionExpression="id = :v", ExpressionAttributeValues={":v": {"S": "rv"}})
        assert code_of(e) == "AccessDeniedException"
    # The role's use is recorded like any principal's.
    assert "LastUsedDate" in iam.get_role(RoleName="DAXNoGet")["Role"]["RoleLastUsed"]
    env.client("dax").delete_cluster(ClusterName="noget")


# ---- cache semantics -----------------------------------------------------------------

TTL_MS = 1500


@pytest.fixture(scope="module")
def cached(env):
    """A one-node cluster whose parameter group has short TTLs."""
    parameter_group(env, "short", TTL_MS, TTL_MS)
    c = create_cluster(env, "short", env.role_arn, parameter_group="short")
    env.short_url = c["ClusterDiscoveryEndpoint"]["URL"]
    env.short_node = c["Nodes"][0]["NodeId"]
    return env


def around(env, item):
    env.client("dynamodb").put_item(TableName="Simple", Item=item)


def test_stale_within_ttl_fresh_after(cached):
    key = {"id": {"S": "stale"}}
    with dax_client(cached.short_url, cached.root) as dax:
        around(cached, {**key, "v": {"N": "1"}})
        assert dax.get_item(TableName="Simple", Key=key)["Item"]["v"] == {"N": "1"}
        t0 = time.time()
        around(cached, {**key, "v": {"N": "2"}})
        # Within the TTL, DAX answers from its cache: the write around it is not seen.
        assert dax.get_item(TableName="Simple", Key=key)["Item"]["v"] == {"N": "1"}
        assert time.time() - t0 < TTL_MS / 1000
        time.sleep(TTL_MS / 1000 + 0.2)
        assert dax.get_item(TableName="Simple", Key=key)["Item"]["v"] == {"N": "2"}


def test_negative_entry(cached):
    key = {"id": {"S": "negative"}}
    with dax_client(cached.short_url, cached.root) as dax:
        misses = node_metric(cached, "short", cached.short_node, "ItemCacheMisses")
        assert "Item" not in dax.get_item(TableName="Simple", Key=key)
        around(cached, {**key, "v": {"S": "now here"}})
        hits = node_metric(cached, "short", cached.short_node, "ItemCacheHits")
        assert "Item" not in dax.get_item(TableName="Simple", Key=key), "the absence is cached"
        assert node_metric(cached, "short", cached.short_node, "ItemCacheHits") == hits + 1
        assert node_metric(cached, "short", cached.short_node, "ItemCacheMisses") == misses + 1
        time.sleep(TTL_MS / 1000 + 0.2)
        assert dax.get_item(TableName="Simple", Key=key)["Item"]["v"] == {"S": "now here"}
        # Negative entries in the query cache too: an empty result set stays empty.
        q = dict(TableName="Things", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "neg-q"}})
        assert dax.query(**q)["Count"] == 0
        cached.client("dynamodb").put_item(TableName="Things", Item={"pk": {"S": "neg-q"}, "sk": {"N": "1"}})
        assert dax.query(**q)["Count"] == 0
        time.sleep(TTL_MS / 1000 + 0.2)
        assert dax.query(**q)["Count"] == 1


def test_write_through(cached):
    key = {"id": {"S": "through"}}
    with dax_client(cached.short_url, cached.root) as dax:
        around(cached, {**key, "v": {"N": "1"}})
        assert dax.get_item(TableName="Simple", Key=key)["Item"]["v"] == {"N": "1"}
        dax.put_item(TableName="Simple", Item={**key, "v": {"N": "2"}})
        hits = node_metric(cached, "short", cached.short_node, "ItemCacheHits")
        # The write went to DynamoDB and into the item cache: the next read is a hit with the new value.
        assert dax.get_item(TableName="Simple", Key=key)["Item"]["v"] == {"N": "2"}
        assert node_metric(cached, "short", cached.short_node, "ItemCacheHits") == hits + 1
        assert cached.client("dynamodb").get_item(TableName="Simple", Key=key)["Item"]["v"] == {"N": "2"}
        dax.update_item(TableName="Simple", Key=key, UpdateExpression="SET v = v + :one", ExpressionAttributeValues={":one": {"N": "1"}})
        assert dax.get_item(TableName="Simple", Key=key)["Item"]["v"] == {"N": "3"}
        dax.delete_item(TableName="Simple", Key=key)
        assert "Item" not in dax.get_item(TableName="Simple", Key=key)
        assert node_metric(cached, "short", cached.short_node, "ItemCacheHits") == hits + 3


def test_failed_write_caches_nothing(cached):
    key = {"id": {"S": "failed"}}
    with dax_client(cached.short_url, cached.root) as dax:
        around(cached, {**key, "v": {"N": "1"}})
        with pytest.raises(ClientError) as e:
            dax.put_item(TableName="Simple", Item={**key, "v": {"N": "99"}}, ConditionExpression="attribute_not_exists(id)")
        assert code_of(e) == "ConditionalCheckFailedException"
        around(cached, {**key, "v": {"N": "2"}})
        # Had the failed write been cached, DAX would answer 99.
        assert dax.get_item(TableName="Simple", Key=key)["Item"]["v"] == {"N": "2"}


def test_writes_leave_the_query_cache_alone(cached):
    q = dict(TableName="Things", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "qc"}})
    with dax_client(cached.short_url, cached.root) as dax:
        dax.put_item(TableName="Things", Item={"pk": {"S": "qc"}, "sk": {"N": "1"}, "v": {"S": "old"}})
        assert [i["v"]["S"] for i in dax.query(**q)["Items"]] == ["old"]
        hits = node_metric(cached, "short", cached.short_node, "QueryCacheHits")
        dax.put_item(TableName="Things", Item={"pk": {"S": "qc"}, "sk": {"N": "1"}, "v": {"S": "new"}})
        dax.put_item(TableName="Things", Item={"pk": {"S": "qc"}, "sk": {"N": "2"}, "v": {"S": "added"}})
        # The item cache has the new item; the cached query result is unchanged until its TTL.
        assert dax.get_item(TableName="Things", Key={"pk": {"S": "qc"}, "sk": {"N": "1"}})["Item"]["v"] == {"S": "new"}
        assert [i["v"]["S"] for i in dax.query(**q)["Items"]] == ["old"]
        assert node_metric(cached, "short", cached.short_node, "QueryCacheHits") == hits + 1
        # A different request (another Limit) is another cache entry.
        assert [i["v"]["S"] for i in dax.query(**q, Limit=5)["Items"]] == ["new", "added"]
        time.sleep(TTL_MS / 1000 + 0.2)
        assert [i["v"]["S"] for i in dax.query(**q)["Items"]] == ["new", "added"]
        # Scans have their own counters.
        scans = node_metric(cached, "short", cached.short_node, "ScanCacheHits")
        dax.scan(TableName="Simple", Limit=1)
        dax.scan(TableName="Simple", Limit=1)
        assert node_metric(cached, "short", cached.short_node, "ScanCacheHits") == scans + 1


def test_consistent_reads_bypass_the_cache(cached):
    key = {"id": {"S": "consistent"}}
    with dax_client(cached.short_url, cached.root) as dax:
        around(cached, {**key, "v": {"N": "1"}})
        assert dax.get_item(TableName="Simple", Key=key)["Item"]["v"] == {"N": "1"}
        around(cached, {**key, "v": {"N": "2"}})
        assert dax.get_item(TableName="Simple", Key=key, ConsistentRead=True)["Item"]["v"] == {"N": "2"}
        assert dax.get_item(TableName="Simple", Key=key)["Item"]["v"] == {"N": "1"}, "the strongly consistent read cached nothing"
        q = dict(TableName="Things", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "cq"}})
        assert dax.query(**q)["Count"] == 0
        cached.client("dynamodb").put_item(TableName="Things", Item={"pk": {"S": "cq"}, "sk": {"N": "1"}})
        assert dax.query(**q, ConsistentRead=True)["Count"] == 1
        assert dax.query(**q)["Count"] == 0
        got = dax.transact_get_items(TransactItems=[{"Get": {"TableName": "Simple", "Key": key}}])["Responses"]
        assert got[0]["Item"]["v"] == {"N": "2"}


def test_parameter_group_changes_reach_the_nodes_with_the_next_tick(env):
    # The nodes get their TTLs with the background tick's reconcile (every 200 ms), not
    # from the control plane on each request: a change takes effect within a tick, and
    # then applies to the entries already cached too.
    parameter_group(env, "changing", 600000, 600000)
    c = create_cluster(env, "changing", env.role_arn, parameter_group="changing")
    key = {"id": {"S": "ttl-change"}}
    with dax_client(c["ClusterDiscoveryEndpoint"]["URL"], env.root) as dax:
        around(env, {**key, "v": {"N": "1"}})
        assert dax.get_item(TableName="Simple", Key=key)["Item"]["v"] == {"N": "1"}
        around(env, {**key, "v": {"N": "2"}})
        time.sleep(0.5)
        assert dax.get_item(TableName="Simple", Key=key)["Item"]["v"] == {"N": "1"}
        # Entries already cached now live by the new, shorter TTL.
        set_ttls(env, "changing", 300, 0)
        wait_for(lambda: dax.get_item(TableName="Simple", Key=key)["Item"]["v"] == {"N": "2"}, 2)
        # query-ttl-millis 0 (it came with the same tick): results are not cached at all.
        q = dict(TableName="Things", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "nocache"}})
        assert dax.query(**q)["Count"] == 0
        env.client("dynamodb").put_item(TableName="Things", Item={"pk": {"S": "nocache"}, "sk": {"N": "1"}})
        assert dax.query(**q)["Count"] == 1
        # record-ttl-millis 0: items never expire by time. Five ticks for the change to arrive.
        set_ttls(env, "changing", 0, 0)
        time.sleep(1)
        assert dax.get_item(TableName="Simple", Key=key)["Item"]["v"] == {"N": "2"}
        around(env, {**key, "v": {"N": "3"}})
        time.sleep(0.5)
        assert dax.get_item(TableName="Simple", Key=key)["Item"]["v"] == {"N": "2"}
    env.client("dax").delete_cluster(ClusterName="changing")


# ---- clusters of several nodes ---------------------------------------------------------

def test_replication_forwarding_and_failover(env):
    c = create_cluster(env, "multi", env.role_arn, rf=3)
    url = c["ClusterDiscoveryEndpoint"]["URL"]
    ports = {n["NodeId"]: n["Endpoint"]["Port"] for n in c["Nodes"]}
    primary, replica, third = sorted(ports)
    key = {"id": {"S": "replicated"}}
    with dax_client(url, env.root) as dax:
        wait_for(lambda: len(backends(dax)) == 3, 10)
        assert leader_ports(dax) == {ports[primary]}
        assert {b._service_endpoint.az for b in backends(dax).values()} == {n["AvailabilityZone"] for n in c["Nodes"]}
        # Warm the replica's cache with v1 (fills replicate to every node).
        around(env, {**key, "v": {"N": "1"}})
        pin(dax, ports[replica])
        assert dax.get_item(TableName="Simple", Key=key)["Item"]["v"] == {"N": "1"}
        around(env, {**key, "v": {"N": "2"}})
        assert dax.get_item(TableName="Simple", Key=key)["Item"]["v"] == {"N": "1"}
        # A write through the primary reaches the replica's item cache (a deadline on the
        # state, not a timing target: replication time is measured by the benchmark).
        pin(dax, ports[primary], reads=False, writes=True)
        dax.put_item(TableName="Simple", Item={**key, "v": {"N": "3"}})
        wait_for(lambda: dax.get_item(TableName="Simple", Key=key)["Item"]["v"] == {"N": "3"}, 10, 0.02)
        pin(dax, ports[third])
        assert dax.get_item(TableName="Simple", Key=key)["Item"]["v"] == {"N": "3"}
        # A write sent to a replica is made by the primary and cached everywhere.
        puts = node_metric(env, "multi", replica, "PutItemRequestCount")
        pin(dax, ports[replica], reads=False, writes=True)
        dax.put_item(TableName="Simple", Item={**key, "v": {"N": "4"}})
        assert node_metric(env, "multi", replica, "PutItemRequestCount") == puts + 1
        for node in (primary, third):
            pin(dax, ports[node])
            wait_for(lambda: dax.get_item(TableName="Simple", Key=key)["Item"]["v"] == {"N": "4"}, 1.0, 0.02)
        assert cluster_metric(env, "multi", "PutItemRequestCount") >= 2

    # Rebooting the primary promotes a replica; the old primary returns as a replica.
    with dax_client(url, env.root) as dax:
        wait_for(lambda: len(backends(dax)) == 3, 10)
        env.client("dax").reboot_node(ClusterName="multi", NodeId=primary)
        wait_for(lambda: leader_ports(dax) == {ports[replica]}, 15)
        wait_status(env.client("dax"), "multi", "available")
        wait_for(lambda: len(backends(dax)) == 3 and leader_ports(dax) == {ports[replica]}, 15)
        dax.put_item(TableName="Simple", Item={**key, "v": {"N": "5"}})
        assert env.client("dynamodb").get_item(TableName="Simple", Key=key)["Item"]["v"] == {"N": "5"}

    # Fewer nodes, more nodes, no cluster: listeners follow.
    dax_api = env.client("dax")
    dax_api.decrease_replication_factor(ClusterName="multi", NewReplicationFactor=2, NodeIdsToRemove=[third])
    wait_status(dax_api, "multi", "available")
    wait_for(lambda: refused(ports[third]), 10)
    dax_api.increase_replication_factor(ClusterName="multi", NewReplicationFactor=3)
    c = wait_status(dax_api, "multi", "available")
    new = next(n for n in c["Nodes"] if n["NodeId"] not in ports)
    wait_for(lambda: not refused(new["Endpoint"]["Port"]), 10)
    with dax_client(url, env.root) as dax:
        wait_for(lambda: len(backends(dax)) == 3, 10)
    dax_api.delete_cluster(ClusterName="multi")
    wait_for(lambda: all(refused(p) for p in [*ports.values(), new["Endpoint"]["Port"]]), 15)



def test_reboot_empties_the_cache(cached):
    key = {"id": {"S": "reboot"}}
    with dax_client(cached.short_url, cached.root) as dax:
        set_ttls(cached, "short", 600000, 600000)
        around(cached, {**key, "v": {"N": "1"}})
        assert dax.get_item(TableName="Simple", Key=key)["Item"]["v"] == {"N": "1"}
        around(cached, {**key, "v": {"N": "2"}})
        assert dax.get_item(TableName="Simple", Key=key)["Item"]["v"] == {"N": "1"}
        cached.client("dax").reboot_node(ClusterName="short", NodeId=cached.short_node)
        wait_for(lambda: node_metric(cached, "short", cached.short_node, "ItemCacheMisses") == 0, 10)
        wait_status(cached.client("dax"), "short", "available")
        wait_for(lambda: reads(dax, key, {"N": "2"}), 20, 0.2)
    set_ttls(cached, "short", TTL_MS, TTL_MS)


def reads(dax, key, v):
    """Whether GetItem through DAX answers `v` for the item's `v` (an error, while the node
    restarts, is a no)."""
    try:
        return dax.get_item(TableName="Simple", Key=key)["Item"]["v"] == v
    except Exception:
        return False


def own_daxd(*args):
    """A daxd of a test's own, with the DAXFull role (`role_arn`) and the Simple table."""
    daxd = Daxd(args=list(args)).start()
    try:
        daxd.role_arn = role(daxd.client("iam"), "DAXFull", managed="arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess")
        daxd.client("dynamodb").create_table(TableName="Simple", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                                             AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                                             BillingMode="PAY_PER_REQUEST")
    except BaseException:
        daxd.close()
        raise
    return daxd


def test_reboot_with_no_delay_empties_the_cache():
    """With `--provisioning-delay-ms 0` a reboot begins and ends at once, between two ticks
    of the loop that starts and stops the listeners: the node comes back empty all the same."""
    daxd = own_daxd("--provisioning-delay-ms", "0", "--dax-ports", "24310-24319")
    try:
        c = create_cluster(daxd, "instant", daxd.role_arn)
        node = c["Nodes"][0]["NodeId"]
        key = {"id": {"S": "reboot"}}
        with dax_client(c["ClusterDiscoveryEndpoint"]["URL"], daxd.root) as dax:
            around(daxd, {**key, "v": {"N": "1"}})
            assert dax.get_item(TableName="Simple", Key=key)["Item"]["v"] == {"N": "1"}
            around(daxd, {**key, "v": {"N": "2"}})
            # Cached for the default TTL (5 minutes): the write around DAX is not seen.
            assert dax.get_item(TableName="Simple", Key=key)["Item"]["v"] == {"N": "1"}
            dax_api = daxd.client("dax")
            dax_api.reboot_node(ClusterName="instant", NodeId=node)
            # The reboot's delay is over at once; the node is `available` again as soon as its
            # new listener serves (the next tick starts it).
            wait_status(dax_api, "instant", "available", 5)
            wait_for(lambda: reads(dax, key, {"N": "2"}), 20, 0.2)
    finally:
        daxd.close()


def test_throttling_beyond_the_in_flight_limit():
    daxd = own_daxd(*ARGS[:2], "--dax-ports", "24300-24309", "--node-max-in-flight", "1")
    try:
        c = create_cluster(daxd, "busy", daxd.role_arn)
        url = c["ClusterDiscoveryEndpoint"]["URL"]
        errors = []

        def hammer():
            with dax_client(url, daxd.root) as dax:
                for _ in range(25):
                    try:
                        dax.scan(TableName="Simple", ConsistentRead=True)
                    except ClientError as e:
                        errors.append(e.response["Error"]["Code"])
        threads = [threading.Thread(target=hammer) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        throttled = cluster_metric(daxd, "busy", "ThrottledRequestCount")
        assert throttled > 0
        assert set(errors) <= {"ThrottlingException"}
        # Every attempt is counted, throttled or not (the client retries throttled ones).
        assert cluster_metric(daxd, "busy", "ScanRequestCount") >= 150
    finally:
        daxd.close()


def test_metrics_endpoint(cached):
    with dax_client(cached.short_url, cached.root) as dax:
        dax.get_item(TableName="Simple", Key={"id": {"S": "metrics"}})
        # Unauthenticated, Prometheus text with DAX's CloudWatch names per node and per cluster.
        resp = urllib.request.urlopen(cached.endpoint + "/metrics")
        assert resp.headers["Content-Type"].startswith("text/plain")
        text = resp.read().decode()
        for name in ("ItemCacheHits", "ItemCacheMisses", "QueryCacheHits", "QueryCacheMisses", "ScanCacheHits",
                     "ScanCacheMisses", "GetItemRequestCount", "TransactWriteItemsCount", "ErrorRequestCount",
                     "ThrottledRequestCount", "EvictedSize", "EstimatedDbSize", "ClientConnections"):
            assert f"# TYPE dax_node_{name} " in text and f"# TYPE dax_cluster_{name} " in text, name
        m = metrics(cached)
        assert m[f'dax_node_ClientConnections{{region="{REGION}",cluster="short",node="{cached.short_node}"}}'] >= 1
        assert m[f'dax_cluster_EstimatedDbSize{{region="{REGION}",cluster="short"}}'] > 0
        assert m[f'dax_cluster_GetItemRequestCount{{region="{REGION}",cluster="short"}}'] >= 1
