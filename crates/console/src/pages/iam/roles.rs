//! IAM roles: the list, creation, the role page with its tabs (summary,
//! permissions, trust, Access Advisor, tags), their edits, and deletion (an
//! ordinary role step by step; a service-linked role through the service's
//! asynchronous deletion task).

use std::sync::Arc;

use serde_json::{json, Value};

use super::{done, iam, page, policy_document, policy_href, role_href, search_form, Res};
use crate::forms::encode;
use crate::host::ApiError;
use crate::html::{
    self, api_error, arr, doc_block, html, note, post_button, pretty_doc, pretty_value, redirect, s, time, Append,
    Markup, Nav, Page,
};
use crate::pages::iam_list;
use crate::session::Session;
use crate::{Console, Req};

/// The service a service-linked role is linked to, from its path
/// (`/aws-service-role/<service principal>/`).
pub fn linked_service(role: &Value) -> Option<String> {
    s(role, "Path")
        .strip_prefix("/aws-service-role/")
        .map(|rest| rest.trim_end_matches('/').to_owned())
        .filter(|svc| !svc.is_empty())
}

/// A readable name for a service principal.
fn service_title(principal: &str) -> String {
    match principal {
        "dax.amazonaws.com" => "Amazon DynamoDB Accelerator (DAX)".to_owned(),
        other => other.to_owned(),
    }
}

/// Who a trust policy lets assume the role, briefly.
fn trusted_entities(doc: &str) -> String {
    let Ok(v) = serde_json::from_str::<Value>(&pretty_doc(doc)) else { return String::new() };
    let mut out: Vec<String> = Vec::new();
    let statements = match v.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(one) => vec![one.clone()],
        None => Vec::new(),
    };
    for st in statements {
        let Some(p) = st.get("Principal") else { continue };
        let mut push = |kind: &str, val: &Value| {
            let vals: Vec<String> = match val {
                Value::Array(a) => a.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
                Value::String(s) => vec![s.clone()],
                _ => Vec::new(),
            };
            for v in vals {
                out.push(if kind == "Service" {
                    format!("AWS service: {}", v.trim_end_matches(".amazonaws.com"))
                } else {
                    format!("{kind}: {v}")
                });
            }
        };
        match p {
            Value::Object(m) => {
                for (k, v) in m {
                    push(k, v);
                }
            }
            Value::String(s) => out.push(s.clone()),
            _ => {}
        }
    }
    out.join(", ")
}

