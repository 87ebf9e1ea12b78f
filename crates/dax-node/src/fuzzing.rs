//! Not an API: what the fuzz target of the node's own decoding drives
//! (`crates/dax-node/fuzz`, target `connection`).
//!
//! [`serve_connection`] runs one client connection's bytes through a real node — the
//! incremental frame reader, `authorizeConnection`, the attribute-list registry, key
//! schemas, keys and values under them, projections, the item and query caches — over an
//! in-memory stream, against an in-memory DynamoDB ([`MemoryHost`]) that answers in
//! DynamoDB's response shapes. It returns what the node wrote back.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex, PoisonError};

use dax_wire::{encode_key, item_from_json, item_to_json, AuthorizeConnection, Item, KeySchema, KeyType};
use serde_json::{json, Map, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::config::FleetConfig;
use crate::conn;
use crate::host::{BoxFuture, ClusterInfo, Host, NodeError, NodeSpec, Principal};
use crate::node::{Cluster, Node, Shared};

/// Items the in-memory DynamoDB keeps at most (per connection: it is made anew for each).
const MAX_ITEMS: usize = 256;

/// A DynamoDB in memory, answering the calls a node makes. Every table exists, except
/// those whose name starts with `Missing`; its key schema follows from its name
/// (`Things`: `pk` S + `sk` N, `Simple`: `id` B, as in the captured seeds; any other
/// name picks one of the twelve schema shapes from its first byte). Writes are applied
/// without evaluating expressions; malformed requests get `ValidationException`.
#[derive(Default)]
pub struct MemoryHost {
    items: Mutex<HashMap<(String, Vec<u8>), Item>>,
}

fn schema_of(table: &str) -> Result<KeySchema, NodeError> {
    if table.starts_with("Missing") || table.is_empty() {
        return Err(NodeError::not_found("Requested resource not found"));
    }
    Ok(match table {
        "Things" => KeySchema::hash_range("pk", KeyType::S, "sk", KeyType::N),
        "Simple" => KeySchema::hash_only("id", KeyType::B),
        _ => {
            let b = table.as_bytes()[0];
            let types = [KeyType::S, KeyType::N, KeyType::B];
            let hash = types[usize::from(b % 3)];
            match (b / 3) % 4 {
                0 => KeySchema::hash_only("pk", hash),
                r => KeySchema::hash_range("pk", hash, "sk", types[usize::from(r - 1)]),
            }
        }
    })
}

fn table_of(input: &Value) -> String {
    let t = input.get("TableName").and_then(Value::as_str).unwrap_or_default();
    // A table ARN stands for its table.
    t.rsplit_once(":table/").map_or(t, |(_, name)| name).to_owned()
}

/// Where the item of `key` is kept: its table and its key bytes.
type Slot = (String, Vec<u8>);

fn slot(table: &str, key: &Item) -> Result<Slot, NodeError> {
    Ok((table.to_owned(), key_bytes(key, &schema_of(table)?)?))
}

fn item_at(v: &Value) -> Result<Item, NodeError> {
    item_from_json(v).map_err(|e| NodeError::validation(e.to_string()))
}

fn key_bytes(item: &Item, schema: &KeySchema) -> Result<Vec<u8>, NodeError> {
    encode_key(item, schema).map_err(|e| NodeError::validation(e.to_string()))
}

fn capacity(input: &Value, table: &str) -> Option<Value> {
    match input.get("ReturnConsumedCapacity").and_then(Value::as_str) {
        Some("TOTAL") => Some(json!({"TableName": table, "CapacityUnits": 1.0})),
        Some("INDEXES") => Some(json!({"TableName": table, "CapacityUnits": 1.0, "Table": {"CapacityUnits": 1.0},
            "GlobalSecondaryIndexes": {"byCat": {"CapacityUnits": 0.5}}})),
        _ => None,
    }
}

/// DynamoDB's `DescribeTable` answer (the parts a node reads) for a table of `schema`.
pub(crate) fn describe_table(s: &KeySchema) -> Value {
    let mut ks = vec![json!({"AttributeName": s.hash.name, "KeyType": "HASH"})];
    let mut defs = vec![json!({"AttributeName": s.hash.name, "AttributeType": s.hash.key_type.as_str()})];
    if let Some(r) = &s.range {
        ks.push(json!({"AttributeName": r.name, "KeyType": "RANGE"}));
        defs.push(json!({"AttributeName": r.name, "AttributeType": r.key_type.as_str()}));
    }
    json!({"Table": {"KeySchema": ks, "AttributeDefinitions": defs}})
}

impl MemoryHost {
    fn items(&self) -> std::sync::MutexGuard<'_, HashMap<(String, Vec<u8>), Item>> {
        self.items.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn get(&self, table: &str, key: &Value) -> Result<Option<Item>, NodeError> {
        let slot = slot(table, &item_at(key)?)?;
        Ok(self.items().get(&slot).cloned())
    }

    /// Stores (`Some`) or deletes (`None`) the item of `slot`; the old item.
    fn set(&self, slot: Slot, new: Option<Item>) -> Result<Option<Item>, NodeError> {
        let mut items = self.items();
        Ok(match new {
            Some(item) if items.len() < MAX_ITEMS || items.contains_key(&slot) => items.insert(slot, item),
            Some(_) => {
                return Err(NodeError::new(
                    "ItemCollectionSizeLimitExceededException",
                    "The in-memory table is full",
                    400,
                ))
            }
            None => items.remove(&slot),
        })
    }

    fn write(&self, op: &str, input: &Value) -> Result<Value, NodeError> {
        let table = table_of(input);
        let schema = schema_of(&table)?;
        let (key, put) = match op {
            "PutItem" => {
                let item = item_at(&input["Item"])?;
                (schema.key_of(&item), Some(item))
            }
            _ => (item_at(&input["Key"])?, None),
        };
        let slot = (table.clone(), key_bytes(&key, &schema)?);
        let old = self.items().get(&slot).cloned();
        if old.is_some()
            && input
                .get("ConditionExpression")
                .and_then(Value::as_str)
                .is_some_and(|c| c.contains("attribute_not_exists"))
        {
            return Err(NodeError::new("ConditionalCheckFailedException", "The conditional request failed", 400));
        }
        let new = match op {
            "PutItem" => put,
            "DeleteItem" => None,
            _ => {
                let mut item = old.unwrap_or(key);
                if let Ok(one) = dax_wire::Number::parse("1") {
                    item.insert("updated".to_owned(), dax_wire::AttributeValue::N(one));
                }
                Some(item)
            }
        };
        let old = self.set(slot, new.clone())?;
        let attrs = match input.get("ReturnValues").and_then(Value::as_str).unwrap_or("NONE") {
            "ALL_OLD" | "UPDATED_OLD" => old,
            "ALL_NEW" | "UPDATED_NEW" => new,
            _ => None,
        };
        let mut out = Map::new();
        if let Some(a) = attrs {
            out.insert("Attributes".to_owned(), item_to_json(&a));
        }
        if let Some(c) = capacity(input, &table) {
            out.insert("ConsumedCapacity".to_owned(), c);
        }
        Ok(Value::Object(out))
    }

    fn exec(&self, op: &str, input: &Value) -> Result<Value, NodeError> {
        match op {
            "DescribeTable" => Ok(describe_table(&schema_of(&table_of(input))?)),
            "GetItem" => {
                let table = table_of(input);
                let mut out = Map::new();
                if let Some(i) = self.get(&table, &input["Key"])? {
                    out.insert("Item".to_owned(), item_to_json(&i));
                }
                if let Some(c) = capacity(input, &table) {
                    out.insert("ConsumedCapacity".to_owned(), c);
                }
                Ok(Value::Object(out))
            }
            "PutItem" | "DeleteItem" | "UpdateItem" => self.write(op, input),
            "Query" | "Scan" => {
                let table = table_of(input);
                schema_of(&table)?;
                let limit = input.get("Limit").and_then(Value::as_u64).unwrap_or(10).min(10);
                let all: Vec<Value> =
                    self.items().iter().filter(|((t, _), _)| *t == table).map(|(_, i)| item_to_json(i)).collect();
                let page: Vec<Value> = all.iter().take(usize::try_from(limit).unwrap_or(10)).cloned().collect();
                let mut out = json!({"Items": page, "Count": page.len(), "ScannedCount": all.len()});
                if all.len() > page.len() {
                    out["LastEvaluatedKey"] = page.last().cloned().unwrap_or(Value::Null);
                }
                if let Some(c) = capacity(input, &table) {
                    out["ConsumedCapacity"] = c;
                }
                Ok(out)
            }
            "BatchGetItem" => {
                let mut responses = Map::new();
                for (table, req) in input["RequestItems"].as_object().into_iter().flatten() {
                    let mut found = Vec::new();
                    for key in req["Keys"].as_array().into_iter().flatten() {
                        if let Some(i) = self.get(table, key)? {
                            found.push(item_to_json(&i));
                        }
                    }
                    responses.insert(table.clone(), Value::Array(found));
                }
                Ok(json!({"Responses": responses, "UnprocessedKeys": {}}))
            }
            "BatchWriteItem" => {
                for (table, reqs) in input["RequestItems"].as_object().into_iter().flatten() {
                    for r in reqs.as_array().into_iter().flatten() {
                        if let Some(p) = r.get("PutRequest") {
                            let item = item_at(&p["Item"])?;
                            self.set(slot(table, &schema_of(table)?.key_of(&item))?, Some(item))?;
                        } else if let Some(d) = r.get("DeleteRequest") {
                            self.set(slot(table, &item_at(&d["Key"])?)?, None)?;
                        }
                    }
                }
                Ok(json!({"UnprocessedItems": {}}))
            }
            "TransactGetItems" => {
                let mut responses = Vec::new();
                for t in input["TransactItems"].as_array().into_iter().flatten() {
                    let g = &t["Get"];
                    responses.push(match self.get(&table_of(g), &g["Key"])? {
                        Some(i) => json!({"Item": item_to_json(&i)}),
                        None => json!({}),
                    });
                }
                Ok(json!({"Responses": responses}))
            }
            "TransactWriteItems" => {
                for t in input["TransactItems"].as_array().into_iter().flatten() {
                    for (op, body) in [("PutItem", "Put"), ("DeleteItem", "Delete"), ("UpdateItem", "Update")] {
                        if let Some(b) = t.get(body) {
                            self.write(op, b)?;
                        }
                    }
                }
                Ok(json!({}))
            }
            other => Err(NodeError::validation(format!("{other} is not an operation of this in-memory DynamoDB"))),
        }
    }
}

impl Host for MemoryHost {
    fn authenticate(&self, a: &AuthorizeConnection, _cluster: &ClusterInfo) -> Result<Principal, NodeError> {
        // The node's part is the parsing; whether the signature is right is the host's.
        if a.access_key_id.starts_with("DENY") {
            return Err(NodeError::new(
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
                400,
            ));
        }
        Ok(Principal::new(a.access_key_id.clone()))
    }

    fn authorize(
        &self,
        _who: &Principal,
        _action: &str,
        _cluster: &ClusterInfo,
        _enclosing: Option<&str>,
        _tls: bool,
    ) -> Result<(), NodeError> {
        Ok(())
    }

    fn dynamodb<'a>(
        &'a self,
        _cluster: &'a ClusterInfo,
        op: &'a str,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, NodeError>> {
        Box::pin(async move { self.exec(op, &input) })
    }

    fn now_ms(&self) -> i64 {
        1
    }
}

