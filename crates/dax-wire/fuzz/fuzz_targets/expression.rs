//! Compiled expressions: decode, render to DynamoDB text, re-encode.
#![no_main]

use dax_wire::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let l = Limits::default();
    if let Ok(c) = ConditionExpression::decode(data, &l) {
        let _ = ExpressionWriter::new().condition(&c, "c");
        assert_eq!(ConditionExpression::decode(&c.encode(), &l).ok(), Some(c));
    }
    if let Ok(u) = UpdateExpression::decode(data, &l) {
        let _ = ExpressionWriter::new().update(&u, "u");
        assert_eq!(UpdateExpression::decode(&u.encode(), &l).ok(), Some(u));
    }
    if let Ok(p) = ProjectionExpression::decode(data, &l) {
        let _ = ExpressionWriter::new().projection(&p);
        assert_eq!(ProjectionExpression::decode(&p.encode(), &l).ok(), Some(p));
    }
});
