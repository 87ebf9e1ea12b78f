//! Metric alarms: their configuration, their evaluation every minute on the
//! clock (Period, EvaluationPeriods, DatapointsToAlarm, Threshold,
//! ComparisonOperator, TreatMissingData), their history and their tags.
//!
//! Evaluation looks at the last `EvaluationPeriods` complete periods. With no
//! datapoint among them, TreatMissingData decides: `missing` gives
//! `INSUFFICIENT_DATA`, `ignore` keeps the state, `breaching` gives `ALARM`,
//! `notBreaching` gives `OK`. Otherwise the breaching datapoints (plus the
//! missing ones under `breaching`) are counted: `DatapointsToAlarm` of them
//! or more give `ALARM`, fewer give `OK`.
//!
//! daxd has no SNS: an action is recorded in the history as AWS records an
//! action that failed, with the reason, and nothing is published.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;
use state::Op;
use time::OffsetDateTime;

use crate::metrics::{floor, Dimension};
use crate::query::DataQuery;
use crate::{CloudWatch, CwError, Inner, MetricId, Stat, Statistic};

/// Alarms per account and region.
pub const MAX_ALARMS: usize = 5_000;
/// Actions per state.
pub const MAX_ACTIONS: usize = 5;
/// Tags per alarm.
pub const MAX_TAGS: usize = 50;
/// History is kept this long, also after the alarm is deleted.
pub const HISTORY_RETENTION_SECS: i64 = 14 * 86_400;
/// The longest HistoryData.
pub const MAX_HISTORY_DATA: usize = 4_095;
/// How many periods before the last EvaluationPeriods an evaluation also reads
/// (its evaluation range). AWS says the number depends on the period and the
/// resolution and shows 5 for 3 evaluation periods; daxd reads two more always.
pub const EVALUATION_RANGE_EXTRA: i64 = 2;
/// Queries in an alarm's `Metrics`, and of them MetricStats and expressions.
pub const MAX_ALARM_QUERIES: usize = 20;
pub const MAX_ALARM_METRICS: usize = 10;

/// The comparison operators of anomaly-detection alarms, which need a band.
pub const ANOMALY_OPERATORS: [&str; 3] =
    ["LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold", "GreaterThanUpperThreshold"];

/// An alarm state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlarmState {
    #[serde(rename = "OK")]
    Ok,
    #[serde(rename = "ALARM")]
    Alarm,
    #[serde(rename = "INSUFFICIENT_DATA")]
    InsufficientData,
}

impl AlarmState {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        }
    }

    /// The state of its name.
    #[must_use]
    pub fn of(name: &str) -> Option<Self> {
        [AlarmState::Ok, AlarmState::Alarm, AlarmState::InsufficientData].into_iter().find(|s| s.name() == name)
    }
}

/// A static-threshold comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    GreaterThanOrEqualToThreshold,
    GreaterThanThreshold,
    LessThanThreshold,
    LessThanOrEqualToThreshold,
}

impl Comparison {
    pub const ALL: [Comparison; 4] = [
        Comparison::GreaterThanOrEqualToThreshold,
        Comparison::GreaterThanThreshold,
        Comparison::LessThanThreshold,
        Comparison::LessThanOrEqualToThreshold,
    ];

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Comparison::GreaterThanOrEqualToThreshold => "GreaterThanOrEqualToThreshold",
            Comparison::GreaterThanThreshold => "GreaterThanThreshold",
            Comparison::LessThanThreshold => "LessThanThreshold",
            Comparison::LessThanOrEqualToThreshold => "LessThanOrEqualToThreshold",
        }
    }

    /// The words of a state reason.
    #[must_use]
    pub fn words(self) -> &'static str {
        match self {
            Comparison::GreaterThanOrEqualToThreshold => "greater than or equal to",
            Comparison::GreaterThanThreshold => "greater than",
            Comparison::LessThanThreshold => "less than",
            Comparison::LessThanOrEqualToThreshold => "less than or equal to",
        }
    }

    #[must_use]
    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::GreaterThanOrEqualToThreshold => value >= threshold,
            Comparison::GreaterThanThreshold => value > threshold,
            Comparison::LessThanThreshold => value < threshold,
            Comparison::LessThanOrEqualToThreshold => value <= threshold,
        }
    }
}

/// TreatMissingData.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MissingData {
    Missing,
    Ignore,
    Breaching,
    NotBreaching,
}

impl MissingData {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            MissingData::Missing => "missing",
            MissingData::Ignore => "ignore",
            MissingData::Breaching => "breaching",
            MissingData::NotBreaching => "notBreaching",
        }
    }

    #[must_use]
    pub fn of(name: &str) -> Option<Self> {
        [MissingData::Missing, MissingData::Ignore, MissingData::Breaching, MissingData::NotBreaching]
            .into_iter()
            .find(|m| m.name() == name)
    }
}

/// A metric alarm as stored and described.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alarm {
    pub name: String,
    pub arn: String,
    pub description: Option<String>,
    pub actions_enabled: bool,
    pub ok_actions: Vec<String>,
    pub alarm_actions: Vec<String>,
    pub insufficient_data_actions: Vec<String>,
    pub metric: MetricId,
    pub stat: Stat,
    pub period: i64,
    pub unit: Option<String>,
    pub evaluation_periods: i64,
    pub datapoints_to_alarm: Option<i64>,
    pub threshold: f64,
    pub comparison: Comparison,
    /// As given; `None` reads as `missing`.
    pub treat_missing_data: Option<MissingData>,
    pub evaluate_low_sample_count_percentile: Option<String>,
    pub state: AlarmState,
    pub state_reason: String,
    pub state_reason_data: Option<String>,
    /// Epoch seconds.
    pub state_updated: f64,
    pub state_transitioned: f64,
    pub configuration_updated: f64,
    pub tags: BTreeMap<String, String>,
    /// The queries of an alarm on a metric-math expression (`Metrics`), the one
    /// with ReturnData the watched one; empty for an alarm on one metric. An
    /// alarm on `Metrics` has no `metric`, `stat` or `unit` of its own: `metric`
    /// is then empty and `stat` unused, and `period` is its metrics' period.
    #[serde(default)]
    pub metrics: Vec<DataQuery>,
}

