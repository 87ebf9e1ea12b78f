//! Successful responses: `0x80` followed by the method's result item(s) (§3.3, §4, §6).
//! Every encoder returns the complete response bytes, definite lengths throughout except
//! compound keys.

use crate::cbor::Writer;
use crate::keys::KeySchema;
use crate::value::AttributeValue;
use std::net::IpAddr;
use std::sync::Arc;

/// The byte that starts every successful response (an empty array: "no error").
pub const SUCCESS: u8 = 0x80;

/// Result map keys (§6.2).
pub mod result_key {
    /// Item
    pub const ITEM: u64 = 0;
    /// ConsumedCapacity
    pub const CONSUMED_CAPACITY: u64 = 1;
    /// Attributes
    pub const ATTRIBUTES: u64 = 2;
    /// ItemCollectionMetrics
    pub const ITEM_COLLECTION_METRICS: u64 = 3;
    /// Items
    pub const ITEMS: u64 = 7;
    /// Count
    pub const COUNT: u64 = 8;
    /// LastEvaluatedKey
    pub const LAST_EVALUATED_KEY: u64 = 9;
    /// ScannedCount
    pub const SCANNED_COUNT: u64 = 10;
}

fn ok() -> Writer {
    let mut w = Writer::new();
    w.raw(&[SUCCESS]);
    w
}

/// A node's role in the roster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeRole {
    /// Receives writes (role 1).
    Leader,
    /// Read replica (role 2).
    Replica,
}

/// One node of the `endpoints` answer (§4.2).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// Node id (key 0).
    pub node_id: u64,
    /// Hostname (key 1).
    pub hostname: String,
    /// Address the client connects to (key 2, 4 or 16 bytes).
    pub address: IpAddr,
    /// Port the client connects to (key 3).
    pub port: u16,
    /// Role (key 4).
    pub role: NodeRole,
    /// Availability zone (key 5).
    pub availability_zone: String,
    /// Leader session id (key 6).
    pub leader_session_id: i64,
}

/// `endpoints` → `0x80` + array of node maps with all seven keys.
pub fn encode_endpoints(endpoints: &[Endpoint]) -> Vec<u8> {
    let mut w = ok();
    w.array(endpoints.len() as u64);
    for e in endpoints {
        w.map(7).u64(0).u64(e.node_id).u64(1).str(&e.hostname).u64(2);
        match e.address {
            IpAddr::V4(a) => w.bytes(&a.octets()),
            IpAddr::V6(a) => w.bytes(&a.octets()),
        };
        w.u64(3).u64(u64::from(e.port)).u64(4).u64(match e.role {
            NodeRole::Leader => 1,
            NodeRole::Replica => 2,
        });
        w.u64(5).str(&e.availability_zone).u64(6).i64(e.leader_session_id);
    }
    w.into_bytes()
}

/// `defineKeySchema` → `0x80` + map name → type, hash key first.
pub fn encode_key_schema(schema: &KeySchema) -> Vec<u8> {
    let mut w = ok();
    w.map(if schema.range.is_some() { 2 } else { 1 });
    w.str(&schema.hash.name).str(schema.hash.key_type.as_str());
    if let Some(r) = &schema.range {
        w.str(&r.name).str(r.key_type.as_str());
    }
    w.into_bytes()
}

/// `defineAttributeListId` → `0x80` + id.
pub fn encode_attribute_list_id(id: u64) -> Vec<u8> {
    let mut w = ok();
    w.u64(id);
    w.into_bytes()
}

/// `defineAttributeList` → `0x80` + array of names.
pub fn encode_attribute_list(names: &[String]) -> Vec<u8> {
    let mut w = ok();
    w.array(names.len() as u64);
    for n in names {
        w.str(n);
    }
    w.into_bytes()
}

