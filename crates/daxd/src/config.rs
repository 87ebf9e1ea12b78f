//! Command-line configuration and the root credentials.

use std::fs;
use std::io::Write as _;
use std::net::SocketAddr;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base::Ids;
use clap::{ArgAction, Args, Parser, Subcommand};
use serde::{Deserialize, Serialize};

/// What `daxd --version` prints after the name: the version and the git commit built from
/// (`build.rs`).
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("DAXD_GIT_COMMIT"), ")");

#[derive(Debug, Parser)]
#[command(
    name = "daxd",
    version = VERSION,
    about = "A self-hosted, AWS-compatible DynamoDB Accelerator (DAX) with IAM, STS, EC2 and DynamoDB APIs on one endpoint"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once at start: the size of the larger variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every service in one process.
    Serve(ServeArgs),
    /// Join a control daxd as a node host (docs/node-hosts.md): heartbeat until SIGTERM or
    /// SIGINT, then leave; runs the DAX nodes the control assigns it.
    NodeHost(NodeHostArgs),
}

/// The flags of `daxd node-host`; each can also be set by its `DAXD_` variable. The IAM
/// credentials it signs with come from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
/// `AWS_SESSION_TOKEN`.
#[derive(Debug, Args, Clone)]
pub struct NodeHostArgs {
    /// The control daxd's HTTPS endpoint (its --tls-listen), e.g. https://10.0.0.1:8443.
    /// Plain http:// is refused.
    #[arg(long, env = "DAXD_CONTROL")]
    pub control: String,

    /// The control's CA certificate (its data dir's tls/ca.pem): the only root the
    /// control's certificate is checked against.
    #[arg(long, env = "DAXD_CONTROL_CA", value_name = "FILE")]
    pub control_ca: PathBuf,

    /// The region the host joins (the credential scope of its requests).
    #[arg(long, env = "DAXD_REGION", default_value = "us-east-1")]
    pub region: String,

    /// The availability zone of this host, a zone of --region (us-east-1b).
    #[arg(long, env = "DAXD_AVAILABILITY_ZONE")]
    pub availability_zone: String,

    /// The host name or address DAX clients reach this host's nodes at.
    #[arg(long, env = "DAXD_ADVERTISE_HOST")]
    pub advertise_host: String,

    /// The ports this host offers DAX nodes, as FIRST-LAST.
    #[arg(long, env = "DAXD_DAX_PORTS", default_value = "9111-9199", value_parser = parse_port_range)]
    pub dax_ports: std::ops::RangeInclusive<u16>,
}

