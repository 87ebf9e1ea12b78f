//! daxd's own node-host service (`DaxdNodeHost`, JSON 1.1, `models/daxd-nodehost.json`):
//! the machines running `daxd node-host` join, heartbeat, leave, and are listed and
//! removed (docs/node-hosts.md). IAM authorizes each call as `daxd:<Operation>` on the
//! host's ARN like any AWS service; heartbeat and leave must also come from the principal
//! that joined (the registry checks it). Joins, leaves, removals and a host coming back
//! are logged here; the tick logs hosts going unreachable.

use std::sync::Arc;

use std::collections::BTreeSet;

use crate::app::App;
use dax_control::{HostAssignment, HostError, HostState, JoinInput, NodeHost, Paging, ServingNode};
use dax_node::NodeError;
use serde_json::{json, Map, Value};
use wire::AwsError;

use super::handler::{operations, Grant, Handler, Operation, Principal};
use super::input::In;
use super::Target;
use crate::services::Service;

operations! {
    /// The node-host operations: all of the model's.
    pub enum NodeHostOp {
        AuthorizeDaxClient, DescribeNodeHosts, ForwardDynamoDbCall, JoinNodeHost, LeaveNodeHost, RemoveNodeHost,
        SendNodeHostHeartbeat,
    }
}

/// A registry error: HTTP 400 (an `AccessDeniedException` too, as IAM's denials of JSON 1.1
/// services are), 500 for a store failure.
fn err(e: &HostError) -> AwsError {
    let status = if matches!(e, HostError::InternalFailure(_)) { 500 } else { 400 };
    AwsError::new(status, e.code(), e.message())
}

/// Say a node host's change in daxd's output (stdout, beside its start-up lines) and its
/// log. What is said names hosts, zones, addresses and principals, never keys.
pub fn announce(line: &str) {
    println!("daxd: {line}");
    tracing::info!("{line}");
}

/// The condition key `JoinNodeHost` sets: the zone the host joins.
pub const ZONE_KEY: &str = "daxd:AvailabilityZone";

/// What a node-host action is authorized on: the host's ARN for operations that name
/// one, `node-host/*` for a join, else `*`. `daxd:AvailabilityZone` is the zone the join
/// asks, or the zone of the named host (`zone_of`), so that a policy limiting hosts to
/// zones allows their heartbeats and leaving too.
#[must_use]
pub fn target(
    account: &str,
    region: &str,
    op: NodeHostOp,
    input: &Value,
    zone_of: impl Fn(&str) -> Option<String>,
) -> Target {
    let i = In(input);
    let resource = match op {
        NodeHostOp::JoinNodeHost => format!("arn:aws:daxd:{region}:{account}:node-host/*"),
        NodeHostOp::DescribeNodeHosts => "*".to_owned(),
        NodeHostOp::LeaveNodeHost
        | NodeHostOp::RemoveNodeHost
        | NodeHostOp::SendNodeHostHeartbeat
        | NodeHostOp::AuthorizeDaxClient
        | NodeHostOp::ForwardDynamoDbCall => {
            format!("arn:aws:daxd:{region}:{account}:node-host/{}", i.s("NodeHostId"))
        }
    };
    let mut t = Target::new("daxd", op.name(), &resource);
    let zone = match op {
        NodeHostOp::JoinNodeHost => Some(i.s("AvailabilityZone")),
        NodeHostOp::DescribeNodeHosts => None,
        _ => zone_of(&i.s("NodeHostId")),
    };
    if let Some(zone) = zone {
        t.context.push((ZONE_KEY.to_owned(), zone));
    }
    t
}

/// A host as the model's `NodeHost` shape.
#[must_use]
pub fn host_out(h: &NodeHost) -> Value {
    let mut o = Map::new();
    o.insert("NodeHostId".into(), json!(h.id));
    o.insert("NodeHostArn".into(), json!(h.arn));
    o.insert("AvailabilityZone".into(), json!(h.availability_zone));
    o.insert("AdvertiseHost".into(), json!(h.advertise_host));
    o.insert("PortRangeStart".into(), json!(h.port_start));
    o.insert("PortRangeEnd".into(), json!(h.port_end));
    if h.replication_port != 0 {
        o.insert("ReplicationPort".into(), json!(h.replication_port));
    }
    o.insert("PrincipalArn".into(), json!(h.principal_arn));
    o.insert("Status".into(), json!(h.state.as_str()));
    o.insert("JoinTime".into(), json!(h.joined));
    o.insert("LastHeartbeatTime".into(), json!(h.last_heartbeat));
    if let Some(t) = h.left {
        o.insert("LeaveTime".into(), json!(t));
    }
    Value::Object(o)
}

