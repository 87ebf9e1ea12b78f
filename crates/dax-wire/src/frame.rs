//! Incremental framing of the client → server byte stream (§1.3, §3.2).

use crate::cbor::{self, Budget, Reader};
use crate::error::{Result, WireError};
use crate::limits::Limits;
use crate::request::{reserved_method_name, Method, Preamble, Request, SERVICE_ID};
use minicbor::data::Type;

/// One complete request frame.
// One frame per request, moved straight to the handler: boxing the large variant would
// only add an allocation per request.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    /// A decoded request.
    Request(Request),
    /// A well-framed request whose arguments are invalid. The bytes were consumed and the
    /// stream is still in sync: answer with an error frame (`error` gives the exception)
    /// and keep reading. `authorizeConnection` must still get no answer.
    Rejected {
        /// The method that was called.
        method: Method,
        /// Why its arguments were refused.
        error: WireError,
    },
}

/// Scans `n` consecutive items starting at `start`; `None` if the buffer ends first.
fn scan_items(buf: &[u8], start: usize, n: usize, limits: &Limits, budget: &mut Budget) -> Result<Option<usize>> {
    let mut pos = start;
    for _ in 0..n {
        match cbor::scan_item(buf, pos, 0, limits, budget)? {
            Some(end) => pos = end,
            None => return Ok(None),
        }
    }
    Ok(Some(pos))
}

/// Decodes the connection preamble at the start of `buf` (five items: magic, layering,
/// session id, header map, client mode). `Ok(None)` means more bytes are needed.
pub fn try_decode_preamble(buf: &[u8], limits: &Limits) -> Result<Option<(Preamble, usize)>> {
    // Fail fast on a wrong first byte instead of waiting for more data.
    if let Some(&b) = buf.first() {
        if b != 0x67 {
            return Err(WireError::malformed("connection does not start with the DAX magic"));
        }
    }
    let mut budget = Budget::new();
    let Some(end) = scan_items(buf, 0, 5, limits, &mut budget)? else {
        return Ok(None);
    };
    let mut r = Reader::new(&buf[..end], *limits);
    let p = Preamble::read(&mut r)?;
    r.expect_end()?;
    Ok(Some((p, end)))
}

/// Decodes one request frame at the start of `buf`: `Ok(None)` means more bytes are
/// needed; `Ok(Some((frame, consumed)))` a complete frame; `Err` a stream that can no
/// longer be framed (malformed CBOR, limit exceeded, wrong service, unknown method):
/// answer with an error if useful, then close the connection.
pub fn try_decode(buf: &[u8], limits: &Limits) -> Result<Option<(Frame, usize)>> {
    let mut budget = Budget::new();
    let Some(service_end) = cbor::scan_item(buf, 0, 0, limits, &mut budget)? else {
        return Ok(None);
    };
    let mut r = Reader::new(&buf[..service_end], *limits);
    if !matches!(r.datatype()?, Type::U8 | Type::U16 | Type::U32 | Type::U64) || r.u64()? != SERVICE_ID {
        return Err(WireError::malformed("request does not start with service id 1"));
    }
    let Some(method_end) = cbor::scan_item(buf, service_end, 0, limits, &mut budget)? else {
        return Ok(None);
    };
    let mut r = Reader::new(&buf[..method_end], *limits);
    r.set_position(service_end);
    let id = match r.datatype()? {
        Type::U8 | Type::U16 | Type::U32 | Type::U64 | Type::I8 | Type::I16 | Type::I32 | Type::I64 | Type::Int => {
            r.int()?
        }
        _ => return Err(WireError::malformed("method id must be an integer")),
    };
    let id = i64::try_from(id).map_err(|_| WireError::UnknownMethod(i64::MIN))?;
    let method = Method::from_id(id).ok_or(WireError::UnknownMethod(id))?;
    let n = method.positional_args() + usize::from(method.has_kwargs());
    let Some(end) = scan_items(buf, method_end, n, limits, &mut budget)? else {
        return Ok(None);
    };
    let mut r = Reader::new(&buf[..end], *limits);
    r.set_position(method_end);
    let frame = match Request::read_args(method, &mut r).and_then(|req| {
        r.expect_end()?;
        Ok(req)
    }) {
        Ok(req) => Frame::Request(req),
        Err(error) => Frame::Rejected { method, error },
    };
    Ok(Some((frame, end)))
}

/// Is `id` a method the clients know but never send?
pub fn is_reserved_method(id: i64) -> bool {
    reserved_method_name(id).is_some()
}

/// What [`StreamDecoder::decode`] found.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The connection preamble (always first).
    Preamble(Preamble),
    /// A request frame.
    Frame(Frame),
}

/// Per-connection framing state: the preamble first, then request frames.
#[derive(Clone, Debug, Default)]
pub struct StreamDecoder {
    limits: Limits,
    preamble_done: bool,
}

impl StreamDecoder {
    /// A decoder for a new connection.
    pub fn new(limits: Limits) -> Self {
        StreamDecoder { limits, preamble_done: false }
    }

    /// Decodes the next event from the start of `buf`; the caller drops the returned
    /// number of bytes from its buffer. `Ok(None)`: read more bytes first.
    pub fn decode(&mut self, buf: &[u8]) -> Result<Option<(Event, usize)>> {
        if !self.preamble_done {
            return Ok(match try_decode_preamble(buf, &self.limits)? {
                Some((p, n)) => {
                    self.preamble_done = true;
                    Some((Event::Preamble(p), n))
                }
                None => None,
            });
        }
        Ok(try_decode(buf, &self.limits)?.map(|(f, n)| (Event::Frame(f), n)))
    }
}
