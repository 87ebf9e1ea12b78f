//! The web console of daxd: server-rendered pages for IAM, the DAX control
//! plane, DynamoDB tables, CloudWatch alarms and FIS experiments, served at `/console` on daxd's one HTTP
//! endpoint.
//!
//! The console has no back door. It asks its [`Host`] to check sign-in
//! credentials, and does everything else by calling the AWS APIs *as the
//! signed-in principal* ([`Host::call`]), which the host authorizes exactly
//! like a signed request. A denied action shows AWS's denial message.
//!
//! Pages are maud templates (`html.rs` has the layout and components), so
//! every value a page shows is HTML-escaped unless marked otherwise; the
//! only hand-made escaping is of URL components (`forms.rs`).
//!
//! Pages are semantic HTML with labelled controls and work without
//! JavaScript; a small script (embedded, like the stylesheet) adds progress
//! polling, copy buttons and modal dialogs. Nothing is fetched from the
//! network at run time.
//!
//! Sessions: see [`session`].

// Pages answer `Result<Response, Response>` (an early return is a page too),
// and render from many pieces; `is_multiple_of` is newer than the MSRV.
#![allow(clippy::result_large_err, clippy::too_many_arguments, clippy::type_complexity, clippy::manual_is_multiple_of)]

/// Wraps a page function `async fn(Arc<Console>, Req) -> Result<Response, Response>` as a handler.
macro_rules! route {
    ($f:path) => {
        |State(c): State<Arc<Console>>, req: Request| async move {
            match Req::load(&c, req).await {
                Ok(r) => match $f(Arc::clone(&c), r).await {
                    Ok(resp) | Err(resp) => resp,
                },
                Err(resp) => resp,
            }
        }
    };
}

pub mod host;
pub mod session;

mod forms;
mod html;
mod metrics;
mod pages;

#[cfg(test)]
mod tests;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;

pub use host::{ApiError, BoxFuture, CacheCounters, Host, Principal, Service, SignIn};

use crate::session::{Session, Store};

/// How the console behaves.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the console is mounted (links and the cookie path).
    pub base: String,
    /// Session lifetimes and limits.
    pub limits: session::Limits,
    /// Rows per page of every list.
    pub page_size: usize,
    /// How often the DAX cache counters are sampled for the charts.
    pub sample_every: Duration,
    /// Add `Secure` to the session cookie (when served behind TLS).
    pub secure_cookie: bool,
    /// Largest form body accepted.
    pub max_form_bytes: usize,
    /// Time a client has to send a form body; a slower one gets 408.
    pub body_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            base: "/console".to_owned(),
            limits: session::Limits::default(),
            page_size: 20,
            sample_every: Duration::from_secs(5),
            secure_cookie: false,
            max_form_bytes: 1024 * 1024,
            body_timeout: Duration::from_secs(30),
        }
    }
}

/// The console: its host, sessions and cache-counter history.
pub struct Console {
    host: Arc<dyn Host>,
    config: Config,
    sessions: Store,
    metrics: metrics::History,
}

impl Console {
    #[must_use]
    pub fn new(host: Arc<dyn Host>, config: Config) -> Arc<Self> {
        Arc::new(Console { sessions: Store::new(config.limits), host, config, metrics: metrics::History::default() })
    }

