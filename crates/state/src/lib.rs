//! daxd's durable state.
//!
//! One SQLite database (WAL journal, `synchronous=FULL`) holds every
//! record of the control plane as `(namespace, key) -> bytes`. A batch of
//! changes is one transaction, and [`Store::apply`] returns only after the
//! transaction is on disk, so a response sent after it survives `kill -9`.
//!
//! The schema carries a version in `PRAGMA user_version`; [`MIGRATIONS`]
//! brings an older file forward when it is opened.
//!
//! It is not a query engine: domain crates keep their working set in
//! memory and use this store to persist and to reload it. Records are JSON:
//! [`Op::put_json`], [`Store::get_json`] and [`Store::scan_json`] encode and
//! decode them and fail instead of storing or returning something else.
//!
//! Tests can make a chosen [`Store::apply`] fail without writing
//! ([`Store::fail_apply_after`]), to show that a failed write leaves a
//! domain crate as it was.

use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Schema migrations, in order. Entry `i` takes a file from version `i` to
/// version `i + 1`.
pub const MIGRATIONS: &[&str] = &["CREATE TABLE IF NOT EXISTS kv (
        ns TEXT NOT NULL,
        key TEXT NOT NULL,
        value BLOB NOT NULL,
        PRIMARY KEY (ns, key)
    ) WITHOUT ROWID;"];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("state database file: {0}")]
    Io(#[from] std::io::Error),
    #[error("state database is version {found}, newer than this daxd (version {supported})")]
    TooNew { found: i64, supported: i64 },
    /// A value could not be serialized; nothing was stored.
    #[error("cannot encode record {ns}/{key}: {source}")]
    Encode { ns: String, key: String, source: serde_json::Error },
    /// A stored record does not decode as the type asked for.
    #[error("corrupt record {ns}/{key}: {source}")]
    Corrupt { ns: String, key: String, source: serde_json::Error },
    /// A write refused on purpose ([`Store::fail_apply_after`]).
    #[error("state database: injected write failure")]
    Injected,
}

/// One change in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Put { ns: String, key: String, value: Vec<u8> },
    Delete { ns: String, key: String },
}

impl Op {
    pub fn put(ns: &str, key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        Op::Put { ns: ns.to_owned(), key: key.into(), value: value.into() }
    }

    pub fn delete(ns: &str, key: impl Into<String>) -> Self {
        Op::Delete { ns: ns.to_owned(), key: key.into() }
    }

    /// A put of `value` as JSON.
    ///
    /// # Errors
    /// [`StoreError::Encode`] when `value` cannot be serialized, so that a
    /// batch is never applied with a record it could not spell.
    pub fn put_json<T: Serialize + ?Sized>(ns: &str, key: impl Into<String>, value: &T) -> Result<Self, StoreError> {
        let key = key.into();
        match serde_json::to_vec(value) {
            Ok(bytes) => Ok(Op::Put { ns: ns.to_owned(), key, value: bytes }),
            Err(source) => Err(StoreError::Encode { ns: ns.to_owned(), key, source }),
        }
    }
}

fn decode<T: DeserializeOwned>(ns: &str, key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt {
        ns: ns.to_owned(),
        key: key.to_owned(),
        source,
    })
}

/// The durable key-value store.
pub struct Store {
    conn: Mutex<Connection>,
    /// How many more non-empty batches succeed before one is refused;
    /// negative when no failure is planned.
    fail_after: AtomicI64,
    /// Non-empty batches applied since the store was opened.
    applied: AtomicU64,
}

