//! Encoding, as a client does it: the preamble as the Python client writes it, and every
//! request with its kwargs (for tests and tools; a node never sends requests).

use super::{
    kwarg, BatchWrite, Preamble, Request, ReturnConsumedCapacity, ReturnItemCollectionMetrics, ReturnValues, Select,
    SessionId, MAGIC, SERVICE_ID,
};
use crate::cbor::Writer;
use crate::expr::{ConditionExpression, ProjectionExpression, UpdateExpression};

impl Preamble {
    /// The preamble as the Python client writes it.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.str(MAGIC).u64(self.layering);
        match &self.session_id {
            SessionId::None => w.null(),
            SessionId::Bytes(b) => w.bytes(b),
            SessionId::Text(t) => w.str(t),
        };
        match &self.user_agent {
            Some(ua) => w.map(1).str("UserAgent").str(ua),
            None => w.map(0),
        };
        w.u64(self.client_mode);
        w.into_bytes()
    }
}

impl Request {
    /// Encodes the request as a client would (service id, method id, arguments, and for
    /// data methods an indefinite kwargs map that always carries ReturnConsumedCapacity,
    /// as the Python client does).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u64(SERVICE_ID).i64(i64::from(self.method().id()));
        match self {
            Request::AuthorizeConnection(a) => {
                w.str(&a.access_key_id).str(&a.signature).bytes(&a.string_to_sign);
                opt_str(&mut w, a.session_token.as_deref());
                opt_str(&mut w, a.user_agent.as_deref());
            }
            Request::Endpoints => {}
            Request::DefineKeySchema { table_name } => {
                w.bytes(table_name.as_bytes());
            }
            Request::DefineAttributeListId { attribute_names } => {
                w.array(attribute_names.len() as u64);
                for n in attribute_names {
                    w.str(n);
                }
            }
            Request::DefineAttributeList { attribute_list_id } => {
                w.u64(*attribute_list_id);
            }
            Request::GetItem(g) => {
                w.bytes(g.table_name.as_bytes()).bytes(&g.key).begin_map();
                if g.consistent_read {
                    w.u64(kwarg::CONSISTENT_READ).bool(true);
                }
                w.u64(kwarg::RETURN_CONSUMED_CAPACITY).u64(g.return_consumed_capacity.wire());
                if let Some(p) = &g.projection {
                    w.u64(kwarg::PROJECTION_EXPRESSION).bytes(&p.encode());
                }
                w.end();
            }
            Request::PutItem(p) => {
                w.bytes(p.table_name.as_bytes()).bytes(&p.key).bytes(&p.value);
                write_write_kwargs(
                    &mut w,
                    p.return_values,
                    p.return_consumed_capacity,
                    p.return_item_collection_metrics,
                    p.condition.as_ref(),
                    None,
                );
            }
            Request::DeleteItem(d) => {
                w.bytes(d.table_name.as_bytes()).bytes(&d.key);
                write_write_kwargs(
                    &mut w,
                    d.return_values,
                    d.return_consumed_capacity,
                    d.return_item_collection_metrics,
                    d.condition.as_ref(),
                    None,
                );
            }
            Request::UpdateItem(u) => {
                w.bytes(u.table_name.as_bytes()).bytes(&u.key);
                write_write_kwargs(
                    &mut w,
                    u.return_values,
                    u.return_consumed_capacity,
                    u.return_item_collection_metrics,
                    u.condition.as_ref(),
                    u.update.as_ref(),
                );
            }
            Request::Query(q) => {
                w.bytes(q.table_name.as_bytes());
                match &q.key_condition {
                    Some(kc) => w.bytes(&kc.encode()),
                    None => w.null(),
                };
                w.begin_map();
                write_read_kwargs(
                    &mut w,
                    q.index_name.as_deref(),
                    q.select,
                    q.limit,
                    q.consistent_read,
                    (!q.scan_index_forward).then_some(false),
                    q.exclusive_start_key.as_deref(),
                    q.return_consumed_capacity,
                    q.filter.as_ref(),
                    q.projection.as_ref(),
                );
                w.end();
            }
            Request::Scan(s) => {
                w.bytes(s.table_name.as_bytes()).begin_map();
                write_read_kwargs(
                    &mut w,
                    s.index_name.as_deref(),
                    s.select,
                    s.limit,
                    s.consistent_read,
                    None,
                    s.exclusive_start_key.as_deref(),
                    s.return_consumed_capacity,
                    s.filter.as_ref(),
                    s.projection.as_ref(),
                );
                if let Some(v) = s.segment {
                    w.u64(kwarg::SEGMENT).u64(v);
                }
                if let Some(v) = s.total_segments {
                    w.u64(kwarg::TOTAL_SEGMENTS).u64(v);
                }
                w.end();
            }
            Request::BatchGetItem(b) => {
                w.map(b.tables.len() as u64);
                for t in &b.tables {
                    w.str(&t.table_name).array(3).bool(t.consistent_read);
                    match &t.projection {
                        Some(p) => w.bytes(&p.encode()),
                        None => w.null(),
                    };
                    w.array(t.keys.len() as u64);
                    for k in &t.keys {
                        w.bytes(k);
                    }
                }
                w.begin_map().u64(kwarg::RETURN_CONSUMED_CAPACITY).u64(b.return_consumed_capacity.wire()).end();
            }
            Request::BatchWriteItem(b) => {
                w.map(b.tables.len() as u64);
                for t in &b.tables {
                    w.str(&t.table_name).array(t.writes.len() as u64 * 2);
                    for wr in &t.writes {
                        match wr {
                            BatchWrite::Put { key, value } => w.bytes(key).bytes(value),
                            BatchWrite::Delete { key } => w.bytes(key).null(),
                        };
                    }
                }
                w.begin_map().u64(kwarg::RETURN_CONSUMED_CAPACITY).u64(b.return_consumed_capacity.wire());
                if b.return_item_collection_metrics != ReturnItemCollectionMetrics::None {
                    w.u64(kwarg::RETURN_ITEM_COLLECTION_METRICS).u64(b.return_item_collection_metrics.wire());
                }
                w.end();
            }
            Request::TransactGetItems(t) => {
                w.array(t.items.len() as u64);
                for i in &t.items {
                    w.bytes(i.table_name.as_bytes());
                }
                w.array(t.items.len() as u64);
                for i in &t.items {
                    w.bytes(&i.key);
                }
                w.array(t.items.len() as u64);
                for i in &t.items {
                    match &i.projection {
                        Some(p) => w.bytes(&p.encode()),
                        None => w.null(),
                    };
                }
                w.begin_map().u64(kwarg::RETURN_CONSUMED_CAPACITY).u64(t.return_consumed_capacity.wire()).end();
            }
            Request::TransactWriteItems(t) => {
                let n = t.items.len() as u64;
                w.array(n);
                for i in &t.items {
                    w.u64(i.operation.wire());
                }
                w.array(n);
                for i in &t.items {
                    w.bytes(i.table_name.as_bytes());
                }
                w.array(n);
                for i in &t.items {
                    w.bytes(&i.key);
                }
                w.array(n);
                for i in &t.items {
                    match &i.value {
                        Some(v) => w.bytes(v),
                        None => w.null(),
                    };
                }
                match &t.return_values {
                    Some(rv) => {
                        w.array(rv.len() as u64);
                        for v in rv {
                            w.u64(*v);
                        }
                    }
                    None => {
                        w.null();
                    }
                }
                w.array(n);
                for i in &t.items {
                    w.u64(i.return_values_on_condition_check_failure.wire());
                }
                w.array(n);
                for i in &t.items {
                    match &i.condition {
                        Some(c) => w.bytes(&c.encode()),
                        None => w.null(),
                    };
                }
                w.array(n);
                for i in &t.items {
                    match &i.update {
                        Some(u) => w.bytes(&u.encode()),
                        None => w.null(),
                    };
                }
                w.begin_map().u64(kwarg::RETURN_CONSUMED_CAPACITY).u64(t.return_consumed_capacity.wire());
                if t.return_item_collection_metrics != ReturnItemCollectionMetrics::None {
                    w.u64(kwarg::RETURN_ITEM_COLLECTION_METRICS).u64(t.return_item_collection_metrics.wire());
                }
                if let Some(tok) = &t.client_request_token {
                    w.u64(kwarg::CLIENT_REQUEST_TOKEN).str(tok);
                }
                w.end();
            }
        }
        w.into_bytes()
    }
}

