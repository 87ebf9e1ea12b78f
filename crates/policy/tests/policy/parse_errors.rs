//! Grammar validation: documents IAM rejects, with the message IAM returns,
//! and documents it accepts. The managed-policy rows (`CreatePolicy`) follow
//! the behaviour moto and LocalStack recorded against IAM.

use policy::{
    parse, parse_managed, parse_resource_policy, parse_trust_policy, policy_size, MalformedKind, MalformedPolicy,
    Policy,
};

const SYNTAX: &str = "Syntax errors in policy.";
const VERSION: &str = "Policy document must be version 2012-10-17 or greater.";
const LEGACY: &str = "The policy failed legacy parsing";
const VENDOR: &str = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.";
const ONE_COLON: &str = "Actions/Condition can contain only one colon.";
const ACTIONS: &str = "Policy statement must contain actions.";
const RESOURCES: &str = "Policy statement must contain resources.";

/// Wraps one statement object in a 2012-10-17 document.
fn v12(statement: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":{statement}}}"#)
}

fn managed_rows() -> Vec<(String, String)> {
    let s = |d: String, m: &str| (d, m.to_string());
    let bucket = "arn:aws:s3:::example_bucket";
    vec![
        s("This is not a json document".into(), SYNTAX),
        s(format!(r#"{{"Statement":{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}"}}}}"#), VERSION),
        s(format!(r#"{{"Version":"2008-10-17","Statement":{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}"}}}}"#), VERSION),
        s(format!(r#"{{"Version":"2013-10-17","Statement":{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}"}}}}"#), SYNTAX),
        s(r#"{"Version":"2012-10-17"}"#.into(), SYNTAX),
        s(r#"{"Version":"2012-10-17","Statement":["afd"]}"#.into(), SYNTAX),
        s(format!(r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}"}},"Extra field":"value"}}"#), SYNTAX),
        s(v12(&format!(r#"{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}","Extra field":"value"}}"#)), SYNTAX),
        s(format!(r#"{{"Version":"2012-10-17","Id":["cd3a324d2343d942772346-34234234423404-4c2242343242349d1642ee"],"Statement":{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}"}}}}"#), SYNTAX),
        s(format!(r#"{{"Version":"2012-10-17","Id":{{}},"Statement":{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}"}}}}"#), SYNTAX),
        s(v12(&format!(r#"{{"Effect":"invalid","Action":"s3:ListBucket","Resource":"{bucket}"}}"#)), SYNTAX),
        s(v12(&format!(r#"{{"Effect":"Allow","Action":"invalid","Resource":"{bucket}"}}"#)), VENDOR),
        s(v12(&format!(r#"{{"Effect":"Allow","NotAction":"","Resource":"{bucket}"}}"#)), VENDOR),
        s(v12(&format!(r#"{{"Effect":"Allow","Action":"a a:ListBucket","Resource":"{bucket}"}}"#)), "Vendor a a is not valid"),
        s(v12(&format!(r#"{{"Effect":"Allow","Action":"s3:List:Bucket","Resource":"{bucket}"}}"#)), ONE_COLON),
        s(v12(&format!(r#"[{{"Effect":"Allow","Action":"s3s:ListBucket","Resource":"{bucket}"}},{{"Effect":"Allow","Action":"s:3s:ListBucket","Resource":"{bucket}"}}]"#)), ONE_COLON),
        s(v12(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"invalid resource"}"#), r#"Resource invalid resource must be in ARN format or "*"."#),
        s(v12(r#"[{"Sid":"EnableDisableHongKong","Effect":"Allow","Action":["account:EnableRegion","account:DisableRegion"],"Resource":"","Condition":{"StringEquals":{"account:TargetRegion":"ap-east-1"}}},{"Sid":"ViewConsole","Effect":"Allow","Action":["aws-portal:ViewAccount","account:ListRegions"],"Resource":""}]"#), r#"Resource  must be in ARN format or "*"."#),
        s(v12(r#"{"Effect":"Allow","Action":"s:3:ListBucket","Resource":"sdfsadf"}"#), r#"Resource sdfsadf must be in ARN format or "*"."#),
        s(v12(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":["adf"]}"#), r#"Resource adf must be in ARN format or "*"."#),
        s(v12(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":""}"#), r#"Resource  must be in ARN format or "*"."#),
        s(v12(r#"{"Effect":"Allow","NotAction":"s3s:ListBucket","Resource":"a:bsdfdsafsad"}"#), r#"Partition "bsdfdsafsad" is not valid for resource "arn:bsdfdsafsad:*:*:*:*"."#),
        s(v12(r#"{"Effect":"Allow","NotAction":"s3s:ListBucket","Resource":"a:b:cadfsdf"}"#), r#"Partition "b" is not valid for resource "arn:b:cadfsdf:*:*:*"."#),
        s(v12(r#"{"Effect":"Allow","NotAction":"s3s:ListBucket","Resource":"a:b:c:d:e:f:g:h"}"#), r#"Partition "b" is not valid for resource "arn:b:c:d:e:f:g:h"."#),
        s(v12(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"aws:s3:::example_bucket"}"#), r#"Partition "s3" is not valid for resource "arn:s3:::example_bucket:*"."#),
        s(v12(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":["arn:error:s3:::example_bucket","arn:error:s3::example_bucket"]}"#), r#"Partition "error" is not valid for resource "arn:error:s3:::example_bucket"."#),
        s(r#"{"Version":"2012-10-17","Statement":[]}"#.into(), SYNTAX),
        s(v12(r#"{"Effect":"Allow","Action":"s3:ListBucket"}"#), RESOURCES),
        s(v12(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":[]}"#), RESOURCES),
        s(v12(r#"{"Effect":"Allow","Action":"invalid"}"#), VENDOR),
        s(v12(&format!(r#"{{"Effect":"Allow","Resource":"{bucket}"}}"#)), ACTIONS),
        s(v12(&format!(r#"{{"Action":"s3:ListBucket","Resource":"{bucket}"}}"#)), SYNTAX),
        s(v12(r#"{"Effect":"Allow"}"#), ACTIONS),
        s(v12(&format!(r#"{{"Effect":"Allow","Action":[],"Resource":"{bucket}"}}"#)), ACTIONS),
        s(v12(&format!(r#"[{{"Effect":"Deny"}},{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}"}}]"#)), ACTIONS),
        s(v12(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:iam:::example_bucket"}"#), r#"IAM resource path must either be "*", root, or start with user/, federated-user/, role/, group/, instance-profile/, mfa/, server-certificate/, policy/, sms-mfa/, saml-provider/, oidc-provider/, report/, access-report/."#),
        s(v12(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3::example_bucket"}"#), LEGACY),
        s(v12(r#"{"Effect":"Allow","Resource":"arn:aws:s3::example_bucket"}"#), LEGACY),
        s(v12(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws"}"#), "Resource vendor must be fully qualified and cannot contain regexes."),
        s(v12(&format!(r#"{{"Effect":"Allow","Action":"s3:ListBucket","Resource":{{"a":"{bucket}"}}}}"#)), SYNTAX),
        s(v12(r#"{"Effect":"Deny","Action":"s3:ListBucket","Resource":["adfdf",{}]}"#), SYNTAX),
        s(v12(&format!(r#"{{"Effect":"Allow","NotAction":"s3:ListBucket","Resource":"{bucket}","NotResource":[]}}"#)), SYNTAX),
        s(v12(&format!(r#"{{"Effect":"Deny","Action":[[]],"Resource":"{bucket}"}}"#)), SYNTAX),
        s(v12(&format!(r#"{{"Effect":"Allow","NotAction":"s3s:ListBucket","Action":[],"Resource":"{bucket}"}}"#)), SYNTAX),
        s(v12(&format!(r#"{{"Effect":"Allow","Action":{{}},"Resource":"{bucket}"}}"#)), SYNTAX),
        s(v12(&format!(r#"{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}","Condition":[]}}"#)), SYNTAX),
        s(v12(&format!(r#"{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}","Condition":"a"}}"#)), SYNTAX),
        s(v12(&format!(r#"{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}","Condition":{{"a":"b"}}}}"#)), SYNTAX),
        s(v12(&format!(r#"{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}","Condition":{{"DateGreaterThan":"b"}}}}"#)), SYNTAX),
        s(v12(&format!(r#"{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}","Condition":{{"DateGreaterThan":[]}}}}"#)), SYNTAX),
        s(v12(&format!(r#"{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}","Condition":{{"DateGreaterThan":{{"a":{{}}}}}}}}"#)), SYNTAX),
        s(v12(&format!(r#"{{"Effect":"Allow","Resource":"{bucket}","Condition":{{"DateGreaterThan":{{"a":{{}}}}}}}}"#)), SYNTAX),
        s(v12(&format!(r#"{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}","Condition":{{"x":{{"a":"1"}}}}}}"#)), SYNTAX),
        s(v12(&format!(r#"{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}","Condition":{{"ForAnyValue::StringEqualsIfExists":{{"a":"asf"}}}}}}"#)), SYNTAX),
        s(v12(&format!(r#"{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}","Condition":[{{"ForAllValues:StringEquals":{{"aws:TagKeys":"Department"}}}}]}}"#)), SYNTAX),
        s(v12(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:iam:us-east-1::example_bucket"}"#), "IAM resource arn:aws:iam:us-east-1::example_bucket cannot contain region information."),
        s(v12(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:us-east-1::example_bucket"}"#), "Resource arn:aws:s3:us-east-1::example_bucket can not contain region information."),
        s(v12(&format!(r#"{{"Sid":{{}},"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}"}}"#)), SYNTAX),
        s(v12(&format!(r#"{{"Sid":[],"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}"}}"#)), SYNTAX),
        s(v12(&format!(r#"[{{"Sid":"sdf","Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}"}},{{"Sid":"sdf","Effect":"Allow"}}]"#)), "Statement IDs (SID) in a single policy must be unique."),
        s(format!(r#"{{"Statement":[{{"Sid":"sdf","Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}"}},{{"Sid":"sdf","Effect":"Allow"}}]}}"#), VERSION),
        s(v12(&format!(r#"{{"Effect":"Allow","NotAction":"s3:ListBucket","Action":"iam:dsf","Resource":"{bucket}"}}"#)), SYNTAX),
        s(v12(&format!(r#"{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}","NotResource":"*"}}"#)), SYNTAX),
        s(v12(&format!(r#"{{"Effect":"denY","Action":"s3:ListBucket","Resource":"{bucket}"}}"#)), LEGACY),
        s(v12(&format!(r#"{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}","Condition":{{"DateGreaterThan":{{"a":"sdfdsf"}}}}}}"#)), LEGACY),
        s(format!(r#"{{"Statement":{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}","Condition":{{"DateGreaterThan":{{"a":"sdfdsf"}}}}}}}}"#), VERSION),
        s(format!(r#"{{"Statement":{{"Effect":"denY","Action":"s3:ListBucket","Resource":"{bucket}"}}}}"#), VERSION),
        s(v12(r#"{"Effect":"Allow","Condition":{"DateGreaterThan":{"a":"sdfdsf"}}}"#), LEGACY),
        s(v12(r#"{"Effect":"Allow","NotAction":"s3:ListBucket","Resource":"arn:aws::::example_bucket"}"#), LEGACY),
        s(v12(r#"{"Effect":"allow","Resource":"arn:aws:s3:us-east-1::example_bucket"}"#), LEGACY),
        s(v12(&format!(r#"[{{"Sid":"sdf","Effect":"aLLow","Action":"s3:ListBucket","Resource":"{bucket}"}},{{"Sid":"sdf","Effect":"Allow"}}]"#)), LEGACY),
        s(v12(r#"{"Effect":"Allow","Action":"s3:ListBucket","NotResource":"arn:aws:s3::example_bucket"}"#), LEGACY),
        s(v12(&format!(r#"{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}","Condition":{{"DateLessThanEquals":{{"a":"234-13"}}}}}}"#)), LEGACY),
        s(v12(&format!(r#"{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}","Condition":{{"DateLessThanEquals":{{"a":"2016-12-13t2:00:00.593194+1"}}}}}}"#)), LEGACY),
        s(v12(&format!(r#"{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}","Condition":{{"DateLessThanEquals":{{"a":"2016-12-13t2:00:00.1999999999+10:59"}}}}}}"#)), LEGACY),
        s(v12(&format!(r#"{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}","Condition":{{"DateLessThan":{{"a":"9223372036854775808"}}}}}}"#)), LEGACY),
        s(v12(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:error:s3:::example_bucket","Condition":{"DateGreaterThan":{"a":"sdfdsf"}}}"#), LEGACY),
        s(v12(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws::fdsasf"}"#), LEGACY),
        // Beyond moto's list: rules from the IAM User Guide.
        s(v12(&format!(r#"{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}","Condition":{{"StringEqualz":{{"aws:username":"bob"}}}}}}"#)), SYNTAX),
        s(v12(&format!(r#"{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}","Condition":{{"NullIfExists":{{"aws:username":"true"}}}}}}"#)), SYNTAX),
        s(v12(&format!(r#"{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}","Condition":{{"StringEquals":{{"aws:username":null}}}}}}"#)), SYNTAX),
        s(v12(&format!(r#"{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}","Principal":"*"}}"#)), "Policy document should not specify a principal."),
        s(v12(&format!(r#"{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}","NotPrincipal":{{"AWS":"123456789012"}}}}"#)), "Policy document should not specify a principal."),
        s(v12(&format!(r#"{{"Sid":"has space","Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}"}}"#)), "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"),
        s(v12(&format!(r#"{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}","Condition":{{"DateGreaterThan":{{"aws:CurrentTime":"${{aws:TokenIssueTime}}"}}}}}}"#)), LEGACY),
    ]
}

#[test]
fn managed_policy_rejections() {
    let mut failures = Vec::new();
    let rows = managed_rows();
    for (doc, want) in &rows {
        match parse_managed(doc) {
            Ok(_) => failures.push(format!("accepted: {doc}")),
            Err(e) if e.message != *want => failures.push(format!("{doc}\n   want: {want}\n   got:  {}", e.message)),
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{} of {} rows failed:\n{}", failures.len(), rows.len(), failures.join("\n"));
    assert!(rows.len() >= 80);
}

fn valid_managed() -> Vec<String> {
    let bucket = "arn:aws:s3:::example_bucket";
    let mut v: Vec<String> = [
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":["arn:aws:s3:::example_bucket"]}"#,
        r#"{"Effect":"Allow","Action":"iam: asdf safdsf af ","Resource":"arn:aws:s3:::example_bucket"}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":["arn:aws:s3:::example_bucket","*"]}"#,
        r#"{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::example_bucket"}"#,
        r#"[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"}]"#,
        r#"{"Effect":"Allow","Action":"service-prefix:action-name","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2017-07-01T00:00:00Z"},"DateLessThan":{"aws:CurrentTime":"2017-12-31T23:59:59Z"}}}"#,
        r#"{"Effect":"Allow","Action":"fsx:ListBucket","Resource":"arn:aws:s3:::example_bucket"}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:iam:::user/example_bucket"}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s33:::example_bucket"}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:fdsasf"}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{}}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":"Department"}}}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:cloudwatch:us-east-1::example_bucket"}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:ec2:us-east-1::example_bucket"}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:invalid-service:::example_bucket"}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:invalid-service:us-east-1::example_bucket"}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"DateGreaterThan":{}}}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"DateGreaterThan":{"a":[]}}}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"a":{}}}"#,
        r#"{"Sid":"dsfsdfsdfsdfsdfsadfsd","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"}"#,
        r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/${aws:username}/*"}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"NumericLessThanEquals":{"s3:max-keys":10},"Bool":{"aws:SecureTransport":true}}}"#,
        r#"{"Effect":"Allow","Action":"ec2:*","Resource":"*","Condition":{"ForAnyValue:StringLikeIfExists":{"aws:TagKeys":["a*","b?"]},"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:DB8::/32"]}}}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws-cn:s3:::example_bucket"}"#,
        r#"{"Effect":"Deny","NotAction":["iam:*","sts:*"],"NotResource":"arn:aws:s3:::b/*"}"#,
        r#"{"Sid":"","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"}"#,
        r#"{"Effect":"Allow","Action":"iam:GetUser","Resource":"arn:aws:iam::123456789012:root"}"#,
        r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:us-west-2:123456789012:accesspoint/ap/object/*"}"#,
    ]
    .iter()
    .map(|s| v12(s))
    .collect();
    v.push(format!(r#"{{"Version":"2012-10-17","Id":"pid","Statement":{{"Effect":"Allow","Action":"s3:*","Resource":"{bucket}"}}}}"#));
    v
}

/// Reading (a) of docs/iam-evaluation.md: a `${...}` before the fifth colon of a
/// resource ARN is not a policy variable ("Policy variables", "Resource element":
/// "You can't use a variable to replace parts of the ARN before the fifth colon",
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-resourceelement),
/// so the grammar checks see it as plain text, every `:` in it counting as a
/// field separator, exactly as evaluation does: region text in an IAM or S3 ARN
/// is rejected, and in `arn:aws:iam::${aws:PrincipalAccount}:user/x` the fifth
/// colon is the one inside `${aws:`, so the IAM resource path is
/// `PrincipalAccount}:user/x` and is rejected. Other services' ARNs accept such
/// text, and the entry then matches no resource (the `variables` rows of
/// `evaluation.rs`).
#[test]
fn variable_before_the_fifth_colon_is_plain_field_text() {
    let path = "IAM resource path must either be \"*\", root, or start with user/, federated-user/, role/, group/, instance-profile/, mfa/, server-certificate/, policy/, sms-mfa/, saml-provider/, oidc-provider/, report/, access-report/.";
    let rejected = [
        (
            "arn:aws:iam:${aws:RequestedRegion}:123456789012:user/x",
            "IAM resource arn:aws:iam:${aws:RequestedRegion}:123456789012:user/x cannot contain region information.",
        ),
        (
            "arn:aws:s3:${aws:RequestedRegion}::b",
            "Resource arn:aws:s3:${aws:RequestedRegion}::b can not contain region information.",
        ),
        ("arn:aws:iam::${aws:PrincipalAccount}:user/x", path),
    ];
    for (arn, message) in rejected {
        let d = v12(&format!(r#"{{"Effect":"Allow","Action":"*","Resource":"{arn}"}}"#));
        for p in [parse(&d), parse_managed(&d)] {
            assert_eq!(p.expect_err(arn).message, message);
        }
    }
    for arn in [
        "arn:aws:dynamodb:${aws:RequestedRegion}:123456789012:table/x",
        "arn:aws:dynamodb:us-east-1:${aws:PrincipalAccount}:table/x",
        "arn:aws:iam::123456789012:user/${aws:username}",
    ] {
        let d = v12(&format!(r#"{{"Effect":"Allow","Action":"*","Resource":"{arn}"}}"#));
        parse_managed(&d).unwrap_or_else(|e| panic!("{arn}: {}", e.message));
    }
}

#[test]
fn managed_policy_acceptances() {
    for doc in valid_managed() {
        if let Err(e) = parse_managed(&doc) {
            panic!("rejected ({}): {doc}", e.message);
        }
    }
}

#[test]
fn inline_policies_accept_older_versions() {
    let bucket = "arn:aws:s3:::example_bucket";
    for doc in [
        format!(r#"{{"Statement":{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}"}}}}"#),
        format!(
            r#"{{"Version":"2008-10-17","Statement":[{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"{bucket}"}}]}}"#
        ),
    ] {
        let p = parse(&doc).expect("inline policy without 2012 version");
        assert!(!p.supports_variables());
    }
}

fn err(r: Result<Policy, MalformedPolicy>) -> MalformedPolicy {
    match r {
        Ok(p) => panic!("unexpectedly accepted: {p:?}"),
        Err(e) => e,
    }
}

#[test]
fn precise_kinds_and_details() {
    let e = err(parse(&v12(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Actions":"x"}"#)));
    assert_eq!(e.kind, MalformedKind::UnknownField("Actions".into()));
    assert_eq!(e.message, SYNTAX);
    assert_eq!(e.detail(), "Unknown field Actions");

    let e = err(parse(&v12(
        r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEqualz":{"a:b":"c"}}}"#,
    )));
    assert_eq!(e.kind, MalformedKind::InvalidConditionType("StringEqualz".into()));
    assert_eq!(e.detail(), "Invalid Condition type : StringEqualz");

    let e = err(parse(&v12(r#"{"Effect":"Permit","Action":"s3:*","Resource":"*"}"#)));
    assert_eq!(e.detail(), "Invalid effect: Permit");

    let e = err(parse(&v12(r#"{"Action":"s3:*","Resource":"*"}"#)));
    assert_eq!(e.detail(), "Missing required field Effect");

    let e = err(parse(r#"{"Version":"2012-10-17"}"#));
    assert_eq!(e.detail(), "Missing required field Statement");

    let e = err(parse(&v12(r#"{"Effect":"Allow","Action":"CreateUser","Resource":"*"}"#)));
    assert_eq!(e.kind, MalformedKind::InvalidAction);
    assert_eq!(e.to_string(), VENDOR);
}

#[test]
fn resource_policy_rules() {
    let e = err(parse_resource_policy(&v12(r#"{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"*"}"#)));
    assert_eq!(e.message, "Missing required field Principal");
    assert_eq!(e.kind, MalformedKind::MissingField("Principal"));

    let e = err(parse_resource_policy(&v12(
        r#"{"Effect":"Allow","Principal":{"AWS":"foo"},"Action":"dynamodb:GetItem","Resource":"*"}"#,
    )));
    assert_eq!(e.message, r#"Invalid principal in policy: "AWS":"foo""#);
    let e = err(parse_resource_policy(&v12(
        r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/*"},"Action":"s3:*","Resource":"*"}"#,
    )));
    assert_eq!(e.kind, MalformedKind::InvalidPrincipal);
    let e = err(parse_resource_policy(&v12(
        r#"{"Effect":"Allow","Principal":{"Service":"dax"},"Action":"s3:*","Resource":"*"}"#,
    )));
    assert_eq!(e.message, r#"Invalid principal in policy: "SERVICE":"dax""#);
    let e = err(parse_resource_policy(&v12(
        r#"{"Effect":"Allow","Principal":{"Robot":"x"},"Action":"s3:*","Resource":"*"}"#,
    )));
    assert_eq!(e.message, SYNTAX);
    let e =
        err(parse_resource_policy(&v12(r#"{"Effect":"Allow","Principal":"someone","Action":"s3:*","Resource":"*"}"#)));
    assert_eq!(e.message, SYNTAX);
    let e = err(parse_resource_policy(&v12(r#"{"Effect":"Allow","Principal":"*","Action":"s3:*"}"#)));
    assert_eq!(e.message, RESOURCES);

    // Resource policies allow SIDs with spaces (S3 / DynamoDB style); the
    // principal forms AWS documents are accepted.
    let p = parse_resource_policy(&v12(
        r#"[{"Sid":"Allow read by the app","Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::123456789012:root","arn:aws:iam::123456789012:role/App","arn:aws:sts::123456789012:assumed-role/App/s","AROAEXAMPLEROLEID1234"]},"Action":"dynamodb:GetItem","Resource":"*"},
            {"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:user/bob"},"Action":"s3:*","Resource":"arn:aws:s3:::b/*"},
            {"Effect":"Allow","Principal":{"Service":["sns.amazonaws.com","dax.amazonaws.com"],"CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},"Action":"sqs:SendMessage","Resource":"*"}]"#,
    ))
    .expect("valid resource policy");
    assert_eq!(p.statements.len(), 3);
    assert!(p.statements[1].principal.as_ref().is_some_and(|pr| pr.negated));
}

#[test]
fn trust_policy_rules() {
    let dax = r#"{"Version":"2012-10-17","Statement":[{"Action":["sts:AssumeRole"],"Effect":"Allow","Principal":{"Service":["dax.amazonaws.com"]}}]}"#;
    let p = parse_trust_policy(dax).expect("the trust policy IAM writes for the DAX SLR");
    assert!(p.statements[0].resource.is_none());

    let e = err(parse_trust_policy(&v12(
        r#"{"Effect":"Allow","Principal":{"Service":"dax.amazonaws.com"},"Action":"sts:AssumeRole","Resource":"*"}"#,
    )));
    assert_eq!(e.message, "Has prohibited field Resource.");
    let e = err(parse_trust_policy(&v12(
        r#"{"Effect":"Allow","Principal":{"Service":"dax.amazonaws.com"},"Action":"s3:GetObject"}"#,
    )));
    assert_eq!(
        e.message,
        "Trust Policy statement actions can only be sts:AssumeRole, sts:AssumeRoleWithSAML,  and sts:AssumeRoleWithWebIdentity"
    );
    let e = err(parse_trust_policy(&v12(r#"{"Effect":"Allow","Action":"sts:AssumeRole"}"#)));
    assert_eq!(e.message, "Missing required field Principal");
    let e = err(parse_trust_policy(&v12(r#"{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"sts:AssumeRole"}"#)));
    assert_eq!(e.message, r#"Invalid principal in policy: "AWS":"bob""#);
    let e = err(parse_trust_policy(&v12(
        r#"{"Sid":"not ok","Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"}"#,
    )));
    assert_eq!(e.kind, MalformedKind::InvalidSid);

    for ok in [
        r#"{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":"sts:AssumeRoleWithWebIdentity"}"#,
        r#"{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:saml-provider/Okta"},"Action":["sts:AssumeRoleWithSAML","sts:TagSession"]}"#,
        r#"{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-123"}}}"#,
        r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:*"}"#,
    ] {
        parse_trust_policy(&v12(ok)).unwrap_or_else(|e| panic!("rejected ({}): {ok}", e.message));
    }
}

#[test]
fn aws_managed_documents_parse() {
    let dax_slr_policy = r#"{
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": [
                "ec2:AuthorizeSecurityGroupIngress", "ec2:CreateNetworkInterface", "ec2:CreateSecurityGroup",
                "ec2:DeleteNetworkInterface", "ec2:DeleteSecurityGroup", "ec2:DescribeAvailabilityZones",
                "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets",
                "ec2:DescribeVpcs", "ec2:ModifyNetworkInterfaceAttribute", "ec2:RevokeSecurityGroupIngress"
            ],
            "Resource": "*"
        }]
    }"#;
    let p = parse_managed(dax_slr_policy).expect("DAXServiceRolePolicy");
    assert_eq!(p.statements[0].action.patterns().len(), 12);
}

#[test]
fn size_quotas() {
    assert_eq!(policy::MAX_MANAGED_POLICY_SIZE, 6144);
    assert_eq!(policy::MAX_USER_INLINE_POLICY_SIZE, 2048);
    assert_eq!(policy::MAX_ROLE_INLINE_POLICY_SIZE, 10240);
    assert_eq!(policy::MAX_GROUP_INLINE_POLICY_SIZE, 5120);
    assert_eq!(policy::MAX_TRUST_POLICY_SIZE, 2048);
    assert_eq!(policy_size("{ \"a\" :\n\t\"b c\" }"), 10);
    assert_eq!(policy_size(""), 0);
}

#[test]
fn numbers_and_booleans_are_coerced() {
    let p = parse(&v12(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":[10, 2.5]},"Bool":{"aws:SecureTransport":false}}}"#))
        .expect("typed condition values");
    let values: Vec<&str> =
        p.statements[0].conditions.iter().flat_map(|c| c.values.iter().map(String::as_str)).collect();
    assert!(values.contains(&"10") && values.contains(&"2.5") && values.contains(&"false"), "{values:?}");
}
