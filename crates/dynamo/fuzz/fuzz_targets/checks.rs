//! The request rewriting and checks the embedded backend runs before (and after) the
//! engine: table ARNs replaced by names (`normalize_request`, and
//! `restore_response_keys` on the way back), and the checks of `checks.rs` (empty
//! expression maps, `BETWEEN` operands, unused placeholders, key conditions comparing
//! two attributes), which tokenise the client's expressions.
//!
//! The input is `Operation\ntoken\nbody`: the body is a DynamoDB JSON request, the
//! token what the engine would have reported after "Expected value reference".
//!
//! Invariants: normalising is idempotent; restoring the response keys gives back the
//! client's `RequestItems` keys.
#![no_main]

use dynamo::fuzzing::{after_error, before, normalize_request, restore_response_keys};
use dynamo::DynamoError;
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == b'\n');
    let (Some(op), Some(token), Some(body)) = (parts.next(), parts.next(), parts.next()) else { return };
    let (Ok(op), Ok(token)) = (std::str::from_utf8(op), std::str::from_utf8(token)) else { return };
    let Ok(original) = serde_json::from_slice::<Value>(body) else { return };

    let mut input = original.clone();
    let Ok(renamed) = normalize_request(&mut input) else { return };
    let mut again = input.clone();
    assert_eq!(normalize_request(&mut again).ok(), Some(Vec::new()), "normalising twice renames nothing");
    assert_eq!(again, input);
    if let Some(items) = input.get("RequestItems").cloned() {
        let mut out = json!({ "Responses": items });
        restore_response_keys(&mut out, &renamed);
        let keys = |v: &Value| v.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>());
        assert_eq!(keys(&out["Responses"]), keys(&original["RequestItems"]));
    }

    let _ = before(op, &input);
    for err in [
        DynamoError { code: "ResourceNotFoundException".into(), message: "Requested resource not found".into(), status: 400, extra: None },
        DynamoError {
            code: "ValidationException".into(),
            message: format!("Expected value reference (:name), got {token}"),
            status: 400,
            extra: None,
        },
    ] {
        let _ = after_error(op, &input, err);
    }
});
