//! Node and cluster metrics under DAX's CloudWatch names, rendered as Prometheus text,
//! and the figures derived from them once a minute of daxd's clock: CPU and network
//! utilization over the node type's vCPUs and baseline bandwidth, and the CPU credits of
//! burstable node types (`docs/metrics.md` has the formulas and their sources).
//!
//! A request only ever adds to atomics here: the bytes and reads/writes of its socket, the
//! time its connection task was polled. The derivations run when the metrics are read
//! ([`Ledger::advance`]), never on a request.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use dax_wire::Method;

macro_rules! counters {
    ($($name:ident),+ $(,)?) => {
        /// A counter, named as DAX's CloudWatch metric.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[allow(clippy::enum_variant_names)]
        pub enum Counter { $($name),+ }

        impl Counter {
            /// Every counter.
            pub const ALL: &'static [Counter] = &[$(Counter::$name),+];

            /// The CloudWatch metric name.
            #[must_use]
            pub fn name(self) -> &'static str {
                match self { $(Counter::$name => stringify!($name)),+ }
            }
        }
    };
}

counters!(
    ItemCacheHits,
    ItemCacheMisses,
    QueryCacheHits,
    QueryCacheMisses,
    ScanCacheHits,
    ScanCacheMisses,
    GetItemRequestCount,
    PutItemRequestCount,
    UpdateItemRequestCount,
    DeleteItemRequestCount,
    QueryRequestCount,
    ScanRequestCount,
    BatchGetItemRequestCount,
    BatchWriteItemRequestCount,
    TransactGetItemsCount,
    TransactWriteItemsCount,
    TotalRequestCount,
    ErrorRequestCount,
    FaultRequestCount,
    FailedRequestCount,
    ThrottledRequestCount,
    EvictedSize,
    NetworkBytesIn,
    NetworkBytesOut,
    NetworkPacketsIn,
    NetworkPacketsOut,
);

impl Counter {
    /// The per-operation request counter of a data method.
    #[must_use]
    pub fn request_count(method: Method) -> Option<Counter> {
        Some(match method {
            Method::GetItem => Counter::GetItemRequestCount,
            Method::PutItem => Counter::PutItemRequestCount,
            Method::UpdateItem => Counter::UpdateItemRequestCount,
            Method::DeleteItem => Counter::DeleteItemRequestCount,
            Method::Query => Counter::QueryRequestCount,
            Method::Scan => Counter::ScanRequestCount,
            Method::BatchGetItem => Counter::BatchGetItemRequestCount,
            Method::BatchWriteItem => Counter::BatchWriteItemRequestCount,
            Method::TransactGetItems => Counter::TransactGetItemsCount,
            Method::TransactWriteItems => Counter::TransactWriteItemsCount,
            _ => return None,
        })
    }
}

/// One set of counters (a node's or a cluster's), the `ClientConnections` gauge, the time
/// the node's connections were polled, and the per-minute figures derived from them.
#[derive(Debug)]
pub struct Metrics {
    counters: Vec<AtomicU64>,
    connections: AtomicI64,
    /// Nanoseconds the node's connection tasks spent being polled (nodes only).
    busy_ns: AtomicU64,
    /// The per-minute derivations, advanced when the metrics are read.
    ledger: Mutex<Ledger>,
    /// When (ms of daxd's clock) the node's first connection opened: the minute its
    /// first window opens in (`i64::MAX`: none yet).
    first_connection_ms: AtomicI64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            counters: Counter::ALL.iter().map(|_| AtomicU64::new(0)).collect(),
            connections: AtomicI64::new(0),
            busy_ns: AtomicU64::new(0),
            ledger: Mutex::new(Ledger::default()),
            first_connection_ms: AtomicI64::new(i64::MAX),
        }
    }
}

impl Metrics {
    /// A counter's value.
    #[must_use]
    pub fn get(&self, c: Counter) -> u64 {
        self.counters.get(c as usize).map_or(0, |a| a.load(Ordering::Relaxed))
    }

