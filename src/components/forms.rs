//! Pieces every state-changing form shares: the anti-forgery field and the notice that tells
//! the result of the last change (`?ok=...` or `?error=...` in the URL after the redirect).

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::i18n::{Locale, Msg};

/// The hidden field carrying the session's anti-forgery token.
#[component]
pub fn CsrfField(token: String) -> impl IntoView {
    view! { <input type="hidden" name="csrf" value=token /> }
}

/// The outcome of the last form post, read from the URL: `ok` codes map to a message,
/// `error` is shown as sent (the server writes it for people).
#[component]
pub fn Notice(locale: Locale) -> impl IntoView {
    let query = use_query_map();
    let q = query.read_untracked();
    let ok = q.get("ok").map(|code| {
        let msg = match code.as_str() {
            "password" => Msg::PasswordChanged,
            "lang" => Msg::LanguageSaved,
            "erased" => Msg::Erased,
            "deleted" => Msg::Deleted,
            "split" => Msg::SplitDone,
            _ => Msg::Saved,
        };
        view! {
            <p class="notice-ok" role="status">
                {locale.text(msg)}
            </p>
        }
    });
    let error = q.get("error").map(|error| {
        let text = match error.as_str() {
            "mismatch" => locale.text(Msg::PasswordMismatch).to_string(),
            "short" => locale.text(Msg::PasswordTooShort).to_string(),
            "long" => locale.text(Msg::PasswordTooLong).to_string(),
            "current" => locale.text(Msg::PasswordWrongCurrent).to_string(),
            "internal" => locale.text(Msg::ErrorTitle).to_string(),
            other => other.to_string(),
        };
        view! {
            <p class="notice-error" role="alert">
                {text}
            </p>
        }
    });
    view! { {ok} {error} }
}
