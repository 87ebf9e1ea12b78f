//! The embedded backend: dynoxide on SQLite, one database per account and
//! region.
//!
//! # Durability
//!
//! dynoxide opens each file with `journal_mode=WAL` and a busy timeout and
//! leaves `synchronous` at SQLite's compiled-in default (it only touches it
//! in `enable_bulk_loading`/`disable_bulk_loading`, which this crate never
//! calls). Every write runs in one `BEGIN … COMMIT` inside the call, so the
//! commit has happened when the call returns. The bundled SQLite of
//! `libsqlite3-sys` is built without `SQLITE_DEFAULT_SYNCHRONOUS` and
//! `SQLITE_DEFAULT_WAL_SYNCHRONOUS`, so the default is `FULL` (2): each
//! commit appends to the WAL and fsyncs it before returning. An acknowledged
//! write therefore survives `kill -9` and power loss alike.
//!
//! dynoxide offers no hook to run a `PRAGMA` on its connection, so rather than
//! trusting the default silently, [`EmbeddedBackend::open`] checks it: it
//! opens a probe database with the same SQLite library (there is one
//! `libsqlite3-sys` in the build), switches it to WAL as dynoxide does, and
//! refuses to start unless `PRAGMA synchronous` reads `FULL` or `EXTRA`
//! (a build with `LIBSQLITE3_FLAGS=-DSQLITE_DEFAULT_WAL_SYNCHRONOUS=1` would
//! fail here instead of losing writes on power failure).

use std::collections::HashMap;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use dynoxide::Database;
use serde_json::{json, Value};

use crate::engine::{self, Scope};
use crate::{Backend, BoxFuture, DynamoError};

/// DynamoDB on dynoxide, with its files under `<dir>/<account>/<region>.db`.
///
/// Cheap to clone; clones share the open databases.
#[derive(Clone)]
pub struct EmbeddedBackend {
    inner: Arc<Inner>,
}

struct Inner {
    account: String,
    /// `<dir>/<account>`.
    root: PathBuf,
    /// The open databases by region, each opened on first use and kept,
    /// with the thread that runs its calls.
    dbs: Mutex<HashMap<String, Engine>>,
    /// The address `DescribeEndpoints` reports; `None`: `dynamodb.<region>.amazonaws.com`.
    endpoint_address: Mutex<Option<String>>,
    /// The time Streams decides iterator expiry and retention by.
    clock: Arc<dyn base::Clock>,
}

impl std::fmt::Debug for EmbeddedBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedBackend")
            .field("account", &self.inner.account)
            .field("root", &self.inner.root)
            .finish_non_exhaustive()
    }
}

impl EmbeddedBackend {
    /// The backend for `account`, keeping its databases under
    /// `<dir>/<account>/` (created, owner-only, if missing). Databases are
    /// opened when a region is first used.
    ///
    /// # Errors
    /// `InternalServerError` when `account` is not 12 digits, the directory
    /// cannot be created, or SQLite would not fsync each commit (see the
    /// module documentation).
    pub fn open(dir: &Path, account: &str) -> Result<Self, DynamoError> {
        Self::open_with_clock(dir, account, Arc::new(base::SystemClock))
    }

