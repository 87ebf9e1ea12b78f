//! A cluster spread over node hosts: fleets of different "hosts" in one process, linked over
//! loopback with certificates of one CA (docs/node-hosts.md, "Replication").

use std::collections::HashSet;
use std::time::SystemTime;

use super::*;
use crate::tls::{HostCsr, HostKey, PeerTls};
use crate::{NodeTls, PeerNode};

/// A "host": its fleet (its own fake DynamoDB, or the shared one), id and link port.
struct H {
    id: String,
    fleet: Arc<Fleet>,
    port: u16,
    link_port: u16,
}

fn host(ca: &NodeTls, id: &str, node: usize, dynamo: Arc<FakeHost>) -> H {
    let key = HostKey::generate().unwrap();
    let csr = HostCsr::parse(&key.csr("127.0.0.1").unwrap()).unwrap();
    let cert = ca.sign_host(&csr, id, "127.0.0.1", SystemTime::now()).unwrap();
    let tls = PeerTls::new(ca.ca_pem(), &cert, &key).unwrap();
    let fleet = Fleet::new(dynamo, FleetConfig::default());
    let port = free_port();
    fleet.reconcile(&[spec(node, port, true)]);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let link_port = listener.local_addr().unwrap().port();
    fleet.enable_replication(id, tls, listener).unwrap();
    H { id: id.to_owned(), fleet, port, link_port }
}

fn peer(h: &H, node: usize, primary: bool) -> PeerNode {
    PeerNode {
        node_id: format!("c-{}", (b'a' + node as u8) as char),
        host_id: h.id.clone(),
        address: "127.0.0.1".into(),
        port: h.port,
        availability_zone: format!("us-east-1{}", (b'a' + node as u8) as char),
        primary,
        replication_port: h.link_port,
    }
}

