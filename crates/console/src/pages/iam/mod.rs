//! IAM: roles (with the service-linked role's protections and asynchronous
//! deletion), users (access keys, console passwords) and managed policies,
//! one module each. This module holds what they share: the IAM call, links
//! between their pages, the list search form and the after-POST redirect.

mod policies;
mod roles;
mod users;

use axum::response::Response;
use serde_json::{json, Value};

pub use policies::{policies_list, policy_page};
pub use roles::{
    role_create, role_delete, role_deletion, role_description, role_page, role_policies, role_tags, role_trust,
    roles_list,
};
pub use users::{user_create, user_delete, user_keys, user_page, user_password, users_list};

use super::GLOBAL;
use crate::forms::encode;
use crate::host::{ApiError, Service};
use crate::html::{self, html, pretty_value, redirect, s, Markup, Nav, Page};
use crate::session::Session;
use crate::{Console, Principal, Req};

type Res = Result<Response, Response>;

async fn iam(c: &Console, r: &Req, op: &str, input: Value) -> Result<Value, ApiError> {
    c.call(r, GLOBAL, Service::Iam, op, input).await
}

fn page(c: &Console, r: &Req, s: &Session, p: &Principal, title: &str, nav: Nav, body: Markup) -> Response {
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

/// The search form of the role and user lists.
fn search_form(c: &Console, action: &str, search: &str, path: &str, what: &str) -> Markup {
    html! {
        form method="get" action=(c.link(action)) class="filters" role="search" {
            p { label for="search" { "Search " (what) } " " input #search name="search" type="search" value=(search); }
            p { label for="path" { "Path prefix" } " " input #path name="path" value=(path) placeholder="/"; }
            p { button type="submit" { "Search" } }
        }
    }
}

/// A managed policy's default document.
async fn policy_document(c: &Console, r: &Req, arn: &str) -> Result<(Value, String), ApiError> {
    let pol = iam(c, r, "GetPolicy", json!({"PolicyArn": arn})).await?;
    let version = s(&pol["Policy"], "DefaultVersionId").to_owned();
    let v = iam(c, r, "GetPolicyVersion", json!({"PolicyArn": arn, "VersionId": version})).await?;
    Ok((pol["Policy"].clone(), pretty_value(v["PolicyVersion"].get("Document"))))
}

/// After a POST: the outcome as a one-time message, then back to `to`.
fn done(c: &Console, r: &Req, out: Result<String, ApiError>, to: &str) -> Res {
    match out {
        Ok(m) => c.flash(r, true, m),
        Err(e) => c.flash(r, false, format!("{}: {}", e.code, e.message)),
    }
    Ok(redirect(to))
}
