//! The form posts of the dashboard pages: a department's targets. The gate has checked the
//! route's access (for targets: an admin, or a lead of the department in the path) and the
//! request's origin; each handler checks the session's anti-forgery token and the finer
//! policy, writes its audit row in the change's transaction, and redirects back to the view
//! it came from (its query kept) with `ok=...` or `error=...`, so the forms work without
//! JavaScript.

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use tower_sessions::Session;

use crate::error::AppError;
use crate::i18n::Locale;
use crate::kpi::Unit;
use crate::server::annotations;
use crate::server::auth::policy::Principal;
use crate::server::auth::{RequestAuth, audit, policy};
use crate::server::kpi::{Catalog, targets};
use crate::server::state::AppState;
use crate::view::ViewState;

use super::DashboardError;
use crate::server::forms::{EXPIRED, Fields, csrf_ok, field};

/// The form handlers.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dept/{department}/targets", post(save_target))
        .route("/annotations/save", post(save_annotation))
        .route("/annotations/delete", post(delete_annotation))
}

/// The view state the form carried in its `view` field (the page's query), read leniently:
/// only view state survives, so the redirect cannot be steered anywhere else.
pub fn carried_view(fields: &Fields) -> ViewState {
    let pairs = crate::url::parse(field(fields, "view"));
    ViewState::lenient(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// `page` with the carried view's query and the outcome appended.
pub fn back_to(page: &str, view: &ViewState, outcome: (&str, &str)) -> Response {
    let mut pairs = view.pairs();
    pairs.push(outcome);
    Redirect::to(&format!("{page}{}", crate::url::query(pairs))).into_response()
}

/// A number as a person types it in `locale`: `1,234.5` in English, `1.234,5` in Italian;
/// spaces ignored. `None` unless it is a finite number.
pub fn parse_number(text: &str, locale: Locale) -> Option<f64> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let plain = match locale {
        Locale::En => compact.replace(',', ""),
        Locale::It => compact.replace('.', "").replace(',', "."),
    };
    plain
        .trim_end_matches('%')
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
}

/// The value stored for what was typed: ratios are typed as percentages (12.5 → 0.125),
/// everything else as is.
pub fn stored_value(typed: f64, unit: Unit) -> f64 {
    match unit {
        Unit::Ratio => typed / 100.0,
        _ => typed,
    }
}

/// `POST /dept/{department}/targets`: `kpi`, `period` (2026, 2026-Q3, 2026-07), `value` in
/// the KPI's unit (percent for ratios), `view` (the page's query) and `csrf`.
async fn save_target(
    State(state): State<AppState>,
    Path(department): Path<String>,
    session: Session,
    axum::Extension(auth): axum::Extension<RequestAuth>,
    Form(fields): Form<Fields>,
) -> Response {
    let view = carried_view(&fields);
    let page = format!("/dept/{}", crate::url::encode(&department));
    let back = |outcome: (&str, &str)| back_to(&page, &view, outcome);
    let Some(who) = auth.principal.clone() else {
        return Redirect::to("/login").into_response();
    };
    if !policy::can_edit_targets(&who, &department) {
        return crate::server::auth::gate::refuse(
            policy::Kind::Form,
            AppError::Forbidden,
            view.lang,
            "",
        );
    }
    if !csrf_ok(&session, &fields).await {
        return back(("error", EXPIRED));
    }
    let kpi = field(&fields, "kpi").to_string();
    let Some(typed) = parse_number(field(&fields, "value"), view.lang) else {
        return back(("error", "the target value is not a number"));
    };
    let period = field(&fields, "period").to_string();
    let actor = who.label.clone();
    let dept = department.clone();
    let saved = state
        .db
        .run(move |conn| -> Result<(), DashboardError> {
            let tx = conn.transaction()?;
            let catalog = super::super::kpi::catalog(&tx)?;
            let Some(def) = catalog.get(&kpi) else {
                return Err(DashboardError::BadRequest("unknown KPI".into()));
            };
            let value = stored_value(typed, def.unit);
            // A department's page sets targets for the KPIs that department owns.
            let owner = super::super::kpi::owners(&tx)?.get(&kpi).cloned();
            if owner.as_deref() != Some(dept.as_str()) {
                return Err(DashboardError::BadRequest(format!(
                    "{dept} does not own {kpi}; its owner sets its targets"
                )));
            }
            let normalised = targets::TargetPeriod::parse(&period)?.label;
            let before = targets::list(&tx, Some(&dept), Some(&kpi))?
                .into_iter()
                .find(|t| t.period == normalised);
            let target = targets::set(&tx, &catalog, &kpi, &dept, &period, value, &actor)?;
            let subject = format!("{}/{}/{}", target.kpi, target.department, target.period);
            audit::record(
                &tx,
                &actor,
                "target.set",
                &subject,
                before.as_ref(),
                Some(&target),
            )?;
            tx.commit()?;
            Ok(())
        })
        .await;
    match saved {
        Ok(()) => back(("ok", "saved")),
        Err(DashboardError::Target(e)) => back(("error", &e.to_string())),
        Err(DashboardError::BadRequest(message)) => back(("error", &message)),
        Err(e) => {
            tracing::error!(error = %e, "saving a target failed");
            back(("error", "internal"))
        }
    }
}

/// What both note forms check first: the view they return to (a KPI's detail page, or the
/// company view), who sends them, and the session's anti-forgery token.
struct NoteForm {
    view: ViewState,
    kpi: Option<String>,
    page: String,
    who: Principal,
}

impl NoteForm {
    /// The form, or the response that ends the request (sign in again, or the expired form).
    async fn read(
        session: &Session,
        auth: &RequestAuth,
        fields: &Fields,
    ) -> Result<Self, Response> {
        let view = carried_view(fields);
        let kpi = Some(field(fields, "kpi"))
            .filter(|k| !k.is_empty() && Catalog::builtin().get(k).is_some())
            .map(str::to_string);
        let page = match &kpi {
            Some(k) => format!("/kpi/{}", crate::url::encode(k)),
            None => "/".to_string(),
        };
        let Some(who) = auth.principal.clone() else {
            return Err(Redirect::to("/login").into_response());
        };
        if !csrf_ok(session, fields).await {
            return Err(back_to(&page, &view, ("error", EXPIRED)));
        }
        Ok(Self {
            view,
            kpi,
            page,
            who,
        })
    }

    fn back(&self, outcome: (&str, &str)) -> Response {
        back_to(&self.page, &self.view, outcome)
    }

    /// A note that is neither the user's own nor an admin's to change.
    fn forbidden(&self) -> Response {
        crate::server::auth::gate::refuse(
            policy::Kind::Form,
            AppError::Forbidden,
            self.view.lang,
            "",
        )
    }
}

fn note_error(e: &annotations::AnnotationError) -> String {
    match e {
        annotations::AnnotationError::Sql(_) | annotations::AnnotationError::Db(_) => {
            tracing::error!(error = %e, "saving a note failed");
            "internal".to_string()
        }
        other => other.to_string(),
    }
}

/// `POST /annotations/save`: `day`, `text`, `kpi` (empty: the company view), `id` (to edit an
/// existing note: its author or an admin), `view` and `csrf`.
async fn save_annotation(
    State(state): State<AppState>,
    session: Session,
    axum::Extension(auth): axum::Extension<RequestAuth>,
    Form(fields): Form<Fields>,
) -> Response {
    let form = match NoteForm::read(&session, &auth, &fields).await {
        Ok(form) => form,
        Err(refused) => return refused,
    };
    let back = |outcome: (&str, &str)| form.back(outcome);
    let (kpi, who) = (form.kpi.clone(), form.who.clone());
    if !field(&fields, "kpi").is_empty() && kpi.is_none() {
        return back(("error", "unknown KPI"));
    }
    let (day, text) = match annotations::check(field(&fields, "day"), field(&fields, "text")) {
        Ok(checked) => checked,
        Err(e) => return back(("error", &e.to_string())),
    };
    let id = match field(&fields, "id") {
        "" => None,
        id => match id.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => return back(("error", "no such note")),
        },
    };
    let saved = state
        .db
        .run(move |conn| -> Result<bool, annotations::AnnotationError> {
            let tx = conn.transaction()?;
            match id {
                None => {
                    let view_key = if kpi.is_some() { "kpi" } else { "company" };
                    let note =
                        annotations::add(&tx, kpi.as_deref(), view_key, day, &text, &who.label)?;
                    let subject = format!("annotation/{}", note.id);
                    audit::record(
                        &tx,
                        &who.label,
                        "annotation.add",
                        &subject,
                        None::<&()>,
                        Some(&note),
                    )?;
                }
                Some(id) => {
                    let before =
                        annotations::get(&tx, id)?.ok_or(annotations::AnnotationError::NotFound)?;
                    if !annotations::may_change(&who, &before) {
                        return Ok(false);
                    }
                    let after = annotations::update(&tx, id, day, &text)?;
                    let subject = format!("annotation/{id}");
                    audit::record(
                        &tx,
                        &who.label,
                        "annotation.edit",
                        &subject,
                        Some(&before),
                        Some(&after),
                    )?;
                }
            }
            tx.commit()?;
            Ok(true)
        })
        .await;
    match saved {
        Ok(true) => back(("ok", "saved")),
        Ok(false) => form.forbidden(),
        Err(e) => back(("error", &note_error(&e))),
    }
}

