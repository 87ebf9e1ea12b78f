"""A table DynamoDB refuses (a bad name, a table that does not exist)
gets, through a DAX node, the error of the operation the client called, as daxd's
DynamoDB API answers that operation (the reference for what a node returns), not the
error of the node's own DescribeTable. The official Python DAX client against boto3."""
import json

import amazondax
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from daxd import Daxd, wait_for

REGION = "us-east-1"
DAX_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "dax.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
# Names the client itself accepts but DynamoDB refuses, and a table that does not exist.
TABLES = ["ab", "a" * 256, "bad name!", "NoSuchTable"]
KEY = {"pk": {"S": "a"}}
SINGLE = {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan"}


def calls(table):
    return {
        "GetItem": lambda c: c.get_item(TableName=table, Key=KEY),
        "PutItem": lambda c: c.put_item(TableName=table, Item=KEY),
        "UpdateItem": lambda c: c.update_item(TableName=table, Key=KEY, UpdateExpression="SET v = :v",
                                              ExpressionAttributeValues={":v": {"S": "x"}}),
        "DeleteItem": lambda c: c.delete_item(TableName=table, Key=KEY),
        "Query": lambda c: c.query(TableName=table, KeyConditionExpression="pk = :p",
                                   ExpressionAttributeValues={":p": {"S": "a"}}),
        "Scan": lambda c: c.scan(TableName=table),
        "BatchGetItem": lambda c: c.batch_get_item(RequestItems={table: {"Keys": [KEY]}}),
        "BatchWriteItem": lambda c: c.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": KEY}}]}),
        "TransactGetItems": lambda c: c.transact_get_items(TransactItems=[{"Get": {"TableName": table, "Key": KEY}}]),
        "TransactWriteItems": lambda c: c.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": KEY}}]),
    }


@pytest.fixture(scope="module")
def env():
    d = Daxd(args=["--provisioning-delay-ms", "0", "--dax-ports", "27400-27409"]).start()
    try:
        iam, dax = d.client("iam"), d.client("dax")
        iam.create_role(RoleName="DAXErr", AssumeRolePolicyDocument=DAX_TRUST)
        iam.attach_role_policy(RoleName="DAXErr", PolicyArn="arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess")
        arn = iam.get_role(RoleName="DAXErr")["Role"]["Arn"]
        dax.create_cluster(ClusterName="err", NodeType="dax.t3.small", ReplicationFactor=1, IamRoleArn=arn)
        c = wait_for(lambda: (lambda x: x if x["Status"] == "available" else None)(
            dax.describe_clusters(ClusterNames=["err"])["Clusters"][0]), 20)
        client = amazondax.AmazonDaxClient(endpoint_url=c["ClusterDiscoveryEndpoint"]["URL"], region_name=REGION,
                                           aws_access_key_id=d.root[0], aws_secret_access_key=d.root[1])
        api = d.client("dynamodb", parameter_validation=False)
        yield client, api
        client.close()
    finally:
        d.close()


def outcome(call, client):
    try:
        call(client)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"].get("Message", "")
    except Exception as e:  # noqa: BLE001 - the DAX client's own exception types
        code = getattr(e, "code", None) or type(e).__name__
        return code, str(getattr(e, "message", None) or e)
    return "ok", ""


@pytest.mark.parametrize("table", TABLES, ids=["short", "long", "bad-chars", "missing"])
def test_refused_tables_get_the_called_operations_error(env, table):
    client, api = env
    wrong = []
    single = calls(table)["GetItem"]
    for op, call in calls(table).items():
        # The DAX client asks the node for the table's key schema before it sends the
        # request itself (as with AWS's DAX), so a refused table is reported then, in the
        # words of a single-table read; a single-table operation gets its own words.
        want = outcome(call if op in SINGLE else single, api)
        got = outcome(call, client)
        assert want[0] != "ok", (op, table)
        # The DAX client words an error as "<message>" or "An error occurred (<code>) ...: <message>".
        if want[0] != got[0] or want[1] not in got[1]:
            wrong.append(f"{op}: DAX {got} != API {want}")
    assert not wrong, "\n".join(wrong)
