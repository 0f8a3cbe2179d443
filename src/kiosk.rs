//! Kiosk links as the views see them: what a kiosk screen shows (`/kiosk/TOKEN`) and the
//! admin list of links, with their server functions. The kiosk's server function is public:
//! the token it is given is the credential, resolved server-side to the one store or department
//! it shows (`server::kiosk`). Creating and revoking links are plain form posts
//! (`server::admin::kiosk`).

use serde::{Deserialize, Serialize};

use crate::dashboard::TargetRow;
use crate::error::AppError;
use crate::kpi::KpiValue;

/// One tile of a kiosk: the KPI and, on a department's screen, the target that applies
/// (`Some(None)`: none is set; `None`: targets are not shown).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KioskTile {
    pub kpi: KpiValue,
    pub target: Option<Option<TargetRow>>,
}

/// What a kiosk screen shows: a title (the store or department), the period and the tiles.
/// Nothing personal: KPI values and targets only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KioskView {
    pub title: String,
    pub subtitle: String,
    pub tiles: Vec<KioskTile>,
    pub refresh_seconds: u32,
}

/// A kiosk link as the admin list shows it (never its token).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KioskLinkRow {
    pub id: i64,
    /// `store:MI01` or `department:online`, as the link's row says.
    pub scope: String,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: String,
    pub last_used_at: Option<String>,
    pub revoked: bool,
    pub expired: bool,
}

/// The kiosk links page: the links, the stores and departments a link may show, and the URL
/// of a link just created (shown this once).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KioskLinksPage {
    pub links: Vec<KioskLinkRow>,
    /// (store id, name).
    pub stores: Vec<(String, String)>,
    /// The departments the visitor may create a link for (only `stores` for its lead).
    pub departments: Vec<String>,
    pub new_url: Option<String>,
    pub default_days: u32,
    pub max_days: u32,
}

/// What the kiosk link `token` shows, in `lang`; `None` when the link is unknown, expired or
/// revoked.
#[leptos::server(endpoint = "kiosk_view")]
pub async fn fetch_kiosk_view(
    token: String,
    lang: Option<String>,
) -> Result<Option<KioskView>, AppError> {
    // Public: the token is the credential, checked by the service against its stored hash.
    let state = leptos::prelude::expect_context::<crate::server::state::AppState>();
    crate::server::kiosk::kiosk_view(&state.db, token, lang).await
}

/// The kiosk links page (admins, and the stores lead for store links).
#[leptos::server(endpoint = "admin_kiosk")]
pub async fn admin_kiosk_links() -> Result<KioskLinksPage, AppError> {
    let who = crate::server::auth::require(
        crate::server::auth::policy::Access::Edit(crate::server::auth::policy::Edit::KioskLinks),
        None,
    )?;
    crate::server::admin::kiosk::kiosk_page(who).await
}
