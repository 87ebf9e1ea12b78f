//! Faults injected into one node on command ([`crate::Fleet::inject`]): what the node's
//! listener, connections, request dispatch, replication and DynamoDB calls obey so that a
//! client can be tested against a node that stops, stalls, slows down, throttles or fails.
//!
//! The state is a bit mask of the active kinds and one parameter per kind, all atomics:
//! with no fault active, the request path pays one relaxed load ([`NodeFaults::is_clear`]).
//! Which requests of a share are hit is decided by a seeded draw sequence (SplitMix64 over
//! a counter), not by a random source: the same node sees the same sequence in every run.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use crate::host::NodeError;

/// A fault a node can be put in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The listener stops accepting (connections are refused) and open connections close.
    Stop,
    /// Connections are accepted and their requests read, but nothing is answered.
    Stall,
    /// Every answer is delayed by this many milliseconds.
    Latency {
        /// Added delay.
        millis: u64,
    },
    /// This share of data requests is answered `ThrottlingException`.
    Throttle {
        /// Percent of requests, 0 to 100.
        percent: u8,
    },
    /// This share of data requests is answered `InternalServerError` (a 5xx, retried by
    /// every client).
    Fail {
        /// Percent of requests, 0 to 100.
        percent: u8,
    },
    /// The node receives no cache updates from the other nodes (a replica serves what it
    /// cached before). When the pause ends, a node that missed updates drops its caches:
    /// daxd keeps no log of what it missed, and an empty cache refills from DynamoDB.
    PauseReplication,
    /// Every call of the node to DynamoDB is delayed by this many milliseconds.
    BackendLatency {
        /// Added delay.
        millis: u64,
    },
    /// This share of the node's calls to DynamoDB fails with DynamoDB's
    /// `InternalServerError`.
    BackendFail {
        /// Percent of calls, 0 to 100.
        percent: u8,
    },
}

/// The kind of a [`Fault`], without its parameter: what [`crate::Fleet::clear`] ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    /// [`Fault::Stop`].
    Stop,
    /// [`Fault::Stall`].
    Stall,
    /// [`Fault::Latency`].
    Latency,
    /// [`Fault::Throttle`].
    Throttle,
    /// [`Fault::Fail`].
    Fail,
    /// [`Fault::PauseReplication`].
    PauseReplication,
    /// [`Fault::BackendLatency`].
    BackendLatency,
    /// [`Fault::BackendFail`].
    BackendFail,
}

impl FaultKind {
    /// Every kind.
    pub const ALL: [FaultKind; 8] = [
        FaultKind::Stop,
        FaultKind::Stall,
        FaultKind::Latency,
        FaultKind::Throttle,
        FaultKind::Fail,
        FaultKind::PauseReplication,
        FaultKind::BackendLatency,
        FaultKind::BackendFail,
    ];

    fn index(self) -> usize {
        self as usize
    }

    fn bit(self) -> u32 {
        1 << self.index()
    }
}

/// Longest delay a latency fault may add (an hour: longer is a stall).
pub const MAX_FAULT_LATENCY_MS: u64 = 3_600_000;

impl Fault {
    /// Its kind.
    #[must_use]
    pub fn kind(&self) -> FaultKind {
        match self {
            Fault::Stop => FaultKind::Stop,
            Fault::Stall => FaultKind::Stall,
            Fault::Latency { .. } => FaultKind::Latency,
            Fault::Throttle { .. } => FaultKind::Throttle,
            Fault::Fail { .. } => FaultKind::Fail,
            Fault::PauseReplication => FaultKind::PauseReplication,
            Fault::BackendLatency { .. } => FaultKind::BackendLatency,
            Fault::BackendFail { .. } => FaultKind::BackendFail,
        }
    }

    fn param(&self) -> u64 {
        match *self {
            Fault::Latency { millis } | Fault::BackendLatency { millis } => millis,
            Fault::Throttle { percent } | Fault::Fail { percent } | Fault::BackendFail { percent } => {
                u64::from(percent)
            }
            Fault::Stop | Fault::Stall | Fault::PauseReplication => 0,
        }
    }

