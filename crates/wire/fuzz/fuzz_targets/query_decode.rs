//! Arbitrary bytes as an awsQuery / ec2Query form, decoded against every
//! operation's input shape of IAM and EC2, then validated.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wire::query::{decode, Flavor, Params};
use wire::Model;

fn models() -> &'static [(Model, Flavor)] {
    static M: OnceLock<Vec<(Model, Flavor)>> = OnceLock::new();
    M.get_or_init(|| {
        vec![
            (Model::from_json(include_str!("../../../../models/iam.json")).expect("iam"), Flavor::AwsQuery),
            (Model::from_json(include_str!("../../../../models/ec2.json")).expect("ec2"), Flavor::Ec2),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let params = Params::parse(data);
    for (model, flavor) in models() {
        // One operation per input, chosen by the first byte, keeps runs fast.
        let ops: Vec<_> = model.operations.values().filter_map(|o| o.input.as_ref()).collect();
        if ops.is_empty() {
            continue;
        }
        let shape = &ops[usize::from(data.first().copied().unwrap_or(0)) % ops.len()].shape;
        if let Ok(value) = decode(model, shape, &params, *flavor) {
            let _ = wire::validate::validate(model, shape, &value);
        }
    }
});
