//! Splitting a change between its causes, as pure arithmetic (no SQL, no I/O).
//!
//! - [`sum`]: for `P = Σ sign·Xᵢ` each term's contribution is its own signed difference, exact.
//! - [`product`]: for `P = Π Xᵢ` the log-mean Divisia index (LMDI): with
//!   `L = (P₁ − P₀) / ln(P₁ / P₀)`, the contribution of `Xᵢ` is `L · ln(Xᵢ₁ / Xᵢ₀)`; they add
//!   up to `P₁ − P₀` because the logs of the factors add up to the log of the product. When
//!   `P₁ = P₀ > 0`, `L` is its limit `P₀` (the contributions cancel out). Logs need every
//!   factor strictly positive in both periods; otherwise (a zero or a negative factor) the
//!   Shapley split is used: each factor's average marginal effect over the orders in which
//!   the factors can change, also exact. A missing value gives no decomposition at all.
//! - [`mix_rate`]: for a ratio `R = Σ wᵢ rᵢ` over segments (weights `wᵢ = Dᵢ / D`), the change
//!   of each segment splits into a mix effect `(wᵢ₁ − wᵢ₀)(r̄ᵢ − R̄)` and a rate effect
//!   `w̄ᵢ (rᵢ₁ − rᵢ₀)` (bars: the mean of the two periods); together they add up to `R₁ − R₀`.

/// One factor or term in both periods.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pair {
    pub before: f64,
    pub after: f64,
}

impl Pair {
    pub fn new(before: f64, after: f64) -> Self {
        Self { before, after }
    }

    pub fn delta(self) -> f64 {
        self.after - self.before
    }
}

/// The exact difference of each signed term (`+1` added, `-1` subtracted).
pub fn sum(terms: &[(f64, Pair)]) -> Vec<f64> {
    terms.iter().map(|(sign, p)| sign * p.delta()).collect()
}

/// How a product's change was split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProductMethod {
    /// Log-change (LMDI) shares: every factor positive in both periods.
    LogChange,
    /// Shapley: a zero or negative factor in one of the periods.
    Shapley,
}

/// Each factor's contribution to the change of their product, and the method used.
pub fn product(factors: &[Pair]) -> (Vec<f64>, ProductMethod) {
    if factors.is_empty() {
        return (Vec::new(), ProductMethod::LogChange);
    }
    let positive = factors
        .iter()
        .all(|f| f.before > 0.0 && f.after > 0.0 && f.before.is_finite() && f.after.is_finite());
    if !positive {
        return (shapley(factors), ProductMethod::Shapley);
    }
    let p0: f64 = factors.iter().map(|f| f.before).product();
    let p1: f64 = factors.iter().map(|f| f.after).product();
    let log_change = (p1 / p0).ln();
    // The logarithmic mean of p1 and p0; its limit p0 when they are (numerically) equal.
    let weight = if log_change.abs() < 1e-12 {
        (p0 + p1) / 2.0
    } else {
        (p1 - p0) / log_change
    };
    let contributions = factors
        .iter()
        .map(|f| weight * (f.after / f.before).ln())
        .collect();
    (contributions, ProductMethod::LogChange)
}

/// Shapley split of a product's change: each factor's marginal effect averaged over every
/// order of changing the factors one at a time. Exact for any values; `2^(n-1)` terms per
/// factor, so meant for the handful of factors of a KPI tree.
pub fn shapley(factors: &[Pair]) -> Vec<f64> {
    let n = factors.len();
    let factorial = |k: usize| (1..=k).map(|i| i as f64).product::<f64>();
    let total = factorial(n);
    (0..n)
        .map(|i| {
            let others: Vec<usize> = (0..n).filter(|&j| j != i).collect();
            let mut contribution = 0.0;
            for mask in 0u32..(1u32 << others.len()) {
                // `mask` says which other factors have already changed.
                let changed = mask.count_ones() as usize;
                let weight = factorial(changed) * factorial(n - changed - 1) / total;
                let rest: f64 = others
                    .iter()
                    .enumerate()
                    .map(|(bit, &j)| {
                        if mask & (1 << bit) != 0 {
                            factors[j].after
                        } else {
                            factors[j].before
                        }
                    })
                    .product();
                contribution += weight * rest * factors[i].delta();
            }
            contribution
        })
        .collect()
}

