//! EC2 operations (the network subset DAX uses).

use ec2::Ec2;
use serde_json::Value;
use wire::AwsError;

use super::Target;

/// What an EC2 action is authorized on.
pub fn target(_account: &str, _region: &str, op: &str, _input: &Value) -> Target {
    Target::new("ec2", op, "*")
}

pub fn call(_ec2: &Ec2, _region: &str, op: &str, _input: &Value) -> Result<Value, AwsError> {
    Err(super::not_served("ec2", op))
}
