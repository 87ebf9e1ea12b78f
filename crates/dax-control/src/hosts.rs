//! The node-host registry (docs/node-hosts.md): the machines running `daxd node-host`
//! that joined this control plane, with their zone, advertised address, DAX port range,
//! the principal that joined them and their health, and the placement rule that will put
//! DAX nodes on them.
//!
//! Like the rest of the crate it knows no wire format and does no authorization: the
//! binary authorizes each call and passes the caller's ARN. Every change is one
//! [`Store::apply`] batch before memory changes. Health is read on the injected clock: a
//! host whose last heartbeat is older than the timeout is marked `unreachable` by
//! [`NodeHosts::tick`], which daxd's background tick calls.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use base::{Env, Page, Paging};
use serde::{Deserialize, Serialize};
use state::{Op, Store};

/// The store namespace of host records, keyed `<region>/<id>`.
const NS_HOSTS: &str = "dax/node-hosts";
/// Hosts not `left` per region.
pub const MAX_HOSTS_PER_REGION: usize = 100;
/// Ports one host may offer.
pub const MAX_PORTS_PER_HOST: u32 = 1000;
/// How long a host that left stays listed.
pub const LEFT_RETENTION_SECS: f64 = 3600.0;
/// The default of `--node-host-timeout-secs`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A node-host error, by the error code of daxd's `DaxdNodeHost` model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    #[error("{0}")]
    InvalidParameterValueException(String),
    #[error("{0}")]
    NodeHostNotFoundFault(String),
    #[error("{0}")]
    InvalidNodeHostStateFault(String),
    #[error("{0}")]
    NodeHostQuotaExceededFault(String),
    /// A heartbeat or leave from a principal other than the one that joined.
    #[error("{0}")]
    AccessDeniedException(String),
    /// The durable store failed: HTTP 500.
    #[error("{0}")]
    InternalFailure(String),
}

impl HostError {
    /// The error code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            HostError::InvalidParameterValueException(_) => "InvalidParameterValueException",
            HostError::NodeHostNotFoundFault(_) => "NodeHostNotFoundFault",
            HostError::InvalidNodeHostStateFault(_) => "InvalidNodeHostStateFault",
            HostError::NodeHostQuotaExceededFault(_) => "NodeHostQuotaExceededFault",
            HostError::AccessDeniedException(_) => "AccessDeniedException",
            HostError::InternalFailure(_) => "InternalFailure",
        }
    }

    /// The message.
    #[must_use]
    pub fn message(&self) -> &str {
        match self {
            HostError::InvalidParameterValueException(m)
            | HostError::NodeHostNotFoundFault(m)
            | HostError::InvalidNodeHostStateFault(m)
            | HostError::NodeHostQuotaExceededFault(m)
            | HostError::AccessDeniedException(m)
            | HostError::InternalFailure(m) => m,
        }
    }
}

impl From<state::StoreError> for HostError {
    fn from(e: state::StoreError) -> Self {
        HostError::InternalFailure(format!("The request processing has failed because of an unknown error: {e}"))
    }
}

/// A host's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HostState {
    /// Heartbeats arrive within the timeout.
    Active,
    /// No heartbeat for longer than the timeout.
    Unreachable,
    /// It said it leaves (kept [`LEFT_RETENTION_SECS`]).
    Left,
}

impl HostState {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            HostState::Active => "active",
            HostState::Unreachable => "unreachable",
            HostState::Left => "left",
        }
    }
}

/// One joined host, as stored and as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeHost {
    pub region: String,
    pub id: String,
    pub arn: String,
    pub availability_zone: String,
    /// The address DAX clients reach its nodes at.
    pub advertise_host: String,
    /// Its DAX ports, inclusive.
    pub port_start: u16,
    pub port_end: u16,
    /// The ARN of the principal that joined it; only it may heartbeat and leave.
    pub principal_arn: String,
    /// Epoch seconds.
    pub joined: f64,
    pub last_heartbeat: f64,
    pub state: HostState,
    /// When it left.
    pub left: Option<f64>,
    /// The port it listens on for replication links from other hosts (0: none).
    #[serde(default)]
    pub replication_port: u16,
}

impl NodeHost {
    fn key(&self) -> String {
        format!("{}/{}", self.region, self.id)
    }
}

