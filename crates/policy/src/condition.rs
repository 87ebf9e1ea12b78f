//! Condition operators: value parsing and the evaluation of one condition
//! against the request context.
//!
//! Semantics follow the IAM User Guide ("Condition operators",
//! "Single-valued vs. multivalued context keys", "Policy variables"). In
//! order:
//!
//! 1. `Null`: `"true"` holds when the key is absent, `"false"` when present
//!    (a key present with no values counts as absent); several values are
//!    ORed. Nothing below applies to it.
//! 2. A key absent from the request (or present with no values): the set
//!    qualifier decides first, whatever the operator and whether or not it
//!    ends in `IfExists`: `ForAllValues:` is true, `ForAnyValue:` false.
//!    Without a qualifier, `...IfExists` makes it true; otherwise a positive
//!    operator is false and a negated one (`StringNotEquals`, `NotIpAddress`,
//!    `ArnNotLike`, …) true.
//! 3. A key present: `IfExists` changes nothing. The policy values are
//!    parsed for the operator's type; a value that does not parse, and a
//!    value whose policy variable has no value, match no request value (the
//!    other values still count). One request value *passes* a positive
//!    operator when it matches at least one policy value (values are ORed),
//!    and a negated operator when it matches none of them (NOR). So a
//!    negated operator whose policy values all have unresolved variables
//!    holds (AWS's `StringNotEquals` example under "Policy variables with no
//!    value").
//! 4. `ForAnyValue:` holds when at least one request value passes,
//!    `ForAllValues:` when every request value passes (set qualifiers work on
//!    single-valued keys too: the set of the one value).
//! 5. No set qualifier: with exactly one request value, that value must
//!    pass. With several values (a multivalued key, which AWS says requires a
//!    set qualifier) the values are taken as one value that equals no policy
//!    value: a positive operator is false and a negated one true (the negated
//!    operator stays the complement of the positive one, as everywhere else;
//!    see `docs/iam-evaluation.md`, "Readings the docs leave open").
//!
//! Policy variables are expanded only in string and ARN operators' values
//! (2012-10-17 documents).

use std::net::IpAddr;

use base64::Engine as _;
use time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};

use crate::context::ContextValue;
use crate::matcher::{self, Tok};
use crate::model::{BaseOperator, Condition, OperatorFamily, SetQualifier};
use crate::variables;

/// Where condition keys are looked up. Keys are passed lower-cased.
pub(crate) trait KeySource {
    fn values(&self, key_lc: &str) -> Option<&[ContextValue]>;
}

/// A parsed policy-side value.
enum PolicyValue {
    Text(String),
    Glob(Vec<Tok>),
    Number(f64),
    Instant(i128),
    Bool(bool),
    Bytes(Vec<u8>),
    Cidr(IpAddr, u8),
}

/// Evaluates one condition. `vars` says whether policy variables are expanded
/// (2012-10-17 documents).
pub(crate) fn evaluate_condition(cond: &Condition, vars: bool, src: &dyn KeySource) -> bool {
    let op = cond.operator;
    let key = cond.key.to_lowercase();
    let present = src.values(&key).filter(|v| !v.is_empty());

    if op.base == BaseOperator::Null {
        return cond.values.iter().any(|v| match parse_bool(v) {
            Some(true) => present.is_none(),
            Some(false) => present.is_some(),
            None => false,
        });
    }

    let negated = op.base.is_negated();
    let Some(request_values) = present else {
        return match op.qualifier {
            Some(SetQualifier::ForAllValues) => true,
            Some(SetQualifier::ForAnyValue) => false,
            None => op.if_exists || negated,
        };
    };

    let policy_values = policy_values(cond, vars, src);
    let passes = |r: &ContextValue| {
        let hit = policy_values.iter().any(|p| positive_match(op.base, r, p));
        hit != negated
    };
    match op.qualifier {
        Some(SetQualifier::ForAnyValue) => request_values.iter().any(passes),
        Some(SetQualifier::ForAllValues) => request_values.iter().all(passes),
        None => match request_values {
            [one] => passes(one),
            _ => negated,
        },
    }
}

