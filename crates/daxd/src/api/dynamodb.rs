//! The DynamoDB API (JSON 1.0) in front of a `dynamo` backend: per-table
//! authorization with DynamoDB's real actions, resources and fine-grained
//! condition keys, and the table's resource-based policy evaluated by the
//! same IAM engine as everything else.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use dynamo::{Backend, DynamoError, ResourcePolicies};
use serde_json::{Map, Value};
use wire::AwsError;

use super::Target;

/// A table's key attribute names.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KeySchema {
    hash: String,
}

/// DynamoDB as daxd serves it.
pub struct DynamoService {
    pub backend: Arc<dyn Backend>,
    pub policies: ResourcePolicies,
    /// Key schemas by (region, table name), for `dynamodb:LeadingKeys`.
    schemas: Mutex<HashMap<(String, String), KeySchema>>,
}

/// A DynamoDB error as the front door renders it.
pub fn err(e: DynamoError) -> AwsError {
    let mut out = AwsError::new(e.status, e.code, e.message);
    if let Some(Value::Object(extra)) = e.extra {
        out = out.with_extra(extra);
    }
    out
}

fn table_arn(account: &str, region: &str, table: &str) -> String {
    if table.starts_with("arn:") {
        return table.to_owned();
    }
    format!("arn:aws:dynamodb:{region}:{account}:table/{table}")
}

/// A key attribute value as the string `dynamodb:LeadingKeys` compares.
fn key_text(v: &Value) -> Option<String> {
    let (kind, inner) = v.as_object()?.iter().next()?;
    match kind.as_str() {
        "S" | "N" | "B" => inner.as_str().map(str::to_owned),
        _ => None,
    }
}

