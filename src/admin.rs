//! What the admin pages show, as the views see it, and the server functions that fetch it:
//! each checks that the user is an admin, then calls its area's page function in
//! `server::admin`. Changes are plain HTML form posts to `/admin/...` (handled in
//! `server::admin`), so every admin task works without JavaScript.

use serde::{Deserialize, Serialize};

use crate::auth::Role;
use crate::error::AppError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub email: String,
    pub display_name: String,
    pub lang: String,
    pub role: Role,
    pub department: Option<String>,
    pub disabled: bool,
    pub must_change_password: bool,
    pub last_login_at: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepartmentRow {
    pub key: String,
    pub name_en: String,
    pub name_it: String,
    /// The views this department's viewers may open besides their own.
    pub grants: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsersPage {
    pub users: Vec<UserRow>,
    pub departments: Vec<DepartmentRow>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRow {
    pub name: String,
    pub role: String,
    pub department: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokensPage {
    pub tokens: Vec<TokenRow>,
    pub departments: Vec<DepartmentRow>,
    /// A token just created, shown this once.
    pub new_token: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KpiOwnerRow {
    pub key: String,
    pub name: String,
    pub owner: String,
    /// The catalog's owner, when an admin chose another.
    pub default_owner: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KpisPage {
    pub kpis: Vec<KpiOwnerRow>,
    pub departments: Vec<DepartmentRow>,
    /// The admin's derived KPIs (ratios of two KPIs).
    #[serde(default)]
    pub derived: Vec<DerivedKpiRow>,
    /// Every KPI a derived one may divide: (key, name in the page's language).
    #[serde(default)]
    pub parts: Vec<(String, String)>,
}

/// A derived KPI as its edit form shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DerivedKpiRow {
    pub key: String,
    pub name_en: String,
    pub name_it: String,
    pub description_en: String,
    pub description_it: String,
    pub numerator: String,
    pub denominator: String,
    pub unit: crate::kpi::Unit,
    pub direction: crate::kpi::Direction,
    pub owner: String,
    pub created_by: String,
    pub created_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingRow {
    pub key: String,
    pub value: String,
    /// What the setting does and which values it takes (English and Italian).
    pub help_en: String,
    pub help_it: String,
    /// May be left empty (the form does not require it).
    #[serde(default)]
    pub optional: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditRow>,
    pub total: i64,
    pub offset: u32,
    pub limit: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRow {
    pub name: String,
    pub kind: String,
    pub mapping_file: String,
    pub mapping: String,
}

#[leptos::server(endpoint = "admin_sources")]
pub async fn admin_sources() -> Result<Vec<SourceRow>, AppError> {
    crate::server::auth::require(crate::server::auth::policy::Access::Admin, None)?;
    crate::server::admin::sources::sources_page().await
}

#[leptos::server(endpoint = "admin_users")]
pub async fn admin_users() -> Result<UsersPage, AppError> {
    crate::server::auth::require(crate::server::auth::policy::Access::Admin, None)?;
    crate::server::admin::users::users_page().await
}

#[leptos::server(endpoint = "admin_tokens")]
pub async fn admin_tokens() -> Result<TokensPage, AppError> {
    crate::server::auth::require(crate::server::auth::policy::Access::Admin, None)?;
    crate::server::admin::tokens::tokens_page().await
}

#[leptos::server(endpoint = "admin_departments")]
pub async fn admin_departments() -> Result<Vec<DepartmentRow>, AppError> {
    crate::server::auth::require(crate::server::auth::policy::Access::Admin, None)?;
    crate::server::admin::departments::departments_page().await
}

#[leptos::server(endpoint = "admin_kpis")]
pub async fn admin_kpis(lang: Option<String>) -> Result<KpisPage, AppError> {
    crate::server::auth::require(crate::server::auth::policy::Access::Admin, None)?;
    crate::server::admin::kpis::kpis_page(lang).await
}

#[leptos::server(endpoint = "admin_settings")]
pub async fn admin_settings() -> Result<Vec<SettingRow>, AppError> {
    crate::server::auth::require(crate::server::auth::policy::Access::Admin, None)?;
    crate::server::admin::settings::settings_page().await
}

#[leptos::server(endpoint = "admin_audit")]
pub async fn admin_audit(offset: Option<u32>) -> Result<AuditPage, AppError> {
    crate::server::auth::require(crate::server::auth::policy::Access::Admin, None)?;
    crate::server::admin::audit::audit_page(offset.unwrap_or(0)).await
}

/// The identity rules page: the rules in force, a simulation of proposed rules, and the
/// customers whose merge looks suspicious.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IdentityAdminPage {
    /// The TOML in force (or the proposed text when simulating).
    pub rules: String,
    /// The stored version in force; None: the built-in defaults.
    pub version: Option<i64>,
    /// What the proposed rules would change: "label: before → after" lines, already formatted.
    pub simulation: Vec<(String, String)>,
    /// Why the proposed rules were refused (with the line).
    pub error: Option<String>,
    /// Suspicious merges: customer, reason, value.
    pub flags: Vec<(i64, String, i64)>,
    /// Identifiers shared by too many people (not used for linking): type, value, how many
    /// distinct identifiers they were seen with; most shared first.
    pub ignored: Vec<(String, String, i64)>,
}

#[leptos::server(endpoint = "admin_identity")]
pub async fn admin_identity(proposed: Option<String>) -> Result<IdentityAdminPage, AppError> {
    crate::server::auth::require(crate::server::auth::policy::Access::Admin, None)?;
    crate::server::identity::forms::admin_page(proposed).await
}
