//! Numbers, money and dates written the way each locale reads them (1.234,56 € / €1,234.56).
//!
//! Pure functions shared by the server render and the browser, so a value looks the same
//! before and after hydration.

use crate::i18n::{Locale, Msg};
use crate::kpi::Unit;

/// Formats `value` with `decimals` digits and the locale's group and decimal separators.
pub fn number(value: f64, decimals: usize, locale: Locale) -> String {
    let (group, point) = match locale {
        Locale::En => (',', '.'),
        Locale::It => ('.', ','),
    };
    let fixed = format!("{:.*}", decimals, value.abs());
    let (int_part, frac_part) = match fixed.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (fixed.as_str(), None),
    };
    let mut grouped = String::with_capacity(int_part.len() + int_part.len() / 3);
    for (i, digit) in int_part.chars().enumerate() {
        if i > 0 && (int_part.len() - i) % 3 == 0 {
            grouped.push(group);
        }
        grouped.push(digit);
    }
    let negative = value < 0.0 && fixed.chars().any(|c| c.is_ascii_digit() && c != '0');
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    out.push_str(&grouped);
    if let Some(frac) = frac_part {
        out.push(point);
        out.push_str(frac);
    }
    out
}

/// The currency every amount is reported in: one per instance (an admin setting). Loads
/// refuse amounts in any other currency, so a total never mixes two.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Currency {
    #[default]
    Eur,
    Usd,
    Gbp,
    Chf,
    Sek,
    Dkk,
    Nok,
    Pln,
}

impl Currency {
    pub const ALL: [Currency; 8] = [
        Currency::Eur,
        Currency::Usd,
        Currency::Gbp,
        Currency::Chf,
        Currency::Sek,
        Currency::Dkk,
        Currency::Nok,
        Currency::Pln,
    ];

    /// The ISO 4217 code, as events carry it.
    pub fn code(self) -> &'static str {
        match self {
            Currency::Eur => "EUR",
            Currency::Usd => "USD",
            Currency::Gbp => "GBP",
            Currency::Chf => "CHF",
            Currency::Sek => "SEK",
            Currency::Dkk => "DKK",
            Currency::Nok => "NOK",
            Currency::Pln => "PLN",
        }
    }

    /// Reads an ISO code in any case.
    pub fn parse(code: &str) -> Option<Currency> {
        Currency::ALL
            .into_iter()
            .find(|c| c.code().eq_ignore_ascii_case(code.trim()))
    }

    /// The sign written beside amounts; currencies without a well-known sign use their code.
    fn sign(self) -> &'static str {
        match self {
            Currency::Eur => "€",
            Currency::Usd => "$",
            Currency::Gbp => "£",
            Currency::Chf => "CHF",
            Currency::Sek => "SEK",
            Currency::Dkk => "DKK",
            Currency::Nok => "NOK",
            Currency::Pln => "PLN",
        }
    }
}

/// The instance's currency, as an index into [`Currency::ALL`]. The server sets it from the
/// settings when it starts and when an admin changes it; the browser bundle sets it from the
/// page's `omnikpi-currency` meta tag before hydrating, so both render the same text.
static CURRENCY: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The currency amounts are written in.
pub fn currency() -> Currency {
    Currency::ALL
        .get(CURRENCY.load(std::sync::atomic::Ordering::Relaxed))
        .copied()
        .unwrap_or_default()
}

/// Sets the instance's currency (see [`currency`]).
pub fn set_currency(currency: Currency) {
    let index = Currency::ALL
        .iter()
        .position(|c| *c == currency)
        .unwrap_or(0);
    CURRENCY.store(index, std::sync::atomic::Ordering::Relaxed);
}

/// An amount in the instance's currency: `€1,234.56` in English, `1.234,56 €` in Italian.
pub fn money(value: f64, locale: Locale) -> String {
    money_in(value, currency(), locale)
}

/// An amount in `currency`. English puts a sign before the digits (`€1,234.56`, `CHF 1,234.56`),
/// Italian after them (`1.234,56 €`, `1.234,56 CHF`).
pub fn money_in(value: f64, currency: Currency, locale: Locale) -> String {
    let digits = number(value, 2, locale);
    let sign = currency.sign();
    let gap = if sign.chars().count() > 1 { " " } else { "" };
    match locale {
        Locale::En => match digits.strip_prefix('-') {
            Some(rest) => format!("-{sign}{gap}{rest}"),
            None => format!("{sign}{gap}{digits}"),
        },
        Locale::It => format!("{digits} {sign}"),
    }
}

/// A fraction in [0, 1] as a percentage with one decimal.
pub fn percent(fraction: f64, locale: Locale) -> String {
    let digits = number(fraction * 100.0, 1, locale);
    match locale {
        Locale::En => format!("{digits}%"),
        Locale::It => format!("{digits} %"),
    }
}

/// A KPI value in its unit; `None` (a zero denominator) is "n/a".
pub fn kpi_value(value: Option<f64>, unit: Unit, locale: Locale) -> String {
    let Some(value) = value else {
        return locale.text(Msg::NotAvailable).to_string();
    };
    match unit {
        Unit::Money => money(value, locale),
        Unit::Count => number(value, 0, locale),
        Unit::Ratio => percent(value, locale),
        Unit::Score => number(value, 1, locale),
        Unit::Multiple => format!("{}×", number(value, 2, locale)),
    }
}

