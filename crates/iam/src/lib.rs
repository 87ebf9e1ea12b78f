//! The IAM domain of daxd.
//!
//! It holds the account's identities and what they may do: users and their
//! access keys, groups, roles (service-linked roles among them), managed and
//! inline policies, STS sessions, and the record of who used which service
//! when (last activity, Access Advisor). It answers the questions the front
//! door asks: who owns this key, which policies apply to this caller, and
//! is this request allowed.
//!
//! State lives in memory; every change is written to the durable
//! [`state::Store`] in one batch before the call returns, so an acknowledged
//! change survives a crash. Access records are the exception: they are
//! flushed in the background (see [`Iam::flush_activity`]).
//!
//! It knows no wire format: callers pass plain values and get plain values
//! or an [`IamError`] carrying AWS's code and message. It does not verify
//! signatures; the binary does that and then asks [`Iam::authorize`].

mod activity;
mod authz;
mod error;
mod groups;
mod login;
mod managed;
mod page;
mod policies;
mod principal;
mod roles;
mod slr;
mod sts;
mod users;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use base::Env;
use serde::{Deserialize, Serialize};
use state::{Op, Store};

pub use activity::{Access, AccessReport, EntityAccess, Granularity, Job, ServiceAccess, TrackedAction};
pub use authz::{CallerIdentity, CallerPolicies};
pub use error::IamError;
pub use login::{check_password_policy, LoginProfile, LoginProfileUpdate};
pub use managed::{ManagedPolicy, PolicyScope, PolicyVersionRec};
pub use page::Page;
pub use policies::{EntityKind, PolicyUsage};
pub use principal::{Caller, Session, SessionKind};
pub use roles::{CreateRole, RoleUpdate};
pub use slr::{
    DeletionStatus, DeletionTask, LinkedService, RoleUsage, ServiceUsage, DAX_SERVICE, DAX_SLR_NAME, FIS_SERVICE,
    FIS_SLR_NAME,
};
pub use sts::{packed_policy_size, AssumeRole, MIN_SESSION_SECONDS};

const NS_USERS: &str = "iam/users";
const NS_KEYS: &str = "iam/access-keys";
const NS_GROUPS: &str = "iam/groups";
const NS_ROLES: &str = "iam/roles";
const NS_POLICIES: &str = "iam/policies";
const NS_SESSIONS: &str = "iam/sessions";
const NS_TASKS: &str = "iam/deletion-tasks";
const NS_ACTIVITY: &str = "iam/activity";
const NS_JOBS: &str = "iam/access-advisor-jobs";
const NS_LOGIN: &str = "iam/login-profiles";

/// AWS's quota of access keys per user.
pub const ACCESS_KEYS_PER_USER: usize = 2;
/// AWS's quota of managed policies attached to one user, group or role.
pub const MANAGED_POLICIES_PER_ENTITY: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// The policies an identity carries: inline documents by name, and the ARNs
/// of attached managed policies in attachment order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    #[serde(default)]
    pub inline: BTreeMap<String, String>,
    #[serde(default)]
    pub attached: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    pub id: String,
    pub path: String,
    pub arn: String,
    pub create_date: f64,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub permissions_boundary: Option<String>,
    #[serde(default)]
    pub policies: Holder,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub name: String,
    pub id: String,
    pub path: String,
    pub arn: String,
    pub create_date: f64,
    /// Member user names, in the order they were added.
    #[serde(default)]
    pub members: Vec<String>,
    #[serde(default)]
    pub policies: Holder,
}

