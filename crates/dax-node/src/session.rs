//! Who a client connection is and what it may do: the principal its `authorizeConnection`
//! established (trusted for [`AUTH_TTL`]), and the `dax:<Action>`s IAM allowed it lately
//! (trusted for [`ALLOW_TTL`], so that a busy connection does not ask IAM on every request).
//!
//! When the host cannot get a verdict at all ([`NodeError::unreachable`]: the control of a
//! node host is down or restarting), a connection keeps its last verdicts instead of
//! failing: a principal still trusted when the renewal went unanswered, an action confirmed
//! within [`AUTH_TTL`]. They are *carried* until the next answer, which applies at once. A
//! refusal always wins, and only a connection's own earlier verdicts are carried. A check
//! with no verdict to keep (a new connection, an action never allowed on it) waits for one
//! as long as the host allows ([`Host::wait_for_verdict`]), then gets the retryable error.
//! This is safe because nothing can be revoked while the control is down (IAM lives there),
//! and the first answer after it is back is applied as any other.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use dax_wire::{exception_codes, AuthorizeConnection, Request, TransactOperation};

use crate::host::{ClusterInfo, Host, NodeError, Principal};

/// How long an authorized `authorizeConnection` lasts (clients renew every 150 s to 225 s).
pub(crate) const AUTH_TTL: Duration = Duration::from_secs(600);
/// How long a connection trusts an allowed `dax:<Action>` before asking IAM again.
const ALLOW_TTL: Duration = Duration::from_secs(2);

/// An allowed `dax:<Action>` of a connection.
#[derive(Clone, Copy, Debug)]
struct Allowed {
    /// When the host last answered that it is allowed.
    confirmed: Instant,
    /// When to ask again.
    next_ask: Instant,
    /// Kept without an answer: the host could not be reached when asked again.
    carried: bool,
}

/// Per-connection state.
pub(crate) struct Session {
    pub principal: Option<(Principal, Instant)>,
    /// The principal is kept past [`AUTH_TTL`]: its renewal went unanswered (unreachable).
    principal_carried: bool,
    /// The access key the principal authenticated with.
    auth_key: Option<String>,
    pub auth_error: Option<NodeError>,
    pub local_ip: IpAddr,
    /// The connection is TLS (`daxs://`): `aws:SecureTransport` of its authorizations.
    pub tls: bool,
    allowed: HashMap<(&'static str, Option<&'static str>), Allowed>,
}

impl Session {
    pub(crate) fn new(local_ip: IpAddr, tls: bool) -> Self {
        Session {
            principal: None,
            principal_carried: false,
            auth_key: None,
            auth_error: None,
            local_ip,
            tls,
            allowed: HashMap::new(),
        }
    }

    /// Whether the connection's principal is trusted now.
    fn principal_valid(&self) -> bool {
        self.principal.as_ref().is_some_and(|(_, at)| self.principal_carried || at.elapsed() < AUTH_TTL)
    }

    /// `authorizeConnection`, on a node of `info` named `node_id`: the principal it
    /// establishes, or the error the connection's next request reports. Unanswered
    /// (unreachable) while the connection has a trusted principal of the same access key,
    /// it keeps that principal until an answer comes.
    pub(crate) fn authenticate(&mut self, host: &dyn Host, a: &AuthorizeConnection, info: &ClusterInfo, node_id: &str) {
        let can_carry = self.principal_valid() && self.auth_key.as_deref() == Some(a.access_key_id.as_str());
        let verdict = match host.authenticate(a, info) {
            Err(e) if e.is_unreachable() && !can_carry => patiently(host, Err(e), || host.authenticate(a, info)),
            v => v,
        };
        match verdict {
            Ok(p) => {
                self.principal = Some((p, Instant::now()));
                self.principal_carried = false;
                self.auth_key = Some(a.access_key_id.clone());
                self.auth_error = None;
                self.allowed.clear();
            }
            Err(e) if e.is_unreachable() && can_carry => {
                tracing::debug!(node = %node_id, error = %e, "authorizeConnection unanswered: the principal is kept");
                self.principal_carried = true;
            }
            Err(e) => {
                tracing::debug!(node = %node_id, error = %e, "authorizeConnection refused");
                self.principal = None;
                self.principal_carried = false;
                self.auth_key = None;
                self.auth_error = Some(e);
            }
        }
    }

