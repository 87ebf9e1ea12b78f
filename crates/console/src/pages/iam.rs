//! IAM: roles (with the service-linked role's protections and asynchronous
//! deletion), users (access keys, console passwords) and policies.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::response::Response;
use serde_json::{json, Value};

use super::{iam_list, GLOBAL};
use crate::forms::encode;
use crate::host::{ApiError, Service};
use crate::html::{
    self, api_error, arr, doc_block, note, post_button, pretty_doc, pretty_value, redirect, s, time, Nav, Page, E,
};
use crate::session::Session;
use crate::{Console, Principal, Req};

type Res = Result<Response, Response>;

async fn iam(c: &Console, r: &Req, op: &str, input: Value) -> Result<Value, ApiError> {
    c.call(r, GLOBAL, Service::Iam, op, input).await
}

fn page(c: &Console, r: &Req, s: &Session, p: &Principal, title: &str, nav: Nav, body: String) -> Response {
    html::render(c, r, s, p, Page::new(title, nav, body))
}

fn role_href(c: &Console, name: &str) -> String {
    c.link(&format!("/iam/roles/{}", encode(name)))
}

fn user_href(c: &Console, name: &str) -> String {
    c.link(&format!("/iam/users/{}", encode(name)))
}

fn policy_href(c: &Console, arn: &str) -> String {
    c.link(&format!("/iam/policy?arn={}", encode(arn)))
}

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

fn search_form(c: &Console, action: &str, search: &str, path: &str, what: &str) -> String {
    format!(
        "<form method=\"get\" action=\"{}\" class=\"filters\" role=\"search\">\
         <p><label for=\"search\">Search {what}</label> <input id=\"search\" name=\"search\" type=\"search\" value=\"{}\"></p>\
         <p><label for=\"path\">Path prefix</label> <input id=\"path\" name=\"path\" value=\"{}\" placeholder=\"/\"></p>\
         <p><button type=\"submit\">Search</button></p></form>",
        E(&c.link(action)),
        E(search),
        E(path)
    )
}

// ----- roles -----

pub async fn roles_list(c: Arc<Console>, r: Req) -> Res {
    let (sess, p) = r.need_session(&c)?;
    let search = r.q("search").unwrap_or("").trim().to_owned();
    let path = r.q("path").unwrap_or("").trim().to_owned();
    let needle = search.to_lowercase();
    let keep = move |v: &Value| needle.is_empty() || s(v, "RoleName").to_lowercase().contains(&needle);
    let input = if path.is_empty() { json!({}) } else { json!({"PathPrefix": path}) };
    let mut body = search_form(&c, "/iam/roles", &search, &path, "roles");
    match iam_list(&c, &r, "ListRoles", "Roles", input, &keep, r.q("marker")).await {
        Err(e) => body.push_str(&api_error(&e)),
        Ok((roles, next)) => {
            let _ = write!(
                body,
                "<table><caption>Roles{}</caption><thead><tr><th scope=\"col\">Role name</th><th scope=\"col\">Path</th>\
                 <th scope=\"col\">Trusted entities</th><th scope=\"col\">Last activity</th><th scope=\"col\">Created</th></tr></thead><tbody>",
                if search.is_empty() { String::new() } else { format!(" matching “{}”", E(&search)) }
            );
            if roles.is_empty() {
                body.push_str("<tr><td colspan=\"5\">No roles.</td></tr>");
            }
            for role in &roles {
                let name = s(role, "RoleName");
                // ListRoles omits RoleLastUsed: GetRole has it (when the caller may call it).
                let last = match iam(&c, &r, "GetRole", json!({"RoleName": name})).await {
                    Ok(full) => match full["Role"].get("RoleLastUsed").and_then(|l| l.get("LastUsedDate")) {
                        Some(d) => format!("{} ({})", time(Some(d)), E(s(&full["Role"]["RoleLastUsed"], "Region"))),
                        None => "None".to_owned(),
                    },
                    Err(_) => "—".to_owned(),
                };
                let _ = write!(
                    body,
                    "<tr><th scope=\"row\"><a href=\"{}\">{}</a>{}</th><td>{}</td><td>{}</td><td>{last}</td><td>{}</td></tr>",
                    E(&role_href(&c, name)),
                    E(name),
                    if linked_service(role).is_some() { " <span class=\"badge\">Service-linked role</span>" } else { "" },
                    E(s(role, "Path")),
                    E(&trusted_entities(s(role, "AssumeRolePolicyDocument"))),
                    time(role.get("CreateDate")),
                );
            }
            body.push_str("</tbody></table>");
            body.push_str(&html::pager(
                &c.link("/iam/roles"),
                &[("search", &search), ("path", &path)],
                "marker",
                next.as_deref(),
                r.q("marker").is_none(),
            ));
        }
    }
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"dax.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let _ = write!(
        body,
        "<details class=\"panel\"><summary>Create role</summary><form method=\"post\" action=\"{}\">{}\
         <p><label for=\"new-role\">Role name</label><input id=\"new-role\" name=\"name\" required></p>\
         <p><label for=\"new-role-path\">Path</label><input id=\"new-role-path\" name=\"path\" placeholder=\"/\"></p>\
         <p><label for=\"new-role-desc\">Description</label><input id=\"new-role-desc\" name=\"description\"></p>\
         <p><label for=\"new-role-trust\">Trust policy</label><textarea id=\"new-role-trust\" name=\"trust\" rows=\"6\">{}</textarea></p>\
         <p><button type=\"submit\">Create role</button></p></form></details>",
        E(&c.link("/iam/roles/create")),
        html::csrf(&sess),
        E(&pretty_doc(trust))
    );
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
    let mut body = String::new();
    if let Some(svc) = &slr {
        let _ = write!(
            body,
            "{}",
            note(
                "info",
                &format!(
                    "<p><strong>This is a service-linked role.</strong> It is linked to the service <code>{}</code> ({}). \
                     The service defines its permissions and trust policy, so they cannot be edited; you can edit its description. \
                     It can be deleted only once the service no longer uses it.</p>",
                    E(svc),
                    E(&service_title(svc))
                )
            )
        );
    }
    // Delete: a confirmation box first.
    if r.q("confirm") == Some("delete") {
        let text = match &slr {
            Some(svc) => format!(
                "<p>Delete the service-linked role <strong>{}</strong>? IAM checks with <code>{}</code> that no resource in any region still uses it; \
                 the deletion fails if one does.</p>",
                E(&name),
                E(svc)
            ),
            None => format!("<p>Delete the role <strong>{}</strong>? Its inline policies are deleted and its managed policies detached first.</p>", E(&name)),
        };
        body.push_str(&html::dialog(
            &sess,
            "Delete role",
            &text,
            &format!("{href}/delete"),
            &[],
            "Delete",
            &format!("{href}?tab={tab}"),
        ));
    }
    let _ = write!(
        body,
        "<div class=\"actions\"><a class=\"button danger\" href=\"{}?tab={}&amp;confirm=delete\">Delete</a></div>",
        E(&href),
        E(&tab)
    );
    body.push_str("<nav class=\"tabs\" aria-label=\"Role details\"><ul>");
    for (k, label) in TABS {
        let cur = if *k == tab { " aria-current=\"page\"" } else { "" };
        let _ = write!(body, "<li><a href=\"{}?tab={k}\"{cur}>{label}</a></li>", E(&href));
    }
    body.push_str("</ul></nav><section class=\"tab\" aria-labelledby=\"tab-title\">");
    let title = TABS.iter().find(|(k, _)| *k == tab).map_or("Summary", |(_, l)| l);
    let _ = write!(body, "<h2 id=\"tab-title\">{title}</h2>");
    let mut refresh = false;
    match tab.as_str() {
        "permissions" => body.push_str(&permissions_tab(&c, &r, &sess, &name, slr.is_some()).await),
        "trust" => body.push_str(&trust_tab(&c, &r, &sess, &role, slr.is_some())),
        "advisor" => {
            let (html, running) = advisor_tab(&c, &r, &role).await;
            refresh = running;
            body.push_str(&html);
        }
        "tags" => body.push_str(&tags_tab(&c, &r, &sess, &role, slr.is_some())),
        _ => body.push_str(&summary_tab(&c, &r, &sess, &role)),
    }
    body.push_str("</section>");
    let mut pg = Page::new(format!("Role {name}"), Nav::Roles, body);
    pg.refresh = refresh;
    Ok(html::render(&c, &r, &sess, &p, pg))
}

