//! DynamoDB → DAX: clusters (list, Actions → Delete, create, detail with
//! nodes, events and the cache chart), subnet groups, parameter groups
//! (TTL editing) and events, per region.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use super::field_of_error;
use crate::forms::{self, encode};
use crate::host::{ApiError, Service};
use crate::html::{self, api_error, arr, note, redirect, s, time, Nav, Page, E};
use crate::metrics;
use crate::session::Session;
use crate::{Console, Principal, Req};

type Res = Result<Response, Response>;

/// DAX's `MaxResults` must lie in 20–100.
fn max_results(c: &Console) -> usize {
    c.config.page_size.clamp(20, 100)
}

async fn dax(c: &Console, r: &Req, region: &str, op: &str, input: Value) -> Result<Value, ApiError> {
    c.call(r, region, Service::Dax, op, input).await
}

fn page(
    c: &Console,
    r: &Req,
    s: &Session,
    p: &Principal,
    title: &str,
    nav: Nav,
    region: &str,
    body: String,
    refresh: bool,
) -> Response {
    let mut pg = Page::new(title, nav, body);
    pg.region = Some(region);
    pg.refresh = refresh;
    html::render(c, r, s, p, pg)
}

fn rq(region: &str) -> String {
    format!("region={}", encode(region))
}

fn cluster_href(c: &Console, region: &str, name: &str) -> String {
    c.link(&format!("/dax/clusters/{}?{}", encode(name), rq(region)))
}

fn endpoint_text(e: &Value) -> String {
    if let Some(u) = e.get("URL").and_then(Value::as_str) {
        return u.to_owned();
    }
    match (e.get("Address").and_then(Value::as_str), e.get("Port").and_then(Value::as_u64)) {
        (Some(a), Some(p)) => format!("{a}:{p}"),
        _ => String::new(),
    }
}

fn status_badge(status: &str) -> String {
    let class: String = status.chars().filter(char::is_ascii_alphanumeric).collect();
    format!("<span class=\"status {class}\">{}</span>", E(status))
}

fn busy(status: &str) -> bool {
    matches!(status, "creating" | "deleting" | "modifying" | "rebooting")
}

// ----- clusters -----

pub async fn clusters(c: Arc<Console>, r: Req) -> Res {
    let (sess, p) = r.need_session(&c)?;
    let region = r.region(&c);
    let list_href = c.link("/dax/clusters");
    let mut body = format!(
        "<div class=\"actions\"><a class=\"button primary\" href=\"{}?{}\">Create cluster</a></div>",
        E(&c.link("/dax/clusters/create")),
        rq(&region)
    );
    let mut input = json!({"MaxResults": max_results(&c)});
    if let Some(t) = r.q("next") {
        input["NextToken"] = json!(t);
    }
    let mut refresh = false;
    match dax(&c, &r, &region, "DescribeClusters", input).await {
        Err(e) => body.push_str(&api_error(&e)),
        Ok(v) => {
            let clusters = arr(&v, "Clusters");
            let selected = r.q("selected").unwrap_or_default();
            if r.q("action") == Some("delete") {
                if selected.is_empty() {
                    body.push_str(&note("error", "<p>Select a cluster first, then choose <strong>Actions</strong> → <strong>Delete</strong>.</p>"));
                } else {
                    let text = format!(
                        "<p>Delete the cluster <strong>{}</strong> in {}? Its nodes and their cached data are removed. This cannot be undone.</p>",
                        E(selected),
                        E(&region)
                    );
                    body.push_str(&html::dialog(
                        &sess,
                        "Delete cluster",
                        &text,
                        &c.link("/dax/clusters/delete"),
                        &[("name", selected), ("region", &region)],
                        "Delete",
                        &format!("{list_href}?{}", rq(&region)),
                    ));
                }
            }
            let _ = write!(
                body,
                "<form method=\"get\" action=\"{}\" class=\"list\"><input type=\"hidden\" name=\"region\" value=\"{}\">\
                 <div class=\"toolbar\"><details class=\"menu\"><summary>Actions</summary><div class=\"menu-items\">\
                 <button type=\"submit\" name=\"action\" value=\"delete\">Delete</button></div></details></div>\
                 <table><caption>Clusters in {}</caption><thead><tr><th scope=\"col\"><span class=\"visually-hidden\">Select</span></th>\
                 <th scope=\"col\">Cluster name</th><th scope=\"col\">Status</th><th scope=\"col\">Node type</th><th scope=\"col\">Nodes</th>\
                 <th scope=\"col\">Discovery endpoint</th><th scope=\"col\">Subnet group</th></tr></thead><tbody>",
                E(&list_href),
                E(&region),
                E(&region)
            );
            if clusters.is_empty() {
                body.push_str("<tr><td colspan=\"7\">No clusters in this region.</td></tr>");
            }
            for cl in clusters {
                let name = s(cl, "ClusterName");
                let status = s(cl, "Status");
                refresh |= busy(status);
                let endpoint = endpoint_text(&cl["ClusterDiscoveryEndpoint"]);
                let _ = write!(
                    body,
                    "<tr data-cluster=\"{n}\"><td><input type=\"radio\" name=\"selected\" value=\"{n}\" id=\"sel-{n}\" aria-label=\"Select cluster {n}\"{}></td>\
                     <th scope=\"row\"><a href=\"{}\">{n}</a></th><td>{}</td><td>{}</td><td>{} of {}</td><td>{}</td><td>{}</td></tr>",
                    if selected == name { " checked" } else { "" },
                    E(&cluster_href(&c, &region, name)),
                    status_badge(status),
                    E(s(cl, "NodeType")),
                    cl.get("ActiveNodes").and_then(Value::as_u64).unwrap_or(0),
                    cl.get("TotalNodes").and_then(Value::as_u64).unwrap_or(0),
                    if endpoint.is_empty() || !endpoint.contains("://") { "<span class=\"muted\">—</span>".to_owned() } else { format!("<code>{}</code>", E(&endpoint)) },
                    E(s(cl, "SubnetGroup")),
                    n = E(name),
                );
            }
            body.push_str("</tbody></table></form>");
            body.push_str(&html::pager(
                &list_href,
                &[("region", &region)],
                "next",
                v.get("NextToken").and_then(Value::as_str),
                r.q("next").is_none(),
            ));
        }
    }
    Ok(page(&c, &r, &sess, &p, "Clusters", Nav::Clusters, &region, body, refresh))
}

