//! Instance configuration: a TOML file, `OMNIKPI_*` environment variables and command-line
//! flags, merged in that order of increasing precedence and validated once into [`Config`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub const DEFAULT_DB: &str = "data/omnikpi.duckdb";
pub const DEFAULT_ADDR: &str = "127.0.0.1:3000";
pub const DEFAULT_TIME_ZONE: &str = "Europe/Rome";
/// A session unused this long signs its user out.
pub const DEFAULT_SESSION_IDLE_MINUTES: u32 = 120;
/// No session lives longer than this, used or not.
pub const DEFAULT_SESSION_ABSOLUTE_HOURS: u32 = 12;
/// The memory for rendered view pages, in MiB (`page_cache`).
pub const DEFAULT_PAGE_CACHE_MIB: u32 = 32;

/// One setting, for the reference in docs/configuration.md (generated from this list by
/// [`reference`]; a test fails when the file is out of date or a key here is not accepted).
pub struct Setting {
    pub key: &'static str,
    pub env: &'static str,
    pub default: &'static str,
    /// A value the file accepts, for the test.
    pub example: &'static str,
    pub description: &'static str,
}

/// Every setting of the configuration file, in the order of the reference.
pub const SETTINGS: &[Setting] = &[
    Setting {
        key: "db",
        env: "OMNIKPI_DB (or --db)",
        default: DEFAULT_DB,
        example: "\"/var/lib/omnikpi/omnikpi.duckdb\"",
        description: "The DuckDB database file; created with its folder on first use.",
    },
    Setting {
        key: "addr",
        env: "OMNIKPI_ADDR (or serve --addr)",
        default: DEFAULT_ADDR,
        example: "\"127.0.0.1:3000\"",
        description: "The address `serve` listens on.",
    },
    Setting {
        key: "time_zone",
        env: "OMNIKPI_TIME_ZONE",
        default: DEFAULT_TIME_ZONE,
        example: "\"Europe/Rome\"",
        description: "IANA time zone in which days, weeks and months are read.",
    },
    Setting {
        key: "secure_cookie",
        env: "OMNIKPI_SECURE_COOKIE",
        default: "false",
        example: "true",
        description: "Mark the session cookie Secure; set it when served over HTTPS.",
    },
    Setting {
        key: "session_idle_minutes",
        env: "OMNIKPI_SESSION_IDLE_MINUTES",
        default: "120",
        example: "60",
        description: "A session unused this long signs its user out.",
    },
    Setting {
        key: "session_absolute_hours",
        env: "OMNIKPI_SESSION_ABSOLUTE_HOURS",
        default: "12",
        example: "8",
        description: "No session lives longer than this, used or not.",
    },
    Setting {
        key: "memory_limit",
        env: "OMNIKPI_MEMORY_LIMIT",
        default: "DuckDB's (80% of RAM)",
        example: "\"4GB\"",
        description: "The most memory DuckDB may use for its data, in DuckDB's syntax: a number and KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024). A load that needs more fails with a message naming this setting and loads nothing; any other command that needs more names it too. Any CSV load needs about 40MB (the reader's buffer); the process as a whole uses more than the limit (measurements in docs/soak.md).",
    },
    Setting {
        key: "page_cache_mib",
        env: "OMNIKPI_PAGE_CACHE_MIB",
        default: "32",
        example: "64",
        description: "The memory for rendered view pages, kept per session until the next write or the next minute and answered again without rendering (0 turns it off). A warm page answered from it costs a fraction of a render (docs/benchmarks.md).",
    },
    Setting {
        key: "log_format",
        env: "OMNIKPI_LOG_FORMAT",
        default: "text",
        example: "\"json\"",
        description: "`text` for people, `json` for one object a line (with `request_id`) for log collectors. The level is set with OMNIKPI_LOG (default `info`, e.g. `omnikpi=debug,info`).",
    },
];

/// docs/configuration.md, generated from [`SETTINGS`].
pub fn reference() -> String {
    let mut out = String::from(
        "# Configuration reference\n\n\
         Generated from `SETTINGS` in src/server/config.rs (a test fails when this file is out of\n\
         date; regenerate with `OMNIKPI_WRITE_DOCS=1 cargo test --features ssr --lib config`).\n\n\
         omnikpi reads a TOML file (`--config FILE` or `OMNIKPI_CONFIG`), then environment\n\
         variables, then command-line flags, each overriding the one before. Unknown keys in the\n\
         file are an error.\n\n\
         | key | environment | default | meaning |\n|---|---|---|---|\n",
    );
    for s in SETTINGS {
        out.push_str(&format!(
            "| `{}` | `{}` | `{}` | {} |\n",
            s.key, s.env, s.default, s.description
        ));
    }
    out.push_str("\nExample file:\n\n```toml\n");
    for s in SETTINGS {
        out.push_str(&format!("{} = {}\n", s.key, s.example));
    }
    out.push_str("```\n");
    out
}

