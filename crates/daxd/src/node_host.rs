//! `daxd node-host` (docs/node-hosts.md): join a control daxd over HTTPS, heartbeat on the
//! interval the control asks, leave on SIGTERM or SIGINT. Every request is a SigV4-signed
//! `DaxdNodeHost` call (`crates/sigv4`) with the IAM credentials of the environment, sent
//! with hyper over rustls on connections kept open (`control_client.rs`); the control's
//! certificate is checked against `--control-ca` only. The nodes the heartbeat answers
//! assign run in a `dax_node::Fleet`; while the control cannot be reached they keep
//! serving from their caches (docs/node-hosts.md, "Control restart").

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, Method, Request, Uri};
use base::Clock as _;
use dax_node::{BoxFuture, ClusterInfo, Fleet, FleetConfig, Host, NodeError, NodeSpec, PeerNode, Principal};
use serde_json::{json, Map, Value};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

use crate::config::NodeHostArgs;

/// How long one exchange with the control may take, connection and TLS included.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read from the control (a forwarded DynamoDB answer included: a
/// `BatchGetItem` returns up to 16 MB of items).
const MAX_RESPONSE_BYTES: usize = 32 << 20;
/// How long a client check with no verdict to keep waits for the control to answer.
const VERDICT_WAIT: Duration = Duration::from_secs(10);
/// How often such a check asks again meanwhile.
const VERDICT_RETRY: Duration = Duration::from_millis(250);
/// The JSON 1.1 content type of the `DaxdNodeHost` API.
const JSON_1_1: &str = "application/x-amz-json-1.1";

/// The IAM credentials requests are signed with.
struct Credentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

/// What a call to the control came back with, when not a success.
#[derive(Debug)]
enum CallError {
    /// The control answered with an AWS error (with the extra members of a DynamoDB error:
    /// `CancellationReasons`, `Item`).
    Aws { status: u16, code: String, message: String, extra: Option<Map<String, Value>> },
    /// No answer: connection, TLS, timeout or an unreadable response.
    Transport(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Aws { status, code, message, .. } => write!(f, "{code} (HTTP {status}): {message}"),
            CallError::Transport(e) => write!(f, "{e}"),
        }
    }
}

/// The control, as this host reaches it.
struct Control {
    /// `host:port` (also the `Host` header), TLS, the reused connections, reachability.
    connections: crate::control_client::Connections,
    path: String,
    credentials: Credentials,
    region: String,
}

/// Check the `--control` URL: `https://host[:port][/path]`, never plain HTTP.
fn control_url(url: &str) -> Result<(String, ServerName<'static>, String), String> {
    let uri: Uri = url.parse().map_err(|e| format!("--control {url:?} is not a URL: {e}"))?;
    match uri.scheme_str() {
        Some("https") => {}
        Some("http") => {
            return Err(format!(
                "--control {url} is plain http://: a node host talks to the control over TLS only (use its --tls-listen address, https://)"
            ))
        }
        _ => return Err(format!("--control {url} must be an https:// URL")),
    }
    let host = uri.host().filter(|h| !h.is_empty()).ok_or_else(|| format!("--control {url} names no host"))?;
    let port = uri.port_u16().unwrap_or(443);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let server_name = ServerName::try_from(bare.to_owned())
        .map_err(|e| format!("--control {url}: {host} is not a host name: {e}"))?;
    let path = match uri.path() {
        "" => "/".to_owned(),
        p => p.to_owned(),
    };
    Ok((format!("{host}:{port}"), server_name, path))
}

