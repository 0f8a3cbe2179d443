//! API tokens: how machines (a web shop pushing events, a loader) authenticate. A token is
//! shown once at creation; the database keeps only its SHA-256, so a copy of the database
//! does not hand out working tokens. Tokens are 256 random bits, which makes a fast hash
//! enough (argon2 is for passwords people choose).

use duckdb::{Connection, OptionalExt, params};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The prefix of every token, so a leaked one is recognisable in logs and scanners.
pub const PREFIX: &str = "okpi_";

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token name {0:?} must be 1-64 characters of a-z, 0-9, _ and -")]
    BadName(String),
    #[error("a token named {0:?} already exists")]
    Exists(String),
    #[error("no token named {0:?}")]
    NotFound(String),
    #[error("database error: {0}")]
    Sql(#[from] duckdb::Error),
}

/// A token as listed (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    pub name: String,
    pub scope: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked: bool,
}

fn hash(token: &str) -> String {
    format!("{:x}", Sha256::digest(token.as_bytes()))
}

/// Creates a token for ingestion; returns it (the only time it is visible).
pub fn create(conn: &Connection, name: &str) -> Result<String, TokenError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !ok {
        return Err(TokenError::BadName(name.to_string()));
    }
    let exists: i64 = conn.query_row(
        "SELECT count(*) FROM api_tokens WHERE name = ?",
        [name],
        |r| r.get(0),
    )?;
    if exists > 0 {
        return Err(TokenError::Exists(name.to_string()));
    }
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = format!(
        "{PREFIX}{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    conn.execute(
        "INSERT INTO api_tokens (name, token_hash) VALUES (?, ?)",
        params![name, hash(&token)],
    )?;
    Ok(token)
}

/// The name of the live token `token` is, recording its use; `None` for anything else.
pub fn verify(conn: &Connection, token: &str) -> Result<Option<String>, TokenError> {
    if !token.starts_with(PREFIX) {
        return Ok(None);
    }
    let name: Option<String> = conn
        .query_row(
            "UPDATE api_tokens SET last_used_at = now()
             WHERE token_hash = ? AND revoked_at IS NULL RETURNING name",
            [hash(token)],
            |r| r.get(0),
        )
        .optional()?;
    Ok(name)
}

/// Revokes the token named `name`.
pub fn revoke(conn: &Connection, name: &str) -> Result<(), TokenError> {
    let n = conn.execute(
        "UPDATE api_tokens SET revoked_at = now() WHERE name = ? AND revoked_at IS NULL",
        [name],
    )?;
    if n == 0 {
        return Err(TokenError::NotFound(name.to_string()));
    }
    Ok(())
}

/// Every token, by name.
pub fn list(conn: &Connection) -> Result<Vec<TokenInfo>, TokenError> {
    let mut stmt = conn.prepare(
        "SELECT name, scope, CAST(created_at AS VARCHAR), CAST(last_used_at AS VARCHAR),
                revoked_at IS NOT NULL
         FROM api_tokens ORDER BY name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(TokenInfo {
            name: r.get(0)?,
            scope: r.get(1)?,
            created_at: r.get(2)?,
            last_used_at: r.get(3)?,
            revoked: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::db::Db;

    #[test]
    fn a_token_works_until_revoked_and_is_stored_hashed() -> Result<(), Box<dyn std::error::Error>>
    {
        let db = Db::open_in_memory("Europe/Rome")?;
        let conn = db.connect()?;
        let token = create(&conn, "webshop")?;
        assert!(token.starts_with(PREFIX) && token.len() == PREFIX.len() + 64);
        let stored: String =
            conn.query_row("SELECT token_hash FROM api_tokens", [], |r| r.get(0))?;
        assert_ne!(stored, token);
        assert_eq!(verify(&conn, &token)?, Some("webshop".to_string()));
        assert_eq!(verify(&conn, "okpi_wrong")?, None);
        assert!(list(&conn)?[0].last_used_at.is_some());
        revoke(&conn, "webshop")?;
        assert_eq!(verify(&conn, &token)?, None);
        assert!(matches!(
            create(&conn, "webshop"),
            Err(TokenError::Exists(_))
        ));
        Ok(())
    }
}
