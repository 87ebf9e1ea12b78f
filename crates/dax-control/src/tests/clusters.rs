//! Clusters: validation, lifecycles, nodes, interfaces, ports, rollback.

use std::sync::atomic::Ordering;

use super::*;

#[test]
fn cluster_names() {
    for (given, stored) in [("a", "a"), ("My-Cluster", "my-cluster"), ("abcdefghij0123456789", "abcdefghij0123456789")]
    {
        assert_eq!(validate::cluster_name(given).as_deref(), Ok(stored), "{given}");
    }
    for bad in ["", "1invalid", "iИvalid", "in_valid", "invalid-", "in--valid", "-a", "abcdefghij01234567890", "a b"] {
        let (c, m) = err(validate::cluster_name(bad));
        assert_eq!(
            (c.as_str(), m.as_str()),
            ("InvalidParameterValueException", validate::INVALID_CLUSTER_ID),
            "{bad:?}"
        );
    }
}

#[test]
fn create_cluster_validation_errors() {
    let f = Fixture::new(0);
    f.create(R1, "taken", 1).expect("create");
    let with = |g: &dyn Fn(&mut CreateClusterInput)| {
        let mut i = cluster_input("fresh", 3);
        g(&mut i);
        f.dax.create_cluster(R1, i)
    };
    let ipv = "InvalidParameterValueException";
    type Case<'a> = (&'a str, Result<Cluster, DaxError>, &'a str, Option<&'a str>);
    let cases: Vec<Case> = vec![
        // The role ARN is checked before the name (moto's tests rely on it).
        (
            "arn",
            with(&|i| {
                i.iam_role_arn = "n/a".into();
                i.cluster_name = "1invalid".into()
            }),
            ipv,
            Some("ARNs must start with 'arn:': n/a"),
        ),
        ("arn2", with(&|i| i.iam_role_arn = "arn:sth".into()), ipv, Some("Second colon partition not found: arn:sth")),
        (
            "arn3",
            with(&|i| i.iam_role_arn = "arn:sth:aws".into()),
            ipv,
            Some("Third colon vendor not found: arn:sth:aws"),
        ),
        (
            "arn4",
            with(&|i| i.iam_role_arn = "arn:sth:aws:else".into()),
            ipv,
            Some("Fourth colon (region/namespace delimiter) not found: arn:sth:aws:else"),
        ),
        (
            "arn5",
            with(&|i| i.iam_role_arn = "arn:sth:aws:else:eu-west-1".into()),
            ipv,
            Some("Fifth colon (namespace/relative-id delimiter) not found: arn:sth:aws:else:eu-west-1"),
        ),
        ("name", with(&|i| i.cluster_name = "in--valid".into()), ipv, Some(validate::INVALID_CLUSTER_ID)),
        ("node type", with(&|i| i.node_type = "t3.small".into()), ipv, None),
        ("rf 0", with(&|i| i.replication_factor = 0), ipv, None),
        ("rf -1", with(&|i| i.replication_factor = -1), ipv, None),
        ("rf 12", with(&|i| i.replication_factor = 12), "NodeQuotaForClusterExceededFault", None),
        ("rf huge", with(&|i| i.replication_factor = i64::MAX), "NodeQuotaForClusterExceededFault", None),
        ("az count", with(&|i| i.availability_zones = Some(vec!["us-east-1a".into()])), ipv, None),
        (
            "az unknown",
            with(&|i| i.availability_zones = Some(vec!["us-east-1a".into(), "us-east-1b".into(), "us-east-1q".into()])),
            ipv,
            None,
        ),
        (
            "tags",
            with(&|i| i.tags = (0..51).map(|n| Tag::new(&format!("k{n}"), "v")).collect()),
            "TagQuotaPerResourceExceeded",
            None,
        ),
        ("window", with(&|i| i.preferred_maintenance_window = Some("sun:25:00-sun:26:00".into())), ipv, None),
        (
            "exists",
            with(&|i| i.cluster_name = "TAKEN".into()),
            "ClusterAlreadyExistsFault",
            Some("Cluster taken already exists."),
        ),
        ("param group", with(&|i| i.parameter_group_name = Some("nope".into())), "ParameterGroupNotFoundFault", None),
        ("subnet group", with(&|i| i.subnet_group_name = Some("nope".into())), "SubnetGroupNotFoundFault", None),
        ("sg unknown", with(&|i| i.security_group_ids = Some(vec!["sg-nope".into()])), ipv, None),
        ("sg other vpc", with(&|i| i.security_group_ids = Some(vec!["sg-two".into()])), ipv, None),
        ("ipv6", with(&|i| i.network_type = Some(NetworkType::Ipv6)), ipv, None),
        ("dual stack on ipv4 subnets", with(&|i| i.network_type = Some(NetworkType::DualStack)), ipv, None),
        (
            "role",
            with(&|i| i.iam_role_arn = "arn:aws:iam::123456789012:role/missing".into()),
            ipv,
            Some("No permission to assume role: arn:aws:iam::123456789012:role/missing"),
        ),
    ];
    for (what, got, want_code, want_msg) in cases {
        let (c, m) = err(got);
        assert_eq!(c, want_code, "{what}: {m}");
        if let Some(w) = want_msg {
            assert_eq!(m, w, "{what}");
        }
    }
    // Nothing was left behind by the failures.
    assert_eq!(f.net.live(), 1);
    assert_eq!(f.ports.in_use(), vec![8111]);
    // No default VPC: no default subnet group.
    f.net.no_default_vpc.lock().expect("lock").insert(R2.to_owned());
    assert_eq!(code(f.create(R2, "x", 1)), "SubnetGroupNotFoundFault");
}

