//! Invariant 5 for EC2: a domain call persists its change with one
//! [`Store::apply`] batch before it updates memory, so a failed write changes
//! nothing, in memory or on disk. Each mutating call (and the first touch of
//! a region, which writes its defaults) runs twice on a fresh account: once
//! with its write made to fail (everything observable must be as before,
//! also after reopening the file), then normally (exactly one batch, and
//! the reopened file agrees with memory).

use std::sync::Arc;

use base::{Env, ManualClock, SeqIds};
use state::Store;

use super::*;

const ACCT: &str = "123456789012";
const USE1: &str = "us-east-1";
const EUW1: &str = "eu-west-1";

fn open(store: Arc<Store>) -> Ec2 {
    let env = Env { clock: Arc::new(ManualClock::at(1_700_000_000)), ids: Arc::new(SeqIds::default()) };
    Ec2::open(ACCT, env, store).expect("open")
}

/// What the cases refer to.
struct Fx {
    /// A VPC with `subnet`.
    vpc: String,
    /// A VPC with nothing in it.
    empty_vpc: String,
    subnet: String,
    /// A group in the default VPC with a TCP 80 rule.
    group: String,
    /// A user's interface in the default VPC.
    eni: String,
    /// A service's interface in the default VPC.
    managed_eni: String,
}

fn fixture(e: &Ec2) -> Fx {
    let vpc = e.create_vpc(USE1, "10.0.0.0/16", vec![]).expect("vpc").vpc_id;
    let empty_vpc = e.create_vpc(USE1, "10.1.0.0/16", vec![]).expect("empty vpc").vpc_id;
    let subnet = e.create_subnet(USE1, &vpc, "10.0.1.0/24", None, vec![]).expect("subnet").subnet_id;
    let group = e.create_security_group(USE1, "web", "web", None, vec![]).expect("group").group_id;
    e.authorize_security_group_ingress(USE1, &GroupRef::Id(group.clone()), &[IpPermission::tcp(80, &["0.0.0.0/0"])])
        .expect("rule");
    let default_subnet = e
        .describe_subnets(USE1, &[], &[Filter::new("default-for-az", &["true"])], &Paging::default())
        .expect("subnets")
        .items[0]
        .subnet_id
        .clone();
    let eni = |managed: bool| {
        let req = NewNetworkInterface {
            subnet_id: default_subnet.clone(),
            requester_managed: managed,
            ..NewNetworkInterface::default()
        };
        e.create_network_interface(USE1, req).expect("eni").network_interface_id
    };
    Fx { vpc, empty_vpc, subnet, group, eni: eni(false), managed_eni: eni(true) }
}

/// Everything a caller can observe, and the store's contents.
#[derive(Debug, PartialEq)]
struct Seen {
    memory: String,
    listings: String,
    stored: Vec<(String, String, String)>,
}

fn seen(e: &Ec2) -> Seen {
    let all = Paging::default();
    let listings = format!(
        "{:#?}",
        (
            e.describe_vpcs(USE1, &[], &[], &all).expect("vpcs"),
            e.describe_subnets(USE1, &[], &[], &all).expect("subnets"),
            e.describe_security_groups(USE1, &[], &[], &[], &all).expect("groups"),
            e.describe_network_interfaces(USE1, &[], &[], &all).expect("enis"),
            e.regions(),
        )
    );
    let stored = e.store.dump().expect("dump");
    let stored = stored.into_iter().map(|(ns, k, v)| (ns, k, String::from_utf8_lossy(&v).into_owned())).collect();
    Seen { memory: format!("{:#?}", *e.read()), listings, stored }
}

type Call = fn(&Ec2, &Fx) -> Result<(), Ec2Error>;

fn cases() -> Vec<(&'static str, Call)> {
    vec![
        ("first touch of a region", |e, _| e.describe_vpcs(EUW1, &[], &[], &Paging::default()).map(drop)),
        ("CreateVpc", |e, _| e.create_vpc(USE1, "10.2.0.0/16", vec![]).map(drop)),
        ("DeleteVpc", |e, f| e.delete_vpc(USE1, &f.empty_vpc)),
        ("CreateSubnet", |e, f| e.create_subnet(USE1, &f.vpc, "10.0.2.0/24", None, vec![]).map(drop)),
        ("DeleteSubnet", |e, f| e.delete_subnet(USE1, &f.subnet)),
        ("CreateSecurityGroup", |e, _| e.create_security_group(USE1, "db", "db", None, vec![]).map(drop)),
        ("DeleteSecurityGroup", |e, f| e.delete_security_group(USE1, &GroupRef::Id(f.group.clone())).map(drop)),
        ("AuthorizeSecurityGroupIngress", |e, f| {
            let rule = [IpPermission::tcp(443, &["10.0.0.0/8"])];
            e.authorize_security_group_ingress(USE1, &GroupRef::Id(f.group.clone()), &rule).map(drop)
        }),
        ("RevokeSecurityGroupIngress", |e, f| {
            let rule = [IpPermission::tcp(80, &["0.0.0.0/0"])];
            e.revoke_security_group_ingress(USE1, &GroupRef::Id(f.group.clone()), &rule, &[]).map(drop)
        }),
        ("CreateNetworkInterface", |e, f| {
            let req = NewNetworkInterface { subnet_id: f.subnet.clone(), ..NewNetworkInterface::default() };
            e.create_network_interface(USE1, req).map(drop)
        }),
        ("DeleteNetworkInterface", |e, f| e.delete_network_interface(USE1, &f.eni)),
        ("DeleteNetworkInterface as its requester", |e, f| {
            e.delete_network_interface_as_requester(USE1, &f.managed_eni)
        }),
        ("ModifyNetworkInterfaceAttribute", |e, f| {
            let attribute = NetworkInterfaceAttribute::Description("changed".to_owned());
            e.modify_network_interface_attribute(USE1, &f.eni, attribute).map(drop)
        }),
    ]
}

#[test]
fn a_failed_write_changes_nothing_and_a_call_writes_one_batch() {
    for (name, call) in cases() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.db");
        let store = Arc::new(Store::open(&path).expect("store"));
        let e = open(Arc::clone(&store));
        let fx = fixture(&e);
        let reopened = || open(Arc::new(Store::open(&path).expect("reopen")));

        let before = seen(&e);
        assert_eq!(seen(&reopened()), before, "{name}: the fixture is persisted as it is in memory");
        store.fail_next_apply();
        assert!(call(&e, &fx).is_err(), "{name}: a failed write is an error");
        assert_eq!(seen(&e), before, "{name}: memory changed although the write failed");
        assert_eq!(seen(&reopened()), before, "{name}: the store changed although the write failed");

        let batches = store.applied_batches();
        call(&e, &fx).unwrap_or_else(|err| panic!("{name}: {err:?}"));
        assert_eq!(store.applied_batches(), batches + 1, "{name}: one batch per call");
        let after = seen(&e);
        assert_ne!(after, before, "{name}: the call changes something");
        assert_eq!(seen(&reopened()), after, "{name}: the store holds what memory holds");
    }
}
