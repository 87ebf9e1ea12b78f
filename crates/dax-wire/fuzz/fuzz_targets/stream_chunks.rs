//! The incremental reader fed a connection's bytes in random chunks must find exactly
//! what one decode of the whole buffer finds: the same preamble and frames, the same
//! final error, or the same incomplete tail.
//!
//! The first byte seeds the chunk sizes, the second bounds them; the rest is the
//! client → server byte stream (preamble, then request frames).
#![no_main]

use dax_wire::{Event, Limits, StreamDecoder, WireError};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, PartialEq)]
enum End {
    /// More bytes needed; the undecoded tail.
    Incomplete(Vec<u8>),
    Error(WireError),
}

/// Decodes everything `buf` holds; returns the consumed count and whether to stop.
fn drain(d: &mut StreamDecoder, buf: &[u8], events: &mut Vec<Event>) -> (usize, Option<WireError>) {
    let mut pos = 0;
    loop {
        match d.decode(&buf[pos..]) {
            Ok(Some((e, n))) => {
                assert!(n > 0 && n <= buf.len() - pos, "consumed {n} of {}", buf.len() - pos);
                events.push(e);
                pos += n;
            }
            Ok(None) => return (pos, None),
            Err(e) => return (pos, Some(e)),
        }
    }
}

fn one_shot(stream: &[u8]) -> (Vec<Event>, End) {
    let mut d = StreamDecoder::new(Limits::default());
    let mut events = Vec::new();
    let (pos, err) = drain(&mut d, stream, &mut events);
    let end = match err {
        Some(e) => End::Error(e),
        None => End::Incomplete(stream[pos..].to_vec()),
    };
    (events, end)
}

fn chunked(stream: &[u8], mut seed: u32, max: usize) -> (Vec<Event>, End) {
    let mut d = StreamDecoder::new(Limits::default());
    let mut events = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut at = 0;
    while at < stream.len() {
        // xorshift32 for the chunk sizes
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let n = (1 + seed as usize % max).min(stream.len() - at);
        buf.extend_from_slice(&stream[at..at + n]);
        at += n;
        let (pos, err) = drain(&mut d, &buf, &mut events);
        if let Some(e) = err {
            return (events, End::Error(e));
        }
        buf.drain(..pos);
    }
    (events, End::Incomplete(buf))
}

fuzz_target!(|data: &[u8]| {
    let [seed, max, stream @ ..] = data else { return };
    let seed = u32::from(*seed) | 0x100;
    let max = 1 + usize::from(*max);
    let whole = one_shot(stream);
    let split = chunked(stream, seed, max);
    assert_eq!(whole, split);
    // Byte by byte, the hardest split (quadratic: short streams only).
    if stream.len() <= 1024 {
        assert_eq!(whole, chunked(stream, seed, 1));
    }
});
