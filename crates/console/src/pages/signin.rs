//! Sign-in, sign-out, the home page and "not found".

use std::sync::Arc;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;

use crate::host::SignIn;
use maud::{html, Markup, DOCTYPE};

use crate::html::{self, document, redirect, Nav, Page};
use crate::session::{self, Session};
use crate::{Console, Req};

type Res = Result<Response, Response>;

/// The one message for every failed sign-in (as AWS words it).
pub const FAILED: &str = "Your authentication information is incorrect. Please try again.";

fn with_cookie(mut resp: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// Where to go after signing in: a console page, never another site.
fn safe_next(c: &Console, next: Option<&str>) -> String {
    next_target(&c.config.base, next).map_or_else(|| c.link("/"), str::to_owned)
}

/// The `next` a sign-in may redirect to: a page under `base`, never another site
/// (`None`: go to the console's home page).
pub fn next_target<'a>(base: &str, next: Option<&'a str>) -> Option<&'a str> {
    next.filter(|n| {
        n.starts_with(&format!("{base}/")) && !n.contains("//") && !n.contains('\\') && !n.contains("/signout")
    })
}

fn form_page(
    c: &Console,
    s: &Session,
    next: &str,
    error: Option<&str>,
    info: Option<&str>,
    status: StatusCode,
) -> Response {
    let msg = match (error, info) {
        (Some(e), _) => html::note("error", html! { p { (e) } }),
        (None, Some(i)) => html::note("success", html! { p { (i) } }),
        (None, None) => Markup::default(),
    };
    let action = c.link("/signin");
    let base = &c.config.base;
    let hidden = html! { (html::csrf(s)) input type="hidden" name="next" value=(next); };
    let body = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Sign in · daxd console" }
                link rel="icon" href={ (base) "/assets/favicon.svg" } type="image/svg+xml";
                link rel="stylesheet" href={ (base) "/assets/console.css" };
            }
            body.signin {
                main #content {
                    h1 { "Sign in to the daxd console" }
                    (msg)
                    div.cards {
                        section aria-labelledby="iam-title" class="card" {
                            h2 #iam-title { "IAM user" }
                            form method="post" action=(action) {
                                (hidden) input type="hidden" name="mode" value="password";
                                p { label for="account" { "Account ID" } input #account name="account" inputmode="numeric" autocomplete="organization"; }
                                p { label for="username" { "IAM user name" } input #username name="username" autocomplete="username" required; }
                                p { label for="password" { "Password" } input #password name="password" type="password" autocomplete="current-password" required; }
                                p { button type="submit" { "Sign in as IAM user" } }
                            }
                        }
                        section aria-labelledby="root-title" class="card" {
                            h2 #root-title { "Root user" }
                            p.muted {
                                "daxd has no root password: the root signs in with the account's root access key pair ("
                                code { "--root-access-key-id" } " / " code { "--root-secret-access-key" } ", or "
                                code { "root-credentials.json" } ")."
                            }
                            form method="post" action=(action) {
                                (hidden) input type="hidden" name="mode" value="root";
                                p { label for="root-key" { "Root access key ID" } input #root-key name="access_key_id" autocomplete="off" required; }
                                p { label for="root-secret" { "Root secret access key" } input #root-secret name="secret_access_key" type="password" autocomplete="off" required; }
                                p { button type="submit" { "Sign in as root user" } }
                            }
                        }
                        section aria-labelledby="keys-title" class="card" {
                            h2 #keys-title { "Access key" }
                            p.muted { "An IAM user's access key pair, or temporary credentials with their session token." }
                            form method="post" action=(action) {
                                (hidden) input type="hidden" name="mode" value="keys";
                                p { label for="key-id" { "Access key ID" } input #key-id name="access_key_id" autocomplete="off" required; }
                                p { label for="key-secret" { "Secret access key" } input #key-secret name="secret_access_key" type="password" autocomplete="off" required; }
                                p { label for="key-token" { "Session token (optional)" } input #key-token name="session_token" autocomplete="off"; }
                                p { button type="submit" { "Sign in with access key" } }
                            }
                        }
                    }
                }
            }
        }
    };
    document(status, body)
}

/// A session for the sign-in form: the current anonymous one, or a new one (with its cookie).
fn anonymous(c: &Console, r: &Req) -> (Session, Option<String>) {
    match &r.session {
        Some(s) if s.principal.is_none() => (s.clone(), None),
        _ => {
            let s = c.sessions.create_anonymous(c.now(), "us-east-1");
            let cookie = session::set_cookie(&s.id, &c.config.base, r.secure_cookie);
            (s, Some(cookie))
        }
    }
}

pub async fn form(c: Arc<Console>, r: Req) -> Res {
    let next = safe_next(&c, r.q("next"));
    if r.signed_in().is_some() {
        return Ok(redirect(&next));
    }
    let (s, cookie) = anonymous(&c, &r);
    let info = r.q("signed_out").map(|_| "You have signed out.");
    let resp = form_page(&c, &s, &next, None, info, StatusCode::OK);
    Ok(match cookie {
        Some(ck) => with_cookie(resp, &ck),
        None => resp,
    })
}

pub async fn submit(c: Arc<Console>, r: Req) -> Res {
    let next = safe_next(&c, r.f("next"));
    // The form must come from a sign-in page this browser loaded (login CSRF).
    let valid =
        r.same_origin && r.session.as_ref().is_some_and(|s| s.principal.is_none() && session::csrf_ok(s, r.f("_csrf")));
    if !valid {
        let (s, cookie) = anonymous(&c, &r);
        let resp =
            form_page(&c, &s, &next, Some("The sign-in page expired. Please try again."), None, StatusCode::FORBIDDEN);
        return Ok(match cookie {
            Some(ck) => with_cookie(resp, &ck),
            None => resp,
        });
    }
    let field = |k: &str| r.f(k).unwrap_or_default().trim().to_owned();
    let how = match r.f("mode") {
        Some("root") => SignIn::Root {
            access_key_id: field("access_key_id"),
            secret_access_key: r.f("secret_access_key").unwrap_or_default().to_owned(),
        },
        Some("keys") => SignIn::AccessKey {
            access_key_id: field("access_key_id"),
            secret_access_key: r.f("secret_access_key").unwrap_or_default().to_owned(),
            session_token: Some(field("session_token")).filter(|t| !t.is_empty()),
        },
        _ => SignIn::Password {
            account: field("account"),
            user_name: field("username"),
            password: r.f("password").unwrap_or_default().to_owned(),
        },
    };
    let previous = r.session.as_ref().map(|s| s.id.clone());
    match c.host.sign_in(how).await {
        Ok(principal) => {
            let region = r.session.as_ref().map_or_else(|| "us-east-1".to_owned(), |s| s.region.clone());
            let s = c.sessions.sign_in(previous.as_deref(), principal, c.now(), &region);
            let cookie = session::set_cookie(&s.id, &c.config.base, r.secure_cookie);
            Ok(with_cookie(redirect(&next), &cookie))
        }
        Err(()) => {
            let s = r.session.clone().unwrap_or_else(|| c.sessions.create_anonymous(c.now(), "us-east-1"));
            // Shown again with the message as a page (200), as the AWS console
            // does: a browser logs any 4xx document as an error.
            Ok(form_page(&c, &s, &next, Some(FAILED), None, StatusCode::OK))
        }
    }
}

pub async fn signout(c: Arc<Console>, r: Req) -> Res {
    let (s, _) = r.need_post(&c)?;
    c.sessions.destroy(&s.id);
    let resp = redirect(&c.link("/signin?signed_out=1"));
    Ok(with_cookie(resp, &session::clear_cookie(&c.config.base, r.secure_cookie)))
}

pub async fn home(c: Arc<Console>, r: Req) -> Res {
    let (s, p) = r.need_session(&c)?;
    let link = |path: &str, label: &str, what: &str| {
        html! { li { a href=(c.link(path)) { (label) } " — " (what) } }
    };
    let body = html! {
        p {
            "Signed in as " code { (p.arn) } ". Every action here is an AWS API call made as this principal, \
             and is allowed or denied exactly as that call would be."
        }
        section aria-labelledby="svc-iam" {
            h2 #svc-iam { "IAM" }
            ul {
                (link("/iam/users", "Users", "users, access keys and console passwords"))
                (link("/iam/roles", "Roles", "roles, service-linked roles and Access Advisor"))
                (link("/iam/policies", "Policies", "managed policies and their documents"))
            }
        }
        section aria-labelledby="svc-ddb" {
            h2 #svc-ddb { "DynamoDB" }
            ul { (link("/dynamodb/tables", "Tables", "tables and their items")) }
        }
        section aria-labelledby="svc-dax" {
            h2 #svc-dax { "DAX" }
            ul {
                (link("/dax/clusters", "Clusters", "DAX clusters, their nodes, events and cache metrics"))
                (link("/dax/subnet-groups", "Subnet groups", "where cluster nodes run"))
                (link("/dax/parameter-groups", "Parameter groups", "item and query cache TTLs"))
                (link("/dax/events", "Events", "what happened to clusters and groups"))
            }
        }
    };
    Ok(html::render(&c, &r, &s, &p, Page::new("Console home", Nav::None, body)))
}

/// `<base>/`, routed outside the nested router: its path is the console's root.
pub async fn home_root(c: Arc<Console>, mut r: Req) -> Res {
    "/".clone_into(&mut r.path);
    r.segs.clear();
    home(c, r).await
}

pub async fn not_found(c: Arc<Console>, r: Req) -> Res {
    match r.signed_in() {
        Some((s, p)) => {
            let mut page =
                Page::new("Page not found", Nav::None, html! { p { "Nothing lives at " code { (r.path) } "." } });
            page.status = StatusCode::NOT_FOUND;
            Ok(html::render(&c, &r, s, p, page))
        }
        None => Ok(html::plain(StatusCode::NOT_FOUND, "Page not found.")),
    }
}
