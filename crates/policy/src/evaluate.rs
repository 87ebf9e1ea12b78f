//! Policy evaluation: identity-based, resource-based, permissions boundary and
//! session policies, following the IAM User Guide's "Policy evaluation logic"
//! and "Cross-account policy evaluation logic".
//!
//! Order of reasoning:
//!
//! 1. An applicable `Deny` in any policy is final (explicit deny).
//! 2. Same account:
//!    * a resource-based `Allow` that names the caller itself (user ARN,
//!      role-session ARN, federated-user ARN, service principal, or `*`) allows,
//!      whatever the identity policies, boundary or session policies say;
//!    * a resource-based `Allow` that names the role of a role session (or the
//!      IAM user behind a federated-user session) allows if the permissions
//!      boundary and session policies (when present) allow too;
//!    * a resource-based `Allow` that names the account delegates to the
//!      account's identity policies and adds nothing by itself;
//!    * otherwise an identity-based `Allow` is needed, capped by the boundary
//!      and the session policies when present.
//! 3. Cross account (the resource's account differs from the caller's): the
//!    identity side (identity ∧ boundary ∧ session) **and** a resource-based
//!    `Allow` for the caller (any of the forms above) are both needed.
//! 4. Role trust policies ([`TRUST_POLICY_ACTIONS`]: `sts:AssumeRole`, …) are
//!    the documented exception: the trust policy (passed as the resource-based
//!    policy) must allow the caller even in the same account. If it names the
//!    caller itself, nothing else is needed; if it names the account, the
//!    caller's identity policies must allow the action too.
//!
//! Organizations SCPs/RCPs are outside this crate. The account root user
//! ([`PrincipalKind::Root`]) is treated as AWS documents it: its identity side
//! is always allowed (no IAM policy can be attached to or limit it), so within
//! its account only an explicit `Deny` in a resource-based policy stops it, and
//! across accounts it still needs the other account's resource-based policy.
//! Callers may also short-circuit root before calling [`evaluate`].

use serde::Serialize;

use crate::condition::{self, KeySource};
use crate::context::{Context, ContextValue};
use crate::matcher;
use crate::model::*;
use crate::principal::{grant_for, Grant};
pub use crate::principal::{principal_matches, Principal, PrincipalKind};
use crate::variables;

/// One authorization question.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    pub principal: &'a Principal,
    /// `service:Action`, matched case-insensitively.
    pub action: &'a str,
    /// The resource ARN, or `*` for actions without resource-level permissions.
    pub resource: &'a str,
    /// Condition keys.
    pub context: &'a Context,
    /// The account owning the resource. `None`: the account field of
    /// `resource` (an empty field, as in S3 bucket ARNs, `*`, or `aws` of
    /// AWS-managed policies means "the caller's account").
    pub resource_account: Option<&'a str>,
}

impl<'a> Request<'a> {
    pub fn new(principal: &'a Principal, action: &'a str, resource: &'a str, context: &'a Context) -> Self {
        Request { principal, action, resource, context, resource_account: None }
    }

    /// Sets the resource-owning account explicitly.
    pub fn with_resource_account(mut self, account: &'a str) -> Self {
        self.resource_account = Some(account);
        self
    }

    fn owning_account(&self) -> Option<&'a str> {
        let acct = match self.resource_account {
            Some(a) => a,
            None => {
                let parts: Vec<&'a str> = self.resource.splitn(6, ':').collect();
                if parts.len() != 6 {
                    return None;
                }
                parts[4]
            }
        };
        // `aws` owns the AWS-managed policies (`arn:aws:iam::aws:policy/...`),
        // which every account reads with its own identity policies.
        if acct.is_empty() || acct == "*" || acct == "aws" {
            None
        } else {
            Some(acct)
        }
    }

    fn is_cross_account(&self) -> bool {
        let mine = self.principal.account.as_str();
        !mine.is_empty() && self.owning_account().is_some_and(|a| a != mine)
    }
}

/// The policies that apply to a request. `PolicySet::default()` is empty.
#[derive(Clone, Copy, Debug, Default)]
pub struct PolicySet<'a> {
    /// Identity-based policies of the caller (inline, managed, group).
    pub identity: &'a [&'a Policy],
    /// Resource-based policies of the target (trust policy, table policy, …).
    pub resource: &'a [&'a Policy],
    /// The permissions boundary (`None`: the entity has none). `Some(&[])`
    /// is a boundary that allows nothing.
    pub boundary: Option<&'a [&'a Policy]>,
    /// Session policies (`None`: not a session with session policies).
    /// `Some(&[])` allows nothing.
    pub session: Option<&'a [&'a Policy]>,
}

impl<'a> PolicySet<'a> {
    /// Only identity-based policies.
    pub fn identity(identity: &'a [&'a Policy]) -> Self {
        PolicySet { identity, resource: &[], boundary: None, session: None }
    }
}

