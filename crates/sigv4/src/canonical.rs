//! The canonical request.

use crate::encoding::{canonical_query, canonical_uri};
use crate::parse::header_values;
use crate::{sha256_hex, AuthError, Parsed, Request, UNSIGNED_PAYLOAD};

/// Canonical form of one header value: obsolete line folding becomes a space,
/// leading/trailing spaces are dropped and runs of spaces collapse to one.
/// Other characters (including tabs outside a fold) are kept, as the AWS SDKs do.
pub(crate) fn normalize_header_value(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut pending_space = false;
    let mut in_fold = false;
    for c in raw.chars() {
        let is_space = match c {
            ' ' => true,
            '\r' | '\n' => {
                in_fold = true;
                true
            }
            '\t' => in_fold,
            _ => false,
        };
        if is_space {
            pending_space = true;
            continue;
        }
        in_fold = false;
        if pending_space && !out.is_empty() {
            out.push(' ');
        }
        pending_space = false;
        out.push(c);
    }
    out
}

/// The payload hash a request was signed with, before any check against the
/// body: the `x-amz-content-sha256` header if present, otherwise
/// `UNSIGNED-PAYLOAD` for presigned URLs and the body's SHA-256 for header
/// authentication.
pub(crate) fn declared_payload_hash(req: &Request, parsed: &Parsed) -> Result<String, AuthError> {
    match header_values(req, "x-amz-content-sha256").next() {
        Some(raw) => std::str::from_utf8(raw).map(|v| v.trim().to_owned()).map_err(|_| AuthError::BadPayloadHash),
        None if parsed.presigned => Ok(UNSIGNED_PAYLOAD.to_owned()),
        None => Ok(sha256_hex(req.body)),
    }
}

/// Builds the canonical request the way the client should have, using the
/// client's `SignedHeaders` list and the payload hash it declared (see
/// [`canonical_request_with_payload_hash`] for the layout).
///
/// The payload hash is the `x-amz-content-sha256` header if present (it is not
/// checked against the body here; [`crate::verify`] does that), else
/// `UNSIGNED-PAYLOAD` for presigned URLs, else the SHA-256 of the body.
pub fn canonical_request(req: &Request, parsed: &Parsed) -> Result<String, AuthError> {
    let payload_hash = declared_payload_hash(req, parsed)?;
    canonical_request_with_payload_hash(req, parsed, &payload_hash)
}

/// Builds the canonical request with an explicit payload hash:
///
/// ```text
/// METHOD\nCANONICAL_URI\nCANONICAL_QUERY\nname:value\n...\n\nsigned;headers\nPAYLOAD_HASH
/// ```
///
/// Fails with [`AuthError::SignatureMismatch`] when a signed header is absent
/// or its value is not valid UTF-8: such a request cannot match any signature.
pub fn canonical_request_with_payload_hash(
    req: &Request,
    parsed: &Parsed,
    payload_hash: &str,
) -> Result<String, AuthError> {
    let mut names: Vec<&str> = parsed.signed_headers.iter().map(String::as_str).collect();
    names.sort_unstable();
    names.dedup();

    let mut out = String::with_capacity(req.path.len().saturating_add(req.query.len()).saturating_add(256));
    out.push_str(req.method);
    out.push('\n');
    out.push_str(&canonical_uri(req.path, parsed.normalize_path));
    out.push('\n');
    out.push_str(&canonical_query(req.query, parsed.presigned));
    out.push('\n');
    for name in &names {
        out.push_str(name);
        out.push(':');
        let mut found = false;
        for raw in header_values(req, name) {
            let value = std::str::from_utf8(raw).map_err(|_| AuthError::SignatureMismatch)?;
            if found {
                out.push(',');
            }
            found = true;
            out.push_str(&normalize_header_value(value));
        }
        if !found {
            return Err(AuthError::SignatureMismatch);
        }
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&names.join(";"));
    out.push('\n');
    out.push_str(payload_hash);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::normalize_header_value as n;

    #[test]
    fn header_value_normalisation() {
        assert_eq!(n("  a   b  "), "a b");
        assert_eq!(n("\"a   b   c\""), "\"a b c\"");
        assert_eq!(n("value1\r\n  value2\n\t value3"), "value1 value2 value3");
        assert_eq!(n("a\tb"), "a\tb");
        assert_eq!(n(""), "");
        assert_eq!(n("   "), "");
    }
}
