//! Key schemas and the key byte encodings (§4.3, §5.3, §5.6).

use std::borrow::Cow;

use crate::cbor::{self, Budget, Reader, Writer};
use crate::error::{Result, WireError};
use crate::limits::Limits;
use crate::number::Number;
use crate::value::{AttributeValue, Item};

/// DynamoDB's message for a key that does not fit the table's schema.
pub const KEY_MISMATCH: &str = "The provided key element does not match the schema";

/// A key attribute's scalar type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// String.
    S,
    /// Number.
    N,
    /// Binary.
    B,
}

impl KeyType {
    /// `"S"`, `"N"` or `"B"`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::S => "S",
            KeyType::N => "N",
            KeyType::B => "B",
        }
    }

    /// Parses `"S"`, `"N"` or `"B"`.
    pub fn parse(s: &str) -> Option<KeyType> {
        match s {
            "S" => Some(KeyType::S),
            "N" => Some(KeyType::N),
            "B" => Some(KeyType::B),
            _ => None,
        }
    }
}

/// One key attribute.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyAttribute {
    /// Attribute name.
    pub name: String,
    /// Attribute type.
    pub key_type: KeyType,
}

/// A table's (or index's) primary key: a hash key and an optional range key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeySchema {
    /// Partition key.
    pub hash: KeyAttribute,
    /// Sort key.
    pub range: Option<KeyAttribute>,
}

impl KeySchema {
    /// A hash-only schema.
    pub fn hash_only(name: &str, key_type: KeyType) -> KeySchema {
        KeySchema { hash: KeyAttribute { name: name.to_owned(), key_type }, range: None }
    }

    /// A hash + range schema.
    pub fn hash_range(hash: &str, hash_type: KeyType, range: &str, range_type: KeyType) -> KeySchema {
        KeySchema {
            hash: KeyAttribute { name: hash.to_owned(), key_type: hash_type },
            range: Some(KeyAttribute { name: range.to_owned(), key_type: range_type }),
        }
    }

    /// True if `name` is one of the key attributes.
    pub fn is_key(&self, name: &str) -> bool {
        self.hash.name == name || self.range.as_ref().is_some_and(|r| r.name == name)
    }

    /// Names of the item's non-key attributes in code-point order (the order the official
    /// clients use for attribute lists).
    pub fn non_key_attribute_names(&self, item: &Item) -> Vec<String> {
        item.keys().filter(|k| !self.is_key(k)).cloned().collect()
    }

    /// The key attributes of `item` (missing ones are skipped).
    pub fn key_of(&self, item: &Item) -> Item {
        item.iter().filter(|(k, _)| self.is_key(k)).map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

fn key_value<'a>(item: &'a Item, attr: &KeyAttribute) -> Result<&'a AttributeValue> {
    let v = item.get(&attr.name).ok_or_else(|| WireError::validation(KEY_MISMATCH))?;
    let ok = matches!(
        (attr.key_type, v),
        (KeyType::S, AttributeValue::S(_)) | (KeyType::N, AttributeValue::N(_)) | (KeyType::B, AttributeValue::B(_))
    );
    if ok {
        Ok(v)
    } else {
        Err(WireError::validation(KEY_MISMATCH))
    }
}

/// Key bytes (§5.3) for the key attributes of `item` (other attributes are ignored).
pub fn encode_key(item: &Item, schema: &KeySchema) -> Result<Vec<u8>> {
    let hash = key_value(item, &schema.hash)?;
    let mut w = Writer::new();
    match &schema.range {
        None => match hash {
            AttributeValue::S(s) => {
                w.raw(s.as_bytes());
            }
            AttributeValue::B(b) => {
                w.raw(b);
            }
            other => other.write_cbor(&mut w),
        },
        Some(range_attr) => {
            hash.write_cbor(&mut w);
            match key_value(item, range_attr)? {
                AttributeValue::S(s) => {
                    w.raw(s.as_bytes());
                }
                AttributeValue::B(b) => {
                    w.raw(b);
                }
                AttributeValue::N(n) => {
                    w.raw(&n.to_lex_bytes());
                }
                _ => return Err(WireError::validation(KEY_MISMATCH)),
            }
        }
    }
    Ok(w.into_bytes())
}

