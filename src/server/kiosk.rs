//! Kiosk links: a screen in a shop or an office shows one store's (or one department's) KPIs
//! without anyone signing in, at `/kiosk/TOKEN`.
//!
//! The token is 256 random bits, shown once at creation; the database keeps only its SHA-256
//! (like API tokens, `super::tokens`) together with the scope it shows and its expiry. The scope
//! therefore lives server-side: nothing in the URL but the token is read (the language aside),
//! so editing the URL cannot widen what a link shows, and a link is revoked by marking its row.
//! A link that is unknown, tampered with, expired or revoked shows nothing; the page does not
//! say which, so a guess learns nothing.
//!
//! Who may create and revoke links is `policy::can_manage_kiosk_link`; here: storing them,
//! resolving a token to its scope, and the view a kiosk shows ([`kiosk_view`]).

use duckdb::{Connection, OptionalExt, params};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::AppError;
use crate::i18n::{Locale, Msg};
use crate::kiosk::{KioskTile, KioskView};
use crate::view::{DEPARTMENTS, department_name};

use super::dashboard::DashboardError;
use super::dashboard::department::department_blocking;
use super::db::Db;

/// The prefix of every kiosk token, so a leaked one is recognisable.
pub const PREFIX: &str = "okpk_";

/// How long a link lives when its creator does not say, and the longest it may live.
pub const DEFAULT_DAYS: u32 = 90;
pub const MAX_DAYS: u32 = 366;

/// How often the kiosk page reloads itself, in seconds.
pub const REFRESH_SECONDS: u32 = 300;

#[derive(Debug, thiserror::Error)]
pub enum KioskError {
    #[error("no store {0:?}")]
    UnknownStore(String),
    #[error("no department {0:?}")]
    UnknownDepartment(String),
    #[error("a kiosk link lasts 1 to {MAX_DAYS} days, not {0}")]
    BadDays(String),
    #[error("no kiosk link number {0}")]
    NotFound(i64),
    #[error("database error: {0}")]
    Sql(#[from] duckdb::Error),
}

impl KioskError {
    /// The message in Italian (the Display text is English).
    pub fn italian(&self) -> String {
        match self {
            KioskError::UnknownStore(s) => format!("nessun negozio {s:?}"),
            KioskError::UnknownDepartment(d) => format!("nessun reparto {d:?}"),
            KioskError::BadDays(d) => {
                format!("un link kiosk dura da 1 a {MAX_DAYS} giorni, non {d}")
            }
            KioskError::NotFound(id) => format!("nessun link kiosk numero {id}"),
            KioskError::Sql(e) => format!("errore del database: {e}"),
        }
    }
}

/// What a link shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// One store's numbers (the stores department's KPIs filtered to the store).
    Store(String),
    /// One department's view, with its targets.
    Department(String),
}

impl Scope {
    /// The department whose KPIs the link shows.
    pub fn department(&self) -> &str {
        match self {
            Scope::Store(_) => "stores",
            Scope::Department(d) => d,
        }
    }
}

/// A link as listed (never its token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    pub id: i64,
    pub scope: Scope,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: String,
    pub last_used_at: Option<String>,
    pub revoked: bool,
    pub expired: bool,
}

fn hash(token: &str) -> String {
    format!("{:x}", Sha256::digest(token.as_bytes()))
}

/// Parses the number of days a new link lives (empty: [`DEFAULT_DAYS`]).
pub fn parse_days(text: &str) -> Result<u32, KioskError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(DEFAULT_DAYS);
    }
    match text.parse::<u32>() {
        Ok(days) if (1..=MAX_DAYS).contains(&days) => Ok(days),
        _ => Err(KioskError::BadDays(text.to_string())),
    }
}

/// Creates a link showing `scope` for `days` days; returns its number and its token (the only
/// time the token is visible).
pub fn create(
    conn: &Connection,
    scope: &Scope,
    days: u32,
    created_by: &str,
) -> Result<(i64, String), KioskError> {
    match scope {
        Scope::Store(store) => {
            let known: i64 = conn.query_row(
                "SELECT count(*) FROM stores WHERE store_id = ?",
                [store],
                |r| r.get(0),
            )?;
            if known == 0 {
                return Err(KioskError::UnknownStore(store.clone()));
            }
        }
        Scope::Department(d) if !DEPARTMENTS.contains(&d.as_str()) => {
            return Err(KioskError::UnknownDepartment(d.clone()));
        }
        Scope::Department(_) => {}
    }
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(KioskError::BadDays(days.to_string()));
    }
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = format!(
        "{PREFIX}{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let (store, department) = match scope {
        Scope::Store(s) => (Some(s.as_str()), None),
        Scope::Department(d) => (None, Some(d.as_str())),
    };
    let id: i64 = conn.query_row(
        "INSERT INTO kiosk_links (token_hash, store_id, department, created_by, expires_at)
         VALUES (?, ?, ?, ?, current_timestamp + to_days(CAST(? AS INTEGER)))
         RETURNING link_id",
        params![hash(&token), store, department, created_by, days],
        |r| r.get(0),
    )?;
    Ok((id, token))
}

fn scope_of(store: Option<String>, department: Option<String>) -> Scope {
    match (store, department) {
        (Some(store), _) => Scope::Store(store),
        (None, department) => Scope::Department(department.unwrap_or_default()),
    }
}

