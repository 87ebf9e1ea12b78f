//! IAM-style pagination: `Marker` / `MaxItems` in, `IsTruncated` / `Marker` out.

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

/// Page through `(sort key, item)` pairs given in key order. The marker is
/// the sort key of the first item of the next page.
pub(crate) fn paginate<'a, T>(
    items: impl Iterator<Item = (&'a str, T)>,
    marker: Option<&str>,
    max_items: Option<usize>,
) -> Result<Page<T>, IamError> {
    let max = max_items.unwrap_or(100).max(1);
    let mut out = Vec::new();
    let mut next = None;
    for (key, item) in items {
        if marker.is_some_and(|m| key < m) {
            continue;
        }
        if out.len() == max {
            next = Some(key.to_owned());
            break;
        }
        out.push(item);
    }
    if marker.is_some_and(str::is_empty) {
        return Err(IamError::InvalidInput("Invalid Marker.".to_owned()));
    }
    Ok(Page { items: out, marker: next })
}
