//! Charts rendered on the server with plotters into SVG strings.
//!
//! Colours come from the Okabe–Ito palette, which stays distinguishable with the common forms
//! of colour blindness. The SVG scales to its container (CSS sets its width), so a chart is
//! readable at phone width.

use plotters::prelude::*;

use crate::format;
use crate::i18n::Locale;
use crate::kpi::{DailyPoint, Unit};

/// Why a chart could not be drawn. Either is a server fault (a font, a backend), never the
/// visitor's: callers log it and answer with a plain internal error.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("drawing the chart failed: {0}")]
    Draw(String),
    #[error("rasterising the chart to PNG failed: {0}")]
    Png(String),
}

impl ChartError {
    /// plotters' errors are generic over the backend; only their text is kept.
    pub fn draw(e: impl std::fmt::Display) -> Self {
        Self::Draw(e.to_string())
    }
}

/// Okabe–Ito blue: the KPI itself.
const SERIES: RGBColor = RGBColor(0, 114, 178);
/// Okabe–Ito orange, dashed: the comparison period.
const COMPARISON: RGBColor = RGBColor(230, 159, 0);
/// Okabe–Ito reddish purple, dotted: the target.
const TARGET: RGBColor = RGBColor(204, 121, 167);
/// Okabe–Ito bluish green: "other" in breakdowns, so it never reads as one of the parts.
const OTHER: RGBColor = RGBColor(0, 158, 115);
const GRID: RGBColor = RGBColor(220, 220, 220);
const TEXT: RGBColor = RGBColor(60, 60, 60);
/// Annotation markers: a dark grey that differs from the lines by its dots and its label.
const MARKER: RGBColor = RGBColor(90, 90, 90);

const WIDTH: u32 = 800;
const HEIGHT: u32 = 320;

/// A line chart of one value per day in `unit`; an empty series draws empty axes.
pub fn daily_line(
    points: &[DailyPoint],
    unit: Unit,
    title: &str,
    locale: Locale,
) -> Result<String, ChartError> {
    let mut svg = String::new();
    let hits: Hits;
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(ChartError::draw)?;
        let max = points.iter().map(|p| p.value).fold(0.0_f64, f64::max);
        let top = if max > 0.0 { max * 1.1 } else { 1.0 };
        let last = points.len().saturating_sub(1).max(1);
        let label_font = ("sans-serif", 13).into_font().color(&TEXT);
        // The title is the figure's caption in the page; inside the SVG it is for screen
        // readers and for the file when the chart is downloaded.
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(84)
            .build_cartesian_2d(0..last, 0.0..top)
            .map_err(ChartError::draw)?;
        let day_label = |i: &usize| {
            points
                .get(*i)
                .map(|p| format::date(p.day, locale))
                .unwrap_or_default()
        };
        let value_label = |v: &f64| format::kpi_value(Some(*v), unit, locale);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .axis_style(TEXT)
            .x_labels(5)
            .y_labels(5)
            .x_label_formatter(&day_label)
            .y_label_formatter(&value_label)
            .label_style(label_font)
            .draw()
            .map_err(ChartError::draw)?;
        // The line itself is drawn by `with_line`, from the same positions.
        hits = points
            .iter()
            .enumerate()
            .map(|(i, p)| Some(chart.backend_coord(&(i, p.value))))
            .collect();
        root.present().map_err(ChartError::draw)?;
    }
    Ok(with_line(with_title(svg, title), &hits))
}

/// How a line of [`line_chart`] is drawn. Lines differ by dash pattern as well as colour, so
/// they stay apart in greyscale and for every kind of colour blindness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    /// Solid blue.
    Main,
    /// Dashed orange.
    Comparison,
    /// Dotted purple.
    Target,
}

/// One line of a [`line_chart`]: a value (or a gap) per label.
pub struct Line<'a> {
    pub name: &'a str,
    pub values: &'a [Option<f64>],
    pub kind: LineKind,
}

/// The texts of a chart, in the UI language.
pub struct Texts<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
}

