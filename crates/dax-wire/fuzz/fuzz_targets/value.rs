//! Attribute values, value bytes, keys, numbers and JSON conversion.
#![no_main]

use dax_wire::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let l = Limits::default();
    if let Ok(v) = AttributeValue::from_cbor(data, &l) {
        // Whatever decodes re-encodes and decodes to the same value.
        assert_eq!(
            AttributeValue::from_cbor(&v.to_cbor(), &l).ok(),
            Some(v.clone())
        );
        assert_eq!(AttributeValue::from_json(&v.to_json()).ok(), Some(v));
    }
    let _ = decode_value_bytes(data, &l);
    let _ = decode_updated_attributes(data, &l);
    let _ = decode_compound_key(data, &l);
    if let Ok(n) = Number::from_lex_bytes(data) {
        assert_eq!(Number::from_lex_bytes(&n.to_lex_bytes()).ok(), Some(n));
    }
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(n) = Number::parse(s) {
            assert_eq!(Number::parse(&n.to_string()).ok(), Some(n));
        }
        if let Ok(j) = serde_json::from_str::<serde_json::Value>(s) {
            let _ = item_from_json(&j);
        }
    }
    for schema in [
        KeySchema::hash_only("h", KeyType::N),
        KeySchema::hash_range("h", KeyType::S, "r", KeyType::N),
    ] {
        if let Ok(k) = decode_key(data, &schema, &l) {
            let again = encode_key(&k, &schema).ok();
            assert!(again.is_some());
        }
    }
});