/// The final decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Decision {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

/// The type of a policy in a [`PolicySet`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum PolicyKind {
    Identity,
    Resource,
    Boundary,
    Session,
}

impl PolicyKind {
    /// The phrase AWS uses in denial messages.
    pub fn phrase(self) -> &'static str {
        match self {
            PolicyKind::Identity => "an identity-based policy",
            PolicyKind::Resource => "a resource-based policy",
            PolicyKind::Boundary => "a permissions boundary",
            PolicyKind::Session => "a session policy",
        }
    }
}

/// Why a request was denied (or [`DenyReason::None`] when allowed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum DenyReason {
    /// The request was allowed.
    None,
    /// A `Deny` statement of this policy type applied.
    ExplicitDeny(PolicyKind),
    /// No identity-based policy allows the action.
    NoIdentityAllow,
    /// Cross-account: no resource-based policy allows the action for the caller.
    NoResourceAllow,
    /// The permissions boundary does not allow the action.
    NoBoundaryAllow,
    /// The session policies do not allow the action.
    NoSessionAllow,
}

/// A statement that applied to the request (action, resource, principal and
/// conditions all matched).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MatchedStatement {
    pub kind: PolicyKind,
    /// Index of the policy in its [`PolicySet`] slice.
    pub policy_index: usize,
    /// Index of the statement in the policy.
    pub statement_index: usize,
    pub sid: Option<String>,
    pub effect: Effect,
}

/// The result of [`evaluate`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub decision: Decision,
    pub reason: DenyReason,
    /// Every statement that applied, in evaluation order.
    pub matched: Vec<MatchedStatement>,
}

impl Outcome {
    pub fn is_allowed(&self) -> bool {
        self.decision == Decision::Allow
    }

    /// The tail AWS appends to "… is not authorized to perform: X on resource: Y":
    /// `because no identity-based policy allows the X action`,
    /// `with an explicit deny in a resource-based policy`, …
    /// Empty when the request was allowed.
    pub fn denial_tail(&self, action: &str) -> String {
        match self.reason {
            DenyReason::None => String::new(),
            DenyReason::ExplicitDeny(kind) => format!("with an explicit deny in {}", kind.phrase()),
            DenyReason::NoIdentityAllow => {
                format!("because no identity-based policy allows the {action} action")
            }
            DenyReason::NoResourceAllow => {
                format!("because no resource-based policy allows the {action} action")
            }
            DenyReason::NoBoundaryAllow => {
                format!("because no permissions boundary allows the {action} action")
            }
            DenyReason::NoSessionAllow => {
                format!("because no session policy allows the {action} action")
            }
        }
    }
}

/// AWS's access-denied message:
/// `User: ARN is not authorized to perform: ACTION on resource: RESOURCE because …`.
pub fn denial_message(principal_arn: &str, action: &str, resource: &str, outcome: &Outcome) -> String {
    let tail = outcome.denial_tail(action);
    let mut msg = format!("User: {principal_arn} is not authorized to perform: {action} on resource: {resource}");
    if !tail.is_empty() {
        msg.push(' ');
        msg.push_str(&tail);
    }
    msg
}

/// The request context plus keys AWS derives from the principal
/// (`aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:PrincipalType`,
/// `aws:username`, `aws:userid` for root, `aws:PrincipalServiceName`) when
/// the caller did not set them.
struct EvalContext<'a> {
    context: &'a Context,
    derived: Vec<(&'static str, Vec<ContextValue>)>,
}

impl<'a> EvalContext<'a> {
    fn new(req: &Request<'a>) -> Self {
        let p = req.principal;
        let mut derived: Vec<(&'static str, Vec<ContextValue>)> = Vec::new();
        let text = |s: &str| vec![ContextValue::String(s.to_string())];
        let principal_arn = match p.kind {
            PrincipalKind::AssumedRole => p.role_or_issuer_arn(),
            PrincipalKind::Root | PrincipalKind::User | PrincipalKind::FederatedUser => Some(p.arn.clone()),
            _ => None,
        };
        if let Some(a) = principal_arn {
            derived.push(("aws:principalarn", text(&a)));
        }
        if !p.account.is_empty() {
            derived.push(("aws:principalaccount", text(&p.account)));
        }
        let ptype = match p.kind {
            PrincipalKind::Root => Some("Account"),
            PrincipalKind::User => Some("User"),
            PrincipalKind::AssumedRole => Some("AssumedRole"),
            PrincipalKind::FederatedUser => Some("FederatedUser"),
            PrincipalKind::Anonymous => Some("Anonymous"),
            _ => None,
        };
        if let Some(t) = ptype {
            derived.push(("aws:principaltype", text(t)));
        }
        if let Some(name) = p.user_name() {
            derived.push(("aws:username", text(name)));
        }
        if p.kind == PrincipalKind::Root && !p.account.is_empty() {
            derived.push(("aws:userid", text(&p.account)));
        }
        if let PrincipalKind::Service(name) = &p.kind {
            derived.push(("aws:principalservicename", text(name)));
        }
        EvalContext { context: req.context, derived }
    }
}

impl KeySource for EvalContext<'_> {
    fn values(&self, key_lc: &str) -> Option<&[ContextValue]> {
        if let Some(v) = self.context.get(key_lc) {
            return Some(v);
        }
        self.derived.iter().find(|(k, _)| *k == key_lc).map(|(_, v)| v.as_slice())
    }
}