/// What a host must run, as the model's `Assignment` shapes.
#[must_use]
pub fn assignments_out(assignments: &[HostAssignment]) -> Value {
    Value::Array(
        assignments
            .iter()
            .map(|a| {
                json!({
                    "ClusterArn": a.cluster_arn,
                    "ClusterName": a.cluster_name,
                    "Region": a.region,
                    "NodeType": a.node_type,
                    "IamRoleArn": a.iam_role_arn,
                    "ClusterEndpointEncryptionType": if a.tls { "TLS" } else { "NONE" },
                    "RecordTtlMillis": a.record_ttl_ms,
                    "QueryTtlMillis": a.query_ttl_ms,
                    "Nodes": a.nodes.iter().map(|n| json!({
                        "NodeId": n.node_id,
                        "Port": n.port,
                        "Generation": n.generation,
                        "Primary": n.primary,
                    })).collect::<Vec<_>>(),
                    "Roster": a.roster.iter().map(|n| json!({
                        "NodeId": n.node_id,
                        "NodeHostId": n.host_id,
                        "Address": n.address,
                        "Port": n.port,
                        "AvailabilityZone": n.availability_zone,
                        "Primary": n.primary,
                        "ReplicationPort": n.replication_port,
                    })).collect::<Vec<_>>(),
                    "LeaderSessionId": a.leader_session_id,
                })
            })
            .collect(),
    )
}

/// The nodes a heartbeat reports serving (`ServingNodes`; the model bounds each member).
fn serving_in(raw: &Value) -> BTreeSet<ServingNode> {
    In(raw)
        .items("ServingNodes")
        .iter()
        .map(|n| {
            let i = In(n);
            ServingNode {
                cluster_arn: i.s("ClusterArn"),
                node_id: i.s("NodeId"),
                port: n.get("Port").and_then(Value::as_u64).and_then(|p| u16::try_from(p).ok()).unwrap_or(0),
                generation: n.get("Generation").and_then(Value::as_u64).unwrap_or(0),
            }
        })
        .collect()
}

/// A DAX client's or DynamoDB's error, as the data path of a node reports it.
fn node_err(e: NodeError) -> AwsError {
    let mut out = AwsError::new(e.status, &e.code, &e.message);
    out.extra = e.extra;
    out
}

/// The cluster `cluster_arn` as node host `id` runs it: the host must be the caller's (it
/// joined it) and run a node of the cluster that listens now.
fn hosted(
    app: &App,
    region: &str,
    id: &str,
    principal_arn: &str,
    cluster_arn: &str,
) -> Result<HostAssignment, AwsError> {
    let host = app.node_hosts.owned_by(region, id, principal_arn).map_err(|x| err(&x))?;
    app.dax.host_assignments(region, &host.id).into_iter().find(|a| a.cluster_arn == cluster_arn).ok_or_else(|| {
        AwsError::new(400, "AccessDeniedException", format!("Node host {id} runs no node of cluster {cluster_arn}"))
    })
}

