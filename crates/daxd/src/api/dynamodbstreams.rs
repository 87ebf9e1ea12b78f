//! DynamoDB Streams: `ListStreams`, `DescribeStream`, `GetShardIterator` and
//! `GetRecords`. Like DynamoDB's, each request reaches the backend whole
//! (`dynamo::Backend::streams`: the embedded engine with what `dynamo` adds,
//! or the remote Streams endpoint); this file only says what IAM authorizes.

use std::sync::Arc;

use serde_json::Value;
use wire::AwsError;

use super::dynamodb::{err, DynamoService};
use super::handler::{operations, Grant, Handler, Operation, Principal};
use super::Target;
use crate::services::Service;

operations! {
    /// The DynamoDB Streams operations: all of the model's.
    pub enum StreamsOp {
        DescribeStream,
        GetRecords,
        GetShardIterator,
        ListStreams,
    }
}

/// What a Streams request is authorized for: `dynamodb:<op>` on the stream's
/// ARN (as the request names it, or as the shard iterator starts), with the
/// stream's resource policy; `ListStreams` on `*`.
#[must_use]
pub fn target(service: &DynamoService, op: StreamsOp, input: &Value) -> Target {
    let arn = match op {
        StreamsOp::DescribeStream | StreamsOp::GetShardIterator => input.get("StreamArn").and_then(Value::as_str),
        StreamsOp::GetRecords => {
            input.get("ShardIterator").and_then(Value::as_str).and_then(dynamo::iterator_stream_arn)
        }
        StreamsOp::ListStreams => None,
    };
    let mut t = Target::new("dynamodb", op.name(), arn.unwrap_or("*"));
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

/// DynamoDB Streams' handler: the requests run on the backend, on the async worker.
pub struct StreamsApi {
    pub dynamo: Arc<DynamoService>,
}

impl Handler for StreamsApi {
    type Op = StreamsOp;
    const SERVICE: Service = Service::DynamoDbStreams;
    const BLOCKING: bool = false;
    const ROOT_SKIPS_TARGETS: bool = true;

    async fn targets(&self, op: StreamsOp, input: &Value, _who: &Principal<'_>) -> Vec<Target> {
        vec![target(&self.dynamo, op, input)]
    }

    async fn call(
        &self,
        op: StreamsOp,
        input: Value,
        who: &Principal<'_>,
        _grant: &Grant<'_>,
    ) -> Result<Value, AwsError> {
        call(&self.dynamo, who.region, op.name(), input).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_the_models() {
        let served = super::super::handler::tests::check_operations::<StreamsApi>();
        assert_eq!(served, crate::services::def(Service::DynamoDbStreams).model.operations.len());
    }
}
