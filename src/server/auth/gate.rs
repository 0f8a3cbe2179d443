//! The gate every request passes: it finds the route's rule in the policy, works out who is
//! asking (session cookie or API token), refuses cross-site writes, and either lets the request
//! through with a [`RequestAuth`] in its extensions or answers the refusal in the form the
//! route's kind calls for. The sign-in, sign-out and own-account form handlers are
//! [`super::account`]'s.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use crate::auth::{CurrentUser, Role};
use crate::error::AppError;
use crate::i18n::{Locale, Msg};
use crate::server::db::DbError;
use crate::server::state::AppState;
use crate::url::query;

use super::policy::{self, Decision, Kind, Principal};
use super::{RequestAuth, keys, random_token, users};

pub(super) fn now_unix() -> i64 {
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
            .auth
            .account(&state.db, user_id)
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
pub(super) fn load_user(
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
}
