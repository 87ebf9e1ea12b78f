//! DAX metrics and alarms from CloudWatch (`AWS/DAX`): the cluster page's
//! Metrics tab (any recorded metric, per cluster or per node, over 1 hour to
//! 1 week), the Alarms page (list with states, create, delete), and the
//! cache chart's datapoints. Every read and write is a CloudWatch API call as
//! the signed-in principal.

use std::sync::Arc;

use axum::response::Response;
use serde_json::{json, Value};

use crate::forms::encode;
use crate::host::{ApiError, Service};
use crate::html::{self, api_error, arr, html, redirect, s, Append, Markup, Nav, Page};
use crate::metrics::{self, Line};
use crate::{Console, Req};

type Res = Result<Response, Response>;

/// The DAX metrics daxd records (`docs/metrics.md`), with their unit.
pub const METRICS: &[(&str, &str)] = &[
    ("TotalRequestCount", "Count"),
    ("GetItemRequestCount", "Count"),
    ("PutItemRequestCount", "Count"),
    ("UpdateItemRequestCount", "Count"),
    ("DeleteItemRequestCount", "Count"),
    ("QueryRequestCount", "Count"),
    ("ScanRequestCount", "Count"),
    ("BatchGetItemRequestCount", "Count"),
    ("BatchWriteItemRequestCount", "Count"),
    ("TransactGetItemsCount", "Count"),
    ("TransactWriteItemsCount", "Count"),
    ("ItemCacheHits", "Count"),
    ("ItemCacheMisses", "Count"),
    ("QueryCacheHits", "Count"),
    ("QueryCacheMisses", "Count"),
    ("ScanCacheHits", "Count"),
    ("ScanCacheMisses", "Count"),
    ("ErrorRequestCount", "Count"),
    ("ThrottledRequestCount", "Count"),
    ("FaultRequestCount", "Count"),
    ("FailedRequestCount", "Count"),
    ("EvictedSize", "Bytes"),
    ("ClientConnections", "Count"),
    ("EstimatedDbSize", "Bytes"),
    ("CacheMemoryUtilization", "Percent"),
];

/// The Metrics tab's time ranges: query value, label, seconds, datapoint period.
pub const RANGES: &[(&str, &str, f64, i64)] = &[
    ("1h", "1 hour", 3600.0, 60),
    ("3h", "3 hours", 10800.0, 60),
    ("12h", "12 hours", 43200.0, 300),
    ("1d", "1 day", 86400.0, 300),
    ("1w", "1 week", 604_800.0, 3600),
];

/// Gauges are averaged; counts are summed over each period.
fn statistic(metric: &str) -> &'static str {
    match metric {
        "ClientConnections" | "EstimatedDbSize" | "CacheMemoryUtilization" => "Average",
        _ => "Sum",
    }
}

fn unit_of(metric: &str) -> &'static str {
    METRICS.iter().find(|(m, _)| *m == metric).map_or("Count", |(_, u)| u)
}

async fn cw(c: &Console, r: &Req, region: &str, op: &str, input: Value) -> Result<Value, ApiError> {
    c.call(r, region, Service::CloudWatch, op, input).await
}

fn dimensions(cluster: &str, node: Option<&str>) -> Value {
    match node {
        Some(n) => json!([{"Name": "ClusterId", "Value": cluster}, {"Name": "NodeId", "Value": n}]),
        None => json!([{"Name": "ClusterId", "Value": cluster}]),
    }
}

/// The datapoints of one metric, oldest first, as (Unix seconds, value).
pub async fn datapoints(
    c: &Console,
    r: &Req,
    region: &str,
    metric: &str,
    cluster: &str,
    node: Option<&str>,
    start: f64,
    end: f64,
    period: i64,
) -> Result<Vec<(f64, f64)>, ApiError> {
    let stat = statistic(metric);
    let input = json!({
        "Namespace": "AWS/DAX", "MetricName": metric, "Dimensions": dimensions(cluster, node),
        "StartTime": start, "EndTime": end, "Period": period, "Statistics": [stat],
    });
    let v = cw(c, r, region, "GetMetricStatistics", input).await?;
    let mut points: Vec<(f64, f64)> = arr(&v, "Datapoints")
        .iter()
        .filter_map(|d| Some((d.get("Timestamp")?.as_f64()?, d.get(stat)?.as_f64()?)))
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(points)
}

