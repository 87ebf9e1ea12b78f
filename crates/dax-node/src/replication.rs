//! Replication between node hosts (docs/node-hosts.md, "Replication"), sans-IO: the
//! messages of a link between the primary's host and a replica's host, their framing, the
//! primary's bounded buffer of cache updates ([`Outbox`]) and the replica's order check
//! ([`Inbox`]). The sockets and TLS are in [`crate::link`].
//!
//! A link is one TLS connection per cluster, opened by the replica's host to the primary's.
//! Each frame is a 4-byte big-endian length (at most [`MAX_FRAME_BYTES`]) and a body whose
//! first byte is the message type. The replica says which cluster and host it is and the
//! next sequence number it needs ([`Msg::Hello`]); the primary answers with where it goes
//! on from ([`Msg::Ack`], or [`Msg::Reset`]) and streams its cache updates
//! from there ([`Msg::Update`], numbered 1, 2, … per cluster without gaps), or, when its
//! buffer no longer holds that number, tells the replica to drop its caches and go on from
//! its next number ([`Msg::Reset`]). The replica acknowledges the highest number it applied
//! ([`Msg::Ack`]), so after a reconnect nothing is applied twice or out of order. The other
//! way go a replica's own cache updates for the primary to order ([`Msg::Publish`]) and the
//! DynamoDB calls of the writes it received ([`Msg::Write`], answered by [`Msg::Answer`]).
//! Attribute lists that cached values refer to travel before them ([`Msg::Lists`]).

use std::collections::VecDeque;
use std::sync::Arc;

/// The largest frame body: a forwarded write's DynamoDB JSON (a DAX frame is at most
/// 20 MiB; its JSON, with binary values in base64, somewhat more) or its answer.
pub const MAX_FRAME_BYTES: usize = 48 << 20;

/// Cache updates the primary keeps for replicas that reconnect, at most.
pub const OUTBOX_RECORDS: usize = 100_000;
/// Bytes of cache updates the primary keeps, at most (keys and values).
pub const OUTBOX_BYTES: usize = 64 << 20;

/// One change to the item caches of every node of a cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheUpdate {
    /// The item's value bytes (`None`: a negative entry, the item does not exist).
    Put { table: String, key: Vec<u8>, value: Option<Arc<[u8]>> },
    /// Drop the entry.
    Invalidate { table: String, key: Vec<u8> },
}

impl CacheUpdate {
    fn weight(&self) -> usize {
        match self {
            CacheUpdate::Put { table, key, value } => table.len() + key.len() + value.as_ref().map_or(0, |v| v.len()),
            CacheUpdate::Invalidate { table, key } => table.len() + key.len(),
        }
    }
}

/// A DynamoDB error carried back to the replica that forwarded a write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorAnswer {
    pub code: String,
    pub message: String,
    pub status: u16,
    /// The error's extra members as JSON (`CancellationReasons`, …), or empty.
    pub extra: String,
}

/// A message of a link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    /// Replica → primary, first: the cluster, the replica's host id (its certificate must
    /// name it) and the next sequence number it needs (0: none yet).
    Hello { cluster_arn: String, host_id: String, next_seq: u64 },
    /// Replica → primary: every update up to `seq` is applied. Primary → replica, in answer
    /// to a hello it resumes without a reset: the stream goes on after `seq`.
    Ack { seq: u64 },
    /// Replica → primary: a cache update a write through the replica made, for the primary
    /// to order and stream to every node.
    Publish(CacheUpdate),
    /// Replica → primary: a write's DynamoDB call (`op`, JSON `input`), `id` its answer's.
    Write { id: u64, op: String, input: String },
    /// Either way: attribute lists (id and names) that cached values refer to.
    Lists(Vec<(u64, Vec<String>)>),
    /// Primary → replica: update number `seq`, sent at `sent_ms` (the primary's clock).
    Update { seq: u64, sent_ms: i64, update: CacheUpdate },
    /// Primary → replica: drop every cache of the cluster; the next update is `next_seq`.
    Reset { next_seq: u64 },
    /// Primary → replica: the answer to [`Msg::Write`] `id`: DynamoDB's JSON or its error.
    Answer { id: u64, result: Result<String, ErrorAnswer> },
}

