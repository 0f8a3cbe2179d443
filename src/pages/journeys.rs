//! The journey view for the CX officer: how the period's journeys ended, the ranked pain
//! points (each links to its page), the cross-channel and store funnels as charts with their
//! tables, the funnel by entry channel, the flow between channels (a Sankey-like chart with its
//! table), the top paths and the hand-off matrix. The period and the filters (the KPI pages'
//! form) live in the URL and narrow every number on the page; links carry them on to the
//! custom funnel and the before/after comparison.

pub mod compare;
pub mod detail;
pub mod funnel;
pub mod pain;

use leptos::prelude::*;
use leptos_meta::{Html, Title};
use leptos_router::hooks::use_query_map;

use crate::components::head::head;
use crate::components::table::DataTable;
use crate::components::{header::Header, period_form::PeriodForm};
use crate::format;
use crate::i18n::{Locale, Msg, step_name};
use crate::journey::server_fns::{JourneysPage as PageData, fetch_journeys_page};
use crate::journey::{Funnel, FunnelReport, JourneySummary, PainPoint};
use crate::pages::admin::page_locale;

/// `n/a` for a missing value, else `show(value)`.
pub fn or_na(value: Option<f64>, locale: Locale, show: impl Fn(f64) -> String) -> String {
    value.map_or_else(|| locale.text(Msg::NotAvailable).to_string(), show)
}

/// A link within the journey pages that keeps the period and the language.
pub fn link(path: &str, from: &str, to: &str, locale: Locale) -> String {
    let pairs = [("from", from), ("to", to), ("lang", locale.code())];
    let kept = pairs.into_iter().filter(|(_, v)| !v.is_empty());
    format!("{path}{}", crate::url::query(kept))
}

/// The page of the pain point `key`.
pub fn pain_href(key: &str, from: &str, to: &str, locale: Locale) -> String {
    link(
        &format!("/journeys/pain/{}", crate::url::encode(key)),
        from,
        to,
        locale,
    )
}

/// The pain point's lost revenue as its formula with the numbers: `2 × 50.0% × €75.00 = €75.00`.
pub fn formula(p: &PainPoint, locale: Locale) -> String {
    format!(
        "{} × {} × {} = {}",
        format::number(p.affected_journeys as f64, 0, locale),
        format::percent(p.conversion_gap.unwrap_or(0.0).max(0.0), locale),
        format::money(p.average_order_value.unwrap_or(0.0), locale),
        format::money(p.revenue_lost, locale)
    )
}

