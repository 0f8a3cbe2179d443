//! The demo data set: a deterministic, plausible year of an Italian omnichannel retailer
//! (12 stores, a web shop and an app), written as canonical CSV files per source and loaded
//! through the same path as a user's files.
//!
//! Customers are single-channel or multichannel; multichannel ones buy more often and spend a
//! little more per order. Their identifiers overlap only in part across systems (the till
//! knows the loyalty card, the web shop the e-mail, the app a device), which is what identity
//! stitching has to resolve. Seasonality follows the retail calendar (January and July sales,
//! Black Friday, Christmas) and the week (Saturdays are busy).
//!
//! On top of the purchases, [`journeys`] writes the other touchpoints of the customer journey
//! (ad clicks, browsing, click & collect, live chat, surveys, deliveries, returns, complaints)
//! with its own random stream, so the purchases above do not change, and plants the pain
//! points of the journey view at known rates ([`PLANTED_PAIN`]).

use std::path::{Path, PathBuf};

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, Weekday};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::db::Db;
use super::ingest::{self, IngestError, LoadOptions, LoadReport};
use sink::{Form, Sink, Written};

pub mod export;
mod journeys;
mod marketing;
mod sink;
mod targets;
pub use journeys::{PLANTED_PAIN, PlantedPain, PlantedPains};

#[derive(Clone, Debug)]
pub struct DemoSpec {
    pub seed: u64,
    pub customers: u32,
    /// The last day of the data (local date).
    pub end: NaiveDate,
    pub days: u32,
}

/// How many customers make the generator write about `events` events with this seed, end
/// and history: two small generations (in memory, nothing written) fit events = fixed + per
/// customer × customers, since store footfall and the planted campaign do not grow with
/// customers (a single sample would overshoot). About 36 events a customer over 400 days.
pub fn customers_for(events: u64, seed: u64, end: NaiveDate, days: u32) -> Result<u32, DemoError> {
    let count = |customers: u32| -> Result<f64, DemoError> {
        let spec = DemoSpec {
            seed,
            customers,
            end,
            days,
        };
        let (files, _) = generate(&spec, Form::Count, Path::new(""))?;
        Ok(files.iter().map(|f| f.rows).sum::<u64>() as f64)
    };
    let (small, large) = (1_000u32, 4_000u32);
    let (a, b) = (count(small)?, count(large)?);
    let per_customer = ((b - a) / f64::from(large - small)).max(1.0);
    let fixed = (a - per_customer * f64::from(small)).max(0.0);
    let customers = ((events as f64 - fixed) / per_customer).ceil();
    Ok(customers.clamp(10.0, f64::from(u32::MAX)) as u32)
}

/// The stores of the demo retailer: id, name, region.
pub const STORES: &[(&str, &str, &str)] = &[
    ("MI01", "Milano Duomo", "Lombardia"),
    ("MI02", "Milano Porta Nuova", "Lombardia"),
    ("BG01", "Bergamo", "Lombardia"),
    ("TO01", "Torino Centro", "Piemonte"),
    ("GE01", "Genova", "Liguria"),
    ("VE01", "Venezia Mestre", "Veneto"),
    ("VR01", "Verona", "Veneto"),
    ("BO01", "Bologna", "Emilia-Romagna"),
    ("FI01", "Firenze", "Toscana"),
    ("RM01", "Roma Termini", "Lazio"),
    ("RM02", "Roma EUR", "Lazio"),
    ("NA01", "Napoli", "Campania"),
];

const CATEGORIES: &[(&str, f64)] = &[
    ("apparel", 45.0),
    ("shoes", 70.0),
    ("home", 55.0),
    ("accessories", 25.0),
];

/// What the generator plants, and what the KPIs must find in the data within the tolerances.
pub struct Planted {
    pub multichannel_orders_per_year: f64,
    pub single_orders_per_year: f64,
    /// multichannel_frequency_uplift over 12 months, as the KPI measures it: buyers with at
    /// least one order, so for yearly Poisson rates 4.6 and 1.5 about 4.65 / 1.93 = 2.4, and a
    /// little more because a multichannel customer who used one channel that year counts as
    /// single-channel. Seeds 1 to 4 and 42 measured 2.43 to 2.59.
    pub frequency_uplift: f64,
    pub frequency_tolerance: f64,
    /// multichannel_value_uplift: multichannel baskets cost this much more (seeds 1 to 4 and
    /// 42 measured 0.107 to 0.177 on purchases alone; with the journey layer, whose chats, ads
    /// and click & collect make more multichannel customers count as such within a year,
    /// 0.120 to 0.199, so the tolerance is 7 points).
    pub value_uplift: f64,
    pub value_tolerance: f64,
}

