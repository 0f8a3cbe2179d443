//! One pain point: its numbers and the lost-revenue formula, the monthly trend (chart and
//! table), the breakdown by store, channel and campaign, example journeys, and the
//! acknowledgement and note form (admins and the CX officer).

use leptos::prelude::*;
use leptos_meta::{Html, Title};
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::components::forms::{CsrfField, Notice};
use crate::components::head::head;
use crate::components::header::Header;
use crate::components::table::DataTable;
use crate::format;
use crate::i18n::{Locale, Msg};
use crate::journey::server_fns::{PainPage as PageData, fetch_pain_page};
use crate::pages::admin::{csrf_token, page_locale};

use super::{formula, link, or_na};

#[component]
pub fn PainPage() -> impl IntoView {
    let query = use_query_map();
    let params = use_params_map();
    let locale = page_locale();
    let data = Resource::new(
        move || {
            let q = query.read();
            let rule = params.read().get("rule").unwrap_or_default();
            (rule, q.get("from"), q.get("to"), q.get("lang"))
        },
        |(rule, from, to, lang)| fetch_pain_page(rule, from, to, lang),
    );
    let csrf = csrf_token();
    view! {
        <Html {..} lang=head(locale, Locale::code) />
        <Title text=head(locale, move |l| l.text(Msg::PainPointLabel)) />
        <Header locale=locale />
        <main id="main" class="page journeys">
            {move || view! { <Notice locale=locale.get() /> }}
            <Suspense fallback=move || {
                view! { <p class="loading">{locale.get().text(Msg::Loading)}</p> }
            }>
                {move || Suspend::new(async move {
                    let locale = locale.get();
                    let csrf = csrf.await;
                    match data.await {
                        Ok(page) => view! { <PainBody page locale csrf /> }.into_any(),
                        Err(err) => {
                            view! {
                                <h1>{locale.text(Msg::PainPointLabel)}</h1>
                                <section class="error" role="alert">
                                    <h2>{locale.text(Msg::ErrorTitle)}</h2>
                                    <p>{err.to_string()}</p>
                                </section>
                                <p>
                                    <a href=format!("/journeys?lang={}", locale.code())>
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
fn PainBody(page: PageData, locale: Locale, csrf: String) -> impl IntoView {
    let from = page.from.to_string();
    let to = page.to.to_string();
    let p = page.point;
    let n = move |v: u64| format::number(v as f64, 0, locale);
    let pct = move |v: Option<f64>| or_na(v, locale, |v| format::percent(v, locale));
    let mut numbers = vec![
        (Msg::JudgedJourneys, n(p.exposed_journeys)),
        (Msg::AffectedJourneys, n(p.affected_journeys)),
        (Msg::ReferenceJourneys, n(p.reference_journeys)),
        (Msg::ConversionAffected, pct(p.conversion_affected)),
        (Msg::ConversionReference, pct(p.conversion_reference)),
        (Msg::ConversionGap, pct(p.conversion_gap)),
        (
            Msg::AverageOrderValue,
            or_na(p.average_order_value, locale, |v| format::money(v, locale)),
        ),
        (Msg::RevenueLost, format::money(p.revenue_lost, locale)),
    ];
    if let Some(z) = p.z_score {
        numbers.push((Msg::ZScore, format::number(z, 2, locale)));
    }
    let numbers = numbers
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
    let trend_rows = p
        .trend
        .iter()
        .map(|t| {
            view! {
                <tr>
                    <th scope="row">{t.month.clone()}</th>
                    <td class="num">{n(t.exposed)}</td>
                    <td class="num">{n(t.affected)}</td>
                </tr>
            }
        })
        .collect_view();
    let breakdown_rows = p
        .breakdown
        .iter()
        .map(|b| {
            let dimension = match b.dimension.as_str() {
                "store" => locale.text(Msg::DimStore).to_string(),
                "channel" => locale.text(Msg::DimChannel).to_string(),
                "campaign" => locale.text(Msg::DimCampaign).to_string(),
                other => other.to_string(),
            };
            view! {
                <tr>
                    <td>{dimension}</td>
                    <th scope="row">{b.value.clone()}</th>
                    <td class="num">{n(b.exposed)}</td>
                    <td class="num">{n(b.affected)}</td>
                    <td class="num">{pct(b.rate)}</td>
                </tr>
            }
        })
        .collect_view();
    let examples = p
        .examples
        .iter()
        .map(|e| {
            let href = link(
                &format!("/journeys/journey/{}", e.journey_id),
                &from,
                &to,
                locale,
            );
            view! {
                <li>
                    <a href=href>
                        {format!(
                            "{} {} · {} {} · {}",
                            locale.text(Msg::JourneyLabel),
                            e.journey_id,
                            locale.text(Msg::CustomerLabel),
                            e.customer_id,
                            e.at.chars().take(16).collect::<String>().replace('T', " "),
                        )}
                    </a>
                </li>
            }
        })
        .collect_view();
    let trend_title = locale.text(Msg::TrendTitle);
    let note = page.note;
    let note_text = note.note.clone().unwrap_or_default();
    let acknowledged = note.acknowledged.then(|| {
        view! {
            <p class="badge-line">
                <span class="badge">{locale.text(Msg::AcknowledgedBadge)}</span>
                {format!(
                    " {} {} · {}",
                    locale.text(Msg::AcknowledgedBy),
                    note.acknowledged_by.clone().unwrap_or_default(),
                    note.acknowledged_at.clone().unwrap_or_default(),
                )}
            </p>
        }
    });
    let form = page.can_edit.then(|| {
        view! {
            <form class="stacked" method="post" action="/journeys/pain-note">
                <CsrfField token=csrf />
                <input type="hidden" name="rule" value=p.key.clone() />
                <input type="hidden" name="from" value=from.clone() />
                <input type="hidden" name="to" value=to.clone() />
                <input type="hidden" name="lang" value=locale.code() />
                <label class="check">
                    <input
                        type="checkbox"
                        name="acknowledged"
                        value="on"
                        checked=note.acknowledged
                    />
                    {locale.text(Msg::AcknowledgeBox)}
                </label>
                <label>
                    {locale.text(Msg::NoteLabel)}
                    <textarea name="note" rows="4" maxlength="2000">{note_text.clone()}</textarea>
                </label>
                <button type="submit">{locale.text(Msg::Save)}</button>
            </form>
        }
    });
    let shown_note = (!page.can_edit && !note_text.is_empty())
        .then(|| view! { <p class="note">{note_text.clone()}</p> });
    view! {
        <p>
            <a href=link("/journeys", &from, &to, locale)>{locale.text(Msg::BackToJourneys)}</a>
        </p>
        <h1>{p.title()}</h1>
        <p class="period">{format!("{} – {}", format::date(page.from, locale), format::date(page.to, locale))}</p>
        <p>{p.description.clone()}</p>
        <dl class="stats">{numbers}</dl>
        {if p.enough_volume {
            view! {
                <p class="formula">
                    {locale.text(Msg::LostFormula)}
                    <br />
                    <strong>{formula(&p, locale)}</strong>
                </p>
            }
                .into_any()
        } else {
            view! { <p class="formula">{locale.text(Msg::LowVolume)}</p> }.into_any()
        }}
        <figure class="chart">
            <figcaption>{trend_title}</figcaption>
            <div class="chart-svg" role="img" aria-label=trend_title inner_html=page.trend_chart></div>
            <DataTable
                headers=vec![
                    locale.text(Msg::Month),
                    locale.text(Msg::JudgedJourneys),
                    locale.text(Msg::AffectedJourneys),
                ]
                caption=trend_title
            >
                {trend_rows}
            </DataTable>
        </figure>
        <section class="card" aria-labelledby="breakdown-title">
            <h2 id="breakdown-title">{locale.text(Msg::BreakdownTitle)}</h2>
            <DataTable
                headers=vec![
                    locale.text(Msg::DimensionLabel),
                    locale.text(Msg::ValueLabel),
                    locale.text(Msg::JudgedJourneys),
                    locale.text(Msg::AffectedJourneys),
                    locale.text(Msg::AffectedShare),
                ]
            >
                {breakdown_rows}
            </DataTable>
        </section>
        <section class="card" aria-labelledby="examples-title">
            <h2 id="examples-title">{locale.text(Msg::ExampleJourneys)}</h2>
            <ul class="link-list examples">{examples}</ul>
        </section>
        <section class="card" aria-labelledby="note-title">
            <h2 id="note-title">{locale.text(Msg::AcknowledgeTitle)}</h2>
            {acknowledged}
            {shown_note}
            {form}
        </section>
    }
}
