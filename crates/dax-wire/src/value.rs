//! DynamoDB attribute values: the DAX CBOR encoding (§5.1), DynamoDB JSON, and the
//! "value bytes" of an item's non-key attributes (§5.5).

use crate::cbor::{self, Reader, Writer};
use crate::error::{Result, WireError};
use crate::limits::Limits;
use crate::number::Number;
use base64::Engine as _;
use minicbor::data::Type;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// CBOR tag of a string set.
pub const TAG_STRING_SET: u64 = 3321;
/// CBOR tag of a number set.
pub const TAG_NUMBER_SET: u64 = 3322;
/// CBOR tag of a binary set.
pub const TAG_BINARY_SET: u64 = 3323;
/// CBOR tag of a list index inside a document path.
pub const TAG_DOCUMENT_PATH_ORDINAL: u64 = 3324;

/// Nesting bound for DynamoDB JSON conversion (DynamoDB itself allows 32 levels): the
/// CBOR decoder's default bound, so that every value decoded from a client's frame converts
/// to DynamoDB JSON and back (it is sent to DynamoDB as JSON, which then judges its depth).
const MAX_JSON_DEPTH: usize = Limits::DEFAULT.max_depth;

/// One DynamoDB attribute value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AttributeValue {
    /// String.
    S(String),
    /// Number (canonical).
    N(Number),
    /// Binary.
    B(Vec<u8>),
    /// Boolean.
    Bool(bool),
    /// Null (DynamoDB's `{"NULL": true}`).
    Null,
    /// List.
    L(Vec<AttributeValue>),
    /// Map (sorted by key, which is also the order the Python client uses).
    M(BTreeMap<String, AttributeValue>),
    /// String set (order as received).
    Ss(Vec<String>),
    /// Number set (order as received).
    Ns(Vec<Number>),
    /// Binary set (order as received).
    Bs(Vec<Vec<u8>>),
}

/// An item: attribute name → value.
pub type Item = BTreeMap<String, AttributeValue>;

