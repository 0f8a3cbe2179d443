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

/// Finds every reject of the staged rows and keeps them in `ingest_rejects`; returns the
/// total and the first [`SHOWN_REJECTS`] in line order.
pub(super) fn find_rejects(
    tx: &Transaction<'_>,
    source: &str,
    fields: &[&'static Field],
) -> Result<(u64, Vec<Reject>), IngestError> {
    let mut checks: Vec<String> = Vec::new();
    for field in fields {
        let per_value = format!(
            "(SELECT __line, nullif(trim(\"{}\"), '') AS v FROM ingest_rows)",
            field.name
        );
        for (cond, reason) in field.checks() {
            checks.push(format!(
                "SELECT __line AS line, '{}' AS col, '{}' AS reason, v AS value FROM {per_value} \
                 WHERE {cond}",
                field.name,
                reason.replace('\'', "''")
            ));
        }
    }
    let has = |name: &str| fields.iter().any(|f| f.name == name);
    // Parameters are bound in order of appearance; the source check is the only one that
    // takes one.
    let mut bound_source = false;
    if has("source") {
        checks.push(
            "SELECT __line, 'source', 'does not match the source being loaded', \"source\"
             FROM ingest_rows WHERE nullif(trim(\"source\"), '') IS DISTINCT FROM ?"
                .to_string(),
        );
        bound_source = true;
    }
    // The duplicate check sorts the whole file by id; a grouping (parallel, no sort) says
    // first whether there is any duplicate at all.
    let duplicates: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM ingest_rows WHERE nullif(trim(event_id), '') IS NOT NULL
                        GROUP BY trim(event_id) HAVING count(*) > 1)",
        [],
        |r| r.get(0),
    )?;
    if duplicates {
        checks.push(duplicate_check());
    }
    if has("currency") && has("amount") {
        // One reporting currency per instance (the `currency` setting): an amount in another
        // one would be added to the totals as if it were the same money.
        checks.push(
            "SELECT __line, 'currency', 'amounts must be in the instance''s currency, ' ||
                    (SELECT coalesce(max(value), 'EUR') FROM settings WHERE key = 'currency') ||
                    ' (convert them before loading)', currency
             FROM ingest_rows
             WHERE nullif(trim(amount), '') IS NOT NULL AND nullif(trim(currency), '') IS NOT NULL
               AND upper(trim(currency)) <> (SELECT coalesce(max(value), 'EUR') FROM settings
                                             WHERE key = 'currency')"
                .to_string(),
        );
    }
    if has("score") {
        let scale = if has("score_scale") {
            "lower(nullif(trim(score_scale), ''))"
        } else {
            "NULL"
        };
        checks.push(format!(
            "SELECT __line, 'score', CASE WHEN scale IS NULL THEN 'a score needs a score_scale \
                    (nps or csat)' WHEN scale = 'nps' THEN 'an NPS score is 0 to 10'
                    ELSE 'a CSAT score is 1 to 5' END, score
             FROM (SELECT __line, trim(score) AS score, {scale} AS scale,
                          try_cast(trim(score) AS SMALLINT) AS s FROM ingest_rows
                   WHERE nullif(trim(score), '') IS NOT NULL)
             WHERE s IS NOT NULL AND (scale IS NULL OR (scale = 'nps' AND s NOT BETWEEN 0 AND 10)
                   OR (scale = 'csat' AND s NOT BETWEEN 1 AND 5))"
        ));
    }
    let all = checks.join("\nUNION ALL\n");
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
