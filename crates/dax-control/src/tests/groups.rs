//! Parameter groups and subnet groups.

use super::*;

fn pnv(name: &str, value: &str) -> ParameterNameValue {
    ParameterNameValue { parameter_name: name.into(), parameter_value: value.into() }
}

#[test]
fn default_parameters_are_awss() {
    let f = Fixture::new(0);
    let want = |name: &str, description: &'static str| Parameter {
        parameter_name: name.into(),
        parameter_type: "DEFAULT",
        parameter_value: "300000".into(),
        node_type_specific_values: vec![],
        description,
        source: "user",
        data_type: "integer",
        allowed_values: "0-",
        is_modifiable: "TRUE",
        change_type: "IMMEDIATE",
    };
    let expected = vec![
        want("query-ttl-millis", "Duration in milliseconds for queries to remain cached"),
        want(
            "record-ttl-millis",
            "Duration in milliseconds for records to remain valid in cache (Default: 0 = infinite)",
        ),
    ];
    let page = f.dax.describe_default_parameters(&Paging::default()).expect("defaults");
    assert_eq!((page.items.clone(), page.next_token), (expected.clone(), None));
    let page = f.dax.describe_parameters(R1, DEFAULT_PARAMETER_GROUP, None, &Paging::default()).expect("params");
    assert_eq!(page.items, expected);
    assert!(f
        .dax
        .describe_parameters(R1, DEFAULT_PARAMETER_GROUP, Some("system"), &Paging::default())
        .expect("p")
        .items
        .is_empty());
    assert_eq!(
        f.dax
            .describe_parameters(R1, DEFAULT_PARAMETER_GROUP, Some("user"), &Paging::default())
            .expect("p")
            .items
            .len(),
        2
    );
    let groups = f.dax.describe_parameter_groups(R1, &[], &Paging::default()).expect("groups").items;
    assert_eq!(
        groups,
        vec![ParameterGroup {
            parameter_group_name: "default.dax1.0".into(),
            description: Some("Default parameter group for dax1.0".into())
        }]
    );
}

