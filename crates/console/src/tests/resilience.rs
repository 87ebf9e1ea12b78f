//! The Resilience pages through the router with a host that answers the FIS
//! operations from a little state: templates and experiments listed newest
//! first and paged, Start with a client token, Stop with CSRF, the refresh
//! while an experiment runs, and the API's errors shown as it words them.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use super::{cookie_id, csrf_of};
use crate::host::{ApiError, BoxFuture, Host, Principal, Service, SignIn};
use crate::{Config, Console};

#[derive(Default)]
struct Fis {
    templates: Mutex<Vec<Value>>,
    experiments: Mutex<Vec<Value>>,
    calls: Mutex<Vec<(String, Value)>>,
    /// StopExperiment is denied.
    deny_stop: bool,
}

fn template(i: usize) -> Value {
    json!({
        "id": format!("EXT{i:03}"), "arn": format!("arn:aws:fis:us-east-1:123456789012:experiment-template/EXT{i:03}"),
        "description": format!("template {i}"), "creationTime": 1000.0 + i as f64, "lastUpdateTime": 1000.0 + i as f64,
        "roleArn": "arn:aws:iam::123456789012:role/Fis", "stopConditions": [{"source": "none"}], "tags": {},
        "targets": {"node": {"resourceType": "daxd:dax:node", "selectionMode": "ALL",
            "resourceArns": ["arn:aws:dax:us-east-1:123456789012:cache/c/c-a"]}},
        "actions": {"stop": {"actionId": "daxd:dax:stop-node", "parameters": {"duration": "PT5M"}, "targets": {"Nodes": "node"}}},
    })
}

impl Fis {
    /// One page of a listing, in the API's order (by id), with FIS's `nextToken`.
    fn page(items: &[Value], input: &Value, key: &str) -> Value {
        let mut items = items.to_vec();
        items.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        let at = input.get("nextToken").and_then(Value::as_str).and_then(|t| t.parse::<usize>().ok()).unwrap_or(0);
        let max = input.get("maxResults").and_then(Value::as_u64).unwrap_or(100) as usize;
        let end = (at + max).min(items.len());
        let mut out = json!({});
        out[key] = json!(items[at..end].to_vec());
        if end < items.len() {
            out["nextToken"] = json!(end.to_string());
        }
        out
    }

