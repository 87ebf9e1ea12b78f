//! The crate's error type.

use std::fmt;

/// Why bytes could not be decoded (or a value could not be encoded).
///
/// The variants tell the caller what to do with the connection:
///
/// * [`WireError::Malformed`], [`WireError::LimitExceeded`] and
///   [`WireError::UnknownMethod`] returned by the framing functions mean the byte stream can
///   no longer be trusted: answer with an error frame if useful, then close the connection.
/// * [`WireError::Validation`] carries a DynamoDB `ValidationException` message (for example
///   a number with more than 38 significant digits). The request was well framed; answer it
///   with a `ValidationException` error frame and keep reading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WireError {
    /// The bytes are not valid CBOR, or not the shape the protocol requires.
    Malformed(String),
    /// A configured [`crate::Limits`] bound was exceeded.
    LimitExceeded(String),
    /// A request named a method id this codec cannot frame (its argument count is unknown).
    UnknownMethod(i64),
    /// Semantically invalid input; the text is DynamoDB's `ValidationException` message.
    Validation(String),
}

impl WireError {
    pub(crate) fn malformed(msg: impl Into<String>) -> Self {
        WireError::Malformed(msg.into())
    }

    pub(crate) fn validation(msg: impl Into<String>) -> Self {
        WireError::Validation(msg.into())
    }

    /// The DynamoDB exception name a server should report for this error.
    pub fn exception_name(&self) -> &'static str {
        match self {
            WireError::UnknownMethod(_) => "NotImplementedException",
            _ => "ValidationException",
        }
    }

    /// The human-readable message.
    pub fn message(&self) -> String {
        match self {
            WireError::Malformed(m) | WireError::LimitExceeded(m) | WireError::Validation(m) => m.clone(),
            WireError::UnknownMethod(id) => format!("Unknown or unsupported DAX method id {id}"),
        }
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Malformed(m) => write!(f, "malformed DAX frame: {m}"),
            WireError::LimitExceeded(m) => write!(f, "DAX frame limit exceeded: {m}"),
            WireError::UnknownMethod(id) => write!(f, "unknown DAX method id {id}"),
            WireError::Validation(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for WireError {}

impl From<minicbor::decode::Error> for WireError {
    fn from(e: minicbor::decode::Error) -> Self {
        WireError::Malformed(e.to_string())
    }
}

/// Shorthand used throughout the crate.
pub type Result<T, E = WireError> = std::result::Result<T, E>;
