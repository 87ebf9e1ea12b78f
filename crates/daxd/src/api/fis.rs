//! The AWS Fault Injection Service (`rest-json`): the model's JSON (path labels, query
//! members and body already gathered by `front.rs`) to `fis` calls and back. The records
//! of the `fis` crate are the API's shapes, camel-cased as the model spells them.
//!
//! Authorization follows AWS's service authorization reference for FIS: templates are
//! `arn:aws:fis:<region>:<account>:experiment-template/<id>`, experiments
//! `…:experiment/<id>`, actions `…:action/<id>`; the listings and the target resource
//! types are authorized on `*`. CreateExperimentTemplate and UpdateExperimentTemplate
//! also need `iam:PassRole` on the template's role with `iam:PassedToService` =
//! `fis.amazonaws.com`, and the first StartExperiment creates `AWSServiceRoleForFIS` for
//! its caller, who then needs `iam:CreateServiceLinkedRole` for that service.

use std::collections::BTreeMap;
use std::sync::Arc;

use fis::catalog::{self, ActionSpec, TargetTypeSpec};
use fis::{Fis, FisError, Template};
use iam::Iam;
use serde_json::{json, Map, Value};
use wire::AwsError;

use super::handler::{operations, Grant, Handler, Operation, Principal};
use super::input::In;
use super::Target;
use crate::fis_deps::FIS_SERVICE;
use crate::services::Service;

operations! {
    /// The FIS operations daxd serves.
    pub enum FisOp {
        CreateExperimentTemplate, GetExperimentTemplate, UpdateExperimentTemplate, DeleteExperimentTemplate,
        ListExperimentTemplates, StartExperiment, GetExperiment, ListExperiments, StopExperiment, ListActions,
        GetAction, ListTargetResourceTypes, GetTargetResourceType, ListExperimentResolvedTargets, TagResource,
        UntagResource, ListTagsForResource,
    }
}

fn err(e: FisError) -> AwsError {
    AwsError::new(e.status, e.code, e.message)
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// A member of the input as a record type of the `fis` crate (validation has checked its
/// shape; what does not fit the record is a `ValidationException`).
fn member<T: serde::de::DeserializeOwned>(i: In, key: &str) -> Result<Option<T>, AwsError> {
    match i.0.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v.clone())
            .map(Some)
            .map_err(|e| AwsError::new(400, "ValidationException", format!("Invalid {key}: {e}"))),
    }
}

fn tags_of(i: In, key: &str) -> BTreeMap<String, String> {
    i.0.get(key)
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned()))).collect())
        .unwrap_or_default()
}

/// Refuse the members daxd does not implement, unless they ask for what daxd does anyway.
fn refuse_options(op: &str, i: In) -> Result<(), AwsError> {
    for m in ["logConfiguration", "experimentReportConfiguration"] {
        if i.0.get(m).is_some_and(|v| !v.is_null()) {
            return Err(super::member_not_served("fis", op, m));
        }
    }
    if let Some(o) = i.0.get("experimentOptions").and_then(Value::as_object) {
        let default = |k: &str, d: &str| o.get(k).and_then(Value::as_str).is_none_or(|v| v == d);
        let ok = default("accountTargeting", "single-account")
            && default("emptyTargetResolutionMode", "fail")
            && default("actionsMode", "run-all");
        if !ok {
            return Err(super::member_not_served("fis", op, "experimentOptions"));
        }
    }
    Ok(())
}

fn template_summary(t: &Template) -> Value {
    json!({
        "id": t.id, "arn": t.arn, "description": t.description, "creationTime": t.creation_time,
        "lastUpdateTime": t.last_update_time, "tags": t.tags,
    })
}

fn action_arn(region: &str, account: &str, id: &str) -> String {
    format!("arn:aws:fis:{region}:{account}:action/{id}")
}

fn action_out(a: &ActionSpec, region: &str, account: &str, with_parameters: bool) -> Value {
    let targets: Map<String, Value> =
        a.targets.iter().map(|(k, t)| ((*k).to_owned(), json!({"resourceType": t}))).collect();
    let mut v = json!({
        "id": a.id, "arn": action_arn(region, account, a.id), "description": a.description,
        "targets": targets, "tags": {},
    });
    if with_parameters {
        let params: Map<String, Value> = a
            .parameters
            .iter()
            .map(|p| (p.name.to_owned(), json!({"description": p.description, "required": p.required})))
            .collect();
        v["parameters"] = Value::Object(params);
    }
    v
}

fn target_type_out(t: &TargetTypeSpec, with_parameters: bool) -> Value {
    let mut v = json!({"resourceType": t.resource_type, "description": t.description});
    if with_parameters {
        let params: Map<String, Value> =
            t.parameters.iter().map(|(n, d, r)| ((*n).to_owned(), json!({"description": d, "required": r}))).collect();
        v["parameters"] = Value::Object(params);
    }
    v
}

