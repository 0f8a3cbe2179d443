//! KPI ownership: which department owns each KPI (and so sees it in its view and sets its
//! targets).

use leptos::prelude::*;

use crate::admin::{KpisPage, admin_kpis};
use crate::components::forms::CsrfField;
use crate::i18n::{Locale, Msg};

use super::{AdminFrame, DepartmentSelect, admin_content, page_locale};

#[component]
pub fn AdminKpisPage() -> impl IntoView {
    let locale = page_locale();
    let data = Resource::new(
        move || locale.get().code(),
        |lang| admin_kpis(Some(lang.to_string())),
    );
    view! {
        <AdminFrame locale title=Msg::AdminKpis>
            {admin_content(locale, data, |page, locale, csrf| {
                view! { <KpisBody page locale csrf /> }
            })}
        </AdminFrame>
    }
}

#[component]
fn KpisBody(page: KpisPage, locale: Locale, csrf: String) -> impl IntoView {
    let KpisPage { kpis, departments } = page;
    let with_company = {
        let mut all = departments;
        all.insert(
            0,
            crate::admin::DepartmentRow {
                key: "company".into(),
                name_en: "Company".into(),
                name_it: "Azienda".into(),
                grants: vec![],
            },
        );
        all
    };
    let rows = kpis
        .into_iter()
        .map(|k| {
            let note = k
                .default_owner
                .map(|d| format!("({} {d})", locale.text(Msg::Before)));
            view! {
                <tr>
                    <td>{k.name.clone()} <br /> <code class="muted">{k.key.clone()}</code></td>
                    <td>
                        <form class="inline" method="post" action="/admin/kpis/owner">
                            <CsrfField token=csrf.clone() />
                            <input type="hidden" name="kpi" value=k.key.clone() />
                            <DepartmentSelect
                                locale
                                departments=with_company.clone()
                                selected=Some(k.owner)
                                label=format!("{}: {}", locale.text(Msg::OwnerLabel), k.name)
                                name="owner"
                                allow_none=false
                            />
                            <button type="submit">{locale.text(Msg::Save)}</button>
                            <span class="muted">{note}</span>
                        </form>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-scroll" tabindex="0">
            <table class="data">
                <thead>
                    <tr>
                        <th scope="col">{locale.text(Msg::Kpi)}</th>
                        <th scope="col">{locale.text(Msg::OwnerLabel)}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}
