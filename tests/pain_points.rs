//! Pain points on the demo data: every planted pain point is found, with the size the
//! generator reports within its tolerance, and ranked in the planted order.

mod common;

use chrono::NaiveDate;
use common::TestDb;
use omnikpi::i18n::Locale;
use omnikpi::server::demo::{self, DemoSpec, PLANTED_PAIN};
use omnikpi::server::journey::{funnel, handoff, pain, paths};
use omnikpi::server::kpi::{Filters, Period};

#[test]
fn the_planted_pain_points_are_found_and_ranked() {
    let t = TestDb::new();
    let spec = DemoSpec {
        seed: 42,
        customers: 1500,
        end: NaiveDate::from_ymd_opt(2026, 6, 30).expect("date"),
        days: 400,
    };
    let summary =
        demo::generate_and_load(&t.db, &spec, &t.dir.path().join("demo")).expect("demo loads");
    let conn = t.db.connect().expect("connection");
    let period = Period::parse("2025-05-27", "2026-06-30").expect("period");
    let points = pain::pain_points(&conn, &period, &Filters::none(), Locale::En).expect("pain");
    for p in &points {
        eprintln!(
            "{} {:?} affected {} exposed {} ref {} conv {:?} / {:?} gap {:?} lost {:.0} z {:?}",
            p.key,
            p.subject,
            p.affected_journeys,
            p.exposed_journeys,
            p.reference_journeys,
            p.conversion_affected,
            p.conversion_reference,
            p.conversion_gap,
            p.revenue_lost,
            p.z_score
        );
    }
    for planted in &PLANTED_PAIN.pains {
        let found = points
            .iter()
            .find(|p| p.key == planted.rule)
            .expect("rule evaluated");
        let expected = summary.planted.get(planted.rule) as f64;
        let off = (found.affected_journeys as f64 - expected).abs() / expected;
        eprintln!(
            "{} planted {expected} found {}",
            planted.rule, found.affected_journeys
        );
        assert!(
            off <= planted.tolerance,
            "{}: planted {expected}, found {}",
            planted.rule,
            found.affected_journeys
        );
        assert!(
            found.enough_volume && found.revenue_lost > 0.0,
            "{}",
            planted.rule
        );
    }
    let ranked: Vec<&str> = points
        .iter()
        .filter(|p| PLANTED_PAIN.pains.iter().any(|x| x.rule == p.key))
        .map(|p| p.key.as_str())
        .collect();
    assert_eq!(ranked, PLANTED_PAIN.ranked);
    let poor = format!("significance:campaign:{}", PLANTED_PAIN.poor_campaign);
    assert!(points.iter().any(|p| p.key == poor), "{poor} flagged");
    let pickup = points
        .iter()
        .find(|p| p.key == "reservation_not_picked_up")
        .expect("rule 3");
    let worst = pickup
        .breakdown
        .iter()
        .filter(|r| r.dimension == "store" && r.exposed >= 10)
        .max_by(|a, b| a.rate.unwrap_or(0.0).total_cmp(&b.rate.unwrap_or(0.0)))
        .expect("stores");
    assert_eq!(worst.value, PLANTED_PAIN.poor_pickup_store);

    let f = funnel::funnel(
        &conn,
        &period,
        &Filters::none(),
        &omnikpi::journey::FunnelStepDef::cross_channel(),
    )
    .expect("funnel");
    eprintln!("{:#?}", f.overall);
    let p = paths::top_paths(&conn, &period, &Filters::none(), None, 10).expect("paths");
    eprintln!("{p:#?}");
    let h = handoff::matrix(&conn, &period, &Filters::none()).expect("handoff");
    eprintln!("{h:#?}");
}
