//! The two things every domain crate takes from outside instead of from
//! the operating system: the time and fresh identifiers.
//!
//! Production wires [`SystemClock`] and [`RandomIds`]; tests wire
//! [`ManualClock`] and [`SeqIds`] so that lifecycles and ids are
//! reproducible. Nothing here does I/O beyond reading the clock and the
//! system's random source.
//!
//! It also holds what several domain crates share without importing each
//! other: listing pages and their tokens ([`page`]) and region names.

pub mod page;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use rand::Rng;
use time::OffsetDateTime;

pub use page::{Page, Paging};

/// A source of the current time.
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;

    /// Seconds since the epoch, with a fraction.
    fn epoch(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let nanos = self.now().unix_timestamp_nanos() as f64;
        nanos / 1e9
    }
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    #[must_use]
    pub fn at(unix_seconds: i64) -> Self {
        ManualClock(AtomicI64::new(unix_seconds.saturating_mul(1_000_000_000)))
    }

    pub fn advance_secs(&self, secs: i64) {
        self.0.fetch_add(secs.saturating_mul(1_000_000_000), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0.load(Ordering::SeqCst)))
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

/// A source of fresh identifiers.
pub trait Ids: Send + Sync {
    /// A random UUID in its hyphenated lower-case form.
    fn uuid(&self) -> String;
    /// `len` characters drawn from `alphabet`.
    fn chars(&self, alphabet: &[u8], len: usize) -> String;
}

/// Upper-case letters and digits 2-7, the alphabet of AWS's unique ids.
pub const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// The alphabet of secret access keys.
pub const SECRET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/// Lower-case hexadecimal.
pub const HEX: &[u8] = b"0123456789abcdef";

/// Ids from the operating system's random source.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomIds;

impl Ids for RandomIds {
    fn uuid(&self) -> String {
        // The thread's CSPRNG (seeded from the OS) rather than a system call
        // per id: every request gets one.
        uuid::Builder::from_random_bytes(rand::rng().random()).into_uuid().to_string()
    }

    fn chars(&self, alphabet: &[u8], len: usize) -> String {
        let mut rng = rand::rng();
        (0..len).map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())])).collect()
    }
}

/// Deterministic ids: a counter spelled in the requested alphabet.
#[derive(Debug, Default)]
pub struct SeqIds(AtomicU64);

impl Ids for SeqIds {
    fn uuid(&self) -> String {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        format!("00000000-0000-4000-8000-{n:012x}")
    }

    fn chars(&self, alphabet: &[u8], len: usize) -> String {
        let mut n = self.0.fetch_add(1, Ordering::SeqCst);
        let base = alphabet.len() as u64;
        let mut out = vec![alphabet[0]; len];
        for slot in out.iter_mut().rev() {
            #[allow(clippy::cast_possible_truncation)]
            let digit = (n % base) as usize;
            *slot = alphabet[digit];
            n /= base;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// The pair every domain service is built with.
#[derive(Clone)]
pub struct Env {
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn Ids>,
}

impl Env {
    #[must_use]
    pub fn system() -> Self {
        Env { clock: Arc::new(SystemClock), ids: Arc::new(RandomIds) }
    }
}

/// Whether `region` looks like an AWS region name (`us-east-1`, `eu-central-2`,
/// `us-gov-west-1`, `ap-southeast-3`, ...).
#[must_use]
pub fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts.len() <= 4
        && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
        && parts[0].len() == 2
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts.last().is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        for ok in ["us-east-1", "eu-central-1", "us-gov-west-1", "ap-southeast-3", "il-central-1"] {
            assert!(is_region(ok), "{ok}");
        }
        for bad in ["", "us", "us-east", "US-EAST-1", "us-east-x", "useast1", "a-b-1", "us--1"] {
            assert!(!is_region(bad), "{bad}");
        }
    }

    #[test]
    fn seq_ids_are_deterministic() {
        let ids = SeqIds::default();
        assert_eq!(ids.chars(HEX, 4), "0000");
        assert_eq!(ids.chars(HEX, 4), "0001");
        assert_eq!(ids.uuid(), "00000000-0000-4000-8000-000000000002");
    }

    #[test]
    fn manual_clock_advances() {
        let c = ManualClock::at(100);
        c.advance_secs(5);
        assert_eq!(c.now().unix_timestamp(), 105);
    }
}
