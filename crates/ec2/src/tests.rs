use std::sync::Arc;

use base::{Env, ManualClock, SeqIds};
use state::Store;

use super::*;

const ACCT: &str = "123456789012";
const USE1: &str = "us-east-1";
const EUW1: &str = "eu-west-1";

fn env() -> Env {
    Env { clock: Arc::new(ManualClock::at(1_700_000_000)), ids: Arc::new(SeqIds::default()) }
}

fn ec2_on(store: Arc<Store>) -> Ec2 {
    Ec2::open(ACCT, env(), store).expect("open")
}

fn ec2() -> Ec2 {
    ec2_on(Arc::new(Store::in_memory().expect("store")))
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| (*x).to_owned()).collect()
}

fn all() -> Paging {
    Paging::default()
}

fn max(n: i64, token: Option<String>) -> Paging {
    Paging { max_results: Some(n), next_token: token }
}

fn f(name: &str, values: &[&str]) -> Vec<Filter> {
    vec![Filter::new(name, values)]
}

fn is_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('-'))
        .is_some_and(|h| h.len() == 17 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn vpcs(e: &Ec2, region: &str, filters: &[Filter]) -> Vec<Vpc> {
    e.describe_vpcs(region, &[], filters, &all()).expect("describe vpcs").items
}

fn subnets(e: &Ec2, region: &str, filters: &[Filter]) -> Vec<Subnet> {
    e.describe_subnets(region, &[], filters, &all()).expect("describe subnets").items
}

fn groups(e: &Ec2, region: &str, filters: &[Filter]) -> Vec<SecurityGroup> {
    e.describe_security_groups(region, &[], &[], filters, &all()).expect("describe groups").items
}

fn enis(e: &Ec2, region: &str, filters: &[Filter]) -> Vec<NetworkInterface> {
    e.describe_network_interfaces(region, &[], filters, &all()).expect("describe enis").items
}

fn default_subnet(e: &Ec2, region: &str, letter: char) -> Subnet {
    let zone = format!("{region}{letter}");
    subnets(e, region, &f("availability-zone", &[&zone])).pop().expect("default subnet")
}

fn eni_in(subnet: &str) -> NewNetworkInterface {
    NewNetworkInterface { subnet_id: subnet.to_owned(), ..NewNetworkInterface::default() }
}

fn code<T: std::fmt::Debug>(r: Result<T, Ec2Error>) -> &'static str {
    r.expect_err("expected an error").code()
}

// ----- defaults -----

#[test]
fn region_defaults_have_ec2_shapes() {
    let e = ec2();
    let v = vpcs(&e, USE1, &[]);
    assert_eq!(v.len(), 1);
    let vpc = &v[0];
    assert!(is_id(&vpc.vpc_id, "vpc"), "{}", vpc.vpc_id);
    assert!(is_id(&vpc.dhcp_options_id, "dopt"));
    assert!(vpc.cidr_block_association_id.starts_with("vpc-cidr-assoc-"));
    assert_eq!(
        (
            vpc.cidr_block.as_str(),
            vpc.is_default,
            vpc.state.as_str(),
            vpc.instance_tenancy.as_str(),
            vpc.owner_id.as_str()
        ),
        ("172.31.0.0/16", true, "available", "default", ACCT)
    );

    let subs = subnets(&e, USE1, &[]);
    assert_eq!(subs.len(), 3);
    let mut got: Vec<(String, String, String)> = subs
        .iter()
        .map(|s| (s.availability_zone.clone(), s.availability_zone_id.clone(), s.cidr_block.clone()))
        .collect();
    got.sort();
    let want = [
        ("us-east-1a", "use1-az1", "172.31.0.0/20"),
        ("us-east-1b", "use1-az2", "172.31.16.0/20"),
        ("us-east-1c", "use1-az3", "172.31.32.0/20"),
    ];
    assert_eq!(
        got,
        want.iter().map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned())).collect::<Vec<_>>()
    );
    for sub in &subs {
        assert!(is_id(&sub.subnet_id, "subnet"));
        assert_eq!(sub.vpc_id, vpc.vpc_id);
        assert!(sub.default_for_az && sub.map_public_ip_on_launch);
        assert_eq!(sub.available_ip_address_count, 4091);
        assert_eq!(sub.state, "available");
        assert_eq!(sub.subnet_arn, format!("arn:aws:ec2:us-east-1:{ACCT}:subnet/{}", sub.subnet_id));
    }

    let gs = groups(&e, USE1, &[]);
    assert_eq!(gs.len(), 1);
    let g = &gs[0];
    assert!(is_id(&g.group_id, "sg"));
    assert_eq!(
        (g.group_name.as_str(), g.description.as_str(), g.vpc_id.as_str()),
        ("default", "default VPC security group", vpc.vpc_id.as_str())
    );
    assert_eq!(g.arn, format!("arn:aws:ec2:us-east-1:{ACCT}:security-group/{}", g.group_id));
    let ingress = g.ip_permissions();
    assert_eq!(ingress.len(), 1);
    assert_eq!(ingress[0].ip_protocol, "-1");
    assert_eq!(ingress[0].groups[0].group_id.as_deref(), Some(g.group_id.as_str()));
    assert_eq!(ingress[0].groups[0].user_id.as_deref(), Some(ACCT));
    let egress = g.ip_permissions_egress();
    assert_eq!(egress.len(), 1);
    assert_eq!((egress[0].ip_protocol.as_str(), egress[0].ip_ranges[0].cidr.as_str()), ("-1", "0.0.0.0/0"));
    assert!(g.rules.iter().all(|r| is_id(&r.rule_id, "sgr")));
    assert!(enis(&e, USE1, &[]).is_empty());
}

#[test]
fn regions_are_independent_and_defaults_deterministic() {
    let e = ec2();
    let use1 = vpcs(&e, USE1, &[]).remove(0);
    let euw1 = vpcs(&e, EUW1, &[]).remove(0);
    assert_ne!(use1.vpc_id, euw1.vpc_id);
    assert_eq!(default_subnet(&e, EUW1, 'b').availability_zone_id, "euw1-az2");
    e.create_vpc(USE1, "10.0.0.0/16", vec![]).expect("vpc");
    assert_eq!(vpcs(&e, USE1, &[]).len(), 2);
    assert_eq!(vpcs(&e, EUW1, &[]).len(), 1);
    assert_eq!(code(e.describe_vpcs(EUW1, std::slice::from_ref(&use1.vpc_id), &[], &all())), "InvalidVpcID.NotFound");

    // Another daxd on a fresh store: the same ids; another account: different ids.
    let again = ec2();
    assert_eq!(vpcs(&again, USE1, &[]).remove(0), use1);
    assert_eq!(groups(&again, EUW1, &[]), groups(&e, EUW1, &[]));
    let other = Ec2::open("210987654321", env(), Arc::new(Store::in_memory().expect("store"))).expect("open");
    assert_ne!(vpcs(&other, USE1, &[]).remove(0).vpc_id, use1.vpc_id);
    assert_eq!(code(e.describe_vpcs("not-a-region", &[], &[], &all())), "InvalidParameterValue");
}

