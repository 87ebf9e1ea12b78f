//! The console's form bodies and query strings (`application/x-www-form-urlencoded`),
//! its path segments and the region a page is asked for.
//!
//! Invariants: at most `MAX_FIELDS` pairs; `get` is the first of `all`; what `query`
//! and `encode` write parses back to the same pairs and segments.
#![no_main]

use console::fuzzing::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let pairs = parse(data);
    assert!(pairs.len() <= MAX_FIELDS);
    for (k, _) in pairs.iter().take(8) {
        let every = all(&pairs, k);
        assert_eq!(get(&pairs, k), every.first().copied());
        let _ = is_region(k);
    }
    // Re-encoded, the non-empty pairs come back (as `query` writes them).
    let kept: Vec<(&str, &str)> = pairs.iter().take(50).map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let q = query(&kept);
    let back = parse(q.strip_prefix('?').unwrap_or("").as_bytes());
    let want: Vec<(String, String)> =
        kept.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    assert_eq!(back, want);

    let text = String::from_utf8_lossy(data);
    let segs = path_segments(&text);
    assert!(segs.iter().all(|s| !s.is_empty() || text.contains("/%") || text.starts_with('%')));
    for s in &segs {
        assert_eq!(&decode_component(&encode(s)), s);
    }
    let path: String = segs.iter().map(|s| format!("/{}", encode(s))).collect();
    assert_eq!(path_segments(&path), segs.into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>());
});
