//! Resilience: the Fault Injection Service's experiment templates and
//! experiments, per region. The list page shows both (newest first, paged),
//! starts an experiment from a template, deletes a template and creates one
//! from its JSON; an experiment's page shows its actions' progress and
//! targets, refreshes while it runs, and stops it. Every read and write is a
//! FIS API call as the signed-in principal.

use std::sync::Arc;

use axum::response::Response;
use serde_json::{json, Map, Value};

use super::regional_page as page;
use crate::forms::encode;
use crate::host::{ApiError, Service};
use crate::html::{self, api_error, arr, html, note, redirect, s, time, Append, Markup, Nav};
use crate::session::{random_token, Session};
use crate::{Console, Req};

type Res = Result<Response, Response>;

/// The states an experiment (or one of its actions) does not leave.
const TERMINAL: &[&str] = &["completed", "stopped", "failed", "cancelled"];

/// At most this many API pages are read to sort a listing newest first.
const MAX_API_PAGES: usize = 50;

fn terminal(status: &str) -> bool {
    TERMINAL.contains(&status)
}

async fn fis(c: &Console, r: &Req, region: &str, op: &str, input: Value) -> Result<Value, ApiError> {
    c.call(r, region, Service::Fis, op, input).await
}

fn rq(region: &str) -> String {
    format!("region={}", encode(region))
}

fn list_href(c: &Console, region: &str) -> String {
    format!("{}?{}", c.link("/resilience"), rq(region))
}

fn template_href(c: &Console, region: &str, id: &str) -> String {
    c.link(&format!("/resilience/templates/{}?{}", encode(id), rq(region)))
}

fn experiment_href(c: &Console, region: &str, id: &str) -> String {
    c.link(&format!("/resilience/experiments/{}?{}", encode(id), rq(region)))
}

fn fis_arn(region: &str, account: &str, kind: &str, id: &str) -> String {
    format!("arn:aws:fis:{region}:{account}:{kind}/{id}")
}

/// An experiment's or action's state, as FIS names it.
fn state_badge(state: &Value) -> Markup {
    let status = s(state, "status");
    let class: String = status.chars().filter(char::is_ascii_alphanumeric).collect();
    html! { span class={ "status fis-" (class) } { (status) } }
}

fn creation_time(v: &Value) -> f64 {
    v.get("creationTime").and_then(Value::as_f64).unwrap_or(0.0)
}

/// Every item of a FIS listing, newest first. FIS lists in no particular
/// order, so the console reads the whole listing (bounded) and sorts it.
async fn list_all(
    c: &Console,
    r: &Req,
    region: &str,
    op: &str,
    key: &str,
    base: Value,
) -> Result<Vec<Value>, ApiError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_API_PAGES {
        let mut input = base.clone();
        input["maxResults"] = json!(100);
        if let Some(t) = &token {
            input["nextToken"] = json!(t);
        }
        let v = fis(c, r, region, op, input).await?;
        out.extend(arr(&v, key).iter().cloned());
        match v.get("nextToken").and_then(Value::as_str) {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    out.sort_by(|a, b| creation_time(b).total_cmp(&creation_time(a)).then_with(|| s(a, "id").cmp(s(b, "id"))));
    Ok(out)
}

/// The page of `items` that starts at the offset in `?<key>=`: the items,
/// the offset, and the next page's offset.
fn page_of<'a>(c: &Console, r: &Req, key: &str, items: &'a [Value]) -> (&'a [Value], usize, Option<usize>) {
    let per = c.config.page_size.max(1);
    let at = r.q(key).and_then(|v| v.parse::<usize>().ok()).unwrap_or(0).min(items.len());
    let end = (at + per).min(items.len());
    (&items[at..end], at, (end < items.len()).then_some(end))
}

/// `name: value` lines of a JSON object member (actions, targets).
fn members<'a>(v: &'a Value, key: &str) -> Vec<(&'a String, &'a Value)> {
    v.get(key).and_then(Value::as_object).map(|m| m.iter().collect()).unwrap_or_default()
}

