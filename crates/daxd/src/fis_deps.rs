//! What the Fault Injection Service needs from the rest of daxd, wired here: the resources
//! its targets resolve to (DAX clusters and nodes, EC2 subnets, with their tags), the
//! state of a stop condition's CloudWatch alarm, and the faults themselves: each action is
//! authorized as the experiment's role (which must trust `fis.amazonaws.com`) through IAM's
//! policy engine, like any role session, then made to happen on the fleet of DAX node
//! listeners. A stopped node and a forced failover are recorded in the cluster's events
//! (DescribeEvents), where AWS would record the real thing.

use std::collections::BTreeMap;
use std::sync::Arc;

use base::page::Paging;
use dax_control::{DaxControl, DescribeClustersInput};
use dax_node::{Fault, FaultError, Fleet};
use ec2::Ec2;
use fis::catalog::{DAX_CLUSTER, DAX_NODE, EC2_SUBNET};
use fis::{ActionFailure, ActionRun, ErrorCode, Resource};
use iam::{Caller, Iam, Session};
use policy::Context;

use crate::api::cloudwatch::CloudWatches;

/// The fleet of DAX node listeners, once the data plane runs (`None` before).
pub type FleetHandle = Arc<dyn Fn() -> Option<Arc<Fleet>> + Send + Sync>;

/// The service principal an experiment's role must trust.
pub use iam::FIS_SERVICE;

/// The resources targets resolve to.
pub struct FisTargets {
    pub dax: Arc<DaxControl>,
    pub ec2: Arc<Ec2>,
    pub fleet: FleetHandle,
}

/// Every DAX cluster of a region (every page).
fn clusters(dax: &DaxControl, region: &str) -> Vec<dax_control::Cluster> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let input = DescribeClustersInput {
            cluster_names: Vec::new(),
            paging: Paging { max_results: Some(100), next_token: token.take() },
        };
        let Ok(page) = dax.describe_clusters(region, &input) else { break };
        out.extend(page.items);
        match page.next_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    out
}

fn cluster_tags(dax: &DaxControl, region: &str, arn: &str) -> BTreeMap<String, String> {
    dax.list_tags(region, arn, None)
        .map(|p| p.items.into_iter().map(|t| (t.key, t.value)).collect())
        .unwrap_or_default()
}

/// A node's ARN: its cluster's ARN, then `/<node id>`.
fn node_arn(cluster_arn: &str, node_id: &str) -> String {
    format!("{cluster_arn}/{node_id}")
}

/// `(cluster ARN, node id)` of a node ARN.
fn split_node(arn: &str) -> Option<(&str, &str)> {
    let (cluster, node) = arn.rsplit_once('/')?;
    cluster.contains(":cache/").then_some((cluster, node))
}

impl fis::Targets for FisTargets {
    fn resources(&self, account: &str, region: &str, resource_type: &str) -> Vec<Resource> {
        match resource_type {
            DAX_CLUSTER => clusters(&self.dax, region)
                .into_iter()
                .map(|c| Resource {
                    tags: cluster_tags(&self.dax, region, &c.cluster_arn),
                    attributes: BTreeMap::from([("Status".to_owned(), c.status.as_str().to_owned())]),
                    arn: c.cluster_arn,
                })
                .collect(),
            DAX_NODE => {
                let fleet = (self.fleet)();
                let mut out = Vec::new();
                for c in clusters(&self.dax, region) {
                    let tags = cluster_tags(&self.dax, region, &c.cluster_arn);
                    let leader = fleet
                        .as_ref()
                        .and_then(|f| f.roster(&c.cluster_arn))
                        .and_then(|(nodes, _)| nodes.into_iter().find(|n| n.leader).map(|n| n.node_id));
                    for n in c.nodes.iter().flatten() {
                        let role = if leader.as_deref() == Some(n.node_id.as_str()) { "primary" } else { "replica" };
                        let mut attributes = BTreeMap::from([
                            ("State.Role".to_owned(), role.to_owned()),
                            ("NodeStatus".to_owned(), n.node_status.as_str().to_owned()),
                        ]);
                        if let Some(az) = &n.availability_zone {
                            attributes.insert("AvailabilityZone".to_owned(), az.clone());
                        }
                        out.push(Resource {
                            arn: node_arn(&c.cluster_arn, &n.node_id),
                            tags: tags.clone(),
                            attributes,
                        });
                    }
                }
                out
            }
            EC2_SUBNET => {
                let paging = Paging { max_results: None, next_token: None };
                let subnets = self.ec2.describe_subnets(region, &[], &[], &paging).map(|p| p.items).unwrap_or_default();
                subnets
                    .into_iter()
                    .map(|s| Resource {
                        arn: format!("arn:aws:ec2:{region}:{account}:subnet/{}", s.subnet_id),
                        tags: s.tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect(),
                        attributes: BTreeMap::from([
                            ("AvailabilityZone".to_owned(), s.availability_zone.clone()),
                            ("VpcId".to_owned(), s.vpc_id.clone()),
                            ("SubnetId".to_owned(), s.subnet_id.clone()),
                        ]),
                    })
                    .collect()
            }
            _ => Vec::new(),
        }
    }
}

