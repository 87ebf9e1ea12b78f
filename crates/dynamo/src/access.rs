//! What a DynamoDB request asks to do, in the terms of IAM: for each table
//! (or index, or stream-less resource) it touches, DynamoDB's action, the
//! resource ARN, the fine-grained condition keys the request makes knowable
//! (`dynamodb:LeadingKeys`, `dynamodb:Attributes`, `dynamodb:Select`,
//! `dynamodb:ReturnValues`) and the table's resource-based policy.
//!
//! This is plain data for the caller to authorize: the crate knows DynamoDB's
//! requests, not IAM. `dynamodb:LeadingKeys` needs each table's partition key
//! name, read with `DescribeTable` through the [`Backend`] and kept in
//! [`KeySchemas`] until the table is created or deleted again.
//!
//! Expressions are read with the same tokenizer as the request checks
//! (`expr.rs`); PartiQL statements only as far as their verb and table.
//!
//! The DAX nodes keep key schemas of their own, per cluster: a node describes
//! a table *as its cluster's role*, so a role that may not describe the table
//! gets that error through DAX, and it needs the whole schema with types. The
//! cache here holds partition key names only, looked up as daxd for the
//! authorizer; sharing one would skip the role's authorization of the lookup.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Map, Value};

use crate::expr::{tokens, Tok};
use crate::{table_name_from, Backend, ResourcePolicies};

/// One part of a request to authorize.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// The IAM action, `dynamodb:<Action>`.
    pub action: String,
    /// The resource ARN: a table, `<table>/index/<name>`, the ARN the request
    /// names, or `*`.
    pub resource: String,
    /// Condition keys and their values (a key repeats for a multivalued key).
    pub context: Vec<(String, String)>,
    /// The resource-based policy of the table, if it has one.
    pub resource_policy: Option<String>,
}

/// Partition key names by (region, table name), for `dynamodb:LeadingKeys`.
#[derive(Debug, Default)]
pub struct KeySchemas {
    hash_keys: Mutex<HashMap<(String, String), String>>,
}

impl KeySchemas {
    /// An empty cache.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The table's partition key name, from the cache or `DescribeTable`.
    /// `None` when the table cannot be described (it does not exist): the
    /// request then carries no `dynamodb:LeadingKeys`, and the backend answers
    /// for the missing table.
    pub async fn hash_key(&self, backend: &dyn Backend, region: &str, table: &str) -> Option<String> {
        let name = table_name_from(table).to_owned();
        let key = (region.to_owned(), name.clone());
        if let Some(hash) = self.hash_keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key) {
            return Some(hash.clone());
        }
        let out = backend.call(region, "DescribeTable", serde_json::json!({"TableName": name})).await.ok()?;
        let hash = out
            .pointer("/Table/KeySchema")?
            .as_array()?
            .iter()
            .find(|k| k.get("KeyType").and_then(Value::as_str) == Some("HASH"))?
            .get("AttributeName")?
            .as_str()?
            .to_owned();
        self.hash_keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(key, hash.clone());
        Some(hash)
    }

    /// Forget a table's key schema: the operation `op` on `input` may give the
    /// table another one (`CreateTable`, `DeleteTable`).
    pub fn forget_for(&self, region: &str, op: &str, input: &Value) {
        if !matches!(op, "DeleteTable" | "CreateTable") {
            return;
        }
        if let Some(table) = input.get("TableName").and_then(Value::as_str) {
            let key = (region.to_owned(), table_name_from(table).to_owned());
            self.hash_keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&key);
        }
    }
}

/// Where a request is made: the account whose tables it names, and the region.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub account: &'a str,
    pub region: &'a str,
}

