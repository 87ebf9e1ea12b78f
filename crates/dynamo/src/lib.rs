//! DynamoDB for daxd: one backend interface, two implementations, and the
//! resource-based policies that sit beside them.
//!
//! What this crate **is**:
//!
//! * [`Backend`], the interface the rest of daxd (the HTTP API and, later, the
//!   DAX nodes) uses to reach DynamoDB. A call is an operation name
//!   (`GetItem`, `Query`, ...) and the request as the JSON object a client
//!   sends; the answer is the response JSON object or a [`DynamoError`]
//!   carrying DynamoDB's exception name, message, HTTP status and extra
//!   members (`CancellationReasons`, `Item`).
//! * [`EmbeddedBackend`], the default: the `dynoxide-rs` engine (DynamoDB on
//!   SQLite) used as a library, one database file per account and region
//!   (`<dir>/<account>/<region>.db`), run off the async worker threads,
//!   with every acknowledged write committed and fsynced first.
//! * [`RemoteBackend`]: a forwarder to any DynamoDB-compatible HTTP endpoint
//!   (AWS DynamoDB, ScyllaDB Alternator, dynalite), signed with SigV4, over
//!   pooled keep-alive connections with connect and request timeouts. The
//!   endpoint's errors are passed through unchanged.
//! * DynamoDB Streams ([`Backend::streams`]): on the engine, with what
//!   dynoxide lacks added in `streams.rs` (iterators that expire after 15
//!   minutes, 24-hour retention with `TrimmedDataAccessException`, shard ids
//!   of the model's length); on a remote backend, forwarded to its Streams
//!   endpoint.
//! * [`ResourcePolicies`]: `PutResourcePolicy`, `GetResourcePolicy` and
//!   `DeleteResourcePolicy`, stored in daxd's durable state and the same for
//!   both backends, and [`ResourcePolicies::resource_policy`] for the
//!   authorizer.
//! * [`table_name_from`]: a table ARN is accepted wherever a `TableName` is.
//! * At the embedded engine's boundary, the few request checks DynamoDB makes
//!   that dynoxide makes late or not at all (`checks.rs`, measured by
//!   `scripts/conformance`, see `docs/conformance.md`).
//!
//! What this crate **is not**:
//!
//! * not the wire protocol: it neither parses HTTP requests nor renders error
//!   envelopes, `x-amzn-RequestId` or `x-amz-crc32` (the binary does);
//! * not request validation against the botocore model (the caller does that
//!   before calling, for the operations [`Backend::validates`] leaves to it),
//!   and not authentication or authorization;
//! * not a DynamoDB engine: the semantics of tables, items and expressions are
//!   dynoxide's, or the remote service's.
//!
//! Nothing here panics on untrusted input: malformed requests and answers
//! become [`DynamoError`]s.

use std::future::Future;
use std::pin::Pin;

pub mod access;
mod arn;
mod checks;
mod embedded;
mod engine;
mod error;
mod expr;
mod policies;
mod remote;
mod streams;

pub use arn::{table_name_from, ResourceArn};
pub use embedded::EmbeddedBackend;
pub use error::DynamoError;
pub use policies::{ResourcePolicies, MAX_POLICY_BYTES};
pub use remote::{Credentials, RemoteBackend, RemoteConfig};
pub use streams::{iterator_stream_arn, ITERATOR_LIFETIME_MS, OPERATIONS as STREAMS_OPERATIONS, RETENTION_SECS};

/// The request rewriting and checks the embedded backend runs on every request
/// before the engine, and the shard iterators it reads, exposed for the fuzz targets (`crates/dynamo/fuzz`). Not an API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::arn::{normalize_request, restore_response_keys};
    pub use crate::checks::{after_error, before};
    pub use crate::streams::{decode_iterator, encode_iterator, iterator_stream_arn};
}

/// A boxed, sendable future, the return type of [`Backend::call`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// DynamoDB, as daxd reaches it.
pub trait Backend: Send + Sync {
    /// Run one DynamoDB operation.
    ///
    /// `op` is the operation name (`GetItem`, `Query`, ...); `input` is the
    /// request JSON object exactly as a client sends it: validated against the
    /// botocore model by the caller unless [`Backend::validates`] says the
    /// backend does it. `region` is the region the request is for (tables are
    /// regional).
    fn call<'a>(
        &'a self,
        region: &'a str,
        op: &'a str,
        input: serde_json::Value,
    ) -> BoxFuture<'a, Result<serde_json::Value, DynamoError>>;

    /// Run one DynamoDB Streams operation (`ListStreams`, `DescribeStream`,
    /// `GetShardIterator`, `GetRecords`), with the request JSON object as a
    /// client sends it to the Streams endpoint, validated against the
    /// `dynamodbstreams` model by the caller. The default answers
    /// `UnknownOperationException`: a backend without streams.
    fn streams<'a>(
        &'a self,
        region: &'a str,
        op: &'a str,
        input: serde_json::Value,
    ) -> BoxFuture<'a, Result<serde_json::Value, DynamoError>> {
        let _ = (region, input);
        Box::pin(async move { Err(DynamoError::unknown_operation(op)) })
    }

    /// The admin reset: forget every table of every region.
    ///
    /// The embedded backend wipes its databases; the remote backend leaves
    /// the remote service alone (it is not daxd's to wipe) and returns `Ok`.
    fn reset(&self) -> BoxFuture<'_, Result<(), DynamoError>>;

    /// Whether the backend validates `op`'s input itself, with DynamoDB's
    /// words and in DynamoDB's order (the embedded engine for the operations
    /// it runs, a remote DynamoDB for every operation). The caller then
    /// passes such requests through unvalidated: checking them against the
    /// botocore model first would answer with the model's wording, which is
    /// not always DynamoDB's, or report a fault DynamoDB reports after
    /// another. The default, `false`, keeps the caller's model validation.
    fn validates(&self, op: &str) -> bool {
        let _ = op;
        false
    }

    /// For an operation the backend [validates](Backend::validates): whether it
    /// also refuses input members of the wrong JSON type itself, as DynamoDB's
    /// reader does before anything else. When it does not, the caller makes
    /// that one check first. The default, `false`, has the caller check.
    fn checks_json_types(&self, op: &str) -> bool {
        let _ = op;
        false
    }
}
