//! The DAX protocol over TCP, built with the project's own codec (`dax-wire`): the
//! preamble, `authorizeConnection` signed with SigV4 for the given keys (as the official
//! clients sign it), then one request frame at a time, each answer framed by scanning
//! its CBOR items (`0x80` + one result item, or a three-item error frame).

use std::net::SocketAddr;
use std::sync::Arc;

use dax_wire::{
    encode_key, encode_value_bytes, AttributeValue, AuthorizeConnection, BatchGetItemRequest, BatchGetTable,
    Comparator, ConditionExpression, DocumentPath, Expr, GetItemRequest, Item, KeySchema, KeyType, Number, Preamble,
    PutItemRequest, QueryRequest, Request, SessionId,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::http::check_loopback;
use crate::load::{BoxFut, Outcome, Worker};
use crate::workload::{Data, Op};

/// Where and as whom to connect.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub region: String,
}

/// Parses `dax://IP:PORT` or `IP:PORT` on the loopback interface.
pub fn target_addr(s: &str) -> Result<SocketAddr, String> {
    let rest = s.strip_prefix("dax://").unwrap_or(s).trim_end_matches('/');
    let rest = if let Some(p) = rest.strip_prefix("localhost:") { format!("127.0.0.1:{p}") } else { rest.to_owned() };
    let addr: SocketAddr = rest.parse().map_err(|_| format!("{s}: expected IP:PORT"))?;
    check_loopback(addr.ip(), s)?;
    Ok(addr)
}

fn hex(b: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push(H[usize::from(x >> 4)] as char);
        s.push(H[usize::from(x & 15)] as char);
    }
    s
}

/// The `authorizeConnection` frame for `t`, signed now.
pub fn authorize_frame(t: &Target) -> Vec<u8> {
    let now = time::OffsetDateTime::now_utc();
    let amz_date = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let sts = dax_wire::expected_string_to_sign(&amz_date, &t.region, dax_wire::SIGNED_HOST);
    let key = sigv4::signing_key(&t.secret_access_key, &amz_date[..8], &t.region, dax_wire::SERVICE);
    let signature = hex(&sigv4::hmac_sha256(&key, sts.as_bytes()));
    Request::AuthorizeConnection(AuthorizeConnection {
        access_key_id: t.access_key_id.clone(),
        signature,
        string_to_sign: sts.into_bytes(),
        session_token: None,
        user_agent: Some(USER_AGENT.to_owned()),
    })
    .encode()
}

const USER_AGENT: &str = "daxd-loadgen";

/// How a complete answer at the start of a buffer looks.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    /// `0x80` then the result item; `empty` when the result is `null` or an empty map.
    Success { empty: bool, result_start: usize },
    /// An error frame; its message.
    Error(String),
}

/// Frames one answer with `items` result items: `Ok(None)` = need more bytes.
fn frame(buf: &[u8], items: usize) -> Result<Option<(Answer, usize)>, String> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    let mut d = minicbor::Decoder::new(buf);
    let incomplete = |e: &minicbor::decode::Error| e.is_end_of_input();
    if first == 0x80 {
        d.set_position(1);
        let result_start = 1;
        for _ in 0..items {
            match d.skip() {
                Ok(()) => {}
                Err(e) if incomplete(&e) => return Ok(None),
                Err(e) => return Err(format!("malformed answer: {e}")),
            }
        }
        let empty = matches!(buf.get(1), Some(0xa0 | 0xf6));
        Ok(Some((Answer::Success { empty, result_start }, d.position())))
    } else {
        for _ in 0..3 {
            match d.skip() {
                Ok(()) => {}
                Err(e) if incomplete(&e) => return Ok(None),
                Err(e) => return Err(format!("malformed answer: {e}")),
            }
        }
        let end = d.position();
        // Codes, then the message.
        let mut m = minicbor::Decoder::new(&buf[..end]);
        let codes: Vec<u64> = m.array_iter::<u64>().map(|it| it.filter_map(Result::ok).collect()).unwrap_or_default();
        let msg = m.str().unwrap_or("?").to_owned();
        Ok(Some((Answer::Error(format!("{codes:?} {msg}")), end)))
    }
}