#[test]
fn region_short_codes_and_zones() {
    let cases = [
        ("us-east-1", "use1"),
        ("us-west-2", "usw2"),
        ("eu-central-1", "euc1"),
        ("eu-north-1", "eun1"),
        ("ap-southeast-2", "apse2"),
        ("ap-northeast-1", "apne1"),
        ("sa-east-1", "sae1"),
        ("us-gov-west-1", "usgw1"),
        ("il-central-1", "ilc1"),
    ];
    for (region, short) in cases {
        assert_eq!(region_short_code(region), short, "{region}");
    }
    let e = ec2();
    let zones = e.describe_availability_zones(USE1, &[], &[], &[]).expect("zones");
    assert_eq!(
        zones.iter().map(|z| z.zone_name.as_str()).collect::<Vec<_>>(),
        ["us-east-1a", "us-east-1b", "us-east-1c"]
    );
    let z = &zones[1];
    assert_eq!(
        (
            z.zone_id.as_str(),
            z.state.as_str(),
            z.region_name.as_str(),
            z.group_name.as_str(),
            z.network_border_group.as_str(),
            z.zone_type.as_str(),
            z.opt_in_status.as_str()
        ),
        ("use1-az2", "available", USE1, USE1, USE1, "availability-zone", "opt-in-not-required")
    );
    let by_name = e.describe_availability_zones(USE1, &s(&["us-east-1c"]), &[], &[]).expect("by name");
    assert_eq!(by_name[0].zone_id, "use1-az3");
    let by_id = e.describe_availability_zones(USE1, &[], &s(&["use1-az1"]), &[]).expect("by id");
    assert_eq!(by_id[0].zone_name, "us-east-1a");
    let filtered = e.describe_availability_zones(USE1, &[], &[], &f("zone-name", &["*b", "*c"])).expect("filter");
    assert_eq!(filtered.len(), 2);
    assert_eq!(e.describe_availability_zones(USE1, &[], &[], &f("state", &["impaired"])).expect("none").len(), 0);
    let bad = e.describe_availability_zones(USE1, &s(&["us-east-1z"]), &[], &[]).expect_err("bad zone");
    assert_eq!(
        (bad.code(), bad.to_string().as_str()),
        ("InvalidParameterValue", "Invalid availability zone: [us-east-1z]")
    );
    assert_eq!(code(e.describe_availability_zones(USE1, &[], &s(&["use1-az9"]), &[])), "InvalidParameterValue");
    assert_eq!(code(e.describe_availability_zones(USE1, &[], &[], &f("zone", &["x"]))), "InvalidParameterValue");
}

// ----- VPCs and subnets -----

#[test]
fn vpc_lifecycle_and_errors() {
    let e = ec2();
    let vpc = e.create_vpc(USE1, "10.1.0.0/16", vec![Tag::new("Name", "dax-lab")]).expect("create");
    assert!(is_id(&vpc.vpc_id, "vpc"));
    assert!(!vpc.is_default);
    assert_eq!(vpc.dhcp_options_id, vpcs(&e, USE1, &f("isDefault", &["true"]))[0].dhcp_options_id);
    let own = e.describe_vpcs(USE1, std::slice::from_ref(&vpc.vpc_id), &[], &all()).expect("by id").items;
    assert_eq!(own, vec![vpc.clone()]);
    // The new VPC has its own default group.
    let g = e.default_security_group(USE1, &vpc.vpc_id).expect("default group");
    assert_eq!(g.description, DEFAULT_GROUP_DESCRIPTION);
    assert_eq!(g.ip_permissions()[0].groups[0].group_id.as_deref(), Some(g.group_id.as_str()));

    let cases: Vec<(Result<Vpc, Ec2Error>, &str, &str)> = vec![
        (e.create_vpc(USE1, "10.0.0.0/8", vec![]), "InvalidVpc.Range", "The CIDR '10.0.0.0/8' is invalid."),
        (e.create_vpc(USE1, "10.0.0.0/29", vec![]), "InvalidVpc.Range", "The CIDR '10.0.0.0/29' is invalid."),
        (
            e.create_vpc(USE1, "10.0.0.1/16", vec![]),
            "InvalidParameterValue",
            "Value (10.0.0.1/16) for parameter cidrBlock is invalid. This is not a valid CIDR block.",
        ),
        (
            e.create_vpc(USE1, "banana", vec![]),
            "InvalidParameterValue",
            "Value (banana) for parameter cidrBlock is invalid. This is not a valid CIDR block.",
        ),
        (e.create_vpc(USE1, "", vec![]), "MissingParameter", "The request must contain the parameter cidrBlock"),
        (
            e.create_vpc(USE1, "10.2.0.0/16", vec![Tag::new("aws:x", "1")]),
            "InvalidParameterValue",
            "Tag keys starting with 'aws:' are reserved for internal use",
        ),
        (
            e.create_vpc(USE1, "10.2.0.0/16", (0..51).map(|i| Tag::new(&i.to_string(), "")).collect()),
            "TagLimitExceeded",
            "The maximum number of Tags for a resource has been reached.",
        ),
    ];
    for (got, want_code, want_msg) in cases {
        let err = got.expect_err(want_code);
        assert_eq!((err.code(), err.to_string().as_str()), (want_code, want_msg));
    }
    let nf = e.delete_vpc(USE1, "vpc-x").expect_err("not found");
    assert_eq!((nf.code(), nf.to_string().as_str()), ("InvalidVpcID.NotFound", "The vpc ID 'vpc-x' does not exist"));
    assert_eq!(code(e.describe_vpcs(USE1, &s(&["vpc-0000"]), &[], &all())), "InvalidVpcID.NotFound");

    // Dependencies: a subnet, then a non-default group.
    let sub = e.create_subnet(USE1, &vpc.vpc_id, "10.1.0.0/24", None, vec![]).expect("subnet");
    let dep = e.delete_vpc(USE1, &vpc.vpc_id).expect_err("dependency");
    assert_eq!(
        (dep.code(), dep.to_string()),
        ("DependencyViolation", format!("The vpc '{}' has dependencies and cannot be deleted.", vpc.vpc_id))
    );
    e.delete_subnet(USE1, &sub.subnet_id).expect("delete subnet");
    let sg = e.create_security_group(USE1, "app", "app", Some(&vpc.vpc_id), vec![]).expect("sg");
    assert_eq!(code(e.delete_vpc(USE1, &vpc.vpc_id)), "DependencyViolation");
    e.delete_security_group(USE1, &GroupRef::Id(sg.group_id)).expect("delete sg");
    e.delete_vpc(USE1, &vpc.vpc_id).expect("delete vpc");
    assert_eq!(vpcs(&e, USE1, &[]).len(), 1);
    assert!(e.security_group(USE1, &g.group_id).is_none(), "the default group goes with its VPC");
}

#[test]
fn subnet_lifecycle_and_errors() {
    let e = ec2();
    let vpc = e.create_vpc(USE1, "10.0.0.0/16", vec![]).expect("vpc");
    let sub = e
        .create_subnet(USE1, &vpc.vpc_id, "10.0.1.0/24", Some("us-east-1b"), vec![Tag::new("Name", "a")])
        .expect("subnet");
    assert!(is_id(&sub.subnet_id, "subnet"));
    assert_eq!(
        (
            sub.availability_zone.as_str(),
            sub.availability_zone_id.as_str(),
            sub.available_ip_address_count,
            sub.default_for_az,
            sub.map_public_ip_on_launch
        ),
        ("us-east-1b", "use1-az2", 251, false, false)
    );
    let first_zone = e.create_subnet(USE1, &vpc.vpc_id, "10.0.2.0/28", None, vec![]).expect("no zone");
    assert_eq!((first_zone.availability_zone.as_str(), first_zone.available_ip_address_count), ("us-east-1a", 11));
    assert_eq!(e.subnet(USE1, &sub.subnet_id), Some(sub.clone()));

    let zone_msg = "Value (eu-west-1a) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: us-east-1a, us-east-1b, us-east-1c.";
    let cases: Vec<(Result<Subnet, Ec2Error>, &str, String)> = vec![
        (
            e.create_subnet(USE1, &vpc.vpc_id, "10.1.0.0/24", None, vec![]),
            "InvalidSubnet.Range",
            "The CIDR '10.1.0.0/24' is invalid.".into(),
        ),
        (
            e.create_subnet(USE1, &vpc.vpc_id, "10.0.9.0/29", None, vec![]),
            "InvalidSubnet.Range",
            "The CIDR '10.0.9.0/29' is invalid.".into(),
        ),
        (
            e.create_subnet(USE1, &vpc.vpc_id, "10.0.1.128/25", None, vec![]),
            "InvalidSubnet.Conflict",
            "The CIDR '10.0.1.128/25' conflicts with another subnet".into(),
        ),
        (
            e.create_subnet(USE1, &vpc.vpc_id, "10.0.0.0/20", None, vec![]),
            "InvalidSubnet.Conflict",
            "The CIDR '10.0.0.0/20' conflicts with another subnet".into(),
        ),
        (
            e.create_subnet(USE1, &vpc.vpc_id, "10.0.3.0/24", Some("eu-west-1a"), vec![]),
            "InvalidParameterValue",
            zone_msg.into(),
        ),
        (
            e.create_subnet(USE1, "vpc-nope", "10.0.3.0/24", None, vec![]),
            "InvalidVpcID.NotFound",
            "The vpc ID 'vpc-nope' does not exist".into(),
        ),
        (
            e.create_subnet(USE1, &vpc.vpc_id, "10.0.3.0", None, vec![]),
            "InvalidParameterValue",
            "Value (10.0.3.0) for parameter cidrBlock is invalid. This is not a valid CIDR block.".into(),
        ),
        (
            e.create_subnet(USE1, "", "10.0.3.0/24", None, vec![]),
            "MissingParameter",
            "The request must contain the parameter vpcId".into(),
        ),
    ];
    for (got, want_code, want_msg) in cases {
        let err = got.expect_err(want_code);
        assert_eq!((err.code(), err.to_string()), (want_code, want_msg));
    }
    // The same block in another VPC does not conflict.
    let other = e.create_vpc(USE1, "10.0.0.0/16", vec![]).expect("overlapping vpc");
    e.create_subnet(USE1, &other.vpc_id, "10.0.1.0/24", None, vec![]).expect("same block elsewhere");

    let nf = e.delete_subnet(USE1, "subnet-x").expect_err("not found");
    assert_eq!(
        (nf.code(), nf.to_string().as_str()),
        ("InvalidSubnetID.NotFound", "The subnet ID 'subnet-x' does not exist")
    );
    assert_eq!(code(e.describe_subnets(USE1, &s(&["subnet-x"]), &[], &all())), "InvalidSubnetID.NotFound");
    e.create_network_interface(USE1, eni_in(&sub.subnet_id)).expect("eni");
    let dep = e.delete_subnet(USE1, &sub.subnet_id).expect_err("dependency");
    assert_eq!(
        (dep.code(), dep.to_string()),
        ("DependencyViolation", format!("The subnet '{}' has dependencies and cannot be deleted.", sub.subnet_id))
    );
    e.delete_subnet(USE1, &first_zone.subnet_id).expect("delete");
    assert!(e.subnet(USE1, &first_zone.subnet_id).is_none());
}

