//! The insight pages: the KPI tree (`/insights/tree`), each node with value, change, owner
//! department, target status and its contribution to the change above it, linked to its KPI
//! detail; and "what changed" (`/insights/changed?kpi=...&by=...`), a KPI's change split by a
//! dimension, in words, as a waterfall chart and as a table. Plain GET forms and links: the
//! pages work without JavaScript.

use leptos::prelude::*;
use leptos_meta::{Html, Title};
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use crate::components::head::head;
use crate::components::header::Header;
use crate::components::period_form::PeriodForm;
use crate::format;
use crate::i18n::{Locale, Msg};
use crate::insight::{
    ChangedPage, Operator, SplitMethod, TreePage, fetch_kpi_tree, fetch_what_changed,
};
use crate::kpi::Unit;
use crate::view::{department_name, dimension_name, status_text};

use super::{error_view, query_string};

/// A signed step in a KPI's unit: points for ratios and scores.
fn signed(value: Option<f64>, unit: Unit, locale: Locale) -> String {
    let Some(value) = value else {
        return locale.text(Msg::NotAvailable).to_string();
    };
    match unit {
        Unit::Ratio | Unit::Score => format::change_in(value, unit, locale),
        _ => {
            let sign = if value > 0.0 { "+" } else { "" };
            format!("{sign}{}", format::kpi_value(Some(value), unit, locale))
        }
    }
}

fn operator_sign(operator: Option<Operator>) -> &'static str {
    match operator {
        Some(Operator::Sum) => "Σ",
        Some(Operator::Difference) => "−",
        Some(Operator::Product) => "×",
        None => "",
    }
}