fn summary_tab(c: &Console, r: &Req, sess: &Session, role: &Value) -> String {
    let name = s(role, "RoleName");
    let href = role_href(c, name);
    let last = match role.get("RoleLastUsed").and_then(|l| l.get("LastUsedDate")) {
        Some(d) => format!("{} in {}", time(Some(d)), E(s(&role["RoleLastUsed"], "Region"))),
        None => "Not used".to_owned(),
    };
    let desc = s(role, "Description");
    let description = if r.q("edit") == Some("description") {
        format!(
            "<form method=\"post\" action=\"{}/description\">{}<label for=\"description\" class=\"visually-hidden\">Description</label>\
             <textarea id=\"description\" name=\"description\" rows=\"3\" maxlength=\"1000\">{}</textarea>\
             <p><button type=\"submit\">Save description</button> <a href=\"{}?tab=summary\">Cancel</a></p></form>",
            E(&href),
            html::csrf(sess),
            E(desc),
            E(&href)
        )
    } else {
        format!(
            "{} <a href=\"{}?tab=summary&amp;edit=description\" aria-label=\"Edit description\">Edit</a>",
            if desc.is_empty() {
                "<span class=\"muted\">No description</span>".to_owned()
            } else {
                E(desc).to_string()
            },
            E(&href)
        )
    };
    let secs = role.get("MaxSessionDuration").and_then(Value::as_u64).unwrap_or(3600);
    let hours = if secs % 3600 == 0 {
        format!("{} hour{}", secs / 3600, if secs == 3600 { "" } else { "s" })
    } else {
        format!("{secs} seconds")
    };
    format!(
        "<dl class=\"summary\"><dt>ARN</dt><dd>{}</dd><dt>Path</dt><dd><code>{}</code></dd><dt>Description</dt><dd>{description}</dd>\
         <dt>Creation date</dt><dd>{}</dd><dt>Last activity</dt><dd>{last}</dd><dt>Maximum session duration</dt><dd>{hours}</dd>\
         <dt>Role ID</dt><dd><code>{}</code></dd></dl>",
        html::copyable(s(role, "Arn"), "Role ARN"),
        E(s(role, "Path")),
        time(role.get("CreateDate")),
        E(s(role, "RoleId")),
    )
}

