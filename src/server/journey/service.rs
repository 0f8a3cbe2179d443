//! The journey pages' data and the journey API's, for their callers that have checked the
//! user already (the server functions of [`crate::journey::server_fns`], the handlers of
//! `server::api`): each function resolves the request through [`crate::server::view`], runs
//! the engine on a blocking thread, renders the charts to SVG and maps errors to
//! [`AppError`]. Identifiers are masked here for whoever may not see personal data
//! ([`masked_profile`]); the JSON API leaves masking to its caller
//! ([`crate::journey::mask`]).

use leptos::prelude::expect_context;

use crate::error::AppError;
use crate::format;
use crate::i18n::{Locale, Msg, step_name};
use crate::journey::server_fns::{
    AnnotationChoice, ComparePage, CustomerPage, FunnelPage, JourneyPage, JourneysPage, PainPage,
    is_step_param, step_defs, steps_from_query,
};
use crate::journey::{
    CustomerProfile, ErasureReport, Funnel, FunnelReport, FunnelStepDef, JourneyDetail,
    JourneyView, PainPoint, mask,
};
use crate::server::auth::policy::{self, Access, Decision, Edit, Principal, View};
use crate::server::charts;
use crate::server::db::Db;
use crate::server::kpi::{Filters, Period};
use crate::server::state::AppState;
use crate::server::view::{self, resolve_view};

use super::{JourneyError, compare, customer, flow_chart, funnel, handoff, notes, pain, paths};

/// How many paths the journey view lists, and how many positions its flow chart shows.
pub const TOP_PATHS: usize = 20;
pub const FLOW_STEPS: usize = 4;

/// A request's period and filters (`(dimension, "v1,v2")` pairs), checked against the data.
fn resolve(
    conn: &duckdb::Connection,
    from: Option<&str>,
    to: Option<&str>,
    filters: &[(String, String)],
) -> Result<(Period, Filters), AppError> {
    let period = view::resolve_period(conn, from, to)?;
    let filters = view::resolve_filters(conn, filters)?;
    Ok((period, filters))
}

/// The journey view of a period.
pub async fn journey_view(
    db: &Db,
    from: Option<String>,
    to: Option<String>,
    filters: Vec<(String, String)>,
) -> Result<JourneyView, AppError> {
    db.run(move |conn| {
        let (period, filters) = resolve(conn, from.as_deref(), to.as_deref(), &filters)?;
        view_blocking(conn, &period, &filters).map_err(AppError::from)
    })
    .await
}

/// The journey view of a resolved period and filters, on the caller's connection; the time of
/// each part is logged at debug level (the "journey view profile").
pub fn view_blocking(
    conn: &duckdb::Connection,
    period: &Period,
    filters: &Filters,
) -> Result<JourneyView, JourneyError> {
    let mut laps = crate::server::ops::laps::Laps::start("journey view");
    let summary = funnel::summary(conn, period, filters)?;
    laps.lap("summary");
    // Both funnels from their facts, else from one read of the steps.
    let [cross, store_funnel] = match funnel::facts::fixed(conn, period, filters)? {
        Some(both) => both,
        None => {
            let (cross, store) = (FunnelStepDef::cross_channel(), FunnelStepDef::store());
            funnel::funnels(conn, period, filters, [&cross[..], &store[..]])?
        }
    };
    laps.lap("funnels");
    let top = paths::top_paths(conn, period, filters, None, TOP_PATHS)?;
    laps.lap("paths");
    let flow = paths::flow(conn, period, filters, FLOW_STEPS)?;
    laps.lap("flow");
    let handoffs = handoff::matrix(conn, period, filters)?;
    laps.lap("handoffs");
    Ok(JourneyView {
        from: period.from(),
        to: period.to(),
        summary,
        funnel: cross,
        store_funnel,
        paths: top,
        flow,
        handoffs,
    })
}

