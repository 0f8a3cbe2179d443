//! The page for an unknown address.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::i18n::{Locale, Msg};

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }
    let query = use_query_map();
    let locale = Locale::parse(query.read_untracked().get("lang").as_deref());
    view! {
        <main id="main" class="page not-found">
            <h1>{locale.text(Msg::PageNotFound)}</h1>
            <p>
                <a href=format!("/?lang={}", locale.code())>{locale.text(Msg::BackHome)}</a>
            </p>
        </main>
    }
}