/// Parses the policy values of a condition. Values that cannot match any
/// request value are left out: those that do not parse for the operator's
/// type, and those with a policy variable that has no value.
fn policy_values(cond: &Condition, vars: bool, src: &dyn KeySource) -> Vec<PolicyValue> {
    let base = cond.operator.base;
    let lookup = |k: &str| match src.values(&k.to_lowercase()) {
        Some([v]) => Some(v.to_text()),
        _ => None,
    };
    let mut out = Vec::with_capacity(cond.values.len());
    for v in &cond.values {
        let parsed = match base.family() {
            OperatorFamily::String => variables::expand(v, vars, &lookup).map(|toks| match base {
                BaseOperator::StringLike | BaseOperator::StringNotLike => PolicyValue::Glob(toks),
                _ => PolicyValue::Text(matcher::render(&toks)),
            }),
            OperatorFamily::Arn => variables::expand(v, vars, &lookup).map(PolicyValue::Glob),
            OperatorFamily::Numeric => parse_number(v).map(PolicyValue::Number),
            OperatorFamily::Date => parse_date(v).map(PolicyValue::Instant),
            OperatorFamily::Bool => parse_bool(v).map(PolicyValue::Bool),
            OperatorFamily::Binary => {
                base64::engine::general_purpose::STANDARD.decode(v.trim()).ok().map(PolicyValue::Bytes)
            }
            OperatorFamily::Ip => parse_cidr(v).map(|(ip, len)| PolicyValue::Cidr(ip, len)),
            OperatorFamily::Null => None,
        };
        if let Some(p) = parsed {
            out.push(p);
        }
    }
    out
}

/// The non-negated comparison of one request value with one policy value.
fn positive_match(base: BaseOperator, r: &ContextValue, p: &PolicyValue) -> bool {
    use BaseOperator as B;
    match (base, p) {
        (B::StringEquals | B::StringNotEquals, PolicyValue::Text(t)) => r.to_text() == *t,
        (B::StringEqualsIgnoreCase | B::StringNotEqualsIgnoreCase, PolicyValue::Text(t)) => {
            r.to_text().to_lowercase() == t.to_lowercase()
        }
        (B::StringLike | B::StringNotLike, PolicyValue::Glob(g)) => matcher::match_tokens(g, &r.to_text()),
        (B::ArnEquals | B::ArnLike | B::ArnNotEquals | B::ArnNotLike, PolicyValue::Glob(g)) => {
            matcher::arn_condition_match(g, &r.to_text())
        }
        (_, PolicyValue::Number(p)) => {
            let Some(n) = request_number(r) else {
                return false;
            };
            match base {
                B::NumericEquals | B::NumericNotEquals => n == *p,
                B::NumericLessThan => n < *p,
                B::NumericLessThanEquals => n <= *p,
                B::NumericGreaterThan => n > *p,
                B::NumericGreaterThanEquals => n >= *p,
                _ => false,
            }
        }
        (_, PolicyValue::Instant(p)) => {
            let Some(n) = request_instant(r) else {
                return false;
            };
            match base {
                B::DateEquals | B::DateNotEquals => n == *p,
                B::DateLessThan => n < *p,
                B::DateLessThanEquals => n <= *p,
                B::DateGreaterThan => n > *p,
                B::DateGreaterThanEquals => n >= *p,
                _ => false,
            }
        }
        (B::Bool, PolicyValue::Bool(p)) => request_bool(r) == Some(*p),
        (B::BinaryEquals, PolicyValue::Bytes(p)) => request_bytes(r).as_deref() == Some(p.as_slice()),
        (B::IpAddress | B::NotIpAddress, PolicyValue::Cidr(net, len)) => {
            request_ip(r).is_some_and(|ip| cidr_contains(*net, *len, ip))
        }
        _ => false,
    }
}

fn request_number(r: &ContextValue) -> Option<f64> {
    match r {
        ContextValue::Number(n) if n.is_finite() => Some(*n),
        ContextValue::String(s) => parse_number(s),
        _ => None,
    }
}

