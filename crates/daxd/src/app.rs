//! The running daxd: its configuration, durable store and services.

use std::path::Path;
use std::sync::Arc;

use base::Env;
use dax_control::{Config as DaxConfig, DaxControl, Deps};
use ec2::Ec2;
use iam::Iam;
use state::Store;

use crate::config::{RootCredentials, ServeArgs};

/// The DAX data plane, once it runs: the fleet of node listeners.
pub struct DaxNodes {
    pub fleet: Arc<dax_node::Fleet>,
    pub advertise_host: String,
}

/// Shared by every request.
pub struct App {
    pub account: String,
    pub root: RootCredentials,
    pub env: Env,
    pub store: Arc<Store>,
    pub iam: Arc<Iam>,
    pub ec2: Arc<Ec2>,
    pub dax: Arc<DaxControl>,
    /// The node hosts that joined (`daxd node-host`, docs/node-hosts.md).
    pub node_hosts: Arc<dax_control::NodeHosts>,
    /// CloudWatch, per region: the `AWS/DAX` metrics and their alarms.
    pub cloudwatch: Arc<crate::api::cloudwatch::CloudWatches>,
    /// The DAX node counters at the last minute's CloudWatch recording.
    pub dax_metrics: std::sync::Mutex<crate::dax_metrics::MetricsRecorder>,
    /// The last metrics each node host reported for the nodes it runs.
    pub hosted_metrics: crate::hosted_metrics::HostedMetrics,
    /// The FIS faults wanted on nodes that run on node hosts.
    pub hosted_faults: Arc<crate::hosted_faults::HostedFaults>,
    pub dynamo: Arc<crate::api::dynamodb::DynamoService>,
    /// The embedded engine, when it is the backend (its TTL sweeper runs in the background).
    pub embedded: Option<dynamo::EmbeddedBackend>,
    pub signing_keys: sigv4::SigningKeyCache,
    pub enable_reset: bool,
    pub max_body_bytes: usize,
    /// Time a client has to send a request body once its head is in.
    pub http_read_timeout: std::time::Duration,
    /// `--console-secure-cookie`.
    pub console_secure_cookie: bool,
    /// Seconds each step of an asynchronous lifecycle takes.
    pub step_secs: f64,
    /// Orders CreateCluster (readers: from the check that `AWSServiceRoleForDAX` exists
    /// until the cluster is saved) against the deletion task's step that asks which
    /// clusters use the role and then deletes it (the writer): without it, a cluster
    /// created between that question and the deletion would be left without its role.
    pub role_in_use: Arc<std::sync::RwLock<()>>,
    /// The DAX data plane (node listeners), set once the runtime runs (`dax_host::start`);
    /// shared with the Fault Injection Service's actions, which act on its nodes.
    pub dax_nodes: Arc<std::sync::OnceLock<DaxNodes>>,
    /// The Fault Injection Service: templates and experiments, advanced by the tick.
    pub fis: Arc<fis::Fis>,
    /// What `dax-control` asks before it calls a node `available` (`dax_host::start` gives
    /// it the fleet).
    pub dax_readiness: Arc<crate::dax_deps::FleetReadiness>,
}

