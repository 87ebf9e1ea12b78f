//! The closed-loop runner shared by every mode: N connections, each sending one request
//! and waiting for its answer before the next (no pipelining, like `redis-benchmark -P 1`),
//! a warm-up whose samples are dropped, then a measured phase bounded by time and,
//! optionally, by a request count. Latencies are kept as raw samples and sorted at the end
//! (exact percentiles; a 10 s run at 100k req/s is 8 MB of samples).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Hard upper bounds, whatever the command line says.
pub const MAX_SECONDS: f64 = 300.0;
pub const MAX_CONNECTIONS: usize = 512;
/// The bound on connections of an open-loop run (`--interval-ms`), where each connection
/// sends one request per interval rather than as fast as it can.
pub const MAX_OPEN_CONNECTIONS: usize = 20_000;

/// What one request came back as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A success carrying what was asked for (an item, a result set, a write acknowledged).
    Ok,
    /// A success without an item (GetItem of a key that does not exist).
    Empty,
    /// An error answer or a broken connection.
    Error,
}

/// A boxed, sendable future.
pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One connection of a target.
pub trait Worker: Send + 'static {
    /// Send the request for key number `key` and wait for its answer. On `Outcome::Error`,
    /// a description of the error may be given.
    fn exec(&mut self, key: u64) -> BoxFut<'_, (Outcome, Option<String>)>;
}

/// How the run is bounded and which keys it uses.
#[derive(Debug, Clone)]
pub struct Plan {
    pub warmup: Duration,
    pub warmup_requests: Option<u64>,
    pub duration: Duration,
    pub requests: Option<u64>,
    /// Keys are `key_offset + i`: `i` cycles over `0..keys`, or, with `unique`, runs from 0
    /// and the run stops when `keys` keys have been used (each key is requested once).
    pub keys: u64,
    pub key_offset: u64,
    pub unique: bool,
    /// Keys in a pseudo-random order over `0..keys` (a fixed sequence, the same every run)
    /// instead of in turn.
    pub random: bool,
    /// A server process whose CPU time per request to report.
    pub server_pid: Option<u32>,
}

/// SplitMix64: the `i`-th number of a fixed pseudo-random sequence.
pub fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

struct Shared {
    plan: Plan,
    start: Instant,
    next_key: AtomicU64,
    warm_issued: AtomicU64,
    measuring: AtomicBool,
    measure_start: Mutex<Option<Instant>>,
    measured_issued: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl Shared {
    /// The key of the next request, or `None` when the run is over.
    /// Returns `(key, measured)`.
    fn ticket(&self) -> Option<(u64, bool, Instant)> {
        let now = Instant::now();
        if now.duration_since(self.start) > Duration::from_secs_f64(MAX_SECONDS + 60.0) {
            return None;
        }
        if !self.measuring.load(Ordering::Acquire) {
            let warm_done = match self.plan.warmup_requests {
                Some(n) => self.warm_issued.load(Ordering::Relaxed) >= n,
                None => now.duration_since(self.start) >= self.plan.warmup,
            };
            if warm_done {
                let mut ms = self.measure_start.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if ms.is_none() {
                    *ms = Some(now);
                }
                self.measuring.store(true, Ordering::Release);
            }
        }
        let measured = self.measuring.load(Ordering::Acquire);
        if measured {
            let ms = self.measure_start.lock().unwrap_or_else(std::sync::PoisonError::into_inner).unwrap_or(now);
            if now.duration_since(ms) >= self.plan.duration {
                return None;
            }
            let n = self.measured_issued.fetch_add(1, Ordering::Relaxed);
            if self.plan.requests.is_some_and(|max| n >= max) {
                return None;
            }
        } else {
            self.warm_issued.fetch_add(1, Ordering::Relaxed);
        }
        let i = self.next_key.fetch_add(1, Ordering::Relaxed);
        let key = if self.plan.unique {
            if i >= self.plan.keys {
                return None;
            }
            self.plan.key_offset + i
        } else if self.plan.random {
            self.plan.key_offset + mix(i) % self.plan.keys.max(1)
        } else {
            self.plan.key_offset + i % self.plan.keys.max(1)
        };
        Some((key, measured, now))
    }
}

#[derive(Default)]
struct Tally {
    samples_ns: Vec<u64>,
    ok: u64,
    empty: u64,
    errors: u64,
    last_done: Option<Instant>,
}

impl Tally {
    /// Add a connection's figures to the run's (the last answer is the later of the two).
    fn absorb(&mut self, t: Tally) {
        self.samples_ns.extend(t.samples_ns);
        self.ok += t.ok;
        self.empty += t.empty;
        self.errors += t.errors;
        // `None` orders before any `Some`, so this is the later answer, if any.
        self.last_done = self.last_done.max(t.last_done);
    }
}

/// The figures of one run.
#[derive(Debug, Clone)]
pub struct Summary {
    pub requests: u64,
    pub ok: u64,
    pub empty: u64,
    pub errors: u64,
    pub seconds: f64,
    pub rps: f64,
    pub mean_us: f64,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
    pub first_error: Option<String>,
    /// CPU the load generator itself used per measured request (user + system).
    pub client_cpu_us_per_req: f64,
    /// CPU the server process used per measured request (with `server_pid`).
    pub server_cpu_us_per_req: Option<f64>,
}

impl Summary {
    pub fn to_json(&self) -> Value {
        json!({
            "requests": self.requests, "ok": self.ok, "empty": self.empty, "errors": self.errors,
            "seconds": round(self.seconds, 3), "rps": round(self.rps, 1),
            "mean_us": round(self.mean_us, 1), "p50_us": round(self.p50_us, 1), "p90_us": round(self.p90_us, 1),
            "p99_us": round(self.p99_us, 1), "p999_us": round(self.p999_us, 1), "max_us": round(self.max_us, 1),
            "client_cpu_us_per_req": round(self.client_cpu_us_per_req, 1),
            "server_cpu_us_per_req": self.server_cpu_us_per_req.map(|x| round(x, 1)),
            "first_error": self.first_error,
        })
    }
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// Process CPU time (user + system) in microseconds, from `/proc/self/stat`.
pub fn process_cpu_us() -> f64 {
    cpu_us_of("self")
}

/// Clock ticks per second of `/proc/<pid>/stat`'s CPU times (`getconf CLK_TCK`; 100 if
/// that cannot be run).
pub fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|t| t.trim().parse::<f64>().ok())
            .filter(|t| *t > 0.0)
            .unwrap_or(100.0)
    })
}

