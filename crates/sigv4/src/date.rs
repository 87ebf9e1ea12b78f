//! Timestamp parsing and formatting, done by hand so that every path is
//! total and strictly validated (no signs, no extra digits, no leap seconds).

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter().try_fold(0u32, |acc, d| acc.checked_mul(10)?.checked_add(u32::from(d - b'0')))
}

fn to_unix(year: u32, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> Option<i64> {
    let year = i32::try_from(year).ok()?;
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date = Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()?;
    let time = Time::from_hms(u8::try_from(hour).ok()?, u8::try_from(minute).ok()?, u8::try_from(second).ok()?).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc().unix_timestamp())
}

/// Parses ISO-8601 basic format `YYYYMMDDTHHMMSSZ` into Unix seconds.
pub(crate) fn parse_iso_basic(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    to_unix(
        digits(&b[0..4])?,
        digits(&b[4..6])?,
        digits(&b[6..8])?,
        digits(&b[9..11])?,
        digits(&b[11..13])?,
        digits(&b[13..15])?,
    )
}

/// Parses an HTTP `Date` header in IMF-fixdate form
/// (`Sun, 06 Nov 1994 08:49:37 GMT`) into Unix seconds. The weekday is not
/// cross-checked.
pub(crate) fn parse_http_date(s: &str) -> Option<i64> {
    let mut parts = s.split_ascii_whitespace();
    let weekday = parts.next()?;
    if !weekday.ends_with(',') {
        return None;
    }
    let day = parts.next()?;
    let month = parts.next()?;
    let year = parts.next()?;
    let clock = parts.next()?;
    if parts.next()? != "GMT" || parts.next().is_some() {
        return None;
    }
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month = MONTHS.iter().position(|m| *m == month)?;
    let month = u32::try_from(month).ok()? + 1;
    if day.len() != 2 || year.len() != 4 {
        return None;
    }
    let clock = clock.as_bytes();
    if clock.len() != 8 || clock[2] != b':' || clock[5] != b':' {
        return None;
    }
    to_unix(
        digits(year.as_bytes())?,
        month,
        digits(day.as_bytes())?,
        digits(&clock[0..2])?,
        digits(&clock[3..5])?,
        digits(&clock[6..8])?,
    )
}

/// Formats Unix seconds as ISO-8601 basic format. Timestamps outside the
/// representable range are clamped to it.
pub(crate) fn format_iso_basic(unix: i64) -> String {
    let dt = OffsetDateTime::from_unix_timestamp(unix).unwrap_or(if unix < 0 {
        OffsetDateTime::new_utc(Date::MIN, Time::MIDNIGHT)
    } else {
        OffsetDateTime::new_utc(Date::MAX, Time::MIDNIGHT)
    });
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    )
}

/// Unix seconds of an `OffsetDateTime`, whatever its offset.
pub(crate) fn unix(now: OffsetDateTime) -> i64 {
    now.unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trip() {
        let t = parse_iso_basic("20150830T123600Z").unwrap();
        assert_eq!(t, 1_440_938_160);
        assert_eq!(format_iso_basic(t), "20150830T123600Z");
    }

    #[test]
    fn iso_rejects_garbage() {
        for bad in [
            "",
            "20150830T123600",
            "20150830T123600z",
            "2015-08-30T12:36:00Z",
            "20151330T123600Z",
            "20150230T123600Z",
            "20150830T246000Z",
            "+0150830T123600Z",
            "2015083OT123600Z",
            "20150830T123660Z",
            "２015083T123600Z",
        ] {
            assert_eq!(parse_iso_basic(bad), None, "{bad}");
        }
    }

    #[test]
    fn http_date() {
        assert_eq!(parse_http_date("Sun, 30 Aug 2015 12:36:00 GMT"), parse_iso_basic("20150830T123600Z"));
        assert_eq!(parse_http_date("Sun, 30 Aug 2015 12:36:00 UTC"), None);
        assert_eq!(parse_http_date("Sun, 30 Foo 2015 12:36:00 GMT"), None);
        assert_eq!(parse_http_date("30 Aug 2015 12:36:00 GMT"), None);
        assert_eq!(parse_http_date("Sun, 30 Aug 2015 12:36:00 GMT x"), None);
    }

    #[test]
    fn format_extremes_do_not_panic() {
        format_iso_basic(i64::MAX);
        format_iso_basic(i64::MIN);
    }
}
