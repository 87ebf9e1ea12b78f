//! `dax-node`: the data plane of daxd's DAX clusters.
//!
//! Every node of every cluster is a TCP listener speaking the DAX wire protocol (decoded
//! and encoded by `dax-wire`): the connection preamble, `authorizeConnection`,
//! `endpoints`, `defineKeySchema`, the attribute-list registry and the ten data methods.
//! Each node has its own item and query caches (one byte-bounded LRU moka cache, TTLs from
//! the cluster's parameter group); clusters of several nodes have one primary that makes
//! the writes (replicas forward them), and item-cache updates replicate to every node.
//!
//! What it is not: it knows no IAM, no DynamoDB engine and no control plane. It reaches
//! them only through the [`Host`] trait, which the binary implements: authentication of
//! the SigV4 string-to-sign, `dax:<Action>` authorization, DynamoDB calls made as the
//! cluster's role, and the parameter group's TTLs. The binary tells the [`Fleet`] which
//! nodes should run ([`Fleet::reconcile`]) from its background tick.
//!
//! TLS (`daxs://`) clusters are served with rustls when the fleet has a [`NodeTls`]: a CA
//! of daxd's own in the data dir and a node certificate it signs ([`tls`]). Without one,
//! their nodes are not started.

#![forbid(unsafe_code)]

mod cache;
mod cluster;
mod conn;
mod convert;
mod fleet;
#[doc(hidden)]
pub mod fuzzing;
mod host;
mod metrics;
mod node;
mod projection;
pub mod tls;

#[cfg(test)]
mod tests;

pub use cache::Clock as CacheClock;
pub use fleet::{node_type_memory, Fleet, NodeSpec, RosterEntry};
pub use host::{BoxFuture, ClusterInfo, Host, NodeError, Principal};
pub use metrics::{render_prometheus, Counter, Metrics, Snapshot};
pub use tls::NodeTls;

/// Default cache bound per node (`--node-cache-bytes`): 256 MiB.
pub const DEFAULT_CACHE_BYTES: u64 = 256 * 1024 * 1024;
/// Default limit on requests in flight per node.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1024;
/// Default limit on client connections per node.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
/// Default budget of the fleet's connection buffers (`--node-frame-buffer-bytes`): 256 MiB.
pub const DEFAULT_FRAME_BUFFER_BYTES: u64 = 256 * 1024 * 1024;

/// How the fleet runs its nodes.
#[derive(Clone, Debug)]
pub struct FleetConfig {
    /// Cache bound per node in bytes (further capped by the node type's memory).
    pub cache_bytes: u64,
    /// Data requests a node works on at once; more are answered `ThrottlingException`.
    pub max_in_flight: usize,
    /// Client connections a node keeps at once; more get a `ThrottlingException` frame and
    /// are closed.
    pub max_connections: usize,
    /// Decoding bounds for every connection.
    pub limits: dax_wire::Limits,
    /// Bytes that the read buffers of all the fleet's connections may hold together beyond
    /// the first 64 KiB of each: a connection whose partly received frame needs more than is
    /// left gets a `ThrottlingException` frame and is closed. At least `limits.max_frame_bytes`
    /// (plus 8 KiB of read room), or the largest frames are never taken.
    pub frame_buffer_bytes: u64,
    /// The TLS material of `daxs://` nodes; `None`: TLS nodes are not started.
    pub tls: Option<NodeTls>,
    /// Where the nodes' caches take the time from (TTLs): the system clock, or a manual
    /// one in tests.
    pub clock: CacheClock,
}

impl Default for FleetConfig {
    fn default() -> Self {
        FleetConfig {
            cache_bytes: DEFAULT_CACHE_BYTES,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            limits: dax_wire::Limits::DEFAULT,
            frame_buffer_bytes: DEFAULT_FRAME_BUFFER_BYTES,
            tls: None,
            clock: CacheClock::system(),
        }
    }
}