/// What `JoinNodeHost` asks.
#[derive(Debug, Clone)]
pub struct JoinInput {
    pub availability_zone: String,
    pub advertise_host: String,
    pub port_start: i64,
    pub port_end: i64,
    /// The caller's ARN (the binary's authenticated identity).
    pub principal_arn: String,
    /// The port it listens on for replication links (0: none).
    pub replication_port: i64,
}

/// A state change [`NodeHosts::tick`] made, for the binary to log.
#[derive(Debug, Clone, PartialEq)]
pub enum HostChange {
    /// It missed its heartbeats: now `unreachable`.
    Unreachable(NodeHost),
    /// It left more than [`LEFT_RETENTION_SECS`] ago: no longer listed.
    Forgotten(NodeHost),
}

/// The registry of one account's node hosts, every region.
pub struct NodeHosts {
    account: String,
    env: Env,
    store: Arc<Store>,
    timeout: f64,
    /// When this process opened the registry: a host's timeout runs from no earlier.
    opened: f64,
    hosts: RwLock<BTreeMap<String, NodeHost>>,
    /// What each host said in its last heartbeat that it serves, by `<region>/<id>`. Memory
    /// only, like a node's `seen_serving`: after a restart the next heartbeats say it again.
    serving: RwLock<BTreeMap<String, BTreeSet<ServingNode>>>,
}

/// A node listener a host reports serving: it accepts connections and answers the DAX
/// `endpoints` call, in the node's incarnation `generation` (its reboot count).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServingNode {
    pub cluster_arn: String,
    pub node_id: String,
    pub port: u16,
    pub generation: u64,
}

fn not_found(id: &str) -> HostError {
    HostError::NodeHostNotFoundFault(format!("Node host {id} not found."))
}

fn invalid(message: impl Into<String>) -> HostError {
    HostError::InvalidParameterValueException(message.into())
}

/// Whether `zone` is a zone of `region`: the region's name and one lower-case letter.
#[must_use]
pub fn zone_of_region(zone: &str, region: &str) -> bool {
    zone.strip_prefix(region).is_some_and(|s| s.len() == 1 && s.bytes().all(|b| b.is_ascii_lowercase()))
}

/// A host name or IP address: 1 to 253 of letters, digits, `.`, `-`, `:`.
fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'))
}

impl NodeHosts {
    /// Load the account's hosts from `store`; missed heartbeats count from now on.
    ///
    /// # Errors
    /// When the store cannot be read or holds a corrupt record.
    pub fn open(account: &str, env: Env, store: Arc<Store>, timeout: Duration) -> Result<Self, HostError> {
        let opened = env.clock.epoch();
        let hosts = NodeHosts {
            account: account.to_owned(),
            env,
            store,
            timeout: timeout.as_secs_f64().max(0.001),
            opened,
            hosts: RwLock::new(BTreeMap::new()),
            serving: RwLock::new(BTreeMap::new()),
        };
        hosts.reload()?;
        Ok(hosts)
    }

