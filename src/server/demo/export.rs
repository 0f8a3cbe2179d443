//! The demo's files in each source's own export format: the generator makes canonical rows,
//! and this module writes them the way that source's system would (the till's semicolons,
//! decimal comma and Italian dates, the web shop's order lines, ...), as described by the
//! example mapping of its kind in examples/. The demo then loads each file through that
//! mapping, exactly as a user loads their exports, so the demo exercises mappings too.
//!
//! The writer inverts a mapping: for every input column it writes the value that the mapping
//! reads back into the canonical value (a value map's key for its target, a decimal comma,
//! the mapping's timestamp format). It refuses a row the mapping could not reproduce (a field
//! the mapping does not read, a constant the row contradicts), so a demo row never changes on
//! its way through the export.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use chrono::NaiveDateTime;

use crate::server::ingest::canonical::Kind;
use crate::server::ingest::mapping::{Encoding, Mapping, Source};

/// A demo source and the example mapping its files are written for (embedded, so the binary
/// works from any directory).
pub struct Export {
    pub source: &'static str,
    /// Where the mapping lives in the repository (recorded as the source's mapping file).
    pub mapping_file: &'static str,
    pub mapping: &'static str,
    /// The file name the demo writes.
    pub file: &'static str,
}

macro_rules! export {
    ($source:literal, $kind:literal, $file:literal) => {
        Export {
            source: $source,
            mapping_file: concat!("examples/", $kind, "/mapping.toml"),
            mapping: include_str!(concat!("../../../examples/", $kind, "/mapping.toml")),
            file: $file,
        }
    };
}

/// One entry per demo source ([`super::SOURCES`]).
pub const EXPORTS: &[Export] = &[
    export!("pos", "pos", "pos_receipts.csv"),
    export!("webshop", "ecommerce", "webshop_orders.csv"),
    export!("app", "app", "app_events.csv"),
    export!("ads", "ads", "ads_events.csv"),
    export!("web_analytics", "web_analytics", "web_analytics_hits.csv"),
    export!(
        "clickcollect",
        "click_collect",
        "clickcollect_reservations.csv"
    ),
    export!("service", "chat", "service_conversations.csv"),
    export!("survey", "survey", "survey_answers.csv"),
    export!("logistics", "logistics", "logistics_deliveries.csv"),
    export!("email", "email", "email_activity.csv"),
    export!("social", "social", "social_interactions.csv"),
];