impl Store {
    /// Open (or create) the database at `path` and migrate it.
    ///
    /// # Errors
    /// When the file cannot be opened, is corrupt, or is newer than this build.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        // The file holds secrets: create it owner-only. SQLite gives its
        // `-wal` and `-shm` files the database file's permissions.
        if !path.exists() {
            std::fs::OpenOptions::new().write(true).create(true).truncate(false).mode(0o600).open(path)?;
        }
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Self::init(conn)
    }

    /// A store that lives in memory only (tests).
    ///
    /// # Errors
    /// Never in practice; SQLite errors are passed through.
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Self, StoreError> {
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let supported = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
        if version > supported {
            return Err(StoreError::TooNew { found: version, supported });
        }
        let tx = conn.transaction()?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(usize::try_from(version).unwrap_or(0)) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i + 1)?;
        }
        tx.commit()?;
        Ok(Store { conn: Mutex::new(conn), fail_after: AtomicI64::new(-1), applied: AtomicU64::new(0) })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The schema version of the open file.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn version(&self) -> Result<i64, StoreError> {
        Ok(self.conn().pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// Apply a batch atomically; returns once it is durable.
    ///
    /// # Errors
    /// SQLite errors; nothing of the batch is applied then.
    pub fn apply(&self, ops: &[Op]) -> Result<(), StoreError> {
        if ops.is_empty() {
            return Ok(());
        }
        let planned = self.fail_after.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| (n >= 0).then(|| n - 1));
        if planned == Ok(0) {
            return Err(StoreError::Injected);
        }
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        {
            let mut put = tx.prepare_cached("INSERT OR REPLACE INTO kv (ns, key, value) VALUES (?1, ?2, ?3)")?;
            let mut del = tx.prepare_cached("DELETE FROM kv WHERE ns = ?1 AND key = ?2")?;
            for op in ops {
                match op {
                    Op::Put { ns, key, value } => put.execute(params![ns, key, value])?,
                    Op::Delete { ns, key } => del.execute(params![ns, key])?,
                };
            }
        }
        tx.commit()?;
        self.applied.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// Make a write fail, for tests of what a failed write leaves behind:
    /// the next `n` non-empty batches apply, the one after them returns
    /// [`StoreError::Injected`] and writes nothing, and later ones apply again.
    pub fn fail_apply_after(&self, n: u32) {
        self.fail_after.store(i64::from(n), Ordering::SeqCst);
    }

    /// [`Store::fail_apply_after`]`(0)`: the next non-empty batch fails.
    pub fn fail_next_apply(&self) {
        self.fail_apply_after(0);
    }

    /// How many non-empty batches this handle has applied.
    #[must_use]
    pub fn applied_batches(&self) -> u64 {
        self.applied.load(Ordering::SeqCst)
    }

    /// One record.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn get(&self, ns: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .conn()
            .prepare_cached("SELECT value FROM kv WHERE ns = ?1 AND key = ?2")?
            .query_row(params![ns, key], |r| r.get(0))
            .optional()?)
    }

    /// Every record of a namespace, in key order.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn scan(&self, ns: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT key, value FROM kv WHERE ns = ?1 ORDER BY key")?;
        let rows = stmt.query_map(params![ns], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One record, decoded from JSON.
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Corrupt`] when it does not decode as `T`.
    pub fn get_json<T: DeserializeOwned>(&self, ns: &str, key: &str) -> Result<Option<T>, StoreError> {
        self.get(ns, key)?.map(|bytes| decode(ns, key, &bytes)).transpose()
    }

    /// Every record of a namespace, in key order, decoded from JSON.
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Corrupt`] for the first record that does
    /// not decode as `T`.
    pub fn scan_json<T: DeserializeOwned>(&self, ns: &str) -> Result<Vec<(String, T)>, StoreError> {
        self.scan(ns)?
            .into_iter()
            .map(|(key, bytes)| {
                let value = decode(ns, &key, &bytes)?;
                Ok((key, value))
            })
            .collect()
    }

    /// Every record of every namespace, in `(ns, key)` order: what tests
    /// compare to see that nothing was written.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn dump(&self) -> Result<Vec<(String, String, Vec<u8>)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT ns, key, value FROM kv ORDER BY ns, key")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Remove every record (the admin reset).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn wipe(&self) -> Result<(), StoreError> {
        self.conn().execute("DELETE FROM kv", [])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_atomic_and_persist() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.db");
        {
            let s = Store::open(&path).expect("open");
            s.apply(&[Op::put("users", "a", b"1".to_vec()), Op::put("users", "b", b"2".to_vec())]).expect("apply");
            s.apply(&[Op::delete("users", "a"), Op::put("keys", "k", b"3".to_vec())]).expect("apply");
        }
        let s = Store::open(&path).expect("reopen");
        assert_eq!(s.scan("users").expect("scan"), vec![("b".to_owned(), b"2".to_vec())]);
        assert_eq!(s.get("keys", "k").expect("get"), Some(b"3".to_vec()));
        assert_eq!(s.version().expect("version"), 1);
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        s.wipe().expect("wipe");
        assert!(s.scan("users").expect("scan").is_empty());
    }

    #[test]
    fn refuses_newer_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.db");
        {
            let c = Connection::open(&path).expect("open");
            c.pragma_update(None, "user_version", 99).expect("pragma");
        }
        assert!(matches!(Store::open(&path), Err(StoreError::TooNew { found: 99, .. })));
    }

    #[test]
    fn json_records_round_trip_and_fail_loudly() {
        let s = Store::in_memory().expect("store");
        s.apply(&[Op::put_json("n", "a", &vec![1, 2]).expect("encode"), Op::put("n", "b", b"{".to_vec())])
            .expect("apply");
        assert_eq!(s.get_json::<Vec<u8>>("n", "a").expect("get"), Some(vec![1, 2]));
        assert_eq!(s.get_json::<Vec<u8>>("n", "zz").expect("get"), None);
        assert!(matches!(s.get_json::<Vec<u8>>("n", "b"), Err(StoreError::Corrupt { .. })));
        let err = s.scan_json::<Vec<u8>>("n").expect_err("corrupt");
        assert_eq!(err.to_string().split(':').next(), Some("corrupt record n/b"));
        s.apply(&[Op::delete("n", "b")]).expect("apply");
        assert_eq!(s.scan_json::<Vec<u8>>("n").expect("scan"), vec![("a".to_owned(), vec![1, 2])]);
        // A map with non-string keys cannot be JSON: the put fails instead of storing nothing.
        let bad: std::collections::BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into_iter().collect();
        assert!(matches!(Op::put_json("n", "c", &bad), Err(StoreError::Encode { .. })));
    }

    #[test]
    fn a_planned_failure_writes_nothing_once() {
        let s = Store::in_memory().expect("store");
        s.fail_apply_after(1);
        s.apply(&[]).expect("an empty batch is not a write");
        s.apply(&[Op::put("n", "a", b"1".to_vec())]).expect("first write applies");
        let before = s.dump().expect("dump");
        assert!(matches!(s.apply(&[Op::put("n", "b", b"2".to_vec())]), Err(StoreError::Injected)));
        assert_eq!(s.dump().expect("dump"), before);
        s.apply(&[Op::put("n", "b", b"2".to_vec())]).expect("later writes apply");
        assert_eq!(s.applied_batches(), 2);
        assert_eq!(s.dump().expect("dump").len(), 2);
        s.fail_next_apply();
        assert!(s.apply(&[Op::delete("n", "a")]).is_err());
        assert_eq!(s.get("n", "a").expect("get"), Some(b"1".to_vec()));
    }
}
