"""DAX on the remote backend beyond GetItem and PutItem. daxd runs with
`--dynamodb-endpoint` pointed at dynalite; the official Python DAX client reads and writes
through a cluster with every data operation, and each answer is compared with daxd's own
DynamoDB API (which forwards to the same dynalite), the reference for what a node returns.
"""
import json

import amazondax
import pytest
from botocore.exceptions import ClientError

from daxd import Daxd, wait_for
from test_dynamodb import Dynalite

REGION = "us-east-1"
DAX_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "dax.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
TABLE = "RemoteDax"


def code_of(exc_info):
    return exc_info.value.response["Error"]["Code"]


@pytest.fixture(scope="module")
def env():
    peer = Dynalite()
    d = Daxd(args=["--dynamodb-endpoint", peer.endpoint, "--provisioning-delay-ms", "0", "--dax-ports", "27100-27119"],
             env={"AWS_ACCESS_KEY_ID": "dynalite", "AWS_SECRET_ACCESS_KEY": "dynalite"}).start()
    try:
        iam, ddb, dax = d.client("iam"), d.client("dynamodb"), d.client("dax")
        iam.create_role(RoleName="DAXRemote", AssumeRolePolicyDocument=DAX_TRUST)
        iam.attach_role_policy(RoleName="DAXRemote", PolicyArn="arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess")
        arn = iam.get_role(RoleName="DAXRemote")["Role"]["Arn"]
        ddb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                               {"AttributeName": "sk", "AttributeType": "N"}],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
        dax.create_cluster(ClusterName="remote", NodeType="dax.t3.small", ReplicationFactor=1, IamRoleArn=arn)

        def ready():
            c = dax.describe_clusters(ClusterNames=["remote"])["Clusters"][0]
            return c if c["Status"] == "available" and all(n["NodeStatus"] == "available" for n in c["Nodes"]) else None
        c = wait_for(ready, 20)
        url = c["ClusterDiscoveryEndpoint"]["URL"]
        client = wait_for(lambda: _client(url, d.root), 10)
        yield d, ddb, client
        client.close()
    finally:
        d.close()
        peer.close()


def _client(url, root):
    c = amazondax.AmazonDaxClient(endpoint_url=url, region_name=REGION, aws_access_key_id=root[0],
                                  aws_secret_access_key=root[1])
    try:
        c.get_item(TableName=TABLE, Key={"pk": {"S": "probe"}, "sk": {"N": "0"}})
        return c
    except Exception:  # noqa: BLE001 - the node may still be starting
        c.close()
        return None


def canon(items):
    """Items in a form that compares equal whatever the order of attributes and set members."""
    def norm(v):
        if isinstance(v, dict):
            return {k: (sorted(x) if k in ("SS", "NS") else norm(x)) for k, x in v.items()}
        if isinstance(v, list):
            return [norm(x) for x in v]
        return v
    return sorted(json.dumps(norm(i), sort_keys=True) for i in items)


def key(pk, sk):
    return {"pk": {"S": pk}, "sk": {"N": str(sk)}}


def test_every_data_operation_through_dax_matches_the_api(env):
    _, ddb, dax = env
    for sk in range(5):
        dax.put_item(TableName=TABLE, Item={**key("p", sk), "n": {"N": str(sk)}, "tags": {"SS": ["a", f"t{sk}"]}})
    # UpdateItem with ReturnValues, then GetItem (a miss, then a hit) against the API.
    out = dax.update_item(TableName=TABLE, Key=key("p", 1), UpdateExpression="SET n = n + :d ADD tags :t",
                          ExpressionAttributeValues={":d": {"N": "10"}, ":t": {"SS": ["z"]}}, ReturnValues="ALL_NEW")
    assert canon([out["Attributes"]]) == canon([ddb.get_item(TableName=TABLE, Key=key("p", 1))["Item"]])
    for _ in range(2):
        assert canon([dax.get_item(TableName=TABLE, Key=key("p", 1))["Item"]]) == \
            canon([ddb.get_item(TableName=TABLE, Key=key("p", 1))["Item"]])
    # Query and Scan, with a filter, a projection and a limit, twice (miss, hit).
    q = {"TableName": TABLE, "KeyConditionExpression": "pk = :p AND sk >= :s", "FilterExpression": "n < :m",
         "ProjectionExpression": "sk, n", "ExpressionAttributeValues": {":p": {"S": "p"}, ":s": {"N": "1"}, ":m": {"N": "5"}}}
    for _ in range(2):
        assert canon(dax.query(**q)["Items"]) == canon(ddb.query(**q)["Items"])
        got = dax.query(TableName=TABLE, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}},
                        Limit=2, ScanIndexForward=False)
        want = ddb.query(TableName=TABLE, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}},
                         Limit=2, ScanIndexForward=False)
        assert [canon([i]) for i in got["Items"]] == [canon([i]) for i in want["Items"]]
        assert got.get("LastEvaluatedKey") == want.get("LastEvaluatedKey")
        assert canon(dax.scan(TableName=TABLE)["Items"]) == canon(ddb.scan(TableName=TABLE)["Items"])
    # BatchWriteItem and BatchGetItem.
    dax.batch_write_item(RequestItems={TABLE: [
        {"PutRequest": {"Item": {**key("b", 1), "v": {"S": "one"}}}},
        {"PutRequest": {"Item": {**key("b", 2), "v": {"S": "two"}}}},
        {"DeleteRequest": {"Key": key("p", 4)}},
    ]})
    keys = [key("b", 1), key("b", 2), key("p", 4), key("p", 0)]
    got = dax.batch_get_item(RequestItems={TABLE: {"Keys": keys}})["Responses"][TABLE]
    want = ddb.batch_get_item(RequestItems={TABLE: {"Keys": keys}})["Responses"][TABLE]
    assert canon(got) == canon(want) and len(got) == 3
    # Transactions: dynalite does not serve them, so DAX must pass on the backend's own
    # refusal exactly as the API does.
    tx = [{"Put": {"TableName": TABLE, "Item": {**key("t", 1), "v": {"S": "tx"}}}}]
    with pytest.raises(ClientError) as api:
        ddb.transact_write_items(TransactItems=tx)
    with pytest.raises(ClientError) as node:
        dax.transact_write_items(TransactItems=tx)
    assert code_of(api) == code_of(node) == "UnknownOperationException"
    assert "Item" not in ddb.get_item(TableName=TABLE, Key=key("t", 1))
    # A failed conditional write leaves the cached item as it was.
    dax.get_item(TableName=TABLE, Key=key("p", 2))
    with pytest.raises(ClientError) as e:
        dax.put_item(TableName=TABLE, Item={**key("p", 2), "n": {"N": "99"}}, ConditionExpression="attribute_not_exists(pk)")
    assert code_of(e) == "ConditionalCheckFailedException"
    assert dax.get_item(TableName=TABLE, Key=key("p", 2))["Item"]["n"] == {"N": "2"}
    # DeleteItem with ReturnValues, then the key reads as absent through DAX and the API.
    old = dax.delete_item(TableName=TABLE, Key=key("p", 3), ReturnValues="ALL_OLD")["Attributes"]
    assert old["n"] == {"N": "3"}
    assert "Item" not in dax.get_item(TableName=TABLE, Key=key("p", 3))
    assert "Item" not in ddb.get_item(TableName=TABLE, Key=key("p", 3))
