//! What the console needs from the server it runs in. The console knows no
//! IAM internals: it asks the host to check sign-in credentials, and makes
//! every other move as an API call *as the signed-in principal*, which the
//! host authorizes exactly like a signed request.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use serde_json::Value;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The AWS services the console calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Iam,
    Sts,
    Ec2,
    Dax,
    DynamoDb,
    /// CloudWatch (`monitoring`): the DAX metrics and their alarms.
    CloudWatch,
    /// The Fault Injection Service: experiment templates and experiments.
    Fis,
    /// daxd's own node-host service (`DaxdNodeHost`): the hosts that joined.
    NodeHost,
}

/// How someone signs in.
#[derive(Clone, PartialEq, Eq)]
pub enum SignIn {
    /// The account root, with the root access key pair.
    Root { access_key_id: String, secret_access_key: String },
    /// An IAM user with the password of its login profile.
    Password { account: String, user_name: String, password: String },
    /// An access key pair: an IAM user's long-term keys, or temporary
    /// credentials with their session token.
    AccessKey { access_key_id: String, secret_access_key: String, session_token: Option<String> },
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secrets.
        match self {
            SignIn::Root { access_key_id, .. } => {
                f.debug_struct("Root").field("access_key_id", access_key_id).finish_non_exhaustive()
            }
            SignIn::Password { account, user_name, .. } => f
                .debug_struct("Password")
                .field("account", account)
                .field("user_name", user_name)
                .finish_non_exhaustive(),
            SignIn::AccessKey { access_key_id, .. } => {
                f.debug_struct("AccessKey").field("access_key_id", access_key_id).finish_non_exhaustive()
            }
        }
    }
}

/// Who is signed in, as the host describes it. The console only shows it
/// and hands `handle` back on every call; the host resolves the handle
/// again each time (so a deleted user or deactivated key stops working).
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// The host's handle for the principal; opaque to the console.
    pub handle: String,
    /// The principal's ARN.
    pub arn: String,
    /// A short name to show.
    pub name: String,
    /// The account id.
    pub account: String,
    /// Unix seconds after which the sign-in is no longer valid (temporary
    /// credentials, a login profile's maximum session duration).
    pub expires_at: Option<f64>,
}

/// An AWS error as the API would answer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl ApiError {
    #[must_use]
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        ApiError { status, code: code.to_owned(), message: message.into() }
    }

    /// Whether the error means the caller's credentials no longer work.
    #[must_use]
    pub fn is_credential_failure(&self) -> bool {
        matches!(
            self.code.as_str(),
            "InvalidClientTokenId"
                | "ExpiredToken"
                | "UnrecognizedClientException"
                | "ExpiredTokenException"
                | "AuthFailure"
        )
    }

    /// Whether the error is an authorization denial.
    #[must_use]
    pub fn is_denial(&self) -> bool {
        matches!(self.code.as_str(), "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation")
    }
}

/// Cumulative cache counters of one DAX cluster (CloudWatch names).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheCounters {
    pub region: String,
    pub cluster: String,
    pub item_hits: u64,
    pub item_misses: u64,
    pub query_hits: u64,
    pub query_misses: u64,
    pub scan_hits: u64,
    pub scan_misses: u64,
    pub total_requests: u64,
}

/// The server the console runs in.
pub trait Host: Send + Sync + 'static {
    /// Check sign-in credentials. `Err` carries nothing: the console shows
    /// one message for every failure.
    fn sign_in(&self, how: SignIn) -> BoxFuture<'_, Result<Principal, ()>>;

    /// Make `op` of `service` as `who`, in `region`, exactly as a signed API
    /// request would be made (validated, authorized, recorded, dispatched).
    /// `source_ip` and `secure` (the console's request came over TLS) are the
    /// request's `aws:SourceIp` and `aws:SecureTransport`.
    fn call<'a>(
        &'a self,
        who: &'a Principal,
        region: &'a str,
        source_ip: Option<IpAddr>,
        secure: bool,
        service: Service,
        op: &'a str,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, ApiError>>;

    /// The DAX clusters' cache counters now (empty when the data plane has none).
    fn cache_counters(&self) -> Vec<CacheCounters> {
        Vec::new()
    }

    /// Unix seconds now.
    fn now(&self) -> f64;
}
