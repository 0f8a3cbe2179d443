//! The data of the journey pages and the customer 360, for the server functions of
//! [`crate::journey::pages`] (which have checked the route's access already): the engine's
//! results through [`super::service`], the charts rendered to SVG, the pain point notes, and
//! identifiers masked for whoever may not see personal data.

use leptos::prelude::expect_context;

use crate::error::AppError;
use crate::format;
use crate::i18n::{Locale, Msg, step_name};
use crate::journey::pages::{CustomerPage, JourneyPage, JourneysPage, PainPage};
use crate::journey::{CustomerProfile, Funnel, mask};
use crate::server::auth::policy::{self, Access, Decision, Edit, Principal, View};
use crate::server::charts;
use crate::server::state::AppState;

use super::{notes, service};

fn chart_error(e: String) -> AppError {
    tracing::error!(error = %e, "chart rendering failed");
    AppError::Internal
}

/// A funnel's journeys per step as a bar chart.
pub fn render_funnel(funnel: &Funnel, title: &str, locale: Locale) -> Result<String, AppError> {
    let labels: Vec<String> = funnel
        .steps
        .iter()
        .map(|s| step_name(&s.key, locale))
        .collect();
    let values: Vec<f64> = funnel.steps.iter().map(|s| s.journeys as f64).collect();
    charts::bars(&labels, &values, title, &|v| format::number(v, 0, locale)).map_err(chart_error)
}

/// The journey view, its two funnel charts and the pain points of the period.
pub async fn journeys(
    from: Option<String>,
    to: Option<String>,
    lang: Option<String>,
) -> Result<JourneysPage, AppError> {
    let state = expect_context::<AppState>();
    let locale = Locale::parse(lang.as_deref());
    let view = service::journey_view(&state.db, from, to, vec![]).await?;
    let period = (Some(view.from.to_string()), Some(view.to.to_string()));
    let mut pains = service::pain_points(&state.db, period.0, period.1, vec![], locale).await?;
    // The list shows the numbers; trend, breakdown and examples are the detail page's.
    for p in &mut pains {
        p.trend.clear();
        p.breakdown.clear();
        p.examples.clear();
    }
    let acknowledged = state
        .db
        .run(|conn| notes::acknowledged(conn).map_err(crate::server::db::DbError::from))
        .await?;
    let funnel_chart = render_funnel(
        &view.funnel.overall,
        locale.text(Msg::CrossChannelFunnel),
        locale,
    )?;
    let store_funnel_chart = render_funnel(
        &view.store_funnel.overall,
        locale.text(Msg::StoreFunnel),
        locale,
    )?;
    Ok(JourneysPage {
        view,
        funnel_chart,
        store_funnel_chart,
        pains,
        acknowledged,
    })
}

/// One pain point of the period with its trend chart and note.
pub async fn pain(
    who: &Principal,
    rule: String,
    from: Option<String>,
    to: Option<String>,
    lang: Option<String>,
) -> Result<PainPage, AppError> {
    let state = expect_context::<AppState>();
    let locale = Locale::parse(lang.as_deref());
    let (f, t) = (from.clone(), to.clone());
    let (from_day, to_day) = state
        .db
        .run(move |conn| {
            crate::server::dashboard::resolve_period(conn, f.as_deref(), t.as_deref())
                .map(|p| (p.from(), p.to()))
                .map_err(AppError::from)
        })
        .await?;
    let point = service::pain_points(&state.db, from, to, vec![], locale)
        .await?
        .into_iter()
        .find(|p| p.key == rule)
        .ok_or_else(|| AppError::NotFound(format!("pain point {rule}")))?;
    let labels: Vec<String> = point.trend.iter().map(|t| t.month.clone()).collect();
    let values: Vec<f64> = point.trend.iter().map(|t| t.affected as f64).collect();
    let trend_chart = charts::bars(&labels, &values, locale.text(Msg::TrendTitle), &|v| {
        format::number(v, 0, locale)
    })
    .map_err(chart_error)?;
    let key = point.key.clone();
    let note = state
        .db
        .run(move |conn| notes::get(conn, &key).map_err(crate::server::db::DbError::from))
        .await?;
    Ok(PainPage {
        from: from_day,
        to: to_day,
        point,
        trend_chart,
        note,
        can_edit: policy::decide(Some(who), Access::Edit(Edit::PainRules), None) == Decision::Allow,
    })
}

/// One journey with its steps.
pub async fn journey(who: &Principal, journey_id: i64) -> Result<JourneyPage, AppError> {
    let state = expect_context::<AppState>();
    let detail = service::journey_detail(&state.db, journey_id).await?;
    Ok(JourneyPage {
        detail,
        can_open_customer: policy::decide(Some(who), Access::View(View::Customer360), None)
            == Decision::Allow,
    })
}

/// The customer 360 by number or by identifier, masked unless `who` sees personal data.
pub async fn customer(
    who: &Principal,
    customer_id: Option<i64>,
    q: Option<String>,
) -> Result<CustomerPage, AppError> {
    let state = expect_context::<AppState>();
    let profile = match (customer_id, q.map(|q| q.trim().to_string())) {
        (Some(id), _) => service::customer_profile(&state.db, id).await?,
        (None, Some(q)) if !q.is_empty() => service::find_customer(&state.db, q).await?,
        _ => return Err(AppError::bad_request("an identifier or a customer number")),
    };
    let masked = !policy::sees_personal_data(who);
    Ok(CustomerPage {
        profile: if masked {
            masked_profile(profile)
        } else {
            profile
        },
        masked,
        can_erase: policy::decide(Some(who), Access::Admin, None) == Decision::Allow,
        can_split: policy::decide(Some(who), Access::Edit(Edit::Identity), None) == Decision::Allow,
    })
}

/// The profile with every identifier masked ([`mask`]).
pub fn masked_profile(mut profile: CustomerProfile) -> CustomerProfile {
    for id in &mut profile.identifiers {
        id.value = mask(&id.id_type, &id.value);
    }
    for link in &mut profile.links {
        link.a_value = mask(&link.a_type, &link.a_value);
        link.b_value = mask(&link.b_type, &link.b_value);
    }
    profile
}