pub async fn delete_cluster(c: Arc<Console>, r: Req) -> Res {
    r.need_post(&c)?;
    let region = r.region(&c);
    let name = r.f("name").unwrap_or_default().to_owned();
    match dax(&c, &r, &region, "DeleteCluster", json!({"ClusterName": name})).await {
        Ok(v) => {
            c.flash(&r, true, format!("Deleting cluster {name}: its status is now {}.", s(&v["Cluster"], "Status")))
        }
        Err(e) => c.flash(&r, false, format!("{}: {}", e.code, e.message)),
    }
    Ok(redirect(&format!("{}?{}", c.link("/dax/clusters"), rq(&region))))
}

const NODE_TYPES: &[&str] = &[
    "dax.t3.small",
    "dax.t3.medium",
    "dax.t2.small",
    "dax.t2.medium",
    "dax.r5.large",
    "dax.r5.xlarge",
    "dax.r5.2xlarge",
    "dax.r5.4xlarge",
    "dax.r5.8xlarge",
    "dax.r5.12xlarge",
    "dax.r5.16xlarge",
    "dax.r5.24xlarge",
    "dax.r4.large",
    "dax.r4.xlarge",
    "dax.r4.2xlarge",
    "dax.r4.4xlarge",
    "dax.r4.8xlarge",
    "dax.r4.16xlarge",
];

/// Form fields of CreateCluster and the model members / error codes that point at each.
const CREATE_FIELDS: &[(&str, &[&str])] = &[
    ("name", &["ClusterName", "ClusterAlreadyExistsFault", "Cluster ID", "clusterName"]),
    ("node_type", &["NodeType", "node type", "InsufficientClusterCapacityFault"]),
    ("replication", &["ReplicationFactor", "NodeQuotaForClusterExceededFault", "NodeQuotaForCustomerExceededFault"]),
    ("role", &["IamRoleArn", "ARNs", "colon", "role", "InvalidARNFault"]),
    (
        "subnet_group",
        &["SubnetGroupName", "SubnetGroupNotFoundFault", "subnet group", "InvalidVPCNetworkStateFault", "Network type"],
    ),
    ("security_groups", &["SecurityGroupIds", "security group", "security groups"]),
    ("parameter_group", &["ParameterGroupName", "ParameterGroupNotFoundFault", "parameter group"]),
    ("description", &["Description"]),
];

struct CreateForm {
    values: BTreeMap<String, String>,
    security_groups: Vec<String>,
}

impl CreateForm {
    fn v(&self, k: &str) -> &str {
        self.values.get(k).map_or("", String::as_str)
    }
}

