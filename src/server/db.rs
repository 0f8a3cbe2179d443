//! The DuckDB store: opening the database file, one connection per task, the writer lock.
//!
//! DuckDB calls block, so async code reaches the database only through [`Db::run`], which
//! moves the work to a blocking thread with its own connection. Every connection is set to the
//! instance's time zone, so `occurred_at::DATE` is the local calendar day that KPIS.md periods
//! are made of. The configured `memory_limit` is set once, on the root connection, before
//! anything else runs: DuckDB keeps it for the whole database instance, so every connection
//! handed out afterwards is bound by it. Writes that must not interleave (loads, stitching)
//! hold [`Db::write_lock`].

pub mod migrate;

use std::any::Any;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use duckdb::Connection;

use super::config::MemoryLimit;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot create the database folder {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the database {path}: {source}")]
    Open {
        path: PathBuf,
        source: duckdb::Error,
    },
    #[error("unknown time zone {0:?} (use an IANA name such as Europe/Rome)")]
    UnknownTimeZone(String),
    #[error("memory_limit {limit}: DuckDB refused it: {source}")]
    MemoryLimit {
        limit: MemoryLimit,
        source: duckdb::Error,
    },
    #[error(transparent)]
    Migrate(#[from] migrate::MigrateError),
    #[error("database error: {0}")]
    Sql(#[from] duckdb::Error),
    #[error("a database task stopped unexpectedly: {0}")]
    Task(String),
}

/// A handle to the database; cheap to clone and shared by every request.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    root: Mutex<Connection>,
    writer: Mutex<()>,
    /// Set from the configuration, then from the settings page (see `settings::apply`).
    time_zone: RwLock<String>,
    /// The configured `memory_limit`, applied when the database was opened.
    memory_limit: Option<MemoryLimit>,
    path: Option<PathBuf>,
    /// Bumped after every write (see [`Db::invalidate`]); cached results carry the version
    /// they were computed at and are used only while it is current.
    version: AtomicU64,
    cache: Mutex<HashMap<String, Cached>>,
    /// One lock per key being computed, so concurrent misses compute it once.
    computing: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    /// Turns at the database for the server's requests: [`Db::run`] takes a shared turn, a
    /// batch of the events API ([`Db::ingest_turn`]) the whole database (see there).
    turns: tokio::sync::RwLock<()>,
}

/// A computed result, the data version it was computed at, and what it read.
struct Cached {
    version: u64,
    reads: Reads,
    value: Arc<dyn Any + Send + Sync>,
}

/// What a cached result depends on, so that a write that changed only some days leaves the
/// results that never read them (see [`Db::invalidate_from`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reads {
    /// Anything in the database: stale after every write.
    Everything,
    /// Only events of local days before this one (a KPI of a period that does not look
    /// ahead, whatever history before the period it reads), and the catalog, settings and
    /// reference data, which only full invalidations change.
    DaysBefore(chrono::NaiveDate),
}

/// What one write changed (see [`WriteGuard::changed`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Changed {
    /// Events of this local day and later ones, and what no cached KPI value reads (the
    /// journeys, the customers' current segments, the record of loads).
    DaysFrom(chrono::NaiveDate),
    /// Anything.
    Everything,
}

/// The most results the cache keeps; past it, it starts again empty.
pub const CACHE_ENTRIES: usize = 4096;

/// Held by a writer (see [`Db::write_lock`]); when dropped, cached results become stale:
/// every one of them, unless the writer said what it changed ([`WriteGuard::changed`]).
pub struct WriteGuard<'a> {
    db: &'a Db,
    changed: Changed,
    _guard: MutexGuard<'a, ()>,
}

impl WriteGuard<'_> {
    /// Narrows what the write is taken to have changed, once it committed; a writer that
    /// does not call this invalidates everything.
    pub fn changed(&mut self, changed: Changed) {
        self.changed = changed;
    }
}

impl Drop for WriteGuard<'_> {
    fn drop(&mut self) {
        match self.changed {
            Changed::DaysFrom(day) => self.db.invalidate_from(day),
            Changed::Everything => self.db.invalidate(),
        }
    }
}

