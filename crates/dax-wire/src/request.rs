//! Requests: method ids (§3.4), the connection preamble (§1.3), `authorizeConnection`
//! (§2.1), the control methods (§4) and the ten data methods with every kwarg (§6).

use crate::auth::AuthorizeConnection;
use crate::cbor::{Reader, Writer};
use crate::error::{Result, WireError};
use crate::expr::{ConditionExpression, ProjectionExpression, UpdateExpression};
use crate::limits::Limits;
use minicbor::data::Type;

/// The CBOR text every connection starts with.
pub const MAGIC: &str = "J7yne5G";
/// The only service id.
pub const SERVICE_ID: u64 = 1;

/// A method the codec can frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// `authorizeConnection` (never answered).
    AuthorizeConnection,
    /// `endpoints`
    Endpoints,
    /// `defineKeySchema`
    DefineKeySchema,
    /// `defineAttributeListId`
    DefineAttributeListId,
    /// `defineAttributeList`
    DefineAttributeList,
    /// `getItem`
    GetItem,
    /// `putItem`
    PutItem,
    /// `deleteItem`
    DeleteItem,
    /// `updateItem`
    UpdateItem,
    /// `query`
    Query,
    /// `scan`
    Scan,
    /// `batchGetItem`
    BatchGetItem,
    /// `batchWriteItem`
    BatchWriteItem,
    /// `transactGetItems`
    TransactGetItems,
    /// `transactWriteItems`
    TransactWriteItems,
}

impl Method {
    /// Every framable method.
    pub const ALL: [Method; 15] = [
        Method::AuthorizeConnection,
        Method::Endpoints,
        Method::DefineKeySchema,
        Method::DefineAttributeListId,
        Method::DefineAttributeList,
        Method::GetItem,
        Method::PutItem,
        Method::DeleteItem,
        Method::UpdateItem,
        Method::Query,
        Method::Scan,
        Method::BatchGetItem,
        Method::BatchWriteItem,
        Method::TransactGetItems,
        Method::TransactWriteItems,
    ];

    /// The wire id (a Java-style string hash, signed 32-bit).
    pub const fn id(self) -> i32 {
        match self {
            Method::AuthorizeConnection => 1_489_122_155,
            Method::Endpoints => 455_855_874,
            Method::DefineKeySchema => -742_646_399,
            Method::DefineAttributeListId => -1_230_579_644,
            Method::DefineAttributeList => 670_678_385,
            Method::GetItem => 263_244_906,
            Method::PutItem => -2_106_490_455,
            Method::DeleteItem => 1_013_539_361,
            Method::UpdateItem => 1_425_579_023,
            Method::Query => -931_250_863,
            Method::Scan => -1_875_390_620,
            Method::BatchGetItem => -697_851_100,
            Method::BatchWriteItem => 116_217_951,
            Method::TransactGetItems => 1_866_287_579,
            Method::TransactWriteItems => -1_160_037_738,
        }
    }

    /// The method for a wire id.
    pub fn from_id(id: i64) -> Option<Method> {
        Method::ALL.into_iter().find(|m| i64::from(m.id()) == id)
    }

    /// Positional arguments after the method id (kwargs not counted).
    pub const fn positional_args(self) -> usize {
        match self {
            Method::AuthorizeConnection => 5,
            Method::Endpoints => 0,
            Method::DefineKeySchema | Method::DefineAttributeListId | Method::DefineAttributeList => 1,
            Method::GetItem | Method::DeleteItem | Method::UpdateItem | Method::Query => 2,
            Method::PutItem | Method::TransactGetItems => 3,
            Method::Scan | Method::BatchGetItem | Method::BatchWriteItem => 1,
            Method::TransactWriteItems => 8,
        }
    }

    /// True for the data methods, which end with a kwargs item.
    pub const fn has_kwargs(self) -> bool {
        !matches!(
            self,
            Method::AuthorizeConnection
                | Method::Endpoints
                | Method::DefineKeySchema
                | Method::DefineAttributeListId
                | Method::DefineAttributeList
        )
    }

