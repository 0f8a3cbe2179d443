//! User accounts: creation, lookup, password changes, roles and departments, disabling.
//!
//! Functions take a connection so the CLI, the admin pages and tests share them; callers that
//! change something also write the audit log (see [`super::audit`]).

use duckdb::{Connection, OptionalExt, params};

use crate::auth::Role;

use super::password::{self, PasswordError};

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("{0:?} is not an e-mail address")]
    BadEmail(String),
    #[error("a user with e-mail {0:?} already exists")]
    Exists(String),
    #[error("no user with e-mail {0:?}")]
    NotFound(String),
    #[error("role {0} needs a department (--department)")]
    DepartmentRequired(Role),
    #[error("role {0} has no department")]
    NoDepartment(Role),
    #[error("unknown department {0:?}")]
    UnknownDepartment(String),
    #[error("language must be en or it, not {0:?}")]
    BadLang(String),
    #[error("the last active admin cannot lose that role or be disabled")]
    LastAdmin,
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error("database error: {0}")]
    Sql(#[from] duckdb::Error),
}

impl UserError {
    /// The message in Italian (the Display text is English).
    pub fn italian(&self) -> String {
        match self {
            UserError::BadEmail(e) => format!("{e:?} non è un indirizzo e-mail"),
            UserError::Exists(e) => format!("esiste già un utente con e-mail {e:?}"),
            UserError::NotFound(e) => format!("nessun utente con e-mail {e:?}"),
            UserError::DepartmentRequired(role) => format!("il ruolo {role} richiede un reparto"),
            UserError::NoDepartment(role) => format!("il ruolo {role} non ha un reparto"),
            UserError::UnknownDepartment(d) => format!("reparto sconosciuto {d:?}"),
            UserError::BadLang(l) => format!("la lingua deve essere en o it, non {l:?}"),
            UserError::LastAdmin => {
                "l'ultimo amministratore attivo non può perdere il ruolo né essere disattivato"
                    .into()
            }
            UserError::Password(e) => e.italian(),
            UserError::Sql(e) => format!("errore del database: {e}"),
        }
    }
}

/// An account as stored (the hash never leaves the server).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub lang: String,
    pub role: Role,
    pub department: Option<String>,
    /// Skipped when an account is written to the audit log; the type itself cannot be
    /// serialised or printed.
    #[serde(skip)]
    pub password_hash: super::password::StoredHash,
    pub must_change_password: bool,
    pub disabled: bool,
    pub last_login_at: Option<String>,
}

/// What `add` needs.
#[derive(Clone, Debug)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub lang: &'a str,
    pub role: Role,
    pub department: Option<&'a str>,
    pub password: &'a str,
    /// An invitation: the user must choose a new password at first sign-in.
    pub one_time: bool,
}

const SELECT: &str = "SELECT user_id, email, display_name, lang, role, department, password_hash,
        must_change_password, disabled_at IS NOT NULL, CAST(last_login_at AS VARCHAR)
    FROM users";

fn from_row(row: &duckdb::Row<'_>) -> duckdb::Result<User> {
    let role: String = row.get(4)?;
    Ok(User {
        id: row.get(0)?,
        email: row.get(1)?,
        display_name: row.get(2)?,
        lang: row.get(3)?,
        // The column only ever receives Role::as_str values; an unknown one (a hand edit)
        // becomes the least privileged role rather than an error that locks everybody out.
        role: role.parse().unwrap_or(Role::Viewer),
        department: row.get(5)?,
        password_hash: row.get(6)?,
        must_change_password: row.get(7)?,
        disabled: row.get(8)?,
        last_login_at: row.get(9)?,
    })
}

/// E-mails are compared case-insensitively: stored trimmed and lower-cased.
pub fn normalise_email(email: &str) -> Result<String, UserError> {
    let email = email.trim().to_lowercase();
    let ok = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    if ok {
        Ok(email)
    } else {
        Err(UserError::BadEmail(email))
    }
}

