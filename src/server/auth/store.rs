//! The session store: tower-sessions records kept in the `sessions` table of the product's own
//! database, so a restart signs nobody out. Ids are stored as SHA-256 hashes; expired rows are
//! deleted by a periodic task ([`ExpiredDeletion`]).

use async_trait::async_trait;
use duckdb::{Connection, OptionalExt, params};
use sha2::{Digest, Sha256};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};

use crate::server::db::{Db, DbError};

/// The session key holding the signed-in user's id.
pub const USER_KEY: &str = "user_id";

#[derive(Clone)]
pub struct DuckDbStore {
    db: Db,
}

impl std::fmt::Debug for DuckDbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DuckDbStore")
    }
}

impl DuckDbStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

fn id_hash(id: &Id) -> String {
    format!("{:x}", Sha256::digest(id.to_string().as_bytes()))
}

fn backend(err: DbError) -> session_store::Error {
    session_store::Error::Backend(err.to_string())
}

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
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let row = Row::of(record)?;
        self.db
            .run(move |conn| -> Result<(), DbError> {
                conn.execute(
                    "INSERT OR REPLACE INTO sessions (id_hash, user_id, data, expires_at)
                     VALUES (?, ?, ?, to_timestamp(?))",
                    params![row.hash, row.user_id, row.data, row.expires],
                )?;
                Ok(())
            })
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let hash = id_hash(id);
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
        let data =
            serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = time::OffsetDateTime::from_unix_timestamp(expires)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let hash = id_hash(id);
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
        self.db
            .run(|conn| -> Result<(), DbError> {
                conn.execute("DELETE FROM sessions WHERE expires_at <= now()", [])?;
                Ok(())
            })
            .await
            .map_err(backend)
    }
}
