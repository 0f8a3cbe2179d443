//! Live refresh: open dashboards follow the data.
//!
//! [`LiveRefresh`] is an island on the dashboards (company, department, KPI detail, TV). Once
//! hydrated it asks [`fetch_data_version`] every [`POLL_SECONDS`]; when the version moves
//! (data was written) it reloads the page. The page is rendered on the server and its view
//! state lives in the URL, so the reload shows the new numbers in the same view; the page's
//! data never travels as hydration state. A reload waits while the user is typing in a form,
//! so nothing they are entering is lost. Without JavaScript a reload by hand shows new data.

use leptos::prelude::*;

use crate::error::AppError;

/// How often an open dashboard asks whether new data arrived.
pub const POLL_SECONDS: u64 = 5;

/// The version of the data: it moves after every write the server makes or answers (loads,
/// the events API, identity changes, targets, settings, ...), the same version the results
/// cache is keyed on (`Db::data_version`), so a page refreshes exactly when its cached
/// answers went stale.
#[server(endpoint = "data_version")]
pub async fn fetch_data_version() -> Result<i64, AppError> {
    use crate::server::auth::{self, policy};
    use crate::server::state::AppState;
    auth::require(policy::Access::SignedIn, None)?;
    let state = expect_context::<AppState>();
    Ok(i64::try_from(state.db.data_version()).unwrap_or(i64::MAX))
}

/// Live refresh for a dashboard page: reloads it when the data changes (see the module doc).
/// It renders nothing visible.
#[component]
pub fn LiveRefresh() -> impl IntoView {
    view! { <VersionPoll rendered=rendered_version() /> }
}

/// The data version the page is being rendered from (`None` outside a server render).
fn rendered_version() -> Option<i64> {
    #[cfg(feature = "ssr")]
    {
        use_context::<crate::server::state::AppState>()
            .map(|state| i64::try_from(state.db.data_version()).unwrap_or(i64::MAX))
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

/// The island behind [`LiveRefresh`]: polls the data version and reloads the page once it
/// differs from `rendered` (or, if the render did not know it, from the first answer).
#[island]
fn VersionPoll(rendered: Option<i64>) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    {
        use std::cell::Cell;
        use std::rc::Rc;
        use std::time::Duration;
        let seen: Rc<Cell<Option<i64>>> = Rc::new(Cell::new(rendered));
        let stale = Rc::new(Cell::new(false));
        let poll = move || {
            let seen = Rc::clone(&seen);
            let stale = Rc::clone(&stale);
            leptos::task::spawn_local(async move {
                // A failed poll (server restarting, session ended) just waits for the next.
                if let Ok(version) = fetch_data_version().await {
                    match seen.get() {
                        Some(before) if before != version => stale.set(true),
                        Some(_) => {}
                        None => seen.set(Some(version)),
                    }
                }
                if stale.get() && !typing() {
                    let _ = window().location().reload();
                }
            });
        };
        poll();
        if let Ok(handle) = set_interval_with_handle(poll, Duration::from_secs(POLL_SECONDS)) {
            on_cleanup(move || handle.clear());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = rendered;
}

/// Whether the focus is in a form field: a reload would throw away what is being typed.
#[cfg(feature = "hydrate")]
fn typing() -> bool {
    document().active_element().is_some_and(|e| {
        matches!(
            e.tag_name().to_ascii_lowercase().as_str(),
            "input" | "select" | "textarea"
        )
    })
}