/// The validated configuration every command runs with.
#[derive(Clone, Debug)]
pub struct Config {
    /// The DuckDB file; created with its folder on first use.
    pub db: PathBuf,
    /// Where `serve` listens.
    pub addr: SocketAddr,
    /// IANA zone in which periods and days are read (KPIS.md conventions).
    pub time_zone: String,
    pub sessions: SessionConfig,
    /// The SMTP password of the digests (`smtp_password` in the file or
    /// `OMNIKPI_SMTP_PASSWORD`); never stored in the database nor shown.
    pub smtp_password: Option<Secret>,
    /// How log lines are written to stderr.
    pub log_format: LogFormat,
    /// DuckDB's `memory_limit`; `None` leaves DuckDB's default (80 % of the machine's memory).
    pub memory_limit: Option<MemoryLimit>,
    /// The bytes of rendered pages kept (`page_cache`); 0 keeps none.
    pub page_cache_bytes: usize,
}

/// A validated `memory_limit`: a positive number and one of DuckDB's units, kept as written
/// (without spaces) so that DuckDB reads it exactly as the administrator meant it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryLimit(String);

/// DuckDB's memory units: powers of 1000 and of 1024.
const MEMORY_UNITS: &[&str] = &["B", "KB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB"];

impl MemoryLimit {
    /// `512MB`, `4 GB`, `1.5GiB`; `None` for anything else (no unit, an unknown unit, zero,
    /// a negative number, DuckDB's `none` or `-1` for "no limit").
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let positive = number
            .parse::<f64>()
            .is_ok_and(|n| n.is_finite() && n > 0.0);
        let unit = MEMORY_UNITS
            .iter()
            .find(|u| u.eq_ignore_ascii_case(unit.trim_start()))?;
        positive.then(|| Self(format!("{number}{unit}")))
    }

    /// The limit as DuckDB reads it, e.g. `4GB`: digits, at most a point, and a unit, so it
    /// can be written into a `SET` statement as it is.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for MemoryLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A secret that prints as `(hidden)` in logs and debug output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("(hidden)")
    }
}

/// `log_format`: `text` (default, for people) or `json` (one object a line, for collectors).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// How sign-in sessions behave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    /// Mark the cookie `Secure`: set when omnikpi is served over HTTPS (directly or behind a
    /// proxy), so the browser never sends it in clear.
    pub secure_cookie: bool,
    pub idle_minutes: u32,
    pub absolute_hours: u32,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            secure_cookie: false,
            idle_minutes: DEFAULT_SESSION_IDLE_MINUTES,
            absolute_hours: DEFAULT_SESSION_ABSOLUTE_HOURS,
        }
    }
}

/// The file as written: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    db: Option<PathBuf>,
    addr: Option<String>,
    time_zone: Option<String>,
    secure_cookie: Option<bool>,
    session_idle_minutes: Option<u32>,
    session_absolute_hours: Option<u32>,
    smtp_password: Option<String>,
    log_format: Option<String>,
    memory_limit: Option<String>,
    page_cache_mib: Option<u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("configuration file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("{key}: {value:?} is not a listening address such as 127.0.0.1:3000")]
    Addr { key: &'static str, value: String },
    #[error("{key}: {value:?} is not {expected}")]
    Value {
        key: &'static str,
        value: String,
        expected: &'static str,
    },
}

/// Values given on the command line (already merged with their `OMNIKPI_*` variables by clap).
#[derive(Debug, Default)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub db: Option<PathBuf>,
    pub addr: Option<String>,
}

