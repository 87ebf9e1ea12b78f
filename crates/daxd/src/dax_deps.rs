//! What the DAX control plane needs from the rest of daxd, wired here:
//! EC2 work done *as* `AWSServiceRoleForDAX` (authorized against its policy
//! like any other principal, and recorded as its activity), the IAM check of
//! a cluster's role, TCP ports for node listeners, and whether a node's
//! listener serves (asked of the fleet of listeners).

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex, OnceLock};

use dax_control::{
    DaxError, Identity, Network, NodeHosts, NodeListener, Ports, Readiness, ServingNode, SgInfo, SubnetInfo,
};
use dax_node::Fleet;
use ec2::{Ec2, NetworkInterfaceAttribute, NewNetworkInterface};
use iam::{Caller, Iam, Session, DAX_SERVICE};
use policy::Context;

/// The session name DAX's own calls carry.
pub const DAX_SESSION: &str = "dax";

pub fn slr_missing() -> DaxError {
    DaxError::ServiceLinkedRoleNotFoundFault("The specified service linked role (SLR) was not found.".to_owned())
}

/// Whether a node serves: a node inside the control if the fleet of node listeners says
/// so (until the data plane starts, `dax_host::start` sets the fleet, none serves); a node
/// on a node host if its host is `active` and its last heartbeat said so.
pub struct FleetReadiness {
    pub fleet: OnceLock<Arc<Fleet>>,
    pub hosts: Arc<NodeHosts>,
}

impl Readiness for FleetReadiness {
    fn serving(&self, node: &NodeListener<'_>) -> bool {
        match node.host {
            Some(host) => self.hosts.serves(
                node.region,
                host,
                &ServingNode {
                    cluster_arn: node.cluster_arn.to_owned(),
                    node_id: node.node_id.to_owned(),
                    port: node.port,
                    generation: node.generation,
                },
            ),
            None => {
                self.fleet.get().is_some_and(|f| f.serving(node.cluster_arn, node.node_id, node.port, node.generation))
            }
        }
    }
}

/// EC2, as DAX reaches it through its service-linked role.
pub struct SlrNetwork {
    pub iam: Arc<Iam>,
    pub ec2: Arc<Ec2>,
}

impl SlrNetwork {
    /// Authorize `ec2:<action>` for the DAX service-linked role's session and
    /// record the use (Access Advisor, `RoleLastUsed`).
    fn act(&self, region: &str, action: &str, resource: &str) -> Result<(), DaxError> {
        let role = self.iam.service_linked_role(DAX_SERVICE).map_err(|_| slr_missing())?;
        let caller = Caller::Session(Session::internal(&role, DAX_SESSION));
        let mut ctx = Context::new();
        ctx.set("aws:RequestedRegion", region.to_owned());
        ctx.set("aws:PrincipalArn", role.arn.clone());
        ctx.set("aws:PrincipalAccount", self.iam.account().to_owned());
        ctx.set_bool("aws:ViaAWSService", false);
        // AWS services call each other over HTTPS endpoints.
        ctx.set_bool("aws:SecureTransport", true);
        let full = format!("ec2:{action}");
        let outcome = self.iam.authorize(&caller, &full, resource, &ctx, &[]);
        if !outcome.is_allowed() {
            let who = self.iam.identity(&caller);
            return Err(DaxError::InvalidVPCNetworkStateFault(policy::denial_message(
                &who.arn, &full, resource, &outcome,
            )));
        }
        self.iam.record_access(&role.arn, "ec2", action, region);
        self.iam.stamp_role_used(&role.arn, region);
        Ok(())
    }

    /// A read made as the role when it exists; reads never fail for lack of it.
    fn look(&self, region: &str, action: &str) {
        if self.iam.service_linked_role(DAX_SERVICE).is_ok() {
            let _ = self.act(region, action, "*");
        }
    }

    fn arn(&self, region: &str, kind: &str, id: &str) -> String {
        format!("arn:aws:ec2:{region}:{}:{kind}/{id}", self.ec2.account())
    }
}

fn ec2_error(e: &ec2::Ec2Error) -> DaxError {
    match e.code() {
        c if c.starts_with("InvalidSubnet") => DaxError::InvalidSubnet(e.to_string()),
        c if c.starts_with("InvalidGroup") => DaxError::InvalidParameterValueException(e.to_string()),
        _ => DaxError::InvalidVPCNetworkStateFault(e.to_string()),
    }
}