impl Db {
    /// Opens (creating it and its folder if needed) the database at `path` and brings its
    /// schema up to date.
    pub fn open(path: &Path, time_zone: &str) -> Result<Self, DbError> {
        Self::open_limited(path, time_zone, None)
    }

    /// [`Db::open`] bound by DuckDB's `memory_limit` (the configuration's `memory_limit`);
    /// `None` leaves DuckDB's default. The limit is set before the migrations run.
    pub fn open_limited(
        path: &Path,
        time_zone: &str,
        memory_limit: Option<&MemoryLimit>,
    ) -> Result<Self, DbError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| DbError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(|source| DbError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_connection(conn, time_zone, memory_limit, Some(path.to_path_buf()))
    }

    /// An in-memory database with the current schema, for tests and benchmarks.
    pub fn open_in_memory(time_zone: &str) -> Result<Self, DbError> {
        let conn = Connection::open_in_memory()?;
        Self::from_connection(conn, time_zone, None, None)
    }

    fn from_connection(
        conn: Connection,
        time_zone: &str,
        memory_limit: Option<&MemoryLimit>,
        path: Option<PathBuf>,
    ) -> Result<Self, DbError> {
        if let Some(limit) = memory_limit {
            // `memory_limit` is a global DuckDB setting: set on this connection, it binds the
            // whole database instance, so the connections cloned from it below too (a test
            // checks it). MemoryLimit::as_str holds only digits, a point and a unit.
            conn.execute_batch(&format!("SET memory_limit = '{}';", limit.as_str()))
                .map_err(|source| DbError::MemoryLimit {
                    limit: limit.clone(),
                    source,
                })?;
        }
        if !super::settings::time_zone_known(&conn, time_zone)? {
            return Err(DbError::UnknownTimeZone(time_zone.to_string()));
        }
        let db = Self {
            inner: Arc::new(Inner {
                root: Mutex::new(conn),
                writer: Mutex::new(()),
                time_zone: RwLock::new(time_zone.to_string()),
                memory_limit: memory_limit.cloned(),
                path,
                // Started from the clock so a restarted server never repeats a version a page
                // saw before it.
                version: AtomicU64::new(
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(1, |d| u64::try_from(d.as_millis()).unwrap_or(1)),
                ),
                cache: Mutex::new(HashMap::new()),
                computing: Mutex::new(HashMap::new()),
                turns: tokio::sync::RwLock::new(()),
            }),
        };
        let mut conn = db.connect()?;
        migrate::apply(&mut conn)?;
        super::settings::apply(&db)?;
        let interrupted = super::ingest::mark_interrupted_loads(&conn)?;
        if interrupted > 0 {
            tracing::warn!(
                loads = interrupted,
                "loads cut short by an earlier stop were marked interrupted (nothing of them was kept)"
            );
        }
        Ok(db)
    }

    /// The IANA time zone that periods and local days are computed in.
    pub fn time_zone(&self) -> String {
        read(&self.inner.time_zone).clone()
    }

    /// Switches the time zone of every connection made from now on.
    pub fn set_time_zone(&self, zone: &str) -> Result<(), DbError> {
        if !super::settings::time_zone_known(&lock(&self.inner.root), zone)? {
            return Err(DbError::UnknownTimeZone(zone.to_string()));
        }
        *self
            .inner
            .time_zone
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = zone.to_string();
        Ok(())
    }

    /// The configured `memory_limit`, or `None` for DuckDB's default.
    pub fn memory_limit(&self) -> Option<&MemoryLimit> {
        self.inner.memory_limit.as_ref()
    }

    /// The database file, or `None` for an in-memory database.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// A new connection to the same database, set to the instance's time zone.
    pub fn connect(&self) -> Result<Connection, DbError> {
        let conn = lock(&self.inner.root).try_clone()?;
        // The name was checked against pg_timezone_names() when it was set, and SET takes no
        // bound parameters; quotes are doubled all the same.
        let tz = read(&self.inner.time_zone).replace('\'', "''");
        conn.execute_batch(&format!("SET TimeZone = '{tz}';"))?;
        Ok(conn)
    }

