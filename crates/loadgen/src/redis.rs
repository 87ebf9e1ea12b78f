//! Redis's protocol (RESP2) over TCP, so that `scripts/bench` drives redis-server with the
//! same closed-loop code, the same keys and the same 1 KiB values as daxd's DAX nodes:
//! `GET` of one key (the DAX `GetItem` hit's peer), `MGET` of `--batch` keys (the
//! `BatchGetItem` peer) and `SET` (to load the keys before the reads).
//!
//! Keys are the items' `pk` values (`k000000042`), values the items' `v` payload.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::http::check_loopback;
use crate::load::{BoxFut, Outcome, Worker};
use crate::workload::{Data, Op};

/// Bounds on what the parser accepts from a server.
const MAX_BULK_BYTES: usize = 512 * 1024 * 1024;
const MAX_ARRAY_LEN: usize = 1 << 20;
const MAX_DEPTH: usize = 8;
const MAX_LINE_BYTES: usize = 64 * 1024;

/// One RESP2 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+OK`
    Simple(String),
    /// `-ERR …`
    Error(String),
    /// `:42`
    Int(i64),
    /// `$3\r\nabc` (its length) or `$-1` (`None`).
    Bulk(Option<usize>),
    /// `*2 …` or `*-1` (`None`).
    Array(Option<Vec<Reply>>),
}

/// A command as a RESP array of bulk strings.
pub fn command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + args.iter().map(|a| a.len() + 16).sum::<usize>());
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The line at `buf[pos..]` without its CRLF and the position after it; `Ok(None)`: incomplete.
fn line(buf: &[u8], pos: usize) -> Result<Option<(&[u8], usize)>, String> {
    let rest = &buf[pos..];
    match rest.windows(2).position(|w| w == b"\r\n") {
        Some(i) if i <= MAX_LINE_BYTES => Ok(Some((&rest[..i], pos + i + 2))),
        Some(_) => Err("RESP line too long".into()),
        None if rest.len() > MAX_LINE_BYTES => Err("RESP line too long".into()),
        None => Ok(None),
    }
}

fn int(text: &[u8]) -> Result<i64, String> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse::<i64>().ok())
        .ok_or_else(|| format!("bad RESP integer {:?}", String::from_utf8_lossy(text)))
}

/// A length: -1 (`None`) or 0..=max.
fn length(text: &[u8], max: usize) -> Result<Option<usize>, String> {
    match int(text)? {
        -1 => Ok(None),
        n if n >= 0 && (n as u64) <= max as u64 => Ok(Some(n as usize)),
        n => Err(format!("bad RESP length {n}")),
    }
}

fn parse_at(buf: &[u8], pos: usize, depth: usize) -> Result<Option<(Reply, usize)>, String> {
    if depth > MAX_DEPTH {
        return Err("RESP arrays nested too deep".into());
    }
    let Some(&kind) = buf.get(pos) else {
        return Ok(None);
    };
    let Some((text, next)) = line(buf, pos + 1)? else {
        return Ok(None);
    };
    let utf8 = |t: &[u8]| String::from_utf8_lossy(t).into_owned();
    Ok(Some(match kind {
        b'+' => (Reply::Simple(utf8(text)), next),
        b'-' => (Reply::Error(utf8(text)), next),
        b':' => (Reply::Int(int(text)?), next),
        b'$' => match length(text, MAX_BULK_BYTES)? {
            None => (Reply::Bulk(None), next),
            Some(n) => {
                if buf.len() < next + n + 2 {
                    return Ok(None);
                }
                if &buf[next + n..next + n + 2] != b"\r\n" {
                    return Err("RESP bulk string not ended by CRLF".into());
                }
                (Reply::Bulk(Some(n)), next + n + 2)
            }
        },
        b'*' => match length(text, MAX_ARRAY_LEN)? {
            None => (Reply::Array(None), next),
            Some(n) => {
                let mut items = Vec::with_capacity(n.min(1024));
                let mut at = next;
                for _ in 0..n {
                    let Some((r, after)) = parse_at(buf, at, depth + 1)? else {
                        return Ok(None);
                    };
                    items.push(r);
                    at = after;
                }
                (Reply::Array(Some(items)), at)
            }
        },
        other => return Err(format!("unexpected RESP type byte 0x{other:02x}")),
    }))
}

