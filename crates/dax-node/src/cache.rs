//! A node's caches: the item cache (GetItem, BatchGetItem, write-through) and the query
//! cache (Query, Scan), kept in one moka cache so that one byte bound and one LRU order
//! cover both, as on a DAX node.
//!
//! * Compact entries. An item is kept as its DAX *value bytes* (the attribute-list id and
//!   the CBOR values of its non-key attributes, exactly what GetItem answers with), in one
//!   exactly-sized `Arc<[u8]>` that the nodes of a cluster share; its key (table name and
//!   canonical key bytes) is one boxed byte string. A hit is answered without re-encoding;
//!   the item is decoded only for projections. A Query/Scan result is the encoded answer.
//! * Entries are weighed by what they cost in memory: their heap blocks as malloc rounds
//!   them, plus a measured fixed overhead per entry (moka's bookkeeping, the entry); the
//!   bound is the node's cache size. Eviction is LRU (`EvictionPolicy::lru()`), and the
//!   bytes evicted for size are counted (`EvictedSize`).
//! * Time to live is measured from an entry's stamp (reads never extend it): for a read's
//!   answer, when the read was sent to DynamoDB; for a write, when DynamoDB took it. The
//!   parameter group's TTLs are set by the fleet's reconcile ([`NodeCache::set_ttls`]), and
//!   every read checks the entry's age against the TTL in force *now*, so a TTL change
//!   applies to everything cached as soon as it is set. An expired
//!   entry is dropped by the read that finds it, or evicted as the least recently used;
//!   until then it holds its bytes (and counts in `EstimatedDbSize`). The cache keeps no
//!   per-entry timer: moka's would cost every read and every entry (measured in
//!   docs/performance.md). `record-ttl-millis = 0` means items never expire by time;
//!   `query-ttl-millis = 0` means results are not cached. Time comes from a [`Clock`]
//!   (the system's, or a manual one in tests).
//! * Negative entries: an item that does not exist is cached as such; an empty result set
//!   is cached like any other.
//! * Every item entry carries the replication sequence number of the read or write that
//!   produced it, and a put never replaces a newer one (the check and the put are one
//!   atomic step per key). Dropping an item leaves a small *tombstone* with its sequence
//!   number, which reads as a miss but keeps out the answer of a read that started before
//!   the drop and finishes after it. An entry evicted for size leaves its sequence number
//!   in a small table of slots (by key hash, the highest wins), which keeps out older
//!   answers the same way: a key's newer entry, evicted while a read of it was under way,
//!   cannot be replaced by that read's older answer: such a put leaves a tombstone instead.
//!   (A collision only means an answer is not cached; entries evicted are the least
//!   recently used, much older than the reads under way, so it seldom happens.) An expired entry needs neither: an answer older
//!   than it is stamped earlier, so it has expired too.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::notification::RemovalCause;
use moka::ops::compute::Op;
use moka::policy::EvictionPolicy;
use moka::sync::Cache;
use moka::Equivalent;

use crate::metrics::{Counter, Meter};

const TAG_ITEM: u8 = 0;
const TAG_QUERY: u8 = 1;
const TAG_SCAN: u8 = 2;

/// What an entry is cached under, in one exactly-sized allocation: a tag byte, then for an
/// item the table name's length (4 bytes, little-endian), the name and the canonical key
/// bytes; for a Query or Scan result, the canonical DynamoDB request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CacheKey(Box<[u8]>);

/// A key's parts, borrowed: how the cache is searched without building a [`CacheKey`],
/// and what a key hashes as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum KeyParts<'a> {
    /// An item: table name and canonical key bytes.
    Item { table: &'a [u8], key: &'a [u8] },
    /// A Query (`scan: false`) or Scan result: the canonical request.
    Result { scan: bool, request: &'a [u8] },
}

impl<'a> KeyParts<'a> {
    pub(crate) fn item(table: &'a str, key: &'a [u8]) -> Self {
        KeyParts::Item { table: table.as_bytes(), key }
    }

    pub(crate) fn result(scan: bool, request: &'a str) -> Self {
        KeyParts::Result { scan, request: request.as_bytes() }
    }