/// Resident set size of process `pid` in bytes (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib =
        s.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.trim().trim_end_matches("kB").trim().parse::<u64>().ok()?;
    Some(kib * 1024)
}

/// CPU time (user + system) of process `pid` (`"self"` for this one) in microseconds,
/// from `/proc/<pid>/stat` (in clock ticks, see [`clock_ticks`]).
pub fn cpu_us_of(pid: &str) -> f64 {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses and may hold spaces).
    let Some(rest) = s.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime is field 14, stime 15.
    let ticks = |i: usize| f.get(i - 3).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(14) + ticks(15)) * 1e6 / clock_ticks()
}

/// Run `workers` under `plan`.
pub async fn run<W: Worker>(plan: Plan, workers: Vec<W>) -> Summary {
    let shared = Arc::new(Shared {
        plan,
        start: Instant::now(),
        next_key: AtomicU64::new(0),
        warm_issued: AtomicU64::new(0),
        measuring: AtomicBool::new(false),
        measure_start: Mutex::new(None),
        measured_issued: AtomicU64::new(0),
        first_error: Mutex::new(None),
    });
    // (this process, the server) CPU microseconds when the measured phase began.
    let cpu_before = Arc::new(Mutex::new(None::<(f64, f64)>));
    let server = shared.plan.server_pid.map(|p| p.to_string());
    let mut tasks = Vec::with_capacity(workers.len());
    for mut w in workers {
        let shared = Arc::clone(&shared);
        let cpu_before = Arc::clone(&cpu_before);
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            let mut t = Tally::default();
            while let Some((key, measured, t0)) = shared.ticket() {
                if measured {
                    let mut c = cpu_before.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    if c.is_none() {
                        *c = Some((process_cpu_us(), server.as_deref().map_or(0.0, cpu_us_of)));
                    }
                }
                let (outcome, err) = w.exec(key).await;
                let done = Instant::now();
                if let Some(e) = err {
                    let mut fe = shared.first_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    if fe.is_none() {
                        *fe = Some(e);
                    }
                }
                if !measured {
                    if outcome == Outcome::Error {
                        // A target failing during warm-up fails the run the same way.
                        t.errors += 1;
                    }
                    continue;
                }
                t.samples_ns.push(u64::try_from(done.duration_since(t0).as_nanos()).unwrap_or(u64::MAX));
                t.last_done = Some(done);
                match outcome {
                    Outcome::Ok => t.ok += 1,
                    Outcome::Empty => t.empty += 1,
                    Outcome::Error => {
                        t.errors += 1;
                        // A broken connection would spin: stop this one.
                        if t.errors > 1000 {
                            break;
                        }
                    }
                }
            }
            t
        }));
    }
    let mut all = Tally::default();
    for task in tasks {
        if let Ok(t) = task.await {
            all.absorb(t);
        }
    }
    let cpu_after = process_cpu_us();
    let server_after = server.as_deref().map(cpu_us_of);
    let ms = shared.measure_start.lock().unwrap_or_else(std::sync::PoisonError::into_inner).unwrap_or(shared.start);
    let seconds = all.last_done.map_or(0.0, |d| d.duration_since(ms).as_secs_f64());
    let n = all.samples_ns.len();
    let before = *cpu_before.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let cpu = before.map_or(0.0, |(b, _)| cpu_after - b);
    let server_cpu = match (before, server_after) {
        (Some((_, b)), Some(a)) if n > 0 => Some((a - b) / n as f64),
        _ => None,
    };
    let first_error = shared.first_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    summarise(all, seconds, cpu, server_cpu, first_error)
}

