//! The admin pages' data and their form handlers, one file per admin area: [`users`],
//! [`tokens`] (API tokens), [`kiosk`] (kiosk links), [`departments`] (and what their viewers
//! may open), [`kpis`] (ownership and derived KPIs), [`settings`], [`sources`] (mappings),
//! [`sheets`] (a target plan and the market benchmarks, pasted whole) and the [`audit`] log
//! (also as CSV).
//!
//! Here: the routing table of the forms, the error every area answers with, and the one path a
//! change takes. A form's raw fields are parsed into its typed struct ([`AdminForm`]) first;
//! then the change runs in one transaction with its audit row, and answers with a redirect
//! back to its page (`?ok=...` or `?error=...`), so the pages work as plain HTML forms. The gate
//! has already checked the admin role and the request's origin, and the server functions of
//! [`crate::admin`] the user; each handler also checks the session's anti-forgery token.

use axum::Router;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use duckdb::Connection;
use tower_sessions::Session;

use crate::error::AppError;
use crate::i18n::Locale;

use super::auth::RequestAuth;
use super::db::DbError;
use super::kiosk::KioskError;
use super::state::AppState;
use crate::server::forms::{Fields, actor, csrf_ok};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    User(#[from] super::auth::users::UserError),
    #[error(transparent)]
    Token(#[from] super::tokens::TokenError),
    #[error(transparent)]
    Kiosk(#[from] KioskError),
    /// A value the form may not carry, in both languages.
    #[error("{en}")]
    Invalid { en: String, it: String },
    #[error(transparent)]
    Ingest(#[from] super::ingest::IngestError),
    #[error(transparent)]
    Setting(#[from] super::settings::SettingError),
    #[error(transparent)]
    Derived(#[from] super::kpi::derived::DerivedKpiError),
    #[error(transparent)]
    Target(#[from] super::kpi::targets::TargetError),
    #[error(transparent)]
    Benchmark(#[from] super::kpi::benchmarks::BenchmarkError),
    #[error("database error: {0}")]
    Sql(#[from] duckdb::Error),
    #[error(transparent)]
    Db(#[from] DbError),
}

fn invalid(en: impl Into<String>, it: impl Into<String>) -> AdminError {
    AdminError::Invalid {
        en: en.into(),
        it: it.into(),
    }
}

impl AdminError {
    /// What the admin reads on the page, in their language. Database failures say only that
    /// the change was not saved (the details go to the server log).
    pub fn message(&self, locale: Locale) -> String {
        match (self, locale) {
            (
                AdminError::Sql(_) | AdminError::Db(_) | AdminError::Kiosk(KioskError::Sql(_)),
                Locale::En,
            ) => "the change could not be saved; see the server log".into(),
            (
                AdminError::Sql(_) | AdminError::Db(_) | AdminError::Kiosk(KioskError::Sql(_)),
                Locale::It,
            ) => "la modifica non è stata salvata; vedi il log del server".into(),
            (AdminError::Derived(e), Locale::En) => e.message(Locale::En),
            (other, Locale::En) => other.to_string(),
            (AdminError::User(e), Locale::It) => e.italian(),
            (AdminError::Token(e), Locale::It) => e.italian(),
            (AdminError::Kiosk(e), Locale::It) => e.italian(),
            (AdminError::Invalid { it, .. }, Locale::It) => it.clone(),
            // The mapping's own messages cite its lines and columns; they stay as written.
            (AdminError::Ingest(e), Locale::It) => format!("mappatura non valida: {e}"),
            (AdminError::Setting(e), Locale::It) => e.italian(),
            // The sheet's refused lines cite its lines and columns; they stay as written.
            (AdminError::Target(e), Locale::It) => format!("piano non importato: {e}"),
            (AdminError::Benchmark(e), Locale::It) => format!("benchmark non importati: {e}"),
            (AdminError::Derived(e), _) => e.message(locale),
        }
    }
}

impl From<AdminError> for AppError {
    fn from(err: AdminError) -> Self {
        match err {
            AdminError::Sql(_) | AdminError::Db(_) | AdminError::Kiosk(KioskError::Sql(_)) => {
                tracing::error!(error = %err, "admin task failed");
                AppError::Internal
            }
            other => AppError::bad_request(other.to_string()),
        }
    }
}

/// The form handlers, every admin area's.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users/invite", post(users::invite_user))
        .route("/admin/users/update", post(users::update_user))
        .route("/admin/users/disable", post(users::disable_user))
        .route("/admin/users/reset", post(users::reset_password))
        .route("/admin/tokens/create", post(tokens::create_token))
        .route("/admin/tokens/revoke", post(tokens::revoke_token))
        .route("/admin/kiosk/create", post(kiosk::create_link))
        .route("/admin/kiosk/revoke", post(kiosk::revoke_link))
        .route(
            "/admin/departments/save",
            post(departments::save_department),
        )
        .route("/admin/departments/grants", post(departments::save_grants))
        .route("/admin/kpis/owner", post(kpis::set_kpi_owner))
        .route("/admin/kpis/derived/save", post(kpis::save_derived_kpi))
        .route("/admin/kpis/derived/delete", post(kpis::delete_derived_kpi))
        .route("/admin/settings/save", post(settings::save_setting))
        .route("/admin/sources/save", post(sources::save_source))
        .route("/admin/targets/import", post(sheets::import_target_plan))
        .route("/admin/benchmarks/import", post(sheets::import_benchmarks))
        .route("/admin/audit.csv", get(audit::audit_csv))
}

/// Runs a page's read on a blocking thread with its own connection.
async fn run<T: Send + 'static>(
    work: impl FnOnce(&mut Connection) -> Result<T, AdminError> + Send + 'static,
) -> Result<T, AppError> {
    let state = leptos::prelude::expect_context::<AppState>();
    state.db.run(work).await.map_err(AppError::from)
}

/// A form's fields parsed into what its change needs: trimmed strings, empty optional fields
/// as `None`, roles and kinds as their types. Checks that need the database stay in the
/// change.
pub trait AdminForm: Sized + Send + 'static {
    fn parse(fields: &Fields) -> Result<Self, AdminError>;
}

fn back(page: &str, result: Result<&str, String>) -> Response {
    let query = match &result {
        Ok(ok) => crate::url::query([("ok", *ok)]),
        Err(error) => crate::url::query([("error", error.as_str())]),
    };
    Redirect::to(&format!("{page}{query}")).into_response()
}

/// Runs one admin change: checks the form's token, parses the form, runs `work` in a
/// transaction with the actor's name, and redirects back to `page`.
async fn change<T, F>(
    state: AppState,
    session: Session,
    auth: RequestAuth,
    fields: Fields,
    page: &'static str,
    work: F,
) -> Response
where
    T: AdminForm,
    F: FnOnce(&Connection, &str, T) -> Result<&'static str, AdminError> + Send + 'static,
{
    let locale = Locale::parse(auth.user.as_ref().map(|u| u.lang.as_str()));
    if !csrf_ok(&session, &fields).await {
        let expired = match locale {
            Locale::En => "the form expired; reload the page and try again",
            Locale::It => "il modulo è scaduto; ricarica la pagina e riprova",
        };
        return back(page, Err(expired.into()));
    }
    let form = match T::parse(&fields) {
        Ok(form) => form,
        Err(e) => return back(page, Err(e.message(locale))),
    };
    let actor = actor(&auth);
    let result = state
        .db
        .run(move |conn| -> Result<&'static str, AdminError> {
            let tx = conn.transaction()?;
            let ok = work(&tx, &actor, form)?;
            tx.commit()?;
            Ok(ok)
        })
        .await;
    match result {
        Ok(ok) => back(page, Ok(ok)),
        Err(e) => {
            if matches!(
                e,
                AdminError::Sql(_) | AdminError::Db(_) | AdminError::Kiosk(KioskError::Sql(_))
            ) {
                tracing::error!(error = %e, "admin change failed");
            }
            back(page, Err(e.message(locale)))
        }
    }
}

/// An axum handler for a form whose change is `$work(conn, actor, form: $form)`.
macro_rules! handler {
    ($name:ident, $form:ty, $page:literal, $work:expr) => {
        pub(super) async fn $name(
            axum::extract::State(state): axum::extract::State<crate::server::state::AppState>,
            session: tower_sessions::Session,
            axum::Extension(auth): axum::Extension<crate::server::auth::RequestAuth>,
            axum::extract::Form(fields): axum::extract::Form<crate::server::forms::Fields>,
        ) -> axum::response::Response {
            super::change::<$form, _>(state, session, auth, fields, $page, $work).await
        }
    };
}

pub mod audit;
pub mod departments;
pub mod kiosk;
pub mod kpis;
pub mod settings;
pub mod sheets;
pub mod sources;
pub mod tokens;
pub mod users;

pub use departments::departments;
pub use kpis::kpi_owners;
