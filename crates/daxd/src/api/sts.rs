//! STS operations.

use std::sync::Arc;

use iam::{AssumeRole, Caller, Iam, IamError, Session};
use policy::Context;
use serde_json::{json, Value};
use wire::AwsError;

use super::handler::{operations, Grant, Handler, Operation, Principal};
use super::input::In;
use super::{domain_error, Target};
use crate::services::{def, Service};

operations! {
    /// The STS operations daxd serves.
    pub enum StsOp {
        AssumeRole,
        GetCallerIdentity,
        GetSessionToken,
    }
}

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

/// `SerialNumber` and `TokenCode` name an MFA device and its code. daxd
/// serves no MFA device operations, so no device exists to check a code
/// against: AWS's answer for a code it cannot validate.
fn refuse_mfa(i: &In) -> Result<(), AwsError> {
    if i.o("SerialNumber").is_some() || i.o("TokenCode").is_some() {
        return Err(domain_error(
            def(Service::Sts),
            "AccessDenied",
            "MultiFactorAuthentication failed with invalid MFA one time pass code.".to_owned(),
        ));
    }
    Ok(())
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
            refuse_mfa(&i)?;
            if let Some(c) = i.items("ProvidedContexts").first() {
                let provider = c.get("ProviderArn").and_then(Value::as_str).unwrap_or_default();
                return Err(domain_error(
                    def(Service::Sts),
                    "InvalidContextAssertion",
                    format!("The context assertion of {provider} cannot be verified: daxd trusts no context provider."),
                ));
            }
            let req = AssumeRole {
                role_arn: i.s("RoleArn"),
                session_name: i.s("RoleSessionName"),
                duration: i.u32("DurationSeconds"),
                policy: i.o("Policy"),
                policy_arns: i
                    .items("PolicyArns")
                    .iter()
                    .filter_map(|p| p.get("arn").and_then(Value::as_str))
                    .map(str::to_owned)
                    .collect(),
                tags: i.tags("Tags"),
                transitive_tag_keys: i.list("TransitiveTagKeys"),
                external_id: i.o("ExternalId"),
                source_identity: i.o("SourceIdentity"),
                minimum_token_size: i.u32("MinimumSessionTokenSize"),
            };
            let (session, role) = iam.assume_role(caller, &req, context).map_err(err)?;
            let packed = iam::packed_policy_size(req.policy.as_deref(), &req.policy_arns, &session.tags).min(100);
            let mut out = json!({
                "Credentials": credentials(&session),
                "AssumedRoleUser": {
                    "AssumedRoleId": format!("{}:{}", role.id, req.session_name),
                    "Arn": format!("arn:aws:sts::{}:assumed-role/{}/{}", iam.account(), role.name, req.session_name),
                },
                "PackedPolicySize": packed,
            });
            if let Some(id) = &session.source_identity {
                out["SourceIdentity"] = json!(id);
            }
            if req.minimum_token_size.is_some() {
                out["SessionTokenSize"] = json!(session.token.len());
            }
            Ok(out)
        }
        "GetSessionToken" => {
            refuse_mfa(&i)?;
            let minimum = i.u32("MinimumSessionTokenSize");
            let s = iam.get_session_token(caller, i.u32("DurationSeconds"), minimum).map_err(err)?;
            let mut out = json!({"Credentials": credentials(&s)});
            if minimum.is_some() {
                out["SessionTokenSize"] = json!(s.token.len());
            }
            Ok(out)
        }
        _ => Err(super::not_served("sts", op)),
    }
}

/// STS's handler. Its impl comes after `call` (the input-member walk of
/// `tests/repo/input_members.rs` reads the first `fn call` of this file).
pub struct StsApi {
    pub iam: Arc<Iam>,
}

impl Handler for StsApi {
    type Op = StsOp;
    const SERVICE: Service = Service::Sts;
    const BLOCKING: bool = true;

    async fn targets(&self, op: StsOp, input: &Value, _who: &Principal<'_>) -> Vec<Target> {
        vec![target(op.name(), input)]
    }

    fn self_authorized(&self, op: StsOp) -> bool {
        self_authorized(op.name())
    }

    async fn call(&self, op: StsOp, input: Value, who: &Principal<'_>, grant: &Grant<'_>) -> Result<Value, AwsError> {
        call(&self.iam, who.caller, op.name(), &input, grant.context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_the_models() {
        assert_eq!(super::super::handler::tests::check_operations::<StsApi>(), 3);
        // Every operation daxd serves authorizes itself.
        assert!(StsOp::ALL.iter().all(|op| self_authorized(op.name())));
    }
}
