//! `POST /customer/split` from the customer 360 (admins and CX officers): remove a link
//! (`kind=unlink`, identifiers `a_type`/`a_value` and `b_type`/`b_value`) or block an
//! identifier (`kind=block`, `a_type`/`a_value`), with a `reason`. The gate has checked the
//! route's access and the request's origin; the handler checks the anti-forgery token and
//! redirects back to the customer (the one now holding the first identifier) with `?ok=split`
//! or `?error=...`, so it works as a plain HTML form.

use axum::Router;
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use tower_sessions::Session;

use crate::server::auth::RequestAuth;
use crate::server::state::AppState;
use crate::url::query;

use super::IdentityError;
use super::split::{self, Split};
use crate::server::forms::{EXPIRED, Fields, csrf_ok, field};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/customer/split", post(split_customer))
        .route("/admin/identity/apply", post(apply_rules))
}

/// The data of `/admin/identity`: the rules in force, the flagged customers and, when
/// `proposed` is given, its simulation (nothing is written).
pub async fn admin_page(
    proposed: Option<String>,
) -> Result<crate::admin::IdentityAdminPage, crate::error::AppError> {
    let state = leptos::prelude::expect_context::<AppState>();
    let db = state.db.clone();
    let proposed = proposed.filter(|p| !p.trim().is_empty());
    let page = tokio::task::spawn_blocking(move || -> Result<_, IdentityError> {
        let conn = db.connect()?;
        let (_, version) = super::current_rules(&conn)?;
        let current = super::current_rules_text(&conn)?;
        let limits = super::suspicious::thresholds(&conn)?;
        let flags = super::suspicious::flagged(&conn, &limits)?
            .into_iter()
            .map(|f| (f.customer_id, f.reason, f.value))
            .collect();
        let ignored = super::ignored(&conn)?;
        drop(conn);
        let (simulation, error) = match &proposed {
            Some(text) => match super::simulate::simulate(&db, text, None) {
                Ok(s) => {
                    let mut lines = vec![
                        (
                            "customers".to_string(),
                            format!("{} → {}", s.customers_before, s.customers_after),
                        ),
                        ("merged".to_string(), s.merged.to_string()),
                        ("split".to_string(), s.split.to_string()),
                        ("period".to_string(), format!("{} .. {}", s.from, s.to)),
                    ];
                    let show =
                        |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.4}"));
                    for k in &s.kpis {
                        lines.push((
                            k.key.clone(),
                            format!("{} → {}", show(k.before), show(k.after)),
                        ));
                    }
                    for e in s.merge_examples.iter().chain(&s.split_examples) {
                        lines.push((
                            "example".to_string(),
                            format!("{:?} → {:?}", e.before, e.after),
                        ));
                    }
                    (lines, None)
                }
                Err(e @ (IdentityError::Rules(_) | IdentityError::Invalid(_))) => {
                    (Vec::new(), Some(e.to_string()))
                }
                Err(e) => return Err(e),
            },
            None => (Vec::new(), None),
        };
        Ok(crate::admin::IdentityAdminPage {
            rules: proposed.unwrap_or(current),
            version,
            simulation,
            error,
            flags,
            ignored,
        })
    })
    .await;
    match page {
        Ok(Ok(page)) => Ok(page),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "identity admin page failed");
            Err(crate::error::AppError::Internal)
        }
        Err(e) => {
            tracing::error!(error = %e, "identity admin page stopped");
            Err(crate::error::AppError::Internal)
        }
    }
}

/// `POST /admin/identity/apply`: `rules` (TOML); stores them and re-stitches (audited).
async fn apply_rules(
    State(state): State<AppState>,
    session: Session,
    axum::Extension(auth): axum::Extension<RequestAuth>,
    Form(fields): Form<Fields>,
) -> Response {
    let lang = match field(&fields, "lang") {
        "" => "en".to_string(),
        l => l.to_string(),
    };
    let back = |outcome: (&str, &str)| {
        Redirect::to(&format!(
            "/admin/identity{}",
            query([("lang", lang.as_str()), outcome])
        ))
        .into_response()
    };
    if !csrf_ok(&session, &fields).await {
        return back(("error", EXPIRED));
    }
    let text = fields
        .iter()
        .find(|(k, _)| k == "rules")
        .map(|(_, v)| v.replace("\r\n", "\n"))
        .unwrap_or_default();
    let actor = auth
        .principal
        .as_ref()
        .map_or_else(|| "unknown".to_string(), |p| p.label.clone());
    let db = state.db.clone();
    let done =
        tokio::task::spawn_blocking(move || super::simulate::apply(&db, &text, &actor, None)).await;
    match done {
        Ok(Ok(_)) => back(("ok", "saved")),
        Ok(Err(e @ (IdentityError::Rules(_) | IdentityError::Invalid(_)))) => {
            back(("error", &e.to_string()))
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "applying identity rules failed");
            back(("error", "internal"))
        }
        Err(e) => {
            tracing::error!(error = %e, "applying identity rules stopped");
            back(("error", "internal"))
        }
    }
}

async fn split_customer(
    State(state): State<AppState>,
    session: Session,
    axum::Extension(auth): axum::Extension<RequestAuth>,
    Form(fields): Form<Fields>,
) -> Response {
    let lang = match field(&fields, "lang") {
        "" => "en".to_string(),
        l => l.to_string(),
    };
    let id = field(&fields, "customer_id").parse::<i64>().ok();
    let back = |customer: Option<i64>, outcome: (&str, &str)| {
        let page = customer.map_or_else(|| "/customer".to_string(), |c| format!("/customer/{c}"));
        Redirect::to(&format!(
            "{page}{}#identity-links",
            query([("lang", lang.as_str()), outcome])
        ))
        .into_response()
    };
    if !csrf_ok(&session, &fields).await {
        return back(
            id,
            ("error", "the form expired; reload the page and try again"),
        );
    }
    let Some(customer_id) = id else {
        return back(None, ("error", "no customer number"));
    };
    let a = (
        field(&fields, "a_type").to_string(),
        field(&fields, "a_value").to_string(),
    );
    let what = match field(&fields, "kind") {
        "block" => Split::Block {
            id_type: a.0,
            value: a.1,
        },
        "unlink" => Split::Unlink {
            a_type: a.0,
            a_value: a.1,
            b_type: field(&fields, "b_type").to_string(),
            b_value: field(&fields, "b_value").to_string(),
        },
        _ => return back(id, ("error", "unknown kind of split")),
    };
    let reason = field(&fields, "reason").to_string();
    let actor = auth
        .principal
        .as_ref()
        .map_or_else(|| "unknown".to_string(), |p| p.label.clone());
    let db = state.db.clone();
    let done =
        tokio::task::spawn_blocking(move || split::split(&db, customer_id, &what, &reason, &actor))
            .await;
    match done {
        Ok(Ok(outcome)) => {
            // Back to the customer if it still exists, else to the one holding the identifier.
            let target = if outcome.now.contains(&customer_id) {
                customer_id
            } else {
                outcome.now.first().copied().unwrap_or(customer_id)
            };
            back(Some(target), ("ok", "split"))
        }
        Ok(Err(
            e @ (IdentityError::Invalid(_)
            | IdentityError::NotTheirs { .. }
            | IdentityError::NoCustomer(_)),
        )) => back(id, ("error", &e.to_string())),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "splitting a customer failed");
            back(id, ("error", "internal"))
        }
        Err(e) => {
            tracing::error!(error = %e, "splitting a customer stopped");
            back(id, ("error", "internal"))
        }
    }
}