fn with_token(mut v: Value, token: Option<String>) -> Value {
    if let Some(t) = token {
        v["nextToken"] = json!(t);
    }
    v
}

/// Create `AWSServiceRoleForFIS` for the caller if it is missing: what the first
/// StartExperiment does, gated by `iam:CreateServiceLinkedRole` for `fis.amazonaws.com`.
fn ensure_service_linked_role(iam: &Iam, grant: &Grant<'_>) -> Result<(), AwsError> {
    if iam.service_linked_role(FIS_SERVICE).is_ok() {
        return Ok(());
    }
    let service = Iam::linked_service(FIS_SERVICE)
        .ok_or_else(|| AwsError::new(500, "InternalServerException", "FIS is missing from the service-linked roles"))?;
    let mut create = Target::new("iam", "CreateServiceLinkedRole", &iam.slr_arn(service, None));
    create.context.push(("iam:AWSServiceName".into(), FIS_SERVICE.into()));
    (grant.authorize)(&create)?;
    match iam.create_service_linked_role(FIS_SERVICE, None, None) {
        Ok(_) => Ok(()),
        // Created meanwhile by another request: what matters is that it exists.
        Err(_) if iam.service_linked_role(FIS_SERVICE).is_ok() => Ok(()),
        Err(e) => Err(AwsError::new(500, "InternalServerException", e.to_string())),
    }
}