// ----- security groups -----

#[test]
fn security_group_lifecycle_and_errors() {
    let e = ec2();
    let default_vpc = e.default_vpc(USE1).expect("default vpc");
    let g = e.create_security_group(USE1, "dax", "DAX nodes", None, vec![Tag::new("team", "db")]).expect("create");
    assert!(is_id(&g.group_id, "sg"));
    assert_eq!(g.vpc_id, default_vpc.vpc_id);
    assert!(g.ip_permissions().is_empty());
    assert_eq!(g.ip_permissions_egress()[0].ip_ranges[0].cidr, "0.0.0.0/0");
    let by_name = e.describe_security_groups(USE1, &[], &s(&["dax"]), &[], &all()).expect("by name").items;
    assert_eq!(by_name, vec![g.clone()]);
    let both = e
        .describe_security_groups(USE1, std::slice::from_ref(&g.group_id), &s(&["default"]), &[], &all())
        .expect("union")
        .items;
    assert_eq!(both.len(), 2);

    let dup = e.create_security_group(USE1, "dax", "again", None, vec![]).expect_err("dup");
    assert_eq!(
        (dup.code(), dup.to_string()),
        ("InvalidGroup.Duplicate", format!("The security group 'dax' already exists for VPC '{}'", default_vpc.vpc_id))
    );
    let dup_default = e.create_security_group(USE1, "default", "x", None, vec![]).expect_err("default exists");
    assert_eq!(dup_default.code(), "InvalidGroup.Duplicate");
    // The same name in another VPC is fine.
    let vpc = e.create_vpc(USE1, "10.0.0.0/16", vec![]).expect("vpc");
    e.create_security_group(USE1, "dax", "other vpc", Some(&vpc.vpc_id), vec![]).expect("same name elsewhere");

    let cases: Vec<(Result<SecurityGroup, Ec2Error>, &str, String)> = vec![
        (
            e.create_security_group(USE1, "", "d", None, vec![]),
            "MissingParameter",
            "The request must contain the parameter groupName".into(),
        ),
        (
            e.create_security_group(USE1, "n", "", None, vec![]),
            "MissingParameter",
            "The request must contain the parameter groupDescription".into(),
        ),
        (
            e.create_security_group(USE1, "sg-1", "d", None, vec![]),
            "InvalidParameterValue",
            "Group names may not be in the format sg-*".into(),
        ),
        (
            e.create_security_group(USE1, "n", "d", Some("vpc-gone"), vec![]),
            "InvalidVpcID.NotFound",
            "The vpc ID 'vpc-gone' does not exist".into(),
        ),
        (
            e.delete_security_group(USE1, &GroupRef::Id("banana".into())),
            "InvalidGroupId.Malformed",
            "Invalid id: \"banana\" (expecting \"sg-...\")".into(),
        ),
        (
            e.delete_security_group(USE1, &GroupRef::Id("sg-0123".into())),
            "InvalidGroup.NotFound",
            "The security group 'sg-0123' does not exist".into(),
        ),
        (
            e.delete_security_group(USE1, &GroupRef::Name("nope".into())),
            "InvalidGroup.NotFound",
            format!("The security group 'nope' does not exist in default VPC '{}'", default_vpc.vpc_id),
        ),
        (
            e.delete_security_group(USE1, &GroupRef::Id(String::new())),
            "MissingParameter",
            "The request must contain the parameter groupId".into(),
        ),
    ];
    for (got, want_code, want_msg) in cases {
        let err = got.expect_err(want_code);
        assert_eq!((err.code(), err.to_string()), (want_code, want_msg));
    }
    assert_eq!(code(e.describe_security_groups(USE1, &s(&["sg-zz"]), &[], &[], &all())), "InvalidGroupId.Malformed");
    assert_eq!(code(e.describe_security_groups(USE1, &s(&["sg-00"]), &[], &[], &all())), "InvalidGroup.NotFound");
    assert_eq!(code(e.describe_security_groups(USE1, &[], &s(&["nope"]), &[], &all())), "InvalidGroup.NotFound");

    let default_group = e.default_security_group(USE1, &default_vpc.vpc_id).expect("default");
    let cannot = e.delete_security_group(USE1, &GroupRef::Name("default".into())).expect_err("default");
    assert_eq!(
        (cannot.code(), cannot.to_string()),
        (
            "CannotDelete",
            format!(
                "the specified group: \"{}\" name: \"default\" cannot be deleted by a user",
                default_group.group_id
            )
        )
    );
    let deleted = e.delete_security_group(USE1, &GroupRef::Name("dax".into())).expect("delete by name");
    assert_eq!(deleted.group_id, g.group_id);
    assert!(e.security_group(USE1, &g.group_id).is_none());
}

#[test]
fn no_default_vpc_after_deleting_it() {
    let e = ec2();
    let vpc = e.default_vpc(USE1).expect("default");
    for sub in subnets(&e, USE1, &[]) {
        e.delete_subnet(USE1, &sub.subnet_id).expect("delete default subnet");
    }
    e.delete_vpc(USE1, &vpc.vpc_id).expect("delete default vpc");
    assert!(e.default_vpc(USE1).is_none());
    assert!(vpcs(&e, USE1, &[]).is_empty(), "defaults are not recreated");
    let err = e.create_security_group(USE1, "x", "x", None, vec![]).expect_err("no default vpc");
    assert_eq!((err.code(), err.to_string().as_str()), ("VPCIdNotSpecified", "No default VPC for this user"));
    assert_eq!(code(e.delete_security_group(USE1, &GroupRef::Name("x".into()))), "InvalidGroup.NotFound");
}

