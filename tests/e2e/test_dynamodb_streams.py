"""The DynamoDB Streams API (`DynamoDBStreams_20120810`, signing name
`dynamodb`) on daxd's one endpoint, driven by boto3's `dynamodbstreams` client: the four
StreamViewTypes, the four iterator types, paging with Limit/NextShardIterator, malformed
iterators, IAM on stream ARNs (with Access Advisor), a write made through a DAX cluster
(the official Python client `amazondax`) appearing in the stream, and the AWS SDK for
JavaScript v3's `@aws-sdk/client-dynamodb-streams` (tests/dax-js/dynamodb-streams.test.mjs).

Iterator expiry (15 minutes) and 24-hour retention run on daxd's clock; they are tested
with a manual clock in crates/dynamo/tests/dynamo/embedded.rs."""
import json
import os
import shutil
import subprocess

import amazondax
import pytest
from botocore.exceptions import ClientError, ParamValidationError

from daxd import Daxd, ROOT, refused, wait_for

ACCOUNT = "123456789012"
REGION = "us-east-1"
JS = ROOT / "tests" / "dax-js"
NODE = shutil.which("node")
DAX_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "dax.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
# Ports from a range the other suites do not use.
ARGS = ["--provisioning-delay-ms", "0", "--dax-ports", "27300-27319"]
VIEW_TYPES = ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def code_of(exc_info):
    return exc_info.value.response["Error"]["Code"]


