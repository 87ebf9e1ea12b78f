//! Bounds applied to every decode.

/// Bounds on what one decode may consume. Exceeding any of them is a
/// [`crate::WireError::LimitExceeded`], never a panic or an unbounded allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Maximum bytes of one frame (the preamble, or one request with all its arguments).
    pub max_frame_bytes: usize,
    /// Maximum nesting of arrays, maps and tags, counted separately inside each embedded
    /// byte string (expressions, value bytes, compound keys) as well as in the frame.
    pub max_depth: usize,
    /// Maximum number of CBOR data items (headers) in one frame or embedded byte string.
    pub max_items: usize,
    /// Maximum declared length of one array or map.
    pub max_container_len: u64,
}

impl Limits {
    /// Defaults sized for DynamoDB's own limits: BatchWriteItem requests may be 16 MB,
    /// items 400 KB, documents 32 levels deep, expressions 4 KB.
    pub const DEFAULT: Limits = Limits {
        max_frame_bytes: 20 * 1024 * 1024,
        max_depth: 256,
        max_items: 4_000_000,
        max_container_len: 1_000_000,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}
