//! Backup, restore and the Parquet export, through the real binary.

mod common;
#[path = "common/proc.rs"]
mod proc;

use std::path::Path;
use std::time::Duration;

use common::FIXTURE;

const TABLES: &[&str] = &[
    "events",
    "loads",
    "customers",
    "identities",
    "sources",
    "users",
    "api_tokens",
    "schema_migrations",
];

fn counts(db: &Path) -> Vec<(String, i64)> {
    let db = omnikpi::server::db::Db::open(db, "Europe/Rome").expect("opens");
    let conn = db.connect().expect("connection");
    TABLES
        .iter()
        .filter_map(|t| {
            conn.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
                .ok()
                .map(|n: i64| (t.to_string(), n))
        })
        .collect()
}

fn kpi_report(db: &Path) -> String {
    let (ok, out, err) = proc::run(
        db,
        &[
            "kpi",
            "--from",
            "2026-01-01",
            "--to",
            "2026-06-30",
            "--json",
        ],
    );
    assert!(ok, "{err}");
    out
}

fn loaded_db(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("live.duckdb");
    let fixture = common::write_lines(dir, "fixture.csv", FIXTURE);
    let big = proc::big_csv(&dir.join("big.csv"), "b", 3_000);
    for file in [&fixture, &big] {
        let (ok, _, err) = proc::run(
            &db,
            &["load", "--source", "pos", file.to_str().unwrap_or("")],
        );
        assert!(ok, "{err}");
    }
    db
}

#[test]
fn backup_and_restore_round_trip() {
    let dir = tempfile::tempdir().expect("dir");
    let db = loaded_db(dir.path());
    let before = counts(&db);
    assert!(
        before.contains(&("events".to_string(), 3_010)),
        "{before:?}"
    );
    let report = kpi_report(&db);

    let backup = dir.path().join("backup");
    let (ok, out, err) = proc::run(&db, &["backup", backup.to_str().unwrap_or("")]);
    assert!(ok, "{err}");
    assert!(out.contains("3010 events"), "{out}");
    // A second backup into the same folder is refused.
    let (ok, _, err) = proc::run(&db, &["backup", backup.to_str().unwrap_or("")]);
    assert!(!ok && err.contains("not empty"), "{err}");

    // Restored as a new database: same rows, same KPI report.
    let restored = dir.path().join("restored.duckdb");
    let (ok, _, err) = proc::run(&restored, &["restore", backup.to_str().unwrap_or("")]);
    assert!(ok, "{err}");
    assert_eq!(counts(&restored), before);
    assert_eq!(kpi_report(&restored), report);

    // Loading into the restored database goes on from the restored sequences.
    let more = common::write_lines(
        dir.path(),
        "more.csv",
        &[
            "event_id,occurred_at,event_type,channel,amount",
            "m1,2026-04-01T10:00:00+02:00,purchase,web,12.00",
        ],
    );
    let (ok, _, err) = proc::run(
        &restored,
        &["load", "--source", "pos", more.to_str().unwrap_or("")],
    );
    assert!(ok, "{err}");
    assert_eq!(proc::count(&restored, "SELECT count(*) FROM events"), 3_011);

    // Restoring over a database that holds data needs --force, and keeps the old one.
    let (ok, _, err) = proc::run(&restored, &["restore", backup.to_str().unwrap_or("")]);
    assert!(!ok && err.contains("--force"), "{err}");
    let (ok, _, err) = proc::run(
        &restored,
        &["restore", "--force", backup.to_str().unwrap_or("")],
    );
    assert!(ok, "{err}");
    assert_eq!(counts(&restored), before);
    assert!(dir.path().join("restored.duckdb.before-restore").exists());

    // A folder that is not a backup is refused.
    let (ok, _, err) = proc::run(
        &dir.path().join("other.duckdb"),
        &["restore", dir.path().to_str().unwrap_or("")],
    );
    assert!(!ok && err.contains("not an omnikpi backup"), "{err}");
}