/// The market figures our users quote: multichannel buyers buy about 2.5 times as often and
/// spend about 13 % more per order.
pub const PLANTED: Planted = Planted {
    multichannel_orders_per_year: 4.6,
    single_orders_per_year: 1.5,
    frequency_uplift: 2.5,
    frequency_tolerance: 0.3,
    value_uplift: 0.13,
    value_tolerance: 0.07,
};

/// What the generator plants for "what changed" in the last full month of the data
/// ([`planted_month`]), on top of everything else and from its own random stream, so the
/// purchases, the journeys and the figures of [`PLANTED`] and [`PLANTED_PAIN`] stay the same.
#[derive(Clone, Copy, Debug)]
pub struct PlantedChange {
    /// The store whose conversion drops: people come in and do not buy.
    pub weak_store: &'static str,
    /// Extra footfall at the weak store that month, as a share of its door count; its
    /// door-counted conversion falls to 1 / (1 + share) of what it would be (−60 % for 1.5).
    pub extra_footfall: f64,
    /// The campaign whose spend rises with no extra orders: anonymous paid clicks from a
    /// placement that brings nobody who buys.
    pub weak_campaign: &'static str,
    /// Extra clicks of the weak campaign per day of that month, at `click_cost` each.
    pub extra_clicks_per_day: u32,
    pub click_cost: f64,
}

pub const PLANTED_CHANGE: PlantedChange = PlantedChange {
    weak_store: "BO01",
    extra_footfall: 1.5,
    weak_campaign: "META-RETARGET",
    extra_clicks_per_day: 12,
    click_cost: 0.45,
};

/// The last full calendar month of data ending on `end` (its own month when `end` is the
/// month's last day), as (first day, last day).
pub fn planted_month(end: NaiveDate) -> (NaiveDate, NaiveDate) {
    let last = match end.succ_opt() {
        Some(next) if next.day() == 1 => end,
        _ => end.with_day(1).and_then(|d| d.pred_opt()).unwrap_or(end),
    };
    (last.with_day(1).unwrap_or(last), last)
}

