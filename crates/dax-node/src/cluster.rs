//! What the nodes of one cluster share: the attribute-list registry, the key schemas, the
//! roster (which node leads, the leader session id) and the cluster's metrics.
//!
//! The roster holds the running nodes, and each node holds its cluster: the state is
//! generic over the node type ([`Member`]), so that this file needs nothing of a node but
//! its id.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use dax_wire::KeySchema;

use crate::host::{BoxFuture, ClusterInfo, NodeError, PeerNode};
use crate::metrics::Metrics;
use crate::replication::CacheUpdate;

/// Attribute lists clients may define per cluster (DAX keeps them forever; this bounds
/// memory against clients that make up attribute names without end).
pub(crate) const MAX_ATTRIBUTE_LISTS: usize = 1_000_000;

/// How long a key schema read with DescribeTable is trusted; after that, requests go on
/// with it while one of them refreshes it in the background.
pub(crate) const SCHEMA_TTL: Duration = Duration::from_secs(60);
/// How long a refresh may take before another request starts one.
pub(crate) const SCHEMA_RETRY: Duration = Duration::from_secs(10);

/// Attribute-list ids: a deterministic hash of the names (FNV-1a, 53 bits, never 0 or 1),
/// so the same list gets the same id on every node, after a reboot and after a restart —
/// clients cache ids per node for as long as they run.
#[derive(Default)]
pub(crate) struct Registry {
    by_names: HashMap<Vec<String>, u64>,
    by_id: HashMap<u64, Arc<Vec<String>>>,
}

