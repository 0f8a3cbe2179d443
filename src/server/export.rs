//! Downloads: every table of the dashboards as CSV and every chart as SVG, through plain GET
//! links that take the same query string as the page, so a download holds exactly what the
//! page shows (it is computed by the same service function).
//!
//! CSV: UTF-8 with a byte-order mark so Excel reads the accents; `,` between fields and a
//! decimal point in English, `;` and a decimal comma in Italian (what Excel expects in each
//! locale); numbers unformatted (no currency sign, no thousands separator) so they stay
//! numbers; text cells that begin with `=`, `+`, `-`, `@`, a tab or a carriage return get a
//! leading `'`, so a store or campaign name can never run as a spreadsheet formula.
//!
//! PNG: every chart's `.svg` is also served as `.png`, the same SVG rasterised by resvg with
//! the system's fonts ([`super::charts::to_png`]).

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::dashboard::{Breakdown, CompanyView, KpiDetail};
use crate::error::AppError;
use crate::i18n::{Locale, Msg};
use crate::kpi::KpiValue;
use crate::view::{department_name, dimension_name};

use super::dashboard::{self, DashboardError, department, detail};
use super::state::AppState;

/// The export routes; merged into the application router (`routes.rs`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/export/company/{file}", get(company))
        .route("/export/kpi/{key}/{file}", get(kpi))
        .route("/export/dept/{department}/{file}", get(dept))
}

/// One cell of an exported table.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    /// A number written plainly in the locale; `None` is an empty cell.
    Number(Option<f64>),
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Self::Text(text.to_string())
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<Option<f64>> for Cell {
    fn from(value: Option<f64>) -> Self {
        Self::Number(value)
    }
}

/// A table to export: a header and rows of cells.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// The field separator of a locale.
pub fn separator(locale: Locale) -> char {
    match locale {
        Locale::En => ',',
        Locale::It => ';',
    }
}

/// A number without grouping, at most 6 decimals, trailing zeros dropped, with the locale's
/// decimal mark.
pub fn number(value: f64, locale: Locale) -> String {
    if !value.is_finite() {
        return String::new();
    }
    let mut text = format!("{value:.6}");
    if text.contains('.') {
        text = text.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    if text == "-0" {
        text = "0".to_string();
    }
    match locale {
        Locale::En => text,
        Locale::It => text.replace('.', ","),
    }
}

/// A text cell made safe: formula triggers neutralised, quoted when it holds the separator, a
/// quote or a line break (the one rule every CSV download shares, [`super::admin::audit::csv_cell`]).
pub fn text(value: &str, locale: Locale) -> String {
    super::admin::audit::csv_cell(value, separator(locale))
}

/// The whole file: BOM, header, rows, CRLF line ends (RFC 4180).
pub fn csv(table: &Table, locale: Locale) -> String {
    let sep = separator(locale).to_string();
    let mut out = String::from("\u{FEFF}");
    let header: Vec<String> = table.header.iter().map(|h| text(h, locale)).collect();
    out.push_str(&header.join(&sep));
    out.push_str("\r\n");
    for row in &table.rows {
        let cells: Vec<String> = row
            .iter()
            .map(|cell| match cell {
                Cell::Text(t) => text(t, locale),
                Cell::Number(v) => v.map(|v| number(v, locale)).unwrap_or_default(),
            })
            .collect();
        out.push_str(&cells.join(&sep));
        out.push_str("\r\n");
    }
    out
}

/// The KPI rows of the company and department views.
fn kpi_table(kpis: &[KpiValue], locale: Locale) -> Table {
    Table {
        header: [Msg::Kpi, Msg::Kpi, Msg::Value, Msg::Comparison, Msg::Change]
            .iter()
            .enumerate()
            .map(|(i, m)| {
                if i == 0 {
                    "key".to_string()
                } else {
                    locale.text(*m).to_string()
                }
            })
            .collect(),
        rows: kpis
            .iter()
            .map(|k| {
                vec![
                    k.key.as_str().into(),
                    k.name.clone().into(),
                    k.value.into(),
                    k.previous.into(),
                    k.change.into(),
                ]
            })
            .collect(),
    }
}

fn breakdown_table(b: &Breakdown, locale: Locale) -> Table {
    Table {
        header: vec![
            dimension_name(&b.dimension, locale).to_string(),
            b.kpi_name.clone(),
        ],
        rows: b
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.label
                        .clone()
                        .unwrap_or_else(|| locale.text(Msg::Other).to_string())
                        .into(),
                    r.value.into(),
                ]
            })
            .collect(),
    }
}