/// A managed policy's default document.
async fn policy_document(c: &Console, r: &Req, arn: &str) -> Result<(Value, String), ApiError> {
    let pol = iam(c, r, "GetPolicy", json!({"PolicyArn": arn})).await?;
    let version = s(&pol["Policy"], "DefaultVersionId").to_owned();
    let v = iam(c, r, "GetPolicyVersion", json!({"PolicyArn": arn, "VersionId": version})).await?;
    Ok((pol["Policy"].clone(), pretty_value(v["PolicyVersion"].get("Document"))))
}

async fn permissions_tab(c: &Console, r: &Req, sess: &Session, name: &str, slr: bool) -> String {
    let href = role_href(c, name);
    let mut out = String::from("<h3>Managed policies</h3>");
    match iam(c, r, "ListAttachedRolePolicies", json!({"RoleName": name})).await {
        Err(e) => out.push_str(&api_error(&e)),
        Ok(v) => {
            let list = arr(&v, "AttachedPolicies");
            if list.is_empty() {
                out.push_str("<p>No managed policies attached.</p>");
            }
            for pol in list {
                let arn = s(pol, "PolicyArn");
                let _ = write!(
                    out,
                    "<article class=\"policy\"><h4><a href=\"{}\">{}</a></h4><p><code>{}</code></p>",
                    E(&policy_href(c, arn)),
                    E(s(pol, "PolicyName")),
                    E(arn)
                );
                match policy_document(c, r, arn).await {
                    Ok((_, doc)) => out.push_str(&doc_block(&doc, &format!("Document of {}", s(pol, "PolicyName")))),
                    Err(e) => out.push_str(&api_error(&e)),
                }
                if !slr {
                    out.push_str(&post_button(
                        sess,
                        &format!("{href}/policies"),
                        &[("op", "detach"), ("arn", arn)],
                        "Detach",
                        "secondary",
                    ));
                }
                out.push_str("</article>");
            }
        }
    }
    out.push_str("<h3>Inline policies</h3>");
    match iam(c, r, "ListRolePolicies", json!({"RoleName": name})).await {
        Err(e) => out.push_str(&api_error(&e)),
        Ok(v) => {
            let names: Vec<String> =
                arr(&v, "PolicyNames").iter().filter_map(Value::as_str).map(str::to_owned).collect();
            if names.is_empty() {
                out.push_str("<p>No inline policies.</p>");
            }
            for pn in names {
                let _ = write!(out, "<article class=\"policy\"><h4>{}</h4>", E(&pn));
                match iam(c, r, "GetRolePolicy", json!({"RoleName": name, "PolicyName": pn})).await {
                    Ok(d) => {
                        out.push_str(&doc_block(&pretty_value(d.get("PolicyDocument")), &format!("Document of {pn}")))
                    }
                    Err(e) => out.push_str(&api_error(&e)),
                }
                if !slr {
                    out.push_str(&post_button(
                        sess,
                        &format!("{href}/policies"),
                        &[("op", "delete"), ("name", &pn)],
                        "Delete inline policy",
                        "secondary",
                    ));
                }
                out.push_str("</article>");
            }
        }
    }
    if !slr {
        let _ = write!(
            out,
            "<details class=\"panel\"><summary>Attach a managed policy</summary><form method=\"post\" action=\"{a}/policies\">{csrf}\
             <input type=\"hidden\" name=\"op\" value=\"attach\"><p><label for=\"attach-arn\">Policy ARN</label>\
             <input id=\"attach-arn\" name=\"arn\" size=\"60\" placeholder=\"arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess\" required></p>\
             <p><button type=\"submit\">Attach policy</button></p></form></details>\
             <details class=\"panel\"><summary>Add an inline policy</summary><form method=\"post\" action=\"{a}/policies\">{csrf}\
             <input type=\"hidden\" name=\"op\" value=\"put\"><p><label for=\"inline-name\">Policy name</label><input id=\"inline-name\" name=\"name\" required></p>\
             <p><label for=\"inline-doc\">Policy document (JSON)</label><textarea id=\"inline-doc\" name=\"document\" rows=\"8\" required></textarea></p>\
             <p><button type=\"submit\">Save inline policy</button></p></form></details>",
            a = E(&href),
            csrf = html::csrf(sess)
        );
    }
    out
}

fn trust_tab(c: &Console, r: &Req, sess: &Session, role: &Value, slr: bool) -> String {
    let name = s(role, "RoleName");
    let href = role_href(c, name);
    let doc = pretty_doc(s(role, "AssumeRolePolicyDocument"));
    let mut out = format!("<p>Trusted entities: {}</p>", E(&trusted_entities(&doc)));
    if !slr && r.q("edit") == Some("trust") {
        let _ = write!(
            out,
            "<form method=\"post\" action=\"{}/trust\">{}<p><label for=\"trust-doc\">Trust policy</label>\
             <textarea id=\"trust-doc\" name=\"document\" rows=\"12\">{}</textarea></p><p><button type=\"submit\">Update trust policy</button> \
             <a href=\"{}?tab=trust\">Cancel</a></p></form>",
            E(&href),
            html::csrf(sess),
            E(&doc),
            E(&href)
        );
    } else {
        out.push_str(&doc_block(&doc, "Trust policy"));
        if !slr {
            let _ = write!(
                out,
                "<p><a class=\"button\" href=\"{}?tab=trust&amp;edit=trust\">Edit trust policy</a></p>",
                E(&href)
            );
        }
    }
    out
}

