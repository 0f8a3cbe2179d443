//! The sign-in page: a plain HTML form posted to `/login`, so it works without JavaScript.
//! The same message answers an unknown e-mail and a wrong password.

use leptos::prelude::*;
use leptos_meta::{Html, Title};
use leptos_router::hooks::use_query_map;

use crate::auth::fetch_visitor;
use crate::components::forms::CsrfField;
use crate::components::head::head;
use crate::i18n::{Locale, Msg};

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let locale = Memo::new(move |_| Locale::parse(query.read().get("lang").as_deref()));
    let who = Resource::new(|| (), |()| fetch_visitor());
    view! {
        <Html {..} lang=head(locale, Locale::code) />
        <Title text=head(locale, move |l| l.text(Msg::SignInTitle)) />
        <main id="main" class="page login">
            <h1>{move || locale.get().text(Msg::SignInTitle)}</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let locale = locale.get();
                    let csrf = who.await.map(|v| v.csrf).unwrap_or_default();
                    let q = query.read_untracked();
                    let next = q.get("next").unwrap_or_default();
                    let message = q.get("error").map(|e| {
                        let text = match e.as_str() {
                            "throttled" => format!(
                                "{} {}",
                                locale.text(Msg::LoginThrottled),
                                q.get("wait").unwrap_or_default(),
                            ),
                            "expired" => locale.text(Msg::LoginExpired).to_string(),
                            "internal" => locale.text(Msg::ErrorTitle).to_string(),
                            _ => locale.text(Msg::LoginInvalid).to_string(),
                        };
                        view! { <p class="notice-error" role="alert">{text}</p> }
                    });
                    view! {
                        {message}
                        <form class="stacked" method="post" action="/login">
                            <CsrfField token=csrf />
                            <input type="hidden" name="next" value=next />
                            <label>
                                {locale.text(Msg::Email)}
                                <input
                                    type="email"
                                    name="email"
                                    autocomplete="username"
                                    required=true
                                    autofocus=true
                                />
                            </label>
                            <label>
                                {locale.text(Msg::Password)}
                                <input
                                    type="password"
                                    name="password"
                                    autocomplete="current-password"
                                    required=true
                                />
                            </label>
                            <button type="submit">{locale.text(Msg::SignIn)}</button>
                        </form>
                        <p class="lang-links">
                            <a href="/login?lang=en" lang="en">"English"</a>
                            " · "
                            <a href="/login?lang=it" lang="it">"Italiano"</a>
                        </p>
                    }
                })}
            </Suspense>
        </main>
    }
}