impl App {
    /// Open the state in `data_dir` and load every service from it.
    ///
    /// # Errors
    /// When the state cannot be opened or read.
    pub fn open(args: &ServeArgs, root: RootCredentials, env: Env, data_dir: &Path) -> Result<Self, String> {
        let store = Arc::new(Store::open(&data_dir.join("state.db")).map_err(|e| e.to_string())?);
        let iam = Arc::new(Iam::open(&args.account_id, env.clone(), Arc::clone(&store)).map_err(|e| e.to_string())?);
        let ec2 = Arc::new(Ec2::open(&args.account_id, env.clone(), Arc::clone(&store)).map_err(|e| e.to_string())?);
        let ports = Arc::new(crate::dax_deps::PortPool::new(args.dax_ports.clone(), &args.dax_advertise_host));
        let node_hosts = Arc::new(
            dax_control::NodeHosts::open(
                &args.account_id,
                env.clone(),
                Arc::clone(&store),
                std::time::Duration::from_secs(args.node_host_timeout_secs.max(1)),
            )
            .map_err(|e| e.to_string())?,
        );
        let readiness = Arc::new(crate::dax_deps::FleetReadiness {
            fleet: std::sync::OnceLock::new(),
            hosts: Arc::clone(&node_hosts),
        });
        let deps = Deps {
            network: Arc::new(crate::dax_deps::SlrNetwork { iam: Arc::clone(&iam), ec2: Arc::clone(&ec2) }),
            identity: Arc::new(crate::dax_deps::RoleCheck { iam: Arc::clone(&iam) }),
            ports: Arc::clone(&ports) as Arc<dyn dax_control::Ports>,
            readiness: Arc::clone(&readiness) as Arc<dyn dax_control::Readiness>,
        };
        let config = DaxConfig {
            advertise_host: args.dax_advertise_host.clone(),
            provisioning_delay: std::time::Duration::from_millis(args.provisioning_delay_ms),
        };
        let mut dax = DaxControl::open(&args.account_id, env.clone(), Arc::clone(&store), deps, config)
            .map_err(|e| e.to_string())?;
        if !args.keep_dax_nodes_in_control {
            dax = dax.with_node_hosts(Arc::clone(&node_hosts));
        }
        ports.mark_used(dax.node_ports().into_iter().map(|n| n.port));
        sweep_orphan_interfaces(&ec2, &dax);
        let mut embedded = None;
        let backend: Arc<dyn dynamo::Backend> = match &args.dynamodb_endpoint {
            Some(endpoint) => {
                let credentials = dynamo::Credentials {
                    access_key_id: args.dynamodb_access_key_id.clone().unwrap_or_default(),
                    secret_access_key: args.dynamodb_secret_access_key.clone().unwrap_or_default(),
                    session_token: args.dynamodb_session_token.clone(),
                };
                let mut config = dynamo::RemoteConfig::new(endpoint.clone(), credentials);
                config.streams_endpoint.clone_from(&args.dynamodb_streams_endpoint);
                config.region.clone_from(&args.dynamodb_region);
                config.request_timeout = std::time::Duration::from_millis(args.dynamodb_timeout_ms.max(1));
                Arc::new(dynamo::RemoteBackend::new(config, Arc::clone(&env.clock)).map_err(|e| e.to_string())?)
            }
            None => {
                let engine = dynamo::EmbeddedBackend::open_with_clock(
                    &data_dir.join("dynamodb"),
                    &args.account_id,
                    Arc::clone(&env.clock),
                )
                .map_err(|e| e.to_string())?;
                embedded = Some(engine.clone());
                Arc::new(engine)
            }
        };
        let policies = dynamo::ResourcePolicies::new(Arc::clone(&store), Arc::clone(&env.clock))
            .map_err(|e| e.to_string())?
            .for_account(&args.account_id);
        let dynamo = Arc::new(crate::api::dynamodb::DynamoService::new(backend, policies));
        let cloudwatch = Arc::new(crate::api::cloudwatch::CloudWatches::new(
            Arc::clone(&env.clock),
            Arc::clone(&store),
            &args.account_id,
        ));
        let dax = Arc::new(dax);
        let dax_nodes: Arc<std::sync::OnceLock<DaxNodes>> = Arc::new(std::sync::OnceLock::new());
        let nodes = Arc::clone(&dax_nodes);
        let fleet: crate::fis_deps::FleetHandle = Arc::new(move || nodes.get().map(|n| Arc::clone(&n.fleet)));
        let hosted_faults = Arc::new(crate::hosted_faults::HostedFaults::default());
        let fis = fis::Fis::new(
            Arc::clone(&store),
            env.clone(),
            Arc::new(crate::fis_deps::FisTargets {
                dax: Arc::clone(&dax),
                ec2: Arc::clone(&ec2),
                fleet: Arc::clone(&fleet),
            }),
            Arc::new(crate::fis_deps::FisAlarms { cloudwatch: Arc::clone(&cloudwatch) }),
            Arc::new(crate::fis_deps::FisActions {
                iam: Arc::clone(&iam),
                dax: Arc::clone(&dax),
                ec2: Arc::clone(&ec2),
                fleet,
                hosted: Arc::clone(&hosted_faults),
            }),
        )
        .with_time_scale(args.fis_time_scale)
        .map_err(|e| e.message)?;
        let fis = Arc::new(fis);
        Ok(App {
            account: args.account_id.clone(),
            root,
            env,
            store,
            iam,
            ec2,
            dax,
            node_hosts,
            cloudwatch,
            dax_metrics: std::sync::Mutex::default(),
            hosted_metrics: crate::hosted_metrics::HostedMetrics::default(),
            hosted_faults,
            dynamo,
            embedded,
            signing_keys: sigv4::SigningKeyCache::new(1024),
            enable_reset: args.enable_reset,
            max_body_bytes: args.max_body_bytes,
            http_read_timeout: std::time::Duration::from_millis(args.http_read_timeout_ms.max(1)),
            console_secure_cookie: args.console_secure_cookie,
            step_secs: args.provisioning_delay_ms as f64 / 1000.0,
            role_in_use: Arc::new(std::sync::RwLock::new(())),
            dax_nodes,
            fis,
            dax_readiness: readiness,
        })
    }

