//! Sheets: the small CSV files of named columns that people keep in a spreadsheet and hand to
//! omnikpi whole (a target plan, the market benchmarks). DuckDB's reader splits the file,
//! every value as text, in the order of the columns asked for; the checks of each sheet are
//! its owner's, and every refused line is reported with its line, column, reason and value,
//! like a load's rejects.
//!
//! Event data does not come through here: it is loaded by `ingest`, with mappings, rejects
//! tables and progress. A sheet is a few hundred lines at most, all or nothing.

use std::fmt;
use std::path::Path;

use duckdb::Connection;

/// The most refused lines a report lists (a sheet with more is most likely the wrong file).
const MAX_LISTED: usize = 50;

/// One refused line.
#[derive(Clone, Debug, PartialEq)]
pub struct Refused {
    pub line: u64,
    pub column: String,
    pub reason: String,
    pub value: String,
}

/// Why a sheet was not taken: its refused lines, the first [`MAX_LISTED`] of them.
#[derive(Clone, Debug, PartialEq)]
pub struct Rejected {
    pub file: String,
    pub refused: Vec<Refused>,
    /// Refused lines beyond those listed.
    pub more: usize,
}

impl Rejected {
    /// A sheet refused for one reason.
    pub fn one(file: &str, line: u64, column: &str, reason: String, value: &str) -> Self {
        let mut refusals = Refusals::default();
        refusals.refuse(line, column, reason, value);
        Self {
            file: file.to_string(),
            more: 0,
            refused: refusals.refused,
        }
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} was not taken:", self.file)?;
        for r in &self.refused {
            write!(
                f,
                "\n  {}:{}: {}: {} ({:?})",
                self.file, r.line, r.column, r.reason, r.value
            )?;
        }
        if self.more > 0 {
            write!(f, "\n  ... and {} more refused lines", self.more)?;
        }
        Ok(())
    }
}

impl std::error::Error for Rejected {}

/// The refused lines of a sheet being checked.
#[derive(Debug, Default)]
pub struct Refusals {
    refused: Vec<Refused>,
    more: usize,
}

impl Refusals {
    pub fn refuse(&mut self, line: u64, column: &str, reason: String, value: &str) {
        if self.refused.len() < MAX_LISTED {
            self.refused.push(Refused {
                line,
                column: column.to_string(),
                reason,
                value: value.to_string(),
            });
        } else {
            self.more += 1;
        }
    }

    /// `Ok` when nothing was refused.
    pub fn finish(self, file: &str) -> Result<(), Rejected> {
        if self.refused.is_empty() {
            return Ok(());
        }
        Err(Rejected {
            file: file.to_string(),
            refused: self.refused,
            more: self.more,
        })
    }
}

/// Runs `apply` (a sheet's checks and writes, given the connection, the file and the name
/// reports call it by: its path) in a transaction of its own, committed when it succeeds.
pub fn import<T, E: From<duckdb::Error>>(
    conn: &Connection,
    file: &Path,
    apply: impl FnOnce(&Connection, &Path, &str) -> Result<T, E>,
) -> Result<T, E> {
    let tx = conn.unchecked_transaction()?;
    let done = apply(&tx, file, &file.display().to_string())?;
    tx.commit()?;
    Ok(done)
}

/// One line of a sheet: its number in the file and its values, in the order asked for (an
/// optional column the sheet lacks is empty), trimmed.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub line: u64,
    pub values: Vec<String>,
}

