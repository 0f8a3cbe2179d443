//! Alerts: rules on catalog KPIs, their evaluation, the firings and who has read them.
//!
//! A rule watches one KPI for one department, optionally narrowed by view filters, over a
//! rolling window that ends on the day of the evaluation (see docs/alerts.md):
//! - threshold: the KPI over the window is above (below) a value in the KPI's unit;
//! - change: the KPI over the window changed vs the window of the same length just before it
//!   by more than X % (relative change, `(value - previous) / |previous|`, for every unit);
//!   above: a rise of more than X %, below: a fall of more than X %;
//! - off track: the department's target for the KPI whose period holds the day (the narrowest
//!   one, as on the department page) is projected off track (`kpi::targets::status`).
//!
//! An alert fires once when its condition becomes true; the rule then stays `active` and does
//! not fire again until an evaluation finds the condition false (a KPI without a value is
//! not a true condition, so it clears). Every firing is stored with the value, the threshold,
//! the window and the time. Evaluation runs after each load (`ingest::load_files`, the API's
//! events, the demo) and every 15 minutes in `serve`; writers hold `Db::write_lock`.
//!
//! Who sees a firing: whoever may open the department's view (`policy::decide`); who changes
//! rules: admins, and the lead of the department (`policy::can_edit_alert_rules`).

pub mod forms;

use chrono::{Datelike, NaiveDate};
use duckdb::{Connection, OptionalExt, params};

use crate::alerts::{AlertRow, AlertRule, AlertsPage, KpiOption, Op, RuleKind, Window};
use crate::error::AppError;
use crate::i18n::Locale;
use crate::kpi::Status;

use super::auth::policy::{self, Access, Decision, Principal};
use super::auth::{self as auth_mod, audit};
use super::db::{Changed, Db, DbError};
use super::kpi::targets::{self, TargetError, TargetPeriod};
use super::kpi::{Catalog, FilterError, Filters, KpiError, Period, compute};

/// How often `serve` evaluates every rule, besides after each load.
pub const SCHEDULE: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// The most firings a page lists.
pub const MAX_LISTED: u32 = 200;

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error("unknown KPI {0:?}")]
    UnknownKpi(String),
    #[error("unknown department {0:?}")]
    UnknownDepartment(String),
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error("the threshold must be a number (a percentage above 0 for a change)")]
    BadThreshold,
    #[error("unknown {field} {value:?}")]
    BadTerm { field: &'static str, value: String },
    #[error("no such rule")]
    NotFound,
    #[error(transparent)]
    Kpi(#[from] KpiError),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("database error: {0}")]
    Sql(#[from] duckdb::Error),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl AlertError {
    /// Whether the person who sent the request can correct it.
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            Self::UnknownKpi(_)
                | Self::UnknownDepartment(_)
                | Self::Filter(FilterError::UnknownDimension(_))
                | Self::Filter(FilterError::Empty(_))
                | Self::Filter(FilterError::UnknownValue { .. })
                | Self::Filter(FilterError::TooMany { .. })
                | Self::BadThreshold
                | Self::BadTerm { .. }
                | Self::NotFound
        )
    }
}

impl From<AlertError> for AppError {
    fn from(err: AlertError) -> Self {
        if err.is_input() {
            AppError::bad_request(err.to_string())
        } else {
            tracing::error!(error = %err, "alerts failed");
            AppError::Internal
        }
    }
}

/// A rule as submitted, before it is checked.
#[derive(Clone, Debug, Default)]
pub struct NewRule {
    pub kpi: String,
    pub department: String,
    pub filters: String,
    pub kind: String,
    pub op: String,
    pub threshold: Option<f64>,
    pub window: String,
}

/// The days a window covers when evaluated on `as_of` (both included).
pub fn window_period(window: Window, as_of: NaiveDate) -> Period {
    match window {
        Window::Last7Days => Period::ending(as_of, 7),
        Window::Last30Days => Period::ending(as_of, 30),
        Window::MonthToDate => {
            let first = as_of.with_day(1).unwrap_or(as_of);
            Period::new(first, as_of).unwrap_or_else(|_| Period::ending(as_of, 1))
        }
    }
}

