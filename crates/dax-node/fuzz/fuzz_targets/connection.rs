//! One client connection through a real node: the node's own decoding after dax-wire's
//! (the attribute-list registry, key schemas from DescribeTable, keys and values under
//! them, projections, the caches, DynamoDB answers turned back into DAX answers), against
//! an in-memory DynamoDB. No panic, no hang, no unbounded memory.
//!
//! The first byte is ignored (the seeds are shared with dax-wire's `stream_chunks`); the
//! second bounds the pieces the stream is written in (0: all at once); the rest is the
//! client → server byte stream, preamble first.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let chunk = if data[1] == 0 { data.len() } else { usize::from(data[1]) };
    let _ = dax_node::fuzzing::serve_connection(&data[2..], chunk);
});
