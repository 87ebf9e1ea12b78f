//! Invariant 5 for IAM: a domain call persists its change with one
//! [`Store::apply`] batch before it updates memory, so a failed write changes
//! nothing, in memory or on disk. Each mutating call runs twice on a fresh
//! account: once with its write made to fail (everything observable must be
//! as before, also after reopening the file), then normally (exactly one
//! batch, and the reopened file agrees with memory).
//!
//! Access tracking (`record_access`, `stamp_role_used`, `flush_activity`) is
//! the documented exception: it changes memory first and is flushed later.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use base::{Env, ManualClock, SeqIds};
use state::Store;

use super::*;

const ACCOUNT: &str = "123456789012";
const DOC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
const DOC2: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
const ALLOW_ALL: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"sts:AssumeRole"}]}"#;

/// A database file that is removed with its WAL files when dropped.
struct TempDb(PathBuf);

impl TempDb {
    fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("iam-write-failures-{}-{n}.db", std::process::id()));
        let db = TempDb(path);
        db.remove();
        db
    }

    fn remove(&self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        self.remove();
    }
}

/// What the cases refer to.
struct Fx {
    clock: Arc<ManualClock>,
    key_id: String,
    /// Attached to alice, a second version `v2` not default.
    policy_arn: String,
    /// Attached to nothing.
    spare_policy_arn: String,
    alice_arn: String,
}

fn open(store: Arc<Store>, clock: Arc<ManualClock>) -> Iam {
    Iam::open(ACCOUNT, Env { clock, ids: Arc::new(SeqIds::default()) }, store).expect("open")
}

fn tag(k: &str) -> Tag {
    Tag { key: k.to_owned(), value: "v".to_owned() }
}

/// An account with one of everything the cases touch.
fn fixture(iam: &Iam, clock: Arc<ManualClock>) -> Fx {
    let alice = iam.create_user("alice", None, vec![tag("team")], None).expect("alice");
    iam.create_user("bob", None, vec![], None).expect("bob");
    let key = iam.create_access_key("alice").expect("key");
    iam.create_group("devs", None).expect("devs");
    iam.create_group("empty", None).expect("empty");
    iam.add_user_to_group("devs", "alice").expect("member");
    iam.put_inline_policy(EntityKind::User, "alice", "all", ALLOW_ALL).expect("inline");
    let p = iam.create_policy("mp", None, DOC, None, vec![]).expect("policy");
    iam.create_policy_version(&p.arn, DOC2, false).expect("v2");
    let spare = iam.create_policy("spare", None, DOC, None, vec![]).expect("spare");
    iam.attach_policy(EntityKind::User, "alice", &p.arn).expect("attach");
    let role = |name: &str| CreateRole {
        name: name.to_owned(),
        path: None,
        assume_role_policy: TRUST.to_owned(),
        description: None,
        max_session_duration: None,
        permissions_boundary: None,
        tags: vec![tag("t")],
    };
    iam.create_role(role("app")).expect("app");
    iam.create_role(role("plain")).expect("plain");
    iam.put_inline_policy(EntityKind::Role, "app", "inline", DOC).expect("role inline");
    iam.create_login_profile("alice", "Correct-Horse-9", false, None).expect("login");
    Fx { clock, key_id: key.id, policy_arn: p.arn, spare_policy_arn: spare.arn, alice_arn: alice.arn }
}

/// Everything a caller can observe, and the store's contents, a line per item.
#[derive(PartialEq)]
struct Seen {
    memory: String,
    listings: String,
    stored: String,
}

impl Seen {
    /// Panic with the first line that differs unless `self == other`.
    fn assert_same(&self, other: &Seen, what: &str) {
        for (part, a, b) in [
            ("memory", &self.memory, &other.memory),
            ("listings", &self.listings, &other.listings),
            ("store", &self.stored, &other.stored),
        ] {
            if let Some((x, y)) = a.lines().zip(b.lines()).find(|(x, y)| x != y) {
                panic!("{what}: {part} differs:\n  {x}\n  {y}");
            }
            assert_eq!(a.lines().count(), b.lines().count(), "{what}: {part} differs in length");
        }
    }
}

