//! The fleet: every node listener of every cluster, started and stopped to match the
//! desired set the control plane describes, and the metrics of them all.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Handle;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::cluster::Peers;
use crate::config::FleetConfig;
use crate::conn;
use crate::faults::{Fault, FaultError, FaultKind};
use crate::host::{Host, NodeError, NodeSpec, PeerNode};
use crate::link::{replica_key, Links, PrimarySide, ReplicaSide};
use crate::metrics::{render_prometheus, Snapshot};
use crate::node::{Cluster, Node, Shared};
use crate::tls::HANDSHAKE_TIMEOUT;

/// One node of a roster, as [`Fleet::roster`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterEntry {
    /// Node id.
    pub node_id: String,
    /// Listening port.
    pub port: u16,
    /// Whether it takes writes.
    pub leader: bool,
}

/// Every node listener daxd runs.
pub struct Fleet {
    shared: Arc<Shared>,
    handle: Handle,
    clusters: Mutex<BTreeMap<String, Arc<Cluster>>>,
    warned: Mutex<HashSet<String>>,
    /// Per started listener: its generation, and whether its accept loop runs
    /// ([`Fleet::serving`]).
    accepting: Mutex<HashMap<ListenerKey, (u64, Arc<AtomicBool>)>>,
    /// On a node host: its links to the other hosts ([`Fleet::enable_replication`]).
    links: std::sync::OnceLock<Arc<Links>>,
}

/// A node's listener: (cluster ARN, node id).
type ListenerKey = (String, String);

/// Memory of a DAX node type, in bytes (the larger DAX node types have roughly 8 GiB per
/// vCPU; the burstable ones 2 or 4 GiB).
#[must_use]
pub fn node_type_memory(node_type: &str) -> Option<u64> {
    const GIB: u64 = 1 << 30;
    let size = node_type.rsplit('.').next()?;
    let family = node_type.split('.').nth(1).unwrap_or_default();
    if family.starts_with('t') {
        return match size {
            "small" => Some(2 * GIB),
            "medium" => Some(4 * GIB),
            _ => None,
        };
    }
    match size {
        "large" => Some(16 * GIB),
        "xlarge" => Some(32 * GIB),
        s => s.strip_suffix("xlarge")?.parse::<u64>().ok().map(|n| n * 32 * GIB),
    }
}

/// One accepted connection: the TLS handshake first on a TLS node (bounded in time; a
/// client that does not speak TLS gets rustls' alert and the connection is closed), then
/// the DAX protocol.
async fn connection(node: Arc<Node>, stream: TcpStream, tls: Option<TlsAcceptor>) {
    let _ = stream.set_nodelay(true);
    let Ok(local) = stream.local_addr() else { return };
    if node.faults.has(FaultKind::Stall) {
        // A stalled node does not even finish a TLS handshake.
        node.faults.before_answer().await;
    }
    let Some(acceptor) = tls else {
        conn::serve(node, stream, local.ip(), false).await;
        return;
    };
    // What crosses the socket is counted beneath TLS: the handshake and the records.
    let (meter, clock) = (node.meter.clone(), node.shared.config.clock.clone());
    let handshake = conn::timed(&meter, &clock, acceptor.accept(conn::Counted::new(stream, meter.clone())));
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Ok(Ok(tls_stream)) => conn::serve(node, tls_stream, local.ip(), true).await,
        Ok(Err(e)) => tracing::debug!(node = %node.id, error = %e, "TLS handshake failed"),
        Err(_) => tracing::debug!(node = %node.id, "TLS handshake timed out"),
    }
}

/// A connection over the node's limit: answer `ThrottlingException` and close, reading
/// what the client still sends so that the close does not reset the answer away
/// ([`conn::refuse`]; in the clear only: a TLS client gets the close). Bounded in time.
async fn shed(node: Arc<Node>, mut stream: TcpStream, plain: bool) {
    use tokio::io::AsyncWriteExt;
    let max = node.shared.config.max_connections;
    node.meter.inc(crate::metrics::Counter::ThrottledRequestCount);
    let _ = tokio::time::timeout(SHED_TIMEOUT, async {
        if plain {
            let e = NodeError::throttling(format!("Node {} has too many connections ({max})", node.id));
            conn::refuse(&mut stream, &crate::node::error_frame(&e, None)).await;
        } else {
            let _ = stream.shutdown().await;
        }
    })
    .await;
}