/// The cluster's cache hits and misses recorded per minute in the last hour
/// (item, query and scan caches together), as (minute start, hits, misses);
/// empty when none are recorded or they cannot be read.
pub async fn cache_minutes(c: &Console, r: &Req, region: &str, cluster: &str) -> Vec<(f64, u64, u64)> {
    let end = c.now();
    let start = end - metrics::WINDOW;
    let mut minutes = std::collections::BTreeMap::<i64, (u64, u64)>::new();
    for (hit, m) in [
        (true, "ItemCacheHits"),
        (true, "QueryCacheHits"),
        (true, "ScanCacheHits"),
        (false, "ItemCacheMisses"),
        (false, "QueryCacheMisses"),
        (false, "ScanCacheMisses"),
    ] {
        let Ok(points) = datapoints(c, r, region, m, cluster, None, start, end, 60).await else { return Vec::new() };
        for (t, v) in points {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let (minute, v) = (t.round() as i64, v.max(0.0).round() as u64);
            let e = minutes.entry(minute).or_default();
            if hit {
                e.0 += v;
            } else {
                e.1 += v;
            }
        }
    }
    #[allow(clippy::cast_precision_loss)]
    minutes.into_iter().map(|(t, (h, m))| (t as f64, h, m)).collect()
}

/// The Metrics tab of a cluster page: the picker (metric, range, cluster or
/// one node) and the chart of the chosen metric.
pub async fn metrics_tab(c: &Console, r: &Req, region: &str, cluster: &str, nodes: &[String]) -> Markup {
    let metric = r.q("metric").filter(|m| METRICS.iter().any(|(n, _)| n == m)).unwrap_or("TotalRequestCount");
    let range = RANGES.iter().find(|x| Some(x.0) == r.q("range")).unwrap_or(&RANGES[0]);
    let node = r.q("node").filter(|n| nodes.iter().any(|x| x == n));
    let end = c.now();
    let start = end - range.2;
    let stat = statistic(metric);
    let chart = match datapoints(c, r, region, metric, cluster, node, start, end, range.3).await {
        Ok(points) => {
            let label = format!(
                "{stat} per {}",
                if range.3 >= 3600 { "hour".to_owned() } else { format!("{} minutes", range.3 / 60) }
            );
            let label = label.replace("per 1 minutes", "per minute");
            let scope = node.map_or_else(|| format!("cluster {cluster}"), |n| format!("node {n}"));
            let title = format!("{metric} of {scope}, last {}", range.1);
            metrics::series_chart(
                "metric",
                &title,
                unit_of(metric),
                &[Line { class: "hits", label: &label, points }],
                start,
                end,
            )
        }
        Err(e) => api_error(&e),
    };
    html! {
        section aria-labelledby="c-metrics" id="metrics" {
            h2 #c-metrics { "Metrics" }
            form method="get" action=(c.link(&format!("/dax/clusters/{}", encode(cluster)))) class="picker" {
                input type="hidden" name="region" value=(region);
                input type="hidden" name="tab" value="metrics";
                p {
                    label for="m-metric" { "Metric" }
                    select #m-metric name="metric" {
                        @for (m, _) in METRICS { option value=(m) selected[*m == metric] { (m) } }
                    }
                }
                p {
                    label for="m-range" { "Time range" }
                    select #m-range name="range" {
                        @for x in RANGES { option value=(x.0) selected[x.0 == range.0] { (x.1) } }
                    }
                }
                p {
                    label for="m-node" { "Cluster or node" }
                    select #m-node name="node" {
                        option value="" selected[node.is_none()] { "Whole cluster" }
                        @for n in nodes { option value=(n) selected[node == Some(n.as_str())] { "Node " (n) } }
                    }
                }
                p { button type="submit" { "Show" } }
            }
            (chart)
            p.muted {
                "Datapoints are recorded once a minute, for each node and for the cluster, when the value is not zero."
            }
        }
    }
}

