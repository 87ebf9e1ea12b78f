//! One client connection: bytes in, decoded incrementally with dax-wire's
//! [`StreamDecoder`] under the fleet's [`dax_wire::Limits`], one answer per request, in
//! order. Framing errors are answered, then the connection is closed. The stream is a
//! plain TCP stream, or a TLS stream over one for `daxs://` nodes.
//!
//! What the node's metrics measure here, with a few atomic adds and no lock, allocation or
//! system call of their own: the bytes and the reads/writes that move data on the socket
//! ([`Counted`]), and the time the connection's task spends being polled ([`timed`]), two
//! reads of the monotonic clock per wake-up: one pair per batch of requests a read brings,
//! on the cache-hit path.

use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use dax_wire::{Event, Frame, Method, StreamDecoder};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

use crate::cache::Clock;
use crate::host::NodeError;
use crate::metrics::{Counter, Meter};
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

/// A node's socket, counted: each read that brings bytes adds them to `NetworkBytesIn` and
/// one to `NetworkPacketsIn`, each write that takes bytes to `NetworkBytesOut` and
/// `NetworkPacketsOut` (socket operations, not IP packets).
pub(crate) struct Counted<S> {
    inner: S,
    meter: Meter,
}

impl<S> Counted<S> {
    pub(crate) fn new(inner: S, meter: Meter) -> Self {
        Counted { inner, meter }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len().saturating_sub(before);
        if n > 0 {
            self.meter.received(n);
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = r {
            if n > 0 {
                self.meter.sent(n);
            }
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = r {
            if n > 0 {
                self.meter.sent(n);
            }
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A future whose polls are timed into the node's busy time.
struct Timed<'a, F> {
    work: Pin<&'a mut F>,
    meter: &'a Meter,
    clock: &'a Clock,
}

impl<F: Future> Future for Timed<'_, F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let polled = self.clock.now();
        let r = self.work.as_mut().poll(cx);
        self.meter.busy(self.clock.now().saturating_duration_since(polled));
        r
    }
}

/// Run `work`, adding the time spent polling it (the node's work on the thread, not the
/// time it waits for the socket, DynamoDB or a timer) to the node's busy time, measured on
/// the fleet's monotonic clock ([`crate::FleetConfig::clock`]).
pub(crate) async fn timed<F: Future>(meter: &Meter, clock: &Clock, work: F) -> F::Output {
    let work = std::pin::pin!(work);
    Timed { work, meter, clock }.await
}

/// Serve one connection until the client closes it, the stream breaks, or the node stops.
/// `local_ip` is the address the client reached (what `endpoints` reports); `tls`, whether
/// `stream` is a TLS stream. The time the connection is polled counts as the node's busy
/// time; a plain stream is the socket, and is [`Counted`] here. A TLS stream's socket is
/// counted beneath the TLS layer, by whoever wraps it in [`Counted`] before the handshake
/// (what crosses the socket is the TLS records, not the requests).
pub(crate) async fn serve<S>(node: Arc<Node>, stream: S, local_ip: IpAddr, tls: bool)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (meter, clock) = (node.meter.clone(), node.shared.config.clock.clone());
    if tls {
        timed(&meter, &clock, answer(node, stream, local_ip, tls)).await;
    } else {
        timed(&meter, &clock, answer(node, Counted::new(stream, meter.clone()), local_ip, tls)).await;
    }
}

/// Answer the requests of one connection (see [`serve`]).
async fn answer<S>(node: Arc<Node>, mut stream: S, local_ip: IpAddr, tls: bool)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let _guard = node.meter.connection(node.shared.host.now_ms());
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
                                if out.is_empty() {
                                    // The answer's buffer becomes the output: no copy.
                                    out = answer;
                                } else {
                                    out.extend_from_slice(&answer);
                                }
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