    /// Re-read every record (after open, or after a reset).
    ///
    /// # Errors
    /// When the store cannot be read or holds a corrupt record.
    pub fn reload(&self) -> Result<(), HostError> {
        let loaded = self.store.scan_json::<NodeHost>(NS_HOSTS)?;
        *self.write() = loaded.into_iter().map(|(_, h)| (h.key(), h)).collect();
        Ok(())
    }

    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<String, NodeHost>> {
        self.hosts.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<String, NodeHost>> {
        self.hosts.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The ARN of a host, whether or not it exists.
    #[must_use]
    pub fn arn(&self, region: &str, id: &str) -> String {
        format!("arn:aws:daxd:{region}:{}:node-host/{id}", self.account)
    }

    /// The host `id` of `region`.
    #[must_use]
    pub fn get(&self, region: &str, id: &str) -> Option<NodeHost> {
        self.read().get(&format!("{region}/{id}")).cloned()
    }

    /// Record what host `id` serves now (its heartbeat's report, after
    /// [`NodeHosts::heartbeat`] accepted the heartbeat).
    pub fn report_serving(&self, region: &str, id: &str, nodes: BTreeSet<ServingNode>) {
        let mut serving = self.serving.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        serving.insert(format!("{region}/{id}"), nodes);
    }

    /// Whether host `host_id` serves `node`: it is `active` and its last heartbeat said so.
    /// An `unreachable` host's last report says nothing about now.
    #[must_use]
    pub fn serves(&self, region: &str, host_id: &str, node: &ServingNode) -> bool {
        let key = format!("{region}/{host_id}");
        if self.read().get(&key).is_none_or(|h| h.state != HostState::Active) {
            return false;
        }
        let serving = self.serving.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        serving.get(&key).is_some_and(|s| s.contains(node))
    }

    /// The hosts of `region` that have not left, in id order.
    #[must_use]
    pub fn live(&self, region: &str) -> Vec<NodeHost> {
        self.read().values().filter(|h| h.region == region && h.state != HostState::Left).cloned().collect()
    }

    /// The heartbeat timeout.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout)
    }

    /// How often a host should heartbeat: a third of the timeout, at least a second.
    #[must_use]
    pub fn heartbeat_interval_secs(&self) -> u64 {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let third = (self.timeout / 3.0).floor() as u64;
        third.max(1)
    }

    /// Persist one host (or its deletion), then change memory.
    fn save(&self, hosts: &mut BTreeMap<String, NodeHost>, host: NodeHost) -> Result<NodeHost, HostError> {
        self.store.apply(&[Op::put_json(NS_HOSTS, host.key(), &host)?])?;
        hosts.insert(host.key(), host.clone());
        Ok(host)
    }

    /// Add a host.
    ///
    /// # Errors
    /// `InvalidParameterValueException` for a zone not of `region`, a bad address or port
    /// range, or a range overlapping another host's on the same address;
    /// `NodeHostQuotaExceededFault` past [`MAX_HOSTS_PER_REGION`]; `InternalFailure` when the
    /// store fails.
    pub fn join(&self, region: &str, input: JoinInput) -> Result<NodeHost, HostError> {
        if !zone_of_region(&input.availability_zone, region) {
            return Err(invalid(format!(
                "The availability zone {} is not a zone of the region {region}.",
                input.availability_zone
            )));
        }
        if !valid_host(&input.advertise_host) {
            return Err(invalid("AdvertiseHost must be a host name or an IP address."));
        }
        let (start, end) = (input.port_start, input.port_end);
        let (Ok(port_start), Ok(port_end)) = (u16::try_from(start), u16::try_from(end)) else {
            return Err(invalid("The ports must be between 1 and 65535."));
        };
        if port_start == 0 {
            return Err(invalid("The ports must be between 1 and 65535."));
        }
        let Ok(replication_port) = u16::try_from(input.replication_port) else {
            return Err(invalid("ReplicationPort must be between 1 and 65535."));
        };
        if (port_start..=port_end).contains(&replication_port) {
            return Err(invalid(format!(
                "ReplicationPort {replication_port} is one of the DAX ports {port_start}-{port_end}."
            )));
        }
        if port_start > port_end {
            return Err(invalid(format!("The port range {start}-{end} is empty or reversed.")));
        }
        if u32::from(port_end - port_start) + 1 > MAX_PORTS_PER_HOST {
            return Err(invalid(format!("A node host offers at most {MAX_PORTS_PER_HOST} ports.")));
        }
        let mut hosts = self.write();
        let live: Vec<&NodeHost> =
            hosts.values().filter(|h| h.region == region && h.state != HostState::Left).collect();
        if live.len() >= MAX_HOSTS_PER_REGION {
            return Err(HostError::NodeHostQuotaExceededFault(format!(
                "A region has at most {MAX_HOSTS_PER_REGION} node hosts."
            )));
        }
        if let Some(other) = live.iter().find(|h| {
            h.advertise_host.eq_ignore_ascii_case(&input.advertise_host)
                && h.port_start <= port_end
                && port_start <= h.port_end
        }) {
            return Err(invalid(format!(
                "The ports {port_start}-{port_end} of {} overlap those of node host {}.",
                input.advertise_host, other.id
            )));
        }
        let id = format!("nh-{}", self.env.ids.chars(base::HEX, 17));
        let now = self.env.clock.epoch();
        let host = NodeHost {
            region: region.to_owned(),
            arn: self.arn(region, &id),
            id,
            availability_zone: input.availability_zone,
            advertise_host: input.advertise_host,
            port_start,
            port_end,
            principal_arn: input.principal_arn,
            joined: now,
            last_heartbeat: now,
            state: HostState::Active,
            left: None,
            replication_port,
        };
        self.save(&mut hosts, host)
    }

    /// The host `id` of `region`, to be changed by `principal_arn`.
    fn owned<'a>(
        hosts: &'a BTreeMap<String, NodeHost>,
        region: &str,
        id: &str,
        principal_arn: &str,
    ) -> Result<&'a NodeHost, HostError> {
        let host = hosts.get(&format!("{region}/{id}")).ok_or_else(|| not_found(id))?;
        if host.principal_arn != principal_arn {
            return Err(HostError::AccessDeniedException(format!(
                "User: {principal_arn} is not the principal that joined node host {id}"
            )));
        }
        if host.state == HostState::Left {
            return Err(HostError::InvalidNodeHostStateFault(format!("Node host {id} has left.")));
        }
        Ok(host)
    }

    /// The host `id` of `region`, if `principal_arn` joined it and it has not left: the
    /// check of every call a host makes about its own work.
    ///
    /// # Errors
    /// `NodeHostNotFoundFault`, `AccessDeniedException` (another principal),
    /// `InvalidNodeHostStateFault` (it left).
    pub fn owned_by(&self, region: &str, id: &str, principal_arn: &str) -> Result<NodeHost, HostError> {
        Self::owned(&self.read(), region, id, principal_arn).cloned()
    }

    /// A heartbeat: the host is `active` from now. Returns it and its state before.
    ///
    /// # Errors
    /// `NodeHostNotFoundFault`, `AccessDeniedException` (another principal),
    /// `InvalidNodeHostStateFault` (it left), `InternalFailure`.
    pub fn heartbeat(&self, region: &str, id: &str, principal_arn: &str) -> Result<(NodeHost, HostState), HostError> {
        let mut hosts = self.write();
        let mut host = Self::owned(&hosts, region, id, principal_arn)?.clone();
        let before = host.state;
        host.last_heartbeat = self.env.clock.epoch();
        host.state = HostState::Active;
        Ok((self.save(&mut hosts, host)?, before))
    }

    /// The host leaves: `left`, listed for [`LEFT_RETENTION_SECS`] more.
    ///
    /// # Errors
    /// As [`NodeHosts::heartbeat`].
    pub fn leave(&self, region: &str, id: &str, principal_arn: &str) -> Result<NodeHost, HostError> {
        let mut hosts = self.write();
        let mut host = Self::owned(&hosts, region, id, principal_arn)?.clone();
        host.state = HostState::Left;
        host.left = Some(self.env.clock.epoch());
        self.save(&mut hosts, host)
    }

    /// Forget a host (an operator's call for a host that will not come back).
    ///
    /// # Errors
    /// `NodeHostNotFoundFault`, `InternalFailure`.
    pub fn remove(&self, region: &str, id: &str) -> Result<NodeHost, HostError> {
        let mut hosts = self.write();
        let key = format!("{region}/{id}");
        let host = hosts.get(&key).cloned().ok_or_else(|| not_found(id))?;
        self.store.apply(&[Op::delete(NS_HOSTS, key.clone())])?;
        hosts.remove(&key);
        self.serving.write().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&key);
        Ok(host)
    }

    /// The hosts of `region` in id order, those of `ids` only when given.
    ///
    /// # Errors
    /// `NodeHostNotFoundFault` for an id of `ids` that is not a host; the paging errors of
    /// DAX's `MaxResults` and `NextToken`.
    pub fn describe(&self, region: &str, ids: Option<&[String]>, paging: &Paging) -> Result<Page<NodeHost>, HostError> {
        let hosts = self.read();
        let mut chosen: Vec<(String, NodeHost)> = Vec::new();
        match ids {
            Some(ids) => {
                for id in ids {
                    let host = hosts.get(&format!("{region}/{id}")).ok_or_else(|| not_found(id))?;
                    chosen.push((id.clone(), host.clone()));
                }
                chosen.sort_by(|a, b| a.0.cmp(&b.0));
                chosen.dedup_by(|a, b| a.0 == b.0);
            }
            None => {
                chosen = hosts.values().filter(|h| h.region == region).map(|h| (h.id.clone(), h.clone())).collect();
            }
        }
        crate::page::paginate(chosen, paging).map_err(|e| invalid(e.message()))
    }

    /// Mark the hosts whose heartbeats stopped `unreachable` and forget those that left
    /// long ago, in one batch; returns what changed.
    ///
    /// # Errors
    /// `InternalFailure` when the store fails; nothing changes then.
    pub fn tick(&self) -> Result<Vec<HostChange>, HostError> {
        let now = self.env.clock.epoch();
        let due = |h: &NodeHost| match h.state {
            HostState::Active => h.last_heartbeat.max(self.opened) + self.timeout < now,
            HostState::Unreachable => false,
            HostState::Left => h.left.unwrap_or(h.last_heartbeat) + LEFT_RETENTION_SECS < now,
        };
        if !self.read().values().any(due) {
            return Ok(Vec::new());
        }
        let mut hosts = self.write();
        let mut ops = Vec::new();
        let mut changes = Vec::new();
        for h in hosts.values().filter(|h| due(h)) {
            if h.state == HostState::Left {
                ops.push(Op::delete(NS_HOSTS, h.key()));
                changes.push(HostChange::Forgotten(h.clone()));
            } else {
                let next = NodeHost { state: HostState::Unreachable, ..h.clone() };
                ops.push(Op::put_json(NS_HOSTS, next.key(), &next)?);
                changes.push(HostChange::Unreachable(next));
            }
        }
        self.store.apply(&ops)?;
        for change in &changes {
            match change {
                HostChange::Unreachable(h) => hosts.insert(h.key(), h.clone()),
                HostChange::Forgotten(h) => hosts.remove(&h.key()),
            };
        }
        Ok(changes)
    }
}

