//! Groups and their membership.

use state::Op;

use crate::page::{self, Page};
use crate::{check_path, path_or_root, Group, Holder, Iam, IamError, User, NS_GROUPS};

fn no_group(name: &str) -> IamError {
    IamError::NoSuchEntity(format!("The group with name {name} cannot be found."))
}

impl Iam {
    /// `CreateGroup`.
    ///
    /// # Errors
    /// `EntityAlreadyExists`, `InvalidInput`.
    pub fn create_group(&self, name: &str, path: Option<&str>) -> Result<Group, IamError> {
        let path = path_or_root(path);
        check_path(&path)?;
        let mut st = self.write();
        if st.groups.contains_key(&name.to_lowercase()) {
            return Err(IamError::EntityAlreadyExists(format!("Group with name {name} already exists.")));
        }
        let g = Group {
            name: name.to_owned(),
            id: self.unique_id("AGPA"),
            arn: format!("arn:aws:iam::{}:group{path}{name}", self.account),
            path,
            create_date: self.now(),
            members: Vec::new(),
            policies: Holder::default(),
        };
        self.persist(&[Op::put_json(NS_GROUPS, name.to_lowercase(), &g)?])?;
        st.groups.insert(name.to_lowercase(), g.clone());
        Ok(g)
    }

    /// `GetGroup`: the group and its members.
    ///
    /// # Errors
    /// `NoSuchEntity`.
    pub fn get_group(&self, name: &str) -> Result<(Group, Vec<User>), IamError> {
        let st = self.read();
        let g = st.groups.get(&name.to_lowercase()).cloned().ok_or_else(|| no_group(name))?;
        let users = g.members.iter().filter_map(|m| st.users.get(&m.to_lowercase()).cloned()).collect();
        Ok((g, users))
    }

    /// `ListGroups`.
    ///
    /// # Errors
    /// `InvalidInput` for a bad marker.
    pub fn list_groups(
        &self,
        path_prefix: Option<&str>,
        marker: Option<&str>,
        max_items: Option<usize>,
    ) -> Result<Page<Group>, IamError> {
        let prefix = path_or_root(path_prefix);
        let st = self.read();
        page::paginate(
            st.groups.iter().filter(|(_, g)| g.path.starts_with(&prefix)).map(|(k, g)| (k.as_str(), g.clone())),
            marker,
            max_items,
        )
    }

    /// `ListGroupsForUser`.
    ///
    /// # Errors
    /// `NoSuchEntity`.
    pub fn groups_for_user(&self, user: &str) -> Result<Vec<Group>, IamError> {
        let u = self.get_user(user)?;
        Ok(self.read().groups.values().filter(|g| g.members.contains(&u.name)).cloned().collect())
    }

    fn update_group(
        &self,
        name: &str,
        f: impl FnOnce(&mut Group, &crate::State) -> Result<(), IamError>,
    ) -> Result<(), IamError> {
        let mut st = self.write();
        let key = name.to_lowercase();
        let mut g = st.groups.get(&key).cloned().ok_or_else(|| no_group(name))?;
        f(&mut g, &st)?;
        self.persist(&[Op::put_json(NS_GROUPS, key.clone(), &g)?])?;
        st.groups.insert(key, g);
        Ok(())
    }

    /// `AddUserToGroup`.
    ///
    /// # Errors
    /// `NoSuchEntity` for the group or the user.
    pub fn add_user_to_group(&self, group: &str, user: &str) -> Result<(), IamError> {
        self.update_group(group, |g, st| {
            let u = st.users.get(&user.to_lowercase()).ok_or_else(|| Self::no_user(user))?;
            if !g.members.contains(&u.name) {
                g.members.push(u.name.clone());
            }
            Ok(())
        })
    }

    /// `RemoveUserFromGroup`.
    ///
    /// # Errors
    /// `NoSuchEntity` for the group, the user, or a user not in the group.
    pub fn remove_user_from_group(&self, group: &str, user: &str) -> Result<(), IamError> {
        self.update_group(group, |g, st| {
            let u = st.users.get(&user.to_lowercase()).ok_or_else(|| Self::no_user(user))?;
            let before = g.members.len();
            g.members.retain(|m| m != &u.name);
            if g.members.len() == before {
                return Err(IamError::NoSuchEntity(format!("User {user} is not in group {}.", g.name)));
            }
            Ok(())
        })
    }

    /// `DeleteGroup`.
    ///
    /// # Errors
    /// `NoSuchEntity`, `DeleteConflict` while it has members or policies.
    pub fn delete_group(&self, name: &str) -> Result<(), IamError> {
        let mut st = self.write();
        let key = name.to_lowercase();
        let g = st.groups.get(&key).ok_or_else(|| no_group(name))?;
        let conflict = |what: &str| Err(IamError::DeleteConflict(format!("Cannot delete entity, must {what} first.")));
        if !g.members.is_empty() {
            return conflict("remove users from group");
        }
        if !g.policies.inline.is_empty() {
            return conflict("delete policies");
        }
        if !g.policies.attached.is_empty() {
            return conflict("detach all policies");
        }
        self.persist(&[Op::delete(NS_GROUPS, key.clone())])?;
        st.groups.remove(&key);
        Ok(())
    }
}
