//! `daxd`: a self-hosted, AWS-compatible DynamoDB Accelerator with the IAM
//! machinery it depends on, in one process. See ARCHITECTURE.md.

mod api;
mod app;
mod auth;
mod config;
mod console_host;
mod dax_deps;
mod dax_host;
mod front;
mod services;
mod usage;

use std::process::ExitCode;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use base::Env;
use serde_json::json;

use crate::app::App;
use crate::config::{Cli, Command, ServeArgs};

/// mimalloc rather than glibc's malloc: a request allocates and frees many
/// small objects (JSON values, headers, CBOR items) across threads, where
/// glibc's arenas spent about a sixth of the CPU of a DynamoDB GetItem
/// (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = parse_cli();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DAXD_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Serve(args) => {
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
    }
}

/// Parse the command line. `daxd --help` also shows every flag of `serve`,
/// so the top-level help documents the whole server.
fn parse_cli() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let mut command = Cli::command();
    let serve_help = command
        .find_subcommand_mut("serve")
        .map(|c| c.render_long_help().to_string())
        .unwrap_or_default();
    let command = command.after_long_help(format!("daxd serve:\n\n{serve_help}")).after_help(format!("daxd serve:\n\n{serve_help}"));
    let matches = command.get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let env = Env::system();
    config::prepare_data_dir(&args.data_dir).map_err(|e| format!("data dir {}: {e}", args.data_dir.display()))?;
    let (root, generated) = config::root_credentials(&args, env.ids.as_ref())?;
    let app = Arc::new(App::open(&args, root, env, &args.data_dir)?);
    dax_host::start(&app, &args);
    let listener = tokio::net::TcpListener::bind(args.listen).await.map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let endpoint = format!("http://{addr}");
    if generated {
        println!("daxd generated root credentials (stored in {}):", args.data_dir.join("root-credentials.json").display());
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
    println!("daxd ready: serving AWS APIs on {endpoint} (account {}, data dir {})", app.account, args.data_dir.display());
    let ticker = tokio::spawn(background(Arc::clone(&app)));
    if let Some(engine) = &app.embedded {
        engine.set_endpoint_address(addr.to_string());
        // Items past their TTL attribute are deleted in the background, as DynamoDB does.
        let _sweeper = engine.spawn_ttl_sweeper(std::time::Duration::from_secs(30));
    }
    axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown_signal(signals))
        .await
        .map_err(|e| e.to_string())?;
    ticker.abort();
    let app2 = Arc::clone(&app);
    let _ = tokio::task::spawn_blocking(move || app2.tick()).await;
    println!("daxd stopped");
    Ok(())
}

/// The clock-driven work: deletion tasks advance, access records are flushed.
async fn background(app: Arc<App>) {
    let mut interval = tokio::time::interval(std::time::Duration::from_millis(200));
    loop {
        interval.tick().await;
        let app2 = Arc::clone(&app);
        let _ = tokio::task::spawn_blocking(move || app2.tick()).await;
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
        return (StatusCode::FORBIDDEN, Json(json!({"status": "error", "message": "reset is disabled: start daxd with --enable-reset"})));
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
