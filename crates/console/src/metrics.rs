//! The DAX cache-counter history behind the cluster page's chart: the
//! host's cumulative counters sampled now and then, kept for the last
//! [`KEEP`] samples per cluster, and drawn as an SVG line chart of hits and
//! misses per interval (rendered on the server, so it needs no script).

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};

use crate::host::CacheCounters;
use crate::html::{html, time_of, Markup};

/// Samples kept per cluster.
pub const KEEP: usize = 240;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub t: f64,
    pub hits: u64,
    pub misses: u64,
    pub item_hits: u64,
    pub item_misses: u64,
    pub query_hits: u64,
    pub query_misses: u64,
}

#[derive(Default)]
pub struct History {
    series: Mutex<BTreeMap<(String, String), VecDeque<(Sample, CacheCounters)>>>,
}

impl History {
    /// Record one sample of every cluster's counters.
    pub fn record(&self, now: f64, counters: Vec<CacheCounters>) {
        let mut map = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        let live: Vec<(String, String)> = counters.iter().map(|c| (c.region.clone(), c.cluster.clone())).collect();
        map.retain(|k, _| live.contains(k));
        for c in counters {
            let s = Sample {
                t: now,
                hits: c.item_hits + c.query_hits + c.scan_hits,
                misses: c.item_misses + c.query_misses + c.scan_misses,
                item_hits: c.item_hits,
                item_misses: c.item_misses,
                query_hits: c.query_hits,
                query_misses: c.query_misses,
            };
            let q = map.entry((c.region.clone(), c.cluster.clone())).or_default();
            // A restarted node starts its counters again: start the series again too.
            if q.back().is_some_and(|(b, _)| s.hits < b.hits || s.misses < b.misses) {
                q.clear();
            }
            q.push_back((s, c));
            while q.len() > KEEP {
                q.pop_front();
            }
        }
    }

    /// The samples and latest counters of one cluster.
    pub fn of(&self, region: &str, cluster: &str) -> (Vec<Sample>, Option<CacheCounters>) {
        let map = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        match map.get(&(region.to_owned(), cluster.to_owned())) {
            Some(q) => (q.iter().map(|(s, _)| *s).collect(), q.back().map(|(_, c)| c.clone())),
            None => (Vec::new(), None),
        }
    }
}

/// Hits and misses per interval between consecutive samples.
pub fn deltas(samples: &[Sample]) -> Vec<(f64, u64, u64)> {
    samples
        .windows(2)
        .map(|w| (w[1].t, w[1].hits.saturating_sub(w[0].hits), w[1].misses.saturating_sub(w[0].misses)))
        .collect()
}

