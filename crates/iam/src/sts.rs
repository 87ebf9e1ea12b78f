//! STS sessions: `AssumeRole` (honouring trust policies) and
//! `GetSessionToken`, and the temporary credentials they issue.

use policy::Context;
use state::Op;

use crate::principal::{Caller, Session, SessionKind};
use crate::{Iam, IamError, NS_SESSIONS};

/// The shortest session STS issues, in seconds.
pub const MIN_SESSION_SECONDS: u32 = 900;

/// `AssumeRole`'s input.
#[derive(Debug, Clone, Default)]
pub struct AssumeRole {
    pub role_arn: String,
    pub session_name: String,
    pub duration: Option<u32>,
    pub policy: Option<String>,
    /// Managed session policies (`PolicyArns[].arn`).
    pub policy_arns: Vec<String>,
    /// Session tags.
    pub tags: Vec<crate::Tag>,
    pub transitive_tag_keys: Vec<String>,
    pub external_id: Option<String>,
    pub source_identity: Option<String>,
    /// `MinimumSessionTokenSize`: the session token is at least this long.
    pub minimum_token_size: Option<u32>,
}

/// AWS's limit on managed session policies per request.
pub const MAX_SESSION_POLICY_ARNS: usize = 10;
/// The plaintext limit of the inline session policy (whitespace not counted).
pub const MAX_SESSION_POLICY_CHARS: usize = 2048;
/// The budget of the packed form of session policies and tags. AWS does not
/// document its packed format; daxd packs policy text without whitespace,
/// each managed policy ARN, and each tag key and value against 2,048 bytes.
const PACKED_BUDGET: usize = 2048;
/// The length of the session tokens daxd issues when no minimum is asked.
const TOKEN_LEN: usize = 316;

/// How full the packed session policies and tags of a request are, in percent
/// (AssumeRole's `PackedPolicySize`; over 100 is refused).
#[must_use]
pub fn packed_policy_size(policy: Option<&str>, policy_arns: &[String], tags: &[crate::Tag]) -> usize {
    let bytes = policy.map_or(0, policy::policy_size)
        + policy_arns.iter().map(String::len).sum::<usize>()
        + tags.iter().map(|t| t.key.len() + t.value.len()).sum::<usize>();
    (bytes * 100).div_ceil(PACKED_BUDGET)
}

