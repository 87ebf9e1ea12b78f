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
pub mod restjson;
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
    /// The protocol a client picks from the model: botocore takes the first of
    /// the model's `protocols` in its own order of preference (`json`, ...,
    /// `smithy-rpc-v2-cbor`, `query`, `ec2`), else `protocol`.
    #[must_use]
    pub fn of(model: &Model) -> Self {
        Self::all_of(model).into_iter().next().unwrap_or(Protocol::Query)
    }

    /// Every protocol of the model that this enum names (the CBOR protocol is
    /// not one: see [`cbor`]), in botocore's order of preference.
    #[must_use]
    pub fn all_of(model: &Model) -> Vec<Self> {
        let m = &model.metadata;
        let listed: Vec<&str> = if m.protocols.is_empty() {
            vec![m.protocol.as_str()]
        } else {
            m.protocols.iter().map(String::as_str).collect()
        };
        let mut out = Vec::new();
        for name in ["json", "query", "ec2"] {
            if !listed.contains(&name) {
                continue;
            }
            out.push(match (name, m.json_version.as_deref()) {
                ("ec2", _) => Protocol::Ec2,
                ("json", Some("1.0")) => Protocol::Json10,
                ("json", _) => Protocol::Json11,
                _ => Protocol::Query,
            });
        }
        out
    }

    #[must_use]
    pub fn is_json(self) -> bool {
        matches!(self, Protocol::Json10 | Protocol::Json11)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(metadata: &str) -> Model {
        Model::from_json(&format!(r#"{{"metadata":{metadata},"operations":{{}},"shapes":{{}}}}"#)).unwrap()
    }

    #[test]
    fn a_model_with_several_protocols_lists_those_daxd_speaks_in_botocores_order() {
        let m = model(
            r#"{"apiVersion":"1","endpointPrefix":"x","serviceId":"X","protocol":"smithy-rpc-v2-cbor",
            "protocols":["smithy-rpc-v2-cbor","json","query"],"jsonVersion":"1.0"}"#,
        );
        assert_eq!(Protocol::all_of(&m), [Protocol::Json10, Protocol::Query]);
        assert_eq!(Protocol::of(&m), Protocol::Json10);
        let m = model(r#"{"apiVersion":"1","endpointPrefix":"x","serviceId":"X","protocol":"ec2"}"#);
        assert_eq!(Protocol::all_of(&m), [Protocol::Ec2]);
        let m = model(r#"{"apiVersion":"1","endpointPrefix":"x","serviceId":"X","protocol":"json"}"#);
        assert_eq!(Protocol::of(&m), Protocol::Json11);
    }
}
