//! Query strings for links that carry the view state, so a copied link shows the same view.
//!
//! Only the characters RFC 3986 reserves are escaped: dates stay readable (`from=2026-06-01`)
//! instead of the `%2D` the router's own encoder writes.

/// Escapes one query key or value.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `?k=v&k2=v2` from the pairs in order, or an empty string when there are none.
pub fn query<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let joined = pairs
        .into_iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    if joined.is_empty() {
        joined
    } else {
        format!("?{joined}")
    }
}

/// The current query with `key` set to `value` (replacing any earlier value, appended last).
pub fn with_param<'a>(
    current: impl IntoIterator<Item = (&'a str, &'a str)>,
    key: &'a str,
    value: &'a str,
) -> String {
    let kept: Vec<(&str, &str)> = current.into_iter().filter(|(k, _)| *k != key).collect();
    query(kept.into_iter().chain([(key, value)]))
}

/// Splits a query string (with or without the leading `?`) into decoded pairs, in order:
/// `%XX` escapes and `+` (a space in HTML forms) are decoded; invalid UTF-8 is replaced.
pub fn parse(query: &str) -> Vec<(String, String)> {
    query
        .trim_start_matches('?')
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// The value of one ASCII hex digit (checked by the caller).
fn hex_value(digit: u8) -> u8 {
    char::from(digit).to_digit(16).unwrap_or(0) as u8
}

/// Decodes one query key or value.
pub fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            // Exactly two hex digits (`u8::from_str_radix` alone would take "+1" as a sign and
            // a digit, caught by a property in tests/fuzz.rs).
            b'%' if i + 2 < bytes.len()
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit() =>
            {
                out.push(hex_value(bytes[i + 1]) * 16 + hex_value(bytes[i + 2]));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_stay_readable_and_reserved_characters_are_escaped() {
        assert_eq!(
            query([("from", "2026-06-01"), ("q", "a&b c")]),
            "?from=2026-06-01&q=a%26b%20c"
        );
        assert_eq!(query(std::iter::empty()), "");
        assert_eq!(encode("è"), "%C3%A8");
    }

    #[test]
    fn parse_decodes_what_encode_and_forms_write() {
        assert_eq!(
            parse("?from=2026-06-01&q=a%26b%20c&r=x+y&lang=it&empty=&%ZZ=%C3%A8&t=%4"),
            [
                ("from".to_string(), "2026-06-01".to_string()),
                ("q".to_string(), "a&b c".to_string()),
                ("r".to_string(), "x y".to_string()),
                ("lang".to_string(), "it".to_string()),
                ("empty".to_string(), String::new()),
                ("%ZZ".to_string(), "è".to_string()),
                ("t".to_string(), "%4".to_string()),
            ]
        );
        assert!(parse("").is_empty());
        let value = "Milano Centro & co. = 100%";
        assert_eq!(decode(&encode(value)), value);
    }

    #[test]
    fn with_param_replaces_and_keeps_the_rest() {
        let current = [("from", "2026-06-01"), ("lang", "en"), ("to", "2026-06-30")];
        assert_eq!(
            with_param(current, "lang", "it"),
            "?from=2026-06-01&to=2026-06-30&lang=it"
        );
    }
}
