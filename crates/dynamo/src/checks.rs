//! Checks DynamoDB makes on a request that the embedded engine (dynoxide
//! 3.2) makes late, or not at all, and the engine answers that are not
//! DynamoDB's.
//!
//! Each check here closes one measured gap (`docs/conformance.md`):
//!
//! * [`before`]: an empty `ExpressionAttributeNames` or
//!   `ExpressionAttributeValues` in a `TransactWriteItems` action (the engine
//!   accepts it, or first reports a syntax error of the expression), and the
//!   operands of `BETWEEN` in a `FilterExpression` or `ConditionExpression`
//!   (the engine checks none in filters or transactions, and never the
//!   operand type: DynamoDB refuses a bound that is not a string, number or
//!   binary).
//! * [`after_error`]: DynamoDB validates the expression parameters before it
//!   looks for the table, so a request naming a missing table with an unused
//!   placeholder is a `ValidationException`, where the engine answers
//!   `ResourceNotFoundException` for reads; and a `KeyConditionExpression`
//!   comparing a key with another attribute, which DynamoDB parses and then
//!   refuses ("Multiple attribute names used in one condition", after its
//!   reserved-word, undefined and unused placeholder checks), where the
//!   engine stops with a message of its own ("Expected value reference").
//!
//! Expressions are read here only as far as these checks need: DynamoDB's
//! expression language has no string literals, so `#name` and `:value`
//! tokens are the placeholders an expression uses.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashSet};
use std::sync::OnceLock;

use serde_json::{Map, Value};

use crate::error::request_validation;
use crate::expr::{tokens, Tok};
use crate::DynamoError;

/// The members of a request (or of one `TransactItems` action, or one
/// `RequestItems` entry of `BatchGetItem`) that hold expressions.
const EXPRESSION_MEMBERS: &[&str] =
    &["KeyConditionExpression", "FilterExpression", "ProjectionExpression", "ConditionExpression", "UpdateExpression"];

/// Checks to run before the engine sees the request.
///
/// # Errors
/// The `ValidationException` DynamoDB gives.
pub fn before(op: &str, input: &Value) -> Result<(), DynamoError> {
    match op {
        "TransactWriteItems" => {
            for body in transact_bodies(input) {
                empty_maps(body)?;
                between_operands(body, "ConditionExpression").map_err(DynamoError::validation)?;
            }
            Ok(())
        }
        "Query" | "Scan" => between_operands(as_object(input), "FilterExpression").map_err(DynamoError::validation),
        "PutItem" | "UpdateItem" | "DeleteItem" => {
            between_operands(as_object(input), "ConditionExpression").map_err(|m| request_validation(op, &m))
        }
        _ => Ok(()),
    }
}

/// A better answer than the engine's `err` where DynamoDB's differs.
pub fn after_error(op: &str, input: &Value, err: DynamoError) -> DynamoError {
    if err.code == "ResourceNotFoundException" {
        let unused = if op == "BatchGetItem" {
            input
                .get("RequestItems")
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(Map::values)
                .find_map(|entry| unused_placeholders(as_object(entry)))
        } else {
            unused_placeholders(as_object(input))
        };
        if let Some(message) = unused {
            return request_validation(op, &message);
        }
    }
    if err.code == "ValidationException" {
        if let Some(message) = unknown_variant(input, &err.message) {
            return DynamoError::validation(message);
        }
    }
    if op == "Query" && err.code == "ValidationException" {
        if let Some(token) = err.message.strip_prefix("Expected value reference (:name), got ") {
            if let Some(message) = key_condition_with_two_attributes(as_object(input), token) {
                return DynamoError::validation(message);
            }
        }
    }
    err
}

/// AWS's listing order of an enum DynamoDB's validator reports, where it is
/// not the engine's (the same table as `wire::validate`'s).
const AWS_ENUM_ORDER: &[&[&str]] = &[&["B", "N", "S"], &["ALL", "INCLUDE", "KEYS_ONLY"]];

