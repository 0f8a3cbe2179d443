//! Checking the staged rows: every value of every row against its canonical field's checks,
//! plus the checks across fields (the source, ids repeated in the file, the instance's
//! currency, a score within its scale). The rejects go into `ingest_rejects`, where the load
//! finds them to refuse the file or, under `max_rejects`, to leave their rows out.

use duckdb::Transaction;

use super::canonical::Field;
use super::{IngestError, Reject, SHOWN_REJECTS, SHOWN_VALUE};

/// The rows whose event_id appeared on an earlier line of the file.
fn duplicate_check() -> String {
    "SELECT __line, 'event_id', 'duplicate event_id in this file (first on line ' ||
            first_line || ')', event_id
     FROM (SELECT __line, trim(event_id) AS event_id,
                  min(__line) OVER (PARTITION BY trim(event_id)) AS first_line
           FROM ingest_rows WHERE nullif(trim(event_id), '') IS NOT NULL)
     WHERE __line > first_line"
        .to_string()
}

/// One check of a staged row: the row is rejected in `col` for `reason` (an SQL text
/// expression) when `cond` holds, and the reject quotes `value`.
struct Check {
    cond: String,
    col: &'static str,
    reason: String,
    value: String,
}

impl Check {
    fn of_field(cond: String, col: &'static str, reason: &str, value: &str) -> Check {
        Check {
            cond,
            col,
            reason: format!("'{}'", reason.replace('\'', "''")),
            value: value.to_string(),
        }
    }
}

/// Finds every reject of the staged rows and keeps them in `ingest_rejects`; returns the
/// total and the first [`SHOWN_REJECTS`] in line order.
///
/// Every check is a condition of one scan of `ingest_rows`: the rows that fail any of them
/// are kept, and each is unnested into one reject per failing check. (One `UNION ALL`
/// branch per check, a scan each, took 80 of a 10M-event load's 270 s.)
pub(super) fn find_rejects(
    tx: &Transaction<'_>,
    source: &str,
    fields: &[&'static Field],
) -> Result<(u64, Vec<Reject>), IngestError> {
    let mut checks: Vec<Check> = Vec::new();
    for field in fields {
        let v = format!("nullif(trim(\"{}\"), '')", field.name);
        for (cond, reason) in field.checks(&v) {
            checks.push(Check::of_field(cond, field.name, reason, &v));
        }
    }
    let has = |name: &str| fields.iter().any(|f| f.name == name);
    // The source is the statement's one parameter, $1.
    let mut bound_source = false;
    if has("source") {
        checks.push(Check::of_field(
            "nullif(trim(\"source\"), '') IS DISTINCT FROM $1".to_string(),
            "source",
            "does not match the source being loaded",
            "\"source\"",
        ));
        bound_source = true;
    }
    if has("currency") && has("amount") {
        // One reporting currency per instance (the `currency` setting): an amount in another
        // one would be added to the totals as if it were the same money.
        let currency = "(SELECT coalesce(max(value), 'EUR') FROM settings WHERE key = 'currency')";
        checks.push(Check {
            cond: format!(
                "nullif(trim(amount), '') IS NOT NULL AND nullif(trim(currency), '') IS NOT NULL \
                 AND upper(trim(currency)) <> {currency}"
            ),
            col: "currency",
            reason: format!(
                "'amounts must be in the instance''s currency, ' || {currency} || \
                 ' (convert them before loading)'"
            ),
            value: "currency".to_string(),
        });
    }
    if has("score") {
        let scale = if has("score_scale") {
            "lower(nullif(trim(score_scale), ''))"
        } else {
            "CAST(NULL AS VARCHAR)"
        };
        let s = "try_cast(trim(score) AS SMALLINT)";
        checks.push(Check {
            cond: format!(
                "nullif(trim(score), '') IS NOT NULL AND {s} IS NOT NULL AND ({scale} IS NULL \
                 OR ({scale} = 'nps' AND {s} NOT BETWEEN 0 AND 10) \
                 OR ({scale} = 'csat' AND {s} NOT BETWEEN 1 AND 5))"
            ),
            col: "score",
            reason: format!(
                "CASE WHEN {scale} IS NULL THEN 'a score needs a score_scale (nps or csat)' \
                 WHEN {scale} = 'nps' THEN 'an NPS score is 0 to 10' \
                 ELSE 'a CSAT score is 1 to 5' END"
            ),
            value: "trim(score)".to_string(),
        });
    }
    // One pass computes every check as a column (`__b0`, `__b1`, ...) of every row; only the
    // rows with one true are unnested into their rejects. `OFFSET 0` keeps the columns
    // computed once: without it the optimiser pushes the OR of the checks into the scan,
    // which evaluated them twice as slowly.
    let flags = checks
        .iter()
        .enumerate()
        .map(|(i, c)| format!("({}) AS __b{i}", c.cond))
        .collect::<Vec<_>>()
        .join(",\n");
    let any = (0..checks.len())
        .map(|i| format!("__b{i}"))
        .collect::<Vec<_>>()
        .join(" OR ");
    let each = checks
        .iter()
        .enumerate()
        .map(|(i, c)| {
            format!(
                "CASE WHEN __b{i} THEN {{'col': '{}', 'reason': {}, 'value': CAST({} AS VARCHAR)}} END",
                c.col, c.reason, c.value
            )
        })
        .collect::<Vec<_>>()
        .join(",\n");
    // Every file has checks (its required fields have); none would leave an empty list.
    let mut all = if checks.is_empty() {
        "SELECT __line AS line, '' AS col, '' AS reason, '' AS value FROM ingest_rows WHERE false"
            .to_string()
    } else {
        format!(
            "SELECT line, r.col AS col, r.reason AS reason, r.value AS value
             FROM (SELECT __line AS line, unnest([{each}]) AS r
                   FROM (SELECT *, {flags} FROM ingest_rows OFFSET 0)
                   WHERE {any})
             WHERE r IS NOT NULL"
        )
    };
    // The duplicate check sorts the whole file by id; a grouping (parallel, no sort) says
    // first whether there is any duplicate at all.
    let duplicates: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM ingest_rows WHERE nullif(trim(event_id), '') IS NOT NULL
                        GROUP BY trim(event_id) HAVING count(*) > 1)",
        [],
        |r| r.get(0),
    )?;
    if duplicates {
        all.push_str("\nUNION ALL\n");
        all.push_str(&duplicate_check());
    }
    let source_param: Vec<&dyn duckdb::ToSql> = if bound_source {
        vec![&source]
    } else {
        Vec::new()
    };
    tx.execute(
        &format!("CREATE TEMP TABLE ingest_rejects AS SELECT * FROM ({all})"),
        source_param.as_slice(),
    )?;
    let total: i64 = tx.query_row("SELECT count(*) FROM ingest_rejects", [], |r| r.get(0))?;
    let mut stmt = tx.prepare(&format!(
        "SELECT line, col, reason,
                CASE WHEN length(value) > {SHOWN_VALUE} THEN left(value, {SHOWN_VALUE}) || '...'
                     ELSE value END
         FROM ingest_rejects ORDER BY line, col LIMIT {SHOWN_REJECTS}"
    ))?;
    let rejects = stmt
        .query_map([], |r| {
            Ok(Reject {
                line: r.get::<_, i64>(0)? as u64,
                column: r.get(1)?,
                reason: r.get(2)?,
                value: r.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((total as u64, rejects))
}
