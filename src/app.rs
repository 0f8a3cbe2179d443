//! The HTML shell and the route table.
//!
//! Every route renders completely on the server (`SsrMode::Async`), so each page is whole and
//! usable without JavaScript. The app runs in Leptos' islands mode: the browser bundle hydrates
//! only the `#[island]` components (chart tooltips, the period form's dates, live refresh), so
//! the pages' data is sent once, as HTML, and never again as hydration state. Links and forms
//! are plain navigations.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{Route, Router, Routes},
    path,
};

use crate::pages::admin::{
    AdminHome, audit::AdminAuditPage, departments::AdminDepartmentsPage,
    identity::AdminIdentityPage, kiosk::AdminKioskPage, kpis::AdminKpisPage,
    settings::AdminSettingsPage, sources::AdminSourcesPage, tokens::AdminTokensPage,
    users::AdminUsersPage,
};
use crate::pages::insights::{KpiTreePage, WhatChangedPage};
use crate::pages::journeys::{
    JourneysPage, compare::ComparePage, detail::JourneyDetailPage, funnel::CustomFunnelPage,
    pain::PainPage,
};
use crate::pages::{
    account::AccountPage, alerts::AlertsPageView, company::CompanyPage, customer::CustomerPage,
    department::DepartmentPage, kiosk::KioskPage, kpi_detail::KpiDetailPage, login::LoginPage,
    not_found::NotFound, tv::TvPage,
};

/// The document around the app, rendered only on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                // The browser bundle formats amounts in the same currency (see `format`).
                <meta name="omnikpi-currency" content=crate::format::currency().code() />
                <AutoReload options=options.clone() />
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            // The theme the user chose (see `theme`); the CSS follows the system without one.
            <body data-theme=crate::theme::current_theme().code()>
                <App />
            </body>
        </html>
    }
}

/// Marks the page as taken over by the browser bundle. Islands hydrate in document order and
/// this one comes last, so when it runs every island of the page is live.
#[island]
fn Hydrated() -> impl IntoView {
    #[cfg(feature = "hydrate")]
    if let Some(app) = document().get_element_by_id("app") {
        let _ = app.set_attribute("data-hydrated", "true");
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Stylesheet id="leptos" href="/pkg/omnikpi.css" />
        <Title text="omnikpi" />
        <Router>
            // `Hydrated`, the page's last island, sets `data-hydrated` to "true" once every island
            // has hydrated; end-to-end tests wait for it.
            <div id="app" data-hydrated="false">
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=CompanyPage ssr=SsrMode::Async />
                    <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async />
                    <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async />
                    <Route path=path!("/alerts") view=AlertsPageView ssr=SsrMode::Async />
                    <Route path=path!("/journeys") view=JourneysPage ssr=SsrMode::Async />
                    <Route path=path!("/journeys/pain/:rule") view=PainPage ssr=SsrMode::Async />
                    <Route
                        path=path!("/journeys/funnel")
                        view=CustomFunnelPage
                        ssr=SsrMode::Async
                    />
                    <Route path=path!("/journeys/compare") view=ComparePage ssr=SsrMode::Async />
                    <Route
                        path=path!("/journeys/journey/:id")
                        view=JourneyDetailPage
                        ssr=SsrMode::Async
                    />
                    <Route path=path!("/customer") view=CustomerPage ssr=SsrMode::Async />
                    <Route path=path!("/customer/:id") view=CustomerPage ssr=SsrMode::Async />
                    <Route path=path!("/admin") view=AdminHome ssr=SsrMode::Async />
                    <Route path=path!("/admin/users") view=AdminUsersPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/tokens") view=AdminTokensPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/kiosk") view=AdminKioskPage ssr=SsrMode::Async />
                    <Route
                        path=path!("/admin/departments")
                        view=AdminDepartmentsPage
                        ssr=SsrMode::Async
                    />
                    <Route path=path!("/admin/kpis") view=AdminKpisPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/settings") view=AdminSettingsPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/identity") view=AdminIdentityPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/audit") view=AdminAuditPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/sources") view=AdminSourcesPage ssr=SsrMode::Async />
                    <Route path=path!("/kpi/:key") view=KpiDetailPage ssr=SsrMode::Async />
                    <Route path=path!("/tv") view=TvPage ssr=SsrMode::Async />
                    <Route path=path!("/kiosk/:token") view=KioskPage ssr=SsrMode::Async />
                    <Route
                        path=path!("/dept/:department")
                        view=DepartmentPage
                        ssr=SsrMode::Async
                    />
                    <Route path=path!("/insights/tree") view=KpiTreePage ssr=SsrMode::Async />
                    <Route
                        path=path!("/insights/changed")
                        view=WhatChangedPage
                        ssr=SsrMode::Async
                    />
                </Routes>
                <Hydrated />
            </div>
        </Router>
    }
}
