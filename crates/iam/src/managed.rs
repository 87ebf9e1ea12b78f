//! Managed policies: the AWS-managed catalog (data, with AWS's real
//! documents) and customer-managed policies with their versions.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use state::Op;

use crate::page::{self, Page};
use crate::{check_path, check_tags, merge_tags, path_or_root, Iam, IamError, Tag, NS_POLICIES};

/// Versions a managed policy may have at once.
pub const MAX_VERSIONS: usize = 5;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyVersionRec {
    pub version_id: String,
    pub document: String,
    pub create_date: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManagedPolicy {
    pub name: String,
    pub id: String,
    pub arn: String,
    pub path: String,
    #[serde(default)]
    pub description: Option<String>,
    pub default_version_id: String,
    pub versions: Vec<PolicyVersionRec>,
    /// The number the next version gets (`v<N>`); AWS never reuses numbers.
    pub next_version: u32,
    pub create_date: f64,
    pub update_date: f64,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// Owned by AWS (`arn:aws:iam::aws:policy/...`).
    #[serde(default)]
    pub aws_managed: bool,
    /// Filled in on reads: how many users, groups and roles it is attached to.
    #[serde(skip)]
    pub attachment_count: usize,
    #[serde(skip)]
    pub boundary_usage_count: usize,
}

impl ManagedPolicy {
    #[must_use]
    pub fn default_document(&self) -> &str {
        self.versions.iter().find(|v| v.version_id == self.default_version_id).map_or("", |v| v.document.as_str())
    }

    /// Service-role policies (path `/aws-service-role/`) may only be attached to
    /// the service-linked role of their service.
    #[must_use]
    pub fn is_service_role_policy(&self) -> bool {
        self.aws_managed && self.path.starts_with("/aws-service-role/")
    }
}

/// Which policies `ListPolicies` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyScope {
    All,
    Aws,
    Local,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CatalogEntry {
    policy_name: String,
    path: String,
    default_version_id: String,
    create_date: String,
    update_date: String,
    document: serde_json::Value,
}

fn parse_date(s: &str) -> f64 {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| {
            #[allow(clippy::cast_precision_loss)]
            let secs = t.unix_timestamp() as f64;
            secs
        })
        .unwrap_or_default()
}

/// The AWS-managed policies daxd ships, keyed by ARN.
pub(crate) fn aws_catalog() -> &'static BTreeMap<String, ManagedPolicy> {
    static CATALOG: OnceLock<BTreeMap<String, ManagedPolicy>> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let entries: Vec<CatalogEntry> =
            serde_json::from_str(include_str!("../data/aws-managed-policies.json")).unwrap_or_default();
        entries
            .into_iter()
            .map(|e| {
                let arn = format!("arn:aws:iam::aws:policy{}{}", e.path, e.policy_name);
                // A stable id per policy, shaped like AWS's (ANPA + 17).
                let id = format!(
                    "ANPA{:0>17}",
                    e.policy_name
                        .to_uppercase()
                        .chars()
                        .filter(char::is_ascii_alphanumeric)
                        .take(17)
                        .collect::<String>()
                );
                let created = parse_date(&e.create_date);
                let p = ManagedPolicy {
                    name: e.policy_name,
                    id,
                    arn: arn.clone(),
                    path: e.path,
                    description: None,
                    default_version_id: e.default_version_id.clone(),
                    versions: vec![PolicyVersionRec {
                        version_id: e.default_version_id,
                        document: e.document.to_string(),
                        create_date: parse_date(&e.update_date),
                    }],
                    next_version: 0,
                    create_date: created,
                    update_date: parse_date(&e.update_date),
                    tags: Vec::new(),
                    aws_managed: true,
                    attachment_count: 0,
                    boundary_usage_count: 0,
                };
                (arn, p)
            })
            .collect()
    })
}

fn no_policy(arn: &str) -> IamError {
    IamError::NoSuchEntity(format!("Policy {arn} does not exist or is not attachable."))
}

impl Iam {
    /// The ARN a customer-managed policy of this account gets.
    #[must_use]
    pub fn policy_arn(&self, path: &str, name: &str) -> String {
        format!("arn:aws:iam::{}:policy{path}{name}", self.account)
    }

    /// A managed policy (AWS or customer) by ARN, with its usage counts.
    ///
    /// # Errors
    /// `NoSuchEntity`.
    pub fn managed_policy(&self, arn: &str) -> Result<ManagedPolicy, IamError> {
        let st = self.read();
        let mut p = st.policies.get(arn).or_else(|| aws_catalog().get(arn)).cloned().ok_or_else(|| no_policy(arn))?;
        p.attachment_count = Self::attachments(&st, arn);
        p.boundary_usage_count = Self::boundary_uses(&st, arn);
        Ok(p)
    }

