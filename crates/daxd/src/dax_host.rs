//! The DAX data plane (`dax-node`) wired to the rest of daxd: what its `Host` trait asks
//! of IAM, DynamoDB and the DAX control plane, and the fleet of node listeners the
//! background tick keeps in line with the control plane.
//!
//! * `authenticate`: the SigV4 string-to-sign of `authorizeConnection` is checked
//!   (algorithm, scope `<date>/<region>/dax/aws4_request` for the cluster's region, time
//!   within 15 minutes), the access key looked up like on the HTTP endpoint (root keys, IAM
//!   user keys, STS session keys with their token), and the signature recomputed over the
//!   received bytes with the scope's signing key and compared in constant time.
//! * `authorize`: `dax:<Action>` on the cluster ARN by IAM's engine, with
//!   `dax:EnclosingOperation` for the parts of a transaction; recorded as the caller's
//!   activity like any request.
//! * `dynamodb`: the call is made *as the cluster's `IamRoleArn`* (an assumed-role
//!   session of it) through the same per-table authorization as the DynamoDB API. So a
//!   role without `dynamodb:GetItem` on a table makes every client's GetItem fail with
//!   `AccessDeniedException` — and, as on AWS, a client with `dax:GetItem` reads whatever
//!   the role can read (docs/dax-access-control.md).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Weak};

use dax_control::{DescribeClustersInput, Paging};
use dax_node::{BoxFuture, ClusterInfo, Fleet, FleetConfig, Host, NodeError, NodeSpec, NodeTls, Principal};
use iam::{Caller, Session};
use serde_json::Value;
use wire::{AwsError, Protocol};

use crate::api::Target;
use crate::app::{App, DaxNodes};
use crate::auth::{self, Authenticator, RequestFacts};
use crate::config::ServeArgs;
use crate::exec;
use crate::services::Service;

/// Where the TLS CA and node certificate of `daxs://` clusters live, under the data dir.
pub const TLS_DIR: &str = "tls";

/// The TLS material of `daxs://` nodes and of `--tls-listen`, under the data dir.
///
/// The CA is made on first start (`<data-dir>/tls/ca.pem`, its key `ca-key.pem` mode 0600)
/// and reused after; the certificate it signs covers the advertise host, `localhost`,
/// `127.0.0.1` and `::1`.
///
/// # Errors
/// As [`NodeTls::load_or_create`].
pub fn load_tls(args: &ServeArgs) -> std::io::Result<NodeTls> {
    let tls = NodeTls::load_or_create(&args.data_dir.join(TLS_DIR), &args.dax_advertise_host)?;
    tracing::info!(ca = %tls.ca_path().display(), names = ?tls.names(), "TLS clients (daxs://, --tls-listen) trust this CA");
    Ok(tls)
}

/// Start the data plane and the listeners of the nodes the control plane has (so that, after
/// a restart, they are bound before the HTTP endpoint answers). Call inside the runtime.
/// Without `tls` (see [`load_tls`]), `daxs://` clusters are not served; plaintext clusters
/// are unaffected.
pub fn start(app: &Arc<App>, args: &ServeArgs, tls: Option<NodeTls>) {
    let host = Arc::new(DaxHost { app: Arc::downgrade(app) });
    let config = FleetConfig {
        cache_bytes: args.node_cache_bytes,
        max_in_flight: args.node_max_in_flight.max(1),
        max_connections: args.node_max_connections.max(1),
        limits: dax_wire::Limits::DEFAULT,
        frame_buffer_bytes: args.node_frame_buffer_bytes,
        tls,
        bind_host: args.dax_bind_host.clone(),
        clock: dax_node::CacheClock::system(),
    };
    // The node listeners run on a runtime of their own, so that a flood of DAX traffic
    // queues behind other DAX traffic, never in front of the HTTP endpoint (/health, the
    // control plane, the console). It lives as long as the process.
    let fleet = match tokio::runtime::Builder::new_multi_thread().thread_name("dax-node").enable_all().build() {
        Ok(runtime) => {
            let runtime: &'static tokio::runtime::Runtime = Box::leak(Box::new(runtime));
            let _entered = runtime.enter();
            Fleet::new(host, config)
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot start the DAX nodes' runtime: they share the HTTP endpoint's");
            Fleet::new(host, config)
        }
    };
    let _ = app.dax_readiness.fleet.set(Arc::clone(&fleet));
    let _ = app.dax_nodes.set(DaxNodes { fleet, advertise_host: args.dax_advertise_host.clone() });
    reconcile(app);
}