/// What an evaluation measured for a rule.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Measured {
    pub value: Option<f64>,
    pub previous: Option<f64>,
    /// Off track rules: the projection, the target and the status.
    pub projection: Option<f64>,
    pub target: Option<f64>,
    pub status: Option<Status>,
}

/// Whether the condition holds; when it does, the value and the threshold a firing records.
pub fn condition(kind: RuleKind, op: Op, threshold: f64, m: &Measured) -> Option<(f64, f64)> {
    match kind {
        RuleKind::Threshold => {
            let v = m.value?;
            let holds = match op {
                Op::Above => v > threshold,
                Op::Below => v < threshold,
            };
            holds.then_some((v, threshold))
        }
        RuleKind::Change => {
            let (v, p) = (m.value?, m.previous?);
            if p == 0.0 {
                return None;
            }
            let percent = (v - p) / p.abs() * 100.0;
            let holds = match op {
                Op::Above => percent > threshold,
                Op::Below => percent < -threshold,
            };
            holds.then_some((percent, threshold))
        }
        RuleKind::OffTrack => match (m.status, m.projection, m.target) {
            (Some(Status::OffTrack), Some(p), Some(t)) => Some((p, t)),
            _ => None,
        },
    }
}

/// The filters of a rule, parsed from their query form.
pub fn parse_filters(text: &str) -> Result<Filters, FilterError> {
    let pairs = crate::url::parse(text);
    Filters::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// Filters in the query form a rule stores (`channel=web&store=MI01`, no `?`).
pub fn filters_text(filters: &Filters) -> String {
    let pairs = filters.pairs();
    crate::url::query(pairs.iter().map(|(k, v)| (*k, v.as_str())))
        .trim_start_matches('?')
        .to_string()
}

/// The departments that exist, in order.
pub fn departments(conn: &Connection) -> Result<Vec<String>, AlertError> {
    let mut stmt = conn.prepare("SELECT department FROM departments ORDER BY department")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Checks a submitted rule against the catalog, the departments and the data.
pub fn check(conn: &Connection, new: &NewRule) -> Result<AlertRule, AlertError> {
    let catalog = Catalog::builtin();
    let def = catalog
        .get(new.kpi.trim())
        .filter(|d| !d.internal)
        .ok_or_else(|| AlertError::UnknownKpi(new.kpi.clone()))?;
    let department = new.department.trim();
    if !departments(conn)?.iter().any(|d| d == department) {
        return Err(AlertError::UnknownDepartment(department.to_string()));
    }
    let bad = |field: &'static str, value: &str| AlertError::BadTerm {
        field,
        value: value.to_string(),
    };
    let kind = RuleKind::parse(&new.kind).ok_or_else(|| bad("kind", &new.kind))?;
    let op = match kind {
        RuleKind::OffTrack => Op::Above,
        _ => Op::parse(&new.op).ok_or_else(|| bad("comparison", &new.op))?,
    };
    let window = match kind {
        RuleKind::OffTrack => Window::MonthToDate,
        _ => Window::parse(&new.window).ok_or_else(|| bad("window", &new.window))?,
    };
    let threshold = match kind {
        RuleKind::OffTrack => 0.0,
        RuleKind::Threshold => new.threshold.ok_or(AlertError::BadThreshold)?,
        RuleKind::Change => new
            .threshold
            .filter(|t| *t > 0.0)
            .ok_or(AlertError::BadThreshold)?,
    };
    if !threshold.is_finite() {
        return Err(AlertError::BadThreshold);
    }
    let filters = parse_filters(&new.filters)?;
    filters.check(conn)?;
    Ok(AlertRule {
        id: 0,
        kpi: def.key.clone(),
        department: department.to_string(),
        filters: filters_text(&filters),
        kind,
        op,
        threshold,
        window,
        active: false,
        created_by: String::new(),
    })
}

/// Checks and stores a rule, with its audit row (call inside the change's transaction).
pub fn create(conn: &Connection, new: &NewRule, actor: &str) -> Result<AlertRule, AlertError> {
    let mut rule = check(conn, new)?;
    rule.created_by = actor.to_string();
    rule.id = conn.query_row(
        "INSERT INTO alert_rules (kpi, department, filters, kind, op, threshold, time_window,
                                  created_by)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        params![
            rule.kpi,
            rule.department,
            rule.filters,
            rule.kind.as_str(),
            rule.op.as_str(),
            rule.threshold,
            rule.window.as_str(),
            actor
        ],
        |r| r.get(0),
    )?;
    audit::record(
        conn,
        actor,
        "alert_rule.create",
        &rule.id.to_string(),
        None::<&()>,
        Some(&rule),
    )?;
    Ok(rule)
}

