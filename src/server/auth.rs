//! Users, sessions and authorisation.
//!
//! - [`users`] and [`password`]: accounts, argon2id hashes;
//! - [`store`]: the DuckDB-backed session store of tower-sessions;
//! - [`policy`]: the one place that decides who may do what, route by route;
//! - [`gate`]: the middleware that applies the policy to every request;
//! - [`account`]: signing in and out, one's own password and language;
//! - [`throttle`]: slowing down password guessing; [`audit`]: the log of every change.
//!
//! The gate puts a [`RequestAuth`] in each request's extensions; server functions and pages
//! read it through [`current`] and ask the policy with [`require`].

pub mod account;
pub mod audit;
pub mod gate;
pub mod password;
pub mod policy;
pub mod store;
pub mod throttle;
pub mod users;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::auth::{CurrentUser, Visitor};
use crate::error::AppError;

use super::config::SessionConfig;
use super::db::{Db, DbError};
use policy::{Access, Decision, Principal};

/// Session keys.
pub mod keys {
    pub use super::store::USER_KEY as USER;
    /// Unix time of the sign-in (the absolute timeout counts from it).
    pub const LOGIN_AT: &str = "login_at";
    /// Unix time the session was last extended (the idle timeout counts from it).
    pub const SEEN_AT: &str = "seen_at";
    pub const CSRF: &str = "csrf";
    /// A message or a secret shown once on the next page (a new API token).
    pub const FLASH: &str = "flash";
}

/// An enabled account and the principal it acts as.
pub type Account = (users::User, Principal);

/// What the server keeps about authentication besides the database.
#[derive(Debug)]
pub struct AuthState {
    pub throttle: throttle::Throttle,
    pub sessions: SessionConfig,
    /// Set once an admin is known to exist; admins cannot all be removed, so it stays true.
    admin_seen: AtomicBool,
    /// Per user id, the enabled account and its principal as read at a data version (see
    /// [`AuthState::account`]).
    accounts: Mutex<HashMap<i64, (u64, Option<Account>)>>,
}

impl AuthState {
    pub fn new(sessions: SessionConfig) -> Self {
        Self {
            throttle: throttle::Throttle::default(),
            sessions,
            admin_seen: AtomicBool::new(false),
            accounts: Mutex::default(),
        }
    }

    /// The enabled account `user_id` and its principal (with a viewer's grants), read once
    /// per data version: every change of an account or of a department's views is a write
    /// through the server, which moves the version.
    pub async fn account(&self, db: &Db, user_id: i64) -> Result<Option<Account>, DbError> {
        let accounts = || self.accounts.lock().unwrap_or_else(PoisonError::into_inner);
        let version = db.data_version();
        if let Some((at, found)) = accounts().get(&user_id)
            && *at == version
        {
            return Ok(found.clone());
        }
        let found = db.run(move |conn| gate::load_user(conn, user_id)).await?;
        accounts().insert(user_id, (version, found.clone()));
        Ok(found)
    }

    /// Whether an enabled admin exists.
    pub async fn admin_exists(&self, db: &Db) -> Result<bool, DbError> {
        if self.admin_seen.load(Ordering::Relaxed) {
            return Ok(true);
        }
        let exists = db
            .run(|conn| users::admin_exists(conn).map_err(|e| DbError::Task(e.to_string())))
            .await?;
        if exists {
            self.admin_seen.store(true, Ordering::Relaxed);
        }
        Ok(exists)
    }
}

/// Who is behind a request, as the gate resolved it.
#[derive(Clone, Debug, Default)]
pub struct RequestAuth {
    pub principal: Option<Principal>,
    pub user: Option<CurrentUser>,
    /// The session's anti-forgery token (pages only).
    pub csrf: Option<String>,
    /// Authenticated by an API token rather than a session cookie.
    pub by_token: bool,
    pub must_change_password: bool,
}

/// The authentication of the request being served (server functions and pages).
pub fn current() -> RequestAuth {
    leptos::prelude::use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<RequestAuth>().cloned())
        .unwrap_or_default()
}

/// Who is looking at the page.
pub async fn visitor() -> Visitor {
    let auth = current();
    Visitor {
        user: auth.user,
        csrf: auth.csrf.unwrap_or_default(),
        unread_alerts: 0,
    }
}

/// Checks `access` for the current request (with the department it is about, if any) and
/// returns who is asking.
pub fn require(access: Access, department: Option<&str>) -> Result<Principal, AppError> {
    let auth = current();
    match policy::decide(auth.principal.as_ref(), access, department) {
        Decision::Allow => auth.principal.ok_or(AppError::Unauthorized),
        Decision::SignIn => Err(AppError::Unauthorized),
        Decision::Deny => Err(AppError::Forbidden),
    }
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A fresh random token (CSRF), 128 bits as hex.
pub fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
        assert!(!same_secret("", "a"));
        assert_eq!(random_token().len(), 32);
        assert_ne!(random_token(), random_token());
    }
}