/// A host as placement sees it, for one new node of one cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<'a> {
    pub id: &'a str,
    pub zone: &'a str,
    pub state: HostState,
    /// Ports of its range no node uses.
    pub free_ports: u32,
    /// Nodes it runs, of any cluster.
    pub nodes: u32,
    /// Nodes it runs of the cluster the new node joins.
    pub cluster_nodes: u32,
}

/// The host for one new node of a cluster (docs/node-hosts.md, "Placement"): an `active`
/// host with a free port, in `zone` when one is asked, else in the zone holding the fewest
/// of the cluster's nodes; one running none of the cluster's nodes first, then the least
/// loaded, then the lowest id. `None` when no host qualifies.
#[must_use]
pub fn place<'a>(candidates: &[Candidate<'a>], zone: Option<&str>) -> Option<&'a str> {
    let usable: Vec<&Candidate<'a>> = candidates
        .iter()
        .filter(|c| c.state == HostState::Active && c.free_ports > 0 && zone.is_none_or(|z| c.zone == z))
        .collect();
    // The cluster's nodes per zone, on every host (an unreachable host's nodes still count).
    let mut per_zone: BTreeMap<&str, u32> = BTreeMap::new();
    for c in candidates {
        *per_zone.entry(c.zone).or_default() += c.cluster_nodes;
    }
    let zone = usable.iter().map(|c| c.zone).min_by_key(|z| (per_zone.get(z).copied().unwrap_or(0), *z))?;
    usable.into_iter().filter(|c| c.zone == zone).min_by_key(|c| (c.cluster_nodes > 0, c.nodes, c.id)).map(|c| c.id)
}