    /// Serialises writers: loads and stitching hold this for their whole transaction. Cached
    /// results are invalidated when the guard is dropped.
    pub fn write_lock(&self) -> WriteGuard<'_> {
        WriteGuard {
            db: self,
            changed: Changed::Everything,
            _guard: lock(&self.inner.writer),
        }
    }

    /// The data version: it changes after every write, so a result computed at one version
    /// is valid while it is current.
    pub fn data_version(&self) -> u64 {
        self.inner.version.load(Ordering::SeqCst)
    }

    fn cache_hit<T: Clone + 'static>(&self, key: &str) -> Option<T> {
        let version = self.data_version();
        let cache = lock(&self.inner.cache);
        let hit = cache.get(key).filter(|hit| hit.version == version)?;
        hit.value.downcast_ref::<T>().cloned()
    }

    /// Marks every cached result stale: called when a writer releases [`Db::write_lock`] and
    /// after every request that may write (any method but GET and HEAD).
    pub fn invalidate(&self) {
        let mut cache = lock(&self.inner.cache);
        self.inner.version.fetch_add(1, Ordering::SeqCst);
        cache.clear();
    }

    /// Marks stale the cached results that may read events of `day` or a later local day,
    /// after a write that changed only those (a load of recent events): the others are kept,
    /// and stay valid at the new version.
    pub fn invalidate_from(&self, day: chrono::NaiveDate) {
        let mut cache = lock(&self.inner.cache);
        let current = self.inner.version.fetch_add(1, Ordering::SeqCst);
        let version = current + 1;
        cache.retain(|_, hit| {
            hit.version == current && matches!(hit.reads, Reads::DaysBefore(end) if end <= day)
        });
        for hit in cache.values_mut() {
            hit.version = version;
        }
    }

    /// The result cached under `key` at the current data version, or `compute`'s, which is
    /// kept only if no write happened while it ran. `key` must name everything the result
    /// depends on besides the data (KPI set, period, filters, comparison, language, today).
    pub fn cached<T, E>(&self, key: &str, compute: impl FnOnce() -> Result<T, E>) -> Result<T, E>
    where
        T: Clone + Send + Sync + 'static,
    {
        self.cached_reading(key, Reads::Everything, compute)
    }

    /// The result cached under `key` at the current data version, if any (see
    /// [`Db::cached_reading`]).
    pub fn cache_get<T: Clone + 'static>(&self, key: &str) -> Option<T> {
        self.cache_hit(key)
    }

    /// Keeps `value` under `key` as computed at data version `version` (read before it was
    /// computed), unless a write happened since; `reads` says which writes make it stale.
    pub fn cache_put<T>(&self, key: &str, version: u64, reads: Reads, value: T)
    where
        T: Send + Sync + 'static,
    {
        let mut cache = lock(&self.inner.cache);
        if self.data_version() != version {
            return;
        }
        if cache.len() >= CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(
            key.to_string(),
            Cached {
                version,
                reads,
                value: Arc::new(value),
            },
        );
    }

    /// [`Db::cached`] for a result that reads only what `reads` says, so that it outlives
    /// the writes that changed nothing of it (see [`Db::invalidate_from`]).
    pub fn cached_reading<T, E>(
        &self,
        key: &str,
        reads: Reads,
        compute: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E>
    where
        T: Clone + Send + Sync + 'static,
    {
        if let Some(value) = self.cache_hit::<T>(key) {
            return Ok(value);
        }
        // Fifty clients opening the same page at once wait for one computation instead of
        // running fifty: the first takes the key's lock, the others find its result.
        let flight = lock(&self.inner.computing)
            .entry(key.to_string())
            .or_default()
            .clone();
        let _flight = lock(&flight);
        if let Some(value) = self.cache_hit::<T>(key) {
            return Ok(value);
        }
        let version = self.data_version();
        let value = compute();
        lock(&self.inner.computing).remove(key);
        let value = value?;
        self.cache_put(key, version, reads, value.clone());
        Ok(value)
    }

    /// Runs `work` on a blocking thread with its own connection.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    {
        let db = self.clone();
        // The caller's span (a request's, with its id) follows the work to its thread.
        let span = tracing::Span::current();
        let _turn = self.inner.turns.read().await;
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let mut conn = db.connect()?;
            work(&mut conn)
        })
        .await
        .map_err(|e| E::from(DbError::Task(e.to_string())))?
    }

    /// The whole database's turn for a batch of the events API, held while it loads.
    ///
    /// Readers take shared turns ([`Db::run`]); a batch waits for the readers inside, and
    /// the readers that come after it wait for it (the lock is fair: a waiting writer goes
    /// before later readers). Without this, fifty readers' queries shared the two cores with
    /// the batch's, and under a soak's readers a 1,000-event batch at 10M events took 5–15 s
    /// instead of under one (docs/soak.md). Other writers (forms, rebuilds) are rare and keep
    /// sharing; every writer still serialises on [`Db::write_lock`].
    pub async fn ingest_turn(&self) -> tokio::sync::RwLockWriteGuard<'_, ()> {
        self.inner.turns.write().await
    }
}

