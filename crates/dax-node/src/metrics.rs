//! Node and cluster metrics under DAX's CloudWatch names, rendered as Prometheus text.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

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

/// One set of counters (a node's or a cluster's) and the `ClientConnections` gauge.
#[derive(Debug)]
pub struct Metrics {
    counters: Vec<AtomicU64>,
    connections: AtomicI64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics { counters: Counter::ALL.iter().map(|_| AtomicU64::new(0)).collect(), connections: AtomicI64::new(0) }
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

    /// Count an open connection until the guard drops.
    pub(crate) fn connection(&self) -> ConnectionGuard {
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
#[derive(Clone, Debug, PartialEq, Eq)]
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
}

impl Snapshot {
    pub(crate) fn of(labels: Vec<(&'static str, String)>, m: &Metrics, size: u64, entries: u64) -> Self {
        Snapshot {
            labels,
            counters: Counter::ALL.iter().map(|c| (c.name(), m.failed_or(*c))).collect(),
            client_connections: m.connections(),
            estimated_db_size: size,
            cached_entries: entries,
        }
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
    }
    out
}
