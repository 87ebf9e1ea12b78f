//! The principals a request can come from: the account root, an IAM user,
//! or an STS session ([`Caller`]), and what a session carries
//! ([`Session`]). Authorization (`authz.rs`) reads them; STS (`sts.rs`)
//! issues sessions.

use serde::{Deserialize, Serialize};

use crate::{Tag, User};

/// An authenticated caller.
#[derive(Debug, Clone)]
pub enum Caller {
    Root,
    User(User),
    Session(Session),
}

impl Caller {
    /// The account's root user, or a session of it: allowed everything.
    #[must_use]
    pub fn is_root(&self) -> bool {
        matches!(self, Caller::Root) || matches!(self, Caller::Session(s) if matches!(s.kind, SessionKind::Root))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionKind {
    AssumedRole {
        role_arn: String,
        role_name: String,
        role_id: String,
        session_name: String,
    },
    /// `GetSessionToken` by an IAM user: the session acts as the user.
    User {
        user_name: String,
    },
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
    /// Inline session policy documents (AssumeRole's `Policy`).
    #[serde(default)]
    pub session_policies: Vec<String>,
    /// Managed session policies (AssumeRole's `PolicyArns`), resolved to
    /// their default version whenever the session is authorized.
    #[serde(default)]
    pub session_policy_arns: Vec<String>,
    /// Session tags: those passed to AssumeRole and the transitive tags
    /// inherited from the calling session. They override the role's tags of
    /// the same key (case-insensitive) in `aws:PrincipalTag/*`.
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// The keys of `tags` that pass on to sessions this session assumes.
    #[serde(default)]
    pub transitive_tag_keys: Vec<String>,
    /// `aws:SourceIdentity`, kept through role chaining.
    #[serde(default)]
    pub source_identity: Option<String>,
}

impl Session {
    /// A session a service holds on a role inside daxd (DAX on its
    /// service-linked role, a DAX node on its cluster's role): it has no
    /// credentials, never expires, and is authorized like any role session.
    #[must_use]
    pub fn internal(role: &crate::Role, session_name: &str) -> Session {
        let mut s = Session::blank(SessionKind::AssumedRole {
            role_arn: role.arn.clone(),
            role_name: role.name.clone(),
            role_id: role.id.clone(),
            session_name: session_name.to_owned(),
        });
        s.expiration = f64::MAX;
        s
    }

    /// A session of `kind` with nothing else set yet.
    pub(crate) fn blank(kind: SessionKind) -> Session {
        Session {
            access_key_id: String::new(),
            secret: String::new(),
            token: String::new(),
            expiration: 0.0,
            kind,
            session_policies: Vec::new(),
            session_policy_arns: Vec::new(),
            tags: Vec::new(),
            transitive_tag_keys: Vec::new(),
            source_identity: None,
        }
    }

    /// Whether session policies (inline or managed) scope this session down.
    #[must_use]
    pub fn has_session_policies(&self) -> bool {
        !self.session_policies.is_empty() || !self.session_policy_arns.is_empty()
    }

    #[must_use]
    pub fn is_role(&self) -> bool {
        matches!(self.kind, SessionKind::AssumedRole { .. })
    }
}
