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
    /// `record-ttl-millis` of the cluster's parameter group (0: items never expire by time).
    /// [`crate::Fleet::reconcile`] sets it on the caches of the cluster's running nodes, so a
    /// change applies with the next reconcile, to what is cached already too; no request
    /// asks for it.
    pub record_ttl_ms: u64,
    /// `query-ttl-millis` of the cluster's parameter group (0: results are not cached).
    pub query_ttl_ms: u64,
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
/// the cluster's role, and the time. (The cluster's parameter group comes with
/// [`ClusterInfo`], through [`crate::Fleet::reconcile`]: a request never waits on the
/// control plane for it.)
pub trait Host: Send + Sync + 'static {
    /// `authorizeConnection`: verify the SigV4 signature over the received string-to-sign
    /// against IAM credentials (temporary ones included) for a node of `cluster`.
    ///
    /// # Errors
    /// An authentication error (`UnrecognizedClientException`, `ExpiredTokenException`,
    /// `InvalidSignatureException`), reported on the connection's next request; or
    /// [`NodeError::unreachable`] when no verdict could be had.
    fn authenticate(&self, auth: &dax_wire::AuthorizeConnection, cluster: &ClusterInfo)
        -> Result<Principal, NodeError>;

    /// `dax:<action>` on the cluster's ARN, with `dax:EnclosingOperation` set to
    /// `enclosing` for the sub-actions of a transaction. `tls`: the client's connection is
    /// TLS (a `daxs://` node), which is `aws:SecureTransport`.
    ///
    /// # Errors
    /// `AccessDeniedException`; or [`NodeError::unreachable`] when no verdict could be had.
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

    /// Milliseconds since the epoch on daxd's clock. A new primary's leader session id is
    /// taken from it, so the id clients compare grows across restarts of daxd too.
    fn now_ms(&self) -> i64;

    /// A client check got [`NodeError::unreachable`] and the connection has no earlier
    /// verdict to keep (a new connection, an action not allowed on it before): wait a
    /// moment, blocking the connection, and say whether to ask again. `waited` is how long
    /// this check has waited so far. So a request on such a connection is held while whoever
    /// decides is briefly away (a control restarting), not failed. The default never waits.
    fn wait_for_verdict(&self, waited: std::time::Duration) -> bool {
        let _ = waited;
        false
    }
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

    /// No verdict at all: whoever decides for the host (the control daxd of a node host)
    /// could not be reached. Clients see `InternalServerError` (retried by every client),
    /// with HTTP status 503, the status that tells it from a verdict: a refusal is never 503.
    /// [`Host::authenticate`] and [`Host::authorize`] answer it for a transport failure, and a
    /// connection then keeps its last verdicts (`session.rs`).
    pub fn unreachable(message: impl Into<String>) -> Self {
        NodeError::new("InternalServerError", message, 503)
    }

    /// Whether this is [`NodeError::unreachable`]: no verdict, as opposed to a refusal.
    #[must_use]
    pub fn is_unreachable(&self) -> bool {
        self.status == 503 && self.code == "InternalServerError"
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
