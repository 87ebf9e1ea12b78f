//! Input validation against the model's constraints: required members,
//! lengths, ranges, patterns and enums, with AWS's message texts
//! ("1 validation error detected: Value 'x' at 'userName' failed to satisfy
//! constraint: Member must satisfy regular expression pattern: ...").

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use regex::Regex;
use serde_json::Value;

use crate::model::{Kind, Model, Shape};

/// A value that is of the wrong JSON type for its shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeMismatch {
    pub path: String,
    pub expected: &'static str,
}

/// Check `value` against `shape`. Type mismatches are returned separately
/// from constraint violations: AWS reports them as serialisation errors.
///
/// # Errors
/// The first value whose JSON type does not fit its shape.
pub fn validate(model: &Model, shape: &str, value: &Value) -> Result<Vec<String>, TypeMismatch> {
    let mut errors = Vec::new();
    walk(model, shape, value, "", &mut errors)?;
    Ok(errors)
}

/// The first value whose JSON type does not fit its shape, worded as
/// DynamoDB's request reader (Jackson, behind Coral) words it in a
/// `SerializationException`: the JSON token it found and the Java type it
/// wanted ("NUMBER_VALUE cannot be converted to String", "Unexpected field
/// type", "Start of structure or map found where not expected"). Values of
/// the shapes in `opaque` are not entered: their reader (an attribute value's,
/// say) words its own refusals. `None` when every value fits.
#[must_use]
pub fn serialization_fault(model: &Model, shape: &str, value: &Value, opaque: &[&str]) -> Option<String> {
    let s = model.shape(shape)?;
    if value.is_null() || opaque.contains(&shape) {
        return None;
    }
    let scalar = |java: &str| -> Option<String> {
        Some(match value {
            Value::Bool(true) => format!("TRUE_VALUE cannot be converted to {java}"),
            Value::Bool(false) => format!("FALSE_VALUE cannot be converted to {java}"),
            Value::Number(n) if n.is_f64() => format!("DECIMAL_VALUE cannot be converted to {java}"),
            Value::Number(_) => format!("NUMBER_VALUE cannot be converted to {java}"),
            Value::String(_) => format!("STRING_VALUE cannot be converted to {java}"),
            Value::Array(_) => format!("Unrecognized collection type class java.lang.{java}"),
            Value::Object(_) => "Start of structure or map found where not expected".to_owned(),
            Value::Null => return None,
        })
    };
    match s.kind {
        Kind::Structure => {
            let Some(obj) = value.as_object() else {
                return Some(match value {
                    Value::Array(_) => {
                        format!("Unrecognized collection type class com.amazonaws.dynamodb.v20120810.{shape}")
                    }
                    _ => "Unexpected field type".to_owned(),
                });
            };
            obj.iter().find_map(|(m, v)| {
                s.members.get(m).and_then(|member| serialization_fault(model, &member.shape, v, opaque))
            })
        }
        Kind::List => match value {
            Value::Array(items) => {
                let elem = s.member.as_ref()?;
                items.iter().find_map(|v| serialization_fault(model, &elem.shape, v, opaque))
            }
            Value::Object(_) => Some("Start of structure or map found where not expected".to_owned()),
            _ => Some("Unexpected field type".to_owned()),
        },
        Kind::Map => match value {
            Value::Object(obj) => {
                let v = s.value.as_ref()?;
                obj.values().find_map(|item| serialization_fault(model, &v.shape, item, opaque))
            }
            _ => Some("Unexpected field type".to_owned()),
        },
        Kind::String => (!value.is_string()).then(|| scalar("String")).flatten(),
        Kind::Boolean => match value {
            Value::Bool(_) => None,
            Value::String(_) => Some("Unexpected token received from parser".to_owned()),
            _ => scalar("Boolean"),
        },
        Kind::Integer => (!value.is_i64() && !value.is_u64()).then(|| scalar("Integer")).flatten(),
        Kind::Long => (!value.is_i64() && !value.is_u64()).then(|| scalar("Long")).flatten(),
        Kind::Float | Kind::Double => (!value.is_number()).then(|| scalar("Double")).flatten(),
        Kind::Timestamp => (!(value.is_number() || value.is_string())).then(|| scalar("Date")).flatten(),
        Kind::Blob => (!value.is_string()).then(|| scalar("ByteBuffer")).flatten(),
    }
}