#[test]
fn node_quota_per_region() {
    let f = Fixture::new(0);
    for i in 0..4 {
        f.create(R1, &format!("c{i}"), 11).expect("create");
    }
    f.create(R1, "c4", 6).expect("50 nodes");
    assert_eq!(code(f.create(R1, "c5", 1)), "NodeQuotaForCustomerExceededFault");
    f.create(R2, "c5", 1).expect("another region has its own quota");
}

#[test]
fn create_lifecycle_with_delay() {
    let f = Fixture::new(60);
    let c = f.create(R1, "DaxCluster", 3).expect("create");
    assert_eq!(c.cluster_name, "daxcluster");
    assert_eq!(c.cluster_arn, arn(R1, "daxcluster"));
    assert_eq!(c.status, ClusterStatus::Creating);
    assert_eq!((c.total_nodes, c.active_nodes), (3, 0));
    assert_eq!(c.nodes, None);
    assert_eq!(c.cluster_discovery_endpoint, Endpoint { address: None, port: 8111, url: None });
    assert_eq!(c.subnet_group, "default");
    assert_eq!(c.parameter_group.parameter_group_name, DEFAULT_PARAMETER_GROUP);
    assert_eq!(c.parameter_group.parameter_apply_status, "in-sync");
    assert_eq!(
        c.security_groups,
        vec![SecurityGroupMembership { security_group_identifier: "sg-def".into(), status: "active".into() }]
    );
    assert_eq!(c.sse_description.status, SseStatus::Disabled);
    assert_eq!(c.cluster_endpoint_encryption_type, EncryptionType::None);
    assert_eq!(c.network_type, NetworkType::Ipv4);
    assert_eq!(c.notification_configuration, None);
    assert_eq!(c.iam_role_arn, ROLE);
    assert_eq!(f.net.created.load(Ordering::SeqCst), 3);
    assert_eq!(f.ports.in_use(), vec![8111, 8112, 8113]);
    assert!(f.messages(R1).is_empty());

    f.advance(59);
    assert_eq!(f.describe(R1, "daxcluster").expect("describe"), c);
    f.advance(1);
    let c = f.describe(R1, "DAXCLUSTER").expect("describe");
    assert_eq!(c.status, ClusterStatus::Available);
    assert_eq!((c.total_nodes, c.active_nodes), (3, 3));
    assert_eq!(
        c.cluster_discovery_endpoint,
        Endpoint { address: Some("127.0.0.1".into()), port: 8111, url: Some("dax://127.0.0.1:8111".into()) }
    );
    let nodes = c.nodes.clone().expect("nodes");
    assert_eq!(node_ids(&c), ["daxcluster-a", "daxcluster-b", "daxcluster-c"]);
    // Spread over the three zones, in zone order.
    let zones: Vec<_> = nodes.iter().map(|n| n.availability_zone.clone().expect("az")).collect();
    assert_eq!(zones, ["us-east-1a", "us-east-1b", "us-east-1c"]);
    for (n, port) in nodes.iter().zip(8111..) {
        assert_eq!(n.node_status, NodeStatus::Available);
        assert_eq!(n.parameter_group_status.as_deref(), Some("in-sync"));
        assert_eq!(n.node_create_time, Some(1_700_000_000.0));
        assert_eq!(n.endpoint.as_ref().map(|e| e.port), Some(port));
        assert_eq!(n.endpoint.as_ref().and_then(|e| e.url.clone()), Some(format!("dax://127.0.0.1:{port}")));
    }
    assert_eq!(f.messages(R1), ["Cluster created."]);
    let ev = f.dax.describe_events(R1, &DescribeEventsInput::default()).expect("events").items;
    assert_eq!(
        (ev[0].source_name.as_str(), ev[0].source_type, ev[0].date),
        ("daxcluster", SourceType::Cluster, 1_700_000_060.0)
    );

    // Delete: interfaces go now, the cluster after the delay.
    let d = f.dax.delete_cluster(R1, "daxcluster").expect("delete");
    assert_eq!(d.status, ClusterStatus::Deleting);
    assert_eq!((d.total_nodes, d.active_nodes, d.nodes.clone()), (3, 0, None));
    assert_eq!(d.cluster_discovery_endpoint.address, None);
    assert_eq!(f.net.live(), 0);
    assert_eq!(f.net.deleted.load(Ordering::SeqCst), 3);
    assert_eq!(code(f.dax.delete_cluster(R1, "daxcluster")), "InvalidClusterStateFault");
    assert_eq!(f.ports.in_use().len(), 3, "ports are kept until the nodes are gone");
    f.advance(30);
    assert_eq!(f.describe(R1, "daxcluster").expect("still there").status, ClusterStatus::Deleting);
    f.advance(30);
    assert_eq!(
        err(f.describe(R1, "daxcluster")),
        ("ClusterNotFoundFault".into(), "Cluster daxcluster not found.".into())
    );
    assert!(f.ports.in_use().is_empty());
    assert_eq!(f.messages(R1), ["Cluster created.", "Cluster deleted."]);
    assert_eq!(
        err(f.dax.delete_cluster(R1, "daxcluster")),
        ("ClusterNotFoundFault".into(), "Cluster not found.".into())
    );
}

