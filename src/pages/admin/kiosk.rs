//! Kiosk links: create one for a store or a department (its URL shown once), list them with
//! scope, creator, expiry and last use, revoke one. Admins and the stores lead (who sees and
//! manages only the stores' links).

use leptos::prelude::*;

use crate::components::forms::CsrfField;
use crate::components::table::DataTable;
use crate::i18n::{Locale, Msg};
use crate::kiosk::{KioskLinksPage, admin_kiosk_links};
use crate::view::department_name;

use super::{AdminFrame, ShownOnce, admin_content, page_locale};

#[component]
pub fn AdminKioskPage() -> impl IntoView {
    let locale = page_locale();
    let data = Resource::new(|| (), |()| admin_kiosk_links());
    view! {
        <AdminFrame locale title=Msg::AdminKiosk>
            {admin_content(locale, data, |page, locale, csrf| {
                view! { <KioskBody page locale csrf /> }
            })}
        </AdminFrame>
    }
}

#[component]
fn KioskBody(page: KioskLinksPage, locale: Locale, csrf: String) -> impl IntoView {
    let KioskLinksPage {
        links,
        stores,
        departments,
        new_url,
        default_days,
        max_days,
    } = page;
    let fresh = view! { <ShownOnce locale what=Msg::KioskUrlShownOnce secret=new_url /> };
    let rows = links
        .into_iter()
        .map(|l| {
            let used = l
                .last_used_at
                .unwrap_or_else(|| locale.text(Msg::Never).to_string());
            let live = !l.revoked && !l.expired;
            let revoke = (!l.revoked).then(|| {
                let label = format!("{} {}", locale.text(Msg::Revoke), l.scope);
                view! {
                    <form class="inline" method="post" action="/admin/kiosk/revoke">
                        <CsrfField token=csrf.clone() />
                        <input type="hidden" name="id" value=l.id.to_string() />
                        <button type="submit" aria-label=label>
                            {locale.text(Msg::Revoke)}
                        </button>
                    </form>
                }
            });
            let state = if l.revoked {
                Msg::Revoked
            } else if l.expired {
                Msg::KioskExpired
            } else {
                Msg::Active
            };
            view! {
                <tr data-kiosk=l.id.to_string() data-live=live.to_string()>
                    <td>{l.scope}</td>
                    <td>{l.created_by}</td>
                    <td>{l.created_at}</td>
                    <td>{l.expires_at}</td>
                    <td>{used}</td>
                    <td>{locale.text(state)} " " {revoke}</td>
                </tr>
            }
        })
        .collect_view();
    let store_options = stores
        .into_iter()
        .map(|(id, name)| {
            view! { <option value=format!("store:{id}")>{format!("{name} ({id})")}</option> }
        })
        .collect_view();
    let department_options = departments
        .into_iter()
        .map(|d| {
            let name = department_name(&d, locale);
            view! { <option value=format!("department:{d}")>{name}</option> }
        })
        .collect_view();
    view! {
        {fresh}
        <p class="muted">{locale.text(Msg::KioskStoreLeadNote)}</p>
        <DataTable
            headers=vec![
                locale.text(Msg::KioskScope),
                locale.text(Msg::KioskCreatedBy),
                locale.text(Msg::CreatedAt),
                locale.text(Msg::KioskExpires),
                locale.text(Msg::LastUsed),
                locale.text(Msg::StatusLabel),
            ]
        >
            {rows}
        </DataTable>
        <section class="card">
            <h2>{locale.text(Msg::Create)}</h2>
            <form class="stacked" method="post" action="/admin/kiosk/create">
                <CsrfField token=csrf />
                <label>
                    {locale.text(Msg::KioskScope)}
                    <select name="scope" required=true>
                        <optgroup label=locale.text(Msg::KioskStores)>{store_options}</optgroup>
                        <optgroup label=locale.text(Msg::KioskDepartments)>
                            {department_options}
                        </optgroup>
                    </select>
                </label>
                <label>
                    {locale.text(Msg::KioskDays)}
                    <input
                        type="number"
                        name="days"
                        min="1"
                        max=max_days.to_string()
                        value=default_days.to_string()
                        required=true
                    />
                </label>
                <button type="submit">{locale.text(Msg::Create)}</button>
            </form>
        </section>
    }
}
