use std::sync::Arc;

use base::{Env, ManualClock, SeqIds};
use state::Store;

use super::*;
use crate::roles::{CreateRole, RoleUpdate};

fn iam_on(store: Arc<Store>) -> Iam {
    let env = Env { clock: Arc::new(ManualClock::at(1_700_000_000)), ids: Arc::new(SeqIds::default()) };
    Iam::open("123456789012", env, store).expect("open")
}

fn iam() -> Iam {
    iam_on(Arc::new(Store::in_memory().expect("store")))
}

#[test]
fn user_lifecycle_and_errors() {
    let iam = iam();
    let u = iam.create_user("Bob", Some("/dev/"), vec![], None).expect("create");
    assert_eq!(u.arn, "arn:aws:iam::123456789012:user/dev/Bob");
    assert!(u.id.starts_with("AIDA") && u.id.len() == 21);
    let cases: Vec<(Result<(), IamError>, &str)> = vec![
        (iam.create_user("bob", None, vec![], None).map(|_| ()), "EntityAlreadyExists"),
        (iam.get_user("alice").map(|_| ()), "NoSuchEntity"),
        (iam.delete_user("alice"), "NoSuchEntity"),
        (iam.create_user("x", Some("dev"), vec![], None).map(|_| ()), "InvalidInput"),
        (iam.create_access_key("nobody").map(|_| ()), "NoSuchEntity"),
        (iam.delete_access_key("Bob", "AKIANOPE"), "NoSuchEntity"),
    ];
    for (got, code) in cases {
        assert_eq!(got.unwrap_err().code(), code);
    }
    assert_eq!(iam.get_user("BOB").expect("case-insensitive").name, "Bob");
}

#[test]
fn access_keys_quota_status_and_delete_conflict() {
    let iam = iam();
    iam.create_user("bob", None, vec![], None).expect("create");
    let k1 = iam.create_access_key("bob").expect("key");
    assert!(k1.id.starts_with("AKIA") && k1.id.len() == 20);
    assert_eq!(k1.secret.len(), 40);
    iam.create_access_key("bob").expect("second key");
    assert_eq!(iam.create_access_key("bob").unwrap_err().code(), "LimitExceeded");
    assert_eq!(iam.delete_user("bob").unwrap_err().code(), "DeleteConflict");
    iam.update_access_key("bob", &k1.id, KeyStatus::Inactive).expect("deactivate");
    assert_eq!(iam.key_owner(&k1.id).expect("owner").status, KeyStatus::Inactive);
    for k in iam.list_access_keys("bob", None, None).expect("list").items {
        iam.delete_access_key("bob", &k.id).expect("delete");
    }
    assert!(iam.key_owner(&k1.id).is_none());
    iam.delete_user("bob").expect("delete user");
}

