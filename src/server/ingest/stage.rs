//! Reading a file into staging: the table `ingest_raw` (the file's values as text) and the
//! view `ingest_rows` over it (one text column per canonical field, plus the line each row
//! came from).
//! CSV goes through DuckDB's own reader, with the options of a mapping or the canonical ones;
//! NDJSON and Parquet through theirs. A file that cannot be read fails here, with its line
//! when the reader names one, in words a user can act on.

use std::io::Read;
use std::path::Path;

use duckdb::{Transaction, params};

use super::IngestError;
use super::canonical::{self, Field, Kind};
use super::mapping::{self, Encoding, Mapping};

fn unreadable(file: &Path, err: duckdb::Error) -> IngestError {
    let message = err.to_string();
    if let Some(line) = csv_error_line(&message) {
        return IngestError::BadLine {
            file: file.to_path_buf(),
            line,
            problem: csv_problem(&message),
        };
    }
    // DuckDB's message repeats the reader's options after a blank line; the first part is
    // the one a user can act on.
    let message = message
        .split("\n\n")
        .next()
        .unwrap_or(&message)
        .trim()
        .to_string();
    let message = if message.contains("not utf-8 encoded") {
        format!(
            "{message}\nExports in Latin-1 (common from Italian tills) load through a mapping \
             with encoding = \"latin1\" (see examples/pos/mapping.toml)"
        )
    } else {
        message
    };
    IngestError::Unreadable {
        file: file.to_path_buf(),
        message,
    }
}

