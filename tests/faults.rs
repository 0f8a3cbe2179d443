//! Faults: kill -9 during a large load, reads during loads, a full disk, a read-only folder.
//! Each prints a `FAULTS:` line with its counts (run with `--nocapture` to see them).

mod common;
#[path = "common/proc.rs"]
mod proc;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const ROWS: usize = 100_000;

fn events_and_sum(db: &Path) -> (i64, f64) {
    let db = omnikpi::server::db::Db::open(db, "Europe/Rome").expect("the database opens");
    let conn = db.connect().expect("connection");
    conn.query_row(
        "SELECT count(*), coalesce(sum(amount), 0)::DOUBLE FROM events",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .expect("count")
}

/// kill -9 the loader at several moments: after each, the database opens, holds all of the
/// load or none of it, nothing is left 'running', and the load re-run gives exactly ROWS.
#[test]
fn kill_minus_nine_during_a_large_load() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("faults.duckdb");
    let file = proc::big_csv(&dir.path().join("big.csv"), "k", ROWS);
    let file = file.to_str().unwrap_or("");
    let (ok, _, err) = proc::run(&db, &["migrate"]);
    assert!(ok, "{err}");
    let mut survived = 0;
    let mut completed_before_kill = 0;
    for delay_ms in [200_u64, 500, 1_000, 2_000, 3_500] {
        let child = proc::spawn(&db, &["load", "--source", "pos", "--force", file]);
        std::thread::sleep(Duration::from_millis(delay_ms));
        proc::signal(&child, "KILL");
        let out = child.wait_with_output().expect("exit");
        let (events, _) = events_and_sum(&db);
        assert!(
            events == 0 || events == ROWS as i64,
            "after kill at {delay_ms} ms: {events} events (half a load)"
        );
        if events == ROWS as i64 {
            completed_before_kill += 1;
        }
        assert_eq!(
            proc::count(&db, "SELECT count(*) FROM loads WHERE status = 'running'"),
            0
        );
        assert!(!out.status.success() || events == ROWS as i64);
        survived += 1;
        if events == ROWS as i64 {
            break;
        }
    }
    let interrupted = proc::count(
        &db,
        "SELECT count(*) FROM loads WHERE status = 'interrupted'",
    );
    // Re-run: exactly the expected rows and total, never a duplicate.
    let (ok, _, err) = proc::run(&db, &["load", "--source", "pos", "--force", file]);
    assert!(ok, "{err}");
    let (events, sum) = events_and_sum(&db);
    assert_eq!(events, ROWS as i64);
    assert!((sum - proc::big_csv_amount(ROWS)).abs() < 1e-6, "{sum}");
    assert_eq!(
        proc::count(
            &db,
            "SELECT count(*) - count(DISTINCT event_id) FROM events"
        ),
        0
    );
    println!(
        "FAULTS: kill -9 survived {survived}, loads marked interrupted {interrupted}, \
         completed before the kill {completed_before_kill}, rows after re-run {events} of {ROWS}, rows lost 0"
    );
}

fn gross_revenue(body: &str) -> Option<f64> {
    let json: serde_json::Value = serde_json::from_str(body).ok()?;
    let kpi = json["kpis"]
        .as_array()?
        .iter()
        .find(|k| k["key"] == "gross_revenue")?
        .clone();
    // An empty period has no value.
    Some(kpi["value"].as_f64().unwrap_or(0.0))
}