/// Deletes a rule (its firings stay), with its audit row.
pub fn delete(conn: &Connection, id: i64, actor: &str) -> Result<AlertRule, AlertError> {
    let rule = get(conn, id)?.ok_or(AlertError::NotFound)?;
    conn.execute("DELETE FROM alert_rules WHERE id = ?", [id])?;
    audit::record(
        conn,
        actor,
        "alert_rule.delete",
        &id.to_string(),
        Some(&rule),
        None::<&()>,
    )?;
    Ok(rule)
}

const RULE_COLUMNS: &str =
    "id, kpi, department, filters, kind, op, threshold, time_window, active, created_by";

fn read_rule(r: &duckdb::Row<'_>) -> duckdb::Result<AlertRule> {
    let term = |i: usize, text: String| {
        duckdb::Error::FromSqlConversionFailure(
            i,
            duckdb::types::Type::Text,
            format!("unknown term {text:?}").into(),
        )
    };
    let kind: String = r.get(4)?;
    let op: String = r.get(5)?;
    let window: String = r.get(7)?;
    Ok(AlertRule {
        id: r.get(0)?,
        kpi: r.get(1)?,
        department: r.get(2)?,
        filters: r.get(3)?,
        kind: RuleKind::parse(&kind).ok_or_else(|| term(4, kind))?,
        op: Op::parse(&op).ok_or_else(|| term(5, op))?,
        threshold: r.get(6)?,
        window: Window::parse(&window).ok_or_else(|| term(7, window))?,
        active: r.get(8)?,
        created_by: r.get(9)?,
    })
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<AlertRule>, AlertError> {
    Ok(conn
        .query_row(
            &format!("SELECT {RULE_COLUMNS} FROM alert_rules WHERE id = ?"),
            [id],
            read_rule,
        )
        .optional()?)
}

/// Every rule, by department and id.
pub fn list_rules(conn: &Connection) -> Result<Vec<AlertRule>, AlertError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {RULE_COLUMNS} FROM alert_rules ORDER BY department, id"
    ))?;
    let rows = stmt.query_map([], read_rule)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Measures what `rule` looks at on `as_of`; returns the measurement and the period.
pub fn measure(
    conn: &Connection,
    rule: &AlertRule,
    as_of: NaiveDate,
) -> Result<(Measured, Period), AlertError> {
    let catalog = Catalog::builtin();
    match rule.kind {
        RuleKind::Threshold | RuleKind::Change => {
            let period = window_period(rule.window, as_of);
            let filters = parse_filters(&rule.filters)?;
            let keys = [rule.kpi.as_str()];
            let value = compute(conn, catalog, &keys, &period, &filters)?
                .get(&rule.kpi)
                .copied()
                .flatten();
            let previous = if rule.kind == RuleKind::Change {
                compute(conn, catalog, &keys, &period.previous(), &filters)?
                    .get(&rule.kpi)
                    .copied()
                    .flatten()
            } else {
                None
            };
            Ok((
                Measured {
                    value,
                    previous,
                    ..Measured::default()
                },
                period,
            ))
        }
        RuleKind::OffTrack => {
            let list = targets::list(conn, Some(&rule.department), Some(&rule.kpi))?;
            let reports = targets::report(conn, catalog, list, as_of)?;
            // The narrowest target period that holds the day, as the department page shows.
            let current = reports
                .into_iter()
                .filter_map(|r| {
                    let p = TargetPeriod::parse(&r.target.period).ok()?.period;
                    p.contains(as_of).then_some((r, p))
                })
                .min_by_key(|(_, p)| p.days());
            let Some((report, whole)) = current else {
                return Ok((Measured::default(), Period::ending(as_of, 1)));
            };
            let period = Period::new(whole.from(), as_of).unwrap_or(whole);
            Ok((
                Measured {
                    value: report.actual,
                    projection: report.projection,
                    target: Some(report.target.value),
                    status: report.status,
                    ..Measured::default()
                },
                period,
            ))
        }
    }
}