/// How long a shed connection is given to be told so.
const SHED_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

async fn accept_loop(node: Arc<Node>, listener: TcpListener, tls: Option<TlsAcceptor>, accepting: Arc<AtomicBool>) {
    let mut conns = JoinSet::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(node.shared.config.max_connections.max(1)));
    let mut faults = node.faults.subscribe();
    let Ok(addr) = listener.local_addr() else { return };
    let mut listener = Some(listener);
    // The socket is bound and listening (connections queue in its backlog) and this loop
    // now takes them: the node serves.
    accepting.store(true, Ordering::Release);
    loop {
        if *faults.borrow_and_update() & STOP_BIT != 0 {
            // A stopped node: the listening socket closes (new connections are refused,
            // those in its backlog reset) and so does every open connection.
            drop(listener.take());
            conns.abort_all();
            while conns.join_next().await.is_some() {}
            if faults.wait_for(|m| m & STOP_BIT == 0).await.is_err() {
                return;
            }
            listener = Some(rebind(addr, &mut faults).await);
            continue;
        }
        let Some(l) = listener.as_ref() else {
            listener = Some(rebind(addr, &mut faults).await);
            continue;
        };
        tokio::select! {
            r = l.accept() => match r {
                Ok((stream, _)) => match Arc::clone(&slots).try_acquire_owned() {
                    Ok(slot) => {
                        let (node, tls) = (Arc::clone(&node), tls.clone());
                        conns.spawn(async move {
                            connection(node, stream, tls).await;
                            drop(slot);
                        });
                    }
                    Err(_) => {
                        tokio::spawn(shed(Arc::clone(&node), stream, tls.is_none()));
                    }
                },
                Err(e) => {
                    tracing::debug!(node = %node.id, error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            r = faults.changed() => if r.is_err() { return },
        }
    }
}

const STOP_BIT: u32 = 1 << (FaultKind::Stop as u32);

/// Listen again on `addr` after a stop fault ended, retrying while the address is not
/// free yet (or while the node is stopped again meanwhile).
async fn rebind(addr: std::net::SocketAddr, faults: &mut tokio::sync::watch::Receiver<u32>) -> TcpListener {
    loop {
        if *faults.borrow() & STOP_BIT == 0 {
            match std::net::TcpListener::bind(addr)
                .and_then(|l| l.set_nonblocking(true).map(|()| l))
                .and_then(TcpListener::from_std)
            {
                Ok(l) => return l,
                Err(e) => tracing::debug!(%addr, error = %e, "cannot listen again yet"),
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

impl Fleet {
    /// A fleet with no nodes. Call it inside a Tokio runtime: listeners run on it.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    #[must_use]
    pub fn new(host: Arc<dyn Host>, config: FleetConfig) -> Arc<Self> {
        Arc::new(Fleet {
            shared: Arc::new(Shared::new(host, config)),
            handle: Handle::current(),
            clusters: Mutex::new(BTreeMap::new()),
            warned: Mutex::new(HashSet::new()),
            accepting: Mutex::new(HashMap::new()),
            links: std::sync::OnceLock::new(),
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &FleetConfig {
        &self.shared.config
    }

    /// Start, keep or stop listeners so that exactly the `running` nodes of `desired` serve.
    /// Clusters absent from `desired` are forgotten with their caches and registries; a
    /// listed node that is not running (rebooting) loses its cache. When the leader stops,
    /// the first running node (creation order) is promoted and the leader session id
    /// changes. Listeners that cannot bind are retried on the next call. The caches of a
    /// cluster's nodes take its TTLs ([`crate::ClusterInfo::record_ttl_ms`]) here, and
    /// only here.
    pub fn reconcile(&self, desired: &[NodeSpec]) {
        let mut clusters = self.clusters.lock().unwrap_or_else(PoisonError::into_inner);
        let mut groups: BTreeMap<&str, Vec<&NodeSpec>> = BTreeMap::new();
        for s in desired {
            groups.entry(s.cluster.arn.as_str()).or_default().push(s);
        }
        let gone: Vec<String> = clusters.keys().filter(|k| !groups.contains_key(k.as_str())).cloned().collect();
        for arn in gone {
            if let Some(state) = clusters.remove(&arn) {
                state.set_upstream(None);
                let mut roster = state.roster_mut();
                for n in roster.nodes.drain(..) {
                    n.stop();
                }
                roster.leader = None;
            }
        }
        for (arn, specs) in groups {
            let state = Arc::clone(
                clusters.entry(arn.to_owned()).or_insert_with(|| Arc::new(Cluster::new(specs[0].cluster.clone()))),
            );
            state.set_info(&specs[0].cluster);
            let mut roster = state.roster_mut();
            roster.nodes.retain(|n| {
                let keep = specs.iter().any(|s| {
                    s.node_id == n.id && s.running && s.tls == n.tls && s.port == n.port && s.generation == n.generation
                });
                if !keep {
                    tracing::info!(node = %n.id, "stopping DAX node listener");
                    n.stop();
                }
                keep
            });
            for s in specs.iter().filter(|s| s.running) {
                if roster.nodes.iter().any(|n| n.id == s.node_id) {
                    continue;
                }
                if s.tls && self.shared.config.tls.is_none() {
                    if self.warned.lock().unwrap_or_else(PoisonError::into_inner).insert(s.node_id.clone()) {
                        tracing::warn!(node = %s.node_id, "no TLS certificate: this daxs:// node is not started");
                    }
                    continue;
                }
                match self.start(&state, s) {
                    Ok(node) => {
                        tracing::info!(node = %s.node_id, port = s.port, tls = s.tls, "DAX node listening");
                        roster.nodes.push(node);
                    }
                    Err(e) => {
                        tracing::warn!(node = %s.node_id, port = s.port, error = %e, "cannot start DAX node listener")
                    }
                }
            }
            roster.nodes.sort_by_key(|n| specs.iter().position(|s| s.node_id == n.id).unwrap_or(usize::MAX));
            // The parameter group's TTLs, for what is cached already too.
            for n in &roster.nodes {
                n.cache.set_ttls(specs[0].cluster.record_ttl_ms, specs[0].cluster.query_ttl_ms);
            }
            let leader_ok = roster.leader.as_ref().is_some_and(|l| roster.nodes.iter().any(|n| &n.id == l));
            if !leader_ok {
                roster.leader = roster.nodes.first().map(|n| n.id.clone());
                if roster.leader.is_some() {
                    roster.leader_session_id =
                        self.shared.host.now_ms().max(roster.leader_session_id.saturating_add(1));
                }
            }
        }
        // Forget the accept flags of listeners that no longer run (out of the rosters).
        let running: HashSet<ListenerKey> = clusters
            .iter()
            .flat_map(|(arn, state)| state.nodes().into_iter().map(move |n| (arn.clone(), n.id.clone())))
            .collect();
        self.accepting.lock().unwrap_or_else(PoisonError::into_inner).retain(|k, _| running.contains(k));
    }

    /// The whole roster of a cluster spread over node hosts (every node on every host, as
    /// the control lists it) and its leader session id: what its nodes here answer the DAX
    /// `endpoints` call with. An empty roster goes back to the running nodes of this fleet.
    ///
    /// With replication enabled, the primary's host streams the cluster's cache updates to
    /// the hosts of its other nodes, and those hosts follow it (docs/node-hosts.md,
    /// "Replication"); a new primary elsewhere starts a new link.
    pub fn set_roster(&self, cluster_arn: &str, nodes: Vec<PeerNode>, leader_session_id: i64) {
        let Some(state) = self.clusters.lock().unwrap_or_else(PoisonError::into_inner).get(cluster_arn).cloned() else {
            return;
        };
        if let Some(links) = self.links.get() {
            let _rt = self.handle.enter();
            let primary = nodes.iter().find(|n| n.primary);
            let others: HashSet<String> =
                nodes.iter().map(|n| n.host_id.clone()).filter(|h| *h != links.host_id).collect();
            let current = state.upstream();
            let next: Option<Arc<dyn crate::cluster::Upstream>> = match primary {
                Some(p) if p.host_id == links.host_id => match &current {
                    Some(up) if up.key() == "primary" => {
                        if let Some(side) = up.as_any().downcast_ref::<PrimarySide>() {
                            *side.replicas.write().unwrap_or_else(PoisonError::into_inner) = others;
                        }
                        Some(Arc::clone(up))
                    }
                    _ => Some(Arc::new(PrimarySide::new(others, Arc::clone(&links.now_ms)))),
                },
                Some(p) => match &current {
                    Some(up) if up.key() == replica_key(&p.address, p.replication_port, &p.host_id) => {
                        Some(Arc::clone(up))
                    }
                    _ => Some(Arc::new(ReplicaSide::start(
                        Arc::clone(links),
                        &state,
                        &p.address,
                        p.replication_port,
                        &p.host_id,
                    ))),
                },
                None => None,
            };
            let changed = match (&current, &next) {
                (Some(a), Some(b)) => !Arc::ptr_eq(a, b),
                (None, None) => false,
                _ => true,
            };
            if changed {
                tracing::info!(cluster = %cluster_arn, role = ?next.as_ref().map(|u| u.key()), "replication role");
                state.set_upstream(next);
            }
        }
        state.set_peers((!nodes.is_empty()).then_some(Peers { nodes, leader_session_id }));
    }

    /// Replicate clusters spread over node hosts: this fleet is node host `host_id`, with
    /// the link TLS the control's CA vouches for, listening for links on `listener` (its
    /// port is what the host told the control). Call once, inside the fleet's runtime.
    ///
    /// # Errors
    /// When the listener cannot be used.
    pub fn enable_replication(
        self: &Arc<Self>,
        host_id: &str,
        tls: crate::tls::PeerTls,
        listener: std::net::TcpListener,
    ) -> std::io::Result<()> {
        listener.set_nonblocking(true)?;
        let _rt = self.handle.enter();
        let listener = TcpListener::from_std(listener)?;
        let host = Arc::clone(&self.shared.host);
        let links = Arc::new(Links {
            host_id: host_id.to_owned(),
            tls,
            now_ms: Arc::new(move || host.now_ms()),
            lags: Mutex::new(Vec::new()),
        });
        if self.links.set(Arc::clone(&links)).is_err() {
            return Ok(());
        }
        let weak = Arc::downgrade(self);
        let lookup: crate::link::Lookup = Arc::new(move |arn: &str| {
            weak.upgrade()?.clusters.lock().unwrap_or_else(PoisonError::into_inner).get(arn).cloned()
        });
        self.handle.spawn(crate::link::accept_loop(links, listener, lookup));
        Ok(())
    }

    /// The replication lag (milliseconds from the primary's stamp to the apply here) of
    /// each update this host applied from another, oldest first, and forget them.
    #[must_use]
    pub fn take_replication_lags_ms(&self) -> Vec<i64> {
        self.links
            .get()
            .map(|l| std::mem::take(&mut *l.lags.lock().unwrap_or_else(PoisonError::into_inner)))
            .unwrap_or_default()
    }

    /// Whether node `node_id` of the cluster `cluster_arn` serves on `port` in its
    /// `generation` (reboot count): its listener is bound, it is in the cluster's roster
    /// (so the `endpoints` call lists it), its accept loop runs, and, for a cluster spread
    /// over node hosts, this host follows the primary's stream. What the control plane
    /// waits for before it calls the node `available`.
    #[must_use]
    pub fn serving(&self, cluster_arn: &str, node_id: &str, port: u16, generation: u64) -> bool {
        let Some(state) = self.clusters.lock().unwrap_or_else(PoisonError::into_inner).get(cluster_arn).cloned() else {
            return false;
        };
        let listed = state.nodes().iter().any(|n| n.id == node_id && n.port == port && n.generation == generation);
        // A replica of a cluster spread over node hosts serves once it follows the primary.
        let in_sync = state.upstream().is_none_or(|u| u.in_sync());
        listed
            && in_sync
            && self
                .accepting
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&(cluster_arn.to_owned(), node_id.to_owned()))
                .is_some_and(|(g, flag)| *g == generation && flag.load(Ordering::Acquire))
    }

    fn start(&self, state: &Arc<Cluster>, s: &NodeSpec) -> std::io::Result<Arc<Node>> {
        let bind = self.shared.config.bind_host.as_deref().unwrap_or(&s.host);
        let std_listener = std::net::TcpListener::bind((bind, s.port))?;
        std_listener.set_nonblocking(true)?;
        let _rt = self.handle.enter();
        let listener = TcpListener::from_std(std_listener)?;
        let memory = node_type_memory(&s.cluster.node_type).unwrap_or(u64::MAX);
        let cache_bytes = self.shared.config.cache_bytes.min(memory);
        let node = Arc::new(Node::new(s, Arc::clone(state), cache_bytes, Arc::clone(&self.shared)));
        let tls = if s.tls { self.shared.config.tls.as_ref().map(crate::tls::NodeTls::acceptor) } else { None };
        let accepting = Arc::new(AtomicBool::new(false));
        self.accepting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((s.cluster.arn.clone(), s.node_id.clone()), (s.generation, Arc::clone(&accepting)));
        let task = self.handle.spawn(accept_loop(Arc::clone(&node), listener, tls, accepting));
        *node.task.lock().unwrap_or_else(PoisonError::into_inner) = Some(task);
        Ok(node)
    }

    /// The running node `node_id` of the cluster `cluster_arn`.
    fn node(&self, cluster_arn: &str, node_id: &str) -> Result<Arc<Node>, FaultError> {
        let state = self
            .clusters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(cluster_arn)
            .cloned()
            .ok_or_else(|| FaultError::ClusterNotFound(cluster_arn.to_owned()))?;
        state.nodes().into_iter().find(|n| n.id == node_id).ok_or_else(|| FaultError::NodeNotFound(node_id.to_owned()))
    }

    /// Put a running node in `fault` (a fault of the same kind already active takes the
    /// new parameter). It lasts until [`Fleet::clear`], or until the node stops or
    /// reboots: a node starts with no fault, so nothing outlives a restart of daxd.
    ///
    /// # Errors
    /// An unknown cluster or node, or a parameter out of range.
    pub fn inject(&self, cluster_arn: &str, node_id: &str, fault: Fault) -> Result<(), FaultError> {
        fault.validate()?;
        let node = self.node(cluster_arn, node_id)?;
        tracing::info!(node = %node_id, ?fault, "fault injected");
        node.faults.set(fault);
        Ok(())
    }

    /// End a node's fault of `kind`; whether it was active. A stopped node listens again,
    /// stalled requests are answered, and a replica that missed replication updates during
    /// a pause drops its caches (it refills from DynamoDB rather than serve what it missed).
    ///
    /// # Errors
    /// An unknown cluster or node.
    pub fn clear(&self, cluster_arn: &str, node_id: &str, kind: FaultKind) -> Result<bool, FaultError> {
        let node = self.node(cluster_arn, node_id)?;
        let was = node.faults.clear(kind);
        if kind == FaultKind::PauseReplication && node.faults.take_missed() {
            node.cache.clear();
        }
        if was {
            tracing::info!(node = %node_id, ?kind, "fault cleared");
        }
        Ok(was)
    }

    /// End every fault of every running node of a cluster (a stopped experiment).
    ///
    /// # Errors
    /// An unknown cluster.
    pub fn clear_cluster(&self, cluster_arn: &str) -> Result<(), FaultError> {
        let state = self
            .clusters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(cluster_arn)
            .cloned()
            .ok_or_else(|| FaultError::ClusterNotFound(cluster_arn.to_owned()))?;
        for n in state.nodes() {
            for kind in FaultKind::ALL {
                self.clear(cluster_arn, &n.id, kind)?;
            }
        }
        Ok(())
    }

    /// A node's active faults.
    ///
    /// # Errors
    /// An unknown cluster or node.
    pub fn faults(&self, cluster_arn: &str, node_id: &str) -> Result<Vec<Fault>, FaultError> {
        Ok(self.node(cluster_arn, node_id)?.faults.active())
    }

    /// Force a primary failover: the next running node after the primary (in creation
    /// order, wrapping, skipping stopped nodes) takes the writes, under a new leader
    /// session id; `endpoints` reports it at once. The new primary's id.
    ///
    /// # Errors
    /// An unknown cluster, or one with no other running node that is not stopped.
    pub fn failover(&self, cluster_arn: &str) -> Result<String, FaultError> {
        let state = self
            .clusters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(cluster_arn)
            .cloned()
            .ok_or_else(|| FaultError::ClusterNotFound(cluster_arn.to_owned()))?;
        let mut roster = state.roster_mut();
        let at = roster.leader.as_ref().and_then(|l| roster.nodes.iter().position(|n| &n.id == l)).unwrap_or(0);
        let count = roster.nodes.len();
        let next = (1..count)
            .map(|i| &roster.nodes[(at + i) % count])
            .find(|n| !n.faults.has(FaultKind::Stop))
            .map(|n| n.id.clone())
            .ok_or_else(|| FaultError::NoFailoverTarget(cluster_arn.to_owned()))?;
        tracing::info!(cluster = %cluster_arn, leader = %next, "forced primary failover");
        roster.leader = Some(next.clone());
        roster.leader_session_id = self.shared.host.now_ms().max(roster.leader_session_id.saturating_add(1));
        Ok(next)
    }

    /// Stop every listener (shutdown).
    pub fn stop_all(&self) {
        self.reconcile(&[]);
    }

    /// The running nodes of a cluster and its leader session id.
    #[must_use]
    pub fn roster(&self, cluster_arn: &str) -> Option<(Vec<RosterEntry>, i64)> {
        let state = self.clusters.lock().unwrap_or_else(PoisonError::into_inner).get(cluster_arn).cloned()?;
        let (nodes, leader, session) = state.roster_view();
        Some((
            nodes
                .iter()
                .map(|n| RosterEntry {
                    node_id: n.id.clone(),
                    port: n.port,
                    leader: leader.as_deref() == Some(n.id.as_str()),
                })
                .collect(),
            session,
        ))
    }

    /// KiB of the frame budget not drawn now (tests wait on it).
    #[cfg(test)]
    pub(crate) fn frame_budget_available_kib(&self) -> usize {
        self.shared.frame_budget.available_permits()
    }

    /// Metrics of every running node and of every cluster. Reading them is what advances
    /// each node's per-minute figures, at the first reading of each minute of daxd's clock
    /// (the background tick reads them at every minute's start).
    #[must_use]
    pub fn metrics(&self) -> (Vec<Snapshot>, Vec<Snapshot>) {
        let clusters: Vec<Arc<Cluster>> =
            self.clusters.lock().unwrap_or_else(PoisonError::into_inner).values().cloned().collect();
        let now_ms = self.shared.host.now_ms();
        let mut nodes = Vec::new();
        let mut totals = Vec::new();
        for c in clusters {
            let info = c.info();
            let node_type = crate::metrics::node_type(&info.node_type);
            let (mut size, mut entries, mut figures) = (0, 0, Vec::new());
            for n in c.nodes() {
                let (s, e) = (n.cache.weighted_size(), n.cache.entry_count());
                size += s;
                entries += e;
                let minute = n.meter.node.minute_figures(now_ms, node_type.as_ref());
                nodes.push(Snapshot::of(
                    vec![("region", info.region.clone()), ("cluster", info.name.clone()), ("node", n.id.clone())],
                    &n.meter.node,
                    s,
                    e,
                    minute.clone(),
                ));
                figures.push(minute);
            }
            totals.push(Snapshot::of(
                vec![("region", info.region.clone()), ("cluster", info.name.clone())],
                &c.metrics,
                size,
                entries,
                crate::metrics::cluster_figures(&figures),
            ));
        }
        (nodes, totals)
    }

    /// The metrics in Prometheus text format.
    #[must_use]
    pub fn render_prometheus(&self) -> String {
        let (nodes, clusters) = self.metrics();
        render_prometheus(&nodes, &clusters)
    }

    /// Cache capacity of a running node, in bytes.
    #[must_use]
    pub fn node_cache_capacity(&self, cluster_arn: &str, node_id: &str) -> Option<u64> {
        let state = self.clusters.lock().unwrap_or_else(PoisonError::into_inner).get(cluster_arn).cloned()?;
        state.nodes().iter().find(|n| n.id == node_id).map(|n| n.cache.capacity())
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let clusters = std::mem::take(&mut *self.clusters.lock().unwrap_or_else(PoisonError::into_inner));
        for state in clusters.values() {
            let mut roster = state.roster_mut();
            for n in roster.nodes.drain(..) {
                n.stop();
            }
        }
    }
}
