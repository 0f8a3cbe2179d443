//! What every HTML form handler needs: the posted fields, the anti-forgery check against the
//! session's token, and who is acting (for the audit log).
//!
//! The gate has already checked the route's access and the request's origin; a handler checks
//! the form's token itself because only it knows the form's fields.

use tower_sessions::Session;

use super::auth::{RequestAuth, keys, same_secret};

/// A posted form's fields, in order (a name may repeat, e.g. check boxes).
pub type Fields = Vec<(String, String)>;

/// The trimmed value of `name`, empty when absent.
pub fn field<'a>(fields: &'a Fields, name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
        .trim()
}

/// The trimmed value of `name`, `None` when absent or blank.
pub fn optional<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    Some(field(fields, name)).filter(|v| !v.is_empty())
}

/// Whether the form's `csrf` field is the session's anti-forgery token.
pub async fn csrf_ok(session: &Session, fields: &Fields) -> bool {
    let expected = session.get::<String>(keys::CSRF).await.ok().flatten();
    expected.is_some_and(|t| same_secret(&t, field(fields, "csrf")))
}

/// What a form with a stale or missing token answers.
pub const EXPIRED: &str = "the form expired; reload the page and try again";

/// Who the audit log names for this request: the user's e-mail or `token:<name>`.
pub fn actor(auth: &RequestAuth) -> String {
    auth.principal
        .as_ref()
        .map_or_else(|| "unknown".to_string(), |p| p.label.clone())
}