fn parameters_text(v: &Value) -> String {
    members(v, "parameters")
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn start_after_text(v: &Value) -> String {
    arr(v, "startAfter").iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")
}

/// How a target picks its resources: ARNs, tags, filters and the mode.
fn selection_text(t: &Value) -> Markup {
    let arns: Vec<&str> = arr(t, "resourceArns").iter().filter_map(Value::as_str).collect();
    let tags: Vec<String> =
        members(t, "resourceTags").iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect();
    let filters: Vec<String> = arr(t, "filters")
        .iter()
        .map(|f| {
            let values: Vec<&str> = arr(f, "values").iter().filter_map(Value::as_str).collect();
            format!("{} in {}", s(f, "path"), values.join(" | "))
        })
        .collect();
    html! {
        ul.plain {
            @for a in &arns { li { code { (a) } } }
            @if !tags.is_empty() { li { "Tags: " (tags.join(", ")) } }
            @for f in &filters { li { "Filter: " (f) } }
            li { "Selection: " (s(t, "selectionMode")) }
        }
    }
}

/// The Start button of a template (a POST with the CSRF token and a client
/// token, so a form sent twice starts one experiment).
fn start_form(c: &Console, sess: &Session, region: &str, id: &str, from: &str) -> Markup {
    html! {
        form method="post" action=(c.link("/resilience")) class="inline" {
            (html::csrf(sess))
            input type="hidden" name="op" value="start";
            input type="hidden" name="id" value=(id);
            input type="hidden" name="region" value=(region);
            input type="hidden" name="from" value=(from);
            input type="hidden" name="client_token" value=(random_token());
            button type="submit" class="primary" { "Start" span.visually-hidden { " experiment from template " (id) } }
        }
    }
}

fn delete_dialog(c: &Console, sess: &Session, region: &str, id: &str, cancel: &str) -> Markup {
    html::dialog(
        sess,
        "Delete experiment template",
        html! { p { "Delete the experiment template " strong { (id) } " in " (region) "? Its experiments are kept." } },
        &c.link("/resilience"),
        &[("op", "delete"), ("id", id), ("region", region)],
        "Delete",
        cancel,
    )
}

/// The Resilience page: templates and experiments.
pub async fn list(c: Arc<Console>, r: Req) -> Res {
    list_page(&c, &r, None).await
}

/// The list page; after a refused creation, with the reason above the form
/// and the JSON as it was sent.
async fn list_page(c: &Console, r: &Req, refused: Option<Markup>) -> Res {
    let (sess, p) = r.need_session(c)?;
    let region = r.region(c);
    let back = list_href(c, &region);
    let mut body = Markup::default();
    if let Some(id) = r.q("delete") {
        body.push(delete_dialog(c, &sess, &region, id, &back));
    }
    let mut refresh = false;
    // Templates: the listing has no actions, targets or role, so each shown
    // template is read.
    let templates = list_all(c, r, &region, "ListExperimentTemplates", "experimentTemplates", json!({})).await;
    let experiments = list_all(c, r, &region, "ListExperiments", "experiments", json!({})).await;
    let exp_at = r.q("experiments").unwrap_or("0").to_owned();
    let tpl_at = r.q("templates").unwrap_or("0").to_owned();
    let mut tsection = Markup::default();
    match &templates {
        Err(e) => tsection.push(api_error(e)),
        Ok(all) => {
            let (shown, at, next) = page_of(c, r, "templates", all);
            let mut rows = Markup::default();
            for t in shown {
                let id = s(t, "id");
                let full = fis(c, r, &region, "GetExperimentTemplate", json!({"id": id}))
                    .await
                    .map(|v| v["experimentTemplate"].clone())
                    .unwrap_or_else(|_| t.clone());
                let denied = super::not_permitted(
                    c,
                    r,
                    &["fis:StartExperiment", "fis:DeleteExperimentTemplate"],
                    &fis_arn(&region, &p.account, "experiment-template", id),
                )
                .await;
                let may = |a: &str| !denied.iter().any(|d| d == a);
                let delete = html! { "Delete" span.visually-hidden { " template " (id) } };
                rows.push(html! {
                    tr data-template=(id) {
                        th scope="row" { a href=(template_href(c, &region, id)) { (id) } }
                        td.wrap { (s(&full, "description")) }
                        td {
                            ul.plain {
                                @for (name, a) in members(&full, "actions") {
                                    li { (name) ": " code { (s(a, "actionId")) } }
                                }
                            }
                        }
                        td {
                            ul.plain {
                                @for (name, t) in members(&full, "targets") {
                                    li { (name) ": " code { (s(t, "resourceType")) } }
                                }
                            }
                        }
                        td { (time(full.get("creationTime"))) }
                        td {
                            div.buttons {
                                @if may("fis:StartExperiment") {
                                    (start_form(c, &sess, &region, id, "list"))
                                } @else {
                                    (html::not_permitted(html! { "Start" span.visually-hidden { " experiment from template " (id) } }, "fis:StartExperiment"))
                                }
                                " "
                                @if may("fis:DeleteExperimentTemplate") {
                                    a href={ (back) "&delete=" (encode(id)) } { (delete) }
                                } @else {
                                    (html::not_permitted(delete, "fis:DeleteExperimentTemplate"))
                                }
                            }
                        }
                        td { code { (s(&full, "roleArn")) } }
                    }
                });
            }
            let next = next.map(|n| n.to_string());
            let mut params = vec![("region", region.as_str())];
            if exp_at != "0" {
                params.push(("experiments", exp_at.as_str()));
            }
            tsection.push(html! {
                div.scroll tabindex="0" {
                    table {
                        caption { "Experiment templates in " (region) }
                        thead {
                            tr {
                                th scope="col" { "ID" } th scope="col" { "Description" } th scope="col" { "Actions" }
                                th scope="col" { "Targets" } th scope="col" { "Created" }
                                th scope="col" { span.visually-hidden { "Start or delete" } } th scope="col" { "Role" }
                            }
                        }
                        tbody {
                            @if all.is_empty() { tr { td colspan="7" { "No experiment templates in this region." } } }
                            (rows)
                        }
                    }
                }
                (html::pager(&c.link("/resilience"), &params, "templates", next.as_deref(), at == 0))
            });
        }
    }
    let mut esection = Markup::default();
    match &experiments {
        Err(e) => esection.push(api_error(e)),
        Ok(all) => {
            let (shown, at, next) = page_of(c, r, "experiments", all);
            let mut rows = Markup::default();
            for e in shown {
                let id = s(e, "id");
                // Start and end times are only in the experiment itself.
                let full = fis(c, r, &region, "GetExperiment", json!({"id": id}))
                    .await
                    .map(|v| v["experiment"].clone())
                    .unwrap_or_else(|_| e.clone());
                let state = &full["state"];
                refresh |= !terminal(s(state, "status"));
                let template = s(&full, "experimentTemplateId");
                rows.push(html! {
                    tr data-experiment=(id) {
                        th scope="row" { a href=(experiment_href(c, &region, id)) { (id) } }
                        td { a href=(template_href(c, &region, template)) { (template) } }
                        td { (state_badge(state)) }
                        td { (time(full.get("startTime"))) }
                        td { (time(full.get("endTime"))) }
                        td.wrap { (s(state, "reason")) }
                    }
                });
            }
            let next = next.map(|n| n.to_string());
            let mut params = vec![("region", region.as_str())];
            if tpl_at != "0" {
                params.push(("templates", tpl_at.as_str()));
            }
            esection.push(html! {
                div.scroll tabindex="0" {
                    table {
                        caption { "Experiments in " (region) }
                        thead {
                            tr {
                                th scope="col" { "ID" } th scope="col" { "Template" } th scope="col" { "State" }
                                th scope="col" { "Started" } th scope="col" { "Ended" } th scope="col" { "Reason" }
                            }
                        }
                        tbody {
                            @if all.is_empty() { tr { td colspan="6" { "No experiments in this region." } } }
                            (rows)
                        }
                    }
                }
                (html::pager(&c.link("/resilience"), &params, "experiments", next.as_deref(), at == 0))
            });
        }
    }
    let denied_create = !super::not_permitted(
        c,
        r,
        &["fis:CreateExperimentTemplate"],
        &fis_arn(&region, &p.account, "experiment-template", "*"),
    )
    .await
    .is_empty();
    let sent = r.f("template").unwrap_or_default();
    body.push(html! {
        section aria-labelledby="r-templates" {
            h2 #r-templates { "Experiment templates" }
            (tsection)
        }
        // Only the experiments refresh while one runs: the form below keeps what is typed.
        section aria-labelledby="r-experiments" id="experiments" data-refresh-ms=[refresh.then_some("1500")] {
            h2 #r-experiments { "Experiments" }
            (esection)
        }
        section aria-labelledby="r-create" {
            h2 #r-create { "Create experiment template" }
            @if denied_create {
                p { (html::not_permitted(html! { "Create experiment template" }, "fis:CreateExperimentTemplate")) }
            } @else {
                @if let Some(m) = &refused { (m) }
                form method="post" action=(c.link("/resilience")) class="stack" {
                    (html::csrf(&sess))
                    input type="hidden" name="op" value="create";
                    input type="hidden" name="region" value=(region);
                    p {
                        label for="r-json" { "Template (JSON, as for " code { "aws fis create-experiment-template --cli-input-json" } ")" }
                        textarea #r-json name="template" rows="12" spellcheck="false" required { (sent) }
                    }
                    p { button type="submit" class="primary" { "Create experiment template" } }
                }
            }
        }
    });
    Ok(page(c, r, &sess, &p, "Resilience", Nav::Resilience, &region, body, false))
}

/// Starts an experiment, deletes a template or creates one.
pub async fn post(c: Arc<Console>, r: Req) -> Res {
    r.need_post(&c)?;
    let region = r.region(&c);
    let id = r.f("id").unwrap_or_default().trim().to_owned();
    let back = if r.f("from") == Some("template") { template_href(&c, &region, &id) } else { list_href(&c, &region) };
    match r.f("op") {
        Some("start") => {
            let token = r.f("client_token").filter(|t| !t.is_empty()).map_or_else(random_token, str::to_owned);
            let input = json!({"experimentTemplateId": id, "clientToken": token});
            match fis(&c, &r, &region, "StartExperiment", input).await {
                Ok(v) => {
                    let eid = s(&v["experiment"], "id").to_owned();
                    c.flash(&r, true, format!("Experiment {eid} started from template {id}."));
                    Ok(redirect(&experiment_href(&c, &region, &eid)))
                }
                Err(e) => {
                    c.flash(&r, false, format!("{}: {}", e.code, e.message));
                    Ok(redirect(&back))
                }
            }
        }
        Some("delete") => {
            match fis(&c, &r, &region, "DeleteExperimentTemplate", json!({"id": id})).await {
                Ok(_) => c.flash(&r, true, format!("Experiment template {id} deleted.")),
                Err(e) => c.flash(&r, false, format!("{}: {}", e.code, e.message)),
            }
            Ok(redirect(&list_href(&c, &region)))
        }
        Some("create") => {
            let text = r.f("template").unwrap_or_default();
            let mut input = match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(m)) => m,
                Ok(_) => return list_page(&c, &r, Some(invalid_json("a template is a JSON object"))).await,
                Err(e) => return list_page(&c, &r, Some(invalid_json(&e.to_string()))).await,
            };
            if !input.contains_key("clientToken") {
                input.insert("clientToken".to_owned(), json!(random_token()));
            }
            match fis(&c, &r, &region, "CreateExperimentTemplate", Value::Object(input)).await {
                Ok(v) => {
                    let tid = s(&v["experimentTemplate"], "id").to_owned();
                    c.flash(&r, true, format!("Experiment template {tid} created."));
                    Ok(redirect(&template_href(&c, &region, &tid)))
                }
                Err(e) => list_page(&c, &r, Some(api_error(&e))).await,
            }
        }
        _ => Ok(redirect(&back)),
    }
}

