//! The values DAX operations take and return. Member names follow the
//! botocore model's shapes (snake_case); the binary maps them to the wire.

use serde::{Deserialize, Serialize};

macro_rules! aws_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            /// The value as AWS spells it.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parse AWS's spelling (exact match).
            #[must_use]
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

aws_enum!(
    /// `Cluster.Status`.
    ClusterStatus { Creating = "creating", Available = "available", Modifying = "modifying", Deleting = "deleting" }
);
aws_enum!(
    /// `Node.NodeStatus`.
    NodeStatus { Creating = "creating", Available = "available", Rebooting = "rebooting", Deleting = "deleting" }
);
aws_enum!(
    /// `ClusterEndpointEncryptionType`.
    EncryptionType { None = "NONE", Tls = "TLS" }
);
aws_enum!(
    /// `NetworkType`.
    NetworkType { Ipv4 = "ipv4", Ipv6 = "ipv6", DualStack = "dual_stack" }
);
aws_enum!(
    /// `SSEStatus`.
    SseStatus { Enabling = "ENABLING", Enabled = "ENABLED", Disabling = "DISABLING", Disabled = "DISABLED" }
);
aws_enum!(
    /// `SourceType` of an event.
    SourceType { Cluster = "CLUSTER", ParameterGroup = "PARAMETER_GROUP", SubnetGroup = "SUBNET_GROUP" }
);

/// `Tag`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
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

/// `Endpoint`. `address` and `url` are absent while the cluster is being
/// created or deleted (only the port is known then).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub address: Option<String>,
    pub port: u16,
    pub url: Option<String>,
}

/// `Node`. A node that is still being added shows only `node_id` and
/// `node_status`.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub node_id: String,
    pub endpoint: Option<Endpoint>,
    /// Epoch seconds.
    pub node_create_time: Option<f64>,
    pub availability_zone: Option<String>,
    pub node_status: NodeStatus,
    pub parameter_group_status: Option<String>,
}

/// `NotificationConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationConfiguration {
    pub topic_arn: String,
    pub topic_status: String,
}

/// `SecurityGroupMembership`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityGroupMembership {
    pub security_group_identifier: String,
    pub status: String,
}

/// `ParameterGroupStatus` (the cluster's view of its parameter group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterGroupStatus {
    pub parameter_group_name: String,
    pub parameter_apply_status: String,
    pub node_ids_to_reboot: Vec<String>,
}

/// `SSEDescription`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseDescription {
    pub status: SseStatus,
}

/// `Cluster`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    pub cluster_name: String,
    pub description: Option<String>,
    pub cluster_arn: String,
    pub total_nodes: u32,
    pub active_nodes: u32,
    pub node_type: String,
    pub status: ClusterStatus,
    pub cluster_discovery_endpoint: Endpoint,
    pub node_ids_to_remove: Vec<String>,
    /// `None` while the cluster is `creating` or `deleting`.
    pub nodes: Option<Vec<Node>>,
    pub preferred_maintenance_window: String,
    pub notification_configuration: Option<NotificationConfiguration>,
    pub subnet_group: String,
    pub security_groups: Vec<SecurityGroupMembership>,
    pub iam_role_arn: String,
    pub parameter_group: ParameterGroupStatus,
    pub sse_description: SseDescription,
    pub cluster_endpoint_encryption_type: EncryptionType,
    pub network_type: NetworkType,
}

/// `ParameterGroup`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterGroup {
    pub parameter_group_name: String,
    pub description: Option<String>,
}

/// `NodeTypeSpecificValue`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeTypeSpecificValue {
    pub node_type: String,
    pub value: String,
}

/// `Parameter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    pub parameter_name: String,
    pub parameter_type: &'static str,
    pub parameter_value: String,
    pub node_type_specific_values: Vec<NodeTypeSpecificValue>,
    pub description: &'static str,
    pub source: &'static str,
    pub data_type: &'static str,
    pub allowed_values: &'static str,
    pub is_modifiable: &'static str,
    pub change_type: &'static str,
}

/// `ParameterNameValue`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParameterNameValue {
    pub parameter_name: String,
    pub parameter_value: String,
}

/// `Subnet` (a member of a subnet group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subnet {
    pub subnet_identifier: String,
    pub subnet_availability_zone: String,
    pub supported_network_types: Vec<NetworkType>,
}

/// `SubnetGroup`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetGroup {
    pub subnet_group_name: String,
    pub description: Option<String>,
    pub vpc_id: String,
    pub subnets: Vec<Subnet>,
    pub supported_network_types: Vec<NetworkType>,
}

/// `Event`.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub source_name: String,
    pub source_type: SourceType,
    pub message: String,
    /// Epoch seconds.
    pub date: f64,
}