/// The figures of a run from its tally: `seconds` measured, `client_cpu_us` used by this
/// process over them, the server's CPU per request.
fn summarise(
    all: Tally,
    seconds: f64,
    client_cpu_us: f64,
    server_cpu: Option<f64>,
    first_error: Option<String>,
) -> Summary {
    let mut s = all.samples_ns;
    s.sort_unstable();
    let n = s.len();
    let pct = |p: f64| -> f64 {
        if n == 0 {
            return 0.0;
        }
        // Nearest-rank percentile.
        let rank = ((p / 100.0) * n as f64).ceil() as usize;
        s[rank.clamp(1, n) - 1] as f64 / 1000.0
    };
    let mean = if n == 0 { 0.0 } else { s.iter().map(|&x| x as f64).sum::<f64>() / n as f64 / 1000.0 };
    Summary {
        requests: n as u64,
        ok: all.ok,
        empty: all.empty,
        errors: all.errors,
        seconds,
        rps: if seconds > 0.0 { n as f64 / seconds } else { 0.0 },
        mean_us: mean,
        p50_us: pct(50.0),
        p90_us: pct(90.0),
        p99_us: pct(99.0),
        p999_us: pct(99.9),
        max_us: s.last().map_or(0.0, |&x| x as f64 / 1000.0),
        first_error,
        client_cpu_us_per_req: if n > 0 { client_cpu_us / n as f64 } else { 0.0 },
        server_cpu_us_per_req: server_cpu,
    }
}

/// How an open-loop run is paced and bounded.
#[derive(Debug, Clone)]
pub struct OpenPlan {
    /// Each connection sends one request every `interval`, the connections' send times
    /// spread evenly over it.
    pub interval: Duration,
    pub warmup: Duration,
    pub duration: Duration,
    /// Key numbers `key_offset..key_offset+keys`, in turn over all connections.
    pub keys: u64,
    pub key_offset: u64,
    pub server_pid: Option<u32>,
}

/// The figures of an open-loop run beyond [`Summary`]'s.
#[derive(Debug, Clone, Default)]
pub struct OpenExtra {
    /// Requests sent more than one interval after their scheduled time (the connection's
    /// previous request was still waiting, or this process could not keep up).
    pub late: u64,
}