fn seen(iam: &Iam) -> Seen {
    let listings = format!(
        "{:#?}",
        (
            iam.list_users(None, None, None).expect("users"),
            iam.list_groups(None, None, None).expect("groups"),
            iam.list_roles(None, None, None).expect("roles"),
            iam.list_access_keys("alice", None, None).expect("keys"),
        )
    );
    let stored = iam.store.dump().expect("dump");
    let stored = stored.iter().map(|(ns, k, v)| format!("{ns}/{k} = {}\n", String::from_utf8_lossy(v))).collect();
    Seen { memory: format!("{:#?}", *iam.read()), listings, stored }
}

struct NoUse;

impl ServiceUsage for NoUse {
    fn usage(&self, _service: &str, _role_arn: &str) -> Result<Vec<RoleUsage>, String> {
        Ok(Vec::new())
    }
}

type Call = fn(&Iam, &Fx) -> Result<(), IamError>;

fn none(_: &Iam, _: &Fx) -> Result<(), IamError> {
    Ok(())
}

fn alice(iam: &Iam) -> Caller {
    Caller::User(iam.get_user("alice").expect("alice"))
}

/// `(name, preparation, the call whose write fails)`.
fn cases() -> Vec<(&'static str, Call, Call)> {
    use EntityKind::{Group, Role as RoleKind, User as UserKind};
    vec![
        ("CreateUser", none, |i, _| i.create_user("carol", None, vec![], None).map(drop)),
        ("DeleteUser", none, |i, _| i.delete_user("bob")),
        ("TagUser", none, |i, _| i.tag_user("alice", vec![tag("x")])),
        ("UntagUser", none, |i, _| i.untag_user("alice", &["team".to_owned()])),
        ("PutUserPermissionsBoundary", none, |i, f| i.set_user_boundary("alice", Some(f.policy_arn.clone()))),
        ("CreateAccessKey", none, |i, _| i.create_access_key("alice").map(drop)),
        ("UpdateAccessKey", none, |i, f| i.update_access_key("alice", &f.key_id, KeyStatus::Inactive)),
        ("DeleteAccessKey", none, |i, f| i.delete_access_key("alice", &f.key_id)),
        ("CreateGroup", none, |i, _| i.create_group("ops", None).map(drop)),
        ("AddUserToGroup", none, |i, _| i.add_user_to_group("devs", "bob")),
        ("RemoveUserFromGroup", none, |i, _| i.remove_user_from_group("devs", "alice")),
        ("DeleteGroup", none, |i, _| i.delete_group("empty")),
        ("CreateLoginProfile", none, |i, _| i.create_login_profile("bob", "Correct-Horse-9", true, None).map(drop)),
        ("UpdateLoginProfile", none, |i, _| {
            let update = LoginProfileUpdate { password_reset_required: Some(true), ..LoginProfileUpdate::default() };
            i.update_login_profile("alice", update)
        }),
        ("DeleteLoginProfile", none, |i, _| i.delete_login_profile("alice")),
        ("CreatePolicy", none, |i, _| i.create_policy("p3", None, DOC, None, vec![]).map(drop)),
        ("CreatePolicyVersion", none, |i, f| i.create_policy_version(&f.policy_arn, DOC, true).map(drop)),
        ("SetDefaultPolicyVersion", none, |i, f| i.set_default_policy_version(&f.policy_arn, "v2")),
        ("DeletePolicyVersion", none, |i, f| i.delete_policy_version(&f.policy_arn, "v2")),
        ("DeletePolicy", none, |i, f| i.delete_policy(&f.spare_policy_arn)),
        ("TagPolicy", none, |i, f| i.tag_policy(&f.policy_arn, vec![tag("x")], &[])),
        ("PutUserPolicy", none, |i, _| i.put_inline_policy(UserKind, "alice", "more", DOC)),
        ("PutGroupPolicy", none, |i, _| i.put_inline_policy(Group, "devs", "more", DOC)),
        ("PutRolePolicy", none, |i, _| i.put_inline_policy(RoleKind, "app", "more", DOC)),
        ("DeleteUserPolicy", none, |i, _| i.delete_inline_policy(UserKind, "alice", "all")),
        ("DeleteRolePolicy", none, |i, _| i.delete_inline_policy(RoleKind, "app", "inline")),
        ("AttachRolePolicy", none, |i, f| i.attach_policy(RoleKind, "app", &f.spare_policy_arn)),
        ("AttachGroupPolicy", none, |i, f| i.attach_policy(Group, "devs", &f.spare_policy_arn)),
        ("DetachUserPolicy", none, |i, f| i.detach_policy(UserKind, "alice", &f.policy_arn)),
        ("CreateRole", none, |i, _| {
            let input = CreateRole {
                name: "new".to_owned(),
                path: None,
                assume_role_policy: TRUST.to_owned(),
                description: None,
                max_session_duration: None,
                permissions_boundary: None,
                tags: vec![],
            };
            i.create_role(input).map(drop)
        }),
        ("UpdateRole", none, |i, _| {
            let update = RoleUpdate { description: Some("d".to_owned()), max_session_duration: Some(7200) };
            i.update_role("app", update).map(drop)
        }),
        ("UpdateAssumeRolePolicy", none, |i, _| {
            i.update_assume_role_policy("app", &TRUST.replace("sts:AssumeRole", "sts:*"))
        }),
        ("PutRolePermissionsBoundary", none, |i, f| i.set_role_boundary("app", Some(f.policy_arn.clone()))),
        ("TagRole", none, |i, _| i.tag_role("app", vec![tag("x")], &["t".to_owned()])),
        ("DeleteRole", none, |i, _| i.delete_role("plain")),
        ("CreateServiceLinkedRole", none, |i, _| i.create_service_linked_role(DAX_SERVICE, None, None).map(drop)),
        (
            "DeleteServiceLinkedRole",
            |i, _| i.create_service_linked_role(DAX_SERVICE, None, None).map(drop),
            |i, _| i.delete_service_linked_role(DAX_SLR_NAME).map(drop),
        ),
        (
            "deletion task: start",
            |i, _| {
                i.create_service_linked_role(DAX_SERVICE, None, None)?;
                i.delete_service_linked_role(DAX_SLR_NAME).map(drop)
            },
            |i, _| i.advance_deletion_tasks(&NoUse, 0.0),
        ),
        (
            "deletion task: remove the role",
            |i, _| {
                i.create_service_linked_role(DAX_SERVICE, None, None)?;
                i.delete_service_linked_role(DAX_SLR_NAME)?;
                i.advance_deletion_tasks(&NoUse, 0.0)
            },
            |i, _| i.advance_deletion_tasks(&NoUse, 0.0),
        ),
        ("AssumeRole", none, |i, _| {
            let input = AssumeRole {
                role_arn: format!("arn:aws:iam::{ACCOUNT}:role/app"),
                session_name: "s".to_owned(),
                ..AssumeRole::default()
            };
            i.assume_role(&alice(i), &input, &policy::Context::new()).map(drop)
        }),
        ("GetSessionToken", none, |i, _| i.get_session_token(&alice(i), None, None).map(drop)),
        (
            "purge expired sessions",
            |i, f| {
                i.get_session_token(&alice(i), None, None)?;
                f.clock.advance_secs(3 * 86_400);
                Ok(())
            },
            |i, _| i.purge_sessions(),
        ),
        ("GenerateServiceLastAccessedDetails", none, |i, f| {
            i.generate_access_report(&f.alice_arn, Granularity::ActionLevel, "owner").map(drop)
        }),
    ]
}

