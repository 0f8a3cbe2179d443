//! The gate every request passes: it finds the route's rule in the policy, works out who is
//! asking (session cookie or API token), refuses cross-site writes, and either lets the request
//! through with a [`RequestAuth`] in its extensions or answers the refusal in the form the
//! route's kind calls for. Also the sign-in, sign-out and own-account form handlers.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, Form, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use serde::Deserialize;
use tower_sessions::Session;

use crate::auth::{CurrentUser, Role};
use crate::error::AppError;
use crate::i18n::{Locale, Msg};
use crate::server::db::DbError;
use crate::server::state::AppState;
use crate::url::query;

use super::policy::{self, Decision, Kind, Principal};
use super::{RequestAuth, keys, password, random_token, same_secret, throttle, users};

/// The form handlers of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/account/password", post(change_password))
        .route("/account/lang", post(change_lang))
}

fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The middleware.
pub async fn gate(
    State(state): State<AppState>,
    session: Session,
    mut req: Request,
    next: Next,
) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let Some((rule, params)) = policy::rule_for(method.as_str(), &path) else {
        return plain_page(StatusCode::NOT_FOUND, Locale::En, Msg::PageNotFound, "");
    };
    if rule.kind == Kind::Asset && rule.access == policy::Access::Public {
        return next.run(req).await;
    }
    let auth = match resolve(&state, &session, req.headers(), rule.kind).await {
        Ok(auth) => auth,
        Err(response) => return response,
    };
    let locale = auth
        .user
        .as_ref()
        .map_or(Locale::En, |u| Locale::parse(Some(&u.lang)));
    let unsafe_method = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    // Only a request carrying someone's session can be forged across sites; an anonymous
    // one is refused by the policy anyway (and the sign-in form checks its own token).
    let cookie_auth = !auth.by_token && auth.principal.is_some();
    if unsafe_method && cookie_auth && !same_origin(req.headers()) {
        tracing::warn!(%path, "cross-site write refused");
        return refuse(rule.kind, AppError::Forbidden, locale, &path);
    }
    if rule.kind == Kind::Page {
        match state.auth.admin_exists(&state.db).await {
            Ok(true) => {}
            Ok(false) => return setup_page(),
            Err(e) => {
                tracing::error!(error = %e, "admin check failed");
                return refuse(rule.kind, AppError::Internal, locale, &path);
            }
        }
        if auth.must_change_password && path != "/account" {
            return Redirect::to("/account").into_response();
        }
        // A signed-in user's pages open in their language unless the link names one.
        if let Some(user) = auth.user.as_ref().filter(|_| method == Method::GET) {
            let query = req.uri().query().unwrap_or_default();
            let has_lang = query
                .split('&')
                .any(|p| p == "lang" || p.starts_with("lang="));
            if !has_lang {
                let sep = if query.is_empty() { "" } else { "&" };
                let to = format!(
                    "{path}?{query}{sep}lang={}",
                    Locale::parse(Some(&user.lang)).code()
                );
                return Redirect::to(&to).into_response();
            }
        }
    }
    let department = params
        .iter()
        .find(|(name, _)| *name == "department")
        .map(|(_, v)| *v);
    match policy::decide(auth.principal.as_ref(), rule.access, department) {
        Decision::Allow if rule.kind == Kind::Page => {
            // The page's inline scripts run only with this response's nonce (Leptos puts it
            // on its hydration and data scripts, see `routes::provide_script_nonce`).
            let nonce = ScriptNonce(random_token());
            let policy = nonce.policy();
            req.extensions_mut().insert(auth);
            req.extensions_mut().insert(nonce);
            let mut response = next.run(req).await;
            if let Ok(value) = HeaderValue::from_str(&policy) {
                response
                    .headers_mut()
                    .insert(header::CONTENT_SECURITY_POLICY, value);
            }
            response
        }
        Decision::Allow => {
            req.extensions_mut().insert(auth);
            next.run(req).await
        }
        Decision::SignIn => match rule.kind {
            Kind::Page | Kind::Form => {
                let target = req
                    .uri()
                    .path_and_query()
                    .map_or("/", |pq| pq.as_str())
                    .to_string();
                Redirect::to(&format!("/login{}", query([("next", target.as_str())])))
                    .into_response()
            }
            kind => refuse(kind, AppError::Unauthorized, locale, &path),
        },
        Decision::Deny => refuse(rule.kind, AppError::Forbidden, locale, &path),
    }
}

