//! One catalog, two SQL dialects: the catalog's SQL is written once and rendered for DuckDB
//! (the embedded engine) or Spark SQL (`omnikpi kpi --engine spark`, docs/scaling.md).
//!
//! Almost all of the catalog is SQL both engines read alike (`FILTER (WHERE ...)`, `bool_or`,
//! `GROUP BY ALL`, `INTERVAL 168 HOUR`, date minus `INTERVAL 12 MONTH`, `||`, correlated
//! `EXISTS`; tests/spark.rs runs every KPI on both). What differs is written as a macro,
//! `{{name(arguments)}}`, rendered here:
//!
//! | macro                   | DuckDB                         | Spark                        |
//! |-------------------------|--------------------------------|------------------------------|
//! | `{{instant(x)}}`        | `CAST(x AS TIMESTAMPTZ)`       | `CAST(x AS TIMESTAMP)`       |
//! | `{{try_instant(x)}}`    | `try_cast(x AS TIMESTAMPTZ)`   | `try_cast(x AS TIMESTAMP)`   |
//! | `{{json_text(x, path)}}`| `json_extract_string(x, path)` | `get_json_object(x, path)`   |
//!
//! Both engines' instants are UTC with a session time zone (DuckDB's `TimeZone`, Spark's
//! `spark.sql.session.timeZone`, both set to the instance's zone): a date cast to an instant is
//! its local midnight and an instant cast to a date is its local day, DST included.
//! The DuckDB rendering of the catalog is byte for byte what it was before the macros
//! (tests/snapshots/company_statements.sql is unchanged).
//!
//! The statements around the catalog's SQL (period bounds, placeholders, aliases) are written
//! per dialect by [`super::query`].

use std::fmt;

/// The SQL dialect a statement is rendered for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dialect {
    DuckDb,
    Spark,
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::DuckDb => "DuckDB",
            Self::Spark => "Spark",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialectError {
    #[error("unknown SQL macro {{{{{0}(...)}}}}; the macros are instant, try_instant, json_text")]
    Unknown(String),
    #[error("SQL macro {{{{{name}(...)}}}} takes {expected} argument(s), got {found}")]
    Arity {
        name: String,
        expected: usize,
        found: usize,
    },
    #[error("unterminated SQL macro near {0:?}")]
    Unterminated(String),
}

/// `sql` with every `{{macro(...)}}` rendered for `dialect` (macros may nest).
pub fn render(sql: &str, dialect: Dialect) -> Result<String, DialectError> {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = matching_close(after)
            .ok_or_else(|| DialectError::Unterminated(after.chars().take(40).collect()))?;
        out.push_str(&expand(&after[..end], dialect)?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The offset of the `}}` closing a macro whose body starts `body` (nested macros skipped).
fn matching_close(body: &str) -> Option<usize> {
    let bytes = body.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'{', b'{') => {
                depth += 1;
                i += 2;
            }
            (b'}', b'}') if depth == 0 => return Some(i),
            (b'}', b'}') => {
                depth -= 1;
                i += 2;
            }
            _ => i += 1,
        }
    }
    None
}

/// One macro call `name(args)` (without its braces) rendered for `dialect`.
fn expand(call: &str, dialect: Dialect) -> Result<String, DialectError> {
    let call = call.trim();
    let open = call
        .find('(')
        .filter(|_| call.ends_with(')'))
        .ok_or_else(|| DialectError::Unterminated(call.to_string()))?;
    let name = call[..open].trim();
    let inner = render(&call[open + 1..call.len() - 1], dialect)?;
    let args = split_args(&inner);
    let want = |expected: usize| {
        if args.len() == expected {
            Ok(())
        } else {
            Err(DialectError::Arity {
                name: name.to_string(),
                expected,
                found: args.len(),
            })
        }
    };
    let instant = match dialect {
        Dialect::DuckDb => "TIMESTAMPTZ",
        Dialect::Spark => "TIMESTAMP",
    };
    match name {
        "instant" => {
            want(1)?;
            Ok(format!("CAST({} AS {instant})", args[0]))
        }
        "try_instant" => {
            want(1)?;
            Ok(format!("try_cast({} AS {instant})", args[0]))
        }
        "json_text" => {
            want(2)?;
            let function = match dialect {
                Dialect::DuckDb => "json_extract_string",
                Dialect::Spark => "get_json_object",
            };
            Ok(format!("{function}({}, {})", args[0], args[1]))
        }
        other => Err(DialectError::Unknown(other.to_string())),
    }
}

/// Top-level comma-separated arguments (commas inside parentheses or quotes stay), trimmed.
fn split_args(text: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut depth = 0i32;
    let mut quoted = false;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                args.push(current.trim().to_string());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() || !args.is_empty() {
        args.push(current.trim().to_string());
    }
    args
}

/// `sql` with DuckDB's numbered placeholders (`$1`, `$12`) written as Spark's named ones
/// (`:p1`, `:p12`); text inside quotes is left alone.
pub fn spark_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut chars = sql.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if c == '\'' {
            quoted = !quoted;
        }
        if c == '$' && !quoted && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push_str(":p");
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macros_render_per_dialect_and_nest() {
        let sql = "coalesce(CAST({{try_instant({{json_text(attributes, '$.a, b')}})}} AS DATE), 1)";
        assert_eq!(
            render(sql, Dialect::DuckDb).as_deref(),
            Ok(
                "coalesce(CAST(try_cast(json_extract_string(attributes, '$.a, b') AS TIMESTAMPTZ) AS DATE), 1)"
            )
        );
        assert_eq!(
            render(sql, Dialect::Spark).as_deref(),
            Ok(
                "coalesce(CAST(try_cast(get_json_object(attributes, '$.a, b') AS TIMESTAMP) AS DATE), 1)"
            )
        );
        assert_eq!(
            render(
                "{{instant(CAST(d - INTERVAL 1 DAY AS DATE) + 1)}}",
                Dialect::Spark
            )
            .as_deref(),
            Ok("CAST(CAST(d - INTERVAL 1 DAY AS DATE) + 1 AS TIMESTAMP)")
        );
        assert_eq!(
            render("no macro here", Dialect::Spark).as_deref(),
            Ok("no macro here")
        );
    }

    #[test]
    fn bad_macros_are_refused_with_their_name() {
        assert_eq!(
            render("{{interval(1)}}", Dialect::DuckDb),
            Err(DialectError::Unknown("interval".into()))
        );
        assert!(matches!(
            render("{{json_text(a)}}", Dialect::Spark),
            Err(DialectError::Arity {
                expected: 2,
                found: 1,
                ..
            })
        ));
        assert!(matches!(
            render("{{instant(x)", Dialect::Spark),
            Err(DialectError::Unterminated(_))
        ));
    }

    #[test]
    fn placeholders_become_named_outside_quotes() {
        assert_eq!(
            spark_placeholders("a IN ($3, $12) AND b = '$1' AND c = $1"),
            "a IN (:p3, :p12) AND b = '$1' AND c = :p1"
        );
    }
}
