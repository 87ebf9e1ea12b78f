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
//! * Time to live is measured from when an entry was written (reads never extend it), with
//!   the parameter group's current TTLs: every read checks the entry's age against the TTL
//!   in force *now*, so a shorter TTL applies at once to everything cached, and moka's
//!   per-entry expiry (set from the TTL when the entry is written, recomputed on each
//!   access) frees expired entries. A longer TTL applies to entries written after the
//!   change; those cached before it may still expire by the old one, which only makes
//!   reads fresher. `record-ttl-millis = 0` means items never expire by time;
//!   `query-ttl-millis = 0` means results are not cached. Time comes from a [`Clock`]
//!   (the system's, or a manual one in tests).
//! * Negative entries: an item that does not exist is cached as such; an empty result set
//!   is cached like any other.
//! * Every item entry carries the replication sequence number of the read or write that
//!   produced it, and a put never replaces a newer one (the check and the put are one
//!   atomic step per key). Dropping an item leaves a small *tombstone* with its sequence
//!   number, which reads as a miss but keeps out the answer of a read that started before
//!   the drop and finishes after it.

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::notification::RemovalCause;
use moka::ops::compute::Op;
use moka::policy::{EvictionPolicy, Expiry};
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

/// Bytes malloc takes for a block of `n` bytes (glibc on 64 bits: an 8-byte header,
/// 16-byte granularity, 32 bytes at least). `n = 0` is no block at all.
fn block(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        ((n + 8 + 15) & !15).max(32)
    }
}

/// Fixed bytes per entry besides the key's and the value's blocks: moka's bookkeeping
/// (hash-table bucket and its node, entry info, the LRU deque node, the timer-wheel node
/// of the per-entry expiry, the `Arc`ed key it keeps), and our `Arc<Entry>` block.
/// Measured: the process RSS per cached 1 KiB item (`scripts/bench`'s memory figure,
/// see docs/performance.md) less the key's and value's blocks.
pub(crate) const ENTRY_OVERHEAD: usize = 400;

/// What an entry costs in memory, as weighed against the bound.
fn weight_of(key: &CacheKey, value: &Cached) -> u32 {
    let v = match value {
        Cached::Item(Some(b)) => block(16 + b.len()),
        Cached::Item(None) | Cached::Gone => 0,
        Cached::Result(b) => block(b.len()),
    };
    u32::try_from(block(key.len()) + v + ENTRY_OVERHEAD).unwrap_or(u32::MAX)
}

/// Where a cache takes the time from.
#[derive(Clone, Debug)]
pub(crate) struct Clock(Option<Arc<ManualTime>>);

/// A clock that moves only when told to (tests).
#[derive(Debug)]
pub(crate) struct ManualTime {
    start: Instant,
    nanos: AtomicU64,
}

impl Clock {
    /// The system's monotonic clock.
    pub(crate) fn system() -> Self {
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

    /// Time left to an entry now, by the cache's clock.
    fn remaining(&self, key: &CacheKey, entry: &Entry) -> Option<Duration> {
        let now = self.clock.now();
        self.ttl(key.is_item()).map(|ttl| (entry.written + ttl).saturating_duration_since(now))
    }
}

struct TtlExpiry(Arc<Ttls>);

impl Expiry<CacheKey, Arc<Entry>> for TtlExpiry {
    fn expire_after_create(&self, key: &CacheKey, value: &Arc<Entry>, _created_at: Instant) -> Option<Duration> {
        self.0.remaining(key, value)
    }

    fn expire_after_read(
        &self,
        key: &CacheKey,
        value: &Arc<Entry>,
        _read_at: Instant,
        _until: Option<Duration>,
        _modified: Instant,
    ) -> Option<Duration> {
        self.0.remaining(key, value)
    }

    fn expire_after_update(
        &self,
        key: &CacheKey,
        value: &Arc<Entry>,
        _updated_at: Instant,
        _until: Option<Duration>,
    ) -> Option<Duration> {
        self.0.remaining(key, value)
    }
}

/// A node's item and query caches.
pub(crate) struct NodeCache {
    cache: Cache<CacheKey, Arc<Entry>>,
    ttls: Arc<Ttls>,
    capacity: u64,
}

impl NodeCache {
    /// A cache bounded to `capacity_bytes`; evictions for size are counted on `meter`.
    pub(crate) fn new(capacity_bytes: u64, meter: Meter) -> Self {
        Self::with_clock(capacity_bytes, meter, Clock::system())
    }

    /// The same, with time taken from `clock`.
    pub(crate) fn with_clock(capacity_bytes: u64, meter: Meter, clock: Clock) -> Self {
        let ttls =
            Arc::new(Ttls { record_ms: AtomicU64::new(300_000), query_ms: AtomicU64::new(300_000), clock });
        let cache = Cache::builder()
            .max_capacity(capacity_bytes)
            .eviction_policy(EvictionPolicy::lru())
            .weigher(|_k: &CacheKey, v: &Arc<Entry>| v.weight)
            .expire_after(TtlExpiry(Arc::clone(&ttls)))
            .eviction_listener(move |_k, v: Arc<Entry>, cause| {
                if cause == RemovalCause::Size {
                    meter.add(Counter::EvictedSize, u64::from(v.weight));
                }
            })
            .build();
        NodeCache { cache, ttls, capacity: capacity_bytes }
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
    /// drop of the item is already cached.
    pub(crate) fn put_item(&self, table: &str, key: &[u8], value: Option<Arc<[u8]>>, seq: u64, written: Instant) {
        self.put_newer(KeyParts::item(table, key).to_key(), Cached::Item(value), seq, written);
    }

    /// Drop an item entry: it is a miss from now on, and puts older than `seq` stay out.
    pub(crate) fn invalidate_item(&self, table: &str, key: &[u8], seq: u64) {
        self.put_newer(KeyParts::item(table, key).to_key(), Cached::Gone, seq, self.now());
    }

    fn put_newer(&self, key: CacheKey, value: Cached, seq: u64, written: Instant) {
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
