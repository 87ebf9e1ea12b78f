//! Who a client connection is and what it may do: the principal its `authorizeConnection`
//! established (trusted for [`AUTH_TTL`]), and the `dax:<Action>`s IAM allowed it lately
//! (trusted for [`ALLOW_TTL`], so that a busy connection does not ask IAM on every request).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use dax_wire::{exception_codes, AuthorizeConnection, Request, TransactOperation};

use crate::host::{ClusterInfo, Host, NodeError, Principal};

/// How long an authorized `authorizeConnection` lasts (clients renew every 150 s to 225 s).
pub(crate) const AUTH_TTL: Duration = Duration::from_secs(600);
/// How long a connection trusts an allowed `dax:<Action>` before asking IAM again.
const ALLOW_TTL: Duration = Duration::from_secs(2);

/// Per-connection state.
pub(crate) struct Session {
    pub principal: Option<(Principal, Instant)>,
    pub auth_error: Option<NodeError>,
    pub local_ip: IpAddr,
    /// The connection is TLS (`daxs://`): `aws:SecureTransport` of its authorizations.
    pub tls: bool,
    allowed: HashMap<(&'static str, Option<&'static str>), Instant>,
}

impl Session {
    pub(crate) fn new(local_ip: IpAddr, tls: bool) -> Self {
        Session { principal: None, auth_error: None, local_ip, tls, allowed: HashMap::new() }
    }

    /// `authorizeConnection`, on a node of `info` named `node_id`: the principal it
    /// establishes, or the error the connection's next request reports.
    pub(crate) fn authenticate(&mut self, host: &dyn Host, a: &AuthorizeConnection, info: &ClusterInfo, node_id: &str) {
        match host.authenticate(a, info) {
            Ok(p) => {
                self.principal = Some((p, Instant::now()));
                self.auth_error = None;
                self.allowed.clear();
            }
            Err(e) => {
                tracing::debug!(node = %node_id, error = %e, "authorizeConnection refused");
                self.principal = None;
                self.auth_error = Some(e);
            }
        }
    }

    /// The connection's principal, or the error to answer a request with when it has none
    /// (or its authorization has expired).
    pub(crate) fn who(&self) -> Result<Principal, NodeError> {
        match &self.principal {
            Some((p, at)) if at.elapsed() < AUTH_TTL => Ok(p.clone()),
            _ => {
                let e = self.auth_error.clone().unwrap_or_else(|| {
                    NodeError::new(
                        "AuthenticationRequiredException",
                        "The connection has not been authorized: send authorizeConnection first",
                        400,
                    )
                });
                Err(NodeError {
                    code: if exception_codes(&e.code).is_some() {
                        e.code
                    } else {
                        "UnrecognizedClientException".into()
                    },
                    ..e
                })
            }
        }
    }

    /// Ask IAM (through `host`) for every `dax:<Action>` that `req` needs, unless it
    /// allowed it on this connection within [`ALLOW_TTL`].
    ///
    /// # Errors
    /// The host's refusal (`AccessDeniedException`).
    pub(crate) fn authorize(
        &mut self,
        host: &dyn Host,
        who: &Principal,
        info: &ClusterInfo,
        req: &Request,
    ) -> Result<(), NodeError> {
        for (action, enclosing) in actions(req) {
            let key = (action, enclosing);
            if self.allowed.get(&key).is_some_and(|at| at.elapsed() < ALLOW_TTL) {
                continue;
            }
            host.authorize(who, action, info, enclosing, self.tls)?;
            self.allowed.insert(key, Instant::now());
        }
        Ok(())
    }
}

/// The DAX action a data request needs, and the sub-actions of transactions.
fn actions(req: &Request) -> Vec<(&'static str, Option<&'static str>)> {
    match req {
        Request::GetItem(_) => vec![("GetItem", None)],
        Request::PutItem(_) => vec![("PutItem", None)],
        Request::UpdateItem(_) => vec![("UpdateItem", None)],
        Request::DeleteItem(_) => vec![("DeleteItem", None)],
        Request::Query(_) => vec![("Query", None)],
        Request::Scan(_) => vec![("Scan", None)],
        Request::BatchGetItem(_) => vec![("BatchGetItem", None)],
        Request::BatchWriteItem(_) => vec![("BatchWriteItem", None)],
        Request::TransactGetItems(_) => vec![("GetItem", Some("TransactGetItems"))],
        Request::TransactWriteItems(t) => {
            let mut out: Vec<(&'static str, Option<&'static str>)> = Vec::new();
            for i in &t.items {
                let a = match i.operation {
                    TransactOperation::Put => "PutItem",
                    TransactOperation::Update => "UpdateItem",
                    TransactOperation::Delete => "DeleteItem",
                    TransactOperation::ConditionCheck => "ConditionCheckItem",
                };
                if !out.iter().any(|(x, _)| *x == a) {
                    out.push((a, Some("TransactWriteItems")));
                }
            }
            out
        }
        _ => Vec::new(),
    }
}
