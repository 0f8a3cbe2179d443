//! `/journeys/compare`: the journeys before and after a day (a company annotation's, or one
//! typed in), N days on each side: conversion, each funnel step's conversion from the previous
//! step and each pain point's share of affected journeys, with the difference and whether it
//! is significant (two-proportion z-test, stated on the page). A plain GET form: the URL
//! (`annotation` or `at`, `days`, the filters, custom funnel steps `t1`...) reproduces it.

use leptos::prelude::*;
use leptos_meta::{Html, Title};
use leptos_router::components::Form;

use crate::components::head::head;
use crate::components::header::Header;
use crate::format;
use crate::i18n::{Locale, Msg, step_name};
use crate::journey::server_fns::{ComparePage as PageData, ProportionChange, fetch_compare_page};
use crate::pages::admin::page_locale;

use super::funnel::hidden_fields;
use super::or_na;

#[component]
pub fn ComparePage() -> impl IntoView {
    let locale = page_locale();
    let qs = crate::pages::query_string();
    let data = Resource::new(move || qs.get(), fetch_compare_page);
    view! {
        <Html {..} lang=head(locale, Locale::code) />
        <Title text=head(locale, move |l| l.text(Msg::BeforeAfterTitle)) />
        <Header locale=locale />
        <main id="main" class="page journeys compare">
            <h1>{move || locale.get().text(Msg::BeforeAfterTitle)}</h1>
            <Suspense fallback=move || {
                view! { <p class="loading">{locale.get().text(Msg::Loading)}</p> }
            }>
                {move || Suspend::new(async move {
                    let locale = locale.get();
                    match data.await {
                        Ok(page) => view! { <CompareBody page locale /> }.into_any(),
                        Err(err) => {
                            crate::pages::error_view(
                                err,
                                "/journeys".into(),
                                Msg::JourneysTitle,
                                locale,
                            )
                        }
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn CompareBody(page: PageData, locale: Locale) -> impl IntoView {
    let state = page.view.state.clone();
    // The form carries the filters, the language and the funnel steps; not the period (the
    // day and the window make it).
    let mut carried: Vec<(String, String)> = state.filters.clone();
    carried.push(("lang".to_string(), locale.code().to_string()));
    let custom = page.steps
        != crate::journey::server_fns::steps_from_query(std::iter::empty::<(&str, &str)>());
    if custom {
        carried.extend(crate::journey::server_fns::step_pairs(&page.steps));
    }
    let annotations = page
        .annotations
        .iter()
        .map(|a| {
            let selected = page.annotation == Some(a.id);
            let text: String = a.text.chars().take(60).collect();
            view! {
                <option value=a.id.to_string() selected=selected>
                    {format!("{} · {text}", a.day)}
                </option>
            }
        })
        .collect_view();
    let at = page.at.to_string();
    let days = page.days.to_string();
    let periods = format!(
        "{}: {} – {} · {}: {} – {}",
        locale.text(Msg::BeforeLabel),
        page.before_from,
        page.before_to,
        locale.text(Msg::AfterLabel),
        page.after_from,
        page.after_to
    );
    let funnel_rows: Vec<ProportionChange> = page
        .funnel
        .into_iter()
        .map(|mut c| {
            c.label = step_name(&c.key, locale);
            c
        })
        .collect();
    let mut conversion = page.conversion;
    conversion.label = locale.text(Msg::Conversion).to_string();
    view! {
        <section class="card" aria-labelledby="compare-form-title">
            <h2 id="compare-form-title" class="visually-hidden">
                {locale.text(Msg::BeforeAfterTitle)}
            </h2>
            <Form method="GET" action="/journeys/compare">
                <div class="period-form">
                    <div class="controls">
                        <div class="field">
                            <label for="f-annotation">{locale.text(Msg::AnnotationLabel)}</label>
                            <select id="f-annotation" name="annotation">
                                <option value="">{locale.text(Msg::NoAnnotationChosen)}</option>
                                {annotations}
                            </select>
                        </div>
                        <div class="field">
                            <label for="f-at">{locale.text(Msg::Day)}</label>
                            <input id="f-at" type="date" name="at" value=at />
                        </div>
                        <div class="field">
                            <label for="f-days">{locale.text(Msg::DaysEachSide)}</label>
                            <input
                                id="f-days"
                                type="number"
                                name="days"
                                min="1"
                                max="366"
                                value=days
                                inputmode="numeric"
                            />
                        </div>
                    </div>
                    {hidden_fields(carried)}
                    <button type="submit">{locale.text(Msg::CompareAction)}</button>
                </div>
            </Form>
        </section>
        <p class="periods" id="compare-periods">{periods}</p>
        <p class="hint">{locale.text(Msg::BeforeAfterHelp)}</p>
        <ChangeTable
            id="compare-conversion"
            title=locale.text(Msg::Conversion)
            rows=vec![conversion]
            locale
        />
        <ChangeTable
            id="compare-funnel"
            title=locale.text(Msg::StepConversionTitle)
            rows=funnel_rows
            locale
        />
        <ChangeTable
            id="compare-pains"
            title=locale.text(Msg::PainShareTitle)
            rows=page.pains
            locale
        />
    }
}

/// Before, after, difference (percentage points), z and significance, one row per change.
#[component]
fn ChangeTable(
    id: &'static str,
    title: &'static str,
    rows: Vec<ProportionChange>,
    locale: Locale,
) -> impl IntoView {
    let pct = move |v: Option<f64>| or_na(v, locale, |v| format::percent(v, locale));
    let share = move |x: u64, n: u64, rate: Option<f64>| {
        format!(
            "{} ({} {} {})",
            pct(rate),
            format::number(x as f64, 0, locale),
            locale.text(Msg::OfLabel),
            format::number(n as f64, 0, locale)
        )
    };
    let body = rows
        .into_iter()
        .map(|c| {
            let difference = or_na(c.difference, locale, |v| format!("{:+.1} pp", v * 100.0));
            let z = or_na(c.z, locale, |v| format::number(v, 2, locale));
            let significant = if c.significant {
                view! { <strong class="badge">{locale.text(Msg::YesWord)}</strong> }.into_any()
            } else {
                view! { <span>{locale.text(Msg::NoWord)}</span> }.into_any()
            };
            view! {
                <tr>
                    <th scope="row">{c.label.clone()}</th>
                    <td class="num" data-label=locale.text(Msg::BeforeLabel)>
                        {share(c.before, c.before_of, c.before_rate)}
                    </td>
                    <td class="num" data-label=locale.text(Msg::AfterLabel)>
                        {share(c.after, c.after_of, c.after_rate)}
                    </td>
                    <td class="num" data-label=locale.text(Msg::DifferenceLabel)>{difference}</td>
                    <td class="num" data-label=locale.text(Msg::ZScoreLabel)>{z}</td>
                    <td data-label=locale.text(Msg::SignificantLabel)>{significant}</td>
                </tr>
            }
        })
        .collect_view();
    let title_id = format!("{id}-title");
    let labelled_by = title_id.clone();
    view! {
        <section class="card" id=id aria-labelledby=labelled_by>
            <h2 id=title_id>{title}</h2>
            <div class="table-scroll">
                <table class="data stack">
                    <thead>
                        <tr>
                            <th scope="col"></th>
                            <th scope="col">{locale.text(Msg::BeforeLabel)}</th>
                            <th scope="col">{locale.text(Msg::AfterLabel)}</th>
                            <th scope="col">{locale.text(Msg::DifferenceLabel)}</th>
                            <th scope="col">{locale.text(Msg::ZScoreLabel)}</th>
                            <th scope="col">{locale.text(Msg::SignificantLabel)}</th>
                        </tr>
                    </thead>
                    <tbody>{body}</tbody>
                </table>
            </div>
        </section>
    }
}
