//! The audit log: every change, who made it, and the values before and after; a page at a
//! time, or whole as CSV for a spreadsheet.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use duckdb::Connection;

use crate::admin::{AuditPage, AuditRow};
use crate::error::AppError;
use crate::i18n::Locale;
use crate::server::auth::audit;
use crate::server::state::AppState;

use super::{AdminError, run};

/// Entries shown per page of the audit log.
pub const AUDIT_PAGE: u32 = 50;

fn audit_rows(conn: &Connection, limit: u32, offset: u32) -> Result<Vec<AuditRow>, AdminError> {
    Ok(audit::list(conn, limit, offset)?
        .into_iter()
        .map(|e| AuditRow {
            at: e.at,
            actor: e.actor,
            action: e.action,
            subject: e.subject,
            before: e.before,
            after: e.after,
        })
        .collect())
}

pub async fn audit_page(offset: u32) -> Result<AuditPage, AppError> {
    run(move |conn| {
        Ok(AuditPage {
            entries: audit_rows(conn, AUDIT_PAGE, offset)?,
            total: audit::count(conn)?,
            offset,
            limit: AUDIT_PAGE,
        })
    })
    .await
}

/// GET /admin/audit.csv: the whole audit log for a spreadsheet (UTF-8 with BOM; `;` and the
/// Italian layout with `?lang=it`).
pub(super) async fn audit_csv(
    State(state): State<AppState>,
    axum::extract::Query(query): axum::extract::Query<Vec<(String, String)>>,
) -> Response {
    let lang = query
        .iter()
        .find(|(k, _)| k == "lang")
        .map(|(_, v)| v.as_str());
    let separator = if Locale::parse(lang) == Locale::It {
        ';'
    } else {
        ','
    };
    let rows = state.db.run(|conn| audit_rows(conn, u32::MAX, 0)).await;
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) => {
            tracing::error!(error = %e, "audit export failed");
            return (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "export failed",
            )
                .into_response();
        }
    };
    let mut csv = String::from("\u{feff}");
    let header = ["at", "actor", "action", "subject", "before", "after"];
    csv.push_str(&header.join(&separator.to_string()));
    csv.push_str("\r\n");
    for row in rows {
        let cells = [
            row.at,
            row.actor,
            row.action,
            row.subject,
            row.before.unwrap_or_default(),
            row.after.unwrap_or_default(),
        ];
        let line: Vec<String> = cells.iter().map(|c| csv_cell(c, separator)).collect();
        csv.push_str(&line.join(&separator.to_string()));
        csv.push_str("\r\n");
    }
    let mut response = csv.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"omnikpi-audit.csv\""),
    );
    response
}

/// One CSV cell: quoted when needed, and a leading `= + - @` (a formula to a spreadsheet)
/// defused with an apostrophe.
pub fn csv_cell(value: &str, separator: char) -> String {
    let defused = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if defused.contains([separator, '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("plain", ','), "plain");
        assert_eq!(csv_cell("a,b", ','), "\"a,b\"");
        assert_eq!(csv_cell("a,b", ';'), "a,b");
        assert_eq!(csv_cell("say \"hi\"", ';'), "\"say \"\"hi\"\"\"");
        assert_eq!(
            csv_cell("=HYPERLINK(\"x\")", ';'),
            "\"'=HYPERLINK(\"\"x\"\")\""
        );
        assert_eq!(csv_cell("@SUM(A1)", ','), "'@SUM(A1)");
        assert_eq!(csv_cell("-5", ','), "'-5");
    }
}