/// Runs of consecutive present values, as `(index, value)` points; a missing value breaks a
/// line instead of drawing it through zero.
fn runs(values: &[Option<f64>]) -> Vec<Vec<(usize, f64)>> {
    let mut out: Vec<Vec<(usize, f64)>> = Vec::new();
    let mut current = Vec::new();
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) if v.is_finite() => current.push((i, *v)),
            _ if !current.is_empty() => out.push(std::mem::take(&mut current)),
            _ => {}
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The y range that holds every value and zero, with some headroom.
fn y_range<'a>(values: impl Iterator<Item = &'a Option<f64>>) -> (f64, f64) {
    let (mut lo, mut hi) = (0.0_f64, 0.0_f64);
    for v in values.flatten().filter(|v| v.is_finite()) {
        lo = lo.min(*v);
        hi = hi.max(*v);
    }
    let span = hi - lo;
    if span <= 0.0 {
        return (lo, lo + 1.0);
    }
    (
        if lo < 0.0 { lo - span * 0.08 } else { lo },
        hi + span * 0.1,
    )
}

/// A line chart of a KPI per bucket with optional comparison and target lines, a legend and
/// axis descriptions.
pub fn line_chart(
    labels: &[String],
    lines: &[Line<'_>],
    unit: Unit,
    texts: &Texts<'_>,
    locale: Locale,
) -> Result<String, ChartError> {
    line_chart_marked(labels, lines, &[], unit, texts, locale)
}

/// A [`line_chart`] with vertical markers: `(label index, short text)` for each annotation,
/// a dotted line across the plot at that label with the text (its number in the page's list)
/// at the top.
pub fn line_chart_marked(
    labels: &[String],
    lines: &[Line<'_>],
    markers: &[(usize, String)],
    unit: Unit,
    texts: &Texts<'_>,
    locale: Locale,
) -> Result<String, ChartError> {
    let mut svg = String::new();
    let mut hits: Hits = Vec::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT + 40)).into_drawing_area();
        root.fill(&WHITE).map_err(ChartError::draw)?;
        // The legend gets its own band above the plot, so it never hides a line.
        let (band, plot) = root.split_vertically(36);
        draw_legend(&band, lines)?;
        let (lo, hi) = y_range(lines.iter().flat_map(|l| l.values.iter()));
        let last = labels.len().saturating_sub(1).max(1);
        let label_font = ("sans-serif", 15).into_font().color(&TEXT);
        let mut chart = ChartBuilder::on(&plot)
            .margin(12)
            .margin_right(44)
            .x_label_area_size(48)
            .y_label_area_size(116)
            .build_cartesian_2d(0..last, lo..hi)
            .map_err(ChartError::draw)?;
        let x_label = |i: &usize| labels.get(*i).cloned().unwrap_or_default();
        let y_label = |v: &f64| format::kpi_value(Some(*v), unit, locale);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .axis_style(TEXT)
            .x_labels(labels.len().clamp(1, 6))
            .y_labels(5)
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .x_desc(texts.x_label)
            .y_desc(texts.y_label)
            .axis_desc_style(("sans-serif", 15).into_font().color(&TEXT))
            .label_style(label_font.clone())
            .draw()
            .map_err(ChartError::draw)?;
        for (at, text) in markers {
            let x = (*at).min(last);
            chart
                .draw_series(DashedLineSeries::new(
                    [(x, lo), (x, hi)],
                    3,
                    3,
                    MARKER.stroke_width(2),
                ))
                .map_err(ChartError::draw)?;
            chart
                .draw_series(std::iter::once(Text::new(
                    format!(" {text}"),
                    (x, hi),
                    ("sans-serif", 14).into_font().color(&MARKER),
                )))
                .map_err(ChartError::draw)?;
        }
        for line in lines {
            let (colour, width) = match line.kind {
                LineKind::Main => (SERIES, 3),
                LineKind::Comparison => (COMPARISON, 2),
                LineKind::Target => (TARGET, 2),
            };
            let style = colour.stroke_width(width);
            for run in runs(line.values) {
                if run.len() == 1 {
                    // A lone point between gaps has no line to show it.
                    chart
                        .draw_series(run.iter().map(|p| Circle::new(*p, 3, style.filled())))
                        .map_err(ChartError::draw)?;
                } else {
                    match line.kind {
                        LineKind::Main => chart
                            .draw_series(LineSeries::new(run.iter().copied(), style))
                            .map_err(ChartError::draw)?,
                        LineKind::Comparison => chart
                            .draw_series(DashedLineSeries::new(run.iter().copied(), 8, 5, style))
                            .map_err(ChartError::draw)?,
                        LineKind::Target => chart
                            .draw_series(DashedLineSeries::new(run.iter().copied(), 2, 4, style))
                            .map_err(ChartError::draw)?,
                    };
                }
            }
            if line.kind == LineKind::Main {
                hits = line
                    .values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        v.filter(|v| v.is_finite())
                            .map(|v| chart.backend_coord(&(i, v)))
                    })
                    .collect();
            }
        }
        root.present().map_err(ChartError::draw)?;
    }
    Ok(with_hits(with_title(svg, texts.title), &hits))
}

