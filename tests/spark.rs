//! The Spark engine end to end (feature `spark`): a loopback standalone cluster (one master,
//! two 1-core workers, the Spark Connect server; scripts/spark.sh, pyspark from PyPI on Java
//! 17, installed by scripts/setup.sh), the end-to-end demo data set exported to a lake by
//! `omnikpi export --lake`, and every KPI of the catalog (internal ones included) computed by
//! `omnikpi kpi --engine spark` for a month, a quarter and a year, each with a filter: every
//! value, comparison value, change and provisional mark equals `omnikpi kpi` on DuckDB. Then
//! `omnikpi rollup build --engine spark` replaces spoilt local rollups by rollups built on
//! Spark, which `omnikpi rollup verify` (the local recomputation) finds equal to the events.

#[path = "common/proc.rs"]
mod proc;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use omnikpi::server::kpi::Catalog;

/// The cluster of scripts/spark.sh, stopped (by PID) when dropped.
struct Cluster {
    script: PathBuf,
    dir: PathBuf,
    url: String,
}

impl Cluster {
    fn start(dir: &Path) -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/spark.sh");
        let (master, connect) = (free_port(), free_port());
        let started = Instant::now();
        let out = Command::new(&script)
            .args(["start", &dir.display().to_string()])
            .env("SPARK_MASTER_PORT", master.to_string())
            .env("SPARK_CONNECT_PORT", connect.to_string())
            .output()
            .expect("run scripts/spark.sh");
        let cluster = Self {
            script,
            dir: dir.to_path_buf(),
            url: format!("sc://127.0.0.1:{connect}"),
        };
        assert!(
            out.status.success(),
            "the Spark cluster did not start (scripts/spark.sh install, then see {}):\n{}{}",
            dir.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!(
            "spark cluster up in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        cluster
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(&self.script)
            .args(["stop", &self.dir.display().to_string()])
            .status();
    }
}

/// A port free now on 127.0.0.1 (the OS picks it; released before Spark binds it).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

fn run_ok(db: &Path, args: &[&str]) -> String {
    let (ok, out, err) = proc::run(db, args);
    assert!(ok, "omnikpi {args:?} failed:\n{out}\n{err}");
    out
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0),
        _ => false,
    }
}