fn check_role_department(
    conn: &Connection,
    role: Role,
    department: Option<&str>,
) -> Result<(), UserError> {
    match (role.has_department(), department) {
        (true, None) => Err(UserError::DepartmentRequired(role)),
        (false, Some(_)) => Err(UserError::NoDepartment(role)),
        (_, Some(d)) => {
            let known: i64 = conn.query_row(
                "SELECT count(*) FROM departments WHERE department = ? AND department <> 'company'",
                [d],
                |r| r.get(0),
            )?;
            if known == 0 {
                Err(UserError::UnknownDepartment(d.to_string()))
            } else {
                Ok(())
            }
        }
        (false, None) => Ok(()),
    }
}

fn check_lang(lang: &str) -> Result<(), UserError> {
    if matches!(lang, "en" | "it") {
        Ok(())
    } else {
        Err(UserError::BadLang(lang.to_string()))
    }
}

/// Creates an account.
pub fn add(conn: &Connection, new: &NewUser<'_>) -> Result<User, UserError> {
    let email = normalise_email(new.email)?;
    check_role_department(conn, new.role, new.department)?;
    check_lang(new.lang)?;
    if find(conn, &email)?.is_some() {
        return Err(UserError::Exists(email));
    }
    let hash = password::hash(new.password)?;
    let name = match new.display_name.trim() {
        "" => email.split('@').next().unwrap_or_default().to_string(),
        name => name.to_string(),
    };
    conn.execute(
        "INSERT INTO users (email, display_name, lang, role, department, password_hash,
                            must_change_password)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
        params![
            email,
            name,
            new.lang,
            new.role.as_str(),
            new.department,
            hash,
            new.one_time
        ],
    )?;
    find(conn, &email)?.ok_or(UserError::NotFound(email))
}

