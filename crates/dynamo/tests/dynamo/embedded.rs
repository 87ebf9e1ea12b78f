//! The embedded backend through its `Backend` interface.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::common::{err, music_table, ok, simple_table, ACCOUNT, REGION};
use dynamo::{Backend, EmbeddedBackend};
use serde_json::{json, Value};

fn backend() -> (tempfile::TempDir, EmbeddedBackend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let b = EmbeddedBackend::open(dir.path(), ACCOUNT).expect("open");
    (dir, b)
}

#[tokio::test]
async fn tables_items_conditions_queries() {
    let (_dir, b) = backend();
    let created = ok(&b, REGION, "CreateTable", music_table("Music")).await;
    let desc = &created["TableDescription"];
    assert_eq!(desc["TableArn"], format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Music"));
    assert_eq!(
        desc["GlobalSecondaryIndexes"][0]["IndexArn"],
        format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Music/index/byEmail")
    );

    for i in 0..5 {
        ok(
            &b,
            REGION,
            "PutItem",
            json!({"TableName": "Music", "Item": {
                "pk": {"S": "artist"}, "sk": {"N": i.to_string()},
                "email": {"S": format!("a{i}@example.com")}, "plays": {"N": "0"}
            }}),
        )
        .await;
    }
    // A put that must not overwrite.
    let e = err(
        &b,
        REGION,
        "PutItem",
        json!({"TableName": "Music", "Item": {"pk": {"S": "artist"}, "sk": {"N": "1"}},
               "ConditionExpression": "attribute_not_exists(pk)",
               "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}),
    )
    .await;
    assert_eq!((e.code.as_str(), e.status), ("ConditionalCheckFailedException", 400));
    assert_eq!(e.message, "The conditional request failed");
    let old = e.extra.expect("the old item comes back");
    assert_eq!(old["Item"]["email"], json!({"S": "a1@example.com"}));

    // Conditional update.
    let updated = ok(
        &b,
        REGION,
        "UpdateItem",
        json!({"TableName": "Music", "Key": {"pk": {"S": "artist"}, "sk": {"N": "2"}},
               "UpdateExpression": "SET plays = plays + :one",
               "ConditionExpression": "plays = :zero",
               "ExpressionAttributeValues": {":one": {"N": "1"}, ":zero": {"N": "0"}},
               "ReturnValues": "ALL_NEW"}),
    )
    .await;
    assert_eq!(updated["Attributes"]["plays"], json!({"N": "1"}));
    let e = err(
        &b,
        REGION,
        "UpdateItem",
        json!({"TableName": "Music", "Key": {"pk": {"S": "artist"}, "sk": {"N": "2"}},
               "UpdateExpression": "SET plays = plays + :one",
               "ConditionExpression": "plays = :zero",
               "ExpressionAttributeValues": {":one": {"N": "1"}, ":zero": {"N": "0"}}}),
    )
    .await;
    assert_eq!(e.code, "ConditionalCheckFailedException");
    assert_eq!(e.extra, None);

    let got =
        ok(&b, REGION, "GetItem", json!({"TableName": "Music", "Key": {"pk": {"S": "artist"}, "sk": {"N": "2"}}}))
            .await;
    assert_eq!(got["Item"]["plays"], json!({"N": "1"}));
    let missing =
        ok(&b, REGION, "GetItem", json!({"TableName": "Music", "Key": {"pk": {"S": "nobody"}, "sk": {"N": "2"}}}))
            .await;
    assert!(missing.get("Item").is_none());

    // Query on the table, backwards, and on the index.
    let q = ok(
        &b,
        REGION,
        "Query",
        json!({"TableName": "Music", "KeyConditionExpression": "pk = :p AND sk >= :s",
               "ExpressionAttributeValues": {":p": {"S": "artist"}, ":s": {"N": "3"}},
               "ScanIndexForward": false}),
    )
    .await;
    assert_eq!(q["Count"], 2);
    assert_eq!(q["Items"][0]["sk"], json!({"N": "4"}));
    let gsi = ok(
        &b,
        REGION,
        "Query",
        json!({"TableName": "Music", "IndexName": "byEmail", "KeyConditionExpression": "email = :e",
               "ExpressionAttributeValues": {":e": {"S": "a3@example.com"}}}),
    )
    .await;
    assert_eq!(gsi["Items"][0]["sk"], json!({"N": "3"}));

    // Scan in pages of two.
    let mut seen = 0;
    let mut start: Option<Value> = None;
    let mut pages = 0;
    loop {
        let mut input = json!({"TableName": "Music", "Limit": 2});
        if let Some(k) = start.take() {
            input["ExclusiveStartKey"] = k;
        }
        let page = ok(&b, REGION, "Scan", input).await;
        pages += 1;
        seen += page["Items"].as_array().map_or(0, Vec::len);
        match page.get("LastEvaluatedKey") {
            Some(k) => start = Some(k.clone()),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(seen, 5);
    assert!(pages >= 3);

    // Validation errors come back as DynamoDB words them.
    let e = err(&b, REGION, "GetItem", json!({"TableName": "Music", "Key": {"pk": {"S": "artist"}}})).await;
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        ("ValidationException", "The provided key element does not match the schema")
    );
    let e = err(&b, REGION, "DescribeTable", json!({"TableName": "Nope"})).await;
    assert_eq!(e.code, "ResourceNotFoundException");

    let listed = ok(&b, REGION, "ListTables", json!({})).await;
    assert_eq!(listed["TableNames"], json!(["Music"]));
    ok(&b, REGION, "DeleteTable", json!({"TableName": "Music"})).await;
    assert_eq!(ok(&b, REGION, "ListTables", json!({})).await["TableNames"], json!([]));
}

#[tokio::test]
async fn batches_and_transactions() {
    let (_dir, b) = backend();
    ok(&b, REGION, "CreateTable", simple_table("TabA")).await;
    ok(&b, REGION, "CreateTable", simple_table("TabB")).await;

    let written = ok(
        &b,
        REGION,
        "BatchWriteItem",
        json!({"RequestItems": {
            "TabA": [{"PutRequest": {"Item": {"id": {"S": "1"}}}}, {"PutRequest": {"Item": {"id": {"S": "2"}}}}],
            "TabB": [{"PutRequest": {"Item": {"id": {"S": "x"}, "n": {"N": "5"}}}}]
        }}),
    )
    .await;
    assert_eq!(written["UnprocessedItems"], json!({}));
    let got = ok(
        &b,
        REGION,
        "BatchGetItem",
        json!({"RequestItems": {"TabA": {"Keys": [{"id": {"S": "1"}}, {"id": {"S": "2"}}]}, "TabB": {"Keys": [{"id": {"S": "x"}}]}}}),
    )
    .await;
    assert_eq!(got["Responses"]["TabA"].as_array().map(Vec::len), Some(2));
    assert_eq!(got["Responses"]["TabB"][0]["n"], json!({"N": "5"}));

    ok(
        &b,
        REGION,
        "TransactWriteItems",
        json!({"TransactItems": [
            {"Put": {"TableName": "TabA", "Item": {"id": {"S": "3"}}}},
            {"Update": {"TableName": "TabB", "Key": {"id": {"S": "x"}}, "UpdateExpression": "SET n = n - :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}}}},
            {"Delete": {"TableName": "TabA", "Key": {"id": {"S": "1"}}}}
        ]}),
    )
    .await;
    let tg = ok(
        &b,
        REGION,
        "TransactGetItems",
        json!({"TransactItems": [
            {"Get": {"TableName": "TabA", "Key": {"id": {"S": "3"}}}},
            {"Get": {"TableName": "TabA", "Key": {"id": {"S": "1"}}}},
            {"Get": {"TableName": "TabB", "Key": {"id": {"S": "x"}}}}
        ]}),
    )
    .await;
    assert_eq!(tg["Responses"][0]["Item"]["id"], json!({"S": "3"}));
    assert!(tg["Responses"][1].get("Item").is_none());
    assert_eq!(tg["Responses"][2]["Item"]["n"], json!({"N": "4"}));

    // A failed condition cancels the whole transaction.
    let e = err(
        &b,
        REGION,
        "TransactWriteItems",
        json!({"TransactItems": [
            {"Put": {"TableName": "TabA", "Item": {"id": {"S": "4"}}}},
            {"ConditionCheck": {"TableName": "TabB", "Key": {"id": {"S": "x"}}, "ConditionExpression": "n = :big",
                                "ExpressionAttributeValues": {":big": {"N": "100"}},
                                "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}
        ]}),
    )
    .await;
    assert_eq!((e.code.as_str(), e.status), ("TransactionCanceledException", 400));
    assert!(e.message.contains("[None, ConditionalCheckFailed]"), "{}", e.message);
    let reasons = &e.extra.expect("reasons")["CancellationReasons"];
    assert_eq!(reasons[0]["Code"], "None");
    assert_eq!(reasons[1]["Code"], "ConditionalCheckFailed");
    assert_eq!(reasons[1]["Item"]["n"], json!({"N": "4"}));
    let none = ok(&b, REGION, "GetItem", json!({"TableName": "TabA", "Key": {"id": {"S": "4"}}})).await;
    assert!(none.get("Item").is_none(), "a cancelled transaction wrote");

    // PartiQL.
    let s = ok(&b, REGION, "ExecuteStatement", json!({"Statement": "SELECT * FROM \"TabB\" WHERE id = 'x'"})).await;
    assert_eq!(s["Items"][0]["n"], json!({"N": "4"}));
}

#[tokio::test]
async fn ttl_tags_and_other_operations() {
    let (_dir, b) = backend();
    ok(&b, REGION, "CreateTable", simple_table("Tab")).await;
    let arn = format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Tab");

    ok(
        &b,
        REGION,
        "UpdateTimeToLive",
        json!({"TableName": "Tab", "TimeToLiveSpecification": {"Enabled": true, "AttributeName": "exp"}}),
    )
    .await;
    let ttl = ok(&b, REGION, "DescribeTimeToLive", json!({"TableName": "Tab"})).await;
    assert_eq!(ttl["TimeToLiveDescription"]["AttributeName"], "exp");
    assert_eq!(ttl["TimeToLiveDescription"]["TimeToLiveStatus"], "ENABLED");
    ok(&b, REGION, "PutItem", json!({"TableName": "Tab", "Item": {"id": {"S": "old"}, "exp": {"N": "1000"}}})).await;
    ok(&b, REGION, "PutItem", json!({"TableName": "Tab", "Item": {"id": {"S": "new"}, "exp": {"N": "99999999999"}}}))
        .await;
    assert_eq!(b.sweep_ttl().await.expect("sweep"), 1);
    let old = ok(&b, REGION, "GetItem", json!({"TableName": "Tab", "Key": {"id": {"S": "old"}}})).await;
    assert!(old.get("Item").is_none());
    let new = ok(&b, REGION, "GetItem", json!({"TableName": "Tab", "Key": {"id": {"S": "new"}}})).await;
    assert!(new.get("Item").is_some());

    ok(&b, REGION, "TagResource", json!({"ResourceArn": arn, "Tags": [{"Key": "team", "Value": "dax"}]})).await;
    let tags = ok(&b, REGION, "ListTagsOfResource", json!({"ResourceArn": arn})).await;
    assert_eq!(tags["Tags"], json!([{"Key": "team", "Value": "dax"}]));
    ok(&b, REGION, "UntagResource", json!({"ResourceArn": arn, "TagKeys": ["team"]})).await;
    assert_eq!(ok(&b, REGION, "ListTagsOfResource", json!({"ResourceArn": arn})).await["Tags"], json!([]));
    let e = err(&b, REGION, "ListTagsOfResource", json!({"ResourceArn": format!("{arn}x")})).await;
    assert_eq!(e.code, "AccessDeniedException");
    assert!(e.message.contains(&format!("arn:aws:iam::{ACCOUNT}:root")), "{}", e.message);

    let endpoints = ok(&b, "eu-west-1", "DescribeEndpoints", json!({})).await;
    assert_eq!(endpoints["Endpoints"][0]["Address"], "dynamodb.eu-west-1.amazonaws.com");
    b.set_endpoint_address("localhost:4566");
    let endpoints = ok(&b, "eu-west-1", "DescribeEndpoints", json!({})).await;
    assert_eq!(endpoints["Endpoints"][0]["Address"], "localhost:4566");
    let limits = ok(&b, REGION, "DescribeLimits", json!({})).await;
    assert_eq!(limits["TableMaxReadCapacityUnits"], 40000);

    let e = err(&b, REGION, "CreateBackup", json!({"TableName": "Tab", "BackupName": "b"})).await;
    assert_eq!((e.code.as_str(), e.status), ("UnknownOperationException", 400));
    let e = err(&b, "../../etc", "ListTables", json!({})).await;
    assert_eq!(e.code, "ValidationException");
    let e = err(&b, REGION, "ListTables", json!([1, 2])).await;
    assert_eq!(e.code, "SerializationException");
}

#[tokio::test]
async fn streams_carry_our_arns() {
    let (_dir, b) = backend();
    let mut t = simple_table("Strm");
    t["StreamSpecification"] = json!({"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"});
    let created = ok(&b, REGION, "CreateTable", t).await;
    let stream = created["TableDescription"]["LatestStreamArn"].as_str().expect("stream arn").to_owned();
    assert!(stream.starts_with(&format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Strm/stream/")), "{stream}");
    ok(&b, REGION, "PutItem", json!({"TableName": "Strm", "Item": {"id": {"S": "1"}}})).await;
    let listed = streams_ok(&b, "ListStreams", json!({"TableName": "Strm"})).await;
    assert_eq!(listed["Streams"][0]["StreamArn"], stream);
    let described = streams_ok(&b, "DescribeStream", json!({"StreamArn": stream})).await;
    assert_eq!(described["StreamDescription"]["StreamArn"], stream);
    let shard = described["StreamDescription"]["Shards"][0]["ShardId"].clone();
    let it = streams_ok(
        &b,
        "GetShardIterator",
        json!({"StreamArn": stream, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"}),
    )
    .await;
    let records = streams_ok(&b, "GetRecords", json!({"ShardIterator": it["ShardIterator"]})).await;
    assert_eq!(records["Records"][0]["awsRegion"], REGION);
    assert_eq!(records["Records"][0]["dynamodb"]["NewImage"]["id"], json!({"S": "1"}));
    // Streams calls take the streams path only.
    assert_eq!(err(&b, REGION, "ListStreams", json!({})).await.code, "UnknownOperationException");
}

async fn streams_ok(b: &dyn Backend, op: &str, input: Value) -> Value {
    match b.streams(REGION, op, input).await {
        Ok(v) => v,
        Err(e) => panic!("{op} failed: {e:?}"),
    }
}

async fn streams_err(b: &dyn Backend, op: &str, input: Value) -> dynamo::DynamoError {
    match b.streams(REGION, op, input).await {
        Ok(v) => panic!("{op} unexpectedly succeeded: {v}"),
        Err(e) => e,
    }
}

async fn records(b: &dyn Backend, iterator: &Value, limit: Option<u64>) -> (Vec<Value>, Value) {
    let mut input = json!({"ShardIterator": iterator});
    if let Some(l) = limit {
        input["Limit"] = json!(l);
    }
    let out = streams_ok(b, "GetRecords", input).await;
    (out["Records"].as_array().cloned().unwrap_or_default(), out["NextShardIterator"].clone())
}

/// What daxd adds to the engine's streams: shard ids of the model's length,
/// no `EndingSequenceNumber` on the open shard, the four iterator types and
/// `AT_TIMESTAMP`, paging, iterators that expire after 15 minutes, and
/// 24-hour retention with `TrimmedDataAccessException`, on the injected clock.
#[tokio::test]
async fn streams_expire_iterators_and_trim_after_a_day() {
    let dir = tempfile::tempdir().expect("tempdir");
    let start = time::OffsetDateTime::now_utc().unix_timestamp();
    let clock = std::sync::Arc::new(base::ManualClock::at(start));
    let b = EmbeddedBackend::open_with_clock(dir.path(), ACCOUNT, clock.clone()).expect("open");
    let mut t = simple_table("Life");
    t["StreamSpecification"] = json!({"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"});
    let stream = ok(&b, REGION, "CreateTable", t).await["TableDescription"]["LatestStreamArn"].clone();
    for i in 1..=3 {
        ok(&b, REGION, "PutItem", json!({"TableName": "Life", "Item": {"id": {"S": "k"}, "n": {"N": i.to_string()}}}))
            .await;
    }
    let d = streams_ok(&b, "DescribeStream", json!({"StreamArn": stream})).await;
    let desc = &d["StreamDescription"];
    assert_eq!(desc["KeySchema"], json!([{"AttributeName": "id", "KeyType": "HASH"}]));
    let shard = desc["Shards"][0]["ShardId"].as_str().expect("shard").to_owned();
    assert!((28..=65).contains(&shard.len()), "{shard}");
    assert!(desc["Shards"][0]["SequenceNumberRange"].get("EndingSequenceNumber").is_none(), "the shard is open");
    assert!(desc["Shards"][0]["SequenceNumberRange"]["StartingSequenceNumber"].is_string());
    let after = streams_ok(&b, "DescribeStream", json!({"StreamArn": stream, "ExclusiveStartShardId": shard})).await;
    assert_eq!(after["StreamDescription"]["Shards"], json!([]));

    let iterator = |kind: &str, seq: Option<&Value>| {
        let mut input = json!({"StreamArn": stream, "ShardId": shard, "ShardIteratorType": kind});
        if let Some(s) = seq {
            input["SequenceNumber"] = s.clone();
        }
        input
    };
    let it = streams_ok(&b, "GetShardIterator", iterator("TRIM_HORIZON", None)).await["ShardIterator"].clone();
    assert!(it.as_str().expect("iterator").starts_with(&format!("{}|1|", stream.as_str().expect("arn"))));
    let (page1, next) = records(&b, &it, Some(2)).await;
    assert_eq!(page1.len(), 2);
    assert_eq!(page1[1]["eventName"], "MODIFY");
    assert_eq!(page1[1]["dynamodb"]["OldImage"]["n"], json!({"N": "1"}));
    let (page2, next) = records(&b, &next, Some(2)).await;
    assert_eq!(page2.len(), 1);
    assert!(records(&b, &next, None).await.0.is_empty());
    let second = &page1[1]["dynamodb"]["SequenceNumber"];
    let at =
        streams_ok(&b, "GetShardIterator", iterator("AT_SEQUENCE_NUMBER", Some(second))).await["ShardIterator"].clone();
    assert_eq!(records(&b, &at, None).await.0.len(), 2);
    let after = streams_ok(&b, "GetShardIterator", iterator("AFTER_SEQUENCE_NUMBER", Some(second))).await
        ["ShardIterator"]
        .clone();
    assert_eq!(records(&b, &after, None).await.0.len(), 1);
    let latest = streams_ok(&b, "GetShardIterator", iterator("LATEST", None)).await["ShardIterator"].clone();
    assert!(records(&b, &latest, None).await.0.is_empty());
    let mut at_time = iterator("AT_TIMESTAMP", None);
    at_time["Timestamp"] = json!(start - 60);
    let at_time = streams_ok(&b, "GetShardIterator", at_time).await["ShardIterator"].clone();
    assert_eq!(records(&b, &at_time, None).await.0.len(), 3);

    // Malformed, tampered and foreign iterators and ARNs.
    assert_eq!(streams_err(&b, "GetRecords", json!({"ShardIterator": "garbage"})).await.code, "ValidationException");
    let tampered = it.as_str().expect("iterator").replace("table/Life/", "table/Other/");
    assert_eq!(streams_err(&b, "GetRecords", json!({"ShardIterator": tampered})).await.code, "ValidationException");
    let foreign = stream.as_str().expect("arn").replace(ACCOUNT, "999999999999");
    assert_eq!(
        streams_err(&b, "DescribeStream", json!({"StreamArn": foreign})).await.code,
        "ResourceNotFoundException"
    );
    let mut wrong_shard = iterator("LATEST", None);
    wrong_shard["ShardId"] = json!("shardId-00000000000000000000-00000000");
    assert_eq!(streams_err(&b, "GetShardIterator", wrong_shard).await.code, "ResourceNotFoundException");

    // Iterators expire 15 minutes after they were handed out.
    clock.advance_secs(16 * 60);
    let e = streams_err(&b, "GetRecords", json!({"ShardIterator": latest})).await;
    assert_eq!((e.code.as_str(), e.status), ("ExpiredIteratorException", 400));

    // A day later the records are trimmed: an iterator handed out just before
    // they went is behind the trim point, and so is their sequence number.
    clock.advance_secs(24 * 3600 - 16 * 60 - 5 * 60);
    let behind = streams_ok(&b, "GetShardIterator", iterator("TRIM_HORIZON", None)).await["ShardIterator"].clone();
    assert_eq!(records(&b, &behind, Some(1)).await.0.len(), 1, "still retained");
    clock.advance_secs(10 * 60);
    let e = streams_err(&b, "GetRecords", json!({"ShardIterator": behind})).await;
    assert_eq!(e.code, "TrimmedDataAccessException");
    let e = streams_err(&b, "GetShardIterator", iterator("AT_SEQUENCE_NUMBER", Some(second))).await;
    assert_eq!(e.code, "TrimmedDataAccessException");
    let fresh = streams_ok(&b, "GetShardIterator", iterator("TRIM_HORIZON", None)).await["ShardIterator"].clone();
    assert!(records(&b, &fresh, None).await.0.is_empty());
    let d = streams_ok(&b, "DescribeStream", json!({"StreamArn": stream})).await;
    assert!(d["StreamDescription"]["Shards"][0]["SequenceNumberRange"].get("StartingSequenceNumber").is_none());
}

#[tokio::test]
async fn table_arns_are_accepted_as_names() {
    let (_dir, b) = backend();
    let arn = format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Tab");
    ok(&b, REGION, "CreateTable", simple_table(&arn)).await;
    ok(&b, REGION, "PutItem", json!({"TableName": arn, "Item": {"id": {"S": "1"}}})).await;
    let got = ok(&b, REGION, "GetItem", json!({"TableName": "Tab", "Key": {"id": {"S": "1"}}})).await;
    assert!(got.get("Item").is_some());
    let desc = ok(&b, REGION, "DescribeTable", json!({"TableName": arn})).await;
    assert_eq!(desc["Table"]["TableName"], "Tab");
    assert_eq!(desc["Table"]["TableArn"], arn);

    let batch =
        ok(&b, REGION, "BatchGetItem", json!({"RequestItems": {arn.clone(): {"Keys": [{"id": {"S": "1"}}]}}})).await;
    assert_eq!(batch["Responses"][arn.as_str()][0]["id"], json!({"S": "1"}), "{batch}");
    ok(
        &b,
        REGION,
        "BatchWriteItem",
        json!({"RequestItems": {arn.clone(): [{"PutRequest": {"Item": {"id": {"S": "2"}}}}]}}),
    )
    .await;
    ok(
        &b,
        REGION,
        "TransactWriteItems",
        json!({"TransactItems": [{"Put": {"TableName": arn, "Item": {"id": {"S": "3"}}}}]}),
    )
    .await;
    let tg = ok(
        &b,
        REGION,
        "TransactGetItems",
        json!({"TransactItems": [{"Get": {"TableName": arn, "Key": {"id": {"S": "2"}}}}]}),
    )
    .await;
    assert_eq!(tg["Responses"][0]["Item"]["id"], json!({"S": "2"}));
    let q = ok(
        &b,
        REGION,
        "Query",
        json!({"TableName": arn, "KeyConditionExpression": "id = :v", "ExpressionAttributeValues": {":v": {"S": "3"}}}),
    )
    .await;
    assert_eq!(q["Count"], 1);
    ok(&b, REGION, "DeleteTable", json!({"TableName": arn})).await;
}

#[tokio::test]
async fn regions_are_separate_and_data_survives_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let b = EmbeddedBackend::open(dir.path(), ACCOUNT).expect("open");
        ok(&b, "us-east-1", "CreateTable", simple_table("Tab")).await;
        ok(&b, "us-east-1", "PutItem", json!({"TableName": "Tab", "Item": {"id": {"S": "east"}}})).await;
        ok(&b, "eu-west-1", "CreateTable", simple_table("Tab")).await;
        ok(&b, "eu-west-1", "PutItem", json!({"TableName": "Tab", "Item": {"id": {"S": "west"}}})).await;
        let e = err(&b, "ap-south-1", "DescribeTable", json!({"TableName": "Tab"})).await;
        assert_eq!(e.code, "ResourceNotFoundException");
        let east = ok(&b, "us-east-1", "GetItem", json!({"TableName": "Tab", "Key": {"id": {"S": "west"}}})).await;
        assert!(east.get("Item").is_none(), "regions share data");
    }
    assert!(dir.path().join(ACCOUNT).join("us-east-1.db").exists());
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(ACCOUNT).join("eu-west-1.db")).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let b = EmbeddedBackend::open(dir.path(), ACCOUNT).expect("reopen");
    let east = ok(&b, "us-east-1", "GetItem", json!({"TableName": "Tab", "Key": {"id": {"S": "east"}}})).await;
    assert!(east.get("Item").is_some());
    let west = ok(&b, "eu-west-1", "GetItem", json!({"TableName": "Tab", "Key": {"id": {"S": "west"}}})).await;
    assert!(west.get("Item").is_some());
    let desc = ok(&b, "eu-west-1", "DescribeTable", json!({"TableName": "Tab"})).await;
    assert_eq!(desc["Table"]["TableArn"], format!("arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/Tab"));

    // The admin reset wipes every region, including one not opened since.
    let b2 = EmbeddedBackend::open(dir.path(), ACCOUNT).expect("reopen");
    ok(&b2, "us-east-1", "ListTables", json!({})).await;
    b2.reset().await.expect("reset");
    for region in ["us-east-1", "eu-west-1"] {
        assert_eq!(ok(&b2, region, "ListTables", json!({})).await["TableNames"], json!([]), "{region}");
    }
    ok(&b2, "eu-west-1", "CreateTable", simple_table("Tab")).await;
    drop(b2);
    drop(b);
    let b3 = EmbeddedBackend::open(dir.path(), ACCOUNT).expect("reopen");
    assert_eq!(ok(&b3, "us-east-1", "ListTables", json!({})).await["TableNames"], json!([]));
    assert_eq!(ok(&b3, "eu-west-1", "ListTables", json!({})).await["TableNames"], json!(["Tab"]));
}

#[test]
fn bad_accounts_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    for bad in ["", "12345", "../12345678901", "abcdefghijkl"] {
        assert!(EmbeddedBackend::open(dir.path(), bad).is_err(), "{bad}");
    }
}

/// Child half of `acknowledged_writes_survive_kill_9`: writes forever,
/// printing each acknowledged key. Does nothing unless started by it.
#[tokio::test]
async fn kill_9_child() {
    let Ok(dir) = std::env::var("DYNAMO_KILL9_DIR") else { return };
    let b = EmbeddedBackend::open(std::path::Path::new(&dir), ACCOUNT).expect("open");
    for i in 0u64.. {
        ok(&b, REGION, "PutItem", json!({"TableName": "Kill", "Item": {"id": {"S": i.to_string()}}})).await;
        println!("acked {i}");
    }
}

#[tokio::test]
async fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let b = EmbeddedBackend::open(dir.path(), ACCOUNT).expect("open");
        ok(&b, REGION, "CreateTable", simple_table("Kill")).await;
    }
    let mut child = Command::new(std::env::current_exe().expect("exe"))
        .args(["--exact", "embedded::kill_9_child", "--nocapture", "--test-threads=1"])
        .env("DYNAMO_KILL9_DIR", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut acked = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        if let Some(n) = line.strip_prefix("acked ") {
            acked.push(n.to_owned());
            if acked.len() == 50 {
                child.kill().expect("SIGKILL");
                break;
            }
        }
    }
    let _ = child.wait();
    assert_eq!(acked.len(), 50, "the child stopped early");
    let b = EmbeddedBackend::open(dir.path(), ACCOUNT).expect("reopen");
    for id in &acked {
        let got = ok(&b, REGION, "GetItem", json!({"TableName": "Kill", "Key": {"id": {"S": id}}})).await;
        assert!(got.get("Item").is_some(), "acknowledged item {id} was lost");
    }
}

#[tokio::test]
async fn concurrent_calls_share_one_database() {
    let (_dir, b) = backend();
    ok(&b, REGION, "CreateTable", simple_table("Conc")).await;
    let b = std::sync::Arc::new(b);
    let mut tasks = Vec::new();
    for i in 0..20 {
        let b = std::sync::Arc::clone(&b);
        tasks.push(tokio::spawn(async move {
            b.call(REGION, "PutItem", json!({"TableName": "Conc", "Item": {"id": {"S": i.to_string()}}})).await
        }));
    }
    for t in tasks {
        t.await.expect("join").expect("put");
    }
    let scan = ok(b.as_ref(), REGION, "Scan", json!({"TableName": "Conc", "Select": "COUNT"})).await;
    assert_eq!(scan["Count"], 20);
}

/// Malformed requests to every operation are errors, never a panic in the
/// engine (which would surface as "the DynamoDB engine failed").
#[tokio::test]
async fn junk_input_is_an_error_not_a_panic() {
    let (_dir, b) = backend();
    ok(&b, REGION, "CreateTable", simple_table("Junk")).await;
    let ops = [
        "CreateTable",
        "DeleteTable",
        "DescribeTable",
        "ListTables",
        "UpdateTable",
        "PutItem",
        "GetItem",
        "DeleteItem",
        "UpdateItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "TransactGetItems",
        "ListStreams",
        "DescribeStream",
        "GetShardIterator",
        "GetRecords",
        "UpdateTimeToLive",
        "DescribeTimeToLive",
        "ExecuteStatement",
        "ExecuteTransaction",
        "BatchExecuteStatement",
        "TagResource",
        "UntagResource",
        "ListTagsOfResource",
    ];
    let junk = [
        json!({"TableName": 5}),
        json!({"TableName": "Junk", "Key": {"id": {"S": "1", "N": "2"}}, "Item": {"id": {}}}),
        json!({"TableName": "Junk", "Key": {"id": {"N": "1e999"}}, "Item": {"id": {"S": ""}},
               "KeyConditionExpression": "id = = :v", "UpdateExpression": "SET", "ExpressionAttributeValues": {":v": []}}),
        json!({"RequestItems": {"Junk": 7}, "TransactItems": [{"Put": 1}, {}], "Statement": "SELECT FROM", "ShardIterator": "!!"}),
        json!({"TableName": "Junk", "Limit": -1, "ExclusiveStartKey": {"id": {"B": "not base64!"}}, "Segment": 3, "TotalSegments": 2}),
        json!({"ResourceArn": "arn:aws:dynamodb:::", "Tags": [{"Key": ""}], "StreamArn": "x/y/z", "TransactStatements": [{}]}),
    ];
    for op in ops {
        for input in &junk {
            let streams = dynamo::STREAMS_OPERATIONS.contains(&op);
            let result = if streams {
                b.streams(REGION, op, input.clone()).await
            } else {
                b.call(REGION, op, input.clone()).await
            };
            if let Err(e) = result {
                assert!(!e.message.contains("the DynamoDB engine failed"), "{op} {input}: {e:?}");
            }
        }
    }
}

/// Calls from many tasks of a multi-threaded runtime: those that find the
/// database idle run in place (`block_in_place`), the others queue for the
/// database's thread; every write is applied once and every read sees it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_on_a_multi_threaded_runtime() {
    let (_dir, b) = backend();
    ok(&b, REGION, "CreateTable", simple_table("Conc")).await;
    let b = std::sync::Arc::new(b);
    let tasks: Vec<_> = (0..40)
        .map(|t| {
            let b = std::sync::Arc::clone(&b);
            tokio::spawn(async move {
                for i in 0..25 {
                    let key = format!("t{t}-{i}");
                    let item = json!({"id": {"S": key}, "n": {"N": (t * 100 + i).to_string()}});
                    b.call(REGION, "PutItem", json!({"TableName": "Conc", "Item": item})).await.expect("put");
                    let got = b
                        .call(REGION, "GetItem", json!({"TableName": "Conc", "Key": {"id": {"S": key}}}))
                        .await
                        .expect("get");
                    assert_eq!(got["Item"]["n"]["N"], (t * 100 + i).to_string());
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task");
    }
    let scan = ok(b.as_ref(), REGION, "Scan", json!({"TableName": "Conc", "Select": "COUNT"})).await;
    assert_eq!(scan["Count"], 1000);
}
