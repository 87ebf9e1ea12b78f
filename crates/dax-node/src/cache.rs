//! A node's caches: the item cache (GetItem, BatchGetItem, write-through) and the query
//! cache (Query, Scan), kept in one moka cache so that one byte bound and one LRU order
//! cover both, as on a DAX node.
//!
//! * Entries are weighed by an estimate of their size in bytes; the bound is the node's
//!   cache size. Eviction is LRU (`EvictionPolicy::lru()`), and the bytes evicted for size
//!   are counted (`EvictedSize`).
//! * Time to live is measured from when an entry was written (reads never extend it), with
//!   the parameter group's current TTLs: every read checks the entry's age against the TTL
//!   in force *now*, so a shorter TTL applies at once to everything cached, and moka's
//!   per-entry expiry (set from the TTL when the entry is written, recomputed on each
//!   access) frees expired entries. A longer TTL applies to entries written after the
//!   change; those cached before it may still expire by the old one, which only makes
//!   reads fresher. `record-ttl-millis = 0` means items never expire by time;
//!   `query-ttl-millis = 0` means results are not cached.
//! * Negative entries: an item that does not exist is cached as `None`; an empty result
//!   set is cached like any other.

use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dax_wire::{AttributeValue, Item};
use moka::policy::{EvictionPolicy, Expiry};
use moka::notification::RemovalCause;
use moka::sync::Cache;

use crate::metrics::{Counter, Meter};

/// What an entry is cached under.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum CacheKey {
    /// An item: table name and the canonical key bytes.
    Item { table: String, key: Vec<u8> },
    /// A Query or Scan result: the canonical DynamoDB request (every parameter that
    /// affects the result).
    Query { scan: bool, request: String },
}

/// What is cached.
#[derive(Debug)]
pub(crate) enum Cached {
    /// The item, or `None` for a negative entry.
    Item(Option<Arc<Item>>),
    /// The encoded response (without consumed capacity).
    Query(Arc<Vec<u8>>),
}

/// One entry, stamped with when it was written and its replication sequence number.
#[derive(Debug)]
pub(crate) struct Entry {
    pub value: Cached,
    pub written: Instant,
    pub seq: u64,
    pub weight: u32,
}

/// Fixed per-entry overhead added to the estimate (moka's node, the key, the `Arc`s).
const ENTRY_OVERHEAD: usize = 96;

/// The size DynamoDB would count for a value, plus a little for the representation.
pub(crate) fn value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len() + 8,
        AttributeValue::N(_) => 24,
        AttributeValue::B(b) => b.len() + 8,
        AttributeValue::Bool(_) | AttributeValue::Null => 2,
        AttributeValue::L(l) => 8 + l.iter().map(value_size).sum::<usize>(),
        AttributeValue::M(m) => 8 + m.iter().map(|(k, v)| k.len() + value_size(v)).sum::<usize>(),
        AttributeValue::Ss(s) => 8 + s.iter().map(|x| x.len() + 4).sum::<usize>(),
        AttributeValue::Ns(s) => 8 + s.len() * 24,
        AttributeValue::Bs(s) => 8 + s.iter().map(|x| x.len() + 4).sum::<usize>(),
    }
}

/// Estimated bytes of an item.
pub(crate) fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn weight_of(key: &CacheKey, value: &Cached) -> u32 {
    let k = match key {
        CacheKey::Item { table, key } => table.len() + key.len(),
        CacheKey::Query { request, .. } => request.len(),
    };
    let v = match value {
        Cached::Item(Some(i)) => item_size(i),
        Cached::Item(None) => 0,
        Cached::Query(b) => b.len(),
    };
    u32::try_from(k + v + ENTRY_OVERHEAD).unwrap_or(u32::MAX)
}

/// The TTLs in force, shared with the expiry policy.
#[derive(Debug, Default)]
struct Ttls {
    record_ms: AtomicU64,
    query_ms: AtomicU64,
}

impl Ttls {
    /// The TTL for an entry; `None` = never expires by time.
    fn ttl(&self, key: &CacheKey) -> Option<Duration> {
        match key {
            CacheKey::Item { .. } => match self.record_ms.load(Ordering::Relaxed) {
                0 => None,
                ms => Some(Duration::from_millis(ms)),
            },
            CacheKey::Query { .. } => Some(Duration::from_millis(self.query_ms.load(Ordering::Relaxed))),
        }
    }