    /// The method's name as the clients spell it.
    pub const fn name(self) -> &'static str {
        match self {
            Method::AuthorizeConnection => "authorizeConnection",
            Method::Endpoints => "endpoints",
            Method::DefineKeySchema => "defineKeySchema",
            Method::DefineAttributeListId => "defineAttributeListId",
            Method::DefineAttributeList => "defineAttributeList",
            Method::GetItem => "getItem",
            Method::PutItem => "putItem",
            Method::DeleteItem => "deleteItem",
            Method::UpdateItem => "updateItem",
            Method::Query => "query",
            Method::Scan => "scan",
            Method::BatchGetItem => "batchGetItem",
            Method::BatchWriteItem => "batchWriteItem",
            Method::TransactGetItems => "transactGetItems",
            Method::TransactWriteItems => "transactWriteItems",
        }
    }
}

/// Names of method ids that exist in the clients but that no client sends (their
/// arguments are unknown, so they cannot be framed).
pub fn reserved_method_name(id: i64) -> Option<&'static str> {
    Some(match id {
        785_068_263 => "methods",
        -1_016_793_520 => "services",
        -313_431_286 => "createTable",
        2_120_496_185 => "deleteTable",
        -819_330_193 => "describeTable",
        383_747_477 => "updateTable",
        1_874_119_219 => "listTables",
        -475_661_135 => "describeLimits",
        _ => return None,
    })
}

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $v:ident = $n:literal => $s:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
        pub enum $name {
            $($(#[$vdoc])* #[doc = $s] $v,)+
        }
        impl $name {
            /// The wire number.
            pub fn wire(self) -> u64 {
                match self { $($name::$v => $n,)+ }
            }
            /// From the wire number.
            pub fn from_wire(n: u64) -> Result<Self> {
                match n {
                    $($n => Ok($name::$v),)+
                    _ => Err(WireError::validation(format!(concat!("Invalid ", stringify!($name), " value {}"), n))),
                }
            }
            /// DynamoDB's name for the value.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s,)+ }
            }
        }
    };
}

