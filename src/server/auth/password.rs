//! Password hashing: argon2id with the crate's default cost (19 MiB, 2 passes), stored as a
//! PHC string so the parameters travel with each hash and can be raised later.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::rngs::OsRng;

/// The shortest password accepted (issue #6; NIST SP 800-63B asks at least 8).
pub const MIN_LENGTH: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("a password needs at least {MIN_LENGTH} characters")]
    TooShort,
    #[error("a password may have at most 256 characters")]
    TooLong,
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

impl PasswordError {
    /// The message in Italian (the Display text is English).
    pub fn italian(&self) -> String {
        match self {
            PasswordError::TooShort => format!("una password ha almeno {MIN_LENGTH} caratteri"),
            PasswordError::TooLong => "una password ha al massimo 256 caratteri".into(),
            PasswordError::Hash(e) => format!("impossibile calcolare l'hash della password: {e}"),
        }
    }
}

/// A stored password hash (a PHC string, as read from `users.password_hash`). It implements
/// neither `Serialize` nor a revealing `Debug` (it prints `[redacted]`), so it cannot leave the
/// server in a response, an audit row or a log line; [`verify`] reads it through
/// [`StoredHash::as_phc`].
#[derive(Clone, PartialEq, Eq)]
pub struct StoredHash(String);

impl StoredHash {
    /// The PHC string, for [`verify`].
    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for StoredHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl duckdb::types::FromSql for StoredHash {
    fn column_result(value: duckdb::types::ValueRef<'_>) -> duckdb::types::FromSqlResult<Self> {
        String::column_result(value).map(Self)
    }
}

/// Checks the rules a new password must meet.
pub fn validate(password: &str) -> Result<(), PasswordError> {
    let chars = password.chars().count();
    if chars < MIN_LENGTH {
        return Err(PasswordError::TooShort);
    }
    if chars > 256 {
        return Err(PasswordError::TooLong);
    }
    Ok(())
}

/// Validates and hashes a new password.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    validate(password)?;
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches the stored `hash` (false for a malformed hash).
pub fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash of a random password, verified against when the account does not exist so that
/// an unknown e-mail takes as long as a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"no account has this password", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_hash_prints_redacted() {
        let stored = StoredHash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into());
        assert_eq!(format!("{stored:?}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(&stored)), "Some([redacted])");
        assert!(stored.as_phc().starts_with("$argon2id$"));
    }

    #[test]
    fn hashes_are_argon2id_salted_and_verify() -> Result<(), PasswordError> {
        let a = hash("correct horse battery")?;
        let b = hash("correct horse battery")?;
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "every hash has its own salt");
        assert!(verify("correct horse battery", &a));
        assert!(!verify("correct horse batterY", &a));
        assert!(!verify("anything", "not a hash"));
        Ok(())
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(matches!(hash("elevenchars"), Err(PasswordError::TooShort)));
        assert!(validate("twelve chars").is_ok());
        // Characters, not bytes: twelve accented letters pass.
        assert!(validate("àèìòùàèìòùàè").is_ok());
    }
}
