use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail; the
    // fallback only exists to keep this function free of panics.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return hmac_with_hashed_key(key, data),
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Unreachable in practice (see [`hmac_sha256`]): HMAC with an over-long key
/// is defined as HMAC with the key's hash, which is always a valid length.
fn hmac_with_hashed_key(key: &[u8], data: &[u8]) -> [u8; 32] {
    let hashed: [u8; 32] = Sha256::digest(key).into();
    match HmacSha256::new_from_slice(&hashed) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().into()
        }
        Err(_) => [0; 32],
    }
}

/// Lowercase hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Derives the SigV4 signing key:
/// `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let mut seed = Vec::with_capacity(4 + secret.len());
    seed.extend_from_slice(b"AWS4");
    seed.extend_from_slice(secret.as_bytes());
    let k_date = hmac_sha256(&seed, date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, b"aws4_request")
}

/// Compares two byte strings without data-dependent early exit. Lengths are
/// not secret: slices of different length compare unequal immediately.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    secret_hash: [u8; 32],
    date: String,
    region: String,
    service: String,
}

#[derive(Default)]
struct CacheInner {
    map: HashMap<CacheKey, [u8; 32]>,
    /// Insertion order, for first-in-first-out eviction.
    order: VecDeque<CacheKey>,
}

/// A bounded, thread-safe cache of derived signing keys.
///
/// Signing keys only change with the scope date, so a server verifying many
/// requests from the same principals can skip four HMACs per request. Entries
/// are keyed by (SHA-256 of the secret, date, region, service); the secret
/// itself is never stored. When full, the oldest entry is evicted.
pub struct SigningKeyCache {
    capacity: usize,
    inner: Mutex<CacheInner>,
}

impl SigningKeyCache {
    /// Default number of entries kept by [`SigningKeyCache::default`].
    pub const DEFAULT_CAPACITY: usize = 1024;

    /// Creates a cache holding at most `capacity` keys (`0` disables caching).
    pub fn new(capacity: usize) -> Self {
        Self { capacity, inner: Mutex::new(CacheInner::default()) }
    }

    /// Returns the signing key for the scope, deriving and caching it on a miss.
    pub fn get_or_compute(&self, secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
        if self.capacity == 0 {
            return signing_key(secret, date, region, service);
        }
        let key = CacheKey {
            secret_hash: Sha256::digest(secret.as_bytes()).into(),
            date: date.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
        };
        if let Some(found) = self.lock().map.get(&key) {
            return *found;
        }
        let derived = signing_key(secret, date, region, service);
        let mut inner = self.lock();
        if !inner.map.contains_key(&key) {
            while inner.map.len() >= self.capacity {
                match inner.order.pop_front() {
                    Some(oldest) => {
                        inner.map.remove(&oldest);
                    }
                    None => break,
                }
            }
            inner.order.push_back(key.clone());
            inner.map.insert(key, derived);
        }
        derived
    }

    /// Number of cached keys.
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// `true` if nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Maximum number of cached keys.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Drops every cached key.
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.map.clear();
        inner.order.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner> {
        // The cache holds no invariants a panicking holder could break beyond
        // map/order drift, which eviction tolerates; recover from poisoning.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for SigningKeyCache {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY)
    }
}

impl std::fmt::Debug for SigningKeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyCache").field("capacity", &self.capacity).field("len", &self.len()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_documented_signing_key() {
        // AWS documentation example (IAM, 20150830, us-east-1).
        let key = signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "iam");
        assert_eq!(hex::encode(key), "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
    }

    #[test]
    fn cache_is_bounded_and_consistent() {
        let cache = SigningKeyCache::new(2);
        let a = cache.get_or_compute("s", "20240101", "r", "a");
        assert_eq!(a, signing_key("s", "20240101", "r", "a"));
        cache.get_or_compute("s", "20240101", "r", "b");
        cache.get_or_compute("s", "20240101", "r", "c");
        assert_eq!(cache.len(), 2);
        // Still correct after eviction.
        assert_eq!(cache.get_or_compute("s", "20240101", "r", "a"), a);
        assert_eq!(cache.len(), 2);
        // Different secret, same scope: different key.
        assert_ne!(cache.get_or_compute("t", "20240101", "r", "a"), a);
        cache.clear();
        assert!(cache.is_empty());
        let disabled = SigningKeyCache::new(0);
        assert_eq!(disabled.get_or_compute("s", "20240101", "r", "a"), a);
        assert!(disabled.is_empty());
    }

    #[test]
    fn constant_time_eq_basics() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }
}
