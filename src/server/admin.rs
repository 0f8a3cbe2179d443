//! The admin pages' data and their form handlers: users, API tokens, departments and what
//! their viewers may open, KPI ownership, settings, and the audit log (also as CSV).
//!
//! Every change runs in one transaction with its audit row, and answers with a redirect back
//! to its page (`?ok=...` or `?error=...`), so the pages work as plain HTML forms. The gate has
//! already checked the admin role and the request's origin; each handler also checks the
//! session's anti-forgery token.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Form, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use duckdb::{Connection, OptionalExt, params};
use tower_sessions::Session;

use crate::admin::{
    AuditPage, AuditRow, DepartmentRow, DerivedKpiRow, KpiOwnerRow, KpisPage, SettingRow,
    SourceRow, TokenRow, TokensPage, UserRow, UsersPage,
};
use crate::auth::Role;
use crate::error::AppError;
use crate::i18n::Locale;

use super::auth::policy::Access;
use super::auth::{self, RequestAuth, audit, keys, users};
use super::db::DbError;
use super::settings::{self, SettingError};
use super::state::AppState;
use super::tokens;
use crate::server::forms::{Fields, actor, csrf_ok, field, optional};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    User(#[from] users::UserError),
    #[error(transparent)]
    Token(#[from] tokens::TokenError),
    /// A value the form may not carry, in both languages.
    #[error("{en}")]
    Invalid { en: String, it: String },
    #[error(transparent)]
    Ingest(#[from] super::ingest::IngestError),
    #[error(transparent)]
    Setting(#[from] SettingError),
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

fn unknown_department(key: &str) -> AdminError {
    invalid(
        format!("unknown department {key:?}"),
        format!("reparto sconosciuto {key:?}"),
    )
}

impl AdminError {
    /// What the admin reads on the page, in their language. Database failures say only that
    /// the change was not saved (the details go to the server log).
    pub fn message(&self, locale: Locale) -> String {
        match (self, locale) {
            (AdminError::Sql(_) | AdminError::Db(_), Locale::En) => {
                "the change could not be saved; see the server log".into()
            }
            (AdminError::Sql(_) | AdminError::Db(_), Locale::It) => {
                "la modifica non è stata salvata; vedi il log del server".into()
            }
            (AdminError::Derived(e), Locale::En) => e.message(Locale::En),
            (other, Locale::En) => other.to_string(),
            (AdminError::User(e), Locale::It) => e.italian(),
            (AdminError::Token(e), Locale::It) => e.italian(),
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
            AdminError::Sql(_) | AdminError::Db(_) => {
                tracing::error!(error = %err, "admin task failed");
                AppError::Internal
            }
            other => AppError::bad_request(other.to_string()),
        }
    }
}

/// The form handlers.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users/invite", post(invite_user))
        .route("/admin/users/update", post(update_user))
        .route("/admin/users/disable", post(disable_user))
        .route("/admin/users/reset", post(reset_password))
        .route("/admin/tokens/create", post(create_token))
        .route("/admin/tokens/revoke", post(revoke_token))
        .route("/admin/departments/save", post(save_department))
        .route("/admin/departments/grants", post(save_grants))
        .route("/admin/kpis/owner", post(set_kpi_owner))
        .route("/admin/kpis/derived/save", post(save_derived_kpi))
        .route("/admin/kpis/derived/delete", post(delete_derived_kpi))
        .route("/admin/settings/save", post(save_setting))
        .route("/admin/sources/save", post(save_source))
        .route("/admin/targets/import", post(import_target_plan))
        .route("/admin/benchmarks/import", post(import_benchmarks))
        .route("/admin/audit.csv", get(audit_csv))
}

// ---- the pages' data ----

fn admin() -> Result<(), AppError> {
    auth::require(Access::Admin, None).map(|_| ())
}

async fn run<T: Send + 'static>(
    work: impl FnOnce(&mut Connection) -> Result<T, AdminError> + Send + 'static,
) -> Result<T, AppError> {
    let state = leptos::prelude::expect_context::<AppState>();
    state.db.run(work).await.map_err(AppError::from)
}

pub fn departments(conn: &Connection) -> Result<Vec<DepartmentRow>, AdminError> {
    let mut stmt = conn.prepare(
        "SELECT d.department, d.name_en, d.name_it,
                coalesce(list(v.view ORDER BY v.view) FILTER (WHERE v.view IS NOT NULL), [])
         FROM departments d LEFT JOIN department_views v USING (department)
         WHERE d.department <> 'company'
         GROUP BY ALL ORDER BY d.department",
    )?;
    let rows = stmt.query_map([], |r| {
        let grants: duckdb::types::Value = r.get(3)?;
        Ok(DepartmentRow {
            key: r.get(0)?,
            name_en: r.get(1)?,
            name_it: r.get(2)?,
            grants: strings(grants),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn strings(value: duckdb::types::Value) -> Vec<String> {
    match value {
        duckdb::types::Value::List(items) => items
            .into_iter()
            .filter_map(|v| match v {
                duckdb::types::Value::Text(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

pub async fn users_page() -> Result<UsersPage, AppError> {
    admin()?;
    run(|conn| {
        let users = users::list(conn)?
            .into_iter()
            .map(|u| UserRow {
                email: u.email,
                display_name: u.display_name,
                lang: u.lang,
                role: u.role,
                department: u.department,
                disabled: u.disabled,
                must_change_password: u.must_change_password,
                last_login_at: u.last_login_at.map(|t| t.chars().take(16).collect()),
            })
            .collect();
        Ok(UsersPage {
            users,
            departments: departments(conn)?,
        })
    })
    .await
}

pub async fn tokens_page() -> Result<TokensPage, AppError> {
    admin()?;
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

pub async fn departments_page() -> Result<Vec<DepartmentRow>, AppError> {
    admin()?;
    run(|conn| departments(conn)).await
}

/// Each KPI's owner department (see [`super::kpi::owners`]).
pub fn kpi_owners(conn: &Connection) -> Result<BTreeMap<String, String>, duckdb::Error> {
    super::kpi::owners(conn)
}

pub async fn kpis_page(lang: Option<String>) -> Result<KpisPage, AppError> {
    admin()?;
    let locale = Locale::parse(lang.as_deref());
    run(move |conn| {
        let owners = kpi_owners(conn)?;
        let catalog = super::kpi::catalog(conn)?;
        let parts = catalog
            .all()
            .iter()
            .map(|k| (k.key.clone(), k.name.get(locale).to_string()))
            .collect();
        let derived = super::kpi::derived::list(conn)?
            .into_iter()
            .map(|d| DerivedKpiRow {
                key: d.spec.key,
                name_en: d.spec.name_en,
                name_it: d.spec.name_it,
                description_en: d.spec.description_en,
                description_it: d.spec.description_it,
                numerator: d.spec.numerator,
                denominator: d.spec.denominator,
                unit: d.spec.unit,
                direction: d.spec.direction,
                owner: d.spec.owner,
                created_by: d.created_by,
                created_at: d.created_at,
            })
            .collect();
        let kpis = catalog
            .all()
            .iter()
            .filter(|k| !k.internal)
            .map(|k| {
                let owner = owners
                    .get(&k.key)
                    .cloned()
                    .unwrap_or_else(|| k.owner.clone());
                KpiOwnerRow {
                    key: k.key.clone(),
                    name: k.name.get(locale).to_string(),
                    default_owner: (owner != k.owner).then(|| k.owner.clone()),
                    owner,
                }
            })
            .collect();
        Ok(KpisPage {
            kpis,
            departments: departments(conn)?,
            derived,
            parts,
        })
    })
    .await
}

pub async fn settings_page() -> Result<Vec<SettingRow>, AppError> {
    admin()?;
    run(|conn| {
        let mut rows = Vec::new();
        for def in settings::all() {
            let value = match def.key {
                // What is in force, which may come from the configuration file.
                "time_zone" => {
                    let zone: String =
                        conn.query_row("SELECT current_setting('TimeZone')", [], |r| r.get(0))?;
                    zone
                }
                key => settings::stored(conn, key)?.unwrap_or_else(|| def.default.to_string()),
            };
            rows.push(SettingRow {
                key: def.key.to_string(),
                value,
                help_en: def.help_en.to_string(),
                help_it: def.help_it.to_string(),
                optional: def.optional,
            });
        }
        Ok(rows)
    })
    .await
}

pub async fn sources_page() -> Result<Vec<SourceRow>, AppError> {
    admin()?;
    run(|conn| {
        Ok(super::ingest::sources::list(conn)?
            .into_iter()
            .map(|s| SourceRow {
                name: s.name,
                kind: s.kind,
                mapping_file: s.mapping_file,
                mapping: s.mapping,
            })
            .collect())
    })
    .await
}

/// Entries shown per page of the audit log.
pub const AUDIT_PAGE: u32 = 50;

fn audit_rows(conn: &Connection, limit: u32, offset: u32) -> Result<Vec<AuditRow>, AdminError> {
    Ok(audit::list(conn, limit, offset)?
        .into_iter()
        .map(|e| AuditRow {
            at: e.at,
            actor: e.actor,
            action: e.action,
            subject: e.subject,
            before: e.before,
            after: e.after,
        })
        .collect())
}

pub async fn audit_page(offset: u32) -> Result<AuditPage, AppError> {
    admin()?;
    run(move |conn| {
        Ok(AuditPage {
            entries: audit_rows(conn, AUDIT_PAGE, offset)?,
            total: audit::count(conn)?,
            offset,
            limit: AUDIT_PAGE,
        })
    })
    .await
}

// ---- form handlers ----

fn back(page: &str, result: Result<&str, String>) -> Response {
    let query = match &result {
        Ok(ok) => crate::url::query([("ok", *ok)]),
        Err(error) => crate::url::query([("error", error.as_str())]),
    };
    Redirect::to(&format!("{page}{query}")).into_response()
}

/// Runs one admin change: checks the form's token, runs `work` in a transaction with the
/// actor's name, and redirects back to `page`.
async fn change<F>(
    state: AppState,
    session: Session,
    auth: RequestAuth,
    fields: Fields,
    page: &'static str,
    work: F,
) -> Response
where
    F: FnOnce(&Connection, &str, &Fields) -> Result<&'static str, AdminError> + Send + 'static,
{
    let locale = Locale::parse(auth.user.as_ref().map(|u| u.lang.as_str()));
    if !csrf_ok(&session, &fields).await {
        let expired = match locale {
            Locale::En => "the form expired; reload the page and try again",
            Locale::It => "il modulo è scaduto; ricarica la pagina e riprova",
        };
        return back(page, Err(expired.into()));
    }
    let actor = actor(&auth);
    let result = state
        .db
        .run(move |conn| -> Result<&'static str, AdminError> {
            let tx = conn.transaction()?;
            let ok = work(&tx, &actor, &fields)?;
            tx.commit()?;
            Ok(ok)
        })
        .await;
    match result {
        Ok(ok) => back(page, Ok(ok)),
        Err(e) => {
            if matches!(e, AdminError::Sql(_) | AdminError::Db(_)) {
                tracing::error!(error = %e, "admin change failed");
            }
            back(page, Err(e.message(locale)))
        }
    }
}

fn role_field(fields: &Fields) -> Result<Role, AdminError> {
    let role = field(fields, "role");
    role.parse()
        .map_err(|en| invalid(en, format!("ruolo sconosciuto {role:?}")))
}

/// The department field, kept only for roles that have one.
fn department_field(fields: &Fields, role: Role) -> Option<&str> {
    optional(fields, "department").filter(|_| role.has_department())
}

macro_rules! handler {
    ($name:ident, $page:literal, $work:expr) => {
        async fn $name(
            State(state): State<AppState>,
            session: Session,
            axum::Extension(auth): axum::Extension<RequestAuth>,
            Form(fields): Form<Fields>,
        ) -> Response {
            change(state, session, auth, fields, $page, $work).await
        }
    };
}

mod sheets;

handler!(
    import_target_plan,
    "/admin/departments",
    sheets::import_target_plan
);

handler!(import_benchmarks, "/admin/kpis", sheets::import_benchmarks);

handler!(invite_user, "/admin/users", |conn, actor, f| {
    let role = role_field(f)?;
    let user = users::add(
        conn,
        &users::NewUser {
            email: field(f, "email"),
            display_name: field(f, "name"),
            lang: optional(f, "lang").unwrap_or("en"),
            role,
            department: department_field(f, role),
            password: field(f, "password"),
            one_time: true,
        },
    )?;
    audit::record(
        conn,
        actor,
        "user.invite",
        &user.email,
        None::<&()>,
        Some(&user),
    )?;
    Ok("invited")
});

handler!(update_user, "/admin/users", |conn, actor, f| {
    let email = field(f, "email");
    let role = role_field(f)?;
    let before = users::find(conn, email)?;
    let after = users::update(
        conn,
        email,
        role,
        department_field(f, role),
        field(f, "name"),
        optional(f, "lang").unwrap_or("en"),
    )?;
    audit::record(
        conn,
        actor,
        "user.update",
        email,
        before.as_ref(),
        Some(&after),
    )?;
    Ok("updated")
});

handler!(disable_user, "/admin/users", |conn, actor, f| {
    let email = field(f, "email");
    let disable = field(f, "disabled") == "true";
    if auth_label_is(actor, email) && disable {
        return Err(invalid(
            "you cannot disable your own account",
            "non puoi disattivare il tuo account",
        ));
    }
    let before = users::find(conn, email)?;
    let after = users::set_disabled(conn, email, disable)?;
    let action = if disable {
        "user.disable"
    } else {
        "user.enable"
    };
    audit::record(conn, actor, action, email, before.as_ref(), Some(&after))?;
    Ok(if disable { "disabled" } else { "enabled" })
});

fn auth_label_is(actor: &str, email: &str) -> bool {
    actor.eq_ignore_ascii_case(email.trim())
}

handler!(reset_password, "/admin/users", |conn, actor, f| {
    let email = field(f, "email");
    users::set_password(conn, email, field(f, "password"), true)?;
    audit::record::<(), ()>(conn, actor, "user.password_reset", email, None, None)?;
    Ok("reset")
});

async fn create_token(
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
        move |conn, actor, f| {
            let role = field(f, "role");
            let department = optional(f, "department")
                .filter(|_| role.parse::<Role>().is_ok_and(Role::has_department));
            let name = field(f, "name");
            let token = tokens::create(conn, name, role, department)?;
            audit::record(
                conn,
                actor,
                "token.create",
                name,
                None::<&()>,
                Some(&serde_json::json!({ "role": role, "department": department })),
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

handler!(revoke_token, "/admin/tokens", |conn, actor, f| {
    let name = field(f, "name");
    tokens::revoke(conn, name)?;
    audit::record::<(), ()>(conn, actor, "token.revoke", name, None, None)?;
    Ok("revoked")
});

fn department_key_ok(key: &str) -> bool {
    (2..=32).contains(&key.len())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

handler!(save_department, "/admin/departments", |conn, actor, f| {
    let key = field(f, "key");
    let (name_en, name_it) = (field(f, "name_en"), field(f, "name_it"));
    if !department_key_ok(key) || key == "company" {
        return Err(invalid(
            format!("department key {key:?}: 2-32 characters of a-z, 0-9 and _"),
            format!("chiave del reparto {key:?}: da 2 a 32 caratteri tra a-z, 0-9 e _"),
        ));
    }
    if name_en.is_empty() || name_it.is_empty() {
        return Err(invalid(
            "a department needs both names",
            "un reparto ha bisogno di entrambi i nomi",
        ));
    }
    let before: Option<(String, String)> = conn
        .query_row(
            "SELECT name_en, name_it FROM departments WHERE department = ?",
            [key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if before.is_some() {
        conn.execute(
            "UPDATE departments SET name_en = ?, name_it = ? WHERE department = ?",
            params![name_en, name_it, key],
        )?;
    } else {
        conn.execute(
            "INSERT INTO departments (department, name_en, name_it) VALUES (?, ?, ?)",
            params![key, name_en, name_it],
        )?;
        conn.execute("INSERT INTO department_views VALUES (?, 'company')", [key])?;
    }
    let after = (name_en, name_it);
    let action = if before.is_some() {
        "department.rename"
    } else {
        "department.add"
    };
    audit::record(conn, actor, action, key, before.as_ref(), Some(&after))?;
    Ok("saved")
});

handler!(save_grants, "/admin/departments", |conn, actor, f| {
    let department = field(f, "department");
    let known: Vec<String> = {
        let mut stmt = conn.prepare("SELECT department FROM departments")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect::<Result<_, _>>()?
    };
    if !known.iter().any(|d| d == department) || department == "company" {
        return Err(unknown_department(department));
    }
    let mut views: Vec<&str> = f
        .iter()
        .filter(|(k, _)| k == "view")
        .map(|(_, v)| v.as_str())
        .collect();
    views.sort_unstable();
    views.dedup();
    for view in &views {
        let ok = matches!(*view, "company" | "journeys") || known.iter().any(|d| d == view);
        if !ok || *view == department {
            return Err(invalid(
                format!("unknown view {view:?}"),
                format!("vista sconosciuta {view:?}"),
            ));
        }
    }
    let before = departments(conn)?
        .into_iter()
        .find(|d| d.key == department)
        .map(|d| d.grants);
    conn.execute(
        "DELETE FROM department_views WHERE department = ?",
        [department],
    )?;
    for view in &views {
        conn.execute(
            "INSERT INTO department_views VALUES (?, ?)",
            params![department, view],
        )?;
    }
    audit::record(
        conn,
        actor,
        "department.grants",
        department,
        before.as_ref(),
        Some(&views),
    )?;
    Ok("saved")
});

handler!(set_kpi_owner, "/admin/kpis", |conn, actor, f| {
    super::kpi::derived::set_owner(conn, actor, field(f, "kpi"), field(f, "owner"))?;
    Ok("saved")
});

/// The derived KPI a form describes (`key`, `name_en`, `name_it`, `description_en`,
/// `description_it`, `numerator`, `denominator`, `unit`, `direction`, `owner`).
pub fn derived_from_form(f: &Fields) -> Result<super::kpi::DerivedSpec, AdminError> {
    let unit = field(f, "unit");
    let unit =
        serde_json::from_value(serde_json::Value::String(unit.to_string())).map_err(|_| {
            invalid(
                format!("unknown unit {unit:?}"),
                format!("unità sconosciuta {unit:?}"),
            )
        })?;
    let direction = field(f, "direction");
    let direction = serde_json::from_value(serde_json::Value::String(direction.to_string()))
        .map_err(|_| {
            invalid(
                format!("unknown direction {direction:?}"),
                format!("direzione sconosciuta {direction:?}"),
            )
        })?;
    Ok(super::kpi::DerivedSpec {
        key: field(f, "key").to_string(),
        name_en: field(f, "name_en").to_string(),
        name_it: field(f, "name_it").to_string(),
        description_en: field(f, "description_en").to_string(),
        description_it: field(f, "description_it").to_string(),
        numerator: field(f, "numerator").to_string(),
        denominator: field(f, "denominator").to_string(),
        unit,
        direction,
        owner: field(f, "owner").to_string(),
    })
}

handler!(save_derived_kpi, "/admin/kpis", |conn, actor, f| {
    let spec = derived_from_form(f)?;
    let replace = field(f, "mode") == "update";
    super::kpi::derived::save(conn, actor, &spec, replace)?;
    Ok(if replace { "saved" } else { "created" })
});

handler!(delete_derived_kpi, "/admin/kpis", |conn, actor, f| {
    super::kpi::derived::delete(conn, actor, field(f, "key"))?;
    Ok("deleted")
});

/// Saves a setting; the time zone and the currency take effect at once (see
/// `settings::apply`).
async fn save_setting(
    State(state): State<AppState>,
    session: Session,
    axum::Extension(auth): axum::Extension<RequestAuth>,
    Form(fields): Form<Fields>,
) -> Response {
    let db = state.db.clone();
    let response = change(
        state,
        session,
        auth,
        fields,
        "/admin/settings",
        |conn, actor, f| {
            let key = field(f, "key");
            let value = settings::check(conn, key, field(f, "value"))?;
            let before = settings::stored(conn, key)?;
            conn.execute(
                "INSERT OR REPLACE INTO settings (key, value, updated_at) VALUES (?, ?, now())",
                params![key, value],
            )?;
            audit::record(conn, actor, "setting", key, before.as_ref(), Some(&value))?;
            Ok("saved")
        },
    )
    .await;
    match tokio::task::spawn_blocking(move || settings::apply(&db)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "applying the settings failed"),
        Err(e) => tracing::error!(error = %e, "applying the settings stopped"),
    }
    response
}

handler!(save_source, "/admin/sources", |conn, actor, f| {
    let name = field(f, "name");
    let text = f
        .iter()
        .find(|(k, _)| k == "mapping")
        .map_or("", |(_, v)| v.as_str());
    let file = format!("{name}.toml (uploaded)");
    let before: Option<String> = conn
        .query_row("SELECT mapping FROM sources WHERE name = ?", [name], |r| {
            r.get(0)
        })
        .optional()?;
    super::ingest::sources::add(conn, name, text, &file)?;
    audit::record(
        conn,
        actor,
        "source.mapping",
        name,
        before.as_ref(),
        Some(&text),
    )?;
    Ok("saved")
});

/// GET /admin/audit.csv: the whole audit log for a spreadsheet (UTF-8 with BOM; `;` and the
/// Italian layout with `?lang=it`).
async fn audit_csv(
    State(state): State<AppState>,
    axum::extract::Query(query): axum::extract::Query<Vec<(String, String)>>,
) -> Response {
    let lang = query
        .iter()
        .find(|(k, _)| k == "lang")
        .map(|(_, v)| v.as_str());
    let separator = if Locale::parse(lang) == Locale::It {
        ';'
    } else {
        ','
    };
    let rows = state.db.run(|conn| audit_rows(conn, u32::MAX, 0)).await;
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) => {
            tracing::error!(error = %e, "audit export failed");
            return (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "export failed",
            )
                .into_response();
        }
    };
    let mut csv = String::from("\u{feff}");
    let header = ["at", "actor", "action", "subject", "before", "after"];
    csv.push_str(&header.join(&separator.to_string()));
    csv.push_str("\r\n");
    for row in rows {
        let cells = [
            row.at,
            row.actor,
            row.action,
            row.subject,
            row.before.unwrap_or_default(),
            row.after.unwrap_or_default(),
        ];
        let line: Vec<String> = cells.iter().map(|c| csv_cell(c, separator)).collect();
        csv.push_str(&line.join(&separator.to_string()));
        csv.push_str("\r\n");
    }
    let mut response = csv.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"omnikpi-audit.csv\""),
    );
    response
}

/// One CSV cell: quoted when needed, and a leading `= + - @` (a formula to a spreadsheet)
/// defused with an apostrophe.
pub fn csv_cell(value: &str, separator: char) -> String {
    let defused = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if defused.contains([separator, '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("plain", ','), "plain");
        assert_eq!(csv_cell("a,b", ','), "\"a,b\"");
        assert_eq!(csv_cell("a,b", ';'), "a,b");
        assert_eq!(csv_cell("say \"hi\"", ';'), "\"say \"\"hi\"\"\"");
        assert_eq!(
            csv_cell("=HYPERLINK(\"x\")", ';'),
            "\"'=HYPERLINK(\"\"x\"\")\""
        );
        assert_eq!(csv_cell("@SUM(A1)", ','), "'@SUM(A1)");
        assert_eq!(csv_cell("-5", ','), "'-5");
    }
}
