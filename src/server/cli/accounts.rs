//! Who may use omnikpi: `user add|list|passwd|disable|enable` and `token create|list|revoke`.
//! Every change is written to the audit log in the same transaction.

use anyhow::Context;
use clap::Subcommand;

use crate::auth::Role;
use crate::server::auth::{audit, users};
use crate::server::db::Db;
use crate::server::tokens;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. The password is asked for (twice) or read from stdin.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = ["admin", "executive", "lead", "cx_officer", "viewer"])]
        role: String,
        /// The department of a lead or a viewer (marketing, sales, stores, ...).
        #[arg(long)]
        department: Option<String>,
        /// Display name (default: the part of the e-mail before @).
        #[arg(long, default_value = "")]
        name: String,
        #[arg(long, default_value = "en", value_parser = ["en", "it"])]
        lang: String,
        /// Read the password from the first line of stdin instead of prompting.
        #[arg(long)]
        password_stdin: bool,
        /// An invitation: the user must choose a new password at first sign-in.
        #[arg(long)]
        one_time: bool,
    },
    /// List accounts.
    List,
    /// Set a user's password (asked for, or from stdin).
    Passwd {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password_stdin: bool,
        /// The user must replace it at the next sign-in.
        #[arg(long)]
        one_time: bool,
    },
    /// Disable an account; its sessions end at once.
    Disable {
        #[arg(long)]
        email: String,
    },
    /// Enable a disabled account again.
    Enable {
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; it is printed once and stored only as a hash.
    Create {
        #[arg(long)]
        name: String,
        /// ingest (may only send events), or a user role to read the API with.
        #[arg(long, default_value = "ingest",
              value_parser = ["ingest", "admin", "executive", "lead", "cx_officer", "viewer"])]
        role: String,
        /// The department of a lead or viewer token.
        #[arg(long)]
        department: Option<String>,
    },
    /// List tokens (never the tokens themselves).
    List,
    /// Revoke a token.
    Revoke {
        #[arg(long)]
        name: String,
    },
}

pub fn user(db: &Db, command: UserCommand) -> anyhow::Result<()> {
    let conn = db.connect()?;
    match command {
        UserCommand::Add {
            email,
            role,
            department,
            name,
            lang,
            password_stdin,
            one_time,
        } => {
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            let secret = read_password(password_stdin)?;
            let tx = conn.unchecked_transaction()?;
            let user = users::add(
                &tx,
                &users::NewUser {
                    email: &email,
                    display_name: &name,
                    lang: &lang,
                    role,
                    department: department.as_deref(),
                    password: &secret,
                    one_time,
                },
            )?;
            audit::record(
                &tx,
                "cli",
                "user.add",
                &user.email,
                None::<&()>,
                Some(&user),
            )?;
            tx.commit()?;
            println!("user {} ({role}) created", user.email);
        }
        UserCommand::List => {
            for u in users::list(&conn)? {
                let role = match &u.department {
                    Some(d) => format!("{} ({d})", u.role),
                    None => u.role.to_string(),
                };
                let state = if u.disabled { "disabled" } else { "active" };
                let last = u.last_login_at.unwrap_or_else(|| "never".into());
                println!("{:<36} {role:<24} {state:<8} last sign-in {last}", u.email);
            }
        }
        UserCommand::Passwd {
            email,
            password_stdin,
            one_time,
        } => {
            let secret = read_password(password_stdin)?;
            let tx = conn.unchecked_transaction()?;
            users::set_password(&tx, &email, &secret, one_time)?;
            audit::record::<(), ()>(&tx, "cli", "user.password", &email, None, None)?;
            tx.commit()?;
            println!("password of {email} changed; their sessions ended");
        }
        UserCommand::Disable { email } => set_disabled(&conn, &email, true)?,
        UserCommand::Enable { email } => set_disabled(&conn, &email, false)?,
    }
    Ok(())
}

fn set_disabled(conn: &duckdb::Connection, email: &str, disabled: bool) -> anyhow::Result<()> {
    let tx = conn.unchecked_transaction()?;
    let before = users::find(&tx, email)?;
    let after = users::set_disabled(&tx, email, disabled)?;
    let action = if disabled {
        "user.disable"
    } else {
        "user.enable"
    };
    audit::record(&tx, "cli", action, email, before.as_ref(), Some(&after))?;
    tx.commit()?;
    println!("{email} {}", if disabled { "disabled" } else { "enabled" });
    Ok(())
}

/// Reads a new password: the first line of stdin, or twice from the terminal without echo.
fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    let first = rpassword::prompt_password("Password (at least 12 characters): ")
        .context("reading the password (use --password-stdin without a terminal)")?;
    let second = rpassword::prompt_password("Repeat it: ").context("reading the password")?;
    if first != second {
        anyhow::bail!("the two passwords differ; nothing was changed");
    }
    Ok(first)
}

pub fn token(db: &Db, command: TokenCommand) -> anyhow::Result<()> {
    let conn = db.connect()?;
    match command {
        TokenCommand::Create {
            name,
            role,
            department,
        } => {
            let tx = conn.unchecked_transaction()?;
            let token = tokens::create(&tx, &name, &role, department.as_deref())?;
            audit::record(
                &tx,
                "cli",
                "token.create",
                &name,
                None::<&()>,
                Some(&serde_json::json!({ "role": role, "department": department })),
            )?;
            tx.commit()?;
            println!("{token}");
            eprintln!("token {name} created; it is shown only now, keep it safe");
        }
        TokenCommand::List => {
            for t in tokens::list(&conn)? {
                let state = if t.revoked { "revoked" } else { "active" };
                let used = t.last_used_at.unwrap_or_else(|| "never".into());
                let role = match &t.department {
                    Some(d) => format!("{} ({d})", t.role),
                    None => t.role.clone(),
                };
                println!(
                    "{:<20} {role:<20} {state:<8} created {}  last used {used}",
                    t.name, t.created_at
                );
            }
        }
        TokenCommand::Revoke { name } => {
            let tx = conn.unchecked_transaction()?;
            tokens::revoke(&tx, &name)?;
            audit::record::<(), ()>(&tx, "cli", "token.revoke", &name, None, None)?;
            tx.commit()?;
            println!("token {name} revoked");
        }
    }
    Ok(())
}
