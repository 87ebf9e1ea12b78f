//! GetMetricData: MetricStat queries and metric-math expressions over them,
//! in time order (`ScanBy`), paged by `MaxDatapoints` and `NextToken`.

use std::collections::{BTreeMap, BTreeSet};

use base::page::{paginate, TokenForm};

use serde::{Deserialize, Serialize};

use crate::expr::{self, Env, Expr, Series, Val};
use crate::labels;
use crate::metrics::round_start;
use crate::{check_period, CloudWatch, CwError, Inner, MetricId, Stat};

/// Queries per call.
pub const MAX_QUERIES: usize = 500;
/// Datapoints per call, and the default of `MaxDatapoints`.
pub const MAX_DATAPOINTS: usize = 100_800;

/// A MetricStat of a query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricStat {
    pub metric: MetricId,
    pub period: i64,
    pub stat: String,
    pub unit: Option<String>,
}

/// One MetricDataQuery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataQuery {
    pub id: String,
    pub metric_stat: Option<MetricStat>,
    pub expression: Option<String>,
    pub label: Option<String>,
    pub return_data: Option<bool>,
    pub period: Option<i64>,
}

/// GetMetricData's request.
#[derive(Debug, Clone, PartialEq)]
pub struct DataRequest {
    pub queries: Vec<DataQuery>,
    pub start: f64,
    pub end: f64,
    pub next_token: Option<String>,
    /// `TimestampAscending`; descending otherwise (the default).
    pub ascending: bool,
    pub max_datapoints: Option<i64>,
    /// `LabelOptions.Timezone`, `+HHMM` or `-HHMM`: the offset of dates in labels.
    pub timezone: Option<String>,
}

/// One MetricDataResult.
#[derive(Debug, Clone, PartialEq)]
pub struct DataResult {
    pub id: String,
    pub label: String,
    pub timestamps: Vec<i64>,
    pub values: Vec<f64>,
    /// `Complete` or `PartialData`.
    pub status_code: &'static str,
}

/// GetMetricData's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct DataAnswer {
    pub results: Vec<DataResult>,
    pub next_token: Option<String>,
}

