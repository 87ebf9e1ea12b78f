//! The records of templates and experiments, which are also the API's JSON shapes, and
//! what the traits exchange with the binary.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A target filter: a resource attribute path and the values it may have.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    pub path: String,
    pub values: Vec<String>,
}

/// A target of a template (and, copied, of an experiment).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub resource_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_arns: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_tags: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<Vec<Filter>>,
    pub selection_mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<BTreeMap<String, String>>,
}

/// An action of a template.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionInput {
    pub action_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<BTreeMap<String, String>>,
    /// Target key of the action → target name of the template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_after: Option<Vec<String>>,
}

/// A stop condition: `aws:cloudwatch:alarm` with an alarm ARN, or `none`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StopCondition {
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// CreateExperimentTemplate's input (required members are checked, not assumed).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateInput {
    #[serde(default)]
    pub client_token: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub stop_conditions: Option<Vec<StopCondition>>,
    #[serde(default)]
    pub targets: Option<BTreeMap<String, Target>>,
    #[serde(default)]
    pub actions: Option<BTreeMap<String, ActionInput>>,
    #[serde(default)]
    pub role_arn: Option<String>,
    #[serde(default)]
    pub tags: Option<BTreeMap<String, String>>,
}

/// UpdateExperimentTemplate's input: what is given replaces what the template has.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateUpdate {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub stop_conditions: Option<Vec<StopCondition>>,
    #[serde(default)]
    pub targets: Option<BTreeMap<String, Target>>,
    #[serde(default)]
    pub actions: Option<BTreeMap<String, ActionInput>>,
    #[serde(default)]
    pub role_arn: Option<String>,
}

/// An experiment template.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    pub id: String,
    pub arn: String,
    pub description: String,
    pub targets: BTreeMap<String, Target>,
    pub actions: BTreeMap<String, ActionInput>,
    pub stop_conditions: Vec<StopCondition>,
    pub creation_time: f64,
    pub last_update_time: f64,
    pub role_arn: String,
    pub tags: BTreeMap<String, String>,
}

/// A state and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    pub status: String,
    pub reason: String,
    /// Why a `failed` experiment failed, as a code (an experiment's state only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ExperimentError>,
}

impl State {
    pub(crate) fn new(status: &str, reason: &str) -> Self {
        State { status: status.to_owned(), reason: reason.to_owned(), error: None }
    }
}

/// The error of a failed experiment (`ExperimentError`): the first failure's code, the part
/// of the template it happened in, and the account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentError {
    pub account_id: String,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// The codes of AWS FIS's experiment errors ("Troubleshooting AWS FIS", Error codes) that
/// daxd's failures fall under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// The role lacks a permission the action needs, or cannot be assumed.
    AuthorizationFailure,
    /// A target resolved to nothing, or its resource is gone when the action starts.
    InvalidTarget,
    /// An action, target or experiment is configured in a way that cannot run.
    ConfigurationFailure,
    /// Something went wrong inside the service (daxd restarted during the experiment).
    InternalFailure,
}

impl ErrorCode {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::AuthorizationFailure => "AuthorizationFailure",
            ErrorCode::InvalidTarget => "InvalidTarget",
            ErrorCode::ConfigurationFailure => "ConfigurationFailure",
            ErrorCode::InternalFailure => "InternalFailure",
        }
    }
}

/// Why an action could not start, as [`crate::Actions::start`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionFailure {
    pub code: ErrorCode,
    /// The action's (and the experiment's) state reason.
    pub reason: String,
}

impl ActionFailure {
    #[must_use]
    pub fn new(code: ErrorCode, reason: impl Into<String>) -> Self {
        ActionFailure { code, reason: reason.into() }
    }
}

/// An action of an experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentAction {
    pub action_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_after: Option<Vec<String>>,
    pub state: State,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<f64>,
}

/// An experiment: a snapshot of its template, its state and its actions' states.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Experiment {
    pub id: String,
    pub arn: String,
    pub experiment_template_id: String,
    pub role_arn: String,
    pub state: State,
    pub targets: BTreeMap<String, Target>,
    pub actions: BTreeMap<String, ExperimentAction>,
    pub stop_conditions: Vec<StopCondition>,
    pub creation_time: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<f64>,
    pub tags: BTreeMap<String, String>,
}

/// A resource a target may resolve to, as [`crate::Targets`] reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resource {
    pub arn: String,
    pub tags: BTreeMap<String, String>,
    /// Filter path (`State.Role`, `AvailabilityZone`, …) → value.
    pub attributes: BTreeMap<String, String>,
}

/// One action to start or end, as [`crate::Actions`] receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionRun {
    pub experiment_id: String,
    pub account: String,
    pub region: String,
    /// The role the action is authorized as.
    pub role_arn: String,
    pub action_name: String,
    pub action_id: String,
    pub parameters: BTreeMap<String, String>,
    /// Target key → the resolved resource ARNs.
    pub targets: BTreeMap<String, Vec<String>>,
}
