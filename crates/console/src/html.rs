//! HTML building blocks: the page layout and the small components every page
//! uses (alerts, tables, pagers, dialogs), as maud templates.
//!
//! Every value a template interpolates is escaped by maud. Raw HTML
//! (`PreEscaped`) is not used for anything but maud's own `DOCTYPE`, so no
//! text from a request or an API answer can become markup. The only other
//! escaping the console does is for URLs (`forms::encode`, `forms::query`),
//! and those URLs then pass through the template's escaping too.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use maud::DOCTYPE;
pub use maud::{html, Markup};
use serde_json::Value;

use crate::forms::{encode, query};
use crate::host::ApiError;
use crate::session::{Flash, Session};
use crate::{Console, Principal, Req};

/// Appending one template's output to markup assembled piece by piece (pages
/// that render between API calls). Only `Markup` goes in, so the result is
/// escaped as much as its parts are.
pub trait Append {
    fn push(&mut self, part: Markup);
}

impl Append for Markup {
    fn push(&mut self, part: Markup) {
        self.0.push_str(&part.0);
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
pub fn doc_block(text: &str, label: &str) -> Markup {
    html! {
        figure.doc {
            figcaption.visually-hidden { (label) }
            pre.doc tabindex="0" { code { (text) } }
        }
    }
}

/// An API error, as AWS words it.
pub fn api_error(e: &ApiError) -> Markup {
    let title = if e.is_denial() { "Access denied" } else { "The request failed" };
    html! {
        div.alert.error role="alert" {
            p { strong { (title) } }
            p { code { (e.code) } ": " (e.message) }
        }
    }
}

/// A message box of `kind` (`success`, `error`, `info`) around `content`.
pub fn note(kind: &str, content: Markup) -> Markup {
    let role = if kind == "error" { "alert" } else { "status" };
    html! { div class={ "alert " (kind) } role=(role) { (content) } }
}

fn flash_html(f: &Flash) -> Markup {
    note(if f.ok { "success" } else { "error" }, html! { p { (f.text) } })
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
pub fn csrf(s: &Session) -> Markup {
    html! { input type="hidden" name="_csrf" value=(s.csrf); }
}

/// Hidden form fields.
fn hidden(fields: &[(&str, &str)]) -> Markup {
    html! {
        @for (k, v) in fields {
            input type="hidden" name=(k) value=(v);
        }
    }
}

/// A small POST form with one button (and hidden fields).
pub fn post_button(s: &Session, action: &str, fields: &[(&str, &str)], label: &str, class: &str) -> Markup {
    html! {
        form method="post" action=(action) class="inline" {
            (csrf(s)) (hidden(fields))
            button type="submit" class=(class) { (label) }
        }
    }
}

/// A confirmation box, open (rendered by the server so it works without
/// JavaScript; the script makes it modal).
pub fn dialog(
    s: &Session,
    title: &str,
    body: Markup,
    action: &str,
    fields: &[(&str, &str)],
    confirm: &str,
    cancel_href: &str,
) -> Markup {
    html! {
        dialog open class="confirm" aria-labelledby="dialog-title" aria-describedby="dialog-body" data-cancel=(cancel_href) {
            h2 #dialog-title { (title) }
            div #dialog-body { (body) }
            form method="post" action=(action) {
                (csrf(s)) (hidden(fields))
                div.buttons {
                    a.button href=(cancel_href) { "Cancel" }
                    " "
                    button type="submit" class="danger" autofocus { (confirm) }
                }
            }
        }
    }
}

/// "Next page" / "First page" links for a list.
pub fn pager(base_href: &str, params: &[(&str, &str)], key: &str, next: Option<&str>, on_first_page: bool) -> Markup {
    if next.is_none() && on_first_page {
        return Markup::default();
    }
    let next_query = next.map(|n| {
        let mut p: Vec<(&str, &str)> = params.to_vec();
        p.push((key, n));
        query(&p)
    });
    html! {
        nav.pager aria-label="Pages" {
            @if !on_first_page {
                a href={ (base_href) (query(params)) } { "First page" }
                " "
            }
            @if let Some(q) = next_query {
                a href={ (base_href) (q) } rel="next" { "Next page" }
            }
        }
    }
}

/// An "Actions" menu: a button that shows and hides its items (a
/// disclosure, so assistive technology hears a button and whether it is
/// expanded). The items are shown as rendered until the script takes the
/// menu over, so it works without JavaScript too.
pub fn actions_menu(id: &str, items: Markup) -> Markup {
    html! {
        div.menu {
            button type="button" aria-expanded="true" aria-controls=(id) data-menu { "Actions" }
            div.menu-items id=(id) { (items) }
        }
    }
}

/// A link the signed-in principal may not follow: still shown where it would
/// be, marked as not permitted, with the reason on hover (and for assistive
/// technology, as its description).
pub fn not_permitted(label: Markup, action: &str) -> Markup {
    html! {
        span.not-permitted role="link" aria-disabled="true" tabindex="0"
            title={ "Not permitted: your policies do not allow " (action) "." } {
            (label)
        }
    }
}

/// `n` and the noun, singular for one (`1 item`, `2 items`).
pub fn count(n: usize, singular: &str, plural: &str) -> String {
    format!("{n} {}", if n == 1 { singular } else { plural })
}

/// A copyable value: a read-only field with a Copy button (the button needs
/// the script; the field can always be selected). The field is as wide as
/// its value where there is room and wraps where there is not.
pub fn copyable(value: &str, label: &str) -> Markup {
    html! {
        span.copy {
            // A text area, so a long identifier wraps instead of being cut off.
            textarea readonly rows="1" spellcheck="false" aria-label=(label) { (value) }
            " "
            button type="button" data-copy=(value) aria-label={ "Copy " (label) } hidden { "Copy" }
        }
    }
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
    NodeHosts,
    Alarms,
    Resilience,
}

/// What one page shows.
pub struct Page<'a> {
    pub title: String,
    pub nav: Nav,
    /// The region of a regional page (shows the selector).
    pub region: Option<&'a str>,
    /// The page follows a long operation: reload while it runs.
    pub refresh: bool,
    pub body: Markup,
    pub status: StatusCode,
}

impl Page<'_> {
    pub fn new(title: impl Into<String>, nav: Nav, body: Markup) -> Self {
        Page { title: title.into(), nav, region: None, refresh: false, body, status: StatusCode::OK }
    }
}

fn nav_link(c: &Console, current: Nav, this: Nav, href: &str, label: &str) -> Markup {
    html! { li { a href=(c.link(href)) aria-current=[(current == this).then_some("page")] { (label) } } }
}

/// The region selector of a regional page.
fn region_form(c: &Console, r: &Req, current: &str) -> Markup {
    let listed = REGIONS.contains(&current);
    html! {
        form method="get" action=(c.link(&r.path)) class="region" {
            label for="region-select" { "Region" }
            " "
            select #region-select name="region" data-autosubmit {
                @for rg in REGIONS {
                    option value=(rg) selected[*rg == current] { (rg) }
                }
                @if !listed {
                    option value=(current) selected { (current) }
                }
            }
            " "
            button type="submit" { "Switch" }
        }
    }
}

