//! Identity rules (admins): the TOML in force in a text area; "Simulate" is a plain GET that
//! reloads the page with the proposed text and shows what it would change (nothing written);
//! "Apply" posts it (`/admin/identity/apply`, audited). Below, the merges to review, each
//! opening the customer 360 where a wrong link is split.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::admin::{IdentityAdminPage, admin_identity};
use crate::components::forms::CsrfField;
use crate::i18n::{Locale, Msg};

use super::{AdminFrame, admin_content, page_locale};

#[component]
pub fn AdminIdentityPage() -> impl IntoView {
    let locale = page_locale();
    let query = use_query_map();
    let data = Resource::new(move || query.read().get("rules"), admin_identity);
    view! {
        <AdminFrame locale title=Msg::AdminIdentity>
            {admin_content(locale, data, |page, locale, csrf| {
                view! { <IdentityBody page locale csrf /> }
            })}
        </AdminFrame>
    }
}

#[component]
fn IdentityBody(page: IdentityAdminPage, locale: Locale, csrf: String) -> impl IntoView {
    let version = page.version.map_or_else(
        || locale.text(Msg::BuiltInDefaults).to_string(),
        |v| format!("v{v}"),
    );
    let simulation = (!page.simulation.is_empty()).then(|| {
        let rows = page
            .simulation
            .iter()
            .map(|(label, value)| {
                view! {
                    <tr>
                        <th scope="row">{label.clone()}</th>
                        <td>{value.clone()}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <section class="card" aria-labelledby="simulation-title">
                <h2 id="simulation-title">{locale.text(Msg::SimulationTitle)}</h2>
                <table class="data simulation">
                    <tbody>{rows}</tbody>
                </table>
            </section>
        }
    });
    let error = page
        .error
        .clone()
        .map(|e| view! { <p class="notice-error" role="alert">{e}</p> });
    let flags = if page.flags.is_empty() {
        view! { <p class="hint">{locale.text(Msg::NoFlagged)}</p> }.into_any()
    } else {
        let rows = page
            .flags
            .iter()
            .map(|(customer, reason, value)| {
                let href = format!("/customer/{customer}?lang={}", locale.code());
                view! {
                    <tr>
                        <td class="num">
                            <a href=href>{*customer}</a>
                        </td>
                        <td>{reason.clone()}</td>
                        <td class="num">{*value}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <table class="data flagged">
                <thead>
                    <tr>
                        <th scope="col">{locale.text(Msg::CustomerLabel)}</th>
                        <th scope="col">{locale.text(Msg::FlagReason)}</th>
                        <th scope="col">{locale.text(Msg::ValueLabel)}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    };
    let ignored = if page.ignored.is_empty() {
        view! { <p class="hint">{locale.text(Msg::NoIgnored)}</p> }.into_any()
    } else {
        let rows = page
            .ignored
            .iter()
            .map(|(id_type, value, linked)| {
                view! {
                    <tr>
                        <td>{id_type.clone()}</td>
                        <td class="identifier">{crate::journey::shorten_pseudonym(value)}</td>
                        <td class="num">{*linked}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <table class="data ignored">
                <thead>
                    <tr>
                        <th scope="col">{locale.text(Msg::IgnoredType)}</th>
                        <th scope="col">{locale.text(Msg::ValueLabel)}</th>
                        <th scope="col">{locale.text(Msg::IgnoredSeenWith)}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    };
    view! {
        <section class="card" aria-labelledby="rules-title">
            <h2 id="rules-title">{locale.text(Msg::RulesVersion)} ": " {version}</h2>
            <p class="hint">{locale.text(Msg::IdentityRulesHelp)}</p>
            {error}
            <form class="stacked" method="get" action="/admin/identity">
                <input type="hidden" name="lang" value=locale.code() />
                <textarea name="rules" rows="24" cols="100" spellcheck="false" aria-label=locale.text(Msg::AdminIdentity)>
                    {page.rules.clone()}
                </textarea>
                <button type="submit">{locale.text(Msg::Simulate)}</button>
            </form>
        </section>
        {simulation}
        <section class="card">
            <form class="stacked" method="post" action="/admin/identity/apply">
                <CsrfField token=csrf />
                <input type="hidden" name="lang" value=locale.code() />
                <input type="hidden" name="rules" value=page.rules.clone() />
                <button type="submit" class="danger">{locale.text(Msg::ApplyRules)}</button>
            </form>
        </section>
        <section class="card" aria-labelledby="flagged-title">
            <h2 id="flagged-title">{locale.text(Msg::FlaggedTitle)}</h2>
            <p class="hint">{locale.text(Msg::FlaggedHelp)}</p>
            {flags}
        </section>
        <section class="card" aria-labelledby="ignored-title">
            <h2 id="ignored-title">{locale.text(Msg::IgnoredTitle)}</h2>
            <p class="hint">{locale.text(Msg::IgnoredHelp)}</p>
            {ignored}
        </section>
    }
}
