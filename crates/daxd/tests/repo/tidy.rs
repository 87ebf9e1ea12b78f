//! The rules of ARCHITECTURE.md that can be read off the source, checked instead of
//! trusted, in the manner of rust-analyzer's `tidy.rs`:
//!
//! * `domain_crates_depend_on_no_wire_and_no_other_domain`: a domain crate's
//!   `[dependencies]` name no wire format (`wire`, `sigv4`), no HTTP stack (axum, hyper,
//!   …) and no other domain crate (invariants 1 and 2).
//! * `domain_time_and_randomness_come_from_base`: a domain crate's non-test code reads no
//!   clock and no random source of its own (invariant 4); elapsed-time measurements and
//!   the few reads that must not be deterministic are listed with their reason.
//! * `every_parser_has_a_fuzz_target`: a parser (a non-test `pub` or `pub(crate)` fn named
//!   `parse*`, `decode*`, `from_bytes*`, `from_cbor*` or `read_*frame*`) is called by some
//!   `crates/*/fuzz/fuzz_targets/*.rs`, or listed with the fuzz target that reaches it or
//!   with the reason its input is trusted (invariant 6).
//! * `cited_files_exist`: a file a doc or comment names is in the repository.
//! * `comments_say_why_not_when`: no doc or comment dates itself by a numbered session,
//!   issue, period or phase of past work; a measurement is named by its date and commit.
//! * `no_import_circles_between_files`: within a crate, no file imports (through `crate::`
//!   or `super::` paths, directly or through other files) a file that imports it.
//!
//! Each test collects every finding and fails once, with the whole list.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

/// Directories never scanned, besides hidden ones (`.git`, `.venv`, …): build output,
/// installed packages, fuzzing corpora and seeds.
const SKIP_DIRS: &[&str] = &["target", "node_modules", "__pycache__", "corpus", "artifacts", "seeds"];

/// Every file of the repository (relative, `/`-separated), outside [`SKIP_DIRS`].
fn repo_files() -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !SKIP_DIRS.contains(&name.as_str()) && !name.starts_with('.') {
                    walk(root, &path, out);
                }
            } else if let Ok(rel) = path.strip_prefix(root) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let root = root();
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out.sort();
    out
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_default()
}

fn fail_if_any(what: &str, findings: &[String]) {
    assert!(findings.is_empty(), "{what}: {} finding(s)\n  {}\n", findings.len(), findings.join("\n  "));
}

/// The crates whose code is a service's domain (ARCHITECTURE.md, the codemap). The rest of
/// `crates/` are libraries (`base`, `state`, `policy`, `wire`, `sigv4`, `dax-wire`), the
/// binary (`daxd`) and a tool (`loadgen`).
const DOMAIN: &[&str] = &["iam", "ec2", "dax-control", "dax-node", "dynamo", "console", "cloudwatch", "fis"];

/// Dependencies no domain crate may have: wire formats and HTTP stacks.
const WIRE_AND_HTTP: &[&str] =
    &["wire", "sigv4", "axum", "hyper", "hyper-util", "http-body-util", "tower", "tower-service", "http"];

/// Domain dependencies allowed on purpose: (crate, dependency, why).
const DEPENDENCY_EXCEPTIONS: &[(&str, &str, &str)] = &[
    ("dynamo", "sigv4", "its remote backend signs its calls to DynamoDB (ARCHITECTURE.md, invariant 1)"),
    ("dynamo", "hyper", "its remote backend speaks HTTP to DynamoDB (ARCHITECTURE.md, invariant 1)"),
    ("dynamo", "hyper-util", "the remote backend's HTTP client (ARCHITECTURE.md, invariant 1)"),
    ("dynamo", "http-body-util", "the remote backend's HTTP bodies (ARCHITECTURE.md, invariant 1)"),
    ("console", "axum", "the console renders its own pages as axum responses at `/console`; it still reaches daxd only through its `Host` trait"),
];

