//! Roles, with the protections AWS gives service-linked roles.

use state::Op;

use crate::page::{self, Page};
use crate::{check_path, merge_tags, path_or_root, Holder, Iam, IamError, LastUsed, Role, State, Tag, NS_ROLES};

/// AWS's text for a change to a service-linked role.
pub(crate) fn unmodifiable(name: &str) -> IamError {
    IamError::UnmodifiableEntity(format!(
        "Cannot perform the operation on the protected role '{name}' - this role is only modifiable by AWS"
    ))
}

pub(crate) fn no_role(name: &str) -> IamError {
    IamError::NoSuchEntity(format!("The role with name {name} cannot be found."))
}

/// `CreateRole`'s input.
#[derive(Debug, Clone, Default)]
pub struct CreateRole {
    pub name: String,
    pub path: Option<String>,
    pub assume_role_policy: String,
    pub description: Option<String>,
    pub max_session_duration: Option<u32>,
    pub permissions_boundary: Option<String>,
    pub tags: Vec<Tag>,
}

/// `UpdateRole`'s input.
#[derive(Debug, Clone, Default)]
pub struct RoleUpdate {
    pub description: Option<String>,
    pub max_session_duration: Option<u32>,
}

impl Iam {
    /// `CreateRole`. The `/aws-service-role/` path is reserved for
    /// service-linked roles.
    ///
    /// # Errors
    /// `EntityAlreadyExists`, `MalformedPolicyDocument`, `InvalidInput`, `NoSuchEntity` (boundary).
    pub fn create_role(&self, input: CreateRole) -> Result<Role, IamError> {
        let path = path_or_root(input.path.as_deref());
        check_path(&path)?;
        if path.starts_with("/aws-service-role/") {
            return Err(IamError::InvalidInput(
                "Path prefix '/aws-service-role/' can only be used for AWS Service linked Roles".to_owned(),
            ));
        }
        check_trust(&input.assume_role_policy)?;
        if let Some(b) = &input.permissions_boundary {
            self.managed_policy(b)?;
        }
        let role = Role {
            id: self.unique_id("AROA"),
            arn: format!("arn:aws:iam::{}:role{path}{}", self.account, input.name),
            name: input.name,
            path,
            create_date: self.now(),
            assume_role_policy: input.assume_role_policy,
            description: input.description,
            max_session_duration: input.max_session_duration.unwrap_or(3600),
            permissions_boundary: input.permissions_boundary,
            tags: merge_tags(&[], input.tags)?,
            last_used: None,
            policies: Holder::default(),
            linked_service: None,
        };
        self.insert_role(role)
    }

    pub(crate) fn insert_role(&self, role: Role) -> Result<Role, IamError> {
        let mut st = self.write();
        let key = role.name.to_lowercase();
        if st.roles.contains_key(&key) {
            return Err(IamError::EntityAlreadyExists(format!("Role with name {} already exists.", role.name)));
        }
        self.persist(&[Op::put_json(NS_ROLES, key.clone(), &role)?])?;
        st.roles.insert(key, role.clone());
        Ok(role)
    }

    /// `GetRole`.
    ///
    /// # Errors
    /// `NoSuchEntity`.
    pub fn get_role(&self, name: &str) -> Result<Role, IamError> {
        self.read().roles.get(&name.to_lowercase()).cloned().ok_or_else(|| no_role(name))
    }

    /// A role by ARN.
    #[must_use]
    pub fn role_by_arn(&self, arn: &str) -> Option<Role> {
        self.read().roles.values().find(|r| r.arn == arn).cloned()
    }

    /// `ListRoles`.
    ///
    /// # Errors
    /// `InvalidInput` for a bad marker.
    pub fn list_roles(
        &self,
        path_prefix: Option<&str>,
        marker: Option<&str>,
        max_items: Option<usize>,
    ) -> Result<Page<Role>, IamError> {
        let prefix = path_or_root(path_prefix);
        let st = self.read();
        page::paginate(
            st.roles.iter().filter(|(_, r)| r.path.starts_with(&prefix)).map(|(k, r)| (k.as_str(), r.clone())),
            marker,
            max_items,
        )
    }

    fn update_role_with(
        &self,
        name: &str,
        f: impl FnOnce(&mut Role) -> Result<(), IamError>,
    ) -> Result<Role, IamError> {
        let mut st = self.write();
        let key = name.to_lowercase();
        let mut role = st.roles.get(&key).cloned().ok_or_else(|| no_role(name))?;
        f(&mut role)?;
        self.persist(&[Op::put_json(NS_ROLES, key.clone(), &role)?])?;
        st.roles.insert(key, role.clone());
        Ok(role)
    }

    /// `UpdateRole`. On a service-linked role only the description may change.
    ///
    /// # Errors
    /// `NoSuchEntity`, `UnmodifiableEntity`.
    pub fn update_role(&self, name: &str, update: RoleUpdate) -> Result<Role, IamError> {
        self.update_role_with(name, |r| {
            if let Some(d) = update.max_session_duration {
                if r.linked_service.is_some() && d != r.max_session_duration {
                    return Err(unmodifiable(&r.name));
                }
                r.max_session_duration = d;
            }
            if let Some(desc) = update.description {
                r.description = Some(desc);
            }
            Ok(())
        })
    }

