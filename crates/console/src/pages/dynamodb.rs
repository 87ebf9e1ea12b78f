//! DynamoDB tables: list, create and delete, and an item explorer (scan,
//! query, and put / edit / delete items as DynamoDB JSON).

use std::fmt::Write as _;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Map, Value};

use crate::forms::encode;
use crate::host::{ApiError, Service};
use crate::html::{self, api_error, arr, html, note, redirect, s, time, Append, Markup, Nav, Page};
use crate::session::Session;
use crate::{Console, Principal, Req};

type Res = Result<Response, Response>;

async fn ddb(c: &Console, r: &Req, region: &str, op: &str, input: Value) -> Result<Value, ApiError> {
    c.call(r, region, Service::DynamoDb, op, input).await
}

fn rq(region: &str) -> String {
    format!("region={}", encode(region))
}

fn table_href(c: &Console, region: &str, name: &str) -> String {
    c.link(&format!("/dynamodb/tables/{}?{}", encode(name), rq(region)))
}

fn page(
    c: &Console,
    r: &Req,
    s: &Session,
    p: &Principal,
    title: &str,
    region: &str,
    body: Markup,
    refresh: bool,
    status: StatusCode,
) -> Response {
    let mut pg = Page::new(title, Nav::Tables, body);
    pg.region = Some(region);
    pg.refresh = refresh;
    pg.status = status;
    html::render(c, r, s, p, pg)
}

/// The key attributes of a table description: `[(name, "HASH"|"RANGE", type)]`.
fn key_schema(table: &Value) -> Vec<(String, String, String)> {
    let defs = arr(table, "AttributeDefinitions");
    arr(table, "KeySchema")
        .iter()
        .map(|k| {
            let name = s(k, "AttributeName").to_owned();
            let ty =
                defs.iter().find(|d| s(d, "AttributeName") == name).map_or("S", |d| s(d, "AttributeType")).to_owned();
            (name, s(k, "KeyType").to_owned(), ty)
        })
        .collect()
}

/// An item named by its key attributes: `id = a1`, `pk = a, sk = 2`.
fn item_key_text<'a>(item: &Value, names: impl Iterator<Item = &'a str>) -> String {
    names.filter_map(|n| item.get(n).map(|v| format!("{n} = {}", compact(v)))).collect::<Vec<_>>().join(", ")
}

/// The title of an item's page: its key when known.
fn item_title(table: &str, key: Option<&str>) -> String {
    match key {
        Some(k) if !k.is_empty() => format!("Item {k} in {table}"),
        _ => format!("New item in {table}"),
    }
}

/// An attribute value, briefly.
fn compact(v: &Value) -> String {
    let Some((kind, inner)) = v.as_object().and_then(|o| o.iter().next()) else { return v.to_string() };
    match (kind.as_str(), inner) {
        ("S" | "N" | "B", Value::String(x)) => x.clone(),
        ("BOOL", Value::Bool(b)) => b.to_string(),
        ("NULL", _) => "null".to_owned(),
        _ => format!("{kind}: {inner}"),
    }
}

// ----- tables -----

