//! DescribeClusters paging, events, tags, the role usage check, persistence.

use super::*;

#[test]
fn describe_clusters_pages_and_validates() {
    let f = Fixture::new(0);
    for i in 0..25 {
        f.create(R1, &format!("c{i:02}"), 1).expect("create");
    }
    let page = |max: Option<i64>, token: Option<String>| {
        f.dax.describe_clusters(
            R1,
            &DescribeClustersInput { cluster_names: vec![], paging: Paging { max_results: max, next_token: token } },
        )
    };
    let all = page(None, None).expect("all");
    assert_eq!((all.items.len(), all.next_token.clone()), (25, None));
    let first = page(Some(20), None).expect("first");
    assert_eq!(first.items.len(), 20);
    assert_eq!(first.items[0].cluster_name, "c00");
    let second = page(Some(20), first.next_token.clone()).expect("second");
    assert_eq!(
        second.items.iter().map(|c| c.cluster_name.as_str()).collect::<Vec<_>>(),
        ["c20", "c21", "c22", "c23", "c24"]
    );
    assert_eq!(second.next_token, None);
    // A token survives its item's deletion.
    f.dax.delete_cluster(R1, "c20").expect("delete");
    let again = page(Some(20), first.next_token).expect("again");
    assert_eq!(again.items[0].cluster_name, "c21");
    for bad in [19, 101, 0, -5] {
        assert_eq!(code(page(Some(bad), None)), "InvalidParameterValueException", "{bad}");
    }
    for bad in ["zz", "abc", "ff"] {
        assert_eq!(code(page(None, Some(bad.into()))), "InvalidParameterValueException", "{bad}");
    }
    let named = f
        .dax
        .describe_clusters(
            R1,
            &DescribeClustersInput { cluster_names: vec!["C03".into(), "c01".into()], ..Default::default() },
        )
        .expect("named");
    assert_eq!(named.items.iter().map(|c| c.cluster_name.as_str()).collect::<Vec<_>>(), ["c01", "c03"]);
    let (c, m) = err(f.dax.describe_clusters(
        R1,
        &DescribeClustersInput { cluster_names: vec!["c01".into(), "unknown".into()], ..Default::default() },
    ));
    assert_eq!((c.as_str(), m.as_str()), ("ClusterNotFoundFault", "Cluster unknown not found."));
    for bad in ["1invalid", "iИvalid", "in_valid", "invalid-", "in--valid"] {
        let (c, m) = err(f
            .dax
            .describe_clusters(R1, &DescribeClustersInput { cluster_names: vec![bad.into()], ..Default::default() }));
        assert_eq!((c.as_str(), m.as_str()), ("InvalidParameterValueException", validate::INVALID_CLUSTER_ID));
    }
    assert!(f.dax.describe_clusters(R2, &DescribeClustersInput::default()).expect("r2").items.is_empty());
    for bad in [Some(10), Some(1000)] {
        let p = Paging { max_results: bad, next_token: None };
        assert_eq!(code(f.dax.describe_parameter_groups(R1, &[], &p)), "InvalidParameterValueException");
        assert_eq!(code(f.dax.describe_subnet_groups(R1, &[], &p)), "InvalidParameterValueException");
        assert_eq!(
            code(f.dax.describe_parameters(R1, DEFAULT_PARAMETER_GROUP, None, &p)),
            "InvalidParameterValueException"
        );
        assert_eq!(code(f.dax.describe_default_parameters(&p)), "InvalidParameterValueException");
        assert_eq!(
            code(f.dax.describe_events(R1, &DescribeEventsInput { paging: p.clone(), ..Default::default() })),
            "InvalidParameterValueException"
        );
    }
}