/// A TLS client that trusts only the certificates of `ca_pem`.
fn tls_connector(ca_pem: &[u8]) -> Result<tokio_rustls::TlsConnector, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        let cert = cert.map_err(|e| format!("--control-ca holds an unreadable certificate: {e}"))?;
        roots.add(cert).map_err(|e| format!("--control-ca holds an unusable certificate: {e}"))?;
    }
    if roots.is_empty() {
        return Err("--control-ca holds no certificate".to_owned());
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("TLS set-up: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// The credentials of the environment, as an AWS SDK takes them.
fn credentials_from(var: impl Fn(&str) -> Option<String>) -> Result<Credentials, String> {
    let get = |n: &str| var(n).filter(|v| !v.is_empty());
    match (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")) {
        (Some(access_key_id), Some(secret_access_key)) => {
            Ok(Credentials { access_key_id, secret_access_key, session_token: get("AWS_SESSION_TOKEN") })
        }
        _ => Err("no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones) to an IAM principal allowed daxd:JoinNodeHost".to_owned()),
    }
}

/// An AWS JSON error body's code and message.
fn aws_error(status: u16, error_type: Option<&str>, body: &[u8]) -> CallError {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let code = v
        .get("__type")
        .and_then(Value::as_str)
        .or(error_type)
        .map(|c| c.rsplit('#').next().unwrap_or(c).split(':').next().unwrap_or(c).to_owned())
        .unwrap_or_else(|| format!("HTTP{status}"));
    let message =
        ["message", "Message"].iter().find_map(|k| v.get(*k).and_then(Value::as_str)).unwrap_or_default().to_owned();
    let extra: Map<String, Value> = v
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| !matches!(k.as_str(), "__type" | "message" | "Message"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    CallError::Aws { status, code, message, extra: (!extra.is_empty()).then_some(extra) }
}

impl Control {
    /// One signed `DaxdNodeHost.<op>` call, on a reused connection when one is idle.
    async fn call(&self, op: &str, input: &Value) -> Result<Value, CallError> {
        let out = tokio::time::timeout(EXCHANGE_TIMEOUT, self.exchange(op, input))
            .await
            .map_err(|_| CallError::Transport(format!("no answer from the control within {EXCHANGE_TIMEOUT:?}")))
            .and_then(|r| r);
        self.connections.answered(!matches!(out, Err(CallError::Transport(_))));
        out
    }

    /// A call of the data path: failed at once while the control is taken as down
    /// (`control_client::DOWN_FOR` after a call got no answer).
    async fn call_data(&self, op: &str, input: &Value) -> Result<Value, CallError> {
        if self.connections.down() {
            return Err(CallError::Transport("the control did not answer lately".to_owned()));
        }
        self.call(op, input).await
    }

    async fn exchange(&self, op: &str, input: &Value) -> Result<Value, CallError> {
        let transport = |what: &str, e: &dyn std::fmt::Display| CallError::Transport(format!("{what}: {e}"));
        let body = input.to_string();
        let target = format!("DaxdNodeHost.{op}");
        let authority = self.connections.authority();
        let signed = sigv4::sign(
            "POST",
            authority,
            &self.path,
            "",
            &[("content-type", JSON_1_1), ("x-amz-target", &target)],
            body.as_bytes(),
            &self.credentials.access_key_id,
            &self.credentials.secret_access_key,
            self.credentials.session_token.as_deref(),
            &self.region,
            "daxd",
            base::SystemClock.now(),
        );
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(self.path.as_str())
            .header(header::HOST, authority)
            .header(header::CONTENT_TYPE, JSON_1_1)
            .header("x-amz-target", &target);
        for (name, value) in &signed {
            request = request.header(name.as_str(), value.as_str());
        }
        let request = request.body(body).map_err(|e| transport("building the request", &e))?;
        let (status, error_type, bytes) = self
            .connections
            .exchange(request, MAX_RESPONSE_BYTES)
            .await
            .map_err(|crate::control_client::NoAnswer(e)| CallError::Transport(e))?;
        if status != 200 {
            return Err(aws_error(status, error_type.as_deref(), &bytes));
        }
        serde_json::from_slice(&bytes).map_err(|e| transport("the control's answer is not JSON", &e))
    }
}

/// A DAX client as the control authenticated it: its `authorizeConnection` credentials,
/// sent again with each authorization (the control keeps no state for it).
struct ClientCredentials {
    access_key_id: String,
    string_to_sign: String,
    signature: String,
    session_token: Option<String>,
}

impl ClientCredentials {
    fn ask(&self, host: &str, cluster: &str, action: Option<&str>, enclosing: Option<&str>, tls: bool) -> Value {
        let mut input = json!({
            "NodeHostId": host,
            "ClusterArn": cluster,
            "AccessKeyId": self.access_key_id,
            "StringToSign": self.string_to_sign,
            "Signature": self.signature,
            "SecureTransport": tls,
        });
        if let Some(t) = &self.session_token {
            input["SessionToken"] = json!(t);
        }
        if let Some(a) = action {
            input["Action"] = json!(a);
        }
        if let Some(e) = enclosing {
            input["EnclosingOperation"] = json!(e);
        }
        input
    }
}

/// The data path of the DAX nodes on this host (docs/node-hosts.md, "Data path"): a
/// client's credentials and `dax:<Action>`s are checked by the control
/// (`AuthorizeDaxClient`; each connection keeps the verdicts as a node inside the control
/// does), DynamoDB calls go to the control as the cluster's role (`ForwardDynamoDbCall`),
/// TTLs come with the assignments (in each node's `ClusterInfo`), the time from this
/// machine's clock.
struct HostedNodes {
    control: Arc<Control>,
    id: String,
}

fn control_error(e: CallError) -> NodeError {
    match e {
        CallError::Aws { status, code, message, extra } => NodeError { code, message, status, extra },
        CallError::Transport(t) => NodeError::internal(format!("The control cannot be reached: {t}")),
    }
}

/// A client check the control did not decide: no answer, or a failure of its own (5xx), is
/// [`NodeError::unreachable`], on which a connection keeps its last verdicts
/// (docs/node-hosts.md, "Control restart"); a refusal (4xx) is the verdict.
fn verdict_error(e: CallError) -> NodeError {
    match e {
        CallError::Aws { status: 500.., code, message, .. } => {
            NodeError::unreachable(format!("The control failed to decide: {code}: {message}"))
        }
        CallError::Transport(t) => NodeError::unreachable(format!("The control cannot be reached: {t}")),
        refusal @ CallError::Aws { .. } => control_error(refusal),
    }
}

impl HostedNodes {
    /// `AuthorizeDaxClient`, from the synchronous `Host` calls of a connection's task (the
    /// nodes run on a multi-thread runtime, so the task's worker may block on it).
    fn authorize_client(&self, input: &Value) -> Result<(), NodeError> {
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(self.control.call_data("AuthorizeDaxClient", input))
        })
        .map(drop)
        .map_err(verdict_error)
    }
}

impl Host for HostedNodes {
    fn authenticate(&self, a: &dax_wire::AuthorizeConnection, cluster: &ClusterInfo) -> Result<Principal, NodeError> {
        let string_to_sign = String::from_utf8(a.string_to_sign.clone())
            .map_err(|_| NodeError::new("InvalidSignatureException", "The string to sign is not UTF-8 text.", 400))?;
        let who = ClientCredentials {
            access_key_id: a.access_key_id.clone(),
            string_to_sign,
            signature: a.signature.clone(),
            session_token: a.session_token.clone(),
        };
        self.authorize_client(&who.ask(&self.id, &cluster.arn, None, None, false))?;
        Ok(Principal::new(who))
    }

    fn authorize(
        &self,
        who: &Principal,
        action: &str,
        cluster: &ClusterInfo,
        enclosing: Option<&str>,
        tls: bool,
    ) -> Result<(), NodeError> {
        let who = who.downcast_ref::<ClientCredentials>().ok_or_else(|| NodeError::internal("unknown principal"))?;
        self.authorize_client(&who.ask(&self.id, &cluster.arn, Some(action), enclosing, tls))
    }

    fn dynamodb<'a>(
        &'a self,
        cluster: &'a ClusterInfo,
        op: &'a str,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, NodeError>> {
        Box::pin(async move {
            let call = json!({
                "NodeHostId": self.id,
                "ClusterArn": cluster.arn,
                "Operation": op,
                "Input": input.to_string(),
            });
            let out = self.control.call_data("ForwardDynamoDbCall", &call).await.map_err(control_error)?;
            serde_json::from_str(out["Output"].as_str().unwrap_or_default())
                .map_err(|e| NodeError::internal(format!("The control's DynamoDB answer is not JSON: {e}")))
        })
    }

    fn now_ms(&self) -> i64 {
        i64::try_from(base::SystemClock.now().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
    }

    /// A client check without a verdict to keep waits for the control up to
    /// [`VERDICT_WAIT`], asking again every [`VERDICT_RETRY`] (docs/node-hosts.md,
    /// "Control restart"): the connection's task blocks its worker meanwhile, as it does
    /// while the control answers.
    fn wait_for_verdict(&self, waited: Duration) -> bool {
        if waited >= VERDICT_WAIT {
            return false;
        }
        tokio::task::block_in_place(|| std::thread::sleep(VERDICT_RETRY));
        true
    }
}

/// Each cluster's whole roster (every node on every host) and leader session id.
type Rosters = Vec<(String, Vec<PeerNode>, i64)>;

/// The roster of each cluster of the heartbeat answer's `Assignments`.
fn rosters(assignments: &Value) -> Rosters {
    assignments
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            let nodes = a["Roster"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|n| {
                    let s = |k: &str| n[k].as_str().unwrap_or_default().to_owned();
                    PeerNode {
                        node_id: s("NodeId"),
                        host_id: s("NodeHostId"),
                        address: s("Address"),
                        port: n["Port"].as_u64().and_then(|p| u16::try_from(p).ok()).unwrap_or(0),
                        availability_zone: s("AvailabilityZone"),
                        primary: n["Primary"].as_bool().unwrap_or(false),
                        replication_port: n["ReplicationPort"]
                            .as_u64()
                            .and_then(|p| u16::try_from(p).ok())
                            .unwrap_or(0),
                    }
                })
                .collect();
            (a["ClusterArn"].as_str().unwrap_or_default().to_owned(), nodes, a["LeaderSessionId"].as_i64().unwrap_or(0))
        })
        .collect()
}