wire_enum!(
    /// ReturnConsumedCapacity (kwarg 3).
    ReturnConsumedCapacity { #[default] None = 0 => "NONE", Total = 1 => "TOTAL", Indexes = 2 => "INDEXES" }
);
wire_enum!(
    /// ReturnItemCollectionMetrics (kwarg 6).
    ReturnItemCollectionMetrics { #[default] None = 0 => "NONE", Size = 1 => "SIZE" }
);
wire_enum!(
    /// ReturnValues (kwarg 7).
    ReturnValues {
        #[default] None = 1 => "NONE",
        AllOld = 2 => "ALL_OLD",
        UpdatedOld = 3 => "UPDATED_OLD",
        AllNew = 4 => "ALL_NEW",
        UpdatedNew = 5 => "UPDATED_NEW",
    }
);
wire_enum!(
    /// Select (kwarg 15).
    Select {
        #[default] AllAttributes = 1 => "ALL_ATTRIBUTES",
        AllProjectedAttributes = 2 => "ALL_PROJECTED_ATTRIBUTES",
        Count = 3 => "COUNT",
        SpecificAttributes = 4 => "SPECIFIC_ATTRIBUTES",
    }
);
wire_enum!(
    /// The operation of one TransactWriteItems entry.
    TransactOperation {
        #[default] Put = 2 => "Put",
        Delete = 7 => "Delete",
        Update = 9 => "Update",
        ConditionCheck = 12 => "ConditionCheck",
    }
);
wire_enum!(
    /// ReturnValuesOnConditionCheckFailure of one TransactWriteItems entry.
    ReturnValuesOnConditionCheckFailure { #[default] None = 1 => "NONE", AllOld = 2 => "ALL_OLD" }
);

/// Kwargs keys (§6.1).
pub mod kwarg {
    /// ProjectionExpression
    pub const PROJECTION_EXPRESSION: u64 = 0;
    /// ExpressionAttributeNames (sent by the Python client only; ignored)
    pub const EXPRESSION_ATTRIBUTE_NAMES: u64 = 1;
    /// ConsistentRead
    pub const CONSISTENT_READ: u64 = 2;
    /// ReturnConsumedCapacity
    pub const RETURN_CONSUMED_CAPACITY: u64 = 3;
    /// ConditionExpression
    pub const CONDITION_EXPRESSION: u64 = 4;
    /// ExpressionAttributeValues (sent by the Python client only; ignored)
    pub const EXPRESSION_ATTRIBUTE_VALUES: u64 = 5;
    /// ReturnItemCollectionMetrics
    pub const RETURN_ITEM_COLLECTION_METRICS: u64 = 6;
    /// ReturnValues
    pub const RETURN_VALUES: u64 = 7;
    /// UpdateExpression
    pub const UPDATE_EXPRESSION: u64 = 8;
    /// ExclusiveStartKey
    pub const EXCLUSIVE_START_KEY: u64 = 9;
    /// FilterExpression
    pub const FILTER_EXPRESSION: u64 = 10;
    /// IndexName
    pub const INDEX_NAME: u64 = 11;
    /// KeyConditionExpression (positional in practice)
    pub const KEY_CONDITION_EXPRESSION: u64 = 12;
    /// Limit
    pub const LIMIT: u64 = 13;
    /// ScanIndexForward
    pub const SCAN_INDEX_FORWARD: u64 = 14;
    /// Select
    pub const SELECT: u64 = 15;
    /// Segment
    pub const SEGMENT: u64 = 16;
    /// TotalSegments
    pub const TOTAL_SEGMENTS: u64 = 17;
    /// RequestItems (unused)
    pub const REQUEST_ITEMS: u64 = 18;
    /// ClientRequestToken
    pub const CLIENT_REQUEST_TOKEN: u64 = 19;
}

/// The session id of the preamble.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum SessionId {
    /// `null`
    #[default]
    None,
    /// Bytes (Python, JavaScript).
    Bytes(Vec<u8>),
    /// Decimal text (Go).
    Text(String),
}

/// The five items a client writes once per connection (§1.3).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Preamble {
    /// "layering" (always 0).
    pub layering: u64,
    /// Session id.
    pub session_id: SessionId,
    /// The header map's `UserAgent`.
    pub user_agent: Option<String>,
    /// "client mode" (always 0).
    pub client_mode: u64,
}

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

/// `getItem`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct GetItemRequest {
    /// Table name.
    pub table_name: String,
    /// Key bytes (§5.3); decode with the table's schema.
    pub key: Vec<u8>,
    /// ConsistentRead.
    pub consistent_read: bool,
    /// ReturnConsumedCapacity.
    pub return_consumed_capacity: ReturnConsumedCapacity,
    /// ProjectionExpression.
    pub projection: Option<ProjectionExpression>,
}

/// `putItem`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct PutItemRequest {
    /// Table name.
    pub table_name: String,
    /// Key bytes of the item.
    pub key: Vec<u8>,
    /// Value bytes (§5.5) of the item's non-key attributes.
    pub value: Vec<u8>,
    /// ConditionExpression.
    pub condition: Option<ConditionExpression>,
    /// ReturnValues.
    pub return_values: ReturnValues,
    /// ReturnConsumedCapacity.
    pub return_consumed_capacity: ReturnConsumedCapacity,
    /// ReturnItemCollectionMetrics.
    pub return_item_collection_metrics: ReturnItemCollectionMetrics,
}

/// `deleteItem`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct DeleteItemRequest {
    /// Table name.
    pub table_name: String,
    /// Key bytes.
    pub key: Vec<u8>,
    /// ConditionExpression.
    pub condition: Option<ConditionExpression>,
    /// ReturnValues.
    pub return_values: ReturnValues,
    /// ReturnConsumedCapacity.
    pub return_consumed_capacity: ReturnConsumedCapacity,
    /// ReturnItemCollectionMetrics.
    pub return_item_collection_metrics: ReturnItemCollectionMetrics,
}

