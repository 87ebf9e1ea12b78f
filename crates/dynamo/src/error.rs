//! DynamoDB's errors as daxd carries them: the exception name, message,
//! HTTP status and extra members, and the envelope DynamoDB puts around
//! request-validation messages. Both the engine's answers (`engine.rs`) and
//! the checks daxd adds (`checks.rs`) build their errors here.

/// An error as DynamoDB reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct DynamoError {
    /// The exception name without its namespace, e.g.
    /// `ResourceNotFoundException`, `ConditionalCheckFailedException`,
    /// `ValidationException`, `TransactionCanceledException`.
    pub code: String,
    /// The message (may be empty: DynamoDB sends none for some errors).
    pub message: String,
    /// The HTTP status DynamoDB answers with.
    pub status: u16,
    /// Members of the error body beyond `__type` and the message, as a JSON
    /// object: `CancellationReasons` of a `TransactionCanceledException`, the
    /// `Item` of a `ConditionalCheckFailedException` asked for with
    /// `ReturnValuesOnConditionCheckFailure=ALL_OLD`, or whatever else a
    /// remote endpoint sent.
    pub extra: Option<serde_json::Value>,
}

impl DynamoError {
    /// An error with no extra members.
    pub fn new(code: impl Into<String>, status: u16, message: impl Into<String>) -> Self {
        DynamoError { code: code.into(), message: message.into(), status, extra: None }
    }

    /// `ValidationException` (400).
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationException", 400, message)
    }

    /// `ResourceNotFoundException` (400).
    pub fn resource_not_found(message: impl Into<String>) -> Self {
        Self::new("ResourceNotFoundException", 400, message)
    }

    /// `InternalServerError` (500): a fault of daxd or its storage.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new("InternalServerError", 500, message)
    }

    /// `ServiceUnavailable` (503): the backend could not be reached in time.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new("ServiceUnavailable", 503, message)
    }

    /// `UnknownOperationException` (400) for an operation the backend does
    /// not implement.
    pub fn unknown_operation(op: &str) -> Self {
        Self::new(
            "UnknownOperationException",
            400,
            format!("The operation {op} is not supported by this DynamoDB backend"),
        )
    }

    /// The same error with `extra` set.
    #[must_use]
    pub fn with_extra(mut self, extra: serde_json::Value) -> Self {
        self.extra = Some(extra);
        self
    }
}

impl std::fmt::Display for DynamoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.message.is_empty() {
            write!(f, "{} ({})", self.code, self.status)
        } else {
            write!(f, "{} ({}): {}", self.code, self.status, self.message)
        }
    }
}

impl std::error::Error for DynamoError {}

/// PutItem, UpdateItem and DeleteItem wrap request-validation errors in
/// DynamoDB's `1 validation error detected: ` envelope; the rest report them bare.
pub(crate) fn request_validation(op: &str, msg: &str) -> DynamoError {
    if matches!(op, "PutItem" | "UpdateItem" | "DeleteItem") && !msg.starts_with("1 validation error detected: ") {
        DynamoError::validation(format!("1 validation error detected: {msg}"))
    } else {
        DynamoError::validation(msg)
    }
}