/// The state of stop-condition alarms, from CloudWatch.
pub struct FisAlarms {
    pub cloudwatch: Arc<CloudWatches>,
}

impl fis::Alarms for FisAlarms {
    fn state(&self, alarm_arn: &str) -> Option<String> {
        // arn:aws:cloudwatch:<region>:<account>:alarm:<name>
        let mut parts = alarm_arn.splitn(7, ':');
        let (region, name) = (parts.nth(3)?, parts.nth(2)?);
        let cw = self.cloudwatch.region(region).ok()?;
        let filter = cloudwatch::alarms::AlarmFilter {
            names: vec![name.to_owned()],
            ..cloudwatch::alarms::AlarmFilter::default()
        };
        let page = cw.describe_alarms(&filter, None, None).ok()?;
        page.items.into_iter().find(|a| a.arn == alarm_arn).map(|a| a.state.name().to_owned())
    }
}

/// The faults, authorized as the experiment's role.
pub struct FisActions {
    pub iam: Arc<Iam>,
    pub dax: Arc<DaxControl>,
    pub ec2: Arc<Ec2>,
    pub fleet: FleetHandle,
    /// The faults of nodes on node hosts, which their hosts apply.
    pub hosted: Arc<crate::hosted_faults::HostedFaults>,
}

/// What a node action puts its nodes in, from its parameters.
fn node_fault(run: &ActionRun) -> Option<Fault> {
    let number = |k: &str| run.parameters.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let percent = || u8::try_from(number("percentage").min(100)).unwrap_or(100);
    Some(match run.action_id.as_str() {
        STOP_NODE => Fault::Stop,
        "daxd:dax:stall-node" => Fault::Stall,
        "daxd:dax:add-latency" => Fault::Latency { millis: number("latencyMilliseconds") },
        "daxd:dax:throttle-requests" => Fault::Throttle { percent: percent() },
        "daxd:dax:fail-requests" => Fault::Fail { percent: percent() },
        "daxd:dax:pause-replication" => Fault::PauseReplication,
        "daxd:dax:slow-backend" => Fault::BackendLatency { millis: number("latencyMilliseconds") },
        "daxd:dax:fail-backend" => Fault::BackendFail { percent: percent() },
        "aws:network:disrupt-connectivity" => {
            // `all`: connections refused; `availability-zone`: blackholed.
            if run.parameters.get("scope").is_some_and(|s| s == "availability-zone") {
                Fault::Stall
            } else {
                Fault::Stop
            }
        }
        _ => return None,
    })
}

/// The IAM actions an FIS action needs of the experiment's role, on which resources of its
/// targets: `(IAM action, resource)`.
pub fn permissions(run: &ActionRun) -> Vec<(String, String)> {
    let targets: Vec<&String> = run.targets.values().flatten().collect();
    let cluster_of = |arn: &str| split_node(arn).map_or_else(|| arn.to_owned(), |(c, _)| c.to_owned());
    let on = |action: &str, arns: Vec<String>| arns.into_iter().map(|a| (action.to_owned(), a)).collect::<Vec<_>>();
    match run.action_id.as_str() {
        "aws:fis:wait" => Vec::new(),
        // Stopping a node is what DAX's own RebootNode does to it, on its cluster.
        STOP_NODE => {
            let mut clusters: Vec<String> = targets.iter().map(|a| cluster_of(a)).collect();
            clusters.dedup();
            on("dax:RebootNode", clusters)
        }
        "aws:network:disrupt-connectivity" => {
            let subnets: Vec<String> = targets.iter().map(|a| (*a).clone()).collect();
            let mut out = on("ec2:DescribeSubnets", vec!["*".to_owned()]);
            out.extend(on("ec2:CreateNetworkAclEntry", subnets.clone()));
            out.extend(on("ec2:ReplaceNetworkAclAssociation", subnets));
            out
        }
        other => {
            let name = other.strip_prefix("daxd:dax:").unwrap_or(other);
            let pascal: String = name
                .split('-')
                .map(|w| {
                    let mut c = w.chars();
                    c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
                })
                .collect();
            on(&format!("daxd:{pascal}"), targets.iter().map(|a| (*a).clone()).collect())
        }
    }
}

