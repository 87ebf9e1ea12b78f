//! Who used which service, when and where: the data behind `RoleLastUsed`
//! and Access Advisor (`GenerateServiceLastAccessedDetails` and friends).
//!
//! Access records are written on every authenticated request, so they are
//! kept in memory and flushed to the store in batches by
//! [`Iam::flush_activity`] (the binary calls it about once a second and at
//! shutdown) rather than costing an fsync per request.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use state::Op;

use crate::managed::aws_catalog;
use crate::{Iam, IamError, State, NS_ACTIVITY, NS_JOBS, NS_ROLES};

/// One (service, action) an entity used, with its latest use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Access {
    pub service: String,
    pub action: String,
    pub time: f64,
    pub region: String,
    /// The ARN of the entity whose credentials made the call.
    pub entity: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Granularity {
    ServiceLevel,
    ActionLevel,
}

impl Granularity {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::ServiceLevel => "SERVICE_LEVEL",
            Granularity::ActionLevel => "ACTION_LEVEL",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackedAction {
    pub action: String,
    pub entity: String,
    pub time: f64,
    pub region: String,
}

/// Who (of the report's entities) used a service, and when last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityAccess {
    pub arn: String,
    pub name: String,
    pub kind: String,
    pub id: String,
    pub path: String,
    pub last: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceAccess {
    pub namespace: String,
    pub name: String,
    pub last: Option<Access>,
    pub total_entities: usize,
    pub actions: Vec<TrackedAction>,
    pub entities: Vec<EntityAccess>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessReport {
    pub services: Vec<ServiceAccess>,
}

/// A finished Access Advisor job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: String,
    pub arn: String,
    pub granularity: Granularity,
    pub created: f64,
    pub completed: f64,
    pub report: AccessReport,
    /// The principal that generated it: only it may read the job back.
    pub owner: String,
}

/// Service display names, as Access Advisor shows them.
fn service_name(ns: &str) -> String {
    match ns {
        "iam" => "AWS Identity and Access Management".into(),
        "sts" => "AWS Security Token Service".into(),
        "ec2" => "Amazon EC2".into(),
        "dax" => "Amazon DynamoDB Accelerator (DAX)".into(),
        "dynamodb" => "Amazon DynamoDB".into(),
        "cloudwatch" => "Amazon CloudWatch".into(),
        "sns" => "Amazon SNS".into(),
        "lambda" => "AWS Lambda".into(),
        "kms" => "AWS Key Management Service".into(),
        "kinesis" => "Amazon Kinesis".into(),
        "application-autoscaling" => "Application Auto Scaling".into(),
        "datapipeline" => "AWS Data Pipeline".into(),
        "resource-groups" => "AWS Resource Groups".into(),
        "tag" => "Amazon Resource Group Tagging API".into(),
        "organizations" => "AWS Organizations".into(),
        other => other.to_owned(),
    }
}

/// The services daxd serves: what `*` expands to.
const SERVED: &[&str] = &["dax", "dynamodb", "ec2", "iam", "sts"];

/// The service namespaces a set of policy documents allows anything in.
fn allowed_namespaces(documents: &[String]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for doc in documents {
        let Ok(p) = policy::parse_document(doc, policy::DocumentKind::Identity, false) else { continue };
        for st in p.statements.iter().filter(|s| s.effect == policy::Effect::Allow) {
            match &st.action {
                policy::ActionElement::Action(patterns) => {
                    for pat in patterns {
                        match pat.split_once(':') {
                            Some((ns, _)) if !ns.contains(['*', '?']) => {
                                out.insert(ns.to_ascii_lowercase());
                            }
                            _ => out.extend(SERVED.iter().map(|s| (*s).to_owned())),
                        }
                    }
                }
                policy::ActionElement::NotAction(excluded) => {
                    for ns in SERVED {
                        let whole = excluded.iter().any(|e| e == "*" || e.eq_ignore_ascii_case(&format!("{ns}:*")));
                        if !whole {
                            out.insert((*ns).to_owned());
                        }
                    }
                }
            }
        }
    }
    out
}

impl Iam {
    pub(crate) fn mark_dirty(&self, key: String) {
        let mut d = self.dirty_activity.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !d.contains(&key) {
            d.push(key);
        }
    }

