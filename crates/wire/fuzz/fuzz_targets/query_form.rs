//! An awsQuery / ec2Query request body as the front door handles it: the form is
//! parsed, `Version` picks the model (IAM, STS or EC2) and `Action` the operation,
//! the parameters are decoded in the model's flavor and validated. The same
//! parameters are also decoded in the other flavor (ec2Query vs awsQuery), against
//! every model that has the action, so both decoders see every shape.
//!
//! Invariants: decoding is deterministic, and what decodes is a JSON object that
//! survives a serialise/parse round trip with the same validation result.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wire::query::{decode, Flavor, Params};
use wire::{AwsError, Model, Protocol};

fn models() -> &'static [(Model, Flavor, Protocol)] {
    static M: OnceLock<Vec<(Model, Flavor, Protocol)>> = OnceLock::new();
    M.get_or_init(|| {
        vec![
            (Model::from_json(include_str!("../../../../models/iam.json")).expect("iam"), Flavor::AwsQuery, Protocol::Query),
            (Model::from_json(include_str!("../../../../models/sts.json")).expect("sts"), Flavor::AwsQuery, Protocol::Query),
            (Model::from_json(include_str!("../../../../models/ec2.json")).expect("ec2"), Flavor::Ec2, Protocol::Ec2),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let mut params = Params::parse(data);
    let action = params.remove("Action").unwrap_or_default();
    let version = params.remove("Version");
    for (model, own, protocol) in models() {
        if version.as_deref().is_some_and(|v| v != model.metadata.api_version) {
            continue;
        }
        let Some(shape) = model.operation(&action).and_then(|o| o.input.as_ref()).map(|r| r.shape.as_str()) else {
            continue;
        };
        for flavor in [Flavor::AwsQuery, Flavor::Ec2] {
            let out = decode(model, shape, &params, flavor);
            assert_eq!(out, decode(model, shape, &params, flavor), "decoding is deterministic");
            match out {
                Ok(value) => {
                    assert!(value.is_object());
                    let checked = wire::validate::validate(model, shape, &value);
                    let text = serde_json::to_string(&value).expect("serialise");
                    let back: serde_json::Value = serde_json::from_str(&text).expect("parse back");
                    assert_eq!(checked, wire::validate::validate(model, shape, &back));
                    if flavor == *own {
                        if let Ok(errors) = checked {
                            if !errors.is_empty() {
                                let _ = AwsError::new(400, "ValidationError", wire::validate::message(&errors)).render(*protocol, "id", None);
                            }
                        }
                    }
                }
                Err(e) => {
                    let _ = AwsError::new(400, "InvalidParameterValue", format!("{} {} {}", e.value, e.param, e.expected))
                        .render(*protocol, "id", None);
                }
            }
        }
    }
});
