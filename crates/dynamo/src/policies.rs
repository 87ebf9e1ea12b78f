//! DynamoDB resource-based policies (`PutResourcePolicy`,
//! `GetResourcePolicy`, `DeleteResourcePolicy`), kept in daxd's durable
//! state and the same in front of either backend.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::arn::ResourceArn;
use crate::{Backend, DynamoError};

/// The largest policy document DynamoDB accepts (20 KB, white space counted).
pub const MAX_POLICY_BYTES: usize = 20 * 1024;

/// The namespace of the records in `state::Store`, keyed by resource ARN.
const NS: &str = "dynamodb.resource-policy";

/// `ExpectedRevisionId` meaning "only if the resource has no policy".
const NO_POLICY: &str = "NO_POLICY";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Record {
    policy: String,
    revision_id: String,
    /// The `TableId` of the table the policy was put on, so a table deleted
    /// and created again under the same name does not inherit it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    table_id: Option<String>,
}

/// The resource-based policies of tables and streams.
pub struct ResourcePolicies {
    store: Arc<state::Store>,
    clock: Arc<dyn base::Clock>,
    /// The account resource ARNs must name; `None` trusts the engine's own
    /// table ARNs instead.
    account: Option<String>,
    inner: Mutex<Inner>,
}

struct Inner {
    by_arn: HashMap<String, Record>,
    /// The last revision id handed out, as a number: ids are the time in
    /// milliseconds, bumped when needed so that each is larger than the last.
    last_revision: u128,
}

impl std::fmt::Debug for ResourcePolicies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourcePolicies").field("count", &self.lock().by_arn.len()).finish_non_exhaustive()
    }
}

fn storage_error(e: &state::StoreError) -> DynamoError {
    DynamoError::internal(format!("resource policy store: {e}"))
}

fn not_found_table(table: &str) -> DynamoError {
    DynamoError::resource_not_found(format!("Requested resource not found: Table: {table} not found"))
}

fn policy_not_found(message: String) -> DynamoError {
    DynamoError::new("PolicyNotFoundException", 400, message)
}

fn revision_mismatch(expected: &str, table: &str, current: &str) -> DynamoError {
    policy_not_found(format!(
        "Resource-based policy not found for the provided ResourceArn: Requested update for policy with revision id {expected}, but the policy associated to target table {table} has revision id {current}."
    ))
}

fn no_policy_for(arn: &str) -> DynamoError {
    policy_not_found(format!("Resource-based policy not found for the provided ResourceArn: {arn}"))
}

fn string_member<'v>(input: &'v Value, member: &str) -> Option<&'v str> {
    input.get(member).and_then(Value::as_str)
}

