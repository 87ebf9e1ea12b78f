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
//! Faults can be injected into any running node on command ([`Fleet::inject`],
//! [`Fleet::clear`], [`Fleet::failover`]): what daxd's fault-injection experiments drive.
//!
//! TLS (`daxs://`) clusters are served with rustls when the fleet has a [`NodeTls`]: a CA
//! of daxd's own in the data dir and a node certificate it signs ([`tls`]). Without one,
//! their nodes are not started.

#![forbid(unsafe_code)]

mod cache;
mod cluster;
mod config;
mod conn;
mod convert;
mod faults;
mod fleet;
#[doc(hidden)]
pub mod fuzzing;
mod host;
mod link;
mod metrics;
mod node;
mod projection;
pub mod replication;
mod session;
pub mod tls;

#[cfg(test)]
mod tests;

pub use cache::Clock as CacheClock;
pub use config::{
    FleetConfig, DEFAULT_CACHE_BYTES, DEFAULT_FRAME_BUFFER_BYTES, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_IN_FLIGHT,
};
pub use faults::{Fault, FaultError, FaultKind, MAX_FAULT_LATENCY_MS};
pub use fleet::{node_type_memory, Fleet, RosterEntry};
pub use host::{BoxFuture, ClusterInfo, Host, NodeError, NodeSpec, PeerNode, Principal};
pub use metrics::{render_prometheus, Counter, Metrics, Snapshot, MINUTE_FIGURES};
pub use tls::{NodeTls, PeerTls};
