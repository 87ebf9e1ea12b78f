//! `daxd`: a self-hosted, AWS-compatible DynamoDB Accelerator with the IAM
//! machinery it depends on, in one process. See ARCHITECTURE.md.

mod api;
mod app;
mod auth;
mod config;
mod dax_deps;
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
use clap::Parser;
use serde_json::json;

use crate::app::App;
use crate::config::{Cli, Command, ServeArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
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

async fn serve(args: ServeArgs) -> Result<(), String> {
    let env = Env::system();
    config::prepare_data_dir(&args.data_dir).map_err(|e| format!("data dir {}: {e}", args.data_dir.display()))?;
    let (root, generated) = config::root_credentials(&args, env.ids.as_ref())?;
    let app = Arc::new(App::open(&args, root, env, &args.data_dir)?);
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
        .fallback(front::handle)
        .with_state(Arc::clone(&app));
    println!("daxd ready: serving AWS APIs on {endpoint} (account {}, data dir {})", app.account, args.data_dir.display());
    let ticker = tokio::spawn(background(Arc::clone(&app)));
    if let Some(engine) = &app.embedded {
        engine.set_endpoint_address(addr.to_string());
        // Items past their TTL attribute are deleted in the background, as DynamoDB does.
        let _sweeper = engine.spawn_ttl_sweeper(std::time::Duration::from_secs(30));
    }
    axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
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

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