fn request_instant(r: &ContextValue) -> Option<i128> {
    match r {
        ContextValue::Date(d) => Some(d.unix_timestamp_nanos()),
        ContextValue::Number(n) if n.is_finite() && n.abs() < 1e15 => Some((*n * 1e9) as i128),
        ContextValue::String(s) => parse_date(s),
        _ => None,
    }
}

fn request_bool(r: &ContextValue) -> Option<bool> {
    match r {
        ContextValue::Bool(b) => Some(*b),
        ContextValue::String(s) => parse_bool(s),
        _ => None,
    }
}

fn request_bytes(r: &ContextValue) -> Option<Vec<u8>> {
    match r {
        ContextValue::Binary(b) => Some(b.clone()),
        ContextValue::String(s) => {
            Some(base64::engine::general_purpose::STANDARD.decode(s.trim()).unwrap_or_else(|_| s.as_bytes().to_vec()))
        }
        _ => None,
    }
}

fn request_ip(r: &ContextValue) -> Option<IpAddr> {
    match r {
        ContextValue::Ip(ip) => Some(*ip),
        ContextValue::String(s) => parse_cidr(s).map(|(ip, _)| ip),
        _ => None,
    }
}

/// `"true"` / `"false"`, case-insensitive.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// A decimal number (integer or fraction, optional exponent); no `inf`/`NaN`.
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e' | 'E')) {
        return None;
    }
    s.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Parses an IP address or CIDR block (`203.0.113.0/24`, `2001:DB8::/32`,
/// `10.1.2.3`). Host bits may be set; they are ignored when matching.
pub(crate) fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let s = s.trim();
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let ip: IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = match len {
        Some(l) if !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()) && l.len() <= 3 => l.parse::<u8>().ok()?,
        Some(_) => return None,
        None => max,
    };
    if len > max {
        return None;
    }
    Some((ip, len))
}

/// Whether `ip` is inside `net/len` (IPv4-mapped IPv6 request addresses match
/// IPv4 blocks).
pub(crate) fn cidr_contains(net: IpAddr, len: u8, ip: IpAddr) -> bool {
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(u32::from(n) as u128, u32::from(a) as u128, len, 32),
        (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(u128::from(n), u128::from(a), len, 128),
        (IpAddr::V4(n), IpAddr::V6(a)) => match a.to_ipv4_mapped() {
            Some(a) => prefix_eq(u32::from(n) as u128, u32::from(a) as u128, len, 32),
            None => false,
        },
        (IpAddr::V6(_), IpAddr::V4(_)) => false,
    }
}

fn prefix_eq(a: u128, b: u128, len: u8, bits: u8) -> bool {
    if len == 0 {
        return true;
    }
    let shift = u32::from(bits.saturating_sub(len.min(bits)));
    (a >> shift) == (b >> shift)
}

