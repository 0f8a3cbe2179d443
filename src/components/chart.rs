//! Charts rendered on the server as SVG, each with a table of the same data as its text
//! alternative (for screen readers and for anyone who wants the exact numbers) and download
//! links for the chart and the table.

use leptos::prelude::*;

use crate::format;
use crate::i18n::{Locale, Msg};
use crate::kpi::DailyPoint;

/// Download links under a chart or table: each a plain link with an accessible name that
/// says what it downloads.
#[component]
pub fn Downloads(
    /// `(href, label)` pairs, e.g. `("/export/...csv", "Download CSV")`.
    links: Vec<(String, &'static str)>,
    /// What is downloaded, for the links' accessible names.
    what: String,
) -> impl IntoView {
    let links = links
        .into_iter()
        .map(|(href, label)| {
            let name = format!("{label}: {what}");
            view! {
                <a class="download" href=href download="" aria-label=name>
                    {label}
                </a>
            }
        })
        .collect_view();
    view! { <p class="downloads">{links}</p> }
}

/// A server-rendered SVG chart with its data table (given as children) and downloads.
#[component]
pub fn Figure(
    title: String,
    svg: String,
    locale: Locale,
    #[prop(optional)] downloads: Vec<(String, &'static str)>,
    #[prop(optional, into)] class: String,
    children: Children,
) -> impl IntoView {
    let has_downloads = !downloads.is_empty();
    let what = title.clone();
    view! {
        <figure class=format!("chart {class}")>
            <figcaption>{title.clone()}</figcaption>
            // On a phone a wide chart scrolls sideways instead of shrinking its text away;
            // tabindex lets a keyboard user scroll it.
            <div class="chart-svg" role="img" tabindex="0" aria-label=title inner_html=svg></div>
            <details>
                <summary>{locale.text(Msg::ChartDataTable)}</summary>
                <div class="table-wrap">{children()}</div>
            </details>
            {has_downloads.then(|| view! { <Downloads links=downloads what /> })}
        </figure>
    }
}

#[component]
pub fn DailyChart(
    title: &'static str,
    svg: String,
    points: Vec<DailyPoint>,
    locale: Locale,
    #[prop(optional)] downloads: Vec<(String, &'static str)>,
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
        <Figure title=title.to_string() svg locale downloads>
            <table>
                <thead>
                    <tr>
                        <th scope="col">{locale.text(Msg::Day)}</th>
                        <th scope="col">{locale.text(Msg::Revenue)}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </Figure>
    }
}
