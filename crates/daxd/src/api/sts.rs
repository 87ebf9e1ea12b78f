//! STS operations.

use serde_json::{json, Value};
use wire::AwsError;

use crate::auth::Principal;

/// The resource an STS action is authorized on.
pub fn resource(_op: &str, _input: &Value) -> String {
    "*".to_owned()
}

pub fn call(principal: &Principal, op: &str, _input: Value) -> Result<Value, AwsError> {
    match op {
        "GetCallerIdentity" => Ok(json!({
            "UserId": principal.user_id(),
            "Account": principal.account(),
            "Arn": principal.arn(),
        })),
        _ => Err(super::not_served("sts", op)),
    }
}
