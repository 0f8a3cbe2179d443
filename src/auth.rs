//! Who is signed in, as the views see it: roles, the current user, and the server function
//! that tells a page who is looking at it.
//!
//! What each role may do is decided on the server only, in `server::auth::policy`; the views
//! use [`CurrentUser`] to show or hide controls, never to protect anything.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The roles of DESIGN.md ("Users and what each needs").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Executive,
    /// Lead of one department.
    Lead,
    CxOfficer,
    /// Viewer of one department.
    Viewer,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Executive,
        Role::Lead,
        Role::CxOfficer,
        Role::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Executive => "executive",
            Role::Lead => "lead",
            Role::CxOfficer => "cx_officer",
            Role::Viewer => "viewer",
        }
    }

    /// Whether a user of this role belongs to one department (and must name it).
    pub fn has_department(self) -> bool {
        matches!(self, Role::Lead | Role::Viewer)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!("unknown role {s:?} (admin, executive, lead, cx_officer, viewer)")
            })
    }
}

/// The signed-in user as a page sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub email: String,
    pub display_name: String,
    pub lang: String,
    pub role: Role,
    pub department: Option<String>,
    /// Identifiers and timelines are shown unmasked.
    pub sees_personal_data: bool,
    /// May open the journey view (the header shows its link).
    #[serde(default)]
    pub sees_journeys: bool,
    /// Signed in with a one-time password: must choose their own before anything else.
    pub must_change_password: bool,
    /// For viewers: the views their department was granted besides its own.
    pub views: Vec<String>,
}

/// Whoever is looking at a page: the signed-in user, if any, and the session's anti-forgery
/// token that every form must send back.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visitor {
    pub user: Option<CurrentUser>,
    pub csrf: String,
    /// Alerts of the views the user may open that they have not read (the header's bell).
    #[serde(default)]
    pub unread_alerts: u32,
}

impl Visitor {
    pub fn role(&self) -> Option<Role> {
        self.user.as_ref().map(|u| u.role)
    }
}

/// Who is behind this request.
#[leptos::server(endpoint = "visitor")]
pub async fn fetch_visitor() -> Result<Visitor, AppError> {
    let mut visitor = crate::server::auth::visitor().await;
    if visitor.user.is_some() {
        let state = leptos::prelude::expect_context::<crate::server::state::AppState>();
        visitor.unread_alerts = crate::server::alerts::unread_for_current(&state.db).await;
    }
    Ok(visitor)
}