    fn attachments(st: &crate::State, arn: &str) -> usize {
        let a = |h: &crate::Holder| usize::from(h.attached.iter().any(|x| x == arn));
        st.users.values().map(|u| a(&u.policies)).sum::<usize>()
            + st.groups.values().map(|g| a(&g.policies)).sum::<usize>()
            + st.roles.values().map(|r| a(&r.policies)).sum::<usize>()
    }

    fn boundary_uses(st: &crate::State, arn: &str) -> usize {
        st.users.values().filter(|u| u.permissions_boundary.as_deref() == Some(arn)).count()
            + st.roles.values().filter(|r| r.permissions_boundary.as_deref() == Some(arn)).count()
    }

    /// `CreatePolicy`.
    ///
    /// # Errors
    /// `EntityAlreadyExists`, `MalformedPolicyDocument`, `InvalidInput`.
    pub fn create_policy(
        &self,
        name: &str,
        path: Option<&str>,
        document: &str,
        description: Option<String>,
        tags: Vec<Tag>,
    ) -> Result<ManagedPolicy, IamError> {
        let path = path_or_root(path);
        check_path(&path)?;
        check_tags(&tags)?;
        check_managed_document(document)?;
        let arn = self.policy_arn(&path, name);
        let mut st = self.write();
        if st.policies.values().any(|p| p.name.eq_ignore_ascii_case(name)) {
            return Err(IamError::EntityAlreadyExists(format!(
                "A policy called {name} already exists. Duplicate names are not allowed."
            )));
        }
        let now = self.now();
        let p = ManagedPolicy {
            name: name.to_owned(),
            id: self.unique_id("ANPA"),
            arn: arn.clone(),
            path,
            description,
            default_version_id: "v1".to_owned(),
            versions: vec![PolicyVersionRec {
                version_id: "v1".to_owned(),
                document: document.to_owned(),
                create_date: now,
            }],
            next_version: 2,
            create_date: now,
            update_date: now,
            tags: merge_tags(&[], tags)?,
            aws_managed: false,
            attachment_count: 0,
            boundary_usage_count: 0,
        };
        self.persist(&[Op::put_json(NS_POLICIES, arn.clone(), &p)?])?;
        st.policies.insert(arn, p.clone());
        Ok(p)
    }

    /// `ListPolicies`.
    ///
    /// # Errors
    /// `InvalidInput` for a bad marker.
    pub fn list_policies(
        &self,
        scope: PolicyScope,
        only_attached: bool,
        usage: Option<crate::PolicyUsage>,
        path_prefix: Option<&str>,
        marker: Option<&str>,
        max_items: Option<usize>,
    ) -> Result<Page<ManagedPolicy>, IamError> {
        let prefix = path_or_root(path_prefix);
        let st = self.read();
        let mut all: Vec<ManagedPolicy> = Vec::new();
        if scope != PolicyScope::Local {
            all.extend(aws_catalog().values().cloned());
        }
        if scope != PolicyScope::Aws {
            all.extend(st.policies.values().cloned());
        }
        for p in &mut all {
            p.attachment_count = Self::attachments(&st, &p.arn);
            p.boundary_usage_count = Self::boundary_uses(&st, &p.arn);
        }
        // `PolicyUsageFilter`: policies in use as permissions policies, or as
        // permissions boundaries.
        let in_use = |p: &ManagedPolicy| match usage {
            None => true,
            Some(crate::PolicyUsage::PermissionsPolicy) => p.attachment_count > 0,
            Some(crate::PolicyUsage::PermissionsBoundary) => p.boundary_usage_count > 0,
        };
        all.retain(|p| p.path.starts_with(&prefix) && (!only_attached || p.attachment_count > 0) && in_use(p));
        all.sort_by(|a, b| a.arn.cmp(&b.arn));
        let keyed: Vec<(String, ManagedPolicy)> = all.into_iter().map(|p| (p.arn.clone(), p)).collect();
        page::paginate(keyed.iter().map(|(k, p)| (k.as_str(), p.clone())), marker, max_items)
    }

    fn update_policy(
        &self,
        arn: &str,
        f: impl FnOnce(&mut ManagedPolicy) -> Result<(), IamError>,
    ) -> Result<ManagedPolicy, IamError> {
        if aws_catalog().contains_key(arn) {
            return Err(IamError::InvalidInput(format!(
                "Policy {arn} is an AWS managed policy and cannot be modified."
            )));
        }
        let mut st = self.write();
        let mut p = st.policies.get(arn).cloned().ok_or_else(|| no_policy(arn))?;
        f(&mut p)?;
        self.persist(&[Op::put_json(NS_POLICIES, arn, &p)?])?;
        st.policies.insert(arn.to_owned(), p.clone());
        Ok(p)
    }