fn fnv(names: &[String]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for n in names {
        for b in n.as_bytes().iter().chain(std::iter::once(&0xffu8)) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// Largest id a JavaScript client decodes as a plain number (2^53 − 1).
const MAX_ID: u64 = (1 << 53) - 1;

impl Registry {
    /// Take a list another host defined, under its id (the same hash gives the same id
    /// unless a collision probed past it); false when the id names another list here.
    fn define(&mut self, id: u64, names: &[String]) -> bool {
        if !(2..=MAX_ID).contains(&id) {
            return false;
        }
        match self.by_id.get(&id) {
            Some(known) => known.as_slice() == names,
            None if self.by_id.len() >= MAX_ATTRIBUTE_LISTS || self.by_names.contains_key(names) => false,
            None => {
                self.by_names.insert(names.to_vec(), id);
                self.by_id.insert(id, Arc::new(names.to_vec()));
                true
            }
        }
    }

    fn id_for(&mut self, names: &[String]) -> Result<u64, NodeError> {
        if names.is_empty() {
            return Ok(1);
        }
        if let Some(id) = self.by_names.get(names) {
            return Ok(*id);
        }
        if self.by_id.len() >= MAX_ATTRIBUTE_LISTS {
            return Err(NodeError::new(
                "LimitExceededException",
                "Too many distinct attribute name lists on this cluster",
                400,
            ));
        }
        let mut id = (fnv(names) & MAX_ID).max(2);
        while self.by_id.contains_key(&id) {
            id = if id >= MAX_ID { 2 } else { id + 1 };
        }
        self.by_names.insert(names.to_vec(), id);
        self.by_id.insert(id, Arc::new(names.to_vec()));
        Ok(id)
    }
}

/// How the nodes of a cluster spread over node hosts reach the other hosts
/// (`crate::link`): the primary's host orders every cache update and streams it to the
/// replicas' hosts; a replica's host sends its own updates and its writes' DynamoDB calls
/// to the primary's.
pub(crate) trait Upstream: Send + Sync {
    /// A cache update made on this host (already applied to its nodes), for every node on
    /// the other hosts.
    fn publish(&self, update: CacheUpdate);
    /// Whether writes' DynamoDB calls go to another host (the primary's).
    fn forwards_writes(&self) -> bool;
    /// A write's DynamoDB call, made by the primary's host.
    fn write(&self, op: String, input: serde_json::Value) -> BoxFuture<'static, Result<serde_json::Value, NodeError>>;
    /// Whether this host is in the cluster's stream: the primary's always; a replica's once
    /// its link to the primary is up (its nodes count as serving only then).
    fn in_sync(&self) -> bool;
    /// What it is: `primary`, or the primary it follows (a change of it starts a new link).
    fn key(&self) -> String;
    /// For the link listener to reach the primary's side.
    fn as_any(&self) -> &dyn std::any::Any;
}

/// What the roster needs of a node.
pub(crate) trait Member {
    /// The node id (`<cluster>-a`, …).
    fn id(&self) -> &str;
}

/// The roster: running nodes in creation order, the leader, the leader session id.
pub(crate) struct Roster<N> {
    pub nodes: Vec<Arc<N>>,
    pub leader: Option<String>,
    pub leader_session_id: i64,
}

impl<N> Default for Roster<N> {
    fn default() -> Self {
        Roster { nodes: Vec::new(), leader: None, leader_session_id: 0 }
    }
}

/// One cluster's shared state, with nodes of type `N`.
pub(crate) struct ClusterState<N> {
    pub info: RwLock<Arc<ClusterInfo>>,
    registry: RwLock<Registry>,
    schemas: RwLock<HashMap<String, (Arc<KeySchema>, Instant)>>,
    pub roster: RwLock<Roster<N>>,
    pub metrics: Arc<Metrics>,
    seq: AtomicU64,
    /// For a cluster spread over node hosts: every node of it on every host and the leader
    /// session id, as the control said last; `None` for a cluster whose nodes all run in
    /// this fleet (its roster is the running nodes).
    peers: RwLock<Option<Arc<Peers>>>,
    /// The link to the other hosts of a cluster spread over node hosts.
    upstream: RwLock<Option<Arc<dyn Upstream>>>,
}

/// The whole roster of a cluster spread over node hosts.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Peers {
    pub nodes: Vec<PeerNode>,
    pub leader_session_id: i64,
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

impl<N: Member> ClusterState<N> {
    pub(crate) fn new(info: ClusterInfo) -> Self {
        ClusterState {
            info: RwLock::new(Arc::new(info)),
            registry: RwLock::new(Registry::default()),
            schemas: RwLock::new(HashMap::new()),
            roster: RwLock::new(Roster::default()),
            metrics: Arc::new(Metrics::default()),
            seq: AtomicU64::new(1),
            peers: RwLock::new(None),
            upstream: RwLock::new(None),
        }
    }

    pub(crate) fn info(&self) -> Arc<ClusterInfo> {
        Arc::clone(&read(&self.info))
    }

    pub(crate) fn set_info(&self, info: &ClusterInfo) {
        if **read(&self.info) != *info {
            *write(&self.info) = Arc::new(info.clone());
        }
    }

    /// The whole roster, for a cluster spread over node hosts.
    pub(crate) fn peers(&self) -> Option<Arc<Peers>> {
        read(&self.peers).clone()
    }

    pub(crate) fn set_peers(&self, peers: Option<Peers>) {
        let mut p = write(&self.peers);
        if p.as_deref() != peers.as_ref() {
            *p = peers.map(Arc::new);
        }
    }

    /// The link to the other hosts, for a cluster spread over node hosts.
    pub(crate) fn upstream(&self) -> Option<Arc<dyn Upstream>> {
        read(&self.upstream).clone()
    }

    pub(crate) fn set_upstream(&self, upstream: Option<Arc<dyn Upstream>>) {
        *write(&self.upstream) = upstream;
    }

    /// An attribute list another host defined (see [`Registry::define`]).
    pub(crate) fn define_list(&self, id: u64, names: &[String]) -> bool {
        if read(&self.registry).by_id.get(&id).is_some_and(|n| n.as_slice() == names) {
            return true;
        }
        write(&self.registry).define(id, names)
    }

    /// The next replication sequence number (a later write wins on every node).
    pub(crate) fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    /// `defineAttributeListId`.
    pub(crate) fn attribute_list_id(&self, names: &[String]) -> Result<u64, NodeError> {
        if names.is_empty() {
            return Ok(1);
        }
        if let Some(id) = read(&self.registry).by_names.get(names) {
            return Ok(*id);
        }
        write(&self.registry).id_for(names)
    }

    /// `defineAttributeList`.
    pub(crate) fn attribute_list(&self, id: u64) -> Option<Arc<Vec<String>>> {
        if id == 1 {
            return Some(Arc::new(Vec::new()));
        }
        read(&self.registry).by_id.get(&id).cloned()
    }

    /// A cached key schema, and whether the caller is to refresh it: it is older than
    /// [`SCHEMA_TTL`], and no other caller took the refresh within [`SCHEMA_RETRY`].
    pub(crate) fn cached_schema(&self, table: &str) -> Option<(Arc<KeySchema>, bool)> {
        let stale = |at: &Instant| at.elapsed() >= SCHEMA_TTL;
        match read(&self.schemas).get(table) {
            None => return None,
            Some((s, at)) if !stale(at) => return Some((Arc::clone(s), false)),
            Some(_) => {}
        }
        let mut w = write(&self.schemas);
        let (s, at) = w.get_mut(table)?;
        if !stale(at) {
            return Some((Arc::clone(s), false));
        }
        // Taken: fresh for the others for SCHEMA_RETRY (its age set back to SCHEMA_TTL less
        // that), unless the refresh stores it sooner.
        *at += at.elapsed().saturating_sub(SCHEMA_TTL - SCHEMA_RETRY);
        Some((Arc::clone(s), true))
    }

    pub(crate) fn store_schema(&self, table: &str, schema: KeySchema) -> Arc<KeySchema> {
        let s = Arc::new(schema);
        write(&self.schemas).insert(table.to_owned(), (Arc::clone(&s), Instant::now()));
        s
    }

    /// Forget a table's schema (it was not found).
    pub(crate) fn forget_schema(&self, table: &str) {
        write(&self.schemas).remove(table);
    }

    /// The node that takes writes.
    pub(crate) fn leader(&self) -> Option<Arc<N>> {
        let r = read(&self.roster);
        let id = r.leader.as_ref()?;
        r.nodes.iter().find(|n| n.id() == id).cloned()
    }

    /// Every running node.
    pub(crate) fn nodes(&self) -> Vec<Arc<N>> {
        read(&self.roster).nodes.clone()
    }

    /// `(nodes, leader id, leader session id)`.
    pub(crate) fn roster_view(&self) -> (Vec<Arc<N>>, Option<String>, i64) {
        let r = read(&self.roster);
        (r.nodes.clone(), r.leader.clone(), r.leader_session_id)
    }

    pub(crate) fn roster_mut(&self) -> std::sync::RwLockWriteGuard<'_, Roster<N>> {
        write(&self.roster)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct N;
    impl Member for N {
        fn id(&self) -> &str {
            "n"
        }
    }

    #[test]
    fn an_aged_schema_is_served_and_refreshed_by_one_caller() {
        let c = ClusterState::<N>::new(ClusterInfo {
            region: "r".into(),
            name: "c".into(),
            arn: "a".into(),
            iam_role_arn: "i".into(),
            node_type: "dax.t3.small".into(),
            record_ttl_ms: 0,
            query_ttl_ms: 0,
        });
        assert!(c.cached_schema("t").is_none());
        let s = c.store_schema("t", KeySchema::hash_only("pk", dax_wire::KeyType::S));
        assert_eq!(c.cached_schema("t"), Some((Arc::clone(&s), false)));
        let age = |by: Duration| write(&c.schemas).get_mut("t").unwrap().1 = Instant::now().checked_sub(by).unwrap();
        age(SCHEMA_TTL + Duration::from_secs(1));
        assert_eq!(c.cached_schema("t"), Some((Arc::clone(&s), true)), "aged: served, and this caller refreshes");
        assert_eq!(c.cached_schema("t"), Some((Arc::clone(&s), false)), "one refresh at a time");
        age(SCHEMA_TTL + SCHEMA_RETRY);
        assert_eq!(c.cached_schema("t"), Some((s, true)), "a refresh that did not come back is taken again");
    }

    #[test]
    fn attribute_list_ids_are_stable_and_distinct() {
        let mut a = Registry::default();
        let mut b = Registry::default();
        let l1 = vec!["a".to_owned(), "b".to_owned()];
        let l2 = vec!["ab".to_owned()];
        let i1 = a.id_for(&l1).unwrap();
        assert_eq!(b.id_for(&l1).unwrap(), i1, "same list, same id on another registry");
        assert_ne!(a.id_for(&l2).unwrap(), i1);
        assert_eq!(a.id_for(&[]).unwrap(), 1);
        assert!((2..=MAX_ID).contains(&i1));
        // A forced collision probes to the next free id.
        let taken = a.id_for(&l2).unwrap();
        a.by_id.insert(fnv(&["zz".to_owned()]) & MAX_ID, Arc::new(vec!["other".to_owned()]));
        let z = a.id_for(&["zz".to_owned()]).unwrap();
        assert_ne!(z, taken);
        assert_eq!(a.by_id.get(&z).unwrap().as_slice(), ["zz".to_owned()]);
    }
}
