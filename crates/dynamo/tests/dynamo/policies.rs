//! Resource-based policies in front of the embedded backend.

use std::sync::Arc;

use crate::common::{ok, simple_table, ACCOUNT, REGION};
use dynamo::{DynamoError, EmbeddedBackend, ResourcePolicies};
use serde_json::{json, Value};

struct Setup {
    _dir: tempfile::TempDir,
    backend: EmbeddedBackend,
    clock: Arc<base::ManualClock>,
    store: Arc<state::Store>,
    policies: ResourcePolicies,
    arn: String,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = EmbeddedBackend::open(dir.path(), ACCOUNT).expect("open");
    let clock = Arc::new(base::ManualClock::at(1_700_000_000));
    let store = Arc::new(state::Store::open(&dir.path().join("state.db")).expect("store"));
    let policies = ResourcePolicies::new(Arc::clone(&store), clock.clone()).expect("policies");
    ok(&backend, REGION, "CreateTable", simple_table("Music")).await;
    let arn = format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Music");
    Setup { _dir: dir, backend, clock, store, policies, arn }
}

fn doc(action: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Principal": {"AWS": ACCOUNT}, "Effect": "Allow", "Action": [action], "Resource": "*"}]
    })
    .to_string()
}

impl Setup {
    async fn call(&self, op: &str, input: Value) -> Result<Value, DynamoError> {
        self.policies.call(&self.backend, REGION, op, input).await
    }

    async fn put(&self, action: &str, expected: Option<&str>) -> Result<String, DynamoError> {
        let mut input = json!({"ResourceArn": self.arn, "Policy": doc(action)});
        if let Some(e) = expected {
            input["ExpectedRevisionId"] = json!(e);
        }
        let out = self.call("PutResourcePolicy", input).await?;
        Ok(out["RevisionId"].as_str().expect("revision").to_owned())
    }
}

#[tokio::test]
async fn put_get_delete_with_revisions() {
    let s = setup().await;
    let e = s.call("GetResourcePolicy", json!({"ResourceArn": s.arn})).await.expect_err("none yet");
    assert_eq!(e.code, "PolicyNotFoundException");
    assert_eq!(e.message, format!("Resource-based policy not found for the provided ResourceArn: {}", s.arn));

    let r1 = s.put("dynamodb:*", None).await.expect("put");
    assert!(r1.bytes().all(|b| b.is_ascii_digit()), "{r1}");
    let got = s.call("GetResourcePolicy", json!({"ResourceArn": s.arn})).await.expect("get");
    assert_eq!(got["RevisionId"], r1);
    assert_eq!(got["Policy"], doc("dynamodb:*"));
    assert_eq!(s.policies.resource_policy(&s.arn), Some(doc("dynamodb:*")));
    assert_eq!(s.policies.resource_policy(&format!("{}/index/byEmail", s.arn)), Some(doc("dynamodb:*")));
    assert_eq!(s.policies.resource_policy("arn:aws:dynamodb:us-east-1:123456789012:table/Other"), None);

    // The same document again is a no-op; a different one gets a larger id,
    // even within the same millisecond.
    assert_eq!(s.put("dynamodb:*", None).await.expect("again"), r1);
    let r2 = s.put("dynamodb:PutItem", None).await.expect("put 2");
    assert!(r2 > r1, "{r2} > {r1}");
    s.clock.advance_secs(5);
    let r3 = s.put("dynamodb:GetItem", Some(&r2)).await.expect("put against the current revision");
    assert!(r3 > r2);

    // Against a former revision.
    let e = s.put("dynamodb:Query", Some(&r1)).await.expect_err("stale");
    assert_eq!(e.code, "PolicyNotFoundException");
    assert_eq!(
        e.message,
        format!("Resource-based policy not found for the provided ResourceArn: Requested update for policy with revision id {r1}, but the policy associated to target table Music has revision id {r3}.")
    );
    // NO_POLICY while one exists.
    let e = s.put("dynamodb:Query", Some("NO_POLICY")).await.expect_err("exists");
    assert_eq!(
        e.message,
        format!("Resource-based policy not found for the provided ResourceArn: Requested policy update expecting none to be present for table Music, but a policy exists with revision id {r3}.")
    );

    // Delete against a wrong revision, then for real.
    let e = s
        .call("DeleteResourcePolicy", json!({"ResourceArn": s.arn, "ExpectedRevisionId": "unknown"}))
        .await
        .expect_err("wrong revision");
    assert_eq!(
        e.message,
        format!("Resource-based policy not found for the provided ResourceArn: Requested update for policy with revision id unknown, but the policy associated to target table Music has revision id {r3}.")
    );
    let deleted =
        s.call("DeleteResourcePolicy", json!({"ResourceArn": s.arn, "ExpectedRevisionId": r3})).await.expect("delete");
    assert!(deleted["RevisionId"].as_str().is_some());
    assert_eq!(s.policies.resource_policy(&s.arn), None);
    let e = s.call("GetResourcePolicy", json!({"ResourceArn": s.arn})).await.expect_err("gone");
    assert_eq!(e.code, "PolicyNotFoundException");
    let e = s.call("DeleteResourcePolicy", json!({"ResourceArn": s.arn})).await.expect_err("gone");
    assert_eq!(e.code, "PolicyNotFoundException");

    // NO_POLICY when there is none; an expected revision when there is none.
    let e = s.put("dynamodb:*", Some("12345")).await.expect_err("none to match");
    assert_eq!(e.code, "PolicyNotFoundException");
    s.put("dynamodb:*", Some("NO_POLICY")).await.expect("put when none");
}

