//! Inline and attached policies of users, groups and roles.

use state::Op;

use crate::managed::aws_catalog;
use crate::{Holder, Iam, IamError, State, MANAGED_POLICIES_PER_ENTITY, NS_GROUPS, NS_ROLES, NS_USERS};

/// The three kinds of identity that carry policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityKind {
    User,
    Group,
    Role,
}

impl EntityKind {
    fn word(self) -> &'static str {
        match self {
            EntityKind::User => "user",
            EntityKind::Group => "group",
            EntityKind::Role => "role",
        }
    }

    fn quota(self) -> &'static str {
        match self {
            EntityKind::User => "PoliciesPerUser",
            EntityKind::Group => "PoliciesPerGroup",
            EntityKind::Role => "PoliciesPerRole",
        }
    }

    fn inline_limit(self) -> usize {
        match self {
            EntityKind::User => policy::MAX_USER_INLINE_POLICY_SIZE,
            EntityKind::Group => policy::MAX_GROUP_INLINE_POLICY_SIZE,
            EntityKind::Role => policy::MAX_ROLE_INLINE_POLICY_SIZE,
        }
    }
}

fn no_entity(kind: EntityKind, name: &str) -> IamError {
    match kind {
        EntityKind::User => Iam::no_user(name),
        EntityKind::Group => IamError::NoSuchEntity(format!("The group with name {name} cannot be found.")),
        EntityKind::Role => IamError::NoSuchEntity(format!("The role with name {name} cannot be found.")),
    }
}

impl Iam {
    /// Apply `f` to an entity's policies and persist the entity.
    fn with_holder<T>(
        &self,
        kind: EntityKind,
        name: &str,
        f: impl FnOnce(&mut Holder, Option<&str>) -> Result<T, IamError>,
    ) -> Result<T, IamError> {
        let key = name.to_lowercase();
        let mut st = self.write();
        match kind {
            EntityKind::User => {
                let mut u = st.users.get(&key).cloned().ok_or_else(|| no_entity(kind, name))?;
                let out = f(&mut u.policies, None)?;
                self.persist(&[Op::put_json(NS_USERS, key.clone(), &u)?])?;
                st.users.insert(key, u);
                Ok(out)
            }
            EntityKind::Group => {
                let mut g = st.groups.get(&key).cloned().ok_or_else(|| no_entity(kind, name))?;
                let out = f(&mut g.policies, None)?;
                self.persist(&[Op::put_json(NS_GROUPS, key.clone(), &g)?])?;
                st.groups.insert(key, g);
                Ok(out)
            }
            EntityKind::Role => {
                let mut r = st.roles.get(&key).cloned().ok_or_else(|| no_entity(kind, name))?;
                let linked = r.linked_service.clone();
                let out = f(&mut r.policies, linked.as_deref())?;
                self.persist(&[Op::put_json(NS_ROLES, key.clone(), &r)?])?;
                st.roles.insert(key, r);
                Ok(out)
            }
        }
    }

    fn holder(&self, kind: EntityKind, name: &str) -> Result<Holder, IamError> {
        let st = self.read();
        Self::holder_in(&st, kind, name).cloned().ok_or_else(|| no_entity(kind, name))
    }

