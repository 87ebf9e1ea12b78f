//! DynamoDB Streams: `ListStreams`, `DescribeStream`, `GetShardIterator` and
//! `GetRecords`. Like DynamoDB's, each request reaches the backend whole
//! (`dynamo::Backend::streams`: the embedded engine with what `dynamo` adds,
//! or the remote Streams endpoint); this file only says what IAM authorizes.

use serde_json::Value;
use wire::AwsError;

use super::dynamodb::{err, DynamoService};
use super::Target;

/// What a Streams request is authorized for: `dynamodb:<op>` on the stream's
/// ARN (as the request names it, or as the shard iterator starts), with the
/// stream's resource policy; `ListStreams` on `*`.
#[must_use]
pub fn target(service: &DynamoService, op: &str, input: &Value) -> Target {
    let arn = match op {
        "DescribeStream" | "GetShardIterator" => input.get("StreamArn").and_then(Value::as_str),
        "GetRecords" => input.get("ShardIterator").and_then(Value::as_str).and_then(dynamo::iterator_stream_arn),
        _ => None,
    };
    let mut t = Target::new("dynamodb", op, arn.unwrap_or("*"));
    if let Some(p) = arn.and_then(|a| service.policies.resource_policy(a)) {
        t.resource_policies.push(p);
    }
    t
}

/// Run an authorized Streams operation on the backend.
///
/// # Errors
/// The backend's errors (DynamoDB Streams' codes and statuses), unchanged.
pub async fn call(service: &DynamoService, region: &str, op: &str, input: Value) -> Result<Value, AwsError> {
    service.backend.streams(region, op, input).await.map_err(err)
}
