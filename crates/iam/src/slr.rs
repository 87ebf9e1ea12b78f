//! Service-linked roles: the catalog of linked services (data), their
//! creation, and their asynchronous deletion, which asks the linked service
//! whether it still uses the role.

use serde::{Deserialize, Serialize};
use state::Op;

use crate::roles::{self, no_role};
use crate::{Holder, Iam, IamError, Role, NS_TASKS};

/// The service principal of DAX.
pub const DAX_SERVICE: &str = "dax.amazonaws.com";
/// The name of DAX's service-linked role.
pub const DAX_SLR_NAME: &str = "AWSServiceRoleForDAX";

/// One service that defines a service-linked role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedService {
    pub principal: &'static str,
    pub role_name: &'static str,
    pub policies: &'static [&'static str],
    pub suffix_allowed: bool,
}

/// The service principal of the AWS Fault Injection Service.
pub const FIS_SERVICE: &str = "fis.amazonaws.com";
/// The name of FIS's service-linked role, which its first StartExperiment creates.
pub const FIS_SLR_NAME: &str = "AWSServiceRoleForFIS";

/// The linked services daxd knows: each role's name, trust (its service principal) and
/// the AWS managed policy AWS attaches to it, exactly as AWS documents them.
pub const CATALOG: &[LinkedService] = &[
    LinkedService {
        principal: DAX_SERVICE,
        role_name: DAX_SLR_NAME,
        policies: &["arn:aws:iam::aws:policy/aws-service-role/DAXServiceRolePolicy"],
        suffix_allowed: false,
    },
    LinkedService {
        principal: FIS_SERVICE,
        role_name: FIS_SLR_NAME,
        policies: &["arn:aws:iam::aws:policy/aws-service-role/AmazonFISServiceRolePolicy"],
        suffix_allowed: false,
    },
];

/// Where a linked service still uses a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleUsage {
    pub region: String,
    pub resources: Vec<String>,
}

/// Implemented by each linked service (through the binary): which of its
/// resources, in which regions, still use the role.
pub trait ServiceUsage {
    /// # Errors
    /// When the service cannot answer; the deletion task fails with the reason.
    fn usage(&self, service: &str, role_arn: &str) -> Result<Vec<RoleUsage>, String>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeletionStatus {
    NotStarted,
    InProgress,
    Succeeded,
    Failed,
}

impl DeletionStatus {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            DeletionStatus::NotStarted => "NOT_STARTED",
            DeletionStatus::InProgress => "IN_PROGRESS",
            DeletionStatus::Succeeded => "SUCCEEDED",
            DeletionStatus::Failed => "FAILED",
        }
    }

    fn finished(self) -> bool {
        matches!(self, DeletionStatus::Succeeded | DeletionStatus::Failed)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeletionTask {
    pub id: String,
    pub role_name: String,
    pub role_arn: String,
    pub service: String,
    pub status: DeletionStatus,
    pub created: f64,
    /// When the task last changed status.
    pub changed: f64,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub usage: Vec<RoleUsage>,
}

/// The trust policy AWS writes for a service-linked role: list-valued
/// `Action` and `Service`.
fn trust_policy(principal: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Action": ["sts:AssumeRole"], "Effect": "Allow", "Principal": {"Service": [principal]}}]
    })
    .to_string()
}