/// The journeys page's data: the view and the pain point list (numbers only:
/// [`pain::Detail::List`]).
pub fn page_blocking(
    conn: &duckdb::Connection,
    period: &Period,
    filters: &Filters,
    locale: Locale,
) -> Result<(JourneyView, Vec<PainPoint>), JourneyError> {
    let view = view_blocking(conn, period, filters)?;
    let pains = pain::pain_list(conn, period, filters, locale)?;
    Ok((view, pains))
}

/// A funnel with the caller's steps.
pub async fn custom_funnel(
    db: &Db,
    from: Option<String>,
    to: Option<String>,
    filters: Vec<(String, String)>,
    steps: Vec<FunnelStepDef>,
) -> Result<FunnelReport, AppError> {
    db.run(move |conn| {
        let (period, filters) = resolve(conn, from.as_deref(), to.as_deref(), &filters)?;
        funnel::funnel(conn, &period, &filters, &steps).map_err(AppError::from)
    })
    .await
}

/// The pain points of a period, ranked by revenue lost.
pub async fn pain_points(
    db: &Db,
    from: Option<String>,
    to: Option<String>,
    filters: Vec<(String, String)>,
    locale: Locale,
) -> Result<Vec<PainPoint>, AppError> {
    db.run(move |conn| {
        let (period, filters) = resolve(conn, from.as_deref(), to.as_deref(), &filters)?;
        pain::pain_points(conn, &period, &filters, locale).map_err(AppError::from)
    })
    .await
}

/// One journey with its steps (a pain point's example).
pub async fn journey_detail(db: &Db, journey_id: i64) -> Result<JourneyDetail, AppError> {
    db.run(move |conn| customer::journey(conn, journey_id).map_err(AppError::from))
        .await
}

/// The customer 360 of whoever holds `identifier` (e-mail, phone, loyalty card, ...).
pub async fn find_customer(db: &Db, identifier: String) -> Result<CustomerProfile, AppError> {
    db.run(move |conn| {
        let id = customer::find(conn, &identifier)?;
        customer::profile(conn, id).map_err(AppError::from)
    })
    .await
}

/// The customer 360 of `customer_id` (from a pain point's example journeys).
pub async fn customer_profile(db: &Db, customer_id: i64) -> Result<CustomerProfile, AppError> {
    db.run(move |conn| customer::profile(conn, customer_id).map_err(AppError::from))
        .await
}

/// Right to be forgotten; the caller records the audit row with the report.
pub async fn erase_customer(db: &Db, customer_id: i64) -> Result<ErasureReport, AppError> {
    let db2 = db.clone();
    tokio::task::spawn_blocking(move || customer::erase(&db2, customer_id))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "erase task failed");
            AppError::Internal
        })?
        .map_err(AppError::from)
}

/// Right to be forgotten with its audit row (actor, customer number, counts and identifier
/// types, never a value), written in the erasure's transaction.
pub async fn erase_customer_audited(
    db: &Db,
    customer_id: i64,
    actor: String,
) -> Result<ErasureReport, AppError> {
    let db2 = db.clone();
    tokio::task::spawn_blocking(move || {
        customer::erase_then(&db2, customer_id, |tx, report| {
            crate::server::auth::audit::record(
                tx,
                &actor,
                "customer.erase",
                &customer_id.to_string(),
                None::<&()>,
                Some(report),
            )
            .map_err(JourneyError::from)
        })
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "erase task failed");
        AppError::Internal
    })?
    .map_err(AppError::from)
}

impl From<JourneyError> for AppError {
    fn from(err: JourneyError) -> Self {
        match err {
            JourneyError::Sql(_) | JourneyError::Db(_) | JourneyError::Rules(_) => {
                tracing::error!(error = %err, "journey query failed");
                AppError::Internal
            }
            JourneyError::NoCustomer(_) | JourneyError::NoJourney(_) => {
                AppError::NotFound(err.to_string())
            }
            other => AppError::BadRequest(other.to_string()),
        }
    }
}