/// Evaluates every rule on `as_of`: stores a firing for each rule whose condition has just
/// become true and records each rule's state. Returns the ids of the new firings. The caller
/// holds `Db::write_lock`.
pub fn evaluate(conn: &mut Connection, as_of: NaiveDate) -> Result<Vec<i64>, AlertError> {
    let rules = list_rules(conn)?;
    let mut fired = Vec::new();
    for rule in rules {
        let (measured, period) = match measure(conn, &rule, as_of) {
            Ok(m) => m,
            // A rule whose filter value vanished, say, must not stop the others.
            Err(e) => {
                tracing::warn!(rule = rule.id, error = %e, "alert rule not evaluated");
                continue;
            }
        };
        let holds = condition(rule.kind, rule.op, rule.threshold, &measured);
        let tx = conn.transaction()?;
        if let (Some((value, threshold)), false) = (holds, rule.active) {
            let id: i64 = tx.query_row(
                "INSERT INTO alerts (rule_id, kpi, department, filters, kind, op, value,
                                     threshold, period_from, period_to)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS DATE), CAST(? AS DATE))
                 RETURNING id",
                params![
                    rule.id,
                    rule.kpi,
                    rule.department,
                    rule.filters,
                    rule.kind.as_str(),
                    rule.op.as_str(),
                    value,
                    threshold,
                    period.from().to_string(),
                    period.to().to_string()
                ],
                |r| r.get(0),
            )?;
            fired.push(id);
        }
        tx.execute(
            "UPDATE alert_rules SET active = ?, evaluated_at = current_timestamp WHERE id = ?",
            params![holds.is_some(), rule.id],
        )?;
        tx.commit()?;
    }
    Ok(fired)
}

/// Evaluates every rule on `as_of` (today when `None`) under the writer lock; blocking.
pub fn evaluate_now(db: &Db, as_of: Option<NaiveDate>) -> Result<Vec<i64>, AlertError> {
    let mut writer = db.write_lock();
    // Rules and fired alerts are all it writes: no event, so no KPI value, changes.
    writer.changed(Changed::DaysFrom(NaiveDate::MAX));
    let mut conn = db.connect()?;
    let as_of = match as_of {
        Some(day) => day,
        None => super::view::today(&conn)?,
    };
    evaluate(&mut conn, as_of)
}

/// [`evaluate_now`] after a load: a failure is logged, never the load's failure.
pub fn evaluate_after_load(db: &Db) {
    match evaluate_now(db, None) {
        Ok(fired) if !fired.is_empty() => tracing::info!(count = fired.len(), "alerts fired"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "evaluating alert rules after a load failed"),
    }
}

/// Evaluates every rule every [`SCHEDULE`], for as long as the server runs.
pub async fn evaluate_on_schedule(db: Db) {
    let mut tick = tokio::time::interval(SCHEDULE);
    loop {
        tick.tick().await;
        let db2 = db.clone();
        let done = tokio::task::spawn_blocking(move || evaluate_now(&db2, None)).await;
        match done {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "scheduled alert evaluation failed"),
            Err(e) => tracing::warn!(error = %e, "scheduled alert evaluation panicked"),
        }
    }
}

/// The departments whose alerts `who` sees: those whose view the policy opens to them.
pub fn visible_departments(who: &Principal, all: &[String]) -> Vec<String> {
    all.iter()
        .filter(|d| {
            policy::decide(Some(who), Access::View(policy::View::Department), Some(d))
                == Decision::Allow
        })
        .cloned()
        .collect()
}

/// The departments whose rules `who` may change.
pub fn managed_departments(who: &Principal, all: &[String]) -> Vec<String> {
    all.iter()
        .filter(|d| policy::can_edit_alert_rules(who, d))
        .cloned()
        .collect()
}

