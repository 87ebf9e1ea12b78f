//! HTML building blocks: escaping, the page layout, and the small
//! components every page uses (alerts, tables, pagers, dialogs).

use std::fmt::{self, Display, Write as _};

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::Value;

use crate::forms::{encode, query};
use crate::host::ApiError;
use crate::session::{Flash, Session};
use crate::{Console, Principal, Req};

/// Text escaped for HTML (element content and quoted attribute values).
pub struct E<'a>(pub &'a str);

impl Display for E<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&#39;")?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// The AWS regions of the selector. Any well-formed region name works in a URL.
pub const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-south-1",
    "eu-south-2",
    "eu-north-1",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "sa-east-1",
];

/// Whether `r` looks like a region name (`us-east-1`, `us-gov-west-1`).
pub fn is_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    r.len() <= 32
        && (3..=4).contains(&parts.len())
        && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
        && parts[0].len() == 2
        && parts.last().is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// Seconds since the epoch (a JSON number or numeric string) as UTC text.
pub fn time(v: Option<&Value>) -> String {
    let secs = match v {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.parse::<f64>().ok(),
        _ => None,
    };
    match secs {
        #[allow(clippy::cast_possible_truncation)]
        Some(s) => time_of(s),
        None => match v {
            Some(Value::String(s)) => s.clone(),
            _ => "—".to_owned(),
        },
    }
}

/// Unix seconds as `2024-05-01 12:00:00 UTC`.
pub fn time_of(secs: f64) -> String {
    #[allow(clippy::cast_possible_truncation)]
    let whole = secs.floor() as i64;
    match time::OffsetDateTime::from_unix_timestamp(whole) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => "—".to_owned(),
    }
}

/// A JSON document (given as text, possibly URL-encoded) pretty-printed.
pub fn pretty_doc(text: &str) -> String {
    let parsed = serde_json::from_str::<Value>(text).ok().or_else(|| {
        let decoded = percent_encoding::percent_decode_str(text).decode_utf8_lossy();
        serde_json::from_str::<Value>(&decoded).ok()
    });
    match parsed {
        Some(v) => serde_json::to_string_pretty(&v).unwrap_or_else(|_| text.to_owned()),
        None => text.to_owned(),
    }
}

/// A JSON value (a document object or its text) pretty-printed.
pub fn pretty_value(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => pretty_doc(s),
        Some(v) => serde_json::to_string_pretty(v).unwrap_or_default(),
        None => String::new(),
    }
}

/// A code block holding a document, as a figure named `label`.
pub fn doc_block(text: &str, label: &str) -> String {
    format!(
        "<figure class=\"doc\"><figcaption class=\"visually-hidden\">{}</figcaption><pre class=\"doc\" tabindex=\"0\"><code>{}</code></pre></figure>",
        E(label),
        E(text)
    )
}

/// An API error, as AWS words it.
pub fn api_error(e: &ApiError) -> String {
    let title = if e.is_denial() { "Access denied" } else { "The request failed" };
    format!(
        "<div class=\"alert error\" role=\"alert\"><p><strong>{}</strong></p><p><code>{}</code>: {}</p></div>",
        E(title),
        E(&e.code),
        E(&e.message)
    )
}

/// A plain message box.
pub fn note(kind: &str, html: &str) -> String {
    let role = if kind == "error" { "alert" } else { "status" };
    format!("<div class=\"alert {kind}\" role=\"{role}\">{html}</div>")
}

fn flash_html(f: &Flash) -> String {
    note(if f.ok { "success" } else { "error" }, &format!("<p>{}</p>", E(&f.text)))
}

/// `Some(string)` of a JSON member.
pub fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// A list member of a JSON value.
pub fn arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// The hidden CSRF field every POST form carries.
pub fn csrf(s: &Session) -> String {
    format!("<input type=\"hidden\" name=\"_csrf\" value=\"{}\">", E(&s.csrf))
}

/// A small POST form with one button (and hidden fields).
pub fn post_button(s: &Session, action: &str, fields: &[(&str, &str)], label: &str, class: &str) -> String {
    let mut out = format!("<form method=\"post\" action=\"{}\" class=\"inline\">{}", E(action), csrf(s));
    for (k, v) in fields {
        let _ = write!(out, "<input type=\"hidden\" name=\"{}\" value=\"{}\">", E(k), E(v));
    }
    let _ = write!(out, "<button type=\"submit\" class=\"{class}\">{}</button></form>", E(label));
    out
}