/// `POST /annotations/delete`: `id`, `kpi` (where to return), `view` and `csrf`; by the
/// note's author or an admin.
async fn delete_annotation(
    State(state): State<AppState>,
    session: Session,
    axum::Extension(auth): axum::Extension<RequestAuth>,
    Form(fields): Form<Fields>,
) -> Response {
    let form = match NoteForm::read(&session, &auth, &fields).await {
        Ok(form) => form,
        Err(refused) => return refused,
    };
    let back = |outcome: (&str, &str)| form.back(outcome);
    let who = form.who.clone();
    let Ok(id) = field(&fields, "id").parse::<i64>() else {
        return back(("error", "no such note"));
    };
    let deleted = state
        .db
        .run(move |conn| -> Result<bool, annotations::AnnotationError> {
            let tx = conn.transaction()?;
            let before =
                annotations::get(&tx, id)?.ok_or(annotations::AnnotationError::NotFound)?;
            if !annotations::may_change(&who, &before) {
                return Ok(false);
            }
            annotations::delete(&tx, id)?;
            let subject = format!("annotation/{id}");
            audit::record(
                &tx,
                &who.label,
                "annotation.delete",
                &subject,
                Some(&before),
                None::<&()>,
            )?;
            tx.commit()?;
            Ok(true)
        })
        .await;
    match deleted {
        Ok(true) => back(("ok", "deleted")),
        Ok(false) => form.forbidden(),
        Err(e) => back(("error", &note_error(&e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_in_the_form_language() {
        assert_eq!(parse_number("1,234.5", Locale::En), Some(1234.5));
        assert_eq!(parse_number("1.234,5", Locale::It), Some(1234.5));
        assert_eq!(parse_number(" 12,5 % ", Locale::It), Some(12.5));
        assert_eq!(parse_number("abc", Locale::En), None);
        assert_eq!(parse_number("inf", Locale::En), None);
        assert_eq!(stored_value(12.5, Unit::Ratio), 0.125);
        assert_eq!(stored_value(250_000.0, Unit::Money), 250_000.0);
    }
}
