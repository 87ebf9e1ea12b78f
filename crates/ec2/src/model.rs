//! The domain structs EC2 calls take and return.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

impl Tag {
    #[must_use]
    pub fn new(key: &str, value: &str) -> Self {
        Tag { key: key.to_owned(), value: value.to_owned() }
    }
}

pub use base::{Page, Paging};

/// An `AvailabilityZone` of `DescribeAvailabilityZones`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvailabilityZone {
    pub zone_name: String,
    pub zone_id: String,
    /// `available`.
    pub state: String,
    pub region_name: String,
    pub group_name: String,
    pub network_border_group: String,
    /// `availability-zone`.
    pub zone_type: String,
    /// `opt-in-not-required`.
    pub opt_in_status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vpc {
    pub vpc_id: String,
    pub cidr_block: String,
    /// The association id of the primary CIDR (`cidrBlockAssociationSet`).
    pub cidr_block_association_id: String,
    /// `available`.
    pub state: String,
    pub is_default: bool,
    pub owner_id: String,
    pub dhcp_options_id: String,
    /// `default`.
    pub instance_tenancy: String,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    pub subnet_id: String,
    pub vpc_id: String,
    pub cidr_block: String,
    pub availability_zone: String,
    pub availability_zone_id: String,
    /// Usable addresses (the block less EC2's five reserved) not held by a network interface.
    pub available_ip_address_count: u32,
    pub default_for_az: bool,
    pub map_public_ip_on_launch: bool,
    /// `available`.
    pub state: String,
    pub owner_id: String,
    pub subnet_arn: String,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// The other side of a security group rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Peer {
    /// An IPv4 block in canonical form.
    Cidr { cidr: String },
    /// An IPv6 block in canonical form.
    Ipv6 { cidr: String },
    /// Another security group (or the group itself).
    Group { group_id: String, user_id: String },
}

impl Peer {
    fn label(&self) -> &str {
        match self {
            Peer::Cidr { cidr } | Peer::Ipv6 { cidr } => cidr,
            Peer::Group { group_id, .. } => group_id,
        }
    }
}

/// One rule of a security group (`securityGroupRuleSet` item).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroupRule {
    /// `sgr-` + 17 hex.
    pub rule_id: String,
    pub group_id: String,
    pub is_egress: bool,
    /// `tcp`, `udp`, `icmp`, `icmpv6`, `-1` (all) or a protocol number.
    pub ip_protocol: String,
    /// Absent for `-1` and protocols without ports.
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    pub peer: Peer,
    pub description: Option<String>,
}

impl SecurityGroupRule {
    /// Whether two rules allow the same traffic (descriptions aside).
    pub(crate) fn same_as(&self, other: &SecurityGroupRule) -> bool {
        self.is_egress == other.is_egress
            && self.ip_protocol == other.ip_protocol
            && self.from_port == other.from_port
            && self.to_port == other.to_port
            && self.peer == other.peer
    }

    /// EC2's spelling of a rule in `InvalidPermission.Duplicate`:
    /// `peer: 0.0.0.0/0, TCP, from port: 8111, to port: 8111, ALLOW`.
    #[must_use]
    pub fn describe(&self) -> String {
        let peer = self.peer.label();
        let port = |p: Option<i32>| p.unwrap_or(-1);
        match self.ip_protocol.as_str() {
            "-1" => format!("peer: {peer}, ALL, ALLOW"),
            "icmp" | "icmpv6" => format!(
                "peer: {peer}, {}, type: {}, code: {}, ALLOW",
                self.ip_protocol.to_uppercase(),
                port(self.from_port),
                port(self.to_port)
            ),
            "tcp" | "udp" => format!(
                "peer: {peer}, {}, from port: {}, to port: {}, ALLOW",
                self.ip_protocol.to_uppercase(),
                port(self.from_port),
                port(self.to_port)
            ),
            other => format!("peer: {peer}, {other}, ALLOW"),
        }
    }
}

/// An IPv4 source or destination of an [`IpPermission`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IpRange {
    pub cidr: String,
    pub description: Option<String>,
}

/// A security-group source or destination of an [`IpPermission`]
/// (`UserIdGroupPair`). On input either `group_id` or `group_name` names
/// the group; on output `group_id` and `user_id` are set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupPair {
    pub group_id: Option<String>,
    pub group_name: Option<String>,
    pub user_id: Option<String>,
    pub description: Option<String>,
}

/// EC2's `IpPermission`: one protocol and port range, with its peers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IpPermission {
    pub ip_protocol: String,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    pub ip_ranges: Vec<IpRange>,
    pub ipv6_ranges: Vec<IpRange>,
    pub groups: Vec<GroupPair>,
}