#[cfg(test)]
mod tests {
    use base::{ManualClock, SeqIds};

    use super::*;

    const R1: &str = "us-east-1";
    const ALICE: &str = "arn:aws:iam::123456789012:user/alice";
    const BOB: &str = "arn:aws:iam::123456789012:user/bob";

    struct Fixture {
        clock: Arc<ManualClock>,
        store: Arc<Store>,
        hosts: NodeHosts,
    }

    fn fixture() -> Fixture {
        let clock = Arc::new(ManualClock::at(1_700_000_000));
        let store = Arc::new(Store::in_memory().expect("store"));
        let env = Env { clock: Arc::clone(&clock) as Arc<dyn base::Clock>, ids: Arc::new(SeqIds::default()) };
        let hosts = NodeHosts::open("123456789012", env, Arc::clone(&store), Duration::from_secs(30)).expect("open");
        Fixture { clock, store, hosts }
    }

    fn input(zone: &str, host: &str, ports: (i64, i64)) -> JoinInput {
        JoinInput {
            availability_zone: zone.to_owned(),
            advertise_host: host.to_owned(),
            port_start: ports.0,
            port_end: ports.1,
            principal_arn: ALICE.to_owned(),
            replication_port: 0,
        }
    }

    fn reopened(f: &Fixture) -> Vec<NodeHost> {
        let env = Env { clock: Arc::clone(&f.clock) as Arc<dyn base::Clock>, ids: Arc::new(SeqIds::default()) };
        let again = NodeHosts::open("123456789012", env, Arc::clone(&f.store), Duration::from_secs(30)).expect("open");
        let all = again.read().values().cloned().collect();
        all
    }