#[test]
fn ingress_rules_authorize_and_revoke() {
    let e = ec2();
    let g = e.create_security_group(USE1, "dax", "DAX", None, vec![]).expect("sg");
    let gref = GroupRef::Id(g.group_id.clone());
    let added = e
        .authorize_security_group_ingress(USE1, &gref, &[IpPermission::tcp(8111, &["0.0.0.0/0", "10.0.0.0/8"])])
        .expect("authorize");
    assert_eq!(added.len(), 2);
    assert!(added.iter().all(|r| is_id(&r.rule_id, "sgr") && !r.is_egress && r.group_id == g.group_id));

    let dup =
        e.authorize_security_group_ingress(USE1, &gref, &[IpPermission::tcp(8111, &["0.0.0.0/0"])]).expect_err("dup");
    assert_eq!(
        (dup.code(), dup.to_string().as_str()),
        (
            "InvalidPermission.Duplicate",
            "the specified rule \"peer: 0.0.0.0/0, TCP, from port: 8111, to port: 8111, ALLOW\" already exists"
        )
    );
    // A failed call changes nothing, even when its first permission was fine.
    let partly = [IpPermission::tcp(9111, &["0.0.0.0/0"]), IpPermission::tcp(8111, &["10.0.0.0/8"])];
    assert_eq!(code(e.authorize_security_group_ingress(USE1, &gref, &partly)), "InvalidPermission.Duplicate");
    assert_eq!(e.security_group(USE1, &g.group_id).expect("g").ip_permissions().len(), 1);
    // Duplicates within one request are duplicates too.
    assert_eq!(
        code(e.authorize_security_group_ingress(USE1, &gref, &[IpPermission::tcp(7, &["1.2.3.4/32", "1.2.3.4/32"])])),
        "InvalidPermission.Duplicate"
    );

    // Protocol spellings, ICMP defaults, IPv6 and group sources (by id and by name), descriptions.
    let perms = vec![
        IpPermission {
            ip_protocol: "6".into(),
            from_port: Some(9111),
            to_port: Some(9111),
            ipv6_ranges: vec![IpRange { cidr: "2001:DB8::/32".into(), description: Some("v6".into()) }],
            ..IpPermission::default()
        },
        IpPermission {
            ip_protocol: "icmp".into(),
            ip_ranges: vec![IpRange { cidr: "10.0.0.1/8".into(), description: None }],
            ..IpPermission::default()
        },
        IpPermission {
            ip_protocol: "all".into(),
            groups: vec![GroupPair { group_name: Some("default".into()), ..GroupPair::default() }],
            ..IpPermission::default()
        },
        IpPermission {
            ip_protocol: "udp".into(),
            from_port: Some(53),
            to_port: Some(53),
            groups: vec![GroupPair { group_id: Some(g.group_id.clone()), ..GroupPair::default() }],
            ..IpPermission::default()
        },
    ];
    let added = e.authorize_security_group_ingress(USE1, &gref, &perms).expect("mixed");
    assert_eq!(added.len(), 4);
    let described = e.security_group(USE1, &g.group_id).expect("g");
    let perms_out = described.ip_permissions();
    let find = |proto: &str| perms_out.iter().find(|p| p.ip_protocol == proto).cloned().expect(proto);
    assert_eq!(find("tcp").ip_ranges.len(), 2, "tcp 8111 has two ranges");
    let tcp9111 = perms_out.iter().find(|p| p.from_port == Some(9111)).expect("9111");
    assert_eq!(tcp9111.ipv6_ranges, vec![IpRange { cidr: "2001:db8::/32".into(), description: Some("v6".into()) }]);
    assert_eq!(
        (find("icmp").from_port, find("icmp").to_port, find("icmp").ip_ranges[0].cidr.as_str()),
        (Some(-1), Some(-1), "10.0.0.0/8")
    );
    let default_id = e.default_security_group(USE1, &g.vpc_id).expect("default").group_id;
    assert_eq!(find("-1").groups[0].group_id.as_deref(), Some(default_id.as_str()));
    assert_eq!((find("-1").from_port, find("-1").to_port), (None, None));
    assert_eq!(find("udp").groups[0].user_id.as_deref(), Some(ACCT));
    // A group another group's rule refers to cannot be deleted.
    let referenced = e.delete_security_group(USE1, &GroupRef::Id(default_id.clone()));
    assert_eq!(code(referenced), "CannotDelete");
    let other = e.create_security_group(USE1, "client", "c", None, vec![]).expect("client");
    e.authorize_security_group_ingress(
        USE1,
        &gref,
        &[IpPermission {
            ip_protocol: "tcp".into(),
            from_port: Some(1),
            to_port: Some(2),
            groups: vec![GroupPair { group_id: Some(other.group_id.clone()), ..GroupPair::default() }],
            ..IpPermission::default()
        }],
    )
    .expect("ref");
    let dep = e.delete_security_group(USE1, &GroupRef::Id(other.group_id.clone())).expect_err("referenced");
    assert_eq!(
        (dep.code(), dep.to_string()),
        ("DependencyViolation", format!("resource {} has a dependent object", other.group_id))
    );

    let bad = |p: IpPermission| code(e.authorize_security_group_ingress(USE1, &gref, &[p]));
    let cases: Vec<(IpPermission, &str)> = vec![
        (IpPermission { ip_protocol: "tcpx".into(), ..IpPermission::tcp(1, &["0.0.0.0/0"]) }, "InvalidParameterValue"),
        (IpPermission { ip_protocol: "256".into(), ..IpPermission::tcp(1, &["0.0.0.0/0"]) }, "InvalidParameterValue"),
        (IpPermission { ip_protocol: String::new(), ..IpPermission::tcp(1, &["0.0.0.0/0"]) }, "MissingParameter"),
        (IpPermission { to_port: None, ..IpPermission::tcp(1, &["0.0.0.0/0"]) }, "InvalidParameterValue"),
        (
            IpPermission { from_port: Some(10), to_port: Some(5), ..IpPermission::tcp(1, &["0.0.0.0/0"]) },
            "InvalidParameterValue",
        ),
        (IpPermission::tcp(70000, &["0.0.0.0/0"]), "InvalidParameterValue"),
        (
            IpPermission { ip_protocol: "icmp".into(), from_port: Some(300), ..IpPermission::tcp(1, &["0.0.0.0/0"]) },
            "InvalidParameterValue",
        ),
        (IpPermission::tcp(1, &["0.0.0.0/33"]), "InvalidParameterValue"),
        (
            IpPermission {
                ipv6_ranges: vec![IpRange { cidr: "nope/1".into(), description: None }],
                ..IpPermission::tcp(1, &[])
            },
            "InvalidParameterValue",
        ),
        (IpPermission::tcp(1, &[]), "MissingParameter"),
        (
            IpPermission {
                groups: vec![GroupPair { group_id: Some("sg-00".into()), ..GroupPair::default() }],
                ..IpPermission::tcp(1, &[])
            },
            "InvalidGroup.NotFound",
        ),
        (
            IpPermission {
                groups: vec![GroupPair { group_id: Some("xx".into()), ..GroupPair::default() }],
                ..IpPermission::tcp(1, &[])
            },
            "InvalidGroupId.Malformed",
        ),
        (
            IpPermission {
                groups: vec![GroupPair { group_name: Some("ghost".into()), ..GroupPair::default() }],
                ..IpPermission::tcp(1, &[])
            },
            "InvalidGroup.NotFound",
        ),
        (IpPermission { groups: vec![GroupPair::default()], ..IpPermission::tcp(1, &[]) }, "MissingParameter"),
        (
            IpPermission {
                ip_ranges: vec![IpRange { cidr: "1.1.1.1/32".into(), description: Some("d".repeat(256)) }],
                ..IpPermission::tcp(1, &[])
            },
            "InvalidParameterValue",
        ),
    ];
    for (p, want) in cases {
        assert_eq!(bad(p.clone()), want, "{p:?}");
    }
    let vpc = e.create_vpc(USE1, "10.9.0.0/16", vec![]).expect("vpc");
    let far = e.default_security_group(USE1, &vpc.vpc_id).expect("far");
    assert_eq!(
        bad(IpPermission {
            groups: vec![GroupPair { group_id: Some(far.group_id), ..GroupPair::default() }],
            ..IpPermission::tcp(1, &[])
        }),
        "InvalidParameterValue"
    );
    assert_eq!(code(e.authorize_security_group_ingress(USE1, &gref, &[])), "MissingParameter");
    assert_eq!(
        code(e.authorize_security_group_ingress(
            USE1,
            &GroupRef::Id("sg-ffff".into()),
            &[IpPermission::tcp(1, &["0.0.0.0/0"])]
        )),
        "InvalidGroup.NotFound"
    );

    // Revoke: by permission, partly unknown, by rule id, then nothing left to match.
    let out = e
        .revoke_security_group_ingress(
            USE1,
            &GroupRef::Name("dax".into()),
            &[IpPermission::tcp(8111, &["0.0.0.0/0", "192.168.0.0/16"])],
            &[],
        )
        .expect("revoke");
    assert_eq!(out.revoked.len(), 1);
    assert_eq!(out.unknown, vec![IpPermission::tcp(8111, &["192.168.0.0/16"])]);
    let nf = e
        .revoke_security_group_ingress(USE1, &gref, &[IpPermission::tcp(8111, &["0.0.0.0/0"])], &[])
        .expect_err("gone");
    assert_eq!(
        (nf.code(), nf.to_string().as_str()),
        ("InvalidPermission.NotFound", "The specified rule does not exist in this security group.")
    );
    let remaining = e.security_group(USE1, &g.group_id).expect("g");
    let some_rule = remaining.rules.iter().find(|r| !r.is_egress).expect("ingress").rule_id.clone();
    let out = e.revoke_security_group_ingress(USE1, &gref, &[], std::slice::from_ref(&some_rule)).expect("by id");
    assert_eq!(out.revoked[0].rule_id, some_rule);
    let err = e.revoke_security_group_ingress(USE1, &gref, &[], std::slice::from_ref(&some_rule)).expect_err("id gone");
    assert_eq!(
        (err.code(), err.to_string()),
        ("InvalidSecurityGroupRuleId.NotFound", format!("The security group rule ID '{some_rule}' does not exist"))
    );
    let egress_rule = remaining.rules.iter().find(|r| r.is_egress).expect("egress").rule_id.clone();
    assert_eq!(
        code(e.revoke_security_group_ingress(USE1, &gref, &[], &[egress_rule])),
        "InvalidSecurityGroupRuleId.NotFound"
    );
    assert_eq!(code(e.revoke_security_group_ingress(USE1, &gref, &[], &[])), "MissingParameter");
}