/// Run `workers` open-loop under `plan`: every worker sends a request every interval
/// (not waiting for a free connection: a connection whose previous answer has not come
/// back by then sends as soon as it has, and the request counts as late). Latency is taken
/// from the send. The server's CPU is sampled when the measured phase starts and after the
/// last answer.
pub async fn run_open<W: Worker>(plan: OpenPlan, workers: Vec<W>) -> (Summary, OpenExtra) {
    let n_workers = workers.len().max(1) as u32;
    let start = tokio::time::Instant::now() + Duration::from_millis(50);
    let measure_start = start + plan.warmup;
    let end = measure_start + plan.duration;
    let next_key = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(Mutex::new(None::<String>));
    let late = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(workers.len());
    for (idx, mut w) in workers.into_iter().enumerate() {
        let (next_key, first_error, late) = (Arc::clone(&next_key), Arc::clone(&first_error), Arc::clone(&late));
        let plan = plan.clone();
        let phase = plan.interval * u32::try_from(idx).unwrap_or(u32::MAX) / n_workers;
        tasks.push(tokio::spawn(async move {
            let mut t = Tally::default();
            let mut due = start + phase;
            while due < end {
                tokio::time::sleep_until(due).await;
                let t0 = Instant::now();
                let measured = due >= measure_start;
                if measured && tokio::time::Instant::now().duration_since(due) > plan.interval {
                    late.fetch_add(1, Ordering::Relaxed);
                }
                let key = plan.key_offset + next_key.fetch_add(1, Ordering::Relaxed) % plan.keys.max(1);
                let (outcome, err) = w.exec(key).await;
                let done = Instant::now();
                if let Some(e) = err {
                    let mut fe = first_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    if fe.is_none() {
                        *fe = Some(e);
                    }
                }
                if measured {
                    t.samples_ns.push(u64::try_from(done.duration_since(t0).as_nanos()).unwrap_or(u64::MAX));
                    t.last_done = Some(done);
                    match outcome {
                        Outcome::Ok => t.ok += 1,
                        Outcome::Empty => t.empty += 1,
                        Outcome::Error => t.errors += 1,
                    }
                } else if outcome == Outcome::Error {
                    t.errors += 1;
                }
                due += plan.interval;
            }
            t
        }));
    }
    tokio::time::sleep_until(measure_start).await;
    let server = plan.server_pid.map(|p| p.to_string());
    let (cpu0, server0) = (process_cpu_us(), server.as_deref().map(cpu_us_of));
    let mut all = Tally::default();
    for task in tasks {
        if let Ok(t) = task.await {
            all.absorb(t);
        }
    }
    let (cpu1, server1) = (process_cpu_us(), server.as_deref().map(cpu_us_of));
    // Achieved, not offered: from the measured phase's start to the last answer (at least
    // the planned duration).
    let seconds = all
        .last_done
        .map_or(0.0, |d| d.saturating_duration_since(measure_start.into_std()).as_secs_f64())
        .max(plan.duration.as_secs_f64());
    let n = all.samples_ns.len();
    let server_cpu = match (server0, server1) {
        (Some(a), Some(b)) if n > 0 => Some((b - a) / n as f64),
        _ => None,
    };
    let fe = first_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    let summary = summarise(all, seconds, cpu1 - cpu0, server_cpu, fe);
    (summary, OpenExtra { late: late.load(Ordering::Relaxed) })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers after `delay`; every `fail_every`-th request is an error.
    struct Fake {
        delay: Duration,
        calls: u64,
        fail_every: u64,
    }

    impl Worker for Fake {
        fn exec(&mut self, _key: u64) -> BoxFut<'_, (Outcome, Option<String>)> {
            Box::pin(async move {
                tokio::time::sleep(self.delay).await;
                self.calls += 1;
                if self.calls.checked_rem(self.fail_every) == Some(0) {
                    (Outcome::Error, Some("boom".into()))
                } else {
                    (Outcome::Ok, None)
                }
            })
        }
    }

    #[test]
    fn open_loop_sends_one_request_per_interval_per_connection() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let plan = OpenPlan {
            interval: Duration::from_millis(50),
            warmup: Duration::from_millis(100),
            duration: Duration::from_millis(500),
            keys: 10,
            key_offset: 0,
            server_pid: Some(std::process::id()),
        };
        let workers: Vec<Fake> = (0..20)
            .map(|i| Fake { delay: Duration::from_millis(1), calls: 0, fail_every: if i == 0 { 5 } else { 0 } })
            .collect();
        let (s, extra) = rt.block_on(run_open(plan, workers));
        // 20 connections x 10 intervals in the measured half second.
        assert_eq!(s.requests, 200, "{s:?}");
        assert_eq!(s.errors, 2, "{s:?}");
        assert_eq!(s.ok, 198);
        assert!(s.p50_us >= 1000.0 && s.p50_us < 50_000.0, "{s:?}");
        // 200 requests over the half second plus the last answer's millisecond.
        assert!(s.rps > 380.0 && s.rps <= 400.0, "{s:?}");
        assert_eq!(extra.late, 0);
        assert!(s.server_cpu_us_per_req.is_some());
    }

    #[test]
    fn random_keys_stay_in_range_and_spread() {
        let keys = 1000;
        let seen: std::collections::HashSet<u64> = (0..10_000).map(|i| mix(i) % keys).collect();
        assert!(seen.len() > 990, "{}", seen.len());
        assert_ne!(mix(0), mix(1));
    }

    #[test]
    fn own_process_figures() {
        assert!(clock_ticks() > 0.0);
        assert!(rss_bytes(std::process::id()).is_some_and(|b| b > 0));
        assert!(process_cpu_us() >= 0.0);
    }
}
