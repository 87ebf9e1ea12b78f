//! Dynamic labels: the `${…}` values a GetMetricData `Label` may hold, replaced
//! by what they stand for in each result, as CloudWatch's "Use dynamic labels"
//! page lists them.
//!
//! Served: `${LABEL}` (the default label), the statistics of the values the
//! result returns in the request's time range (`${AVG}`, `${MAX}`, `${MIN}`,
//! `${SUM}`, `${FIRST}`, `${LAST}`, `${DATAPOINT_COUNT}`, `${FIRST_LAST_RANGE}`,
//! `${MIN_MAX_RANGE}`), and the metric's properties (`${PROP('Dim.<name>')}`,
//! `${PROP('MetricName')}`, `${PROP('Namespace')}`, `${PROP('Period')}`,
//! `${PROP('Stat')}`, `${PROP('AccountId')}`, `${PROP('Region')}`).
//!
//! A value with nothing to stand for (a statistic of a result without
//! datapoints, a metric property of an expression, a dimension the metric does
//! not have) and every other `${…}` (the time-valued ones among them) is left
//! as written. Numbers are written in their shortest exact decimal form.

use crate::expr::Series;
use crate::metrics::MetricId;

/// What a result's label may draw on.
pub struct Facts<'a> {
    /// The label CloudWatch gives the result when the query has none.
    pub default: &'a str,
    /// The query's metric and stat, when it is a MetricStat.
    pub metric: Option<(&'a MetricId, &'a str)>,
    /// The period of the result's values.
    pub period: Option<i64>,
    pub account: &'a str,
    pub region: &'a str,
    /// The values the result returns, by timestamp.
    pub values: &'a Series,
}

fn number(v: f64) -> String {
    format!("{v}")
}

/// The value a `${…}` stands for, or `None` to leave it as written.
#[allow(clippy::cast_precision_loss)]
fn value(name: &str, f: &Facts<'_>) -> Option<String> {
    let vals: Vec<f64> = f.values.values().copied().collect();
    let stat = |g: fn(&[f64]) -> f64| (!vals.is_empty()).then(|| number(g(&vals)));
    match name {
        "LABEL" => Some(f.default.to_owned()),
        "AVG" => stat(|v| v.iter().sum::<f64>() / v.len() as f64),
        "MAX" => stat(|v| v.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
        "MIN" => stat(|v| v.iter().copied().fold(f64::INFINITY, f64::min)),
        "SUM" => stat(|v| v.iter().sum()),
        "FIRST" => stat(|v| v[0]),
        "LAST" => stat(|v| v[v.len() - 1]),
        "DATAPOINT_COUNT" => Some(vals.len().to_string()),
        "FIRST_LAST_RANGE" => stat(|v| v[v.len() - 1] - v[0]),
        "MIN_MAX_RANGE" => stat(|v| {
            v.iter().copied().fold(f64::NEG_INFINITY, f64::max) - v.iter().copied().fold(f64::INFINITY, f64::min)
        }),
        _ => {
            let prop = name.strip_prefix("PROP('")?.strip_suffix("')")?;
            let ms = f.metric;
            match prop {
                "AccountId" => Some(f.account.to_owned()),
                "Region" => Some(f.region.to_owned()),
                "Period" => f.period.map(|p| p.to_string()),
                "MetricName" => ms.map(|(m, _)| m.name.clone()),
                "Namespace" => ms.map(|(m, _)| m.namespace.clone()),
                "Stat" => ms.map(|(_, s)| s.to_owned()),
                _ => {
                    let dim = prop.strip_prefix("Dim.")?;
                    ms?.0.dimensions.iter().find(|d| d.name == dim).map(|d| d.value.clone())
                }
            }
        }
    }
}

/// `label` with each dynamic value replaced.
#[must_use]
pub fn render(label: &str, facts: &Facts<'_>) -> String {
    let mut out = String::with_capacity(label.len());
    let mut rest = label;
    while let Some(open) = rest.find("${") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find('}') else {
            rest = &rest[open..];
            break;
        };
        let name = &after[..close];
        match value(name, facts) {
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[open..open + 2 + close + 1]),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Dimension;

    #[test]
    fn dynamic_values_are_replaced() {
        let metric = MetricId::new(
            "AWS/DAX",
            "CPUUtilization",
            vec![Dimension { name: "ClusterId".into(), value: "c1".into() }],
        );
        let values: Series = [(0, 4.0), (60, 1.5), (120, 2.5)].into_iter().collect();
        let f = Facts {
            default: "CPUUtilization",
            metric: Some((&metric, "Maximum")),
            period: Some(60),
            account: "123456789012",
            region: "us-east-1",
            values: &values,
        };
        let cases = [
            ("${LABEL} avg ${AVG}", "CPUUtilization avg 2.6666666666666665"),
            ("${MAX}/${MIN}/${SUM}/${FIRST}/${LAST}", "4/1.5/8/4/2.5"),
            ("${DATAPOINT_COUNT} ${FIRST_LAST_RANGE} ${MIN_MAX_RANGE}", "3 -1.5 2.5"),
            ("${PROP('Dim.ClusterId')} ${PROP('MetricName')} ${PROP('Namespace')}", "c1 CPUUtilization AWS/DAX"),
            (
                "${PROP('Period')}s ${PROP('Stat')} ${PROP('AccountId')} ${PROP('Region')}",
                "60s Maximum 123456789012 us-east-1",
            ),
            // Unknown values, a dimension the metric lacks, a time value and an unclosed one stay as written.
            ("${NOPE} ${PROP('Dim.NodeId')} ${LAST_TIME} ${AVG", "${NOPE} ${PROP('Dim.NodeId')} ${LAST_TIME} ${AVG"),
            ("plain", "plain"),
        ];
        for (label, want) in cases {
            assert_eq!(render(label, &f), want, "{label}");
        }
        // An expression has no metric properties; a result without datapoints no statistics.
        let empty = Series::new();
        let f = Facts { default: "e1", metric: None, period: Some(300), values: &empty, ..f };
        assert_eq!(
            render("${LABEL} ${PROP('MetricName')} ${PROP('Period')} ${AVG} ${DATAPOINT_COUNT}", &f),
            "e1 ${PROP('MetricName')} 300 ${AVG} 0"
        );
    }
}