fn cluster_info() -> ClusterInfo {
    ClusterInfo {
        region: "us-east-1".into(),
        name: "fuzz".into(),
        arn: "arn:aws:dax:us-east-1:123456789012:cache/fuzz".into(),
        iam_role_arn: "arn:aws:iam::123456789012:role/fuzz".into(),
        node_type: "dax.t3.small".into(),
        record_ttl_ms: 60_000,
        query_ttl_ms: 60_000,
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread().enable_time().build().expect("a current-thread runtime")
    })
}

/// One connection: `stream` (the client's bytes, preamble first) written to a fresh node
/// of a one-node cluster in pieces of at most `chunk` bytes, then closed; returns every
/// byte the node answered before it closed its side.
#[must_use]
pub fn serve_connection(stream: &[u8], chunk: usize) -> Vec<u8> {
    let info = cluster_info();
    let spec = NodeSpec {
        cluster: info.clone(),
        node_id: "fuzz-a".into(),
        host: "127.0.0.1".into(),
        port: 8111,
        availability_zone: "us-east-1a".into(),
        tls: false,
        running: true,
        generation: 0,
    };
    let host: Arc<dyn Host> = Arc::new(MemoryHost::default());
    let shared = Arc::new(Shared::new(host, FleetConfig { cache_bytes: 1 << 20, ..FleetConfig::default() }));
    let state = Arc::new(Cluster::new(info));
    let node = Arc::new(Node::new(&spec, Arc::clone(&state), 1 << 20, shared));
    {
        let mut roster = state.roster_mut();
        roster.nodes.push(Arc::clone(&node));
        roster.leader = Some(node.id.clone());
        roster.leader_session_id = 1;
    }
    let chunk = chunk.max(1);
    let answer = runtime().block_on(async {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let (mut rx, mut tx) = tokio::io::split(client);
        let serve = conn::serve(Arc::clone(&node), server, IpAddr::V4(Ipv4Addr::LOCALHOST), false);
        let send = async move {
            for piece in stream.chunks(chunk) {
                if tx.write_all(piece).await.is_err() {
                    break;
                }
            }
            let _ = tx.shutdown().await;
        };
        let receive = async move {
            let mut out = Vec::new();
            let _ = rx.read_to_end(&mut out).await;
            out
        };
        let ((), (), out) = tokio::join!(serve, send, receive);
        out
    });
    // The roster holds the node, and the node its cluster: break the cycle.
    state.roster_mut().nodes.clear();
    answer
}

