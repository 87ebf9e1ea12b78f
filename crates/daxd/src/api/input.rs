//! Reading an operation's input. Inputs have already been validated against
//! the model (required members present, types right), so these accessors
//! only pick values out.

use serde_json::Value;

/// An operation's input value.
#[derive(Clone, Copy)]
pub struct In<'a>(pub &'a Value);

impl In<'_> {
    /// A required string member (empty if absent, which validation prevents).
    pub fn s(&self, key: &str) -> String {
        self.o(key).unwrap_or_default()
    }

    /// An optional string member.
    pub fn o(&self, key: &str) -> Option<String> {
        self.0.get(key).and_then(Value::as_str).map(str::to_owned)
    }

    pub fn u32(&self, key: &str) -> Option<u32> {
        self.0.get(key).and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok())
    }

    pub fn usize(&self, key: &str) -> Option<usize> {
        self.0.get(key).and_then(Value::as_u64).and_then(|n| usize::try_from(n).ok())
    }

    pub fn bool(&self, key: &str) -> Option<bool> {
        self.0.get(key).and_then(Value::as_bool)
    }

    /// A list of strings (empty if absent).
    pub fn list(&self, key: &str) -> Vec<String> {
        self.0
            .get(key)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// A list of structures (empty if absent).
    pub fn items(&self, key: &str) -> Vec<Value> {
        self.0.get(key).and_then(Value::as_array).cloned().unwrap_or_default()
    }

    /// `[{Key, Value}]` tags.
    pub fn tags(&self, key: &str) -> Vec<iam::Tag> {
        self.items(key)
            .iter()
            .map(|t| iam::Tag {
                key: t.get("Key").and_then(Value::as_str).unwrap_or_default().to_owned(),
                value: t.get("Value").and_then(Value::as_str).unwrap_or_default().to_owned(),
            })
            .collect()
    }
}

/// One page of a listing daxd holds whole, for `Marker` and `MaxItems`
/// (default 100): the page, and the marker of the next one (the index of its
/// first item). `None` for a marker this listing never gave.
#[must_use]
pub fn page(
    items: Vec<Value>,
    marker: Option<String>,
    max_items: Option<usize>,
) -> Option<(Vec<Value>, Option<String>)> {
    let start = match marker {
        Some(m) => m.parse::<usize>().ok().filter(|n| *n <= items.len())?,
        None => 0,
    };
    let end = start.saturating_add(max_items.unwrap_or(100).max(1)).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    Some((items[start..end].to_vec(), next))
}
