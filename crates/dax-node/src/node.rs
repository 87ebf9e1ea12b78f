//! One node: its cache, and the dispatch of every request method: the connection's
//! authentication and authorization ([`crate::session`]), the control methods answered
//! here, and the data methods translated into DynamoDB calls made through the [`Host`]
//! ([`read`](mod@read) and [`write`](mod@write)) and encoded back for the client. The
//! helpers they share (key schemas, keys and values, the cache of every node of the
//! cluster) are here too.

mod read;
mod write;

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use dax_wire::{
    assemble_item, decode_key, decode_value_bytes, encode_attribute_list, encode_attribute_list_id, encode_endpoints,
    encode_error, encode_item_values, encode_key_schema, encode_updated_attributes, exception_codes,
    CancellationReason, Endpoint, ErrorExtra, ExpressionWriter, Item, ItemPayload, KeySchema, Method, NodeRole,
    ProjectionExpression, Request, ReturnConsumedCapacity, ReturnItemCollectionMetrics, UNMAPPED_CODES,
};
use serde_json::{json, Map, Value};
use tokio::task::JoinHandle;

use crate::cache::NodeCache;
use crate::cluster::{ClusterState, Member};
use crate::config::FleetConfig;
use crate::convert::{self, put_opt};
use crate::faults::NodeFaults;
use crate::host::{ClusterInfo, Host, NodeError, NodeSpec, Principal};
use crate::metrics::{Counter, Meter};
use crate::projection;
use crate::replication::CacheUpdate;
use crate::session::Session;

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

/// The shared state of a cluster of running nodes.
pub(crate) type Cluster = ClusterState<Node>;

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
    pub cluster: Arc<Cluster>,
    pub cache: NodeCache,
    pub meter: Meter,
    pub shared: Arc<Shared>,
    /// Faults injected on command ([`crate::Fleet::inject`]).
    pub faults: NodeFaults,
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
    // Unreachable's 503 tells the session it is not a verdict; clients get the status of
    // any `InternalServerError`.
    let status = if e.is_unreachable() { 500 } else { e.status };
    encode_error(
        codes,
        &e.message,
        None,
        Some(status),
        &ErrorExtra { error_code: Some(&e.code), cancellation_reasons: reasons },
    )
}

