"""DynamoDB features that had no end-to-end test with boto3: PartiQL
(ExecuteStatement, BatchExecuteStatement, ExecuteTransaction), TTL, table tags, and table
resource policies with a Deny and with a principal of another account. Behaviour from the
DynamoDB developer guide ("Using resource-based policies", "PartiQL", "Time to Live").
"""
import json

import pytest
from botocore.exceptions import ClientError

from daxd import Daxd

ACCOUNT = "123456789012"


def err(exc_info):
    e = exc_info.value.response
    return e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"], e["Error"].get("Message", "")


@pytest.fixture(scope="module")
def env():
    server = Daxd().start()
    ddb = server.client("dynamodb")
    ddb.create_table(TableName="Things", BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "N"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
    yield server, ddb
    server.close()


def test_partiql(env):
    _, ddb = env
    ddb.execute_statement(Statement="INSERT INTO Things VALUE {'pk': 'a', 'sk': 1, 'v': 'one'}")
    ddb.execute_statement(Statement="INSERT INTO Things VALUE {'pk': ?, 'sk': ?, 'v': ?}",
                          Parameters=[{"S": "a"}, {"N": "2"}, {"S": "two"}])
    got = ddb.execute_statement(Statement="SELECT * FROM Things WHERE pk = 'a'")["Items"]
    assert sorted(i["v"]["S"] for i in got) == ["one", "two"]
    ddb.execute_statement(Statement="UPDATE Things SET v = 'uno' WHERE pk = 'a' AND sk = 1")
    assert ddb.get_item(TableName="Things", Key={"pk": {"S": "a"}, "sk": {"N": "1"}})["Item"]["v"] == {"S": "uno"}
    # Inserting an existing key is a conditional failure, as DynamoDB answers it.
    with pytest.raises(ClientError) as e:
        ddb.execute_statement(Statement="INSERT INTO Things VALUE {'pk': 'a', 'sk': 1}")
    assert err(e)[0] == "DuplicateItemException"
    # A batch is all reads or all writes (DynamoDB refuses a mix).
    with pytest.raises(ClientError) as e:
        ddb.batch_execute_statement(Statements=[
            {"Statement": "SELECT v FROM Things WHERE pk = 'a' AND sk = 1"},
            {"Statement": "INSERT INTO Things VALUE {'pk': 'b', 'sk': 1, 'v': 'bee'}"},
        ])
    assert err(e)[:2] == ("ValidationException", 400)
    out = ddb.batch_execute_statement(Statements=[
        {"Statement": "INSERT INTO Things VALUE {'pk': 'b', 'sk': 1, 'v': 'bee'}"},
        {"Statement": "INSERT INTO Things VALUE {'pk': 'a', 'sk': 1, 'v': 'dup'}"},
    ])["Responses"]
    assert "Error" not in out[0] and out[1]["Error"]["Code"] == "DuplicateItem"
    out = ddb.batch_execute_statement(Statements=[
        {"Statement": "SELECT v FROM Things WHERE pk = 'a' AND sk = 1"},
        {"Statement": "SELECT v FROM Things WHERE pk = 'b' AND sk = 1"},
    ])["Responses"]
    assert [r["Item"]["v"]["S"] for r in out] == ["uno", "bee"]
    ddb.execute_transaction(TransactStatements=[
        {"Statement": "DELETE FROM Things WHERE pk = 'a' AND sk = 2"},
        {"Statement": "UPDATE Things SET v = 'B' WHERE pk = 'b' AND sk = 1"},
    ])
    assert "Item" not in ddb.get_item(TableName="Things", Key={"pk": {"S": "a"}, "sk": {"N": "2"}})
    assert ddb.get_item(TableName="Things", Key={"pk": {"S": "b"}, "sk": {"N": "1"}})["Item"]["v"] == {"S": "B"}
    with pytest.raises(ClientError) as e:
        ddb.execute_statement(Statement="SELEKT * FROM Things")
    assert err(e)[:2] == ("ValidationException", 400)


def test_time_to_live(env):
    _, ddb = env
    assert ddb.describe_time_to_live(TableName="Things")["TimeToLiveDescription"]["TimeToLiveStatus"] == "DISABLED"
    out = ddb.update_time_to_live(TableName="Things", TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
    assert out["TimeToLiveSpecification"] == {"Enabled": True, "AttributeName": "expires"}
    d = ddb.describe_time_to_live(TableName="Things")["TimeToLiveDescription"]
    assert d["TimeToLiveStatus"] in ("ENABLING", "ENABLED") and d["AttributeName"] == "expires"
    out = ddb.update_time_to_live(TableName="Things", TimeToLiveSpecification={"Enabled": False, "AttributeName": "expires"})
    assert out["TimeToLiveSpecification"]["Enabled"] is False
    assert ddb.describe_time_to_live(TableName="Things")["TimeToLiveDescription"]["TimeToLiveStatus"] in ("DISABLING", "DISABLED")
    with pytest.raises(ClientError) as e:
        ddb.describe_time_to_live(TableName="NoSuchTable")
    assert err(e)[:2] == ("ResourceNotFoundException", 400)


def test_table_tags(env):
    _, ddb = env
    arn = ddb.describe_table(TableName="Things")["Table"]["TableArn"]
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "db"}])
    tags = ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("env", "dev"), ("team", "db")]
    ddb.untag_resource(ResourceArn=arn, TagKeys=["env"])
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "db"}]
    with pytest.raises(ClientError) as e:
        ddb.list_tags_of_resource(ResourceArn=arn.replace("Things", "Nothing"))
    assert err(e)[0] in ("ResourceNotFoundException", "AccessDeniedException")