/// Why a frame was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "replication protocol: {}", self.0)
    }
}

impl std::error::Error for ProtocolError {}

fn bad(what: &str) -> ProtocolError {
    ProtocolError(what.to_owned())
}

const HELLO: u8 = 1;
const ACK: u8 = 2;
const PUBLISH: u8 = 3;
const WRITE: u8 = 4;
const LISTS: u8 = 5;
const UPDATE: u8 = 16;
const RESET: u8 = 17;
const ANSWER: u8 = 18;

/// Most attribute lists in one [`Msg::Lists`], and names in one list.
const MAX_LISTS: usize = 10_000;
const MAX_NAMES: usize = 100_000;

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(&u32::try_from(b.len()).unwrap_or(u32::MAX).to_be_bytes());
        self.0.extend_from_slice(b);
    }
    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    fn update(&mut self, u: &CacheUpdate) {
        match u {
            CacheUpdate::Put { table, key, value: Some(v) } => {
                self.u8(0);
                self.str(table);
                self.bytes(key);
                self.bytes(v);
            }
            CacheUpdate::Put { table, key, value: None } => {
                self.u8(1);
                self.str(table);
                self.bytes(key);
            }
            CacheUpdate::Invalidate { table, key } => {
                self.u8(2);
                self.str(table);
                self.bytes(key);
            }
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtocolError> {
        if self.0.len() < n {
            return Err(bad("truncated message"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, ProtocolError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, ProtocolError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u64(&mut self) -> Result<u64, ProtocolError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(a))
    }
    fn i64(&mut self) -> Result<i64, ProtocolError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(i64::from_be_bytes(a))
    }
    fn bytes(&mut self) -> Result<&'a [u8], ProtocolError> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.take(4)?);
        let n = usize::try_from(u32::from_be_bytes(a)).map_err(|_| bad("length"))?;
        self.take(n)
    }
    fn str(&mut self) -> Result<String, ProtocolError> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| bad("text that is not UTF-8"))
    }
    fn update(&mut self) -> Result<CacheUpdate, ProtocolError> {
        let kind = self.u8()?;
        let table = self.str()?;
        let key = self.bytes()?.to_vec();
        Ok(match kind {
            0 => CacheUpdate::Put { table, key, value: Some(Arc::from(self.bytes()?)) },
            1 => CacheUpdate::Put { table, key, value: None },
            2 => CacheUpdate::Invalidate { table, key },
            _ => return Err(bad("unknown cache update")),
        })
    }
    fn count(&mut self, max: usize) -> Result<usize, ProtocolError> {
        let n = usize::try_from(self.u64()?).map_err(|_| bad("count"))?;
        if n > max {
            return Err(bad("too many elements"));
        }
        Ok(n)
    }
}

/// One message as a frame: its length, then its body.
#[must_use]
pub fn encode(msg: &Msg) -> Vec<u8> {
    let mut w = Writer(vec![0; 4]);
    match msg {
        Msg::Hello { cluster_arn, host_id, next_seq } => {
            w.u8(HELLO);
            w.str(cluster_arn);
            w.str(host_id);
            w.u64(*next_seq);
        }
        Msg::Ack { seq } => {
            w.u8(ACK);
            w.u64(*seq);
        }
        Msg::Publish(u) => {
            w.u8(PUBLISH);
            w.update(u);
        }
        Msg::Write { id, op, input } => {
            w.u8(WRITE);
            w.u64(*id);
            w.str(op);
            w.str(input);
        }
        Msg::Lists(lists) => {
            w.u8(LISTS);
            w.u64(lists.len() as u64);
            for (id, names) in lists {
                w.u64(*id);
                w.u64(names.len() as u64);
                for n in names {
                    w.str(n);
                }
            }
        }
        Msg::Update { seq, sent_ms, update } => {
            w.u8(UPDATE);
            w.u64(*seq);
            w.i64(*sent_ms);
            w.update(update);
        }
        Msg::Reset { next_seq } => {
            w.u8(RESET);
            w.u64(*next_seq);
        }
        Msg::Answer { id, result } => {
            w.u8(ANSWER);
            w.u64(*id);
            match result {
                Ok(json) => {
                    w.u8(0);
                    w.str(json);
                }
                Err(e) => {
                    w.u8(1);
                    w.str(&e.code);
                    w.str(&e.message);
                    w.u16(e.status);
                    w.str(&e.extra);
                }
            }
        }
    }
    let len = u32::try_from(w.0.len() - 4).unwrap_or(u32::MAX);
    w.0[..4].copy_from_slice(&len.to_be_bytes());
    w.0
}

