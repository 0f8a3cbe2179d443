//! The company view for executives: headline KPI tiles with their change against the previous
//! period, and revenue per day. The period and language live in the URL query.

use leptos::prelude::*;
use leptos_meta::Html;
use leptos_router::hooks::use_query_map;

use crate::components::{
    chart::DailyChart, header::Header, kpi_tile::KpiTile, period_form::PeriodForm,
};
use crate::i18n::{Locale, Msg};
use crate::kpi::{CompanyView, fetch_company_view};

#[component]
pub fn CompanyPage() -> impl IntoView {
    let query = use_query_map();
    let locale = Memo::new(move |_| Locale::parse(query.read().get("lang").as_deref()));
    let data = Resource::new(
        move || {
            let q = query.read();
            (q.get("from"), q.get("to"), q.get("lang"))
        },
        |(from, to, lang)| fetch_company_view(from, to, lang),
    );

    view! {
        <Html {..} lang=move || locale.get().code() />
        <Header locale=locale />
        <main id="main" class="page company">
            <h1>{move || locale.get().text(Msg::CompanyTitle)}</h1>
            <Suspense fallback=move || {
                view! { <p class="loading">{locale.get().text(Msg::Loading)}</p> }
            }>
                {move || Suspend::new(async move {
                    let locale = locale.get();
                    match data.await {
                        Ok(view) => view! { <CompanyBody view locale /> }.into_any(),
                        Err(err) => {
                            let q = query.read_untracked();
                            let from = q.get("from").unwrap_or_default();
                            let to = q.get("to").unwrap_or_default();
                            view! {
                                <PeriodForm action="/" from to locale />
                                <section class="error" role="alert">
                                    <h2>{locale.text(Msg::ErrorTitle)}</h2>
                                    <p>{err.to_string()}</p>
                                </section>
                            }
                                .into_any()
                        }
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn CompanyBody(view: CompanyView, locale: Locale) -> impl IntoView {
    let tiles = view
        .kpis
        .into_iter()
        .map(|kpi| view! { <KpiTile kpi locale /> })
        .collect_view();
    view! {
        <PeriodForm action="/" from=view.from.to_string() to=view.to.to_string() locale />
        <section class="tiles" aria-label=locale.text(Msg::CompanyTitle)>
            {tiles}
        </section>
        <DailyChart
            title=locale.text(Msg::RevenuePerDay)
            svg=view.revenue_chart
            points=view.revenue
            locale
        />
    }
}
