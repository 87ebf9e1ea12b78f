#![allow(dead_code)]

use dynamo::{Backend, DynamoError};
use serde_json::{json, Value};

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

pub async fn ok(backend: &dyn Backend, region: &str, op: &str, input: Value) -> Value {
    match backend.call(region, op, input).await {
        Ok(v) => v,
        Err(e) => panic!("{op} failed: {e:?}"),
    }
}

pub async fn err(backend: &dyn Backend, region: &str, op: &str, input: Value) -> DynamoError {
    match backend.call(region, op, input).await {
        Ok(v) => panic!("{op} unexpectedly succeeded: {v}"),
        Err(e) => e,
    }
}

/// A table `pk` (S) + `sk` (N) with a GSI `byEmail` on `email`.
pub fn music_table(name: &str) -> Value {
    json!({
        "TableName": name,
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "email", "AttributeType": "S"}
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"}
        ],
        "GlobalSecondaryIndexes": [{
            "IndexName": "byEmail",
            "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"}
        }],
        "BillingMode": "PAY_PER_REQUEST"
    })
}

/// A table with only a hash key `id` (S).
pub fn simple_table(name: &str) -> Value {
    json!({
        "TableName": name,
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST"
    })
}
