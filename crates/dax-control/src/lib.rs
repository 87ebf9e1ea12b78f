//! The DAX control plane of daxd: clusters and their nodes, parameter
//! groups, subnet groups, events and tags, per account and per region —
//! the 21 operations of the `AmazonDAXV3` API as plain Rust calls.
//!
//! State lives in memory behind a lock, and every change is written to the
//! durable [`state::Store`] in one batch before memory changes and before
//! the call returns. Lifecycles (`creating` → `available`, `modifying`,
//! `rebooting`, `deleting` → gone) run on the injected [`base::Clock`]: a
//! configurable provisioning delay, applied lazily whenever the crate is
//! read or written ([`DaxControl::tick`] lets a timer drive it too).
//!
//! What it is not: it knows no wire format (the binary maps these structs
//! to JSON), does no authentication or authorisation, runs no DAX data
//! plane and opens no sockets. It imports no other domain crate: EC2 (the
//! subnets, security groups and node interfaces), IAM (the role check),
//! TCP ports and whether a node's listener serves come through the
//! [`Network`], [`Identity`], [`Ports`] and [`Readiness`] traits, which the
//! binary implements. A node is `available` only once its delay has passed
//! and [`Readiness`] says its listener serves.
//!
//! Choices where AWS's behaviour is not documented are marked **unverified**
//! in the item docs.

mod clusters;
mod deps;
mod error;
mod events;
mod failover;
mod groups;
mod hosts;
mod model;
mod page;
mod records;
pub mod validate;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use base::Env;
use state::{Op, Store};

pub use deps::{Deps, Identity, Network, NodeListener, Ports, Readiness, SgInfo, SubnetInfo};
pub use error::DaxError;
pub use groups::{QUERY_TTL, RECORD_TTL};
pub use hosts::{
    place, zone_of_region, Candidate, HostChange, HostError, HostState, JoinInput, NodeHost, NodeHosts, ServingNode,
    DEFAULT_TIMEOUT as DEFAULT_NODE_HOST_TIMEOUT, LEFT_RETENTION_SECS, MAX_HOSTS_PER_REGION, MAX_PORTS_PER_HOST,
};
pub use model::*;
pub use page::MAX_RESULTS;

use records::{ClusterRec, EventRec, ParamGroupRec, SubnetGroupRec};

/// The parameter group every region has and nobody can change.
pub const DEFAULT_PARAMETER_GROUP: &str = "default.dax1.0";
/// Its description.
pub const DEFAULT_PARAMETER_GROUP_DESCRIPTION: &str = "Default parameter group for dax1.0";
/// The subnet group made of the default VPC's subnets.
pub const DEFAULT_SUBNET_GROUP: &str = "default";
/// Its description (**unverified**).
pub const DEFAULT_SUBNET_GROUP_DESCRIPTION: &str = "Default subnet group";
/// `query-ttl-millis` and `record-ttl-millis` of the default group.
pub const DEFAULT_TTL_MS: u64 = 300_000;
/// Nodes per cluster: a primary and up to 10 replicas (the DAX concepts
/// page; the CreateCluster reference says 10 — **unverified**, 11 chosen).
pub const MAX_NODES_PER_CLUSTER: usize = 11;
/// Nodes per account and region (DAX quotas page).
pub const MAX_NODES_PER_REGION: usize = 50;
/// Custom parameter groups per region (**unverified**, the ElastiCache figure).
pub const MAX_PARAMETER_GROUPS: usize = 20;
/// Custom subnet groups per region (**unverified**).
pub const MAX_SUBNET_GROUPS: usize = 50;
/// Subnets per subnet group (**unverified**).
pub const MAX_SUBNETS_PER_GROUP: usize = 20;
/// Tags per cluster.
pub const MAX_TAGS: usize = 50;
/// Parameter values per UpdateParameterGroup call.
pub const MAX_PARAMETER_VALUES: usize = 20;
/// How long events are kept (DescribeEvents reaches back 14 days).
pub const EVENT_RETENTION_SECS: f64 = 14.0 * 86_400.0;

