//! AWS JSON over HTTP/1.1: one hyper client connection per worker (keep-alive,
//! `TCP_NODELAY`), every request SigV4-signed as an SDK would sign it (or unsigned).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::load::{BoxFut, Outcome, Worker};
use crate::workload::{json_has_item, Data, Op};

/// Credentials and region to sign with.
#[derive(Debug, Clone)]
pub struct Signer {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub region: String,
    /// `false`: send no SigV4 headers at all.
    pub enabled: bool,
}

/// An `http://host:port` endpoint on the loopback interface.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub addr: SocketAddr,
    /// The `Host` header (`127.0.0.1:8000`).
    pub host: String,
}

/// Parses `http://IP:PORT[/]` or `IP:PORT` and refuses anything but a loopback address.
pub fn endpoint(url: &str) -> Result<Endpoint, String> {
    let rest = url.strip_prefix("http://").unwrap_or(url);
    let hostport = rest.trim_end_matches('/');
    let hostport =
        if let Some(p) = hostport.strip_prefix("localhost:") { format!("127.0.0.1:{p}") } else { hostport.to_owned() };
    let addr: SocketAddr = hostport.parse().map_err(|_| format!("{url}: expected http://IP:PORT"))?;
    check_loopback(addr.ip(), url)?;
    Ok(Endpoint { addr, host: hostport })
}

pub fn check_loopback(ip: IpAddr, what: &str) -> Result<(), String> {
    if ip.is_loopback() {
        Ok(())
    } else {
        Err(format!("{what}: only loopback targets are allowed"))
    }
}

/// One keep-alive HTTP/1.1 connection.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    endpoint: Arc<Endpoint>,
}

impl Conn {
    pub async fn open(endpoint: Arc<Endpoint>) -> Result<Conn, String> {
        let stream =
            TcpStream::connect(endpoint.addr).await.map_err(|e| format!("connecting to {}: {e}", endpoint.host))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP handshake with {}: {e}", endpoint.host))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn { sender, endpoint })
    }

    /// POST `body` with the given content type and headers, signed for `service`.
    /// Returns the status and the whole answer body.
    pub async fn post(
        &mut self,
        signer: &Signer,
        service: &str,
        content_type: &str,
        target: Option<&str>,
        body: Vec<u8>,
    ) -> Result<(u16, Bytes), String> {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri("/")
            .header("host", &self.endpoint.host)
            .header("content-type", content_type);
        let mut to_sign: Vec<(&str, &str)> = vec![("content-type", content_type)];
        if let Some(t) = target {
            req = req.header("x-amz-target", t);
            to_sign.push(("x-amz-target", t));
        }
        if signer.enabled {
            let signed = sigv4::sign(
                "POST",
                &self.endpoint.host,
                "/",
                "",
                &to_sign,
                &body,
                &signer.access_key_id,
                &signer.secret_access_key,
                None,
                &signer.region,
                service,
                time::OffsetDateTime::now_utc(),
            );
            for (n, v) in &signed {
                req = req.header(n.as_str(), v.as_str());
            }
        }
        let req = req.body(Full::new(Bytes::from(body))).map_err(|e| e.to_string())?;
        self.sender.ready().await.map_err(|e| format!("connection to {}: {e}", self.endpoint.host))?;
        let resp =
            self.sender.send_request(req).await.map_err(|e| format!("request to {}: {e}", self.endpoint.host))?;
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await.map_err(|e| format!("reading the answer: {e}"))?.to_bytes();
        Ok((status, body))
    }

    /// One DynamoDB JSON 1.0 call.
    pub async fn dynamodb(&mut self, signer: &Signer, op: &str, body: Vec<u8>) -> Result<(u16, Bytes), String> {
        let target = format!("DynamoDB_20120810.{op}");
        self.post(signer, "dynamodb", "application/x-amz-json-1.0", Some(&target), body).await
    }
}

/// A load worker sending one DynamoDB operation.
pub struct HttpWorker {
    conn: Conn,
    signer: Arc<Signer>,
    data: Arc<Data>,
    op: Op,
    target: &'static str,
}