/// How many items a successful answer's result carries (`result`: the bytes after `0x80`):
/// a Query's `Count` (result key 8), or the items a BatchGetItem returned over all tables
/// and whether it left keys unprocessed.
fn result_items(op: Op, result: &[u8]) -> Result<(u64, bool), String> {
    let err = |e: minicbor::decode::Error| format!("malformed {} answer: {e}", op.name());
    let mut d = minicbor::Decoder::new(result);
    match op {
        Op::Query => {
            let n = d.map().map_err(err)?.ok_or("indefinite Query result map")?;
            for _ in 0..n {
                if d.u64().map_err(err)? == dax_wire::result_key::COUNT {
                    return Ok((d.u64().map_err(err)?, false));
                }
                d.skip().map_err(err)?;
            }
            Err("Query answer without Count".into())
        }
        Op::BatchGet => {
            d.array().map_err(err)?;
            let tables = d.map().map_err(err)?.ok_or("indefinite BatchGetItem responses")?;
            let mut items = 0;
            for _ in 0..tables {
                d.str().map_err(err)?;
                // Unprojected tables: key and value bytes, flat.
                let flat = d.array().map_err(err)?.ok_or("indefinite BatchGetItem items")?;
                items += flat / 2;
                for _ in 0..flat {
                    d.skip().map_err(err)?;
                }
            }
            let unprocessed = d.map().map_err(err)?.ok_or("indefinite UnprocessedKeys")?;
            Ok((items, unprocessed > 0))
        }
        Op::Get | Op::Put => Ok((u64::from(!matches!(result.first(), None | Some(0xa0 | 0xf6))), false)),
    }
}

/// One authorized DAX connection.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub async fn open(t: &Target) -> Result<Conn, String> {
        let mut stream = TcpStream::connect(t.addr).await.map_err(|e| format!("connecting to {}: {e}", t.addr))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let mut session = [0u8; 16];
        let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        for (i, b) in session.iter_mut().enumerate() {
            *b = (seed >> ((i % 16) * 8)) as u8 ^ (i as u8).wrapping_mul(31);
        }
        let preamble = Preamble {
            layering: 0,
            session_id: SessionId::Bytes(session.to_vec()),
            user_agent: Some(USER_AGENT.to_owned()),
            client_mode: 0,
        };
        stream.write_all(&preamble.encode()).await.map_err(|e| e.to_string())?;
        // authorizeConnection gets no answer; the next request reports a refusal.
        stream.write_all(&authorize_frame(t)).await.map_err(|e| e.to_string())?;
        Ok(Conn { stream, buf: Vec::with_capacity(8192) })
    }

    /// Send one frame and read its answer (with `items` result items on success).
    /// Returns the answer and the bytes of the whole answer.
    async fn call(&mut self, frame_bytes: &[u8], items: usize) -> Result<(Answer, Vec<u8>), String> {
        self.stream.write_all(frame_bytes).await.map_err(|e| format!("write: {e}"))?;
        loop {
            if let Some((answer, used)) = frame(&self.buf, items)? {
                let bytes: Vec<u8> = self.buf.drain(..used).collect();
                return Ok((answer, bytes));
            }
            if self.buf.capacity() - self.buf.len() < 4096 {
                self.buf.reserve(16384);
            }
            let n = self.stream.read_buf(&mut self.buf).await.map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("the node closed the connection".into());
            }
        }
    }

    /// `defineAttributeListId(names)` → the id.
    pub async fn attribute_list_id(&mut self, names: &[&str]) -> Result<u64, String> {
        let req = Request::DefineAttributeListId { attribute_names: names.iter().map(|s| (*s).to_owned()).collect() };
        match self.call(&req.encode(), 1).await? {
            (Answer::Success { result_start, .. }, bytes) => {
                let mut d = minicbor::Decoder::new(&bytes[result_start..]);
                d.u64().map_err(|e| format!("defineAttributeListId answer: {e}"))
            }
            (Answer::Error(e), _) => Err(format!("defineAttributeListId: {e}")),
        }
    }
}