/// The export of `source`.
pub fn export_of(source: &str) -> Option<&'static Export> {
    EXPORTS.iter().find(|e| e.source == source)
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(
        "{mapping}: the demo's {demo_source} rows cannot be written for this mapping: {problem}"
    )]
    Inexpressible {
        demo_source: &'static str,
        mapping: &'static str,
        problem: String,
    },
    #[error(transparent)]
    Mapping(#[from] crate::server::ingest::mapping::MappingError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// How one input column is filled: from which canonical field.
struct Column {
    name: String,
    field: usize,
    kind: Kind,
    /// Canonical value → the raw value the mapping maps to it.
    inverse: BTreeMap<String, String>,
    /// Raw values the mapping maps (a canonical value equal to one would be changed).
    keys: Vec<String>,
}

/// A file being written in the format an export's mapping reads, one canonical row at a time
/// (the demo streams its rows here as it generates them, so none has to be kept).
pub struct ExportWriter {
    export: &'static Export,
    mapping: Mapping,
    names: Vec<String>,
    columns: Vec<Column>,
    /// (canonical field, its name, the constant the mapping sets it to).
    constants: Vec<(usize, String, String)>,
    /// Whether the mapping reads each canonical field.
    mapped: Vec<bool>,
    format: Option<String>,
    out: std::io::BufWriter<std::fs::File>,
    line: String,
    values: Vec<String>,
    rows: u64,
}

impl ExportWriter {
    /// Creates `path` for rows with the canonical columns of `header` and writes the export's
    /// own header; refuses a mapping the demo's rows could not be written for.
    pub fn create(export: &'static Export, header: &str, path: &Path) -> Result<Self, ExportError> {
        let mapping = Mapping::parse(export.mapping, export.mapping_file)?;
        let fail = |problem: String| ExportError::Inexpressible {
            demo_source: export.source,
            mapping: export.mapping_file,
            problem,
        };
        let names: Vec<String> = header.split(',').map(str::to_string).collect();
        let index = |field: &str| names.iter().position(|n| n == field);
        let mut columns: Vec<Column> = Vec::new();
        let mut constants = Vec::new();
        let mut mapped = vec![false; names.len()];
        for (field, source) in &mapping.fields {
            // A field the demo never fills still gets its (empty) column: the mapping needs it.
            let at = index(field.name).unwrap_or(usize::MAX);
            if let Some(m) = mapped.get_mut(at) {
                *m = true;
            }
            match source {
                Source::Constant(value) => {
                    constants.push((at, field.name.to_string(), value.clone()));
                }
                Source::Columns(list) if list.len() == 1 => {
                    if columns.iter().any(|c| c.name == list[0]) {
                        return Err(fail(format!(
                            "column {} feeds two fields; the demo writes each field in its own column",
                            list[0]
                        )));
                    }
                    let map = mapping.values.get(field.name);
                    let mut inverse = BTreeMap::new();
                    for (raw, target) in map.into_iter().flatten() {
                        inverse.entry(target.clone()).or_insert_with(|| raw.clone());
                    }
                    columns.push(Column {
                        name: list[0].clone(),
                        field: at,
                        kind: field.kind,
                        inverse,
                        keys: map.into_iter().flatten().map(|(k, _)| k.clone()).collect(),
                    });
                }
                Source::Columns(_) => {
                    return Err(fail(format!(
                        "{} joins several columns; the demo writes it in one",
                        field.name
                    )));
                }
            }
        }
        let format = mapping.timestamp_formats.first().cloned();
        let out = std::io::BufWriter::new(std::fs::File::create(path)?);
        let mut writer = Self {
            export,
            mapping,
            names,
            columns,
            constants,
            mapped,
            format,
            out,
            line: String::with_capacity(256),
            values: Vec::new(),
            rows: 0,
        };
        for _ in 0..writer.mapping.skip_rows {
            writer.emit("EXPORT omnikpi demo\n")?;
        }
        let mut line = std::mem::take(&mut writer.line);
        for (i, c) in writer.columns.iter().enumerate() {
            if i > 0 {
                line.push(writer.mapping.delimiter);
            }
            push_value(
                &mut line,
                &c.name,
                writer.mapping.delimiter,
                writer.mapping.quote,
            );
        }
        line.push('\n');
        writer.emit(&line)?;
        writer.line = line;
        Ok(writer)
    }

    /// Writes one canonical CSV line (the columns of the header given to [`Self::create`]).
    pub fn row(&mut self, row: &str) -> Result<(), ExportError> {
        self.rows += 1;
        let number = self.rows;
        let fail = |problem: String| ExportError::Inexpressible {
            demo_source: self.export.source,
            mapping: self.export.mapping_file,
            problem,
        };
        split_csv(row, &mut self.values);
        for (at, value) in self.values.iter().enumerate() {
            if !value.is_empty() && !self.mapped.get(at).copied().unwrap_or(false) {
                return Err(fail(format!(
                    "row {number} has a {} the mapping does not read",
                    self.names.get(at).map_or("?", String::as_str)
                )));
            }
        }
        for (at, name, constant) in &self.constants {
            let value = self.values.get(*at).map_or("", String::as_str);
            if value != constant {
                return Err(fail(format!(
                    "row {number} has {name} {value:?} but the mapping sets it to {constant:?}"
                )));
            }
        }
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        for (i, c) in self.columns.iter().enumerate() {
            if i > 0 {
                line.push(self.mapping.delimiter);
            }
            let value = self.values.get(c.field).map_or("", String::as_str);
            let raw = match c.inverse.get(value) {
                Some(raw) => raw.clone(),
                None if c.keys.iter().any(|k| k == value) => {
                    return Err(fail(format!(
                        "row {number}: the value {value:?} would be mapped to another one"
                    )));
                }
                None => match c.kind {
                    Kind::Money if self.mapping.decimal != '.' => {
                        value.replace('.', &self.mapping.decimal.to_string())
                    }
                    Kind::Timestamp if !value.is_empty() => match &self.format {
                        Some(format) => NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S")
                            .map_err(|_| {
                                fail(format!("row {number}: {value:?} is not a local date-time"))
                            })?
                            .format(format)
                            .to_string(),
                        None => value.to_string(),
                    },
                    _ => value.to_string(),
                },
            };
            push_value(&mut line, &raw, self.mapping.delimiter, self.mapping.quote);
        }
        line.push('\n');
        self.emit(&line)?;
        self.line = line;
        Ok(())
    }

    /// Flushes the file; returns the mapping that reads it and the rows written.
    pub fn finish(mut self) -> Result<(Mapping, u64), ExportError> {
        self.out.flush()?;
        Ok((self.mapping, self.rows))
    }

    fn emit(&mut self, text: &str) -> std::io::Result<()> {
        match self.mapping.encoding {
            Encoding::Utf8 => self.out.write_all(text.as_bytes()),
            Encoding::Latin1 => {
                let bytes: Vec<u8> = text
                    .chars()
                    .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
                    .collect();
                self.out.write_all(&bytes)
            }
        }
    }
}

/// Appends `value`, quoted when it holds the delimiter, the quote or a line break.
fn push_value(line: &mut String, value: &str, delimiter: char, quote: char) {
    if value.contains([delimiter, quote, '\n', '\r']) {
        line.push(quote);
        for c in value.chars() {
            if c == quote {
                line.push(quote);
            }
            line.push(c);
        }
        line.push(quote);
    } else {
        line.push_str(value);
    }
}

/// Splits one canonical CSV line (comma, double quotes doubled inside quoted values).
pub(super) fn split_csv(line: &str, out: &mut Vec<String>) {
    out.clear();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', false) if current.is_empty() => quoted = true,
            ('"', true) if chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            (',', false) => out.push(std::mem::take(&mut current)),
            (c, _) => current.push(c),
        }
    }
    out.push(current);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_lines_split_with_quotes() {
        let mut out = Vec::new();
        split_csv(r#"a,,"{""x"":1,""y"":2}",b"#, &mut out);
        assert_eq!(out, ["a", "", r#"{"x":1,"y":2}"#, "b"]);
    }

    #[test]
    fn every_demo_source_has_a_valid_example_mapping() {
        for source in super::super::SOURCES {
            let export = export_of(source).expect("an export per source");
            Mapping::parse(export.mapping, export.mapping_file).expect("valid");
        }
        assert_eq!(EXPORTS.len(), super::super::SOURCES.len());
    }
}
