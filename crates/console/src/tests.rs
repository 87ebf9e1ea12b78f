//! The console through its router with a fake host: sign-in, sessions,
//! CSRF, cookies, denials, pagination, and no panics on random input.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use proptest::prelude::*;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::host::{ApiError, BoxFuture, CacheCounters, Host, Principal, Service, SignIn};
use crate::{Config, Console};

mod escaping;
mod resilience;

const ROOT: (&str, &str) = ("ROOTKEY", "ROOTSECRET");

#[derive(Default)]
struct Fake {
    calls: Mutex<Vec<(String, String, Service, String, Value)>>,
    /// The `secure` flag (`aws:SecureTransport`) of each call.
    secure: Mutex<Vec<bool>>,
    now: AtomicU64,
    users: usize,
}

fn principal(handle: &str, name: &str) -> Principal {
    Principal {
        handle: handle.into(),
        arn: format!("arn:aws:iam::123456789012:{name}"),
        name: name.into(),
        account: "123456789012".into(),
        expires_at: None,
    }
}

impl Host for Fake {
    fn sign_in(&self, how: SignIn) -> BoxFuture<'_, Result<Principal, ()>> {
        Box::pin(async move {
            match how {
                SignIn::Root { access_key_id, secret_access_key }
                    if access_key_id == ROOT.0 && secret_access_key == ROOT.1 =>
                {
                    Ok(principal("root", "root"))
                }
                SignIn::Password { user_name, password, .. } if user_name == "alice" && password == "Passw0rd!" => {
                    Ok(principal("user:alice", "user/alice"))
                }
                SignIn::Password { user_name, password, .. } if user_name == "mallory" && password == "Passw0rd!" => {
                    Ok(principal("user:mallory", "user/mallory"))
                }
                _ => Err(()),
            }
        })
    }

    fn call<'a>(
        &'a self,
        who: &'a Principal,
        region: &'a str,
        _ip: Option<IpAddr>,
        secure: bool,
        service: Service,
        op: &'a str,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, ApiError>> {
        Box::pin(async move {
            self.secure.lock().unwrap().push(secure);
            self.calls.lock().unwrap().push((
                who.handle.clone(),
                region.to_owned(),
                service,
                op.to_owned(),
                input.clone(),
            ));
            if who.handle == "user:mallory" {
                return Err(ApiError::new(
                    403,
                    "AccessDenied",
                    format!("User: {} is not authorized to perform: iam:{op} on resource: * because no identity-based policy allows the iam:{op} action", who.arn),
                ));
            }
            match op {
                "ListRoles" => Ok(
                    json!({"Roles": [{"RoleName": "AWSServiceRoleForDAX", "Path": "/aws-service-role/dax.amazonaws.com/", "Arn": "arn:aws:iam::123456789012:role/aws-service-role/dax.amazonaws.com/AWSServiceRoleForDAX", "CreateDate": 1, "AssumeRolePolicyDocument": "{}"}], "IsTruncated": false}),
                ),
                "GetRole" => Ok(
                    json!({"Role": {"RoleName": input["RoleName"], "Path": "/", "Arn": "arn:aws:iam::123456789012:role/x", "CreateDate": 1, "AssumeRolePolicyDocument": "{}", "MaxSessionDuration": 3600, "RoleLastUsed": {}}}),
                ),
                "ListUsers" => {
                    let all: Vec<Value> = (0..self.users)
                        .map(|i| json!({"UserName": format!("user{i:03}"), "Path": "/", "Arn": "a", "CreateDate": 0}))
                        .collect();
                    let start =
                        input.get("Marker").and_then(Value::as_str).and_then(|m| m.parse::<usize>().ok()).unwrap_or(0);
                    let max = input.get("MaxItems").and_then(Value::as_u64).unwrap_or(100) as usize;
                    let page: Vec<Value> = all.iter().skip(start).take(max).cloned().collect();
                    let more = start + max < all.len();
                    Ok(
                        json!({"Users": page, "IsTruncated": more, "Marker": if more { json!((start + max).to_string()) } else { Value::Null }}),
                    )
                }
                "DescribeClusters" => Ok(json!({"Clusters": []})),
                "DescribeAlarms" => Ok(json!({"MetricAlarms": [{
                    "AlarmName": "busy <b>", "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:busy <b>",
                    "StateValue": "ALARM", "StateReason": "Threshold Crossed", "MetricName": "ThrottledRequestCount",
                    "Dimensions": [{"Name": "ClusterId", "Value": "c1"}], "Statistic": "Sum",
                    "ComparisonOperator": "GreaterThanThreshold", "Threshold": 0.0, "Period": 60, "EvaluationPeriods": 1}]})),
                "GetMetricStatistics" => Ok(json!({"Label": input["MetricName"], "Datapoints": [
                    {"Timestamp": 960.0, "Sum": 2.0, "Unit": "Count"}, {"Timestamp": 900.0, "Sum": 5.0, "Unit": "Count"}]})),
                "DescribeTable" if input["TableName"] == "streamed" => Ok(json!({"Table": {
                    "TableName": "streamed", "TableStatus": "ACTIVE", "TableArn": "arn:aws:dynamodb:us-east-1:123456789012:table/streamed",
                    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}], "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                    "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"},
                    "LatestStreamArn": "arn:aws:dynamodb:us-east-1:123456789012:table/streamed/stream/1700000000.000000001",
                    "LatestStreamLabel": "1700000000.000000001"}})),
                "DescribeTable" => Ok(json!({"Table": {"TableName": input["TableName"], "TableStatus": "ACTIVE",
                    "TableArn": "arn:aws:dynamodb:us-east-1:123456789012:table/plain", "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}]}})),
                _ => Ok(json!({})),
            }
        })
    }

    fn cache_counters(&self) -> Vec<CacheCounters> {
        Vec::new()
    }

    fn now(&self) -> f64 {
        self.now.load(Ordering::SeqCst) as f64
    }
}

