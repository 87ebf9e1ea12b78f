//! How the fleet runs its nodes: cache bounds, request and connection limits, decoding
//! bounds, the connection-buffer budget, TLS material and the clock.

use crate::cache::Clock as CacheClock;
use crate::tls::NodeTls;

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
    /// The address every node listens on (`0.0.0.0` in a container whose ports are
    /// published); `None`: each node's own host, the advertise host.
    pub bind_host: Option<String>,
    /// Where the nodes take the time from, for their caches' TTLs and for the busy time
    /// behind `CPUUtilization`: the system's monotonic clock, or a manual one in tests.
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
            bind_host: None,
            clock: CacheClock::system(),
        }
    }
}
