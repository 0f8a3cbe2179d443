//! Helpers shared by the integration tests: a fresh database in a temporary folder and
//! canonical files written from literal lines.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use omnikpi::server::db::Db;
use omnikpi::server::demo::{self, DemoSpec, DemoSummary};
use omnikpi::server::ingest::{self, IngestError, LoadOptions, LoadReport};

pub struct TestDb {
    pub dir: tempfile::TempDir,
    pub db: Db,
}

impl TestDb {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let db = Db::open(&dir.path().join("test.duckdb"), "Europe/Rome").expect("database");
        Self { dir, db }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("test.duckdb")
    }

    /// Writes `lines` (header first) to `name` in the test folder.
    pub fn file(&self, name: &str, lines: &[&str]) -> PathBuf {
        write_lines(self.dir.path(), name, lines)
    }

    pub fn load(&self, source: &str, file: &Path) -> Result<LoadReport, IngestError> {
        ingest::load_files(
            &self.db,
            source,
            &[file.to_path_buf()],
            &LoadOptions::default(),
        )
    }

    /// Sets an instance setting (an existing key of `settings`), as the settings page would.
    pub fn set_setting(&self, key: &str, value: &str) {
        let conn = self.db.connect().expect("connection");
        let changed = conn
            .execute("UPDATE settings SET value = ? WHERE key = ?", [value, key])
            .expect("setting");
        assert_eq!(changed, 1, "no setting {key}");
    }

    pub fn count(&self, sql: &str) -> i64 {
        let conn = self.db.connect().expect("connection");
        conn.query_row(sql, [], |r| r.get(0)).expect("count query")
    }

    /// A database holding [`FIXTURE`] (source `pos`), so "unchanged" is not the trivial
    /// empty database.
    pub fn with_fixture() -> Self {
        let t = Self::new();
        let file = t.file("fixture.csv", FIXTURE);
        t.load("pos", &file).expect("fixture loads");
        t
    }

    /// What must not change when an input is refused: row counts and a checksum of every
    /// event.
    pub fn snapshot(&self) -> Snapshot {
        let conn = self.db.connect().expect("connection");
        let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).expect(sql) };
        Snapshot {
            events: count("SELECT count(*) FROM events"),
            identities: count("SELECT count(*) FROM identities"),
            customers: count("SELECT count(DISTINCT customer_id) FROM identities"),
            loads_ok: count("SELECT count(*) FROM loads WHERE status = 'ok'"),
            load_rejects: count("SELECT count(*) FROM load_rejects"),
            checksum: conn
                .query_row(
                    "SELECT coalesce(md5(string_agg(CAST(e AS VARCHAR), '|' ORDER BY source, event_id)), '')
                     FROM events e",
                    [],
                    |r| r.get(0),
                )
                .expect("checksum"),
        }
    }
}

/// [`TestDb::snapshot`]: equal before and after means the database did not change.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub events: i64,
    pub identities: i64,
    pub customers: i64,
    pub loads_ok: i64,
    pub load_rejects: i64,
    pub checksum: String,
}

/// The demo data set the planted-figure tests load into a fresh database: `seed`, 1,500
/// customers, 400 days up to 30 June 2026 (June is its last full month).
pub fn planted_demo(seed: u64) -> (TestDb, DemoSpec, DemoSummary) {
    let t = TestDb::new();
    let spec = DemoSpec {
        seed,
        customers: 1500,
        end: chrono::NaiveDate::from_ymd_opt(2026, 6, 30).expect("date"),
        days: 400,
    };
    let summary =
        demo::generate_and_load(&t.db, &spec, &t.dir.path().join("demo")).expect("demo loads");
    (t, spec, summary)
}

pub fn write_lines(dir: &Path, name: &str, lines: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(&path, text).expect("write fixture");
    path
}

/// The hand-made fixture of the KPI tests (see tests/kpi_slice.rs for the worked values).
pub const FIXTURE: &[&str] = &[
    "event_id,occurred_at,event_type,channel,email,loyalty_id,phone,order_id,amount",
    // Two lines of one store order for loyalty card L1: one order, 150.00.
    "e1,2026-03-10T10:00:00+01:00,purchase,store,,L1,,A,100.00",
    "e2,2026-03-10T10:00:00+01:00,purchase,store,,L1,,A,50.00",
    // A web purchase without an order id: the event is the order. a@x.it is L1 (see e8).
    "e3,2026-03-15T12:00:00Z,purchase,web,A@X.it ,,,,30.00",
    // Anonymous: counts in revenue and orders, not in active customers.
    "e4,2026-03-20T18:00:00+01:00,purchase,store,,,,B,20.00",
    // 23:30 UTC on 31 March is 01:30 on 1 April in Rome (summer time): April, not March.
    "e5,2026-03-31T23:30:00Z,purchase,web,,L2,,C,999.00",
    // 23:30 UTC on 28 February is 00:30 on 1 March in Rome: March.
    "e6,2026-02-28T23:30:00Z,purchase,web,b@x.it,,,D,10.00",
    "e7,2026-03-12T09:00:00+01:00,visit,web,,,,,",
    // Links L1 and a@x.it into one customer, outside the period.
    "e8,2026-01-05T09:00:00+01:00,identify,store,a@x.it,L1,,,",
    // A return is not revenue.
    "e9,2026-03-21T10:00:00+01:00,return,store,,L1,,A,40.00",
    // 01:30 local on the night clocks go forward (29 March 2026), without an offset.
    "e10,2026-03-29T01:30:00,purchase,store,,L3,,E,5.00",
];

