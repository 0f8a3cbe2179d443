//! A KPI tile: the value in the locale's format, and its change against the previous period
//! with an arrow and a colour that respect the KPI's direction (fewer returns is good news).

use leptos::prelude::*;

use crate::format;
use crate::i18n::{Locale, Msg};
use crate::kpi::KpiValue;

#[component]
pub fn KpiTile(kpi: KpiValue, locale: Locale) -> impl IntoView {
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
    let change = kpi.change.map(|c| format::change_in(c, kpi.unit, locale));
    view! {
        <article class="kpi-tile" data-kpi=kpi.key.clone()>
            <h2 class="kpi-name">{kpi.name.clone()}</h2>
            <p class="kpi-value" data-value=raw>
                {value}
            </p>
            <p class=format!("kpi-change {tone}")>
                {match change {
                    Some(text) => {
                        view! {
                            <span aria-hidden="true">{arrow}</span>
                            " "
                            <span>{text}</span>
                            " "
                            <span class="muted">{locale.text(Msg::VsPreviousPeriod)}</span>
                        }
                            .into_any()
                    }
                    None => {
                        view! {
                            <span class="muted">
                                {locale.text(Msg::NotAvailable)} " "
                                {locale.text(Msg::VsPreviousPeriod)}
                            </span>
                        }
                            .into_any()
                    }
                }}
            </p>
        </article>
    }
}