async fn create_page(
    c: &Console,
    r: &Req,
    sess: &Session,
    p: &Principal,
    region: &str,
    form: &CreateForm,
    error: Option<(Option<String>, ApiError)>,
) -> Response {
    // Choices come from the APIs too, as the signed-in principal.
    let subnet_groups = dax(c, r, region, "DescribeSubnetGroups", json!({"MaxResults": 100})).await;
    let param_groups = dax(c, r, region, "DescribeParameterGroups", json!({"MaxResults": 100})).await;
    let sgs = c.call(r, region, Service::Ec2, "DescribeSecurityGroups", json!({})).await;
    let roles = super::iam_list(
        c,
        r,
        "ListRoles",
        "Roles",
        json!({}),
        &|ro: &Value| s(ro, "AssumeRolePolicyDocument").contains("dax.amazonaws.com"),
        None,
    )
    .await;
    let (err_field, err) = match &error {
        Some((f, e)) => (f.clone(), Some(e)),
        None => (None, None),
    };
    let field_error = |field: &str| -> String {
        match (&err_field, err) {
            (Some(f), Some(e)) if f == field => {
                format!(
                    "<p class=\"field-error\" id=\"{field}-error\" role=\"alert\"><code>{}</code>: {}</p>",
                    E(&e.code),
                    E(&e.message)
                )
            }
            _ => String::new(),
        }
    };
    let described = |field: &str| -> String {
        if err_field.as_deref() == Some(field) {
            format!(" aria-invalid=\"true\" aria-describedby=\"{field}-error\"")
        } else {
            String::new()
        }
    };
    let mut body = String::new();
    if let (None, Some(e)) = (&err_field, err) {
        body.push_str(&api_error(e));
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"{}\" class=\"create\">{}<input type=\"hidden\" name=\"region\" value=\"{}\">",
        E(&c.link("/dax/clusters/create")),
        html::csrf(sess),
        E(region)
    );
    // Cluster settings.
    let mut types = String::new();
    let chosen_type = if form.v("node_type").is_empty() { "dax.t3.small" } else { form.v("node_type") };
    let mut listed = false;
    for t in NODE_TYPES {
        let sel = if *t == chosen_type {
            listed = true;
            " selected"
        } else {
            ""
        };
        let _ = write!(types, "<option{sel}>{t}</option>");
    }
    if !listed {
        let _ = write!(types, "<option selected>{}</option>", E(chosen_type));
    }
    let _ = write!(
        body,
        "<fieldset><legend>Cluster</legend>\
         <p><label for=\"f-name\">Cluster name</label><input id=\"f-name\" name=\"name\" value=\"{}\"{}>{}</p>\
         <p><label for=\"f-description\">Description</label><input id=\"f-description\" name=\"description\" value=\"{}\"{}>{}</p>\
         <p><label for=\"f-node_type\">Node type</label><select id=\"f-node_type\" name=\"node_type\"{}>{types}</select>{}</p>\
         <p><label for=\"f-replication\">Replication factor (number of nodes)</label><input id=\"f-replication\" name=\"replication\" inputmode=\"numeric\" value=\"{}\"{}>{}</p>\
         </fieldset>",
        E(form.v("name")),
        described("name"),
        field_error("name"),
        E(form.v("description")),
        described("description"),
        field_error("description"),
        described("node_type"),
        field_error("node_type"),
        E(if form.values.contains_key("replication") { form.v("replication") } else { "3" }),
        described("replication"),
        field_error("replication"),
    );
    // Access: the role DAX uses to reach DynamoDB.
    let mut role_opts = String::new();
    if let Ok((rs, _)) = &roles {
        for ro in rs {
            let _ = write!(role_opts, "<option value=\"{}\">{}</option>", E(s(ro, "Arn")), E(s(ro, "RoleName")));
        }
    }
    let _ = write!(
        body,
        "<fieldset><legend>Access to DynamoDB</legend><p><label for=\"f-role\">IAM role ARN</label>\
         <input id=\"f-role\" name=\"role\" list=\"dax-roles\" size=\"60\" value=\"{}\"{}><datalist id=\"dax-roles\">{role_opts}</datalist>{}</p>\
         <p class=\"hint\">A role DAX may assume (its trust policy names <code>dax.amazonaws.com</code>). You need <code>iam:PassRole</code> on it.</p></fieldset>",
        E(form.v("role")),
        described("role"),
        field_error("role"),
    );
    // Network.
    let mut sg_opts = String::new();
    let chosen_sg = if form.v("subnet_group").is_empty() { "default" } else { form.v("subnet_group") };
    match &subnet_groups {
        Ok(v) => {
            for g in arr(v, "SubnetGroups") {
                let n = s(g, "SubnetGroupName");
                let _ = write!(
                    sg_opts,
                    "<option value=\"{0}\"{1}>{0} ({2})</option>",
                    E(n),
                    if n == chosen_sg { " selected" } else { "" },
                    E(s(g, "VpcId"))
                );
            }
        }
        Err(_) => {
            let _ = write!(sg_opts, "<option selected>{}</option>", E(chosen_sg));
        }
    }
    let mut secgroups = String::new();
    match &sgs {
        Ok(v) => {
            for g in arr(v, "SecurityGroups") {
                let id = s(g, "GroupId");
                let checked = if form.security_groups.iter().any(|x| x == id) { " checked" } else { "" };
                let _ = write!(
                    secgroups,
                    "<label class=\"check\"><input type=\"checkbox\" name=\"security_groups\" value=\"{0}\"{checked}> <code>{0}</code> {1} ({2})</label>",
                    E(id),
                    E(s(g, "GroupName")),
                    E(s(g, "VpcId"))
                );
            }
        }
        Err(e) => secgroups.push_str(&api_error(e)),
    }
    let _ = write!(
        body,
        "<fieldset><legend>Network</legend><p><label for=\"f-subnet_group\">Subnet group</label><select id=\"f-subnet_group\" name=\"subnet_group\"{}>{sg_opts}</select>{}</p>\
         <fieldset class=\"nested\"{}><legend>Security groups (none: the VPC's default)</legend>{secgroups}{}</fieldset></fieldset>",
        described("subnet_group"),
        field_error("subnet_group"),
        described("security_groups"),
        field_error("security_groups"),
    );
    // Parameters and encryption.
    let mut pg_opts = String::new();
    let chosen_pg = if form.v("parameter_group").is_empty() { "default.dax1.0" } else { form.v("parameter_group") };
    match &param_groups {
        Ok(v) => {
            for g in arr(v, "ParameterGroups") {
                let n = s(g, "ParameterGroupName");
                let _ = write!(pg_opts, "<option{}>{}</option>", if n == chosen_pg { " selected" } else { "" }, E(n));
            }
        }
        Err(_) => {
            let _ = write!(pg_opts, "<option selected>{}</option>", E(chosen_pg));
        }
    }
    let tls = form.v("encryption") == "TLS";
    let _ = write!(
        body,
        "<fieldset><legend>Parameters and encryption</legend><p><label for=\"f-parameter_group\">Parameter group</label>\
         <select id=\"f-parameter_group\" name=\"parameter_group\"{}>{pg_opts}</select>{}</p>\
         <p><label class=\"check\"><input type=\"checkbox\" name=\"sse\" value=\"1\"{}> Encryption at rest</label></p>\
         <p><label for=\"f-encryption\">Endpoint encryption</label><select id=\"f-encryption\" name=\"encryption\">\
         <option value=\"NONE\"{}>None (dax://)</option><option value=\"TLS\"{}>TLS (daxs://)</option></select></p></fieldset>\
         <p><button type=\"submit\" class=\"primary\">Create cluster</button> <a href=\"{}?{}\">Cancel</a></p></form>",
        described("parameter_group"),
        field_error("parameter_group"),
        if form.v("sse") == "1" { " checked" } else { "" },
        if tls { "" } else { " selected" },
        if tls { " selected" } else { "" },
        E(&c.link("/dax/clusters")),
        rq(region),
    );
    let mut pg = Page::new("Create cluster", Nav::Clusters, body);
    pg.region = Some(region);
    if error.is_some() {
        pg.status = StatusCode::BAD_REQUEST;
    }
    html::render(c, r, sess, p, pg)
}