/// One segment of a ratio in both periods: numerator and denominator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Segment {
    pub numerator: Pair,
    pub denominator: Pair,
}

/// A segment's share of a ratio's change.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MixRate {
    /// From the segment's weight (its share of the denominator) changing.
    pub mix: f64,
    /// From the segment's own rate changing.
    pub rate: f64,
}

impl MixRate {
    pub fn total(self) -> f64 {
        self.mix + self.rate
    }
}

/// Splits the change of `Σ numerators / Σ denominators` between the segments, each into mix
/// and rate. `None` when either period's total denominator is not positive (the ratio is
/// `null` there). A segment without denominator in one period takes the other period's rate
/// for it, so its whole contribution is mix (it appeared or disappeared).
pub fn mix_rate(segments: &[Segment]) -> Option<Vec<MixRate>> {
    let d0: f64 = segments.iter().map(|s| s.denominator.before).sum();
    let d1: f64 = segments.iter().map(|s| s.denominator.after).sum();
    if d0 <= 0.0 || d1 <= 0.0 {
        return None;
    }
    let n0: f64 = segments.iter().map(|s| s.numerator.before).sum();
    let n1: f64 = segments.iter().map(|s| s.numerator.after).sum();
    let mean_rate = (n0 / d0 + n1 / d1) / 2.0;
    Some(
        segments
            .iter()
            .map(|s| {
                let (w0, w1) = (s.denominator.before / d0, s.denominator.after / d1);
                let r0 = (s.denominator.before != 0.0)
                    .then(|| s.numerator.before / s.denominator.before);
                let r1 =
                    (s.denominator.after != 0.0).then(|| s.numerator.after / s.denominator.after);
                let (r0, r1) = match (r0, r1) {
                    (Some(a), Some(b)) => (a, b),
                    (Some(a), None) => (a, a),
                    (None, Some(b)) => (b, b),
                    (None, None) => (0.0, 0.0),
                };
                MixRate {
                    mix: (w1 - w0) * ((r0 + r1) / 2.0 - mean_rate),
                    rate: (w0 + w1) / 2.0 * (r1 - r0),
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * (1.0 + a.abs().max(b.abs()))
    }

    #[test]
    fn sums_and_differences_are_plain_differences() {
        // net = gross - returns: gross 1000 -> 1200, returns 100 -> 150; net 900 -> 1050.
        let c = sum(&[
            (1.0, Pair::new(1000.0, 1200.0)),
            (-1.0, Pair::new(100.0, 150.0)),
        ]);
        assert_eq!(c, vec![200.0, -50.0]);
        assert_eq!(c.iter().sum::<f64>(), 150.0);
    }

    #[test]
    fn log_change_shares_of_a_product_worked_by_hand() {
        // revenue = orders x aov: 100 x 50 = 5000 -> 120 x 55 = 6600; change 1600.
        // L = 1600 / ln(1.32) = 1600 / 0.277631737 = 5763.02; orders: L x ln(1.2) = 1050.72;
        // aov: L x ln(1.1) = 549.28.
        let (c, method) = product(&[Pair::new(100.0, 120.0), Pair::new(50.0, 55.0)]);
        assert_eq!(method, ProductMethod::LogChange);
        assert!((c[0] - 1050.72).abs() < 0.01, "{c:?}");
        assert!((c[1] - 549.28).abs() < 0.01, "{c:?}");
        assert!(close(c[0] + c[1], 1600.0));
    }

    #[test]
    fn an_unchanged_product_splits_into_opposite_contributions() {
        // 100 x 50 -> 125 x 40: the product stays 5000; L is its limit 5000.
        // orders +5000 ln 1.25 = +1115.72, aov 5000 ln 0.8 = -1115.72.
        let (c, method) = product(&[Pair::new(100.0, 125.0), Pair::new(50.0, 40.0)]);
        assert_eq!(method, ProductMethod::LogChange);
        assert!((c[0] - 1115.72).abs() < 0.01, "{c:?}");
        assert!(close(c[0] + c[1], 0.0), "{c:?}");
    }

    #[test]
    fn nothing_changed_contributes_nothing() {
        let (c, _) = product(&[Pair::new(3.0, 3.0), Pair::new(7.0, 7.0)]);
        assert_eq!(c, vec![0.0, 0.0]);
    }

    #[test]
    fn a_zero_factor_falls_back_to_shapley() {
        // footfall 0 -> 200, conversion 0.1 -> 0.2: store orders 0 -> 40.
        // Shapley for two factors: ΔA (B0 + B1) / 2 = 200 x 0.15 = 30; ΔB (A0 + A1) / 2 =
        // 0.1 x 100 = 10.
        let (c, method) = product(&[Pair::new(0.0, 200.0), Pair::new(0.1, 0.2)]);
        assert_eq!(method, ProductMethod::Shapley);
        assert!(close(c[0], 30.0) && close(c[1], 10.0), "{c:?}");
    }

    #[test]
    fn a_negative_factor_falls_back_to_shapley_and_still_adds_up() {
        // (-2 -> 3) x (4 -> 5) x (1 -> 2): -8 -> 30, change 38.
        let factors = [
            Pair::new(-2.0, 3.0),
            Pair::new(4.0, 5.0),
            Pair::new(1.0, 2.0),
        ];
        let (c, method) = product(&factors);
        assert_eq!(method, ProductMethod::Shapley);
        assert!(close(c.iter().sum::<f64>(), 38.0), "{c:?}");
        // Factor 1, by hand: orders (1 first, others before) 5*4*1 weight 1/3, (after one
        // other) [5*5*1 + 5*4*2]/2 weight 1/6 each, (both) 5*5*2 weight 1/3:
        // 20/3 + 25/6 + 40/6 + 50/3 = 34.1667.
        assert!(
            close(c[0], 20.0 / 3.0 + 25.0 / 6.0 + 40.0 / 6.0 + 50.0 / 3.0),
            "{c:?}"
        );
    }

    #[test]
    fn mix_and_rate_worked_by_hand() {
        // Two stores. Before: A 20/100 (0.20), B 10/100 (0.10) -> 30/200 = 0.15.
        // After:  A 30/100 (0.30), B 15/300 (0.05) -> 45/400 = 0.1125. Change -0.0375.
        // Weights: A 0.5 -> 0.25, B 0.5 -> 0.75; mean rate R̄ = (0.15 + 0.1125)/2 = 0.13125.
        // A: mix (-0.25)(0.25 - 0.13125) = -0.0296875; rate 0.375 x 0.10 = 0.0375.
        // B: mix (+0.25)(0.075 - 0.13125) = -0.0140625; rate 0.625 x (-0.05) = -0.03125.
        let split = mix_rate(&[
            Segment {
                numerator: Pair::new(20.0, 30.0),
                denominator: Pair::new(100.0, 100.0),
            },
            Segment {
                numerator: Pair::new(10.0, 15.0),
                denominator: Pair::new(100.0, 300.0),
            },
        ])
        .expect("both periods have a denominator");
        assert!(close(split[0].mix, -0.0296875), "{split:?}");
        assert!(close(split[0].rate, 0.0375), "{split:?}");
        assert!(close(split[1].mix, -0.0140625), "{split:?}");
        assert!(close(split[1].rate, -0.03125), "{split:?}");
        let total: f64 = split.iter().map(|s| s.total()).sum();
        assert!(close(total, 0.1125 - 0.15), "{total}");
    }

    #[test]
    fn a_new_segment_is_all_mix() {
        // Before: A 10/100. After: A 10/100, B 30/100 (new). 0.1 -> 0.2.
        // Weights A 1 -> 0.5, B 0 -> 0.5; R̄ = 0.15. A: mix -0.5 (0.1 - 0.15) = 0.025, rate 0.
        // B takes its after rate 0.3 for before: mix 0.5 (0.3 - 0.15) = 0.075, rate 0.
        let split = mix_rate(&[
            Segment {
                numerator: Pair::new(10.0, 10.0),
                denominator: Pair::new(100.0, 100.0),
            },
            Segment {
                numerator: Pair::new(0.0, 30.0),
                denominator: Pair::new(0.0, 100.0),
            },
        ])
        .expect("defined");
        assert!(
            close(split[0].mix, 0.025) && close(split[0].rate, 0.0),
            "{split:?}"
        );
        assert!(
            close(split[1].mix, 0.075) && close(split[1].rate, 0.0),
            "{split:?}"
        );
    }

    #[test]
    fn a_ratio_without_denominator_cannot_be_split() {
        let split = mix_rate(&[Segment {
            numerator: Pair::new(0.0, 1.0),
            denominator: Pair::new(0.0, 10.0),
        }]);
        assert_eq!(split, None);
    }
}
