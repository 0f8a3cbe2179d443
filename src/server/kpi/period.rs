//! Calendar periods as KPIS.md defines them: `from` and `to` are local dates, both inclusive,
//! in the instance's time zone; the previous period has the same length and ends the day
//! before `from`; last year is the same dates shifted by one calendar year.

use chrono::{Datelike, Days, Months, NaiveDate};

/// The longest period a request may ask for; past this a typo (year 20260) is more likely than
/// an intent, and the scan would be pointless.
pub const MAX_DAYS: i64 = 366 * 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    from: NaiveDate,
    to: NaiveDate,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("{field}: {value:?} is not a date in the form YYYY-MM-DD")]
    BadDate { field: &'static str, value: String },
    #[error("the period starts ({from}) after it ends ({to})")]
    Reversed { from: NaiveDate, to: NaiveDate },
    #[error("the period is {days} days long; at most {MAX_DAYS} are allowed")]
    TooLong { days: i64 },
}

impl Period {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, PeriodError> {
        if from > to {
            return Err(PeriodError::Reversed { from, to });
        }
        let days = (to - from).num_days() + 1;
        if days > MAX_DAYS {
            return Err(PeriodError::TooLong { days });
        }
        Ok(Self { from, to })
    }

    /// Parses the ISO dates of a request or a command line.
    pub fn parse(from: &str, to: &str) -> Result<Self, PeriodError> {
        Self::new(parse_date("from", from)?, parse_date("to", to)?)
    }

    /// The `days` days ending on `last` (inclusive).
    pub fn ending(last: NaiveDate, days: u64) -> Self {
        let from = last
            .checked_sub_days(Days::new(days.saturating_sub(1)))
            .unwrap_or(last);
        Self { from, to: last }
    }

    pub fn from(&self) -> NaiveDate {
        self.from
    }

    pub fn to(&self) -> NaiveDate {
        self.to
    }

    /// Number of calendar days, both ends included.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// The first local day after the period: events are in the period when
    /// Whether a 7-day window opened by an event of the period may still be open on `today`
    /// (the window of an event on the last day closes 7 days after that day ends).
    pub fn windows_open(&self, today: NaiveDate) -> bool {
        today < self.end_exclusive() + chrono::Days::new(7)
    }

    /// `from <= local day < end_exclusive`.
    pub fn end_exclusive(&self) -> NaiveDate {
        self.to.succ_opt().unwrap_or(self.to)
    }

    /// The period of the same length that ends the day before `from`.
    pub fn previous(&self) -> Self {
        let to = self.from.pred_opt().unwrap_or(self.from);
        Self::ending(to, self.days() as u64)
    }

    /// The same dates one calendar year earlier (29 February becomes 28 February).
    pub fn last_year(&self) -> Self {
        let shift = |d: NaiveDate| d.checked_sub_months(Months::new(12)).unwrap_or(d);
        Self {
            from: shift(self.from),
            to: shift(self.to),
        }
    }

    /// Every day of the period, in order.
    pub fn each_day(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        let to = self.to;
        self.from.iter_days().take_while(move |d| *d <= to)
    }

    /// Whether `day` falls inside the period.
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }

    /// A period label such as 2026-01-01..2026-01-31.
    pub fn label(&self) -> String {
        format!("{}..{}", self.from, self.to)
    }

    /// The year of `to`, for labels.
    pub fn year(&self) -> i32 {
        self.to.year()
    }
}

fn parse_date(field: &'static str, value: &str) -> Result<NaiveDate, PeriodError> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").map_err(|_| PeriodError::BadDate {
        field,
        value: value.to_string(),
    })
}

/// Day numbers: the rollup readers compute with local days as days since 1970-01-01.
pub(super) fn epoch_days(day: NaiveDate) -> i32 {
    i32::try_from((day - epoch()).num_days()).unwrap_or(i32::MAX)
}

/// The local day of a day number (see [`epoch_days`]).
pub(super) fn epoch_date(days: i32) -> NaiveDate {
    epoch()
        .checked_add_signed(chrono::Duration::days(i64::from(days)))
        .unwrap_or(NaiveDate::MAX)
}

/// The day number of the first day of the month of day number `day`.
pub(super) fn month_start(day: i32) -> i32 {
    epoch_date(day).with_day(1).map_or(day, epoch_days)
}

/// The day number of the first day of the month after the month of day number `day`.
pub(super) fn next_month_start(day: i32) -> i32 {
    epoch_date(month_start(day))
        .checked_add_months(Months::new(1))
        .map_or(i32::MAX, epoch_days)
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or(NaiveDate::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
    }

    #[test]
    fn previous_period_has_the_same_length_and_ends_the_day_before() {
        let march = Period::parse("2026-03-01", "2026-03-31").expect("period");
        let prev = march.previous();
        assert_eq!((prev.from(), prev.to()), (d("2026-01-29"), d("2026-02-28")));
        assert_eq!(prev.days(), 31);
    }

    #[test]
    fn last_year_shifts_by_a_calendar_year() {
        let leap = Period::parse("2024-02-29", "2024-02-29").expect("period");
        let ly = leap.last_year();
        assert_eq!((ly.from(), ly.to()), (d("2023-02-28"), d("2023-02-28")));
    }

    #[test]
    fn bad_input_is_refused_with_the_field() {
        assert_eq!(
            Period::parse("2026-13-01", "2026-12-31"),
            Err(PeriodError::BadDate {
                field: "from",
                value: "2026-13-01".into()
            })
        );
        assert!(matches!(
            Period::parse("2026-02-01", "2026-01-01"),
            Err(PeriodError::Reversed { .. })
        ));
        assert!(matches!(
            Period::parse("1900-01-01", "2026-01-01"),
            Err(PeriodError::TooLong { .. })
        ));
    }

    #[test]
    fn one_day_period_contains_exactly_that_day() {
        let p = Period::parse("2026-01-05", "2026-01-05").expect("period");
        assert_eq!(p.days(), 1);
        assert_eq!(p.each_day().collect::<Vec<_>>(), vec![d("2026-01-05")]);
        assert_eq!(p.end_exclusive(), d("2026-01-06"));
    }
}
