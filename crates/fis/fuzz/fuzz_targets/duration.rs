//! ISO-8601 durations of FIS action parameters, as template authors write them.
//!
//! Invariants: parsing never panics or overflows; a duration that parses is at most 100
//! days, and parsing is a function of the text (the same text, the same answer).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let first = fis::parse_duration(s);
    if let Ok(ms) = &first {
        assert!(*ms <= 100 * 86_400_000);
    }
    assert_eq!(first, fis::parse_duration(s));
});