/// `updateItem`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct UpdateItemRequest {
    /// Table name.
    pub table_name: String,
    /// Key bytes.
    pub key: Vec<u8>,
    /// UpdateExpression.
    pub update: Option<UpdateExpression>,
    /// ConditionExpression.
    pub condition: Option<ConditionExpression>,
    /// ReturnValues.
    pub return_values: ReturnValues,
    /// ReturnConsumedCapacity.
    pub return_consumed_capacity: ReturnConsumedCapacity,
    /// ReturnItemCollectionMetrics.
    pub return_item_collection_metrics: ReturnItemCollectionMetrics,
}

/// `query`.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryRequest {
    /// Table name.
    pub table_name: String,
    /// KeyConditionExpression (positional argument; `null` when absent).
    pub key_condition: Option<ConditionExpression>,
    /// FilterExpression.
    pub filter: Option<ConditionExpression>,
    /// ProjectionExpression.
    pub projection: Option<ProjectionExpression>,
    /// IndexName.
    pub index_name: Option<String>,
    /// ExclusiveStartKey: key bytes, or a compound key when `index_name` is set.
    pub exclusive_start_key: Option<Vec<u8>>,
    /// Limit.
    pub limit: Option<u64>,
    /// ConsistentRead.
    pub consistent_read: bool,
    /// ScanIndexForward (default true).
    pub scan_index_forward: bool,
    /// Select.
    pub select: Option<Select>,
    /// ReturnConsumedCapacity.
    pub return_consumed_capacity: ReturnConsumedCapacity,
}

impl Default for QueryRequest {
    fn default() -> Self {
        QueryRequest {
            table_name: String::new(),
            key_condition: None,
            filter: None,
            projection: None,
            index_name: None,
            exclusive_start_key: None,
            limit: None,
            consistent_read: false,
            scan_index_forward: true,
            select: None,
            return_consumed_capacity: ReturnConsumedCapacity::None,
        }
    }
}

/// `scan`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ScanRequest {
    /// Table name.
    pub table_name: String,
    /// FilterExpression.
    pub filter: Option<ConditionExpression>,
    /// ProjectionExpression.
    pub projection: Option<ProjectionExpression>,
    /// IndexName.
    pub index_name: Option<String>,
    /// ExclusiveStartKey: key bytes, or a compound key when `index_name` is set.
    pub exclusive_start_key: Option<Vec<u8>>,
    /// Limit.
    pub limit: Option<u64>,
    /// ConsistentRead.
    pub consistent_read: bool,
    /// Select.
    pub select: Option<Select>,
    /// Segment.
    pub segment: Option<u64>,
    /// TotalSegments.
    pub total_segments: Option<u64>,
    /// ReturnConsumedCapacity.
    pub return_consumed_capacity: ReturnConsumedCapacity,
}

/// One table of a `batchGetItem`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct BatchGetTable {
    /// Table name.
    pub table_name: String,
    /// ConsistentRead.
    pub consistent_read: bool,
    /// ProjectionExpression.
    pub projection: Option<ProjectionExpression>,
    /// Key bytes.
    pub keys: Vec<Vec<u8>>,
}

/// `batchGetItem`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct BatchGetItemRequest {
    /// Tables in request order.
    pub tables: Vec<BatchGetTable>,
    /// ReturnConsumedCapacity.
    pub return_consumed_capacity: ReturnConsumedCapacity,
}

/// One write of a `batchWriteItem`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchWrite {
    /// PutRequest: key bytes and value bytes.
    Put {
        /// Key bytes.
        key: Vec<u8>,
        /// Value bytes.
        value: Vec<u8>,
    },
    /// DeleteRequest: key bytes.
    Delete {
        /// Key bytes.
        key: Vec<u8>,
    },
}

/// One table of a `batchWriteItem`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct BatchWriteTable {
    /// Table name.
    pub table_name: String,
    /// Writes in request order.
    pub writes: Vec<BatchWrite>,
}

/// `batchWriteItem`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct BatchWriteItemRequest {
    /// Tables in request order.
    pub tables: Vec<BatchWriteTable>,
    /// ReturnConsumedCapacity.
    pub return_consumed_capacity: ReturnConsumedCapacity,
    /// ReturnItemCollectionMetrics.
    pub return_item_collection_metrics: ReturnItemCollectionMetrics,
}