    /// The connection's principal, or the error to answer a request with when it has none
    /// (or its authorization has expired).
    pub(crate) fn who(&self) -> Result<Principal, NodeError> {
        match &self.principal {
            Some((p, _)) if self.principal_valid() => Ok(p.clone()),
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
    /// allowed it on this connection within [`ALLOW_TTL`]. Unanswered (unreachable), an
    /// action the host confirmed within [`AUTH_TTL`] (or already carried) stays allowed,
    /// and is asked again after [`ALLOW_TTL`].
    ///
    /// # Errors
    /// The host's refusal (`AccessDeniedException`), or [`NodeError::unreachable`] for an
    /// action without such a verdict.
    pub(crate) fn authorize(
        &mut self,
        host: &dyn Host,
        who: &Principal,
        info: &ClusterInfo,
        req: &Request,
    ) -> Result<(), NodeError> {
        for (action, enclosing) in actions(req) {
            let key = (action, enclosing);
            let verdict_now = Instant::now();
            let last = self.allowed.get(&key).copied();
            if last.is_some_and(|a| verdict_now < a.next_ask) {
                continue;
            }
            let carried = last.filter(|a| a.carried || verdict_now.duration_since(a.confirmed) < AUTH_TTL);
            let verdict = match host.authorize(who, action, info, enclosing, self.tls) {
                Err(e) if e.is_unreachable() && carried.is_none() => {
                    patiently(host, Err(e), || host.authorize(who, action, info, enclosing, self.tls))
                }
                v => v,
            };
            match verdict {
                Ok(()) => {
                    // The answer may have come after waiting: it is confirmed as of now.
                    let verdict_now = Instant::now();
                    let next_ask = verdict_now + ALLOW_TTL;
                    self.allowed.insert(key, Allowed { confirmed: verdict_now, next_ask, carried: false });
                }
                Err(e) if e.is_unreachable() => match carried {
                    Some(a) => {
                        self.allowed.insert(key, Allowed { next_ask: verdict_now + ALLOW_TTL, carried: true, ..a });
                    }
                    None => return Err(e),
                },
                Err(e) => {
                    self.allowed.remove(&key);
                    return Err(e);
                }
            }
        }
        Ok(())
    }
}

/// After `first` was [`NodeError::unreachable`]: ask again while the answer is, and the
/// host says to wait.
fn patiently<T>(
    host: &dyn Host,
    first: Result<T, NodeError>,
    mut ask: impl FnMut() -> Result<T, NodeError>,
) -> Result<T, NodeError> {
    let verdict_now = Instant::now();
    let mut verdict = first;
    loop {
        match verdict {
            Err(e) if e.is_unreachable() && host.wait_for_verdict(verdict_now.elapsed()) => verdict = ask(),
            v => return v,
        }
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use dax_wire::{GetItemRequest, ReturnConsumedCapacity};
    use serde_json::Value;

    use super::*;
    use crate::host::BoxFuture;

    /// A host whose verdicts the test sets: `Ok`, a refusal, or unreachable; with
    /// `back_after`, unreachable answers turn into `Ok` after that many waits.
    struct Verdicts {
        next: Mutex<Result<(), NodeError>>,
        asked: Mutex<u32>,
        back_after: Option<u32>,
        waits: Mutex<u32>,
    }

    impl Verdicts {
        fn set(&self, v: Result<(), NodeError>) {
            *self.next.lock().expect("lock") = v;
        }
        fn asked(&self) -> u32 {
            *self.asked.lock().expect("lock")
        }
        fn verdict(&self) -> Result<(), NodeError> {
            *self.asked.lock().expect("lock") += 1;
            self.next.lock().expect("lock").clone()
        }
    }

    impl Host for Verdicts {
        fn authenticate(&self, _: &AuthorizeConnection, _: &ClusterInfo) -> Result<Principal, NodeError> {
            self.verdict().map(|()| Principal::new(()))
        }
        fn authorize(
            &self,
            _: &Principal,
            _: &str,
            _: &ClusterInfo,
            _: Option<&str>,
            _: bool,
        ) -> Result<(), NodeError> {
            self.verdict()
        }
        fn dynamodb<'a>(&'a self, _: &'a ClusterInfo, _: &'a str, _: Value) -> BoxFuture<'a, Result<Value, NodeError>> {
            Box::pin(async { Err(NodeError::internal("not here")) })
        }
        fn now_ms(&self) -> i64 {
            0
        }
        fn wait_for_verdict(&self, _: Duration) -> bool {
            let Some(after) = self.back_after else { return false };
            let mut waits = self.waits.lock().expect("lock");
            *waits += 1;
            if *waits >= after {
                self.set(Ok(()));
            }
            true
        }
    }

    fn host(next: Result<(), NodeError>, back_after: Option<u32>) -> Verdicts {
        Verdicts { next: Mutex::new(next), asked: Mutex::new(0), back_after, waits: Mutex::new(0) }
    }

    fn info() -> ClusterInfo {
        ClusterInfo {
            region: "us-east-1".into(),
            name: "c".into(),
            arn: "arn:aws:dax:us-east-1:1:cache/c".into(),
            iam_role_arn: "arn:aws:iam::1:role/r".into(),
            node_type: "dax.t3.small".into(),
            record_ttl_ms: 0,
            query_ttl_ms: 0,
        }
    }

    fn connect(key: &str) -> AuthorizeConnection {
        AuthorizeConnection {
            access_key_id: key.into(),
            signature: "00".into(),
            string_to_sign: Vec::new(),
            session_token: None,
            user_agent: None,
        }
    }

    fn get() -> Request {
        Request::GetItem(GetItemRequest {
            table_name: "t".into(),
            key: Vec::new(),
            consistent_read: false,
            return_consumed_capacity: ReturnConsumedCapacity::None,
            projection: None,
        })
    }

    fn down() -> NodeError {
        NodeError::unreachable("The control cannot be reached")
    }

    /// Make the action's verdict due again, as if [`ALLOW_TTL`] had passed.
    fn expire(s: &mut Session) {
        let past = Instant::now().checked_sub(Duration::from_millis(1)).expect("a past instant");
        for a in s.allowed.values_mut() {
            a.next_ask = past;
        }
    }

    #[test]
    fn unreachable_is_not_a_refusal() {
        assert!(down().is_unreachable() && down().status == 503 && down().code == "InternalServerError");
        assert!(!NodeError::internal("x").is_unreachable());
        assert!(!NodeError::access_denied("x").is_unreachable());
    }

    #[test]
    fn a_connection_keeps_its_verdicts_while_the_host_is_unreachable_and_a_refusal_wins() {
        let host = host(Ok(()), None);
        let mut s = Session::new(IpAddr::from([127, 0, 0, 1]), false);
        s.authenticate(&host, &connect("AKIA1"), &info(), "c-a");
        let who = s.who().expect("authenticated");
        s.authorize(&host, &who, &info(), &get()).expect("allowed");
        assert_eq!(host.asked(), 2);
        // Within ALLOW_TTL: not asked again.
        s.authorize(&host, &who, &info(), &get()).expect("allowed");
        assert_eq!(host.asked(), 2);

        // The control goes down: the allowed action and the principal are carried.
        host.set(Err(down()));
        expire(&mut s);
        s.authorize(&host, &who, &info(), &get()).expect("carried");
        assert_eq!(host.asked(), 3);
        s.authorize(&host, &who, &info(), &get()).expect("not asked again before ALLOW_TTL");
        assert_eq!(host.asked(), 3);
        s.authenticate(&host, &connect("AKIA1"), &info(), "c-a");
        assert!(s.who().is_ok(), "a renewal without an answer keeps the principal");
        s.principal = s.principal.take().map(|(p, _)| (p, Instant::now().checked_sub(AUTH_TTL * 2).expect("past")));
        assert!(s.who().is_ok(), "carried past AUTH_TTL while no answer comes");
        // Another action was never allowed on the connection: no verdict to keep.
        let scan = Request::Scan(Default::default());
        assert!(s.authorize(&host, &who, &info(), &scan).expect_err("no verdict").is_unreachable());

        // The control is back and refuses: the refusal applies at once.
        host.set(Err(NodeError::access_denied("no dax:GetItem")));
        expire(&mut s);
        let e = s.authorize(&host, &who, &info(), &get()).expect_err("refused");
        assert_eq!(e.code, "AccessDeniedException");
        // And nothing is carried past a refusal.
        host.set(Err(down()));
        assert!(s.authorize(&host, &who, &info(), &get()).expect_err("no verdict").is_unreachable());
        // A refused renewal ends the carried principal.
        host.set(Err(NodeError::new("UnrecognizedClientException", "deleted key", 400)));
        s.authenticate(&host, &connect("AKIA1"), &info(), "c-a");
        assert_eq!(s.who().expect_err("refused").code, "UnrecognizedClientException");
    }

    #[test]
    fn only_a_trusted_principal_of_the_same_key_is_carried() {
        let host = host(Err(down()), None);
        let mut s = Session::new(IpAddr::from([127, 0, 0, 1]), false);
        // A new connection cannot be authenticated while the host is unreachable.
        s.authenticate(&host, &connect("AKIA1"), &info(), "c-a");
        let e = s.who().expect_err("no principal");
        assert_eq!((e.code.as_str(), e.status), ("InternalServerError", 503));
        host.set(Ok(()));
        s.authenticate(&host, &connect("AKIA1"), &info(), "c-a");
        assert!(s.who().is_ok());
        // Another key: nothing to carry.
        host.set(Err(down()));
        s.authenticate(&host, &connect("AKIA2"), &info(), "c-a");
        assert!(s.who().is_err());
        // A principal already expired is not carried.
        host.set(Ok(()));
        s.authenticate(&host, &connect("AKIA1"), &info(), "c-a");
        s.principal = s.principal.take().map(|(p, _)| (p, Instant::now().checked_sub(AUTH_TTL * 2).expect("past")));
        host.set(Err(down()));
        s.authenticate(&host, &connect("AKIA1"), &info(), "c-a");
        assert!(s.who().is_err());
    }

    #[test]
    fn a_check_without_a_verdict_to_keep_waits_while_the_host_allows() {
        // The control comes back after two waits: the new connection is authenticated and
        // its first request allowed, not failed.
        let h = host(Err(down()), Some(2));
        let mut s = Session::new(IpAddr::from([127, 0, 0, 1]), false);
        s.authenticate(&h, &connect("AKIA1"), &info(), "c-a");
        let who = s.who().expect("authenticated once the host answered");
        assert_eq!(h.asked(), 3);
        h.set(Err(down()));
        *h.waits.lock().expect("lock") = 0;
        s.authorize(&h, &who, &info(), &get()).expect("allowed once the host answered");
        assert_eq!(h.asked(), 6);
        // A verdict to keep: carried at once, no waiting.
        h.set(Err(down()));
        *h.waits.lock().expect("lock") = 0;
        expire(&mut s);
        s.authorize(&h, &who, &info(), &get()).expect("carried");
        assert_eq!((h.asked(), *h.waits.lock().expect("lock")), (7, 0));
    }
}