/// The nonce a page's inline scripts must carry.
#[derive(Clone, Debug)]
pub struct ScriptNonce(pub String);

impl ScriptNonce {
    /// The page's Content-Security-Policy: scripts from our origin or with this nonce, the
    /// bundle's WebAssembly, nothing else inline; inline styles stay allowed for the SVG
    /// charts' style attributes.
    pub fn policy(&self) -> String {
        format!(
            "default-src 'self'; script-src 'self' 'nonce-{}' 'wasm-unsafe-eval'; \
             style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; \
             base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            self.0
        )
    }
}

/// Works out who is asking.
async fn resolve(
    state: &AppState,
    session: &Session,
    headers: &HeaderMap,
    kind: Kind,
) -> Result<RequestAuth, Response> {
    let internal = |e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, "authentication failed");
        refuse(kind, AppError::Internal, Locale::En, "")
    };
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .unwrap_or_default()
            .to_string();
        let found = state
            .db
            .run(move |conn| {
                crate::server::tokens::principal(conn, &token)
                    .map_err(|e| DbError::Task(e.to_string()))
            })
            .await
            .map_err(|e| internal(&e))?;
        return match found {
            Some(principal) => Ok(RequestAuth {
                principal: Some(principal),
                by_token: true,
                ..RequestAuth::default()
            }),
            None => Err(refuse(
                kind,
                AppError::BadRequest("unknown or revoked API token".into()),
                Locale::En,
                "",
            )
            .map_status(StatusCode::UNAUTHORIZED)),
        };
    }

    let mut auth = RequestAuth::default();
    let user_id = session
        .get::<i64>(keys::USER)
        .await
        .map_err(|e| internal(&e))?;
    if let Some(user_id) = user_id {
        let login_at = session
            .get::<i64>(keys::LOGIN_AT)
            .await
            .map_err(|e| internal(&e))?
            .unwrap_or(0);
        let absolute = i64::from(state.auth.sessions.absolute_hours) * 3600;
        let user = state
            .db
            .run(move |conn| load_user(conn, user_id))
            .await
            .map_err(|e| internal(&e))?;
        match user {
            Some((user, principal)) if now_unix() - login_at < absolute => {
                auth.must_change_password = user.must_change_password;
                auth.user = Some(CurrentUser {
                    email: user.email,
                    display_name: user.display_name,
                    lang: user.lang,
                    role: user.role,
                    department: user.department,
                    sees_personal_data: policy::sees_personal_data(&principal),
                    sees_journeys: policy::decide(
                        Some(&principal),
                        policy::Access::View(policy::View::Journeys),
                        None,
                    ) == Decision::Allow,
                    must_change_password: user.must_change_password,
                    views: principal.grants.clone(),
                });
                auth.principal = Some(principal);
                // Extend the idle timeout, at most once a minute (each extension is a write).
                let seen = session.get::<i64>(keys::SEEN_AT).await.ok().flatten();
                if seen.is_none_or(|s| now_unix() - s >= 60) {
                    session
                        .insert(keys::SEEN_AT, now_unix())
                        .await
                        .map_err(|e| internal(&e))?;
                }
            }
            // Disabled, deleted, or past the absolute timeout: the session ends.
            _ => {
                session.flush().await.map_err(|e| internal(&e))?;
            }
        }
    }
    if matches!(kind, Kind::Page | Kind::Form | Kind::ServerFn) {
        auth.csrf = match session
            .get::<String>(keys::CSRF)
            .await
            .map_err(|e| internal(&e))?
        {
            Some(token) => Some(token),
            None if kind == Kind::Page => {
                let token = random_token();
                session
                    .insert(keys::CSRF, &token)
                    .await
                    .map_err(|e| internal(&e))?;
                Some(token)
            }
            None => None,
        };
    }
    Ok(auth)
}

/// The enabled account `user_id` and its principal (with a viewer's grants).
fn load_user(
    conn: &mut duckdb::Connection,
    user_id: i64,
) -> Result<Option<(users::User, Principal)>, DbError> {
    let user = users::get(conn, user_id).map_err(|e| DbError::Task(e.to_string()))?;
    let Some(user) = user.filter(|u| !u.disabled) else {
        return Ok(None);
    };
    let grants = match (&user.role, &user.department) {
        (Role::Viewer, Some(d)) => {
            let mut stmt =
                conn.prepare("SELECT view FROM department_views WHERE department = ? ORDER BY 1")?;
            let rows = stmt.query_map([d], |r| r.get::<_, String>(0))?;
            rows.collect::<Result<Vec<_>, _>>()?
        }
        _ => Vec::new(),
    };
    let principal = Principal {
        label: user.email.clone(),
        role: Some(user.role),
        department: user.department.clone(),
        grants,
        user_id: Some(user.id),
    };
    Ok(Some((user, principal)))
}

