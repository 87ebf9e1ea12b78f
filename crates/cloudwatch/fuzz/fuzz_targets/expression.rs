//! Metric-math expressions of GetMetricData, as callers write them.
//!
//! Invariants: parsing never panics and stays within its depth bound; an
//! expression that parses evaluates (or is refused with a message) without
//! panicking against a small set of series.
#![no_main]

use std::collections::BTreeMap;

use cloudwatch::expr::{eval, ids, parse_expression, Env, Series};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let Ok(e) = parse_expression(s) else { return };
    let series: BTreeMap<String, Series> =
        ids(&e).into_iter().map(|id| (id, [(0, 1.0), (60, 2.0)].into_iter().collect())).collect();
    let metric_ids: Vec<String> = series.keys().cloned().collect();
    let _ = eval(&e, &Env { series: &series, metric_ids: &metric_ids, grid: &[0, 60, 120] });
});