impl AttributeValue {
    /// The DynamoDB type descriptor (`"S"`, `"N"`, `"BOOL"`, …).
    pub fn type_name(&self) -> &'static str {
        match self {
            AttributeValue::S(_) => "S",
            AttributeValue::N(_) => "N",
            AttributeValue::B(_) => "B",
            AttributeValue::Bool(_) => "BOOL",
            AttributeValue::Null => "NULL",
            AttributeValue::L(_) => "L",
            AttributeValue::M(_) => "M",
            AttributeValue::Ss(_) => "SS",
            AttributeValue::Ns(_) => "NS",
            AttributeValue::Bs(_) => "BS",
        }
    }

    // ---- CBOR -------------------------------------------------------------------------

    /// This value's CBOR bytes (definite lengths, as servers must send).
    pub fn to_cbor(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.write_cbor(&mut w);
        w.into_bytes()
    }

    /// Decodes exactly one CBOR attribute value.
    pub fn from_cbor(bytes: &[u8], limits: &Limits) -> Result<AttributeValue> {
        cbor::check_single(bytes, limits)?;
        let mut r = Reader::new(bytes, *limits);
        let v = AttributeValue::read_cbor(&mut r, 0)?;
        r.expect_end()?;
        Ok(v)
    }

    pub(crate) fn write_cbor(&self, w: &mut Writer) {
        match self {
            AttributeValue::S(s) => {
                w.str(s);
            }
            AttributeValue::N(n) => n.write_cbor(w),
            AttributeValue::B(b) => {
                w.bytes(b);
            }
            AttributeValue::Bool(b) => {
                w.bool(*b);
            }
            AttributeValue::Null => {
                w.null();
            }
            AttributeValue::L(l) => {
                w.array(l.len() as u64);
                for v in l {
                    v.write_cbor(w);
                }
            }
            AttributeValue::M(m) => {
                w.map(m.len() as u64);
                for (k, v) in m {
                    w.str(k);
                    v.write_cbor(w);
                }
            }
            AttributeValue::Ss(s) => {
                w.tag(TAG_STRING_SET).array(s.len() as u64);
                for v in s {
                    w.str(v);
                }
            }
            AttributeValue::Ns(s) => {
                w.tag(TAG_NUMBER_SET).array(s.len() as u64);
                for v in s {
                    v.write_cbor(w);
                }
            }
            AttributeValue::Bs(s) => {
                w.tag(TAG_BINARY_SET).array(s.len() as u64);
                for v in s {
                    w.bytes(v);
                }
            }
        }
    }

    /// Reads one attribute value. The input has been scanned, so depth is already
    /// bounded; `depth` is checked again defensively.
    pub(crate) fn read_cbor(r: &mut Reader<'_>, depth: usize) -> Result<AttributeValue> {
        if depth > r.limits.max_depth {
            return Err(WireError::LimitExceeded("attribute value nested too deeply".into()));
        }
        match r.datatype()? {
            Type::String | Type::StringIndef => Ok(AttributeValue::S(r.text()?)),
            Type::Bytes | Type::BytesIndef => Ok(AttributeValue::B(r.bytes()?)),
            Type::Bool => Ok(AttributeValue::Bool(r.bool()?)),
            Type::Null => {
                r.take_null();
                Ok(AttributeValue::Null)
            }
            Type::Array | Type::ArrayIndef => {
                Ok(AttributeValue::L(r.array_of(|r| AttributeValue::read_cbor(r, depth + 1))?))
            }
            Type::Map | Type::MapIndef => {
                let mut m = BTreeMap::new();
                r.map_each(|r| {
                    let k = r.text()?;
                    let v = AttributeValue::read_cbor(r, depth + 1)?;
                    m.insert(k, v);
                    Ok(())
                })?;
                Ok(AttributeValue::M(m))
            }
            Type::Tag => {
                let pos = r.position();
                let tag = r.tag()?;
                match tag {
                    TAG_STRING_SET => Ok(AttributeValue::Ss(r.array_of(|r| r.text())?)),
                    TAG_NUMBER_SET => Ok(AttributeValue::Ns(r.array_of(Number::read_cbor)?)),
                    TAG_BINARY_SET => Ok(AttributeValue::Bs(r.array_of(|r| r.bytes())?)),
                    _ => {
                        r.set_position(pos);
                        Ok(AttributeValue::N(Number::read_cbor(r)?))
                    }
                }
            }
            _ => Ok(AttributeValue::N(Number::read_cbor(r)?)),
        }
    }

    // ---- DynamoDB JSON ----------------------------------------------------------------

    /// DynamoDB JSON, e.g. `{"S": "x"}`, `{"N": "1.5"}`, `{"B": "<base64>"}`.
    pub fn to_json(&self) -> Value {
        let b64 = |b: &[u8]| Value::String(base64::engine::general_purpose::STANDARD.encode(b));
        let (k, v) = match self {
            AttributeValue::S(s) => ("S", Value::String(s.clone())),
            AttributeValue::N(n) => ("N", Value::String(n.to_string())),
            AttributeValue::B(b) => ("B", b64(b)),
            AttributeValue::Bool(b) => ("BOOL", Value::Bool(*b)),
            AttributeValue::Null => ("NULL", Value::Bool(true)),
            AttributeValue::L(l) => ("L", Value::Array(l.iter().map(|v| v.to_json()).collect())),
            AttributeValue::M(m) => ("M", item_to_json(m)),
            AttributeValue::Ss(s) => ("SS", Value::Array(s.iter().map(|v| Value::String(v.clone())).collect())),
            AttributeValue::Ns(s) => ("NS", Value::Array(s.iter().map(|v| Value::String(v.to_string())).collect())),
            AttributeValue::Bs(s) => ("BS", Value::Array(s.iter().map(|v| b64(v)).collect())),
        };
        let mut m = Map::new();
        m.insert(k.to_owned(), v);
        Value::Object(m)
    }

    /// Parses DynamoDB JSON. Numbers are validated and canonicalised with DynamoDB's
    /// messages; set emptiness and duplicates are left to the caller.
    pub fn from_json(v: &Value) -> Result<AttributeValue> {
        AttributeValue::from_json_at(v, 0)
    }

    fn from_json_at(v: &Value, depth: usize) -> Result<AttributeValue> {
        if depth > MAX_JSON_DEPTH {
            return Err(WireError::validation("Nesting Levels have exceeded supported limits"));
        }
        let obj = v.as_object().ok_or_else(|| WireError::validation("Supplied AttributeValue is not an object"))?;
        if obj.len() != 1 {
            return Err(WireError::validation(if obj.is_empty() {
                "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
            } else {
                "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"
            }));
        }
        let Some((k, v)) = obj.iter().next() else {
            return Err(WireError::validation("Supplied AttributeValue is empty"));
        };
        let bad = |t: &str| WireError::validation(format!("Invalid type for attribute value of type {t}"));
        let text = |v: &Value, t: &str| v.as_str().map(str::to_owned).ok_or_else(|| bad(t));
        let b64 = |v: &Value, t: &str| -> Result<Vec<u8>> {
            let s = v.as_str().ok_or_else(|| bad(t))?;
            base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(|_| WireError::validation(format!("Invalid base64 value for attribute of type {t}")))
        };
        let list = |v: &Value, t: &str| v.as_array().ok_or_else(|| bad(t)).cloned();
        Ok(match k.as_str() {
            "S" => AttributeValue::S(text(v, "S")?),
            "N" => AttributeValue::N(Number::parse(v.as_str().ok_or_else(|| bad("N"))?)?),
            "B" => AttributeValue::B(b64(v, "B")?),
            "BOOL" => AttributeValue::Bool(v.as_bool().ok_or_else(|| bad("BOOL"))?),
            "NULL" => {
                if v.as_bool() != Some(true) {
                    return Err(WireError::validation(
                        "One or more parameter values were invalid: Null attribute value types must have the value of true",
                    ));
                }
                AttributeValue::Null
            }
            "L" => AttributeValue::L(
                v.as_array()
                    .ok_or_else(|| bad("L"))?
                    .iter()
                    .map(|e| AttributeValue::from_json_at(e, depth + 1))
                    .collect::<Result<_>>()?,
            ),
            "M" => AttributeValue::M(item_from_json_at(v, depth + 1)?),
            "SS" => AttributeValue::Ss(list(v, "SS")?.iter().map(|e| text(e, "SS")).collect::<Result<_>>()?),
            "NS" => AttributeValue::Ns(
                list(v, "NS")?
                    .iter()
                    .map(|e| Number::parse(e.as_str().ok_or_else(|| bad("NS"))?))
                    .collect::<Result<_>>()?,
            ),
            "BS" => AttributeValue::Bs(list(v, "BS")?.iter().map(|e| b64(e, "BS")).collect::<Result<_>>()?),
            other => {
                return Err(WireError::validation(format!("Supplied AttributeValue has an unknown datatype: {other}")))
            }
        })
    }
}

