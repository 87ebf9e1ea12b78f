//! Timestamps travel through handlers as epoch seconds (JSON numbers); the
//! XML protocols print them as ISO 8601.

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// ISO 8601 in UTC with a `Z`, whole seconds unless the value has a fraction,
/// which is given to the nearest millisecond (AWS's precision): epoch seconds
/// such as `1.512` are not exact in binary, and truncating would print `.511`
/// where the JSON protocols print `1.512`.
#[must_use]
pub fn iso8601(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => {
            let secs = n.as_f64().unwrap_or_default();
            #[allow(clippy::cast_possible_truncation)]
            let millis = (secs * 1e3).round() as i128;
            OffsetDateTime::from_unix_timestamp_nanos(millis * 1_000_000)
                .ok()
                .and_then(|t| t.format(&Rfc3339).ok())
                .unwrap_or_default()
        }
        _ => String::new(),
    }
}

/// Parse an ISO 8601 / RFC 3339 text or epoch seconds into epoch seconds.
#[must_use]
pub fn parse(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            if let Ok(n) = s.parse::<f64>() {
                return Some(n);
            }
            let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
            #[allow(clippy::cast_precision_loss)]
            Some(t.unix_timestamp_nanos() as f64 / 1e9)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn formats() {
        assert_eq!(iso8601(&json!(1_555_533_254)), "2019-04-17T20:34:14Z");
        assert_eq!(iso8601(&json!(1_555_533_254.5)), "2019-04-17T20:34:14.5Z");
        assert_eq!(iso8601(&json!(1_796_659_485.512)), "2026-12-07T16:04:45.512Z");
        assert_eq!(iso8601(&json!(1_555_533_254.000_4)), "2019-04-17T20:34:14Z");
        assert_eq!(parse(&json!("2019-04-17T20:34:14Z")), Some(1_555_533_254.0));
    }
}