impl Iam {
    /// The catalog entry for a service principal.
    #[must_use]
    pub fn linked_service(principal: &str) -> Option<&'static LinkedService> {
        CATALOG.iter().find(|s| s.principal == principal)
    }

    /// The ARN a service's linked role has (or would have).
    #[must_use]
    pub fn slr_arn(&self, service: &LinkedService, suffix: Option<&str>) -> String {
        let name = slr_name(service, suffix);
        format!("arn:aws:iam::{}:role/aws-service-role/{}/{name}", self.account, service.principal)
    }

    /// `CreateServiceLinkedRole`.
    ///
    /// # Errors
    /// `InvalidInput` for an unknown service, a custom suffix the service does
    /// not allow, or a role that already exists.
    pub fn create_service_linked_role(
        &self,
        principal: &str,
        description: Option<String>,
        suffix: Option<&str>,
    ) -> Result<Role, IamError> {
        let service = Self::linked_service(principal).ok_or_else(|| {
            IamError::InvalidInput(format!(
                "Unrecognized service principal {principal}. No service-linked role is defined for it."
            ))
        })?;
        if suffix.is_some() && !service.suffix_allowed {
            return Err(IamError::InvalidInput(format!("Custom suffix is not allowed for {principal}")));
        }
        let name = slr_name(service, suffix);
        if self.get_role(&name).is_ok() {
            return Err(IamError::InvalidInput(format!(
                "Service role name {name} has been taken in this account, please try a different suffix."
            )));
        }
        let path = format!("/aws-service-role/{principal}/");
        let role = Role {
            id: self.unique_id("AROA"),
            arn: format!("arn:aws:iam::{}:role{path}{name}", self.account),
            name,
            path,
            create_date: self.now(),
            assume_role_policy: trust_policy(principal),
            description,
            max_session_duration: 3600,
            permissions_boundary: None,
            tags: Vec::new(),
            last_used: None,
            policies: Holder {
                inline: Default::default(),
                attached: service.policies.iter().map(|p| (*p).to_owned()).collect(),
            },
            linked_service: Some(principal.to_owned()),
        };
        self.insert_role(role).map_err(|e| match e {
            IamError::EntityAlreadyExists(_) => IamError::InvalidInput(format!(
                "Service role name {} has been taken in this account, please try a different suffix.",
                slr_name(service, suffix)
            )),
            other => other,
        })
    }

    /// `DeleteServiceLinkedRole`: starts (or returns the unfinished) deletion task.
    ///
    /// # Errors
    /// `NoSuchEntity`; `InvalidInput` for a role that is not service-linked.
    pub fn delete_service_linked_role(&self, name: &str) -> Result<String, IamError> {
        let role = self.get_role(name)?;
        let Some(service) = role.linked_service.clone() else {
            return Err(IamError::InvalidInput(format!("Role {} is not a service-linked role.", role.name)));
        };
        let mut st = self.write();
        if let Some(t) = st.tasks.values().find(|t| t.role_arn == role.arn && !t.status.finished()) {
            return Ok(t.id.clone());
        }
        let now = self.env.clock.epoch();
        let task = DeletionTask {
            id: format!("task{}{}/{}", role.path, role.name, self.env.ids.uuid()),
            role_name: role.name.clone(),
            role_arn: role.arn.clone(),
            service,
            status: DeletionStatus::NotStarted,
            created: now,
            changed: now,
            reason: None,
            usage: Vec::new(),
        };
        self.persist(&[Op::put_json(NS_TASKS, task.id.clone(), &task)?])?;
        st.tasks.insert(task.id.clone(), task.clone());
        Ok(task.id)
    }

    /// `GetServiceLinkedRoleDeletionStatus`.
    ///
    /// # Errors
    /// `NoSuchEntity` for an unknown task; `InvalidInput` for a malformed id.
    pub fn deletion_task(&self, id: &str) -> Result<DeletionTask, IamError> {
        if !id.starts_with("task/") {
            return Err(IamError::InvalidInput(format!("Invalid deletion task id {id}.")));
        }
        self.read()
            .tasks
            .get(id)
            .cloned()
            .ok_or_else(|| IamError::NoSuchEntity(format!("Deletion task {id} cannot be found.")))
    }

    /// Move every unfinished deletion task one step if `step_secs` have passed
    /// since its last change: `NOT_STARTED` → `IN_PROGRESS` → `SUCCEEDED`
    /// (role deleted) or `FAILED` (the service still uses it). All the steps
    /// of one call are persisted in one batch.
    ///
    /// # Errors
    /// When the store cannot be written; nothing changes then.
    pub fn advance_deletion_tasks(&self, usage: &dyn ServiceUsage, step_secs: f64) -> Result<(), IamError> {
        let now = self.env.clock.epoch();
        let due: Vec<DeletionTask> = self
            .read()
            .tasks
            .values()
            .filter(|t| !t.status.finished() && now - t.changed >= step_secs)
            .cloned()
            .collect();
        let mut updated = Vec::with_capacity(due.len());
        let mut removed = Vec::new();
        for mut task in due {
            match task.status {
                DeletionStatus::NotStarted => task.status = DeletionStatus::InProgress,
                DeletionStatus::InProgress => match usage.usage(&task.service, &task.role_arn) {
                    Ok(used) if used.iter().any(|u| !u.resources.is_empty()) => {
                        task.status = DeletionStatus::Failed;
                        let resources: usize = used.iter().map(|u| u.resources.len()).sum();
                        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
                        task.reason = Some(format!(
                            "The role is in use by {} of {} in {}. Delete them before deleting the role.",
                            plural(resources, "resource"),
                            task.service,
                            plural(used.len(), "region"),
                        ));
                        task.usage = used;
                    }
                    Ok(_) => {
                        // A role already gone needs no removal.
                        if let Ok(role) = self.get_role(&task.role_name) {
                            removed.push(role);
                        }
                        task.status = DeletionStatus::Succeeded;
                    }
                    Err(reason) => {
                        task.status = DeletionStatus::Failed;
                        task.reason = Some(reason);
                    }
                },
                DeletionStatus::Succeeded | DeletionStatus::Failed => continue,
            }
            task.changed = now;
            updated.push(task);
        }
        if updated.is_empty() {
            return Ok(());
        }
        // Every task's step and the roles it removes go in one batch.
        let mut st = self.write();
        let mut ops: Vec<Op> = removed.iter().flat_map(|r| roles::removal_ops(&st, r)).collect();
        for task in &updated {
            ops.push(Op::put_json(NS_TASKS, task.id.clone(), task)?);
        }
        self.persist(&ops)?;
        for role in &removed {
            roles::forget_role(&mut st, role);
        }
        for task in updated {
            st.tasks.insert(task.id.clone(), task);
        }
        Ok(())
    }

    /// Whether a service-linked role deletion is running for `role_arn`.
    #[must_use]
    pub fn deletion_in_progress(&self, role_arn: &str) -> bool {
        self.read().tasks.values().any(|t| t.role_arn == role_arn && !t.status.finished())
    }

    /// Fail a role lookup the way the DAX data path wants it.
    ///
    /// # Errors
    /// `NoSuchEntity`.
    pub fn service_linked_role(&self, service: &str) -> Result<Role, IamError> {
        let entry = Self::linked_service(service).ok_or_else(|| no_role(service))?;
        self.get_role(entry.role_name)
    }
}

fn slr_name(service: &LinkedService, suffix: Option<&str>) -> String {
    match suffix {
        Some(s) => format!("{}_{s}", service.role_name),
        None => service.role_name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_linked_service_ships_the_policies_aws_attaches() {
        for s in CATALOG {
            assert_eq!(Iam::linked_service(s.principal), Some(s));
            for p in s.policies {
                let shipped = crate::managed::aws_catalog().get(*p);
                assert!(shipped.is_some(), "{}: {p} is not in data/aws-managed-policies.json", s.role_name);
            }
        }
        assert_eq!(Iam::linked_service(FIS_SERVICE).map(|s| s.role_name), Some(FIS_SLR_NAME));
    }
}