fn same_key(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn packed_message(percent: usize) -> String {
    format!("Packed policy consumes {percent}% of allotted space, please use smaller policy.")
}

/// The tags of a new session: the inherited transitive ones and those passed.
/// Keys are case-insensitive: two passed tags may not share a key, a passed
/// tag may not replace an inherited one, and transitive keys must name
/// passed tags.
fn session_tags(
    passed: &[crate::Tag],
    inherited: &[crate::Tag],
    transitive: &[String],
) -> Result<Vec<crate::Tag>, IamError> {
    for (i, t) in passed.iter().enumerate() {
        if passed[..i].iter().any(|u| same_key(&u.key, &t.key)) {
            return Err(IamError::InvalidParameterValue(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.".to_owned(),
            ));
        }
        if inherited.iter().any(|u| same_key(&u.key, &t.key)) {
            return Err(IamError::InvalidParameterValue(format!(
                "The session tag key {} is a transitive tag key of the calling session and cannot be set again.",
                t.key
            )));
        }
    }
    if let Some(k) = transitive.iter().find(|k| !passed.iter().any(|t| same_key(&t.key, k))) {
        return Err(IamError::InvalidParameterValue(format!(
            "The transitive tag key {k} is not the key of a session tag of this request."
        )));
    }
    let mut tags = inherited.to_vec();
    tags.extend(passed.iter().cloned());
    Ok(tags)
}

impl Iam {
    fn new_session(&self, mut s: Session, seconds: u32, minimum_token_size: Option<u32>) -> Result<Session, IamError> {
        const PREFIX: &str = "IQoJb3JpZ2luX2Vj";
        let len = TOKEN_LEN.max(minimum_token_size.map_or(0, |n| n as usize));
        s.access_key_id = format!("ASIA{}", self.env.ids.chars(base::UPPER_ALNUM, 16));
        s.secret = self.env.ids.chars(base::SECRET, 40);
        s.token = format!("{PREFIX}{}", self.env.ids.chars(base::SECRET, len - PREFIX.len()));
        s.expiration = self.now() + f64::from(seconds);
        let mut st = self.write();
        self.persist(&[Op::put_json(NS_SESSIONS, s.access_key_id.clone(), &s)?])?;
        st.sessions.insert(s.access_key_id.clone(), s.clone());
        Ok(s)
    }

    /// `AssumeRole` by `caller`. The trust policy is evaluated as the role's
    /// resource-based policy together with the caller's own policies, with
    /// `context` (the front door's global keys, plus `sts:ExternalId`,
    /// `sts:SourceIdentity`, `aws:RequestTag/*`, `aws:TagKeys` and
    /// `sts:TransitiveTagKeys` added here). Session tags need `sts:TagSession`
    /// and a source identity `sts:SetSourceIdentity`, allowed the same way.
    ///
    /// # Errors
    /// `AccessDenied` with AWS's text; `ValidationError` for a duration beyond
    /// the role's maximum or more than ten managed session policies;
    /// `MalformedPolicyDocument` for a bad session policy;
    /// `PackedPolicyTooLarge`; `InvalidParameterValue` for session tags that
    /// clash; `NoSuchEntity` for a managed session policy that does not exist.
    pub fn assume_role(
        &self,
        caller: &Caller,
        input: &AssumeRole,
        context: &Context,
    ) -> Result<(Session, crate::Role), IamError> {
        let who = self.identity(caller);
        let denied_on = |action: &str, tail: &str| {
            IamError::AccessDenied(format!(
                "User: {} is not authorized to perform: {action} on resource: {}{tail}",
                who.arn, input.role_arn
            ))
        };
        if caller.is_root() {
            return Err(IamError::AccessDenied("Roles may not be assumed by root accounts.".to_owned()));
        }
        let role = self.role_by_arn(&input.role_arn).ok_or_else(|| denied_on("sts:AssumeRole", ""))?;

        // What the new session carries over from the calling one (role chaining).
        let calling = match caller {
            Caller::Session(s) => Some(s),
            _ => None,
        };
        let inherited: Vec<crate::Tag> = calling
            .map(|s| {
                s.tags.iter().filter(|t| s.transitive_tag_keys.iter().any(|k| same_key(k, &t.key))).cloned().collect()
            })
            .unwrap_or_default();
        let tags = session_tags(&input.tags, &inherited, &input.transitive_tag_keys)?;
        let mut transitive: Vec<String> = inherited.iter().map(|t| t.key.clone()).collect();
        transitive.extend(input.transitive_tag_keys.iter().cloned());
        let inherited_identity = calling.and_then(|s| s.source_identity.clone());
        if let (Some(old), Some(new)) = (&inherited_identity, &input.source_identity) {
            if old != new {
                return Err(denied_on(
                    "sts:SetSourceIdentity",
                    " because the source identity of the calling session cannot be changed",
                ));
            }
        }

        let mut ctx = context.clone();
        if let Some(e) = &input.external_id {
            ctx.set("sts:ExternalId", e.clone());
        }
        if let Some(id) = &input.source_identity {
            ctx.set("sts:SourceIdentity", id.clone());
        }
        if !tags.is_empty() {
            for t in &tags {
                ctx.set(&format!("aws:RequestTag/{}", t.key), t.value.clone());
            }
            ctx.set_multi("aws:TagKeys", tags.iter().map(|t| t.key.clone()).collect());
        }
        if !transitive.is_empty() {
            ctx.set_multi("sts:TransitiveTagKeys", transitive.clone());
        }
        let docs = {
            let mut docs = self.caller_policies(caller);
            // A service-linked role trusts only its service; no identity
            // policy can make a user that service.
            if role.linked_service.is_some() {
                docs.identity.clear();
            }
            docs
        };
        let mut actions = vec!["sts:AssumeRole"];
        if !tags.is_empty() {
            actions.push("sts:TagSession");
        }
        if input.source_identity.is_some() {
            actions.push("sts:SetSourceIdentity");
        }
        for action in actions {
            let outcome =
                self.evaluate_with(&who.principal, action, &role.arn, &ctx, &docs, &[role.assume_role_policy.as_str()]);
            if !outcome.is_allowed() {
                let tail = outcome.denial_tail(action);
                return Err(denied_on(action, &if tail.is_empty() { String::new() } else { format!(" {tail}") }));
            }
        }

        let chained = calling.is_some_and(|s| s.is_role());
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
            if policy::policy_size(p) > MAX_SESSION_POLICY_CHARS {
                return Err(IamError::PackedPolicyTooLarge(packed_message(
                    policy::policy_size(p) * 100 / MAX_SESSION_POLICY_CHARS,
                )));
            }
            policy::parse(p)?;
            session_policies.push(p.clone());
        }
        if input.policy_arns.len() > MAX_SESSION_POLICY_ARNS {
            return Err(IamError::ValidationError(format!(
                "1 validation error detected: Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to {MAX_SESSION_POLICY_ARNS}"
            )));
        }
        for arn in &input.policy_arns {
            self.managed_policy(arn)?;
        }
        let packed = packed_policy_size(input.policy.as_deref(), &input.policy_arns, &tags);
        if packed > 100 {
            return Err(IamError::PackedPolicyTooLarge(packed_message(packed)));
        }
        let mut session = Session::blank(SessionKind::AssumedRole {
            role_arn: role.arn.clone(),
            role_name: role.name.clone(),
            role_id: role.id.clone(),
            session_name: input.session_name.clone(),
        });
        session.session_policies = session_policies;
        session.session_policy_arns = input.policy_arns.clone();
        session.tags = tags;
        session.transitive_tag_keys = transitive;
        session.source_identity = input.source_identity.clone().or(inherited_identity);
        let session = self.new_session(session, duration.max(MIN_SESSION_SECONDS), input.minimum_token_size)?;
        Ok((session, role))
    }

    /// `GetSessionToken` for a user or the root.
    ///
    /// # Errors
    /// `AccessDenied` when called with session credentials.
    pub fn get_session_token(
        &self,
        caller: &Caller,
        duration: Option<u32>,
        minimum_token_size: Option<u32>,
    ) -> Result<Session, IamError> {
        let (kind, max) = match caller {
            Caller::Root => (SessionKind::Root, 3600),
            Caller::User(u) => (SessionKind::User { user_name: u.name.clone() }, 129_600),
            Caller::Session(_) => {
                return Err(IamError::AccessDenied("Cannot call GetSessionToken with session credentials".to_owned()))
            }
        };
        let seconds = duration.unwrap_or(if max == 3600 { 3600 } else { 43_200 }).min(max);
        self.new_session(Session::blank(kind), seconds, minimum_token_size)
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
        let old: Vec<String> =
            st.sessions.values().filter(|s| s.expiration < cutoff).map(|s| s.access_key_id.clone()).collect();
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
