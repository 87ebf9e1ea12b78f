//! Arbitrary bytes as a JSON 1.0 / 1.1 body, validated against DynamoDB and
//! DAX input shapes, and errors rendered in every protocol.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wire::{AwsError, Model, Protocol};

fn models() -> &'static [Model] {
    static M: OnceLock<Vec<Model>> = OnceLock::new();
    M.get_or_init(|| {
        vec![
            Model::from_json(include_str!("../../../../models/dynamodb.json")).expect("dynamodb"),
            Model::from_json(include_str!("../../../../models/dax.json")).expect("dax"),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    for model in models() {
        let ops: Vec<_> = model.operations.values().filter_map(|o| o.input.as_ref()).collect();
        let shape = &ops[data.len() % ops.len()].shape;
        if let Ok(errors) = wire::validate::validate(model, shape, &value) {
            let message = wire::validate::message(&errors);
            for p in [Protocol::Query, Protocol::Ec2, Protocol::Json10, Protocol::Json11] {
                let _ = AwsError::new(400, "ValidationException", message.clone()).render(p, "id", Some("ns"));
            }
        }
    }
});