const STOP_NODE: &str = "daxd:dax:stop-node";

// The events a fault leaves in DescribeEvents, as AWS would record the real thing. AWS
// publishes no DAX event message for a failover or a node's recovery; these are
// ElastiCache's, verified in its API reference (TestFailover lists the events to look
// for: "Failover from primary node <primary-node-id> to replica node <node-id> completed",
// "Recovering cache nodes <node-id>", "Finished recovery for cache nodes <node-id>").
// That DAX words them the same is **unverified**.

/// A forced primary failover, from `old` (when the cluster had a primary) to `new`. With no
/// primary before, the verified wording's `from primary node …` part is left out (daxd's
/// own shortening).
fn failover_message(old: Option<&str>, new: &str) -> String {
    match old {
        Some(old) => format!("Failover from primary node {old} to replica node {new} completed"),
        None => format!("Failover to replica node {new} completed"),
    }
}

/// A node stopped by `daxd:dax:stop-node`: DAX recovers a node that stops answering.
fn recovering_message(node: &str) -> String {
    format!("Recovering cache nodes {node}")
}

/// The stopped node listens again.
fn recovered_message(node: &str) -> String {
    format!("Finished recovery for cache nodes {node}")
}

impl FisActions {
    /// Record `message` on the cluster's events, dated by daxd's clock. The fault has
    /// happened whether or not the event could be written: a failure is logged, not
    /// returned.
    fn event(&self, cluster_arn: &str, message: &str) {
        if let Err(e) = self.dax.record_cluster_event(cluster_arn, message) {
            tracing::warn!(cluster = %cluster_arn, %message, error = %e, "recording a DAX event of an FIS action");
        }
    }

    fn fleet(&self) -> Result<Arc<Fleet>, String> {
        (self.fleet)().ok_or_else(|| "The DAX data plane is not running.".to_owned())
    }

    /// The experiment's role as a session, once its trust policy is checked.
    fn session(&self, run: &ActionRun) -> Result<(Caller, String), String> {
        let role = self.iam.role_by_arn(&run.role_arn).ok_or_else(|| {
            format!("The role {} does not exist or cannot be assumed by {FIS_SERVICE}.", run.role_arn)
        })?;
        let service = policy::Principal::service(FIS_SERVICE);
        // What FIS's call to AssumeRole makes knowable: the trust policy AWS recommends
        // conditions on them.
        let mut ctx = Context::new();
        ctx.set("aws:SourceAccount", run.account.clone());
        ctx.set(
            "aws:SourceArn",
            format!("arn:aws:fis:{}:{}:experiment/{}", run.region, run.account, run.experiment_id),
        );
        let trusted = self.iam.evaluate_with(
            &service,
            "sts:AssumeRole",
            &role.arn,
            &ctx,
            &iam::CallerPolicies::default(),
            &[role.assume_role_policy.as_str()],
        );
        if !trusted.is_allowed() {
            return Err(format!("The role {} does not exist or cannot be assumed by {FIS_SERVICE}.", run.role_arn));
        }
        Ok((Caller::Session(Session::internal(&role, &run.experiment_id)), role.arn))
    }