/// Render constraint violations the way AWS does.
#[must_use]
pub fn message(errors: &[String]) -> String {
    let n = errors.len();
    let noun = if n == 1 { "error" } else { "errors" };
    format!("{n} validation {noun} detected: {}", errors.join("; "))
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_lowercase().chain(c).collect()).unwrap_or_default()
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn show(value: &Value, sensitive: bool) -> String {
    if sensitive {
        return "Value".to_owned();
    }
    match value {
        Value::String(s) => format!("Value '{s}'"),
        Value::Array(_) | Value::Object(_) => "Value".to_owned(),
        other => format!("Value '{other}'"),
    }
}

fn walk(model: &Model, name: &str, value: &Value, path: &str, errors: &mut Vec<String>) -> Result<(), TypeMismatch> {
    let Some(shape) = model.shape(name) else { return Ok(()) };
    let mismatch = |expected| TypeMismatch { path: path.to_owned(), expected };
    match shape.kind {
        Kind::Structure => {
            let obj = value.as_object().ok_or_else(|| mismatch("structure"))?;
            for req in &shape.required {
                if obj.get(req).is_none_or(Value::is_null) {
                    errors.push(format!(
                        "Value null at '{}' failed to satisfy constraint: Member must not be null",
                        join(path, &lower_first(req))
                    ));
                }
            }
            for (m, mv) in obj {
                if mv.is_null() {
                    continue;
                }
                if let Some(member) = shape.members.get(m) {
                    walk(model, &member.shape, mv, &join(path, &lower_first(m)), errors)?;
                }
            }
        }
        Kind::List => {
            let items = value.as_array().ok_or_else(|| mismatch("list"))?;
            length(shape, items.len(), value, path, errors);
            if let Some(elem) = &shape.member {
                for (i, item) in items.iter().enumerate() {
                    walk(model, &elem.shape, item, &format!("{path}.{}.member", i + 1), errors)?;
                }
            }
        }
        Kind::Map => {
            let obj = value.as_object().ok_or_else(|| mismatch("map"))?;
            length(shape, obj.len(), value, path, errors);
            if let Some(v) = &shape.value {
                for (k, item) in obj {
                    walk(model, &v.shape, item, &format!("{path}.{k}"), errors)?;
                }
            }
        }
        Kind::String => {
            let s = value.as_str().ok_or_else(|| mismatch("string"))?;
            length(shape, s.chars().count(), value, path, errors);
            if !shape.enum_values.is_empty() && !shape.enum_values.iter().any(|e| e == s) {
                errors.push(format!(
                    "{} at '{path}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                    show(value, shape.sensitive),
                    enum_listing(model, name, &shape.enum_values)
                ));
            }
            if let Some(p) = &shape.pattern {
                if let Some(re) = compiled(p) {
                    if !re.is_match(s) {
                        errors.push(format!(
                            "{} at '{path}' failed to satisfy constraint: Member must satisfy regular expression pattern: {p}",
                            show(value, shape.sensitive)
                        ));
                    }
                }
            }
        }
        Kind::Integer | Kind::Long | Kind::Float | Kind::Double => {
            let n = value.as_f64().ok_or_else(|| mismatch("number"))?;
            if let Some(min) = shape.min {
                if n < min {
                    errors.push(format!(
                        "{} at '{path}' failed to satisfy constraint: Member must have value greater than or equal to {min}",
                        show(value, false)
                    ));
                }
            }
            if let Some(max) = shape.max {
                if n > max {
                    errors.push(format!(
                        "{} at '{path}' failed to satisfy constraint: Member must have value less than or equal to {max}",
                        show(value, false)
                    ));
                }
            }
        }
        Kind::Boolean => {
            value.as_bool().ok_or_else(|| mismatch("boolean"))?;
        }
        Kind::Timestamp => {
            if !(value.is_number() || value.is_string()) {
                return Err(mismatch("timestamp"));
            }
        }
        Kind::Blob => {
            value.as_str().ok_or_else(|| mismatch("blob"))?;
        }
    }
    Ok(())
}