/// The body length a frame's 4-byte head announces.
///
/// # Errors
/// A length over [`MAX_FRAME_BYTES`], or 0.
pub fn decode_length(head: [u8; 4]) -> Result<usize, ProtocolError> {
    let n = usize::try_from(u32::from_be_bytes(head)).map_err(|_| bad("length"))?;
    if n == 0 || n > MAX_FRAME_BYTES {
        return Err(bad("frame length out of bounds"));
    }
    Ok(n)
}

/// One frame's body as a message.
///
/// # Errors
/// An unknown type, a truncated body, bytes left over, text that is not UTF-8.
pub fn decode_message(body: &[u8]) -> Result<Msg, ProtocolError> {
    let mut r = Reader(body);
    let msg = match r.u8()? {
        HELLO => Msg::Hello { cluster_arn: r.str()?, host_id: r.str()?, next_seq: r.u64()? },
        ACK => Msg::Ack { seq: r.u64()? },
        PUBLISH => Msg::Publish(r.update()?),
        WRITE => Msg::Write { id: r.u64()?, op: r.str()?, input: r.str()? },
        LISTS => {
            let n = r.count(MAX_LISTS)?;
            let mut lists = Vec::with_capacity(n.min(64));
            for _ in 0..n {
                let id = r.u64()?;
                let m = r.count(MAX_NAMES)?;
                let mut names = Vec::with_capacity(m.min(64));
                for _ in 0..m {
                    names.push(r.str()?);
                }
                lists.push((id, names));
            }
            Msg::Lists(lists)
        }
        UPDATE => Msg::Update { seq: r.u64()?, sent_ms: r.i64()?, update: r.update()? },
        RESET => Msg::Reset { next_seq: r.u64()? },
        ANSWER => {
            let id = r.u64()?;
            let result = match r.u8()? {
                0 => Ok(r.str()?),
                1 => Err(ErrorAnswer { code: r.str()?, message: r.str()?, status: r.u16()?, extra: r.str()? }),
                _ => return Err(bad("unknown answer")),
            };
            Msg::Answer { id, result }
        }
        _ => return Err(bad("unknown message type")),
    };
    if !r.0.is_empty() {
        return Err(bad("bytes after the message"));
    }
    Ok(msg)
}

/// Where a replica that asks for `next_seq` goes on from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume {
    /// The buffer holds it: stream from it.
    From(u64),
    /// It does not (too far behind, new, or of another primary): the replica drops its
    /// caches and goes on from this number (the oldest the buffer holds).
    Reset(u64),
}

/// The primary's cache updates of one cluster, numbered, the latest kept for replicas that
/// reconnect (at most [`OUTBOX_RECORDS`] and [`OUTBOX_BYTES`]).
#[derive(Debug)]
pub struct Outbox {
    records: VecDeque<(u64, i64, CacheUpdate)>,
    next: u64,
    bytes: usize,
    max_records: usize,
    max_bytes: usize,
}

impl Default for Outbox {
    fn default() -> Self {
        Outbox::with_bounds(OUTBOX_RECORDS, OUTBOX_BYTES)
    }
}

impl Outbox {
    /// A buffer of at most `max_records` updates and `max_bytes` bytes.
    #[must_use]
    pub fn with_bounds(max_records: usize, max_bytes: usize) -> Self {
        Outbox { records: VecDeque::new(), next: 1, bytes: 0, max_records: max_records.max(1), max_bytes }
    }

