//! Command-line configuration and the root credentials.

use std::fs;
use std::io::Write as _;
use std::net::SocketAddr;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base::Ids;
use clap::{Args, Parser, Subcommand};
use serde::{Deserialize, Serialize};

#[derive(Debug, Parser)]
#[command(
    name = "daxd",
    version,
    about = "A self-hosted, AWS-compatible DynamoDB Accelerator (DAX) with IAM, STS, EC2 and DynamoDB APIs on one endpoint"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every service in one process.
    Serve(ServeArgs),
}

#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// Address of the HTTP endpoint that serves every AWS API. Port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,

    /// Also serve every AWS API over HTTPS on this address (port 0 picks a free port), with
    /// the certificate of the daxs:// nodes: signed by the data dir's CA (tls/ca.pem, which
    /// clients trust with --ca-bundle or AWS_CA_BUNDLE), for --dax-advertise-host,
    /// localhost, 127.0.0.1 and ::1. TLS 1.2 and 1.3 only.
    #[arg(long, value_name = "ADDR")]
    pub tls_listen: Option<SocketAddr>,

    /// Directory holding all state; a restart resumes from it.
    #[arg(long, default_value = "./daxd-data")]
    pub data_dir: PathBuf,

    /// The AWS account id daxd serves.
    #[arg(long, default_value = "123456789012")]
    pub account_id: String,

    /// Root access key id. Generated and stored in the data dir when neither this nor the env var is set.
    #[arg(long, env = "DAXD_ROOT_ACCESS_KEY_ID")]
    pub root_access_key_id: Option<String>,

    /// Root secret access key (pairs with --root-access-key-id).
    #[arg(long, env = "DAXD_ROOT_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub root_secret_access_key: Option<String>,

    /// Allow `POST /moto-api/reset` to wipe all state (for test suites written for moto's server mode).
    #[arg(long)]
    pub enable_reset: bool,

    /// How long each step of an asynchronous lifecycle takes, in milliseconds
    /// (cluster provisioning, service-linked role deletion). 0 makes them immediate.
    #[arg(long, default_value_t = 2000)]
    pub provisioning_delay_ms: u64,

    /// Ports handed to DAX cluster nodes, as FIRST-LAST; each node keeps its port across restarts.
    #[arg(long, default_value = "8111-8999", value_parser = parse_port_range)]
    pub dax_ports: std::ops::RangeInclusive<u16>,

    /// The host name or address put into DAX cluster and node endpoints.
    #[arg(long, default_value = "127.0.0.1")]
    pub dax_advertise_host: String,

    /// Forward DynamoDB to this DynamoDB-compatible endpoint (AWS DynamoDB, ScyllaDB Alternator,
    /// dynalite) instead of the embedded engine, e.g. `http://127.0.0.1:4567`.
    #[arg(long)]
    pub dynamodb_endpoint: Option<String>,

    /// Send DynamoDB Streams calls (ListStreams, DescribeStream, GetShardIterator, GetRecords)
    /// to this endpoint, signed like the DynamoDB ones, e.g. `http://127.0.0.1:4568`
    /// (AWS serves them at streams.dynamodb.<region>.amazonaws.com). Default: --dynamodb-endpoint.
    #[arg(long, env = "DAXD_DYNAMODB_STREAMS_ENDPOINT", requires = "dynamodb_endpoint")]
    pub dynamodb_streams_endpoint: Option<String>,

    /// Region to sign remote DynamoDB requests for (default: the region each request names).
    #[arg(long)]
    pub dynamodb_region: Option<String>,

    /// Access key id for the remote DynamoDB endpoint.
    #[arg(long, env = "AWS_ACCESS_KEY_ID")]
    pub dynamodb_access_key_id: Option<String>,

    /// Secret access key for the remote DynamoDB endpoint.
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub dynamodb_secret_access_key: Option<String>,

    /// Session token for the remote DynamoDB endpoint.
    #[arg(long, env = "AWS_SESSION_TOKEN", hide_env_values = true)]
    pub dynamodb_session_token: Option<String>,

    /// Largest request body accepted, in bytes.
    #[arg(long, default_value_t = 16 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Cache size of each DAX node, in bytes (item and query caches together; further
    /// capped by the memory of the cluster's node type).
    #[arg(long, default_value_t = dax_node::DEFAULT_CACHE_BYTES)]
    pub node_cache_bytes: u64,

    /// Data requests each DAX node works on at once; more are answered with ThrottlingException.
    #[arg(long, default_value_t = dax_node::DEFAULT_MAX_IN_FLIGHT)]
    pub node_max_in_flight: usize,

    /// Client connections each DAX node keeps open at once; more are answered with
    /// ThrottlingException and closed.
    #[arg(long, default_value_t = dax_node::DEFAULT_MAX_CONNECTIONS)]
    pub node_max_connections: usize,

    /// Bytes that partly received DAX requests may hold, across all nodes, beyond the first
    /// 64 KiB of each connection; a connection that needs more is answered with
    /// ThrottlingException and closed. At least 21 MiB: the largest request is 20 MiB.
    #[arg(long, default_value_t = dax_node::DEFAULT_FRAME_BUFFER_BYTES)]
    pub node_frame_buffer_bytes: u64,

    /// HTTP connections served at once; more are answered 503 ThrottlingException and closed.
    #[arg(long, default_value_t = 4096)]
    pub max_connections: usize,

    /// HTTP connections served each by a thread of its own, rather than by the async
    /// runtime's workers: a request on one is handled by the thread its bytes wake, with no
    /// hand-off, and the embedded engine's calls run in place on it. The connections beyond
    /// these are served by the runtime. Default: the number of CPUs; 0 serves all on the
    /// runtime.
    #[arg(long)]
    pub http_connection_threads: Option<usize>,

    /// Time an HTTP client has to send a request head, and then its body, in milliseconds;
    /// also how long an idle keep-alive connection stays open. Slower clients are cut off.
    #[arg(long, default_value_t = 30_000)]
    pub http_read_timeout_ms: u64,

    /// Mark the console's session cookie `Secure`, so browsers send it only over HTTPS: for
    /// daxd served behind a TLS-terminating proxy (daxd itself speaks plain HTTP, and a
    /// browser reaching it directly over http:// would then never send the cookie back).
    #[arg(long)]
    pub console_secure_cookie: bool,

    /// Time allowed for one exchange with the remote DynamoDB endpoint (--dynamodb-endpoint),
    /// in milliseconds; a call past it fails with ServiceUnavailable.
    #[arg(long, default_value_t = 30_000)]
    pub dynamodb_timeout_ms: u64,
}