    fn add(&self, c: Counter, n: u64) {
        if let Some(a) = self.counters.get(c as usize) {
            a.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// A counter's value, with `FailedRequestCount` (any error) as the sum of the
    /// user errors (`ErrorRequestCount`, DAX throttling included) and the faults
    /// (`FaultRequestCount`): every error is counted under exactly one of them.
    fn failed_or(&self, c: Counter) -> u64 {
        if c == Counter::FailedRequestCount {
            self.get(Counter::ErrorRequestCount) + self.get(Counter::FaultRequestCount)
        } else {
            self.get(c)
        }
    }

    /// Open client connections.
    #[must_use]
    pub fn connections(&self) -> i64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// Nanoseconds the node's connection tasks have spent being polled.
    #[must_use]
    pub fn busy_nanos(&self) -> u64 {
        self.busy_ns.load(Ordering::Relaxed)
    }

    /// Take a reading at `now_ms` of daxd's clock and return the figures of the last
    /// closed minute ([`Ledger::advance`]) for a node of type `node_type`.
    pub(crate) fn minute_figures(&self, now_ms: i64, node_type: Option<&NodeType>) -> Vec<(&'static str, f64)> {
        let first = self.first_connection_ms.load(Ordering::Relaxed).min(now_ms);
        let reading = Reading {
            minute: now_ms.div_euclid(60_000),
            start_minute: first.div_euclid(60_000),
            busy_ns: self.busy_nanos(),
            bytes_in: self.get(Counter::NetworkBytesIn),
            bytes_out: self.get(Counter::NetworkBytesOut),
        };
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner).advance(reading, node_type).to_vec()
    }
}

/// Increments a node's counters and its cluster's together.
#[derive(Clone, Debug)]
pub(crate) struct Meter {
    pub node: Arc<Metrics>,
    pub cluster: Arc<Metrics>,
}

impl Meter {
    pub(crate) fn add(&self, c: Counter, n: u64) {
        self.node.add(c, n);
        self.cluster.add(c, n);
    }

    pub(crate) fn inc(&self, c: Counter) {
        self.add(c, 1);
    }

    /// `n` bytes read from the node's socket by one read.
    pub(crate) fn received(&self, n: usize) {
        self.add(Counter::NetworkBytesIn, n as u64);
        self.inc(Counter::NetworkPacketsIn);
    }

    /// `n` bytes written to the node's socket by one write.
    pub(crate) fn sent(&self, n: usize) {
        self.add(Counter::NetworkBytesOut, n as u64);
        self.inc(Counter::NetworkPacketsOut);
    }