    /// Number the update, keep it; its number.
    pub fn push(&mut self, sent_ms: i64, update: CacheUpdate) -> u64 {
        let seq = self.next;
        self.next += 1;
        self.bytes += update.weight();
        self.records.push_back((seq, sent_ms, update));
        while self.records.len() > self.max_records || (self.bytes > self.max_bytes && self.records.len() > 1) {
            if let Some((_, _, u)) = self.records.pop_front() {
                self.bytes -= u.weight();
            }
        }
        seq
    }

    /// The number the next update gets.
    #[must_use]
    pub fn next_seq(&self) -> u64 {
        self.next
    }

    /// The oldest number held (the next one when none is).
    #[must_use]
    pub fn first_seq(&self) -> u64 {
        self.records.front().map_or(self.next, |r| r.0)
    }

    /// Where a replica asking for `next_seq` goes on from: from there when the buffer holds
    /// it; else (new, too far behind, or of another primary's stream) it drops its caches
    /// and takes the whole buffer, oldest first, so a replica that connects late still gets
    /// the latest writes.
    #[must_use]
    pub fn resume(&self, next_seq: u64) -> Resume {
        let first = self.first_seq();
        if next_seq >= first && next_seq <= self.next && next_seq > 0 {
            Resume::From(next_seq)
        } else {
            Resume::Reset(first)
        }
    }

    /// Up to `max` updates from number `from` on, as messages; `None` when the buffer no
    /// longer holds `from` (the replica fell behind while being sent to).
    #[must_use]
    pub fn since(&self, from: u64, max: usize) -> Option<Vec<Msg>> {
        let first = self.records.front().map_or(self.next, |r| r.0);
        if from < first {
            return None;
        }
        let skip = usize::try_from(from - first).unwrap_or(usize::MAX);
        Some(
            self.records
                .iter()
                .skip(skip)
                .take(max)
                .map(|(seq, sent_ms, update)| Msg::Update { seq: *seq, sent_ms: *sent_ms, update: update.clone() })
                .collect(),
        )
    }
}

/// What a replica does with an update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The next in order: apply it.
    Apply,
    /// Already applied (a resend): skip it.
    Duplicate,
    /// A number was skipped: the link is broken; reconnect.
    Gap,
}

/// A replica's place in its primary's stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Inbox {
    /// The next number it needs (0: it has had none, nor a reset).
    next: u64,
}

impl Inbox {
    /// What [`Msg::Hello`] asks for.
    #[must_use]
    pub fn next_seq(&self) -> u64 {
        self.next
    }

    /// The highest number applied (what [`Msg::Ack`] says).
    #[must_use]
    pub fn applied(&self) -> u64 {
        self.next.saturating_sub(1)
    }

    /// A [`Msg::Reset`]: the caches are dropped, the stream goes on from `next_seq`.
    pub fn reset(&mut self, next_seq: u64) {
        self.next = next_seq;
    }

    /// Start over (a new primary): the next hello asks for nothing.
    pub fn forget(&mut self) {
        self.next = 0;
    }