    fn remaining(&self, key: &CacheKey, entry: &Entry, now: Instant) -> Option<Duration> {
        self.ttl(key).map(|ttl| (entry.written + ttl).saturating_duration_since(now))
    }
}

struct TtlExpiry(Arc<Ttls>);

impl Expiry<CacheKey, Arc<Entry>> for TtlExpiry {
    fn expire_after_create(&self, key: &CacheKey, value: &Arc<Entry>, created_at: Instant) -> Option<Duration> {
        self.0.remaining(key, value, created_at)
    }

    fn expire_after_read(
        &self,
        key: &CacheKey,
        value: &Arc<Entry>,
        read_at: Instant,
        _until: Option<Duration>,
        _modified: Instant,
    ) -> Option<Duration> {
        self.0.remaining(key, value, read_at)
    }

    fn expire_after_update(
        &self,
        key: &CacheKey,
        value: &Arc<Entry>,
        updated_at: Instant,
        _until: Option<Duration>,
    ) -> Option<Duration> {
        self.0.remaining(key, value, updated_at)
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
        let ttls = Arc::new(Ttls { record_ms: AtomicU64::new(300_000), query_ms: AtomicU64::new(300_000) });
        let cache = Cache::builder()
            .max_capacity(capacity_bytes)
            .eviction_policy(EvictionPolicy::lru())
            .weigher(|k: &CacheKey, v: &Arc<Entry>| {
                let _ = k;
                v.weight
            })
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

    /// Apply the parameter group's TTLs (milliseconds).
    pub(crate) fn set_ttls(&self, record_ms: u64, query_ms: u64) {
        self.ttls.record_ms.store(record_ms, Ordering::Relaxed);
        self.ttls.query_ms.store(query_ms, Ordering::Relaxed);
    }

    /// Whether query results may be cached at all (`query-ttl-millis > 0`).
    pub(crate) fn caches_queries(&self) -> bool {
        self.ttls.query_ms.load(Ordering::Relaxed) > 0
    }

    fn fresh(&self, key: &CacheKey) -> Option<Arc<Entry>> {
        let e = self.cache.get(key)?;
        match self.ttls.ttl(key) {
            Some(ttl) if e.written.elapsed() >= ttl => {
                self.cache.invalidate(key);
                None
            }
            _ => Some(e),
        }
    }

    /// A fresh item entry: `Some(None)` is a negative entry.
    pub(crate) fn get_item(&self, table: &str, key: &[u8]) -> Option<Option<Arc<Item>>> {
        let k = CacheKey::Item { table: table.to_owned(), key: key.to_vec() };
        match &self.fresh(&k)?.value {
            Cached::Item(i) => Some(i.clone()),
            Cached::Query(_) => None,
        }
    }

    /// Store an item (or a negative entry) unless a newer write is already cached.
    pub(crate) fn put_item(&self, table: &str, key: Vec<u8>, item: Option<Arc<Item>>, seq: u64, written: Instant) {
        let k = CacheKey::Item { table: table.to_owned(), key };
        if self.cache.get(&k).is_some_and(|e| e.seq > seq) {
            return;
        }
        let value = Cached::Item(item);
        let weight = weight_of(&k, &value);
        self.cache.insert(k, Arc::new(Entry { value, written, seq, weight }));
    }

    /// Drop an item entry.
    pub(crate) fn invalidate_item(&self, table: &str, key: &[u8]) {
        self.cache.invalidate(&CacheKey::Item { table: table.to_owned(), key: key.to_vec() });
    }

    /// A fresh Query/Scan result.
    pub(crate) fn get_query(&self, scan: bool, request: &str) -> Option<Arc<Vec<u8>>> {
        let k = CacheKey::Query { scan, request: request.to_owned() };
        match &self.fresh(&k)?.value {
            Cached::Query(b) => Some(Arc::clone(b)),
            Cached::Item(_) => None,
        }
    }

    /// Store a Query/Scan result (nothing when `query-ttl-millis` is 0).
    pub(crate) fn put_query(&self, scan: bool, request: String, response: Arc<Vec<u8>>) {
        if !self.caches_queries() {
            return;
        }
        let k = CacheKey::Query { scan, request };
        let value = Cached::Query(response);
        let weight = weight_of(&k, &value);
        self.cache.insert(k, Arc::new(Entry { value, written: Instant::now(), seq: 0, weight }));
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
