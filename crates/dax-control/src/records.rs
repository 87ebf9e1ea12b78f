//! What is persisted: one record per cluster, subnet group, parameter group
//! and event, JSON-encoded in the `dax/*` namespaces of the store, keyed by
//! `<region>/<name>` (events: `<region>/<sequence>`).

use serde::{Deserialize, Serialize};

use crate::{ClusterStatus, EncryptionType, NetworkType, NodeStatus, SourceType, Tag};

pub(crate) const NS_CLUSTERS: &str = "dax/clusters";
pub(crate) const NS_SUBNET_GROUPS: &str = "dax/subnet-groups";
pub(crate) const NS_PARAMETER_GROUPS: &str = "dax/parameter-groups";
pub(crate) const NS_EVENTS: &str = "dax/events";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct NodeRec {
    pub id: String,
    pub az: String,
    pub subnet_id: String,
    /// `None` once the interface is deleted.
    pub eni_id: Option<String>,
    pub port: u16,
    pub created: f64,
    pub status: NodeStatus,
    /// When a transitional status (creating, rebooting, deleting) ends.
    pub until: f64,
    /// How many times the node was rebooted (records written before it was kept read as 0).
    #[serde(default)]
    pub reboots: u64,
    /// This process has seen the node's listener serve in its current
    /// incarnation ([`crate::Readiness`]). Never persisted: after a restart
    /// an `available` node shows `rebooting` until its listener serves again.
    #[serde(skip)]
    pub seen_serving: bool,
    /// The node host it runs on (docs/node-hosts.md); `None`: inside the control. Absent
    /// from records of nodes inside the control, so those are written as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostRef>,
}

/// Where a node placed on a node host runs: the host's id and the address it advertised
/// when the node was placed (the node's endpoint address; `port` is of the host's range).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HostRef {
    pub id: String,
    pub address: String,
}

impl NodeRec {
    /// Its status as DescribeClusters shows it: `available` only once seen serving.
    pub fn shown_status(&self) -> NodeStatus {
        if self.status == NodeStatus::Available && !self.seen_serving {
            NodeStatus::Rebooting
        } else {
            self.status
        }
    }

    /// Its port, when the control's own port pool gave it (a node inside the control).
    pub fn control_port(&self) -> Option<u16> {
        self.host.is_none().then_some(self.port)
    }

    /// Whether it should have a listener at `now` (see [`crate::NodePort::listen`]).
    pub fn listens(&self, now: f64) -> bool {
        match self.status {
            NodeStatus::Available => true,
            NodeStatus::Creating | NodeStatus::Rebooting => self.until <= now,
            NodeStatus::Deleting => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ClusterRec {
    pub region: String,
    pub name: String,
    pub arn: String,
    pub description: Option<String>,
    pub node_type: String,
    pub status: ClusterStatus,
    /// When `creating` or `deleting` ends.
    pub until: f64,
    /// In creation order; the first node not being deleted is the primary.
    pub nodes: Vec<NodeRec>,
    /// Index of the next node id (`a` = 0); ids are never reused.
    pub next_node: usize,
    pub node_ids_to_remove: Vec<String>,
    pub maintenance_window: String,
    pub topic_arn: Option<String>,
    pub topic_status: String,
    pub subnet_group: String,
    pub vpc_id: String,
    pub security_group_ids: Vec<String>,
    pub iam_role_arn: String,
    pub parameter_group: String,
    pub sse: bool,
    pub encryption: EncryptionType,
    pub network_type: NetworkType,
    pub tags: Vec<Tag>,
    pub created: f64,
    /// The node a failover promoted (docs/node-hosts.md, "Failover"); `None`: the oldest
    /// node not being removed. Absent from records that never failed over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_node: Option<String>,
}

impl ClusterRec {
    pub fn key(&self) -> String {
        format!("{}/{}", self.region, self.name)
    }

    /// The node behind the discovery endpoint: the one a failover promoted while it is not
    /// being removed, else the oldest node not being removed.
    pub fn primary(&self) -> Option<&NodeRec> {
        let live = |n: &&NodeRec| n.status != NodeStatus::Deleting;
        self.primary_node
            .as_ref()
            .and_then(|p| self.nodes.iter().filter(live).find(|n| n.id == *p))
            .or_else(|| self.nodes.iter().find(live))
            .or_else(|| self.nodes.first())
    }

    /// Whether a transition is due at `now`.
    pub fn due(&self, now: f64) -> bool {
        match self.status {
            ClusterStatus::Creating | ClusterStatus::Deleting => self.until <= now,
            ClusterStatus::Available | ClusterStatus::Modifying => {
                self.nodes.iter().any(
                    |n| {
                        if n.status == NodeStatus::Available {
                            !n.seen_serving
                        } else {
                            n.until <= now
                        }
                    },
                ) || (self.status == ClusterStatus::Modifying && self.settled())
            }
        }
    }

    /// No node is being added or removed.
    pub fn settled(&self) -> bool {
        self.nodes.iter().all(|n| !matches!(n.status, NodeStatus::Creating | NodeStatus::Deleting))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SubnetRec {
    pub id: String,
    pub az: String,
    pub ipv6: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SubnetGroupRec {
    pub region: String,
    pub name: String,
    pub description: Option<String>,
    pub vpc_id: String,
    pub subnets: Vec<SubnetRec>,
}

impl SubnetGroupRec {
    pub fn key(&self) -> String {
        format!("{}/{}", self.region, self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ParamGroupRec {
    pub region: String,
    pub name: String,
    pub description: Option<String>,
    pub query_ttl_ms: u64,
    pub record_ttl_ms: u64,
}

impl ParamGroupRec {
    pub fn key(&self) -> String {
        format!("{}/{}", self.region, self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct EventRec {
    pub seq: u64,
    pub region: String,
    pub source_name: String,
    pub source_type: SourceType,
    pub message: String,
    pub date: f64,
}

impl EventRec {
    pub fn key(&self) -> String {
        format!("{}/{:020}", self.region, self.seq)
    }
}
