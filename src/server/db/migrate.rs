//! Schema migrations: the numbered SQL files of `migrations/`, compiled into the binary and
//! applied in order, each in its own transaction, recorded in `schema_migrations`.
//!
//! A database that records a migration this binary does not know was written by a newer
//! omnikpi; opening it is refused rather than risking the data with an older binary.

use duckdb::Connection;

/// Every migration this binary knows, in order. A test checks it against `migrations/`.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../../../migrations/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "settings",
        sql: include_str!("../../../migrations/0002_settings.sql"),
    },
    Migration {
        version: 3,
        name: "targets",
        sql: include_str!("../../../migrations/0003_targets.sql"),
    },
    Migration {
        version: 4,
        name: "sources",
        sql: include_str!("../../../migrations/0004_sources.sql"),
    },
    Migration {
        version: 5,
        name: "identity",
        sql: include_str!("../../../migrations/0005_identity.sql"),
    },
    Migration {
        version: 6,
        name: "tokens",
        sql: include_str!("../../../migrations/0006_tokens.sql"),
    },
    Migration {
        version: 7,
        name: "segments",
        sql: include_str!("../../../migrations/0007_segments.sql"),
    },
    Migration {
        version: 8,
        name: "auth",
        sql: include_str!("../../../migrations/0008_auth.sql"),
    },
    Migration {
        version: 9,
        name: "journeys",
        sql: include_str!("../../../migrations/0009_journeys.sql"),
    },
    Migration {
        version: 10,
        name: "annotations",
        sql: include_str!("../../../migrations/0010_annotations.sql"),
    },
    Migration {
        version: 12,
        name: "identity_rules",
        sql: include_str!("../../../migrations/0012_identity_rules.sql"),
    },
    Migration {
        version: 17,
        name: "alerts",
        sql: include_str!("../../../migrations/0017_alerts.sql"),
    },
    Migration {
        version: 18,
        name: "derived_kpis",
        sql: include_str!("../../../migrations/0018_derived_kpis.sql"),
    },
    Migration {
        version: 19,
        name: "benchmark_sources",
        sql: include_str!("../../../migrations/0019_benchmark_sources.sql"),
    },
    Migration {
        version: 20,
        name: "rollups",
        sql: include_str!("../../../migrations/0020_rollups.sql"),
    },
    Migration {
        version: 21,
        name: "kiosk_links",
        sql: include_str!("../../../migrations/0021_kiosk_links.sql"),
    },
    Migration {
        version: 22,
        name: "rollup_sets",
        sql: include_str!("../../../migrations/0022_rollup_sets.sql"),
    },
    Migration {
        version: 23,
        name: "rollup_facts",
        sql: include_str!("../../../migrations/0023_rollup_facts.sql"),
    },
    Migration {
        version: 24,
        name: "journey_rollups",
        sql: include_str!("../../../migrations/0024_journey_rollups.sql"),
    },
    Migration {
        version: 26,
        name: "rollup_amount_width",
        sql: include_str!("../../../migrations/0026_rollup_amount_width.sql"),
    },
    Migration {
        version: 27,
        name: "journey_facts",
        sql: include_str!("../../../migrations/0027_journey_facts.sql"),
    },
    Migration {
        version: 28,
        name: "journey_rollup_width",
        sql: include_str!("../../../migrations/0028_journey_rollup_width.sql"),
    },
    Migration {
        version: 29,
        name: "customer_facts",
        sql: include_str!("../../../migrations/0029_customer_facts.sql"),
    },
    Migration {
        version: 30,
        name: "order_facts",
        sql: include_str!("../../../migrations/0030_order_facts.sql"),
    },
    Migration {
        version: 31,
        name: "visitor_sets",
        sql: include_str!("../../../migrations/0031_visitor_sets.sql"),
    },
    Migration {
        version: 32,
        name: "rollup_prices",
        sql: include_str!("../../../migrations/0032_rollup_prices.sql"),
    },
];

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(
        "the database is at schema version {found}, newer than this omnikpi knows (up to \
         {known}); run a newer omnikpi or restore a backup"
    )]
    NewerThanBinary { found: i64, known: i64 },
    #[error("migration {version} ({name}) failed: {source}")]
    Failed {
        version: i64,
        name: &'static str,
        source: duckdb::Error,
    },
    #[error("cannot read the schema version: {0}")]
    Sql(#[from] duckdb::Error),
}