#[test]
fn a_failed_write_changes_nothing_and_a_call_writes_one_batch() {
    for (name, prep, call) in cases() {
        let db = TempDb::new();
        let clock = Arc::new(ManualClock::at(1_700_000_000));
        let store = Arc::new(Store::open(&db.0).expect("store"));
        let iam = open(Arc::clone(&store), Arc::clone(&clock));
        let fx = fixture(&iam, Arc::clone(&clock));
        prep(&iam, &fx).unwrap_or_else(|e| panic!("{name}: preparation: {e:?}"));
        let reopened = || open(Arc::new(Store::open(&db.0).expect("reopen")), Arc::clone(&clock));

        let before = seen(&iam);
        seen(&reopened()).assert_same(&before, &format!("{name}: the fixture is persisted as it is in memory"));
        store.fail_next_apply();
        assert!(call(&iam, &fx).is_err(), "{name}: a failed write is an error");
        seen(&iam).assert_same(&before, &format!("{name}: after a failed write, in memory"));
        seen(&reopened()).assert_same(&before, &format!("{name}: after a failed write, reopened"));

        let batches = store.applied_batches();
        call(&iam, &fx).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(store.applied_batches(), batches + 1, "{name}: one batch per call");
        let after = seen(&iam);
        assert!(after != before, "{name}: the call changes something");
        seen(&reopened()).assert_same(&after, &format!("{name}: the store holds what memory holds"));
    }
}
