//! The canonical event format: its fields, how a raw text value of each is checked, and how it
//! is converted into its `events` column.
//!
//! A file in canonical form needs no mapping: its header names canonical fields, any subset in
//! any order, with `event_id`, `occurred_at` and `event_type` required. Field names are a closed
//! set, which is what makes it safe to use them as SQL identifiers.

/// How a field's raw text is checked and converted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Trimmed text; empty is null.
    Text,
    /// Trimmed and lower-cased text.
    Lower,
    Email,
    Phone,
    /// ISO-8601; without an offset it is read in the instance's time zone.
    Timestamp,
    /// A non-negative amount with up to two decimals and a dot.
    Money,
    Integer,
    Score,
    Json,
}

/// Every field a canonical file may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
}

const fn field(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: false,
    }
}

const fn required(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: true,
    }
}

pub const FIELDS: &[Field] = &[
    field("source", Kind::Text),
    required("event_id", Kind::Text),
    required("occurred_at", Kind::Timestamp),
    field("email", Kind::Email),
    field("phone", Kind::Phone),
    field("loyalty_id", Kind::Text),
    field("crm_id", Kind::Text),
    field("device_id", Kind::Text),
    field("cookie_id", Kind::Text),
    field("channel", Kind::Lower),
    field("touchpoint", Kind::Text),
    required("event_type", Kind::Lower),
    field("order_id", Kind::Text),
    field("amount", Kind::Money),
    field("currency", Kind::Text),
    field("quantity", Kind::Integer),
    field("cost", Kind::Money),
    field("store_id", Kind::Text),
    field("campaign_id", Kind::Text),
    field("sku", Kind::Text),
    field("category", Kind::Text),
    field("unit_price", Kind::Money),
    field("score", Kind::Score),
    field("score_scale", Kind::Lower),
    field("topic", Kind::Text),
    field("attributes", Kind::Json),
];

/// Columns of `events` that the product fills itself and a file may not set.
pub const DERIVED: &[&str] = &["customer_id", "load_id"];

pub fn find(name: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.name == name)
}

impl Field {
    /// The SQL that converts the staged text column into its `events` value. Only called on
    /// rows that passed [`Field::checks`].
    pub fn convert_sql(&self) -> String {
        let col = format!("nullif(trim(s.\"{}\"), '')", self.name);
        match self.kind {
            Kind::Text => col,
            Kind::Lower => format!("lower({col})"),
            // Hashed with the instance's salt when pseudonymisation is on (super::pseudonym).
            Kind::Email => super::pseudonym::sql(&format!("lower({col})")),
            // E.164: +<country><number>; 00 is the international prefix; a number written
            // without either gets the instance's country code (setting phone_country_code).
            Kind::Phone => {
                let digits = format!("regexp_replace({col}, '[^0-9]', '', 'g')");
                super::pseudonym::sql(&format!(
                    "(CASE WHEN {col} IS NULL THEN NULL \
                     WHEN starts_with(ltrim({col}), '+') THEN '+' || {digits} \
                     WHEN starts_with({digits}, '00') THEN '+' || substr({digits}, 3) \
                     ELSE '+' || (SELECT coalesce(max(value), '39') FROM settings \
                                  WHERE key = 'phone_country_code') || {digits} END)"
                ))
            }
            Kind::Timestamp => format!("CAST({col} AS TIMESTAMPTZ)"),
            Kind::Money => format!("CAST({col} AS DECIMAL(14, 2))"),
            Kind::Integer => format!("CAST({col} AS INTEGER)"),
            Kind::Score => format!("CAST({col} AS SMALLINT)"),
            Kind::Json => format!("CAST({col} AS JSON)"),
        }
    }