/// Reads the sheet at `file` (called `name` in what it reports: the file as the user knows
/// it): a header naming every `required` column and any of the `optional` ones, in any order
/// and case, nothing else; then one line per row, values separated by commas, quoted with `"`
/// when they hold one. Blank lines are skipped.
pub fn read(
    conn: &Connection,
    file: &Path,
    name: &str,
    required: &[&str],
    optional: &[&str],
) -> Result<Vec<Row>, Rejected> {
    let name = name.to_string();
    let text = std::fs::read_to_string(file)
        .map_err(|e| Rejected::one(&name, 0, "file", format!("cannot be read: {e}"), &name))?;
    let header = text
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches('\u{feff}');
    let names: Vec<String> = header
        .split(',')
        .map(|n| n.trim().trim_matches('"').to_lowercase())
        .collect();
    let expected = || {
        let mut all = required.join(",");
        for o in optional {
            all.push_str(&format!(",[{o}]"));
        }
        all
    };
    for column in required {
        if !names.iter().any(|n| n == column) {
            return Err(Rejected::one(
                &name,
                1,
                column,
                format!(
                    "the header has no {column} column (it needs {})",
                    expected()
                ),
                header,
            ));
        }
    }
    if let Some(unknown) = names
        .iter()
        .find(|n| !required.contains(&n.as_str()) && !optional.contains(&n.as_str()))
    {
        return Err(Rejected::one(
            &name,
            1,
            unknown,
            format!("not a column of this sheet (it takes {})", expected()),
            header,
        ));
    }
    let wanted: Vec<Option<usize>> = required
        .iter()
        .chain(optional)
        .map(|c| names.iter().position(|n| n == c))
        .collect();
    let columns: Vec<String> = (0..names.len())
        .map(|i| format!("'c{i}': 'VARCHAR'"))
        .collect();
    let select: Vec<String> = (0..names.len()).map(|i| format!("c{i}")).collect();
    let sql = format!(
        "SELECT {} FROM read_csv(?, header = true, auto_detect = false, delim = ',', \
         quote = '\"', escape = '\"', columns = {{{}}})",
        select.join(", "),
        columns.join(", ")
    );
    let unreadable = |e: duckdb::Error| {
        let message = e.to_string();
        let first = message.lines().next().unwrap_or("").trim().to_string();
        Rejected::one(
            &name,
            0,
            "file",
            format!("cannot be read as CSV with a comma between values ({first})"),
            "",
        )
    };
    let mut stmt = conn.prepare(&sql).map_err(unreadable)?;
    let width = names.len();
    let raw: Vec<Vec<Option<String>>> = stmt
        .query_map([&file.display().to_string()], |r| {
            (0..width).map(|i| r.get::<_, Option<String>>(i)).collect()
        })
        .map_err(unreadable)?
        .collect::<Result<_, _>>()
        .map_err(unreadable)?;
    let rows: Vec<Vec<String>> = raw
        .into_iter()
        .map(|values| {
            wanted
                .iter()
                .map(|at| {
                    at.and_then(|at| values.get(at).cloned().flatten())
                        .unwrap_or_default()
                        .trim()
                        .to_string()
                })
                .collect::<Vec<String>>()
        })
        .filter(|values| values.iter().any(|v| !v.is_empty()))
        .collect();
    // Each row's line in the file: the lines with a value, after the header (blank lines and
    // lines of bare commas give no row). A value holding a line break would shift them; then
    // rows are numbered in order instead.
    let lines: Vec<u64> = text
        .lines()
        .enumerate()
        .skip(1)
        .filter(|(_, l)| {
            l.chars()
                .any(|c| !c.is_whitespace() && c != ',' && c != '"')
        })
        .map(|(i, _)| i as u64 + 1)
        .collect();
    let numbered = lines.len() == rows.len();
    Ok(rows
        .into_iter()
        .enumerate()
        .map(|(i, values)| Row {
            line: if numbered { lines[i] } else { i as u64 + 2 },
            values,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet(text: &str) -> Result<Vec<Row>, Rejected> {
        let dir = tempfile::tempdir().expect("temporary folder");
        let file = dir.path().join("sheet.csv");
        std::fs::write(&file, text).expect("write");
        let conn = Connection::open_in_memory().expect("duckdb");
        read(&conn, &file, "sheet.csv", &["a", "b"], &["c"])
    }

    #[test]
    fn columns_come_in_the_order_asked_for_with_their_lines() {
        let rows = sheet("B,a\n2,1\n\n\"x, y\",3\n").expect("read");
        assert_eq!(
            rows,
            [
                Row {
                    line: 2,
                    values: vec!["1".into(), "2".into(), String::new()]
                },
                Row {
                    line: 4,
                    values: vec!["3".into(), "x, y".into(), String::new()]
                },
            ]
        );
    }

    #[test]
    fn a_missing_or_unknown_column_is_refused_on_line_1() {
        let missing = sheet("a,c\n1,2\n").expect_err("no b");
        assert_eq!(
            (missing.refused[0].line, missing.refused[0].column.as_str()),
            (1, "b")
        );
        let unknown = sheet("a,b,d\n1,2,3\n").expect_err("d is not a column");
        assert_eq!(unknown.refused[0].column, "d");
        assert!(
            unknown.to_string().contains("it takes a,b,[c]"),
            "{unknown}"
        );
    }
}