fn opt_str(w: &mut Writer, s: Option<&str>) {
    match s {
        Some(s) => w.str(s),
        None => w.null(),
    };
}

fn write_write_kwargs(
    w: &mut Writer,
    rv: ReturnValues,
    rcc: ReturnConsumedCapacity,
    ricm: ReturnItemCollectionMetrics,
    condition: Option<&ConditionExpression>,
    update: Option<&UpdateExpression>,
) {
    w.begin_map();
    if rv != ReturnValues::None {
        w.u64(kwarg::RETURN_VALUES).u64(rv.wire());
    }
    w.u64(kwarg::RETURN_CONSUMED_CAPACITY).u64(rcc.wire());
    if ricm != ReturnItemCollectionMetrics::None {
        w.u64(kwarg::RETURN_ITEM_COLLECTION_METRICS).u64(ricm.wire());
    }
    if let Some(c) = condition {
        w.u64(kwarg::CONDITION_EXPRESSION).bytes(&c.encode());
    }
    if let Some(u) = update {
        w.u64(kwarg::UPDATE_EXPRESSION).bytes(&u.encode());
    }
    w.end();
}

#[allow(clippy::too_many_arguments)]
fn write_read_kwargs(
    w: &mut Writer,
    index_name: Option<&str>,
    select: Option<Select>,
    limit: Option<u64>,
    consistent_read: bool,
    scan_index_forward: Option<bool>,
    exclusive_start_key: Option<&[u8]>,
    rcc: ReturnConsumedCapacity,
    filter: Option<&ConditionExpression>,
    projection: Option<&ProjectionExpression>,
) {
    if let Some(i) = index_name {
        w.u64(kwarg::INDEX_NAME).bytes(i.as_bytes());
    }
    if let Some(s) = select {
        w.u64(kwarg::SELECT).u64(s.wire());
    }
    if let Some(l) = limit {
        w.u64(kwarg::LIMIT).u64(l);
    }
    if consistent_read {
        w.u64(kwarg::CONSISTENT_READ).u64(1);
    }
    if let Some(f) = scan_index_forward {
        w.u64(kwarg::SCAN_INDEX_FORWARD).u64(u64::from(f));
    }
    if let Some(k) = exclusive_start_key {
        w.u64(kwarg::EXCLUSIVE_START_KEY).bytes(k);
    }
    w.u64(kwarg::RETURN_CONSUMED_CAPACITY).u64(rcc.wire());
    if let Some(f) = filter {
        w.u64(kwarg::FILTER_EXPRESSION).bytes(&f.encode());
    }
    if let Some(p) = projection {
        w.u64(kwarg::PROJECTION_EXPRESSION).bytes(&p.encode());
    }
}
