use std::fmt;

/// Why a request failed SigV4 authentication.
///
/// `Display` renders the message AWS sends for the corresponding error; the
/// caller picks the error code, which varies by protocol (for instance
/// `IncompleteSignature` / `SignatureDoesNotMatch` for query APIs such as IAM
/// and STS, `InvalidSignatureException` for DynamoDB's JSON protocol).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization` header and no `X-Amz-Algorithm` query parameter
    /// (AWS: `MissingAuthenticationToken`).
    Missing,
    /// Garbled or partial authentication information (AWS: `IncompleteSignature`).
    /// Holds the full AWS-style message.
    Incomplete(String),
    /// An algorithm other than `AWS4-HMAC-SHA256` (holds what the client sent).
    UnsupportedAlgorithm(String),
    /// Header-signed request (or presigned URL dated in the future) outside the
    /// 15 minute clock-skew window. All four values are ISO-8601 basic
    /// timestamps: the request's, the server's, and now ∓ 15 minutes.
    Expired { amz_date: String, now: String, earliest: String, latest: String },
    /// A presigned URL used after `X-Amz-Date + X-Amz-Expires`.
    PresignExpired,
    /// The recomputed signature differs from the client's (or the request
    /// cannot be canonicalised, e.g. a signed header is missing).
    SignatureMismatch,
    /// `x-amz-content-sha256` is present but is neither `UNSIGNED-PAYLOAD` nor
    /// the SHA-256 of the body.
    BadPayloadHash,
}

impl AuthError {
    /// `true` for the "this request is malformed" family (`Missing`,
    /// `Incomplete`, `UnsupportedAlgorithm`), `false` for credential/signature
    /// failures.
    pub fn is_malformed(&self) -> bool {
        matches!(self, AuthError::Missing | AuthError::Incomplete(_) | AuthError::UnsupportedAlgorithm(_))
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::Missing => f.write_str("Missing Authentication Token"),
            AuthError::Incomplete(msg) => f.write_str(msg),
            AuthError::UnsupportedAlgorithm(_) => f.write_str(
                "The authorization mechanism you have provided is not supported. \
                 Please use AWS4-HMAC-SHA256.",
            ),
            AuthError::Expired { amz_date, now, earliest, latest } => {
                // All values share the fixed-width basic format, so string order
                // is chronological order.
                if amz_date.as_str() < earliest.as_str() {
                    write!(f, "Signature expired: {amz_date} is now earlier than {earliest} ({now} - 15 min.)")
                } else {
                    write!(f, "Signature not yet current: {amz_date} is still later than {latest} ({now} + 15 min.)")
                }
            }
            AuthError::PresignExpired => f.write_str("Request has expired"),
            AuthError::SignatureMismatch => f.write_str(
                "The request signature we calculated does not match the signature you provided. \
                 Check your AWS Secret Access Key and signing method. \
                 Consult the service documentation for details.",
            ),
            AuthError::BadPayloadHash => {
                f.write_str("The provided 'x-amz-content-sha256' header does not match what was computed.")
            }
        }
    }
}

impl std::error::Error for AuthError {}