/// An item as a DynamoDB JSON object.
pub fn item_to_json(item: &Item) -> Value {
    Value::Object(item.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
}

/// An item from a DynamoDB JSON object.
pub fn item_from_json(v: &Value) -> Result<Item> {
    item_from_json_at(v, 0)
}

fn item_from_json_at(v: &Value, depth: usize) -> Result<Item> {
    let obj = v.as_object().ok_or_else(|| WireError::validation("Expected a map of attribute values"))?;
    obj.iter().map(|(k, v)| Ok((k.clone(), AttributeValue::from_json_at(v, depth)?))).collect()
}

// ---- value bytes (§5.5) -------------------------------------------------------------------

/// Value bytes: `uint attributeListId` followed by the values of that list, in order.
pub fn encode_value_bytes(attribute_list_id: u64, values: &[&AttributeValue]) -> Vec<u8> {
    let mut w = Writer::new();
    w.u64(attribute_list_id);
    for v in values {
        v.write_cbor(&mut w);
    }
    w.into_bytes()
}

/// Decodes value bytes into the attribute-list id and the values (resolve the id to
/// names with the node's attribute-list registry, then [`assemble_item`]).
pub fn decode_value_bytes(bytes: &[u8], limits: &Limits) -> Result<(u64, Vec<AttributeValue>)> {
    cbor::check_sequence(bytes, limits)?;
    let mut r = Reader::new(bytes, *limits);
    if r.at_end() {
        return Err(WireError::malformed("empty value bytes"));
    }
    let id = r.u64()?;
    let mut values = Vec::new();
    while !r.at_end() {
        values.push(AttributeValue::read_cbor(&mut r, 0)?);
    }
    Ok((id, values))
}

/// Pairs attribute names with decoded values; the counts must match.
pub fn assemble_item(names: &[String], values: Vec<AttributeValue>) -> Result<Item> {
    if names.len() != values.len() {
        return Err(WireError::validation(format!(
            "Attribute list has {} names but the item has {} values",
            names.len(),
            values.len()
        )));
    }
    Ok(names.iter().cloned().zip(values).collect())
}

/// Value bytes of `item`'s attributes `names` (in that order). Every name must be present.
pub fn encode_item_values(item: &Item, names: &[String], attribute_list_id: u64) -> Result<Vec<u8>> {
    let values = names
        .iter()
        .map(|n| item.get(n).ok_or_else(|| WireError::validation(format!("Item has no attribute {n}"))))
        .collect::<Result<Vec<_>>>()?;
    Ok(encode_value_bytes(attribute_list_id, &values))
}

/// Updated-attribute bytes for ReturnValues UPDATED_OLD/UPDATED_NEW (§6.4):
/// `uint attributeListId` followed by a map `ordinal → value`.
pub fn encode_updated_attributes(attribute_list_id: u64, values: &[(u64, AttributeValue)]) -> Vec<u8> {
    let mut w = Writer::new();
    w.u64(attribute_list_id).map(values.len() as u64);
    for (ord, v) in values {
        w.u64(*ord);
        v.write_cbor(&mut w);
    }
    w.into_bytes()
}

/// Decodes [`encode_updated_attributes`] output.
pub fn decode_updated_attributes(bytes: &[u8], limits: &Limits) -> Result<(u64, Vec<(u64, AttributeValue)>)> {
    if cbor::check_sequence(bytes, limits)? != 2 {
        return Err(WireError::malformed("updated attributes must be an id and a map"));
    }
    let mut r = Reader::new(bytes, *limits);
    let id = r.u64()?;
    let mut out = Vec::new();
    r.map_each(|r| {
        let k = r.u64()?;
        out.push((k, AttributeValue::read_cbor(r, 0)?));
        Ok(())
    })?;
    Ok((id, out))
}
