//! Pain points on the demo data: every planted pain point is found, with the size the
//! generator reports within its tolerance, and ranked in the planted order.

mod common;

use omnikpi::i18n::Locale;
use omnikpi::journey::PainPoint;
use omnikpi::server::demo::PLANTED_PAIN;
use omnikpi::server::journey::pain;
use omnikpi::server::kpi::{Filters, Period};

/// Loads the demo with `seed` and checks what the generator planted.
fn check(seed: u64) -> Vec<PainPoint> {
    let (t, _, summary) = common::planted_demo(seed);
    let conn = t.db.connect().expect("connection");
    // Every journey of the data: the first day is 400 days before the end.
    let period = Period::parse("2025-05-27", "2026-06-30").expect("period");
    let points = pain::pain_points(&conn, &period, &Filters::none(), Locale::En).expect("pain");
    for p in &points {
        eprintln!(
            "seed {seed}: {} affected {} ref {} conv {:?} / {:?} lost {:.0} z {:?}",
            p.key,
            p.affected_journeys,
            p.reference_journeys,
            p.conversion_affected,
            p.conversion_reference,
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
        assert!(expected >= 100.0, "{}: {expected} planted", planted.rule);
        let off = (found.affected_journeys as f64 - expected).abs() / expected;
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
        assert!(!found.examples.is_empty(), "{}", planted.rule);
    }
    let ranked: Vec<&str> = points
        .iter()
        .filter(|p| PLANTED_PAIN.pains.iter().any(|x| x.rule == p.key))
        .map(|p| p.key.as_str())
        .collect();
    assert_eq!(ranked, PLANTED_PAIN.ranked, "seed {seed}");

    let poor = format!("significance:campaign:{}", PLANTED_PAIN.poor_campaign);
    assert!(points.iter().any(|p| p.key == poor), "{poor} is flagged");
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
    assert_eq!(worst.value, PLANTED_PAIN.poor_pickup_store, "seed {seed}");
    points
}

#[test]
fn the_planted_pain_points_are_found_and_ranked() {
    let points = check(42);
    // The list is ranked by revenue lost, and each number is its formula.
    assert!(
        points
            .windows(2)
            .all(|w| w[0].revenue_lost >= w[1].revenue_lost)
    );
    for p in points.iter().filter(|p| p.enough_volume) {
        let expected = p.affected_journeys as f64
            * p.conversion_gap.unwrap_or(0.0).max(0.0)
            * p.average_order_value.unwrap_or(0.0);
        assert!((p.revenue_lost - expected).abs() < 1e-6, "{}", p.key);
    }
}

/// The seeds PLANTED_PAIN's ranking was measured on (slow: `--ignored`).
#[test]
#[ignore]
fn the_ranking_holds_for_other_seeds() {
    for seed in 1..=4 {
        check(seed);
    }
}
