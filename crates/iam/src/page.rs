//! IAM-style pagination: `Marker` / `MaxItems` in, `IsTruncated` / `Marker`
//! out, over the shared walk of [`base::page`]. The marker is the sort key of
//! the first item of the next page; `MaxItems` defaults to 100 and is at
//! least 1.

use base::page::TokenForm;

use crate::IamError;

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Present when more items follow; pass it back as `Marker`.
    pub marker: Option<String>,
}

impl<T> Page<T> {
    #[must_use]
    pub fn is_truncated(&self) -> bool {
        self.marker.is_some()
    }
}

/// Page through `(sort key, item)` pairs given in key order.
pub(crate) fn paginate<'a, T>(
    items: impl Iterator<Item = (&'a str, T)>,
    marker: Option<&str>,
    max_items: Option<usize>,
) -> Result<Page<T>, IamError> {
    let max = max_items.unwrap_or(100).max(1);
    let page = base::page::paginate(items, marker, TokenForm::Key, max)
        .map_err(|_| IamError::InvalidInput("Invalid Marker.".to_owned()))?;
    Ok(Page { items: page.items, marker: page.next_token })
}
