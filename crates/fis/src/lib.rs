//! `fis`: daxd's AWS Fault Injection Service: experiment templates, experiments with
//! AWS's lifecycle (pending, initiating, running, completed, stopping, stopped, failed;
//! per-action states, `startAfter` ordering, ISO-8601 durations, stop conditions), target
//! resolution (ARNs, tags, filters; `ALL`, `COUNT(n)`, `PERCENT(n)`) and the action catalog.
//!
//! What it is not: it knows no wire format, no IAM, no CloudWatch and no DAX node. The
//! binary implements its three traits: [`Targets`] (what resources exist), [`Alarms`] (the
//! state of a stop condition's alarm) and [`Actions`] (authorize an action as the
//! experiment's role and make the fault happen, then end it). Time comes from the
//! [`base::Clock`] and experiments advance in [`Fis::tick`], so tests run minutes of an
//! experiment in milliseconds with a manual clock; [`Fis::with_time_scale`] makes an
//! experiment's durations shorter on a real clock (daxd's `--fis-time-scale`).
//!
//! Records and the API's JSON shapes are the same serde types ([`Template`],
//! [`Experiment`]), camel-cased as botocore's `fis` model spells them; timestamps are epoch
//! seconds.

#![forbid(unsafe_code)]

pub mod catalog;
mod duration;
mod model;
pub mod selection;
mod service;

#[cfg(test)]
mod tests;

pub use duration::parse_duration;
pub use model::{
    ActionFailure, ActionInput, ActionRun, ErrorCode, Experiment, ExperimentAction, ExperimentError, Filter, Resource,
    State, StopCondition, Target, Template, TemplateInput, TemplateUpdate,
};
pub use selection::{parse_selection_mode, SelectionMode};
pub use service::{Actions, Alarms, Fis, Targets, TIME_SCALE_RANGE};

/// An error the API answers with: AWS's code, message and HTTP status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FisError {
    pub code: &'static str,
    pub message: String,
    pub status: u16,
}

impl FisError {
    /// `ValidationException` (400).
    pub fn validation(message: impl Into<String>) -> Self {
        FisError { code: "ValidationException", message: message.into(), status: 400 }
    }

    /// `ResourceNotFoundException` (404).
    pub fn not_found(message: impl Into<String>) -> Self {
        FisError { code: "ResourceNotFoundException", message: message.into(), status: 404 }
    }

    /// `ConflictException` (409).
    pub fn conflict(message: impl Into<String>) -> Self {
        FisError { code: "ConflictException", message: message.into(), status: 409 }
    }

    /// `ServiceQuotaExceededException` (402, as botocore's model gives it).
    pub fn quota(message: impl Into<String>) -> Self {
        FisError { code: "ServiceQuotaExceededException", message: message.into(), status: 402 }
    }

    /// A store failure, answered as a 500.
    pub fn internal(message: impl Into<String>) -> Self {
        FisError { code: "InternalServerException", message: message.into(), status: 500 }
    }
}

impl std::fmt::Display for FisError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for FisError {}

impl From<state::StoreError> for FisError {
    fn from(e: state::StoreError) -> Self {
        FisError::internal(e.to_string())
    }
}