/// The whole document around a page body.
pub fn render(c: &Console, r: &Req, session: &Session, principal: &Principal, page: Page) -> Response {
    let flash = c.sessions.take_flash(&session.id).map(|f| flash_html(&f));
    let region_q = page.region.map(|rg| format!("?region={}", encode(rg))).unwrap_or_default();
    let base = &c.config.base;
    let cur = page.nav;
    let body = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (page.title) " · daxd console" }
                link rel="icon" href={ (base) "/assets/favicon.svg" } type="image/svg+xml";
                link rel="stylesheet" href={ (base) "/assets/console.css" };
                @if page.refresh {
                    noscript { meta http-equiv="refresh" content="3"; }
                }
                script src={ (base) "/assets/console.js" } defer {}
            }
            body {
                a.skip href="#content" { "Skip to content" }
                header.top {
                    a.brand href={ (base) "/" } { "daxd console" }
                    @if let Some(current) = page.region { (region_form(c, r, current)) }
                    div.who {
                        span title=(principal.arn) {
                            "Signed in as " strong { (principal.name) } " · account " (principal.account)
                        }
                        " "
                        form method="post" action={ (base) "/signout" } class="inline" {
                            (csrf(session))
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                div.frame {
                    nav.side aria-label="Services" {
                        h2 { "IAM" }
                        ul {
                            (nav_link(c, cur, Nav::Users, "/iam/users", "Users"))
                            (nav_link(c, cur, Nav::Roles, "/iam/roles", "Roles"))
                            (nav_link(c, cur, Nav::Policies, "/iam/policies", "Policies"))
                        }
                        h2 { "DynamoDB" }
                        ul {
                            (nav_link(c, cur, Nav::Tables, &format!("/dynamodb/tables{region_q}"), "Tables"))
                        }
                        h2 #nav-dax { "DAX" }
                        ul aria-labelledby="nav-dax" {
                            (nav_link(c, cur, Nav::Clusters, &format!("/dax/clusters{region_q}"), "Clusters"))
                            (nav_link(c, cur, Nav::SubnetGroups, &format!("/dax/subnet-groups{region_q}"), "Subnet groups"))
                            (nav_link(
                                c,
                                cur,
                                Nav::ParameterGroups,
                                &format!("/dax/parameter-groups{region_q}"),
                                "Parameter groups"
                            ))
                            (nav_link(c, cur, Nav::Events, &format!("/dax/events{region_q}"), "Events"))
                            (nav_link(c, cur, Nav::Alarms, &format!("/dax/alarms{region_q}"), "Alarms"))
                            (nav_link(c, cur, Nav::NodeHosts, &format!("/dax/node-hosts{region_q}"), "Node hosts"))
                        }
                        h2 #nav-fis { "FIS" }
                        ul aria-labelledby="nav-fis" {
                            (nav_link(c, cur, Nav::Resilience, &format!("/resilience{region_q}"), "Resilience"))
                        }
                    }
                    main #content tabindex="-1" data-refresh-ms=[page.refresh.then_some("1500")] {
                        @if let Some(f) = flash { (f) }
                        h1 { (page.title) }
                        (page.body)
                    }
                }
            }
        }
    };
    document(page.status, body)
}