/// The flags of `daxd serve`. Each one can also be set by an environment variable, `DAXD_`
/// and the flag in upper snake case (containers and CI services are configured that way);
/// a flag given on the command line wins over its variable.
#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// Address of the HTTP endpoint that serves every AWS API. Port 0 picks a free port.
    #[arg(long, env = "DAXD_LISTEN", default_value = "127.0.0.1:8000", value_parser = socket_addr)]
    pub listen: SocketAddr,

    /// Also serve every AWS API over HTTPS on this address (port 0 picks a free port), with
    /// the certificate of the daxs:// nodes: signed by the data dir's CA (tls/ca.pem, which
    /// clients trust with --ca-bundle or AWS_CA_BUNDLE), for --dax-advertise-host,
    /// localhost, 127.0.0.1 and ::1. TLS 1.2 and 1.3 only.
    #[arg(long, env = "DAXD_TLS_LISTEN", value_name = "ADDR", value_parser = socket_addr)]
    pub tls_listen: Option<SocketAddr>,

    /// Directory holding all state; a restart resumes from it.
    #[arg(long, env = "DAXD_DATA_DIR", default_value = "./daxd-data")]
    pub data_dir: PathBuf,

    /// The AWS account id daxd serves.
    #[arg(long, env = "DAXD_ACCOUNT_ID", default_value = "123456789012")]
    pub account_id: String,

    /// Root access key id. Generated and stored in the data dir when neither this nor the env var is set.
    #[arg(long, env = "DAXD_ROOT_ACCESS_KEY_ID")]
    pub root_access_key_id: Option<String>,

    /// Root secret access key (pairs with --root-access-key-id).
    #[arg(long, env = "DAXD_ROOT_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub root_secret_access_key: Option<String>,

    /// Allow `POST /moto-api/reset` to wipe all state (for test suites written for moto's server mode).
    #[arg(long, env = "DAXD_ENABLE_RESET", action = ArgAction::SetTrue, value_parser = boolish)]
    pub enable_reset: bool,

    /// How long each step of an asynchronous lifecycle takes, in milliseconds
    /// (cluster provisioning, service-linked role deletion). 0 makes them immediate.
    #[arg(long, env = "DAXD_PROVISIONING_DELAY_MS", default_value_t = 2000, value_parser = whole_u64)]
    pub provisioning_delay_ms: u64,

    /// For tests: every duration of a FIS experiment (an action's `duration`, `aws:fis:wait`
    /// included) lasts F times as long on daxd's clock: PT1M lasts 3 s at 0.05. Timestamps
    /// stay true. From 0.001 to 1.
    #[arg(long, env = "DAXD_FIS_TIME_SCALE", value_name = "F", default_value_t = 1.0, value_parser = fis_time_scale)]
    pub fis_time_scale: f64,

    /// Seconds without a heartbeat after which a node host (`daxd node-host`) is shown
    /// unreachable; hosts heartbeat every third of it (docs/node-hosts.md).
    #[arg(long, env = "DAXD_NODE_HOST_TIMEOUT_SECS", default_value_t = 30, value_parser = whole_u64)]
    pub node_host_timeout_secs: u64,

    /// Run every new DAX cluster's nodes inside this daxd even when node hosts are active
    /// (by default a new cluster without TLS runs whole on one active host, docs/node-hosts.md).
    #[arg(long, env = "DAXD_KEEP_DAX_NODES_IN_CONTROL", action = ArgAction::SetTrue, value_parser = boolish)]
    pub keep_dax_nodes_in_control: bool,

    /// Ports handed to DAX cluster nodes, as FIRST-LAST; each node keeps its port across restarts.
    #[arg(long, env = "DAXD_DAX_PORTS", default_value = "8111-8999", value_parser = parse_port_range)]
    pub dax_ports: std::ops::RangeInclusive<u16>,

    /// The host name or address put into DAX cluster and node endpoints.
    #[arg(long, env = "DAXD_DAX_ADVERTISE_HOST", default_value = "127.0.0.1")]
    pub dax_advertise_host: String,

    /// The address DAX nodes listen on, e.g. `0.0.0.0` in a container whose DAX ports are
    /// published. Default: the address the advertise host resolves to.
    #[arg(long, env = "DAXD_DAX_BIND_HOST")]
    pub dax_bind_host: Option<String>,

    /// Forward DynamoDB to this DynamoDB-compatible endpoint (AWS DynamoDB, ScyllaDB Alternator,
    /// dynalite) instead of the embedded engine, e.g. `http://127.0.0.1:4567`.
    #[arg(long, env = "DAXD_DYNAMODB_ENDPOINT")]
    pub dynamodb_endpoint: Option<String>,

    /// Send DynamoDB Streams calls (ListStreams, DescribeStream, GetShardIterator, GetRecords)
    /// to this endpoint, signed like the DynamoDB ones, e.g. `http://127.0.0.1:4568`
    /// (AWS serves them at streams.dynamodb.<region>.amazonaws.com). Default: --dynamodb-endpoint.
    #[arg(long, env = "DAXD_DYNAMODB_STREAMS_ENDPOINT", requires = "dynamodb_endpoint")]
    pub dynamodb_streams_endpoint: Option<String>,

    /// Region to sign remote DynamoDB requests for (default: the region each request names).
    #[arg(long, env = "DAXD_DYNAMODB_REGION")]
    pub dynamodb_region: Option<String>,

    /// Access key id for the remote DynamoDB endpoint. Default: AWS_ACCESS_KEY_ID.
    #[arg(long, env = "DAXD_DYNAMODB_ACCESS_KEY_ID")]
    pub dynamodb_access_key_id: Option<String>,

    /// Secret access key for the remote DynamoDB endpoint. Default: AWS_SECRET_ACCESS_KEY.
    #[arg(long, env = "DAXD_DYNAMODB_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub dynamodb_secret_access_key: Option<String>,

    /// Session token for the remote DynamoDB endpoint. Default: AWS_SESSION_TOKEN.
    #[arg(long, env = "DAXD_DYNAMODB_SESSION_TOKEN", hide_env_values = true)]
    pub dynamodb_session_token: Option<String>,

    /// Largest request body accepted, in bytes.
    #[arg(long, env = "DAXD_MAX_BODY_BYTES", default_value_t = 16 * 1024 * 1024, value_parser = whole_usize)]
    pub max_body_bytes: usize,

    /// Cache size of each DAX node, in bytes (item and query caches together; further
    /// capped by the memory of the cluster's node type).
    #[arg(long, env = "DAXD_NODE_CACHE_BYTES", default_value_t = dax_node::DEFAULT_CACHE_BYTES, value_parser = whole_u64)]
    pub node_cache_bytes: u64,

    /// Data requests each DAX node works on at once; more are answered with ThrottlingException.
    #[arg(long, env = "DAXD_NODE_MAX_IN_FLIGHT", default_value_t = dax_node::DEFAULT_MAX_IN_FLIGHT, value_parser = whole_usize)]
    pub node_max_in_flight: usize,

    /// Client connections each DAX node keeps open at once; more are answered with
    /// ThrottlingException and closed.
    #[arg(long, env = "DAXD_NODE_MAX_CONNECTIONS", default_value_t = dax_node::DEFAULT_MAX_CONNECTIONS, value_parser = whole_usize)]
    pub node_max_connections: usize,

    /// Bytes that partly received DAX requests may hold, across all nodes, beyond the first
    /// 64 KiB of each connection; a connection that needs more is answered with
    /// ThrottlingException and closed. At least 21 MiB: the largest request is 20 MiB.
    #[arg(long, env = "DAXD_NODE_FRAME_BUFFER_BYTES", default_value_t = dax_node::DEFAULT_FRAME_BUFFER_BYTES, value_parser = whole_u64)]
    pub node_frame_buffer_bytes: u64,

    /// HTTP connections served at once; more are answered 503 ThrottlingException and closed.
    #[arg(long, env = "DAXD_MAX_CONNECTIONS", default_value_t = 4096, value_parser = whole_usize)]
    pub max_connections: usize,

    /// HTTP connections served each by a thread of its own, rather than by the async
    /// runtime's workers: a request on one is handled by the thread its bytes wake, with no
    /// hand-off, and the embedded engine's calls run in place on it. The connections beyond
    /// these are served by the runtime. Default: the number of CPUs; 0 serves all on the
    /// runtime.
    #[arg(long, env = "DAXD_HTTP_CONNECTION_THREADS", value_parser = whole_usize)]
    pub http_connection_threads: Option<usize>,

    /// Time an HTTP client has to send a request head, and then its body, in milliseconds;
    /// also how long an idle keep-alive connection stays open. Slower clients are cut off.
    #[arg(long, env = "DAXD_HTTP_READ_TIMEOUT_MS", default_value_t = 30_000, value_parser = whole_u64)]
    pub http_read_timeout_ms: u64,

    /// Mark the console's session cookie `Secure`, so browsers send it only over HTTPS: for
    /// daxd served behind a TLS-terminating proxy (daxd itself speaks plain HTTP, and a
    /// browser reaching it directly over http:// would then never send the cookie back).
    #[arg(long, env = "DAXD_CONSOLE_SECURE_COOKIE", action = ArgAction::SetTrue, value_parser = boolish)]
    pub console_secure_cookie: bool,

    /// Time allowed for one exchange with the remote DynamoDB endpoint (--dynamodb-endpoint),
    /// in milliseconds; a call past it fails with ServiceUnavailable.
    #[arg(long, env = "DAXD_DYNAMODB_TIMEOUT_MS", default_value_t = 30_000, value_parser = whole_u64)]
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

