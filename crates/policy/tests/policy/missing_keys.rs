//! `missing_context_keys`: the simulator's `MissingContextValues`. A key is missing
//! when a statement that takes in the request (action, resource, and principal in
//! resource policies) tests it and neither the context nor the principal supplies it.

use crate::common::*;
use policy::{missing_context_keys, parse, parse_resource_policy, Context, PolicySet, Request};

const TABLE: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/Books";
const DEPT_TABLE: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/${aws:PrincipalTag/dept}";

struct Row {
    name: &'static str,
    identity: Vec<String>,
    resource: Vec<String>,
    action: &'static str,
    context: &'static [(&'static str, &'static str)],
    missing: &'static [&'static str],
}

fn rows() -> Vec<Row> {
    let ip = r#"{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#;
    let two = r#"{"StringEquals":{"dynamodb:Select":"SPECIFIC_ATTRIBUTES"},"Bool":{"aws:SecureTransport":"true"}}"#;
    vec![
        Row {
            name: "no conditions: nothing missing",
            identity: vec![allow("dynamodb:GetItem", "*")],
            resource: vec![],
            action: "dynamodb:GetItem",
            context: &[],
            missing: &[],
        },
        Row {
            name: "a tested key the request lacks",
            identity: vec![allow_if("dynamodb:GetItem", "*", ip)],
            resource: vec![],
            action: "dynamodb:GetItem",
            context: &[],
            missing: &["aws:SourceIp"],
        },
        Row {
            name: "the key given (in any case): not missing",
            identity: vec![allow_if("dynamodb:GetItem", "*", ip)],
            resource: vec![],
            action: "dynamodb:GetItem",
            context: &[("AWS:SOURCEIP", "10.1.2.3")],
            missing: &[],
        },
        Row {
            name: "given but not matching: not missing, only denied",
            identity: vec![allow_if("dynamodb:GetItem", "*", ip)],
            resource: vec![],
            action: "dynamodb:GetItem",
            context: &[("aws:SourceIp", "192.168.0.1")],
            missing: &[],
        },
        Row {
            name: "a statement for another action is not consulted",
            identity: vec![allow_if("dynamodb:PutItem", "*", ip)],
            resource: vec![],
            action: "dynamodb:GetItem",
            context: &[],
            missing: &[],
        },
        Row {
            name: "a statement for another resource is not consulted",
            identity: vec![allow_if("dynamodb:GetItem", "arn:aws:dynamodb:*:*:table/Other", ip)],
            resource: vec![],
            action: "dynamodb:GetItem",
            context: &[],
            missing: &[],
        },
        Row {
            name: "deny statements count too, each key once, sorted",
            identity: vec![
                allow_if("dynamodb:*", "*", two),
                deny_if("dynamodb:GetItem", TABLE, r#"{"Bool":{"AWS:SecureTransport":"false"}}"#),
            ],
            resource: vec![],
            action: "dynamodb:GetItem",
            context: &[],
            missing: &["aws:SecureTransport", "dynamodb:Select"],
        },
        Row {
            name: "keys the principal supplies are never missing",
            identity: vec![allow_if(
                "dynamodb:GetItem",
                "*",
                r#"{"StringEquals":{"aws:username":"bob","aws:PrincipalAccount":"123456789012"}}"#,
            )],
            resource: vec![],
            action: "dynamodb:GetItem",
            context: &[],
            missing: &[],
        },
        Row {
            name: "a resource policy naming the caller is consulted",
            identity: vec![],
            resource: vec![doc(&[rstmt(
                "Allow",
                r#"{"AWS":"arn:aws:iam::123456789012:user/bob"}"#,
                "dynamodb:GetItem",
                TABLE,
                Some(r#"{"ForAllValues:StringEquals":{"dynamodb:LeadingKeys":["bob"]}}"#),
            )])],
            action: "dynamodb:GetItem",
            context: &[],
            missing: &["dynamodb:LeadingKeys"],
        },
        Row {
            name: "a resource policy naming someone else is not",
            identity: vec![],
            resource: vec![doc(&[rstmt(
                "Allow",
                r#"{"AWS":"arn:aws:iam::123456789012:user/alice"}"#,
                "dynamodb:GetItem",
                TABLE,
                Some(r#"{"ForAllValues:StringEquals":{"dynamodb:LeadingKeys":["alice"]}}"#),
            )])],
            action: "dynamodb:GetItem",
            context: &[],
            missing: &[],
        },
        // A statement's targets with a policy variable that has no value: each
        // entry on its own matches no resource, as in `evaluate` (IAM User Guide,
        // "Policy variables with no value",
        // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-no-value).
        Row {
            name: "NotResource entry without value excludes nothing: its keys are listed",
            identity: vec![doc(&[format!(
                r#"{{"Effect":"Deny","Action":"dynamodb:GetItem","NotResource":"{DEPT_TABLE}","Condition":{{"StringNotEquals":{{"aws:PrincipalTag/dept":"ops"}}}}}}"#
            )])],
            resource: vec![],
            action: "dynamodb:GetItem",
            context: &[],
            missing: &["aws:PrincipalTag/dept"],
        },
        Row {
            name: "Resource entry without value beside a matching one: keys listed",
            identity: vec![allow_if(
                "dynamodb:GetItem",
                &format!(r#"["{DEPT_TABLE}","{TABLE}"]"#),
                r#"{"Null":{"aws:PrincipalTag/dept":"false"}}"#,
            )],
            resource: vec![],
            action: "dynamodb:GetItem",
            context: &[],
            missing: &["aws:PrincipalTag/dept"],
        },
        Row {
            name: "Resource of only an entry without value: not consulted",
            identity: vec![allow_if("dynamodb:GetItem", DEPT_TABLE, r#"{"Null":{"aws:PrincipalTag/dept":"false"}}"#)],
            resource: vec![],
            action: "dynamodb:GetItem",
            context: &[],
            missing: &[],
        },
        Row {
            name: "a variable's key alone (not a condition key) is not listed",
            identity: vec![allow_if(
                "dynamodb:GetItem",
                "*",
                r#"{"StringNotEquals":{"aws:RequestedRegion":"${aws:PrincipalTag/dept}"}}"#,
            )],
            resource: vec![],
            action: "dynamodb:GetItem",
            context: &[("aws:RequestedRegion", "us-east-1")],
            missing: &[],
        },
    ]
}

#[test]
fn missing_context_keys_table() {
    let bob = user("bob");
    for row in rows() {
        let identity: Vec<_> = row.identity.iter().map(|d| parse(d).unwrap()).collect();
        let resource: Vec<_> = row.resource.iter().map(|d| parse_resource_policy(d).unwrap()).collect();
        let identity_refs: Vec<_> = identity.iter().collect();
        let resource_refs: Vec<_> = resource.iter().collect();
        let set = PolicySet { identity: &identity_refs, resource: &resource_refs, boundary: None, session: None };
        let mut ctx = Context::new();
        for (k, v) in row.context {
            ctx.set(k, *v);
        }
        let got = missing_context_keys(&Request::new(&bob, row.action, TABLE, &ctx), &set);
        assert_eq!(got, row.missing, "{}", row.name);
    }
}
