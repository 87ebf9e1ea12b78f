//! Authentication (SigV4 against the account's credentials: the root keys,
//! IAM users' access keys and STS session keys) and authorization of the
//! resulting caller by IAM's policy engine.

use std::net::IpAddr;

use iam::{Caller, Iam, KeyStatus};
use policy::Context;
use time::OffsetDateTime;
use wire::{AwsError, Protocol};

use crate::api::Target;
use crate::config::RootCredentials;
use crate::services::ServiceDef;

/// Why authentication failed, before it is put in a protocol's words.
#[derive(Debug)]
pub enum Failure {
    Signature(sigv4::AuthError),
    UnknownKey,
    ExpiredToken,
    WrongScope(String),
}

/// The AWS error for an authentication failure on `protocol`.
#[must_use]
pub fn error(protocol: Protocol, failure: &Failure) -> AwsError {
    use sigv4::AuthError as A;
    const INVALID_TOKEN: &str = "The security token included in the request is invalid.";
    const EXPIRED_TOKEN: &str = "The security token included in the request is expired";
    const MISSING: &str = "Request is missing Authentication Token";
    match protocol {
        Protocol::Query => match failure {
            Failure::UnknownKey => AwsError::new(403, "InvalidClientTokenId", INVALID_TOKEN),
            Failure::ExpiredToken => AwsError::new(403, "ExpiredToken", EXPIRED_TOKEN),
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
            Failure::ExpiredToken => AwsError::new(400, "RequestExpired", "Request has expired."),
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
            Failure::ExpiredToken => AwsError::new(400, "ExpiredTokenException", EXPIRED_TOKEN),
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
    pub iam: &'a Iam,
    pub keys: &'a sigv4::SigningKeyCache,
}

/// A verified caller and the region its signature names.
pub struct Authenticated {
    pub caller: Caller,
    pub region: String,
}

impl Authenticator<'_> {
    /// Verify `req` as a call to `def`.
    ///
    /// # Errors
    /// The reason authentication failed.
    pub fn authenticate(
        &self,
        req: &sigv4::Request,
        def: &ServiceDef,
        now: OffsetDateTime,
    ) -> Result<Authenticated, Failure> {
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
        let (secret, caller) = self.credentials(&parsed, now)?;
        sigv4::verify_with_cache(req, &parsed, &secret, now, self.keys).map_err(Failure::Signature)?;
        Ok(Authenticated { caller, region: parsed.region })
    }

    /// The secret and caller behind an access key id (and session token).
    ///
    /// # Errors
    /// `UnknownKey` for unknown or inactive keys and wrong tokens, `ExpiredToken`.
    pub fn credentials(&self, parsed: &sigv4::Parsed, now: OffsetDateTime) -> Result<(String, Caller), Failure> {
        let key = parsed.access_key_id.as_str();
        if let Some(session) = self.iam.session(key) {
            let token = parsed.security_token.as_deref().ok_or(Failure::UnknownKey)?;
            if !sigv4::constant_time_eq(token.as_bytes(), session.token.as_bytes()) {
                return Err(Failure::UnknownKey);
            }
            #[allow(clippy::cast_precision_loss)]
            if session.expiration <= now.unix_timestamp() as f64 {
                return Err(Failure::ExpiredToken);
            }
            return Ok((session.secret.clone(), Caller::Session(session)));
        }
        // Long-term keys carry no session token; a token with one names a
        // session that does not exist.
        if parsed.security_token.is_some() {
            return Err(Failure::UnknownKey);
        }
        if sigv4::constant_time_eq(key.as_bytes(), self.root.access_key_id.as_bytes()) {
            return Ok((self.root.secret_access_key.clone(), Caller::Root));
        }
        let owner = self.iam.key_owner(key).ok_or(Failure::UnknownKey)?;
        if owner.status != KeyStatus::Active {
            return Err(Failure::UnknownKey);
        }
        Ok((owner.secret, Caller::User(owner.user)))
    }
}

/// Facts about the request that global condition keys expose.
pub struct RequestFacts<'a> {
    pub region: &'a str,
    pub source_ip: Option<IpAddr>,
    pub secure: bool,
    pub now: OffsetDateTime,
}