#[test]
fn rule_descriptions_and_quota() {
    let rule = |proto: &str, from: Option<i32>, to: Option<i32>, peer: Peer| SecurityGroupRule {
        rule_id: String::new(),
        group_id: "sg-1".into(),
        is_egress: false,
        ip_protocol: proto.into(),
        from_port: from,
        to_port: to,
        peer,
        description: None,
    };
    let cidr = || Peer::Cidr { cidr: "0.0.0.0/0".into() };
    let cases = [
        (rule("tcp", Some(8111), Some(8111), cidr()), "peer: 0.0.0.0/0, TCP, from port: 8111, to port: 8111, ALLOW"),
        (
            rule("udp", Some(1), Some(2), Peer::Group { group_id: "sg-2".into(), user_id: ACCT.into() }),
            "peer: sg-2, UDP, from port: 1, to port: 2, ALLOW",
        ),
        (rule("-1", None, None, cidr()), "peer: 0.0.0.0/0, ALL, ALLOW"),
        (rule("icmp", Some(8), Some(-1), cidr()), "peer: 0.0.0.0/0, ICMP, type: 8, code: -1, ALLOW"),
        (rule("50", None, None, Peer::Ipv6 { cidr: "::/0".into() }), "peer: ::/0, 50, ALLOW"),
    ];
    for (r, want) in cases {
        assert_eq!(r.describe(), want);
    }
    let e = ec2();
    let g = e.create_security_group(USE1, "big", "big", None, vec![]).expect("sg");
    let gref = GroupRef::Id(g.group_id);
    let sixty: Vec<IpPermission> = (1..=60).map(|p| IpPermission::tcp(p, &["0.0.0.0/0"])).collect();
    e.authorize_security_group_ingress(USE1, &gref, &sixty).expect("60 rules");
    let err =
        e.authorize_security_group_ingress(USE1, &gref, &[IpPermission::tcp(61, &["0.0.0.0/0"])]).expect_err("quota");
    assert_eq!(err.code(), "RulesPerSecurityGroupLimitExceeded");
}

// ----- network interfaces -----

#[test]
fn network_interfaces_allocate_addresses_and_count() {
    let e = ec2();
    let sub = default_subnet(&e, USE1, 'a');
    let default_group = e.default_security_group(USE1, &sub.vpc_id).expect("default");
    let a = e.create_network_interface(USE1, eni_in(&sub.subnet_id)).expect("a");
    assert!(is_id(&a.network_interface_id, "eni"));
    assert_eq!(
        (
            a.private_ip_address.as_str(),
            a.private_dns_name.as_str(),
            a.status.as_str(),
            a.interface_type.as_str(),
            a.description.as_str()
        ),
        ("172.31.0.4", "ip-172-31-0-4.ec2.internal", "available", "interface", "")
    );
    assert_eq!(
        (a.vpc_id.as_str(), a.availability_zone.as_str(), a.owner_id.as_str()),
        (sub.vpc_id.as_str(), "us-east-1a", ACCT)
    );
    assert_eq!(
        a.groups,
        vec![GroupIdentifier { group_id: default_group.group_id.clone(), group_name: "default".into() }]
    );
    assert!(!a.requester_managed && a.requester_id.is_none() && a.source_dest_check);
    let mac: Vec<&str> = a.mac_address.split(':').collect();
    assert!(
        mac.len() == 6 && mac.iter().all(|o| o.len() == 2 && o.bytes().all(|b| b.is_ascii_hexdigit())),
        "{}",
        a.mac_address
    );

    let g = e.create_security_group(USE1, "dax", "DAX", None, vec![]).expect("sg");
    let dax = e
        .create_network_interface(
            USE1,
            NewNetworkInterface {
                subnet_id: sub.subnet_id.clone(),
                description: Some("DAX-mycluster-a".into()),
                security_group_ids: vec![g.group_id.clone(), g.group_id.clone()],
                requester_managed: true,
                tags: vec![Tag::new("cluster", "mycluster")],
                ..NewNetworkInterface::default()
            },
        )
        .expect("dax eni");
    assert_eq!(dax.private_ip_address, "172.31.0.5");
    assert_eq!(
        (dax.status.as_str(), dax.requester_id.as_deref(), dax.requester_managed),
        ("in-use", Some(DAX_REQUESTER_ID), true)
    );
    assert_eq!(dax.groups, vec![GroupIdentifier { group_id: g.group_id.clone(), group_name: "dax".into() }]);
    let fixed = e
        .create_network_interface(
            USE1,
            NewNetworkInterface { private_ip_address: Some("172.31.15.254".into()), ..eni_in(&sub.subnet_id) },
        )
        .expect("fixed");
    assert_eq!(fixed.private_ip_address, "172.31.15.254");
    assert_eq!(e.subnet(USE1, &sub.subnet_id).expect("sub").available_ip_address_count, 4088);

    // Freed addresses are reused, and the count goes back up.
    e.delete_network_interface(USE1, &a.network_interface_id).expect("delete a");
    assert_eq!(e.subnet(USE1, &sub.subnet_id).expect("sub").available_ip_address_count, 4089);
    let b = e.create_network_interface(USE1, eni_in(&sub.subnet_id)).expect("b");
    assert_eq!(b.private_ip_address, "172.31.0.4");

    // Users cannot delete DAX's interface; DAX can.
    let in_use = e.delete_network_interface(USE1, &dax.network_interface_id).expect_err("in use");
    assert_eq!(
        (in_use.code(), in_use.to_string()),
        (
            "InvalidNetworkInterface.InUse",
            format!("The network interface '{}' is currently in use.", dax.network_interface_id)
        )
    );
    let dep = e.delete_security_group(USE1, &GroupRef::Id(g.group_id.clone())).expect_err("sg in use");
    assert_eq!(
        (dep.code(), dep.to_string()),
        ("DependencyViolation", format!("resource {} has a dependent object", g.group_id))
    );
    e.delete_network_interface_as_requester(USE1, &dax.network_interface_id).expect("requester delete");
    e.delete_security_group(USE1, &GroupRef::Id(g.group_id)).expect("sg free now");

    // Another region names its hosts after the region.
    let euw = e.create_network_interface(EUW1, eni_in(&default_subnet(&e, EUW1, 'c').subnet_id)).expect("euw1");
    assert_eq!(
        (euw.private_ip_address.as_str(), euw.private_dns_name.as_str()),
        ("172.31.32.4", "ip-172-31-32-4.eu-west-1.compute.internal")
    );
}