/// A put, retried while the link to the primary's host is not up yet (the write fails with
/// `InternalServerError` then, as DAX's clients retry it).
async fn retry_put(c: &mut Client, pk: &str, v: &str) {
    for _ in 0..500 {
        if put(c, pk, v).await == EMPTY() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the put of {pk} never succeeded");
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_spread_over_hosts_replicates_and_forwards_writes() {
    let dir = tempfile::tempdir().unwrap();
    let ca = NodeTls::load_or_create(dir.path(), "127.0.0.1").unwrap();
    // The primary's host reaches DynamoDB; the replica's host has a DynamoDB of its own
    // that nothing should reach for a write or a replicated entry.
    let dynamo = FakeHost::new();
    let elsewhere = FakeHost::new();
    let a = host(&ca, "nh-0000000000000000a", 0, dynamo.clone());
    let b = host(&ca, "nh-0000000000000000b", 1, elsewhere.clone());
    let roster = vec![peer(&a, 0, true), peer(&b, 1, false)];
    a.fleet.set_roster(&cluster().arn, roster.clone(), 42);
    b.fleet.set_roster(&cluster().arn, roster.clone(), 42);

    // `endpoints` on either host: the whole roster, the primary first.
    let mut cb = Client::authed(b.port).await;
    let Answer::Ok(eps) = cb.call(&Request::Endpoints).await else { panic!("endpoints") };
    let want: Vec<Endpoint> = roster
        .iter()
        .enumerate()
        .map(|(i, p)| Endpoint {
            node_id: i as u64,
            hostname: "127.0.0.1".into(),
            address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: p.port,
            role: if p.primary { NodeRole::Leader } else { NodeRole::Replica },
            availability_zone: p.availability_zone.clone(),
            leader_session_id: 42,
        })
        .collect();
    assert_eq!(eps, encode_endpoints(&want)[1..].to_vec());

    // A write at the replica's host: its DynamoDB call is made by the primary's host.
    retry_put(&mut cb, "r", "1").await;
    assert!(dynamo.stored("tab", json!({"pk": {"S": "r"}})).is_some());
    assert_eq!(elsewhere.count("PutItem"), 0);
    // It is cached on both hosts: changed behind DAX's back, both still answer it.
    let mut ca_client = Client::authed(a.port).await;
    let want = expect_item(&mut ca_client, Some(json!({"pk": {"S": "r"}, "v": {"S": "1"}}))).await;
    eventually("the write cached on the primary's host", || async { (cached(&a.fleet, "c-a") >= 1).then_some(()) })
        .await;
    dynamo.put_direct("tab", json!({"pk": {"S": "r"}, "v": {"S": "changed"}}));
    assert_eq!(ca_client.call(&get("r")).await, want);
    assert_eq!(cb.call(&get("r")).await, want);
    assert_eq!((dynamo.count("GetItem"), elsewhere.count("GetItem")), (0, 0));

    // A write at the primary reaches the replica's cache through the stream, with the
    // attribute list its value refers to.
    assert_eq!(put(&mut ca_client, "p", "2").await, EMPTY());
    let want = expect_item(&mut cb, Some(json!({"pk": {"S": "p"}, "v": {"S": "2"}}))).await;
    eventually("the primary's write on the replica", || async { (cached(&b.fleet, "c-b") >= 2).then_some(()) }).await;
    assert_eq!(cb.call(&get("p")).await, want);
    assert_eq!(elsewhere.count("GetItem"), 0, "answered from the replicated entry");

    // A host the roster does not list is refused a link, though its certificate is the CA's.
    let c = host(&ca, "nh-0000000000000000c", 2, FakeHost::new());
    c.fleet.set_roster(&cluster().arn, vec![peer(&a, 0, true), peer(&c, 2, false)], 42);
    assert_eq!(put(&mut ca_client, "q", "3").await, EMPTY());
    eventually("the next write on the listed replica", || async { (cached(&b.fleet, "c-b") >= 3).then_some(()) }).await;
    assert_eq!(cached(&c.fleet, "c-c"), 0, "the unlisted host got nothing");

    // Replication lag on loopback: the primary's stamp to the apply on the replica.
    let _ = b.fleet.take_replication_lags_ms();
    let n = 300;
    for i in 0..n {
        assert_eq!(put(&mut ca_client, &format!("l{i}"), "x").await, EMPTY());
    }
    let lags = eventually("every update applied", || async {
        let got = b.fleet.take_replication_lags_ms();
        (!got.is_empty()).then_some(got)
    })
    .await;
    let mut all = lags;
    while all.len() < n {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let more = b.fleet.take_replication_lags_ms();
        assert!(!more.is_empty() || all.len() >= n, "updates stopped at {}", all.len());
        all.extend(more);
    }
    all.sort_unstable();
    println!(
        "replication lag over loopback, {} updates: median {} ms, p99 {} ms, max {} ms",
        all.len(),
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        all[all.len() - 1]
    );
    assert!(percentile(&all, 0.5) < 1000);

    // A new primary elsewhere: the old link goes, the replica follows the new one from a reset.
    let hosts: HashSet<String> = [a.id.clone(), b.id.clone()].into();
    assert_eq!(hosts.len(), 2);
    let swapped = vec![peer(&a, 0, false), peer(&b, 1, true)];
    a.fleet.set_roster(&cluster().arn, swapped.clone(), 43);
    b.fleet.set_roster(&cluster().arn, swapped, 43);
    // The old primary now forwards its writes to the new one (which reaches `elsewhere`).
    retry_put(&mut ca_client, "n", "4").await;
    assert_eq!(elsewhere.count("PutItem"), 1);
}

/// A TCP relay the test can cut: every connection through it is dropped on `cut`.
struct Relay {
    port: u16,
    conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Relay {
    async fn to(target: u16) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let held = Arc::clone(&conns);
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", target)).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                held.lock().unwrap().push(task);
            }
        });
        Relay { port, conns, accept }
    }

    fn cut(&self) {
        for t in self.conns.lock().unwrap().drain(..) {
            t.abort();
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_link_resumes_without_applying_anything_twice() {
    let dir = tempfile::tempdir().unwrap();
    let ca = NodeTls::load_or_create(dir.path(), "127.0.0.1").unwrap();
    let dynamo = FakeHost::new();
    let a = host(&ca, "nh-0000000000000000a", 0, dynamo.clone());
    let b = host(&ca, "nh-0000000000000000b", 1, FakeHost::new());
    let relay = Relay::to(a.link_port).await;
    let mut via = peer(&a, 0, true);
    via.replication_port = relay.port;
    a.fleet.set_roster(&cluster().arn, vec![peer(&a, 0, true), peer(&b, 1, false)], 1);
    b.fleet.set_roster(&cluster().arn, vec![via, peer(&b, 1, false)], 1);
    let mut ca_client = Client::authed(a.port).await;
    // The first write once the link is up (before, the replica has not said hello).
    let mut applied = 0;
    for i in 0..500 {
        assert_eq!(put(&mut ca_client, "first", &i.to_string()).await, EMPTY());
        tokio::time::sleep(Duration::from_millis(10)).await;
        applied += b.fleet.take_replication_lags_ms().len();
        if applied > 0 {
            break;
        }
    }
    assert!(applied > 0, "the link never came up");
    // Let the first writes settle; count from here.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = b.fleet.take_replication_lags_ms();
    let mut applied = 0;
    // Writes while the link is cut and after: each applied exactly once, in the end all there.
    let mut written = 0;
    for round in 0..3 {
        relay.cut();
        for i in 0..20 {
            assert_eq!(put(&mut ca_client, &format!("k{round}-{i}"), "v").await, EMPTY());
            written += 1;
        }
    }
    let want_keys = 1 + written;
    eventually("every write applied on the replica", || async {
        (cached(&b.fleet, "c-b") >= want_keys as u64).then_some(())
    })
    .await;
    applied += b.fleet.take_replication_lags_ms().len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    applied += b.fleet.take_replication_lags_ms().len();
    assert_eq!(applied, written, "every update applied once, none twice");
    let mut cb = Client::authed(b.port).await;
    let want = expect_item(&mut cb, Some(json!({"pk": {"S": "k2-19"}, "v": {"S": "v"}}))).await;
    assert_eq!(cb.call(&get("k2-19")).await, want);
}