    fn answer(&self, op: &str, input: &Value) -> Result<Value, ApiError> {
        let not_found = |what: &str| ApiError::new(404, "ResourceNotFoundException", format!("{what} not found."));
        let id = input.get("id").and_then(Value::as_str).unwrap_or_default();
        match op {
            "SimulatePrincipalPolicy" => Ok(json!({"EvaluationResults": []})),
            "ListExperimentTemplates" => Ok(Fis::page(&self.templates.lock().unwrap(), input, "experimentTemplates")),
            "GetExperimentTemplate" => {
                let t = self.templates.lock().unwrap().iter().find(|t| t["id"] == id).cloned();
                t.map(|t| json!({"experimentTemplate": t})).ok_or_else(|| not_found("Experiment template"))
            }
            "DeleteExperimentTemplate" => {
                let mut ts = self.templates.lock().unwrap();
                let n = ts.len();
                ts.retain(|t| t["id"] != id);
                if ts.len() == n {
                    return Err(not_found("Experiment template"));
                }
                Ok(json!({"experimentTemplate": {"id": id}}))
            }
            "ListExperiments" => Ok(Fis::page(&self.experiments.lock().unwrap(), input, "experiments")),
            "StartExperiment" => {
                let tid = input["experimentTemplateId"].as_str().unwrap_or_default();
                if !self.templates.lock().unwrap().iter().any(|t| t["id"] == tid) {
                    return Err(not_found("Experiment template"));
                }
                let token = input["clientToken"].as_str().unwrap_or_default();
                assert!(!token.is_empty(), "StartExperiment needs a client token");
                let mut es = self.experiments.lock().unwrap();
                if let Some(e) = es.iter().find(|e| e["token"] == token) {
                    return Ok(json!({"experiment": e}));
                }
                let e = json!({
                    "id": format!("EXP{:03}", es.len()), "arn": "arn:aws:fis:us-east-1:123456789012:experiment/x",
                    "experimentTemplateId": tid, "token": token, "roleArn": "arn:aws:iam::123456789012:role/Fis",
                    "state": {"status": "running", "reason": "Experiment is running."},
                    "creationTime": 5000.0 + es.len() as f64, "startTime": 5000.0,
                    "targets": {"node": {"resourceType": "daxd:dax:node", "selectionMode": "ALL"}},
                    "actions": {"stop": {"actionId": "daxd:dax:stop-node", "parameters": {"duration": "PT5M"},
                        "state": {"status": "running", "reason": "Action is running."}, "startTime": 5001.0}},
                });
                es.push(e.clone());
                Ok(json!({"experiment": e}))
            }
            "GetExperiment" => {
                let e = self.experiments.lock().unwrap().iter().find(|e| e["id"] == id).cloned();
                e.map(|e| json!({"experiment": e})).ok_or_else(|| not_found("Experiment"))
            }
            "StopExperiment" => {
                if self.deny_stop {
                    return Err(ApiError::new(
                        403,
                        "AccessDeniedException",
                        format!("User: arn:aws:iam::123456789012:user/alice is not authorized to perform: fis:StopExperiment on resource: arn:aws:fis:us-east-1:123456789012:experiment/{id}"),
                    ));
                }
                let mut es = self.experiments.lock().unwrap();
                let e = es.iter_mut().find(|e| e["id"] == id).ok_or_else(|| not_found("Experiment"))?;
                e["state"] = json!({"status": "stopped", "reason": "Experiment stopped."});
                e["endTime"] = json!(5010.0);
                e["actions"]["stop"]["state"] = json!({"status": "stopped", "reason": "Action was stopped."});
                Ok(json!({"experiment": e.clone()}))
            }
            "ListExperimentResolvedTargets" => Ok(json!({"resolvedTargets": [{"resourceType": "daxd:dax:node",
                "targetName": "node", "targetInformation": {"arn": "arn:aws:dax:us-east-1:123456789012:cache/c/c-a"}}]})),
            "CreateExperimentTemplate" => {
                if input.get("roleArn").is_none() {
                    return Err(ApiError::new(400, "ValidationException", "roleArn is required."));
                }
                let mut ts = self.templates.lock().unwrap();
                let mut t = template(900 + ts.len());
                t["description"] = input["description"].clone();
                ts.push(t.clone());
                Ok(json!({"experimentTemplate": t}))
            }
            _ => Ok(json!({})),
        }
    }
}

impl Host for Fis {
    fn sign_in(&self, _how: SignIn) -> BoxFuture<'_, Result<Principal, ()>> {
        Box::pin(async move {
            Ok(Principal {
                handle: "user:alice".into(),
                arn: "arn:aws:iam::123456789012:user/alice".into(),
                name: "alice".into(),
                account: "123456789012".into(),
                expires_at: None,
            })
        })
    }

    fn call<'a>(
        &'a self,
        _who: &'a Principal,
        _region: &'a str,
        _ip: Option<IpAddr>,
        _secure: bool,
        service: Service,
        op: &'a str,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, ApiError>> {
        Box::pin(async move {
            if op != "SimulatePrincipalPolicy" {
                assert_eq!(service, Service::Fis, "{op}");
            }
            self.calls.lock().unwrap().push((op.to_owned(), input.clone()));
            self.answer(op, &input)
        })
    }

    fn now(&self) -> f64 {
        6000.0
    }
}

struct T {
    host: Arc<Fis>,
    router: Router,
    id: String,
    csrf: String,
}

impl T {
    async fn new(host: Fis) -> T {
        let host = Arc::new(host);
        let console = Console::new(Arc::clone(&host) as Arc<dyn Host>, Config { page_size: 3, ..Config::default() });
        let mut t = T { host, router: console.router(), id: String::new(), csrf: String::new() };
        let (_, cookies, body, _) = t.send(Method::GET, "/console/signin", None).await;
        let anon = cookie_id(&cookies[0]);
        t.id = anon;
        let form = format!(
            "_csrf={}&mode=password&account=123456789012&username=alice&password=x&next=%2Fconsole%2F",
            csrf_of(&body)
        );
        let (status, cookies, _, _) = t.send(Method::POST, "/console/signin", Some(&form)).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        t.id = cookie_id(&cookies[0]);
        let (_, _, home, _) = t.send(Method::GET, "/console/", None).await;
        t.csrf = csrf_of(&home);
        t
    }

