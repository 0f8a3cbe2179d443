//! Live refresh: open dashboards follow the data without a reload.
//!
//! [`LiveRefresh`] is an island on the dashboards (company, department, KPI detail). Once
//! hydrated it asks [`fetch_data_version`] every [`POLL_SECONDS`]; when the version moves
//! (data was written) it fetches the same URL again and puts the new page's `#main` in place
//! of the old one, then hydrates the islands in it. The page is rendered on the server and its
//! view state lives in the URL, so the new content is the same view with the new numbers, and
//! the page's data never travels as hydration state. The swap waits while the user is typing in
//! a form, so nothing they are entering is lost. Without JavaScript a reload shows new data;
//! TV mode's rotation reloads anyway.

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

/// Live refresh for a dashboard page: new content when the data changes (see the module doc).
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

/// The island behind [`LiveRefresh`]: polls the data version and refreshes the page's content
/// whenever it differs from the version last shown (`rendered`, or if the render did not know
/// it, the first answer).
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
                        Some(before) if before != version => {
                            seen.set(Some(version));
                            stale.set(true);
                        }
                        Some(_) => {}
                        None => seen.set(Some(version)),
                    }
                }
                if stale.get() && !typing() && swap_main().await.is_ok() {
                    stale.set(false);
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

/// Whether the focus is in a form field: new content would throw away what is being typed.
#[cfg(feature = "hydrate")]
fn typing() -> bool {
    document().active_element().is_some_and(|e| {
        matches!(
            e.tag_name().to_ascii_lowercase().as_str(),
            "input" | "select" | "textarea"
        )
    })
}

/// Fetches the page's URL again and swaps its `#main` into this page, then hydrates the islands
/// in it (with the function the islands script leaves on `window`). A sign-in page in answer
/// (the session ended) or a page without `#main` reloads the page instead.
#[cfg(feature = "hydrate")]
async fn swap_main() -> Result<(), wasm_bindgen::JsValue> {
    use leptos::web_sys::{DomParser, Response, SupportedType};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    let window = window();
    let href = window.location().href()?;
    let response: Response = JsFuture::from(window.fetch_with_str(&href))
        .await?
        .dyn_into()?;
    let html = JsFuture::from(response.text()?)
        .await?
        .as_string()
        .unwrap_or_default();
    let fresh = DomParser::new()?
        .parse_from_string(&html, SupportedType::TextHtml)?
        .get_element_by_id("main");
    let (Some(fresh), Some(main), false) = (
        fresh,
        document().get_element_by_id("main"),
        response.redirected() || !response.ok(),
    ) else {
        return window.location().reload();
    };
    main.set_inner_html(&fresh.inner_html());
    let hydrate = js_sys::Reflect::get(&window, &JsValue::from_str("__hydrateIsland"))?
        .dyn_into::<js_sys::Function>()?;
    let islands = main.query_selector_all("leptos-island")?;
    for i in 0..islands.length() {
        let Some(island) = islands
            .item(i)
            .and_then(|n| n.dyn_into::<leptos::web_sys::Element>().ok())
        else {
            continue;
        };
        let id = island.get_attribute("data-component").unwrap_or_default();
        hydrate.call2(&JsValue::NULL, &island, &JsValue::from_str(&id))?;
    }
    Ok(())
}