/// A returned item: value bytes or a projection map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemPayload {
    /// Value bytes (§5.5) of the non-key attributes; the client adds the key itself
    /// (GetItem, TransactGetItems, ALL_OLD/ALL_NEW).
    Values(Vec<u8>),
    /// Projection map ordinal → value (§5.8): only projected paths that exist.
    Projected(Vec<(u64, AttributeValue)>),
}

fn write_payload(w: &mut Writer, p: &ItemPayload) {
    match p {
        ItemPayload::Values(b) => {
            w.bytes(b);
        }
        ItemPayload::Projected(entries) => write_projected(w, entries),
    }
}

fn write_projected(w: &mut Writer, entries: &[(u64, AttributeValue)]) {
    w.map(entries.len() as u64);
    for (ord, v) in entries {
        w.u64(*ord);
        v.write_cbor(w);
    }
}

/// Attributes returned by PutItem/UpdateItem/DeleteItem (§6.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attributes {
    /// ALL_OLD / ALL_NEW: value bytes of the whole item.
    Item(Vec<u8>),
    /// UPDATED_OLD / UPDATED_NEW: bytes from [`crate::encode_updated_attributes`].
    Updated(Vec<u8>),
}

/// Positional consumed capacity (§6.11).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ConsumedCapacity {
    /// TableName.
    pub table_name: String,
    /// CapacityUnits.
    pub capacity_units: f64,
    /// Table.CapacityUnits.
    pub table_capacity_units: Option<f64>,
    /// GlobalSecondaryIndexes: name → CapacityUnits.
    pub global_secondary_indexes: Option<Vec<(String, f64)>>,
    /// LocalSecondaryIndexes: name → CapacityUnits.
    pub local_secondary_indexes: Option<Vec<(String, f64)>>,
}

impl ConsumedCapacity {
    /// The byte-string content: five concatenated items.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.str(&self.table_name).f64(self.capacity_units);
        match self.table_capacity_units {
            Some(v) => w.f64(v),
            None => w.null(),
        };
        for idx in [&self.global_secondary_indexes, &self.local_secondary_indexes] {
            match idx {
                Some(list) => {
                    w.map(list.len() as u64);
                    for (n, v) in list {
                        w.str(n).f64(*v);
                    }
                }
                None => {
                    w.null();
                }
            }
        }
        w.into_bytes()
    }
}

/// Capacity of a table or index inside [`ExtendedConsumedCapacity`].
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Capacity {
    /// CapacityUnits (key 1).
    pub capacity_units: Option<f64>,
    /// ReadCapacityUnits (key 2).
    pub read_capacity_units: Option<f64>,
    /// WriteCapacityUnits (key 3).
    pub write_capacity_units: Option<f64>,
}

/// Extended consumed capacity of the transaction methods (§6.11): a map with uint keys.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ExtendedConsumedCapacity {
    /// Keys 1–3.
    pub units: Capacity,
    /// TableName (key 4).
    pub table_name: Option<String>,
    /// Table (key 5).
    pub table: Option<Capacity>,
    /// GlobalSecondaryIndexes (key 6).
    pub global_secondary_indexes: Option<Vec<(String, Capacity)>>,
    /// LocalSecondaryIndexes (key 7).
    pub local_secondary_indexes: Option<Vec<(String, Capacity)>>,
}

fn capacity_entries(c: &Capacity) -> Vec<(u64, f64)> {
    [(1, c.capacity_units), (2, c.read_capacity_units), (3, c.write_capacity_units)]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
}

fn write_capacity(w: &mut Writer, c: &Capacity) {
    let e = capacity_entries(c);
    w.map(e.len() as u64);
    for (k, v) in e {
        w.u64(k).f64(v);
    }
}