/// Make the running listeners match the control plane: every node it says should `listen`
/// serves (an `available` node, and a `creating` or `rebooting` one whose delay has passed:
/// `dax-control` makes it `available` once the fleet reports it serving, see
/// `dax_deps::FleetReadiness`); `rebooting` nodes stop until then (and come back with an
/// empty cache); deleted clusters and nodes go away. The clusters' parameter-group TTLs
/// travel with them: a change reaches the nodes' caches with the next reconcile (the
/// background tick's, every 200 ms), and no DAX request waits on the control plane's state.
pub fn reconcile(app: &App) {
    let Some(nodes) = app.dax_nodes.get() else { return };
    let ports = app.dax.node_ports();
    let regions: BTreeSet<&str> = ports.iter().map(|p| p.region.as_str()).collect();
    let mut clusters = BTreeMap::new();
    for region in regions {
        let mut paging = Paging { max_results: Some(100), next_token: None };
        loop {
            let input = DescribeClustersInput { cluster_names: Vec::new(), paging: paging.clone() };
            let Ok(page) = app.dax.describe_clusters(region, &input) else { break };
            for c in page.items {
                clusters.insert((region.to_owned(), c.cluster_name.clone()), c);
            }
            match page.next_token {
                Some(t) => paging.next_token = Some(t),
                None => break,
            }
        }
    }
    let mut desired = Vec::with_capacity(ports.len());
    let mut ttls = BTreeMap::new();
    for p in ports {
        let Some(c) = clusters.get(&(p.region.clone(), p.cluster.clone())) else { continue };
        let (record_ttl_ms, query_ttl_ms) = *ttls.entry((p.region.clone(), p.cluster.clone())).or_insert_with(|| {
            app.dax
                .ttls(&p.region, &c.cluster_name)
                .unwrap_or((dax_control::DEFAULT_TTL_MS, dax_control::DEFAULT_TTL_MS))
        });
        desired.push(NodeSpec {
            cluster: ClusterInfo {
                region: p.region.clone(),
                name: c.cluster_name.clone(),
                arn: c.cluster_arn.clone(),
                iam_role_arn: c.iam_role_arn.clone(),
                node_type: c.node_type.clone(),
                record_ttl_ms,
                query_ttl_ms,
            },
            node_id: p.node_id.clone(),
            host: nodes.advertise_host.clone(),
            port: p.port,
            availability_zone: p.availability_zone,
            tls: p.tls,
            running: p.listen,
            generation: p.reboots,
        });
    }
    nodes.fleet.reconcile(&desired);
}

/// The snapshots of every DAX node and cluster: `fleet`'s (the nodes inside the control)
/// and those the node hosts reported (`hosted_metrics.rs`), one per cluster; and the
/// cache capacities of the hosted nodes, by (region, cluster name, node id).
pub fn all_snapshots(app: &App, fleet: &Fleet) -> crate::hosted_metrics::Snapshots {
    let (mut nodes, mut clusters) = fleet.metrics();
    let (hosted_nodes, hosted_clusters, capacities) =
        app.hosted_metrics.snapshots(|region, id| app.node_hosts.get(region, id).map(|h| h.state));
    nodes.extend(hosted_nodes);
    clusters.extend(hosted_clusters);
    (nodes, crate::hosted_metrics::merge_clusters(clusters), capacities)
}

/// The `/metrics` body: every node's and cluster's, hosted ones included.
pub fn prometheus(app: &App) -> String {
    let Some(nodes) = app.dax_nodes.get() else { return String::new() };
    let (nodes, clusters, _) = all_snapshots(app, &nodes.fleet);
    dax_node::render_prometheus(&nodes, &clusters)
}

struct DaxHost {
    app: Weak<App>,
}

fn node_error(e: AwsError) -> NodeError {
    NodeError { code: e.code, message: e.message, status: e.status, extra: e.extra }
}

fn signature_error(message: impl Into<String>) -> NodeError {
    NodeError::new("InvalidSignatureException", message, 400)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `YYYYMMDDTHHMMSSZ` as Unix seconds.
fn amz_unix(amz: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::PrimitiveDateTime::parse(amz, format).ok().map(|t| t.assume_utc().unix_timestamp())
}

impl DaxHost {
    fn app(&self) -> Result<Arc<App>, NodeError> {
        self.app.upgrade().ok_or_else(|| NodeError::internal("daxd is shutting down"))
    }
}

/// Verify a DAX client's `authorizeConnection` for a node of a cluster in `region`: the
/// caller its key names, if the signature over the received string-to-sign is right (a
/// node inside daxd, and `AuthorizeDaxClient` for nodes on node hosts).
///
/// # Errors
/// `InvalidSignatureException`, `UnrecognizedClientException`, `ExpiredTokenException`.
pub fn authenticate_client(app: &App, a: &dax_wire::AuthorizeConnection, region: &str) -> Result<Caller, NodeError> {
    let sts = dax_wire::parse_string_to_sign(&a.string_to_sign).map_err(|e| signature_error(e.message()))?;
    if sts.region != region {
        return Err(signature_error(format!(
            "Credential should be scoped to a valid region: the cluster is in {region}, not '{}'.",
            sts.region
        )));
    }
    let now = app.env.clock.now();
    let signed = amz_unix(sts.amz_date).ok_or_else(|| signature_error("Invalid date in the string to sign"))?;
    if (now.unix_timestamp() - signed).abs() > sigv4::MAX_CLOCK_SKEW_SECS {
        return Err(signature_error(format!(
            "Signature expired: {} is not within 15 minutes of the server time.",
            sts.amz_date
        )));
    }
    // Look the key up exactly as the HTTP endpoint does, from a request carrying the
    // same credential scope and session token.
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={}/{}/{}/dax/aws4_request, SignedHeaders=host;x-amz-date, Signature={}",
        a.access_key_id, sts.date, sts.region, a.signature
    );
    let mut headers: Vec<(&str, &[u8])> = vec![
        ("authorization", authorization.as_bytes()),
        ("host", dax_wire::SIGNED_HOST.as_bytes()),
        ("x-amz-date", sts.amz_date.as_bytes()),
    ];
    if let Some(t) = &a.session_token {
        headers.push(("x-amz-security-token", t.as_bytes()));
    }
    let req = sigv4::Request { method: "POST", path: "/", query: "", headers: &headers, body: &[] };
    let parsed = sigv4::parse(&req).map_err(|e| signature_error(e.to_string()))?;
    let authn = Authenticator { root: &app.root, iam: &app.iam, keys: &app.signing_keys };
    let (secret, caller) =
        authn.credentials(&parsed, now).map_err(|f| node_error(auth::error(Protocol::Json10, &f)))?;
    let key = app.signing_keys.get_or_compute(&secret, sts.date, sts.region, dax_wire::SERVICE);
    let expected = hex(&sigv4::hmac_sha256(&key, &a.string_to_sign));
    if !sigv4::constant_time_eq(expected.as_bytes(), a.signature.to_ascii_lowercase().as_bytes()) {
        return Err(signature_error(
                "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.",
            ));
    }
    Ok(caller)
}