pub async fn create_form(c: Arc<Console>, r: Req) -> Res {
    let (sess, p) = r.need_session(&c)?;
    let region = r.region(&c);
    let form = CreateForm { values: BTreeMap::new(), security_groups: Vec::new() };
    Ok(create_page(&c, &r, &sess, &p, &region, &form, None).await)
}

pub async fn create_submit(c: Arc<Console>, r: Req) -> Res {
    let (sess, p) = r.need_post(&c)?;
    let region = r.region(&c);
    let mut values = BTreeMap::new();
    for k in [
        "name",
        "description",
        "node_type",
        "replication",
        "role",
        "subnet_group",
        "parameter_group",
        "sse",
        "encryption",
    ] {
        values.insert(k.to_owned(), r.f(k).unwrap_or_default().trim().to_owned());
    }
    let form = CreateForm {
        values,
        security_groups: forms::all(&r.form, "security_groups").into_iter().map(str::to_owned).collect(),
    };
    let mut input = json!({
        "ClusterName": form.v("name"),
        "NodeType": form.v("node_type"),
        "IamRoleArn": form.v("role"),
    });
    // A number goes as a number; anything else as typed, for the API to judge.
    input["ReplicationFactor"] = match form.v("replication").parse::<i64>() {
        Ok(n) => json!(n),
        Err(_) => json!(form.v("replication")),
    };
    for (field, member) in
        [("description", "Description"), ("subnet_group", "SubnetGroupName"), ("parameter_group", "ParameterGroupName")]
    {
        if !form.v(field).is_empty() {
            input[member] = json!(form.v(field));
        }
    }
    if !form.security_groups.is_empty() {
        input["SecurityGroupIds"] = json!(form.security_groups);
    }
    if form.v("sse") == "1" {
        input["SSESpecification"] = json!({"Enabled": true});
    }
    if form.v("encryption") == "TLS" {
        input["ClusterEndpointEncryptionType"] = json!("TLS");
    }
    match dax(&c, &r, &region, "CreateCluster", input).await {
        Ok(v) => {
            c.flash(
                &r,
                true,
                format!("Creating cluster {}: status {}.", s(&v["Cluster"], "ClusterName"), s(&v["Cluster"], "Status")),
            );
            Ok(redirect(&format!("{}?{}", c.link("/dax/clusters"), rq(&region))))
        }
        Err(e) => {
            let field = if e.is_denial() { None } else { field_of_error(&e.message, &e.code, CREATE_FIELDS) };
            Ok(create_page(&c, &r, &sess, &p, &region, &form, Some((field, e))).await)
        }
    }
}

