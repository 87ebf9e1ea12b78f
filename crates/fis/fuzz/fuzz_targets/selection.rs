//! Target selection modes (`ALL`, `COUNT(n)`, `PERCENT(n)`) as template authors write them.
//!
//! Invariants: parsing never panics; a mode that parses never chooses more resources than
//! there are, and chooses at least one of a non-empty set.
#![no_main]

use fis::parse_selection_mode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else { return };
    let Ok(s) = std::str::from_utf8(rest) else { return };
    let Ok(mode) = parse_selection_mode(s) else { return };
    let items: Vec<u8> = (0..n).collect();
    let chosen = mode.choose(&items, u64::from(n));
    assert!(chosen.len() <= items.len());
    assert!(items.is_empty() || !chosen.is_empty());
});