pub(crate) fn valid_id(id: &str) -> bool {
    let mut b = id.bytes();
    b.next().is_some_and(|c| c.is_ascii_lowercase()) && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// The offset of a `LabelOptions.Timezone`, in seconds.
///
/// # Errors
/// `InvalidParameterValue` for anything but `+HHMM`/`-HHMM` within ±14 hours.
pub fn timezone_offset(tz: &str) -> Result<i64, CwError> {
    let bad =
        || CwError::InvalidParameterValue(format!("The value {tz} for parameter LabelOptions.Timezone is invalid."));
    let (sign, digits) = match tz.as_bytes().first() {
        Some(b'+') => (1, &tz[1..]),
        Some(b'-') => (-1, &tz[1..]),
        _ => return Err(bad()),
    };
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let h: i64 = digits[..2].parse().map_err(|_| bad())?;
    let m: i64 = digits[2..].parse().map_err(|_| bad())?;
    if h > 14 || m > 59 {
        return Err(bad());
    }
    Ok(sign * (h * 3_600 + m * 60))
}

/// The parsed expressions of checked queries, by id.
pub(crate) type Parsed = BTreeMap<String, Expr>;

/// Check queries as GetMetricData and PutMetricAlarm's `Metrics` do: valid and
/// unique ids, exactly one of MetricStat and Expression each, valid periods and
/// stats, expressions that parse.
///
/// # Errors
/// `ValidationError` or `InvalidParameterValue`, with the fault.
pub(crate) fn check_queries(queries: &[DataQuery]) -> Result<Parsed, CwError> {
    let mut seen = BTreeSet::new();
    let mut parsed = BTreeMap::new();
    for q in queries {
        if !valid_id(&q.id) {
            return Err(CwError::ValidationError(format!(
                "The value {} for parameter MetricDataQueries.member.Id is invalid: it must start with a \
                 lower-case letter and hold only letters, digits and underscores.",
                q.id
            )));
        }
        if !seen.insert(q.id.clone()) {
            return Err(CwError::ValidationError(format!("The Id {} is used more than once.", q.id)));
        }
        match (&q.metric_stat, &q.expression) {
            (Some(ms), None) => {
                check_period("MetricStat.Period", ms.period)?;
                Stat::of(&ms.stat)?;
            }
            (None, Some(e)) => {
                let ast = expr::parse_expression(e)
                    .map_err(|m| CwError::ValidationError(format!("Error in expression '{}': {m}", q.id)))?;
                parsed.insert(q.id.clone(), ast);
            }
            _ => {
                return Err(CwError::ValidationError(format!(
                    "The query {} must specify either a MetricStat or an Expression, and not both.",
                    q.id
                )))
            }
        }
        if let Some(p) = q.period {
            check_period("Period", p)?;
        }
    }
    Ok(parsed)
}

/// Every query's values over a time range.
pub(crate) struct Evaluated {
    /// The series of each query (empty for an expression giving an array).
    pub series: BTreeMap<String, Series>,
    /// The series of each expression giving an array.
    pub lists: BTreeMap<String, Vec<Series>>,
    /// The period of each query's values.
    pub periods: BTreeMap<String, i64>,
}

impl CloudWatch {
    /// Evaluate checked queries over `[start, end)`: MetricStats from the stored
    /// buckets, then the expressions, in as many rounds as their references need.
    ///
    /// # Errors
    /// `ValidationError` for an expression that names an unknown id, misuses a
    /// function, or takes part in a cycle.
    pub(crate) fn evaluate_queries(
        inner: &Inner,
        queries: &[DataQuery],
        parsed: &Parsed,
        start: i64,
        end: i64,
    ) -> Result<Evaluated, CwError> {
        let ids: BTreeSet<&str> = queries.iter().map(|q| q.id.as_str()).collect();
        let metric_ids: Vec<String> =
            queries.iter().filter(|q| q.metric_stat.is_some()).map(|q| q.id.clone()).collect();
        let default_period = queries.iter().filter_map(|q| q.metric_stat.as_ref().map(|m| m.period)).min();
        let mut out = Evaluated { series: BTreeMap::new(), lists: BTreeMap::new(), periods: BTreeMap::new() };
        for q in queries {
            if let Some(ms) = &q.metric_stat {
                let stat = Stat::of(&ms.stat)?;
                let (slots, _) = Self::slots(inner, &ms.metric, ms.unit.as_deref(), start, end, ms.period);
                out.series.insert(q.id.clone(), slots.iter().filter_map(|(t, b)| Some((*t, stat.value(b)?))).collect());
                out.periods.insert(q.id.clone(), ms.period);
            }
        }
        // Expressions may name later expressions: evaluate until nothing changes.
        let mut pending: Vec<&DataQuery> = queries.iter().filter(|q| q.expression.is_some()).collect();
        while !pending.is_empty() {
            let before = pending.len();
            let mut waiting = Vec::new();
            for q in pending {
                let Some(ast) = parsed.get(&q.id) else { continue };
                if expr::ids(ast).iter().any(|id| !out.series.contains_key(id) && ids.contains(id.as_str())) {
                    waiting.push(q);
                    continue;
                }
                let period = q.period.or(default_period).unwrap_or(60);
                let grid: Vec<i64> =
                    (0..).map(|k| start + k * period).take_while(|t| *t < end).take(MAX_DATAPOINTS).collect();
                let env = Env { series: &out.series, metric_ids: &metric_ids, grid: &grid };
                let val = expr::eval(ast, &env)
                    .map_err(|m| CwError::ValidationError(format!("Error in expression '{}': {m}", q.id)))?;
                out.periods.insert(q.id.clone(), period);
                match val {
                    Val::Scalar(x) => {
                        out.series.insert(q.id.clone(), grid.iter().map(|t| (*t, x)).collect());
                    }
                    Val::Series(s) => {
                        out.series.insert(q.id.clone(), s);
                    }
                    Val::List(l) => {
                        out.series.insert(q.id.clone(), Series::new());
                        out.lists.insert(q.id.clone(), l);
                    }
                }
            }
            if waiting.len() == before {
                return Err(CwError::ValidationError(
                    "The expressions of MetricDataQueries refer to each other in a cycle.".to_owned(),
                ));
            }
            pending = waiting;
        }
        Ok(out)
    }

    /// GetMetricData.
    ///
    /// # Errors
    /// `ValidationError` for StartTime equal to EndTime, bad ids, duplicate ids,
    /// a query with both or neither of MetricStat and Expression, or a bad
    /// expression; `InvalidParameterValue` for a bad Period, Stat or Timezone;
    /// `InvalidNextToken`.
    pub fn get_metric_data(&self, req: &DataRequest) -> Result<DataAnswer, CwError> {
        if req.queries.is_empty() || req.queries.len() > MAX_QUERIES {
            return Err(CwError::ValidationError(format!(
                "The parameter MetricDataQueries must hold 1 to {MAX_QUERIES} queries."
            )));
        }
        #[allow(clippy::cast_possible_truncation)]
        let (start, end) = (req.start.floor() as i64, req.end.ceil() as i64);
        if start == end {
            return Err(CwError::ValidationError(
                "The parameter StartTime must not equal parameter EndTime.".to_owned(),
            ));
        }
        if end < start {
            return Err(CwError::ValidationError(
                "The parameter StartTime must be less than the parameter EndTime.".to_owned(),
            ));
        }
        let max = match req.max_datapoints {
            None => MAX_DATAPOINTS,
            Some(n) if n > 0 => usize::try_from(n).unwrap_or(MAX_DATAPOINTS).min(MAX_DATAPOINTS),
            Some(_) => {
                return Err(CwError::InvalidParameterValue("The parameter MaxDatapoints must be positive.".to_owned()))
            }
        };
        if let Some(tz) = &req.timezone {
            timezone_offset(tz)?;
        }
        let now = self.now();
        let start = round_start(start, now);
        let parsed = check_queries(&req.queries)?;
        let evaluated = Self::evaluate_queries(&self.lock(), &req.queries, &parsed, start, end)?;
        // Every returned datapoint under one sort key, so that base::page walks them.
        let mut points: Vec<(String, (usize, i64, f64))> = Vec::new();
        let mut results = Vec::new();
        for q in req.queries.iter().filter(|q| q.return_data != Some(false)) {
            let default = match &q.metric_stat {
                Some(ms) => ms.metric.name.clone(),
                None => q.id.clone(),
            };
            let all: Vec<Series> = match evaluated.lists.get(&q.id) {
                Some(l) => l.clone(),
                None => vec![evaluated.series.get(&q.id).cloned().unwrap_or_default()],
            };
            for s in all {
                let shown: Series = s.range(start..end).map(|(t, v)| (*t, *v)).collect();
                let label = match &q.label {
                    None => default.clone(),
                    Some(l) => labels::render(
                        l,
                        &labels::Facts {
                            default: &default,
                            metric: q.metric_stat.as_ref().map(|ms| (&ms.metric, ms.stat.as_str())),
                            period: evaluated.periods.get(&q.id).copied(),
                            account: &self.account,
                            region: &self.region,
                            values: &shown,
                        },
                    ),
                };
                let r = results.len();
                results.push(DataResult {
                    id: q.id.clone(),
                    label,
                    timestamps: Vec::new(),
                    values: Vec::new(),
                    status_code: "Complete",
                });
                for (t, v) in &shown {
                    let order = if req.ascending { *t } else { i64::MAX - *t };
                    points.push((format!("{r:06}/{order:020}"), (r, *t, *v)));
                }
            }
        }
        points.sort_by(|a, b| a.0.cmp(&b.0));
        let page = paginate(points, req.next_token.as_deref(), TokenForm::Hex, max).map_err(|_| {
            CwError::InvalidNextToken(
                "The service couldn't process your request because the next token is invalid.".to_owned(),
            )
        })?;
        let last = page.items.last().map(|(r, _, _)| *r);
        for (r, t, v) in page.items {
            results[r].timestamps.push(t);
            results[r].values.push(v);
        }
        if page.next_token.is_some() {
            if let Some(r) = last {
                results[r].status_code = "PartialData";
            }
            let first_left = last.map_or(0, |r| r + 1);
            for r in results.iter_mut().skip(first_left) {
                r.status_code = "PartialData";
            }
        }
        Ok(DataAnswer { results, next_token: page.next_token })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_timezones() {
        for (id, ok) in [("m1", true), ("a_b2", true), ("M1", false), ("1m", false), ("", false), ("m-1", false)] {
            assert_eq!(valid_id(id), ok, "{id}");
        }
        assert_eq!(timezone_offset("+0130"), Ok(5_400));
        assert_eq!(timezone_offset("-1000"), Ok(-36_000));
        for bad in ["0130", "+130", "+1500", "+0160", "UTC"] {
            assert!(timezone_offset(bad).is_err(), "{bad}");
        }
    }
}
