//! `GET /theme?set=light|dark|auto&back=/path`: remembers the theme in a cookie for a year
//! and goes back to the page the switch was on (see `crate::theme`). A plain link, so the
//! switch works without JavaScript; `auto` forgets the choice.

use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::theme::{THEME_COOKIE, Theme, local_target};

use super::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/theme", get(set_theme))
}

#[derive(Debug, serde::Deserialize)]
pub struct ThemeQuery {
    #[serde(default)]
    set: String,
    #[serde(default)]
    back: String,
}

async fn set_theme(Query(query): Query<ThemeQuery>) -> Response {
    let theme = Theme::parse(&query.set);
    let cookie = match theme {
        Theme::Auto => format!("{THEME_COOKIE}=; Path=/; Max-Age=0; SameSite=Lax"),
        other => format!(
            "{THEME_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            other.code()
        ),
    };
    let back = local_target(&query.back);
    let (Ok(cookie), Ok(location)) = (HeaderValue::from_str(&cookie), HeaderValue::from_str(back))
    else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    (
        StatusCode::SEE_OTHER,
        [(header::SET_COOKIE, cookie), (header::LOCATION, location)],
    )
        .into_response()
}