/// One reply at the start of `buf` and its length; `Ok(None)`: more bytes are needed.
pub fn parse(buf: &[u8]) -> Result<Option<(Reply, usize)>, String> {
    parse_at(buf, 0, 0)
}

/// Parses `redis://IP:PORT` or `IP:PORT` on the loopback interface.
pub fn target_addr(s: &str) -> Result<SocketAddr, String> {
    let rest = s.strip_prefix("redis://").unwrap_or(s).trim_end_matches('/');
    let rest = if let Some(p) = rest.strip_prefix("localhost:") { format!("127.0.0.1:{p}") } else { rest.to_owned() };
    let addr: SocketAddr = rest.parse().map_err(|_| format!("{s}: expected IP:PORT"))?;
    check_loopback(addr.ip(), s)?;
    Ok(addr)
}

/// The Redis command `op` sends.
pub fn op_name(op: Op) -> &'static str {
    match op {
        Op::Get | Op::Query => "GET",
        Op::BatchGet => "MGET",
        Op::Put => "SET",
    }
}

/// A load worker on one Redis connection.
pub struct RedisWorker {
    stream: TcpStream,
    buf: Vec<u8>,
    data: Arc<Data>,
    op: Op,
}

impl RedisWorker {
    pub async fn open(addr: SocketAddr, data: Arc<Data>, op: Op) -> Result<Self, String> {
        if op == Op::Query {
            return Err("redis mode: --op get, batch-get (MGET) or put (SET)".into());
        }
        let stream = TcpStream::connect(addr).await.map_err(|e| format!("connecting to {addr}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let mut w = RedisWorker { stream, buf: Vec::with_capacity(8192), data, op };
        // Proves the server answers before the run starts.
        match w.call(&command(&[b"PING"])).await? {
            Reply::Simple(s) if s == "PONG" => Ok(w),
            other => Err(format!("PING answered {other:?}")),
        }
    }

    async fn call(&mut self, req: &[u8]) -> Result<Reply, String> {
        self.stream.write_all(req).await.map_err(|e| format!("write: {e}"))?;
        loop {
            if let Some((reply, used)) = parse(&self.buf)? {
                self.buf.drain(..used);
                return Ok(reply);
            }
            if self.buf.capacity() - self.buf.len() < 4096 {
                self.buf.reserve(16384);
            }
            let n = self.stream.read_buf(&mut self.buf).await.map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("the server closed the connection".into());
            }
        }
    }

    fn request(&self, key: u64) -> Vec<u8> {
        match self.op {
            Op::Put => command(&[b"SET", self.data.key(key).as_bytes(), self.data.payload().as_bytes()]),
            Op::BatchGet => {
                let keys: Vec<String> = self.data.batch_keys(key).map(|j| self.data.key(j)).collect();
                let mut args: Vec<&[u8]> = vec![b"MGET"];
                args.extend(keys.iter().map(String::as_bytes));
                command(&args)
            }
            Op::Get | Op::Query => command(&[b"GET", self.data.key(key).as_bytes()]),
        }
    }
}

/// What a reply to `op` came back as.
pub fn outcome(op: Op, reply: &Reply, batch: u64) -> (Outcome, Option<String>) {
    match (op, reply) {
        (_, Reply::Error(e)) => (Outcome::Error, Some(e.clone())),
        (Op::Put, Reply::Simple(s)) if s == "OK" => (Outcome::Ok, None),
        (Op::Get | Op::Query, Reply::Bulk(Some(_))) => (Outcome::Ok, None),
        (Op::Get | Op::Query, Reply::Bulk(None)) => (Outcome::Empty, None),
        (Op::BatchGet, Reply::Array(Some(items))) if items.len() as u64 == batch => {
            if items.iter().all(|r| matches!(r, Reply::Bulk(Some(_)))) {
                (Outcome::Ok, None)
            } else {
                (Outcome::Empty, None)
            }
        }
        (_, other) => (Outcome::Error, Some(format!("unexpected reply {other:?}"))),
    }
}

impl Worker for RedisWorker {
    fn exec(&mut self, key: u64) -> BoxFut<'_, (Outcome, Option<String>)> {
        Box::pin(async move {
            let req = self.request(key);
            match self.call(&req).await {
                Ok(reply) => outcome(self.op, &reply, self.data.batch),
                Err(e) => (Outcome::Error, Some(e)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_arrays_of_bulk_strings() {
        let cases: &[(&[&[u8]], &[u8])] = &[
            (&[b"PING"], b"*1\r\n$4\r\nPING\r\n"),
            (&[b"GET", b"k000000001"], b"*2\r\n$3\r\nGET\r\n$10\r\nk000000001\r\n"),
            (&[b"SET", b"k", b""], b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"),
            (&[b"MGET", b"a", b"bc"], b"*3\r\n$4\r\nMGET\r\n$1\r\na\r\n$2\r\nbc\r\n"),
        ];
        for (args, want) in cases {
            assert_eq!(command(args), *want, "{args:?}");
        }
    }

    #[test]
    fn replies_parse_whole_or_ask_for_more() {
        type Case<'a> = (&'a [u8], Option<(Reply, usize)>);
        let cases: &[Case] = &[
            (b"+OK\r\n", Some((Reply::Simple("OK".into()), 5))),
            (b"+PONG\r\nextra", Some((Reply::Simple("PONG".into()), 7))),
            (b"-ERR wrong\r\n", Some((Reply::Error("ERR wrong".into()), 12))),
            (b":-7\r\n", Some((Reply::Int(-7), 5))),
            (b"$3\r\nabc\r\n", Some((Reply::Bulk(Some(3)), 9))),
            (b"$0\r\n\r\n", Some((Reply::Bulk(Some(0)), 6))),
            (b"$-1\r\n", Some((Reply::Bulk(None), 5))),
            (b"*-1\r\n", Some((Reply::Array(None), 5))),
            (b"*0\r\n", Some((Reply::Array(Some(vec![])), 4))),
            (
                b"*3\r\n$1\r\na\r\n$-1\r\n*1\r\n:1\r\n",
                Some((
                    Reply::Array(Some(vec![
                        Reply::Bulk(Some(1)),
                        Reply::Bulk(None),
                        Reply::Array(Some(vec![Reply::Int(1)])),
                    ])),
                    24,
                )),
            ),
            // Incomplete: more bytes needed.
            (b"", None),
            (b"+OK", None),
            (b"+OK\r", None),
            (b"$3\r\nab", None),
            (b"$3\r\nabc\r", None),
            (b"*2\r\n$1\r\na\r\n", None),
        ];
        for (bytes, want) in cases {
            assert_eq!(parse(bytes).unwrap(), *want, "{:?}", String::from_utf8_lossy(bytes));
        }
    }

    #[test]
    fn malformed_replies_are_errors() {
        let deep = "*1\r\n".repeat(MAX_DEPTH + 2);
        let long = format!("+{}", "x".repeat(MAX_LINE_BYTES + 1));
        let cases: &[&[u8]] = &[
            b"?x\r\n",
            b":abc\r\n",
            b"$-2\r\n",
            b"$3\r\nabcd\r\n",
            b"*-5\r\n",
            b"$99999999999\r\n",
            deep.as_bytes(),
            long.as_bytes(),
        ];
        for bytes in cases {
            assert!(parse(bytes).is_err(), "{:?}", String::from_utf8_lossy(bytes));
        }
    }

    #[test]
    fn outcomes() {
        let bulk = Reply::Bulk(Some(3));
        let cases = [
            (Op::Get, bulk.clone(), 1, Outcome::Ok),
            (Op::Get, Reply::Bulk(None), 1, Outcome::Empty),
            (Op::Put, Reply::Simple("OK".into()), 1, Outcome::Ok),
            (Op::BatchGet, Reply::Array(Some(vec![bulk.clone(), bulk.clone()])), 2, Outcome::Ok),
            (Op::BatchGet, Reply::Array(Some(vec![bulk.clone(), Reply::Bulk(None)])), 2, Outcome::Empty),
            (Op::BatchGet, Reply::Array(Some(vec![bulk.clone()])), 2, Outcome::Error),
            (Op::Get, Reply::Error("ERR".into()), 1, Outcome::Error),
            (Op::Get, Reply::Int(1), 1, Outcome::Error),
        ];
        for (op, reply, batch, want) in cases {
            assert_eq!(outcome(op, &reply, batch).0, want, "{op:?} {reply:?}");
        }
    }
}