/// An HTML response with the console's security headers.
pub fn document(status: StatusCode, body: Markup) -> Response {
    let mut resp = Response::new(Body::from(body.into_string()));
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
        html! {
            (DOCTYPE)
            html lang="en" {
                head { meta charset="utf-8"; title { "daxd console" } }
                body { main { h1 { "daxd console" } p role="alert" { (message) } } }
            }
        },
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

    const EVIL: &str = "<script>alert(1)</script>\"'&";
    const ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;'&amp;";

    #[test]
    fn templates_escape_text_and_attributes() {
        // maud always double-quotes attribute values, so `'` needs no escaping.
        let m = html! { p title=(EVIL) { (EVIL) } }.into_string();
        assert_eq!(m, format!("<p title=\"{ESCAPED}\">{ESCAPED}</p>"));
        let d = doc_block(EVIL, EVIL).into_string();
        assert!(!d.contains("<script>") && d.matches(ESCAPED).count() == 2, "{d}");
        let e = api_error(&ApiError::new(400, EVIL, EVIL)).into_string();
        assert!(!e.contains("<script>") && e.matches(ESCAPED).count() == 2, "{e}");
        let c = copyable(EVIL, EVIL).into_string();
        assert!(!c.contains("<script>") && c.matches(ESCAPED).count() == 4, "{c}");
    }

    #[test]
    fn helpers() {
        assert_eq!(time(Some(&serde_json::json!(0))), "1970-01-01 00:00:00 UTC");
        assert_eq!(time(Some(&serde_json::json!(1_700_000_000.5))), "2023-11-14 22:13:20 UTC");
        assert_eq!(time(None), "—");
        assert_eq!(time(Some(&serde_json::json!(1e300))), "—");
        assert_eq!(pretty_doc("%7B%22a%22%3A1%7D"), "{\n  \"a\": 1\n}");
        assert_eq!(pretty_doc("not json"), "not json");
        assert_eq!(count(1, "item", "items"), "1 item");
        assert_eq!(count(0, "item", "items"), "0 items");
        assert_eq!(count(2, "region", "regions"), "2 regions");
        for ok in ["us-east-1", "eu-west-3", "us-gov-west-1"] {
            assert!(is_region(ok), "{ok}");
        }
        for bad in ["", "us-east", "US-east-1", "us-east-1a", "u-east-1", "us--1", "us-east-1-2-3"] {
            assert!(!is_region(bad), "{bad}");
        }
    }

    #[test]
    fn pager_links_are_url_encoded_then_html_escaped() {
        let p = pager("/x", &[("region", "us-east-1")], "next", Some("a&b\"<"), true).into_string();
        assert!(p.contains("href=\"/x?region=us-east-1&amp;next=a%26b%22%3C\""), "{p}");
        assert_eq!(pager("/x", &[], "next", None, true).into_string(), "");
        let first = pager("/x", &[("q", "a b")], "next", None, false).into_string();
        assert_eq!(first, "<nav class=\"pager\" aria-label=\"Pages\"><a href=\"/x?q=a%20b\">First page</a> </nav>");
    }
}