fn write_extended_cc(w: &mut Writer, c: &ExtendedConsumedCapacity) {
    let units = capacity_entries(&c.units);
    let n = units.len()
        + usize::from(c.table_name.is_some())
        + usize::from(c.table.is_some())
        + usize::from(c.global_secondary_indexes.is_some())
        + usize::from(c.local_secondary_indexes.is_some());
    w.map(n as u64);
    for (k, v) in units {
        w.u64(k).f64(v);
    }
    if let Some(t) = &c.table_name {
        w.u64(4).str(t);
    }
    if let Some(t) = &c.table {
        w.u64(5);
        write_capacity(w, t);
    }
    for (key, idx) in [(6, &c.global_secondary_indexes), (7, &c.local_secondary_indexes)] {
        if let Some(list) = idx {
            w.u64(key).map(list.len() as u64);
            for (name, cap) in list {
                w.str(name);
                write_capacity(w, cap);
            }
        }
    }
}

/// Item collection metrics (§6.11).
#[derive(Clone, Debug, PartialEq)]
pub struct ItemCollectionMetrics {
    /// The partition-key value of the collection.
    pub partition_key: AttributeValue,
    /// SizeEstimateRangeGB lower bound.
    pub size_lower_gb: f64,
    /// SizeEstimateRangeGB upper bound.
    pub size_upper_gb: f64,
}

impl ItemCollectionMetrics {
    /// The byte-string content.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.partition_key.write_cbor(&mut w);
        w.f64(self.size_lower_gb).f64(self.size_upper_gb);
        w.into_bytes()
    }
}

/// GetItem, PutItem, UpdateItem and DeleteItem results (§6.3, §6.4).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ItemResponse {
    /// GetItem's item (omit when not found).
    pub item: Option<ItemPayload>,
    /// Put/Update/Delete returned attributes (omit when there are none).
    pub attributes: Option<Attributes>,
    /// Consumed capacity, when requested.
    pub consumed_capacity: Option<ConsumedCapacity>,
    /// Item collection metrics, when requested.
    pub item_collection_metrics: Option<ItemCollectionMetrics>,
}

/// A GetItem answer of value bytes alone, as [`encode_item_response`] encodes an
/// [`ItemResponse`] whose only member is `item: value.map(ItemPayload::Values)` (`80 a0`
/// for `None`), without copying the bytes into a payload first: a cache hit's answer.
pub fn encode_item_values_response(value: Option<&[u8]>) -> Vec<u8> {
    let mut w = Writer::with_capacity(value.map_or(2, |v| v.len() + 12));
    w.raw(&[SUCCESS]);
    match value {
        Some(v) => w.map(1).u64(result_key::ITEM).bytes(v),
        None => w.map(0),
    };
    w.into_bytes()
}

/// Encodes an [`ItemResponse`] (`80 a0` when empty).
pub fn encode_item_response(r: &ItemResponse) -> Vec<u8> {
    let mut w = ok();
    let n = usize::from(r.item.is_some())
        + usize::from(r.attributes.is_some())
        + usize::from(r.consumed_capacity.is_some())
        + usize::from(r.item_collection_metrics.is_some());
    w.map(n as u64);
    if let Some(i) = &r.item {
        w.u64(result_key::ITEM);
        write_payload(&mut w, i);
    }
    if let Some(c) = &r.consumed_capacity {
        w.u64(result_key::CONSUMED_CAPACITY).bytes(&c.encode());
    }
    if let Some(a) = &r.attributes {
        w.u64(result_key::ATTRIBUTES);
        match a {
            Attributes::Item(b) | Attributes::Updated(b) => w.bytes(b),
        };
    }
    if let Some(m) = &r.item_collection_metrics {
        w.u64(result_key::ITEM_COLLECTION_METRICS).bytes(&m.encode());
    }
    w.into_bytes()
}

/// One Query/Scan result item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueryItem {
    /// Base-table key bytes and value bytes (`41 01` for a key-only item).
    Full {
        /// Key bytes.
        key: Vec<u8>,
        /// Value bytes.
        value: Vec<u8>,
    },
    /// Projection map.
    Projected(Vec<(u64, AttributeValue)>),
}

