//! DAX's errors, by AWS error code.

macro_rules! dax_errors {
    ($($code:ident),+ $(,)?) => {
        /// A DAX control-plane error. Each variant but [`DaxError::InternalFailure`]
        /// is one exception shape of the DAX service model (all HTTP 400); the
        /// payload is the message.
        #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
        pub enum DaxError {
            $(
                #[error("{0}")]
                $code(String),
            )+
            /// The durable store failed; not in the model, HTTP 500.
            #[error("{0}")]
            InternalFailure(String),
        }

        impl DaxError {
            /// The AWS error code: the exception shape's name in the model.
            #[must_use]
            pub fn code(&self) -> &'static str {
                match self {
                    $(DaxError::$code(_) => stringify!($code),)+
                    DaxError::InternalFailure(_) => "InternalFailure",
                }
            }

            /// The message.
            #[must_use]
            pub fn message(&self) -> &str {
                match self {
                    $(DaxError::$code(m))|+ | DaxError::InternalFailure(m) => m,
                }
            }
        }
    };
}

dax_errors!(
    ClusterAlreadyExistsFault,
    ClusterNotFoundFault,
    ClusterQuotaForCustomerExceededFault,
    InsufficientClusterCapacityFault,
    InvalidARNFault,
    InvalidClusterStateFault,
    InvalidParameterCombinationException,
    InvalidParameterGroupStateFault,
    InvalidParameterValueException,
    InvalidSubnet,
    InvalidVPCNetworkStateFault,
    NodeNotFoundFault,
    NodeQuotaForClusterExceededFault,
    NodeQuotaForCustomerExceededFault,
    ParameterGroupAlreadyExistsFault,
    ParameterGroupNotFoundFault,
    ParameterGroupQuotaExceededFault,
    ServiceLinkedRoleNotFoundFault,
    ServiceQuotaExceededException,
    SubnetGroupAlreadyExistsFault,
    SubnetGroupInUseFault,
    SubnetGroupNotFoundFault,
    SubnetGroupQuotaExceededFault,
    SubnetInUse,
    SubnetNotAllowedFault,
    SubnetQuotaExceededFault,
    TagNotFoundFault,
    TagQuotaPerResourceExceeded,
);

impl DaxError {
    /// The HTTP status: 400 for every model error, 500 for [`DaxError::InternalFailure`].
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            DaxError::InternalFailure(_) => 500,
            _ => 400,
        }
    }
}

impl From<state::StoreError> for DaxError {
    fn from(e: state::StoreError) -> Self {
        match e {
            // A record that does not decode is named as it is (on load).
            state::StoreError::Corrupt { .. } => DaxError::InternalFailure(e.to_string()),
            _ => {
                DaxError::InternalFailure(format!("The request processing has failed because of an unknown error: {e}"))
            }
        }
    }
}
