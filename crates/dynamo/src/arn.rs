//! DynamoDB ARNs, and table ARNs given where a `TableName` goes.

use serde_json::{Map, Value};

use crate::DynamoError;

/// The table name `input` names: the `<name>` of a table ARN
/// (`arn:<partition>:dynamodb:<region>:<account>:table/<name>`), or `input`
/// itself when it is not a table ARN (a plain name, or anything malformed,
/// which the engine then rejects in its own words).
///
/// ```
/// assert_eq!(dynamo::table_name_from("arn:aws:dynamodb:us-east-1:123456789012:table/Music"), "Music");
/// assert_eq!(dynamo::table_name_from("Music"), "Music");
/// ```
pub fn table_name_from(input: &str) -> &str {
    match ResourceArn::parse(input) {
        Some(arn) if arn.index.is_none() && arn.stream.is_none() => arn.table,
        _ => input,
    }
}

/// A DynamoDB resource ARN: a table, one of its indexes, or one of its
/// streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceArn<'a> {
    pub partition: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub table: &'a str,
    /// `table/<t>/index/<index>`.
    pub index: Option<&'a str>,
    /// `table/<t>/stream/<label>`.
    pub stream: Option<&'a str>,
}

impl<'a> ResourceArn<'a> {
    /// Parse `arn:<partition>:dynamodb:<region>:<account>:table/<name>[/index/<i>|/stream/<label>]`.
    /// Every part must be non-empty; anything else is `None`.
    pub fn parse(arn: &'a str) -> Option<Self> {
        let mut parts = arn.splitn(6, ':');
        let (Some("arn"), Some(partition), Some("dynamodb"), Some(region), Some(account), Some(resource)) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        if partition.is_empty() || region.is_empty() || account.is_empty() {
            return None;
        }
        let rest = resource.strip_prefix("table/")?;
        let mut segs = rest.split('/');
        let table = segs.next().filter(|t| !t.is_empty())?;
        let (index, stream) = match (segs.next(), segs.next(), segs.next()) {
            (None, _, _) => (None, None),
            (Some("index"), Some(i), None) if !i.is_empty() => (Some(i), None),
            (Some("stream"), Some(s), None) if !s.is_empty() => (None, Some(s)),
            _ => return None,
        };
        Some(ResourceArn { partition, region, account, table, index, stream })
    }

    /// The ARN of the table this resource belongs to.
    pub fn table_arn(&self) -> String {
        format!("arn:{}:dynamodb:{}:{}:table/{}", self.partition, self.region, self.account, self.table)
    }
}

/// Where a request used a table ARN as a key of `RequestItems`: the table
/// name the engine saw and the key the client sent, so that the response's
/// per-table maps can be keyed the way the client asked.
pub type KeyMap = Vec<(String, String)>;

/// Replace table ARNs by table names where DynamoDB accepts either:
/// `TableName`, the keys of `RequestItems`, and the `TableName` of each
/// `TransactItems` action. Returns the renamed `RequestItems` keys.
///
/// # Errors
/// `ValidationException` when `RequestItems` names one table twice (once by
/// name and once by ARN).
pub fn normalize_request(input: &mut Value) -> Result<KeyMap, DynamoError> {
    let mut renamed = KeyMap::new();
    let Some(obj) = input.as_object_mut() else {
        return Ok(renamed);
    };
    normalize_table_name(obj);
    if let Some(Value::Object(items)) = obj.get_mut("RequestItems") {
        if items.keys().any(|k| table_name_from(k) != k) {
            let old = std::mem::take(items);
            for (key, value) in old {
                let name = table_name_from(&key).to_owned();
                if items.contains_key(&name) {
                    return Err(DynamoError::validation(format!(
                        "One or more parameter values were invalid: Table {name} is named more than once in RequestItems"
                    )));
                }
                if name != key {
                    renamed.push((name.clone(), key));
                }
                items.insert(name, value);
            }
        }
    }
    if let Some(Value::Array(actions)) = obj.get_mut("TransactItems") {
        for action in actions.iter_mut().filter_map(Value::as_object_mut) {
            for (_, body) in action.iter_mut() {
                if let Value::Object(body) = body {
                    normalize_table_name(body);
                }
            }
        }
    }
    Ok(renamed)
}

fn normalize_table_name(obj: &mut Map<String, Value>) {
    if let Some(Value::String(name)) = obj.get_mut("TableName") {
        let plain = table_name_from(name);
        if plain.len() != name.len() {
            *name = plain.to_owned();
        }
    }
}

