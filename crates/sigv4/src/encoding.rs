//! URI and query-string canonicalisation.

use percent_encoding::{percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything except RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`).
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// As [`UNRESERVED`], but keeps `/` as the path separator.
const PATH: &AsciiSet = &UNRESERVED.remove(b'/');

/// RFC 3986 encoding of arbitrary bytes (uppercase hex).
pub(crate) fn uri_encode(bytes: &[u8]) -> String {
    percent_encode(bytes, UNRESERVED).to_string()
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes a query-string component: `+` is a space, `%XX` a byte, and a
/// `%` not followed by two hex digits is kept literally.
pub(crate) fn query_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => match (b.get(i + 1).copied().and_then(hex_val), b.get(i + 2).copied().and_then(hex_val)) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    out
}

/// Splits a raw query string into decoded `(name, value)` pairs, skipping
/// empty components (`a=1&&b=2`). A component without `=` has an empty value.
pub(crate) fn query_pairs(query: &str) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        (query_decode(k), query_decode(v))
    })
}

/// The canonical query string: every parameter decoded and re-encoded per
/// RFC 3986, sorted by encoded name then encoded value, joined with `&`.
/// With `skip_signature`, `X-Amz-Signature` parameters are left out
/// (presigned URLs).
pub(crate) fn canonical_query(query: &str, skip_signature: bool) -> String {
    let mut pairs: Vec<(String, String)> = query_pairs(query)
        .filter(|(k, _)| !(skip_signature && k.as_slice() == b"X-Amz-Signature"))
        .map(|(k, v)| (uri_encode(&k), uri_encode(&v)))
        .collect();
    pairs.sort_unstable();
    let mut out = String::with_capacity(query.len() + 16);
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// Removes empty and `.` segments and resolves `..` (RFC 3986 section 5.2.4,
/// plus collapsing of repeated slashes, as AWS does for non-S3 services). The
/// result is absolute and keeps a trailing slash if the input had one.
pub(crate) fn normalize_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    for segment in &segments {
        out.push('/');
        out.push_str(segment);
    }
    let trailing_slash = path.ends_with('/') || path.ends_with("/.") || path.ends_with("/..");
    if out.is_empty() || trailing_slash {
        out.push('/');
    }
    out
}

/// The canonical URI.
///
/// * `normalize = true` (every service except S3): normalise the raw path,
///   then percent-encode it again, so an escape sent as `%3D` becomes `%253D`.
/// * `normalize = false` (S3): take the path as sent, only encoding bytes that
///   are neither unreserved, `/`, nor part of an existing `%XX` escape.
pub(crate) fn canonical_uri(path: &str, normalize: bool) -> String {
    if normalize {
        return percent_encode(normalize_path(path).as_bytes(), PATH).to_string();
    }
    if path.is_empty() {
        return "/".to_owned();
    }
    let b = path.as_bytes();
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let is_escape = c == b'%'
            && b.get(i + 1).copied().and_then(hex_val).is_some()
            && b.get(i + 2).copied().and_then(hex_val).is_some();
        if is_escape {
            // Three ASCII bytes, checked above.
            out.push('%');
            out.push(char::from(b[i + 1]));
            out.push(char::from(b[i + 2]));
            i += 3;
        } else {
            out.extend(percent_encode(&b[i..=i], PATH));
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation() {
        for (input, want) in [
            ("", "/"),
            ("/", "/"),
            ("//", "/"),
            ("/./", "/"),
            ("/example/..", "/"),
            ("/example1/example2/../..", "/"),
            ("/./example", "/example"),
            ("//example//", "/example/"),
            ("/a/b/..", "/a/"),
            ("/a/b/.", "/a/b/"),
            ("/../a", "/a"),
            ("a/b", "/a/b"),
            ("/a%2Fb/c", "/a%2Fb/c"),
        ] {
            assert_eq!(normalize_path(input), want, "{input:?}");
        }
    }

    #[test]
    fn uri_double_and_single() {
        assert_eq!(canonical_uri("/a%3Db c", true), "/a%253Db%20c");
        assert_eq!(canonical_uri("/a%3Db c", false), "/a%3Db%20c");
        assert_eq!(canonical_uri("/a%zz", false), "/a%25zz");
        assert_eq!(canonical_uri("", false), "/");
        assert_eq!(canonical_uri("/\u{1234}", true), "/%E1%88%B4");
    }

    #[test]
    fn query() {
        assert_eq!(canonical_query("", false), "");
        assert_eq!(canonical_query("b=2&a=1&a=0&c&&d=x+y%20z%zz", false), "a=0&a=1&b=2&c=&d=x%20y%20z%25zz");
        assert_eq!(canonical_query("X-Amz-Signature=abc&X-Amz-Date=1", true), "X-Amz-Date=1");
        assert_eq!(canonical_query("%FF=%00", false), "%FF=%00");
    }
}