    /// As [`Self::open`], with the clock that DynamoDB Streams' iterator
    /// expiry and 24-hour retention read.
    ///
    /// # Errors
    /// As [`Self::open`].
    pub fn open_with_clock(dir: &Path, account: &str, clock: Arc<dyn base::Clock>) -> Result<Self, DynamoError> {
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DynamoError::internal(format!("invalid account id {account:?}: expected 12 digits")));
        }
        let root = dir.join(account);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&root)
            .map_err(|e| DynamoError::internal(format!("creating {}: {e}", root.display())))?;
        check_commits_are_fsynced(&root)?;
        Ok(EmbeddedBackend {
            inner: Arc::new(Inner {
                account: account.to_owned(),
                root,
                dbs: Mutex::new(HashMap::new()),
                endpoint_address: Mutex::new(None),
                clock,
            }),
        })
    }

    /// Report `address` (`host[:port]`, daxd's own endpoint) from
    /// `DescribeEndpoints` instead of `dynamodb.<region>.amazonaws.com`.
    pub fn set_endpoint_address(&self, address: impl Into<String>) {
        *self.inner.endpoint_address.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(address.into());
    }

    /// The account this backend serves.
    pub fn account(&self) -> &str {
        &self.inner.account
    }

    /// The database file of `region`.
    pub fn database_path(&self, region: &str) -> PathBuf {
        self.inner.root.join(format!("{region}.db"))
    }

    /// Delete the items whose TTL attribute is in the past, in every region
    /// that has a database; returns how many were deleted. DynamoDB does
    /// this in the background, "typically within a few days"; daxd runs it
    /// on a timer ([`Self::spawn_ttl_sweeper`]).
    ///
    /// # Errors
    /// The first region's failure.
    pub async fn sweep_ttl(&self) -> Result<usize, DynamoError> {
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            let mut deleted = 0;
            for region in inner.regions_on_disk()? {
                let db = inner.database(&region)?;
                deleted += db
                    .sweep_ttl()
                    .map_err(|e| engine::engine_error("", e, Scope { region: &region, account: &inner.account }))?;
            }
            Ok(deleted)
        })
        .await
    }

    /// Run [`Self::sweep_ttl`] every `every` until the backend is dropped.
    /// Needs a Tokio runtime.
    pub fn spawn_ttl_sweeper(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                // A failed sweep is retried on the next tick.
                let _ = EmbeddedBackend { inner }.sweep_ttl().await;
            }
        })
    }

    /// Wipe every table of every region (the admin reset). Each database is
    /// replaced, in one SQLite backup, by an empty one; the files stay.
    ///
    /// # Errors
    /// SQLite or file-system failures.
    pub async fn reset(&self) -> Result<(), DynamoError> {
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.wipe()).await
    }
}

/// A unit of engine work, run on a database's own thread.
type Job = Box<dyn FnOnce(&Database) + Send>;

/// An open database and the thread that runs the API calls on it.
///
/// dynoxide serialises every call on a database behind one lock around its
/// one SQLite connection, so calls cannot run in parallel anyway. Rather than
/// hand each call to Tokio's blocking pool (where, under load, dozens of
/// threads take turns at that lock, and every call costs two thread
/// switches plus the lock's hand-offs), each database gets one thread that
/// takes the calls from a queue in arrival order: off the async worker
/// threads, as the engine's synchronous calls must be, and without
/// contention. Under load the thread finds the next call already queued and
/// never sleeps.
#[derive(Clone)]
struct Engine {
    db: Database,
    jobs: std::sync::mpsc::Sender<Job>,
    /// Tells this engine from a later one for the same region.
    generation: u64,
    /// Calls queued or running on this database.
    load: Arc<std::sync::atomic::AtomicUsize>,
}

/// Counts a call in an engine's load while it lives.
struct Load(Arc<std::sync::atomic::AtomicUsize>);

