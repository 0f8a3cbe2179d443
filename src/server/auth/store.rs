//! The session store: tower-sessions records kept in the `sessions` table of the product's own
//! database, so a restart signs nobody out. Ids are stored as SHA-256 hashes; expired rows are
//! deleted by a periodic task ([`ExpiredDeletion`]).
//!
//! Sessions expire on inactivity, so tower-sessions saves the session on every request to move
//! its expiry. Written each time, that is a database write per page view, and two requests of
//! the same session at the same moment (a page and its live refresh, two tabs, the soak's
//! readers) conflict on the row in DuckDB's optimistic concurrency: one of them failed with a
//! 500. So a save that changes only the expiry, by less than [`EXPIRY_STEP_SECONDS`], writes
//! nothing (the session then ends up to that much earlier than it would); the saves of one
//! session take turns; and a save that still loses a conflict (to a sign-out everywhere, or
//! the purge of expired sessions) is tried again, or, when it only moved the expiry, left to
//! the other writer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use duckdb::{Connection, OptionalExt, params};
use sha2::{Digest, Sha256};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};

use crate::server::db::{Db, DbError};

/// The session key holding the signed-in user's id.
pub const USER_KEY: &str = "user_id";

/// How far a session's expiry moves before a save writes it again.
pub const EXPIRY_STEP_SECONDS: i64 = 60;

/// How many times a save that lost a write conflict is tried again.
const CONFLICT_RETRIES: u32 = 4;

/// How many locks the saves are spread over (by session id).
const STRIPES: usize = 64;

#[derive(Clone)]
pub struct DuckDbStore {
    db: Db,
    /// Per session (id hash), what the table holds, as last written or read.
    stored: Arc<Mutex<HashMap<String, Held>>>,
    /// Saves of one session take turns (a stripe of locks by id), so that this process never
    /// writes one row from two transactions at once.
    stripes: Arc<[tokio::sync::Mutex<()>; STRIPES]>,
}

/// A session row as this process last wrote or read it.
#[derive(Clone)]
struct Held {
    data: String,
    expires: i64,
    /// The data version it was read or written at: a load at the same version answers from
    /// here. Only this store writes the table, but for `delete_user_sessions`, which runs in
    /// a write (a password change, an account disabled) and so moves the version.
    version: u64,
}

impl std::fmt::Debug for DuckDbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DuckDbStore")
    }
}

impl DuckDbStore {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            stored: Arc::default(),
            stripes: Arc::new(std::array::from_fn(|_| tokio::sync::Mutex::new(()))),
        }
    }

    fn stored(&self) -> std::sync::MutexGuard<'_, HashMap<String, Held>> {
        self.stored.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the table already holds `row` but for an expiry less than a step earlier.
    fn current(&self, row: &Row) -> bool {
        self.stored().get(&row.hash).is_some_and(|held| {
            held.data == row.data
                && (0..EXPIRY_STEP_SECONDS).contains(&(row.expires - held.expires))
        })
    }

    fn remember(&self, row: &Row) {
        let held = Held {
            data: row.data.clone(),
            expires: row.expires,
            version: self.db.data_version(),
        };
        self.stored().insert(row.hash.clone(), held);
    }
}

/// Whether DuckDB refused a write because another transaction changed the same row.
fn conflict(err: &DbError) -> bool {
    err.to_string().contains("Conflict")
}

fn id_hash(id: &Id) -> String {
    format!("{:x}", Sha256::digest(id.to_string().as_bytes()))
}

fn backend(err: DbError) -> session_store::Error {
    session_store::Error::Backend(err.to_string())
}

#[derive(Clone)]
struct Row {
    hash: String,
    user_id: Option<i64>,
    data: String,
    expires: i64,
}

impl Row {
    fn of(record: &Record) -> session_store::Result<Self> {
        Ok(Self {
            hash: id_hash(&record.id),
            user_id: record
                .data
                .get(USER_KEY)
                .and_then(serde_json::Value::as_i64),
            data: serde_json::to_string(&record.data)
                .map_err(|e| session_store::Error::Encode(e.to_string()))?,
            expires: record.expiry_date.unix_timestamp(),
        })
    }
}

/// The session `id` of a row's data and expiry.
fn record_of(id: Id, data: &str, expires: i64) -> session_store::Result<Record> {
    Ok(Record {
        id,
        data: serde_json::from_str(data)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?,
        expiry_date: time::OffsetDateTime::from_unix_timestamp(expires)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?,
    })
}

/// Ends every session of a user (password changed, account disabled).
pub fn delete_user_sessions(conn: &Connection, user_id: i64) -> duckdb::Result<usize> {
    conn.execute("DELETE FROM sessions WHERE user_id = ?", [user_id])
}

