//! The period picker: a plain GET form, so it works without JavaScript; once hydrated, the
//! router submits it as a client-side navigation and the URL still holds the whole state.

use leptos::prelude::*;
use leptos_router::components::Form;

use crate::i18n::{Locale, Msg};

#[component]
pub fn PeriodForm(
    action: &'static str,
    /// The dates as the user gave them (ISO when valid), so a wrong one can be corrected.
    from: String,
    to: String,
    locale: Locale,
) -> impl IntoView {
    view! {
        <Form method="GET" action=action>
            <div class="period-form">
                <label>
                    {locale.text(Msg::PeriodFrom)}
                    <input type="date" name="from" value=from required=true />
                </label>
                <label>
                    {locale.text(Msg::PeriodTo)}
                    <input type="date" name="to" value=to required=true />
                </label>
                <input type="hidden" name="lang" value=locale.code() />
                <button type="submit">{locale.text(Msg::Apply)}</button>
            </div>
        </Form>
    }
}
