//! `daxd-loadgen`: a small closed-loop load tool for daxd and its peers, on loopback only.
//!
//! * `http`: DynamoDB JSON 1.0 `GetItem` / `PutItem` / `Query` against any HTTP endpoint
//!   (daxd, dynalite, `dynoxide serve`), SigV4-signed (or `--unsigned`).
//! * `dax`: the same operations over the DAX protocol against a daxd cluster node, with
//!   frames built by `dax-wire`.
//! * `inproc`: the same operations on `dynamo::EmbeddedBackend` in this process.
//! * `redis`: `GET` / `MGET` / `SET` over RESP against a redis-server, with the same keys,
//!   values and runner, so that Redis is measured by the same load code as daxd.
//! * `dax --interval-ms`: open-loop, many connections (up to 20 000), each sending one
//!   request per interval; reports the server's RSS per idle connection too.
//! * `prepare`: create the table and load items over HTTP; `call`: one signed AWS call
//!   (used by `scripts/bench` to set up IAM roles and DAX clusters); `report`: the
//!   comparison table of a bench run; `frames`: recorded DAX connections cut into frames
//!   by `dax-wire` (for `scripts/fuzz-seeds`).
//!
//! Every run is bounded in time and count (at most 300 s and 512 connections; 20 000
//! connections open-loop).

mod dax;
mod frames;
mod http;
mod inproc;
mod load;
mod redis;
mod report;
mod workload;

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde_json::{json, Value};