fn page(
    c: &Console,
    r: &Req,
    sess: &crate::session::Session,
    p: &crate::Principal,
    region: &str,
    body: Markup,
) -> Response {
    let mut pg = Page::new("Alarms", Nav::Alarms, body);
    pg.region = Some(region);
    html::render(c, r, sess, p, pg)
}

fn alarm_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:cloudwatch:{region}:{account}:alarm:{name}")
}

fn dims_text(a: &Value) -> String {
    arr(a, "Dimensions").iter().map(|d| format!("{}={}", s(d, "Name"), s(d, "Value"))).collect::<Vec<_>>().join(", ")
}

fn comparison_text(op: &str) -> &str {
    match op {
        "GreaterThanOrEqualToThreshold" => "≥",
        "GreaterThanThreshold" => ">",
        "LessThanThreshold" => "<",
        "LessThanOrEqualToThreshold" => "≤",
        other => other,
    }
}

/// The Alarms page: the region's alarms with their states, a confirmation
/// before a deletion, and the form that creates an alarm on a DAX metric.
pub async fn alarms(c: Arc<Console>, r: Req) -> Res {
    alarms_page(&c, &r, None).await
}

/// The Alarms page; after a refused creation, with the API's error above the
/// form and the form as it was filled in (a page, not an error status).
async fn alarms_page(c: &Console, r: &Req, refused: Option<ApiError>) -> Res {
    let (sess, p) = r.need_session(c)?;
    let region = r.region(c);
    let href = c.link("/dax/alarms");
    // What was sent, when the page answers a refused creation.
    let v = |k: &str, default: &'static str| -> String { r.f(k).map_or_else(|| default.to_owned(), str::to_owned) };
    let back = format!("{href}?region={}", encode(&region));
    let mut body = Markup::default();
    if let Some(del) = r.q("delete") {
        body.push(html::dialog(
            &sess,
            "Delete alarm",
            html! { p { "Delete the alarm " strong { (del) } " in " (region) "?" } },
            &href,
            &[("op", "delete"), ("name", del), ("region", &region)],
            "Delete",
            &back,
        ));
    }
    let denied_create =
        !super::not_permitted(c, r, &["cloudwatch:PutMetricAlarm"], &alarm_arn(&region, &p.account, "*"))
            .await
            .is_empty();
    match cw(c, r, &region, "DescribeAlarms", json!({"MaxRecords": 100})).await {
        Err(e) => body.push(api_error(&e)),
        Ok(v) => {
            let alarms = arr(&v, "MetricAlarms");
            let mut rows = Markup::default();
            for a in alarms {
                let name = s(a, "AlarmName");
                let may_delete =
                    super::not_permitted(c, r, &["cloudwatch:DeleteAlarms"], s(a, "AlarmArn")).await.is_empty();
                let state = s(a, "StateValue");
                let class: String = state.chars().filter(char::is_ascii_alphanumeric).collect();
                let delete = html! { "Delete" span.visually-hidden { " alarm " (name) } };
                rows.push(html! {
                    tr data-alarm=(name) {
                        th scope="row" { (name) }
                        td { span class={ "status alarm-" (class.to_lowercase()) } { (state) } }
                        td { (alarm_metric(a)) }
                        td { (dims_text(a)) }
                        td {
                            (s(a, "Statistic")) " " (comparison_text(s(a, "ComparisonOperator"))) " "
                            (a.get("Threshold").and_then(Value::as_f64).map(metrics::num).unwrap_or_default())
                            " for " (a.get("EvaluationPeriods").and_then(Value::as_i64).unwrap_or(0)) " × "
                            (alarm_period(a)) " s"
                        }
                        td {
                            @if may_delete {
                                a href={ (back) "&delete=" (encode(name)) } { (delete) }
                            } @else {
                                (html::not_permitted(delete, "cloudwatch:DeleteAlarms"))
                            }
                        }
                        td.wrap { (s(a, "StateReason")) }
                    }
                });
            }
            body.push(html! {
                div.scroll tabindex="0" {
                    table {
                        caption { "Alarms in " (region) }
                        thead {
                            tr {
                                th scope="col" { "Name" } th scope="col" { "State" } th scope="col" { "Metric" }
                                th scope="col" { "Dimensions" } th scope="col" { "Condition" }
                                th scope="col" { span.visually-hidden { "Actions" } } th scope="col" { "Reason" }
                            }
                        }
                        tbody {
                            @if alarms.is_empty() { tr { td colspan="7" { "No alarms in this region." } } }
                            (rows)
                        }
                    }
                }
            });
        }
    }
    let clusters: Vec<String> = match c.call(r, &region, Service::Dax, "DescribeClusters", json!({})).await {
        Ok(v) => arr(&v, "Clusters").iter().map(|cl| s(cl, "ClusterName").to_owned()).collect(),
        Err(_) => Vec::new(),
    };
    body.push(html! {
        section aria-labelledby="a-create" {
            h2 #a-create { "Create alarm" }
            @if denied_create {
                p { (html::not_permitted(html! { "Create alarm" }, "cloudwatch:PutMetricAlarm")) }
            } @else {
                @if let Some(e) = &refused { (api_error(e)) }
                form method="post" action=(href) class="stack" {
                    (html::csrf(&sess))
                    input type="hidden" name="op" value="create";
                    input type="hidden" name="region" value=(region);
                    p { label for="a-name" { "Alarm name" } input #a-name name="name" required value=(v("name", "")); }
                    p {
                        label for="a-metric" { "Metric" }
                        select #a-metric name="metric" {
                            @for (m, _) in METRICS { option value=(m) selected[r.f("metric") == Some(*m)] { (m) } }
                        }
                    }
                    p {
                        label for="a-cluster" { "Cluster" }
                        @if clusters.is_empty() {
                            input #a-cluster name="cluster" required value=(v("cluster", ""));
                        } @else {
                            select #a-cluster name="cluster" {
                                @for n in &clusters { option value=(n) selected[r.f("cluster") == Some(n.as_str())] { (n) } }
                            }
                        }
                    }
                    p {
                        label for="a-node" { "Node ID (empty for the whole cluster)" }
                        input #a-node name="node" value=(v("node", ""));
                    }
                    p {
                        label for="a-op" { "Condition" }
                        select #a-op name="comparison" {
                            option value="GreaterThanOrEqualToThreshold" selected[r.f("comparison") == Some("GreaterThanOrEqualToThreshold")] { "≥ threshold" }
                            option value="GreaterThanThreshold" selected[r.f("comparison") == Some("GreaterThanThreshold")] { "> threshold" }
                            option value="LessThanThreshold" selected[r.f("comparison") == Some("LessThanThreshold")] { "< threshold" }
                            option value="LessThanOrEqualToThreshold" selected[r.f("comparison") == Some("LessThanOrEqualToThreshold")] { "≤ threshold" }
                        }
                    }
                    p { label for="a-threshold" { "Threshold" } input #a-threshold name="threshold" inputmode="decimal" required value=(v("threshold", "")); }
                    p { label for="a-period" { "Period (seconds)" } input #a-period name="period" value=(v("period", "60")) inputmode="numeric"; }
                    p {
                        label for="a-evals" { "Evaluation periods" }
                        input #a-evals name="evaluation_periods" value=(v("evaluation_periods", "1")) inputmode="numeric";
                    }
                    p { button type="submit" class="primary" { "Create alarm" } }
                }
            }
        }
    });
    Ok(page(c, r, &sess, &p, &region, body))
}