    /// The routes under [`Config::base`], to be merged into the server's
    /// router. Any outer state type works.
    pub fn router<S: Clone + Send + Sync + 'static>(self: &Arc<Self>) -> Router<S> {
        use pages::signin;
        let base = self.config.base.trim_end_matches('/').to_owned();
        // `nest` serves `<base>` and `<base>/<more>`; `<base>/` needs its own route.
        Router::new()
            .route(&format!("{base}/"), get(route!(signin::home_root)))
            .nest(&base, self.inner_router())
            .with_state(Arc::clone(self))
    }

    fn inner_router(self: &Arc<Self>) -> Router<Arc<Console>> {
        use pages::{cloudwatch, dax, dynamodb, iam, resilience, signin};
        Router::new()
            .route("/assets/{file}", get(assets))
            .route("/", get(route!(signin::home)))
            .route("/signin", get(route!(signin::form)).post(route!(signin::submit)))
            .route("/signout", post(route!(signin::signout)))
            .route("/iam", get(route!(iam::roles_list)))
            .route("/iam/roles", get(route!(iam::roles_list)))
            .route("/iam/roles/create", post(route!(iam::role_create)))
            .route("/iam/roles/{name}", get(route!(iam::role_page)))
            .route("/iam/roles/{name}/description", post(route!(iam::role_description)))
            .route("/iam/roles/{name}/trust", post(route!(iam::role_trust)))
            .route("/iam/roles/{name}/tags", post(route!(iam::role_tags)))
            .route("/iam/roles/{name}/policies", post(route!(iam::role_policies)))
            .route("/iam/roles/{name}/delete", post(route!(iam::role_delete)))
            .route("/iam/roles/{name}/deletion", get(route!(iam::role_deletion)))
            .route("/iam/users", get(route!(iam::users_list)).post(route!(iam::user_create)))
            .route("/iam/users/{name}", get(route!(iam::user_page)))
            .route("/iam/users/{name}/keys", post(route!(iam::user_keys)))
            .route("/iam/users/{name}/password", post(route!(iam::user_password)))
            .route("/iam/users/{name}/delete", post(route!(iam::user_delete)))
            .route("/iam/policies", get(route!(iam::policies_list)))
            .route("/iam/policy", get(route!(iam::policy_page)))
            .route("/dax", get(route!(dax::clusters)))
            .route("/dax/clusters", get(route!(dax::clusters)))
            .route("/dax/clusters/create", get(route!(dax::create_form)).post(route!(dax::create_submit)))
            .route("/dax/clusters/delete", post(route!(dax::delete_cluster)))
            .route("/dax/clusters/{name}", get(route!(dax::cluster_page)))
            .route("/dax/subnet-groups", get(route!(dax::subnet_groups)).post(route!(dax::subnet_group_post)))
            .route("/dax/parameter-groups", get(route!(dax::parameter_groups)).post(route!(dax::parameter_group_post)))
            .route(
                "/dax/parameter-groups/{name}",
                get(route!(dax::parameter_group_page)).post(route!(dax::parameter_group_update)),
            )
            .route("/dax/events", get(route!(dax::events)))
            .route("/dax/node-hosts", get(route!(pages::node_hosts::list)))
            .route("/dax/alarms", get(route!(cloudwatch::alarms)).post(route!(cloudwatch::alarm_post)))
            .route("/dynamodb", get(route!(dynamodb::tables)))
            .route("/dynamodb/tables", get(route!(dynamodb::tables)).post(route!(dynamodb::table_post)))
            .route("/dynamodb/tables/{name}", get(route!(dynamodb::table_page)))
            .route("/dynamodb/tables/{name}/item", get(route!(dynamodb::item_form)).post(route!(dynamodb::item_post)))
            .route("/resilience", get(route!(resilience::list)).post(route!(resilience::post)))
            .route("/resilience/templates/{id}", get(route!(resilience::template_page)))
            .route(
                "/resilience/experiments/{id}",
                get(route!(resilience::experiment_page)).post(route!(resilience::experiment_post)),
            )
            .fallback(route!(signin::not_found))
    }

    /// Sample the DAX cache counters now and then, for the charts. Call
    /// inside the runtime; the task ends when the console is dropped.
    pub fn spawn_sampler(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(self);
        let every = self.config.sample_every;
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(every);
            loop {
                interval.tick().await;
                let Some(console) = weak.upgrade() else { return };
                console.sample();
            }
        })
    }

    fn sample(&self) {
        let now = self.host.now();
        self.metrics.record(now, self.host.cache_counters());
    }

    fn now(&self) -> f64 {
        self.host.now()
    }

    /// A link inside the console.
    fn link(&self, path: &str) -> String {
        format!("{}{path}", self.config.base)
    }

    /// An API call as the signed-in principal. Credentials that stopped
    /// working end the session.
    async fn call(&self, r: &Req, region: &str, service: Service, op: &str, input: Value) -> Result<Value, ApiError> {
        let Some((session, principal)) = r.signed_in() else {
            return Err(ApiError::new(403, "AccessDenied", "You are not signed in."));
        };
        let out = self.host.call(principal, region, r.ip, r.over_tls, service, op, input).await;
        if let Err(e) = &out {
            if e.is_credential_failure() {
                self.sessions.destroy(&session.id);
            }
            tracing::debug!(op, code = %e.code, "console call failed");
        }
        out
    }

    fn flash(&self, r: &Req, ok: bool, text: impl Into<String>) {
        if let Some(s) = &r.session {
            let text = text.into();
            self.sessions.update(&s.id, |s| s.flash = Some(session::Flash { ok, text }));
        }
    }
}

