//! Users and their access keys.

use state::Op;

use crate::page::{self, Page};
use crate::{
    check_path, check_tags, merge_tags, path_or_root, AccessKey, Iam, IamError, KeyOwner, KeyStatus, Tag, User,
    ACCESS_KEYS_PER_USER, NS_KEYS, NS_USERS,
};

impl Iam {
    pub(crate) fn no_user(name: &str) -> IamError {
        IamError::NoSuchEntity(format!("The user with name {name} cannot be found."))
    }

    /// The ARN of a user, whether or not it exists.
    #[must_use]
    pub fn user_arn(&self, path: &str, name: &str) -> String {
        format!("arn:aws:iam::{}:user{path}{name}", self.account)
    }

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
        if let Some(b) = &permissions_boundary {
            self.managed_policy(b)?;
        }
        let mut st = self.write();
        if st.users.contains_key(&name.to_lowercase()) {
            return Err(IamError::EntityAlreadyExists(format!("User with name {name} already exists.")));
        }
        let user = User {
            name: name.to_owned(),
            id: self.unique_id("AIDA"),
            arn: self.user_arn(&path, name),
            path,
            create_date: self.now(),
            tags: merge_tags(&[], tags)?,
            permissions_boundary,
            policies: crate::Holder::default(),
        };
        self.persist(&[Op::put_json(NS_USERS, name.to_lowercase(), &user)?])?;
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
    /// `InvalidInput` for a bad marker.
    pub fn list_users(
        &self,
        path_prefix: Option<&str>,
        marker: Option<&str>,
        max_items: Option<usize>,
    ) -> Result<Page<User>, IamError> {
        let prefix = path_or_root(path_prefix);
        let st = self.read();
        page::paginate(
            st.users.iter().filter(|(_, u)| u.path.starts_with(&prefix)).map(|(k, u)| (k.as_str(), u.clone())),
            marker,
            max_items,
        )
    }

    /// `DeleteUser`. AWS refuses while the user still has keys, policies or groups.
    ///
    /// # Errors
    /// `NoSuchEntity`, `DeleteConflict`.
    pub fn delete_user(&self, name: &str) -> Result<(), IamError> {
        let mut st = self.write();
        let key = name.to_lowercase();
        let user = st.users.get(&key).ok_or_else(|| Self::no_user(name))?;
        let conflict = |what: &str| Err(IamError::DeleteConflict(format!("Cannot delete entity, must {what} first.")));
        if st.login_profiles.contains_key(&key) {
            return conflict("delete login profile");
        }
        if st.keys.values().any(|k| k.user_name == user.name) {
            return conflict("delete access keys");
        }
        if !user.policies.inline.is_empty() {
            return conflict("delete policies");
        }
        if !user.policies.attached.is_empty() {
            return conflict("detach all policies");
        }
        if st.groups.values().any(|g| g.members.contains(&user.name)) {
            return conflict("remove user from all groups");
        }
        let mut ops = vec![Op::delete(NS_USERS, key.clone())];
        let arn = user.arn.clone();
        if st.activity.contains_key(&arn) {
            ops.push(Op::delete(crate::NS_ACTIVITY, arn.clone()));
        }
        self.persist(&ops)?;
        st.users.remove(&key);
        st.activity.remove(&arn);
        Ok(())
    }

    /// `TagUser`: adds or overwrites tags.
    ///
    /// # Errors
    /// `NoSuchEntity`, `InvalidInput`, `LimitExceeded` beyond 50 tags.
    pub fn tag_user(&self, name: &str, tags: Vec<Tag>) -> Result<(), IamError> {
        self.update_user(name, |u| {
            u.tags = merge_tags(&u.tags, tags)?;
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

    /// `PutUserPermissionsBoundary` / `DeleteUserPermissionsBoundary`.
    ///
    /// # Errors
    /// `NoSuchEntity` for the user or the policy.
    pub fn set_user_boundary(&self, name: &str, boundary: Option<String>) -> Result<(), IamError> {
        if let Some(b) = &boundary {
            self.managed_policy(b)?;
        }
        self.update_user(name, |u| {
            u.permissions_boundary = boundary;
            Ok(())
        })
    }

    pub(crate) fn update_user(
        &self,
        name: &str,
        f: impl FnOnce(&mut User) -> Result<(), IamError>,
    ) -> Result<(), IamError> {
        let mut st = self.write();
        let key = name.to_lowercase();
        let mut user = st.users.get(&key).cloned().ok_or_else(|| Self::no_user(name))?;
        f(&mut user)?;
        self.persist(&[Op::put_json(NS_USERS, key.clone(), &user)?])?;
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
            create_date: self.now(),
        };
        self.persist(&[Op::put_json(NS_KEYS, key.id.clone(), &key)?])?;
        st.keys.insert(key.id.clone(), key.clone());
        Ok(key)
    }

    /// `ListAccessKeys` of `user`.
    ///
    /// # Errors
    /// `NoSuchEntity`, `InvalidInput` for a bad marker.
    pub fn list_access_keys(
        &self,
        user: &str,
        marker: Option<&str>,
        max_items: Option<usize>,
    ) -> Result<Page<AccessKey>, IamError> {
        let st = self.read();
        let owner = st.users.get(&user.to_lowercase()).ok_or_else(|| Self::no_user(user))?;
        page::paginate(
            st.keys.iter().filter(|(_, k)| k.user_name == owner.name).map(|(id, k)| (id.as_str(), k.clone())),
            marker,
            max_items,
        )
    }

    fn owned_key(st: &crate::State, user: &str, id: &str) -> Result<AccessKey, IamError> {
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
        self.persist(&[Op::put_json(NS_KEYS, id, &key)?])?;
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
        self.persist(&[Op::delete(NS_KEYS, id)])?;
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