    fn to_key(self) -> CacheKey {
        let mut b = Vec::new();
        match self {
            KeyParts::Item { table, key } => {
                let len = u32::try_from(table.len()).unwrap_or(u32::MAX);
                b.reserve_exact(5 + table.len() + key.len());
                b.push(TAG_ITEM);
                b.extend_from_slice(&len.to_le_bytes());
                b.extend_from_slice(&table[..len as usize]);
                b.extend_from_slice(key);
            }
            KeyParts::Result { scan, request } => {
                b.reserve_exact(1 + request.len());
                b.push(if scan { TAG_SCAN } else { TAG_QUERY });
                b.extend_from_slice(request);
            }
        }
        CacheKey(b.into_boxed_slice())
    }
}

impl CacheKey {
    fn parts(&self) -> KeyParts<'_> {
        let b = &self.0;
        match b.first() {
            Some(&TAG_ITEM) if b.len() >= 5 => {
                let len = u32::from_le_bytes([b[1], b[2], b[3], b[4]]) as usize;
                let (table, key) = b[5..].split_at(len.min(b.len() - 5));
                KeyParts::Item { table, key }
            }
            Some(&tag) => KeyParts::Result { scan: tag == TAG_SCAN, request: &b[1..] },
            None => KeyParts::Result { scan: false, request: &[] },
        }
    }

    fn is_item(&self) -> bool {
        matches!(self.parts(), KeyParts::Item { .. })
    }

    /// Bytes of the key's allocation.
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl Hash for CacheKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.parts().hash(state);
    }
}

impl Equivalent<CacheKey> for KeyParts<'_> {
    fn equivalent(&self, key: &CacheKey) -> bool {
        *self == key.parts()
    }
}

/// What is cached.
#[derive(Debug)]
pub(crate) enum Cached {
    /// An item's value bytes, or `None` for a negative entry (the item does not exist).
    Item(Option<Arc<[u8]>>),
    /// An item entry that was dropped: a miss for reads, but older puts stay out.
    Gone,
    /// An encoded Query/Scan response (without consumed capacity).
    Result(Box<[u8]>),
}

/// One entry, stamped with when it was written and its replication sequence number.
#[derive(Debug)]
pub(crate) struct Entry {
    value: Cached,
    written: Instant,
    seq: u64,
    weight: u32,
}

/// A fresh item entry found in the cache.
#[derive(Clone, Debug)]
pub(crate) struct ItemHit(Arc<Entry>);

impl ItemHit {
    /// The item's value bytes; `None`: the item does not exist (a negative entry).
    pub(crate) fn value_bytes(&self) -> Option<&Arc<[u8]>> {
        match &self.0.value {
            Cached::Item(v) => v.as_ref(),
            _ => None,
        }
    }
}

/// Bytes the allocator takes for a block of `n` bytes: jemalloc's size classes, as daxd
/// allocates with jemalloc (no header; 8 bytes, then multiples of 16 up to 128, then four
/// classes per power of two: 160, 192, 224, 256, 320, …, 1 024, 1 280, 1 536, …). `n = 0`
/// is no block at all.
fn block(n: usize) -> usize {
    match n {
        0 => 0,
        1..=8 => 8,
        9..=128 => n.next_multiple_of(16),
        _ => {
            // Of `n - 1`: the top bit's place and the two bits below it pick the class.
            let w = n - 1;
            let top = (usize::BITS - 1 - w.leading_zeros()) as usize;
            let quarter = (w >> (top - 2)) & 3;
            (4 + quarter + 1) << (top - 2)
        }
    }
}

/// Fixed bytes per entry besides the key's and the value's blocks: moka's bookkeeping
/// (hash-table bucket and its node, entry info, the LRU deque node, the `Arc`ed key it
/// keeps), and our `Arc<Entry>` block. Measured: the process RSS per cached 1 KiB item
/// (`scripts/bench`'s memory figure, see docs/performance.md: 1 659 bytes under jemalloc)
/// less the key's and value's blocks (32 and 1 280 bytes).
pub(crate) const ENTRY_OVERHEAD: usize = 347;

/// What an entry costs in memory, as weighed against the bound.
fn weight_of(key: &CacheKey, value: &Cached) -> u32 {
    let v = match value {
        Cached::Item(Some(b)) => block(16 + b.len()),
        Cached::Item(None) | Cached::Gone => 0,
        Cached::Result(b) => block(b.len()),
    };
    u32::try_from(block(key.len()) + v + ENTRY_OVERHEAD).unwrap_or(u32::MAX)
}