#[test]
fn zero_delay_is_immediate() {
    let f = Fixture::new(0);
    let c = f.create(R1, "quick", 2).expect("create");
    assert_eq!(c.status, ClusterStatus::Creating, "the response shows the transition");
    let c = f.describe(R1, "quick").expect("describe");
    assert_eq!((c.status, c.active_nodes), (ClusterStatus::Available, 2));
    let c = f
        .dax
        .increase_replication_factor(
            R1,
            IncreaseReplicationFactorInput {
                cluster_name: "quick".into(),
                new_replication_factor: 3,
                ..Default::default()
            },
        )
        .expect("increase");
    assert_eq!(c.status, ClusterStatus::Modifying);
    assert_eq!(f.describe(R1, "quick").expect("d").status, ClusterStatus::Available);
    let reboots = |f: &Fixture| f.dax.node_ports().iter().find(|p| p.node_id == "quick-a").map(|p| p.reboots);
    assert_eq!(reboots(&f), Some(0));
    f.dax.reboot_node(R1, "quick", "quick-a").expect("reboot");
    assert_eq!(f.describe(R1, "quick").expect("d").nodes.expect("n")[0].node_status, NodeStatus::Available);
    // Already over, but the reboot is not lost on whoever looks next (the node's cache).
    assert_eq!(reboots(&f), Some(1));
    f.dax
        .decrease_replication_factor(
            R1,
            DecreaseReplicationFactorInput {
                cluster_name: "quick".into(),
                new_replication_factor: 1,
                ..Default::default()
            },
        )
        .expect("decrease");
    assert_eq!(node_ids(&f.describe(R1, "quick").expect("d")), ["quick-a"]);
    f.dax.delete_cluster(R1, "quick").expect("delete");
    assert_eq!(code(f.describe(R1, "quick")), "ClusterNotFoundFault");
    assert_eq!(
        f.messages(R1),
        [
            "Cluster created.",
            "Added node quick-c.",
            "Rebooting node quick-a.",
            "Rebooted node quick-a.",
            "Removed node quick-b.",
            "Removed node quick-c.",
            "Cluster deleted."
        ]
    );
    assert_eq!(f.net.live(), 0);
    assert!(f.ports.in_use().is_empty());
}

