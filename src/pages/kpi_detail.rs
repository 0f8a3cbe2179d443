//! The KPI detail page (`/kpi/:key`): value and change, the series with a grain switch, the
//! comparison and target lines, a breakdown by any dimension, targets, market benchmarks and
//! the definition in plain words. Every chart has its table; every table and chart downloads.

use leptos::prelude::*;
use leptos_meta::{Html, Title};
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::components::chart::{Downloads, Figure};
use crate::components::forms::{CsrfField, Notice};
use crate::components::head::head;
use crate::components::header::Header;
use crate::components::kpi_tile::ProvisionalNote;
use crate::components::period_form::PeriodForm;
use crate::dashboard::{
    AnnotationRow, BenchmarkRow, Breakdown, KpiDetail, SeriesRow, TargetRow, fetch_kpi_detail,
};
use crate::format;
use crate::i18n::{Locale, Msg};
use crate::kpi::{Grain, Unit};
use crate::view::{ViewState, department_name, dimension_name, grain_label, status_text};

use super::{error_view, query_string};

#[component]
pub fn KpiDetailPage() -> impl IntoView {
    let query = use_query_map();
    let params = use_params_map();
    let locale = Memo::new(move |_| Locale::parse(query.read().get("lang").as_deref()));
    let key = Memo::new(move |_| params.read().get("key").unwrap_or_default());
    let qs = query_string();
    let data = Resource::new(
        move || (key.get(), qs.get()),
        |(key, qs)| fetch_kpi_detail(key, qs),
    );
    view! {
        <Html {..} lang=head(locale, Locale::code) />
        <Header locale=locale />
        // New data reloads the open page (see `live`).
        <crate::live::LiveRefresh />
        <main id="main" class="page kpi-detail">
            // A transition keeps the page on screen while a refresh computes the new one.
            <Transition fallback=move || {
                view! { <p class="loading">{locale.get().text(Msg::Loading)}</p> }
            }>
                {move || Suspend::new(async move {
                    let locale = locale.get();
                    match data.await {
                        Ok(detail) => {
                            let csrf = detail.csrf.clone();
                            view! { <DetailBody detail locale csrf /> }.into_any()
                        }
                        Err(err) => {
                            let action = format!("/kpi/{}", key.get_untracked());
                            error_view(err, action, Msg::KpiNotFound, locale)
                        }
                    }
                })}
            </Transition>
        </main>
    }
}

fn value(v: Option<f64>, unit: Unit, locale: Locale) -> String {
    format::kpi_value(v, unit, locale)
}