    async fn send(
        &self,
        method: Method,
        uri: &str,
        form: Option<&str>,
    ) -> (StatusCode, Vec<String>, String, Option<String>) {
        let mut b = Request::builder().method(method).uri(uri).header(header::HOST, "127.0.0.1:8000");
        if !self.id.is_empty() {
            b = b.header(header::COOKIE, format!("daxd_console={}", self.id));
        }
        let req = match form {
            Some(f) => b
                .header(header::ORIGIN, "http://127.0.0.1:8000")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(f.to_owned()))
                .unwrap(),
            None => b.body(Body::empty()).unwrap(),
        };
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let cookies =
            resp.headers().get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        let location = resp.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_owned());
        let body = String::from_utf8_lossy(&resp.into_body().collect().await.unwrap().to_bytes()).into_owned();
        (status, cookies, body, location)
    }

    async fn get(&self, uri: &str) -> String {
        let (status, _, body, _) = self.send(Method::GET, uri, None).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        body
    }

    async fn post(&self, uri: &str, form: &str) -> (StatusCode, Option<String>) {
        let (status, _, _, location) = self.send(Method::POST, uri, Some(form)).await;
        (status, location)
    }

    fn ops(&self) -> Vec<String> {
        self.host.calls.lock().unwrap().iter().map(|(op, _)| op.clone()).collect()
    }
}

/// The `client_token` of the first Start form of a page.
fn client_token(body: &str) -> String {
    let key = "name=\"client_token\" value=\"";
    let at = body.find(key).expect("a Start form") + key.len();
    body[at..at + 64].to_owned()
}

#[tokio::test]
async fn templates_are_listed_newest_first_and_paged() {
    let host = Fis::default();
    host.templates.lock().unwrap().extend((0..5).map(template));
    host.templates.lock().unwrap()[0]["description"] = json!("<script>alert(1)</script>");
    let t = T::new(host).await;
    let body = t.get("/console/resilience?region=us-east-1").await;
    assert!(body.contains("aria-current=\"page\">Resilience</a>"), "the navigation entry");
    let pos = |b: &str, id: &str| b.find(&format!("data-template=\"{id}\""));
    // Page size 3, newest (highest creation time) first.
    let (a, b, c) = (pos(&body, "EXT004").unwrap(), pos(&body, "EXT003").unwrap(), pos(&body, "EXT002").unwrap());
    assert!(a < b && b < c, "newest first");
    assert!(pos(&body, "EXT001").is_none());
    assert!(body.contains("daxd:dax:stop-node") && body.contains("arn:aws:iam::123456789012:role/Fis"));
    assert!(body.contains("No experiments in this region."));
    assert!(body.contains("templates=3") && body.contains("rel=\"next\""), "a next page");
    assert!(!body.contains("data-refresh-ms"), "nothing runs: no refresh");
    let second = t.get("/console/resilience?region=us-east-1&templates=3").await;
    assert!(pos(&second, "EXT001").is_some() && pos(&second, "EXT000").is_some() && pos(&second, "EXT004").is_none());
    assert!(second.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !second.contains("<script>alert"), "escaped");
    assert!(second.contains("First page"));
}

