//! The HTML shell and the route table.
//!
//! Every route renders completely on the server (`SsrMode::Async`), so each page is whole and
//! usable without JavaScript; hydration then adds interactivity on top.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{Route, Router, Routes},
    path,
};

use crate::pages::{
    company::CompanyPage, department::DepartmentPage, kpi_detail::KpiDetailPage,
    not_found::NotFound,
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
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Set once the browser bundle has taken over the page; end-to-end tests wait for it.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    view! {
        <Stylesheet id="leptos" href="/pkg/omnikpi.css" />
        <Title text="omnikpi" />
        <Router>
            <div id="app" data-hydrated=move || hydrated.get().to_string()>
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=CompanyPage ssr=SsrMode::Async />
                    <Route path=path!("/kpi/:key") view=KpiDetailPage ssr=SsrMode::Async />
                    <Route
                        path=path!("/dept/:department")
                        view=DepartmentPage
                        ssr=SsrMode::Async
                    />
                </Routes>
            </div>
        </Router>
    }
}