    #[test]
    fn join_heartbeat_leave_and_listing() {
        let f = fixture();
        let a = f.hosts.join(R1, input("us-east-1a", "10.0.0.1", (9100, 9199))).expect("join");
        assert!(a.id.starts_with("nh-") && a.id.len() == 20, "{}", a.id);
        assert_eq!(a.arn, format!("arn:aws:daxd:us-east-1:123456789012:node-host/{}", a.id));
        assert_eq!(
            (a.state, a.port_start, a.port_end, a.principal_arn.as_str()),
            (HostState::Active, 9100, 9199, ALICE)
        );
        let b = f.hosts.join(R1, input("us-east-1b", "10.0.0.1", (9200, 9299))).expect("same address, other ports");
        let listed = f.hosts.describe(R1, None, &Paging::default()).expect("describe");
        assert_eq!(listed.items.len(), 2);
        assert!(f.hosts.describe("eu-west-1", None, &Paging::default()).expect("other region").items.is_empty());
        let only_b = f.hosts.describe(R1, Some(std::slice::from_ref(&b.id)), &Paging::default()).expect("by id");
        assert_eq!(only_b.items, vec![b.clone()]);
        assert_eq!(
            f.hosts.describe(R1, Some(&["nh-0".to_owned()]), &Paging::default()).unwrap_err().code(),
            "NodeHostNotFoundFault"
        );

        f.clock.advance_secs(10);
        let (beat, before) = f.hosts.heartbeat(R1, &a.id, ALICE).expect("heartbeat");
        assert_eq!((before, beat.last_heartbeat), (HostState::Active, a.joined + 10.0));
        assert_eq!(f.hosts.heartbeat(R1, &a.id, BOB).unwrap_err().code(), "AccessDeniedException");
        assert_eq!(f.hosts.leave(R1, &a.id, BOB).unwrap_err().code(), "AccessDeniedException");
        let left = f.hosts.leave(R1, &a.id, ALICE).expect("leave");
        assert_eq!((left.state, left.left), (HostState::Left, Some(a.joined + 10.0)));
        assert_eq!(f.hosts.heartbeat(R1, &a.id, ALICE).unwrap_err().code(), "InvalidNodeHostStateFault");
        assert_eq!(f.hosts.leave(R1, &a.id, ALICE).unwrap_err().code(), "InvalidNodeHostStateFault");
        assert_eq!(f.hosts.heartbeat(R1, "nh-nope", ALICE).unwrap_err().code(), "NodeHostNotFoundFault");
        // A left host's ports are free again.
        f.hosts.join(R1, input("us-east-1a", "10.0.0.1", (9100, 9100))).expect("rejoin");
        // Durable: a reopened registry holds the same.
        let mem: Vec<NodeHost> = f.hosts.read().values().cloned().collect();
        assert_eq!(reopened(&f), mem);

        let removed = f.hosts.remove(R1, &b.id).expect("remove");
        assert_eq!(removed.id, b.id);
        assert_eq!(f.hosts.remove(R1, &b.id).unwrap_err().code(), "NodeHostNotFoundFault");
        assert_eq!(f.hosts.heartbeat(R1, &b.id, ALICE).unwrap_err().code(), "NodeHostNotFoundFault");
    }

    #[test]
    fn join_input_is_checked() {
        let f = fixture();
        let cases: &[(&str, &str, (i64, i64), &str)] = &[
            ("us-west-2a", "h", (1, 2), "not a zone of the region us-east-1"),
            ("us-east-1", "h", (1, 2), "not a zone"),
            ("us-east-1ab", "h", (1, 2), "not a zone"),
            ("us-east-1A", "h", (1, 2), "not a zone"),
            ("us-east-1a", "", (1, 2), "AdvertiseHost"),
            ("us-east-1a", "a b", (1, 2), "AdvertiseHost"),
            ("us-east-1a", "h", (0, 2), "between 1 and 65535"),
            ("us-east-1a", "h", (5, 4), "empty or reversed"),
            ("us-east-1a", "h", (1, 70000), "between 1 and 65535"),
            ("us-east-1a", "h", (-1, 2), "between 1 and 65535"),
            ("us-east-1a", "h", (1000, 2000), "at most 1000 ports"),
        ];
        for (zone, host, ports, says) in cases {
            let e = f.hosts.join(R1, input(zone, host, *ports)).unwrap_err();
            assert_eq!(e.code(), "InvalidParameterValueException", "{zone} {host} {ports:?}");
            assert!(e.message().contains(says), "{zone} {host} {ports:?}: {}", e.message());
        }
        f.hosts.join(R1, input("us-east-1a", "h", (1000, 1999))).expect("1000 ports");
        let e = f.hosts.join(R1, input("us-east-1b", "H", (1999, 2005))).unwrap_err();
        assert!(e.message().contains("overlap"), "{}", e.message());
        assert!(f.store.dump().expect("dump").len() == 1, "a refused join writes nothing");
    }