#[test]
fn network_interface_errors() {
    let e = ec2();
    let sub = default_subnet(&e, USE1, 'b');
    let vpc = e.create_vpc(USE1, "10.0.0.0/16", vec![]).expect("vpc");
    let small = e.create_subnet(USE1, &vpc.vpc_id, "10.0.0.0/28", None, vec![]).expect("small");
    let far_group = e.default_security_group(USE1, &vpc.vpc_id).expect("far").group_id;
    let five: Vec<String> = (0..6)
        .map(|i| e.create_security_group(USE1, &format!("g{i}"), "g", None, vec![]).expect("g").group_id)
        .collect();
    e.create_network_interface(
        USE1,
        NewNetworkInterface { private_ip_address: Some("172.31.16.10".into()), ..eni_in(&sub.subnet_id) },
    )
    .expect("taken");

    let with = |f: &dyn Fn(&mut NewNetworkInterface)| {
        let mut req = eni_in(&sub.subnet_id);
        f(&mut req);
        e.create_network_interface(USE1, req)
    };
    let cases: Vec<(Result<NetworkInterface, Ec2Error>, &str, String)> = vec![
        (
            e.create_network_interface(USE1, eni_in("subnet-none")),
            "InvalidSubnetID.NotFound",
            "The subnet ID 'subnet-none' does not exist".into(),
        ),
        (
            e.create_network_interface(USE1, eni_in("")),
            "MissingParameter",
            "The request must contain the parameter subnetId".into(),
        ),
        (
            with(&|r| r.security_group_ids = s(&["sg-0"])),
            "InvalidGroup.NotFound",
            "The security group 'sg-0' does not exist".into(),
        ),
        (
            with(&|r| r.security_group_ids = s(&["default"])),
            "InvalidGroupId.Malformed",
            "Invalid id: \"default\" (expecting \"sg-...\")".into(),
        ),
        (
            with(&|r| r.security_group_ids = vec![far_group.clone()]),
            "InvalidParameterValue",
            format!("Security group {far_group} and subnet {} belong to different networks.", sub.subnet_id),
        ),
        (
            with(&|r| r.security_group_ids = five.clone()),
            "SecurityGroupsPerInterfaceLimitExceeded",
            "The maximum number of security groups per interface has been reached.".into(),
        ),
        (
            with(&|r| r.private_ip_address = Some("172.31.16.10".into())),
            "InvalidIPAddress.InUse",
            "Address 172.31.16.10 is in use.".into(),
        ),
        (
            with(&|r| r.private_ip_address = Some("10.0.0.9".into())),
            "InvalidParameterValue",
            "Address 10.0.0.9 does not fall within the subnet's address range".into(),
        ),
        (
            with(&|r| r.private_ip_address = Some("172.31.16.2".into())),
            "InvalidParameterValue",
            format!("Address 172.31.16.2 is reserved by EC2 in subnet {}", sub.subnet_id),
        ),
        (
            with(&|r| r.private_ip_address = Some("nope".into())),
            "InvalidParameterValue",
            "Invalid value 'nope' for privateIpAddress".into(),
        ),
        (
            with(&|r| r.description = Some("d".repeat(256))),
            "InvalidParameterValue",
            "Description must not exceed 255 characters.".into(),
        ),
    ];
    for (got, want_code, want_msg) in cases {
        let err = got.expect_err(want_code);
        assert_eq!((err.code(), err.to_string()), (want_code, want_msg));
    }
    // A /28 has 11 usable addresses.
    for i in 0..11 {
        let eni = e.create_network_interface(USE1, eni_in(&small.subnet_id)).expect("fits");
        assert_eq!(eni.private_ip_address, format!("10.0.0.{}", i + 4));
    }
    assert_eq!(e.subnet(USE1, &small.subnet_id).expect("small").available_ip_address_count, 0);
    let full = e.create_network_interface(USE1, eni_in(&small.subnet_id)).expect_err("full");
    assert_eq!(
        (full.code(), full.to_string()),
        (
            "InsufficientFreeAddressesInSubnet",
            format!(
                "There are not enough free addresses in subnet '{}' to satisfy the requested number of instances.",
                small.subnet_id
            )
        )
    );

    let malformed = e.delete_network_interface(USE1, "eni_x").expect_err("malformed");
    assert_eq!(
        (malformed.code(), malformed.to_string().as_str()),
        ("InvalidNetworkInterfaceId.Malformed", "Invalid id: \"eni_x\" (expecting \"eni-...\")")
    );
    let nf = e.delete_network_interface(USE1, "eni-abc").expect_err("not found");
    assert_eq!(
        (nf.code(), nf.to_string().as_str()),
        ("InvalidNetworkInterfaceID.NotFound", "The networkInterface ID 'eni-abc' does not exist")
    );
    assert_eq!(
        code(e.describe_network_interfaces(USE1, &s(&["eni-abc"]), &[], &all())),
        "InvalidNetworkInterfaceID.NotFound"
    );
    assert_eq!(
        code(e.describe_network_interfaces(USE1, &s(&["abc"]), &[], &all())),
        "InvalidNetworkInterfaceId.Malformed"
    );
    assert_eq!(
        code(e.modify_network_interface_attribute(USE1, "eni-abc", NetworkInterfaceAttribute::SourceDestCheck(false))),
        "InvalidNetworkInterfaceID.NotFound"
    );
    assert_eq!(code(e.delete_network_interface(USE1, "")), "MissingParameter");
}

#[test]
fn client_tokens_are_idempotent() {
    let e = ec2();
    let sub = default_subnet(&e, USE1, 'a');
    let req = NewNetworkInterface {
        client_token: Some("tok-1".into()),
        description: Some("x".into()),
        ..eni_in(&sub.subnet_id)
    };
    let first = e.create_network_interface(USE1, req.clone()).expect("first");
    let again = e.create_network_interface(USE1, req).expect("again");
    assert_eq!(first, again);
    assert_eq!(enis(&e, USE1, &[]).len(), 1);
    assert_eq!(e.subnet(USE1, &sub.subnet_id).expect("sub").available_ip_address_count, 4090);
    let other =
        NewNetworkInterface { client_token: Some("tok-1".into()), ..eni_in(&default_subnet(&e, USE1, 'b').subnet_id) };
    assert_eq!(code(e.create_network_interface(USE1, other)), "IdempotentParameterMismatch");
}

#[test]
fn modify_network_interface_attributes() {
    let e = ec2();
    let sub = default_subnet(&e, USE1, 'a');
    let eni = e.create_network_interface(USE1, eni_in(&sub.subnet_id)).expect("eni");
    let id = eni.network_interface_id.clone();
    let g1 = e.create_security_group(USE1, "one", "1", None, vec![]).expect("g1");
    let g2 = e.create_security_group(USE1, "two", "2", None, vec![]).expect("g2");
    let out = e
        .modify_network_interface_attribute(
            USE1,
            &id,
            NetworkInterfaceAttribute::SecurityGroups(vec![g2.group_id.clone(), g1.group_id.clone()]),
        )
        .expect("groups");
    assert_eq!(out.groups.iter().map(|g| g.group_name.as_str()).collect::<Vec<_>>(), ["two", "one"]);
    e.modify_network_interface_attribute(USE1, &id, NetworkInterfaceAttribute::Description("DAX-c1-a".into()))
        .expect("description");
    e.modify_network_interface_attribute(USE1, &id, NetworkInterfaceAttribute::SourceDestCheck(false)).expect("sdc");
    let now =
        e.describe_network_interfaces(USE1, std::slice::from_ref(&id), &[], &all()).expect("describe").items.remove(0);
    assert_eq!((now.description.as_str(), now.source_dest_check, now.groups.len()), ("DAX-c1-a", false, 2));
    // The default group is free again; g1 is not.
    assert_eq!(code(e.delete_security_group(USE1, &GroupRef::Id(g1.group_id.clone()))), "DependencyViolation");

    let cases = [
        (NetworkInterfaceAttribute::SecurityGroups(vec![]), "MissingParameter"),
        (NetworkInterfaceAttribute::SecurityGroups(s(&["sg-0"])), "InvalidGroup.NotFound"),
        (NetworkInterfaceAttribute::SecurityGroups(s(&["nope"])), "InvalidGroupId.Malformed"),
        (NetworkInterfaceAttribute::Description("d".repeat(300)), "InvalidParameterValue"),
    ];
    for (attr, want) in cases {
        assert_eq!(code(e.modify_network_interface_attribute(USE1, &id, attr.clone())), want, "{attr:?}");
    }
    assert_eq!(e.network_interfaces_with_description_prefix(USE1, "DAX-c1-").len(), 1);
    assert!(e.network_interfaces_with_description_prefix(USE1, "DAX-c2-").is_empty());
    assert!(e.network_interfaces_with_description_prefix(EUW1, "DAX-c1-").is_empty());
}