/// A relative change (0.05 = +5 %) with an explicit sign.
pub fn change(fraction: f64, locale: Locale) -> String {
    let sign = if fraction > 0.0 { "+" } else { "" };
    format!("{sign}{}", percent(fraction, locale))
}

/// A change as [`crate::kpi::KpiValue::change`] defines it for `unit`: percentage points for
/// ratios, points for scores, a relative percentage otherwise.
pub fn change_in(change_value: f64, unit: Unit, locale: Locale) -> String {
    let sign = if change_value > 0.0 { "+" } else { "" };
    match (unit, locale) {
        (Unit::Ratio, Locale::En) => {
            format!("{sign}{} pp", number(change_value * 100.0, 1, locale))
        }
        (Unit::Ratio, Locale::It) => {
            format!("{sign}{} p.p.", number(change_value * 100.0, 1, locale))
        }
        (Unit::Score, Locale::En) => format!("{sign}{} pts", number(change_value, 1, locale)),
        (Unit::Score, Locale::It) => format!("{sign}{} punti", number(change_value, 1, locale)),
        _ => change(change_value, locale),
    }
}

/// A calendar date: `23 Nov 2026` in English, `23/11/2026` in Italian.
pub fn date(day: chrono::NaiveDate, locale: Locale) -> String {
    match locale {
        Locale::En => day.format("%-d %b %Y").to_string(),
        Locale::It => day.format("%d/%m/%Y").to_string(),
    }
}

/// The label of a series bucket that starts on `from`: the day, the week's Monday, the month
/// (`Jun 2026` / `06/2026`) or the quarter (`Q2 2026` / `T2 2026`).
pub fn bucket(from: chrono::NaiveDate, grain: crate::kpi::Grain, locale: Locale) -> String {
    use crate::kpi::Grain;
    use chrono::Datelike;
    match (grain, locale) {
        (Grain::Day | Grain::Week, _) => date(from, locale),
        (Grain::Month, Locale::En) => from.format("%b %Y").to_string(),
        (Grain::Month, Locale::It) => from.format("%m/%Y").to_string(),
        (Grain::Quarter, Locale::En) => format!("Q{} {}", from.month0() / 3 + 1, from.year()),
        (Grain::Quarter, Locale::It) => format!("T{} {}", from.month0() / 3 + 1, from.year()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_read_as_their_grain() {
        use crate::kpi::Grain;
        let day = chrono::NaiveDate::from_ymd_opt(2026, 5, 1).expect("date");
        assert_eq!(bucket(day, Grain::Month, Locale::En), "May 2026");
        assert_eq!(bucket(day, Grain::Month, Locale::It), "05/2026");
        assert_eq!(bucket(day, Grain::Quarter, Locale::En), "Q2 2026");
        assert_eq!(bucket(day, Grain::Quarter, Locale::It), "T2 2026");
        assert_eq!(bucket(day, Grain::Week, Locale::It), "01/05/2026");
    }

    #[test]
    fn money_follows_the_locale() {
        assert_eq!(money(1234.56, Locale::It), "1.234,56 €");
        assert_eq!(money(1234.56, Locale::En), "€1,234.56");
        assert_eq!(money(-5.0, Locale::En), "-€5.00");
        assert_eq!(money(1_234_567.0, Locale::It), "1.234.567,00 €");
        assert_eq!(money(0.0, Locale::It), "0,00 €");
    }

    #[test]
    fn other_currencies_use_their_sign_or_code() {
        assert_eq!(money_in(1234.5, Currency::Usd, Locale::En), "$1,234.50");
        assert_eq!(money_in(-3.0, Currency::Gbp, Locale::En), "-£3.00");
        assert_eq!(money_in(1234.5, Currency::Chf, Locale::En), "CHF 1,234.50");
        assert_eq!(
            money_in(-1234.5, Currency::Chf, Locale::En),
            "-CHF 1,234.50"
        );
        assert_eq!(money_in(1234.5, Currency::Usd, Locale::It), "1.234,50 $");
        assert_eq!(money_in(7.0, Currency::Sek, Locale::It), "7,00 SEK");
        assert_eq!(Currency::parse(" chf"), Some(Currency::Chf));
        assert_eq!(Currency::parse("XYZ"), None);
    }

    #[test]
    fn counts_group_thousands() {
        assert_eq!(number(999.0, 0, Locale::En), "999");
        assert_eq!(number(1000.0, 0, Locale::En), "1,000");
        assert_eq!(number(123456.0, 0, Locale::It), "123.456");
    }

    #[test]
    fn tiny_negative_values_do_not_print_minus_zero() {
        assert_eq!(number(-0.001, 2, Locale::En), "0.00");
    }

    #[test]
    fn missing_values_read_not_available() {
        assert_eq!(kpi_value(None, Unit::Money, Locale::En), "n/a");
        assert_eq!(kpi_value(None, Unit::Ratio, Locale::It), "n.d.");
    }

    #[test]
    fn ratio_and_score_changes_are_points() {
        assert_eq!(change_in(0.023, Unit::Ratio, Locale::En), "+2.3 pp");
        assert_eq!(change_in(-10.0, Unit::Score, Locale::It), "-10,0 punti");
        assert_eq!(change_in(0.5, Unit::Money, Locale::En), "+50.0%");
    }

    #[test]
    fn ratios_and_changes_are_percentages() {
        assert_eq!(kpi_value(Some(0.1234), Unit::Ratio, Locale::En), "12.3%");
        assert_eq!(change(0.05, Locale::It), "+5,0 %");
        assert_eq!(change(-0.5, Locale::En), "-50.0%");
    }
}