    #[test]
    fn quota_per_region() {
        let f = fixture();
        for i in 0..MAX_HOSTS_PER_REGION {
            f.hosts.join(R1, input("us-east-1a", &format!("h{i}"), (1, 1))).expect("join");
        }
        let e = f.hosts.join(R1, input("us-east-1a", "more", (1, 1))).unwrap_err();
        assert_eq!(e.code(), "NodeHostQuotaExceededFault");
        f.hosts.join("eu-west-1", input("eu-west-1a", "more", (1, 1))).expect("another region");
    }

    #[test]
    fn missed_heartbeats_make_a_host_unreachable_and_a_heartbeat_brings_it_back() {
        let f = fixture();
        let a = f.hosts.join(R1, input("us-east-1a", "a", (1, 1))).expect("join");
        f.clock.advance_secs(30);
        assert_eq!(f.hosts.tick().expect("tick"), vec![], "exactly the timeout is not past it");
        f.clock.advance_secs(1);
        let changes = f.hosts.tick().expect("tick");
        assert!(matches!(&changes[..], [HostChange::Unreachable(h)] if h.id == a.id));
        assert_eq!(f.hosts.tick().expect("again"), vec![]);
        assert_eq!(reopened(&f)[0].state, HostState::Unreachable);
        let (back, before) = f.hosts.heartbeat(R1, &a.id, ALICE).expect("heartbeat");
        assert_eq!((before, back.state), (HostState::Unreachable, HostState::Active));
        // A left host is forgotten after the retention.
        f.hosts.leave(R1, &a.id, ALICE).expect("leave");
        f.clock.advance_secs(3600);
        assert_eq!(f.hosts.tick().expect("tick"), vec![]);
        f.clock.advance_secs(1);
        assert!(matches!(&f.hosts.tick().expect("tick")[..], [HostChange::Forgotten(h)] if h.id == a.id));
        assert!(f.hosts.describe(R1, None, &Paging::default()).expect("describe").items.is_empty());
        assert!(reopened(&f).is_empty());
    }

    #[test]
    fn after_a_restart_the_timeout_runs_from_the_restart() {
        let f = fixture();
        f.hosts.join(R1, input("us-east-1a", "a", (1, 1))).expect("join");
        f.clock.advance_secs(100);
        let env = Env { clock: Arc::clone(&f.clock) as Arc<dyn base::Clock>, ids: Arc::new(SeqIds::default()) };
        let again = NodeHosts::open("123456789012", env, Arc::clone(&f.store), Duration::from_secs(30)).expect("open");
        assert_eq!(again.tick().expect("tick"), vec![]);
        f.clock.advance_secs(31);
        assert_eq!(again.tick().expect("tick").len(), 1);
    }

    #[test]
    fn a_node_serves_while_its_host_is_active_and_reports_it() {
        let f = fixture();
        let a = f.hosts.join(R1, input("us-east-1a", "a", (1, 9))).expect("join");
        let node =
            |g: u64| ServingNode { cluster_arn: "arn:c".to_owned(), node_id: "c-a".to_owned(), port: 1, generation: g };
        assert!(!f.hosts.serves(R1, &a.id, &node(0)), "nothing reported yet");
        f.hosts.report_serving(R1, &a.id, BTreeSet::from([node(0)]));
        assert!(f.hosts.serves(R1, &a.id, &node(0)));
        assert!(!f.hosts.serves(R1, &a.id, &node(1)), "another incarnation");
        assert!(!f.hosts.serves(R1, "nh-other", &node(0)), "another host");
        f.clock.advance_secs(31);
        f.hosts.tick().expect("tick");
        assert!(!f.hosts.serves(R1, &a.id, &node(0)), "an unreachable host serves nothing");
        f.hosts.heartbeat(R1, &a.id, ALICE).expect("back");
        f.hosts.report_serving(R1, &a.id, BTreeSet::new());
        assert!(!f.hosts.serves(R1, &a.id, &node(0)), "the last report counts");
    }

    #[test]
    fn heartbeat_interval_is_a_third_of_the_timeout() {
        let f = fixture();
        assert_eq!((f.hosts.heartbeat_interval_secs(), f.hosts.timeout()), (10, Duration::from_secs(30)));
    }

