//! Translation between the wire (JSON values shaped by the service models)
//! and the domain crates. This is the only place that knows both.

pub mod cloudwatch;
pub mod dax;
pub mod dynamodb;
pub mod dynamodbstreams;
pub mod ec2;
pub mod fis;
pub mod handler;
pub mod iam;
pub mod input;
pub mod nodehost;
pub mod simulate;
pub mod sts;

use wire::AwsError;

use crate::services::ServiceDef;

/// What one request asks to do, for authorization: the IAM action, the
/// resource ARN it acts on, and the condition keys the request makes
/// knowable.
#[derive(Debug, Clone)]
pub struct Target {
    pub action: String,
    pub resource: String,
    pub context: Vec<(String, String)>,
    /// `aws:TagKeys` of the request.
    pub tag_keys: Vec<String>,
    /// Resource-based policies of the target (a table's policy).
    pub resource_policies: Vec<String>,
}

impl Target {
    #[must_use]
    pub fn new(prefix: &str, op: &str, resource: &str) -> Self {
        Target {
            action: format!("{prefix}:{op}"),
            resource: resource.to_owned(),
            context: Vec::new(),
            tag_keys: Vec::new(),
            resource_policies: Vec::new(),
        }
    }
}

/// A domain error as AWS reports it: the code's HTTP status comes from the
/// model's error shape.
pub(crate) fn domain_error(def: &ServiceDef, code: &str, message: String) -> AwsError {
    let status = def
        .model
        .error_shape(code)
        .and_then(|s| s.error.as_ref())
        .and_then(|e| e.http_status_code)
        .unwrap_or(if code == "AccessDenied" { 403 } else { 400 });
    AwsError::new(status, code, message)
}

/// The error for an operation the model has but daxd does not serve yet.
pub(crate) fn not_served(service: &str, op: &str) -> AwsError {
    AwsError::new(501, "NotImplemented", format!("daxd does not implement {service}:{op} yet"))
}

/// The error for an input member daxd refuses because it does not implement
/// what the member asks (the only alternative to honouring it: a member is
/// never silently dropped, `tests/repo/input_members.rs`).
pub(crate) fn member_not_served(service: &str, op: &str, member: &str) -> AwsError {
    AwsError::new(
        501,
        "NotImplemented",
        format!("daxd does not implement the {member} parameter of {service}:{op} yet"),
    )
}