struct T {
    host: Arc<Fake>,
    router: Router,
    /// Requests carry [`crate::OverTls`], as the server marks those that came over TLS.
    over_tls: bool,
}

impl T {
    fn new(users: usize) -> T {
        T::with(users, Config::default(), false)
    }

    fn with(users: usize, config: Config, over_tls: bool) -> T {
        let host = Arc::new(Fake { users, now: AtomicU64::new(1_000), ..Fake::default() });
        let console = Console::new(Arc::clone(&host) as Arc<dyn Host>, config);
        let router = console.router();
        T { host, router, over_tls }
    }

    async fn send(
        &self,
        method: Method,
        uri: &str,
        cookie: Option<&str>,
        form: Option<&str>,
        origin: Option<&str>,
    ) -> (StatusCode, Vec<String>, String, Option<String>) {
        let mut b = Request::builder().method(method).uri(uri).header(header::HOST, "127.0.0.1:8000");
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, format!("daxd_console={c}"));
        }
        if let Some(o) = origin {
            b = b.header(header::ORIGIN, o);
        }
        let mut req = match form {
            Some(f) => b
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(f.to_owned()))
                .unwrap(),
            None => b.body(Body::empty()).unwrap(),
        };
        if self.over_tls {
            req.extensions_mut().insert(crate::OverTls);
        }
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let cookies: Vec<String> =
            resp.headers().get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        let location = resp.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_owned());
        let body = String::from_utf8_lossy(&resp.into_body().collect().await.unwrap().to_bytes()).into_owned();
        (status, cookies, body, location)
    }

    async fn get(&self, uri: &str, cookie: Option<&str>) -> (StatusCode, Vec<String>, String, Option<String>) {
        self.send(Method::GET, uri, cookie, None, None).await
    }

    async fn post(
        &self,
        uri: &str,
        cookie: Option<&str>,
        form: &str,
    ) -> (StatusCode, Vec<String>, String, Option<String>) {
        self.send(Method::POST, uri, cookie, Some(form), Some("http://127.0.0.1:8000")).await
    }

    /// Sign in: (session id, CSRF token).
    async fn sign_in(&self, user: &str) -> (String, String) {
        let (_, cookies, body, _) = self.get("/console/signin", None).await;
        let anon = cookie_id(&cookies[0]);
        let csrf = csrf_of(&body);
        let form = format!(
            "_csrf={csrf}&mode=password&account=123456789012&username={user}&password=Passw0rd%21&next=%2Fconsole%2F"
        );
        let (status, cookies, _, location) = self.post("/console/signin", Some(&anon), &form).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(location.as_deref(), Some("/console/"));
        let id = cookie_id(&cookies[0]);
        let (_, _, home, _) = self.get("/console/", Some(&id)).await;
        (id, csrf_of(&home))
    }
}