/// Run an authorized node-host operation for `principal_arn` (the caller's entity ARN).
///
/// # Errors
/// The registry's errors, as the model names them; for the data path of a node on a host,
/// the DAX client's authentication or authorization error, or DynamoDB's.
pub fn call(app: &Arc<App>, region: &str, principal_arn: &str, op: &str, raw: &Value) -> Result<Value, AwsError> {
    let (hosts, dax) = (&app.node_hosts, &app.dax);
    let i = In(raw);
    let e = |x: HostError| err(&x);
    let id = || i.s("NodeHostId");
    match op {
        "JoinNodeHost" => {
            let input = JoinInput {
                availability_zone: i.s("AvailabilityZone"),
                advertise_host: i.s("AdvertiseHost"),
                port_start: raw.get("PortRangeStart").and_then(Value::as_i64).unwrap_or(0),
                port_end: raw.get("PortRangeEnd").and_then(Value::as_i64).unwrap_or(0),
                principal_arn: principal_arn.to_owned(),
                replication_port: raw.get("ReplicationPort").and_then(Value::as_i64).unwrap_or(0),
            };
            // The request is checked before the join, so that a bad one joins nothing.
            let csr = match i.o("CertificateSigningRequest") {
                Some(pem) => Some(
                    dax_node::tls::HostCsr::parse(&pem)
                        .map_err(|m| err(&HostError::InvalidParameterValueException(m)))?,
                ),
                None => None,
            };
            let ca = app.dax_nodes.get().and_then(|n| n.fleet.config().tls.clone());
            if csr.is_some() && ca.is_none() {
                return Err(AwsError::new(
                    500,
                    "InternalFailure",
                    "This daxd has no certificate authority to sign node-host certificates (start it with --tls-listen).",
                ));
            }
            let h = hosts.join(region, input).map_err(e)?;
            let certificate = match (csr, ca) {
                (Some(csr), Some(ca)) => Some(
                    ca.sign_host(&csr, &h.id, &h.advertise_host, app.env.clock.now().into())
                        .map_err(|m| AwsError::new(500, "InternalFailure", m))?,
                ),
                _ => None,
            };
            announce(&format!(
                "node host {} joined {region}: zone {}, address {}, ports {}-{}, principal {}{}",
                h.id,
                h.availability_zone,
                h.advertise_host,
                h.port_start,
                h.port_end,
                h.principal_arn,
                if certificate.is_some() { ", certificate issued" } else { "" }
            ));
            let mut out =
                json!({"NodeHost": host_out(&h), "HeartbeatIntervalSeconds": hosts.heartbeat_interval_secs()});
            if let Some(pem) = certificate {
                out["Certificate"] = json!(pem);
            }
            Ok(out)
        }
        "SendNodeHostHeartbeat" => {
            crate::hosted_metrics::check_names(raw.get("Metrics"))
                .map_err(|m| err(&HostError::InvalidParameterValueException(m)))?;
            let (h, before) = hosts.heartbeat(region, &id(), principal_arn).map_err(e)?;
            if before == HostState::Unreachable {
                announce(&format!("node host {} of {region} is active again", h.id));
            }
            hosts.report_serving(region, &h.id, serving_in(raw));
            let assignments = dax.host_assignments(region, &h.id);
            // The metrics of what it runs, published by the control (`hosted_metrics.rs`).
            app.hosted_metrics.store(region, &h.id, crate::hosted_metrics::report_in(raw.get("Metrics"), &assignments));
            // The FIS faults wanted on its nodes (`hosted_faults.rs`).
            app.hosted_faults.note_assignments(&h.id, &assignments);
            let faults = app.hosted_faults.faults_out(&assignments);
            Ok(json!({"NodeHost": host_out(&h), "Assignments": assignments_out(&assignments), "Faults": faults}))
        }
        "LeaveNodeHost" => {
            let h = hosts.leave(region, &id(), principal_arn).map_err(e)?;
            announce(&format!("node host {} left {region}", h.id));
            Ok(json!({"NodeHost": host_out(&h)}))
        }
        "AuthorizeDaxClient" => {
            let cluster = hosted(app, region, &id(), principal_arn, &i.s("ClusterArn"))?;
            let connection = dax_wire::AuthorizeConnection {
                access_key_id: i.s("AccessKeyId"),
                signature: i.s("Signature"),
                string_to_sign: i.s("StringToSign").into_bytes(),
                session_token: i.o("SessionToken"),
                user_agent: None,
            };
            let caller = crate::dax_host::authenticate_client(app, &connection, &cluster.region).map_err(node_err)?;
            if let Some(action) = i.o("Action") {
                let tls = i.bool("SecureTransport").unwrap_or(false);
                let enclosing = i.o("EnclosingOperation");
                let at = (cluster.cluster_arn.as_str(), cluster.region.as_str());
                crate::dax_host::authorize_client(app, &caller, &action, at, enclosing.as_deref(), tls)
                    .map_err(node_err)?;
            }
            Ok(json!({"PrincipalArn": app.iam.identity(&caller).entity_arn}))
        }
        "ForwardDynamoDbCall" => {
            let cluster = hosted(app, region, &id(), principal_arn, &i.s("ClusterArn"))?;
            let input: Value = serde_json::from_str(&i.s("Input")).ok().filter(Value::is_object).ok_or_else(|| {
                err(&HostError::InvalidParameterValueException("Input must be a JSON object.".into()))
            })?;
            let operation = i.s("Operation");
            let at = (cluster.cluster_name.as_str(), cluster.region.as_str(), cluster.iam_role_arn.as_str());
            // This blocking handler already runs inside `block_on` on the blocking pool: the
            // DynamoDB call (async) is driven to its end on a thread of its own.
            let runtime = tokio::runtime::Handle::current();
            let out = std::thread::scope(|scope| {
                scope.spawn(|| runtime.block_on(crate::dax_host::dynamodb_as_role(app, at, &operation, input))).join()
            })
            .map_err(|_| AwsError::new(500, "InternalFailure", "The request processing has failed."))?
            .map_err(node_err)?;
            Ok(json!({"Output": out.to_string()}))
        }
        "RemoveNodeHost" => {
            let h = hosts.remove(region, &id()).map_err(e)?;
            announce(&format!("node host {} of {region} removed by {principal_arn}", h.id));
            Ok(json!({"NodeHost": host_out(&h)}))
        }
        "DescribeNodeHosts" => {
            let ids = raw.get("NodeHostIds").map(|_| i.list("NodeHostIds"));
            let paging =
                Paging { max_results: raw.get("MaxResults").and_then(Value::as_i64), next_token: i.o("NextToken") };
            let page = hosts.describe(region, ids.as_deref(), &paging).map_err(e)?;
            let mut out = json!({"NodeHosts": page.items.iter().map(host_out).collect::<Vec<_>>()});
            if let Some(t) = page.next_token {
                out["NextToken"] = json!(t);
            }
            Ok(out)
        }
        _ => Err(super::not_served("daxd", op)),
    }
}