impl ServeArgs {
    /// The remote DynamoDB credentials not set by flag or `DAXD_` variable come from the
    /// standard AWS variables, as an AWS SDK in the same environment would take them.
    #[must_use]
    pub fn with_aws_credentials_from_env(self) -> Self {
        self.with_aws_credentials_from(|name| std::env::var(name).ok())
    }

    fn with_aws_credentials_from(mut self, var: impl Fn(&str) -> Option<String>) -> Self {
        let var = |name: &str| var(name).filter(|v| !v.is_empty());
        self.dynamodb_access_key_id = self.dynamodb_access_key_id.or_else(|| var("AWS_ACCESS_KEY_ID"));
        self.dynamodb_secret_access_key = self.dynamodb_secret_access_key.or_else(|| var("AWS_SECRET_ACCESS_KEY"));
        self.dynamodb_session_token = self.dynamodb_session_token.or_else(|| var("AWS_SESSION_TOKEN"));
        self
    }
}

// The value parsers below say, when they refuse a value, what the flag allows: that text
// ends the one-line error naming the flag and its variable (main.rs, `value_error_line`).

fn parse_port_range(text: &str) -> Result<std::ops::RangeInclusive<u16>, String> {
    const ALLOWED: &str = "expected FIRST-LAST, two ports from 1 to 65535 with FIRST <= LAST, e.g. 8111-8999";
    let (a, b) = text.split_once('-').ok_or(ALLOWED)?;
    let first: u16 = a.trim().parse().map_err(|_| ALLOWED)?;
    let last: u16 = b.trim().parse().map_err(|_| ALLOWED)?;
    if first == 0 || first > last {
        return Err(ALLOWED.into());
    }
    Ok(first..=last)
}

fn socket_addr(text: &str) -> Result<SocketAddr, String> {
    text.trim().parse().map_err(|_| {
        "expected IP:PORT, e.g. 127.0.0.1:8000, 0.0.0.0:8000 or [::]:8000 (port 0 picks a free port)".into()
    })
}

fn whole<T: std::str::FromStr + std::fmt::Display>(text: &str, max: T) -> Result<T, String> {
    text.trim().parse().map_err(|_| format!("expected a whole number from 0 to {max}"))
}

