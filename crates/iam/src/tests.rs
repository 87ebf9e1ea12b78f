use std::sync::Arc;

use base::{Env, ManualClock, SeqIds};
use state::Store;

use super::*;

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