/// The nodes the heartbeat answer's `Assignments` say this host runs, with their clusters'
/// TTLs.
fn desired_nodes(assignments: &Value, args: &NodeHostArgs) -> Vec<NodeSpec> {
    let mut specs = Vec::new();
    for a in assignments.as_array().into_iter().flatten() {
        let s = |k: &str| a[k].as_str().unwrap_or_default().to_owned();
        let cluster = ClusterInfo {
            region: s("Region"),
            name: s("ClusterName"),
            arn: s("ClusterArn"),
            iam_role_arn: s("IamRoleArn"),
            node_type: s("NodeType"),
            record_ttl_ms: a["RecordTtlMillis"].as_u64().unwrap_or(0),
            query_ttl_ms: a["QueryTtlMillis"].as_u64().unwrap_or(0),
        };
        for n in a["Nodes"].as_array().into_iter().flatten() {
            specs.push(NodeSpec {
                cluster: cluster.clone(),
                node_id: n["NodeId"].as_str().unwrap_or_default().to_owned(),
                host: args.advertise_host.clone(),
                port: n["Port"].as_u64().and_then(|p| u16::try_from(p).ok()).unwrap_or(0),
                availability_zone: args.availability_zone.clone(),
                tls: a["ClusterEndpointEncryptionType"] == "TLS",
                running: true,
                generation: n["Generation"].as_u64().unwrap_or(0),
            });
        }
    }
    specs
}