/// The chart: an SVG with a title, axes, a legend and two lines.
pub fn chart(samples: &[Sample]) -> Markup {
    let d = deltas(samples);
    if d.is_empty() {
        return html! {
            p.muted { "Collecting data: the chart appears after two samples of the cache counters." }
        };
    }
    let (w, h, left, bottom, top, right) = (640.0_f64, 220.0_f64, 48.0, 28.0, 12.0, 12.0);
    let max = d.iter().map(|(_, a, b)| (*a).max(*b)).max().unwrap_or(0).max(1);
    #[allow(clippy::cast_precision_loss)]
    let maxf = max as f64;
    let t0 = d.first().map_or(0.0, |x| x.0);
    let t1 = d.last().map_or(1.0, |x| x.0).max(t0 + 1.0);
    let x = |t: f64| left + (t - t0) / (t1 - t0) * (w - left - right);
    #[allow(clippy::cast_precision_loss)]
    let y = |v: u64| top + (1.0 - v as f64 / maxf) * (h - top - bottom);
    let line = |pick: fn(&(f64, u64, u64)) -> u64| -> String {
        let mut pts = String::new();
        for p in &d {
            let _ = write!(pts, "{:.1},{:.1} ", x(p.0), y(pick(p)));
        }
        pts
    };
    let hits = line(|p| p.1);
    let misses = line(|p| p.2);
    let total_h: u64 = d.iter().map(|p| p.1).sum();
    let total_m: u64 = d.iter().map(|p| p.2).sum();
    let (from, to) = (time_of(t0), time_of(t1));
    let (yb, xr, tx, ty, yl) = (h - bottom, w - right, left - 4.0, top + 8.0, h - 8.0);
    // SVG elements are written with closing tags: in HTML, `<line ...>` without
    // `/>` or `</line>` would hold the next element.
    html! {
        figure.chart {
            svg viewBox={ "0 0 " (w) " " (h) } role="img" aria-labelledby="chart-title chart-desc" width="100%" {
                title #chart-title { "Cache hits and misses per sample interval" }
                desc #chart-desc {
                    (d.len()) " intervals from " (from) " to " (to) ": " (total_h) " hits and " (total_m)
                    " misses in all; the highest interval had " (max) "."
                }
                line x1=(left) y1=(top) x2=(left) y2=(yb) class="axis" {}
                line x1=(left) y1=(yb) x2=(xr) y2=(yb) class="axis" {}
                text x=(tx) y=(ty) class="tick" text-anchor="end" { (max) }
                text x=(tx) y=(yb) class="tick" text-anchor="end" { "0" }
                text x=(left) y=(yl) class="tick" { (from.get(11..19).unwrap_or("")) }
                text x=(xr) y=(yl) class="tick" text-anchor="end" { (to.get(11..19).unwrap_or("")) }
                polyline points=(hits) class="hits" fill="none" {}
                polyline points=(misses) class="misses" fill="none" {}
            }
            figcaption {
                span.key.hits { "Cache hits" } " " span.key.misses { "Cache misses" }
                " (item, query and scan caches, per interval of the sampler)"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(cluster: &str, hits: u64, misses: u64) -> CacheCounters {
        CacheCounters {
            region: "us-east-1".into(),
            cluster: cluster.into(),
            item_hits: hits,
            item_misses: misses,
            ..CacheCounters::default()
        }
    }

    #[test]
    fn history_keeps_deltas_drops_gone_clusters_and_restarts() {
        let h = History::default();
        h.record(0.0, vec![c("a", 0, 0), c("b", 5, 5)]);
        h.record(5.0, vec![c("a", 10, 2), c("b", 5, 5)]);
        h.record(10.0, vec![c("a", 13, 9)]);
        let (a, latest) = h.of("us-east-1", "a");
        assert_eq!(deltas(&a), vec![(5.0, 10, 2), (10.0, 3, 7)]);
        assert_eq!(latest.map(|l| l.item_hits), Some(13));
        assert!(h.of("us-east-1", "b").0.is_empty(), "a deleted cluster's series goes");
        h.record(15.0, vec![c("a", 1, 0)]);
        assert_eq!(h.of("us-east-1", "a").0.len(), 1, "counters went back: a new series");
        for i in 0..(KEEP + 10) {
            #[allow(clippy::cast_precision_loss)]
            h.record(20.0 + i as f64, vec![c("a", i as u64, 0)]);
        }
        assert_eq!(h.of("us-east-1", "a").0.len(), KEEP);
    }

    #[test]
    fn chart_renders_an_accessible_svg() {
        assert!(chart(&[]).into_string().contains("Collecting data"));
        let h = History::default();
        h.record(0.0, vec![c("a", 0, 0)]);
        h.record(5.0, vec![c("a", 4, 1)]);
        h.record(10.0, vec![c("a", 4, 3)]);
        let svg = chart(&h.of("us-east-1", "a").0).into_string();
        assert!(
            svg.contains("<svg")
                && svg.contains("role=\"img\"")
                && svg.contains("class=\"hits\"")
                && svg.contains("class=\"misses\"")
        );
        assert!(svg.contains("4 hits and 3 misses"), "{svg}");
    }
}