fn invalid_json(why: &str) -> Markup {
    note("error", html! { p { strong { "The template is not valid JSON" } } p { (why) } })
}

/// One template: what it does, and its experiments.
pub async fn template_page(c: Arc<Console>, r: Req) -> Res {
    let (sess, p) = r.need_session(&c)?;
    let region = r.region(&c);
    let id = r.seg(2).to_owned();
    let title = format!("Experiment template {id}");
    let t = match fis(&c, &r, &region, "GetExperimentTemplate", json!({"id": id})).await {
        Ok(v) => v["experimentTemplate"].clone(),
        Err(e) => {
            let body = html! {
                (api_error(&e))
                p { a href=(list_href(&c, &region)) { "All templates and experiments" } }
            };
            return Ok(page(&c, &r, &sess, &p, &title, Nav::Resilience, &region, body, false));
        }
    };
    let href = template_href(&c, &region, &id);
    let mut body = Markup::default();
    if r.q("delete").is_some() {
        body.push(delete_dialog(&c, &sess, &region, &id, &href));
    }
    let denied =
        super::not_permitted(&c, &r, &["fis:StartExperiment", "fis:DeleteExperimentTemplate"], s(&t, "arn")).await;
    let may = |a: &str| !denied.iter().any(|d| d == a);
    let experiments =
        list_all(&c, &r, &region, "ListExperiments", "experiments", json!({"experimentTemplateId": id})).await;
    let mut refresh = false;
    let stop_conditions: Vec<String> = arr(&t, "stopConditions")
        .iter()
        .map(|sc| match sc.get("value").and_then(Value::as_str) {
            Some(v) => format!("{}: {v}", s(sc, "source")),
            None => s(sc, "source").to_owned(),
        })
        .collect();
    let tags: Vec<String> =
        members(&t, "tags").iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect();
    body.push(html! {
        div.actions {
            @if may("fis:StartExperiment") {
                (start_form(&c, &sess, &region, &id, "template"))
            } @else {
                (html::not_permitted(html! { "Start" span.visually-hidden { " experiment from template " (id) } }, "fis:StartExperiment"))
            }
            @if may("fis:DeleteExperimentTemplate") {
                a.button href={ (href) "&delete=1" } { "Delete" span.visually-hidden { " template " (id) } }
            } @else {
                (html::not_permitted(html! { "Delete" span.visually-hidden { " template " (id) } }, "fis:DeleteExperimentTemplate"))
            }
        }
        section aria-labelledby="t-summary" {
            h2 #t-summary { "Summary" }
            dl.summary {
                dt { "ID" } dd { code { (id) } }
                dt { "ARN" } dd { code { (s(&t, "arn")) } }
                dt { "Description" } dd { (s(&t, "description")) }
                dt { "IAM role" } dd { code { (s(&t, "roleArn")) } }
                dt { "Stop conditions" } dd { (stop_conditions.join(", ")) }
                dt { "Created" } dd { (time(t.get("creationTime"))) }
                dt { "Last updated" } dd { (time(t.get("lastUpdateTime"))) }
                dt { "Tags" } dd { @if tags.is_empty() { "—" } @else { (tags.join(", ")) } }
            }
        }
        section aria-labelledby="t-actions" {
            h2 #t-actions { "Actions" }
            div.scroll tabindex="0" {
                table {
                    caption.visually-hidden { "Actions of the template" }
                    thead {
                        tr {
                            th scope="col" { "Name" } th scope="col" { "Action" } th scope="col" { "Parameters" }
                            th scope="col" { "Targets" } th scope="col" { "Start after" }
                        }
                    }
                    tbody {
                        @for (name, a) in members(&t, "actions") {
                            tr {
                                th scope="row" { (name) }
                                td { code { (s(a, "actionId")) } }
                                td { (parameters_text(a)) }
                                td {
                                    @for (k, v) in members(a, "targets") { (k) " → " (v.as_str().unwrap_or_default()) " " }
                                }
                                td { (start_after_text(a)) }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="t-targets" {
            h2 #t-targets { "Targets" }
            @if members(&t, "targets").is_empty() {
                p.muted { "No targets." }
            } @else {
                div.scroll tabindex="0" {
                    table {
                        caption.visually-hidden { "Targets of the template" }
                        thead { tr { th scope="col" { "Name" } th scope="col" { "Resource type" } th scope="col" { "Resources" } } }
                        tbody {
                            @for (name, tg) in members(&t, "targets") {
                                tr {
                                    th scope="row" { (name) }
                                    td { code { (s(tg, "resourceType")) } }
                                    td { (selection_text(tg)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    });
    let list = match &experiments {
        Err(e) => api_error(e),
        Ok(all) => {
            let shown = &all[..all.len().min(c.config.page_size.max(1))];
            refresh = shown.iter().any(|e| !terminal(s(&e["state"], "status")));
            html! {
                div.scroll tabindex="0" {
                    table {
                        caption.visually-hidden { "Experiments of the template, newest first" }
                        thead { tr { th scope="col" { "ID" } th scope="col" { "State" } th scope="col" { "Reason" } th scope="col" { "Created" } } }
                        tbody {
                            @if all.is_empty() { tr { td colspan="4" { "No experiments from this template." } } }
                            @for e in shown {
                                tr {
                                    th scope="row" { a href=(experiment_href(&c, &region, s(e, "id"))) { (s(e, "id")) } }
                                    td { (state_badge(&e["state"])) }
                                    td.wrap { (s(&e["state"], "reason")) }
                                    td { (time(e.get("creationTime"))) }
                                }
                            }
                        }
                    }
                }
                @if all.len() > shown.len() {
                    p { a href=(list_href(&c, &region)) { "All experiments" } }
                }
            }
        }
    };
    body.push(html! { section aria-labelledby="t-experiments" { h2 #t-experiments { "Experiments" } (list) } });
    Ok(page(&c, &r, &sess, &p, &title, Nav::Resilience, &region, body, refresh))
}

/// One experiment: its state, its actions' progress and its targets; Stop
/// while it runs. The page refreshes until the experiment ends.
pub async fn experiment_page(c: Arc<Console>, r: Req) -> Res {
    let (sess, p) = r.need_session(&c)?;
    let region = r.region(&c);
    let id = r.seg(2).to_owned();
    let title = format!("Experiment {id}");
    let e = match fis(&c, &r, &region, "GetExperiment", json!({"id": id})).await {
        Ok(v) => v["experiment"].clone(),
        Err(err) => {
            let body = html! {
                (api_error(&err))
                p { a href=(list_href(&c, &region)) { "All templates and experiments" } }
            };
            return Ok(page(&c, &r, &sess, &p, &title, Nav::Resilience, &region, body, false));
        }
    };
    let href = experiment_href(&c, &region, &id);
    let status = s(&e["state"], "status").to_owned();
    let stoppable = !terminal(&status) && status != "stopping";
    let mut body = Markup::default();
    if r.q("stop").is_some() && stoppable {
        body.push(html::dialog(
            &sess,
            "Stop experiment",
            html! { p { "Stop the experiment " strong { (id) } "? Its running actions are stopped and their faults end; the actions not yet started are cancelled." } },
            &c.link(&format!("/resilience/experiments/{}", encode(&id))),
            &[("op", "stop"), ("region", &region)],
            "Stop experiment",
            &href,
        ));
    }
    let may_stop = !stoppable || super::not_permitted(&c, &r, &["fis:StopExperiment"], s(&e, "arn")).await.is_empty();
    // The resources each target resolved to (none before the experiment resolves them).
    let resolved: Vec<Value> =
        match fis(&c, &r, &region, "ListExperimentResolvedTargets", json!({"experimentId": id, "maxResults": 100}))
            .await
        {
            Ok(v) => arr(&v, "resolvedTargets").to_vec(),
            Err(_) => Vec::new(),
        };
    let template = s(&e, "experimentTemplateId");
    let mut actions: Vec<(&String, &Value)> = members(&e, "actions");
    actions.sort_by(|a, b| {
        let t = |v: &Value| v.get("startTime").and_then(Value::as_f64).unwrap_or(f64::MAX);
        t(a.1).total_cmp(&t(b.1)).then_with(|| a.0.cmp(b.0))
    });
    let targets: Map<String, Value> = e.get("targets").and_then(Value::as_object).cloned().unwrap_or_default();
    body.push(html! {
        div.actions {
            @if stoppable {
                @if may_stop {
                    a.button.danger href={ (href) "&stop=1" } { "Stop experiment" }
                } @else {
                    (html::not_permitted(html! { "Stop experiment" }, "fis:StopExperiment"))
                }
            }
        }
        section aria-labelledby="x-summary" {
            h2 #x-summary { "Summary" }
            dl.summary {
                dt { "State" } dd { (state_badge(&e["state"])) }
                dt { "Reason" } dd { (s(&e["state"], "reason")) }
                dt { "ARN" } dd { code { (s(&e, "arn")) } }
                dt { "Template" } dd { a href=(template_href(&c, &region, template)) { (template) } }
                dt { "IAM role" } dd { code { (s(&e, "roleArn")) } }
                dt { "Created" } dd { (time(e.get("creationTime"))) }
                dt { "Started" } dd { (time(e.get("startTime"))) }
                dt { "Ended" } dd { (time(e.get("endTime"))) }
            }
        }
        section aria-labelledby="x-actions" {
            h2 #x-actions { "Actions" }
            div.scroll tabindex="0" {
                table {
                    caption.visually-hidden { "Actions of the experiment" }
                    thead {
                        tr {
                            th scope="col" { "Name" } th scope="col" { "Action" } th scope="col" { "State" }
                            th scope="col" { "Reason" } th scope="col" { "Started" } th scope="col" { "Ended" }
                            th scope="col" { "Parameters" } th scope="col" { "Start after" }
                        }
                    }
                    tbody {
                        @if actions.is_empty() { tr { td colspan="8" { "No actions." } } }
                        @for (name, a) in &actions {
                            tr data-action=(name) {
                                th scope="row" { (name) }
                                td { code { (s(a, "actionId")) } }
                                td { (state_badge(&a["state"])) }
                                td.wrap { (s(&a["state"], "reason")) }
                                td { (time(a.get("startTime"))) }
                                td { (time(a.get("endTime"))) }
                                td { (parameters_text(a)) }
                                td { (start_after_text(a)) }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="x-targets" {
            h2 #x-targets { "Targets" }
            @if targets.is_empty() {
                p.muted { "No targets." }
            } @else {
                div.scroll tabindex="0" {
                    table {
                        caption.visually-hidden { "Targets of the experiment" }
                        thead {
                            tr {
                                th scope="col" { "Name" } th scope="col" { "Resource type" } th scope="col" { "Selection" }
                                th scope="col" { "Resolved resources" }
                            }
                        }
                        tbody {
                            @for (name, t) in &targets {
                                tr {
                                    th scope="row" { (name) }
                                    td { code { (s(t, "resourceType")) } }
                                    td { (selection_text(t)) }
                                    td {
                                        ul.plain {
                                            @for x in resolved.iter().filter(|x| s(x, "targetName") == name) {
                                                li { code { (s(&x["targetInformation"], "arn")) } }
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
    });
    Ok(page(&c, &r, &sess, &p, &title, Nav::Resilience, &region, body, !terminal(&status)))
}

/// Stops an experiment, then back to its page.
pub async fn experiment_post(c: Arc<Console>, r: Req) -> Res {
    r.need_post(&c)?;
    let region = r.region(&c);
    let id = r.seg(2).to_owned();
    if r.f("op") == Some("stop") {
        match fis(&c, &r, &region, "StopExperiment", json!({"id": id})).await {
            Ok(_) => c.flash(&r, true, format!("Stopping experiment {id}.")),
            Err(e) => c.flash(&r, false, format!("{}: {}", e.code, e.message)),
        }
    }
    Ok(redirect(&experiment_href(&c, &region, &id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_states_are_fis_s() {
        for t in ["completed", "stopped", "failed", "cancelled"] {
            assert!(terminal(t), "{t}");
        }
        for t in ["pending", "initiating", "running", "stopping"] {
            assert!(!terminal(t), "{t}");
        }
    }

    #[test]
    fn selections_and_parameters_read_as_text() {
        let t = json!({"resourceType": "daxd:dax:node", "selectionMode": "COUNT(1)",
            "resourceTags": {"env": "fis"}, "filters": [{"path": "State.Role", "values": ["replica"]}]});
        let m = selection_text(&t).into_string();
        assert!(
            m.contains("Tags: env=fis") && m.contains("Filter: State.Role in replica") && m.contains("COUNT(1)"),
            "{m}"
        );
        let a = json!({"parameters": {"duration": "PT5M", "percentage": "50"}, "startAfter": ["a", "b"]});
        assert_eq!(parameters_text(&a), "duration=PT5M, percentage=50");
        assert_eq!(start_after_text(&a), "a, b");
        assert_eq!(
            state_badge(&json!({"status": "running"})).into_string(),
            "<span class=\"status fis-running\">running</span>"
        );
    }
}
