//! The boundary with dynoxide: operation names to its request and response
//! types, its errors to [`DynamoError`], and its fixed ARNs to ours.
//!
//! dynoxide's own dispatch lives in its `server` module, which is compiled
//! only with its `http-server` feature (axum, tower-http, ...). This module
//! does the same job for a library build: the request JSON is decoded into
//! dynoxide's request type with serde (from the JSON value; its server
//! decodes the text, which gives the same errors with a position that
//! DynamoDB's messages do not have), the `Database` method runs, and the
//! response is encoded back to JSON.

use dynoxide::{Database, DynoxideError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use crate::arn;
use crate::checks;
use crate::error::request_validation;
use crate::DynamoError;

/// The DynamoDB operations dynoxide implements, and so the embedded backend
/// serves (besides `DescribeEndpoints` and `DescribeLimits`, answered by
/// [`crate::EmbeddedBackend`] itself). Its four DynamoDB Streams operations
/// are reached through `streams.rs` only.
pub(crate) const OPERATIONS: &[&str] = &[
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
    "SearchVectors",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactWriteItems",
    "TransactGetItems",
    "UpdateTimeToLive",
    "DescribeTimeToLive",
    "ExecuteStatement",
    "ExecuteTransaction",
    "BatchExecuteStatement",
    "TagResource",
    "UntagResource",
    "ListTagsOfResource",
];

/// The account and region a database serves, for the ARNs in answers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope<'a> {
    pub region: &'a str,
    pub account: &'a str,
}

/// Members whose value is a DynamoDB or KMS ARN, in requests and responses.
const ARN_MEMBERS: &[&str] = &[
    "TableArn",
    "IndexArn",
    "LatestStreamArn",
    "StreamArn",
    "LastEvaluatedStreamArn",
    "ExclusiveStartStreamArn",
    "KMSMasterKeyArn",
    "ResourceArn",
];

/// Members that hold items or keys: never rewritten, and not walked.
const DATA_MEMBERS: &[&str] = &[
    "Item",
    "Items",
    "Attributes",
    "Key",
    "Keys",
    "LastEvaluatedKey",
    "ExclusiveStartKey",
    "Responses",
    "UnprocessedKeys",
    "UnprocessedItems",
    "NewImage",
    "OldImage",
    "ExpressionAttributeValues",
    "Parameters",
];

/// The prefix dynoxide puts on every ARN it makes (`arn:aws:dynamodb:dynoxide:000000000000:`).
fn engine_arn_prefix(service: &str) -> String {
    format!("arn:aws:{service}:{}:{}:", dynoxide::streams::LOCAL_REGION, dynoxide::streams::LOCAL_ACCOUNT)
}

fn our_arn_prefix(service: &str, scope: Scope<'_>) -> String {
    format!("arn:aws:{service}:{}:{}:", scope.region, scope.account)
}

/// Run `op` on `db`. Synchronous: call it off the async worker threads.
pub(crate) fn run(db: &Database, scope: Scope<'_>, op: &str, mut input: Value) -> Result<Value, DynamoError> {
    if !input.is_object() {
        return Err(DynamoError::new(
            "SerializationException",
            400,
            "Start of structure or map found where not expected",
        ));
    }
    let renamed = arn::normalize_request(&mut input)?;
    rewrite_request_arns(&mut input, scope);
    checks::before(op, &input)?;
    let mut output = dispatch(db, op, &input)
        .map_err(|e| match e {
            Failure::Engine(e) => engine_error(op, e, scope),
            Failure::Ours(e) => e,
        })
        .map_err(|e| checks::after_error(op, &input, e))?;
    rewrite_response(&mut output, scope);
    arn::restore_response_keys(&mut output, &renamed);
    Ok(output)
}

enum Failure {
    Engine(DynoxideError),
    Ours(DynamoError),
}

impl From<DynoxideError> for Failure {
    fn from(e: DynoxideError) -> Self {
        Failure::Engine(e)
    }
}

impl From<DynamoError> for Failure {
    fn from(e: DynamoError) -> Self {
        Failure::Ours(e)
    }
}

fn encode<T: Serialize>(response: &T) -> Result<Value, Failure> {
    serde_json::to_value(response)
        .map_err(|e| Failure::Ours(DynamoError::internal(format!("encoding the engine's response: {e}"))))
}

