//! The service: templates (validated against the catalog, stored), experiments (started
//! from a snapshot of a template, advanced by [`Fis::tick`], stopped on command or by a
//! stop condition) and the traits through which the binary supplies resources, alarm
//! states and the faults themselves.
//!
//! A restart ends what was running: [`Fis::recover`] (called once when daxd starts) asks
//! [`Actions::stop`] to end every action that was running, and marks the experiment
//! `failed` (its running actions `stopped`, its pending ones `cancelled`). Resuming it is
//! not an option: the faults it made lived in the old process, and half of an experiment's
//! timeline is not the experiment its author designed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};

use base::page::{paginate, Page, TokenForm};
use base::Env;
use serde::{Deserialize, Serialize};
use state::{Op, Store};
use time::OffsetDateTime;

use crate::catalog::{self, ActionSpec};
use crate::model::{
    ActionFailure, ActionInput, ActionRun, ErrorCode, Experiment, ExperimentAction, ExperimentError, Resource, State,
    StopCondition, Target, Template, TemplateInput, TemplateUpdate,
};
use crate::selection::parse_selection_mode;
use crate::{parse_duration, FisError};

/// The resources a target may resolve to.
pub trait Targets: Send + Sync {
    /// Every resource of `resource_type` the account has in the region.
    fn resources(&self, account: &str, region: &str, resource_type: &str) -> Vec<Resource>;
}