/// The account with this e-mail, disabled or not.
pub fn find(conn: &Connection, email: &str) -> Result<Option<User>, UserError> {
    let email = email.trim().to_lowercase();
    Ok(conn
        .query_row(&format!("{SELECT} WHERE email = ?"), [email], from_row)
        .optional()?)
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<User>, UserError> {
    Ok(conn
        .query_row(&format!("{SELECT} WHERE user_id = ?"), [id], from_row)
        .optional()?)
}

/// Every account, by e-mail.
pub fn list(conn: &Connection) -> Result<Vec<User>, UserError> {
    let mut stmt = conn.prepare(&format!("{SELECT} ORDER BY email"))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Whether an enabled admin exists (the server serves no dashboard until one does).
pub fn admin_exists(conn: &Connection) -> Result<bool, UserError> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL",
        [],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

fn other_active_admins(conn: &Connection, id: i64) -> Result<i64, UserError> {
    Ok(conn.query_row(
        "SELECT count(*) FROM users
         WHERE role = 'admin' AND disabled_at IS NULL AND user_id <> ?",
        [id],
        |r| r.get(0),
    )?)
}

/// Sets a new password. `one_time`: an admin's reset, to be replaced at the next sign-in.
pub fn set_password(
    conn: &Connection,
    email: &str,
    password: &str,
    one_time: bool,
) -> Result<(), UserError> {
    let user = find(conn, email)?.ok_or_else(|| UserError::NotFound(email.to_string()))?;
    let hash = password::hash(password)?;
    conn.execute(
        "UPDATE users SET password_hash = ?, must_change_password = ? WHERE user_id = ?",
        params![hash, one_time, user.id],
    )?;
    // Other sessions of this user end: whoever knew the old password is out.
    super::store::delete_user_sessions(conn, user.id)?;
    Ok(())
}

/// Disables (or re-enables) an account; its sessions end at once.
pub fn set_disabled(conn: &Connection, email: &str, disabled: bool) -> Result<User, UserError> {
    let user = find(conn, email)?.ok_or_else(|| UserError::NotFound(email.to_string()))?;
    if disabled && user.role == Role::Admin && other_active_admins(conn, user.id)? == 0 {
        return Err(UserError::LastAdmin);
    }
    conn.execute(
        "UPDATE users SET disabled_at = CASE WHEN ? THEN now() END WHERE user_id = ?",
        params![disabled, user.id],
    )?;
    if disabled {
        super::store::delete_user_sessions(conn, user.id)?;
    }
    get(conn, user.id)?.ok_or_else(|| UserError::NotFound(email.to_string()))
}

/// Changes the role, department, name and language of an account.
pub fn update(
    conn: &Connection,
    email: &str,
    role: Role,
    department: Option<&str>,
    display_name: &str,
    lang: &str,
) -> Result<User, UserError> {
    let user = find(conn, email)?.ok_or_else(|| UserError::NotFound(email.to_string()))?;
    check_role_department(conn, role, department)?;
    check_lang(lang)?;
    if user.role == Role::Admin && role != Role::Admin && other_active_admins(conn, user.id)? == 0 {
        return Err(UserError::LastAdmin);
    }
    let name = match display_name.trim() {
        "" => user.display_name.clone(),
        name => name.to_string(),
    };
    conn.execute(
        "UPDATE users SET role = ?, department = ?, display_name = ?, lang = ? WHERE user_id = ?",
        params![role.as_str(), department, name, lang, user.id],
    )?;
    get(conn, user.id)?.ok_or_else(|| UserError::NotFound(email.to_string()))
}

/// Sets the language a user's pages open in.
pub fn set_lang(conn: &Connection, email: &str, lang: &str) -> Result<(), UserError> {
    check_lang(lang)?;
    let n = conn.execute(
        "UPDATE users SET lang = ? WHERE email = ?",
        params![lang, email.trim().to_lowercase()],
    )?;
    if n == 0 {
        return Err(UserError::NotFound(email.to_string()));
    }
    Ok(())
}

/// Whether a department's viewers may open the company view.
pub fn department_sees_company(conn: &Connection, department: &str) -> Result<bool, UserError> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM department_views WHERE department = ? AND view = 'company'",
        [department],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

/// Records a successful sign-in.
pub fn touch_login(conn: &Connection, id: i64) -> Result<(), UserError> {
    conn.execute(
        "UPDATE users SET last_login_at = now() WHERE user_id = ?",
        [id],
    )?;
    Ok(())
}

/// A demo account.
pub struct DemoUser {
    pub email: &'static str,
    pub name: &'static str,
    pub role: Role,
    pub department: Option<&'static str>,
    pub lang: &'static str,
    pub password: &'static str,
}

const fn demo(
    email: &'static str,
    name: &'static str,
    role: Role,
    department: Option<&'static str>,
    lang: &'static str,
    password: &'static str,
) -> DemoUser {
    DemoUser {
        email,
        name,
        role,
        department,
        lang,
        password,
    }
}

/// The demo's accounts, one per role, with their documented passwords (README, and printed
/// by `omnikpi demo`). Only ever created by the demo command.
pub const DEMO_USERS: &[DemoUser] = &[
    demo(
        "admin@demo.omnikpi.test",
        "Ada Admin",
        Role::Admin,
        None,
        "en",
        "demo-admin-2026",
    ),
    demo(
        "ceo@demo.omnikpi.test",
        "Carla Conti",
        Role::Executive,
        None,
        "en",
        "demo-executive-2026",
    ),
    demo(
        "marketing@demo.omnikpi.test",
        "Marco Marini",
        Role::Lead,
        Some("marketing"),
        "it",
        "demo-marketing-2026",
    ),
    demo(
        "stores@demo.omnikpi.test",
        "Sara Sala",
        Role::Lead,
        Some("stores"),
        "en",
        "demo-stores-2026",
    ),
    demo(
        "cx@demo.omnikpi.test",
        "Chiara Costa",
        Role::CxOfficer,
        None,
        "en",
        "demo-cx-officer-2026",
    ),
    demo(
        "viewer@demo.omnikpi.test",
        "Vito Villa",
        Role::Viewer,
        Some("stores"),
        "en",
        "demo-viewer-2026",
    ),
];

/// Creates the demo accounts that do not exist yet; returns how many were created.
pub fn add_demo_users(conn: &Connection) -> Result<usize, UserError> {
    let mut created = 0;
    for user in DEMO_USERS {
        if find(conn, user.email)?.is_some() {
            continue;
        }
        add(
            conn,
            &NewUser {
                email: user.email,
                display_name: user.name,
                lang: user.lang,
                role: user.role,
                department: user.department,
                password: user.password,
                one_time: false,
            },
        )?;
        created += 1;
    }
    Ok(created)
}
