//! `daxd`: a self-hosted, AWS-compatible DynamoDB Accelerator with the IAM
//! machinery it depends on, in one process. See ARCHITECTURE.md.

mod api;
mod app;
mod auth;
mod config;
mod conn_thread;
mod console_host;
mod control_client;
mod dax_deps;
mod dax_host;
mod dax_metrics;
mod exec;
mod fis_deps;
mod front;
mod hosted_faults;
mod hosted_metrics;
mod node_host;
mod services;
mod tick;
mod usage;

use std::process::ExitCode;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use base::Env;
use hyper_util::rt::TokioIo;
use serde_json::json;

use crate::app::App;
use crate::config::{Cli, Command, ServeArgs};

/// Rust's allocations go to jemalloc: caches per thread, arenas per CPU, no lock that
/// every allocating thread takes. Under glibc's malloc (held to two arenas, below) about a
/// tenth of daxd's CPU at 50 HTTP connections went to waiting for and waking the arenas'
/// locks; jemalloc takes 10–25% less server CPU per GetItem there (docs/performance.md,
/// "Latest runs: jemalloc (2026-11-27)"). mimalloc did as well on CPU but held about twice the memory after load. The
/// DAX item cache weighs its entries by jemalloc's size classes (dax-node's
/// `cache::block`). SQLite, which is C, still allocates with glibc's malloc: hence the
/// two functions below.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// At most two glibc malloc arenas (for what still uses glibc's malloc: SQLite). By
/// default glibc gives threads up to 8 arenas per core, and daxd's threads come and go
/// (the engine calls run in place under `block_in_place`, which hands the async worker to
/// a blocking-pool thread each time): memory freed in one arena is not reused by threads
/// on another, and the process grew without bound on a workload that refills the DAX
/// caches (`scripts/soak`: +12.6% in 150 s with the default, +0.2% with two arenas;
/// docs/reliability.md; that was before daxd's own allocations moved to jemalloc).
/// The same as running with `MALLOC_ARENA_MAX=2`, which still wins if set.
#[allow(unsafe_code)]
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only changes a malloc tunable; it is called before any other
        // thread exists, and a failure (return 0) leaves glibc's default in place.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

/// How often [`trim_malloc`] gives freed memory back.
const MALLOC_TRIM_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Every [`MALLOC_TRIM_EVERY`], give the system back the memory glibc's malloc holds free
/// (SQLite's, since daxd's own allocations went to jemalloc). glibc
/// returns free memory at the top of a heap by itself, but keeps free pages inside a heap,
/// so RSS follows the highest the live memory has ever been (peaks of cache churn,
/// bursts of connections) rather than what is live. A 1-hour soak grew from 132.8 MiB
/// after warm-up to 167 MiB after 24 minutes in steps; one `malloc_trim` on that process
/// brought it to 133 MiB (docs/reliability.md, "Soak").
#[allow(unsafe_code)]
fn trim_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let spawned = std::thread::Builder::new().name("malloc-trim".into()).spawn(|| loop {
            std::thread::sleep(MALLOC_TRIM_EVERY);
            // SAFETY: malloc_trim only releases free pages of malloc's own heaps back to
            // the system; it is thread-safe (it takes each arena's lock in turn).
            unsafe {
                libc::malloc_trim(0);
            }
        });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the malloc-trim thread; freed memory stays with the process");
        }
    }
}

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = parse_cli();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DAXD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Serve(args) => {
            trim_malloc();
            let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("daxd: cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(serve(args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("daxd: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::NodeHost(args) => node_host::run(&args),
    }
}

/// Parse the command line. `daxd --help` also shows every flag of `serve`,
/// so the top-level help documents the whole server.
fn parse_cli() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let mut command = Cli::command();
    let serve_help = command.find_subcommand_mut("serve").map(|c| c.render_long_help().to_string()).unwrap_or_default();
    let command = command
        .after_long_help(format!("daxd serve:\n\n{serve_help}"))
        .after_help(format!("daxd serve:\n\n{serve_help}"));
    let mut command = command;
    let matches = match command.try_get_matches_from_mut(std::env::args_os()) {
        Ok(matches) => matches,
        Err(e) => match value_error_line(&command, &e, &std::env::args().collect::<Vec<_>>()) {
            Some(line) => {
                eprintln!("{line}");
                std::process::exit(2);
            }
            None => e.exit(),
        },
    };
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    match cli.command {
        Command::Serve(args) => Cli { command: Command::Serve(args.with_aws_credentials_from_env()) },
        command @ Command::NodeHost(_) => Cli { command },
    }
}

