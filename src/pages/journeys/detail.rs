//! One journey: its steps in order with channel, touchpoint and time, the pain points hit
//! marked on the step that anchors them, and the way to the customer 360.

use leptos::prelude::*;
use leptos_meta::{Html, Title};
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::components::head::head;
use crate::components::header::Header;
use crate::components::table::DataTable;
use crate::format;
use crate::i18n::{Locale, Msg};
use crate::journey::TimelineEvent;
use crate::journey::server_fns::{JourneyPage as PageData, fetch_journey_page};
use crate::pages::admin::page_locale;

use super::{link, pain_href};

/// A step's time as `YYYY-MM-DD HH:MM` (the instance's time zone).
pub fn short_time(at: &str) -> String {
    at.chars().take(16).collect::<String>().replace('T', " ")
}

/// The name of a journey status.
pub fn status_name(status: &str, locale: Locale) -> String {
    match status {
        "converted" => locale.text(Msg::StatusConverted).to_string(),
        "abandoned" => locale.text(Msg::StatusAbandoned).to_string(),
        "open" => locale.text(Msg::StatusOpen).to_string(),
        other => other.to_string(),
    }
}

#[component]
pub fn JourneyDetailPage() -> impl IntoView {
    let query = use_query_map();
    let params = use_params_map();
    let locale = page_locale();
    let data = Resource::new(
        move || params.read().get("id").unwrap_or_default(),
        |id| async move {
            match id.parse::<i64>() {
                Ok(id) => fetch_journey_page(id).await,
                Err(_) => Err(crate::error::AppError::NotFound(format!("journey {id}"))),
            }
        },
    );
    view! {
        <Html {..} lang=head(locale, Locale::code) />
        <Title text=head(locale, move |l| l.text(Msg::JourneyTitle)) />
        <Header locale=locale />
        <main id="main" class="page journeys">
            <Suspense fallback=move || {
                view! { <p class="loading">{locale.get().text(Msg::Loading)}</p> }
            }>
                {move || Suspend::new(async move {
                    let locale = locale.get();
                    let (from, to) = query.with_untracked(|q| {
                        (q.get("from").unwrap_or_default(), q.get("to").unwrap_or_default())
                    });
                    match data.await {
                        Ok(page) => view! { <JourneyBody page locale from to /> }.into_any(),
                        Err(err) => {
                            view! {
                                <h1>{locale.text(Msg::JourneyTitle)}</h1>
                                <section class="error" role="alert">
                                    <h2>{locale.text(Msg::ErrorTitle)}</h2>
                                    <p>{err.to_string()}</p>
                                </section>
                                <p>
                                    <a href=link("/journeys", &from, &to, locale)>
                                        {locale.text(Msg::BackToJourneys)}
                                    </a>
                                </p>
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
fn JourneyBody(page: PageData, locale: Locale, from: String, to: String) -> impl IntoView {
    let d = page.detail;
    let customer = page.can_open_customer.then(|| {
        view! {
            <p>
                <a class="button-link" href=format!("/customer/{}?lang={}", d.customer_id, locale.code())>
                    {format!("{} ({} {})", locale.text(Msg::OpenCustomer), locale.text(Msg::CustomerLabel), d.customer_id)}
                </a>
            </p>
        }
    });
    let facts = [
        (Msg::StatusLabel, status_name(&d.status, locale)),
        (Msg::Started, short_time(&d.started_at)),
        (Msg::Ended, short_time(&d.ended_at)),
        (Msg::PathLabel, d.path.join(" → ")),
        (Msg::Revenue, format::money(d.revenue, locale)),
    ]
    .into_iter()
    .map(|(label, value)| {
        view! {
            <div class="stat">
                <dt>{locale.text(label)}</dt>
                <dd>{value}</dd>
            </div>
        }
    })
    .collect_view();
    view! {
        <p>
            <a href=link("/journeys", &from, &to, locale)>{locale.text(Msg::BackToJourneys)}</a>
        </p>
        <h1>{format!("{} {}", locale.text(Msg::JourneyTitle), d.journey_id)}</h1>
        <dl class="stats">{facts}</dl>
        {customer}
        <Steps events=d.steps locale from to />
    }
}

/// Events in order as a table, pain point hits marked (used by the journey and the 360).
#[component]
pub fn Steps(
    events: Vec<TimelineEvent>,
    locale: Locale,
    from: String,
    to: String,
) -> impl IntoView {
    let rows = events
        .into_iter()
        .map(|e| {
            let hit = !e.pain_points.is_empty();
            let pains = e
                .pain_points
                .iter()
                .map(|key| {
                    view! {
                        <a class="badge warn" href=pain_href(key, &from, &to, locale)>
                            {format!("⚠ {key}")}
                        </a>
                        " "
                    }
                })
                .collect_view();
            let detail = [
                e.order_id.clone(),
                e.store_id.clone(),
                e.campaign_id.clone(),
                e.topic.clone(),
                e.score.map(|s| format!("NPS {s}")),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · ");
            view! {
                <tr class:hit=hit>
                    <td>{short_time(&e.at)}</td>
                    <td>{e.channel.clone().unwrap_or_default()}</td>
                    <td>{e.event_type.clone()}</td>
                    <td>{e.touchpoint.clone().unwrap_or_default()}</td>
                    <td>{detail}</td>
                    <td class="num">{e.amount.map(|a| format::money(a, locale)).unwrap_or_default()}</td>
                    <td>
                        {hit.then(|| view! { <span class="visually-hidden">{locale.text(Msg::PainHit)}": "</span> })}
                        {pains}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <DataTable
            headers=vec![
                locale.text(Msg::TimeLabel),
                locale.text(Msg::ChannelLabel),
                locale.text(Msg::EventLabel),
                locale.text(Msg::TouchpointLabel),
                locale.text(Msg::Subject),
                locale.text(Msg::AmountLabel),
                locale.text(Msg::PainHit),
            ]
            class="steps"
        >
            {rows}
        </DataTable>
    }
}