#[async_trait]
impl SessionStore for DuckDbStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A fresh 128-bit id practically never collides; when it does, draw another.
        loop {
            let row = Row::of(record)?;
            let inserted = self
                .db
                .run(move |conn| -> Result<bool, DbError> {
                    let n = conn.execute(
                        "INSERT INTO sessions (id_hash, user_id, data, expires_at)
                         VALUES (?, ?, ?, to_timestamp(?)) ON CONFLICT DO NOTHING",
                        params![row.hash, row.user_id, row.data, row.expires],
                    )?;
                    Ok(n == 1)
                })
                .await
                .map_err(backend)?;
            if inserted {
                self.remember(&Row::of(record)?);
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let row = Row::of(record)?;
        if self.current(&row) {
            return Ok(());
        }
        let stripe = row
            .hash
            .get(..2)
            .and_then(|h| usize::from_str_radix(h, 16).ok())
            .unwrap_or(0)
            % STRIPES;
        let _turn = self.stripes[stripe].lock().await;
        // Another request of the session may have written it while this one waited.
        if self.current(&row) {
            return Ok(());
        }
        let only_expiry = self
            .stored()
            .get(&row.hash)
            .is_some_and(|held| held.data == row.data);
        let mut attempt = 0;
        loop {
            let write = row.clone();
            let written = self
                .db
                .run(move |conn| -> Result<(), DbError> {
                    conn.execute(
                        "INSERT OR REPLACE INTO sessions (id_hash, user_id, data, expires_at)
                         VALUES (?, ?, ?, to_timestamp(?))",
                        params![write.hash, write.user_id, write.data, write.expires],
                    )?;
                    Ok(())
                })
                .await;
            match written {
                Ok(()) => {
                    self.remember(&row);
                    return Ok(());
                }
                // Another request of the session wrote it at the same moment: it moved the
                // expiry too.
                Err(e) if conflict(&e) && only_expiry => return Ok(()),
                Err(e) if conflict(&e) && attempt < CONFLICT_RETRIES => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(5 * u64::from(attempt))).await;
                }
                Err(e) => return Err(backend(e)),
            }
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let hash = id_hash(id);
        let version = self.db.data_version();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let held = self
            .stored()
            .get(&hash)
            .filter(|held| held.version == version && held.expires > now)
            .map(|held| (held.data.clone(), held.expires));
        if let Some((data, expires)) = held {
            return record_of(*id, &data, expires).map(Some);
        }
        let key = hash.clone();
        let found = self
            .db
            .run(move |conn| -> Result<Option<(String, i64)>, DbError> {
                Ok(conn
                    .query_row(
                        "SELECT data, epoch(expires_at)::BIGINT FROM sessions
                         WHERE id_hash = ? AND expires_at > now()",
                        [hash],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?)
            })
            .await
            .map_err(backend)?;
        let Some((data, expires)) = found else {
            return Ok(None);
        };
        let record = record_of(*id, &data, expires)?;
        let held = Held {
            data,
            expires,
            version,
        };
        self.stored().insert(key, held);
        Ok(Some(record))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let hash = id_hash(id);
        self.stored().remove(&hash);
        self.db
            .run(move |conn| -> Result<(), DbError> {
                conn.execute("DELETE FROM sessions WHERE id_hash = ?", [hash])?;
                Ok(())
            })
            .await
            .map_err(backend)
    }
}

#[async_trait]
impl ExpiredDeletion for DuckDbStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        self.stored().retain(|_, held| held.expires > now);
        self.db
            .run(|conn| -> Result<(), DbError> {
                conn.execute("DELETE FROM sessions WHERE expires_at <= now()", [])?;
                Ok(())
            })
            .await
            .map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expiry_in_db(db: &Db, record: &Record) -> i64 {
        let conn = db.connect().expect("connection");
        conn.query_row(
            "SELECT epoch(expires_at)::BIGINT FROM sessions WHERE id_hash = ?",
            [id_hash(&record.id)],
            |r| r.get(0),
        )
        .expect("the session's row")
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .expect("runtime")
    }

    #[test]
    fn a_save_that_only_moves_the_expiry_a_little_writes_nothing() {
        let db = Db::open_in_memory("Europe/Rome").expect("database");
        let store = DuckDbStore::new(db.clone());
        runtime().block_on(async {
            let start = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
            let start = start.replace_nanosecond(0).expect("whole seconds");
            let mut record = Record {
                id: Id::default(),
                data: HashMap::new(),
                expiry_date: start,
            };
            store.create(&mut record).await.expect("created");
            record.expiry_date = start + time::Duration::seconds(EXPIRY_STEP_SECONDS - 1);
            store.save(&record).await.expect("saved");
            assert_eq!(expiry_in_db(&db, &record), start.unix_timestamp());
            // A step later, the expiry is written; so is any change of the data.
            record.expiry_date = start + time::Duration::seconds(EXPIRY_STEP_SECONDS);
            store.save(&record).await.expect("saved");
            let moved = start.unix_timestamp() + EXPIRY_STEP_SECONDS;
            assert_eq!(expiry_in_db(&db, &record), moved);
            record
                .data
                .insert(USER_KEY.to_string(), serde_json::json!(7));
            record.expiry_date += time::Duration::seconds(1);
            store.save(&record).await.expect("saved");
            assert_eq!(expiry_in_db(&db, &record), moved + 1);
            // A store started afresh (a restart) reads what the table holds.
            let fresh = DuckDbStore::new(db.clone());
            let loaded = fresh.load(&record.id).await.expect("loaded");
            assert_eq!(loaded.map(|r| r.data), Some(record.data.clone()));
        });
    }

    #[test]
    fn requests_of_one_session_at_the_same_moment_all_succeed() {
        let db = Db::open_in_memory("Europe/Rome").expect("database");
        let store = DuckDbStore::new(db.clone());
        runtime().block_on(async {
            let start = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
            let mut record = Record {
                id: Id::default(),
                data: HashMap::new(),
                expiry_date: start,
            };
            store.create(&mut record).await.expect("created");
            // Fifty requests of the session, each a step apart in expiry, saved at once: as
            // fifty readers sharing one cookie, or a page and its live refresh.
            let saves: Vec<_> = (1..=50i64)
                .map(|i| {
                    let store = store.clone();
                    let mut record = record.clone();
                    record.expiry_date = start + time::Duration::seconds(EXPIRY_STEP_SECONDS * i);
                    tokio::spawn(async move { store.save(&record).await })
                })
                .collect();
            for save in saves {
                save.await.expect("task").expect("every save succeeds");
            }
            assert!(expiry_in_db(&db, &record) > start.unix_timestamp());
        });
    }
}