/// A refused flag value as one line naming the flag, its `DAXD_` variable and what the
/// flag allows, and whether the value came from the command line or the variable (which
/// clap's own message does not say). `None` for the other errors, which clap reports.
fn value_error_line(command: &clap::Command, e: &clap::Error, argv: &[String]) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if !matches!(e.kind(), ErrorKind::ValueValidation | ErrorKind::InvalidValue) {
        return None;
    }
    let ContextValue::String(arg) = e.get(ContextKind::InvalidArg)? else { return None };
    let ContextValue::String(value) = e.get(ContextKind::InvalidValue)? else { return None };
    let long = arg.split_whitespace().next()?.strip_prefix("--")?;
    let flag = command
        .get_subcommands()
        .chain(std::iter::once(command))
        .flat_map(clap::Command::get_arguments)
        .find(|a| a.get_long() == Some(long))?;
    let var = flag.get_env()?.to_string_lossy().into_owned();
    let allowed = std::error::Error::source(e).map_or_else(|| "see daxd serve --help".to_owned(), ToString::to_string);
    let on_command_line =
        argv.iter().skip(1).any(|a| a == &format!("--{long}") || a.starts_with(&format!("--{long}=")));
    let from_var = !on_command_line && std::env::var(&var).is_ok_and(|v| &v == value);
    Some(if from_var {
        format!("daxd: invalid value '{value}' in {var} (the variable of --{long}): {allowed}")
    } else {
        format!("daxd: invalid value '{value}' for --{long} (or {var}): {allowed}")
    })
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let env = Env::system();
    config::prepare_data_dir(&args.data_dir).map_err(|e| format!("data dir {}: {e}", args.data_dir.display()))?;
    let (root, generated) = config::root_credentials(&args, env.ids.as_ref())?;
    let app = Arc::new(App::open(&args, root, env, &args.data_dir)?);
    let tls = match dax_host::load_tls(&args) {
        Ok(tls) => Some(tls),
        Err(e) if args.tls_listen.is_some() => return Err(format!("cannot set up TLS for --tls-listen: {e}")),
        Err(e) => {
            tracing::error!(error = %e, "cannot set up TLS: daxs:// clusters will not be served");
            None
        }
    };
    let mut listeners = Vec::new();
    if let (Some(at), Some(tls)) = (args.tls_listen, &tls) {
        let listener = tokio::net::TcpListener::bind(at).await.map_err(|e| format!("cannot listen on {at}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let mut config = (*tls.server_config()).clone();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        println!("daxd: serving AWS APIs over HTTPS on https://{addr} (clients trust {})", tls.ca_path().display());
        listeners.push((listener, Some(tokio_rustls::TlsAcceptor::from(Arc::new(config)))));
    }
    dax_host::start(&app, &args, tls);
    // What a previous run left running ends now: its faults died with that process, and
    // its experiments are marked failed (`fis::Fis::recover`).
    let app2 = Arc::clone(&app);
    match tokio::task::spawn_blocking(move || app2.fis.recover()).await {
        Ok(Ok(n)) if n > 0 => tracing::warn!(experiments = n, "FIS experiments interrupted by a restart failed"),
        Ok(Err(e)) => tracing::warn!(error = %e, "recovering FIS experiments"),
        _ => {}
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    listeners.insert(0, (listener, None));
    let endpoint = format!("http://{addr}");
    if generated {
        println!(
            "daxd generated root credentials (stored in {}):",
            args.data_dir.join("root-credentials.json").display()
        );
        println!(
            "export AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={} AWS_ENDPOINT_URL={endpoint}",
            app.root.access_key_id, app.root.secret_access_key
        );
    }
    let router = Router::new()
        .route("/health", get(health))
        .route("/moto-api/reset", post(reset))
        .route("/metrics", get(metrics))
        .merge(console_host::router(&app))
        .fallback(front::handle)
        .with_state(Arc::clone(&app));
    // Listen for SIGINT/SIGTERM before announcing readiness, so a signal sent right after
    // "daxd ready" is a graceful shutdown, not the default action.
    let signals = Signals::install();
    println!(
        "daxd ready: serving AWS APIs on {endpoint} (account {}, data dir {})",
        app.account,
        args.data_dir.display()
    );
    let ticker = tokio::spawn(background(Arc::clone(&app)));
    if let Some(engine) = &app.embedded {
        engine.set_endpoint_address(addr.to_string());
        // Items past their TTL attribute are deleted in the background, as DynamoDB does.
        let _sweeper = engine.spawn_ttl_sweeper(std::time::Duration::from_secs(30));
    }
    let max_connections = args.max_connections.clamp(1, tokio::sync::Semaphore::MAX_PERMITS);
    let limits = HttpLimits {
        read_timeout: std::time::Duration::from_millis(args.http_read_timeout_ms.max(1)),
        max_connections,
        connection_threads: args
            .http_connection_threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get))
            .min(max_connections),
    };
    serve_http(listeners, router, limits, shutdown_signal(signals)).await;
    ticker.abort();
    let app2 = Arc::clone(&app);
    let _ = tokio::task::spawn_blocking(move || tick::tick(&app2)).await;
    println!("daxd stopped");
    Ok(())
}