/// Query and Scan results (§6.5).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct QueryResponse {
    /// Items (`None` for Select COUNT).
    pub items: Option<Vec<QueryItem>>,
    /// Count.
    pub count: u64,
    /// ScannedCount.
    pub scanned_count: u64,
    /// LastEvaluatedKey: key bytes, or a compound key for index queries.
    pub last_evaluated_key: Option<Vec<u8>>,
    /// Consumed capacity, when requested.
    pub consumed_capacity: Option<ConsumedCapacity>,
}

/// Encodes a [`QueryResponse`].
pub fn encode_query_response(r: &QueryResponse) -> Vec<u8> {
    let mut w = ok();
    let n = 2
        + usize::from(r.items.is_some())
        + usize::from(r.last_evaluated_key.is_some())
        + usize::from(r.consumed_capacity.is_some());
    w.map(n as u64);
    if let Some(items) = &r.items {
        w.u64(result_key::ITEMS).array(items.len() as u64);
        for i in items {
            match i {
                QueryItem::Full { key, value } => {
                    w.array(2).bytes(key).bytes(value);
                }
                QueryItem::Projected(p) => write_projected(&mut w, p),
            }
        }
    }
    w.u64(result_key::COUNT).u64(r.count);
    if let Some(k) = &r.last_evaluated_key {
        w.u64(result_key::LAST_EVALUATED_KEY).bytes(k);
    }
    w.u64(result_key::SCANNED_COUNT).u64(r.scanned_count);
    if let Some(c) = &r.consumed_capacity {
        w.u64(result_key::CONSUMED_CAPACITY).bytes(&c.encode());
    }
    w.into_bytes()
}

/// One table's BatchGetItem responses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchGetItems {
    /// Non-projected table: (key bytes, value bytes) pairs, sent flat.
    Full(Vec<(Vec<u8>, Vec<u8>)>),
    /// The same on the wire, the value bytes shared (a node's cached items, not copied).
    Shared(Vec<(Vec<u8>, Arc<[u8]>)>),
    /// Projected table: projection maps.
    Projected(Vec<Vec<(u64, AttributeValue)>>),
}

/// BatchGetItem results (§6.6).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct BatchGetResponse {
    /// Table name → items.
    pub responses: Vec<(String, BatchGetItems)>,
    /// Table name → unprocessed key bytes.
    pub unprocessed_keys: Vec<(String, Vec<Vec<u8>>)>,
    /// Consumed capacity per table.
    pub consumed_capacity: Vec<ConsumedCapacity>,
}

/// Encodes a [`BatchGetResponse`]: `0x80`, `[responses, unprocessed]`, CC array.
pub fn encode_batch_get_response(r: &BatchGetResponse) -> Vec<u8> {
    // Room for the items' bytes and their heads (the rest grows as needed).
    let room: usize = (r.responses.iter())
        .map(|(t, items)| {
            t.len()
                + 16
                + match items {
                    BatchGetItems::Full(p) => p.iter().map(|(k, v)| k.len() + v.len() + 18).sum(),
                    BatchGetItems::Shared(p) => p.iter().map(|(k, v)| k.len() + v.len() + 18).sum(),
                    BatchGetItems::Projected(_) => 0,
                }
        })
        .sum();
    let mut w = Writer::with_capacity(room + 16);
    w.raw(&[SUCCESS]);
    w.array(2).map(r.responses.len() as u64);
    for (table, items) in &r.responses {
        w.str(table);
        match items {
            BatchGetItems::Full(pairs) => {
                w.array(pairs.len() as u64 * 2);
                for (k, v) in pairs {
                    w.bytes(k).bytes(v);
                }
            }
            BatchGetItems::Shared(pairs) => {
                w.array(pairs.len() as u64 * 2);
                for (k, v) in pairs {
                    w.bytes(k).bytes(v);
                }
            }
            BatchGetItems::Projected(list) => {
                w.array(list.len() as u64);
                for p in list {
                    write_projected(&mut w, p);
                }
            }
        }
    }
    w.map(r.unprocessed_keys.len() as u64);
    for (table, keys) in &r.unprocessed_keys {
        w.str(table).array(keys.len() as u64);
        for k in keys {
            w.bytes(k);
        }
    }
    w.array(r.consumed_capacity.len() as u64);
    for c in &r.consumed_capacity {
        w.bytes(&c.encode());
    }
    w.into_bytes()
}

