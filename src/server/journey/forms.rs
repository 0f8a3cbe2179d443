//! The form posts of the journey pages: a pain point's acknowledgement and note, erasing a
//! customer (right to be forgotten), and the customer search, which takes the identifier in
//! the request body and redirects to the customer's number, so an e-mail or a phone number
//! never lands in a URL (server logs, browser history, a shared link). The gate has checked the route's access and the request's
//! origin; each handler checks the session's anti-forgery token, writes its audit row in the
//! change's transaction, and redirects back with `?ok=...` or `?error=...`, so both work as
//! plain HTML forms.

use axum::Router;
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use tower_sessions::Session;

use crate::error::AppError;
use crate::server::auth::{RequestAuth, audit};
use crate::server::db::DbError;
use crate::server::state::AppState;
use crate::url::{encode, query};

use super::{notes, pain, service};
use crate::server::forms::{EXPIRED, Fields, actor, csrf_ok, field};

/// The form handlers.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/journeys/pain-note", post(save_pain_note))
        .route("/customer/erase", post(erase_customer))
        .route("/customer/search", post(search_customer))
}

/// Whether `key` names a pain point: a rule, or a finding of the significance rule.
fn known_pain_point(key: &str) -> bool {
    key.len() <= 300
        && (pain::Rules::builtin().get(key).is_some()
            || key
                .strip_prefix("significance:")
                .is_some_and(|rest| !rest.is_empty()))
}

/// `POST /journeys/pain-note`: `rule`, `acknowledged` (checkbox), `note`; `from`, `to` and
/// `lang` are carried back to the page.
async fn save_pain_note(
    State(state): State<AppState>,
    session: Session,
    axum::Extension(auth): axum::Extension<RequestAuth>,
    Form(fields): Form<Fields>,
) -> Response {
    let rule = field(&fields, "rule").to_string();
    let page = if known_pain_point(&rule) {
        format!("/journeys/pain/{}", encode(&rule))
    } else {
        "/journeys".to_string()
    };
    let carried: Vec<(&str, &str)> = ["from", "to", "lang"]
        .into_iter()
        .map(|k| (k, field(&fields, k)))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let back = |outcome: (&str, &str)| {
        let mut pairs = carried.clone();
        pairs.push(outcome);
        Redirect::to(&format!("{page}{}", query(pairs))).into_response()
    };
    if !csrf_ok(&session, &fields).await {
        return back(("error", EXPIRED));
    }
    if !known_pain_point(&rule) {
        return back(("error", "unknown pain point"));
    }
    let note = field(&fields, "note");
    if note.chars().count() > notes::MAX_NOTE {
        return back(("error", "the note is longer than 2000 characters"));
    }
    let note = (!note.is_empty()).then(|| note.to_string());
    let acknowledged = !field(&fields, "acknowledged").is_empty();
    let actor = actor(&auth);
    let saved = state
        .db
        .run(move |conn| -> Result<(), DbError> {
            let tx = conn.transaction()?;
            let before = notes::get(&tx, &rule)?;
            let after = notes::set(&tx, &rule, acknowledged, note.as_deref(), &actor)?;
            audit::record(
                &tx,
                &actor,
                "pain_point.note",
                &rule,
                Some(&before),
                Some(&after),
            )?;
            tx.commit()?;
            Ok(())
        })
        .await;
    match saved {
        Ok(()) => back(("ok", "saved")),
        Err(e) => {
            tracing::error!(error = %e, "saving a pain point note failed");
            back(("error", "internal"))
        }
    }
}

/// `POST /customer/erase`: `customer_id` and `confirm` (the same number typed again).
async fn erase_customer(
    State(state): State<AppState>,
    session: Session,
    axum::Extension(auth): axum::Extension<RequestAuth>,
    Form(fields): Form<Fields>,
) -> Response {
    let lang = field(&fields, "lang");
    let lang = if lang.is_empty() { "en" } else { lang };
    let id = field(&fields, "customer_id");
    let page = match id.parse::<i64>() {
        Ok(id) => format!("/customer/{id}"),
        Err(_) => "/customer".to_string(),
    };
    let back = |to: &str, outcome: (&str, &str)| {
        Redirect::to(&format!("{to}{}", query([("lang", lang), outcome]))).into_response()
    };
    if !csrf_ok(&session, &fields).await {
        return back(&page, ("error", EXPIRED));
    }
    let Ok(customer_id) = id.parse::<i64>() else {
        return back(&page, ("error", "no customer number"));
    };
    if field(&fields, "confirm") != id {
        return back(
            &page,
            ("error", "type the customer number to confirm the erasure"),
        );
    }
    match service::erase_customer_audited(&state.db, customer_id, actor(&auth)).await {
        Ok(_) => back("/customer", ("ok", "erased")),
        Err(AppError::NotFound(_)) => back("/customer", ("error", "no such customer")),
        Err(e) => back(&page, ("error", &e.to_string())),
    }
}

/// `POST /customer/search`: `q` (any identifier) and `lang`; redirects to `/customer/{id}`, or
/// back to `/customer` with an error that does not repeat the identifier.
async fn search_customer(
    State(state): State<AppState>,
    session: Session,
    Form(fields): Form<Fields>,
) -> Response {
    let lang = field(&fields, "lang");
    let lang = if lang.is_empty() { "en" } else { lang };
    let back = |outcome: (&str, &str)| {
        Redirect::to(&format!("/customer{}", query([("lang", lang), outcome]))).into_response()
    };
    if !csrf_ok(&session, &fields).await {
        return back(("error", EXPIRED));
    }
    let q = field(&fields, "q").to_string();
    if q.is_empty() || q.chars().count() > 320 {
        return back((
            "error",
            "type an identifier: e-mail, phone, loyalty card, ...",
        ));
    }
    let found = state
        .db
        .run(move |conn| super::customer::find(conn, &q).map_err(AppError::from))
        .await;
    match found {
        Ok(id) => {
            Redirect::to(&format!("/customer/{id}{}", query([("lang", lang)]))).into_response()
        }
        Err(AppError::NotFound(_)) => back(("error", "no customer has this identifier")),
        Err(e) => back(("error", &e.to_string())),
    }
}