#[test]
fn parameter_group_lifecycle_and_ttls() {
    let f = Fixture::new(0);
    let g = f.dax.create_parameter_group(R1, "Fast", Some("quick".into())).expect("create");
    assert_eq!(g, ParameterGroup { parameter_group_name: "Fast".into(), description: Some("quick".into()) });
    let params = f.dax.describe_parameters(R1, "Fast", None, &Paging::default()).expect("p").items;
    assert!(params.iter().all(|p| p.parameter_value == "300000"));
    f.create(R1, "c", 1).expect("cluster");
    assert_eq!(f.dax.ttls(R1, "c"), Some((300_000, 300_000)));
    assert_eq!(f.dax.ttls(R1, "nope"), None);
    assert_eq!(f.dax.ttls(R2, "c"), None);
    f.dax
        .update_cluster(
            R1,
            UpdateClusterInput {
                cluster_name: "c".into(),
                parameter_group_name: Some("Fast".into()),
                ..Default::default()
            },
        )
        .expect("switch");
    f.dax
        .update_parameter_group(R1, "Fast", &[pnv("record-ttl-millis", "0"), pnv("query-ttl-millis", "1500")])
        .expect("update");
    assert_eq!(f.dax.ttls(R1, "C"), Some((0, 1500)), "record, query");
    let params = f.dax.describe_parameters(R1, "Fast", None, &Paging::default()).expect("p").items;
    let values: Vec<_> = params.iter().map(|p| (p.parameter_name.as_str(), p.parameter_value.as_str())).collect();
    assert_eq!(values, [("query-ttl-millis", "1500"), ("record-ttl-millis", "0")]);

    let ipv = "InvalidParameterValueException";
    let cases: Vec<(&str, Result<(), DaxError>, &str)> = vec![
        ("dup", f.dax.create_parameter_group(R1, "Fast", None).map(|_| ()), "ParameterGroupAlreadyExistsFault"),
        (
            "dup default",
            f.dax.create_parameter_group(R1, DEFAULT_PARAMETER_GROUP, None).map(|_| ()),
            "ParameterGroupAlreadyExistsFault",
        ),
        ("empty name", f.dax.create_parameter_group(R1, "", None).map(|_| ()), ipv),
        (
            "default update",
            f.dax.update_parameter_group(R1, DEFAULT_PARAMETER_GROUP, &[pnv("query-ttl-millis", "1")]).map(|_| ()),
            ipv,
        ),
        ("unknown param", f.dax.update_parameter_group(R1, "Fast", &[pnv("cache-size", "1")]).map(|_| ()), ipv),
        ("negative", f.dax.update_parameter_group(R1, "Fast", &[pnv("query-ttl-millis", "-1")]).map(|_| ()), ipv),
        ("not a number", f.dax.update_parameter_group(R1, "Fast", &[pnv("query-ttl-millis", "5m")]).map(|_| ()), ipv),
        ("none", f.dax.update_parameter_group(R1, "Fast", &[]).map(|_| ()), ipv),
        (
            "too many",
            f.dax.update_parameter_group(R1, "Fast", &vec![pnv("query-ttl-millis", "1"); 21]).map(|_| ()),
            ipv,
        ),
        (
            "missing update",
            f.dax.update_parameter_group(R1, "nope", &[pnv("query-ttl-millis", "1")]).map(|_| ()),
            "ParameterGroupNotFoundFault",
        ),
        (
            "other region",
            f.dax.update_parameter_group(R2, "Fast", &[pnv("query-ttl-millis", "1")]).map(|_| ()),
            "ParameterGroupNotFoundFault",
        ),
        ("default delete", f.dax.delete_parameter_group(R1, DEFAULT_PARAMETER_GROUP).map(|_| ()), ipv),
        ("missing delete", f.dax.delete_parameter_group(R1, "nope").map(|_| ()), "ParameterGroupNotFoundFault"),
        ("in use", f.dax.delete_parameter_group(R1, "Fast").map(|_| ()), "InvalidParameterGroupStateFault"),
        (
            "describe missing",
            f.dax.describe_parameters(R1, "nope", None, &Paging::default()).map(|_| ()),
            "ParameterGroupNotFoundFault",
        ),
        (
            "describe groups missing",
            f.dax.describe_parameter_groups(R1, &["Fast".into(), "nope".into()], &Paging::default()).map(|_| ()),
            "ParameterGroupNotFoundFault",
        ),
    ];
    for (what, got, want) in cases {
        assert_eq!(code(got), want, "{what}");
    }
    assert_eq!(f.dax.ttls(R1, "c"), Some((0, 1500)), "failed updates changed nothing");
    let named = f.dax.describe_parameter_groups(R1, &["Fast".into()], &Paging::default()).expect("g").items;
    assert_eq!(named.len(), 1);
    f.dax
        .update_cluster(
            R1,
            UpdateClusterInput {
                cluster_name: "c".into(),
                parameter_group_name: Some(DEFAULT_PARAMETER_GROUP.into()),
                ..Default::default()
            },
        )
        .expect("back");
    assert_eq!(f.dax.ttls(R1, "c"), Some((300_000, 300_000)));
    assert_eq!(f.dax.delete_parameter_group(R1, "Fast").as_deref(), Ok("Parameter group Fast has been deleted."));
    assert_eq!(code(f.dax.describe_parameters(R1, "Fast", None, &Paging::default())), "ParameterGroupNotFoundFault");
    let events: Vec<_> = f
        .dax
        .describe_events(
            R1,
            &DescribeEventsInput { source_type: Some(SourceType::ParameterGroup), ..Default::default() },
        )
        .expect("events")
        .items
        .into_iter()
        .rev()
        .map(|e| (e.source_name, e.message))
        .collect();
    assert_eq!(
        events,
        [
            ("Fast".to_owned(), "Parameter group Fast created.".to_owned()),
            ("Fast".to_owned(), "Parameter group Fast updated.".to_owned()),
            ("Fast".to_owned(), "Parameter group Fast deleted.".to_owned()),
        ]
    );
}

#[test]
fn parameter_group_quota() {
    let f = Fixture::new(0);
    for i in 0..MAX_PARAMETER_GROUPS {
        f.dax.create_parameter_group(R1, &format!("g{i:02}"), None).expect("create");
    }
    assert_eq!(code(f.dax.create_parameter_group(R1, "one-more", None)), "ParameterGroupQuotaExceededFault");
    // 21 groups (the default included) page as 20 + 1.
    let p = Paging { max_results: Some(20), next_token: None };
    let first = f.dax.describe_parameter_groups(R1, &[], &p).expect("page");
    assert_eq!(first.items.len(), 20);
    let second = f.dax.describe_parameter_groups(R1, &[], &Paging { next_token: first.next_token, ..p }).expect("page");
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.next_token, None);
}