#[test]
fn events_windows_filters_and_pages() {
    let f = Fixture::new(0);
    f.dax.create_parameter_group(R1, "pg", None).expect("pg"); // T0
    f.advance(3600);
    f.create(R1, "one", 1).expect("one");
    f.describe(R1, "one").expect("available"); // "Cluster created." at T0+1h
    f.advance(3600);
    for _ in 0..30 {
        f.dax.reboot_node(R1, "one", "one-a").expect("reboot");
        f.describe(R1, "one").expect("rebooted");
    }
    // 1 + 1 + 60 events in the last 24 hours, newest first.
    let ev = |i: DescribeEventsInput| f.dax.describe_events(R1, &i).expect("events");
    let all = ev(DescribeEventsInput::default());
    assert_eq!(all.items.len(), 62);
    assert_eq!(all.items[0].message, "Rebooted node one-a.");
    assert_eq!(all.items[61].message, "Parameter group pg created.");
    // Pages of 20 cover the same list.
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let p = ev(DescribeEventsInput {
            paging: Paging { max_results: Some(20), next_token: token },
            ..Default::default()
        });
        seen.extend(p.items);
        token = p.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, all.items);
    // Filters.
    let clusters = ev(DescribeEventsInput { source_type: Some(SourceType::Cluster), ..Default::default() });
    assert_eq!(clusters.items.len(), 61);
    let named = ev(DescribeEventsInput { source_name: Some("PG".into()), ..Default::default() });
    assert_eq!(named.items.len(), 1);
    // Windows: the last 30 minutes hold the reboots only; Duration is minutes.
    assert_eq!(ev(DescribeEventsInput { duration: Some(30), ..Default::default() }).items.len(), 60);
    let t0 = 1_700_000_000.0;
    let first_hour =
        ev(DescribeEventsInput { start_time: Some(t0), end_time: Some(t0 + 3599.0), ..Default::default() });
    assert_eq!(
        first_hour.items.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(),
        ["Parameter group pg created."]
    );
    let from_start = ev(DescribeEventsInput { start_time: Some(t0 + 1.0), duration: Some(60), ..Default::default() });
    assert_eq!(from_start.items.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(), ["Cluster created."]);
    assert!(ev(DescribeEventsInput { start_time: Some(t0 + 10.0), end_time: Some(t0), ..Default::default() })
        .items
        .is_empty());
    assert_eq!(
        code(f.dax.describe_events(R1, &DescribeEventsInput { duration: Some(-1), ..Default::default() })),
        "InvalidParameterValueException"
    );
    assert!(ev(DescribeEventsInput {
        source_name: Some("one".into()),
        source_type: Some(SourceType::SubnetGroup),
        ..Default::default()
    })
    .items
    .is_empty());
    assert!(f.dax.describe_events(R2, &DescribeEventsInput::default()).expect("r2").items.is_empty());
    // After a day the default window is empty; after 14 days the events are gone.
    f.advance(86_400);
    assert_eq!(ev(DescribeEventsInput::default()).items.len(), 60, "the window includes its start");
    f.advance(1);
    assert!(ev(DescribeEventsInput::default()).items.is_empty());
    assert_eq!(ev(DescribeEventsInput { start_time: Some(t0), ..Default::default() }).items.len(), 62);
    f.advance(14 * 86_400);
    f.dax.tick().expect("tick");
    assert!(ev(DescribeEventsInput { start_time: Some(0.0), ..Default::default() }).items.is_empty());
    assert!(f.store.scan("dax/events").expect("scan").is_empty());
}

