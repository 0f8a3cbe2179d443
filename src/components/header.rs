//! The top bar: product name, navigation, the signed-in user and the language switch.
//!
//! The language switch is a pair of plain links that keep the rest of the query, so it works
//! without JavaScript and a shared link keeps its language. Signing out is a small form (a
//! POST with the anti-forgery token), not a link a crawler or a prefetch could follow.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_query_map};

use crate::auth::{Role, Visitor, fetch_visitor};
use crate::components::forms::CsrfField;
use crate::i18n::{Locale, Msg, role_name};

#[component]
pub fn Header(#[prop(into)] locale: Signal<Locale>) -> impl IntoView {
    let query = use_query_map();
    let location = use_location();
    let who = Resource::new(|| (), |()| fetch_visitor());
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
    let current = move |prefix: &'static str| {
        let path = location.pathname.get();
        let here = if prefix == "/" {
            path == "/"
        } else {
            path.starts_with(prefix)
        };
        here.then_some("page")
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
                <a href=move || format!("/?lang={}", locale.get().code()) aria-current=move || current("/")>
                    {move || locale.get().text(Msg::NavCompany)}
                </a>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let journeys = who
                            .await
                            .ok()
                            .and_then(|v| v.user)
                            .is_some_and(|u| u.sees_journeys);
                        journeys.then(|| view! {
                            <a
                                href=move || format!("/journeys?lang={}", locale.get().code())
                                aria-current=move || current("/journeys")
                            >
                                {move || locale.get().text(Msg::NavJourneys)}
                            </a>
                        })
                    })}
                </Suspense>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let is_admin = who.await.ok().and_then(|v| v.role()) == Some(Role::Admin);
                        is_admin.then(|| view! {
                            <a
                                href=move || format!("/admin/users?lang={}", locale.get().code())
                                aria-current=move || current("/admin")
                            >
                                {move || locale.get().text(Msg::NavAdmin)}
                            </a>
                        })
                    })}
                </Suspense>
            </nav>
            <nav class="lang" aria-label=move || locale.get().text(Msg::Language)>
                {lang_link(Locale::En, "EN")}
                {lang_link(Locale::It, "IT")}
            </nav>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    who.await.ok().map(|v| view! { <UserMenu visitor=v locale=locale.get() /> })
                })}
            </Suspense>
        </header>
    }
}

#[component]
fn UserMenu(visitor: Visitor, locale: Locale) -> impl IntoView {
    let Visitor { user, csrf } = visitor;
    user.map(|user| {
        let title = format!("{} · {}", user.email, locale.text(role_name(user.role)));
        view! {
            <div class="user-menu">
                <a href=format!("/account?lang={}", locale.code()) title=title>
                    {user.display_name}
                </a>
                <form method="post" action="/logout">
                    <CsrfField token=csrf />
                    <button type="submit" class="link-button">{locale.text(Msg::SignOut)}</button>
                </form>
            </div>
        }
    })
}
