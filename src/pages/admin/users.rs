//! Users: invite (a one-time password the user replaces), change role, department, name and
//! language, set a one-time password, disable and enable.

use leptos::prelude::*;

use crate::admin::{UserRow, UsersPage, admin_users};
use crate::components::forms::CsrfField;
use crate::components::table::DataTable;
use crate::i18n::{Locale, Msg};

use super::{AdminFrame, DepartmentSelect, RoleSelect, admin_content, page_locale};

#[component]
pub fn AdminUsersPage() -> impl IntoView {
    let locale = page_locale();
    let data = Resource::new(|| (), |()| admin_users());
    view! {
        <AdminFrame locale title=Msg::AdminUsers>
            {admin_content(locale, data, |page, locale, csrf| {
                view! { <UsersBody page locale csrf /> }
            })}
        </AdminFrame>
    }
}

#[component]
fn UsersBody(page: UsersPage, locale: Locale, csrf: String) -> impl IntoView {
    let UsersPage { users, departments } = page;
    let rows = users
        .into_iter()
        .map(|user| {
            view! { <UserRowView user departments=departments.clone() locale csrf=csrf.clone() /> }
        })
        .collect_view();
    view! {
        <DataTable
            headers=vec![
                locale.text(Msg::Email),
                locale.text(Msg::DisplayName),
                locale.text(Msg::RoleLabel),
                locale.text(Msg::LastLogin),
                locale.text(Msg::StatusLabel),
                locale.text(Msg::ResetPassword),
            ]
        >
            {rows}
        </DataTable>
        <section class="card">
            <h2>{locale.text(Msg::InviteUser)}</h2>
            <form class="stacked" method="post" action="/admin/users/invite">
                <CsrfField token=csrf />
                <label>
                    {locale.text(Msg::Email)}
                    <input type="email" name="email" required=true autocomplete="off" />
                </label>
                <label>
                    {locale.text(Msg::DisplayName)}
                    <input type="text" name="name" autocomplete="off" />
                </label>
                <label>
                    {locale.text(Msg::RoleLabel)}
                    <RoleSelect locale selected=None label=locale.text(Msg::RoleLabel).to_string() />
                </label>
                <label>
                    {locale.text(Msg::DepartmentLabel)}
                    <DepartmentSelect locale departments selected=None label=locale.text(Msg::DepartmentLabel).to_string() />
                </label>
                <label>
                    {locale.text(Msg::Language)}
                    <select name="lang">
                        <option value="en">"English"</option>
                        <option value="it">"Italiano"</option>
                    </select>
                </label>
                <label>
                    {locale.text(Msg::OneTimePassword)}
                    <input type="text" name="password" minlength="12" required=true autocomplete="off" />
                </label>
                <button type="submit">{locale.text(Msg::InviteUser)}</button>
            </form>
        </section>
    }
}

#[component]
fn UserRowView(
    user: UserRow,
    departments: Vec<crate::admin::DepartmentRow>,
    locale: Locale,
    csrf: String,
) -> impl IntoView {
    let email = user.email.clone();
    let status = if user.disabled {
        Msg::Disabled
    } else {
        Msg::Active
    };
    let (toggle_label, toggle_value) = if user.disabled {
        (Msg::Enable, "false")
    } else {
        (Msg::Disable, "true")
    };
    let last = user
        .last_login_at
        .clone()
        .unwrap_or_else(|| locale.text(Msg::Never).to_string());
    let who = format!("{} ({})", user.display_name, user.email);
    view! {
        <tr>
            <td>{user.email.clone()}</td>
            <td colspan="2">
                <form class="inline" method="post" action="/admin/users/update">
                    <CsrfField token=csrf.clone() />
                    <input type="hidden" name="email" value=email.clone() />
                    <input type="text" name="name" value=user.display_name.clone() aria-label=format!("{}: {}", locale.text(Msg::DisplayName), who) />
                    <RoleSelect locale selected=Some(user.role) label=format!("{}: {}", locale.text(Msg::RoleLabel), who) />
                    <DepartmentSelect locale departments selected=user.department.clone() label=format!("{}: {}", locale.text(Msg::DepartmentLabel), who) />
                    <select name="lang" aria-label=format!("{}: {}", locale.text(Msg::Language), who)>
                        <option value="en" selected=user.lang == "en">"EN"</option>
                        <option value="it" selected=user.lang == "it">"IT"</option>
                    </select>
                    <button type="submit">{locale.text(Msg::Update)}</button>
                </form>
            </td>
            <td>{last}</td>
            <td>
                <span class=if user.disabled { "badge bad" } else { "badge good" }>{locale.text(status)}</span>
                <form class="inline" method="post" action="/admin/users/disable">
                    <CsrfField token=csrf.clone() />
                    <input type="hidden" name="email" value=email.clone() />
                    <input type="hidden" name="disabled" value=toggle_value />
                    <button type="submit" aria-label=format!("{}: {}", locale.text(toggle_label), who)>{locale.text(toggle_label)}</button>
                </form>
            </td>
            <td>
                <form class="inline" method="post" action="/admin/users/reset">
                    <CsrfField token=csrf />
                    <input type="hidden" name="email" value=email />
                    <input type="text" name="password" minlength="12" required=true autocomplete="off" aria-label=format!("{}: {}", locale.text(Msg::OneTimePassword), who) />
                    <button type="submit">{locale.text(Msg::ResetPassword)}</button>
                </form>
            </td>
        </tr>
    }
}
