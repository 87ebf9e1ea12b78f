"""A sample suite that uses only what `pip install daxd` brings: the `daxd` pytest fixture
(one daxd per session, wiped after each test), its boto3 clients and its DAX cluster helper."""
import json

import pytest
from botocore.exceptions import ClientError

SEEN = {}


def make_table(ddb, name):
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def test_dynamodb_table_round_trip(daxd):
    ddb = daxd.client("dynamodb")
    make_table(ddb, "Orders")
    ddb.put_item(TableName="Orders", Item={"id": {"S": "o-1"}, "total": {"N": "42.5"}, "tags": {"SS": ["a", "b"]}})
    item = ddb.get_item(TableName="Orders", Key={"id": {"S": "o-1"}}, ConsistentRead=True)["Item"]
    assert item["total"] == {"N": "42.5"} and sorted(item["tags"]["SS"]) == ["a", "b"]
    assert daxd.endpoint.startswith("http://127.0.0.1:")


def test_iam_user_key_is_enforced(daxd):
    iam = daxd.client("iam")
    iam.create_user(UserName="reader")
    iam.put_user_policy(UserName="reader", PolicyName="list-only", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "dynamodb:ListTables", "Resource": "*"}],
    }))
    k = iam.create_access_key(UserName="reader")["AccessKey"]
    key = (k["AccessKeyId"], k["SecretAccessKey"])
    assert daxd.client("sts", credentials=key).get_caller_identity()["Arn"].endswith(":user/reader")
    as_reader = daxd.client("dynamodb", credentials=key)
    as_reader.list_tables()
    with pytest.raises(ClientError) as e:
        make_table(as_reader, "Nope")
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"


def test_dax_read_through_a_cluster(daxd):
    ddb = daxd.client("dynamodb")
    make_table(ddb, "Cached")
    ddb.put_item(TableName="Cached", Item={"id": {"S": "k"}, "v": {"S": "from dynamodb"}})
    dax = daxd.create_dax_cluster("sample")
    assert dax.get_item(TableName="Cached", Key={"id": {"S": "k"}})["Item"]["v"] == {"S": "from dynamodb"}
    dax.put_item(TableName="Cached", Item={"id": {"S": "w"}, "v": {"S": "through dax"}})
    got = ddb.get_item(TableName="Cached", Key={"id": {"S": "w"}}, ConsistentRead=True)["Item"]
    assert got["v"] == {"S": "through dax"}


def test_state_made_here(daxd):
    SEEN["endpoint"] = daxd.endpoint
    make_table(daxd.client("dynamodb"), "Leftover")
    daxd.client("iam").create_user(UserName="leftover")
    assert daxd.client("dynamodb").list_tables()["TableNames"] == ["Leftover"]


def test_is_gone_in_the_next_test(daxd):
    # The same daxd process (session scope), wiped between the tests.
    assert SEEN["endpoint"] == daxd.endpoint
    assert daxd.client("dynamodb").list_tables()["TableNames"] == []
    assert daxd.client("iam").list_users()["Users"] == []
    assert daxd.client("dax").describe_clusters()["Clusters"] == []