    /// Update `seq` arrived.
    pub fn accept(&mut self, seq: u64) -> Verdict {
        if self.next == 0 || seq > self.next {
            Verdict::Gap
        } else if seq < self.next {
            Verdict::Duplicate
        } else {
            self.next += 1;
            Verdict::Apply
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(k: &str, v: &str) -> CacheUpdate {
        CacheUpdate::Put { table: "t".into(), key: k.as_bytes().to_vec(), value: Some(Arc::from(v.as_bytes())) }
    }

    #[test]
    fn every_message_round_trips_and_truncations_are_refused() {
        let msgs = vec![
            Msg::Hello { cluster_arn: "arn:c".into(), host_id: "nh-1".into(), next_seq: 7 },
            Msg::Ack { seq: 9 },
            Msg::Publish(put("k", "v")),
            Msg::Publish(CacheUpdate::Put { table: "t".into(), key: vec![1], value: None }),
            Msg::Publish(CacheUpdate::Invalidate { table: "t".into(), key: vec![] }),
            Msg::Write { id: 3, op: "PutItem".into(), input: "{}".into() },
            Msg::Lists(vec![(5, vec!["a".into(), "b".into()]), (6, vec![])]),
            Msg::Update { seq: 1, sent_ms: -5, update: put("k", "") },
            Msg::Reset { next_seq: 12 },
            Msg::Answer { id: 1, result: Ok("{\"a\":1}".into()) },
            Msg::Answer {
                id: 2,
                result: Err(ErrorAnswer { code: "C".into(), message: "m".into(), status: 400, extra: String::new() }),
            },
        ];
        for m in msgs {
            let frame = encode(&m);
            let len = decode_length([frame[0], frame[1], frame[2], frame[3]]).expect("length");
            assert_eq!(len, frame.len() - 4);
            assert_eq!(decode_message(&frame[4..]).expect("decode"), m);
            for cut in 0..frame.len() - 4 {
                assert!(decode_message(&frame[4..4 + cut]).is_err(), "{m:?} cut at {cut}");
            }
            let mut longer = frame[4..].to_vec();
            longer.push(0);
            assert!(decode_message(&longer).is_err(), "a byte left over");
        }
        assert!(decode_length([0, 0, 0, 0]).is_err());
        assert!(decode_length(u32::try_from(MAX_FRAME_BYTES + 1).unwrap().to_be_bytes()).is_err());
        assert!(decode_message(&[99]).is_err());
        // A count that promises more than the body holds fails without allocating it.
        let mut huge = vec![LISTS];
        huge.extend_from_slice(&(MAX_LISTS as u64).to_be_bytes());
        assert!(decode_message(&huge).is_err());
        let mut huge = vec![LISTS];
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        assert!(decode_message(&huge).is_err());
    }

    #[test]
    fn a_replica_resumes_without_applying_twice_or_out_of_order() {
        let mut out = Outbox::with_bounds(4, usize::MAX);
        let mut inbox = Inbox::default();
        // A new replica: reset to the oldest held (here, what comes next).
        assert_eq!(out.resume(inbox.next_seq()), Resume::Reset(1));
        inbox.reset(1);
        for i in 0..3 {
            out.push(0, put(&format!("k{i}"), "v"));
        }
        let sent = out.since(1, 10).expect("held");
        assert_eq!(sent.len(), 3);
        let seqs: Vec<u64> = sent.iter().map(|m| if let Msg::Update { seq, .. } = m { *seq } else { 0 }).collect();
        assert_eq!(seqs, [1, 2, 3]);
        assert_eq!(inbox.accept(1), Verdict::Apply);
        assert_eq!(inbox.accept(2), Verdict::Apply);
        // The link breaks before 3 arrives; the replica asks for 3 again.
        assert_eq!(out.resume(inbox.next_seq()), Resume::From(3));
        // A resend of 2 is skipped; 3 applies; a skipped number breaks the link.
        assert_eq!(inbox.accept(2), Verdict::Duplicate);
        assert_eq!(inbox.accept(3), Verdict::Apply);
        assert_eq!(inbox.accept(5), Verdict::Gap);
        assert_eq!(inbox.applied(), 3);
        // Caught up exactly: nothing to send, and it resumes from the next.
        assert_eq!(out.resume(4), Resume::From(4));
        assert_eq!(out.since(4, 10).expect("held"), vec![]);
        // Too far behind: the buffer (4 records) lost 1 and 2.
        for i in 3..6 {
            out.push(0, put(&format!("k{i}"), "v"));
        }
        assert_eq!(out.since(2, 10), None);
        assert_eq!(out.resume(2), Resume::Reset(3), "drop the caches, take 3 to 6");
        assert_eq!(out.resume(3), Resume::From(3));
        // A number from another primary's stream (ahead of this one), or a new replica: the
        // same, the whole buffer after a reset.
        assert_eq!(out.resume(100), Resume::Reset(3));
        assert_eq!(out.resume(0), Resume::Reset(3));
        // An inbox that never had a reset refuses updates.
        assert_eq!(Inbox::default().accept(1), Verdict::Gap);
    }

    #[test]
    fn the_outbox_is_bounded_in_bytes() {
        let mut out = Outbox::with_bounds(1000, 10);
        out.push(0, put("k", "0123456789"));
        out.push(0, put("k", "0123456789"));
        assert_eq!(out.since(1, 10), None, "the first went for the second");
        assert_eq!(out.since(2, 10).expect("held").len(), 1);
    }
}
