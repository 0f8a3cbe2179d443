//! The company view for executives: headline KPI tiles (each a link to its detail page) with
//! their change against the comparison period and a sparkline, revenue and active customers per
//! day, the channel mix, the top stores and regions, and multichannel against single-channel
//! buyers. The whole view state lives in the URL query.

use leptos::prelude::*;
use leptos_meta::Html;
use leptos_router::hooks::use_query_map;

use crate::components::head::head;
use crate::components::{
    chart::{BreakdownFigure, DailyChart},
    header::Header,
    kpi_tile::KpiTile,
    period_form::PeriodForm,
};
use crate::dashboard::{CompanyView, Multichannel, fetch_company_view};
use crate::format;
use crate::i18n::{Locale, Msg};
use crate::kpi::Unit;
use crate::view::Comparison;

use super::{error_view, query_string};

#[component]
pub fn CompanyPage() -> impl IntoView {
    let query = use_query_map();
    let locale = Memo::new(move |_| Locale::parse(query.read().get("lang").as_deref()));
    let qs = query_string();
    let data = Resource::new(move || qs.get(), fetch_company_view);

    view! {
        <Html {..} lang=head(locale, Locale::code) />
        <Header locale=locale />
        // New data reloads the open page (see `live`).
        <crate::live::LiveRefresh />
        <main id="main" class="page company">
            <h1>{move || locale.get().text(Msg::CompanyTitle)}</h1>
            // A transition keeps the page on screen while a refresh computes the new one.
            <Transition fallback=move || {
                view! { <p class="loading">{locale.get().text(Msg::Loading)}</p> }
            }>
                {move || Suspend::new(async move {
                    let locale = locale.get();
                    match data.await {
                        Ok(view) => {
                            let csrf = view.csrf.clone();
                            view! { <CompanyBody view locale csrf /> }.into_any()
                        }
                        Err(err) => error_view(err, "/".into(), Msg::PageNotFound, locale),
                    }
                })}
            </Transition>
        </main>
    }
}

