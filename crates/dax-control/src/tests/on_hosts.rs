//! Clusters placed on node hosts (docs/node-hosts.md, "Placement"): each node on the host
//! the placement rule picks for it, spread over zones and hosts; its endpoint is its host's
//! address and a port of its range; the control's port pool is not used.

use super::*;

const ALICE: &str = "arn:aws:iam::123456789012:user/alice";

struct OnHosts {
    f: Fixture,
    hosts: Arc<NodeHosts>,
}

fn on_hosts(delay: u64) -> OnHosts {
    let mut f = Fixture::new(delay);
    let env = Env { clock: f.clock.clone(), ids: Arc::new(SeqIds::default()) };
    let hosts = Arc::new(NodeHosts::open(ACCOUNT, env, f.store.clone(), Duration::from_secs(30)).expect("hosts"));
    f.dax = open(&f.store, &f.net, &f.ports, &f.ready, &f.clock, delay).with_node_hosts(Arc::clone(&hosts));
    OnHosts { f, hosts }
}

impl OnHosts {
    fn join(&self, zone: &str, address: &str, ports: (i64, i64)) -> NodeHost {
        let input = JoinInput {
            availability_zone: zone.to_owned(),
            advertise_host: address.to_owned(),
            port_start: ports.0,
            port_end: ports.1,
            principal_arn: ALICE.to_owned(),
            replication_port: 0,
        };
        self.hosts.join(R1, input).expect("join")
    }
}

fn endpoints(c: &Cluster) -> Vec<(String, u16)> {
    c.nodes
        .iter()
        .flatten()
        .filter_map(|n| n.endpoint.as_ref())
        .map(|e| (e.address.clone().unwrap_or_default(), e.port))
        .collect()
}

#[test]
fn without_active_hosts_nodes_stay_in_the_control() {
    let h = on_hosts(0);
    h.f.create(R1, "plain", 2).expect("create");
    let c = h.f.describe(R1, "plain").expect("describe");
    assert!(endpoints(&c).iter().all(|(a, _)| a == "127.0.0.1"), "{c:?}");
    assert_eq!(h.f.ports.in_use().len(), 2);
    // An unreachable host is not used either.
    let host = h.join("us-east-1a", "10.0.0.7", (9100, 9102));
    h.f.advance(31);
    h.hosts.tick().expect("tick");
    assert_eq!(h.hosts.get(R1, &host.id).expect("host").state, HostState::Unreachable);
    h.f.create(R1, "still", 1).expect("create");
    assert_eq!(h.f.ports.in_use().len(), 3);
    assert_eq!(h.f.dax.node_ports().len(), 3);
}

fn grow(h: &OnHosts, name: &str, to: i64, zones: Option<&[&str]>) -> Result<Cluster, DaxError> {
    h.f.dax.increase_replication_factor(
        R1,
        IncreaseReplicationFactorInput {
            cluster_name: name.to_owned(),
            new_replication_factor: to,
            availability_zones: zones.map(|z| z.iter().map(|s| (*s).to_owned()).collect()),
        },
    )
}

fn zones(c: &Cluster) -> Vec<String> {
    c.nodes.iter().flatten().map(|n| n.availability_zone.clone().unwrap_or_default()).collect()
}

