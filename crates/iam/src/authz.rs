//! Who a caller is, which policies apply to it, and whether a request is allowed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use policy::{Context, Outcome, Policy, PolicySet};

use crate::managed::aws_catalog;
use crate::principal::{Caller, SessionKind};
use crate::{Holder, Iam, State, Tag};

/// What the front door and condition keys need to know about a caller.
#[derive(Debug, Clone)]
pub struct CallerIdentity {
    /// `aws:PrincipalArn` of the caller as it appears in denials
    /// (session ARN for role sessions).
    pub arn: String,
    /// `aws:userid`.
    pub user_id: String,
    pub account: String,
    /// `aws:username` (IAM users only).
    pub user_name: Option<String>,
    /// The IAM entity whose permissions apply: user ARN, role ARN, or the
    /// account root. Access records are kept under it.
    pub entity_arn: String,
    /// `aws:PrincipalTag/*`.
    pub tags: Vec<Tag>,
    /// `aws:SourceIdentity` of a role session that has one.
    pub source_identity: Option<String>,
    /// `aws:PrincipalType`: `Account`, `User`, `AssumedRole`.
    pub principal_type: &'static str,
    pub principal: policy::Principal,
}

/// The account root, as a caller (its own keys, or a session it got with GetSessionToken).
fn root_identity(account: String) -> CallerIdentity {
    let arn = format!("arn:aws:iam::{account}:root");
    CallerIdentity {
        entity_arn: arn.clone(),
        arn,
        user_id: account.clone(),
        user_name: None,
        tags: Vec::new(),
        source_identity: None,
        principal_type: "Account",
        principal: policy::Principal::root(&account),
        account,
    }
}

/// Parsed policy documents, by their text.
#[derive(Default)]
pub(crate) struct PolicyCache(Mutex<HashMap<String, Arc<Policy>>>);

impl PolicyCache {
    fn get(&self, doc: &str) -> Option<Arc<Policy>> {
        let mut m = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(p) = m.get(doc) {
            return Some(Arc::clone(p));
        }
        let p = Arc::new(policy::parse_document(doc, policy::DocumentKind::Identity, false).ok()?);
        if m.len() > 10_000 {
            m.clear();
        }
        m.insert(doc.to_owned(), Arc::clone(&p));
        Some(p)
    }

    fn get_resource(&self, doc: &str) -> Option<Arc<Policy>> {
        let key = format!("resource\u{0}{doc}");
        let mut m = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(p) = m.get(&key) {
            return Some(Arc::clone(p));
        }
        let parsed = policy::parse_resource_policy(doc).or_else(|_| policy::parse_trust_policy(doc)).ok()?;
        let p = Arc::new(parsed);
        m.insert(key, Arc::clone(&p));
        Some(p)
    }
}

/// The documents of one identity: its own, and (for users) its groups'.
pub(crate) fn documents(st: &State, holder: &Holder) -> Vec<String> {
    let mut docs: Vec<String> = holder.inline.values().cloned().collect();
    docs.extend(
        holder.attached.iter().filter_map(|a| {
            st.policies.get(a).or_else(|| aws_catalog().get(a)).map(|p| p.default_document().to_owned())
        }),
    );
    docs
}

/// The policies that apply to a caller, as documents.
#[derive(Debug, Default, Clone)]
pub struct CallerPolicies {
    pub identity: Vec<String>,
    pub boundary: Option<String>,
    pub session: Option<Vec<String>>,
}