/// A row of legend entries: a sample of each line's colour and dash pattern, and its name.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    lines: &[Line<'_>],
) -> Result<(), ChartError> {
    let font = ("sans-serif", 15).into_font().color(&TEXT);
    let mut x = 16;
    let y = 20;
    for line in lines {
        let (colour, width, pattern): (RGBColor, u32, &[(i32, i32)]) = match line.kind {
            LineKind::Main => (SERIES, 3, &[(0, 26)]),
            LineKind::Comparison => (COMPARISON, 2, &[(0, 8), (13, 21)]),
            LineKind::Target => (TARGET, 2, &[(0, 2), (6, 8), (12, 14), (18, 20), (24, 26)]),
        };
        for (a, b) in pattern {
            area.draw(&PathElement::new(
                vec![(x + a, y), (x + b, y)],
                colour.stroke_width(width),
            ))
            .map_err(ChartError::draw)?;
        }
        area.draw(&Text::new(
            line.name.to_string(),
            (x + 34, y - 8),
            font.clone(),
        ))
        .map_err(ChartError::draw)?;
        // Width of the name: about half an em a character at this size.
        x += 34 + (line.name.chars().count() as i32 * 8) + 24;
    }
    Ok(())
}

/// Horizontal bars, one per row (label, value), with the value written at the bar's end; fit
/// for long store or campaign names at phone width. The row labelled `other_label` is drawn in
/// a different colour.
pub fn bar_chart(
    rows: &[(String, Option<f64>)],
    other_label: &str,
    unit: Unit,
    title: &str,
    locale: Locale,
) -> Result<String, ChartError> {
    // Narrower than the line charts: on a phone the SVG shrinks less, so its text stays
    // readable; on a wide screen the page shows it at this size (CSS max-width).
    const BAR_WIDTH: u32 = 420;
    const ROW: i32 = 34;
    const TOP: i32 = 10;
    const LABEL_W: i32 = 150;
    const VALUE_W: i32 = 112;
    let height = (TOP * 2 + ROW * rows.len().max(1) as i32) as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (BAR_WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(ChartError::draw)?;
        let (lo, hi) = y_range(rows.iter().map(|(_, v)| v));
        let hi = if lo < 0.0 { hi } else { hi / 1.1 };
        let span = (hi - lo).max(f64::EPSILON);
        let bar_w = (BAR_WIDTH as i32 - LABEL_W - VALUE_W - 8) as f64;
        let x_of = |v: f64| LABEL_W + ((v - lo) / span * bar_w).round() as i32;
        let font = ("sans-serif", 18).into_font().color(&TEXT);
        for (i, (label, value)) in rows.iter().enumerate() {
            let y = TOP + i as i32 * ROW;
            let short: String = if label.chars().count() > 14 {
                label.chars().take(13).chain(['…']).collect()
            } else {
                label.clone()
            };
            root.draw(&Text::new(short, (8, y + 7), font.clone()))
                .map_err(ChartError::draw)?;
            let colour = if label == other_label { OTHER } else { SERIES };
            let text = format::kpi_value(*value, unit, locale);
            let end = match value {
                Some(v) if v.is_finite() => {
                    let (a, b) = (x_of(0.0_f64.max(lo)), x_of(*v));
                    let (left, right) = (a.min(b), a.max(b).max(a.min(b) + 1));
                    root.draw(&Rectangle::new(
                        [(left, y + 5), (right, y + ROW - 5)],
                        colour.filled(),
                    ))
                    .map_err(ChartError::draw)?;
                    right
                }
                _ => x_of(0.0_f64.max(lo)),
            };
            root.draw(&Text::new(text, (end + 6, y + 7), font.clone()))
                .map_err(ChartError::draw)?;
        }
        root.present().map_err(ChartError::draw)?;
    }
    Ok(with_title(svg, title))
}