pub async fn cluster_page(c: Arc<Console>, r: Req) -> Res {
    let (sess, p) = r.need_session(&c)?;
    let region = r.region(&c);
    let name = r.seg(2).to_owned();
    let cl = match dax(&c, &r, &region, "DescribeClusters", json!({"ClusterNames": [name]})).await {
        Ok(v) => arr(&v, "Clusters").first().cloned().unwrap_or(Value::Null),
        Err(e) => {
            let body = format!(
                "{}<p><a href=\"{}?{}\">All clusters</a></p>",
                api_error(&e),
                E(&c.link("/dax/clusters")),
                rq(&region)
            );
            return Ok(page(&c, &r, &sess, &p, &format!("Cluster {name}"), Nav::Clusters, &region, body, false));
        }
    };
    let status = s(&cl, "Status");
    let mut body = String::new();
    if r.q("action") == Some("delete") {
        body.push_str(&html::dialog(
            &sess,
            "Delete cluster",
            &format!(
                "<p>Delete the cluster <strong>{}</strong> in {}? This cannot be undone.</p>",
                E(&name),
                E(&region)
            ),
            &c.link("/dax/clusters/delete"),
            &[("name", &name), ("region", &region)],
            "Delete",
            &cluster_href(&c, &region, &name),
        ));
    }
    let _ = write!(
        body,
        "<div class=\"actions\"><form method=\"get\" action=\"{}\"><input type=\"hidden\" name=\"region\" value=\"{}\">\
         <details class=\"menu\"><summary>Actions</summary><div class=\"menu-items\"><button type=\"submit\" name=\"action\" value=\"delete\">Delete</button></div></details></form></div>",
        E(&c.link(&format!("/dax/clusters/{}", encode(&name)))),
        E(&region)
    );
    let endpoint = endpoint_text(&cl["ClusterDiscoveryEndpoint"]);
    let sgs: Vec<String> = arr(&cl, "SecurityGroups")
        .iter()
        .map(|g| format!("<code>{}</code> ({})", E(s(g, "SecurityGroupIdentifier")), E(s(g, "Status"))))
        .collect();
    let _ = write!(
        body,
        "<section aria-labelledby=\"c-summary\"><h2 id=\"c-summary\">Summary</h2><dl class=\"summary\">\
         <dt>Status</dt><dd>{}</dd><dt>ARN</dt><dd><code>{}</code></dd><dt>Node type</dt><dd>{}</dd><dt>Nodes</dt><dd>{} active of {}</dd>\
         <dt>Discovery endpoint</dt><dd>{}</dd><dt>Subnet group</dt><dd>{}</dd><dt>Security groups</dt><dd>{}</dd>\
         <dt>IAM role</dt><dd><code>{}</code></dd><dt>Parameter group</dt><dd>{} ({})</dd><dt>Encryption at rest</dt><dd>{}</dd>\
         <dt>Endpoint encryption</dt><dd>{}</dd><dt>Maintenance window</dt><dd>{}</dd><dt>Description</dt><dd>{}</dd></dl></section>",
        status_badge(status),
        E(s(&cl, "ClusterArn")),
        E(s(&cl, "NodeType")),
        cl.get("ActiveNodes").and_then(Value::as_u64).unwrap_or(0),
        cl.get("TotalNodes").and_then(Value::as_u64).unwrap_or(0),
        if endpoint.contains("://") { html::copyable(&endpoint, "Discovery endpoint") } else { "<span class=\"muted\">Not yet available</span>".to_owned() },
        E(s(&cl, "SubnetGroup")),
        if sgs.is_empty() { "—".to_owned() } else { sgs.join(", ") },
        E(s(&cl, "IamRoleArn")),
        E(s(&cl["ParameterGroup"], "ParameterGroupName")),
        E(s(&cl["ParameterGroup"], "ParameterApplyStatus")),
        E(s(&cl["SSEDescription"], "Status")),
        E(s(&cl, "ClusterEndpointEncryptionType")),
        E(s(&cl, "PreferredMaintenanceWindow")),
        E(s(&cl, "Description")),
    );
    // Nodes.
    body.push_str(
        "<section aria-labelledby=\"c-nodes\"><h2 id=\"c-nodes\">Nodes</h2><table><caption class=\"visually-hidden\">Nodes of the cluster</caption><thead><tr><th scope=\"col\">Node ID</th>\
         <th scope=\"col\">Status</th><th scope=\"col\">Availability zone</th><th scope=\"col\">Endpoint</th><th scope=\"col\">Created</th></tr></thead><tbody>",
    );
    let nodes = arr(&cl, "Nodes");
    if nodes.is_empty() {
        body.push_str("<tr><td colspan=\"5\">No nodes yet.</td></tr>");
    }
    for n in nodes {
        let id = s(n, "NodeId");
        let ep = n.get("Endpoint").map(endpoint_text).unwrap_or_default();
        let _ = write!(
            body,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            E(id),
            status_badge(s(n, "NodeStatus")),
            E(s(n, "AvailabilityZone")),
            if ep.is_empty() { "—".to_owned() } else { html::copyable(&ep, &format!("Endpoint of {id}")) },
            time(n.get("NodeCreateTime")),
        );
    }
    body.push_str("</tbody></table></section>");
    // Cache hits and misses.
    let (mut samples, mut latest) = c.metrics.of(&region, &name);
    if samples.is_empty() {
        c.sample();
        (samples, latest) = c.metrics.of(&region, &name);
    }
    let _ = write!(
        body,
        "<section aria-labelledby=\"c-cache\" id=\"cache-chart\" data-refresh-ms=\"{}\"><h2 id=\"c-cache\">Cache hits and misses</h2>{}",
        c.config.sample_every.as_millis().max(1000),
        metrics::chart(&samples)
    );
    match latest {
        Some(l) => {
            let _ = write!(
                body,
                "<table class=\"counters\"><caption>Cache counters since the nodes started</caption><thead><tr><th scope=\"col\">Cache</th>\
                 <th scope=\"col\">Hits</th><th scope=\"col\">Misses</th></tr></thead><tbody>\
                 <tr><th scope=\"row\">Item cache</th><td>{}</td><td>{}</td></tr><tr><th scope=\"row\">Query cache</th><td>{}</td><td>{}</td></tr>\
                 <tr><th scope=\"row\">Scan cache</th><td>{}</td><td>{}</td></tr></tbody></table><p>Requests served: {}.</p>",
                l.item_hits, l.item_misses, l.query_hits, l.query_misses, l.scan_hits, l.scan_misses, l.total_requests
            );
        }
        None => body.push_str("<p class=\"muted\">No counters yet: the cluster's nodes are not serving.</p>"),
    }
    body.push_str("</section>");
    // Events.
    body.push_str("<section aria-labelledby=\"c-events\"><h2 id=\"c-events\">Events</h2>");
    match dax(
        &c,
        &r,
        &region,
        "DescribeEvents",
        json!({"SourceName": name, "SourceType": "CLUSTER", "Duration": 20160, "MaxResults": 50}),
    )
    .await
    {
        Ok(v) => body.push_str(&events_table(arr(&v, "Events"), "Events of the cluster in the last 14 days")),
        Err(e) => body.push_str(&api_error(&e)),
    }
    body.push_str("</section>");
    Ok(page(&c, &r, &sess, &p, &format!("Cluster {name}"), Nav::Clusters, &region, body, busy(status)))
}

