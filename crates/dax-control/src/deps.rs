//! What DAX needs from outside its own state: the network it places nodes
//! in (EC2), the IAM check of the role it is handed, TCP ports for the
//! node listeners, and whether a node's listener serves. The binary implements these traits; this crate never
//! imports another domain crate.
//!
//! The calls are made while the DAX state lock is held, so that a change and
//! its side effects are one step: implementations must not call back into
//! [`crate::DaxControl`].

use std::sync::Arc;

use crate::DaxError;

/// A subnet, as DAX needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetInfo {
    pub id: String,
    pub vpc_id: String,
    pub az: String,
    /// The subnet has an IPv6 CIDR block besides its IPv4 one (dual stack).
    pub ipv6: bool,
}

/// A security group, as DAX needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SgInfo {
    pub id: String,
    pub vpc_id: String,
}

/// The region's EC2 network. The binary makes the mutating calls as the DAX
/// service-linked role, authorised against its policy; any failure (the role
/// is gone, a denial, an EC2 error) comes back as a [`DaxError`] that the
/// DAX operation returns unchanged.
pub trait Network: Send + Sync {
    /// A subnet of the account in `region`.
    fn subnet(&self, region: &str, id: &str) -> Option<SubnetInfo>;
    /// A security group of the account in `region`.
    fn security_group(&self, region: &str, id: &str) -> Option<SgInfo>;
    /// The subnets of the region's default VPC (empty when there is none):
    /// they make up the `default` subnet group.
    fn default_vpc_subnets(&self, region: &str) -> Vec<SubnetInfo>;
    /// The id of the `default` security group of `vpc_id`.
    fn default_security_group(&self, region: &str, vpc_id: &str) -> Option<String>;
    /// Create the network interface of one node; returns its id (`eni-…`).
    ///
    /// # Errors
    /// Whatever EC2 or authorisation says; the DAX call fails with it.
    fn create_node_interface(
        &self,
        region: &str,
        subnet_id: &str,
        security_group_ids: &[String],
        description: &str,
    ) -> Result<String, DaxError>;
    /// Delete a node's network interface. An interface that is already gone
    /// must count as deleted (`Ok`), so that a retried call converges.
    ///
    /// # Errors
    /// Whatever EC2 or authorisation says.
    fn delete_node_interface(&self, region: &str, eni_id: &str) -> Result<(), DaxError>;
    /// Replace the security groups of a node's interface.
    ///
    /// # Errors
    /// Whatever EC2 or authorisation says.
    fn modify_node_interface_groups(
        &self,
        region: &str,
        eni_id: &str,
        security_group_ids: &[String],
    ) -> Result<(), DaxError>;
}

/// IAM, as CreateCluster needs it. Creating the service-linked role is the
/// binary's business before it calls [`crate::DaxControl::create_cluster`].
pub trait Identity: Send + Sync {
    /// Whether `role_arn` (CreateCluster's `IamRoleArn`) names an existing
    /// role that trusts `dax.amazonaws.com`. `Err` carries the message of the
    /// `InvalidParameterValueException` CreateCluster then returns.
    ///
    /// # Errors
    /// The message to return.
    fn service_role_check(&self, role_arn: &str) -> Result<(), String>;
}

/// TCP ports for node listeners. The port is stored on the node, so it
/// survives restarts ([`crate::DaxControl::node_ports`] lists them for the
/// binary to bind again).
pub trait Ports: Send + Sync {
    /// A free port for node `node_id` of `cluster` in `region`.
    ///
    /// # Errors
    /// When no port is free; the DAX call fails with it.
    fn allocate(&self, region: &str, cluster: &str, node_id: &str) -> Result<u16, DaxError>;
    /// The node is gone (or was never made): its port may be reused.
    fn release(&self, port: u16);
}

/// One incarnation of a node's listener, as [`Readiness::serving`] asks about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeListener<'a> {
    pub region: &'a str,
    pub cluster_arn: &'a str,
    pub node_id: &'a str,
    pub port: u16,
    /// The node's reboot count: a listener of an earlier incarnation (before
    /// the last RebootNode) does not count.
    pub generation: u64,
    /// The node host it runs on (its id); `None`: inside the control.
    pub host: Option<&'a str>,
}

/// The data plane, as the lifecycles need it. A node leaves `creating` or
/// `rebooting` for `available` (and a `creating` cluster becomes `available`,
/// a `modifying` one settles) only once its provisioning delay has passed
/// *and* its listener serves: in AWS, `available` means the endpoints answer.
/// A node the process has not yet seen serving since it loaded the state
/// (a restart of daxd) shows `rebooting` until it does.
/// Nodes whose delay has passed are listed by
/// [`crate::DaxControl::node_ports`] with `listen` set, for the binary to start.
pub trait Readiness: Send + Sync {
    /// Whether this listener accepts connections and answers the DAX
    /// `endpoints` call now.
    fn serving(&self, node: &NodeListener<'_>) -> bool;
}

/// The collaborators, as the binary wires them.
#[derive(Clone)]
pub struct Deps {
    pub network: Arc<dyn Network>,
    pub identity: Arc<dyn Identity>,
    pub ports: Arc<dyn Ports>,
    pub readiness: Arc<dyn Readiness>,
}
