//! IAM operations.

use iam::{AccessKey, Iam, IamError, KeyStatus, Tag, User};
use serde::Deserialize;
use serde_json::{json, Value};
use wire::AwsError;

use super::{domain_error, input};
use crate::auth::Principal;
use crate::services::{def, Service};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireTag {
    key: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateUser {
    user_name: String,
    path: Option<String>,
    #[serde(default)]
    tags: Vec<WireTag>,
    permissions_boundary: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UserNameOpt {
    user_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UserName {
    user_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListUsers {
    path_prefix: Option<String>,
    marker: Option<String>,
    max_items: Option<usize>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListAccessKeys {
    user_name: Option<String>,
    marker: Option<String>,
    max_items: Option<usize>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AccessKeyRef {
    user_name: Option<String>,
    access_key_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateAccessKey {
    user_name: Option<String>,
    access_key_id: String,
    status: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagUser {
    user_name: String,
    tags: Vec<WireTag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UntagUser {
    user_name: String,
    tag_keys: Vec<String>,
}

fn tags(t: Vec<WireTag>) -> Vec<Tag> {
    t.into_iter().map(|t| Tag { key: t.key, value: t.value }).collect()
}

fn tags_out(t: &[Tag]) -> Value {
    Value::Array(t.iter().map(|t| json!({"Key": t.key, "Value": t.value})).collect())
}

/// `User` as GetUser and CreateUser show it.
fn user_out(u: &User) -> Value {
    let mut v = json!({
        "Path": u.path, "UserName": u.name, "UserId": u.id, "Arn": u.arn, "CreateDate": u.create_date,
    });
    if let Some(b) = &u.permissions_boundary {
        v["PermissionsBoundary"] = json!({"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": b});
    }
    if !u.tags.is_empty() {
        v["Tags"] = tags_out(&u.tags);
    }
    v
}

/// `User` as ListUsers shows it: without tags and boundary.
fn user_summary(u: &User) -> Value {
    json!({"Path": u.path, "UserName": u.name, "UserId": u.id, "Arn": u.arn, "CreateDate": u.create_date})
}

fn key_meta(k: &AccessKey) -> Value {
    json!({"UserName": k.user_name, "AccessKeyId": k.id, "Status": k.status.as_str(), "CreateDate": k.create_date})
}

fn err(e: IamError) -> AwsError {
    domain_error(def(Service::Iam), e.code(), e.to_string())
}

fn str_field<'a>(input: &'a Value, name: &str) -> Option<&'a str> {
    input.get(name).and_then(Value::as_str)
}

/// The user an operation acts on: the named one, or the caller when the
/// name is omitted (as AWS does for the access-key and GetUser calls).
fn target_user(principal: &Principal, named: Option<String>) -> Result<String, AwsError> {
    match (named, principal) {
        (Some(n), _) => Ok(n),
        (None, Principal::User { user, .. }) => Ok(user.name.clone()),
        (None, Principal::Root { .. }) => Err(domain_error(
            def(Service::Iam),
            "ValidationError",
            "Must specify userName when calling with non-User credentials".to_owned(),
        )),
    }
}

/// The resource an IAM action is authorized on: the ARN of the user it
/// names (or the caller), else `*`.
pub fn resource(iam: &Iam, principal: &Principal, op: &str, input: &Value) -> String {
    let user_ops = [
        "CreateUser", "GetUser", "DeleteUser", "TagUser", "UntagUser", "ListUserTags", "CreateAccessKey",
        "ListAccessKeys", "UpdateAccessKey", "DeleteAccessKey",
    ];
    if !user_ops.contains(&op) {
        return "*".to_owned();
    }
    match str_field(input, "UserName") {
        Some(name) => {
            let path = iam.get_user(name).map(|u| u.path).unwrap_or_else(|_| {
                str_field(input, "Path").filter(|_| op == "CreateUser").unwrap_or("/").to_owned()
            });
            iam.user_arn(&path, name)
        }
        None => match principal {
            Principal::User { user, .. } => user.arn.clone(),
            Principal::Root { .. } => "*".to_owned(),
        },
    }
}

pub fn call(iam: &Iam, principal: &Principal, op: &str, raw: Value) -> Result<Value, AwsError> {
    let d = def(Service::Iam);
    match op {
        "CreateUser" => {
            let i: CreateUser = input(d, raw)?;
            let u = iam.create_user(&i.user_name, i.path.as_deref(), tags(i.tags), i.permissions_boundary).map_err(err)?;
            Ok(json!({"User": user_out(&u)}))
        }
        "GetUser" => {
            let i: UserNameOpt = input(d, raw)?;
            match (i.user_name, principal) {
                (Some(n), _) => Ok(json!({"User": user_out(&iam.get_user(&n).map_err(err)?)})),
                (None, Principal::User { user, .. }) => Ok(json!({"User": user_out(&iam.get_user(&user.name).map_err(err)?)})),
                (None, Principal::Root { account }) => {
                    Ok(json!({"User": {"UserId": account, "Arn": principal.arn(), "CreateDate": 0}}))
                }
            }
        }
        "ListUsers" => {
            let i: ListUsers = input(d, raw)?;
            let page = iam.list_users(i.path_prefix.as_deref(), i.marker.as_deref(), i.max_items).map_err(err)?;
            Ok(json!({
                "Users": page.items.iter().map(user_summary).collect::<Vec<_>>(),
                "IsTruncated": page.is_truncated(),
                "Marker": page.marker,
            }))
        }
        "DeleteUser" => {
            let i: UserName = input(d, raw)?;
            iam.delete_user(&i.user_name).map_err(err)?;
            Ok(json!({}))
        }
        "TagUser" => {
            let i: TagUser = input(d, raw)?;
            iam.tag_user(&i.user_name, tags(i.tags)).map_err(err)?;
            Ok(json!({}))
        }
        "UntagUser" => {
            let i: UntagUser = input(d, raw)?;
            iam.untag_user(&i.user_name, &i.tag_keys).map_err(err)?;
            Ok(json!({}))
        }
        "ListUserTags" => {
            let i: UserName = input(d, raw)?;
            let u = iam.get_user(&i.user_name).map_err(err)?;
            Ok(json!({"Tags": tags_out(&u.tags), "IsTruncated": false}))
        }
        "CreateAccessKey" => {
            let i: UserNameOpt = input(d, raw)?;
            let user = target_user(principal, i.user_name)?;
            let k = iam.create_access_key(&user).map_err(err)?;
            Ok(json!({"AccessKey": {
                "UserName": k.user_name, "AccessKeyId": k.id, "Status": k.status.as_str(),
                "SecretAccessKey": k.secret, "CreateDate": k.create_date,
            }}))
        }
        "ListAccessKeys" => {
            let i: ListAccessKeys = input(d, raw)?;
            let user = target_user(principal, i.user_name)?;
            let page = iam.list_access_keys(&user, i.marker.as_deref(), i.max_items).map_err(err)?;
            Ok(json!({
                "AccessKeyMetadata": page.items.iter().map(key_meta).collect::<Vec<_>>(),
                "IsTruncated": page.is_truncated(),
                "Marker": page.marker,
            }))
        }
        "UpdateAccessKey" => {
            let i: UpdateAccessKey = input(d, raw)?;
            let user = target_user(principal, i.user_name)?;
            let status = match i.status.as_str() {
                "Active" => KeyStatus::Active,
                "Inactive" => KeyStatus::Inactive,
                other => {
                    return Err(domain_error(d, "ValidationError", format!("Invalid status {other}: must be Active or Inactive")))
                }
            };
            iam.update_access_key(&user, &i.access_key_id, status).map_err(err)?;
            Ok(json!({}))
        }
        "DeleteAccessKey" => {
            let i: AccessKeyRef = input(d, raw)?;
            let user = target_user(principal, i.user_name)?;
            iam.delete_access_key(&user, &i.access_key_id).map_err(err)?;
            Ok(json!({}))
        }
        _ => Err(super::not_served("iam", op)),
    }
}