/// A small line without axes for a tile; the tile states the value in text, so the page
/// marks it decorative.
pub fn sparkline(values: &[Option<f64>]) -> Result<String, ChartError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (160, 40)).into_drawing_area();
        let (lo, hi) = y_range(values.iter());
        let hi = if lo < 0.0 { hi } else { hi / 1.1 };
        let last = values.len().saturating_sub(1).max(1);
        let mut chart = ChartBuilder::on(&root)
            .margin(3)
            .build_cartesian_2d(0..last, lo..hi.max(lo + f64::EPSILON))
            .map_err(ChartError::draw)?;
        for run in runs(values) {
            if run.len() == 1 {
                chart
                    .draw_series(run.iter().map(|p| Circle::new(*p, 2, SERIES.filled())))
                    .map_err(ChartError::draw)?;
            } else {
                chart
                    .draw_series(LineSeries::new(run, SERIES.stroke_width(2)))
                    .map_err(ChartError::draw)?;
            }
        }
        root.present().map_err(ChartError::draw)?;
    }
    Ok(svg)
}

/// The system's fonts, loaded once; `sans-serif` (what every chart asks for) is the first of
/// Liberation Sans, DejaVu Sans or Arial the system has.
fn fonts() -> std::sync::Arc<resvg::usvg::fontdb::Database> {
    static FONTS: std::sync::OnceLock<std::sync::Arc<resvg::usvg::fontdb::Database>> =
        std::sync::OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = resvg::usvg::fontdb::Database::new();
            db.load_system_fonts();
            let family = ["Liberation Sans", "DejaVu Sans", "Arial"]
                .into_iter()
                .find(|f| {
                    db.faces()
                        .any(|face| face.families.iter().any(|(name, _)| name == f))
                });
            if let Some(family) = family {
                db.set_sans_serif_family(family);
            }
            std::sync::Arc::new(db)
        })
        .clone()
}

/// A chart's SVG rasterised to PNG at twice its size (sharp on high-density screens and in
/// slides).
pub fn to_png(svg: &str) -> Result<Vec<u8>, ChartError> {
    let options = resvg::usvg::Options {
        fontdb: fonts(),
        ..Default::default()
    };
    let tree =
        resvg::usvg::Tree::from_str(svg, &options).map_err(|e| ChartError::Png(e.to_string()))?;
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width() * 2, size.height() * 2)
        .ok_or_else(|| ChartError::Png("a chart without size".into()))?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(2.0, 2.0),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| ChartError::Png(e.to_string()))
}

/// Where each point of a chart's main line is drawn (`None`: no value there).
type Hits = Vec<Option<(i32, i32)>>;

