//! The admin pages: users, API tokens, kiosk links, departments, KPI ownership, settings and the audit
//! log. Each shows its data from a server function and changes it through plain form posts
//! (handled in `server::admin`), so everything works without JavaScript.

pub mod audit;
pub mod departments;
pub mod identity;
pub mod kiosk;
pub mod kpis;
pub mod settings;
pub mod sheets;
pub mod sources;
pub mod tokens;
pub mod users;

use leptos::prelude::*;
use leptos_meta::{Html, Title};
use leptos_router::hooks::{use_location, use_query_map};

use crate::admin::DepartmentRow;
use crate::auth::{Role, fetch_visitor};
use crate::components::forms::Notice;
use crate::components::head::head;
use crate::components::header::Header;
use crate::i18n::{Locale, Msg, role_name};

/// The language of the page, from the URL.
pub fn page_locale() -> Memo<Locale> {
    let query = use_query_map();
    Memo::new(move |_| Locale::parse(query.read().get("lang").as_deref()))
}

/// The session's anti-forgery token, for the forms of a page.
pub fn csrf_token() -> Resource<String> {
    Resource::new(
        || (),
        |()| async move { fetch_visitor().await.map(|v| v.csrf).unwrap_or_default() },
    )
}

/// An admin page's content: waits for its data and the session's form token, then renders
/// `body(data, locale, csrf)`, or the error where the data could not be read.
pub fn admin_content<T, V>(
    locale: Memo<Locale>,
    data: Resource<Result<T, crate::error::AppError>>,
    body: fn(T, Locale, String) -> V,
) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    V: IntoView + 'static,
{
    let csrf = csrf_token();
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let locale = locale.get();
                let csrf = csrf.await;
                match data.await {
                    Ok(value) => body(value, locale, csrf).into_any(),
                    Err(err) => {
                        view! { <p class="notice-error" role="alert">{err.to_string()}</p> }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// Header, admin navigation, title and the last change's outcome around an admin page.
#[component]
pub fn AdminFrame(locale: Memo<Locale>, title: Msg, children: Children) -> impl IntoView {
    let location = use_location();
    let tab = move |path: &'static str, msg: Msg| {
        view! {
            <a
                href=move || format!("{path}?lang={}", locale.get().code())
                aria-current=move || (location.pathname.get() == path).then_some("page")
            >
                {move || locale.get().text(msg)}
            </a>
        }
    };
    view! {
        <Html {..} lang=head(locale, Locale::code) />
        <Title text=head(locale, move |l| l.text(title)) />
        <Header locale=locale />
        <main id="main" class="page admin">
            <nav class="tabs" aria-label=move || locale.get().text(Msg::NavAdmin)>
                {tab("/admin/users", Msg::AdminUsers)}
                {tab("/admin/tokens", Msg::AdminTokens)}
                {tab("/admin/kiosk", Msg::AdminKiosk)}
                {tab("/admin/departments", Msg::AdminDepartments)}
                {tab("/admin/kpis", Msg::AdminKpis)}
                {tab("/admin/sources", Msg::AdminSources)}
                {tab("/admin/settings", Msg::AdminSettings)}
                {tab("/admin/audit", Msg::AdminAudit)}
                {tab("/admin/identity", Msg::AdminIdentity)}
            </nav>
            <h1>{move || locale.get().text(title)}</h1>
            {move || view! { <Notice locale=locale.get() /> }}
            {children()}
        </main>
    }
}

/// `/admin`: the users page is where administration starts.
#[component]
pub fn AdminHome() -> impl IntoView {
    let locale = page_locale();
    view! {
        <AdminFrame locale title=Msg::NavAdmin>
            <ul class="link-list">
                <li><a href=move || format!("/admin/users?lang={}", locale.get().code())>{move || locale.get().text(Msg::AdminUsers)}</a></li>
                <li><a href=move || format!("/admin/tokens?lang={}", locale.get().code())>{move || locale.get().text(Msg::AdminTokens)}</a></li>
                <li><a href=move || format!("/admin/kiosk?lang={}", locale.get().code())>{move || locale.get().text(Msg::AdminKiosk)}</a></li>
                <li><a href=move || format!("/admin/departments?lang={}", locale.get().code())>{move || locale.get().text(Msg::AdminDepartments)}</a></li>
                <li><a href=move || format!("/admin/kpis?lang={}", locale.get().code())>{move || locale.get().text(Msg::AdminKpis)}</a></li>
                <li><a href=move || format!("/admin/sources?lang={}", locale.get().code())>{move || locale.get().text(Msg::AdminSources)}</a></li>
                <li><a href=move || format!("/admin/settings?lang={}", locale.get().code())>{move || locale.get().text(Msg::AdminSettings)}</a></li>
                <li><a href=move || format!("/admin/audit?lang={}", locale.get().code())>{move || locale.get().text(Msg::AdminAudit)}</a></li>
                <li><a href=move || format!("/admin/identity?lang={}", locale.get().code())>{move || locale.get().text(Msg::AdminIdentity)}</a></li>
            </ul>
        </AdminFrame>
    }
}

/// A role picker.
/// A secret the server shows once, right after creating it (an API token, a kiosk link):
/// nothing when there is none.
#[component]
pub fn ShownOnce(locale: Locale, what: Msg, secret: Option<String>) -> impl IntoView {
    secret.map(|secret| {
        view! {
            <div class="notice-ok" role="status">
                <p>{locale.text(what)}</p>
                <code class="secret">{secret}</code>
            </div>
        }
    })
}

#[component]
pub fn RoleSelect(locale: Locale, selected: Option<Role>, label: String) -> impl IntoView {
    let options = Role::ALL
        .into_iter()
        .map(|role| {
            view! {
                <option value=role.as_str() selected=selected == Some(role)>
                    {locale.text(role_name(role))}
                </option>
            }
        })
        .collect_view();
    view! {
        <select name="role" aria-label=label>
            {options}
        </select>
    }
}

/// A department picker with a "none" choice (for roles without one).
#[component]
pub fn DepartmentSelect(
    locale: Locale,
    departments: Vec<DepartmentRow>,
    selected: Option<String>,
    label: String,
    #[prop(default = "department")] name: &'static str,
    #[prop(default = true)] allow_none: bool,
) -> impl IntoView {
    let options = departments
        .into_iter()
        .map(|d| {
            let name = match locale {
                Locale::En => d.name_en,
                Locale::It => d.name_it,
            };
            let is = selected.as_deref() == Some(d.key.as_str());
            view! { <option value=d.key selected=is>{name}</option> }
        })
        .collect_view();
    view! {
        <select name=name aria-label=label>
            {allow_none.then(|| view! { <option value="">{locale.text(Msg::NoDepartment)}</option> })}
            {options}
        </select>
    }
}