fn status_name(status: Option<crate::kpi::Status>, locale: Locale) -> String {
    crate::view::status_text(status, locale).1.to_string()
}

fn series_table(d: &KpiDetail, locale: Locale) -> Table {
    Table {
        header: vec![
            locale.text(Msg::FirstDay).to_string(),
            locale.text(Msg::LastDay).to_string(),
            d.kpi.name.clone(),
            d.view.state.compare.label(locale).to_string(),
            locale.text(Msg::Target).to_string(),
        ],
        rows: d
            .series
            .iter()
            .map(|r| {
                vec![
                    r.from.to_string().into(),
                    r.to.to_string().into(),
                    r.value.into(),
                    r.comparison.into(),
                    r.target.into(),
                ]
            })
            .collect(),
    }
}

fn targets_table(d: &KpiDetail, locale: Locale) -> Table {
    Table {
        header: [
            Msg::Department,
            Msg::TargetPeriod,
            Msg::Target,
            Msg::ToDate,
            Msg::Projection,
            Msg::StatusLabel,
        ]
        .iter()
        .map(|m| locale.text(*m).to_string())
        .collect(),
        rows: d
            .targets
            .iter()
            .map(|t| {
                vec![
                    department_name(&t.department, locale).into(),
                    t.period.clone().into(),
                    Some(t.value).into(),
                    t.actual.into(),
                    t.projection.into(),
                    status_name(t.status, locale).into(),
                ]
            })
            .collect(),
    }
}

fn benchmarks_table(d: &KpiDetail, locale: Locale) -> Table {
    Table {
        header: [
            Msg::Value,
            Msg::Source,
            Msg::Published,
            Msg::Scope,
            Msg::Note,
        ]
        .iter()
        .map(|m| locale.text(*m).to_string())
        .chain(["URL".to_string()])
        .collect(),
        rows: d
            .benchmarks
            .iter()
            .map(|b| {
                let published = b.published.clone().or(b.year.map(|y| y.to_string()));
                vec![
                    Some(b.value).into(),
                    b.source.clone().into(),
                    published.unwrap_or_default().into(),
                    b.scope.clone().unwrap_or_default().into(),
                    b.note.clone().unwrap_or_default().into(),
                    b.url.clone().unwrap_or_default().into(),
                ]
            })
            .collect(),
    }
}

/// What a download answers.
enum File {
    Csv(Table),
    Svg(String),
    Png(Vec<u8>),
}

fn respond(file: File, name: &str, locale: Locale) -> Response {
    let (content_type, body, extension) = match file {
        File::Csv(table) => (
            "text/csv; charset=utf-8",
            csv(&table, locale).into_bytes(),
            "csv",
        ),
        File::Svg(svg) => ("image/svg+xml", svg.into_bytes(), "svg"),
        File::Png(png) => ("image/png", png, "png"),
    };
    // `name` is built from catalog keys, fixed names and ISO dates only: safe in the header.
    let disposition = format!("attachment; filename=\"omnikpi-{name}.{extension}\"");
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}

fn error(err: DashboardError) -> Response {
    let err = AppError::from(err);
    let status =
        StatusCode::from_u16(err.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{err}\n"),
    )
        .into_response()
}

fn unknown_file(file: &str) -> DashboardError {
    DashboardError::NotFound(format!("download {file:?}"))
}