/// The columns every [`Ev`] line is written with.
pub const EV_COLUMNS: &[&str] = &[
    "event_id",
    "occurred_at",
    "event_type",
    "channel",
    "email",
    "loyalty_id",
    "phone",
    "crm_id",
    "cookie_id",
    "device_id",
    "order_id",
    "amount",
    "cost",
    "campaign_id",
    "sku",
    "unit_price",
    "score",
    "score_scale",
    "topic",
    "attributes",
    "touchpoint",
    "store_id",
    "category",
    "quantity",
];

/// One canonical event for a fixture, built field by field.
#[derive(Clone, Debug)]
pub struct Ev {
    values: Vec<(&'static str, String)>,
}

pub fn ev(id: &str, at: &str, event_type: &str) -> Ev {
    Ev {
        values: vec![
            ("event_id", id.to_string()),
            ("occurred_at", at.to_string()),
            ("event_type", event_type.to_string()),
        ],
    }
}

impl Ev {
    pub fn set(mut self, column: &'static str, value: &str) -> Self {
        assert!(
            EV_COLUMNS.contains(&column),
            "unknown fixture column {column}"
        );
        self.values.push((column, value.to_string()));
        self
    }
    pub fn channel(self, v: &str) -> Self {
        self.set("channel", v)
    }
    pub fn email(self, v: &str) -> Self {
        self.set("email", v)
    }
    pub fn loyalty(self, v: &str) -> Self {
        self.set("loyalty_id", v)
    }
    pub fn cookie(self, v: &str) -> Self {
        self.set("cookie_id", v)
    }
    pub fn device(self, v: &str) -> Self {
        self.set("device_id", v)
    }
    pub fn order(self, v: &str) -> Self {
        self.set("order_id", v)
    }
    pub fn amount(self, v: &str) -> Self {
        self.set("amount", v)
    }

    /// The fields set, each once (the last value set wins), in [`EV_COLUMNS`] order.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        EV_COLUMNS
            .iter()
            .filter_map(|c| {
                self.values
                    .iter()
                    .rev()
                    .find(|(k, _)| k == c)
                    .map(|(k, v)| (*k, v.clone()))
            })
            .collect()
    }

    fn line(&self) -> String {
        EV_COLUMNS
            .iter()
            .map(|c| {
                let v = self
                    .values
                    .iter()
                    .rev()
                    .find(|(k, _)| k == c)
                    .map(|(_, v)| v.as_str())
                    .unwrap_or("");
                if v.contains(',') || v.contains('"') {
                    format!("\"{}\"", v.replace('"', "\"\""))
                } else {
                    v.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl TestDb {
    /// Loads `events` as one canonical file of source `fixture`.
    pub fn load_events(&self, events: &[Ev]) {
        self.load_events_named("events.csv", events);
    }

    /// [`Self::load_events`] from a file called `name`.
    pub fn load_events_named(&self, name: &str, events: &[Ev]) {
        let mut lines = vec![EV_COLUMNS.join(",")];
        lines.extend(events.iter().map(Ev::line));
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let file = self.file(name, &refs);
        self.load("fixture", &file).expect("fixture loads");
    }
}

/// Click & collect: a web reservation for pickup at `store`.
pub fn reservation(id: &str, at: &str, email: &str, order: &str, store: &str) -> Ev {
    ev(id, at, "reservation")
        .channel("web")
        .email(email)
        .order(order)
        .set("store_id", store)
}

/// Click & collect: the pickup of a reservation in the store.
pub fn pickup(id: &str, at: &str, email: &str, order: &str) -> Ev {
    ev(id, at, "pickup")
        .channel("store")
        .email(email)
        .order(order)
}

/// A purchase in a store by the customer with `email`.
pub fn store_purchase(id: &str, at: &str, email: &str, order: &str, amount: &str) -> Ev {
    ev(id, at, "purchase")
        .channel("store")
        .email(email)
        .order(order)
        .amount(amount)
}