    /// `(condition, reason)` pairs; a row is rejected for this field when a condition holds.
    /// The conditions read the value through `v`, an SQL expression of the trimmed text
    /// (empty = null), so every field's checks can share one scan of the staged rows.
    pub fn checks(&self, v: &str) -> Vec<(String, &'static str)> {
        let mut checks = Vec::new();
        if self.required {
            checks.push((format!("{v} IS NULL"), "a value is required"));
        }
        let check =
            |cond: String, reason: &'static str| (format!("{v} IS NOT NULL AND {cond}"), reason);
        match (self.name, self.kind) {
            ("event_type", _) => checks.push(check(
                format!("lower({v}) NOT IN (SELECT event_type FROM event_types)"),
                "unknown event type",
            )),
            ("channel", _) => checks.push(check(
                format!("lower({v}) NOT IN (SELECT channel FROM channels)"),
                "unknown channel",
            )),
            ("score_scale", _) => checks.push(check(
                format!("lower({v}) NOT IN ('nps', 'csat')"),
                "must be nps or csat",
            )),
            (_, Kind::Timestamp) => {
                let at = format!("try_cast({v} AS TIMESTAMPTZ)");
                checks.push(check(
                    format!("{at} IS NULL"),
                    "not an ISO-8601 date-time (e.g. 2026-03-01T10:15:00+01:00)",
                ));
                checks.push(check(
                    // The years 1990 to 2100 of the instance's zone, as instants: `year()` of
                    // a TIMESTAMPTZ goes through a calendar per row, 3 × the cast's own cost.
                    // Infinite values fall outside the range too.
                    format!(
                        "{at} IS NOT NULL AND NOT ({at} >= CAST('1990-01-01' AS TIMESTAMPTZ) \
                         AND {at} < CAST('2101-01-01' AS TIMESTAMPTZ))"
                    ),
                    "date out of range (1990-2100)",
                ));
            }
            (_, Kind::Money) => {
                let amount = format!("try_cast({v} AS DECIMAL(14, 2))");
                checks.push(check(
                    format!("{amount} IS NULL"),
                    "not a number (use a dot as the decimal separator)",
                ));
                checks.push(check(
                    format!("{amount} IS NOT NULL AND regexp_matches({v}, '\\.[0-9]{{3,}}$')"),
                    "more than two decimals",
                ));
                checks.push(check(
                    format!("{amount} < 0"),
                    "must not be negative (a refund is a `return` event with a positive amount)",
                ));
            }
            (_, Kind::Integer) => checks.push(check(
                format!("try_cast({v} AS INTEGER) IS NULL"),
                "not a whole number",
            )),
            (_, Kind::Score) => checks.push(check(
                format!("try_cast({v} AS SMALLINT) IS NULL"),
                "not a whole number",
            )),
            (_, Kind::Email) => checks.push(check(
                format!("NOT regexp_matches({v}, '^[^@\\s]+@[^@\\s]+$')"),
                "not an e-mail address",
            )),
            (_, Kind::Phone) => checks.push(check(
                format!("length(regexp_replace({v}, '[^0-9]', '', 'g')) < 6"),
                "not a phone number",
            )),
            (_, Kind::Json) => {
                checks.push(check(format!("NOT json_valid({v})"), "not valid JSON"));
                // Attributes are a few keys a page may read; a document nested thousands of
                // levels deep or megabytes long is an attack or a mistake, not an attribute.
                checks.push(check(
                    format!(
                        "json_valid({v}) AND (strlen({v}) > 16384 OR \
                         length({v}) - length(replace(replace({v}, '[', ''), '{{', '')) > 100)"
                    ),
                    "too large or too deep: at most 16 KB and 100 objects or arrays",
                ));
            }
            (_, Kind::Text | Kind::Lower) => {}
        }
        checks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_are_unique_snake_case_identifiers() {
        let mut names: Vec<&str> = FIELDS.iter().map(|f| f.name).collect();
        assert!(
            names
                .iter()
                .all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        );
        names.sort();
        names.dedup();
        assert_eq!(names.len(), FIELDS.len());
    }

    #[test]
    fn the_three_required_fields_are_the_contract() {
        let required: Vec<&str> = FIELDS
            .iter()
            .filter(|f| f.required)
            .map(|f| f.name)
            .collect();
        assert_eq!(required, ["event_id", "occurred_at", "event_type"]);
    }
}