/// Where a node's cache takes the time from: the system's monotonic clock, or (tests) a
/// clock that moves only when told to, so that TTLs expire without waiting.
#[derive(Clone, Debug)]
pub struct Clock(Option<Arc<ManualTime>>);

/// A clock that moves only when told to (tests).
#[derive(Debug)]
pub struct ManualTime {
    start: Instant,
    nanos: AtomicU64,
}

impl Clock {
    /// The system's monotonic clock.
    #[must_use]
    pub fn system() -> Self {
        Clock(None)
    }

    /// A clock that stands still until [`Clock::advance`].
    #[cfg(test)]
    pub(crate) fn manual() -> Self {
        Clock(Some(Arc::new(ManualTime { start: Instant::now(), nanos: AtomicU64::new(0) })))
    }

    /// Move a manual clock forward (a system clock ignores it).
    #[cfg(test)]
    pub(crate) fn advance(&self, d: Duration) {
        if let Some(m) = &self.0 {
            m.nanos.fetch_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
        }
    }

    pub(crate) fn now(&self) -> Instant {
        match &self.0 {
            None => Instant::now(),
            Some(m) => m.start + Duration::from_nanos(m.nanos.load(Ordering::Relaxed)),
        }
    }
}

/// The TTLs in force, shared with the expiry policy.
#[derive(Debug)]
struct Ttls {
    record_ms: AtomicU64,
    query_ms: AtomicU64,
    clock: Clock,
}

impl Ttls {
    /// The TTL for an item entry or a result; `None` = never expires by time.
    fn ttl(&self, item: bool) -> Option<Duration> {
        if item {
            match self.record_ms.load(Ordering::Relaxed) {
                0 => None,
                ms => Some(Duration::from_millis(ms)),
            }
        } else {
            Some(Duration::from_millis(self.query_ms.load(Ordering::Relaxed)))
        }
    }
}

/// Slots of the evicted-entries table (8 bytes each).
pub(crate) const EVICTED_SLOTS: usize = 4096;

/// The highest sequence number of the item entries evicted for size, by key hash.
struct Evicted(Box<[AtomicU64]>);

impl Evicted {
    fn new(slots: usize) -> Self {
        Evicted((0..slots.max(1)).map(|_| AtomicU64::new(0)).collect())
    }

    fn slot(&self, parts: &KeyParts<'_>) -> &AtomicU64 {
        let mut h = DefaultHasher::new();
        parts.hash(&mut h);
        &self.0[(h.finish() % self.0.len() as u64) as usize]
    }
}

/// A node's item and query caches.
pub(crate) struct NodeCache {
    cache: Cache<CacheKey, Arc<Entry>>,
    ttls: Arc<Ttls>,
    evicted: Arc<Evicted>,
    capacity: u64,
}

impl NodeCache {
    /// A cache bounded to `capacity_bytes`; evictions for size are counted on `meter`.
    #[cfg(test)]
    pub(crate) fn new(capacity_bytes: u64, meter: Meter) -> Self {
        Self::with_clock(capacity_bytes, meter, Clock::system(), EVICTED_SLOTS)
    }

    /// The same, with time taken from `clock` and `slots` slots of evicted sequence numbers.
    pub(crate) fn with_clock(capacity_bytes: u64, meter: Meter, clock: Clock, slots: usize) -> Self {
        let ttls = Arc::new(Ttls { record_ms: AtomicU64::new(300_000), query_ms: AtomicU64::new(300_000), clock });
        let evicted = Arc::new(Evicted::new(slots));
        let slots = Arc::clone(&evicted);
        let cache = Cache::builder()
            .max_capacity(capacity_bytes)
            .eviction_policy(EvictionPolicy::lru())
            .weigher(|_k: &CacheKey, v: &Arc<Entry>| v.weight)
            .eviction_listener(move |k: Arc<CacheKey>, v: Arc<Entry>, cause| {
                if cause == RemovalCause::Size {
                    meter.add(Counter::EvictedSize, u64::from(v.weight));
                    if k.is_item() {
                        slots.slot(&k.parts()).fetch_max(v.seq, Ordering::Relaxed);
                    }
                }
            })
            .build();
        NodeCache { cache, ttls, evicted, capacity: capacity_bytes }
    }