/// Key the per-table maps of a batch response (`Responses`,
/// `UnprocessedKeys`, `UnprocessedItems`, `ItemCollectionMetrics`) by what
/// the client sent.
pub fn restore_response_keys(output: &mut Value, renamed: &KeyMap) {
    if renamed.is_empty() {
        return;
    }
    let Some(obj) = output.as_object_mut() else { return };
    for member in ["Responses", "UnprocessedKeys", "UnprocessedItems", "ItemCollectionMetrics"] {
        if let Some(Value::Object(map)) = obj.get_mut(member) {
            for (name, key) in renamed {
                if let Some(v) = map.remove(name) {
                    map.insert(key.clone(), v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_resource_arns() {
        let a = ResourceArn::parse("arn:aws:dynamodb:us-east-1:123456789012:table/T").expect("table");
        assert_eq!((a.region, a.account, a.table, a.index, a.stream), ("us-east-1", "123456789012", "T", None, None));
        let i = ResourceArn::parse("arn:aws:dynamodb:us-east-1:1:table/T/index/G").expect("index");
        assert_eq!(i.index, Some("G"));
        let s =
            ResourceArn::parse("arn:aws:dynamodb:us-east-1:1:table/T/stream/2024-01-01T00:00:00.000").expect("stream");
        assert_eq!(s.stream, Some("2024-01-01T00:00:00.000"));
        assert_eq!(s.table_arn(), "arn:aws:dynamodb:us-east-1:1:table/T");
        for bad in [
            "",
            "T",
            "arn:aws:s3:::bucket",
            "arn:aws:dynamodb:us-east-1:1:table/",
            "arn:aws:dynamodb::1:table/T",
            "arn:aws:dynamodb:us-east-1:1:backup/x",
            "arn:aws:dynamodb:us-east-1:1:table/T/index/",
            "arn:aws:dynamodb:us-east-1:1:table/T/other/x",
            "arn:aws:dynamodb:us-east-1:1:table/T/index/G/x",
        ] {
            assert!(ResourceArn::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn table_names_from_arns() {
        assert_eq!(table_name_from("arn:aws:dynamodb:eu-west-1:1:table/Music"), "Music");
        assert_eq!(table_name_from("arn:aws-cn:dynamodb:cn-north-1:1:table/a.b-c"), "a.b-c");
        assert_eq!(table_name_from("Music"), "Music");
        assert_eq!(
            table_name_from("arn:aws:dynamodb:eu-west-1:1:table/T/index/G"),
            "arn:aws:dynamodb:eu-west-1:1:table/T/index/G"
        );
        assert_eq!(table_name_from("arn:"), "arn:");
    }

    #[test]
    fn normalizes_every_place_a_table_name_goes() {
        let arn = "arn:aws:dynamodb:us-east-1:1:table/T";
        let mut input = json!({
            "TableName": arn,
            "RequestItems": {arn: {"Keys": []}, "U": {"Keys": []}},
            "TransactItems": [{"Put": {"TableName": arn}}, {"ConditionCheck": {"TableName": "V"}}, 5]
        });
        let renamed = normalize_request(&mut input).expect("ok");
        assert_eq!(renamed, vec![("T".to_owned(), arn.to_owned())]);
        assert_eq!(input["TableName"], "T");
        assert!(input["RequestItems"].get("T").is_some());
        assert!(input["RequestItems"].get("U").is_some());
        assert_eq!(input["TransactItems"][0]["Put"]["TableName"], "T");
        assert_eq!(input["TransactItems"][1]["ConditionCheck"]["TableName"], "V");

        let mut out = json!({"Responses": {"T": [], "U": []}, "UnprocessedKeys": {}});
        restore_response_keys(&mut out, &renamed);
        assert!(out["Responses"].get(arn).is_some());
        assert!(out["Responses"].get("U").is_some());

        let mut twice = json!({"RequestItems": {arn: {}, "T": {}}});
        assert_eq!(normalize_request(&mut twice).map_err(|e| e.code), Err("ValidationException".to_owned()));
        let mut not_object = json!([1]);
        assert!(normalize_request(&mut not_object).expect("ok").is_empty());
    }

    proptest::proptest! {
        #[test]
        fn arn_parsing_is_total(s in "(arn:[a-z-]{0,4}:(dynamodb|s3)?:[a-z0-9-]{0,10}:[0-9]{0,12}:(table/)?)?[a-zA-Z0-9_./:-]{0,40}") {
            let name = table_name_from(&s);
            proptest::prop_assert!(s.ends_with(name));
            if let Some(a) = ResourceArn::parse(&s) {
                proptest::prop_assert!(s.starts_with(&a.table_arn()));
            }
        }
    }
}