/// The names of a Cargo.toml's normal dependencies (`[dependencies]` and
/// `[target.….dependencies]`, not dev or build ones).
fn normal_dependencies(toml: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_deps = false;
    for line in toml.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            let section = line.trim_matches(|c| c == '[' || c == ']');
            in_deps =
                section == "dependencies" || (section.starts_with("target.") && section.ends_with(".dependencies"));
            continue;
        }
        if in_deps && !line.starts_with('#') {
            if let Some((name, _)) = line.split_once('=') {
                let name = name.trim();
                // `foo.workspace = true` names `foo` too.
                out.push(name.split('.').next().unwrap_or(name).trim_matches('"').to_owned());
            }
        }
    }
    out
}

#[test]
fn domain_crates_depend_on_no_wire_and_no_other_domain() {
    let mut findings = Vec::new();
    for krate in DOMAIN {
        let manifest = format!("crates/{krate}/Cargo.toml");
        let toml = read(&manifest);
        assert!(!toml.is_empty(), "{manifest} is missing: update DOMAIN in this test");
        for dep in normal_dependencies(&toml) {
            let forbidden = WIRE_AND_HTTP.contains(&dep.as_str()) || (DOMAIN.contains(&dep.as_str()) && dep != *krate);
            if forbidden && !DEPENDENCY_EXCEPTIONS.iter().any(|(c, d, _)| c == krate && *d == dep) {
                findings.push(format!("{manifest}: depends on `{dep}`"));
            }
        }
    }
    fail_if_any(
        "domain crates depend on a wire format, an HTTP stack or another domain crate \
         (ARCHITECTURE.md, invariants 1 and 2; an exception goes in DEPENDENCY_EXCEPTIONS with its reason)",
        &findings,
    );
}

/// The non-test lines of a Rust file, numbered from 1, comments cut off: items under
/// `#[cfg(test)]` are dropped (a block up to the `}` at its own indentation, or one line).
fn non_test_code(src: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut lines = src.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        if line.trim() == "#[cfg(test)]" {
            let indent = line.len() - line.trim_start().len();
            let close = format!("{}}}", " ".repeat(indent));
            for (_, item) in lines.by_ref() {
                let t = item.trim_end();
                if t.ends_with(';') && !t.ends_with('{') && item.len() - item.trim_start().len() == indent {
                    break;
                }
                if t == close {
                    break;
                }
            }
            continue;
        }
        let code = line.find("//").map_or(line, |at| &line[..at]);
        out.push((n + 1, code.to_owned()));
    }
    out
}

/// The Rust source files of a crate's `src/`, test modules (`tests.rs`, `tests/`) excluded.
fn crate_sources(files: &[String], krate: &str) -> Vec<String> {
    let prefix = format!("crates/{krate}/src/");
    files
        .iter()
        .filter(|f| f.starts_with(&prefix) && f.ends_with(".rs"))
        .filter(|f| !f.ends_with("/tests.rs") && !f[prefix.len()..].starts_with("tests/") && !f.contains("/tests/"))
        .cloned()
        .collect()
}

/// Ways to read the system clock or a random source.
const CLOCK_AND_RANDOM: &[&str] = &[
    "SystemTime::now",
    "Instant::now",
    "Utc::now",
    "Local::now",
    "OffsetDateTime::now",
    "rand::",
    "getrandom",
    "OsRng",
    "thread_rng",
    "fastrand",
    "Uuid::new_v4",
    "new_v4()",
];

/// Clock and random reads in domain crates that are not domain time or ids:
/// (crate, text of the line, why). Matched by text rather than file and line, so that the
/// entry survives code moving between files.
const CLOCK_EXCEPTIONS: &[(&str, &str, &str)] = &[
    (
        "console",
        "use rand::RngCore;",
        "session and CSRF tokens are secrets: they come from the OS's CSPRNG, never from a deterministic `base::Ids`",
    ),
    (
        "console",
        "rand::rng().fill_bytes(",
        "session and CSRF tokens are secrets: they come from the OS's CSPRNG, never from a deterministic `base::Ids`",
    ),
    (
        "dax-node",
        "(Arc::clone(&s), Instant::now())",
        "elapsed time: how long a key schema stays cached; never stored or returned",
    ),
    ("dax-node", "start: Instant::now()", "the item and query caches' TTL clock (elapsed time; manual in tests)"),
    ("dax-node", "None => Instant::now()", "the item and query caches' TTL clock (elapsed time; manual in tests)"),
    (
        "dax-node",
        "principal = Some((p, Instant::now()))",
        "elapsed time: how long a connection's authenticated principal is reused before it is checked again",
    ),
    (
        "dax-node",
        "verdict_now = Instant::now()",
        "elapsed time: how long a connection's authorization decisions are reused, and how long a check waits for one",
    ),
    (
        "dax-node",
        "Self::load_or_create_at(dir, advertise_host, SystemTime::now())",
        "certificate validity is checked by clients against their real clocks; a test clock would make certificates they refuse",
    ),
    (
        "dynamo",
        "let nanos = std::time::SystemTime::now()",
        "a unique name for a temporary snapshot file, removed before the call returns",
    ),
];

