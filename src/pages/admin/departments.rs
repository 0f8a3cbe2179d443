//! Departments: add, rename, and choose which views their viewers may open.

use leptos::prelude::*;

use crate::admin::{DepartmentRow, admin_departments};
use crate::components::forms::CsrfField;
use crate::components::table::DataTable;
use crate::i18n::{Locale, Msg};

use super::sheets::TargetPlanForm;
use super::{AdminFrame, admin_content, page_locale};

#[component]
pub fn AdminDepartmentsPage() -> impl IntoView {
    let locale = page_locale();
    let data = Resource::new(|| (), |()| admin_departments());
    view! {
        <AdminFrame locale title=Msg::AdminDepartments>
            {admin_content(locale, data, |departments, locale, csrf| {
                view! { <DepartmentsBody departments locale csrf /> }
            })}
        </AdminFrame>
    }
}

#[component]
fn DepartmentsBody(departments: Vec<DepartmentRow>, locale: Locale, csrf: String) -> impl IntoView {
    let all = departments.clone();
    let rows = departments
        .into_iter()
        .map(|d| {
            let mut views: Vec<(String, String)> = vec![
                ("company".into(), locale.text(Msg::NavCompany).to_string()),
                ("journeys".into(), locale.text(Msg::JourneysView).to_string()),
            ];
            views.extend(all.iter().filter(|o| o.key != d.key).map(|o| {
                let name = if locale == crate::i18n::Locale::It { &o.name_it } else { &o.name_en };
                (o.key.clone(), name.clone())
            }));
            let boxes = views
                .into_iter()
                .map(|(key, name)| {
                    let checked = d.grants.contains(&key);
                    view! {
                        <label class="check">
                            <input type="checkbox" name="view" value=key checked=checked />
                            {name}
                        </label>
                    }
                })
                .collect_view();
            view! {
                <tr>
                    <td><code>{d.key.clone()}</code></td>
                    <td>
                        <form class="inline" method="post" action="/admin/departments/save">
                            <CsrfField token=csrf.clone() />
                            <input type="hidden" name="key" value=d.key.clone() />
                            <input type="text" name="name_en" value=d.name_en.clone() required=true aria-label=format!("{} {}", locale.text(Msg::NameEnglish), d.key) />
                            <input type="text" name="name_it" value=d.name_it.clone() required=true aria-label=format!("{} {}", locale.text(Msg::NameItalian), d.key) />
                            <button type="submit">{locale.text(Msg::Save)}</button>
                        </form>
                    </td>
                    <td>
                        <form class="inline" method="post" action="/admin/departments/grants">
                            <CsrfField token=csrf.clone() />
                            <input type="hidden" name="department" value=d.key.clone() />
                            <fieldset>
                                <legend class="visually-hidden">{format!("{}: {}", locale.text(Msg::ViewerGrants), d.key)}</legend>
                                {boxes}
                            </fieldset>
                            <button type="submit">{locale.text(Msg::Save)}</button>
                        </form>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let plan_csrf = csrf.clone();
    view! {
        <DataTable
            headers=vec![
                locale.text(Msg::KeyLabel),
                locale.text(Msg::NameLabel),
                locale.text(Msg::ViewerGrants),
            ]
        >
            {rows}
        </DataTable>
        <section class="card">
            <h2>{locale.text(Msg::Add)}</h2>
            <form class="stacked" method="post" action="/admin/departments/save">
                <CsrfField token=csrf />
                <label>
                    {locale.text(Msg::KeyLabel)}
                    <input type="text" name="key" required=true pattern="[a-z0-9_]{2,32}" autocomplete="off" />
                </label>
                <label>
                    {locale.text(Msg::NameEnglish)}
                    <input type="text" name="name_en" required=true />
                </label>
                <label>
                    {locale.text(Msg::NameItalian)}
                    <input type="text" name="name_it" required=true />
                </label>
                <button type="submit">{locale.text(Msg::Add)}</button>
            </form>
        </section>
        <TargetPlanForm locale csrf=plan_csrf />
    }
}