/// What the fleet serves of `specs`, as the heartbeat's `ServingNodes`.
fn serving_out(fleet: &Fleet, specs: &[NodeSpec]) -> Value {
    Value::Array(
        specs
            .iter()
            .filter(|s| fleet.serving(&s.cluster.arn, &s.node_id, s.port, s.generation))
            .map(|s| {
                json!({"ClusterArn": s.cluster.arn, "NodeId": s.node_id, "Port": s.port, "Generation": s.generation})
            })
            .collect(),
    )
}

/// When to heartbeat next after `failed` heartbeats in a row got no answer: the interval
/// when the last one was answered; else 250 ms, doubling with each failure, never more than
/// the interval (so a restarted control knows the host again within a fraction of its
/// timeout, without a host hammering a control that stays down).
fn heartbeat_delay(interval: Duration, failed: u32) -> Duration {
    if failed == 0 {
        return interval;
    }
    Duration::from_millis(250).saturating_mul(1 << failed.min(16).saturating_sub(1)).min(interval)
}

/// The clusters and nodes of a heartbeat's `Assignments`, in one line: `none`, or
/// `<cluster> (<node>@<port>, …); …`.
fn assignments_line(assignments: &Value) -> String {
    let clusters: Vec<String> = assignments
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            let nodes: Vec<String> = a["Nodes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|n| format!("{}@{}", n["NodeId"].as_str().unwrap_or_default(), n["Port"]))
                .collect();
            format!("{} ({})", a["ClusterName"].as_str().unwrap_or_default(), nodes.join(", "))
        })
        .collect();
    if clusters.is_empty() {
        "none".to_owned()
    } else {
        clusters.join("; ")
    }
}