#[test]
fn tags() {
    let f = Fixture::new(10);
    let a = arn(R1, "tagged");
    f.dax
        .create_cluster(
            R1,
            CreateClusterInput {
                tags: vec![Tag::new("tag1", "value1"), Tag::new("tag2", "value2")],
                ..cluster_input("tagged", 1)
            },
        )
        .expect("create");
    let list = f.dax.list_tags(R1, &a, None).expect("list");
    assert_eq!(
        (list.items.clone(), list.next_token),
        (vec![Tag::new("tag1", "value1"), Tag::new("tag2", "value2")], None)
    );
    // Tagging works while the cluster is still being created.
    let tags = f.dax.tag_resource(R1, &a, vec![Tag::new("tag2", "new"), Tag::new("tag3", "value3")]).expect("tag");
    assert_eq!(tags, vec![Tag::new("tag1", "value1"), Tag::new("tag2", "new"), Tag::new("tag3", "value3")]);
    assert_eq!(
        f.dax.untag_resource(R1, &a, &["tag1".into(), "tag3".into()]).expect("untag"),
        vec![Tag::new("tag2", "new")]
    );
    assert_eq!(code(f.dax.untag_resource(R1, &a, &["tag2".into(), "nope".into()])), "TagNotFoundFault");
    assert_eq!(
        f.dax.list_tags(R1, &a, None).expect("list").items,
        vec![Tag::new("tag2", "new")],
        "a failed untag changes nothing"
    );
    let many: Vec<Tag> = (0..49).map(|i| Tag::new(&format!("k{i}"), "v")).collect();
    assert_eq!(f.dax.tag_resource(R1, &a, many.clone()).expect("50 tags").len(), 50);
    assert_eq!(code(f.dax.tag_resource(R1, &a, vec![Tag::new("one-more", "v")])), "TagQuotaPerResourceExceeded");
    f.dax.tag_resource(R1, &a, vec![Tag::new("k0", "overwrite")]).expect("overwriting stays within quota");
    assert_eq!(
        f.dax
            .untag_resource(R1, &a, &many.iter().map(|t| t.key.clone()).chain(["tag2".to_owned()]).collect::<Vec<_>>())
            .expect("all"),
        vec![]
    );

    let arn_err = |name: &str| err(f.dax.list_tags(R1, name, None));
    let invalid = "InvalidARNFault".to_owned();
    assert_eq!(arn_err("tagged"), (invalid.clone(), "ARNs must start with 'arn:': tagged".into()));
    assert_eq!(arn_err("arn:sth"), (invalid.clone(), "Second colon partition not found: arn:sth".into()));
    assert_eq!(arn_err("arn:sth:aws"), (invalid.clone(), "Third colon vendor not found: arn:sth:aws".into()));
    assert_eq!(
        arn_err("arn:sth:aws:else"),
        (invalid.clone(), "Fourth colon (region/namespace delimiter) not found: arn:sth:aws:else".into())
    );
    assert_eq!(
        arn_err("arn:sth:aws:else:eu-west-1"),
        (invalid.clone(), "Fifth colon (namespace/relative-id delimiter) not found: arn:sth:aws:else:eu-west-1".into())
    );
    for not_cluster in [
        "arn:aws:iam::123456789012:role/x",
        "arn:aws:dax:us-east-1:123456789012:parametergroup/x",
        "arn:aws:dax:us-east-1:123456789012:cache/",
        "arn:aws:dax:us-east-1:123456789012:cache/a/b",
    ] {
        assert_eq!(arn_err(not_cluster).0, invalid, "{not_cluster}");
    }
    for missing in [arn(R1, "nope"), arn(R2, "tagged"), "arn:aws:dax:us-east-1:999999999999:cache/tagged".to_owned()] {
        assert_eq!(arn_err(&missing), ("ClusterNotFoundFault".into(), "Cluster not found.".into()), "{missing}");
        assert_eq!(code(f.dax.tag_resource(R1, &missing, vec![])), "ClusterNotFoundFault");
        assert_eq!(code(f.dax.untag_resource(R1, &missing, &[])), "ClusterNotFoundFault");
    }
    assert_eq!(code(f.dax.tag_resource(R1, "x", vec![])), "InvalidARNFault");
    assert_eq!(code(f.dax.list_tags(R1, &a, Some("zz"))), "InvalidParameterValueException");
    f.dax.list_tags(R1, &arn(R1, "TAGGED"), None).expect("names are case-insensitive");
    f.dax.delete_cluster(R1, "tagged").expect("delete");
    assert_eq!(code(f.dax.tag_resource(R1, &a, vec![Tag::new("a", "b")])), "InvalidClusterStateFault");
    f.dax.list_tags(R1, &a, None).expect("listing still works while deleting");
}

#[test]
fn role_usage_across_regions() {
    let f = Fixture::new(30);
    assert!(f.dax.clusters_using_role().is_empty());
    f.create(R1, "east", 1).expect("east");
    f.create(R2, "west", 1).expect("west");
    f.create(R2, "west2", 1).expect("west2");
    let mut usage = f.dax.clusters_using_role();
    usage.sort();
    assert_eq!(
        usage,
        vec![(R2.to_owned(), vec![arn(R2, "west"), arn(R2, "west2")]), (R1.to_owned(), vec![arn(R1, "east")]),]
    );
    f.advance(30);
    f.dax.delete_cluster(R2, "west").expect("delete");
    f.dax.delete_cluster(R2, "west2").expect("delete");
    assert_eq!(f.dax.clusters_using_role().len(), 2, "deleting clusters still count");
    f.advance(30);
    assert_eq!(f.dax.clusters_using_role(), vec![(R1.to_owned(), vec![arn(R1, "east")])]);
}

