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
    fn with_param_replaces_and_keeps_the_rest() {
        let current = [("from", "2026-06-01"), ("lang", "en"), ("to", "2026-06-30")];
        assert_eq!(
            with_param(current, "lang", "it"),
            "?from=2026-06-01&to=2026-06-30&lang=it"
        );
    }
}
