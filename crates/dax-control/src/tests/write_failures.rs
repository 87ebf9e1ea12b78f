//! Invariant 5 for the DAX control plane: a domain call persists its change
//! with one [`Store::apply`] batch before it updates memory, so a failed
//! write changes nothing, in memory or on disk. Each mutating call (and a
//! lifecycle step of [`DaxControl::tick`]) runs twice on a fresh account:
//! once with its write made to fail, then normally (exactly one batch).
//!
//! What is compared is the memory (read without ticking, so that observing
//! does not itself advance a lifecycle), the store, and the same of a
//! control plane reopened from the file. Ports and node interfaces live
//! outside: a call that made some undoes them when its write fails, and one
//! that changed interface groups puts them back. Deleting interfaces cannot
//! be undone: `DeleteCluster` and `DecreaseReplicationFactor` leave them
//! deleted, and a retry treats them as gone.

use std::sync::Arc;

use state::Store;

use super::*;

fn tag(k: &str) -> Tag {
    Tag::new(k, "v")
}

/// A fixture with an available three-node cluster `c1` (tagged), a custom
/// parameter group `pg` and a subnet group `sg1`, none of them changing.
fn fixture(store: Arc<Store>) -> Fixture {
    let f = Fixture::on(store, 60);
    f.dax
        .create_cluster(R1, CreateClusterInput { tags: vec![tag("k1"), tag("k2")], ..cluster_input("c1", 3) })
        .expect("c1");
    f.dax.create_parameter_group(R1, "pg", None).expect("pg");
    let group = CreateSubnetGroupInput {
        subnet_group_name: "sg1".to_owned(),
        description: None,
        subnet_ids: vec!["subnet-x".to_owned(), "subnet-y".to_owned()],
    };
    f.dax.create_subnet_group(R1, group).expect("sg1");
    f.advance(61);
    f.dax.tick().expect("settle");
    f
}

/// What one control plane holds, and the store's contents.
#[derive(Debug, PartialEq)]
struct Seen {
    memory: String,
    stored: Vec<(String, String, String)>,
}

fn seen(dax: &DaxControl) -> Seen {
    let stored = dax.store.dump().expect("dump");
    let stored = stored.into_iter().map(|(ns, k, v)| (ns, k, String::from_utf8_lossy(&v).into_owned())).collect();
    Seen { memory: format!("{:#?}", *dax.read()), stored }
}

/// Ports in use and node interfaces, outside the control plane.
fn outside(f: &Fixture) -> String {
    format!("{:?} {:?}", f.ports.in_use(), lock(&f.net.enis))
}

type Call = fn(&Fixture) -> Result<(), DaxError>;

fn none(_: &Fixture) -> Result<(), DaxError> {
    Ok(())
}

/// `(name, preparation, the call whose write fails, whether it leaves the outside as it was)`.
fn cases() -> Vec<(&'static str, Call, Call, bool)> {
    vec![
        ("CreateCluster", none, |f| f.create(R1, "c2", 2).map(drop), true),
        ("DeleteCluster", none, |f| f.dax.delete_cluster(R1, "c1").map(drop), false),
        (
            "IncreaseReplicationFactor",
            none,
            |f| {
                let input = IncreaseReplicationFactorInput {
                    cluster_name: "c1".to_owned(),
                    new_replication_factor: 4,
                    availability_zones: None,
                };
                f.dax.increase_replication_factor(R1, input).map(drop)
            },
            true,
        ),
        (
            "DecreaseReplicationFactor",
            none,
            |f| {
                let input = DecreaseReplicationFactorInput {
                    cluster_name: "c1".to_owned(),
                    new_replication_factor: 2,
                    ..DecreaseReplicationFactorInput::default()
                };
                f.dax.decrease_replication_factor(R1, input).map(drop)
            },
            false,
        ),
        ("RebootNode", none, |f| f.dax.reboot_node(R1, "c1", "c1-a").map(drop), true),
        (
            "UpdateCluster",
            none,
            |f| {
                let input = UpdateClusterInput {
                    cluster_name: "c1".to_owned(),
                    description: Some("d".to_owned()),
                    parameter_group_name: Some("pg".to_owned()),
                    security_group_ids: Some(vec!["sg-def2".to_owned()]),
                    ..UpdateClusterInput::default()
                };
                f.dax.update_cluster(R1, input).map(drop)
            },
            true,
        ),
        ("CreateParameterGroup", none, |f| f.dax.create_parameter_group(R1, "pg2", None).map(drop), true),
        (
            "UpdateParameterGroup",
            none,
            |f| {
                let value = ParameterNameValue {
                    parameter_name: "query-ttl-millis".to_owned(),
                    parameter_value: "1000".to_owned(),
                };
                f.dax.update_parameter_group(R1, "pg", &[value]).map(drop)
            },
            true,
        ),
        ("DeleteParameterGroup", none, |f| f.dax.delete_parameter_group(R1, "pg").map(drop), true),
        (
            "CreateSubnetGroup",
            none,
            |f| {
                let input = CreateSubnetGroupInput {
                    subnet_group_name: "sg2".to_owned(),
                    description: None,
                    subnet_ids: vec!["subnet-x".to_owned()],
                };
                f.dax.create_subnet_group(R1, input).map(drop)
            },
            true,
        ),
        (
            "UpdateSubnetGroup",
            none,
            |f| {
                let input = UpdateSubnetGroupInput {
                    subnet_group_name: "sg1".to_owned(),
                    description: Some("d".to_owned()),
                    subnet_ids: None,
                };
                f.dax.update_subnet_group(R1, input).map(drop)
            },
            true,
        ),
        ("DeleteSubnetGroup", none, |f| f.dax.delete_subnet_group(R1, "sg1").map(drop), true),
        ("TagResource", none, |f| f.dax.tag_resource(R1, &arn(R1, "c1"), vec![tag("k3")]).map(drop), true),
        ("UntagResource", none, |f| f.dax.untag_resource(R1, &arn(R1, "c1"), &["k1".to_owned()]).map(drop), true),
        (
            "a lifecycle step",
            |f| {
                f.dax.reboot_node(R1, "c1", "c1-b")?;
                f.advance(61);
                Ok(())
            },
            |f| f.dax.tick(),
            true,
        ),
    ]
}

#[test]
fn a_failed_write_changes_nothing_and_a_call_writes_one_batch() {
    for (name, prep, call, undone_outside) in cases() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.db");
        let store = Arc::new(Store::open(&path).expect("store"));
        let f = fixture(Arc::clone(&store));
        prep(&f).unwrap_or_else(|e| panic!("{name}: preparation: {e:?}"));
        let reopened = || {
            let store = Arc::new(Store::open(&path).expect("reopen"));
            seen(&open(&store, &f.net, &f.ports, &f.ready, &f.clock, f.delay))
        };

        let (before, before_reopened, before_outside) = (seen(&f.dax), reopened(), outside(&f));
        store.fail_next_apply();
        assert!(call(&f).is_err(), "{name}: a failed write is an error");
        assert_eq!(seen(&f.dax), before, "{name}: memory changed although the write failed");
        assert_eq!(reopened(), before_reopened, "{name}: the store changed although the write failed");
        if undone_outside {
            assert_eq!(outside(&f), before_outside, "{name}: ports or interfaces changed although the write failed");
        }

        let batches = store.applied_batches();
        call(&f).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(store.applied_batches(), batches + 1, "{name}: one batch per call");
        assert_ne!(seen(&f.dax), before, "{name}: the call changes memory");
        assert_ne!(reopened(), before_reopened, "{name}: the call changes the store");
    }
}
