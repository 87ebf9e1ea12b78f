//! CloudWatch for daxd: metric datapoints, their statistics, metric math and
//! alarms, as plain Rust calls.
//!
//! Datapoints are kept as CloudWatch keeps them: 1-minute buckets for 15
//! days, rolled up into 5-minute buckets kept for 63 days ([`metrics`]).
//! The working set lives in memory behind a lock; every change is written
//! to the durable [`state::Store`] in one batch before memory changes, so it
//! survives a restart. Alarms are evaluated on the injected [`base::Clock`]
//! whenever [`CloudWatch::tick`] runs ([`alarms`]).
//!
//! What it is not: it knows no wire format, does no authorisation, and
//! delivers no notification (daxd has no SNS: an alarm action is recorded
//! in the history as not executed).

pub mod alarms;
mod error;
pub mod expr;
pub mod labels;
pub mod metrics;
pub mod query;
pub mod stats;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use base::page::{paginate, TokenForm};
use base::{Clock, Page};
use state::{Op, Store};

pub use alarms::{Alarm, AlarmFilter, AlarmState, Comparison, HistoryItem, MissingData};
pub use error::CwError;
pub use metrics::{Datum, DatumValue, Dimension, MetricId};
pub use stats::{Bucket, Stat, Statistic};

use metrics::{floor, Chunk, Namespaces, Series, SeriesMeta};

/// The regions whose CloudWatch holds records: one empty record each.
const NS_REGIONS: &str = "cloudwatch.regions";

/// The regions opened before, whose alarms must be evaluated after a restart.
///
/// # Errors
/// `InternalServiceError` when the store cannot be read.
pub fn known_regions(store: &Store) -> Result<Vec<String>, CwError> {
    Ok(store.scan(NS_REGIONS)?.into_iter().map(|(k, _)| k).collect())
}

/// ListMetrics answers at most this many metrics per page.
pub const LIST_PAGE: usize = 500;
/// GetMetricStatistics answers at most this many datapoints.
pub const MAX_STAT_DATAPOINTS: i64 = 1_440;

/// A dimension filter of ListMetrics: a name, and optionally the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DimensionFilter {
    pub name: String,
    pub value: Option<String>,
}

/// ListMetrics' request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListMetrics {
    pub namespace: Option<String>,
    pub metric_name: Option<String>,
    pub dimensions: Vec<DimensionFilter>,
    /// `RecentlyActive=PT3H`.
    pub recently_active: bool,
    pub next_token: Option<String>,
}

/// GetMetricStatistics' request.
#[derive(Debug, Clone, PartialEq)]
pub struct StatisticsRequest {
    pub metric: MetricId,
    pub start: f64,
    pub end: f64,
    pub period: i64,
    pub statistics: Vec<String>,
    pub extended_statistics: Vec<String>,
    pub unit: Option<String>,
}

/// One datapoint of GetMetricStatistics.
#[derive(Debug, Clone, PartialEq)]
pub struct Datapoint {
    pub timestamp: i64,
    pub unit: String,
    pub statistics: Vec<(Statistic, f64)>,
    pub extended: Vec<(String, f64)>,
}

pub(crate) struct Inner {
    pub series: BTreeMap<String, Series>,
    pub alarms: BTreeMap<String, alarms::AlarmRec>,
    pub history: BTreeMap<String, HistoryItem>,
    pub history_seq: u64,
    /// The minute of the last [`CloudWatch::tick`] that ran.
    pub last_minute: Option<i64>,
}

/// The CloudWatch service of one account and region.
pub struct CloudWatch {
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) store: Arc<Store>,
    pub(crate) account: String,
    pub(crate) region: String,
    pub(crate) ns: Namespaces,
    pub(crate) inner: Mutex<Inner>,
}