/// A `.png` request is the `.svg` of the same name, rasterised: the file name to look up and
/// whether to convert.
/// `breakdown-N.csv` / `breakdown-N.svg` (N from 1) of a page's breakdowns.
fn breakdown_file<'b>(
    breakdowns: &'b [Breakdown],
    file: &str,
    locale: Locale,
) -> Result<(&'b Breakdown, File), DashboardError> {
    let parsed = file
        .strip_prefix("breakdown-")
        .and_then(|rest| rest.split_once('.'))
        .and_then(|(n, ext)| Some((n.parse::<usize>().ok()?.checked_sub(1)?, ext)));
    let Some((index, ext)) = parsed else {
        return Err(unknown_file(file));
    };
    let b = breakdowns.get(index).ok_or_else(|| unknown_file(file))?;
    let out = match ext {
        "csv" => File::Csv(breakdown_table(b, locale)),
        "svg" => File::Svg(b.svg.clone()),
        _ => return Err(unknown_file(file)),
    };
    Ok((b, out))
}

fn wants_png(file: String) -> (String, bool) {
    match file.strip_suffix(".png") {
        Some(stem) => (format!("{stem}.svg"), true),
        None => (file, false),
    }
}

fn finish(file: File, png: bool) -> Result<File, DashboardError> {
    match (file, png) {
        (File::Svg(svg), true) => super::charts::to_png(&svg)
            .map(File::Png)
            .map_err(DashboardError::Chart),
        (other, _) => Ok(other),
    }
}

async fn company(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let (file, png) = wants_png(file);
    let answer = state
        .db
        .run(move |conn| -> Result<_, DashboardError> {
            let view: CompanyView = dashboard::company_blocking(conn, &query)?;
            let locale = view.view.state.lang;
            let span = format!("{}-{}", view.from, view.to);
            let (what, out) = match file.as_str() {
                "kpis.csv" => ("kpis", File::Csv(kpi_table(&view.kpis, locale))),
                "revenue.csv" => (
                    "revenue",
                    File::Csv(Table {
                        header: vec![
                            locale.text(Msg::Day).to_string(),
                            locale.text(Msg::Revenue).to_string(),
                        ],
                        rows: view
                            .revenue
                            .iter()
                            .map(|p| vec![p.day.to_string().into(), Some(p.value).into()])
                            .collect(),
                    }),
                ),
                "revenue.svg" => ("revenue", File::Svg(view.revenue_chart)),
                "customers.csv" => (
                    "customers",
                    File::Csv(Table {
                        header: vec![
                            locale.text(Msg::Day).to_string(),
                            locale.text(Msg::ActiveCustomersColumn).to_string(),
                        ],
                        rows: view
                            .customers
                            .iter()
                            .map(|p| vec![p.day.to_string().into(), Some(p.value).into()])
                            .collect(),
                    }),
                ),
                "customers.svg" => ("customers", File::Svg(view.customers_chart)),
                other => {
                    let (b, out) = breakdown_file(&view.breakdowns, other, locale)?;
                    let name = format!("company-{}-by-{}-{span}", b.kpi, b.dimension);
                    return Ok((finish(out, png)?, name, locale));
                }
            };
            Ok((finish(out, png)?, format!("company-{what}-{span}"), locale))
        })
        .await;
    match answer {
        Ok((file, name, locale)) => respond(file, &name, locale),
        Err(err) => error(err),
    }
}

