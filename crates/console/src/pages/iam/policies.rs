//! IAM managed policies: the list (searchable, by scope) and the policy page
//! with its default document and what it is attached to.

use std::sync::Arc;

use serde_json::{json, Value};

use super::{iam, page, policy_document, policy_href, role_href, user_href, Res};
use crate::html::{self, api_error, arr, doc_block, html, s, time, Append, Markup, Nav};
use crate::pages::iam_list;
use crate::{Console, Req};

pub async fn policies_list(c: Arc<Console>, r: Req) -> Res {
    let (sess, p) = r.need_session(&c)?;
    let search = r.q("search").unwrap_or("").trim().to_owned();
    let scope = r.q("scope").filter(|sc| matches!(*sc, "AWS" | "Local")).unwrap_or("All");
    let needle = search.to_lowercase();
    let keep = move |v: &Value| needle.is_empty() || s(v, "PolicyName").to_lowercase().contains(&needle);
    let mut body = html! {
        form method="get" action=(c.link("/iam/policies")) class="filters" role="search" {
            p { label for="search" { "Search policies" } " " input #search name="search" type="search" value=(search); }
            p {
                label for="scope" { "Type" } " "
                select #scope name="scope" {
                    @for (v, label) in [("All", "All policies"), ("AWS", "AWS managed"), ("Local", "Customer managed")] {
                        option value=(v) selected[v == scope] { (label) }
                    }
                }
            }
            p { button type="submit" { "Search" } }
        }
    };
    match iam_list(&c, &r, "ListPolicies", "Policies", json!({"Scope": scope}), &keep, r.q("marker")).await {
        Err(e) => body.push(api_error(&e)),
        Ok((pols, next)) => {
            body.push(html! {
                div.scroll tabindex="0" {
                    table {
                        caption { "Policies" }
                        thead {
                            tr {
                                th scope="col" { "Policy name" } th scope="col" { "Type" } th scope="col" { "Attachments" }
                                th scope="col" { "Description" }
                            }
                        }
                        tbody {
                            @if pols.is_empty() { tr { td colspan="4" { "No policies." } } }
                            @for pol in &pols {
                                @let arn = s(pol, "Arn");
                                tr {
                                    th scope="row" { a href=(policy_href(&c, arn)) { (s(pol, "PolicyName")) } }
                                    td { @if arn.starts_with("arn:aws:iam::aws:") { "AWS managed" } @else { "Customer managed" } }
                                    td { (pol.get("AttachmentCount").and_then(Value::as_u64).unwrap_or(0)) }
                                    td { (s(pol, "Description")) }
                                }
                            }
                        }
                    }
                }
            });
            body.push(html::pager(
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
    let mut body = Markup::default();
    let title = arn.rsplit('/').next().unwrap_or("Policy").to_owned();
    match policy_document(&c, &r, &arn).await {
        Err(e) => body.push(api_error(&e)),
        Ok((pol, doc)) => {
            body.push(html! {
                dl.summary {
                    dt { "ARN" } dd { (html::copyable(&arn, "Policy ARN")) }
                    dt { "Path" } dd { code { (s(&pol, "Path")) } }
                    dt { "Description" } dd { (s(&pol, "Description")) }
                    dt { "Default version" } dd { (s(&pol, "DefaultVersionId")) }
                    dt { "Attachments" } dd { (pol.get("AttachmentCount").and_then(Value::as_u64).unwrap_or(0)) }
                    dt { "Created" } dd { (time(pol.get("CreateDate"))) }
                    dt { "Updated" } dd { (time(pol.get("UpdateDate"))) }
                }
                h2 { "Policy document" }
                (doc_block(&doc, "Policy document"))
            });
            if let Ok(v) = iam(&c, &r, "ListEntitiesForPolicy", json!({"PolicyArn": arn})).await {
                let (users, groups, roles) = (arr(&v, "PolicyUsers"), arr(&v, "PolicyGroups"), arr(&v, "PolicyRoles"));
                body.push(html! {
                    h2 { "Attached to" }
                    @if users.is_empty() && groups.is_empty() && roles.is_empty() {
                        p { "Nothing." }
                    } @else {
                        ul {
                            @for u in users {
                                li { "User " a href=(user_href(&c, s(u, "UserName"))) { (s(u, "UserName")) } }
                            }
                            @for g in groups { li { "Group " (s(g, "GroupName")) } }
                            @for ro in roles {
                                li { "Role " a href=(role_href(&c, s(ro, "RoleName"))) { (s(ro, "RoleName")) } }
                            }
                        }
                    }
                });
            }
        }
    }
    Ok(page(&c, &r, &sess, &p, &format!("Policy {title}"), Nav::Policies, body))
}
