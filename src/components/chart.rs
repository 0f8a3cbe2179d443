//! A chart rendered on the server as SVG, with a table of the same data as its text
//! alternative for screen readers and for anyone who wants the exact numbers.

use leptos::prelude::*;

use crate::format;
use crate::i18n::{Locale, Msg};
use crate::kpi::DailyPoint;

#[component]
pub fn DailyChart(
    title: &'static str,
    svg: String,
    points: Vec<DailyPoint>,
    locale: Locale,
) -> impl IntoView {
    let rows = points
        .into_iter()
        .map(|p| {
            view! {
                <tr>
                    <td>{format::date(p.day, locale)}</td>
                    <td class="num">{format::money(p.value, locale)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <figure class="chart">
            <figcaption>{title}</figcaption>
            <div class="chart-svg" role="img" aria-label=title inner_html=svg></div>
            <details>
                <summary>{locale.text(Msg::ChartDataTable)}</summary>
                <table>
                    <thead>
                        <tr>
                            <th scope="col">{locale.text(Msg::Day)}</th>
                            <th scope="col">{locale.text(Msg::Revenue)}</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </details>
        </figure>
    }
}
