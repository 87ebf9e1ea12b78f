//! `dax-wire`: a pure, sans-IO codec for the Amazon DynamoDB Accelerator (DAX)
//! client-to-node wire protocol, as described by the protocol notes it was written from
//! (kept outside this repository; the section numbers cited in this crate are theirs).
//!
//! What it is:
//!
//! * **Framing** — [`try_decode_preamble`] and [`try_decode`] (or the per-connection
//!   [`StreamDecoder`]) work on a growing byte buffer: `Ok(None)` means "read more",
//!   otherwise they report how many bytes a complete preamble or request consumed. All
//!   input is bounded by [`Limits`]; untrusted bytes never panic.
//! * **Requests** — every method the official clients send, decoded into typed structs
//!   ([`Request`]) with all kwargs; [`Request::encode`] writes them as a client would
//!   (for tests and tools).
//! * **Responses** — encoders for every success shape ([`encode_endpoints`],
//!   [`encode_item_response`], [`encode_query_response`], …) and for error frames
//!   ([`encode_error`], [`encode_exception`], with the exception → code table
//!   [`EXCEPTIONS`]).
//! * **Values and keys** — [`AttributeValue`] in DAX CBOR and DynamoDB JSON, canonical
//!   38-digit [`Number`]s with DynamoDB's validation messages, key bytes with LexDecimal
//!   sort keys ([`encode_key`], [`decode_key`]), compound keys, value bytes with
//!   attribute-list ids.
//! * **Expressions** — the compiled s-expressions clients send, typed
//!   ([`ConditionExpression`], [`UpdateExpression`], [`ProjectionExpression`]) and
//!   rendered back into DynamoDB expression strings with ExpressionAttributeNames/Values
//!   ([`ExpressionWriter`]).
//! * **Auth** — the `authorizeConnection` arguments and the string-to-sign helpers
//!   ([`parse_string_to_sign`], [`expected_string_to_sign`]).
//!
//! What it is not: no sockets, no async, no state. It keeps no key-schema cache, no
//! attribute-list registry and no credentials; it does not evaluate expressions, verify
//! signatures or talk to DynamoDB. Those belong to the server, which feeds this crate
//! bytes and writes the bytes it returns.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod auth;
mod cbor;
mod error;
mod errors;
mod expr;
mod frame;
mod keys;
mod limits;
mod number;
mod request;
mod response;
mod value;

pub use auth::{
    expected_canonical_request, expected_string_to_sign, parse_string_to_sign, AuthorizeConnection, StringToSign,
    ALGORITHM, EMPTY_PAYLOAD_SHA256, SERVICE, SIGNED_HOST, SIGNED_HOST_GO,
};
pub use error::WireError;
pub use errors::{
    encode_error, encode_exception, exception_codes, exception_for_codes, CancellationReason, ErrorExtra,
    ExceptionCodes, EXCEPTIONS, UNMAPPED_CODES,
};
pub use expr::{
    Comparator, ConditionExpression, DocumentPath, Expr, ExpressionWriter, Function, PathElement, ProjectionExpression,
    UpdateAction, UpdateExpression, ENCODING_VERSION,
};
pub use frame::{is_reserved_method, try_decode, try_decode_preamble, Event, Frame, StreamDecoder};
pub use keys::{
    canonical_key, decode_compound_key, decode_key, encode_compound_key, encode_key, KeyAttribute, KeySchema, KeyType,
    KEY_MISMATCH,
};
pub use limits::Limits;
pub use number::{Number, NUMBER_NOT_NUMERIC, NUMBER_OVERFLOW, NUMBER_PRECISION, NUMBER_UNDERFLOW};
pub use request::{
    kwarg, reserved_method_name, BatchGetItemRequest, BatchGetTable, BatchWrite, BatchWriteItemRequest,
    BatchWriteTable, DeleteItemRequest, GetItemRequest, Method, Preamble, PutItemRequest, QueryRequest, Request,
    ReturnConsumedCapacity, ReturnItemCollectionMetrics, ReturnValues, ReturnValuesOnConditionCheckFailure,
    ScanRequest, Select, SessionId, TransactGetItem, TransactGetItemsRequest, TransactOperation, TransactWriteItem,
    TransactWriteItemsRequest, UpdateItemRequest, MAGIC, SERVICE_ID,
};
pub use response::{
    encode_attribute_list, encode_attribute_list_id, encode_batch_get_response, encode_batch_write_response,
    encode_endpoints, encode_item_response, encode_item_values_response, encode_key_schema, encode_query_response,
    encode_transact_get_response, encode_transact_write_response, result_key, Attributes, BatchGetItems,
    BatchGetResponse, BatchWriteResponse, Capacity, ConsumedCapacity, Endpoint, ExtendedConsumedCapacity,
    ItemCollectionMetrics, ItemPayload, ItemResponse, NodeRole, QueryItem, QueryResponse, TransactGetResponse,
    TransactWriteResponse, UnprocessedWrite, SUCCESS,
};
pub use value::{
    assemble_item, decode_updated_attributes, decode_value_bytes, encode_item_values, encode_updated_attributes,
    encode_value_bytes, item_from_json, item_to_json, AttributeValue, Item, TAG_BINARY_SET, TAG_DOCUMENT_PATH_ORDINAL,
    TAG_NUMBER_SET, TAG_STRING_SET,
};
