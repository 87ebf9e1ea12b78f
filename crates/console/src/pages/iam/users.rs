//! IAM users: the list, creation, the user page (summary, console password,
//! access keys, permissions) and its actions. A new access key's secret is
//! shown once, on the response that created it.

use std::sync::Arc;

use serde_json::{json, Value};

use super::{done, iam, page, policy_href, search_form, user_href, Res};
use crate::html::{
    self, api_error, arr, doc_block, html, note, post_button, pretty_value, s, time, Append, Markup, Nav,
};
use crate::pages::iam_list;
use crate::{Console, Req};

/// The actions of the user page's controls, asked of the policy simulator at once.
const USER_ACTIONS: &[&str] = &[
    "iam:DeleteUser",
    "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile",
    "iam:DeleteLoginProfile",
    "iam:CreateAccessKey",
    "iam:UpdateAccessKey",
    "iam:DeleteAccessKey",
];

pub async fn users_list(c: Arc<Console>, r: Req) -> Res {
    let (sess, p) = r.need_session(&c)?;
    let search = r.q("search").unwrap_or("").trim().to_owned();
    let path = r.q("path").unwrap_or("").trim().to_owned();
    let needle = search.to_lowercase();
    let keep = move |v: &Value| needle.is_empty() || s(v, "UserName").to_lowercase().contains(&needle);
    let input = if path.is_empty() { json!({}) } else { json!({"PathPrefix": path}) };
    let mut body = search_form(&c, "/iam/users", &search, &path, "users");
    match iam_list(&c, &r, "ListUsers", "Users", input, &keep, r.q("marker")).await {
        Err(e) => body.push(api_error(&e)),
        Ok((users, next)) => {
            body.push(html! {
                div.scroll tabindex="0" {
                    table {
                        caption { "Users" }
                        thead {
                            tr {
                                th scope="col" { "User name" } th scope="col" { "Path" } th scope="col" { "ARN" }
                                th scope="col" { "Created" }
                            }
                        }
                        tbody {
                            @if users.is_empty() { tr { td colspan="4" { "No users." } } }
                            @for u in &users {
                                @let name = s(u, "UserName");
                                tr {
                                    th scope="row" { a href=(user_href(&c, name)) { (name) } }
                                    td { (s(u, "Path")) }
                                    td { code { (s(u, "Arn")) } }
                                    td { (time(u.get("CreateDate"))) }
                                }
                            }
                        }
                    }
                }
            });
            body.push(html::pager(
                &c.link("/iam/users"),
                &[("search", &search), ("path", &path)],
                "marker",
                next.as_deref(),
                r.q("marker").is_none(),
            ));
        }
    }
    let account = &p.account;
    let may_create =
        crate::pages::not_permitted(&c, &r, &["iam:CreateUser"], &format!("arn:aws:iam::{account}:user/*"))
            .await
            .is_empty();
    if !may_create {
        body.push(html! { p { (html::not_permitted(html! { "Create user" }, "iam:CreateUser")) } });
        return Ok(page(&c, &r, &sess, &p, "Users", Nav::Users, body));
    }
    body.push(html! {
        details.panel {
            summary { "Create user" }
            form method="post" action=(c.link("/iam/users")) {
                (html::csrf(&sess))
                p { label for="new-user" { "User name" } input #new-user name="name" required; }
                p { label for="new-user-path" { "Path" } input #new-user-path name="path" placeholder="/"; }
                p { button type="submit" { "Create user" } }
            }
        }
    });
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

/// The password form: `op` is `create` or `update`.
fn password_form(action: &str, csrf: &Markup, op: &str, label: &str, button: &str) -> Markup {
    html! {
        form method="post" action=(action) {
            (csrf)
            input type="hidden" name="op" value=(op);
            p {
                label for="new-password" { (label) }
                input #new-password name="password" type="password" autocomplete="new-password" required;
            }
            p { label { input type="checkbox" name="reset" value="1"; " Require a new password at next sign-in" } }
            p { button type="submit" { (button) } }
        }
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
    let csrf = html::csrf(&sess);
    // What the signed-in user may not do to this user: marked, not hidden.
    let denied = crate::pages::not_permitted(&c, &r, USER_ACTIONS, s(&user, "Arn")).await;
    let may = |a: &str| !denied.iter().any(|d| d == a);
    // A POST button, or its label marked not permitted.
    let button = |action: &str, href: &str, fields: &[(&str, &str)], label: &str, class: &str| -> Markup {
        if may(action) {
            post_button(&sess, href, fields, label, class)
        } else {
            html::not_permitted(html! { (label) }, action)
        }
    };
    let mut body = Markup::default();
    if r.q("confirm") == Some("delete") {
        body.push(html::dialog(
            &sess,
            "Delete user",
            html! {
                p {
                    "Delete the user " strong { (name) }
                    "? IAM refuses while it still has access keys, a console password, policies or groups."
                }
            },
            &format!("{href}/delete"),
            &[],
            "Delete",
            &href,
        ));
    }
    body.push(html! {
        div.actions {
            @if may("iam:DeleteUser") {
                a.button.danger href={ (href) "?confirm=delete" } { "Delete user" }
            } @else {
                (html::not_permitted(html! { "Delete user" }, "iam:DeleteUser"))
            }
        }
        section aria-labelledby="u-summary" {
            h2 #u-summary { "Summary" }
            dl.summary {
                dt { "ARN" } dd { (html::copyable(s(&user, "Arn"), "User ARN")) }
                dt { "Path" } dd { code { (s(&user, "Path")) } }
                dt { "Created" } dd { (time(user.get("CreateDate"))) }
                dt { "User ID" } dd { code { (s(&user, "UserId")) } }
            }
        }
    });
    // Console password.
    let pw_action = format!("{href}/password");
    let password = match iam(&c, &r, "GetLoginProfile", json!({"UserName": name})).await {
        Ok(v) => {
            let lp = &v["LoginProfile"];
            let reset = lp.get("PasswordResetRequired").and_then(Value::as_bool) == Some(true);
            html! {
                p {
                    "The user can sign in to the console with a password (set " (time(lp.get("CreateDate")))
                    @if reset { "; a reset is required" }
                    ")."
                }
                @if may("iam:UpdateLoginProfile") {
                    (password_form(&pw_action, &csrf, "update", "New password", "Change password"))
                } @else {
                    p { (html::not_permitted(html! { "Change password" }, "iam:UpdateLoginProfile")) }
                }
                (button("iam:DeleteLoginProfile", &pw_action, &[("op", "delete")], "Remove console password", "secondary"))
            }
        }
        Err(e) if e.code == "NoSuchEntity" => html! {
            p { "The user has no console password." }
            @if may("iam:CreateLoginProfile") {
                (password_form(&pw_action, &csrf, "create", "Password", "Create console password"))
            } @else {
                p { (html::not_permitted(html! { "Create console password" }, "iam:CreateLoginProfile")) }
            }
        },
        Err(e) => api_error(&e),
    };
    body.push(html! { section aria-labelledby="u-password" { h2 #u-password { "Console password" } (password) } });
    // Access keys.
    let keys_action = format!("{href}/keys");
    let keys = match iam(&c, &r, "ListAccessKeys", json!({"UserName": name})).await {
        Err(e) => api_error(&e),
        Ok(v) => {
            let keys = arr(&v, "AccessKeyMetadata");
            html! {
                div.scroll tabindex="0" {
                    table {
                        caption { "Access keys" }
                        thead {
                            tr {
                                th scope="col" { "Access key ID" } th scope="col" { "Status" } th scope="col" { "Created" }
                                th scope="col" { span.visually-hidden { "Actions" } }
                            }
                        }
                        tbody {
                            @if keys.is_empty() { tr { td colspan="4" { "No access keys." } } }
                            @for k in keys {
                                @let id = s(k, "AccessKeyId");
                                @let active = s(k, "Status") == "Active";
                                tr {
                                    td { code { (id) } }
                                    td { (s(k, "Status")) }
                                    td { (time(k.get("CreateDate"))) }
                                    td {
                                        (button(
                                            "iam:UpdateAccessKey",
                                            &keys_action,
                                            &[("op", if active { "deactivate" } else { "activate" }), ("id", id)],
                                            if active { "Deactivate" } else { "Activate" },
                                            "secondary"
                                        ))
                                        " "
                                        (button(
                                            "iam:DeleteAccessKey",
                                            &keys_action,
                                            &[("op", "delete"), ("id", id)],
                                            "Delete",
                                            "secondary"
                                        ))
                                    }
                                }
                            }
                        }
                    }
                }
                (button("iam:CreateAccessKey", &keys_action, &[("op", "create")], "Create access key", ""))
            }
        }
    };
    body.push(html! { section aria-labelledby="u-keys" { h2 #u-keys { "Access keys" } (keys) } });
    // Permissions.
    let mut perms = Markup::default();
    match iam(&c, &r, "ListAttachedUserPolicies", json!({"UserName": name})).await {
        Ok(v) => {
            let list = arr(&v, "AttachedPolicies");
            perms.push(html! {
                h3 { "Managed policies" }
                @if list.is_empty() {
                    p { "None." }
                } @else {
                    ul {
                        @for pol in list {
                            li { a href=(policy_href(&c, s(pol, "PolicyArn"))) { (s(pol, "PolicyName")) } }
                        }
                    }
                }
            });
        }
        Err(e) => perms.push(api_error(&e)),
    }
    match iam(&c, &r, "ListUserPolicies", json!({"UserName": name})).await {
        Ok(v) => {
            let mut items = Markup::default();
            for pn in arr(&v, "PolicyNames").iter().filter_map(Value::as_str) {
                let doc = match iam(&c, &r, "GetUserPolicy", json!({"UserName": name, "PolicyName": pn})).await {
                    Ok(d) => doc_block(&pretty_value(d.get("PolicyDocument")), &format!("Document of {pn}")),
                    Err(e) => api_error(&e),
                };
                items.push(html! { article.policy { h4 { (pn) } (doc) } });
            }
            perms.push(html! {
                h3 { "Inline policies" }
                @if items.0.is_empty() { p { "None." } } @else { (items) }
            });
        }
        Err(e) => perms.push(api_error(&e)),
    }
    body.push(html! { section aria-labelledby="u-perms" { h2 #u-perms { "Permissions" } (perms) } });
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
                let body = html! {
                    (note(
                        "success",
                        html! {
                            p { "Access key created. This is the only time the secret access key can be viewed: save it now." }
                        }
                    ))
                    dl.summary {
                        dt { "Access key ID" } dd { (html::copyable(s(k, "AccessKeyId"), "Access key ID")) }
                        dt { "Secret access key" } dd { (html::copyable(s(k, "SecretAccessKey"), "Secret access key")) }
                    }
                    p { a href=(href) { "Back to user " (name) } }
                };
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
