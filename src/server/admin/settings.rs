//! The instance's settings (time zone, currency, ...), as the admin sees and changes them; the
//! time zone and the currency take effect at once.

use axum::extract::{Form, State};
use axum::response::Response;
use duckdb::{Connection, params};
use tower_sessions::Session;

use crate::admin::SettingRow;
use crate::error::AppError;
use crate::server::auth::{RequestAuth, audit};
use crate::server::forms::{Fields, field};
use crate::server::settings;
use crate::server::state::AppState;

use super::{AdminError, AdminForm, change, run};

pub async fn settings_page() -> Result<Vec<SettingRow>, AppError> {
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

/// `/admin/settings/save`: one setting; its value is checked by [`settings::check`].
pub struct SettingForm {
    pub key: String,
    pub value: String,
}

impl AdminForm for SettingForm {
    fn parse(f: &Fields) -> Result<Self, AdminError> {
        Ok(Self {
            key: field(f, "key").to_string(),
            value: field(f, "value").to_string(),
        })
    }
}

/// Saves a setting; the time zone and the currency take effect at once (see
/// `settings::apply`).
pub(super) async fn save_setting(
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
        |conn: &Connection, actor: &str, f: SettingForm| {
            let key = f.key.as_str();
            let value = settings::check(conn, key, &f.value)?;
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
