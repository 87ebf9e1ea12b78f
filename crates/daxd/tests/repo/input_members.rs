//! No input member is silently dropped.
//!
//! For every operation daxd serves, every member of its input shape in the
//! botocore model must be read by the code that serves the operation, or
//! refused on purpose. This test walks the models in `models/` and the
//! translation layer in `crates/daxd/src/api/`, the only code that reads
//! operation inputs (ARCHITECTURE.md, invariant 1), in the manner of
//! rust-analyzer's tidy tests:
//!
//! * An operation is served when its name is a pattern of an arm of the
//!   service's `call` function. Its code is that arm, plus, transitively,
//!   every function of the same file (or of `simulate.rs`, for
//!   `simulate::call`) the arm calls by name.
//! * A member is read when its name appears in that code as a string literal
//!   (`i.s("RoleName")`, `i.items("Tags")`, `["Ipv6Pool", …]` for the members a
//!   handler refuses with an error) that is not an output key (`"Marker": m`,
//!   `v["Marker"] = …`). The code before `call`'s `match` (checks made for
//!   every operation, such as EC2's `DryRun`) counts for every operation.
//! * DynamoDB's inputs are not read here: daxd forwards each request whole to
//!   the backend (the embedded engine, checked against `dynoxide serve` by
//!   `./scripts/conformance`, or a remote DynamoDB), after authorizing it.
//!   The test checks that `api::dynamodb` and `dynamo` pass the input on
//!   without rebuilding it from chosen members. DynamoDB Streams' inputs are
//!   forwarded whole the same way (`api::dynamodbstreams::call` →
//!   `Backend::streams`; on the embedded engine, `dynamo`'s `streams.rs`
//!   reads every member of the four operations).
//!
//! A member that is neither read nor refused fails the test, with the
//! operation and file to fix. `ELSEWHERE` lists the few members read outside
//! the arm on purpose, each with where and why.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Members read outside the operation's arm, by design.
const ELSEWHERE: &[(&str, &str, &str, &str)] = &[
    // (service, operation, member, where it is read)
    ("sts", "AssumeRole", "RoleArn", "also by api::sts::target, for the denial's resource"),
];

/// The text of the function `name` in `src` (from `fn name` to its closing
/// brace at the start of a line), if there is one.
fn function<'a>(src: &'a str, name: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    for pat in [format!("fn {name}("), format!("fn {name}<")] {
        let mut from = 0;
        while let Some(at) = src[from..].find(&pat) {
            let start = from + at;
            // A function is closed by a `}` at the indentation of its `fn` line.
            let line_start = src[..start].rfind('\n').map_or(0, |n| n + 1);
            let indent: String = src[line_start..start].chars().take_while(|c| *c == ' ').collect();
            let close = format!("\n{indent}}}\n");
            let end = src[start..].find(&close).map_or(src.len(), |n| start + n + close.len());
            out.push(&src[start..end]);
            from = end;
        }
    }
    out
}

/// Names called as functions in `code` (`name(` not after `.` or `::`, or
/// `simulate::name(`), with the file each resolves in.
fn calls(code: &str) -> BTreeSet<(bool, String)> {
    let bytes = code.as_bytes();
    let mut out = BTreeSet::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'(' {
            let mut j = i;
            while j > 0 && (bytes[j - 1].is_ascii_alphanumeric() || bytes[j - 1] == b'_') {
                j -= 1;
            }
            if j < i {
                let name = &code[j..i];
                let before = &code[..j];
                if before.ends_with("simulate::") {
                    out.insert((true, name.to_owned()));
                } else if !before.ends_with('.') && !before.ends_with("::") {
                    out.insert((false, name.to_owned()));
                }
            }
        }
        i += 1;
    }
    out
}