/// Bounds of the HTTP server.
#[derive(Clone)]
struct HttpLimits {
    /// Time a client has to send a request head (and to start one on an idle keep-alive
    /// connection); the body has the same time again (`front::handle`).
    read_timeout: std::time::Duration,
    /// Connections served at once.
    max_connections: usize,
    /// Of those, how many may each have a thread of its own ([`serve_on_own_thread`]).
    connection_threads: usize,
}

/// The HTTP server: HTTP/1.1 on each connection accepted by any of `listeners` (over TLS
/// for those with an acceptor), with a deadline for every request head (a client that
/// trickles bytes is cut off, rather than holding a task and a socket forever) and one cap
/// on connections for all listeners: past it, a connection gets a 503 `ThrottlingException`
/// and is closed. On the shutdown signal, connections finish the request they serve (for up
/// to 10 s) and close.
async fn serve_http(
    listeners: Vec<(tokio::net::TcpListener, Option<tokio_rustls::TlsAcceptor>)>,
    router: Router,
    limits: HttpLimits,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let shedding = Arc::new(tokio::sync::Semaphore::new(MAX_SHEDDING));
    let threads = Arc::new(tokio::sync::Semaphore::new(limits.connection_threads));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let accepting: Vec<_> = listeners
        .into_iter()
        .map(|(listener, tls)| {
            let conns = Conns {
                router: router.clone(),
                slots: Arc::clone(&slots),
                shedding: Arc::clone(&shedding),
                threads: Arc::clone(&threads),
                crowding: Crowding {
                    slots: Arc::clone(&slots),
                    max_connections: limits.max_connections,
                    connection_threads: limits.connection_threads,
                },
                stop: stop_rx.clone(),
                limits: limits.clone(),
                tls,
            };
            tokio::spawn(accept_http(listener, conns))
        })
        .collect();
    shutdown.await;
    for task in &accepting {
        task.abort(); // drops its listener
    }
    let _ = stop_tx.send(true);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), slots.acquire_many(all)).await;
}

/// Connections past the cap answered at once (each for up to 3 s, `shed_http`); past
/// that too, a connection is closed unanswered, so that a flood cannot pile up sockets.
const MAX_SHEDDING: usize = 1024;

/// What every connection of one listener is served with.
struct Conns {
    router: Router,
    slots: Arc<tokio::sync::Semaphore>,
    shedding: Arc<tokio::sync::Semaphore>,
    /// Connection threads free ([`serve_on_own_thread`]).
    threads: Arc<tokio::sync::Semaphore>,
    crowding: Crowding,
    stop: tokio::sync::watch::Receiver<bool>,
    limits: HttpLimits,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

/// How long a client has to finish the TLS handshake on `--tls-listen`.
const TLS_HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

async fn accept_http(listener: tokio::net::TcpListener, conns: Conns) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                // Out of file descriptors, most likely: wait for some to be freed.
                tracing::warn!(error = %e, "accepting an HTTP connection failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&conns.slots).try_acquire_owned() else {
            // A TLS client cannot read a plaintext answer: it gets the close.
            if conns.tls.is_none() {
                if let Ok(shedding) = Arc::clone(&conns.shedding).try_acquire_owned() {
                    let max = conns.limits.max_connections;
                    tokio::spawn(async move {
                        shed_http(stream, max).await;
                        drop(shedding);
                    });
                }
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = conns.router.clone();
        let stop = conns.stop.clone();
        let read_timeout = conns.limits.read_timeout;
        let tls = conns.tls.clone();
        if tls.is_none() && !conns.crowding.crowded() {
            if let Ok(thread) = Arc::clone(&conns.threads).try_acquire_owned() {
                let conn = Accepted { peer, router, read_timeout, stop, slot };
                serve_on_own_thread(stream, conn, thread, conns.crowding.clone());
                continue;
            }
        }
        let conn = Accepted { peer, router, read_timeout, stop, slot };
        tokio::spawn(async move {
            match tls {
                None => conn.serve(TokioIo::new(stream), false).await,
                Some(acceptor) => match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => conn.serve(TokioIo::new(stream), true).await,
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                },
            }
        });
    }
}