/// While a server holds the database, the command line asks it for the backup; the backup
/// taken during a load holds all of that load or none of it.
#[test]
fn backup_while_serving_and_loading() {
    let dir = tempfile::tempdir().expect("dir");
    let db = loaded_db(dir.path());
    let token = {
        let opened = omnikpi::server::db::Db::open(&db, "Europe/Rome").expect("open");
        let conn = opened.connect().expect("connection");
        omnikpi::server::tokens::create(&conn, "ops", "admin", None).expect("token")
    };
    let port = 3211;
    let mut server = proc::spawn(&db, &["serve", "--addr", &format!("127.0.0.1:{port}")]);
    proc::wait_for_port(port, Duration::from_secs(60));
    // Without --url the locked database is explained.
    let backup = dir.path().join("b1");
    let (ok, _, err) = proc::run(&db, &["backup", backup.to_str().unwrap_or("")]);
    assert!(!ok && err.contains("--url"), "{err}");
    // A load of 10,000 events through the API, and a backup meanwhile.
    let body: String = (0..10_000)
        .map(|i| {
            format!(
                "{{\"event_id\":\"w{i}\",\"occurred_at\":\"2026-05-{:02}T10:00:00Z\",\"event_type\":\"purchase\",\"channel\":\"web\",\"amount\":\"2.00\"}}\n",
                1 + i % 28
            )
        })
        .collect();
    let auth = format!("Bearer {token}");
    let loader = std::thread::spawn(move || {
        proc::http(
            port,
            "POST",
            "/api/v1/events?source=shop",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/x-ndjson"),
            ],
            body.as_bytes(),
        )
    });
    std::thread::sleep(Duration::from_millis(200));
    let url = format!("http://127.0.0.1:{port}");
    let (ok, out, err) = proc::run(
        &db,
        &[
            "backup",
            backup.to_str().unwrap_or(""),
            "--url",
            &url,
            "--token",
            &token,
        ],
    );
    assert!(ok, "{out}{err}");
    let loaded = loader.join().expect("loader").expect("answer");
    assert_eq!(loaded.status, 200, "{loaded:?}");
    proc::signal(&server, "TERM");
    assert!(server.wait().expect("exit").success());

    let restored = dir.path().join("restored.duckdb");
    let (ok, _, err) = proc::run(&restored, &["restore", backup.to_str().unwrap_or("")]);
    assert!(ok, "{err}");
    let events = proc::count(&restored, "SELECT count(*) FROM events");
    assert!(events == 3_010 || events == 13_010, "{events}");
    let shop = proc::count(
        &restored,
        "SELECT count(*) FROM loads WHERE source = 'shop' AND status = 'ok'",
    );
    assert_eq!(shop, i64::from(events == 13_010));
    assert_eq!(proc::count(&db, "SELECT count(*) FROM events"), 13_010);
}

#[test]
fn parquet_export_is_partitioned_by_month_and_reads_back() {
    let dir = tempfile::tempdir().expect("dir");
    let db = loaded_db(dir.path());
    let out_dir = dir.path().join("parquet");
    let (ok, out, err) = proc::run(
        &db,
        &["export", "--parquet", out_dir.to_str().unwrap_or("")],
    );
    assert!(ok, "{err}");
    assert!(out.contains("3010 events"), "{out}");
    // big_csv spreads its rows evenly over January to June; the fixture adds, in local
    // time, one in January (e8), eight in March (e6 at 2026-02-28 23:30Z is March 1 in Rome)
    // and one in April (e5 at 2026-03-31 23:30Z).
    for month in 1..=6 {
        assert!(
            out_dir
                .join("year=2026")
                .join(format!("month={month}"))
                .is_dir(),
            "no folder for month {month}"
        );
    }
    let conn = duckdb::Connection::open_in_memory().expect("duckdb");
    conn.execute_batch("SET TimeZone = 'Europe/Rome'")
        .expect("tz");
    let glob = format!("{}/**/*.parquet", out_dir.display());
    let mut stmt = conn
        .prepare(
            "SELECT month, count(*), sum(amount)::DOUBLE FROM read_parquet(?, hive_partitioning = true)
             GROUP BY month ORDER BY month",
        )
        .expect("query");
    let rows: Vec<(i64, i64, f64)> = stmt
        .query_map([glob.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("read");
    let live = omnikpi::server::db::Db::open(&db, "Europe/Rome").expect("open");
    let conn = live.connect().expect("connection");
    let mut stmt = conn
        .prepare(
            "SELECT month(occurred_at), count(*), sum(amount)::DOUBLE FROM events
             GROUP BY 1 ORDER BY 1",
        )
        .expect("query");
    let expected: Vec<(i64, i64, f64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("read");
    assert_eq!(rows.len(), 6);
    assert_eq!(rows, expected);
    assert_eq!(rows.iter().map(|r| r.1).sum::<i64>(), 3_010);
    // 3,000 rows over six months: 500 each, plus the fixture's ten.
    assert_eq!(rows[0].1, 501);
    assert_eq!(rows[1].1, 500);
    assert_eq!(rows[2].1, 508);
    assert_eq!(rows[3].1, 501);
}