fn events_table(events: &[Value], caption: &str) -> String {
    let mut out = format!(
        "<table><caption>{}</caption><thead><tr><th scope=\"col\">Date</th><th scope=\"col\">Source</th><th scope=\"col\">Type</th>\
         <th scope=\"col\">Message</th></tr></thead><tbody>",
        E(caption)
    );
    if events.is_empty() {
        out.push_str("<tr><td colspan=\"4\">No events.</td></tr>");
    }
    for e in events {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            time(e.get("Date")),
            E(s(e, "SourceName")),
            E(s(e, "SourceType")),
            E(s(e, "Message"))
        );
    }
    out.push_str("</tbody></table>");
    out
}

// ----- subnet groups -----

pub async fn subnet_groups(c: Arc<Console>, r: Req) -> Res {
    let (sess, p) = r.need_session(&c)?;
    let region = r.region(&c);
    let href = c.link("/dax/subnet-groups");
    let mut body = String::new();
    if let Some(del) = r.q("delete") {
        body.push_str(&html::dialog(
            &sess,
            "Delete subnet group",
            &format!("<p>Delete the subnet group <strong>{}</strong>?</p>", E(del)),
            &href,
            &[("op", "delete"), ("name", del), ("region", &region)],
            "Delete",
            &format!("{href}?{}", rq(&region)),
        ));
    }
    let mut input = json!({"MaxResults": max_results(&c)});
    if let Some(t) = r.q("next") {
        input["NextToken"] = json!(t);
    }
    match dax(&c, &r, &region, "DescribeSubnetGroups", input).await {
        Err(e) => body.push_str(&api_error(&e)),
        Ok(v) => {
            let _ = write!(
                body,
                "<table><caption>Subnet groups in {}</caption><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Description</th>\
                 <th scope=\"col\">VPC</th><th scope=\"col\">Subnets</th><th scope=\"col\"><span class=\"visually-hidden\">Actions</span></th></tr></thead><tbody>",
                E(&region)
            );
            let groups = arr(&v, "SubnetGroups");
            if groups.is_empty() {
                body.push_str("<tr><td colspan=\"5\">No subnet groups.</td></tr>");
            }
            for g in groups {
                let n = s(g, "SubnetGroupName");
                let subnets: Vec<String> = arr(g, "Subnets")
                    .iter()
                    .map(|sn| {
                        format!(
                            "<li><code>{}</code> ({})</li>",
                            E(s(sn, "SubnetIdentifier")),
                            E(s(sn, "SubnetAvailabilityZone"))
                        )
                    })
                    .collect();
                let _ = write!(
                    body,
                    "<tr><th scope=\"row\">{}</th><td>{}</td><td><code>{}</code></td><td><ul class=\"compact\">{}</ul></td>\
                     <td><a href=\"{}?{}&amp;delete={}\">Delete</a></td></tr>",
                    E(n),
                    E(s(g, "Description")),
                    E(s(g, "VpcId")),
                    subnets.join(""),
                    E(&href),
                    rq(&region),
                    E(&encode(n)),
                );
            }
            body.push_str("</tbody></table>");
            body.push_str(&html::pager(
                &href,
                &[("region", &region)],
                "next",
                v.get("NextToken").and_then(Value::as_str),
                r.q("next").is_none(),
            ));
        }
    }
    // Create: subnets of the region's VPCs, from EC2 as the signed-in principal.
    let mut choices = String::new();
    match c.call(&r, &region, Service::Ec2, "DescribeSubnets", json!({})).await {
        Ok(v) => {
            for sn in arr(&v, "Subnets") {
                let _ = write!(
                    choices,
                    "<label class=\"check\"><input type=\"checkbox\" name=\"subnets\" value=\"{0}\"> <code>{0}</code> {1} {2} ({3})</label>",
                    E(s(sn, "SubnetId")),
                    E(s(sn, "AvailabilityZone")),
                    E(s(sn, "CidrBlock")),
                    E(s(sn, "VpcId"))
                );
            }
        }
        Err(e) => choices.push_str(&api_error(&e)),
    }
    let _ = write!(
        body,
        "<details class=\"panel\"><summary>Create subnet group</summary><form method=\"post\" action=\"{}\">{}\
         <input type=\"hidden\" name=\"op\" value=\"create\"><input type=\"hidden\" name=\"region\" value=\"{}\">\
         <p><label for=\"sg-name\">Subnet group name</label><input id=\"sg-name\" name=\"name\" required></p>\
         <p><label for=\"sg-desc\">Description</label><input id=\"sg-desc\" name=\"description\"></p>\
         <fieldset><legend>Subnets</legend>{choices}</fieldset><p><button type=\"submit\">Create subnet group</button></p></form></details>",
        E(&href),
        html::csrf(&sess),
        E(&region)
    );
    Ok(page(&c, &r, &sess, &p, "Subnet groups", Nav::SubnetGroups, &region, body, false))
}