/// A confirmation box, open (rendered by the server so it works without
/// JavaScript; the script makes it modal).
pub fn dialog(
    s: &Session,
    title: &str,
    body_html: &str,
    action: &str,
    fields: &[(&str, &str)],
    confirm: &str,
    cancel_href: &str,
) -> String {
    let mut hidden = csrf(s);
    for (k, v) in fields {
        let _ = write!(hidden, "<input type=\"hidden\" name=\"{}\" value=\"{}\">", E(k), E(v));
    }
    format!(
        "<dialog open class=\"confirm\" aria-labelledby=\"dialog-title\" aria-describedby=\"dialog-body\" data-cancel=\"{cancel}\">\
         <h2 id=\"dialog-title\">{title}</h2><div id=\"dialog-body\">{body_html}</div>\
         <form method=\"post\" action=\"{action}\">{hidden}<div class=\"buttons\">\
         <a class=\"button\" href=\"{cancel}\">Cancel</a> <button type=\"submit\" class=\"danger\" autofocus>{confirm}</button></div></form></dialog>",
        cancel = E(cancel_href),
        title = E(title),
        action = E(action),
        confirm = E(confirm),
    )
}

/// "Next page" / "First page" links for a list.
pub fn pager(base_href: &str, params: &[(&str, &str)], key: &str, next: Option<&str>, on_first_page: bool) -> String {
    if next.is_none() && on_first_page {
        return String::new();
    }
    let mut out = String::from("<nav class=\"pager\" aria-label=\"Pages\">");
    if !on_first_page {
        let _ = write!(out, "<a href=\"{}{}\">First page</a> ", E(base_href), E(&query(params)));
    }
    if let Some(n) = next {
        let mut p: Vec<(&str, &str)> = params.to_vec();
        p.push((key, n));
        let _ = write!(out, "<a href=\"{}{}\" rel=\"next\">Next page</a>", E(base_href), E(&query(&p)));
    }
    out.push_str("</nav>");
    out
}

/// A copyable value: a read-only field with a Copy button (the button needs
/// the script; the field can always be selected).
pub fn copyable(value: &str, label: &str) -> String {
    format!(
        "<span class=\"copy\"><input type=\"text\" readonly value=\"{v}\" aria-label=\"{l}\" size=\"{n}\"> <button type=\"button\" data-copy=\"{v}\" aria-label=\"Copy {l}\" hidden>Copy</button></span>",
        v = E(value),
        l = E(label),
        n = value.chars().count().clamp(8, 60),
    )
}

/// The navigation sections.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    None,
    Users,
    Roles,
    Policies,
    Tables,
    Clusters,
    SubnetGroups,
    ParameterGroups,
    Events,
}

/// What one page shows.
pub struct Page<'a> {
    pub title: String,
    pub nav: Nav,
    /// The region of a regional page (shows the selector).
    pub region: Option<&'a str>,
    /// The page follows a long operation: reload while it runs.
    pub refresh: bool,
    pub body: String,
    pub status: StatusCode,
}

impl Page<'_> {
    pub fn new(title: impl Into<String>, nav: Nav, body: String) -> Self {
        Page { title: title.into(), nav, region: None, refresh: false, body, status: StatusCode::OK }
    }
}

fn nav_link(c: &Console, out: &mut String, current: Nav, this: Nav, href: &str, label: &str) {
    let cur = if current == this { " aria-current=\"page\"" } else { "" };
    let _ = write!(out, "<li><a href=\"{}\"{cur}>{}</a></li>", E(&c.link(href)), E(label));
}