/// The arms of `call`'s top-level `match op`, by operation name.
fn arms(call: &str) -> BTreeMap<String, String> {
    let lines: Vec<&str> = call.lines().collect();
    // Arms start at the indentation of the first line that opens with `"Op"`.
    let Some(indent) = lines.iter().find_map(|l| {
        let t = l.trim_start();
        (t.starts_with('"') && t[1..].starts_with(|c: char| c.is_ascii_uppercase())).then(|| l.len() - t.len())
    }) else {
        return BTreeMap::new();
    };
    let starts_arm = |l: &str| {
        let t = l.trim_start();
        l.len() - t.len() == indent && (t.starts_with('"') || t.starts_with("_ =>"))
    };
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut n = 0;
    while n < lines.len() {
        if !starts_arm(lines[n]) {
            n += 1;
            continue;
        }
        let mut end = n + 1;
        // An arm runs to the next arm, or to the match's closing brace.
        let outside = |l: &str| !l.trim().is_empty() && l.len() - l.trim_start().len() < indent;
        while end < lines.len() && !starts_arm(lines[end]) && !outside(lines[end]) {
            end += 1;
        }
        let text = lines[n..end].join("\n");
        let head = text.split("=>").next().unwrap_or_default();
        for op in head.split('|') {
            let op = op.trim().trim_matches('"');
            if !op.is_empty() && op.chars().all(|c| c.is_ascii_alphanumeric()) {
                out.entry(op.to_owned()).or_default().push_str(&text);
            }
        }
        n = end;
    }
    out
}

/// The code that serves `arm`: the arm and every function it reaches.
fn reach(arm: &str, file: &str, simulate: &str) -> String {
    let mut code = arm.to_owned();
    let mut seen: BTreeSet<(bool, String)> = BTreeSet::new();
    let mut todo: Vec<(bool, String)> = calls(arm).into_iter().collect();
    while let Some((in_simulate, name)) = todo.pop() {
        if !seen.insert((in_simulate, name.clone())) || (!in_simulate && name == "call") {
            continue;
        }
        for body in function(if in_simulate { simulate } else { file }, &name) {
            code.push_str(body);
            for c in calls(body) {
                // Inside simulate.rs, plain calls resolve in simulate.rs.
                todo.push((in_simulate || c.0, c.1));
            }
        }
    }
    code
}

/// `call` up to its first arm: what it does for every operation.
fn prelude(call: &str) -> &str {
    let first = call.lines().find(|l| {
        let t = l.trim_start();
        t.starts_with('"') && t[1..].starts_with(|c: char| c.is_ascii_uppercase())
    });
    first.and_then(|l| call.find(l)).map_or(call, |n| &call[..n])
}

/// Whether `code` names `member` other than as an output key.
fn reads(code: &str, member: &str) -> bool {
    let lit = format!("\"{member}\"");
    code.match_indices(&lit).any(|(at, _)| {
        let rest = code[at + lit.len()..].trim_start();
        !rest.starts_with(':') && !rest.starts_with("] =")
    })
}

