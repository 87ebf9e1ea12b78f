//! Presigned URLs and canonicalisation, two ways.
//!
//! The input is a 4-byte clock, then NUL-separated fields: method, path, query, body,
//! access key, region, service, session token, header name, header value.
//!
//! 1. The query as received (any bytes) is parsed as a presigned URL, canonicalised and
//!    verified: no panic.
//! 2. The fields become a request that is signed twice, once with an `Authorization`
//!    header (`sign`) and once as a presigned URL (built here from the crate's own
//!    canonical request); both must parse back to the same scope and verify at the
//!    signing time, and a changed signature must not verify.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigv4::{canonical_request, hmac_sha256, parse, sign, signing_key, string_to_sign, verify, AuthError, Request};
use time::OffsetDateTime;

/// The characters an access key, region or service can hold (no `/`, `,`, `=`, space).
fn word(b: &[u8]) -> String {
    b.iter().filter(|c| c.is_ascii_alphanumeric() || b"-_.".contains(c)).map(|&c| char::from(c)).collect()
}

fn iso(t: OffsetDateTime) -> String {
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((clock, rest)) = data.split_first_chunk::<4>() else { return };
    // 2000-01-01 plus up to ~136 years.
    let Ok(now) = OffsetDateTime::from_unix_timestamp(946_684_800 + i64::from(u32::from_be_bytes(*clock))) else {
        return;
    };
    let mut f = rest.split(|&b| b == 0);
    let mut next = || f.next().unwrap_or_default();
    let method = String::from_utf8_lossy(next()).into_owned();
    let path = String::from_utf8_lossy(next()).into_owned();
    let query = String::from_utf8_lossy(next()).into_owned();
    let body = next().to_vec();
    let (ak, region, service) = (word(next()), word(next()), word(next()));
    let token = String::from_utf8_lossy(next()).into_owned();
    let hname = format!("x-f-{}", word(next()).to_ascii_lowercase());
    let hvalue = String::from_utf8_lossy(next()).into_owned();

    // 1. The query as received.
    let host: (&str, &[u8]) = ("host", b"localhost:4566");
    let headers = [host];
    let req = Request { method: &method, path: &path, query: &query, headers: &headers, body: &body };
    let raw = parse(&req);
    if let Ok(p) = &raw {
        let _ = canonical_request(&req, p);
        let _ = verify(&req, p, "secret", now);
    }

    // A query that is already presigned cannot be signed again.
    if method.is_empty() || region.is_empty() || service.is_empty() || raw != Err(AuthError::Missing) {
        return;
    }
    // Header values arrive trimmed.
    let token = Some(token.trim().to_owned()).filter(|t| !t.is_empty());
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    // 2a. Header authentication with `sign`.
    let extra = [(hname.as_str(), hvalue.as_str())];
    let added = sign(&method, "localhost:4566", &path, &query, &extra, &body, &ak, secret, token.as_deref(), &region, &service, now);
    let mut headers: Vec<(&str, &[u8])> = vec![host, (hname.as_str(), hvalue.as_bytes())];
    headers.extend(added.iter().map(|(n, v)| (n.as_str(), v.as_bytes())));
    let req = Request { method: &method, path: &path, query: &query, headers: &headers, body: &body };
    let p = parse(&req).expect("a signed request parses");
    assert_eq!((p.access_key_id.as_str(), p.region.as_str(), p.service.as_str()), (ak.as_str(), region.as_str(), service.as_str()));
    assert_eq!(p.security_token, token);
    assert_eq!(verify(&req, &p, secret, now), Ok(()));
    assert!(verify(&req, &p, "another secret", now).is_err());

    // 2b. The same request presigned.
    let date = iso(now);
    let scope = format!("{}/{region}/{service}/aws4_request", &date[..8]);
    let expires = 1 + u32::from(clock[3]) * 2000;
    let mut q = format!(
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={}&X-Amz-Date={date}&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host",
        pct(&format!("{ak}/{scope}"))
    );
    if let Some(t) = &token {
        q.push_str(&format!("&X-Amz-Security-Token={}", pct(t)));
    }
    // The request's own parameters after ours (the first of a name wins). A signing
    // parameter we do not add (the token, when there is none) would be the first of its
    // name, and the parser rightly refuses one that is not UTF-8: leave those out, and
    // any name with a percent escape (the parser decodes names, so one could spell them).
    let ours = ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token"];
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let name = pair.split('=').next().unwrap_or_default();
            !ours.contains(&name) && !name.contains('%')
        })
        .collect();
    let kept = kept.join("&");
    let tail = if kept.is_empty() { String::new() } else { format!("&{kept}") };
    let headers = [host];
    let unsigned = format!("{q}&X-Amz-Signature={}{tail}", "0".repeat(64));
    let req = Request { method: &method, path: &path, query: &unsigned, headers: &headers, body: &body };
    let p = parse(&req).expect("a presigned URL parses");
    assert!(p.presigned);
    assert_eq!(p.expires, Some(u64::from(expires)));
    let canonical = canonical_request(&req, &p).expect("canonical request");
    let key = signing_key(secret, &date[..8], &region, &service);
    let signature = hex(&hmac_sha256(&key, string_to_sign(&date, &scope, &canonical).as_bytes()));
    let signed = format!("{q}&X-Amz-Signature={signature}{tail}");
    let req = Request { query: &signed, ..req };
    let p = parse(&req).expect("a presigned URL parses");
    assert_eq!(canonical_request(&req, &p).as_deref(), Ok(canonical.as_str()), "the signature is not part of the canonical query");
    assert_eq!(verify(&req, &p, secret, now), Ok(()));
    assert_eq!(verify(&req, &p, "another secret", now), Err(AuthError::SignatureMismatch));
});