pub async fn roles_list(c: Arc<Console>, r: Req) -> Res {
    let (sess, p) = r.need_session(&c)?;
    let search = r.q("search").unwrap_or("").trim().to_owned();
    let path = r.q("path").unwrap_or("").trim().to_owned();
    let needle = search.to_lowercase();
    let keep = move |v: &Value| needle.is_empty() || s(v, "RoleName").to_lowercase().contains(&needle);
    let input = if path.is_empty() { json!({}) } else { json!({"PathPrefix": path}) };
    let mut body = search_form(&c, "/iam/roles", &search, &path, "roles");
    match iam_list(&c, &r, "ListRoles", "Roles", input, &keep, r.q("marker")).await {
        Err(e) => body.push(api_error(&e)),
        Ok((roles, next)) => {
            let mut rows = Markup::default();
            for role in &roles {
                let name = s(role, "RoleName");
                // ListRoles omits RoleLastUsed: GetRole has it (when the caller may call it).
                let last = match iam(&c, &r, "GetRole", json!({"RoleName": name})).await {
                    Ok(full) => match full["Role"].get("RoleLastUsed").and_then(|l| l.get("LastUsedDate")) {
                        Some(d) => format!("{} ({})", time(Some(d)), s(&full["Role"]["RoleLastUsed"], "Region")),
                        None => "None".to_owned(),
                    },
                    Err(_) => "—".to_owned(),
                };
                rows.push(html! {
                    tr {
                        th scope="row" {
                            a href=(role_href(&c, name)) { (name) }
                            @if linked_service(role).is_some() { " " span.badge { "Service-linked role" } }
                        }
                        td { (s(role, "Path")) }
                        td { (trusted_entities(s(role, "AssumeRolePolicyDocument"))) }
                        td { (last) }
                        td { (time(role.get("CreateDate"))) }
                    }
                });
            }
            body.push(html! {
                div.scroll tabindex="0" {
                    table {
                        caption { "Roles" @if !search.is_empty() { " matching “" (search) "”" } }
                        thead {
                            tr {
                                th scope="col" { "Role name" } th scope="col" { "Path" } th scope="col" { "Trusted entities" }
                                th scope="col" { "Last activity" } th scope="col" { "Created" }
                            }
                        }
                        tbody {
                            @if roles.is_empty() { tr { td colspan="5" { "No roles." } } }
                            (rows)
                        }
                    }
                }
            });
            body.push(html::pager(
                &c.link("/iam/roles"),
                &[("search", &search), ("path", &path)],
                "marker",
                next.as_deref(),
                r.q("marker").is_none(),
            ));
        }
    }
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"dax.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    body.push(html! {
        details.panel {
            summary { "Create role" }
            form method="post" action=(c.link("/iam/roles/create")) {
                (html::csrf(&sess))
                p { label for="new-role" { "Role name" } input #new-role name="name" required; }
                p { label for="new-role-path" { "Path" } input #new-role-path name="path" placeholder="/"; }
                p { label for="new-role-desc" { "Description" } input #new-role-desc name="description"; }
                p {
                    label for="new-role-trust" { "Trust policy" }
                    textarea #new-role-trust name="trust" rows="6" { (pretty_doc(trust)) }
                }
                p { button type="submit" { "Create role" } }
            }
        }
    });
    Ok(page(&c, &r, &sess, &p, "Roles", Nav::Roles, body))
}

pub async fn role_create(c: Arc<Console>, r: Req) -> Res {
    r.need_post(&c)?;
    let name = r.f("name").unwrap_or_default().trim().to_owned();
    let mut input = json!({"RoleName": name, "AssumeRolePolicyDocument": r.f("trust").unwrap_or_default()});
    if let Some(p) = r.f("path").map(str::trim).filter(|p| !p.is_empty()) {
        input["Path"] = json!(p);
    }
    if let Some(d) = r.f("description").filter(|d| !d.is_empty()) {
        input["Description"] = json!(d);
    }
    match iam(&c, &r, "CreateRole", input).await {
        Ok(_) => {
            c.flash(&r, true, format!("Role {name} created."));
            Ok(redirect(&role_href(&c, &name)))
        }
        Err(e) => {
            c.flash(&r, false, format!("{}: {}", e.code, e.message));
            Ok(redirect(&c.link("/iam/roles")))
        }
    }
}

const TABS: &[(&str, &str)] = &[
    ("summary", "Summary"),
    ("permissions", "Permissions"),
    ("trust", "Trust relationships"),
    ("advisor", "Access Advisor"),
    ("tags", "Tags"),
];

pub async fn role_page(c: Arc<Console>, r: Req) -> Res {
    let (sess, p) = r.need_session(&c)?;
    let name = r.seg(2).to_owned();
    let role = match iam(&c, &r, "GetRole", json!({"RoleName": name})).await {
        Ok(v) => v["Role"].clone(),
        Err(e) => return Ok(page(&c, &r, &sess, &p, &name, Nav::Roles, api_error(&e))),
    };
    let tab = r.q("tab").filter(|t| TABS.iter().any(|(k, _)| k == t)).unwrap_or("summary").to_owned();
    let href = role_href(&c, &name);
    let slr = linked_service(&role);
    let mut body = Markup::default();
    if let Some(svc) = &slr {
        body.push(note(
            "info",
            html! {
                p {
                    strong { "This is a service-linked role." } " It is linked to the service " code { (svc) }
                    " (" (service_title(svc)) "). The service defines its permissions and trust policy, so they cannot \
                     be edited; you can edit its description. It can be deleted only once the service no longer uses it."
                }
            },
        ));
    }
    // Delete: a confirmation box first.
    if r.q("confirm") == Some("delete") {
        let text = match &slr {
            Some(svc) => html! {
                p {
                    "Delete the service-linked role " strong { (name) } "? IAM checks with " code { (svc) }
                    " that no resource in any region still uses it; the deletion fails if one does."
                }
            },
            None => html! {
                p {
                    "Delete the role " strong { (name) }
                    "? Its inline policies are deleted and its managed policies detached first."
                }
            },
        };
        body.push(html::dialog(
            &sess,
            "Delete role",
            text,
            &format!("{href}/delete"),
            &[],
            "Delete",
            &format!("{href}?tab={tab}"),
        ));
    }
    let title = TABS.iter().find(|(k, _)| *k == tab).map_or("Summary", |(_, l)| l);
    let mut refresh = false;
    let content = match tab.as_str() {
        "permissions" => permissions_tab(&c, &r, &sess, &name, slr.is_some()).await,
        "trust" => trust_tab(&c, &r, &sess, &role, slr.is_some()),
        "advisor" => {
            let (html, running) = advisor_tab(&c, &r, &role).await;
            refresh = running;
            html
        }
        "tags" => tags_tab(&c, &sess, &role, slr.is_some()),
        _ => {
            let may_edit =
                crate::pages::not_permitted(&c, &r, &["iam:UpdateRoleDescription"], s(&role, "Arn")).await.is_empty();
            summary_tab(&c, &r, &sess, &role, may_edit)
        }
    };
    let delete_action = if slr.is_some() { "iam:DeleteServiceLinkedRole" } else { "iam:DeleteRole" };
    let may_delete = crate::pages::not_permitted(&c, &r, &[delete_action], s(&role, "Arn")).await.is_empty();
    body.push(html! {
        div.actions {
            @if may_delete {
                a.button.danger href={ (href) "?tab=" (tab) "&confirm=delete" } { "Delete" }
            } @else {
                (html::not_permitted(html! { "Delete" }, delete_action))
            }
        }
        nav.tabs aria-label="Role details" {
            ul {
                @for (k, label) in TABS {
                    li { a href={ (href) "?tab=" (k) } aria-current=[(*k == tab).then_some("page")] { (label) } }
                }
            }
        }
        section.tab aria-labelledby="tab-title" {
            h2 #tab-title { (title) }
            (content)
        }
    });
    let mut pg = Page::new(format!("Role {name}"), Nav::Roles, body);
    pg.refresh = refresh;
    Ok(html::render(&c, &r, &sess, &p, pg))
}

fn summary_tab(c: &Console, r: &Req, sess: &Session, role: &Value, may_edit: bool) -> Markup {
    let name = s(role, "RoleName");
    let href = role_href(c, name);
    let last = match role.get("RoleLastUsed").and_then(|l| l.get("LastUsedDate")) {
        Some(d) => format!("{} in {}", time(Some(d)), s(&role["RoleLastUsed"], "Region")),
        None => "Not used".to_owned(),
    };
    let desc = s(role, "Description");
    let secs = role.get("MaxSessionDuration").and_then(Value::as_u64).unwrap_or(3600);
    let hours = if secs % 3600 == 0 {
        format!("{} hour{}", secs / 3600, if secs == 3600 { "" } else { "s" })
    } else {
        format!("{secs} seconds")
    };
    html! {
        dl.summary {
            dt { "ARN" } dd { (html::copyable(s(role, "Arn"), "Role ARN")) }
            dt { "Path" } dd { code { (s(role, "Path")) } }
            dt { "Description" }
            dd {
                @if r.q("edit") == Some("description") {
                    form method="post" action={ (href) "/description" } {
                        (html::csrf(sess))
                        label for="description" class="visually-hidden" { "Description" }
                        textarea #description name="description" rows="3" maxlength="1000" { (desc) }
                        p { button type="submit" { "Save description" } " " a href={ (href) "?tab=summary" } { "Cancel" } }
                    }
                } @else {
                    @if desc.is_empty() { span.muted { "No description" } } @else { (desc) }
                    " "
                    @if may_edit {
                        a href={ (href) "?tab=summary&edit=description" } aria-label="Edit description" { "Edit" }
                    } @else {
                        (html::not_permitted(
                            html! { "Edit" span.visually-hidden { " description" } },
                            "iam:UpdateRoleDescription"
                        ))
                    }
                }
            }
            dt { "Creation date" } dd { (time(role.get("CreateDate"))) }
            dt { "Last activity" } dd { (last) }
            dt { "Maximum session duration" } dd { (hours) }
            dt { "Role ID" } dd { code { (s(role, "RoleId")) } }
        }
    }
}

async fn permissions_tab(c: &Console, r: &Req, sess: &Session, name: &str, slr: bool) -> Markup {
    let href = role_href(c, name);
    let policies_action = format!("{href}/policies");
    let mut out = html! { h3 { "Managed policies" } };
    match iam(c, r, "ListAttachedRolePolicies", json!({"RoleName": name})).await {
        Err(e) => out.push(api_error(&e)),
        Ok(v) => {
            let list = arr(&v, "AttachedPolicies");
            if list.is_empty() {
                out.push(html! { p { "No managed policies attached." } });
            }
            for pol in list {
                let arn = s(pol, "PolicyArn");
                let doc = match policy_document(c, r, arn).await {
                    Ok((_, doc)) => doc_block(&doc, &format!("Document of {}", s(pol, "PolicyName"))),
                    Err(e) => api_error(&e),
                };
                out.push(html! {
                    article.policy {
                        h4 { a href=(policy_href(c, arn)) { (s(pol, "PolicyName")) } }
                        p { code { (arn) } }
                        (doc)
                        @if !slr {
                            (post_button(sess, &policies_action, &[("op", "detach"), ("arn", arn)], "Detach", "secondary"))
                        }
                    }
                });
            }
        }
    }
    out.push(html! { h3 { "Inline policies" } });
    match iam(c, r, "ListRolePolicies", json!({"RoleName": name})).await {
        Err(e) => out.push(api_error(&e)),
        Ok(v) => {
            let names: Vec<String> =
                arr(&v, "PolicyNames").iter().filter_map(Value::as_str).map(str::to_owned).collect();
            if names.is_empty() {
                out.push(html! { p { "No inline policies." } });
            }
            for pn in names {
                let doc = match iam(c, r, "GetRolePolicy", json!({"RoleName": name, "PolicyName": pn})).await {
                    Ok(d) => doc_block(&pretty_value(d.get("PolicyDocument")), &format!("Document of {pn}")),
                    Err(e) => api_error(&e),
                };
                out.push(html! {
                    article.policy {
                        h4 { (pn) }
                        (doc)
                        @if !slr {
                            (post_button(
                                sess,
                                &policies_action,
                                &[("op", "delete"), ("name", &pn)],
                                "Delete inline policy",
                                "secondary"
                            ))
                        }
                    }
                });
            }
        }
    }
    if !slr {
        out.push(html! {
            details.panel {
                summary { "Attach a managed policy" }
                form method="post" action=(policies_action) {
                    (html::csrf(sess))
                    input type="hidden" name="op" value="attach";
                    p {
                        label for="attach-arn" { "Policy ARN" }
                        input #attach-arn name="arn" size="60"
                            placeholder="arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess" required;
                    }
                    p { button type="submit" { "Attach policy" } }
                }
            }
            details.panel {
                summary { "Add an inline policy" }
                form method="post" action=(policies_action) {
                    (html::csrf(sess))
                    input type="hidden" name="op" value="put";
                    p { label for="inline-name" { "Policy name" } input #inline-name name="name" required; }
                    p {
                        label for="inline-doc" { "Policy document (JSON)" }
                        textarea #inline-doc name="document" rows="8" required {}
                    }
                    p { button type="submit" { "Save inline policy" } }
                }
            }
        });
    }
    out
}

fn trust_tab(c: &Console, r: &Req, sess: &Session, role: &Value, slr: bool) -> Markup {
    let name = s(role, "RoleName");
    let href = role_href(c, name);
    let doc = pretty_doc(s(role, "AssumeRolePolicyDocument"));
    html! {
        p { "Trusted entities: " (trusted_entities(&doc)) }
        @if !slr && r.q("edit") == Some("trust") {
            form method="post" action={ (href) "/trust" } {
                (html::csrf(sess))
                p { label for="trust-doc" { "Trust policy" } textarea #trust-doc name="document" rows="12" { (doc) } }
                p { button type="submit" { "Update trust policy" } " " a href={ (href) "?tab=trust" } { "Cancel" } }
            }
        } @else {
            (doc_block(&doc, "Trust policy"))
            @if !slr {
                p { a.button href={ (href) "?tab=trust&edit=trust" } { "Edit trust policy" } }
            }
        }
    }
}

fn tags_tab(c: &Console, sess: &Session, role: &Value, slr: bool) -> Markup {
    let href = role_href(c, s(role, "RoleName"));
    let tags_action = format!("{href}/tags");
    let tags = arr(role, "Tags");
    html! {
        div.scroll tabindex="0" {
            table {
                caption { "Tags" }
                thead {
                    tr {
                        th scope="col" { "Key" } th scope="col" { "Value" }
                        @if !slr { th scope="col" { span.visually-hidden { "Actions" } } }
                    }
                }
                tbody {
                    @if tags.is_empty() { tr { td colspan=(if slr { 2 } else { 3 }) { "No tags." } } }
                    @for t in tags {
                        @let key = s(t, "Key");
                        tr {
                            td { (key) } td { (s(t, "Value")) }
                            @if !slr {
                                td { (post_button(sess, &tags_action, &[("op", "remove"), ("key", key)], "Remove", "secondary")) }
                            }
                        }
                    }
                }
            }
        }
        @if !slr {
            form method="post" action=(tags_action) class="row" {
                (html::csrf(sess))
                input type="hidden" name="op" value="add";
                p { label for="tag-key" { "Key" } input #tag-key name="key" required; }
                p { label for="tag-value" { "Value" } input #tag-value name="value"; }
                p { button type="submit" { "Add tag" } }
            }
        }
    }
}

/// Access Advisor: the services the role's policies reach, when each was
/// last used, where and by whom. Returns the HTML and whether the job still runs.
async fn advisor_tab(c: &Console, r: &Req, role: &Value) -> (Markup, bool) {
    let arn = s(role, "Arn");
    let job = match r.q("job") {
        Some(j) => j.to_owned(),
        None => {
            match iam(c, r, "GenerateServiceLastAccessedDetails", json!({"Arn": arn, "Granularity": "ACTION_LEVEL"}))
                .await
            {
                Ok(v) => s(&v, "JobId").to_owned(),
                Err(e) => return (api_error(&e), false),
            }
        }
    };
    let details = match iam(c, r, "GetServiceLastAccessedDetails", json!({"JobId": job})).await {
        Ok(v) => v,
        Err(e) => return (api_error(&e), false),
    };
    if s(&details, "JobStatus") == "IN_PROGRESS" {
        return (
            html! {
                p role="status" {
                    progress aria-label="Generating the report" {} " Generating the Access Advisor report…"
                }
            },
            true,
        );
    }
    let services = arr(&details, "ServicesLastAccessed");
    let mut rows = Markup::default();
    for svc in services {
        let ns = s(svc, "ServiceNamespace");
        let accessed = svc.get("LastAuthenticated").is_some();
        let mut names: Vec<String> = Vec::new();
        if accessed {
            if let Ok(w) =
                iam(c, r, "GetServiceLastAccessedDetailsWithEntities", json!({"JobId": job, "ServiceNamespace": ns}))
                    .await
            {
                for e in arr(&w, "EntityDetailsList").iter().filter(|e| e.get("LastAuthenticated").is_some()) {
                    names.push(format!(
                        "{} ({})",
                        s(&e["EntityInfo"], "Name"),
                        s(&e["EntityInfo"], "Type").to_lowercase()
                    ));
                }
            }
        }
        let who = s(svc, "LastAuthenticatedEntity");
        let actions = arr(svc, "TrackedActionsLastAccessed");
        rows.push(html! {
            tr data-namespace=(ns) {
                th scope="row" { (s(svc, "ServiceName")) }
                td { code { (ns) } }
                td {
                    @if accessed { (time(svc.get("LastAuthenticated"))) } @else { "Not accessed in the tracking period" }
                }
                td { @if accessed { (s(svc, "LastAuthenticatedRegion")) } @else { "—" } }
                td {
                    @if !accessed { "—" }
                    @else if names.is_empty() { (who) }
                    @else { span title=(who) { (names.join(", ")) } }
                }
                td {
                    @if !actions.is_empty() {
                        ul.compact {
                            @for a in actions {
                                li { code { (s(a, "ActionName")) } " " (time(a.get("LastAccessedTime"))) }
                            }
                        }
                    }
                }
            }
        });
    }
    let out = html! {
        p {
            "Services this role's permissions allow, and when it last used each (report generated "
            (time(details.get("JobCompletionDate"))) ")."
        }
        div.scroll tabindex="0" {
            table.advisor {
                caption { "Access Advisor" }
                thead {
                    tr {
                        th scope="col" { "Service" } th scope="col" { "Namespace" } th scope="col" { "Last accessed" }
                        th scope="col" { "Region" } th scope="col" { "Entity" } th scope="col" { "Actions used" }
                    }
                }
                tbody {
                    @if services.is_empty() { tr { td colspan="6" { "The role's policies allow no service." } } }
                    (rows)
                }
            }
        }
    };
    (out, false)
}

pub async fn role_description(c: Arc<Console>, r: Req) -> Res {
    r.need_post(&c)?;
    let name = r.seg(2).to_owned();
    let out = iam(
        &c,
        &r,
        "UpdateRoleDescription",
        json!({"RoleName": name, "Description": r.f("description").unwrap_or_default()}),
    )
    .await;
    done(&c, &r, out.map(|_| "Description saved.".to_owned()), &format!("{}?tab=summary", role_href(&c, &name)))
}

pub async fn role_trust(c: Arc<Console>, r: Req) -> Res {
    r.need_post(&c)?;
    let name = r.seg(2).to_owned();
    let out = iam(
        &c,
        &r,
        "UpdateAssumeRolePolicy",
        json!({"RoleName": name, "PolicyDocument": r.f("document").unwrap_or_default()}),
    )
    .await;
    done(&c, &r, out.map(|_| "Trust policy updated.".to_owned()), &format!("{}?tab=trust", role_href(&c, &name)))
}

pub async fn role_tags(c: Arc<Console>, r: Req) -> Res {
    r.need_post(&c)?;
    let name = r.seg(2).to_owned();
    let key = r.f("key").unwrap_or_default();
    let out = if r.f("op") == Some("remove") {
        iam(&c, &r, "UntagRole", json!({"RoleName": name, "TagKeys": [key]}))
            .await
            .map(|_| format!("Tag {key} removed."))
    } else {
        iam(
            &c,
            &r,
            "TagRole",
            json!({"RoleName": name, "Tags": [{"Key": key, "Value": r.f("value").unwrap_or_default()}]}),
        )
        .await
        .map(|_| format!("Tag {key} added."))
    };
    done(&c, &r, out, &format!("{}?tab=tags", role_href(&c, &name)))
}

pub async fn role_policies(c: Arc<Console>, r: Req) -> Res {
    r.need_post(&c)?;
    let name = r.seg(2).to_owned();
    let arn = r.f("arn").unwrap_or_default().trim();
    let pn = r.f("name").unwrap_or_default().trim();
    let out = match r.f("op") {
        Some("attach") => iam(&c, &r, "AttachRolePolicy", json!({"RoleName": name, "PolicyArn": arn}))
            .await
            .map(|_| format!("Policy {arn} attached.")),
        Some("detach") => iam(&c, &r, "DetachRolePolicy", json!({"RoleName": name, "PolicyArn": arn}))
            .await
            .map(|_| format!("Policy {arn} detached.")),
        Some("put") => iam(
            &c,
            &r,
            "PutRolePolicy",
            json!({"RoleName": name, "PolicyName": pn, "PolicyDocument": r.f("document").unwrap_or_default()}),
        )
        .await
        .map(|_| format!("Inline policy {pn} saved.")),
        _ => iam(&c, &r, "DeleteRolePolicy", json!({"RoleName": name, "PolicyName": pn}))
            .await
            .map(|_| format!("Inline policy {pn} deleted.")),
    };
    done(&c, &r, out, &format!("{}?tab=permissions", role_href(&c, &name)))
}

pub async fn role_delete(c: Arc<Console>, r: Req) -> Res {
    let (sess, p) = r.need_post(&c)?;
    let name = r.seg(2).to_owned();
    let href = role_href(&c, &name);
    let role = match iam(&c, &r, "GetRole", json!({"RoleName": name})).await {
        Ok(v) => v["Role"].clone(),
        Err(e) => return done(&c, &r, Err(e), &href),
    };
    if linked_service(&role).is_some() {
        return match iam(&c, &r, "DeleteServiceLinkedRole", json!({"RoleName": name})).await {
            Ok(v) => Ok(redirect(&format!("{href}/deletion?task={}", encode(s(&v, "DeletionTaskId"))))),
            Err(e) => done(&c, &r, Err(e), &href),
        };
    }
    // An ordinary role: inline policies, then managed policies, then the role — each step its own call.
    let mut steps: Vec<(String, Result<(), ApiError>)> = Vec::new();
    let mut ok = true;
    match iam(&c, &r, "ListRolePolicies", json!({"RoleName": name})).await {
        Ok(v) => {
            for pn in arr(&v, "PolicyNames").iter().filter_map(Value::as_str) {
                let res =
                    iam(&c, &r, "DeleteRolePolicy", json!({"RoleName": name, "PolicyName": pn})).await.map(|_| ());
                ok &= res.is_ok();
                steps.push((format!("Delete inline policy {pn}"), res));
            }
        }
        Err(e) => {
            ok = false;
            steps.push(("List inline policies".into(), Err(e)));
        }
    }
    if ok {
        match iam(&c, &r, "ListAttachedRolePolicies", json!({"RoleName": name})).await {
            Ok(v) => {
                for pol in arr(&v, "AttachedPolicies") {
                    let arn = s(pol, "PolicyArn");
                    let res =
                        iam(&c, &r, "DetachRolePolicy", json!({"RoleName": name, "PolicyArn": arn})).await.map(|_| ());
                    ok &= res.is_ok();
                    steps.push((format!("Detach managed policy {arn}"), res));
                }
            }
            Err(e) => {
                ok = false;
                steps.push(("List managed policies".into(), Err(e)));
            }
        }
    }
    if ok {
        let res = iam(&c, &r, "DeleteRole", json!({"RoleName": name})).await.map(|_| ());
        ok &= res.is_ok();
        steps.push((format!("Delete role {name}"), res));
    }
    let body = html! {
        ol.steps aria-label="Deletion steps" {
            @for (what, res) in &steps {
                @match res {
                    Ok(()) => { li.done { (what) " — done" } }
                    Err(e) => { li.failed { (what) " — failed" (api_error(e)) } }
                }
            }
        }
        @if ok {
            (note("success", html! { p { "The role " (name) " was deleted." } }))
        } @else {
            (note("error", html! { p { "The role " (name) " was not deleted." } }))
        }
        p { a href=(c.link("/iam/roles")) { "Back to roles" } }
    };
    Ok(page(&c, &r, &sess, &p, &format!("Deleting role {name}"), Nav::Roles, body))
}

/// The console page of a resource named in a role's usage list (a DAX
/// cluster, in its own region), when the console has one.
fn resource_href(c: &Console, arn: &str) -> Option<String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "dax", region, _, res] if html::is_region(region) => res
            .strip_prefix("cache/")
            .map(|name| c.link(&format!("/dax/clusters/{}?region={}", encode(name), encode(region)))),
        _ => None,
    }
}

/// The progress of a service-linked role's deletion.
pub async fn role_deletion(c: Arc<Console>, r: Req) -> Res {
    let (sess, p) = r.need_session(&c)?;
    let name = r.seg(2).to_owned();
    let task = r.q("task").unwrap_or_default().to_owned();
    let mut refresh = false;
    let mut body = Markup::default();
    match iam(&c, &r, "GetServiceLinkedRoleDeletionStatus", json!({"DeletionTaskId": task})).await {
        Err(e) => body.push(api_error(&e)),
        Ok(v) => {
            body.push(html! { p { "Deletion task " code { (task) } } });
            match s(&v, "Status") {
                "SUCCEEDED" => body.push(note(
                    "success",
                    html! { p { "Status: " strong { "SUCCEEDED" } ". The role " (name) " was deleted." } },
                )),
                "FAILED" => {
                    let reason = &v["Reason"];
                    let usage = arr(reason, "RoleUsageList");
                    let resources: usize = usage.iter().map(|u| arr(u, "Resources").len()).sum();
                    body.push(note(
                        "error",
                        html! {
                            p {
                                "Status: " strong { "FAILED" } ". The role " (name) " was not deleted"
                                @if usage.is_empty() { ": " (s(reason, "Reason")) } @else {
                                    ": it is still used by " (html::count(resources, "resource", "resources")) " in "
                                    (html::count(usage.len(), "region", "regions")) "."
                                }
                            }
                            @if !usage.is_empty() {
                                p.hint { "The API's reason: " (s(reason, "Reason")) }
                            }
                            @if !usage.is_empty() {
                                div.scroll tabindex="0" {
                                    table {
                                        caption { "Regions and resources still using the role" }
                                        thead { tr { th scope="col" { "Region" } th scope="col" { "Resources" } } }
                                        tbody {
                                            @for u in usage {
                                                tr {
                                                    th scope="row" { (s(u, "Region")) }
                                                    td {
                                                        ul.compact {
                                                            @for x in arr(u, "Resources").iter().filter_map(Value::as_str) {
                                                                li {
                                                                    @match resource_href(&c, x) {
                                                                        Some(h) => { a href=(h) { code { (x) } } }
                                                                        None => { code { (x) } }
                                                                    }
                                                                }
                                                            }
                                                        }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                                p {
                                    "Delete these resources (for DAX, every cluster listed, each in its own region: "
                                    @for (i, u) in usage.iter().enumerate() {
                                        @if i > 0 { ", " }
                                        a href={ (c.link("/dax/clusters")) "?region=" (encode(s(u, "Region"))) } {
                                            "DAX clusters in " (s(u, "Region"))
                                        }
                                    }
                                    "), then delete the role again."
                                }
                            }
                        },
                    ));
                    body.push(html! { p { a href=(role_href(&c, &name)) { "Back to the role" } } });
                }
                other => {
                    refresh = true;
                    body.push(html! {
                        p role="status" {
                            progress aria-label="Deleting the role" {} " Status: " strong { (other) }
                            ". IAM is asking the linked service whether it still uses the role…"
                        }
                    });
                }
            }
        }
    }
    body.push(html! { p { a href=(c.link("/iam/roles")) { "All roles" } } });
    let mut pg = Page::new(format!("Deleting role {name}"), Nav::Roles, body);
    pg.refresh = refresh;
    Ok(html::render(&c, &r, &sess, &p, pg))
}
