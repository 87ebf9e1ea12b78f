//! Statistic sets and the statistics CloudWatch computes from them:
//! SampleCount, Sum, Minimum, Maximum, Average and the `pNN` percentiles.

use serde::{Deserialize, Serialize};

use crate::CwError;

/// The raw values a bucket keeps for percentiles; past this many, a bucket
/// keeps only its statistic set and answers no percentile (bounded memory).
pub const MAX_VALUES_PER_BUCKET: usize = 1_000;

/// What is known of the samples of one time slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    pub count: f64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    /// Every sample, while there are at most [`MAX_VALUES_PER_BUCKET`] and all
    /// came one by one; `None` once a statistic set or too many arrived.
    pub values: Option<Vec<f64>>,
}

impl Bucket {
    /// A bucket of one sample.
    #[must_use]
    pub fn one(v: f64) -> Self {
        Bucket { count: 1.0, sum: v, min: v, max: v, values: Some(vec![v]) }
    }

    /// A bucket of a statistic set: no single values are known.
    #[must_use]
    pub fn set(count: f64, sum: f64, min: f64, max: f64) -> Self {
        Bucket { count, sum, min, max, values: None }
    }

    /// Fold `other` into this bucket.
    pub fn merge(&mut self, other: &Bucket) {
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.values = match (self.values.take(), &other.values) {
            (Some(mut a), Some(b)) if a.len() + b.len() <= MAX_VALUES_PER_BUCKET => {
                a.extend_from_slice(b);
                Some(a)
            }
            _ => None,
        };
    }

    /// The value of a standard statistic.
    #[must_use]
    pub fn statistic(&self, stat: Statistic) -> f64 {
        match stat {
            Statistic::SampleCount => self.count,
            Statistic::Sum => self.sum,
            Statistic::Minimum => self.min,
            Statistic::Maximum => self.max,
            Statistic::Average => {
                if self.count > 0.0 {
                    self.sum / self.count
                } else {
                    0.0
                }
            }
        }
    }

    /// The `p`-th percentile (0..=100) by nearest rank, when the single values are known.
    #[must_use]
    pub fn percentile(&self, p: f64) -> Option<f64> {
        let mut v = self.values.clone()?;
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        Some(nearest_rank(&v, p))
    }
}

/// The nearest-rank percentile of sorted, non-empty `sorted`.
#[must_use]
pub fn nearest_rank(sorted: &[f64], p: f64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let n = sorted.len() as f64;
    let rank = (p / 100.0 * n).ceil();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let idx = (rank as usize).saturating_sub(1).min(sorted.len() - 1);
    sorted[idx]
}

/// The five standard statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Statistic {
    SampleCount,
    Average,
    Sum,
    Minimum,
    Maximum,
}

impl Statistic {
    pub const ALL: [Statistic; 5] =
        [Statistic::SampleCount, Statistic::Average, Statistic::Sum, Statistic::Minimum, Statistic::Maximum];

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Statistic::SampleCount => "SampleCount",
            Statistic::Average => "Average",
            Statistic::Sum => "Sum",
            Statistic::Minimum => "Minimum",
            Statistic::Maximum => "Maximum",
        }
    }

    /// The statistic of a name, exactly as CloudWatch spells it.
    #[must_use]
    pub fn of(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// A statistic of a query or an alarm: standard, or a percentile.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Stat {
    Standard(Statistic),
    Percentile(f64),
}

impl Stat {
    /// The `Stat` of a MetricStat (`Average`, `p99`, `p99.9`).
    ///
    /// # Errors
    /// `InvalidParameterValue` for anything else.
    pub fn of(text: &str) -> Result<Self, CwError> {
        if let Some(s) = Statistic::of(text) {
            return Ok(Stat::Standard(s));
        }
        percentile_of(text).map(Stat::Percentile)
    }

    /// The statistic's name as CloudWatch prints it.
    #[must_use]
    pub fn name(&self) -> String {
        match self {
            Stat::Standard(s) => s.name().to_owned(),
            Stat::Percentile(p) => format!("p{p}"),
        }
    }