/// A load worker on one DAX connection.
pub struct DaxWorker {
    conn: Conn,
    data: Arc<Data>,
    op: Op,
    schema: KeySchema,
    /// Attribute-list id of `["v"]` (PutItem).
    list_id: u64,
    /// Result items of a full answer: 1, a Query's items per partition, a batch's keys.
    want: u64,
}

impl DaxWorker {
    pub async fn open(t: &Target, data: Arc<Data>, op: Op) -> Result<Self, String> {
        let mut conn = Conn::open(t).await?;
        // Also proves the connection is authorized before the run starts.
        let list_id = conn.attribute_list_id(&["v"]).await?;
        Ok(Self::new(conn, data, op, list_id))
    }

    fn new(conn: Conn, data: Arc<Data>, op: Op, list_id: u64) -> Self {
        let schema = if data.sort_keys > 0 {
            KeySchema::hash_range("pk", KeyType::S, "sk", KeyType::N)
        } else {
            KeySchema::hash_only("pk", KeyType::S)
        };
        let want = match op {
            Op::Query => data.per_partition(),
            Op::BatchGet => data.batch,
            Op::Get | Op::Put => 1,
        };
        DaxWorker { conn, data, op, schema, list_id, want }
    }

    fn request(&self, key: u64) -> Result<Vec<u8>, String> {
        request_bytes(&self.data, self.op, &self.schema, self.list_id, key)
    }
}

/// The key bytes of partition `key` (sort key 0 when the table has one).
fn key_bytes(data: &Data, schema: &KeySchema, key: u64) -> Result<Vec<u8>, String> {
    let mut item = Item::new();
    item.insert("pk".into(), AttributeValue::S(data.key(key)));
    if data.sort_keys > 0 {
        item.insert("sk".into(), AttributeValue::N(Number::from_i128(0).map_err(|e| e.to_string())?));
    }
    encode_key(&item, schema).map_err(|e| e.to_string())
}

/// The request frame of `op` on key number `key` (`list_id`: the attribute-list id of
/// `["v"]`, for PutItem).
fn request_bytes(data: &Data, op: Op, schema: &KeySchema, list_id: u64, key: u64) -> Result<Vec<u8>, String> {
    let table = data.table.clone();
    if op == Op::BatchGet {
        let keys = data.batch_keys(key).map(|j| key_bytes(data, schema, j)).collect::<Result<Vec<_>, _>>()?;
        return Ok(Request::BatchGetItem(BatchGetItemRequest {
            tables: vec![BatchGetTable { table_name: table, keys, ..Default::default() }],
            ..Default::default()
        })
        .encode());
    }
    let key_bytes = key_bytes(data, schema, key)?;
    Ok(match op {
        Op::Get => {
            Request::GetItem(GetItemRequest { table_name: table, key: key_bytes, ..Default::default() }).encode()
        }
        Op::Put => {
            let v = AttributeValue::S(data.payload().to_owned());
            Request::PutItem(PutItemRequest {
                table_name: table,
                key: key_bytes,
                value: encode_value_bytes(list_id, &[&v]),
                ..Default::default()
            })
            .encode()
        }
        Op::Query => Request::Query(QueryRequest {
            table_name: table,
            key_condition: Some(ConditionExpression {
                expr: Expr::Compare(
                    Comparator::Eq,
                    Box::new(Expr::Path(DocumentPath::attribute("pk"))),
                    Box::new(Expr::Value(0)),
                ),
                values: vec![AttributeValue::S(data.key(key))],
            }),
            ..Default::default()
        })
        .encode(),
        Op::BatchGet => unreachable!("answered above"),
    })
}

