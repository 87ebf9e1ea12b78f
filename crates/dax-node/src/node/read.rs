//! The reads of a node: GetItem, Query, Scan, BatchGetItem and TransactGetItems, each
//! answered from the node's item or query cache when it can be, otherwise translated into
//! a DynamoDB call through the [`crate::Host`] and cached on the way back.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use dax_wire::{
    canonical_key, decode_compound_key, encode_batch_get_response, encode_compound_key, encode_item_response,
    encode_item_values_response, encode_key, encode_query_response, encode_transact_get_response, item_to_json,
    BatchGetItemRequest, BatchGetItems, BatchGetResponse, ExpressionWriter, GetItemRequest, ItemPayload, ItemResponse,
    KeySchema, ProjectionExpression, QueryItem, QueryRequest, QueryResponse, ReturnConsumedCapacity, ScanRequest,
    Select, TransactGetItemsRequest, TransactGetResponse,
};
use serde_json::{json, Map, Value};

use super::{finish_exprs, rcc_json, str_v, Node, Res};
use crate::convert::{self, put_opt};
use crate::host::ClusterInfo;
use crate::metrics::Counter;
use crate::projection;

impl Node {
    pub(super) async fn get_item(&self, info: &ClusterInfo, g: GetItemRequest) -> Res<Vec<u8>> {
        g.projection.as_ref().map(projection::check).transpose()?;
        let schema = self.schema(info, &g.table_name, "GetItem").await?;
        // A hit needs the canonical key bytes only: the key itself is decoded on a miss.
        let kb = canonical_key(&g.key, &schema, &self.limits())?;
        if !g.consistent_read {
            if let Some(hit) = self.cache.get_item(&g.table_name, &kb) {
                self.meter.inc(Counter::ItemCacheHits);
                return Ok(match (hit.value_bytes(), &g.projection) {
                    (Some(v), Some(p)) => {
                        let item = self.projected(v, &kb, p, &schema)?;
                        encode_item_response(&ItemResponse { item: Some(item), ..ItemResponse::default() })
                    }
                    // The cached value bytes (or none) are the answer, written once.
                    (value, _) => encode_item_values_response(value.map(|v| &v[..])),
                });
            }
            self.meter.inc(Counter::ItemCacheMisses);
        }
        let key = self.key(&kb, &schema)?;
        let stamp = self.stamp();
        let mut input = Map::new();
        input.insert("TableName".into(), str_v(&g.table_name));
        input.insert("Key".into(), item_to_json(&key));
        if g.consistent_read {
            input.insert("ConsistentRead".into(), Value::Bool(true));
        }
        put_opt(&mut input, "ReturnConsumedCapacity", rcc_json(g.return_consumed_capacity));
        let out = self.ddb(info, "GetItem", Value::Object(input)).await?;
        let item = out.get("Item").map(convert::item).transpose()?;
        // The value bytes: the answer without a projection, and what is cached.
        let value = match item.as_ref().map(|i| self.value_bytes(i, &schema)).transpose() {
            Ok(v) => v,
            // A projection is answered without them (the item is then not cached).
            Err(_) if g.projection.is_some() => None,
            Err(e) => return Err(e),
        };
        if !g.consistent_read && (item.is_none() || value.is_some()) {
            self.remember(&g.table_name, &kb, value.as_deref().map(Arc::from), stamp);
        }
        let payload = match (&item, value, &g.projection) {
            (Some(i), _, Some(p)) => Some(ItemPayload::Projected(projection::project(p, i))),
            (_, Some(v), None) => Some(ItemPayload::Values(v)),
            _ => None,
        };
        Ok(encode_item_response(&ItemResponse {
            item: payload,
            consumed_capacity: out.get("ConsumedCapacity").and_then(convert::consumed_capacity),
            ..ItemResponse::default()
        }))
    }

