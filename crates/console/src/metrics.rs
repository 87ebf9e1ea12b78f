//! The DAX cache-counter history behind the cluster page's chart: the
//! host's cumulative counters sampled now and then (from the server's start),
//! kept for the last [`WINDOW`] seconds (at most [`KEEP`] samples) per
//! cluster, and drawn as an SVG line chart of hits and misses per interval
//! over that last hour, with gridlines, labelled axes and a read-out of each
//! interval on hover (rendered on the server, so it needs no script). The
//! minutes CloudWatch recorded before the first sample are drawn before the
//! samples, so the hour before a restart still shows. [`series_chart`] draws
//! CloudWatch datapoints the same way, for the Metrics tab.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};

use crate::host::CacheCounters;
use crate::html::{html, time_of, Markup};

/// Seconds of history kept per cluster, and shown by the chart.
pub const WINDOW: f64 = 3600.0;

/// Samples kept per cluster at most (a sample a second for the whole window).
pub const KEEP: usize = 3600;

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
            while q.len() > KEEP || q.front().is_some_and(|(f, _)| f.t <= now - WINDOW) {
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

/// A round upper bound for the y axis (1, 2 or 5 times a power of ten) and
/// its step between gridlines.
fn scale(max: u64) -> (u64, u64) {
    let mut unit = 1u64;
    loop {
        for m in [1u64, 2, 5] {
            let step = m.saturating_mul(unit);
            if step.saturating_mul(4) >= max {
                return (step.saturating_mul(4), step);
            }
        }
        unit = unit.saturating_mul(10);
    }
}

/// `n` and the noun, singular for one.
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The chart: an SVG of the last hour with a title, gridlines, labelled axes,
/// a legend, two lines, and a read-out of each interval on hover. `recorded`
/// holds the CloudWatch datapoints (minute start, hits, misses): those of the
/// minutes before the first sample are drawn first, so the hour before a
/// restart of the server still shows.
pub fn chart(samples: &[Sample], recorded: &[(f64, u64, u64)], now: f64) -> Markup {
    let first_sample = samples.first().map_or(f64::INFINITY, |s| s.t);
    let mut d: Vec<(f64, u64, u64)> = recorded
        .iter()
        .filter(|(t, _, _)| *t + 60.0 <= first_sample && *t + 60.0 > now - WINDOW)
        .map(|(t, h, m)| (t + 60.0, *h, *m))
        .collect();
    let earlier = d.len();
    d.extend(deltas(samples));
    let (w, h, left, bottom, top, right) = (720.0_f64, 260.0_f64, 56.0, 40.0, 14.0, 16.0);
    // The last hour, or as much of it as there are samples for (at least a
    // minute), so a young cluster's chart is not a line against the edge.
    let t1 = samples.last().map_or(now, |s| s.t).max(now);
    let start = d.first().filter(|_| earlier > 0).map_or(samples.first().map(|s| s.t), |p| Some(p.0 - 60.0));
    let t0 = start.unwrap_or(t1 - 60.0).clamp(t1 - WINDOW, t1 - 60.0);
    let max = d.iter().map(|(_, a, b)| (*a).max(*b)).max().unwrap_or(0);
    let (ymax, ystep) = scale(max);
    #[allow(clippy::cast_precision_loss)]
    let ymaxf = ymax as f64;
    let x = |t: f64| left + (t - t0) / (t1 - t0) * (w - left - right);
    #[allow(clippy::cast_precision_loss)]
    let y = |v: u64| top + (1.0 - v as f64 / ymaxf) * (h - top - bottom);
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
    // The sampling interval, for the unit of the y axis.
    let every = samples.windows(2).map(|w| w[1].t - w[0].t).fold(f64::NAN, f64::min);
    let unit = match (every.is_finite(), earlier > 0) {
        (true, false) => format!("per {:.0}-second interval", every.max(1.0)),
        (true, true) => format!("recorded per minute, then per {:.0}-second interval", every.max(1.0)),
        (false, true) => "recorded per minute".to_owned(),
        (false, false) => String::new(),
    };
    let every = if every.is_finite() { every } else { 60.0 };
    let yticks: Vec<u64> = (0..=4).map(|i| i * ystep).collect();
    // Time gridlines on round clock times, at most seven of them.
    let span = t1 - t0;
    let tstep = [10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0].into_iter().find(|s| span / s <= 7.0).unwrap_or(600.0);
    let first = (t0 / tstep).ceil() * tstep;
    let xticks: Vec<f64> = (0..8).map(|i| first + f64::from(i) * tstep).filter(|t| *t <= t1).collect();
    let (yb, xr) = (h - bottom, w - right);
    let clock = |t: f64| time_of(t).get(11..if tstep < 60.0 { 19 } else { 16 }).unwrap_or("").to_owned();
    let desc = if d.is_empty() {
        "No interval yet: the first point appears after the next sample of the counters.".to_owned()
    } else {
        format!(
            "{} from {} to {}: {} and {} in all; the highest interval had {}.",
            count(d.len() as u64, "interval", "intervals"),
            time_of(d[0].0),
            time_of(t1),
            count(total_h, "hit", "hits"),
            count(total_m, "miss", "misses"),
            max
        )
    };
    // SVG elements are written with closing tags: in HTML, `<line ...>` without
    // `/>` or `</line>` would hold the next element.
    html! {
        // Focusable: on a narrow screen the chart keeps a readable size and scrolls.
        figure.chart tabindex="0" {
            svg viewBox={ "0 0 " (w) " " (h) } role="img" aria-labelledby="chart-title chart-desc" width="100%" {
                title #chart-title { "Cache hits and misses in the last hour" }
                desc #chart-desc { (desc) }
                @for v in &yticks {
                    line x1=(left) y1=(y(*v)) x2=(xr) y2=(y(*v)) class="grid" {}
                    text x=(left - 6.0) y=(y(*v) + 4.0) class="tick" text-anchor="end" { (v) }
                }
                @for t in &xticks {
                    line x1=(x(*t)) y1=(top) x2=(x(*t)) y2=(yb) class="grid" {}
                    text x=(x(*t)) y=(yb + 16.0) class="tick" text-anchor="middle" { (clock(*t)) }
                }
                line x1=(left) y1=(top) x2=(left) y2=(yb) class="axis" {}
                line x1=(left) y1=(yb) x2=(xr) y2=(yb) class="axis" {}
                text x=(left + (xr - left) / 2.0) y=(h - 4.0) class="tick" text-anchor="middle" { "Time (UTC)" }
                text x="12" y=(top + (yb - top) / 2.0) class="tick" text-anchor="middle"
                    transform={ "rotate(-90 12 " (top + (yb - top) / 2.0) ")" } { "Requests" }
                polyline points=(hits) class="hits" fill="none" {}
                polyline points=(misses) class="misses" fill="none" {}
                @if d.is_empty() {
                    text x=(left + (xr - left) / 2.0) y=(top + (yb - top) / 2.0) class="empty" text-anchor="middle" {
                        "No interval yet: the first point appears after the next sample."
                    }
                }
                // The read-out: each interval's band names its time and counts on hover.
                @for (i, p) in d.iter().enumerate() {
                    @let from = if i == 0 || i == earlier { p.0 - if i < earlier { 60.0 } else { every.max(1.0) } } else { d[i - 1].0 };
                    rect.band x=(x(from.max(t0))) y=(top) width=((x(p.0) - x(from.max(t0))).max(1.0)) height=(yb - top) {
                        title {
                            (time_of(p.0)) ": " (count(p.1, "hit", "hits")) ", " (count(p.2, "miss", "misses"))
                        }
                    }
                }
            }
            figcaption {
                span.key.hits { "Cache hits" } " " span.key.misses { "Cache misses" }
                " (item, query and scan caches, " (unit) "; hover over the chart for each interval's counts)"
            }
        }
    }
}

/// One line of a [`series_chart`]: its CSS class, its name in the legend and
/// read-out, and its points (Unix seconds, value).
pub struct Line<'a> {
    pub class: &'a str,
    pub label: &'a str,
    pub points: Vec<(f64, f64)>,
}