pub use base::{Page, Paging};

/// A node's listener, for the binary to bind (at start and after changes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodePort {
    pub region: String,
    pub cluster: String,
    pub node_id: String,
    pub port: u16,
    /// `ClusterEndpointEncryptionType` is `TLS`.
    pub tls: bool,
    pub status: NodeStatus,
    /// How many times the node was rebooted: a reboot may begin and end between two looks
    /// at `status` (with no provisioning delay it ends at once), never without changing this.
    pub reboots: u64,
    /// The node should have a listener now: it is `available`, or its `creating` or
    /// `rebooting` delay has passed and it waits for its listener to serve
    /// ([`crate::Readiness`]) to become `available`.
    pub listen: bool,
    /// The node's Availability Zone.
    pub availability_zone: String,
}

/// A cluster a node host runs nodes of ([`crate::DaxControl::host_assignments`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAssignment {
    pub region: String,
    pub cluster_arn: String,
    pub cluster_name: String,
    pub node_type: String,
    /// The role DAX assumes for the cluster's DynamoDB calls.
    pub iam_role_arn: String,
    /// `ClusterEndpointEncryptionType` is `TLS`.
    pub tls: bool,
    pub record_ttl_ms: u64,
    pub query_ttl_ms: u64,
    /// Its nodes on that host that should listen now.
    pub nodes: Vec<AssignedNode>,
    /// Every node of the cluster that serves now, on any host (this one included): what
    /// the DAX `endpoints` call answers, in creation order.
    pub roster: Vec<RosterNode>,
    /// The leader session id of the roster (milliseconds, grows when the primary changes).
    pub leader_session_id: i64,
}

/// A node of a cluster's roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterNode {
    pub node_id: String,
    /// The node host it runs on.
    pub host_id: String,
    /// The host's advertised address and the node's port: the node's endpoint.
    pub address: String,
    pub port: u16,
    pub availability_zone: String,
    pub primary: bool,
    /// The port its host listens on for replication links.
    pub replication_port: u16,
}

/// A node a host should listen for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignedNode {
    pub node_id: String,
    pub port: u16,
    /// Its reboot count: a listener of an earlier incarnation is replaced.
    pub generation: u64,
    /// Behind the cluster's discovery endpoint (the node writes go through first).
    pub primary: bool,
}

/// `CreateCluster` input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateClusterInput {
    pub cluster_name: String,
    pub node_type: String,
    pub description: Option<String>,
    pub replication_factor: i64,
    pub availability_zones: Option<Vec<String>>,
    pub subnet_group_name: Option<String>,
    pub security_group_ids: Option<Vec<String>>,
    pub preferred_maintenance_window: Option<String>,
    pub notification_topic_arn: Option<String>,
    pub iam_role_arn: String,
    pub parameter_group_name: Option<String>,
    pub tags: Vec<Tag>,
    /// `SSESpecification.Enabled`.
    pub sse_enabled: Option<bool>,
    pub cluster_endpoint_encryption_type: Option<EncryptionType>,
    pub network_type: Option<NetworkType>,
}

/// `DescribeClusters` input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DescribeClustersInput {
    pub cluster_names: Vec<String>,
    pub paging: Paging,
}

/// `IncreaseReplicationFactor` input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncreaseReplicationFactorInput {
    pub cluster_name: String,
    pub new_replication_factor: i64,
    pub availability_zones: Option<Vec<String>>,
}

/// `DecreaseReplicationFactor` input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecreaseReplicationFactorInput {
    pub cluster_name: String,
    pub new_replication_factor: i64,
    pub availability_zones: Option<Vec<String>>,
    pub node_ids_to_remove: Option<Vec<String>>,
}

/// `UpdateCluster` input; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateClusterInput {
    pub cluster_name: String,
    pub description: Option<String>,
    pub preferred_maintenance_window: Option<String>,
    pub notification_topic_arn: Option<String>,
    pub notification_topic_status: Option<String>,
    pub parameter_group_name: Option<String>,
    pub security_group_ids: Option<Vec<String>>,
}

/// `CreateSubnetGroup` input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateSubnetGroupInput {
    pub subnet_group_name: String,
    pub description: Option<String>,
    pub subnet_ids: Vec<String>,
}

/// `UpdateSubnetGroup` input; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateSubnetGroupInput {
    pub subnet_group_name: String,
    pub description: Option<String>,
    pub subnet_ids: Option<Vec<String>>,
}

/// `DescribeEvents` input. Times are epoch seconds; `duration` is minutes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DescribeEventsInput {
    pub source_name: Option<String>,
    pub source_type: Option<SourceType>,
    pub start_time: Option<f64>,
    pub end_time: Option<f64>,
    pub duration: Option<i64>,
    pub paging: Paging,
}