    fn of(kind: FaultKind, param: u64) -> Fault {
        let percent = u8::try_from(param).unwrap_or(100);
        match kind {
            FaultKind::Stop => Fault::Stop,
            FaultKind::Stall => Fault::Stall,
            FaultKind::Latency => Fault::Latency { millis: param },
            FaultKind::Throttle => Fault::Throttle { percent },
            FaultKind::Fail => Fault::Fail { percent },
            FaultKind::PauseReplication => Fault::PauseReplication,
            FaultKind::BackendLatency => Fault::BackendLatency { millis: param },
            FaultKind::BackendFail => Fault::BackendFail { percent },
        }
    }

    /// Whether its parameter is in range.
    ///
    /// # Errors
    /// [`FaultError::InvalidParameter`] for a share over 100 % or a delay over
    /// [`MAX_FAULT_LATENCY_MS`].
    pub fn validate(&self) -> Result<(), FaultError> {
        match *self {
            Fault::Throttle { percent } | Fault::Fail { percent } | Fault::BackendFail { percent } if percent > 100 => {
                Err(FaultError::InvalidParameter(format!("percent must be between 0 and 100, not {percent}")))
            }
            Fault::Latency { millis } | Fault::BackendLatency { millis } if millis > MAX_FAULT_LATENCY_MS => {
                Err(FaultError::InvalidParameter(format!(
                    "latency must be at most {MAX_FAULT_LATENCY_MS} ms, not {millis}"
                )))
            }
            _ => Ok(()),
        }
    }
}

/// Why a fault command was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultError {
    /// No running cluster has this ARN.
    ClusterNotFound(String),
    /// The cluster has no running node of this id.
    NodeNotFound(String),
    /// A parameter out of range.
    InvalidParameter(String),
    /// A failover needs another running node that is not stopped.
    NoFailoverTarget(String),
}

impl fmt::Display for FaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultError::ClusterNotFound(a) => write!(f, "no running DAX cluster {a}"),
            FaultError::NodeNotFound(n) => write!(f, "no running DAX node {n}"),
            FaultError::InvalidParameter(m) => f.write_str(m),
            FaultError::NoFailoverTarget(a) => {
                write!(f, "cluster {a} has no other running node to fail over to")
            }
        }
    }
}

impl std::error::Error for FaultError {}

/// The faults of one node.
pub(crate) struct NodeFaults {
    /// Bit [`FaultKind::bit`] set while that kind is active.
    active: AtomicU32,
    params: [AtomicU64; 8],
    /// The mask again, for tasks that wait on a change (the accept loop, stalled requests).
    changed: watch::Sender<u32>,
    seed: u64,
    draws: AtomicU64,
    /// Replication updates were skipped during a pause.
    missed: AtomicBool,
}

