//! Decoding: the connection preamble and the arguments of every method, from a complete
//! and scanned frame, with the kwargs map read as the clients write it and every
//! expression decoded under the [`Limits`].

use minicbor::data::Type;

use super::{
    kwarg, BatchGetItemRequest, BatchGetTable, BatchWrite, BatchWriteItemRequest, BatchWriteTable, DeleteItemRequest,
    GetItemRequest, Method, Preamble, PutItemRequest, QueryRequest, Request, ReturnConsumedCapacity,
    ReturnItemCollectionMetrics, ReturnValues, ReturnValuesOnConditionCheckFailure, ScanRequest, Select, SessionId,
    TransactGetItem, TransactGetItemsRequest, TransactOperation, TransactWriteItem, TransactWriteItemsRequest,
    UpdateItemRequest, MAGIC,
};
use crate::auth::AuthorizeConnection;
use crate::cbor::Reader;
use crate::error::{Result, WireError};
use crate::expr::{ConditionExpression, ProjectionExpression, UpdateExpression};
use crate::limits::Limits;

impl Preamble {
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Preamble> {
        if r.datatype()? != Type::String || r.text()? != MAGIC {
            return Err(WireError::malformed("connection does not start with the DAX magic"));
        }
        let layering = r.u64()?;
        let session_id = if r.take_null() {
            SessionId::None
        } else {
            match r.datatype()? {
                Type::Bytes | Type::BytesIndef => SessionId::Bytes(r.bytes()?),
                Type::String | Type::StringIndef => SessionId::Text(r.text()?),
                _ => return Err(WireError::malformed("session id must be bytes, text or null")),
            }
        };
        let mut user_agent = None;
        if !r.take_null() {
            r.map_each(|r| {
                let k = r.text_or_bytes()?;
                if k == "UserAgent" && matches!(r.datatype()?, Type::String | Type::StringIndef) {
                    user_agent = Some(r.text()?);
                } else {
                    r.skip()?;
                }
                Ok(())
            })?;
        }
        let client_mode = r.u64()?;
        Ok(Preamble { layering, session_id, user_agent, client_mode })
    }
}