/// Everything one request must be authorized for: one [`Access`] per table
/// it touches, with DynamoDB's action for that part of the request (a
/// transaction's parts are `GetItem`, `PutItem`, `UpdateItem`, `DeleteItem`
/// or `ConditionCheckItem`; a PartiQL statement's, `PartiQL<Verb>`).
pub async fn accesses(
    backend: &dyn Backend,
    schemas: &KeySchemas,
    policies: &ResourcePolicies,
    scope: Scope<'_>,
    op: &str,
    input: &Value,
) -> Vec<Access> {
    let table_of = |v: &Value| v.get("TableName").and_then(Value::as_str).map(str::to_owned);
    let on_table = |action: &str, table: &str, index: Option<&str>, leading: Vec<String>, item_input: &Value| {
        on_table(policies, scope, action, table, index, leading, item_input)
    };
    let mut out = Vec::new();
    match op {
        "GetItem" | "DeleteItem" | "UpdateItem" | "PutItem" | "Query" | "Scan" => {
            let table = table_of(input).unwrap_or_default();
            let hash = schemas.hash_key(backend, scope.region, &table).await;
            let source = if op == "PutItem" { input.get("Item") } else { input.get("Key") };
            let leading: Vec<String> = match (&hash, op) {
                (Some(h), "Query") => query_partition(input, h).into_iter().collect(),
                (Some(h), _) => source.and_then(|s| s.get(h)).and_then(key_text).into_iter().collect(),
                (None, _) => Vec::new(),
            };
            let index = input.get("IndexName").and_then(Value::as_str);
            out.push(on_table(op, &table, index, leading, input));
        }
        "BatchGetItem" | "BatchWriteItem" => {
            for (table, req) in input.get("RequestItems").and_then(Value::as_object).into_iter().flatten() {
                let hash = schemas.hash_key(backend, scope.region, table).await;
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
                out.push(on_table(op, table, None, leading, &attrs_from));
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
                let hash = schemas.hash_key(backend, scope.region, &table).await;
                let key = if kind == "Put" { body.get("Item") } else { body.get("Key") };
                let leading = hash.and_then(|h| key.and_then(|k| k.get(&h)).and_then(key_text)).into_iter().collect();
                out.push(on_table(action, &table, None, leading, body));
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
            for statement in statements {
                let (action, table) = partiql(statement);
                out.push(on_table(action, &table.unwrap_or_else(|| "*".into()), None, Vec::new(), &Value::Null));
            }
        }
        _ => {
            if let Some(table) = table_of(input) {
                out.push(on_table(op, &table, None, Vec::new(), &Value::Null));
            } else if let Some(arn) = input.get("ResourceArn").and_then(Value::as_str) {
                out.push(Access {
                    action: format!("dynamodb:{op}"),
                    resource: arn.to_owned(),
                    context: Vec::new(),
                    resource_policy: policies.resource_policy(arn),
                });
            } else {
                out.push(Access {
                    action: format!("dynamodb:{op}"),
                    resource: "*".to_owned(),
                    context: Vec::new(),
                    resource_policy: None,
                });
            }
        }
    }
    out
}

/// The access to one table (or index), with the table's resource policy and
/// the condition keys this part of the request makes knowable.
fn on_table(
    policies: &ResourcePolicies,
    scope: Scope<'_>,
    action: &str,
    table: &str,
    index: Option<&str>,
    leading: Vec<String>,
    item_input: &Value,
) -> Access {
    let arn = table_arn(scope.account, scope.region, table);
    let resource = match index {
        Some(i) => format!("{arn}/index/{i}"),
        None => arn.clone(),
    };
    let mut context: Vec<(String, String)> =
        leading.into_iter().map(|v| ("dynamodb:LeadingKeys".to_owned(), v)).collect();
    for a in attributes(action, item_input).unwrap_or_default() {
        context.push(("dynamodb:Attributes".into(), a));
    }
    if let Some(s) = item_input.get("Select").and_then(Value::as_str) {
        context.push(("dynamodb:Select".into(), s.to_owned()));
    }
    if let Some(r) = item_input.get("ReturnValues").and_then(Value::as_str) {
        context.push(("dynamodb:ReturnValues".into(), r.to_owned()));
    }
    Access { action: format!("dynamodb:{action}"), resource, context, resource_policy: policies.resource_policy(&arn) }
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

/// Words of the expression languages that are not attribute names: keywords
/// and function names, in any case.
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

/// The top-level attribute names an expression mentions, with `#aliases`
/// resolved, in order of first mention. A path's later elements (`b` in
/// `a.b`) name no attribute of the item.
fn expression_names(expr: &str, names: Option<&Value>) -> Vec<String> {
    let toks = tokens(expr);
    let mut out: Vec<String> = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if i > 0 && toks[i - 1] == Tok::Other('.') {
            continue;
        }
        let name = match t {
            Tok::Word(w) if !WORDS.iter().any(|k| k.eq_ignore_ascii_case(w)) => (*w).to_owned(),
            Tok::Name(n) => match names.and_then(|m| m.get(*n)).and_then(Value::as_str) {
                Some(n) => n.to_owned(),
                None => continue,
            },
            _ => continue,
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

/// The partition key value of a Query: the `:value` its
/// `KeyConditionExpression` sets the partition key equal to (or the legacy
/// `KeyConditions` entry for it).
fn query_partition(input: &Value, hash: &str) -> Option<String> {
    if let Some(kc) = input.get("KeyConditions").and_then(|k| k.get(hash)) {
        return kc.get("AttributeValueList")?.get(0).and_then(key_text);
    }
    let toks = tokens(input.get("KeyConditionExpression")?.as_str()?);
    let names = input.get("ExpressionAttributeNames");
    for (i, w) in toks.windows(3).enumerate() {
        let [lhs, Tok::Other('='), Tok::Value(value)] = w else { continue };
        // `<=` and `>=` are two tokens, and a path's later element is no key.
        if i > 0 && matches!(toks[i - 1], Tok::Other('.' | '<' | '>' | '!')) {
            continue;
        }
        let resolved = match lhs {
            Tok::Word(w) => Some(*w),
            Tok::Name(n) => names.and_then(|m| m.get(*n)).and_then(Value::as_str),
            _ => None,
        };
        if resolved == Some(hash) {
            return input.get("ExpressionAttributeValues")?.get(*value).and_then(key_text);
        }
    }
    None
}

/// The PartiQL action and table of a statement.
fn partiql(statement: &str) -> (&'static str, Option<String>) {
    let words: Vec<&str> = statement.split_whitespace().collect();
    let verb = words.first().map(|w| w.to_ascii_uppercase()).unwrap_or_default();
    let (action, after) = match verb.as_str() {
        "INSERT" => ("PartiQLInsert", "INTO"),
        "UPDATE" => ("PartiQLUpdate", "UPDATE"),
        "DELETE" => ("PartiQLDelete", "FROM"),
        _ => ("PartiQLSelect", "FROM"),
    };
    let table = words
        .iter()
        .position(|w| w.eq_ignore_ascii_case(after))
        .and_then(|i| words.get(i + 1))
        .map(|t| t.trim_matches('"').split('.').next().unwrap_or_default().trim_matches('"').to_owned());
    (action, table)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn query_partition_values() {
        let cases: &[(Value, Option<&str>)] = &[
            (
                json!({"KeyConditionExpression": "#p = :v AND sk > :s", "ExpressionAttributeNames": {"#p": "user"},
                       "ExpressionAttributeValues": {":v": {"S": "alice"}, ":s": {"N": "3"}}}),
                Some("alice"),
            ),
            (
                json!({"KeyConditionExpression": "(user=:v)", "ExpressionAttributeValues": {":v": {"N": "7"}}}),
                Some("7"),
            ),
            (
                json!({"KeyConditionExpression": "sk = :s and user = :v",
                       "ExpressionAttributeValues": {":v": {"S": "x"}, ":s": {"S": "y"}}}),
                Some("x"),
            ),
            (json!({"KeyConditionExpression": "user <= :v", "ExpressionAttributeValues": {":v": {"S": "x"}}}), None),
            (json!({"KeyConditionExpression": "a.user = :v", "ExpressionAttributeValues": {":v": {"S": "x"}}}), None),
            (
                json!({"KeyConditions": {"user": {"AttributeValueList": [{"S": "bob"}], "ComparisonOperator": "EQ"}}}),
                Some("bob"),
            ),
            (json!({"KeyConditionExpression": "sk = :x"}), None),
            (json!({"KeyConditionExpression": "user = :missing", "ExpressionAttributeValues": {}}), None),
        ];
        for (input, want) in cases {
            assert_eq!(query_partition(input, "user").as_deref(), *want, "{input}");
        }
    }

    #[test]
    fn attribute_names() {
        let cases: &[(&str, Value, Option<&[&str]>)] = &[
            ("PutItem", json!({"Item": {"a": {"S": "1"}, "b": {"N": "2"}}}), Some(&["a", "b"])),
            (
                "UpdateItem",
                json!({"UpdateExpression": "SET #c = :x, d = if_not_exists(d, :y) REMOVE e.f[1]",
                       "ExpressionAttributeNames": {"#c": "count"}}),
                Some(&["count", "d", "e"]),
            ),
            (
                "UpdateItem",
                json!({"AttributeUpdates": {"z": {"Action": "DELETE"}}, "UpdateExpression": "ADD n :one"}),
                Some(&["z", "n"]),
            ),
            (
                "GetItem",
                json!({"ProjectionExpression": "a, #b.c", "ExpressionAttributeNames": {"#b": "bb"}}),
                Some(&["a", "bb"]),
            ),
            ("GetItem", json!({"ProjectionExpression": "#nope, x[2]"}), Some(&["x"])),
            ("Query", json!({"AttributesToGet": ["p", "q"]}), Some(&["p", "q"])),
            ("GetItem", json!({}), None),
        ];
        for (op, input, want) in cases {
            let got = attributes(op, input);
            let want = want.map(|w| w.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
            assert_eq!(got, want, "{op} {input}");
        }
    }

    #[test]
    fn partiql_actions() {
        let cases = [
            ("SELECT * FROM \"Books\" WHERE id = ?", "PartiQLSelect", Some("Books")),
            ("insert into Books value {'id': 1}", "PartiQLInsert", Some("Books")),
            ("UPDATE \"Books\" SET a = 1", "PartiQLUpdate", Some("Books")),
            ("DELETE FROM Books.idx WHERE x = 1", "PartiQLDelete", Some("Books")),
            ("EXISTS(SELECT 1)", "PartiQLSelect", None),
        ];
        for (statement, action, table) in cases {
            assert_eq!(partiql(statement), (action, table.map(str::to_owned)), "{statement}");
        }
    }

    #[test]
    fn arns_and_key_text() {
        assert_eq!(table_arn("1", "us-east-1", "T"), "arn:aws:dynamodb:us-east-1:1:table/T");
        assert_eq!(
            table_arn("1", "us-east-1", "arn:aws:dynamodb:eu-west-1:1:table/T"),
            "arn:aws:dynamodb:eu-west-1:1:table/T"
        );
        assert_eq!(key_text(&json!({"N": "12"})).as_deref(), Some("12"));
        assert_eq!(key_text(&json!({"BOOL": true})), None);
    }
}