/// Run one FIS operation (`op` as the model names it) in `region`.
///
/// # Errors
/// FIS's errors, with the model's statuses.
pub fn call(
    fis: &Fis,
    iam: &Iam,
    grant: &Grant<'_>,
    account: &str,
    region: &str,
    op: &str,
    input: &Value,
) -> Result<Value, AwsError> {
    let i = In(input);
    let max = |i: In| i.0.get("maxResults").and_then(Value::as_i64);
    match op {
        "CreateExperimentTemplate" => {
            refuse_options(op, i)?;
            let t = fis::TemplateInput {
                client_token: i.o("clientToken"),
                description: i.o("description"),
                stop_conditions: member(i, "stopConditions")?,
                targets: member(i, "targets")?,
                actions: member(i, "actions")?,
                role_arn: i.o("roleArn"),
                tags: Some(tags_of(i, "tags")),
            };
            let t = fis.create_template(account, region, t).map_err(err)?;
            Ok(json!({"experimentTemplate": to_json(&t)}))
        }
        "GetExperimentTemplate" => {
            let t = fis.get_template(account, region, &i.s("id")).map_err(err)?;
            Ok(json!({"experimentTemplate": to_json(&t)}))
        }
        "UpdateExperimentTemplate" => {
            refuse_options(op, i)?;
            let u = fis::TemplateUpdate {
                description: i.o("description"),
                stop_conditions: member(i, "stopConditions")?,
                targets: member(i, "targets")?,
                actions: member(i, "actions")?,
                role_arn: i.o("roleArn"),
            };
            let t = fis.update_template(account, region, &i.s("id"), u).map_err(err)?;
            Ok(json!({"experimentTemplate": to_json(&t)}))
        }
        "DeleteExperimentTemplate" => {
            let t = fis.delete_template(account, region, &i.s("id")).map_err(err)?;
            Ok(json!({"experimentTemplate": to_json(&t)}))
        }
        "ListExperimentTemplates" => {
            let p = fis.list_templates(account, region, max(i), i.o("nextToken").as_deref()).map_err(err)?;
            let items: Vec<Value> = p.items.iter().map(template_summary).collect();
            Ok(with_token(json!({"experimentTemplates": items}), p.next_token))
        }
        "StartExperiment" => {
            refuse_options(op, i)?;
            // The template must exist before anything is created on its behalf.
            fis.get_template(account, region, &i.s("experimentTemplateId")).map_err(err)?;
            ensure_service_linked_role(iam, grant)?;
            let e = fis
                .start_experiment(
                    account,
                    region,
                    &i.s("clientToken"),
                    &i.s("experimentTemplateId"),
                    tags_of(i, "tags"),
                )
                .map_err(err)?;
            Ok(json!({"experiment": to_json(&e)}))
        }
        "GetExperiment" => {
            let e = fis.get_experiment(account, region, &i.s("id")).map_err(err)?;
            Ok(json!({"experiment": to_json(&e)}))
        }
        "ListExperiments" => {
            let template = i.o("experimentTemplateId");
            let p = fis
                .list_experiments(account, region, template.as_deref(), max(i), i.o("nextToken").as_deref())
                .map_err(err)?;
            let items: Vec<Value> = p
                .items
                .iter()
                .map(|e| {
                    json!({
                        "id": e.id, "arn": e.arn, "experimentTemplateId": e.experiment_template_id,
                        "state": to_json(&e.state), "creationTime": e.creation_time, "tags": e.tags,
                    })
                })
                .collect();
            Ok(with_token(json!({"experiments": items}), p.next_token))
        }
        "StopExperiment" => {
            let e = fis.stop_experiment(account, region, &i.s("id")).map_err(err)?;
            Ok(json!({"experiment": to_json(&e)}))
        }
        "ListExperimentResolvedTargets" => {
            let name = i.o("targetName");
            let all: Vec<(String, Value)> = fis
                .resolved_targets(account, region, &i.s("experimentId"))
                .map_err(err)?
                .into_iter()
                .filter(|(n, _, _)| name.as_ref().is_none_or(|x| x == n))
                .enumerate()
                .map(|(k, (n, t, arn))| {
                    (format!("{k:08}"), json!({"resourceType": t, "targetName": n, "targetInformation": {"arn": arn}}))
                })
                .collect();
            let size = match max(i) {
                None => 100,
                Some(n @ 1..=100) => usize::try_from(n).unwrap_or(100),
                Some(n) => {
                    return Err(AwsError::new(
                        400,
                        "ValidationException",
                        format!("maxResults must be between 1 and 100, not {n}"),
                    ))
                }
            };
            let p = base::page::paginate(all, i.o("nextToken").as_deref(), base::page::TokenForm::Hex, size)
                .map_err(|_| AwsError::new(400, "ValidationException", "Invalid nextToken"))?;
            Ok(with_token(json!({"resolvedTargets": p.items}), p.next_token))
        }
        "ListActions" => {
            let p = catalog::list_actions(max(i), i.o("nextToken").as_deref()).map_err(err)?;
            let items: Vec<Value> = p.items.iter().map(|a| action_out(a, region, account, false)).collect();
            Ok(with_token(json!({"actions": items}), p.next_token))
        }
        "GetAction" => {
            let a = catalog::get_action(&i.s("id")).map_err(err)?;
            Ok(json!({"action": action_out(a, region, account, true)}))
        }
        "ListTargetResourceTypes" => {
            let p = catalog::list_target_types(max(i), i.o("nextToken").as_deref()).map_err(err)?;
            let items: Vec<Value> = p.items.iter().map(|t| target_type_out(t, false)).collect();
            Ok(with_token(json!({"targetResourceTypes": items}), p.next_token))
        }
        "GetTargetResourceType" => {
            let t = catalog::get_target_type(&i.s("resourceType")).map_err(err)?;
            Ok(json!({"targetResourceType": target_type_out(t, true)}))
        }
        "TagResource" => {
            fis.retag(account, region, &i.s("resourceArn"), &tags_of(i, "tags"), &[]).map_err(err)?;
            Ok(json!({}))
        }
        "UntagResource" => {
            fis.retag(account, region, &i.s("resourceArn"), &BTreeMap::new(), &i.list("tagKeys")).map_err(err)?;
            Ok(json!({}))
        }
        "ListTagsForResource" => {
            let tags = fis.list_tags(account, region, &i.s("resourceArn")).map_err(err)?;
            Ok(json!({"tags": tags}))
        }
        _ => Err(super::not_served("fis", op)),
    }
}

/// What each operation is authorized for.
fn targets(account: &str, region: &str, op: FisOp, input: &Value) -> Vec<Target> {
    let i = In(input);
    let arn = |kind: &str, id: &str| format!("arn:aws:fis:{region}:{account}:{kind}/{id}");
    let on = |r: String| Target::new("fis", op.name(), &r);
    let with_tags = |mut t: Target, key: &str| {
        for (k, v) in tags_of(i, key) {
            t.context.push((format!("aws:RequestTag/{k}"), v));
            t.tag_keys.push(k);
        }
        t
    };
    let pass_role = || {
        i.o("roleArn").map(|role| {
            let mut t = Target::new("iam", "PassRole", &role);
            t.context.push(("iam:PassedToService".into(), FIS_SERVICE.into()));
            t
        })
    };
    let actions_of = || -> Vec<String> {
        let mut ids: Vec<String> = i
            .0
            .get("actions")
            .and_then(Value::as_object)
            .map(|m| m.values().filter_map(|a| a.get("actionId").and_then(Value::as_str)).map(str::to_owned).collect())
            .unwrap_or_default();
        ids.sort();
        ids.dedup();
        ids
    };
    match op {
        FisOp::CreateExperimentTemplate => {
            let mut out = vec![with_tags(on(arn("experiment-template", "*")), "tags")];
            out.extend(actions_of().iter().map(|a| on(arn("action", a))));
            out.extend(pass_role());
            out
        }
        FisOp::UpdateExperimentTemplate => {
            let mut out = vec![on(arn("experiment-template", &i.s("id")))];
            out.extend(actions_of().iter().map(|a| on(arn("action", a))));
            out.extend(pass_role());
            out
        }
        FisOp::GetExperimentTemplate | FisOp::DeleteExperimentTemplate => {
            vec![on(arn("experiment-template", &i.s("id")))]
        }
        FisOp::StartExperiment => vec![
            with_tags(on(arn("experiment", "*")), "tags"),
            on(arn("experiment-template", &i.s("experimentTemplateId"))),
        ],
        FisOp::GetExperiment | FisOp::StopExperiment => vec![on(arn("experiment", &i.s("id")))],
        FisOp::ListExperimentResolvedTargets => vec![on(arn("experiment", &i.s("experimentId")))],
        FisOp::GetAction => vec![on(arn("action", &i.s("id")))],
        FisOp::TagResource => vec![with_tags(on(i.s("resourceArn")), "tags")],
        FisOp::UntagResource => {
            let mut t = on(i.s("resourceArn"));
            t.tag_keys = i.list("tagKeys");
            vec![t]
        }
        FisOp::ListTagsForResource => vec![on(i.s("resourceArn"))],
        FisOp::ListExperimentTemplates
        | FisOp::ListExperiments
        | FisOp::ListActions
        | FisOp::ListTargetResourceTypes
        | FisOp::GetTargetResourceType => vec![on("*".to_owned())],
    }
}

