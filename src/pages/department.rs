//! A department's view (`/dept/:department`): the KPIs the catalog says it owns, each with
//! target, projection to the target period's end and status, and the breakdowns that fit the
//! department.

use leptos::prelude::*;
use leptos_meta::{Html, Title};
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::components::chart::{BreakdownFigure, Downloads};
use crate::components::forms::{CsrfField, Notice};
use crate::components::head::head;
use crate::components::header::Header;
use crate::components::kpi_tile::KpiTile;
use crate::components::period_form::PeriodForm;
use crate::dashboard::{DepartmentView, DeptTile, fetch_department_view};
use crate::format;
use crate::i18n::{Locale, Msg};
use crate::kpi::Unit;
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
        <Html {..} lang=head(locale, Locale::code) />
        <Header locale=locale />
        // New data reloads the open page (see `live`).
        <crate::live::LiveRefresh />
        <main id="main" class="page department">
            // A transition keeps the page on screen while a refresh computes the new one.
            <Transition fallback=move || {
                view! { <p class="loading">{locale.get().text(Msg::Loading)}</p> }
            }>
                {move || Suspend::new(async move {
                    let locale = locale.get();
                    match data.await {
                        Ok(view) => {
                            let csrf = view.csrf.clone();
                            view! { <DepartmentBody view locale csrf /> }.into_any()
                        }
                        Err(err) => {
                            let action = format!("/dept/{}", department.get_untracked());
                            error_view(err, action, Msg::DeptNotFound, locale)
                        }
                    }
                })}
            </Transition>
        </main>
    }
}

#[component]
fn DepartmentBody(view: DepartmentView, locale: Locale, csrf: String) -> impl IntoView {
    let state = view.view.state.clone();
    let editor = view.can_edit_targets.then(|| {
        view! {
            <TargetEditor
                department=view.department.clone()
                tiles=view.tiles.clone()
                state=state.clone()
                default_period=quarter_of(view.view.to)
                csrf
                locale
            />
        }
    });
    let query = state.with_by(None).query();
    let department = view.department.clone();
    let name = department_name(&department, locale);
    let (from, to) = (view.view.from, view.view.to);
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
                    span=(from, to)
                    benchmark=tile.benchmark
                />
            }
        })
        .collect_view();
    let breakdowns = view
        .breakdowns
        .into_iter()
        .enumerate()
        .map(|(i, b)| {
            let title = format!("{} · {}", b.kpi_name, dimension_name(&b.dimension, locale));
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
            view! { <BreakdownFigure breakdown=b title locale downloads detail /> }
        })
        .collect_view();
    let kpis_csv = vec![(
        format!("/export/dept/{department}/kpis.csv{query}"),
        locale.text(Msg::DownloadCsv),
    )];
    view! {
        <Title text=format!("{name} · omnikpi") />
        <h1>{name}</h1>
        <Notice locale />
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
        {editor}
        <section class="breakdowns">
            <h2>{locale.text(Msg::Breakdowns)}</h2>
            {breakdowns}
        </section>
    }
}

/// `2026-Q3` for a day in the third quarter of 2026.
fn quarter_of(day: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    format!("{}-Q{}", day.year(), day.month0() / 3 + 1)
}

/// A stored value as the form shows it: percent for ratios, the locale's decimal mark, no
/// float noise.
fn typed_value(value: f64, unit: Unit, locale: Locale) -> String {
    let shown = if unit == Unit::Ratio {
        value * 100.0
    } else {
        value
    };
    let text = format!("{shown:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.').to_string();
    match locale {
        Locale::En => text,
        Locale::It => text.replace('.', ","),
    }
}

/// For an admin or the department's lead: a small form per owned KPI that sets its target for
/// a period (posted to `/dept/{department}/targets`, which redirects back to this view).
#[component]
fn TargetEditor(
    department: String,
    tiles: Vec<DeptTile>,
    state: crate::view::ViewState,
    default_period: String,
    csrf: String,
    locale: Locale,
) -> impl IntoView {
    let action = format!("/dept/{department}/targets");
    let carried = state.query().trim_start_matches('?').to_string();
    let forms = tiles
        .into_iter()
        .map(|tile| {
            let unit = tile.kpi.unit;
            let current = tile.target.as_ref().map(|t| {
                format!(
                    "{}: {} · {}",
                    locale.text(Msg::CurrentTargetLabel),
                    t.period,
                    format::kpi_value(Some(t.value), unit, locale)
                )
            });
            let period = tile
                .target
                .as_ref()
                .map_or_else(|| default_period.clone(), |t| t.period.clone());
            let value = tile
                .target
                .as_ref()
                .map(|t| typed_value(t.value, unit, locale))
                .unwrap_or_default();
            let value_label = if unit == Unit::Ratio {
                format!("{} (%)", locale.text(Msg::TargetValueLabel))
            } else {
                locale.text(Msg::TargetValueLabel).to_string()
            };
            view! {
                <form method="post" action=action.clone() class="target-form">
                    <fieldset>
                        <legend>{tile.kpi.name.clone()}</legend>
                        {current.map(|c| view! { <p class="current">{c}</p> })}
                        <CsrfField token=csrf.clone() />
                        <input type="hidden" name="kpi" value=tile.kpi.key.clone() />
                        <input type="hidden" name="view" value=carried.clone() />
                        <label>
                            <span>{locale.text(Msg::TargetPeriodLabel)}</span>
                            <input
                                type="text"
                                name="period"
                                value=period
                                required
                                size="8"
                                pattern="[0-9]{4}(-[Qq][1-4]|-[0-9]{1,2})?"
                            />
                        </label>
                        <label>
                            <span>{value_label}</span>
                            <input type="text" name="value" value=value required inputmode="decimal" size="10" />
                        </label>
                        <button type="submit">{locale.text(Msg::SaveTarget)}</button>
                    </fieldset>
                </form>
            }
        })
        .collect_view();
    view! {
        <section class="target-edit" aria-labelledby="set-targets">
            <h2 id="set-targets">{locale.text(Msg::SetTargets)}</h2>
            <p class="help">{locale.text(Msg::SetTargetsHelp)}</p>
            <div class="target-forms">{forms}</div>
        </section>
    }
}
