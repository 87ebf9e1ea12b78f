//! Authentication (SigV4 against the account's credentials) and
//! authorization of the resulting principal.

use iam::{Iam, KeyStatus};
use time::OffsetDateTime;
use wire::{AwsError, Protocol};

use crate::config::RootCredentials;
use crate::services::ServiceDef;

/// Who is making a request.
#[derive(Debug, Clone)]
pub enum Principal {
    Root { account: String },
    User { account: String, user: iam::User },
}

impl Principal {
    #[must_use]
    pub fn arn(&self) -> String {
        match self {
            Principal::Root { account } => format!("arn:aws:iam::{account}:root"),
            Principal::User { user, .. } => user.arn.clone(),
        }
    }

    /// `aws:userid`: the account id for root, the unique id for a user.
    #[must_use]
    pub fn user_id(&self) -> String {
        match self {
            Principal::Root { account } => account.clone(),
            Principal::User { user, .. } => user.id.clone(),
        }
    }

    #[must_use]
    pub fn account(&self) -> &str {
        match self {
            Principal::Root { account } | Principal::User { account, .. } => account,
        }
    }
}

/// Why authentication failed, before it is put in a protocol's words.
#[derive(Debug)]
pub enum Failure {
    Signature(sigv4::AuthError),
    UnknownKey,
    WrongScope(String),
}

/// The AWS error for an authentication failure on `protocol`.
#[must_use]
pub fn error(protocol: Protocol, failure: &Failure) -> AwsError {
    use sigv4::AuthError as A;
    const INVALID_TOKEN: &str = "The security token included in the request is invalid.";
    const MISSING: &str = "Request is missing Authentication Token";
    match protocol {
        Protocol::Query => match failure {
            Failure::UnknownKey => AwsError::new(403, "InvalidClientTokenId", INVALID_TOKEN),
            Failure::WrongScope(m) => AwsError::new(403, "SignatureDoesNotMatch", m.clone()),
            Failure::Signature(A::Missing) => AwsError::new(403, "MissingAuthenticationToken", MISSING),
            Failure::Signature(e @ (A::Incomplete(_) | A::UnsupportedAlgorithm(_))) => {
                AwsError::new(400, "IncompleteSignature", e.to_string())
            }
            Failure::Signature(e) => AwsError::new(403, "SignatureDoesNotMatch", e.to_string()),
        },
        Protocol::Ec2 => match failure {
            Failure::UnknownKey => {
                AwsError::new(401, "AuthFailure", "AWS was not able to validate the provided access credentials")
            }
            Failure::Signature(A::Missing) => AwsError::new(401, "MissingAuthenticationToken", MISSING),
            Failure::Signature(e @ (A::Incomplete(_) | A::UnsupportedAlgorithm(_))) => {
                AwsError::new(400, "IncompleteSignature", e.to_string())
            }
            Failure::Signature(A::Expired { .. } | A::PresignExpired) => {
                AwsError::new(400, "RequestExpired", "Request has expired.")
            }
            Failure::Signature(e) => AwsError::new(401, "AuthFailure", e.to_string()),
            Failure::WrongScope(m) => AwsError::new(401, "AuthFailure", m.clone()),
        },
        Protocol::Json10 | Protocol::Json11 => match failure {
            Failure::UnknownKey => AwsError::new(400, "UnrecognizedClientException", INVALID_TOKEN),
            Failure::WrongScope(m) => AwsError::new(400, "InvalidSignatureException", m.clone()),
            Failure::Signature(A::Missing) => AwsError::new(400, "MissingAuthenticationTokenException", MISSING),
            Failure::Signature(e @ (A::Incomplete(_) | A::UnsupportedAlgorithm(_))) => {
                AwsError::new(400, "IncompleteSignatureException", e.to_string())
            }
            Failure::Signature(e) => AwsError::new(400, "InvalidSignatureException", e.to_string()),
        },
    }
}

/// Everything authentication needs to look keys up.
pub struct Authenticator<'a> {
    pub root: &'a RootCredentials,
    pub account: &'a str,
    pub iam: &'a Iam,
    pub keys: &'a sigv4::SigningKeyCache,
}

/// A verified caller and the region its signature names.
pub struct Authenticated {
    pub principal: Principal,
    pub region: String,
}

impl Authenticator<'_> {
    /// Verify `req` as a call to `def`.
    ///
    /// # Errors
    /// The reason authentication failed.
    pub fn authenticate(&self, req: &sigv4::Request, def: &ServiceDef, now: OffsetDateTime) -> Result<Authenticated, Failure> {
        let parsed = sigv4::parse(req).map_err(Failure::Signature)?;
        if !base::is_region(&parsed.region) {
            return Err(Failure::WrongScope("Credential should be scoped to a valid region. ".to_owned()));
        }
        if parsed.service != def.signing_name {
            return Err(Failure::WrongScope(format!(
                "Credential should be scoped to correct service: '{}'. ",
                def.signing_name
            )));
        }
        let (secret, principal) = if sigv4::constant_time_eq(parsed.access_key_id.as_bytes(), self.root.access_key_id.as_bytes()) {
            (self.root.secret_access_key.clone(), Principal::Root { account: self.account.to_owned() })
        } else {
            let owner = self.iam.key_owner(&parsed.access_key_id).ok_or(Failure::UnknownKey)?;
            if owner.status != KeyStatus::Active {
                return Err(Failure::UnknownKey);
            }
            (owner.secret, Principal::User { account: self.account.to_owned(), user: owner.user })
        };
        // Long-term keys carry no session token; a token with one names a
        // session that does not exist.
        if parsed.security_token.is_some() {
            return Err(Failure::UnknownKey);
        }
        sigv4::verify_with_cache(req, &parsed, &secret, now, self.keys).map_err(Failure::Signature)?;
        Ok(Authenticated { principal, region: parsed.region })
    }
}

/// What a request asks to do, for authorization.
pub struct Action {
    /// `iam:CreateUser`, `sts:GetCallerIdentity`, ...
    pub name: String,
    pub resource: String,
}

/// Authorize `principal` for `action`.
///
/// The account root may do anything. Until identity policies are enforced,
/// other principals may only learn who they are: `sts:GetCallerIdentity`
/// and `iam:GetUser` on themselves.
///
/// # Errors
/// `AccessDenied` (query protocols) / `AccessDeniedException` (JSON) with
/// AWS's text.
pub fn authorize(principal: &Principal, action: &Action, protocol: Protocol) -> Result<(), AwsError> {
    let allowed = match principal {
        Principal::Root { .. } => true,
        Principal::User { user, .. } => {
            action.name == "sts:GetCallerIdentity" || (action.name == "iam:GetUser" && action.resource == user.arn)
        }
    };
    if allowed {
        return Ok(());
    }
    let message = format!(
        "User: {} is not authorized to perform: {} on resource: {} because no identity-based policy allows the {} action",
        principal.arn(),
        action.name,
        action.resource,
        action.name
    );
    Err(match protocol {
        Protocol::Query => AwsError::new(403, "AccessDenied", message),
        Protocol::Ec2 => AwsError::new(403, "UnauthorizedOperation", message),
        Protocol::Json10 | Protocol::Json11 => AwsError::new(400, "AccessDeniedException", message),
    })
}
