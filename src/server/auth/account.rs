//! One's own account: signing in (with throttling and a fresh session id), signing out, and
//! changing one's password and language. These are the form handlers the gate lets through
//! to anyone (sign-in) or to the signed-in user; each checks the session's anti-forgery token.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, Form, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use serde::Deserialize;
use tower_sessions::Session;

use crate::auth::Role;
use crate::error::AppError;
use crate::i18n::Locale;
use crate::server::db::DbError;
use crate::server::state::AppState;
use crate::url::query;

use super::gate::{now_unix, refuse};
use super::policy::Kind;
use super::{RequestAuth, keys, password, random_token, same_secret, throttle, users};

/// The form handlers of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/account/password", post(change_password))
        .route("/account/lang", post(change_lang))
}

/// Where a user lands after signing in, when no page was asked for: the view of their work.
/// Executives and admins the company view, a lead their department, the CX officer the
/// journeys, a viewer the company view if granted, else their department.
pub fn landing(role: Role, department: Option<&str>, grants_company: bool) -> String {
    match (role, department) {
        (Role::Lead, Some(d)) => format!("/dept/{d}"),
        (Role::Viewer, Some(d)) if !grants_company => format!("/dept/{d}"),
        (Role::CxOfficer, _) => "/journeys".into(),
        _ => "/".into(),
    }
}

/// A local path to return to after signing in; anything else (another site, `//evil`) is
/// ignored.
fn safe_next(next: Option<&str>) -> Option<String> {
    let next = next?.trim();
    let local = next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\");
    (local && !next.starts_with("/login")).then(|| next.to_string())
}

fn client_ip(req_ip: Option<&ConnectInfo<SocketAddr>>) -> Option<IpAddr> {
    req_ip.map(|ConnectInfo(addr)| addr.ip())
}

