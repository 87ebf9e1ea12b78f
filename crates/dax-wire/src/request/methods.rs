//! The method table: the service id, and the id, arguments and name of every method a
//! client sends (§3.4), with the ids the clients know but never send.

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
