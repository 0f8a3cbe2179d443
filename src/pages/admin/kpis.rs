//! KPI ownership: which department owns each KPI (and so sees it in its view and sets its
//! targets), and the derived KPIs (ratios of two KPIs) an admin adds, edits and deletes.

use leptos::prelude::*;

use crate::admin::{DepartmentRow, DerivedKpiRow, KpisPage, admin_kpis};
use crate::components::forms::CsrfField;
use crate::components::table::DataTable;
use crate::i18n::{Locale, Msg};
use crate::kpi::{Direction, Unit};

use super::sheets::BenchmarkSheetForm;
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
    let KpisPage {
        kpis,
        departments,
        derived,
        parts,
    } = page;
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
        <DataTable headers=vec![locale.text(Msg::Kpi), locale.text(Msg::OwnerLabel)]>
            {rows}
        </DataTable>
        <DerivedSection locale csrf=csrf.clone() derived parts departments=with_company />
        <BenchmarkSheetForm locale csrf />
    }
}

const UNITS: [(Unit, &str, Msg); 5] = [
    (Unit::Ratio, "ratio", Msg::UnitRatio),
    (Unit::Multiple, "multiple", Msg::UnitMultiple),
    (Unit::Money, "money", Msg::UnitMoney),
    (Unit::Count, "count", Msg::UnitCount),
    (Unit::Score, "score", Msg::UnitScore),
];

/// The fields of a derived KPI, empty for a new one; `id` keeps the labels' ids unique.
fn derived_fields(
    locale: Locale,
    row: Option<DerivedKpiRow>,
    parts: Vec<(String, String)>,
    departments: Vec<DepartmentRow>,
    id: String,
) -> impl IntoView {
    let row = row.as_ref();
    let id = id.as_str();
    let text = |name: &'static str, label: Msg, value: String, required: bool| {
        let input_id = format!("{id}-{name}");
        view! {
            <label for=input_id.clone()>{locale.text(label)}</label>
            <input type="text" id=input_id name=name value=value required=required />
        }
    };
    let pick = |name: &'static str, label: Msg, selected: Option<String>| {
        let input_id = format!("{id}-{name}");
        let options = parts
            .iter()
            .map(|(key, title)| {
                let is = selected.as_deref() == Some(key.as_str());
                view! { <option value=key.clone() selected=is>{format!("{title} ({key})")}</option> }
            })
            .collect_view();
        view! {
            <label for=input_id.clone()>{locale.text(label)}</label>
            <select id=input_id name=name required=true>{options}</select>
        }
    };
    let unit_id = format!("{id}-unit");
    let units = UNITS
        .iter()
        .map(|(unit, code, msg)| {
            let is = row.is_some_and(|r| r.unit == *unit);
            view! { <option value=*code selected=is>{locale.text(*msg)}</option> }
        })
        .collect_view();
    let direction_id = format!("{id}-direction");
    let lower = row.is_some_and(|r| r.direction == Direction::LowerIsBetter);
    let get = |f: fn(&DerivedKpiRow) -> &String| row.map(f).cloned().unwrap_or_default();
    view! {
        {text("name_en", Msg::NameEnglish, get(|r| &r.name_en), true)}
        {text("name_it", Msg::NameItalian, get(|r| &r.name_it), true)}
        {text("description_en", Msg::DescriptionEnglish, get(|r| &r.description_en), false)}
        {text("description_it", Msg::DescriptionItalian, get(|r| &r.description_it), false)}
        {pick("numerator", Msg::NumeratorLabel, row.map(|r| r.numerator.clone()))}
        {pick("denominator", Msg::DenominatorLabel, row.map(|r| r.denominator.clone()))}
        <label for=unit_id.clone()>{locale.text(Msg::UnitLabel)}</label>
        <select id=unit_id name="unit">{units}</select>
        <label for=direction_id.clone()>{locale.text(Msg::DirectionLabel)}</label>
        <select id=direction_id name="direction">
            <option value="higher_is_better" selected=!lower>{locale.text(Msg::HigherIsBetterWord)}</option>
            <option value="lower_is_better" selected=lower>{locale.text(Msg::LowerIsBetterWord)}</option>
        </select>
        <label>
            {locale.text(Msg::OwnerLabel)}
            <DepartmentSelect
                locale
                departments
                selected=row.map(|r| r.owner.clone())
                label=locale.text(Msg::OwnerLabel).to_string()
                name="owner"
                allow_none=false
            />
        </label>
    }
}

#[component]
fn DerivedSection(
    locale: Locale,
    csrf: String,
    derived: Vec<DerivedKpiRow>,
    parts: Vec<(String, String)>,
    departments: Vec<DepartmentRow>,
) -> impl IntoView {
    let empty = derived
        .is_empty()
        .then(|| view! { <p class="muted">{locale.text(Msg::NoDerivedKpis)}</p> });
    let rows = derived
        .into_iter()
        .map(|d| {
            let name = match locale {
                Locale::En => d.name_en.clone(),
                Locale::It => d.name_it.clone(),
            };
            let formula = format!("{} / {}", d.numerator, d.denominator);
            let id = format!("derived-{}", d.key);
            view! {
                <li class="derived-kpi" data-kpi=d.key.clone()>
                    <details>
                        <summary>
                            {name} " " <code>{d.key.clone()}</code> " = " <code>{formula}</code>
                            <span class="muted">
                                " · " {locale.text(Msg::CreatedBy)} " " {d.created_by.clone()}
                                " " {d.created_at.clone()}
                            </span>
                        </summary>
                        <form class="stacked" method="post" action="/admin/kpis/derived/save">
                            <CsrfField token=csrf.clone() />
                            <input type="hidden" name="mode" value="update" />
                            <input type="hidden" name="key" value=d.key.clone() />
                            {derived_fields(locale, Some(d.clone()), parts.clone(), departments.clone(), id)}
                            <button type="submit">{locale.text(Msg::Save)}</button>
                        </form>
                        <form class="inline" method="post" action="/admin/kpis/derived/delete">
                            <CsrfField token=csrf.clone() />
                            <input type="hidden" name="key" value=d.key.clone() />
                            <button type="submit" class="danger">{locale.text(Msg::DeleteDerivedKpi)}</button>
                        </form>
                    </details>
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="card" id="derived">
            <h2>{locale.text(Msg::DerivedKpis)}</h2>
            <p class="muted">{locale.text(Msg::DerivedKpisHelp)}</p>
            {empty}
            <ul class="link-list">{rows}</ul>
            <h3>{locale.text(Msg::Add)}</h3>
            <form class="stacked" method="post" action="/admin/kpis/derived/save">
                <CsrfField token=csrf />
                <input type="hidden" name="mode" value="create" />
                <label for="derived-new-key">{locale.text(Msg::KeyLabel)}</label>
                <input type="text" id="derived-new-key" name="key" required=true pattern="[a-z][a-z0-9_]{1,47}" autocomplete="off" />
                {derived_fields(locale, None, parts, departments, "derived-new".to_string())}
                <button type="submit">{locale.text(Msg::Add)}</button>
            </form>
        </section>
    }
}
