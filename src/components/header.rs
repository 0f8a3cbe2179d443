//! The top bar: product name, navigation between the company and department views, and the
//! language switch.
//!
//! Every link keeps the view state of the query (period, grain, comparison, filters,
//! language), so moving between views keeps what the user chose; the current view is marked
//! with `aria-current="page"`. Plain links: they work without JavaScript.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_query_map};

use crate::i18n::{Locale, Msg};
use crate::view::{DEPARTMENTS, ViewState, department_name};

#[component]
pub fn Header(#[prop(into)] locale: Signal<Locale>) -> impl IntoView {
    let query = use_query_map();
    let location = use_location();
    let link_for = move |target: Locale| {
        let params = query.get();
        let current = (&params).into_iter().map(|(k, v)| (k.as_ref(), v));
        crate::url::with_param(current, "lang", target.code())
    };
    // The view state without the page-specific breakdown dimension.
    let view_query = move || {
        let params = query.get();
        ViewState::lenient((&params).into_iter().map(|(k, v)| (k.as_ref(), v)))
            .with_by(None)
            .query()
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
    let nav_link = move |path: String, label: Signal<&'static str>| {
        let here = path.clone();
        view! {
            <a
                href=move || format!("{path}{}", view_query())
                aria-current=move || (location.pathname.get() == here).then_some("page")
            >
                {label}
            </a>
        }
    };
    let departments = DEPARTMENTS
        .into_iter()
        .map(|d| {
            nav_link(
                format!("/dept/{d}"),
                Signal::derive(move || department_name(d, locale.get())),
            )
        })
        .collect_view();
    view! {
        <a class="skip-link" href="#main">
            {move || locale.get().text(Msg::SkipToContent)}
        </a>
        <header class="topbar">
            <a class="brand" href=move || format!("/?lang={}", locale.get().code())>
                {move || locale.get().text(Msg::AppTitle)}
            </a>
            <nav class="lang" aria-label=move || locale.get().text(Msg::Language)>
                {lang_link(Locale::En, "EN")}
                {lang_link(Locale::It, "IT")}
            </nav>
            <nav class="views" aria-label=move || locale.get().text(Msg::NavLabel)>
                {nav_link(
                    "/".to_string(),
                    Signal::derive(move || locale.get().text(Msg::NavCompany)),
                )}
                {departments}
            </nav>
        </header>
    }
}