macro_rules! ops {
    ($db:expr, $op:expr, $body:expr, { $($name:literal => $method:ident),* $(,)? }) => {
        match $op {
            $($name => {
                let request = decode($op, $body)?;
                let response = $db.$method(request)?;
                encode(&response)
            })*
            other => Err(Failure::Ours(DynamoError::unknown_operation(other))),
        }
    };
}

fn dispatch(db: &Database, op: &str, body: &Value) -> Result<Value, Failure> {
    ops!(db, op, body, {
        "CreateTable" => create_table,
        "DeleteTable" => delete_table,
        "DescribeTable" => describe_table,
        "ListTables" => list_tables,
        "UpdateTable" => update_table,
        "PutItem" => put_item,
        "GetItem" => get_item,
        "DeleteItem" => delete_item,
        "UpdateItem" => update_item,
        "Query" => query,
        "Scan" => scan,
        "SearchVectors" => search_vectors,
        "BatchGetItem" => batch_get_item,
        "BatchWriteItem" => batch_write_item,
        "TransactWriteItems" => transact_write_items,
        "TransactGetItems" => transact_get_items,
        "ListStreams" => list_streams,
        "DescribeStream" => describe_stream,
        "GetShardIterator" => get_shard_iterator,
        "GetRecords" => get_records,
        "UpdateTimeToLive" => update_time_to_live,
        "DescribeTimeToLive" => describe_time_to_live,
        "ExecuteStatement" => execute_statement,
        "ExecuteTransaction" => execute_transaction,
        "BatchExecuteStatement" => batch_execute_statement,
        "TagResource" => tag_resource,
        "UntagResource" => untag_resource,
        "ListTagsOfResource" => list_tags_of_resource,
    })
}

// dynoxide's request types signal DynamoDB's error class with a prefix on
// the serde message; its server strips them in a crate-private function, so
// the same mapping is repeated here (see `serde_errors` in dynoxide).
const SERIALIZATION_AS_READ: &str = "SERIALIZATION_AS_READ:";
const VALIDATION_AS_READ: &str = "VALIDATION_AS_READ:";
const SERIALIZATION: &str = "SERIALIZATION:";
const VALIDATION_REQUEST: &str = "VALIDATION_REQUEST:";
const VALIDATION: &str = "VALIDATION:";
const EMPTY_VALUE: &str = "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes";

/// The request, decoded into dynoxide's type straight from the JSON value
/// (no text round trip; the messages are the same, without positions).
fn decode<T: DeserializeOwned>(op: &str, body: &Value) -> Result<T, Failure> {
    T::deserialize(body).map_err(|e| Failure::Ours(decode_error(op, &e.to_string())))
}

/// Strip serde_json's ` at line N column N` suffix.
fn strip_position(msg: &str) -> &str {
    match msg.rfind(" at line ") {
        Some(i) if msg[i..].contains(" column ") => &msg[..i],
        _ => msg,
    }
}

fn serialization(msg: &str) -> DynamoError {
    DynamoError::new("SerializationException", 400, msg)
}

pub(crate) fn decode_error(op: &str, msg: &str) -> DynamoError {
    if let Some(rest) = msg.strip_prefix(SERIALIZATION_AS_READ) {
        return serialization(rest);
    }
    if let Some(rest) = msg.strip_prefix(VALIDATION_AS_READ) {
        return DynamoError::validation(rest);
    }
    if let Some(rest) = msg.strip_prefix(SERIALIZATION) {
        return serialization(strip_position(rest));
    }
    if let Some(rest) = msg.strip_prefix(VALIDATION_REQUEST) {
        return request_validation(op, strip_position(rest));
    }
    if let Some(rest) = msg.strip_prefix(VALIDATION) {
        return DynamoError::validation(strip_position(rest));
    }
    let clean = strip_position(msg);
    if msg.contains("missing field") || msg.contains("unknown variant") || msg.contains("invalid type: null") {
        DynamoError::validation(clean)
    } else if msg.contains("empty AttributeValue") {
        DynamoError::validation(EMPTY_VALUE)
    } else if msg.contains("Supplied AttributeValue") {
        DynamoError::validation(clean)
    } else {
        serialization(clean)
    }
}