fn chart_error(e: charts::ChartError) -> AppError {
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

/// A page's query split into the pairs `own` claims and the rest, re-encoded for
/// [`resolve_view`] (which takes every unknown parameter for a filter).
fn split_query(query: &str, own: impl Fn(&str) -> bool) -> (Vec<(String, String)>, String) {
    let (mine, rest): (Vec<_>, Vec<_>) = crate::url::parse(query)
        .into_iter()
        .partition(|(k, _)| own(k));
    let rest = crate::url::query(rest.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    (mine, rest.trim_start_matches('?').to_string())
}

/// The journey-step event types and the channels, for the custom funnel's select lists.
fn funnel_choices(conn: &duckdb::Connection) -> Result<(Vec<String>, Vec<String>), duckdb::Error> {
    let list = |sql: &str| -> Result<Vec<String>, duckdb::Error> {
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect()
    };
    Ok((
        list("SELECT event_type FROM event_types WHERE journey_step IS TRUE ORDER BY event_type")?,
        list("SELECT channel FROM channels ORDER BY channel")?,
    ))
}

/// The journey view of the query's period and filters, its funnel and flow charts and the
/// pain points.
pub async fn journeys_page(query: String) -> Result<JourneysPage, AppError> {
    let state = expect_context::<AppState>();
    let (view, state_view, pains, locale) = state
        .db
        .run(move |conn| {
            let resolved = resolve_view(conn, &query)?;
            let locale = resolved.locale;
            // The list shows the numbers; trend, breakdown and examples are the detail page's.
            let (view, pains) = page_blocking(conn, &resolved.period, &resolved.filters, locale)?;
            Ok::<_, AppError>((view, resolved.view, pains, locale))
        })
        .await?;
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
    let flow_chart = flow_chart::render(
        &view.flow,
        locale.text(Msg::FlowChartTitle),
        &|c| format!("{} {}", locale.text(Msg::Step), c + 1),
        &|n| format::number(n as f64, 0, locale),
    )
    .map_err(chart_error)?;
    Ok(JourneysPage {
        state: state_view,
        view,
        funnel_chart,
        flow_chart,
        store_funnel_chart,
        pains,
        acknowledged,
    })
}

/// The custom funnel of the query's steps (`t1`, `c1`, ...), period and filters.
pub async fn funnel_page(query: String) -> Result<FunnelPage, AppError> {
    let state = expect_context::<AppState>();
    let (mine, rest) = split_query(&query, is_step_param);
    let steps = steps_from_query(mine.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let defs = step_defs(&steps);
    let (view, report, (event_types, channels)) = state
        .db
        .run(move |conn| {
            let resolved = resolve_view(conn, &rest)?;
            let report = funnel::funnel(conn, &resolved.period, &resolved.filters, &defs)?;
            let choices = funnel_choices(conn).map_err(JourneyError::from)?;
            Ok::<_, AppError>((resolved.view, report, choices))
        })
        .await?;
    let locale = view.state.lang;
    let chart = render_funnel(&report.overall, locale.text(Msg::CustomFunnel), locale)?;
    Ok(FunnelPage {
        view,
        steps,
        report,
        chart,
        event_types,
        channels,
    })
}

/// The most days a before/after window may span.
pub const MAX_COMPARE_DAYS: u32 = 366;

/// Before/after the query's annotation (`annotation`) or day (`at`), over `days` days
/// (default 28), with the query's filters and custom funnel steps (if any).
pub async fn compare_page(query: String) -> Result<ComparePage, AppError> {
    let state = expect_context::<AppState>();
    let own = |k: &str| matches!(k, "at" | "days" | "annotation") || is_step_param(k);
    let (mine, rest) = split_query(&query, own);
    let get = |name: &str| {
        mine.iter()
            .find(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_string())
    };
    let days = match get("days") {
        Some(d) => d
            .parse::<u32>()
            .ok()
            .filter(|d| (1..=MAX_COMPARE_DAYS).contains(d))
            .ok_or_else(|| AppError::bad_request("days: a number from 1 to 366"))?,
        None => 28,
    };
    let annotation = match get("annotation") {
        Some(a) => Some(
            a.parse::<i64>()
                .map_err(|_| AppError::bad_request("annotation: a note number"))?,
        ),
        None => None,
    };
    let at_param = match get("at") {
        Some(d) => Some(
            chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                .map_err(|_| AppError::bad_request("at: a date (YYYY-MM-DD)"))?,
        ),
        None => None,
    };
    let steps = steps_from_query(mine.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let defs = step_defs(&steps);
    state
        .db
        .run(move |conn| {
            let resolved = resolve_view(conn, &rest)?;
            let locale = resolved.locale;
            let annotations = company_annotations(conn).map_err(JourneyError::from)?;
            // An annotation names the day; without one, the day given, else the period's end
            // minus the window (so "after" has happened).
            let at = match annotation {
                Some(id) => annotations
                    .iter()
                    .find(|a| a.id == id)
                    .map(|a| a.day)
                    .ok_or_else(|| AppError::NotFound(format!("annotation {id}")))?,
                None => match at_param {
                    Some(at) => at,
                    None => resolved
                        .period
                        .to()
                        .checked_sub_days(chrono::Days::new(u64::from(days) - 1))
                        .unwrap_or(resolved.period.to()),
                },
            };
            let (before, after) =
                compare::periods(at, days).map_err(|e| AppError::bad_request(e.to_string()))?;
            let c = compare::compare(conn, &before, &after, &resolved.filters, &defs, locale)?;
            Ok::<_, AppError>(ComparePage {
                view: resolved.view,
                at,
                days,
                annotation,
                annotations,
                before_from: before.from(),
                before_to: before.to(),
                after_from: after.from(),
                after_to: after.to(),
                steps,
                conversion: c.conversion,
                funnel: c.funnel,
                pains: c.pains,
            })
        })
        .await
}

/// The notes on the company view (newest first, at most 200): those every journey viewer may
/// read. Notes on a department or a KPI stay on their own pages.
fn company_annotations(conn: &duckdb::Connection) -> Result<Vec<AnnotationChoice>, duckdb::Error> {
    let mut stmt = conn.prepare(
        "SELECT id, CAST(day AS VARCHAR), text FROM annotations
         WHERE kpi IS NULL AND view_key = 'company' ORDER BY day DESC, id DESC LIMIT 200",
    )?;
    let rows = stmt.query_map([], |r| {
        let day: String = r.get(1)?;
        Ok(AnnotationChoice {
            id: r.get(0)?,
            day: chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(|e| {
                duckdb::Error::FromSqlConversionFailure(1, duckdb::types::Type::Text, Box::new(e))
            })?,
            text: r.get(2)?,
        })
    })?;
    rows.collect()
}

/// One pain point of the period with its trend chart and note.
pub async fn pain_page(
    who: &Principal,
    rule: String,
    from: Option<String>,
    to: Option<String>,
    lang: Option<String>,
) -> Result<PainPage, AppError> {
    let state = expect_context::<AppState>();
    let locale = Locale::parse(lang.as_deref());
    let (from_day, to_day, point) = state
        .db
        .run(move |conn| {
            let period = view::resolve_period(conn, from.as_deref(), to.as_deref())?;
            // Only the page's rule is evaluated, in full.
            let point = pain::pain_point(conn, &period, &Filters::none(), locale, &rule)?
                .ok_or_else(|| AppError::NotFound(format!("pain point {rule}")))?;
            Ok::<_, AppError>((period.from(), period.to(), point))
        })
        .await?;
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
pub async fn journey_page(who: &Principal, journey_id: i64) -> Result<JourneyPage, AppError> {
    let state = expect_context::<AppState>();
    let detail = journey_detail(&state.db, journey_id).await?;
    Ok(JourneyPage {
        detail,
        can_open_customer: policy::decide(Some(who), Access::View(View::Customer360), None)
            == Decision::Allow,
    })
}

/// The customer 360 by number, masked unless `who` sees personal data (an executive sees the
/// timeline and the numbers, with identifiers masked: docs/journeys.md).
pub async fn customer_page(who: &Principal, customer_id: i64) -> Result<CustomerPage, AppError> {
    let state = expect_context::<AppState>();
    let profile = customer_profile(&state.db, customer_id).await?;
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
