//! API tokens: how machines (a web shop pushing events, a loader, a reporting script)
//! authenticate. A token acts with a role: `ingest` (may only send events) or one of the user
//! roles, with the same rights as a user of that role (see `auth::policy`). A token is
//! shown once at creation; the database keeps only its SHA-256, so a copy of the database
//! does not hand out working tokens. Tokens are 256 random bits, which makes a fast hash
//! enough (argon2 is for passwords people choose).

use duckdb::{Connection, OptionalExt, params};

use crate::auth::Role;
use crate::server::auth::policy::Principal;
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
    #[error("token role must be ingest, admin, executive, lead, cx_officer or viewer, not {0:?}")]
    BadRole(String),
    #[error("a {0} token needs a department; other roles take none")]
    Department(String),
    #[error("database error: {0}")]
    Sql(#[from] duckdb::Error),
}

impl TokenError {
    /// The message in Italian (the Display text is English).
    pub fn italian(&self) -> String {
        match self {
            TokenError::BadName(n) => {
                format!(
                    "il nome del token {n:?} deve avere da 1 a 64 caratteri tra a-z, 0-9, _ e -"
                )
            }
            TokenError::Exists(n) => format!("esiste già un token di nome {n:?}"),
            TokenError::NotFound(n) => format!("nessun token di nome {n:?}"),
            TokenError::BadRole(r) => format!(
                "il ruolo del token deve essere ingest, admin, executive, lead, cx_officer o \
                 viewer, non {r:?}"
            ),
            TokenError::Department(r) => {
                format!("un token {r} richiede un reparto; gli altri ruoli non ne hanno")
            }
            TokenError::Sql(e) => format!("errore del database: {e}"),
        }
    }
}

/// A token as listed (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    pub name: String,
    /// `ingest` or a user role.
    pub role: String,
    pub department: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked: bool,
}

fn hash(token: &str) -> String {
    format!("{:x}", Sha256::digest(token.as_bytes()))
}

/// The role a token acts with: `None` for `ingest`.
fn parse_role(role: &str) -> Result<Option<Role>, TokenError> {
    if role == INGEST {
        return Ok(None);
    }
    role.parse()
        .map(Some)
        .map_err(|_| TokenError::BadRole(role.to_string()))
}

/// The role of tokens that may only send events.
pub const INGEST: &str = "ingest";

/// Creates a token acting with `role` (`ingest` or a user role, with `department` for a lead
/// or a viewer); returns it (the only time it is visible).
pub fn create(
    conn: &Connection,
    name: &str,
    role: &str,
    department: Option<&str>,
) -> Result<String, TokenError> {
    let parsed = parse_role(role)?;
    if parsed.is_some_and(Role::has_department) != department.is_some() {
        return Err(TokenError::Department(role.to_string()));
    }
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
        "INSERT INTO api_tokens (name, token_hash, role, department) VALUES (?, ?, ?, ?)",
        params![name, hash(&token), role, department],
    )?;
    Ok(token)
}

/// Who a live token acts as, recording its use; `None` for anything else.
pub fn principal(conn: &Connection, token: &str) -> Result<Option<Principal>, TokenError> {
    if !token.starts_with(PREFIX) {
        return Ok(None);
    }
    let token_hash = hash(token);
    // Read first: a lookup never conflicts. Recording the use is a write, and two requests
    // with the same token at the same moment would conflict on the row (DuckDB: "Conflict on
    // tuple deletion", found by scripts/soak.sh as 500s), so it is done at most once a minute
    // and a conflict only skips it.
    let found: Option<(String, String, Option<String>, bool)> = conn
        .query_row(
            "SELECT name, coalesce(role, 'ingest'), department,
                    last_used_at IS NULL OR last_used_at < now() - INTERVAL 1 MINUTE
             FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL",
            [&token_hash],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((name, role, department, stale)) = found else {
        return Ok(None);
    };
    if stale
        && let Err(e) = conn.execute(
            "UPDATE api_tokens SET last_used_at = now() WHERE token_hash = ?",
            [&token_hash],
        )
    {
        tracing::debug!(error = %e, token = %name, "the token's last use was not recorded");
    }
    let role = parse_role(&role)?;
    let grants = match (role, &department) {
        (Some(Role::Viewer), Some(d)) => {
            let mut stmt =
                conn.prepare("SELECT view FROM department_views WHERE department = ?")?;
            let rows = stmt.query_map([d], |r| r.get::<_, String>(0))?;
            rows.collect::<Result<Vec<_>, _>>()?
        }
        _ => Vec::new(),
    };
    Ok(Some(Principal {
        label: format!("token:{name}"),
        role,
        department,
        grants,
        user_id: None,
    }))
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
        "SELECT name, coalesce(role, 'ingest'), department, strftime(created_at, '%Y-%m-%d %H:%M'),
                strftime(last_used_at, '%Y-%m-%d %H:%M'), revoked_at IS NOT NULL
         FROM api_tokens ORDER BY name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(TokenInfo {
            name: r.get(0)?,
            role: r.get(1)?,
            department: r.get(2)?,
            created_at: r.get(3)?,
            last_used_at: r.get(4)?,
            revoked: r.get(5)?,
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
        let token = create(&conn, "webshop", INGEST, None)?;
        assert!(token.starts_with(PREFIX) && token.len() == PREFIX.len() + 64);
        let stored: String =
            conn.query_row("SELECT token_hash FROM api_tokens", [], |r| r.get(0))?;
        assert_ne!(stored, token);
        let who = principal(&conn, &token)?.map(|p| (p.label, p.role));
        assert_eq!(who, Some(("token:webshop".to_string(), None)));
        assert_eq!(principal(&conn, "okpi_wrong")?, None);
        assert!(list(&conn)?[0].last_used_at.is_some());
        revoke(&conn, "webshop")?;
        assert_eq!(principal(&conn, &token)?, None);
        assert!(matches!(
            create(&conn, "webshop", INGEST, None),
            Err(TokenError::Exists(_))
        ));
        assert!(matches!(
            create(&conn, "report", "lead", None),
            Err(TokenError::Department(_))
        ));
        assert!(matches!(
            create(&conn, "report", "boss", None),
            Err(TokenError::BadRole(_))
        ));
        let lead = create(&conn, "report", "lead", Some("stores"))?;
        let who = principal(&conn, &lead)?.ok_or("no principal")?;
        assert_eq!(who.role, Some(Role::Lead));
        assert_eq!(who.department.as_deref(), Some("stores"));
        assert_eq!(who.label, "token:report");
        Ok(())
    }
}