#[test]
fn increase_decrease_and_reboot_with_delay() {
    let f = Fixture::new(10);
    f.create(R1, "rc", 2).expect("create");
    let inc = |n: i64, azs: Option<Vec<&str>>| {
        f.dax.increase_replication_factor(
            R1,
            IncreaseReplicationFactorInput {
                cluster_name: "rc".into(),
                new_replication_factor: n,
                availability_zones: azs.map(|a| a.into_iter().map(str::to_owned).collect()),
            },
        )
    };
    assert_eq!(code(inc(3, None)), "InvalidClusterStateFault", "still creating");
    assert_eq!(code(f.dax.reboot_node(R1, "rc", "rc-a")), "InvalidClusterStateFault");
    f.advance(10);
    assert_eq!(code(inc(2, None)), "InvalidParameterValueException");
    assert_eq!(code(inc(12, None)), "NodeQuotaForClusterExceededFault");
    assert_eq!(code(inc(4, Some(vec!["us-east-1a"]))), "InvalidParameterValueException");
    assert_eq!(code(inc(3, Some(vec!["us-east-1q"]))), "InvalidParameterValueException");
    assert_eq!(
        code(inc(4, Some(vec!["us-east-1c", "us-east-1c", "us-east-1c", "us-east-1c"]))),
        "InvalidParameterValueException"
    );
    // The full list form: existing zones (a, b) plus the new ones.
    let c = inc(4, Some(vec!["us-east-1a", "us-east-1c", "us-east-1b", "us-east-1c"])).expect("increase");
    assert_eq!(c.status, ClusterStatus::Modifying);
    assert_eq!((c.total_nodes, c.active_nodes), (4, 2));
    let nodes = c.nodes.clone().expect("nodes");
    assert_eq!(node_ids(&c), ["rc-a", "rc-b", "rc-c", "rc-d"]);
    assert_eq!(
        nodes[2],
        Node {
            node_id: "rc-c".into(),
            endpoint: None,
            node_create_time: None,
            availability_zone: None,
            node_status: NodeStatus::Creating,
            parameter_group_status: None
        }
    );
    assert_eq!(f.describe(R1, "rc").expect("d"), c, "DescribeClusters shows the same");
    assert_eq!(code(f.dax.reboot_node(R1, "rc", "rc-a")), "InvalidClusterStateFault", "modifying");
    f.advance(10);
    let c = f.describe(R1, "rc").expect("d");
    assert_eq!((c.status, c.active_nodes), (ClusterStatus::Available, 4));
    let zones: Vec<_> = c.nodes.iter().flatten().map(|n| n.availability_zone.clone().expect("az")).collect();
    assert_eq!(zones, ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1c"]);
    assert_eq!(f.net.live(), 4);

    // Reboot.
    assert_eq!(err(f.dax.reboot_node(R1, "rc", "rc-q")), ("NodeNotFoundFault".into(), "Node rc-q not found.".into()));
    let c = f.dax.reboot_node(R1, "rc", "RC-B").expect("reboot");
    assert_eq!(c.status, ClusterStatus::Available);
    assert_eq!(c.nodes.as_ref().expect("n")[1].node_status, NodeStatus::Rebooting);
    assert_eq!(c.active_nodes, 3);
    assert_eq!(code(f.dax.reboot_node(R1, "rc", "rc-b")), "InvalidClusterStateFault");
    f.advance(10);
    assert_eq!(f.describe(R1, "rc").expect("d").active_nodes, 4);

    // Decrease.
    let dec = |n: i64, ids: Option<Vec<&str>>, azs: Option<Vec<&str>>| {
        f.dax.decrease_replication_factor(
            R1,
            DecreaseReplicationFactorInput {
                cluster_name: "rc".into(),
                new_replication_factor: n,
                availability_zones: azs.map(|a| a.into_iter().map(str::to_owned).collect()),
                node_ids_to_remove: ids.map(|a| a.into_iter().map(str::to_owned).collect()),
            },
        )
    };
    let (c0, m0) = err(dec(0, None, None));
    assert_eq!(c0, "InvalidParameterValueException");
    assert!(m0.contains("DeleteCluster"), "{m0}");
    assert_eq!(code(dec(4, None, None)), "InvalidParameterValueException");
    assert_eq!(code(dec(2, Some(vec!["rc-a", "rc-zz"]), None)), "NodeNotFoundFault");
    assert_eq!(code(dec(2, Some(vec!["rc-a"]), None)), "InvalidParameterValueException");
    assert_eq!(
        code(dec(2, Some(vec!["rc-a", "rc-b"]), Some(vec!["us-east-1a", "us-east-1b"]))),
        "InvalidParameterCombinationException"
    );
    assert_eq!(code(dec(2, None, Some(vec!["us-east-1b", "us-east-1b"]))), "InvalidParameterValueException");
    let c = dec(2, None, Some(vec!["us-east-1c", "us-east-1a"])).expect("by zone");
    assert_eq!(c.node_ids_to_remove, ["rc-a", "rc-d"], "the newest node of each zone");
    assert_eq!(c.status, ClusterStatus::Modifying);
    assert_eq!((c.total_nodes, c.active_nodes), (2, 2));
    let statuses: Vec<_> = c.nodes.iter().flatten().map(|n| n.node_status).collect();
    assert_eq!(statuses, [NodeStatus::Deleting, NodeStatus::Available, NodeStatus::Available, NodeStatus::Deleting]);
    assert_eq!(c.cluster_discovery_endpoint.port, 8112, "the primary moved to rc-b");
    assert_eq!(f.net.live(), 2, "interfaces go at once");
    assert_eq!(f.ports.in_use().len(), 4, "ports go with the nodes");
    f.advance(10);
    let c = f.describe(R1, "rc").expect("d");
    assert_eq!(node_ids(&c), ["rc-b", "rc-c"]);
    assert!(c.node_ids_to_remove.is_empty());
    assert_eq!(c.status, ClusterStatus::Available);
    assert_eq!(f.ports.in_use(), vec![8112, 8113]);
    // By id, then the default (newest first); ids are never reused.
    let c = dec(1, Some(vec!["RC-B"]), None).expect("by id");
    assert_eq!(c.node_ids_to_remove, ["rc-b"]);
    f.advance(10);
    inc(3, None).expect("grow again");
    f.advance(10);
    assert_eq!(node_ids(&f.describe(R1, "rc").expect("d")), ["rc-c", "rc-e", "rc-f"]);
    dec(2, None, None).expect("default choice");
    f.advance(10);
    assert_eq!(node_ids(&f.describe(R1, "rc").expect("d")), ["rc-c", "rc-e"]);
    assert_eq!(f.net.live(), 2);
    assert_eq!(f.net.created.load(Ordering::SeqCst) - f.net.deleted.load(Ordering::SeqCst), 2);
}

#[test]
fn explicit_settings_are_kept() {
    let f = Fixture::new(0);
    f.dax
        .create_subnet_group(
            R1,
            CreateSubnetGroupInput {
                subnet_group_name: "Two".into(),
                subnet_ids: vec!["subnet-x".into(), "subnet-y".into()],
                ..Default::default()
            },
        )
        .expect("group");
    f.dax.create_parameter_group(R1, "fast", None).expect("pg");
    let c = f
        .dax
        .create_cluster(
            R1,
            CreateClusterInput {
                description: Some("my cluster".into()),
                availability_zones: Some(vec!["us-east-1b".into(), "us-east-1b".into()]),
                subnet_group_name: Some("TWO".into()),
                security_group_ids: Some(vec!["sg-two".into(), "sg-two".into()]),
                preferred_maintenance_window: Some("Tue:04:00-Tue:05:00".into()),
                notification_topic_arn: Some("arn:aws:sns:us-east-1:123456789012:t".into()),
                parameter_group_name: Some("fast".into()),
                tags: vec![Tag::new("a", "1"), Tag::new("a", "2")],
                sse_enabled: Some(true),
                cluster_endpoint_encryption_type: Some(EncryptionType::Tls),
                network_type: Some(NetworkType::DualStack),
                ..cluster_input("tls", 2)
            },
        )
        .expect("create");
    assert_eq!(c.description.as_deref(), Some("my cluster"));
    assert_eq!(c.subnet_group, "two");
    assert_eq!(c.security_groups.len(), 1);
    assert_eq!(c.preferred_maintenance_window, "tue:04:00-tue:05:00");
    assert_eq!(c.notification_configuration.as_ref().map(|n| n.topic_status.as_str()), Some("active"));
    assert_eq!(c.parameter_group.parameter_group_name, "fast");
    assert_eq!(c.sse_description.status, SseStatus::Enabled);
    assert_eq!(c.network_type, NetworkType::DualStack);
    let c = f.describe(R1, "tls").expect("d");
    assert_eq!(c.cluster_discovery_endpoint.url.as_deref(), Some("daxs://127.0.0.1:8111"));
    let zones: Vec<_> = c.nodes.iter().flatten().map(|n| n.availability_zone.clone().expect("az")).collect();
    assert_eq!(zones, ["us-east-1b", "us-east-1b"]);
    let list = f.dax.list_tags(R1, &arn(R1, "tls"), None).expect("tags");
    assert_eq!(list.items, vec![Tag::new("a", "2")]);
    assert!(f.net.groups_of_all().iter().all(|g| g == &["sg-two".to_owned()]));
    assert!(f.dax.node_ports().iter().all(|p| p.tls));
}

#[test]
fn default_maintenance_window_and_node_ids() {
    let f = Fixture::new(0);
    let w = f.create(R1, "w", 1).expect("create").preferred_maintenance_window;
    // SeqIds gives seed 0: Sunday at the start of us-east-1's block.
    assert_eq!(w, "sun:03:00-sun:04:00");
    assert!(validate::maintenance_window(&w).is_ok());
    for seed in [0, 1, 7, 99, 1000, u32::MAX] {
        for region in [R1, R2, "xx-test-9"] {
            let w = validate::default_window(region, seed);
            assert!(validate::maintenance_window(&w).is_ok(), "{w}");
        }
    }
    assert_eq!(validate::default_window(R2, 6), "sat:22:00-sat:23:00");
    assert_eq!(validate::default_window(R2, 6 + 7 * 14), "sun:05:00-sun:06:00", "wraps into the next day and week");
    assert_eq!(node_id("c", 0), "c-a");
    assert_eq!(node_id("c", 25), "c-z");
    assert_eq!(node_id("c", 26), "c-aa");
    assert_eq!(node_id("c", 27), "c-ab");
    assert_eq!(node_id("c", 26 + 26 * 26), "c-aaa");
    assert_eq!(node_interface_description("c", "c-a"), "DAX cluster c node c-a");
}

#[test]
fn interfaces_follow_nodes() {
    let f = Fixture::new(0);
    f.create(R1, "eni", 3).expect("create");
    let mut d = f.net.descriptions();
    d.sort();
    assert_eq!(d, ["DAX cluster eni node eni-a", "DAX cluster eni node eni-b", "DAX cluster eni node eni-c"]);
    f.describe(R1, "eni").expect("available");
    // UpdateCluster's security groups reach every interface.
    let c = f
        .dax
        .update_cluster(
            R1,
            UpdateClusterInput {
                cluster_name: "eni".into(),
                security_group_ids: Some(vec!["sg-def2".into(), "sg-def".into()]),
                ..Default::default()
            },
        )
        .expect("update");
    assert_eq!(
        c.security_groups.iter().map(|s| s.security_group_identifier.as_str()).collect::<Vec<_>>(),
        ["sg-def2", "sg-def"]
    );
    assert_eq!(f.net.modified.load(Ordering::SeqCst), 3);
    assert!(f.net.groups_of_all().iter().all(|g| g == &["sg-def2".to_owned(), "sg-def".to_owned()]));
    // A failure midway puts the old groups back.
    *f.net.fail_modify_after.lock().expect("lock") = Some(1);
    let e = f.dax.update_cluster(
        R1,
        UpdateClusterInput {
            cluster_name: "eni".into(),
            security_group_ids: Some(vec!["sg-def".into()]),
            ..Default::default()
        },
    );
    assert_eq!(code(e), "ServiceLinkedRoleNotFoundFault");
    *f.net.fail_modify_after.lock().expect("lock") = None;
    assert!(f.net.groups_of_all().iter().all(|g| g == &["sg-def2".to_owned(), "sg-def".to_owned()]));
    assert_eq!(f.describe(R1, "eni").expect("d").security_groups.len(), 2);
    assert_eq!(
        code(f.dax.update_cluster(
            R1,
            UpdateClusterInput {
                cluster_name: "eni".into(),
                security_group_ids: Some(vec!["sg-two".into()]),
                ..Default::default()
            }
        )),
        "InvalidParameterValueException"
    );
    f.dax.delete_cluster(R1, "eni").expect("delete");
    assert_eq!((f.net.created.load(Ordering::SeqCst), f.net.deleted.load(Ordering::SeqCst), f.net.live()), (3, 3, 0));
}

#[test]
fn failures_midway_leave_nothing_behind() {
    let f = Fixture::new(0);
    // The third interface fails: two made, two deleted, ports back, no cluster.
    *f.net.fail_create_after.lock().expect("lock") = Some(2);
    assert_eq!(code(f.create(R1, "half", 3)), "ServiceLinkedRoleNotFoundFault");
    *f.net.fail_create_after.lock().expect("lock") = None;
    assert_eq!((f.net.created.load(Ordering::SeqCst), f.net.deleted.load(Ordering::SeqCst), f.net.live()), (2, 2, 0));
    assert!(f.ports.in_use().is_empty());
    assert_eq!(code(f.describe(R1, "half")), "ClusterNotFoundFault");
    // A port that cannot be had.
    *f.ports.fail.lock().expect("lock") = Some(1);
    assert_eq!(code(f.create(R1, "half", 2)), "InsufficientClusterCapacityFault");
    assert_eq!((f.net.live(), f.ports.in_use().len()), (0, 0));
    // The same name works afterwards.
    f.create(R1, "half", 2).expect("create");
    f.describe(R1, "half").expect("available");
    // Increase fails on its second new node: the first is undone.
    *f.net.fail_create_after.lock().expect("lock") = Some(1);
    let e = f.dax.increase_replication_factor(
        R1,
        IncreaseReplicationFactorInput { cluster_name: "half".into(), new_replication_factor: 4, ..Default::default() },
    );
    assert_eq!(code(e), "ServiceLinkedRoleNotFoundFault");
    *f.net.fail_create_after.lock().expect("lock") = None;
    let c = f.describe(R1, "half").expect("d");
    assert_eq!((c.status, node_ids(&c)), (ClusterStatus::Available, vec!["half-a".to_owned(), "half-b".to_owned()]));
    assert_eq!((f.net.live(), f.ports.in_use().len()), (2, 2));
    // Delete fails on the second interface: the first stays deleted, the
    // cluster stays; a retry finishes the job.
    *f.net.fail_delete_after.lock().expect("lock") = Some(1);
    assert_eq!(code(f.dax.delete_cluster(R1, "half")), "ServiceLinkedRoleNotFoundFault");
    *f.net.fail_delete_after.lock().expect("lock") = None;
    assert_eq!(f.describe(R1, "half").expect("d").status, ClusterStatus::Available);
    assert_eq!(f.net.live(), 1);
    f.dax.delete_cluster(R1, "half").expect("retry");
    assert_eq!(f.net.live(), 0);
    assert_eq!(f.net.created.load(Ordering::SeqCst), f.net.deleted.load(Ordering::SeqCst) + f.net.live());
}

#[test]
fn update_cluster_settings_and_errors() {
    let f = Fixture::new(5);
    f.create(R1, "up", 1).expect("create");
    let up = |g: &dyn Fn(&mut UpdateClusterInput)| {
        let mut i = UpdateClusterInput { cluster_name: "up".into(), ..Default::default() };
        g(&mut i);
        f.dax.update_cluster(R1, i)
    };
    assert_eq!(code(up(&|_| {})), "InvalidClusterStateFault");
    f.advance(5);
    assert_eq!(code(up(&|i| i.parameter_group_name = Some("nope".into()))), "ParameterGroupNotFoundFault");
    assert_eq!(
        code(up(&|i| i.preferred_maintenance_window = Some("someday".into()))),
        "InvalidParameterValueException"
    );
    assert_eq!(code(up(&|i| i.notification_topic_status = Some("on".into()))), "InvalidParameterValueException");
    let (c, _) =
        err(f.dax.update_cluster(R1, UpdateClusterInput { cluster_name: "nope".into(), ..Default::default() }));
    assert_eq!(c, "ClusterNotFoundFault");
    f.dax.create_parameter_group(R1, "pg", Some("d".into())).expect("pg");
    let c = up(&|i| {
        i.description = Some("new".into());
        i.preferred_maintenance_window = Some("mon:01:00-mon:02:30".into());
        i.notification_topic_arn = Some("arn:aws:sns:us-east-1:123456789012:t".into());
        i.notification_topic_status = Some("inactive".into());
        i.parameter_group_name = Some("pg".into());
    })
    .expect("update");
    assert_eq!(c.status, ClusterStatus::Available);
    assert_eq!(c.description.as_deref(), Some("new"));
    assert_eq!(c.preferred_maintenance_window, "mon:01:00-mon:02:30");
    assert_eq!(
        c.notification_configuration,
        Some(NotificationConfiguration {
            topic_arn: "arn:aws:sns:us-east-1:123456789012:t".into(),
            topic_status: "inactive".into()
        })
    );
    assert_eq!(c.parameter_group.parameter_group_name, "pg");
    assert_eq!(f.describe(R1, "up").expect("d"), c);
}

/// Statuses of the nodes, in order.
fn node_statuses(c: &Cluster) -> Vec<NodeStatus> {
    c.nodes.iter().flatten().map(|n| n.node_status).collect()
}

fn listening(f: &Fixture, node_id: &str) -> bool {
    f.dax.node_ports().iter().any(|p| p.node_id == node_id && p.listen)
}

#[test]
fn nodes_are_available_only_once_their_listener_serves() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::open(&dir.path().join("state.db")).expect("open"));
    let f = Fixture::on(store, 60);
    f.ready.hold();
    // A new cluster: its delay passes, but it stays `creating` until every node serves.
    f.create(R1, "ready", 2).expect("create");
    assert!(!listening(&f, "ready-a"), "no listener before the delay has passed");
    f.advance(60);
    assert!(listening(&f, "ready-a") && listening(&f, "ready-b"), "the binary is told to start them");
    assert_eq!(f.describe(R1, "ready").expect("d").status, ClusterStatus::Creating);
    f.ready.up("ready-a", 0);
    f.advance(600);
    assert_eq!(f.describe(R1, "ready").expect("d").status, ClusterStatus::Creating, "ready-b does not serve yet");
    f.ready.up("ready-b", 0);
    let c = f.describe(R1, "ready").expect("d");
    assert_eq!((c.status, c.active_nodes), (ClusterStatus::Available, 2));
    assert_eq!(node_statuses(&c), [NodeStatus::Available, NodeStatus::Available]);
    assert_eq!(f.messages(R1).last().map(String::as_str), Some("Cluster created."));

    // A node added by IncreaseReplicationFactor.
    f.dax
        .increase_replication_factor(
            R1,
            IncreaseReplicationFactorInput {
                cluster_name: "ready".into(),
                new_replication_factor: 3,
                ..Default::default()
            },
        )
        .expect("increase");
    f.advance(60);
    assert!(listening(&f, "ready-c"));
    let c = f.describe(R1, "ready").expect("d");
    assert_eq!(c.status, ClusterStatus::Modifying);
    assert_eq!(node_statuses(&c), [NodeStatus::Available, NodeStatus::Available, NodeStatus::Creating]);
    f.ready.up("ready-c", 0);
    let c = f.describe(R1, "ready").expect("d");
    assert_eq!((c.status, c.active_nodes), (ClusterStatus::Available, 3));

    // A rebooted node: its old listener (generation 0) does not count.
    f.dax.reboot_node(R1, "ready", "ready-a").expect("reboot");
    assert!(!listening(&f, "ready-a"), "stopped while rebooting");
    f.advance(60);
    assert!(listening(&f, "ready-a"));
    assert_eq!(node_statuses(&f.describe(R1, "ready").expect("d"))[0], NodeStatus::Rebooting);
    f.ready.up("ready-a", 1);
    assert_eq!(node_statuses(&f.describe(R1, "ready").expect("d"))[0], NodeStatus::Available);
    assert_eq!(f.messages(R1).last().map(String::as_str), Some("Rebooted node ready-a."));
    let events = f.messages(R1).len();

    // A restart: the nodes are `available` in the store, but this process has not seen
    // them serve; they show `rebooting` until they do.
    let ready = Arc::new(FakeReadiness::default());
    ready.hold();
    let g = Fixture {
        dax: open(&f.store, &f.net, &f.ports, &ready, &f.clock, f.delay),
        store: f.store.clone(),
        net: f.net.clone(),
        ports: f.ports.clone(),
        ready: ready.clone(),
        clock: f.clock.clone(),
        delay: f.delay,
    };
    assert!(listening(&g, "ready-a") && listening(&g, "ready-b") && listening(&g, "ready-c"));
    let c = g.describe(R1, "ready").expect("d");
    assert_eq!(c.active_nodes, 0);
    assert_eq!(node_statuses(&c), [NodeStatus::Rebooting; 3]);
    g.ready.up("ready-a", 1);
    g.ready.up("ready-b", 0);
    let c = g.describe(R1, "ready").expect("d");
    assert_eq!(node_statuses(&c), [NodeStatus::Available, NodeStatus::Available, NodeStatus::Rebooting]);
    g.ready.up("ready-c", 0);
    let c = g.describe(R1, "ready").expect("d");
    assert_eq!((c.status, c.active_nodes), (ClusterStatus::Available, 3));
    assert_eq!(g.messages(R1).len(), events, "a restart records no event");
    // Seen serving, a node is not asked about again.
    let asked = ready.asked.load(Ordering::SeqCst);
    g.describe(R1, "ready").expect("d");
    assert_eq!(ready.asked.load(Ordering::SeqCst), asked);
}