    /// Time the node's connection task spent being polled (the node's only: a cluster's
    /// CPU figures are derived from its nodes').
    pub(crate) fn busy(&self, d: Duration) {
        self.node.busy_ns.fetch_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Count an open connection until the guard drops; `now_ms`, daxd's clock when it
    /// opened.
    pub(crate) fn connection(&self, now_ms: i64) -> ConnectionGuard {
        self.node.first_connection_ms.fetch_min(now_ms, Ordering::Relaxed);
        self.node.connections.fetch_add(1, Ordering::Relaxed);
        self.cluster.connections.fetch_add(1, Ordering::Relaxed);
        ConnectionGuard(self.clone())
    }
}

pub(crate) struct ConnectionGuard(Meter);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.node.connections.fetch_sub(1, Ordering::Relaxed);
        self.0.cluster.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A snapshot of one node's or cluster's metrics, for rendering.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// `region`, `cluster` and (for nodes) `node` labels.
    pub labels: Vec<(&'static str, String)>,
    /// Counter values by CloudWatch name.
    pub counters: Vec<(&'static str, u64)>,
    /// `ClientConnections`.
    pub client_connections: i64,
    /// `EstimatedDbSize`: bytes held by the cache(s).
    pub estimated_db_size: u64,
    /// Number of cached entries (`EstimatedDbItemCount`... kept as an extra gauge).
    pub cached_entries: u64,
    /// The figures of the last closed minute of daxd's clock, by CloudWatch name
    /// ([`MINUTE_FIGURES`]): only those the node type allows (none for a type daxd has
    /// no facts for; the credits for burstable types only).
    pub minute: Vec<(&'static str, f64)>,
}

impl Snapshot {
    pub(crate) fn of(
        labels: Vec<(&'static str, String)>,
        m: &Metrics,
        size: u64,
        entries: u64,
        minute: Vec<(&'static str, f64)>,
    ) -> Self {
        Snapshot {
            labels,
            counters: Counter::ALL.iter().map(|c| (c.name(), m.failed_or(*c))).collect(),
            client_connections: m.connections(),
            estimated_db_size: size,
            cached_entries: entries,
            minute,
        }
    }

    /// A figure of the last closed minute by CloudWatch name.
    #[must_use]
    pub fn figure(&self, name: &str) -> Option<f64> {
        self.minute.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    /// A counter by CloudWatch name.
    #[must_use]
    pub fn counter(&self, name: &str) -> Option<u64> {
        self.counters.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn labels(l: &[(&'static str, String)]) -> String {
    let inner: Vec<String> = l.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
    format!("{{{}}}", inner.join(","))
}

/// Prometheus text exposition (version 0.0.4) of node and cluster metrics: families
/// `dax_node_<CloudWatchName>` and `dax_cluster_<CloudWatchName>`.
#[must_use]
pub fn render_prometheus(nodes: &[Snapshot], clusters: &[Snapshot]) -> String {
    let mut out = String::new();
    for (scope, snaps) in [("node", nodes), ("cluster", clusters)] {
        for c in Counter::ALL {
            let family = format!("dax_{scope}_{}", c.name());
            let _ = writeln!(out, "# HELP {family} DAX {} per {scope}.", c.name());
            let _ = writeln!(out, "# TYPE {family} counter");
            for s in snaps {
                let _ = writeln!(out, "{family}{} {}", labels(&s.labels), s.counter(c.name()).unwrap_or(0));
            }
        }
        type Gauge = (&'static str, &'static str, fn(&Snapshot) -> i128);
        let gauges: [Gauge; 3] = [
            ("ClientConnections", "open client connections", |s| i128::from(s.client_connections)),
            ("EstimatedDbSize", "bytes held by the item and query caches", |s| i128::from(s.estimated_db_size)),
            ("EstimatedDbItemCount", "entries held by the item and query caches", |s| i128::from(s.cached_entries)),
        ];
        for (name, help, get) in gauges {
            let family = format!("dax_{scope}_{name}");
            let _ = writeln!(out, "# HELP {family} DAX {name} per {scope}: {help}.");
            let _ = writeln!(out, "# TYPE {family} gauge");
            for s in snaps {
                let _ = writeln!(out, "{family}{} {}", labels(&s.labels), get(s));
            }
        }
        for (name, help) in MINUTE_FIGURES {
            if scope == "cluster" && *name == "CPUCreditBalance" {
                continue;
            }
            let family = format!("dax_{scope}_{name}");
            let _ = writeln!(out, "# HELP {family} DAX {name} per {scope} over the last minute: {help}.");
            let _ = writeln!(out, "# TYPE {family} gauge");
            for s in snaps {
                if let Some(v) = s.figure(name) {
                    let _ = writeln!(out, "{family}{} {v}", labels(&s.labels));
                }
            }
        }
    }
    out
}

/// The figures derived once a minute, by CloudWatch name, with what they are.
pub const MINUTE_FIGURES: &[(&str, &str)] = &[
    ("CPUUtilization", "percent of the node type's vCPUs busy polling the node's connections"),
    ("BaselineNetworkBytesInUtilization", "percent of the node type's baseline bandwidth used by bytes received"),
    ("BaselineNetworkBytesOutUtilization", "percent of the node type's baseline bandwidth used by bytes sent"),
    ("CPUCreditUsage", "CPU credits (vCPU-minutes) spent"),
    ("CPUCreditBalance", "CPU credits earned and not spent (launch credits included)"),
    ("CPUSurplusCreditBalance", "surplus credits spent while the balance was zero and not yet paid back"),
    ("CPUSurplusCreditsCharged", "surplus credits beyond what a day earns, which EC2 would charge"),
];

// ---- node types -----------------------------------------------------------------------------

/// What the derivations need of a DAX node type: the EC2 instance type behind it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct NodeType {
    /// vCPUs of the instance.
    pub vcpus: u32,
    /// EC2's baseline network bandwidth of the instance, in Mbit/s (`None`: EC2 publishes none).
    pub baseline_mbps: Option<u32>,
    /// The CPU credit rules of a burstable instance.
    pub burst: Option<Burst>,
}

/// The EC2 CPU credit rules of a burstable instance type.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Burst {
    /// Credits earned per hour (baseline utilization per vCPU × vCPUs × 60).
    pub per_hour: f64,
    /// Most earned credits the balance holds (24 hours of earning); also the most surplus
    /// credits an unlimited instance carries before they are charged.
    pub max: f64,
    /// Launch credits at start (T2 Standard: 30 per vCPU; T3: none).
    pub launch: f64,
    /// Unlimited mode (DAX's T3 nodes), else standard (DAX's T2 nodes).
    pub unlimited: bool,
}

const fn fixed(vcpus: u32, baseline_mbps: u32) -> NodeType {
    NodeType { vcpus, baseline_mbps: Some(baseline_mbps), burst: None }
}

const T2_SMALL: Burst = Burst { per_hour: 12.0, max: 288.0, launch: 30.0, unlimited: false };
const T2_MEDIUM: Burst = Burst { per_hour: 24.0, max: 576.0, launch: 60.0, unlimited: false };
/// t3.small and t3.medium alike: 2 vCPUs, 20% baseline each.
const T3: Burst = Burst { per_hour: 24.0, max: 576.0, launch: 0.0, unlimited: true };

/// The DAX node types and the facts of their EC2 instance types (table and sources in
/// `docs/metrics.md`).
pub(crate) const NODE_TYPES: &[(&str, NodeType)] = &[
    ("dax.t2.small", NodeType { vcpus: 1, baseline_mbps: None, burst: Some(T2_SMALL) }),
    ("dax.t2.medium", NodeType { vcpus: 2, baseline_mbps: None, burst: Some(T2_MEDIUM) }),
    ("dax.t3.small", NodeType { vcpus: 2, baseline_mbps: Some(128), burst: Some(T3) }),
    ("dax.t3.medium", NodeType { vcpus: 2, baseline_mbps: Some(256), burst: Some(T3) }),
    ("dax.r4.large", fixed(2, 750)),
    ("dax.r4.xlarge", fixed(4, 1250)),
    ("dax.r4.2xlarge", fixed(8, 2500)),
    ("dax.r4.4xlarge", fixed(16, 5000)),
    ("dax.r4.8xlarge", fixed(32, 10000)),
    ("dax.r4.16xlarge", fixed(64, 25000)),
    ("dax.r5.large", fixed(2, 750)),
    ("dax.r5.xlarge", fixed(4, 1250)),
    ("dax.r5.2xlarge", fixed(8, 2500)),
    ("dax.r5.4xlarge", fixed(16, 5000)),
    ("dax.r5.8xlarge", fixed(32, 10000)),
    ("dax.r5.12xlarge", fixed(48, 12000)),
    ("dax.r5.16xlarge", fixed(64, 20000)),
    ("dax.r5.24xlarge", fixed(96, 25000)),
];

/// The facts of a DAX node type, if daxd has them.
pub(crate) fn node_type(name: &str) -> Option<NodeType> {
    NODE_TYPES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

// ---- the per-minute derivations ---------------------------------------------------------------

/// A reading of a node's counters at a minute of daxd's clock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reading {
    /// Minutes since the epoch.
    pub minute: i64,
    /// The minute of the node's first connection (before it, nothing was measured).
    pub start_minute: i64,
    pub busy_ns: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

/// A burstable node's CPU credits.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Credits {
    /// Launch credits left (T2 Standard), spent before earned ones, outside the cap.
    pub launch: f64,
    /// Earned credits, at most [`Burst::max`].
    pub earned: f64,
    /// Surplus credits spent while the balance was zero, not paid back yet (unlimited).
    pub surplus: f64,
}

impl Credits {
    pub(crate) fn new(b: &Burst) -> Self {
        Credits { launch: b.launch, earned: 0.0, surplus: 0.0 }
    }

    /// `CPUCreditBalance`.
    pub(crate) fn balance(&self) -> f64 {
        self.launch + self.earned
    }

    /// A span in which the node earned `earned` credits and spent `used` (vCPU-minutes);
    /// the surplus credits charged in it. EC2's rules, rates taken as constant over the
    /// span: launch credits are spent first; earned credits first pay back the surplus,
    /// the rest accrue up to the cap (beyond it they are lost); a spend beyond the balance
    /// becomes surplus on an unlimited instance (a standard one is held to its baseline,
    /// so its balance stops at zero); surplus beyond a day's earning is charged.
    pub(crate) fn step(&mut self, b: &Burst, earned: f64, used: f64) -> f64 {
        let from_launch = used.min(self.launch);
        self.launch -= from_launch;
        let net = earned - (used - from_launch);
        if net >= 0.0 {
            let repaid = net.min(self.surplus);
            self.surplus -= repaid;
            self.earned = (self.earned + net - repaid).min(b.max);
            return 0.0;
        }
        let short = -net;
        let from_earned = short.min(self.earned);
        self.earned -= from_earned;
        if !b.unlimited {
            return 0.0;
        }
        self.surplus += short - from_earned;
        let charged = (self.surplus - b.max).max(0.0);
        self.surplus -= charged;
        charged
    }
}

/// The per-minute derivations of one node: the counters at the first reading of the
/// current minute, the credit state, and the figures of the last closed minute.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    /// The minute of the reading that opened the current window.
    minute: Option<i64>,
    busy_ns: u64,
    bytes_in: u64,
    bytes_out: u64,
    credits: Option<Credits>,
    last: Vec<(&'static str, f64)>,
}

impl Ledger {
    /// Take a reading. The first reading of a new minute closes the window the previous
    /// one opened and derives its figures; other readings change nothing. A window spans
    /// the whole minutes between its two readings; the first window opens, with everything
    /// at zero, in the minute of the node's first connection, before which it measured
    /// nothing (a minute's figure is over the whole minute, as CloudWatch's are).
    pub(crate) fn advance(&mut self, r: Reading, t: Option<&NodeType>) -> &[(&'static str, f64)] {
        if self.minute == Some(r.minute) {
            return &self.last;
        }
        let opened = self.minute.unwrap_or(r.start_minute);
        if opened >= r.minute {
            // The node's first connection opened in this minute: its first window stays open.
            self.minute = Some(r.minute);
            return &self.last;
        }
        let minutes = r.minute - opened;
        #[allow(clippy::cast_precision_loss)]
        let (span, busy, bytes_in, bytes_out) = (
            minutes as f64 * 60.0,
            r.busy_ns.saturating_sub(self.busy_ns) as f64 / 1e9,
            r.bytes_in.saturating_sub(self.bytes_in) as f64,
            r.bytes_out.saturating_sub(self.bytes_out) as f64,
        );
        self.last.clear();
        if let Some(t) = t {
            let vcpus = f64::from(t.vcpus.max(1));
            // The node's busy time over its vCPUs' time, at most all of it: daxd's host may
            // have more cores than the node type has vCPUs.
            let busy = busy.min(span * vcpus);
            self.last.push(("CPUUtilization", 100.0 * busy / (span * vcpus)));
            if let Some(mbps) = t.baseline_mbps {
                let bytes_per_sec = f64::from(mbps) * 1e6 / 8.0;
                self.last.push(("BaselineNetworkBytesInUtilization", 100.0 * bytes_in / span / bytes_per_sec));
                self.last.push(("BaselineNetworkBytesOutUtilization", 100.0 * bytes_out / span / bytes_per_sec));
            }
            if let Some(b) = &t.burst {
                let credits = self.credits.get_or_insert_with(|| Credits::new(b));
                let used = busy / 60.0;
                let charged = credits.step(b, b.per_hour * span / 3600.0, used);
                self.last.extend([
                    ("CPUCreditUsage", used),
                    ("CPUCreditBalance", credits.balance()),
                    ("CPUSurplusCreditBalance", credits.surplus),
                    ("CPUSurplusCreditsCharged", charged),
                ]);
            }
        }
        self.minute = Some(r.minute);
        (self.busy_ns, self.bytes_in, self.bytes_out) = (r.busy_ns, r.bytes_in, r.bytes_out);
        &self.last
    }
}

/// A cluster's figures from its nodes': utilizations are the mean of the nodes' (the
/// cluster's busy time over all its vCPUs, its bytes over all its bandwidth, for nodes of
/// one type), credit amounts their sum; `CPUCreditBalance` is per node only.
pub(crate) fn cluster_figures(nodes: &[Vec<(&'static str, f64)>]) -> Vec<(&'static str, f64)> {
    let mut out = Vec::new();
    for (name, _) in MINUTE_FIGURES {
        let values: Vec<f64> =
            nodes.iter().filter_map(|f| f.iter().find(|(n, _)| n == name).map(|(_, v)| *v)).collect();
        if values.is_empty() || *name == "CPUCreditBalance" {
            continue;
        }
        let sum: f64 = values.iter().sum();
        #[allow(clippy::cast_precision_loss)]
        let value = if name.ends_with("Utilization") { sum / values.len() as f64 } else { sum };
        out.push((*name, value));
    }
    out
}
