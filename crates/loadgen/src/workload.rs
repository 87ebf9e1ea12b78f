//! The data every mode uses: a table with a string hash key `pk` and no sort key, and
//! items `{pk: "<prefix><9 digits>", v: "xxx…"}` whose DynamoDB size (attribute names plus
//! values) is exactly `item_bytes`.

use serde_json::{json, Value};

/// Which operation a run sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Op {
    /// GetItem of one item.
    Get,
    /// PutItem of one item (overwriting it).
    Put,
    /// Query `pk = :pk` (one item).
    Query,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Get => "GetItem",
            Op::Put => "PutItem",
            Op::Query => "Query",
        }
    }
}

/// The shape of the data.
#[derive(Debug, Clone)]
pub struct Data {
    pub table: String,
    pub prefix: String,
    payload: String,
}

impl Data {
    pub fn new(table: &str, prefix: &str, item_bytes: usize) -> Self {
        let key_len = prefix.len() + 9;
        // DynamoDB's item size: "pk" + key value + "v" + value.
        let fixed = 2 + key_len + 1;
        let n = item_bytes.saturating_sub(fixed).max(1);
        Data { table: table.to_owned(), prefix: prefix.to_owned(), payload: "x".repeat(n) }
    }

    pub fn key(&self, i: u64) -> String {
        format!("{}{i:09}", self.prefix)
    }

    pub fn payload(&self) -> &str {
        &self.payload
    }

    /// The DynamoDB JSON 1.0 request body for `op` on key number `i`.
    pub fn body(&self, op: Op, i: u64) -> String {
        let t = &self.table;
        let k = self.key(i);
        match op {
            Op::Get => format!(r#"{{"TableName":"{t}","Key":{{"pk":{{"S":"{k}"}}}}}}"#),
            Op::Put => format!(r#"{{"TableName":"{t}","Item":{{"pk":{{"S":"{k}"}},"v":{{"S":"{}"}}}}}}"#, self.payload),
            Op::Query => format!(
                r#"{{"TableName":"{t}","KeyConditionExpression":"pk = :pk","ExpressionAttributeValues":{{":pk":{{"S":"{k}"}}}}}}"#
            ),
        }
    }

    /// The same request as a JSON value (for the in-process engine).
    pub fn value(&self, op: Op, i: u64) -> Value {
        let k = self.key(i);
        match op {
            Op::Get => json!({"TableName": self.table, "Key": {"pk": {"S": k}}}),
            Op::Put => {
                json!({"TableName": self.table, "Item": {"pk": {"S": k}, "v": {"S": self.payload}}})
            }
            Op::Query => json!({
                "TableName": self.table,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": k}}
            }),
        }
    }

    pub fn item(&self, i: u64) -> Value {
        json!({"pk": {"S": self.key(i)}, "v": {"S": self.payload}})
    }

    pub fn create_table(&self) -> Value {
        json!({
            "TableName": self.table,
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST"
        })
    }

    /// BatchWriteItem of the items `from..to` (at most 25).
    pub fn batch_write(&self, from: u64, to: u64) -> Value {
        let puts: Vec<Value> = (from..to).map(|i| json!({"PutRequest": {"Item": self.item(i)}})).collect();
        json!({"RequestItems": {self.table.clone(): puts}})
    }
}

/// Is the answer to a successful GetItem/Query one that carries an item?
pub fn json_has_item(op: Op, body: &[u8]) -> bool {
    match op {
        Op::Get => contains(body, b"\"Item\""),
        Op::Query => !contains(body, b"\"Count\":0"),
        Op::Put => true,
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_exactly_item_bytes() {
        let d = Data::new("bench", "k", 1024);
        let k = d.key(7);
        assert_eq!(k, "k000000007");
        assert_eq!(2 + k.len() + 1 + d.payload().len(), 1024);
        let body: Value = serde_json::from_str(&d.body(Op::Put, 7)).unwrap();
        assert_eq!(body, d.value(Op::Put, 7));
        let body: Value = serde_json::from_str(&d.body(Op::Query, 7)).unwrap();
        assert_eq!(body, d.value(Op::Query, 7));
    }
}
