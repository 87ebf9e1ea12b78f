//! Evaluation must be total: the input is split on NUL bytes into an identity
//! policy, a resource policy, a principal ARN, an action, a resource and
//! `key=value` context lines; whatever parses is evaluated in every slot.
//! Run with `cargo +nightly fuzz run evaluate` from `crates/policy`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use policy::{evaluate, Context, Policy, PolicySet, Principal, Request};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.split('\0');
    let identity_doc = parts.next().unwrap_or("");
    let resource_doc = parts.next().unwrap_or("");
    let principal_arn = parts.next().unwrap_or("arn:aws:iam::123456789012:user/bob");
    let action = parts.next().unwrap_or("s3:GetObject");
    let resource = parts.next().unwrap_or("*");
    let mut ctx = Context::new();
    for line in parts.next().unwrap_or("").lines() {
        if let Some((k, v)) = line.split_once('=') {
            if let Some((k, rest)) = k.split_once('+') {
                ctx.set_multi(k, rest.split(',').chain(std::iter::once(v)).collect());
            } else {
                ctx.set(k, v);
            }
        }
    }

    let identity: Vec<Policy> = policy::parse(identity_doc).into_iter().collect();
    let resource_policies: Vec<Policy> = policy::parse_resource_policy(resource_doc)
        .or_else(|_| policy::parse_trust_policy(resource_doc))
        .into_iter()
        .collect();
    let id: Vec<&Policy> = identity.iter().collect();
    let res: Vec<&Policy> = resource_policies.iter().collect();

    let principals = [
        Principal::from_arn(principal_arn),
        Principal::service(principal_arn),
        Principal::anonymous(),
    ];
    for principal in &principals {
        let req = Request::new(principal, action, resource, &ctx);
        for set in [
            PolicySet {
                identity: &id,
                resource: &res,
                boundary: None,
                session: None,
            },
            PolicySet {
                identity: &id,
                resource: &res,
                boundary: Some(&id),
                session: Some(&res),
            },
        ] {
            let out = evaluate(&req, &set);
            let _ = policy::denial_message(&principal.arn, action, resource, &out);
            if let Some(p) = res
                .first()
                .and_then(|p| p.statements.first())
                .and_then(|s| s.principal.as_ref())
            {
                let _ = policy::principal_matches(p, principal);
            }
        }
    }
});