/// The line of a CSV reader error ("CSV Error on Line: 12"), counted in the file.
fn csv_error_line(message: &str) -> Option<u64> {
    let rest = message.split("CSV Error on Line: ").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// What is wrong with a line the CSV reader refused, in words a user can act on. The reader's
/// own message quotes the whole line (megabytes, for a runaway line) and proposes its options,
/// which are not ours to set; neither is repeated.
fn csv_problem(message: &str) -> String {
    let number_after = |label: &str| -> Option<u64> {
        let rest = message.split(label).nth(1)?;
        rest.trim_start()
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    if let (Some(expected), Some(found)) = (
        number_after("Expected Number of Columns:"),
        number_after("Found:"),
    ) {
        return format!(
            "{found} values where the header has {expected} (check the delimiter and the \
             quotes of this line)"
        );
    }
    if let Some(max) = number_after("Maximum line size of") {
        let actual = number_after("Actual Size:")
            .map(|n| format!(" ({n} bytes)"))
            .unwrap_or_default();
        return format!("the line is longer than {max} bytes{actual}");
    }
    if message.contains("unterminated quote") {
        return "a quoted value is never closed (a \" without its closing \")".into();
    }
    if message.contains("not utf-8 encoded") {
        return "the text is not UTF-8. Exports in Latin-1 (common from Italian tills) load \
                through a mapping with encoding = \"latin1\" (see examples/pos/mapping.toml)"
            .into();
    }
    "the line cannot be read as CSV (check the delimiter and the quotes)".into()
}

/// A name from a file, as quoted in a message: at most 60 characters.
fn shown_name(name: &str) -> String {
    const MAX: usize = 60;
    if name.chars().count() <= MAX {
        format!("{name:?}")
    } else {
        let cut: String = name.chars().take(MAX).collect();
        format!("{cut:?}... ({} characters)", name.chars().count())
    }
}

/// The longest header line accepted; a longer first line is not a header.
const MAX_HEADER: u64 = 64 * 1024;

/// The extension that names a file's format: `csv` for `orders.csv.gz` (a gzip-compressed
/// file is read as what it contains; DuckDB decompresses it while reading).
pub(super) fn format_extension(file: &Path) -> String {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    name.rsplit_once('.')
        .map(|(_, ext)| ext.to_string())
        .unwrap_or_default()
}

/// The file's bytes, decompressed when it is gzip (by its magic number, whatever its name).
fn open_text(file: &Path) -> std::io::Result<Box<dyn Read>> {
    let mut handle = std::fs::File::open(file)?;
    let mut magic = [0u8; 2];
    let gzip = handle.read(&mut magic)? == 2 && magic == [0x1f, 0x8b];
    let handle = std::fs::File::open(file)?;
    Ok(if gzip {
        Box::new(flate2::read::GzDecoder::new(handle))
    } else {
        Box::new(handle)
    })
}

/// Reads and checks the header line: canonical names only, no duplicates, required present.
pub(super) fn read_header(file: &Path) -> Result<Vec<&'static Field>, IngestError> {
    use std::io::BufRead;
    let io = |source| IngestError::Io {
        file: file.to_path_buf(),
        source,
    };
    let reader = open_text(file).map_err(io)?;
    let mut bytes = Vec::new();
    std::io::BufReader::new(reader.take(MAX_HEADER))
        .read_until(b'\n', &mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 == MAX_HEADER && !bytes.ends_with(b"\n") {
        return Err(IngestError::Header {
            file: file.to_path_buf(),
            problem: format!(
                "the first line is longer than {} KB, which no header is",
                MAX_HEADER / 1024
            ),
        });
    }
    let header_line = String::from_utf8(bytes).map_err(|_| IngestError::Header {
        file: file.to_path_buf(),
        problem: "the header is not UTF-8: canonical files are UTF-8; an export in Latin-1 \
                  loads through a mapping with encoding = \"latin1\""
            .into(),
    })?;
    let names: Vec<String> = header_line
        .trim_start_matches('\u{feff}')
        .split(',')
        .map(|raw| raw.trim().trim_matches('"').trim().to_string())
        .collect();
    canonical_fields(file, &names)
}

/// How a file's text is read.
pub(super) struct Reader {
    delimiter: char,
    quote: char,
    encoding: Encoding,
    skip_rows: usize,
}

impl Reader {
    pub(super) const CANONICAL: Reader = Reader {
        delimiter: ',',
        quote: '"',
        encoding: Encoding::Utf8,
        skip_rows: 0,
    };

    /// read_csv options; every character comes from the closed sets a mapping accepts.
    fn options_sql(&self) -> String {
        let encoding = match self.encoding {
            Encoding::Utf8 => "utf-8",
            Encoding::Latin1 => "latin-1",
        };
        format!(
            "all_varchar = true, auto_detect = false, header = false, skip = {}, delim = {}, \
             quote = {q}, escape = {q}, encoding = '{encoding}'",
            self.skip_rows + 1,
            char_literal(self.delimiter),
            q = char_literal(self.quote),
        )
    }
}

/// A SQL string literal of one separator character (from a mapping's closed sets).
fn char_literal(c: char) -> String {
    match c {
        '\'' => "''''".to_string(),
        c => format!("'{c}'"),
    }
}

/// Reads a CSV's rows (text only) into `ingest_raw` as columns r0, r1, ..., then numbers and
/// projects them (see [`number_and_project`]). Returns the row count.
pub(super) fn stage(
    tx: &Transaction<'_>,
    file: &Path,
    reader: &Reader,
    raw_columns: usize,
    projection: &[(&'static Field, String)],
) -> Result<u64, IngestError> {
    let path = file.display().to_string();
    let columns: Vec<String> = (0..raw_columns)
        .map(|i| format!("'r{i}': 'VARCHAR'"))
        .collect();
    let sql = format!(
        "CREATE TEMP TABLE ingest_raw AS SELECT * FROM read_csv(?, {}, columns = {{{}}})",
        reader.options_sql(),
        columns.join(", ")
    );
    tx.execute(&sql, [&path]).map_err(|e| unreadable(file, e))?;
    let names: Vec<String> = (0..raw_columns).map(|i| format!("r{i}")).collect();
    number_and_project(tx, file, &names, projection, reader.skip_rows + 2, true)
}

/// Numbers the rows of `ingest_raw` with their line in the file (from `first_line`, counting
/// quoted line breaks when `count_breaks`) and projects them into `ingest_rows`: one text
/// column per canonical field plus `__line`. Row ids follow the file's order but do not start
/// at 0 for rows a transaction has not committed, hence the offset.
///
/// `ingest_rows` is always a view, dropped with [`drop_staged`]. When the projection only
/// names raw columns (a canonical file) and the lines follow from the row ids, it reads
/// `ingest_raw` directly: a copy of a 10M-row file is seconds and a second file's worth of
/// memory. A mapping's conversions, or the lines of a file with quoted line breaks, are
/// computed once into `ingest_numbered`, as the checks and the insert both read them.
fn number_and_project(
    tx: &Transaction<'_>,
    file: &Path,
    raw_columns: &[String],
    projection: &[(&'static Field, String)],
    first_line: usize,
    count_breaks: bool,
) -> Result<u64, IngestError> {
    // Quoted line breaks are rare; without any, a row's line follows from its row id alone,
    // which spares a running sum and a sort over the whole file (the slow part of a big load).
    let breaks = count_breaks && {
        let any: Vec<String> = raw_columns
            .iter()
            .map(|c| format!("contains(\"{c}\", chr(10))"))
            .collect();
        tx.query_row(
            &format!(
                "SELECT EXISTS (SELECT 1 FROM ingest_raw WHERE {})",
                any.join(" OR ")
            ),
            [],
            |r| r.get::<_, bool>(0),
        )?
    };
    let projected: Vec<String> = projection
        .iter()
        .map(|(field, expr)| format!("{expr} AS \"{}\"", field.name))
        .collect();
    let renames_only = projection.iter().all(|(_, expr)| {
        raw_columns
            .iter()
            .any(|c| expr == c || *expr == format!("\"{c}\""))
    });
    if breaks {
        let concat: Vec<String> = raw_columns
            .iter()
            .map(|c| format!("coalesce(\"{c}\", '')"))
            .collect();
        let concat = format!("concat({})", concat.join(", "));
        let newlines = format!("length({concat}) - length(replace({concat}, chr(10), ''))");
        tx.execute_batch(&format!(
            "CREATE TEMP TABLE ingest_numbered AS
             SELECT {}, __line FROM (
                 SELECT *, {first_line} + rid - min(rid) OVER () + coalesce(sum(newlines) OVER (
                            ORDER BY rid ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
                        AS __line
                 FROM (SELECT rowid AS rid, *, {newlines} AS newlines FROM ingest_raw))
             ORDER BY __line;
             CREATE TEMP VIEW ingest_rows AS SELECT * FROM ingest_numbered;",
            projected.join(", ")
        ))?;
    } else {
        // The projection keeps the table's order (DuckDB preserves insertion order).
        let first_rid: Option<i64> =
            tx.query_row("SELECT min(rowid) FROM ingest_raw", [], |r| r.get(0))?;
        let first_rid = first_rid.unwrap_or(0);
        let select = format!(
            "SELECT {}, CAST({first_line} + rowid - ({first_rid}) AS BIGINT) AS __line
             FROM ingest_raw",
            projected.join(", ")
        );
        tx.execute_batch(&if renames_only {
            format!("CREATE TEMP VIEW ingest_rows AS {select};")
        } else {
            format!(
                "CREATE TEMP TABLE ingest_numbered AS {select};
                 CREATE TEMP VIEW ingest_rows AS SELECT * FROM ingest_numbered;"
            )
        })?;
    }
    let rows: i64 = tx.query_row("SELECT count(*) FROM ingest_rows", [], |r| r.get(0))?;
    if rows == 0 {
        return Err(IngestError::HeaderOnly(file.to_path_buf()));
    }
    Ok(rows as u64)
}

/// Drops what [`stage`] and its siblings created, and the checks' rejects.
pub(super) fn drop_staged(tx: &Transaction<'_>) -> Result<(), duckdb::Error> {
    tx.execute_batch(
        "DROP VIEW ingest_rows; DROP TABLE IF EXISTS ingest_numbered; DROP TABLE ingest_raw;
         DROP TABLE ingest_rejects;",
    )
}

/// The canonical fields named by `names`, refusing unknown, derived and duplicated names and
/// requiring the three the contract needs. `at` says where the names were read.
fn canonical_fields(file: &Path, names: &[String]) -> Result<Vec<&'static Field>, IngestError> {
    let header_err = |problem: String| IngestError::Header {
        file: file.to_path_buf(),
        problem,
    };
    let mut fields: Vec<&'static Field> = Vec::new();
    for name in names {
        let name = name.as_str();
        if canonical::DERIVED.contains(&name) {
            return Err(header_err(format!(
                "column {name:?} is filled by omnikpi (identity stitching and load history); \
                 remove it from the file"
            )));
        }
        let field = canonical::find(name).ok_or_else(|| {
            header_err(format!(
                "unknown column {}; a canonical file uses these names: {}",
                shown_name(name),
                canonical::FIELDS
                    .iter()
                    .map(|f| f.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        if fields.contains(&field) {
            return Err(header_err(format!("column {name:?} appears twice")));
        }
        fields.push(field);
    }
    for required in canonical::FIELDS.iter().filter(|f| f.required) {
        if !fields.contains(&required) {
            return Err(header_err(format!(
                "required column {:?} is missing",
                required.name
            )));
        }
    }
    Ok(fields)
}

/// Stages a canonical NDJSON file (one JSON object a line; keys are canonical names).
pub(super) fn stage_ndjson(
    tx: &Transaction<'_>,
    file: &Path,
) -> Result<(Vec<&'static Field>, u64), IngestError> {
    const READER: &str = "read_json_objects(?, format = 'newline_delimited')";
    stage_named(
        tx,
        file,
        &format!("SELECT DISTINCT unnest(json_keys(json)) AS k FROM {READER} ORDER BY k"),
        // Each value as text: strings without their quotes, numbers and objects as written.
        |n| {
            format!(
                "CASE WHEN json_type(json -> '{n}') = 'VARCHAR' THEN json ->> '{n}' \
                 WHEN json_type(json -> '{n}') = 'NULL' THEN NULL \
                 ELSE CAST(json -> '{n}' AS VARCHAR) END"
            )
        },
        READER,
    )
}

/// Stages a canonical Parquet file (column names are canonical names); "line" is the row.
pub(super) fn stage_parquet(
    tx: &Transaction<'_>,
    file: &Path,
) -> Result<(Vec<&'static Field>, u64), IngestError> {
    stage_named(
        tx,
        file,
        "SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet(?))",
        |n| format!("CAST(\"{n}\" AS VARCHAR)"),
        "read_parquet(?)",
    )
}

/// Stages a file whose reader names the values (NDJSON keys, Parquet columns): `names_sql`
/// lists the names, `text_of` renders one field's text from a row of `reader`. Rows are
/// numbered from 1. Field names are checked against the canonical set before they reach SQL.
fn stage_named(
    tx: &Transaction<'_>,
    file: &Path,
    names_sql: &str,
    text_of: impl Fn(&str) -> String,
    reader: &str,
) -> Result<(Vec<&'static Field>, u64), IngestError> {
    let path = file.display().to_string();
    let mut stmt = tx.prepare(names_sql)?;
    let names: Vec<String> = stmt
        .query_map([&path], |r| r.get(0))
        .map_err(|e| unreadable(file, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| unreadable(file, e))?;
    if names.is_empty() {
        return Err(IngestError::Empty(file.to_path_buf()));
    }
    let fields = canonical_fields(file, &names)?;
    let columns: Vec<String> = fields
        .iter()
        .map(|f| format!("{} AS \"{}\"", text_of(f.name), f.name))
        .collect();
    tx.execute(
        &format!(
            "CREATE TEMP TABLE ingest_raw AS SELECT {} FROM {reader}",
            columns.join(", ")
        ),
        [&path],
    )
    .map_err(|e| unreadable(file, e))?;
    let raw: Vec<String> = fields.iter().map(|f| f.name.to_string()).collect();
    let projection: Vec<(&'static Field, String)> = fields
        .iter()
        .map(|f| (*f, format!("\"{}\"", f.name)))
        .collect();
    let rows = number_and_project(tx, file, &raw, &projection, 1, false)?;
    Ok((fields, rows))
}

/// Stages a file through its source's mapping; returns the canonical fields it produces.
pub(super) fn stage_mapped(
    tx: &Transaction<'_>,
    file: &Path,
    mapping: &Mapping,
) -> Result<(Vec<&'static Field>, u64), IngestError> {
    let header = read_raw_header(file, mapping)?;
    let position = |column: &str| -> Result<usize, IngestError> {
        header.iter().position(|h| h == column).ok_or_else(|| {
            IngestError::Mapping(mapping::MappingError {
                file: mapping.file.clone(),
                line: mapping.column_lines.get(column).copied().unwrap_or(1),
                problem: format!(
                    "column {column:?} is not in the header of {} (it has: {})",
                    file.display(),
                    header.join(", ")
                ),
            })
        })
    };
    if let Some(zone) = &mapping.time_zone {
        let known: i64 = tx.query_row(
            "SELECT count(*) FROM pg_timezone_names() WHERE name = ?",
            [zone],
            |r| r.get(0),
        )?;
        if known == 0 {
            return Err(IngestError::Mapping(mapping::MappingError {
                file: mapping.file.clone(),
                line: 1,
                problem: format!("unknown time zone {zone:?}"),
            }));
        }
    }
    // Constants and value maps are data: bound into temporary tables, never spliced into SQL.
    tx.execute_batch(
        "CREATE TEMP TABLE ingest_constants (field VARCHAR, value VARCHAR);
         CREATE TEMP TABLE ingest_value_map (field VARCHAR, source_value VARCHAR, target VARCHAR);",
    )?;
    for (field, source) in &mapping.fields {
        if let mapping::Source::Constant(value) = source {
            tx.execute(
                "INSERT INTO ingest_constants VALUES (?, ?)",
                params![field.name, value],
            )?;
        }
    }
    for (field, map) in &mapping.values {
        for (from, to) in map {
            tx.execute(
                "INSERT INTO ingest_value_map VALUES (?, ?, ?)",
                params![field, from, to],
            )?;
        }
    }
    let mut projection = Vec::with_capacity(mapping.fields.len());
    for (field, source) in &mapping.fields {
        let raw = match source {
            mapping::Source::Columns(columns) => {
                let parts = columns
                    .iter()
                    .map(|c| Ok(format!("trim(r{})", position(c)?)))
                    .collect::<Result<Vec<_>, IngestError>>()?;
                if parts.len() == 1 {
                    parts[0].clone()
                } else {
                    format!("concat_ws(':', {})", parts.join(", "))
                }
            }
            mapping::Source::Constant(_) => format!(
                "(SELECT value FROM ingest_constants WHERE field = '{}')",
                field.name
            ),
        };
        projection.push((*field, convert_mapped(field, raw, mapping)));
    }
    let reader = Reader {
        delimiter: mapping.delimiter,
        quote: mapping.quote,
        encoding: mapping.encoding,
        skip_rows: mapping.skip_rows,
    };
    let rows = stage(tx, file, &reader, header.len(), &projection)?;
    tx.execute_batch("DROP TABLE ingest_constants; DROP TABLE ingest_value_map;")?;
    Ok((mapping.fields.iter().map(|(f, _)| *f).collect(), rows))
}

/// The mapped value of `field` as canonical text: value map, then separators and formats.
fn convert_mapped(field: &Field, raw: String, mapping: &Mapping) -> String {
    let mut expr = raw;
    if mapping.values.contains_key(field.name) {
        expr = format!(
            "coalesce((SELECT m.target FROM ingest_value_map m WHERE m.field = '{}' \
             AND m.source_value = {expr}), {expr})",
            field.name
        );
    }
    match field.kind {
        Kind::Money => {
            if let Some(t) = mapping.thousands {
                expr = format!("replace({expr}, {}, '')", char_literal(t));
            }
            if mapping.decimal != '.' {
                expr = format!("replace({expr}, {}, '.')", char_literal(mapping.decimal));
            }
        }
        Kind::Timestamp if !mapping.timestamp_formats.is_empty() => {
            {
                // The formats and zone passed the mapping's strict alphabets (no quotes); the
                // first format that parses wins.
                let tries: Vec<String> = mapping
                    .timestamp_formats
                    .iter()
                    .map(|format| format!("try_strptime({expr}, '{format}')"))
                    .collect();
                let parsed = format!("coalesce({})", tries.join(", "));
                let text = match &mapping.time_zone {
                    Some(zone) => format!("CAST(timezone('{zone}', {parsed}) AS VARCHAR)"),
                    None => format!("strftime({parsed}, '%Y-%m-%dT%H:%M:%S')"),
                };
                expr = format!("coalesce({text}, {expr})");
            }
        }
        _ => {}
    }
    expr
}

/// The header of a mapped file: after `skip_rows` lines, split on the delimiter.
fn read_raw_header(file: &Path, mapping: &Mapping) -> Result<Vec<String>, IngestError> {
    use std::io::BufRead;
    let io = |source| IngestError::Io {
        file: file.to_path_buf(),
        source,
    };
    let reader = open_text(file).map_err(io)?;
    let mut lines = std::io::BufReader::new(reader.take(MAX_HEADER * 16)).split(b'\n');
    for _ in 0..mapping.skip_rows {
        lines.next().transpose().map_err(io)?;
    }
    let bytes = lines.next().transpose().map_err(io)?.unwrap_or_default();
    let text = match mapping.encoding {
        Encoding::Latin1 => bytes.iter().map(|b| char::from(*b)).collect(),
        Encoding::Utf8 => String::from_utf8(bytes).map_err(|_| IngestError::Header {
            file: file.to_path_buf(),
            problem: "the header is not UTF-8; set encoding = \"latin1\" in the mapping".into(),
        })?,
    };
    Ok(text
        .trim_start_matches('\u{feff}')
        .trim_end_matches(['\r', '\n'])
        .split(mapping.delimiter)
        .map(|h| h.trim().trim_matches(mapping.quote).trim().to_string())
        .collect())
}
