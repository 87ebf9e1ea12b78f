//! `authorizeConnection` (§2): the decoded arguments and the SigV4 string-to-sign the
//! clients build. Verifying the signature (deriving the key, HMAC, constant-time compare)
//! is the caller's job, with the `sigv4` crate.

use crate::error::{Result, WireError};
use sha2::{Digest, Sha256};

/// The host the Python and JavaScript clients sign (`https://` stripped).
pub const SIGNED_HOST: &str = "dax.amazonaws.com";
/// The host the Go clients sign (not stripped).
pub const SIGNED_HOST_GO: &str = "https://dax.amazonaws.com";
/// The signing algorithm line.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The service name in the credential scope.
pub const SERVICE: &str = "dax";
/// `hex(sha256(""))`: the payload hash of the fake request.
pub const EMPTY_PAYLOAD_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// The five arguments of `authorizeConnection`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AuthorizeConnection {
    /// Access key id.
    pub access_key_id: String,
    /// Hex signature (64 lowercase hex characters).
    pub signature: String,
    /// The string-to-sign exactly as received (HMAC these bytes, not a rebuilt string).
    pub string_to_sign: Vec<u8>,
    /// STS session token, if any.
    pub session_token: Option<String>,
    /// The client's user agent, if sent.
    pub user_agent: Option<String>,
}

impl std::fmt::Debug for AuthorizeConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The session token is a credential: never print it.
        f.debug_struct("AuthorizeConnection")
            .field("access_key_id", &self.access_key_id)
            .field("signature", &self.signature)
            .field("string_to_sign", &String::from_utf8_lossy(&self.string_to_sign))
            .field("session_token", &self.session_token.as_ref().map(|_| "<redacted>"))
            .field("user_agent", &self.user_agent)
            .finish()
    }
}

/// The four lines of a received string-to-sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StringToSign<'a> {
    /// `YYYYMMDDTHHMMSSZ`
    pub amz_date: &'a str,
    /// `YYYYMMDD` (checked to be the first 8 characters of `amz_date`).
    pub date: &'a str,
    /// The region of the credential scope.
    pub region: &'a str,
    /// The service of the credential scope (checked to be `dax`).
    pub service: &'a str,
    /// Line 4: hex SHA-256 of the canonical request.
    pub canonical_request_hash: &'a str,
}

impl StringToSign<'_> {
    /// True if line 4 is the hash of one of the canonical requests the official clients
    /// build (Python/JavaScript or Go host variant).
    pub fn has_known_canonical_request(&self) -> bool {
        [SIGNED_HOST, SIGNED_HOST_GO]
            .iter()
            .any(|h| hex_sha256(expected_canonical_request(self.amz_date, h).as_bytes()) == self.canonical_request_hash)
    }
}

fn bad(msg: &str) -> WireError {
    WireError::validation(format!("Invalid string to sign: {msg}"))
}

/// Splits and checks a received string-to-sign (§2.3 step 1).
pub fn parse_string_to_sign(bytes: &[u8]) -> Result<StringToSign<'_>> {
    let s = std::str::from_utf8(bytes).map_err(|_| bad("not UTF-8"))?;
    let lines: Vec<&str> = s.split('\n').collect();
    let [alg, amz_date, scope, hash] = lines[..] else {
        return Err(bad("expected 4 lines"));
    };
    if alg != ALGORITHM {
        return Err(bad("unsupported algorithm"));
    }
    let ok_date = amz_date.len() == 16
        && amz_date.as_bytes()[8] == b'T'
        && amz_date.as_bytes()[15] == b'Z'
        && amz_date.bytes().enumerate().all(|(i, c)| i == 8 || i == 15 || c.is_ascii_digit());
    if !ok_date {
        return Err(bad("malformed date"));
    }
    let parts: Vec<&str> = scope.split('/').collect();
    let [date, region, service, term] = parts[..] else {
        return Err(bad("malformed credential scope"));
    };
    if date != &amz_date[..8] || term != "aws4_request" || service != SERVICE || region.is_empty() {
        return Err(bad("malformed credential scope"));
    }
    if hash.len() != 64 || !hash.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad("malformed canonical request hash"));
    }
    Ok(StringToSign { amz_date, date, region, service, canonical_request_hash: hash })
}

/// The canonical request of the fake `POST /` the clients sign (§2.2).
pub fn expected_canonical_request(amz_date: &str, host: &str) -> String {
    format!("POST\n/\n\nhost:{host}\nx-amz-date:{amz_date}\n\nhost;x-amz-date\n{EMPTY_PAYLOAD_SHA256}")
}

/// The string-to-sign the clients build for `amz_date` (`YYYYMMDDTHHMMSSZ`), `region`
/// and `host` ([`SIGNED_HOST`] or [`SIGNED_HOST_GO`]).
pub fn expected_string_to_sign(amz_date: &str, region: &str, host: &str) -> String {
    let date = amz_date.get(..8).unwrap_or(amz_date);
    let hash = hex_sha256(expected_canonical_request(amz_date, host).as_bytes());
    format!("{ALGORITHM}\n{amz_date}\n{date}/{region}/{SERVICE}/aws4_request\n{hash}")
}

fn hex_sha256(b: &[u8]) -> String {
    Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}