/// Enums whose values AWS lists in another order than the model's when it
/// rejects a value: the service's own validator iterates its own copy of the
/// enum. Keyed by the model's `serviceId` and the shape name; each entry is a
/// permutation of the model's values (checked, so a model update that adds a
/// value falls back to the model's order rather than hiding the new value).
/// The DynamoDB orders are those its answers carry, as recorded by test suites
/// run against it (moto's `aws_verified` Select test, dynalite's validation
/// tests).
const AWS_ENUM_ORDER: &[(&str, &str, &[&str])] = &[
    ("DynamoDB", "Select", &["SPECIFIC_ATTRIBUTES", "COUNT", "ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES"]),
    ("DynamoDB", "ReturnValue", &["ALL_NEW", "UPDATED_OLD", "ALL_OLD", "NONE", "UPDATED_NEW"]),
    (
        "DynamoDB",
        "ComparisonOperator",
        &[
            "IN",
            "NULL",
            "BETWEEN",
            "LT",
            "NOT_CONTAINS",
            "EQ",
            "GT",
            "NOT_NULL",
            "NE",
            "LE",
            "BEGINS_WITH",
            "GE",
            "CONTAINS",
        ],
    ),
    ("DynamoDB", "ConditionalOperator", &["OR", "AND"]),
    ("DynamoDB", "ScalarAttributeType", &["B", "N", "S"]),
    ("DynamoDB", "ProjectionType", &["ALL", "INCLUDE", "KEYS_ONLY"]),
];

/// The enum's values in the order AWS lists them.
fn enum_listing(model: &Model, shape: &str, values: &[String]) -> String {
    let service = model.metadata.service_id.as_str();
    let aws = AWS_ENUM_ORDER.iter().find(|(s, n, _)| *s == service && *n == shape).map(|(_, _, order)| *order);
    match aws {
        Some(order) if order.len() == values.len() && values.iter().all(|v| order.contains(&v.as_str())) => {
            order.join(", ")
        }
        _ => values.join(", "),
    }
}

fn length(shape: &Shape, len: usize, value: &Value, path: &str, errors: &mut Vec<String>) {
    #[allow(clippy::cast_precision_loss)]
    let n = len as f64;
    if let Some(min) = shape.min {
        if n < min {
            errors.push(format!(
                "{} at '{path}' failed to satisfy constraint: Member must have length greater than or equal to {min}",
                show(value, shape.sensitive)
            ));
        }
    }
    if let Some(max) = shape.max {
        if n > max {
            errors.push(format!(
                "{} at '{path}' failed to satisfy constraint: Member must have length less than or equal to {max}",
                show(value, shape.sensitive)
            ));
        }
    }
}

