//! `MaxResults` / `NextToken` pagination. A token is the hex spelling of the
//! sort key of the first item of the next page, so it stays valid while
//! items come and go.

use crate::{DaxError, Page, Paging};

/// What AWS documents for every DAX `MaxResults`.
pub const MAX_RESULTS: std::ops::RangeInclusive<i64> = 20..=100;
const DEFAULT_MAX_RESULTS: usize = 100;

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<String> {
    let nibble = |b: u8| char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok());
    let bytes: Option<Vec<u8>> = s
        .as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [hi, lo] => Some(nibble(*hi)? << 4 | nibble(*lo)?),
            _ => None,
        })
        .collect();
    String::from_utf8(bytes?).ok()
}

/// Check `MaxResults`: absent means 100.
///
/// # Errors
/// `InvalidParameterValueException` outside 20–100.
pub fn max_results(max: Option<i64>) -> Result<usize, DaxError> {
    match max {
        None => Ok(DEFAULT_MAX_RESULTS),
        Some(m) if MAX_RESULTS.contains(&m) => Ok(usize::try_from(m).unwrap_or(DEFAULT_MAX_RESULTS)),
        Some(m) => Err(DaxError::InvalidParameterValueException(format!(
            "The value for MaxResults must be between 20 and 100 (got {m})."
        ))),
    }
}

/// Page through `(sort key, item)` pairs given in ascending key order.
///
/// # Errors
/// `InvalidParameterValueException` for a bad `MaxResults` or a token this
/// service did not hand out.
pub fn paginate<T>(items: impl IntoIterator<Item = (String, T)>, paging: &Paging) -> Result<Page<T>, DaxError> {
    let max = max_results(paging.max_results)?;
    let from = match paging.next_token.as_deref() {
        None => None,
        Some(t) => {
            Some(unhex(t).ok_or_else(|| DaxError::InvalidParameterValueException("Invalid NextToken.".to_owned()))?)
        }
    };
    let mut out = Vec::new();
    let mut next_token = None;
    for (key, item) in items {
        if from.as_deref().is_some_and(|f| key.as_str() < f) {
            continue;
        }
        if out.len() == max {
            next_token = Some(hex(&key));
            break;
        }
        out.push(item);
    }
    Ok(Page { items: out, next_token })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        assert_eq!(unhex(&hex("us-east-1/a-b")).as_deref(), Some("us-east-1/a-b"));
        for bad in ["x", "zz", "é1", "ff"] {
            assert_eq!(unhex(bad), None, "{bad}");
        }
    }
}
