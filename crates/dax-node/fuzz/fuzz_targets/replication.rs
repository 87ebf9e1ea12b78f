//! A replication link's frames as a host reads them from another (`decode_length`, then
//! `decode_message` on the body): any bytes, no panic, and what decodes encodes back to the
//! same frame.
#![no_main]

use dax_node::replication::{decode_length, decode_message, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() >= 4 {
        let _ = decode_length([data[0], data[1], data[2], data[3]]);
    }
    if let Ok(msg) = decode_message(data) {
        assert_eq!(&encode(&msg)[4..], data);
    }
});