impl Config {
    /// Merges file, environment and flags. `env` is passed in so tests need not touch the
    /// process environment.
    pub fn load(
        overrides: Overrides,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let file = match &overrides.config_file {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let db = overrides
            .db
            .or_else(|| env("OMNIKPI_DB").map(PathBuf::from))
            .or(file.db)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DB));
        let (addr_key, addr) = match (overrides.addr, env("OMNIKPI_ADDR"), file.addr) {
            (Some(a), _, _) => ("--addr", a),
            (None, Some(a), _) => ("OMNIKPI_ADDR", a),
            (None, None, Some(a)) => ("addr", a),
            (None, None, None) => ("addr", DEFAULT_ADDR.to_string()),
        };
        let addr = addr.parse().map_err(|_| ConfigError::Addr {
            key: addr_key,
            value: addr.clone(),
        })?;
        let time_zone = env("OMNIKPI_TIME_ZONE")
            .or(file.time_zone)
            .unwrap_or_else(|| DEFAULT_TIME_ZONE.to_string());
        let secure_cookie = match env("OMNIKPI_SECURE_COOKIE") {
            Some(v) => parse_bool("OMNIKPI_SECURE_COOKIE", &v)?,
            None => file.secure_cookie.unwrap_or(false),
        };
        let minutes = |key: &'static str, file: Option<u32>, default: u32| match env(key) {
            Some(v) => v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or(ConfigError::Value {
                    key,
                    value: v,
                    expected: "a whole number above 0",
                }),
            None => Ok(file.filter(|n| *n > 0).unwrap_or(default)),
        };
        let sessions = SessionConfig {
            secure_cookie,
            idle_minutes: minutes(
                "OMNIKPI_SESSION_IDLE_MINUTES",
                file.session_idle_minutes,
                DEFAULT_SESSION_IDLE_MINUTES,
            )?,
            absolute_hours: minutes(
                "OMNIKPI_SESSION_ABSOLUTE_HOURS",
                file.session_absolute_hours,
                DEFAULT_SESSION_ABSOLUTE_HOURS,
            )?,
        };
        let smtp_password = env("OMNIKPI_SMTP_PASSWORD")
            .or(file.smtp_password)
            .filter(|p| !p.is_empty())
            .map(Secret::new);
        let (format_key, format) = match (env("OMNIKPI_LOG_FORMAT"), file.log_format) {
            (Some(v), _) => ("OMNIKPI_LOG_FORMAT", Some(v)),
            (None, v) => ("log_format", v),
        };
        let log_format = match format.as_deref().map(str::trim) {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError::Value {
                    key: format_key,
                    value: other.to_string(),
                    expected: "text or json",
                });
            }
        };
        let (limit_key, limit) = match (env("OMNIKPI_MEMORY_LIMIT"), file.memory_limit) {
            (Some(v), _) => ("OMNIKPI_MEMORY_LIMIT", Some(v)),
            (None, v) => ("memory_limit", v),
        };
        let memory_limit = match limit {
            None => None,
            Some(v) if v.trim().is_empty() => None,
            Some(v) => Some(MemoryLimit::parse(&v).ok_or(ConfigError::Value {
                key: limit_key,
                value: v,
                expected: "an amount of memory such as 512MB or 4GB \
                           (a number above 0 and B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)",
            })?),
        };
        let page_cache_mib = match env("OMNIKPI_PAGE_CACHE_MIB") {
            Some(v) => v.trim().parse::<u32>().map_err(|_| ConfigError::Value {
                key: "OMNIKPI_PAGE_CACHE_MIB",
                value: v,
                expected: "a whole number of MiB (0 turns the page cache off)",
            })?,
            None => file.page_cache_mib.unwrap_or(DEFAULT_PAGE_CACHE_MIB),
        };
        Ok(Self {
            db,
            addr,
            time_zone,
            sessions,
            smtp_password,
            log_format,
            memory_limit,
            page_cache_bytes: usize::try_from(page_cache_mib)
                .unwrap_or(usize::MAX)
                .saturating_mul(1 << 20),
        })
    }
}