/// The FIS handler. Its impl comes after `call` (the input-member walk of
/// `tests/repo/input_members.rs` reads the first `fn call` of a file).
pub struct FisApi {
    pub fis: Arc<Fis>,
    /// For the service-linked role the first StartExperiment creates.
    pub iam: Arc<Iam>,
}

impl Handler for FisApi {
    type Op = FisOp;
    const SERVICE: Service = Service::Fis;
    const BLOCKING: bool = true;

    async fn targets(&self, op: FisOp, input: &Value, who: &Principal<'_>) -> Vec<Target> {
        targets(who.account, who.region, op, input)
    }

    async fn call(&self, op: FisOp, input: Value, who: &Principal<'_>, grant: &Grant<'_>) -> Result<Value, AwsError> {
        call(&self.fis, &self.iam, grant, who.account, who.region, op.name(), &input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_the_models() {
        assert_eq!(super::super::handler::tests::check_operations::<FisApi>(), 17);
    }

    #[test]
    fn operations_target_templates_experiments_and_actions() {
        let (acct, region) = ("123456789012", "us-east-1");
        let res = |op, input: Value| -> Vec<(String, String)> {
            targets(acct, region, op, &input).into_iter().map(|t| (t.action, t.resource)).collect()
        };
        let p = "arn:aws:fis:us-east-1:123456789012";
        assert_eq!(
            res(FisOp::GetExperimentTemplate, json!({"id": "EXT1"})),
            [("fis:GetExperimentTemplate".to_owned(), format!("{p}:experiment-template/EXT1"))]
        );
        assert_eq!(
            res(FisOp::StopExperiment, json!({"id": "EXP1"})),
            [("fis:StopExperiment".to_owned(), format!("{p}:experiment/EXP1"))]
        );
        assert_eq!(
            res(FisOp::StartExperiment, json!({"experimentTemplateId": "EXT1", "clientToken": "t"})),
            [
                ("fis:StartExperiment".to_owned(), format!("{p}:experiment/*")),
                ("fis:StartExperiment".to_owned(), format!("{p}:experiment-template/EXT1"))
            ]
        );
        let create = json!({
            "roleArn": "arn:aws:iam::123456789012:role/r",
            "actions": {"a": {"actionId": "aws:fis:wait"}, "b": {"actionId": "aws:fis:wait"}},
            "tags": {"k": "v"}
        });
        let t = targets(acct, region, FisOp::CreateExperimentTemplate, &create);
        let got: Vec<(&str, &str)> = t.iter().map(|t| (t.action.as_str(), t.resource.as_str())).collect();
        assert_eq!(
            got,
            [
                ("fis:CreateExperimentTemplate", "arn:aws:fis:us-east-1:123456789012:experiment-template/*"),
                ("fis:CreateExperimentTemplate", "arn:aws:fis:us-east-1:123456789012:action/aws:fis:wait"),
                ("iam:PassRole", "arn:aws:iam::123456789012:role/r"),
            ]
        );
        assert_eq!(t[0].tag_keys, ["k"]);
        assert_eq!(t[2].context, [("iam:PassedToService".to_owned(), "fis.amazonaws.com".to_owned())]);
        assert_eq!(res(FisOp::ListActions, json!({})), [("fis:ListActions".to_owned(), "*".to_owned())]);
    }
}