#[component]
fn DetailBody(detail: KpiDetail, locale: Locale, csrf: String) -> impl IntoView {
    let KpiDetail {
        view: resolved,
        kpi,
        description,
        owner,
        series,
        series_svg,
        breakdown,
        targets,
        benchmarks,
        annotations,
        can_annotate,
        csrf: _,
    } = detail;
    let state = resolved.state.clone();
    let grain = resolved.grain;
    let unit = kpi.unit;
    let key = kpi.key.clone();
    let base = format!("/kpi/{key}");
    let export_base = format!("/export/kpi/{key}/");
    let export = |file: &str, q: &str| format!("{export_base}{file}{q}");
    let query = state.query();
    let owner_link = if crate::view::DEPARTMENTS.contains(&owner.as_str()) {
        format!("/dept/{owner}{}", state.with_by(None).query())
    } else {
        format!("/{}", state.with_by(None).query())
    };
    let versus = locale.text(match state.compare {
        crate::view::Comparison::Previous => Msg::VsPreviousPeriod,
        crate::view::Comparison::LastYear => Msg::VsLastYear,
    });
    let change = kpi.change.map(|c| format::change_in(c, unit, locale));
    let raw = kpi
        .value
        .map_or_else(|| "null".to_string(), |v| v.to_string());

    let plain = state.with_by(None).query();
    let joiner = if plain.is_empty() { "?" } else { "&" };
    let changed_href = format!(
        "/insights/changed{plain}{joiner}kpi={}&by={}",
        crate::url::encode(&kpi.key),
        crate::url::encode(&breakdown.dimension)
    );
    let tree_href = format!("/insights/tree{plain}");

    view! {
        <Title text=format!("{} · omnikpi", kpi.name) />
        <p class="breadcrumb">
            <a href=owner_link>{department_name(&owner, locale)}</a>
        </p>
        <h1>{kpi.name.clone()}</h1>
        <PeriodForm
            action=base.clone()
            state=state.with_grain(grain)
            options=resolved.options
            locale
            with_grain=true
        />
        <section class="kpi-summary" data-kpi=kpi.key.clone()>
            <p class="kpi-value" data-value=raw>
                {value(kpi.value, unit, locale)}
            </p>
            {kpi.provisional.then(|| view! { <ProvisionalNote locale /> })}
            <p class="kpi-change">
                {change.unwrap_or_else(|| locale.text(Msg::NotAvailable).to_string())} " "
                <span class="muted">
                    {versus} " ("
                    {value(kpi.previous, unit, locale)} ", "
                    {format::date(resolved.compare_from, locale)} " – "
                    {format::date(resolved.compare_to, locale)} ")"
                </span>
            </p>
            <p class="muted">
                {format::date(resolved.from, locale)} " – " {format::date(resolved.to, locale)}
            </p>
        </section>
        <Notice locale />
        <nav class="insight-links">
            <a href=changed_href>{locale.text(Msg::WhatChanged)}</a>
            " · "
            <a href=tree_href>{locale.text(Msg::NavInsights)}</a>
        </nav>
        <section class="definition">
            <h2>{locale.text(Msg::Definition)}</h2>
            <p>{description}</p>
            <p class="muted">
                {locale.text(Msg::OwnedBy)} ": " {department_name(&owner, locale)}
            </p>
        </section>
        <SeriesSection
            series
            svg=series_svg
            notes=annotations.clone()
            kpi_name=kpi.name.clone()
            unit
            grain
            state=state.clone()
            base=base.clone()
            export_base=export_base.clone()
            locale
        />
        <Annotations
            notes=annotations.clone()
            kpi=kpi.key.clone()
            carried=query.trim_start_matches('?').to_string()
            can_add=can_annotate
            default_day=resolved.to.format("%Y-%m-%d").to_string()
            csrf
            locale
        />
        <BreakdownSection
            breakdown
            kpi_name=kpi.name.clone()
            unit
            state=state.clone()
            base=base.clone()
            export_base=export_base.clone()
            locale
        />
        <TargetsSection targets unit csv_href=export("targets.csv", &query) locale />
        <BenchmarksSection benchmarks unit csv_href=export("benchmarks.csv", &query) locale />
    }
}

