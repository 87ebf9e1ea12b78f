//! EC2's errors, by AWS error code.
//!
//! EC2 has no error shapes in its model: codes are conventional strings,
//! often with a dot (`InvalidVpcID.NotFound`). Each variant is one code;
//! [`Ec2Error::code`] gives the string and `Display` gives EC2's message.

/// An EC2 error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ec2Error {
    #[error("The vpc ID '{0}' does not exist")]
    InvalidVpcIdNotFound(String),
    #[error("The subnet ID '{0}' does not exist")]
    InvalidSubnetIdNotFound(String),
    /// The message varies: by id, by name in the default VPC, by name in a VPC.
    #[error("{0}")]
    InvalidGroupNotFound(String),
    #[error("The security group '{name}' already exists for VPC '{vpc_id}'")]
    InvalidGroupDuplicate { name: String, vpc_id: String },
    #[error("Invalid id: \"{0}\" (expecting \"sg-...\")")]
    InvalidGroupIdMalformed(String),
    /// The rule is spelled as EC2 does: `peer: 0.0.0.0/0, TCP, from port: 8111, to port: 8111, ALLOW`.
    #[error("the specified rule \"{0}\" already exists")]
    InvalidPermissionDuplicate(String),
    #[error("The specified rule does not exist in this security group.")]
    InvalidPermissionNotFound,
    #[error("The security group rule ID '{0}' does not exist")]
    InvalidSecurityGroupRuleIdNotFound(String),
    #[error("The maximum number of rules per security group has been reached.")]
    RulesPerSecurityGroupLimitExceeded,
    #[error("The networkInterface ID '{0}' does not exist")]
    InvalidNetworkInterfaceIdNotFound(String),
    #[error("Invalid id: \"{0}\" (expecting \"eni-...\")")]
    InvalidNetworkInterfaceIdMalformed(String),
    #[error("The network interface '{0}' is currently in use.")]
    InvalidNetworkInterfaceInUse(String),
    #[error("{0}")]
    DependencyViolation(String),
    #[error("the specified group: \"{0}\" name: \"default\" cannot be deleted by a user")]
    CannotDelete(String),
    #[error("{0}")]
    InvalidParameterValue(String),
    #[error("The CIDR '{0}' is invalid.")]
    InvalidVpcRange(String),
    #[error("The CIDR '{0}' is invalid.")]
    InvalidSubnetRange(String),
    #[error("The CIDR '{0}' conflicts with another subnet")]
    InvalidSubnetConflict(String),
    /// EC2 answers an availability zone outside the region with `InvalidParameterValue`.
    #[error(
        "Value ({zone}) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: {valid}."
    )]
    InvalidAvailabilityZone { zone: String, valid: String },
    #[error("The request must contain the parameter {0}")]
    MissingParameter(String),
    #[error("Address {0} is in use.")]
    InvalidIpAddressInUse(String),
    #[error("There are not enough free addresses in subnet '{0}' to satisfy the requested number of instances.")]
    InsufficientFreeAddressesInSubnet(String),
    #[error("The maximum number of security groups per interface has been reached.")]
    SecurityGroupsPerInterfaceLimitExceeded,
    #[error("No default VPC for this user")]
    VpcIdNotSpecified,
    #[error("{0}")]
    IdempotentParameterMismatch(String),
    #[error("The token '{0}' is invalid")]
    InvalidNextToken(String),
    #[error("The maximum number of Tags for a resource has been reached.")]
    TagLimitExceeded,
    /// The durable store failed; the detail is for logs (`Debug`), not for the caller.
    #[error("An internal error has occurred")]
    InternalError(String),
}

impl Ec2Error {
    /// EC2's error code string.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Ec2Error::InvalidVpcIdNotFound(_) => "InvalidVpcID.NotFound",
            Ec2Error::InvalidSubnetIdNotFound(_) => "InvalidSubnetID.NotFound",
            Ec2Error::InvalidGroupNotFound(_) => "InvalidGroup.NotFound",
            Ec2Error::InvalidGroupDuplicate { .. } => "InvalidGroup.Duplicate",
            Ec2Error::InvalidGroupIdMalformed(_) => "InvalidGroupId.Malformed",
            Ec2Error::InvalidPermissionDuplicate(_) => "InvalidPermission.Duplicate",
            Ec2Error::InvalidPermissionNotFound => "InvalidPermission.NotFound",
            Ec2Error::InvalidSecurityGroupRuleIdNotFound(_) => "InvalidSecurityGroupRuleId.NotFound",
            Ec2Error::RulesPerSecurityGroupLimitExceeded => "RulesPerSecurityGroupLimitExceeded",
            Ec2Error::InvalidNetworkInterfaceIdNotFound(_) => "InvalidNetworkInterfaceID.NotFound",
            Ec2Error::InvalidNetworkInterfaceIdMalformed(_) => "InvalidNetworkInterfaceId.Malformed",
            Ec2Error::InvalidNetworkInterfaceInUse(_) => "InvalidNetworkInterface.InUse",
            Ec2Error::DependencyViolation(_) => "DependencyViolation",
            Ec2Error::CannotDelete(_) => "CannotDelete",
            Ec2Error::InvalidParameterValue(_) | Ec2Error::InvalidAvailabilityZone { .. } => "InvalidParameterValue",
            Ec2Error::InvalidVpcRange(_) => "InvalidVpc.Range",
            Ec2Error::InvalidSubnetRange(_) => "InvalidSubnet.Range",
            Ec2Error::InvalidSubnetConflict(_) => "InvalidSubnet.Conflict",
            Ec2Error::MissingParameter(_) => "MissingParameter",
            Ec2Error::InvalidIpAddressInUse(_) => "InvalidIPAddress.InUse",
            Ec2Error::InsufficientFreeAddressesInSubnet(_) => "InsufficientFreeAddressesInSubnet",
            Ec2Error::SecurityGroupsPerInterfaceLimitExceeded => "SecurityGroupsPerInterfaceLimitExceeded",
            Ec2Error::VpcIdNotSpecified => "VPCIdNotSpecified",
            Ec2Error::IdempotentParameterMismatch(_) => "IdempotentParameterMismatch",
            Ec2Error::InvalidNextToken(_) => "InvalidNextToken",
            Ec2Error::TagLimitExceeded => "TagLimitExceeded",
            Ec2Error::InternalError(_) => "InternalError",
        }
    }

    /// The HTTP status EC2 answers with: 400 for every client error, 500
    /// when the store failed.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            Ec2Error::InternalError(_) => 500,
            _ => 400,
        }
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        Ec2Error::InvalidParameterValue(msg.into())
    }

    pub(crate) fn group_not_found(id_or_name: &str) -> Self {
        Ec2Error::InvalidGroupNotFound(format!("The security group '{id_or_name}' does not exist"))
    }
}

impl From<state::StoreError> for Ec2Error {
    fn from(e: state::StoreError) -> Self {
        Ec2Error::InternalError(e.to_string())
    }
}