/// Adds the main line's points for the tooltip, before the closing tag: their positions in
/// one attribute (`x,y` per point, `-` for a gap) and one invisible marker that the chart
/// island (`components::chart`) moves to the point it shows. The point's label and value are
/// the row of the same index in the page's data table, so each value is sent once.
fn with_hits(svg: String, hits: &[Option<(i32, i32)>]) -> String {
    if hits.iter().all(Option::is_none) {
        return svg;
    }
    let Some(end) = svg.rfind("</svg>") else {
        return svg;
    };
    let xy = hits
        .iter()
        .map(|hit| hit.map_or_else(|| "-".to_string(), |(x, y)| format!("{x},{y}")))
        .collect::<Vec<_>>()
        .join(" ");
    let group = format!(
        r#"<g class="points" data-xy="{xy}"><circle class="pt" cx="{}" cy="{}" r="6" fill="{}" fill-opacity="0"/></g>"#,
        -10,
        -10,
        format_args!("#{:02x}{:02x}{:02x}", SERIES.0, SERIES.1, SERIES.2),
    );
    format!("{}{group}{}", &svg[..end], &svg[end..])
}

/// Draws a daily line (a value on every day) before the closing tag as one polyline that is
/// also the tooltip's list of points (`class="points"`: its `points` are the positions, no
/// gaps), with the marker as in [`with_hits`]. A year of days is sent once, not as a line and
/// again as points.
fn with_line(svg: String, hits: &[Option<(i32, i32)>]) -> String {
    let Some(end) = svg.rfind("</svg>") else {
        return svg;
    };
    let points = hits
        .iter()
        .flatten()
        .map(|(x, y)| format!("{x},{y}"))
        .collect::<Vec<_>>()
        .join(" ");
    let colour = format!("#{:02x}{:02x}{:02x}", SERIES.0, SERIES.1, SERIES.2);
    let line = format!(
        r#"<polyline class="points" fill="none" stroke="{colour}" stroke-width="2" points="{points}"/><circle class="pt" cx="-10" cy="-10" r="6" fill="{colour}" fill-opacity="0"/>"#
    );
    format!("{}{line}{}", &svg[..end], &svg[end..])
}

/// Inserts an SVG `<title>` (escaped) right after the opening tag.
pub(crate) fn with_title(svg: String, title: &str) -> String {
    let escaped = title
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    match svg.find('>') {
        Some(end) => format!(
            "{}<title>{escaped}</title>{}",
            &svg[..=end],
            &svg[end + 1..]
        ),
        None => svg,
    }
}

/// A bar chart of one value per label (a funnel's steps, a trend's months); `value_label`
/// writes the axis values. No bars draws empty axes.
pub fn bars(
    labels: &[String],
    values: &[f64],
    title: &str,
    value_label: &dyn Fn(f64) -> String,
) -> Result<String, ChartError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(ChartError::draw)?;
        // A segmented range has one segment per value of `0..=last`. A single bar gets an
        // empty segment on each side (a range of one value has no width to draw in), so it
        // stands in the middle at the width it would have among three.
        let offset = u32::from(labels.len() == 1);
        let last = u32::try_from(labels.len().saturating_sub(1))
            .unwrap_or(u32::MAX)
            .saturating_add(2 * offset);
        let max = values.iter().copied().fold(0.0_f64, f64::max);
        let top = if max > 0.0 { max * 1.1 } else { 1.0 };
        let label_font = ("sans-serif", 13).into_font().color(&TEXT);
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(84)
            .build_cartesian_2d((0..last).into_segmented(), 0.0..top)
            .map_err(ChartError::draw)?;
        let x_label = |x: &SegmentValue<u32>| match x {
            SegmentValue::CenterOf(i) => i
                .checked_sub(offset)
                .and_then(|i| labels.get(i as usize).cloned())
                .unwrap_or_default(),
            _ => String::new(),
        };
        let y_label = |v: &f64| value_label(*v);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .axis_style(TEXT)
            .x_labels(labels.len().max(1) + 2 * offset as usize)
            .y_labels(5)
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .label_style(label_font)
            .draw()
            .map_err(ChartError::draw)?;
        chart
            .draw_series(values.iter().enumerate().map(|(i, v)| {
                let i = u32::try_from(i).unwrap_or(u32::MAX).saturating_add(offset);
                let mut bar = Rectangle::new(
                    [
                        (SegmentValue::Exact(i), 0.0),
                        (SegmentValue::Exact(i + 1), *v),
                    ],
                    SERIES.filled(),
                );
                bar.set_margin(0, 0, 10, 10);
                bar
            }))
            .map_err(ChartError::draw)?;
        root.present().map_err(ChartError::draw)?;
    }
    Ok(with_title(svg, title))
}