fn read_scalar(r: &mut Reader<'_>, t: KeyType) -> Result<AttributeValue> {
    use minicbor::data::Type;
    let dt = r.datatype()?;
    let v = match (t, dt) {
        (KeyType::S, Type::String | Type::StringIndef) => AttributeValue::S(r.text()?),
        (KeyType::B, Type::Bytes | Type::BytesIndef) => AttributeValue::B(r.bytes()?),
        (KeyType::N, Type::String | Type::StringIndef | Type::Bytes | Type::BytesIndef) => {
            return Err(WireError::validation(KEY_MISMATCH))
        }
        (KeyType::N, _) => AttributeValue::N(Number::read_cbor(r)?),
        _ => return Err(WireError::validation(KEY_MISMATCH)),
    };
    Ok(v)
}

fn utf8(b: &[u8]) -> Result<String> {
    String::from_utf8(b.to_vec()).map_err(|_| WireError::malformed("string key is not valid UTF-8"))
}

/// Decodes key bytes with the table's schema into the key attributes. Numbers arrive in
/// any client encoding and come out canonical.
pub fn decode_key(bytes: &[u8], schema: &KeySchema, limits: &Limits) -> Result<Item> {
    let mut item = Item::new();
    match &schema.range {
        None => {
            let v = match schema.hash.key_type {
                KeyType::S => AttributeValue::S(utf8(bytes)?),
                KeyType::B => AttributeValue::B(bytes.to_vec()),
                KeyType::N => {
                    cbor::check_single(bytes, limits)?;
                    let mut r = Reader::new(bytes, *limits);
                    let n = read_scalar(&mut r, KeyType::N)?;
                    r.expect_end()?;
                    n
                }
            };
            item.insert(schema.hash.name.clone(), v);
        }
        Some(range_attr) => {
            let mut budget = Budget::new();
            let end = cbor::scan_item(bytes, 0, 0, limits, &mut budget)?
                .ok_or_else(|| WireError::malformed("truncated hash key"))?;
            let mut r = Reader::new(&bytes[..end], *limits);
            let h = read_scalar(&mut r, schema.hash.key_type)?;
            r.expect_end()?;
            let rest = &bytes[end..];
            let rv = match range_attr.key_type {
                KeyType::S => AttributeValue::S(utf8(rest)?),
                KeyType::B => AttributeValue::B(rest.to_vec()),
                KeyType::N => AttributeValue::N(Number::from_lex_bytes(rest)?),
            };
            item.insert(schema.hash.name.clone(), h);
            item.insert(range_attr.name.clone(), rv);
        }
    }
    Ok(item)
}

/// The canonical bytes of a client's key: what [`encode_key`] makes of what [`decode_key`]
/// reads, with the same errors. Without building the key: a hash-only key of type S (once
/// checked as UTF-8) or B is its own canonical form, borrowed as received; other keys are
/// decoded and encoded again (their numbers arrive in any client encoding).
pub fn canonical_key<'a>(bytes: &'a [u8], schema: &KeySchema, limits: &Limits) -> Result<Cow<'a, [u8]>> {
    if schema.range.is_none() {
        match schema.hash.key_type {
            KeyType::S => {
                std::str::from_utf8(bytes).map_err(|_| WireError::malformed("string key is not valid UTF-8"))?;
                return Ok(Cow::Borrowed(bytes));
            }
            KeyType::B => return Ok(Cow::Borrowed(bytes)),
            KeyType::N => {}
        }
    }
    Ok(Cow::Owned(encode_key(&decode_key(bytes, schema, limits)?, schema)?))
}

/// A compound key (§5.6, used with IndexName): an indefinite-length map name → value.
pub fn encode_compound_key(key: &Item) -> Vec<u8> {
    let mut w = Writer::new();
    w.begin_map();
    for (k, v) in key {
        w.str(k);
        v.write_cbor(&mut w);
    }
    w.end();
    w.into_bytes()
}

/// Decodes a compound key (definite-length maps are accepted too).
pub fn decode_compound_key(bytes: &[u8], limits: &Limits) -> Result<Item> {
    cbor::check_single(bytes, limits)?;
    let mut r = Reader::new(bytes, *limits);
    let mut item = Item::new();
    r.map_each(|r| {
        let k = r.text()?;
        let v = AttributeValue::read_cbor(r, 1)?;
        item.insert(k, v);
        Ok(())
    })?;
    r.expect_end()?;
    Ok(item)
}