// ----- filters and paging -----

#[test]
fn filters_with_wildcards() {
    let e = ec2();
    let vpc =
        e.create_vpc(USE1, "10.0.0.0/16", vec![Tag::new("Name", "dax-lab"), Tag::new("env", "test")]).expect("vpc");
    let sub = e
        .create_subnet(USE1, &vpc.vpc_id, "10.0.5.0/24", Some("us-east-1c"), vec![Tag::new("Name", "dax-private")])
        .expect("subnet");
    let sg = e.create_security_group(USE1, "dax-nodes", "DAX cluster nodes", Some(&vpc.vpc_id), vec![]).expect("sg");
    e.authorize_security_group_ingress(
        USE1,
        &GroupRef::Id(sg.group_id.clone()),
        &[IpPermission::tcp(8111, &["10.0.0.0/16"])],
    )
    .expect("rule");
    let dax = e
        .create_network_interface(
            USE1,
            NewNetworkInterface {
                description: Some("DAX-c1-a".into()),
                requester_managed: true,
                security_group_ids: vec![sg.group_id.clone()],
                ..eni_in(&sub.subnet_id)
            },
        )
        .expect("dax");
    e.create_network_interface(
        USE1,
        NewNetworkInterface { description: Some("mine".into()), ..eni_in(&sub.subnet_id) },
    )
    .expect("mine");

    let vpc_cases: Vec<(Vec<Filter>, usize)> = vec![
        (f("isDefault", &["true"]), 1),
        (f("is-default", &["false"]), 1),
        (f("cidr-block", &["10.*"]), 1),
        (f("cidrBlock", &["172.31.0.0/16", "10.0.0.0/16"]), 2),
        (f("tag:Name", &["dax-*"]), 1),
        (f("tag:Name", &["DAX-*"]), 0),
        (f("tag-key", &["env"]), 1),
        (f("tag-value", &["te?t"]), 1),
        (f("state", &["available"]), 2),
        (f("vpc-id", &[&vpc.vpc_id]), 1),
        (f("owner-id", &[ACCT]), 2),
        (vec![Filter::new("is-default", &["false"]), Filter::new("tag:env", &["prod"])], 0),
    ];
    for (filters, n) in vpc_cases {
        assert_eq!(vpcs(&e, USE1, &filters).len(), n, "{filters:?}");
    }
    let subnet_cases: Vec<(Vec<Filter>, usize)> = vec![
        (f("availability-zone", &["us-east-1?"]), 4),
        (f("availabilityZone", &["*c"]), 2),
        (f("availability-zone-id", &["use1-az3"]), 2),
        (f("default-for-az", &["true"]), 3),
        (f("defaultForAz", &["false"]), 1),
        (f("vpc-id", &[&vpc.vpc_id]), 1),
        (f("cidr-block", &["172.31.*"]), 3),
        (f("available-ip-address-count", &["249"]), 1),
        (f("tag:Name", &["*private"]), 1),
        (f("subnet-id", &[&sub.subnet_id]), 1),
        (f("map-public-ip-on-launch", &["true"]), 3),
    ];
    for (filters, n) in subnet_cases {
        assert_eq!(subnets(&e, USE1, &filters).len(), n, "{filters:?}");
    }
    let group_cases: Vec<(Vec<Filter>, usize)> = vec![
        (f("group-name", &["default"]), 2),
        (f("group-name", &["dax-*"]), 1),
        (f("description", &["*cluster*"]), 1),
        (f("vpc-id", &[&vpc.vpc_id]), 2),
        (f("group-id", &[&sg.group_id]), 1),
        (f("ip-permission.from-port", &["8111"]), 1),
        (f("ip-permission.cidr", &["10.0.0.0/16"]), 1),
        (f("ip-permission.protocol", &["-1"]), 2),
        (f("egress.ip-permission.cidr", &["0.0.0.0/0"]), 3),
    ];
    for (filters, n) in group_cases {
        assert_eq!(groups(&e, USE1, &filters).len(), n, "{filters:?}");
    }
    let eni_cases: Vec<(Vec<Filter>, usize)> = vec![
        (f("description", &["DAX-*"]), 1),
        (f("requester-managed", &["true"]), 1),
        (f("status", &["available"]), 1),
        (f("status", &["in-use", "available"]), 2),
        (f("group-id", &[&sg.group_id]), 1),
        (f("group-name", &["default"]), 1),
        (f("subnet-id", &[&sub.subnet_id]), 2),
        (f("vpc-id", &[&vpc.vpc_id]), 2),
        (f("availability-zone", &["us-east-1c"]), 2),
        (f("network-interface-id", &[&dax.network_interface_id]), 1),
        (f("private-ip-address", &["10.0.5.4"]), 1),
        (f("addresses.private-ip-address", &["10.0.5.*"]), 2),
        (f("requester-id", &[DAX_REQUESTER_ID]), 1),
        (f("interface-type", &["interface"]), 2),
    ];
    for (filters, n) in eni_cases {
        assert_eq!(enis(&e, USE1, &filters).len(), n, "{filters:?}");
    }

    let unknown = e.describe_vpcs(USE1, &[], &f("colour", &["red"]), &all()).expect_err("unknown filter");
    assert_eq!(
        (unknown.code(), unknown.to_string().as_str()),
        ("InvalidParameterValue", "The filter 'colour' is invalid")
    );
    assert_eq!(code(e.describe_subnets(USE1, &[], &f("zone-name", &["x"]), &all())), "InvalidParameterValue");
    assert_eq!(code(e.describe_security_groups(USE1, &[], &[], &f("name", &["x"]), &all())), "InvalidParameterValue");
    assert_eq!(code(e.describe_network_interfaces(USE1, &[], &f("tag:", &["x"]), &all())), "InvalidParameterValue");
}

#[test]
fn paging_through_every_listing() {
    let e = ec2();
    for i in 0..6 {
        e.create_vpc(USE1, &format!("10.{i}.0.0/16"), vec![]).expect("vpc");
    }
    // 7 VPCs: pages of 5 and 2.
    let p1 = e.describe_vpcs(USE1, &[], &[], &max(5, None)).expect("p1");
    assert_eq!(p1.items.len(), 5);
    let p2 = e.describe_vpcs(USE1, &[], &[], &max(5, p1.next_token.clone())).expect("p2");
    assert_eq!(p2.items.len(), 2);
    assert!(p2.next_token.is_none());
    let mut seen: Vec<String> = p1.items.iter().chain(&p2.items).map(|v| v.vpc_id.clone()).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 7);
    // Each of the 7 VPCs has its default group.
    let g1 = e.describe_security_groups(USE1, &[], &[], &[], &max(5, None)).expect("g1");
    let g2 = e.describe_security_groups(USE1, &[], &[], &[], &max(5, g1.next_token.clone())).expect("g2");
    assert_eq!((g1.items.len(), g2.items.len(), g2.next_token.is_none()), (5, 2, true));
    let s1 = e.describe_subnets(USE1, &[], &[], &max(5, None)).expect("s1");
    assert_eq!((s1.items.len(), s1.next_token.is_none()), (3, true));
    let sub = default_subnet(&e, USE1, 'a');
    for _ in 0..6 {
        e.create_network_interface(USE1, eni_in(&sub.subnet_id)).expect("eni");
    }
    let n1 = e.describe_network_interfaces(USE1, &[], &[], &max(5, None)).expect("n1");
    let n2 = e.describe_network_interfaces(USE1, &[], &[], &max(5, n1.next_token.clone())).expect("n2");
    assert_eq!((n1.items.len(), n2.items.len()), (5, 1));
    // Filters apply before paging.
    let f1 = e
        .describe_network_interfaces(USE1, &[], &f("private-ip-address", &["172.31.0.4", "172.31.0.9"]), &max(5, None))
        .expect("f1");
    assert_eq!((f1.items.len(), f1.next_token), (2, None));
    // Paging bounds and bad tokens.
    let low = e.describe_vpcs(USE1, &[], &[], &max(4, None)).expect_err("low");
    assert_eq!(
        (low.code(), low.to_string().as_str()),
        ("InvalidParameterValue", "Value ( 4 ) for parameter maxResults is invalid. Expecting a value greater than 5.")
    );
    assert_eq!(code(e.describe_subnets(USE1, &[], &[], &max(1001, None))), "InvalidParameterValue");
    let bad = e.describe_security_groups(USE1, &[], &[], &[], &max(5, Some("vpc-123".into()))).expect_err("token");
    assert_eq!((bad.code(), bad.to_string().as_str()), ("InvalidNextToken", "The token 'vpc-123' is invalid"));
    assert_eq!(code(e.describe_network_interfaces(USE1, &[], &[], &max(5, Some("eni-!".into())))), "InvalidNextToken");
    // An empty token is no token.
    assert_eq!(e.describe_vpcs(USE1, &[], &[], &max(5, Some(String::new()))).expect("empty token").items.len(), 5);
}