/// A write is accepted only from our own pages: its `Origin` (or, without one, its `Referer`)
/// must name the host the request was sent to. With SameSite=Lax cookies and the per-session
/// token every form carries, this is the CSRF defence.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    let Some(source) = source else {
        return false;
    };
    let authority = source
        .split_once("://")
        .map(|(_, rest)| rest.split('/').next().unwrap_or_default());
    authority.is_some_and(|a| a.eq_ignore_ascii_case(host))
}

trait MapStatus {
    fn map_status(self, status: StatusCode) -> Self;
}

impl MapStatus for Response {
    fn map_status(mut self, status: StatusCode) -> Self {
        *self.status_mut() = status;
        self
    }
}

/// A refusal in the form the route's kind calls for.
pub fn refuse(kind: Kind, error: AppError, locale: Locale, path: &str) -> Response {
    let status = StatusCode::from_u16(error.status_code()).unwrap_or(StatusCode::FORBIDDEN);
    match kind {
        Kind::ServerFn => {
            let body = serde_json::to_string(&error).unwrap_or_default();
            let mut response = (status, body).into_response();
            if let Ok(path) = HeaderValue::from_str(path) {
                response.headers_mut().insert("serverfnerror", path);
            }
            response
        }
        Kind::Api | Kind::Asset => (
            status,
            axum::Json(serde_json::json!({ "error": error.to_string() })),
        )
            .into_response(),
        Kind::Page | Kind::Form => match error {
            AppError::Forbidden => plain_page(status, locale, Msg::DeniedTitle, ""),
            AppError::Unauthorized => Redirect::to("/login").into_response(),
            _ => plain_page(status, locale, Msg::ErrorTitle, ""),
        },
    }
}

/// A small page of our own for answers given before the app renders: no access, not found,
/// no admin yet. Styled like the app, with a way back.
fn plain_page(status: StatusCode, locale: Locale, title: Msg, detail: &str) -> Response {
    let lang = locale.code();
    let title = locale.text(title);
    let back = locale.text(Msg::BackHome);
    let html = format!(
        "<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · omnikpi</title><link rel=\"stylesheet\" href=\"/pkg/omnikpi.css\">\
         </head><body><main class=\"notice\"><h1>{title}</h1>{detail}\
         <p><a href=\"/\">{back}</a></p></main></body></html>"
    );
    let mut response = (status, axum::response::Html(html)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// What the server shows while no admin exists.
fn setup_page() -> Response {
    plain_page(
        StatusCode::SERVICE_UNAVAILABLE,
        Locale::En,
        Msg::SetupTitle,
        "<p>No administrator exists yet. Create the first one on the server:</p>\
         <pre>omnikpi user add --email you@example.com --role admin</pre>\
         <p>(the command asks for the password), then reload this page.</p>",
    )
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
                .map_or(password::dummy_hash(), |u| u.password_hash.as_str());
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
            if !password::verify(&form.current, &stored.password_hash) {
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

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            if let Ok(v) = HeaderValue::from_str(value) {
                map.insert(name.clone(), v);
            }
        }
        map
    }

    #[test]
    fn writes_must_come_from_our_own_origin() {
        let host = (header::HOST, "127.0.0.1:3000");
        assert!(same_origin(&headers(&[
            host.clone(),
            (header::ORIGIN, "http://127.0.0.1:3000")
        ])));
        assert!(same_origin(&headers(&[
            host.clone(),
            (header::REFERER, "http://127.0.0.1:3000/admin/users?x=1")
        ])));
        assert!(!same_origin(&headers(&[
            host.clone(),
            (header::ORIGIN, "http://evil.example")
        ])));
        assert!(!same_origin(&headers(&[
            host.clone(),
            (header::ORIGIN, "http://127.0.0.1:3000.evil.example")
        ])));
        assert!(!same_origin(&headers(&[host, (header::ORIGIN, "null")])));
        assert!(!same_origin(&headers(&[])));
    }

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
