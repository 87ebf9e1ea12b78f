//! ARNs as IAM reads them: principals classified from their ARN (root, user,
//! assumed role, federated user) with the role ARN derived from a session ARN, and
//! ARN patterns with wildcards matched field by field. The input is
//! `pattern\0arn`.
//!
//! Invariants: patterns render back to their text; a plain six-field ARN matches
//! itself; `*` matches everything; a wildcard never crosses one of the first five
//! fields; text and compiled matching agree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use policy::matcher::{arn_condition_match, arn_matches, compile, match_tokens, render, wildcard_match};
use policy::Principal;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (pattern, arn) = text.split_once('\0').unwrap_or((text, text));
    let tokens = compile(pattern);
    assert_eq!(render(&tokens), pattern);
    assert_eq!(wildcard_match(pattern, arn), match_tokens(&tokens, arn));
    let m = arn_matches(pattern, arn);
    assert_eq!(arn_condition_match(&tokens, arn), m && arn.splitn(6, ':').count() == 6);
    assert!(arn_matches("*", arn));
    let six = arn.splitn(6, ':').count() == 6;
    if six && !arn.contains(['*', '?']) {
        assert!(arn_matches(arn, arn), "{arn} matches itself");
    }
    if m && six && pattern.splitn(6, ':').count() == 6 {
        // Field by field: the first five fields of the pattern match those of the ARN.
        for (p, a) in pattern.splitn(6, ':').zip(arn.splitn(6, ':')).take(5) {
            assert!(wildcard_match(p, a), "field {p:?} vs {a:?}");
        }
    }

    for p in [Principal::from_arn(arn), Principal::from_arn(pattern)] {
        let _ = p.role_or_issuer_arn();
    }
    assert_eq!(Principal::from_arn(arn).arn, arn);
    let session = Principal::assumed_role(arn, None);
    if let Some(role) = session.role_or_issuer_arn() {
        assert!(role.contains(":iam::") && role.contains(":role/"));
    }
});