/// The attribute names an expression mentions, with `#aliases` resolved.
fn expression_names(expr: &str, names: Option<&Value>) -> Vec<String> {
    const WORDS: &[&str] = &[
        "SET",
        "REMOVE",
        "ADD",
        "DELETE",
        "AND",
        "OR",
        "NOT",
        "BETWEEN",
        "IN",
        "if_not_exists",
        "list_append",
        "attribute_exists",
        "attribute_not_exists",
        "attribute_type",
        "begins_with",
        "contains",
        "size",
    ];
    let mut out = Vec::new();
    for token in
        expr.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '#' || c == ':' || c == '.' || c == '-'))
    {
        let first = token.split('.').next().unwrap_or_default();
        if first.is_empty() || first.starts_with(':') || WORDS.iter().any(|w| w.eq_ignore_ascii_case(first)) {
            continue;
        }
        if first.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            continue;
        }
        let name = if first.starts_with('#') {
            match names.and_then(|n| n.get(first)).and_then(Value::as_str) {
                Some(n) => n.to_owned(),
                None => continue,
            }
        } else {
            first.to_owned()
        };
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// The operation's attribute names, where the request makes them knowable.
fn attributes(op: &str, input: &Value) -> Option<Vec<String>> {
    let names = input.get("ExpressionAttributeNames");
    let mut out: Vec<String> = Vec::new();
    match op {
        "PutItem" => out.extend(input.get("Item")?.as_object()?.keys().cloned()),
        "UpdateItem" => {
            if let Some(u) = input.get("AttributeUpdates").and_then(Value::as_object) {
                out.extend(u.keys().cloned());
            }
            if let Some(e) = input.get("UpdateExpression").and_then(Value::as_str) {
                out.extend(expression_names(e, names));
            }
        }
        _ => {
            if let Some(p) = input.get("ProjectionExpression").and_then(Value::as_str) {
                out.extend(expression_names(p, names));
            }
            if let Some(a) = input.get("AttributesToGet").and_then(Value::as_array) {
                out.extend(a.iter().filter_map(Value::as_str).map(str::to_owned));
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The partition key value of a Query, from `KeyConditionExpression` (or
/// the legacy `KeyConditions`).
fn query_partition(input: &Value, hash: &str) -> Option<String> {
    if let Some(kc) = input.get("KeyConditions").and_then(|k| k.get(hash)) {
        return kc.get("AttributeValueList")?.get(0).and_then(key_text);
    }
    let expr = input.get("KeyConditionExpression")?.as_str()?;
    let names = input.get("ExpressionAttributeNames");
    for clause in expr.split('&').flat_map(|s| s.split(" AND ")).flat_map(|s| s.split(" and ")) {
        let Some((lhs, rhs)) = clause.split_once('=') else { continue };
        let (lhs, rhs) = (lhs.trim().trim_start_matches('('), rhs.trim().trim_end_matches(')'));
        let resolved =
            if lhs.starts_with('#') { names.and_then(|n| n.get(lhs)).and_then(Value::as_str) } else { Some(lhs) };
        if resolved == Some(hash) && rhs.starts_with(':') {
            return input.get("ExpressionAttributeValues")?.get(rhs).and_then(key_text);
        }
    }
    None
}

/// The PartiQL action and table of a statement.
fn partiql(statement: &str) -> (String, Option<String>) {
    let words: Vec<&str> = statement.split_whitespace().collect();
    let verb = words.first().map(|w| w.to_ascii_uppercase()).unwrap_or_default();
    let action = match verb.as_str() {
        "INSERT" => "PartiQLInsert",
        "UPDATE" => "PartiQLUpdate",
        "DELETE" => "PartiQLDelete",
        _ => "PartiQLSelect",
    };
    let after = match verb.as_str() {
        "INSERT" => "INTO",
        "UPDATE" => "UPDATE",
        _ => "FROM",
    };
    let table = words
        .iter()
        .position(|w| w.eq_ignore_ascii_case(after))
        .and_then(|i| words.get(i + 1))
        .map(|t| t.trim_matches('"').split('.').next().unwrap_or_default().trim_matches('"').to_owned());
    (action.to_owned(), table)
}

impl DynamoService {
    #[must_use]
    pub fn new(backend: Arc<dyn Backend>, policies: ResourcePolicies) -> Self {
        DynamoService { backend, policies, schemas: Mutex::new(HashMap::new()) }
    }

    async fn hash_key(&self, region: &str, table: &str) -> Option<String> {
        let name = dynamo::table_name_from(table).to_owned();
        let key = (region.to_owned(), name.clone());
        if let Some(s) = self.schemas.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key) {
            return Some(s.hash.clone());
        }
        let out = self.backend.call(region, "DescribeTable", serde_json::json!({"TableName": name})).await.ok()?;
        let hash = out
            .pointer("/Table/KeySchema")?
            .as_array()?
            .iter()
            .find(|k| k.get("KeyType").and_then(Value::as_str) == Some("HASH"))?
            .get("AttributeName")?
            .as_str()?
            .to_owned();
        self.schemas
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key, KeySchema { hash: hash.clone() });
        Some(hash)
    }

    fn forget_schema(&self, region: &str, table: &str) {
        let key = (region.to_owned(), dynamo::table_name_from(table).to_owned());
        self.schemas.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&key);
    }

    /// A target on one table (or index), with the table's resource policy
    /// and the condition keys this part of the request makes knowable.
    #[allow(clippy::too_many_arguments)] // one call site, each argument a different fact of the request
    async fn on_table(
        &self,
        account: &str,
        region: &str,
        action: &str,
        table: &str,
        index: Option<&str>,
        leading: Vec<String>,
        item_input: &Value,
    ) -> Target {
        let arn = table_arn(account, region, table);
        let resource = match index {
            Some(i) => format!("{arn}/index/{i}"),
            None => arn.clone(),
        };
        let mut t = Target::new("dynamodb", action, &resource);
        if let Some(p) = self.policies.resource_policy(&arn) {
            t.resource_policies.push(p);
        }
        for v in leading {
            t.context.push(("dynamodb:LeadingKeys".into(), v));
        }
        for a in attributes(action.trim_start_matches("dynamodb:"), item_input).unwrap_or_default() {
            t.context.push(("dynamodb:Attributes".into(), a));
        }
        if let Some(s) = item_input.get("Select").and_then(Value::as_str) {
            t.context.push(("dynamodb:Select".into(), s.to_owned()));
        }
        if let Some(r) = item_input.get("ReturnValues").and_then(Value::as_str) {
            t.context.push(("dynamodb:ReturnValues".into(), r.to_owned()));
        }
        t
    }

    /// Everything one request must be authorized for: one target per table
    /// it touches, with DynamoDB's action for that part of the request.
    pub async fn targets(&self, account: &str, region: &str, op: &str, input: &Value) -> Vec<Target> {
        let table_of = |v: &Value| v.get("TableName").and_then(Value::as_str).map(str::to_owned);
        let mut out = Vec::new();
        match op {
            "GetItem" | "DeleteItem" | "UpdateItem" | "PutItem" | "Query" | "Scan" => {
                let table = table_of(input).unwrap_or_default();
                let hash = self.hash_key(region, &table).await;
                let source = if op == "PutItem" { input.get("Item") } else { input.get("Key") };
                let leading: Vec<String> = match (&hash, op) {
                    (Some(h), "Query") => query_partition(input, h).into_iter().collect(),
                    (Some(h), _) => source.and_then(|s| s.get(h)).and_then(key_text).into_iter().collect(),
                    (None, _) => Vec::new(),
                };
                let index = input.get("IndexName").and_then(Value::as_str);
                out.push(self.on_table(account, region, op, &table, index, leading, input).await);
            }
            "BatchGetItem" | "BatchWriteItem" => {
                for (table, req) in input.get("RequestItems").and_then(Value::as_object).into_iter().flatten() {
                    let hash = self.hash_key(region, table).await;
                    let mut leading = Vec::new();
                    let mut attrs_from = Value::Object(Map::new());
                    if let Some(h) = &hash {
                        if op == "BatchGetItem" {
                            leading.extend(
                                req.get("Keys")
                                    .and_then(Value::as_array)
                                    .into_iter()
                                    .flatten()
                                    .filter_map(|k| k.get(h))
                                    .filter_map(key_text),
                            );
                            attrs_from = req.clone();
                        } else {
                            for w in req.as_array().into_iter().flatten() {
                                let key = w.pointer("/PutRequest/Item").or_else(|| w.pointer("/DeleteRequest/Key"));
                                leading.extend(key.and_then(|k| k.get(h)).and_then(key_text));
                            }
                        }
                    }
                    out.push(self.on_table(account, region, op, table, None, leading, &attrs_from).await);
                }
            }
            "TransactGetItems" | "TransactWriteItems" => {
                for item in input.get("TransactItems").and_then(Value::as_array).into_iter().flatten() {
                    let Some((kind, body)) = item.as_object().and_then(|o| o.iter().next()) else { continue };
                    let action = match kind.as_str() {
                        "Get" => "GetItem",
                        "Put" => "PutItem",
                        "Update" => "UpdateItem",
                        "Delete" => "DeleteItem",
                        _ => "ConditionCheckItem",
                    };
                    let table = table_of(body).unwrap_or_default();
                    let hash = self.hash_key(region, &table).await;
                    let key = if kind == "Put" { body.get("Item") } else { body.get("Key") };
                    let leading =
                        hash.and_then(|h| key.and_then(|k| k.get(&h)).and_then(key_text)).into_iter().collect();
                    out.push(self.on_table(account, region, action, &table, None, leading, body).await);
                }
            }
            "ExecuteStatement" | "BatchExecuteStatement" | "ExecuteTransaction" => {
                let statements: Vec<&str> = match op {
                    "ExecuteStatement" => input.get("Statement").and_then(Value::as_str).into_iter().collect(),
                    _ => input
                        .get(if op == "BatchExecuteStatement" { "Statements" } else { "TransactStatements" })
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|s| s.get("Statement"))
                        .filter_map(Value::as_str)
                        .collect(),
                };
                for st in statements {
                    let (action, table) = partiql(st);
                    out.push(
                        self.on_table(
                            account,
                            region,
                            &action,
                            &table.unwrap_or_else(|| "*".into()),
                            None,
                            Vec::new(),
                            &Value::Null,
                        )
                        .await,
                    );
                }
            }
            _ => {
                if let Some(table) = table_of(input) {
                    out.push(self.on_table(account, region, op, &table, None, Vec::new(), &Value::Null).await);
                } else if let Some(arn) = input.get("ResourceArn").and_then(Value::as_str) {
                    let mut t = Target::new("dynamodb", op, arn);
                    if let Some(p) = self.policies.resource_policy(arn) {
                        t.resource_policies.push(p);
                    }
                    out.push(t);
                } else {
                    out.push(Target::new("dynamodb", op, "*"));
                }
            }
        }
        for t in &mut out {
            if !t.action.contains(':') {
                t.action = format!("dynamodb:{}", t.action);
            }
        }
        out
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
        if matches!(op, "DeleteTable" | "CreateTable") {
            if let Some(t) = input.get("TableName").and_then(Value::as_str) {
                self.forget_schema(region, t);
            }
        }
        self.policies.call(self.backend.as_ref(), region, op, input).await.map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn condition_key_extraction() {
        let q = json!({"KeyConditionExpression": "#p = :v AND sk > :s", "ExpressionAttributeNames": {"#p": "user"},
                       "ExpressionAttributeValues": {":v": {"S": "alice"}, ":s": {"N": "3"}}});
        assert_eq!(query_partition(&q, "user").as_deref(), Some("alice"));
        let legacy =
            json!({"KeyConditions": {"user": {"AttributeValueList": [{"S": "bob"}], "ComparisonOperator": "EQ"}}});
        assert_eq!(query_partition(&legacy, "user").as_deref(), Some("bob"));
        assert_eq!(query_partition(&json!({"KeyConditionExpression": "sk = :x"}), "user"), None);

        let put = json!({"Item": {"a": {"S": "1"}, "b": {"N": "2"}}});
        let mut got = attributes("PutItem", &put).expect("names");
        got.sort();
        assert_eq!(got, ["a", "b"]);
        let upd = json!({"UpdateExpression": "SET #c = :x, d = if_not_exists(d, :y) REMOVE e.f[1]", "ExpressionAttributeNames": {"#c": "count"}});
        assert_eq!(attributes("UpdateItem", &upd).expect("names"), ["count", "d", "e"]);
        assert_eq!(
            attributes(
                "GetItem",
                &json!({"ProjectionExpression": "a, #b.c", "ExpressionAttributeNames": {"#b": "bb"}})
            )
            .expect("p"),
            ["a", "bb"]
        );
        assert_eq!(attributes("GetItem", &json!({})), None);
    }

    #[test]
    fn partiql_actions() {
        assert_eq!(partiql("SELECT * FROM \"Books\" WHERE id = ?"), ("PartiQLSelect".into(), Some("Books".into())));
        assert_eq!(partiql("insert into Books value {'id': 1}"), ("PartiQLInsert".into(), Some("Books".into())));
        assert_eq!(partiql("UPDATE \"Books\" SET a = 1"), ("PartiQLUpdate".into(), Some("Books".into())));
        assert_eq!(partiql("DELETE FROM Books.idx WHERE x = 1"), ("PartiQLDelete".into(), Some("Books".into())));
    }

    #[test]
    fn arns() {
        assert_eq!(table_arn("1", "us-east-1", "T"), "arn:aws:dynamodb:us-east-1:1:table/T");
        assert_eq!(
            table_arn("1", "us-east-1", "arn:aws:dynamodb:eu-west-1:1:table/T"),
            "arn:aws:dynamodb:eu-west-1:1:table/T"
        );
        assert_eq!(key_text(&json!({"N": "12"})).as_deref(), Some("12"));
        assert_eq!(key_text(&json!({"BOOL": true})), None);
    }
}
