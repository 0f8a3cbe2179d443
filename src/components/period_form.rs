//! The view controls: period (a preset or two dates), grain, comparison and filters. A plain
//! GET form: submitting it loads the page for the new view, and the URL holds the whole state.
//! The only island is [`PeriodControls`]: typing a date switches the preset to "custom dates",
//! so the dates typed are the ones shown (without JavaScript the user picks it).
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
                <PeriodControls>
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
                </PeriodControls>
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

/// The period, grain and comparison fields (the children, rendered on the server). Once
/// hydrated, a date typed in either field selects the "custom dates" preset: any other preset
/// wins over the dates, and the user meant the dates they typed.
#[island]
pub fn PeriodControls(children: Children) -> impl IntoView {
    let on_input = move |ev: leptos::ev::Event| {
        use leptos::wasm_bindgen::JsCast;
        let typed_date = event_target::<leptos::web_sys::Element>(&ev)
            .get_attribute("type")
            .is_some_and(|t| t == "date");
        let preset = document()
            .get_element_by_id("f-preset")
            .and_then(|e| e.dyn_into::<leptos::web_sys::HtmlSelectElement>().ok());
        if let (true, Some(preset)) = (typed_date, preset) {
            preset.set_value(Preset::Custom.name());
        }
    };
    view! {
        <div class="controls" on:input=on_input>
            {children()}
        </div>
    }
}