/// When and where a role was last used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastUsed {
    pub date: f64,
    pub region: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Role {
    pub name: String,
    pub id: String,
    pub path: String,
    pub arn: String,
    pub create_date: f64,
    pub assume_role_policy: String,
    #[serde(default)]
    pub description: Option<String>,
    pub max_session_duration: u32,
    #[serde(default)]
    pub permissions_boundary: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub last_used: Option<LastUsed>,
    #[serde(default)]
    pub policies: Holder,
    /// The service principal a service-linked role is linked to.
    #[serde(default)]
    pub linked_service: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyStatus {
    Active,
    Inactive,
}

impl KeyStatus {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::Inactive => "Inactive",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessKey {
    pub id: String,
    pub secret: String,
    pub user_name: String,
    pub status: KeyStatus,
    pub create_date: f64,
}

/// Whom a long-term access key belongs to, as authentication needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyOwner {
    pub secret: String,
    pub status: KeyStatus,
    pub user: User,
}

#[derive(Debug, Default, PartialEq)]
struct State {
    /// Keyed by the lower-cased name: IAM names are unique regardless of case.
    users: BTreeMap<String, User>,
    keys: BTreeMap<String, AccessKey>,
    groups: BTreeMap<String, Group>,
    roles: BTreeMap<String, Role>,
    /// Customer-managed policies, keyed by ARN.
    policies: BTreeMap<String, ManagedPolicy>,
    /// STS sessions, keyed by temporary access key id.
    sessions: BTreeMap<String, Session>,
    tasks: BTreeMap<String, DeletionTask>,
    /// Access records per entity ARN.
    activity: BTreeMap<String, Vec<Access>>,
    jobs: BTreeMap<String, Job>,
    /// Console passwords, keyed by the lower-cased user name.
    login_profiles: BTreeMap<String, login::StoredProfile>,
}

/// The IAM service of one account.
pub struct Iam {
    account: String,
    env: Env,
    store: Arc<Store>,
    state: RwLock<State>,
    /// Entity ARNs whose access records changed since the last flush.
    dirty_activity: Mutex<Vec<String>>,
    parsed: authz::PolicyCache,
}

/// Normalise a path: absent means `/`.
fn path_or_root(path: Option<&str>) -> String {
    path.filter(|p| !p.is_empty()).unwrap_or("/").to_owned()
}

impl Iam {
    /// Load the account's IAM state from `store`.
    ///
    /// # Errors
    /// When the store cannot be read or holds a corrupt record.
    pub fn open(account: &str, env: Env, store: Arc<Store>) -> Result<Self, IamError> {
        let iam = Iam {
            account: account.to_owned(),
            env,
            store,
            state: RwLock::new(State::default()),
            dirty_activity: Mutex::new(Vec::new()),
            parsed: authz::PolicyCache::default(),
        };
        iam.reload()?;
        Ok(iam)
    }

    /// Re-read everything from the store (after open, or after a reset).
    ///
    /// # Errors
    /// When the store cannot be read or holds a corrupt record.
    pub fn reload(&self) -> Result<(), IamError> {
        let mut fresh = State {
            users: self.store.scan_json(NS_USERS)?.into_iter().collect(),
            keys: self.store.scan_json(NS_KEYS)?.into_iter().collect(),
            groups: self.store.scan_json(NS_GROUPS)?.into_iter().collect(),
            roles: self.store.scan_json(NS_ROLES)?.into_iter().collect(),
            policies: self.store.scan_json(NS_POLICIES)?.into_iter().collect(),
            sessions: self.store.scan_json(NS_SESSIONS)?.into_iter().collect(),
            tasks: self.store.scan_json(NS_TASKS)?.into_iter().collect(),
            activity: self.store.scan_json(NS_ACTIVITY)?.into_iter().collect(),
            jobs: self.store.scan_json(NS_JOBS)?.into_iter().collect(),
            login_profiles: self.store.scan_json(NS_LOGIN)?.into_iter().collect(),
        };
        std::mem::swap(&mut *self.write(), &mut fresh);
        self.dirty_activity.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
        Ok(())
    }

    #[must_use]
    pub fn account(&self) -> &str {
        &self.account
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn now(&self) -> f64 {
        self.env.clock.epoch().floor()
    }

    fn unique_id(&self, prefix: &str) -> String {
        format!("{prefix}{}", self.env.ids.chars(base::UPPER_ALNUM, 17))
    }

    /// Persist `ops` durably; only then may the caller change memory.
    fn persist(&self, ops: &[Op]) -> Result<(), IamError> {
        Ok(self.store.apply(ops)?)
    }
}

fn check_path(path: &str) -> Result<(), IamError> {
    if !path.starts_with('/') || !path.ends_with('/') {
        return Err(IamError::InvalidInput(
            "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.".to_owned(),
        ));
    }
    Ok(())
}

fn check_tags(tags: &[Tag]) -> Result<(), IamError> {
    if tags.len() > 50 {
        return Err(IamError::LimitExceeded("The number of tags has reached the maximum limit.".to_owned()));
    }
    if tags.iter().any(|t| t.key.to_ascii_lowercase().starts_with("aws:")) {
        return Err(IamError::InvalidInput("User-defined tags cannot start with the prefix 'aws:'.".to_owned()));
    }
    Ok(())
}

/// Later tags with the same key (case-insensitively) replace earlier ones.
fn merge_tags(existing: &[Tag], new: Vec<Tag>) -> Result<Vec<Tag>, IamError> {
    check_tags(&new)?;
    let mut out: Vec<Tag> = existing.to_vec();
    for t in new {
        if let Some(e) = out.iter_mut().find(|e| e.key.eq_ignore_ascii_case(&t.key)) {
            *e = t;
        } else {
            out.push(t);
        }
    }
    if out.len() > 50 {
        return Err(IamError::LimitExceeded("The number of tags has reached the maximum limit.".to_owned()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod write_failures;