impl Load {
    /// Count a call; true if it is the only one.
    fn enter(load: &Arc<std::sync::atomic::AtomicUsize>) -> (Load, bool) {
        let before = load.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        (Load(Arc::clone(load)), before == 0)
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

static GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Inner {
    fn dbs_guard(&self) -> std::sync::MutexGuard<'_, HashMap<String, Engine>> {
        self.dbs.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The database of `region`, opened (and created) on first use.
    fn database(&self, region: &str) -> Result<Database, DynamoError> {
        self.engine(region).map(|e| e.db)
    }

    /// The engine of `region` if its database is open (no blocking work).
    fn open_engine(&self, region: &str) -> Option<Engine> {
        self.dbs_guard().get(region).cloned()
    }

    /// The engine of `region`: its database, opened (and created) on first
    /// use, and the thread that runs calls on it.
    fn engine(&self, region: &str) -> Result<Engine, DynamoError> {
        if !base::is_region(region) {
            return Err(DynamoError::validation(format!("'{region}' is not a valid region name")));
        }
        let mut dbs = self.dbs_guard();
        if let Some(engine) = dbs.get(region) {
            return Ok(engine.clone());
        }
        let path = self.root.join(format!("{region}.db"));
        if !path.exists() {
            // Items can be anyone's data: owner-only, as SQLite gives the
            // `-wal` and `-shm` files the database file's mode.
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&path)
                .map_err(|e| DynamoError::internal(format!("creating {}: {e}", path.display())))?;
        }
        let path_str = path
            .to_str()
            .ok_or_else(|| DynamoError::internal(format!("database path {} is not UTF-8", path.display())))?;
        let db =
            Database::new(path_str).map_err(|e| DynamoError::internal(format!("opening {}: {e}", path.display())))?;
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let generation = GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let engine = Engine { db: db.clone(), jobs, generation, load: Arc::default() };
        std::thread::Builder::new()
            .name(format!("dynamo-{region}"))
            .spawn(move || {
                // Ends when every sender is gone: the backend was dropped, or
                // the engine was replaced after a panic.
                while let Ok(job) = queue.recv() {
                    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&db))).is_err() {
                        // A panic inside dynoxide poisons the lock around its
                        // connection and every later call would fail: the
                        // caller that panicked got an error (its answer
                        // channel was dropped), and the database is reopened
                        // by the next call (SQLite rolls back whatever was in
                        // flight). Calls already queued here get an error.
                        return;
                    }
                }
            })
            .map_err(|e| DynamoError::internal(format!("starting the engine thread of {region}: {e}")))?;
        dbs.insert(region.to_owned(), engine.clone());
        Ok(engine)
    }

    /// Forget `region`'s engine if it is still `generation` (after a panic).
    fn drop_engine(&self, region: &str, generation: u64) {
        let mut dbs = self.dbs_guard();
        if dbs.get(region).is_some_and(|e| e.generation == generation) {
            dbs.remove(region);
        }
    }

    /// Regions with a database file, and any open ones.
    fn regions_on_disk(&self) -> Result<Vec<String>, DynamoError> {
        let mut regions: Vec<String> = self.dbs_guard().keys().cloned().collect();
        let entries = std::fs::read_dir(&self.root)
            .map_err(|e| DynamoError::internal(format!("listing {}: {e}", self.root.display())))?;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(region) = name.to_str().and_then(|n| n.strip_suffix(".db")) else { continue };
            if base::is_region(region) && !regions.iter().any(|r| r == region) {
                regions.push(region.to_owned());
            }
        }
        regions.sort();
        Ok(regions)
    }

    fn wipe(&self) -> Result<(), DynamoError> {
        let regions = self.regions_on_disk()?;
        if regions.is_empty() {
            return Ok(());
        }
        // An empty dynoxide database, written out as a standalone snapshot.
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let snapshot = self.root.join(format!(".empty-{}-{nanos}.db", std::process::id()));
        let snapshot_str =
            snapshot.to_str().ok_or_else(|| DynamoError::internal("snapshot path is not UTF-8"))?.to_owned();
        let result = (|| {
            Database::memory()
                .and_then(|empty| empty.vacuum_into(&snapshot_str))
                .map_err(|e| DynamoError::internal(format!("making an empty database: {e}")))?;
            for region in &regions {
                let db = self.database(region)?;
                db.restore_from(&snapshot_str)
                    .map_err(|e| DynamoError::internal(format!("wiping region {region}: {e}")))?;
            }
            Ok(())
        })();
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{snapshot_str}{suffix}"));
        }
        result
    }

    fn describe_endpoints(&self, region: &str) -> Value {
        let address = self
            .endpoint_address
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .unwrap_or_else(|| format!("dynamodb.{region}.amazonaws.com"));
        json!({ "Endpoints": [{ "Address": address, "CachePeriodInMinutes": 1440 }] })
    }
}

/// DynamoDB's default account quotas, as `DescribeLimits` reports them.
fn describe_limits() -> Value {
    json!({
        "AccountMaxReadCapacityUnits": 80000,
        "AccountMaxWriteCapacityUnits": 80000,
        "TableMaxReadCapacityUnits": 40000,
        "TableMaxWriteCapacityUnits": 40000
    })
}

/// Run blocking engine work off the async worker threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, DynamoError> + Send + 'static,
) -> Result<T, DynamoError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(e) => Err(DynamoError::internal(format!("the DynamoDB engine failed: {e}"))),
    }
}