/// One unprocessed BatchWriteItem write: key bytes and value bytes (`None` = delete).
pub type UnprocessedWrite = (Vec<u8>, Option<Vec<u8>>);

/// BatchWriteItem results (§6.7).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct BatchWriteResponse {
    /// Table name → unprocessed writes: key bytes and value bytes (`None` = delete).
    pub unprocessed_items: Vec<(String, Vec<UnprocessedWrite>)>,
    /// Consumed capacity per table.
    pub consumed_capacity: Vec<ConsumedCapacity>,
    /// Table name → item collection metrics.
    pub item_collection_metrics: Vec<(String, Vec<ItemCollectionMetrics>)>,
}

fn write_icm_map(w: &mut Writer, icm: &[(String, Vec<ItemCollectionMetrics>)]) {
    w.map(icm.len() as u64);
    for (table, list) in icm {
        w.str(table).array(list.len() as u64);
        for m in list {
            w.bytes(&m.encode());
        }
    }
}

/// Encodes a [`BatchWriteResponse`]: `0x80`, unprocessed map, CC array, ICM map.
pub fn encode_batch_write_response(r: &BatchWriteResponse) -> Vec<u8> {
    let mut w = ok();
    w.map(r.unprocessed_items.len() as u64);
    for (table, writes) in &r.unprocessed_items {
        w.str(table).array(writes.len() as u64 * 2);
        for (k, v) in writes {
            w.bytes(k);
            match v {
                Some(v) => w.bytes(v),
                None => w.null(),
            };
        }
    }
    w.array(r.consumed_capacity.len() as u64);
    for c in &r.consumed_capacity {
        w.bytes(&c.encode());
    }
    write_icm_map(&mut w, &r.item_collection_metrics);
    w.into_bytes()
}

/// TransactGetItems results (§6.8).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct TransactGetResponse {
    /// One entry per request entry (`None` = not found).
    pub items: Vec<Option<ItemPayload>>,
    /// Extended consumed capacity.
    pub consumed_capacity: Vec<ExtendedConsumedCapacity>,
}

/// Encodes a [`TransactGetResponse`]: `0x80` + `[items, cc]`.
pub fn encode_transact_get_response(r: &TransactGetResponse) -> Vec<u8> {
    let mut w = ok();
    w.array(2).array(r.items.len() as u64);
    for i in &r.items {
        match i {
            Some(p) => write_payload(&mut w, p),
            None => {
                w.null();
            }
        }
    }
    w.array(r.consumed_capacity.len() as u64);
    for c in &r.consumed_capacity {
        write_extended_cc(&mut w, c);
    }
    w.into_bytes()
}

/// TransactWriteItems results (§6.9).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct TransactWriteResponse {
    /// Extended consumed capacity.
    pub consumed_capacity: Vec<ExtendedConsumedCapacity>,
    /// Table name → item collection metrics.
    pub item_collection_metrics: Vec<(String, Vec<ItemCollectionMetrics>)>,
}

/// Encodes a [`TransactWriteResponse`]: `0x80` + `[[], cc, icm]`.
pub fn encode_transact_write_response(r: &TransactWriteResponse) -> Vec<u8> {
    let mut w = ok();
    w.array(3).array(0).array(r.consumed_capacity.len() as u64);
    for c in &r.consumed_capacity {
        write_extended_cc(&mut w, c);
    }
    write_icm_map(&mut w, &r.item_collection_metrics);
    w.into_bytes()
}