/// A request extension the server adds to requests that came over TLS: their session
/// cookies are marked `Secure` whatever [`Config::secure_cookie`] says, and their actions
/// are made with `aws:SecureTransport` true.
#[derive(Clone, Copy, Debug)]
pub struct OverTls;

/// One request, parsed.
pub(crate) struct Req {
    pub method: Method,
    /// Decoded path segments inside the console.
    pub segs: Vec<String>,
    /// The path inside the console, as sent.
    pub path: String,
    pub query: Vec<(String, String)>,
    /// The query string as sent.
    pub raw_query: String,
    pub form: Vec<(String, String)>,
    pub session: Option<Session>,
    pub ip: Option<IpAddr>,
    /// The `Origin` (or `Referer`) of a POST names this host, or is absent.
    pub same_origin: bool,
    /// Its session cookies are `Secure` (the request came over TLS, or the config says so).
    pub secure_cookie: bool,
    /// The request reached daxd over TLS ([`OverTls`]): `aws:SecureTransport` of its
    /// actions. Not [`Config::secure_cookie`], which trusts a TLS-terminating proxy.
    pub over_tls: bool,
}

impl Req {
    async fn load(c: &Console, req: Request) -> Result<Req, Response> {
        let (parts, body) = req.into_parts();
        let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ci| ci.0.ip());
        let path = parts.uri.path().to_owned();
        let segs = path_segments(&path);
        let raw_query = parts.uri.query().unwrap_or_default().to_owned();
        let query = forms::parse(raw_query.as_bytes());
        let now = c.now();
        let session = session_cookie(parts.headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()))
            .and_then(|id| c.sessions.get(id, now));
        let same_origin = same_origin(&parts.headers);
        let over_tls = parts.extensions.get::<OverTls>().is_some();
        let secure_cookie = c.config.secure_cookie || over_tls;
        let form = if parts.method == Method::POST {
            match tokio::time::timeout(c.config.body_timeout, axum::body::to_bytes(body, c.config.max_form_bytes)).await
            {
                Ok(Ok(b)) => forms::parse(&b),
                Ok(Err(_)) => return Err(html::plain(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.")),
                Err(_) => return Err(html::plain(StatusCode::REQUEST_TIMEOUT, "The form was not received in time.")),
            }
        } else {
            Vec::new()
        };
        Ok(Req {
            method: parts.method,
            segs,
            path,
            query,
            raw_query,
            form,
            session,
            ip,
            same_origin,
            secure_cookie,
            over_tls,
        })
    }

    fn q(&self, key: &str) -> Option<&str> {
        forms::get(&self.query, key)
    }

    fn f(&self, key: &str) -> Option<&str> {
        forms::get(&self.form, key)
    }

    fn seg(&self, i: usize) -> &str {
        self.segs.get(i).map_or("", String::as_str)
    }

    fn signed_in(&self) -> Option<(&Session, &Principal)> {
        let s = self.session.as_ref()?;
        s.principal.as_ref().map(|p| (s, p))
    }

    /// The signed-in session, or a redirect to the sign-in page.
    fn need_session(&self, c: &Console) -> Result<(Session, Principal), Response> {
        match self.signed_in() {
            Some((s, p)) => Ok((s.clone(), p.clone())),
            None => {
                let next = if self.method == Method::GET {
                    let q = if self.raw_query.is_empty() { String::new() } else { format!("?{}", self.raw_query) };
                    format!("?next={}", forms::encode(&c.link(&format!("{}{q}", self.path))))
                } else {
                    String::new()
                };
                Err(html::redirect(&c.link(&format!("/signin{next}"))))
            }
        }
    }

    /// For a POST: a signed-in session whose CSRF token the form carries,
    /// from a page of this origin.
    fn need_post(&self, c: &Console) -> Result<(Session, Principal), Response> {
        let (s, p) = self.need_session(c)?;
        if !self.same_origin || !session::csrf_ok(&s, self.f("_csrf")) {
            return Err(html::plain(
                StatusCode::FORBIDDEN,
                "The form has expired or did not come from this console. Reload the page and try again.",
            ));
        }
        Ok((s, p))
    }

    /// The region of a regional page: `?region=` (remembered), else the session's.
    fn region(&self, c: &Console) -> String {
        let asked = self.q("region").or_else(|| self.f("region")).filter(|r| html::is_region(r));
        match (asked, &self.session) {
            (Some(r), Some(s)) => {
                if r != s.region {
                    c.sessions.update(&s.id, |s| r.clone_into(&mut s.region));
                }
                r.to_owned()
            }
            (Some(r), None) => r.to_owned(),
            (None, Some(s)) => s.region.clone(),
            (None, None) => "us-east-1".to_owned(),
        }
    }
}

