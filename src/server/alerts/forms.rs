//! The form posts of the alerts page: mark read, create a rule, delete a rule. The gate has
//! checked the route's access and the request's origin; each handler checks the session's
//! anti-forgery token and the department-level policy, writes rule changes with their audit
//! row in one transaction, and redirects back to `/alerts` with `ok=...` or `error=...`, so
//! the page works without JavaScript.

use axum::Router;
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use tower_sessions::Session;

use crate::alerts::RuleKind;
use crate::error::AppError;
use crate::i18n::Locale;
use crate::server::auth::{RequestAuth, policy};
use crate::server::dashboard::forms::{parse_number, stored_value};
use crate::server::kpi::Catalog;
use crate::server::state::AppState;

use super::{AlertError, NewRule};
use crate::server::forms::{EXPIRED, Fields, csrf_ok, field};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/alerts/read", post(mark_read))
        .route("/alerts/rules/save", post(save_rule))
        .route("/alerts/rules/delete", post(delete_rule))
}

/// `/alerts` in the form's language with the outcome.
fn back(locale: Locale, outcome: (&str, &str)) -> Response {
    let query = crate::url::query([("lang", locale.code()), outcome]);
    Redirect::to(&format!("/alerts{query}")).into_response()
}

fn outcome_of(e: &AlertError) -> String {
    if e.is_input() {
        e.to_string()
    } else {
        tracing::error!(error = %e, "an alerts form failed");
        "internal".to_string()
    }
}

fn forbidden(locale: Locale) -> Response {
    crate::server::auth::gate::refuse(policy::Kind::Form, AppError::Forbidden, locale, "")
}

/// `POST /alerts/read`: `alert` (an id, or `all`), `lang`, `csrf`.
async fn mark_read(
    State(state): State<AppState>,
    session: Session,
    axum::Extension(auth): axum::Extension<RequestAuth>,
    Form(fields): Form<Fields>,
) -> Response {
    let locale = Locale::parse(Some(field(&fields, "lang")));
    let (Some(who), Some(user_id)) = (
        auth.principal.clone(),
        auth.principal.as_ref().and_then(|p| p.user_id),
    ) else {
        return Redirect::to("/login").into_response();
    };
    if !csrf_ok(&session, &fields).await {
        return back(locale, ("error", EXPIRED));
    }
    let which = match field(&fields, "alert") {
        "all" => None,
        id => match id.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => return back(locale, ("error", "no such alert")),
        },
    };
    let done = state
        .db
        .run(move |conn| -> Result<usize, AlertError> {
            let visible = super::visible_departments(&who, &super::departments(conn)?);
            super::mark_read(conn, &visible, user_id, which)
        })
        .await;
    match done {
        Ok(_) => back(locale, ("ok", "read")),
        Err(AlertError::NotFound) => back(locale, ("error", "no such alert")),
        Err(e) => back(locale, ("error", &outcome_of(&e))),
    }
}

/// `POST /alerts/rules/save`: `kpi`, `department`, `kind` (threshold, change, off_track), `op`
/// (above, below), `threshold` (in the KPI's unit, percent for ratios; a percentage for a
/// change), `window` (last_7_days, last_30_days, month_to_date), `filters` (a view query such
/// as `channel=web`), `lang`, `csrf`.
async fn save_rule(
    State(state): State<AppState>,
    session: Session,
    axum::Extension(auth): axum::Extension<RequestAuth>,
    Form(fields): Form<Fields>,
) -> Response {
    let locale = Locale::parse(Some(field(&fields, "lang")));
    let Some(who) = auth.principal.clone() else {
        return Redirect::to("/login").into_response();
    };
    if !csrf_ok(&session, &fields).await {
        return back(locale, ("error", EXPIRED));
    }
    let department = field(&fields, "department").to_string();
    let kind = field(&fields, "kind");
    let typed = field(&fields, "threshold");
    let threshold = match (
        RuleKind::parse(kind),
        Catalog::builtin().get(field(&fields, "kpi")),
    ) {
        (Some(RuleKind::OffTrack), _) => Some(0.0),
        (Some(RuleKind::Threshold), Some(def)) => {
            parse_number(typed, locale).map(|v| stored_value(v, def.unit))
        }
        _ => parse_number(typed, locale),
    };
    let new = NewRule {
        kpi: field(&fields, "kpi").to_string(),
        department: department.clone(),
        filters: field(&fields, "filters").to_string(),
        kind: kind.to_string(),
        op: field(&fields, "op").to_string(),
        threshold,
        window: field(&fields, "window").to_string(),
    };
    let actor = who.label.clone();
    let saved = state
        .db
        .run(move |conn| -> Result<Option<i64>, AlertError> {
            // An unknown department is the sender's mistake; a known one not theirs is a
            // refusal.
            if !super::departments(conn)?.contains(&department) {
                return Err(AlertError::UnknownDepartment(department));
            }
            if !policy::can_edit_alert_rules(&who, &department) {
                return Ok(None);
            }
            let tx = conn.transaction()?;
            let rule = super::create(&tx, &new, &actor)?;
            tx.commit()?;
            Ok(Some(rule.id))
        })
        .await;
    match saved {
        Ok(Some(_)) => back(locale, ("ok", "saved")),
        Ok(None) => forbidden(locale),
        Err(e) => back(locale, ("error", &outcome_of(&e))),
    }
}

/// `POST /alerts/rules/delete`: `id`, `lang`, `csrf`.
async fn delete_rule(
    State(state): State<AppState>,
    session: Session,
    axum::Extension(auth): axum::Extension<RequestAuth>,
    Form(fields): Form<Fields>,
) -> Response {
    let locale = Locale::parse(Some(field(&fields, "lang")));
    let Some(who) = auth.principal.clone() else {
        return Redirect::to("/login").into_response();
    };
    if !csrf_ok(&session, &fields).await {
        return back(locale, ("error", EXPIRED));
    }
    let Ok(id) = field(&fields, "id").parse::<i64>() else {
        return back(locale, ("error", "no such rule"));
    };
    let actor = who.label.clone();
    let deleted = state
        .db
        .run(move |conn| -> Result<bool, AlertError> {
            let rule = super::get(conn, id)?.ok_or(AlertError::NotFound)?;
            if !policy::can_edit_alert_rules(&who, &rule.department) {
                return Ok(false);
            }
            let tx = conn.transaction()?;
            super::delete(&tx, id, &actor)?;
            tx.commit()?;
            Ok(true)
        })
        .await;
    match deleted {
        Ok(true) => back(locale, ("ok", "deleted")),
        Ok(false) => forbidden(locale),
        Err(e) => back(locale, ("error", &outcome_of(&e))),
    }
}