#[test]
fn domain_time_and_randomness_come_from_base() {
    let files = repo_files();
    let mut findings = Vec::new();
    for krate in DOMAIN {
        for file in crate_sources(&files, krate) {
            for (n, code) in non_test_code(&read(&file)) {
                let Some(needle) = CLOCK_AND_RANDOM.iter().find(|w| code.contains(**w)) else { continue };
                if CLOCK_EXCEPTIONS.iter().any(|(c, text, _)| c == krate && code.contains(text)) {
                    continue;
                }
                findings.push(format!("{file}:{n}: `{needle}` in `{}`", code.trim()));
            }
        }
    }
    fail_if_any(
        "domain code reads the clock or a random source outside `base` (ARCHITECTURE.md, invariant 4: domain \
         time and ids come from `base::Clock` and `base::Ids`; elapsed-time measurements go in CLOCK_EXCEPTIONS \
         with their reason)",
        &findings,
    );
}

/// Names that make a function a parser.
fn is_parser_name(name: &str) -> bool {
    ["parse", "decode", "from_bytes", "from_cbor"].iter().any(|p| name.starts_with(p))
        || (name.starts_with("read_") && name.contains("frame"))
}

/// A parser found in the source: its crate, file, enclosing type (for methods) and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Parser {
    krate: String,
    file: String,
    ty: Option<String>,
    name: String,
}

impl Parser {
    /// `crate::Type::name` or `crate::module::name`, as the lists below name it.
    fn id(&self) -> String {
        let module = Path::new(&self.file).file_stem().map_or(String::new(), |s| s.to_string_lossy().into_owned());
        match &self.ty {
            Some(ty) => format!("{}::{ty}::{}", self.krate, self.name),
            None => format!("{}::{module}::{}", self.krate, self.name),
        }
    }
}

/// The type an `impl` line is for: `impl<'a> Foo<'a> {` and `impl Trait for Foo {` give `Foo`.
fn impl_type(line: &str) -> Option<String> {
    let rest = line.strip_prefix("impl")?;
    let rest = if rest.starts_with('<') { &rest[rest.find('>')? + 1..] } else { rest };
    let rest = rest.split(" for ").last()?.trim();
    let ty: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    (!ty.is_empty()).then_some(ty)
}

/// Crates whose parsers are not checked, and why.
const PARSER_CRATES_SKIPPED: &[(&str, &str)] =
    &[("loadgen", "a benchmark tool on loopback; it parses only its own output and its command line")];