pub async fn tables(c: Arc<Console>, r: Req) -> Res {
    let (sess, p) = r.need_session(&c)?;
    let region = r.region(&c);
    let href = c.link("/dynamodb/tables");
    let mut body = Markup::default();
    if let Some(del) = r.q("delete") {
        body.push(html::dialog(
            &sess,
            "Delete table",
            html! {
                p { "Delete the table " strong { (del) } " in " (region) " and all its items? This cannot be undone." }
            },
            &href,
            &[("op", "delete"), ("name", del), ("region", &region)],
            "Delete",
            &format!("{href}?{}", rq(&region)),
        ));
    }
    let mut input = json!({"Limit": c.config.page_size.clamp(1, 100)});
    if let Some(start) = r.q("start") {
        input["ExclusiveStartTableName"] = json!(start);
    }
    let mut refresh = false;
    match ddb(&c, &r, &region, "ListTables", input).await {
        Err(e) => body.push(api_error(&e)),
        Ok(v) => {
            let names: Vec<String> =
                arr(&v, "TableNames").iter().filter_map(Value::as_str).map(str::to_owned).collect();
            let mut rows = Markup::default();
            for n in &names {
                let mut arn = String::new();
                let (status, pk, sk, items, mode) = match ddb(&c, &r, &region, "DescribeTable", json!({"TableName": n}))
                    .await
                {
                    Ok(d) => {
                        let t = &d["Table"];
                        s(t, "TableArn").clone_into(&mut arn);
                        let keys = key_schema(t);
                        let key = |kt: &str| {
                            keys.iter().find(|k| k.1 == kt).map(|k| format!("{} ({})", k.0, k.2)).unwrap_or_default()
                        };
                        (
                            s(t, "TableStatus").to_owned(),
                            key("HASH"),
                            key("RANGE"),
                            t.get("ItemCount").and_then(Value::as_u64).unwrap_or(0).to_string(),
                            if s(&t["BillingModeSummary"], "BillingMode") == "PAY_PER_REQUEST" {
                                "On-demand"
                            } else {
                                "Provisioned"
                            }
                            .to_owned(),
                        )
                    }
                    Err(e) => (e.code, String::new(), String::new(), String::new(), String::new()),
                };
                refresh |= matches!(status.as_str(), "CREATING" | "DELETING" | "UPDATING");
                let may_delete =
                    arn.is_empty() || super::not_permitted(&c, &r, &["dynamodb:DeleteTable"], &arn).await.is_empty();
                rows.push(html! {
                    tr {
                        th scope="row" { a href=(table_href(&c, &region, n)) { (n) } }
                        td { (status) } td { (pk) } td { (sk) } td { (items) } td { (mode) }
                        td {
                            @if may_delete {
                                a href={ (href) "?" (rq(&region)) "&delete=" (encode(n)) } aria-label={ "Delete table " (n) } {
                                    "Delete"
                                }
                            } @else {
                                (html::not_permitted(
                                    html! { "Delete" span.visually-hidden { " table " (n) } },
                                    "dynamodb:DeleteTable"
                                ))
                            }
                        }
                    }
                });
            }
            body.push(html! {
                div.scroll tabindex="0" {
                    table {
                        caption { "Tables in " (region) }
                        thead {
                            tr {
                                th scope="col" { "Name" } th scope="col" { "Status" }
                                th scope="col" { "Partition key" } th scope="col" { "Sort key" } th scope="col" { "Items" }
                                th scope="col" { "Capacity mode" }
                                th scope="col" { span.visually-hidden { "Actions" } }
                            }
                        }
                        tbody {
                            @if names.is_empty() { tr { td colspan="7" { "No tables in this region." } } }
                            (rows)
                        }
                    }
                }
            });
            body.push(html::pager(
                &href,
                &[("region", &region)],
                "start",
                v.get("LastEvaluatedTableName").and_then(Value::as_str),
                r.q("start").is_none(),
            ));
        }
    }
    let types = html! {
        option value="S" { "String" } option value="N" { "Number" } option value="B" { "Binary" }
    };
    body.push(html! {
        details.panel {
            summary { "Create table" }
            form method="post" action=(href) {
                (html::csrf(&sess))
                input type="hidden" name="op" value="create";
                input type="hidden" name="region" value=(region);
                p { label for="t-name" { "Table name" } input #t-name name="name" required; }
                fieldset {
                    legend { "Partition key" }
                    p {
                        label for="t-pk" { "Partition key name" } input #t-pk name="pk" required; " "
                        label for="t-pkt" { "Partition key type" } select #t-pkt name="pk_type" { (types) }
                    }
                }
                fieldset {
                    legend { "Sort key (optional)" }
                    p {
                        label for="t-sk" { "Sort key name" } input #t-sk name="sk"; " "
                        label for="t-skt" { "Sort key type" } select #t-skt name="sk_type" { (types) }
                    }
                }
                fieldset {
                    legend { "Capacity" }
                    p {
                        label.check { input type="radio" name="billing" value="PAY_PER_REQUEST" checked; " On-demand" } " "
                        label.check { input type="radio" name="billing" value="PROVISIONED"; " Provisioned" }
                    }
                    p {
                        label for="t-rcu" { "Read capacity units" } input #t-rcu name="rcu" inputmode="numeric" value="5"; " "
                        label for="t-wcu" { "Write capacity units" } input #t-wcu name="wcu" inputmode="numeric" value="5";
                    }
                }
                p { button type="submit" { "Create table" } }
            }
        }
    });
    Ok(page(&c, &r, &sess, &p, "Tables", &region, body, refresh, StatusCode::OK))
}

pub async fn table_post(c: Arc<Console>, r: Req) -> Res {
    r.need_post(&c)?;
    let region = r.region(&c);
    let name = r.f("name").unwrap_or_default().trim().to_owned();
    let out = if r.f("op") == Some("create") {
        let pk = r.f("pk").unwrap_or_default().trim();
        let sk = r.f("sk").unwrap_or_default().trim();
        let mut defs = vec![json!({"AttributeName": pk, "AttributeType": r.f("pk_type").unwrap_or("S")})];
        let mut keys = vec![json!({"AttributeName": pk, "KeyType": "HASH"})];
        if !sk.is_empty() {
            defs.push(json!({"AttributeName": sk, "AttributeType": r.f("sk_type").unwrap_or("S")}));
            keys.push(json!({"AttributeName": sk, "KeyType": "RANGE"}));
        }
        let mut input = json!({"TableName": name, "AttributeDefinitions": defs, "KeySchema": keys});
        if r.f("billing") == Some("PROVISIONED") {
            let n = |k: &str| {
                r.f(k)
                    .and_then(|v| v.trim().parse::<i64>().ok())
                    .map_or_else(|| json!(r.f(k).unwrap_or_default()), |v| json!(v))
            };
            input["BillingMode"] = json!("PROVISIONED");
            input["ProvisionedThroughput"] = json!({"ReadCapacityUnits": n("rcu"), "WriteCapacityUnits": n("wcu")});
        } else {
            input["BillingMode"] = json!("PAY_PER_REQUEST");
        }
        ddb(&c, &r, &region, "CreateTable", input).await.map(|_| format!("Creating table {name}."))
    } else {
        ddb(&c, &r, &region, "DeleteTable", json!({"TableName": name})).await.map(|_| format!("Deleting table {name}."))
    };
    match out {
        Ok(m) => c.flash(&r, true, m),
        Err(e) => c.flash(&r, false, format!("{}: {}", e.code, e.message)),
    }
    Ok(redirect(&format!("{}?{}", c.link("/dynamodb/tables"), rq(&region))))
}

/// An attribute value of the key type `ty` from text.
fn typed(ty: &str, text: &str) -> Value {
    json!({ ty: text })
}

pub async fn table_page(c: Arc<Console>, r: Req) -> Res {
    let (sess, p) = r.need_session(&c)?;
    let region = r.region(&c);
    let name = r.seg(2).to_owned();
    let href = table_href(&c, &region, &name);
    let all_tables = html! { p { a href={ (c.link("/dynamodb/tables")) "?" (rq(&region)) } { "All tables" } } };
    let table = match ddb(&c, &r, &region, "DescribeTable", json!({"TableName": name})).await {
        Ok(v) => v["Table"].clone(),
        Err(e) => {
            let body = html! { (api_error(&e)) (all_tables) };
            return Ok(page(&c, &r, &sess, &p, &format!("Table {name}"), &region, body, false, StatusCode::OK));
        }
    };
    let keys = key_schema(&table);
    let status = s(&table, "TableStatus").to_owned();
    let denied =
        super::not_permitted(&c, &r, &["dynamodb:PutItem", "dynamodb:DeleteItem"], s(&table, "TableArn")).await;
    let may_put = !denied.iter().any(|a| a == "dynamodb:PutItem");
    let may_delete = !denied.iter().any(|a| a == "dynamodb:DeleteItem");
    let mut body = Markup::default();
    let item_href = c.link(&format!("/dynamodb/tables/{}/item", encode(&name)));
    if let Some(k) = r.q("delete_key") {
        body.push(html::dialog(
            &sess,
            "Delete item",
            html! { p { "Delete the item with key " code { (k) } "?" } },
            &item_href,
            &[("op", "delete"), ("key", k), ("region", &region)],
            "Delete",
            &href,
        ));
    }
    let key_text: Vec<String> = keys
        .iter()
        .map(|(n, kt, ty)| format!("{} ({}, {})", n, if kt == "HASH" { "partition key" } else { "sort key" }, ty))
        .collect();
    // DynamoDB Streams: the stream's ARN and what its records carry, when it is on.
    let streamed = table.pointer("/StreamSpecification/StreamEnabled").and_then(Value::as_bool) == Some(true);
    body.push(html! {
        dl.summary {
            dt { "Status" } dd { (status) }
            dt { "ARN" } dd { code { (s(&table, "TableArn")) } }
            dt { "Keys" } dd { (key_text.join(", ")) }
            dt { "Items (approximate)" } dd { (table.get("ItemCount").and_then(Value::as_u64).unwrap_or(0)) }
            dt { "Created" } dd { (time(table.get("CreationDateTime"))) }
            @if streamed {
                dt { "Stream" }
                dd {
                    code { (s(&table, "LatestStreamArn")) }
                    " (" (table.pointer("/StreamSpecification/StreamViewType").and_then(Value::as_str).unwrap_or_default()) ")"
                }
            }
        }
    });
    // The explorer.
    let mode = if r.q("mode") == Some("query") { "query" } else { "scan" };
    let pk = keys.iter().find(|k| k.1 == "HASH").cloned();
    let sk = keys.iter().find(|k| k.1 == "RANGE").cloned();
    let mut explorer = html! {
        nav.tabs aria-label="Explorer mode" {
            ul {
                li { a href={ (href) "&mode=scan" } aria-current=[(mode == "scan").then_some("page")] { "Scan" } }
                li { a href={ (href) "&mode=query" } aria-current=[(mode == "query").then_some("page")] { "Query" } }
            }
        }
    };
    let mut input = json!({"TableName": name, "Limit": c.config.page_size.clamp(1, 100)});
    let mut run = true;
    let mut params: Vec<(String, String)> = vec![("region".into(), region.clone()), ("mode".into(), mode.into())];
    if mode == "query" {
        let pkv = r.q("pk").unwrap_or_default().to_owned();
        let skop = r.q("sk_op").unwrap_or("none").to_owned();
        let skv = r.q("sk").unwrap_or_default().to_owned();
        let skv2 = r.q("sk2").unwrap_or_default().to_owned();
        const OPS: &[(&str, &str)] = &[
            ("none", "(any)"),
            ("=", "="),
            ("<", "<"),
            ("<=", "<="),
            (">", ">"),
            (">=", ">="),
            ("begins_with", "begins with"),
            ("between", "between"),
        ];
        explorer.push(html! {
            form method="get" action=(c.link(&format!("/dynamodb/tables/{}", encode(&name)))) class="filters" {
                input type="hidden" name="region" value=(region);
                input type="hidden" name="mode" value="query";
                p {
                    label for="q-pk" { (pk.as_ref().map_or("", |k| k.0.as_str())) " (partition key)" } " "
                    input #q-pk name="pk" value=(pkv);
                }
                @if let Some(k) = &sk {
                    p {
                        label for="q-skop" { (k.0) " (sort key)" } " "
                        select #q-skop name="sk_op" {
                            @for (v, l) in OPS { option value=(v) selected[*v == skop] { (l) } }
                        }
                        " "
                        label for="q-sk" class="visually-hidden" { "Sort key value" }
                        input #q-sk name="sk" value=(skv);
                        " "
                        label for="q-sk2" { "and (for between)" } " "
                        input #q-sk2 name="sk2" value=(skv2);
                    }
                }
                p { button type="submit" { "Run query" } }
            }
        });
        match (&pk, r.q("pk")) {
            (Some((pkn, _, pkt)), Some(_)) => {
                let mut expr = "#pk = :pk".to_owned();
                let mut names = json!({"#pk": pkn});
                let mut values = json!({":pk": typed(pkt, &pkv)});
                if let (Some((skn, _, skt)), false) = (&sk, skop == "none") {
                    names["#sk"] = json!(skn);
                    values[":sk"] = typed(skt, &skv);
                    match skop.as_str() {
                        "begins_with" => expr.push_str(" AND begins_with(#sk, :sk)"),
                        "between" => {
                            values[":sk2"] = typed(skt, &skv2);
                            expr.push_str(" AND #sk BETWEEN :sk AND :sk2");
                        }
                        op @ ("=" | "<" | "<=" | ">" | ">=") => {
                            let _ = write!(expr, " AND #sk {op} :sk");
                        }
                        _ => {}
                    }
                }
                input["KeyConditionExpression"] = json!(expr);
                input["ExpressionAttributeNames"] = names;
                input["ExpressionAttributeValues"] = values;
                params.push(("pk".into(), pkv.clone()));
                params.push(("sk_op".into(), skop.clone()));
                params.push(("sk".into(), skv.clone()));
                params.push(("sk2".into(), skv2.clone()));
            }
            _ => run = false,
        }
    }
    if let Some(start) = r.q("start") {
        match serde_json::from_str::<Value>(start) {
            Ok(v) if v.is_object() => input["ExclusiveStartKey"] = v,
            _ => explorer.push(note("error", html! { p { "The page marker is not valid DynamoDB JSON." } })),
        }
    }
    explorer.push(html! {
        p {
            @if may_put {
                a.button href={ (item_href) "?" (rq(&region)) } { "Create item" }
            } @else {
                (html::not_permitted(html! { "Create item" }, "dynamodb:PutItem"))
            }
        }
    });
    if run {
        let op = if mode == "query" { "Query" } else { "Scan" };
        match ddb(&c, &r, &region, op, input).await {
            Err(e) => explorer.push(api_error(&e)),
            Ok(v) => {
                let items = arr(&v, "Items");
                let mut cols: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
                for it in items {
                    if let Some(o) = it.as_object() {
                        for k in o.keys() {
                            if !cols.contains(k) && cols.len() < 12 {
                                cols.push(k.clone());
                            }
                        }
                    }
                }
                let key_of = |it: &Value| {
                    let mut key = Map::new();
                    for (kn, _, _) in &keys {
                        if let Some(kv) = it.get(kn) {
                            key.insert(kn.clone(), kv.clone());
                        }
                    }
                    encode(&Value::Object(key).to_string())
                };
                explorer.push(html! {
                    div.scroll tabindex="0" {
                        table.items {
                            caption { (op) " result: " (html::count(items.len(), "item", "items")) }
                            thead {
                                tr {
                                    @for col in &cols { th scope="col" { (col) } }
                                    th scope="col" { span.visually-hidden { "Actions" } }
                                }
                            }
                            tbody {
                                @if items.is_empty() { tr { td colspan=(cols.len() + 1) { "No items." } } }
                                @for it in items {
                                    @let key = key_of(it);
                                    @let named = item_key_text(it, keys.iter().map(|k| k.0.as_str()));
                                    tr {
                                        @for col in &cols { td { @if let Some(v) = it.get(col) { (compact(v)) } } }
                                        td {
                                            @let edit = html! { "Edit" span.visually-hidden { " item " (named) } };
                                            @let delete = html! { "Delete" span.visually-hidden { " item " (named) } };
                                            @if may_put {
                                                a href={ (item_href) "?" (rq(&region)) "&key=" (key) } { (edit) }
                                            } @else {
                                                (html::not_permitted(edit, "dynamodb:PutItem"))
                                            }
                                            " "
                                            @if may_delete {
                                                a href={ (href) "&delete_key=" (key) } { (delete) }
                                            } @else {
                                                (html::not_permitted(delete, "dynamodb:DeleteItem"))
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                });
                let next = v.get("LastEvaluatedKey").map(Value::to_string);
                let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                explorer.push(html::pager(
                    &c.link(&format!("/dynamodb/tables/{}", encode(&name))),
                    &pairs,
                    "start",
                    next.as_deref(),
                    r.q("start").is_none(),
                ));
            }
        }
    }
    body.push(html! {
        section aria-labelledby="explore" { h2 #explore { "Explore items" } (explorer) }
        (all_tables)
    });
    let busy = matches!(status.as_str(), "CREATING" | "DELETING" | "UPDATING");
    Ok(page(&c, &r, &sess, &p, &format!("Table {name}"), &region, body, busy, StatusCode::OK))
}

fn item_page(
    c: &Console,
    r: &Req,
    sess: &Session,
    p: &Principal,
    region: &str,
    table: &str,
    key: Option<&str>,
    text: &str,
    error: Option<String>,
) -> Response {
    let body = html! {
        form method="post" action=(c.link(&format!("/dynamodb/tables/{}/item", encode(table)))) {
            (html::csrf(sess))
            input type="hidden" name="op" value="put";
            input type="hidden" name="region" value=(region);
            @if let Some(k) = key { input type="hidden" name="key_name" value=(k); }
            p {
                label for="item" { "Item (DynamoDB JSON)" }
                textarea #item name="item" rows="16" spellcheck="false"
                    aria-invalid=[error.is_some().then_some("true")]
                    aria-describedby=[error.is_some().then_some("item-error")] { (text) }
                @if let Some(e) = &error {
                    p.field-error #item-error role="alert" { (e) }
                }
            }
            p.hint {
                "Each attribute is typed: " code { r#"{"id": {"S": "a"}, "n": {"N": "1"}}"# }
                ". Saving replaces the item with this key (PutItem)."
            }
            p { button type="submit" class="primary" { "Save item" } " " a href=(table_href(c, region, table)) { "Cancel" } }
        }
    };
    // A refused form is shown again with its error, as a page (200), like the
    // AWS console: the API's own status belongs to the API.
    page(c, r, sess, p, &item_title(table, key), region, body, false, StatusCode::OK)
}

pub async fn item_form(c: Arc<Console>, r: Req) -> Res {
    let (sess, p) = r.need_session(&c)?;
    let region = r.region(&c);
    let table = r.seg(2).to_owned();
    let text = match r.q("key").map(serde_json::from_str::<Value>) {
        Some(Ok(key)) if key.is_object() => {
            let named = item_key_text(&key, key.as_object().into_iter().flat_map(|o| o.keys().map(String::as_str)));
            match ddb(&c, &r, &region, "GetItem", json!({"TableName": table, "Key": key})).await {
                Ok(v) => match v.get("Item") {
                    Some(item) => serde_json::to_string_pretty(item).unwrap_or_default(),
                    None => {
                        return Ok(item_page(
                            &c,
                            &r,
                            &sess,
                            &p,
                            &region,
                            &table,
                            Some(&named),
                            &serde_json::to_string_pretty(&key).unwrap_or_default(),
                            Some("No item has this key.".into()),
                        ))
                    }
                },
                Err(e) => {
                    return Ok(page(
                        &c,
                        &r,
                        &sess,
                        &p,
                        &item_title(&table, Some(&named)),
                        &region,
                        api_error(&e),
                        false,
                        StatusCode::OK,
                    ))
                }
            }
        }
        Some(_) => {
            return Ok(item_page(
                &c,
                &r,
                &sess,
                &p,
                &region,
                &table,
                None,
                "{}",
                Some("The key is not valid DynamoDB JSON.".into()),
            ))
        }
        None => {
            // A template with the table's key attributes.
            let mut tpl = Map::new();
            if let Ok(d) = ddb(&c, &r, &region, "DescribeTable", json!({"TableName": table})).await {
                for (n, _, ty) in key_schema(&d["Table"]) {
                    tpl.insert(n, typed(&ty, ""));
                }
            }
            serde_json::to_string_pretty(&Value::Object(tpl)).unwrap_or_default()
        }
    };
    let named = match r.q("key").map(serde_json::from_str::<Value>) {
        Some(Ok(key)) => item_key_text(&key, key.as_object().into_iter().flat_map(|o| o.keys().map(String::as_str))),
        _ => String::new(),
    };
    Ok(item_page(&c, &r, &sess, &p, &region, &table, Some(&named), &text, None))
}

pub async fn item_post(c: Arc<Console>, r: Req) -> Res {
    let (sess, p) = r.need_post(&c)?;
    let region = r.region(&c);
    let table = r.seg(2).to_owned();
    if r.f("op") == Some("delete") {
        let key = r.f("key").and_then(|k| serde_json::from_str::<Value>(k).ok()).unwrap_or(json!({}));
        match ddb(&c, &r, &region, "DeleteItem", json!({"TableName": table, "Key": key})).await {
            Ok(_) => c.flash(&r, true, "Item deleted."),
            Err(e) => c.flash(&r, false, format!("{}: {}", e.code, e.message)),
        }
        return Ok(redirect(&table_href(&c, &region, &table)));
    }
    let text = r.f("item").unwrap_or_default().to_owned();
    let named = r.f("key_name").map(str::to_owned);
    let named = named.as_deref();
    // The form again, with what was typed and why it was refused.
    let refused = |why: String| Ok(item_page(&c, &r, &sess, &p, &region, &table, named, &text, Some(why)));
    let item = match serde_json::from_str::<Value>(&text) {
        Ok(v) if v.is_object() => v,
        Ok(_) => return refused("The item must be a JSON object of typed attributes.".into()),
        Err(e) => return refused(format!("Not valid JSON: {e}")),
    };
    match ddb(&c, &r, &region, "PutItem", json!({"TableName": table, "Item": item})).await {
        Ok(_) => {
            c.flash(&r, true, "Item saved.");
            Ok(redirect(&table_href(&c, &region, &table)))
        }
        Err(e) => refused(format!("{}: {}", e.code, e.message)),
    }
}