/// Whether there are more connections open than connection threads: then connections are
/// no longer given threads, and those that have one move to the runtime.
#[derive(Clone)]
struct Crowding {
    /// The connection cap's permits (`Conns::slots`): those taken are the open connections.
    slots: Arc<tokio::sync::Semaphore>,
    max_connections: usize,
    connection_threads: usize,
}

impl Crowding {
    fn crowded(&self) -> bool {
        let open = self.max_connections.saturating_sub(self.slots.available_permits());
        open > self.connection_threads
    }
}

/// An accepted connection, with what serving it needs and its place under the cap.
struct Accepted {
    peer: std::net::SocketAddr,
    router: Router,
    read_timeout: std::time::Duration,
    stop: tokio::sync::watch::Receiver<bool>,
    slot: tokio::sync::OwnedSemaphorePermit,
}

impl Accepted {
    /// Serve the connection over `io` until it ends; then its slot is free.
    async fn serve<I>(self, io: I, over_tls: bool)
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        serve_http_connection(io, self.peer, over_tls, self.router, self.read_timeout, self.stop).await;
        drop(self.slot);
    }

    /// Serve it on the runtime: the way back when a connection thread cannot be had.
    fn serve_on_runtime(self, stream: std::net::TcpStream, runtime: &tokio::runtime::Handle) {
        let _context = runtime.enter();
        match tokio::net::TcpStream::from_std(stream) {
            Ok(stream) => drop(runtime.spawn(self.serve(TokioIo::new(stream), false))),
            Err(e) => tracing::warn!(peer = %self.peer, error = %e, "cannot serve an HTTP connection; closing it"),
        }
    }
}

/// Serve a (plain TCP) connection on a thread of its own, which waits on the connection's
/// socket itself and runs its requests in place (`conn_thread`): with no hand-off between
/// threads, a request at low concurrency takes one thread wake-up, and the embedded
/// engine's calls do not run on an async worker. `thread` is its place among the
/// `--http-connection-threads`. Once `crowding` says so, the connection moves to the
/// runtime and the thread ends. If the thread or its poll cannot be set up, the runtime
/// serves the connection.
fn serve_on_own_thread(
    stream: tokio::net::TcpStream,
    conn: Accepted,
    thread: tokio::sync::OwnedSemaphorePermit,
    crowding: Crowding,
) {
    let runtime = tokio::runtime::Handle::current();
    let stream = match stream.into_std() {
        Ok(stream) => stream,
        Err(e) => return tracing::warn!(peer = %conn.peer, error = %e, "cannot serve an HTTP connection; closing it"),
    };
    let job = Arc::new(std::sync::Mutex::new(Some((stream, conn))));
    let theirs = Arc::clone(&job);
    let runtime2 = runtime.clone();
    let spawned = std::thread::Builder::new().name(CONNECTION_THREAD.into()).spawn(move || {
        let Some((stream, conn)) = theirs.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() else {
            return;
        };
        let _context = runtime2.enter();
        match conn_thread::register(stream) {
            Ok((io, reactor)) => {
                let peer = conn.peer;
                if let Err(e) = reactor.run(Box::pin(conn.serve(io, false)), || crowding.crowded()) {
                    tracing::warn!(%peer, error = %e, "a connection thread cannot wait on its socket; the connection is closed");
                }
            }
            Err((stream, e)) => {
                tracing::warn!(error = %e, "cannot set up a connection thread; the runtime serves the connection");
                conn.serve_on_runtime(stream, &runtime2);
            }
        }
        drop(thread);
    });
    if let Err(e) = spawned {
        // The closure never ran: the connection is still here.
        tracing::warn!(error = %e, "cannot start a connection thread; the runtime serves the connection");
        if let Some((stream, conn)) = job.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
            conn.serve_on_runtime(stream, &runtime);
        }
    }
}

/// The name of the threads of [`serve_on_own_thread`].
const CONNECTION_THREAD: &str = "daxd-http-conn";

