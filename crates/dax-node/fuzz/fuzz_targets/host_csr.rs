//! A node host's certificate signing request as the control reads it at a join
//! (`HostCsr::parse`): any text, no panic, and a request that parses can be signed.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = dax_node::tls::HostCsr::parse(text);
    }
});