/// A horizontal waterfall: the comparison value, one floating bar per step (from the running
/// total before it to the one after it; blue up, orange down, green for "other"), and the
/// period's value. `value_text` writes a total, `step_text` a signed step. Totals start from
/// zero only when every running total has the same sign, so small changes of a large value
/// stay visible.
pub fn waterfall(
    start: (&str, f64),
    steps: &[(String, f64)],
    end: (&str, f64),
    other_label: &str,
    title: &str,
    value_text: &dyn Fn(f64) -> String,
    step_text: &dyn Fn(f64) -> String,
) -> Result<String, ChartError> {
    const CHART_WIDTH: u32 = 640;
    const ROW: i32 = 30;
    const TOP: i32 = 10;
    const LABEL_W: i32 = 170;
    const VALUE_W: i32 = 120;
    let rows = steps.len() + 2;
    let height = (TOP * 2 + ROW * rows as i32) as u32;
    let mut running = vec![start.1];
    for (_, step) in steps {
        let last = running.last().copied().unwrap_or(0.0);
        running.push(last + step);
    }
    let lo = running
        .iter()
        .copied()
        .chain([end.1])
        .fold(f64::INFINITY, f64::min);
    let hi = running
        .iter()
        .copied()
        .chain([end.1])
        .fold(f64::NEG_INFINITY, f64::max);
    // The axis: from 0 when the totals are far from it (then the bars read as sizes), else a
    // band around the totals so each step is wide enough to see.
    let (lo, hi) = if lo.is_finite() && hi.is_finite() {
        let pad = ((hi - lo) * 0.1)
            .max(hi.abs().max(lo.abs()) * 1e-6)
            .max(f64::EPSILON);
        (lo - pad, hi + pad)
    } else {
        (0.0, 1.0)
    };
    let span = (hi - lo).max(f64::EPSILON);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (CHART_WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(ChartError::draw)?;
        let bar_w = f64::from(CHART_WIDTH as i32 - LABEL_W - VALUE_W - 8);
        let x_of = |v: f64| LABEL_W + ((v - lo) / span * bar_w).round() as i32;
        let font = ("sans-serif", 15).into_font().color(&TEXT);
        let draw_row = |i: usize, label: &str, a: f64, b: f64, colour: RGBColor, text: String| {
            let y = TOP + i as i32 * ROW;
            let short: String = if label.chars().count() > 18 {
                label.chars().take(17).chain(['…']).collect()
            } else {
                label.to_string()
            };
            root.draw(&Text::new(short, (6, y + 7), font.clone()))
                .map_err(ChartError::draw)?;
            let (left, right) = (x_of(a.min(b)), x_of(a.max(b)));
            let right = right.max(left + 1);
            root.draw(&Rectangle::new(
                [(left, y + 5), (right, y + ROW - 5)],
                colour.filled(),
            ))
            .map_err(ChartError::draw)?;
            root.draw(&Text::new(text, (right + 6, y + 7), font.clone()))
                .map_err(ChartError::draw)
        };
        draw_row(
            0,
            start.0,
            lo.max(0.0).min(start.1),
            start.1,
            MARKER,
            value_text(start.1),
        )?;
        for (i, (label, step)) in steps.iter().enumerate() {
            let before = running[i];
            let colour = if label == other_label {
                OTHER
            } else if *step >= 0.0 {
                SERIES
            } else {
                COMPARISON
            };
            draw_row(
                i + 1,
                label,
                before,
                before + step,
                colour,
                step_text(*step),
            )?;
        }
        draw_row(
            rows - 1,
            end.0,
            lo.max(0.0).min(end.1),
            end.1,
            MARKER,
            value_text(end.1),
        )?;
        root.present().map_err(ChartError::draw)?;
    }
    Ok(with_title(svg, title))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn renders_an_svg_with_the_title_and_a_path() {
        let day = NaiveDate::from_ymd_opt(2026, 1, 1).expect("date");
        let points: Vec<DailyPoint> = (0..10)
            .map(|i| DailyPoint {
                day: day + chrono::Days::new(i),
                value: i as f64 * 10.0,
            })
            .collect();
        let svg =
            daily_line(&points, Unit::Money, "Gross revenue per day", Locale::En).expect("renders");
        assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
        assert!(svg.contains("Gross revenue per day"));
        assert!(svg.contains("<polyline") || svg.contains("<path"));
    }

    #[test]
    fn gaps_break_lines_instead_of_dropping_to_zero() {
        let runs = runs(&[Some(1.0), None, Some(2.0), Some(3.0), None]);
        assert_eq!(runs, vec![vec![(0, 1.0)], vec![(2, 2.0), (3, 3.0)]]);
    }

    #[test]
    fn the_y_range_holds_zero_and_negative_values() {
        assert_eq!(y_range([Some(0.0), None].iter()), (0.0, 1.0));
        let (lo, hi) = y_range([Some(-10.0), Some(30.0)].iter());
        assert!(lo < -10.0 && hi > 30.0, "{lo}..{hi}");
    }

    #[test]
    fn the_line_chart_has_a_legend_and_axis_descriptions() {
        let labels: Vec<String> = (1..=4).map(|i| format!("W{i}")).collect();
        let svg = line_chart(
            &labels,
            &[
                Line {
                    name: "This period",
                    values: &[Some(1.0), Some(2.0), None, Some(4.0)],
                    kind: LineKind::Main,
                },
                Line {
                    name: "Previous period",
                    values: &[Some(2.0), Some(2.0), Some(2.0), Some(2.0)],
                    kind: LineKind::Comparison,
                },
                Line {
                    name: "Target",
                    values: &[Some(3.0); 4],
                    kind: LineKind::Target,
                },
            ],
            Unit::Money,
            &Texts {
                title: "Revenue",
                x_label: "Week",
                y_label: "Gross revenue",
            },
            Locale::En,
        )
        .expect("renders");
        for text in [
            "<title>Revenue</title>",
            "This period",
            "Previous period",
            "Target",
            "Week",
            "Gross revenue",
            "W1",
        ] {
            assert!(svg.contains(text), "{text} missing");
        }
        assert!(
            svg.contains("rgb(230,159,0)") || svg.contains("#E69F00"),
            "comparison colour"
        );
    }

    #[test]
    fn bars_write_their_values_and_escape_labels() {
        let svg = bar_chart(
            &[
                ("MI <Centro>".to_string(), Some(1234.5)),
                ("Other".to_string(), Some(-3.0)),
                ("Empty".to_string(), None),
            ],
            "Other",
            Unit::Money,
            "By store",
            Locale::It,
        )
        .expect("renders");
        assert!(svg.contains("1.234,50 €"), "{svg}");
        assert!(svg.contains("MI &lt;Centro&gt;"), "{svg}");
        assert!(svg.contains("n.d."));
    }

    #[test]
    fn long_bar_labels_are_shortened_with_an_ellipsis() {
        let svg = bar_chart(
            &[("Emilia-Romagna Nord".to_string(), Some(1.0))],
            "Other",
            Unit::Count,
            "By region",
            Locale::En,
        )
        .expect("renders");
        assert!(svg.contains("Emilia-Romagn…"), "{svg}");
    }

    #[test]
    fn charts_rasterise_to_png_at_twice_their_size() {
        let svg = bar_chart(
            &[
                ("store".to_string(), Some(175.0)),
                ("web".to_string(), Some(40.0)),
            ],
            "Other",
            Unit::Money,
            "By channel",
            Locale::En,
        )
        .expect("renders");
        let png = to_png(&svg).expect("rasterises");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        // IHDR: width and height, big-endian, right after the signature and chunk header.
        let width = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
        let height = u32::from_be_bytes([png[20], png[21], png[22], png[23]]);
        assert_eq!((width, height), (840, 2 * (10 * 2 + 34 * 2)));
    }

    #[test]
    fn line_points_are_sent_once_as_positions_for_the_tooltip() {
        let labels = vec!["Jan".to_string(), "Feb".to_string(), "Mar".to_string()];
        let values = [Some(1200.5), None, Some(-3.0)];
        let svg = line_chart(
            &labels,
            &[Line {
                name: "A & B",
                values: &values,
                kind: LineKind::Main,
            }],
            Unit::Money,
            &Texts {
                title: "T",
                x_label: "x",
                y_label: "y",
            },
            Locale::En,
        )
        .expect("renders");
        // One position per label, the gap as "-", after everything plotters drew; the
        // values themselves are only in the page's data table.
        let xy = svg
            .split(r#"data-xy=""#)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the points' positions");
        let points: Vec<&str> = xy.split(' ').collect();
        assert_eq!(points.len(), 3, "{xy}");
        assert_eq!(points[1], "-", "{xy}");
        for point in [points[0], points[2]] {
            let (x, y) = point.split_once(',').expect("x,y");
            assert!(x.parse::<i32>().is_ok() && y.parse::<i32>().is_ok(), "{xy}");
        }
        assert_eq!(svg.matches(r#"class="pt""#).count(), 1, "one marker: {svg}");
        assert!(!svg.contains("data-value"), "{svg}");
        assert!(!svg.contains("€1,200.50"), "{svg}");
        assert!(svg.trim_end().ends_with("</g></svg>"));
        let daily = daily_line(
            &[DailyPoint {
                day: chrono::NaiveDate::from_ymd_opt(2026, 6, 1).expect("date"),
                value: 5.0,
            }],
            Unit::Money,
            "R",
            Locale::It,
        )
        .expect("renders");
        // A daily line is drawn once, as the polyline that lists the points.
        assert_eq!(daily.matches(r#"class="points""#).count(), 1, "{daily}");
        assert!(daily.contains(r#"<polyline class="points""#), "{daily}");
        // No value beside the line: the chart's own title is the only one.
        assert_eq!(daily.matches("<title>").count(), 1, "{daily}");
        assert!(!daily.contains("data-value"), "{daily}");
    }

    #[test]
    fn sparklines_render_with_gaps() {
        assert!(
            sparkline(&[Some(1.0), None, Some(3.0), Some(2.0)])
                .expect("renders")
                .contains("<svg")
        );
        assert!(sparkline(&[]).is_ok());
    }

    #[test]
    fn an_empty_series_still_renders() {
        assert!(daily_line(&[], Unit::Money, "Empty", Locale::It).is_ok());
    }

    #[test]
    fn bars_render_one_rectangle_per_value() {
        let labels = vec!["a".to_string(), "b".to_string()];
        let svg = bars(&labels, &[3.0, 1.0], "Funnel", &|v| format!("{v:.0}")).expect("renders");
        assert!(svg.contains("<title>Funnel</title>"));
        assert!(svg.matches("<rect").count() >= 2, "{svg}");
        assert!(bars(&[], &[], "Empty", &|v| v.to_string()).is_ok());
    }

    /// The widths of every `<rect>` of an SVG.
    fn rect_widths(svg: &str) -> Vec<f64> {
        svg.split("<rect")
            .skip(1)
            .filter_map(|r| {
                let tag = &r[..r.find('>')?];
                let w = &tag[tag.find("width=\"")? + 7..];
                w[..w.find('"')?].parse().ok()
            })
            .collect()
    }

    /// A period of one month gave a bar of width -20 and an empty chart.
    #[test]
    fn a_single_bar_is_drawn_with_its_label() {
        let labels = vec!["2026-06".to_string()];
        let svg = bars(&labels, &[42.0], "Trend", &|v| format!("{v:.0}")).expect("renders");
        let widths = rect_widths(&svg);
        // The background and the bar, both with a width.
        assert!(widths.len() >= 2, "{svg}");
        assert!(widths.iter().all(|w| *w > 0.0), "{widths:?}");
        assert!(svg.contains("\n2026-06\n"), "the month is labelled: {svg}");
    }
}
