//! ISO-8601 durations as FIS actions take them (`PT2M`, `PT90S`, `PT1H30M`, `P1D`).

use crate::FisError;

/// Milliseconds of an ISO-8601 duration `P[nD][T[nH][nM][n[.f]S]]` (weeks, months and
/// years are not durations FIS accepts).
///
/// # Errors
/// `ValidationException` for anything else, or a duration past 100 days.
pub fn parse_duration(s: &str) -> Result<u64, FisError> {
    let bad = || FisError::validation(format!("Invalid duration: {s}"));
    let rest = s.strip_prefix('P').ok_or_else(bad)?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return Err(bad()),
        None => (rest, None),
    };
    if date.is_empty() && time.is_none() {
        return Err(bad());
    }
    let mut ms: u64 = 0;
    if !date.is_empty() {
        let days = date.strip_suffix('D').ok_or_else(bad)?;
        ms = whole(days).ok_or_else(bad)?.checked_mul(86_400_000).ok_or_else(bad)?;
    }
    if let Some(mut t) = time {
        for (unit, scale) in [('H', 3_600_000u64), ('M', 60_000)] {
            if let Some(i) = t.find(unit) {
                let n = whole(&t[..i]).ok_or_else(bad)?;
                ms = n.checked_mul(scale).and_then(|x| ms.checked_add(x)).ok_or_else(bad)?;
                t = &t[i + 1..];
            }
        }
        if !t.is_empty() {
            let secs = t.strip_suffix('S').ok_or_else(bad)?;
            let (int, frac) = secs.split_once('.').unwrap_or((secs, ""));
            let n = whole(int).ok_or_else(bad)?;
            if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) || secs.ends_with('.') {
                return Err(bad());
            }
            let frac_ms = format!("{frac:0<3}").parse::<u64>().map_err(|_| bad())?;
            ms = n
                .checked_mul(1000)
                .and_then(|x| x.checked_add(frac_ms))
                .and_then(|x| ms.checked_add(x))
                .ok_or_else(bad)?;
        }
    }
    if ms > 100 * 86_400_000 {
        return Err(bad());
    }
    Ok(ms)
}

fn whole(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for (s, ms) in [
            ("PT2M", 120_000),
            ("PT90S", 90_000),
            ("PT1H30M", 5_400_000),
            ("PT1.5S", 1_500),
            ("P1D", 86_400_000),
            ("P1DT1S", 86_401_000),
            ("PT0S", 0),
            ("PT12H", 43_200_000),
        ] {
            assert_eq!(parse_duration(s).unwrap(), ms, "{s}");
        }
        for s in
            ["", "P", "PT", "2M", "PT2", "PTM", "PT-1M", "P1W", "PT1M2H", "PT1.S", "PT1.2345S", "P1DT", "PT1m", "P101D"]
        {
            let e = parse_duration(s).unwrap_err();
            assert_eq!(e.code, "ValidationException", "{s}");
        }
    }
}