#[test]
fn a_cluster_spreads_over_hosts_in_every_zone() {
    let h = on_hosts(0);
    h.join("us-east-1b", "10.0.0.2", (9100, 9101));
    h.join("us-east-1a", "10.0.0.1", (9100, 9101));
    h.join("us-east-1c", "10.0.0.3", (9100, 9101));
    let c = h.f.create(R1, "spread", 3).expect("create");
    assert_eq!(c.cluster_discovery_endpoint.port, 9100);
    let c = h.f.describe(R1, "spread").expect("describe");
    // One node per zone (zones by name), each on its zone's host, each at port 9100.
    assert_eq!(
        endpoints(&c),
        vec![("10.0.0.1".to_owned(), 9100), ("10.0.0.2".to_owned(), 9100), ("10.0.0.3".to_owned(), 9100)]
    );
    assert_eq!(zones(&c), ["us-east-1a", "us-east-1b", "us-east-1c"]);
    assert_eq!(c.cluster_discovery_endpoint.url.as_deref(), Some("dax://10.0.0.1:9100"), "the primary's host");
    assert!(h.f.ports.in_use().is_empty(), "the control's pool gives no port");
    assert!(h.f.dax.node_ports().is_empty(), "the control binds nothing for them");
    // Durable: a reopened control shows the same.
    let again = open(&h.f.store, &h.f.net, &h.f.ports, &h.f.ready, &h.f.clock, 0);
    let page = again.describe_clusters(R1, &DescribeClustersInput::default()).expect("describe");
    assert_eq!(endpoints(&page.items[0]), endpoints(&c));
    // A fourth node: every zone holds one, so the first zone by name, its host's next port.
    grow(&h, "spread", 4, None).expect("grow");
    let c = h.f.describe(R1, "spread").expect("describe");
    assert_eq!(endpoints(&c)[3], ("10.0.0.1".to_owned(), 9101));
    // A zone asked for the new node.
    grow(&h, "spread", 5, Some(&["us-east-1c"])).expect("grow in c");
    let c = h.f.describe(R1, "spread").expect("describe");
    assert_eq!(endpoints(&c)[4], ("10.0.0.3".to_owned(), 9101));
    assert_eq!(code(grow(&h, "spread", 6, Some(&["us-east-1c"]))), "InsufficientClusterCapacityFault");
    // The last free port (10.0.0.2:9101) takes one more node, and then there is no room.
    grow(&h, "spread", 6, None).expect("the last port");
    let (code_, msg) = err(h.f.create(R1, "full", 1));
    assert_eq!(code_, "InsufficientClusterCapacityFault");
    assert!(msg.contains("no active node host"), "{msg}");
    // Deleting frees the hosts' ports (once gone); the control's pool is untouched.
    h.f.dax.delete_cluster(R1, "spread").expect("delete");
    h.f.dax.tick().expect("tick");
    assert!(h.f.create(R1, "full", 1).is_ok());
    assert!(h.f.ports.in_use().is_empty());
    // A TLS cluster stays inside the control (see docs/node-hosts.md, "Placement").
    let mut input = cluster_input("secure", 1);
    input.cluster_endpoint_encryption_type = Some(EncryptionType::Tls);
    h.f.dax.create_cluster(R1, input).expect("create");
    assert_eq!(h.f.ports.in_use().len(), 1);
    assert_eq!(h.f.dax.node_ports().len(), 1);
}

