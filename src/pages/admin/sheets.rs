//! The sheets an administrator pastes whole: a target plan (departments page) and the market
//! benchmarks (KPIs page). The server checks every line; a sheet with a refused line changes
//! nothing, and the page's notice lists each refused line with its line, column and reason.

use leptos::prelude::*;

use crate::components::forms::CsrfField;
use crate::i18n::{Locale, Msg};

/// One sheet's card: what it holds, an example header and the text area.
#[component]
fn SheetForm(
    locale: Locale,
    csrf: String,
    action: &'static str,
    field: &'static str,
    title: Msg,
    help: Msg,
    label: Msg,
    example: &'static str,
) -> impl IntoView {
    let id = format!("sheet-{field}");
    view! {
        <section class="card">
            <h2>{locale.text(title)}</h2>
            <p class="muted">{locale.text(help)}</p>
            <form class="stacked wide" method="post" action=action>
                <CsrfField token=csrf />
                <label for=id.clone()>{locale.text(label)}</label>
                <textarea
                    id=id
                    name=field
                    rows="10"
                    required=true
                    spellcheck="false"
                    placeholder=example
                ></textarea>
                <button type="submit">{locale.text(Msg::Import)}</button>
            </form>
        </section>
    }
}

/// Import a target plan (`omnikpi target import` on the command line).
#[component]
pub fn TargetPlanForm(locale: Locale, csrf: String) -> impl IntoView {
    view! {
        <SheetForm
            locale
            csrf
            action="/admin/targets/import"
            field="plan"
            title=Msg::ImportTargetPlan
            help=Msg::TargetPlanHelp
            label=Msg::TargetPlanCsv
            example="kpi,department,period,value\nnet_revenue,sales,2026,4200000\nnps,customer_service,2026-Q3,45"
        />
    }
}

/// Replace the market benchmarks (`omnikpi benchmark import` on the command line).
#[component]
pub fn BenchmarkSheetForm(locale: Locale, csrf: String) -> impl IntoView {
    view! {
        <SheetForm
            locale
            csrf
            action="/admin/benchmarks/import"
            field="benchmarks"
            title=Msg::ImportBenchmarks
            help=Msg::BenchmarksHelp
            label=Msg::BenchmarksCsv
            example="kpi,value,source,url,published,scope,note\ncart_abandonment_rate,0.6982,Baymard Institute,https://baymard.com/lists/cart-abandonment-rate,2021-11-19,\"46 studies, all e-commerce\","
        />
    }
}
