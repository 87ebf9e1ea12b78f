//! The console's `Cookie` headers, CSRF tokens, `Origin`/`Referer` checks, the sign-in
//! page's `next` target, and the field an API error message points at.
//!
//! The input is NUL-separated: cookie headers (split at `\n`), a submitted CSRF token,
//! `Host`, `Origin`/`Referer`, `next`.
//!
//! Invariants: a session id found is a well-formed token that appears in a header; a
//! `next` accepted stays under the console; a CSRF token is accepted only if it is
//! the session's.
#![no_main]

use console::fuzzing::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut f = text.split('\0');
    let mut next = || f.next().unwrap_or("");
    let cookies = next();
    let (token, host, source, target) = (next(), next(), next(), next());

    for header in cookies.split('\n') {
        if let Some(v) = cookie_value(header, COOKIE) {
            assert!(is_token(v));
            assert!(header.contains(v));
        }
    }
    if let Some(id) = session_cookie(cookies.split('\n')) {
        assert!(is_token(id));
    }

    let session = Session {
        id: "0".repeat(64),
        csrf: "ab".repeat(32),
        principal: None,
        created: 0.0,
        expires: 1.0,
        last_seen: 0.0,
        region: "us-east-1".into(),
        flash: None,
    };
    assert_eq!(csrf_ok(&session, Some(token)), token == session.csrf);
    assert!(!csrf_ok(&session, None));

    let host = (!host.is_empty()).then_some(host);
    let source = (!source.is_empty()).then_some(source);
    let same = origin_matches(host, source);
    if host.is_none() {
        assert!(same);
    }

    let _ = field_of_error(target, token, &[("name", &["ClusterName", "cluster"]), ("node_type", &["NodeType"])]);

    for base in ["/console", "", "/a/b"] {
        if let Some(n) = next_target(base, Some(target)) {
            assert!(n.starts_with(&format!("{base}/")));
            assert!(!n.contains("//") && !n.contains('\\'));
        }
    }
});
