//! The top bar: product name, navigation between the views the signed-in user may open, the
//! language switch and the user menu.
//!
//! Every view link keeps the view state of the query (period, grain, comparison, filters,
//! language), so moving between views keeps what the user chose; the current view is marked
//! with `aria-current="page"`. Plain links: they work without JavaScript. Signing out is a
//! small form (a POST with the anti-forgery token), not a link a prefetch could follow.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_query_map};

use crate::auth::{CurrentUser, Role, Visitor, fetch_visitor};
use crate::components::forms::CsrfField;
use crate::i18n::{Locale, Msg, role_name};
use crate::theme::Theme;
use crate::view::{DEPARTMENTS, ViewState, department_name};

/// Whether the user's navigation offers a department's view (the server decides access;
/// this only avoids offering links that would be refused).
fn offers_department(user: &CurrentUser, department: &str) -> bool {
    match user.role {
        Role::Admin | Role::Executive | Role::Lead => true,
        Role::CxOfficer => department == "customer_service",
        Role::Viewer => {
            user.department.as_deref() == Some(department)
                || user.views.iter().any(|v| v == department)
        }
    }
}

fn offers_company(user: &CurrentUser) -> bool {
    user.role != Role::Viewer || user.views.iter().any(|v| v == "company")
}

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
    let views = move |user: CurrentUser| {
        let company = offers_company(&user).then(|| {
            nav_link(
                "/".to_string(),
                Signal::derive(move || locale.get().text(Msg::NavCompany)),
            )
        });
        let departments = DEPARTMENTS
            .into_iter()
            .filter(|d| offers_department(&user, d))
            .map(|d| {
                nav_link(
                    format!("/dept/{d}"),
                    Signal::derive(move || department_name(d, locale.get())),
                )
            })
            .collect_view();
        let journeys = user.sees_journeys.then(|| {
            view! {
                <a
                    href=move || format!("/journeys?lang={}", locale.get().code())
                    aria-current=move || {
                        location.pathname.get().starts_with("/journeys").then_some("page")
                    }
                >
                    {move || locale.get().text(Msg::NavJourneys)}
                </a>
            }
        });
        let admin = (user.role == Role::Admin).then(|| {
            view! {
                <a
                    href=move || format!("/admin/users?lang={}", locale.get().code())
                    aria-current=move || {
                        location.pathname.get().starts_with("/admin").then_some("page")
                    }
                >
                    {move || locale.get().text(Msg::NavAdmin)}
                </a>
            }
        });
        view! {
            <nav class="views" aria-label=move || locale.get().text(Msg::NavLabel)>
                {company}
                {departments}
                {journeys}
                {admin}
            </nav>
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
            <nav class="lang" aria-label=move || locale.get().text(Msg::Language)>
                {lang_link(Locale::En, "EN")}
                {lang_link(Locale::It, "IT")}
            </nav>
            <ThemeSwitch locale />
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    who.await
                        .ok()
                        .map(|v| {
                            let user_views = v.user.clone().map(views);
                            view! {
                                <UserMenu visitor=v locale=locale.get() />
                                {user_views}
                            }
                        })
                })}
            </Suspense>
        </header>
    }
}

/// Auto, light or dark: plain links to `/theme`, which remembers the choice and comes back
/// here (`rel="external"`: the router must let the browser follow them).
#[component]
fn ThemeSwitch(locale: Signal<Locale>) -> impl IntoView {
    let location = use_location();
    let current = crate::theme::current_theme();
    let back = move || {
        let search = location.search.get();
        let here = if search.is_empty() {
            location.pathname.get()
        } else {
            format!(
                "{}?{}",
                location.pathname.get(),
                search.trim_start_matches('?')
            )
        };
        crate::url::encode(&here)
    };
    let links = Theme::ALL
        .into_iter()
        .map(|theme| {
            let label = match theme {
                Theme::Auto => Msg::ThemeAuto,
                Theme::Light => Msg::ThemeLight,
                Theme::Dark => Msg::ThemeDark,
            };
            view! {
                <a
                    href=move || format!("/theme?set={}&back={}", theme.code(), back())
                    rel="external"
                    aria-current=(current == theme).then_some("true")
                >
                    {move || locale.get().text(label)}
                </a>
            }
        })
        .collect_view();
    view! {
        <nav class="theme" aria-label=move || locale.get().text(Msg::Theme)>
            {links}
        </nav>
    }
}

#[component]
fn UserMenu(visitor: Visitor, locale: Locale) -> impl IntoView {
    let Visitor {
        user,
        csrf,
        unread_alerts,
    } = visitor;
    user.map(|user| {
        let title = format!("{} · {}", user.email, locale.text(role_name(user.role)));
        let bell_label = locale
            .text(Msg::BellLabel)
            .replace("{n}", &unread_alerts.to_string());
        view! {
            <div class="user-menu">
                <a
                    class="bell"
                    href=format!("/alerts?lang={}", locale.code())
                    title=bell_label.clone()
                    aria-label=bell_label
                    data-unread=unread_alerts.to_string()
                >
                    // Drawn inline: no font has to carry a bell glyph.
                    <svg
                        class="bell-icon"
                        aria-hidden="true"
                        focusable="false"
                        viewBox="0 0 24 24"
                        width="20"
                        height="20"
                    >
                        <path
                            fill="currentColor"
                            d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6v-5a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1z"
                        />
                    </svg>
                    {(unread_alerts > 0)
                        .then(|| view! { <span class="bell-count">{unread_alerts}</span> })}
                </a>
                <a href=format!("/account?lang={}", locale.code()) title=title>
                    {user.display_name}
                </a>
                <form method="post" action="/logout">
                    <CsrfField token=csrf />
                    <button type="submit" class="link-button">
                        {locale.text(Msg::SignOut)}
                    </button>
                </form>
            </div>
        }
    })
}
