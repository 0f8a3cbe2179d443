//! Charts rendered on the server as SVG, each with a table of the same data as its text
//! alternative (for screen readers and for anyone who wants the exact numbers) and download
//! links for the chart and the table.

use leptos::prelude::*;

use crate::dashboard::Breakdown;
use crate::format;
use crate::i18n::{Locale, Msg};
use crate::kpi::{DailyPoint, Unit};

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
            // The drawing is the island's children: server HTML, sent once, never as a prop.
            <PointedSvg title>
                <div class="chart-drawing" inner_html=svg></div>
            </PointedSvg>
            <details>
                <summary>{locale.text(Msg::ChartDataTable)}</summary>
                <div class="table-wrap">{children()}</div>
            </details>
            {has_downloads.then(|| view! { <Downloads links=downloads what /> })}
        </figure>
    }
}

/// The chart's SVG (the children) and, once the island hydrates, a tooltip with the value of
/// the point under the pointer or chosen with the arrow keys while the chart has the focus.
/// The points are the `circle.pt` targets the server drew (`server::charts`), each with
/// `data-label` and `data-value`, so the island reads them from the page and its only prop is
/// the chart's name; without JavaScript their `<title>` is the browser's own tooltip.
#[island]
pub fn PointedSvg(title: String, children: Children) -> impl IntoView {
    // (text, left, top) in pixels inside the chart's box.
    let tip = RwSignal::new(None::<(String, f64, f64)>);
    let current = RwSignal::new(None::<usize>);
    let host = NodeRef::<leptos::html::Div>::new();
    let show = move |point: &leptos::web_sys::Element| {
        let Some(host) = host.get_untracked() else {
            return;
        };
        let attr = |name: &str| point.get_attribute(name).unwrap_or_default();
        let number = |name: &str| attr(name).parse::<f64>().unwrap_or(0.0);
        // The SVG is drawn 800 units wide and scaled to the box (or scrolled within it).
        let drawn = host
            .query_selector("svg")
            .ok()
            .flatten()
            .and_then(|svg| svg.get_attribute("width"))
            .and_then(|w| w.parse::<f64>().ok())
            .unwrap_or(800.0);
        let scale = f64::from(host.scroll_width()) / drawn;
        let left = number("cx") * scale - f64::from(host.scroll_left());
        let top = number("cy") * scale;
        if let Ok(Some(old)) = host.query_selector("circle.pt.active") {
            let _ = old.set_attribute("class", "pt");
        }
        let _ = point.set_attribute("class", "pt active");
        current.set(attr("data-i").parse().ok());
        tip.set(Some((
            format!("{}: {}", attr("data-label"), attr("data-value")),
            left,
            top,
        )));
    };
    let point_at = move |index: usize| {
        host.get_untracked().and_then(|host| {
            host.query_selector(&format!("circle.pt[data-i=\"{index}\"]"))
                .ok()
                .flatten()
        })
    };
    let count = move || {
        host.get_untracked()
            .and_then(|host| host.query_selector("g.points").ok().flatten())
            .and_then(|g| g.get_attribute("data-count"))
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0)
    };
    let hide = move || {
        if let Some(Ok(Some(old))) = host
            .get_untracked()
            .map(|host| host.query_selector("circle.pt.active"))
        {
            let _ = old.set_attribute("class", "pt");
        }
        current.set(None);
        tip.set(None);
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let last = count().saturating_sub(1);
        let at = current.get_untracked().unwrap_or(last);
        let next = match ev.key().as_str() {
            "ArrowLeft" => at.saturating_sub(1),
            "ArrowRight" => (at + 1).min(last),
            "Home" => 0,
            "End" => last,
            "Escape" => {
                hide();
                return;
            }
            _ => return,
        };
        ev.prevent_default();
        if let Some(point) = point_at(next) {
            show(&point);
        }
    };
    view! {
        <div class="chart-box">
            // On a phone a wide chart scrolls sideways instead of shrinking its text away;
            // tabindex lets a keyboard user scroll it, and move between points with the arrows.
            <div
                class="chart-svg"
                role="img"
                tabindex="0"
                aria-label=title
                node_ref=host
                on:mouseover=move |ev| {
                    let point = event_target::<leptos::web_sys::Element>(&ev)
                        .closest("circle.pt")
                        .ok()
                        .flatten();
                    if let Some(point) = point {
                        show(&point);
                    }
                }
                on:mouseleave=move |_| hide()
                on:focus=move |_| {
                    if count() > 0 {
                        let at = current.get_untracked().unwrap_or(count() - 1);
                        if let Some(point) = point_at(at) {
                            show(&point);
                        }
                    }
                }
                on:blur=move |_| hide()
                on:keydown=on_key
            >
                {children()}
            </div>
            <div
                class="chart-tip"
                role="status"
                hidden=move || tip.with(Option::is_none)
                style:left=move || tip.with(|t| t.as_ref().map(|t| format!("{:.0}px", t.1)))
                style:top=move || tip.with(|t| t.as_ref().map(|t| format!("{:.0}px", t.2)))
            >
                {move || tip.with(|t| t.as_ref().map(|t| t.0.clone()))}
            </div>
        </div>
    }
}

#[component]
pub fn DailyChart(
    title: &'static str,
    svg: String,
    points: Vec<DailyPoint>,
    locale: Locale,
    #[prop(optional)] downloads: Vec<(String, &'static str)>,
    /// The values' unit (money unless said).
    #[prop(optional)]
    unit: Option<Unit>,
    /// The value column's heading ("Revenue" unless said).
    #[prop(optional)]
    column: Option<Msg>,
) -> impl IntoView {
    let unit = unit.unwrap_or(Unit::Money);
    let column = column.unwrap_or(Msg::Revenue);
    let rows = points
        .into_iter()
        .map(|p| {
            view! {
                <tr>
                    <td>{format::date(p.day, locale)}</td>
                    <td class="num">{format::kpi_value(Some(p.value), unit, locale)}</td>
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
                        <th scope="col">{locale.text(column)}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </Figure>
    }
}

/// A KPI split by a dimension: its bar chart, the table of the same rows, downloads, and a
/// link to the KPI's detail split the same way.
#[component]
pub fn BreakdownFigure(
    breakdown: Breakdown,
    title: String,
    locale: Locale,
    downloads: Vec<(String, &'static str)>,
    /// The KPI detail page split by the same dimension.
    detail: String,
) -> impl IntoView {
    let b = breakdown;
    let other = locale.text(Msg::Other);
    let unit = b.unit;
    let rows = b
        .rows
        .iter()
        .map(|r| {
            view! {
                <tr>
                    <td>{r.label.clone().unwrap_or_else(|| other.to_string())}</td>
                    <td class="num">{format::kpi_value(r.value, unit, locale)}</td>
                </tr>
            }
        })
        .collect_view();
    let dimension = crate::view::dimension_name(&b.dimension, locale);
    let name = b.kpi_name.clone();
    view! {
        <Figure title svg=b.svg locale downloads class="breakdown">
            <table>
                <thead>
                    <tr>
                        <th scope="col">{dimension}</th>
                        <th scope="col">{b.kpi_name.clone()}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </Figure>
        <p class="more">
            <a href=detail>{name} " →"</a>
        </p>
    }
}