    /// Bound in bytes.
    pub(crate) fn capacity(&self) -> u64 {
        self.capacity
    }

    /// The time by this cache's clock (what entries are stamped with).
    pub(crate) fn now(&self) -> Instant {
        self.ttls.clock.now()
    }

    /// Apply the parameter group's TTLs (milliseconds).
    pub(crate) fn set_ttls(&self, record_ms: u64, query_ms: u64) {
        self.ttls.record_ms.store(record_ms, Ordering::Relaxed);
        self.ttls.query_ms.store(query_ms, Ordering::Relaxed);
    }

    /// Whether query results may be cached at all (`query-ttl-millis > 0`).
    pub(crate) fn caches_queries(&self) -> bool {
        self.ttls.query_ms.load(Ordering::Relaxed) > 0
    }

    fn fresh(&self, parts: &KeyParts<'_>) -> Option<Arc<Entry>> {
        let e = self.cache.get(parts)?;
        match self.ttls.ttl(matches!(parts, KeyParts::Item { .. })) {
            Some(ttl) if self.now().saturating_duration_since(e.written) >= ttl => {
                // Only this entry: a newer one put meanwhile stays.
                let _ = self.cache.entry(parts.to_key()).and_compute_with(|cur| match cur {
                    Some(c) if Arc::ptr_eq(c.value(), &e) => Op::Remove,
                    _ => Op::Nop,
                });
                None
            }
            _ => Some(e),
        }
    }

    /// A fresh item entry ([`ItemHit::value_bytes`] `None`: a negative entry).
    pub(crate) fn get_item(&self, table: &str, key: &[u8]) -> Option<ItemHit> {
        let e = self.fresh(&KeyParts::item(table, key))?;
        matches!(e.value, Cached::Item(_)).then_some(ItemHit(e))
    }

    /// Store an item's value bytes (or a negative entry, `None`) unless a newer write or
    /// drop of the item is already cached, or was evicted.
    pub(crate) fn put_item(&self, table: &str, key: &[u8], value: Option<Arc<[u8]>>, seq: u64, written: Instant) {
        self.put_newer(KeyParts::item(table, key), Cached::Item(value), seq, written);
    }

    /// Drop an item entry: it is a miss from now on, and puts older than `seq` stay out.
    pub(crate) fn invalidate_item(&self, table: &str, key: &[u8], seq: u64) {
        self.put_newer(KeyParts::item(table, key), Cached::Gone, seq, self.now());
    }

    fn put_newer(&self, parts: KeyParts<'_>, value: Cached, seq: u64, written: Instant) {
        // Older than an entry evicted under the same slot (this key's, or another's): not
        // cached, but what is cached of the key and older than this put goes.
        let value = if self.evicted.slot(&parts).load(Ordering::Relaxed) > seq { Cached::Gone } else { value };
        let key = parts.to_key();
        let weight = weight_of(&key, &value);
        let entry = Arc::new(Entry { value, written, seq, weight });
        let _ = self.cache.entry(key).and_compute_with(|cur| match cur {
            Some(c) if c.value().seq > seq => Op::Nop,
            _ => Op::Put(entry),
        });
    }

    /// A fresh Query/Scan result: the encoded answer.
    pub(crate) fn get_query(&self, scan: bool, request: &str) -> Option<Vec<u8>> {
        match &self.fresh(&KeyParts::result(scan, request))?.value {
            Cached::Result(b) => Some(b.to_vec()),
            _ => None,
        }
    }

    /// Store a Query/Scan result (nothing when `query-ttl-millis` is 0).
    pub(crate) fn put_query(&self, scan: bool, request: &str, response: &[u8]) {
        if !self.caches_queries() {
            return;
        }
        let k = KeyParts::result(scan, request).to_key();
        let value = Cached::Result(response.into());
        let weight = weight_of(&k, &value);
        self.cache.insert(k, Arc::new(Entry { value, written: self.now(), seq: 0, weight }));
    }

    /// Drop every entry (a replica that missed replication updates).
    pub(crate) fn clear(&self) {
        self.cache.invalidate_all();
    }

    /// Bytes held now (after pending maintenance).
    pub(crate) fn weighted_size(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.weighted_size()
    }

