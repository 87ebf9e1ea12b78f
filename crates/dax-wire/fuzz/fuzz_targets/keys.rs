//! Key bytes under every key schema (hash S/N/B, with and without a range key of
//! type S/N/B), compound keys, and LexDecimal numbers.
//!
//! Invariants: whatever decodes re-encodes to key bytes that decode to the same key, and
//! `canonical_key` gives those bytes (or the same error);
//! LexDecimal round-trips, and the byte order of two LexDecimals is the numeric order
//! of the numbers (that is what makes them usable as sort keys).
#![no_main]

use dax_wire::*;
use libfuzzer_sys::fuzz_target;

const TYPES: [KeyType; 3] = [KeyType::S, KeyType::N, KeyType::B];

fuzz_target!(|data: &[u8]| {
    let l = Limits::default();
    for h in TYPES {
        let schemas = std::iter::once(KeySchema::hash_only("h", h))
            .chain(TYPES.iter().map(|&r| KeySchema::hash_range("h", h, "r", r)));
        for schema in schemas {
            // The fast path answers exactly what decoding and encoding again answer.
            let slow = decode_key(data, &schema, &l).and_then(|k| encode_key(&k, &schema));
            assert_eq!(canonical_key(data, &schema, &l).map(|c| c.into_owned()), slow);
            if let Ok(k) = decode_key(data, &schema, &l) {
                let bytes = encode_key(&k, &schema).expect("a decoded key re-encodes");
                assert_eq!(decode_key(&bytes, &schema, &l).as_ref(), Ok(&k));
                // The encoding is canonical: encoding again gives the same bytes.
                assert_eq!(encode_key(&k, &schema).ok(), Some(bytes));
            }
        }
    }
    if let Ok(k) = decode_compound_key(data, &l) {
        assert_eq!(decode_compound_key(&encode_compound_key(&k), &l).as_ref(), Ok(&k));
    }

    // LexDecimal: one number; then two numbers (the first byte says where the second
    // starts), as LexDecimal bytes and as text, whose order must survive encoding.
    if let Ok(n) = Number::from_lex_bytes(data) {
        assert_eq!(Number::from_lex_bytes(&n.to_lex_bytes()), Ok(n));
        assert_eq!(Number::parse(&n.to_string()), Ok(n));
    }
    if data.len() > 2 {
        let cut = 1 + usize::from(data[0]) % (data.len() - 1);
        let (a, b) = (&data[1..cut], &data[cut..]);
        let text = |b: &[u8]| std::str::from_utf8(b).ok().and_then(|s| Number::parse(s).ok());
        for pair in [
            (Number::from_lex_bytes(a).ok(), Number::from_lex_bytes(b).ok()),
            (text(a), text(b)),
        ] {
            if let (Some(a), Some(b)) = pair {
                assert_eq!(a.cmp(&b), a.to_lex_bytes().cmp(&b.to_lex_bytes()), "LexDecimal order of {a} and {b}");
            }
        }
    }
});
