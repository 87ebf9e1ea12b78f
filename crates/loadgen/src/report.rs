//! The side-by-side table of a `scripts/bench` run and the ratios against the performance
//! targets of daxd's DynamoDB API and DAX data plane, from the JSON lines the runs appended (one object per run, keyed by
//! `label`). A label run several times (rounds) is summarised by the median of each figure.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

fn num(v: &Value, k: &str) -> Option<f64> {
    v.get(k).and_then(Value::as_f64)
}

/// Which way a target goes.
#[derive(Clone, Copy)]
enum Goal {
    AtMost(f64),
    AtLeast(f64),
    Info,
}

struct Check {
    what: &'static str,
    num: &'static str,
    den: &'static str,
    metric: &'static str,
    goal: Goal,
}

const CHECKS: &[Check] = &[
    // What IAM evaluation costs: the same GetItem signed by an IAM user with a four-statement
    // policy (conditions included) against the root, whose requests skip the evaluation.
    Check {
        what: "daxd HTTP GetItem p50, IAM user / root (c=1)",
        num: "daxd-http-iam-user.get.c1",
        den: "daxd-http.get.c1",
        metric: "p50_us",
        goal: Goal::Info,
    },
    Check {
        what: "daxd HTTP GetItem server CPU per request, IAM user / root (c=50)",
        num: "daxd-http-iam-user.get.c50",
        den: "daxd-http.get.c50",
        metric: "server_cpu_us_per_req",
        goal: Goal::Info,
    },
    // The DynamoDB API's targets: daxd's DynamoDB HTTP API against the engine's own server.
    Check {
        what: "daxd HTTP GetItem p50 / dynoxide serve (c=1)",
        num: "daxd-http.get.c1",
        den: "dynoxide-serve.get.c1",
        metric: "p50_us",
        goal: Goal::AtMost(1.2),
    },
    Check {
        what: "daxd HTTP GetItem throughput / dynoxide serve (c=50)",
        num: "daxd-http.get.c50",
        den: "dynoxide-serve.get.c50",
        metric: "rps",
        goal: Goal::AtLeast(0.9),
    },
    Check {
        what: "daxd HTTP PutItem p50 / dynoxide serve (c=1)",
        num: "daxd-http.put.c1",
        den: "dynoxide-serve.put.c1",
        metric: "p50_us",
        goal: Goal::Info,
    },
    Check {
        what: "daxd HTTP Query p50 / dynoxide serve (c=1)",
        num: "daxd-http.query.c1",
        den: "dynoxide-serve.query.c1",
        metric: "p50_us",
        goal: Goal::Info,
    },
    Check {
        what: "daxd HTTP PutItem throughput / dynoxide serve (c=50)",
        num: "daxd-http.put.c50",
        den: "dynoxide-serve.put.c50",
        metric: "rps",
        goal: Goal::Info,
    },
    Check {
        what: "daxd HTTP Query throughput / dynoxide serve (c=50)",
        num: "daxd-http.query.c50",
        den: "dynoxide-serve.query.c50",
        metric: "rps",
        goal: Goal::Info,
    },
    Check {
        what: "daxd HTTP GetItem p50 / in-process engine (c=1)",
        num: "daxd-http.get.c1",
        den: "inproc.get.c1",
        metric: "p50_us",
        goal: Goal::Info,
    },
    Check {
        what: "daxd HTTP GetItem p50 / dynalite (c=1)",
        num: "daxd-http.get.c1",
        den: "dynalite.get.c1",
        metric: "p50_us",
        goal: Goal::Info,
    },
    Check {
        what: "daxd HTTP GetItem throughput / dynalite (c=50)",
        num: "daxd-http.get.c50",
        den: "dynalite.get.c50",
        metric: "rps",
        goal: Goal::Info,
    },
    // The DAX data plane's targets: the DAX data plane against Redis and against daxd's own HTTP GetItem.
    Check {
        what: "DAX cache-hit GetItem p50 / Redis GET p50 (c=1)",
        num: "dax.get-hit.c1",
        den: "redis.get.c1",
        metric: "p50_us",
        goal: Goal::AtMost(1.5),
    },
    Check {
        what: "DAX cache-hit GetItem p50 / Redis GET mean (c=1)",
        num: "dax.get-hit.c1",
        den: "redis.get.c1",
        metric: "mean_us",
        goal: Goal::Info,
    },
    Check {
        what: "DAX cache-hit GetItem p50 / Redis GET 1 KiB p50 (c=1)",
        num: "dax.get-hit.c1",
        den: "redis.get1k.c1",
        metric: "p50_us",
        goal: Goal::Info,
    },
    Check {
        what: "DAX cache-hit GetItem throughput / Redis GET (c=50)",
        num: "dax.get-hit.c50",
        den: "redis.get.c50",
        metric: "rps",
        goal: Goal::AtLeast(0.7),
    },
    Check {
        what: "DAX cache-hit GetItem throughput / Redis GET 1 KiB (c=50)",
        num: "dax.get-hit.c50",
        den: "redis.get1k.c50",
        metric: "rps",
        goal: Goal::Info,
    },
    Check {
        what: "DAX cache-hit GetItem p50 / daxd HTTP GetItem p50 (c=1)",
        num: "dax.get-hit.c1",
        den: "daxd-http.get.c1",
        metric: "p50_us",
        goal: Goal::AtMost(0.5),
    },
    Check {
        what: "DAX cache-hit GetItem throughput / daxd HTTP GetItem (c=50)",
        num: "dax.get-hit.c50",
        den: "daxd-http.get.c50",
        metric: "rps",
        goal: Goal::AtLeast(3.0),
    },
    Check {
        what: "DAX cache-miss GetItem p50 / daxd HTTP GetItem p50 (c=1)",
        num: "dax.get-miss.c1",
        den: "daxd-http.get.c1",
        metric: "p50_us",
        goal: Goal::Info,
    },
    Check {
        what: "DAX PutItem p50 / daxd HTTP PutItem p50 (c=1)",
        num: "dax.put.c1",
        den: "daxd-http.put.c1",
        metric: "p50_us",
        goal: Goal::Info,
    },
    Check {
        what: "DAX cache-hit Query p50 / daxd HTTP Query p50 (c=1)",
        num: "dax.query-hit.c1",
        den: "daxd-http.query.c1",
        metric: "p50_us",
        goal: Goal::Info,
    },
    // The cache-hit work's targets, every one against Redis driven by the same load code
    // (`daxd-loadgen redis`, 1 KiB values) in the same run: server CPU per request from
    // /proc/<pid>/stat of daxd and of redis-server.
    Check {
        what: "DAX cache-hit GetItem server CPU per request / Redis GET, same load code (c=50)",
        num: "dax.get-hit.c50",
        den: "redis-lg.get.c50",
        metric: "server_cpu_us_per_req",
        goal: Goal::AtMost(1.0),
    },
    Check {
        what: "DAX cache-hit GetItem throughput / Redis GET, same load code (c=50)",
        num: "dax.get-hit.c50",
        den: "redis-lg.get.c50",
        metric: "rps",
        goal: Goal::AtLeast(1.0),
    },
    Check {
        what: "DAX cache-hit GetItem p50 / Redis GET p50, same load code (c=1)",
        num: "dax.get-hit.c1",
        den: "redis-lg.get.c1",
        metric: "p50_us",
        goal: Goal::AtMost(1.05),
    },
    Check {
        what: "DAX cache-hit GetItem server CPU per request / Redis GET, same load code (c=1)",
        num: "dax.get-hit.c1",
        den: "redis-lg.get.c1",
        metric: "server_cpu_us_per_req",
        goal: Goal::Info,
    },
    Check {
        what: "DAX BatchGetItem of 100 cached keys, server CPU per request / Redis MGET of 100 (c=50)",
        num: "dax.batch-get100.c50",
        den: "redis-lg.mget100.c50",
        metric: "server_cpu_us_per_req",
        goal: Goal::AtMost(1.0),
    },
    Check {
        what: "DAX BatchGetItem of 100 cached keys p50 / Redis MGET of 100 p50 (c=1)",
        num: "dax.batch-get100.c1",
        den: "redis-lg.mget100.c1",
        metric: "p50_us",
        goal: Goal::Info,
    },
    Check {
        what: "DAX query-cache hit (10 items), server CPU per request / GetItem hit (c=50)",
        num: "dax.query10-hit.c50",
        den: "dax.get-hit.c50",
        metric: "server_cpu_us_per_req",
        goal: Goal::AtMost(1.5),
    },
    Check {
        what: "DAX query-cache hit (10 items) p50 / GetItem hit p50 (c=1)",
        num: "dax.query10-hit.c1",
        den: "dax.get-hit.c1",
        metric: "p50_us",
        goal: Goal::AtMost(1.5),
    },
    Check {
        what: "DAX cache-miss GetItem server CPU per request / daxd HTTP GetItem (c=50)",
        num: "dax.get-miss.c50",
        den: "daxd-http.get.c50",
        metric: "server_cpu_us_per_req",
        goal: Goal::AtMost(1.1),
    },
    Check {
        what: "DAX cache-miss GetItem server CPU per request / daxd HTTP GetItem (c=1)",
        num: "dax.get-miss.c1",
        den: "daxd-http.get.c1",
        metric: "server_cpu_us_per_req",
        goal: Goal::Info,
    },
    // The same at 1 connection with every process pinned to one vCPU (no cross-vCPU wake-ups).
    Check {
        what: "pinned: daxd HTTP GetItem p50 / dynoxide serve",
        num: "pinned.daxd-http.get.c1",
        den: "pinned.dynoxide-serve.get.c1",
        metric: "p50_us",
        goal: Goal::Info,
    },
    Check {
        what: "pinned: daxd HTTP GetItem p50 / in-process engine",
        num: "pinned.daxd-http.get.c1",
        den: "pinned.inproc.get.c1",
        metric: "p50_us",
        goal: Goal::Info,
    },
    Check {
        what: "pinned: DAX cache-hit GetItem p50 / Redis GET p50",
        num: "pinned.dax.get-hit.c1",
        den: "pinned.redis.get.c1",
        metric: "p50_us",
        goal: Goal::Info,
    },
    Check {
        what: "pinned: DAX cache-hit GetItem p50 / Redis GET p50, same load code",
        num: "pinned.dax.get-hit.c1",
        den: "pinned.redis-lg.get.c1",
        metric: "p50_us",
        goal: Goal::Info,
    },
    Check {
        what: "pinned: DAX cache-hit GetItem p50 / daxd HTTP GetItem p50",
        num: "pinned.dax.get-hit.c1",
        den: "pinned.daxd-http.get.c1",
        metric: "p50_us",
        goal: Goal::Info,
    },
];

