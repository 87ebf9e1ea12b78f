//! Arbitrary bytes as a whole request: NUL-separated fields are method, path,
//! query, body, then alternating header names and values. Whatever parses is
//! verified against a fixed secret and clock.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigv4::{canonical_request, parse, verify, Request};
use time::OffsetDateTime;

fuzz_target!(|data: &[u8]| {
    let mut fields = data.split(|&b| b == 0);
    let mut text = || String::from_utf8_lossy(fields.next().unwrap_or_default()).into_owned();
    let method = text();
    let path = text();
    let query = text();
    let body = fields.next().unwrap_or_default().to_vec();
    let rest: Vec<&[u8]> = fields.collect();
    let names: Vec<String> = rest
        .iter()
        .step_by(2)
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    let headers: Vec<(&str, &[u8])> = names
        .iter()
        .zip(rest.iter().skip(1).step_by(2))
        .map(|(n, v)| (n.as_str(), *v))
        .collect();
    let req = Request {
        method: &method,
        path: &path,
        query: &query,
        headers: &headers,
        body: &body,
    };
    let Ok(parsed) = parse(&req) else { return };
    let _ = canonical_request(&req, &parsed);
    // 2024-01-01T00:00:00Z; also the extremes of the representable range.
    for now in [1_704_067_200, -377_705_116_800, 253_402_300_799] {
        if let Ok(now) = OffsetDateTime::from_unix_timestamp(now) {
            let _ = verify(&req, &parsed, "secret", now);
        }
    }
});
