//! API tokens: creating one (shown once, on the next view of the page) and revoking one.

use axum::extract::{Form, State};
use axum::response::Response;
use duckdb::Connection;
use tower_sessions::Session;

use crate::admin::{TokenRow, TokensPage};
use crate::auth::Role;
use crate::error::AppError;
use crate::server::auth::{RequestAuth, audit, keys};
use crate::server::forms::{Fields, field, optional};
use crate::server::state::AppState;
use crate::server::tokens;

use super::{AdminError, AdminForm, change, departments, run};

pub async fn tokens_page() -> Result<TokensPage, AppError> {
    // The token just created travels in the session for exactly one page view.
    let new_token = match leptos_axum::extract::<Session>().await {
        Ok(session) => session.remove::<String>(keys::FLASH).await.ok().flatten(),
        Err(_) => None,
    };
    run(move |conn| {
        let tokens = tokens::list(conn)?
            .into_iter()
            .map(|t| TokenRow {
                name: t.name,
                role: t.role,
                department: t.department,
                created_at: t.created_at,
                last_used_at: t.last_used_at,
                revoked: t.revoked,
            })
            .collect();
        Ok(TokensPage {
            tokens,
            departments: departments(conn)?,
            new_token,
        })
    })
    .await
}

/// `/admin/tokens/create`. The role stays text: [`tokens::create`] checks it (and answers
/// in its own words).
pub struct CreateForm {
    pub name: String,
    pub role: String,
    /// Kept only for a role that has a department.
    pub department: Option<String>,
}

impl AdminForm for CreateForm {
    fn parse(f: &Fields) -> Result<Self, AdminError> {
        let role = field(f, "role");
        Ok(Self {
            name: field(f, "name").to_string(),
            role: role.to_string(),
            department: optional(f, "department")
                .filter(|_| role.parse::<Role>().is_ok_and(Role::has_department))
                .map(str::to_string),
        })
    }
}

/// `/admin/tokens/revoke`.
pub struct RevokeForm {
    pub name: String,
}

impl AdminForm for RevokeForm {
    fn parse(f: &Fields) -> Result<Self, AdminError> {
        Ok(Self {
            name: field(f, "name").to_string(),
        })
    }
}

pub(super) async fn create_token(
    State(state): State<AppState>,
    session: Session,
    axum::Extension(auth): axum::Extension<RequestAuth>,
    Form(fields): Form<Fields>,
) -> Response {
    // The token is shown once, on the next view of the tokens page: it travels in the
    // session, never in a URL that logs and browser history would keep.
    let flash = session.clone();
    let (tx_token, rx_token) = std::sync::mpsc::channel::<String>();
    let response = change(
        state,
        session,
        auth,
        fields,
        "/admin/tokens",
        move |conn: &Connection, actor: &str, f: CreateForm| {
            let department = f.department.as_deref();
            let token = tokens::create(conn, &f.name, &f.role, department)?;
            audit::record(
                conn,
                actor,
                "token.create",
                &f.name,
                None::<&()>,
                Some(&serde_json::json!({ "role": f.role, "department": department })),
            )?;
            let _ = tx_token.send(token);
            Ok("created")
        },
    )
    .await;
    if let Ok(token) = rx_token.try_recv()
        && let Err(e) = flash.insert(keys::FLASH, token).await
    {
        tracing::error!(error = %e, "cannot keep the new token for display");
    }
    response
}

handler!(
    revoke_token,
    RevokeForm,
    "/admin/tokens",
    |conn: &Connection, actor: &str, f: RevokeForm| {
        tokens::revoke(conn, &f.name)?;
        audit::record::<(), ()>(conn, actor, "token.revoke", &f.name, None, None)?;
        Ok("revoked")
    }
);
