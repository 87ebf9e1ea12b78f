//! Every parser entry point must return (never panic) on arbitrary text.
//! Run with `cargo +nightly fuzz run parse_policy` from `crates/policy`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = policy::policy_size(text);
    for result in [
        policy::parse(text),
        policy::parse_managed(text),
        policy::parse_resource_policy(text),
        policy::parse_trust_policy(text),
    ] {
        if let Err(e) = result {
            let _ = e.detail();
        }
    }
});
