//! The data every mode uses: a table with a string hash key `pk` and no sort key, and
//! items `{pk: "<prefix><9 digits>", v: "xxx…"}` whose DynamoDB size (attribute names plus
//! values) is exactly `item_bytes`. With `sort_keys` S > 0 the table also has a numeric sort
//! key `sk` and every partition holds S items (`sk` 0..S), so that a Query of one partition
//! returns S items; item number `j` is then partition `j / S`, sort key `j % S`.

use serde_json::{json, Value};

/// Which operation a run sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Op {
    /// GetItem of one item.
    Get,
    /// PutItem of one item (overwriting it).
    Put,
    /// Query `pk = :pk` (one item, or the partition's `--sort-keys` items).
    Query,
    /// BatchGetItem of `--batch` consecutive keys (Redis: MGET of as many keys).
    BatchGet,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Get => "GetItem",
            Op::Put => "PutItem",
            Op::Query => "Query",
            Op::BatchGet => "BatchGetItem",
        }
    }
}

/// The shape of the data.
#[derive(Debug, Clone)]
pub struct Data {
    pub table: String,
    pub prefix: String,
    payload: String,
    /// Items per partition, with a numeric sort key `sk` (0: no sort key).
    pub sort_keys: u64,
    /// Keys per BatchGetItem / MGET.
    pub batch: u64,
    /// The key numbers a run uses, `key_offset..key_offset+keys`: a batch starting at key
    /// number `i` takes the next `batch` of them, wrapping around.
    pub key_offset: u64,
    pub keys: u64,
}

/// DynamoDB's size of a number attribute value below 100 (one significant byte pair + 1).
const SMALL_NUMBER_BYTES: usize = 2;

impl Data {
    pub fn new(table: &str, prefix: &str, item_bytes: usize) -> Self {
        let key_len = prefix.len() + 9;
        // DynamoDB's item size: "pk" + key value + "v" + value.
        let fixed = 2 + key_len + 1;
        let n = item_bytes.saturating_sub(fixed).max(1);
        Data {
            table: table.to_owned(),
            prefix: prefix.to_owned(),
            payload: "x".repeat(n),
            sort_keys: 0,
            batch: 1,
            key_offset: 0,
            keys: 1,
        }
    }

    /// The same data with `sort_keys` items per partition (the payload shrinks by the size
    /// of `sk` and its value, so every item stays `item_bytes`, for sort keys below 100).
    pub fn with_sort_keys(mut self, sort_keys: u64) -> Self {
        if sort_keys > 0 {
            let n = self.payload.len().saturating_sub(2 + SMALL_NUMBER_BYTES).max(1);
            self.payload.truncate(n);
        }
        self.sort_keys = sort_keys;
        self
    }

    /// The same data read in batches of `batch` keys out of `key_offset..key_offset+keys`.
    pub fn with_batch(mut self, batch: u64, key_offset: u64, keys: u64) -> Self {
        self.batch = batch.max(1);
        self.key_offset = key_offset;
        self.keys = keys.max(1);
        self
    }

    /// Items per partition (1 without a sort key).
    pub fn per_partition(&self) -> u64 {
        self.sort_keys.max(1)
    }

