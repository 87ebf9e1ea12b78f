//! Arbitrary bytes as the `Authorization` header (and, split at the first
//! NUL, an `X-Amz-Date` value), plus the same bytes as a query string.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigv4::{canonical_request, parse, Request};

fuzz_target!(|data: &[u8]| {
    let (auth, date) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b"20240101T000000Z"[..]),
    };
    let headers: [(&str, &[u8]); 3] = [
        ("Authorization", auth),
        ("X-Amz-Date", date),
        ("Host", b"localhost"),
    ];
    let req = Request {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        body: b"",
    };
    if let Ok(parsed) = parse(&req) {
        let _ = canonical_request(&req, &parsed);
    }

    // The same bytes as a presigned URL's query string.
    let query = String::from_utf8_lossy(data);
    let req = Request {
        query: &query,
        headers: &headers[1..],
        ..req
    };
    if let Ok(parsed) = parse(&req) {
        let _ = canonical_request(&req, &parsed);
    }
});
