//! The IAM domain of daxd.
//!
//! It holds the account's identities (users and their access keys) and
//! answers the questions authentication asks of them. State lives in memory
//! and every change is written to the durable [`state::Store`] before the
//! call returns, so an acknowledged change survives a crash.
//!
//! It knows no wire format: callers pass plain values and get plain values
//! or an [`IamError`] carrying AWS's code and message. It does not verify
//! signatures or evaluate policies; the binary wires those around it.

mod error;
mod page;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use base::Env;
use serde::{Deserialize, Serialize};
use state::{Op, Store};

pub use error::IamError;
pub use page::Page;

const NS_USERS: &str = "iam/users";
const NS_KEYS: &str = "iam/access-keys";
/// AWS's quota of access keys per user.
pub const ACCESS_KEYS_PER_USER: usize = 2;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
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

#[derive(Default)]
struct State {
    /// Keyed by the lower-cased name: IAM names are unique regardless of case.
    users: BTreeMap<String, User>,
    keys: BTreeMap<String, AccessKey>,
}

/// The IAM service of one account.
pub struct Iam {
    account: String,
    env: Env,
    store: Arc<Store>,
    state: RwLock<State>,
}

fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

fn decode_all<T: for<'de> Deserialize<'de>>(store: &Store, ns: &str) -> Result<Vec<T>, IamError> {
    store
        .scan(ns)?
        .into_iter()
        .map(|(k, v)| {
            serde_json::from_slice(&v)
                .map_err(|e| IamError::ServiceFailure(format!("corrupt record {ns}/{k}: {e}")))
        })
        .collect()
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
        let iam = Iam { account: account.to_owned(), env, store, state: RwLock::new(State::default()) };
        iam.reload()?;
        Ok(iam)
    }

    /// Re-read everything from the store (after open, or after a reset).
    ///
    /// # Errors
    /// When the store cannot be read or holds a corrupt record.
    pub fn reload(&self) -> Result<(), IamError> {
        let users: Vec<User> = decode_all(&self.store, NS_USERS)?;
        let keys: Vec<AccessKey> = decode_all(&self.store, NS_KEYS)?;
        let mut st = self.write();
        st.users = users.into_iter().map(|u| (u.name.to_lowercase(), u)).collect();
        st.keys = keys.into_iter().map(|k| (k.id.clone(), k)).collect();
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

    fn no_user(name: &str) -> IamError {
        IamError::NoSuchEntity(format!("The user with name {name} cannot be found."))
    }

    /// The ARN of a user, whether or not it exists.
    #[must_use]
    pub fn user_arn(&self, path: &str, name: &str) -> String {
        format!("arn:aws:iam::{}:user{path}{name}", self.account)
    }

    // ----- users -----

    /// `CreateUser`.
    ///
    /// # Errors
    /// `EntityAlreadyExists` when a user of that name (in any case) exists.
    pub fn create_user(
        &self,
        name: &str,
        path: Option<&str>,
        tags: Vec<Tag>,
        permissions_boundary: Option<String>,
    ) -> Result<User, IamError> {
        let path = path_or_root(path);
        check_path(&path)?;
        check_tags(&tags)?;
        let mut st = self.write();
        if st.users.contains_key(&name.to_lowercase()) {
            return Err(IamError::EntityAlreadyExists(format!("User with name {name} already exists.")));
        }
        let user = User {
            name: name.to_owned(),
            id: format!("AIDA{}", self.env.ids.chars(base::UPPER_ALNUM, 17)),
            arn: self.user_arn(&path, name),
            path,
            create_date: self.env.clock.epoch().floor(),
            tags: dedup_tags(tags),
            permissions_boundary,
        };
        self.store.apply(&[Op::put(NS_USERS, name.to_lowercase(), encode(&user))])?;
        st.users.insert(name.to_lowercase(), user.clone());
        Ok(user)
    }

    /// `GetUser`.
    ///
    /// # Errors
    /// `NoSuchEntity`.
    pub fn get_user(&self, name: &str) -> Result<User, IamError> {
        self.read().users.get(&name.to_lowercase()).cloned().ok_or_else(|| Self::no_user(name))
    }

    /// `ListUsers`, in name order, filtered by path prefix.
    ///
    /// # Errors
    /// `InvalidInput` for a marker this service did not hand out.
    pub fn list_users(&self, path_prefix: Option<&str>, marker: Option<&str>, max_items: Option<usize>) -> Result<Page<User>, IamError> {
        let prefix = path_or_root(path_prefix);
        let st = self.read();
        page::paginate(
            st.users.iter().filter(|(_, u)| u.path.starts_with(&prefix)).map(|(k, u)| (k.as_str(), u.clone())),
            marker,
            max_items,
        )
    }

    /// `DeleteUser`. AWS refuses while the user still has access keys.
    ///
    /// # Errors
    /// `NoSuchEntity`, `DeleteConflict`.
    pub fn delete_user(&self, name: &str) -> Result<(), IamError> {
        let mut st = self.write();
        let key = name.to_lowercase();
        let user = st.users.get(&key).ok_or_else(|| Self::no_user(name))?;
        if st.keys.values().any(|k| k.user_name == user.name) {
            return Err(IamError::DeleteConflict("Cannot delete entity, must delete access keys first.".to_owned()));
        }
        self.store.apply(&[Op::delete(NS_USERS, key.clone())])?;
        st.users.remove(&key);
        Ok(())
    }

    /// `TagUser`: adds or overwrites tags.
    ///
    /// # Errors
    /// `NoSuchEntity`, `InvalidInput`, `LimitExceeded` beyond 50 tags.
    pub fn tag_user(&self, name: &str, tags: Vec<Tag>) -> Result<(), IamError> {
        check_tags(&tags)?;
        self.update_user(name, |u| {
            let mut all = u.tags.clone();
            all.extend(tags);
            let all = dedup_tags(all);
            if all.len() > 50 {
                return Err(IamError::LimitExceeded("The number of tags has reached the maximum limit.".to_owned()));
            }
            u.tags = all;
            Ok(())
        })
    }

    /// `UntagUser`.
    ///
    /// # Errors
    /// `NoSuchEntity`.
    pub fn untag_user(&self, name: &str, keys: &[String]) -> Result<(), IamError> {
        self.update_user(name, |u| {
            u.tags.retain(|t| !keys.contains(&t.key));
            Ok(())
        })
    }

    fn update_user(&self, name: &str, f: impl FnOnce(&mut User) -> Result<(), IamError>) -> Result<(), IamError> {
        let mut st = self.write();
        let key = name.to_lowercase();
        let mut user = st.users.get(&key).cloned().ok_or_else(|| Self::no_user(name))?;
        f(&mut user)?;
        self.store.apply(&[Op::put(NS_USERS, key.clone(), encode(&user))])?;
        st.users.insert(key, user);
        Ok(())
    }

    // ----- access keys -----

    /// `CreateAccessKey` for `user`.
    ///
    /// # Errors
    /// `NoSuchEntity`, `LimitExceeded` beyond two keys.
    pub fn create_access_key(&self, user: &str) -> Result<AccessKey, IamError> {
        let mut st = self.write();
        let owner = st.users.get(&user.to_lowercase()).cloned().ok_or_else(|| Self::no_user(user))?;
        if st.keys.values().filter(|k| k.user_name == owner.name).count() >= ACCESS_KEYS_PER_USER {
            return Err(IamError::LimitExceeded(format!(
                "Cannot exceed quota for AccessKeysPerUser: {ACCESS_KEYS_PER_USER}"
            )));
        }
        let key = AccessKey {
            id: format!("AKIA{}", self.env.ids.chars(base::UPPER_ALNUM, 16)),
            secret: self.env.ids.chars(base::SECRET, 40),
            user_name: owner.name,
            status: KeyStatus::Active,
            create_date: self.env.clock.epoch().floor(),
        };
        self.store.apply(&[Op::put(NS_KEYS, key.id.clone(), encode(&key))])?;
        st.keys.insert(key.id.clone(), key.clone());
        Ok(key)
    }

    /// `ListAccessKeys` of `user`.
    ///
    /// # Errors
    /// `NoSuchEntity`, `InvalidInput` for a bad marker.
    pub fn list_access_keys(&self, user: &str, marker: Option<&str>, max_items: Option<usize>) -> Result<Page<AccessKey>, IamError> {
        let st = self.read();
        let owner = st.users.get(&user.to_lowercase()).ok_or_else(|| Self::no_user(user))?;
        page::paginate(
            st.keys.iter().filter(|(_, k)| k.user_name == owner.name).map(|(id, k)| (id.as_str(), k.clone())),
            marker,
            max_items,
        )
    }

    fn owned_key(st: &State, user: &str, id: &str) -> Result<AccessKey, IamError> {
        let owner = st.users.get(&user.to_lowercase()).ok_or_else(|| Self::no_user(user))?;
        st.keys
            .get(id)
            .filter(|k| k.user_name == owner.name)
            .cloned()
            .ok_or_else(|| IamError::NoSuchEntity(format!("The Access Key with id {id} cannot be found.")))
    }

    /// `UpdateAccessKey`: activate or deactivate.
    ///
    /// # Errors
    /// `NoSuchEntity`.
    pub fn update_access_key(&self, user: &str, id: &str, status: KeyStatus) -> Result<(), IamError> {
        let mut st = self.write();
        let mut key = Self::owned_key(&st, user, id)?;
        key.status = status;
        self.store.apply(&[Op::put(NS_KEYS, id, encode(&key))])?;
        st.keys.insert(id.to_owned(), key);
        Ok(())
    }

    /// `DeleteAccessKey`.
    ///
    /// # Errors
    /// `NoSuchEntity`.
    pub fn delete_access_key(&self, user: &str, id: &str) -> Result<(), IamError> {
        let mut st = self.write();
        Self::owned_key(&st, user, id)?;
        self.store.apply(&[Op::delete(NS_KEYS, id)])?;
        st.keys.remove(id);
        Ok(())
    }

    /// The owner of a long-term access key, for authentication.
    #[must_use]
    pub fn key_owner(&self, access_key_id: &str) -> Option<KeyOwner> {
        let st = self.read();
        let key = st.keys.get(access_key_id)?;
        let user = st.users.get(&key.user_name.to_lowercase())?.clone();
        Some(KeyOwner { secret: key.secret.clone(), status: key.status, user })
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
fn dedup_tags(tags: Vec<Tag>) -> Vec<Tag> {
    let mut out: Vec<Tag> = Vec::with_capacity(tags.len());
    for t in tags {
        if let Some(existing) = out.iter_mut().find(|e| e.key.eq_ignore_ascii_case(&t.key)) {
            *existing = t;
        } else {
            out.push(t);
        }
    }
    out
}

#[cfg(test)]
mod tests;
