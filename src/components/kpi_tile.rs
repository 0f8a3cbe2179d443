//! A KPI tile: the value in the locale's format, its change against the comparison period
//! with an arrow and a colour that respect the KPI's direction (fewer returns is good news),
//! on department views the target, the projection and the status in words and colour, and a
//! sparkline of the period with a name for screen readers ("Trend of Net revenue, 1 Jun
//! 2026–30 Jun 2026"). The KPI's name links to its detail page, keeping the view.

use leptos::prelude::*;

use crate::dashboard::{BenchmarkRow, TargetRow};
use crate::format;
use crate::i18n::{Locale, Msg};
use crate::kpi::KpiValue;
use crate::view::{Comparison, department_name, status_text};

#[component]
pub fn KpiTile(
    kpi: KpiValue,
    locale: Locale,
    /// The KPI detail page with the view's query (none on a kiosk screen, which links nowhere).
    #[prop(optional, into)]
    href: Option<String>,
    #[prop(optional)] compare: Comparison,
    /// Department views: the target that applies (or `Some(None)`: none is set).
    #[prop(optional)]
    target: Option<Option<TargetRow>>,
    #[prop(optional)] sparkline: Option<String>,
    /// The period the sparkline covers, for its accessible name.
    #[prop(optional)]
    span: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
    /// The change against a second comparison (the company view shows both).
    #[prop(optional)]
    other: Option<(Option<f64>, Comparison)>,
    /// A market figure to read the value against, with its source.
    #[prop(optional_no_strip)]
    benchmark: Option<BenchmarkRow>,
) -> impl IntoView {
    let trend = span.map(|(from, to)| {
        locale
            .text(Msg::SparklineLabel)
            .replace("{kpi}", &kpi.name)
            .replace("{from}", &format::date(from, locale))
            .replace("{to}", &format::date(to, locale))
    });
    let value = format::kpi_value(kpi.value, kpi.unit, locale);
    let raw = kpi
        .value
        .map_or_else(|| "null".to_string(), |v| v.to_string());
    let change_line = |change: Option<f64>, compare: Comparison| {
        let judged = KpiValue {
            change,
            ..kpi.clone()
        };
        let (arrow, tone) = match (change, judged.change_is_good()) {
            (Some(c), Some(true)) if c > 0.0 => ("▲", "good"),
            (Some(_), Some(true)) => ("▼", "good"),
            (Some(c), Some(false)) if c > 0.0 => ("▲", "bad"),
            (Some(_), Some(false)) => ("▼", "bad"),
            _ => ("", "flat"),
        };
        let versus = locale.text(match compare {
            Comparison::Previous => Msg::VsPreviousPeriod,
            Comparison::LastYear => Msg::VsLastYear,
        });
        let text = change.map(|c| format::change_in(c, kpi.unit, locale));
        view! {
            <p class=format!("kpi-change {tone}") data-compare=compare.name()>
                {match text {
                    Some(text) => {
                        view! {
                            <span aria-hidden="true">{arrow}</span>
                            " "
                            <span>{text}</span>
                            " "
                            <span class="muted">{versus}</span>
                        }
                            .into_any()
                    }
                    None => {
                        view! {
                            <span class="muted">
                                {locale.text(Msg::NotAvailable)} " " {versus}
                            </span>
                        }
                            .into_any()
                    }
                }}
            </p>
        }
    };
    let main_change = change_line(kpi.change, compare);
    let other_change = other.map(|(change, compare)| change_line(change, compare));
    let unit = kpi.unit;
    let target_view = target.map(|target| match target {
        Some(t) => {
            let (class, text) = status_text(t.status, locale);
            view! {
                <p class="kpi-target">
                    {locale.text(Msg::Target)} " " {t.period.clone()} ": "
                    <span class="num">{format::kpi_value(Some(t.value), unit, locale)}</span>
                    <br />
                    {locale.text(Msg::Projection)} ": "
                    <span class="num">{format::kpi_value(t.projection, unit, locale)}</span>
                    <br />
                    <span class=format!("status status-{class}") data-status=class>
                        {text}
                    </span>
                    <span class="muted">
                        " · " {department_name(&t.department, locale)}
                    </span>
                </p>
            }
            .into_any()
        }
        None => view! { <p class="kpi-target muted">{locale.text(Msg::NoTarget)}</p> }.into_any(),
    });
    let benchmark_view = benchmark.map(|b| {
        let when = b.published.clone().or(b.year.map(|y| y.to_string()));
        let source = match when {
            Some(when) => format!("{} ({when})", b.source),
            None => b.source.clone(),
        };
        view! {
            <p class="kpi-benchmark" data-benchmark=b.value.to_string()>
                {locale.text(Msg::MarketFigure)} ": "
                <span class="num">{format::kpi_value(Some(b.value), unit, locale)}</span>
                " · "
                {match b.url {
                    Some(url) => {
                        view! { <a href=url rel="external noopener noreferrer">{source}</a> }
                            .into_any()
                    }
                    None => view! { <span>{source}</span> }.into_any(),
                }}
            </p>
        }
    });
    view! {
        <article class="kpi-tile" data-kpi=kpi.key.clone()>
            <h2 class="kpi-name">
                {match href {
                    Some(href) => view! { <a href=href>{kpi.name.clone()}</a> }.into_any(),
                    None => view! { <span>{kpi.name.clone()}</span> }.into_any(),
                }}
            </h2>
            <p class="kpi-value" data-value=raw>
                {value}
            </p>
            {kpi.provisional.then(|| view! { <ProvisionalNote locale /> })}
            {main_change}
            {other_change}
            {target_view}
            {benchmark_view}
            {sparkline
                .map(|svg| match trend {
                    // A picture with a name: screen readers announce it, its lines stay silent.
                    Some(name) => {
                        view! { <div class="sparkline" role="img" aria-label=name inner_html=svg></div> }
                            .into_any()
                    }
                    None => {
                        view! { <div class="sparkline" aria-hidden="true" inner_html=svg></div> }
                            .into_any()
                    }
                })}
        </article>
    }
}

/// The marker of a value whose 7-day windows have not all closed, with the reason in words
/// (visible, not only in a tooltip, so it reads the same without a mouse or JavaScript).
#[component]
pub fn ProvisionalNote(locale: Locale) -> impl IntoView {
    view! {
        <p class="kpi-provisional" data-provisional="true">
            <strong>{locale.text(Msg::Provisional)}</strong>
            " "
            <span class="muted">{locale.text(Msg::ProvisionalHelp)}</span>
        </p>
    }
}