/// HTTP/1.1 on one connection until it ends, or until `stop` (then the request being
/// served is finished first). Requests that came `over_tls` carry [`console::OverTls`].
async fn serve_http_connection<I>(
    io: I,
    peer: std::net::SocketAddr,
    over_tls: bool,
    router: Router,
    read_timeout: std::time::Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    use hyper_util::rt::TokioTimer;
    let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
        if over_tls {
            req.extensions_mut().insert(console::OverTls);
        }
        let mut router = router.clone();
        tower_service::Service::call(&mut router, req.map(axum::body::Body::new))
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(read_timeout);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(%peer, error = %e, "HTTP connection ended");
            }
        }
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// A connection past the cap: its request line is read (for up to 1 s); `GET /health` is
/// answered as usual, so that a client holding every connection cannot make daxd look
/// dead to its monitor; anything else gets a 503 `ThrottlingException` (the JSON protocols'
/// shape, which the SDKs retry). Then the close, after reading what the client still sends
/// (so that the close does not reset the answer away); bounded in time.
async fn shed_http(mut stream: tokio::net::TcpStream, max: usize) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut head = [0u8; 1024];
    let mut n = 0;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), async {
        while n < head.len() && !head[..n].contains(&b'\n') {
            match stream.read(&mut head[n..]).await {
                Ok(0) | Err(_) => break,
                Ok(k) => n += k,
            }
        }
    })
    .await;
    let answer = if asks_for_health(&head[..n]) {
        let body = r#"{"status":"ok"}"#;
        format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
    } else {
        let body = format!(
            r#"{{"__type":"ThrottlingException","message":"daxd is serving its maximum of {max} connections"}}"#
        );
        format!(
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/x-amz-json-1.0\r\nx-amzn-ErrorType: ThrottlingException\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
        if stream.write_all(answer.as_bytes()).await.is_ok() && stream.shutdown().await.is_ok() {
            let mut sink = [0u8; 4096];
            while matches!(stream.read(&mut sink).await, Ok(k) if k > 0) {}
        }
    })
    .await;
}

/// Whether an HTTP request head starts with the request line of `GET /health`.
fn asks_for_health(head: &[u8]) -> bool {
    head.strip_prefix(b"GET /health").is_some_and(|rest| matches!(rest.first(), Some(b' ' | b'?')))
}

/// The clock-driven work: deletion tasks advance, access records are flushed.
async fn background(app: Arc<App>) {
    let mut interval = tokio::time::interval(std::time::Duration::from_millis(200));
    loop {
        interval.tick().await;
        let app2 = Arc::clone(&app);
        let _ = tokio::task::spawn_blocking(move || tick::tick(&app2)).await;
    }
}

async fn health() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

/// DAX node and cluster metrics in Prometheus text format. Like `/health`, it needs no
/// authentication: it exposes only counters and gauges (cache hits, request counts,
/// bytes cached, connections) labelled with region, cluster and node ids — no keys,
/// items, table names or principals.
async fn metrics(State(app): State<Arc<App>>) -> impl IntoResponse {
    let app2 = Arc::clone(&app);
    let body = tokio::task::spawn_blocking(move || dax_host::prometheus(&app2)).await.unwrap_or_default();
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body)
}

async fn reset(State(app): State<Arc<App>>) -> impl IntoResponse {
    if !app.enable_reset {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"status": "error", "message": "reset is disabled: start daxd with --enable-reset"})),
        );
    }
    if let Err(e) = app.dynamo.backend.reset().await {
        return (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"status": "error", "message": e.to_string()})));
    }
    let app2 = Arc::clone(&app);
    match tokio::task::spawn_blocking(move || app2.reset()).await {
        Ok(Ok(())) => (StatusCode::OK, Json(json!({"status": "ok"}))),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"status": "error", "message": e}))),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"status": "error", "message": e.to_string()}))),
    }
}

/// SIGINT and SIGTERM listeners, registered up front.
struct Signals {
    int: Option<tokio::signal::unix::Signal>,
    term: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn install() -> Self {
        use tokio::signal::unix::{signal, SignalKind};
        Signals { int: signal(SignalKind::interrupt()).ok(), term: signal(SignalKind::terminate()).ok() }
    }
}

async fn shutdown_signal(mut signals: Signals) {
    async fn recv(s: Option<&mut tokio::signal::unix::Signal>) {
        match s {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    }
    tokio::select! {
        () = recv(signals.int.as_mut()) => {},
        () = recv(signals.term.as_mut()) => {},
    }
}

#[cfg(test)]
mod tests {
    use super::asks_for_health;

    #[test]
    fn only_the_health_request_line_is_answered_past_the_cap() {
        for (head, health) in [
            (&b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"[..], true),
            (b"GET /health?x=1 HTTP/1.1\r\n", true),
            (b"GET /health ", true),
            (b"GET /healthz HTTP/1.1\r\n", false),
            (b"GET /health", false),
            (b"POST /health HTTP/1.1\r\n", false),
            (b"get /health HTTP/1.1\r\n", false),
            (b"GET /console HTTP/1.1\r\n", false),
            (b"", false),
        ] {
            assert_eq!(asks_for_health(head), health, "{}", String::from_utf8_lossy(head));
        }
    }
}
