//! Translation between the wire (JSON values shaped by the service models)
//! and the domain crates. This is the only place that knows both.

pub mod iam;
pub mod sts;

use serde::de::DeserializeOwned;
use serde_json::Value;
use wire::AwsError;

use crate::services::ServiceDef;

/// Read an operation's input into its typed form. The input already passed
/// model validation, so a failure here is a daxd bug, reported as such.
pub(crate) fn input<T: DeserializeOwned>(def: &ServiceDef, value: Value) -> Result<T, AwsError> {
    serde_json::from_value(value).map_err(|e| AwsError::new(400, def.validation_code, format!("Invalid input: {e}")))
}

/// A domain error as AWS reports it: the code's HTTP status comes from the
/// model's error shape.
pub(crate) fn domain_error(def: &ServiceDef, code: &str, message: String) -> AwsError {
    let status = def
        .model
        .error_shape(code)
        .and_then(|s| s.error.as_ref())
        .and_then(|e| e.http_status_code)
        .unwrap_or(400);
    AwsError::new(status, code, message)
}

/// The error for an operation the model has but daxd does not serve yet.
pub(crate) fn not_served(service: &str, op: &str) -> AwsError {
    AwsError::new(501, "NotImplemented", format!("daxd does not implement {service}:{op} yet"))
}