def test_resource_policy_deny_and_cross_account(env):
    server, ddb = env
    iam = server.client("iam")
    arn = ddb.describe_table(TableName="Things")["Table"]["TableArn"]
    iam.create_user(UserName="reader")
    iam.put_user_policy(UserName="reader", PolicyName="all", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]}))
    k = iam.create_access_key(UserName="reader")["AccessKey"]
    reader = server.client("dynamodb", key=(k["AccessKeyId"], k["SecretAccessKey"]))
    key = {"pk": {"S": "b"}, "sk": {"N": "1"}}
    reader.get_item(TableName="Things", Key=key)
    # A Deny in the table's policy beats the user's own Allow.
    deny = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/reader"},
        "Action": "dynamodb:GetItem", "Resource": arn}]})
    ddb.put_resource_policy(ResourceArn=arn, Policy=deny)
    with pytest.raises(ClientError) as e:
        reader.get_item(TableName="Things", Key=key)
    code, status, message = err(e)
    assert (code, status) == ("AccessDeniedException", 400)
    assert "with an explicit deny in a resource-based policy" in message
    reader.put_item(TableName="Things", Item={**key, "v": {"S": "still writes"}})
    # A principal of another account: the policy is kept and returned as written, and it
    # grants nothing to this account's users.
    cross = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
        "Action": "dynamodb:GetItem", "Resource": arn}]})
    ddb.put_resource_policy(ResourceArn=arn, Policy=cross)
    assert json.loads(ddb.get_resource_policy(ResourceArn=arn)["Policy"])["Statement"][0]["Principal"] == \
        {"AWS": "arn:aws:iam::210987654321:root"}
    iam.create_user(UserName="nobody")
    k = iam.create_access_key(UserName="nobody")["AccessKey"]
    nobody = server.client("dynamodb", key=(k["AccessKeyId"], k["SecretAccessKey"]))
    with pytest.raises(ClientError) as e:
        nobody.get_item(TableName="Things", Key=key)
    assert err(e)[:2] == ("AccessDeniedException", 400)
    reader.get_item(TableName="Things", Key=key)
    ddb.delete_resource_policy(ResourceArn=arn)
