//! Settings the computations read: CLV margin, target tolerance, identity limits, phone
//! country code, journey inactivity window. Each is validated and audited when saved.

use leptos::prelude::*;

use crate::admin::{SettingRow, admin_settings};
use crate::components::forms::CsrfField;
use crate::i18n::{Locale, Msg};

use super::{AdminFrame, admin_content, page_locale};

#[component]
pub fn AdminSettingsPage() -> impl IntoView {
    let locale = page_locale();
    let data = Resource::new(|| (), |()| admin_settings());
    view! {
        <AdminFrame locale title=Msg::AdminSettings>
            {admin_content(locale, data, |settings, locale, csrf| {
                view! { <SettingsBody settings locale csrf /> }
            })}
        </AdminFrame>
    }
}

#[component]
fn SettingsBody(settings: Vec<SettingRow>, locale: Locale, csrf: String) -> impl IntoView {
    settings
        .into_iter()
        .map(|s| {
            let help = if locale == Locale::It {
                s.help_it
            } else {
                s.help_en
            };
            let id = format!("setting-{}", s.key);
            let required = !s.optional;
            view! {
                <form class="setting card" method="post" action="/admin/settings/save">
                    <CsrfField token=csrf.clone() />
                    <input type="hidden" name="key" value=s.key.clone() />
                    <label for=id.clone()><code>{s.key.clone()}</code></label>
                    <p class="muted">{help}</p>
                    <input id=id type="text" name="value" value=s.value required=required />
                    <button type="submit">{locale.text(Msg::Save)}</button>
                </form>
            }
        })
        .collect_view()
}