impl Member for Node {
    fn id(&self) -> &str {
        &self.id
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

/// The seed of a node's fault share draws: FNV-1a of its cluster and id, so a node hits
/// the same requests of a share in every run.
fn fault_seed(cluster_arn: &str, node_id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in cluster_arn.bytes().chain(std::iter::once(0)).chain(node_id.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
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

impl Node {
    pub(crate) fn new(spec: &NodeSpec, cluster: Arc<Cluster>, cache_bytes: u64, shared: Arc<Shared>) -> Self {
        let meter = Meter { node: Arc::default(), cluster: Arc::clone(&cluster.metrics) };
        let cache =
            NodeCache::with_clock(cache_bytes, meter.clone(), shared.config.clock.clone(), crate::cache::EVICTED_SLOTS);
        cache.set_ttls(spec.cluster.record_ttl_ms, spec.cluster.query_ttl_ms);
        Node {
            id: spec.node_id.clone(),
            num: node_number(&spec.node_id),
            host_name: spec.host.clone(),
            port: spec.port,
            tls: spec.tls,
            az: spec.availability_zone.clone(),
            generation: spec.generation,
            cache,
            cluster,
            meter,
            shared,
            faults: NodeFaults::new(fault_seed(&spec.cluster.arn, &spec.node_id)),
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
    pub(crate) async fn handle(self: &Arc<Self>, session: &mut Session, req: Request) -> Option<Vec<u8>> {
        let info = self.cluster.info();
        if let Request::AuthorizeConnection(a) = &req {
            session.authenticate(&*self.shared.host, a, &info, &self.id);
            return None;
        }
        let principal = match session.who() {
            Ok(p) => p,
            Err(e) => {
                if Counter::request_count(req.method()).is_some() {
                    self.meter.inc(Counter::ErrorRequestCount);
                }
                return Some(error_frame(&e, None));
            }
        };
        let out = match req {
            Request::Endpoints => Ok(self.endpoints(session.local_ip)),
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
            data => return Some(self.data(session, &info, &principal, data).await),
        };
        Some(out.unwrap_or_else(|f| error_frame(&f.err, f.reasons.as_deref())))
    }

    /// The `endpoints` answer: every running node of the cluster, at the address this
    /// connection reached (all nodes listen on the same host).
    fn endpoints(&self, local_ip: IpAddr) -> Vec<u8> {
        if let Some(peers) = self.cluster.peers() {
            // A cluster spread over node hosts: every node on every host, at its host's
            // address (a host name that is not an address: the one this connection reached).
            let list: Vec<Endpoint> = peers
                .nodes
                .iter()
                .map(|n| Endpoint {
                    node_id: node_number(&n.node_id),
                    hostname: n.address.clone(),
                    address: n.address.trim_start_matches('[').trim_end_matches(']').parse().unwrap_or(local_ip),
                    port: n.port,
                    role: if n.primary { NodeRole::Leader } else { NodeRole::Replica },
                    availability_zone: n.availability_zone.clone(),
                    leader_session_id: peers.leader_session_id,
                })
                .collect();
            return encode_endpoints(&list);
        }
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

    async fn data(
        self: &Arc<Self>,
        session: &mut Session,
        info: &ClusterInfo,
        who: &Principal,
        req: Request,
    ) -> Vec<u8> {
        let method = req.method();
        self.meter.inc(Counter::TotalRequestCount);
        if let Some(c) = Counter::request_count(method) {
            self.meter.inc(c);
        }
        if !self.faults.is_clear() {
            if let Some(e) = self.faults.refusal(&self.id) {
                if e.status >= 500 {
                    self.meter.inc(Counter::FaultRequestCount);
                } else {
                    self.meter.inc(Counter::ThrottledRequestCount);
                    self.meter.inc(Counter::ErrorRequestCount);
                }
                return error_frame(&e, None);
            }
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
        let result = self.data_inner(session, info, who, req).await;
        match result {
            Ok(b) => b,
            Err(f) => {
                if f.err.status >= 500 {
                    self.meter.inc(Counter::FaultRequestCount);
                } else {
                    self.meter.inc(Counter::ErrorRequestCount);
                }
                // DynamoDB's own throttles are errors, not `ThrottledRequestCount`, which counts
                // what DAX throttles ("throttled by DAX (not by DynamoDB)").
                tracing::debug!(node = %self.id, method = method.name(), error = %f.err, "request failed");
                error_frame(&f.err, f.reasons.as_deref())
            }
        }
    }

    async fn data_inner(
        self: &Arc<Self>,
        session: &mut Session,
        info: &ClusterInfo,
        who: &Principal,
        req: Request,
    ) -> Res<Vec<u8>> {
        session.authorize(&*self.shared.host, who, info, &req)?;
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

    pub(crate) async fn ddb(&self, info: &ClusterInfo, op: &str, input: Value) -> Result<Value, NodeError> {
        if !self.faults.is_clear() {
            self.faults.before_backend().await?;
        }
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
        // A replica of a cluster spread over node hosts: the primary's host makes the call.
        let result = match self.cluster.upstream().filter(|u| u.forwards_writes()) {
            Some(up) => {
                if !self.faults.is_clear() {
                    self.faults.before_backend().await?;
                }
                up.write(op.to_owned(), input).await
            }
            None => self.ddb(info, op, input).await,
        };
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
    /// for the client's operation `op`. Only the first request of a table waits for
    /// DescribeTable: once the schema has aged, one request refreshes it in the background
    /// ([`Node::refresh_schema`]) and all go on with it meanwhile.
    ///
    /// When DynamoDB refuses the table (a name it does not accept, a table that does not
    /// exist), the client must get the error of the operation it called, not
    /// DescribeTable's (their messages differ): the node asks DynamoDB again with `op`
    /// naming only the table ([`table_probe`]), and answers with that call's error.
    async fn schema(&self, info: &ClusterInfo, table: &str, op: &'static str) -> Result<Arc<KeySchema>, NodeError> {
        if let Some((s, refresh)) = self.cluster.cached_schema(table) {
            if refresh {
                self.refresh_schema(info, table);
            }
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

    /// DescribeTable again for a schema that has aged, in the background: the requests
    /// go on with the schema they have, never waiting on DescribeTable (which an engine
    /// may answer slowly: the embedded one counts the table's items for it). A table
    /// DynamoDB no longer knows is forgotten (the next request asks, and reports the
    /// error); another failure leaves the schema for a later refresh.
    fn refresh_schema(&self, info: &ClusterInfo, table: &str) {
        let (host, cluster, info, table) =
            (Arc::clone(&self.shared.host), Arc::clone(&self.cluster), info.clone(), table.to_owned());
        tokio::spawn(async move {
            match host.dynamodb(&info, "DescribeTable", json!({ "TableName": table })).await {
                Ok(out) => match convert::key_schema(&out) {
                    Ok(schema) => {
                        cluster.store_schema(&table, schema);
                    }
                    Err(_) => cluster.forget_schema(&table),
                },
                Err(e) if matches!(e.code.as_str(), "ValidationException" | "ResourceNotFoundException") => {
                    cluster.forget_schema(&table);
                }
                Err(e) => tracing::debug!(table = %table, error = %e, "refreshing a key schema failed"),
            }
        });
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

    /// The projection of a cached item: the item decoded from its value bytes and its
    /// canonical key bytes.
    fn projected(&self, value: &[u8], kb: &[u8], p: &ProjectionExpression, schema: &KeySchema) -> Res<ItemPayload> {
        Ok(ItemPayload::Projected(projection::project(p, &self.item_of(self.key(kb, schema)?, value)?)))
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
        let others: Vec<Arc<Node>> = self
            .cluster
            .nodes()
            .into_iter()
            .filter(|n| n.id != self.id && (n.faults.is_clear() || !n.faults.skips_replication()))
            .collect();
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
        Stamp { seq: self.cluster.next_seq(), at: self.cache.now(), write: false }
    }

    /// [`Node::stamp`] for what a write makes: on a cluster spread over node hosts, it goes
    /// to the other hosts too (a read's miss fill stays on its host: numbered again by the
    /// primary it could land after a write it read before).
    fn write_stamp(&self) -> Stamp {
        Stamp { write: true, ..self.stamp() }
    }

    /// Cache an item's value bytes (or a negative entry) here and on every other node,
    /// stamped with `at` (the entry's age counts from then) and sequence number `seq` (a
    /// newer entry is never replaced by an older one).
    fn remember(&self, table: &str, key: &[u8], value: Option<Arc<[u8]>>, Stamp { seq, at, write }: Stamp) {
        if let Some(up) = self.cluster.upstream().filter(|_| write) {
            up.publish(CacheUpdate::Put { table: table.to_owned(), key: key.to_vec(), value: value.clone() });
        }
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
        if let Some(up) = self.cluster.upstream() {
            up.publish(CacheUpdate::Invalidate { table: table.to_owned(), key: key.to_vec() });
        }
        let (table, key, seq) = (table.to_owned(), key.to_vec(), self.cluster.next_seq());
        self.everywhere(move |c| c.invalidate_item(&table, &key, seq));
    }
}

/// What a cache entry is stamped with: see [`Node::stamp`].
#[derive(Clone, Copy)]
struct Stamp {
    seq: u64,
    at: Instant,
    /// It is a write's (see [`Node::write_stamp`]).
    write: bool,
}

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