#[test]
fn placement_cases() {
    // (what the case shows, hosts (zone, address, ports), replication factor, zones asked,
    // the endpoints of the nodes, or the error code)
    type Case = (
        &'static str,
        Vec<(&'static str, &'static str, (i64, i64))>,
        i64,
        Option<Vec<&'static str>>,
        Result<Vec<(&'static str, u16)>, &'static str>,
    );
    let cases: Vec<Case> = vec![
        (
            "one host takes them all",
            vec![("us-east-1a", "h1", (1, 5))],
            3,
            None,
            Ok(vec![("h1", 1), ("h1", 2), ("h1", 3)]),
        ),
        (
            "two hosts in one zone: never share while the other is free",
            vec![("us-east-1a", "h1", (1, 5)), ("us-east-1a", "h2", (1, 5))],
            3,
            None,
            Ok(vec![("h1", 1), ("h2", 1), ("h1", 2)]),
        ),
        (
            "zones before hosts",
            vec![("us-east-1a", "h1", (1, 5)), ("us-east-1a", "h2", (1, 5)), ("us-east-1b", "h3", (1, 5))],
            2,
            None,
            Ok(vec![("h1", 1), ("h3", 1)]),
        ),
        (
            "the zones asked, several",
            vec![("us-east-1a", "h1", (1, 5)), ("us-east-1b", "h2", (1, 5))],
            3,
            Some(vec!["us-east-1b", "us-east-1b", "us-east-1a"]),
            Ok(vec![("h2", 1), ("h2", 2), ("h1", 1)]),
        ),
        (
            "a zone without a host",
            vec![("us-east-1a", "h1", (1, 5))],
            1,
            Some(vec!["us-east-1b"]),
            Err("InsufficientClusterCapacityFault"),
        ),
        (
            "a zone not of the subnet group",
            vec![("us-east-1d", "h1", (1, 5))],
            1,
            None,
            Err("InsufficientClusterCapacityFault"),
        ),
        (
            "too few ports in all",
            vec![("us-east-1a", "h1", (1, 1)), ("us-east-1b", "h2", (1, 1))],
            3,
            None,
            Err("InsufficientClusterCapacityFault"),
        ),
    ];
    for (name, hosts, rf, asked, want) in cases {
        let h = on_hosts(0);
        for (zone, address, ports) in hosts {
            h.join(zone, address, ports);
        }
        let mut input = cluster_input("c", rf);
        input.availability_zones = asked.map(|z| z.iter().map(|s| (*s).to_owned()).collect());
        let got = h.f.dax.create_cluster(R1, input).map(|_| {
            let c = h.f.describe(R1, "c").expect("describe");
            endpoints(&c)
        });
        match want {
            Ok(w) => {
                let got = got.unwrap_or_else(|e| panic!("{name}: {e:?}"));
                let w: Vec<(String, u16)> = w.into_iter().map(|(a, p)| (a.to_owned(), p)).collect();
                assert_eq!(got, w, "{name}");
            }
            Err(c) => {
                assert_eq!(code(got), c, "{name}");
                assert!(
                    h.f.store.dump().expect("dump").iter().all(|(ns, _, _)| ns != "dax/clusters"),
                    "{name}: nothing made"
                );
            }
        }
    }
}

#[test]
fn clusters_spread_over_the_hosts_of_a_zone() {
    let h = on_hosts(0);
    let one = h.join("us-east-1a", "10.0.0.1", (9100, 9199));
    let two = h.join("us-east-1a", "10.0.0.2", (9100, 9199));
    h.f.create(R1, "first", 1).expect("create");
    h.f.create(R1, "second", 1).expect("create");
    let address = |name: &str| endpoints(&h.f.describe(R1, name).expect("describe"))[0].0.clone();
    assert_ne!(address("first"), address("second"), "the least loaded host is chosen");
    assert!([one.advertise_host, two.advertise_host].contains(&address("first")));
    // A cluster inside the control (made before any host) grows inside it.
    assert!(h.f.ports.in_use().is_empty());
}

#[test]
fn a_host_is_told_what_to_run() {
    let h = on_hosts(5);
    let a = h.join("us-east-1a", "10.0.0.1", (9100, 9199));
    let b = h.join("us-east-1a", "10.0.0.2", (9100, 9199));
    let mut input = cluster_input("told", 2);
    input.iam_role_arn = ROLE.to_owned();
    h.f.dax.create_cluster(R1, input).expect("create");
    let on = |id: &str| h.f.dax.host_assignments(R1, id);
    // Equal hosts: the lowest id (the first to join) for the first node, the other host for
    // the second.
    assert!(a.id < b.id);
    let (mine, other) = (a, b);
    assert!(on(&mine.id).is_empty(), "nothing listens during the provisioning delay");
    h.f.advance(5);
    let got = on(&mine.id);
    assert_eq!(got.len(), 1);
    let t = &got[0];
    assert_eq!(
        (t.cluster_name.as_str(), t.cluster_arn.clone(), t.iam_role_arn.as_str(), t.tls),
        ("told", arn(R1, "told"), ROLE, false)
    );
    assert_eq!((t.record_ttl_ms, t.query_ttl_ms), (300_000, 300_000));
    let nodes: Vec<(&str, u16, u64, bool)> =
        t.nodes.iter().map(|n| (n.node_id.as_str(), n.port, n.generation, n.primary)).collect();
    assert_eq!(nodes, vec![("told-a", 9100, 0, true)]);
    let theirs = on(&other.id);
    let nodes: Vec<(&str, u16, bool)> =
        theirs[0].nodes.iter().map(|n| (n.node_id.as_str(), n.port, n.primary)).collect();
    assert_eq!(nodes, vec![("told-b", 9100, false)]);
    // Both hosts get the whole roster, the same leader session id.
    let roster: Vec<(&str, &str, &str, u16, bool)> = t
        .roster
        .iter()
        .map(|n| (n.node_id.as_str(), n.host_id.as_str(), n.address.as_str(), n.port, n.primary))
        .collect();
    assert_eq!(
        roster,
        vec![
            ("told-a", mine.id.as_str(), "10.0.0.1", 9100, true),
            ("told-b", other.id.as_str(), "10.0.0.2", 9100, false)
        ]
    );
    assert_eq!(theirs[0].roster, t.roster);
    assert_eq!(theirs[0].leader_session_id, t.leader_session_id);
    // A host that stops heartbeating leaves the roster of the others.
    h.f.advance(26);
    h.hosts.heartbeat(R1, &mine.id, ALICE).expect("heartbeat");
    h.hosts.tick().expect("tick");
    let roster: Vec<String> = on(&mine.id)[0].roster.iter().map(|n| n.node_id.clone()).collect();
    assert_eq!(roster, ["told-a"]);
    assert_eq!(
        h.f.describe(R1, "told").expect("describe").cluster_discovery_endpoint.address.as_deref(),
        Some("10.0.0.1")
    );
    assert!(h.f.dax.host_assignments("eu-west-1", &mine.id).is_empty());
    // Deleting the cluster takes it off the host's list at once.
    h.f.dax.delete_cluster(R1, "told").expect("delete");
    assert!(on(&mine.id).is_empty());
}

/// The cluster is `available` (its nodes serve: the fixture's readiness says so).
fn serve_all(h: &OnHosts, name: &str) {
    h.f.advance(1);
    let c = h.f.describe(R1, name).expect("describe");
    assert_eq!(c.status, ClusterStatus::Available, "{c:?}");
}

fn lose(h: &OnHosts, host: &NodeHost, others: &[&NodeHost]) {
    h.f.advance(31);
    for o in others {
        h.hosts.heartbeat(R1, &o.id, ALICE).expect("heartbeat");
    }
    h.hosts.tick().expect("tick");
    assert_eq!(h.hosts.get(R1, &host.id).expect("host").state, HostState::Unreachable);
}

#[test]
fn failover_and_replacement_cases() {
    // (what the case shows, the host lost (by index), the expected primary after, the
    // endpoints after (address, port), the events recorded)
    type Case = (&'static str, usize, &'static str, Vec<(&'static str, u16)>, Vec<&'static str>);
    let cases: Vec<Case> = vec![
        (
            "the primary's host: the oldest node left is promoted, the lost node replaced in its zone",
            0,
            "c-b",
            vec![("10.0.0.2", 9100), ("10.0.0.3", 9100), ("10.0.0.4", 9100)],
            vec!["Failover to replica node c-b completed.", "Replacing failed node c-a with node c-d."],
        ),
        (
            "a replica's host: the primary stays, the node is replaced",
            1,
            "c-a",
            vec![("10.0.0.1", 9100), ("10.0.0.3", 9100), ("10.0.0.4", 9100)],
            vec!["Replacing failed node c-b with node c-d."],
        ),
    ];
    for (name, lost, primary, want, events) in cases {
        let h = on_hosts(0);
        let hosts = [
            h.join("us-east-1a", "10.0.0.1", (9100, 9101)),
            h.join("us-east-1b", "10.0.0.2", (9100, 9101)),
            h.join("us-east-1c", "10.0.0.3", (9100, 9101)),
        ];
        h.f.create(R1, "c", 3).expect("create");
        serve_all(&h, "c");
        // A spare host in the lost host's zone.
        let zone = hosts[lost].availability_zone.clone();
        let spare = h.join(&zone, "10.0.0.4", (9100, 9101));
        let others: Vec<&NodeHost> =
            hosts.iter().enumerate().filter(|(i, _)| *i != lost).map(|(_, x)| x).chain([&spare]).collect();
        lose(&h, &hosts[lost], &others);
        let before = h.f.store.applied_batches();
        let lines = h.f.dax.replace_lost_nodes().expect("replace");
        assert_eq!(h.f.store.applied_batches(), before + 1, "{name}: one batch");
        assert!(!lines.is_empty(), "{name}");
        let c = h.f.describe(R1, "c").expect("describe");
        let mut got = endpoints(&c);
        got.sort();
        let want: Vec<(String, u16)> = want.iter().map(|(a, p)| ((*a).to_owned(), *p)).collect();
        assert_eq!(got, want, "{name}");
        assert_eq!(
            c.cluster_discovery_endpoint.address.as_deref(),
            Some(if primary == "c-a" { "10.0.0.1" } else { "10.0.0.2" }),
            "{name}"
        );
        let msgs: Vec<String> =
            h.f.messages(R1).into_iter().filter(|m| m.contains("ailover") || m.contains("Replacing")).collect();
        assert_eq!(msgs, events, "{name}");
        // Nothing more to do; the lost host, back, is not told to run the lost node.
        assert!(h.f.dax.replace_lost_nodes().expect("again").is_empty(), "{name}");
        h.hosts.heartbeat(R1, &hosts[lost].id, ALICE).expect("back");
        assert!(h.f.dax.host_assignments(R1, &hosts[lost].id).is_empty(), "{name}");
        // The new node is on the spare host, the host left's roster names the new primary.
        let on_spare = h.f.dax.host_assignments(R1, &spare.id);
        assert_eq!(on_spare[0].nodes[0].node_id, "c-d", "{name}");
        assert!(on_spare[0].roster.iter().any(|n| n.node_id == primary && n.primary), "{name}");
        // Durable.
        let again = open(&h.f.store, &h.f.net, &h.f.ports, &h.f.ready, &h.f.clock, 0);
        let page = again.describe_clusters(R1, &DescribeClustersInput::default()).expect("describe");
        let mut reopened = endpoints(&page.items[0]);
        reopened.sort();
        assert_eq!(reopened, got, "{name}");
    }
}

#[test]
fn a_lost_node_without_room_elsewhere_waits_and_the_primary_moves_anyway() {
    let h = on_hosts(0);
    let a = h.join("us-east-1a", "10.0.0.1", (9100, 9100));
    let b = h.join("us-east-1b", "10.0.0.2", (9100, 9100));
    h.f.create(R1, "c", 2).expect("create");
    serve_all(&h, "c");
    lose(&h, &a, &[&b]);
    h.f.dax.replace_lost_nodes().expect("replace");
    let c = h.f.describe(R1, "c").expect("describe");
    assert_eq!(c.cluster_discovery_endpoint.address.as_deref(), Some("10.0.0.2"), "promoted");
    assert_eq!(c.total_nodes, 2, "the lost node waits for room");
    // A host with room joins: the next call replaces it.
    h.join("us-east-1c", "10.0.0.3", (9100, 9100));
    let lines = h.f.dax.replace_lost_nodes().expect("replace");
    assert_eq!(lines.len(), 1, "{lines:?}");
    let mut got = endpoints(&h.f.describe(R1, "c").expect("describe"));
    got.sort();
    assert_eq!(got, [("10.0.0.2".to_owned(), 9100), ("10.0.0.3".to_owned(), 9100)]);
}

/// Invariant 6: a failed batch changes nothing, and the next call does it all.
#[test]
fn a_failed_write_of_a_failover_changes_nothing() {
    let h = on_hosts(0);
    let a = h.join("us-east-1a", "10.0.0.1", (9100, 9101));
    let b = h.join("us-east-1b", "10.0.0.2", (9100, 9101));
    h.f.create(R1, "c", 2).expect("create");
    serve_all(&h, "c");
    lose(&h, &a, &[&b]);
    let before = (endpoints(&h.f.describe(R1, "c").expect("describe")), h.f.store.dump().expect("dump"));
    let enis = h.f.net.live();
    h.f.store.fail_next_apply();
    assert_eq!(code(h.f.dax.replace_lost_nodes()), "InternalFailure");
    assert_eq!((endpoints(&h.f.describe(R1, "c").expect("describe")), h.f.store.dump().expect("dump")), before);
    assert_eq!(h.f.net.live(), enis, "the new node's interface is undone");
    assert_eq!(h.f.dax.replace_lost_nodes().expect("retry").len(), 2);
}