pub async fn subnet_group_post(c: Arc<Console>, r: Req) -> Res {
    r.need_post(&c)?;
    let region = r.region(&c);
    let name = r.f("name").unwrap_or_default().trim().to_owned();
    let out = if r.f("op") == Some("create") {
        let mut input = json!({"SubnetGroupName": name, "SubnetIds": forms::all(&r.form, "subnets")});
        if let Some(d) = r.f("description").filter(|d| !d.is_empty()) {
            input["Description"] = json!(d);
        }
        dax(&c, &r, &region, "CreateSubnetGroup", input).await.map(|_| format!("Subnet group {name} created."))
    } else {
        dax(&c, &r, &region, "DeleteSubnetGroup", json!({"SubnetGroupName": name}))
            .await
            .map(|_| format!("Subnet group {name} deleted."))
    };
    match out {
        Ok(m) => c.flash(&r, true, m),
        Err(e) => c.flash(&r, false, format!("{}: {}", e.code, e.message)),
    }
    Ok(redirect(&format!("{}?{}", c.link("/dax/subnet-groups"), rq(&region))))
}

// ----- parameter groups -----

pub async fn parameter_groups(c: Arc<Console>, r: Req) -> Res {
    let (sess, p) = r.need_session(&c)?;
    let region = r.region(&c);
    let href = c.link("/dax/parameter-groups");
    let mut body = String::new();
    if let Some(del) = r.q("delete") {
        body.push_str(&html::dialog(
            &sess,
            "Delete parameter group",
            &format!("<p>Delete the parameter group <strong>{}</strong>?</p>", E(del)),
            &href,
            &[("op", "delete"), ("name", del), ("region", &region)],
            "Delete",
            &format!("{href}?{}", rq(&region)),
        ));
    }
    let mut input = json!({"MaxResults": max_results(&c)});
    if let Some(t) = r.q("next") {
        input["NextToken"] = json!(t);
    }
    match dax(&c, &r, &region, "DescribeParameterGroups", input).await {
        Err(e) => body.push_str(&api_error(&e)),
        Ok(v) => {
            let _ = write!(
                body,
                "<table><caption>Parameter groups in {}</caption><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Description</th>\
                 <th scope=\"col\"><span class=\"visually-hidden\">Actions</span></th></tr></thead><tbody>",
                E(&region)
            );
            for g in arr(&v, "ParameterGroups") {
                let n = s(g, "ParameterGroupName");
                let _ = write!(
                    body,
                    "<tr><th scope=\"row\"><a href=\"{}/{}?{}\">{}</a></th><td>{}</td><td><a href=\"{}?{}&amp;delete={}\">Delete</a></td></tr>",
                    E(&href),
                    E(&encode(n)),
                    rq(&region),
                    E(n),
                    E(s(g, "Description")),
                    E(&href),
                    rq(&region),
                    E(&encode(n))
                );
            }
            body.push_str("</tbody></table>");
            body.push_str(&html::pager(
                &href,
                &[("region", &region)],
                "next",
                v.get("NextToken").and_then(Value::as_str),
                r.q("next").is_none(),
            ));
        }
    }
    let _ = write!(
        body,
        "<details class=\"panel\"><summary>Create parameter group</summary><form method=\"post\" action=\"{}\">{}\
         <input type=\"hidden\" name=\"op\" value=\"create\"><input type=\"hidden\" name=\"region\" value=\"{}\">\
         <p><label for=\"pg-name\">Parameter group name</label><input id=\"pg-name\" name=\"name\" required></p>\
         <p><label for=\"pg-desc\">Description</label><input id=\"pg-desc\" name=\"description\"></p>\
         <p><button type=\"submit\">Create parameter group</button></p></form></details>",
        E(&href),
        html::csrf(&sess),
        E(&region)
    );
    Ok(page(&c, &r, &sess, &p, "Parameter groups", Nav::ParameterGroups, &region, body, false))
}

pub async fn parameter_group_post(c: Arc<Console>, r: Req) -> Res {
    r.need_post(&c)?;
    let region = r.region(&c);
    let name = r.f("name").unwrap_or_default().trim().to_owned();
    let out = if r.f("op") == Some("create") {
        let mut input = json!({"ParameterGroupName": name});
        if let Some(d) = r.f("description").filter(|d| !d.is_empty()) {
            input["Description"] = json!(d);
        }
        dax(&c, &r, &region, "CreateParameterGroup", input).await.map(|_| format!("Parameter group {name} created."))
    } else {
        dax(&c, &r, &region, "DeleteParameterGroup", json!({"ParameterGroupName": name}))
            .await
            .map(|_| format!("Parameter group {name} deleted."))
    };
    match out {
        Ok(m) => c.flash(&r, true, m),
        Err(e) => c.flash(&r, false, format!("{}: {}", e.code, e.message)),
    }
    Ok(redirect(&format!("{}?{}", c.link("/dax/parameter-groups"), rq(&region))))
}

