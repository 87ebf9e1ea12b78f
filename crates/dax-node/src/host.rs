//! What a node needs from the rest of daxd, behind one trait, and how the control plane
//! describes the clusters and nodes it wants.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::{Map, Value};

/// A boxed, sendable future (what [`Host::dynamodb`] returns).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The cluster a node belongs to, as the control plane describes it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClusterInfo {
    /// Region of the cluster.
    pub region: String,
    /// Cluster name (lower case).
    pub name: String,
    /// `arn:aws:dax:<region>:<account>:cache/<name>`.
    pub arn: String,
    /// The role the cluster reaches DynamoDB as.
    pub iam_role_arn: String,
    /// Node type (`dax.r5.large`, …): bounds the cache by the type's memory.
    pub node_type: String,
}

/// One node as the control plane wants it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSpec {
    /// Its cluster.
    pub cluster: ClusterInfo,
    /// Node id (`<cluster>-a`, …).
    pub node_id: String,
    /// Host (name or address) to listen on: the advertise host.
    pub host: String,
    /// Its allocated port.
    pub port: u16,
    /// Availability zone.
    pub availability_zone: String,
    /// `ClusterEndpointEncryptionType` is `TLS`: the node speaks TLS (`daxs://`) with the
    /// fleet's [`crate::NodeTls`] (without one, it is not started).
    pub tls: bool,
    /// Whether the node should be serving now (`available`); a node that is listed but not
    /// running (`rebooting`) keeps its cluster's shared state, and comes back with an
    /// empty cache.
    pub running: bool,
    /// Changes whenever the node reboots (the control plane's reboot count): a running
    /// node whose generation changed is restarted with an empty cache, even if the
    /// reboot began and ended between two [`crate::Fleet::reconcile`] calls.
    pub generation: u64,
}

/// A node of a cluster spread over node hosts, as the control lists it in the roster of
/// every host running one of its nodes ([`crate::Fleet::set_roster`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerNode {
    /// Node id (`<cluster>-a`, …).
    pub node_id: String,
    /// The node host it runs on.
    pub host_id: String,
    /// Its endpoint: the host's advertised address and the node's port.
    pub address: String,
    pub port: u16,
    pub availability_zone: String,
    /// It takes the cluster's writes.
    pub primary: bool,
    /// The port its host listens on for replication links ([`crate::Fleet::enable_replication`]).
    pub replication_port: u16,
}

/// An authenticated client, opaque to the node (the binary keeps its IAM caller in it).
#[derive(Clone)]
pub struct Principal(Arc<dyn Any + Send + Sync>);

impl Principal {
    /// Wrap the host's notion of a caller.
    pub fn new<T: Any + Send + Sync>(value: T) -> Self {
        Principal(Arc::new(value))
    }

    /// The host's caller back.
    #[must_use]
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        self.0.downcast_ref::<T>()
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Principal(..)")
    }
}

/// The rest of daxd, as a node sees it: IAM authentication and authorization, DynamoDB as
/// the cluster's role, and the cluster's parameter group.
pub trait Host: Send + Sync + 'static {
    /// `authorizeConnection`: verify the SigV4 signature over the received string-to-sign
    /// against IAM credentials (temporary ones included) for a node of `cluster`.
    ///
    /// # Errors
    /// An authentication error (`UnrecognizedClientException`, `ExpiredTokenException`,
    /// `InvalidSignatureException`), reported on the connection's next request.
    fn authenticate(&self, auth: &dax_wire::AuthorizeConnection, cluster: &ClusterInfo)
        -> Result<Principal, NodeError>;

    /// `dax:<action>` on the cluster's ARN, with `dax:EnclosingOperation` set to
    /// `enclosing` for the sub-actions of a transaction. `tls`: the client's connection is
    /// TLS (a `daxs://` node), which is `aws:SecureTransport`.
    ///
    /// # Errors
    /// `AccessDeniedException`.
    fn authorize(
        &self,
        who: &Principal,
        action: &str,
        cluster: &ClusterInfo,
        enclosing: Option<&str>,
        tls: bool,
    ) -> Result<(), NodeError>;

    /// One DynamoDB call (JSON in, JSON out) made as the cluster's `IamRoleArn`, authorized
    /// table by table against that role's policies.
    fn dynamodb<'a>(
        &'a self,
        cluster: &'a ClusterInfo,
        op: &'a str,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, NodeError>>;

    /// `(record-ttl-millis, query-ttl-millis)` of the cluster's parameter group, now.
    fn ttls(&self, cluster: &ClusterInfo) -> (u64, u64);

    /// Milliseconds since the epoch on daxd's clock. A new primary's leader session id is
    /// taken from it, so the id clients compare grows across restarts of daxd too.
    fn now_ms(&self) -> i64;
}

/// An error as DAX reports it: a DynamoDB exception name, its message, HTTP status, and
/// the extra members of a DynamoDB error (`CancellationReasons`, `Item`).
#[derive(Clone, Debug, PartialEq)]
pub struct NodeError {
    /// Exception name (`ConditionalCheckFailedException`, …).
    pub code: String,
    /// Message.
    pub message: String,
    /// HTTP status clients report.
    pub status: u16,
    /// Extra members of the DynamoDB error body.
    pub extra: Option<Map<String, Value>>,
}

impl NodeError {
    /// An error without extras.
    pub fn new(code: impl Into<String>, message: impl Into<String>, status: u16) -> Self {
        NodeError { code: code.into(), message: message.into(), status, extra: None }
    }

    /// `ValidationException`.
    pub fn validation(message: impl Into<String>) -> Self {
        NodeError::new("ValidationException", message, 400)
    }

    /// `AccessDeniedException`.
    pub fn access_denied(message: impl Into<String>) -> Self {
        NodeError::new("AccessDeniedException", message, 400)
    }

    /// `ThrottlingException`.
    pub fn throttling(message: impl Into<String>) -> Self {
        NodeError::new("ThrottlingException", message, 400)
    }

    /// `InternalServerError` (retried by every client).
    pub fn internal(message: impl Into<String>) -> Self {
        NodeError::new("InternalServerError", message, 500)
    }

    /// `ResourceNotFoundException`.
    pub fn not_found(message: impl Into<String>) -> Self {
        NodeError::new("ResourceNotFoundException", message, 400)
    }
}

impl fmt::Display for NodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for NodeError {}

impl From<dax_wire::WireError> for NodeError {
    fn from(e: dax_wire::WireError) -> Self {
        NodeError::new(e.exception_name(), e.message(), 400)
    }
}
