//! IAM's errors, by AWS error code.

/// An IAM error. Each variant is one AWS error code; the message is AWS's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IamError {
    #[error("{0}")]
    NoSuchEntity(String),
    #[error("{0}")]
    EntityAlreadyExists(String),
    #[error("{0}")]
    DeleteConflict(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0}")]
    ServiceFailure(String),
}

impl IamError {
    /// The AWS error code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            IamError::NoSuchEntity(_) => "NoSuchEntity",
            IamError::EntityAlreadyExists(_) => "EntityAlreadyExists",
            IamError::DeleteConflict(_) => "DeleteConflict",
            IamError::LimitExceeded(_) => "LimitExceeded",
            IamError::InvalidInput(_) => "InvalidInput",
            IamError::ServiceFailure(_) => "ServiceFailure",
        }
    }
}

impl From<state::StoreError> for IamError {
    fn from(e: state::StoreError) -> Self {
        IamError::ServiceFailure(format!("The request processing has failed because of an unknown error: {e}"))
    }
}
