//! One's own account: who you are signed in as, your password and your language.

use leptos::prelude::*;
use leptos_meta::{Html, Title};
use leptos_router::hooks::use_query_map;

use crate::auth::{Visitor, fetch_visitor};
use crate::components::forms::{CsrfField, Notice};
use crate::components::head::head;
use crate::components::header::Header;
use crate::i18n::{Locale, Msg, role_name};

#[component]
pub fn AccountPage() -> impl IntoView {
    let query = use_query_map();
    let locale = Memo::new(move |_| Locale::parse(query.read().get("lang").as_deref()));
    let who = Resource::new(|| (), |()| fetch_visitor());
    view! {
        <Html {..} lang=head(locale, Locale::code) />
        <Title text=head(locale, move |l| l.text(Msg::Account)) />
        <Header locale=locale />
        <main id="main" class="page account">
            <h1>{move || locale.get().text(Msg::Account)}</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let locale = locale.get();
                    match who.await {
                        Ok(visitor) => view! { <AccountBody visitor locale /> }.into_any(),
                        Err(err) => view! { <p class="notice-error">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn AccountBody(visitor: Visitor, locale: Locale) -> impl IntoView {
    let Some(user) = visitor.user else {
        return view! { <p><a href="/login">{locale.text(Msg::SignIn)}</a></p> }.into_any();
    };
    let csrf = visitor.csrf;
    let must_change = user.must_change_password;
    let role = match &user.department {
        Some(d) => format!("{} · {d}", locale.text(role_name(user.role))),
        None => locale.text(role_name(user.role)).to_string(),
    };
    view! {
        <Notice locale />
        <p>
            {locale.text(Msg::SignedInAs)} " " <strong>{user.display_name}</strong> " ("
            {user.email} ") · " {role}
        </p>
        <section class="card">
            <h2>{locale.text(Msg::ChangePassword)}</h2>
            {must_change.then(|| view! { <p class="muted">{locale.text(Msg::MustChangePassword)}</p> })}
            <form class="stacked" method="post" action="/account/password">
                <CsrfField token=csrf.clone() />
                <label>
                    {locale.text(Msg::CurrentPassword)}
                    <input type="password" name="current" autocomplete="current-password" required=true />
                </label>
                <label>
                    {locale.text(Msg::NewPassword)}
                    <input type="password" name="new" autocomplete="new-password" minlength="12" required=true />
                </label>
                <label>
                    {locale.text(Msg::ConfirmPassword)}
                    <input type="password" name="confirm" autocomplete="new-password" minlength="12" required=true />
                </label>
                <button type="submit">{locale.text(Msg::Save)}</button>
            </form>
        </section>
        <section class="card">
            <h2>{locale.text(Msg::Language)}</h2>
            <form class="inline" method="post" action="/account/lang">
                <CsrfField token=csrf />
                <label>
                    {locale.text(Msg::Language)}
                    <select name="lang">
                        <option value="en" selected=user.lang == "en">"English"</option>
                        <option value="it" selected=user.lang == "it">"Italiano"</option>
                    </select>
                </label>
                <button type="submit">{locale.text(Msg::Save)}</button>
            </form>
        </section>
    }
    .into_any()
}
