//! Optional pseudonymisation: with the setting `pseudonymise = on`, e-mail addresses and
//! phone numbers are stored as salted hashes, never in clear.
//!
//! - What is hashed is the normalised value (trimmed, lower-cased e-mail; E.164 phone), so the
//!   same person's e-mail typed in two systems still gives one value and stitching works as
//!   before. A stored value is `h:` followed by the hex SHA-256 of the salt and the value.
//! - The salt is 32 random bytes drawn once per instance, when the setting is first turned
//!   on, and kept in the `settings` table (key `pseudonym_salt`, not shown on the settings
//!   page; backups carry it). Without it the hashes of new loads would no longer match the
//!   stored ones, so it is never replaced.
//! - Once e-mails or phones are stored hashed the setting cannot be turned off (the values
//!   cannot be recovered), and it cannot be turned on while events hold them in clear (the
//!   two would never stitch): load into a fresh instance, or erase those events first.
//! - The customer search hashes what is typed the same way; the customer 360 shows a hash
//!   shortened (`h:1a2b3c4d…`), and exports carry only the hashes the database holds.

use duckdb::{Connection, OptionalExt};

/// The setting's key.
pub const SETTING: &str = "pseudonymise";
/// Where the instance's salt is kept.
pub const SALT: &str = "pseudonym_salt";
/// How a stored pseudonym starts.
pub const PREFIX: &str = "h:";

/// SQL giving the stored form of the normalised value `expr` (an SQL expression; it is
/// repeated, so it must have no side effects and no positional parameters).
pub fn sql(expr: &str) -> String {
    format!(
        "CASE WHEN (SELECT max(value) FROM settings WHERE key = '{SETTING}') = 'on' \
         THEN '{PREFIX}' || sha256((SELECT max(value) FROM settings WHERE key = '{SALT}') || {expr}) \
         ELSE {expr} END"
    )
}

/// Whether the setting is on.
pub fn enabled(conn: &Connection) -> Result<bool, duckdb::Error> {
    let value: Option<String> = conn
        .query_row("SELECT value FROM settings WHERE key = ?", [SETTING], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(value.as_deref() == Some("on"))
}

/// Whether the setting is on but the salt is missing (someone deleted it): loads refuse to
/// run rather than store values that match nothing.
pub fn salt_missing(conn: &Connection) -> Result<bool, duckdb::Error> {
    if !enabled(conn)? {
        return Ok(false);
    }
    let salt: Option<String> = conn
        .query_row("SELECT value FROM settings WHERE key = ?", [SALT], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(salt.is_none_or(|s| s.is_empty()))
}

/// Whether `value` is a stored pseudonym.
pub fn is_pseudonym(value: &str) -> bool {
    value.len() == PREFIX.len() + 64
        && value.starts_with(PREFIX)
        && value[PREFIX.len()..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Events holding an e-mail or a phone: (in clear, hashed).
pub fn held(conn: &Connection) -> Result<(i64, i64), duckdb::Error> {
    conn.query_row(
        "SELECT count(*) FILTER (WHERE (email IS NOT NULL AND NOT starts_with(email, 'h:'))
                                   OR (phone IS NOT NULL AND NOT starts_with(phone, 'h:'))),
                count(*) FILTER (WHERE starts_with(email, 'h:') OR starts_with(phone, 'h:'))
         FROM events",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// Stores the instance's salt unless it has one (called when the setting is turned on).
pub fn ensure_salt(conn: &Connection) -> Result<(), duckdb::Error> {
    let bytes: [u8; 32] = rand::random();
    let salt: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
        [SALT, salt.as_str()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_recognised() {
        assert!(is_pseudonym(&format!("h:{}", "ab".repeat(32))));
        assert!(!is_pseudonym("h:short"));
        assert!(!is_pseudonym("anna@example.it"));
    }
}