use load::{OpenPlan, Plan, Summary, MAX_CONNECTIONS, MAX_OPEN_CONNECTIONS, MAX_SECONDS};
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
        /// Open-loop: every connection sends one request every this many milliseconds
        /// (their send times spread evenly), up to 20 000 connections; the result also has
        /// the server's RSS before and after the connections were opened (with --server-pid).
        #[arg(long)]
        interval_ms: Option<u64>,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Redis (RESP2) against a redis-server: --op get (GET), batch-get (MGET of --batch
    /// keys), put (SET, to load the keys).
    Redis {
        /// `127.0.0.1:PORT` (or `redis://127.0.0.1:PORT`).
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
        /// Items per partition (a numeric sort key `sk`, 0..N); 0: no sort key.
        #[arg(long, default_value_t = 0)]
        sort_keys: u64,
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

/// The DAX node at `endpoint`, as `auth`'s principal.
fn dax_target(endpoint: &str, auth: &AuthArgs) -> Result<dax::Target, String> {
    Ok(dax::Target {
        addr: dax::target_addr(endpoint)?,
        access_key_id: auth.access_key_id.clone(),
        secret_access_key: auth.secret_access_key.clone(),
        region: auth.region.clone(),
    })
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
    /// Keys in a fixed pseudo-random order over the whole key range (not in turn).
    #[arg(long, conflicts_with = "unique_keys")]
    random_keys: bool,
    /// Keys per BatchGetItem / MGET (--op batch-get): consecutive keys, wrapping within
    /// the key range.
    #[arg(long, default_value_t = 100)]
    batch: u64,
    /// Items per partition of the table (its numeric sort key `sk`, as `prepare
    /// --sort-keys`): a Query returns that many; GetItem reads sort key 0.
    #[arg(long, default_value_t = 0)]
    sort_keys: u64,
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
        self.check_with(MAX_CONNECTIONS)
    }

    fn check_with(&self, max_connections: usize) -> Result<(), String> {
        if self.connections == 0 || self.connections > max_connections {
            return Err(format!("--connections must be 1..={max_connections}"));
        }
        if self.op == Op::BatchGet && !(1..=100).contains(&self.batch) {
            return Err("--batch must be 1..=100 (BatchGetItem's limit)".into());
        }
        if self.op == Op::BatchGet && self.batch > self.keys {
            return Err("--batch must not exceed --keys (the keys of a batch are distinct)".into());
        }
        if self.sort_keys > 99 {
            return Err("--sort-keys must be 0..=99".into());
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
            random: self.random_keys,
            server_pid: self.server_pid,
        }
    }

    fn data(&self) -> Arc<Data> {
        Arc::new(Data::new(&self.table, &self.key_prefix, self.item_bytes).with_sort_keys(self.sort_keys).with_batch(
            self.batch,
            self.key_offset,
            self.keys,
        ))
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
    emit_with(mode, target, load, s, Vec::new())
}

/// As [`emit`], with more fields in the JSON line (and printed after the summary).
fn emit_with(mode: &str, target: &str, load: &LoadArgs, s: &Summary, extra: Vec<(&str, Value)>) -> Result<(), String> {
    let label =
        load.label.clone().unwrap_or_else(|| format!("{mode}.{:?}.c{}", load.op, load.connections).to_lowercase());
    let op_name = if mode == "redis" { redis::op_name(load.op) } else { load.op.name() };
    println!(
        "{label}: {} {} c={} n={} errors={} empty={} p50={:.1}µs p90={:.1}µs p99={:.1}µs p99.9={:.1}µs mean={:.1}µs max={:.0}µs {:.0} req/s over {:.2}s (CPU/req: client {:.1}µs{}){}",
        mode,
        op_name,
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
    if !extra.is_empty() {
        let text: Vec<String> = extra.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("  {}", text.join(" "));
    }
    if let Some(path) = &load.json {
        let mut v = s.to_json();
        if let Value::Object(m) = &mut v {
            m.insert("label".into(), json!(label));
            m.insert("mode".into(), json!(mode));
            m.insert("target".into(), json!(target));
            m.insert("op".into(), json!(op_name));
            m.insert("connections".into(), json!(load.connections));
            m.insert("item_bytes".into(), json!(load.item_bytes));
            m.insert("unique_keys".into(), json!(load.unique_keys));
            m.insert("random_keys".into(), json!(load.random_keys));
            if load.op == Op::BatchGet {
                m.insert("batch".into(), json!(load.batch));
            }
            if load.sort_keys > 0 {
                m.insert("sort_keys".into(), json!(load.sort_keys));
            }
            m.insert("clock_ticks".into(), json!(load::clock_ticks()));
            for (k, v) in extra {
                m.insert(k.to_owned(), v);
            }
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

/// Open `n` authorized DAX connections, at most `OPEN_AT_ONCE` handshakes at a time (so
/// that the node's listen backlog is not overrun).
async fn open_many(t: &dax::Target, data: &Arc<Data>, op: Op, n: usize) -> Result<Vec<dax::DaxWorker>, String> {
    const OPEN_AT_ONCE: usize = 128;
    let mut workers = Vec::with_capacity(n);
    let mut set = tokio::task::JoinSet::new();
    let mut started = 0;
    while workers.len() < n {
        while started < n && set.len() < OPEN_AT_ONCE {
            let (t, data) = (t.clone(), Arc::clone(data));
            set.spawn(async move { dax::DaxWorker::open(&t, data, op).await });
            started += 1;
        }
        match set.join_next().await {
            Some(Ok(Ok(w))) => workers.push(w),
            Some(Ok(Err(e))) => return Err(format!("opening connection {} of {n}: {e}", workers.len() + 1)),
            Some(Err(e)) => return Err(e.to_string()),
            None => break,
        }
    }
    Ok(workers)
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
        Cmd::Dax { endpoint, interval_ms: Some(interval_ms), load } => {
            load.check_with(MAX_OPEN_CONNECTIONS)?;
            if !(1..=60_000).contains(&interval_ms) {
                return Err("--interval-ms must be 1..=60000".into());
            }
            let t = dax_target(&endpoint, &load.auth)?;
            let data = load.data();
            runtime(load.threads).block_on(async {
                let rss = || load.server_pid.and_then(load::rss_bytes);
                let rss_before = rss();
                let opened = std::time::Instant::now();
                let workers = open_many(&t, &data, load.op, load.connections).await?;
                let open_seconds = opened.elapsed().as_secs_f64();
                // Let the server settle (buffers of the authorization round trips freed).
                tokio::time::sleep(Duration::from_secs(2)).await;
                let rss_idle = rss();
                let plan = OpenPlan {
                    interval: Duration::from_millis(interval_ms),
                    warmup: Duration::from_secs_f64(load.warmup),
                    duration: Duration::from_secs_f64(load.duration),
                    keys: load.keys,
                    key_offset: load.key_offset,
                    server_pid: load.server_pid,
                };
                let (s, extra) = load::run_open(plan, workers).await;
                let rss_after = rss();
                let per_conn = match (rss_before, rss_idle) {
                    (Some(a), Some(b)) => Some((b as f64 - a as f64) / load.connections as f64),
                    _ => None,
                };
                emit_with(
                    "dax-open",
                    &endpoint,
                    &load,
                    &s,
                    vec![
                        ("interval_ms", json!(interval_ms)),
                        ("offered_rps", json!(load.connections as f64 * 1000.0 / interval_ms as f64)),
                        ("late_sends", json!(extra.late)),
                        ("open_seconds", json!((open_seconds * 1000.0).round() / 1000.0)),
                        ("server_rss_before_bytes", json!(rss_before)),
                        ("server_rss_idle_bytes", json!(rss_idle)),
                        ("server_rss_after_bytes", json!(rss_after)),
                        ("rss_per_idle_conn_bytes", json!(per_conn.map(f64::round))),
                    ],
                )
            })
        }
        Cmd::Redis { endpoint, load } => {
            load.check()?;
            let addr = redis::target_addr(&endpoint)?;
            let data = load.data();
            runtime(load.threads).block_on(async {
                let mut workers = Vec::new();
                for _ in 0..load.connections {
                    workers.push(redis::RedisWorker::open(addr, Arc::clone(&data), load.op).await?);
                }
                let s = load::run(load.plan(), workers).await;
                emit("redis", &endpoint, &load, &s)
            })
        }
        Cmd::Dax { endpoint, interval_ms: None, load } => {
            load.check()?;
            let t = dax_target(&endpoint, &load.auth)?;
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
        Cmd::Prepare { endpoint, table, key_prefix, from, to, item_bytes, sort_keys, connections, auth } => {
            if sort_keys > 99 {
                return Err("--sort-keys must be 0..=99".into());
            }
            let ep = Arc::new(http::endpoint(&endpoint)?);
            let signer = Arc::new(signer(&auth, true));
            let data = Arc::new(Data::new(&table, &key_prefix, item_bytes).with_sort_keys(sort_keys));
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
