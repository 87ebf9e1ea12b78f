//! # policy: the IAM policy language, sans IO
//!
//! This crate parses, validates and evaluates AWS IAM JSON policy documents for
//! daxd's IAM / STS / DAX / DynamoDB emulation.
//!
//! **What it is**
//!
//! * A parser and grammar validator for identity-based policies ([`parse()`],
//!   [`parse_managed`]), resource-based policies ([`parse_resource_policy`]) and
//!   role trust policies ([`parse_trust_policy`]) that rejects documents with
//!   the messages IAM returns in `MalformedPolicyDocument`
//!   ([`MalformedPolicy`]), plus the document size quotas
//!   ([`MAX_MANAGED_POLICY_SIZE`], …, [`policy_size`]).
//! * An evaluator ([`evaluate()`]) implementing AWS's documented evaluation
//!   logic for identity-based, resource-based, permissions-boundary and
//!   session policies, same-account and cross-account; every condition
//!   operator (with `...IfExists` and `ForAnyValue:` / `ForAllValues:`),
//!   `NotAction` / `NotResource` / `NotPrincipal`, wildcards, and policy
//!   variables (`${aws:username}`, `${key, 'default'}`, `${*}` …).
//! * AWS's access-denied wording ([`denial_message`], [`Outcome::denial_tail`]).
//!
//! **What it is not**
//!
//! * Not IO and not async: no storage, no clock, no network. The caller builds
//!   the request [`Context`] (including `aws:CurrentTime`, `aws:SourceIp`, …)
//!   and gathers the policies that apply.
//! * Not an identity store: it does not check that principals named in a
//!   policy exist, resolve groups, or look up which policies are attached.
//! * Not a service catalogue: it does not know which actions, resource types or
//!   condition keys a service defines, and does not validate them.
//! * No Organizations SCPs / RCPs, and no KMS-style "key policy must allow"
//!   exception beyond the one role trust policies need.
//!
//! Everything is synchronous and total: no function panics on any input.
//!
//! ```
//! use policy::{evaluate, parse, Context, Decision, PolicySet, Principal, Request};
//!
//! let p = parse(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow",
//!     "Action":"dax:*","Resource":"*"}}"#).unwrap();
//! let bob = Principal::user("arn:aws:iam::123456789012:user/bob");
//! let ctx = Context::new();
//! let req = Request::new(&bob, "dax:DescribeClusters", "*", &ctx);
//! assert_eq!(evaluate(&req, &PolicySet::identity(&[&p])).decision, Decision::Allow);
//! ```

pub mod condition;
pub mod context;
pub mod evaluate;
pub mod matcher;
pub mod model;
pub mod parse;
pub mod principal;
pub mod variables;

pub use context::{Context, ContextValue};
pub use evaluate::{
    denial_message, evaluate, is_allowed, missing_context_keys, Decision, DenyReason, MatchedStatement, Outcome,
    PolicyKind, PolicySet, Request, TRUST_POLICY_ACTIONS,
};
pub use model::{
    ActionElement, BaseOperator, Condition, ConditionOperator, Effect, OperatorFamily, Policy, PolicyVersion,
    PrincipalElement, PrincipalEntry, PrincipalType, PrincipalValue, ResourceElement, SetQualifier, Statement,
};
pub use parse::{
    is_account_id, parse, parse_document, parse_managed, parse_resource_policy, parse_trust_policy, policy_size,
    DocumentKind, MalformedKind, MalformedPolicy, MAX_GROUP_INLINE_POLICY_SIZE, MAX_MANAGED_POLICY_SIZE,
    MAX_ROLE_INLINE_POLICY_SIZE, MAX_TRUST_POLICY_SIZE, MAX_USER_INLINE_POLICY_SIZE,
};
pub use principal::{principal_matches, Principal, PrincipalKind};
