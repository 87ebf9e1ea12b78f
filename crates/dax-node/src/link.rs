//! The links between node hosts of a cluster spread over several (docs/node-hosts.md,
//! "Replication"): the sockets and TLS around the protocol of [`crate::replication`].
//!
//! Each host listens for links on one port (it tells the control at its join). For each
//! cluster whose primary runs elsewhere and which has a node here, the host keeps a link to
//! the primary's host ([`ReplicaSide`]): it applies the primary's updates in order to its
//! nodes' caches, sends its own, and forwards its writes' DynamoDB calls, reconnecting
//! after a failure and resuming where it was. The primary's host ([`PrimarySide`]) numbers
//! the cluster's updates and streams them to every link. Both ends authenticate with the
//! certificates the control issued ([`PeerTls`]); the primary's host also checks that the
//! replica's certificate names the host the link claims, and that the roster has a node of
//! the cluster on it.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::cluster::Upstream;
use crate::host::{BoxFuture, NodeError};
use crate::node::{Cluster, Node};
use crate::replication::{
    decode_length, decode_message, encode, CacheUpdate, ErrorAnswer, Inbox, Msg, Outbox, Resume, Verdict,
};
use crate::tls::PeerTls;

/// How long a link has to connect and finish its TLS handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The pause before a broken link is opened again.
const RECONNECT_DELAY: Duration = Duration::from_millis(200);
/// How often a replica acknowledges what it applied.
const ACK_EVERY: Duration = Duration::from_millis(100);
/// How long a forwarded write waits for the primary's answer.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Updates written to a link at once.
const BATCH: usize = 256;

/// Finds a running cluster of this host's fleet by ARN.
pub(crate) type Lookup = Arc<dyn Fn(&str) -> Option<Arc<Cluster>> + Send + Sync>;

/// This host's side of the links: who it is and its TLS.
pub(crate) struct Links {
    pub host_id: String,
    pub tls: PeerTls,
    /// The clock the primary stamps updates with (milliseconds since the epoch).
    pub now_ms: Arc<dyn Fn() -> i64 + Send + Sync>,
    /// Replication lag of applied updates, for [`crate::Fleet::replication_lags_ms`].
    pub lags: Mutex<Vec<i64>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Apply an update from another host to every node of the cluster here.
fn apply(cluster: &Cluster, update: &CacheUpdate) {
    for n in cluster.nodes() {
        if !n.faults.is_clear() && n.faults.skips_replication() {
            continue;
        }
        let seq = cluster.next_seq();
        match update {
            CacheUpdate::Put { table, key, value } => n.cache.put_item(table, key, value.clone(), seq, n.cache.now()),
            CacheUpdate::Invalidate { table, key } => n.cache.invalidate_item(table, key, seq),
        }
    }
}

/// The attribute list a cached value refers to, if not yet sent on this link.
fn list_of(cluster: &Cluster, update: &CacheUpdate, sent: &mut HashSet<u64>) -> Option<Msg> {
    let CacheUpdate::Put { value: Some(v), .. } = update else { return None };
    let (id, _) = dax_wire::decode_value_bytes(v, &dax_wire::Limits::DEFAULT).ok()?;
    if id < 2 || sent.contains(&id) {
        return None;
    }
    let names = cluster.attribute_list(id)?;
    sent.insert(id);
    Some(Msg::Lists(vec![(id, names.as_slice().to_vec())]))
}

async fn send<W: AsyncWrite + Unpin>(w: &mut W, msg: &Msg) -> std::io::Result<()> {
    w.write_all(&encode(msg)).await
}

/// Read messages off `r` into a channel until it fails (a reader task: reading a frame is
/// not cancel-safe, the channel is).
fn read_into<R: AsyncRead + Unpin + Send + 'static>(mut r: R) -> mpsc::Receiver<Msg> {
    let (tx, rx) = mpsc::channel(1024);
    tokio::spawn(async move {
        loop {
            let mut head = [0u8; 4];
            if r.read_exact(&mut head).await.is_err() {
                return;
            }
            let Ok(len) = decode_length(head) else { return };
            let mut body = vec![0u8; len];
            if r.read_exact(&mut body).await.is_err() {
                return;
            }
            match decode_message(&body) {
                Ok(m) => {
                    if tx.send(m).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::debug!(error = %e, "closing a replication link");
                    return;
                }
            }
        }
    });
    rx
}