#[test]
fn listing_paginates_by_path() {
    let iam = iam();
    for n in ["a", "b", "c", "d"] {
        iam.create_user(n, Some(if n == "d" { "/other/" } else { "/team/" }), vec![], None).expect("create");
    }
    let p1 = iam.list_users(Some("/team/"), None, Some(2)).expect("p1");
    assert_eq!(p1.items.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    let p2 = iam.list_users(Some("/team/"), p1.marker.as_deref(), Some(2)).expect("p2");
    assert_eq!(p2.items.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["c"]);
    assert!(!p2.is_truncated());
    assert_eq!(iam.list_users(None, None, None).expect("all").items.len(), 4);
}

#[test]
fn tags_merge_and_untag() {
    let iam = iam();
    iam.create_user("bob", None, vec![Tag { key: "a".into(), value: "1".into() }], None).expect("create");
    iam.tag_user("bob", vec![Tag { key: "A".into(), value: "2".into() }, Tag { key: "b".into(), value: "3".into() }])
        .expect("tag");
    assert_eq!(iam.get_user("bob").expect("get").tags.len(), 2);
    iam.untag_user("bob", &["b".to_owned()]).expect("untag");
    assert_eq!(iam.get_user("bob").expect("get").tags, vec![Tag { key: "A".into(), value: "2".into() }]);
    let bad = iam.tag_user("bob", vec![Tag { key: "aws:x".into(), value: "1".into() }]);
    assert_eq!(bad.unwrap_err().code(), "InvalidInput");
}

#[test]
fn state_survives_reopen() {
    let dir = std::env::temp_dir().join(format!("iam-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("state.db");
    let _ = std::fs::remove_file(&path);
    let key_id = {
        let iam = iam_on(Arc::new(Store::open(&path).expect("store")));
        iam.create_user("bob", None, vec![], None).expect("create");
        iam.create_access_key("bob").expect("key").id
    };
    let iam = iam_on(Arc::new(Store::open(&path).expect("store")));
    assert_eq!(iam.key_owner(&key_id).expect("owner").user.name, "bob");
    let _ = std::fs::remove_dir_all(&dir);
}

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"dax.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

fn role(iam: &Iam, name: &str) -> Role {
    iam.create_role(CreateRole { name: name.into(), assume_role_policy: TRUST.into(), ..CreateRole::default() })
        .expect("role")
}

struct NoUsage;
impl ServiceUsage for NoUsage {
    fn usage(&self, _: &str, _: &str) -> Result<Vec<RoleUsage>, String> {
        Ok(Vec::new())
    }
}

struct InUse;
impl ServiceUsage for InUse {
    fn usage(&self, _: &str, _: &str) -> Result<Vec<RoleUsage>, String> {
        Ok(vec![
            RoleUsage {
                region: "us-east-1".into(),
                resources: vec!["arn:aws:dax:us-east-1:123456789012:cache/a".into()],
            },
            RoleUsage {
                region: "eu-west-1".into(),
                resources: vec!["arn:aws:dax:eu-west-1:123456789012:cache/b".into()],
            },
        ])
    }
}

#[test]
fn service_linked_role_protections() {
    let iam = iam();
    let slr = iam.create_service_linked_role(DAX_SERVICE, None, None).expect("slr");
    assert_eq!(slr.arn, "arn:aws:iam::123456789012:role/aws-service-role/dax.amazonaws.com/AWSServiceRoleForDAX");
    assert_eq!(slr.policies.attached, vec!["arn:aws:iam::aws:policy/aws-service-role/DAXServiceRolePolicy".to_owned()]);
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    let n = DAX_SLR_NAME;
    let refused: Vec<(&str, Result<(), IamError>)> = vec![
        ("UpdateAssumeRolePolicy", iam.update_assume_role_policy(n, TRUST)),
        ("PutRolePolicy", iam.put_inline_policy(EntityKind::Role, n, "p", doc)),
        ("DeleteRolePolicy", iam.delete_inline_policy(EntityKind::Role, n, "p")),
        ("AttachRolePolicy", iam.attach_policy(EntityKind::Role, n, "arn:aws:iam::aws:policy/AdministratorAccess")),
        (
            "DetachRolePolicy",
            iam.detach_policy(EntityKind::Role, n, "arn:aws:iam::aws:policy/aws-service-role/DAXServiceRolePolicy"),
        ),
        ("PutRolePermissionsBoundary", iam.set_role_boundary(n, Some("arn:aws:iam::aws:policy/ReadOnlyAccess".into()))),
        ("DeleteRolePermissionsBoundary", iam.set_role_boundary(n, None)),
        ("DeleteRole", iam.delete_role(n)),
        ("AddRoleToInstanceProfile", iam.instance_profile_role_change("p", n)),
        (
            "UpdateRole(MaxSessionDuration)",
            iam.update_role(n, RoleUpdate { description: None, max_session_duration: Some(7200) }).map(|_| ()),
        ),
    ];
    for (op, got) in refused {
        assert_eq!(got.unwrap_err().code(), "UnmodifiableEntity", "{op}");
    }
    iam.update_role(n, RoleUpdate { description: Some("d".into()), max_session_duration: None }).expect("description");
    iam.tag_role(n, vec![Tag { key: "k".into(), value: "v".into() }], &[]).expect("tags");
    let cases = [
        (iam.create_service_linked_role(DAX_SERVICE, None, None).unwrap_err(), "InvalidInput"),
        (iam.create_service_linked_role(DAX_SERVICE, None, Some("x")).unwrap_err(), "InvalidInput"),
        (iam.create_service_linked_role("unknown.amazonaws.com", None, None).unwrap_err(), "InvalidInput"),
    ];
    for (e, code) in cases {
        assert_eq!(e.code(), code, "{e}");
    }
    let r = role(&iam, "plain");
    let e = iam
        .attach_policy(EntityKind::Role, &r.name, "arn:aws:iam::aws:policy/aws-service-role/DAXServiceRolePolicy")
        .unwrap_err();
    assert_eq!(e.code(), "PolicyNotAttachable");
}

#[test]
fn deletion_task_steps_and_usage() {
    let iam = iam();
    iam.create_service_linked_role(DAX_SERVICE, None, None).expect("slr");
    let id = iam.delete_service_linked_role(DAX_SLR_NAME).expect("task");
    assert!(id.starts_with("task/aws-service-role/dax.amazonaws.com/AWSServiceRoleForDAX/"));
    assert_eq!(iam.delete_service_linked_role(DAX_SLR_NAME).expect("same"), id);
    assert_eq!(iam.deletion_task(&id).expect("t").status, DeletionStatus::NotStarted);
    iam.advance_deletion_tasks(&InUse, 0.0).expect("step");
    assert_eq!(iam.deletion_task(&id).expect("t").status, DeletionStatus::InProgress);
    iam.advance_deletion_tasks(&InUse, 0.0).expect("step");
    let t = iam.deletion_task(&id).expect("t");
    assert_eq!(t.status, DeletionStatus::Failed);
    assert_eq!(t.usage.iter().map(|u| u.region.as_str()).collect::<Vec<_>>(), ["us-east-1", "eu-west-1"]);
    assert!(iam.get_role(DAX_SLR_NAME).is_ok(), "a failed deletion keeps the role");
    let second = iam.delete_service_linked_role(DAX_SLR_NAME).expect("new task");
    assert_ne!(second, id);
    iam.advance_deletion_tasks(&NoUsage, 0.0).expect("step");
    iam.advance_deletion_tasks(&NoUsage, 0.0).expect("step");
    assert_eq!(iam.deletion_task(&second).expect("t").status, DeletionStatus::Succeeded);
    assert_eq!(iam.get_role(DAX_SLR_NAME).unwrap_err().code(), "NoSuchEntity");
    assert_eq!(iam.deletion_task("nope").unwrap_err().code(), "InvalidInput");
}

#[test]
fn authorization_gathers_user_group_and_boundary_policies() {
    let iam = iam();
    iam.create_user("bob", None, vec![], None).expect("user");
    let bob = Caller::User(iam.get_user("bob").expect("bob"));
    let ctx = policy::Context::new();
    let allowed = |action: &str| iam.authorize(&bob, action, "*", &ctx, &[]).is_allowed();
    assert!(!allowed("iam:ListUsers"));
    iam.create_group("g", None).expect("group");
    iam.add_user_to_group("g", "bob").expect("member");
    iam.attach_policy(EntityKind::Group, "g", "arn:aws:iam::aws:policy/IAMFullAccess").expect("attach");
    assert!(allowed("iam:ListUsers") && allowed("iam:CreateRole"));
    let b = iam
        .create_policy(
            "b",
            None,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:List*","Resource":"*"}]}"#,
            None,
            vec![],
        )
        .expect("policy");
    iam.set_user_boundary("bob", Some(b.arn)).expect("boundary");
    let bob = Caller::User(iam.get_user("bob").expect("bob"));
    assert!(iam.authorize(&bob, "iam:ListUsers", "*", &ctx, &[]).is_allowed());
    assert!(!iam.authorize(&bob, "iam:CreateRole", "*", &ctx, &[]).is_allowed());
    assert!(iam.authorize(&Caller::Root, "anything:AtAll", "*", &ctx, &[]).is_allowed());
}

#[test]
fn access_records_feed_reports_and_survive_flush() {
    let store = Arc::new(Store::in_memory().expect("store"));
    let iam = iam_on(Arc::clone(&store));
    let r = role(&iam, "r");
    iam.attach_policy(EntityKind::Role, "r", "arn:aws:iam::aws:policy/aws-service-role/DAXServiceRolePolicy")
        .unwrap_err();
    iam.put_inline_policy(
        EntityKind::Role,
        "r",
        "ec2",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}]}"#,
    )
    .expect("inline");
    iam.record_access(&r.arn, "ec2", "DescribeVpcs", "eu-west-1");
    iam.stamp_role_used(&r.arn, "eu-west-1");
    iam.flush_activity().expect("flush");
    let reopened = iam_on(store);
    assert_eq!(reopened.get_role("r").expect("r").last_used.expect("used").region, "eu-west-1");
    let job = reopened.generate_access_report(&r.arn, Granularity::ActionLevel, "me").expect("job");
    let report = reopened.access_job(&job, "me").expect("job").report;
    assert_eq!(report.services.len(), 1);
    assert_eq!(report.services[0].namespace, "ec2");
    assert_eq!(report.services[0].actions[0].action, "DescribeVpcs");
    assert_eq!(reopened.access_job(&job, "someone else").unwrap_err().code(), "NoSuchEntity");
}

