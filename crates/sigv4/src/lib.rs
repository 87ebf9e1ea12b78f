//! AWS Signature Version 4 (`AWS4-HMAC-SHA256`) for daxd.
//!
//! What this crate **is**:
//!
//! * a *sans-IO* implementation of SigV4 request authentication for a server:
//!   [`parse`] extracts the credential scope, signed headers and signature from
//!   either the `Authorization` header or a presigned URL's query string, and
//!   [`verify`] recomputes the signature from the raw request and compares it
//!   in constant time, after checking the clock-skew / expiry window;
//! * a small client-side signer ([`sign`]) used by daxd's remote backend and by
//!   tests;
//! * the building blocks ([`canonical_request`], [`string_to_sign`],
//!   [`signing_key`], [`hmac_sha256`]) exposed for tests and diagnostics, plus a
//!   bounded [`SigningKeyCache`].
//!
//! What this crate **is not**:
//!
//! * it does no I/O, owns no sockets, and is independent of any HTTP stack: the
//!   caller hands over the request as raw strings and bytes ([`Request`]);
//! * it does not look up secrets or session tokens, and does not decide which
//!   service/region a request must be scoped to: [`Parsed`] exposes the scope and
//!   the caller decides (and chooses the AWS error code to answer with);
//! * it does not implement SigV4A (ECDSA), chunked/streaming payload signing
//!   (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`), SigV2, or S3 POST policies.
//!
//! Every function here is total on untrusted input: malformed requests produce
//! an [`AuthError`], never a panic.
//!
//! ```
//! use sigv4::{parse, sign, verify, Request};
//! use time::macros::datetime;
//!
//! let now = datetime!(2024-01-01 00:00:00 UTC);
//! let body = br#"{"TableName":"t"}"#;
//! let target = ("x-amz-target", "DynamoDB_20120810.DescribeTable");
//! // Client side.
//! let added = sign(
//!     "POST", "localhost:8000", "/", "", &[target], body,
//!     "AKIDEXAMPLE", "secret", None, "us-east-1", "dynamodb", now,
//! );
//! // Server side: the request as received.
//! let mut headers: Vec<(&str, &[u8])> =
//!     vec![("Host", b"localhost:8000"), (target.0, target.1.as_bytes())];
//! headers.extend(added.iter().map(|(n, v)| (n.as_str(), v.as_bytes())));
//! let req = Request { method: "POST", path: "/", query: "", headers: &headers, body };
//!
//! let parsed = parse(&req)?;
//! assert_eq!(parsed.access_key_id, "AKIDEXAMPLE");
//! assert_eq!(parsed.service, "dynamodb"); // the caller checks the scope
//! // ... look up the secret for parsed.access_key_id ...
//! verify(&req, &parsed, "secret", now)?;
//! # Ok::<(), sigv4::AuthError>(())
//! ```

mod canonical;
mod crypto;
mod date;
mod encoding;
mod error;
mod parse;
mod sign;
mod verify;

pub use canonical::{canonical_request, canonical_request_with_payload_hash};
pub use crypto::{constant_time_eq, hmac_sha256, sha256_hex, signing_key, SigningKeyCache};
pub use error::AuthError;
pub use parse::parse;
pub use sign::sign;
pub use verify::{verify, verify_with_cache};

/// The only signing algorithm supported.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Payload hash literal meaning "the body is not covered by the signature".
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// Allowed clock skew between the request's timestamp and the server clock.
pub const MAX_CLOCK_SKEW_SECS: i64 = 15 * 60;
/// Largest `X-Amz-Expires` accepted for presigned URLs (7 days).
pub const MAX_PRESIGN_EXPIRES_SECS: u64 = 604_800;

/// A request as received, before any decoding.
///
/// For HTTP/2 requests the caller should pass the `:authority` pseudo-header as
/// a `host` header, since SigV4 requires `host` to be signed.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// HTTP method exactly as sent, e.g. `"POST"`.
    pub method: &'a str,
    /// Raw path as sent, e.g. `"/"` or `"/a%20b"`.
    pub path: &'a str,
    /// Raw query string without the leading `?`; may be `""`.
    pub query: &'a str,
    /// Header names (any case) and raw values (which may be invalid UTF-8).
    pub headers: &'a [(&'a str, &'a [u8])],
    /// The full request body.
    pub body: &'a [u8],
}

/// The authentication information extracted by [`parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// Access key id from the credential scope.
    pub access_key_id: String,
    /// Scope date, `YYYYMMDD`.
    pub date: String,
    /// Scope region.
    pub region: String,
    /// Scope service (the caller checks it is the expected one).
    pub service: String,
    /// `X-Amz-Date` header / `X-Amz-Date` query parameter / `Date` header, as given.
    pub amz_date: String,
    /// Signed header names, lowercased, in the order the client listed them.
    pub signed_headers: Vec<String>,
    /// The client's signature (hex), as given.
    pub signature: String,
    /// `X-Amz-Security-Token` (header, or query parameter for presigned URLs).
    pub security_token: Option<String>,
    /// `true` when authentication came from the query string (presigned URL).
    pub presigned: bool,
    /// `X-Amz-Expires` of a presigned URL, in seconds.
    pub expires: Option<u64>,
    /// Whether the canonical URI is built the way every service but S3 does it
    /// (dot-segment / duplicate-slash normalisation, then a second round of
    /// percent-encoding). [`parse`] sets it to `service != "s3"`; for S3 the
    /// path is used as sent, only encoding characters that are not already
    /// escapes.
    pub normalize_path: bool,
    /// Request time in Unix seconds (from `amz_date`).
    request_time: i64,
    /// Request time in ISO-8601 basic format, as used in the string to sign.
    iso_date: String,
}

impl Parsed {
    /// The credential scope: `date/region/service/aws4_request`.
    pub fn credential_scope(&self) -> String {
        format!("{}/{}/{}/aws4_request", self.date, self.region, self.service)
    }

    /// Request timestamp in ISO-8601 basic format (`YYYYMMDDTHHMMSSZ`), i.e.
    /// `amz_date` converted if it came from an HTTP `Date` header.
    pub fn iso_date(&self) -> &str {
        &self.iso_date
    }

    /// Request timestamp as Unix seconds.
    pub fn request_unix_time(&self) -> i64 {
        self.request_time
    }
}

/// Builds the string to sign: algorithm, timestamp, scope and the hex SHA-256
/// of the canonical request, separated by newlines.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!("{ALGORITHM}\n{amz_date}\n{scope}\n{}", sha256_hex(canonical_request.as_bytes()))
}