    /// DAX clusters (not fully deleted) per region: what still uses
    /// `AWSServiceRoleForDAX`.
    pub fn dax_clusters_by_region(&self) -> Vec<iam::RoleUsage> {
        self.dax
            .clusters_using_role()
            .into_iter()
            .map(|(region, resources)| iam::RoleUsage { region, resources })
            .collect()
    }

    /// Wipe all state (the admin reset) and reload the services from the
    /// now empty store.
    ///
    /// # Errors
    /// When the store cannot be wiped.
    pub fn reset(&self) -> Result<(), String> {
        // Running experiments end first: their faults are on the live node listeners.
        self.fis.recover().map_err(|e| e.to_string())?;
        self.store.wipe().map_err(|e| e.to_string())?;
        self.iam.reload().map_err(|e| e.to_string())?;
        self.ec2.reload().map_err(|e| e.to_string())?;
        self.dax.reload().map_err(|e| e.to_string())?;
        self.node_hosts.reload().map_err(|e| e.to_string())?;
        self.cloudwatch.reset();
        self.dynamo.policies.reset().map_err(|e| e.to_string())?;
        self.signing_keys.clear();
        Ok(())
    }
}

/// Delete the network interfaces DAX made for nodes that no cluster records. CreateCluster
/// makes each node's interface (one committed write each) before it saves the cluster, so
/// a crash in between leaves interfaces without a node; elsewhere a failure rolls them back.
/// Run at start, before any request can be creating a cluster.
fn sweep_orphan_interfaces(ec2: &Ec2, dax: &DaxControl) {
    let known = dax.node_interfaces();
    for region in ec2.regions() {
        for eni in ec2.network_interfaces_with_description_prefix(&region, "DAX cluster ") {
            if !eni.requester_managed || known.contains(&(region.clone(), eni.network_interface_id.clone())) {
                continue;
            }
            match ec2.delete_network_interface_as_requester(&region, &eni.network_interface_id) {
                Ok(()) => {
                    tracing::info!(%region, eni = %eni.network_interface_id, description = %eni.description, "deleted a DAX network interface left by a crash")
                }
                Err(e) => {
                    tracing::warn!(%region, eni = %eni.network_interface_id, error = %e, "cannot delete a DAX network interface left by a crash")
                }
            }
        }
    }
}