impl Iam {
    /// Everything the front door needs to know about a caller.
    #[must_use]
    pub fn identity(&self, caller: &Caller) -> CallerIdentity {
        let account = self.account.clone();
        match caller {
            Caller::Root => root_identity(account),
            Caller::User(u) => CallerIdentity {
                arn: u.arn.clone(),
                user_id: u.id.clone(),
                user_name: Some(u.name.clone()),
                entity_arn: u.arn.clone(),
                tags: u.tags.clone(),
                source_identity: None,
                principal_type: "User",
                principal: policy::Principal::user(&u.arn),
                account,
            },
            Caller::Session(s) => match &s.kind {
                SessionKind::AssumedRole { role_arn, role_id, session_name, role_name } => {
                    let arn = format!("arn:aws:sts::{account}:assumed-role/{role_name}/{session_name}");
                    // The role's tags, overridden by the session's tags of the same key.
                    let mut tags: Vec<Tag> = self.get_role(role_name).map(|r| r.tags).unwrap_or_default();
                    tags.retain(|t| !s.tags.iter().any(|u| u.key.eq_ignore_ascii_case(&t.key)));
                    tags.extend(s.tags.iter().cloned());
                    CallerIdentity {
                        principal: policy::Principal::assumed_role(&arn, Some(role_arn)),
                        arn,
                        user_id: format!("{role_id}:{session_name}"),
                        user_name: None,
                        entity_arn: role_arn.clone(),
                        tags,
                        source_identity: s.source_identity.clone(),
                        principal_type: "AssumedRole",
                        account,
                    }
                }
                SessionKind::User { user_name } => {
                    let user = self.get_user(user_name).ok();
                    let arn = user.as_ref().map_or_else(|| self.user_arn("/", user_name), |u| u.arn.clone());
                    CallerIdentity {
                        principal: policy::Principal::user(&arn),
                        user_id: user.as_ref().map(|u| u.id.clone()).unwrap_or_default(),
                        user_name: Some(user_name.clone()),
                        entity_arn: arn.clone(),
                        tags: user.map(|u| u.tags).unwrap_or_default(),
                        source_identity: None,
                        principal_type: "User",
                        arn,
                        account,
                    }
                }
                SessionKind::Root => root_identity(account),
            },
        }
    }

    /// The identity-based, boundary and session policies that apply to `caller`.
    #[must_use]
    pub fn caller_policies(&self, caller: &Caller) -> CallerPolicies {
        let st = self.read();
        let boundary_doc = |arn: &Option<String>| {
            arn.as_ref().map(|a| {
                st.policies
                    .get(a)
                    .or_else(|| aws_catalog().get(a))
                    .map(|p| p.default_document().to_owned())
                    .unwrap_or_default()
            })
        };
        let user_policies = |name: &str| -> Option<CallerPolicies> {
            let u = st.users.get(&name.to_lowercase())?;
            let mut identity = documents(&st, &u.policies);
            for g in st.groups.values().filter(|g| g.members.contains(&u.name)) {
                identity.extend(documents(&st, &g.policies));
            }
            Some(CallerPolicies { identity, boundary: boundary_doc(&u.permissions_boundary), session: None })
        };
        match caller {
            Caller::Root => CallerPolicies::default(),
            Caller::User(u) => user_policies(&u.name).unwrap_or_default(),
            Caller::Session(s) => match &s.kind {
                SessionKind::AssumedRole { role_name, .. } => {
                    let Some(r) = st.roles.get(&role_name.to_lowercase()) else { return CallerPolicies::default() };
                    // Inline and managed session policies together scope the session
                    // down. A managed one deleted since allows nothing any more.
                    let session = s.has_session_policies().then(|| {
                        let mut docs = s.session_policies.clone();
                        docs.extend(s.session_policy_arns.iter().filter_map(|a| {
                            st.policies.get(a).or_else(|| aws_catalog().get(a)).map(|p| p.default_document().to_owned())
                        }));
                        docs
                    });
                    CallerPolicies {
                        identity: documents(&st, &r.policies),
                        boundary: boundary_doc(&r.permissions_boundary),
                        session,
                    }
                }
                SessionKind::User { user_name } => user_policies(user_name).unwrap_or_default(),
                SessionKind::Root => CallerPolicies::default(),
            },
        }
    }

    /// Evaluate a request by `caller` against its policies and the target's
    /// resource-based policies. The account root is allowed everything.
    #[must_use]
    pub fn authorize(
        &self,
        caller: &Caller,
        action: &str,
        resource: &str,
        context: &Context,
        resource_policies: &[&str],
    ) -> Outcome {
        if caller.is_root() {
            return Outcome {
                decision: policy::Decision::Allow,
                reason: policy::DenyReason::None,
                matched: Vec::new(),
            };
        }
        let who = self.identity(caller);
        let docs = self.caller_policies(caller);
        self.evaluate_with(&who.principal, action, resource, context, &docs, resource_policies)
    }