/// One entry of a `transactGetItems`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct TransactGetItem {
    /// Table name.
    pub table_name: String,
    /// Key bytes.
    pub key: Vec<u8>,
    /// ProjectionExpression.
    pub projection: Option<ProjectionExpression>,
}

/// `transactGetItems`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct TransactGetItemsRequest {
    /// Entries in request order.
    pub items: Vec<TransactGetItem>,
    /// ReturnConsumedCapacity.
    pub return_consumed_capacity: ReturnConsumedCapacity,
}

/// One entry of a `transactWriteItems`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct TransactWriteItem {
    /// Put, Delete, Update or ConditionCheck.
    pub operation: TransactOperation,
    /// Table name.
    pub table_name: String,
    /// Key bytes (for Put: extracted from the item).
    pub key: Vec<u8>,
    /// Value bytes (Put only).
    pub value: Option<Vec<u8>>,
    /// ReturnValuesOnConditionCheckFailure.
    pub return_values_on_condition_check_failure: ReturnValuesOnConditionCheckFailure,
    /// ConditionExpression.
    pub condition: Option<ConditionExpression>,
    /// UpdateExpression (Update only).
    pub update: Option<UpdateExpression>,
}

/// `transactWriteItems`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct TransactWriteItemsRequest {
    /// Entries in request order.
    pub items: Vec<TransactWriteItem>,
    /// The 5th positional argument (clients always send `null`).
    pub return_values: Option<Vec<u64>>,
    /// ReturnConsumedCapacity.
    pub return_consumed_capacity: ReturnConsumedCapacity,
    /// ReturnItemCollectionMetrics.
    pub return_item_collection_metrics: ReturnItemCollectionMetrics,
    /// ClientRequestToken.
    pub client_request_token: Option<String>,
}

/// A decoded request.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    /// `authorizeConnection` — the server must not answer it.
    AuthorizeConnection(AuthorizeConnection),
    /// `endpoints`
    Endpoints,
    /// `defineKeySchema(tableName)`
    DefineKeySchema {
        /// Table name.
        table_name: String,
    },
    /// `defineAttributeListId(names)`
    DefineAttributeListId {
        /// Attribute names in the client's order (do not re-sort).
        attribute_names: Vec<String>,
    },
    /// `defineAttributeList(id)`
    DefineAttributeList {
        /// Attribute-list id.
        attribute_list_id: u64,
    },
    /// `getItem`
    GetItem(GetItemRequest),
    /// `putItem`
    PutItem(PutItemRequest),
    /// `deleteItem`
    DeleteItem(DeleteItemRequest),
    /// `updateItem`
    UpdateItem(UpdateItemRequest),
    /// `query`
    Query(QueryRequest),
    /// `scan`
    Scan(ScanRequest),
    /// `batchGetItem`
    BatchGetItem(BatchGetItemRequest),
    /// `batchWriteItem`
    BatchWriteItem(BatchWriteItemRequest),
    /// `transactGetItems`
    TransactGetItems(TransactGetItemsRequest),
    /// `transactWriteItems`
    TransactWriteItems(TransactWriteItemsRequest),
}

impl Request {
    /// The request's method.
    pub fn method(&self) -> Method {
        match self {
            Request::AuthorizeConnection(_) => Method::AuthorizeConnection,
            Request::Endpoints => Method::Endpoints,
            Request::DefineKeySchema { .. } => Method::DefineKeySchema,
            Request::DefineAttributeListId { .. } => Method::DefineAttributeListId,
            Request::DefineAttributeList { .. } => Method::DefineAttributeList,
            Request::GetItem(_) => Method::GetItem,
            Request::PutItem(_) => Method::PutItem,
            Request::DeleteItem(_) => Method::DeleteItem,
            Request::UpdateItem(_) => Method::UpdateItem,
            Request::Query(_) => Method::Query,
            Request::Scan(_) => Method::Scan,
            Request::BatchGetItem(_) => Method::BatchGetItem,
            Request::BatchWriteItem(_) => Method::BatchWriteItem,
            Request::TransactGetItems(_) => Method::TransactGetItems,
            Request::TransactWriteItems(_) => Method::TransactWriteItems,
        }
    }

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
