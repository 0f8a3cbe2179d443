//! The view controls: period (a preset or two dates), grain, comparison and filters. A plain
//! GET form, so it works without JavaScript; once hydrated, the router submits it as a
//! client-side navigation. Either way the URL holds the whole state.
//!
//! Labels name their control by `for`, not by wrapping it: a wrapped select would take its
//! options' text into its accessible name.
//!
//! A preset other than "custom dates" wins over the dates; the page then shows the dates the
//! preset stands for today.

use leptos::prelude::*;
use leptos_router::components::Form;

use crate::i18n::{Locale, Msg};
use crate::kpi::Grain;
use crate::view::{Comparison, FORM_FILTERS, Preset, ViewState, dimension_name, grain_label};

#[component]
pub fn PeriodForm(
    /// The page the form submits to (its own path).
    action: String,
    state: ViewState,
    /// `(dimension, values)` for the filter select lists; may be empty (an error page).
    options: Vec<(String, Vec<String>)>,
    locale: Locale,
    /// Whether to offer the grain (pages without a series leave it out).
    #[prop(optional)]
    with_grain: bool,
    /// Extra `(name, value)` pairs the form carries (a page's own parameters, e.g. `kpi`).
    #[prop(optional)]
    hidden: Vec<(String, String)>,
) -> impl IntoView {
    let from = state.from.clone().unwrap_or_default();
    let to = state.to.clone().unwrap_or_default();
    let presets = Preset::ALL
        .into_iter()
        .map(|p| {
            view! {
                <option value=p.name() selected=state.preset == p>
                    {p.label(locale)}
                </option>
            }
        })
        .collect_view();
    let grains = Grain::ALL
        .into_iter()
        .map(|g| {
            view! {
                <option value=g.name() selected=state.grain == Some(g)>
                    {grain_label(g, locale)}
                </option>
            }
        })
        .collect_view();
    let comparisons = Comparison::ALL
        .into_iter()
        .map(|c| {
            view! {
                <option value=c.name() selected=state.compare == c>
                    {c.label(locale)}
                </option>
            }
        })
        .collect_view();
    let filters = FORM_FILTERS
        .into_iter()
        .map(|dimension| {
            let current = state.filter(dimension).map(str::to_string);
            let mut values = options
                .iter()
                .find(|(d, _)| d == dimension)
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            // Keep a value the data no longer has (or a multi-value link) selectable, so the
            // form never silently drops a filter the URL states.
            if let Some(current) = &current
                && !values.contains(current)
            {
                values.insert(0, current.clone());
            }
            let choices = values
                .into_iter()
                .map(|v| {
                    let selected = current.as_deref() == Some(v.as_str());
                    view! {
                        <option value=v.clone() selected=selected>
                            {v.clone()}
                        </option>
                    }
                })
                .collect_view();
            let disabled =
                options.iter().any(|(d, v)| d == dimension && v.is_empty()) && current.is_none();
            let id = format!("f-{dimension}");
            view! {
                <div class="field">
                    <label for=id.clone()>{dimension_name(dimension, locale)}</label>
                    <select id=id name=dimension disabled=disabled>
                        <option value="">{locale.text(Msg::FilterAll)}</option>
                        {choices}
                    </select>
                </div>
            }
        })
        .collect_view();
    let by = state.by.clone();
    // Without a grain control the grain still travels with the view.
    let hidden_grain = state.grain.filter(|_| !with_grain).map(Grain::name);
    view! {
        <Form method="GET" action=action>
            <div class="period-form">
                <div class="controls">
                    <div class="field">
                        <label for="f-preset">{locale.text(Msg::Preset)}</label>
                        <select id="f-preset" name="preset">{presets}</select>
                    </div>
                    <div class="field">
                        <label for="f-from">{locale.text(Msg::PeriodFrom)}</label>
                        <input id="f-from" type="date" name="from" value=from />
                    </div>
                    <div class="field">
                        <label for="f-to">{locale.text(Msg::PeriodTo)}</label>
                        <input id="f-to" type="date" name="to" value=to />
                    </div>
                    {with_grain
                        .then(|| {
                            view! {
                                <div class="field">
                                    <label for="f-grain">{locale.text(Msg::GrainLabel)}</label>
                                    <select id="f-grain" name="grain">{grains}</select>
                                </div>
                            }
                        })}
                    <div class="field">
                        <label for="f-compare">{locale.text(Msg::CompareWith)}</label>
                        <select id="f-compare" name="compare">{comparisons}</select>
                    </div>
                </div>
                <fieldset class="filters">
                    <legend>{locale.text(Msg::Filters)}</legend>
                    {filters}
                </fieldset>
                <input type="hidden" name="lang" value=locale.code() />
                {by.map(|by| view! { <input type="hidden" name="by" value=by /> })}
                {hidden_grain.map(|g| view! { <input type="hidden" name="grain" value=g /> })}
                {hidden
                    .into_iter()
                    .map(|(name, value)| view! { <input type="hidden" name=name value=value /> })
                    .collect_view()}
                <button type="submit">{locale.text(Msg::Apply)}</button>
            </div>
        </Form>
    }
}