impl EmbeddedBackend {
    /// Run `op` on `region`'s database: `engine::run` for DynamoDB, or
    /// `streams::run` (at the clock's time) for DynamoDB Streams.
    async fn on_engine(&self, region: &str, op: &str, input: Value, streams: bool) -> Result<Value, DynamoError> {
        let engine = match self.inner.open_engine(region) {
            Some(engine) => engine,
            None => {
                let (inner, owned) = (Arc::clone(&self.inner), region.to_owned());
                blocking(move || inner.engine(&owned)).await?
            }
        };
        let clock = Arc::clone(&self.inner.clock);
        let exec = move |db: &Database, scope: Scope<'_>, op: &str, input: Value| {
            if streams {
                crate::streams::run(db, scope, clock.now(), op, input)
            } else {
                engine::run(db, scope, op, input)
            }
        };
        let failed = || DynamoError::internal("the DynamoDB engine failed while processing the request");
        let (_load, alone) = Load::enter(&engine.load);
        if alone && tokio::runtime::Handle::current().runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
            // Nothing queued or running on this database: run the call
            // on this thread. On an async worker, `block_in_place` first
            // takes the thread out of the runtime's workers (another
            // thread carries on their work meanwhile); on a thread that
            // is no worker (daxd's connection threads, which serve one
            // connection each), it just runs the call. At low load this
            // saves the two thread wake-ups of a trip through the queue,
            // which on a small machine cost more than a GetItem itself.
            let scope = Scope { region, account: &self.inner.account };
            let run = || std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| exec(&engine.db, scope, op, input)));
            return tokio::task::block_in_place(run).unwrap_or_else(|_| {
                self.inner.drop_engine(region, engine.generation);
                Err(failed())
            });
        }
        let (answer, answered) = tokio::sync::oneshot::channel();
        let (account, owned_region, op) = (self.inner.account.clone(), region.to_owned(), op.to_owned());
        let job: Job = Box::new(move |db: &Database| {
            let result = exec(db, Scope { region: &owned_region, account: &account }, &op, input);
            // The caller may have gone (a dropped request): nothing to do.
            let _ = answer.send(result);
        });
        if engine.jobs.send(job).is_err() {
            self.inner.drop_engine(region, engine.generation);
            return Err(failed());
        }
        answered.await.map_err(|_| {
            // The job was dropped unanswered: it (or one queued before
            // it) panicked, and the engine thread has ended.
            self.inner.drop_engine(region, engine.generation);
            failed()
        })?
    }
}

impl Backend for EmbeddedBackend {
    fn call<'a>(&'a self, region: &'a str, op: &'a str, input: Value) -> BoxFuture<'a, Result<Value, DynamoError>> {
        Box::pin(async move {
            match op {
                "DescribeEndpoints" => return Ok(self.inner.describe_endpoints(region)),
                "DescribeLimits" => return Ok(describe_limits()),
                _ if !engine::OPERATIONS.contains(&op) => return Err(DynamoError::unknown_operation(op)),
                _ => {}
            }
            self.on_engine(region, op, input, false).await
        })
    }

    /// DynamoDB Streams on the engine, with the expiry, retention and shard
    /// naming `streams.rs` adds.
    fn streams<'a>(&'a self, region: &'a str, op: &'a str, input: Value) -> BoxFuture<'a, Result<Value, DynamoError>> {
        Box::pin(async move {
            if !crate::streams::OPERATIONS.contains(&op) {
                return Err(DynamoError::unknown_operation(op));
            }
            self.on_engine(region, op, input, true).await
        })
    }

    fn reset(&self) -> BoxFuture<'_, Result<(), DynamoError>> {
        Box::pin(EmbeddedBackend::reset(self))
    }

    /// The engine validates the operations it runs, as DynamoDB words it
    /// (with `checks.rs` for the few checks it lacks); `DescribeEndpoints`
    /// and `DescribeLimits`, answered here, keep the model's validation.
    fn validates(&self, op: &str) -> bool {
        engine::OPERATIONS.contains(&op)
    }

    /// The engine's library reads requests without the JSON type pass its own
    /// server makes first, except for `SearchVectors`, which that server reads
    /// without it too.
    fn checks_json_types(&self, op: &str) -> bool {
        op == "SearchVectors"
    }
}

/// Refuse to run if SQLite, as linked, would not fsync the WAL at each
/// commit of a connection configured as dynoxide configures its own.
fn check_commits_are_fsynced(root: &Path) -> Result<(), DynamoError> {
    let probe = root.join(format!(".durability-probe-{}.db", std::process::id()));
    let level = (|| -> rusqlite::Result<i64> {
        let conn = rusqlite::Connection::open(&probe)?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Ok(-1);
        }
        conn.query_row("PRAGMA synchronous", [], |r| r.get(0))
    })();
    for suffix in ["", "-wal", "-shm"] {
        let mut p = probe.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    match level {
        Ok(2 | 3) => Ok(()),
        Ok(other) => Err(DynamoError::internal(format!(
            "SQLite's default synchronous level for WAL databases is {other}, not FULL: \
             the embedded DynamoDB engine would acknowledge writes before they are on disk"
        ))),
        Err(e) => Err(DynamoError::internal(format!("checking SQLite durability in {}: {e}", root.display()))),
    }
}