#[component]
fn CompanyBody(view: CompanyView, locale: Locale, csrf: String) -> impl IntoView {
    let state = view.view.state.clone();
    let query = state.with_by(None).query();
    let span = (view.from, view.to);
    let mut sparklines = view.sparklines;
    let mut targets = view.targets;
    let other_compare = match state.compare {
        Comparison::Previous => Comparison::LastYear,
        Comparison::LastYear => Comparison::Previous,
    };
    let other_changes = view.other_changes;
    let mut benchmarks = view.benchmarks;
    let tiles = view
        .kpis
        .into_iter()
        .map(|kpi| {
            let href = format!("/kpi/{}{query}", kpi.key);
            let sparkline = sparklines.remove(&kpi.key).unwrap_or_default();
            let target = targets.remove(&kpi.key);
            let benchmark = benchmarks.remove(&kpi.key);
            let other = (
                other_changes.get(&kpi.key).copied().flatten(),
                other_compare,
            );
            view! {
                <KpiTile
                    kpi
                    locale
                    href
                    compare=state.compare
                    target
                    sparkline
                    span
                    other
                    benchmark
                />
            }
        })
        .collect_view();
    let customer_downloads = vec![
        (
            format!("/export/company/customers.svg{query}"),
            locale.text(Msg::DownloadSvg),
        ),
        (
            format!("/export/company/customers.png{query}"),
            locale.text(Msg::DownloadPng),
        ),
        (
            format!("/export/company/customers.csv{query}"),
            locale.text(Msg::DownloadCsv),
        ),
    ];
    let breakdowns = view
        .breakdowns
        .into_iter()
        .enumerate()
        .map(|(i, b)| {
            let title = locale
                .text(match b.dimension.as_str() {
                    "channel" => Msg::ChannelMix,
                    "store" => Msg::TopStores,
                    _ => Msg::TopRegions,
                })
                .to_string();
            let title = format!("{title} · {}", b.kpi_name);
            let base = format!("/export/company/breakdown-{}", i + 1);
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
    let downloads = vec![
        (
            format!("/export/company/revenue.svg{query}"),
            locale.text(Msg::DownloadSvg),
        ),
        (
            format!("/export/company/revenue.png{query}"),
            locale.text(Msg::DownloadPng),
        ),
        (
            format!("/export/company/revenue.csv{query}"),
            locale.text(Msg::DownloadCsv),
        ),
    ];
    let kpis_csv = vec![(
        format!("/export/company/kpis.csv{query}"),
        locale.text(Msg::DownloadCsv),
    )];
    view! {
        <crate::components::forms::Notice locale />
        <PeriodForm action="/".to_string() state=state.clone() options=view.view.options locale />
        <section class="tiles" aria-label=locale.text(Msg::CompanyTitle)>
            {tiles}
        </section>
        <nav class="insight-links">
            <a href=format!("/insights/tree{query}")>{locale.text(Msg::NavInsights)}</a>
            " · "
            <a href=format!("/insights/changed{query}")>{locale.text(Msg::WhatChanged)}</a>
        </nav>
        <p class="more">
            <a href=format!(
                "/tv?views=company,dept/sales,dept/stores,dept/online&seconds=30&lang={}",
                locale.code(),
            )>{locale.text(Msg::TvOpen)}</a>
        </p>
        <crate::components::chart::Downloads
            links=kpis_csv
            what=locale.text(Msg::KpiTable).to_string()
        />
        <DailyChart
            title=locale.text(Msg::RevenuePerDay)
            svg=view.revenue_chart
            points=view.revenue
            locale
            downloads
        />
        <DailyChart
            title=locale.text(Msg::CustomersPerDay)
            svg=view.customers_chart
            points=view.customers
            locale
            downloads=customer_downloads
            unit=Unit::Count
            column=Msg::ActiveCustomersColumn
        />
        <MultichannelTable m=view.multichannel locale />
        <section class="breakdowns" aria-labelledby="mix-title">
            <h2 id="mix-title">{locale.text(Msg::WhereRevenueComesFrom)}</h2>
            {breakdowns}
        </section>
        <super::kpi_detail::Annotations
            notes=view.annotations
            kpi=String::new()
            carried=query.trim_start_matches('?').to_string()
            can_add=view.can_annotate
            default_day=view.to.format("%Y-%m-%d").to_string()
            csrf
            locale
            help=Msg::CompanyAnnotationsHelp
        />
    }
}

/// Multichannel against single-channel buyers: purchase frequency and average order value
/// side by side, with the ratio the tiles show.
#[component]
fn MultichannelTable(m: Multichannel, locale: Locale) -> impl IntoView {
    let row = |label: Msg, multi: String, single: String, uplift: String| {
        view! {
            <tr>
                <th scope="row">{locale.text(label)}</th>
                <td class="num">{multi}</td>
                <td class="num">{single}</td>
                <td class="num">{uplift}</td>
            </tr>
        }
    };
    let na = || locale.text(Msg::NotAvailable).to_string();
    // Orders per buyer, two decimals.
    let frequency = |v: Option<f64>| v.map_or_else(na, |v| format::number(v, 2, locale));
    let money = |v: Option<f64>| format::kpi_value(v, Unit::Money, locale);
    // The frequency's uplift is a multiple (1.33×), the order value's a relative difference.
    let value_uplift = m.aov_uplift.map_or_else(na, |u| format::change(u, locale));
    view! {
        <section class="multichannel" aria-labelledby="multi-title">
            <h2 id="multi-title">{locale.text(Msg::MultichannelTitle)}</h2>
            <p class="hint">{locale.text(Msg::MultichannelHelp)}</p>
            <div class="table-wrap">
                <table>
                    <thead>
                        <tr>
                            <th scope="col">{locale.text(Msg::MeasureCol)}</th>
                            <th scope="col">{locale.text(Msg::MultichannelCol)}</th>
                            <th scope="col">{locale.text(Msg::SingleChannelCol)}</th>
                            <th scope="col">{locale.text(Msg::UpliftCol)}</th>
                        </tr>
                    </thead>
                    <tbody>
                        {row(
                            Msg::FrequencyRow,
                            frequency(m.frequency_multi),
                            frequency(m.frequency_single),
                            format::kpi_value(m.frequency_uplift, Unit::Multiple, locale),
                        )}
                        {row(
                            Msg::OrderValueRow,
                            money(m.aov_multi),
                            money(m.aov_single),
                            value_uplift,
                        )}
                    </tbody>
                </table>
            </div>
        </section>
    }
}
