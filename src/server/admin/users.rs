//! Accounts: inviting, changing a role or department, disabling, resetting a password. Each
//! change is audited with the account before and after (never its password hash).

use duckdb::Connection;

use crate::admin::{UserRow, UsersPage};
use crate::auth::Role;
use crate::error::AppError;
use crate::server::auth::{audit, users};
use crate::server::forms::{Fields, field, optional};

use super::{AdminError, AdminForm, departments, invalid, run};

pub async fn users_page() -> Result<UsersPage, AppError> {
    run(|conn| {
        let users = users::list(conn)?
            .into_iter()
            .map(|u| UserRow {
                email: u.email,
                display_name: u.display_name,
                lang: u.lang,
                role: u.role,
                department: u.department,
                disabled: u.disabled,
                must_change_password: u.must_change_password,
                last_login_at: u.last_login_at.map(|t| t.chars().take(16).collect()),
            })
            .collect();
        Ok(UsersPage {
            users,
            departments: departments(conn)?,
        })
    })
    .await
}

fn role_field(fields: &Fields) -> Result<Role, AdminError> {
    let role = field(fields, "role");
    role.parse()
        .map_err(|en| invalid(en, format!("ruolo sconosciuto {role:?}")))
}

/// The department field, kept only for roles that have one.
fn department_field(fields: &Fields, role: Role) -> Option<String> {
    optional(fields, "department")
        .filter(|_| role.has_department())
        .map(str::to_string)
}

/// The language field, English when absent.
fn lang_field(fields: &Fields) -> String {
    optional(fields, "lang").unwrap_or("en").to_string()
}

/// `/admin/users/invite`: a new account with a one-time password.
pub struct InviteForm {
    pub email: String,
    pub name: String,
    pub lang: String,
    pub role: Role,
    pub department: Option<String>,
    pub password: String,
}

impl AdminForm for InviteForm {
    fn parse(f: &Fields) -> Result<Self, AdminError> {
        let role = role_field(f)?;
        Ok(Self {
            email: field(f, "email").to_string(),
            name: field(f, "name").to_string(),
            lang: lang_field(f),
            role,
            department: department_field(f, role),
            password: field(f, "password").to_string(),
        })
    }
}

/// `/admin/users/update`: an account's role, department, name and language.
pub struct UpdateForm {
    pub email: String,
    pub role: Role,
    pub department: Option<String>,
    pub name: String,
    pub lang: String,
}

impl AdminForm for UpdateForm {
    fn parse(f: &Fields) -> Result<Self, AdminError> {
        let role = role_field(f)?;
        Ok(Self {
            email: field(f, "email").to_string(),
            role,
            department: department_field(f, role),
            name: field(f, "name").to_string(),
            lang: lang_field(f),
        })
    }
}

/// `/admin/users/disable`: disables (`disabled=true`) or enables an account.
pub struct DisableForm {
    pub email: String,
    pub disable: bool,
}

impl AdminForm for DisableForm {
    fn parse(f: &Fields) -> Result<Self, AdminError> {
        Ok(Self {
            email: field(f, "email").to_string(),
            disable: field(f, "disabled") == "true",
        })
    }
}

/// `/admin/users/reset`: a new one-time password.
pub struct ResetForm {
    pub email: String,
    pub password: String,
}

impl AdminForm for ResetForm {
    fn parse(f: &Fields) -> Result<Self, AdminError> {
        Ok(Self {
            email: field(f, "email").to_string(),
            password: field(f, "password").to_string(),
        })
    }
}

handler!(
    invite_user,
    InviteForm,
    "/admin/users",
    |conn: &Connection, actor: &str, f: InviteForm| {
        let user = users::add(
            conn,
            &users::NewUser {
                email: &f.email,
                display_name: &f.name,
                lang: &f.lang,
                role: f.role,
                department: f.department.as_deref(),
                password: &f.password,
                one_time: true,
            },
        )?;
        audit::record(
            conn,
            actor,
            "user.invite",
            &user.email,
            None::<&()>,
            Some(&user),
        )?;
        Ok("invited")
    }
);

handler!(
    update_user,
    UpdateForm,
    "/admin/users",
    |conn: &Connection, actor: &str, f: UpdateForm| {
        let before = users::find(conn, &f.email)?;
        let after = users::update(
            conn,
            &f.email,
            f.role,
            f.department.as_deref(),
            &f.name,
            &f.lang,
        )?;
        audit::record(
            conn,
            actor,
            "user.update",
            &f.email,
            before.as_ref(),
            Some(&after),
        )?;
        Ok("updated")
    }
);

handler!(
    disable_user,
    DisableForm,
    "/admin/users",
    |conn: &Connection, actor: &str, f: DisableForm| {
        if actor_is(actor, &f.email) && f.disable {
            return Err(invalid(
                "you cannot disable your own account",
                "non puoi disattivare il tuo account",
            ));
        }
        let before = users::find(conn, &f.email)?;
        let after = users::set_disabled(conn, &f.email, f.disable)?;
        let action = if f.disable {
            "user.disable"
        } else {
            "user.enable"
        };
        audit::record(conn, actor, action, &f.email, before.as_ref(), Some(&after))?;
        Ok(if f.disable { "disabled" } else { "enabled" })
    }
);

/// Whether the acting admin is the account `email`.
fn actor_is(actor: &str, email: &str) -> bool {
    actor.eq_ignore_ascii_case(email.trim())
}

handler!(
    reset_password,
    ResetForm,
    "/admin/users",
    |conn: &Connection, actor: &str, f: ResetForm| {
        users::set_password(conn, &f.email, &f.password, true)?;
        audit::record::<(), ()>(conn, actor, "user.password_reset", &f.email, None, None)?;
        Ok("reset")
    }
);
