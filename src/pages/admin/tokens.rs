//! API tokens: create (shown once), list with role and last use, revoke.

use leptos::prelude::*;

use crate::admin::{TokensPage, admin_tokens};
use crate::components::forms::CsrfField;
use crate::components::table::DataTable;
use crate::i18n::{Locale, Msg};

use super::{AdminFrame, DepartmentSelect, ShownOnce, admin_content, page_locale};

#[component]
pub fn AdminTokensPage() -> impl IntoView {
    let locale = page_locale();
    let data = Resource::new(|| (), |()| admin_tokens());
    view! {
        <AdminFrame locale title=Msg::AdminTokens>
            {admin_content(locale, data, |page, locale, csrf| {
                view! { <TokensBody page locale csrf /> }
            })}
        </AdminFrame>
    }
}

#[component]
fn TokensBody(page: TokensPage, locale: Locale, csrf: String) -> impl IntoView {
    let TokensPage {
        tokens,
        departments,
        new_token,
    } = page;
    let fresh = view! { <ShownOnce locale what=Msg::TokenShownOnce secret=new_token /> };
    let rows = tokens
        .into_iter()
        .map(|t| {
            let role = match &t.department {
                Some(d) => format!("{} ({d})", t.role),
                None => t.role.clone(),
            };
            let used = t.last_used_at.unwrap_or_else(|| locale.text(Msg::Never).to_string());
            let revoke = (!t.revoked).then(|| {
                let name = t.name.clone();
                view! {
                    <form class="inline" method="post" action="/admin/tokens/revoke">
                        <CsrfField token=csrf.clone() />
                        <input type="hidden" name="name" value=name.clone() />
                        <button type="submit" aria-label=format!("{} {name}", locale.text(Msg::Revoke))>
                            {locale.text(Msg::Revoke)}
                        </button>
                    </form>
                }
            });
            let state = if t.revoked { Msg::Revoked } else { Msg::Active };
            view! {
                <tr>
                    <td>{t.name}</td>
                    <td>{role}</td>
                    <td>{t.created_at}</td>
                    <td>{used}</td>
                    <td>{locale.text(state)} " " {revoke}</td>
                </tr>
            }
        })
        .collect_view();
    let roles = [
        "ingest",
        "admin",
        "executive",
        "lead",
        "cx_officer",
        "viewer",
    ]
    .into_iter()
    .map(|r| view! { <option value=r>{r}</option> })
    .collect_view();
    view! {
        {fresh}
        <DataTable
            headers=vec![
                locale.text(Msg::NameLabel),
                locale.text(Msg::RoleLabel),
                locale.text(Msg::CreatedAt),
                locale.text(Msg::LastUsed),
                locale.text(Msg::StatusLabel),
            ]
        >
            {rows}
        </DataTable>
        <section class="card">
            <h2>{locale.text(Msg::Create)}</h2>
            <form class="stacked" method="post" action="/admin/tokens/create">
                <CsrfField token=csrf />
                <label>
                    {locale.text(Msg::NameLabel)}
                    <input type="text" name="name" required=true pattern="[a-z0-9_-]{1,64}" autocomplete="off" />
                </label>
                <label>
                    {locale.text(Msg::RoleLabel)}
                    <select name="role">{roles}</select>
                </label>
                <label>
                    {locale.text(Msg::DepartmentLabel)}
                    <DepartmentSelect locale departments selected=None label=locale.text(Msg::DepartmentLabel).to_string() />
                </label>
                <button type="submit">{locale.text(Msg::Create)}</button>
            </form>
        </section>
    }
}
