//! Attribute lists: `defineAttributeListId` / `defineAttributeList` arguments, value
//! bytes (attribute-list id + values) assembled with a list of names, and the
//! updated-attributes bytes of UPDATED_OLD/UPDATED_NEW.
//!
//! The input is one CBOR array of names (as `defineAttributeListId` carries it) followed
//! by value bytes. Invariants: value bytes and updated attributes round-trip through their
//! encoders; an item assembled from names and values re-encodes to the same values.
#![no_main]

use dax_wire::*;
use libfuzzer_sys::fuzz_target;

/// The frame of `req` with its one (one-byte) argument replaced by `args`.
fn with_args(req: &Request, args: &[u8]) -> Vec<u8> {
    let mut frame = req.encode();
    frame.pop();
    frame.extend_from_slice(args);
    frame
}

fuzz_target!(|data: &[u8]| {
    let l = Limits::default();
    // The first byte says how many of the next bytes are the CBOR array of names that a
    // `defineAttributeListId` call carries; the rest are value bytes.
    let cut = data.first().map_or(0, |&b| 1 + usize::from(b).min(data.len() - 1));
    let (names_cbor, value) = data.split_at(cut);
    let frame = with_args(&Request::DefineAttributeListId { attribute_names: Vec::new() }, names_cbor.get(1..).unwrap_or_default());
    let names = match try_decode(&frame, &l) {
        Ok(Some((Frame::Request(Request::DefineAttributeListId { attribute_names }), _))) => {
            // The response a node sends for `defineAttributeList`.
            let _ = encode_attribute_list(&attribute_names);
            Some(attribute_names)
        }
        _ => None,
    };
    let _ = try_decode(&with_args(&Request::DefineAttributeList { attribute_list_id: 0 }, value), &l);

    if let Ok((id, values)) = decode_value_bytes(value, &l) {
        let refs: Vec<&AttributeValue> = values.iter().collect();
        let again = encode_value_bytes(id, &refs);
        assert_eq!(decode_value_bytes(&again, &l).as_ref(), Ok(&(id, values.clone())));
        if let Some(names) = names {
            let n = values.len();
            match assemble_item(&names, values.clone()) {
                Ok(item) => {
                    assert_eq!(names.len(), n);
                    // Duplicate names collapse in the item; without them the item gives back
                    // the same value bytes.
                    let mut sorted = names.clone();
                    sorted.sort();
                    sorted.dedup();
                    if sorted.len() == names.len() {
                        let bytes = encode_item_values(&item, &names, id).expect("every name present");
                        assert_eq!(decode_value_bytes(&bytes, &l).map(|(_, v)| v).as_ref(), Ok(&values));
                    }
                }
                Err(_) => assert_ne!(names.len(), n),
            }
        }
    }
    if let Ok((id, attrs)) = decode_updated_attributes(value, &l) {
        let again = encode_updated_attributes(id, &attrs);
        assert_eq!(decode_updated_attributes(&again, &l), Ok((id, attrs)));
    }
});
