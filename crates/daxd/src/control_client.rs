//! The connections of `daxd node-host` to its control (docs/node-hosts.md, "Costs" and
//! "Control restart"): TLS connections kept open and reused, a bounded few of them, and
//! what the host knows of the control being reachable.
//!
//! - **Reuse.** A call takes an idle connection (HTTP/1.1 keep-alive over the same rustls
//!   configuration) or opens one; a connection that served its answer goes back to the idle
//!   set, which holds at most [`MAX_IDLE`] connections, each for at most [`IDLE_FOR`] (less
//!   than the control's idle keep-alive, 30 s by default). A request that a reused
//!   connection could not send (the control had closed it) is sent again on a new one.
//! - **Reachability.** A call that got no answer marks the control down for [`DOWN_FOR`]:
//!   meanwhile, calls on the data path fail at once (no connection attempt each), so that a
//!   node keeps serving from its caches without waiting on a control that is restarting.
//!   Heartbeats always try, and any answer marks the control up again.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::Request;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio_rustls::rustls::pki_types::ServerName;

/// The most idle connections kept to the control.
pub const MAX_IDLE: usize = 8;
/// How long an idle connection is kept (the control closes idle keep-alive connections
/// after its `--http-read-timeout-ms`, 30 s by default).
pub const IDLE_FOR: Duration = Duration::from_secs(20);
/// How long the data path takes the control as down after a call got no answer.
pub const DOWN_FOR: Duration = Duration::from_millis(500);

/// An open HTTP/1.1 connection to the control.
type Sender = SendRequest<String>;

/// The connections to the control, and whether it answered lately.
pub struct Connections {
    /// `host:port` to connect to.
    authority: String,
    server_name: ServerName<'static>,
    tls: tokio_rustls::TlsConnector,
    /// Idle connections, with when each became idle.
    idle: Mutex<Vec<(Sender, Instant)>>,
    /// Until when the control is taken as down.
    down_until: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connections").field("authority", &self.authority).finish_non_exhaustive()
    }
}

/// Why a request got no answer.
#[derive(Debug)]
pub struct NoAnswer(pub String);

impl Connections {
    pub fn new(authority: String, server_name: ServerName<'static>, tls: tokio_rustls::TlsConnector) -> Self {
        Connections { authority, server_name, tls, idle: Mutex::new(Vec::new()), down_until: Mutex::new(None) }
    }

    /// `host:port` of the control.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// Whether the control is taken as down now (a call got no answer within [`DOWN_FOR`]).
    pub fn down(&self) -> bool {
        self.down_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_some_and(|t| Instant::now() < t)
    }

    /// Record whether the last call got an answer.
    pub fn answered(&self, yes: bool) {
        *self.down_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
            (!yes).then(|| Instant::now() + DOWN_FOR);
    }

    /// An idle connection that is still open, if any.
    fn take_idle(&self) -> Option<Sender> {
        let mut idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while let Some((sender, since)) = idle.pop() {
            if since.elapsed() < IDLE_FOR && sender.is_ready() {
                return Some(sender);
            }
        }
        None
    }

    /// Put a connection that served its answer back among the idle ones (up to
    /// [`MAX_IDLE`]; the oldest go first).
    fn put_back(&self, sender: Sender) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        idle.retain(|(s, since)| since.elapsed() < IDLE_FOR && !s.is_closed());
        if idle.len() >= MAX_IDLE {
            idle.remove(0);
        }
        idle.push((sender, Instant::now()));
    }

    /// A new connection: TCP, TLS against `--control-ca`, HTTP/1.1.
    async fn open(&self) -> Result<Sender, NoAnswer> {
        let tcp = tokio::net::TcpStream::connect(&self.authority)
            .await
            .map_err(|e| NoAnswer(format!("connecting to the control at {}: {e}", self.authority)))?;
        let _ = tcp.set_nodelay(true);
        let tls =
            self.tls.connect(self.server_name.clone(), tcp).await.map_err(|e| {
                NoAnswer(format!("TLS with the control (is --control-ca the control's tls/ca.pem?): {e}"))
            })?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| NoAnswer(format!("HTTP with the control: {e}")))?;
        tokio::spawn(conn);
        Ok(sender)
    }

    /// Send `request` and read its whole answer (at most `max_bytes`): the status, the
    /// `x-amzn-errortype` header and the body. On a reused connection that could not send
    /// it (closed by the control meanwhile), it is sent again on a new connection.
    pub async fn exchange(
        &self,
        request: Request<String>,
        max_bytes: usize,
    ) -> Result<(u16, Option<String>, axum::body::Bytes), NoAnswer> {
        let (mut sender, mut reused) = match self.take_idle() {
            Some(s) => (s, true),
            None => (self.open().await?, false),
        };
        let mut request = request;
        let response = loop {
            match sender.try_send_request(request).await {
                Ok(r) => break r,
                Err(mut e) => match e.take_message() {
                    // Not sent: the reused connection had closed. Once more on a new one.
                    Some(unsent) if reused => {
                        request = unsent;
                        sender = self.open().await?;
                        reused = false;
                    }
                    _ => return Err(NoAnswer(format!("the exchange with the control: {}", e.error()))),
                },
            }
        };
        let status = response.status().as_u16();
        let error_type = response.headers().get("x-amzn-errortype").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let bytes = axum::body::to_bytes(axum::body::Body::new(response.into_body()), max_bytes)
            .await
            .map_err(|e| NoAnswer(format!("reading the control's answer: {e}")))?;
        self.put_back(sender);
        Ok((status, error_type, bytes))
    }
}
