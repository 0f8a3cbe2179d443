//! The one routing table: pages, server functions, the JSON API, form handlers, health and
//! static files, behind the session layer and the authorisation gate (`auth::gate`), which
//! every request passes before it reaches a handler.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::routing::get;
use leptos_axum::{LeptosRoutes, file_and_error_handler, generate_route_list};
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_sessions::cookie::SameSite;
use tower_sessions::session_store::ExpiredDeletion;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::app::{App, shell};

use super::auth::{account, gate, store::DuckDbStore};
use super::db::Db;
use super::state::AppState;
use super::{admin, api, export};

/// The longest any request may take (a load through the API included).
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "omnikpi_session";

/// The whole application as an axum router.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    let sessions = &state.auth.sessions;
    let session_layer = SessionManagerLayer::new(DuckDbStore::new(state.db.clone()))
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(sessions.secure_cookie)
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(i64::from(
            sessions.idle_minutes,
        ))));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(super::ops::readyz))
        .route("/metrics", get(super::ops::metrics))
        .route("/ops/backup", axum::routing::post(super::ops::backup))
        .nest("/api/v1", api::router())
        .merge(account::router())
        .merge(admin::router())
        .merge(export::router())
        .merge(super::journey::forms::router())
        .merge(super::dashboard::forms::router())
        .merge(super::identity::forms::router())
        .merge(super::alerts::forms::router())
        .merge(super::theme::router())
        .leptos_routes_with_context(&state, routes, provide_script_nonce, move || {
            shell(options.clone())
        })
        .fallback(file_and_error_handler::<AppState, _>(shell))
        // Behind the gate: a kept page is answered only to a request the gate let through.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            super::page_cache::serve,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), gate::gate))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            invalidate_after_writes,
        ))
        .layer(session_layer)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            super::ops::track,
        ))
        .layer(CompressionLayer::new().compress_when(compressible_asset))
        // No request may hang a client forever: past two minutes it is answered 408.
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        // Every request gets an id (the caller's x-request-id, or a new one), answered back
        // and recorded on the span all its log lines carry.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(super::ops::request_span)
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::x_request_id(super::ops::MakeRequestId))
        .with_state(state)
}

/// Whether a response is gzipped for a client that accepts it: the client bundle and styles
/// (the wasm is a third of its size gzipped, which a phone on a mobile network feels), never
/// pages or API answers. A page carries the session's anti-forgery token next to text the
/// request chose, the case in which compression lets an eavesdropper guess a secret from
/// response sizes (BREACH); a proxy in front may still compress them if its operator accepts
/// that.
fn compressible_asset(
    status: StatusCode,
    _version: axum::http::Version,
    headers: &axum::http::HeaderMap,
    _extensions: &axum::http::Extensions,
) -> bool {
    let asset = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim())
        .is_some_and(|mime| {
            matches!(
                mime,
                "application/wasm" | "text/javascript" | "application/javascript" | "text/css"
            )
        });
    asset && status.is_success()
}

/// For every response that did not set its own (pages set one with their script nonce, see
/// `app::shell`): nothing inline runs, no plugins, no framing, forms only to ourselves.
/// Styles may be inline: the server-rendered SVG charts carry style attributes.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data:; object-src 'none'; base-uri 'none'; \
                   form-action 'self'; frame-ancestors 'none'";

/// Renders the page with the nonce the gate put in its response's CSP, instead of the one
/// Leptos would draw itself, so header and scripts always agree.
fn provide_script_nonce() {
    let nonce = leptos::prelude::use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<gate::ScriptNonce>().cloned());
    if let Some(gate::ScriptNonce(value)) = nonce {
        leptos::prelude::provide_context(leptos::nonce::Nonce::from_value(value));
    }
}

/// Deletes expired sessions every 10 minutes, for as long as the server runs.
pub async fn delete_expired_sessions(db: Db) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        tick.tick().await;
        if let Err(e) = purge_expired_sessions(&db).await {
            tracing::warn!(error = %e, "deleting expired sessions failed");
        }
    }
}

/// Deletes the sessions past their expiry.
pub async fn purge_expired_sessions(db: &Db) -> Result<(), tower_sessions::session_store::Error> {
    DuckDbStore::new(db.clone()).delete_expired().await
}

/// Any request that may have written makes the cached results stale (see `Db::cached`)
/// and moves the data version open dashboards poll, once it is answered, whatever it wrote:
/// see [`may_write`].
async fn invalidate_after_writes(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    let writes = may_write(req.method().as_str(), req.uri().path())
        && !invalidates_itself(req.method().as_str(), req.uri().path());
    let response = next.run(req).await;
    if writes {
        state.db.invalidate();
    }
    response
}

/// Whether a request writes only through a load, whose writer lock invalidates exactly the
/// cached results of the days the load changed (`WriteGuard::changed`): the events API, which
/// live feeds call every second, would otherwise empty the whole cache each time.
pub fn invalidates_itself(method: &str, path: &str) -> bool {
    method == "POST" && path == "/api/v1/events"
}

/// Whether a request may change data: every method but GET and HEAD (forms, the events API,
/// backups), except Leptos server functions, which only fetch a page's data (the test
/// `server_functions_only_read` in tests/kpi_cache.rs lists them: a new one must be a read
/// too). Exempting them matters: open dashboards call `data_version` every few seconds and
/// hydrated pages fetch their data through them, which would otherwise empty the cache.
pub fn may_write(method: &str, path: &str) -> bool {
    if matches!(method, "GET" | "HEAD") {
        return false;
    }
    !matches!(
        super::auth::policy::rule_for(method, path),
        Some((rule, _)) if rule.kind == super::auth::policy::Kind::ServerFn
    )
}

/// 200 when the database answers a query, 503 otherwise.
async fn healthz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    let ok = state
        .db
        .run(|conn| -> Result<i64, super::db::DbError> {
            Ok(conn.query_row("SELECT 1", [], |r| r.get(0))?)
        })
        .await;
    match ok {
        Ok(1) => (StatusCode::OK, "ok\n"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_bundle_and_styles_are_compressed() {
        let with = |mime: &str, status: StatusCode| {
            let mut headers = axum::http::HeaderMap::new();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(mime).expect("mime"),
            );
            compressible_asset(
                status,
                axum::http::Version::HTTP_11,
                &headers,
                &axum::http::Extensions::new(),
            )
        };
        assert!(with("application/wasm", StatusCode::OK));
        assert!(with("text/javascript; charset=utf-8", StatusCode::OK));
        assert!(with("text/css", StatusCode::OK));
        assert!(!with("text/html; charset=utf-8", StatusCode::OK));
        assert!(!with("application/json", StatusCode::OK));
        assert!(!with("text/css", StatusCode::NOT_FOUND));
    }
}