fn parsers(files: &[String]) -> Vec<Parser> {
    let mut out = Vec::new();
    for file in files {
        let Some(rest) = file.strip_prefix("crates/") else { continue };
        let Some((krate, _)) = rest.split_once('/') else { continue };
        if !file.starts_with(&format!("crates/{krate}/src/")) || !file.ends_with(".rs") {
            continue;
        }
        if PARSER_CRATES_SKIPPED.iter().any(|(c, _)| *c == krate) || !crate_sources(files, krate).contains(file) {
            continue;
        }
        let mut ty = None;
        for (_, code) in non_test_code(&read(file)) {
            if code.starts_with("impl") {
                ty = impl_type(&code);
            } else if !code.starts_with(' ') && !code.trim().is_empty() && !code.starts_with('}') {
                ty = None;
            }
            let t = code.trim_start();
            let Some(after) = ["pub fn ", "pub(crate) fn ", "pub const fn ", "pub(crate) const fn "]
                .iter()
                .find_map(|p| t.strip_prefix(p))
            else {
                continue;
            };
            let name: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if is_parser_name(&name) {
                let ty = if code.starts_with(' ') { ty.clone() } else { None };
                out.push(Parser { krate: krate.to_owned(), file: file.clone(), ty, name });
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Parsers a fuzz target reaches through another call: (parser id, fuzz target, the call
/// in that target that reaches it).
const PARSERS_REACHED: &[(&str, &str, &str)] = &[
    ("dax-wire::StreamDecoder::decode", "crates/dax-wire/fuzz/fuzz_targets/frame.rs", "StreamDecoder::new("),
    ("console::forms::parse", "crates/console/fuzz/fuzz_targets/forms.rs", "parse("),
    ("policy::condition::parse_bool", "crates/policy/fuzz/fuzz_targets/evaluate.rs", "evaluate("),
    ("policy::condition::parse_number", "crates/policy/fuzz/fuzz_targets/evaluate.rs", "evaluate("),
    ("policy::condition::parse_cidr", "crates/policy/fuzz/fuzz_targets/evaluate.rs", "evaluate("),
    ("policy::condition::parse_date", "crates/policy/fuzz/fuzz_targets/evaluate.rs", "evaluate("),
    ("policy::ConditionOperator::parse", "crates/policy/fuzz/fuzz_targets/parse_policy.rs", "policy::parse("),
    ("policy::parse::parse_document", "crates/policy/fuzz/fuzz_targets/parse_policy.rs", "policy::parse_managed("),
    ("sigv4::date::parse_iso_basic", "crates/sigv4/fuzz/fuzz_targets/verify_request.rs", "verify("),
    ("sigv4::date::parse_http_date", "crates/sigv4/fuzz/fuzz_targets/verify_request.rs", "verify("),
    ("sigv4::parse::parse", "crates/sigv4/fuzz/fuzz_targets/parse_header.rs", "parse("),
    ("wire::query::decode", "crates/wire/fuzz/fuzz_targets/query_decode.rs", "decode("),
    ("wire::timestamp::parse", "crates/wire/fuzz/fuzz_targets/json_validate.rs", "wire::validate::validate("),
    ("dax-wire::KeyType::parse", "crates/dax-wire/fuzz/fuzz_targets/keys.rs", "decode_key("),
];

/// Functions named like parsers whose input is trusted or that parse nothing: (id, why).
const PARSERS_TRUSTED: &[(&str, &str)] = &[
    (
        "dax-control::model::parse",
        "reads back the names of daxd's own enums (statuses, node types) from its own state store",
    ),
    ("dynamo::engine::decode_error", "parses nothing: it builds the error for a request that did not decode"),
];

#[test]
fn every_parser_has_a_fuzz_target() {
    let files = repo_files();
    let targets: BTreeMap<String, String> = files
        .iter()
        .filter(|f| f.starts_with("crates/") && f.contains("/fuzz/fuzz_targets/") && f.ends_with(".rs"))
        .map(|f| (f.clone(), read(f)))
        .collect();
    let generic = ["parse", "decode"];
    let mut findings = Vec::new();
    let found = parsers(&files);
    for p in &found {
        let id = p.id();
        let direct = match &p.ty {
            Some(ty) => format!("{ty}::{}(", p.name),
            None if generic.contains(&p.name.as_str()) => format!("::{}(", p.name),
            None => format!("{}(", p.name),
        };
        if targets.values().any(|t| t.contains(&direct)) {
            continue;
        }
        if PARSERS_TRUSTED.iter().any(|(t, _)| *t == id) {
            continue;
        }
        match PARSERS_REACHED.iter().find(|(r, _, _)| *r == id) {
            Some((_, target, via)) => match targets.get(*target) {
                Some(text) if text.contains(via) => {}
                Some(_) => findings.push(format!("{id} ({}): {target} no longer calls `{via}`", p.file)),
                None => findings.push(format!("{id} ({}): fuzz target {target} does not exist", p.file)),
            },
            None => findings.push(format!("{id} ({}): no fuzz target calls it", p.file)),
        }
    }
    // Entries of the lists that no longer name a parser are stale.
    let ids: BTreeSet<String> = found.iter().map(Parser::id).collect();
    for id in PARSERS_REACHED.iter().map(|r| r.0).chain(PARSERS_TRUSTED.iter().map(|t| t.0)) {
        if !ids.contains(id) {
            findings.push(format!("{id}: listed in this test, but no such parser (moved or renamed?)"));
        }
    }
    fail_if_any(
        "parsers without a fuzz target (ARCHITECTURE.md, invariant 6: add a target under crates/<crate>/fuzz, \
         or list the parser in PARSERS_REACHED or PARSERS_TRUSTED with its reason)",
        &findings,
    );
}

/// The parser list with each one's coverage, printed by
/// `cargo test -p daxd --test repo -- --ignored --nocapture parser_coverage`.
#[test]
#[ignore = "a report, not a check"]
fn parser_coverage() {
    let files = repo_files();
    for p in parsers(&files) {
        let id = p.id();
        let how = if let Some((_, why)) = PARSERS_TRUSTED.iter().find(|(t, _)| *t == id) {
            format!("trusted: {why}")
        } else if let Some((_, target, via)) = PARSERS_REACHED.iter().find(|(r, _, _)| *r == id) {
            format!("{target} via `{via}`")
        } else {
            "called by name in a fuzz target".to_owned()
        };
        println!("{id}  ({})  {how}", p.file);
    }
}

/// The files whose comments (and, for Markdown, whole text) are scanned for citations and
/// dates.
fn documented_files(files: &[String]) -> Vec<String> {
    files
        .iter()
        .filter(|f| {
            let ext = Path::new(f).extension().map_or("", |e| e.to_str().unwrap_or(""));
            matches!(ext, "md" | "rs" | "py" | "mjs" | "sh")
                || (f.starts_with("scripts/") && !f.contains('.'))
                || f.ends_with("Cargo.toml")
        })
        .filter(|f| !f.contains("/fuzz/target/") && !f.starts_with("models/"))
        .cloned()
        .collect()
}

/// The comment and documentation lines of a file, numbered from 1: all of a Markdown file;
/// `//` comments of Rust and JavaScript; `#` comments of shell, TOML and Python, and
/// Python's triple-quoted docstrings.
fn comment_lines(file: &str, text: &str) -> Vec<(usize, String)> {
    let ext = Path::new(file).extension().map_or("", |e| e.to_str().unwrap_or(""));
    let mut out = Vec::new();
    let mut in_docstring = false;
    for (n, line) in text.lines().enumerate() {
        let comment = match ext {
            "md" => Some(line),
            "rs" | "mjs" => line.find("//").map(|at| &line[at..]),
            "py" => {
                let quotes = line.matches("\"\"\"").count();
                let was = in_docstring;
                if quotes % 2 == 1 {
                    in_docstring = !in_docstring;
                }
                if was || quotes > 0 {
                    Some(line)
                } else {
                    line.find('#').map(|at| &line[at..])
                }
            }
            _ => line.trim_start().starts_with('#').then_some(line),
        };
        if let Some(c) = comment {
            out.push((n + 1, c.to_owned()));
        }
    }
    out
}

/// The extensions that make a word a file name.
const FILE_EXTENSIONS: &[&str] =
    &["md", "rs", "py", "mjs", "js", "sh", "toml", "json", "txt", "yml", "yaml", "html", "lock", "csv", "pem", "db"];

/// File-like words of a line: `name.ext` with a known extension, maybe with a path, and
/// any path into a `shared` directory or a parent directory.
fn cited_paths(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in line.split(|c: char| !(c.is_alphanumeric() || "_./@-".contains(c))) {
        let word = word.trim_end_matches('.');
        if word.is_empty() || word.starts_with('/') || word.contains("//") || word.starts_with('@') {
            continue;
        }
        let (stem, ext) = match word.rsplit_once('.') {
            Some((s, e)) => (s, e),
            None => (word, ""),
        };
        let base = stem.rsplit('/').next().unwrap_or(stem);
        let named = FILE_EXTENSIONS.contains(&ext)
            && !base.is_empty()
            && base.chars().all(|c| c.is_alphanumeric() || "_-.".contains(c));
        if named || word.starts_with("shared/") || word.starts_with("../") {
            out.push(word.to_owned());
        }
    }
    out
}

/// Files cited that are not in the repository by design: (name or path prefix, why).
const OUTSIDE_REPO: &[(&str, &str)] = &[
    ("target/", "build and run output (cargo, scripts/bench, scripts/conformance)"),
    ("target/wheels", "the wheels python/daxd builds"),
    (".venv/", "the Python tools ./scripts/test installs"),
    ("root-credentials.json", "written by daxd into its data directory on first start"),
    ("daxd-data/root-credentials.json", "written by daxd into its data directory on first start"),
    ("state.db", "daxd's state store, in its data directory"),
    ("daxd-data/", "the data directory of the README's examples"),
    ("tls/", "the TLS files daxd writes into its data directory"),
    ("ca.pem", "the TLS files daxd writes into its data directory"),
    ("ca-key.pem", "the TLS files daxd writes into its data directory"),
    ("node.pem", "the TLS files daxd writes into its data directory"),
    ("node-key.pem", "the TLS files daxd writes into its data directory"),
    ("daxd-bundle.pem", "the CA bundle the README's examples write"),
    ("PWD/", "a shell variable's expansion in the README's examples"),
    ("OUT/", "a shell variable's expansion: an output directory"),
    ("report.md", "written by scripts/bench into its output directory"),
    ("machine.txt", "written by scripts/bench into its output directory"),
    ("summary.md", "written by scripts/soak into its output directory"),
    ("service-2.json", "botocore's model files, which models/*.json are trimmed from"),
    ("app.js", "the reader's own program, in the README's examples"),
    ("app.py", "the reader's own program, in the README's examples"),
    ("Node.js", "the JavaScript runtime, not a file"),
    ("context.json", "a file of each case of AWS's SigV4 test suite, which the test reads when present"),
    ("request.txt", "files of each case of AWS's SigV4 test suite"),
    ("moto/", "moto's source, which scripts/extract-managed-policies.py reads from its wheel"),
    ("tests/__init__.py", "moto's test suite, which scripts/conformance fetches"),
    ("tests/conftest.py", "moto's test suite, which scripts/conformance fetches"),
    ("tests/markers.py", "moto's test suite, which scripts/conformance fetches"),
    ("markers.py", "moto's test suite, which scripts/conformance fetches"),
    ("tests/test_dynamodb/", "moto's test suite, which scripts/conformance fetches"),
    ("test_dynamodb_", "moto's test suite, which scripts/conformance fetches"),
    ("exceptions/test_dynamodb_", "moto's test suite, which scripts/conformance fetches"),
];

/// `p` with its `.` and `..` parts resolved; `None` when it climbs out of the repository.
fn normalize(p: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            _ => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

/// Whether `cited`, named in `file`, is a file or directory of the repository: relative to
/// the citing file, its crate, or the root, or as the end of some repository path.
fn resolves(cited: &str, file: &str, files: &BTreeSet<String>, dirs: &BTreeSet<String>) -> bool {
    let exists = |p: &str| files.contains(p) || dirs.contains(p.trim_end_matches('/'));
    let here = file.rsplit_once('/').map_or("", |(d, _)| d);
    let krate: String = file.split('/').take(2).collect::<Vec<_>>().join("/");
    let mut bases = vec![here.to_owned(), String::new()];
    if file.starts_with("crates/") {
        bases.push(krate.clone());
        bases.push(format!("{krate}/src"));
        bases.push("crates".to_owned());
    }
    if bases.iter().filter_map(|b| normalize(&format!("{b}/{cited}"))).any(|p| exists(&p)) {
        return true;
    }
    if cited.starts_with("../") || cited.starts_with("shared/") {
        return false;
    }
    let tail = format!("/{}", cited.trim_end_matches('/'));
    files.iter().chain(dirs.iter()).any(|f| f.ends_with(&tail))
}

#[test]
fn cited_files_exist() {
    let files = repo_files();
    let file_set: BTreeSet<String> = files.iter().cloned().collect();
    let mut dirs = BTreeSet::new();
    for f in &files {
        let mut d = f.as_str();
        while let Some((parent, _)) = d.rsplit_once('/') {
            dirs.insert(parent.to_owned());
            d = parent;
        }
    }
    let mut findings = Vec::new();
    for file in documented_files(&files) {
        for (n, line) in comment_lines(&file, &read(&file)) {
            for cited in cited_paths(&line) {
                // A citation that climbs out of its directory is judged by where it leads.
                let here = file.rsplit_once('/').map_or("", |(d, _)| d);
                let led_to = if cited.starts_with("../") { normalize(&format!("{here}/{cited}")) } else { None };
                let outside = |o: &str| {
                    [Some(cited.as_str()), led_to.as_deref()].into_iter().flatten().any(|c| {
                        c == o
                            || (o.ends_with(['/', '_']) && c.starts_with(o))
                            || (!o.ends_with(['/', '_']) && c.ends_with(&format!("/{o}")))
                    })
                };
                if OUTSIDE_REPO.iter().any(|(o, _)| outside(o)) {
                    continue;
                }
                if !resolves(&cited, &file, &file_set, &dirs) {
                    findings.push(format!("{file}:{n}: `{cited}`"));
                }
            }
        }
    }
    fail_if_any(
        "docs and comments cite files that are not in the repository (cite a file of the repository, or, for \
         one that lives elsewhere by design, list it in OUTSIDE_REPO with its reason)",
        &findings,
    );
}

/// Words that, followed by a number, date a comment by a period of past work.
const PERIOD_WORDS: &[&str] = &["session", "issue", "period", "phase", "sprint", "milestone", "iteration"];

/// Numbered words that are not periods of past work: (file, text of the line, why).
const WHEN_EXCEPTIONS: &[(&str, &str, &str)] = &[
    (
        "crates/policy/src/parse.rs",
        "// Phase ",
        "the numbered phases of IAM's own policy validation, in the order IAM reports their errors",
    ),
    ("docs/conformance.md", "moto issue #7595", "cites an entry of moto's issue tracker, the evidence for a choice"),
];

/// Where a line dates itself: a period word, spaces, then a number (as in "issues five and
/// six", written with digits). Punctuation between them (`Period: 1, 5 or 60 seconds`)
/// makes it something else.
fn period_of_work(line: &str) -> Option<String> {
    let lower = line.to_lowercase();
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    for (at, _) in lower.match_indices(|c: char| c.is_alphabetic()) {
        if at > 0 && lower[..at].chars().next_back().is_some_and(is_word) {
            continue;
        }
        let word: String = lower[at..].chars().take_while(|c| is_word(*c)).collect();
        let singular = word.strip_suffix('s').unwrap_or(&word);
        if !PERIOD_WORDS.contains(&word.as_str()) && !PERIOD_WORDS.contains(&singular) {
            continue;
        }
        let rest = &lower[at + word.len()..];
        let after = rest.trim_start_matches(' ');
        if after.len() == rest.len() {
            continue;
        }
        let number: String = after.trim_start_matches('#').chars().take_while(char::is_ascii_digit).collect();
        let end = after.len() - after.trim_start_matches('#').len() + number.len();
        if !number.is_empty() && !after[end..].starts_with(is_word) {
            return Some(format!("{word} {}", &after[..end]));
        }
    }
    None
}

#[test]
fn comments_say_why_not_when() {
    let files = repo_files();
    let mut findings = Vec::new();
    for file in documented_files(&files) {
        for (n, line) in comment_lines(&file, &read(&file)) {
            let Some(when) = period_of_work(&line) else { continue };
            if WHEN_EXCEPTIONS.iter().any(|(f, text, _)| *f == file && line.contains(text)) {
                continue;
            }
            findings.push(format!("{file}:{n}: \"{when}\""));
        }
    }
    fail_if_any(
        "docs and comments say when instead of why (name a measurement by its date and commit, and say why the \
         code is as it is, not which numbered period of work made it)",
        &findings,
    );
}

/// A file's module path within its crate: the crate root (`lib.rs`, `main.rs`) is empty;
/// otherwise the file's path without its extension, a `mod` file standing for its
/// directory.
fn module_of(src_rel: &str) -> Vec<String> {
    let path = src_rel.trim_end_matches(".rs");
    let mut parts: Vec<String> = path.split('/').map(str::to_owned).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    parts
}

/// The `crate::…` and `super::…` paths of one line of code, as module paths from the
/// crate root (`use crate::{a, b::c}` gives `a` and `b::c`).
fn imported_paths(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = Vec::new();
    // `super` is the parent of the file's module (for a `mod` file, of its directory's).
    let parent = module[..module.len().saturating_sub(1)].to_vec();
    for (start, base) in [("crate::", Vec::new()), ("super::", parent)] {
        let mut rest = code;
        while let Some(at) = rest.find(start) {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + start.len()..];
            if before.is_some_and(|c| ident(c) || c == ':') {
                continue;
            }
            let tails: Vec<String> = if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                group[..end].split(',').map(|s| s.trim().to_owned()).collect()
            } else {
                vec![rest.chars().take_while(|c| ident(*c) || *c == ':').collect()]
            };
            for tail in tails {
                let mut path = base.clone();
                path.extend(tail.split("::").filter(|s| !s.is_empty() && s.chars().all(ident)).map(str::to_owned));
                out.push(path);
            }
        }
    }
    out
}

/// No file of a crate imports, directly or through others, a file that imports it (the
/// files that mostly re-export, `lib.rs` and `main.rs`, and a file's own child modules,
/// which are part of it, do not count). Edges are read from `crate::` and `super::` paths
/// in non-test code.
#[test]
fn no_import_circles_between_files() {
    let files = repo_files();
    let mut findings = Vec::new();
    let crates: BTreeSet<String> = files
        .iter()
        .filter_map(|f| f.strip_prefix("crates/")?.split_once("/src/").map(|(c, _)| c.to_owned()))
        .collect();
    for krate in crates {
        let prefix = format!("crates/{krate}/src/");
        let sources = crate_sources(&files, &krate);
        let modules: BTreeMap<Vec<String>, String> =
            sources.iter().map(|f| (module_of(&f[prefix.len()..]), f.clone())).collect();
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for file in &sources {
            let rel = &file[prefix.len()..];
            let module = module_of(rel);
            if module.is_empty() {
                continue;
            }
            for (_, code) in non_test_code(&read(file)) {
                for path in imported_paths(&code, &module) {
                    // The longest prefix of the path that is a file's module.
                    let Some(target) = (1..=path.len()).rev().find_map(|n| modules.get(&path[..n])) else { continue };
                    let target_module = module_of(&target[prefix.len()..]);
                    let is_child = target_module.len() > module.len() && target_module.starts_with(&module);
                    let is_parent = module.starts_with(&target_module);
                    if target != file && !is_child && !is_parent {
                        edges.entry(file.clone()).or_default().insert(target.clone());
                    }
                }
            }
        }
        // A file on a cycle reaches itself.
        for start in edges.keys() {
            let mut seen = BTreeSet::new();
            let mut stack: Vec<(String, Vec<String>)> = vec![(start.clone(), vec![start.clone()])];
            while let Some((at, trail)) = stack.pop() {
                for next in edges.get(&at).into_iter().flatten() {
                    if next == start {
                        findings.push(trail.iter().chain([start]).cloned().collect::<Vec<_>>().join(" → "));
                    } else if seen.insert(next.clone()) {
                        stack.push((next.clone(), trail.iter().chain([next]).cloned().collect()));
                    }
                }
            }
        }
    }
    findings.sort();
    findings.dedup();
    fail_if_any("files import each other (move what both need into a third file, or behind a trait)", &findings);
}

/// The files of `models/` are botocore's models trimmed by `scripts/trim-models.py` (they
/// carry the `botocore` version they came from), never edited by hand. The one exception
/// is `models/daxd-nodehost.json`, daxd's own node-host service (docs/node-hosts.md),
/// written in botocore's format and marked by a `daxd` member instead.
#[test]
fn models_are_trimmed_botocore_but_daxds_own() {
    const OWN: &str = "models/daxd-nodehost.json";
    let mut wrong = Vec::new();
    for f in repo_files().into_iter().filter(|f| f.starts_with("models/") && f.ends_with(".json")) {
        let model: serde_json::Value = serde_json::from_str(&read(&f)).unwrap_or_default();
        let (botocore, own) = (model.get("botocore").is_some(), model.get("daxd").is_some());
        let fine = if f == OWN { own && !botocore } else { botocore && !own };
        if !fine {
            wrong.push(format!("{f}: botocore {botocore}, daxd {own}"));
        }
    }
    fail_if_any("models neither trimmed from botocore nor daxd's own node-host model", &wrong);
    let script = read("scripts/trim-models.py");
    assert!(!script.contains("daxd-nodehost"), "scripts/trim-models.py must not write daxd's own model");
}