fn cookie_id(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().split_once('=').unwrap().1.to_owned()
}

fn csrf_of(body: &str) -> String {
    let at = body.find("name=\"_csrf\" value=\"").expect("a CSRF field") + "name=\"_csrf\" value=\"".len();
    body[at..at + 64].to_owned()
}

#[tokio::test]
async fn pages_need_a_session() {
    let t = T::new(0);
    for (path, next) in [("/console/", "%2Fconsole%2F"), ("/console", "%2Fconsole%2F")] {
        let (status, _, _, location) = t.get(path, None).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(location, Some(format!("/console/signin?next={next}")), "{path}");
    }
    let (status, _, _, location) = t.get("/console/iam/roles?search=x", None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/console/signin?next=%2Fconsole%2Fiam%2Froles%3Fsearch%3Dx"));
    assert!(t.host.calls.lock().unwrap().is_empty(), "nothing is called for an anonymous visitor");
    // A cookie that names no session is no better.
    let (status, _, _, _) = t.get("/console/iam/roles", Some(&"a".repeat(64))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn sign_in_sets_a_strict_http_only_cookie_and_rotates_the_id() {
    let t = T::new(0);
    let (status, cookies, body, _) = t.get("/console/signin", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cookies.len(), 1);
    let c = &cookies[0];
    assert!(c.contains("; Path=/console") && c.contains("; HttpOnly") && c.contains("; SameSite=Strict"), "{c}");
    let anon = cookie_id(c);
    let csrf = csrf_of(&body);

    // Without the form's CSRF token: refused, and no session.
    let (status, _, _, _) =
        t.post("/console/signin", Some(&anon), "mode=root&access_key_id=ROOTKEY&secret_access_key=ROOTSECRET").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Without the anonymous session the token belongs to (login CSRF): refused.
    let form = format!("_csrf={csrf}&mode=root&access_key_id=ROOTKEY&secret_access_key=ROOTSECRET");
    let (status, _, _, _) = t.post("/console/signin", None, &form).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Wrong secret: one message, no session.
    let bad = format!("_csrf={csrf}&mode=root&access_key_id=ROOTKEY&secret_access_key=nope");
    let (status, cookies, body, _) = t.post("/console/signin", Some(&anon), &bad).await;
    assert_eq!(status, StatusCode::OK, "the form again, with the message");
    assert!(cookies.is_empty());
    assert!(body.contains("Your authentication information is incorrect."));

    let (status, cookies, _, location) = t.post("/console/signin", Some(&anon), &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/console/"));
    let id = cookie_id(&cookies[0]);
    assert_ne!(id, anon, "a fresh session id at sign-in");
    assert!(cookies[0].contains("HttpOnly") && cookies[0].contains("SameSite=Strict"));
    let (status, _, body, _) = t.get("/console/", Some(&id)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Signed in as <strong>root</strong>"));
    // The anonymous id is dead: it cannot be fixed on a victim.
    let (status, _, _, _) = t.get("/console/", Some(&anon)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn redirect_after_sign_in_stays_in_the_console() {
    let t = T::new(0);
    let (_, cookies, body, _) = t.get("/console/signin?next=https%3A%2F%2Fevil.example%2F", None).await;
    let anon = cookie_id(&cookies[0]);
    assert!(!body.contains("evil.example"));
    let form = format!(
        "_csrf={}&mode=root&access_key_id=ROOTKEY&secret_access_key=ROOTSECRET&next=%2F%2Fevil.example%2F",
        csrf_of(&body)
    );
    let (_, _, _, location) = t.post("/console/signin", Some(&anon), &form).await;
    assert_eq!(location.as_deref(), Some("/console/"));
}

#[tokio::test]
async fn posts_need_the_csrf_token_and_this_origin() {
    let t = T::new(0);
    let (id, csrf) = t.sign_in("alice").await;
    let before = t.host.calls.lock().unwrap().len();
    for form in
        ["name=bob".to_owned(), format!("_csrf={}&name=bob", "0".repeat(64)), format!("_csrf={}&name=bob", &csrf[..63])]
    {
        let (status, _, _, _) = t.post("/console/iam/users", Some(&id), &form).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{form}");
    }
    let good = format!("_csrf={csrf}&name=bob");
    let (status, _, _, _) =
        t.send(Method::POST, "/console/iam/users", Some(&id), Some(&good), Some("http://evil.example")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "cross-origin POST");
    assert_eq!(t.host.calls.lock().unwrap().len(), before, "no API call for a refused form");

    let (status, _, _, location) = t.post("/console/iam/users", Some(&id), &good).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/console/iam/users/bob"));
    let calls = t.host.calls.lock().unwrap();
    let last = calls.last().unwrap();
    assert_eq!(
        (last.0.as_str(), last.2, last.3.as_str()),
        ("user:alice", Service::Iam, "CreateUser"),
        "made as the signed-in user"
    );
    assert_eq!(last.4, json!({"UserName": "bob"}));
}

#[tokio::test]
async fn secure_transport_is_the_connection_not_the_cookie_setting() {
    // `secure_cookie` trusts a TLS-terminating proxy: it marks cookies `Secure` but
    // says nothing of the connection daxd saw, which alone sets `aws:SecureTransport`.
    for (secure_cookie, over_tls) in [(false, false), (true, false), (false, true), (true, true)] {
        let t = T::with(0, Config { secure_cookie, ..Config::default() }, over_tls);
        let (id, _) = t.sign_in("alice").await;
        let (status, _, _, _) = t.get("/console/iam/roles", Some(&id)).await;
        assert_eq!(status, StatusCode::OK);
        let secure = t.host.secure.lock().unwrap();
        assert!(!secure.is_empty(), "the page made a call");
        assert!(secure.iter().all(|s| *s == over_tls), "secure_cookie={secure_cookie} over_tls={over_tls}: {secure:?}");
    }
}

#[tokio::test]
async fn sign_out_destroys_the_session() {
    let t = T::new(0);
    let (id, csrf) = t.sign_in("alice").await;
    let (status, _, _, _) = t.post("/console/signout", Some(&id), "").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "sign-out needs the token too");
    let (status, cookies, _, location) = t.post("/console/signout", Some(&id), &format!("_csrf={csrf}")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/console/signin?signed_out=1"));
    assert!(cookies[0].contains("Max-Age=0"));
    let (status, _, _, _) = t.get("/console/iam/roles", Some(&id)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "the old cookie is worthless");
}

#[tokio::test]
async fn sessions_expire() {
    let t = T::new(0);
    let (id, _) = t.sign_in("alice").await;
    t.host.now.fetch_add(3 * 3600, Ordering::SeqCst);
    let (status, _, _, _) = t.get("/console/iam/roles", Some(&id)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "idle for longer than the idle limit");
}

#[tokio::test]
async fn a_denied_user_sees_the_denial_not_the_data() {
    let t = T::new(0);
    let (id, _) = t.sign_in("mallory").await;
    let (status, _, body, _) = t.get("/console/iam/roles", Some(&id)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Access denied"));
    assert!(
        body.contains("User: arn:aws:iam::123456789012:user/mallory is not authorized to perform: iam:ListRoles"),
        "{body}"
    );
    assert!(!body.contains("AWSServiceRoleForDAX"));
}

#[tokio::test]
async fn lists_paginate() {
    let t = T::new(45);
    let (id, _) = t.sign_in("alice").await;
    let (_, _, body, _) = t.get("/console/iam/users", Some(&id)).await;
    assert!(body.contains("user000") && body.contains("user019") && !body.contains("user020"));
    let at = body.find("rel=\"next\"").map(|i| body[..i].rfind("href=\"").unwrap() + 6).expect("a next link");
    let href = body[at..].split('"').next().unwrap().replace("&amp;", "&");
    let (_, _, body2, _) = t.get(&href, Some(&id)).await;
    assert!(
        body2.contains("user020")
            && body2.contains("user039")
            && !body2.contains("user019")
            && !body2.contains("user040")
    );
    assert!(body2.contains("First page"));
    // Search filters across API pages.
    let (_, _, found, _) = t.get("/console/iam/users?search=user04", Some(&id)).await;
    assert!(found.contains("user040") && found.contains("user044") && !found.contains("user039"));
}

#[tokio::test]
async fn assets_are_embedded_and_pages_carry_security_headers() {
    let t = T::new(0);
    for (path, ctype) in
        [("/console/assets/console.css", "text/css"), ("/console/assets/console.js", "text/javascript")]
    {
        let resp = t.router.clone().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(resp.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with(ctype));
    }
    let resp = t.router.clone().oneshot(Request::get("/console/signin").body(Body::empty()).unwrap()).await.unwrap();
    let h = resp.headers();
    assert!(h[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("frame-ancestors 'none'"));
    assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(h[header::CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn the_table_page_shows_its_stream() {
    let t = T::new(0);
    let (id, _) = t.sign_in("alice").await;
    let (status, _, body, _) = t.get("/console/dynamodb/tables/streamed", Some(&id)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("<dt>Stream</dt><dd><code>arn:aws:dynamodb:us-east-1:123456789012:table/streamed/stream/1700000000.000000001</code> (NEW_AND_OLD_IMAGES)</dd>"),
        "{body}"
    );
    let (_, _, plain, _) = t.get("/console/dynamodb/tables/plain", Some(&id)).await;
    assert!(plain.contains("<dt>Status</dt>") && !plain.contains("<dt>Stream</dt>"), "{plain}");
}

#[tokio::test]
async fn html_is_escaped() {
    let t = T::new(0);
    let (id, _) = t.sign_in("alice").await;
    let (_, _, body, _) = t.get("/console/iam/roles/%3Cscript%3Ealert(1)%3C%2Fscript%3E", Some(&id)).await;
    assert!(!body.contains("<script>alert(1)"), "role names are escaped");
    assert!(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

const PATHS: &[&str] = &[
    "/console/",
    "/console/signin",
    "/console/signout",
    "/console/iam/roles",
    "/console/iam/roles/x",
    "/console/iam/roles/x/delete",
    "/console/iam/roles/x/deletion",
    "/console/iam/roles/x/tags",
    "/console/iam/users",
    "/console/iam/users/x/keys",
    "/console/iam/users/x/password",
    "/console/iam/policies",
    "/console/iam/policy",
    "/console/dax/clusters",
    "/console/dax/clusters/create",
    "/console/dax/clusters/delete",
    "/console/dax/clusters/x",
    "/console/dax/subnet-groups",
    "/console/dax/parameter-groups",
    "/console/dax/parameter-groups/x",
    "/console/dax/events",
    "/console/dynamodb/tables",
    "/console/dynamodb/tables/x",
    "/console/dynamodb/tables/x/item",
    "/console/nowhere",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// Random forms, queries and cookies, signed in or not, with or without
    /// the right token: never a panic, never a server error.
    #[test]
    fn random_requests_never_panic(
        path in prop::sample::select(PATHS),
        query in "[ -~]{0,60}",
        body in prop::collection::vec(any::<u8>(), 0..300),
        cookie in "[ -~]{0,90}",
        signed_in in any::<bool>(),
        with_token in any::<bool>(),
        post in any::<bool>(),
    ) {
        let rt = runtime();
        rt.block_on(async {
            let t = T::new(3);
            let (id, csrf) = if signed_in { t.sign_in("alice").await } else { (String::new(), String::new()) };
            let mut form = body.clone();
            if with_token {
                form.extend_from_slice(format!("&_csrf={csrf}").as_bytes());
            }
            let q: String = query.chars().filter(|c| !c.is_whitespace() && *c != '#').collect();
            let uri = format!("{path}?{q}");
            let Ok(_) = uri.parse::<axum::http::Uri>() else { return Ok(()) };
            let mut b = Request::builder().method(if post { Method::POST } else { Method::GET }).uri(uri).header(header::HOST, "h");
            let cookie_header = if signed_in { format!("daxd_console={id}; {cookie}") } else { cookie.clone() };
            if axum::http::HeaderValue::from_str(&cookie_header).is_ok() {
                b = b.header(header::COOKIE, cookie_header);
            }
            let resp = t.router.clone().oneshot(b.body(Body::from(form)).unwrap()).await.unwrap();
            prop_assert!(resp.status().as_u16() < 500, "{}", resp.status());
            Ok::<(), TestCaseError>(())
        })?;
    }

    #[test]
    fn cookie_and_form_parsers_never_panic(header in "\\PC{0,200}", bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = crate::session::cookie_value(&header, crate::session::COOKIE);
        let pairs = crate::forms::parse(&bytes);
        let _ = crate::forms::get(&pairs, "_csrf");
        let _ = crate::html::is_region(&header);
        let _ = crate::pages::field_of_error(&header, &header, &[("a", &["b"])]);
    }
}

/// The parsers factored out of `Req::load`, `same_origin` and the sign-in page for
/// the fuzz targets keep their behaviour.
#[test]
fn factored_request_parsers() {
    use crate::fuzzing::{next_target, origin_matches, path_segments, session_cookie};
    assert_eq!(path_segments("/iam//roles/a%20b/"), vec!["iam", "roles", "a b"]);
    assert!(path_segments("///").is_empty());
    let id = "a".repeat(64);
    let other = "b".repeat(64);
    let good = format!("daxd_console={id}");
    let twice = format!("daxd_console={id}; daxd_console={other}");
    assert_eq!(session_cookie(["x=1", good.as_str()]), Some(id.as_str()));
    assert_eq!(session_cookie([twice.as_str(), good.as_str()]), Some(id.as_str()), "a header with two is skipped");
    assert_eq!(session_cookie([twice.as_str()]), None);
    assert!(origin_matches(None, Some("https://evil.example")), "no Host: nothing to compare");
    assert!(origin_matches(Some("localhost:4566"), None));
    assert!(!origin_matches(Some("localhost:4566"), Some("null")));
    assert!(origin_matches(Some("LOCALHOST:4566"), Some("http://localhost:4566/console/x")));
    assert!(!origin_matches(Some("localhost:4566"), Some("http://localhost:4567/")));
    assert!(!origin_matches(Some("localhost:4566"), Some("localhost:4566")));
    assert_eq!(next_target("/console", Some("/console/iam/roles?x=1")), Some("/console/iam/roles?x=1"));
    for bad in
        ["/console", "/consolex/", "/console//evil", "/console/\\evil", "/console/signout", "https://evil/console/"]
    {
        assert_eq!(next_target("/console", Some(bad)), None, "{bad}");
    }
    assert_eq!(next_target("/console", None), None);
}

#[tokio::test]
async fn the_metrics_tab_and_the_alarms_page_call_cloudwatch() {
    let t = T::new(0);
    let (id, csrf) = t.sign_in("alice").await;
    let (status, _, body, _) =
        t.get("/console/dax/clusters/c1?region=us-east-1&tab=metrics&metric=ItemCacheHits&range=3h", Some(&id)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("ItemCacheHits of cluster c1, last 3 hours"), "{body}");
    assert!(body.contains("Sum per minute: 2 datapoints (sum 7)"), "{body}");
    {
        let calls = t.host.calls.lock().unwrap();
        let get = calls.iter().rev().find(|c| c.3 == "GetMetricStatistics").expect("a GetMetricStatistics call");
        assert_eq!(get.2, Service::CloudWatch);
        assert_eq!(get.4["Dimensions"], json!([{"Name": "ClusterId", "Value": "c1"}]));
        assert_eq!(get.4["Period"], json!(60));
        assert_eq!(get.4["EndTime"].as_f64().unwrap() - get.4["StartTime"].as_f64().unwrap(), 10800.0);
    }
    // The details tab's cache chart reads the same datapoints.
    let (_, _, body, _) = t.get("/console/dax/clusters/c1?region=us-east-1", Some(&id)).await;
    assert!(body.contains("2 intervals") && body.contains("21 hits and 21 misses in all"), "recorded minutes: {body}");

    let (status, _, body, _) = t.get("/console/dax/alarms?region=us-east-1", Some(&id)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("busy &lt;b&gt;") && body.contains("ALARM") && body.contains("ClusterId=c1"), "{body}");
    let form = format!(
        "_csrf={csrf}&op=create&region=us-east-1&name=hot&metric=ThrottledRequestCount&cluster=c1&node=&comparison=GreaterThanThreshold&threshold=2.5&period=60&evaluation_periods=x"
    );
    let (status, _, _, location) = t.post("/console/dax/alarms", Some(&id), &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/console/dax/alarms?region=us-east-1"));
    let put = t.host.calls.lock().unwrap().last().unwrap().clone();
    assert_eq!((put.2, put.3.as_str()), (Service::CloudWatch, "PutMetricAlarm"));
    assert_eq!(put.4["Threshold"], json!(2.5));
    assert_eq!(put.4["Period"], json!(60));
    assert_eq!(put.4["EvaluationPeriods"], json!("x"), "what does not parse goes to the API's validation as sent");
    assert_eq!(put.4["Dimensions"], json!([{"Name": "ClusterId", "Value": "c1"}]));
    // A refused creation: the page again (200), the reason, the form as filled in.
    let (mid, mcsrf) = t.sign_in("mallory").await;
    let form =
        format!("_csrf={mcsrf}&op=create&region=us-east-1&name=mine&metric=ScanCacheHits&cluster=c9&threshold=7");
    let (status, _, body, _) = t.post("/console/dax/alarms", Some(&mid), &form).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("role=\"alert\"") && body.contains("iam:PutMetricAlarm"), "{body}");
    assert!(body.contains("value=\"mine\"") && body.contains("value=\"7\""), "{body}");
    assert!(body.contains("<option value=\"ScanCacheHits\" selected>"), "{body}");
    let form = format!("_csrf={csrf}&op=delete&region=us-east-1&name=hot");
    t.post("/console/dax/alarms", Some(&id), &form).await;
    let del = t.host.calls.lock().unwrap().last().unwrap().clone();
    assert_eq!((del.3.as_str(), del.4.clone()), ("DeleteAlarms", json!({"AlarmNames": ["hot"]})));
}
