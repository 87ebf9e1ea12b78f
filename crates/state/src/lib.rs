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
//! memory and use this store to persist and to reload it.

use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

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
}

/// The durable key-value store.
pub struct Store {
    conn: Mutex<Connection>,
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
        Ok(Store { conn: Mutex::new(conn) })
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
        Ok(())
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
}