def create_table(ddb, name, view_type):
    out = ddb.create_table(
        TableName=name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": view_type})
    return out["TableDescription"]["LatestStreamArn"]


def shard_of(streams, arn):
    shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    assert len(shards) == 1
    return shards[0]["ShardId"]


def iterator(streams, arn, kind="TRIM_HORIZON", **kw):
    return streams.get_shard_iterator(StreamArn=arn, ShardId=shard_of(streams, arn), ShardIteratorType=kind, **kw)["ShardIterator"]


def read_all(streams, it, limit=None):
    """Every record from `it` on, page by page, and the pages' sizes."""
    records, sizes = [], []
    while True:
        kw = {"Limit": limit} if limit else {}
        out = streams.get_records(ShardIterator=it, **kw)
        sizes.append(len(out["Records"]))
        records += out["Records"]
        if not out["Records"]:
            return records, sizes
        it = out["NextShardIterator"]



@pytest.fixture(scope="module")
def env():
    daxd = Daxd(args=ARGS).start()
    yield daxd
    daxd.close()


def test_view_types_and_event_names(env):
    ddb, streams = env.client("dynamodb"), env.client("dynamodbstreams")
    arns = {vt: create_table(ddb, f"V_{vt}", vt) for vt in VIEW_TYPES}
    listed = {s["TableName"]: s["StreamArn"] for s in streams.list_streams()["Streams"]}
    for vt, arn in arns.items():
        assert arn.startswith(f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/V_{vt}/stream/")
        assert listed[f"V_{vt}"] == arn
        table = f"V_{vt}"
        ddb.put_item(TableName=table, Item={"id": {"S": "a"}, "v": {"N": "1"}})
        ddb.update_item(TableName=table, Key={"id": {"S": "a"}}, UpdateExpression="SET v = :v",
                        ExpressionAttributeValues={":v": {"N": "2"}})
        ddb.delete_item(TableName=table, Key={"id": {"S": "a"}})
        d = streams.describe_stream(StreamArn=arn)["StreamDescription"]
        assert (d["StreamStatus"], d["StreamViewType"], d["TableName"]) == ("ENABLED", vt, table)
        assert d["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
        assert "EndingSequenceNumber" not in d["Shards"][0]["SequenceNumberRange"], "the shard is open"
        records, _ = read_all(streams, iterator(streams, arn))
        assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"], vt
        for r in records:
            assert r["eventSource"] == "aws:dynamodb" and r["awsRegion"] == REGION
            s = r["dynamodb"]
            assert s["Keys"] == {"id": {"S": "a"}} and s["StreamViewType"] == vt
        new = [r["dynamodb"].get("NewImage") for r in records]
        old = [r["dynamodb"].get("OldImage") for r in records]
        has_new = vt in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")
        has_old = vt in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES")
        assert new == ([{"id": {"S": "a"}, "v": {"N": "1"}}, {"id": {"S": "a"}, "v": {"N": "2"}}, None] if has_new else [None] * 3), vt
        assert old == ([None, {"id": {"S": "a"}, "v": {"N": "1"}}, {"id": {"S": "a"}, "v": {"N": "2"}}] if has_old else [None] * 3), vt
        seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
        assert seqs == sorted(seqs) and len(set(seqs)) == 3
    page = streams.list_streams(Limit=2)
    assert len(page["Streams"]) == 2 and "LastEvaluatedStreamArn" in page
    rest = streams.list_streams(ExclusiveStartStreamArn=page["LastEvaluatedStreamArn"])["Streams"]
    assert {s["StreamArn"] for s in page["Streams"] + rest} >= set(arns.values())


def test_iterator_types_and_paging(env):
    ddb, streams = env.client("dynamodb"), env.client("dynamodbstreams")
    arn = create_table(ddb, "Iter", "NEW_IMAGE")
    for i in range(7):
        ddb.put_item(TableName="Iter", Item={"id": {"S": f"k{i}"}})
    records, sizes = read_all(streams, iterator(streams, arn, "TRIM_HORIZON"), limit=3)
    assert sizes == [3, 3, 1, 0]
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in records] == [f"k{i}" for i in range(7)]
    seq = [r["dynamodb"]["SequenceNumber"] for r in records]
    at, _ = read_all(streams, iterator(streams, arn, "AT_SEQUENCE_NUMBER", SequenceNumber=seq[4]))
    assert [r["dynamodb"]["SequenceNumber"] for r in at] == seq[4:]
    after, _ = read_all(streams, iterator(streams, arn, "AFTER_SEQUENCE_NUMBER", SequenceNumber=seq[4]))
    assert [r["dynamodb"]["SequenceNumber"] for r in after] == seq[5:]
    latest = iterator(streams, arn, "LATEST")
    out = streams.get_records(ShardIterator=latest)
    assert out["Records"] == [] and out["NextShardIterator"]
    ddb.put_item(TableName="Iter", Item={"id": {"S": "later"}})
    out = streams.get_records(ShardIterator=out["NextShardIterator"])
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in out["Records"]] == ["later"]
    # Iterators look like AWS's: the stream ARN first.
    assert latest.startswith(arn + "|")

    # Errors with AWS's codes.
    with pytest.raises(ClientError) as e:
        streams.get_records(ShardIterator="not-an-iterator")
    assert code_of(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        streams.get_records(ShardIterator=latest.replace("table/Iter/", "table/Other/"))
    assert code_of(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        streams.describe_stream(StreamArn=arn.replace("table/Iter/", "table/Nope/"))
    assert code_of(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        streams.get_shard_iterator(StreamArn=arn, ShardId="shardId-00000000000000000000-00000000", ShardIteratorType="LATEST")
    assert code_of(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        streams.get_shard_iterator(StreamArn=arn, ShardId=shard_of(streams, arn), ShardIteratorType="AT_SEQUENCE_NUMBER")
    assert code_of(e) == "ValidationException"
    # The model validates input, in the server too (boto3's own check turned off).
    raw = env.client("dynamodbstreams", parameter_validation=False)
    with pytest.raises(ClientError) as e:
        raw.get_records(ShardIterator=latest, Limit=0)
    assert code_of(e) == "ValidationException" and "limit" in str(e.value).lower()
    with pytest.raises(ParamValidationError):
        streams.get_records(ShardIterator="")


def test_iam_on_stream_arns_and_access_advisor(env):
    ddb, iam = env.client("dynamodb"), env.client("iam")
    open_arn = create_table(ddb, "Open", "KEYS_ONLY")
    closed_arn = create_table(ddb, "Closed", "KEYS_ONLY")
    for t in ("Open", "Closed"):
        ddb.put_item(TableName=t, Item={"id": {"S": "x"}})
    iam.create_user(UserName="reader")
    k = iam.create_access_key(UserName="reader")["AccessKey"]
    iam.put_user_policy(UserName="reader", PolicyName="p", PolicyDocument=doc(
        {"Effect": "Allow", "Action": ["dynamodb:ListStreams", "dynamodb:DescribeStream", "dynamodb:GetShardIterator",
                                       "dynamodb:GetRecords"], "Resource": "*"},
        {"Effect": "Deny", "Action": "dynamodb:GetRecords",
         "Resource": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Closed/stream/*"}))
    user = env.client("dynamodbstreams", key=(k["AccessKeyId"], k["SecretAccessKey"]))
    # IAM is eventually consistent in AWS; daxd applies at once.
    assert any(s["TableName"] == "Open" for s in user.list_streams()["Streams"])
    assert len(user.get_records(ShardIterator=iterator(user, open_arn))["Records"]) == 1
    closed_it = iterator(user, closed_arn)
    with pytest.raises(ClientError) as e:
        user.get_records(ShardIterator=closed_it)
    assert code_of(e) == "AccessDeniedException"
    message = e.value.response["Error"]["Message"]
    assert "dynamodb:GetRecords" in message and closed_arn in message, message

    # A user with no dynamodb:* at all is denied everywhere, ListStreams on `*` included.
    iam.create_user(UserName="nobody")
    k2 = iam.create_access_key(UserName="nobody")["AccessKey"]
    nobody = env.client("dynamodbstreams", key=(k2["AccessKeyId"], k2["SecretAccessKey"]))
    with pytest.raises(ClientError) as e:
        nobody.list_streams()
    assert code_of(e) == "AccessDeniedException" and "on resource: *" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        nobody.describe_stream(StreamArn=open_arn)
    assert code_of(e) == "AccessDeniedException"

    # Access Advisor records the Streams actions under dynamodb.
    user_arn = iam.get_user(UserName="reader")["User"]["Arn"]
    job = iam.generate_service_last_accessed_details(Arn=user_arn, Granularity="ACTION_LEVEL")["JobId"]
    report = wait_for(lambda: (r := iam.get_service_last_accessed_details(JobId=job))["JobStatus"] == "COMPLETED" and r)
    by_ns = {s["ServiceNamespace"]: s for s in report["ServicesLastAccessed"]}
    assert by_ns["dynamodb"].get("LastAuthenticatedEntity") == user_arn
    actions = {a["ActionName"] for a in by_ns["dynamodb"].get("TrackedActionsLastAccessed", []) if a.get("LastAccessedTime")}
    assert {"ListStreams", "DescribeStream", "GetShardIterator", "GetRecords"} <= actions, actions


def test_update_table_enables_a_stream(env):
    ddb, streams = env.client("dynamodb"), env.client("dynamodbstreams")
    ddb.create_table(TableName="Later", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    assert streams.list_streams(TableName="Later")["Streams"] == []
    out = ddb.update_table(TableName="Later", StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    arn = out["TableDescription"]["LatestStreamArn"]
    assert ddb.describe_table(TableName="Later")["Table"]["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    ddb.put_item(TableName="Later", Item={"id": {"S": "1"}})
    records, _ = read_all(streams, iterator(streams, arn))
    assert [r["dynamodb"]["NewImage"] for r in records] == [{"id": {"S": "1"}}]


def test_dax_writes_appear_in_the_stream(env):
    iam, ddb, streams = env.client("iam"), env.client("dynamodb"), env.client("dynamodbstreams")
    iam.create_role(RoleName="DAXStreams", AssumeRolePolicyDocument=DAX_TRUST)
    iam.attach_role_policy(RoleName="DAXStreams", PolicyArn="arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess")
    role_arn = iam.get_role(RoleName="DAXStreams")["Role"]["Arn"]
    arn = create_table(ddb, "ViaDax", "NEW_AND_OLD_IMAGES")
    dax = env.client("dax")
    dax.create_cluster(ClusterName="streams", NodeType="dax.t3.small", ReplicationFactor=1, IamRoleArn=role_arn)

    def available():
        c = dax.describe_clusters(ClusterNames=["streams"])["Clusters"][0]
        return c if c["Status"] == "available" and all(n["NodeStatus"] == "available" for n in c.get("Nodes", [])) else None
    c = wait_for(available, 20)
    wait_for(lambda: not any(refused(n["Endpoint"]["Port"]) for n in c["Nodes"]), 5)
    latest = iterator(streams, arn, "LATEST")
    client = amazondax.AmazonDaxClient(endpoint_url=c["ClusterDiscoveryEndpoint"]["URL"], region_name=REGION,
                                       aws_access_key_id=env.root[0], aws_secret_access_key=env.root[1])
    try:
        client.put_item(TableName="ViaDax", Item={"id": {"S": "d"}, "n": {"N": "1"}})
        client.update_item(TableName="ViaDax", Key={"id": {"S": "d"}}, UpdateExpression="SET n = :n",
                           ExpressionAttributeValues={":n": {"N": "2"}})
        client.delete_item(TableName="ViaDax", Key={"id": {"S": "d"}})
    finally:
        client.close()
    records, _ = read_all(streams, latest)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    assert records[1]["dynamodb"]["OldImage"] == {"id": {"S": "d"}, "n": {"N": "1"}}
    assert records[1]["dynamodb"]["NewImage"] == {"id": {"S": "d"}, "n": {"N": "2"}}


def test_remote_backend_forwards_streams(env):
    """daxd on the remote backend, with `--dynamodb-streams-endpoint` pointed at the
    embedded daxd of this module (its root key signs the forwarded requests)."""
    front = Daxd(args=["--dynamodb-endpoint", "http://127.0.0.1:9", "--dynamodb-streams-endpoint", env.endpoint,
                       "--dax-ports", "27318-27319"],
                 env={"AWS_ACCESS_KEY_ID": env.root[0], "AWS_SECRET_ACCESS_KEY": env.root[1]}).start()
    try:
        arn = create_table(env.client("dynamodb"), "Remote", "NEW_IMAGE")
        env.client("dynamodb").put_item(TableName="Remote", Item={"id": {"S": "r"}})
        streams = front.client("dynamodbstreams")
        assert arn in [s["StreamArn"] for s in streams.list_streams(TableName="Remote")["Streams"]]
        records, _ = read_all(streams, iterator(streams, arn))
        assert [r["dynamodb"]["NewImage"] for r in records] == [{"id": {"S": "r"}}]
        with pytest.raises(ClientError) as e:
            streams.get_records(ShardIterator="garbage")
        assert code_of(e) == "ValidationException", "the remote's errors pass through"
        # DynamoDB calls still go to --dynamodb-endpoint (nothing listens there).
        with pytest.raises(ClientError) as e:
            front.client("dynamodb").list_tables()
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    finally:
        front.close()


@pytest.mark.skipif(NODE is None or not (JS / "node_modules" / "@aws-sdk" / "client-dynamodb-streams").is_dir(),
                    reason="node or tests/dax-js/node_modules missing (scripts/test runs `npm ci` there)")
def test_js_sdk_v3_streams_client(env):
    arn = create_table(env.client("dynamodb"), "JsStream", "NEW_AND_OLD_IMAGES")
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    child_env.update(AWS_REGION=REGION, AWS_ACCESS_KEY_ID=env.root[0], AWS_SECRET_ACCESS_KEY=env.root[1],
                     DAXD_ENDPOINT=env.endpoint, STREAM_TABLE="JsStream", STREAM_ARN=arn,
                     AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    proc = subprocess.run([NODE, "--test", "--test-reporter=spec", "dynamodb-streams.test.mjs"], cwd=JS,
                          env=child_env, capture_output=True, text=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"node failed ({proc.returncode}):\n{out}\n--- daxd ---\n" + "\n".join(env.output[-30:])
    assert "ℹ fail 0" in proc.stdout, out
