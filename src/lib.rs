//! omnikpi: a self-hosted omnichannel KPI dashboard.
//!
//! The crate builds twice. With feature `ssr` it is the server: the `omnikpi` binary, the
//! DuckDB store, ingestion, the KPI engine and the axum router, all under [`server`]. With
//! feature `hydrate` it is the WebAssembly bundle that hydrates the islands of the
//! server-rendered pages (Leptos islands mode, see [`app`]).
//!
//! Map of the code:
//! - [`app`]: the HTML shell and the route table;
//! - [`pages`] and [`components`]: the views, shared by both builds;
//! - [`kpi`]: client-safe KPI types (units, grains, one KPI's value);
//! - [`dashboard`]: what the company, KPI detail and department pages show, and their server
//!   functions; [`journey`] and [`admin`]: the same for the journey pages and the admin pages;
//! - [`kiosk`]: what a kiosk link's screen shows and the admin list of links;
//! - [`alerts`]: alert rules and firings as the views see them, the alerts page's server function;
//! - [`view`] and [`url`]: the view state that lives in the URL query;
//! - [`live`]: open dashboards refresh themselves when new data is loaded;
//! - [`theme`]: light and dark themes, remembered in a cookie;
//! - [`i18n`] and [`format`]: UI text in English and Italian, locale-aware numbers;
//! - [`error`]: the one error type that crosses the wire;
//! - `server` (ssr only): everything that touches the database, the files or the network.
//!
//! Every server function checks the user first (`server::auth::require`), then calls one
//! server service; server code never imports a page or a component. docs/architecture.md
//! follows a request through these layers.

#![recursion_limit = "256"]

pub mod admin;
pub mod alerts;
pub mod app;
pub mod auth;
pub mod components;
pub mod dashboard;
pub mod error;
pub mod format;
pub mod i18n;
pub mod insight;
pub mod journey;
pub mod kiosk;
pub mod kpi;
pub mod live;
pub mod pages;
pub mod theme;
pub mod url;
pub mod view;

#[cfg(feature = "ssr")]
pub mod server;

/// Entry point of the browser bundle: the islands script calls it, then hydrates each island.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Amounts must read as the server wrote them: same currency before and after hydration.
    let code = leptos::prelude::document()
        .query_selector("meta[name=omnikpi-currency]")
        .ok()
        .flatten()
        .and_then(|meta| meta.get_attribute("content"));
    if let Some(currency) = code.as_deref().and_then(format::Currency::parse) {
        format::set_currency(currency);
    }
    leptos::mount::hydrate_islands();
}
