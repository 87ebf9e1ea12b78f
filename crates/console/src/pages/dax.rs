//! DynamoDB → DAX: clusters (list, Actions → Delete, create, detail with
//! nodes, events and the cache chart, and a Metrics tab from `cloudwatch.rs`), subnet groups, parameter groups
//! (TTL editing) and events, per region.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::response::Response;
use serde_json::{json, Value};

use super::{field_of_error, regional_page as page};
use crate::forms::{self, encode};
use crate::host::{ApiError, Service};
use crate::html::{self, api_error, arr, html, note, redirect, s, time, Append, Markup, Nav, Page};
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

fn status_badge(status: &str) -> Markup {
    let class: String = status.chars().filter(char::is_ascii_alphanumeric).collect();
    html! { span class={ "status " (class) } { (status) } }
}

fn busy(status: &str) -> bool {
    matches!(status, "creating" | "deleting" | "modifying" | "rebooting")
}

// ----- clusters -----

pub async fn clusters(c: Arc<Console>, r: Req) -> Res {
    let (sess, p) = r.need_session(&c)?;
    let region = r.region(&c);
    let list_href = c.link("/dax/clusters");
    let create = html! {
        a.button.primary href={ (c.link("/dax/clusters/create")) "?" (rq(&region)) } { "Create cluster" }
    };
    let mut body = Markup::default();
    let mut input = json!({"MaxResults": max_results(&c)});
    if let Some(t) = r.q("next") {
        input["NextToken"] = json!(t);
    }
    let mut refresh = false;
    match dax(&c, &r, &region, "DescribeClusters", input).await {
        Err(e) => {
            body.push(html! { div.toolbar { (create) } });
            body.push(api_error(&e));
        }
        Ok(v) => {
            let clusters = arr(&v, "Clusters");
            let selected = r.q("selected").unwrap_or_default();
            // Followed after Actions → Delete: say so once the cluster is gone.
            if let Some(gone) = r.q("deleted").filter(|n| !clusters.iter().any(|cl| s(cl, "ClusterName") == *n)) {
                body.push(note("success", html! { p { "Cluster " strong { (gone) } " has been deleted." } }));
            }
            if r.q("action") == Some("delete") {
                if selected.is_empty() {
                    body.push(note(
                        "error",
                        html! {
                            p { "Select a cluster first, then choose " strong { "Actions" } " → " strong { "Delete" } "." }
                        },
                    ));
                } else {
                    body.push(html::dialog(
                        &sess,
                        "Delete cluster",
                        html! {
                            p {
                                "Delete the cluster " strong { (selected) } " in " (region)
                                "? Its nodes and their cached data are removed. This cannot be undone."
                            }
                        },
                        &c.link("/dax/clusters/delete"),
                        &[("name", selected), ("region", &region)],
                        "Delete",
                        &format!("{list_href}?{}", rq(&region)),
                    ));
                }
            }
            refresh = clusters.iter().any(|cl| busy(s(cl, "Status")));
            // Delete is marked not permitted when no listed cluster may be deleted.
            let mut may_delete = clusters.is_empty();
            for cl in clusters {
                if super::not_permitted(&c, &r, &["dax:DeleteCluster"], s(cl, "ClusterArn")).await.is_empty() {
                    may_delete = true;
                    break;
                }
            }
            body.push(html! {
                form method="get" action=(list_href) class="list" {
                    input type="hidden" name="region" value=(region);
                    div.toolbar {
                        @if !clusters.is_empty() {
                            (html::actions_menu(
                                "cluster-actions",
                                html! {
                                    @if may_delete {
                                        button type="submit" name="action" value="delete" { "Delete" }
                                    } @else {
                                        (html::not_permitted(html! { "Delete" }, "dax:DeleteCluster"))
                                    }
                                }
                            ))
                        }
                        (create)
                    }
                    div.scroll tabindex="0" {
                        table {
                            caption { "Clusters in " (region) }
                            thead {
                                tr {
                                    th scope="col" { span.visually-hidden { "Select" } }
                                    th scope="col" { "Cluster name" } th scope="col" { "Status" } th scope="col" { "Node type" }
                                    th scope="col" { "Nodes" } th scope="col" { "Discovery endpoint" }
                                    th scope="col" { "Subnet group" }
                                }
                            }
                            tbody {
                                @if clusters.is_empty() { tr { td colspan="7" { "No clusters in this region." } } }
                                @for cl in clusters {
                                    @let name = s(cl, "ClusterName");
                                    @let endpoint = endpoint_text(&cl["ClusterDiscoveryEndpoint"]);
                                    tr data-cluster=(name) {
                                        td {
                                            input type="radio" name="selected" value=(name) id={ "sel-" (name) }
                                                aria-label={ "Select cluster " (name) } checked[selected == name];
                                        }
                                        th scope="row" { a href=(cluster_href(&c, &region, name)) { (name) } }
                                        td { (status_badge(s(cl, "Status"))) }
                                        td { (s(cl, "NodeType")) }
                                        td {
                                            (cl.get("ActiveNodes").and_then(Value::as_u64).unwrap_or(0)) " of "
                                            (cl.get("TotalNodes").and_then(Value::as_u64).unwrap_or(0))
                                        }
                                        td {
                                            @if endpoint.is_empty() || !endpoint.contains("://") {
                                                span.muted { "—" }
                                            } @else {
                                                code { (endpoint) }
                                            }
                                        }
                                        td { (s(cl, "SubnetGroup")) }
                                    }
                                }
                            }
                        }
                    }
                }
            });
            body.push(html::pager(
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
            c.flash(&r, true, format!("Deleting cluster {name}: its status is now {}.", s(&v["Cluster"], "Status")));
            Ok(redirect(&format!("{}?{}&deleted={}", c.link("/dax/clusters"), rq(&region), encode(&name))))
        }
        Err(e) => {
            c.flash(&r, false, format!("{}: {}", e.code, e.message));
            Ok(redirect(&format!("{}?{}", c.link("/dax/clusters"), rq(&region))))
        }
    }
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
    let field_error = |field: &str| -> Markup {
        match (&err_field, err) {
            (Some(f), Some(e)) if f == field => html! {
                div.field-error id={ (field) "-error" } role="alert" {
                    p { (explain(field, e)) }
                    p.api-code { "The API's answer: " code { (e.code) } ": " (e.message) }
                }
            },
            _ => Markup::default(),
        }
    };
    let invalid = |field: &str| err_field.as_deref() == Some(field);
    let described = |field: &str| invalid(field).then(|| format!("{field}-error"));
    let aria_invalid = |field: &str| invalid(field).then_some("true");
    let chosen_type = if form.v("node_type").is_empty() { "dax.t3.small" } else { form.v("node_type") };
    let chosen_sg = if form.v("subnet_group").is_empty() { "default" } else { form.v("subnet_group") };
    let chosen_pg = if form.v("parameter_group").is_empty() { "default.dax1.0" } else { form.v("parameter_group") };
    let tls = form.v("encryption") == "TLS";
    let body = html! {
        @if let (None, Some(e)) = (&err_field, err) { (api_error(e)) }
        form method="post" action=(c.link("/dax/clusters/create")) class="create" {
            (html::csrf(sess))
            input type="hidden" name="region" value=(region);
            fieldset {
                legend { "Cluster" }
                p {
                    label for="f-name" { "Cluster name" }
                    input #f-name name="name" value=(form.v("name"))
                        aria-invalid=[aria_invalid("name")] aria-describedby=[described("name")];
                    (field_error("name"))
                }
                p {
                    label for="f-description" { "Description" }
                    input #f-description name="description" value=(form.v("description"))
                        aria-invalid=[aria_invalid("description")] aria-describedby=[described("description")];
                    (field_error("description"))
                }
                p {
                    label for="f-node_type" { "Node type" }
                    select #f-node_type name="node_type"
                        aria-invalid=[aria_invalid("node_type")] aria-describedby=[described("node_type")] {
                        @for t in NODE_TYPES { option selected[*t == chosen_type] { (t) } }
                        @if !NODE_TYPES.contains(&chosen_type) { option selected { (chosen_type) } }
                    }
                    (field_error("node_type"))
                }
                p {
                    label for="f-replication" { "Replication factor (number of nodes)" }
                    input #f-replication name="replication" inputmode="numeric"
                        value=(if form.values.contains_key("replication") { form.v("replication") } else { "3" })
                        aria-invalid=[aria_invalid("replication")] aria-describedby=[described("replication")];
                    (field_error("replication"))
                }
            }
            // Access: the role DAX uses to reach DynamoDB.
            fieldset {
                legend { "Access to DynamoDB" }
                @match &roles {
                    // A picker: the role by name; its ARN is what is sent.
                    Ok((rs, _)) => {
                        p {
                            label for="f-role" { "IAM role" }
                            select #f-role name="role"
                                aria-invalid=[aria_invalid("role")] aria-describedby=[described("role")] {
                                option value="" selected[form.v("role").is_empty()] { "Choose a role" }
                                @for ro in rs {
                                    @let arn = s(ro, "Arn");
                                    option value=(arn) selected[form.v("role") == arn] { (s(ro, "RoleName")) }
                                }
                                @if !form.v("role").is_empty() && !rs.iter().any(|ro| s(ro, "Arn") == form.v("role")) {
                                    option value=(form.v("role")) selected { (form.v("role")) }
                                }
                            }
                            (field_error("role"))
                        }
                        @if rs.is_empty() {
                            p.hint { "No role in this account may be assumed by DAX yet: create one under IAM → Roles." }
                        }
                    }
                    // Without iam:ListRoles nothing can be listed: the ARN is typed.
                    Err(e) => {
                        (api_error(e))
                        p {
                            label for="f-role" { "IAM role ARN" }
                            input #f-role name="role" size="60" value=(form.v("role"))
                                placeholder="arn:aws:iam::123456789012:role/DAXtoDynamoDB"
                                aria-invalid=[aria_invalid("role")] aria-describedby=[described("role")];
                            (field_error("role"))
                        }
                        p.hint { "You may not list roles, so enter the role's ARN." }
                    }
                }
                p.hint {
                    "A role DAX may assume (its trust policy names " code { "dax.amazonaws.com" } "). You need "
                    code { "iam:PassRole" } " on it."
                }
            }
            fieldset {
                legend { "Network" }
                p {
                    label for="f-subnet_group" { "Subnet group" }
                    select #f-subnet_group name="subnet_group"
                        aria-invalid=[aria_invalid("subnet_group")] aria-describedby=[described("subnet_group")] {
                        @match &subnet_groups {
                            Ok(v) => {
                                @for g in arr(v, "SubnetGroups") {
                                    @let n = s(g, "SubnetGroupName");
                                    option value=(n) selected[n == chosen_sg] { (n) " (" (s(g, "VpcId")) ")" }
                                }
                            }
                            Err(_) => { option selected { (chosen_sg) } }
                        }
                    }
                    (field_error("subnet_group"))
                }
                @if let Err(e) = &subnet_groups { (not_listed(e, "subnet groups", chosen_sg)) }
                fieldset.nested aria-invalid=[aria_invalid("security_groups")]
                    aria-describedby=[described("security_groups")] {
                    legend { "Security groups (none: the VPC's default)" }
                    @match &sgs {
                        Ok(v) => {
                            @for g in arr(v, "SecurityGroups") {
                                @let id = s(g, "GroupId");
                                label.check {
                                    input type="checkbox" name="security_groups" value=(id)
                                        checked[form.security_groups.iter().any(|x| x == id)];
                                    " " code { (id) } " " (s(g, "GroupName")) " (" (s(g, "VpcId")) ")"
                                }
                            }
                        }
                        Err(e) => { (not_listed(e, "security groups", "the VPC's default")) }
                    }
                    (field_error("security_groups"))
                }
            }
            fieldset {
                legend { "Parameters and encryption" }
                p {
                    label for="f-parameter_group" { "Parameter group" }
                    select #f-parameter_group name="parameter_group"
                        aria-invalid=[aria_invalid("parameter_group")] aria-describedby=[described("parameter_group")] {
                        @match &param_groups {
                            Ok(v) => {
                                @for g in arr(v, "ParameterGroups") {
                                    @let n = s(g, "ParameterGroupName");
                                    option selected[n == chosen_pg] { (n) }
                                }
                            }
                            Err(_) => { option selected { (chosen_pg) } }
                        }
                    }
                    (field_error("parameter_group"))
                }
                @if let Err(e) = &param_groups { (not_listed(e, "parameter groups", chosen_pg)) }
                p { label.check { input type="checkbox" name="sse" value="1" checked[form.v("sse") == "1"]; " Encryption at rest" } }
                p {
                    label for="f-encryption" { "Endpoint encryption" }
                    select #f-encryption name="encryption" {
                        option value="NONE" selected[!tls] { "None (dax://)" }
                        option value="TLS" selected[tls] { "TLS (daxs://)" }
                    }
                }
            }
            p {
                button type="submit" class="primary" { "Create cluster" } " "
                a href={ (c.link("/dax/clusters")) "?" (rq(region)) } { "Cancel" }
            }
        }
    };
    // A refused form comes back with its errors as a page (200), as the AWS
    // console answers; the API's own status stays the API's.
    let mut pg = Page::new("Create cluster", Nav::Clusters, body);
    pg.region = Some(region);
    html::render(c, r, sess, p, pg)
}

/// A choice the principal may not list: the denial, and what the cluster gets
/// instead, said on the form (the same for every such list).
fn not_listed(e: &ApiError, what: &str, fallback: &str) -> Markup {
    html! {
        (api_error(e))
        p.hint { "You may not list " (what) ", so none can be offered; the cluster gets " strong { (fallback) } "." }
    }
}

/// A validation error of the create form in words a person reads (the API's
/// code and message are shown next to it for reference).
fn explain(field: &str, e: &ApiError) -> String {
    let m = e.message.to_lowercase();
    let said = match field {
        "role" if m.contains("arn") && m.contains("arn:") => {
            "This is not a role ARN. Choose a role from the list (its ARN starts with arn:aws:iam::)."
        }
        "role" => "DAX cannot use this role. Choose a role that DAX may assume and that you may pass.",
        "replication" if m.contains("at least") || m.contains("greater than") || m.contains("less than") => {
            "Enter the number of nodes: a whole number from 1 to 10 (3 or more for production)."
        }
        "replication" => "Enter the number of nodes as a whole number from 1 to 10.",
        "name" if e.code == "ClusterAlreadyExistsFault" => "A cluster with this name already exists in this region.",
        "name" => {
            "Use 1 to 20 letters, digits or hyphens, starting with a letter, without two hyphens in a row and not \
             ending with a hyphen."
        }
        "subnet_group" => "Choose a subnet group that exists in this region.",
        "parameter_group" => "Choose a parameter group that exists in this region.",
        "security_groups" => "Choose security groups of the subnet group's VPC.",
        "node_type" => "Choose another node type.",
        _ => return e.message.clone(),
    };
    said.to_owned()
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
            let body = html! {
                (api_error(&e))
                p { a href={ (c.link("/dax/clusters")) "?" (rq(&region)) } { "All clusters" } }
            };
            return Ok(page(&c, &r, &sess, &p, &format!("Cluster {name}"), Nav::Clusters, &region, body, false));
        }
    };
    let status = s(&cl, "Status");
    let mut body = Markup::default();
    if r.q("action") == Some("delete") {
        body.push(html::dialog(
            &sess,
            "Delete cluster",
            html! { p { "Delete the cluster " strong { (name) } " in " (region) "? This cannot be undone." } },
            &c.link("/dax/clusters/delete"),
            &[("name", &name), ("region", &region)],
            "Delete",
            &cluster_href(&c, &region, &name),
        ));
    }
    let endpoint = endpoint_text(&cl["ClusterDiscoveryEndpoint"]);
    let sgs = arr(&cl, "SecurityGroups");
    let nodes = arr(&cl, "Nodes");
    let may_delete = super::not_permitted(&c, &r, &["dax:DeleteCluster"], s(&cl, "ClusterArn")).await.is_empty();
    let href = cluster_href(&c, &region, &name);
    let tab = if r.q("tab") == Some("metrics") { "metrics" } else { "details" };
    body.push(html! {
        div.actions {
            form method="get" action=(c.link(&format!("/dax/clusters/{}", encode(&name)))) {
                input type="hidden" name="region" value=(region);
                (html::actions_menu(
                    "cluster-actions",
                    html! {
                        @if may_delete {
                            button type="submit" name="action" value="delete" { "Delete" }
                        } @else {
                            (html::not_permitted(html! { "Delete" }, "dax:DeleteCluster"))
                        }
                    }
                ))
            }
        }
        nav.tabs aria-label="Cluster details" {
            ul {
                li { a href=(href) aria-current=[(tab == "details").then_some("page")] { "Details" } }
                li { a href={ (href) "&tab=metrics" } aria-current=[(tab == "metrics").then_some("page")] { "Metrics" } }
            }
        }
    });
    if tab == "metrics" {
        let ids: Vec<String> = nodes.iter().map(|n| s(n, "NodeId").to_owned()).collect();
        body.push(super::cloudwatch::metrics_tab(&c, &r, &region, &name, &ids).await);
        return Ok(page(&c, &r, &sess, &p, &format!("Cluster {name}"), Nav::Clusters, &region, body, false));
    }
    body.push(html! {
        section aria-labelledby="c-summary" {
            h2 #c-summary { "Summary" }
            dl.summary {
                dt { "Status" } dd { (status_badge(status)) }
                dt { "ARN" } dd { code { (s(&cl, "ClusterArn")) } }
                dt { "Node type" } dd { (s(&cl, "NodeType")) }
                dt { "Nodes" }
                dd {
                    (cl.get("ActiveNodes").and_then(Value::as_u64).unwrap_or(0)) " active of "
                    (cl.get("TotalNodes").and_then(Value::as_u64).unwrap_or(0))
                }
                dt { "Discovery endpoint" }
                dd {
                    @if endpoint.contains("://") {
                        (html::copyable(&endpoint, "Discovery endpoint"))
                    } @else {
                        span.muted { "Not yet available" }
                    }
                }
                dt { "Subnet group" } dd { (s(&cl, "SubnetGroup")) }
                dt { "Security groups" }
                dd {
                    @if sgs.is_empty() { "—" }
                    @for (i, g) in sgs.iter().enumerate() {
                        @if i > 0 { ", " }
                        code { (s(g, "SecurityGroupIdentifier")) } " (" (s(g, "Status")) ")"
                    }
                }
                dt { "IAM role" } dd { code { (s(&cl, "IamRoleArn")) } }
                dt { "Parameter group" }
                dd {
                    (s(&cl["ParameterGroup"], "ParameterGroupName")) " ("
                    (s(&cl["ParameterGroup"], "ParameterApplyStatus")) ")"
                }
                dt { "Encryption at rest" } dd { (s(&cl["SSEDescription"], "Status")) }
                dt { "Endpoint encryption" } dd { (s(&cl, "ClusterEndpointEncryptionType")) }
                dt { "Maintenance window" } dd { (s(&cl, "PreferredMaintenanceWindow")) }
                dt { "Description" } dd { (s(&cl, "Description")) }
            }
        }
        section aria-labelledby="c-nodes" {
            h2 #c-nodes { "Nodes" }
            div.scroll tabindex="0" {
                table {
                    caption.visually-hidden { "Nodes of the cluster" }
                    thead {
                        tr {
                            th scope="col" { "Node ID" } th scope="col" { "Status" } th scope="col" { "Availability zone" }
                            th scope="col" { "Endpoint" } th scope="col" { "Created" }
                        }
                    }
                    tbody {
                        @if nodes.is_empty() { tr { td colspan="5" { "No nodes yet." } } }
                        @for n in nodes {
                            @let id = s(n, "NodeId");
                            @let ep = n.get("Endpoint").map(endpoint_text).unwrap_or_default();
                            tr {
                                th scope="row" { (id) }
                                td { (status_badge(s(n, "NodeStatus"))) }
                                td { (s(n, "AvailabilityZone")) }
                                td {
                                    @if ep.is_empty() { "—" } @else { (html::copyable(&ep, &format!("Endpoint of {id}"))) }
                                }
                                td { (time(n.get("NodeCreateTime"))) }
                            }
                        }
                    }
                }
            }
        }
    });
    // Cache hits and misses.
    let (mut samples, mut latest) = c.metrics.of(&region, &name);
    if samples.is_empty() {
        c.sample();
        (samples, latest) = c.metrics.of(&region, &name);
    }
    // The minutes recorded before the samples (those outlive a restart), then the samples.
    let recorded = super::cloudwatch::cache_minutes(&c, &r, &region, &name).await;
    let cache_chart = metrics::chart(&samples, &recorded, c.now());
    body.push(html! {
        section aria-labelledby="c-cache" id="cache-chart" data-refresh-ms=(c.config.sample_every.as_millis().max(1000)) {
            h2 #c-cache { "Cache hits and misses" }
            (cache_chart)
            @match latest {
                Some(l) => {
                    div.scroll tabindex="0" {
                        table.counters {
                            caption { "Cache counters since the nodes started" }
                            thead { tr { th scope="col" { "Cache" } th scope="col" { "Hits" } th scope="col" { "Misses" } } }
                            tbody {
                                tr { th scope="row" { "Item cache" } td { (l.item_hits) } td { (l.item_misses) } }
                                tr { th scope="row" { "Query cache" } td { (l.query_hits) } td { (l.query_misses) } }
                                tr { th scope="row" { "Scan cache" } td { (l.scan_hits) } td { (l.scan_misses) } }
                            }
                        }
                    }
                    p { "Requests served: " (l.total_requests) "." }
                }
                None => { p.muted { "No counters yet: the cluster's nodes are not serving." } }
            }
        }
    });
    // Events.
    let events = match dax(
        &c,
        &r,
        &region,
        "DescribeEvents",
        json!({"SourceName": name, "SourceType": "CLUSTER", "Duration": 20160, "MaxResults": 50}),
    )
    .await
    {
        Ok(v) => events_table(arr(&v, "Events"), "Events of the cluster in the last 14 days"),
        Err(e) => api_error(&e),
    };
    body.push(html! { section aria-labelledby="c-events" { h2 #c-events { "Events" } (events) } });
    Ok(page(&c, &r, &sess, &p, &format!("Cluster {name}"), Nav::Clusters, &region, body, busy(status)))
}

fn events_table(events: &[Value], caption: &str) -> Markup {
    html! {
        div.scroll tabindex="0" {
            table {
                caption { (caption) }
                thead {
                    tr { th scope="col" { "Date" } th scope="col" { "Source" } th scope="col" { "Type" } th scope="col" { "Message" } }
                }
                tbody {
                    @if events.is_empty() { tr { td colspan="4" { "No events." } } }
                    @for e in events {
                        tr {
                            td { (time(e.get("Date"))) } td { (s(e, "SourceName")) } td { (s(e, "SourceType")) }
                            td { (s(e, "Message")) }
                        }
                    }
                }
            }
        }
    }
}

// ----- subnet groups -----

pub async fn subnet_groups(c: Arc<Console>, r: Req) -> Res {
    let (sess, p) = r.need_session(&c)?;
    let region = r.region(&c);
    let href = c.link("/dax/subnet-groups");
    let mut body = Markup::default();
    if let Some(del) = r.q("delete") {
        body.push(html::dialog(
            &sess,
            "Delete subnet group",
            html! { p { "Delete the subnet group " strong { (del) } "?" } },
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
        Err(e) => body.push(api_error(&e)),
        Ok(v) => {
            let groups = arr(&v, "SubnetGroups");
            body.push(html! {
                div.scroll tabindex="0" {
                    table {
                        caption { "Subnet groups in " (region) }
                        thead {
                            tr {
                                th scope="col" { "Name" } th scope="col" { "Description" } th scope="col" { "VPC" }
                                th scope="col" { "Subnets" } th scope="col" { span.visually-hidden { "Actions" } }
                            }
                        }
                        tbody {
                            @if groups.is_empty() { tr { td colspan="5" { "No subnet groups." } } }
                            @for g in groups {
                                @let n = s(g, "SubnetGroupName");
                                tr {
                                    th scope="row" { (n) }
                                    td { (s(g, "Description")) }
                                    td { code { (s(g, "VpcId")) } }
                                    td {
                                        ul.compact {
                                            @for sn in arr(g, "Subnets") {
                                                li {
                                                    code { (s(sn, "SubnetIdentifier")) } " ("
                                                    (s(sn, "SubnetAvailabilityZone")) ")"
                                                }
                                            }
                                        }
                                    }
                                    td { a href={ (href) "?" (rq(&region)) "&delete=" (encode(n)) } { "Delete" } }
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
    // Create: subnets of the region's VPCs, from EC2 as the signed-in principal.
    let choices = match c.call(&r, &region, Service::Ec2, "DescribeSubnets", json!({})).await {
        Ok(v) => html! {
            @for sn in arr(&v, "Subnets") {
                @let id = s(sn, "SubnetId");
                label.check {
                    input type="checkbox" name="subnets" value=(id);
                    " " code { (id) } " " (s(sn, "AvailabilityZone")) " " (s(sn, "CidrBlock")) " ("
                    (s(sn, "VpcId")) ")"
                }
            }
        },
        Err(e) => api_error(&e),
    };
    body.push(html! {
        details.panel {
            summary { "Create subnet group" }
            form method="post" action=(href) {
                (html::csrf(&sess))
                input type="hidden" name="op" value="create";
                input type="hidden" name="region" value=(region);
                p { label for="sg-name" { "Subnet group name" } input #sg-name name="name" required; }
                p { label for="sg-desc" { "Description" } input #sg-desc name="description"; }
                fieldset { legend { "Subnets" } (choices) }
                p { button type="submit" { "Create subnet group" } }
            }
        }
    });
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
    let mut body = Markup::default();
    if let Some(del) = r.q("delete") {
        body.push(html::dialog(
            &sess,
            "Delete parameter group",
            html! { p { "Delete the parameter group " strong { (del) } "?" } },
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
        Err(e) => body.push(api_error(&e)),
        Ok(v) => {
            body.push(html! {
                div.scroll tabindex="0" {
                    table {
                        caption { "Parameter groups in " (region) }
                        thead {
                            tr {
                                th scope="col" { "Name" } th scope="col" { "Description" }
                                th scope="col" { span.visually-hidden { "Actions" } }
                            }
                        }
                        tbody {
                            @for g in arr(&v, "ParameterGroups") {
                                @let n = s(g, "ParameterGroupName");
                                tr {
                                    th scope="row" { a href={ (href) "/" (encode(n)) "?" (rq(&region)) } { (n) } }
                                    td { (s(g, "Description")) }
                                    td { a href={ (href) "?" (rq(&region)) "&delete=" (encode(n)) } { "Delete" } }
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
    body.push(html! {
        details.panel {
            summary { "Create parameter group" }
            form method="post" action=(href) {
                (html::csrf(&sess))
                input type="hidden" name="op" value="create";
                input type="hidden" name="region" value=(region);
                p { label for="pg-name" { "Parameter group name" } input #pg-name name="name" required; }
                p { label for="pg-desc" { "Description" } input #pg-desc name="description"; }
                p { button type="submit" { "Create parameter group" } }
            }
        }
    });
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
    let mut body = Markup::default();
    match dax(&c, &r, &region, "DescribeParameters", json!({"ParameterGroupName": name, "MaxResults": 100})).await {
        Err(e) => body.push(api_error(&e)),
        Ok(v) => {
            let params = arr(&v, "Parameters");
            let value = |n: &str| {
                params
                    .iter()
                    .find(|x| s(x, "ParameterName") == n)
                    .map(|x| s(x, "ParameterValue").to_owned())
                    .unwrap_or_default()
            };
            body.push(html! {
                div.scroll tabindex="0" {
                    table {
                        caption { "Parameters" }
                        thead {
                            tr {
                                th scope="col" { "Name" } th scope="col" { "Value" } th scope="col" { "Allowed values" }
                                th scope="col" { "Modifiable" } th scope="col" { "Change takes effect" }
                                th scope="col" { "Description" }
                            }
                        }
                        tbody {
                            @for prm in params {
                                tr {
                                    th scope="row" { code { (s(prm, "ParameterName")) } }
                                    td { (s(prm, "ParameterValue")) } td { (s(prm, "AllowedValues")) }
                                    td { (s(prm, "IsModifiable")) } td { (s(prm, "ChangeType")) }
                                    td { (s(prm, "Description")) }
                                }
                            }
                        }
                    }
                }
                h2 { "Time to live" }
                form method="post" action=(c.link(&format!("/dax/parameter-groups/{}", encode(&name)))) {
                    (html::csrf(&sess))
                    input type="hidden" name="region" value=(region);
                    p {
                        label for="record-ttl" { "Item cache TTL (record-ttl-millis)" }
                        input #record-ttl name="record-ttl-millis" inputmode="numeric" value=(value("record-ttl-millis"));
                    }
                    p {
                        label for="query-ttl" { "Query cache TTL (query-ttl-millis)" }
                        input #query-ttl name="query-ttl-millis" inputmode="numeric" value=(value("query-ttl-millis"));
                    }
                    p { button type="submit" { "Save TTLs" } }
                }
            });
        }
    }
    body.push(html! {
        p { a href={ (c.link("/dax/parameter-groups")) "?" (rq(&region)) } { "All parameter groups" } }
    });
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
    let mut body = html! {
        form method="get" action=(href) class="filters" {
            input type="hidden" name="region" value=(region);
            p {
                label for="ev-type" { "Source type" } " "
                select #ev-type name="source_type" {
                    option value="" { "All" }
                    @for (v, l) in [("CLUSTER", "Clusters"), ("PARAMETER_GROUP", "Parameter groups"), ("SUBNET_GROUP", "Subnet groups")] {
                        option value=(v) selected[v == source_type] { (l) }
                    }
                }
            }
            p { label for="ev-source" { "Source name" } " " input #ev-source name="source" value=(source); }
            p { label for="ev-duration" { "Last minutes" } " " input #ev-duration name="duration" inputmode="numeric" value=(duration); }
            p { button type="submit" { "Show events" } }
        }
    };
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
        Err(e) => body.push(api_error(&e)),
        Ok(v) => {
            body.push(events_table(arr(&v, "Events"), &format!("Events in {region}")));
            let d = duration.to_string();
            body.push(html::pager(
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