impl HttpWorker {
    pub async fn open(endpoint: Arc<Endpoint>, signer: Arc<Signer>, data: Arc<Data>, op: Op) -> Result<Self, String> {
        let target = match op {
            Op::Get => "DynamoDB_20120810.GetItem",
            Op::Put => "DynamoDB_20120810.PutItem",
            Op::Query => "DynamoDB_20120810.Query",
            Op::BatchGet => "DynamoDB_20120810.BatchGetItem",
        };
        Ok(HttpWorker { conn: Conn::open(endpoint).await?, signer, data, op, target })
    }
}

impl Worker for HttpWorker {
    fn exec(&mut self, key: u64) -> BoxFut<'_, (Outcome, Option<String>)> {
        Box::pin(async move {
            let body = self.data.body(self.op, key).into_bytes();
            match self.conn.post(&self.signer, "dynamodb", "application/x-amz-json-1.0", Some(self.target), body).await
            {
                Ok((200, b)) => {
                    if json_has_item(self.op, &b) {
                        (Outcome::Ok, None)
                    } else {
                        (Outcome::Empty, None)
                    }
                }
                Ok((status, b)) => (
                    Outcome::Error,
                    Some(format!("HTTP {status}: {}", String::from_utf8_lossy(&b[..b.len().min(300)]))),
                ),
                Err(e) => (Outcome::Error, Some(e)),
            }
        })
    }
}

/// Create the table (if it is not there) and wait until it is ACTIVE.
pub async fn create_table(conn: &mut Conn, signer: &Signer, data: &Data) -> Result<(), String> {
    let (status, body) = conn.dynamodb(signer, "CreateTable", data.create_table().to_string().into_bytes()).await?;
    if status != 200 && !String::from_utf8_lossy(&body).contains("ResourceInUseException") {
        return Err(format!("CreateTable: HTTP {status}: {}", String::from_utf8_lossy(&body)));
    }
    let describe = serde_json::json!({ "TableName": data.table }).to_string();
    for _ in 0..600 {
        let (status, body) = conn.dynamodb(signer, "DescribeTable", describe.clone().into_bytes()).await?;
        if status == 200 && String::from_utf8_lossy(&body).contains("\"TableStatus\":\"ACTIVE\"") {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Err(format!("table {} did not become ACTIVE", data.table))
}

/// Write the items of partitions `from..to` (each `data.per_partition()` items) with
/// BatchWriteItem (25 a call) over `connections` connections, retrying unprocessed items.
pub async fn load_items(
    endpoint: Arc<Endpoint>,
    signer: Arc<Signer>,
    data: Arc<Data>,
    from: u64,
    to: u64,
    connections: usize,
) -> Result<(), String> {
    let (from, to) = (from * data.per_partition(), to * data.per_partition());
    let next = Arc::new(std::sync::atomic::AtomicU64::new(from));
    let mut tasks = Vec::new();
    for _ in 0..connections.max(1) {
        let (endpoint, signer, data, next) =
            (Arc::clone(&endpoint), Arc::clone(&signer), Arc::clone(&data), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(endpoint).await?;
            loop {
                let start = next.fetch_add(25, std::sync::atomic::Ordering::Relaxed);
                if start >= to {
                    return Ok::<(), String>(());
                }
                let mut body = data.batch_write(start, (start + 25).min(to));
                for attempt in 0..100 {
                    let (status, answer) =
                        conn.dynamodb(&signer, "BatchWriteItem", body.to_string().into_bytes()).await?;
                    if status != 200 {
                        if attempt < 99 && String::from_utf8_lossy(&answer).contains("Throughput") {
                            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                            continue;
                        }
                        return Err(format!("BatchWriteItem: HTTP {status}: {}", String::from_utf8_lossy(&answer)));
                    }
                    let v: serde_json::Value = serde_json::from_slice(&answer).map_err(|e| e.to_string())?;
                    match v.get("UnprocessedItems").and_then(|u| u.as_object()) {
                        Some(u) if !u.is_empty() => {
                            body = serde_json::json!({ "RequestItems": u });
                            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        }
                        _ => break,
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    Ok(())
}