/// The description of a node's network interface.
#[must_use]
pub fn node_interface_description(cluster: &str, node_id: &str) -> String {
    format!("DAX cluster {cluster} node {node_id}")
}

/// The id of the node made `index`-th in a cluster (0 → `<cluster>-a`,
/// 25 → `-z`, 26 → `-aa`, …): letters in creation order, never reused.
#[must_use]
pub fn node_id(cluster: &str, index: usize) -> String {
    let mut letters = Vec::new();
    let mut i = index;
    loop {
        letters.push(b'a' + u8::try_from(i % 26).unwrap_or(0));
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    letters.reverse();
    format!("{cluster}-{}", String::from_utf8_lossy(&letters))
}

/// How the binary configures the service.
#[derive(Debug, Clone)]
pub struct Config {
    /// The host name or address clients reach node listeners on; it is the
    /// `Address` of every endpoint.
    pub advertise_host: String,
    /// How long `creating`, `modifying`, `rebooting` and `deleting` last.
    /// Zero makes the transition happen at the next read or write.
    pub provisioning_delay: Duration,
}

#[derive(Debug, Default)]
struct Region {
    clusters: BTreeMap<String, ClusterRec>,
    subnet_groups: BTreeMap<String, SubnetGroupRec>,
    parameter_groups: BTreeMap<String, ParamGroupRec>,
    events: BTreeMap<u64, EventRec>,
}

#[derive(Debug, Default)]
struct State {
    regions: BTreeMap<String, Region>,
    next_event: u64,
}

impl State {
    fn cluster(&self, region: &str, name: &str) -> Option<&ClusterRec> {
        self.regions.get(region)?.clusters.get(name)
    }

    fn region_mut(&mut self, region: &str) -> &mut Region {
        self.regions.entry(region.to_owned()).or_default()
    }

    fn clusters(&self, region: &str) -> impl Iterator<Item = &ClusterRec> {
        self.regions.get(region).into_iter().flat_map(|r| r.clusters.values())
    }

    fn due(&self, now: f64) -> bool {
        self.regions.values().any(|r| {
            r.clusters.values().any(|c| c.due(now))
                || r.events.values().next().is_some_and(|e| e.date < now - EVENT_RETENTION_SECS)
        })
    }
}

/// An event to record with the next commit.
struct NewEvent {
    region: String,
    source_type: SourceType,
    source_name: String,
    message: String,
    date: f64,
}

/// The DAX control plane of one account.
pub struct DaxControl {
    account: String,
    env: Env,
    store: Arc<Store>,
    deps: Deps,
    config: Config,
    state: RwLock<State>,
    /// The node hosts new clusters are placed on (docs/node-hosts.md, "Placement"); `None`
    /// (the default) keeps every node inside the control.
    hosts: Option<Arc<NodeHosts>>,
}

fn not_found_cluster() -> DaxError {
    DaxError::ClusterNotFoundFault("Cluster not found.".to_owned())
}

impl DaxControl {
    /// Load the account's DAX state from `store`.
    ///
    /// # Errors
    /// When the store cannot be read or holds a corrupt record.
    pub fn open(account: &str, env: Env, store: Arc<Store>, deps: Deps, config: Config) -> Result<Self, DaxError> {
        let dax = DaxControl {
            account: account.to_owned(),
            env,
            store,
            deps,
            config,
            state: RwLock::new(State::default()),
            hosts: None,
        };
        dax.reload()?;
        Ok(dax)
    }

    /// Re-read everything from the store (after open, or after a reset).
    /// Ports of nodes that are no longer in the store are released.
    ///
    /// # Errors
    /// When the store cannot be read or holds a corrupt record.
    pub fn reload(&self) -> Result<(), DaxError> {
        let clusters = self.store.scan_json::<ClusterRec>(records::NS_CLUSTERS)?;
        let subnet_groups = self.store.scan_json::<SubnetGroupRec>(records::NS_SUBNET_GROUPS)?;
        let parameter_groups = self.store.scan_json::<ParamGroupRec>(records::NS_PARAMETER_GROUPS)?;
        let events = self.store.scan_json::<EventRec>(records::NS_EVENTS)?;
        let mut st = State::default();
        for (_, c) in clusters {
            st.region_mut(&c.region.clone()).clusters.insert(c.name.clone(), c);
        }
        for (_, g) in subnet_groups {
            st.region_mut(&g.region.clone()).subnet_groups.insert(g.name.clone(), g);
        }
        for (_, g) in parameter_groups {
            st.region_mut(&g.region.clone()).parameter_groups.insert(g.name.clone(), g);
        }
        for (_, e) in events {
            st.next_event = st.next_event.max(e.seq.saturating_add(1));
            st.region_mut(&e.region.clone()).events.insert(e.seq, e);
        }
        let ports = |s: &State| -> Vec<u16> {
            s.regions
                .values()
                .flat_map(|r| r.clusters.values())
                .flat_map(|c| c.nodes.iter().filter_map(records::NodeRec::control_port))
                .collect()
        };
        let kept = ports(&st);
        let old = std::mem::replace(&mut *self.write(), st);
        for port in ports(&old).into_iter().filter(|p| !kept.contains(p)) {
            self.deps.ports.release(port);
        }
        Ok(())
    }

    /// Place new clusters on the `active` hosts of `hosts` when there are any
    /// (daxd's `--dax-nodes-on-hosts`); without this every node runs inside the control.
    #[must_use]
    pub fn with_node_hosts(mut self, hosts: Arc<NodeHosts>) -> Self {
        self.hosts = Some(hosts);
        self
    }

    #[must_use]
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The ARN of a cluster, whether or not it exists.
    #[must_use]
    pub fn cluster_arn(&self, region: &str, name: &str) -> String {
        format!("arn:aws:dax:{region}:{}:cache/{name}", self.account)
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn now(&self) -> f64 {
        self.env.clock.epoch()
    }

    fn deadline(&self, now: f64) -> f64 {
        now + self.config.provisioning_delay.as_secs_f64()
    }

    /// The state for reading, after applying every transition that is due.
    fn ticked(&self) -> Result<RwLockReadGuard<'_, State>, DaxError> {
        let now = self.now();
        let st = self.read();
        if !st.due(now) {
            return Ok(st);
        }
        drop(st);
        self.tick_locked(&mut self.write(), now)?;
        Ok(self.read())
    }

    /// The state for a change, after applying every transition that is due;
    /// also returns the time the change happens at.
    fn writable(&self) -> Result<(RwLockWriteGuard<'_, State>, f64), DaxError> {
        let mut st = self.write();
        let now = self.now();
        self.tick_locked(&mut st, now)?;
        Ok((st, now))
    }

    /// Advance every lifecycle to the clock's present: finish provisioning,
    /// reboots and removals whose delay has passed, forget deleted clusters
    /// (releasing their ports) and events older than 14 days. Reads and
    /// writes do this themselves; a timer may call it too.
    ///
    /// # Errors
    /// When the store cannot be written; nothing changes then.
    pub fn tick(&self) -> Result<(), DaxError> {
        let now = self.now();
        self.tick_locked(&mut self.write(), now)
    }

    fn tick_locked(&self, st: &mut State, now: f64) -> Result<(), DaxError> {
        if !st.due(now) {
            return Ok(());
        }
        let mut ops = Vec::new();
        let mut events = Vec::new();
        let mut changed: Vec<(String, String, Option<ClusterRec>)> = Vec::new();
        let mut released = Vec::new();
        let mut pruned: Vec<(String, u64)> = Vec::new();
        let readiness = self.deps.readiness.as_ref();
        for (region, reg) in &st.regions {
            for c in reg.clusters.values().filter(|c| c.due(now)) {
                let next = advance(c, now, readiness, &mut events, &mut released);
                match &next {
                    Some(n) => {
                        let put = Op::put_json(records::NS_CLUSTERS, n.key(), n)?;
                        // A node seen serving changes memory only: skip writing an unchanged record.
                        if put != Op::put_json(records::NS_CLUSTERS, c.key(), c)? {
                            ops.push(put);
                        }
                    }
                    None => ops.push(Op::delete(records::NS_CLUSTERS, c.key())),
                }
                if next.as_ref() != Some(c) {
                    changed.push((region.clone(), c.name.clone(), next));
                }
            }
            for e in reg.events.values().filter(|e| e.date < now - EVENT_RETENTION_SECS) {
                ops.push(Op::delete(records::NS_EVENTS, e.key()));
                pruned.push((region.clone(), e.seq));
            }
        }
        if !ops.is_empty() || !events.is_empty() {
            self.commit(st, ops, events)?;
        }
        for (region, name, next) in changed {
            let reg = st.region_mut(&region);
            match next {
                Some(c) => reg.clusters.insert(name, c),
                None => reg.clusters.remove(&name),
            };
        }
        for (region, seq) in pruned {
            st.region_mut(&region).events.remove(&seq);
        }
        for port in released {
            self.deps.ports.release(port);
        }
        Ok(())
    }

    /// Persist `ops` plus `events` in one batch, then record the events in
    /// memory. Other memory changes are the caller's, after this succeeds.
    fn commit(&self, st: &mut State, mut ops: Vec<Op>, events: Vec<NewEvent>) -> Result<(), DaxError> {
        let mut seq = st.next_event;
        let mut recs = Vec::with_capacity(events.len());
        for e in events {
            let rec = EventRec {
                seq,
                region: e.region,
                source_name: e.source_name,
                source_type: e.source_type,
                message: e.message,
                date: e.date,
            };
            ops.push(Op::put_json(records::NS_EVENTS, rec.key(), &rec)?);
            recs.push(rec);
            seq = seq.saturating_add(1);
        }
        self.store.apply(&ops)?;
        st.next_event = seq;
        for rec in recs {
            st.region_mut(&rec.region.clone()).events.insert(rec.seq, rec);
        }
        Ok(())
    }

    /// Persist one cluster (and events), then update memory.
    fn save_cluster(&self, st: &mut State, c: ClusterRec, events: Vec<NewEvent>) -> Result<(), DaxError> {
        self.commit(st, vec![Op::put_json(records::NS_CLUSTERS, c.key(), &c)?], events)?;
        st.region_mut(&c.region.clone()).clusters.insert(c.name.clone(), c);
        Ok(())
    }

    /// An endpoint at `port` of `host` (a node host's address), or of the control.
    fn endpoint(&self, host: Option<&records::HostRef>, port: u16, tls: bool, full: bool) -> Endpoint {
        let host = host.map_or(&self.config.advertise_host, |h| &h.address);
        let scheme = if tls { "daxs" } else { "dax" };
        let url_host = if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host.clone() };
        Endpoint {
            address: full.then(|| host.clone()),
            port,
            url: full.then(|| format!("{scheme}://{url_host}:{port}")),
        }
    }

    /// The `Cluster` shape of a record, as DescribeClusters shows it now.
    fn render(&self, c: &ClusterRec) -> Cluster {
        let tls = c.encryption == EncryptionType::Tls;
        let full = matches!(c.status, ClusterStatus::Available | ClusterStatus::Modifying);
        let nodes = full.then(|| {
            c.nodes
                .iter()
                .map(|n| {
                    let status = n.shown_status();
                    if status == NodeStatus::Creating {
                        Node {
                            node_id: n.id.clone(),
                            endpoint: None,
                            node_create_time: None,
                            availability_zone: None,
                            node_status: status,
                            parameter_group_status: None,
                        }
                    } else {
                        Node {
                            node_id: n.id.clone(),
                            endpoint: Some(self.endpoint(n.host.as_ref(), n.port, tls, true)),
                            node_create_time: Some(n.created),
                            availability_zone: Some(n.az.clone()),
                            node_status: status,
                            parameter_group_status: Some("in-sync".to_owned()),
                        }
                    }
                })
                .collect()
        });
        let count = |f: &dyn Fn(&records::NodeRec) -> bool| {
            u32::try_from(c.nodes.iter().filter(|n| f(n)).count()).unwrap_or(u32::MAX)
        };
        let total = if c.status == ClusterStatus::Deleting {
            count(&|_| true)
        } else {
            count(&|n| n.status != NodeStatus::Deleting)
        };
        let active = if full { count(&|n| n.shown_status() == NodeStatus::Available) } else { 0 };
        Cluster {
            cluster_name: c.name.clone(),
            description: c.description.clone(),
            cluster_arn: c.arn.clone(),
            total_nodes: total,
            active_nodes: active,
            node_type: c.node_type.clone(),
            status: c.status,
            cluster_discovery_endpoint: self.endpoint(
                c.primary().and_then(|n| n.host.as_ref()),
                c.primary().map_or(0, |n| n.port),
                tls,
                full,
            ),
            node_ids_to_remove: c.node_ids_to_remove.clone(),
            nodes,
            preferred_maintenance_window: c.maintenance_window.clone(),
            notification_configuration: c
                .topic_arn
                .as_ref()
                .map(|t| NotificationConfiguration { topic_arn: t.clone(), topic_status: c.topic_status.clone() }),
            subnet_group: c.subnet_group.clone(),
            security_groups: c
                .security_group_ids
                .iter()
                .map(|s| SecurityGroupMembership { security_group_identifier: s.clone(), status: "active".to_owned() })
                .collect(),
            iam_role_arn: c.iam_role_arn.clone(),
            parameter_group: ParameterGroupStatus {
                parameter_group_name: c.parameter_group.clone(),
                parameter_apply_status: "in-sync".to_owned(),
                node_ids_to_reboot: Vec::new(),
            },
            sse_description: SseDescription { status: if c.sse { SseStatus::Enabled } else { SseStatus::Disabled } },
            cluster_endpoint_encryption_type: c.encryption,
            network_type: c.network_type,
        }
    }

    // ----- questions other parts of daxd ask -----

    /// `(region, interface id)` of every network interface a node records.
    #[must_use]
    pub fn node_interfaces(&self) -> std::collections::BTreeSet<(String, String)> {
        let st = self.read();
        st.regions
            .iter()
            .flat_map(|(region, r)| r.clusters.values().flat_map(move |c| c.nodes.iter().map(move |n| (region, n))))
            .filter_map(|(region, n)| n.eni_id.clone().map(|eni| (region.clone(), eni)))
            .collect()
    }

    /// The regions with clusters that are not fully deleted, and those
    /// clusters' ARNs: what blocks deleting the DAX service-linked role.
    #[must_use]
    pub fn clusters_using_role(&self) -> Vec<(String, Vec<String>)> {
        // If the tick cannot be persisted, answer from memory: that errs on
        // the side of "still in use".
        let st = self.ticked().unwrap_or_else(|_| self.read());
        st.regions
            .iter()
            .filter(|(_, r)| !r.clusters.is_empty())
            .map(|(region, r)| (region.clone(), r.clusters.values().map(|c| c.arn.clone()).collect()))
            .collect()
    }

    /// `(record-ttl-millis, query-ttl-millis)` of a cluster's parameter
    /// group, for the data plane; `None` when the cluster does not exist.
    #[must_use]
    pub fn ttls(&self, region: &str, cluster: &str) -> Option<(u64, u64)> {
        let st = self.ticked().unwrap_or_else(|_| self.read());
        let c = st.cluster(region, &cluster.to_ascii_lowercase())?;
        if c.parameter_group == DEFAULT_PARAMETER_GROUP {
            return Some((DEFAULT_TTL_MS, DEFAULT_TTL_MS));
        }
        let g = st.regions.get(region)?.parameter_groups.get(&c.parameter_group)?;
        Some((g.record_ttl_ms, g.query_ttl_ms))
    }

    /// What node host `host_id` of `region` must run now: each cluster with nodes on it
    /// that is not being deleted, with the nodes that should listen (docs/node-hosts.md,
    /// "Assignments"). A node being removed, or a deleted cluster, is no longer listed,
    /// which tells the host to stop its listener.
    #[must_use]
    pub fn host_assignments(&self, region: &str, host_id: &str) -> Vec<HostAssignment> {
        let now = self.now();
        let st = self.ticked().unwrap_or_else(|_| self.read());
        let mut out = Vec::new();
        for c in st.clusters(region).filter(|c| c.status != ClusterStatus::Deleting) {
            let primary = c.primary().map(|n| n.id.clone());
            let nodes: Vec<AssignedNode> = c
                .nodes
                .iter()
                .filter(|n| n.host.as_ref().is_some_and(|h| h.id == host_id) && n.listens(now))
                .map(|n| AssignedNode {
                    node_id: n.id.clone(),
                    port: n.port,
                    generation: n.reboots,
                    primary: primary.as_deref() == Some(n.id.as_str()),
                })
                .collect();
            if nodes.is_empty() {
                continue;
            }
            let (record_ttl_ms, query_ttl_ms) = ttls_of(&st, c);
            let roster = c
                .nodes
                .iter()
                .filter(|n| n.listens(now))
                .filter_map(|n| {
                    let h = n.host.as_ref()?;
                    let host = self.hosts.as_ref().and_then(|r| r.get(region, &h.id));
                    let replication_port = host.as_ref().map_or(0, |x| x.replication_port);
                    let active = host.is_some_and(|x| x.state == hosts::HostState::Active);
                    active.then(|| RosterNode {
                        node_id: n.id.clone(),
                        host_id: h.id.clone(),
                        address: h.address.clone(),
                        port: n.port,
                        availability_zone: n.az.clone(),
                        primary: primary.as_deref() == Some(n.id.as_str()),
                        replication_port,
                    })
                })
                .collect();
            out.push(HostAssignment {
                region: region.to_owned(),
                cluster_arn: c.arn.clone(),
                cluster_name: c.name.clone(),
                node_type: c.node_type.clone(),
                iam_role_arn: c.iam_role_arn.clone(),
                tls: c.encryption == EncryptionType::Tls,
                record_ttl_ms,
                query_ttl_ms,
                nodes,
                roster,
                leader_session_id: leader_session_id(c),
            });
        }
        out
    }

    /// Every listener port of a node inside the control, across regions (nodes being
    /// deleted included until they are gone), for the binary to bind those that
    /// `listen`. Nodes on node hosts are not listed: their host binds them
    /// ([`DaxControl::host_assignments`]).
    #[must_use]
    pub fn node_ports(&self) -> Vec<NodePort> {
        let now = self.now();
        let st = self.ticked().unwrap_or_else(|_| self.read());
        st.regions
            .iter()
            .flat_map(|(region, r)| r.clusters.values().map(move |c| (region, c)))
            .flat_map(|(region, c)| {
                c.nodes.iter().filter(|n| n.host.is_none()).map(move |n| NodePort {
                    region: region.clone(),
                    cluster: c.name.clone(),
                    node_id: n.id.clone(),
                    port: n.port,
                    tls: c.encryption == EncryptionType::Tls,
                    status: n.status,
                    reboots: n.reboots,
                    listen: c.status != ClusterStatus::Deleting && n.listens(now),
                    availability_zone: n.az.clone(),
                })
            })
            .collect()
    }
}

