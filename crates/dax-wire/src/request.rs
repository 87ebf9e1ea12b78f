//! Requests: the connection preamble (§1.3), `authorizeConnection` (§2.1), the control
//! methods (§4) and the ten data methods with every kwarg (§6), as typed values.
//!
//! The method table (method ids, §3.4) is in `methods`, the decoding of a frame's
//! arguments in `decode`, and the encoding a client does (for tests and tools) in `encode`.

mod decode;
mod encode;
mod methods;

pub use methods::{reserved_method_name, Method, SERVICE_ID};

use crate::auth::AuthorizeConnection;
use crate::error::{Result, WireError};
use crate::expr::{ConditionExpression, ProjectionExpression, UpdateExpression};

/// The CBOR text every connection starts with.
pub const MAGIC: &str = "J7yne5G";

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
}