/// Whether a statement applies; for resource-based policies also how directly
/// it names the caller.
fn statement_applies(st: &Statement, vars: bool, req: &Request, src: &EvalContext, kind: PolicyKind) -> Option<Grant> {
    let grant = statement_targets(st, vars, req, src, kind)?;
    if st.conditions.iter().all(|c| condition::evaluate_condition(c, vars, src)) {
        Some(grant)
    } else {
        None
    }
}

/// Whether a statement's `Action`, `Resource` and (in resource-based policies)
/// `Principal` elements take in the request, before its conditions are tested.
fn statement_targets(st: &Statement, vars: bool, req: &Request, src: &EvalContext, kind: PolicyKind) -> Option<Grant> {
    let action = matcher::prepare_action(req.action);
    let action_hit = st.action.patterns().iter().any(|p| matcher::prepared_action_matches(p, &action));
    match &st.action {
        ActionElement::Action(_) if !action_hit => return None,
        ActionElement::NotAction(_) if action_hit => return None,
        _ => {}
    }

    let lookup = |k: &str| match src.values(&k.to_lowercase()) {
        Some([v]) => Some(v.to_text()),
        _ => None,
    };
    // Each entry on its own: an entry whose variable has no value matches no
    // resource ("Policy variables with no value"), and the other entries still
    // count. So in `NotResource` such an entry excludes nothing.
    let entry_matches = |p: &String| {
        variables::expand_resource(p, vars, &lookup).is_some_and(|toks| matcher::arn_tokens_match(&toks, req.resource))
    };
    let takes_in = match &st.resource {
        None => true,
        Some(ResourceElement::Resource(list)) => list.iter().any(entry_matches),
        Some(ResourceElement::NotResource(list)) => !list.iter().any(entry_matches),
    };
    if !takes_in {
        return None;
    }

    if kind == PolicyKind::Resource {
        grant_for(st.principal.as_ref()?, req.principal)
    } else {
        Some(Grant::Direct)
    }
}

/// The condition keys tested by the statements that take in the request (action,
/// resource and, in resource-based policies, principal matched) that neither the
/// request's context nor the principal supplies: the simulator's
/// `MissingContextValues`. Each key once (keys compare case-insensitively), as first
/// written, sorted.
///
/// Whether a statement takes in the request is decided exactly as in [`evaluate`]:
/// a `Resource` / `NotResource` entry whose policy variable has no value matches no
/// resource, so a `NotResource` of such entries takes the request in and its
/// condition keys are listed, while a `Resource` of only such entries does not.
/// Keys named only inside `${...}` variables are not listed (only condition keys).
pub fn missing_context_keys(req: &Request, policies: &PolicySet) -> Vec<String> {
    let src = EvalContext::new(req);
    let slots = [
        (Some(policies.identity), PolicyKind::Identity),
        (Some(policies.resource), PolicyKind::Resource),
        (policies.boundary, PolicyKind::Boundary),
        (policies.session, PolicyKind::Session),
    ];
    let mut missing: Vec<String> = Vec::new();
    for (list, kind) in slots {
        for policy in list.unwrap_or_default() {
            let vars = policy.supports_variables();
            for st in &policy.statements {
                if st.conditions.is_empty() || statement_targets(st, vars, req, &src, kind).is_none() {
                    continue;
                }
                for c in &st.conditions {
                    let key = c.key.to_lowercase();
                    let absent = src.values(&key).is_none_or(<[ContextValue]>::is_empty);
                    if absent && !missing.iter().any(|m| m.to_lowercase() == key) {
                        missing.push(c.key.clone());
                    }
                }
            }
        }
    }
    missing.sort_by_key(|k| k.to_lowercase());
    missing
}

#[derive(Default)]
struct Scan {
    allow: Option<Grant>,
    deny: bool,
}

