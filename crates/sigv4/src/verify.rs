//! Signature verification.

use time::OffsetDateTime;

use crate::canonical::{canonical_request_with_payload_hash, declared_payload_hash};
use crate::date::{format_iso_basic, unix};
use crate::{
    constant_time_eq, hmac_sha256, sha256_hex, signing_key, string_to_sign, AuthError, Parsed, Request,
    SigningKeyCache, MAX_CLOCK_SKEW_SECS, UNSIGNED_PAYLOAD,
};

/// Verifies a request parsed by [`crate::parse`] against the caller's secret.
///
/// In order:
/// 1. time: header-signed requests must be within 15 minutes of `now` in
///    either direction; presigned URLs must not be dated more than 15 minutes
///    ahead and must be used before `X-Amz-Date + X-Amz-Expires` (without
///    `X-Amz-Expires`, the 15 minute window applies);
/// 2. payload: an `x-amz-content-sha256` header must be `UNSIGNED-PAYLOAD` or
///    the body's SHA-256 ([`AuthError::BadPayloadHash`] otherwise);
/// 3. signature: recomputed from the client's `SignedHeaders` and compared in
///    constant time. Presigned URLs without `x-amz-content-sha256` are accepted
///    when signed over `UNSIGNED-PAYLOAD` (what AWS SDKs do) or over the body's
///    SHA-256 (what some signers, and AWS's test suite, do).
pub fn verify(req: &Request, parsed: &Parsed, secret: &str, now: OffsetDateTime) -> Result<(), AuthError> {
    verify_inner(req, parsed, secret, now, None)
}

/// [`verify`], deriving the signing key through `cache`.
pub fn verify_with_cache(
    req: &Request,
    parsed: &Parsed,
    secret: &str,
    now: OffsetDateTime,
    cache: &SigningKeyCache,
) -> Result<(), AuthError> {
    verify_inner(req, parsed, secret, now, Some(cache))
}

fn expired(request_time: i64, now: i64) -> AuthError {
    AuthError::Expired {
        amz_date: format_iso_basic(request_time),
        now: format_iso_basic(now),
        earliest: format_iso_basic(now.saturating_sub(MAX_CLOCK_SKEW_SECS)),
        latest: format_iso_basic(now.saturating_add(MAX_CLOCK_SKEW_SECS)),
    }
}

fn check_time(parsed: &Parsed, now: i64) -> Result<(), AuthError> {
    let t = parsed.request_unix_time();
    if t > now.saturating_add(MAX_CLOCK_SKEW_SECS) {
        return Err(expired(t, now));
    }
    match (parsed.presigned, parsed.expires) {
        (true, Some(expires)) => {
            let expires = i64::try_from(expires).unwrap_or(i64::MAX);
            if now > t.saturating_add(expires) {
                return Err(AuthError::PresignExpired);
            }
        }
        _ => {
            if t < now.saturating_sub(MAX_CLOCK_SKEW_SECS) {
                return Err(expired(t, now));
            }
        }
    }
    Ok(())
}

fn verify_inner(
    req: &Request,
    parsed: &Parsed,
    secret: &str,
    now: OffsetDateTime,
    cache: Option<&SigningKeyCache>,
) -> Result<(), AuthError> {
    check_time(parsed, unix(now))?;

    let has_hash_header = req.headers.iter().any(|(n, _)| n.trim().eq_ignore_ascii_case("x-amz-content-sha256"));
    let declared = declared_payload_hash(req, parsed)?;
    let body_hash = sha256_hex(req.body);
    if has_hash_header && declared != UNSIGNED_PAYLOAD && declared != body_hash {
        return Err(AuthError::BadPayloadHash);
    }
    let mut candidates = vec![declared];
    if parsed.presigned && !has_hash_header {
        candidates.push(body_hash);
    }

    let key = match cache {
        Some(cache) => cache.get_or_compute(secret, &parsed.date, &parsed.region, &parsed.service),
        None => signing_key(secret, &parsed.date, &parsed.region, &parsed.service),
    };
    let scope = parsed.credential_scope();
    let mut matched = false;
    for payload_hash in &candidates {
        let creq = canonical_request_with_payload_hash(req, parsed, payload_hash)?;
        let sts = string_to_sign(parsed.iso_date(), &scope, &creq);
        let expected = hex::encode(hmac_sha256(&key, sts.as_bytes()));
        // Evaluate every candidate so timing does not reveal which one matched.
        matched |= constant_time_eq(expected.as_bytes(), parsed.signature.as_bytes());
    }
    if matched {
        Ok(())
    } else {
        Err(AuthError::SignatureMismatch)
    }
}