/// The global condition keys of a request by `caller`.
#[must_use]
pub fn context(iam: &Iam, caller: &Caller, facts: &RequestFacts, target: &Target) -> Context {
    let who = iam.identity(caller);
    let mut ctx = Context::new();
    ctx.set(
        "aws:PrincipalArn",
        match caller {
            Caller::Session(_) => who.entity_arn.clone(),
            _ => who.arn.clone(),
        },
    );
    ctx.set("aws:PrincipalAccount", who.account.clone());
    ctx.set("aws:PrincipalType", who.principal_type);
    ctx.set("aws:userid", who.user_id.clone());
    if let Some(name) = &who.user_name {
        ctx.set("aws:username", name.clone());
    }
    for t in &who.tags {
        ctx.set(&format!("aws:PrincipalTag/{}", t.key), t.value.clone());
    }
    if let Some(id) = &who.source_identity {
        ctx.set("aws:SourceIdentity", id.clone());
    }
    if let Some(ip) = facts.source_ip {
        ctx.set_ip("aws:SourceIp", ip);
    }
    ctx.set_date("aws:CurrentTime", facts.now);
    #[allow(clippy::cast_precision_loss)]
    ctx.set_number("aws:EpochTime", facts.now.unix_timestamp() as f64);
    ctx.set_bool("aws:SecureTransport", facts.secure);
    ctx.set("aws:RequestedRegion", facts.region.to_owned());
    ctx.set_bool("aws:ViaAWSService", false);
    if matches!(caller, Caller::Session(_)) {
        ctx.set_bool("aws:MultiFactorAuthPresent", false);
    }
    for (k, v) in &target.context {
        ctx.push(k, v.clone());
    }
    if !target.tag_keys.is_empty() {
        ctx.set_multi("aws:TagKeys", target.tag_keys.clone());
    }
    ctx
}

/// The AWS error for a denied request, in `protocol`'s words.
#[must_use]
pub fn denied(protocol: Protocol, message: String) -> AwsError {
    match protocol {
        Protocol::Query => AwsError::new(403, "AccessDenied", message),
        Protocol::Ec2 => AwsError::new(403, "UnauthorizedOperation", message),
        Protocol::Json10 | Protocol::Json11 => AwsError::new(400, "AccessDeniedException", message),
    }
}

/// [`authorize`] for a call to `def` that came in over `protocol`. A
/// query-compatible service (CloudWatch) denies in the words of the request's
/// protocol: `AccessDenied` (403, an XML `ErrorResponse`) on Query, and
/// `AccessDeniedException` with the Query protocol's 403 on JSON and CBOR (the
/// status a query-compatible service keeps from its Query protocol).
///
/// # Errors
/// The protocol's access-denied error with AWS's text.
pub fn authorize_in(
    iam: &Iam,
    caller: &Caller,
    target: &Target,
    ctx: &Context,
    def: &ServiceDef,
    protocol: Protocol,
) -> Result<(), AwsError> {
    authorize(iam, caller, target, ctx, protocol).map_err(|mut e| {
        if def.query_compatible && protocol.is_json() {
            e.status = 403;
        }
        e
    })
}

/// Authorize `caller` for `target` with IAM's policy engine.
///
/// # Errors
/// The protocol's access-denied error with AWS's text.
pub fn authorize(
    iam: &Iam,
    caller: &Caller,
    target: &Target,
    ctx: &Context,
    protocol: Protocol,
) -> Result<(), AwsError> {
    let resource_policies: Vec<&str> = target.resource_policies.iter().map(String::as_str).collect();
    let outcome = iam.authorize(caller, &target.action, &target.resource, ctx, &resource_policies);
    if outcome.is_allowed() {
        return Ok(());
    }
    let who = iam.identity(caller);
    Err(denied(protocol, policy::denial_message(&who.arn, &target.action, &target.resource, &outcome)))
}
