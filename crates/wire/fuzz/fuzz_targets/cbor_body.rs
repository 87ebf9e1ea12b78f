//! A Smithy RPC v2 CBOR request body, as the CloudWatch API receives it.
//!
//! Invariants: decoding never panics; a body that decodes is a JSON object, and
//! encoding it again (without a model) decodes to the same value.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wire::Model;

fn model() -> &'static Model {
    static M: OnceLock<Model> = OnceLock::new();
    M.get_or_init(|| Model::from_json(include_str!("../../../../models/monitoring.json")).expect("monitoring"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = wire::cbor::decode_cbor(data) else { return };
    assert!(value.is_object());
    let again = wire::cbor::encode(model(), None, &value);
    assert_eq!(wire::cbor::decode_cbor(&again).as_ref(), Ok(&value));
});