fn tags_tab(c: &Console, _r: &Req, sess: &Session, role: &Value, slr: bool) -> String {
    let href = role_href(c, s(role, "RoleName"));
    let tags = arr(role, "Tags");
    let mut out =
        String::from("<table><caption>Tags</caption><thead><tr><th scope=\"col\">Key</th><th scope=\"col\">Value</th>");
    if !slr {
        out.push_str("<th scope=\"col\"><span class=\"visually-hidden\">Actions</span></th>");
    }
    out.push_str("</tr></thead><tbody>");
    if tags.is_empty() {
        let _ = write!(out, "<tr><td colspan=\"{}\">No tags.</td></tr>", if slr { 2 } else { 3 });
    }
    for t in tags {
        let key = s(t, "Key");
        let _ = write!(out, "<tr><td>{}</td><td>{}</td>", E(key), E(s(t, "Value")));
        if !slr {
            let _ = write!(
                out,
                "<td>{}</td>",
                post_button(sess, &format!("{href}/tags"), &[("op", "remove"), ("key", key)], "Remove", "secondary")
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    if !slr {
        let _ = write!(
            out,
            "<form method=\"post\" action=\"{}/tags\" class=\"row\">{}<input type=\"hidden\" name=\"op\" value=\"add\">\
             <p><label for=\"tag-key\">Key</label><input id=\"tag-key\" name=\"key\" required></p>\
             <p><label for=\"tag-value\">Value</label><input id=\"tag-value\" name=\"value\"></p><p><button type=\"submit\">Add tag</button></p></form>",
            E(&href),
            html::csrf(sess)
        );
    }
    out
}

/// Access Advisor: the services the role's policies reach, when each was
/// last used, where and by whom. Returns the HTML and whether the job still runs.
async fn advisor_tab(c: &Console, r: &Req, role: &Value) -> (String, bool) {
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
            "<p role=\"status\"><progress aria-label=\"Generating the report\"></progress> Generating the Access Advisor report…</p>".to_owned(),
            true,
        );
    }
    let mut out = format!(
        "<p>Services this role's permissions allow, and when it last used each (report generated {}).</p>\
         <table class=\"advisor\"><caption>Access Advisor</caption><thead><tr><th scope=\"col\">Service</th><th scope=\"col\">Namespace</th>\
         <th scope=\"col\">Last accessed</th><th scope=\"col\">Region</th><th scope=\"col\">Entity</th><th scope=\"col\">Actions used</th></tr></thead><tbody>",
        time(details.get("JobCompletionDate"))
    );
    let services = arr(&details, "ServicesLastAccessed");
    if services.is_empty() {
        out.push_str("<tr><td colspan=\"6\">The role's policies allow no service.</td></tr>");
    }
    for svc in services {
        let ns = s(svc, "ServiceNamespace");
        let accessed = svc.get("LastAuthenticated").is_some();
        let entity = if accessed {
            let mut names: Vec<String> = Vec::new();
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
            let who = s(svc, "LastAuthenticatedEntity");
            if names.is_empty() {
                E(who).to_string()
            } else {
                format!("<span title=\"{}\">{}</span>", E(who), E(&names.join(", ")))
            }
        } else {
            "—".to_owned()
        };
        let actions: Vec<String> = arr(svc, "TrackedActionsLastAccessed")
            .iter()
            .map(|a| format!("<li><code>{}</code> {}</li>", E(s(a, "ActionName")), time(a.get("LastAccessedTime"))))
            .collect();
        let _ = write!(
            out,
            "<tr data-namespace=\"{ns_attr}\"><th scope=\"row\">{}</th><td><code>{}</code></td><td>{}</td><td>{}</td><td>{entity}</td><td>{}</td></tr>",
            E(s(svc, "ServiceName")),
            E(ns),
            if accessed { time(svc.get("LastAuthenticated")) } else { "Not accessed in the tracking period".to_owned() },
            if accessed { E(s(svc, "LastAuthenticatedRegion")).to_string() } else { "—".to_owned() },
            if actions.is_empty() { String::new() } else { format!("<ul class=\"compact\">{}</ul>", actions.join("")) },
            ns_attr = E(ns),
        );
    }
    out.push_str("</tbody></table>");
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

/// After a POST: the outcome as a one-time message, then back to `to`.
fn done(c: &Console, r: &Req, out: Result<String, ApiError>, to: &str) -> Res {
    match out {
        Ok(m) => c.flash(r, true, m),
        Err(e) => c.flash(r, false, format!("{}: {}", e.code, e.message)),
    }
    Ok(redirect(to))
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
    let mut body = String::from("<ol class=\"steps\" aria-label=\"Deletion steps\">");
    for (what, res) in &steps {
        match res {
            Ok(()) => {
                let _ = write!(body, "<li class=\"done\">{} — done</li>", E(what));
            }
            Err(e) => {
                let _ = write!(body, "<li class=\"failed\">{} — failed{}</li>", E(what), api_error(e));
            }
        }
    }
    body.push_str("</ol>");
    body.push_str(&if ok {
        note("success", &format!("<p>The role {} was deleted.</p>", E(&name)))
    } else {
        note("error", &format!("<p>The role {} was not deleted.</p>", E(&name)))
    });
    let _ = write!(body, "<p><a href=\"{}\">Back to roles</a></p>", E(&c.link("/iam/roles")));
    Ok(page(&c, &r, &sess, &p, &format!("Deleting role {name}"), Nav::Roles, body))
}

/// The progress of a service-linked role's deletion.
pub async fn role_deletion(c: Arc<Console>, r: Req) -> Res {
    let (sess, p) = r.need_session(&c)?;
    let name = r.seg(2).to_owned();
    let task = r.q("task").unwrap_or_default().to_owned();
    let mut pg = Page::new(format!("Deleting role {name}"), Nav::Roles, String::new());
    let mut body = String::new();
    match iam(&c, &r, "GetServiceLinkedRoleDeletionStatus", json!({"DeletionTaskId": task})).await {
        Err(e) => body.push_str(&api_error(&e)),
        Ok(v) => {
            let status = s(&v, "Status");
            let _ = write!(body, "<p>Deletion task <code>{}</code></p>", E(&task));
            match status {
                "SUCCEEDED" => body.push_str(&note(
                    "success",
                    &format!("<p>Status: <strong>SUCCEEDED</strong>. The role {} was deleted.</p>", E(&name)),
                )),
                "FAILED" => {
                    let reason = &v["Reason"];
                    let mut h = format!(
                        "<p>Status: <strong>FAILED</strong>. The role {} was not deleted: {}</p>",
                        E(&name),
                        E(s(reason, "Reason"))
                    );
                    let usage = arr(reason, "RoleUsageList");
                    if !usage.is_empty() {
                        h.push_str(
                            "<table><caption>Regions and resources still using the role</caption><thead><tr><th scope=\"col\">Region</th>\
                             <th scope=\"col\">Resources</th></tr></thead><tbody>",
                        );
                        for u in usage {
                            let res: Vec<String> = arr(u, "Resources")
                                .iter()
                                .filter_map(Value::as_str)
                                .map(|x| format!("<li><code>{}</code></li>", E(x)))
                                .collect();
                            let _ = write!(
                                h,
                                "<tr><th scope=\"row\">{}</th><td><ul class=\"compact\">{}</ul></td></tr>",
                                E(s(u, "Region")),
                                res.join("")
                            );
                        }
                        h.push_str("</tbody></table>");
                        let _ = write!(
                            h,
                            "<p>Delete these resources (for DAX, every cluster in each region listed — see <a href=\"{}\">DAX clusters</a>), then delete the role again.</p>",
                            E(&c.link("/dax/clusters"))
                        );
                    }
                    body.push_str(&note("error", &h));
                    let _ = write!(body, "<p><a href=\"{}\">Back to the role</a></p>", E(&role_href(&c, &name)));
                }
                other => {
                    pg.refresh = true;
                    let _ = write!(
                        body,
                        "<p role=\"status\"><progress aria-label=\"Deleting the role\"></progress> Status: <strong>{}</strong>. \
                         IAM is asking the linked service whether it still uses the role…</p>",
                        E(other)
                    );
                }
            }
        }
    }
    let _ = write!(body, "<p><a href=\"{}\">All roles</a></p>", E(&c.link("/iam/roles")));
    pg.body = body;
    Ok(html::render(&c, &r, &sess, &p, pg))
}

// ----- users -----

pub async fn users_list(c: Arc<Console>, r: Req) -> Res {
    let (sess, p) = r.need_session(&c)?;
    let search = r.q("search").unwrap_or("").trim().to_owned();
    let path = r.q("path").unwrap_or("").trim().to_owned();
    let needle = search.to_lowercase();
    let keep = move |v: &Value| needle.is_empty() || s(v, "UserName").to_lowercase().contains(&needle);
    let input = if path.is_empty() { json!({}) } else { json!({"PathPrefix": path}) };
    let mut body = search_form(&c, "/iam/users", &search, &path, "users");
    match iam_list(&c, &r, "ListUsers", "Users", input, &keep, r.q("marker")).await {
        Err(e) => body.push_str(&api_error(&e)),
        Ok((users, next)) => {
            body.push_str(
                "<table><caption>Users</caption><thead><tr><th scope=\"col\">User name</th><th scope=\"col\">Path</th>\
                 <th scope=\"col\">ARN</th><th scope=\"col\">Created</th></tr></thead><tbody>",
            );
            if users.is_empty() {
                body.push_str("<tr><td colspan=\"4\">No users.</td></tr>");
            }
            for u in &users {
                let name = s(u, "UserName");
                let _ = write!(
                    body,
                    "<tr><th scope=\"row\"><a href=\"{}\">{}</a></th><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                    E(&user_href(&c, name)),
                    E(name),
                    E(s(u, "Path")),
                    E(s(u, "Arn")),
                    time(u.get("CreateDate"))
                );
            }
            body.push_str("</tbody></table>");
            body.push_str(&html::pager(
                &c.link("/iam/users"),
                &[("search", &search), ("path", &path)],
                "marker",
                next.as_deref(),
                r.q("marker").is_none(),
            ));
        }
    }
    let _ = write!(
        body,
        "<details class=\"panel\"><summary>Create user</summary><form method=\"post\" action=\"{}\">{}\
         <p><label for=\"new-user\">User name</label><input id=\"new-user\" name=\"name\" required></p>\
         <p><label for=\"new-user-path\">Path</label><input id=\"new-user-path\" name=\"path\" placeholder=\"/\"></p>\
         <p><button type=\"submit\">Create user</button></p></form></details>",
        E(&c.link("/iam/users")),
        html::csrf(&sess)
    );
    Ok(page(&c, &r, &sess, &p, "Users", Nav::Users, body))
}

pub async fn user_create(c: Arc<Console>, r: Req) -> Res {
    r.need_post(&c)?;
    let name = r.f("name").unwrap_or_default().trim().to_owned();
    let mut input = json!({"UserName": name});
    if let Some(p) = r.f("path").map(str::trim).filter(|p| !p.is_empty()) {
        input["Path"] = json!(p);
    }
    match iam(&c, &r, "CreateUser", input).await {
        Ok(_) => done(&c, &r, Ok(format!("User {name} created.")), &user_href(&c, &name)),
        Err(e) => done(&c, &r, Err(e), &c.link("/iam/users")),
    }
}

pub async fn user_page(c: Arc<Console>, r: Req) -> Res {
    let (sess, p) = r.need_session(&c)?;
    let name = r.seg(2).to_owned();
    let href = user_href(&c, &name);
    let user = match iam(&c, &r, "GetUser", json!({"UserName": name})).await {
        Ok(v) => v["User"].clone(),
        Err(e) => return Ok(page(&c, &r, &sess, &p, &format!("User {name}"), Nav::Users, api_error(&e))),
    };
    let mut body = String::new();
    if r.q("confirm") == Some("delete") {
        body.push_str(&html::dialog(
            &sess,
            "Delete user",
            &format!("<p>Delete the user <strong>{}</strong>? IAM refuses while it still has access keys, a console password, policies or groups.</p>", E(&name)),
            &format!("{href}/delete"),
            &[],
            "Delete",
            &href,
        ));
    }
    let _ = write!(
        body,
        "<div class=\"actions\"><a class=\"button danger\" href=\"{}?confirm=delete\">Delete user</a></div>\
         <section aria-labelledby=\"u-summary\"><h2 id=\"u-summary\">Summary</h2><dl class=\"summary\"><dt>ARN</dt><dd>{}</dd><dt>Path</dt><dd><code>{}</code></dd>\
         <dt>Created</dt><dd>{}</dd><dt>User ID</dt><dd><code>{}</code></dd></dl></section>",
        E(&href),
        html::copyable(s(&user, "Arn"), "User ARN"),
        E(s(&user, "Path")),
        time(user.get("CreateDate")),
        E(s(&user, "UserId"))
    );
    // Console password.
    body.push_str("<section aria-labelledby=\"u-password\"><h2 id=\"u-password\">Console password</h2>");
    let pw_action = format!("{href}/password");
    match iam(&c, &r, "GetLoginProfile", json!({"UserName": name})).await {
        Ok(v) => {
            let lp = &v["LoginProfile"];
            let _ = write!(
                body,
                "<p>The user can sign in to the console with a password (set {}{}).</p>\
                 <form method=\"post\" action=\"{a}\">{csrf}<input type=\"hidden\" name=\"op\" value=\"update\">\
                 <p><label for=\"new-password\">New password</label><input id=\"new-password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" required></p>\
                 <p><label><input type=\"checkbox\" name=\"reset\" value=\"1\"> Require a new password at next sign-in</label></p>\
                 <p><button type=\"submit\">Change password</button></p></form>{}",
                time(lp.get("CreateDate")),
                if lp.get("PasswordResetRequired").and_then(Value::as_bool) == Some(true) { "; a reset is required" } else { "" },
                post_button(&sess, &pw_action, &[("op", "delete")], "Remove console password", "secondary"),
                a = E(&pw_action),
                csrf = html::csrf(&sess),
            );
        }
        Err(e) if e.code == "NoSuchEntity" => {
            let _ = write!(
                body,
                "<p>The user has no console password.</p><form method=\"post\" action=\"{}\">{}<input type=\"hidden\" name=\"op\" value=\"create\">\
                 <p><label for=\"new-password\">Password</label><input id=\"new-password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" required></p>\
                 <p><label><input type=\"checkbox\" name=\"reset\" value=\"1\"> Require a new password at next sign-in</label></p>\
                 <p><button type=\"submit\">Create console password</button></p></form>",
                E(&pw_action),
                html::csrf(&sess)
            );
        }
        Err(e) => body.push_str(&api_error(&e)),
    }
    body.push_str("</section>");
    // Access keys.
    body.push_str("<section aria-labelledby=\"u-keys\"><h2 id=\"u-keys\">Access keys</h2>");
    let keys_action = format!("{href}/keys");
    match iam(&c, &r, "ListAccessKeys", json!({"UserName": name})).await {
        Err(e) => body.push_str(&api_error(&e)),
        Ok(v) => {
            body.push_str(
                "<table><caption>Access keys</caption><thead><tr><th scope=\"col\">Access key ID</th><th scope=\"col\">Status</th>\
                 <th scope=\"col\">Created</th><th scope=\"col\"><span class=\"visually-hidden\">Actions</span></th></tr></thead><tbody>",
            );
            let keys = arr(&v, "AccessKeyMetadata");
            if keys.is_empty() {
                body.push_str("<tr><td colspan=\"4\">No access keys.</td></tr>");
            }
            for k in keys {
                let id = s(k, "AccessKeyId");
                let active = s(k, "Status") == "Active";
                let _ = write!(
                    body,
                    "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{} {}</td></tr>",
                    E(id),
                    E(s(k, "Status")),
                    time(k.get("CreateDate")),
                    post_button(
                        &sess,
                        &keys_action,
                        &[("op", if active { "deactivate" } else { "activate" }), ("id", id)],
                        if active { "Deactivate" } else { "Activate" },
                        "secondary"
                    ),
                    post_button(&sess, &keys_action, &[("op", "delete"), ("id", id)], "Delete", "secondary"),
                );
            }
            body.push_str("</tbody></table>");
            body.push_str(&post_button(&sess, &keys_action, &[("op", "create")], "Create access key", ""));
        }
    }
    body.push_str("</section>");
    // Permissions.
    body.push_str("<section aria-labelledby=\"u-perms\"><h2 id=\"u-perms\">Permissions</h2>");
    match iam(&c, &r, "ListAttachedUserPolicies", json!({"UserName": name})).await {
        Ok(v) => {
            let items: Vec<String> = arr(&v, "AttachedPolicies")
                .iter()
                .map(|pol| {
                    format!(
                        "<li><a href=\"{}\">{}</a></li>",
                        E(&policy_href(&c, s(pol, "PolicyArn"))),
                        E(s(pol, "PolicyName"))
                    )
                })
                .collect();
            let _ = write!(
                body,
                "<h3>Managed policies</h3>{}",
                if items.is_empty() { "<p>None.</p>".to_owned() } else { format!("<ul>{}</ul>", items.join("")) }
            );
        }
        Err(e) => body.push_str(&api_error(&e)),
    }
    match iam(&c, &r, "ListUserPolicies", json!({"UserName": name})).await {
        Ok(v) => {
            let mut items = String::new();
            for pn in arr(&v, "PolicyNames").iter().filter_map(Value::as_str) {
                let _ = write!(items, "<article class=\"policy\"><h4>{}</h4>", E(pn));
                match iam(&c, &r, "GetUserPolicy", json!({"UserName": name, "PolicyName": pn})).await {
                    Ok(d) => {
                        items.push_str(&doc_block(&pretty_value(d.get("PolicyDocument")), &format!("Document of {pn}")))
                    }
                    Err(e) => items.push_str(&api_error(&e)),
                }
                items.push_str("</article>");
            }
            let _ = write!(
                body,
                "<h3>Inline policies</h3>{}",
                if items.is_empty() { "<p>None.</p>".to_owned() } else { items }
            );
        }
        Err(e) => body.push_str(&api_error(&e)),
    }
    body.push_str("</section>");
    Ok(page(&c, &r, &sess, &p, &format!("User {name}"), Nav::Users, body))
}

pub async fn user_keys(c: Arc<Console>, r: Req) -> Res {
    let (sess, p) = r.need_post(&c)?;
    let name = r.seg(2).to_owned();
    let href = user_href(&c, &name);
    let id = r.f("id").unwrap_or_default();
    let out = match r.f("op") {
        Some("create") => match iam(&c, &r, "CreateAccessKey", json!({"UserName": name})).await {
            Ok(v) => {
                // The secret is shown once, on this response only.
                let k = &v["AccessKey"];
                let body = format!(
                    "{}<dl class=\"summary\"><dt>Access key ID</dt><dd>{}</dd><dt>Secret access key</dt><dd>{}</dd></dl>\
                     <p><a href=\"{}\">Back to user {}</a></p>",
                    note("success", "<p>Access key created. This is the only time the secret access key can be viewed: save it now.</p>"),
                    html::copyable(s(k, "AccessKeyId"), "Access key ID"),
                    html::copyable(s(k, "SecretAccessKey"), "Secret access key"),
                    E(&href),
                    E(&name)
                );
                return Ok(page(&c, &r, &sess, &p, "Access key created", Nav::Users, body));
            }
            Err(e) => Err(e),
        },
        Some(op @ ("activate" | "deactivate")) => {
            let status = if op == "activate" { "Active" } else { "Inactive" };
            iam(&c, &r, "UpdateAccessKey", json!({"UserName": name, "AccessKeyId": id, "Status": status}))
                .await
                .map(|_| format!("Access key {id} is now {status}."))
        }
        _ => iam(&c, &r, "DeleteAccessKey", json!({"UserName": name, "AccessKeyId": id}))
            .await
            .map(|_| format!("Access key {id} deleted.")),
    };
    done(&c, &r, out, &href)
}

pub async fn user_password(c: Arc<Console>, r: Req) -> Res {
    r.need_post(&c)?;
    let name = r.seg(2).to_owned();
    let reset = r.f("reset") == Some("1");
    let password = r.f("password").unwrap_or_default();
    let out = match r.f("op") {
        Some("create") => iam(
            &c,
            &r,
            "CreateLoginProfile",
            json!({"UserName": name, "Password": password, "PasswordResetRequired": reset}),
        )
        .await
        .map(|_| "Console password created.".to_owned()),
        Some("update") => iam(
            &c,
            &r,
            "UpdateLoginProfile",
            json!({"UserName": name, "Password": password, "PasswordResetRequired": reset}),
        )
        .await
        .map(|_| "Console password changed.".to_owned()),
        _ => iam(&c, &r, "DeleteLoginProfile", json!({"UserName": name}))
            .await
            .map(|_| "Console password removed.".to_owned()),
    };
    done(&c, &r, out, &user_href(&c, &name))
}

pub async fn user_delete(c: Arc<Console>, r: Req) -> Res {
    r.need_post(&c)?;
    let name = r.seg(2).to_owned();
    match iam(&c, &r, "DeleteUser", json!({"UserName": name})).await {
        Ok(_) => done(&c, &r, Ok(format!("User {name} deleted.")), &c.link("/iam/users")),
        Err(e) => done(&c, &r, Err(e), &user_href(&c, &name)),
    }
}

// ----- policies -----

pub async fn policies_list(c: Arc<Console>, r: Req) -> Res {
    let (sess, p) = r.need_session(&c)?;
    let search = r.q("search").unwrap_or("").trim().to_owned();
    let scope = r.q("scope").filter(|sc| matches!(*sc, "AWS" | "Local")).unwrap_or("All");
    let needle = search.to_lowercase();
    let keep = move |v: &Value| needle.is_empty() || s(v, "PolicyName").to_lowercase().contains(&needle);
    let mut body = String::new();
    let mut opts = String::new();
    for (v, label) in [("All", "All policies"), ("AWS", "AWS managed"), ("Local", "Customer managed")] {
        let _ = write!(opts, "<option value=\"{v}\"{}>{label}</option>", if v == scope { " selected" } else { "" });
    }
    let _ = write!(
        body,
        "<form method=\"get\" action=\"{}\" class=\"filters\" role=\"search\"><p><label for=\"search\">Search policies</label> \
         <input id=\"search\" name=\"search\" type=\"search\" value=\"{}\"></p><p><label for=\"scope\">Type</label> <select id=\"scope\" name=\"scope\">{opts}</select></p>\
         <p><button type=\"submit\">Search</button></p></form>",
        E(&c.link("/iam/policies")),
        E(&search)
    );
    match iam_list(&c, &r, "ListPolicies", "Policies", json!({"Scope": scope}), &keep, r.q("marker")).await {
        Err(e) => body.push_str(&api_error(&e)),
        Ok((pols, next)) => {
            body.push_str(
                "<table><caption>Policies</caption><thead><tr><th scope=\"col\">Policy name</th><th scope=\"col\">Type</th>\
                 <th scope=\"col\">Attachments</th><th scope=\"col\">Description</th></tr></thead><tbody>",
            );
            if pols.is_empty() {
                body.push_str("<tr><td colspan=\"4\">No policies.</td></tr>");
            }
            for pol in &pols {
                let arn = s(pol, "Arn");
                let kind = if arn.starts_with("arn:aws:iam::aws:") { "AWS managed" } else { "Customer managed" };
                let _ = write!(
                    body,
                    "<tr><th scope=\"row\"><a href=\"{}\">{}</a></th><td>{kind}</td><td>{}</td><td>{}</td></tr>",
                    E(&policy_href(&c, arn)),
                    E(s(pol, "PolicyName")),
                    pol.get("AttachmentCount").and_then(Value::as_u64).unwrap_or(0),
                    E(s(pol, "Description"))
                );
            }
            body.push_str("</tbody></table>");
            body.push_str(&html::pager(
                &c.link("/iam/policies"),
                &[("search", &search), ("scope", scope)],
                "marker",
                next.as_deref(),
                r.q("marker").is_none(),
            ));
        }
    }
    Ok(page(&c, &r, &sess, &p, "Policies", Nav::Policies, body))
}

pub async fn policy_page(c: Arc<Console>, r: Req) -> Res {
    let (sess, p) = r.need_session(&c)?;
    let arn = r.q("arn").unwrap_or_default().to_owned();
    let mut body = String::new();
    let title = arn.rsplit('/').next().unwrap_or("Policy").to_owned();
    match policy_document(&c, &r, &arn).await {
        Err(e) => body.push_str(&api_error(&e)),
        Ok((pol, doc)) => {
            let _ = write!(
                body,
                "<dl class=\"summary\"><dt>ARN</dt><dd>{}</dd><dt>Path</dt><dd><code>{}</code></dd><dt>Description</dt><dd>{}</dd>\
                 <dt>Default version</dt><dd>{}</dd><dt>Attachments</dt><dd>{}</dd><dt>Created</dt><dd>{}</dd><dt>Updated</dt><dd>{}</dd></dl>\
                 <h2>Policy document</h2>{}",
                html::copyable(&arn, "Policy ARN"),
                E(s(&pol, "Path")),
                E(s(&pol, "Description")),
                E(s(&pol, "DefaultVersionId")),
                pol.get("AttachmentCount").and_then(Value::as_u64).unwrap_or(0),
                time(pol.get("CreateDate")),
                time(pol.get("UpdateDate")),
                doc_block(&doc, "Policy document"),
            );
            if let Ok(v) = iam(&c, &r, "ListEntitiesForPolicy", json!({"PolicyArn": arn})).await {
                let mut items = Vec::new();
                for u in arr(&v, "PolicyUsers") {
                    items.push(format!(
                        "<li>User <a href=\"{}\">{}</a></li>",
                        E(&user_href(&c, s(u, "UserName"))),
                        E(s(u, "UserName"))
                    ));
                }
                for g in arr(&v, "PolicyGroups") {
                    items.push(format!("<li>Group {}</li>", E(s(g, "GroupName"))));
                }
                for ro in arr(&v, "PolicyRoles") {
                    items.push(format!(
                        "<li>Role <a href=\"{}\">{}</a></li>",
                        E(&role_href(&c, s(ro, "RoleName"))),
                        E(s(ro, "RoleName"))
                    ));
                }
                let _ = write!(
                    body,
                    "<h2>Attached to</h2>{}",
                    if items.is_empty() {
                        "<p>Nothing.</p>".to_owned()
                    } else {
                        format!("<ul>{}</ul>", items.join(""))
                    }
                );
            }
        }
    }
    Ok(page(&c, &r, &sess, &p, &format!("Policy {title}"), Nav::Policies, body))
}
