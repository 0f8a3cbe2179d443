//! The period picker: a plain GET form, so it works without JavaScript; once hydrated, the
//! router submits it as a client-side navigation and the URL still holds the whole state.

use chrono::NaiveDate;
use leptos::prelude::*;
use leptos_router::components::Form;

use crate::i18n::{Locale, Msg};

#[component]
pub fn PeriodForm(
    action: &'static str,
    from: NaiveDate,
    to: NaiveDate,
    locale: Locale,
) -> impl IntoView {
    view! {
        <Form method="GET" action=action>
            <div class="period-form">
                <label>
                    {locale.text(Msg::PeriodFrom)}
                    <input type="date" name="from" value=from.to_string() required=true />
                </label>
                <label>
                    {locale.text(Msg::PeriodTo)}
                    <input type="date" name="to" value=to.to_string() required=true />
                </label>
                <input type="hidden" name="lang" value=locale.code() />
                <button type="submit">{locale.text(Msg::Apply)}</button>
            </div>
        </Form>
    }
}