#[component]
pub fn JourneysPage() -> impl IntoView {
    let query = use_query_map();
    let locale = page_locale();
    let qs = crate::pages::query_string();
    let data = Resource::new(move || qs.get(), fetch_journeys_page);
    view! {
        <Html {..} lang=head(locale, Locale::code) />
        <Title text=head(locale, move |l| l.text(Msg::JourneysTitle)) />
        <Header locale=locale />
        <main id="main" class="page journeys">
            <h1>{move || locale.get().text(Msg::JourneysTitle)}</h1>
            <Suspense fallback=move || {
                view! { <p class="loading">{locale.get().text(Msg::Loading)}</p> }
            }>
                {move || Suspend::new(async move {
                    let locale = locale.get();
                    match data.await {
                        Ok(page) => view! { <JourneysBody page locale /> }.into_any(),
                        Err(err) => {
                            let _ = &query;
                            let state = crate::pages::url_state();
                            view! {
                                <PeriodForm
                                    action="/journeys".to_string()
                                    state
                                    options=Vec::new()
                                    locale
                                />
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
fn JourneysBody(page: PageData, locale: Locale) -> impl IntoView {
    let from = page.view.from.to_string();
    let to = page.view.to.to_string();
    let view = page.view;
    let state = page.state.state.clone();
    // Period and filters, without a preset (the dates it stood for are explicit).
    let carried = crate::view::ViewState {
        preset: crate::view::Preset::Custom,
        ..state.clone()
    }
    .query();
    let funnel_href = format!("/journeys/funnel{carried}");
    let compare_href = format!("/journeys/compare{carried}");
    view! {
        <PeriodForm action="/journeys".to_string() state options=page.state.options locale />
        <nav class="subnav" aria-label=locale.text(Msg::JourneysTitle)>
            <a href=funnel_href>{locale.text(Msg::CustomFunnelLink)}</a>
            " · "
            <a href=compare_href>{locale.text(Msg::BeforeAfterLink)}</a>
        </nav>
        <Summary summary=view.summary locale />
        <PainList
            pains=page.pains
            acknowledged=page.acknowledged
            from=from.clone()
            to=to.clone()
            locale
        />
        <FunnelFigure
            title=locale.text(Msg::CrossChannelFunnel)
            svg=page.funnel_chart
            funnel=view.funnel.overall.clone()
            locale
        />
        <EntryChannels report=view.funnel locale />
        <FunnelFigure
            title=locale.text(Msg::StoreFunnel)
            svg=page.store_funnel_chart
            funnel=view.store_funnel.overall
            locale
        />
        <FlowFigure svg=page.flow_chart links=view.flow locale />
        <Paths paths=view.paths locale />
        <Handoffs handoffs=view.handoffs locale />
    }
}

#[component]
fn Summary(summary: JourneySummary, locale: Locale) -> impl IntoView {
    let n = |v: u64| format::number(v as f64, 0, locale);
    let items = [
        (Msg::JourneysCount, n(summary.journeys)),
        (Msg::Converted, n(summary.converted)),
        (Msg::Abandoned, n(summary.abandoned)),
        (Msg::StillOpen, n(summary.open)),
        (
            Msg::Conversion,
            or_na(summary.conversion, locale, |v| format::percent(v, locale)),
        ),
        (Msg::Revenue, format::money(summary.revenue, locale)),
        (
            Msg::AverageOrderValue,
            or_na(summary.average_order_value, locale, |v| {
                format::money(v, locale)
            }),
        ),
    ]
    .into_iter()
    .map(|(label, value)| {
        view! {
            <div class="stat">
                <dt>{locale.text(label)}</dt>
                <dd class="num">{value}</dd>
            </div>
        }
    })
    .collect_view();
    view! {
        <dl class="stats" aria-label=locale.text(Msg::JourneysTitle)>
            {items}
        </dl>
    }
}

#[component]
fn PainList(
    pains: Vec<PainPoint>,
    acknowledged: Vec<String>,
    from: String,
    to: String,
    locale: Locale,
) -> impl IntoView {
    let empty = pains.is_empty();
    let rows = pains
        .into_iter()
        .filter(|p| p.affected_journeys > 0)
        .enumerate()
        .map(|(i, p)| {
            let href = pain_href(&p.key, &from, &to, locale);
            let ack = acknowledged.contains(&p.key).then(|| {
                view! { <span class="badge">{locale.text(Msg::AcknowledgedBadge)}</span> }
            });
            let lost = if p.enough_volume {
                view! {
                    <span class="num">{format::money(p.revenue_lost, locale)}</span>
                    <br />
                    <small class="formula">{formula(&p, locale)}</small>
                }
                .into_any()
            } else {
                view! { <small>{locale.text(Msg::LowVolume)}</small> }.into_any()
            };
            view! {
                <tr>
                    <td class="num rank">{i + 1}</td>
                    <th scope="row">
                        <a href=href>{p.title()}</a>
                        " "
                        {ack}
                    </th>
                    <td class="num" data-label=locale.text(Msg::AffectedJourneys)>
                        {format::number(p.affected_journeys as f64, 0, locale)}
                    </td>
                    <td class="num" data-label=locale.text(Msg::ConversionGap)>
                        {or_na(p.conversion_gap, locale, |v| format::percent(v, locale))}
                    </td>
                    <td class="lost" data-label=locale.text(Msg::RevenueLost)>{lost}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card pains" aria-labelledby="pains-title">
            <h2 id="pains-title">{locale.text(Msg::TopPainPoints)}</h2>
            <p class="formula">{locale.text(Msg::LostFormula)}</p>
            {if empty {
                view! { <p>{locale.text(Msg::NoPainPoints)}</p> }.into_any()
            } else {
                view! {
                    <DataTable
                        headers=vec![
                            "#",
                            locale.text(Msg::PainPointLabel),
                            locale.text(Msg::AffectedJourneys),
                            locale.text(Msg::ConversionGap),
                            locale.text(Msg::RevenueLost),
                        ]
                        class="stack"
                    >
                        {rows}
                    </DataTable>
                }
                    .into_any()
            }}
        </section>
    }
}

/// A funnel as a bar chart, with its table.
#[component]
pub fn FunnelFigure(
    title: &'static str,
    svg: String,
    funnel: Funnel,
    locale: Locale,
) -> impl IntoView {
    let pct = move |v: Option<f64>| or_na(v, locale, |v| format::percent(v, locale));
    let rows = funnel
        .steps
        .into_iter()
        .map(|s| {
            view! {
                <tr>
                    <th scope="row">{step_name(&s.key, locale)}</th>
                    <td class="num">{format::number(s.journeys as f64, 0, locale)}</td>
                    <td class="num">{pct(s.conversion_from_previous)}</td>
                    <td class="num">{pct(s.conversion_from_first)}</td>
                    <td class="num">
                        {or_na(s.median_hours_from_previous, locale, |v| format::number(v, 1, locale))}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <figure class="chart">
            <figcaption>{title}</figcaption>
            <div class="chart-svg" role="img" aria-label=title inner_html=svg></div>
            <DataTable
                headers=vec![
                    locale.text(Msg::Step),
                    locale.text(Msg::JourneysCount),
                    locale.text(Msg::FromPreviousStep),
                    locale.text(Msg::FromFirstStep),
                    locale.text(Msg::MedianHours),
                ]
                caption=title
            >
                {rows}
            </DataTable>
        </figure>
    }
}

/// The funnel split by entry channel: journeys reaching each step and the share of the first.
#[component]
pub fn EntryChannels(report: FunnelReport, locale: Locale) -> impl IntoView {
    let heads = report
        .overall
        .steps
        .iter()
        .map(|s| view! { <th scope="col">{step_name(&s.key, locale)}</th> })
        .collect_view();
    let row = move |name: String, f: Funnel| {
        let cells = f
            .steps
            .into_iter()
            .map(|s| {
                let share = s
                    .conversion_from_first
                    .map(|v| format!(" ({})", format::percent(v, locale)))
                    .unwrap_or_default();
                view! {
                    <td class="num">
                        {format!("{}{share}", format::number(s.journeys as f64, 0, locale))}
                    </td>
                }
            })
            .collect_view();
        view! {
            <tr>
                <th scope="row">{name}</th>
                {cells}
            </tr>
        }
    };
    let mut rows = vec![row(
        locale.text(Msg::AllChannels).to_string(),
        report.overall.clone(),
    )];
    rows.extend(
        report
            .by_entry_channel
            .into_iter()
            .map(|f| row(f.entry_channel.clone().unwrap_or_default(), f)),
    );
    view! {
        <section class="card" aria-labelledby="entry-title">
            <h2 id="entry-title">{locale.text(Msg::FunnelByEntry)}</h2>
            <div class="table-scroll" tabindex="0">
                <table class="data">
                    <thead>
                        <tr>
                            <th scope="col">{locale.text(Msg::EntryChannel)}</th>
                            {heads}
                        </tr>
                    </thead>
                    <tbody>{rows.collect_view()}</tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn Paths(paths: Vec<crate::journey::PathRow>, locale: Locale) -> impl IntoView {
    let rows = paths
        .into_iter()
        .map(|p| {
            view! {
                <tr>
                    <th scope="row">{p.path.join(" → ")}</th>
                    <td class="num">{format::number(p.journeys as f64, 0, locale)}</td>
                    <td class="num">
                        {or_na(p.conversion, locale, |v| format::percent(v, locale))}
                    </td>
                    <td class="num">{format::money(p.revenue, locale)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="paths-title">
            <h2 id="paths-title">{locale.text(Msg::TopPaths)}</h2>
            <DataTable
                headers=vec![
                    locale.text(Msg::PathLabel),
                    locale.text(Msg::JourneysCount),
                    locale.text(Msg::Conversion),
                    locale.text(Msg::Revenue),
                ]
            >
                {rows}
            </DataTable>
        </section>
    }
}

#[component]
fn Handoffs(handoffs: Vec<crate::journey::HandoffRow>, locale: Locale) -> impl IntoView {
    let rows = handoffs
        .into_iter()
        .map(|h| {
            view! {
                <tr>
                    <th scope="row">{h.from}</th>
                    <th scope="row">{h.to}</th>
                    <td class="num">{format::number(h.journeys as f64, 0, locale)}</td>
                    <td class="num">
                        {or_na(h.conversion, locale, |v| format::percent(v, locale))}
                    </td>
                    <td class="num">
                        {or_na(h.median_hours, locale, |v| format::number(v, 1, locale))}
                    </td>
                    <td class="num">{format::number(h.complaints as f64, 0, locale)}</td>
                    <td class="num">{format::number(h.surveys as f64, 0, locale)}</td>
                    <td class="num">
                        {or_na(h.average_survey_score, locale, |v| format::number(v, 1, locale))}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="handoffs-title">
            <h2 id="handoffs-title">{locale.text(Msg::HandoffMatrix)}</h2>
            <DataTable
                headers=vec![
                    locale.text(Msg::FromChannel),
                    locale.text(Msg::ToChannel),
                    locale.text(Msg::JourneysCount),
                    locale.text(Msg::Conversion),
                    locale.text(Msg::MedianHoursBetween),
                    locale.text(Msg::ComplaintsAfter),
                    locale.text(Msg::SurveysAfter),
                    locale.text(Msg::AverageScore),
                ]
            >
                {rows}
            </DataTable>
        </section>
    }
}

/// The flow chart with its table: one row per band.
#[component]
fn FlowFigure(svg: String, links: Vec<crate::journey::FlowLink>, locale: Locale) -> impl IntoView {
    let title = locale.text(Msg::FlowChartTitle);
    let rows = links
        .into_iter()
        .map(|l| {
            view! {
                <tr>
                    <td class="num">{l.position + 1}</td>
                    <th scope="row">{l.from}</th>
                    <th scope="row">{l.to}</th>
                    <td class="num">{format::number(l.journeys as f64, 0, locale)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <figure class="chart flow" id="flow">
            <figcaption>{title}</figcaption>
            <p class="hint">{locale.text(Msg::FlowChartHelp)}</p>
            <div class="chart-svg" role="img" aria-label=title inner_html=svg></div>
            <details>
                <summary>{locale.text(Msg::ChartDataTable)}</summary>
                <div class="table-scroll">
                    <table class="data">
                        <caption class="visually-hidden">{title}</caption>
                        <thead>
                            <tr>
                                <th scope="col">{locale.text(Msg::FlowFromPosition)}</th>
                                <th scope="col">{locale.text(Msg::FromChannel)}</th>
                                <th scope="col">{locale.text(Msg::ToChannel)}</th>
                                <th scope="col">{locale.text(Msg::JourneysCount)}</th>
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
            </details>
        </figure>
    }
}
