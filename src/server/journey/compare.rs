//! Before and after a day (an annotation's, or any): the journeys starting in the `days` days
//! before it against those starting in the `days` days from it, with their conversion, each
//! funnel step's conversion from the previous step and each pain point's share of affected
//! journeys, and for each change a two-proportion z-test.
//!
//! The test: with `x1` of `n1` before and `x2` of `n2` after, the pooled proportion is
//! `p = (x1 + x2) / (n1 + n2)`, the standard error `sqrt(p (1 - p) (1/n1 + 1/n2))` and
//! `z = (x2/n2 - x1/n1) / se`. A change is significant when `|z| ≥ 1.96` (5 %, two-sided) and
//! both groups have at least [`MIN_VOLUME`] journeys. Journeys still open are left out of the
//! conversion (as everywhere), so an "after" window that reaches today converts less only
//! because it is young: the page says so.

use chrono::{Days, NaiveDate};
use duckdb::Connection;

use super::{JourneyError, funnel, pain};
use crate::i18n::Locale;
use crate::journey::FunnelStepDef;
use crate::journey::server_fns::{MIN_VOLUME, ProportionChange};
use crate::server::kpi::{Filters, Period, PeriodError};

/// |z| at or above which a change is significant (5 %, two-sided).
pub const Z_CRITICAL: f64 = 1.96;

/// The change from `x1` of `n1` to `x2` of `n2`.
pub fn change(key: &str, label: &str, before: (u64, u64), after: (u64, u64)) -> ProportionChange {
    let rate = |(x, n): (u64, u64)| (n > 0).then(|| x as f64 / n as f64);
    let (b, a) = (rate(before), rate(after));
    // pain::z_score(x1, n1, x2, n2) is (p1 - p2) / se: after against before.
    let z = pain::z_score(after.0, after.1, before.0, before.1);
    ProportionChange {
        key: key.to_string(),
        label: label.to_string(),
        before: before.0,
        before_of: before.1,
        after: after.0,
        after_of: after.1,
        before_rate: b,
        after_rate: a,
        difference: a.zip(b).map(|(a, b)| a - b),
        z,
        significant: z.is_some_and(|z| z.abs() >= Z_CRITICAL)
            && before.1 >= MIN_VOLUME
            && after.1 >= MIN_VOLUME,
    }
}

/// The two periods around `at`: `[at - days, at - 1]` and `[at, at + days - 1]`.
pub fn periods(at: NaiveDate, days: u32) -> Result<(Period, Period), PeriodError> {
    let days = u64::from(days.max(1));
    let before_from = at.checked_sub_days(Days::new(days)).unwrap_or(at);
    let before_to = at.pred_opt().unwrap_or(at);
    let after_to = at.checked_add_days(Days::new(days - 1)).unwrap_or(at);
    Ok((
        Period::new(before_from, before_to)?,
        Period::new(at, after_to)?,
    ))
}

/// What changed from before `at` to after it.
pub struct Comparison {
    pub conversion: ProportionChange,
    pub funnel: Vec<ProportionChange>,
    pub pains: Vec<ProportionChange>,
}

pub fn compare(
    conn: &Connection,
    before: &Period,
    after: &Period,
    filters: &Filters,
    steps: &[FunnelStepDef],
    locale: Locale,
) -> Result<Comparison, JourneyError> {
    let (sb, sa) = (
        funnel::summary(conn, before, filters)?,
        funnel::summary(conn, after, filters)?,
    );
    let conversion = change(
        "conversion",
        "",
        (sb.converted, sb.converted + sb.abandoned),
        (sa.converted, sa.converted + sa.abandoned),
    );
    let (fb, fa) = (
        funnel::funnel(conn, before, filters, steps)?.overall,
        funnel::funnel(conn, after, filters, steps)?.overall,
    );
    let funnel = (1..steps.len())
        .map(|k| {
            change(
                &steps[k].key,
                &steps[k].key,
                (fb.steps[k].journeys, fb.steps[k - 1].journeys),
                (fa.steps[k].journeys, fa.steps[k - 1].journeys),
            )
        })
        .collect();
    // Only the numbers are compared: the list mode, as on the journeys page.
    let (pb, pa) = (
        pain::pain_list(conn, before, filters, locale)?,
        pain::pain_list(conn, after, filters, locale)?,
    );
    let mut keys: Vec<(String, String)> = pb
        .iter()
        .chain(pa.iter())
        .map(|p| (p.key.clone(), p.title()))
        .collect();
    keys.sort();
    keys.dedup_by(|a, b| a.0 == b.0);
    let counts = |list: &[crate::journey::PainPoint], key: &str| {
        list.iter()
            .find(|p| p.key == key)
            .map_or((0, 0), |p| (p.affected_journeys, p.exposed_journeys))
    };
    let pains = keys
        .into_iter()
        .map(|(key, label)| change(&key, &label, counts(&pb, &key), counts(&pa, &key)))
        .filter(|c| c.before_of + c.after_of > 0)
        .collect();
    Ok(Comparison {
        conversion,
        funnel,
        pains,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_z_test_by_hand() {
        // Before 30 of 100, after 45 of 100: p = 75 / 200 = 0.375,
        // se = sqrt(0.375 × 0.625 × (1/100 + 1/100)) = sqrt(0.0046875) = 0.0684653,
        // z = (0.45 - 0.30) / 0.0684653 = 2.1908902: significant.
        let c = change("k", "k", (30, 100), (45, 100));
        let z = c.z.expect("defined");
        assert!((z - 2.190_890_2).abs() < 1e-6, "{z}");
        assert!(c.significant);
        assert!((c.difference.expect("both") - 0.15).abs() < 1e-12);
        // Before 4 of 8, after 1 of 8: p = 5/16, se = sqrt(5/16 × 11/16 × 1/4) = 0.2317562,
        // z = (0.125 - 0.5) / 0.2317562 = -1.6180797: not significant, and too few anyway.
        let c = change("k", "k", (4, 8), (1, 8));
        assert!((c.z.expect("defined") + 1.618_079_7).abs() < 1e-6);
        assert!(!c.significant);
        // 0 of 5 against 5 of 5: z = 3.16, but fewer than MIN_VOLUME journeys on each side.
        let c = change("k", "k", (0, 5), (5, 5));
        assert!(
            c.z.expect("defined") > Z_CRITICAL && !c.significant,
            "below MIN_VOLUME"
        );
        assert_eq!(change("k", "k", (0, 0), (1, 2)).z, None);
    }

    #[test]
    fn the_periods_around_a_day() {
        let at = NaiveDate::from_ymd_opt(2026, 3, 15).expect("date");
        let (b, a) = periods(at, 14).expect("periods");
        assert_eq!(
            (b.from().to_string(), b.to().to_string()),
            ("2026-03-01".into(), "2026-03-14".into())
        );
        assert_eq!(
            (a.from().to_string(), a.to().to_string()),
            ("2026-03-15".into(), "2026-03-28".into())
        );
    }
}