    /// Entries held now.
    pub(crate) fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }
}

#[cfg(test)]
mod tests {
    //! The cache against a model, under random interleavings of reads (whose answers may
    //! arrive late, after newer writes), writes, drops, time passing, TTL changes and
    //! eviction, on a manual clock.
    //!
    //! The model keeps every put of a key (value, sequence number, stamp). What is
    //! checked on every read:
    //! * a hit is a value some put carried, stamped less than the TTL in force ago (never
    //!   older than the TTL allows), and no newer put or drop of the key is itself still
    //!   within the TTL (a read never goes back behind a write the cache took);
    //! * negative entries answer "no item" exactly like values answer the item;
    //! * without eviction (a bound nothing reaches) the cache is exact: a miss happens only
    //!   when the newest put is a drop, or is expired, or there is none;
    //! * after every step the bytes held stay within the bound.
    //!
    //! TTLs and clock steps are whole minutes; TTL changes only shorten it (the node tests
    //! cover a longer one).

    use std::collections::HashMap;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use proptest::prelude::*;

    use super::{block, Clock, NodeCache, ENTRY_OVERHEAD};
    use crate::metrics::Meter;

    const MINUTE: u64 = 60_000;
    const TABLE: &str = "t";

    #[derive(Clone, Debug)]
    enum Step {
        /// A read that misses goes to DynamoDB: stamped now, answered later.
        BeginRead(u8),
        /// The oldest (or the newest) pending read's answer reaches the cache.
        FinishRead {
            newest: bool,
        },
        /// A write through the node (after DynamoDB took it): `None` deletes.
        Write(u8, Option<u16>),
        /// A write around the node (straight to DynamoDB).
        WriteAround(u8, Option<u16>),
        /// A write DynamoDB refused: nothing reaches the cache (the node caches a write
        /// only after DynamoDB took it), and the item must read as before.
        FailedWrite,
        /// The node drops the item (it cannot know the new image).
        Drop(u8),
        Get(u8),
        Advance(u8),
        /// A TTL (0: never expires, else minutes), applied only when not longer.
        SetTtl(u8),
    }

    fn step(keys: u8) -> impl Strategy<Value = Step> {
        let k = move || 0..keys;
        let value = || proptest::option::weighted(0.8, 0u16..600);
        prop_oneof![
            3 => k().prop_map(Step::BeginRead),
            3 => any::<bool>().prop_map(|newest| Step::FinishRead { newest }),
            3 => (k(), value()).prop_map(|(k, v)| Step::Write(k, v)),
            2 => (k(), value()).prop_map(|(k, v)| Step::WriteAround(k, v)),
            1 => Just(Step::FailedWrite),
            1 => k().prop_map(Step::Drop),
            6 => k().prop_map(Step::Get),
            2 => (0u8..4).prop_map(Step::Advance),
            1 => (0u8..6).prop_map(Step::SetTtl),
        ]
    }

    /// One put the cache was offered: `value` `None` is a drop, `Some(None)` "no item".
    #[derive(Clone, Debug)]
    struct Put {
        value: Option<Option<Arc<[u8]>>>,
        seq: u64,
        at: Instant,
    }

    struct Model {
        cache: NodeCache,
        clock: Clock,
        /// What DynamoDB holds (value bytes by key).
        db: HashMap<u8, Arc<[u8]>>,
        puts: HashMap<u8, Vec<Put>>,
        /// Reads sent to DynamoDB, not yet answered: the key, and the put their answer makes.
        pending: Vec<(u8, Put)>,
        seq: u64,
        ttl_ms: u64,
        writes: u32,
        exact: bool,
    }

    impl Model {
        fn fresh(&self, at: Instant) -> bool {
            self.ttl_ms == 0 || self.clock.now().saturating_duration_since(at) < Duration::from_millis(self.ttl_ms)
        }

        fn next_seq(&mut self) -> u64 {
            self.seq += 1;
            self.seq
        }

        /// Unique value bytes (their first bytes count the writes), `len` long at least 4.
        fn value(&mut self, len: u16) -> Arc<[u8]> {
            self.writes += 1;
            let mut v = self.writes.to_le_bytes().to_vec();
            v.resize(4 + usize::from(len), 0xab);
            v.into()
        }

