//! Principals: the caller of a request ([`Principal`], [`PrincipalKind`]), and whether the
//! `Principal` / `NotPrincipal` element of a resource-based statement names it, and how
//! directly ([`principal_matches`]).

use crate::model::{PrincipalElement, PrincipalType, PrincipalValue};
use crate::parse::is_account_id;

/// What kind of caller a [`Principal`] is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    /// The account root user (`arn:aws:iam::ACCT:root`).
    Root,
    /// An IAM user.
    User,
    /// An assumed-role session (`arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`).
    AssumedRole,
    /// A federated-user session from `GetFederationToken`
    /// (`arn:aws:sts::ACCT:federated-user/NAME`).
    FederatedUser,
    /// An AWS service principal such as `dax.amazonaws.com`.
    Service(String),
    /// A web-identity or SAML provider (matches `{"Federated": ...}` in trust
    /// policies), e.g. `cognito-identity.amazonaws.com` or a provider ARN.
    WebIdentity(String),
    /// An unauthenticated caller (matches only `*`).
    Anonymous,
    /// A caller of the account that nobody named: `SimulateCustomPolicy`
    /// without a `CallerArn`. No condition key is derived from it (AWS lists
    /// such keys as missing context values instead of inventing them).
    Unnamed,
}

/// The caller of a request.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Principal {
    /// The caller's ARN (session ARN for role sessions). Service, web-identity
    /// and anonymous principals use their name / `anonymous`.
    pub arn: String,
    /// The caller's 12-digit account id; empty for service and anonymous principals.
    pub account: String,
    pub kind: PrincipalKind,
    /// For [`PrincipalKind::AssumedRole`]: the role's ARN (with its path). For
    /// [`PrincipalKind::FederatedUser`]: the ARN of the IAM user that called
    /// `GetFederationToken`. When `None` for a role session, the role ARN is
    /// derived from the session ARN (without a path).
    pub issuer_arn: Option<String>,
}

impl Principal {
    /// The root user of `account`.
    pub fn root(account: &str) -> Principal {
        Principal {
            arn: format!("arn:aws:iam::{account}:root"),
            account: account.to_string(),
            kind: PrincipalKind::Root,
            issuer_arn: None,
        }
    }

    /// An IAM user, from its ARN.
    pub fn user(arn: &str) -> Principal {
        Principal { arn: arn.to_string(), account: arn_account(arn), kind: PrincipalKind::User, issuer_arn: None }
    }

    /// A role session, from the session ARN and (optionally) the role ARN.
    pub fn assumed_role(session_arn: &str, role_arn: Option<&str>) -> Principal {
        Principal {
            arn: session_arn.to_string(),
            account: arn_account(session_arn),
            kind: PrincipalKind::AssumedRole,
            issuer_arn: role_arn.map(str::to_string),
        }
    }

    /// A federated-user session, from its ARN and (optionally) the IAM user
    /// that created it.
    pub fn federated_user(arn: &str, user_arn: Option<&str>) -> Principal {
        Principal {
            arn: arn.to_string(),
            account: arn_account(arn),
            kind: PrincipalKind::FederatedUser,
            issuer_arn: user_arn.map(str::to_string),
        }
    }

    /// A service principal such as `dax.amazonaws.com`.
    pub fn service(name: &str) -> Principal {
        Principal {
            arn: name.to_string(),
            account: String::new(),
            kind: PrincipalKind::Service(name.to_string()),
            issuer_arn: None,
        }
    }

    /// A web-identity / SAML provider principal.
    pub fn web_identity(provider: &str) -> Principal {
        Principal {
            arn: provider.to_string(),
            account: String::new(),
            kind: PrincipalKind::WebIdentity(provider.to_string()),
            issuer_arn: None,
        }
    }

    /// The anonymous caller.
    pub fn anonymous() -> Principal {
        Principal {
            arn: "anonymous".to_string(),
            account: String::new(),
            kind: PrincipalKind::Anonymous,
            issuer_arn: None,
        }
    }

    /// Classifies an IAM or STS ARN (`…:root`, `…:user/…`,
    /// `…:assumed-role/…`, `…:federated-user/…`). Anything else is treated as
    /// a user-like principal with that ARN.
    pub fn from_arn(arn: &str) -> Principal {
        let resource = arn.splitn(6, ':').nth(5).unwrap_or("");
        if resource == "root" {
            let mut p = Principal::root(&arn_account(arn));
            p.arn = arn.to_string();
            p
        } else if resource.starts_with("assumed-role/") {
            Principal::assumed_role(arn, None)
        } else if resource.starts_with("federated-user/") {
            Principal::federated_user(arn, None)
        } else {
            Principal::user(arn)
        }
    }

    /// For a role session: the role ARN (`issuer_arn`, or derived from the
    /// session ARN without a path). For a federated user: the IAM user ARN if known.
    pub fn role_or_issuer_arn(&self) -> Option<String> {
        if let Some(a) = &self.issuer_arn {
            return Some(a.clone());
        }
        if self.kind != PrincipalKind::AssumedRole {
            return None;
        }
        let parts: Vec<&str> = self.arn.splitn(6, ':').collect();
        if parts.len() != 6 {
            return None;
        }
        let role = parts[5].strip_prefix("assumed-role/")?.split('/').next()?;
        Some(format!("{}:{}:iam::{}:role/{}", parts[0], parts[1], parts[4], role))
    }