    /// Authorize every permission of the action as the role; record the role's use.
    fn authorize(&self, run: &ActionRun) -> Result<(), String> {
        // The role is assumed for every action, even one that needs no permission.
        let (caller, role_arn) = self.session(run)?;
        let needed = permissions(run);
        if needed.is_empty() {
            return Ok(());
        }
        let mut ctx = Context::new();
        ctx.set("aws:RequestedRegion", run.region.clone());
        ctx.set("aws:PrincipalArn", role_arn.clone());
        ctx.set("aws:PrincipalAccount", self.iam.account().to_owned());
        ctx.set_bool("aws:ViaAWSService", false);
        // AWS services call each other over HTTPS endpoints.
        ctx.set_bool("aws:SecureTransport", true);
        for (action, resource) in &needed {
            let outcome = self.iam.authorize(&caller, action, resource, &ctx, &[]);
            if !outcome.is_allowed() {
                let who = self.iam.identity(&caller);
                return Err(policy::denial_message(&who.arn, action, resource, &outcome));
            }
        }
        for (action, _) in &needed {
            if let Some((service, op)) = action.split_once(':') {
                self.iam.record_access(&role_arn, service, op, &run.region);
            }
        }
        self.iam.stamp_role_used(&role_arn, &run.region);
        Ok(())
    }

    /// The `(cluster ARN, node id)` the action acts on: its node targets, or the DAX nodes
    /// whose network interfaces are in its subnets.
    fn nodes_of(&self, run: &ActionRun) -> Vec<(String, String)> {
        if run.action_id == "aws:network:disrupt-connectivity" {
            let subnets: Vec<&str> =
                run.targets.values().flatten().filter_map(|a| a.rsplit_once("subnet/").map(|(_, id)| id)).collect();
            let enis = self.ec2.network_interfaces_with_description_prefix(&run.region, "DAX cluster ");
            let mut out = Vec::new();
            for c in clusters(&self.dax, &run.region) {
                for n in c.nodes.iter().flatten() {
                    let description = dax_control::node_interface_description(&c.cluster_name, &n.node_id);
                    if enis.iter().any(|e| e.description == description && subnets.contains(&e.subnet_id.as_str())) {
                        out.push((c.cluster_arn.clone(), n.node_id.clone()));
                    }
                }
            }
            return out;
        }
        run.targets
            .values()
            .flatten()
            .filter_map(|a| split_node(a).map(|(c, n)| (c.to_owned(), n.to_owned())))
            .collect()
    }
}

/// An action the data plane refused, as the experiment's error: a target gone is an
/// `InvalidTarget`, a parameter or a cluster that cannot take the fault a
/// `ConfigurationFailure`.
fn fault_failure(e: &FaultError) -> ActionFailure {
    let code = match e {
        FaultError::ClusterNotFound(_) | FaultError::NodeNotFound(_) => ErrorCode::InvalidTarget,
        FaultError::InvalidParameter(_) | FaultError::NoFailoverTarget(_) => ErrorCode::ConfigurationFailure,
    };
    ActionFailure::new(code, e.to_string())
}

impl fis::Actions for FisActions {
    fn start(&self, run: &ActionRun) -> Result<(), ActionFailure> {
        self.authorize(run).map_err(|reason| ActionFailure::new(ErrorCode::AuthorizationFailure, reason))?;
        let internal = |reason: String| ActionFailure::new(ErrorCode::InternalFailure, reason);
        match run.action_id.as_str() {
            "aws:fis:wait" => Ok(()),
            "daxd:dax:failover-primary" => {
                let fleet = self.fleet().map_err(internal)?;
                for cluster in run.targets.values().flatten() {
                    let old = fleet
                        .roster(cluster)
                        .and_then(|(nodes, _)| nodes.into_iter().find(|n| n.leader).map(|n| n.node_id));
                    let new = fleet.failover(cluster).map_err(|e| fault_failure(&e))?;
                    self.event(cluster, &failover_message(old.as_deref(), &new));
                }
                Ok(())
            }
            _ => {
                let fault = node_fault(run).ok_or_else(|| {
                    ActionFailure::new(ErrorCode::ConfigurationFailure, format!("daxd cannot run {}", run.action_id))
                })?;
                let fleet = self.fleet().map_err(internal)?;
                let nodes = self.nodes_of(run);
                for (i, (cluster, node)) in nodes.iter().enumerate() {
                    let injected = if self.hosted.is_hosted(cluster, node) {
                        self.hosted.inject(cluster, node, fault)
                    } else {
                        fleet.inject(cluster, node, fault)
                    };
                    if let Err(e) = injected {
                        // What was already injected ends: a failed action leaves no fault.
                        for (c, n) in &nodes[..i] {
                            if !self.hosted.clear(c, n, fault.kind()) {
                                let _ = fleet.clear(c, n, fault.kind());
                            }
                        }
                        return Err(fault_failure(&e));
                    }
                }
                if run.action_id == STOP_NODE {
                    for (cluster, node) in &nodes {
                        self.event(cluster, &recovering_message(node));
                    }
                }
                Ok(())
            }
        }
    }