/// The KPI API answers throughout three loads of 10,000 events each, and every answer shows
/// the total before or after a whole load, never a part of one.
#[test]
fn reads_during_loads_see_old_or_new_totals() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("reads.duckdb");
    let (reader, ingest) = {
        let opened = omnikpi::server::db::Db::open(&db, "Europe/Rome").expect("open");
        let conn = opened.connect().expect("connection");
        (
            omnikpi::server::tokens::create(&conn, "board", "executive", None).expect("token"),
            omnikpi::server::tokens::create(&conn, "shop", "ingest", None).expect("token"),
        )
    };
    let port = 3212;
    let mut server = proc::spawn(&db, &["serve", "--addr", &format!("127.0.0.1:{port}")]);
    proc::wait_for_port(port, Duration::from_secs(60));
    let loads = 3;
    let per_load = 10_000;
    let writer = std::thread::spawn(move || {
        let auth = format!("Bearer {ingest}");
        for n in 0..loads {
            let body: String = (0..per_load)
                .map(|i| {
                    format!(
                        "{{\"event_id\":\"r{n}-{i}\",\"occurred_at\":\"2026-03-{:02}T10:00:00Z\",\"event_type\":\"purchase\",\"channel\":\"web\",\"order_id\":\"o{n}-{i}\",\"amount\":\"2.00\"}}\n",
                        1 + i % 28
                    )
                })
                .collect();
            let answer = proc::http(
                port,
                "POST",
                "/api/v1/events?source=shop",
                &[
                    ("Authorization", &auth),
                    ("Content-Type", "application/x-ndjson"),
                ],
                body.as_bytes(),
            )
            .expect("load answer");
            assert_eq!(answer.status, 200, "{answer:?}");
        }
    });
    let auth = format!("Bearer {reader}");
    let allowed: Vec<f64> = (0..=loads).map(|k| (k * per_load * 2) as f64).collect();
    let mut reads = 0;
    let mut seen = std::collections::BTreeSet::new();
    let started = Instant::now();
    while !writer.is_finished() && started.elapsed() < Duration::from_secs(300) {
        let answer = proc::http(
            port,
            "GET",
            "/api/v1/kpis?from=2026-03-01&to=2026-03-31&kpi=gross_revenue,orders",
            &[("Authorization", &auth)],
            b"",
        )
        .expect("read");
        assert_eq!(answer.status, 200, "{answer:?}");
        let value = gross_revenue(&answer.body).expect("gross revenue in the answer");
        assert!(
            allowed.iter().any(|a| (a - value).abs() < 1e-6),
            "read {value}, which is part of a load"
        );
        seen.insert(value as i64);
        reads += 1;
    }
    writer.join().expect("writer");
    let last = proc::http(
        port,
        "GET",
        "/api/v1/kpis?from=2026-03-01&to=2026-03-31&kpi=gross_revenue",
        &[("Authorization", &auth)],
        b"",
    )
    .expect("read");
    assert_eq!(gross_revenue(&last.body), Some(60_000.0));
    proc::signal(&server, "TERM");
    assert!(server.wait().expect("exit").success());
    println!(
        "FAULTS: reads during loads {reads}, errors 0, totals seen {seen:?} (all whole loads)"
    );
}

struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn mount_tmpfs(dir: &Path, options: &str) -> Option<Mount> {
    std::fs::create_dir_all(dir).ok()?;
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", options, "tmpfs"])
        .arg(dir)
        .status()
        .ok()?
        .success();
    ok.then(|| Mount(dir.to_path_buf()))
}

/// A database on a 16 MB file system (an empty omnikpi database takes about 6 MB): a load that does not fit fails with a clear error,
/// and the database still opens with what it held before.
#[test]
fn a_full_disk_fails_the_load_clearly_and_keeps_the_database() {
    let dir = tempfile::tempdir().expect("dir");
    let small = dir.path().join("small");
    let Some(mount) = mount_tmpfs(&small, "size=16m") else {
        eprintln!("FAULTS: disk full SKIPPED: mount is not permitted here");
        return;
    };
    let db = small.join("full.duckdb");
    let fixture = common::write_lines(dir.path(), "fixture.csv", common::FIXTURE);
    let (ok, _, err) = proc::run(
        &db,
        &["load", "--source", "pos", fixture.to_str().unwrap_or("")],
    );
    assert!(ok, "{err}");
    let big = proc::big_csv(&dir.path().join("big.csv"), "f", 300_000);
    let (ok, out, err) = proc::run(
        &db,
        &["load", "--source", "pos", big.to_str().unwrap_or("")],
    );
    assert!(!ok, "a 20 MB load fit in 16 MB? {out}");
    let message = err.to_lowercase();
    assert!(
        message.contains("no space") || message.contains("disk") || message.contains("space left"),
        "unclear error: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    // Copied to a roomy place, the database opens and holds the fixture only.
    let copy = dir.path().join("copy");
    std::fs::create_dir_all(&copy).expect("dir");
    for entry in std::fs::read_dir(&small).expect("list").flatten() {
        std::fs::copy(entry.path(), copy.join(entry.file_name())).expect("copy");
    }
    drop(mount);
    let (events, sum) = events_and_sum(&copy.join("full.duckdb"));
    assert_eq!((events, sum), (10, 1_254.0));
    println!(
        "FAULTS: disk full: load refused with {:?}; database opens with its 10 events",
        err.lines().last().unwrap_or("")
    );
}

/// A database folder mounted read-only: a clear error, no panic.
#[test]
fn a_read_only_folder_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("dir");
    let ro = dir.path().join("ro");
    let Some(_mount) = mount_tmpfs(&ro, "size=1m,ro") else {
        eprintln!("FAULTS: read-only SKIPPED: mount is not permitted here");
        return;
    };
    let (ok, _, err) = proc::run(&ro.join("x.duckdb"), &["migrate"]);
    assert!(!ok);
    assert!(err.starts_with("error: cannot open the database"), "{err}");
    assert!(err.to_lowercase().contains("read-only"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    println!("FAULTS: read-only folder: {}", err.trim());
}