/// `dax:<action>` on the cluster `cluster_arn` of `region` for `caller`, with
/// `dax:EnclosingOperation` and `aws:SecureTransport` (`tls`), recorded as its activity.
///
/// # Errors
/// `AccessDeniedException`.
pub fn authorize_client(
    app: &App,
    caller: &Caller,
    action: &str,
    (cluster_arn, region): (&str, &str),
    enclosing: Option<&str>,
    tls: bool,
) -> Result<(), NodeError> {
    let mut target = Target::new("dax", action, cluster_arn);
    if let Some(op) = enclosing {
        target.context.push(("dax:EnclosingOperation".into(), op.to_owned()));
    }
    // `aws:SecureTransport`: the client's connection to the node is TLS (`daxs://`).
    let facts = RequestFacts { region, source_ip: None, secure: tls, now: app.env.clock.now() };
    let ctx = auth::context(&app.iam, caller, &facts, &target);
    auth::authorize(&app.iam, caller, &target, &ctx, Protocol::Json10).map_err(node_error)?;
    exec::record_access(app, caller, "dax", action, region);
    Ok(())
}

/// One DynamoDB call as the cluster's role `role_arn` (an assumed-role session of it, as
/// `dax.amazonaws.com` makes), through the one authorization path of the DynamoDB API.
///
/// # Errors
/// `AccessDeniedException` when the role is gone or may not; DynamoDB's own errors.
pub async fn dynamodb_as_role(
    app: &Arc<App>,
    (cluster_name, region, role_arn): (&str, &str, &str),
    op: &str,
    input: Value,
) -> Result<Value, NodeError> {
    let role = app.iam.role_by_arn(role_arn).ok_or_else(|| {
        NodeError::access_denied(format!(
            "The role {role_arn} of DAX cluster {cluster_name} does not exist, so the cluster cannot reach DynamoDB."
        ))
    })?;
    // An assumed-role session of the cluster's role: DynamoDB authorizes the role's
    // policies, table by table, and Access Advisor records the role's use.
    let caller = Caller::Session(Session::internal(&role, &format!("DAX-{cluster_name}")));
    // AWS services call each other over HTTPS endpoints: `aws:SecureTransport` is true.
    let call = exec::Call {
        caller: &caller,
        op,
        input,
        region,
        source_ip: None,
        secure: true,
        protocol: crate::services::def(Service::DynamoDb).protocol,
    };
    exec::execute(app, Service::DynamoDb, call).await.map_err(node_error)
}

impl Host for DaxHost {
    fn authenticate(&self, a: &dax_wire::AuthorizeConnection, cluster: &ClusterInfo) -> Result<Principal, NodeError> {
        let app = self.app()?;
        authenticate_client(&app, a, &cluster.region).map(Principal::new)
    }

    fn authorize(
        &self,
        who: &Principal,
        action: &str,
        cluster: &ClusterInfo,
        enclosing: Option<&str>,
        tls: bool,
    ) -> Result<(), NodeError> {
        let app = self.app()?;
        let caller = who.downcast_ref::<Caller>().ok_or_else(|| NodeError::internal("unknown principal"))?;
        authorize_client(&app, caller, action, (&cluster.arn, &cluster.region), enclosing, tls)
    }

    fn dynamodb<'a>(
        &'a self,
        cluster: &'a ClusterInfo,
        op: &'a str,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, NodeError>> {
        Box::pin(async move {
            let app = self.app()?;
            dynamodb_as_role(&app, (&cluster.name, &cluster.region, &cluster.iam_role_arn), op, input).await
        })
    }

    fn now_ms(&self) -> i64 {
        self.app
            .upgrade()
            .map_or(0, |app| i64::try_from(app.env.clock.now().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX))
    }
}