#[test]
fn subnet_groups() {
    let f = Fixture::new(0);
    let g = f
        .dax
        .create_subnet_group(
            R1,
            CreateSubnetGroupInput {
                subnet_group_name: "MyGroup".into(),
                description: Some("d".into()),
                subnet_ids: vec!["subnet-x".into(), "subnet-x".into()],
            },
        )
        .expect("create");
    assert_eq!(
        g,
        SubnetGroup {
            subnet_group_name: "mygroup".into(),
            description: Some("d".into()),
            vpc_id: "vpc-two".into(),
            subnets: vec![Subnet {
                subnet_identifier: "subnet-x".into(),
                subnet_availability_zone: "us-east-1a".into(),
                supported_network_types: vec![NetworkType::Ipv4, NetworkType::DualStack]
            }],
            supported_network_types: vec![NetworkType::Ipv4, NetworkType::DualStack],
        }
    );
    let all = f.dax.describe_subnet_groups(R1, &[], &Paging::default()).expect("all").items;
    assert_eq!(all.iter().map(|g| g.subnet_group_name.as_str()).collect::<Vec<_>>(), ["default", "mygroup"]);
    let def = &all[0];
    assert_eq!(def.vpc_id, "vpc-def");
    assert_eq!(
        def.subnets.iter().map(|s| s.subnet_identifier.as_str()).collect::<Vec<_>>(),
        ["subnet-us-east-1-a", "subnet-us-east-1-b", "subnet-us-east-1-c"]
    );
    assert_eq!(def.supported_network_types, [NetworkType::Ipv4]);

    let reserved =
        ("InvalidParameterValueException".to_owned(), "default is reserved and cannot be modified.".to_owned());
    assert_eq!(
        err(f.dax.create_subnet_group(
            R1,
            CreateSubnetGroupInput {
                subnet_group_name: "Default".into(),
                subnet_ids: vec!["subnet-x".into()],
                ..Default::default()
            }
        )),
        reserved
    );
    assert_eq!(
        err(f.dax.update_subnet_group(
            R1,
            UpdateSubnetGroupInput {
                subnet_group_name: "default".into(),
                description: Some("x".into()),
                ..Default::default()
            }
        )),
        reserved
    );
    assert_eq!(err(f.dax.delete_subnet_group(R1, "default")), reserved);

    let create = |name: &str, ids: &[&str]| {
        f.dax.create_subnet_group(
            R1,
            CreateSubnetGroupInput {
                subnet_group_name: name.into(),
                subnet_ids: ids.iter().map(|s| (*s).to_owned()).collect(),
                ..Default::default()
            },
        )
    };
    let many: Vec<String> = (0..21).map(|i| format!("subnet-{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let cases: Vec<(&str, Result<SubnetGroup, DaxError>, &str)> = vec![
        ("dup", create("MYGROUP", &["subnet-y"]), "SubnetGroupAlreadyExistsFault"),
        ("bad name", create("my_group", &["subnet-y"]), "InvalidParameterValueException"),
        ("no subnets", create("g", &[]), "InvalidParameterValueException"),
        ("unknown subnet", create("g", &["subnet-nope"]), "InvalidSubnet"),
        ("two vpcs", create("g", &["subnet-x", "subnet-z"]), "InvalidSubnet"),
        ("too many", create("g", &many), "SubnetQuotaExceededFault"),
        (
            "update missing",
            f.dax.update_subnet_group(
                R1,
                UpdateSubnetGroupInput { subnet_group_name: "nope".into(), ..Default::default() },
            ),
            "SubnetGroupNotFoundFault",
        ),
        (
            "describe missing",
            f.dax
                .describe_subnet_groups(R1, &["mygroup".into(), "nope".into()], &Paging::default())
                .map(|p| p.items[0].clone()),
            "SubnetGroupNotFoundFault",
        ),
    ];
    for (what, got, want) in cases {
        assert_eq!(code(got), want, "{what}");
    }
    assert_eq!(code(f.dax.delete_subnet_group(R1, "nope")), "SubnetGroupNotFoundFault");

    // In use: cannot delete; updates must keep the nodes' subnets and VPC.
    f.dax
        .create_cluster(R1, CreateClusterInput { subnet_group_name: Some("mygroup".into()), ..cluster_input("c", 1) })
        .expect("cluster");
    assert_eq!(code(f.dax.delete_subnet_group(R1, "MyGroup")), "SubnetGroupInUseFault");
    let update = |ids: &[&str]| {
        f.dax.update_subnet_group(
            R1,
            UpdateSubnetGroupInput {
                subnet_group_name: "mygroup".into(),
                subnet_ids: Some(ids.iter().map(|s| (*s).to_owned()).collect()),
                description: Some("new".into()),
            },
        )
    };
    assert_eq!(code(update(&["subnet-y"])), "SubnetInUse");
    assert_eq!(code(update(&["subnet-us-east-1-a"])), "InvalidSubnet");
    let g = update(&["subnet-y", "subnet-x"]).expect("update");
    assert_eq!((g.subnets.len(), g.description.as_deref()), (2, Some("new")));
    f.dax.delete_cluster(R1, "c").expect("delete");
    assert_eq!(f.dax.delete_subnet_group(R1, "mygroup").as_deref(), Ok("Subnet group mygroup has been deleted."));
    let events: Vec<_> = f
        .dax
        .describe_events(R1, &DescribeEventsInput { source_type: Some(SourceType::SubnetGroup), ..Default::default() })
        .expect("events")
        .items
        .into_iter()
        .rev()
        .map(|e| e.message)
        .collect();
    assert_eq!(
        events,
        ["Subnet group mygroup created.", "Subnet group mygroup updated.", "Subnet group mygroup deleted."]
    );
    // Without a default VPC there is no default group.
    f.net.no_default_vpc.lock().expect("lock").insert(R2.to_owned());
    assert!(f.dax.describe_subnet_groups(R2, &[], &Paging::default()).expect("r2").items.is_empty());
    assert_eq!(
        code(f.dax.describe_subnet_groups(R2, &["default".into()], &Paging::default())),
        "SubnetGroupNotFoundFault"
    );
}