pub(crate) type AlarmRec = Alarm;

/// PutMetricAlarm's request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PutAlarm {
    pub name: String,
    pub description: Option<String>,
    pub actions_enabled: Option<bool>,
    pub ok_actions: Vec<String>,
    pub alarm_actions: Vec<String>,
    pub insufficient_data_actions: Vec<String>,
    pub namespace: Option<String>,
    pub metric_name: Option<String>,
    pub dimensions: Vec<Dimension>,
    pub statistic: Option<String>,
    pub extended_statistic: Option<String>,
    pub period: Option<i64>,
    pub unit: Option<String>,
    pub evaluation_periods: i64,
    pub datapoints_to_alarm: Option<i64>,
    pub threshold: Option<f64>,
    pub comparison: String,
    pub treat_missing_data: Option<String>,
    pub evaluate_low_sample_count_percentile: Option<String>,
    pub tags: Vec<(String, String)>,
    /// `Metrics`: an alarm on a metric-math expression.
    pub metrics: Vec<DataQuery>,
}

/// One alarm history item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryItem {
    pub alarm_name: String,
    pub alarm_type: String,
    /// Epoch seconds.
    pub timestamp: f64,
    pub item_type: String,
    pub summary: String,
    pub data: String,
}

/// DescribeAlarms' filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlarmFilter {
    pub names: Vec<String>,
    pub prefix: Option<String>,
    pub state: Option<AlarmState>,
    pub action_prefix: Option<String>,
}

/// DescribeAlarmHistory's request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryRequest {
    pub alarm_name: Option<String>,
    pub item_type: Option<String>,
    pub start: Option<f64>,
    pub end: Option<f64>,
    pub max_records: Option<i64>,
    pub next_token: Option<String>,
    pub ascending: bool,
}

