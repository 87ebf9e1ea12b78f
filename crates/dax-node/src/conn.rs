//! One client connection: bytes in, decoded incrementally with dax-wire's
//! [`StreamDecoder`] under the fleet's [`dax_wire::Limits`], one answer per request, in
//! order. Framing errors are answered, then the connection is closed. The stream is a
//! plain TCP stream, or a TLS stream over one for `daxs://` nodes.

use std::net::IpAddr;
use std::sync::Arc;

use dax_wire::{Event, Frame, Method, StreamDecoder};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::host::NodeError;
use crate::metrics::Counter;
use crate::node::{error_frame, is_data, Node};
use crate::session::Session;

/// Largest frame buffered for a connection that has not been authorized (the preamble and
/// `authorizeConnection` take a few hundred bytes).
const MAX_ANONYMOUS_FRAME: usize = 64 * 1024;

/// Bytes of read buffer a connection holds without drawing on the fleet's frame budget
/// ([`crate::FleetConfig::frame_buffer_bytes`]): all that most requests ever need.
const FREE_BUFFER: usize = 64 * 1024;

/// The part of one connection's read buffer beyond [`FREE_BUFFER`], drawn from the fleet's
/// frame budget (a semaphore of KiB) and given back as the buffer shrinks or the
/// connection ends. So the partly received frames of all connections together hold at most
/// the budget, however many clients each send the start of a 20 MiB frame.
struct Drawn<'a> {
    budget: &'a tokio::sync::Semaphore,
    kib: u32,
}

impl Drawn<'_> {
    /// Draw or give back so that a buffer of `capacity` bytes is covered; false when the
    /// budget has not enough left (nothing is drawn then).
    fn cover(&mut self, capacity: usize) -> bool {
        let need = u32::try_from(capacity.saturating_sub(FREE_BUFFER).div_ceil(1024)).unwrap_or(u32::MAX);
        if need > self.kib {
            let Ok(permit) = self.budget.try_acquire_many(need - self.kib) else { return false };
            permit.forget();
        } else {
            self.budget.add_permits((self.kib - need) as usize);
        }
        self.kib = need;
        true
    }
}

impl Drop for Drawn<'_> {
    fn drop(&mut self) {
        self.budget.add_permits(self.kib as usize);
    }
}

/// Serve one connection until the client closes it, the stream breaks, or the node stops.
/// `local_ip` is the address the client reached (what `endpoints` reports); `tls`, whether
/// `stream` is a TLS stream.
pub(crate) async fn serve<S>(node: Arc<Node>, mut stream: S, local_ip: IpAddr, tls: bool)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let _guard = node.meter.connection();
    let limits = node.shared.config.limits;
    let mut decoder = StreamDecoder::new(limits);
    let mut session = Session::new(local_ip, tls);
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut start = 0usize;
    let mut out: Vec<u8> = Vec::with_capacity(4096);
    let mut drawn = Drawn { budget: &node.shared.frame_budget, kib: 0 };
    loop {
        // Answer every complete frame already buffered.
        loop {
            match decoder.decode(&buf[start..]) {
                Ok(Some((event, used))) => {
                    start += used;
                    match event {
                        Event::Preamble(_) => {}
                        Event::Frame(Frame::Request(req)) => {
                            if !node.faults.is_clear() {
                                node.faults.before_answer().await;
                            }
                            if let Some(answer) = node.handle(&mut session, req).await {
                                out.extend_from_slice(&answer);
                                // Pipelined requests are answered together, but never more
                                // than one large answer is held for a client that does not read.
                                if out.len() > FREE_BUFFER {
                                    if stream.write_all(&out).await.is_err() {
                                        return;
                                    }
                                    out.clear();
                                    out.shrink_to(4096);
                                }
                            }
                        }
                        Event::Frame(Frame::Rejected { method, error }) => {
                            if method == Method::AuthorizeConnection {
                                // Never answered: the next request reports it.
                                session.principal = None;
                                session.auth_error = Some(NodeError::new(
                                    "UnrecognizedClientException",
                                    format!("Invalid authorizeConnection: {}", error.message()),
                                    400,
                                ));
                            } else {
                                if is_data(method) {
                                    node.meter.inc(Counter::ErrorRequestCount);
                                }
                                out.extend_from_slice(&error_frame(&NodeError::from(error), None));
                            }
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(node = %node.id, error = %e, "closing a connection that cannot be framed");
                    out.extend_from_slice(&error_frame(&NodeError::from(e), None));
                    refuse(&mut stream, &out).await;
                    return;
                }
            }
        }
        // Keep the buffer compact. A large frame's room goes back to the budget once it has
        // been decoded, before its answer is written (a client may send its next request the
        // moment it reads the answer).
        if start > 0 {
            buf.drain(..start);
            start = 0;
        }
        if buf.capacity() > FREE_BUFFER && buf.len() <= FREE_BUFFER / 2 {
            buf.shrink_to(FREE_BUFFER);
            drawn.cover(buf.capacity());
        }
        if !out.is_empty() {
            if stream.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
        // Until the connection is authorized, a frame may not be larger than an
        // authorizeConnection needs: what an anonymous client can make a node buffer stays small.
        let max = if session.principal.is_some() {
            limits.max_frame_bytes
        } else {
            limits.max_frame_bytes.min(MAX_ANONYMOUS_FRAME)
        };
        if buf.len() > max.saturating_add(64) {
            drop(std::mem::take(&mut buf));
            drawn.cover(0);
            let e = NodeError::validation(format!("Request exceeds {max} bytes"));
            refuse(&mut stream, &error_frame(&e, None)).await;
            return;
        }
        if buf.capacity() - buf.len() < 4096 {
            // Grow by doubling, but never past what the largest frame allowed here needs, so
            // that a frame at the limit draws about its own size from the budget.
            let target = (buf.capacity() * 2).max(buf.len() + 8192).min(max.saturating_add(64 + 8192));
            buf.reserve_exact(target.saturating_sub(buf.len()));
        }
        if !drawn.cover(buf.capacity()) {
            // What this connection holds goes back at once, not after the drain below.
            drop(std::mem::take(&mut buf));
            drawn.cover(0);
            node.meter.inc(Counter::ThrottledRequestCount);
            let e = NodeError::throttling(format!(
                "Node {} is receiving too many large requests at once; retry the request",
                node.id
            ));
            refuse(&mut stream, &error_frame(&e, None)).await;
            return;
        }
        match stream.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// How long a refused client is given to stop sending the rest of its frame.
const REFUSE_DRAIN: std::time::Duration = std::time::Duration::from_secs(2);

/// Answer `frame` and close, then read and drop what the client is still sending (for a
/// bounded time, into a small buffer): closing with its bytes unread would reset the
/// connection, and the client would lose the answer.
pub(crate) async fn refuse<S>(stream: &mut S, frame: &[u8])
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if stream.write_all(frame).await.is_err() {
        return;
    }
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 8192];
    let _ =
        tokio::time::timeout(REFUSE_DRAIN, async { while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {} })
            .await;
}