impl Network for SlrNetwork {
    fn subnet(&self, region: &str, id: &str) -> Option<SubnetInfo> {
        self.look(region, "DescribeSubnets");
        self.ec2.subnet(region, id).map(|s| SubnetInfo {
            id: s.subnet_id,
            vpc_id: s.vpc_id,
            az: s.availability_zone,
            ipv6: false,
        })
    }

    fn security_group(&self, region: &str, id: &str) -> Option<SgInfo> {
        self.look(region, "DescribeSecurityGroups");
        self.ec2.security_group(region, id).map(|g| SgInfo { id: g.group_id, vpc_id: g.vpc_id })
    }

    fn default_vpc_subnets(&self, region: &str) -> Vec<SubnetInfo> {
        self.look(region, "DescribeVpcs");
        let Some(vpc) = self.ec2.default_vpc(region) else { return Vec::new() };
        let filters =
            [ec2::Filter::new("vpc-id", &[vpc.vpc_id.as_str()]), ec2::Filter::new("default-for-az", &["true"])];
        self.ec2
            .describe_subnets(region, &[], &filters, &ec2::Paging::default())
            .map(|p| p.items)
            .unwrap_or_default()
            .into_iter()
            .map(|s| SubnetInfo { id: s.subnet_id, vpc_id: s.vpc_id, az: s.availability_zone, ipv6: false })
            .collect()
    }

    fn default_security_group(&self, region: &str, vpc_id: &str) -> Option<String> {
        self.look(region, "DescribeSecurityGroups");
        self.ec2.default_security_group(region, vpc_id).map(|g| g.group_id)
    }

    fn create_node_interface(
        &self,
        region: &str,
        subnet_id: &str,
        security_group_ids: &[String],
        description: &str,
    ) -> Result<String, DaxError> {
        self.act(region, "CreateNetworkInterface", &self.arn(region, "subnet", subnet_id))?;
        let eni = self
            .ec2
            .create_network_interface(
                region,
                NewNetworkInterface {
                    subnet_id: subnet_id.to_owned(),
                    description: Some(description.to_owned()),
                    security_group_ids: security_group_ids.to_vec(),
                    private_ip_address: None,
                    requester_managed: true,
                    tags: Vec::new(),
                    client_token: None,
                },
            )
            .map_err(|e| ec2_error(&e))?;
        Ok(eni.network_interface_id)
    }

    fn delete_node_interface(&self, region: &str, eni_id: &str) -> Result<(), DaxError> {
        self.act(region, "DeleteNetworkInterface", &self.arn(region, "network-interface", eni_id))?;
        match self.ec2.delete_network_interface_as_requester(region, eni_id) {
            Ok(()) => Ok(()),
            Err(e) if e.code() == "InvalidNetworkInterfaceID.NotFound" => Ok(()),
            Err(e) => Err(ec2_error(&e)),
        }
    }

    fn modify_node_interface_groups(
        &self,
        region: &str,
        eni_id: &str,
        security_group_ids: &[String],
    ) -> Result<(), DaxError> {
        self.act(region, "ModifyNetworkInterfaceAttribute", &self.arn(region, "network-interface", eni_id))?;
        self.ec2
            .modify_network_interface_attribute(
                region,
                eni_id,
                NetworkInterfaceAttribute::SecurityGroups(security_group_ids.to_vec()),
            )
            .map(|_| ())
            .map_err(|e| ec2_error(&e))
    }
}

/// IAM's answer to "may DAX use this role to reach DynamoDB?".
pub struct RoleCheck {
    pub iam: Arc<Iam>,
}

impl Identity for RoleCheck {
    fn service_role_check(&self, role_arn: &str) -> Result<(), String> {
        let role = self.iam.role_by_arn(role_arn).ok_or_else(|| format!("The IAM role {role_arn} does not exist."))?;
        let dax = policy::Principal::service(DAX_SERVICE);
        let outcome = self.iam.evaluate_with(
            &dax,
            "sts:AssumeRole",
            &role.arn,
            &Context::new(),
            &iam::CallerPolicies::default(),
            &[role.assume_role_policy.as_str()],
        );
        if outcome.is_allowed() {
            Ok(())
        } else {
            Err(format!(
                "The IAM role {role_arn} cannot be assumed by {DAX_SERVICE}: its trust policy does not allow it."
            ))
        }
    }
}

