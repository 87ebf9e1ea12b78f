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
use crate::node::{error_frame, is_data, Conn, Node};

/// Largest frame buffered for a connection that has not been authorized (the preamble and
/// `authorizeConnection` take a few hundred bytes).
const MAX_ANONYMOUS_FRAME: usize = 64 * 1024;

/// Serve one connection until the client closes it, the stream breaks, or the node stops.
/// `local_ip` is the address the client reached (what `endpoints` reports).
pub(crate) async fn serve<S>(node: Arc<Node>, mut stream: S, local_ip: IpAddr)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let _guard = node.meter.connection();
    let limits = node.shared.config.limits;
    let mut decoder = StreamDecoder::new(limits);
    let mut conn = Conn::new(local_ip);
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut start = 0usize;
    let mut out: Vec<u8> = Vec::with_capacity(4096);
    loop {
        // Answer every complete frame already buffered.
        loop {
            match decoder.decode(&buf[start..]) {
                Ok(Some((event, used))) => {
                    start += used;
                    match event {
                        Event::Preamble(_) => {}
                        Event::Frame(Frame::Request(req)) => {
                            if let Some(answer) = node.handle(&mut conn, req).await {
                                out.extend_from_slice(&answer);
                            }
                        }
                        Event::Frame(Frame::Rejected { method, error }) => {
                            if method == Method::AuthorizeConnection {
                                // Never answered: the next request reports it.
                                conn.principal = None;
                                conn.auth_error = Some(NodeError::new(
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
                    let _ = stream.write_all(&out).await;
                    let _ = stream.shutdown().await;
                    return;
                }
            }
        }
        if !out.is_empty() {
            if stream.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
        // Keep the buffer compact.
        if start > 0 {
            buf.drain(..start);
            start = 0;
        }
        // Until the connection is authorized, a frame may not be larger than an
        // authorizeConnection needs: what an anonymous client can make a node buffer stays small.
        let max = if conn.principal.is_some() { limits.max_frame_bytes } else { limits.max_frame_bytes.min(MAX_ANONYMOUS_FRAME) };
        if buf.len() > max.saturating_add(64) {
            let e = NodeError::validation(format!("Request exceeds {max} bytes"));
            let _ = stream.write_all(&error_frame(&e, None)).await;
            return;
        }
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(8192);
        }
        match stream.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}