#[tokio::test]
async fn start_then_stop_an_experiment() {
    let host = Fis::default();
    host.templates.lock().unwrap().push(template(1));
    let t = T::new(host).await;
    let list = t.get("/console/resilience?region=us-east-1").await;
    let token = client_token(&list);
    // Without the CSRF token: refused, nothing started.
    let (status, _) =
        t.post("/console/resilience", &format!("op=start&id=EXT001&region=us-east-1&client_token={token}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!t.ops().contains(&"StartExperiment".to_owned()));
    let form = format!("_csrf={}&op=start&id=EXT001&region=us-east-1&client_token={token}", t.csrf);
    let (status, location) = t.post("/console/resilience", &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/console/resilience/experiments/EXP000?region=us-east-1"));
    // The same form sent again starts no second experiment.
    t.post("/console/resilience", &form).await;
    assert_eq!(t.host.experiments.lock().unwrap().len(), 1);
    let page = t.get("/console/resilience/experiments/EXP000?region=us-east-1").await;
    assert!(page.contains("Experiment EXP000 started from template EXT001."), "the flash");
    assert!(page.contains("status fis-running") && page.contains("Action is running."));
    assert!(page.contains("data-refresh-ms"), "refreshes while running");
    assert!(page.contains("arn:aws:dax:us-east-1:123456789012:cache/c/c-a"), "the resolved target");
    assert!(page.contains("&amp;stop=1"), "a Stop button");
    // While it runs, the list refreshes its experiments only (not the create form).
    let list = t.get("/console/resilience?region=us-east-1").await;
    assert!(list.contains("id=\"experiments\" data-refresh-ms=\"1500\""), "the experiments refresh");
    assert_eq!(list.matches("data-refresh-ms").count(), 1, "the page does not");

    let dialog = t.get("/console/resilience/experiments/EXP000?region=us-east-1&stop=1").await;
    assert!(dialog.contains("<dialog open") && dialog.contains("value=\"stop\""));
    let (status, _) = t.post("/console/resilience/experiments/EXP000", "op=stop&region=us-east-1").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "Stop needs the CSRF token");
    let (status, location) =
        t.post("/console/resilience/experiments/EXP000", &format!("_csrf={}&op=stop&region=us-east-1", t.csrf)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/console/resilience/experiments/EXP000?region=us-east-1"));
    let page = t.get("/console/resilience/experiments/EXP000?region=us-east-1").await;
    assert!(page.contains("status fis-stopped") && page.contains("Action was stopped."));
    assert!(!page.contains("data-refresh-ms") && !page.contains("&amp;stop=1"), "ended: no refresh, no Stop");
    let list = t.get("/console/resilience?region=us-east-1").await;
    assert!(list.contains("data-experiment=\"EXP000\"") && list.contains("Experiment stopped."));
    assert!(!list.contains("data-refresh-ms"), "nothing runs any more");
}

#[tokio::test]
async fn api_errors_are_shown_in_aws_words() {
    let host = Fis { deny_stop: true, ..Fis::default() };
    host.templates.lock().unwrap().push(template(1));
    let t = T::new(host).await;
    let token = client_token(&t.get("/console/resilience?region=us-east-1").await);
    let form = format!("_csrf={}&op=start&id=EXT001&region=us-east-1&client_token={token}", t.csrf);
    t.post("/console/resilience", &form).await;
    t.post("/console/resilience/experiments/EXP000", &format!("_csrf={}&op=stop&region=us-east-1", t.csrf)).await;
    let page = t.get("/console/resilience/experiments/EXP000?region=us-east-1").await;
    assert!(page.contains("AccessDeniedException: User: arn:aws:iam::123456789012:user/alice is not authorized to perform: fis:StopExperiment"));
    let missing = t.get("/console/resilience/experiments/NOPE?region=us-east-1").await;
    assert!(missing.contains("ResourceNotFoundException") && missing.contains("role=\"alert\""));
    // A template JSON that does not parse, then one the API refuses: the form keeps it.
    let (status, _, body, _) = t
        .send(
            Method::POST,
            "/console/resilience",
            Some(&format!("_csrf={}&op=create&region=us-east-1&template=%7Bnot", t.csrf)),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("The template is not valid JSON") && body.contains(">{not</textarea>"));
    let (_, _, body, _) = t
        .send(
            Method::POST,
            "/console/resilience",
            Some(&format!("_csrf={}&op=create&region=us-east-1&template=%7B%22description%22%3A%22d%22%7D", t.csrf)),
        )
        .await;
    assert!(body.contains("ValidationException") && body.contains("roleArn is required."));
    let created = t.host.calls.lock().unwrap().iter().filter(|(op, _)| op == "CreateExperimentTemplate").count();
    assert_eq!(created, 1, "invalid JSON reaches no API");
    // Delete: the dialog, then the template is gone.
    let dialog = t.get("/console/resilience?region=us-east-1&delete=EXT001").await;
    assert!(dialog.contains("<dialog open") && dialog.contains("Delete experiment template"));
    let (status, _) =
        t.post("/console/resilience", &format!("_csrf={}&op=delete&id=EXT001&region=us-east-1", t.csrf)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let list = t.get("/console/resilience?region=us-east-1").await;
    assert!(list.contains("Experiment template EXT001 deleted.") && !list.contains("data-template=\"EXT001\""));
}
