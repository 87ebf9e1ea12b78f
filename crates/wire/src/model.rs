//! The botocore service model, as far as the wire needs it.
//!
//! `models/*.json` in the repository root are trimmed copies of botocore's
//! `service-2.json` (see `scripts/trim-models.py`). Shapes drive request
//! decoding, validation and response encoding, so no operation needs a
//! hand-written template.

use std::collections::HashMap;

use serde::Deserialize;

/// One AWS service's model.
#[derive(Debug, Deserialize)]
pub struct Model {
    pub metadata: Metadata,
    pub operations: HashMap<String, Operation>,
    pub shapes: HashMap<String, Shape>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    pub api_version: String,
    pub endpoint_prefix: String,
    pub protocol: String,
    /// Every protocol the service speaks (botocore's `protocols`), when the
    /// model lists more than `protocol`.
    #[serde(default)]
    pub protocols: Vec<String>,
    /// Present when the JSON and CBOR protocols carry the Query protocol's
    /// error codes in `x-amzn-query-error`.
    #[serde(default)]
    pub aws_query_compatible: Option<serde_json::Value>,
    #[serde(default)]
    pub target_prefix: Option<String>,
    #[serde(default)]
    pub json_version: Option<String>,
    #[serde(default)]
    pub xml_namespace: Option<String>,
    #[serde(default)]
    pub signing_name: Option<String>,
    pub service_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    pub name: String,
    #[serde(default)]
    pub input: Option<ShapeRef>,
    #[serde(default)]
    pub output: Option<OutputRef>,
    #[serde(default)]
    pub errors: Vec<ShapeRef>,
}

#[derive(Debug, Deserialize)]
pub struct ShapeRef {
    pub shape: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputRef {
    pub shape: String,
    #[serde(default)]
    pub result_wrapper: Option<String>,
}

/// A member of a structure, or the element/key/value of a list or map.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub shape: String,
    #[serde(default)]
    pub location_name: Option<String>,
    #[serde(default)]
    pub query_name: Option<String>,
    #[serde(default)]
    pub flattened: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorTrait {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub http_status_code: Option<u16>,
    #[serde(default)]
    pub sender_fault: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shape {
    #[serde(rename = "type")]
    pub kind: Kind,
    #[serde(default)]
    pub members: indexmap_lite::OrderedMembers,
    #[serde(default)]
    pub required: Vec<String>,
    #[serde(default)]
    pub member: Option<Box<Member>>,
    #[serde(default)]
    pub key: Option<Box<Member>>,
    #[serde(default)]
    pub value: Option<Box<Member>>,
    #[serde(default)]
    pub flattened: bool,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    #[serde(default)]
    pub pattern: Option<String>,
    #[serde(default, rename = "enum")]
    pub enum_values: Vec<String>,
    #[serde(default)]
    pub timestamp_format: Option<String>,
    #[serde(default)]
    pub exception: bool,
    #[serde(default)]
    pub error: Option<ErrorTrait>,
    #[serde(default)]
    pub sensitive: bool,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Structure,
    List,
    Map,
    String,
    Integer,
    Long,
    Float,
    Double,
    Boolean,
    Timestamp,
    Blob,
}

impl Model {
    /// Parse a model from its JSON text.
    ///
    /// # Errors
    /// When the text is not a service model.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    #[must_use]
    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.shapes.get(name)
    }

    #[must_use]
    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.operations.get(name)
    }

    /// The error shape whose wire code is `code`, if the model declares one.
    #[must_use]
    pub fn error_shape(&self, code: &str) -> Option<&Shape> {
        self.shapes.iter().find_map(|(name, s)| {
            if !s.exception {
                return None;
            }
            let wire = s.error.as_ref().and_then(|e| e.code.as_deref()).unwrap_or(name);
            (wire == code).then_some(s)
        })
    }
}

/// Structure members keep the model's order: the XML serialiser writes them
/// in that order, as AWS does.
pub mod indexmap_lite {
    use serde::de::{Deserializer, MapAccess, Visitor};
    use serde::Deserialize;

    use super::Member;

    #[derive(Debug, Default)]
    pub struct OrderedMembers(pub Vec<(String, Member)>);

    impl OrderedMembers {
        #[must_use]
        pub fn get(&self, name: &str) -> Option<&Member> {
            self.0.iter().find(|(n, _)| n == name).map(|(_, m)| m)
        }

        pub fn iter(&self) -> impl Iterator<Item = (&str, &Member)> {
            self.0.iter().map(|(n, m)| (n.as_str(), m))
        }
    }

    impl<'de> Deserialize<'de> for OrderedMembers {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = OrderedMembers;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a map of members")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                    let mut out = Vec::new();
                    while let Some((k, v)) = map.next_entry::<String, Member>()? {
                        out.push((k, v));
                    }
                    Ok(OrderedMembers(out))
                }
            }
            d.deserialize_map(V)
        }
    }
}