/// SplitMix64's output function.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl NodeFaults {
    /// No fault, with share draws seeded by `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        NodeFaults {
            active: AtomicU32::new(0),
            params: Default::default(),
            changed: watch::Sender::new(0),
            seed,
            draws: AtomicU64::new(0),
            missed: AtomicBool::new(false),
        }
    }

    /// No fault is active: the one load the request path makes.
    #[inline]
    pub(crate) fn is_clear(&self) -> bool {
        self.active.load(Ordering::Relaxed) == 0
    }

    pub(crate) fn has(&self, kind: FaultKind) -> bool {
        self.active.load(Ordering::Acquire) & kind.bit() != 0
    }

    fn param(&self, kind: FaultKind) -> u64 {
        self.params[kind.index()].load(Ordering::Acquire)
    }

    /// Start `fault` (or change the parameter of an active one of its kind).
    pub(crate) fn set(&self, fault: Fault) {
        let kind = fault.kind();
        self.params[kind.index()].store(fault.param(), Ordering::Release);
        let mask = self.active.fetch_or(kind.bit(), Ordering::AcqRel) | kind.bit();
        self.changed.send_replace(mask);
    }

    /// End the fault of `kind`; whether it was active.
    pub(crate) fn clear(&self, kind: FaultKind) -> bool {
        let before = self.active.fetch_and(!kind.bit(), Ordering::AcqRel);
        self.changed.send_replace(before & !kind.bit());
        before & kind.bit() != 0
    }

    /// The active faults, in [`FaultKind::ALL`] order.
    pub(crate) fn active(&self) -> Vec<Fault> {
        FaultKind::ALL.iter().filter(|k| self.has(**k)).map(|k| Fault::of(*k, self.param(*k))).collect()
    }

    /// Changes of the active mask.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u32> {
        self.changed.subscribe()
    }

    /// Whether the next draw falls in a share of `percent` %.
    fn draw(&self, percent: u64) -> bool {
        let n = self.draws.fetch_add(1, Ordering::Relaxed);
        mix(self.seed.wrapping_add(n.wrapping_mul(0x9e37_79b9_7f4a_7c15))) % 100 < percent
    }

    /// Wait while the node is stalled, then add the answer latency.
    pub(crate) async fn before_answer(&self) {
        if self.has(FaultKind::Stall) {
            let mut rx = self.subscribe();
            let _ = rx.wait_for(|m| m & FaultKind::Stall.bit() == 0).await;
        }
        if self.has(FaultKind::Latency) {
            tokio::time::sleep(Duration::from_millis(self.param(FaultKind::Latency))).await;
        }
    }

    /// The error a data request is answered with instead of being served, when it falls in
    /// a throttled or failed share.
    pub(crate) fn refusal(&self, node_id: &str) -> Option<NodeError> {
        if self.has(FaultKind::Throttle) && self.draw(self.param(FaultKind::Throttle)) {
            return Some(NodeError::throttling(format!("Node {node_id} is throttling requests; retry the request")));
        }
        if self.has(FaultKind::Fail) && self.draw(self.param(FaultKind::Fail)) {
            return Some(NodeError::internal(format!("Node {node_id} failed to process the request")));
        }
        None
    }

    /// Delay, and maybe fail, a call to DynamoDB.
    pub(crate) async fn before_backend(&self) -> Result<(), NodeError> {
        if self.has(FaultKind::BackendLatency) {
            tokio::time::sleep(Duration::from_millis(self.param(FaultKind::BackendLatency))).await;
        }
        if self.has(FaultKind::BackendFail) && self.draw(self.param(FaultKind::BackendFail)) {
            return Err(NodeError::internal(
                "The request processing has failed because of an unknown error, exception or failure.",
            ));
        }
        Ok(())
    }

    /// Whether replication to this node is paused; if so, the update it is not given is
    /// remembered.
    pub(crate) fn skips_replication(&self) -> bool {
        let paused = self.has(FaultKind::PauseReplication);
        if paused {
            self.missed.store(true, Ordering::Release);
        }
        paused
    }

    /// Whether updates were skipped since the last call (and forget it).
    pub(crate) fn take_missed(&self) -> bool {
        self.missed.swap(false, Ordering::AcqRel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_follow_the_seeded_sequence() {
        for percent in [0u64, 10, 50, 100] {
            let a = NodeFaults::new(7);
            let b = NodeFaults::new(7);
            let hits: Vec<bool> = (0..1000).map(|_| a.draw(percent)).collect();
            assert_eq!(hits, (0..1000).map(|_| b.draw(percent)).collect::<Vec<_>>(), "same seed, same draws");
            let n = hits.iter().filter(|h| **h).count() as u64;
            match percent {
                0 => assert_eq!(n, 0),
                100 => assert_eq!(n, 1000),
                p => assert!(n.abs_diff(p * 10) < 60, "{n} hits for {p} %"),
            }
        }
    }

    #[test]
    fn set_clear_and_list() {
        let f = NodeFaults::new(1);
        assert!(f.is_clear());
        f.set(Fault::Latency { millis: 5 });
        f.set(Fault::Throttle { percent: 30 });
        f.set(Fault::Latency { millis: 9 });
        assert!(!f.is_clear());
        assert_eq!(f.active(), [Fault::Latency { millis: 9 }, Fault::Throttle { percent: 30 }]);
        assert!(f.clear(FaultKind::Latency));
        assert!(!f.clear(FaultKind::Latency));
        assert!(f.clear(FaultKind::Throttle));
        assert!(f.is_clear());
        assert_eq!(*f.subscribe().borrow(), 0);
        assert!(Fault::Throttle { percent: 101 }.validate().is_err());
        assert!(Fault::Latency { millis: MAX_FAULT_LATENCY_MS + 1 }.validate().is_err());
        assert!(Fault::BackendFail { percent: 100 }.validate().is_ok());
        for k in FaultKind::ALL {
            assert_eq!(Fault::of(k, 0).kind(), k);
        }
    }
}
