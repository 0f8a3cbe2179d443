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
    /// The data table's column with the main line's values (the second unless said).
    #[prop(optional)]
    value_column: Option<usize>,
    children: Children,
) -> impl IntoView {
    let has_downloads = !downloads.is_empty();
    let value_column = value_column.unwrap_or(1);
    let what = title.clone();
    view! {
        <figure class=format!("chart {class}")>
            <figcaption>{title.clone()}</figcaption>
            // The drawing is the island's children: server HTML, sent once, never as a prop.
            <PointedSvg title value_column>
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
///
/// Each point is sent once. The server writes the main line's positions into the SVG
/// (`x,y` per row of the series, `-` for a gap: `server::charts`) with one hidden marker; the
/// label and value of point `i` are row `i` of the figure's data table (its first
/// cell and cell `value_column`). So the island's props are the chart's name and that column.
/// Without JavaScript the data table is the way to read the values.
#[island]
pub fn PointedSvg(title: String, value_column: usize, children: Children) -> impl IntoView {
    // (text, left, top) in pixels inside the chart's box.
    let tip = RwSignal::new(None::<(String, f64, f64)>);
    let current = RwSignal::new(None::<usize>);
    let host = NodeRef::<leptos::html::Div>::new();
    // The drawn width (the SVG is scaled to the box, or scrolled within it) and the points.
    let layout = move || {
        let host = host.get_untracked()?;
        let drawn = host
            .query_selector("svg")
            .ok()
            .flatten()
            .and_then(|svg| svg.get_attribute("width"))
            .and_then(|w| w.parse::<f64>().ok())
            .unwrap_or(800.0);
        // A line chart's `g.points` lists them in `data-xy`; a daily line's polyline is the list.
        let points = host
            .query_selector(".points")
            .ok()
            .flatten()
            .and_then(|list| {
                list.get_attribute("data-xy")
                    .or(list.get_attribute("points"))
            })
            .map(|xy| parse_points(&xy))
            .unwrap_or_default();
        let scale = f64::from(host.scroll_width()) / drawn;
        Some((host, scale, points))
    };
    let show = move |index: usize| {
        let Some((host, scale, points)) = layout() else {
            return;
        };
        let Some(Some((x, y))) = points.get(index).copied() else {
            return;
        };
        let cell = |column: usize| {
            host.closest("figure")
                .ok()
                .flatten()
                .and_then(|figure| {
                    figure
                        .query_selector(&format!(
                            "tbody tr:nth-child({}) > :nth-child({})",
                            index + 1,
                            column + 1
                        ))
                        .ok()
                        .flatten()
                })
                .and_then(|cell| cell.text_content())
                .unwrap_or_default()
        };
        if let Ok(Some(marker)) = host.query_selector("circle.pt") {
            let _ = marker.set_attribute("cx", &x.to_string());
            let _ = marker.set_attribute("cy", &y.to_string());
            let _ = marker.set_attribute("class", "pt active");
        }
        current.set(Some(index));
        tip.set(Some((
            format!("{}: {}", cell(0).trim(), cell(value_column).trim()),
            x * scale - f64::from(host.scroll_left()),
            y * scale,
        )));
    };
    let hide = move || {
        if let Some(Ok(Some(marker))) = host
            .get_untracked()
            .map(|host| host.query_selector("circle.pt"))
        {
            let _ = marker.set_attribute("class", "pt");
        }
        current.set(None);
        tip.set(None);
    };
    // The point nearest the pointer along the x axis.
    let on_move = move |ev: leptos::ev::MouseEvent| {
        let Some((host, scale, points)) = layout() else {
            return;
        };
        if scale <= 0.0 {
            return;
        }
        let left = host.get_bounding_client_rect().left();
        let x = (f64::from(ev.client_x()) - left + f64::from(host.scroll_left())) / scale;
        let nearest = points
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.map(|(px, _)| (i, (px - x).abs())))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, _)| i);
        if let Some(i) = nearest
            && current.get_untracked() != Some(i)
        {
            show(i);
        }
    };
    // The present points before or after `at`, for the keyboard.
    let step = move |at: usize, forward: bool| {
        let (_, _, points) = layout()?;
        if forward {
            (at + 1..points.len()).find(|&i| points[i].is_some())
        } else {
            (0..at).rev().find(|&i| points[i].is_some())
        }
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let Some((_, _, points)) = layout() else {
            return;
        };
        let first = points.iter().position(Option::is_some);
        let last = points.iter().rposition(Option::is_some);
        let at = current.get_untracked().or(last);
        let next = match ev.key().as_str() {
            "ArrowLeft" => at.and_then(|at| step(at, false)).or(at),
            "ArrowRight" => at.and_then(|at| step(at, true)).or(at),
            "Home" => first,
            "End" => last,
            "Escape" => {
                hide();
                return;
            }
            _ => return,
        };
        ev.prevent_default();
        if let Some(next) = next {
            show(next);
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
                on:mousemove=on_move
                on:mouseleave=move |_| hide()
                on:focus=move |_| {
                    let last = layout()
                        .and_then(|(_, _, points)| points.iter().rposition(Option::is_some));
                    if let Some(at) = current.get_untracked().or(last) {
                        show(at);
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

/// The main line's positions as the server writes them: `x,y` per row, `-` for a gap.
fn parse_points(xy: &str) -> Vec<Option<(f64, f64)>> {
    xy.split(' ')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (x, y) = p.split_once(',')?;
            Some((x.parse().ok()?, y.parse().ok()?))
        })
        .collect()
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
    // One string of rows rather than a view per cell: a year is 365 rows, and as plain HTML
    // they carry none of the per-text markers a view adds (the page is not hydrated).
    let rows = points
        .into_iter()
        .map(|p| {
            format!(
                "<tr><td>{}</td><td>{}</td></tr>",
                escape_text(&format::date(p.day, locale)),
                escape_text(&format::kpi_value(Some(p.value), unit, locale)),
            )
        })
        .collect::<String>();
    view! {
        <Figure title=title.to_string() svg locale downloads>
            // The second column is numbers (`table.daily` in the style sheet, not a class per cell).
            <table class="daily">
                <thead>
                    <tr>
                        <th scope="col">{locale.text(Msg::Day)}</th>
                        <th scope="col">{locale.text(column)}</th>
                    </tr>
                </thead>
                <tbody inner_html=rows></tbody>
            </table>
        </Figure>
    }
}

/// Escapes text for an HTML element's content.
fn escape_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
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