async fn csrf_ok(session: &Session, sent: &str) -> bool {
    match session.get::<String>(keys::CSRF).await {
        Ok(Some(token)) => same_secret(&token, sent),
        _ => false,
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    csrf: String,
    next: Option<String>,
}

fn login_again(error: &str, next: Option<&str>, wait: Option<Duration>) -> Response {
    let wait = wait.map(|w| w.as_secs().max(1).to_string());
    let mut query = vec![("error", error)];
    if let Some(next) = next {
        query.push(("next", next));
    }
    if let Some(wait) = &wait {
        query.push(("wait", wait));
    }
    Redirect::to(&format!("/login{}", crate::url::query(query))).into_response()
}

/// POST /login: checks the password (same answer for an unknown account and a wrong
/// password), throttles guessing, and starts a fresh session.
async fn login(
    State(state): State<AppState>,
    session: Session,
    connect: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    if !csrf_ok(&session, &form.csrf).await {
        return login_again("expired", next.as_deref(), None);
    }
    let ip = client_ip(connect.as_ref().map(|axum::Extension(c)| c));
    let throttle_keys = throttle::keys(&form.email, ip);
    if let Some(wait) = state.auth.throttle.wait(&throttle_keys, Instant::now()) {
        return login_again("throttled", next.as_deref(), Some(wait));
    }
    let email = form.email.clone();
    let secret = form.password;
    let checked = state
        .db
        .run(move |conn| -> Result<Option<users::User>, DbError> {
            let user = users::find(conn, &email).map_err(|e| DbError::Task(e.to_string()))?;
            // An unknown account costs the same hash as a known one.
            let hash = user
                .as_ref()
                .map_or(password::dummy_hash(), |u| u.password_hash.as_phc());
            let matches = password::verify(&secret, hash);
            Ok(user.filter(|u| matches && !u.disabled))
        })
        .await;
    let user = match checked {
        Ok(Some(user)) => user,
        Ok(None) => {
            state.auth.throttle.failed(&throttle_keys, Instant::now());
            tracing::info!(email = %form.email.trim(), "sign-in failed");
            return login_again("invalid", next.as_deref(), None);
        }
        Err(e) => {
            tracing::error!(error = %e, "sign-in failed");
            return login_again("internal", next.as_deref(), None);
        }
    };
    state.auth.throttle.succeeded(&throttle_keys[0]);
    // A new id at sign-in: a session id planted before cannot be ridden afterwards.
    let started = async {
        session.cycle_id().await?;
        session.insert(keys::USER, user.id).await?;
        session.insert(keys::LOGIN_AT, now_unix()).await?;
        session.insert(keys::SEEN_AT, now_unix()).await?;
        session.insert(keys::CSRF, random_token()).await?;
        Ok::<_, tower_sessions::session::Error>(())
    };
    if let Err(e) = started.await {
        tracing::error!(error = %e, "cannot start a session");
        return login_again("internal", next.as_deref(), None);
    }
    let id = user.id;
    let role = user.role;
    let department = user.department.clone();
    let grants_company = state
        .db
        .run(move |conn| -> Result<bool, DbError> {
            let task = |e: users::UserError| DbError::Task(e.to_string());
            users::touch_login(conn, id).map_err(task)?;
            users::department_sees_company(conn, &department.unwrap_or_default()).map_err(task)
        })
        .await
        .unwrap_or(false);
    let to = if user.must_change_password {
        "/account".to_string()
    } else {
        next.unwrap_or_else(|| landing(role, user.department.as_deref(), grants_company))
    };
    Redirect::to(&to).into_response()
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// POST /logout.
async fn logout(session: Session, Form(form): Form<CsrfForm>) -> Response {
    if !csrf_ok(&session, &form.csrf).await {
        return refuse(Kind::Form, AppError::Forbidden, Locale::En, "");
    }
    if let Err(e) = session.flush().await {
        tracing::error!(error = %e, "cannot end a session");
    }
    Redirect::to("/login").into_response()
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    current: String,
    new: String,
    confirm: String,
}

fn account_result(key: &str, value: &str) -> Response {
    Redirect::to(&format!("/account{}", query([(key, value)]))).into_response()
}

/// POST /account/password: the signed-in user changes their own password.
async fn change_password(
    State(state): State<AppState>,
    session: Session,
    axum::Extension(auth): axum::Extension<RequestAuth>,
    Form(form): Form<PasswordForm>,
) -> Response {
    if !csrf_ok(&session, &form.csrf).await {
        return refuse(Kind::Form, AppError::Forbidden, Locale::En, "");
    }
    let Some(user) = auth.user else {
        return Redirect::to("/login").into_response();
    };
    if form.new != form.confirm {
        return account_result("error", "mismatch");
    }
    if let Err(e) = password::validate(&form.new) {
        let code = match e {
            password::PasswordError::TooShort => "short",
            _ => "long",
        };
        return account_result("error", code);
    }
    let email = user.email.clone();
    let changed = state
        .db
        .run(move |conn| -> Result<bool, DbError> {
            let task = |e: users::UserError| DbError::Task(e.to_string());
            let Some(stored) = users::find(conn, &email).map_err(task)? else {
                return Ok(false);
            };
            if !password::verify(&form.current, stored.password_hash.as_phc()) {
                return Ok(false);
            }
            let tx = conn.transaction()?;
            users::set_password(&tx, &email, &form.new, false).map_err(task)?;
            super::audit::record::<(), ()>(&tx, &email, "password.change", &email, None, None)?;
            tx.commit()?;
            Ok(true)
        })
        .await;
    match changed {
        Ok(true) => {
            // The change ended every session of this user; this one continues under a new id.
            let restarted = async {
                session.cycle_id().await?;
                session.insert(keys::CSRF, random_token()).await?;
                Ok::<_, tower_sessions::session::Error>(())
            };
            if let Err(e) = restarted.await {
                tracing::error!(error = %e, "cannot renew the session");
            }
            account_result("ok", "password")
        }
        Ok(false) => account_result("error", "current"),
        Err(e) => {
            tracing::error!(error = %e, "password change failed");
            account_result("error", "internal")
        }
    }
}

#[derive(Deserialize)]
pub struct LangForm {
    #[serde(default)]
    csrf: String,
    lang: String,
}

/// POST /account/lang: the language the user's pages open in.
async fn change_lang(
    State(state): State<AppState>,
    session: Session,
    axum::Extension(auth): axum::Extension<RequestAuth>,
    Form(form): Form<LangForm>,
) -> Response {
    if !csrf_ok(&session, &form.csrf).await {
        return refuse(Kind::Form, AppError::Forbidden, Locale::En, "");
    }
    let Some(user) = auth.user else {
        return Redirect::to("/login").into_response();
    };
    let lang = Locale::parse(Some(&form.lang)).code().to_string();
    let result = state
        .db
        .run(move |conn| -> Result<(), DbError> {
            users::set_lang(conn, &user.email, &lang).map_err(|e| DbError::Task(e.to_string()))
        })
        .await;
    match result {
        Ok(()) => account_result("ok", "lang"),
        Err(e) => {
            tracing::error!(error = %e, "language change failed");
            account_result("error", "internal")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_lands_on_the_view_of_its_work() {
        assert_eq!(landing(Role::Executive, None, false), "/");
        assert_eq!(landing(Role::Admin, None, false), "/");
        assert_eq!(landing(Role::Lead, Some("stores"), true), "/dept/stores");
        assert_eq!(landing(Role::CxOfficer, None, true), "/journeys");
        assert_eq!(landing(Role::Viewer, Some("sales"), true), "/");
        assert_eq!(landing(Role::Viewer, Some("sales"), false), "/dept/sales");
    }

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/admin?x=1")), Some("/admin?x=1".into()));
        assert_eq!(safe_next(Some("//evil.example/")), None);
        assert_eq!(safe_next(Some("https://evil.example/")), None);
        assert_eq!(safe_next(Some("/\\evil.example")), None);
        assert_eq!(safe_next(Some("/login?next=/")), None);
        assert_eq!(safe_next(None), None);
    }
}
