//! DynamoDB's handler: every operation of the model reaches the backend whole
//! (`api::dynamodb::DynamoService`, which also works out the per-table
//! targets), on the async worker.

use std::sync::Arc;

use serde_json::Value;
use wire::AwsError;

use super::dynamodb::DynamoService;
use super::handler::{operations, Grant, Handler, Operation, Principal};
use super::Target;
use crate::services::Service;

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
