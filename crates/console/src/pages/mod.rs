//! The console's pages, one module per area. Every page function takes the
//! console and the parsed request and answers with a page or a redirect.

pub mod cloudwatch;
pub mod dax;
pub mod dynamodb;
pub mod iam;
pub mod node_hosts;
pub mod resilience;
pub mod signin;

use serde_json::{json, Value};

use crate::host::{ApiError, Service};
use crate::{Console, Req};

/// IAM and STS are global: their calls are signed for this region.
pub const GLOBAL: &str = "us-east-1";

/// A console list marker over an IAM-style listing: `<skip>:<API marker>`,
/// so a page can end in the middle of an API page (when a search filters).
fn parse_marker(m: Option<&str>) -> (usize, Option<String>) {
    match m.and_then(|m| m.split_once(':')) {
        Some((skip, api)) => {
            (skip.parse::<usize>().unwrap_or(0).min(1000), Some(api.to_owned()).filter(|a| !a.is_empty()))
        }
        None => (0, None),
    }
}

fn format_marker(skip: usize, api: Option<&str>) -> String {
    format!("{skip}:{}", api.unwrap_or(""))
}

/// One console page of an IAM listing (`Marker`/`MaxItems`/`IsTruncated`),
/// keeping the items `keep` accepts: the items and the next page's marker.
pub async fn iam_list(
    c: &Console,
    r: &Req,
    op: &str,
    key: &str,
    base: Value,
    keep: &(dyn Fn(&Value) -> bool + Sync),
    marker: Option<&str>,
) -> Result<(Vec<Value>, Option<String>), ApiError> {
    let per = c.config.page_size;
    let (mut skip, mut api_marker) = parse_marker(marker);
    let mut out = Vec::new();
    for _ in 0..100 {
        let mut input = base.clone();
        if let Some(m) = &api_marker {
            input["Marker"] = json!(m);
        }
        input["MaxItems"] = json!(100);
        let page = c.call(r, GLOBAL, Service::Iam, op, input).await?;
        let items = page.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
        for (i, item) in items.iter().enumerate().skip(skip) {
            if !keep(item) {
                continue;
            }
            if out.len() == per {
                return Ok((out, Some(format_marker(i, api_marker.as_deref()))));
            }
            out.push(item.clone());
        }
        let truncated = page.get("IsTruncated").and_then(Value::as_bool).unwrap_or(false);
        match page.get("Marker").and_then(Value::as_str).filter(|_| truncated) {
            Some(m) => {
                api_marker = Some(m.to_owned());
                skip = 0;
            }
            None => return Ok((out, None)),
        }
    }
    Ok((out, api_marker.map(|m| format_marker(0, Some(&m)))))
}

/// The actions among `actions` on `resource` the signed-in principal may not
/// take, as IAM's policy simulator answers for it (the AWS console asks the
/// same way). Empty when that cannot be told (no right to simulate, or not an
/// IAM user): then everything is offered and the API has the last word.
pub async fn not_permitted(c: &Console, r: &Req, actions: &[&str], resource: &str) -> Vec<String> {
    let Some(arn) = r.signed_in().map(|(_, p)| p.arn.clone()) else { return Vec::new() };
    if !arn.contains(":user/") {
        return Vec::new();
    }
    let input = json!({"PolicySourceArn": arn, "ActionNames": actions, "ResourceArns": [resource]});
    match c.call(r, GLOBAL, Service::Iam, "SimulatePrincipalPolicy", input).await {
        Ok(v) => v
            .get("EvaluationResults")
            .and_then(Value::as_array)
            .map(|rs| {
                rs.iter()
                    .filter(|e| e.get("EvalDecision").and_then(Value::as_str) != Some("allowed"))
                    .filter_map(|e| e.get("EvalActionName").and_then(Value::as_str).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

/// Which form field an AWS validation message is about: the first of
/// `fields` (model member names) the message names, in any case.
pub fn field_of_error(message: &str, code: &str, fields: &[(&str, &[&str])]) -> Option<String> {
    let lower = message.to_lowercase();
    for (field, names) in fields {
        if names.iter().any(|n| n.eq_ignore_ascii_case(code)) {
            return Some((*field).to_owned());
        }
    }
    for (field, names) in fields {
        for n in *names {
            let n = n.to_lowercase();
            if lower.contains(&format!("'{n}'"))
                || lower.contains(&format!("at '{n}"))
                || lower.contains(&format!(" {n} "))
                || lower.contains(&format!(" {n}:"))
                || lower.contains(&format!(" {n}."))
                || lower.contains(&format!(" {n},"))
                || lower.starts_with(&format!("{n} "))
            {
                return Some((*field).to_owned());
            }
        }
    }
    None
}

/// A regional page (the region selector shown), reloading while `refresh` (a long
/// operation runs).
#[allow(clippy::too_many_arguments)]
fn regional_page(
    c: &Console,
    r: &Req,
    s: &crate::session::Session,
    p: &crate::Principal,
    title: &str,
    nav: crate::html::Nav,
    region: &str,
    body: crate::html::Markup,
    refresh: bool,
) -> axum::response::Response {
    let mut pg = crate::html::Page::new(title, nav, body);
    pg.region = Some(region);
    pg.refresh = refresh;
    crate::html::render(c, r, s, p, pg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip_and_tolerate_garbage() {
        assert_eq!(parse_marker(None), (0, None));
        assert_eq!(parse_marker(Some(&format_marker(3, Some("bob")))), (3, Some("bob".into())));
        assert_eq!(parse_marker(Some("0:")), (0, None));
        assert_eq!(parse_marker(Some("x:y:z")), (0, Some("y:z".into())));
        assert_eq!(parse_marker(Some("99999999999999999999:a")), (0, Some("a".into())));
        assert_eq!(parse_marker(Some("5000:a")).0, 1000);
    }

    #[test]
    fn validation_messages_point_at_fields() {
        let fields: &[(&str, &[&str])] = &[
            ("name", &["ClusterName", "ClusterAlreadyExistsFault"]),
            ("replication", &["ReplicationFactor"]),
            ("subnet_group", &["SubnetGroupName", "SubnetGroupNotFoundFault"]),
        ];
        let m = "1 validation error detected: Value '0' at 'replicationFactor' failed to satisfy constraint: Member must have value greater than or equal to 1";
        assert_eq!(field_of_error(m, "InvalidParameterValueException", fields).as_deref(), Some("replication"));
        assert_eq!(
            field_of_error("Subnet group x not found.", "SubnetGroupNotFoundFault", fields).as_deref(),
            Some("subnet_group")
        );
        assert_eq!(field_of_error("Something else.", "ServiceFailure", fields), None);
    }
}
