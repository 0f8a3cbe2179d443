//! The page for an unknown address, and the same message inside a view whose subject (a KPI
//! key, a department) does not exist.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::i18n::{Locale, Msg};

/// Sets the response status while rendering on the server.
pub fn set_status(code: u16) {
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>()
            && let Ok(status) = axum::http::StatusCode::from_u16(code)
        {
            response.set_status(status);
        }
    }
    #[cfg(not(feature = "ssr"))]
    let _ = code;
}

#[component]
pub fn NotFound() -> impl IntoView {
    let query = use_query_map();
    let locale = Locale::parse(query.read_untracked().get("lang").as_deref());
    view! {
        <main id="main" class="page not-found">
            <Missing title=locale.text(Msg::PageNotFound) locale />
        </main>
    }
}

/// "Not found" with a link back to the company view, and a 404 status.
#[component]
pub fn Missing(title: &'static str, locale: Locale) -> impl IntoView {
    set_status(404);
    view! {
        <section class="missing" role="alert">
            <h1>{title}</h1>
            <p>
                <a href=format!("/?lang={}", locale.code())>{locale.text(Msg::BackHome)}</a>
            </p>
        </section>
    }
}
