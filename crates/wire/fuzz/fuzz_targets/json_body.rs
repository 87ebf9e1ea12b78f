//! A JSON request body as the front door handles it, for DynamoDB (JSON 1.0) and the
//! DAX control plane (JSON 1.1). The input is `Operation\nbody`: the operation (as the
//! `X-Amz-Target` suffix names it) is looked up in both models; the body is parsed,
//! must be an object (blank means `{}`), and is validated against the operation's
//! input shape; errors are rendered in the model's protocol.
//!
//! Invariant: validation is deterministic and survives a serialise/parse round trip.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use wire::{AwsError, Model, Protocol};

fn models() -> &'static [(Model, Protocol)] {
    static M: OnceLock<Vec<(Model, Protocol)>> = OnceLock::new();
    M.get_or_init(|| {
        vec![
            (Model::from_json(include_str!("../../../../models/dynamodb.json")).expect("dynamodb"), Protocol::Json10),
            (Model::from_json(include_str!("../../../../models/dax.json")).expect("dax"), Protocol::Json11),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let (op, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let Ok(op) = std::str::from_utf8(op) else { return };
    for (model, protocol) in models() {
        let Some(shape) = model.operation(op).and_then(|o| o.input.as_ref()).map(|r| r.shape.as_str()) else {
            continue;
        };
        let value = if body.iter().all(u8::is_ascii_whitespace) {
            Value::Object(serde_json::Map::new())
        } else {
            match serde_json::from_slice::<Value>(body) {
                Ok(v) if v.is_object() => v,
                Ok(_) => continue,
                Err(e) => {
                    let _ = AwsError::new(400, "SerializationException", e.to_string()).render(*protocol, "id", None);
                    continue;
                }
            }
        };
        let checked = wire::validate::validate(model, shape, &value);
        assert_eq!(checked, wire::validate::validate(model, shape, &value));
        let back: Value = serde_json::from_str(&value.to_string()).expect("round trip");
        assert_eq!(checked, wire::validate::validate(model, shape, &back));
        if let Ok(errors) = checked {
            if !errors.is_empty() {
                let ns = model.metadata.target_prefix.as_deref();
                let _ = AwsError::new(400, "ValidationException", wire::validate::message(&errors)).render(*protocol, "id", ns);
            }
        }
    }
});
