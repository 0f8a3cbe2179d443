//! The top bar: product name, navigation and the language switch.
//!
//! The language switch is a pair of plain links that keep the rest of the query, so it works
//! without JavaScript and a shared link keeps its language.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::i18n::{Locale, Msg};

#[component]
pub fn Header(#[prop(into)] locale: Signal<Locale>) -> impl IntoView {
    let query = use_query_map();
    let link_for = move |target: Locale| {
        let params = query.get();
        let current = (&params).into_iter().map(|(k, v)| (k.as_ref(), v));
        crate::url::with_param(current, "lang", target.code())
    };
    let lang_link = move |target: Locale, label: &'static str| {
        view! {
            <a
                href=move || link_for(target)
                hreflang=target.code()
                lang=target.code()
                aria-current=move || (locale.get() == target).then_some("true")
            >
                {label}
            </a>
        }
    };
    view! {
        <a class="skip-link" href="#main">
            {move || locale.get().text(Msg::SkipToContent)}
        </a>
        <header class="topbar">
            <a class="brand" href=move || format!("/?lang={}", locale.get().code())>
                {move || locale.get().text(Msg::AppTitle)}
            </a>
            <nav aria-label="primary">
                <a href=move || format!("/?lang={}", locale.get().code()) aria-current="page">
                    {move || locale.get().text(Msg::NavCompany)}
                </a>
            </nav>
            <nav class="lang" aria-label=move || locale.get().text(Msg::Language)>
                {lang_link(Locale::En, "EN")}
                {lang_link(Locale::It, "IT")}
            </nav>
        </header>
    }
}