/// The leader session id of a cluster on node hosts, the same on every host: its
/// creation time in milliseconds plus the primary's node index (primaries change to later
/// nodes).
fn leader_session_id(c: &ClusterRec) -> i64 {
    #[allow(clippy::cast_possible_truncation)]
    let created = (c.created * 1000.0) as i64;
    let index = c.primary().map_or(0, |n| {
        let letters = n.id.rsplit('-').next().unwrap_or_default();
        letters
            .bytes()
            .fold(0i64, |acc, b| acc.saturating_mul(26).saturating_add(i64::from(b.saturating_sub(b'a')) + 1))
    });
    created.saturating_add(index)
}

/// `(record-ttl-millis, query-ttl-millis)` of `c`'s parameter group (the defaults when it
/// is `default` or, which a cluster's group cannot be, missing).
fn ttls_of(st: &State, c: &ClusterRec) -> (u64, u64) {
    st.regions
        .get(&c.region)
        .and_then(|r| r.parameter_groups.get(&c.parameter_group))
        .filter(|_| c.parameter_group != DEFAULT_PARAMETER_GROUP)
        .map_or((DEFAULT_TTL_MS, DEFAULT_TTL_MS), |g| (g.record_ttl_ms, g.query_ttl_ms))
}

/// Whether the listener of `n` (node of `c`) serves, in the node's current incarnation.
fn serving(readiness: &dyn Readiness, c: &ClusterRec, n: &records::NodeRec) -> bool {
    readiness.serving(&NodeListener {
        region: &c.region,
        cluster_arn: &c.arn,
        node_id: &n.id,
        port: n.port,
        generation: n.reboots,
        host: n.host.as_ref().map(|h| h.id.as_str()),
    })
}

