//! The company view for executives: headline KPI tiles (each a link to its detail page) with
//! their change against the comparison period, and revenue per day. The whole view state lives
//! in the URL query.

use leptos::prelude::*;
use leptos_meta::Html;
use leptos_router::hooks::use_query_map;

use crate::components::{
    chart::DailyChart, header::Header, kpi_tile::KpiTile, period_form::PeriodForm,
};
use crate::i18n::{Locale, Msg};
use crate::kpi::{CompanyView, fetch_company_view};

use super::{error_view, query_string};

#[component]
pub fn CompanyPage() -> impl IntoView {
    let query = use_query_map();
    let locale = Memo::new(move |_| Locale::parse(query.read().get("lang").as_deref()));
    let qs = query_string();
    // Keyed on the data version too: new events refresh the open page (see `live`).
    let version = crate::live::use_data_version();
    let data = Resource::new(
        move || (qs.get(), version.get()),
        |(qs, _)| fetch_company_view(qs),
    );

    view! {
        <Html {..} lang=move || locale.get().code() />
        <Header locale=locale />
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
    let tiles = view
        .kpis
        .into_iter()
        .map(|kpi| {
            let href = format!("/kpi/{}{query}", kpi.key);
            view! { <KpiTile kpi locale href compare=state.compare /> }
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