/// The account root's key pair.
#[derive(Clone, Serialize, Deserialize)]
pub struct RootCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for RootCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RootCredentials").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

const ROOT_FILE: &str = "root-credentials.json";

/// Create the data directory, owner-only.
///
/// # Errors
/// File-system errors.
pub fn prepare_data_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
}

/// The root credentials: from the flags or environment when given, else
/// from the data dir, else freshly generated and stored there (mode 0600).
/// The flag reports whether they were generated now.
///
/// # Errors
/// When only half a pair is given, or the file cannot be read or written.
pub fn root_credentials(args: &ServeArgs, ids: &dyn Ids) -> Result<(RootCredentials, bool), String> {
    match (&args.root_access_key_id, &args.root_secret_access_key) {
        (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => {
            return Ok((RootCredentials { access_key_id: id.clone(), secret_access_key: secret.clone() }, false))
        }
        (None, None) => {}
        _ => {
            return Err(
                "--root-access-key-id and --root-secret-access-key must be given together, both non-empty".into()
            )
        }
    }
    let path = args.data_dir.join(ROOT_FILE);
    if path.exists() {
        let text = fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        let creds = serde_json::from_slice(&text).map_err(|e| format!("parsing {}: {e}", path.display()))?;
        return Ok((creds, false));
    }
    let creds = RootCredentials {
        access_key_id: format!("AKIA{}", ids.chars(base::UPPER_ALNUM, 16)),
        secret_access_key: ids.chars(base::SECRET, 40),
    };
    let text = serde_json::to_vec_pretty(&creds).map_err(|e| e.to_string())?;
    let tmp = args.data_dir.join(format!("{ROOT_FILE}.tmp"));
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| format!("writing {}: {e}", tmp.display()))?;
    f.write_all(&text).and_then(|()| f.sync_all()).map_err(|e| format!("writing {}: {e}", tmp.display()))?;
    fs::rename(&tmp, &path).map_err(|e| format!("writing {}: {e}", path.display()))?;
    Ok((creds, true))
}

fn parse_port_range(text: &str) -> Result<std::ops::RangeInclusive<u16>, String> {
    let (a, b) = text.split_once('-').ok_or_else(|| format!("expected FIRST-LAST, got {text}"))?;
    let first: u16 = a.trim().parse().map_err(|e| format!("bad first port {a}: {e}"))?;
    let last: u16 = b.trim().parse().map_err(|e| format!("bad last port {b}: {e}"))?;
    if first == 0 || first > last {
        return Err(format!("empty or invalid port range {text}"));
    }
    Ok(first..=last)
}