async fn kpi(
    State(state): State<AppState>,
    Path((key, file)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let (file, png) = wants_png(file);
    let answer = state
        .db
        .run(move |conn| -> Result<_, DashboardError> {
            let detail = detail::detail_blocking(conn, &key, &query)?;
            let locale = detail.view.state.lang;
            let span = format!("{}-{}", detail.view.from, detail.view.to);
            let (what, out) = match file.as_str() {
                "series.csv" => ("series", File::Csv(series_table(&detail, locale))),
                "series.svg" => ("series", File::Svg(detail.series_svg.clone())),
                "breakdown.csv" => (
                    "breakdown",
                    File::Csv(breakdown_table(&detail.breakdown, locale)),
                ),
                "breakdown.svg" => ("breakdown", File::Svg(detail.breakdown.svg.clone())),
                "targets.csv" => ("targets", File::Csv(targets_table(&detail, locale))),
                "benchmarks.csv" => ("benchmarks", File::Csv(benchmarks_table(&detail, locale))),
                other => return Err(unknown_file(other)),
            };
            let name = match what {
                "breakdown" => format!("{}-by-{}", detail.kpi.key, detail.breakdown.dimension),
                _ => format!("{}-{what}", detail.kpi.key),
            };
            Ok((finish(out, png)?, format!("{name}-{span}"), locale))
        })
        .await;
    match answer {
        Ok((file, name, locale)) => respond(file, &name, locale),
        Err(err) => error(err),
    }
}

async fn dept(
    State(state): State<AppState>,
    Path((department_key, file)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let (file, png) = wants_png(file);
    let answer = state
        .db
        .run(move |conn| -> Result<_, DashboardError> {
            let view = department::department_blocking(conn, &department_key, &query)?;
            let locale = view.view.state.lang;
            let span = format!("{}-{}", view.view.from, view.view.to);
            if file == "kpis.csv" {
                let kpis: Vec<KpiValue> = view.tiles.iter().map(|t| t.kpi.clone()).collect();
                let mut table = kpi_table(&kpis, locale);
                table.header.extend(
                    [
                        Msg::TargetPeriod,
                        Msg::Target,
                        Msg::Projection,
                        Msg::StatusLabel,
                    ]
                    .iter()
                    .map(|m| locale.text(*m).to_string()),
                );
                for (row, tile) in table.rows.iter_mut().zip(&view.tiles) {
                    match &tile.target {
                        Some(t) => row.extend([
                            t.period.clone().into(),
                            Some(t.value).into(),
                            t.projection.into(),
                            status_name(t.status, locale).into(),
                        ]),
                        None => row.extend(["".into(), None.into(), None.into(), "".into()]),
                    }
                }
                let name = format!("{}-kpis-{span}", view.department);
                return Ok((File::Csv(table), name, locale));
            }
            let (b, out) = breakdown_file(&view.breakdowns, &file, locale)?;
            let name = format!("{}-{}-by-{}-{span}", view.department, b.kpi, b.dimension);
            Ok((finish(out, png)?, name, locale))
        })
        .await;
    match answer {
        Ok((file, name, locale)) => respond(file, &name, locale),
        Err(err) => error(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            header: vec!["Store".into(), "Revenue".into()],
            rows: vec![
                vec!["Milano; Centro".into(), Some(1234.5).into()],
                vec!["=HYPERLINK(\"x\")".into(), Some(-0.25).into()],
                vec!["-1 refund".into(), None.into()],
                vec!["@SUM(A1)".into(), Some(0.1 + 0.2).into()],
                vec!["+39 line\nbreak".into(), Some(3.0).into()],
            ],
        }
    }

    #[test]
    fn english_uses_commas_and_a_decimal_point() {
        let out = csv(&table(), Locale::En);
        assert!(out.starts_with('\u{FEFF}'), "BOM first");
        assert_eq!(
            out,
            "\u{FEFF}Store,Revenue\r\n\
             Milano; Centro,1234.5\r\n\
             \"'=HYPERLINK(\"\"x\"\")\",-0.25\r\n\
             '-1 refund,\r\n\
             '@SUM(A1),0.3\r\n\
             \"'+39 line\nbreak\",3\r\n"
        );
    }

    #[test]
    fn italian_uses_semicolons_and_a_decimal_comma() {
        let out = csv(&table(), Locale::It);
        let lines: Vec<&str> = out.split("\r\n").collect();
        assert_eq!(lines[0], "\u{FEFF}Store;Revenue");
        assert_eq!(lines[1], "\"Milano; Centro\";1234,5");
        assert_eq!(lines[2], "\"'=HYPERLINK(\"\"x\"\")\";-0,25");
        assert_eq!(lines[3], "'-1 refund;");
    }

    #[test]
    fn numbers_are_plain_and_never_escaped() {
        assert_eq!(number(-5.0, Locale::En), "-5");
        assert_eq!(number(1_234_567.891, Locale::It), "1234567,891");
        assert_eq!(number(-0.0000001, Locale::En), "0");
        assert_eq!(number(f64::NAN, Locale::En), "");
        assert_eq!(
            text("-5", Locale::En),
            "'-5",
            "text that looks like a number is text"
        );
    }
}
