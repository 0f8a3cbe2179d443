//! A department's view (`/dept/:department`): the KPIs the catalog says it owns, each with
//! target, projection to the target period's end and status, and the breakdowns that fit the
//! department.

use leptos::prelude::*;
use leptos_meta::{Html, Title};
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::components::chart::{Downloads, Figure};
use crate::components::header::Header;
use crate::components::kpi_tile::KpiTile;
use crate::components::period_form::PeriodForm;
use crate::dashboard::{DepartmentView, fetch_department_view};
use crate::format;
use crate::i18n::{Locale, Msg};
use crate::view::{department_name, dimension_name};

use super::{error_view, query_string};

#[component]
pub fn DepartmentPage() -> impl IntoView {
    let query = use_query_map();
    let params = use_params_map();
    let locale = Memo::new(move |_| Locale::parse(query.read().get("lang").as_deref()));
    let department = Memo::new(move |_| params.read().get("department").unwrap_or_default());
    let qs = query_string();
    let data = Resource::new(
        move || (department.get(), qs.get()),
        |(department, qs)| fetch_department_view(department, qs),
    );
    view! {
        <Html {..} lang=move || locale.get().code() />
        <Header locale=locale />
        <main id="main" class="page department">
            <Suspense fallback=move || {
                view! { <p class="loading">{locale.get().text(Msg::Loading)}</p> }
            }>
                {move || Suspend::new(async move {
                    let locale = locale.get();
                    match data.await {
                        Ok(view) => view! { <DepartmentBody view locale /> }.into_any(),
                        Err(err) => {
                            let action = format!("/dept/{}", department.get_untracked());
                            error_view(err, action, Msg::DeptNotFound, locale)
                        }
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn DepartmentBody(view: DepartmentView, locale: Locale) -> impl IntoView {
    let state = view.view.state.clone();
    let query = state.with_by(None).query();
    let department = view.department.clone();
    let name = department_name(&department, locale);
    let tiles = view
        .tiles
        .into_iter()
        .map(|tile| {
            let href = format!("/kpi/{}{query}", tile.kpi.key);
            view! {
                <KpiTile
                    kpi=tile.kpi
                    locale
                    href
                    compare=state.compare
                    target=tile.target
                    sparkline=tile.sparkline
                />
            }
        })
        .collect_view();
    let other = locale.text(Msg::Other);
    let breakdowns = view
        .breakdowns
        .into_iter()
        .enumerate()
        .map(|(i, b)| {
            let title = format!("{} · {}", b.kpi_name, dimension_name(&b.dimension, locale));
            let unit = b.unit;
            let kpi_name = b.kpi_name.clone();
            let rows = b
                .rows
                .iter()
                .map(|r| {
                    view! {
                        <tr>
                            <td>{r.label.clone().unwrap_or_else(|| other.to_string())}</td>
                            <td class="num">{format::kpi_value(r.value, unit, locale)}</td>
                        </tr>
                    }
                })
                .collect_view();
            let base = format!("/export/dept/{department}/breakdown-{}", i + 1);
            let downloads = vec![
                (format!("{base}.svg{query}"), locale.text(Msg::DownloadSvg)),
                (format!("{base}.png{query}"), locale.text(Msg::DownloadPng)),
                (format!("{base}.csv{query}"), locale.text(Msg::DownloadCsv)),
            ];
            let detail = format!(
                "/kpi/{}{}#breakdown",
                b.kpi,
                state.with_by(Some(&b.dimension)).query()
            );
            view! {
                <Figure title=title.clone() svg=b.svg locale downloads class="breakdown">
                    <table>
                        <thead>
                            <tr>
                                <th scope="col">{dimension_name(&b.dimension, locale)}</th>
                                <th scope="col">{b.kpi_name.clone()}</th>
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                </Figure>
                <p class="more">
                    <a href=detail>{kpi_name} " →"</a>
                </p>
            }
        })
        .collect_view();
    let kpis_csv = vec![(
        format!("/export/dept/{department}/kpis.csv{query}"),
        locale.text(Msg::DownloadCsv),
    )];
    view! {
        <Title text=format!("{name} · omnikpi") />
        <h1>{name}</h1>
        <PeriodForm
            action=format!("/dept/{department}")
            state=state.clone()
            options=view.view.options
            locale
        />
        <section class="tiles" aria-label=locale.text(Msg::OwnedKpis)>
            {tiles}
        </section>
        <Downloads links=kpis_csv what=locale.text(Msg::OwnedKpis).to_string() />
        <section class="breakdowns">
            <h2>{locale.text(Msg::Breakdowns)}</h2>
            {breakdowns}
        </section>
    }
}