/// An enum value the engine refused as it read the request ("unknown variant
/// `SORT`, expected `HASH` or `RANGE`", serde's words, where the engine lacks
/// the model's check, as in an index's key schema), as DynamoDB's validator
/// words it: "1 validation error detected: Value 'SORT' at
/// 'globalSecondaryIndexes.1.member.keySchema.2.member.keyType' failed to
/// satisfy constraint: Member must satisfy enum value set: [HASH, RANGE]".
fn unknown_variant(input: &Value, message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown variant `")?;
    let (value, expected) = rest.split_once("`, expected ")?;
    let mut values: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    if values.is_empty() {
        return None;
    }
    if let Some(order) = AWS_ENUM_ORDER.iter().find(|o| o.len() == values.len() && values.iter().all(|v| o.contains(v)))
    {
        values = order.to_vec();
    }
    let path = path_of(input, value, "")?;
    Some(format!(
        "1 validation error detected: Value '{value}' at '{path}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
        values.join(", ")
    ))
}

/// The model path (`keySchema.2.member.keyType`) of the first string member
/// equal to `value`, outside item data.
fn path_of(v: &Value, value: &str, path: &str) -> Option<String> {
    let join = |name: &str| if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") };
    match v {
        Value::Object(map) => map.iter().find_map(|(k, item)| {
            if matches!(k.as_str(), "Item" | "Key" | "Keys" | "ExpressionAttributeValues" | "ExclusiveStartKey") {
                return None;
            }
            let mut c = k.chars();
            let name: String = c.next().map(|f| f.to_lowercase().chain(c).collect()).unwrap_or_default();
            match item {
                Value::String(s) if s == value => Some(join(&name)),
                _ => path_of(item, value, &join(&name)),
            }
        }),
        Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, item)| path_of(item, value, &format!("{path}.{}.member", i + 1)))
        }
        _ => None,
    }
}

