//! Metric datapoints: how they are kept (1-minute buckets for 15 days, then
//! rolled up into 5-minute buckets kept for 63 days), how they are written to
//! the store (one record per series and hour of minutes, or per series and
//! day of 5-minute buckets), and how they are read back as statistics.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::stats::Bucket;

/// The store namespaces of one region's records: each region is its own
/// CloudWatch, as in AWS.
#[derive(Debug, Clone)]
pub(crate) struct Namespaces {
    pub series: String,
    pub minutes: String,
    pub fives: String,
    pub alarms: String,
    pub history: String,
}

impl Namespaces {
    pub fn of(region: &str) -> Self {
        let ns = |what: &str| format!("cloudwatch.{region}.{what}");
        Namespaces {
            series: ns("series"),
            minutes: ns("minutes"),
            fives: ns("fives"),
            alarms: ns("alarms"),
            history: ns("history"),
        }
    }
}

/// 1-minute data is kept this long, then rolled up to 5 minutes.
pub const MINUTE_RETENTION_SECS: i64 = 15 * 86_400;
/// 5-minute data is kept this long, then dropped.
pub const FIVE_MINUTE_RETENTION_SECS: i64 = 63 * 86_400;
/// Metrics with no datapoint this recent are not listed.
pub const LIST_WINDOW_SECS: i64 = 14 * 86_400;
/// How far back `RecentlyActive=PT3H` reaches.
pub const RECENTLY_ACTIVE_SECS: i64 = 3 * 3_600;
/// Datapoints are accepted up to this far in the past...
pub const MAX_PAST_SECS: i64 = 14 * 86_400;
/// ...and this far in the future.
pub const MAX_FUTURE_SECS: i64 = 2 * 3_600;
/// The most series kept; a put that would add one more is refused.
pub const MAX_SERIES: usize = 20_000;

/// A dimension: a name and its value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Dimension {
    pub name: String,
    pub value: String,
}

impl Dimension {
    #[must_use]
    pub fn new(name: &str, value: &str) -> Self {
        Dimension { name: name.to_owned(), value: value.to_owned() }
    }
}

/// A metric: its namespace, name and dimension set (kept sorted by name).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MetricId {
    pub namespace: String,
    pub name: String,
    pub dimensions: Vec<Dimension>,
}

impl MetricId {
    /// A metric, its dimensions sorted.
    #[must_use]
    pub fn new(namespace: &str, name: &str, mut dimensions: Vec<Dimension>) -> Self {
        dimensions.sort();
        MetricId { namespace: namespace.to_owned(), name: name.to_owned(), dimensions }
    }

    /// The key metrics are listed and stored by: the fields joined by a
    /// separator no name contains (unit separator, U+001F).
    #[must_use]
    pub fn key(&self) -> String {
        let mut k = format!("{}\u{1f}{}", self.namespace, self.name);
        for d in &self.dimensions {
            k.push('\u{1f}');
            k.push_str(&d.name);
            k.push('=');
            k.push_str(&d.value);
        }
        k
    }
}

/// The value of one datum: a single sample or a statistic set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DatumValue {
    Value(f64),
    Set { count: f64, sum: f64, min: f64, max: f64 },
}

/// One datum to record.
#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    pub metric: MetricId,
    /// Seconds since the epoch.
    pub timestamp: f64,
    pub value: DatumValue,
    pub unit: String,
}

/// A stored series: one metric with one unit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SeriesMeta {
    pub metric: MetricId,
    pub unit: String,
    /// Epoch second of the newest datum's arrival.
    pub last_put: i64,
}

/// A stored chunk of buckets of one series.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Chunk {
    pub series: String,
    pub buckets: BTreeMap<i64, Bucket>,
}

/// A series in memory.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub meta: SeriesMeta,
    /// Minute start -> bucket, for the last 15 days.
    pub minutes: BTreeMap<i64, Bucket>,
    /// Five-minute start -> bucket, for data older than 15 days.
    pub fives: BTreeMap<i64, Bucket>,
}

impl Series {
    pub fn key(metric: &MetricId, unit: &str) -> String {
        format!("{}\u{1e}{unit}", metric.key())
    }

    /// The chunk record of minute buckets of the hour starting at `hour`.
    pub fn minute_chunk(&self, key: &str, hour: i64) -> (String, Chunk) {
        let buckets = self.minutes.range(hour..hour + 3_600).map(|(t, b)| (*t, b.clone())).collect();
        (format!("{key}\u{1d}{hour:012}"), Chunk { series: key.to_owned(), buckets })
    }

    /// The chunk record of five-minute buckets of the day starting at `day`.
    pub fn five_chunk(&self, key: &str, day: i64) -> (String, Chunk) {
        let buckets = self.fives.range(day..day + 86_400).map(|(t, b)| (*t, b.clone())).collect();
        (format!("{key}\u{1d}{day:012}"), Chunk { series: key.to_owned(), buckets })
    }

    /// The buckets that fall in `[start, end)`, merged into slots of `period`
    /// seconds counted from `start`. Five-minute buckets count only when the
    /// period is a multiple of five minutes, as CloudWatch returns none otherwise.
    pub fn slots(&self, start: i64, end: i64, period: i64, out: &mut BTreeMap<i64, Bucket>) {
        let mut add = |t: i64, b: &Bucket| {
            let slot = start + (t - start).div_euclid(period) * period;
            out.entry(slot).and_modify(|s| s.merge(b)).or_insert_with(|| b.clone());
        };
        for (t, b) in self.minutes.range(start..end) {
            add(*t, b);
        }
        if period % 300 == 0 {
            for (t, b) in self.fives.range(start..end) {
                add(*t, b);
            }
        }
    }
}

/// Floor `t` to a multiple of `step`.
#[must_use]
pub fn floor(t: i64, step: i64) -> i64 {
    t.div_euclid(step) * step
}

/// Where CloudWatch rounds a StartTime down to, by its age at `now`.
#[must_use]
pub fn round_start(start: i64, now: i64) -> i64 {
    let age = now - start;
    if age < MINUTE_RETENTION_SECS {
        floor(start, 60)
    } else if age < FIVE_MINUTE_RETENTION_SECS {
        floor(start, 300)
    } else {
        floor(start, 3_600)
    }
}