/// The node-host handler. Its impl comes after `call` (the input-member walk of
/// `tests/repo/input_members.rs` reads the first `fn call` of this file).
pub struct NodeHostApi {
    /// The registry, what hosts must run, who the caller is (a host's calls must come from
    /// the principal that joined it), and the data path of nodes on hosts.
    pub app: Arc<App>,
}

impl Handler for NodeHostApi {
    type Op = NodeHostOp;
    const SERVICE: Service = Service::NodeHost;
    const BLOCKING: bool = true;

    async fn targets(&self, op: NodeHostOp, input: &Value, who: &Principal<'_>) -> Vec<Target> {
        vec![target(who.account, who.region, op, input, |id| {
            self.app.node_hosts.get(who.region, id).map(|h| h.availability_zone)
        })]
    }

    async fn call(
        &self,
        op: NodeHostOp,
        input: Value,
        who: &Principal<'_>,
        _grant: &Grant<'_>,
    ) -> Result<Value, AwsError> {
        let principal = self.app.iam.identity(who.caller).entity_arn;
        call(&self.app, who.region, &principal, op.name(), &input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_the_models() {
        let served = super::super::handler::tests::check_operations::<NodeHostApi>();
        assert_eq!(served, crate::services::def(Service::NodeHost).model.operations.len());
    }

    #[test]
    fn targets() {
        let zones = |id: &str| (id == "nh-1").then(|| "us-east-1c".to_owned());
        let input = json!({"AvailabilityZone": "us-east-1b"});
        let t = target("1", "us-east-1", NodeHostOp::JoinNodeHost, &input, zones);
        assert_eq!(
            (t.action.as_str(), t.resource.as_str()),
            ("daxd:JoinNodeHost", "arn:aws:daxd:us-east-1:1:node-host/*")
        );
        assert_eq!(t.context, vec![(ZONE_KEY.to_owned(), "us-east-1b".to_owned())]);
        let t = target("1", "us-east-1", NodeHostOp::SendNodeHostHeartbeat, &json!({"NodeHostId": "nh-1"}), zones);
        assert_eq!(t.resource, "arn:aws:daxd:us-east-1:1:node-host/nh-1");
        assert_eq!(t.context, vec![(ZONE_KEY.to_owned(), "us-east-1c".to_owned())]);
        let t = target("1", "us-east-1", NodeHostOp::LeaveNodeHost, &json!({"NodeHostId": "nh-2"}), zones);
        assert!(t.context.is_empty(), "an unknown host has no zone");
        assert_eq!(target("1", "r", NodeHostOp::DescribeNodeHosts, &json!({}), zones).resource, "*");
        for op in [NodeHostOp::AuthorizeDaxClient, NodeHostOp::ForwardDynamoDbCall] {
            let t = target("1", "us-east-1", op, &json!({"NodeHostId": "nh-1"}), zones);
            assert_eq!(t.resource, "arn:aws:daxd:us-east-1:1:node-host/nh-1");
            assert_eq!(t.action, format!("daxd:{}", op.name()));
        }
    }
}