#[test]
fn every_catalog_kpi_and_the_rollups_built_on_spark_equal_duckdb() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let db = dir.path().join("e2e.duckdb");
    let lake = dir.path().join("lake");
    let demo = dir.path().join("demo");
    // The data set of the end-to-end tests (scripts/test.sh): 1,500 customers, 400 days.
    run_ok(
        &db,
        &[
            "demo",
            "--end",
            "2026-06-30",
            "--dir",
            &demo.display().to_string(),
        ],
    );
    let exported = run_ok(&db, &["export", "--lake", &lake.display().to_string()]);
    eprintln!("{}", exported.trim());

    let cluster = Cluster::start(&dir.path().join("spark"));
    let keys: Vec<&str> = Catalog::builtin()
        .all()
        .iter()
        .map(|d| d.key.as_str())
        .collect();
    let cases = [
        ("2026-06-01", "2026-06-30", "channel=web,store"),
        ("2026-04-01", "2026-06-30", "region=Lombardia,Lazio"),
        ("2025-01-01", "2025-12-31", "category=shoes,apparel"),
    ];
    for (from, to, filter) in cases {
        let mut args = vec![
            "kpi", "--from", from, "--to", to, "--filter", filter, "--json",
        ];
        for key in &keys {
            args.extend(["--kpi", key]);
        }
        let duckdb: serde_json::Value =
            serde_json::from_str(&run_ok(&db, &args)).expect("DuckDB JSON");
        let lake_arg = lake.display().to_string();
        args.extend([
            "--engine",
            "spark",
            "--spark",
            &cluster.url,
            "--lake",
            &lake_arg,
        ]);
        let started = Instant::now();
        let spark: serde_json::Value =
            serde_json::from_str(&run_ok(&db, &args)).expect("Spark JSON");
        eprintln!(
            "{from}..{to} {filter}: {} KPIs on Spark in {:.1} s",
            keys.len(),
            started.elapsed().as_secs_f64()
        );
        for field in ["from", "to", "compare_from", "compare_to", "filters"] {
            assert_eq!(spark[field], duckdb[field], "{field}");
        }
        let (d, s) = (
            duckdb["kpis"].as_array().expect("kpis"),
            spark["kpis"].as_array().expect("kpis"),
        );
        assert_eq!(d.len(), keys.len());
        assert_eq!(s.len(), keys.len());
        let mut differences = Vec::new();
        let mut known = 0;
        for (a, b) in d.iter().zip(s) {
            assert_eq!(a["key"], b["key"]);
            for field in ["value", "previous", "change"] {
                if !close(a[field].as_f64(), b[field].as_f64()) {
                    differences.push(format!(
                        "{} {field}: DuckDB {} Spark {}",
                        a["key"], a[field], b[field]
                    ));
                }
            }
            if a["provisional"] != b["provisional"] {
                differences.push(format!("{} provisional", a["key"]));
            }
            known += usize::from(a["value"].as_f64().is_some_and(|v| v != 0.0));
        }
        assert!(
            differences.is_empty(),
            "{from}..{to} {filter}:\n{}",
            differences.join("\n")
        );
        // Not a comparison of empty answers (a region keeps store events only, a category
        // purchase lines only: what they narrow to still has sales).
        assert!(
            known >= 5,
            "{from}..{to} {filter}: only {known} KPIs non-zero"
        );
    }

    // A filter value no data has is refused by name on Spark too, not shown as empty KPIs.
    let lake_arg = lake.display().to_string();
    let (ok, out, err) = proc::run(
        &db,
        &[
            "kpi",
            "--from",
            "2026-06-01",
            "--to",
            "2026-06-30",
            "--kpi",
            "orders",
            "--filter",
            "store=XX99",
            "--engine",
            "spark",
            "--spark",
            &cluster.url,
            "--lake",
            &lake_arg,
        ],
    );
    assert!(!ok, "an unknown store was accepted: {out}");
    assert!(err.contains("no data has the value \"XX99\""), "{err}");

    // The rollups built on Spark from the lake and imported replace the local ones: spoil
    // both (a day's amount, a day's sets), see verify notice, build on Spark, verify clean.
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(lake.join("manifest.json")).expect("the lake's manifest"),
    )
    .expect("manifest JSON");
    let zone = manifest["time_zone"]
        .as_str()
        .expect("time zone")
        .to_string();
    {
        let opened = omnikpi::server::db::Db::open(&db, &zone).expect("the database opens");
        let conn = opened.connect().expect("connect");
        conn.execute_batch(
            "UPDATE rollup_daily SET amount = amount + 1
                 WHERE day = (SELECT max(day) FROM rollup_daily WHERE event_type = 'purchase')
                   AND event_type = 'purchase';
             DELETE FROM rollup_sets WHERE day = (SELECT min(day) FROM rollup_sets);
             UPDATE rollup_state SET loaded_through = 0;",
        )
        .expect("spoil the rollups");
    }
    let (ok, out, _) = proc::run(&db, &["rollup", "verify"]);
    assert!(!ok, "verify missed the spoilt rollups: {out}");
    assert!(
        out.contains("rollup_daily: ") && out.contains("rollup_sets: "),
        "{out}"
    );
    let started = Instant::now();
    let built = run_ok(
        &db,
        &[
            "rollup",
            "build",
            "--engine",
            "spark",
            "--spark",
            &cluster.url,
            "--lake",
            &lake_arg,
        ],
    );
    eprintln!(
        "{} ({:.1} s in all)",
        built.trim(),
        started.elapsed().as_secs_f64()
    );
    assert!(built.contains("rollups built on Spark"), "{built}");
    // Spark's rows came through Parquet next to the lake, not through the Connect server.
    let stage = dir.path().join("lake-rollup-build");
    for part in ["daily", "pairs"] {
        let parquet = std::fs::read_dir(stage.join(part))
            .expect("Spark wrote the stage folder")
            .filter_map(Result::ok)
            .any(|f| f.path().extension().is_some_and(|e| e == "parquet"));
        assert!(parquet, "no Parquet file in {}", stage.join(part).display());
    }
    let verified = run_ok(&db, &["rollup", "verify"]);
    assert!(
        verified.contains("each matches the raw events"),
        "{verified}"
    );
    {
        let opened = omnikpi::server::db::Db::open(&db, &zone).expect("the database opens");
        let conn = opened.connect().expect("connect");
        let (through, tz, sets): (i64, String, i64) = conn
            .query_row(
                "SELECT loaded_through, time_zone, (SELECT count(*) FROM rollup_sets)
                 FROM rollup_state",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .expect("the rollup state");
        assert_eq!(through, manifest["max_load_id"].as_i64().expect("max load"));
        assert_eq!(tz, zone);
        assert!(sets > 0);
    }
}