/// Firings of `departments`, newest first, at most `limit`, with `user_id`'s read marks.
/// (Departments are few: the list is filtered here rather than bound as a SQL list.)
pub fn list_alerts(
    conn: &Connection,
    departments: &[String],
    user_id: Option<i64>,
    locale: Locale,
    limit: u32,
) -> Result<Vec<AlertRow>, AlertError> {
    let catalog = Catalog::builtin();
    let mut stmt = conn.prepare(
        "SELECT a.id, a.rule_id, a.kpi, a.department, a.filters, a.kind, a.op, a.value,
                a.threshold, CAST(a.period_from AS VARCHAR), CAST(a.period_to AS VARCHAR),
                strftime(a.fired_at, '%Y-%m-%d %H:%M'), r.alert_id IS NOT NULL
         FROM alerts a
         LEFT JOIN alert_reads r ON r.alert_id = a.id AND r.user_id = ?
         ORDER BY a.fired_at DESC, a.id DESC",
    )?;
    let day = |i: usize, s: String| {
        NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(|e| {
            duckdb::Error::FromSqlConversionFailure(i, duckdb::types::Type::Date32, Box::new(e))
        })
    };
    let rows = stmt.query_map([user_id.unwrap_or(-1)], |r| {
        let kpi: String = r.get(2)?;
        let kind: String = r.get(5)?;
        let op: String = r.get(6)?;
        let def = catalog.get(&kpi);
        Ok(AlertRow {
            id: r.get(0)?,
            rule_id: r.get(1)?,
            kpi_name: def.map_or_else(|| kpi.clone(), |d| d.name.get(locale).to_string()),
            unit: def.map_or(crate::kpi::Unit::Count, |d| d.unit),
            kpi,
            department: r.get(3)?,
            filters: r.get(4)?,
            kind: RuleKind::parse(&kind).unwrap_or(RuleKind::Threshold),
            op: Op::parse(&op).unwrap_or(Op::Above),
            value: r.get(7)?,
            threshold: r.get(8)?,
            period_from: day(9, r.get(9)?)?,
            period_to: day(10, r.get(10)?)?,
            fired_at: r.get(11)?,
            read: r.get(12)?,
        })
    })?;
    let mut out = Vec::new();
    for row in rows {
        let row = row?;
        if departments.contains(&row.department) {
            out.push(row);
            if out.len() >= limit as usize {
                break;
            }
        }
    }
    Ok(out)
}

/// How many firings of `departments` `user_id` has not read.
pub fn unread_count(
    conn: &Connection,
    departments: &[String],
    user_id: i64,
) -> Result<u32, AlertError> {
    let mut stmt = conn.prepare(
        "SELECT a.department, count(*) FROM alerts a
         WHERE NOT EXISTS (SELECT 1 FROM alert_reads r WHERE r.alert_id = a.id AND r.user_id = ?)
         GROUP BY a.department",
    )?;
    let rows = stmt.query_map([user_id], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })?;
    let mut total = 0i64;
    for row in rows {
        let (department, n) = row?;
        if departments.contains(&department) {
            total += n;
        }
    }
    Ok(u32::try_from(total).unwrap_or(u32::MAX))
}

/// Marks one firing (or, with `None`, every firing of `departments`) read for `user_id`.
/// Returns how many were newly marked; a firing outside `departments` is "not found".
pub fn mark_read(
    conn: &Connection,
    departments: &[String],
    user_id: i64,
    alert: Option<i64>,
) -> Result<usize, AlertError> {
    let mut stmt = conn.prepare("SELECT id, department FROM alerts WHERE ? IS NULL OR id = ?")?;
    let rows = stmt.query_map(params![alert, alert], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut ids = Vec::new();
    for row in rows {
        let (id, department) = row?;
        if departments.contains(&department) {
            ids.push(id);
        }
    }
    if alert.is_some() && ids.is_empty() {
        return Err(AlertError::NotFound);
    }
    let mut marked = 0;
    for id in ids {
        marked += conn.execute(
            "INSERT INTO alert_reads (user_id, alert_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            params![user_id, id],
        )?;
    }
    Ok(marked)
}

/// The unread count for the signed-in user (0 for anyone else), for the header's bell.
pub async fn unread_for_current(db: &Db) -> u32 {
    let auth = auth_mod::current();
    let (Some(who), Some(_)) = (auth.principal, auth.user) else {
        return 0;
    };
    let Some(user_id) = who.user_id else {
        return 0;
    };
    let counted = db
        .run(move |conn| -> Result<u32, AlertError> {
            let visible = visible_departments(&who, &departments(conn)?);
            unread_count(conn, &visible, user_id)
        })
        .await;
    counted.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "counting unread alerts failed");
        0
    })
}