/// The state of stop-condition alarms (CloudWatch, in the binary).
pub trait Alarms: Send + Sync {
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`; `None` when there is no such alarm.
    fn state(&self, alarm_arn: &str) -> Option<String>;
}

/// What makes the faults happen.
pub trait Actions: Send + Sync {
    /// Authorize the action as the run's role and start it.
    ///
    /// # Errors
    /// Why it could not start (a denial, a target gone): the action and the experiment
    /// fail with its reason, and the experiment's error carries its code.
    fn start(&self, run: &ActionRun) -> Result<(), ActionFailure>;

    /// End what [`Actions::start`] started (idempotent: it may be asked after a restart).
    fn stop(&self, run: &ActionRun);
}

const TEMPLATES: &str = "fis-templates";
const EXPERIMENTS: &str = "fis-experiments";

/// Actions per template, stop conditions per template, experiments active at once per
/// account (the quotas AWS lists).
const MAX_ACTIONS: usize = 20;
const MAX_STOP_CONDITIONS: usize = 5;
const MAX_ACTIVE_EXPERIMENTS: usize = 5;
/// Longest action duration: 12 hours.
const MAX_DURATION_MS: u64 = 12 * 3_600_000;
/// Shortest duration of AWS's own actions (daxd's own take from one second).
const MIN_AWS_DURATION_MS: u64 = 60_000;

const ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

#[derive(Clone, Serialize, Deserialize)]
struct StoredTemplate {
    account: String,
    region: String,
    client_token: String,
    template: Template,
}

#[derive(Clone, Serialize, Deserialize)]
struct StoredExperiment {
    account: String,
    region: String,
    client_token: String,
    experiment: Experiment,
    /// Target name → resolved ARNs (fixed once resolved).
    resolved: BTreeMap<String, Vec<String>>,
    /// Action name → when it ends, epoch milliseconds.
    ends_at: BTreeMap<String, i64>,
}

/// A resource tags are on.
enum Tagged {
    Template(Box<StoredTemplate>),
    Experiment(Box<StoredExperiment>),
}

/// The FIS service.
pub struct Fis {
    store: Arc<Store>,
    env: Env,
    targets: Arc<dyn Targets>,
    alarms: Arc<dyn Alarms>,
    actions: Arc<dyn Actions>,
    /// How long an experiment's second lasts, in seconds of the clock (1 but in tests).
    time_scale: f64,
    /// Serializes changes (each is one read-modify-apply).
    lock: Mutex<()>,
}

/// The smallest and largest [`Fis::with_time_scale`]: `PT1M` lasts 60 ms to 60 s.
pub const TIME_SCALE_RANGE: std::ops::RangeInclusive<f64> = 0.001..=1.0;

/// The error of an experiment that failed with `code`, in the template's part `at` (an
/// action's or a target's name).
fn error(rec: &StoredExperiment, code: ErrorCode, at: Option<&str>) -> ExperimentError {
    ExperimentError { account_id: rec.account.clone(), code: code.as_str().to_owned(), location: at.map(str::to_owned) }
}

fn epoch(t: OffsetDateTime) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let ms = (t.unix_timestamp_nanos() / 1_000_000) as f64;
    ms / 1000.0
}

fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn terminal(status: &str) -> bool {
    matches!(status, "completed" | "stopped" | "failed" | "cancelled")
}

fn no_whitespace(s: &str) -> bool {
    !s.is_empty() && !s.chars().any(char::is_whitespace)
}

fn check_len(what: &str, s: &str, max: usize) -> Result<(), FisError> {
    if !no_whitespace(s) || s.len() > max {
        return Err(FisError::validation(format!("{what} must be 1 to {max} characters without whitespace: {s:?}")));
    }
    Ok(())
}

fn check_role(role: &str) -> Result<(), FisError> {
    let parts: Vec<&str> = role.splitn(6, ':').collect();
    let ok = role.len() >= 20
        && role.len() <= 2048
        && parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "iam"
        && parts[5].starts_with("role/");
    if ok {
        Ok(())
    } else {
        Err(FisError::validation(format!("Invalid role ARN: {role}")))
    }
}

fn check_stop_conditions(stops: &[StopCondition]) -> Result<(), FisError> {
    if stops.is_empty() {
        return Err(FisError::validation(
            "stopConditions must have at least one stop condition (source \"none\" for none)",
        ));
    }
    if stops.len() > MAX_STOP_CONDITIONS {
        return Err(FisError::quota(format!("A template may have at most {MAX_STOP_CONDITIONS} stop conditions")));
    }
    for s in stops {
        match (s.source.as_str(), s.value.as_deref()) {
            ("none", None) => {}
            ("none", Some(_)) => return Err(FisError::validation("A stop condition of source none takes no value")),
            ("aws:cloudwatch:alarm", Some(v)) if v.starts_with("arn:aws:cloudwatch:") && v.contains(":alarm:") => {}
            ("aws:cloudwatch:alarm", _) => {
                return Err(FisError::validation(
                    "A stop condition of source aws:cloudwatch:alarm takes the ARN of a CloudWatch alarm as its value",
                ))
            }
            (other, _) => return Err(FisError::validation(format!("Invalid stop condition source: {other}"))),
        }
    }
    if stops.len() > 1 && stops.iter().any(|s| s.source == "none") {
        return Err(FisError::validation("A stop condition of source none cannot be combined with others"));
    }
    Ok(())
}

fn check_target(name: &str, t: &Target) -> Result<(), FisError> {
    check_len("Target name", name, 64)?;
    if catalog::target_type(&t.resource_type).is_none() {
        return Err(FisError::validation(format!("Target {name}: invalid resource type {}", t.resource_type)));
    }
    parse_selection_mode(&t.selection_mode)
        .map_err(|e| FisError::validation(format!("Target {name}: {}", e.message)))?;
    let arns = t.resource_arns.as_ref().map_or(0, Vec::len);
    let tags = t.resource_tags.as_ref().map_or(0, BTreeMap::len);
    if arns > 0 && tags > 0 {
        return Err(FisError::validation(format!("Target {name}: give resourceArns or resourceTags, not both")));
    }
    if arns == 0 && tags == 0 && t.filters.as_ref().is_none_or(Vec::is_empty) {
        return Err(FisError::validation(format!(
            "Target {name}: give resourceArns, resourceTags or filters to select resources"
        )));
    }
    if arns > 5 {
        return Err(FisError::validation(format!("Target {name}: at most 5 resourceArns")));
    }
    if tags > 50 {
        return Err(FisError::validation(format!("Target {name}: at most 50 resourceTags")));
    }
    for a in t.resource_arns.iter().flatten() {
        if a.len() < 20 || a.len() > 2048 || !a.starts_with("arn:") {
            return Err(FisError::validation(format!("Target {name}: invalid resource ARN {a}")));
        }
    }
    for f in t.filters.iter().flatten() {
        check_len("Filter path", &f.path, 256)?;
        if f.values.is_empty() {
            return Err(FisError::validation(format!("Target {name}: filter {} has no values", f.path)));
        }
    }
    Ok(())
}

fn check_action(
    name: &str,
    a: &ActionInput,
    targets: &BTreeMap<String, Target>,
) -> Result<&'static ActionSpec, FisError> {
    check_len("Action name", name, 64)?;
    let spec = catalog::action(&a.action_id)
        .ok_or_else(|| FisError::validation(format!("Action {name}: {} is not a valid action id", a.action_id)))?;
    if a.description.as_ref().is_some_and(|d| d.len() > 512) {
        return Err(FisError::validation(format!("Action {name}: description longer than 512 characters")));
    }
    let params = a.parameters.clone().unwrap_or_default();
    for (k, v) in &params {
        if !spec.parameters.iter().any(|p| p.name == k) {
            return Err(FisError::validation(format!("Action {name}: {} has no parameter {k}", spec.id)));
        }
        if v.is_empty() || v.len() > 1024 {
            return Err(FisError::validation(format!("Action {name}: parameter {k} must be 1 to 1024 characters")));
        }
    }
    for p in spec.parameters.iter().filter(|p| p.required) {
        if !params.contains_key(p.name) {
            return Err(FisError::validation(format!("Action {name}: missing required parameter {}", p.name)));
        }
    }
    if let Some(d) = params.get("duration") {
        let ms = parse_duration(d).map_err(|e| FisError::validation(format!("Action {name}: {}", e.message)))?;
        let min = if spec.id.starts_with("aws:") { MIN_AWS_DURATION_MS } else { 1000 };
        if ms < min || ms > MAX_DURATION_MS {
            return Err(FisError::validation(format!(
                "Action {name}: duration {d} is out of range ({} to PT12H)",
                if min == MIN_AWS_DURATION_MS { "PT1M" } else { "PT1S" }
            )));
        }
    }
    for (p, lo, hi) in spec.ranges {
        if let Some(v) = params.get(*p) {
            match v.parse::<u64>() {
                Ok(n) if (*lo..=*hi).contains(&n) => {}
                _ => {
                    return Err(FisError::validation(format!(
                        "Action {name}: {p} must be an integer from {lo} to {hi}"
                    )))
                }
            }
        }
    }
    if a.action_id == "aws:network:disrupt-connectivity" {
        if let Some(s) = params.get("scope") {
            if s != "all" && s != "availability-zone" {
                return Err(FisError::validation(format!("Action {name}: scope must be all or availability-zone")));
            }
        }
    }
    let given = a.targets.clone().unwrap_or_default();
    for (key, target) in &given {
        let Some((_, rtype)) = spec.targets.iter().find(|(k, _)| k == key) else {
            return Err(FisError::validation(format!("Action {name}: {} takes no target {key}", spec.id)));
        };
        let t = targets
            .get(target)
            .ok_or_else(|| FisError::validation(format!("Action {name}: target {target} is not in the template")))?;
        if t.resource_type != *rtype {
            return Err(FisError::validation(format!(
                "Action {name}: target {target} is of type {}, and {key} takes {rtype}",
                t.resource_type
            )));
        }
    }
    for (key, _) in spec.targets {
        if !given.contains_key(*key) {
            return Err(FisError::validation(format!("Action {name}: missing target {key}")));
        }
    }
    Ok(spec)
}

/// `startAfter` names actions of the template, never the action itself, and has no cycle.
fn check_order(actions: &BTreeMap<String, ActionInput>) -> Result<(), FisError> {
    for (name, a) in actions {
        for after in a.start_after.iter().flatten() {
            if after == name || !actions.contains_key(after) {
                return Err(FisError::validation(format!("Action {name}: startAfter names an unknown action {after}")));
            }
        }
    }
    // Kahn's algorithm: what cannot be ordered is in a cycle.
    let mut done: BTreeSet<&str> = BTreeSet::new();
    loop {
        let ready: Vec<&str> = actions
            .iter()
            .filter(|(n, a)| {
                !done.contains(n.as_str()) && a.start_after.iter().flatten().all(|x| done.contains(x.as_str()))
            })
            .map(|(n, _)| n.as_str())
            .collect();
        if ready.is_empty() {
            break;
        }
        done.extend(ready);
    }
    if done.len() != actions.len() {
        return Err(FisError::validation("The actions' startAfter lists form a cycle"));
    }
    Ok(())
}

fn check_template(
    description: &str,
    stops: &[StopCondition],
    targets: &BTreeMap<String, Target>,
    actions: &BTreeMap<String, ActionInput>,
    role: &str,
) -> Result<(), FisError> {
    if description.is_empty() || description.len() > 512 {
        return Err(FisError::validation("description must be 1 to 512 characters"));
    }
    check_role(role)?;
    check_stop_conditions(stops)?;
    if actions.is_empty() {
        return Err(FisError::validation("A template needs at least one action"));
    }
    if actions.len() > MAX_ACTIONS {
        return Err(FisError::quota(format!("A template may have at most {MAX_ACTIONS} actions")));
    }
    for (n, t) in targets {
        check_target(n, t)?;
    }
    for (n, a) in actions {
        check_action(n, a, targets)?;
    }
    check_order(actions)
}

fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), FisError> {
    if tags.len() > 50 {
        return Err(FisError::validation("At most 50 tags"));
    }
    for (k, v) in tags {
        if k.is_empty() || k.len() > 128 || v.len() > 256 {
            return Err(FisError::validation(format!("Invalid tag {k}")));
        }
    }
    Ok(())
}

fn max_results(max: Option<i64>) -> Result<usize, FisError> {
    match max {
        None => Ok(100),
        Some(n @ 1..=100) => Ok(usize::try_from(n).unwrap_or(100)),
        Some(n) => Err(FisError::validation(format!("maxResults must be between 1 and 100, not {n}"))),
    }
}

fn bad_token(_: base::page::BadToken) -> FisError {
    FisError::validation("Invalid nextToken")
}

/// A stable seed from text (FNV-1a): an experiment's target choice is reproducible.
fn seed_of(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

impl Fis {
    /// The service over `store`.
    #[must_use]
    pub fn new(
        store: Arc<Store>,
        env: Env,
        targets: Arc<dyn Targets>,
        alarms: Arc<dyn Alarms>,
        actions: Arc<dyn Actions>,
    ) -> Self {
        Fis { store, env, targets, alarms, actions, time_scale: 1.0, lock: Mutex::new(()) }
    }

    /// Make experiment time run faster, for tests: every duration an experiment measures
    /// (its actions' `duration`, `aws:fis:wait` among them) lasts `scale` times as long on
    /// the clock, so `PT1M` lasts 3 s at 0.05. Everything else stays on the clock as it
    /// is: timestamps (`creationTime`, `startTime`, `endTime`) are the clock's, and stop
    /// conditions are checked at every [`Fis::tick`].
    ///
    /// # Errors
    /// `ValidationException` for a scale outside [`TIME_SCALE_RANGE`] (or not a number).
    pub fn with_time_scale(mut self, scale: f64) -> Result<Self, FisError> {
        if !TIME_SCALE_RANGE.contains(&scale) {
            return Err(FisError::validation(format!(
                "The FIS time scale must be from {} to {}, not {scale}",
                TIME_SCALE_RANGE.start(),
                TIME_SCALE_RANGE.end()
            )));
        }
        self.time_scale = scale;
        Ok(self)
    }

    /// Milliseconds on the clock of `ms` milliseconds of experiment time.
    fn scaled(&self, ms: u64) -> i64 {
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
        let scaled = (ms as f64 * self.time_scale).round() as i64;
        scaled.max(0)
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now(&self) -> OffsetDateTime {
        self.env.clock.now()
    }

    fn new_id(&self, prefix: &str) -> String {
        format!("{prefix}{}", self.env.ids.chars(ID_ALPHABET, 14))
    }

    fn template_record(&self, account: &str, region: &str, id: &str) -> Result<StoredTemplate, FisError> {
        check_len("id", id, 64)?;
        match self.store.get_json::<StoredTemplate>(TEMPLATES, id)? {
            Some(t) if t.account == account && t.region == region => Ok(t),
            _ => Err(FisError::not_found(format!("Experiment template not found: {id}"))),
        }
    }

    fn experiment_record(&self, account: &str, region: &str, id: &str) -> Result<StoredExperiment, FisError> {
        check_len("id", id, 64)?;
        match self.store.get_json::<StoredExperiment>(EXPERIMENTS, id)? {
            Some(e) if e.account == account && e.region == region => Ok(e),
            _ => Err(FisError::not_found(format!("Experiment not found: {id}"))),
        }
    }

    fn save_experiment(&self, e: &StoredExperiment) -> Result<(), FisError> {
        self.store.apply(&[Op::put_json(EXPERIMENTS, e.experiment.id.clone(), e)?])?;
        Ok(())
    }

    // ---- templates -------------------------------------------------------------------------

    /// CreateExperimentTemplate. The same client token gives back the template it made.
    ///
    /// # Errors
    /// `ValidationException` for a template the catalog refuses, `ServiceQuotaExceededException`
    /// past the quotas.
    pub fn create_template(&self, account: &str, region: &str, input: TemplateInput) -> Result<Template, FisError> {
        let _g = self.guard();
        let token = input.client_token.ok_or_else(|| FisError::validation("clientToken is required"))?;
        check_len("clientToken", &token, 1024)?;
        let description = input.description.ok_or_else(|| FisError::validation("description is required"))?;
        let stops = input.stop_conditions.ok_or_else(|| FisError::validation("stopConditions is required"))?;
        let actions = input.actions.ok_or_else(|| FisError::validation("actions is required"))?;
        let role = input.role_arn.ok_or_else(|| FisError::validation("roleArn is required"))?;
        let targets = input.targets.unwrap_or_default();
        let tags = input.tags.unwrap_or_default();
        for (_, t) in self.store.scan_json::<StoredTemplate>(TEMPLATES)? {
            if t.account == account && t.region == region && t.client_token == token {
                return Ok(t.template);
            }
        }
        check_template(&description, &stops, &targets, &actions, &role)?;
        check_tags(&tags)?;
        let id = self.new_id("EXT");
        let now = epoch(self.now());
        let template = Template {
            arn: format!("arn:aws:fis:{region}:{account}:experiment-template/{id}"),
            id: id.clone(),
            description,
            targets,
            actions,
            stop_conditions: stops,
            creation_time: now,
            last_update_time: now,
            role_arn: role,
            tags,
        };
        let rec = StoredTemplate {
            account: account.to_owned(),
            region: region.to_owned(),
            client_token: token,
            template: template.clone(),
        };
        self.store.apply(&[Op::put_json(TEMPLATES, id, &rec)?])?;
        Ok(template)
    }

    /// GetExperimentTemplate.
    ///
    /// # Errors
    /// `ResourceNotFoundException`.
    pub fn get_template(&self, account: &str, region: &str, id: &str) -> Result<Template, FisError> {
        Ok(self.template_record(account, region, id)?.template)
    }

    /// UpdateExperimentTemplate: what the update gives replaces the template's.
    ///
    /// # Errors
    /// `ResourceNotFoundException`, or the template it would make refused.
    pub fn update_template(
        &self,
        account: &str,
        region: &str,
        id: &str,
        u: TemplateUpdate,
    ) -> Result<Template, FisError> {
        let _g = self.guard();
        let mut rec = self.template_record(account, region, id)?;
        let t = &mut rec.template;
        if let Some(d) = u.description {
            t.description = d;
        }
        if let Some(s) = u.stop_conditions {
            t.stop_conditions = s;
        }
        if let Some(x) = u.targets {
            t.targets = x;
        }
        if let Some(a) = u.actions {
            t.actions = a;
        }
        if let Some(r) = u.role_arn {
            t.role_arn = r;
        }
        check_template(&t.description, &t.stop_conditions, &t.targets, &t.actions, &t.role_arn)?;
        t.last_update_time = epoch(self.now());
        self.store.apply(&[Op::put_json(TEMPLATES, id.to_owned(), &rec)?])?;
        Ok(rec.template)
    }

    /// DeleteExperimentTemplate: the template it deleted. Experiments keep their snapshot.
    ///
    /// # Errors
    /// `ResourceNotFoundException`.
    pub fn delete_template(&self, account: &str, region: &str, id: &str) -> Result<Template, FisError> {
        let _g = self.guard();
        let rec = self.template_record(account, region, id)?;
        self.store.apply(&[Op::delete(TEMPLATES, id.to_owned())])?;
        Ok(rec.template)
    }

    /// ListExperimentTemplates, in id order.
    ///
    /// # Errors
    /// `ValidationException` for `maxResults` outside 1–100 or a token not handed out.
    pub fn list_templates(
        &self,
        account: &str,
        region: &str,
        max: Option<i64>,
        token: Option<&str>,
    ) -> Result<Page<Template>, FisError> {
        let max = max_results(max)?;
        let mut all: Vec<(String, Template)> = self
            .store
            .scan_json::<StoredTemplate>(TEMPLATES)?
            .into_iter()
            .filter(|(_, t)| t.account == account && t.region == region)
            .map(|(k, t)| (k, t.template))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        paginate(all, token, TokenForm::Hex, max).map_err(bad_token)
    }

    // ---- tags ------------------------------------------------------------------------------

    /// The tags of a template or experiment, by ARN (ListTagsForResource).
    ///
    /// # Errors
    /// `ResourceNotFoundException` for an ARN of neither.
    pub fn list_tags(&self, account: &str, region: &str, arn: &str) -> Result<BTreeMap<String, String>, FisError> {
        match self.tagged(account, region, arn)? {
            Tagged::Template(t) => Ok(t.template.tags),
            Tagged::Experiment(e) => Ok(e.experiment.tags),
        }
    }

    /// TagResource (`add`) and UntagResource (`remove`) on a template or experiment.
    ///
    /// # Errors
    /// `ResourceNotFoundException` for an ARN of neither, `ValidationException` for tags
    /// past 50 or malformed.
    pub fn retag(
        &self,
        account: &str,
        region: &str,
        arn: &str,
        add: &BTreeMap<String, String>,
        remove: &[String],
    ) -> Result<(), FisError> {
        let _g = self.guard();
        let apply = |tags: &mut BTreeMap<String, String>| -> Result<(), FisError> {
            tags.extend(add.iter().map(|(k, v)| (k.clone(), v.clone())));
            for k in remove {
                tags.remove(k);
            }
            check_tags(tags)
        };
        match self.tagged(account, region, arn)? {
            Tagged::Template(mut t) => {
                apply(&mut t.template.tags)?;
                self.store.apply(&[Op::put_json(TEMPLATES, t.template.id.clone(), &t)?])?;
            }
            Tagged::Experiment(mut e) => {
                apply(&mut e.experiment.tags)?;
                self.save_experiment(&e)?;
            }
        }
        Ok(())
    }

    fn tagged(&self, account: &str, region: &str, arn: &str) -> Result<Tagged, FisError> {
        let prefix = format!("arn:aws:fis:{region}:{account}:");
        let missing = || FisError::not_found(format!("Resource not found: {arn}"));
        let rest = arn.strip_prefix(&prefix).ok_or_else(missing)?;
        if let Some(id) = rest.strip_prefix("experiment-template/") {
            return self
                .template_record(account, region, id)
                .map(|t| Tagged::Template(Box::new(t)))
                .map_err(|_| missing());
        }
        if let Some(id) = rest.strip_prefix("experiment/") {
            return self
                .experiment_record(account, region, id)
                .map(|e| Tagged::Experiment(Box::new(e)))
                .map_err(|_| missing());
        }
        Err(missing())
    }

    // ---- experiments -----------------------------------------------------------------------

    /// StartExperiment: an experiment of a snapshot of the template, `pending` until the
    /// next [`Fis::tick`]. The same client token gives back the experiment it started.
    ///
    /// # Errors
    /// `ResourceNotFoundException` for the template, `ServiceQuotaExceededException` past
    /// the experiments active at once.
    pub fn start_experiment(
        &self,
        account: &str,
        region: &str,
        client_token: &str,
        template_id: &str,
        tags: BTreeMap<String, String>,
    ) -> Result<Experiment, FisError> {
        let _g = self.guard();
        check_len("clientToken", client_token, 1024)?;
        check_tags(&tags)?;
        let all = self.store.scan_json::<StoredExperiment>(EXPERIMENTS)?;
        let mine = || all.iter().filter(|(_, e)| e.account == account && e.region == region);
        if let Some((_, e)) = mine().find(|(_, e)| e.client_token == client_token) {
            return Ok(e.experiment.clone());
        }
        let t = self.template_record(account, region, template_id)?.template;
        if mine().filter(|(_, e)| !terminal(&e.experiment.state.status)).count() >= MAX_ACTIVE_EXPERIMENTS {
            return Err(FisError::quota(format!(
                "At most {MAX_ACTIVE_EXPERIMENTS} experiments may be active at once in an account and Region"
            )));
        }
        let id = self.new_id("EXP");
        let actions = t
            .actions
            .iter()
            .map(|(n, a)| {
                let action = ExperimentAction {
                    action_id: a.action_id.clone(),
                    description: a.description.clone(),
                    parameters: a.parameters.clone(),
                    targets: a.targets.clone(),
                    start_after: a.start_after.clone(),
                    state: State::new("pending", "Initial state"),
                    start_time: None,
                    end_time: None,
                };
                (n.clone(), action)
            })
            .collect();
        let experiment = Experiment {
            arn: format!("arn:aws:fis:{region}:{account}:experiment/{id}"),
            id: id.clone(),
            experiment_template_id: t.id.clone(),
            role_arn: t.role_arn.clone(),
            state: State::new("pending", "Experiment is pending."),
            targets: t.targets.clone(),
            actions,
            stop_conditions: t.stop_conditions.clone(),
            creation_time: epoch(self.now()),
            start_time: None,
            end_time: None,
            tags,
        };
        let rec = StoredExperiment {
            account: account.to_owned(),
            region: region.to_owned(),
            client_token: client_token.to_owned(),
            experiment: experiment.clone(),
            resolved: BTreeMap::new(),
            ends_at: BTreeMap::new(),
        };
        self.save_experiment(&rec)?;
        Ok(experiment)
    }

    /// GetExperiment.
    ///
    /// # Errors
    /// `ResourceNotFoundException`.
    pub fn get_experiment(&self, account: &str, region: &str, id: &str) -> Result<Experiment, FisError> {
        Ok(self.experiment_record(account, region, id)?.experiment)
    }

    /// ListExperiments, in id order, optionally of one template.
    ///
    /// # Errors
    /// `ValidationException` for `maxResults` outside 1–100 or a token not handed out.
    pub fn list_experiments(
        &self,
        account: &str,
        region: &str,
        template_id: Option<&str>,
        max: Option<i64>,
        token: Option<&str>,
    ) -> Result<Page<Experiment>, FisError> {
        let max = max_results(max)?;
        let mut all: Vec<(String, Experiment)> = self
            .store
            .scan_json::<StoredExperiment>(EXPERIMENTS)?
            .into_iter()
            .filter(|(_, e)| e.account == account && e.region == region)
            .filter(|(_, e)| template_id.is_none_or(|t| e.experiment.experiment_template_id == t))
            .map(|(k, e)| (k, e.experiment))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        paginate(all, token, TokenForm::Hex, max).map_err(bad_token)
    }

    /// ListExperimentResolvedTargets: `(target name, resource type, ARN)` of every resolved
    /// target (none before the experiment has resolved them).
    ///
    /// # Errors
    /// `ResourceNotFoundException`.
    pub fn resolved_targets(
        &self,
        account: &str,
        region: &str,
        id: &str,
    ) -> Result<Vec<(String, String, String)>, FisError> {
        let rec = self.experiment_record(account, region, id)?;
        let mut out = Vec::new();
        for (name, arns) in &rec.resolved {
            let rtype = rec.experiment.targets.get(name).map(|t| t.resource_type.clone()).unwrap_or_default();
            out.extend(arns.iter().map(|a| (name.clone(), rtype.clone(), a.clone())));
        }
        Ok(out)
    }

    /// StopExperiment: every running action is ended at once (its faults end before this
    /// returns), pending ones are cancelled, and the experiment is `stopping` until the
    /// next tick makes it `stopped`. A finished experiment is returned as it is.
    ///
    /// # Errors
    /// `ResourceNotFoundException`.
    pub fn stop_experiment(&self, account: &str, region: &str, id: &str) -> Result<Experiment, FisError> {
        let _g = self.guard();
        let mut rec = self.experiment_record(account, region, id)?;
        if terminal(&rec.experiment.state.status) || rec.experiment.state.status == "stopping" {
            return Ok(rec.experiment);
        }
        let now = self.now();
        self.end_actions(&mut rec, now, "stopped", "Action was stopped.");
        rec.experiment.state = State::new("stopping", "Stopping Experiment.");
        self.save_experiment(&rec)?;
        Ok(rec.experiment)
    }

    /// End every running action (asking [`Actions::stop`]) with `status`, and cancel the
    /// pending ones.
    fn end_actions(&self, rec: &mut StoredExperiment, now: OffsetDateTime, status: &str, reason: &str) {
        let names: Vec<String> = rec.experiment.actions.keys().cloned().collect();
        for name in names {
            let st = rec.experiment.actions[&name].state.status.clone();
            match st.as_str() {
                "running" | "initiating" | "stopping" => {
                    self.actions.stop(&self.run(rec, &name));
                    let a = rec.experiment.actions.get_mut(&name).expect("listed");
                    a.state = State::new(status, reason);
                    a.end_time = Some(epoch(now));
                }
                "pending" => {
                    let a = rec.experiment.actions.get_mut(&name).expect("listed");
                    a.state = State::new("cancelled", "Experiment was stopped before the action started.");
                }
                _ => {}
            }
        }
        rec.ends_at.clear();
    }

    fn run(&self, rec: &StoredExperiment, name: &str) -> ActionRun {
        let a = &rec.experiment.actions[name];
        ActionRun {
            experiment_id: rec.experiment.id.clone(),
            account: rec.account.clone(),
            region: rec.region.clone(),
            role_arn: rec.experiment.role_arn.clone(),
            action_name: name.to_owned(),
            action_id: a.action_id.clone(),
            parameters: a.parameters.clone().unwrap_or_default(),
            targets: a
                .targets
                .iter()
                .flatten()
                .map(|(key, target)| (key.clone(), rec.resolved.get(target).cloned().unwrap_or_default()))
                .collect(),
        }
    }

    /// The regions with experiments that have not finished, and those experiments' ARNs:
    /// what blocks deleting `AWSServiceRoleForFIS` (AWS deletes it only when no experiment
    /// is running).
    ///
    /// # Errors
    /// A store failure.
    pub fn active_experiments(&self) -> Result<Vec<(String, Vec<String>)>, FisError> {
        let mut by_region: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (_, rec) in self.store.scan_json::<StoredExperiment>(EXPERIMENTS)? {
            if !terminal(&rec.experiment.state.status) {
                by_region.entry(rec.region).or_default().push(rec.experiment.arn);
            }
        }
        Ok(by_region.into_iter().collect())
    }

    /// End what was running when daxd last stopped: see the module docs. Call once, at start.
    ///
    /// # Errors
    /// A store failure.
    pub fn recover(&self) -> Result<usize, FisError> {
        let _g = self.guard();
        let now = self.now();
        let mut n = 0;
        for (_, mut rec) in self.store.scan_json::<StoredExperiment>(EXPERIMENTS)? {
            if terminal(&rec.experiment.state.status) {
                continue;
            }
            self.end_actions(&mut rec, now, "stopped", "Action was stopped by a restart of daxd.");
            rec.experiment.state = State::new("failed", "Experiment was interrupted by a restart of daxd.");
            rec.experiment.state.error = Some(error(&rec, ErrorCode::InternalFailure, None));
            rec.experiment.end_time = Some(epoch(now));
            self.save_experiment(&rec)?;
            n += 1;
        }
        Ok(n)
    }

    /// Advance every active experiment to `now` (daxd's background tick calls it every
    /// second or so; tests with a manual clock).
    ///
    /// # Errors
    /// A store failure.
    pub fn tick(&self) -> Result<(), FisError> {
        let _g = self.guard();
        let now = self.now();
        for (_, mut rec) in self.store.scan_json::<StoredExperiment>(EXPERIMENTS)? {
            if terminal(&rec.experiment.state.status) {
                continue;
            }
            let before = serde_json::to_string(&rec.experiment).unwrap_or_default();
            self.advance(&mut rec, now);
            if serde_json::to_string(&rec.experiment).unwrap_or_default() != before {
                self.save_experiment(&rec)?;
            }
        }
        Ok(())
    }

    /// End the experiment as `failed`, with the first failure's reason and error.
    fn fail(&self, rec: &mut StoredExperiment, now: OffsetDateTime, reason: &str, code: ErrorCode, at: Option<&str>) {
        self.end_actions(rec, now, "stopped", "Action was stopped because the experiment failed.");
        rec.experiment.state = State::new("failed", reason);
        rec.experiment.state.error = Some(error(rec, code, at));
        rec.experiment.end_time = Some(epoch(now));
    }

    /// The first stop condition whose alarm is in ALARM.
    fn stop_condition_fired(&self, rec: &StoredExperiment) -> Option<String> {
        rec.experiment
            .stop_conditions
            .iter()
            .filter(|s| s.source == "aws:cloudwatch:alarm")
            .filter_map(|s| s.value.clone())
            .find(|arn| self.alarms.state(arn).as_deref() == Some("ALARM"))
    }

    /// Every target's resources; `Err((code, target, reason))` for the first that cannot be
    /// resolved.
    fn resolve(&self, rec: &StoredExperiment) -> Result<BTreeMap<String, Vec<String>>, (ErrorCode, String, String)> {
        let mut out = BTreeMap::new();
        for (name, t) in &rec.experiment.targets {
            let mode = parse_selection_mode(&t.selection_mode)
                .map_err(|e| (ErrorCode::ConfigurationFailure, name.clone(), e.message))?;
            let mut found: Vec<Resource> = self.targets.resources(&rec.account, &rec.region, &t.resource_type);
            found.sort_by(|a, b| a.arn.cmp(&b.arn));
            let matching: Vec<String> = found
                .into_iter()
                .filter(|r| t.resource_arns.as_ref().is_none_or(|arns| arns.contains(&r.arn)))
                .filter(|r| t.resource_tags.iter().flatten().all(|(k, v)| r.tags.get(k) == Some(v)))
                .filter(|r| {
                    t.filters.iter().flatten().all(|f| r.attributes.get(&f.path).is_some_and(|v| f.values.contains(v)))
                })
                .map(|r| r.arn)
                .collect();
            if matching.is_empty() {
                let reason = format!("Target resolution returned empty set for target {name}.");
                return Err((ErrorCode::InvalidTarget, name.clone(), reason));
            }
            out.insert(name.clone(), mode.choose(&matching, seed_of(&[&rec.experiment.id, name])));
        }
        Ok(out)
    }

    fn advance(&self, rec: &mut StoredExperiment, now: OffsetDateTime) {
        match rec.experiment.state.status.as_str() {
            "pending" => rec.experiment.state = State::new("initiating", "Experiment is initiating."),
            "initiating" => {
                if let Some(arn) = self.stop_condition_fired(rec) {
                    let reason = format!("Stop condition {arn} was in ALARM when the experiment started.");
                    self.fail(rec, now, &reason, ErrorCode::ConfigurationFailure, None);
                    return;
                }
                match self.resolve(rec) {
                    Ok(resolved) => {
                        rec.resolved = resolved;
                        rec.experiment.state = State::new("running", "Experiment is running.");
                        rec.experiment.start_time = Some(epoch(now));
                        self.run_actions(rec, now);
                    }
                    Err((code, target, reason)) => self.fail(rec, now, &reason, code, Some(&target)),
                }
            }
            "running" => {
                if let Some(arn) = self.stop_condition_fired(rec) {
                    self.end_actions(rec, now, "stopped", "Action was stopped by a stop condition.");
                    rec.experiment.state = State::new("stopping", &format!("Stop condition {arn} was triggered."));
                    return;
                }
                self.run_actions(rec, now);
            }
            "stopping" => {
                let reason = if rec.experiment.state.reason == "Stopping Experiment." {
                    "Experiment stopped.".to_owned()
                } else {
                    rec.experiment.state.reason.clone()
                };
                rec.experiment.state = State::new("stopped", &reason);
                rec.experiment.end_time = Some(epoch(now));
            }
            _ => {}
        }
    }

    /// End the actions whose time is up and start those whose `startAfter` actions have
    /// all completed, until nothing changes (a chain of instantaneous actions runs in one
    /// tick); then complete the experiment when every action has.
    fn run_actions(&self, rec: &mut StoredExperiment, now: OffsetDateTime) {
        let now_ms = millis(now);
        loop {
            let mut changed = false;
            let names: Vec<String> = rec.experiment.actions.keys().cloned().collect();
            for name in &names {
                let a = &rec.experiment.actions[name];
                if a.state.status == "running" && rec.ends_at.get(name).is_some_and(|t| *t <= now_ms) {
                    self.actions.stop(&self.run(rec, name));
                    rec.ends_at.remove(name);
                    let a = rec.experiment.actions.get_mut(name).expect("listed");
                    a.state = State::new("completed", "Action was completed.");
                    a.end_time = Some(epoch(now));
                    changed = true;
                }
            }
            for name in &names {
                let a = &rec.experiment.actions[name];
                let ready = a.state.status == "pending"
                    && a.start_after
                        .iter()
                        .flatten()
                        .all(|x| rec.experiment.actions.get(x).is_some_and(|b| b.state.status == "completed"));
                if !ready {
                    continue;
                }
                let spec = catalog::action(&a.action_id);
                let duration =
                    a.parameters.as_ref().and_then(|p| p.get("duration")).and_then(|d| parse_duration(d).ok());
                if let Err(failure) = self.actions.start(&self.run(rec, name)) {
                    let a = rec.experiment.actions.get_mut(name).expect("listed");
                    a.state = State::new("failed", &failure.reason);
                    a.start_time = Some(epoch(now));
                    a.end_time = Some(epoch(now));
                    let reason = format!("Action {name} failed: {}", failure.reason);
                    self.fail(rec, now, &reason, failure.code, Some(name));
                    return;
                }
                let a = rec.experiment.actions.get_mut(name).expect("listed");
                a.start_time = Some(epoch(now));
                match (spec.is_some_and(|s| s.lasts), duration) {
                    (true, Some(ms)) => {
                        a.state = State::new("running", "Action is running.");
                        rec.ends_at.insert(name.clone(), now_ms.saturating_add(self.scaled(ms)));
                    }
                    _ => {
                        a.state = State::new("completed", "Action was completed.");
                        a.end_time = Some(epoch(now));
                    }
                }
                changed = true;
            }
            if !changed {
                break;
            }
        }
        if rec.experiment.actions.values().all(|a| a.state.status == "completed") {
            rec.experiment.state = State::new("completed", "Experiment completed.");
            rec.experiment.end_time = Some(epoch(now));
        }
    }
}