impl Request {
    /// Decodes the arguments of `method` (the reader is positioned after the method id
    /// and holds a complete, scanned frame).
    pub(crate) fn read_args(method: Method, r: &mut Reader<'_>) -> Result<Request> {
        let lim = r.limits;
        Ok(match method {
            Method::AuthorizeConnection => {
                let access_key_id = r.text_or_bytes()?;
                let signature = r.text_or_bytes()?;
                let string_to_sign = match r.datatype()? {
                    Type::String | Type::StringIndef => r.text()?.into_bytes(),
                    _ => r.bytes()?,
                };
                let session_token = opt(r, |r| r.text_or_bytes())?;
                let user_agent = opt(r, |r| r.text_or_bytes())?;
                Request::AuthorizeConnection(AuthorizeConnection {
                    access_key_id,
                    signature,
                    string_to_sign,
                    session_token,
                    user_agent,
                })
            }
            Method::Endpoints => Request::Endpoints,
            Method::DefineKeySchema => Request::DefineKeySchema { table_name: r.text_or_bytes()? },
            Method::DefineAttributeListId => {
                Request::DefineAttributeListId { attribute_names: r.array_of(|r| r.text())? }
            }
            Method::DefineAttributeList => Request::DefineAttributeList { attribute_list_id: r.u64()? },
            Method::GetItem => {
                let table_name = r.text_or_bytes()?;
                let key = r.bytes()?;
                let k = Kwargs::read(r)?;
                Request::GetItem(GetItemRequest {
                    table_name,
                    key,
                    consistent_read: k.consistent_read.unwrap_or(false),
                    return_consumed_capacity: k.rcc()?,
                    projection: k.projection(&lim)?,
                })
            }
            Method::PutItem => {
                let table_name = r.text_or_bytes()?;
                let key = r.bytes()?;
                let value = r.bytes()?;
                let k = Kwargs::read(r)?;
                Request::PutItem(PutItemRequest {
                    table_name,
                    key,
                    value,
                    condition: k.condition(&lim)?,
                    return_values: k.return_values()?,
                    return_consumed_capacity: k.rcc()?,
                    return_item_collection_metrics: k.ricm()?,
                })
            }
            Method::DeleteItem => {
                let table_name = r.text_or_bytes()?;
                let key = r.bytes()?;
                let k = Kwargs::read(r)?;
                Request::DeleteItem(DeleteItemRequest {
                    table_name,
                    key,
                    condition: k.condition(&lim)?,
                    return_values: k.return_values()?,
                    return_consumed_capacity: k.rcc()?,
                    return_item_collection_metrics: k.ricm()?,
                })
            }
            Method::UpdateItem => {
                let table_name = r.text_or_bytes()?;
                let key = r.bytes()?;
                let k = Kwargs::read(r)?;
                Request::UpdateItem(UpdateItemRequest {
                    table_name,
                    key,
                    update: k.update(&lim)?,
                    condition: k.condition(&lim)?,
                    return_values: k.return_values()?,
                    return_consumed_capacity: k.rcc()?,
                    return_item_collection_metrics: k.ricm()?,
                })
            }
            Method::Query => {
                let table_name = r.text_or_bytes()?;
                let kc = opt(r, |r| r.bytes())?;
                let k = Kwargs::read(r)?;
                let key_condition = kc.map(|b| ConditionExpression::decode(&b, &lim)).transpose()?;
                Request::Query(QueryRequest {
                    table_name,
                    key_condition,
                    filter: k.filter(&lim)?,
                    projection: k.projection(&lim)?,
                    index_name: k.index_name.clone(),
                    exclusive_start_key: k.exclusive_start_key.clone(),
                    limit: k.limit,
                    consistent_read: k.consistent_read.unwrap_or(false),
                    scan_index_forward: k.scan_index_forward.unwrap_or(true),
                    select: k.select.map(Select::from_wire).transpose()?,
                    return_consumed_capacity: k.rcc()?,
                })
            }
            Method::Scan => {
                let table_name = r.text_or_bytes()?;
                let k = Kwargs::read(r)?;
                Request::Scan(ScanRequest {
                    table_name,
                    filter: k.filter(&lim)?,
                    projection: k.projection(&lim)?,
                    index_name: k.index_name.clone(),
                    exclusive_start_key: k.exclusive_start_key.clone(),
                    limit: k.limit,
                    consistent_read: k.consistent_read.unwrap_or(false),
                    select: k.select.map(Select::from_wire).transpose()?,
                    segment: k.segment,
                    total_segments: k.total_segments,
                    return_consumed_capacity: k.rcc()?,
                })
            }
            Method::BatchGetItem => {
                let mut tables = Vec::new();
                r.map_each(|r| {
                    let table_name = r.text_or_bytes()?;
                    if r.array()? != Some(3) {
                        return Err(WireError::malformed(
                            "batchGetItem table entry must be [consistentRead, projection, keys]",
                        ));
                    }
                    let consistent_read = if r.take_null() { false } else { r.bool_or_int()? };
                    let projection =
                        opt(r, |r| r.bytes())?.map(|b| ProjectionExpression::decode(&b, &lim)).transpose()?;
                    let keys = r.array_of(|r| r.bytes())?;
                    tables.push(BatchGetTable { table_name, consistent_read, projection, keys });
                    Ok(())
                })?;
                let k = Kwargs::read(r)?;
                Request::BatchGetItem(BatchGetItemRequest { tables, return_consumed_capacity: k.rcc()? })
            }
            Method::BatchWriteItem => {
                let mut tables = Vec::new();
                r.map_each(|r| {
                    let table_name = r.text_or_bytes()?;
                    let flat = r.array_of(|r| opt(r, |r| r.bytes()))?;
                    if flat.len() % 2 != 0 {
                        return Err(WireError::malformed("batchWriteItem entries must be key/value pairs"));
                    }
                    let mut writes = Vec::with_capacity(flat.len() / 2);
                    let mut it = flat.into_iter();
                    while let (Some(key), Some(value)) = (it.next(), it.next()) {
                        let key = key.ok_or_else(|| WireError::malformed("batchWriteItem key is null"))?;
                        writes.push(match value {
                            Some(value) => BatchWrite::Put { key, value },
                            None => BatchWrite::Delete { key },
                        });
                    }
                    tables.push(BatchWriteTable { table_name, writes });
                    Ok(())
                })?;
                let k = Kwargs::read(r)?;
                Request::BatchWriteItem(BatchWriteItemRequest {
                    tables,
                    return_consumed_capacity: k.rcc()?,
                    return_item_collection_metrics: k.ricm()?,
                })
            }
            Method::TransactGetItems => {
                let names = r.array_of(|r| r.text_or_bytes())?;
                let keys = r.array_of(|r| r.bytes())?;
                let projections = opt(r, |r| r.array_of(|r| opt(r, |r| r.bytes())))?;
                let k = Kwargs::read(r)?;
                same_len(names.len(), keys.len(), "keys")?;
                if let Some(p) = &projections {
                    same_len(names.len(), p.len(), "projections")?;
                }
                let mut items = Vec::with_capacity(names.len());
                for (i, (table_name, key)) in names.into_iter().zip(keys).enumerate() {
                    let projection = projections
                        .as_ref()
                        .and_then(|p| p.get(i).cloned().flatten())
                        .map(|b| ProjectionExpression::decode(&b, &lim))
                        .transpose()?;
                    items.push(TransactGetItem { table_name, key, projection });
                }
                Request::TransactGetItems(TransactGetItemsRequest { items, return_consumed_capacity: k.rcc()? })
            }
            Method::TransactWriteItems => {
                let ops = r.array_of(|r| r.u64())?;
                let names = r.array_of(|r| r.text_or_bytes())?;
                let keys = r.array_of(|r| r.bytes())?;
                let values = opt(r, |r| r.array_of(|r| opt(r, |r| r.bytes())))?;
                let return_values = opt(r, |r| r.array_of(|r| r.u64()))?;
                let rvoccf = opt(r, |r| r.array_of(|r| if r.take_null() { Ok(1) } else { r.u64() }))?;
                let conditions = opt(r, |r| r.array_of(|r| opt(r, |r| r.bytes())))?;
                let updates = opt(r, |r| r.array_of(|r| opt(r, |r| r.bytes())))?;
                let k = Kwargs::read(r)?;
                let n = ops.len();
                same_len(n, names.len(), "tableNames")?;
                same_len(n, keys.len(), "keys")?;
                for (len, what) in [
                    (values.as_ref().map(Vec::len), "values"),
                    (rvoccf.as_ref().map(Vec::len), "returnValuesOnConditionCheckFailure"),
                    (conditions.as_ref().map(Vec::len), "conditionExpressions"),
                    (updates.as_ref().map(Vec::len), "updateExpressions"),
                ] {
                    if let Some(len) = len {
                        same_len(n, len, what)?;
                    }
                }
                let mut items = Vec::with_capacity(n);
                for (i, ((op, table_name), key)) in ops.into_iter().zip(names).zip(keys).enumerate() {
                    let at = |v: &Option<Vec<Option<Vec<u8>>>>| v.as_ref().and_then(|v| v.get(i).cloned().flatten());
                    items.push(TransactWriteItem {
                        operation: TransactOperation::from_wire(op)?,
                        table_name,
                        key,
                        value: at(&values),
                        return_values_on_condition_check_failure: ReturnValuesOnConditionCheckFailure::from_wire(
                            rvoccf.as_ref().and_then(|v| v.get(i).copied()).unwrap_or(1),
                        )?,
                        condition: at(&conditions).map(|b| ConditionExpression::decode(&b, &lim)).transpose()?,
                        update: at(&updates).map(|b| UpdateExpression::decode(&b, &lim)).transpose()?,
                    });
                }
                Request::TransactWriteItems(TransactWriteItemsRequest {
                    items,
                    return_values,
                    return_consumed_capacity: k.rcc()?,
                    return_item_collection_metrics: k.ricm()?,
                    client_request_token: k.client_request_token.clone(),
                })
            }
        })
    }
}