        fn offer(&mut self, k: u8, value: Option<Option<Arc<[u8]>>>, seq: u64, at: Instant) {
            match &value {
                Some(v) => self.cache.put_item(TABLE, &[k], v.clone(), seq, at),
                None => self.cache.invalidate_item(TABLE, &[k], seq),
            }
            self.puts.entry(k).or_default().push(Put { value, seq, at });
        }

        fn run(&mut self, s: Step) -> Result<(), TestCaseError> {
            match s {
                Step::BeginRead(k) => {
                    let (seq, at) = (self.next_seq(), self.clock.now());
                    self.pending.push((k, Put { value: Some(self.db.get(&k).cloned()), seq, at }));
                }
                Step::FinishRead { newest } => {
                    if !self.pending.is_empty() {
                        let (k, p) = if newest { self.pending.pop().unwrap() } else { self.pending.remove(0) };
                        self.offer(k, p.value, p.seq, p.at);
                    }
                }
                Step::Write(k, v) => {
                    let v = v.map(|len| self.value(len));
                    match &v {
                        Some(b) => self.db.insert(k, Arc::clone(b)),
                        None => self.db.remove(&k),
                    };
                    let (seq, at) = (self.next_seq(), self.clock.now());
                    self.offer(k, Some(v), seq, at);
                }
                Step::WriteAround(k, v) => {
                    match v.map(|len| self.value(len)) {
                        Some(b) => self.db.insert(k, b),
                        None => self.db.remove(&k),
                    };
                }
                Step::FailedWrite => {}
                Step::Drop(k) => {
                    let (seq, at) = (self.next_seq(), self.clock.now());
                    self.offer(k, None, seq, at);
                }
                Step::Get(k) => self.check_get(k)?,
                Step::Advance(m) => self.clock.advance(Duration::from_millis(u64::from(m) * MINUTE)),
                Step::SetTtl(m) => {
                    let ms = u64::from(m) * MINUTE;
                    if self.ttl_ms == 0 || (ms != 0 && ms <= self.ttl_ms) {
                        self.ttl_ms = ms;
                        self.cache.set_ttls(ms, MINUTE);
                    }
                }
            }
            let held = self.cache.weighted_size();
            prop_assert!(held <= self.cache.capacity(), "{held} bytes held, bound {}", self.cache.capacity());
            Ok(())
        }

        fn check_get(&self, k: u8) -> Result<(), TestCaseError> {
            let got = self.cache.get_item(TABLE, &[k]).map(|h| h.value_bytes().cloned());
            let puts = self.puts.get(&k).map(Vec::as_slice).unwrap_or_default();
            let newest = puts.iter().max_by_key(|p| p.seq);
            match &got {
                Some(v) => {
                    // The put it came from: within the TTL, and nothing newer within it.
                    let from =
                        puts.iter().filter(|p| p.value.as_ref() == Some(v) && self.fresh(p.at)).max_by_key(|p| p.seq);
                    let Some(from) = from else {
                        return Err(TestCaseError::fail(format!("key {k}: {v:?} is no put within the TTL ({puts:?})")));
                    };
                    let newer = puts.iter().find(|p| p.seq > from.seq && self.fresh(p.at));
                    prop_assert!(newer.is_none(), "key {k}: answered seq {} though seq {:?} is newer", from.seq, newer);
                }
                None if self.exact => {
                    if let Some(p) = newest.filter(|p| p.value.is_some() && self.fresh(p.at)) {
                        return Err(TestCaseError::fail(format!("key {k}: a miss, but {p:?} is fresh")));
                    }
                }
                None => {}
            }
            Ok(())
        }
    }