/// What the alerts page shows `who` (signed in: the server function checked).
pub async fn page(who: Principal, locale: Locale) -> Result<AlertsPage, AppError> {
    let csrf = auth_mod::visitor().await.csrf;
    let state = leptos::prelude::expect_context::<super::state::AppState>();
    let page = state
        .db
        .run(move |conn| -> Result<AlertsPage, AlertError> {
            let all = departments(conn)?;
            let visible = visible_departments(&who, &all);
            let manages = managed_departments(&who, &all);
            let alerts = list_alerts(conn, &visible, who.user_id, locale, MAX_LISTED)?;
            let unread = match who.user_id {
                Some(id) => unread_count(conn, &visible, id)?,
                None => 0,
            };
            let rules = list_rules(conn)?
                .into_iter()
                .filter(|r| manages.contains(&r.department))
                .collect();
            let kpis = Catalog::builtin()
                .all()
                .iter()
                .filter(|d| !d.internal)
                .map(|d| KpiOption {
                    key: d.key.clone(),
                    name: d.name.get(locale).to_string(),
                })
                .collect();
            Ok(AlertsPage {
                alerts,
                unread,
                rules,
                manages,
                kpis,
                csrf: String::new(),
            })
        })
        .await?;
    Ok(AlertsPage { csrf, ..page })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
    }

    #[test]
    fn windows_end_on_the_day_of_the_evaluation() {
        let span = |w| {
            let p = window_period(w, d("2026-06-10"));
            (p.from(), p.to())
        };
        assert_eq!(span(Window::Last7Days), (d("2026-06-04"), d("2026-06-10")));
        assert_eq!(span(Window::Last30Days), (d("2026-05-12"), d("2026-06-10")));
        assert_eq!(
            span(Window::MonthToDate),
            (d("2026-06-01"), d("2026-06-10"))
        );
        // On the first of the month the window is that one day.
        let first = window_period(Window::MonthToDate, d("2026-07-01"));
        assert_eq!(
            (first.from(), first.to()),
            (d("2026-07-01"), d("2026-07-01"))
        );
    }

    #[test]
    fn thresholds_are_strict_and_need_a_value() {
        let m = |v: Option<f64>| Measured {
            value: v,
            ..Measured::default()
        };
        let t = RuleKind::Threshold;
        assert_eq!(
            condition(t, Op::Above, 100.0, &m(Some(100.5))),
            Some((100.5, 100.0))
        );
        assert_eq!(condition(t, Op::Above, 100.0, &m(Some(100.0))), None);
        assert_eq!(
            condition(t, Op::Below, 100.0, &m(Some(99.0))),
            Some((99.0, 100.0))
        );
        assert_eq!(condition(t, Op::Below, 100.0, &m(None)), None);
    }

    #[test]
    fn change_is_relative_to_the_previous_window() {
        let m = |v: f64, p: f64| Measured {
            value: Some(v),
            previous: Some(p),
            ..Measured::default()
        };
        let c = RuleKind::Change;
        // 80 after 100: -20 %.
        assert_eq!(
            condition(c, Op::Below, 15.0, &m(80.0, 100.0)),
            Some((-20.0, 15.0))
        );
        assert_eq!(condition(c, Op::Below, 25.0, &m(80.0, 100.0)), None);
        assert_eq!(condition(c, Op::Above, 15.0, &m(80.0, 100.0)), None);
        // 130 after 100: +30 %.
        assert_eq!(
            condition(c, Op::Above, 25.0, &m(130.0, 100.0)),
            Some((30.0, 25.0))
        );
        // No relative change from zero.
        assert_eq!(condition(c, Op::Above, 1.0, &m(5.0, 0.0)), None);
    }

    #[test]
    fn off_track_needs_the_off_track_status() {
        let m = |s| Measured {
            projection: Some(90.0),
            target: Some(100.0),
            status: Some(s),
            ..Measured::default()
        };
        let o = RuleKind::OffTrack;
        assert_eq!(
            condition(o, Op::Above, 0.0, &m(Status::OffTrack)),
            Some((90.0, 100.0))
        );
        assert_eq!(condition(o, Op::Above, 0.0, &m(Status::AtRisk)), None);
        assert_eq!(condition(o, Op::Above, 0.0, &m(Status::OnTrack)), None);
    }
}