/// The whole document around a page body.
pub fn render(c: &Console, r: &Req, session: &Session, principal: &Principal, page: Page) -> Response {
    let flash = c.sessions.take_flash(&session.id).map(|f| flash_html(&f)).unwrap_or_default();
    let region_q = page.region.map(|rg| format!("?region={}", encode(rg))).unwrap_or_default();
    let mut nav = String::new();
    nav.push_str("<nav class=\"side\" aria-label=\"Services\"><h2>IAM</h2><ul>");
    nav_link(c, &mut nav, page.nav, Nav::Users, "/iam/users", "Users");
    nav_link(c, &mut nav, page.nav, Nav::Roles, "/iam/roles", "Roles");
    nav_link(c, &mut nav, page.nav, Nav::Policies, "/iam/policies", "Policies");
    nav.push_str("</ul><h2>DynamoDB</h2><ul>");
    nav_link(c, &mut nav, page.nav, Nav::Tables, &format!("/dynamodb/tables{region_q}"), "Tables");
    nav.push_str("</ul><h2 id=\"nav-dax\">DAX</h2><ul aria-labelledby=\"nav-dax\">");
    nav_link(c, &mut nav, page.nav, Nav::Clusters, &format!("/dax/clusters{region_q}"), "Clusters");
    nav_link(c, &mut nav, page.nav, Nav::SubnetGroups, &format!("/dax/subnet-groups{region_q}"), "Subnet groups");
    nav_link(
        c,
        &mut nav,
        page.nav,
        Nav::ParameterGroups,
        &format!("/dax/parameter-groups{region_q}"),
        "Parameter groups",
    );
    nav_link(c, &mut nav, page.nav, Nav::Events, &format!("/dax/events{region_q}"), "Events");
    nav.push_str("</ul></nav>");

    let region_form = match page.region {
        Some(current) => {
            let mut opts = String::new();
            let mut listed = false;
            for rg in REGIONS {
                let sel = if *rg == current {
                    listed = true;
                    " selected"
                } else {
                    ""
                };
                let _ = write!(opts, "<option value=\"{rg}\"{sel}>{rg}</option>");
            }
            if !listed {
                let _ = write!(opts, "<option value=\"{0}\" selected>{0}</option>", E(current));
            }
            format!(
                "<form method=\"get\" action=\"{}\" class=\"region\"><label for=\"region-select\">Region</label> \
                 <select id=\"region-select\" name=\"region\" data-autosubmit>{opts}</select> <button type=\"submit\">Switch</button></form>",
                E(&c.link(&r.path))
            )
        }
        None => String::new(),
    };
    let refresh_meta =
        if page.refresh { "<noscript><meta http-equiv=\"refresh\" content=\"3\"></noscript>" } else { "" };
    let refresh_attr = if page.refresh { " data-refresh-ms=\"1500\"" } else { "" };
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · daxd console</title>\
         <link rel=\"icon\" href=\"{base}/assets/favicon.svg\" type=\"image/svg+xml\">\
         <link rel=\"stylesheet\" href=\"{base}/assets/console.css\">{refresh_meta}\
         <script src=\"{base}/assets/console.js\" defer></script></head><body>\
         <a class=\"skip\" href=\"#content\">Skip to content</a>\
         <header class=\"top\"><a class=\"brand\" href=\"{base}/\">daxd console</a>{region_form}\
         <div class=\"who\"><span title=\"{arn}\">Signed in as <strong>{name}</strong> · account {account}</span> \
         <form method=\"post\" action=\"{base}/signout\" class=\"inline\">{csrf}<button type=\"submit\">Sign out</button></form></div></header>\
         <div class=\"frame\">{nav}<main id=\"content\" tabindex=\"-1\"{refresh_attr}>{flash}<h1>{title}</h1>{content}</main></div></body></html>",
        title = E(&page.title),
        base = E(&c.config.base),
        arn = E(&principal.arn),
        name = E(&principal.name),
        account = E(&principal.account),
        csrf = csrf(session),
        content = page.body,
    );
    document(page.status, body)
}

/// An HTML response with the console's security headers.
pub fn document(status: StatusCode, body: String) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// A bare page (errors before any session exists).
pub fn plain(status: StatusCode, message: &str) -> Response {
    document(
        status,
        format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>daxd console</title></head>\
             <body><main><h1>daxd console</h1><p role=\"alert\">{}</p></main></body></html>",
            E(message)
        ),
    )
}

/// `303 See Other` to `location`.
pub fn redirect(location: &str) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_helpers() {
        assert_eq!(E("<a href=\"x\">'&'</a>").to_string(), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        assert_eq!(time(Some(&serde_json::json!(0))), "1970-01-01 00:00:00 UTC");
        assert_eq!(time(Some(&serde_json::json!(1_700_000_000.5))), "2023-11-14 22:13:20 UTC");
        assert_eq!(time(None), "—");
        assert_eq!(time(Some(&serde_json::json!(1e300))), "—");
        assert_eq!(pretty_doc("%7B%22a%22%3A1%7D"), "{\n  \"a\": 1\n}");
        assert_eq!(pretty_doc("not json"), "not json");
        for ok in ["us-east-1", "eu-west-3", "us-gov-west-1"] {
            assert!(is_region(ok), "{ok}");
        }
        for bad in ["", "us-east", "US-east-1", "us-east-1a", "u-east-1", "us--1", "us-east-1-2-3"] {
            assert!(!is_region(bad), "{bad}");
        }
        let p = pager("/x", &[("region", "us-east-1")], "next", Some("a&b"), true);
        assert!(p.contains("href=\"/x?region=us-east-1&amp;next=a%26b\""), "{p}");
        assert_eq!(pager("/x", &[], "next", None, true), "");
    }
}
