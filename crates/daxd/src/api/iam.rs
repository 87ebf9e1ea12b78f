//! IAM operations: wire values in, domain calls, wire values out.

use std::sync::Arc;

use iam::{
    AccessKey, Caller, CreateRole, EntityKind, Granularity, Group, Iam, IamError, ManagedPolicy, PolicyScope,
    PolicyUsage, Role, RoleUpdate, Tag, User,
};
use serde_json::{json, Value};
use wire::AwsError;

use super::handler::{operations, Grant, Handler, Operation, Principal};
use super::input::In;
use super::{domain_error, Target};
use crate::services::{def, Service};

fn err(e: IamError) -> AwsError {
    domain_error(def(Service::Iam), e.code(), e.to_string())
}

fn tags_out(t: &[Tag]) -> Value {
    Value::Array(t.iter().map(|t| json!({"Key": t.key, "Value": t.value})).collect())
}

fn boundary_out(b: Option<&String>) -> Option<Value> {
    b.map(|b| json!({"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": b}))
}

/// `User` as GetUser and CreateUser show it.
fn user_out(u: &User) -> Value {
    let mut v = user_summary(u);
    if let Some(b) = boundary_out(u.permissions_boundary.as_ref()) {
        v["PermissionsBoundary"] = b;
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

fn group_out(g: &Group) -> Value {
    json!({"Path": g.path, "GroupName": g.name, "GroupId": g.id, "Arn": g.arn, "CreateDate": g.create_date})
}

/// `Role` as GetRole shows it, with `RoleLastUsed` (empty when never used).
fn role_out(r: &Role) -> Value {
    let mut v = role_summary(r);
    if let Some(b) = boundary_out(r.permissions_boundary.as_ref()) {
        v["PermissionsBoundary"] = b;
    }
    if !r.tags.is_empty() {
        v["Tags"] = tags_out(&r.tags);
    }
    v["RoleLastUsed"] = match &r.last_used {
        Some(l) => json!({"LastUsedDate": l.date, "Region": l.region}),
        None => json!({}),
    };
    v
}

/// `Role` as ListRoles shows it: without boundary, tags and last use.
fn role_summary(r: &Role) -> Value {
    let mut v = json!({
        "Path": r.path, "RoleName": r.name, "RoleId": r.id, "Arn": r.arn, "CreateDate": r.create_date,
        "AssumeRolePolicyDocument": r.assume_role_policy, "MaxSessionDuration": r.max_session_duration,
    });
    if let Some(d) = &r.description {
        v["Description"] = json!(d);
    }
    v
}

/// `PolicyUsageFilter`.
fn policy_usage(i: &In) -> Option<PolicyUsage> {
    match i.o("PolicyUsageFilter").as_deref() {
        Some("PermissionsPolicy") => Some(PolicyUsage::PermissionsPolicy),
        Some("PermissionsBoundary") => Some(PolicyUsage::PermissionsBoundary),
        _ => None,
    }
}

fn policy_out(p: &ManagedPolicy) -> Value {
    let mut v = json!({
        "PolicyName": p.name, "PolicyId": p.id, "Arn": p.arn, "Path": p.path, "DefaultVersionId": p.default_version_id,
        "AttachmentCount": p.attachment_count, "PermissionsBoundaryUsageCount": p.boundary_usage_count,
        "IsAttachable": true, "CreateDate": p.create_date, "UpdateDate": p.update_date,
    });
    if let Some(d) = &p.description {
        v["Description"] = json!(d);
    }
    if !p.tags.is_empty() {
        v["Tags"] = tags_out(&p.tags);
    }
    v
}

fn key_meta(k: &AccessKey) -> Value {
    json!({"UserName": k.user_name, "AccessKeyId": k.id, "Status": k.status.as_str(), "CreateDate": k.create_date})
}

fn page_out(list_key: &str, items: Vec<Value>, marker: Option<String>) -> Value {
    json!({list_key: items, "IsTruncated": marker.is_some(), "Marker": marker})
}

/// A listing held whole, paged by the request's `Marker` and `MaxItems`.
fn paged(
    items: Vec<Value>,
    marker: Option<String>,
    max_items: Option<usize>,
) -> Result<(Vec<Value>, Option<String>), AwsError> {
    super::input::page(items, marker, max_items)
        .ok_or_else(|| domain_error(def(Service::Iam), "InvalidInput", "Invalid Marker.".to_owned()))
}

/// `{Tags, IsTruncated, Marker}` for the List*Tags operations.
fn tags_page(tags: &[Tag], i: &In) -> Result<Value, AwsError> {
    let (items, marker) =
        paged(tags_out(tags).as_array().cloned().unwrap_or_default(), i.o("Marker"), i.usize("MaxItems"))?;
    Ok(page_out("Tags", items, marker))
}

/// The user an operation acts on: the named one, or the calling user when
/// the name is omitted (as AWS does for the access-key and GetUser calls).
fn target_user(caller: &Caller, named: Option<String>) -> Result<String, AwsError> {
    match (named, caller) {
        (Some(n), _) => Ok(n),
        (None, Caller::User(u)) => Ok(u.name.clone()),
        (None, Caller::Session(s)) => match &s.kind {
            iam::SessionKind::User { user_name } => Ok(user_name.clone()),
            _ => Err(must_name_user()),
        },
        (None, Caller::Root) => Err(must_name_user()),
    }
}

/// A member the model leaves optional but the operation needs, as AWS reports it.
fn missing(member: &str) -> AwsError {
    domain_error(
        def(Service::Iam),
        "ValidationError",
        format!("1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"),
    )
}

fn login_profile_out(p: &iam::LoginProfile) -> Value {
    let mut v = json!({"UserName": p.user_name, "CreateDate": p.create_date, "PasswordResetRequired": p.password_reset_required});
    if let Some(d) = p.max_signin_session_duration {
        v["MaxSigninSessionDuration"] = json!(d);
    }
    v
}

fn must_name_user() -> AwsError {
    domain_error(
        def(Service::Iam),
        "ValidationError",
        "Must specify userName when calling with non-User credentials".to_owned(),
    )
}

operations! {
    /// The IAM operations daxd serves.
    pub enum IamOp {
        AddRoleToInstanceProfile, AddUserToGroup, AttachGroupPolicy, AttachRolePolicy, AttachUserPolicy,
        CreateAccessKey, CreateGroup, CreateLoginProfile, CreatePolicy, CreatePolicyVersion, CreateRole,
        CreateServiceLinkedRole, CreateUser, DeleteAccessKey, DeleteGroup, DeleteGroupPolicy, DeleteLoginProfile,
        DeletePolicy, DeletePolicyVersion, DeleteRole, DeleteRolePermissionsBoundary, DeleteRolePolicy,
        DeleteServiceLinkedRole, DeleteUser, DeleteUserPermissionsBoundary, DeleteUserPolicy, DetachGroupPolicy,
        DetachRolePolicy, DetachUserPolicy, GenerateServiceLastAccessedDetails, GetGroup, GetGroupPolicy,
        GetLoginProfile, GetPolicy, GetPolicyVersion, GetRole, GetRolePolicy, GetServiceLastAccessedDetails,
        GetServiceLastAccessedDetailsWithEntities, GetServiceLinkedRoleDeletionStatus, GetUser, GetUserPolicy,
        ListAccessKeys, ListAttachedGroupPolicies, ListAttachedRolePolicies, ListAttachedUserPolicies,
        ListEntitiesForPolicy, ListGroupPolicies, ListGroups, ListGroupsForUser, ListPolicies, ListPolicyTags,
        ListPolicyVersions, ListRolePolicies, ListRoleTags, ListRoles, ListUserPolicies, ListUserTags, ListUsers,
        PutGroupPolicy, PutRolePermissionsBoundary, PutRolePolicy, PutUserPermissionsBoundary, PutUserPolicy,
        RemoveRoleFromInstanceProfile, RemoveUserFromGroup, SetDefaultPolicyVersion, SimulateCustomPolicy,
        SimulatePrincipalPolicy, TagPolicy, TagRole, TagUser, UntagPolicy, UntagRole, UntagUser, UpdateAccessKey,
        UpdateAssumeRolePolicy, UpdateLoginProfile, UpdateRole, UpdateRoleDescription,
    }
}

/// The kind of entity an operation names by its `UserName`, `GroupName` or `RoleName`.
fn named_entity(op: IamOp) -> Option<EntityKind> {
    use IamOp as O;
    match op {
        O::AddUserToGroup
        | O::AttachGroupPolicy
        | O::CreateGroup
        | O::DeleteGroup
        | O::DeleteGroupPolicy
        | O::DetachGroupPolicy
        | O::GetGroup
        | O::GetGroupPolicy
        | O::ListAttachedGroupPolicies
        | O::ListGroupPolicies
        | O::PutGroupPolicy
        | O::RemoveUserFromGroup => Some(EntityKind::Group),
        O::AttachRolePolicy
        | O::CreateRole
        | O::DeleteRole
        | O::DeleteRolePermissionsBoundary
        | O::DeleteRolePolicy
        | O::DeleteServiceLinkedRole
        | O::DetachRolePolicy
        | O::GetRole
        | O::GetRolePolicy
        | O::ListAttachedRolePolicies
        | O::ListRolePolicies
        | O::ListRoleTags
        | O::PutRolePermissionsBoundary
        | O::PutRolePolicy
        | O::TagRole
        | O::UntagRole
        | O::UpdateAssumeRolePolicy
        | O::UpdateRole
        | O::UpdateRoleDescription => Some(EntityKind::Role),
        O::AttachUserPolicy
        | O::CreateAccessKey
        | O::CreateLoginProfile
        | O::CreateUser
        | O::DeleteAccessKey
        | O::DeleteLoginProfile
        | O::DeleteUser
        | O::DeleteUserPermissionsBoundary
        | O::DeleteUserPolicy
        | O::DetachUserPolicy
        | O::GetLoginProfile
        | O::GetUser
        | O::GetUserPolicy
        | O::ListAccessKeys
        | O::ListAttachedUserPolicies
        | O::ListGroupsForUser
        | O::ListUserPolicies
        | O::ListUserTags
        | O::PutUserPermissionsBoundary
        | O::PutUserPolicy
        | O::TagUser
        | O::UntagUser
        | O::UpdateAccessKey
        | O::UpdateLoginProfile => Some(EntityKind::User),
        _ => None,
    }
}

/// Operations on a user that act on the calling user when the request names none.
fn defaults_to_calling_user(op: IamOp) -> bool {
    use IamOp as O;
    matches!(
        op,
        O::CreateAccessKey
            | O::DeleteAccessKey
            | O::ListAccessKeys
            | O::UpdateAccessKey
            | O::GetUser
            | O::ListUserTags
            | O::CreateLoginProfile
            | O::GetLoginProfile
            | O::UpdateLoginProfile
            | O::DeleteLoginProfile
    )
}

/// The entity kind and name an operation names, by its parameter.
fn entity(op: IamOp, i: In) -> Option<(EntityKind, String)> {
    let kind = named_entity(op)?;
    let key = match kind {
        EntityKind::User => "UserName",
        EntityKind::Group => "GroupName",
        EntityKind::Role => "RoleName",
    };
    i.o(key).map(|n| (kind, n))
}

/// What an IAM action is authorized on: the ARN of the entity it names, with
/// the condition keys the request makes knowable.
pub fn target(iam: &Iam, caller: &Caller, op: IamOp, input: &Value) -> Target {
    use IamOp as O;
    let i = In(input);
    let account = iam.account();
    let mut t = Target::new("iam", op.name(), "*");
    let user_arn = |name: &str| {
        iam.get_user(name).map_or_else(|_| iam.user_arn(i.o("Path").as_deref().unwrap_or("/"), name), |u| u.arn)
    };
    t.resource = match op {
        O::ListUsers => format!("arn:aws:iam::{account}:user/"),
        O::ListRoles => format!("arn:aws:iam::{account}:role/"),
        O::ListGroups => format!("arn:aws:iam::{account}:group/"),
        O::ListPolicies => format!("arn:aws:iam::{account}:policy/"),
        O::CreatePolicy => iam.policy_arn(i.o("Path").as_deref().unwrap_or("/"), &i.s("PolicyName")),
        O::CreateServiceLinkedRole => {
            let svc = i.s("AWSServiceName");
            t.context.push(("iam:AWSServiceName".into(), svc.clone()));
            match Iam::linked_service(&svc) {
                Some(s) => iam.slr_arn(s, i.o("CustomSuffix").as_deref()),
                None => format!("arn:aws:iam::{account}:role/aws-service-role/{svc}/*"),
            }
        }
        O::GenerateServiceLastAccessedDetails => i.s("Arn"),
        O::SimulatePrincipalPolicy => i.s("PolicySourceArn"),
        O::AddRoleToInstanceProfile | O::RemoveRoleFromInstanceProfile => {
            format!("arn:aws:iam::{account}:instance-profile/{}", i.s("InstanceProfileName"))
        }
        O::GetPolicy
        | O::DeletePolicy
        | O::GetPolicyVersion
        | O::CreatePolicyVersion
        | O::SetDefaultPolicyVersion
        | O::DeletePolicyVersion
        | O::ListPolicyVersions
        | O::ListEntitiesForPolicy
        | O::TagPolicy
        | O::UntagPolicy
        | O::ListPolicyTags => i.s("PolicyArn"),
        _ => match entity(op, i) {
            Some((EntityKind::User, name)) => user_arn(&name),
            Some((EntityKind::Group, name)) => iam.get_group(&name).map_or_else(
                |_| format!("arn:aws:iam::{account}:group{}{name}", i.o("Path").as_deref().unwrap_or("/")),
                |(g, _)| g.arn,
            ),
            Some((EntityKind::Role, name)) => iam.get_role(&name).map_or_else(
                |_| format!("arn:aws:iam::{account}:role{}{name}", i.o("Path").as_deref().unwrap_or("/")),
                |r| r.arn,
            ),
            None if defaults_to_calling_user(op) => match caller {
                Caller::User(u) => u.arn.clone(),
                _ => "*".to_owned(),
            },
            None => "*".to_owned(),
        },
    };
    let attaches = matches!(
        op,
        O::AttachUserPolicy
            | O::AttachGroupPolicy
            | O::AttachRolePolicy
            | O::DetachUserPolicy
            | O::DetachGroupPolicy
            | O::DetachRolePolicy
    );
    if let Some(arn) = i.o("PolicyArn").filter(|_| attaches) {
        t.context.push(("iam:PolicyARN".into(), arn));
    }
    request_tags(&mut t, i);
    t
}

/// `aws:RequestTag/*` and `aws:TagKeys` of the request's `Tags` and `TagKeys`.
fn request_tags(t: &mut Target, i: In) {
    for tag in i.tags("Tags") {
        t.context.push((format!("aws:RequestTag/{}", tag.key), tag.value.clone()));
        t.tag_keys.push(tag.key);
    }
    t.tag_keys.extend(i.list("TagKeys"));
}

#[allow(clippy::too_many_lines)]
pub fn call(iam: &Iam, caller: &Caller, op: &str, raw: &Value) -> Result<Value, AwsError> {
    let i = In(raw);
    let ok = || Ok(json!({}));
    match op {
        // ----- users -----
        "CreateUser" => {
            let u = iam
                .create_user(&i.s("UserName"), i.o("Path").as_deref(), i.tags("Tags"), i.o("PermissionsBoundary"))
                .map_err(err)?;
            Ok(json!({"User": user_out(&u)}))
        }
        "GetUser" => match (i.o("UserName"), caller) {
            (None, Caller::Root) => Ok(
                json!({"User": {"UserId": iam.account(), "Arn": format!("arn:aws:iam::{}:root", iam.account()), "CreateDate": 0}}),
            ),
            (named, _) => {
                let name = target_user(caller, named)?;
                Ok(json!({"User": user_out(&iam.get_user(&name).map_err(err)?)}))
            }
        },
        "ListUsers" => {
            let p = iam
                .list_users(i.o("PathPrefix").as_deref(), i.o("Marker").as_deref(), i.usize("MaxItems"))
                .map_err(err)?;
            Ok(page_out("Users", p.items.iter().map(user_summary).collect(), p.marker))
        }
        "DeleteUser" => iam.delete_user(&i.s("UserName")).map_err(err).and_then(|()| ok()),
        "TagUser" => iam.tag_user(&i.s("UserName"), i.tags("Tags")).map_err(err).and_then(|()| ok()),
        "UntagUser" => iam.untag_user(&i.s("UserName"), &i.list("TagKeys")).map_err(err).and_then(|()| ok()),
        "ListUserTags" => {
            let u = iam.get_user(&i.s("UserName")).map_err(err)?;
            tags_page(&u.tags, &i)
        }
        "PutUserPermissionsBoundary" => {
            iam.set_user_boundary(&i.s("UserName"), Some(i.s("PermissionsBoundary"))).map_err(err).and_then(|()| ok())
        }
        "DeleteUserPermissionsBoundary" => {
            iam.set_user_boundary(&i.s("UserName"), None).map_err(err).and_then(|()| ok())
        }

        // ----- access keys -----
        "CreateAccessKey" => {
            let user = target_user(caller, i.o("UserName"))?;
            let k = iam.create_access_key(&user).map_err(err)?;
            Ok(json!({"AccessKey": {
                "UserName": k.user_name, "AccessKeyId": k.id, "Status": k.status.as_str(),
                "SecretAccessKey": k.secret, "CreateDate": k.create_date,
            }}))
        }
        "ListAccessKeys" => {
            let user = target_user(caller, i.o("UserName"))?;
            let p = iam.list_access_keys(&user, i.o("Marker").as_deref(), i.usize("MaxItems")).map_err(err)?;
            Ok(page_out("AccessKeyMetadata", p.items.iter().map(key_meta).collect(), p.marker))
        }
        "UpdateAccessKey" => {
            let user = target_user(caller, i.o("UserName"))?;
            let status = if i.s("Status") == "Active" { iam::KeyStatus::Active } else { iam::KeyStatus::Inactive };
            iam.update_access_key(&user, &i.s("AccessKeyId"), status).map_err(err).and_then(|()| ok())
        }
        "DeleteAccessKey" => {
            let user = target_user(caller, i.o("UserName"))?;
            iam.delete_access_key(&user, &i.s("AccessKeyId")).map_err(err).and_then(|()| ok())
        }

        // ----- login profiles (console passwords) -----
        "CreateLoginProfile" => {
            let user = target_user(caller, i.o("UserName"))?;
            let password = i.o("Password").ok_or_else(|| missing("password"))?;
            let p = iam
                .create_login_profile(
                    &user,
                    &password,
                    i.bool("PasswordResetRequired").unwrap_or(false),
                    i.u32("MaxSigninSessionDuration"),
                )
                .map_err(err)?;
            Ok(json!({"LoginProfile": login_profile_out(&p)}))
        }
        "GetLoginProfile" => {
            let user = target_user(caller, i.o("UserName"))?;
            Ok(json!({"LoginProfile": login_profile_out(&iam.get_login_profile(&user).map_err(err)?)}))
        }
        "UpdateLoginProfile" => {
            let update = iam::LoginProfileUpdate {
                password: i.o("Password"),
                password_reset_required: i.bool("PasswordResetRequired"),
                max_signin_session_duration: i.u32("MaxSigninSessionDuration"),
                reset_max_signin_session_duration: i.bool("ResetMaxSigninSessionDuration").unwrap_or(false),
            };
            iam.update_login_profile(&i.s("UserName"), update).map_err(err).and_then(|()| ok())
        }
        "DeleteLoginProfile" => {
            let user = target_user(caller, i.o("UserName"))?;
            iam.delete_login_profile(&user).map_err(err).and_then(|()| ok())
        }

        // ----- groups -----
        "CreateGroup" => {
            let g = iam.create_group(&i.s("GroupName"), i.o("Path").as_deref()).map_err(err)?;
            Ok(json!({"Group": group_out(&g)}))
        }
        "GetGroup" => {
            let (g, users) = iam.get_group(&i.s("GroupName")).map_err(err)?;
            let (users, marker) = paged(users.iter().map(user_summary).collect(), i.o("Marker"), i.usize("MaxItems"))?;
            let mut out = page_out("Users", users, marker);
            out["Group"] = group_out(&g);
            Ok(out)
        }
        "ListGroups" => {
            let p = iam
                .list_groups(i.o("PathPrefix").as_deref(), i.o("Marker").as_deref(), i.usize("MaxItems"))
                .map_err(err)?;
            Ok(page_out("Groups", p.items.iter().map(group_out).collect(), p.marker))
        }
        "ListGroupsForUser" => {
            let gs = iam.groups_for_user(&i.s("UserName")).map_err(err)?;
            let (groups, marker) = paged(gs.iter().map(group_out).collect(), i.o("Marker"), i.usize("MaxItems"))?;
            Ok(page_out("Groups", groups, marker))
        }
        "AddUserToGroup" => iam.add_user_to_group(&i.s("GroupName"), &i.s("UserName")).map_err(err).and_then(|()| ok()),
        "RemoveUserFromGroup" => {
            iam.remove_user_from_group(&i.s("GroupName"), &i.s("UserName")).map_err(err).and_then(|()| ok())
        }
        "DeleteGroup" => iam.delete_group(&i.s("GroupName")).map_err(err).and_then(|()| ok()),

        // ----- roles -----
        "CreateRole" => {
            if i.0.get("MaxSigninSessionDuration").is_some() {
                return Err(super::member_not_served("iam", op, "MaxSigninSessionDuration"));
            }
            let r = iam
                .create_role(CreateRole {
                    name: i.s("RoleName"),
                    path: i.o("Path"),
                    assume_role_policy: i.s("AssumeRolePolicyDocument"),
                    description: i.o("Description"),
                    max_session_duration: i.u32("MaxSessionDuration"),
                    permissions_boundary: i.o("PermissionsBoundary"),
                    tags: i.tags("Tags"),
                })
                .map_err(err)?;
            let mut out = role_out(&r);
            if let Some(o) = out.as_object_mut() {
                o.remove("RoleLastUsed");
            }
            Ok(json!({"Role": out}))
        }
        "GetRole" => Ok(json!({"Role": role_out(&iam.get_role(&i.s("RoleName")).map_err(err)?)})),
        "ListRoles" => {
            let p = iam
                .list_roles(i.o("PathPrefix").as_deref(), i.o("Marker").as_deref(), i.usize("MaxItems"))
                .map_err(err)?;
            Ok(page_out("Roles", p.items.iter().map(role_summary).collect(), p.marker))
        }
        "UpdateRole" => {
            let update =
                RoleUpdate { description: i.o("Description"), max_session_duration: i.u32("MaxSessionDuration") };
            if i.0.get("MaxSigninSessionDuration").is_some() || i.bool("ResetMaxSigninSessionDuration").is_some() {
                let r = iam.get_role(&i.s("RoleName")).map_err(err)?;
                if r.linked_service.is_some() {
                    return Err(domain_error(
                        def(Service::Iam),
                        "UnmodifiableEntity",
                        "You cannot change the maximum sign-in session duration of a service-linked role".to_owned(),
                    ));
                }
            }
            iam.update_role(&i.s("RoleName"), update).map_err(err)?;
            ok()
        }
        "UpdateRoleDescription" => {
            let r = iam
                .update_role(
                    &i.s("RoleName"),
                    RoleUpdate { description: Some(i.s("Description")), max_session_duration: None },
                )
                .map_err(err)?;
            Ok(json!({"Role": role_out(&r)}))
        }
        "UpdateAssumeRolePolicy" => {
            iam.update_assume_role_policy(&i.s("RoleName"), &i.s("PolicyDocument")).map_err(err).and_then(|()| ok())
        }
        "DeleteRole" => iam.delete_role(&i.s("RoleName")).map_err(err).and_then(|()| ok()),
        "TagRole" => iam.tag_role(&i.s("RoleName"), i.tags("Tags"), &[]).map_err(err).and_then(|()| ok()),
        "UntagRole" => iam.tag_role(&i.s("RoleName"), Vec::new(), &i.list("TagKeys")).map_err(err).and_then(|()| ok()),
        "ListRoleTags" => {
            let r = iam.get_role(&i.s("RoleName")).map_err(err)?;
            tags_page(&r.tags, &i)
        }
        "PutRolePermissionsBoundary" => {
            iam.set_role_boundary(&i.s("RoleName"), Some(i.s("PermissionsBoundary"))).map_err(err).and_then(|()| ok())
        }
        "DeleteRolePermissionsBoundary" => {
            iam.set_role_boundary(&i.s("RoleName"), None).map_err(err).and_then(|()| ok())
        }
        "AddRoleToInstanceProfile" | "RemoveRoleFromInstanceProfile" => iam
            .instance_profile_role_change(&i.s("InstanceProfileName"), &i.s("RoleName"))
            .map_err(err)
            .and_then(|()| ok()),

        // ----- service-linked roles -----
        "CreateServiceLinkedRole" => {
            let r = iam
                .create_service_linked_role(&i.s("AWSServiceName"), i.o("Description"), i.o("CustomSuffix").as_deref())
                .map_err(err)?;
            Ok(json!({"Role": role_summary(&r)}))
        }
        "DeleteServiceLinkedRole" => {
            Ok(json!({"DeletionTaskId": iam.delete_service_linked_role(&i.s("RoleName")).map_err(err)?}))
        }
        "GetServiceLinkedRoleDeletionStatus" => {
            let t = iam.deletion_task(&i.s("DeletionTaskId")).map_err(err)?;
            let mut out = json!({"Status": t.status.as_str()});
            if let Some(reason) = &t.reason {
                out["Reason"] = json!({
                    "Reason": reason,
                    "RoleUsageList": t.usage.iter().map(|u| json!({"Region": u.region, "Resources": u.resources})).collect::<Vec<_>>(),
                });
            }
            Ok(out)
        }

        // ----- managed policies -----
        "CreatePolicy" => {
            let p = iam
                .create_policy(
                    &i.s("PolicyName"),
                    i.o("Path").as_deref(),
                    &i.s("PolicyDocument"),
                    i.o("Description"),
                    i.tags("Tags"),
                )
                .map_err(err)?;
            Ok(json!({"Policy": policy_out(&p)}))
        }
        "GetPolicy" => Ok(json!({"Policy": policy_out(&iam.managed_policy(&i.s("PolicyArn")).map_err(err)?)})),
        "ListPolicies" => {
            let scope = match i.o("Scope").as_deref() {
                Some("AWS") => PolicyScope::Aws,
                Some("Local") => PolicyScope::Local,
                _ => PolicyScope::All,
            };
            let p = iam
                .list_policies(
                    scope,
                    i.bool("OnlyAttached").unwrap_or(false),
                    policy_usage(&i),
                    i.o("PathPrefix").as_deref(),
                    i.o("Marker").as_deref(),
                    i.usize("MaxItems"),
                )
                .map_err(err)?;
            Ok(page_out("Policies", p.items.iter().map(policy_out).collect(), p.marker))
        }
        "GetPolicyVersion" => {
            let (p, v) = iam.policy_version(&i.s("PolicyArn"), &i.s("VersionId")).map_err(err)?;
            Ok(json!({"PolicyVersion": {
                "Document": v.document, "VersionId": v.version_id,
                "IsDefaultVersion": v.version_id == p.default_version_id, "CreateDate": v.create_date,
            }}))
        }
        "ListPolicyVersions" => {
            let p = iam.managed_policy(&i.s("PolicyArn")).map_err(err)?;
            let versions: Vec<Value> = p
                .versions
                .iter()
                .rev()
                .map(|v| json!({"VersionId": v.version_id, "IsDefaultVersion": v.version_id == p.default_version_id, "CreateDate": v.create_date}))
                .collect();
            let (versions, marker) = paged(versions, i.o("Marker"), i.usize("MaxItems"))?;
            Ok(page_out("Versions", versions, marker))
        }
        "CreatePolicyVersion" => {
            let arn = i.s("PolicyArn");
            let v = iam
                .create_policy_version(&arn, &i.s("PolicyDocument"), i.bool("SetAsDefault").unwrap_or(false))
                .map_err(err)?;
            let p = iam.managed_policy(&arn).map_err(err)?;
            Ok(json!({"PolicyVersion": {
                "VersionId": v.version_id, "IsDefaultVersion": v.version_id == p.default_version_id, "CreateDate": v.create_date,
            }}))
        }
        "SetDefaultPolicyVersion" => {
            iam.set_default_policy_version(&i.s("PolicyArn"), &i.s("VersionId")).map_err(err).and_then(|()| ok())
        }
        "DeletePolicyVersion" => {
            iam.delete_policy_version(&i.s("PolicyArn"), &i.s("VersionId")).map_err(err).and_then(|()| ok())
        }
        "DeletePolicy" => iam.delete_policy(&i.s("PolicyArn")).map_err(err).and_then(|()| ok()),
        "TagPolicy" => iam.tag_policy(&i.s("PolicyArn"), i.tags("Tags"), &[]).map_err(err).and_then(|()| ok()),
        "UntagPolicy" => {
            iam.tag_policy(&i.s("PolicyArn"), Vec::new(), &i.list("TagKeys")).map_err(err).and_then(|()| ok())
        }
        "ListPolicyTags" => {
            let p = iam.managed_policy(&i.s("PolicyArn")).map_err(err)?;
            tags_page(&p.tags, &i)
        }
        "ListEntitiesForPolicy" => {
            let filter = i.o("EntityFilter");
            let kind = match filter.as_deref() {
                Some("User") => Some(EntityKind::User),
                Some("Group") => Some(EntityKind::Group),
                Some("Role") => Some(EntityKind::Role),
                _ => None,
            };
            let mut page = iam
                .list_entities_for_policy(
                    &i.s("PolicyArn"),
                    kind,
                    policy_usage(&i),
                    i.o("PathPrefix").as_deref(),
                    i.o("Marker").as_deref(),
                    i.usize("MaxItems"),
                )
                .map_err(err)?;
            // `LocalManagedPolicy` and `AWSManagedPolicy` name no entity a policy can be
            // attached to: the listing is empty.
            if matches!(filter.as_deref(), Some("LocalManagedPolicy" | "AWSManagedPolicy")) {
                page = iam::Page { items: Vec::new(), marker: None };
            }
            let pick = |kind: EntityKind, key: &str, id: &str| -> Vec<Value> {
                page.items.iter().filter(|(k, _, _)| *k == kind).map(|(_, n, i)| json!({key: n, id: i})).collect()
            };
            let mut out = json!({
                "PolicyGroups": pick(EntityKind::Group, "GroupName", "GroupId"),
                "PolicyUsers": pick(EntityKind::User, "UserName", "UserId"),
                "PolicyRoles": pick(EntityKind::Role, "RoleName", "RoleId"),
                "IsTruncated": page.marker.is_some(),
            });
            if let Some(m) = page.marker {
                out["Marker"] = json!(m);
            }
            Ok(out)
        }

        // ----- inline and attached policies of users, groups and roles -----
        _ if is_policy_op(op) => policy_op(iam, op, i),

        // ----- Access Advisor -----
        "GenerateServiceLastAccessedDetails" => {
            let g = if i.o("Granularity").as_deref() == Some("ACTION_LEVEL") {
                Granularity::ActionLevel
            } else {
                Granularity::ServiceLevel
            };
            let owner = iam.identity(caller).arn;
            Ok(json!({"JobId": iam.generate_access_report(&i.s("Arn"), g, &owner).map_err(err)?}))
        }
        "GetServiceLastAccessedDetails" => {
            let job = iam.access_job(&i.s("JobId"), &iam.identity(caller).arn).map_err(err)?;
            let services: Vec<Value> = job
                .report
                .services
                .iter()
                .map(|s| {
                    let mut v = json!({"ServiceName": s.name, "ServiceNamespace": s.namespace, "TotalAuthenticatedEntities": s.total_entities});
                    if let Some(l) = &s.last {
                        v["LastAuthenticated"] = json!(l.time);
                        v["LastAuthenticatedEntity"] = json!(l.entity);
                        v["LastAuthenticatedRegion"] = json!(l.region);
                    }
                    if job.granularity == Granularity::ActionLevel {
                        v["TrackedActionsLastAccessed"] = s
                            .actions
                            .iter()
                            .map(|a| json!({"ActionName": a.action, "LastAccessedEntity": a.entity, "LastAccessedTime": a.time, "LastAccessedRegion": a.region}))
                            .collect();
                    }
                    v
                })
                .collect();
            let (services, marker) = paged(services, i.o("Marker"), i.usize("MaxItems"))?;
            let mut out = page_out("ServicesLastAccessed", services, marker);
            for (k, v) in [
                ("JobStatus", json!("COMPLETED")),
                ("JobType", json!(job.granularity.as_str())),
                ("JobCreationDate", json!(job.created)),
                ("JobCompletionDate", json!(job.completed)),
            ] {
                out[k] = v;
            }
            Ok(out)
        }
        "GetServiceLastAccessedDetailsWithEntities" => {
            let job = iam.access_job(&i.s("JobId"), &iam.identity(caller).arn).map_err(err)?;
            let ns = i.s("ServiceNamespace");
            let entities: Vec<Value> = job
                .report
                .services
                .iter()
                .filter(|s| s.namespace == ns)
                .flat_map(|s| s.entities.iter())
                .map(|e| {
                    let mut v = json!({"EntityInfo": {"Arn": e.arn, "Name": e.name, "Type": e.kind, "Id": e.id, "Path": e.path}});
                    if let Some(t) = e.last {
                        v["LastAuthenticated"] = json!(t);
                    }
                    v
                })
                .collect();
            let (entities, marker) = paged(entities, i.o("Marker"), i.usize("MaxItems"))?;
            let mut out = page_out("EntityDetailsList", entities, marker);
            for (k, v) in [
                ("JobStatus", json!("COMPLETED")),
                ("JobCreationDate", json!(job.created)),
                ("JobCompletionDate", json!(job.completed)),
            ] {
                out[k] = v;
            }
            Ok(out)
        }
        "SimulatePrincipalPolicy" | "SimulateCustomPolicy" => super::simulate::call(iam, op, i),
        _ => Err(super::not_served("iam", op)),
    }
}

fn is_policy_op(op: &str) -> bool {
    matches!(
        op,
        "PutUserPolicy"
            | "PutGroupPolicy"
            | "PutRolePolicy"
            | "GetUserPolicy"
            | "GetGroupPolicy"
            | "GetRolePolicy"
            | "ListUserPolicies"
            | "ListGroupPolicies"
            | "ListRolePolicies"
            | "DeleteUserPolicy"
            | "DeleteGroupPolicy"
            | "DeleteRolePolicy"
            | "AttachUserPolicy"
            | "AttachGroupPolicy"
            | "AttachRolePolicy"
            | "DetachUserPolicy"
            | "DetachGroupPolicy"
            | "DetachRolePolicy"
            | "ListAttachedUserPolicies"
            | "ListAttachedGroupPolicies"
            | "ListAttachedRolePolicies"
    )
}

fn policy_op(iam: &Iam, op: &str, i: In) -> Result<Value, AwsError> {
    use IamOp as O;
    let Some(served) = IamOp::parse(op) else { return Err(super::not_served("iam", op)) };
    let Some((kind, name)) = entity(served, i) else { return Err(super::not_served("iam", op)) };
    let name_key = match kind {
        EntityKind::User => "UserName",
        EntityKind::Group => "GroupName",
        EntityKind::Role => "RoleName",
    };
    match served {
        O::PutUserPolicy | O::PutGroupPolicy | O::PutRolePolicy => iam
            .put_inline_policy(kind, &name, &i.s("PolicyName"), &i.s("PolicyDocument"))
            .map_err(err)
            .map(|()| json!({})),
        O::GetUserPolicy | O::GetGroupPolicy | O::GetRolePolicy => {
            let doc = iam.inline_policy(kind, &name, &i.s("PolicyName")).map_err(err)?;
            Ok(json!({name_key: name, "PolicyName": i.s("PolicyName"), "PolicyDocument": doc}))
        }
        O::ListUserPolicies | O::ListGroupPolicies | O::ListRolePolicies => Ok(page_out(
            "PolicyNames",
            iam.inline_policy_names(kind, &name).map_err(err)?.into_iter().map(Value::String).collect(),
            None,
        )),
        O::DeleteUserPolicy | O::DeleteGroupPolicy | O::DeleteRolePolicy => {
            iam.delete_inline_policy(kind, &name, &i.s("PolicyName")).map_err(err).map(|()| json!({}))
        }
        O::AttachUserPolicy | O::AttachGroupPolicy | O::AttachRolePolicy => {
            iam.attach_policy(kind, &name, &i.s("PolicyArn")).map_err(err).map(|()| json!({}))
        }
        O::DetachUserPolicy | O::DetachGroupPolicy | O::DetachRolePolicy => {
            iam.detach_policy(kind, &name, &i.s("PolicyArn")).map_err(err).map(|()| json!({}))
        }
        O::ListAttachedUserPolicies | O::ListAttachedGroupPolicies | O::ListAttachedRolePolicies => {
            let list = iam.attached_policies(kind, &name, i.o("PathPrefix").as_deref()).map_err(err)?;
            let items = list.into_iter().map(|(n, a)| json!({"PolicyName": n, "PolicyArn": a})).collect();
            Ok(page_out("AttachedPolicies", items, None))
        }
        _ => Err(super::not_served("iam", op)),
    }
}

/// IAM's handler. Its impl comes after `call` (the input-member walk of
/// `tests/repo/input_members.rs` reads the first `fn call` of this file).
pub struct IamApi {
    pub iam: Arc<Iam>,
}

impl Handler for IamApi {
    type Op = IamOp;
    const SERVICE: Service = Service::Iam;
    const BLOCKING: bool = true;

    async fn targets(&self, op: IamOp, input: &Value, who: &Principal<'_>) -> Vec<Target> {
        vec![target(&self.iam, who.caller, op, input)]
    }

    fn not_served_target(&self, name: &str, input: &Value) -> Target {
        let mut t = Target::new("iam", name, "*");
        request_tags(&mut t, In(input));
        t
    }

    async fn call(&self, op: IamOp, input: Value, who: &Principal<'_>, _grant: &Grant<'_>) -> Result<Value, AwsError> {
        call(&self.iam, who.caller, op.name(), &input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_the_models() {
        assert_eq!(super::super::handler::tests::check_operations::<IamApi>(), 80);
    }

    #[test]
    fn every_operation_with_an_entity_name_has_its_kind() {
        // The name member of each kind is in the operation's input shape.
        let model = &crate::services::def(Service::Iam).model;
        for op in IamOp::ALL {
            let Some(kind) = named_entity(*op) else { continue };
            let key = match kind {
                EntityKind::User => "UserName",
                EntityKind::Group => "GroupName",
                EntityKind::Role => "RoleName",
            };
            let shape = model.operation(op.name()).and_then(|o| o.input.as_ref()).map(|r| r.shape.clone());
            let shape = shape.and_then(|s| model.shapes.get(&s));
            assert!(shape.is_some_and(|s| s.members.get(key).is_some()), "{}: no {key}", op.name());
        }
    }

    #[test]
    fn every_operation_naming_an_entity_is_authorized_on_it() {
        // An operation whose input names a user, group or role is authorized on that
        // entity's ARN, never on `*` (where a Deny on the entity would not apply), unless
        // AWS authorizes it on another resource: the instance profile a role joins or leaves.
        const ON_ANOTHER_RESOURCE: &[IamOp] = &[IamOp::AddRoleToInstanceProfile, IamOp::RemoveRoleFromInstanceProfile];
        let model = &crate::services::def(Service::Iam).model;
        for op in IamOp::ALL {
            let shape = model.operation(op.name()).and_then(|o| o.input.as_ref()).map(|r| r.shape.clone());
            let Some(shape) = shape.and_then(|s| model.shapes.get(&s)) else { continue };
            let names_one = ["UserName", "GroupName", "RoleName"].iter().any(|k| shape.members.get(k).is_some());
            if names_one && !ON_ANOTHER_RESOURCE.contains(op) {
                assert!(named_entity(*op).is_some(), "{} names an entity but is not authorized on it", op.name());
            }
        }
    }
}