/// Run `daxd node-host` to its end: the exit code.
pub fn run(args: &NodeHostArgs) -> ExitCode {
    // Multi-thread: a node's connection task blocks its worker while the control checks a
    // client (`HostedNodes::authorize_client`).
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("daxd node-host: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(host(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("daxd node-host: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn host(args: &NodeHostArgs) -> Result<(), String> {
    let (authority, server_name, path) = control_url(&args.control)?;
    let ca = std::fs::read(&args.control_ca)
        .map_err(|e| format!("cannot read --control-ca {}: {e}", args.control_ca.display()))?;
    let control = Arc::new(Control {
        connections: crate::control_client::Connections::new(authority, server_name, tls_connector(&ca)?),
        path,
        credentials: credentials_from(|n| std::env::var(n).ok())?,
        region: args.region.clone(),
    });
    // Listen for SIGINT and SIGTERM before joining, so that a signal right after the join leaves.
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(|e| format!("cannot listen for SIGINT: {e}"))?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| format!("cannot listen for SIGTERM: {e}"))?;
    // The listener of replication links from other hosts, on a port the system picks.
    let replication = std::net::TcpListener::bind((args.advertise_host.as_str(), 0))
        .map_err(|e| format!("cannot listen for replication links on {}: {e}", args.advertise_host))?;
    let replication_port = replication.local_addr().map_err(|e| e.to_string())?.port();
    // The host's key: made now, kept in memory, never sent (the control gets a request).
    let key = dax_node::tls::HostKey::generate().map_err(|e| e.to_string())?;
    let csr = key.csr(&args.advertise_host).map_err(|e| format!("--advertise-host {}: {e}", args.advertise_host))?;
    let join = json!({
        "AvailabilityZone": args.availability_zone,
        "AdvertiseHost": args.advertise_host,
        "PortRangeStart": args.dax_ports.start(),
        "PortRangeEnd": args.dax_ports.end(),
        "CertificateSigningRequest": csr,
        "ReplicationPort": replication_port,
    });
    let joined =
        control.call("JoinNodeHost", &join).await.map_err(|e| format!("joining {} failed: {e}", args.control))?;
    let id = joined["NodeHost"]["NodeHostId"].as_str().unwrap_or_default().to_owned();
    let ca_pem = String::from_utf8_lossy(&ca);
    let cert = joined["Certificate"].as_str().unwrap_or_default();
    // The certificate must chain to --control-ca and name this host: what its peers check.
    let host_tls = dax_node::NodeTls::for_host(
        &ca_pem,
        &args.control_ca,
        cert,
        &key,
        &id,
        &args.advertise_host,
        base::SystemClock.now().into(),
    )
    .map_err(|e| format!("the certificate the control issued at the join: {e}"))?;
    let interval = Duration::from_secs(joined["HeartbeatIntervalSeconds"].as_u64().unwrap_or(10).max(1));
    println!(
        "daxd node-host ready: joined {} as {id} in {} (address {}, ports {}-{}, replication port {replication_port}); heartbeat every {} s; certificate for {id} signed by the control's CA",
        args.control,
        args.availability_zone,
        args.advertise_host,
        args.dax_ports.start(),
        args.dax_ports.end(),
        interval.as_secs()
    );
    let hosted: Arc<dyn Host> = Arc::new(HostedNodes { control: Arc::clone(&control), id: id.clone() });
    let fleet = Fleet::new(hosted, FleetConfig { tls: Some(host_tls), ..FleetConfig::default() });
    let peer_tls = dax_node::PeerTls::new(&ca_pem, cert, &key).map_err(|e| format!("replication TLS: {e}"))?;
    fleet.enable_replication(&id, peer_tls, replication).map_err(|e| format!("replication links: {e}"))?;
    let mut specs: Vec<NodeSpec> = Vec::new();
    let mut next_beat = tokio::time::Instant::now() + interval;
    let mut failed_beats = 0_u32;
    let mut assigned = String::new();
    loop {
        tokio::select! {
            _ = int.recv() => break,
            _ = term.recv() => break,
            () = tokio::time::sleep_until(next_beat) => {
                // Which assigned nodes serve: the control makes them `available` from this;
                // and their metrics, which the control publishes.
                let beat = json!({
                    "NodeHostId": id,
                    "ServingNodes": serving_out(&fleet, &specs),
                    "Metrics": crate::hosted_metrics::metrics_out(&fleet, &specs),
                });
                let answer = control.call("SendNodeHostHeartbeat", &beat).await;
                failed_beats = if matches!(answer, Err(CallError::Transport(_) | CallError::Aws { status: 500.., .. })) {
                    failed_beats.saturating_add(1)
                } else {
                    0
                };
                next_beat = tokio::time::Instant::now() + heartbeat_delay(interval, failed_beats);
                match answer {
                    Ok(answer) => {
                        let now = assignments_line(&answer["Assignments"]);
                        if now != assigned {
                            println!("daxd node-host: {id} is assigned {now}");
                            assigned = now;
                        }
                        let next = desired_nodes(&answer["Assignments"], args);
                        fleet.reconcile(&next);
                        crate::hosted_faults::apply(&fleet, &next, &answer["Faults"]);
                        for (arn, nodes, session) in rosters(&answer["Assignments"]) {
                            fleet.set_roster(&arn, nodes, session);
                        }
                        specs = next;
                    }
                    // The control forgot or refuses this host: it cannot serve as one any more.
                    Err(e @ CallError::Aws { status: 400..=499, .. }) => {
                        return Err(format!("heartbeat refused, node host {id} stops: {e}"));
                    }
                    // The control may be restarting: try again soon, then less often.
                    Err(e) => eprintln!(
                        "daxd node-host: heartbeat of {id} failed, retrying in {} ms: {e}",
                        heartbeat_delay(interval, failed_beats).as_millis()
                    ),
                }
            }
        }
    }
    fleet.stop_all();
    control.call("LeaveNodeHost", &json!({"NodeHostId": id})).await.map_err(|e| format!("leaving failed: {e}"))?;
    println!("daxd node-host: {id} left {}", args.control);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_become_node_specs_ttls_and_a_line() {
        let args = NodeHostArgs {
            control: "https://c".into(),
            control_ca: "ca.pem".into(),
            region: "us-east-1".into(),
            availability_zone: "us-east-1b".into(),
            advertise_host: "127.0.0.2".into(),
            dax_ports: 27000..=27009,
        };
        let answer = json!([{
            "ClusterArn": "arn:aws:dax:us-east-1:1:cache/c", "ClusterName": "c", "Region": "us-east-1",
            "NodeType": "dax.t3.small", "IamRoleArn": "arn:aws:iam::1:role/r",
            "ClusterEndpointEncryptionType": "NONE", "RecordTtlMillis": 5, "QueryTtlMillis": 7,
            "Nodes": [{"NodeId": "c-a", "Port": 27000, "Generation": 0, "Primary": true},
                      {"NodeId": "c-b", "Port": 27001, "Generation": 2, "Primary": false}],
        }]);
        let specs = desired_nodes(&answer, &args);
        let got: Vec<(&str, &str, u16, u64, bool, &str)> = specs
            .iter()
            .map(|s| (s.node_id.as_str(), s.host.as_str(), s.port, s.generation, s.tls, s.availability_zone.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("c-a", "127.0.0.2", 27000, 0, false, "us-east-1b"),
                ("c-b", "127.0.0.2", 27001, 2, false, "us-east-1b")
            ]
        );
        assert!(specs.iter().all(|s| s.running && s.cluster.iam_role_arn == "arn:aws:iam::1:role/r"));
        assert!(specs.iter().all(|s| (s.cluster.record_ttl_ms, s.cluster.query_ttl_ms) == (5, 7)));
        assert_eq!(assignments_line(&answer), "c (c-a@27000, c-b@27001)");
        let with_roster = json!([{
            "ClusterArn": "arn:c", "LeaderSessionId": 42,
            "Roster": [{"NodeId": "c-a", "NodeHostId": "nh-1", "Address": "127.0.0.2", "Port": 27000,
                        "AvailabilityZone": "us-east-1a", "Primary": true}],
        }]);
        let got = rosters(&with_roster);
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].0.as_str(), got[0].2), ("arn:c", 42));
        assert_eq!(
            got[0].1,
            vec![PeerNode {
                node_id: "c-a".into(),
                host_id: "nh-1".into(),
                address: "127.0.0.2".into(),
                port: 27000,
                availability_zone: "us-east-1a".into(),
                primary: true,
                replication_port: 0,
            }]
        );
        assert_eq!(assignments_line(&json!([])), "none");
        assert!(desired_nodes(&Value::Null, &args).is_empty());
    }

    #[test]
    fn control_errors_keep_dax_words() {
        let e = aws_error(
            400,
            None,
            br#"{"__type":"com.amazon#AccessDeniedException","message":"no","CancellationReasons":[1]}"#,
        );
        let n = control_error(e);
        assert_eq!((n.code.as_str(), n.message.as_str(), n.status), ("AccessDeniedException", "no", 400));
        assert_eq!(n.extra.and_then(|x| x.get("CancellationReasons").cloned()), Some(json!([1])));
        let n = control_error(CallError::Transport("down".into()));
        assert_eq!((n.code.as_str(), n.status), ("InternalServerError", 500));
    }

    #[test]
    fn heartbeats_without_an_answer_back_off_to_the_interval() {
        let interval = Duration::from_secs(10);
        let delays: Vec<u128> = (0..8).map(|f| heartbeat_delay(interval, f).as_millis()).collect();
        assert_eq!(delays, vec![10_000, 250, 500, 1_000, 2_000, 4_000, 8_000, 10_000]);
        assert_eq!(heartbeat_delay(interval, u32::MAX), interval);
        assert_eq!(heartbeat_delay(Duration::from_secs(1), 3), Duration::from_secs(1));
    }

    #[test]
    fn a_check_without_a_verdict_is_unreachable_and_a_refusal_is_not() {
        let refused = verdict_error(aws_error(400, None, br#"{"__type":"AccessDeniedException","message":"no"}"#));
        assert_eq!((refused.code.as_str(), refused.is_unreachable()), ("AccessDeniedException", false));
        assert!(verdict_error(CallError::Transport("connection refused".into())).is_unreachable());
        assert!(verdict_error(aws_error(500, None, br#"{"__type":"InternalFailure"}"#)).is_unreachable());
        assert!(verdict_error(aws_error(503, None, b"")).is_unreachable());
    }

    #[test]
    fn only_https_control_urls() {
        let (authority, _, path) = control_url("https://10.0.0.1:8443").expect("https");
        assert_eq!((authority.as_str(), path.as_str()), ("10.0.0.1:8443", "/"));
        let (authority, _, _) = control_url("https://control.example").expect("default port");
        assert_eq!(authority, "control.example:443");
        assert!(control_url("http://10.0.0.1:8000").unwrap_err().contains("TLS only"));
        assert!(control_url("ftp://x").unwrap_err().contains("https://"));
        assert!(control_url("not a url").is_err());
        assert!(control_url("https://[::1]:8443").is_ok());
    }

    #[test]
    fn credentials_come_from_the_aws_variables_and_are_not_printed() {
        let env = |n: &str| match n {
            "AWS_ACCESS_KEY_ID" => Some("AKIAEXAMPLE".to_owned()),
            "AWS_SECRET_ACCESS_KEY" => Some("very-secret".to_owned()),
            _ => None,
        };
        let c = credentials_from(env).expect("credentials");
        assert_eq!(c.session_token, None);
        assert!(!format!("{c:?}").contains("very-secret"));
        assert!(credentials_from(|_| None).is_err());
    }

    #[test]
    fn errors_are_read_as_aws_words_them() {
        let e = aws_error(400, None, br#"{"__type":"com.amazon.coral#UnrecognizedClientException","message":"bad"}"#);
        assert!(
            matches!(e, CallError::Aws { status: 400, ref code, ref message, .. } if code == "UnrecognizedClientException" && message == "bad")
        );
        let e = aws_error(403, Some("AccessDeniedException:http://x"), b"{\"Message\":\"no\"}");
        assert!(
            matches!(e, CallError::Aws { ref code, ref message, .. } if code == "AccessDeniedException" && message == "no")
        );
        let e = aws_error(500, None, b"garbage");
        assert!(matches!(e, CallError::Aws { ref code, .. } if code == "HTTP500"));
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let refused = tls_connector(b"nothing here").err().unwrap_or_default();
        assert!(refused.contains("no certificate"), "{refused}");
    }
}
