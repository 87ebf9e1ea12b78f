//! STS operations.

use iam::{AssumeRole, Caller, Iam, IamError, Session};
use policy::Context;
use serde_json::{json, Value};
use wire::AwsError;

use super::input::In;
use super::{domain_error, Target};
use crate::services::{def, Service};

fn err(e: IamError) -> AwsError {
    domain_error(def(Service::Sts), e.code(), e.to_string())
}

/// What an STS action is authorized on. `GetCallerIdentity` needs no
/// permission; `AssumeRole` is decided by the trust policy inside IAM.
pub fn target(op: &str, input: &Value) -> Target {
    let i = In(input);
    match op {
        "AssumeRole" => Target::new("sts", op, &i.s("RoleArn")),
        _ => Target::new("sts", op, "*"),
    }
}

/// Operations whose authorization STS does itself (or that need none).
#[must_use]
pub fn self_authorized(op: &str) -> bool {
    matches!(op, "GetCallerIdentity" | "AssumeRole" | "GetSessionToken")
}

fn credentials(s: &Session) -> Value {
    json!({"AccessKeyId": s.access_key_id, "SecretAccessKey": s.secret, "SessionToken": s.token, "Expiration": s.expiration})
}

pub fn call(iam: &Iam, caller: &Caller, op: &str, input: &Value, context: &Context) -> Result<Value, AwsError> {
    let i = In(input);
    match op {
        "GetCallerIdentity" => {
            let who = iam.identity(caller);
            Ok(json!({"UserId": who.user_id, "Account": who.account, "Arn": who.arn}))
        }
        "AssumeRole" => {
            let req = AssumeRole {
                role_arn: i.s("RoleArn"),
                session_name: i.s("RoleSessionName"),
                duration: i.u32("DurationSeconds"),
                policy: i.o("Policy"),
                external_id: i.o("ExternalId"),
            };
            let (session, role) = iam.assume_role(caller, &req, context).map_err(err)?;
            let packed = req.policy.as_ref().map_or(0, |p| (policy::policy_size(p) * 100 / 2048).min(100));
            Ok(json!({
                "Credentials": credentials(&session),
                "AssumedRoleUser": {
                    "AssumedRoleId": format!("{}:{}", role.id, req.session_name),
                    "Arn": format!("arn:aws:sts::{}:assumed-role/{}/{}", iam.account(), role.name, req.session_name),
                },
                "PackedPolicySize": packed,
            }))
        }
        "GetSessionToken" => {
            let s = iam.get_session_token(caller, i.u32("DurationSeconds")).map_err(err)?;
            Ok(json!({"Credentials": credentials(&s)}))
        }
        _ => Err(super::not_served("sts", op)),
    }
}