/// A round upper bound and gridline step for fractional values.
fn scale_f(max: f64) -> (f64, f64) {
    if max <= 0.0 || !max.is_finite() {
        return (4.0, 1.0);
    }
    let mut unit = 10f64.powf(max.log10().floor() - 1.0);
    loop {
        for m in [1.0, 2.0, 5.0] {
            if m * unit * 4.0 >= max {
                return (m * unit * 4.0, m * unit);
            }
        }
        unit *= 10.0;
    }
}

/// A value as a short label: whole numbers without decimals.
pub fn num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// A line chart of datapoints from `t0` to `t1` (Unix seconds), drawn like
/// [`chart`]: gridlines, labelled axes, a legend and a read-out of each
/// datapoint on hover. `id` makes its title and description ids unique.
pub fn series_chart(id: &str, title: &str, unit: &str, lines: &[Line<'_>], t0: f64, t1: f64) -> Markup {
    let (w, h, left, bottom, top, right) = (720.0_f64, 260.0_f64, 56.0, 40.0, 14.0, 16.0);
    let t1 = if t1 > t0 { t1 } else { t0 + 60.0 };
    let max = lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)).fold(0.0_f64, f64::max);
    let (ymax, ystep) = scale_f(max);
    let x = |t: f64| left + (t - t0) / (t1 - t0) * (w - left - right);
    let y = |v: f64| top + (1.0 - v / ymax) * (h - top - bottom);
    let (yb, xr) = (h - bottom, w - right);
    let yticks: Vec<f64> = (0..=4).map(|i| f64::from(i) * ystep).collect();
    let span = t1 - t0;
    let tstep = [60.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 10800.0, 21600.0, 43200.0, 86400.0]
        .into_iter()
        .find(|s| span / s <= 7.0)
        .unwrap_or(86400.0);
    let first = (t0 / tstep).ceil() * tstep;
    let xticks: Vec<f64> = (0..8).map(|i| first + f64::from(i) * tstep).filter(|t| *t <= t1).collect();
    let clock = |t: f64| {
        let s = time_of(t);
        if span > 86400.0 {
            s.get(5..16).unwrap_or("").replace('T', " ")
        } else {
            s.get(11..16).unwrap_or("").to_owned()
        }
    };
    let n: usize = lines.iter().map(|l| l.points.len()).sum();
    let desc = if n == 0 {
        format!("No datapoints from {} to {}.", time_of(t0), time_of(t1))
    } else {
        let parts: Vec<String> = lines
            .iter()
            .map(|l| {
                let sum: f64 = l.points.iter().map(|p| p.1).sum();
                format!("{}: {} (sum {})", l.label, count(l.points.len() as u64, "datapoint", "datapoints"), num(sum))
            })
            .collect();
        format!("From {} to {}. {}.", time_of(t0), time_of(t1), parts.join("; "))
    };
    let pts = |l: &Line<'_>| {
        let mut s = String::new();
        for p in &l.points {
            let _ = write!(s, "{:.1},{:.1} ", x(p.0), y(p.1));
        }
        s
    };
    let title_id = format!("{id}-title");
    let desc_id = format!("{id}-desc");
    html! {
        figure.chart tabindex="0" {
            svg viewBox={ "0 0 " (w) " " (h) } role="img" aria-labelledby={ (title_id) " " (desc_id) } width="100%" {
                title id=(title_id) { (title) }
                desc id=(desc_id) { (desc) }
                @for v in &yticks {
                    line x1=(left) y1=(y(*v)) x2=(xr) y2=(y(*v)) class="grid" {}
                    text x=(left - 6.0) y=(y(*v) + 4.0) class="tick" text-anchor="end" { (num(*v)) }
                }
                @for t in &xticks {
                    line x1=(x(*t)) y1=(top) x2=(x(*t)) y2=(yb) class="grid" {}
                    text x=(x(*t)) y=(yb + 16.0) class="tick" text-anchor="middle" { (clock(*t)) }
                }
                line x1=(left) y1=(top) x2=(left) y2=(yb) class="axis" {}
                line x1=(left) y1=(yb) x2=(xr) y2=(yb) class="axis" {}
                text x=(left + (xr - left) / 2.0) y=(h - 4.0) class="tick" text-anchor="middle" { "Time (UTC)" }
                text x="12" y=(top + (yb - top) / 2.0) class="tick" text-anchor="middle"
                    transform={ "rotate(-90 12 " (top + (yb - top) / 2.0) ")" } { (unit) }
                @for l in lines {
                    polyline points=(pts(l)) class=(l.class) fill="none" {}
                    @for p in &l.points {
                        circle cx=(format!("{:.1}", x(p.0))) cy=(format!("{:.1}", y(p.1))) r="3" class=(l.class) {
                            title { (time_of(p.0)) ": " (l.label) " " (num(p.1)) }
                        }
                    }
                }
                @if n == 0 {
                    text x=(left + (xr - left) / 2.0) y=(top + (yb - top) / 2.0) class="empty" text-anchor="middle" {
                        "No datapoints in this period."
                    }
                }
            }
            figcaption {
                @for (i, l) in lines.iter().enumerate() {
                    @if i > 0 { " " }
                    span class={ "key " (l.class) } { (l.label) }
                }
                " (" (unit) "; hover over a point for its value)"
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
        // Older than the window: gone, however few samples there are.
        h.record(20.0 + WINDOW * 3.0, vec![c("a", KEEP as u64 + 20, 0)]);
        assert_eq!(h.of("us-east-1", "a").0.len(), 1);
    }

    #[test]
    fn chart_renders_an_accessible_svg() {
        let empty = chart(&[], &[], 100.0).into_string();
        assert!(empty.contains("role=\"img\"") && empty.contains("No interval yet"), "axes even without data: {empty}");
        assert_eq!(scale(0), (4, 1));
        assert_eq!(scale(7), (8, 2));
        assert_eq!(scale(13), (20, 5));
        assert_eq!(scale(41), (80, 20));
        let h = History::default();
        h.record(0.0, vec![c("a", 0, 0)]);
        h.record(5.0, vec![c("a", 4, 1)]);
        h.record(10.0, vec![c("a", 4, 3)]);
        let svg = chart(&h.of("us-east-1", "a").0, &[], 10.0).into_string();
        assert!(
            svg.contains("<svg")
                && svg.contains("role=\"img\"")
                && svg.contains("class=\"hits\"")
                && svg.contains("class=\"misses\"")
        );
        assert!(svg.contains("4 hits and 3 misses"), "{svg}");
        assert!(svg.contains("2 intervals") && svg.contains("class=\"grid\""), "{svg}");
        assert!(svg.contains("0 hits, 2 misses</title>"), "a read-out per interval: {svg}");
    }

    #[test]
    fn recorded_minutes_come_before_the_samples() {
        let samples = [
            Sample { t: 200.0, hits: 0, misses: 0, item_hits: 0, item_misses: 0, query_hits: 0, query_misses: 0 },
            Sample { t: 205.0, hits: 1, misses: 0, item_hits: 1, item_misses: 0, query_hits: 0, query_misses: 0 },
        ];
        // The minute at 180 overlaps the samples: left out, not counted twice.
        let svg = chart(&samples, &[(60.0, 4, 2), (120.0, 3, 0), (180.0, 9, 9)], 205.0).into_string();
        assert!(svg.contains("3 intervals") && svg.contains("8 hits and 2 misses in all"), "{svg}");
        assert!(svg.contains("recorded per minute, then per 5-second interval"), "{svg}");
        let only = chart(&[], &[(60.0, 4, 2)], 300.0).into_string();
        assert!(
            only.contains("1 interval ") && only.contains("recorded per minute"),
            "never blank after a restart: {only}"
        );
    }

    #[test]
    fn series_chart_scales_and_reads_out() {
        assert_eq!(scale_f(0.0), (4.0, 1.0));
        assert_eq!(scale_f(7.0), (8.0, 2.0));
        assert_eq!(scale_f(0.3), (0.4, 0.1));
        let empty = series_chart("m", "T", "Count", &[], 0.0, 3600.0).into_string();
        assert!(empty.contains("No datapoints in this period") && empty.contains("class=\"grid\""), "{empty}");
        let l = Line { class: "hits", label: "Sum", points: vec![(60.0, 3.0), (120.0, 1.5)] };
        let svg = series_chart("m", "T", "Count", &[l], 0.0, 3600.0).into_string();
        assert!(svg.contains("Sum: 2 datapoints (sum 4.50)") && svg.contains("Sum 1.50</title>"), "{svg}");
    }
}