/// Model patterns are Java regexes, matched against the whole value.
/// Patterns that Rust's regex engine cannot compile are not enforced.
fn compiled(pattern: &str) -> Option<Regex> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut guard = cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    guard.entry(pattern.to_owned()).or_insert_with(|| Regex::new(&format!("^(?:{pattern})$")).ok()).clone()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn constraint_messages() {
        let m = Model::from_json(include_str!("../../../models/iam.json")).expect("model");
        let cases: &[(&str, Value, &[&str])] = &[
            ("CreateUserRequest", json!({"UserName": "bob"}), &[]),
            (
                "CreateUserRequest",
                json!({}),
                &["Value null at 'userName' failed to satisfy constraint: Member must not be null"],
            ),
            (
                "CreateUserRequest",
                json!({"UserName": "bad name"}),
                &["Value 'bad name' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"],
            ),
            (
                "CreateUserRequest",
                json!({"UserName": "x".repeat(65)}),
                &["failed to satisfy constraint: Member must have length less than or equal to 64"],
            ),
            (
                "ListUsersRequest",
                json!({"MaxItems": 0}),
                &["Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1"],
            ),
            (
                "UpdateAccessKeyRequest",
                json!({"AccessKeyId": "AKIAAAAAAAAAAAAAAAAA", "Status": "On"}),
                &["Value 'On' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive, Expired]"],
            ),
        ];
        for (shape, value, want) in cases {
            let got = validate(&m, shape, value).expect("types");
            assert_eq!(got.len(), want.len(), "{shape} {value}: {got:?}");
            for (g, w) in got.iter().zip(want.iter()) {
                assert!(g.contains(w), "{g} should contain {w}");
            }
        }
    }

    #[test]
    fn enums_are_listed_in_aws_order() {
        let m = Model::from_json(include_str!("../../../models/dynamodb.json")).expect("model");
        let got = validate(&m, "ScanInput", &json!({"TableName": "table", "Select": "count"})).expect("types");
        assert_eq!(
            got,
            ["Value 'count' at 'select' failed to satisfy constraint: Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]"]
        );
        // Every override is a permutation of the model's values.
        for (service, shape, order) in AWS_ENUM_ORDER {
            assert_eq!(*service, m.metadata.service_id);
            let mut model_values: Vec<&str> =
                m.shape(shape).expect(shape).enum_values.iter().map(String::as_str).collect();
            let mut ours = order.to_vec();
            model_values.sort_unstable();
            ours.sort_unstable();
            assert_eq!(model_values, ours, "{shape}");
        }
        // Shapes without an override keep the model's order.
        let got =
            validate(&m, "ScanInput", &json!({"TableName": "table", "ReturnConsumedCapacity": "x"})).expect("types");
        assert!(got[0].ends_with("[INDEXES, TOTAL, NONE]"), "{got:?}");
    }

    #[test]
    fn type_mismatch() {
        let m = Model::from_json(include_str!("../../../models/iam.json")).expect("model");
        let err = validate(&m, "CreateUserRequest", &json!({"UserName": 5})).unwrap_err();
        assert_eq!(err, TypeMismatch { path: "userName".into(), expected: "string" });
    }

    /// Found by the `json_body` fuzz target: a number with more digits than an `f64`
    /// holds must parse to the nearest double, or the value a message quotes moves
    /// when the body is written out and read back (serde_json's `float_roundtrip`).
    #[test]
    fn long_numbers_parse_to_the_nearest_double() {
        let m = Model::from_json(include_str!("../../../models/dynamodb.json")).expect("model");
        for text in
            [r#"{"Limit": 7777.77777777777710}"#, r#"{"Limit": 0.30000000000000001665}"#, r#"{"Limit": 1e-400}"#]
        {
            let value: Value = serde_json::from_str(text).expect("json");
            let back: Value = serde_json::from_str(&value.to_string()).expect("round trip");
            assert_eq!(value, back, "{text}");
            assert_eq!(validate(&m, "ListTablesInput", &value), validate(&m, "ListTablesInput", &back), "{text}");
        }
        let value: Value = serde_json::from_str(r#"{"Limit": 7777.77777777777710}"#).expect("json");
        assert_eq!(value["Limit"].as_f64(), Some(7777.777777777777));
    }

    #[test]
    fn serialization_faults_in_dynamodb_words() {
        let m = Model::from_json(include_str!("../../../models/dynamodb.json")).expect("model");
        let opaque = &["AttributeValue"];
        let cases = [
            (json!({"TableName": 5}), Some("NUMBER_VALUE cannot be converted to String")),
            (json!({"TableName": true}), Some("TRUE_VALUE cannot be converted to String")),
            (json!({"TableName": "t", "Limit": "x"}), Some("STRING_VALUE cannot be converted to Integer")),
            (json!({"TableName": "t", "ConsistentRead": "x"}), Some("Unexpected token received from parser")),
            (json!({"TableName": "t", "AttributesToGet": "x"}), Some("Unexpected field type")),
            (
                json!({"TableName": "t", "AttributesToGet": {}}),
                Some("Start of structure or map found where not expected"),
            ),
            (json!({"TableName": "t", "ExclusiveStartKey": "x"}), Some("Unexpected field type")),
            // Attribute values are the engine's to read.
            (json!({"TableName": "t", "ExclusiveStartKey": {"k": {"S": 5}}}), None),
            (json!({"TableName": "t", "Limit": 3, "ConsistentRead": null}), None),
        ];
        for (input, want) in cases {
            assert_eq!(serialization_fault(&m, "ScanInput", &input, opaque).as_deref(), want, "{input}");
        }
    }

    #[test]
    fn message_counts() {
        assert_eq!(message(&["a".into()]), "1 validation error detected: a");
        assert_eq!(message(&["a".into(), "b".into()]), "2 validation errors detected: a; b");
    }
}