fn same_len(a: usize, b: usize, what: &str) -> Result<()> {
    if a == b {
        Ok(())
    } else {
        Err(WireError::validation(format!("TransactItems arrays disagree: {a} operations but {b} {what}")))
    }
}

/// Reads `null` as `None`, anything else with `f`.
fn opt<T>(r: &mut Reader<'_>, f: impl FnOnce(&mut Reader<'_>) -> Result<T>) -> Result<Option<T>> {
    if r.take_null() {
        Ok(None)
    } else {
        f(r).map(Some)
    }
}

/// Raw kwargs, last duplicate wins; expressions are decoded only after the whole map has
/// been read (the Python client first sends key 4 as raw text).
#[derive(Default)]
struct Kwargs {
    projection: Option<Vec<u8>>,
    consistent_read: Option<bool>,
    rcc: Option<u64>,
    condition: Option<Vec<u8>>,
    ricm: Option<u64>,
    return_values: Option<u64>,
    update: Option<Vec<u8>>,
    exclusive_start_key: Option<Vec<u8>>,
    filter: Option<Vec<u8>>,
    index_name: Option<String>,
    limit: Option<u64>,
    scan_index_forward: Option<bool>,
    select: Option<u64>,
    segment: Option<u64>,
    total_segments: Option<u64>,
    client_request_token: Option<String>,
}