/// Node ports from a configured range, each checked free on the advertise
/// host when handed out.
pub struct PortPool {
    range: RangeInclusive<u16>,
    host: String,
    used: Mutex<BTreeSet<u16>>,
}

impl PortPool {
    #[must_use]
    pub fn new(range: RangeInclusive<u16>, host: &str) -> Self {
        PortPool { range, host: host.to_owned(), used: Mutex::new(BTreeSet::new()) }
    }

    /// Ports already held by nodes (after a restart).
    pub fn mark_used(&self, ports: impl IntoIterator<Item = u16>) {
        self.used.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend(ports);
    }
}

impl Ports for PortPool {
    fn allocate(&self, _region: &str, _cluster: &str, _node_id: &str) -> Result<u16, DaxError> {
        let mut used = self.used.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for port in self.range.clone() {
            if used.contains(&port) {
                continue;
            }
            if TcpListener::bind((self.host.as_str(), port)).is_ok() {
                used.insert(port);
                return Ok(port);
            }
        }
        Err(DaxError::InsufficientClusterCapacityFault(format!(
            "No free node port is left in the range {}-{}.",
            self.range.start(),
            self.range.end()
        )))
    }

    fn release(&self, port: u16) {
        self.used.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&port);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use base::{Env, ManualClock, SeqIds};
    use state::Store;

    use super::*;

    fn network() -> SlrNetwork {
        let store = Arc::new(Store::in_memory().expect("store"));
        let env = Env { clock: Arc::new(ManualClock::at(1_700_000_000)), ids: Arc::new(SeqIds::default()) };
        SlrNetwork {
            iam: Arc::new(Iam::open("123456789012", env.clone(), Arc::clone(&store)).expect("iam")),
            ec2: Arc::new(Ec2::open("123456789012", env, store).expect("ec2")),
        }
    }

    #[test]
    fn ec2_work_needs_the_service_linked_role() {
        let net = network();
        let subnet = net.default_vpc_subnets("us-east-1")[0].id.clone();
        let e = net.create_node_interface("us-east-1", &subnet, &[], "d").unwrap_err();
        assert_eq!(e.code(), "ServiceLinkedRoleNotFoundFault");
        assert_eq!(
            net.delete_node_interface("us-east-1", "eni-1").unwrap_err().code(),
            "ServiceLinkedRoleNotFoundFault"
        );

        let role = net.iam.create_service_linked_role(DAX_SERVICE, None, None).expect("slr");
        let eni = net.create_node_interface("us-east-1", &subnet, &[], "d").expect("eni");
        assert!(net.iam.get_role(&role.name).expect("role").last_used.is_some());
        let used: Vec<String> = net.iam.accesses(&role.arn).into_iter().map(|a| a.action).collect();
        assert!(used.contains(&"CreateNetworkInterface".to_owned()), "{used:?}");
        net.delete_node_interface("us-east-1", &eni).expect("delete");
        net.delete_node_interface("us-east-1", &eni).expect("already gone counts as deleted");
    }

    #[test]
    fn only_the_policy_actions_are_possible() {
        let net = network();
        net.iam.create_service_linked_role(DAX_SERVICE, None, None).expect("slr");
        // DAXServiceRolePolicy has no ec2:CreateVpc: acting outside it is denied.
        let e = net.act("us-east-1", "CreateVpc", "*").unwrap_err();
        assert!(e.message().contains("is not authorized to perform: ec2:CreateVpc"), "{e}");
        net.act("us-east-1", "DescribeVpcs", "*").expect("allowed by the role's policy");
    }

    #[test]
    fn ports_skip_used_and_taken_ones() {
        let held = TcpListener::bind("127.0.0.1:0").expect("bind");
        let taken = held.local_addr().expect("addr").port();
        let pool = PortPool::new(taken..=taken.saturating_add(2), "127.0.0.1");
        pool.mark_used([taken.saturating_add(1)]);
        let got = pool.allocate("r", "c", "n").expect("port");
        assert_eq!(got, taken.saturating_add(2));
        assert_eq!(pool.allocate("r", "c", "n").unwrap_err().code(), "InsufficientClusterCapacityFault");
        pool.release(got);
        assert_eq!(pool.allocate("r", "c", "n").expect("again"), got);
    }
}
