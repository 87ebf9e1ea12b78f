//! Query strings and form bodies (`application/x-www-form-urlencoded`):
//! parsing that never fails (bad bytes become U+FFFD) and encoding.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Most fields kept from one form or query (more are ignored).
pub const MAX_FIELDS: usize = 2000;

/// Characters left as they are in an encoded component.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Parse `a=1&b=2` pairs, in order, keeping at most [`MAX_FIELDS`].
#[must_use]
pub fn parse(bytes: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(bytes).take(MAX_FIELDS).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// The first value of `key`.
#[must_use]
pub fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Every value of `key` (checkbox groups, repeated fields).
#[must_use]
pub fn all<'a>(pairs: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
}

/// Percent-encode one path segment or query value.
#[must_use]
pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

/// Decode one path segment.
#[must_use]
pub fn decode_component(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// `?k=v&...` of the non-empty pairs (empty string when none).
#[must_use]
pub fn query(pairs: &[(&str, &str)]) -> String {
    let parts: Vec<String> =
        pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_get_all_and_encode() {
        let p = parse(b"a=1&b=x+y&a=2&c=%E2%98%83&bad=%ZZ&=e&f");
        assert_eq!(get(&p, "a"), Some("1"));
        assert_eq!(all(&p, "a"), vec!["1", "2"]);
        assert_eq!(get(&p, "b"), Some("x y"));
        assert_eq!(get(&p, "c"), Some("\u{2603}"));
        assert_eq!(get(&p, "bad"), Some("%ZZ"));
        assert_eq!(get(&p, "f"), Some(""));
        assert_eq!(get(&p, "zz"), None);
        assert_eq!(encode("a b/c?d&e=f\u{2603}"), "a%20b%2Fc%3Fd%26e%3Df%E2%98%83");
        assert_eq!(decode_component("a%20b%2F"), "a b/");
        assert_eq!(query(&[("region", "eu-west-1"), ("next", ""), ("q", "a&b")]), "?region=eu-west-1&q=a%26b");
        assert_eq!(query(&[("x", "")]), "");
        assert_eq!(parse(&b"a=1&".repeat(5000)).len(), MAX_FIELDS);
    }
}
