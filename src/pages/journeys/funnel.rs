//! `/journeys/funnel`: a funnel whose steps the CX officer chooses. A plain GET form (works
//! without JavaScript): each step is an event type (`t1`, `t2`, ...) and optionally a channel
//! (`c1`, ...), so the URL reproduces the funnel; the period form above it narrows the
//! journeys with the same filters as the KPI pages and keeps the steps.

use leptos::prelude::*;
use leptos_meta::{Html, Title};
use leptos_router::components::Form;

use crate::components::head::head;
use crate::components::{header::Header, period_form::PeriodForm};
use crate::i18n::{Locale, Msg};
use crate::journey::server_fns::{FunnelPage as PageData, MAX_FORM_STEPS, fetch_funnel_page};
use crate::pages::admin::page_locale;

use super::{EntryChannels, FunnelFigure};

#[component]
pub fn CustomFunnelPage() -> impl IntoView {
    let locale = page_locale();
    let qs = crate::pages::query_string();
    let data = Resource::new(move || qs.get(), fetch_funnel_page);
    view! {
        <Html {..} lang=head(locale, Locale::code) />
        <Title text=head(locale, move |l| l.text(Msg::CustomFunnel)) />
        <Header locale=locale />
        <main id="main" class="page journeys funnel">
            <h1>{move || locale.get().text(Msg::CustomFunnel)}</h1>
            <Suspense fallback=move || {
                view! { <p class="loading">{locale.get().text(Msg::Loading)}</p> }
            }>
                {move || Suspend::new(async move {
                    let locale = locale.get();
                    match data.await {
                        Ok(page) => view! { <FunnelBody page locale /> }.into_any(),
                        Err(err) => {
                            crate::pages::error_view(
                                err,
                                "/journeys/funnel".into(),
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

/// A select of `choices` named `name`, with `current` selected (kept even when unknown, so
/// the form never drops what the URL states) and a first empty choice labelled `empty`.
pub fn choice_select(
    id: String,
    name: String,
    choices: &[String],
    current: &str,
    empty: &'static str,
) -> impl IntoView + use<> {
    let mut values = choices.to_vec();
    if !current.is_empty() && !values.iter().any(|v| v == current) {
        values.insert(0, current.to_string());
    }
    let options = values
        .into_iter()
        .map(|v| {
            let selected = v == current;
            view! {
                <option value=v.clone() selected=selected>
                    {v.clone()}
                </option>
            }
        })
        .collect_view();
    view! {
        <select id=id name=name>
            <option value="">{empty}</option>
            {options}
        </select>
    }
}

/// The step fields of the custom funnel form (`t1`/`c1` ... `t8`/`c8`).
#[component]
pub fn StepFields(
    steps: Vec<(String, String)>,
    event_types: Vec<String>,
    channels: Vec<String>,
    locale: Locale,
) -> impl IntoView {
    (0..MAX_FORM_STEPS)
        .map(|i| {
            let (t, c) = steps.get(i).cloned().unwrap_or_default();
            let n = i + 1;
            view! {
                <fieldset class="step">
                    <legend>{format!("{} {n}", locale.text(Msg::Step))}</legend>
                    <div class="field">
                        <label for=format!("f-t{n}")>{locale.text(Msg::EventTypeLabel)}</label>
                        {choice_select(
                            format!("f-t{n}"),
                            format!("t{n}"),
                            &event_types,
                            &t,
                            locale.text(Msg::NoStepChosen),
                        )}
                    </div>
                    <div class="field">
                        <label for=format!("f-c{n}")>{locale.text(Msg::DimChannel)}</label>
                        {choice_select(
                            format!("f-c{n}"),
                            format!("c{n}"),
                            &channels,
                            &c,
                            locale.text(Msg::AnyChannel),
                        )}
                    </div>
                </fieldset>
            }
        })
        .collect_view()
}

/// Hidden fields carrying `pairs` through a form.
pub fn hidden_fields(pairs: Vec<(String, String)>) -> impl IntoView {
    pairs
        .into_iter()
        .map(|(k, v)| view! { <input type="hidden" name=k value=v /> })
        .collect_view()
}

#[component]
fn FunnelBody(page: PageData, locale: Locale) -> impl IntoView {
    let state = page.view.state.clone();
    let step_pairs = crate::journey::server_fns::step_pairs(&page.steps);
    // The step form carries the period and filters; the period form carries the steps.
    let carried: Vec<(String, String)> = crate::view::ViewState {
        preset: crate::view::Preset::Custom,
        ..state.clone()
    }
    .pairs()
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let compare_href = format!(
        "/journeys/compare{}",
        crate::url::query(
            carried
                .iter()
                .chain(step_pairs.iter())
                .map(|(k, v)| (k.as_str(), v.as_str()))
        )
    );
    let back = format!(
        "/journeys{}",
        crate::url::query(carried.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    );
    let title = locale.text(Msg::CustomFunnel);
    view! {
        <PeriodForm
            action="/journeys/funnel".to_string()
            state
            options=page.view.options
            locale
            hidden=step_pairs.clone()
        />
        <nav class="subnav">
            <a href=back>{locale.text(Msg::JourneysTitle)}</a>
            " · "
            <a href=compare_href>{locale.text(Msg::BeforeAfterLink)}</a>
        </nav>
        <section class="card" aria-labelledby="steps-title">
            <h2 id="steps-title">{locale.text(Msg::Step)}</h2>
            <p class="hint">{locale.text(Msg::CustomFunnelHelp)}</p>
            <Form method="GET" action="/journeys/funnel">
                <div class="funnel-form">
                    <StepFields
                        steps=page.steps.clone()
                        event_types=page.event_types
                        channels=page.channels
                        locale
                    />
                    {hidden_fields(carried)}
                    <button type="submit">{locale.text(Msg::Apply)}</button>
                </div>
            </Form>
        </section>
        <FunnelFigure title svg=page.chart funnel=page.report.overall.clone() locale />
        <EntryChannels report=page.report locale />
    }
}