    /// Query and Scan share everything but the cache counters and a few parameters.
    /// `input` asks DynamoDB for [`projection::fetch`] of `projection` (if any); the
    /// answer's items are projected here, on what DynamoDB answered for it.
    #[allow(clippy::too_many_arguments)]
    async fn read_many(
        &self,
        info: &ClusterInfo,
        scan: bool,
        table: &str,
        index: Option<&str>,
        mut input: Map<String, Value>,
        exclusive_start_key: Option<&[u8]>,
        projection: Option<&ProjectionExpression>,
        select: Option<Select>,
        consistent: bool,
        rcc: ReturnConsumedCapacity,
    ) -> Res<Vec<u8>> {
        let schema = self.schema(info, table, if scan { "Scan" } else { "Query" }).await?;
        if let Some(k) = exclusive_start_key {
            let key = match index {
                Some(_) => decode_compound_key(k, &self.limits())?,
                None => self.key(k, &schema)?,
            };
            input.insert("ExclusiveStartKey".into(), item_to_json(&key));
        }
        let op = if scan { "Scan" } else { "Query" };
        let (hit, miss) = if scan {
            (Counter::ScanCacheHits, Counter::ScanCacheMisses)
        } else {
            (Counter::QueryCacheHits, Counter::QueryCacheMisses)
        };
        // The projection DynamoDB is asked for stands for many (`l[0]` and `l[1]` both
        // fetch `l`): the key names the client's own.
        let cache_key = (!consistent).then(|| match projection {
            Some(p) => format!("{}{:?}", Value::Object(input.clone()), p.paths),
            None => Value::Object(input.clone()).to_string(),
        });
        if let Some(k) = &cache_key {
            if let Some(bytes) = self.cache.get_query(scan, k) {
                self.meter.inc(hit);
                return Ok(bytes);
            }
            self.meter.inc(miss);
        }
        put_opt(&mut input, "ReturnConsumedCapacity", rcc_json(rcc));
        let out = self.ddb(info, op, Value::Object(input)).await?;
        let items = if select == Some(Select::Count) {
            None
        } else {
            let mut list = Vec::new();
            for v in out.get("Items").and_then(Value::as_array).into_iter().flatten() {
                let item = convert::item(v)?;
                list.push(match projection {
                    Some(p) => QueryItem::Projected(projection::project(p, &item)),
                    None => {
                        QueryItem::Full { key: encode_key(&item, &schema)?, value: self.value_bytes(&item, &schema)? }
                    }
                });
            }
            Some(list)
        };
        let last_evaluated_key = match out.get("LastEvaluatedKey") {
            Some(v) => {
                let k = convert::item(v)?;
                Some(match index {
                    Some(_) => encode_compound_key(&k),
                    None => encode_key(&k, &schema)?,
                })
            }
            None => None,
        };
        let count = |k: &str| out.get(k).and_then(Value::as_u64).unwrap_or(0);
        let mut resp = QueryResponse {
            items,
            count: count("Count"),
            scanned_count: count("ScannedCount"),
            last_evaluated_key,
            consumed_capacity: None,
        };
        let bytes = encode_query_response(&resp);
        if let Some(k) = cache_key {
            self.cache.put_query(scan, &k, &bytes);
        }
        match out.get("ConsumedCapacity").and_then(convert::consumed_capacity) {
            Some(cc) => {
                resp.consumed_capacity = Some(cc);
                Ok(encode_query_response(&resp))
            }
            None => Ok(bytes),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn read_input(
        table: &str,
        index: Option<&str>,
        w: &mut ExpressionWriter,
        filter: Option<&dax_wire::ConditionExpression>,
        projection: Option<&ProjectionExpression>,
        limit: Option<u64>,
        consistent: bool,
        select: Option<Select>,
    ) -> Map<String, Value> {
        let mut input = Map::new();
        input.insert("TableName".into(), str_v(table));
        if let Some(i) = index {
            input.insert("IndexName".into(), str_v(i));
        }
        if let Some(f) = filter {
            input.insert("FilterExpression".into(), Value::String(w.condition(f, "f")));
        }
        if let Some(p) = projection {
            input.insert("ProjectionExpression".into(), Value::String(w.projection(p)));
        }
        if let Some(l) = limit {
            input.insert("Limit".into(), json!(l));
        }
        if consistent {
            input.insert("ConsistentRead".into(), Value::Bool(true));
        }
        if let Some(s) = select {
            input.insert("Select".into(), str_v(s.as_str()));
        }
        input
    }

    pub(super) async fn query(&self, info: &ClusterInfo, q: QueryRequest) -> Res<Vec<u8>> {
        q.projection.as_ref().map(projection::check).transpose()?;
        let fetch = q.projection.as_ref().map(projection::fetch);
        let mut w = ExpressionWriter::new();
        let mut input = Self::read_input(
            &q.table_name,
            q.index_name.as_deref(),
            &mut w,
            q.filter.as_ref(),
            fetch.as_ref(),
            q.limit,
            q.consistent_read,
            q.select,
        );
        if let Some(kc) = &q.key_condition {
            input.insert("KeyConditionExpression".into(), Value::String(w.condition(kc, "k")));
        }
        if !q.scan_index_forward {
            input.insert("ScanIndexForward".into(), Value::Bool(false));
        }
        finish_exprs(&mut input, &w);
        self.read_many(
            info,
            false,
            &q.table_name,
            q.index_name.as_deref(),
            input,
            q.exclusive_start_key.as_deref(),
            q.projection.as_ref(),
            q.select,
            q.consistent_read,
            q.return_consumed_capacity,
        )
        .await
    }

    pub(super) async fn scan(&self, info: &ClusterInfo, s: ScanRequest) -> Res<Vec<u8>> {
        s.projection.as_ref().map(projection::check).transpose()?;
        let fetch = s.projection.as_ref().map(projection::fetch);
        let mut w = ExpressionWriter::new();
        let mut input = Self::read_input(
            &s.table_name,
            s.index_name.as_deref(),
            &mut w,
            s.filter.as_ref(),
            fetch.as_ref(),
            s.limit,
            s.consistent_read,
            s.select,
        );
        if let Some(v) = s.segment {
            input.insert("Segment".into(), json!(v));
        }
        if let Some(v) = s.total_segments {
            input.insert("TotalSegments".into(), json!(v));
        }
        finish_exprs(&mut input, &w);
        self.read_many(
            info,
            true,
            &s.table_name,
            s.index_name.as_deref(),
            input,
            s.exclusive_start_key.as_deref(),
            s.projection.as_ref(),
            s.select,
            s.consistent_read,
            s.return_consumed_capacity,
        )
        .await
    }

    pub(super) async fn batch_get(&self, info: &ClusterInfo, b: BatchGetItemRequest) -> Res<Vec<u8>> {
        /// A requested key: canonical key bytes (the key is decoded from them when it is
        /// needed: a miss, a projection), and the item's value bytes once known
        /// (`Some(None)`: it does not exist).
        type Slot = (Vec<u8>, Option<Option<Arc<[u8]>>>);
        struct Table {
            name: String,
            schema: Arc<KeySchema>,
            consistent: bool,
            projection: Option<ProjectionExpression>,
            keys: Vec<Slot>,
        }
        for t in &b.tables {
            t.projection.as_ref().map(projection::check).transpose()?;
        }
        let mut tables = Vec::with_capacity(b.tables.len());
        let limits = self.limits();
        for t in b.tables {
            let schema = self.schema(info, &t.table_name, "BatchGetItem").await?;
            let mut keys = Vec::with_capacity(t.keys.len());
            let (mut hits, mut misses) = (0, 0);
            for k in t.keys {
                // The bytes as received when they are canonical already.
                let canonical = match canonical_key(&k, &schema, &limits)? {
                    std::borrow::Cow::Owned(c) => Some(c),
                    std::borrow::Cow::Borrowed(_) => None,
                };
                let kb = canonical.unwrap_or(k);
                let cached = if t.consistent_read {
                    None
                } else {
                    self.cache.get_item(&t.table_name, &kb).map(|h| h.value_bytes().cloned())
                };
                if cached.is_some() {
                    hits += 1;
                } else {
                    misses += 1;
                }
                keys.push((kb, cached));
            }
            if !t.consistent_read {
                self.meter.add(Counter::ItemCacheHits, hits);
                self.meter.add(Counter::ItemCacheMisses, misses);
            }
            tables.push(Table {
                name: t.table_name,
                schema,
                consistent: t.consistent_read,
                projection: t.projection,
                keys,
            });
        }
        let mut request = Map::new();
        for t in &tables {
            let missing: Vec<Value> = (t.keys.iter().filter(|(_, c)| c.is_none()))
                .map(|(kb, _)| Ok(item_to_json(&self.key(kb, &t.schema)?)))
                .collect::<Res<_>>()?;
            if missing.is_empty() {
                continue;
            }
            let mut entry = Map::new();
            entry.insert("Keys".into(), Value::Array(missing));
            if t.consistent {
                entry.insert("ConsistentRead".into(), Value::Bool(true));
            }
            request.insert(t.name.clone(), Value::Object(entry));
        }
        let mut unprocessed: Vec<(String, Vec<Vec<u8>>)> = Vec::new();
        let mut consumed = Vec::new();
        if !request.is_empty() {
            let stamp = self.stamp();
            let mut input = Map::new();
            input.insert("RequestItems".into(), Value::Object(request));
            put_opt(&mut input, "ReturnConsumedCapacity", rcc_json(b.return_consumed_capacity));
            let out = self.ddb(info, "BatchGetItem", Value::Object(input)).await?;
            consumed = convert::consumed_capacities(out.get("ConsumedCapacity"));
            for t in &mut tables {
                let mut found: HashMap<Vec<u8>, Arc<[u8]>> = HashMap::new();
                for v in out
                    .pointer(&format!("/Responses/{}", t.name.replace('~', "~0").replace('/', "~1")))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let item = convert::item(v)?;
                    found.insert(encode_key(&item, &t.schema)?, self.value_bytes(&item, &t.schema)?.into());
                }
                let mut skipped: HashSet<Vec<u8>> = HashSet::new();
                let up = out
                    .get("UnprocessedKeys")
                    .and_then(|u| u.get(&t.name))
                    .and_then(|u| u.get("Keys"))
                    .and_then(Value::as_array);
                for k in up.into_iter().flatten() {
                    skipped.insert(encode_key(&convert::item(k)?, &t.schema)?);
                }
                for (kb, slot) in &mut t.keys {
                    if slot.is_some() || skipped.contains(kb) {
                        continue;
                    }
                    let value = found.get(kb).cloned();
                    if !t.consistent {
                        self.remember(&t.name, kb, value.clone(), stamp);
                    }
                    *slot = Some(value);
                }
                if !skipped.is_empty() {
                    unprocessed.push((
                        t.name.clone(),
                        t.keys.iter().filter(|(kb, _)| skipped.contains(kb)).map(|(kb, _)| kb.clone()).collect(),
                    ));
                }
            }
        }
        let mut responses = Vec::with_capacity(tables.len());
        for t in tables {
            let present = t.keys.into_iter().filter_map(|(kb, slot)| match slot {
                Some(Some(value)) => Some((kb, value)),
                _ => None,
            });
            let items = match &t.projection {
                Some(p) => BatchGetItems::Projected(
                    present
                        .map(|(kb, v)| Ok(projection::project(p, &self.item_of(self.key(&kb, &t.schema)?, &v)?)))
                        .collect::<Res<Vec<_>>>()?,
                ),
                // The cached value bytes, shared, not copied.
                None => BatchGetItems::Shared(present.collect()),
            };
            responses.push((t.name, items));
        }
        Ok(encode_batch_get_response(&BatchGetResponse {
            responses,
            unprocessed_keys: unprocessed,
            consumed_capacity: consumed,
        }))
    }

    pub(super) async fn transact_get(&self, info: &ClusterInfo, t: TransactGetItemsRequest) -> Res<Vec<u8>> {
        for i in &t.items {
            i.projection.as_ref().map(projection::check).transpose()?;
        }
        let mut items = Vec::with_capacity(t.items.len());
        let mut schemas = Vec::with_capacity(t.items.len());
        for i in &t.items {
            let schema = self.schema(info, &i.table_name, "TransactGetItems").await?;
            let key = self.key(&i.key, &schema)?;
            let mut get = Map::new();
            get.insert("TableName".into(), str_v(&i.table_name));
            get.insert("Key".into(), item_to_json(&key));
            // DynamoDB's answer is projected here (see `projection`).
            if let Some(p) = &i.projection {
                let mut w = ExpressionWriter::new();
                get.insert("ProjectionExpression".into(), Value::String(w.projection(&projection::fetch(p))));
                finish_exprs(&mut get, &w);
            }
            items.push(json!({ "Get": Value::Object(get) }));
            schemas.push(schema);
        }
        let mut input = Map::new();
        input.insert("TransactItems".into(), Value::Array(items));
        put_opt(&mut input, "ReturnConsumedCapacity", rcc_json(t.return_consumed_capacity));
        let out = self.ddb(info, "TransactGetItems", Value::Object(input)).await?;
        let responses = out.get("Responses").and_then(Value::as_array).cloned().unwrap_or_default();
        let mut result = Vec::with_capacity(t.items.len());
        for (idx, i) in t.items.iter().enumerate() {
            let item = responses.get(idx).and_then(|r| r.get("Item")).map(convert::item).transpose()?;
            result.push(match item {
                Some(item) => match self.payload(&item, i.projection.as_ref(), &schemas[idx])? {
                    // DynamoDB omits the item when no path of the projection resolves
                    // (it may still have answered some for the wider projection asked).
                    ItemPayload::Projected(map) if map.is_empty() => None,
                    payload => Some(payload),
                },
                None => None,
            });
        }
        Ok(encode_transact_get_response(&TransactGetResponse {
            items: result,
            consumed_capacity: convert::extended_capacities(out.get("ConsumedCapacity")),
        }))
    }
}