impl Kwargs {
    fn read(r: &mut Reader<'_>) -> Result<Kwargs> {
        let mut k = Kwargs::default();
        if r.take_null() {
            return Ok(k);
        }
        r.map_each(|r| {
            let key = match r.datatype()? {
                Type::U8 | Type::U16 | Type::U32 | Type::U64 => Some(r.u64()?),
                _ => {
                    r.skip()?;
                    None
                }
            };
            if r.take_null() {
                // An explicit null is the same as absent.
                return Ok(());
            }
            use kwarg::*;
            match key {
                Some(PROJECTION_EXPRESSION) => k.projection = Some(r.bytes()?),
                Some(CONSISTENT_READ) => k.consistent_read = Some(r.bool_or_int()?),
                Some(RETURN_CONSUMED_CAPACITY) => k.rcc = Some(r.u64()?),
                Some(CONDITION_EXPRESSION) => k.condition = Some(r.bytes()?),
                Some(RETURN_ITEM_COLLECTION_METRICS) => k.ricm = Some(r.u64()?),
                Some(RETURN_VALUES) => k.return_values = Some(r.u64()?),
                Some(UPDATE_EXPRESSION) => k.update = Some(r.bytes()?),
                Some(EXCLUSIVE_START_KEY) => k.exclusive_start_key = Some(r.bytes()?),
                Some(FILTER_EXPRESSION) => k.filter = Some(r.bytes()?),
                Some(INDEX_NAME) => k.index_name = Some(r.text_or_bytes()?),
                Some(LIMIT) => k.limit = Some(r.u64()?),
                Some(SCAN_INDEX_FORWARD) => k.scan_index_forward = Some(r.bool_or_int()?),
                Some(SELECT) => k.select = Some(r.u64()?),
                Some(SEGMENT) => k.segment = Some(r.u64()?),
                Some(TOTAL_SEGMENTS) => k.total_segments = Some(r.u64()?),
                Some(CLIENT_REQUEST_TOKEN) => k.client_request_token = Some(r.text_or_bytes()?),
                // 1 (names) and 5 (values) are redundant copies; unknown keys are ignored.
                _ => r.skip()?,
            }
            Ok(())
        })?;
        Ok(k)
    }

    fn rcc(&self) -> Result<ReturnConsumedCapacity> {
        self.rcc.map_or(Ok(ReturnConsumedCapacity::None), ReturnConsumedCapacity::from_wire)
    }

    fn ricm(&self) -> Result<ReturnItemCollectionMetrics> {
        self.ricm.map_or(Ok(ReturnItemCollectionMetrics::None), ReturnItemCollectionMetrics::from_wire)
    }

    fn return_values(&self) -> Result<ReturnValues> {
        self.return_values.map_or(Ok(ReturnValues::None), ReturnValues::from_wire)
    }

    fn projection(&self, lim: &Limits) -> Result<Option<ProjectionExpression>> {
        self.projection.as_deref().map(|b| ProjectionExpression::decode(b, lim)).transpose()
    }

    fn condition(&self, lim: &Limits) -> Result<Option<ConditionExpression>> {
        self.condition.as_deref().map(|b| ConditionExpression::decode(b, lim)).transpose()
    }

    fn filter(&self, lim: &Limits) -> Result<Option<ConditionExpression>> {
        self.filter.as_deref().map(|b| ConditionExpression::decode(b, lim)).transpose()
    }

    fn update(&self, lim: &Limits) -> Result<Option<UpdateExpression>> {
        self.update.as_deref().map(|b| UpdateExpression::decode(b, lim)).transpose()
    }
}
