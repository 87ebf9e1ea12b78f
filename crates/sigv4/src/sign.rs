//! Client-side signing.

use time::OffsetDateTime;

use crate::canonical::canonical_request_with_payload_hash;
use crate::date::{format_iso_basic, unix};
use crate::{hmac_sha256, sha256_hex, signing_key, string_to_sign, Parsed, Request, ALGORITHM};

/// Headers [`sign`] sets itself; copies passed in by the caller are ignored.
const MANAGED: [&str; 4] = ["authorization", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token"];

/// Signs an outgoing request with header authentication and returns the
/// headers to add: `authorization`, `x-amz-date`, `x-amz-content-sha256` and,
/// with a session token, `x-amz-security-token`.
///
/// `path` and `query` are the raw (already percent-encoded) strings that will
/// be sent. Every header in `headers` is signed, plus `host` (taken from
/// `host` unless `headers` already has one, and which the caller must send
/// with exactly that value) and the headers returned.
#[allow(clippy::too_many_arguments)]
pub fn sign(
    method: &str,
    host: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    access_key: &str,
    secret: &str,
    session_token: Option<&str>,
    region: &str,
    service: &str,
    now: OffsetDateTime,
) -> Vec<(String, String)> {
    let request_time = unix(now);
    let amz_date = format_iso_basic(request_time);
    let date = amz_date.get(..8).unwrap_or_default().to_owned();
    let payload_hash = sha256_hex(body);

    let mut all: Vec<(&str, &str)> = Vec::with_capacity(headers.len() + 4);
    if !headers.iter().any(|(n, _)| n.trim().eq_ignore_ascii_case("host")) {
        all.push(("host", host));
    }
    all.extend(headers.iter().copied().filter(|(n, _)| {
        let n = n.trim();
        !n.is_empty() && !MANAGED.iter().any(|m| n.eq_ignore_ascii_case(m))
    }));
    all.push(("x-amz-date", &amz_date));
    all.push(("x-amz-content-sha256", &payload_hash));
    if let Some(token) = session_token {
        all.push(("x-amz-security-token", token));
    }
    let mut signed_headers: Vec<String> = all.iter().map(|(n, _)| n.trim().to_ascii_lowercase()).collect();
    signed_headers.sort_unstable();
    signed_headers.dedup();

    let raw_headers: Vec<(&str, &[u8])> = all.iter().map(|(n, v)| (*n, v.as_bytes())).collect();
    let req = Request { method, path, query, headers: &raw_headers, body };
    let parsed = Parsed {
        access_key_id: access_key.to_owned(),
        date,
        region: region.to_owned(),
        service: service.to_owned(),
        amz_date: amz_date.clone(),
        signed_headers,
        signature: String::new(),
        security_token: session_token.map(str::to_owned),
        presigned: false,
        expires: None,
        normalize_path: service != "s3",
        request_time,
        iso_date: amz_date.clone(),
    };
    // Every signed header is present and valid UTF-8 by construction, so this
    // cannot fail; an empty canonical request would only yield a signature the
    // server rejects.
    let creq = canonical_request_with_payload_hash(&req, &parsed, &payload_hash).unwrap_or_default();
    let scope = parsed.credential_scope();
    let sts = string_to_sign(&amz_date, &scope, &creq);
    let key = signing_key(secret, &parsed.date, region, service);
    let signature = hex::encode(hmac_sha256(&key, sts.as_bytes()));

    let mut out = vec![
        (
            "authorization".to_owned(),
            format!(
                "{ALGORITHM} Credential={access_key}/{scope}, SignedHeaders={}, Signature={signature}",
                parsed.signed_headers.join(";")
            ),
        ),
        ("x-amz-date".to_owned(), amz_date),
        ("x-amz-content-sha256".to_owned(), payload_hash),
    ];
    if let Some(token) = session_token {
        out.push(("x-amz-security-token".to_owned(), token.to_owned()));
    }
    out
}
