//! The DynamoDB API (JSON 1.0) in front of a `dynamo` backend: each request
//! authorized for every table it touches, with what `dynamo::access` reads
//! from it (DynamoDB's action, the resource, the fine-grained condition keys
//! and the table's resource-based policy), by the same IAM engine as
//! everything else. Every operation of the model reaches the backend whole,
//! on the async worker.

use std::sync::Arc;

use dynamo::access::{self, KeySchemas, Scope};
use dynamo::{Backend, DynamoError, ResourcePolicies};
use serde_json::Value;
use wire::AwsError;

use super::handler::{operations, Grant, Handler, Operation, Principal};
use super::Target;
use crate::services::Service;

/// DynamoDB as daxd serves it.
pub struct DynamoService {
    pub backend: Arc<dyn Backend>,
    pub policies: ResourcePolicies,
    /// Partition key names, for `dynamodb:LeadingKeys`.
    schemas: KeySchemas,
}

/// A DynamoDB error as the front door renders it.
pub fn err(e: DynamoError) -> AwsError {
    let mut out = AwsError::new(e.status, e.code, e.message);
    if let Some(Value::Object(extra)) = e.extra {
        out = out.with_extra(extra);
    }
    out
}

impl DynamoService {
    #[must_use]
    pub fn new(backend: Arc<dyn Backend>, policies: ResourcePolicies) -> Self {
        DynamoService { backend, policies, schemas: KeySchemas::new() }
    }

    /// Everything one request must be authorized for: one target per table
    /// it touches, with DynamoDB's action for that part of the request.
    pub async fn targets(&self, account: &str, region: &str, op: &str, input: &Value) -> Vec<Target> {
        let scope = Scope { account, region };
        access::accesses(self.backend.as_ref(), &self.schemas, &self.policies, scope, op, input)
            .await
            .into_iter()
            .map(|a| Target {
                action: a.action,
                resource: a.resource,
                context: a.context,
                tag_keys: Vec::new(),
                resource_policies: a.resource_policy.into_iter().collect(),
            })
            .collect()
    }

    /// Whether the backend validates `op`'s input itself (the three resource
    /// policy operations are daxd's own, whatever the backend).
    #[must_use]
    pub fn validates(&self, op: &str) -> bool {
        !matches!(op, "PutResourcePolicy" | "GetResourcePolicy" | "DeleteResourcePolicy") && self.backend.validates(op)
    }

    /// Whether the backend, validating `op` itself, also refuses members of
    /// the wrong JSON type ([`dynamo::Backend::checks_json_types`]).
    #[must_use]
    pub fn checks_json_types(&self, op: &str) -> bool {
        self.backend.checks_json_types(op)
    }

    /// Run an authorized operation.
    ///
    /// # Errors
    /// DynamoDB's errors, unchanged.
    pub async fn call(&self, region: &str, op: &str, input: Value) -> Result<Value, AwsError> {
        self.schemas.forget_for(region, op, &input);
        self.policies.call(self.backend.as_ref(), region, op, input).await.map_err(err)
    }
}

operations! {
    /// The DynamoDB operations: all of the model's, each answered by the backend.
    pub enum DynamoOp {
        BatchExecuteStatement, BatchGetItem, BatchWriteItem, CancelBulkOperation, CreateBackup, CreateGlobalTable,
        CreateTable, DeleteBackup, DeleteItem, DeleteResourcePolicy, DeleteTable, DescribeBackup,
        DescribeBulkOperation, DescribeContinuousBackups, DescribeContributorInsights, DescribeEndpoints,
        DescribeExport, DescribeGlobalTable, DescribeGlobalTableSettings, DescribeImport,
        DescribeKinesisStreamingDestination, DescribeLimits, DescribeTable, DescribeTableReplicaAutoScaling,
        DescribeTimeToLive, DisableKinesisStreamingDestination, EnableKinesisStreamingDestination, ExecuteStatement,
        ExecuteTransaction, ExportTableToPointInTime, GetItem, GetResourcePolicy, ImportTable, ListBackups,
        ListBulkOperations, ListContributorInsights, ListExports, ListGlobalTables, ListImports, ListTables,
        ListTagsOfResource, PutItem, PutResourcePolicy, Query, RestoreTableFromBackup, RestoreTableToPointInTime,
        Scan, SearchVectors, StartBulkPutItems, TagResource, TransactGetItems, TransactWriteItems, UntagResource,
        UpdateContinuousBackups, UpdateContributorInsights, UpdateGlobalTable, UpdateGlobalTableSettings,
        UpdateItem, UpdateKinesisStreamingDestination, UpdateTable, UpdateTableReplicaAutoScaling, UpdateTimeToLive,
    }
}

/// DynamoDB's handler.
pub struct DynamoApi {
    pub dynamo: Arc<DynamoService>,
}

impl Handler for DynamoApi {
    type Op = DynamoOp;
    const SERVICE: Service = Service::DynamoDb;
    const BLOCKING: bool = false;
    const ROOT_SKIPS_TARGETS: bool = true;

    async fn targets(&self, op: DynamoOp, input: &Value, who: &Principal<'_>) -> Vec<Target> {
        self.dynamo.targets(who.account, who.region, op.name(), input).await
    }

    async fn call(
        &self,
        op: DynamoOp,
        input: Value,
        who: &Principal<'_>,
        _grant: &Grant<'_>,
    ) -> Result<Value, AwsError> {
        // The input reaches the backend as decoded: no member is dropped (`tests/repo/input_members.rs`).
        self.dynamo.call(who.region, op.name(), input).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_the_models() {
        let served = super::super::handler::tests::check_operations::<DynamoApi>();
        assert_eq!(served, crate::services::def(Service::DynamoDb).model.operations.len());
    }
}
