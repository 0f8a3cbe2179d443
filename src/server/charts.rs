//! Charts rendered on the server with plotters into SVG strings.
//!
//! Colours come from the Okabe–Ito palette, which stays distinguishable with the common forms
//! of colour blindness. The SVG scales to its container (CSS sets its width), so a chart is
//! readable at phone width.

use plotters::prelude::*;

use crate::format;
use crate::i18n::Locale;
use crate::kpi::DailyPoint;

/// Okabe–Ito blue.
const SERIES: RGBColor = RGBColor(0, 114, 178);
const GRID: RGBColor = RGBColor(220, 220, 220);
const TEXT: RGBColor = RGBColor(60, 60, 60);

const WIDTH: u32 = 800;
const HEIGHT: u32 = 320;

/// A line chart of one value per day; an empty series draws empty axes.
pub fn daily_line(points: &[DailyPoint], title: &str, locale: Locale) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
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
            .map_err(|e| e.to_string())?;
        let day_label = |i: &usize| {
            points
                .get(*i)
                .map(|p| format::date(p.day, locale))
                .unwrap_or_default()
        };
        let money_label = |v: &f64| format::money(*v, locale);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .axis_style(TEXT)
            .x_labels(5)
            .y_labels(5)
            .x_label_formatter(&day_label)
            .y_label_formatter(&money_label)
            .label_style(label_font)
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(LineSeries::new(
                points.iter().enumerate().map(|(i, p)| (i, p.value)),
                SERIES.stroke_width(2),
            ))
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(with_title(svg, title))
}

/// A bar chart of one value per label (a funnel's steps, a trend's months); `value_label`
/// writes the axis values. No bars draws empty axes.
pub fn bars(
    labels: &[String],
    values: &[f64],
    title: &str,
    value_label: &dyn Fn(f64) -> String,
) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        // A segmented range has one segment per value of `0..=last`.
        let last = u32::try_from(labels.len().saturating_sub(1)).unwrap_or(u32::MAX);
        let max = values.iter().copied().fold(0.0_f64, f64::max);
        let top = if max > 0.0 { max * 1.1 } else { 1.0 };
        let label_font = ("sans-serif", 13).into_font().color(&TEXT);
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(84)
            .build_cartesian_2d((0..last).into_segmented(), 0.0..top)
            .map_err(|e| e.to_string())?;
        let x_label = |x: &SegmentValue<u32>| match x {
            SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
            _ => String::new(),
        };
        let y_label = |v: &f64| value_label(*v);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .axis_style(TEXT)
            .x_labels(labels.len().max(1))
            .y_labels(5)
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .label_style(label_font)
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(values.iter().enumerate().map(|(i, v)| {
                let i = u32::try_from(i).unwrap_or(u32::MAX);
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
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(with_title(svg, title))
}

/// Inserts an SVG `<title>` (escaped) right after the opening tag.
fn with_title(svg: String, title: &str) -> String {
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
        let svg = daily_line(&points, "Gross revenue per day", Locale::En).expect("renders");
        assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
        assert!(svg.contains("Gross revenue per day"));
        assert!(svg.contains("<polyline") || svg.contains("<path"));
    }

    #[test]
    fn bars_render_one_rectangle_per_value() {
        let labels = vec!["a".to_string(), "b".to_string()];
        let svg = bars(&labels, &[3.0, 1.0], "Funnel", &|v| format!("{v:.0}")).expect("renders");
        assert!(svg.contains("<title>Funnel</title>"));
        assert!(svg.matches("<rect").count() >= 2, "{svg}");
        assert!(bars(&[], &[], "Empty", &|v| v.to_string()).is_ok());
    }

    #[test]
    fn an_empty_series_still_renders() {
        assert!(daily_line(&[], "Empty", Locale::It).is_ok());
    }
}