/// The latest version this binary knows.
pub fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Applies the pending migrations; returns how many ran.
pub fn apply(conn: &mut Connection) -> Result<usize, MigrateError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    BIGINT PRIMARY KEY,
             name       VARCHAR NOT NULL,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
         );",
    )?;
    let current = current_version(conn)?;
    if current > latest() {
        return Err(MigrateError::NewerThanBinary {
            found: current,
            known: latest(),
        });
    }
    // Every known migration the database has not recorded, not only those above its highest:
    // features developed side by side may land with their numbers out of order.
    let recorded: Vec<i64> = {
        let mut stmt = conn.prepare("SELECT version FROM schema_migrations")?;
        let versions = stmt.query_map([], |row| row.get(0))?;
        versions.collect::<Result<_, _>>()?
    };
    let mut applied = 0;
    for migration in MIGRATIONS.iter().filter(|m| !recorded.contains(&m.version)) {
        let failed = |source| MigrateError::Failed {
            version: migration.version,
            name: migration.name,
            source,
        };
        let tx = conn.transaction().map_err(failed)?;
        tx.execute_batch(migration.sql).map_err(failed)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
            duckdb::params![migration.version, migration.name],
        )
        .map_err(failed)?;
        tx.commit().map_err(failed)?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "migration applied"
        );
        applied += 1;
    }
    Ok(applied)
}

/// The highest version recorded in the database (0 for a new one).
pub fn current_version(conn: &Connection) -> Result<i64, MigrateError> {
    Ok(conn.query_row(
        "SELECT coalesce(max(version), 0) FROM schema_migrations",
        [],
        |row| row.get(0),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_in_migrations_is_compiled_in_order() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .expect("migrations folder")
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        files.sort();
        let known: Vec<String> = MIGRATIONS
            .iter()
            .map(|m| format!("{:04}_{}.sql", m.version, m.name))
            .collect();
        assert_eq!(files, known);
    }

    #[test]
    fn applying_twice_runs_nothing_the_second_time() -> Result<(), MigrateError> {
        let mut conn = Connection::open_in_memory()?;
        assert_eq!(apply(&mut conn)?, MIGRATIONS.len());
        assert_eq!(apply(&mut conn)?, 0);
        assert_eq!(current_version(&conn)?, latest());
        Ok(())
    }

    #[test]
    fn a_migration_that_landed_after_a_higher_one_still_runs() -> Result<(), MigrateError> {
        let mut conn = Connection::open_in_memory()?;
        apply(&mut conn)?;
        let Some(middle) = MIGRATIONS.get(MIGRATIONS.len() / 2) else {
            return Ok(());
        };
        conn.execute(
            "DELETE FROM schema_migrations WHERE version = ?",
            [middle.version],
        )?;
        // Replaying a whole migration on tables that exist fails; this checks only that it is
        // attempted: the error names it.
        match apply(&mut conn) {
            Err(MigrateError::Failed { version, .. }) => assert_eq!(version, middle.version),
            Ok(n) => assert_eq!(n, 1),
            Err(other) => panic!("unexpected {other}"),
        }
        Ok(())
    }

    /// A migration runs on a database in use, whose tables hold rows, not only on a new one:
    /// DuckDB refuses to commit some changes to a table with rows that it accepts on an empty
    /// one (0031 first emptied `rollup_sets` and added a column to it, which failed on every
    /// database but an empty one).
    #[test]
    fn the_rollup_migrations_apply_to_tables_that_hold_rows() -> Result<(), MigrateError> {
        let mut conn = Connection::open_in_memory()?;
        conn.execute_batch(
            "CREATE TABLE schema_migrations (
                 version    BIGINT PRIMARY KEY,
                 name       VARCHAR NOT NULL,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
             );",
        )?;
        for migration in MIGRATIONS.iter().filter(|m| m.version <= 30) {
            conn.execute_batch(migration.sql)?;
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                duckdb::params![migration.version, migration.name],
            )?;
        }
        conn.execute_batch(
            "INSERT INTO rollup_daily BY NAME
                 SELECT DATE '2026-03-01' AS day, 'visit' AS event_type, true AS identified,
                        1 AS event_count, 0 AS amount, 0 AS amount_count, 0 AS cost, 1 AS units,
                        0 AS nps_promoters, 0 AS nps_detractors, 0 AS nps_scored,
                        0 AS csat_satisfied, 0 AS csat_scored;
             INSERT INTO rollup_sets BY NAME
                 SELECT DATE '2026-03-01' AS day, 'visit' AS event_type, true AS identified,
                        ''::BLOB AS customers, ''::BLOB AS orders;
             UPDATE rollup_state SET time_zone = 'Europe/Rome', loaded_through = 1;",
        )?;
        assert!(apply(&mut conn)? >= 1);
        assert_eq!(current_version(&conn)?, latest());
        let zone: String =
            conn.query_row("SELECT time_zone FROM rollup_state", [], |r| r.get(0))?;
        assert_eq!(zone, "", "the rollups are built again at the next start");
        Ok(())
    }

    #[test]
    fn a_database_from_a_newer_binary_is_refused() -> Result<(), MigrateError> {
        let mut conn = Connection::open_in_memory()?;
        apply(&mut conn)?;
        conn.execute(
            "INSERT INTO schema_migrations (version, name) VALUES (?, 'from_the_future')",
            [latest() + 1],
        )?;
        let err = apply(&mut conn).err();
        assert!(
            matches!(err, Some(MigrateError::NewerThanBinary { .. })),
            "{err:?}"
        );
        Ok(())
    }
}