fn whole_u64(text: &str) -> Result<u64, String> {
    whole(text, u64::MAX)
}

fn whole_usize(text: &str) -> Result<usize, String> {
    whole(text, usize::MAX)
}

fn fis_time_scale(text: &str) -> Result<f64, String> {
    let (lo, hi) = (fis::TIME_SCALE_RANGE.start(), fis::TIME_SCALE_RANGE.end());
    match text.trim().parse::<f64>() {
        Ok(f) if fis::TIME_SCALE_RANGE.contains(&f) => Ok(f),
        _ => Err(format!("expected a number from {lo} to {hi}, e.g. 0.05 (PT1M lasts 3 s)")),
    }
}

/// A switch's value, as given by its variable (`DAXD_ENABLE_RESET=true`).
fn boolish(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err("expected true or false (also yes/no, on/off, 1/0)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(args: &[&str]) -> Result<ServeArgs, clap::Error> {
        let cli = Cli::try_parse_from(["daxd", "serve"].iter().chain(args))?;
        let Command::Serve(args) = cli.command else { panic!("daxd serve parsed as another command") };
        Ok(args)
    }

    #[test]
    fn values_are_checked_with_what_is_allowed() {
        assert_eq!(parse_port_range("8111-8999"), Ok(8111..=8999));
        assert_eq!(parse_port_range(" 9000 - 9000 "), Ok(9000..=9000));
        for bad in ["", "8111", "0-10", "10-9", "a-b", "1-70000", "-"] {
            assert!(parse_port_range(bad).unwrap_err().starts_with("expected FIRST-LAST"), "{bad}");
        }
        assert_eq!(socket_addr("[::]:0"), Ok("[::]:0".parse().unwrap()));
        assert!(socket_addr("localhost").unwrap_err().starts_with("expected IP:PORT"));
        assert_eq!(whole_u64("0"), Ok(0));
        assert_eq!(whole_u64("-1").unwrap_err(), format!("expected a whole number from 0 to {}", u64::MAX));
        assert!(whole_usize("1.5").is_err());
        for (text, value) in [
            ("true", true),
            ("YES", true),
            ("on", true),
            ("1", true),
            ("false", false),
            ("No", false),
            ("off", false),
            ("0", false),
        ] {
            assert_eq!(boolish(text), Ok(value), "{text}");
        }
        assert!(boolish("maybe").is_err());
    }

    #[test]
    fn every_serve_flag_has_its_daxd_variable() {
        use clap::CommandFactory as _;
        let command = Cli::command();
        let serve = command.find_subcommand("serve").unwrap();
        let mut flags = 0;
        for arg in serve.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if long == "help" {
                continue;
            }
            let expected = format!("DAXD_{}", long.to_ascii_uppercase().replace('-', "_"));
            assert_eq!(arg.get_env().and_then(|e| e.to_str()), Some(expected.as_str()), "--{long}");
            flags += 1;
        }
        assert!(flags > 20);
    }

    #[test]
    fn the_fis_time_scale_is_a_number_from_a_thousandth_to_one() {
        assert_eq!(serve(&[]).unwrap().fis_time_scale, 1.0);
        assert_eq!(serve(&["--fis-time-scale", "0.05"]).unwrap().fis_time_scale, 0.05);
        assert_eq!(serve(&["--fis-time-scale", "0.001"]).unwrap().fis_time_scale, 0.001);
        for bad in ["0", "0.0001", "1.5", "-1", "NaN", "inf", "fast", ""] {
            assert!(serve(&["--fis-time-scale", bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn switches_are_flags_without_a_value() {
        let args = serve(&["--enable-reset"]).unwrap();
        assert!(args.enable_reset);
        assert!(!args.console_secure_cookie);
        assert!(serve(&["--enable-reset", "false"]).is_err());
    }

    #[test]
    fn remote_credentials_fall_back_to_the_aws_variables() {
        let aws = |name: &str| Some(format!("aws-{name}"));
        let args = serve(&[]).unwrap().with_aws_credentials_from(aws);
        assert_eq!(args.dynamodb_access_key_id.as_deref(), Some("aws-AWS_ACCESS_KEY_ID"));
        assert_eq!(args.dynamodb_secret_access_key.as_deref(), Some("aws-AWS_SECRET_ACCESS_KEY"));
        assert_eq!(args.dynamodb_session_token.as_deref(), Some("aws-AWS_SESSION_TOKEN"));
        let args = serve(&["--dynamodb-access-key-id", "mine"]).unwrap().with_aws_credentials_from(aws);
        assert_eq!(args.dynamodb_access_key_id.as_deref(), Some("mine"));
        let args = serve(&[]).unwrap().with_aws_credentials_from(|_| Some(String::new()));
        assert_eq!(args.dynamodb_access_key_id, None);
    }
}