impl IpPermission {
    /// A TCP permission for one port from IPv4 blocks.
    #[must_use]
    pub fn tcp(port: i32, cidrs: &[&str]) -> Self {
        IpPermission {
            ip_protocol: "tcp".to_owned(),
            from_port: Some(port),
            to_port: Some(port),
            ip_ranges: cidrs.iter().map(|c| IpRange { cidr: (*c).to_owned(), description: None }).collect(),
            ..IpPermission::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroup {
    pub group_id: String,
    pub group_name: String,
    pub description: String,
    pub vpc_id: String,
    pub owner_id: String,
    pub arn: String,
    /// Ingress and egress rules, in the order they were added.
    #[serde(default)]
    pub rules: Vec<SecurityGroupRule>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl SecurityGroup {
    /// Whether this is its VPC's `default` group.
    #[must_use]
    pub fn is_default(&self) -> bool {
        self.group_name == "default"
    }

    /// `ipPermissions`: the ingress rules grouped by protocol and ports.
    #[must_use]
    pub fn ip_permissions(&self) -> Vec<IpPermission> {
        group_rules(self.rules.iter().filter(|r| !r.is_egress))
    }

    /// `ipPermissionsEgress`.
    #[must_use]
    pub fn ip_permissions_egress(&self) -> Vec<IpPermission> {
        group_rules(self.rules.iter().filter(|r| r.is_egress))
    }
}

fn group_rules<'a>(rules: impl Iterator<Item = &'a SecurityGroupRule>) -> Vec<IpPermission> {
    let mut out: Vec<IpPermission> = Vec::new();
    for r in rules {
        let idx = match out
            .iter()
            .position(|p| p.ip_protocol == r.ip_protocol && p.from_port == r.from_port && p.to_port == r.to_port)
        {
            Some(i) => i,
            None => {
                out.push(IpPermission {
                    ip_protocol: r.ip_protocol.clone(),
                    from_port: r.from_port,
                    to_port: r.to_port,
                    ..IpPermission::default()
                });
                out.len() - 1
            }
        };
        let Some(p) = out.get_mut(idx) else { continue };
        let description = r.description.clone();
        match &r.peer {
            Peer::Cidr { cidr } => p.ip_ranges.push(IpRange { cidr: cidr.clone(), description }),
            Peer::Ipv6 { cidr } => p.ipv6_ranges.push(IpRange { cidr: cidr.clone(), description }),
            Peer::Group { group_id, user_id } => p.groups.push(GroupPair {
                group_id: Some(group_id.clone()),
                group_name: None,
                user_id: Some(user_id.clone()),
                description,
            }),
        }
    }
    out
}

/// Names a security group: by id, or by name (in the default VPC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupRef {
    Id(String),
    Name(String),
}

/// What `RevokeSecurityGroupIngress` did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RevokeOutcome {
    pub revoked: Vec<SecurityGroupRule>,
    /// Requested permissions that matched no rule (`unknownIpPermissionSet`).
    pub unknown: Vec<IpPermission>,
}

/// An item of an interface's `groupSet`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupIdentifier {
    pub group_id: String,
    pub group_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkInterface {
    pub network_interface_id: String,
    pub subnet_id: String,
    pub vpc_id: String,
    pub availability_zone: String,
    /// Empty when none was given (EC2 returns an empty `description`).
    pub description: String,
    pub groups: Vec<GroupIdentifier>,
    pub mac_address: String,
    pub owner_id: String,
    pub private_ip_address: String,
    pub private_dns_name: String,
    pub requester_id: Option<String>,
    pub requester_managed: bool,
    pub source_dest_check: bool,
    /// `in-use` for requester-managed interfaces, else `available`.
    pub status: String,
    /// `interface`.
    pub interface_type: String,
    pub client_token: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// The input of `CreateNetworkInterface`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewNetworkInterface {
    pub subnet_id: String,
    pub description: Option<String>,
    /// The default group of the subnet's VPC when empty.
    pub security_group_ids: Vec<String>,
    /// The next free address of the subnet when `None`.
    pub private_ip_address: Option<String>,
    /// Created by a service on the account's behalf (DAX): status `in-use`,
    /// a requester id, and users cannot delete it.
    pub requester_managed: bool,
    pub tags: Vec<Tag>,
    pub client_token: Option<String>,
}

/// One attribute `ModifyNetworkInterfaceAttribute` changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkInterfaceAttribute {
    SecurityGroups(Vec<String>),
    Description(String),
    SourceDestCheck(bool),
}