/// The next state of a cluster whose transition is due (`None`: it is gone),
/// with the events that happened and the ports to release. A node whose
/// delay has passed becomes `available` only if its listener serves; until
/// then it (and a `creating` cluster) stays as it is, and is due again.
fn advance(
    c: &ClusterRec,
    now: f64,
    readiness: &dyn Readiness,
    events: &mut Vec<NewEvent>,
    released: &mut Vec<u16>,
) -> Option<ClusterRec> {
    let event = |msg: String, date: f64| NewEvent {
        region: c.region.clone(),
        source_type: SourceType::Cluster,
        source_name: c.name.clone(),
        message: msg,
        date,
    };
    let mut next = c.clone();
    match next.status {
        ClusterStatus::Deleting => {
            if next.until > now {
                return Some(next);
            }
            released.extend(next.nodes.iter().filter_map(records::NodeRec::control_port));
            events.push(event("Cluster deleted.".to_owned(), next.until));
            return None;
        }
        ClusterStatus::Creating => {
            if next.until > now || !c.nodes.iter().all(|n| serving(readiness, c, n)) {
                return Some(next);
            }
            for n in &mut next.nodes {
                n.status = NodeStatus::Available;
                n.seen_serving = true;
            }
            next.status = ClusterStatus::Available;
            events.push(event("Cluster created.".to_owned(), next.until));
            return Some(next);
        }
        ClusterStatus::Available | ClusterStatus::Modifying => {}
    }
    let mut kept = Vec::with_capacity(next.nodes.len());
    for mut n in std::mem::take(&mut next.nodes) {
        if n.status == NodeStatus::Available {
            if !n.seen_serving && serving(readiness, c, &n) {
                n.seen_serving = true;
            }
            kept.push(n);
            continue;
        }
        if n.until > now {
            kept.push(n);
            continue;
        }
        match n.status {
            NodeStatus::Creating | NodeStatus::Rebooting if !serving(readiness, c, &n) => kept.push(n),
            NodeStatus::Creating => {
                events.push(event(format!("Added node {}.", n.id), n.until));
                n.status = NodeStatus::Available;
                n.seen_serving = true;
                kept.push(n);
            }
            NodeStatus::Rebooting => {
                events.push(event(format!("Rebooted node {}.", n.id), n.until));
                n.status = NodeStatus::Available;
                n.seen_serving = true;
                kept.push(n);
            }
            NodeStatus::Deleting => {
                events.push(event(format!("Removed node {}.", n.id), n.until));
                released.extend(n.control_port());
            }
            NodeStatus::Available => kept.push(n),
        }
    }
    next.nodes = kept;
    if next.status == ClusterStatus::Modifying && next.settled() {
        next.status = ClusterStatus::Available;
        next.node_ids_to_remove.clear();
    }
    Some(next)
}

#[cfg(test)]
mod tests;