/// A date as CloudWatch writes it in StateReasonData: `2019-02-10T17:00:29.575+0000`.
fn reason_date(epoch: f64) -> String {
    #[allow(clippy::cast_possible_truncation)]
    let t = OffsetDateTime::from_unix_timestamp_nanos((epoch * 1e9) as i128).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// A datapoint's time as a StateReason prints it: `02/10/19 16:59:00` (dd/MM/yy).
fn reason_time(epoch: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(epoch).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:02}/{:02}/{:02} {:02}:{:02}:{:02}",
        t.day(),
        u8::from(t.month()),
        t.year().rem_euclid(100),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn check_actions(member: &str, actions: &[String]) -> Result<(), CwError> {
    if actions.len() > MAX_ACTIONS {
        return Err(CwError::LimitExceeded(format!("The maximum number of {member} is {MAX_ACTIONS}.")));
    }
    for a in actions {
        let parts: Vec<&str> = a.splitn(6, ':').collect();
        if parts.len() < 6 || parts[0] != "arn" || parts[2].is_empty() {
            return Err(CwError::InvalidParameterValue(format!("Invalid arn syntax: {a}")));
        }
    }
    Ok(())
}

/// The outcome of evaluating an alarm's window.
struct Verdict {
    state: AlarmState,
    reason: String,
    data: String,
}

impl CloudWatch {
    fn alarm_arn(&self, name: &str) -> String {
        format!("arn:aws:cloudwatch:{}:{}:alarm:{name}", self.region, self.account)
    }

    fn history_op(&self, inner: &mut Inner, item: HistoryItem) -> Result<(Op, String, HistoryItem), CwError> {
        inner.history_seq += 1;
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let key = format!("{:015}-{:09}", (item.timestamp * 1000.0) as u64, inner.history_seq);
        Ok((Op::put_json(&self.ns.history, key.clone(), &item)?, key, item))
    }

    fn item(name: &str, now: f64, item_type: &str, summary: String, data: &serde_json::Value) -> HistoryItem {
        let mut data = data.to_string();
        data.truncate(MAX_HISTORY_DATA);
        HistoryItem {
            alarm_name: name.to_owned(),
            alarm_type: "MetricAlarm".to_owned(),
            timestamp: now,
            item_type: item_type.to_owned(),
            summary,
            data,
        }
    }

    /// PutMetricAlarm: create an alarm in `INSUFFICIENT_DATA`, or replace the
    /// configuration of an existing one and keep its state (and its tags).
    ///
    /// # Errors
    /// The validation errors of the request; `LimitExceeded`.
    pub fn put_metric_alarm(&self, req: &PutAlarm) -> Result<(), CwError> {
        let missing = |m: &str| CwError::MissingParameter(format!("The parameter {m} is required."));
        let (metric, stat, period) = if req.metrics.is_empty() {
            let namespace = req.namespace.as_deref().ok_or_else(|| missing("Namespace"))?;
            let metric_name = req.metric_name.as_deref().ok_or_else(|| missing("MetricName"))?;
            let period = req.period.ok_or_else(|| missing("Period"))?;
            let stat = match (&req.statistic, &req.extended_statistic) {
                (Some(s), None) => match Statistic::of(s) {
                    Some(s) => Stat::Standard(s),
                    None => {
                        return Err(CwError::InvalidParameterValue(format!(
                            "The value {s} for parameter Statistic is not supported."
                        )))
                    }
                },
                (None, Some(e)) => Stat::Percentile(crate::stats::percentile_of(e)?),
                _ => {
                    return Err(CwError::InvalidParameterCombination(
                        "Exactly one of Statistic or ExtendedStatistic must be specified.".to_owned(),
                    ))
                }
            };
            (MetricId::new(namespace, metric_name, req.dimensions.clone()), stat, period)
        } else {
            let period = self.check_alarm_metrics(req)?;
            // Unused on an alarm on `Metrics` (see [`Alarm::metrics`]).
            (MetricId::new("", "", Vec::new()), Stat::Standard(Statistic::Average), period)
        };
        if !(period > 0 && (period % 60 == 0 || [10, 20, 30].contains(&period))) {
            return Err(CwError::InvalidParameterValue(
                "The parameter Period must be 10, 20, 30, or a multiple of 60.".to_owned(),
            ));
        }
        if req.evaluation_periods < 1 {
            return Err(CwError::InvalidParameterValue(
                "The parameter EvaluationPeriods must be greater than or equal to 1.".to_owned(),
            ));
        }
        let window = period.saturating_mul(req.evaluation_periods);
        if window > 604_800 || (period < 3_600 && window > 86_400) {
            return Err(CwError::InvalidParameterCombination(
                "Metrics cannot be checked across more than a day (EvaluationPeriods * Period must be <= 86400) \
                 unless Period is at least 3600, and never across more than a week (604800)."
                    .to_owned(),
            ));
        }
        if let Some(m) = req.datapoints_to_alarm {
            if m < 1 {
                return Err(CwError::InvalidParameterValue(
                    "The parameter DatapointsToAlarm must be greater than or equal to 1.".to_owned(),
                ));
            }
            if m > req.evaluation_periods {
                return Err(CwError::ValidationError(
                    "DatapointsToAlarm must be less than or equal to EvaluationPeriods".to_owned(),
                ));
            }
        }
        let comparison = match Comparison::ALL.into_iter().find(|c| c.name() == req.comparison) {
            Some(c) => c,
            None if ANOMALY_OPERATORS.contains(&req.comparison.as_str()) => {
                return Err(CwError::InvalidParameterCombination(format!(
                    "ComparisonOperator {} needs ThresholdMetricId and an anomaly detection band in Metrics; \
                     daxd serves static-threshold alarms only.",
                    req.comparison
                )))
            }
            None => {
                return Err(CwError::InvalidParameterValue(format!(
                    "The value {} for parameter ComparisonOperator is not supported.",
                    req.comparison
                )))
            }
        };
        let threshold = req.threshold.ok_or_else(|| missing("Threshold"))?;
        let treat = match &req.treat_missing_data {
            None => None,
            Some(t) => Some(MissingData::of(t).ok_or_else(|| {
                CwError::InvalidParameterValue(format!(
                    "The value {t} for parameter TreatMissingData is not supported: it must be breaching, \
                     notBreaching, ignore or missing."
                ))
            })?),
        };
        if let Some(e) = &req.evaluate_low_sample_count_percentile {
            if e != "evaluate" && e != "ignore" {
                return Err(CwError::InvalidParameterValue(format!(
                    "The value {e} for parameter EvaluateLowSampleCountPercentile is not supported."
                )));
            }
            if !matches!(stat, Stat::Percentile(_)) {
                return Err(CwError::InvalidParameterCombination(
                    "EvaluateLowSampleCountPercentile applies only to alarms on a percentile.".to_owned(),
                ));
            }
        }
        check_actions("OKActions", &req.ok_actions)?;
        check_actions("AlarmActions", &req.alarm_actions)?;
        check_actions("InsufficientDataActions", &req.insufficient_data_actions)?;
        if req.tags.len() > MAX_TAGS {
            return Err(CwError::LimitExceeded(format!("An alarm may carry at most {MAX_TAGS} tags.")));
        }
        let now = self.clock.epoch();
        let mut inner = self.lock();
        let old = inner.alarms.get(&req.name).cloned();
        if old.is_none() && inner.alarms.len() >= MAX_ALARMS {
            return Err(CwError::LimitExceeded(format!("The maximum number of alarms ({MAX_ALARMS}) is reached.")));
        }
        let alarm = Alarm {
            name: req.name.clone(),
            arn: self.alarm_arn(&req.name),
            description: req.description.clone(),
            actions_enabled: req.actions_enabled.unwrap_or(true),
            ok_actions: req.ok_actions.clone(),
            alarm_actions: req.alarm_actions.clone(),
            insufficient_data_actions: req.insufficient_data_actions.clone(),
            metric,
            stat,
            period,
            unit: req.unit.clone(),
            evaluation_periods: req.evaluation_periods,
            datapoints_to_alarm: req.datapoints_to_alarm,
            threshold,
            comparison,
            treat_missing_data: treat,
            evaluate_low_sample_count_percentile: req.evaluate_low_sample_count_percentile.clone(),
            state: old.as_ref().map_or(AlarmState::InsufficientData, |o| o.state),
            state_reason: old
                .as_ref()
                .map_or_else(|| "Unchecked: Initial alarm creation".to_owned(), |o| o.state_reason.clone()),
            state_reason_data: old.as_ref().and_then(|o| o.state_reason_data.clone()),
            state_updated: old.as_ref().map_or(now, |o| o.state_updated),
            state_transitioned: old.as_ref().map_or(now, |o| o.state_transitioned),
            configuration_updated: now,
            // Tags given on an update are ignored, as PutMetricAlarm's reference says.
            tags: old.as_ref().map_or_else(|| req.tags.iter().cloned().collect(), |o| o.tags.clone()),
            metrics: req.metrics.clone(),
        };
        let item = match &old {
            None => Self::item(
                &req.name,
                now,
                "ConfigurationUpdate",
                format!("Alarm \"{}\" created", req.name),
                &json!({"version": "1.0", "type": "Create", "createdAlarm": summary_json(&alarm)}),
            ),
            Some(o) => Self::item(
                &req.name,
                now,
                "ConfigurationUpdate",
                format!("Alarm \"{}\" updated", req.name),
                &json!({"version": "1.0", "type": "Update", "originalAlarm": summary_json(o), "updatedAlarm": summary_json(&alarm)}),
            ),
        };
        let (hop, hkey, hitem) = self.history_op(&mut inner, item)?;
        self.store.apply(&[Op::put_json(&self.ns.alarms, req.name.clone(), &alarm)?, hop])?;
        inner.alarms.insert(req.name.clone(), alarm);
        inner.history.insert(hkey, hitem);
        Ok(())
    }

    /// The checks of PutMetricAlarm's `Metrics`: none of the single-metric
    /// members beside it; at most 20 queries, 10 of them MetricStats and 10
    /// expressions; exactly one returning data, giving one time series; every
    /// metric on one period, which is the alarm's.
    ///
    /// # Errors
    /// `InvalidParameterCombination`, `ValidationError`, `InvalidParameterValue`.
    fn check_alarm_metrics(&self, req: &PutAlarm) -> Result<i64, CwError> {
        let beside = [
            ("Namespace", req.namespace.is_some()),
            ("MetricName", req.metric_name.is_some()),
            ("Dimensions", !req.dimensions.is_empty()),
            ("Period", req.period.is_some()),
            ("Unit", req.unit.is_some()),
            ("Statistic", req.statistic.is_some()),
            ("ExtendedStatistic", req.extended_statistic.is_some()),
        ];
        if let Some((member, _)) = beside.iter().find(|(_, given)| *given) {
            return Err(CwError::InvalidParameterCombination(format!(
                "The parameter {member} cannot be used with Metrics: the metrics of an alarm on Metrics, with their \
                 periods, units and statistics, are given in Metrics."
            )));
        }
        let stats = req.metrics.iter().filter(|q| q.metric_stat.is_some()).count();
        if req.metrics.len() > MAX_ALARM_QUERIES
            || stats > MAX_ALARM_METRICS
            || req.metrics.len() - stats > MAX_ALARM_METRICS
        {
            return Err(CwError::ValidationError(format!(
                "The Metrics of an alarm may hold at most {MAX_ALARM_QUERIES} queries: at most {MAX_ALARM_METRICS} \
                 with a MetricStat and {MAX_ALARM_METRICS} with an Expression."
            )));
        }
        let returning: Vec<&DataQuery> = req.metrics.iter().filter(|q| q.return_data != Some(false)).collect();
        let [watched] = returning.as_slice() else {
            return Err(CwError::ValidationError(
                "Exactly one element of the metrics list should return data.".to_owned(),
            ));
        };
        let parsed = crate::query::check_queries(&req.metrics)?;
        let mut periods: Vec<i64> =
            req.metrics.iter().filter_map(|q| q.metric_stat.as_ref().map(|m| m.period)).collect();
        periods.sort_unstable();
        periods.dedup();
        let period = match periods.as_slice() {
            [p] => *p,
            [] => {
                return Err(CwError::ValidationError(
                    "The Metrics of an alarm must retrieve at least one metric with a MetricStat.".to_owned(),
                ))
            }
            _ => {
                return Err(CwError::ValidationError(
                    "All metrics in an alarm's Metrics must use the same period.".to_owned(),
                ))
            }
        };
        // The expression must evaluate, to one time series.
        let end = floor(self.now(), period);
        let evaluated = Self::evaluate_queries(&self.lock(), &req.metrics, &parsed, end - period, end)?;
        if evaluated.lists.contains_key(&watched.id) {
            return Err(CwError::ValidationError(format!(
                "The expression of {} returns an array of time series; an alarm must watch a single time series.",
                watched.id
            )));
        }
        Ok(period)
    }

    /// DescribeAlarms: the alarms matching `filter`, in name order, paged.
    ///
    /// # Errors
    /// `InvalidParameterCombination` for both names and a prefix; `InvalidNextToken`.
    pub fn describe_alarms(
        &self,
        filter: &AlarmFilter,
        max_records: Option<i64>,
        next_token: Option<&str>,
    ) -> Result<base::Page<Alarm>, CwError> {
        if !filter.names.is_empty() && filter.prefix.is_some() {
            return Err(CwError::InvalidParameterCombination(
                "AlarmNames and AlarmNamePrefix cannot both be specified.".to_owned(),
            ));
        }
        let max = page_size(max_records)?;
        let inner = self.lock();
        let matching = inner.alarms.iter().filter(|(name, a)| {
            (filter.names.is_empty() || filter.names.contains(name))
                && filter.prefix.as_ref().is_none_or(|p| name.starts_with(p.as_str()))
                && filter.state.is_none_or(|s| a.state == s)
                && filter.action_prefix.as_ref().is_none_or(|p| {
                    a.ok_actions
                        .iter()
                        .chain(&a.alarm_actions)
                        .chain(&a.insufficient_data_actions)
                        .any(|x| x.starts_with(p.as_str()))
                })
        });
        base::page::paginate(matching.map(|(k, a)| (k.clone(), a.clone())), next_token, base::page::TokenForm::Hex, max)
            .map_err(|_| bad_token())
    }

    /// DescribeAlarmsForMetric: the alarms on `metric`, narrowed by the other filters.
    #[must_use]
    pub fn describe_alarms_for_metric(
        &self,
        metric: &MetricId,
        stat: Option<Stat>,
        period: Option<i64>,
        unit: Option<&str>,
    ) -> Vec<Alarm> {
        let inner = self.lock();
        inner
            .alarms
            .values()
            .filter(|a| {
                // Alarms on metric-math expressions are left out, as AWS leaves them out.
                a.metrics.is_empty()
                    && a.metric == *metric
                    && stat.is_none_or(|s| a.stat == s)
                    && period.is_none_or(|p| a.period == p)
                    && unit.is_none_or(|u| a.unit.as_deref() == Some(u))
            })
            .cloned()
            .collect()
    }

    /// DeleteAlarms: all of them, or none when one does not exist. Their history stays.
    ///
    /// # Errors
    /// `ResourceNotFound` naming the first missing alarm.
    pub fn delete_alarms(&self, names: &[String]) -> Result<(), CwError> {
        let now = self.clock.epoch();
        let mut inner = self.lock();
        if let Some(missing) = names.iter().find(|n| !inner.alarms.contains_key(*n)) {
            return Err(CwError::ResourceNotFound(format!("1 of the alarms in the request do not exist: {missing}")));
        }
        let mut ops = Vec::new();
        let mut items = Vec::new();
        for n in names {
            ops.push(Op::delete(&self.ns.alarms, n.clone()));
            let a = &inner.alarms[n];
            let item = Self::item(
                n,
                now,
                "ConfigurationUpdate",
                format!("Alarm \"{n}\" deleted"),
                &json!({"version": "1.0", "type": "Delete", "deletedAlarm": summary_json(a)}),
            );
            let (op, k, i) = self.history_op(&mut inner, item)?;
            ops.push(op);
            items.push((k, i));
        }
        self.store.apply(&ops)?;
        for n in names {
            inner.alarms.remove(n);
        }
        inner.history.extend(items);
        Ok(())
    }

    /// EnableAlarmActions / DisableAlarmActions. Names that do not exist are
    /// skipped, as AWS does.
    ///
    /// # Errors
    /// `InternalServiceError` when the store fails.
    pub fn set_actions_enabled(&self, names: &[String], enabled: bool) -> Result<(), CwError> {
        let mut inner = self.lock();
        let mut ops = Vec::new();
        let mut changed = Vec::new();
        for n in names {
            if let Some(a) = inner.alarms.get(n) {
                let mut a = a.clone();
                a.actions_enabled = enabled;
                ops.push(Op::put_json(&self.ns.alarms, n.clone(), &a)?);
                changed.push(a);
            }
        }
        self.store.apply(&ops)?;
        for a in changed {
            inner.alarms.insert(a.name.clone(), a);
        }
        Ok(())
    }

    /// SetAlarmState: until the next evaluation.
    ///
    /// # Errors
    /// `ResourceNotFound`; `InvalidFormat` when `reason_data` is not JSON.
    pub fn set_alarm_state(
        &self,
        name: &str,
        state: AlarmState,
        reason: &str,
        reason_data: Option<&str>,
    ) -> Result<(), CwError> {
        if let Some(d) = reason_data {
            if serde_json::from_str::<serde_json::Value>(d).is_err() {
                return Err(CwError::InvalidFormat("Unable to parse JSON.".to_owned()));
            }
        }
        let mut inner = self.lock();
        if !inner.alarms.contains_key(name) {
            return Err(CwError::ResourceNotFound(format!("Alarm {name} not found")));
        }
        let v = Verdict { state, reason: reason.to_owned(), data: reason_data.unwrap_or_default().to_owned() };
        self.transition(&mut inner, name, &v)
    }

    /// Move an alarm to a verdict's state: the record, the StateUpdate item
    /// and the Action items of the new state, in one batch.
    fn transition(&self, inner: &mut Inner, name: &str, v: &Verdict) -> Result<(), CwError> {
        let now = self.clock.epoch();
        let Some(old) = inner.alarms.get(name).cloned() else { return Ok(()) };
        let mut a = old.clone();
        a.state = v.state;
        a.state_reason.clone_from(&v.reason);
        a.state_reason_data = (!v.data.is_empty()).then(|| v.data.clone());
        a.state_updated = now;
        if old.state != v.state {
            a.state_transitioned = now;
        }
        let state_json = |x: &Alarm| {
            let mut o = json!({"stateValue": x.state.name(), "stateReason": x.state_reason});
            if let Some(d) = &x.state_reason_data {
                o["stateReasonData"] = serde_json::from_str(d).unwrap_or(serde_json::Value::Null);
            }
            o
        };
        let mut ops = vec![Op::put_json(&self.ns.alarms, name.to_owned(), &a)?];
        let mut items = Vec::new();
        let item = Self::item(
            name,
            now,
            "StateUpdate",
            format!("Alarm updated from {} to {}", old.state.name(), a.state.name()),
            &json!({"version": "1.0", "oldState": state_json(&old), "newState": state_json(&a)}),
        );
        items.push(self.history_op(inner, item)?);
        if a.actions_enabled && old.state != a.state {
            let actions = match a.state {
                AlarmState::Ok => &a.ok_actions,
                AlarmState::Alarm => &a.alarm_actions,
                AlarmState::InsufficientData => &a.insufficient_data_actions,
            };
            for arn in actions {
                #[allow(clippy::cast_possible_truncation)]
                let ms = (now * 1000.0) as i64;
                let item = Self::item(
                    name,
                    now,
                    "Action",
                    format!("Failed to execute action {arn}"),
                    &json!({
                        "actionState": "Failed",
                        "stateUpdateTimestamp": ms,
                        "error": "daxd has no SNS or other action target: nothing was published or run",
                    }),
                );
                items.push(self.history_op(inner, item)?);
            }
        }
        ops.extend(items.iter().map(|(op, _, _)| op.clone()));
        self.store.apply(&ops)?;
        inner.alarms.insert(name.to_owned(), a);
        inner.history.extend(items.into_iter().map(|(_, k, i)| (k, i)));
        Ok(())
    }

    /// The datapoints of an alarm in `[start, end)`, one per period slot, oldest
    /// first: the value (`None` when missing) and, for a single metric, the
    /// slot's sample count.
    fn points(inner: &Inner, a: &Alarm, start: i64, end: i64) -> Vec<(i64, Option<f64>, Option<f64>)> {
        let slots: Vec<i64> = (0..).map(|k| start + k * a.period).take_while(|t| *t < end).collect();
        if a.metrics.is_empty() {
            let (buckets, _) = Self::slots(inner, &a.metric, a.unit.as_deref(), start, end, a.period);
            return slots
                .iter()
                .map(|t| {
                    let b = buckets.get(t);
                    (*t, b.and_then(|b| a.stat.value(b)), b.map(|b| b.count))
                })
                .collect();
        }
        // The expression was checked when the alarm was put: a failure here leaves no data.
        let values = crate::query::check_queries(&a.metrics)
            .and_then(|parsed| Self::evaluate_queries(inner, &a.metrics, &parsed, start, end))
            .ok()
            .and_then(|e| {
                let id = &a.metrics.iter().find(|q| q.return_data != Some(false))?.id;
                e.series.get(id).cloned()
            })
            .unwrap_or_default();
        slots.iter().map(|t| (*t, values.get(t).copied(), None)).collect()
    }

    /// What an alarm's data says at `now`, as CloudWatch evaluates it
    /// ("How alarm state is evaluated when data is missing"): over an evaluation
    /// range of [`EVALUATION_RANGE_EXTRA`] more periods than EvaluationPeriods (N),
    /// - with N or more real datapoints, the newest N decide and TreatMissingData
    ///   plays no part;
    /// - with fewer, every real one counts, and the N - r missing ones are filled
    ///   by TreatMissingData (`breaching`, `notBreaching`), or, under `missing` and
    ///   `ignore`, stay unknown: then DatapointsToAlarm (M) breaching points give
    ///   `ALARM`; a non-breaching one gives `OK`; breaching points only, the oldest
    ///   at least M periods old, give `ALARM` (`missing`); anything else is
    ///   `INSUFFICIENT_DATA` (`missing`) or the state kept (`ignore`);
    /// - with none, `missing` gives `INSUFFICIENT_DATA`, `ignore` keeps the state,
    ///   `breaching` `ALARM` and `notBreaching` `OK`.
    ///
    /// `None` keeps the state as it is.
    #[allow(clippy::too_many_lines)]
    fn verdict(inner: &Inner, a: &Alarm, now: f64) -> Option<Verdict> {
        #[allow(clippy::cast_possible_truncation)]
        let end = floor(now.floor() as i64, a.period);
        let n = usize::try_from(a.evaluation_periods).unwrap_or(1);
        let range_start = end - a.period * (a.evaluation_periods + EVALUATION_RANGE_EXTRA);
        let points = Self::points(inner, a, range_start, end);
        // The real datapoints, oldest first.
        let real: Vec<(i64, f64, Option<f64>)> = points.iter().filter_map(|(t, v, c)| v.map(|v| (*t, v, *c))).collect();
        let m = usize::try_from(a.datapoints_to_alarm.unwrap_or(a.evaluation_periods)).unwrap_or(1);
        let treat = a.treat_missing_data.unwrap_or(MissingData::Missing);
        let evaluated: Vec<(i64, f64, Option<f64>)> = real[real.len().saturating_sub(n)..].to_vec();
        let fills = n - evaluated.len();
        let window_start = end - a.period * a.evaluation_periods;
        #[allow(clippy::cast_precision_loss)]
        let start_f = evaluated.first().map_or(window_start, |p| p.0.min(window_start)) as f64;
        let data = |shown: &[(i64, f64, Option<f64>)]| {
            let mut d = json!({
                "version": "1.0",
                "queryDate": reason_date(now),
                "startDate": reason_date(start_f),
                "period": a.period,
                "recentDatapoints": shown.iter().map(|p| p.1).collect::<Vec<_>>(),
                "threshold": a.threshold,
                "evaluatedDatapoints": shown.iter().rev().map(|(t, v, c)| {
                    #[allow(clippy::cast_precision_loss)]
                    let at = *t as f64;
                    let mut p = json!({"timestamp": reason_date(at), "value": v});
                    if let Some(c) = c {
                        p["sampleCount"] = json!(c);
                    }
                    p
                }).collect::<Vec<_>>(),
            });
            if a.metrics.is_empty() {
                match a.stat {
                    Stat::Standard(s) => d["statistic"] = json!(s.name()),
                    Stat::Percentile(_) => d["extendedStatistic"] = json!(a.stat.name()),
                }
                if let Some(u) = &a.unit {
                    d["unit"] = json!(u);
                }
            }
            d.to_string()
        };
        let treated = |state: AlarmState| if state == AlarmState::Alarm { "Breaching" } else { "NonBreaching" };
        if real.is_empty() {
            let state = match treat {
                MissingData::Missing => AlarmState::InsufficientData,
                MissingData::Ignore => return None,
                MissingData::Breaching => AlarmState::Alarm,
                MissingData::NotBreaching => AlarmState::Ok,
            };
            let reason = match state {
                AlarmState::InsufficientData => {
                    format!("Insufficient Data: {} unknown.", plural(n, "datapoint was", "datapoints were"))
                }
                _ => format!(
                    "Threshold Crossed: no datapoints were received for {} and {} treated as [{}].",
                    plural(n, "period", "periods"),
                    plural(n, "missing datapoint was", "missing datapoints were"),
                    treated(state)
                ),
            };
            return Some(Verdict { state, reason, data: data(&[]) });
        }
        // A percentile over too few samples is not statistically significant: with
        // `ignore`, such an evaluation leaves the state as it is. CloudWatch's bar is
        // 10 / (1 - p) samples (1,000 for p99).
        if let (Stat::Percentile(p), Some("ignore")) = (a.stat, a.evaluate_low_sample_count_percentile.as_deref()) {
            let needed = 10.0 / (1.0 - p / 100.0);
            if a.metrics.is_empty() && evaluated.iter().any(|(_, _, count)| count.unwrap_or(0.0) < needed) {
                return None;
            }
        }
        let breaches = |v: f64| a.comparison.breaches(v, a.threshold);
        let breaching: Vec<(i64, f64, Option<f64>)> = evaluated.iter().copied().filter(|p| breaches(p.1)).collect();
        let not_breaching: Vec<(i64, f64, Option<f64>)> =
            evaluated.iter().copied().filter(|p| !breaches(p.1)).collect();
        // Missing datapoints filled by the treatment, counted towards a state.
        let (filled_breaching, filled_ok) = match treat {
            MissingData::Breaching => (fills, 0),
            MissingData::NotBreaching => (0, fills),
            MissingData::Missing | MissingData::Ignore => (0, 0),
        };
        let state = if breaching.len() + filled_breaching >= m {
            AlarmState::Alarm
        } else if fills == 0 || filled_ok > 0 || filled_breaching > 0 || !not_breaching.is_empty() {
            AlarmState::Ok
        } else {
            // `missing` or `ignore`, fewer than M real datapoints, all breaching.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let age = breaching.first().map_or(0, |p| ((end - p.0) / a.period) as usize);
            match treat {
                MissingData::Missing if age >= m => AlarmState::Alarm,
                MissingData::Missing => {
                    let reason =
                        format!("Insufficient Data: {} unknown.", plural(fills, "datapoint was", "datapoints were"));
                    return Some(Verdict { state: AlarmState::InsufficientData, reason, data: data(&evaluated) });
                }
                _ => return None,
            }
        };
        let (shown, not, min) =
            if state == AlarmState::Alarm { (breaching, "", m) } else { (not_breaching, "not ", n - m + 1) };
        let filled = filled_breaching + filled_ok;
        let k = shown.len();
        let old = inner.alarms.get(&a.name).map_or(AlarmState::InsufficientData, |x| x.state);
        let values: Vec<String> = shown.iter().rev().map(|(t, v, _)| format!("{v:?} ({})", reason_time(*t))).collect();
        let fill_words = if filled > 0 {
            format!(
                " and {} treated as [{}]",
                plural(filled, "missing datapoint was", "missing datapoints were"),
                treated(if filled_breaching > 0 { AlarmState::Alarm } else { AlarmState::Ok })
            )
        } else {
            String::new()
        };
        let reason = format!(
            "Threshold Crossed: {k} out of the last {} [{}] {} {not}{} the threshold ({:?}){fill_words} (minimum {} for {} -> {} transition).",
            plural(n, "datapoints", "datapoints"),
            values.join(", "),
            if k == 1 { "was" } else { "were" },
            a.comparison.words(),
            a.threshold,
            plural(min, "datapoint", "datapoints"),
            old.name(),
            state.name()
        );
        Some(Verdict { state, reason, data: data(&evaluated) })
    }

    /// Evaluate every alarm against its data; a change of state is one
    /// batch per alarm. Expired history is dropped.
    pub(crate) fn evaluate_alarms(&self) -> Result<(), CwError> {
        let now = self.clock.epoch();
        let mut inner = self.lock();
        let names: Vec<String> = inner.alarms.keys().cloned().collect();
        for name in names {
            let a = inner.alarms[&name].clone();
            let Some(v) = Self::verdict(&inner, &a, now) else { continue };
            if v.state != a.state {
                self.transition(&mut inner, &name, &v)?;
            }
        }
        #[allow(clippy::cast_precision_loss)]
        let cut = now - HISTORY_RETENTION_SECS as f64;
        let old: Vec<String> =
            inner.history.iter().filter(|(_, i)| i.timestamp < cut).map(|(k, _)| k.clone()).collect();
        if !old.is_empty() {
            let ops: Vec<Op> = old.iter().map(|k| Op::delete(&self.ns.history, k.clone())).collect();
            self.store.apply(&ops)?;
            for k in old {
                inner.history.remove(&k);
            }
        }
        Ok(())
    }

    /// DescribeAlarmHistory.
    ///
    /// # Errors
    /// `InvalidParameterValue` for a bad MaxRecords or item type; `InvalidNextToken`.
    pub fn describe_alarm_history(&self, req: &HistoryRequest) -> Result<base::Page<HistoryItem>, CwError> {
        let max = page_size(req.max_records)?;
        if let Some(t) = &req.item_type {
            if ![
                "ConfigurationUpdate",
                "StateUpdate",
                "Action",
                "AlarmContributorStateUpdate",
                "AlarmContributorAction",
            ]
            .contains(&t.as_str())
            {
                return Err(CwError::InvalidParameterValue(format!(
                    "The value {t} for parameter HistoryItemType is not supported."
                )));
            }
        }
        let inner = self.lock();
        let matching = inner.history.iter().filter(|(_, i)| {
            req.alarm_name.as_ref().is_none_or(|n| *n == i.alarm_name)
                && req.item_type.as_ref().is_none_or(|t| *t == i.item_type)
                && req.start.is_none_or(|s| i.timestamp >= s)
                && req.end.is_none_or(|e| i.timestamp < e)
        });
        let mut items: Vec<(String, HistoryItem)> = matching.map(|(k, i)| (k.clone(), i.clone())).collect();
        if !req.ascending {
            // Descending order under ascending keys: the key's complement.
            items = items
                .into_iter()
                .rev()
                .map(|(k, i)| (k.bytes().map(|b| char::from(b'0' + (b'9' - b.min(b'9')))).collect(), i))
                .collect();
        }
        base::page::paginate(items, req.next_token.as_deref(), base::page::TokenForm::Hex, max).map_err(|_| bad_token())
    }

    fn arn_name<'a>(&self, arn: &'a str) -> Result<&'a str, CwError> {
        let prefix = format!("arn:aws:cloudwatch:{}:{}:alarm:", self.region, self.account);
        arn.strip_prefix(&prefix)
            .ok_or_else(|| CwError::ResourceNotFoundException(format!("The resource {arn} does not exist.")))
    }

    /// TagResource on an alarm.
    ///
    /// # Errors
    /// `ResourceNotFoundException`; `LimitExceeded` past 50 tags.
    pub fn tag_resource(&self, arn: &str, tags: &[(String, String)]) -> Result<(), CwError> {
        self.change_tags(arn, |t| {
            t.extend(tags.iter().cloned());
        })
    }

    /// UntagResource on an alarm.
    ///
    /// # Errors
    /// `ResourceNotFoundException`.
    pub fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<(), CwError> {
        self.change_tags(arn, |t| {
            for k in keys {
                t.remove(k);
            }
        })
    }

    /// ListTagsForResource on an alarm.
    ///
    /// # Errors
    /// `ResourceNotFoundException`.
    pub fn list_tags(&self, arn: &str) -> Result<BTreeMap<String, String>, CwError> {
        let name = self.arn_name(arn)?;
        let inner = self.lock();
        inner
            .alarms
            .get(name)
            .map(|a| a.tags.clone())
            .ok_or_else(|| CwError::ResourceNotFoundException(format!("The resource {arn} does not exist.")))
    }

    fn change_tags(&self, arn: &str, f: impl FnOnce(&mut BTreeMap<String, String>)) -> Result<(), CwError> {
        let name = self.arn_name(arn)?;
        let mut inner = self.lock();
        let Some(a) = inner.alarms.get(name) else {
            return Err(CwError::ResourceNotFoundException(format!("The resource {arn} does not exist.")));
        };
        let mut a = a.clone();
        f(&mut a.tags);
        if a.tags.len() > MAX_TAGS {
            return Err(CwError::LimitExceeded(format!("An alarm may carry at most {MAX_TAGS} tags.")));
        }
        self.store.apply(&[Op::put_json(&self.ns.alarms, name.to_owned(), &a)?])?;
        inner.alarms.insert(name.to_owned(), a);
        Ok(())
    }
}

