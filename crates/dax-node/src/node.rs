//! One node: its cache, and every request method, translated into DynamoDB calls made
//! through the [`Host`] and encoded back for the client.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use dax_wire::{
    assemble_item, decode_compound_key, decode_key, decode_value_bytes, encode_attribute_list,
    encode_attribute_list_id, encode_batch_get_response, encode_batch_write_response, encode_compound_key,
    encode_endpoints, encode_error, encode_item_response, encode_item_values, encode_key, encode_key_schema,
    encode_query_response, encode_transact_get_response, encode_transact_write_response, encode_updated_attributes,
    exception_codes, item_to_json, Attributes, BatchGetItemRequest, BatchGetItems, BatchGetResponse, BatchWrite,
    BatchWriteItemRequest, BatchWriteResponse, CancellationReason, DeleteItemRequest, Endpoint, ErrorExtra,
    ExpressionWriter, GetItemRequest, Item, ItemPayload, ItemResponse, KeySchema, Method, NodeRole,
    ProjectionExpression, PutItemRequest, QueryItem, QueryRequest, QueryResponse, Request, ReturnConsumedCapacity,
    ReturnItemCollectionMetrics, ReturnValues, ReturnValuesOnConditionCheckFailure, ScanRequest, Select,
    TransactGetItemsRequest, TransactGetResponse, TransactOperation, TransactWriteItemsRequest, TransactWriteResponse,
    UpdateAction, UpdateItemRequest, UNMAPPED_CODES,
};
use serde_json::{json, Map, Value};
use tokio::task::JoinHandle;

use crate::cache::NodeCache;
use crate::cluster::ClusterState;
use crate::convert::{self, put_opt};
use crate::fleet::NodeSpec;
use crate::host::{ClusterInfo, Host, NodeError, Principal};
use crate::metrics::{Counter, Meter};
use crate::projection;
use crate::FleetConfig;

/// What every node of a fleet shares.
pub(crate) struct Shared {
    pub host: Arc<dyn Host>,
    pub config: FleetConfig,
    /// What is left of [`FleetConfig::frame_buffer_bytes`], in KiB (see `conn::Drawn`).
    pub frame_budget: tokio::sync::Semaphore,
}

impl Shared {
    pub(crate) fn new(host: Arc<dyn Host>, config: FleetConfig) -> Self {
        let kib = usize::try_from(config.frame_buffer_bytes / 1024)
            .unwrap_or(usize::MAX)
            .min(tokio::sync::Semaphore::MAX_PERMITS);
        Shared { host, config, frame_budget: tokio::sync::Semaphore::new(kib) }
    }
}

/// A running node.
pub(crate) struct Node {
    pub id: String,
    /// The numeric node id of the roster (from the letters of the node id).
    pub num: u64,
    /// The advertised host name.
    pub host_name: String,
    pub port: u16,
    /// Whether it speaks TLS (`daxs://`).
    pub tls: bool,
    pub az: String,
    /// The [`NodeSpec::generation`] it was started for.
    pub generation: u64,
    pub cluster: Arc<ClusterState>,
    pub cache: NodeCache,
    pub meter: Meter,
    pub shared: Arc<Shared>,
    in_flight: AtomicUsize,
    pub(crate) task: Mutex<Option<JoinHandle<()>>>,
}

/// An error answer, with transaction cancellation reasons when there are some.
pub(crate) struct Fail {
    pub err: NodeError,
    pub reasons: Option<Vec<CancellationReason>>,
}

impl From<NodeError> for Fail {
    fn from(err: NodeError) -> Self {
        Fail { err, reasons: None }
    }
}

impl From<dax_wire::WireError> for Fail {
    fn from(e: dax_wire::WireError) -> Self {
        Fail { err: e.into(), reasons: None }
    }
}

type Res<T> = Result<T, Fail>;

/// An error frame for `e`: the exception's code sequence, the message, and
/// `[requestId, exceptionName, httpStatus(, reasons)]`.
pub(crate) fn error_frame(e: &NodeError, reasons: Option<&[CancellationReason]>) -> Vec<u8> {
    let codes = exception_codes(&e.code).map_or(UNMAPPED_CODES, |x| x.codes);
    encode_error(
        codes,
        &e.message,
        None,
        Some(e.status),
        &ErrorExtra { error_code: Some(&e.code), cancellation_reasons: reasons },
    )
}

/// How long an authorized `authorizeConnection` lasts (clients renew every 150 s to 225 s).
pub(crate) const AUTH_TTL: Duration = Duration::from_secs(600);
/// How long a connection trusts an allowed `dax:<Action>` before asking IAM again.
const ALLOW_TTL: Duration = Duration::from_secs(2);

/// Per-connection state.
pub(crate) struct Conn {
    pub principal: Option<(Principal, Instant)>,
    pub auth_error: Option<NodeError>,
    pub local_ip: IpAddr,
    /// The connection is TLS (`daxs://`): `aws:SecureTransport` of its authorizations.
    pub tls: bool,
    allowed: HashMap<(&'static str, Option<&'static str>), Instant>,
}

impl Conn {
    pub(crate) fn new(local_ip: IpAddr, tls: bool) -> Self {
        Conn { principal: None, auth_error: None, local_ip, tls, allowed: HashMap::new() }
    }
}

struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The numeric id of a node from the letters after the cluster name (`a` = 0, `z` = 25,
/// `aa` = 26, …).
pub(crate) fn node_number(node_id: &str) -> u64 {
    let letters = node_id.rsplit('-').next().unwrap_or_default();
    let mut n: u64 = 0;
    for b in letters.bytes() {
        if !b.is_ascii_lowercase() {
            return 0;
        }
        n = n.saturating_mul(26).saturating_add(u64::from(b - b'a') + 1);
    }
    n.saturating_sub(1)
}

fn rcc_json(r: ReturnConsumedCapacity) -> Option<Value> {
    (r != ReturnConsumedCapacity::None).then(|| Value::String(r.as_str().to_owned()))
}

fn ricm_json(r: ReturnItemCollectionMetrics) -> Option<Value> {
    (r != ReturnItemCollectionMetrics::None).then(|| Value::String(r.as_str().to_owned()))
}

fn finish_exprs(obj: &mut Map<String, Value>, w: &ExpressionWriter) {
    put_opt(obj, "ExpressionAttributeNames", w.names_json());
    put_opt(obj, "ExpressionAttributeValues", w.values_json());
}

fn str_v(s: &str) -> Value {
    Value::String(s.to_owned())
}

/// The DAX action a data request needs, and the sub-actions of transactions.
fn actions(req: &Request) -> Vec<(&'static str, Option<&'static str>)> {
    match req {
        Request::GetItem(_) => vec![("GetItem", None)],
        Request::PutItem(_) => vec![("PutItem", None)],
        Request::UpdateItem(_) => vec![("UpdateItem", None)],
        Request::DeleteItem(_) => vec![("DeleteItem", None)],
        Request::Query(_) => vec![("Query", None)],
        Request::Scan(_) => vec![("Scan", None)],
        Request::BatchGetItem(_) => vec![("BatchGetItem", None)],
        Request::BatchWriteItem(_) => vec![("BatchWriteItem", None)],
        Request::TransactGetItems(_) => vec![("GetItem", Some("TransactGetItems"))],
        Request::TransactWriteItems(t) => {
            let mut out: Vec<(&'static str, Option<&'static str>)> = Vec::new();
            for i in &t.items {
                let a = match i.operation {
                    TransactOperation::Put => "PutItem",
                    TransactOperation::Update => "UpdateItem",
                    TransactOperation::Delete => "DeleteItem",
                    TransactOperation::ConditionCheck => "ConditionCheckItem",
                };
                if !out.iter().any(|(x, _)| *x == a) {
                    out.push((a, Some("TransactWriteItems")));
                }
            }
            out
        }
        _ => Vec::new(),
    }
}

impl Node {
    pub(crate) fn new(spec: &NodeSpec, cluster: Arc<ClusterState>, cache_bytes: u64, shared: Arc<Shared>) -> Self {
        let meter = Meter { node: Arc::default(), cluster: Arc::clone(&cluster.metrics) };
        Node {
            id: spec.node_id.clone(),
            num: node_number(&spec.node_id),
            host_name: spec.host.clone(),
            port: spec.port,
            tls: spec.tls,
            az: spec.availability_zone.clone(),
            generation: spec.generation,
            cache: NodeCache::with_clock(
                cache_bytes,
                meter.clone(),
                shared.config.clock.clone(),
                crate::cache::EVICTED_SLOTS,
            ),
            cluster,
            meter,
            shared,
            in_flight: AtomicUsize::new(0),
            task: Mutex::new(None),
        }
    }

    /// Stop the listener and every connection.
    pub(crate) fn stop(&self) {
        if let Some(t) = self.task.lock().unwrap_or_else(PoisonError::into_inner).take() {
            t.abort();
        }
    }

    fn limits(&self) -> dax_wire::Limits {
        self.shared.config.limits
    }

    /// One request → its answer (`None` for `authorizeConnection`, which is never answered).
    pub(crate) async fn handle(self: &Arc<Self>, conn: &mut Conn, req: Request) -> Option<Vec<u8>> {
        let info = self.cluster.info();
        if let Request::AuthorizeConnection(a) = &req {
            match self.shared.host.authenticate(a, &info) {
                Ok(p) => {
                    conn.principal = Some((p, Instant::now()));
                    conn.auth_error = None;
                    conn.allowed.clear();
                }
                Err(e) => {
                    tracing::debug!(node = %self.id, error = %e, "authorizeConnection refused");
                    conn.principal = None;
                    conn.auth_error = Some(e);
                }
            }
            return None;
        }
        let principal = match &conn.principal {
            Some((p, at)) if at.elapsed() < AUTH_TTL => p.clone(),
            _ => {
                let e = conn.auth_error.clone().unwrap_or_else(|| {
                    NodeError::new(
                        "AuthenticationRequiredException",
                        "The connection has not been authorized: send authorizeConnection first",
                        400,
                    )
                });
                let e = NodeError {
                    code: if exception_codes(&e.code).is_some() {
                        e.code
                    } else {
                        "UnrecognizedClientException".into()
                    },
                    ..e
                };
                if Counter::request_count(req.method()).is_some() {
                    self.meter.inc(Counter::ErrorRequestCount);
                }
                return Some(error_frame(&e, None));
            }
        };
        let out = match req {
            Request::Endpoints => Ok(self.endpoints(conn.local_ip)),
            // A client asks for the key schema before its first read or write of a table,
            // so a table DynamoDB refuses is reported here, in the words DynamoDB uses for
            // a single-table read (DynamoDB's DescribeTable words it the same way; the
            // engine's DescribeTable does not).
            Request::DefineKeySchema { table_name } => {
                self.schema(&info, &table_name, "GetItem").await.map(|s| encode_key_schema(&s)).map_err(Fail::from)
            }
            Request::DefineAttributeListId { attribute_names } => {
                self.cluster.attribute_list_id(&attribute_names).map(encode_attribute_list_id).map_err(Fail::from)
            }
            Request::DefineAttributeList { attribute_list_id } => {
                match self.cluster.attribute_list(attribute_list_id) {
                    Some(names) => Ok(encode_attribute_list(&names)),
                    None => Err(NodeError::validation(format!("Unknown attribute list id {attribute_list_id}")).into()),
                }
            }
            data => return Some(self.data(conn, &info, &principal, data).await),
        };
        Some(out.unwrap_or_else(|f| error_frame(&f.err, f.reasons.as_deref())))
    }

    /// The `endpoints` answer: every running node of the cluster, at the address this
    /// connection reached (all nodes listen on the same host).
    fn endpoints(&self, local_ip: IpAddr) -> Vec<u8> {
        let (nodes, leader, session) = self.cluster.roster_view();
        let list: Vec<Endpoint> = nodes
            .iter()
            .map(|n| Endpoint {
                node_id: n.num,
                hostname: n.host_name.clone(),
                address: local_ip,
                port: n.port,
                role: if leader.as_deref() == Some(n.id.as_str()) { NodeRole::Leader } else { NodeRole::Replica },
                availability_zone: n.az.clone(),
                leader_session_id: session,
            })
            .collect();
        encode_endpoints(&list)
    }

    async fn data(self: &Arc<Self>, conn: &mut Conn, info: &ClusterInfo, who: &Principal, req: Request) -> Vec<u8> {
        let method = req.method();
        self.meter.inc(Counter::TotalRequestCount);
        if let Some(c) = Counter::request_count(method) {
            self.meter.inc(c);
        }
        let max = self.shared.config.max_in_flight;
        if self.in_flight.fetch_add(1, Ordering::AcqRel) >= max {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            self.meter.inc(Counter::ThrottledRequestCount);
            self.meter.inc(Counter::ErrorRequestCount);
            return error_frame(
                &NodeError::throttling(format!("Node {} has too many requests in flight ({max})", self.id)),
                None,
            );
        }
        let _guard = InFlight(&self.in_flight);
        let result = self.data_inner(conn, info, who, req).await;
        match result {
            Ok(b) => b,
            Err(f) => {
                if f.err.status >= 500 {
                    self.meter.inc(Counter::FaultRequestCount);
                } else {
                    self.meter.inc(Counter::ErrorRequestCount);
                }
                if f.err.code == "ThrottlingException" || f.err.code == "ProvisionedThroughputExceededException" {
                    self.meter.inc(Counter::ThrottledRequestCount);
                }
                tracing::debug!(node = %self.id, method = method.name(), error = %f.err, "request failed");
                error_frame(&f.err, f.reasons.as_deref())
            }
        }
    }

    async fn data_inner(
        self: &Arc<Self>,
        conn: &mut Conn,
        info: &ClusterInfo,
        who: &Principal,
        req: Request,
    ) -> Res<Vec<u8>> {
        for (action, enclosing) in actions(&req) {
            let key = (action, enclosing);
            if conn.allowed.get(&key).is_some_and(|at| at.elapsed() < ALLOW_TTL) {
                continue;
            }
            self.shared.host.authorize(who, action, info, enclosing, conn.tls)?;
            conn.allowed.insert(key, Instant::now());
        }
        let (record_ms, query_ms) = self.shared.host.ttls(info);
        self.cache.set_ttls(record_ms, query_ms);
        match req {
            Request::GetItem(g) => self.get_item(info, g).await,
            Request::Query(q) => self.query(info, q).await,
            Request::Scan(s) => self.scan(info, s).await,
            Request::BatchGetItem(b) => self.batch_get(info, b).await,
            Request::TransactGetItems(t) => self.transact_get(info, t).await,
            write @ (Request::PutItem(_)
            | Request::UpdateItem(_)
            | Request::DeleteItem(_)
            | Request::BatchWriteItem(_)
            | Request::TransactWriteItems(_)) => {
                // Writes reach DynamoDB through the primary; a replica forwards them.
                let exec = self.cluster.leader().unwrap_or_else(|| Arc::clone(self));
                exec.write(info, write).await
            }
            other => Err(NodeError::new(
                "NotImplementedException",
                format!("{} is not a data method", other.method().name()),
                400,
            )
            .into()),
        }
    }

    async fn write(self: &Arc<Self>, info: &ClusterInfo, req: Request) -> Res<Vec<u8>> {
        match req {
            Request::PutItem(p) => self.put_item(info, p).await,
            Request::UpdateItem(u) => self.update_item(info, u).await,
            Request::DeleteItem(d) => self.delete_item(info, d).await,
            Request::BatchWriteItem(b) => self.batch_write(info, b).await,
            Request::TransactWriteItems(t) => self.transact_write(info, t).await,
            other => Err(NodeError::internal(format!("{} is not a write", other.method().name())).into()),
        }
    }

    // ---- helpers ---------------------------------------------------------------------------

    async fn ddb(&self, info: &ClusterInfo, op: &str, input: Value) -> Result<Value, NodeError> {
        self.shared.host.dynamodb(info, op, input).await
    }

    /// A write to DynamoDB. When it fails with a server-side error (a 5xx, a timeout, a
    /// broken exchange), DynamoDB may or may not have applied it: the cached entries of the
    /// keys it touches can no longer be trusted, so they are dropped here and on every node.
    async fn ddb_write<'k>(
        &self,
        info: &ClusterInfo,
        op: &str,
        input: Value,
        keys: impl IntoIterator<Item = (&'k str, &'k [u8])>,
    ) -> Result<Value, NodeError> {
        let result = self.ddb(info, op, input).await;
        if let Err(e) = &result {
            if e.status >= 500 {
                for (table, key) in keys {
                    self.forget(table, key);
                }
            }
        }
        result
    }

    /// The table's key schema (DescribeTable as the cluster's role, cached per cluster),
    /// for the client's operation `op`.
    ///
    /// When DynamoDB refuses the table (a name it does not accept, a table that does not
    /// exist), the client must get the error of the operation it called, not
    /// DescribeTable's (their messages differ): the node asks DynamoDB again with `op`
    /// naming only the table ([`table_probe`]), and answers with that call's error.
    async fn schema(&self, info: &ClusterInfo, table: &str, op: &'static str) -> Result<Arc<KeySchema>, NodeError> {
        if let Some(s) = self.cluster.cached_schema(table) {
            return Ok(s);
        }
        match self.ddb(info, "DescribeTable", json!({ "TableName": table })).await {
            Ok(out) => Ok(self.cluster.store_schema(table, convert::key_schema(&out)?)),
            Err(e) => {
                self.cluster.forget_schema(table);
                let refused = matches!(e.code.as_str(), "ValidationException" | "ResourceNotFoundException");
                match table_probe(op, table) {
                    Some(probe) if refused => match self.ddb(info, op, probe).await {
                        Err(own) => Err(own),
                        Ok(_) => Err(e),
                    },
                    _ => Err(e),
                }
            }
        }
    }

    fn key(&self, bytes: &[u8], schema: &KeySchema) -> Res<Item> {
        Ok(decode_key(bytes, schema, &self.limits())?)
    }

    /// The full item of a put: the key, plus the attributes of the value bytes.
    fn item_of(&self, key: Item, value: &[u8]) -> Res<Item> {
        let (id, values) = decode_value_bytes(value, &self.limits())?;
        let names = self
            .cluster
            .attribute_list(id)
            .ok_or_else(|| NodeError::validation(format!("Unknown attribute list id {id}")))?;
        let mut item = assemble_item(&names, values)?;
        item.extend(key);
        Ok(item)
    }

    /// Value bytes of an item's non-key attributes.
    fn value_bytes(&self, item: &Item, schema: &KeySchema) -> Res<Vec<u8>> {
        let names = schema.non_key_attribute_names(item);
        let id = self.cluster.attribute_list_id(&names)?;
        Ok(encode_item_values(item, &names, id)?)
    }

    fn payload(&self, item: &Item, projection: Option<&ProjectionExpression>, schema: &KeySchema) -> Res<ItemPayload> {
        Ok(match projection {
            Some(p) => ItemPayload::Projected(projection::project(p, item)),
            None => ItemPayload::Values(self.value_bytes(item, schema)?),
        })
    }

    /// The answer for a cached item: its value bytes as they are, or, for a projection,
    /// the item decoded from them and its key bytes.
    fn cached_payload(
        &self,
        value: &[u8],
        kb: &[u8],
        projection: Option<&ProjectionExpression>,
        schema: &KeySchema,
    ) -> Res<ItemPayload> {
        Ok(match projection {
            Some(p) => ItemPayload::Projected(projection::project(p, &self.item_of(self.key(kb, schema)?, value)?)),
            None => ItemPayload::Values(value.to_vec()),
        })
    }

    /// Updated-attribute bytes (`UPDATED_OLD` / `UPDATED_NEW`).
    fn updated_bytes(&self, attrs: &Item) -> Res<Vec<u8>> {
        let names: Vec<String> = attrs.keys().cloned().collect();
        let id = self.cluster.attribute_list_id(&names)?;
        let values = attrs.values().enumerate().map(|(i, v)| (i as u64, v.clone())).collect::<Vec<_>>();
        Ok(encode_updated_attributes(id, &values))
    }

    /// Apply `f` to this node's cache now and, asynchronously, to every other node's.
    fn everywhere(&self, f: impl Fn(&NodeCache) + Send + 'static) {
        f(&self.cache);
        let others: Vec<Arc<Node>> = self.cluster.nodes().into_iter().filter(|n| n.id != self.id).collect();
        if others.is_empty() {
            return;
        }
        tokio::spawn(async move {
            for n in others {
                f(&n.cache);
            }
        });
    }

    /// A replication sequence number and the time, taken together: before a read goes to
    /// DynamoDB, after a write came back from it.
    fn stamp(&self) -> Stamp {
        Stamp { seq: self.cluster.next_seq(), at: self.cache.now() }
    }

    /// Cache an item's value bytes (or a negative entry) here and on every other node,
    /// stamped with `at` (the entry's age counts from then) and sequence number `seq` (a
    /// newer entry is never replaced by an older one).
    fn remember(&self, table: &str, key: &[u8], value: Option<Arc<[u8]>>, Stamp { seq, at }: Stamp) {
        let (table, key) = (table.to_owned(), key.to_vec());
        self.everywhere(move |c| c.put_item(&table, &key, value.clone(), seq, at));
    }

    /// Cache the item DynamoDB now holds after a write (`None`: it is gone); if it cannot
    /// be encoded, drop the entry instead.
    fn remember_item(&self, table: &str, key: &[u8], item: Option<&Item>, schema: &KeySchema, stamp: Stamp) {
        match item.map(|i| self.value_bytes(i, schema)).transpose() {
            Ok(value) => self.remember(table, key, value.map(Arc::from), stamp),
            Err(_) => self.forget(table, key),
        }
    }

    /// Drop an item entry here and on every other node (older reads stay out of it).
    fn forget(&self, table: &str, key: &[u8]) {
        let (table, key, seq) = (table.to_owned(), key.to_vec(), self.cluster.next_seq());
        self.everywhere(move |c| c.invalidate_item(&table, &key, seq));
    }

    // ---- reads -----------------------------------------------------------------------------

    async fn get_item(&self, info: &ClusterInfo, g: GetItemRequest) -> Res<Vec<u8>> {
        g.projection.as_ref().map(projection::check).transpose()?;
        let schema = self.schema(info, &g.table_name, "GetItem").await?;
        let key = self.key(&g.key, &schema)?;
        let kb = encode_key(&key, &schema)?;
        if !g.consistent_read {
            if let Some(hit) = self.cache.get_item(&g.table_name, &kb) {
                self.meter.inc(Counter::ItemCacheHits);
                let item = hit
                    .value_bytes()
                    .map(|v| self.cached_payload(v, &kb, g.projection.as_ref(), &schema))
                    .transpose()?;
                return Ok(encode_item_response(&ItemResponse { item, ..ItemResponse::default() }));
            }
            self.meter.inc(Counter::ItemCacheMisses);
        }
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

    async fn query(&self, info: &ClusterInfo, q: QueryRequest) -> Res<Vec<u8>> {
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

    async fn scan(&self, info: &ClusterInfo, s: ScanRequest) -> Res<Vec<u8>> {
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

    async fn batch_get(&self, info: &ClusterInfo, b: BatchGetItemRequest) -> Res<Vec<u8>> {
        /// A requested key: canonical key bytes, the key, and the item's value bytes once
        /// known (`Some(None)`: it does not exist).
        type Slot = (Vec<u8>, Item, Option<Option<Arc<[u8]>>>);
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
        for t in b.tables {
            let schema = self.schema(info, &t.table_name, "BatchGetItem").await?;
            let mut keys = Vec::with_capacity(t.keys.len());
            for k in &t.keys {
                let key = self.key(k, &schema)?;
                let kb = encode_key(&key, &schema)?;
                let cached = if t.consistent_read {
                    None
                } else {
                    self.cache.get_item(&t.table_name, &kb).map(|h| h.value_bytes().cloned())
                };
                if !t.consistent_read {
                    self.meter.inc(if cached.is_some() { Counter::ItemCacheHits } else { Counter::ItemCacheMisses });
                }
                keys.push((kb, key, cached));
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
            let missing: Vec<Value> =
                t.keys.iter().filter(|(_, _, c)| c.is_none()).map(|(_, k, _)| item_to_json(k)).collect();
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
                for (kb, _, slot) in &mut t.keys {
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
                        t.keys.iter().filter(|(kb, _, _)| skipped.contains(kb)).map(|(kb, _, _)| kb.clone()).collect(),
                    ));
                }
            }
        }
        let mut responses = Vec::with_capacity(tables.len());
        for t in &tables {
            let present = t.keys.iter().filter_map(|(kb, key, slot)| match slot {
                Some(Some(value)) => Some((kb, key, value)),
                _ => None,
            });
            let items = match &t.projection {
                Some(p) => BatchGetItems::Projected(
                    present
                        .map(|(_, key, v)| Ok(projection::project(p, &self.item_of(key.clone(), v)?)))
                        .collect::<Res<Vec<_>>>()?,
                ),
                None => BatchGetItems::Full(present.map(|(kb, _, v)| (kb.clone(), v.to_vec())).collect()),
            };
            responses.push((t.name.clone(), items));
        }
        Ok(encode_batch_get_response(&BatchGetResponse {
            responses,
            unprocessed_keys: unprocessed,
            consumed_capacity: consumed,
        }))
    }

    async fn transact_get(&self, info: &ClusterInfo, t: TransactGetItemsRequest) -> Res<Vec<u8>> {
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

    // ---- writes (run on the primary) -------------------------------------------------------

    fn write_response(&self, out: &Value, attributes: Option<Attributes>) -> Vec<u8> {
        encode_item_response(&ItemResponse {
            item: None,
            attributes,
            consumed_capacity: out.get("ConsumedCapacity").and_then(convert::consumed_capacity),
            item_collection_metrics: out.get("ItemCollectionMetrics").and_then(convert::item_collection_metrics),
        })
    }

    fn old_image(&self, out: &Value, schema: &KeySchema) -> Res<Option<Attributes>> {
        match out.get("Attributes") {
            Some(a) => Ok(Some(Attributes::Item(self.value_bytes(&convert::item(a)?, schema)?))),
            None => Ok(None),
        }
    }

    async fn put_item(&self, info: &ClusterInfo, p: PutItemRequest) -> Res<Vec<u8>> {
        let schema = self.schema(info, &p.table_name, "PutItem").await?;
        let key = self.key(&p.key, &schema)?;
        let kb = encode_key(&key, &schema)?;
        let item = self.item_of(key, &p.value)?;
        let mut input = Map::new();
        input.insert("TableName".into(), str_v(&p.table_name));
        input.insert("Item".into(), item_to_json(&item));
        let mut w = ExpressionWriter::new();
        if let Some(c) = &p.condition {
            input.insert("ConditionExpression".into(), Value::String(w.condition(c, "c")));
        }
        finish_exprs(&mut input, &w);
        if p.return_values != ReturnValues::None {
            input.insert("ReturnValues".into(), str_v(p.return_values.as_str()));
        }
        put_opt(&mut input, "ReturnConsumedCapacity", rcc_json(p.return_consumed_capacity));
        put_opt(&mut input, "ReturnItemCollectionMetrics", ricm_json(p.return_item_collection_metrics));
        let out =
            self.ddb_write(info, "PutItem", Value::Object(input), [(p.table_name.as_str(), kb.as_slice())]).await?;
        self.remember_item(&p.table_name, &kb, Some(&item), &schema, self.stamp());
        let attrs = self.old_image(&out, &schema)?;
        Ok(self.write_response(&out, attrs))
    }

    async fn delete_item(&self, info: &ClusterInfo, d: DeleteItemRequest) -> Res<Vec<u8>> {
        let schema = self.schema(info, &d.table_name, "DeleteItem").await?;
        let key = self.key(&d.key, &schema)?;
        let kb = encode_key(&key, &schema)?;
        let mut input = Map::new();
        input.insert("TableName".into(), str_v(&d.table_name));
        input.insert("Key".into(), item_to_json(&key));
        let mut w = ExpressionWriter::new();
        if let Some(c) = &d.condition {
            input.insert("ConditionExpression".into(), Value::String(w.condition(c, "c")));
        }
        finish_exprs(&mut input, &w);
        if d.return_values != ReturnValues::None {
            input.insert("ReturnValues".into(), str_v(d.return_values.as_str()));
        }
        put_opt(&mut input, "ReturnConsumedCapacity", rcc_json(d.return_consumed_capacity));
        put_opt(&mut input, "ReturnItemCollectionMetrics", ricm_json(d.return_item_collection_metrics));
        let out =
            self.ddb_write(info, "DeleteItem", Value::Object(input), [(d.table_name.as_str(), kb.as_slice())]).await?;
        self.remember(&d.table_name, &kb, None, self.stamp());
        let attrs = self.old_image(&out, &schema)?;
        Ok(self.write_response(&out, attrs))
    }

    async fn update_item(&self, info: &ClusterInfo, u: UpdateItemRequest) -> Res<Vec<u8>> {
        let schema = self.schema(info, &u.table_name, "UpdateItem").await?;
        let key = self.key(&u.key, &schema)?;
        let kb = encode_key(&key, &schema)?;
        let asked = u.return_values;
        // To cache the new image, ask DynamoDB for all of it whenever the answer can be
        // cut down from it; the client gets exactly what it asked for.
        let sent = match asked {
            ReturnValues::None | ReturnValues::AllNew | ReturnValues::UpdatedNew => ReturnValues::AllNew,
            other => other,
        };
        let mut input = Map::new();
        input.insert("TableName".into(), str_v(&u.table_name));
        input.insert("Key".into(), item_to_json(&key));
        let mut w = ExpressionWriter::new();
        if let Some(x) = &u.update {
            input.insert("UpdateExpression".into(), Value::String(w.update(x, "u")));
        }
        if let Some(c) = &u.condition {
            input.insert("ConditionExpression".into(), Value::String(w.condition(c, "c")));
        }
        finish_exprs(&mut input, &w);
        input.insert("ReturnValues".into(), str_v(sent.as_str()));
        put_opt(&mut input, "ReturnConsumedCapacity", rcc_json(u.return_consumed_capacity));
        put_opt(&mut input, "ReturnItemCollectionMetrics", ricm_json(u.return_item_collection_metrics));
        let out =
            self.ddb_write(info, "UpdateItem", Value::Object(input), [(u.table_name.as_str(), kb.as_slice())]).await?;
        let returned = out.get("Attributes").map(convert::item).transpose()?;
        let attrs = if sent == ReturnValues::AllNew {
            let new = returned.unwrap_or_else(|| key.clone());
            let answer = match asked {
                ReturnValues::AllNew => Some(Attributes::Item(self.value_bytes(&new, &schema)?)),
                ReturnValues::UpdatedNew => {
                    let paths: Vec<_> = u
                        .update
                        .iter()
                        .flat_map(|x| x.actions.iter())
                        .map(|a| match a {
                            UpdateAction::Set(p, _) | UpdateAction::Add(p, _) | UpdateAction::Delete(p, _) => p.clone(),
                            UpdateAction::Remove(p) => p.clone(),
                        })
                        .collect();
                    let part = convert::updated_part(&new, &paths);
                    (!part.is_empty()).then(|| self.updated_bytes(&part)).transpose()?.map(Attributes::Updated)
                }
                _ => None,
            };
            self.remember_item(&u.table_name, &kb, Some(&new), &schema, self.stamp());
            answer
        } else {
            // ALL_OLD / UPDATED_OLD: the new image is not known here; the next read fetches it.
            self.forget(&u.table_name, &kb);
            match (asked, returned) {
                (ReturnValues::AllOld, Some(old)) => Some(Attributes::Item(self.value_bytes(&old, &schema)?)),
                (ReturnValues::UpdatedOld, Some(old)) if !old.is_empty() => {
                    Some(Attributes::Updated(self.updated_bytes(&old)?))
                }
                _ => None,
            }
        };
        Ok(self.write_response(&out, attrs))
    }

    async fn batch_write(&self, info: &ClusterInfo, b: BatchWriteItemRequest) -> Res<Vec<u8>> {
        struct W {
            table: String,
            kb: Vec<u8>,
            item: Option<Item>,
            schema: Arc<KeySchema>,
        }
        let mut request = Map::new();
        let mut writes = Vec::new();
        let mut schemas: HashMap<String, Arc<KeySchema>> = HashMap::new();
        for t in b.tables {
            let schema = self.schema(info, &t.table_name, "BatchWriteItem").await?;
            let mut list = Vec::with_capacity(t.writes.len());
            for wr in t.writes {
                match wr {
                    BatchWrite::Put { key, value } => {
                        let k = self.key(&key, &schema)?;
                        let kb = encode_key(&k, &schema)?;
                        let item = self.item_of(k, &value)?;
                        list.push(json!({ "PutRequest": { "Item": item_to_json(&item) } }));
                        writes.push(W {
                            table: t.table_name.clone(),
                            kb,
                            item: Some(item),
                            schema: Arc::clone(&schema),
                        });
                    }
                    BatchWrite::Delete { key } => {
                        let k = self.key(&key, &schema)?;
                        let kb = encode_key(&k, &schema)?;
                        list.push(json!({ "DeleteRequest": { "Key": item_to_json(&k) } }));
                        writes.push(W { table: t.table_name.clone(), kb, item: None, schema: Arc::clone(&schema) });
                    }
                }
            }
            request.insert(t.table_name.clone(), Value::Array(list));
            schemas.insert(t.table_name, schema);
        }
        let mut input = Map::new();
        input.insert("RequestItems".into(), Value::Object(request));
        put_opt(&mut input, "ReturnConsumedCapacity", rcc_json(b.return_consumed_capacity));
        put_opt(&mut input, "ReturnItemCollectionMetrics", ricm_json(b.return_item_collection_metrics));
        let out = self
            .ddb_write(
                info,
                "BatchWriteItem",
                Value::Object(input),
                writes.iter().map(|w| (w.table.as_str(), w.kb.as_slice())),
            )
            .await?;
        // Only the writes DynamoDB did (not those handed back unprocessed) touch the cache.
        let mut skipped: HashSet<(String, Vec<u8>)> = HashSet::new();
        let mut unprocessed = Vec::new();
        for (table, list) in out.get("UnprocessedItems").and_then(Value::as_object).into_iter().flatten() {
            let Some(schema) = schemas.get(table) else { continue };
            let mut back = Vec::new();
            for w in list.as_array().into_iter().flatten() {
                if let Some(item) = w.pointer("/PutRequest/Item") {
                    let item = convert::item(item)?;
                    let kb = encode_key(&item, schema)?;
                    back.push((kb.clone(), Some(self.value_bytes(&item, schema)?)));
                    skipped.insert((table.clone(), kb));
                } else if let Some(key) = w.pointer("/DeleteRequest/Key") {
                    let kb = encode_key(&convert::item(key)?, schema)?;
                    back.push((kb.clone(), None));
                    skipped.insert((table.clone(), kb));
                }
            }
            if !back.is_empty() {
                unprocessed.push((table.clone(), back));
            }
        }
        let stamp = self.stamp();
        for w in writes {
            if skipped.contains(&(w.table.clone(), w.kb.clone())) {
                continue;
            }
            self.remember_item(&w.table, &w.kb, w.item.as_ref(), &w.schema, stamp);
        }
        Ok(encode_batch_write_response(&BatchWriteResponse {
            unprocessed_items: unprocessed,
            consumed_capacity: convert::consumed_capacities(out.get("ConsumedCapacity")),
            item_collection_metrics: convert::item_collection_map(out.get("ItemCollectionMetrics")),
        }))
    }

    async fn transact_write(self: &Arc<Self>, info: &ClusterInfo, t: TransactWriteItemsRequest) -> Res<Vec<u8>> {
        let mut items = Vec::with_capacity(t.items.len());
        let mut written: Vec<Written> = Vec::new();
        let mut schemas = Vec::with_capacity(t.items.len());
        for i in &t.items {
            let schema = self.schema(info, &i.table_name, "TransactWriteItems").await?;
            let key = self.key(&i.key, &schema)?;
            let kb = encode_key(&key, &schema)?;
            let mut body = Map::new();
            body.insert("TableName".into(), str_v(&i.table_name));
            let mut w = ExpressionWriter::new();
            match i.operation {
                TransactOperation::Put => {
                    let value = i
                        .value
                        .as_deref()
                        .ok_or_else(|| NodeError::validation("A Put in TransactItems needs an item"))?;
                    body.insert("Item".into(), item_to_json(&self.item_of(key.clone(), value)?));
                }
                _ => {
                    body.insert("Key".into(), item_to_json(&key));
                }
            }
            if let Some(u) = &i.update {
                body.insert("UpdateExpression".into(), Value::String(w.update(u, "u")));
            }
            if let Some(c) = &i.condition {
                body.insert("ConditionExpression".into(), Value::String(w.condition(c, "c")));
            }
            finish_exprs(&mut body, &w);
            if i.return_values_on_condition_check_failure == ReturnValuesOnConditionCheckFailure::AllOld {
                body.insert("ReturnValuesOnConditionCheckFailure".into(), str_v("ALL_OLD"));
            }
            items.push(json!({ i.operation.as_str(): Value::Object(body) }));
            if i.operation != TransactOperation::ConditionCheck {
                written.push((i.table_name.clone(), kb, key, Arc::clone(&schema)));
            }
            schemas.push(schema);
        }
        let mut input = Map::new();
        input.insert("TransactItems".into(), Value::Array(items));
        if let Some(tok) = &t.client_request_token {
            input.insert("ClientRequestToken".into(), str_v(tok));
        }
        put_opt(&mut input, "ReturnConsumedCapacity", rcc_json(t.return_consumed_capacity));
        put_opt(&mut input, "ReturnItemCollectionMetrics", ricm_json(t.return_item_collection_metrics));
        let touched = written.iter().map(|(table, kb, _, _)| (table.as_str(), kb.as_slice()));
        let out = match self.ddb_write(info, "TransactWriteItems", Value::Object(input), touched).await {
            Ok(out) => out,
            Err(e) => {
                let reasons = self.cancellation_reasons(&e, &schemas);
                return Err(Fail { err: NodeError { extra: None, ..e }, reasons });
            }
        };
        // What the transaction wrote is not in the answer: drop the entries now, and read
        // the items back in the background (TransactGetItems) to refresh the item cache.
        for (table, kb, _, _) in &written {
            self.forget(table, kb);
        }
        let node = Arc::clone(self);
        let info = info.clone();
        tokio::spawn(async move { node.refresh(&info, written).await });
        Ok(encode_transact_write_response(&TransactWriteResponse {
            consumed_capacity: convert::extended_capacities(out.get("ConsumedCapacity")),
            item_collection_metrics: convert::item_collection_map(out.get("ItemCollectionMetrics")),
        }))
    }

    fn cancellation_reasons(&self, e: &NodeError, schemas: &[Arc<KeySchema>]) -> Option<Vec<CancellationReason>> {
        let list = e.extra.as_ref()?.get("CancellationReasons")?.as_array()?;
        Some(
            list.iter()
                .enumerate()
                .map(|(i, r)| CancellationReason {
                    code: r.get("Code").and_then(Value::as_str).map(str::to_owned),
                    message: r.get("Message").and_then(Value::as_str).map(str::to_owned),
                    item: r
                        .get("Item")
                        .and_then(|v| convert::item(v).ok())
                        .and_then(|item| schemas.get(i).and_then(|s| self.value_bytes(&item, s).ok())),
                })
                .collect(),
        )
    }

    /// Background refresh after TransactWriteItems: read the written items back with a
    /// TransactGetItems (serializable), in chunks of 100, and cache what it returns.
    async fn refresh(&self, info: &ClusterInfo, written: Vec<Written>) {
        for chunk in written.chunks(100) {
            let stamp = self.stamp();
            let gets: Vec<Value> =
                chunk.iter().map(|(t, _, k, _)| json!({ "Get": { "TableName": t, "Key": item_to_json(k) } })).collect();
            match self.ddb(info, "TransactGetItems", json!({ "TransactItems": gets })).await {
                Ok(out) => {
                    let responses = out.get("Responses").and_then(Value::as_array).cloned().unwrap_or_default();
                    for (i, (table, kb, _, schema)) in chunk.iter().enumerate() {
                        let item = responses.get(i).and_then(|r| r.get("Item")).and_then(|v| convert::item(v).ok());
                        self.remember_item(table, kb, item.as_ref(), schema, stamp);
                    }
                }
                Err(e) => tracing::debug!(node = %self.id, error = %e, "refreshing items after TransactWriteItems"),
            }
        }
    }
}

/// What a cache entry is stamped with: see [`Node::stamp`].
#[derive(Clone, Copy)]
struct Stamp {
    seq: u64,
    at: Instant,
}

/// An item a transaction wrote: table, key bytes, key, the table's key schema.
type Written = (String, Vec<u8>, Item, Arc<KeySchema>);

/// The method of a frame the codec refused, for counting.
pub(crate) fn is_data(method: Method) -> bool {
    Counter::request_count(method).is_some()
}

/// A request for `op` that names only `table` (its key or item empty): what DynamoDB
/// answers for a table it refuses, in that operation's words. `None` for an operation
/// the node does not look schemas up for.
fn table_probe(op: &str, table: &str) -> Option<Value> {
    Some(match op {
        "GetItem" | "UpdateItem" | "DeleteItem" => json!({ "TableName": table, "Key": {} }),
        "PutItem" => json!({ "TableName": table, "Item": {} }),
        "Query" | "Scan" => json!({ "TableName": table }),
        "BatchGetItem" => json!({ "RequestItems": { table: { "Keys": [{}] } } }),
        "BatchWriteItem" => json!({ "RequestItems": { table: [{ "PutRequest": { "Item": {} } }] } }),
        "TransactGetItems" => json!({ "TransactItems": [{ "Get": { "TableName": table, "Key": {} } }] }),
        "TransactWriteItems" => json!({ "TransactItems": [{ "Put": { "TableName": table, "Item": {} } }] }),
        _ => return None,
    })
}
