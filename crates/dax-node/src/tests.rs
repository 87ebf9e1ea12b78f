//! The node against a fake host, over real loopback sockets, with dax-wire's request
//! encoder as the client.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dax_wire::{
    encode_endpoints, encode_item_response, encode_item_values, encode_key, encode_key_schema, item_from_json,
    item_to_json, AuthorizeConnection, ConditionExpression, DocumentPath, Endpoint, Expr, GetItemRequest, Item,
    ItemPayload, ItemResponse, KeySchema, KeyType, NodeRole, Preamble, PutItemRequest, QueryRequest, Request,
    ReturnValues, SessionId, UpdateAction, UpdateExpression, UpdateItemRequest,
};
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{BoxFuture, ClusterInfo, Fleet, FleetConfig, Host, NodeError, NodeSpec, Principal};

// ---- a fake host -----------------------------------------------------------------------

#[derive(Default)]
struct Store {
    schemas: HashMap<String, KeySchema>,
    items: HashMap<String, BTreeMap<Vec<u8>, Item>>,
}

#[derive(Default)]
struct FakeHost {
    store: Mutex<Store>,
    calls: Mutex<Vec<(String, Value)>>,
    fail_next: Mutex<Option<(String, NodeError)>>,
    delay_ms: Mutex<u64>,
    denied: Mutex<Vec<String>>,
    /// The `tls` of each authorization.
    tls_seen: Mutex<Vec<bool>>,
}

impl FakeHost {
    fn new() -> Arc<Self> {
        let h = FakeHost::default();
        h.store.lock().unwrap().schemas.insert("tab".into(), KeySchema::hash_only("pk", KeyType::S));
        h.store.lock().unwrap().schemas.insert("rng".into(), KeySchema::hash_range("pk", KeyType::S, "sk", KeyType::N));
        Arc::new(h)
    }

    fn count(&self, op: &str) -> usize {
        self.calls.lock().unwrap().iter().filter(|(o, _)| o == op).count()
    }

    fn last(&self, op: &str) -> Value {
        self.calls.lock().unwrap().iter().rev().find(|(o, _)| o == op).map(|(_, v)| v.clone()).unwrap()
    }

    /// A write made around DAX.
    fn put_direct(&self, table: &str, item: Value) {
        let item = item_from_json(&item).unwrap();
        let mut st = self.store.lock().unwrap();
        let kb = encode_key(&item, &st.schemas[table]).unwrap();
        st.items.entry(table.into()).or_default().insert(kb, item);
    }

    fn stored(&self, table: &str, key: Value) -> Option<Item> {
        let key = item_from_json(&key).unwrap();
        let st = self.store.lock().unwrap();
        let kb = encode_key(&key, &st.schemas[table]).unwrap();
        st.items.get(table).and_then(|t| t.get(&kb)).cloned()
    }

    fn exec(&self, op: &str, input: &Value) -> Result<Value, NodeError> {
        if let Some((o, e)) = self.fail_next.lock().unwrap().take_if(|(o, _)| o == op) {
            let _ = o;
            return Err(e);
        }
        let table = input.get("TableName").and_then(Value::as_str).unwrap_or_default().to_owned();
        let mut st = self.store.lock().unwrap();
        let schema = st.schemas.get(&table).cloned();
        let not_found = || NodeError::not_found("Requested resource not found");
        match op {
            "DescribeTable" => Ok(crate::fuzzing::describe_table(&schema.ok_or_else(not_found)?)),
            "GetItem" => {
                let s = schema.ok_or_else(not_found)?;
                let kb = encode_key(&item_from_json(&input["Key"]).unwrap(), &s).unwrap();
                Ok(match st.items.get(&table).and_then(|t| t.get(&kb)) {
                    Some(i) => json!({"Item": item_to_json(i)}),
                    None => json!({}),
                })
            }
            "PutItem" | "DeleteItem" | "UpdateItem" => {
                let s = schema.ok_or_else(not_found)?;
                let src = if op == "PutItem" { &input["Item"] } else { &input["Key"] };
                let key = s.key_of(&item_from_json(src).unwrap());
                let kb = encode_key(&key, &s).unwrap();
                let t = st.items.entry(table).or_default();
                let old = t.get(&kb).cloned();
                if input.get("ConditionExpression").is_some() && old.is_some() {
                    return Err(NodeError::new(
                        "ConditionalCheckFailedException",
                        "The conditional request failed",
                        400,
                    ));
                }
                let new = match op {
                    "PutItem" => Some(item_from_json(&input["Item"]).unwrap()),
                    "DeleteItem" => None,
                    _ => {
                        // "SET #n0 = :u0, #n1 = :u1" only.
                        let mut item = old.clone().unwrap_or_else(|| key.clone());
                        let expr = input["UpdateExpression"].as_str().unwrap().trim_start_matches("SET ");
                        for clause in expr.split(", ") {
                            let (l, r) = clause.split_once(" = ").unwrap();
                            let name = input["ExpressionAttributeNames"][l].as_str().unwrap();
                            let v =
                                dax_wire::AttributeValue::from_json(&input["ExpressionAttributeValues"][r]).unwrap();
                            item.insert(name.to_owned(), v);
                        }
                        Some(item)
                    }
                };
                match &new {
                    Some(i) => t.insert(kb, i.clone()),
                    None => t.remove(&kb),
                };
                let rv = input.get("ReturnValues").and_then(Value::as_str).unwrap_or("NONE");
                let attrs = match rv {
                    "ALL_OLD" => old,
                    "ALL_NEW" => new,
                    _ => None,
                };
                Ok(match attrs {
                    Some(a) => json!({"Attributes": item_to_json(&a)}),
                    None => json!({}),
                })
            }
            "Query" | "Scan" => {
                let items: Vec<Value> =
                    st.items.get(&table).into_iter().flat_map(|t| t.values()).map(item_to_json).collect();
                Ok(json!({"Items": items, "Count": items.len(), "ScannedCount": items.len()}))
            }
            other => Err(NodeError::validation(format!("fake host: {other} is not supported"))),
        }
    }
}

impl Host for FakeHost {
    fn authenticate(&self, a: &AuthorizeConnection, _cluster: &ClusterInfo) -> Result<Principal, NodeError> {
        if a.access_key_id == "good" {
            Ok(Principal::new(a.access_key_id.clone()))
        } else {
            Err(NodeError::new(
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
                400,
            ))
        }
    }

    fn authorize(
        &self,
        who: &Principal,
        action: &str,
        _c: &ClusterInfo,
        _e: Option<&str>,
        tls: bool,
    ) -> Result<(), NodeError> {
        assert_eq!(who.downcast_ref::<String>().map(String::as_str), Some("good"));
        self.tls_seen.lock().unwrap().push(tls);
        if self.denied.lock().unwrap().iter().any(|a| a == action) {
            return Err(NodeError::access_denied(format!("not authorized to perform: dax:{action}")));
        }
        Ok(())
    }