    /// Record that `entity` (a user or role ARN) used `service:action` in `region` now.
    pub fn record_access(&self, entity: &str, service: &str, action: &str, region: &str) {
        let now = self.env.clock.epoch();
        {
            let mut st = self.write();
            let list = st.activity.entry(entity.to_owned()).or_default();
            let rec = Access {
                service: service.to_owned(),
                action: action.to_owned(),
                time: now,
                region: region.to_owned(),
                entity: entity.to_owned(),
            };
            match list.iter_mut().find(|a| a.service == service && a.action == action) {
                Some(a) => *a = rec,
                None => list.push(rec),
            }
        }
        self.mark_dirty(entity.to_owned());
    }

    /// Write the access records (and `RoleLastUsed` stamps) changed since the
    /// last flush, in one batch.
    ///
    /// # Errors
    /// When the store cannot be written; the records stay dirty then.
    pub fn flush_activity(&self) -> Result<(), IamError> {
        let dirty: Vec<String> =
            std::mem::take(&mut *self.dirty_activity.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        if dirty.is_empty() {
            return Ok(());
        }
        let ops: Result<Vec<Op>, state::StoreError> = {
            let st = self.read();
            dirty
                .iter()
                .filter_map(|k| match k.strip_prefix("role:") {
                    Some(role) => st.roles.get(role).map(|r| Op::put_json(NS_ROLES, role, r)),
                    None => st.activity.get(k).map(|a| Op::put_json(NS_ACTIVITY, k.clone(), a)),
                })
                .collect()
        };
        if let Err(e) = ops.map_err(IamError::from).and_then(|ops| self.persist(&ops)) {
            let mut d = self.dirty_activity.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            d.extend(dirty);
            return Err(e);
        }
        Ok(())
    }

    /// The documents and the accessing entities behind a report on `arn`.
    fn report_inputs(st: &State, arn: &str) -> Option<(Vec<String>, Vec<EntityAccess>)> {
        let docs_of = |h: &crate::Holder| -> Vec<String> {
            let mut d: Vec<String> = h.inline.values().cloned().collect();
            d.extend(h.attached.iter().filter_map(|a| {
                st.policies.get(a).or_else(|| aws_catalog().get(a)).map(|p| p.default_document().to_owned())
            }));
            d
        };
        let user_entity = |u: &crate::User| EntityAccess {
            arn: u.arn.clone(),
            name: u.name.clone(),
            kind: "USER".into(),
            id: u.id.clone(),
            path: u.path.clone(),
            last: None,
        };
        let role_entity = |r: &crate::Role| EntityAccess {
            arn: r.arn.clone(),
            name: r.name.clone(),
            kind: "ROLE".into(),
            id: r.id.clone(),
            path: r.path.clone(),
            last: None,
        };
        if let Some(u) = st.users.values().find(|u| u.arn == arn) {
            let mut docs = docs_of(&u.policies);
            for g in st.groups.values().filter(|g| g.members.contains(&u.name)) {
                docs.extend(docs_of(&g.policies));
            }
            return Some((docs, vec![user_entity(u)]));
        }
        if let Some(r) = st.roles.values().find(|r| r.arn == arn) {
            return Some((docs_of(&r.policies), vec![role_entity(r)]));
        }
        if let Some(g) = st.groups.values().find(|g| g.arn == arn) {
            let members = g.members.iter().filter_map(|m| st.users.get(&m.to_lowercase())).map(user_entity).collect();
            return Some((docs_of(&g.policies), members));
        }
        let p = st.policies.get(arn).or_else(|| aws_catalog().get(arn))?;
        let has = |h: &crate::Holder| h.attached.iter().any(|a| a == arn);
        let mut entities: Vec<EntityAccess> = st.users.values().filter(|u| has(&u.policies)).map(user_entity).collect();
        entities.extend(st.roles.values().filter(|r| has(&r.policies)).map(role_entity));
        for g in st.groups.values().filter(|g| has(&g.policies)) {
            entities.extend(g.members.iter().filter_map(|m| st.users.get(&m.to_lowercase())).map(user_entity));
        }
        Some((vec![p.default_document().to_owned()], entities))
    }

    /// `GenerateServiceLastAccessedDetails`: builds the report now and keeps it
    /// under a new job id.
    ///
    /// # Errors
    /// `NoSuchEntity` when `arn` is no user, group, role or policy of this account.
    pub fn generate_access_report(&self, arn: &str, granularity: Granularity, owner: &str) -> Result<String, IamError> {
        let created = self.env.clock.epoch();
        let report = {
            let st = self.read();
            let (docs, entities) = Self::report_inputs(&st, arn)
                .ok_or_else(|| IamError::NoSuchEntity(format!("The entity {arn} does not exist.")))?;
            let mut services = Vec::new();
            for ns in allowed_namespaces(&docs) {
                let mut last: Option<Access> = None;
                let mut actions: BTreeMap<String, TrackedAction> = BTreeMap::new();
                let mut users = Vec::new();
                for e in &entities {
                    let mine: Vec<&Access> =
                        st.activity.get(&e.arn).into_iter().flatten().filter(|a| a.service == ns).collect();
                    let latest =
                        mine.iter().map(|a| a.time).fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.max(t))));
                    users.push(EntityAccess { last: latest, ..e.clone() });
                    for a in mine {
                        if last.as_ref().is_none_or(|l| a.time > l.time) {
                            last = Some(a.clone());
                        }
                        let name = a.action.clone();
                        let t = TrackedAction {
                            action: name.clone(),
                            entity: a.entity.clone(),
                            time: a.time,
                            region: a.region.clone(),
                        };
                        if actions.get(&name).is_none_or(|x| t.time > x.time) {
                            actions.insert(name, t);
                        }
                    }
                }
                let total = users.iter().filter(|u| u.last.is_some()).count();
                services.push(ServiceAccess {
                    name: service_name(&ns),
                    namespace: ns,
                    last,
                    total_entities: total,
                    actions: if granularity == Granularity::ActionLevel {
                        actions.into_values().collect()
                    } else {
                        Vec::new()
                    },
                    entities: users,
                });
            }
            services.sort_by(|a, b| a.name.cmp(&b.name));
            AccessReport { services }
        };
        let job = Job {
            id: self.env.ids.uuid(),
            arn: arn.to_owned(),
            granularity,
            created,
            completed: self.env.clock.epoch(),
            report,
            owner: owner.to_owned(),
        };
        let mut st = self.write();
        self.persist(&[Op::put_json(NS_JOBS, job.id.clone(), &job)?])?;
        st.jobs.insert(job.id.clone(), job.clone());
        Ok(job.id)
    }

    /// A generated job, for `GetServiceLastAccessedDetails[WithEntities]`.
    ///
    /// # Errors
    /// `NoSuchEntity` for an unknown id or one generated by another principal.
    pub fn access_job(&self, id: &str, reader: &str) -> Result<Job, IamError> {
        self.read()
            .jobs
            .get(id)
            .filter(|j| j.owner == reader)
            .cloned()
            .ok_or_else(|| IamError::NoSuchEntity(format!("No such job {id}.")))
    }

    /// The access records of one entity (for the console).
    #[must_use]
    pub fn accesses(&self, entity: &str) -> Vec<Access> {
        self.read().activity.get(entity).cloned().unwrap_or_default()
    }
}