fn input_members(model: &Value, op: &str) -> Vec<String> {
    let Some(shape) = model["operations"][op]["input"]["shape"].as_str() else { return Vec::new() };
    model["shapes"][shape]["members"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

#[test]
fn every_input_member_is_read_or_refused() {
    let simulate = read("crates/daxd/src/api/simulate.rs");
    let mut unread = Vec::new();
    let mut served_total = 0;
    // (handler file in `api/`, model file in `models/`): CloudWatch's model is named by its endpoint prefix.
    for (service, model_file) in [
        ("iam", "iam"),
        ("sts", "sts"),
        ("ec2", "ec2"),
        ("dax", "dax"),
        ("cloudwatch", "monitoring"),
        ("fis", "fis"),
        ("nodehost", "daxd-nodehost"),
    ] {
        let model: Value = serde_json::from_str(&read(&format!("models/{model_file}.json"))).expect("model");
        let file = read(&format!("crates/daxd/src/api/{service}.rs"));
        let call = function(&file, "call").into_iter().next().expect("a call function");
        let arms = arms(call);
        let ops = model["operations"].as_object().expect("operations");
        let served: Vec<&String> = ops.keys().filter(|op| arms.contains_key(*op)).collect();
        assert!(
            !served.is_empty(),
            "{service}: no served operation found: the walk no longer understands api/{service}.rs"
        );
        served_total += served.len();
        for op in served {
            let code = reach(&format!("{}\n{}", prelude(call), arms[op]), &file, &simulate);
            for member in input_members(&model, op) {
                let elsewhere = ELSEWHERE.iter().any(|(s, o, m, _)| *s == service && o == op && *m == member);
                if !reads(&code, &member) && !elsewhere {
                    unread.push(format!("{service}:{op}.{member} (crates/daxd/src/api/{service}.rs)"));
                }
            }
        }
    }
    assert!(served_total > 90, "only {served_total} served operations found");
    assert!(
        unread.is_empty(),
        "input members neither read nor refused by the code that serves their operation:\n  {}",
        unread.join("\n  ")
    );
}

/// DynamoDB requests reach the backend whole: the front door decodes the
/// body, `exec` authorizes it and hands the same value to the service's
/// handler, whose call passes it to `DynamoService::call` and on to the
/// backend. A handler that rebuilt the input from chosen members would drop
/// the rest, so none may.
#[test]
fn dynamodb_inputs_reach_the_backend_whole() {
    let exec = read("crates/daxd/src/exec.rs");
    assert!(exec.contains("handler.call(op, call.input, "), "exec.rs no longer passes the input on as decoded");
    let handler = read("crates/daxd/src/api/dynamodb.rs");
    assert!(
        handler.contains("self.dynamo.call(who.region, op.name(), input)"),
        "api/dynamodb.rs no longer passes the DynamoDB input on as decoded"
    );
    let dynamo = read("crates/dynamo/src/lib.rs");
    let call = function(&dynamo, "call").into_iter().next().expect("Dynamo::call");
    assert!(!call.contains("json!("), "Dynamo::call builds a new input: members could be dropped");

    // DynamoDB Streams: the same, through `api::dynamodbstreams::call` to `Backend::streams`.
    let api = read("crates/daxd/src/api/dynamodbstreams.rs");
    assert!(
        api.contains("call(&self.dynamo, who.region, op.name(), input)"),
        "api/dynamodbstreams.rs no longer passes the DynamoDB Streams input on as decoded"
    );
    let call = function(&api, "call").into_iter().next().expect("dynamodbstreams::call");
    assert!(
        call.contains("backend.streams(region, op, input)"),
        "api::dynamodbstreams::call no longer passes the input whole"
    );
    // On the engine, every member of the four operations' inputs is read.
    let model: Value = serde_json::from_str(&read("models/dynamodbstreams.json")).expect("model");
    let streams = read("crates/dynamo/src/streams.rs");
    let engine = read("crates/dynamo/src/engine.rs");
    let mut unread = Vec::new();
    for op in model["operations"].as_object().expect("operations").keys() {
        for member in input_members(&model, op) {
            // ListStreams goes to the engine as it came (its three members are dynoxide's).
            let read_by_engine = op == "ListStreams" && reads(&engine, "ListStreams");
            if !reads(&streams, &member) && !read_by_engine {
                unread.push(format!("dynamodbstreams:{op}.{member} (crates/dynamo/src/streams.rs)"));
            }
        }
    }
    assert!(
        unread.is_empty(),
        "DynamoDB Streams input members the embedded backend neither reads nor refuses:\n  {}",
        unread.join("\n  ")
    );
}

#[test]
fn the_walk_finds_arms_and_what_they_call() {
    let src = r#"
pub fn call(op: &str, i: In) -> Result<Value, AwsError> {
    match op {
        "A" => one(i.s("X")),
        "B" | "C" => {
            let y = i.o("Y");
            Ok(y)
        }
        "D"
        | "E" => simulate::call(i),
        _ => Err(x()),
    }
}

fn one(s: String) -> R {
    two(&s, "Z")
}

fn two(s: &str, k: &str) -> R {
    json!({"W": 1})
}
"#;
    let call = function(src, "call")[0];
    let arms = arms(call);
    assert_eq!(arms.keys().cloned().collect::<Vec<_>>(), ["A", "B", "C", "D", "E"]);
    let a = reach(&arms["A"], src, "fn call(i: In) { i.s(\"S\") }\n");
    assert!(a.contains("\"X\"") && a.contains("\"Z\"") && a.contains("\"W\""));
    assert!(!a.contains("\"Y\""));
    assert!(arms["C"].contains("\"Y\""));
    let d = reach(&arms["D"], src, "fn call(i: In) {\n    i.s(\"S\")\n}\n");
    assert!(d.contains("\"S\""));
    assert!(reads(&a, "X") && reads(&a, "Z") && !reads(&a, "W"), "an output key is not a read");
    assert!(!reads("v[\"M\"] = json!(1);", "M") && reads("[\"M\", \"N\"].iter()", "M"));
    assert!(prelude(call).contains("match op"));
}
