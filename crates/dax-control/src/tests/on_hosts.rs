//! Clusters placed on node hosts (docs/node-hosts.md, "Placement"): a cluster runs whole
//! on the host the placement rule picks for its first node; its endpoints are the host's
//! address and ports of its range; the control's port pool is not used.

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

#[test]
fn a_cluster_runs_whole_on_one_host() {
    let h = on_hosts(0);
    let a = h.join("us-east-1b", "10.0.0.7", (9100, 9104));
    let c = h.f.create(R1, "onhost", 3).expect("create");
    assert_eq!(c.cluster_discovery_endpoint.port, 9100);
    let c = h.f.describe(R1, "onhost").expect("describe");
    assert_eq!(
        endpoints(&c),
        vec![("10.0.0.7".to_owned(), 9100), ("10.0.0.7".to_owned(), 9101), ("10.0.0.7".to_owned(), 9102)]
    );
    assert_eq!(c.cluster_discovery_endpoint.address.as_deref(), Some("10.0.0.7"));
    assert_eq!(c.cluster_discovery_endpoint.url.as_deref(), Some("dax://10.0.0.7:9100"));
    assert!(c.nodes.iter().flatten().all(|n| n.availability_zone.as_deref() == Some("us-east-1b")));
    assert!(h.f.ports.in_use().is_empty(), "the control's pool gives no port");
    assert!(h.f.dax.node_ports().is_empty(), "the control binds nothing for them");
    // Durable: a reopened control shows the same.
    let again = open(&h.f.store, &h.f.net, &h.f.ports, &h.f.ready, &h.f.clock, 0);
    let page = again.describe_clusters(R1, &DescribeClustersInput::default()).expect("describe");
    assert_eq!(endpoints(&page.items[0]), endpoints(&c));
    // Growing it stays on the host, on its next free ports; it cannot grow past them.
    let grown =
        h.f.dax
            .increase_replication_factor(
                R1,
                IncreaseReplicationFactorInput {
                    cluster_name: "onhost".to_owned(),
                    new_replication_factor: 5,
                    ..Default::default()
                },
            )
            .expect("increase");
    assert_eq!(grown.total_nodes, 5);
    let c = h.f.describe(R1, "onhost").expect("describe");
    assert_eq!(endpoints(&c).iter().map(|e| e.1).collect::<Vec<_>>(), vec![9100, 9101, 9102, 9103, 9104]);
    let more = IncreaseReplicationFactorInput {
        cluster_name: "onhost".to_owned(),
        new_replication_factor: 6,
        ..Default::default()
    };
    assert_eq!(code(h.f.dax.increase_replication_factor(R1, more)), "InsufficientClusterCapacityFault");
    // A second cluster finds no host with a free port.
    let (code_, msg) = err(h.f.create(R1, "full", 1));
    assert_eq!(code_, "InsufficientClusterCapacityFault");
    assert!(msg.contains("no active node host"), "{msg}");
    // Deleting frees the host's ports (once gone); the control's pool is untouched.
    h.f.dax.delete_cluster(R1, "onhost").expect("delete");
    h.f.dax.tick().expect("tick");
    assert!(h.f.create(R1, "full", 1).is_ok());
    assert!(h.f.ports.in_use().is_empty());
    assert_eq!(h.hosts.get(R1, &a.id).expect("host").state, HostState::Active);
    // A TLS cluster stays inside the control: hosts have no node certificates yet.
    let mut input = cluster_input("secure", 1);
    input.cluster_endpoint_encryption_type = Some(EncryptionType::Tls);
    h.f.dax.create_cluster(R1, input).expect("create");
    assert_eq!(h.f.ports.in_use().len(), 1);
    assert_eq!(h.f.dax.node_ports().len(), 1);
}

#[test]
fn clusters_spread_over_hosts_and_zones_are_checked() {
    let h = on_hosts(0);
    let one = h.join("us-east-1a", "10.0.0.1", (9100, 9199));
    let two = h.join("us-east-1a", "10.0.0.2", (9100, 9199));
    h.f.create(R1, "first", 3).expect("create");
    h.f.create(R1, "second", 3).expect("create");
    let address = |name: &str| endpoints(&h.f.describe(R1, name).expect("describe"))[0].0.clone();
    assert_ne!(address("first"), address("second"), "the least loaded host is chosen");
    assert!([one.advertise_host, two.advertise_host].contains(&address("first")));
    // Zones: one zone asked is honoured; several cannot be; a zone without a host has no capacity.
    let mut input = cluster_input("zoned", 2);
    input.availability_zones = Some(vec!["us-east-1a".to_owned(), "us-east-1a".to_owned()]);
    h.f.dax.create_cluster(R1, input).expect("one zone");
    let mut input = cluster_input("split", 2);
    input.availability_zones = Some(vec!["us-east-1a".to_owned(), "us-east-1b".to_owned()]);
    let (c, m) = err(h.f.dax.create_cluster(R1, input));
    assert_eq!(c, "InvalidParameterValueException");
    assert!(m.contains("one node host, in one Availability Zone"), "{m}");
    let mut input = cluster_input("elsewhere", 1);
    input.availability_zones = Some(vec!["us-east-1c".to_owned()]);
    assert_eq!(code(h.f.dax.create_cluster(R1, input)), "InsufficientClusterCapacityFault");
    let grow = IncreaseReplicationFactorInput {
        cluster_name: "zoned".to_owned(),
        new_replication_factor: 3,
        availability_zones: Some(vec!["us-east-1b".to_owned()]),
    };
    assert_eq!(code(h.f.dax.increase_replication_factor(R1, grow)), "InvalidParameterValueException");
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
    // Equal hosts: the lowest id (the first to join) is chosen.
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
    assert_eq!(nodes, vec![("told-a", 9100, 0, true), ("told-b", 9101, 0, false)]);
    assert!(on(&other.id).is_empty());
    assert_eq!(
        h.f.describe(R1, "told").expect("describe").cluster_discovery_endpoint.address.as_deref(),
        Some("10.0.0.1")
    );
    assert!(h.f.dax.host_assignments("eu-west-1", &mine.id).is_empty());
    // Deleting the cluster takes it off the host's list at once.
    h.f.advance(1);
    h.f.dax.delete_cluster(R1, "told").expect("delete");
    assert!(on(&mine.id).is_empty());
}