/// The sources the demo writes, one file each.
pub const SOURCES: &[&str] = &[
    "pos",
    "webshop",
    "app",
    "ads",
    "web_analytics",
    "clickcollect",
    "service",
    "survey",
    "logistics",
    "email",
    "social",
];

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot write the demo files in {}: {source}", dir.display())]
    Write {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error(transparent)]
    Export(#[from] export::ExportError),
    #[error("no export format for the demo source {0}")]
    NoExport(&'static str),
    #[error("database error: {0}")]
    Sql(#[from] duckdb::Error),
    #[error(transparent)]
    Db(#[from] super::db::DbError),
    #[error(transparent)]
    Journey(#[from] super::journey::JourneyError),
    #[error(transparent)]
    Kpi(#[from] super::kpi::KpiError),
    #[error(transparent)]
    Period(#[from] super::kpi::PeriodError),
    #[error(transparent)]
    Target(#[from] super::kpi::targets::TargetError),
    #[error(transparent)]
    Benchmark(#[from] super::kpi::benchmarks::BenchmarkError),
}

/// What the demo produced.
#[derive(Debug)]
pub struct DemoSummary {
    pub files: Vec<(String, PathBuf)>,
    pub events: u64,
    pub load: LoadReport,
    /// How many of each pain point the generator planted.
    pub planted: PlantedPains,
    /// Journeys after the rebuild that ends the load.
    pub journeys: u64,
    /// Targets the demo's plan set (none when the database had targets already).
    pub targets: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Channel {
    Store,
    Web,
    App,
}

/// An order the purchase generator wrote; the journey layer builds around it.
struct Order {
    customer: usize,
    channel: Channel,
    at: NaiveDateTime,
    order_id: String,
    total: f64,
}

struct Customer {
    email: Option<String>,
    loyalty: Option<String>,
    device: Option<String>,
    cookie: String,
    channels: Vec<Channel>,
    home_store: usize,
    orders_per_year: f64,
    basket_factor: f64,
}

struct Writers {
    pos: Sink,
    web: Sink,
    app: Sink,
}

const HEADER: &str = "event_id,occurred_at,event_type,channel,touchpoint,email,loyalty_id,\
                      device_id,cookie_id,order_id,amount,currency,quantity,store_id,sku,\
                      category,unit_price";

/// Writes the demo files into `dir` and loads them into `db`.
pub fn generate_and_load(db: &Db, spec: &DemoSpec, dir: &Path) -> Result<DemoSummary, DemoError> {
    generate_and_load_with(db, spec, dir, &ingest::Progress::default())
}

/// [`generate_and_load`], telling `progress` how the loads go.
pub fn generate_and_load_with(
    db: &Db,
    spec: &DemoSpec,
    dir: &Path,
    progress: &ingest::Progress,
) -> Result<DemoSummary, DemoError> {
    create_dir(dir)?;
    let (files, planted) = generate(spec, Form::Export, dir)?;
    let events = files.iter().map(|f| f.rows).sum();
    ensure_stores(db)?;
    // Each source is registered with its example mapping (as `omnikpi source add` does) and
    // its file loaded through it (as `omnikpi load --source` does).
    {
        let _writer = db.write_lock();
        let conn = db.connect()?;
        for f in &files {
            let export = export::export_of(f.source).ok_or(DemoError::NoExport(f.source))?;
            ingest::sources::add(&conn, export.source, export.mapping, export.mapping_file)?;
        }
    }
    // Every source in one load (one transaction, one identity stitch at its end), each file
    // read through its source's mapping.
    let batch: Vec<_> = files
        .iter()
        .map(|f| (f.source.to_string(), f.path.clone(), f.mapping.clone()))
        .collect();
    let options = LoadOptions {
        progress: progress.clone(),
        ..LoadOptions::default()
    };
    let load = ingest::load_sources_without_journeys(db, &batch, &options)?;
    // One journey rebuild for the whole data set rather than one per file.
    let journeys = super::journey::rebuild(db)?;
    let targets = targets::seed(db, spec.end, dir)?;
    seed_alert_rules(db, spec.end);
    Ok(DemoSummary {
        files: files
            .into_iter()
            .map(|f| (f.source.to_string(), f.path))
            .collect(),
        events,
        load,
        planted,
        journeys,
        targets,
    })
}

/// The demo's alert rules (only into a database that has none), evaluated on the demo's last
/// day so the bell has something to show. A failure is logged: the data set stays usable.
fn seed_alert_rules(db: &Db, end: NaiveDate) {
    use super::alerts::{self, NewRule};
    let rule = |kpi: &str, department: &str, kind: &str, op: &str, threshold: f64| NewRule {
        kpi: kpi.into(),
        department: department.into(),
        filters: String::new(),
        kind: kind.into(),
        op: op.into(),
        threshold: Some(threshold),
        window: "last_7_days".into(),
    };
    let rules = [
        // Marketing spends more than planned in a week (fires on the demo data).
        rule(
            "ad_spend",
            "marketing",
            "threshold",
            "above",
            DEMO_AD_SPEND_WEEK,
        ),
        rule("new_customers", "marketing", "change", "below", 50.0),
        rule("store_orders", "stores", "change", "below", 20.0),
        rule("complaints", "customer_service", "threshold", "above", 1.0),
    ];
    let seeded = (|| -> Result<usize, alerts::AlertError> {
        {
            let _writer = db.write_lock();
            let conn = db.connect()?;
            let existing: i64 =
                conn.query_row("SELECT count(*) FROM alert_rules", [], |r| r.get(0))?;
            if existing > 0 {
                return Ok(0);
            }
            let tx = conn.unchecked_transaction()?;
            for r in &rules {
                alerts::create(&tx, r, "demo")?;
            }
            tx.commit()?;
        }
        Ok(alerts::evaluate_now(db, Some(end))?.len())
    })();
    match seeded {
        Ok(n) => tracing::info!(fired = n, "demo alert rules seeded"),
        Err(e) => tracing::warn!(error = %e, "seeding the demo alert rules failed"),
    }
}

/// The weekly ad spend above which the demo's marketing rule fires (the demo spends more).
const DEMO_AD_SPEND_WEEK: f64 = 40.0;

/// Fills the `stores` reference table (idempotent).
pub fn ensure_stores(db: &Db) -> Result<(), DemoError> {
    let _writer = db.write_lock();
    let conn = db.connect()?;
    for (id, name, region) in STORES {
        conn.execute(
            "INSERT INTO stores (store_id, name, region) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [id, name, region],
        )?;
    }
    Ok(())
}

/// Generates the events and writes one canonical CSV per source; returns (source, file, rows).
/// (The demo itself writes export formats; canonical files are what those must load as.)
pub fn write_files(spec: &DemoSpec, dir: &Path) -> Result<Vec<(String, PathBuf, u64)>, DemoError> {
    create_dir(dir)?;
    Ok(generate(spec, Form::Canonical, dir)?
        .0
        .into_iter()
        .map(|f| (f.source.to_string(), f.path, f.rows))
        .collect())
}

/// Generates the events and writes each source's file in its export format; returns (source,
/// file, rows).
pub fn write_export_files(
    spec: &DemoSpec,
    dir: &Path,
) -> Result<Vec<(String, PathBuf, u64)>, DemoError> {
    create_dir(dir)?;
    Ok(generate(spec, Form::Export, dir)?
        .0
        .into_iter()
        .map(|f| (f.source.to_string(), f.path, f.rows))
        .collect())
}

fn create_dir(dir: &Path) -> Result<(), DemoError> {
    std::fs::create_dir_all(dir).map_err(|source| DemoError::Write {
        dir: dir.to_path_buf(),
        source,
    })
}

/// Loads the canonical files of [`write_files`] without mappings, as the demo did before it
/// wrote export formats: the reference the export path must reproduce event for event.
pub fn load_canonical(db: &Db, spec: &DemoSpec, dir: &Path) -> Result<u64, DemoError> {
    let files = write_files(spec, dir)?;
    ensure_stores(db)?;
    for (source, path, _) in &files {
        ingest::load_files_without_journeys(
            db,
            source,
            std::slice::from_ref(path),
            &LoadOptions::default(),
        )?;
    }
    Ok(files.iter().map(|(_, _, n)| n).sum())
}

/// One source's generated rows: source, canonical header, canonical CSV lines.
/// Generates the demo's events into one file per source in `dir` ([`SOURCES`] order), each row
/// written as it is made ([`sink`]); returns the files and what was planted.
fn generate(
    spec: &DemoSpec,
    form: Form,
    dir: &Path,
) -> Result<(Vec<Written>, PlantedPains), DemoError> {
    let open = |source, header| Sink::open(form, dir, source, header);
    let mut out = Writers {
        pos: open("pos", HEADER)?,
        web: open("webshop", HEADER)?,
        app: open("app", HEADER)?,
    };
    // The ad clicks and the chats are read again by the marketing layer.
    let layer_files = [
        open("ads", journeys::HEADER)?.keeping(),
        open("web_analytics", journeys::HEADER)?,
        open("clickcollect", journeys::HEADER)?,
        open("service", journeys::HEADER)?.keeping(),
        open("survey", journeys::HEADER)?,
        open("logistics", journeys::HEADER)?,
    ];
    let (mut email, mut social) = (
        open("email", journeys::HEADER)?,
        open("social", journeys::HEADER)?,
    );
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let customers: Vec<Customer> = (0..spec.customers).map(|i| customer(&mut rng, i)).collect();
    let start = spec
        .end
        .checked_sub_days(Days::new(u64::from(spec.days.saturating_sub(1))))
        .unwrap_or(spec.end);
    let mut seq = 0u64;
    let mut placed: Vec<Order> = Vec::new();
    let year_fraction = f64::from(spec.days) / 365.0;
    let signed_up = start.checked_sub_days(Days::new(30)).unwrap_or(start);
    for (index, c) in customers.iter().enumerate() {
        // The loyalty programme's sign-up links the card to the e-mail (as the CRM export
        // would); it happened before the data window, so it adds no channel to any period.
        if let (Some(card), Some(email)) = (&c.loyalty, &c.email) {
            seq += 1;
            let at = at_time(&mut rng, signed_up, 10, 20);
            out.pos.push(row(&[
                &format!("s{seq}"),
                &at,
                "identify",
                "store",
                "loyalty_signup",
                email,
                card,
            ]));
        }
        let expected = c.orders_per_year * year_fraction;
        let orders = poisson(&mut rng, expected);
        for _ in 0..orders {
            let day = seasonal_day(&mut rng, start, spec.days);
            let channel = c.channels[rng.gen_range(0..c.channels.len())];
            seq += 1;
            let (at, total) = order(&mut rng, c, channel, day, seq, &mut out);
            placed.push(Order {
                customer: index,
                channel,
                at,
                order_id: format!("O{seq:07}"),
                total,
            });
        }
        // Browsing that does not end in a purchase, only on the customer's own online
        // channels: web visits carry the cookie (and the e-mail when logged in), app visits
        // the device.
        let online: Vec<Channel> = c
            .channels
            .iter()
            .copied()
            .filter(|ch| *ch != Channel::Store)
            .collect();
        if !online.is_empty() {
            for _ in 0..poisson(&mut rng, 4.0 * year_fraction) {
                let day = seasonal_day(&mut rng, start, spec.days);
                seq += 1;
                let at = at_time(&mut rng, day, 8, 23);
                let email = if rng.gen_bool(0.3) {
                    c.email.as_deref().unwrap_or("")
                } else {
                    ""
                };
                let id = format!("v{seq}");
                match online[rng.gen_range(0..online.len())] {
                    Channel::App => out.app.push(row(&[
                        &id,
                        &at,
                        "visit",
                        "app",
                        "app_home",
                        email,
                        "",
                        c.device.as_deref().unwrap_or(""),
                    ])),
                    _ => out.web.push(row(&[
                        &id, &at, "visit", "web", "home", email, "", "", &c.cookie,
                    ])),
                }
            }
        }
    }
    // Store footfall that does not buy: anonymous visits counted by the door sensors.
    for day in start.iter_days().take(spec.days as usize) {
        for (s, (store, _, _)) in STORES.iter().enumerate() {
            let visits = poisson(
                &mut rng,
                3.0 * day_weight(day) * (1.0 + (s % 3) as f64 * 0.2),
            );
            for _ in 0..visits {
                seq += 1;
                let at = at_time(&mut rng, day, 10, 20);
                out.pos.push(row(&[
                    &format!("f{seq}"),
                    &at,
                    "visit",
                    "store",
                    &format!("store:{store}"),
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    store,
                ]));
            }
        }
    }

    let planted_ads = plant_change(spec, start, &mut out.pos);

    let layer = journeys::generate(spec, start, &customers, &placed, layer_files);
    let [
        mut ads,
        web_analytics,
        clickcollect,
        service,
        mut survey,
        logistics,
    ] = layer.files;
    ads.extend(planted_ads);
    // The marketing layer reads the final clicks (its impressions follow them) and the quiet
    // slots of the journey layer.
    let market = marketing::generate(
        spec,
        start,
        &customers,
        &layer.quiet,
        (ads.kept(), service.kept()),
        marketing::Files {
            email: &mut email,
            social: &mut social,
        },
    );
    ads.extend(market.impressions);
    survey.extend(market.surveys);
    let files = [
        out.pos,
        out.web,
        out.app,
        ads,
        web_analytics,
        clickcollect,
        service,
        survey,
        logistics,
        email,
        social,
    ]
    .into_iter()
    .map(Sink::finish)
    .collect::<Result<Vec<_>, _>>()?;
    Ok((files, layer.planted))
}

fn customer(rng: &mut ChaCha8Rng, i: u32) -> Customer {
    let multichannel = rng.gen_bool(0.35);
    let channels = if multichannel {
        match rng.gen_range(0..3) {
            0 => vec![Channel::Store, Channel::Web],
            1 => vec![Channel::Store, Channel::App],
            _ => vec![Channel::Store, Channel::Web, Channel::App],
        }
    } else {
        match rng.gen_range(0..10) {
            0..=5 => vec![Channel::Store],
            6..=8 => vec![Channel::Web],
            _ => vec![Channel::App],
        }
    };
    let online = channels.iter().any(|c| *c != Channel::Store);
    let has_store = channels.contains(&Channel::Store);
    Customer {
        email: (online || rng.gen_bool(0.4)).then(|| format!("cliente{i:05}@example.it")),
        loyalty: (has_store && rng.gen_bool(0.7) || multichannel)
            .then(|| format!("L{:07}", 1000 + i)),
        device: channels
            .contains(&Channel::App)
            .then(|| format!("dev-{i:05}")),
        cookie: format!("ck-{i:05}"),
        home_store: rng.gen_range(0..STORES.len()),
        orders_per_year: if multichannel {
            PLANTED.multichannel_orders_per_year
        } else {
            PLANTED.single_orders_per_year
        } * rng.gen_range(0.8..1.2),
        basket_factor: if multichannel {
            1.0 + PLANTED.value_uplift
        } else {
            1.0
        },
        channels,
    }
}

fn order(
    rng: &mut ChaCha8Rng,
    c: &Customer,
    channel: Channel,
    day: NaiveDate,
    seq: u64,
    out: &mut Writers,
) -> (NaiveDateTime, f64) {
    let lines = rng.gen_range(1..=3);
    let order_id = format!("O{seq:07}");
    let (open, close) = if channel == Channel::Store {
        (10, 20)
    } else {
        (7, 23)
    };
    let when = at_datetime(rng, day, open, close);
    let at = when.format("%Y-%m-%dT%H:%M:%S").to_string();
    let mut total = 0.0;
    let store = STORES[c.home_store].0;
    for line in 0..lines {
        let (category, base) = CATEGORIES[rng.gen_range(0..CATEGORIES.len())];
        let sku = format!(
            "{}-{:03}",
            &category[..2].to_uppercase(),
            rng.gen_range(1..60)
        );
        let quantity = if rng.gen_bool(0.85) { 1 } else { 2 };
        let unit_price = (base * c.basket_factor * rng.gen_range(0.6..1.5) * 100.0).round() / 100.0;
        let amount = unit_price * f64::from(quantity);
        total += (amount * 100.0).round() / 100.0;
        let event_id = format!("{order_id}-{line}");
        let amount = format!("{amount:.2}");
        let unit = format!("{unit_price:.2}");
        let qty = quantity.to_string();
        match channel {
            Channel::Store => {
                let loyalty = c.loyalty.as_deref().unwrap_or("");
                // Receipts carry the e-mail only when the customer asked for a digital one.
                let email = if loyalty.is_empty() && rng.gen_bool(0.5) {
                    c.email.as_deref().unwrap_or("")
                } else {
                    ""
                };
                out.pos.push(row(&[
                    &event_id,
                    &at,
                    "purchase",
                    "store",
                    &format!("store:{store}"),
                    email,
                    loyalty,
                    "",
                    "",
                    &order_id,
                    &amount,
                    "EUR",
                    &qty,
                    store,
                    &sku,
                    category,
                    &unit,
                ]));
            }
            Channel::Web | Channel::App => {
                let (target, name, device, cookie, touchpoint) = if channel == Channel::Web {
                    (&mut out.web, "web", "", c.cookie.as_str(), "checkout")
                } else {
                    (
                        &mut out.app,
                        "app",
                        c.device.as_deref().unwrap_or(""),
                        "",
                        "app_checkout",
                    )
                };
                target.push(row(&[
                    &event_id,
                    &at,
                    "purchase",
                    name,
                    touchpoint,
                    c.email.as_deref().unwrap_or(""),
                    "",
                    device,
                    cookie,
                    &order_id,
                    &amount,
                    "EUR",
                    &qty,
                    "",
                    &sku,
                    category,
                    &unit,
                ]));
            }
        }
    }
    (when, total)
}

/// Plants [`PLANTED_CHANGE`] in the last full month, with its own random stream: extra
/// anonymous footfall at the weak store (appended to `pos`), and the weak campaign's extra
/// anonymous paid clicks (returned as rows of the ads file). Nothing is planted when the data
/// does not hold the month before it too (there would be nothing to compare with).
fn plant_change(spec: &DemoSpec, start: NaiveDate, pos: &mut Sink) -> Vec<String> {
    let plan = PLANTED_CHANGE;
    let (first, last) = planted_month(spec.end);
    let mut ads = Vec::new();
    if first
        .checked_sub_months(chrono::Months::new(1))
        .is_none_or(|d| d < start)
    {
        return ads;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed ^ 0x5745_414b);
    let store = STORES
        .iter()
        .position(|(id, _, _)| *id == plan.weak_store)
        .unwrap_or(0);
    let mut seq = 0u64;
    for day in first.iter_days().take_while(|d| *d <= last) {
        // The same mean as the door count of that store (see write_all), times the share.
        let mean = 3.0 * day_weight(day) * (1.0 + (store % 3) as f64 * 0.2) * plan.extra_footfall;
        for _ in 0..poisson(&mut rng, mean) {
            seq += 1;
            let at = at_time(&mut rng, day, 10, 20);
            pos.push(row(&[
                &format!("pf{seq}"),
                &at,
                "visit",
                "store",
                &format!("store:{}", plan.weak_store),
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                plan.weak_store,
            ]));
        }
        for _ in 0..plan.extra_clicks_per_day {
            seq += 1;
            let at = at_time(&mut rng, day, 8, 23);
            let columns = journeys::HEADER.split(',').count();
            let mut values = vec![String::new(); columns];
            for (column, value) in [
                ("event_id", format!("pc{seq}")),
                ("occurred_at", at),
                ("event_type", "click".to_string()),
                ("channel", "ads".to_string()),
                ("touchpoint", "lp:product".to_string()),
                ("campaign_id", plan.weak_campaign.to_string()),
                ("cost", format!("{:.2}", plan.click_cost)),
            ] {
                if let Some(i) = journeys::HEADER.split(',').position(|c| c == column) {
                    values[i] = value;
                }
            }
            ads.push(values.join(","));
        }
    }
    ads
}

/// One CSV line; values never contain commas or quotes, trailing fields may be omitted.
fn row(values: &[&str]) -> String {
    let columns = HEADER.split(',').count();
    let mut line = values.join(",");
    for _ in values.len()..columns {
        line.push(',');
    }
    line
}

/// A local time on `day` between the opening hours, as ISO-8601 without an offset (read in
/// the instance's time zone, as a till export would be).
fn at_time(rng: &mut ChaCha8Rng, day: NaiveDate, open: u32, close: u32) -> String {
    at_datetime(rng, day, open, close)
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

fn at_datetime(rng: &mut ChaCha8Rng, day: NaiveDate, open: u32, close: u32) -> NaiveDateTime {
    let minute = rng.gen_range(open * 60..close * 60);
    let time = chrono::NaiveTime::from_hms_opt(minute / 60, minute % 60, rng.gen_range(0..60))
        .unwrap_or_default();
    NaiveDateTime::new(day, time)
}

/// How busy a day is relative to an ordinary weekday.
fn day_weight(day: NaiveDate) -> f64 {
    let week = match day.weekday() {
        Weekday::Sat => 1.6,
        Weekday::Sun => 0.9,
        Weekday::Fri => 1.2,
        _ => 1.0,
    };
    let season = match (day.month(), day.day()) {
        (1, 2..=31) => 1.4,                       // saldi invernali
        (7, _) => 1.3,                            // saldi estivi
        (11, d) if (22..=30).contains(&d) => 2.2, // Black Friday week
        (12, d) if d <= 24 => 1.8,                // Christmas
        (8, _) => 0.7,
        _ => 1.0,
    };
    week * season
}

/// A day of the period drawn with the seasonal weights.
fn seasonal_day(rng: &mut ChaCha8Rng, start: NaiveDate, days: u32) -> NaiveDate {
    loop {
        let offset = rng.gen_range(0..days.max(1));
        let day = start + Days::new(u64::from(offset));
        if rng.gen_range(0.0..2.2) < day_weight(day) {
            return day;
        }
    }
}

fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> u32 {
    // Knuth's method; the means used here are small.
    let limit = (-mean).exp();
    let mut product = rng.r#gen::<f64>();
    let mut n = 0;
    while product > limit {
        n += 1;
        product *= rng.r#gen::<f64>();
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> DemoSpec {
        DemoSpec {
            seed: 7,
            customers: 50,
            end: NaiveDate::from_ymd_opt(2026, 6, 30).expect("date"),
            days: 90,
        }
    }

    #[test]
    fn the_same_seed_writes_the_same_files() -> Result<(), Box<dyn std::error::Error>> {
        let (a, b) = (tempfile::tempdir()?, tempfile::tempdir()?);
        write_files(&spec(), a.path())?;
        write_files(&spec(), b.path())?;
        for source in SOURCES {
            let name = format!("{source}.csv");
            assert_eq!(
                std::fs::read(a.path().join(&name))?,
                std::fs::read(b.path().join(&name))?
            );
        }
        Ok(())
    }

    #[test]
    fn every_line_has_the_header_width() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        for (source, path, rows) in write_files(&spec(), dir.path())? {
            let width = if ["pos", "webshop", "app"].contains(&source.as_str()) {
                HEADER.split(',').count()
            } else {
                journeys::HEADER.split(',').count()
            };
            let text = std::fs::read_to_string(path)?;
            assert_eq!(text.lines().count() as u64, rows + 1);
            assert!(text.lines().all(|l| l.split(',').count() == width));
        }
        Ok(())
    }
}