#[test]
fn state_survives_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    let store = Arc::new(Store::open(&path).expect("open"));
    let f = Fixture::on(store, 60);
    f.dax.create_parameter_group(R1, "pg", Some("d".into())).expect("pg");
    f.dax
        .update_parameter_group(
            R1,
            "pg",
            &[ParameterNameValue { parameter_name: "query-ttl-millis".into(), parameter_value: "7".into() }],
        )
        .expect("update");
    f.dax
        .create_subnet_group(
            R1,
            CreateSubnetGroupInput {
                subnet_group_name: "sg".into(),
                subnet_ids: vec!["subnet-x".into(), "subnet-y".into()],
                ..Default::default()
            },
        )
        .expect("sg");
    f.dax
        .create_cluster(
            R1,
            CreateClusterInput {
                subnet_group_name: Some("sg".into()),
                parameter_group_name: Some("pg".into()),
                tags: vec![Tag::new("k", "v")],
                ..cluster_input("keep", 2)
            },
        )
        .expect("create");
    f.create(R2, "other", 1).expect("other");
    let before = f.describe(R1, "keep").expect("d");
    let ports_before = f.dax.node_ports();
    let events_before = f.dax.describe_events(R1, &DescribeEventsInput::default()).expect("e");
    // A new process: a new store handle on the same file, the same fakes.
    let store = Arc::new(Store::open(&path).expect("reopen"));
    let g = Fixture {
        dax: open(&store, &f.net, &f.ports, &f.ready, &f.clock, f.delay),
        store,
        net: f.net.clone(),
        ports: f.ports.clone(),
        ready: f.ready.clone(),
        clock: f.clock.clone(),
        delay: f.delay,
    };
    drop(f);
    assert_eq!(g.describe(R1, "keep").expect("d"), before);
    assert_eq!(g.dax.node_ports(), ports_before);
    assert_eq!(
        ports_before.iter().map(|p| (p.region.as_str(), p.node_id.as_str(), p.port)).collect::<Vec<_>>(),
        [(R2, "other-a", 8113), (R1, "keep-a", 8111), (R1, "keep-b", 8112)]
    );
    assert_eq!(g.dax.ttls(R1, "keep"), Some((300_000, 7)));
    assert_eq!(g.dax.list_tags(R1, &arn(R1, "keep"), None).expect("tags").items, vec![Tag::new("k", "v")]);
    assert_eq!(g.dax.describe_events(R1, &DescribeEventsInput::default()).expect("e"), events_before);
    assert_eq!(g.dax.describe_subnet_groups(R1, &["sg".into()], &Paging::default()).expect("sg").items.len(), 1);
    // The lifecycle carries on where it was, and new events do not reuse sequence numbers.
    g.advance(60);
    assert_eq!(g.describe(R1, "keep").expect("d").status, ClusterStatus::Available);
    let ev = g.dax.describe_events(R1, &DescribeEventsInput::default()).expect("e").items;
    assert_eq!(ev.len(), events_before.items.len() + 1);
    assert_eq!(ev[0].message, "Cluster created.");
    // Reload after a wipe forgets everything.
    g.store.wipe().expect("wipe");
    g.dax.reload().expect("reload");
    assert!(g.dax.node_ports().is_empty());
    assert!(g.dax.clusters_using_role().is_empty());
    assert!(g.ports.in_use().is_empty(), "reload released the vanished nodes' ports");
}

#[test]
fn errors_carry_codes_and_statuses() {
    let e = DaxError::SubnetInUse("m".into());
    assert_eq!((e.code(), e.message(), e.status(), e.to_string()), ("SubnetInUse", "m", 400, "m".to_owned()));
    let e = DaxError::InternalFailure("boom".into());
    assert_eq!((e.code(), e.status()), ("InternalFailure", 500));
    assert_eq!(DaxError::InvalidVPCNetworkStateFault(String::new()).code(), "InvalidVPCNetworkStateFault");
    for (s, t) in [("creating", ClusterStatus::Creating), ("deleting", ClusterStatus::Deleting)] {
        assert_eq!((ClusterStatus::parse(s), t.as_str()), (Some(t), s));
    }
    assert_eq!(EncryptionType::parse("TLS"), Some(EncryptionType::Tls));
    assert_eq!(NetworkType::parse("dual_stack"), Some(NetworkType::DualStack));
    assert_eq!(SourceType::parse("cluster"), None);
}

/// Every short string over an alphabet of awkward characters goes through
/// the parsers and the ARN-taking and name-taking calls without a panic.
#[test]
fn garbage_never_panics() {
    let f = Fixture::new(0);
    f.create(R1, "a", 1).expect("create");
    let alphabet = ["a", "A", "1", "-", ":", "/", "И", "\u{0}", "arn:", "cache/", "ff", "z"];
    let mut inputs = vec![String::new()];
    for _ in 0..3 {
        let longer: Vec<String> = inputs.iter().flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}"))).collect();
        inputs.extend(longer);
    }
    inputs.push("x".repeat(10_000));
    for s in &inputs {
        let _ = validate::cluster_name(s);
        let _ = validate::arn_parts(s);
        let _ = validate::maintenance_window(s);
        let _ = validate::node_type(s);
        let _ = validate::subnet_group_name(s);
        let _ = f.dax.list_tags(R1, s, Some(s));
        let _ = f.dax.describe_clusters(
            R1,
            &DescribeClustersInput {
                cluster_names: vec![s.clone()],
                paging: Paging { max_results: Some(20), next_token: Some(s.clone()) },
            },
        );
        let _ = f.dax.reboot_node(R1, "a", s);
        let _ = f.dax.describe_parameters(R1, s, Some(s), &Paging::default());
        let _ = f.dax.describe_subnet_groups(R1, std::slice::from_ref(s), &Paging::default());
    }
}