    fn dynamodb<'a>(
        &'a self,
        _c: &'a ClusterInfo,
        op: &'a str,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, NodeError>> {
        Box::pin(async move {
            self.calls.lock().unwrap().push((op.to_owned(), input.clone()));
            let delay = *self.delay_ms.lock().unwrap();
            if delay > 0 && op != "DescribeTable" {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            self.exec(op, &input)
        })
    }

    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

// ---- fixtures --------------------------------------------------------------------------

fn cluster() -> ClusterInfo {
    ClusterInfo {
        region: "us-east-1".into(),
        name: "c".into(),
        arn: "arn:aws:dax:us-east-1:123456789012:cache/c".into(),
        iam_role_arn: "arn:aws:iam::123456789012:role/r".into(),
        node_type: "dax.t3.small".into(),
        record_ttl_ms: 60_000,
        query_ttl_ms: 60_000,
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn spec(n: usize, port: u16, running: bool) -> NodeSpec {
    NodeSpec {
        cluster: cluster(),
        node_id: format!("c-{}", (b'a' + n as u8) as char),
        host: "127.0.0.1".into(),
        port,
        availability_zone: format!("us-east-1{}", (b'a' + n as u8) as char),
        tls: false,
        running,
        generation: 0,
    }
}

/// Waits for `check` to give a value, polling every 10 ms, for at most 10 s: a wait on
/// the state itself, not on the time something usually takes.
async fn eventually<T, F, Fut>(what: &str, check: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "waited 10 s for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

struct Setup {
    host: Arc<FakeHost>,
    fleet: Arc<Fleet>,
    ports: Vec<u16>,
}

impl Setup {
    /// A parameter-group change: the control plane's next reconcile carries the TTLs.
    fn set_ttls(&self, record_ms: u64, query_ms: u64) {
        let specs: Vec<NodeSpec> = (self.ports.iter().enumerate())
            .map(|(i, p)| {
                let mut s = spec(i, *p, true);
                (s.cluster.record_ttl_ms, s.cluster.query_ttl_ms) = (record_ms, query_ms);
                s
            })
            .collect();
        self.fleet.reconcile(&specs);
    }
}

fn setup(nodes: usize, config: FleetConfig) -> Setup {
    let host = FakeHost::new();
    let fleet = Fleet::new(host.clone(), config);
    let ports: Vec<u16> = (0..nodes).map(|_| free_port()).collect();
    fleet.reconcile(&ports.iter().enumerate().map(|(i, p)| spec(i, *p, true)).collect::<Vec<_>>());
    Setup { host, fleet, ports }
}

/// A byte stream a client talks over: plain TCP or TLS.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A DAX client made of dax-wire's request encoder and a minimal response reader.
struct Client {
    stream: Box<dyn Io>,
    buf: Vec<u8>,
}

/// A decoded answer: the bytes after `0x80`, or the error's codes and exception name.
#[derive(Debug, PartialEq)]
enum Answer {
    Ok(Vec<u8>),
    Err(Vec<u64>, String),
}

fn items_in(method: &Request) -> usize {
    match method {
        Request::BatchGetItem(_) => 2,
        Request::BatchWriteItem(_) => 3,
        _ => 1,
    }
}

/// Length of `n` CBOR items at the start of `b`, if complete.
fn complete(b: &[u8], n: usize) -> Option<usize> {
    let mut d = minicbor::Decoder::new(b);
    for _ in 0..n {
        d.skip().ok()?;
    }
    Some(d.position())
}

impl Client {
    async fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        Client::over(Box::new(stream)).await
    }

    /// The preamble over an established stream.
    async fn over(mut stream: Box<dyn Io>) -> Client {
        let pre = Preamble {
            session_id: SessionId::Bytes(vec![1; 16]),
            user_agent: Some("test".into()),
            ..Preamble::default()
        };
        stream.write_all(&pre.encode()).await.unwrap();
        Client { stream, buf: Vec::new() }
    }

    async fn authed(port: u16) -> Client {
        let mut c = Client::connect(port).await;
        c.auth("good").await;
        c
    }

    async fn auth(&mut self, key: &str) {
        let a = AuthorizeConnection {
            access_key_id: key.into(),
            signature: "0".repeat(64),
            string_to_sign: b"sts".to_vec(),
            session_token: None,
            user_agent: None,
        };
        self.stream.write_all(&Request::AuthorizeConnection(a).encode()).await.unwrap();
    }

    async fn call(&mut self, req: &Request) -> Answer {
        self.stream.write_all(&req.encode()).await.unwrap();
        self.read(items_in(req)).await
    }

    async fn read(&mut self, n: usize) -> Answer {
        loop {
            if let Some(&first) = self.buf.first() {
                let want = if first == 0x80 { 1 + n } else { 3 };
                if let Some(len) = complete(&self.buf, want) {
                    let frame: Vec<u8> = self.buf.drain(..len).collect();
                    if first == 0x80 {
                        return Answer::Ok(frame[1..].to_vec());
                    }
                    let mut d = minicbor::Decoder::new(&frame);
                    let codes: Vec<u64> = d.decode().unwrap();
                    let _msg: String = d.decode().unwrap();
                    d.array().unwrap();
                    d.skip().unwrap();
                    let name: String = d.decode().unwrap();
                    return Answer::Err(codes, name);
                }
            }
            let mut chunk = vec![0u8; 65536];
            let n = tokio::time::timeout(Duration::from_secs(5), self.stream.read(&mut chunk)).await.unwrap().unwrap();
            assert!(n > 0, "connection closed");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// True once the server has closed the connection.
    async fn closed(&mut self) -> bool {
        let mut chunk = vec![0u8; 1024];
        loop {
            match tokio::time::timeout(Duration::from_secs(5), self.stream.read(&mut chunk)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => continue,
                Err(_) => return false,
            }
        }
    }
}

fn item(v: Value) -> Item {
    item_from_json(&v).unwrap()
}

fn key_bytes(table_schema: &KeySchema, v: Value) -> Vec<u8> {
    encode_key(&item(v), table_schema).unwrap()
}

fn hash_schema() -> KeySchema {
    KeySchema::hash_only("pk", KeyType::S)
}

fn get(pk: &str) -> Request {
    Request::GetItem(GetItemRequest {
        table_name: "tab".into(),
        key: key_bytes(&hash_schema(), json!({"pk": {"S": pk}})),
        ..GetItemRequest::default()
    })
}

/// The answer a GetItem of `it` should get (attribute-list ids are deterministic).
async fn expect_item(c: &mut Client, it: Option<Value>) -> Answer {
    let Some(it) = it else {
        return Answer::Ok(encode_item_response(&ItemResponse::default())[1..].to_vec());
    };
    let it = item(it);
    let names = hash_schema().non_key_attribute_names(&it);
    let Answer::Ok(idb) = c.call(&Request::DefineAttributeListId { attribute_names: names.clone() }).await else {
        panic!("defineAttributeListId failed")
    };
    let id: u64 = minicbor::decode(&idb).unwrap();
    let values = encode_item_values(&it, &names, id).unwrap();
    Answer::Ok(
        encode_item_response(&ItemResponse { item: Some(ItemPayload::Values(values)), ..ItemResponse::default() })[1..]
            .to_vec(),
    )
}

async fn put(c: &mut Client, pk: &str, v: &str) -> Answer {
    let it = item(json!({"pk": {"S": pk}, "v": {"S": v}}));
    let names = vec!["v".to_owned()];
    let Answer::Ok(idb) = c.call(&Request::DefineAttributeListId { attribute_names: names.clone() }).await else {
        panic!("defineAttributeListId failed")
    };
    let id: u64 = minicbor::decode(&idb).unwrap();
    c.call(&Request::PutItem(PutItemRequest {
        table_name: "tab".into(),
        key: key_bytes(&hash_schema(), json!({"pk": {"S": pk}})),
        value: encode_item_values(&it, &names, id).unwrap(),
        ..PutItemRequest::default()
    }))
    .await
}

fn counter(fleet: &Fleet, node: &str, name: &str) -> u64 {
    let (nodes, _) = fleet.metrics();
    nodes
        .iter()
        .find(|s| s.labels.iter().any(|(k, v)| *k == "node" && v == node))
        .and_then(|s| s.counter(name))
        .unwrap_or(0)
}

/// Entries in a node's caches now (`EstimatedDbItemCount`, after pending maintenance).
fn cached(fleet: &Fleet, node: &str) -> u64 {
    let (nodes, _) = fleet.metrics();
    nodes.iter().find(|s| s.labels.iter().any(|(k, v)| *k == "node" && v == node)).map_or(0, |s| s.cached_entries)
}

const EMPTY: fn() -> Answer = || Answer::Ok(vec![0xa0]);

// ---- the protocol path -----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_path_over_loopback() {
    let s = setup(1, FleetConfig::default());
    let mut c = Client::connect(s.ports[0]).await;
    // Nothing before authorizeConnection.
    assert_eq!(c.call(&get("a")).await, Answer::Err(vec![4, 23, 31, 33], "AuthenticationRequiredException".into()));
    c.auth("bad").await;
    assert_eq!(
        c.call(&Request::Endpoints).await,
        Answer::Err(vec![4, 23, 31, 33], "UnrecognizedClientException".into())
    );
    c.auth("good").await;
    // The roster: this node, leader, at the address the client reached.
    let (roster, session) = s.fleet.roster(&cluster().arn).unwrap();
    assert!(roster[0].leader);
    let expected = encode_endpoints(&[Endpoint {
        node_id: 0,
        hostname: "127.0.0.1".into(),
        address: IpAddr::V4(Ipv4Addr::LOCALHOST),
        port: s.ports[0],
        role: NodeRole::Leader,
        availability_zone: "us-east-1a".into(),
        leader_session_id: session,
    }]);
    assert_eq!(c.call(&Request::Endpoints).await, Answer::Ok(expected[1..].to_vec()));
    assert_eq!(
        c.call(&Request::DefineKeySchema { table_name: "rng".into() }).await,
        Answer::Ok(encode_key_schema(&KeySchema::hash_range("pk", KeyType::S, "sk", KeyType::N))[1..].to_vec())
    );
    assert_eq!(
        c.call(&Request::DefineKeySchema { table_name: "nope".into() }).await,
        Answer::Err(vec![4, 37, 38, 39, 41], "ResourceNotFoundException".into())
    );
    // Attribute lists: stable ids both ways.
    let Answer::Ok(idb) =
        c.call(&Request::DefineAttributeListId { attribute_names: vec!["x".into(), "y".into()] }).await
    else {
        panic!()
    };
    let id: u64 = minicbor::decode(&idb).unwrap();
    assert!(id > 1);
    let Answer::Ok(names) = c.call(&Request::DefineAttributeList { attribute_list_id: id }).await else { panic!() };
    assert_eq!(minicbor::decode::<Vec<String>>(&names).unwrap(), ["x", "y"]);
    assert!(matches!(c.call(&Request::DefineAttributeList { attribute_list_id: 77 }).await, Answer::Err(..)));
    // A put and a get, over the wire.
    assert_eq!(put(&mut c, "a", "one").await, EMPTY());
    let want = expect_item(&mut c, Some(json!({"pk": {"S": "a"}, "v": {"S": "one"}}))).await;
    assert_eq!(c.call(&get("a")).await, want);
    assert_eq!(c.call(&get("zz")).await, EMPTY());
    // A method the codec cannot frame: answered, then the connection is closed.
    c.stream.write_all(&[0x01, 0x1a, 0x00, 0x00, 0x00, 0x07]).await.unwrap();
    assert_eq!(c.read(1).await, Answer::Err(vec![4, 37, 38, 44], "NotImplementedException".into()));
    assert!(c.closed().await);
    // Garbage instead of a preamble: answered and closed; the node keeps serving.
    let mut g = TcpStream::connect(("127.0.0.1", s.ports[0])).await.unwrap();
    g.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), g.read_to_end(&mut sink)).await.unwrap();
    assert!(!sink.is_empty() && sink[0] != 0x80);
    let mut c = Client::authed(s.ports[0]).await;
    assert_eq!(c.call(&get("a")).await, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_bytes_never_bring_a_node_down() {
    let s = setup(1, FleetConfig::default());
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..200 {
        let mut stream = TcpStream::connect(("127.0.0.1", s.ports[0])).await.unwrap();
        let mut bytes = Vec::new();
        if round % 2 == 0 {
            bytes.extend(Preamble::default().encode());
            bytes.extend(
                Request::AuthorizeConnection(AuthorizeConnection {
                    access_key_id: "good".into(),
                    signature: String::new(),
                    string_to_sign: Vec::new(),
                    session_token: None,
                    user_agent: None,
                })
                .encode(),
            );
            // A valid request with random bytes spliced in.
            let mut req = get("a").encode();
            let at = (next() as usize) % req.len();
            req[at] = next() as u8;
            bytes.extend(req);
        }
        let len = (next() % 300) as usize;
        bytes.extend((0..len).map(|_| next() as u8));
        let _ = stream.write_all(&bytes).await;
        let _ = stream.shutdown().await;
        let mut sink = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut sink)).await;
    }
    let mut c = Client::authed(s.ports[0]).await;
    assert_eq!(c.call(&get("nothing")).await, EMPTY());
}

// ---- cache semantics -------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_within_ttl_fresh_after_and_ttl_changes_apply_with_the_reconcile() {
    // The caches' time stands still until the test moves it: no sleeps, no timing.
    let clock = crate::CacheClock::manual();
    let s = setup(1, FleetConfig { clock: clock.clone(), ..FleetConfig::default() });
    s.set_ttls(300, 300);
    let mut c = Client::authed(s.ports[0]).await;
    s.host.put_direct("tab", json!({"pk": {"S": "k"}, "v": {"S": "1"}}));
    let one = expect_item(&mut c, Some(json!({"pk": {"S": "k"}, "v": {"S": "1"}}))).await;
    let two = expect_item(&mut c, Some(json!({"pk": {"S": "k"}, "v": {"S": "2"}}))).await;
    assert_eq!(c.call(&get("k")).await, one);
    s.host.put_direct("tab", json!({"pk": {"S": "k"}, "v": {"S": "2"}}));
    assert_eq!(c.call(&get("k")).await, one, "stale within the TTL");
    assert_eq!(s.host.count("GetItem"), 1);
    clock.advance(Duration::from_millis(350));
    assert_eq!(c.call(&get("k")).await, two, "fresh after it");
    assert_eq!(s.host.count("GetItem"), 2);
    // A longer TTL, then a shorter one: the entry already cached obeys the new one at once.
    s.set_ttls(60_000, 60_000);
    s.host.put_direct("tab", json!({"pk": {"S": "k2"}, "v": {"S": "1"}}));
    c.call(&get("k2")).await;
    s.host.put_direct("tab", json!({"pk": {"S": "k2"}, "v": {"S": "2"}}));
    clock.advance(Duration::from_millis(120));
    s.set_ttls(100, 100);
    let two_k2 = expect_item(&mut c, Some(json!({"pk": {"S": "k2"}, "v": {"S": "2"}}))).await;
    assert_eq!(c.call(&get("k2")).await, two_k2);
    // record-ttl-millis 0: what is cached from now on never expires by time.
    s.set_ttls(0, 0);
    s.host.put_direct("tab", json!({"pk": {"S": "k3"}, "v": {"S": "1"}}));
    let one_k3 = expect_item(&mut c, Some(json!({"pk": {"S": "k3"}, "v": {"S": "1"}}))).await;
    assert_eq!(c.call(&get("k3")).await, one_k3);
    s.host.put_direct("tab", json!({"pk": {"S": "k3"}, "v": {"S": "2"}}));
    clock.advance(Duration::from_millis(200));
    assert_eq!(c.call(&get("k3")).await, one_k3);
    assert_eq!(counter(&s.fleet, "c-a", "ItemCacheHits"), 2);
    assert_eq!(counter(&s.fleet, "c-a", "ItemCacheMisses"), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_entries_and_write_through() {
    let s = setup(1, FleetConfig::default());
    let mut c = Client::authed(s.ports[0]).await;
    assert_eq!(c.call(&get("n")).await, EMPTY());
    s.host.put_direct("tab", json!({"pk": {"S": "n"}, "v": {"S": "around"}}));
    assert_eq!(c.call(&get("n")).await, EMPTY(), "the absence is cached");
    assert_eq!(s.host.count("GetItem"), 1);
    // A write through DAX replaces the negative entry, after DynamoDB took it.
    assert_eq!(put(&mut c, "n", "through").await, EMPTY());
    assert_eq!(
        s.host.stored("tab", json!({"pk": {"S": "n"}})).unwrap()["v"],
        dax_wire::AttributeValue::S("through".into())
    );
    let want = expect_item(&mut c, Some(json!({"pk": {"S": "n"}, "v": {"S": "through"}}))).await;
    assert_eq!(c.call(&get("n")).await, want);
    assert_eq!(s.host.count("GetItem"), 1, "served by the item cache");
    // A delete caches the absence.
    let del = Request::DeleteItem(dax_wire::DeleteItemRequest {
        table_name: "tab".into(),
        key: key_bytes(&hash_schema(), json!({"pk": {"S": "n"}})),
        ..Default::default()
    });
    assert_eq!(c.call(&del).await, EMPTY());
    s.host.put_direct("tab", json!({"pk": {"S": "n"}, "v": {"S": "again"}}));
    assert_eq!(c.call(&get("n")).await, EMPTY());
    assert_eq!(s.host.count("GetItem"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_write_caches_nothing() {
    let s = setup(1, FleetConfig::default());
    let mut c = Client::authed(s.ports[0]).await;
    s.host.put_direct("tab", json!({"pk": {"S": "f"}, "v": {"S": "kept"}}));
    *s.host.fail_next.lock().unwrap() = Some(("PutItem".into(), NodeError::throttling("slow down")));
    assert_eq!(put(&mut c, "f", "lost").await, Answer::Err(vec![4, 37, 38, 39, 50], "ThrottlingException".into()));
    let kept = expect_item(&mut c, Some(json!({"pk": {"S": "f"}, "v": {"S": "kept"}}))).await;
    assert_eq!(c.call(&get("f")).await, kept);
    assert_eq!(s.host.count("GetItem"), 1, "nothing was cached by the failed put");
    // A conditional failure: the code the clients map, and still nothing cached.
    let mut p = PutItemRequest {
        table_name: "tab".into(),
        key: key_bytes(&hash_schema(), json!({"pk": {"S": "f"}})),
        value: vec![0x01],
        ..PutItemRequest::default()
    };
    p.condition = Some(ConditionExpression {
        expr: Expr::Call(dax_wire::Function::AttributeNotExists, vec![Expr::Path(DocumentPath::attribute("pk"))]),
        values: vec![],
    });
    assert_eq!(
        c.call(&Request::PutItem(p)).await,
        Answer::Err(vec![4, 37, 38, 39, 43], "ConditionalCheckFailedException".into())
    );
    assert_eq!(c.call(&get("f")).await, kept);
    let (_, clusters) = s.fleet.metrics();
    assert_eq!(clusters[0].counter("ErrorRequestCount"), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_failing_server_side_drops_the_cached_entry() {
    let s = setup(1, FleetConfig::default());
    let mut c = Client::authed(s.ports[0]).await;
    assert!(matches!(put(&mut c, "a", "cached").await, Answer::Ok(_)));
    let cached = expect_item(&mut c, Some(json!({"pk": {"S": "a"}, "v": {"S": "cached"}}))).await;
    let reads = s.host.count("GetItem");
    // DynamoDB may have applied it (a timeout, a 5xx): the old value is no longer trusted.
    s.host.put_direct("tab", json!({"pk": {"S": "a"}, "v": {"S": "applied"}}));
    *s.host.fail_next.lock().unwrap() =
        Some(("PutItem".into(), NodeError::new("ServiceUnavailable", "timed out", 503)));
    assert!(matches!(put(&mut c, "a", "applied").await, Answer::Err(..)));
    let fresh = c.call(&get("a")).await;
    assert_ne!(fresh, cached);
    assert_eq!(s.host.count("GetItem"), reads + 1, "the read went to DynamoDB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_are_throttled_and_closed() {
    let s = setup(1, FleetConfig { max_connections: 2, ..FleetConfig::default() });
    let mut a = Client::authed(s.ports[0]).await;
    let mut b = Client::authed(s.ports[0]).await;
    assert_eq!(a.call(&get("x")).await, EMPTY());
    assert_eq!(b.call(&get("x")).await, EMPTY());
    // Only the preamble: the node reads what came first, answers and closes, so a
    // request written after that could meet the reset (a broken pipe) instead.
    let mut c = Client::connect(s.ports[0]).await;
    assert_eq!(c.read(1).await, Answer::Err(vec![4, 37, 38, 39, 50], "ThrottlingException".into()));
    assert!(c.closed().await);
    drop(a);
    // The node notices the close on its own time: a new connection is taken once it has.
    let mut d = eventually("a freed connection slot", || async {
        let mut d = Client::authed(s.ports[0]).await;
        (d.call(&get("x")).await == EMPTY()).then_some(d)
    })
    .await;
    assert_eq!(d.call(&get("x")).await, EMPTY());
}

/// A PutItem frame of `tab` whose value is `v`, with the attribute-list id defined first.
async fn put_frame(c: &mut Client, pk: &str, v: &str) -> Vec<u8> {
    let it = item(json!({"pk": {"S": pk}, "v": {"S": v}}));
    let names = vec!["v".to_owned()];
    let Answer::Ok(idb) = c.call(&Request::DefineAttributeListId { attribute_names: names.clone() }).await else {
        panic!("defineAttributeListId failed")
    };
    let id: u64 = minicbor::decode(&idb).unwrap();
    Request::PutItem(PutItemRequest {
        table_name: "tab".into(),
        key: key_bytes(&hash_schema(), json!({"pk": {"S": pk}})),
        value: encode_item_values(&it, &names, id).unwrap(),
        ..PutItemRequest::default()
    })
    .encode()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partly_received_frames_share_a_bounded_budget() {
    // 512 KiB for the whole fleet beyond each connection's first 64 KiB.
    let s = setup(1, FleetConfig { frame_buffer_bytes: 512 * 1024, ..FleetConfig::default() });
    let big = "x".repeat(300_000);
    let mut a = Client::authed(s.ports[0]).await;
    let frame = put_frame(&mut a, "a", &big).await;
    // A sends most of a 300 KB request: its buffer grows to 384 KiB, 320 of them drawn.
    a.stream.write_all(&frame[..250_000]).await.unwrap();
    eventually("A's partial frame drawn on the budget", || async {
        (s.fleet.frame_budget_available_kib() <= 512 - 320).then_some(())
    })
    .await;
    // B's partial request needs more than is left: ThrottlingException, then the close.
    let mut b = Client::authed(s.ports[0]).await;
    let b_frame = put_frame(&mut b, "b", &"y".repeat(200_000)).await;
    b.stream.write_all(&b_frame[..200_000]).await.unwrap();
    assert_eq!(b.read(1).await, Answer::Err(vec![4, 37, 38, 39, 50], "ThrottlingException".into()));
    assert!(b.closed().await);
    assert_eq!(counter(&s.fleet, "c-a", "ThrottledRequestCount"), 1);
    // A's request completes and is served; its room goes back to the budget.
    a.stream.write_all(&frame[250_000..]).await.unwrap();
    assert_eq!(a.read(1).await, EMPTY());
    let want = expect_item(&mut a, Some(json!({"pk": {"S": "a"}, "v": {"S": big}}))).await;
    assert_eq!(a.call(&get("a")).await, want);
    // So another large request is taken now, on a new connection and on A's.
    let mut c = Client::authed(s.ports[0]).await;
    assert_eq!(put(&mut c, "c", &"z".repeat(300_000)).await, EMPTY());
    assert_eq!(put(&mut a, "a", &"w".repeat(300_000)).await, EMPTY());
    assert_eq!(s.host.count("PutItem"), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_at_the_limit_draws_about_its_size() {
    // Frames of up to 300 KiB, and a budget of 256 KiB beyond the free 64: a 290 KB request
    // fits only if the buffer stops growing at the frame limit (doubling would reach 384 KiB).
    let limits = dax_wire::Limits { max_frame_bytes: 300 * 1024, ..dax_wire::Limits::DEFAULT };
    let s = setup(1, FleetConfig { limits, frame_buffer_bytes: 256 * 1024, ..FleetConfig::default() });
    let mut c = Client::authed(s.ports[0]).await;
    assert_eq!(put(&mut c, "edge", &"e".repeat(290_000)).await, EMPTY());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_large_answers_come_back_whole_and_in_order() {
    let s = setup(1, FleetConfig::default());
    let mut c = Client::authed(s.ports[0]).await;
    let big = "v".repeat(100_000);
    assert_eq!(put(&mut c, "p", &big).await, EMPTY());
    let want = expect_item(&mut c, Some(json!({"pk": {"S": "p"}, "v": {"S": big}}))).await;
    // 20 reads in one write: 2 MB of answers, written as they pass 64 KiB.
    let mut burst = Vec::new();
    for _ in 0..20 {
        burst.extend(get("p").encode());
    }
    burst.extend(get("none").encode());
    c.stream.write_all(&burst).await.unwrap();
    for i in 0..20 {
        assert_eq!(c.read(1).await, want, "answer {i}");
    }
    assert_eq!(c.read(1).await, expect_item(&mut c, None).await);
}

fn query(pk: &str) -> Request {
    Request::Query(QueryRequest {
        table_name: "tab".into(),
        key_condition: Some(ConditionExpression {
            expr: Expr::Compare(
                dax_wire::Comparator::Eq,
                Box::new(Expr::Path(DocumentPath::attribute("pk"))),
                Box::new(Expr::Value(0)),
            ),
            values: vec![dax_wire::AttributeValue::S(pk.into())],
        }),
        ..QueryRequest::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_leave_the_query_cache_alone_and_consistent_reads_bypass() {
    let s = setup(1, FleetConfig::default());
    let mut c = Client::authed(s.ports[0]).await;
    s.host.put_direct("tab", json!({"pk": {"S": "q"}, "v": {"S": "old"}}));
    let first = c.call(&query("q")).await;
    assert!(matches!(&first, Answer::Ok(b) if b.len() > 4));
    let q = s.host.last("Query");
    assert_eq!(q["KeyConditionExpression"], "#n0 = :k0");
    assert_eq!(q["ExpressionAttributeNames"], json!({"#n0": "pk"}));
    put(&mut c, "q", "new").await;
    assert_eq!(c.call(&query("q")).await, first, "a write through DAX does not touch cached results");
    assert_eq!(s.host.count("Query"), 1);
    // Another parameter is another entry.
    let Request::Query(mut limited) = query("q") else { unreachable!() };
    limited.limit = Some(5);
    assert_ne!(c.call(&Request::Query(limited.clone())).await, first);
    assert_eq!(s.host.count("Query"), 2);
    // Consistent reads always go to DynamoDB and cache nothing.
    limited.consistent_read = true;
    c.call(&Request::Query(limited.clone())).await;
    c.call(&Request::Query(limited)).await;
    assert_eq!(s.host.count("Query"), 4);
    assert_eq!(s.host.last("Query")["ConsistentRead"], true);
    let Request::GetItem(mut g) = get("q") else { unreachable!() };
    g.consistent_read = true;
    c.call(&Request::GetItem(g.clone())).await;
    c.call(&Request::GetItem(g)).await;
    assert_eq!(s.host.count("GetItem"), 2);
    c.call(&get("c-never-cached")).await;
    assert_eq!(s.host.count("GetItem"), 3);
    assert_eq!(counter(&s.fleet, "c-a", "QueryCacheHits"), 1);
    assert_eq!(counter(&s.fleet, "c-a", "QueryCacheMisses"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn return_values_are_what_the_client_asked_for() {
    let s = setup(1, FleetConfig::default());
    let mut c = Client::authed(s.ports[0]).await;
    s.host.put_direct("tab", json!({"pk": {"S": "u"}, "a": {"S": "1"}, "b": {"S": "keep"}}));
    let upd = |rv: ReturnValues, val: &str| {
        Request::UpdateItem(UpdateItemRequest {
            table_name: "tab".into(),
            key: key_bytes(&hash_schema(), json!({"pk": {"S": "u"}})),
            update: Some(UpdateExpression {
                actions: vec![UpdateAction::Set(DocumentPath::attribute("a"), Expr::Value(0))],
                values: vec![dax_wire::AttributeValue::S(val.into())],
            }),
            return_values: rv,
            ..UpdateItemRequest::default()
        })
    };
    // NONE: the node asks for ALL_NEW (to cache the new image) and answers nothing.
    assert_eq!(c.call(&upd(ReturnValues::None, "2")).await, EMPTY());
    assert_eq!(s.host.last("UpdateItem")["ReturnValues"], "ALL_NEW");
    let want = expect_item(&mut c, Some(json!({"pk": {"S": "u"}, "a": {"S": "2"}, "b": {"S": "keep"}}))).await;
    assert_eq!(c.call(&get("u")).await, want);
    assert_eq!(s.host.count("GetItem"), 0, "the new image was cached");
    // UPDATED_NEW: only the updated attribute.
    let Answer::Ok(idb) = c.call(&Request::DefineAttributeListId { attribute_names: vec!["a".into()] }).await else {
        panic!()
    };
    let id: u64 = minicbor::decode(&idb).unwrap();
    let updated = dax_wire::encode_updated_attributes(id, &[(0, dax_wire::AttributeValue::S("3".into()))]);
    let expected = encode_item_response(&ItemResponse {
        attributes: Some(dax_wire::Attributes::Updated(updated)),
        ..ItemResponse::default()
    });
    assert_eq!(c.call(&upd(ReturnValues::UpdatedNew, "3")).await, Answer::Ok(expected[1..].to_vec()));
    assert_eq!(s.host.last("UpdateItem")["ReturnValues"], "ALL_NEW");
    // ALL_OLD goes as asked; the node cannot know the new image, so it forgets the item.
    let Answer::Ok(_) = c.call(&upd(ReturnValues::AllOld, "4")).await else { panic!() };
    assert_eq!(s.host.last("UpdateItem")["ReturnValues"], "ALL_OLD");
    let four = expect_item(&mut c, Some(json!({"pk": {"S": "u"}, "a": {"S": "4"}, "b": {"S": "keep"}}))).await;
    assert_eq!(c.call(&get("u")).await, four);
    assert_eq!(s.host.count("GetItem"), 1);
}

// ---- clusters --------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replication_forwarding_and_failover() {
    let s = setup(2, FleetConfig::default());
    let (roster, session) = s.fleet.roster(&cluster().arn).unwrap();
    assert_eq!(
        roster.iter().map(|r| (r.node_id.as_str(), r.leader)).collect::<Vec<_>>(),
        [("c-a", true), ("c-b", false)]
    );
    let mut a = Client::authed(s.ports[0]).await;
    let mut b = Client::authed(s.ports[1]).await;
    // A write at the replica is made by the primary, once.
    assert_eq!(put(&mut b, "r", "1").await, EMPTY());
    assert_eq!(s.host.count("PutItem"), 1);
    // It reaches both item caches (the other one asynchronously, well under a second).
    let want = expect_item(&mut a, Some(json!({"pk": {"S": "r"}, "v": {"S": "1"}}))).await;
    eventually("the write in both nodes' caches", || async {
        (cached(&s.fleet, "c-a") >= 1 && cached(&s.fleet, "c-b") >= 1).then_some(())
    })
    .await;
    assert_eq!(a.call(&get("r")).await, want);
    assert_eq!(b.call(&get("r")).await, want);
    assert_eq!(s.host.count("GetItem"), 0);
    // A miss filled on one node is replicated too.
    s.host.put_direct("tab", json!({"pk": {"S": "m"}, "v": {"S": "x"}}));
    a.call(&get("m")).await;
    eventually("the fill replicated to the other node's cache", || async {
        (cached(&s.fleet, "c-b") >= 2).then_some(())
    })
    .await;
    b.call(&get("m")).await;
    assert_eq!(s.host.count("GetItem"), 1);
    assert_eq!(counter(&s.fleet, "c-b", "PutItemRequestCount"), 1);
    assert_eq!(counter(&s.fleet, "c-a", "PutItemRequestCount"), 0);
    // The primary reboots: the replica is promoted, with a new leader session id; the old
    // primary comes back as a replica with an empty cache.
    s.fleet.reconcile(&[spec(0, s.ports[0], false), spec(1, s.ports[1], true)]);
    let (roster, session2) = s.fleet.roster(&cluster().arn).unwrap();
    assert_eq!(roster.iter().map(|r| (r.node_id.as_str(), r.leader)).collect::<Vec<_>>(), [("c-b", true)]);
    assert!(session2 > session);
    // (The stopped listener closes asynchronously; a reconcile that cannot bind yet retries.)
    for _ in 0..50 {
        s.fleet.reconcile(&[spec(0, s.ports[0], true), spec(1, s.ports[1], true)]);
        if s.fleet.roster(&cluster().arn).unwrap().0.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (roster, session3) = s.fleet.roster(&cluster().arn).unwrap();
    assert_eq!(
        roster.iter().map(|r| (r.node_id.as_str(), r.leader)).collect::<Vec<_>>(),
        [("c-a", false), ("c-b", true)]
    );
    assert_eq!(session3, session2);
    let mut a = Client::authed(s.ports[0]).await;
    a.call(&get("r")).await;
    assert_eq!(s.host.count("GetItem"), 2, "the rebooted node starts empty");
    // The cluster goes away: its listeners close.
    s.fleet.reconcile(&[]);
    assert!(s.fleet.roster(&cluster().arn).is_none());
    eventually("the listener closed", || async {
        TcpStream::connect(("127.0.0.1", s.ports[1])).await.is_err().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reboot_seen_only_as_a_new_generation_empties_the_cache() {
    let s = setup(1, FleetConfig::default());
    let mut c = Client::authed(s.ports[0]).await;
    s.host.put_direct("tab", json!({"pk": {"S": "g"}, "v": {"S": "1"}}));
    expect_item(&mut c, Some(json!({"pk": {"S": "g"}, "v": {"S": "1"}}))).await;
    c.call(&get("g")).await;
    assert_eq!(s.host.count("GetItem"), 1);
    s.host.put_direct("tab", json!({"pk": {"S": "g"}, "v": {"S": "2"}}));
    // With no provisioning delay the node went rebooting → available between two
    // reconciles: all the fleet sees is a running node with a new generation.
    let rebooted = NodeSpec { generation: 1, ..spec(0, s.ports[0], true) };
    for _ in 0..50 {
        s.fleet.reconcile(std::slice::from_ref(&rebooted));
        if s.fleet.roster(&cluster().arn).unwrap().0.len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(s.fleet.roster(&cluster().arn).unwrap().0.len(), 1);
    let mut c = Client::authed(s.ports[0]).await;
    let fresh = expect_item(&mut c, Some(json!({"pk": {"S": "g"}, "v": {"S": "2"}}))).await;
    assert_eq!(c.call(&get("g")).await, fresh, "the restarted node read the item again");
    assert_eq!(s.host.count("GetItem"), 2);
    // The same generation again: the node keeps running, with its cache.
    s.fleet.reconcile(std::slice::from_ref(&rebooted));
    assert_eq!(c.call(&get("g")).await, fresh);
    assert_eq!(s.host.count("GetItem"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_requests_in_flight_are_throttled() {
    let s = setup(1, FleetConfig { max_in_flight: 1, ..FleetConfig::default() });
    *s.host.delay_ms.lock().unwrap() = 300;
    let mut a = Client::authed(s.ports[0]).await;
    let mut b = Client::authed(s.ports[0]).await;
    // Warm the schema so that both requests reach the in-flight check together.
    a.call(&Request::DefineKeySchema { table_name: "tab".into() }).await;
    let slow = tokio::spawn(async move { a.call(&get("x")).await });
    // The slow request is in flight once it has reached DynamoDB (which then takes 300 ms).
    eventually("the slow request in flight", || async { (s.host.count("GetItem") == 1).then_some(()) }).await;
    assert_eq!(b.call(&get("y")).await, Answer::Err(vec![4, 37, 38, 39, 50], "ThrottlingException".into()));
    assert_eq!(slow.await.unwrap(), EMPTY());
    assert_eq!(counter(&s.fleet, "c-a", "ThrottledRequestCount"), 1);
    assert_eq!(b.call(&get("y")).await, EMPTY());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_is_checked_per_action() {
    let s = setup(1, FleetConfig::default());
    s.host.denied.lock().unwrap().push("GetItem".into());
    let mut c = Client::authed(s.ports[0]).await;
    assert_eq!(c.call(&get("x")).await, Answer::Err(vec![4, 37, 38, 42], "AccessDeniedException".into()));
    assert_eq!(put(&mut c, "x", "v").await, EMPTY());
    assert_eq!(s.host.count("GetItem"), 0);
    let tls = s.host.tls_seen.lock().unwrap();
    assert!(!tls.is_empty() && tls.iter().all(|t| !t), "a plain dax:// connection: {tls:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_is_bounded_lru_and_counts_evictions() {
    let s = setup(1, FleetConfig { cache_bytes: 8 * 1024, ..FleetConfig::default() });
    assert_eq!(s.fleet.node_cache_capacity(&cluster().arn, "c-a"), Some(8 * 1024));
    let mut c = Client::authed(s.ports[0]).await;
    let big = "x".repeat(900);
    for i in 0..40 {
        put(&mut c, &format!("k{i}"), &big).await;
    }
    let (nodes, clusters) = s.fleet.metrics();
    assert!(nodes[0].estimated_db_size <= 8 * 1024, "{}", nodes[0].estimated_db_size);
    assert!(nodes[0].counter("EvictedSize").unwrap() > 0);
    assert_eq!(clusters[0].counter("EvictedSize"), nodes[0].counter("EvictedSize"));
    // The most recent items are still there; the oldest were evicted.
    c.call(&get("k39")).await;
    c.call(&get("k0")).await;
    assert_eq!(s.host.count("GetItem"), 1);
    let text = s.fleet.render_prometheus();
    assert!(text.contains("# TYPE dax_node_EvictedSize counter"));
    assert!(text.contains("dax_cluster_PutItemRequestCount{region=\"us-east-1\",cluster=\"c\"} 40"), "{text}");
    // The node type's memory caps the configured size.
    assert_eq!(crate::node_type_memory("dax.r5.large"), Some(16 << 30));
    assert_eq!(crate::node_type_memory("dax.t3.small"), Some(2 << 30));
    assert_eq!(crate::node_type_memory("dax.r4.8xlarge"), Some(256 << 30));
}

// ---- TLS (daxs://) -----------------------------------------------------------------------

fn tls_spec(port: u16) -> NodeSpec {
    NodeSpec { tls: true, ..spec(0, port, true) }
}

/// A rustls client configuration trusting `ca_pem` (or nothing), limited to `versions`.
fn client_config(
    ca_pem: Option<&str>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    if let Some(pem) = ca_pem {
        roots.add(rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(crate::tls::provider())
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

async fn tls_connect(
    port: u16,
    config: Arc<rustls::ClientConfig>,
    name: &str,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    let name = rustls::pki_types::ServerName::try_from(name.to_owned()).unwrap();
    tokio_rustls::TlsConnector::from(config).connect(name, tcp).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_round_trip_over_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let tls = crate::NodeTls::load_or_create(dir.path(), "127.0.0.1").unwrap();
    let ca = tls.ca_pem().to_owned();
    let host = FakeHost::new();
    let fleet = Fleet::new(host.clone(), FleetConfig { tls: Some(tls), ..FleetConfig::default() });
    let port = free_port();
    fleet.reconcile(&[tls_spec(port)]);
    assert_eq!(fleet.roster(&cluster().arn).unwrap().0.len(), 1);

    // TLS 1.3 by the address the endpoint advertises; the whole protocol path over it.
    let s = tls_connect(port, client_config(Some(&ca), &[&rustls::version::TLS13]), "127.0.0.1").await.unwrap();
    assert_eq!(s.get_ref().1.protocol_version(), Some(rustls::ProtocolVersion::TLSv1_3));
    let mut c = Client::over(Box::new(s)).await;
    c.auth("good").await;
    let (_, session) = fleet.roster(&cluster().arn).unwrap();
    let expected = encode_endpoints(&[Endpoint {
        node_id: 0,
        hostname: "127.0.0.1".into(),
        address: IpAddr::V4(Ipv4Addr::LOCALHOST),
        port,
        role: NodeRole::Leader,
        availability_zone: "us-east-1a".into(),
        leader_session_id: session,
    }]);
    assert_eq!(c.call(&Request::Endpoints).await, Answer::Ok(expected[1..].to_vec()));
    assert_eq!(put(&mut c, "t", "secret").await, EMPTY());
    let want = expect_item(&mut c, Some(json!({"pk": {"S": "t"}, "v": {"S": "secret"}}))).await;
    assert_eq!(c.call(&get("t")).await, want);
    assert_eq!(host.count("GetItem"), 0, "served from the write-through cache");
    assert_eq!(fleet.metrics().0[0].client_connections, 1);
    let seen = host.tls_seen.lock().unwrap().clone();
    assert!(!seen.is_empty() && seen.iter().all(|t| *t), "authorized as a TLS connection: {seen:?}");

    // TLS 1.2, by the name `localhost`.
    let s = tls_connect(port, client_config(Some(&ca), &[&rustls::version::TLS12]), "localhost").await.unwrap();
    assert_eq!(s.get_ref().1.protocol_version(), Some(rustls::ProtocolVersion::TLSv1_2));
    let mut c12 = Client::over(Box::new(s)).await;
    c12.auth("good").await;
    assert_eq!(c12.call(&get("t")).await, want);

    // A client that does not trust daxd's CA, or asks for another name, is refused.
    let e = tls_connect(port, client_config(None, &[&rustls::version::TLS13]), "127.0.0.1").await.unwrap_err();
    assert!(e.to_string().contains("UnknownIssuer"), "{e}");
    let e =
        tls_connect(port, client_config(Some(&ca), &[&rustls::version::TLS13]), "dax.example.com").await.unwrap_err();
    assert!(e.to_string().contains("not valid for name"), "{e}");

    // A plaintext DAX client gets a TLS alert at most, and the connection closes; nothing
    // of the protocol is spoken in the clear.
    let mut plain = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let pre = Preamble { session_id: SessionId::Bytes(vec![1; 16]), ..Preamble::default() };
    let auth = AuthorizeConnection {
        access_key_id: "good".into(),
        signature: "0".repeat(64),
        string_to_sign: b"sts".to_vec(),
        session_token: None,
        user_agent: None,
    };
    let bytes = [pre.encode(), Request::AuthorizeConnection(auth).encode(), get("t").encode()].concat();
    // The server may close before all of it is written.
    let _ = plain.write_all(&bytes).await;
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut sink)).await.unwrap();
    assert!(sink.is_empty() || sink[0] == 0x15, "a TLS alert record or nothing: {sink:?}");
    assert!(sink.len() < 64);

    // The node keeps serving TLS clients, and the first connection still works.
    assert_eq!(c.call(&get("t")).await, want);
    let s = tls_connect(port, client_config(Some(&ca), &[&rustls::version::TLS13]), "localhost").await.unwrap();
    let mut again = Client::over(Box::new(s)).await;
    again.auth("good").await;
    assert_eq!(again.call(&get("t")).await, want);

    // A framing error on a TLS connection is answered, then the connection closes.
    again.stream.write_all(&[0x01, 0x1a, 0x00, 0x00, 0x00, 0x07]).await.unwrap();
    assert_eq!(again.read(1).await, Answer::Err(vec![4, 37, 38, 44], "NotImplementedException".into()));
    assert!(again.closed().await);

    fleet.stop_all();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_nodes_need_a_certificate_and_keep_their_mode() {
    // Without TLS material, a TLS node is not started.
    let host = FakeHost::new();
    let fleet = Fleet::new(host.clone(), FleetConfig::default());
    let port = free_port();
    fleet.reconcile(&[tls_spec(port)]);
    assert!(fleet.roster(&cluster().arn).unwrap().0.is_empty());
    assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err());

    // With it, a node turned from plaintext to TLS is restarted as TLS.
    let dir = tempfile::tempdir().unwrap();
    let tls = crate::NodeTls::load_or_create(dir.path(), "127.0.0.1").unwrap();
    let ca = tls.ca_pem().to_owned();
    let fleet = Fleet::new(host, FleetConfig { tls: Some(tls), ..FleetConfig::default() });
    fleet.reconcile(&[spec(0, port, true)]);
    let mut c = Client::authed(port).await;
    assert_eq!(c.call(&get("x")).await, EMPTY());
    let mut s = None;
    for _ in 0..50 {
        // The old listener closes asynchronously: binding again may take another round.
        fleet.reconcile(&[tls_spec(port)]);
        match tls_connect(port, client_config(Some(&ca), &[&rustls::version::TLS13]), "127.0.0.1").await {
            Ok(x) => {
                s = Some(x);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    let mut t = Client::over(Box::new(s.expect("the node speaks TLS"))).await;
    t.auth("good").await;
    assert_eq!(t.call(&get("x")).await, EMPTY());
    fleet.stop_all();
}

// ---- the node against a model ----------------------------------------------------------

mod model {
    //! Random sequences of reads and writes through one node (and writes around it, and
    //! writes DynamoDB refuses) against a model of what DAX answers: the item as last seen
    //! through the node (read, written or deleted), else what DynamoDB holds. Nothing
    //! expires (a 60 s TTL) and nothing is evicted here; the cache's own property test
    //! covers time and eviction.

    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    #[derive(Clone, Debug)]
    enum Step {
        Get(u8),
        Put(u8, u8),
        Delete(u8),
        PutAround(u8, u8),
        /// A put (or a delete) DynamoDB refuses.
        Refused(u8, u8, bool),
    }

    fn step() -> impl Strategy<Value = Step> {
        let k = || 0u8..4;
        prop_oneof![
            4 => k().prop_map(Step::Get),
            2 => (k(), any::<u8>()).prop_map(|(k, v)| Step::Put(k, v)),
            1 => k().prop_map(Step::Delete),
            2 => (k(), any::<u8>()).prop_map(|(k, v)| Step::PutAround(k, v)),
            2 => (k(), any::<u8>(), any::<bool>()).prop_map(|(k, v, d)| Step::Refused(k, v, d)),
        ]
    }

    fn delete(pk: &str) -> Request {
        Request::DeleteItem(dax_wire::DeleteItemRequest {
            table_name: "tab".into(),
            key: key_bytes(&hash_schema(), json!({"pk": {"S": pk}})),
            ..Default::default()
        })
    }

    async fn run(steps: Vec<Step>) -> Result<(), TestCaseError> {
        let s = setup(1, FleetConfig::default());
        let mut c = Client::authed(s.ports[0]).await;
        let mut db: HashMap<u8, String> = HashMap::new();
        // What the node answers for a key it has seen: `None` = no item.
        let mut seen: HashMap<u8, Option<String>> = HashMap::new();
        let throttled = || Answer::Err(vec![4, 37, 38, 39, 50], "ThrottlingException".into());
        for st in steps {
            match st {
                Step::Get(k) => {
                    let want = seen.entry(k).or_insert_with(|| db.get(&k).cloned()).clone();
                    let got = c.call(&get(&format!("k{k}"))).await;
                    let want =
                        expect_item(&mut c, want.map(|v| json!({"pk": {"S": format!("k{k}")}, "v": {"S": v}}))).await;
                    prop_assert_eq!(got, want, "GetItem k{}", k);
                }
                Step::Put(k, v) => {
                    prop_assert_eq!(put(&mut c, &format!("k{k}"), &v.to_string()).await, EMPTY());
                    db.insert(k, v.to_string());
                    seen.insert(k, Some(v.to_string()));
                }
                Step::Delete(k) => {
                    prop_assert_eq!(c.call(&delete(&format!("k{k}"))).await, EMPTY());
                    db.remove(&k);
                    seen.insert(k, None);
                }
                Step::PutAround(k, v) => {
                    s.host.put_direct("tab", json!({"pk": {"S": format!("k{k}")}, "v": {"S": v.to_string()}}));
                    db.insert(k, v.to_string());
                }
                Step::Refused(k, v, del) => {
                    let op = if del { "DeleteItem" } else { "PutItem" };
                    *s.host.fail_next.lock().unwrap() = Some((op.into(), NodeError::throttling("slow down")));
                    let answer = if del {
                        c.call(&delete(&format!("k{k}"))).await
                    } else {
                        put(&mut c, &format!("k{k}"), &v.to_string()).await
                    };
                    prop_assert_eq!(answer, throttled());
                }
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, .. ProptestConfig::default() })]

        #[test]
        fn reads_through_the_node_follow_the_model(steps in proptest::collection::vec(step(), 1..30)) {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            rt.block_on(run(steps))?;
        }
    }
}

// ---- injected faults -------------------------------------------------------------------

use crate::{Fault, FaultError, FaultKind};

fn name_of(a: &Answer) -> &str {
    match a {
        Answer::Err(_, name) => name,
        Answer::Ok(_) => "",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_node_refuses_and_closes_then_listens_again() {
    let s = setup(1, FleetConfig::default());
    let arn = cluster().arn;
    let mut c = Client::authed(s.ports[0]).await;
    assert_eq!(c.call(&get("a")).await, EMPTY());
    s.fleet.inject(&arn, "c-a", Fault::Stop).unwrap();
    assert_eq!(s.fleet.faults(&arn, "c-a").unwrap(), [Fault::Stop]);
    assert!(c.closed().await, "an open connection closes");
    eventually("connections refused", || async {
        TcpStream::connect(("127.0.0.1", s.ports[0])).await.is_err().then_some(())
    })
    .await;
    // Still in the roster: clients find out by themselves, as with a node that fails.
    assert_eq!(s.fleet.roster(&arn).unwrap().0.len(), 1);
    assert!(s.fleet.clear(&arn, "c-a", FaultKind::Stop).unwrap());
    assert!(!s.fleet.clear(&arn, "c-a", FaultKind::Stop).unwrap());
    eventually("listening again", || async { TcpStream::connect(("127.0.0.1", s.ports[0])).await.ok().map(|_| ()) })
        .await;
    let mut c = Client::authed(s.ports[0]).await;
    assert_eq!(c.call(&get("a")).await, EMPTY());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_node_accepts_but_answers_only_when_released() {
    let s = setup(1, FleetConfig::default());
    let arn = cluster().arn;
    let mut c = Client::authed(s.ports[0]).await;
    assert_eq!(c.call(&get("a")).await, EMPTY());
    s.fleet.inject(&arn, "c-a", Fault::Stall).unwrap();
    c.stream.write_all(&get("a").encode()).await.unwrap();
    assert!(tokio::time::timeout(Duration::from_millis(300), c.read(1)).await.is_err(), "no answer while stalled");
    // New connections are accepted, and not answered either.
    let mut d = Client::authed(s.ports[0]).await;
    d.stream.write_all(&Request::Endpoints.encode()).await.unwrap();
    assert!(tokio::time::timeout(Duration::from_millis(200), d.read(1)).await.is_err());
    // Released: the held requests are answered, in order.
    s.fleet.clear(&arn, "c-a", FaultKind::Stall).unwrap();
    assert_eq!(c.read(1).await, EMPTY());
    assert!(matches!(d.read(1).await, Answer::Ok(_)));
    assert_eq!(c.call(&get("b")).await, EMPTY());
    // A stall ended by a stop: the held connections close.
    s.fleet.inject(&arn, "c-a", Fault::Stall).unwrap();
    c.stream.write_all(&get("a").encode()).await.unwrap();
    s.fleet.inject(&arn, "c-a", Fault::Stop).unwrap();
    assert!(c.closed().await);
    s.fleet.clear_cluster(&arn).unwrap();
    assert!(s.fleet.faults(&arn, "c-a").unwrap().is_empty());
    eventually("listening again", || async { TcpStream::connect(("127.0.0.1", s.ports[0])).await.ok().map(|_| ()) })
        .await;
    let mut c = Client::authed(s.ports[0]).await;
    assert_eq!(c.call(&get("a")).await, EMPTY());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_throttles_and_failures_follow_their_shares() {
    let s = setup(1, FleetConfig::default());
    let arn = cluster().arn;
    let mut c = Client::authed(s.ports[0]).await;
    assert_eq!(c.call(&get("a")).await, EMPTY());
    s.fleet.inject(&arn, "c-a", Fault::Latency { millis: 200 }).unwrap();
    let t = std::time::Instant::now();
    assert_eq!(c.call(&get("a")).await, EMPTY());
    assert!(t.elapsed() >= Duration::from_millis(200));
    s.fleet.clear(&arn, "c-a", FaultKind::Latency).unwrap();
    let t = std::time::Instant::now();
    assert_eq!(c.call(&get("a")).await, EMPTY());
    assert!(t.elapsed() < Duration::from_millis(200));
    // All throttled, as DAX words it; control methods still answered.
    s.fleet.inject(&arn, "c-a", Fault::Throttle { percent: 100 }).unwrap();
    assert_eq!(c.call(&get("a")).await, Answer::Err(vec![4, 37, 38, 39, 50], "ThrottlingException".into()));
    assert!(matches!(c.call(&Request::Endpoints).await, Answer::Ok(_)));
    assert_eq!(counter(&s.fleet, "c-a", "ThrottledRequestCount"), 1);
    // Half of them: the seeded draws hit about half, the same ones every run.
    s.fleet.inject(&arn, "c-a", Fault::Throttle { percent: 50 }).unwrap();
    let mut hits = 0;
    for _ in 0..200 {
        if c.call(&get("a")).await != EMPTY() {
            hits += 1;
        }
    }
    assert!((60..=140).contains(&hits), "{hits} of 200 throttled");
    assert_eq!(counter(&s.fleet, "c-a", "ThrottledRequestCount"), 1 + hits);
    s.fleet.clear(&arn, "c-a", FaultKind::Throttle).unwrap();
    // Failures: a 5xx-style fault, counted as one.
    s.fleet.inject(&arn, "c-a", Fault::Fail { percent: 100 }).unwrap();
    let a = c.call(&get("a")).await;
    assert_eq!(name_of(&a), "InternalServerError");
    assert_eq!(counter(&s.fleet, "c-a", "FaultRequestCount"), 1);
    s.fleet.clear(&arn, "c-a", FaultKind::Fail).unwrap();
    assert_eq!(c.call(&get("a")).await, EMPTY());
    // Refused commands.
    assert!(matches!(
        s.fleet.inject(&arn, "c-a", Fault::Throttle { percent: 101 }),
        Err(FaultError::InvalidParameter(_))
    ));
    assert!(matches!(s.fleet.inject(&arn, "c-z", Fault::Stop), Err(FaultError::NodeNotFound(_))));
    assert!(matches!(s.fleet.inject("arn:nope", "c-a", Fault::Stop), Err(FaultError::ClusterNotFound(_))));
    assert!(matches!(s.fleet.failover(&arn), Err(FaultError::NoFailoverTarget(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_faults_reach_misses_and_writes_not_hits() {
    let s = setup(1, FleetConfig::default());
    let arn = cluster().arn;
    let mut c = Client::authed(s.ports[0]).await;
    assert_eq!(put(&mut c, "h", "1").await, EMPTY());
    let want = expect_item(&mut c, Some(json!({"pk": {"S": "h"}, "v": {"S": "1"}}))).await;
    s.fleet.inject(&arn, "c-a", Fault::BackendFail { percent: 100 }).unwrap();
    assert_eq!(c.call(&get("h")).await, want, "a hit never reaches DynamoDB");
    assert_eq!(name_of(&c.call(&get("miss")).await), "InternalServerError");
    assert_eq!(name_of(&put(&mut c, "h", "2").await), "InternalServerError");
    assert_eq!(s.host.count("PutItem"), 1, "the failed call never reached DynamoDB");
    // (A write failing server side drops the key's entry: its next read is a miss.)
    s.fleet.clear(&arn, "c-a", FaultKind::BackendFail).unwrap();
    s.fleet.inject(&arn, "c-a", Fault::BackendLatency { millis: 150 }).unwrap();
    let t = std::time::Instant::now();
    assert_eq!(c.call(&get("miss")).await, EMPTY());
    assert!(t.elapsed() >= Duration::from_millis(150));
    let t = std::time::Instant::now();
    assert_eq!(c.call(&get("miss")).await, EMPTY());
    assert!(t.elapsed() < Duration::from_millis(150), "a hit (of the negative entry) is not delayed");
    assert_eq!(c.call(&get("h")).await, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replication_pause_serves_stale_reads_until_it_ends() {
    let s = setup(2, FleetConfig::default());
    let arn = cluster().arn;
    let mut a = Client::authed(s.ports[0]).await;
    let mut b = Client::authed(s.ports[1]).await;
    assert_eq!(put(&mut a, "r", "1").await, EMPTY());
    eventually("the write in both caches", || async { (cached(&s.fleet, "c-b") >= 1).then_some(()) }).await;
    let old = expect_item(&mut b, Some(json!({"pk": {"S": "r"}, "v": {"S": "1"}}))).await;
    s.fleet.inject(&arn, "c-b", Fault::PauseReplication).unwrap();
    assert_eq!(put(&mut a, "r", "2").await, EMPTY());
    let new = expect_item(&mut a, Some(json!({"pk": {"S": "r"}, "v": {"S": "2"}}))).await;
    assert_eq!(a.call(&get("r")).await, new);
    // Given time to replicate, the replica still serves the old value.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(b.call(&get("r")).await, old);
    assert_eq!(s.host.count("GetItem"), 0);
    s.fleet.clear(&arn, "c-b", FaultKind::PauseReplication).unwrap();
    assert_eq!(b.call(&get("r")).await, new);
    assert_eq!(s.host.count("GetItem"), 1, "the replica refilled from DynamoDB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_failover_moves_the_writes() {
    let s = setup(3, FleetConfig::default());
    let arn = cluster().arn;
    let (_, session) = s.fleet.roster(&arn).unwrap();
    assert_eq!(s.fleet.failover(&arn).unwrap(), "c-b");
    let (roster, session2) = s.fleet.roster(&arn).unwrap();
    assert_eq!(
        roster.iter().map(|r| (r.node_id.as_str(), r.leader)).collect::<Vec<_>>(),
        [("c-a", false), ("c-b", true), ("c-c", false)]
    );
    assert!(session2 > session);
    // The endpoints answer names the new primary.
    let mut a = Client::authed(s.ports[0]).await;
    let Answer::Ok(ep) = a.call(&Request::Endpoints).await else { panic!("endpoints failed") };
    let mut full = vec![0x80];
    full.extend_from_slice(&ep);
    let endpoints = encode_endpoints(&[
        Endpoint {
            node_id: 0,
            hostname: "127.0.0.1".into(),
            address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: s.ports[0],
            role: NodeRole::Replica,
            availability_zone: "us-east-1a".into(),
            leader_session_id: session2,
        },
        Endpoint {
            node_id: 1,
            hostname: "127.0.0.1".into(),
            address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: s.ports[1],
            role: NodeRole::Leader,
            availability_zone: "us-east-1b".into(),
            leader_session_id: session2,
        },
        Endpoint {
            node_id: 2,
            hostname: "127.0.0.1".into(),
            address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: s.ports[2],
            role: NodeRole::Replica,
            availability_zone: "us-east-1c".into(),
            leader_session_id: session2,
        },
    ]);
    assert_eq!(full, endpoints);
    // A write at the old primary is made by the new one (whose backend fails, to tell).
    s.fleet.inject(&arn, "c-b", Fault::BackendFail { percent: 100 }).unwrap();
    assert_eq!(name_of(&put(&mut a, "w", "1").await), "InternalServerError");
    s.fleet.clear(&arn, "c-b", FaultKind::BackendFail).unwrap();
    assert_eq!(put(&mut a, "w", "1").await, EMPTY());
    // A stopped node is skipped; the order wraps.
    s.fleet.inject(&arn, "c-c", Fault::Stop).unwrap();
    assert_eq!(s.fleet.failover(&arn).unwrap(), "c-a");
    // A reconcile keeps the forced primary.
    s.fleet.reconcile(&s.ports.iter().enumerate().map(|(i, p)| spec(i, *p, true)).collect::<Vec<_>>());
    let (roster, _) = s.fleet.roster(&arn).unwrap();
    assert!(roster[0].leader);
}

// ---- socket, CPU and credit metrics ----------------------------------------------------

mod node_metrics {
    use super::*;
    use crate::conn::Counted;
    use crate::metrics::{cluster_figures, node_type, Burst, Credits, Ledger, Meter, Metrics, Reading};
    use crate::Counter;

    fn figures_of(f: &[(&'static str, f64)]) -> BTreeMap<&'static str, f64> {
        f.iter().copied().collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * a.abs().max(b.abs()).max(1.0)
    }

    /// The test host, with daxd's clock moved on at will.
    struct Later {
        host: Arc<FakeHost>,
        offset_ms: std::sync::atomic::AtomicI64,
    }

    impl Host for Later {
        fn authenticate(&self, a: &AuthorizeConnection, c: &ClusterInfo) -> Result<Principal, NodeError> {
            self.host.authenticate(a, c)
        }

        fn authorize(
            &self,
            who: &Principal,
            action: &str,
            c: &ClusterInfo,
            enclosing: Option<&str>,
            tls: bool,
        ) -> Result<(), NodeError> {
            self.host.authorize(who, action, c, enclosing, tls)
        }

        fn dynamodb<'a>(
            &'a self,
            c: &'a ClusterInfo,
            op: &'a str,
            input: Value,
        ) -> BoxFuture<'a, Result<Value, NodeError>> {
            self.host.dynamodb(c, op, input)
        }

        fn now_ms(&self) -> i64 {
            self.host.now_ms() + self.offset_ms.load(std::sync::atomic::Ordering::Relaxed)
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn socket_bytes_reads_writes_and_busy_time_are_counted() {
        let later = Arc::new(Later { host: FakeHost::new(), offset_ms: 0.into() });
        let fleet = Fleet::new(later.clone(), FleetConfig::default());
        let port = free_port();
        fleet.reconcile(&[spec(0, port, true)]);
        let s = Setup { host: Arc::clone(&later.host), fleet, ports: vec![port] };
        // The client counts its own side of the socket with the same wrapper.
        let mine = Meter { node: Arc::new(Metrics::default()), cluster: Arc::new(Metrics::default()) };
        let stream = TcpStream::connect(("127.0.0.1", s.ports[0])).await.unwrap();
        let mut c = Client::over(Box::new(Counted::new(stream, mine.clone()))).await;
        c.auth("good").await;
        assert_eq!(put(&mut c, "k", "v").await, EMPTY());
        let requests = 6;
        for _ in 1..requests {
            assert!(matches!(c.call(&get("k")).await, Answer::Ok(_)));
        }
        let sent = mine.node.get(Counter::NetworkBytesOut);
        let received = mine.node.get(Counter::NetworkBytesIn);
        // What the client wrote the node read, and what the node wrote the client read.
        eventually("the node's byte counts", || async {
            let (nodes, _) = s.fleet.metrics();
            let ok = nodes[0].counter("NetworkBytesIn") == Some(sent)
                && nodes[0].counter("NetworkBytesOut") == Some(received);
            ok.then_some(())
        })
        .await;
        // The node's first minute ends (a minute later on daxd's clock): its figures come.
        later.offset_ms.store(60_000, std::sync::atomic::Ordering::Relaxed);
        let (nodes, clusters) = s.fleet.metrics();
        let (n, cl) = (&nodes[0], &clusters[0]);
        // Each request came in its own write (the client waits for each answer), so in at
        // least one read; each answer went out in at least one write.
        assert!(n.counter("NetworkPacketsIn").unwrap() >= requests, "{n:?}");
        assert!(n.counter("NetworkPacketsIn").unwrap() <= mine.node.get(Counter::NetworkPacketsOut));
        assert!(n.counter("NetworkPacketsOut").unwrap() >= requests - 1, "{n:?}");
        for name in ["NetworkBytesIn", "NetworkBytesOut", "NetworkPacketsIn", "NetworkPacketsOut"] {
            assert_eq!(cl.counter(name), n.counter(name), "{name}");
        }
        // The node was polled for some time, and its first minute's figures are there
        // (dax.t3.small: CPU, network and credits).
        let f = figures_of(&n.minute);
        assert!(f["CPUUtilization"] > 0.0 && f["CPUUtilization"] <= 100.0, "{f:?}");
        assert!(f["BaselineNetworkBytesInUtilization"] > 0.0, "{f:?}");
        assert!(close(f["CPUCreditUsage"], f["CPUUtilization"] / 100.0 * 2.0), "{f:?}");
        assert!(f["CPUCreditBalance"] > 0.0 && f["CPUCreditBalance"] <= 576.0, "{f:?}");
        assert!(cl.figure("CPUCreditBalance").is_none() && cl.figure("CPUUtilization") == Some(f["CPUUtilization"]));
        let text = s.fleet.render_prometheus();
        assert!(text.contains(&format!(
            "dax_node_NetworkBytesIn{{region=\"us-east-1\",cluster=\"c\",node=\"c-a\"}} {}",
            n.counter("NetworkBytesIn").unwrap()
        )));
        assert!(text.contains("# TYPE dax_cluster_NetworkPacketsOut counter"), "{text}");
    }

    /// What a TLS listener needs to count what crosses the socket: the TCP stream wrapped
    /// in [`Counted`] before the handshake. Both ends count, and agree, handshake included.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn beneath_tls_the_records_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let tls = crate::NodeTls::load_or_create(dir.path(), "127.0.0.1").unwrap();
        let acceptor = tls.acceptor();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let node = Meter { node: Arc::new(Metrics::default()), cluster: Arc::new(Metrics::default()) };
        let client = Meter { node: Arc::new(Metrics::default()), cluster: Arc::new(Metrics::default()) };
        let server = {
            let node = node.clone();
            tokio::spawn(async move {
                let (tcp, _) = listener.accept().await.unwrap();
                let mut s = acceptor.accept(Counted::new(tcp, node)).await.unwrap();
                let mut buf = [0u8; 5];
                s.read_exact(&mut buf).await.unwrap();
                s.write_all(b"world").await.unwrap();
                s.flush().await.unwrap();
                s
            })
        };
        let tcp = Counted::new(TcpStream::connect(("127.0.0.1", port)).await.unwrap(), client.clone());
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1".to_owned()).unwrap();
        let config = client_config(Some(tls.ca_pem()), &[&rustls::version::TLS13]);
        let mut c = tokio_rustls::TlsConnector::from(config).connect(name, tcp).await.unwrap();
        c.write_all(b"hello").await.unwrap();
        c.flush().await.unwrap();
        let mut buf = [0u8; 5];
        c.read_exact(&mut buf).await.unwrap();
        let _open = server.await.unwrap();
        let get = |m: &Meter, c: Counter| m.node.get(c);
        assert_eq!(get(&node, Counter::NetworkBytesIn), get(&client, Counter::NetworkBytesOut));
        assert_eq!(get(&node, Counter::NetworkBytesOut), get(&client, Counter::NetworkBytesIn));
        // The handshake and the records, not the 5 bytes of plaintext each way.
        assert!(get(&node, Counter::NetworkBytesIn) > 5 + 200 && get(&node, Counter::NetworkBytesOut) > 5 + 500);
        assert!(get(&node, Counter::NetworkPacketsIn) >= 2 && get(&node, Counter::NetworkPacketsOut) >= 2);
    }

    #[test]
    fn node_types_follow_their_ec2_instances() {
        // (node type, vCPUs, baseline Mbit/s, credits per hour, max balance, launch, unlimited)
        type Row = (&'static str, u32, Option<u32>, Option<(f64, f64, f64, bool)>);
        let rows: &[Row] = &[
            ("dax.t2.small", 1, None, Some((12.0, 288.0, 30.0, false))),
            ("dax.t2.medium", 2, None, Some((24.0, 576.0, 60.0, false))),
            ("dax.t3.small", 2, Some(128), Some((24.0, 576.0, 0.0, true))),
            ("dax.t3.medium", 2, Some(256), Some((24.0, 576.0, 0.0, true))),
            ("dax.r4.large", 2, Some(750), None),
            ("dax.r4.16xlarge", 64, Some(25000), None),
            ("dax.r5.12xlarge", 48, Some(12000), None),
            ("dax.r5.24xlarge", 96, Some(25000), None),
        ];
        for (name, vcpus, mbps, burst) in rows {
            let t = node_type(name).unwrap();
            assert_eq!((t.vcpus, t.baseline_mbps), (*vcpus, *mbps), "{name}");
            let got = t.burst.map(|b| (b.per_hour, b.max, b.launch, b.unlimited));
            assert_eq!(got, *burst, "{name}");
            if let Some(b) = t.burst {
                // EC2: 20% baseline per vCPU earns 12 credits an hour per vCPU, and the
                // balance holds a day of them.
                assert!(close(b.per_hour, 0.2 * f64::from(t.vcpus) * 60.0) && close(b.max, 24.0 * b.per_hour));
            }
        }
        assert_eq!(node_type("dax.x9.large"), None);
    }

    #[test]
    fn credits_follow_the_ec2_burst_rules() {
        let standard = Burst { per_hour: 12.0, max: 288.0, launch: 30.0, unlimited: false };
        let unlimited = Burst { per_hour: 24.0, max: 576.0, launch: 0.0, unlimited: true };
        // (rules, state before, earned, used, state after (launch, earned, surplus), charged)
        type Case = (Burst, (f64, f64, f64), f64, f64, (f64, f64, f64), f64);
        let cases: &[Case] = &[
            // Launch credits are spent first; what is earned accrues meanwhile.
            (standard, (30.0, 0.0, 0.0), 0.2, 1.0, (29.0, 0.2, 0.0), 0.0),
            (standard, (0.5, 2.0, 0.0), 0.2, 1.0, (0.0, 1.7, 0.0), 0.0),
            // Earned credits stop at the cap; launch credits sit outside it.
            (standard, (30.0, 288.0, 0.0), 0.2, 0.0, (30.0, 288.0, 0.0), 0.0),
            // Standard: the balance stops at zero (the instance is held to its baseline).
            (standard, (0.0, 0.1, 0.0), 0.2, 5.0, (0.0, 0.0, 0.0), 0.0),
            // Unlimited: a spend beyond the balance is surplus...
            (unlimited, (0.0, 0.1, 0.0), 0.4, 1.5, (0.0, 0.0, 1.0), 0.0),
            // ...paid back first by what is earned...
            (unlimited, (0.0, 0.0, 1.0), 0.4, 0.0, (0.0, 0.0, 0.6), 0.0),
            (unlimited, (0.0, 0.0, 0.1), 0.4, 0.0, (0.0, 0.3, 0.0), 0.0),
            // ...and charged beyond a day's earning.
            (unlimited, (0.0, 0.0, 575.5), 0.4, 2.4, (0.0, 0.0, 576.0), 1.5),
        ];
        for (rules, (launch, earned, surplus), e, u, want, charged) in cases {
            let mut c = Credits { launch: *launch, earned: *earned, surplus: *surplus };
            let got = c.step(rules, *e, *u);
            let after = (c.launch, c.earned, c.surplus);
            assert!(
                close(got, *charged) && close(after.0, want.0) && close(after.1, want.1) && close(after.2, want.2),
                "{rules:?} {launch} {earned} {surplus} +{e} -{u}: {after:?} charged {got}"
            );
            assert!(close(c.balance(), c.launch + c.earned));
        }
    }

    #[test]
    fn a_minute_figure_is_the_busy_time_and_bytes_of_the_minute_over_the_node_type() {
        let t3 = node_type("dax.t3.small").unwrap();
        let r5 = node_type("dax.r5.large").unwrap();
        let t2 = node_type("dax.t2.small").unwrap();
        let minute = 29_000_000;
        // A node started in the minute before `minute`.
        let reading = |m: i64, busy_s: f64, bytes_in: u64, bytes_out: u64| Reading {
            minute: m,
            start_minute: minute - 1,
            busy_ns: (busy_s * 1e9) as u64,
            bytes_in,
            bytes_out,
        };
        // A t3.small node: 2 vCPUs, 16 MB/s baseline, 24 credits an hour.
        let mut l = Ledger::default();
        // The first reading: everything since the node started, over its first minute.
        let f = figures_of(l.advance(reading(minute, 12.0, 1_600_000, 480_000), Some(&t3)));
        assert!(close(f["CPUUtilization"], 10.0), "{f:?}"); // 12 s / (60 s × 2)
        assert!(close(f["BaselineNetworkBytesInUtilization"], 100.0 * 1_600_000.0 / 60.0 / 16e6), "{f:?}");
        assert!(close(f["BaselineNetworkBytesOutUtilization"], 100.0 * 480_000.0 / 60.0 / 16e6), "{f:?}");
        assert!(close(f["CPUCreditUsage"], 0.2) && close(f["CPUCreditBalance"], 0.2), "{f:?}"); // 0.4 earned
        assert!(close(f["CPUSurplusCreditBalance"], 0.0) && close(f["CPUSurplusCreditsCharged"], 0.0));
        // Another reading in the same minute changes nothing.
        let same = figures_of(l.advance(reading(minute, 99.0, 9, 9), Some(&t3)));
        assert_eq!(same, f);
        // Next minute: only the increase counts; both vCPUs fully busy spend 2 credits.
        let f = figures_of(l.advance(reading(minute + 1, 12.0 + 120.0, 1_600_000, 480_000), Some(&t3)));
        assert!(close(f["CPUUtilization"], 100.0) && close(f["CPUCreditUsage"], 2.0), "{f:?}");
        assert!(close(f["CPUCreditBalance"], 0.0) && close(f["CPUSurplusCreditBalance"], 1.4), "{f:?}");
        assert_eq!(f.get("BaselineNetworkBytesInUtilization"), Some(&0.0));
        // Three minutes later, idle: the window is three minutes; 1.2 credits earned
        // pay the 1.4 surplus back in part.
        let f = figures_of(l.advance(reading(minute + 4, 132.0, 1_600_000, 480_000), Some(&t3)));
        assert!(close(f["CPUUtilization"], 0.0) && close(f["CPUSurplusCreditBalance"], 0.2), "{f:?}");
        // More busy time than the vCPUs have (daxd's host has more cores): at most 100%.
        let f = figures_of(l.advance(reading(minute + 5, 132.0 + 500.0, 0, 0), Some(&t3)));
        assert!(close(f["CPUUtilization"], 100.0) && close(f["CPUCreditUsage"], 2.0), "{f:?}");
        // A fixed-performance type has no credits; a T2 has no published baseline bandwidth;
        // an unknown type has no figures.
        let f = figures_of(Ledger::default().advance(reading(minute, 6.0, 750, 0), Some(&r5)));
        assert_eq!(
            f.keys().copied().collect::<Vec<_>>(),
            ["BaselineNetworkBytesInUtilization", "BaselineNetworkBytesOutUtilization", "CPUUtilization"]
        );
        assert!(
            close(f["CPUUtilization"], 5.0)
                && close(f["BaselineNetworkBytesInUtilization"], 100.0 * 750.0 / 60.0 / 93.75e6)
        );
        let f = figures_of(Ledger::default().advance(reading(minute, 6.0, 750, 0), Some(&t2)));
        assert!(!f.contains_key("BaselineNetworkBytesInUtilization") && close(f["CPUCreditBalance"], 30.0 - 0.1 + 0.2));
        assert!(Ledger::default().advance(reading(minute, 6.0, 750, 0), None).is_empty());
        // Read first in the minute it started, a node's first window stays open until the
        // minute ends; read first three minutes after, its first window is three minutes.
        let mut l = Ledger::default();
        let early = Reading { start_minute: minute, ..reading(minute, 6.0, 750, 0) };
        assert!(l.advance(early, Some(&r5)).is_empty());
        let f = figures_of(l.advance(reading(minute + 1, 12.0, 750, 0), Some(&r5)));
        assert!(close(f["CPUUtilization"], 10.0), "{f:?}");
        let late = Reading { start_minute: minute - 3, ..reading(minute, 36.0, 0, 0) };
        let f = figures_of(Ledger::default().advance(late, Some(&r5)));
        assert!(close(f["CPUUtilization"], 10.0), "{f:?}");
    }

    #[test]
    fn a_cluster_averages_utilization_and_sums_credits() {
        let a = vec![("CPUUtilization", 10.0), ("CPUCreditUsage", 0.2), ("CPUCreditBalance", 5.0)];
        let b = vec![("CPUUtilization", 30.0), ("CPUCreditUsage", 0.6), ("CPUCreditBalance", 7.0)];
        let f = figures_of(&cluster_figures(&[a, b, Vec::new()]));
        assert_eq!(f.keys().copied().collect::<Vec<_>>(), ["CPUCreditUsage", "CPUUtilization"]);
        assert!(close(f["CPUUtilization"], 20.0) && close(f["CPUCreditUsage"], 0.8), "{f:?}");
        assert!(cluster_figures(&[]).is_empty());
    }
}

#[test]
fn an_unreachable_host_reaches_clients_as_an_internal_server_error() {
    // The 503 that marks "no verdict" inside daxd is not what clients see.
    let frame = |e: &NodeError| crate::node::error_frame(e, None);
    assert_eq!(frame(&NodeError::unreachable("gone")), frame(&NodeError::internal("gone")));
}

mod hosts;