fn parse_bool(key: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim() {
        "1" | "true" | "yes" => Ok(true),
        "0" | "false" | "no" => Ok(false),
        _ => Err(ConfigError::Value {
            key,
            value: value.to_string(),
            expected: "true or false",
        }),
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() -> Result<(), ConfigError> {
        let config = Config::load(Overrides::default(), no_env)?;
        assert_eq!(config.db, PathBuf::from(DEFAULT_DB));
        assert_eq!(config.addr.to_string(), DEFAULT_ADDR);
        assert_eq!(config.time_zone, "Europe/Rome");
        assert!(config.smtp_password.is_none());
        assert_eq!(config.log_format, LogFormat::Text);
        Ok(())
    }

    #[test]
    fn the_smtp_password_never_prints() -> Result<(), ConfigError> {
        let env = |key: &str| (key == "OMNIKPI_SMTP_PASSWORD").then(|| "s3cret".to_string());
        let config = Config::load(Overrides::default(), env)?;
        assert_eq!(
            config.smtp_password.as_ref().map(Secret::expose),
            Some("s3cret")
        );
        assert!(!format!("{config:?}").contains("s3cret"));
        Ok(())
    }

    #[test]
    fn flags_beat_environment_beats_file() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("omnikpi.toml");
        std::fs::write(
            &file,
            "db = \"file.duckdb\"\naddr = \"127.0.0.1:1\"\ntime_zone = \"UTC\"\n",
        )?;
        let env = |key: &str| (key == "OMNIKPI_ADDR").then(|| "127.0.0.1:2".to_string());
        let config = Config::load(
            Overrides {
                config_file: Some(file),
                db: Some("flag.duckdb".into()),
                addr: None,
            },
            env,
        )?;
        assert_eq!(config.db, PathBuf::from("flag.duckdb"));
        assert_eq!(config.addr.port(), 2);
        assert_eq!(config.time_zone, "UTC");
        Ok(())
    }

    #[test]
    fn the_configuration_reference_is_up_to_date() -> Result<(), Box<dyn std::error::Error>> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/configuration.md");
        let wanted = reference();
        if std::env::var_os("OMNIKPI_WRITE_DOCS").is_some() {
            std::fs::write(path, &wanted)?;
        }
        let found = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            found == wanted,
            "docs/configuration.md is out of date: OMNIKPI_WRITE_DOCS=1 cargo test --features ssr --lib config"
        );
        // Every documented key is one the file accepts, with its example value.
        let example: String = SETTINGS
            .iter()
            .map(|s| format!("{} = {}\n", s.key, s.example))
            .collect();
        let file: FileConfig = toml::from_str(&example)?;
        assert_eq!(file.log_format.as_deref(), Some("json"));
        Ok(())
    }

    #[test]
    fn log_format_is_text_or_json() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("omnikpi.toml");
        std::fs::write(&file, "log_format = \"json\"\n")?;
        let overrides = || Overrides {
            config_file: Some(file.clone()),
            ..Overrides::default()
        };
        assert_eq!(
            Config::load(overrides(), no_env)?.log_format,
            LogFormat::Json
        );
        let env = |key: &str| (key == "OMNIKPI_LOG_FORMAT").then(|| "text".to_string());
        assert_eq!(Config::load(overrides(), env)?.log_format, LogFormat::Text);
        let bad = |key: &str| (key == "OMNIKPI_LOG_FORMAT").then(|| "xml".to_string());
        let err = Config::load(overrides(), bad).err().map(|e| e.to_string());
        assert!(err.unwrap_or_default().contains("text or json"));
        Ok(())
    }

    #[test]
    fn memory_limit_takes_duckdbs_units_and_names_its_key_when_wrong()
    -> Result<(), Box<dyn std::error::Error>> {
        let limit = |text: &str| MemoryLimit::parse(text).map(|l| l.to_string());
        assert_eq!(limit("4GB").as_deref(), Some("4GB"));
        assert_eq!(limit(" 512 mb ").as_deref(), Some("512MB"));
        assert_eq!(limit("1.5gib").as_deref(), Some("1.5GiB"));
        assert_eq!(limit("100000B").as_deref(), Some("100000B"));
        for bad in [
            "", "4", "GB", "0GB", "0.0MB", "-1GB", "-1", "none", "4 GBs", "4GB'", "1e3MB",
            "1.2.3GB", "80%", "4 G B",
        ] {
            assert_eq!(limit(bad), None, "{bad:?} was accepted");
        }

        assert_eq!(
            Config::load(Overrides::default(), no_env)?.memory_limit,
            None
        );
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("omnikpi.toml");
        std::fs::write(&file, "memory_limit = \"2GB\"\n")?;
        let overrides = || Overrides {
            config_file: Some(file.clone()),
            ..Overrides::default()
        };
        let from_file = Config::load(overrides(), no_env)?.memory_limit;
        assert_eq!(from_file.as_ref().map(MemoryLimit::as_str), Some("2GB"));
        let env = |key: &str| (key == "OMNIKPI_MEMORY_LIMIT").then(|| "300MiB".to_string());
        let from_env = Config::load(overrides(), env)?.memory_limit;
        assert_eq!(from_env.as_ref().map(MemoryLimit::as_str), Some("300MiB"));

        let bad = |key: &str| (key == "OMNIKPI_MEMORY_LIMIT").then(|| "lots".to_string());
        let err = Config::load(overrides(), bad).err().map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(err.starts_with("OMNIKPI_MEMORY_LIMIT: \"lots\""), "{err}");
        assert!(err.contains("512MB"), "{err}");
        std::fs::write(&file, "memory_limit = \"4 gigs\"\n")?;
        let err = Config::load(overrides(), no_env)
            .err()
            .map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(err.starts_with("memory_limit: \"4 gigs\""), "{err}");
        Ok(())
    }

    #[test]
    fn unknown_keys_in_the_file_are_reported() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("omnikpi.toml");
        std::fs::write(&file, "tiem_zone = \"UTC\"\n")?;
        let err = Config::load(
            Overrides {
                config_file: Some(file),
                ..Overrides::default()
            },
            no_env,
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("tiem_zone"), "{err}");
        Ok(())
    }
}
