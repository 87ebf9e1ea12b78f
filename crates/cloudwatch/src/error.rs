//! CloudWatch's errors, by the code the Query protocol sends (the code boto3
//! names its exceptions by, `x-amzn-query-error` on JSON and CBOR).

macro_rules! cw_errors {
    ($($code:ident => $status:expr),+ $(,)?) => {
        /// A CloudWatch error. Each variant is one modelled error code; the
        /// payload is the message.
        #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
        pub enum CwError {
            $(
                #[error("{0}")]
                $code(String),
            )+
        }

        impl CwError {
            /// The Query-protocol error code.
            #[must_use]
            pub fn code(&self) -> &'static str {
                match self {
                    $(CwError::$code(_) => stringify!($code),)+
                }
            }

            /// The message.
            #[must_use]
            pub fn message(&self) -> &str {
                match self {
                    $(CwError::$code(m))|+ => m,
                }
            }

            /// The HTTP status the model gives the error.
            #[must_use]
            pub fn status(&self) -> u16 {
                match self {
                    $(CwError::$code(_) => $status,)+
                }
            }
        }
    };
}

cw_errors!(
    InvalidParameterValue => 400,
    InvalidParameterCombination => 400,
    MissingParameter => 400,
    InvalidNextToken => 400,
    InvalidFormat => 400,
    LimitExceeded => 400,
    ResourceNotFound => 404,
    ResourceNotFoundException => 404,
    ValidationError => 400,
    InternalServiceError => 500,
);

impl From<state::StoreError> for CwError {
    fn from(e: state::StoreError) -> Self {
        CwError::InternalServiceError(e.to_string())
    }
}