    fn stop(&self, run: &ActionRun) {
        let Some(kind) = node_fault(run).map(|f| f.kind()) else { return };
        let Ok(fleet) = self.fleet() else { return };
        for (cluster, node) in self.nodes_of(run) {
            let cleared =
                if self.hosted.clear(&cluster, &node, kind) { Ok(true) } else { fleet.clear(&cluster, &node, kind) };
            match cleared {
                // The stopped node listens again: DAX would have recovered it.
                Ok(true) if run.action_id == STOP_NODE => self.event(&cluster, &recovered_message(&node)),
                Ok(_) => {}
                // A node gone since (deleted, or daxd restarted) has no fault left to end.
                Err(e) => tracing::debug!(%cluster, %node, error = %e, "ending an FIS fault"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use dax_node::FaultKind;

    use super::*;

    fn run(action: &str, targets: &[&str], params: &[(&str, &str)]) -> ActionRun {
        ActionRun {
            experiment_id: "EXP1".into(),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            role_arn: "arn:aws:iam::123456789012:role/fis".into(),
            action_name: "a".into(),
            action_id: action.into(),
            parameters: params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            targets: BTreeMap::from([("Nodes".to_owned(), targets.iter().map(|s| (*s).to_owned()).collect())]),
        }
    }

    const NODE: &str = "arn:aws:dax:us-east-1:123456789012:cache/c1/c1-a";

    #[test]
    fn each_daxd_action_has_a_fault_and_a_permission() {
        for spec in fis::catalog::ACTIONS {
            let r = run(spec.id, &[NODE], &[("percentage", "50"), ("latencyMilliseconds", "20")]);
            let perms = permissions(&r);
            match spec.id {
                "aws:fis:wait" => assert!(perms.is_empty() && node_fault(&r).is_none()),
                "daxd:dax:failover-primary" => assert_eq!(perms[0].0, "daxd:FailoverPrimary"),
                _ => {
                    assert!(!perms.is_empty(), "{}", spec.id);
                    assert!(FaultKind::ALL.contains(&node_fault(&r).unwrap().kind()), "{}", spec.id);
                }
            }
        }
        let r = run("daxd:dax:stall-node", &[NODE], &[]);
        assert_eq!(permissions(&r), [("daxd:StallNode".to_owned(), NODE.to_owned())]);
        let r = run("daxd:dax:stop-node", &[NODE, "arn:aws:dax:us-east-1:123456789012:cache/c1/c1-b"], &[]);
        assert_eq!(
            permissions(&r),
            [("dax:RebootNode".to_owned(), "arn:aws:dax:us-east-1:123456789012:cache/c1".to_owned())]
        );
        let r = run("daxd:dax:throttle-requests", &[NODE], &[("percentage", "30")]);
        assert_eq!(node_fault(&r), Some(Fault::Throttle { percent: 30 }));
        let r = run("aws:network:disrupt-connectivity", &[], &[("scope", "availability-zone")]);
        assert_eq!(node_fault(&r), Some(Fault::Stall));
        assert_eq!(split_node(NODE), Some(("arn:aws:dax:us-east-1:123456789012:cache/c1", "c1-a")));
        assert_eq!(split_node("arn:aws:ec2:us-east-1:1:subnet/s-1"), None);
    }

    #[test]
    fn fault_events_use_elasticaches_wording() {
        assert_eq!(
            failover_message(Some("c1-a"), "c1-b"),
            "Failover from primary node c1-a to replica node c1-b completed"
        );
        assert_eq!(failover_message(None, "c1-b"), "Failover to replica node c1-b completed");
        assert_eq!(recovering_message("c1-c"), "Recovering cache nodes c1-c");
        assert_eq!(recovered_message("c1-c"), "Finished recovery for cache nodes c1-c");
    }
}