#[cfg(test)]
mod tests {
    use dax_wire::{encode_item_values, GetItemRequest, Preamble, PutItemRequest, Request, SessionId};

    use super::*;

    fn connection(requests: &[Request]) -> Vec<u8> {
        let pre = Preamble {
            session_id: SessionId::Bytes(vec![1; 16]),
            user_agent: Some("fuzz".into()),
            ..Preamble::default()
        };
        let mut s = pre.encode();
        let auth = AuthorizeConnection {
            access_key_id: "AKIDFUZZ".into(),
            signature: "0".repeat(64),
            string_to_sign: b"sts".to_vec(),
            session_token: None,
            user_agent: None,
        };
        s.extend(Request::AuthorizeConnection(auth).encode());
        for r in requests {
            s.extend(r.encode());
        }
        s
    }

    #[test]
    fn a_put_then_a_get_answers_the_item_in_any_chunking() {
        let schema = schema_of("Things").unwrap();
        let item = item_from_json(&json!({"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"S": "x"}})).unwrap();
        let names = vec!["v".to_owned()];
        // Attribute-list ids are the same on every registry.
        let id = Cluster::new(cluster_info()).attribute_list_id(&names).unwrap();
        let key = encode_key(&item, &schema).unwrap();
        let stream = connection(&[
            Request::DefineAttributeListId { attribute_names: names.clone() },
            Request::PutItem(PutItemRequest {
                table_name: "Things".into(),
                key: key.clone(),
                value: encode_item_values(&item, &names, id).unwrap(),
                ..PutItemRequest::default()
            }),
            Request::GetItem(GetItemRequest { table_name: "Things".into(), key, ..GetItemRequest::default() }),
        ]);
        let whole = serve_connection(&stream, stream.len());
        for chunk in [1, 7, 100] {
            assert_eq!(serve_connection(&stream, chunk), whole, "chunks of {chunk}");
        }
        // Three answers, none an error (an error answer starts with a CBOR array of codes, 0x8_).
        assert!(whole.starts_with(&[0x80]), "{whole:02x?}");
        // The get's answer carries the value written: the CBOR text "x".
        assert!(whole.windows(2).any(|w| w == [0x61, b'x']), "{whole:02x?}");
    }

    #[test]
    fn garbage_is_answered_or_closed_never_a_panic() {
        for stream in [&b""[..], b"\xff\xff\xff", b"\x84gw\x01\x00\x00\x00", &[0u8; 300]] {
            let _ = serve_connection(stream, 3);
        }
    }
}