// ----- the primary's host -----------------------------------------------------------------

/// The primary's side of a cluster: its numbered updates, and the hosts of its replicas.
pub(crate) struct PrimarySide {
    outbox: Mutex<Outbox>,
    next: watch::Sender<u64>,
    /// Hosts with a node of the cluster (besides this one), from the roster.
    pub replicas: RwLock<HashSet<String>>,
    now_ms: Arc<dyn Fn() -> i64 + Send + Sync>,
}

impl PrimarySide {
    pub(crate) fn new(replicas: HashSet<String>, now_ms: Arc<dyn Fn() -> i64 + Send + Sync>) -> Self {
        PrimarySide {
            outbox: Mutex::new(Outbox::default()),
            next: watch::channel(1).0,
            replicas: RwLock::new(replicas),
            now_ms,
        }
    }
}

impl Upstream for PrimarySide {
    fn publish(&self, update: CacheUpdate) {
        let mut out = lock(&self.outbox);
        out.push((self.now_ms)(), update);
        self.next.send_replace(out.next_seq());
    }

    fn forwards_writes(&self) -> bool {
        false
    }

    fn in_sync(&self) -> bool {
        true
    }

    fn write(&self, _op: String, _input: Value) -> BoxFuture<'static, Result<Value, NodeError>> {
        Box::pin(async { Err(NodeError::internal("the primary makes its writes itself")) })
    }

    fn key(&self) -> String {
        "primary".to_owned()
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Accept links on `listener` for as long as the fleet lives.
pub(crate) async fn accept_loop(links: Arc<Links>, listener: TcpListener, lookup: Lookup) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let (links, lookup) = (Arc::clone(&links), Arc::clone(&lookup));
                tokio::spawn(async move {
                    if let Err(e) = serve_replica(links, stream, lookup).await {
                        tracing::debug!(%peer, error = %e, "replication link ended");
                    }
                });
            }
            Err(e) => {
                tracing::debug!(error = %e, "accepting a replication link failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// One link from a replica's host: checked, then served until it breaks.
async fn serve_replica(links: Arc<Links>, stream: TcpStream, lookup: Lookup) -> Result<(), String> {
    let _ = stream.set_nodelay(true);
    let tls = tokio::time::timeout(CONNECT_TIMEOUT, links.tls.acceptor().accept(stream))
        .await
        .map_err(|_| "TLS handshake timed out".to_owned())?
        .map_err(|e| format!("TLS handshake: {e}"))?;
    let cert = tls.get_ref().1.peer_certificates().and_then(|c| c.first()).cloned().ok_or("no client certificate")?;
    let (r, mut w) = tokio::io::split(tls);
    let mut incoming = read_into(r);
    let Some(Msg::Hello { cluster_arn, host_id, next_seq }) =
        tokio::time::timeout(CONNECT_TIMEOUT, incoming.recv()).await.ok().flatten()
    else {
        return Err("the link did not start with a hello".to_owned());
    };
    let now = std::time::UNIX_EPOCH + Duration::from_millis(u64::try_from((links.now_ms)()).unwrap_or(0));
    if !links.tls.names_host(&cert, &host_id, now) {
        return Err(format!("the certificate does not name node host {host_id}"));
    }
    let cluster = lookup(&cluster_arn).ok_or_else(|| format!("no cluster {cluster_arn} here"))?;
    let up = cluster.upstream().ok_or("the cluster is not spread over hosts")?;
    let Some(primary) = up.as_any().downcast_ref::<PrimarySide>() else {
        return Err(format!("this host does not hold the primary of {cluster_arn}"));
    };
    if !primary.replicas.read().unwrap_or_else(PoisonError::into_inner).contains(&host_id) {
        return Err(format!("node host {host_id} runs no node of {cluster_arn}"));
    }
    tracing::info!(cluster = %cluster_arn, replica = %host_id, next_seq, "replication link up");
    let mut changed = primary.next.subscribe();
    let resume = lock(&primary.outbox).resume(next_seq);
    let mut cursor = match resume {
        // The hello is answered either way: here with where the stream resumes.
        Resume::From(n) => {
            send(&mut w, &Msg::Ack { seq: n - 1 }).await.map_err(|e| e.to_string())?;
            n
        }
        Resume::Reset(n) => {
            send(&mut w, &Msg::Reset { next_seq: n }).await.map_err(|e| e.to_string())?;
            n
        }
    };
    let (answers_tx, mut answers) = mpsc::channel::<Msg>(256);
    let mut lists_sent = HashSet::new();
    let weak = Arc::downgrade(&cluster);
    drop(cluster);
    loop {
        // Everything numbered since the cursor, in order.
        loop {
            let batch = {
                let out = lock(&primary.outbox);
                if cursor >= out.next_seq() {
                    break;
                }
                out.since(cursor, BATCH).ok_or(out.first_seq())
            };
            let cluster = weak.upgrade().ok_or("the cluster stopped here")?;
            match batch {
                Ok(msgs) => {
                    let mut frames = Vec::new();
                    for m in &msgs {
                        if let Msg::Update { update, .. } = m {
                            if let Some(l) = list_of(&cluster, update, &mut lists_sent) {
                                frames.extend_from_slice(&encode(&l));
                            }
                        }
                        frames.extend_from_slice(&encode(m));
                    }
                    cursor += msgs.len() as u64;
                    w.write_all(&frames).await.map_err(|e| e.to_string())?;
                }
                // It fell behind while being sent to: it starts over from the oldest held.
                Err(next) => {
                    send(&mut w, &Msg::Reset { next_seq: next }).await.map_err(|e| e.to_string())?;
                    cursor = next;
                }
            }
        }
        tokio::select! {
            r = changed.changed() => if r.is_err() { return Ok(()) },
            a = answers.recv() => if let Some(a) = a {
                send(&mut w, &a).await.map_err(|e| e.to_string())?;
            },
            m = incoming.recv() => {
                let Some(m) = m else { return Ok(()) };
                let cluster = weak.upgrade().ok_or("the cluster stopped here")?;
                match m {
                    Msg::Ack { .. } => {}
                    Msg::Lists(lists) => for (id, names) in lists {
                        cluster.define_list(id, &names);
                    },
                    Msg::Publish(update) => {
                        apply(&cluster, &update);
                        primary.publish(update);
                    }
                    Msg::Write { id, op, input } => {
                        let tx = answers_tx.clone();
                        tokio::spawn(async move {
                            let result = primary_write(&cluster, &op, &input).await;
                            let _ = tx.send(Msg::Answer { id, result }).await;
                        });
                    }
                    other => return Err(format!("unexpected message from a replica: {other:?}")),
                }
            }
        }
    }
}

/// A replica's write: its DynamoDB call, made by this host's node of the cluster.
async fn primary_write(cluster: &Arc<Cluster>, op: &str, input: &str) -> Result<String, ErrorAnswer> {
    let node: Option<Arc<Node>> = cluster.leader().or_else(|| cluster.nodes().into_iter().next());
    let answer = match (node, serde_json::from_str::<Value>(input)) {
        (Some(n), Ok(input)) => n.ddb(&cluster.info(), op, input).await,
        (None, _) => Err(NodeError::internal("the primary's node does not run")),
        (_, Err(e)) => Err(NodeError::internal(format!("a forwarded write is not JSON: {e}"))),
    };
    answer.map(|v| v.to_string()).map_err(|e| ErrorAnswer {
        code: e.code,
        message: e.message,
        status: e.status,
        extra: e.extra.map(|x| Value::Object(x).to_string()).unwrap_or_default(),
    })
}

// ----- a replica's host -------------------------------------------------------------------

/// What a replica's host sends its primary's.
enum Out {
    Publish(CacheUpdate),
    Write { op: String, input: Value, reply: oneshot::Sender<Result<Value, NodeError>> },
}

/// What a [`ReplicaSide`] following `host_id` at `address:port` says it is.
pub(crate) fn replica_key(address: &str, port: u16, host_id: &str) -> String {
    format!("replica of {host_id} at {address}:{port}")
}

/// A replica's side of a cluster: the link to the primary's host, kept open by a task.
pub(crate) struct ReplicaSide {
    key: String,
    tx: mpsc::UnboundedSender<Out>,
    task: JoinHandle<()>,
    /// The link is up and the primary's host has answered its hello.
    linked: Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for ReplicaSide {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ReplicaSide {
    /// Follow the primary on host `host_id` at `address:port` for `cluster`.
    pub(crate) fn start(links: Arc<Links>, cluster: &Arc<Cluster>, address: &str, port: u16, host_id: &str) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let key = replica_key(address, port, host_id);
        let linked = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let task = tokio::spawn(follow(
            links,
            Arc::downgrade(cluster),
            address.to_owned(),
            port,
            host_id.to_owned(),
            rx,
            Arc::clone(&linked),
        ));
        ReplicaSide { key, tx, task, linked }
    }
}

impl Upstream for ReplicaSide {
    fn publish(&self, update: CacheUpdate) {
        let _ = self.tx.send(Out::Publish(update));
    }

    fn forwards_writes(&self) -> bool {
        true
    }

    fn in_sync(&self) -> bool {
        self.linked.load(Ordering::Acquire)
    }

    fn write(&self, op: String, input: Value) -> BoxFuture<'static, Result<Value, NodeError>> {
        let (reply, answer) = oneshot::channel();
        let sent = self.tx.send(Out::Write { op, input, reply });
        Box::pin(async move {
            sent.map_err(|_| NodeError::internal("The primary's node host cannot be reached"))?;
            match tokio::time::timeout(WRITE_TIMEOUT, answer).await {
                Ok(Ok(r)) => r,
                Ok(Err(_)) => Err(NodeError::internal("The link to the primary's node host broke")),
                Err(_) => Err(NodeError::internal("The primary's node host did not answer in time")),
            }
        })
    }

    fn key(&self) -> String {
        self.key.clone()
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Keep the link to the primary's host open, reconnecting after each failure.
async fn follow(
    links: Arc<Links>,
    cluster: Weak<Cluster>,
    address: String,
    port: u16,
    host_id: String,
    mut rx: mpsc::UnboundedReceiver<Out>,
    linked: Arc<std::sync::atomic::AtomicBool>,
) {
    let mut inbox = Inbox::default();
    loop {
        let Some(c) = cluster.upgrade() else { return };
        let arn = c.info().arn.clone();
        drop(c);
        match connect(&links, &address, port, &host_id).await {
            Ok(stream) => {
                let e = run_link(&links, &cluster, stream, &arn, &mut inbox, &mut rx, &linked).await;
                linked.store(false, Ordering::Release);
                tracing::info!(cluster = %arn, primary = %host_id, reason = %e, "replication link down");
            }
            Err(e) => {
                tracing::debug!(cluster = %arn, primary = %host_id, error = %e, "cannot open the replication link")
            }
        }
        // Until it is back, writes fail at once (clients retry) and own updates are dropped.
        let pause = tokio::time::sleep(RECONNECT_DELAY);
        tokio::pin!(pause);
        loop {
            tokio::select! {
                () = &mut pause => break,
                out = rx.recv() => match out {
                    Some(Out::Write { reply, .. }) => {
                        let _ = reply.send(Err(NodeError::internal("The primary's node host cannot be reached")));
                    }
                    Some(Out::Publish(_)) => {}
                    None => return,
                },
            }
        }
    }
}

async fn connect(
    links: &Links,
    address: &str,
    port: u16,
    host_id: &str,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
    let name = rustls::pki_types::ServerName::try_from(host_id.to_owned()).map_err(|e| e.to_string())?;
    let host = address.trim_start_matches('[').trim_end_matches(']');
    let open = async {
        let tcp = TcpStream::connect((host, port)).await.map_err(|e| e.to_string())?;
        let _ = tcp.set_nodelay(true);
        links.tls.connector().connect(name, tcp).await.map_err(|e| format!("TLS: {e}"))
    };
    tokio::time::timeout(CONNECT_TIMEOUT, open).await.map_err(|_| "timed out".to_owned())?
}

/// One open link: hello, then the primary's updates in, own updates and writes out. Returns
/// why it ended.
async fn run_link(
    links: &Links,
    cluster: &Weak<Cluster>,
    stream: tokio_rustls::client::TlsStream<TcpStream>,
    arn: &str,
    inbox: &mut Inbox,
    rx: &mut mpsc::UnboundedReceiver<Out>,
    linked: &std::sync::atomic::AtomicBool,
) -> String {
    let (r, mut w) = tokio::io::split(stream);
    let mut incoming = read_into(r);
    let hello = Msg::Hello { cluster_arn: arn.to_owned(), host_id: links.host_id.clone(), next_seq: inbox.next_seq() };
    if let Err(e) = send(&mut w, &hello).await {
        return e.to_string();
    }
    let mut pending: HashMap<u64, oneshot::Sender<Result<Value, NodeError>>> = HashMap::new();
    let next_id = AtomicU64::new(1);
    let mut lists_sent = HashSet::new();
    let mut acked = inbox.applied();
    let mut ack = tokio::time::interval(ACK_EVERY);
    let why = loop {
        tokio::select! {
            m = incoming.recv() => {
                let Some(m) = m else { break "the primary's host closed the link".to_owned() };
                let Some(c) = cluster.upgrade() else { break "the cluster stopped here".to_owned() };
                // The primary's host accepted the link: its first message is a reset or an update.
                linked.store(true, Ordering::Release);
                match m {
                    Msg::Update { seq, sent_ms, update } => match inbox.accept(seq) {
                        Verdict::Apply => {
                            apply(&c, &update);
                            let lag = (links.now_ms)() - sent_ms;
                            let mut lags = lock(&links.lags);
                            if lags.len() < 100_000 {
                                lags.push(lag);
                            }
                        }
                        Verdict::Duplicate => {}
                        Verdict::Gap => break format!("update {seq} out of order (expected {})", inbox.next_seq()),
                    },
                    Msg::Reset { next_seq } => {
                        for n in c.nodes() {
                            n.cache.clear();
                        }
                        inbox.reset(next_seq);
                    }
                    Msg::Lists(lists) => for (id, names) in lists {
                        c.define_list(id, &names);
                    },
                    // The primary's answer to the hello when it resumes where this host was.
                    Msg::Ack { .. } => {}
                    Msg::Answer { id, result } => {
                        if let Some(reply) = pending.remove(&id) {
                            let _ = reply.send(result.map_err(|e| NodeError {
                                code: e.code,
                                message: e.message,
                                status: e.status,
                                extra: serde_json::from_str::<Value>(&e.extra).ok().and_then(|v| v.as_object().cloned()),
                            }).and_then(|json| serde_json::from_str(&json).map_err(|e| NodeError::internal(format!("the primary's answer is not JSON: {e}")))));
                        }
                    }
                    other => break format!("unexpected message from the primary: {other:?}"),
                }
            }
            out = rx.recv() => {
                let Some(out) = out else { break "the cluster stopped here".to_owned() };
                let Some(c) = cluster.upgrade() else { break "the cluster stopped here".to_owned() };
                let mut frames = Vec::new();
                match out {
                    Out::Publish(update) => {
                        if let Some(l) = list_of(&c, &update, &mut lists_sent) {
                            frames.extend_from_slice(&encode(&l));
                        }
                        frames.extend_from_slice(&encode(&Msg::Publish(update)));
                    }
                    Out::Write { op, input, reply } => {
                        let id = next_id.fetch_add(1, Ordering::Relaxed);
                        pending.insert(id, reply);
                        frames.extend_from_slice(&encode(&Msg::Write { id, op, input: input.to_string() }));
                    }
                }
                if let Err(e) = w.write_all(&frames).await {
                    break e.to_string();
                }
            }
            _ = ack.tick() => {
                if inbox.applied() != acked {
                    acked = inbox.applied();
                    if let Err(e) = send(&mut w, &Msg::Ack { seq: acked }).await {
                        break e.to_string();
                    }
                }
            }
        }
    };
    for (_, reply) in pending.drain() {
        let _ = reply.send(Err(NodeError::internal("The link to the primary's node host broke")));
    }
    why
}