/// Creates or deletes an alarm, then back to the list with the outcome.
pub async fn alarm_post(c: Arc<Console>, r: Req) -> Res {
    r.need_post(&c)?;
    let region = r.region(&c);
    let name = r.f("name").unwrap_or_default().trim().to_owned();
    let out = if r.f("op") == Some("create") {
        let metric = r.f("metric").unwrap_or_default();
        let node = r.f("node").map(str::trim).filter(|n| !n.is_empty());
        let mut input = json!({
            "AlarmName": name, "Namespace": "AWS/DAX", "MetricName": metric,
            "Dimensions": dimensions(r.f("cluster").unwrap_or_default().trim(), node),
            "Statistic": statistic(metric),
            "ComparisonOperator": r.f("comparison").unwrap_or_default(),
        });
        // Numbers the API must see as numbers; what does not parse is sent
        // as written, so the API's own validation message explains it.
        for (field, member) in
            [("threshold", "Threshold"), ("period", "Period"), ("evaluation_periods", "EvaluationPeriods")]
        {
            let raw = r.f(field).unwrap_or_default().trim();
            input[member] = if member == "Threshold" {
                raw.parse::<f64>().map_or_else(|_| json!(raw), |v| json!(v))
            } else {
                raw.parse::<i64>().map_or_else(|_| json!(raw), |v| json!(v))
            };
        }
        match cw(&c, &r, &region, "PutMetricAlarm", input).await {
            Ok(_) => Ok(format!("Alarm {name} created.")),
            // The form again, as filled in, with the reason.
            Err(e) => return alarms_page(&c, &r, Some(e)).await,
        }
    } else {
        cw(&c, &r, &region, "DeleteAlarms", json!({"AlarmNames": [name]}))
            .await
            .map(|_| format!("Alarm {name} deleted."))
    };
    match out {
        Ok(m) => c.flash(&r, true, m),
        Err(e) => c.flash(&r, false, format!("{}: {}", e.code, e.message)),
    }
    Ok(redirect(&format!("{}?region={}", c.link("/dax/alarms"), encode(&region))))
}

