//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod aws_oracle;

use sigv4::Request;

/// An owned HTTP request, parsed from the raw text format used by AWS's
/// signing test suite.
#[derive(Debug, Clone)]
pub struct OwnedRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl OwnedRequest {
    /// Calls `f` with a borrowed [`Request`] view of this request.
    pub fn with<R>(&self, f: impl FnOnce(&Request) -> R) -> R {
        let headers: Vec<(&str, &[u8])> = self.headers.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
        let req =
            Request { method: &self.method, path: &self.path, query: &self.query, headers: &headers, body: &self.body };
        f(&req)
    }

    /// Parses `METHOD target [HTTP/1.1]`, `Name:value` header lines (lines
    /// starting with whitespace continue the previous value, kept with their
    /// line break as obsolete line folding), a blank line, then the body.
    /// The target may contain raw spaces, as in the suite.
    pub fn parse_suite_text(text: &str) -> OwnedRequest {
        let (head, body) = match text.find("\n\n") {
            Some(i) => (&text[..i], &text[i + 2..]),
            None => (text, ""),
        };
        let mut lines = head.split('\n');
        let request_line = lines.next().expect("request line");
        let (method, mut target) = request_line.split_once(' ').expect("method");
        if let Some((t, version)) = target.rsplit_once(' ') {
            if version.starts_with("HTTP/") {
                target = t;
            }
        }
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
        for line in lines.filter(|l| !l.is_empty()) {
            if line.starts_with(' ') || line.starts_with('\t') {
                let last = headers.last_mut().expect("continuation without header");
                last.1.push(b'\n');
                last.1.extend_from_slice(line.as_bytes());
                continue;
            }
            let (name, value) = line.split_once(':').expect("header colon");
            headers.push((name.to_owned(), value.trim_matches([' ', '\t']).as_bytes().to_vec()));
        }
        OwnedRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
            headers,
            body: body.as_bytes().to_vec(),
        }
    }
}

pub const SUITE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// 2015-08-30T12:36:00Z, the suite's signing time.
pub fn suite_time() -> time::OffsetDateTime {
    time::macros::datetime!(2015-08-30 12:36:00 UTC)
}