fn as_object(v: &Value) -> &Map<String, Value> {
    static EMPTY: OnceLock<Map<String, Value>> = OnceLock::new();
    v.as_object().unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

/// The bodies of the actions of a `TransactWriteItems` request.
fn transact_bodies(input: &Value) -> impl Iterator<Item = &Map<String, Value>> {
    input
        .get("TransactItems")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(Map::values)
        .filter_map(Value::as_object)
}

/// `ExpressionAttributeNames` or `ExpressionAttributeValues` given empty.
fn empty_maps(body: &Map<String, Value>) -> Result<(), DynamoError> {
    for member in ["ExpressionAttributeNames", "ExpressionAttributeValues"] {
        if body.get(member).and_then(Value::as_object).is_some_and(Map::is_empty) {
            return Err(DynamoError::validation(format!("{member} must not be empty")));
        }
    }
    Ok(())
}

/// The `#name` and `:value` placeholders the request's expressions use.
fn used_placeholders(body: &Map<String, Value>) -> (HashSet<String>, HashSet<String>) {
    let mut names = HashSet::new();
    let mut values = HashSet::new();
    for member in EXPRESSION_MEMBERS {
        let Some(expr) = body.get(*member).and_then(Value::as_str) else { continue };
        for t in tokens(expr) {
            match t {
                Tok::Name(n) => {
                    names.insert(n.to_owned());
                }
                Tok::Value(v) => {
                    values.insert(v.to_owned());
                }
                _ => {}
            }
        }
    }
    (names, values)
}

/// DynamoDB's message for names, then values, given and not used.
fn unused_placeholders(body: &Map<String, Value>) -> Option<String> {
    let (names, values) = used_placeholders(body);
    for (member, used) in [("ExpressionAttributeNames", &names), ("ExpressionAttributeValues", &values)] {
        let Some(given) = body.get(member).and_then(Value::as_object) else { continue };
        let unused: BTreeSet<&str> = given.keys().map(String::as_str).filter(|k| !used.contains(*k)).collect();
        if !unused.is_empty() {
            let keys: Vec<&str> = unused.into_iter().collect();
            return Some(format!("Value provided in {member} unused in expressions: keys: {{{}}}", keys.join(", ")));
        }
    }
    None
}

fn reserved_words() -> &'static HashSet<&'static str> {
    static WORDS: OnceLock<HashSet<&'static str>> = OnceLock::new();
    WORDS.get_or_init(|| {
        include_str!("reserved_words.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

/// Words of the condition grammar that are not attribute names.
const CONDITION_KEYWORDS: &[&str] = &["AND", "OR", "NOT", "BETWEEN", "IN"];

/// The attribute names of an expression that are reserved words (a word
/// followed by `(` is a function name).
fn first_reserved_word<'a>(toks: &[Tok<'a>]) -> Option<&'a str> {
    toks.iter().enumerate().find_map(|(i, t)| match t {
        Tok::Word(w)
            if !CONDITION_KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(w))
                && toks.get(i + 1) != Some(&Tok::Other('('))
                && reserved_words().contains(w.to_ascii_uppercase().as_str()) =>
        {
            Some(*w)
        }
        _ => None,
    })
}

/// The first placeholder the expression uses that the request does not define.
fn first_undefined(toks: &[Tok<'_>], body: &Map<String, Value>) -> Option<String> {
    let defined =
        |member: &str, key: &str| body.get(member).and_then(Value::as_object).is_some_and(|m| m.contains_key(key));
    toks.iter().find_map(|t| match t {
        Tok::Name(n) if !defined("ExpressionAttributeNames", n) => {
            Some(format!("An expression attribute name used in the document path is not defined; attribute name: {n}"))
        }
        Tok::Value(v) if !defined("ExpressionAttributeValues", v) => {
            Some(format!("An expression attribute value used in expression is not defined; attribute value: {v}"))
        }
        _ => None,
    })
}

/// DynamoDB's answer to a `KeyConditionExpression` where an attribute stands
/// in a value's place (`pk = x`, `sk BETWEEN a AND :b`), which the engine
/// refuses with "Expected value reference (:name), got <token>". `None`
/// leaves the engine's answer: the token is not an attribute name.
fn key_condition_with_two_attributes(body: &Map<String, Value>, token: &str) -> Option<String> {
    let expr = body.get("KeyConditionExpression")?.as_str()?;
    let toks = tokens(expr);
    let is_attribute = match tokens(token).as_slice() {
        [Tok::Name(_)] => true,
        [Tok::Word(w)] => !CONDITION_KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(w)),
        _ => false,
    };
    if !is_attribute {
        return None;
    }
    let invalid = |m: String| format!("Invalid KeyConditionExpression: {m}");
    if let Some(word) = first_reserved_word(&toks) {
        return Some(invalid(format!("Attribute name is a reserved keyword; reserved keyword: {word}")));
    }
    if let Some(m) = first_undefined(&toks, body) {
        return Some(invalid(m));
    }
    if let Some(m) = unused_placeholders(body) {
        return Some(m);
    }
    Some(invalid("Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition".into()))
}

/// The `{T:v}` form DynamoDB's BETWEEN messages show a value in.
fn show(kind: &str, v: &Value) -> String {
    match v.as_str() {
        Some(s) => format!("{{{kind}:{s}}}"),
        None => format!("{{{kind}:{v}}}"),
    }
}

/// The `BETWEEN` bounds given as `:value`s: each must be a string, number or
/// binary; both of one type; the lower not above the upper. Left to the
/// engine when the expression has a fault DynamoDB reports first (a reserved
/// word, an undefined placeholder).
fn between_operands(body: &Map<String, Value>, member: &str) -> Result<(), String> {
    let Some(expr) = body.get(member).and_then(Value::as_str) else { return Ok(()) };
    let toks = tokens(expr);
    if first_reserved_word(&toks).is_some() || first_undefined(&toks, body).is_some() {
        return Ok(());
    }
    let values = body.get("ExpressionAttributeValues").and_then(Value::as_object);
    let typed = |t: Option<&Tok<'_>>| -> Option<(String, Value)> {
        let Some(Tok::Value(v)) = t else { return None };
        let (kind, inner) = values?.get(*v)?.as_object()?.iter().next()?;
        Some((kind.clone(), inner.clone()))
    };
    let invalid = |m: String| format!("Invalid {member}: {m}");
    for (i, t) in toks.iter().enumerate() {
        let Tok::Word(w) = t else { continue };
        if !w.eq_ignore_ascii_case("BETWEEN") {
            continue;
        }
        let and_follows = matches!(toks.get(i + 2), Some(Tok::Word(a)) if a.eq_ignore_ascii_case("AND"));
        let lo = typed(toks.get(i + 1)).filter(|_| and_follows);
        let hi = if and_follows { typed(toks.get(i + 3)) } else { None };
        for (kind, _) in lo.iter().chain(hi.iter()) {
            if !matches!(kind.as_str(), "S" | "N" | "B") {
                return Err(invalid(format!(
                    "Incorrect operand type for operator or function; operator or function: BETWEEN, operand type: {kind}"
                )));
            }
        }
        let (Some((lk, lv)), Some((hk, hv))) = (lo, hi) else { continue };
        let bounds = format!(
            "lower bound operand: AttributeValue: {}, upper bound operand: AttributeValue: {}",
            show(&lk, &lv),
            show(&hk, &hv)
        );
        if lk != hk {
            return Err(invalid(format!(
                "The BETWEEN operator requires same data type for lower and upper bounds; {bounds}"
            )));
        }
        let above = match (lk.as_str(), lv.as_str(), hv.as_str()) {
            ("N", Some(a), Some(b)) => compare_numbers(a, b) == Some(Ordering::Greater),
            ("S", Some(a), Some(b)) => a > b,
            // Binary bounds are compared by the engine where it does (its base64 text does not sort as the bytes do).
            _ => false,
        };
        if above {
            return Err(invalid(format!(
                "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; {bounds}"
            )));
        }
    }
    Ok(())
}

