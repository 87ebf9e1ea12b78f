//! Table-driven evaluation suite. Each row is one authorization question built
//! from AWS's documentation: the IAM User Guide's evaluation-logic pages,
//! condition-operator reference, policy-variable page, example policies, the
//! DynamoDB / DAX access-control pages and the DAX service-linked role.
//! Denied rows also pin the exact AWS denial tail.

use std::collections::BTreeMap;

use crate::common::*;
use time::macros::datetime;

const BOB: &str = "arn:aws:iam::123456789012:user/bob";
const APP_ROLE: &str = "arn:aws:iam::123456789012:role/AppRole";
const APP_SESSION: &str = "arn:aws:sts::123456789012:assumed-role/AppRole/s1";
const TABLE: &str = "arn:aws:dynamodb:us-west-2:123456789012:table/GameScores";
const ORDERS: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/Orders";
const CLUSTER: &str = "arn:aws:dax:us-east-1:123456789012:cache/MyCluster";
const DAX_SLR: &str = "arn:aws:iam::123456789012:role/aws-service-role/dax.amazonaws.com/AWSServiceRoleForDAX";

fn basics(t: &mut Table) {
    let f = "logic";
    t.case(f, "no policies at all: implicit deny").act("s3:GetObject").on("arn:aws:s3:::b/k").no_identity();
    t.case(f, "matching allow")
        .id(allow("s3:GetObject", "arn:aws:s3:::b/k"))
        .act("s3:GetObject")
        .on("arn:aws:s3:::b/k")
        .allow();
    t.case(f, "allow for another action")
        .id(allow("s3:PutObject", "*"))
        .act("s3:GetObject")
        .on("arn:aws:s3:::b/k")
        .no_identity();
    t.case(f, "allow and deny in one policy: deny wins")
        .id(doc(&[stmt("Allow", "s3:*", "*", None), stmt("Deny", "s3:DeleteBucket", "*", None)]))
        .act("s3:DeleteBucket")
        .on("arn:aws:s3:::b")
        .deny_identity();
    t.case(f, "allow and deny in one policy: other action allowed")
        .id(doc(&[stmt("Allow", "s3:*", "*", None), stmt("Deny", "s3:DeleteBucket", "*", None)]))
        .act("s3:GetObject")
        .on("arn:aws:s3:::b/k")
        .allow();
    t.case(f, "deny statement listed first still wins")
        .id(doc(&[stmt("Deny", "*", "*", None), stmt("Allow", "*", "*", None)]))
        .act("iam:ListUsers")
        .deny_identity();
    t.case(f, "deny in a second attached policy overrides the first's allow")
        .id(allow("*", "*"))
        .id(deny("iam:*", "*"))
        .act("iam:CreateUser")
        .on("arn:aws:iam::123456789012:user/alice")
        .deny_identity();
    t.case(f, "deny alone is an explicit deny").id(deny("iam:*", "*")).act("iam:GetUser").deny_identity();
    t.case(f, "AdministratorAccess-style allow").id(allow("*", "*")).act("dynamodb:DeleteTable").on(TABLE).allow();
    t.case(f, "deny whose condition is false does not apply")
        .id(allow("*", "*"))
        .id(deny_if("*", "*", r#"{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}"#))
        .act("dynamodb:GetItem")
        .on(TABLE)
        .ctx("aws:RequestedRegion", "us-west-2")
        .allow();
    t.case(f, "statement given as an object instead of an array")
        .id(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*"}}"#)
        .act("sqs:SendMessage")
        .on("arn:aws:sqs:us-east-1:123456789012:q")
        .allow();
    t.case(f, "2008-10-17 policy evaluates the same without variables")
        .id(r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"sns:Publish","Resource":"*"}]}"#)
        .act("sns:Publish")
        .on("arn:aws:sns:us-east-1:123456789012:t")
        .allow();
    t.case(f, "policy without Version still evaluates")
        .id(r#"{"Statement":[{"Effect":"Allow","Action":"sns:Publish","Resource":"*"}]}"#)
        .act("sns:Publish")
        .on("arn:aws:sns:us-east-1:123456789012:t")
        .allow();
    t.case(f, "group policy among several attached policies allows")
        .id(allow("s3:ListAllMyBuckets", "*"))
        .id(allow("dynamodb:ListTables", "*"))
        .act("dynamodb:ListTables")
        .allow();
    t.case(f, "Id element and Sids do not change evaluation")
        .id(r#"{"Version":"2012-10-17","Id":"p1","Statement":[{"Sid":"One","Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]}"#)
        .act("kms:Decrypt")
        .on("arn:aws:kms:us-east-1:123456789012:key/k")
        .allow();
    t.case(f, "account root needs no identity policy")
        .who(policy::Principal::root(ACCT))
        .act("iam:DeleteRole")
        .on(APP_ROLE)
        .allow();
    t.case(f, "account root is stopped by an explicit deny in a resource policy")
        .who(policy::Principal::root(ACCT))
        .res(doc(&[rstmt("Deny", r#"{"AWS":"123456789012"}"#, "dynamodb:DeleteTable", TABLE, None)]))
        .act("dynamodb:DeleteTable")
        .on(TABLE)
        .deny_resource();
    t.case(f, "another account's root still needs the resource policy")
        .who(policy::Principal::root(OTHER))
        .act("dynamodb:GetItem")
        .on(TABLE)
        .no_resource();
    t.case(f, "another account's root trusted by account id")
        .who(policy::Principal::root(OTHER))
        .trust(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}}"#)
        .act("sts:AssumeRole")
        .on(APP_ROLE)
        .allow();
    t.case(f, "role session evaluated against the role's identity policies")
        .who(session("AppRole", "s1"))
        .id(allow("dynamodb:GetItem", TABLE))
        .act("dynamodb:GetItem")
        .on(TABLE)
        .allow();
}

fn actions(t: &mut Table) {
    let f = "action";
    t.case(f, "service and action are case-insensitive")
        .id(allow("S3:getobject", "*"))
        .act("s3:GetObject")
        .on("arn:aws:s3:::b/k")
        .allow();
    t.case(f, "prefix wildcard matches")
        .id(allow("s3:Get*", "*"))
        .act("s3:GetObjectAcl")
        .on("arn:aws:s3:::b/k")
        .allow();
    t.case(f, "prefix wildcard does not match other verbs")
        .id(allow("s3:Get*", "*"))
        .act("s3:PutObject")
        .on("arn:aws:s3:::b/k")
        .no_identity();
    t.case(f, "single-character wildcard").id(allow("iam:?etUser", "*")).act("iam:GetUser").allow();
    t.case(f, "service wildcard").id(allow("ec2:*", "*")).act("ec2:RunInstances").allow();
    t.case(f, "ec2:* does not match ec2messages").id(allow("ec2:*", "*")).act("ec2messages:GetMessages").no_identity();
    t.case(f, "infix wildcard iam:*AccessKey* (create)")
        .id(allow("iam:*AccessKey*", "*"))
        .act("iam:CreateAccessKey")
        .allow();
    t.case(f, "infix wildcard iam:*AccessKey* (list)")
        .id(allow("iam:*AccessKey*", "*"))
        .act("iam:ListAccessKeys")
        .allow();
    t.case(f, "infix wildcard iam:*AccessKey* (other)")
        .id(allow("iam:*AccessKey*", "*"))
        .act("iam:CreateUser")
        .no_identity();
    t.case(f, "action list without the requested action")
        .id(allow(r#"["dax:GetItem","dax:PutItem"]"#, CLUSTER))
        .act("dax:Query")
        .on(CLUSTER)
        .no_identity();
    t.case(f, "dynamodb:GetItem does not grant dax:GetItem")
        .id(allow("dynamodb:GetItem", "*"))
        .act("dax:GetItem")
        .on(CLUSTER)
        .no_identity();
    t.case(f, "wildcard matching the whole action name").id(allow("dax:*", "*")).act("dax:DescribeClusters").allow();
}

fn not_actions(t: &mut Table) {
    let f = "notaction";
    let no_iam = doc(&[r#"{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}"#.to_string()]);
    t.case(f, "Allow NotAction iam:* grants other services").id(no_iam.clone()).act("dax:CreateCluster").allow();
    t.case(f, "Allow NotAction iam:* does not grant iam").id(no_iam).act("iam:CreateUser").no_identity();
    let region_deny = doc(&[
        stmt("Allow", "*", "*", None),
        r#"{"Sid":"DenyAllOutsideRequestedRegions","Effect":"Deny","NotAction":["cloudfront:*","iam:*","route53:*","support:*"],"Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["eu-central-1","eu-west-1"]}}}"#.to_string(),
    ]);
    t.case(f, "aws:RequestedRegion guard denies us-east-1")
        .id(region_deny.clone())
        .act("dax:CreateCluster")
        .ctx("aws:RequestedRegion", "us-east-1")
        .deny_identity();
    t.case(f, "aws:RequestedRegion guard allows eu-west-1")
        .id(region_deny.clone())
        .act("dax:CreateCluster")
        .ctx("aws:RequestedRegion", "eu-west-1")
        .allow();
    t.case(f, "aws:RequestedRegion guard exempts global iam")
        .id(region_deny.clone())
        .act("iam:CreateRole")
        .ctx("aws:RequestedRegion", "us-east-1")
        .allow();
    t.case(f, "aws:RequestedRegion guard: key absent means StringNotEquals is true")
        .id(region_deny)
        .act("dynamodb:ListTables")
        .deny_identity();
    t.case(f, "Deny NotAction s3:* blocks other services")
        .id(allow("*", "*"))
        .id(doc(&[r#"{"Effect":"Deny","NotAction":"s3:*","Resource":"*"}"#.to_string()]))
        .act("ec2:RunInstances")
        .deny_identity();
    t.case(f, "Deny NotAction s3:* leaves s3 alone")
        .id(allow("*", "*"))
        .id(doc(&[r#"{"Effect":"Deny","NotAction":"s3:*","Resource":"*"}"#.to_string()]))
        .act("s3:GetObject")
        .on("arn:aws:s3:::b/k")
        .allow();
    t.case(f, "NotAction list, case-insensitive")
        .id(doc(&[r#"{"Effect":"Allow","NotAction":["IAM:*","Organizations:*"],"Resource":"*"}"#.to_string()]))
        .act("organizations:ListAccounts")
        .no_identity();
}

fn resources(t: &mut Table) {
    let f = "resource";
    t.case(f, "exact ARN").id(allow("dynamodb:GetItem", TABLE)).act("dynamodb:GetItem").on(TABLE).allow();
    t.case(f, "object wildcard matches objects")
        .id(allow("s3:GetObject", "arn:aws:s3:::bucket/*"))
        .act("s3:GetObject")
        .on("arn:aws:s3:::bucket/a/b.txt")
        .allow();
    t.case(f, "object wildcard does not match the bucket")
        .id(allow("s3:ListBucket", "arn:aws:s3:::bucket/*"))
        .act("s3:ListBucket")
        .on("arn:aws:s3:::bucket")
        .no_identity();
    t.case(f, "resource names are case-sensitive")
        .id(allow("s3:GetObject", "arn:aws:s3:::Bucket/*"))
        .act("s3:GetObject")
        .on("arn:aws:s3:::bucket/x")
        .no_identity();
    t.case(f, "region wildcard")
        .id(allow("dynamodb:Query", "arn:aws:dynamodb:*:123456789012:table/GameScores"))
        .act("dynamodb:Query")
        .on(TABLE)
        .allow();
    t.case(f, "another account's table")
        .id(allow("dynamodb:Query", "arn:aws:dynamodb:us-west-2:999999999999:table/GameScores"))
        .act("dynamodb:Query")
        .on(TABLE)
        .no_identity();
    t.case(f, "a wildcard does not cross ARN fields")
        .id(allow("dynamodb:Query", "arn:aws:*:123456789012:*:*"))
        .act("dynamodb:Query")
        .on(TABLE)
        .no_identity();
    t.case(f, "wildcards in every field")
        .id(allow("dax:GetItem", "arn:aws:dax:*:*:cache/*"))
        .act("dax:GetItem")
        .on(CLUSTER)
        .allow();
    t.case(f, "single-character wildcard in resource")
        .id(allow("s3:GetObject", "arn:aws:s3:::logs/2024-0?.gz"))
        .act("s3:GetObject")
        .on("arn:aws:s3:::logs/2024-07.gz")
        .allow();
    t.case(f, "Resource * matches an action without resource-level permissions")
        .id(allow("dax:DescribeClusters", "*"))
        .act("dax:DescribeClusters")
        .on("*")
        .allow();
    t.case(f, "DAX docs: dax:* on a cluster ARN does not allow DescribeClusters (resource *)")
        .id(allow("dax:*", CLUSTER))
        .act("dax:DescribeClusters")
        .on("*")
        .no_identity();
    t.case(f, "second resource of a list matches")
        .id(allow("s3:GetObject", r#"["arn:aws:s3:::a/*","arn:aws:s3:::b/*"]"#))
        .act("s3:GetObject")
        .on("arn:aws:s3:::b/k")
        .allow();
    t.case(f, "resource part may contain colons")
        .id(allow("logs:PutLogEvents", "arn:aws:logs:us-east-1:123456789012:log-group:app:*"))
        .act("logs:PutLogEvents")
        .on("arn:aws:logs:us-east-1:123456789012:log-group:app:log-stream:s1")
        .allow();
    t.case(f, "table wildcard covers indexes")
        .id(allow("dynamodb:Query", "arn:aws:dynamodb:us-west-2:123456789012:table/GameScores/*"))
        .act("dynamodb:Query")
        .on("arn:aws:dynamodb:us-west-2:123456789012:table/GameScores/index/TopScores")
        .allow();
}

fn not_resources(t: &mut Table) {
    let f = "notresource";
    let except_secret =
        doc(&[r#"{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::secret/*"}"#.to_string()]);
    t.case(f, "Allow NotResource grants other objects")
        .id(except_secret.clone())
        .act("s3:GetObject")
        .on("arn:aws:s3:::public/k")
        .allow();
    t.case(f, "Allow NotResource does not grant the excluded ones")
        .id(except_secret)
        .act("s3:GetObject")
        .on("arn:aws:s3:::secret/k")
        .no_identity();
    let only_mybucket = doc(&[
        stmt("Allow", "s3:*", "*", None),
        r#"{"Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::mybucket","arn:aws:s3:::mybucket/*"]}"#
            .to_string(),
    ]);
    t.case(f, "Deny NotResource denies everything else")
        .id(only_mybucket.clone())
        .act("s3:GetObject")
        .on("arn:aws:s3:::other/k")
        .deny_identity();
    t.case(f, "Deny NotResource spares the listed bucket")
        .id(only_mybucket.clone())
        .act("s3:GetObject")
        .on("arn:aws:s3:::mybucket/k")
        .allow();
    t.case(f, "Deny NotResource spares the bucket itself")
        .id(only_mybucket)
        .act("s3:ListBucket")
        .on("arn:aws:s3:::mybucket")
        .allow();
    let self_only = doc(&[
        stmt("Allow", "iam:*AccessKey*", "*", None),
        r#"{"Effect":"Deny","Action":"iam:*AccessKey*","NotResource":"arn:aws:iam::123456789012:user/${aws:username}"}"#.to_string(),
    ]);
    t.case(f, "NotResource with a variable: own user").id(self_only.clone()).act("iam:CreateAccessKey").on(BOB).allow();
    t.case(f, "NotResource with a variable: someone else")
        .id(self_only)
        .act("iam:CreateAccessKey")
        .on("arn:aws:iam::123456789012:user/alice")
        .deny_identity();
    t.case(f, "Deny NotResource against a request on *")
        .id(allow("*", "*"))
        .id(doc(&[r#"{"Effect":"Deny","Action":"dax:*","NotResource":"arn:aws:dax:us-east-1:123456789012:cache/*"}"#
            .to_string()]))
        .act("dax:DescribeClusters")
        .on("*")
        .deny_identity();
}

fn strings(t: &mut Table) {
    let f = "string";
    let tag_admin = allow_if("iam:*", "*", r#"{"StringEquals":{"aws:PrincipalTag/job-category":"iamuser-admin"}}"#);
    t.case(f, "StringEquals on a principal tag")
        .id(tag_admin.clone())
        .act("iam:CreateUser")
        .ctx("aws:PrincipalTag/job-category", "iamuser-admin")
        .allow();
    t.case(f, "StringEquals is case-sensitive")
        .id(tag_admin.clone())
        .act("iam:CreateUser")
        .ctx("aws:PrincipalTag/job-category", "IAMUser-Admin")
        .no_identity();
    t.case(f, "StringEquals with the key missing").id(tag_admin).act("iam:CreateUser").no_identity();
    let not_hr = allow_if("s3:GetObject", "*", r#"{"StringNotEquals":{"aws:PrincipalTag/department":"HR"}}"#);
    t.case(f, "StringNotEquals with a different value")
        .id(not_hr.clone())
        .act("s3:GetObject")
        .on("arn:aws:s3:::b/k")
        .ctx("aws:PrincipalTag/department", "Eng")
        .allow();
    t.case(f, "StringNotEquals with the excluded value")
        .id(not_hr.clone())
        .act("s3:GetObject")
        .on("arn:aws:s3:::b/k")
        .ctx("aws:PrincipalTag/department", "HR")
        .no_identity();
    t.case(f, "StringNotEquals with the key missing is true")
        .id(not_hr)
        .act("s3:GetObject")
        .on("arn:aws:s3:::b/k")
        .allow();
    let ic = allow_if("ec2:RunInstances", "*", r#"{"StringEqualsIgnoreCase":{"aws:PrincipalTag/team":"Database"}}"#);
    t.case(f, "StringEqualsIgnoreCase")
        .id(ic.clone())
        .act("ec2:RunInstances")
        .ctx("aws:PrincipalTag/team", "DATABASE")
        .allow();
    t.case(f, "StringEqualsIgnoreCase mismatch")
        .id(ic)
        .act("ec2:RunInstances")
        .ctx("aws:PrincipalTag/team", "network")
        .no_identity();
    let nic = allow_if("ec2:RunInstances", "*", r#"{"StringNotEqualsIgnoreCase":{"ec2:InstanceType":"T2.MICRO"}}"#);
    t.case(f, "StringNotEqualsIgnoreCase equal in another case")
        .id(nic.clone())
        .act("ec2:RunInstances")
        .ctx("ec2:InstanceType", "t2.micro")
        .no_identity();
    t.case(f, "StringNotEqualsIgnoreCase different")
        .id(nic)
        .act("ec2:RunInstances")
        .ctx("ec2:InstanceType", "m5.large")
        .allow();
    let like = allow_if(
        "s3:ListBucket",
        "arn:aws:s3:::mybucket",
        r#"{"StringLike":{"s3:prefix":["","home/","home/David/*"]}}"#,
    );
    t.case(f, "StringLike with a trailing wildcard")
        .id(like.clone())
        .act("s3:ListBucket")
        .on("arn:aws:s3:::mybucket")
        .ctx("s3:prefix", "home/David/docs/")
        .allow();
    t.case(f, "StringLike with an empty-string value")
        .id(like.clone())
        .act("s3:ListBucket")
        .on("arn:aws:s3:::mybucket")
        .ctx("s3:prefix", "")
        .allow();
    t.case(f, "StringLike no value matches")
        .id(like)
        .act("s3:ListBucket")
        .on("arn:aws:s3:::mybucket")
        .ctx("s3:prefix", "home/Maria/")
        .no_identity();
    let q = allow_if("ec2:RunInstances", "*", r#"{"StringLike":{"ec2:InstanceType":"t?.micro"}}"#);
    t.case(f, "StringLike single-character wildcard")
        .id(q.clone())
        .act("ec2:RunInstances")
        .ctx("ec2:InstanceType", "t3.micro")
        .allow();
    t.case(f, "StringLike ? needs exactly one character")
        .id(q)
        .act("ec2:RunInstances")
        .ctx("ec2:InstanceType", "t3a.micro")
        .no_identity();
    let not_like = deny_if("s3:PutObject", "*", r#"{"StringNotLike":{"s3:x-amz-server-side-encryption":"aws:kms*"}}"#);
    t.case(f, "StringNotLike deny fires for other values")
        .id(allow("s3:*", "*"))
        .id(not_like.clone())
        .act("s3:PutObject")
        .on("arn:aws:s3:::b/k")
        .ctx("s3:x-amz-server-side-encryption", "AES256")
        .deny_identity();
    t.case(f, "StringNotLike deny spares matching values")
        .id(allow("s3:*", "*"))
        .id(not_like)
        .act("s3:PutObject")
        .on("arn:aws:s3:::b/k")
        .ctx("s3:x-amz-server-side-encryption", "aws:kms:dsse")
        .allow();
    let regions = allow_if("dynamodb:*", "*", r#"{"StringEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]}}"#);
    t.case(f, "several values are ORed")
        .id(regions.clone())
        .act("dynamodb:GetItem")
        .on(TABLE)
        .ctx("aws:RequestedRegion", "eu-west-1")
        .allow();
    t.case(f, "none of several values")
        .id(regions)
        .act("dynamodb:GetItem")
        .on(TABLE)
        .ctx("aws:RequestedRegion", "ap-south-1")
        .no_identity();
    let two_keys =
        allow_if("dax:*", "*", r#"{"StringEquals":{"aws:PrincipalTag/team":"db","aws:RequestedRegion":"us-east-1"}}"#);
    t.case(f, "several keys are ANDed (both hold)")
        .id(two_keys.clone())
        .act("dax:CreateCluster")
        .ctx("aws:PrincipalTag/team", "db")
        .ctx("aws:RequestedRegion", "us-east-1")
        .allow();
    t.case(f, "several keys are ANDed (one fails)")
        .id(two_keys)
        .act("dax:CreateCluster")
        .ctx("aws:PrincipalTag/team", "db")
        .ctx("aws:RequestedRegion", "us-west-2")
        .no_identity();
    let two_ops = allow_if(
        "ec2:StartInstances",
        "*",
        r#"{"StringEquals":{"aws:ResourceTag/env":"dev"},"StringLike":{"aws:PrincipalTag/team":"dev-*"}}"#,
    );
    t.case(f, "several operators are ANDed (both hold)")
        .id(two_ops.clone())
        .act("ec2:StartInstances")
        .ctx("aws:ResourceTag/env", "dev")
        .ctx("aws:PrincipalTag/team", "dev-web")
        .allow();
    t.case(f, "several operators are ANDed (one fails)")
        .id(two_ops)
        .act("ec2:StartInstances")
        .ctx("aws:ResourceTag/env", "prod")
        .ctx("aws:PrincipalTag/team", "dev-web")
        .no_identity();
    let nor = allow_if("sns:Publish", "*", r#"{"StringNotEquals":{"aws:RequestedRegion":["us-east-1","us-west-2"]}}"#);
    t.case(f, "negated operator with several values is a NOR")
        .id(nor.clone())
        .act("sns:Publish")
        .ctx("aws:RequestedRegion", "us-west-2")
        .no_identity();
    t.case(f, "negated operator with several values: none equal")
        .id(nor)
        .act("sns:Publish")
        .ctx("aws:RequestedRegion", "eu-west-1")
        .allow();
    t.case(f, "numeric JSON value is compared as a string")
        .id(allow_if("s3:ListBucket", "*", r#"{"StringEquals":{"s3:max-keys":10}}"#))
        .act("s3:ListBucket")
        .on("arn:aws:s3:::b")
        .ctx("s3:max-keys", "10")
        .allow();
    t.case(f, "condition key names are case-insensitive")
        .id(allow_if("sqs:*", "*", r#"{"StringEquals":{"AWS:REQUESTEDREGION":"us-east-1"}}"#))
        .act("sqs:ListQueues")
        .ctx("aws:requestedRegion", "us-east-1")
        .allow();
    // A request key with several values, tested without a set qualifier.
    // "Single-valued vs. multivalued context keys"
    // (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html)
    // says only "Multivalued context keys require a condition set operator";
    // daxd's reading (docs/iam-evaluation.md, "Readings the docs leave open"):
    // the values are one value that equals no policy value, so a positive
    // operator is false and a negated one true.
    t.case(f, "unqualified operator on a multivalued key: several values match nothing")
        .id(allow_if("ec2:CreateTags", "*", r#"{"StringEquals":{"aws:TagKeys":"env"}}"#))
        .act("ec2:CreateTags")
        .ctx_multi("aws:TagKeys", &["owner", "env"])
        .no_identity();
    t.case(f, "unqualified negated operator on a multivalued key: several values hold")
        .id(allow_if("ec2:CreateTags", "*", r#"{"StringNotEquals":{"aws:TagKeys":"env"}}"#))
        .act("ec2:CreateTags")
        .ctx_multi("aws:TagKeys", &["owner", "env"])
        .allow();
    t.case(f, "unqualified operator on a multivalued key in a Deny: several values do not deny")
        .id(allow("ec2:*", "*"))
        .id(deny_if("ec2:CreateTags", "*", r#"{"StringLike":{"aws:TagKeys":"admin*"}}"#))
        .act("ec2:CreateTags")
        .ctx_multi("aws:TagKeys", &["env", "admin"])
        .allow();
    t.case(f, "unqualified negated operator on a multivalued key in a Deny: several values deny")
        .id(allow("ec2:*", "*"))
        .id(deny_if("ec2:CreateTags", "*", r#"{"StringNotEquals":{"aws:TagKeys":["env","owner"]}}"#))
        .act("ec2:CreateTags")
        .ctx_multi("aws:TagKeys", &["env", "owner"])
        .deny_identity();
    t.case(f, "unqualified operator on a multivalued key carrying one value compares it")
        .id(allow_if("ec2:CreateTags", "*", r#"{"StringEquals":{"aws:TagKeys":"env"}}"#))
        .act("ec2:CreateTags")
        .ctx_multi("aws:TagKeys", &["env"])
        .allow();
    t.case(f, "unqualified negated operator on a multivalued key carrying one listed value")
        .id(allow_if("ec2:CreateTags", "*", r#"{"StringNotEquals":{"aws:TagKeys":"env"}}"#))
        .act("ec2:CreateTags")
        .ctx_multi("aws:TagKeys", &["env"])
        .no_identity();
    t.case(f, "unqualified operator on several values: the set qualifier form still matches")
        .id(allow_if("ec2:CreateTags", "*", r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":"env"}}"#))
        .act("ec2:CreateTags")
        .ctx_multi("aws:TagKeys", &["owner", "env"])
        .allow();
}

fn numerics(t: &mut Table) {
    let f = "numeric";
    let max_keys = allow_if("s3:ListBucket", "arn:aws:s3:::b", r#"{"NumericLessThanEquals":{"s3:max-keys":"10"}}"#);
    t.case(f, "NumericLessThanEquals at the limit")
        .id(max_keys.clone())
        .act("s3:ListBucket")
        .on("arn:aws:s3:::b")
        .ctx("s3:max-keys", "10")
        .allow();
    t.case(f, "NumericLessThanEquals above the limit")
        .id(max_keys.clone())
        .act("s3:ListBucket")
        .on("arn:aws:s3:::b")
        .ctx("s3:max-keys", "11")
        .no_identity();
    t.case(f, "NumericLessThanEquals with the key missing")
        .id(max_keys)
        .act("s3:ListBucket")
        .on("arn:aws:s3:::b")
        .no_identity();
    t.case(f, "NumericEquals compares numbers, not text")
        .id(allow_if("s3:ListBucket", "*", r#"{"NumericEquals":{"s3:max-keys":"5.0"}}"#))
        .act("s3:ListBucket")
        .on("arn:aws:s3:::b")
        .ctx("s3:max-keys", "5")
        .allow();
    let ne = allow_if("s3:ListBucket", "*", r#"{"NumericNotEquals":{"s3:max-keys":"100"}}"#);
    t.case(f, "NumericNotEquals different")
        .id(ne.clone())
        .act("s3:ListBucket")
        .on("arn:aws:s3:::b")
        .ctx_num("s3:max-keys", 5.0)
        .allow();
    t.case(f, "NumericNotEquals equal")
        .id(ne.clone())
        .act("s3:ListBucket")
        .on("arn:aws:s3:::b")
        .ctx_num("s3:max-keys", 100.0)
        .no_identity();
    t.case(f, "NumericNotEquals with the key missing is true").id(ne).act("s3:ListBucket").on("arn:aws:s3:::b").allow();
    t.case(f, "NumericLessThan")
        .id(allow_if("dynamodb:Scan", "*", r#"{"NumericLessThan":{"dynamodb:ReturnConsumedCapacity":3}}"#))
        .act("dynamodb:Scan")
        .on(TABLE)
        .ctx_num("dynamodb:ReturnConsumedCapacity", 3.0)
        .no_identity();
    t.case(f, "NumericGreaterThan with decimals")
        .id(allow_if("ec2:RunInstances", "*", r#"{"NumericGreaterThan":{"ec2:VolumeSize":"7.5"}}"#))
        .act("ec2:RunInstances")
        .ctx("ec2:VolumeSize", "8")
        .allow();
    t.case(f, "NumericGreaterThanEquals at the bound")
        .id(allow_if("ec2:RunInstances", "*", r#"{"NumericGreaterThanEquals":{"ec2:VolumeSize":8}}"#))
        .act("ec2:RunInstances")
        .ctx_num("ec2:VolumeSize", 8.0)
        .allow();
    t.case(f, "non-numeric request value never matches")
        .id(allow_if("ec2:RunInstances", "*", r#"{"NumericGreaterThan":{"ec2:VolumeSize":1}}"#))
        .act("ec2:RunInstances")
        .ctx("ec2:VolumeSize", "big")
        .no_identity();
}

fn dates(t: &mut Table) {
    let f = "date";
    let after = allow_if("dynamodb:*", "*", r#"{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}"#);
    t.case(f, "DateGreaterThan after")
        .id(after.clone())
        .act("dynamodb:GetItem")
        .on(TABLE)
        .ctx("aws:CurrentTime", "2021-06-01T12:00:00Z")
        .allow();
    t.case(f, "DateGreaterThan before")
        .id(after.clone())
        .act("dynamodb:GetItem")
        .on(TABLE)
        .ctx("aws:CurrentTime", "2019-12-31T23:59:59Z")
        .no_identity();
    t.case(f, "typed date in the context")
        .id(after)
        .act("dynamodb:GetItem")
        .on(TABLE)
        .ctx_date("aws:CurrentTime", datetime!(2024-02-29 10:00 UTC))
        .allow();
    let window = allow_if(
        "ec2:*",
        "*",
        r#"{"DateGreaterThan":{"aws:CurrentTime":"2020-04-01T00:00:00Z"},"DateLessThan":{"aws:CurrentTime":"2020-06-30T23:59:59Z"}}"#,
    );
    t.case(f, "time window (inside)")
        .id(window.clone())
        .act("ec2:StartInstances")
        .ctx("aws:CurrentTime", "2020-05-15T08:00:00Z")
        .allow();
    t.case(f, "time window (after)")
        .id(window)
        .act("ec2:StartInstances")
        .ctx("aws:CurrentTime", "2020-07-01T00:00:00Z")
        .no_identity();
    t.case(f, "epoch seconds in the policy, ISO in the request")
        .id(allow_if("kms:Decrypt", "*", r#"{"DateLessThan":{"aws:CurrentTime":"1577836800"}}"#))
        .act("kms:Decrypt")
        .on("arn:aws:kms:us-east-1:123456789012:key/k1")
        .ctx("aws:CurrentTime", "2019-12-31T00:00:00Z")
        .allow();
    t.case(f, "aws:EpochTime against an ISO policy date")
        .id(allow_if("kms:Decrypt", "*", r#"{"DateGreaterThanEquals":{"aws:EpochTime":"2020-01-01T00:00:00Z"}}"#))
        .act("kms:Decrypt")
        .on("arn:aws:kms:us-east-1:123456789012:key/k1")
        .ctx_num("aws:EpochTime", 1_577_836_800.0)
        .allow();
    t.case(f, "DateEquals same instant with offset")
        .id(allow_if("kms:Decrypt", "*", r#"{"DateEquals":{"aws:CurrentTime":"2020-01-01T01:00:00+01:00"}}"#))
        .act("kms:Decrypt")
        .ctx("aws:CurrentTime", "2020-01-01T00:00:00Z")
        .allow();
    t.case(f, "DateNotEquals")
        .id(allow_if("kms:Decrypt", "*", r#"{"DateNotEquals":{"aws:CurrentTime":"2020-01-01"}}"#))
        .act("kms:Decrypt")
        .ctx("aws:CurrentTime", "2020-01-01T00:00:00Z")
        .no_identity();
    t.case(f, "DateLessThanEquals at the instant")
        .id(allow_if("kms:Decrypt", "*", r#"{"DateLessThanEquals":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}"#))
        .act("kms:Decrypt")
        .ctx("aws:CurrentTime", "2020-01-01T00:00:00.000Z")
        .allow();
    let revoke = deny_if("*", "*", r#"{"DateLessThan":{"aws:TokenIssueTime":"2014-05-07T23:47:00Z"}}"#);
    t.case(f, "revoke older sessions: old token")
        .who(session("AppRole", "s1"))
        .id(allow("*", "*"))
        .id(revoke.clone())
        .act("s3:GetObject")
        .on("arn:aws:s3:::b/k")
        .ctx("aws:TokenIssueTime", "2014-05-07T10:00:00Z")
        .deny_identity();
    t.case(f, "revoke older sessions: new token")
        .who(session("AppRole", "s1"))
        .id(allow("*", "*"))
        .id(revoke.clone())
        .act("s3:GetObject")
        .on("arn:aws:s3:::b/k")
        .ctx("aws:TokenIssueTime", "2014-05-08T00:00:00Z")
        .allow();
    t.case(f, "revoke older sessions: long-term credentials have no token time")
        .id(allow("*", "*"))
        .id(revoke)
        .act("s3:GetObject")
        .on("arn:aws:s3:::b/k")
        .allow();
}

fn bools(t: &mut Table) {
    let f = "bool";
    let tls = deny_if("s3:*", "*", r#"{"Bool":{"aws:SecureTransport":"false"}}"#);
    t.case(f, "deny plain HTTP")
        .id(allow("s3:*", "*"))
        .id(tls.clone())
        .act("s3:GetObject")
        .on("arn:aws:s3:::b/k")
        .ctx_bool("aws:SecureTransport", false)
        .deny_identity();
    t.case(f, "HTTPS passes")
        .id(allow("s3:*", "*"))
        .id(tls.clone())
        .act("s3:GetObject")
        .on("arn:aws:s3:::b/k")
        .ctx_bool("aws:SecureTransport", true)
        .allow();
    t.case(f, "Bool with the key missing is false")
        .id(allow("s3:*", "*"))
        .id(tls)
        .act("s3:GetObject")
        .on("arn:aws:s3:::b/k")
        .allow();
    t.case(f, "Bool values are case-insensitive and may be JSON booleans")
        .id(allow_if("iam:*", "*", r#"{"Bool":{"aws:MultiFactorAuthPresent":true}}"#))
        .act("iam:DeleteUser")
        .ctx("aws:MultiFactorAuthPresent", "True")
        .allow();
    t.case(f, "Bool mismatch")
        .id(allow_if("iam:*", "*", r#"{"Bool":{"aws:MultiFactorAuthPresent":"true"}}"#))
        .act("iam:DeleteUser")
        .ctx_bool("aws:MultiFactorAuthPresent", false)
        .no_identity();
    t.case(f, "aws:ViaAWSService true exempts a SourceIp deny")
        .id(allow("*", "*"))
        .id(deny_if("*", "*", r#"{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24","203.0.113.0/24"]},"Bool":{"aws:ViaAWSService":"false"}}"#))
        .act("dynamodb:GetItem")
        .on(TABLE)
        .ctx_bool("aws:ViaAWSService", true)
        .allow();
}

fn binaries(t: &mut Table) {
    let f = "binary";
    // "BinaryValueInBase64" base64-encoded, as in the operator reference.
    let bin = allow_if("dynamodb:PutItem", "*", r#"{"BinaryEquals":{"custom:key":"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}"#);
    t.case(f, "BinaryEquals with raw bytes")
        .id(bin.clone())
        .act("dynamodb:PutItem")
        .on(TABLE)
        .ctx_bin("custom:key", b"BinaryValueInBase64")
        .allow();
    t.case(f, "BinaryEquals with a base64 string")
        .id(bin.clone())
        .act("dynamodb:PutItem")
        .on(TABLE)
        .ctx("custom:key", "QmluYXJ5VmFsdWVJbkJhc2U2NA==")
        .allow();
    t.case(f, "BinaryEquals mismatch")
        .id(bin.clone())
        .act("dynamodb:PutItem")
        .on(TABLE)
        .ctx_bin("custom:key", b"other")
        .no_identity();
    t.case(f, "BinaryEquals with the key missing").id(bin).act("dynamodb:PutItem").on(TABLE).no_identity();
}

fn ips(t: &mut Table) {
    let f = "ip";
    let range = allow_if("dax:*", "*", r#"{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#);
    t.case(f, "IpAddress inside")
        .id(range.clone())
        .act("dax:GetItem")
        .on(CLUSTER)
        .ctx_ip("aws:SourceIp", "203.0.113.5")
        .allow();
    t.case(f, "IpAddress outside")
        .id(range.clone())
        .act("dax:GetItem")
        .on(CLUSTER)
        .ctx_ip("aws:SourceIp", "198.51.100.1")
        .no_identity();
    t.case(f, "IpAddress with a string request value")
        .id(range.clone())
        .act("dax:GetItem")
        .on(CLUSTER)
        .ctx("aws:SourceIp", "203.0.113.255")
        .allow();
    t.case(f, "IpAddress with the key missing").id(range).act("dax:GetItem").on(CLUSTER).no_identity();
    let source_ip_deny = deny_if(
        "*",
        "*",
        r#"{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24","203.0.113.0/24"]},"Bool":{"aws:ViaAWSService":"false"}}"#,
    );
    t.case(f, "aws:SourceIp deny from outside")
        .id(allow("*", "*"))
        .id(source_ip_deny.clone())
        .act("ec2:RunInstances")
        .ctx_ip("aws:SourceIp", "198.51.100.7")
        .ctx_bool("aws:ViaAWSService", false)
        .deny_identity();
    t.case(f, "aws:SourceIp deny from the second range")
        .id(allow("*", "*"))
        .id(source_ip_deny.clone())
        .act("ec2:RunInstances")
        .ctx_ip("aws:SourceIp", "192.0.2.10")
        .ctx_bool("aws:ViaAWSService", false)
        .allow();
    t.case(f, "NotIpAddress with the key missing is true")
        .id(allow("*", "*"))
        .id(source_ip_deny)
        .act("ec2:RunInstances")
        .ctx_bool("aws:ViaAWSService", false)
        .deny_identity();
    let v6 =
        allow_if("s3:GetObject", "*", r#"{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:DB8:1234:5678::/64"]}}"#);
    t.case(f, "IPv6 block")
        .id(v6.clone())
        .act("s3:GetObject")
        .on("arn:aws:s3:::b/k")
        .ctx_ip("aws:SourceIp", "2001:db8:1234:5678::abcd")
        .allow();
    t.case(f, "IPv6 outside the block")
        .id(v6)
        .act("s3:GetObject")
        .on("arn:aws:s3:::b/k")
        .ctx_ip("aws:SourceIp", "2001:db8:1234:5679::1")
        .no_identity();
    t.case(f, "single address without a prefix length")
        .id(allow_if("s3:GetObject", "*", r#"{"IpAddress":{"aws:SourceIp":"198.51.100.23"}}"#))
        .act("s3:GetObject")
        .on("arn:aws:s3:::b/k")
        .ctx_ip("aws:SourceIp", "198.51.100.23")
        .allow();
}

fn arns(t: &mut Table) {
    let f = "arn";
    let topic = "arn:aws:sns:us-east-1:123456789012:alerts";
    t.case(f, "ArnEquals on aws:SourceArn")
        .id(allow_if("sqs:SendMessage", "*", &format!(r#"{{"ArnEquals":{{"aws:SourceArn":"{topic}"}}}}"#)))
        .act("sqs:SendMessage")
        .ctx("aws:SourceArn", topic)
        .allow();
    t.case(f, "ArnLike with wildcards in fields")
        .id(allow_if("sqs:SendMessage", "*", r#"{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:123456789012:*"}}"#))
        .act("sqs:SendMessage")
        .ctx("aws:SourceArn", topic)
        .allow();
    t.case(f, "ArnLike wildcard does not cross fields")
        .id(allow_if("sqs:SendMessage", "*", r#"{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:alerts"}}"#))
        .act("sqs:SendMessage")
        .ctx("aws:SourceArn", topic)
        .no_identity();
    t.case(f, "ArnNotEquals")
        .id(allow("lambda:InvokeFunction", "*"))
        .id(deny_if("lambda:InvokeFunction", "*", &format!(r#"{{"ArnNotEquals":{{"aws:SourceArn":"{topic}"}}}}"#)))
        .act("lambda:InvokeFunction")
        .ctx("aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:other")
        .deny_identity();
    t.case(f, "ArnNotLike spares a matching ARN")
        .id(allow("lambda:InvokeFunction", "*"))
        .id(deny_if(
            "lambda:InvokeFunction",
            "*",
            r#"{"ArnNotLike":{"aws:SourceArn":"arn:aws:sns:us-east-1:123456789012:*"}}"#,
        ))
        .act("lambda:InvokeFunction")
        .ctx("aws:SourceArn", topic)
        .allow();
    t.case(f, "ArnEquals with a non-ARN value never matches")
        .id(allow_if("sqs:SendMessage", "*", r#"{"ArnLike":{"aws:SourceArn":"*"}}"#))
        .act("sqs:SendMessage")
        .ctx("aws:SourceArn", "not-an-arn")
        .no_identity();
    t.case(f, "aws:PrincipalArn of a role session is the role ARN")
        .who(session("AppRole", "s1"))
        .id(allow_if("dynamodb:*", "*", r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::123456789012:role/App*"}}"#))
        .act("dynamodb:GetItem")
        .on(TABLE)
        .allow();
    t.case(f, "ArnEquals on iam:PermissionsBoundary (delegated admin)")
        .id(allow_if(
            "iam:CreateUser",
            "*",
            r#"{"ArnEquals":{"iam:PermissionsBoundary":"arn:aws:iam::123456789012:policy/DevBoundary"}}"#,
        ))
        .act("iam:CreateUser")
        .on("arn:aws:iam::123456789012:user/new")
        .ctx("iam:PermissionsBoundary", "arn:aws:iam::123456789012:policy/OtherBoundary")
        .no_identity();
}

fn nulls(t: &mut Table) {
    let f = "null";
    let temp_only = deny_if("*", "*", r#"{"Null":{"aws:TokenIssueTime":"true"}}"#);
    t.case(f, "Null true: long-term credentials denied")
        .id(allow("*", "*"))
        .id(temp_only.clone())
        .act("ec2:RunInstances")
        .deny_identity();
    t.case(f, "Null true: temporary credentials pass")
        .who(session("AppRole", "s1"))
        .id(allow("*", "*"))
        .id(temp_only)
        .act("ec2:RunInstances")
        .ctx("aws:TokenIssueTime", "2024-01-01T00:00:00Z")
        .allow();
    let must_tag = allow_if("ec2:CreateTags", "*", r#"{"Null":{"aws:RequestTag/owner":"false"}}"#);
    t.case(f, "Null false: key present")
        .id(must_tag.clone())
        .act("ec2:CreateTags")
        .ctx("aws:RequestTag/owner", "bob")
        .allow();
    t.case(f, "Null false: key absent").id(must_tag).act("ec2:CreateTags").no_identity();
    t.case(f, "Null true on an empty multivalued key")
        .id(allow_if("ec2:CreateTags", "*", r#"{"Null":{"aws:TagKeys":"true"}}"#))
        .act("ec2:CreateTags")
        .ctx_multi("aws:TagKeys", &[])
        .allow();
}

fn if_exists(t: &mut Table) {
    let f = "ifexists";
    let types =
        allow_if("ec2:RunInstances", "*", r#"{"StringLikeIfExists":{"ec2:InstanceType":["t1.*","t2.*","m3.*"]}}"#);
    t.case(f, "StringLikeIfExists present and allowed")
        .id(types.clone())
        .act("ec2:RunInstances")
        .ctx("ec2:InstanceType", "t2.micro")
        .allow();
    t.case(f, "StringLikeIfExists present and not allowed")
        .id(types.clone())
        .act("ec2:RunInstances")
        .ctx("ec2:InstanceType", "m5.large")
        .no_identity();
    t.case(f, "StringLikeIfExists absent").id(types).act("ec2:RunInstances").allow();
    let mfa = doc(&[
        stmt("Allow", "*", "*", None),
        r#"{"Sid":"BlockMostAccessUnlessSignedInWithMFA","Effect":"Deny","NotAction":["iam:CreateVirtualMFADevice","iam:EnableMFADevice","iam:ListMFADevices","iam:ListUsers","iam:ListVirtualMFADevices","iam:ResyncMFADevice","sts:GetSessionToken"],"Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}"#.to_string(),
    ]);
    t.case(f, "BoolIfExists MFA: signed in without MFA")
        .id(mfa.clone())
        .act("dax:CreateCluster")
        .ctx_bool("aws:MultiFactorAuthPresent", false)
        .deny_identity();
    t.case(f, "BoolIfExists MFA: long-term key (key absent)").id(mfa.clone()).act("dax:CreateCluster").deny_identity();
    t.case(f, "BoolIfExists MFA: with MFA")
        .id(mfa.clone())
        .act("dax:CreateCluster")
        .ctx_bool("aws:MultiFactorAuthPresent", true)
        .allow();
    t.case(f, "BoolIfExists MFA: MFA setup actions stay allowed")
        .id(mfa)
        .act("iam:EnableMFADevice")
        .ctx_bool("aws:MultiFactorAuthPresent", false)
        .allow();
    t.case(f, "NumericLessThanIfExists absent")
        .id(allow_if("s3:ListBucket", "*", r#"{"NumericLessThanIfExists":{"s3:max-keys":"10"}}"#))
        .act("s3:ListBucket")
        .on("arn:aws:s3:::b")
        .allow();
    t.case(f, "NumericLessThanIfExists present and too big")
        .id(allow_if("s3:ListBucket", "*", r#"{"NumericLessThanIfExists":{"s3:max-keys":"10"}}"#))
        .act("s3:ListBucket")
        .on("arn:aws:s3:::b")
        .ctx("s3:max-keys", "50")
        .no_identity();
    t.case(f, "IpAddressIfExists absent")
        .id(allow_if("s3:GetObject", "*", r#"{"IpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}}"#))
        .act("s3:GetObject")
        .on("arn:aws:s3:::b/k")
        .allow();
    t.case(f, "ArnLikeIfExists present and mismatching")
        .id(allow_if("sqs:SendMessage", "*", r#"{"ArnLikeIfExists":{"aws:SourceArn":"arn:aws:sns:*:123456789012:*"}}"#))
        .act("sqs:SendMessage")
        .ctx("aws:SourceArn", "arn:aws:sns:us-east-1:999999999999:t")
        .no_identity();
    t.case(f, "DateGreaterThanIfExists absent")
        .id(allow_if(
            "kms:Decrypt",
            "*",
            r#"{"DateGreaterThanIfExists":{"aws:TokenIssueTime":"2020-01-01T00:00:00Z"}}"#,
        ))
        .act("kms:Decrypt")
        .allow();
    t.case(f, "StringNotEqualsIfExists absent")
        .id(allow("*", "*"))
        .id(deny_if("*", "*", r#"{"StringNotEqualsIfExists":{"aws:SourceVpc":"vpc-111bbb22"}}"#))
        .act("s3:GetObject")
        .on("arn:aws:s3:::b/k")
        .deny_identity();
    t.case(f, "StringNotEqualsIfExists present and equal")
        .id(allow("*", "*"))
        .id(deny_if("*", "*", r#"{"StringNotEqualsIfExists":{"aws:SourceVpc":"vpc-111bbb22"}}"#))
        .act("s3:GetObject")
        .on("arn:aws:s3:::b/k")
        .ctx("aws:SourceVpc", "vpc-111bbb22")
        .allow();
    t.case(f, "BinaryEqualsIfExists absent")
        .id(allow_if("dynamodb:PutItem", "*", r#"{"BinaryEqualsIfExists":{"custom:key":"AAEC"}}"#))
        .act("dynamodb:PutItem")
        .on(TABLE)
        .allow();
    if_exists_absent_key_every_family(t);
}

/// `...IfExists` with the key absent, for every operator family, without a set
/// qualifier and with each one. Without a qualifier IfExists makes it true
/// ("Condition operators", "...IfExists condition operators": "If the key is
/// not present, evaluate the condition element as true",
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IfExists).
/// With a qualifier the qualifier decides first: `ForAnyValue:` false,
/// `ForAllValues:` true ("Single-valued vs. multivalued context keys",
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html).
fn if_exists_absent_key_every_family(t: &mut Table) {
    let f = "ifexists";
    let ops: [(&str, &str, &str); 12] = [
        ("StringEqualsIfExists", "aws:RequestTag/env", "prod"),
        ("StringNotLikeIfExists", "aws:RequestTag/env", "prod*"),
        ("NumericLessThanIfExists", "s3:max-keys", "10"),
        ("NumericNotEqualsIfExists", "s3:max-keys", "10"),
        ("DateGreaterThanIfExists", "aws:TokenIssueTime", "2020-01-01T00:00:00Z"),
        ("DateNotEqualsIfExists", "aws:TokenIssueTime", "2020-01-01T00:00:00Z"),
        ("BoolIfExists", "aws:MultiFactorAuthPresent", "true"),
        ("BinaryEqualsIfExists", "custom:key", "AAEC"),
        ("IpAddressIfExists", "aws:SourceIp", "10.0.0.0/8"),
        ("NotIpAddressIfExists", "aws:SourceIp", "10.0.0.0/8"),
        ("ArnLikeIfExists", "aws:SourceArn", "arn:aws:sns:*:123456789012:*"),
        ("ArnNotEqualsIfExists", "aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:t"),
    ];
    for (op, key, value) in ops {
        for (qualifier, holds) in [("", true), ("ForAnyValue:", false), ("ForAllValues:", true)] {
            let case = t
                .case(f, &format!("{qualifier}{op} with the key absent"))
                .id(allow_if("dynamodb:PutItem", "*", &format!(r#"{{"{qualifier}{op}":{{"{key}":"{value}"}}}}"#)))
                .act("dynamodb:PutItem")
                .on(TABLE);
            if holds {
                case.allow();
            } else {
                case.no_identity();
            }
        }
    }
}

fn set_operators(t: &mut Table) {
    let f = "set";
    let all = allow_if(
        "ec2:CreateTags",
        "*",
        r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["environment","cost-center"]}}"#,
    );
    t.case(f, "ForAllValues subset")
        .id(all.clone())
        .act("ec2:CreateTags")
        .ctx_multi("aws:TagKeys", &["environment"])
        .allow();
    t.case(f, "ForAllValues exact set")
        .id(all.clone())
        .act("ec2:CreateTags")
        .ctx_multi("aws:TagKeys", &["cost-center", "environment"])
        .allow();
    t.case(f, "ForAllValues with an extra key")
        .id(all.clone())
        .act("ec2:CreateTags")
        .ctx_multi("aws:TagKeys", &["environment", "owner"])
        .no_identity();
    t.case(f, "ForAllValues with the key missing is true").id(all.clone()).act("ec2:CreateTags").allow();
    t.case(f, "ForAllValues with an empty set is true")
        .id(all)
        .act("ec2:CreateTags")
        .ctx_multi("aws:TagKeys", &[])
        .allow();
    let guarded = allow_if(
        "ec2:CreateTags",
        "*",
        r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["environment","cost-center"]},"Null":{"aws:TagKeys":"false"}}"#,
    );
    t.case(f, "ForAllValues guarded by Null: key missing").id(guarded.clone()).act("ec2:CreateTags").no_identity();
    t.case(f, "ForAllValues guarded by Null: key present")
        .id(guarded)
        .act("ec2:CreateTags")
        .ctx_multi("aws:TagKeys", &["cost-center"])
        .allow();
    let any = allow_if(
        "ec2:CreateTags",
        "*",
        r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["environment","cost-center"]}}"#,
    );
    t.case(f, "ForAnyValue one listed")
        .id(any.clone())
        .act("ec2:CreateTags")
        .ctx_multi("aws:TagKeys", &["owner", "environment"])
        .allow();
    t.case(f, "ForAnyValue none listed")
        .id(any.clone())
        .act("ec2:CreateTags")
        .ctx_multi("aws:TagKeys", &["owner"])
        .no_identity();
    t.case(f, "ForAnyValue with the key missing is false").id(any.clone()).act("ec2:CreateTags").no_identity();
    t.case(f, "ForAnyValue with an empty set is false")
        .id(any)
        .act("ec2:CreateTags")
        .ctx_multi("aws:TagKeys", &[])
        .no_identity();
    t.case(f, "ForAnyValue:StringLike")
        .id(allow_if("ec2:CreateTags", "*", r#"{"ForAnyValue:StringLike":{"aws:TagKeys":"team-*"}}"#))
        .act("ec2:CreateTags")
        .ctx_multi("aws:TagKeys", &["env", "team-db"])
        .allow();
    t.case(f, "ForAllValues:StringLike one outside")
        .id(allow_if("ec2:CreateTags", "*", r#"{"ForAllValues:StringLike":{"aws:TagKeys":["team-*","env"]}}"#))
        .act("ec2:CreateTags")
        .ctx_multi("aws:TagKeys", &["env", "owner"])
        .no_identity();
    t.case(f, "ForAnyValue:StringNotEquals: some value differs")
        .id(allow_if("ec2:CreateTags", "*", r#"{"ForAnyValue:StringNotEquals":{"aws:TagKeys":"env"}}"#))
        .act("ec2:CreateTags")
        .ctx_multi("aws:TagKeys", &["env", "owner"])
        .allow();
    t.case(f, "ForAllValues:StringNotEquals: one value is excluded")
        .id(allow_if("ec2:CreateTags", "*", r#"{"ForAllValues:StringNotEquals":{"aws:TagKeys":["admin","root"]}}"#))
        .act("ec2:CreateTags")
        .ctx_multi("aws:TagKeys", &["env", "admin"])
        .no_identity();
    t.case(f, "deny any forbidden tag key (ForAnyValue in a Deny)")
        .id(allow("ec2:*", "*"))
        .id(deny_if("ec2:CreateTags", "*", r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["aws-protected","admin"]}}"#))
        .act("ec2:CreateTags")
        .ctx_multi("aws:TagKeys", &["env", "admin"])
        .deny_identity();
    // A missing key: the set qualifier decides before IfExists. "Single-valued
    // vs. multivalued context keys", ForAnyValue: "For no matching context key
    // or if the key does not exist, the condition returns false"; ForAllValues:
    // "It also returns true if there are no context keys in the request."
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
    t.case(f, "ForAnyValue:StringEqualsIfExists with the key missing is false")
        .id(allow_if("ec2:CreateTags", "*", r#"{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":"env"}}"#))
        .act("ec2:CreateTags")
        .no_identity();
    t.case(f, "Allow ForAnyValue:StringEqualsIfExists, aws:TagKeys missing: GetItem not allowed")
        .who(user("eng-user"))
        .id(allow_if("dynamodb:GetItem", "*", r#"{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":["team"]}}"#))
        .act("dynamodb:GetItem")
        .on(ORDERS)
        .ctx("aws:PrincipalTag/team", "eng")
        .no_identity();
    t.case(f, "Deny ForAnyValue:StringEqualsIfExists, aws:TagKeys missing: no deny")
        .who(user("eng-user"))
        .id(allow("*", "*"))
        .id(deny_if("dynamodb:GetItem", "*", r#"{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":["team"]}}"#))
        .act("dynamodb:GetItem")
        .on(ORDERS)
        .ctx("aws:PrincipalTag/team", "eng")
        .allow();
    t.case(f, "ForAllValues:StringEqualsIfExists with the key missing is true")
        .who(user("eng-user"))
        .id(allow_if("dynamodb:GetItem", "*", r#"{"ForAllValues:StringEqualsIfExists":{"aws:TagKeys":["team"]}}"#))
        .act("dynamodb:GetItem")
        .on(ORDERS)
        .ctx("aws:PrincipalTag/team", "eng")
        .allow();
    t.case(f, "Deny ForAllValues:StringEqualsIfExists, aws:TagKeys missing: denied")
        .who(user("eng-user"))
        .id(allow("*", "*"))
        .id(deny_if("dynamodb:GetItem", "*", r#"{"ForAllValues:StringEqualsIfExists":{"aws:TagKeys":["team"]}}"#))
        .act("dynamodb:GetItem")
        .on(ORDERS)
        .ctx("aws:PrincipalTag/team", "eng")
        .deny_identity();
    t.case(f, "ForAnyValue on a single-valued key")
        .id(allow_if(
            "dax:PutItem",
            "*",
            r#"{"ForAnyValue:StringEquals":{"dax:EnclosingOperation":["TransactWriteItems"]}}"#,
        ))
        .act("dax:PutItem")
        .on(CLUSTER)
        .ctx("dax:EnclosingOperation", "TransactWriteItems")
        .allow();
    t.case(f, "ForAllValues:NumericLessThan over several values")
        .id(allow_if("custom:Do", "*", r#"{"ForAllValues:NumericLessThan":{"custom:sizes":"100"}}"#))
        .act("custom:Do")
        .ctx_multi("custom:sizes", &["1", "99", "100"])
        .no_identity();
}

fn variables(t: &mut Table) {
    let f = "variables";
    let home = doc(&[
        r#"{"Action":["s3:ListBucket"],"Effect":"Allow","Resource":["arn:aws:s3:::mybucket"],"Condition":{"StringLike":{"s3:prefix":["${aws:username}/*"]}}}"#.to_string(),
        r#"{"Action":["s3:GetObject","s3:PutObject"],"Effect":"Allow","Resource":["arn:aws:s3:::mybucket/${aws:username}/*"]}"#.to_string(),
    ]);
    t.case(f, "home directory: own object")
        .id(home.clone())
        .act("s3:GetObject")
        .on("arn:aws:s3:::mybucket/bob/notes.txt")
        .ctx("aws:username", "bob")
        .allow();
    t.case(f, "home directory: someone else's object")
        .id(home.clone())
        .act("s3:GetObject")
        .on("arn:aws:s3:::mybucket/alice/notes.txt")
        .ctx("aws:username", "bob")
        .no_identity();
    t.case(f, "home directory: aws:username derived from the user ARN")
        .id(home.clone())
        .act("s3:PutObject")
        .on("arn:aws:s3:::mybucket/bob/x")
        .allow();
    t.case(f, "home directory: list own prefix")
        .id(home.clone())
        .act("s3:ListBucket")
        .on("arn:aws:s3:::mybucket")
        .ctx("s3:prefix", "bob/photos/")
        .allow();
    t.case(f, "home directory: list another prefix")
        .id(home.clone())
        .act("s3:ListBucket")
        .on("arn:aws:s3:::mybucket")
        .ctx("s3:prefix", "alice/")
        .no_identity();
    t.case(f, "role sessions have no aws:username: the entry matches no resource")
        .who(session("AppRole", "s1"))
        .id(home)
        .act("s3:GetObject")
        .on("arn:aws:s3:::mybucket/s1/x")
        .no_identity();
    let keys = allow("iam:*AccessKey*", "arn:aws:iam::123456789012:user/${aws:username}");
    t.case(f, "manage own access keys").id(keys.clone()).act("iam:CreateAccessKey").on(BOB).allow();
    t.case(f, "cannot manage another user's keys")
        .id(keys)
        .act("iam:DeleteAccessKey")
        .on("arn:aws:iam::123456789012:user/alice")
        .no_identity();
    let queues = allow("sqs:*", "arn:aws:sqs:us-east-2:*:${aws:username}-queue");
    t.case(f, "SQS queue named after the user")
        .id(queues.clone())
        .act("sqs:CreateQueue")
        .on("arn:aws:sqs:us-east-2:123456789012:bob-queue")
        .allow();
    t.case(f, "SQS queue in another region")
        .id(queues)
        .act("sqs:CreateQueue")
        .on("arn:aws:sqs:us-west-2:123456789012:bob-queue")
        .no_identity();
    let dept = allow("s3:*", "arn:aws:s3:::bucket/${aws:PrincipalTag/department}");
    t.case(f, "principal tag in the resource")
        .id(dept.clone())
        .act("s3:GetObject")
        .on("arn:aws:s3:::bucket/finance")
        .ctx("aws:PrincipalTag/department", "finance")
        .allow();
    t.case(f, "principal tag in the resource, other department")
        .id(dept.clone())
        .act("s3:GetObject")
        .on("arn:aws:s3:::bucket/hr")
        .ctx("aws:PrincipalTag/department", "finance")
        .no_identity();
    t.case(f, "principal tag missing").id(dept).act("s3:GetObject").on("arn:aws:s3:::bucket/finance").no_identity();
    t.case(f, "substituted values are literal, not wildcards")
        .id(allow("s3:GetObject", "arn:aws:s3:::bucket/${aws:PrincipalTag/team}"))
        .act("s3:GetObject")
        .on("arn:aws:s3:::bucket/anything")
        .ctx("aws:PrincipalTag/team", "*")
        .no_identity();
    let default = allow("s3:GetObject", "arn:aws:s3:::bucket/${aws:username, 'anonymous'}/*");
    t.case(f, "default value used when the key is missing")
        .who(session("AppRole", "s1"))
        .id(default.clone())
        .act("s3:GetObject")
        .on("arn:aws:s3:::bucket/anonymous/x")
        .allow();
    t.case(f, "default value ignored when the key is present")
        .id(default)
        .act("s3:GetObject")
        .on("arn:aws:s3:::bucket/anonymous/x")
        .no_identity();
    let legacy = r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/${aws:username}"}]}"#;
    t.case(f, "2008-10-17: variables are literal text (no substitution)")
        .id(legacy)
        .act("s3:GetObject")
        .on("arn:aws:s3:::bucket/bob")
        .no_identity();
    t.case(f, "2008-10-17: the literal text matches")
        .id(legacy)
        .act("s3:GetObject")
        .on("arn:aws:s3:::bucket/${aws:username}")
        .allow();
    let star = allow("s3:GetObject", "arn:aws:s3:::bucket/${*}");
    t.case(f, "${*} is a literal asterisk").id(star.clone()).act("s3:GetObject").on("arn:aws:s3:::bucket/*").allow();
    t.case(f, "${*} is not a wildcard").id(star).act("s3:GetObject").on("arn:aws:s3:::bucket/x").no_identity();
    t.case(f, "${?} and ${$} escapes")
        .id(allow("s3:GetObject", "arn:aws:s3:::bucket/${?}${$}"))
        .act("s3:GetObject")
        .on("arn:aws:s3:::bucket/?$")
        .allow();
    let owner = allow_if("ec2:StopInstances", "*", r#"{"StringEquals":{"aws:ResourceTag/owner":"${aws:username}"}}"#);
    t.case(f, "variable in a condition value")
        .id(owner.clone())
        .act("ec2:StopInstances")
        .ctx("aws:ResourceTag/owner", "bob")
        .allow();
    t.case(f, "variable in a condition value, other owner")
        .id(owner)
        .act("ec2:StopInstances")
        .ctx("aws:ResourceTag/owner", "alice")
        .no_identity();
    t.case(f, "aws:userid variable")
        .who(session("AppRole", "s1"))
        .id(allow("s3:GetObject", "arn:aws:s3:::bucket/${aws:userid}/*"))
        .act("s3:GetObject")
        .on("arn:aws:s3:::bucket/AROAEXAMPLEID:s1/k")
        .ctx("aws:userid", "AROAEXAMPLEID:s1")
        .allow();
    t.case(f, "Cognito identity variable")
        .who(session("Cognito_Auth_Role", "CognitoIdentityCredentials"))
        .id(allow("s3:*", "arn:aws:s3:::app-bucket/cognito/${cognito-identity.amazonaws.com:sub}/*"))
        .act("s3:PutObject")
        .on("arn:aws:s3:::app-bucket/cognito/us-east-1:1234-abcd/photo.jpg")
        .ctx("cognito-identity.amazonaws.com:sub", "us-east-1:1234-abcd")
        .allow();
    t.case(f, "variables are not expanded in numeric operators")
        .id(allow_if("s3:ListBucket", "*", r#"{"NumericLessThan":{"s3:max-keys":"${custom:limit}"}}"#))
        .act("s3:ListBucket")
        .on("arn:aws:s3:::b")
        .ctx("s3:max-keys", "5")
        .ctx("custom:limit", "10")
        .no_identity();
    // "Policy variables with no value": "Inverted condition operators like
    // StringNotEquals or StringNotLike do match against a null value".
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-no-value
    t.case(f, "unresolvable variable in a negated Deny condition: the Deny applies")
        .who(session("AppRole", "s1"))
        .id(allow("s3:*", "*"))
        .id(deny_if("s3:*", "*", r#"{"StringNotEquals":{"aws:ResourceTag/owner":"${aws:username}"}}"#))
        .act("s3:GetObject")
        .on("arn:aws:s3:::b/k")
        .ctx("aws:ResourceTag/owner", "alice")
        .deny_identity();
    variables_with_no_value(t);
    variables_before_the_fifth_colon(t);
}

/// A user tagged `team=eng` with no `dept` tag calls `dynamodb:GetItem` on
/// `table/Orders`. Source for every row: IAM User Guide, "Policy variables with
/// no value",
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-no-value
/// ("the resource that includes a policy variable with no value will not match
/// any resource"; positive operators "do not match"; "Inverted condition
/// operators like StringNotEquals or StringNotLike do match against a null
/// value"), and "Condition element" for values ORed / NOR,
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
fn variables_with_no_value(t: &mut Table) {
    let f = "variables";
    let eng = || user("eng-user");
    let dept_table = "arn:aws:dynamodb:us-east-1:123456789012:table/${aws:PrincipalTag/dept}";
    t.case(
        f,
        "NotResource entry with a variable without value excludes nothing: Deny applies",
    )
    .who(eng())
    .id(allow("*", "*"))
    .id(format!(
        r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Deny","Action":"dynamodb:GetItem","NotResource":"{dept_table}"}}}}"#
    ))
    .act("dynamodb:GetItem")
    .on(ORDERS)
    .ctx("aws:PrincipalTag/team", "eng")
    .deny_identity();
    t.case(
        f,
        "NotResource: the resolvable entry still excludes its resource",
    )
    .who(eng())
    .id(allow("*", "*"))
    .id(format!(
        r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Deny","Action":"dynamodb:GetItem","NotResource":["{dept_table}","{ORDERS}"]}}}}"#
    ))
    .act("dynamodb:GetItem")
    .on(ORDERS)
    .ctx("aws:PrincipalTag/team", "eng")
    .allow();
    t.case(
        f,
        "NotResource in an Allow: an entry without value excludes nothing, so it allows",
    )
    .who(eng())
    .id(format!(
        r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"dynamodb:GetItem","NotResource":"{dept_table}"}}}}"#
    ))
    .act("dynamodb:GetItem")
    .on(ORDERS)
    .ctx("aws:PrincipalTag/team", "eng")
    .allow();
    t.case(f, "Resource list: the entry without value matches nothing, the other still matches")
        .who(eng())
        .id(allow("dynamodb:GetItem", &format!(r#"["{dept_table}","{ORDERS}"]"#)))
        .act("dynamodb:GetItem")
        .on(ORDERS)
        .ctx("aws:PrincipalTag/team", "eng")
        .allow();
    t.case(f, "Resource with only an entry without value matches nothing")
        .who(eng())
        .id(allow("dynamodb:GetItem", dept_table))
        .act("dynamodb:GetItem")
        .on(ORDERS)
        .ctx("aws:PrincipalTag/team", "eng")
        .no_identity();
    t.case(f, "Deny StringNotEquals against a variable without value: the Deny applies")
        .who(eng())
        .id(allow("*", "*"))
        .id(deny_if("dynamodb:*", "*", r#"{"StringNotEquals":{"aws:PrincipalTag/team":"${aws:PrincipalTag/dept}"}}"#))
        .act("dynamodb:GetItem")
        .on(ORDERS)
        .ctx("aws:PrincipalTag/team", "eng")
        .deny_identity();
    t.case(f, "Allow StringEquals against a variable without value does not match")
        .who(eng())
        .id(allow_if("dynamodb:*", "*", r#"{"StringEquals":{"aws:PrincipalTag/team":"${aws:PrincipalTag/dept}"}}"#))
        .act("dynamodb:GetItem")
        .on(ORDERS)
        .ctx("aws:PrincipalTag/team", "eng")
        .no_identity();
    for op in ["StringNotLike", "StringNotEqualsIgnoreCase", "StringNotEqualsIfExists"] {
        t.case(f, &format!("Deny {op} against a variable without value: the Deny applies"))
            .who(eng())
            .id(allow("*", "*"))
            .id(deny_if(
                "dynamodb:*",
                "*",
                &format!(r#"{{"{op}":{{"aws:PrincipalTag/team":"${{aws:PrincipalTag/dept}}"}}}}"#),
            ))
            .act("dynamodb:GetItem")
            .on(ORDERS)
            .ctx("aws:PrincipalTag/team", "eng")
            .deny_identity();
    }
    for op in ["ArnNotEquals", "ArnNotLike"] {
        t.case(f, &format!("Deny {op} against a variable without value: the Deny applies"))
            .who(eng())
            .id(allow("*", "*"))
            .id(deny_if(
                "dynamodb:*",
                "*",
                &format!(
                    r#"{{"{op}":{{"aws:PrincipalArn":"arn:aws:iam::123456789012:user/${{aws:PrincipalTag/dept}}"}}}}"#
                ),
            ))
            .act("dynamodb:GetItem")
            .on(ORDERS)
            .ctx("aws:PrincipalTag/team", "eng")
            .deny_identity();
    }
    t.case(f, "ForAllValues:StringNotEquals against a variable without value holds")
        .who(eng())
        .id(allow_if(
            "ec2:CreateTags",
            "*",
            r#"{"ForAllValues:StringNotEquals":{"aws:TagKeys":"${aws:PrincipalTag/dept}"}}"#,
        ))
        .act("ec2:CreateTags")
        .ctx("aws:PrincipalTag/team", "eng")
        .ctx_multi("aws:TagKeys", &["env", "owner"])
        .allow();
    t.case(f, "Deny StringEquals with a literal value beside a variable without value: the literal matches")
        .who(eng())
        .id(allow("*", "*"))
        .id(deny_if(
            "dynamodb:*",
            "*",
            r#"{"StringEquals":{"aws:PrincipalTag/team":["eng","${aws:PrincipalTag/dept}"]}}"#,
        ))
        .act("dynamodb:GetItem")
        .on(ORDERS)
        .ctx("aws:PrincipalTag/team", "eng")
        .deny_identity();
    t.case(f, "Allow StringEquals with a literal value beside a variable without value: allowed")
        .who(eng())
        .id(allow_if(
            "dynamodb:GetItem",
            "*",
            r#"{"StringEquals":{"aws:PrincipalTag/team":["${aws:PrincipalTag/dept}","eng"]}}"#,
        ))
        .act("dynamodb:GetItem")
        .on(ORDERS)
        .ctx("aws:PrincipalTag/team", "eng")
        .allow();
    t.case(f, "StringNotEquals with a literal value beside a variable without value: the literal still excludes")
        .who(eng())
        .id(allow("*", "*"))
        .id(deny_if(
            "dynamodb:*",
            "*",
            r#"{"StringNotEquals":{"aws:PrincipalTag/team":["eng","${aws:PrincipalTag/dept}"]}}"#,
        ))
        .act("dynamodb:GetItem")
        .on(ORDERS)
        .ctx("aws:PrincipalTag/team", "eng")
        .allow();
    t.case(f, "a default value stands in for the missing tag")
        .who(eng())
        .id(allow("*", "*"))
        .id(deny_if(
            "dynamodb:*",
            "*",
            r#"{"StringNotEquals":{"aws:PrincipalTag/team":"${aws:PrincipalTag/dept, 'eng'}"}}"#,
        ))
        .act("dynamodb:GetItem")
        .on(ORDERS)
        .ctx("aws:PrincipalTag/team", "eng")
        .allow();
}

/// Reading (a) of docs/iam-evaluation.md: a `${...}` before the ARN's fifth
/// colon is plain text, not a variable. IAM User Guide, "Policy variables",
/// "Resource element": "You can use a policy variable in the Resource element,
/// but only in the resource portion of the ARN. This portion of the ARN
/// appears after the fifth colon (:). You can't use a variable to replace
/// parts of the ARN before the fifth colon, such as the service or account."
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-resourceelement
fn variables_before_the_fifth_colon(t: &mut Table) {
    let f = "variables";
    let region_var = "arn:aws:dynamodb:${aws:RequestedRegion}:123456789012:table/Orders";
    t.case(f, "variable in the region field is not substituted: Allow does not match")
        .id(allow("dynamodb:GetItem", region_var))
        .act("dynamodb:GetItem")
        .on(ORDERS)
        .ctx("aws:RequestedRegion", "us-east-1")
        .no_identity();
    t.case(f, "variable in the region field is not substituted: Deny does not match")
        .id(allow("*", "*"))
        .id(deny("dynamodb:GetItem", region_var))
        .act("dynamodb:GetItem")
        .on(ORDERS)
        .ctx("aws:RequestedRegion", "us-east-1")
        .allow();
    t.case(f, "variable in the account field is not substituted")
        .id(allow("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:${aws:PrincipalAccount}:table/Orders"))
        .act("dynamodb:GetItem")
        .on(ORDERS)
        .no_identity();
    t.case(f, "variable after the fifth colon is substituted in the same ARN")
        .id(allow("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:123456789012:table/${aws:PrincipalTag/table}"))
        .act("dynamodb:GetItem")
        .on(ORDERS)
        .ctx("aws:PrincipalTag/table", "Orders")
        .allow();
}

fn boundaries(t: &mut Table) {
    let f = "boundary";
    let boundary = allow(r#"["s3:*","cloudwatch:*","ec2:*"]"#, "*");
    t.case(f, "identity and boundary both allow")
        .id(allow("s3:GetObject", "*"))
        .boundary(boundary.clone())
        .act("s3:GetObject")
        .on("arn:aws:s3:::b/k")
        .allow();
    t.case(f, "boundary caps an identity allow (iam:CreateUser)")
        .id(allow("iam:CreateUser", "*"))
        .boundary(boundary.clone())
        .act("iam:CreateUser")
        .on("arn:aws:iam::123456789012:user/new")
        .no_boundary();
    t.case(f, "boundary alone grants nothing").boundary(boundary.clone()).act("ec2:RunInstances").no_identity();
    t.case(f, "explicit deny in a boundary")
        .id(allow("*", "*"))
        .boundary(doc(&[stmt("Allow", "*", "*", None), stmt("Deny", "iam:*", "*", None)]))
        .act("iam:DeleteRole")
        .on(APP_ROLE)
        .deny_boundary();
    t.case(f, "boundary with a condition that holds")
        .id(allow("dynamodb:*", "*"))
        .boundary(allow_if("dynamodb:*", "*", r#"{"StringEquals":{"aws:RequestedRegion":"us-west-2"}}"#))
        .act("dynamodb:PutItem")
        .on(TABLE)
        .ctx("aws:RequestedRegion", "us-west-2")
        .allow();
    t.case(f, "boundary with a condition that fails")
        .id(allow("dynamodb:*", "*"))
        .boundary(allow_if("dynamodb:*", "*", r#"{"StringEquals":{"aws:RequestedRegion":"us-west-2"}}"#))
        .act("dynamodb:PutItem")
        .on(TABLE)
        .ctx("aws:RequestedRegion", "eu-west-1")
        .no_boundary();
    t.case(f, "boundary made of two policies: either may allow")
        .id(allow("*", "*"))
        .boundary(allow("s3:*", "*"))
        .boundary(allow("dax:*", "*"))
        .act("dax:CreateCluster")
        .allow();
    t.case(f, "resource policy naming the user ARN is not capped by the boundary")
        .id(allow("s3:*", "*"))
        .boundary(allow("ec2:*", "*"))
        .res(doc(&[rstmt("Allow", &format!(r#"{{"AWS":"{BOB}"}}"#), "s3:GetObject", "arn:aws:s3:::b/*", None)]))
        .act("s3:GetObject")
        .on("arn:aws:s3:::b/k")
        .allow();
    t.case(f, "resource policy naming the account is capped by the boundary")
        .id(allow("s3:*", "*"))
        .boundary(allow("ec2:*", "*"))
        .res(doc(&[rstmt(
            "Allow",
            r#"{"AWS":"arn:aws:iam::123456789012:root"}"#,
            "s3:GetObject",
            "arn:aws:s3:::b/*",
            None,
        )]))
        .act("s3:GetObject")
        .on("arn:aws:s3:::b/k")
        .no_boundary();
    t.case(f, "resource policy naming the role ARN is capped by the role's boundary")
        .who(session("AppRole", "s1"))
        .boundary(allow("ec2:*", "*"))
        .res(doc(&[rstmt("Allow", &format!(r#"{{"AWS":"{APP_ROLE}"}}"#), "dynamodb:GetItem", TABLE, None)]))
        .act("dynamodb:GetItem")
        .on(TABLE)
        .no_boundary();
    t.case(f, "resource policy naming the role ARN, boundary allows: no identity allow needed")
        .who(session("AppRole", "s1"))
        .boundary(allow("dynamodb:*", "*"))
        .res(doc(&[rstmt("Allow", &format!(r#"{{"AWS":"{APP_ROLE}"}}"#), "dynamodb:GetItem", TABLE, None)]))
        .act("dynamodb:GetItem")
        .on(TABLE)
        .allow();
    t.case(f, "resource policy naming the session ARN is not capped by the boundary")
        .who(session("AppRole", "s1"))
        .boundary(allow("ec2:*", "*"))
        .res(doc(&[rstmt("Allow", &format!(r#"{{"AWS":"{APP_SESSION}"}}"#), "dynamodb:GetItem", TABLE, None)]))
        .act("dynamodb:GetItem")
        .on(TABLE)
        .allow();
    t.case(f, "delegated admin: create users only with the boundary attached")
        .id(allow_if(
            "iam:CreateUser",
            "*",
            r#"{"StringEquals":{"iam:PermissionsBoundary":"arn:aws:iam::123456789012:policy/XCompanyBoundaries"}}"#,
        ))
        .act("iam:CreateUser")
        .on("arn:aws:iam::123456789012:user/new")
        .ctx("iam:PermissionsBoundary", "arn:aws:iam::123456789012:policy/XCompanyBoundaries")
        .allow();
    t.case(f, "boundary NotAction deny")
        .id(allow("*", "*"))
        .boundary(doc(&[
            stmt("Allow", "*", "*", None),
            r#"{"Effect":"Deny","NotAction":["s3:*","dynamodb:*"],"Resource":"*"}"#.to_string(),
        ]))
        .act("iam:CreateRole")
        .on(APP_ROLE)
        .deny_boundary();
}

fn sessions(t: &mut Table) {
    let f = "session";
    t.case(f, "session policy narrows the role's permissions (allowed)")
        .who(session("AppRole", "s1"))
        .id(allow("s3:*", "*"))
        .session_policy(allow("s3:GetObject", "*"))
        .act("s3:GetObject")
        .on("arn:aws:s3:::b/k")
        .allow();
    t.case(f, "session policy narrows the role's permissions (denied)")
        .who(session("AppRole", "s1"))
        .id(allow("s3:*", "*"))
        .session_policy(allow("s3:GetObject", "*"))
        .act("s3:PutObject")
        .on("arn:aws:s3:::b/k")
        .no_session();
    t.case(f, "session policy cannot grant more than the role has")
        .who(session("AppRole", "s1"))
        .id(allow("s3:GetObject", "*"))
        .session_policy(allow("*", "*"))
        .act("s3:DeleteObject")
        .on("arn:aws:s3:::b/k")
        .no_identity();
    t.case(f, "explicit deny in a session policy")
        .who(session("AppRole", "s1"))
        .id(allow("*", "*"))
        .session_policy(doc(&[stmt("Allow", "*", "*", None), stmt("Deny", "dynamodb:DeleteTable", "*", None)]))
        .act("dynamodb:DeleteTable")
        .on(TABLE)
        .deny_session();
    t.case(f, "resource policy naming the session ARN is not limited by session policies")
        .who(session("AppRole", "s1"))
        .session_policy(allow("ec2:*", "*"))
        .res(doc(&[rstmt("Allow", &format!(r#"{{"AWS":"{APP_SESSION}"}}"#), "s3:GetObject", "arn:aws:s3:::b/*", None)]))
        .act("s3:GetObject")
        .on("arn:aws:s3:::b/k")
        .allow();
    t.case(f, "resource policy naming the role ARN is limited by session policies")
        .who(session("AppRole", "s1"))
        .id(allow("s3:*", "*"))
        .session_policy(allow("ec2:*", "*"))
        .res(doc(&[rstmt("Allow", &format!(r#"{{"AWS":"{APP_ROLE}"}}"#), "s3:GetObject", "arn:aws:s3:::b/*", None)]))
        .act("s3:GetObject")
        .on("arn:aws:s3:::b/k")
        .no_session();
    t.case(f, "resource policy naming the role ARN with an allowing session policy")
        .who(session("AppRole", "s1"))
        .session_policy(allow("s3:*", "*"))
        .res(doc(&[rstmt("Allow", &format!(r#"{{"AWS":"{APP_ROLE}"}}"#), "s3:GetObject", "arn:aws:s3:::b/*", None)]))
        .act("s3:GetObject")
        .on("arn:aws:s3:::b/k")
        .allow();
    t.case(f, "role ARN with a path given explicitly")
        .who(policy::Principal::assumed_role(
            "arn:aws:sts::123456789012:assumed-role/Deploy/ci",
            Some("arn:aws:iam::123456789012:role/team/Deploy"),
        ))
        .res(doc(&[rstmt(
            "Allow",
            r#"{"AWS":"arn:aws:iam::123456789012:role/team/Deploy"}"#,
            "s3:PutObject",
            "arn:aws:s3:::artifacts/*",
            None,
        )]))
        .act("s3:PutObject")
        .on("arn:aws:s3:::artifacts/build.zip")
        .allow();
    t.case(f, "federated user named directly: not limited by session policies")
        .who(fed_user("app", "broker"))
        .session_policy(allow("ec2:*", "*"))
        .res(doc(&[rstmt(
            "Allow",
            r#"{"AWS":"arn:aws:sts::123456789012:federated-user/app"}"#,
            "s3:GetObject",
            "arn:aws:s3:::b/*",
            None,
        )]))
        .act("s3:GetObject")
        .on("arn:aws:s3:::b/k")
        .allow();
    t.case(f, "IAM user behind a federated user named: limited by session policies")
        .who(fed_user("app", "broker"))
        .session_policy(allow("ec2:*", "*"))
        .res(doc(&[rstmt(
            "Allow",
            r#"{"AWS":"arn:aws:iam::123456789012:user/broker"}"#,
            "s3:GetObject",
            "arn:aws:s3:::b/*",
            None,
        )]))
        .act("s3:GetObject")
        .on("arn:aws:s3:::b/k")
        .no_session();
    t.case(f, "boundary and session policy both needed (boundary missing)")
        .who(session("AppRole", "s1"))
        .id(allow("*", "*"))
        .boundary(allow("s3:*", "*"))
        .session_policy(allow("dax:*", "*"))
        .act("dax:GetItem")
        .on(CLUSTER)
        .no_boundary();
    t.case(f, "boundary and session policy both allow")
        .who(session("AppRole", "s1"))
        .id(allow("*", "*"))
        .boundary(allow("dax:*", "*"))
        .session_policy(allow("dax:GetItem", "*"))
        .act("dax:GetItem")
        .on(CLUSTER)
        .allow();
}

fn resource_policies(t: &mut Table) {
    let f = "resource-policy";
    let bucket = "arn:aws:s3:::shared";
    t.case(f, "resource policy grants the user directly, no identity policy")
        .res(doc(&[rstmt("Allow", &format!(r#"{{"AWS":"{BOB}"}}"#), "s3:ListBucket", bucket, None)]))
        .act("s3:ListBucket")
        .on(bucket)
        .allow();
    t.case(f, "resource policy grants the own account: identity policy still needed")
        .res(doc(&[rstmt("Allow", r#"{"AWS":"123456789012"}"#, "s3:ListBucket", bucket, None)]))
        .act("s3:ListBucket")
        .on(bucket)
        .no_identity();
    t.case(f, "resource policy grants the own account, identity allows")
        .id(allow("s3:ListBucket", "*"))
        .res(doc(&[rstmt("Allow", r#"{"AWS":"arn:aws:iam::123456789012:root"}"#, "s3:ListBucket", bucket, None)]))
        .act("s3:ListBucket")
        .on(bucket)
        .allow();
    t.case(f, "Principal * allows an anonymous caller")
        .who(policy::Principal::anonymous())
        .res(doc(&[rstmt("Allow", "*", "s3:GetObject", "arn:aws:s3:::public/*", None)]))
        .act("s3:GetObject")
        .on("arn:aws:s3:::public/index.html")
        .allow();
    t.case(f, "AWS * allows any signed caller")
        .res(doc(&[rstmt("Allow", r#"{"AWS":"*"}"#, "s3:GetObject", "arn:aws:s3:::public/*", None)]))
        .act("s3:GetObject")
        .on("arn:aws:s3:::public/index.html")
        .allow();
    t.case(f, "explicit deny in a resource policy beats identity allow")
        .id(allow("s3:*", "*"))
        .res(doc(&[rstmt("Deny", &format!(r#"{{"AWS":"{BOB}"}}"#), "s3:DeleteBucket", bucket, None)]))
        .act("s3:DeleteBucket")
        .on(bucket)
        .deny_resource();
    t.case(f, "deny to the account applies to its users")
        .id(allow("s3:*", "*"))
        .res(doc(&[rstmt("Deny", r#"{"AWS":"123456789012"}"#, "s3:DeleteBucket", bucket, None)]))
        .act("s3:DeleteBucket")
        .on(bucket)
        .deny_resource();
    t.case(f, "resource policy for another user does not help")
        .res(doc(&[rstmt("Allow", r#"{"AWS":"arn:aws:iam::123456789012:user/alice"}"#, "s3:ListBucket", bucket, None)]))
        .act("s3:ListBucket")
        .on(bucket)
        .no_identity();
    let not_principal = doc(&[
        rstmt("Allow", "*", "s3:*", "arn:aws:s3:::shared/*", None),
        r#"{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::123456789012:user/bob","arn:aws:iam::123456789012:root"]},"Action":"s3:*","Resource":"arn:aws:s3:::shared/*"}"#.to_string(),
    ]);
    t.case(f, "Deny NotPrincipal: excluded user (user and account listed)")
        .res(not_principal.clone())
        .act("s3:GetObject")
        .on("arn:aws:s3:::shared/k")
        .allow();
    t.case(f, "Deny NotPrincipal: everyone else is denied")
        .who(user("alice"))
        .res(not_principal)
        .act("s3:GetObject")
        .on("arn:aws:s3:::shared/k")
        .deny_resource();
    t.case(f, "Deny NotPrincipal listing only the user ARN still denies it")
        .res(doc(&[
            rstmt("Allow", "*", "s3:*", "arn:aws:s3:::shared/*", None),
            r#"{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:user/bob"},"Action":"s3:*","Resource":"arn:aws:s3:::shared/*"}"#.to_string(),
        ]))
        .act("s3:GetObject")
        .on("arn:aws:s3:::shared/k")
        .deny_resource();
    t.case(f, "Deny NotPrincipal for a role session needs session, role and account")
        .who(session("AppRole", "s1"))
        .res(doc(&[
            rstmt("Allow", "*", "s3:*", "arn:aws:s3:::shared/*", None),
            format!(
                r#"{{"Effect":"Deny","NotPrincipal":{{"AWS":["{APP_SESSION}","{APP_ROLE}","arn:aws:iam::123456789012:root"]}},"Action":"s3:*","Resource":"arn:aws:s3:::shared/*"}}"#
            ),
        ]))
        .act("s3:GetObject")
        .on("arn:aws:s3:::shared/k")
        .allow();
    t.case(f, "resource policy Deny unless from a VPC endpoint")
        .id(allow("s3:*", "*"))
        .res(doc(&[rstmt(
            "Deny",
            "*",
            "s3:*",
            r#"["arn:aws:s3:::shared","arn:aws:s3:::shared/*"]"#,
            Some(r#"{"StringNotEquals":{"aws:SourceVpce":"vpce-1a2b3c4d"}}"#),
        )]))
        .act("s3:GetObject")
        .on("arn:aws:s3:::shared/k")
        .ctx("aws:SourceVpce", "vpce-9999")
        .deny_resource();
    let table_policy = doc(&[rstmt(
        "Allow",
        &format!(r#"{{"AWS":"{APP_ROLE}"}}"#),
        r#"["dynamodb:GetItem","dynamodb:Query"]"#,
        TABLE,
        None,
    )]);
    t.case(f, "DynamoDB table policy grants a role's sessions")
        .who(session("AppRole", "s1"))
        .res(table_policy.clone())
        .act("dynamodb:Query")
        .on(TABLE)
        .allow();
    t.case(f, "DynamoDB table policy does not grant other actions")
        .who(session("AppRole", "s1"))
        .res(table_policy)
        .act("dynamodb:DeleteItem")
        .on(TABLE)
        .no_identity();
    t.case(f, "service principal allowed by a resource policy")
        .who(policy::Principal::service("sns.amazonaws.com"))
        .res(doc(&[rstmt(
            "Allow",
            r#"{"Service":"sns.amazonaws.com"}"#,
            "sqs:SendMessage",
            "arn:aws:sqs:us-east-1:123456789012:q",
            Some(r#"{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:123456789012:alerts"}}"#),
        )]))
        .act("sqs:SendMessage")
        .on("arn:aws:sqs:us-east-1:123456789012:q")
        .ctx("aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:alerts")
        .allow();
    t.case(f, "condition on aws:PrincipalArn in a resource policy")
        .who(session("AppRole", "s1"))
        .res(doc(&[rstmt(
            "Allow",
            r#"{"AWS":"*"}"#,
            "dynamodb:GetItem",
            TABLE,
            Some(r#"{"StringEquals":{"aws:PrincipalAccount":"123456789012"}}"#),
        )]))
        .act("dynamodb:GetItem")
        .on(TABLE)
        .allow();
}

fn cross_account(t: &mut Table) {
    let f = "cross-account";
    let foreign_table = "arn:aws:dynamodb:us-west-2:111122223333:table/Shared";
    let grant_acct =
        doc(&[rstmt("Allow", r#"{"AWS":"arn:aws:iam::123456789012:root"}"#, "dynamodb:GetItem", foreign_table, None)]);
    t.case(f, "identity allows and the other account's resource policy allows our account")
        .id(allow("dynamodb:GetItem", foreign_table))
        .res(grant_acct.clone())
        .act("dynamodb:GetItem")
        .on(foreign_table)
        .allow();
    t.case(f, "AWS-managed policies (account `aws`) are read with identity policies alone")
        .id(allow("iam:GetPolicy", "*"))
        .act("iam:GetPolicy")
        .on("arn:aws:iam::aws:policy/aws-service-role/DAXServiceRolePolicy")
        .allow();
    t.case(f, "identity allows but there is no resource policy")
        .id(allow("dynamodb:GetItem", "*"))
        .act("dynamodb:GetItem")
        .on(foreign_table)
        .no_resource();
    t.case(f, "resource policy allows but the identity side does not")
        .res(grant_acct.clone())
        .act("dynamodb:GetItem")
        .on(foreign_table)
        .no_identity();
    t.case(f, "resource policy names the user directly: identity still needed")
        .res(doc(&[rstmt("Allow", &format!(r#"{{"AWS":"{BOB}"}}"#), "dynamodb:GetItem", foreign_table, None)]))
        .act("dynamodb:GetItem")
        .on(foreign_table)
        .no_identity();
    t.case(f, "resource policy grants a different account")
        .id(allow("dynamodb:GetItem", "*"))
        .res(doc(&[rstmt("Allow", r#"{"AWS":"999999999999"}"#, "dynamodb:GetItem", foreign_table, None)]))
        .act("dynamodb:GetItem")
        .on(foreign_table)
        .no_resource();
    t.case(f, "resource policy explicit deny across accounts")
        .id(allow("dynamodb:*", "*"))
        .res(doc(&[
            rstmt("Allow", r#"{"AWS":"123456789012"}"#, "dynamodb:*", foreign_table, None),
            rstmt("Deny", r#"{"AWS":"123456789012"}"#, "dynamodb:DeleteItem", foreign_table, None),
        ]))
        .act("dynamodb:DeleteItem")
        .on(foreign_table)
        .deny_resource();
    t.case(f, "bucket owner given explicitly (S3 ARNs carry no account)")
        .id(allow("s3:GetObject", "*"))
        .act("s3:GetObject")
        .on("arn:aws:s3:::their-bucket/k")
        .owner(OTHER)
        .no_resource();
    t.case(f, "bucket owner given explicitly, bucket policy grants our account")
        .id(allow("s3:GetObject", "*"))
        .res(doc(&[rstmt("Allow", r#"{"AWS":"123456789012"}"#, "s3:GetObject", "arn:aws:s3:::their-bucket/*", None)]))
        .act("s3:GetObject")
        .on("arn:aws:s3:::their-bucket/k")
        .owner(OTHER)
        .allow();
    t.case(f, "boundary still caps the identity side across accounts")
        .id(allow("dynamodb:GetItem", "*"))
        .boundary(allow("s3:*", "*"))
        .res(grant_acct)
        .act("dynamodb:GetItem")
        .on(foreign_table)
        .no_boundary();
    t.case(f, "role session from the other account, resource grants the role")
        .who(session_in(OTHER, "Reader", "r1"))
        .id(allow("dynamodb:GetItem", "*"))
        .res(doc(&[rstmt(
            "Allow",
            r#"{"AWS":"arn:aws:iam::111122223333:role/Reader"}"#,
            "dynamodb:GetItem",
            TABLE,
            None,
        )]))
        .act("dynamodb:GetItem")
        .on(TABLE)
        .allow();
    t.case(f, "user of the other account, resource grants our account only")
        .who(user_in(OTHER, "eve"))
        .id(allow("dynamodb:GetItem", "*"))
        .res(doc(&[rstmt("Allow", r#"{"AWS":"123456789012"}"#, "dynamodb:GetItem", TABLE, None)]))
        .act("dynamodb:GetItem")
        .on(TABLE)
        .no_resource();
}

fn trust(t: &mut Table) {
    let f = "trust";
    let dax_trust = r#"{"Version":"2012-10-17","Statement":[{"Action":["sts:AssumeRole"],"Effect":"Allow","Principal":{"Service":["dax.amazonaws.com"]}}]}"#;
    t.case(f, "SLR trust policy: dax.amazonaws.com may assume")
        .who(policy::Principal::service("dax.amazonaws.com"))
        .trust(dax_trust)
        .act("sts:AssumeRole")
        .on(DAX_SLR)
        .allow();
    t.case(f, "SLR trust policy: another service may not")
        .who(policy::Principal::service("ec2.amazonaws.com"))
        .trust(dax_trust)
        .act("sts:AssumeRole")
        .on(DAX_SLR)
        .no_resource();
    t.case(f, "SLR trust policy: an IAM user may not even with sts:* allowed")
        .id(allow("sts:*", "*"))
        .trust(dax_trust)
        .act("sts:AssumeRole")
        .on(DAX_SLR)
        .no_resource();
    let acct_trust = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}}"#;
    t.case(f, "account trust: user with sts:AssumeRole permission")
        .id(allow("sts:AssumeRole", APP_ROLE))
        .trust(acct_trust)
        .act("sts:AssumeRole")
        .on(APP_ROLE)
        .allow();
    t.case(f, "account trust: user without permission")
        .trust(acct_trust)
        .act("sts:AssumeRole")
        .on(APP_ROLE)
        .no_identity();
    t.case(f, "trust names the user: no identity permission needed")
        .trust(format!(r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":{{"AWS":"{BOB}"}},"Action":"sts:AssumeRole"}}}}"#))
        .act("sts:AssumeRole")
        .on(APP_ROLE)
        .allow();
    let cross = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"Unique-ID-1"}}}}"#;
    t.case(f, "cross-account trust with external id")
        .who(user_in(OTHER, "eve"))
        .id(allow("sts:AssumeRole", "*"))
        .trust(cross)
        .act("sts:AssumeRole")
        .on(APP_ROLE)
        .ctx("sts:ExternalId", "Unique-ID-1")
        .allow();
    t.case(f, "cross-account trust, wrong external id")
        .who(user_in(OTHER, "eve"))
        .id(allow("sts:AssumeRole", "*"))
        .trust(cross)
        .act("sts:AssumeRole")
        .on(APP_ROLE)
        .ctx("sts:ExternalId", "guess")
        .no_resource();
    t.case(f, "cross-account trust, caller lacks sts:AssumeRole")
        .who(user_in(OTHER, "eve"))
        .trust(cross)
        .act("sts:AssumeRole")
        .on(APP_ROLE)
        .ctx("sts:ExternalId", "Unique-ID-1")
        .no_identity();
    let web = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"cognito-identity.amazonaws.com:aud":"us-east-1:12345678-abcd"},"ForAnyValue:StringLike":{"cognito-identity.amazonaws.com:amr":"authenticated"}}}}"#;
    t.case(f, "web identity trust (Cognito, authenticated)")
        .who(policy::Principal::web_identity("cognito-identity.amazonaws.com"))
        .trust(web)
        .act("sts:AssumeRoleWithWebIdentity")
        .on(APP_ROLE)
        .ctx("cognito-identity.amazonaws.com:aud", "us-east-1:12345678-abcd")
        .ctx_multi(
            "cognito-identity.amazonaws.com:amr",
            &["authenticated", "cognito-identity.amazonaws.com:authenticated:x"],
        )
        .allow();
    t.case(f, "web identity trust (Cognito, unauthenticated)")
        .who(policy::Principal::web_identity("cognito-identity.amazonaws.com"))
        .trust(web)
        .act("sts:AssumeRoleWithWebIdentity")
        .on(APP_ROLE)
        .ctx("cognito-identity.amazonaws.com:aud", "us-east-1:12345678-abcd")
        .ctx_multi("cognito-identity.amazonaws.com:amr", &["unauthenticated"])
        .no_resource();
    t.case(f, "trust requiring MFA")
        .id(allow("sts:AssumeRole", "*"))
        .trust(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}}"#)
        .act("sts:AssumeRole")
        .on(APP_ROLE)
        .ctx_bool("aws:MultiFactorAuthPresent", false)
        .no_resource();
    t.case(f, "trust with a Deny statement")
        .id(allow("sts:AssumeRole", "*"))
        .trust(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"123456789012"}},"Action":"sts:AssumeRole"}},{{"Effect":"Deny","Principal":{{"AWS":"{BOB}"}},"Action":"sts:AssumeRole"}}]}}"#
        ))
        .act("sts:AssumeRole")
        .on(APP_ROLE)
        .deny_resource();
    t.case(f, "trust allowing sts:TagSession alongside AssumeRole")
        .who(policy::Principal::service("dax.amazonaws.com"))
        .trust(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"dax.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}}"#)
        .act("sts:TagSession")
        .on(APP_ROLE)
        .allow();
}

fn dax_and_iam_examples(t: &mut Table) {
    let f = "dax-iam";
    let slr =
        allow_if("iam:CreateServiceLinkedRole", "*", r#"{"StringLike":{"iam:AWSServiceName":"dax.amazonaws.com"}}"#);
    t.case(f, "DAX docs: create the DAX service-linked role")
        .id(slr.clone())
        .act("iam:CreateServiceLinkedRole")
        .on(DAX_SLR)
        .ctx("iam:AWSServiceName", "dax.amazonaws.com")
        .allow();
    t.case(f, "DAX docs: not another service's service-linked role")
        .id(slr)
        .act("iam:CreateServiceLinkedRole")
        .on("arn:aws:iam::123456789012:role/aws-service-role/elasticache.amazonaws.com/AWSServiceRoleForElastiCache")
        .ctx("iam:AWSServiceName", "elasticache.amazonaws.com")
        .no_identity();
    t.case(f, "no policy for CreateServiceLinkedRole (AWS denial text)")
        .act("iam:CreateServiceLinkedRole")
        .on(DAX_SLR)
        .ctx("iam:AWSServiceName", "dax.amazonaws.com")
        .no_identity();
    t.case(f, "tight SLR resource scope")
        .id(allow_if(
            "iam:CreateServiceLinkedRole",
            "arn:aws:iam::*:role/aws-service-role/dax.amazonaws.com/AWSServiceRoleForDAX*",
            r#"{"StringLike":{"iam:AWSServiceName":"dax.amazonaws.com"}}"#,
        ))
        .act("iam:CreateServiceLinkedRole")
        .on(DAX_SLR)
        .ctx("iam:AWSServiceName", "dax.amazonaws.com")
        .allow();
    let full = doc(&[
        stmt("Allow", r#"["dax:*","dynamodb:*"]"#, "*", None),
        stmt(
            "Allow",
            "iam:PassRole",
            "*",
            Some(
                r#"{"StringLike":{"iam:PassedToService":["application-autoscaling.amazonaws.com","application-autoscaling.amazonaws.com.cn","dax.amazonaws.com"]}}"#,
            ),
        ),
        stmt(
            "Allow",
            "iam:CreateServiceLinkedRole",
            "*",
            Some(
                r#"{"StringEquals":{"iam:AWSServiceName":["replication.dynamodb.amazonaws.com","dax.amazonaws.com","dynamodb.application-autoscaling.amazonaws.com","contributorinsights.dynamodb.amazonaws.com","kinesisreplication.dynamodb.amazonaws.com"]}}"#,
            ),
        ),
    ]);
    t.case(f, "AmazonDynamoDBFullAccess: PassRole to DAX")
        .id(full.clone())
        .act("iam:PassRole")
        .on("arn:aws:iam::123456789012:role/DAXServiceRole")
        .ctx("iam:PassedToService", "dax.amazonaws.com")
        .allow();
    t.case(f, "AmazonDynamoDBFullAccess: PassRole to EC2 is not granted")
        .id(full.clone())
        .act("iam:PassRole")
        .on("arn:aws:iam::123456789012:role/DAXServiceRole")
        .ctx("iam:PassedToService", "ec2.amazonaws.com")
        .no_identity();
    t.case(f, "AmazonDynamoDBFullAccess: DAX SLR")
        .id(full.clone())
        .act("iam:CreateServiceLinkedRole")
        .on(DAX_SLR)
        .ctx("iam:AWSServiceName", "dax.amazonaws.com")
        .allow();
    t.case(f, "AmazonDynamoDBFullAccess: SLR name is case-sensitive")
        .id(full.clone())
        .act("iam:CreateServiceLinkedRole")
        .on(DAX_SLR)
        .ctx("iam:AWSServiceName", "DAX.amazonaws.com")
        .no_identity();
    t.case(f, "AmazonDynamoDBFullAccess: dax:CreateCluster").id(full).act("dax:CreateCluster").on("*").allow();
    let slr_policy = allow(
        r#"["ec2:AuthorizeSecurityGroupIngress","ec2:CreateNetworkInterface","ec2:CreateSecurityGroup","ec2:DeleteNetworkInterface","ec2:DeleteSecurityGroup","ec2:DescribeAvailabilityZones","ec2:DescribeNetworkInterfaces","ec2:DescribeSecurityGroups","ec2:DescribeSubnets","ec2:DescribeVpcs","ec2:ModifyNetworkInterfaceAttribute","ec2:RevokeSecurityGroupIngress"]"#,
        "*",
    );
    let slr_session = || session("AWSServiceRoleForDAX", "dax");
    t.case(f, "DAXServiceRolePolicy: DescribeVpcs")
        .who(slr_session())
        .id(slr_policy.clone())
        .act("ec2:DescribeVpcs")
        .allow();
    t.case(f, "DAXServiceRolePolicy: CreateNetworkInterface")
        .who(slr_session())
        .id(slr_policy.clone())
        .act("ec2:CreateNetworkInterface")
        .on("arn:aws:ec2:us-east-1:123456789012:subnet/subnet-1")
        .allow();
    t.case(f, "DAXServiceRolePolicy: RevokeSecurityGroupIngress")
        .who(slr_session())
        .id(slr_policy.clone())
        .act("ec2:RevokeSecurityGroupIngress")
        .allow();
    t.case(f, "DAXServiceRolePolicy: not RunInstances")
        .who(slr_session())
        .id(slr_policy.clone())
        .act("ec2:RunInstances")
        .no_identity();
    t.case(f, "DAXServiceRolePolicy: no DynamoDB")
        .who(slr_session())
        .id(slr_policy)
        .act("dynamodb:GetItem")
        .on(TABLE)
        .no_identity();
    let no_tx = doc(&[
        stmt("Allow", r#"["dax:GetItem","dax:PutItem","dax:UpdateItem","dax:DeleteItem"]"#, CLUSTER, None),
        stmt(
            "Deny",
            r#"["dax:GetItem","dax:PutItem","dax:UpdateItem","dax:DeleteItem"]"#,
            CLUSTER,
            Some(
                r#"{"ForAnyValue:StringEquals":{"dax:EnclosingOperation":["TransactGetItems","TransactWriteItems"]}}"#,
            ),
        ),
    ]);
    t.case(f, "dax:EnclosingOperation blocks transactional PutItem")
        .id(no_tx.clone())
        .act("dax:PutItem")
        .on(CLUSTER)
        .ctx("dax:EnclosingOperation", "TransactWriteItems")
        .deny_identity();
    t.case(f, "dax:EnclosingOperation allows plain PutItem").id(no_tx.clone()).act("dax:PutItem").on(CLUSTER).allow();
    t.case(f, "dax:EnclosingOperation allows GetItem inside BatchGetItem")
        .id(no_tx)
        .act("dax:GetItem")
        .on(CLUSTER)
        .ctx("dax:EnclosingOperation", "BatchGetItem")
        .allow();
    let two_stmt = doc(&[
        stmt("Allow", r#"["dax:GetItem","dax:BatchGetItem","dax:Query","dax:Scan"]"#, CLUSTER, None),
        stmt("Allow", r#"["dax:DescribeClusters","dax:ListTags"]"#, "*", None),
    ]);
    t.case(f, "DAX recommended split: data plane on the cluster")
        .id(two_stmt.clone())
        .act("dax:Query")
        .on(CLUSTER)
        .allow();
    t.case(f, "DAX recommended split: management on *")
        .id(two_stmt.clone())
        .act("dax:DescribeClusters")
        .on("*")
        .allow();
    t.case(f, "DAX recommended split: other cluster")
        .id(two_stmt)
        .act("dax:Scan")
        .on("arn:aws:dax:us-east-1:123456789012:cache/Other")
        .no_identity();
    let service_role = allow(
        r#"["dynamodb:DescribeTable","dynamodb:PutItem","dynamodb:GetItem","dynamodb:UpdateItem","dynamodb:DeleteItem","dynamodb:Query","dynamodb:Scan","dynamodb:BatchGetItem","dynamodb:BatchWriteItem","dynamodb:ConditionCheckItem"]"#,
        "arn:aws:dynamodb:us-west-2:123456789012:table/Books",
    );
    t.case(f, "DAX service role reaches its table")
        .who(session("DAXServiceRole", "dax"))
        .id(service_role.clone())
        .act("dynamodb:DescribeTable")
        .on("arn:aws:dynamodb:us-west-2:123456789012:table/Books")
        .allow();
    t.case(f, "DAX service role cannot reach other tables")
        .who(session("DAXServiceRole", "dax"))
        .id(service_role)
        .act("dynamodb:GetItem")
        .on(TABLE)
        .no_identity();
}

fn dynamodb_fine_grained(t: &mut Table) {
    let f = "dynamodb";
    let fgac = doc(&[r#"{"Sid":"AllowAccessToOnlyItemsMatchingUserID","Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:BatchGetItem","dynamodb:Query","dynamodb:PutItem","dynamodb:UpdateItem","dynamodb:DeleteItem","dynamodb:BatchWriteItem"],"Resource":["arn:aws:dynamodb:us-west-2:123456789012:table/GameScores"],"Condition":{"ForAllValues:StringEquals":{"dynamodb:LeadingKeys":["${www.amazon.com:user_id}"],"dynamodb:Attributes":["UserId","GameTitle","Wins","Losses","TopScore","TopScoreDateTime"]},"StringEqualsIfExists":{"dynamodb:Select":"SPECIFIC_ATTRIBUTES"}}}"#.to_string()]);
    let web_user = || session("GameRole", "web");
    t.case(f, "LeadingKeys equals the caller's id")
        .who(web_user())
        .id(fgac.clone())
        .act("dynamodb:GetItem")
        .on(TABLE)
        .ctx("www.amazon.com:user_id", "amzn1.account.AF6RHO7KZU5XRVQJGXK6HB56KR2A")
        .ctx_multi("dynamodb:LeadingKeys", &["amzn1.account.AF6RHO7KZU5XRVQJGXK6HB56KR2A"])
        .ctx_multi("dynamodb:Attributes", &["UserId", "TopScore"])
        .ctx("dynamodb:Select", "SPECIFIC_ATTRIBUTES")
        .allow();
    t.case(f, "LeadingKeys of another user")
        .who(web_user())
        .id(fgac.clone())
        .act("dynamodb:GetItem")
        .on(TABLE)
        .ctx("www.amazon.com:user_id", "amzn1.account.AF6RHO7KZU5XRVQJGXK6HB56KR2A")
        .ctx_multi("dynamodb:LeadingKeys", &["amzn1.account.SOMEONEELSE"])
        .no_identity();
    t.case(f, "projection outside the allowed attributes")
        .who(web_user())
        .id(fgac.clone())
        .act("dynamodb:Query")
        .on(TABLE)
        .ctx("www.amazon.com:user_id", "u1")
        .ctx_multi("dynamodb:LeadingKeys", &["u1"])
        .ctx_multi("dynamodb:Attributes", &["UserId", "Password"])
        .no_identity();
    t.case(f, "Select ALL_ATTRIBUTES refused")
        .who(web_user())
        .id(fgac.clone())
        .act("dynamodb:Query")
        .on(TABLE)
        .ctx("www.amazon.com:user_id", "u1")
        .ctx_multi("dynamodb:LeadingKeys", &["u1"])
        .ctx("dynamodb:Select", "ALL_ATTRIBUTES")
        .no_identity();
    t.case(f, "caller id unknown: the variable cannot be resolved")
        .who(web_user())
        .id(fgac)
        .act("dynamodb:GetItem")
        .on(TABLE)
        .ctx_multi("dynamodb:LeadingKeys", &["u1"])
        .no_identity();
    let own_items = allow_if(
        r#"["dynamodb:GetItem","dynamodb:PutItem"]"#,
        TABLE,
        r#"{"ForAllValues:StringEquals":{"dynamodb:LeadingKeys":["${aws:userid}"]}}"#,
    );
    t.case(f, "LeadingKeys with aws:userid")
        .id(own_items.clone())
        .act("dynamodb:PutItem")
        .on(TABLE)
        .ctx("aws:userid", "AIDAEXAMPLE")
        .ctx_multi("dynamodb:LeadingKeys", &["AIDAEXAMPLE"])
        .allow();
    t.case(f, "batch touching two partitions, one foreign")
        .id(own_items)
        .act("dynamodb:GetItem")
        .on(TABLE)
        .ctx("aws:userid", "AIDAEXAMPLE")
        .ctx_multi("dynamodb:LeadingKeys", &["AIDAEXAMPLE", "AIDAOTHER"])
        .no_identity();
    t.case(f, "ReturnValues restricted with StringEqualsIfExists")
        .id(allow_if(
            "dynamodb:UpdateItem",
            TABLE,
            r#"{"StringEqualsIfExists":{"dynamodb:ReturnValues":["NONE","UPDATED_OLD","UPDATED_NEW"]}}"#,
        ))
        .act("dynamodb:UpdateItem")
        .on(TABLE)
        .ctx("dynamodb:ReturnValues", "ALL_OLD")
        .no_identity();
}

pub fn all_cases() -> Table {
    let mut t = Table::default();
    basics(&mut t);
    actions(&mut t);
    not_actions(&mut t);
    resources(&mut t);
    not_resources(&mut t);
    strings(&mut t);
    numerics(&mut t);
    dates(&mut t);
    bools(&mut t);
    binaries(&mut t);
    ips(&mut t);
    arns(&mut t);
    nulls(&mut t);
    if_exists(&mut t);
    set_operators(&mut t);
    variables(&mut t);
    boundaries(&mut t);
    sessions(&mut t);
    resource_policies(&mut t);
    cross_account(&mut t);
    trust(&mut t);
    dax_and_iam_examples(&mut t);
    dynamodb_fine_grained(&mut t);
    t
}

#[test]
fn evaluation_table() {
    run_table(&all_cases());
}

#[test]
fn evaluation_table_size_and_coverage() {
    let t = all_cases();
    let mut by_family: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &t.cases {
        *by_family.entry(c.family).or_default() += 1;
    }
    assert!(t.cases.len() >= 150, "only {} cases: {by_family:?}", t.cases.len());
    for family in [
        "logic",
        "action",
        "notaction",
        "resource",
        "notresource",
        "string",
        "numeric",
        "date",
        "bool",
        "binary",
        "ip",
        "arn",
        "null",
        "ifexists",
        "set",
        "variables",
        "boundary",
        "session",
        "resource-policy",
        "cross-account",
        "trust",
        "dax-iam",
        "dynamodb",
    ] {
        assert!(by_family.get(family).copied().unwrap_or(0) >= 4, "family {family} too thin: {by_family:?}");
    }
    // Every base operator appears in some case's policy.
    let all_docs: String = t
        .cases
        .iter()
        .flat_map(|c| c.identity.iter().chain(c.resource.iter().map(|(_, d)| d)).chain(c.boundary.iter().flatten()))
        .cloned()
        .collect();
    for op in policy::BaseOperator::ALL {
        assert!(all_docs.contains(&format!("\"{}", op.name())), "operator {} not covered", op.name());
    }
}

#[test]
fn aws_denial_message_for_the_dax_slr() {
    let bob = policy::Principal::user(BOB);
    let ctx = policy::Context::new();
    let req = policy::Request::new(&bob, "iam:CreateServiceLinkedRole", DAX_SLR, &ctx);
    let out = policy::evaluate(&req, &policy::PolicySet::identity(&[]));
    assert_eq!(
        policy::denial_message(&bob.arn, req.action, req.resource, &out),
        "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: iam:CreateServiceLinkedRole on resource: arn:aws:iam::123456789012:role/aws-service-role/dax.amazonaws.com/AWSServiceRoleForDAX because no identity-based policy allows the iam:CreateServiceLinkedRole action"
    );
}

#[test]
fn matched_statements_are_reported() {
    let p = policy::parse(&doc(&[
        r#"{"Sid":"All","Effect":"Allow","Action":"*","Resource":"*"}"#.to_string(),
        r#"{"Sid":"NoIam","Effect":"Deny","Action":"iam:*","Resource":"*"}"#.to_string(),
        r#"{"Sid":"Other","Effect":"Allow","Action":"s3:*","Resource":"*"}"#.to_string(),
    ]))
    .expect("valid policy");
    let bob = policy::Principal::user(BOB);
    let ctx = policy::Context::new();
    let req = policy::Request::new(&bob, "iam:GetUser", BOB, &ctx);
    let out = policy::evaluate(&req, &policy::PolicySet::identity(&[&p]));
    assert_eq!(out.decision, policy::Decision::ExplicitDeny);
    let sids: Vec<_> = out.matched.iter().map(|m| (m.statement_index, m.sid.as_deref(), m.effect)).collect();
    assert_eq!(sids, vec![(0, Some("All"), policy::Effect::Allow), (1, Some("NoIam"), policy::Effect::Deny)]);
    assert!(out.matched.iter().all(|m| m.kind == policy::PolicyKind::Identity && m.policy_index == 0));
    let allowed = policy::evaluate(
        &policy::Request::new(&bob, "s3:GetObject", "arn:aws:s3:::b/k", &ctx),
        &policy::PolicySet::identity(&[&p]),
    );
    assert!(allowed.is_allowed());
    assert_eq!(allowed.denial_tail("s3:GetObject"), "");
}

#[test]
fn principal_matching_helper() {
    let trust = policy::parse_trust_policy(
        r#"{"Version":"2012-10-17","Statement":[{"Action":["sts:AssumeRole"],"Effect":"Allow","Principal":{"Service":["dax.amazonaws.com"]}}]}"#,
    )
    .expect("trust policy");
    let el = trust.statements[0].principal.as_ref().expect("principal");
    assert!(policy::principal_matches(el, &policy::Principal::service("dax.amazonaws.com")));
    assert!(!policy::principal_matches(el, &policy::Principal::service("ec2.amazonaws.com")));
    assert!(!policy::principal_matches(el, &policy::Principal::user(BOB)));

    let acct = policy::parse_trust_policy(
        r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":["123456789012"]},"Action":"sts:AssumeRole"}}"#,
    )
    .expect("trust policy");
    let el = acct.statements[0].principal.as_ref().expect("principal");
    assert!(policy::principal_matches(el, &policy::Principal::user(BOB)));
    assert!(policy::principal_matches(el, &policy::Principal::root("123456789012")));
    assert!(policy::principal_matches(el, &policy::Principal::from_arn(APP_SESSION)));
    assert!(!policy::principal_matches(el, &policy::Principal::user("arn:aws:iam::111122223333:user/eve")));
    assert!(!policy::principal_matches(el, &policy::Principal::anonymous()));

    let not = policy::parse_resource_policy(
        r#"{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::123456789012:user/bob","123456789012"]},"Action":"s3:*","Resource":"*"}}"#,
    )
    .expect("resource policy");
    let el = not.statements[0].principal.as_ref().expect("principal");
    assert!(!policy::principal_matches(el, &policy::Principal::user(BOB)));
    assert!(policy::principal_matches(el, &policy::Principal::user("arn:aws:iam::123456789012:user/alice")));
    assert_eq!(policy::Principal::from_arn(APP_SESSION).role_or_issuer_arn().as_deref(), Some(APP_ROLE));
}
