//! DAX's `MaxResults` / `NextToken` rules over the shared walk of
//! [`base::page`]: 20 to 100 items a page, and a token that is the hex
//! spelling of the sort key of the first item of the next page.

use base::page::TokenForm;

use crate::{DaxError, Page, Paging};

/// What AWS documents for every DAX `MaxResults`.
pub const MAX_RESULTS: std::ops::RangeInclusive<i64> = 20..=100;
const DEFAULT_MAX_RESULTS: usize = 100;

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
    base::page::paginate(items, paging.next_token.as_deref(), TokenForm::Hex, max)
        .map_err(|_| DaxError::InvalidParameterValueException("Invalid NextToken.".to_owned()))
}