    /// Invariant 6: each change is one batch, and a failed batch changes nothing, in
    /// memory or on disk.
    #[test]
    fn write_failures_change_nothing() {
        type Call = fn(&Fixture, &str) -> Result<(), HostError>;
        let cases: Vec<(&str, Call)> = vec![
            ("join", |f, _| f.hosts.join(R1, input("us-east-1b", "b", (1, 1))).map(drop)),
            ("heartbeat", |f, id| f.hosts.heartbeat(R1, id, ALICE).map(drop)),
            ("leave", |f, id| f.hosts.leave(R1, id, ALICE).map(drop)),
            ("remove", |f, id| f.hosts.remove(R1, id).map(drop)),
            ("tick", |f, _| {
                f.clock.advance_secs(31);
                f.hosts.tick().map(drop)
            }),
        ];
        for (name, call) in cases {
            let f = fixture();
            let a = f.hosts.join(R1, input("us-east-1a", "a", (1, 1))).expect("join");
            f.clock.advance_secs(5);
            let before = (format!("{:?}", *f.hosts.read()), f.store.dump().expect("dump"));
            f.store.fail_next_apply();
            let e = call(&f, &a.id).expect_err(name);
            assert_eq!(e.code(), "InternalFailure", "{name}");
            assert_eq!((format!("{:?}", *f.hosts.read()), f.store.dump().expect("dump")), before, "{name}");
            let batches = f.store.applied_batches();
            call(&f, &a.id).expect(name);
            assert_eq!(f.store.applied_batches(), batches + 1, "{name}: one batch");
        }
    }

    fn c(
        id: &'static str,
        zone: &'static str,
        state: HostState,
        free: u32,
        nodes: u32,
        mine: u32,
    ) -> Candidate<'static> {
        Candidate { id, zone, state, free_ports: free, nodes, cluster_nodes: mine }
    }

    #[test]
    fn placement_rule() {
        use HostState::{Active as A, Left as L, Unreachable as U};
        // (what the case shows, the candidates, the zone asked, the host chosen)
        type Case = (&'static str, Vec<Candidate<'static>>, Option<&'static str>, Option<&'static str>);
        let cases: Vec<Case> = vec![
            ("no hosts", vec![], None, None),
            ("only active hosts", vec![c("h1", "a", U, 5, 0, 0), c("h2", "a", L, 5, 0, 0)], None, None),
            ("a free port is needed", vec![c("h1", "a", A, 0, 0, 0), c("h2", "a", A, 1, 9, 0)], None, Some("h2")),
            ("the zone asked", vec![c("h1", "a", A, 5, 0, 0), c("h2", "b", A, 5, 7, 1)], Some("b"), Some("h2")),
            ("no host in the zone asked", vec![c("h1", "a", A, 5, 0, 0)], Some("b"), None),
            (
                "spread: the zone with fewest of the cluster's nodes",
                vec![c("h1", "a", A, 5, 0, 0), c("h2", "a", A, 5, 0, 1), c("h3", "b", A, 5, 3, 0)],
                None,
                Some("h3"),
            ),
            (
                "a node on an unreachable host still counts for its zone",
                vec![c("h1", "a", U, 5, 1, 1), c("h2", "a", A, 5, 0, 0), c("h3", "b", A, 5, 4, 0)],
                None,
                Some("h3"),
            ),
            ("zone ties go to the name", vec![c("h2", "b", A, 5, 0, 0), c("h1", "c", A, 5, 0, 0)], None, Some("h2")),
            (
                "never share a host while another in the zone is free",
                vec![c("h1", "a", A, 5, 0, 1), c("h2", "a", A, 5, 6, 0)],
                Some("a"),
                Some("h2"),
            ),
            (
                "share when every suitable host has one",
                vec![c("h1", "a", A, 5, 2, 1), c("h2", "a", A, 5, 1, 1), c("h3", "b", A, 0, 0, 0)],
                Some("a"),
                Some("h2"),
            ),
            ("least loaded", vec![c("h1", "a", A, 5, 3, 0), c("h2", "a", A, 5, 2, 0)], None, Some("h2")),
            ("then the lowest id", vec![c("h2", "a", A, 5, 1, 0), c("h1", "a", A, 5, 1, 0)], None, Some("h1")),
        ];
        for (name, candidates, zone, want) in cases {
            assert_eq!(place(&candidates, zone), want, "{name}");
        }
    }
}