/// dynoxide's error as DynamoDB words it, with the extra members its wire
/// form carries.
pub(crate) fn engine_error(op: &str, err: DynoxideError, scope: Scope<'_>) -> DynamoError {
    let status = err.status_code();
    let type_name = err.error_type();
    let code = type_name.rsplit('#').next().unwrap_or(type_name);
    let message = rewrite_message(err.to_string(), scope);
    let extra = match &err {
        DynoxideError::TransactionCanceledException(_, reasons) => {
            serde_json::to_value(reasons).ok().map(|r| json!({ "CancellationReasons": r }))
        }
        DynoxideError::ConditionalCheckFailedException(_, Some(item))
        | DynoxideError::StatementConditionalCheckFailed(_, item) => {
            serde_json::to_value(item).ok().map(|i| json!({ "Item": i }))
        }
        _ => None,
    };
    let mut out = match &err {
        // A tag that dynoxide's own dispatch resolves; the in-process API
        // can still return it for operations other than the single-item writes.
        DynoxideError::EnvelopedValidation(_) => request_validation(op, &message),
        _ => DynamoError::new(code, status, message),
    };
    out.extra = extra;
    out
}

fn rewrite_message(message: String, scope: Scope<'_>) -> String {
    let engine_ddb = engine_arn_prefix("dynamodb");
    let engine_iam = format!("arn:aws:iam::{}:", dynoxide::streams::LOCAL_ACCOUNT);
    if !message.contains(&engine_ddb) && !message.contains(&engine_iam) {
        return message;
    }
    message
        .replace(&engine_ddb, &our_arn_prefix("dynamodb", scope))
        .replace(&engine_iam, &format!("arn:aws:iam::{}:", scope.account))
}

/// Stream ARNs we handed out name our region and account; dynoxide compares
/// its own.
fn rewrite_request_arns(input: &mut Value, scope: Scope<'_>) {
    let ours = our_arn_prefix("dynamodb", scope);
    let engine = engine_arn_prefix("dynamodb");
    let Some(obj) = input.as_object_mut() else { return };
    for member in ["StreamArn", "ExclusiveStartStreamArn"] {
        if let Some(Value::String(arn)) = obj.get_mut(member) {
            if let Some(rest) = arn.strip_prefix(&ours) {
                *arn = format!("{engine}{rest}");
            }
        }
    }
}

/// Put our region and account into the ARNs (and stream records' `awsRegion`)
/// of a response, leaving item data alone.
pub(crate) fn rewrite_response(output: &mut Value, scope: Scope<'_>) {
    let prefixes = [
        (engine_arn_prefix("dynamodb"), our_arn_prefix("dynamodb", scope)),
        (engine_arn_prefix("kms"), our_arn_prefix("kms", scope)),
    ];
    walk(output, scope, &prefixes);
}