fn scan(
    policies: &[&Policy],
    kind: PolicyKind,
    req: &Request,
    src: &EvalContext,
    matched: &mut Vec<MatchedStatement>,
) -> Scan {
    let mut out = Scan::default();
    for (pi, policy) in policies.iter().enumerate() {
        let vars = policy.supports_variables();
        for (si, st) in policy.statements.iter().enumerate() {
            let Some(grant) = statement_applies(st, vars, req, src, kind) else {
                continue;
            };
            matched.push(MatchedStatement {
                kind,
                policy_index: pi,
                statement_index: si,
                sid: st.sid.clone(),
                effect: st.effect,
            });
            match st.effect {
                Effect::Deny => out.deny = true,
                Effect::Allow => out.allow = out.allow.max(Some(grant)),
            }
        }
    }
    out
}

/// Evaluates a request against a set of policies.
pub fn evaluate(req: &Request, policies: &PolicySet) -> Outcome {
    let src = EvalContext::new(req);
    let mut matched = Vec::new();
    let identity = scan(policies.identity, PolicyKind::Identity, req, &src, &mut matched);
    let resource = scan(policies.resource, PolicyKind::Resource, req, &src, &mut matched);
    let boundary = policies.boundary.map(|b| scan(b, PolicyKind::Boundary, req, &src, &mut matched));
    let session = policies.session.map(|s| scan(s, PolicyKind::Session, req, &src, &mut matched));

    let explicit = [
        (identity.deny, PolicyKind::Identity),
        (resource.deny, PolicyKind::Resource),
        (boundary.as_ref().is_some_and(|b| b.deny), PolicyKind::Boundary),
        (session.as_ref().is_some_and(|s| s.deny), PolicyKind::Session),
    ];
    if let Some((_, kind)) = explicit.iter().find(|(d, _)| *d) {
        return Outcome { decision: Decision::ExplicitDeny, reason: DenyReason::ExplicitDeny(*kind), matched };
    }

    // The account root user has every identity-side permission (IAM policies
    // cannot be attached to it); resource-based policies still apply to it.
    let is_root = req.principal.kind == PrincipalKind::Root;
    let identity_ok = is_root || identity.allow.is_some();
    let boundary_ok = is_root || boundary.as_ref().is_none_or(|b| b.allow.is_some());
    let session_ok = is_root || session.as_ref().is_none_or(|s| s.allow.is_some());

    let reason = if is_trust_action(req.action) && !req.is_cross_account() {
        // Role trust policies are an exception to "identity OR resource": the
        // trust policy must allow the caller; naming the account delegates to
        // the caller's identity policies as well.
        match resource.allow {
            None => DenyReason::NoResourceAllow,
            Some(Grant::Direct) => DenyReason::None,
            Some(grant) => {
                if grant == Grant::Account && !identity_ok {
                    DenyReason::NoIdentityAllow
                } else if !boundary_ok {
                    DenyReason::NoBoundaryAllow
                } else if !session_ok {
                    DenyReason::NoSessionAllow
                } else {
                    DenyReason::None
                }
            }
        }
    } else if !req.is_cross_account() {
        let direct = resource.allow == Some(Grant::Direct);
        let via_issuer = resource.allow == Some(Grant::Issuer) && boundary_ok && session_ok;
        let via_identity = identity_ok && boundary_ok && session_ok;
        if direct || via_issuer || via_identity {
            DenyReason::None
        } else if identity_ok || resource.allow == Some(Grant::Issuer) {
            if !boundary_ok {
                DenyReason::NoBoundaryAllow
            } else {
                DenyReason::NoSessionAllow
            }
        } else {
            DenyReason::NoIdentityAllow
        }
    } else if !identity_ok {
        DenyReason::NoIdentityAllow
    } else if !boundary_ok {
        DenyReason::NoBoundaryAllow
    } else if !session_ok {
        DenyReason::NoSessionAllow
    } else if resource.allow.is_none() {
        DenyReason::NoResourceAllow
    } else {
        DenyReason::None
    };
    let decision = if reason == DenyReason::None { Decision::Allow } else { Decision::ImplicitDeny };
    Outcome { decision, reason, matched }
}

/// The STS actions authorized by a role's trust policy. For these, the
/// resource-based policies of the [`PolicySet`] are the role's trust policy,
/// and it must allow the caller even within one account.
pub const TRUST_POLICY_ACTIONS: &[&str] = &[
    "sts:AssumeRole",
    "sts:AssumeRoleWithSAML",
    "sts:AssumeRoleWithWebIdentity",
    "sts:TagSession",
    "sts:SetSourceIdentity",
    "sts:SetContext",
];

fn is_trust_action(action: &str) -> bool {
    TRUST_POLICY_ACTIONS.iter().any(|a| a.eq_ignore_ascii_case(action))
}

/// Shorthand for `evaluate(req, policies).is_allowed()`.
pub fn is_allowed(req: &Request, policies: &PolicySet) -> bool {
    evaluate(req, policies).is_allowed()
}
