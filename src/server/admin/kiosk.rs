//! Kiosk links: the list, creating one (its URL shown once, on the next view of the page) and
//! revoking one, each with its audit row. Admins manage every link; the stores lead those of the
//! stores (`policy::can_manage_kiosk_link`, checked again in each change with the link's scope).

use axum::extract::{Form, State};
use axum::http::HeaderMap;
use axum::response::Response;
use duckdb::Connection;
use tower_sessions::Session;

use crate::error::AppError;
use crate::kiosk::{KioskLinkRow, KioskLinksPage};
use crate::server::auth::policy::{self, Principal};
use crate::server::auth::{RequestAuth, audit};
use crate::server::forms::{Fields, field};
use crate::server::kiosk::{self, Scope};
use crate::server::state::AppState;
use crate::view::DEPARTMENTS;

use super::{AdminError, AdminForm, change, invalid, run};

/// The session key of a link's URL just created (apart from the API tokens' flash).
const FLASH: &str = "kiosk_flash";

fn scope_text(scope: &Scope) -> String {
    match scope {
        Scope::Store(s) => format!("store:{s}"),
        Scope::Department(d) => format!("department:{d}"),
    }
}

pub async fn kiosk_page(who: Principal) -> Result<KioskLinksPage, AppError> {
    let new_url = match leptos_axum::extract::<Session>().await {
        Ok(session) => session.remove::<String>(FLASH).await.ok().flatten(),
        Err(_) => None,
    };
    run(move |conn| {
        let links = kiosk::list(conn)?
            .into_iter()
            .filter(|l| policy::can_manage_kiosk_link(&who, l.scope.department()))
            .map(|l| KioskLinkRow {
                id: l.id,
                scope: scope_text(&l.scope),
                created_by: l.created_by,
                created_at: l.created_at,
                expires_at: l.expires_at,
                last_used_at: l.last_used_at,
                revoked: l.revoked,
                expired: l.expired,
            })
            .collect();
        let mut stmt = conn.prepare("SELECT store_id, name FROM stores ORDER BY store_id")?;
        let stores = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<Vec<(String, String)>, _>>()?;
        let departments = DEPARTMENTS
            .into_iter()
            .filter(|d| policy::can_manage_kiosk_link(&who, d))
            .map(str::to_string)
            .collect();
        Ok(KioskLinksPage {
            links,
            stores,
            departments,
            new_url,
            default_days: kiosk::DEFAULT_DAYS,
            max_days: kiosk::MAX_DAYS,
        })
    })
    .await
}

/// `/admin/kiosk/create`: `scope` is `store:ID` or `department:KEY`; `days` how long the link
/// lives (empty: the default).
pub struct CreateForm {
    pub scope: Scope,
    pub days: u32,
}

impl AdminForm for CreateForm {
    fn parse(f: &Fields) -> Result<Self, AdminError> {
        let scope = match field(f, "scope").split_once(':') {
            Some(("store", id)) if !id.is_empty() => Scope::Store(id.to_string()),
            Some(("department", d)) if !d.is_empty() => Scope::Department(d.to_string()),
            _ => {
                return Err(invalid(
                    "choose the store or department the link shows",
                    "scegli il negozio o il reparto che il link mostra",
                ));
            }
        };
        let days = kiosk::parse_days(field(f, "days"))?;
        Ok(Self { scope, days })
    }
}

/// `/admin/kiosk/revoke`.
pub struct RevokeForm {
    pub id: i64,
}

impl AdminForm for RevokeForm {
    fn parse(f: &Fields) -> Result<Self, AdminError> {
        let id = field(f, "id")
            .parse()
            .map_err(|_| invalid("no such kiosk link", "link kiosk inesistente"))?;
        Ok(Self { id })
    }
}

fn refused() -> AdminError {
    invalid(
        "you may manage only the kiosk links of the stores",
        "puoi gestire solo i link kiosk dei negozi",
    )
}

/// Where the server is reached, as the admin's browser reached it, for the link's full URL.
fn origin(state: &AppState, headers: &HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = if state.config.sessions.secure_cookie {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

pub(super) async fn create_link(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    axum::Extension(auth): axum::Extension<RequestAuth>,
    Form(fields): Form<Fields>,
) -> Response {
    // The URL is shown once, on the next view of the page: it travels in the session, never in
    // a URL that logs and browser history would keep.
    let flash = session.clone();
    let origin = origin(&state, &headers);
    let who = auth.principal.clone();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let response = change(
        state,
        session,
        auth,
        fields,
        "/admin/kiosk",
        move |conn: &Connection, actor: &str, f: CreateForm| {
            if !who
                .as_ref()
                .is_some_and(|w| policy::can_manage_kiosk_link(w, f.scope.department()))
            {
                return Err(refused());
            }
            let (id, token) = kiosk::create(conn, &f.scope, f.days, actor)?;
            audit::record(
                conn,
                actor,
                "kiosk.create",
                &format!("kiosk:{id}"),
                None::<&()>,
                Some(&serde_json::json!({ "scope": scope_text(&f.scope), "days": f.days })),
            )?;
            let _ = tx.send(format!("{origin}/kiosk/{token}"));
            Ok("created")
        },
    )
    .await;
    if let Ok(url) = rx.try_recv()
        && let Err(e) = flash.insert(FLASH, url).await
    {
        tracing::error!(error = %e, "cannot keep the new kiosk link for display");
    }
    response
}

pub(super) async fn revoke_link(
    State(state): State<AppState>,
    session: Session,
    axum::Extension(auth): axum::Extension<RequestAuth>,
    Form(fields): Form<Fields>,
) -> Response {
    let who = auth.principal.clone();
    change(
        state,
        session,
        auth,
        fields,
        "/admin/kiosk",
        move |conn: &Connection, actor: &str, f: RevokeForm| {
            let scope = kiosk::scope(conn, f.id)?;
            if !who
                .as_ref()
                .is_some_and(|w| policy::can_manage_kiosk_link(w, scope.department()))
            {
                return Err(refused());
            }
            kiosk::revoke(conn, f.id)?;
            audit::record(
                conn,
                actor,
                "kiosk.revoke",
                &format!("kiosk:{}", f.id),
                Some(&serde_json::json!({ "scope": scope_text(&scope) })),
                None::<&()>,
            )?;
            Ok("revoked")
        },
    )
    .await
}