// ----- persistence -----

#[test]
fn state_survives_reopen_and_reset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    let (vpc, sub, sg, eni, default_ids);
    {
        let e = ec2_on(Arc::new(Store::open(&path).expect("open")));
        default_ids = vpcs(&e, EUW1, &[]).remove(0).vpc_id;
        vpc = e.create_vpc(USE1, "10.0.0.0/16", vec![Tag::new("k", "v")]).expect("vpc");
        sub = e.create_subnet(USE1, &vpc.vpc_id, "10.0.1.0/24", Some("us-east-1b"), vec![]).expect("subnet");
        sg = e.create_security_group(USE1, "dax", "DAX", Some(&vpc.vpc_id), vec![]).expect("sg");
        e.authorize_security_group_ingress(
            USE1,
            &GroupRef::Id(sg.group_id.clone()),
            &[IpPermission::tcp(8111, &["0.0.0.0/0"])],
        )
        .expect("rule");
        eni = e
            .create_network_interface(
                USE1,
                NewNetworkInterface {
                    security_group_ids: vec![sg.group_id.clone()],
                    requester_managed: true,
                    ..eni_in(&sub.subnet_id)
                },
            )
            .expect("eni");
    }
    let store = Arc::new(Store::open(&path).expect("reopen"));
    let e = ec2_on(Arc::clone(&store));
    assert_eq!(
        e.describe_vpcs(USE1, std::slice::from_ref(&vpc.vpc_id), &[], &all()).expect("vpc").items,
        vec![vpc.clone()]
    );
    let sub_now = e.subnet(USE1, &sub.subnet_id).expect("subnet");
    assert_eq!(sub_now.available_ip_address_count, 250);
    let sg_now = e.security_group(USE1, &sg.group_id).expect("sg");
    assert_eq!(sg_now.ip_permissions()[0].from_port, Some(8111));
    assert_eq!(enis(&e, USE1, &[]), vec![eni.clone()]);
    assert_eq!(vpcs(&e, EUW1, &[]).remove(0).vpc_id, default_ids);
    assert_eq!(vpcs(&e, USE1, &[]).len(), 2);
    // Ids handed out after a reopen do not collide with the reloaded ones.
    let fresh = e.create_security_group(USE1, "more", "more", Some(&vpc.vpc_id), vec![]).expect("fresh");
    assert_ne!(fresh.group_id, sg.group_id);

    // The admin reset: wipe and reload. Defaults come back with the same ids.
    store.wipe().expect("wipe");
    e.reload().expect("reload");
    assert!(e.security_group(USE1, &sg.group_id).is_none());
    assert_eq!(vpcs(&e, USE1, &[]).len(), 1);
    assert_eq!(vpcs(&e, EUW1, &[]).remove(0).vpc_id, default_ids);
}

#[test]
fn defaults_are_persisted_when_touched_not_when_peeked() {
    let store = Arc::new(Store::in_memory().expect("store"));
    let e = ec2_on(Arc::clone(&store));
    // The read helpers see a new region's defaults without writing them.
    let vpc = e.default_vpc(USE1).expect("default vpc");
    let group = e.default_security_group(USE1, &vpc.vpc_id).expect("default group");
    assert!(e.security_group(USE1, &group.group_id).is_some());
    assert!(store.scan(NS_REGIONS).expect("scan").is_empty());
    assert!(e.default_vpc("Nope").is_none() && e.subnet("bad", "subnet-1").is_none());
    // A describe touches the region: the defaults are written, with the same ids.
    assert_eq!(vpcs(&e, USE1, &[]), vec![vpc.clone()]);
    assert_eq!(store.scan(NS_REGIONS).expect("scan").len(), 1);
    assert_eq!(store.scan("ec2/us-east-1/subnets").expect("scan").len(), 3);
    assert_eq!(store.scan("ec2/us-east-1/security-groups").expect("scan").len(), 1);
    assert!(store.scan("ec2/eu-west-1/vpcs").expect("scan").is_empty());
    // A corrupt record is reported, not panicked on.
    store.apply(&[state::Op::put("ec2/us-east-1/vpcs", "vpc-bad", b"{".to_vec())]).expect("apply");
    assert_eq!(code(e.reload()), "InternalError");
}

#[test]
fn error_codes_and_statuses() {
    let cases: Vec<(Ec2Error, &str)> = vec![
        (Ec2Error::InvalidVpcIdNotFound("vpc-x".into()), "InvalidVpcID.NotFound"),
        (Ec2Error::InvalidSubnetIdNotFound("subnet-x".into()), "InvalidSubnetID.NotFound"),
        (Ec2Error::group_not_found("sg-x"), "InvalidGroup.NotFound"),
        (Ec2Error::InvalidGroupDuplicate { name: "x".into(), vpc_id: "vpc-y".into() }, "InvalidGroup.Duplicate"),
        (Ec2Error::InvalidGroupIdMalformed("x".into()), "InvalidGroupId.Malformed"),
        (Ec2Error::InvalidPermissionDuplicate("r".into()), "InvalidPermission.Duplicate"),
        (Ec2Error::InvalidPermissionNotFound, "InvalidPermission.NotFound"),
        (Ec2Error::InvalidSecurityGroupRuleIdNotFound("sgr-x".into()), "InvalidSecurityGroupRuleId.NotFound"),
        (Ec2Error::RulesPerSecurityGroupLimitExceeded, "RulesPerSecurityGroupLimitExceeded"),
        (Ec2Error::InvalidNetworkInterfaceIdNotFound("eni-x".into()), "InvalidNetworkInterfaceID.NotFound"),
        (Ec2Error::InvalidNetworkInterfaceIdMalformed("x".into()), "InvalidNetworkInterfaceId.Malformed"),
        (Ec2Error::InvalidNetworkInterfaceInUse("eni-x".into()), "InvalidNetworkInterface.InUse"),
        (Ec2Error::DependencyViolation("d".into()), "DependencyViolation"),
        (Ec2Error::CannotDelete("sg-x".into()), "CannotDelete"),
        (Ec2Error::InvalidParameterValue("v".into()), "InvalidParameterValue"),
        (Ec2Error::InvalidVpcRange("c".into()), "InvalidVpc.Range"),
        (Ec2Error::InvalidSubnetRange("c".into()), "InvalidSubnet.Range"),
        (Ec2Error::InvalidSubnetConflict("c".into()), "InvalidSubnet.Conflict"),
        (Ec2Error::InvalidAvailabilityZone { zone: "z".into(), valid: "a".into() }, "InvalidParameterValue"),
        (Ec2Error::MissingParameter("p".into()), "MissingParameter"),
        (Ec2Error::InvalidIpAddressInUse("ip".into()), "InvalidIPAddress.InUse"),
        (Ec2Error::InsufficientFreeAddressesInSubnet("subnet-x".into()), "InsufficientFreeAddressesInSubnet"),
        (Ec2Error::SecurityGroupsPerInterfaceLimitExceeded, "SecurityGroupsPerInterfaceLimitExceeded"),
        (Ec2Error::VpcIdNotSpecified, "VPCIdNotSpecified"),
        (Ec2Error::IdempotentParameterMismatch("m".into()), "IdempotentParameterMismatch"),
        (Ec2Error::InvalidNextToken("t".into()), "InvalidNextToken"),
        (Ec2Error::TagLimitExceeded, "TagLimitExceeded"),
    ];
    for (err, want) in cases {
        assert_eq!((err.code(), err.status()), (want, 400), "{err:?}");
    }
    let internal = Ec2Error::InternalError("disk".into());
    assert_eq!(
        (internal.code(), internal.status(), internal.to_string().as_str()),
        ("InternalError", 500, "An internal error has occurred")
    );
}