/// The decoded segments of a path inside the console (empty ones dropped).
pub(crate) fn path_segments(path: &str) -> Vec<String> {
    path.split('/').filter(|s| !s.is_empty()).map(forms::decode_component).collect()
}

/// The session id of the first `Cookie` header (of those that are text) that
/// carries exactly one well-formed session cookie.
pub(crate) fn session_cookie<'a>(cookie_headers: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    cookie_headers.into_iter().find_map(|v| session::cookie_value(v, session::COOKIE))
}

/// A POST's `Origin`, else `Referer`, must name the `Host` it was sent to
/// when present (defence in depth behind `SameSite=Strict` and the CSRF token).
fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let source = headers.get(header::ORIGIN).or_else(|| headers.get(header::REFERER)).and_then(|v| v.to_str().ok());
    origin_matches(host, source)
}

/// [`same_origin`] on the header values: `host` is the `Host` header (if text),
/// `source` the `Origin` header if present, else the `Referer` (if text).
pub(crate) fn origin_matches(host: Option<&str>, source: Option<&str>) -> bool {
    let Some(host) = host else { return true };
    match source {
        None | Some("null") => source.is_none(),
        Some(s) => {
            let rest = s.strip_prefix("http://").or_else(|| s.strip_prefix("https://")).unwrap_or("");
            let authority = rest.split('/').next().unwrap_or("");
            authority.eq_ignore_ascii_case(host)
        }
    }
}

/// The embedded stylesheet and script.
async fn assets(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    let (body, ctype): (&'static [u8], &str) = match file.as_str() {
        "console.css" => (include_bytes!("../assets/console.css"), "text/css; charset=utf-8"),
        "console.js" => (include_bytes!("../assets/console.js"), "text/javascript; charset=utf-8"),
        "favicon.svg" => (include_bytes!("../assets/favicon.svg"), "image/svg+xml"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let mut resp = Response::new(Body::from(body));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_str(ctype).unwrap_or(HeaderValue::from_static("text/plain")));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    resp
}

/// The console's parsers of request input (forms, query strings, path segments,
/// cookies, `Origin`/`Referer`, the sign-in `next` target), exposed for the fuzz
/// targets (`crates/console/fuzz`). Not an API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::forms::{all, decode_component, encode, get, parse, query, MAX_FIELDS};
    pub use crate::html::is_region;
    pub use crate::pages::field_of_error;
    pub use crate::pages::signin::next_target;
    pub use crate::session::{cookie_value, csrf_ok, is_token, Session, COOKIE};

    /// See `Req::load`.
    pub fn path_segments(path: &str) -> Vec<String> {
        crate::path_segments(path)
    }

    /// See `Req::load`.
    pub fn session_cookie<'a>(cookie_headers: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
        crate::session_cookie(cookie_headers)
    }

    /// See `same_origin`.
    pub fn origin_matches(host: Option<&str>, source: Option<&str>) -> bool {
        crate::origin_matches(host, source)
    }
}