    /// Evaluate an explicit set of documents (also used by the simulators).
    #[must_use]
    pub fn evaluate_with(
        &self,
        principal: &policy::Principal,
        action: &str,
        resource: &str,
        context: &Context,
        docs: &CallerPolicies,
        resource_policies: &[&str],
    ) -> Outcome {
        self.with_policy_set(docs, resource_policies, |set| {
            policy::evaluate(&policy::Request::new(principal, action, resource, context), set)
        })
    }

    /// What the policy simulators report for one action on one resource: the
    /// outcome of [`Iam::evaluate_with`] and the condition keys the applying
    /// statements test that `context` lacks (`MissingContextValues`).
    #[must_use]
    pub fn simulate_with(
        &self,
        principal: &policy::Principal,
        action: &str,
        resource: &str,
        context: &Context,
        docs: &CallerPolicies,
        resource_policies: &[&str],
    ) -> (Outcome, Vec<String>) {
        self.with_policy_set(docs, resource_policies, |set| {
            let req = policy::Request::new(principal, action, resource, context);
            (policy::evaluate(&req, set), policy::missing_context_keys(&req, set))
        })
    }

    fn with_policy_set<R>(
        &self,
        docs: &CallerPolicies,
        resource_policies: &[&str],
        f: impl FnOnce(&PolicySet) -> R,
    ) -> R {
        let parse_all = |d: &[String]| -> Vec<Arc<Policy>> { d.iter().filter_map(|x| self.parsed.get(x)).collect() };
        let identity = parse_all(&docs.identity);
        let boundary = docs.boundary.as_ref().map(|b| parse_all(std::slice::from_ref(b)));
        let session = docs.session.as_ref().map(|s| parse_all(s));
        let on_resource: Vec<Arc<Policy>> =
            resource_policies.iter().filter_map(|d| self.parsed.get_resource(d)).collect();
        let identity_refs = refs(&identity);
        let resource_refs = refs(&on_resource);
        let boundary_refs: Option<Vec<&Policy>> = boundary.as_deref().map(refs);
        let session_refs: Option<Vec<&Policy>> = session.as_deref().map(refs);
        f(&PolicySet {
            identity: &identity_refs,
            resource: &resource_refs,
            boundary: boundary_refs.as_deref(),
            session: session_refs.as_deref(),
        })
    }
}

fn refs(v: &[Arc<Policy>]) -> Vec<&Policy> {
    v.iter().map(AsRef::as_ref).collect()
}

impl Iam {
    /// The policies of a user, group or role named by ARN, as
    /// `SimulatePrincipalPolicy` evaluates them, with the principal to
    /// evaluate as.
    #[must_use]
    pub fn policies_of(&self, arn: &str) -> Option<(policy::Principal, CallerPolicies)> {
        let st = self.read();
        let boundary = |b: &Option<String>| {
            b.as_ref().and_then(|a| {
                st.policies.get(a).or_else(|| aws_catalog().get(a)).map(|p| p.default_document().to_owned())
            })
        };
        if let Some(u) = st.users.values().find(|u| u.arn == arn) {
            let mut identity = documents(&st, &u.policies);
            for g in st.groups.values().filter(|g| g.members.contains(&u.name)) {
                identity.extend(documents(&st, &g.policies));
            }
            let p = CallerPolicies { identity, boundary: boundary(&u.permissions_boundary), session: None };
            return Some((policy::Principal::user(&u.arn), p));
        }
        if let Some(r) = st.roles.values().find(|r| r.arn == arn) {
            let session = format!("arn:aws:sts::{}:assumed-role/{}/simulation", self.account, r.name);
            let p = CallerPolicies {
                identity: documents(&st, &r.policies),
                boundary: boundary(&r.permissions_boundary),
                session: None,
            };
            return Some((policy::Principal::assumed_role(&session, Some(&r.arn)), p));
        }
        let g = st.groups.values().find(|g| g.arn == arn)?;
        let p = CallerPolicies { identity: documents(&st, &g.policies), boundary: None, session: None };
        Some((policy::Principal::user(&format!("arn:aws:iam::{}:user/simulation", self.account)), p))
    }
}
