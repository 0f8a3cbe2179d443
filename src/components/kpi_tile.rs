//! A KPI tile: the value in the locale's format, its change against the comparison period
//! with an arrow and a colour that respect the KPI's direction (fewer returns is good news),
//! and, on department views, the target, the projection and the status in words and colour,
//! and a sparkline. The KPI's name links to its detail page, keeping the view.

use leptos::prelude::*;

use crate::dashboard::TargetRow;
use crate::format;
use crate::i18n::{Locale, Msg};
use crate::kpi::KpiValue;
use crate::view::{Comparison, department_name, status_text};

#[component]
pub fn KpiTile(
    kpi: KpiValue,
    locale: Locale,
    /// The KPI detail page with the view's query.
    href: String,
    #[prop(optional)] compare: Comparison,
    /// Department views: the target that applies (or `Some(None)`: none is set).
    #[prop(optional)]
    target: Option<Option<TargetRow>>,
    #[prop(optional)] sparkline: Option<String>,
) -> impl IntoView {
    let value = format::kpi_value(kpi.value, kpi.unit, locale);
    let raw = kpi
        .value
        .map_or_else(|| "null".to_string(), |v| v.to_string());
    let (arrow, tone) = match (kpi.change, kpi.change_is_good()) {
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
    let change = kpi.change.map(|c| format::change_in(c, kpi.unit, locale));
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
    view! {
        <article class="kpi-tile" data-kpi=kpi.key.clone()>
            <h2 class="kpi-name">
                <a href=href>{kpi.name.clone()}</a>
            </h2>
            <p class="kpi-value" data-value=raw>
                {value}
            </p>
            {kpi.provisional.then(|| view! { <ProvisionalNote locale /> })}
            <p class=format!("kpi-change {tone}")>
                {match change {
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
            {target_view}
            {sparkline
                .map(|svg| {
                    view! { <div class="sparkline" aria-hidden="true" inner_html=svg></div> }
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