    /// The friendly name AWS puts in `aws:username` (IAM users only).
    pub(crate) fn user_name(&self) -> Option<&str> {
        if self.kind != PrincipalKind::User {
            return None;
        }
        self.arn.splitn(6, ':').nth(5)?.rsplit('/').next()
    }
}

/// The account field of an ARN ("" when absent).
fn arn_account(arn: &str) -> String {
    arn.split(':').nth(4).unwrap_or("").to_string()
}

/// How directly a resource-based statement names the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Grant {
    /// The caller's account (account id or `:root` ARN): delegation.
    Account,
    /// The role of a role session / the IAM user behind a federated user.
    Issuer,
    /// The caller itself (or `*`).
    Direct,
}

/// Whether a `Principal` / `NotPrincipal` element applies to `principal`.
///
/// `Principal`: true when any entry names the caller: `*`; the caller's ARN;
/// its account (`123456789012` or `arn:aws:iam::123456789012:root`); for a role
/// session also the role ARN; a `Service` entry equal to a service principal's
/// name; a `Federated` entry equal to a web-identity provider.
///
/// `NotPrincipal`: true unless the caller is fully excluded, which (as AWS
/// documents) requires listing every identity it carries: the user or session
/// ARN, the role ARN for a role session, and the account.
pub fn principal_matches(element: &PrincipalElement, principal: &Principal) -> bool {
    grant_for(element, principal).is_some()
}

pub(crate) fn grant_for(element: &PrincipalElement, principal: &Principal) -> Option<Grant> {
    if !element.negated {
        return match &element.value {
            PrincipalValue::Wildcard => Some(Grant::Direct),
            PrincipalValue::Map(entries) => entries
                .iter()
                .flat_map(|e| e.values.iter().map(move |v| entry_grant(e.kind, v, principal)))
                .flatten()
                .max(),
        };
    }
    let listed = |pred: &dyn Fn(Grant) -> bool| -> bool {
        match &element.value {
            PrincipalValue::Wildcard => true,
            PrincipalValue::Map(entries) => {
                entries.iter().any(|e| e.values.iter().any(|v| entry_grant(e.kind, v, principal).is_some_and(pred)))
            }
        }
    };
    let excluded = match &principal.kind {
        PrincipalKind::Root
        | PrincipalKind::Service(_)
        | PrincipalKind::WebIdentity(_)
        | PrincipalKind::Anonymous
        | PrincipalKind::Unnamed => listed(&|_| true),
        PrincipalKind::User => listed(&|g| g == Grant::Direct) && listed(&|g| g == Grant::Account),
        PrincipalKind::AssumedRole | PrincipalKind::FederatedUser => {
            let issuer_ok = principal.role_or_issuer_arn().is_none() || listed(&|g| g == Grant::Issuer);
            listed(&|g| g == Grant::Direct) && issuer_ok && listed(&|g| g == Grant::Account)
        }
    };
    if excluded {
        None
    } else {
        Some(Grant::Direct)
    }
}

fn entry_grant(kind: PrincipalType, value: &str, principal: &Principal) -> Option<Grant> {
    if value == "*" {
        return Some(Grant::Direct);
    }
    match kind {
        PrincipalType::Aws => {
            if let Some(acct) = account_of_principal_value(value) {
                if principal.account.is_empty() || acct != principal.account {
                    return None;
                }
                return Some(if principal.kind == PrincipalKind::Root { Grant::Direct } else { Grant::Account });
            }
            if matches!(
                principal.kind,
                PrincipalKind::Service(_)
                    | PrincipalKind::WebIdentity(_)
                    | PrincipalKind::Anonymous
                    | PrincipalKind::Unnamed
            ) {
                return None;
            }
            if value == principal.arn {
                return Some(Grant::Direct);
            }
            if principal.role_or_issuer_arn().as_deref() == Some(value) {
                return Some(Grant::Issuer);
            }
            None
        }
        PrincipalType::Service => match &principal.kind {
            PrincipalKind::Service(name) if name.eq_ignore_ascii_case(value) => Some(Grant::Direct),
            _ => None,
        },
        PrincipalType::Federated => match &principal.kind {
            PrincipalKind::WebIdentity(p) if p == value => Some(Grant::Direct),
            _ => None,
        },
        PrincipalType::CanonicalUser => None,
    }
}

/// `123456789012` or `arn:PARTITION:iam::123456789012:root` → the account id.
fn account_of_principal_value(value: &str) -> Option<&str> {
    if is_account_id(value) {
        return Some(value);
    }
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    if parts.len() == 6 && parts[0] == "arn" && parts[2] == "iam" && parts[5] == "root" && is_account_id(parts[4]) {
        return Some(parts[4]);
    }
    None
}
