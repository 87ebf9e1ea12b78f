//! DAX → Node hosts: the machines running `daxd node-host` that joined this daxd
//! (docs/node-hosts.md), listed through `DaxdNodeHost.DescribeNodeHosts` as the signed-in
//! principal: zone, address, ports, state and last heartbeat.

use std::sync::Arc;

use axum::response::Response;
use serde_json::{json, Value};

use super::regional_page as page;
use crate::host::Service;
use crate::html::{self, api_error, arr, html, s, time, Append, Markup, Nav};
use crate::{Console, Req};

type Res = Result<Response, Response>;

pub async fn list(c: Arc<Console>, r: Req) -> Res {
    let (sess, p) = r.need_session(&c)?;
    let region = r.region(&c);
    let href = c.link("/dax/node-hosts");
    let mut input = json!({"MaxResults": c.config.page_size.clamp(20, 100)});
    if let Some(t) = r.q("next") {
        input["NextToken"] = json!(t);
    }
    let mut body = Markup::default();
    match c.call(&r, &region, Service::NodeHost, "DescribeNodeHosts", input).await {
        Err(e) => body.push(api_error(&e)),
        Ok(v) => {
            let hosts = arr(&v, "NodeHosts");
            body.push(html! {
                p.muted { "Hosts join with " code { "daxd node-host" } ". DAX nodes are not placed on them yet." }
                div.scroll tabindex="0" {
                    table {
                        caption { "Node hosts in " (region) }
                        thead {
                            tr {
                                th scope="col" { "Node host" } th scope="col" { "Availability zone" }
                                th scope="col" { "Address" } th scope="col" { "Ports" } th scope="col" { "State" }
                                th scope="col" { "Last heartbeat" }
                            }
                        }
                        tbody {
                            @if hosts.is_empty() { tr { td colspan="6" { "No node hosts in this region." } } }
                            @for h in hosts {
                                @let state = s(h, "Status");
                                tr data-node-host=(s(h, "NodeHostId")) {
                                    th scope="row" { (s(h, "NodeHostId")) }
                                    td { (s(h, "AvailabilityZone")) }
                                    td { code { (s(h, "AdvertiseHost")) } }
                                    td {
                                        (h.get("PortRangeStart").and_then(Value::as_u64).unwrap_or(0)) "–"
                                        (h.get("PortRangeEnd").and_then(Value::as_u64).unwrap_or(0))
                                    }
                                    td { span class={ "status " (state) } { (state) } }
                                    td { (time(h.get("LastHeartbeatTime"))) }
                                }
                            }
                        }
                    }
                }
            });
            body.push(html::pager(
                &href,
                &[("region", &region)],
                "next",
                v.get("NextToken").and_then(Value::as_str),
                r.q("next").is_none(),
            ));
        }
    }
    Ok(page(&c, &r, &sess, &p, "Node hosts", Nav::NodeHosts, &region, body, false))
}