/// `text` as a DuckDB string literal, for the few places SQL cannot take a bound parameter
/// (a path in `EXPORT DATABASE`, `COPY ... TO`, or a view's definition).
pub fn string_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// DuckDB's words when a statement needed more memory than `memory_limit` lets it use (its
/// `Out of Memory Error`), found anywhere in `err`'s chain: the first line after the error
/// type, e.g. `could not allocate block of size 30.5 MiB (7.1 MiB/15.2 MiB used)`. DuckDB's
/// advice that follows (`SET memory_limit`, threads) is left out: omnikpi's users set the
/// limit in the configuration, not in SQL.
pub fn out_of_memory(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    const DUCKDB: &str = "Out of Memory Error: ";
    let mut cause = Some(err);
    while let Some(e) = cause {
        let text = e.to_string();
        if let Some(at) = text.find(DUCKDB) {
            let words = text[at + DUCKDB.len()..].lines().next().unwrap_or_default();
            return Some(words.trim().to_string());
        }
        cause = e.source();
    }
    None
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A poisoned lock only means another thread panicked while holding it; the connection and
/// the unit guard stay usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_results_last_until_a_writer_finishes() -> Result<(), DbError> {
        let db = Db::open_in_memory("Europe/Rome")?;
        let mut runs = 0;
        let mut get = |db: &Db| {
            db.cached("k", || {
                runs += 1;
                Ok::<_, DbError>(runs)
            })
        };
        assert_eq!(get(&db)?, 1);
        assert_eq!(get(&db)?, 1, "served from the cache");
        drop(db.write_lock());
        assert_eq!(get(&db)?, 2, "a write made it stale");
        db.invalidate();
        assert_eq!(get(&db)?, 3);
        Ok(())
    }

    #[test]
    fn a_write_of_later_days_keeps_the_results_of_earlier_ones() -> Result<(), DbError> {
        let db = Db::open_in_memory("Europe/Rome")?;
        let day =
            |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 3, d).ok_or(DbError::Task("day".into()));
        let put = |key: &str, reads: Reads| db.cache_put(key, db.data_version(), reads, 1_i32);
        put("before the 10th", Reads::DaysBefore(day(10)?));
        put("before the 11th", Reads::DaysBefore(day(11)?));
        put("everything", Reads::Everything);
        let mut writer = db.write_lock();
        writer.changed(Changed::DaysFrom(day(10)?));
        drop(writer);
        assert_eq!(
            db.cache_get::<i32>("before the 10th"),
            Some(1),
            "reads no changed day"
        );
        assert_eq!(
            db.cache_get::<i32>("before the 11th"),
            None,
            "reads the 10th"
        );
        assert_eq!(db.cache_get::<i32>("everything"), None);
        // Kept at the new version, and still dropped by the next write that reaches it.
        let mut writer = db.write_lock();
        writer.changed(Changed::DaysFrom(day(1)?));
        drop(writer);
        assert_eq!(db.cache_get::<i32>("before the 10th"), None);
        put("before the 10th", Reads::DaysBefore(day(10)?));
        drop(db.write_lock());
        assert_eq!(
            db.cache_get::<i32>("before the 10th"),
            None,
            "a writer that says nothing"
        );
        Ok(())
    }

    #[test]
    fn a_result_computed_during_a_write_is_not_kept() -> Result<(), DbError> {
        let db = Db::open_in_memory("Europe/Rome")?;
        let first = db.cached("k", || {
            db.invalidate();
            Ok::<_, DbError>(1)
        })?;
        assert_eq!(first, 1);
        assert_eq!(db.cached("k", || Ok::<_, DbError>(2))?, 2);
        Ok(())
    }

    #[test]
    fn the_memory_limit_binds_every_connection() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let setting = |conn: &Connection| -> Result<String, duckdb::Error> {
            conn.query_row("SELECT current_setting('memory_limit')", [], |r| r.get(0))
        };
        let unlimited = Db::open(&dir.path().join("default.duckdb"), "Europe/Rome")?;
        let default = setting(&unlimited.connect()?)?;
        let limit = MemoryLimit::parse("123MB").ok_or("123MB is a memory limit")?;
        let db = Db::open_limited(&dir.path().join("limited.duckdb"), "UTC", Some(&limit))?;
        assert_eq!(db.memory_limit(), Some(&limit));
        let (first, second) = (db.connect()?, db.connect()?);
        // DuckDB shows it in MiB: 123 MB = 117.3 MiB.
        assert_eq!(setting(&first)?, "117.3 MiB");
        assert_eq!(setting(&second)?, "117.3 MiB");
        assert_ne!(default, "117.3 MiB");
        // Global, not per connection: a SET on one connection is what every other one sees,
        // which is why one SET on the root connection is enough.
        first.execute_batch("SET memory_limit = '200MB'")?;
        assert_eq!(setting(&second)?, setting(&first)?);
        assert_eq!(setting(&db.connect()?)?, setting(&first)?);
        Ok(())
    }

    #[test]
    fn unknown_time_zone_is_refused() {
        let err = Db::open_in_memory("Mars/Olympus").err();
        assert!(matches!(err, Some(DbError::UnknownTimeZone(_))), "{err:?}");
    }

    #[test]
    fn connections_use_the_instance_time_zone() -> Result<(), DbError> {
        let db = Db::open_in_memory("Europe/Rome")?;
        let conn = db.connect()?;
        let day: String = conn.query_row(
            "SELECT CAST(CAST('2026-03-31 23:30:00+00' AS TIMESTAMPTZ) AS DATE)::VARCHAR",
            [],
            |row| row.get(0),
        )?;
        assert_eq!(day, "2026-04-01");
        Ok(())
    }

    /// A batch of the events API waits for the readers inside, and goes before the readers
    /// that come after it (Db::ingest_turn).
    #[test]
    fn a_waiting_batch_goes_before_later_readers() -> Result<(), DbError> {
        let db = Db::open_in_memory("Europe/Rome")?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| DbError::Task(e.to_string()))?;
        let order = Arc::new(Mutex::new(Vec::new()));
        let note = |order: &Arc<Mutex<Vec<&'static str>>>, what| lock(order).push(what);
        runtime.block_on(async {
            let (started, reading) = std::sync::mpsc::channel();
            let (db1, order1) = (db.clone(), Arc::clone(&order));
            let first = tokio::spawn(async move {
                db1.run(move |_| -> Result<(), DbError> {
                    let _ = started.send(());
                    std::thread::sleep(std::time::Duration::from_millis(200));
                    note(&order1, "first reader");
                    Ok(())
                })
                .await
            });
            let _ = reading.recv();
            let (db2, order2) = (db.clone(), Arc::clone(&order));
            let batch = tokio::spawn(async move {
                let _turn = db2.ingest_turn().await;
                note(&order2, "batch");
            });
            // Once the batch waits, no reader gets a turn before it.
            while db.inner.turns.try_read().is_ok() {
                tokio::task::yield_now().await;
            }
            let (db3, order3) = (db.clone(), Arc::clone(&order));
            let later = tokio::spawn(async move {
                db3.run(move |_| -> Result<(), DbError> {
                    note(&order3, "later reader");
                    Ok(())
                })
                .await
            });
            for task in [first, later] {
                task.await.map_err(|e| DbError::Task(e.to_string()))??;
            }
            batch.await.map_err(|e| DbError::Task(e.to_string()))
        })?;
        assert_eq!(
            *lock(&order),
            ["first reader", "batch", "later reader"],
            "the order of the turns"
        );
        Ok(())
    }
}