/// Every link, newest first.
pub fn list(conn: &Connection) -> Result<Vec<LinkInfo>, KioskError> {
    let mut stmt = conn.prepare(
        "SELECT link_id, store_id, department, created_by,
                strftime(created_at, '%Y-%m-%d %H:%M'), strftime(expires_at, '%Y-%m-%d %H:%M'),
                strftime(last_used_at, '%Y-%m-%d %H:%M'), revoked_at IS NOT NULL,
                expires_at <= current_timestamp
         FROM kiosk_links ORDER BY link_id DESC",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(LinkInfo {
            id: r.get(0)?,
            scope: scope_of(r.get(1)?, r.get(2)?),
            created_by: r.get(3)?,
            created_at: r.get(4)?,
            expires_at: r.get(5)?,
            last_used_at: r.get(6)?,
            revoked: r.get(7)?,
            expired: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The scope of link `id` (live or not).
pub fn scope(conn: &Connection, id: i64) -> Result<Scope, KioskError> {
    conn.query_row(
        "SELECT store_id, department FROM kiosk_links WHERE link_id = ?",
        [id],
        |r| Ok(scope_of(r.get(0)?, r.get(1)?)),
    )
    .optional()?
    .ok_or(KioskError::NotFound(id))
}

/// Revokes link `id` (revoking a revoked link changes nothing).
pub fn revoke(conn: &Connection, id: i64) -> Result<(), KioskError> {
    scope(conn, id)?;
    conn.execute(
        "UPDATE kiosk_links SET revoked_at = current_timestamp
         WHERE link_id = ? AND revoked_at IS NULL",
        [id],
    )?;
    Ok(())
}

/// The scope a live link shows, recording its use; `None` for an unknown, tampered, expired or
/// revoked token.
pub fn resolve(conn: &Connection, token: &str) -> Result<Option<Scope>, KioskError> {
    if !token.starts_with(PREFIX) {
        return Ok(None);
    }
    let token_hash = hash(token);
    let found: Option<(Option<String>, Option<String>, bool)> = conn
        .query_row(
            "SELECT store_id, department,
                    last_used_at IS NULL OR last_used_at < now() - INTERVAL 1 MINUTE
             FROM kiosk_links
             WHERE token_hash = ? AND revoked_at IS NULL AND expires_at > current_timestamp",
            [&token_hash],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((store, department, stale)) = found else {
        return Ok(None);
    };
    // As for API tokens: recording the use at most once a minute, a conflict only skips it.
    if stale
        && let Err(e) = conn.execute(
            "UPDATE kiosk_links SET last_used_at = now() WHERE token_hash = ?",
            [&token_hash],
        )
    {
        tracing::debug!(error = %e, "the kiosk link's last use was not recorded");
    }
    Ok(Some(scope_of(store, department)))
}

/// What a kiosk shows for `token` in `lang`: `None` when the link is not live.
pub async fn kiosk_view(
    db: &Db,
    token: String,
    lang: Option<String>,
) -> Result<Option<KioskView>, AppError> {
    let locale = Locale::parse(lang.as_deref());
    Ok(db
        .run(move |conn| kiosk_blocking(conn, &token, locale))
        .await?)
}

fn kiosk_blocking(
    conn: &mut Connection,
    token: &str,
    locale: Locale,
) -> Result<Option<KioskView>, DashboardError> {
    let scope = match resolve(conn, token) {
        Ok(Some(scope)) => scope,
        Ok(None) => return Ok(None),
        Err(KioskError::Sql(e)) => return Err(e.into()),
        Err(e) => return Err(DashboardError::BadRequest(e.to_string())),
    };
    // Only what the link's row says reaches the view, with the language: this month so far
    // (the period monthly targets are set for) and the link's store.
    let mut query = vec![("preset", "this_month"), ("lang", locale.code())];
    if let Scope::Store(store) = &scope {
        query.push(("store", store.as_str()));
    }
    let query = crate::url::query(query);
    let view = department_blocking(conn, scope.department(), query.trim_start_matches('?'))?;
    let title = match &scope {
        Scope::Store(store) => {
            let name: Option<String> = conn
                .query_row("SELECT name FROM stores WHERE store_id = ?", [store], |r| {
                    r.get(0)
                })
                .optional()?;
            match name {
                Some(name) => format!("{name} ({store})"),
                None => store.clone(),
            }
        }
        Scope::Department(d) => department_name(d, locale).to_string(),
    };
    // Targets are set per department: a store's screen shows its own numbers, not the
    // department's target, which would judge one store against the whole chain's goal.
    let with_targets = matches!(scope, Scope::Department(_));
    let tiles = view
        .tiles
        .into_iter()
        .map(|t| KioskTile {
            kpi: t.kpi,
            target: with_targets.then_some(t.target),
        })
        .collect();
    Ok(Some(KioskView {
        title,
        subtitle: locale.text(Msg::PresetThisMonth).to_string(),
        tiles,
        refresh_seconds: REFRESH_SECONDS,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_default_and_stay_within_a_year() {
        assert_eq!(parse_days("").ok(), Some(DEFAULT_DAYS));
        assert_eq!(parse_days(" 30 ").ok(), Some(30));
        assert!(parse_days("0").is_err());
        assert!(parse_days("367").is_err());
        assert!(parse_days("-5").is_err());
        assert!(parse_days("ten").is_err());
    }
}
