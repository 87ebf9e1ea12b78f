//! AWS wire protocols for daxd, driven by botocore service models.
//!
//! This crate turns request bytes into a JSON value shaped like an
//! operation's input, validates it against the model's constraints, and
//! turns an output value or an error back into the bytes each protocol
//! expects: `awsQuery` (IAM, STS), `ec2Query` (EC2) and `awsJson1_0` /
//! `awsJson1_1` (DynamoDB, DAX, CloudWatch), and the CBOR bodies of
//! `smithy-rpc-v2-cbor` ([`cbor`]).
//!
//! It is not an HTTP server and knows nothing of authentication or of any
//! service's behaviour; it is pure functions over bytes and values.

pub mod cbor;
pub mod error;
pub mod model;
pub mod query;
pub mod timestamp;
pub mod validate;
pub mod xml;

pub use error::AwsError;
pub use model::Model;

/// The four wire protocols daxd speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Query,
    Ec2,
    Json10,
    Json11,
}

impl Protocol {
    /// The protocol a model declares.
    #[must_use]
    pub fn of(model: &Model) -> Self {
        match (model.metadata.protocol.as_str(), model.metadata.json_version.as_deref()) {
            ("ec2", _) => Protocol::Ec2,
            ("json", Some("1.0")) => Protocol::Json10,
            ("json", _) => Protocol::Json11,
            _ => Protocol::Query,
        }
    }

    #[must_use]
    pub fn is_json(self) -> bool {
        matches!(self, Protocol::Json10 | Protocol::Json11)
    }
}