#[test]
fn managed_policy_versions_and_conflicts() {
    let iam = iam();
    let doc = |a: &str| {
        format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{a}","Resource":"*"}}]}}"#)
    };
    let p = iam.create_policy("p", None, &doc("iam:Get*"), None, vec![]).expect("create");
    assert_eq!(iam.create_policy("P", None, &doc("iam:Get*"), None, vec![]).unwrap_err().code(), "EntityAlreadyExists");
    assert_eq!(iam.create_policy("bad", None, "{", None, vec![]).unwrap_err().code(), "MalformedPolicyDocument");
    for _ in 0..4 {
        iam.create_policy_version(&p.arn, &doc("iam:List*"), false).expect("version");
    }
    assert_eq!(iam.create_policy_version(&p.arn, &doc("iam:*"), true).unwrap_err().code(), "LimitExceeded");
    assert_eq!(iam.delete_policy_version(&p.arn, "v1").unwrap_err().code(), "DeleteConflict");
    assert_eq!(iam.delete_policy(&p.arn).unwrap_err().code(), "DeleteConflict");
    iam.create_user("u", None, vec![], None).expect("user");
    iam.attach_policy(EntityKind::User, "u", &p.arn).expect("attach");
    assert_eq!(iam.managed_policy(&p.arn).expect("p").attachment_count, 1);
    assert_eq!(iam.delete_user("u").unwrap_err().code(), "DeleteConflict");
    assert_eq!(
        iam.detach_policy(EntityKind::User, "u", "arn:aws:iam::aws:policy/ReadOnlyAccess").unwrap_err().code(),
        "NoSuchEntity"
    );
    assert_eq!(iam.delete_policy("arn:aws:iam::aws:policy/ReadOnlyAccess").unwrap_err().code(), "InvalidInput");
}