    /// The key numbers of the batch that starts at key number `i`.
    pub fn batch_keys(&self, i: u64) -> impl Iterator<Item = u64> + '_ {
        let rel = i.saturating_sub(self.key_offset);
        (0..self.batch).map(move |j| self.key_offset + (rel + j) % self.keys)
    }

    /// The primary key of partition `i` (sort key 0 when the table has one), as JSON.
    fn key_json(&self, i: u64) -> Value {
        if self.sort_keys > 0 {
            json!({"pk": {"S": self.key(i)}, "sk": {"N": "0"}})
        } else {
            json!({"pk": {"S": self.key(i)}})
        }
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
            Op::Get if self.sort_keys == 0 => format!(r#"{{"TableName":"{t}","Key":{{"pk":{{"S":"{k}"}}}}}}"#),
            Op::Put if self.sort_keys == 0 => {
                format!(r#"{{"TableName":"{t}","Item":{{"pk":{{"S":"{k}"}},"v":{{"S":"{}"}}}}}}"#, self.payload)
            }
            Op::Query => format!(
                r#"{{"TableName":"{t}","KeyConditionExpression":"pk = :pk","ExpressionAttributeValues":{{":pk":{{"S":"{k}"}}}}}}"#
            ),
            _ => self.value(op, i).to_string(),
        }
    }

    /// The same request as a JSON value (for the in-process engine).
    pub fn value(&self, op: Op, i: u64) -> Value {
        let k = self.key(i);
        match op {
            Op::Get => json!({"TableName": self.table, "Key": self.key_json(i)}),
            Op::Put => json!({"TableName": self.table, "Item": self.item(i * self.per_partition())}),
            Op::Query => json!({
                "TableName": self.table,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": k}}
            }),
            Op::BatchGet => {
                let keys: Vec<Value> = self.batch_keys(i).map(|j| self.key_json(j)).collect();
                json!({"RequestItems": {self.table.clone(): {"Keys": keys}}})
            }
        }
    }

    /// Item number `j` (partition `j / sort_keys`, sort key `j % sort_keys`).
    pub fn item(&self, j: u64) -> Value {
        match (j.checked_div(self.sort_keys), j.checked_rem(self.sort_keys)) {
            (Some(p), Some(s)) => {
                json!({"pk": {"S": self.key(p)}, "sk": {"N": s.to_string()}, "v": {"S": self.payload}})
            }
            _ => json!({"pk": {"S": self.key(j)}, "v": {"S": self.payload}}),
        }
    }

    pub fn create_table(&self) -> Value {
        if self.sort_keys > 0 {
            return json!({
                "TableName": self.table,
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                "BillingMode": "PAY_PER_REQUEST"
            });
        }
        json!({
            "TableName": self.table,
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST"
        })
    }

    /// BatchWriteItem of the item numbers `from..to` (at most 25).
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
        // Every key answered: no unprocessed keys (an empty map is not written as `{}` by
        // every server, so look for a key inside it).
        Op::BatchGet => !contains(body, b"\"UnprocessedKeys\":{\""),
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

    #[test]
    fn batches_wrap_within_the_key_range() {
        let cases: &[(u64, u64, u64, u64, &[u64])] = &[
            // (batch, key_offset, keys, first key, the batch's keys)
            (3, 0, 10, 0, &[0, 1, 2]),
            (3, 0, 10, 8, &[8, 9, 0]),
            (2, 100, 5, 104, &[104, 100]),
            (1, 0, 1, 0, &[0]),
        ];
        for &(batch, offset, keys, first, want) in cases {
            let d = Data::new("t", "k", 1024).with_batch(batch, offset, keys);
            assert_eq!(d.batch_keys(first).collect::<Vec<_>>(), want, "{batch} {offset} {keys} {first}");
        }
        let d = Data::new("t", "k", 1024).with_batch(2, 0, 10);
        let v = d.value(Op::BatchGet, 9);
        assert_eq!(
            v,
            json!({"RequestItems": {"t": {"Keys": [{"pk": {"S": "k000000009"}}, {"pk": {"S": "k000000000"}}]}}})
        );
        assert_eq!(serde_json::from_str::<Value>(&d.body(Op::BatchGet, 9)).unwrap(), v);
    }

    #[test]
    fn sort_key_tables_hold_partitions_of_items() {
        let d = Data::new("q", "k", 1024).with_sort_keys(10);
        assert_eq!(d.per_partition(), 10);
        // Item 23: partition 2, sort key 3, still 1024 bytes (a number below 100 is 2 bytes).
        let item = d.item(23);
        assert_eq!(item["pk"], json!({"S": "k000000002"}));
        assert_eq!(item["sk"], json!({"N": "3"}));
        let v = item["v"]["S"].as_str().unwrap();
        assert_eq!(2 + 10 + 2 + SMALL_NUMBER_BYTES + 1 + v.len(), 1024);
        assert_eq!(d.create_table()["KeySchema"][1], json!({"AttributeName": "sk", "KeyType": "RANGE"}));
        assert_eq!(d.value(Op::Get, 4)["Key"], json!({"pk": {"S": "k000000004"}, "sk": {"N": "0"}}));
        assert_eq!(serde_json::from_str::<Value>(&d.body(Op::Get, 4)).unwrap(), d.value(Op::Get, 4));
        // 25 items a BatchWriteItem: two and a half partitions.
        let w = d.batch_write(0, 25);
        assert_eq!(w["RequestItems"]["q"].as_array().unwrap().len(), 25);
        assert!(json_has_item(Op::BatchGet, br#"{"Responses":{},"UnprocessedKeys":{}}"#));
        assert!(!json_has_item(Op::BatchGet, br#"{"Responses":{},"UnprocessedKeys":{"t":{"Keys":[]}}}"#));
    }
}