/// Parses a date condition value to nanoseconds since the Unix epoch.
///
/// Accepts epoch seconds (`1577836800`) and ISO 8601 forms:
/// `2020`, `2020-01`, `2020-01-15`, `2020-01-15T10`, `2020-01-15T10:30`,
/// `2020-01-15T10:30:00`, with optional fraction, `Z` or `±hh[:mm]` offset
/// (no offset means UTC); `T` and `Z` case-insensitive.
pub fn parse_date(s: &str) -> Option<i128> {
    let s = s.trim();
    if s.is_empty() || !s.is_ascii() {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    if !lower.contains('t') && !lower.contains('-') {
        if !lower.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let secs: i64 = lower.parse().ok()?;
        return Some(i128::from(secs) * 1_000_000_000);
    }
    let (date_part, time_part) = match lower.split_once('t') {
        Some((d, t)) => (d, Some(t)),
        None => (lower.as_str(), None),
    };
    let (negative, date_digits) = match date_part.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, date_part),
    };
    let fields: Vec<&str> = date_digits.split('-').collect();
    if fields.is_empty() || fields.len() > 3 {
        return None;
    }
    let mut year: i32 = digits(fields[0], 1, 9)?.try_into().ok()?;
    if negative {
        year = -year;
    }
    let month = match fields.get(1) {
        Some(m) => digits(m, 1, 2)?,
        None => 1,
    };
    let day = match fields.get(2) {
        Some(d) => digits(d, 1, 2)?,
        None => 1,
    };
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date = Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()?;

    let (mut hour, mut minute, mut second, mut nanos) = (0u32, 0u32, 0u32, 0u32);
    let mut offset_secs: i32 = 0;
    if let Some(t) = time_part {
        let (clock, zone) = split_zone(t)?;
        if let Some(z) = zone {
            offset_secs = z;
        }
        let parts: Vec<&str> = clock.split(':').collect();
        if parts.is_empty() || parts.len() > 3 || parts[0].is_empty() {
            return None;
        }
        hour = digits(parts[0], 1, 2)?;
        if let Some(m) = parts.get(1) {
            minute = digits(m, 1, 2)?;
        }
        if let Some(sec) = parts.get(2) {
            let (whole, frac) = match sec.split_once('.') {
                Some((w, f)) => (w, Some(f)),
                None => (*sec, None),
            };
            second = digits(whole, 1, 2)?;
            if let Some(f) = frac {
                if f.is_empty() || f.len() > 9 || !f.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let padded = format!("{f:0<9}");
                nanos = padded.parse().ok()?;
            }
        }
    }
    let time =
        Time::from_hms_nano(u8::try_from(hour).ok()?, u8::try_from(minute).ok()?, u8::try_from(second).ok()?, nanos)
            .ok()?;
    let offset = UtcOffset::from_whole_seconds(offset_secs).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset).unix_timestamp_nanos())
}

/// Splits `10:30:00+02:00` / `10:30z` into the clock and the offset in seconds.
fn split_zone(t: &str) -> Option<(&str, Option<i32>)> {
    if let Some(clock) = t.strip_suffix('z') {
        return Some((clock, Some(0)));
    }
    if let Some(pos) = t.find(['+', '-']) {
        let (clock, zone) = t.split_at(pos);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let zone = &zone[1..];
        let (h, m) = match zone.split_once(':') {
            Some((h, m)) => (h, Some(m)),
            None if zone.len() == 4 => (&zone[..2], Some(&zone[2..])),
            None => (zone, None),
        };
        if h.len() != 2 {
            return None;
        }
        let h = digits(h, 2, 2)?;
        let m = match m {
            Some(m) if m.len() == 2 => digits(m, 2, 2)?,
            Some(_) => return None,
            None => 0,
        };
        if h > 23 || m > 59 {
            return None;
        }
        let secs = i32::try_from(h * 3600 + m * 60).ok()?;
        return Some((clock, Some(sign * secs)));
    }
    Some((t, None))
}

/// Parses `min..=max` ASCII digits.
fn digits(s: &str, min: usize, max: usize) -> Option<u32> {
    if s.len() < min || s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("60"), Some(60_000_000_000));
        assert_eq!(parse_date("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_date("1970-01-01T00:00:00.5Z"), Some(500_000_000));
        assert_eq!(parse_date("2020-01-01T00:00Z"), parse_date("2020-01-01"));
        assert!(parse_date("sdfdsf").is_none());
        assert!(parse_date("234-13").is_none());
        assert!(parse_date("2016-12-13t2:00:00.593194+1").is_none());
        assert!(parse_date("9223372036854775808").is_none());
        assert!(parse_date("2020-02-30").is_none());
    }

    #[test]
    fn cidrs() {
        let (n, l) = parse_cidr("203.0.113.0/24").unwrap();
        assert!(cidr_contains(n, l, "203.0.113.77".parse().unwrap()));
        assert!(!cidr_contains(n, l, "203.0.114.1".parse().unwrap()));
        let (n, l) = parse_cidr("2001:DB8:1234:5678::/64").unwrap();
        assert!(cidr_contains(n, l, "2001:db8:1234:5678::1".parse().unwrap()));
        assert!(!cidr_contains(n, l, "203.0.113.1".parse().unwrap()));
        let (n, l) = parse_cidr("0.0.0.0/0").unwrap();
        assert!(cidr_contains(n, l, "8.8.8.8".parse().unwrap()));
        assert!(parse_cidr("10.0.0.0/33").is_none());
        assert!(parse_cidr("nope").is_none());
    }
}