impl Worker for DaxWorker {
    fn exec(&mut self, key: u64) -> BoxFut<'_, (Outcome, Option<String>)> {
        Box::pin(async move {
            let req = match self.request(key) {
                Ok(r) => r,
                Err(e) => return (Outcome::Error, Some(e)),
            };
            let frame_items = if self.op == Op::BatchGet { 2 } else { 1 };
            match self.conn.call(&req, frame_items).await {
                Ok((Answer::Success { result_start, .. }, bytes)) => {
                    if self.op == Op::Put {
                        return (Outcome::Ok, None);
                    }
                    match result_items(self.op, &bytes[result_start..]) {
                        // Everything asked for came back.
                        Ok((n, false)) if n == self.want => (Outcome::Ok, None),
                        Ok((n, unprocessed)) => (
                            Outcome::Empty,
                            (self.op != Op::Get).then(|| {
                                format!(
                                    "{} returned {n} of {} items (unprocessed: {unprocessed})",
                                    self.op.name(),
                                    self.want
                                )
                            }),
                        ),
                        Err(e) => (Outcome::Error, Some(e)),
                    }
                }
                Ok((Answer::Error(e), _)) => (Outcome::Error, Some(e)),
                Err(e) => (Outcome::Error, Some(e)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_success_and_errors() {
        assert_eq!(frame(&[0x80], 1).unwrap(), None);
        assert_eq!(frame(&[0x80, 0xa0], 1).unwrap(), Some((Answer::Success { empty: true, result_start: 1 }, 2)));
        let ok = [0x80, 0xa1, 0x00, 0x42, 0x01, 0x02, 0xff];
        assert_eq!(frame(&ok, 1).unwrap(), Some((Answer::Success { empty: false, result_start: 1 }, 6)));
        assert_eq!(frame(&ok[..5], 1).unwrap(), None);
        let err = dax_wire::encode_error(&[4, 23, 24], "nope", None, Some(400), &dax_wire::ErrorExtra::default());
        let (a, n) = frame(&err, 1).unwrap().unwrap();
        assert_eq!(n, err.len());
        assert!(matches!(a, Answer::Error(m) if m.contains("nope")));
        assert_eq!(frame(&err[..err.len() - 1], 1).unwrap(), None);
    }

    #[test]
    fn result_items_of_query_and_batch_answers() {
        use dax_wire::{BatchGetItems, BatchGetResponse, QueryItem, QueryResponse};
        let full = |n: usize| (0..n).map(|i| QueryItem::Full { key: vec![i as u8], value: vec![1] }).collect();
        let query = |n: u64, items: Option<Vec<QueryItem>>| {
            dax_wire::encode_query_response(&QueryResponse { items, count: n, scanned_count: n, ..Default::default() })
        };
        let pairs = |n: u8| (0..n).map(|i| (vec![i], vec![i, 1])).collect::<Vec<_>>();
        let batch = |tables: Vec<(String, BatchGetItems)>, unprocessed: Vec<(String, Vec<Vec<u8>>)>| {
            dax_wire::encode_batch_get_response(&BatchGetResponse {
                responses: tables,
                unprocessed_keys: unprocessed,
                ..Default::default()
            })
        };
        // (operation, answer frame, its result items, (items, unprocessed))
        type Case = (Op, Vec<u8>, usize, (u64, bool));
        let cases: Vec<Case> = vec![
            (Op::Query, query(10, Some(full(10))), 1, (10, false)),
            (Op::Query, query(0, Some(vec![])), 1, (0, false)),
            (Op::Query, query(3, None), 1, (3, false)),
            (Op::BatchGet, batch(vec![("t".into(), BatchGetItems::Full(pairs(100)))], vec![]), 2, (100, false)),
            (
                Op::BatchGet,
                batch(
                    vec![("a".into(), BatchGetItems::Full(pairs(2))), ("b".into(), BatchGetItems::Full(pairs(3)))],
                    vec![("a".into(), vec![vec![9]])],
                ),
                2,
                (5, true),
            ),
            (Op::BatchGet, batch(vec![], vec![]), 2, (0, false)),
        ];
        for (op, bytes, items, want) in cases {
            let (answer, used) = frame(&bytes, items).unwrap().unwrap();
            assert_eq!(used, bytes.len(), "{op:?}");
            let Answer::Success { result_start, .. } = answer else { panic!("{answer:?}") };
            assert_eq!(result_items(op, &bytes[result_start..]).unwrap(), want, "{op:?}");
        }
        // A Query result without its Count, and a truncated batch, are errors.
        assert!(result_items(Op::Query, &[0xa0]).is_err());
        assert!(result_items(Op::BatchGet, &[0x82, 0xa1]).is_err());
    }

    #[test]
    fn batch_get_and_sort_key_requests_decode() {
        let data = |sort_keys: u64| Arc::new(Data::new("t", "k", 1024).with_sort_keys(sort_keys).with_batch(3, 10, 4));
        // Request frames only (no connection): the codec reads them back.
        for (op, sort_keys, want_keys) in [(Op::BatchGet, 0, 3usize), (Op::Get, 10, 1), (Op::Query, 10, 0)] {
            let d = data(sort_keys);
            let schema = if sort_keys > 0 {
                KeySchema::hash_range("pk", KeyType::S, "sk", KeyType::N)
            } else {
                KeySchema::hash_only("pk", KeyType::S)
            };
            let bytes = request_bytes(&d, op, &schema, 0, 13).unwrap();
            let (f, n) = dax_wire::try_decode(&bytes, &dax_wire::Limits::DEFAULT).unwrap().unwrap();
            assert_eq!(n, bytes.len());
            match f {
                dax_wire::Frame::Request(Request::BatchGetItem(b)) => {
                    assert_eq!(b.tables[0].keys.len(), want_keys);
                    // Keys 13, 10, 11: the batch wraps within 10..14.
                    let keys: Vec<_> = b.tables[0]
                        .keys
                        .iter()
                        .map(|k| dax_wire::decode_key(k, &schema, &dax_wire::Limits::DEFAULT).unwrap()["pk"].clone())
                        .collect();
                    assert_eq!(
                        keys,
                        ["k000000013", "k000000010", "k000000011"].map(|k| AttributeValue::S(k.into())).to_vec()
                    );
                }
                dax_wire::Frame::Request(Request::GetItem(g)) => {
                    let key = dax_wire::decode_key(&g.key, &schema, &dax_wire::Limits::DEFAULT).unwrap();
                    assert_eq!(key["sk"], AttributeValue::N(Number::from_i128(0).unwrap()));
                }
                dax_wire::Frame::Request(Request::Query(q)) => assert!(q.key_condition.is_some()),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn authorize_frame_is_a_request_the_codec_reads_back() {
        let t = Target {
            addr: "127.0.0.1:1".parse().unwrap(),
            access_key_id: "AKID".into(),
            secret_access_key: "secret".into(),
            region: "us-east-1".into(),
        };
        let bytes = authorize_frame(&t);
        let (f, n) = dax_wire::try_decode(&bytes, &dax_wire::Limits::DEFAULT).unwrap().unwrap();
        assert_eq!(n, bytes.len());
        let dax_wire::Frame::Request(Request::AuthorizeConnection(a)) = f else { panic!("{f:?}") };
        let sts = dax_wire::parse_string_to_sign(&a.string_to_sign).unwrap();
        assert!(sts.has_known_canonical_request());
        let key = sigv4::signing_key("secret", sts.date, "us-east-1", "dax");
        assert_eq!(a.signature, hex(&sigv4::hmac_sha256(&key, &a.string_to_sign)));
    }
}