#[tokio::test]
async fn unknown_resources_and_bad_input() {
    let s = setup().await;
    let missing = format!("{}_", s.arn);
    let e = s
        .call("PutResourcePolicy", json!({"ResourceArn": missing, "Policy": doc("dynamodb:*")}))
        .await
        .expect_err("no table");
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        ("ResourceNotFoundException", "Requested resource not found: Table: Music_ not found")
    );
    for op in ["GetResourcePolicy", "DeleteResourcePolicy"] {
        let e = s.call(op, json!({"ResourceArn": format!("{}unknown", s.arn)})).await.expect_err("no table");
        assert_eq!(e.message, "Requested resource not found: Table: Musicunknown not found", "{op}");
    }
    // Another region's ARN, another account's ARN.
    let other_region = s.arn.replace(REGION, "eu-west-1");
    let e = s.call("GetResourcePolicy", json!({"ResourceArn": other_region})).await.expect_err("region");
    assert_eq!(e.code, "ResourceNotFoundException");
    let other_account = s.arn.replace(ACCOUNT, "999999999999");
    let e = s.call("GetResourcePolicy", json!({"ResourceArn": other_account})).await.expect_err("account");
    assert_eq!(e.code, "ResourceNotFoundException");

    for bad in ["Music", "arn:aws:s3:::bucket", "arn:aws:dynamodb:us-east-1:123456789012:table/Music/index/i"] {
        let e = s.call("GetResourcePolicy", json!({"ResourceArn": bad})).await.expect_err("invalid arn");
        assert_eq!(e.code, "ValidationException", "{bad}");
    }
    let e = s.call("GetResourcePolicy", json!({})).await.expect_err("missing");
    assert_eq!(e.code, "ValidationException");
    let e =
        s.call("PutResourcePolicy", json!({"ResourceArn": s.arn, "Policy": "not json"})).await.expect_err("bad doc");
    assert_eq!(e.code, "ValidationException");
    let huge = json!({"Version": "2012-10-17", "Statement": [{"Sid": "x".repeat(21_000), "Principal": "*", "Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]});
    let e = s
        .call("PutResourcePolicy", json!({"ResourceArn": s.arn, "Policy": huge.to_string()}))
        .await
        .expect_err("too big");
    assert_eq!(e.code, "ValidationException");
    let out = s
        .call(
            "PutResourcePolicy",
            json!({"ResourceArn": s.arn, "Policy": doc("dynamodb:*"), "ConfirmRemoveSelfResourceAccess": true}),
        )
        .await
        .expect("confirm is accepted");
    assert!(out["RevisionId"].is_string());
    // Everything else goes to the backend.
    let listed = s.call("ListTables", json!({})).await.expect("list");
    assert_eq!(listed["TableNames"], json!(["Music"]));
    assert!(ResourcePolicies::handles("GetResourcePolicy") && !ResourcePolicies::handles("GetItem"));
}

#[tokio::test]
async fn deleting_a_table_deletes_its_policies_and_they_persist_otherwise() {
    let s = setup().await;
    let mut t = simple_table("Streamed");
    t["StreamSpecification"] = json!({"StreamEnabled": true, "StreamViewType": "KEYS_ONLY"});
    let created = ok(&s.backend, REGION, "CreateTable", t).await;
    let stream = created["TableDescription"]["LatestStreamArn"].as_str().expect("stream").to_owned();
    let streamed = created["TableDescription"]["TableArn"].as_str().expect("arn").to_owned();

    s.put("dynamodb:*", None).await.expect("table policy");
    s.call("PutResourcePolicy", json!({"ResourceArn": stream, "Policy": doc("dynamodb:GetRecords")}))
        .await
        .expect("stream policy");
    s.call("PutResourcePolicy", json!({"ResourceArn": streamed, "Policy": doc("dynamodb:GetItem")}))
        .await
        .expect("table 2 policy");
    let e = s
        .call(
            "PutResourcePolicy",
            json!({"ResourceArn": format!("{streamed}/stream/2000-01-01T00:00:00.000"), "Policy": doc("dynamodb:*")}),
        )
        .await
        .expect_err("not its stream");
    assert_eq!(e.code, "ResourceNotFoundException");

    // Reloaded from the store.
    let reloaded = ResourcePolicies::new(Arc::clone(&s.store), s.clock.clone()).expect("reload");
    assert_eq!(reloaded.resource_policy(&stream), Some(doc("dynamodb:GetRecords")));
    assert_eq!(reloaded.resource_policy(&s.arn), Some(doc("dynamodb:*")));

    s.call("DeleteTable", json!({"TableName": "Streamed"})).await.expect("delete table");
    assert_eq!(s.policies.resource_policy(&stream), None);
    assert_eq!(s.policies.resource_policy(&streamed), None);
    assert_eq!(s.policies.resource_policy(&s.arn), Some(doc("dynamodb:*")));
    let reloaded = ResourcePolicies::new(Arc::clone(&s.store), s.clock.clone()).expect("reload");
    assert_eq!(reloaded.resource_policy(&stream), None);

    // A table deleted behind our back and created again does not inherit.
    ok(&s.backend, REGION, "DeleteTable", json!({"TableName": "Music"})).await;
    ok(&s.backend, REGION, "CreateTable", simple_table("Music")).await;
    let e = s.call("GetResourcePolicy", json!({"ResourceArn": s.arn})).await.expect_err("new table");
    assert_eq!(e.code, "PolicyNotFoundException");

    s.policies.reset().expect("reset");
    assert_eq!(s.policies.resource_policy(&s.arn), None);
    assert!(s.store.scan("dynamodb.resource-policy").expect("scan").is_empty());
}

#[tokio::test]
async fn a_configured_account_is_checked_against_the_arn_not_the_engine() {
    let s = setup().await;
    let policies = ResourcePolicies::new(
        Arc::new(state::Store::in_memory().expect("store")),
        Arc::new(base::ManualClock::at(1_700_000_000)),
    )
    .expect("policies")
    .for_account(ACCOUNT);
    let other_account = s.arn.replace(ACCOUNT, "999999999999");
    let e = policies
        .call(&s.backend, REGION, "GetResourcePolicy", json!({"ResourceArn": other_account}))
        .await
        .expect_err("account");
    assert_eq!(e.code, "ResourceNotFoundException");
    let e = policies
        .call(&s.backend, REGION, "GetResourcePolicy", json!({"ResourceArn": s.arn}))
        .await
        .expect_err("none yet");
    assert_eq!(e.code, "PolicyNotFoundException");
}