impl CloudWatch {
    /// Open the service over `store`, loading what it holds.
    ///
    /// # Errors
    /// `InternalServiceError` when the store cannot be read.
    pub fn open(clock: Arc<dyn Clock>, store: Arc<Store>, account: &str, region: &str) -> Result<Self, CwError> {
        let ns = Namespaces::of(region);
        let mut series: BTreeMap<String, Series> = BTreeMap::new();
        for (key, meta) in store.scan_json::<SeriesMeta>(&ns.series)? {
            series.insert(key, Series { meta, minutes: BTreeMap::new(), fives: BTreeMap::new() });
        }
        for (space, fives) in [(&ns.minutes, false), (&ns.fives, true)] {
            for (_, chunk) in store.scan_json::<Chunk>(space)? {
                if let Some(s) = series.get_mut(&chunk.series) {
                    let target = if fives { &mut s.fives } else { &mut s.minutes };
                    target.extend(chunk.buckets);
                }
            }
        }
        let alarms = store.scan_json::<alarms::AlarmRec>(&ns.alarms)?.into_iter().collect();
        let history: BTreeMap<String, HistoryItem> = store.scan_json::<HistoryItem>(&ns.history)?.into_iter().collect();
        let history_seq = history.len() as u64;
        if store.get(NS_REGIONS, region)?.is_none() {
            store.apply(&[Op::put(NS_REGIONS, region, Vec::new())])?;
        }
        // The first evaluation is at the next minute, as for a service running all along:
        // a SetAlarmState made just after opening lasts until then.
        let minute = floor(clock.now().unix_timestamp(), 60);
        Ok(CloudWatch {
            clock,
            store,
            account: account.to_owned(),
            region: region.to_owned(),
            ns,
            inner: Mutex::new(Inner { series, alarms, history, history_seq, last_minute: Some(minute) }),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn now(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }

    /// Record datapoints, in one durable batch.
    ///
    /// # Errors
    /// `InvalidParameterValue` for a timestamp more than two weeks old or two
    /// hours ahead, or a value that is not finite; `LimitExceeded` when the
    /// store holds [`metrics::MAX_SERIES`] series already.
    pub fn put_metric_data(&self, data: &[Datum]) -> Result<(), CwError> {
        let now = self.now();
        for d in data {
            #[allow(clippy::cast_possible_truncation)]
            let t = d.timestamp.floor() as i64;
            if t < now - metrics::MAX_PAST_SECS || t > now + metrics::MAX_FUTURE_SECS {
                return Err(CwError::InvalidParameterValue(format!(
                    "The parameter MetricData.member.1.Timestamp must specify a time no more than two weeks in the \
                     past and no more than two hours in the future: {}",
                    d.timestamp
                )));
            }
            let finite = match d.value {
                DatumValue::Value(v) => v.is_finite(),
                DatumValue::Set { count, sum, min, max } => [count, sum, min, max].iter().all(|v| v.is_finite()),
            };
            if !finite {
                return Err(CwError::InvalidParameterValue(
                    "The value for parameter MetricData.member.1.Value must be a finite number.".to_owned(),
                ));
            }
        }
        let mut inner = self.lock();
        let mut touched: BTreeMap<String, Series> = BTreeMap::new();
        let mut hours: BTreeSet<(String, i64)> = BTreeSet::new();
        for d in data {
            let key = Series::key(&d.metric, &d.unit);
            let s = match touched.get_mut(&key) {
                Some(s) => s,
                None => {
                    let s = inner.series.get(&key).cloned().unwrap_or_else(|| Series {
                        meta: SeriesMeta { metric: d.metric.clone(), unit: d.unit.clone(), last_put: now },
                        minutes: BTreeMap::new(),
                        fives: BTreeMap::new(),
                    });
                    touched.entry(key.clone()).or_insert(s)
                }
            };
            s.meta.last_put = now;
            #[allow(clippy::cast_possible_truncation)]
            let minute = floor(d.timestamp.floor() as i64, 60);
            let b = match d.value {
                DatumValue::Value(v) => Bucket::one(v),
                DatumValue::Set { count, sum, min, max } => Bucket::set(count, sum, min, max),
            };
            s.minutes.entry(minute).and_modify(|x| x.merge(&b)).or_insert(b);
            hours.insert((key, floor(minute, 3_600)));
        }
        let new_series = touched.keys().filter(|k| !inner.series.contains_key(*k)).count();
        if inner.series.len() + new_series > metrics::MAX_SERIES {
            return Err(CwError::LimitExceeded(format!(
                "daxd keeps at most {} metric series; this request would exceed it.",
                metrics::MAX_SERIES
            )));
        }
        let mut ops = Vec::new();
        for (key, s) in &touched {
            ops.push(Op::put_json(&self.ns.series, key.clone(), &s.meta)?);
        }
        for (key, hour) in &hours {
            let (rec_key, chunk) = touched[key].minute_chunk(key, *hour);
            ops.push(Op::put_json(&self.ns.minutes, rec_key, &chunk)?);
        }
        self.store.apply(&ops)?;
        inner.series.extend(touched);
        Ok(())
    }

    /// ListMetrics: the metrics with data in the last two weeks (three hours
    /// with `recently_active`) that match the filters, 500 per page.
    ///
    /// # Errors
    /// `InvalidNextToken` for a token this call did not hand out.
    pub fn list_metrics(&self, req: &ListMetrics) -> Result<Page<MetricId>, CwError> {
        let now = self.now();
        let since = now - if req.recently_active { metrics::RECENTLY_ACTIVE_SECS } else { metrics::LIST_WINDOW_SECS };
        let inner = self.lock();
        let mut found: BTreeMap<String, MetricId> = BTreeMap::new();
        for s in inner.series.values() {
            let m = &s.meta.metric;
            if s.meta.last_put < since
                || req.namespace.as_ref().is_some_and(|n| *n != m.namespace)
                || req.metric_name.as_ref().is_some_and(|n| *n != m.name)
            {
                continue;
            }
            let dims_match = req.dimensions.iter().all(|f| {
                m.dimensions.iter().any(|d| d.name == f.name && f.value.as_ref().is_none_or(|v| *v == d.value))
            });
            if dims_match {
                found.insert(m.key(), m.clone());
            }
        }
        paginate(found, req.next_token.as_deref(), TokenForm::Hex, LIST_PAGE).map_err(|_| {
            CwError::InvalidNextToken(
                "The service couldn't process your request because the next token is invalid.".to_owned(),
            )
        })
    }

    /// The buckets of `metric` (of `unit`, or of every unit) in `[start, end)`,
    /// in slots of `period` seconds counted from `start`, and the unit of the data.
    pub(crate) fn slots(
        inner: &Inner,
        metric: &MetricId,
        unit: Option<&str>,
        start: i64,
        end: i64,
        period: i64,
    ) -> (BTreeMap<i64, Bucket>, Option<String>) {
        let prefix = format!("{}\u{1e}", metric.key());
        let mut out = BTreeMap::new();
        let mut found_unit = None;
        for (key, s) in inner.series.range(prefix.clone()..) {
            if !key.starts_with(&prefix) {
                break;
            }
            if unit.is_some_and(|u| u != s.meta.unit) {
                continue;
            }
            let before = out.len();
            s.slots(start, end, period, &mut out);
            if out.len() > before || found_unit.is_none() {
                found_unit.get_or_insert_with(|| s.meta.unit.clone());
            }
        }
        (out, found_unit)
    }

    /// GetMetricStatistics.
    ///
    /// # Errors
    /// `InvalidParameterCombination` for both or neither of Statistics and
    /// ExtendedStatistics, or more than 1,440 datapoints; `InvalidParameterValue`
    /// for a bad Period, statistic, or time range.
    pub fn get_metric_statistics(&self, req: &StatisticsRequest) -> Result<Vec<Datapoint>, CwError> {
        let (statistics, extended) = check_statistics(&req.statistics, &req.extended_statistics)?;
        check_period("Period", req.period)?;
        let now = self.now();
        #[allow(clippy::cast_possible_truncation)]
        let (start, end) = (req.start.floor() as i64, req.end.ceil() as i64);
        if end <= start {
            return Err(CwError::InvalidParameterValue(
                "The parameter StartTime must be less than the parameter EndTime.".to_owned(),
            ));
        }
        let start = metrics::round_start(start, now);
        let points = (end - start + req.period - 1) / req.period;
        if points > MAX_STAT_DATAPOINTS {
            return Err(CwError::InvalidParameterCombination(format!(
                "You have requested up to {points} datapoints, which exceeds the limit of 1440. You may reduce the \
                 datapoints requested by increasing Period, or decreasing the time range."
            )));
        }
        let inner = self.lock();
        let (slots, unit) = Self::slots(&inner, &req.metric, req.unit.as_deref(), start, end, req.period);
        let unit = req.unit.clone().or(unit).unwrap_or_else(|| "None".to_owned());
        Ok(slots
            .into_iter()
            .map(|(t, b)| Datapoint {
                timestamp: t,
                unit: unit.clone(),
                statistics: statistics.iter().map(|s| (*s, b.statistic(*s))).collect(),
                extended: extended.iter().filter_map(|(name, p)| Some((name.clone(), b.percentile(*p)?))).collect(),
            })
            .collect())
    }

    /// Roll up, expire and evaluate: what happens once a minute. Calls within
    /// the minute of the last one do nothing, so a caller may tick more often
    /// (and a SetAlarmState lasts until the next minute's evaluation).
    ///
    /// # Errors
    /// `InternalServiceError` when the store cannot be written; the minute is
    /// tried again on the next call.
    pub fn tick(&self) -> Result<(), CwError> {
        let minute = floor(self.now(), 60);
        if self.lock().last_minute == Some(minute) {
            return Ok(());
        }
        self.roll_up()?;
        self.evaluate_alarms()?;
        self.lock().last_minute = Some(minute);
        Ok(())
    }

    /// Move 1-minute data older than 15 days into 5-minute buckets, drop
    /// 5-minute data older than 63 days and series left empty; one batch.
    fn roll_up(&self) -> Result<(), CwError> {
        let now = self.now();
        let minute_cut = floor(now - metrics::MINUTE_RETENTION_SECS, 3_600);
        let five_cut = floor(now - metrics::FIVE_MINUTE_RETENTION_SECS, 86_400);
        let mut inner = self.lock();
        let mut ops = Vec::new();
        let mut changed: Vec<(String, Option<Series>)> = Vec::new();
        for (key, s) in &inner.series {
            let old_minutes = s.minutes.range(..minute_cut).next().is_some();
            let old_fives = s.fives.range(..five_cut).next().is_some();
            let stale = s.minutes.is_empty() && s.fives.is_empty() && s.meta.last_put < now - metrics::LIST_WINDOW_SECS;
            if !old_minutes && !old_fives && !stale {
                continue;
            }
            let mut n = s.clone();
            let moved: Vec<(i64, Bucket)> = n.minutes.range(..minute_cut).map(|(t, b)| (*t, b.clone())).collect();
            let mut days = BTreeSet::new();
            for (t, b) in &moved {
                n.minutes.remove(t);
                ops.push(Op::delete(&self.ns.minutes, n.minute_chunk(key, floor(*t, 3_600)).0));
                let five = floor(*t, 300);
                if five >= five_cut {
                    n.fives.entry(five).and_modify(|x| x.merge(b)).or_insert_with(|| b.clone());
                    days.insert(floor(five, 86_400));
                }
            }
            let dropped: Vec<i64> = n.fives.range(..five_cut).map(|(t, _)| *t).collect();
            for t in dropped {
                n.fives.remove(&t);
                ops.push(Op::delete(&self.ns.fives, n.five_chunk(key, floor(t, 86_400)).0));
            }
            for day in days {
                let (k, chunk) = n.five_chunk(key, day);
                ops.push(Op::put_json(&self.ns.fives, k, &chunk)?);
            }
            if n.minutes.is_empty() && n.fives.is_empty() && n.meta.last_put < now - metrics::LIST_WINDOW_SECS {
                ops.push(Op::delete(&self.ns.series, key.clone()));
                changed.push((key.clone(), None));
            } else {
                changed.push((key.clone(), Some(n)));
            }
        }
        ops.dedup();
        self.store.apply(&ops)?;
        for (key, s) in changed {
            match s {
                Some(s) => inner.series.insert(key, s),
                None => inner.series.remove(&key),
            };
        }
        Ok(())
    }
}

/// An extended statistic: its name and its percentile.
type Extended = (String, f64);

/// The standard and extended statistics of a request, checked.
fn check_statistics(statistics: &[String], extended: &[String]) -> Result<(Vec<Statistic>, Vec<Extended>), CwError> {
    match (statistics.is_empty(), extended.is_empty()) {
        (true, true) => {
            return Err(CwError::MissingParameter("Must specify either Statistics or ExtendedStatistics.".to_owned()))
        }
        (false, false) => {
            return Err(CwError::InvalidParameterCombination(
                "Only one of Statistics or ExtendedStatistics may be specified.".to_owned(),
            ))
        }
        _ => {}
    }
    if statistics.len() > 5 || extended.len() > 10 {
        return Err(CwError::InvalidParameterValue(
            "At most 5 Statistics or 10 ExtendedStatistics may be specified.".to_owned(),
        ));
    }
    let mut std = Vec::new();
    for s in statistics {
        std.push(Statistic::of(s).ok_or_else(|| {
            CwError::InvalidParameterValue(format!("The value {s} for parameter Statistics is not supported."))
        })?);
    }
    let mut ext = Vec::new();
    for e in extended {
        ext.push((e.clone(), stats::percentile_of(e)?));
    }
    Ok((std, ext))
}

/// A Period: 1, 5, 10, 20, 30 or a multiple of 60 seconds.
pub(crate) fn check_period(member: &str, period: i64) -> Result<(), CwError> {
    if period > 0 && (period % 60 == 0 || [1, 5, 10, 20, 30].contains(&period)) {
        Ok(())
    } else {
        Err(CwError::InvalidParameterValue(format!(
            "The parameter {member} must be 1, 5, 10, 20, 30, or a multiple of 60."
        )))
    }
}

#[cfg(test)]
mod tests;
