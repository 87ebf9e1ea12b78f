//! STS sessions: `AssumeRole` (honouring trust policies) and
//! `GetSessionToken`, and the temporary credentials they issue.

use policy::Context;
use serde::{Deserialize, Serialize};
use state::Op;

use crate::authz::Caller;
use crate::{encode, Iam, IamError, NS_SESSIONS};

/// The shortest session STS issues, in seconds.
pub const MIN_SESSION_SECONDS: u32 = 900;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionKind {
    AssumedRole { role_arn: String, role_name: String, role_id: String, session_name: String },
    /// `GetSessionToken` by an IAM user: the session acts as the user.
    User { user_name: String },
    /// `GetSessionToken` by the account root.
    Root,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub access_key_id: String,
    pub secret: String,
    pub token: String,
    pub expiration: f64,
    pub kind: SessionKind,
    #[serde(default)]
    pub session_policies: Vec<String>,
}

impl Session {
    /// A session a service holds on a role inside daxd (DAX on its
    /// service-linked role, a DAX node on its cluster's role): it has no
    /// credentials, never expires, and is authorized like any role session.
    #[must_use]
    pub fn internal(role: &crate::Role, session_name: &str) -> Session {
        Session {
            access_key_id: String::new(),
            secret: String::new(),
            token: String::new(),
            expiration: f64::MAX,
            kind: SessionKind::AssumedRole {
                role_arn: role.arn.clone(),
                role_name: role.name.clone(),
                role_id: role.id.clone(),
                session_name: session_name.to_owned(),
            },
            session_policies: Vec::new(),
        }
    }

    #[must_use]
    pub fn is_role(&self) -> bool {
        matches!(self.kind, SessionKind::AssumedRole { .. })
    }
}

/// `AssumeRole`'s input.
#[derive(Debug, Clone, Default)]
pub struct AssumeRole {
    pub role_arn: String,
    pub session_name: String,
    pub duration: Option<u32>,
    pub policy: Option<String>,
    pub external_id: Option<String>,
}

impl Iam {
    fn new_session(&self, kind: SessionKind, seconds: u32, session_policies: Vec<String>) -> Result<Session, IamError> {
        let s = Session {
            access_key_id: format!("ASIA{}", self.env.ids.chars(base::UPPER_ALNUM, 16)),
            secret: self.env.ids.chars(base::SECRET, 40),
            token: format!("IQoJb3JpZ2luX2Vj{}", self.env.ids.chars(base::SECRET, 300)),
            expiration: self.now() + f64::from(seconds),
            kind,
            session_policies,
        };
        let mut st = self.write();
        self.persist(&[Op::put(NS_SESSIONS, s.access_key_id.clone(), encode(&s))])?;
        st.sessions.insert(s.access_key_id.clone(), s.clone());
        Ok(s)
    }

    /// `AssumeRole` by `caller`. The trust policy is evaluated as the role's
    /// resource-based policy together with the caller's own policies, with
    /// `context` (the front door's global keys, plus `sts:ExternalId` added here).
    ///
    /// # Errors
    /// `AccessDenied` with AWS's text; `ValidationError` for a duration beyond
    /// the role's maximum; `MalformedPolicyDocument` for a bad session policy.
    pub fn assume_role(&self, caller: &Caller, input: &AssumeRole, context: &Context) -> Result<(Session, crate::Role), IamError> {
        let who = self.identity(caller);
        let denied = |tail: &str| {
            IamError::AccessDenied(format!(
                "User: {} is not authorized to perform: sts:AssumeRole on resource: {}{tail}",
                who.arn, input.role_arn
            ))
        };
        if matches!(caller, Caller::Root) || matches!(caller, Caller::Session(s) if s.kind == SessionKind::Root) {
            return Err(IamError::AccessDenied("Roles may not be assumed by root accounts.".to_owned()));
        }
        let role = self.role_by_arn(&input.role_arn).ok_or_else(|| denied(""))?;
        let mut ctx = context.clone();
        if let Some(e) = &input.external_id {
            ctx.set("sts:ExternalId", e.clone());
        }
        let outcome = {
            let mut docs = self.caller_policies(caller);
            // A service-linked role trusts only its service; no identity
            // policy can make a user that service.
            if role.linked_service.is_some() {
                docs.identity.clear();
            }
            self.evaluate_with(&who.principal, "sts:AssumeRole", &role.arn, &ctx, &docs, &[role.assume_role_policy.as_str()])
        };
        if !outcome.is_allowed() {
            let tail = outcome.denial_tail("sts:AssumeRole");
            return Err(denied(&if tail.is_empty() { String::new() } else { format!(" {tail}") }));
        }
        let chained = matches!(caller, Caller::Session(s) if s.is_role());
        let max = if chained { 3600 } else { role.max_session_duration };
        let duration = input.duration.unwrap_or(3600);
        if duration > max {
            return Err(IamError::ValidationError(format!(
                "The requested DurationSeconds exceeds the {} set for this role.",
                if chained { "1 hour session limit for roles assumed by role chaining" } else { "MaxSessionDuration" }
            )));
        }
        let mut session_policies = Vec::new();
        if let Some(p) = &input.policy {
            if policy::policy_size(p) > 2048 {
                return Err(IamError::LimitExceeded("Packed policy consumes more than 100 percent of the allotted space.".to_owned()));
            }
            policy::parse(p)?;
            session_policies.push(p.clone());
        }
        let session = self.new_session(
            SessionKind::AssumedRole {
                role_arn: role.arn.clone(),
                role_name: role.name.clone(),
                role_id: role.id.clone(),
                session_name: input.session_name.clone(),
            },
            duration.max(MIN_SESSION_SECONDS),
            session_policies,
        )?;
        Ok((session, role))
    }

    /// `GetSessionToken` for a user or the root.
    ///
    /// # Errors
    /// `AccessDenied` when called with session credentials.
    pub fn get_session_token(&self, caller: &Caller, duration: Option<u32>) -> Result<Session, IamError> {
        let (kind, max) = match caller {
            Caller::Root => (SessionKind::Root, 3600),
            Caller::User(u) => (SessionKind::User { user_name: u.name.clone() }, 129_600),
            Caller::Session(_) => {
                return Err(IamError::AccessDenied("Cannot call GetSessionToken with session credentials".to_owned()))
            }
        };
        let seconds = duration.unwrap_or(if max == 3600 { 3600 } else { 43_200 }).min(max);
        self.new_session(kind, seconds, Vec::new())
    }

    /// The session a temporary access key belongs to.
    #[must_use]
    pub fn session(&self, access_key_id: &str) -> Option<Session> {
        self.read().sessions.get(access_key_id).cloned()
    }

    /// Drop sessions that expired more than a day ago.
    ///
    /// # Errors
    /// When the store cannot be written.
    pub fn purge_sessions(&self) -> Result<(), IamError> {
        let cutoff = self.now() - 86_400.0;
        let mut st = self.write();
        let old: Vec<String> = st.sessions.values().filter(|s| s.expiration < cutoff).map(|s| s.access_key_id.clone()).collect();
        if old.is_empty() {
            return Ok(());
        }
        let ops: Vec<Op> = old.iter().map(|k| Op::delete(NS_SESSIONS, k.clone())).collect();
        self.persist(&ops)?;
        for k in old {
            st.sessions.remove(&k);
        }
        Ok(())
    }
}