/// A DynamoDB number as sign, significant digits (no leading or trailing
/// zeros) and the position of the decimal point relative to them.
fn decimal(n: &str) -> Option<(bool, String, i64)> {
    let n = n.trim();
    let (negative, n) = match n.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, n.strip_prefix('+').unwrap_or(n)),
    };
    let (mantissa, exponent) = match n.find(['e', 'E']) {
        Some(i) => (&n[..i], n[i + 1..].parse::<i64>().ok()?),
        None => (n, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    let digits = format!("{int}{frac}");
    let lead = digits.len() - digits.trim_start_matches('0').len();
    let point = i64::try_from(int.len()).ok()?.checked_add(exponent)?.checked_sub(i64::try_from(lead).ok()?)?;
    let significant = digits.trim_start_matches('0').trim_end_matches('0').to_owned();
    if significant.is_empty() {
        return Some((false, String::new(), 0));
    }
    Some((negative, significant, point))
}

/// Compare two DynamoDB numbers exactly (they have up to 38 digits).
fn compare_numbers(a: &str, b: &str) -> Option<Ordering> {
    let (an, ad, ap) = decimal(a)?;
    let (bn, bd, bp) = decimal(b)?;
    let magnitude = |d: &str, p: i64, e: &str, q: i64| -> Ordering {
        match (d.is_empty(), e.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => p.cmp(&q).then_with(|| d.cmp(e)),
        }
    };
    Some(match (an, bn) {
        (false, true) => Ordering::Greater,
        (true, false) => Ordering::Less,
        (false, false) => magnitude(&ad, ap, &bd, bp),
        (true, true) => magnitude(&bd, bp, &ad, ap),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn unknown_variants_in_the_validators_words() {
        let input = serde_json::json!({"TableName": "t", "GlobalSecondaryIndexes": [{"IndexName": "g",
            "KeySchema": [{"AttributeName": "a", "KeyType": "HASH"}, {"AttributeName": "b", "KeyType": "SORT"}]}]});
        let err = after_error(
            "CreateTable",
            &input,
            DynamoError::validation("unknown variant `SORT`, expected `HASH` or `RANGE`"),
        );
        assert_eq!(err.message, "1 validation error detected: Value 'SORT' at 'globalSecondaryIndexes.1.member.keySchema.2.member.keyType' failed to satisfy constraint: Member must satisfy enum value set: [HASH, RANGE]");
        let err = after_error(
            "CreateTable",
            &input,
            DynamoError::validation("unknown variant `NOPE`, expected `HASH` or `RANGE`"),
        );
        assert_eq!(err.message, "unknown variant `NOPE`, expected `HASH` or `RANGE`");
    }

    use serde_json::json;

    use super::*;

    #[test]
    fn transact_write_items_refuses_empty_maps() {
        let names = json!({"TransactItems": [{"Put": {"TableName": "t", "ExpressionAttributeNames": {}}}]});
        let values = json!({"TransactItems": [
            {"ConditionCheck": {"TableName": "t", "ExpressionAttributeNames": {"#a": "a"}}},
            {"Update": {"TableName": "t", "UpdateExpression": "SET #0 = {'S': 'x'}", "ExpressionAttributeValues": {}}}
        ]});
        let e = before("TransactWriteItems", &names).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("ValidationException", "ExpressionAttributeNames must not be empty")
        );
        assert_eq!(
            before("TransactWriteItems", &values).unwrap_err().message,
            "ExpressionAttributeValues must not be empty"
        );
        assert!(before(
            "TransactWriteItems",
            &json!({"TransactItems": [{"Put": {"ExpressionAttributeValues": {":a": {"S": "x"}}}}]})
        )
        .is_ok());
    }

    #[test]
    fn between_bounds() {
        let scan = |lo: Value, hi: Value| {
            before(
                "Scan",
                &json!({"FilterExpression": "price BETWEEN :lo AND :hi", "ExpressionAttributeValues": {":lo": lo, ":hi": hi}}),
            )
            .map_err(|e| e.message)
        };
        let null = "Invalid FilterExpression: Incorrect operand type for operator or function; operator or function: BETWEEN, operand type: NULL";
        assert_eq!(scan(json!({"NULL": true}), json!({"N": "100"})).unwrap_err(), null);
        assert_eq!(scan(json!({"N": "1"}), json!({"NULL": true})).unwrap_err(), null);
        assert!(scan(json!({"N": "1"}), json!({"BOOL": true})).unwrap_err().ends_with("operand type: BOOL"));
        assert_eq!(
            scan(json!({"N": "5"}), json!({"S": "1"})).unwrap_err(),
            "Invalid FilterExpression: The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {N:5}, upper bound operand: AttributeValue: {S:1}"
        );
        assert!(scan(json!({"N": "10"}), json!({"N": "9.5"}))
            .unwrap_err()
            .contains("requires upper bound to be greater"));
        assert!(scan(json!({"S": "b"}), json!({"S": "a"})).is_err());
        assert!(scan(json!({"N": "1"}), json!({"N": "1e1"})).is_ok());
        assert!(scan(json!({"S": "a"}), json!({"S": "a"})).is_ok());
        assert!(scan(json!({"B": "Yg=="}), json!({"B": "YQ=="})).is_ok());

        // The envelope of the single-item writes, bare in transactions.
        let put = json!({"ConditionExpression": "a BETWEEN :lo AND :hi", "ExpressionAttributeValues": {":lo": {"NULL": true}, ":hi": {"N": "1"}}});
        assert!(before("PutItem", &put)
            .unwrap_err()
            .message
            .starts_with("1 validation error detected: Invalid ConditionExpression: Incorrect operand type"));
        let tx = json!({"TransactItems": [{"Delete": put}]});
        assert!(before("TransactWriteItems", &tx)
            .unwrap_err()
            .message
            .starts_with("Invalid ConditionExpression: Incorrect operand type"));

        // Faults DynamoDB reports first are left to the engine.
        for expr in ["count BETWEEN :lo AND :hi", "a BETWEEN :lo AND :undefined", "#undefined BETWEEN :lo AND :hi"] {
            let input = json!({"FilterExpression": expr, "ExpressionAttributeValues": {":lo": {"NULL": true}, ":hi": {"N": "1"}}});
            assert!(before("Scan", &input).is_ok(), "{expr}");
        }
        // Paths and functions as bounds are not this check's business.
        let paths = json!({"FilterExpression": "a BETWEEN b AND size(c)"});
        assert!(before("Query", &paths).is_ok());
    }

    #[test]
    fn numbers_compare_exactly() {
        for (a, b, want) in [
            ("1", "1.0", Ordering::Equal),
            ("0", "-0.000", Ordering::Equal),
            ("10", "9.99999999999999999999999999999999999", Ordering::Greater),
            ("-10", "-9", Ordering::Less),
            ("1E2", "99", Ordering::Greater),
            ("0.001", "1e-2", Ordering::Less),
            ("-1", "0", Ordering::Less),
            ("12345678901234567890123456789012345678", "12345678901234567890123456789012345679", Ordering::Less),
        ] {
            assert_eq!(compare_numbers(a, b), Some(want), "{a} vs {b}");
            assert_eq!(compare_numbers(b, a), Some(want.reverse()), "{b} vs {a}");
        }
        assert_eq!(compare_numbers("x", "1"), None);
    }

    #[test]
    fn unused_placeholders_before_a_missing_table() {
        let rnf = || DynamoError::resource_not_found("Requested resource not found");
        let batch = json!({"RequestItems": {"users": {
            "Keys": [{"username": {"S": "a"}}], "ProjectionExpression": "#rl",
            "ExpressionAttributeNames": {"#rl": "username", "#count": "count", "#a": "a"}
        }}});
        let e = after_error("BatchGetItem", &batch, rnf());
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            (
                "ValidationException",
                "Value provided in ExpressionAttributeNames unused in expressions: keys: {#a, #count}"
            )
        );
        let scan =
            json!({"FilterExpression": "a = :a", "ExpressionAttributeValues": {":a": {"S": "x"}, ":b": {"S": "y"}}});
        assert_eq!(
            after_error("Scan", &scan, rnf()).message,
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {:b}"
        );
        let put =
            json!({"ConditionExpression": "a = :a", "ExpressionAttributeValues": {":a": {"S": "x"}, ":b": {"S": "y"}}});
        assert!(after_error("PutItem", &put, rnf()).message.starts_with("1 validation error detected: Value provided"));
        // Everything used: the table is missing.
        let get = json!({"ProjectionExpression": "#a, b", "ExpressionAttributeNames": {"#a": "a"}});
        assert_eq!(after_error("GetItem", &get, rnf()).code, "ResourceNotFoundException");
        // Other errors are left alone.
        assert_eq!(after_error("Scan", &scan, DynamoError::internal("x")).code, "InternalServerError");
    }

    #[test]
    fn key_conditions_comparing_two_attributes() {
        let engine = |token: &str| DynamoError::validation(format!("Expected value reference (:name), got {token}"));
        let query = |v: Value, token: &str| after_error("Query", &v, engine(token)).message;
        assert_eq!(
            query(
                json!({"KeyConditionExpression": "(#0 = x)", "ExpressionAttributeNames": {"#0": "pk", "#count": "count"}}),
                "x"
            ),
            "Value provided in ExpressionAttributeNames unused in expressions: keys: {#count}"
        );
        let multiple = "Invalid KeyConditionExpression: Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition";
        assert_eq!(
            query(json!({"KeyConditionExpression": "(#0 = x)", "ExpressionAttributeNames": {"#0": "pk"}}), "x"),
            multiple
        );
        assert_eq!(
            query(
                json!({"KeyConditionExpression": "pk = :v AND sk BETWEEN #b AND :w", "ExpressionAttributeNames": {"#b": "b"},
                         "ExpressionAttributeValues": {":v": {"S": "a"}, ":w": {"S": "b"}}}),
                "#b"
            ),
            multiple
        );
        assert_eq!(
            query(json!({"KeyConditionExpression": "pk = count"}), "count"),
            "Invalid KeyConditionExpression: Attribute name is a reserved keyword; reserved keyword: count"
        );
        assert_eq!(
            query(json!({"KeyConditionExpression": "pk = #x"}), "#x"),
            "Invalid KeyConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #x"
        );
        assert_eq!(
            query(
                json!({"KeyConditionExpression": "pk = x AND sk = :v", "ExpressionAttributeValues": {":v": {"S": "a"}, ":w": {"S": "b"}}}),
                "x"
            ),
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}"
        );
        // Not an attribute: the engine's answer stands.
        assert_eq!(query(json!({"KeyConditionExpression": "pk = )"}), ")"), "Expected value reference (:name), got )");
        assert_eq!(after_error("Scan", &json!({}), engine("x")).message, "Expected value reference (:name), got x");
    }

    #[test]
    fn reserved_words_are_loaded() {
        assert_eq!(reserved_words().len(), 573);
        assert!(reserved_words().contains("COUNT") && reserved_words().contains("ZONE"));
    }
}
