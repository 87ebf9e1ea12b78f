//! A rest-json request as the front door handles it (FIS): the first line is the method,
//! the path and the query (`GET /experiments/x?maxResults=3`), the rest the body. The
//! line is also parsed as a `requestUri` template. The request is routed against the FIS
//! model's templates and its input decoded from the labels, the query and the body.
//!
//! Invariants: routing is deterministic, a routed request names an operation of the model
//! whose method it has, and what decodes is a JSON object that validation handles.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wire::restjson::{decode_request, parse_template, RestJson};
use wire::Model;

const FIS: &str = include_str!("../../../../models/fis.json");

fn models() -> &'static (Model, RestJson) {
    static M: OnceLock<(Model, RestJson)> = OnceLock::new();
    M.get_or_init(|| (Model::from_json(FIS).expect("fis"), RestJson::from_model_json(FIS).expect("fis bindings")))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (line, body) = text.split_once('\n').unwrap_or((&text, ""));
    let (method, target) = line.split_once(' ').unwrap_or(("GET", line));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if let Ok(t) = parse_template(target) {
        let _ = t.matches(path);
    }
    let (model, rest) = models();
    let routed = rest.route(method, path, query);
    assert_eq!(routed, rest.route(method, path, query), "routing is deterministic");
    let Some(routed) = routed else { return };
    assert!(routed.op.method.eq_ignore_ascii_case(method));
    assert!(model.operation(&routed.op.name).is_some());
    if let Ok(value) = decode_request(model, &routed, query, &[("x-amz-date", "x")], body.as_bytes()) {
        assert!(value.is_object());
        if let Some(shape) = &routed.op.input_shape {
            let _ = wire::validate::validate(model, shape, &value);
        }
    }
});
