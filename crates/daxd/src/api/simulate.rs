//! `SimulatePrincipalPolicy` and `SimulateCustomPolicy`, on the same
//! evaluation engine that authorizes every request.

use iam::{CallerPolicies, Iam};
use policy::{Context, ContextValue, Decision};
use serde_json::{json, Value};
use wire::AwsError;

use super::domain_error;
use super::input::In;
use crate::services::{def, Service};

fn invalid(message: String) -> AwsError {
    domain_error(def(Service::Iam), "InvalidInput", message)
}

/// `ContextEntries` as condition-key values.
fn context(i: In) -> Result<Context, AwsError> {
    let mut ctx = Context::new();
    for e in i.items("ContextEntries") {
        let e = In(&e);
        let key = e.s("ContextKeyName");
        let kind = e.o("ContextKeyType").unwrap_or_else(|| "string".to_owned());
        let mut values = Vec::new();
        for raw in e.list("ContextKeyValues") {
            let v = match kind.trim_end_matches("List") {
                "string" => ContextValue::String(raw),
                "numeric" => ContextValue::Number(
                    raw.parse().map_err(|_| invalid(format!("Invalid numeric value {raw} for {key}")))?,
                ),
                "boolean" => ContextValue::Bool(raw.eq_ignore_ascii_case("true")),
                "ip" => {
                    ContextValue::Ip(raw.parse().map_err(|_| invalid(format!("Invalid IP address {raw} for {key}")))?)
                }
                "binary" => ContextValue::String(raw),
                "date" => match policy::condition::parse_date(&raw) {
                    Some(nanos) => ContextValue::Date(
                        time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
                            .map_err(|_| invalid(format!("Invalid date {raw}")))?,
                    ),
                    None => return Err(invalid(format!("Invalid date {raw} for {key}"))),
                },
                other => return Err(invalid(format!("Invalid context key type {other}"))),
            };
            values.push(v);
        }
        ctx.set_values(&key, values);
    }
    Ok(ctx)
}

fn decision(d: Decision) -> &'static str {
    match d {
        Decision::Allow => "allowed",
        Decision::ExplicitDeny => "explicitDeny",
        Decision::ImplicitDeny => "implicitDeny",
    }
}

pub fn call(iam: &Iam, op: &str, i: In) -> Result<Value, AwsError> {
    for member in ["PolicyExclusionList", "OrderedOrganizationPolicyInputList", "ResourceHandlingOption"] {
        if i.0.get(member).is_some() {
            return Err(super::member_not_served("iam", op, member));
        }
    }
    // The account that owns the resources: daxd simulates within its one account.
    if let Some(owner) = i.o("ResourceOwner") {
        if owner.split(':').nth(4).unwrap_or_default() != iam.account() {
            return Err(super::member_not_served("iam", op, "ResourceOwner"));
        }
    }
    let added = i.list("PolicyInputList");
    for doc in &added {
        policy::parse(doc).map_err(|e| domain_error(def(Service::Iam), "MalformedPolicyDocument", e.message))?;
    }
    let boundaries = i.list("PermissionsBoundaryPolicyInputList");
    let (principal, mut docs) = if op == "SimulatePrincipalPolicy" {
        let arn = i.s("PolicySourceArn");
        let (principal, docs) = iam.policies_of(&arn).ok_or_else(|| {
            domain_error(def(Service::Iam), "NoSuchEntity", format!("The entity {arn} does not exist."))
        })?;
        // With a CallerArn, the call is simulated as that caller holding the source's policies.
        (i.o("CallerArn").map_or(principal, |c| policy::Principal::from_arn(&c)), docs)
    } else {
        // Without a CallerArn the caller is nobody in particular: keys such as
        // aws:username come only from the ContextEntries (an invented caller's
        // name used to satisfy conditions on it: an over-grant).
        let principal = match i.o("CallerArn") {
            Some(caller) => policy::Principal::from_arn(&caller),
            None => policy::Principal {
                arn: String::new(),
                account: iam.account().to_owned(),
                kind: policy::PrincipalKind::Unnamed,
                issuer_arn: None,
            },
        };
        (principal, CallerPolicies::default())
    };
    docs.identity.extend(added);
    if let Some(b) = boundaries.first() {
        docs.boundary = Some(b.clone());
    }
    let ctx = context(i)?;
    let resource_policy = i.o("ResourcePolicy");
    let resource_policies: Vec<&str> = resource_policy.iter().map(String::as_str).collect();
    let mut resources = i.list("ResourceArns");
    if resources.is_empty() {
        resources.push("*".to_owned());
    }
    let mut results = Vec::new();
    for action in i.list("ActionNames") {
        for resource in &resources {
            let (outcome, missing) = iam.simulate_with(&principal, &action, resource, &ctx, &docs, &resource_policies);
            let matched: Vec<Value> = outcome
                .matched
                .iter()
                .map(|m| {
                    let (id, kind) = match m.kind {
                        policy::PolicyKind::Identity => {
                            (format!("PolicyInputList.{}", m.policy_index + 1), "IAM Policy")
                        }
                        policy::PolicyKind::Boundary => {
                            ("PermissionsBoundaryPolicyInputList.1".to_owned(), "IAM Policy")
                        }
                        policy::PolicyKind::Resource => ("ResourcePolicy".to_owned(), "resource"),
                        policy::PolicyKind::Session => ("SessionPolicy".to_owned(), "IAM Policy"),
                    };
                    json!({"SourcePolicyId": id, "SourcePolicyType": kind})
                })
                .collect();
            results.push(json!({
                "EvalActionName": action,
                "EvalResourceName": resource,
                "EvalDecision": decision(outcome.decision),
                "MatchedStatements": matched,
                "MissingContextValues": missing,
            }));
        }
    }
    let (results, marker) = super::input::page(results, i.o("Marker"), i.usize("MaxItems"))
        .ok_or_else(|| invalid("Invalid Marker.".to_owned()))?;
    let mut out = json!({"EvaluationResults": results, "IsTruncated": marker.is_some()});
    if let Some(m) = marker {
        out["Marker"] = json!(m);
    }
    Ok(out)
}
