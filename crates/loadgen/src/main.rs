//! `daxd-loadgen`: a small closed-loop load tool for daxd and its peers, on loopback only.
//!
//! * `http`: DynamoDB JSON 1.0 `GetItem` / `PutItem` / `Query` against any HTTP endpoint
//!   (daxd, dynalite, `dynoxide serve`), SigV4-signed (or `--unsigned`).
//! * `dax`: the same operations over the DAX protocol against a daxd cluster node, with
//!   frames built by `dax-wire`.
//! * `inproc`: the same operations on `dynamo::EmbeddedBackend` in this process.
//! * `prepare`: create the table and load items over HTTP; `call`: one signed AWS call
//!   (used by `scripts/bench` to set up IAM roles and DAX clusters); `report`: the
//!   comparison table of a bench run; `frames`: recorded DAX connections cut into frames
//!   by `dax-wire` (for `scripts/fuzz-seeds`).
//!
//! Every run is bounded in time and count (at most 300 s and 512 connections).

mod dax;
mod frames;
mod http;
mod inproc;
mod load;
mod report;
mod workload;

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde_json::{json, Value};

use load::{Plan, Summary, MAX_CONNECTIONS, MAX_SECONDS};
use workload::{Data, Op};

#[derive(Parser)]
#[command(
    name = "daxd-loadgen",
    about = "Bounded loopback load generator for daxd (DynamoDB HTTP, DAX protocol, in-process engine)"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// DynamoDB JSON 1.0 over HTTP (daxd, dynalite, `dynoxide serve`).
    Http {
        /// `http://127.0.0.1:PORT`
        #[arg(long)]
        endpoint: String,
        /// Send no SigV4 headers.
        #[arg(long)]
        unsigned: bool,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// The DAX protocol against one daxd cluster node.
    Dax {
        /// `127.0.0.1:PORT` (or `dax://127.0.0.1:PORT`) of a node.
        #[arg(long)]
        endpoint: String,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// The embedded engine (`dynamo::EmbeddedBackend`) called in-process.
    Inproc {
        /// Data directory (default: a temporary one, removed afterwards).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Items `0..N` to write before the run (the table is created if missing).
        #[arg(long, default_value_t = 1000)]
        preload: u64,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Create the table (if missing) and write items `FROM..TO` over HTTP.
    Prepare {
        #[arg(long)]
        endpoint: String,
        #[arg(long, default_value = "bench")]
        table: String,
        #[arg(long, default_value = "k")]
        key_prefix: String,
        #[arg(long, default_value_t = 0)]
        from: u64,
        #[arg(long, default_value_t = 1000)]
        to: u64,
        #[arg(long, default_value_t = 1024)]
        item_bytes: usize,
        #[arg(long, default_value_t = 4)]
        connections: usize,
        #[command(flatten)]
        auth: AuthArgs,
    },
    /// One signed AWS call; prints the answer body, fails on a non-2xx status.
    Call {
        #[arg(long)]
        endpoint: String,
        /// SigV4 service name (`dynamodb`, `dax`, `iam`, `sts`).
        #[arg(long)]
        service: String,
        /// `X-Amz-Target` of a JSON call (e.g. `AmazonDAXV3.CreateCluster`).
        #[arg(long)]
        target: Option<String>,
        /// The JSON body (with --target) or the form body (without it).
        #[arg(long, default_value = "{}")]
        body: String,
        /// JSON protocol version with --target.
        #[arg(long, default_value = "1.1")]
        json_version: String,
        /// Print the body and exit 0 when the answer's body contains this text, whatever
        /// the status (e.g. an "already exists" error).
        #[arg(long)]
        accept_error: Option<String>,
        #[command(flatten)]
        auth: AuthArgs,
    },
    /// Print the comparison table of a results file (JSON lines).
    Report { file: PathBuf },
    /// Cut recorded DAX client connections (stdin: a JSON array of hex strings) into their
    /// preamble and frames with dax-wire's decoder; prints them as JSON.
    Frames,
}

#[derive(Args, Clone)]
struct AuthArgs {
    #[arg(long, default_value = "us-east-1")]
    region: String,
    #[arg(long, env = "LOADGEN_ACCESS_KEY_ID", default_value = "bench")]
    access_key_id: String,
    #[arg(long, env = "LOADGEN_SECRET_ACCESS_KEY", default_value = "bench", hide_default_value = true)]
    secret_access_key: String,
}

#[derive(Args, Clone)]
struct LoadArgs {
    /// Operation.
    #[arg(long, value_enum, default_value = "get")]
    op: Op,
    /// Concurrent connections (each one request at a time).
    #[arg(long, short = 'c', default_value_t = 1)]
    connections: usize,
    /// Measured seconds (after the warm-up).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Stop the measured phase after this many requests (whichever bound comes first).
    #[arg(long)]
    requests: Option<u64>,
    /// Warm-up seconds (samples dropped).
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Warm-up by request count instead of time.
    #[arg(long)]
    warmup_requests: Option<u64>,
    #[arg(long, default_value = "bench")]
    table: String,
    /// Keys `key_offset..key_offset+keys` are used in turn.
    #[arg(long, default_value_t = 1000)]
    keys: u64,
    #[arg(long, default_value_t = 0)]
    key_offset: u64,
    #[arg(long, default_value = "k")]
    key_prefix: String,
    /// Use each key once (a cache-miss run over items never read before); the run stops
    /// when the keys are used up.
    #[arg(long)]
    unique_keys: bool,
    /// DynamoDB size of each item written (PutItem).
    #[arg(long, default_value_t = 1024)]
    item_bytes: usize,
    /// Runtime worker threads of this process (1 = one thread, like redis-benchmark).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Name of this run in the output.
    #[arg(long)]
    label: Option<String>,
    /// Append the result as one JSON line to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Also report the CPU time this server process used per request.
    #[arg(long)]
    server_pid: Option<u32>,
    #[command(flatten)]
    auth: AuthArgs,
}

impl LoadArgs {
    fn check(&self) -> Result<(), String> {
        if self.connections == 0 || self.connections > MAX_CONNECTIONS {
            return Err(format!("--connections must be 1..={MAX_CONNECTIONS}"));
        }
        if !(self.duration > 0.0 && self.duration <= MAX_SECONDS && (0.0..=60.0).contains(&self.warmup)) {
            return Err(format!("--duration must be in (0, {MAX_SECONDS}] and --warmup in [0, 60]"));
        }
        if self.keys == 0 {
            return Err("--keys must be at least 1".into());
        }
        Ok(())
    }

    fn plan(&self) -> Plan {
        Plan {
            warmup: Duration::from_secs_f64(self.warmup),
            warmup_requests: self.warmup_requests,
            duration: Duration::from_secs_f64(self.duration),
            requests: self.requests,
            keys: self.keys,
            key_offset: self.key_offset,
            unique: self.unique_keys,
            server_pid: self.server_pid,
        }
    }

    fn data(&self) -> Arc<Data> {
        Arc::new(Data::new(&self.table, &self.key_prefix, self.item_bytes))
    }
}

fn runtime(threads: usize) -> tokio::runtime::Runtime {
    let mut b = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(threads);
        b
    };
    b.enable_all().build().expect("a Tokio runtime")
}

fn emit(mode: &str, target: &str, load: &LoadArgs, s: &Summary) -> Result<(), String> {
    let label =
        load.label.clone().unwrap_or_else(|| format!("{mode}.{:?}.c{}", load.op, load.connections).to_lowercase());
    println!(
        "{label}: {} {} c={} n={} errors={} empty={} p50={:.1}µs p90={:.1}µs p99={:.1}µs p99.9={:.1}µs mean={:.1}µs max={:.0}µs {:.0} req/s over {:.2}s (CPU/req: client {:.1}µs{}){}",
        mode,
        load.op.name(),
        load.connections,
        s.requests,
        s.errors,
        s.empty,
        s.p50_us,
        s.p90_us,
        s.p99_us,
        s.p999_us,
        s.mean_us,
        s.max_us,
        s.rps,
        s.seconds,
        s.client_cpu_us_per_req,
        s.server_cpu_us_per_req.map(|x| format!(", server {x:.1}µs")).unwrap_or_default(),
        s.first_error.as_ref().map(|e| format!("\n  first error: {e}")).unwrap_or_default()
    );
    if let Some(path) = &load.json {
        let mut v = s.to_json();
        if let Value::Object(m) = &mut v {
            m.insert("label".into(), json!(label));
            m.insert("mode".into(), json!(mode));
            m.insert("target".into(), json!(target));
            m.insert("op".into(), json!(load.op.name()));
            m.insert("connections".into(), json!(load.connections));
            m.insert("item_bytes".into(), json!(load.item_bytes));
            m.insert("unique_keys".into(), json!(load.unique_keys));
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        writeln!(f, "{v}").map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn signer(auth: &AuthArgs, enabled: bool) -> http::Signer {
    http::Signer {
        access_key_id: auth.access_key_id.clone(),
        secret_access_key: auth.secret_access_key.clone(),
        region: auth.region.clone(),
        enabled,
    }
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = real_main(cli) {
        eprintln!("daxd-loadgen: {e}");
        std::process::exit(1);
    }
}

fn real_main(cli: Cli) -> Result<(), String> {
    match cli.cmd {
        Cmd::Http { endpoint, unsigned, load } => {
            load.check()?;
            let ep = Arc::new(http::endpoint(&endpoint)?);
            let signer = Arc::new(signer(&load.auth, !unsigned));
            let data = load.data();
            runtime(load.threads).block_on(async {
                let mut workers = Vec::new();
                for _ in 0..load.connections {
                    workers.push(
                        http::HttpWorker::open(Arc::clone(&ep), Arc::clone(&signer), Arc::clone(&data), load.op)
                            .await?,
                    );
                }
                let s = load::run(load.plan(), workers).await;
                emit("http", &endpoint, &load, &s)
            })
        }
        Cmd::Dax { endpoint, load } => {
            load.check()?;
            let t = dax::Target {
                addr: dax::target_addr(&endpoint)?,
                access_key_id: load.auth.access_key_id.clone(),
                secret_access_key: load.auth.secret_access_key.clone(),
                region: load.auth.region.clone(),
            };
            let data = load.data();
            runtime(load.threads).block_on(async {
                let mut workers = Vec::new();
                for _ in 0..load.connections {
                    workers.push(dax::DaxWorker::open(&t, Arc::clone(&data), load.op).await?);
                }
                let s = load::run(load.plan(), workers).await;
                emit("dax", &endpoint, &load, &s)
            })
        }
        Cmd::Inproc { data_dir, preload, load } => {
            load.check()?;
            let tmp;
            let dir = match data_dir {
                Some(d) => d,
                None => {
                    tmp = tempfile::Builder::new().prefix("daxd-loadgen-").tempdir().map_err(|e| e.to_string())?;
                    tmp.path().to_path_buf()
                }
            };
            let data = load.data();
            let region: Arc<str> = Arc::from(load.auth.region.as_str());
            runtime(load.threads).block_on(async {
                let backend = inproc::open(&dir)?;
                inproc::prepare(&backend, &region, &data, preload).await?;
                let workers: Vec<_> = (0..load.connections)
                    .map(|_| {
                        inproc::InprocWorker::new(backend.clone(), Arc::clone(&region), Arc::clone(&data), load.op)
                    })
                    .collect();
                let s = load::run(load.plan(), workers).await;
                emit("inproc", &dir.display().to_string(), &load, &s)
            })
        }
        Cmd::Prepare { endpoint, table, key_prefix, from, to, item_bytes, connections, auth } => {
            let ep = Arc::new(http::endpoint(&endpoint)?);
            let signer = Arc::new(signer(&auth, true));
            let data = Arc::new(Data::new(&table, &key_prefix, item_bytes));
            runtime(2).block_on(async {
                let mut conn = http::Conn::open(Arc::clone(&ep)).await?;
                http::create_table(&mut conn, &signer, &data).await?;
                http::load_items(ep, signer, data, from, to, connections.clamp(1, 64)).await
            })
        }
        Cmd::Call { endpoint, service, target, body, json_version, accept_error, auth } => {
            let ep = Arc::new(http::endpoint(&endpoint)?);
            let signer = signer(&auth, true);
            runtime(1).block_on(async {
                let mut conn = http::Conn::open(ep).await?;
                let (status, answer) = match &target {
                    Some(t) => {
                        let ct = format!("application/x-amz-json-{json_version}");
                        conn.post(&signer, &service, &ct, Some(t), body.into_bytes()).await?
                    }
                    None => {
                        conn.post(
                            &signer,
                            &service,
                            "application/x-www-form-urlencoded; charset=utf-8",
                            None,
                            body.into_bytes(),
                        )
                        .await?
                    }
                };
                let text = String::from_utf8_lossy(&answer);
                println!("{text}");
                let accepted = accept_error.as_deref().is_some_and(|a| text.contains(a));
                if (200..300).contains(&status) || accepted {
                    Ok(())
                } else {
                    Err(format!("HTTP {status}"))
                }
            })
        }
        Cmd::Report { file } => {
            let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            print!("{}", report::render(&text));
            Ok(())
        }
        Cmd::Frames => {
            let mut input = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut input).map_err(|e| format!("stdin: {e}"))?;
            println!("{}", frames::cut(&input)?);
            Ok(())
        }
    }
}
