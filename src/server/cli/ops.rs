//! `omnikpi backup DIR`, `omnikpi restore DIR [--force]`, `omnikpi export --parquet DIR`,
//! `omnikpi export --lake DIR`.
//!
//! These run before the database is opened by the command line: a restore must not create
//! and migrate an empty database first, and a backup of a database a running server holds
//! (DuckDB lets one process open a file for writing) is asked of that server with `--url`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;

use crate::server::config::Config;
use crate::server::db::Db;
use crate::server::ops::backup as snapshot;

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// A new or empty folder to write the backup to.
    pub dir: PathBuf,
    /// Ask the server running at this address (http://127.0.0.1:3000) to take the backup, when
    /// it holds the database.
    #[arg(long)]
    pub url: Option<String>,
    /// An admin API token for `--url` (`omnikpi token create --name ops --role admin`).
    #[arg(long, env = "OMNIKPI_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A folder written by `omnikpi backup`.
    pub dir: PathBuf,
    /// Replace a database that already holds data (kept as <db>.before-restore).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct ExportArgs {
    /// Write every event as Parquet under this new or empty folder, partitioned by month.
    #[arg(long, value_name = "DIR")]
    pub parquet: Option<PathBuf>,
    /// Write (or bring up to date) a lake for the Spark engine in this folder: the events of
    /// the loads not exported yet, the other tables whole, and manifest.json (docs/scaling.md).
    #[arg(long, value_name = "DIR")]
    pub lake: Option<PathBuf>,
}

fn open(config: &Config) -> anyhow::Result<Db> {
    Db::open_limited(&config.db, &config.time_zone, config.memory_limit.as_ref()).map_err(|e| {
        let text = e.to_string();
        if text.contains("lock") {
            anyhow::anyhow!(
                "{text}\nthe database is in use (a running server?); ask the server instead: \
                 omnikpi backup DIR --url http://ADDRESS --token ADMIN_TOKEN"
            )
        } else {
            anyhow::Error::new(e)
        }
    })
}

pub fn backup(config: &Config, args: BackupArgs) -> anyhow::Result<()> {
    let dir = absolute(&args.dir)?;
    if let Some(url) = args.url {
        let token = args
            .token
            .context("--url needs an admin token: --token or OMNIKPI_TOKEN")?;
        let body = serde_json::json!({ "dir": dir.display().to_string() }).to_string();
        let (status, answer) = post_json(&url, "/ops/backup", &token, &body)?;
        if status != 200 {
            bail!("the server answered {status}: {answer}");
        }
        println!("backup taken by the server: {answer}");
        return Ok(());
    }
    let db = open(config)?;
    let summary = snapshot::backup(&db, &dir)?;
    println!(
        "backup of {} (schema version {}, {} events) written to {}",
        config.db.display(),
        summary.schema_version,
        summary.events,
        summary.dir.display()
    );
    Ok(())
}

pub fn restore(config: &Config, args: RestoreArgs) -> anyhow::Result<()> {
    let events = snapshot::restore(&args.dir, &config.db, &config.time_zone, args.force)?;
    println!(
        "{} restored from {} ({events} events)",
        config.db.display(),
        args.dir.display()
    );
    Ok(())
}

pub fn export(config: &Config, args: ExportArgs) -> anyhow::Result<()> {
    let db = open(config)?;
    if let Some(dir) = args.lake {
        let s = crate::server::ops::lake::export_lake(&db, &dir)?;
        let how = if s.rewritten {
            "written whole"
        } else {
            "appended"
        };
        println!(
            "lake {}: {} events {how} (loads up to {}), {} events in the lake",
            dir.display(),
            s.events_written,
            s.max_load_id,
            s.events_total
        );
        return Ok(());
    }
    let Some(dir) = args.parquet else {
        bail!("export needs --parquet DIR or --lake DIR");
    };
    let events = snapshot::export_parquet(&db, &dir)?;
    println!(
        "{events} events written as Parquet to {} (year=/month= folders)",
        dir.display()
    );
    Ok(())
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    if path.is_absolute() {
        Ok(path.to_path_buf())
    } else {
        Ok(std::env::current_dir()
            .context("reading the current folder")?
            .join(path))
    }
}

/// A minimal HTTP/1.1 POST over plain TCP: the server listens on loopback (put TLS in front
/// of it in a proxy, not here).
fn post_json(url: &str, path: &str, token: &str, body: &str) -> anyhow::Result<(u16, String)> {
    let host = url
        .strip_prefix("http://")
        .context("--url must start with http:// (the server's own address, not a proxy's)")?
        .trim_end_matches('/');
    let mut stream =
        std::net::TcpStream::connect(host).with_context(|| format!("cannot connect to {host}"))?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, rest.trim().to_string()))
}
