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
    MalformedPolicyDocument(String),
    #[error("{0}")]
    UnmodifiableEntity(String),
    #[error("{0}")]
    PolicyNotAttachable(String),
    #[error("{0}")]
    ServiceFailure(String),
    /// Authorization failures raised inside IAM itself (AssumeRole's trust
    /// check): the message is AWS's full denial text.
    #[error("{0}")]
    AccessDenied(String),
    /// STS: the caller may not do this with the credentials it has.
    #[error("{0}")]
    ValidationError(String),
    /// STS: session policies and tags exceed the packed size.
    #[error("{0}")]
    PackedPolicyTooLarge(String),
    /// STS: a parameter's value is not acceptable.
    #[error("{0}")]
    InvalidParameterValue(String),
    /// A password breaks the account's password policy.
    #[error("{0}")]
    PasswordPolicyViolation(String),
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
            IamError::MalformedPolicyDocument(_) => "MalformedPolicyDocument",
            IamError::UnmodifiableEntity(_) => "UnmodifiableEntity",
            IamError::PolicyNotAttachable(_) => "PolicyNotAttachable",
            IamError::ServiceFailure(_) => "ServiceFailure",
            IamError::AccessDenied(_) => "AccessDenied",
            IamError::ValidationError(_) => "ValidationError",
            IamError::PasswordPolicyViolation(_) => "PasswordPolicyViolation",
            IamError::PackedPolicyTooLarge(_) => "PackedPolicyTooLarge",
            IamError::InvalidParameterValue(_) => "InvalidParameterValue",
        }
    }
}

impl From<state::StoreError> for IamError {
    fn from(e: state::StoreError) -> Self {
        match e {
            // A record that does not decode is named as it is (on load).
            state::StoreError::Corrupt { .. } => IamError::ServiceFailure(e.to_string()),
            _ => {
                IamError::ServiceFailure(format!("The request processing has failed because of an unknown error: {e}"))
            }
        }
    }
}

impl From<policy::MalformedPolicy> for IamError {
    fn from(e: policy::MalformedPolicy) -> Self {
        IamError::MalformedPolicyDocument(e.message)
    }
}
