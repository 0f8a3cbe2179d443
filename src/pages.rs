//! One module per screen. Pages read their state from the URL query, so a copied link shows
//! exactly the same view, and fetch their data through server functions.

pub mod account;
pub mod admin;
pub mod alerts;
pub mod company;
pub mod customer;
pub mod department;
pub mod insights;
pub mod journeys;
pub mod kiosk;
pub mod kpi_detail;
pub mod login;
pub mod not_found;
pub mod tv;

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::components::period_form::PeriodForm;
use crate::error::AppError;
use crate::i18n::{Locale, Msg};
use crate::view::ViewState;

/// The page's query string, re-encoded, as the server functions take it.
pub fn query_string() -> Memo<String> {
    let query = use_query_map();
    Memo::new(move |_| {
        let params = query.read();
        crate::url::query((&*params).into_iter().map(|(k, v)| (k.as_ref(), v)))
    })
}

/// The view state the URL states, read leniently (for forms on error pages).
pub fn url_state() -> ViewState {
    let query = use_query_map();
    let params = query.read_untracked();
    ViewState::lenient((&*params).into_iter().map(|(k, v)| (k.as_ref(), v)))
}

/// What a page shows when its data cannot be computed: the controls, to correct the request,
/// and the message; a missing subject is the "not found" page.
pub fn error_view(err: AppError, action: String, missing: Msg, locale: Locale) -> AnyView {
    use not_found::Missing;
    match err {
        AppError::NotFound(_) => view! { <Missing title=locale.text(missing) locale /> }.into_any(),
        // A request the user can correct keeps the page's 200 (the form is the answer).
        err => {
            let message = if err == AppError::OutOfMemory {
                locale.text(Msg::ErrorOutOfMemory).to_string()
            } else {
                err.to_string()
            };
            view! {
            <PeriodForm action state=url_state() options=Vec::new() locale with_grain=true />
            <section class="error" role="alert">
                <h2>{locale.text(Msg::ErrorTitle)}</h2>
                <p>{message}</p>
            </section>
            }
            .into_any()
        }
    }
}