    pub(crate) fn holder_in<'a>(st: &'a State, kind: EntityKind, name: &str) -> Option<&'a Holder> {
        let key = name.to_lowercase();
        match kind {
            EntityKind::User => st.users.get(&key).map(|u| &u.policies),
            EntityKind::Group => st.groups.get(&key).map(|g| &g.policies),
            EntityKind::Role => st.roles.get(&key).map(|r| &r.policies),
        }
    }

    /// `Put{User,Group,Role}Policy`.
    ///
    /// # Errors
    /// `NoSuchEntity`, `MalformedPolicyDocument`, `LimitExceeded`,
    /// `UnmodifiableEntity` on a service-linked role.
    pub fn put_inline_policy(
        &self,
        kind: EntityKind,
        name: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), IamError> {
        if policy::policy_size(document) > kind.inline_limit() {
            return Err(IamError::LimitExceeded(format!(
                "Maximum policy size of {} bytes exceeded for {} {name}",
                kind.inline_limit(),
                kind.word()
            )));
        }
        policy::parse(document)?;
        self.with_holder(kind, name, |h, linked| {
            protect(kind, name, linked)?;
            h.inline.insert(policy_name.to_owned(), document.to_owned());
            Ok(())
        })
    }

    /// `Get{User,Group,Role}Policy`: the document as it was put.
    ///
    /// # Errors
    /// `NoSuchEntity`.
    pub fn inline_policy(&self, kind: EntityKind, name: &str, policy_name: &str) -> Result<String, IamError> {
        self.holder(kind, name)?.inline.get(policy_name).cloned().ok_or_else(|| {
            IamError::NoSuchEntity(format!("The {} policy with name {policy_name} cannot be found.", kind.word()))
        })
    }

    /// `List{User,Group,Role}Policies`: the inline policy names.
    ///
    /// # Errors
    /// `NoSuchEntity`.
    pub fn inline_policy_names(&self, kind: EntityKind, name: &str) -> Result<Vec<String>, IamError> {
        Ok(self.holder(kind, name)?.inline.keys().cloned().collect())
    }

    /// `Delete{User,Group,Role}Policy`.
    ///
    /// # Errors
    /// `NoSuchEntity`, `UnmodifiableEntity` on a service-linked role.
    pub fn delete_inline_policy(&self, kind: EntityKind, name: &str, policy_name: &str) -> Result<(), IamError> {
        self.with_holder(kind, name, |h, linked| {
            protect(kind, name, linked)?;
            h.inline.remove(policy_name).map(|_| ()).ok_or_else(|| {
                IamError::NoSuchEntity(format!("The {} policy with name {policy_name} cannot be found.", kind.word()))
            })
        })
    }

    /// `Attach{User,Group,Role}Policy`.
    ///
    /// # Errors
    /// `NoSuchEntity`, `LimitExceeded`, `UnmodifiableEntity` on a service-linked
    /// role, `PolicyNotAttachable` for a service-role policy elsewhere.
    pub fn attach_policy(&self, kind: EntityKind, name: &str, arn: &str) -> Result<(), IamError> {
        let policy = self.managed_policy(arn)?;
        self.with_holder(kind, name, |h, linked| {
            protect(kind, name, linked)?;
            if policy.is_service_role_policy() {
                return Err(IamError::PolicyNotAttachable(
                    "AWS service role policies can only be attached to the service-linked role for that service."
                        .to_owned(),
                ));
            }
            if h.attached.iter().any(|a| a == arn) {
                return Ok(());
            }
            if h.attached.len() >= MANAGED_POLICIES_PER_ENTITY {
                return Err(IamError::LimitExceeded(format!(
                    "Cannot exceed quota for {}: {MANAGED_POLICIES_PER_ENTITY}",
                    kind.quota()
                )));
            }
            h.attached.push(arn.to_owned());
            Ok(())
        })
    }

    /// `Detach{User,Group,Role}Policy`.
    ///
    /// # Errors
    /// `NoSuchEntity` (entity, or policy not attached), `UnmodifiableEntity`.
    pub fn detach_policy(&self, kind: EntityKind, name: &str, arn: &str) -> Result<(), IamError> {
        self.with_holder(kind, name, |h, linked| {
            protect(kind, name, linked)?;
            let before = h.attached.len();
            h.attached.retain(|a| a != arn);
            if h.attached.len() == before {
                return Err(IamError::NoSuchEntity(format!("Policy {arn} was not found.")));
            }
            Ok(())
        })
    }

    /// `ListAttached{User,Group,Role}Policies`: `(name, arn)` pairs.
    ///
    /// # Errors
    /// `NoSuchEntity`.
    pub fn attached_policies(
        &self,
        kind: EntityKind,
        name: &str,
        path_prefix: Option<&str>,
    ) -> Result<Vec<(String, String)>, IamError> {
        let h = self.holder(kind, name)?;
        let st = self.read();
        Ok(h.attached
            .iter()
            .filter_map(|arn| st.policies.get(arn).or_else(|| aws_catalog().get(arn)))
            .filter(|p| path_prefix.is_none_or(|pre| p.path.starts_with(pre)))
            .map(|p| (p.name.clone(), p.arn.clone()))
            .collect())
    }

    /// `ListEntitiesForPolicy`: `(kind, name, id)` of the entities that use
    /// the policy, as a permissions policy (attached) or as their permissions
    /// boundary, in the order kind then name.
    ///
    /// `kinds` keeps only those kinds (`EntityFilter`; `None`: all), `usage`
    /// only one use (`PolicyUsageFilter`; `None`: both), `path_prefix` only
    /// entities under that path.
    ///
    /// # Errors
    /// `NoSuchEntity` for a policy that does not exist, `InvalidInput` for a bad marker.
    pub fn list_entities_for_policy(
        &self,
        arn: &str,
        kinds: Option<EntityKind>,
        usage: Option<PolicyUsage>,
        path_prefix: Option<&str>,
        marker: Option<&str>,
        max_items: Option<usize>,
    ) -> Result<crate::Page<(EntityKind, String, String)>, IamError> {
        self.managed_policy(arn)?;
        let st = self.read();
        let prefix = path_prefix.unwrap_or("/");
        let uses = |h: &Holder, boundary: Option<&String>| {
            let attached = h.attached.iter().any(|a| a == arn);
            let bounds = boundary.is_some_and(|b| b == arn);
            match usage {
                None => attached || bounds,
                Some(PolicyUsage::PermissionsPolicy) => attached,
                Some(PolicyUsage::PermissionsBoundary) => bounds,
            }
        };
        let mut out: Vec<(String, (EntityKind, String, String))> = Vec::new();
        let mut add = |kind: EntityKind, path: &str, name: &str, id: &str| {
            if kinds.is_none_or(|k| k == kind) && path.starts_with(prefix) {
                out.push((format!("{}/{name}", kind.word()), (kind, name.to_owned(), id.to_owned())));
            }
        };
        for u in st.users.values().filter(|u| uses(&u.policies, u.permissions_boundary.as_ref())) {
            add(EntityKind::User, &u.path, &u.name, &u.id);
        }
        for g in st.groups.values().filter(|g| uses(&g.policies, None)) {
            add(EntityKind::Group, &g.path, &g.name, &g.id);
        }
        for r in st.roles.values().filter(|r| uses(&r.policies, r.permissions_boundary.as_ref())) {
            add(EntityKind::Role, &r.path, &r.name, &r.id);
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        crate::page::paginate(out.iter().map(|(k, e)| (k.as_str(), e.clone())), marker, max_items)
    }
}

/// How an entity uses a managed policy (`PolicyUsageFilter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyUsage {
    PermissionsPolicy,
    PermissionsBoundary,
}

/// A service-linked role's permissions belong to its service.
pub(crate) fn protect(kind: EntityKind, name: &str, linked: Option<&str>) -> Result<(), IamError> {
    if kind == EntityKind::Role && linked.is_some() {
        return Err(crate::roles::unmodifiable(name));
    }
    Ok(())
}