#[component]
pub fn KpiTreePage() -> impl IntoView {
    let query = use_query_map();
    let locale = Memo::new(move |_| Locale::parse(query.read().get("lang").as_deref()));
    let qs = query_string();
    let data = Resource::new(move || qs.get(), fetch_kpi_tree);
    view! {
        <Html {..} lang=head(locale, Locale::code) />
        <Header locale=locale />
        <main id="main" class="page insights-tree">
            <h1>{move || locale.get().text(Msg::TreeTitle)}</h1>
            <Suspense fallback=move || {
                view! { <p class="loading">{locale.get().text(Msg::Loading)}</p> }
            }>
                {move || Suspend::new(async move {
                    let locale = locale.get();
                    match data.await {
                        Ok(page) => view! { <TreeBody page locale /> }.into_any(),
                        Err(err) => {
                            error_view(err, "/insights/tree".into(), Msg::PageNotFound, locale)
                        }
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn TreeBody(page: TreePage, locale: Locale) -> impl IntoView {
    let TreePage {
        view: resolved,
        tree,
    } = page;
    let state = resolved.state.clone();
    let query = state.with_by(None).query();
    // The parent's unit decides how a contribution is written.
    let mut parent_units: Vec<Unit> = Vec::new();
    let root_unit = tree.rows.first().map(|r| r.unit).unwrap_or(Unit::Money);
    let rows = tree
        .rows
        .iter()
        .map(|r| {
            parent_units.truncate(r.depth);
            let parent_unit = parent_units.last().copied().unwrap_or(r.unit);
            parent_units.push(r.unit);
            let indent = format!("padding-left: {}em", r.depth * 2);
            let name = match &r.key {
                Some(key) => {
                    let href = format!("/kpi/{key}{query}");
                    view! { <a href=href>{r.name.clone()}</a> }.into_any()
                }
                None => view! {
                    <span class="residual" title=r.note.clone()>
                        {r.name.clone()}
                    </span>
                }
                .into_any(),
            };
            let (class, text) = status_text(r.status, locale);
            let status = r.key.as_ref().map(|_| {
                view! { <span class=format!("status status-{class}")>{text}</span> }
            });
            let owner = r.owner.as_deref().map(|o| department_name(o, locale));
            let raw = r
                .value
                .map_or_else(|| "null".to_string(), |v| v.to_string());
            let contribution = (r.depth > 0).then(|| signed(r.contribution, parent_unit, locale));
            let to_root = (r.depth > 0).then(|| signed(r.to_root, root_unit, locale));
            let shapley = (r.method.as_deref() == Some("shapley")).then(
                || view! { <span class="muted" title=locale.text(Msg::TreeShapley)>" *"</span> },
            );
            view! {
                <tr data-kpi=r.key.clone().unwrap_or_default() data-value=raw>
                    <th scope="row" style=indent>
                        <span class="operator" aria-hidden="true">
                            {operator_sign(r.operator)}
                            " "
                        </span>
                        {name}
                        {shapley}
                    </th>
                    <td class="num">{format::kpi_value(r.value, r.unit, locale)}</td>
                    <td class="num">{format::kpi_value(r.previous, r.unit, locale)}</td>
                    <td class="num">
                        {r
                            .change
                            .map(|c| format::change_in(c, r.unit, locale))
                            .unwrap_or_else(|| locale.text(Msg::NotAvailable).to_string())}
                    </td>
                    <td class="num contribution">{contribution}</td>
                    <td class="num to-root">{to_root}</td>
                    <td>{owner}</td>
                    <td>{status}</td>
                </tr>
            }
        })
        .collect_view();
    let changed_href = format!("/insights/changed{query}");
    view! {
        <Title text=format!("{} · omnikpi", locale.text(Msg::NavInsights)) />
        <PeriodForm
            action="/insights/tree".to_string()
            state=state.with_by(None)
            options=resolved.options
            locale
        />
        <p class="muted">
            {format::date(tree.from, locale)} " – " {format::date(tree.to, locale)} " · "
            {state.compare.label(locale)} ": " {format::date(tree.compare_from, locale)} " – "
            {format::date(tree.compare_to, locale)}
        </p>
        <p>{locale.text(Msg::TreeIntro)}</p>
        <div class="table-wrap">
            <table class="kpi-tree">
                <thead>
                    <tr>
                        <th scope="col">{locale.text(Msg::Kpi)}</th>
                        <th scope="col">{locale.text(Msg::ThisPeriod)}</th>
                        <th scope="col">{locale.text(Msg::Previous)}</th>
                        <th scope="col">{locale.text(Msg::Change)}</th>
                        <th scope="col">{locale.text(Msg::Contribution)}</th>
                        <th scope="col">{locale.text(Msg::ToRoot)}</th>
                        <th scope="col">{locale.text(Msg::OwnerLabel)}</th>
                        <th scope="col">{locale.text(Msg::StatusLabel)}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <p class="muted">{locale.text(Msg::TreeResidualNote)}</p>
        <p>
            <a href=changed_href>{locale.text(Msg::WhatChanged)}</a>
        </p>
    }
}

#[component]
pub fn WhatChangedPage() -> impl IntoView {
    let query = use_query_map();
    let locale = Memo::new(move |_| Locale::parse(query.read().get("lang").as_deref()));
    let qs = query_string();
    let data = Resource::new(move || qs.get(), fetch_what_changed);
    view! {
        <Html {..} lang=head(locale, Locale::code) />
        <Header locale=locale />
        <main id="main" class="page insights-changed">
            <h1>{move || locale.get().text(Msg::WhatChangedTitle)}</h1>
            <Suspense fallback=move || {
                view! { <p class="loading">{locale.get().text(Msg::Loading)}</p> }
            }>
                {move || Suspend::new(async move {
                    let locale = locale.get();
                    match data.await {
                        Ok(page) => view! { <ChangedBody page locale /> }.into_any(),
                        Err(err) => {
                            // The KPI's department decides (not the route): answer 403 too.
                            if err == crate::error::AppError::Forbidden {
                                super::not_found::set_status(403);
                            }
                            error_view(err, "/insights/changed".into(), Msg::KpiNotFound, locale)
                        }
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn ChangedBody(page: ChangedPage, locale: Locale) -> impl IntoView {
    let ChangedPage {
        view: resolved,
        changed,
        svg,
        kpis,
        dimensions,
    } = page;
    let state = resolved.state.clone();
    let unit = changed.unit;
    let kpi = changed.kpi.clone();
    let other = locale.text(Msg::Other);
    let ratio = changed.method == SplitMethod::MixRate;
    // The split form carries the rest of the view.
    let carried: Vec<(String, String)> = state
        .with_by(None)
        .pairs()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let carried_inputs = carried
        .iter()
        .map(
            |(name, value)| view! { <input type="hidden" name=name.clone() value=value.clone() /> },
        )
        .collect_view();
    let kpi_options = kpis
        .iter()
        .map(|(key, name)| {
            view! {
                <option value=key.clone() selected=*key == kpi>
                    {name.clone()}
                </option>
            }
        })
        .collect_view();
    let dimension_options = dimensions
        .iter()
        .map(|d| {
            view! {
                <option value=d.clone() selected=*d == changed.dimension>
                    {dimension_name(d, locale)}
                </option>
            }
        })
        .collect_view();
    let rows = changed
        .parts
        .iter()
        .map(|p| {
            let label = p.value.clone().unwrap_or_else(|| other.to_string());
            view! {
                <tr data-part=p.value.clone().unwrap_or_default() data-contribution=p.contribution.to_string()>
                    <th scope="row">{label}</th>
                    <td class="num">{format::kpi_value(p.previous, unit, locale)}</td>
                    <td class="num">{format::kpi_value(p.current, unit, locale)}</td>
                    {ratio.then(|| view! {
                        <td class="num">{signed(p.mix, unit, locale)}</td>
                        <td class="num">{signed(p.rate, unit, locale)}</td>
                    })}
                    <td class="num">{signed(Some(p.contribution), unit, locale)}</td>
                </tr>
            }
        })
        .collect_view();
    let unexplained = (changed.unexplained != 0.0).then(|| {
        let span = if ratio { 5 } else { 3 };
        view! {
            <tr>
                <th scope="row" colspan=span>{locale.text(Msg::Unexplained)}</th>
                <td class="num">{signed(Some(changed.unexplained), unit, locale)}</td>
            </tr>
        }
    });
    let summary = changed
        .summary
        .iter()
        .map(|s| view! { <li>{s.clone()}</li> })
        .collect_view();
    let raw_delta = changed
        .delta
        .map_or_else(|| "null".to_string(), |v| v.to_string());
    let title = format!(
        "{} · {}",
        changed.kpi_name,
        dimension_name(&changed.dimension, locale)
    );
    let detail_href = format!(
        "/kpi/{kpi}{}",
        state.with_by(Some(&changed.dimension)).query()
    );
    let tree_href = format!("/insights/tree{}", state.with_by(None).query());
    let has_chart = !svg.is_empty();
    let method_text = locale.text(if ratio {
        Msg::ChangedMethodMixRate
    } else {
        Msg::ChangedMethodDifference
    });
    view! {
        <Title text=format!("{} · omnikpi", locale.text(Msg::WhatChanged)) />
        <Form method="GET" action="/insights/changed">
            <div class="period-form">
                <div class="controls">
                    <div class="field">
                        <label for="c-kpi">{locale.text(Msg::Kpi)}</label>
                        <select id="c-kpi" name="kpi">{kpi_options}</select>
                    </div>
                    <div class="field">
                        <label for="c-by">{locale.text(Msg::Dimension)}</label>
                        <select id="c-by" name="by">{dimension_options}</select>
                    </div>
                </div>
                {carried_inputs}
                <button type="submit">{locale.text(Msg::Apply)}</button>
            </div>
        </Form>
        <PeriodForm
            action="/insights/changed".to_string()
            state=state.clone()
            options=resolved.options
            locale
            hidden=vec![("kpi".to_string(), kpi.clone())]
        />
        <section class="changed-summary" data-kpi=kpi.clone() data-delta=raw_delta>
            <h2>
                <a href=detail_href>{changed.kpi_name.clone()}</a>
            </h2>
            <p class="muted">
                {format::date(changed.from, locale)} " – " {format::date(changed.to, locale)}
                " · " {state.compare.label(locale)} ": "
                {format::date(changed.compare_from, locale)} " – "
                {format::date(changed.compare_to, locale)}
            </p>
            <ul class="summary">{summary}</ul>
            <p class="muted">{method_text}</p>
        </section>
        // The table below is the chart's alternative, always shown.
        {has_chart
            .then(|| {
                view! {
                    <figure class="chart waterfall">
                        <figcaption>{title.clone()}</figcaption>
                        <div
                            class="chart-svg"
                            role="img"
                            tabindex="0"
                            aria-label=title.clone()
                            inner_html=svg.clone()
                        ></div>
                    </figure>
                }
            })}
        <div class="table-wrap">
            <table class="changed-table">
                <caption>{title.clone()}</caption>
                <thead>
                    <tr>
                        <th scope="col">{locale.text(Msg::Part)}</th>
                        <th scope="col">{locale.text(Msg::Previous)}</th>
                        <th scope="col">{locale.text(Msg::ThisPeriod)}</th>
                        {ratio.then(|| view! {
                            <th scope="col">{locale.text(Msg::MixEffect)}</th>
                            <th scope="col">{locale.text(Msg::RateEffect)}</th>
                        })}
                        <th scope="col">{locale.text(Msg::Contribution)}</th>
                    </tr>
                </thead>
                <tbody>{rows} {unexplained}</tbody>
            </table>
        </div>
        <p>
            <a href=tree_href>{locale.text(Msg::NavInsights)}</a>
        </p>
    }
}
