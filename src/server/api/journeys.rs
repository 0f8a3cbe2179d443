//! `/api/v1/journeys` and `/api/v1/pain-points`: the journey view and the pain points of a
//! period, from the same service as the `/journeys` pages
//! ([`crate::server::journey::service`]).

use axum::Json;
use axum::extract::{Query, State};

use crate::i18n::Locale;
use crate::server::journey::service;
use crate::server::state::AppState;

use super::{ApiError, ErrorBody};

/// The period, language and filters of a journeys endpoint: `from`, `to`, `lang`, and the
/// rest as filters (checked by the service, so a misspelt one is refused).
struct JourneyQuery {
    from: Option<String>,
    to: Option<String>,
    locale: Locale,
    filters: Vec<(String, String)>,
}

impl JourneyQuery {
    fn parse(pairs: Vec<(String, String)>) -> Self {
        let mut query = JourneyQuery {
            from: None,
            to: None,
            locale: Locale::default(),
            filters: Vec::new(),
        };
        for (name, value) in pairs {
            match name.as_str() {
                "from" => query.from = Some(value),
                "to" => query.to = Some(value),
                "lang" => query.locale = Locale::parse(Some(&value)),
                _ => query.filters.push((name, value)),
            }
        }
        query
    }
}

/// `GET /api/v1/journeys`: the journey view of a period (summary, funnels, paths, flow,
/// hand-offs), the same numbers as the `/journeys` page.
#[utoipa::path(get, path = "/journeys", tag = "journeys",
    params(
        ("from" = Option<String>, Query, description = "First day journeys start on, YYYY-MM-DD (default: 30 days ending today)"),
        ("to" = Option<String>, Query, description = "Last day, YYYY-MM-DD, inclusive"),
        ("channel" = Option<String>, Query, description = "Filter, as for /kpis: a journey is kept when one of its steps matches"),
    ),
    responses(
        (status = 200, body = crate::journey::JourneyView),
        (status = 400, body = ErrorBody, description = "A bad date or filter"),
    ))]
pub(super) async fn journeys(
    State(state): State<AppState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<crate::journey::JourneyView>, ApiError> {
    let q = JourneyQuery::parse(pairs);
    let view = service::journey_view(&state.db, q.from, q.to, q.filters).await?;
    Ok(Json(view))
}

/// `GET /api/v1/pain-points`: the pain points of a period, ranked by revenue lost, each with
/// its formula, trend, breakdown and example journeys.
#[utoipa::path(get, path = "/pain-points", tag = "journeys",
    params(
        ("from" = Option<String>, Query, description = "First day, YYYY-MM-DD"),
        ("to" = Option<String>, Query, description = "Last day, YYYY-MM-DD, inclusive"),
        ("lang" = Option<String>, Query, description = "en or it, for names and descriptions"),
        ("channel" = Option<String>, Query, description = "Filter, as for /kpis"),
    ),
    responses(
        (status = 200, body = Vec<crate::journey::PainPoint>),
        (status = 400, body = ErrorBody, description = "A bad date or filter"),
    ))]
pub(super) async fn pain_points(
    State(state): State<AppState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Vec<crate::journey::PainPoint>>, ApiError> {
    let q = JourneyQuery::parse(pairs);
    let points = service::pain_points(&state.db, q.from, q.to, q.filters, q.locale).await?;
    Ok(Json(points))
}