pub async fn parameter_group_page(c: Arc<Console>, r: Req) -> Res {
    let (sess, p) = r.need_session(&c)?;
    let region = r.region(&c);
    let name = r.seg(2).to_owned();
    let mut body = String::new();
    match dax(&c, &r, &region, "DescribeParameters", json!({"ParameterGroupName": name, "MaxResults": 100})).await {
        Err(e) => body.push_str(&api_error(&e)),
        Ok(v) => {
            let params = arr(&v, "Parameters");
            body.push_str(
                "<table><caption>Parameters</caption><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Value</th><th scope=\"col\">Allowed values</th>\
                 <th scope=\"col\">Modifiable</th><th scope=\"col\">Change takes effect</th><th scope=\"col\">Description</th></tr></thead><tbody>",
            );
            for prm in params {
                let _ = write!(
                    body,
                    "<tr><th scope=\"row\"><code>{}</code></th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    E(s(prm, "ParameterName")),
                    E(s(prm, "ParameterValue")),
                    E(s(prm, "AllowedValues")),
                    E(s(prm, "IsModifiable")),
                    E(s(prm, "ChangeType")),
                    E(s(prm, "Description"))
                );
            }
            body.push_str("</tbody></table>");
            let value = |n: &str| {
                params
                    .iter()
                    .find(|x| s(x, "ParameterName") == n)
                    .map(|x| s(x, "ParameterValue").to_owned())
                    .unwrap_or_default()
            };
            let _ = write!(
                body,
                "<h2>Time to live</h2><form method=\"post\" action=\"{}\">{}<input type=\"hidden\" name=\"region\" value=\"{}\">\
                 <p><label for=\"record-ttl\">Item cache TTL (record-ttl-millis)</label><input id=\"record-ttl\" name=\"record-ttl-millis\" inputmode=\"numeric\" value=\"{}\"></p>\
                 <p><label for=\"query-ttl\">Query cache TTL (query-ttl-millis)</label><input id=\"query-ttl\" name=\"query-ttl-millis\" inputmode=\"numeric\" value=\"{}\"></p>\
                 <p><button type=\"submit\">Save TTLs</button></p></form>",
                E(&c.link(&format!("/dax/parameter-groups/{}", encode(&name)))),
                html::csrf(&sess),
                E(&region),
                E(&value("record-ttl-millis")),
                E(&value("query-ttl-millis")),
            );
        }
    }
    let _ = write!(
        body,
        "<p><a href=\"{}?{}\">All parameter groups</a></p>",
        E(&c.link("/dax/parameter-groups")),
        rq(&region)
    );
    Ok(page(&c, &r, &sess, &p, &format!("Parameter group {name}"), Nav::ParameterGroups, &region, body, false))
}

pub async fn parameter_group_update(c: Arc<Console>, r: Req) -> Res {
    r.need_post(&c)?;
    let region = r.region(&c);
    let name = r.seg(2).to_owned();
    let values: Vec<Value> = ["record-ttl-millis", "query-ttl-millis"]
        .iter()
        .filter_map(|k| r.f(k).map(|v| json!({"ParameterName": k, "ParameterValue": v.trim()})))
        .collect();
    match dax(
        &c,
        &r,
        &region,
        "UpdateParameterGroup",
        json!({"ParameterGroupName": name, "ParameterNameValues": values}),
    )
    .await
    {
        Ok(_) => c.flash(&r, true, "TTLs saved. Nodes of clusters using this group pick them up after a reboot."),
        Err(e) => c.flash(&r, false, format!("{}: {}", e.code, e.message)),
    }
    Ok(redirect(&format!("{}?{}", c.link(&format!("/dax/parameter-groups/{}", encode(&name))), rq(&region))))
}

// ----- events -----

pub async fn events(c: Arc<Console>, r: Req) -> Res {
    let (sess, p) = r.need_session(&c)?;
    let region = r.region(&c);
    let href = c.link("/dax/events");
    let source_type =
        r.q("source_type").filter(|t| matches!(*t, "CLUSTER" | "PARAMETER_GROUP" | "SUBNET_GROUP")).unwrap_or("");
    let source = r.q("source").unwrap_or("").trim().to_owned();
    let duration = r.q("duration").and_then(|d| d.parse::<u32>().ok()).unwrap_or(1440);
    let mut opts = String::from("<option value=\"\">All</option>");
    for (v, l) in [("CLUSTER", "Clusters"), ("PARAMETER_GROUP", "Parameter groups"), ("SUBNET_GROUP", "Subnet groups")]
    {
        let _ = write!(opts, "<option value=\"{v}\"{}>{l}</option>", if v == source_type { " selected" } else { "" });
    }
    let mut body = format!(
        "<form method=\"get\" action=\"{}\" class=\"filters\"><input type=\"hidden\" name=\"region\" value=\"{}\">\
         <p><label for=\"ev-type\">Source type</label> <select id=\"ev-type\" name=\"source_type\">{opts}</select></p>\
         <p><label for=\"ev-source\">Source name</label> <input id=\"ev-source\" name=\"source\" value=\"{}\"></p>\
         <p><label for=\"ev-duration\">Last minutes</label> <input id=\"ev-duration\" name=\"duration\" inputmode=\"numeric\" value=\"{duration}\"></p>\
         <p><button type=\"submit\">Show events</button></p></form>",
        E(&href),
        E(&region),
        E(&source)
    );
    let mut input = json!({"MaxResults": max_results(&c), "Duration": duration});
    if !source_type.is_empty() {
        input["SourceType"] = json!(source_type);
    }
    if !source.is_empty() {
        input["SourceName"] = json!(source);
    }
    if let Some(t) = r.q("next") {
        input["NextToken"] = json!(t);
    }
    match dax(&c, &r, &region, "DescribeEvents", input).await {
        Err(e) => body.push_str(&api_error(&e)),
        Ok(v) => {
            body.push_str(&events_table(arr(&v, "Events"), &format!("Events in {region}")));
            let d = duration.to_string();
            body.push_str(&html::pager(
                &href,
                &[("region", &region), ("source_type", source_type), ("source", &source), ("duration", &d)],
                "next",
                v.get("NextToken").and_then(Value::as_str),
                r.q("next").is_none(),
            ));
        }
    }
    Ok(page(&c, &r, &sess, &p, "Events", Nav::Events, &region, body, false))
}
