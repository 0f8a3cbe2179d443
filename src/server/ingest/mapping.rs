//! Source mappings: how a real export (a till's receipts, a CRM dump, an ad platform's daily
//! report) becomes canonical events, written as a small TOML file instead of code.
//!
//! A mapping says how to read the file (delimiter, quote, encoding, rows to skip), which input
//! column or columns feed each canonical field, constants (`channel = "store"`), value maps
//! (`"VEND" = "purchase"`), the decimal and thousands separators, and the timestamp format
//! and zone. It is parsed once into a validated [`Mapping`]; every mistake names the mapping
//! file and its line. Everything a mapping renders into SQL is either from a closed set
//! (separators, field names) or checked against a strict alphabet (timestamp formats, zone
//! names); constants and value maps travel as bound data, never as SQL text.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::canonical::{self, Field, Kind};

#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {problem}")]
pub struct MappingError {
    pub file: String,
    pub line: usize,
    pub problem: String,
}

/// How the file's bytes are text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Latin1,
}

/// Where a canonical field's value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// One input column, or several joined with ':' (to build an `event_id`).
    Columns(Vec<String>),
    /// The same value on every row.
    Constant(String),
}

/// A validated mapping.
#[derive(Clone, Debug, PartialEq)]
pub struct Mapping {
    pub kind: String,
    pub delimiter: char,
    pub quote: char,
    pub encoding: Encoding,
    pub skip_rows: usize,
    pub decimal: char,
    pub thousands: Option<char>,
    /// strptime formats for timestamps, tried in order (the first that parses wins);
    /// ISO-8601 when empty.
    pub timestamp_formats: Vec<String>,
    /// The zone local timestamps are read in; the instance's when absent.
    pub time_zone: Option<String>,
    pub fields: Vec<(&'static Field, Source)>,
    /// For each field, raw value → canonical value.
    pub values: BTreeMap<&'static str, BTreeMap<String, String>>,
    /// Line in the mapping file of each input column named, to report a missing one.
    pub column_lines: BTreeMap<String, usize>,
    pub file: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    kind: Option<String>,
    format: Option<Spanned<String>>,
    csv: Option<RawCsv>,
    timestamp: Option<RawTimestamp>,
    columns: BTreeMap<Spanned<String>, Spanned<RawColumns>>,
    #[serde(default)]
    constants: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    values: BTreeMap<Spanned<String>, BTreeMap<String, Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCsv {
    delimiter: Option<Spanned<String>>,
    quote: Option<Spanned<String>>,
    encoding: Option<Spanned<String>>,
    skip_rows: Option<usize>,
    decimal: Option<Spanned<String>>,
    thousands: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTimestamp {
    format: Option<Spanned<RawFormats>>,
    time_zone: Option<Spanned<String>>,
}

/// One timestamp format, or several tried in order (a till that writes seconds on some rows).
#[derive(Deserialize)]
#[serde(untagged)]
enum RawFormats {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawColumns {
    One(String),
    Many(Vec<String>),
}

/// The kinds of source a retailer has (DESIGN.md, the ingestion issue).
pub const KINDS: &[&str] = &[
    "pos",
    "ecommerce",
    "app",
    "crm_loyalty",
    "ads",
    "web_analytics",
    "email",
    "social",
    "chat",
    "survey",
    "logistics",
    "other",
];

impl Mapping {
    /// Parses and validates `text`, read from `file` (used in messages).
    pub fn parse(text: &str, file: &str) -> Result<Self, MappingError> {
        let line_of =
            |span: Range<usize>| text[..span.start.min(text.len())].matches('\n').count() + 1;
        let err = |span: Range<usize>, problem: String| MappingError {
            file: file.to_string(),
            line: line_of(span),
            problem,
        };
        let raw: Raw = toml::from_str(text).map_err(|e| MappingError {
            file: file.to_string(),
            line: e.span().map_or(1, &line_of),
            // The TOML parser's message can be empty (a stray carriage return, found by
            // tests/fuzz.rs); the user still needs words.
            problem: match e.message().trim() {
                "" => "not valid TOML here".to_string(),
                message => message.to_string(),
            },
        })?;
        if let Some(format) = raw.format.as_ref().filter(|f| f.get_ref() != "csv") {
            return Err(err(
                format.span(),
                format!(
                    "format {:?}: only csv is supported so far",
                    format.get_ref()
                ),
            ));
        }
        let kind = raw.kind.unwrap_or_else(|| "other".to_string());
        if !KINDS.contains(&kind.as_str()) {
            return Err(err(
                0..0,
                format!("kind {kind:?} is not one of {}", KINDS.join(", ")),
            ));
        }
        let one_char = |value: &Option<Spanned<String>>,
                        allowed: &[char],
                        default: Option<char>,
                        what: &str|
         -> Result<Option<char>, MappingError> {
            let Some(v) = value else { return Ok(default) };
            let s = v.get_ref();
            let c = match s.as_str() {
                "\\t" | "tab" => Some('\t'),
                _ if s.chars().count() == 1 => s.chars().next(),
                _ => None,
            };
            match c {
                Some(c) if allowed.contains(&c) => Ok(Some(c)),
                _ => Err(err(
                    v.span(),
                    format!(
                        "{what} {s:?} must be one of {}",
                        allowed
                            .iter()
                            .map(|c| format!("{c:?}"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                )),
            }
        };
        let csv = raw.csv.unwrap_or(RawCsv {
            delimiter: None,
            quote: None,
            encoding: None,
            skip_rows: None,
            decimal: None,
            thousands: None,
        });
        let delimiter = one_char(
            &csv.delimiter,
            &[',', ';', '\t', '|'],
            Some(','),
            "delimiter",
        )?
        .unwrap_or(',');
        let quote = one_char(&csv.quote, &['"', '\''], Some('"'), "quote")?.unwrap_or('"');
        let decimal = one_char(&csv.decimal, &['.', ','], Some('.'), "decimal")?.unwrap_or('.');
        let thousands = one_char(&csv.thousands, &['.', ',', ' ', '\''], None, "thousands")?;
        if thousands == Some(decimal) {
            return Err(err(
                0..0,
                "decimal and thousands separators must differ".into(),
            ));
        }
        let encoding = match csv
            .encoding
            .as_ref()
            .map(|e| (e.get_ref().to_lowercase(), e.span()))
        {
            None => Encoding::Utf8,
            Some((e, _)) if e == "utf-8" || e == "utf8" => Encoding::Utf8,
            Some((e, _)) if e == "latin1" || e == "latin-1" || e == "iso-8859-1" => {
                Encoding::Latin1
            }
            Some((e, span)) => {
                return Err(err(span, format!("encoding {e:?} must be utf-8 or latin1")));
            }
        };

        let (timestamp_formats, time_zone) = match raw.timestamp {
            None => (Vec::new(), None),
            Some(t) => {
                let mut formats = Vec::new();
                if let Some(f) = t.format {
                    let span = f.span();
                    let list = match f.into_inner() {
                        RawFormats::One(one) => vec![one],
                        RawFormats::Many(many) => many,
                    };
                    if list.is_empty() {
                        return Err(err(span, "timestamp format: name at least one".into()));
                    }
                    for format in list {
                        let strptime = format
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || " %/-.:T,".contains(c))
                            && format.contains('%');
                        if !strptime {
                            return Err(err(
                                span.clone(),
                                format!(
                                    "timestamp format {format:?} is not a strptime format such as %d/%m/%Y %H:%M"
                                ),
                            ));
                        }
                        formats.push(format);
                    }
                }
                let zone = match t.time_zone {
                    Some(z)
                        if z.get_ref()
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c)) =>
                    {
                        Some(z.into_inner())
                    }
                    Some(z) => {
                        return Err(err(
                            z.span(),
                            format!("time zone {:?} is not an IANA name", z.get_ref()),
                        ));
                    }
                    None => None,
                };
                (formats, zone)
            }
        };

        let mut fields: Vec<(&'static Field, Source)> = Vec::new();
        let mut column_lines = BTreeMap::new();
        let field_of = |name: &Spanned<String>| -> Result<&'static Field, MappingError> {
            if canonical::DERIVED.contains(&name.get_ref().as_str()) {
                return Err(err(
                    name.span(),
                    format!(
                        "{:?} is filled by omnikpi, not by a mapping",
                        name.get_ref()
                    ),
                ));
            }
            canonical::find(name.get_ref()).ok_or_else(|| {
                err(
                    name.span(),
                    format!(
                        "{:?} is not a canonical field; use one of: {}",
                        name.get_ref(),
                        canonical::FIELDS
                            .iter()
                            .map(|f| f.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })
        };
        for (name, columns) in &raw.columns {
            let field = field_of(name)?;
            let list = match columns.get_ref() {
                RawColumns::One(c) => vec![c.clone()],
                RawColumns::Many(cs) => cs.clone(),
            };
            if list.is_empty() || list.iter().any(|c| c.trim().is_empty()) {
                return Err(err(
                    columns.span(),
                    format!("{}: name at least one input column", field.name),
                ));
            }
            if list.len() > 1 && field.kind != Kind::Text {
                return Err(err(
                    columns.span(),
                    format!("{}: only text fields can join several columns", field.name),
                ));
            }
            for c in &list {
                column_lines
                    .entry(c.clone())
                    .or_insert_with(|| line_of(columns.span()));
            }
            fields.push((field, Source::Columns(list)));
        }
        for (name, value) in &raw.constants {
            let field = field_of(name)?;
            if fields.iter().any(|(f, _)| f.name == field.name) {
                return Err(err(
                    name.span(),
                    format!("{} has both a column and a constant", field.name),
                ));
            }
            fields.push((field, Source::Constant(value.get_ref().clone())));
        }
        if fields.iter().any(|(f, _)| f.name == "source") {
            return Err(err(
                0..0,
                "the source is the one loaded; do not map it".into(),
            ));
        }
        for required in canonical::FIELDS.iter().filter(|f| f.required) {
            if !fields.iter().any(|(f, _)| f.name == required.name) {
                return Err(err(
                    0..0,
                    format!("{} needs a column or a constant", required.name),
                ));
            }
        }
        let mut values = BTreeMap::new();
        for (name, map) in raw.values {
            let field = field_of(&name)?;
            if !fields.iter().any(|(f, _)| f.name == field.name) {
                return Err(err(
                    name.span(),
                    format!("values.{}: the field is not mapped", field.name),
                ));
            }
            let mut m = BTreeMap::new();
            for (from, to) in map {
                if field.name == "event_type" && !is_event_type(to.get_ref()) {
                    return Err(err(
                        to.span(),
                        format!("{:?} is not an event type", to.get_ref()),
                    ));
                }
                m.insert(from, to.into_inner());
            }
            values.insert(field.name, m);
        }
        fields.sort_by_key(|(f, _)| canonical::FIELDS.iter().position(|c| c.name == f.name));
        Ok(Self {
            kind,
            delimiter,
            quote,
            encoding,
            skip_rows: csv.skip_rows.unwrap_or(0),
            decimal,
            thousands,
            timestamp_formats,
            time_zone,
            fields,
            values,
            column_lines,
            file: file.to_string(),
        })
    }

    /// The input columns the mapping reads, in order of first use.
    pub fn input_columns(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for (_, source) in &self.fields {
            if let Source::Columns(cs) = source {
                for c in cs {
                    if !out.contains(&c.as_str()) {
                        out.push(c);
                    }
                }
            }
        }
        out
    }
}

/// The event types of migrations/0001_init.sql (checked against the table by a test).
pub const EVENT_TYPES: &[&str] = &[
    "impression",
    "click",
    "visit",
    "product_view",
    "add_to_cart",
    "checkout",
    "purchase",
    "return",
    "reservation",
    "pickup",
    "chat_start",
    "chat_resolved",
    "call",
    "email_sent",
    "email_open",
    "email_click",
    "unsubscribe",
    "social_like",
    "social_share",
    "social_comment",
    "social_mention",
    "follow",
    "survey",
    "complaint",
    "shipment",
    "delivery",
    "identify",
];

fn is_event_type(value: &str) -> bool {
    EVENT_TYPES.contains(&value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POS: &str = r#"kind = "pos"

[csv]
delimiter = ";"
decimal = ","
thousands = "."
encoding = "latin1"

[timestamp]
format = "%d/%m/%Y %H:%M"

[columns]
event_id = ["NEGOZIO", "SCONTRINO", "RIGA"]
occurred_at = "DATA_ORA"
event_type = "CAUSALE"
amount = "IMPORTO"

[constants]
channel = "store"

[values.event_type]
VEND = "purchase"
RESO = "return"
"#;

    #[test]
    fn a_full_mapping_parses() {
        let m = Mapping::parse(POS, "pos.toml").expect("valid");
        assert_eq!((m.delimiter, m.decimal, m.thousands), (';', ',', Some('.')));
        assert_eq!(m.encoding, Encoding::Latin1);
        assert_eq!(
            m.input_columns(),
            [
                "NEGOZIO",
                "SCONTRINO",
                "RIGA",
                "DATA_ORA",
                "CAUSALE",
                "IMPORTO"
            ]
        );
        assert_eq!(m.values["event_type"]["VEND"], "purchase");
        assert_eq!(m.column_lines["IMPORTO"], 16);
    }

    #[test]
    fn mistakes_name_the_line() {
        let cases = [
            (
                POS.replace("amount = \"IMPORTO\"", "amout = \"IMPORTO\""),
                16,
                "not a canonical field",
            ),
            (
                POS.replace("RESO = \"return\"", "RESO = \"refund\""),
                23,
                "not an event type",
            ),
            (
                POS.replace("delimiter = \";\"", "delimiter = \"::\""),
                4,
                "delimiter",
            ),
            (
                POS.replace("event_type = \"CAUSALE\"\n", ""),
                1,
                "event_type needs a column",
            ),
            (
                POS.replace("%d/%m/%Y %H:%M", "'; DROP TABLE events; --"),
                10,
                "not a strptime format",
            ),
        ];
        for (text, line, message) in cases {
            let err = Mapping::parse(&text, "pos.toml").expect_err(message);
            assert_eq!(err.line, line, "{err}");
            assert!(err.to_string().contains(message), "{err}");
            assert!(
                err.to_string().starts_with(&format!("pos.toml:{line}:")),
                "{err}"
            );
        }
    }

    #[test]
    fn several_timestamp_formats_are_tried_in_order() {
        let text = POS.replace(
            "format = \"%d/%m/%Y %H:%M\"",
            "format = [\"%d/%m/%Y %H:%M:%S\", \"%d/%m/%Y %H:%M\"]",
        );
        let m = Mapping::parse(&text, "pos.toml").expect("valid");
        assert_eq!(m.timestamp_formats, ["%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M"]);
        let bad = POS.replace(
            "format = \"%d/%m/%Y %H:%M\"",
            "format = [\"%d/%m/%Y\", \"x'\"]",
        );
        let err = Mapping::parse(&bad, "pos.toml").expect_err("bad second format");
        assert_eq!(err.line, 10, "{err}");
        let empty = POS.replace("format = \"%d/%m/%Y %H:%M\"", "format = []");
        assert!(Mapping::parse(&empty, "pos.toml").is_err());
    }

    #[test]
    fn toml_syntax_errors_carry_their_line() {
        let err = Mapping::parse("kind = \"pos\"\n[columns\n", "x.toml").expect_err("bad toml");
        assert_eq!(err.line, 2, "{err}");
    }
}