    /// The value for a bucket, if the bucket can answer it.
    #[must_use]
    pub fn value(&self, b: &Bucket) -> Option<f64> {
        match self {
            Stat::Standard(s) => Some(b.statistic(*s)),
            Stat::Percentile(p) => b.percentile(*p),
        }
    }
}

/// The percentile of an extended statistic `pNN` or `pNN.NN` (0 to 100).
///
/// # Errors
/// `InvalidParameterValue` naming the statistic.
pub fn percentile_of(text: &str) -> Result<f64, CwError> {
    let bad = || {
        CwError::InvalidParameterValue(format!("The value {text} for parameter ExtendedStatistics is not supported."))
    };
    let digits = text.strip_prefix('p').ok_or_else(bad)?;
    let well_formed = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().filter(|b| *b == b'.').count() <= 1
        && !digits.starts_with('.')
        && !digits.ends_with('.')
        && digits.split('.').nth(1).is_none_or(|frac| frac.len() <= 2);
    if !well_formed {
        return Err(bad());
    }
    let p: f64 = digits.parse().map_err(|_| bad())?;
    if (0.0..=100.0).contains(&p) {
        Ok(p)
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn percentile_names() {
        for (text, want) in [("p99", Some(99.0)), ("p99.9", Some(99.9)), ("p0", Some(0.0)), ("p100", Some(100.0))] {
            assert_eq!(percentile_of(text).ok(), want, "{text}");
        }
        for bad in ["p", "99", "p101", "p9.999", "p.5", "p5.", "P50", "p-1", "p1e2"] {
            assert!(percentile_of(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stat_names_round_trip() {
        for s in Statistic::ALL {
            assert_eq!(Stat::of(s.name()), Ok(Stat::Standard(s)));
        }
        assert_eq!(Stat::of("p90").map(|s| s.name()), Ok("p90".to_owned()));
        assert!(Stat::of("average").is_err());
    }

    #[test]
    fn statistic_sets_answer_no_percentile() {
        let mut b = Bucket::one(3.0);
        b.merge(&Bucket::set(2.0, 10.0, 1.0, 9.0));
        assert_eq!(b.count, 3.0);
        assert_eq!(b.sum, 13.0);
        assert_eq!(b.min, 1.0);
        assert_eq!(b.max, 9.0);
        assert_eq!(b.percentile(50.0), None);
    }

    proptest! {
        /// Merged buckets agree with the statistics of the plain list of samples.
        #[test]
        fn buckets_match_a_list_model(values in prop::collection::vec(-1e6f64..1e6, 1..200), p in 0.0f64..=100.0) {
            let mut b = Bucket::one(values[0]);
            for v in &values[1..] {
                b.merge(&Bucket::one(*v));
            }
            let n = values.len() as f64;
            let sum: f64 = values.iter().sum();
            prop_assert_eq!(b.statistic(Statistic::SampleCount), n);
            prop_assert!((b.statistic(Statistic::Sum) - sum).abs() <= 1e-6 * sum.abs().max(1.0));
            prop_assert!((b.statistic(Statistic::Average) - sum / n).abs() <= 1e-6 * (sum / n).abs().max(1.0));
            prop_assert_eq!(b.statistic(Statistic::Minimum), values.iter().copied().fold(f64::INFINITY, f64::min));
            prop_assert_eq!(b.statistic(Statistic::Maximum), values.iter().copied().fold(f64::NEG_INFINITY, f64::max));
            // Nearest rank: the smallest value with at least p% of the samples at or below it.
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let got = b.percentile(p).unwrap();
            let at_or_below = sorted.iter().filter(|v| **v <= got).count() as f64;
            prop_assert!(at_or_below / n * 100.0 >= p - 1e-9);
            let below = sorted.iter().filter(|v| **v < got).count() as f64;
            prop_assert!(below / n * 100.0 < p || (p == 0.0 && below == 0.0));
        }
    }
}