    fn run_case(
        capacity: u64,
        slots: usize,
        exact: bool,
        initial_ttl: u8,
        steps: Vec<Step>,
    ) -> Result<(), TestCaseError> {
        let clock = Clock::manual();
        let meter = Meter { node: Arc::default(), cluster: Arc::default() };
        let cache = NodeCache::with_clock(capacity, meter, clock.clone(), slots);
        let ttl_ms = u64::from(initial_ttl) * MINUTE;
        cache.set_ttls(ttl_ms, MINUTE);
        let mut m = Model {
            cache,
            clock,
            db: HashMap::new(),
            puts: HashMap::new(),
            pending: Vec::new(),
            seq: 0,
            ttl_ms,
            writes: 0,
            exact,
        };
        for s in steps {
            m.run(s)?;
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

        /// Room for everything: the cache must answer exactly what the model says.
        #[test]
        fn without_eviction_the_cache_is_exact(ttl in 0u8..5, steps in proptest::collection::vec(step(6), 1..80)) {
            run_case(64 << 20, super::EVICTED_SLOTS, true, ttl, steps)?;
        }

        /// Room for a handful of entries: misses are allowed, stale answers and an
        /// overgrown cache are not. With one slot of evicted sequence numbers (every key
        /// collides) or a few.
        #[test]
        fn under_eviction_nothing_stale_and_the_bound_holds(
            ttl in 0u8..5,
            slots in prop_oneof![Just(1usize), Just(3), Just(super::EVICTED_SLOTS)],
            steps in proptest::collection::vec(step(8), 1..120),
        ) {
            run_case(3 * (ENTRY_OVERHEAD as u64 + 700), slots, false, ttl, steps)?;
        }
    }

    #[test]
    fn a_put_kept_out_by_the_evicted_table_still_drops_what_is_older() {
        let meter = Meter { node: Arc::default(), cluster: Arc::default() };
        let cache = NodeCache::with_clock(1 << 20, meter, Clock::manual(), 1);
        let (x, y): (Arc<[u8]>, Arc<[u8]>) = (vec![1u8].into(), vec![2u8].into());
        cache.put_item(TABLE, b"a", Some(x), 3, cache.now());
        // Another key's entry, evicted with sequence number 6, shares the (only) slot.
        cache.evicted.slot(&super::KeyParts::item(TABLE, b"b")).fetch_max(6, std::sync::atomic::Ordering::Relaxed);
        cache.put_item(TABLE, b"a", Some(Arc::clone(&y)), 5, cache.now());
        assert!(cache.get_item(TABLE, b"a").is_none(), "neither the older entry nor the put kept out");
        cache.put_item(TABLE, b"a", Some(Arc::clone(&y)), 7, cache.now());
        assert_eq!(cache.get_item(TABLE, b"a").and_then(|h| h.value_bytes().cloned()), Some(y));
    }

    #[test]
    fn weights_are_allocator_blocks_plus_the_overhead() {
        let sizes =
            [0, 1, 8, 9, 17, 24, 25, 128, 129, 160, 161, 1024, 1025, 1031, 1280, 1281, 2048, 2049, 16_385, 100_000];
        let blocks =
            [0, 8, 8, 16, 32, 32, 32, 128, 160, 160, 192, 1024, 1280, 1280, 1280, 1536, 2048, 2560, 20_480, 114_688];
        assert_eq!(sizes.map(block), blocks);
        let meter = Meter { node: Arc::default(), cluster: Arc::default() };
        let cache = NodeCache::new(1 << 20, meter);
        let value: Arc<[u8]> = vec![0u8; 1015].into();
        cache.put_item("bench", b"key-bytes", Some(value), 1, cache.now());
        // Key: tag, length, "bench", 9 key bytes = 19 → 32; value: 16 + 1015 → 1280.
        assert_eq!(cache.weighted_size(), (32 + 1280 + ENTRY_OVERHEAD) as u64);
    }

    #[test]
    fn a_ttl_change_applies_to_what_is_cached_and_an_expired_entry_goes_when_read() {
        let clock = Clock::manual();
        let meter = Meter { node: Arc::default(), cluster: Arc::default() };
        let cache = NodeCache::with_clock(1 << 20, meter, clock.clone(), super::EVICTED_SLOTS);
        cache.set_ttls(100, 100);
        cache.put_item("t", b"a", Some(vec![1u8].into()), 1, cache.now());
        clock.advance(Duration::from_millis(150));
        // Expired by the TTL it was written under, fresh again by a longer one set later.
        cache.set_ttls(60_000, 60_000);
        assert!(cache.get_item("t", b"a").is_some());
        // Expired by a shorter one: a miss, and the read drops the entry.
        cache.set_ttls(100, 100);
        cache.cache.run_pending_tasks();
        assert_eq!(cache.entry_count(), 1);
        assert!(cache.get_item("t", b"a").is_none());
        cache.cache.run_pending_tasks();
        assert_eq!((cache.entry_count(), cache.weighted_size()), (0, 0));
    }
}
