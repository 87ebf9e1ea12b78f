//! The request context: condition keys and their values.

use std::collections::BTreeMap;
use std::net::IpAddr;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// One value of a context key.
///
/// Every value can be compared as text (AWS coerces), but typed values avoid
/// a round trip through strings for the common typed keys
/// (`aws:SecureTransport`, `aws:CurrentTime`, `aws:SourceIp`, …).
#[derive(Clone, Debug, PartialEq)]
pub enum ContextValue {
    String(String),
    Bool(bool),
    Number(f64),
    Date(OffsetDateTime),
    Ip(IpAddr),
    Binary(Vec<u8>),
}

impl ContextValue {
    /// The value as AWS would print it in a string comparison.
    pub fn to_text(&self) -> String {
        match self {
            ContextValue::String(s) => s.clone(),
            ContextValue::Bool(b) => b.to_string(),
            ContextValue::Number(n) => n.to_string(),
            ContextValue::Date(d) => d.format(&Rfc3339).unwrap_or_else(|_| d.unix_timestamp().to_string()),
            ContextValue::Ip(ip) => ip.to_string(),
            ContextValue::Binary(b) => {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.encode(b)
            }
        }
    }
}

impl From<&str> for ContextValue {
    fn from(s: &str) -> Self {
        ContextValue::String(s.to_string())
    }
}

impl From<String> for ContextValue {
    fn from(s: String) -> Self {
        ContextValue::String(s)
    }
}

impl From<bool> for ContextValue {
    fn from(b: bool) -> Self {
        ContextValue::Bool(b)
    }
}

impl From<f64> for ContextValue {
    fn from(n: f64) -> Self {
        ContextValue::Number(n)
    }
}

impl From<i64> for ContextValue {
    fn from(n: i64) -> Self {
        ContextValue::Number(n as f64)
    }
}

impl From<IpAddr> for ContextValue {
    fn from(ip: IpAddr) -> Self {
        ContextValue::Ip(ip)
    }
}

impl From<OffsetDateTime> for ContextValue {
    fn from(d: OffsetDateTime) -> Self {
        ContextValue::Date(d)
    }
}

/// Condition keys of a request. Key names are case-insensitive (stored
/// lower-cased); a key maps to one value (single-valued keys) or several
/// (multivalued keys such as `aws:TagKeys` or `dynamodb:LeadingKeys`).
///
/// ```
/// let mut ctx = policy::Context::new();
/// ctx.set("aws:username", "bob")
///     .set_bool("aws:SecureTransport", true)
///     .set_multi("aws:TagKeys", vec!["env", "team"]);
/// assert_eq!(ctx.get("AWS:UserName").map(|v| v.len()), Some(1));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Context {
    values: BTreeMap<String, Vec<ContextValue>>,
}

impl Context {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a single string value, replacing any previous values.
    pub fn set(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.set_values(key, vec![ContextValue::String(value.into())])
    }

    /// Sets several string values (a multivalued key). An empty vector records
    /// the key as present with no values, which conditions treat like a missing
    /// key.
    pub fn set_multi<S: Into<String>>(&mut self, key: &str, values: Vec<S>) -> &mut Self {
        let v = values.into_iter().map(|s| ContextValue::String(s.into())).collect();
        self.set_values(key, v)
    }

    pub fn set_bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.set_values(key, vec![ContextValue::Bool(value)])
    }

    pub fn set_number(&mut self, key: &str, value: f64) -> &mut Self {
        self.set_values(key, vec![ContextValue::Number(value)])
    }

    pub fn set_date(&mut self, key: &str, value: OffsetDateTime) -> &mut Self {
        self.set_values(key, vec![ContextValue::Date(value)])
    }

    pub fn set_ip(&mut self, key: &str, value: IpAddr) -> &mut Self {
        self.set_values(key, vec![ContextValue::Ip(value)])
    }

    pub fn set_binary(&mut self, key: &str, value: Vec<u8>) -> &mut Self {
        self.set_values(key, vec![ContextValue::Binary(value)])
    }

    /// Sets arbitrary typed values.
    pub fn set_values(&mut self, key: &str, values: Vec<ContextValue>) -> &mut Self {
        self.values.insert(key.to_lowercase(), values);
        self
    }

    /// Appends a value to a (possibly new) key.
    pub fn push(&mut self, key: &str, value: impl Into<ContextValue>) -> &mut Self {
        self.values.entry(key.to_lowercase()).or_default().push(value.into());
        self
    }

    pub fn remove(&mut self, key: &str) -> &mut Self {
        self.values.remove(&key.to_lowercase());
        self
    }

    /// The values of a key (case-insensitive lookup).
    pub fn get(&self, key: &str) -> Option<&[ContextValue]> {
        match self.values.get(key) {
            Some(v) => Some(v.as_slice()),
            None => self.values.get(&key.to_lowercase()).map(|v| v.as_slice()),
        }
    }

    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Iterates over (lower-cased key, values).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[ContextValue])> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}
