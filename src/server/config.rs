//! Instance configuration: a TOML file, `OMNIKPI_*` environment variables and command-line
//! flags, merged in that order of increasing precedence and validated once into [`Config`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub const DEFAULT_DB: &str = "data/omnikpi.duckdb";
pub const DEFAULT_ADDR: &str = "127.0.0.1:3000";
pub const DEFAULT_TIME_ZONE: &str = "Europe/Rome";

/// The validated configuration every command runs with.
#[derive(Clone, Debug)]
pub struct Config {
    /// The DuckDB file; created with its folder on first use.
    pub db: PathBuf,
    /// Where `serve` listens.
    pub addr: SocketAddr,
    /// IANA zone in which periods and days are read (KPIS.md conventions).
    pub time_zone: String,
}

/// The file as written: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    db: Option<PathBuf>,
    addr: Option<String>,
    time_zone: Option<String>,
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
        Ok(Self {
            db,
            addr,
            time_zone,
        })
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