/// The KPI over time at the view's grain (a switch of links between grains), with the
/// comparison and target lines, the notes of each bucket, its table and downloads.
#[component]
#[allow(clippy::too_many_arguments)]
fn SeriesSection(
    series: Vec<SeriesRow>,
    svg: String,
    /// The period's notes, numbered as on the chart.
    notes: Vec<AnnotationRow>,
    kpi_name: String,
    unit: Unit,
    grain: Grain,
    state: ViewState,
    /// The page's path, `/kpi/{key}`.
    base: String,
    /// The KPI's export path, `/export/kpi/{key}/`.
    export_base: String,
    locale: Locale,
) -> impl IntoView {
    // Grain switch: links that keep the rest of the view.
    let grains = Grain::ALL
        .into_iter()
        .map(|g| {
            let href = format!("{base}{}", state.with_grain(g).query());
            view! {
                <a href=href aria-current=(grain == g).then_some("page")>
                    {grain_label(g, locale)}
                </a>
            }
        })
        .collect_view();
    let notes_in = |from: chrono::NaiveDate, to: chrono::NaiveDate| {
        notes
            .iter()
            .enumerate()
            .filter(|(_, a)| from <= a.day && a.day <= to)
            .map(|(n, a)| format!("{}. {}", n + 1, a.text))
            .collect::<Vec<_>>()
            .join(" · ")
    };
    let series_rows = series
        .iter()
        .map(|r| {
            let notes = notes_in(r.from, r.to);
            view! {
                <tr>
                    <td>{format::bucket(r.from, grain, locale)}</td>
                    <td>{format::date(r.from, locale)}</td>
                    <td>{format::date(r.to, locale)}</td>
                    <td class="num">{value(r.value, unit, locale)}</td>
                    <td class="num">{value(r.comparison, unit, locale)}</td>
                    <td class="num">{r.target.map(|t| value(Some(t), unit, locale))}</td>
                    <td class="notes">{notes}</td>
                </tr>
            }
        })
        .collect_view();
    let series_title = format!("{} · {}", kpi_name, grain_label(grain, locale));
    let query = state.query();
    let export = |file: &str| format!("{export_base}{file}{query}");
    view! {
        <section class="series" aria-labelledby="series-title">
            <h2 id="series-title">{locale.text(Msg::OverTime)}</h2>
            <nav class="switch" aria-label=locale.text(Msg::GrainLabel)>
                {grains}
            </nav>
            <Figure
                title=series_title
                svg
                locale
                value_column=3
                downloads=vec![
                    (export("series.svg"), locale.text(Msg::DownloadSvg)),
                    (export("series.png"), locale.text(Msg::DownloadPng)),
                    (export("series.csv"), locale.text(Msg::DownloadCsv)),
                ]
            >
                <table class="series-table">
                    <thead>
                        <tr>
                            <th scope="col">{locale.text(Msg::PeriodColumn)}</th>
                            <th scope="col">{locale.text(Msg::FirstDay)}</th>
                            <th scope="col">{locale.text(Msg::LastDay)}</th>
                            <th scope="col">{locale.text(Msg::ThisPeriod)}</th>
                            <th scope="col">{state.compare.label(locale)}</th>
                            <th scope="col">{locale.text(Msg::Target)}</th>
                            <th scope="col">{locale.text(Msg::Annotations)}</th>
                        </tr>
                    </thead>
                    <tbody>{series_rows}</tbody>
                </table>
            </Figure>
        </section>
    }
}

/// The KPI split by one dimension (a switch of links between dimensions), as a chart with
/// its table and downloads.
#[component]
fn BreakdownSection(
    breakdown: Breakdown,
    kpi_name: String,
    unit: Unit,
    state: ViewState,
    /// The page's path, `/kpi/{key}`.
    base: String,
    /// The KPI's export path, `/export/kpi/{key}/`.
    export_base: String,
    locale: Locale,
) -> impl IntoView {
    let dims = breakdown
        .dimensions
        .iter()
        .map(|d| {
            let d = d.as_str();
            let href = format!("{base}{}#breakdown", state.with_by(Some(d)).query());
            view! {
                <a href=href aria-current=(breakdown.dimension == d).then_some("page")>
                    {dimension_name(d, locale)}
                </a>
            }
        })
        .collect_view();
    let other = locale.text(Msg::Other);
    let breakdown_rows = breakdown
        .rows
        .iter()
        .map(|r| {
            view! {
                <tr>
                    <td>{r.label.clone().unwrap_or_else(|| other.to_string())}</td>
                    <td class="num">{value(r.value, unit, locale)}</td>
                </tr>
            }
        })
        .collect_view();
    let breakdown_title = format!(
        "{} · {}",
        kpi_name,
        dimension_name(&breakdown.dimension, locale)
    );
    let breakdown_empty = breakdown.rows.is_empty();
    let by_query = state.with_by(Some(&breakdown.dimension)).query();
    let export = |file: &str| format!("{export_base}{file}{by_query}");
    view! {
        <section class="breakdown" id="breakdown" aria-labelledby="breakdown-title">
            <h2 id="breakdown-title">{locale.text(Msg::BreakdownBy)}</h2>
            <nav class="switch" aria-label=locale.text(Msg::BreakdownBy)>
                {dims}
            </nav>
            {if breakdown_empty {
                view! { <p class="muted">{locale.text(Msg::NoParts)}</p> }.into_any()
            } else {
                view! {
                    <Figure
                        title=breakdown_title
                        svg=breakdown.svg
                        locale
                        downloads=vec![
                            (export("breakdown.svg"), locale.text(Msg::DownloadSvg)),
                            (export("breakdown.png"), locale.text(Msg::DownloadPng)),
                            (export("breakdown.csv"), locale.text(Msg::DownloadCsv)),
                        ]
                    >
                        <table class="breakdown-table">
                            <thead>
                                <tr>
                                    <th scope="col">
                                        {dimension_name(&breakdown.dimension, locale)}
                                    </th>
                                    <th scope="col">{kpi_name}</th>
                                </tr>
                            </thead>
                            <tbody>{breakdown_rows}</tbody>
                        </table>
                    </Figure>
                }
                    .into_any()
            }}
        </section>
    }
}