fn required<'v>(input: &'v Value, member: &str, wire: &str) -> Result<&'v str, DynamoError> {
    string_member(input, member).ok_or_else(|| {
        DynamoError::validation(format!(
            "1 validation error detected: Value null at '{wire}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

impl ResourcePolicies {
    /// The policies recorded in `store`.
    ///
    /// # Errors
    /// `InternalServerError` when the store cannot be read.
    pub fn new(store: Arc<state::Store>, clock: Arc<dyn base::Clock>) -> Result<Self, DynamoError> {
        let mut by_arn = HashMap::new();
        let mut last_revision = 0;
        for (arn, bytes) in store.scan(NS).map_err(|e| storage_error(&e))? {
            // A record this build cannot read is skipped rather than fatal.
            let Ok(record) = serde_json::from_slice::<Record>(&bytes) else { continue };
            last_revision = last_revision.max(record.revision_id.parse().unwrap_or(0));
            by_arn.insert(arn, record);
        }
        Ok(ResourcePolicies { store, clock, account: None, inner: Mutex::new(Inner { by_arn, last_revision }) })
    }

    /// Resource ARNs must name `account`. Needed in front of an engine whose
    /// table ARNs carry another account (a remote endpoint's own).
    #[must_use]
    pub fn for_account(mut self, account: &str) -> Self {
        self.account = Some(account.to_owned());
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether [`Self::call`] answers `op` itself.
    pub fn handles(op: &str) -> bool {
        matches!(op, "PutResourcePolicy" | "GetResourcePolicy" | "DeleteResourcePolicy")
    }

    /// The policy document in force for `arn`, for the authorizer: the
    /// policy of a table or stream ARN, and the table's policy for an index
    /// ARN (DynamoDB controls index access with the base table's policy).
    pub fn resource_policy(&self, arn: &str) -> Option<String> {
        let parsed = ResourceArn::parse(arn)?;
        let key = if parsed.index.is_some() { parsed.table_arn() } else { arn.to_owned() };
        self.lock().by_arn.get(&key).map(|r| r.policy.clone())
    }

    /// Run `op` in front of `backend`: the three policy operations are
    /// answered here, `DeleteTable` also deletes the table's policies once it
    /// succeeded, and everything else goes to `backend` unchanged.
    ///
    /// # Errors
    /// DynamoDB's errors for the operation.
    pub async fn call(
        &self,
        backend: &dyn Backend,
        region: &str,
        op: &str,
        input: Value,
    ) -> Result<Value, DynamoError> {
        match op {
            "PutResourcePolicy" => self.put(backend, region, &input).await,
            "GetResourcePolicy" => self.get(backend, region, &input).await,
            "DeleteResourcePolicy" => self.delete(backend, region, &input).await,
            "DeleteTable" => {
                let output = backend.call(region, op, input).await?;
                if let Some(arn) = output.pointer("/TableDescription/TableArn").and_then(Value::as_str) {
                    self.forget_table(arn)?;
                }
                Ok(output)
            }
            _ => backend.call(region, op, input).await,
        }
    }

    /// Delete the policies of the table `table_arn` and of its streams.
    ///
    /// # Errors
    /// `InternalServerError` when the store cannot be written.
    pub fn forget_table(&self, table_arn: &str) -> Result<(), DynamoError> {
        let streams = format!("{table_arn}/stream/");
        let mut inner = self.lock();
        let doomed: Vec<String> =
            inner.by_arn.keys().filter(|k| *k == table_arn || k.starts_with(&streams)).cloned().collect();
        let ops: Vec<state::Op> = doomed.iter().map(|k| state::Op::delete(NS, k.clone())).collect();
        self.store.apply(&ops).map_err(|e| storage_error(&e))?;
        for k in &doomed {
            inner.by_arn.remove(k);
        }
        Ok(())
    }

    /// Forget every policy (the admin reset).
    ///
    /// # Errors
    /// `InternalServerError` when the store cannot be written.
    pub fn reset(&self) -> Result<(), DynamoError> {
        let mut inner = self.lock();
        let keys = self.store.scan(NS).map_err(|e| storage_error(&e))?;
        let ops: Vec<state::Op> = keys.into_iter().map(|(k, _)| state::Op::delete(NS, k)).collect();
        self.store.apply(&ops).map_err(|e| storage_error(&e))?;
        inner.by_arn.clear();
        Ok(())
    }

    /// Check that the resource exists, and return its table's `TableId`.
    async fn resource<'a>(
        &self,
        backend: &dyn Backend,
        region: &str,
        arn: &'a str,
    ) -> Result<(ResourceArn<'a>, Option<String>), DynamoError> {
        let invalid =
            || DynamoError::validation(format!("Invalid TableArn: Invalid ResourceArn provided as input {arn}"));
        let parsed = ResourceArn::parse(arn).ok_or_else(invalid)?;
        if parsed.index.is_some() {
            return Err(invalid());
        }
        if parsed.region != region {
            return Err(not_found_table(parsed.table));
        }
        let output = backend
            .call(region, "DescribeTable", json!({ "TableName": parsed.table }))
            .await
            .map_err(|e| if e.code == "ResourceNotFoundException" { not_found_table(parsed.table) } else { e })?;
        let table = output.get("Table").cloned().unwrap_or(Value::Null);
        // The account and table must be those of the table found. When the
        // account is configured, it is checked against the ARN given (a remote
        // engine's own table ARNs carry its account, not daxd's).
        let mismatch = match &self.account {
            Some(account) => {
                parsed.account != account
                    || table.get("TableName").and_then(Value::as_str).is_some_and(|t| t != parsed.table)
            }
            None => table.get("TableArn").and_then(Value::as_str).is_some_and(|t| t != parsed.table_arn()),
        };
        if mismatch {
            return Err(not_found_table(parsed.table));
        }
        if parsed.stream.is_some() && table.get("LatestStreamArn").and_then(Value::as_str) != Some(arn) {
            return Err(DynamoError::resource_not_found(format!(
                "Requested resource not found: Stream: {arn} not found"
            )));
        }
        let table_id = table.get("TableId").and_then(Value::as_str).map(str::to_owned);
        Ok((parsed, table_id))
    }

    /// The record of `arn` if it belongs to the table as it is now.
    fn current<'i>(inner: &'i Inner, arn: &str, table_id: Option<&String>) -> Option<&'i Record> {
        inner.by_arn.get(arn).filter(|r| r.table_id.is_none() || table_id.is_none() || r.table_id.as_ref() == table_id)
    }

    fn next_revision(&self, inner: &mut Inner) -> String {
        let now_ms = u128::try_from(self.clock.now().unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        let next = now_ms.max(inner.last_revision.saturating_add(1));
        inner.last_revision = next;
        next.to_string()
    }

    async fn put(&self, backend: &dyn Backend, region: &str, input: &Value) -> Result<Value, DynamoError> {
        let arn = required(input, "ResourceArn", "resourceArn")?;
        let policy = required(input, "Policy", "policy")?;
        let expected = string_member(input, "ExpectedRevisionId");
        // ConfirmRemoveSelfResourceAccess is accepted: daxd's root can always
        // change a policy, so there is no lock-out to confirm.
        if policy.len() > MAX_POLICY_BYTES {
            return Err(DynamoError::validation(format!(
                "Resource-based policy size {} exceeds the maximum allowed size of {MAX_POLICY_BYTES} bytes",
                policy.len()
            )));
        }
        if let Err(e) = policy::parse_resource_policy(policy) {
            return Err(DynamoError::validation(format!("Invalid policy document: {}", e.message)));
        }
        let (parsed, table_id) = self.resource(backend, region, arn).await?;

        let mut inner = self.lock();
        let current = Self::current(&inner, arn, table_id.as_ref()).cloned();
        match (expected, &current) {
            (Some(NO_POLICY), Some(cur)) => {
                return Err(policy_not_found(format!(
                    "Resource-based policy not found for the provided ResourceArn: Requested policy update expecting none to be present for table {}, but a policy exists with revision id {}.",
                    parsed.table, cur.revision_id
                )));
            }
            (Some(NO_POLICY), None) | (None, _) => {}
            (Some(exp), Some(cur)) if exp != cur.revision_id => {
                return Err(revision_mismatch(exp, parsed.table, &cur.revision_id));
            }
            (Some(_), Some(_)) => {}
            (Some(_), None) => return Err(no_policy_for(arn)),
        }
        if let Some(cur) = &current {
            if cur.policy == policy {
                return Ok(json!({ "RevisionId": cur.revision_id }));
            }
        }
        let record = Record { policy: policy.to_owned(), revision_id: self.next_revision(&mut inner), table_id };
        let bytes = serde_json::to_vec(&record).map_err(|e| DynamoError::internal(e.to_string()))?;
        self.store.apply(&[state::Op::put(NS, arn, bytes)]).map_err(|e| storage_error(&e))?;
        let revision_id = record.revision_id.clone();
        inner.by_arn.insert(arn.to_owned(), record);
        Ok(json!({ "RevisionId": revision_id }))
    }

    async fn get(&self, backend: &dyn Backend, region: &str, input: &Value) -> Result<Value, DynamoError> {
        let arn = required(input, "ResourceArn", "resourceArn")?;
        let (_, table_id) = self.resource(backend, region, arn).await?;
        let inner = self.lock();
        let record = Self::current(&inner, arn, table_id.as_ref()).ok_or_else(|| no_policy_for(arn))?;
        Ok(json!({ "Policy": record.policy, "RevisionId": record.revision_id }))
    }

    async fn delete(&self, backend: &dyn Backend, region: &str, input: &Value) -> Result<Value, DynamoError> {
        let arn = required(input, "ResourceArn", "resourceArn")?;
        let expected = string_member(input, "ExpectedRevisionId");
        let (parsed, table_id) = self.resource(backend, region, arn).await?;
        let mut inner = self.lock();
        let current = Self::current(&inner, arn, table_id.as_ref()).cloned().ok_or_else(|| no_policy_for(arn))?;
        if let Some(exp) = expected {
            if exp != current.revision_id {
                return Err(revision_mismatch(exp, parsed.table, &current.revision_id));
            }
        }
        self.store.apply(&[state::Op::delete(NS, arn)]).map_err(|e| storage_error(&e))?;
        inner.by_arn.remove(arn);
        let revision_id = self.next_revision(&mut inner);
        Ok(json!({ "RevisionId": revision_id }))
    }
}