    /// `GetPolicyVersion`.
    ///
    /// # Errors
    /// `NoSuchEntity`.
    pub fn policy_version(&self, arn: &str, version_id: &str) -> Result<(ManagedPolicy, PolicyVersionRec), IamError> {
        let p = self.managed_policy(arn)?;
        let v = p.versions.iter().find(|v| v.version_id == version_id).cloned().ok_or_else(|| {
            IamError::NoSuchEntity(format!("Policy {arn} version {version_id} does not exist or is not attachable."))
        })?;
        Ok((p, v))
    }

    /// `CreatePolicyVersion`.
    ///
    /// # Errors
    /// `NoSuchEntity`, `MalformedPolicyDocument`, `LimitExceeded` at five versions.
    pub fn create_policy_version(
        &self,
        arn: &str,
        document: &str,
        set_as_default: bool,
    ) -> Result<PolicyVersionRec, IamError> {
        check_managed_document(document)?;
        let now = self.now();
        let mut created = None;
        self.update_policy(arn, |p| {
            if p.versions.len() >= MAX_VERSIONS {
                return Err(IamError::LimitExceeded(format!(
                    "A managed policy can have up to {MAX_VERSIONS} versions. Before you create a new version, you must delete an existing version."
                )));
            }
            let v = PolicyVersionRec { version_id: format!("v{}", p.next_version), document: document.to_owned(), create_date: now };
            p.next_version += 1;
            if set_as_default {
                p.default_version_id.clone_from(&v.version_id);
            }
            p.update_date = now;
            p.versions.push(v.clone());
            created = Some(v);
            Ok(())
        })?;
        created.ok_or_else(|| IamError::ServiceFailure("version was not created".to_owned()))
    }

    /// `SetDefaultPolicyVersion`.
    ///
    /// # Errors
    /// `NoSuchEntity`.
    pub fn set_default_policy_version(&self, arn: &str, version_id: &str) -> Result<(), IamError> {
        let now = self.now();
        self.update_policy(arn, |p| {
            if !p.versions.iter().any(|v| v.version_id == version_id) {
                return Err(IamError::NoSuchEntity(format!(
                    "Policy {arn} version {version_id} does not exist or is not attachable."
                )));
            }
            p.default_version_id = version_id.to_owned();
            p.update_date = now;
            Ok(())
        })
        .map(|_| ())
    }

    /// `DeletePolicyVersion`.
    ///
    /// # Errors
    /// `NoSuchEntity`, `DeleteConflict` for the default version.
    pub fn delete_policy_version(&self, arn: &str, version_id: &str) -> Result<(), IamError> {
        self.update_policy(arn, |p| {
            if p.default_version_id == version_id {
                return Err(IamError::DeleteConflict("Cannot delete the default version of a policy.".to_owned()));
            }
            let before = p.versions.len();
            p.versions.retain(|v| v.version_id != version_id);
            if p.versions.len() == before {
                return Err(IamError::NoSuchEntity(format!(
                    "Policy {arn} version {version_id} does not exist or is not attachable."
                )));
            }
            Ok(())
        })
        .map(|_| ())
    }

    /// `DeletePolicy`.
    ///
    /// # Errors
    /// `NoSuchEntity`, `DeleteConflict` while attached or with extra versions.
    pub fn delete_policy(&self, arn: &str) -> Result<(), IamError> {
        if aws_catalog().contains_key(arn) {
            return Err(IamError::InvalidInput(format!(
                "Policy {arn} is an AWS managed policy and cannot be deleted."
            )));
        }
        let mut st = self.write();
        let p = st.policies.get(arn).ok_or_else(|| no_policy(arn))?;
        if Self::attachments(&st, arn) > 0 {
            return Err(IamError::DeleteConflict("Cannot delete a policy attached to entities.".to_owned()));
        }
        if Self::boundary_uses(&st, arn) > 0 {
            return Err(IamError::DeleteConflict("Cannot delete a policy used as a permissions boundary.".to_owned()));
        }
        if p.versions.len() > 1 {
            return Err(IamError::DeleteConflict(
                "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.".to_owned(),
            ));
        }
        self.persist(&[Op::delete(NS_POLICIES, arn)])?;
        st.policies.remove(arn);
        Ok(())
    }

    /// `TagPolicy` / `UntagPolicy`.
    ///
    /// # Errors
    /// `NoSuchEntity`, `InvalidInput`, `LimitExceeded`.
    pub fn tag_policy(&self, arn: &str, add: Vec<Tag>, remove: &[String]) -> Result<(), IamError> {
        self.update_policy(arn, |p| {
            p.tags = merge_tags(&p.tags, add)?;
            p.tags.retain(|t| !remove.contains(&t.key));
            Ok(())
        })
        .map(|_| ())
    }
}

/// A customer-managed document: the grammar, and the 6,144-character limit.
fn check_managed_document(document: &str) -> Result<(), IamError> {
    if policy::policy_size(document) > policy::MAX_MANAGED_POLICY_SIZE {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for PolicySize: {}",
            policy::MAX_MANAGED_POLICY_SIZE
        )));
    }
    policy::parse_managed(document)?;
    Ok(())
}