    /// `UpdateAssumeRolePolicy`.
    ///
    /// # Errors
    /// `NoSuchEntity`, `MalformedPolicyDocument`, `UnmodifiableEntity`.
    pub fn update_assume_role_policy(&self, name: &str, document: &str) -> Result<(), IamError> {
        self.update_role_with(name, |r| {
            if r.linked_service.is_some() {
                return Err(unmodifiable(&r.name));
            }
            check_trust(document)?;
            r.assume_role_policy = document.to_owned();
            Ok(())
        })
        .map(|_| ())
    }

    /// `PutRolePermissionsBoundary` / `DeleteRolePermissionsBoundary`.
    ///
    /// # Errors
    /// `NoSuchEntity`, `UnmodifiableEntity`.
    pub fn set_role_boundary(&self, name: &str, boundary: Option<String>) -> Result<(), IamError> {
        if let Some(b) = &boundary {
            self.managed_policy(b)?;
        }
        self.update_role_with(name, |r| {
            if r.linked_service.is_some() {
                return Err(unmodifiable(&r.name));
            }
            r.permissions_boundary = boundary;
            Ok(())
        })
        .map(|_| ())
    }

    /// `TagRole` / `UntagRole` (allowed on service-linked roles too).
    ///
    /// # Errors
    /// `NoSuchEntity`, `InvalidInput`, `LimitExceeded`.
    pub fn tag_role(&self, name: &str, add: Vec<Tag>, remove: &[String]) -> Result<(), IamError> {
        self.update_role_with(name, |r| {
            r.tags = merge_tags(&r.tags, add)?;
            r.tags.retain(|t| !remove.contains(&t.key));
            Ok(())
        })
        .map(|_| ())
    }

    /// `DeleteRole`. A service-linked role goes only through
    /// `DeleteServiceLinkedRole`.
    ///
    /// # Errors
    /// `NoSuchEntity`, `UnmodifiableEntity`, `DeleteConflict`.
    pub fn delete_role(&self, name: &str) -> Result<(), IamError> {
        let role = self.get_role(name)?;
        if role.linked_service.is_some() {
            return Err(unmodifiable(&role.name));
        }
        if !role.policies.inline.is_empty() {
            return Err(IamError::DeleteConflict("Cannot delete entity, must delete policies first.".to_owned()));
        }
        if !role.policies.attached.is_empty() {
            return Err(IamError::DeleteConflict("Cannot delete entity, must detach all policies first.".to_owned()));
        }
        self.remove_role(&role)
    }

    pub(crate) fn remove_role(&self, role: &Role) -> Result<(), IamError> {
        let mut st = self.write();
        self.persist(&removal_ops(&st, role))?;
        forget_role(&mut st, role);
        Ok(())
    }

    /// `Add/RemoveRoleFromInstanceProfile`. daxd has no instance profiles;
    /// a service-linked role is refused before the profile is looked up.
    ///
    /// # Errors
    /// `UnmodifiableEntity` for a service-linked role, else `NoSuchEntity`.
    pub fn instance_profile_role_change(&self, profile: &str, role: &str) -> Result<(), IamError> {
        let r = self.get_role(role)?;
        if r.linked_service.is_some() {
            return Err(unmodifiable(&r.name));
        }
        Err(IamError::NoSuchEntity(format!("Instance Profile {profile} cannot be found.")))
    }

    /// Record that a role was used now in `region` (`RoleLastUsed`).
    pub fn stamp_role_used(&self, role_arn: &str, region: &str) {
        let now = self.now();
        let mut st = self.write();
        if let Some(r) = st.roles.values_mut().find(|r| r.arn == role_arn) {
            r.last_used = Some(LastUsed { date: now, region: region.to_owned() });
            let key = r.name.to_lowercase();
            drop(st);
            self.mark_dirty(format!("role:{key}"));
        }
    }
}

/// The batch that removes `role` and its access records from the store.
pub(crate) fn removal_ops(st: &State, role: &Role) -> Vec<Op> {
    let mut ops = vec![Op::delete(NS_ROLES, role.name.to_lowercase())];
    if st.activity.contains_key(&role.arn) {
        ops.push(Op::delete(crate::NS_ACTIVITY, role.arn.clone()));
    }
    ops
}

/// Drop `role` and its access records from memory, once [`removal_ops`] is persisted.
pub(crate) fn forget_role(st: &mut State, role: &Role) {
    st.roles.remove(&role.name.to_lowercase());
    st.activity.remove(&role.arn);
}

fn check_trust(document: &str) -> Result<(), IamError> {
    if policy::policy_size(document) > policy::MAX_TRUST_POLICY_SIZE {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for ACLSizePerRole: {}",
            policy::MAX_TRUST_POLICY_SIZE
        )));
    }
    policy::parse_trust_policy(document)?;
    Ok(())
}