/// Each department's target for the KPI with its status, and their download.
#[component]
fn TargetsSection(
    targets: Vec<TargetRow>,
    unit: Unit,
    csv_href: String,
    locale: Locale,
) -> impl IntoView {
    let has_targets = !targets.is_empty();
    let target_rows = targets
        .iter()
        .map(|t| {
            let (class, text) = status_text(t.status, locale);
            view! {
                <tr>
                    <td>{department_name(&t.department, locale)}</td>
                    <td>{t.period.clone()}</td>
                    <td class="num">{value(Some(t.value), unit, locale)}</td>
                    <td class="num">{value(t.actual, unit, locale)}</td>
                    <td class="num">{value(t.projection, unit, locale)}</td>
                    <td>
                        <span class=format!("status status-{class}")>{text}</span>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="targets">
            <h2>{locale.text(Msg::Targets)}</h2>
            {if has_targets {
                view! {
                    <div class="table-wrap">
                        <table>
                            <thead>
                                <tr>
                                    <th scope="col">{locale.text(Msg::Department)}</th>
                                    <th scope="col">{locale.text(Msg::TargetPeriod)}</th>
                                    <th scope="col">{locale.text(Msg::Target)}</th>
                                    <th scope="col">{locale.text(Msg::ToDate)}</th>
                                    <th scope="col">{locale.text(Msg::Projection)}</th>
                                    <th scope="col">{locale.text(Msg::StatusLabel)}</th>
                                </tr>
                            </thead>
                            <tbody>{target_rows}</tbody>
                        </table>
                    </div>
                    <Downloads
                        links=vec![(csv_href, locale.text(Msg::DownloadCsv))]
                        what=locale.text(Msg::Targets).to_string()
                    />
                }
                    .into_any()
            } else {
                view! { <p class="muted">{locale.text(Msg::NoTargets)}</p> }.into_any()
            }}
        </section>
    }
}

/// Market benchmarks for the KPI, with their sources, and their download.
#[component]
fn BenchmarksSection(
    benchmarks: Vec<BenchmarkRow>,
    unit: Unit,
    csv_href: String,
    locale: Locale,
) -> impl IntoView {
    let has_benchmarks = !benchmarks.is_empty();
    let benchmark_rows = benchmarks
        .iter()
        .map(|b| {
            view! {
                <tr>
                    <td class="num">{value(Some(b.value), unit, locale)}</td>
                    <td>
                        {match b.url.clone() {
                            Some(url) => {
                                view! {
                                    <a href=url rel="external noopener noreferrer">
                                        {b.source.clone()}
                                    </a>
                                }
                                    .into_any()
                            }
                            None => view! { <span>{b.source.clone()}</span> }.into_any(),
                        }}
                    </td>
                    <td>{b.published.clone().or(b.year.map(|y| y.to_string()))}</td>
                    <td>{b.scope.clone()}</td>
                    <td>{b.note.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="benchmarks">
            <h2>{locale.text(Msg::Benchmarks)}</h2>
            {if has_benchmarks {
                view! {
                    <div class="table-wrap">
                        <table>
                            <thead>
                                <tr>
                                    <th scope="col">{locale.text(Msg::Value)}</th>
                                    <th scope="col">{locale.text(Msg::Source)}</th>
                                    <th scope="col">{locale.text(Msg::Published)}</th>
                                    <th scope="col">{locale.text(Msg::Scope)}</th>
                                    <th scope="col">{locale.text(Msg::Note)}</th>
                                </tr>
                            </thead>
                            <tbody>{benchmark_rows}</tbody>
                        </table>
                    </div>
                    <Downloads
                        links=vec![(csv_href, locale.text(Msg::DownloadCsv))]
                        what=locale.text(Msg::Benchmarks).to_string()
                    />
                }
                    .into_any()
            } else {
                view! { <p class="muted">{locale.text(Msg::NoBenchmarks)}</p> }.into_any()
            }}
        </section>
    }
}

/// The notes of the period, numbered as on the chart (the KPI detail page; `kpi` empty: the
/// company view's notes); edit and delete forms for the notes the
/// visitor may change, and a form to add one.
#[component]
pub fn Annotations(
    notes: Vec<AnnotationRow>,
    kpi: String,
    carried: String,
    can_add: bool,
    default_day: String,
    csrf: String,
    locale: Locale,
    #[prop(optional)] help: Option<Msg>,
) -> impl IntoView {
    let help = help.unwrap_or(Msg::AnnotationsHelp);
    let empty = notes.is_empty();
    let items = notes
        .into_iter()
        .enumerate()
        .map(|(n, note)| {
            let id = note.id.to_string();
            let forms = note.editable.then(|| {
                let day_id = format!("note-day-{id}");
                let text_id = format!("note-text-{id}");
                view! {
                    <form method="post" action="/annotations/save" class="inline note-edit">
                        <CsrfField token=csrf.clone() />
                        <input type="hidden" name="id" value=id.clone() />
                        <input type="hidden" name="kpi" value=kpi.clone() />
                        <input type="hidden" name="view" value=carried.clone() />
                        <label for=day_id.clone()>{locale.text(Msg::AnnotationDay)}</label>
                        <input type="date" id=day_id name="day" value=note.day.to_string() required />
                        <label for=text_id.clone()>{locale.text(Msg::AnnotationText)}</label>
                        <input type="text" id=text_id name="text" value=note.text.clone() required maxlength="500" />
                        <button type="submit">{locale.text(Msg::SaveAnnotation)}</button>
                    </form>
                    <form method="post" action="/annotations/delete" class="inline note-delete">
                        <CsrfField token=csrf.clone() />
                        <input type="hidden" name="id" value=id.clone() />
                        <input type="hidden" name="kpi" value=kpi.clone() />
                        <input type="hidden" name="view" value=carried.clone() />
                        <button type="submit">{locale.text(Msg::DeleteAnnotation)}</button>
                    </form>
                }
            });
            view! {
                <li value=(n + 1).to_string()>
                    <p class="note-line">
                        <strong>{format::date(note.day, locale)}</strong>
                        " — "
                        <span class="note-text">{note.text.clone()}</span>
                        " "
                        <span class="muted">"(" {note.author.clone()} ")"</span>
                    </p>
                    {forms}
                </li>
            }
        })
        .collect_view();
    let add = can_add.then(|| {
        view! {
            <form method="post" action="/annotations/save" class="inline note-add">
                <CsrfField token=csrf.clone() />
                <input type="hidden" name="kpi" value=kpi.clone() />
                <input type="hidden" name="view" value=carried.clone() />
                <label for="note-day-new">{locale.text(Msg::AnnotationDay)}</label>
                <input type="date" id="note-day-new" name="day" value=default_day required />
                <label for="note-text-new">{locale.text(Msg::AnnotationText)}</label>
                <input type="text" id="note-text-new" name="text" required maxlength="500" />
                <button type="submit">{locale.text(Msg::AddAnnotation)}</button>
            </form>
        }
    });
    view! {
        <section class="annotations" aria-labelledby="notes-title">
            <h2 id="notes-title">{locale.text(Msg::Annotations)}</h2>
            <p class="hint">{locale.text(help)}</p>
            {if empty {
                Some(view! { <p class="muted">{locale.text(Msg::NoAnnotations)}</p> })
            } else {
                None
            }}
            <ol class="note-list">{items}</ol>
            {add}
        </section>
    }
}