/// What an alarm watches: its metric, or for a metric-math alarm the expression whose
/// result it evaluates.
fn alarm_metric(a: &Value) -> String {
    if let Some(name) = a.get("MetricName").and_then(Value::as_str) {
        return name.to_owned();
    }
    let queries = a.get("Metrics").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let watched = queries.iter().find(|q| q.get("ReturnData").and_then(Value::as_bool) == Some(true));
    watched.and_then(|q| q.get("Expression")).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// An alarm's period: its own, or for a metric-math alarm its metrics' (one period for all).
fn alarm_period(a: &Value) -> i64 {
    a.get("Period").and_then(Value::as_i64).unwrap_or_else(|| {
        a.get("Metrics")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find_map(|q| q.pointer("/MetricStat/Period").and_then(Value::as_i64))
            .unwrap_or(0)
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{alarm_metric, alarm_period};

    #[test]
    fn an_alarm_shows_its_metric_or_its_expression() {
        let cases = [
            (json!({"MetricName": "ThrottledRequestCount", "Period": 60}), "ThrottledRequestCount", 60),
            (
                json!({"Metrics": [
                    {"Id": "m1", "MetricStat": {"Period": 300}, "ReturnData": false},
                    {"Id": "e1", "Expression": "m1 * 2", "ReturnData": true}]}),
                "m1 * 2",
                300,
            ),
            (json!({}), "", 0),
        ];
        for (alarm, metric, period) in cases {
            assert_eq!((alarm_metric(&alarm).as_str(), alarm_period(&alarm)), (metric, period), "{alarm}");
        }
    }
}