fn walk(value: &mut Value, scope: Scope<'_>, prefixes: &[(String, String); 2]) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if DATA_MEMBERS.contains(&key.as_str()) {
                    continue;
                }
                match v {
                    Value::String(s) if ARN_MEMBERS.contains(&key.as_str()) => {
                        for (engine, ours) in prefixes {
                            if let Some(rest) = s.strip_prefix(engine.as_str()) {
                                *s = format!("{ours}{rest}");
                                break;
                            }
                        }
                    }
                    Value::String(s) if key == "awsRegion" && s == dynoxide::streams::LOCAL_REGION => {
                        scope.region.clone_into(s);
                    }
                    _ => walk(v, scope, prefixes),
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                walk(v, scope, prefixes);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCOPE: Scope<'static> = Scope { region: "eu-west-1", account: "123456789012" };

    #[test]
    fn decode_errors_are_classified_without_markers() {
        let e = decode_error("PutItem", "VALIDATION_REQUEST:bad thing at line 1 column 5");
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("ValidationException", "1 validation error detected: bad thing")
        );
        let e = decode_error("Query", "VALIDATION_REQUEST:bad thing at line 1 column 5");
        assert_eq!(e.message, "bad thing");
        let e = decode_error("Query", "VALIDATION:x at line 1 column 2");
        assert_eq!((e.code.as_str(), e.message.as_str()), ("ValidationException", "x"));
        let e = decode_error("Query", "SERIALIZATION:y at line 1 column 2");
        assert_eq!((e.code.as_str(), e.message.as_str()), ("SerializationException", "y"));
        let e = decode_error("Query", "SERIALIZATION_AS_READ:z at line 1 column 2");
        assert_eq!(e.message, "z at line 1 column 2");
        let e = decode_error("Query", "VALIDATION_AS_READ:w");
        assert_eq!((e.code.as_str(), e.message.as_str()), ("ValidationException", "w"));
        let e = decode_error("Query", "missing field `TableName` at line 1 column 2");
        assert_eq!((e.code.as_str(), e.message.as_str()), ("ValidationException", "missing field `TableName`"));
        let e = decode_error("Query", "invalid type: integer `3`, expected a string at line 1 column 9");
        assert_eq!(e.code, "SerializationException");
        assert_eq!(decode_error("Query", "an empty AttributeValue").message, EMPTY_VALUE);
    }

    #[test]
    fn engine_errors_keep_their_extra_members() {
        let item = std::collections::HashMap::from([("k".to_owned(), dynoxide::AttributeValue::S("v".to_owned()))]);
        let e = engine_error(
            "PutItem",
            DynoxideError::ConditionalCheckFailedException("The conditional request failed".into(), Some(item)),
            SCOPE,
        );
        assert_eq!(e.code, "ConditionalCheckFailedException");
        assert_eq!(e.status, 400);
        assert_eq!(e.extra, Some(json!({"Item": {"k": {"S": "v"}}})));

        let e = engine_error("Scan", DynoxideError::InternalServerError("boom".into()), SCOPE);
        assert_eq!((e.code.as_str(), e.status), ("InternalServerError", 500));

        let e = engine_error(
            "ListTagsOfResource",
            DynoxideError::AccessDeniedException(
                "User: arn:aws:iam::000000000000:root is not authorized to perform: dynamodb:ListTagsOfResource on resource: arn:aws:dynamodb:dynoxide:000000000000:table/x".into(),
            ),
            SCOPE,
        );
        assert_eq!(
            e.message,
            "User: arn:aws:iam::123456789012:root is not authorized to perform: dynamodb:ListTagsOfResource on resource: arn:aws:dynamodb:eu-west-1:123456789012:table/x"
        );
        let e = engine_error("GetItem", DynoxideError::EnvelopedValidation("v".into()), SCOPE);
        assert_eq!((e.code.as_str(), e.message.as_str()), ("ValidationException", "v"));
    }

    #[test]
    fn responses_get_our_arns_but_items_are_untouched() {
        let engine = "arn:aws:dynamodb:dynoxide:000000000000:table/T";
        let mut out = json!({
            "Table": {
                "TableArn": engine,
                "LatestStreamArn": format!("{engine}/stream/L"),
                "GlobalSecondaryIndexes": [{"IndexArn": format!("{engine}/index/G")}],
                "SSEDescription": {"KMSMasterKeyArn": "arn:aws:kms:dynoxide:000000000000:key/k"}
            },
            "Item": {"TableArn": {"S": engine}},
            "Records": [{"awsRegion": "dynoxide", "dynamodb": {"NewImage": {"StreamArn": {"S": engine}}}}]
        });
        rewrite_response(&mut out, SCOPE);
        let ours = "arn:aws:dynamodb:eu-west-1:123456789012:table/T";
        assert_eq!(out["Table"]["TableArn"], ours);
        assert_eq!(out["Table"]["LatestStreamArn"], format!("{ours}/stream/L"));
        assert_eq!(out["Table"]["GlobalSecondaryIndexes"][0]["IndexArn"], format!("{ours}/index/G"));
        assert_eq!(out["Table"]["SSEDescription"]["KMSMasterKeyArn"], "arn:aws:kms:eu-west-1:123456789012:key/k");
        assert_eq!(out["Item"]["TableArn"]["S"], engine);
        assert_eq!(out["Records"][0]["awsRegion"], "eu-west-1");
        assert_eq!(out["Records"][0]["dynamodb"]["NewImage"]["StreamArn"]["S"], engine);

        let mut req = json!({"StreamArn": format!("{ours}/stream/L")});
        rewrite_request_arns(&mut req, SCOPE);
        assert_eq!(req["StreamArn"], format!("{engine}/stream/L"));
    }
}