/// One label's runs, summarised: the median of every numeric figure, the first value of
/// every other field, and `rounds`.
fn summarise(runs: &[Value]) -> Value {
    let mut out = serde_json::Map::new();
    if let Some(Value::Object(first)) = runs.first() {
        for (k, v) in first {
            if v.is_number() {
                let mut xs: Vec<f64> = runs.iter().filter_map(|r| num(r, k)).collect();
                xs.sort_by(f64::total_cmp);
                let m = if xs.is_empty() {
                    0.0
                } else if xs.len() % 2 == 1 {
                    xs[xs.len() / 2]
                } else {
                    (xs[xs.len() / 2 - 1] + xs[xs.len() / 2]) / 2.0
                };
                out.insert(k.clone(), serde_json::json!(m));
            } else {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out.insert("rounds".into(), serde_json::json!(runs.len()));
    Value::Object(out)
}

/// Render the report of the JSON lines in `text`.
pub fn render(text: &str) -> String {
    let mut all: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let Some(label) = v.get("label").and_then(Value::as_str).map(str::to_owned) else {
            continue;
        };
        if !all.contains_key(&label) {
            order.push(label.clone());
        }
        all.entry(label).or_default().push(v);
    }
    let runs: BTreeMap<String, Value> = all.iter().map(|(k, v)| (k.clone(), summarise(v))).collect();
    let mut out = String::new();
    let _ = writeln!(out, "Median over rounds of each figure (rounds per run in the second column).");
    let _ = writeln!(out);
    let _ = writeln!(out, "| run | rounds | conns | requests | errors | p50 µs | p99 µs | mean µs | req/s | client CPU µs/req | server CPU µs/req |");
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for label in &order {
        let v = &runs[label];
        if v.get("rss_delta_bytes").is_some() {
            continue;
        }
        let f = |k: &str| num(v, k).map_or("–".to_owned(), format_num);
        let _ = writeln!(
            out,
            "| {label} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            f("rounds"),
            f("connections"),
            f("requests"),
            f("errors"),
            f("p50_us"),
            f("p99_us"),
            f("mean_us"),
            f("rps"),
            f("client_cpu_us_per_req"),
            f("server_cpu_us_per_req")
        );
    }
    let _ = writeln!(out);
    // The comparisons whose two runs were both made (none in a mode that prints its own).
    let mut compared = String::new();
    let sweep = sweep_checks(&runs);
    let sweep_refs: Vec<&Check> = sweep.iter().collect();
    for c in CHECKS.iter().chain(sweep_refs) {
        let (Some(a), Some(b)) =
            (runs.get(c.num).and_then(|v| num(v, c.metric)), runs.get(c.den).and_then(|v| num(v, c.metric)))
        else {
            continue;
        };
        // "p50 / mean" compares the numerator's p50 with the denominator's mean.
        let a = if c.metric == "mean_us" { runs.get(c.num).and_then(|v| num(v, "p50_us")).unwrap_or(a) } else { a };
        if b == 0.0 {
            continue;
        }
        let r = a / b;
        let (target, met) = match c.goal {
            Goal::AtMost(x) => (format!("≤ {x}×"), if r <= x { "yes" } else { "**no**" }),
            Goal::AtLeast(x) => (format!("≥ {x}×"), if r >= x { "yes" } else { "**no**" }),
            Goal::Info => ("–".to_owned(), ""),
        };
        let _ = writeln!(
            compared,
            "| {} | {} | {:.2}× ({} / {}) | {target} | {met} |",
            c.what,
            c.metric,
            r,
            format_num(a),
            format_num(b)
        );
    }
    if !compared.is_empty() {
        let _ = writeln!(out, "| comparison | metric | value | target | met |");
        let _ = writeln!(out, "|---|---|---:|---|---|");
        out.push_str(&compared);
    }
    for label in &order {
        let v = &runs[label];
        let Some(items) = num(v, "items") else {
            continue;
        };
        if v.get("rss_delta_bytes").is_none() || items == 0.0 {
            continue;
        }
        let rss = num(v, "rss_delta_bytes").unwrap_or(0.0) / items;
        let est = num(v, "estimated_db_size_delta").unwrap_or(0.0) / items;
        // The cache-size sweep's target is 1700 bytes at every size; the older figure's 2048.
        let limit = if label.starts_with("sweep.") { 1700.0 } else { 2048.0 };
        let _ = writeln!(
            out,
            "| memory per cached {} B item, process RSS ({label}, {} items) | bytes | {} | ≤ {limit} | {} |",
            format_num(num(v, "item_bytes").unwrap_or(0.0)),
            format_num(items),
            format_num(rss),
            if rss <= limit { "yes" } else { "**no**" }
        );
        let _ = writeln!(
            out,
            "| memory per cached item, EstimatedDbSize ({label}) | bytes | {} | (daxd's own estimate) | |",
            format_num(est)
        );
    }
    conns_lines(&mut out, &order, &runs);
    out
}

/// The many-connections runs (`mode` `dax-open`): errors, p99 and RSS per idle connection.
fn conns_lines(out: &mut String, order: &[String], runs: &BTreeMap<String, Value>) {
    for label in order {
        let v = &runs[label];
        if v.get("mode").and_then(Value::as_str) != Some("dax-open") {
            continue;
        }
        let conns = format_num(num(v, "connections").unwrap_or(0.0));
        let errors = num(v, "errors").unwrap_or(0.0);
        let p99 = num(v, "p99_us").unwrap_or(0.0);
        let ok = |b: bool| if b { "yes" } else { "**no**" };
        let _ = writeln!(
            out,
            "| {label}: {conns} connections, errors | count | {} | = 0 | {} |",
            format_num(errors),
            ok(errors == 0.0)
        );
        let _ = writeln!(
            out,
            "| {label}: {conns} connections, p99 | µs | {} | ≤ 5000 | {} |",
            format_num(p99),
            ok(p99 <= 5000.0)
        );
        if let Some(rss) = num(v, "rss_per_idle_conn_bytes") {
            let _ = writeln!(
                out,
                "| {label}: server RSS per idle connection | bytes | {} | (measured) | |",
                format_num(rss)
            );
        }
        if let Some(late) = num(v, "late_sends") {
            let _ = writeln!(
                out,
                "| {label}: requests sent over an interval late | count | {} | (load generator kept up if 0) | |",
                format_num(late)
            );
        }
    }
}

/// The cache-size sweep's checks: the largest size's hit p50 (1 connection) and server CPU
/// per request (50 connections) against the smallest's (`sweep.<items>.get-hit.c1/c50`).
fn sweep_checks(runs: &BTreeMap<String, Value>) -> Vec<Check> {
    let mut sizes: Vec<u64> =
        runs.keys().filter_map(|l| l.strip_prefix("sweep.")?.strip_suffix(".get-hit.c1")?.parse().ok()).collect();
    sizes.sort_unstable();
    let (Some(&small), Some(&large)) = (sizes.first(), sizes.last()) else {
        return Vec::new();
    };
    if small == large {
        return Vec::new();
    }
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    vec![
        Check {
            what: leak(format!("cache-size sweep: hit p50 at {large} items / at {small} items (c=1)")),
            num: leak(format!("sweep.{large}.get-hit.c1")),
            den: leak(format!("sweep.{small}.get-hit.c1")),
            metric: "p50_us",
            goal: Goal::AtMost(1.2),
        },
        Check {
            what: leak(format!(
                "cache-size sweep: hit server CPU per request at {large} items / at {small} items (c=50)"
            )),
            num: leak(format!("sweep.{large}.get-hit.c50")),
            den: leak(format!("sweep.{small}.get-hit.c50")),
            metric: "server_cpu_us_per_req",
            goal: Goal::AtMost(1.2),
        },
    ]
}

fn format_num(x: f64) -> String {
    if x.abs() >= 100.0 || x.fract() == 0.0 {
        format!("{:.0}", x)
    } else {
        format!("{:.1}", x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_and_verdicts() {
        let text = r#"{"label":"dax.get-hit.c1","connections":1,"p50_us":60,"rps":100}
{"label":"redis.get.c1","connections":1,"p50_us":40,"mean_us":55,"rps":100}
{"label":"redis.get.c1","connections":1,"p50_us":50,"mean_us":55,"rps":100}
{"label":"redis.get.c1","connections":1,"p50_us":70,"mean_us":55,"rps":100}
{"label":"dax.memory","items":1000,"item_bytes":1024,"rss_delta_bytes":1500000,"estimated_db_size_delta":1200000}"#;
        let r = render(text);
        assert!(
            r.contains("| DAX cache-hit GetItem p50 / Redis GET p50 (c=1) | p50_us | 1.20× (60 / 50) | ≤ 1.5× | yes |"),
            "{r}"
        );
        assert!(r.contains("| 1500 | ≤ 2048 | yes |"), "{r}");
        assert!(r.contains("| comparison | metric |"), "{r}");
    }

    #[test]
    fn no_comparison_table_without_a_comparison() {
        // The node-host mode prints its own ratios: no empty comparison table above them.
        let r = render(
            r#"{"label":"host.inctl.get-hit.c1","connections":1,"p50_us":20,"rps":100}
{"label":"host.onhost.get-hit.c1","connections":1,"p50_us":21,"rps":100}"#,
        );
        assert!(r.contains("| host.onhost.get-hit.c1 |"), "{r}");
        assert!(!r.contains("| comparison | metric |"), "{r}");
    }

    #[test]
    fn new_targets_sweep_and_many_connections() {
        let text = r#"{"label":"dax.get-hit.c50","connections":50,"p50_us":900,"rps":40000,"server_cpu_us_per_req":9}
{"label":"redis-lg.get.c50","connections":50,"p50_us":800,"rps":50000,"server_cpu_us_per_req":10}
{"label":"dax.batch-get100.c50","connections":50,"server_cpu_us_per_req":120}
{"label":"redis-lg.mget100.c50","connections":50,"server_cpu_us_per_req":100}
{"label":"sweep.10000.get-hit.c1","connections":1,"p50_us":20,"server_cpu_us_per_req":10}
{"label":"sweep.5000000.get-hit.c1","connections":1,"p50_us":23,"server_cpu_us_per_req":10}
{"label":"sweep.10000.get-hit.c50","connections":50,"p50_us":20,"server_cpu_us_per_req":10}
{"label":"sweep.5000000.get-hit.c50","connections":50,"p50_us":20,"server_cpu_us_per_req":13}
{"label":"sweep.5000000.memory","items":1000,"item_bytes":1024,"rss_delta_bytes":1800000,"estimated_db_size_delta":1200000}
{"label":"conns.10000","mode":"dax-open","connections":10000,"errors":0,"p99_us":6000,"rss_per_idle_conn_bytes":33000,"late_sends":0}"#;
        let r = render(text);
        for want in [
            "| DAX cache-hit GetItem server CPU per request / Redis GET, same load code (c=50) | server_cpu_us_per_req | 0.90× (9 / 10) | ≤ 1× | yes |",
            "| DAX cache-hit GetItem throughput / Redis GET, same load code (c=50) | rps | 0.80× (40000 / 50000) | ≥ 1× | **no** |",
            "| DAX BatchGetItem of 100 cached keys, server CPU per request / Redis MGET of 100 (c=50) | server_cpu_us_per_req | 1.20× (120 / 100) | ≤ 1× | **no** |",
            "| cache-size sweep: hit p50 at 5000000 items / at 10000 items (c=1) | p50_us | 1.15× (23 / 20) | ≤ 1.2× | yes |",
            "| cache-size sweep: hit server CPU per request at 5000000 items / at 10000 items (c=50) | server_cpu_us_per_req | 1.30× (13 / 10) | ≤ 1.2× | **no** |",
            "| 1800 | ≤ 1700 | **no** |",
            "| conns.10000: 10000 connections, errors | count | 0 | = 0 | yes |",
            "| conns.10000: 10000 connections, p99 | µs | 6000 | ≤ 5000 | **no** |",
            "| conns.10000: server RSS per idle connection | bytes | 33000 | (measured) | |",
        ] {
            assert!(r.contains(want), "missing {want}\n{r}");
        }
    }
}