fn bad_token() -> CwError {
    CwError::InvalidNextToken("The service couldn't process your request because the next token is invalid.".to_owned())
}

fn page_size(max: Option<i64>) -> Result<usize, CwError> {
    match max {
        None => Ok(50),
        Some(n @ 1..=100) => Ok(usize::try_from(n).unwrap_or(50)),
        Some(n) => Err(CwError::InvalidParameterValue(format!(
            "The value {n} for parameter MaxRecords is invalid: it must be between 1 and 100."
        ))),
    }
}

/// An alarm's configuration as history items show it.
fn summary_json(a: &Alarm) -> serde_json::Value {
    let mut o = json!({
        "alarmName": a.name,
        "alarmArn": a.arn,
        "namespace": a.metric.namespace,
        "metricName": a.metric.name,
        "dimensions": a.metric.dimensions.iter().map(|d| json!({"name": d.name, "value": d.value})).collect::<Vec<_>>(),
        "period": a.period,
        "evaluationPeriods": a.evaluation_periods,
        "threshold": a.threshold,
        "comparisonOperator": a.comparison.name(),
        "actionsEnabled": a.actions_enabled,
        "okactions": a.ok_actions,
        "alarmActions": a.alarm_actions,
        "insufficientDataActions": a.insufficient_data_actions,
        "treatMissingData": a.treat_missing_data.map(MissingData::name),
    });
    match a.stat {
        Stat::Standard(s) => o["statistic"] = json!(s.name()),
        Stat::Percentile(_) => o["extendedStatistic"] = json!(a.stat.name()),
    }
    if let Some(m) = a.datapoints_to_alarm {
        o["datapointsToAlarm"] = json!(m);
    }
    if !a.metrics.is_empty() {
        if let Some(m) = o.as_object_mut() {
            for k in ["namespace", "metricName", "statistic"] {
                m.remove(k);
            }
        }
        o["metrics"] = json!(a.metrics.iter().map(query_json).collect::<Vec<_>>());
    }
    o
}

/// A MetricDataQuery as history items show it.
fn query_json(q: &DataQuery) -> serde_json::Value {
    let mut o = json!({"id": q.id, "returnData": q.return_data.unwrap_or(true)});
    if let Some(ms) = &q.metric_stat {
        o["metricStat"] = json!({
            "metric": {
                "namespace": ms.metric.namespace,
                "metricName": ms.metric.name,
                "dimensions": ms.metric.dimensions.iter().map(|d| json!({"name": d.name, "value": d.value})).collect::<Vec<_>>(),
            },
            "period": ms.period,
            "stat": ms.stat,
        });
    }
    if let Some(e) = &q.expression {
        o["expression"] = json!(e);
    }
    if let Some(l) = &q.label {
        o["label"] = json!(l);
    }
    o
}
