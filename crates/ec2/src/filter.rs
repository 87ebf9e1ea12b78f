//! EC2's `Filter.N.Name` / `Filter.N.Value.M`: a resource matches when,
//! for every filter, one of its values for that name matches one of the
//! filter's values. Values may use `*` (any run) and `?` (one character);
//! `\` escapes either.

use crate::{Ec2Error, Tag};

/// One filter as the caller sent it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    pub name: String,
    pub values: Vec<String>,
}

impl Filter {
    #[must_use]
    pub fn new(name: &str, values: &[&str]) -> Self {
        Filter { name: name.to_owned(), values: values.iter().map(|v| (*v).to_owned()).collect() }
    }
}

/// Reject a filter whose name is not in `known` (tag filters are always known).
pub(crate) fn check(filters: &[Filter], known: &[&str]) -> Result<(), Ec2Error> {
    for f in filters {
        let tag =
            f.name == "tag-key" || f.name == "tag-value" || f.name.strip_prefix("tag:").is_some_and(|k| !k.is_empty());
        if !tag && !known.contains(&f.name.as_str()) {
            return Err(Ec2Error::invalid(format!("The filter '{}' is invalid", f.name)));
        }
    }
    Ok(())
}

/// Whether a resource with `tags` matches every filter; `field` gives the
/// resource's values for a (non-tag) filter name.
pub(crate) fn matches(filters: &[Filter], tags: &[Tag], field: impl Fn(&str) -> Vec<String>) -> bool {
    filters.iter().all(|f| {
        let have: Vec<String> = if let Some(key) = f.name.strip_prefix("tag:") {
            tags.iter().filter(|t| t.key == key).map(|t| t.value.clone()).collect()
        } else if f.name == "tag-key" {
            tags.iter().map(|t| t.key.clone()).collect()
        } else if f.name == "tag-value" {
            tags.iter().map(|t| t.value.clone()).collect()
        } else {
            field(&f.name)
        };
        f.values.iter().any(|pattern| have.iter().any(|v| wildcard(pattern, v)))
    })
}

enum Tok {
    Lit(char),
    One,
    Any,
}

fn tokens(pattern: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        out.push(match c {
            '*' => Tok::Any,
            '?' => Tok::One,
            '\\' => Tok::Lit(chars.next().unwrap_or('\\')),
            c => Tok::Lit(c),
        });
    }
    out
}

/// EC2 wildcard match, iterative with single-star backtracking (linear-ish, no recursion).
pub(crate) fn wildcard(pattern: &str, value: &str) -> bool {
    let p = tokens(pattern);
    let v: Vec<char> = value.chars().collect();
    let (mut pi, mut vi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while vi < v.len() {
        match p.get(pi) {
            Some(Tok::Any) => {
                star = Some((pi, vi));
                pi += 1;
            }
            Some(Tok::One) => {
                pi += 1;
                vi += 1;
            }
            Some(Tok::Lit(c)) if v.get(vi) == Some(c) => {
                pi += 1;
                vi += 1;
            }
            _ => match star {
                Some((sp, sv)) => {
                    pi = sp + 1;
                    vi = sv + 1;
                    star = Some((sp, sv + 1));
                }
                None => return false,
            },
        }
    }
    p[pi.min(p.len())..].iter().all(|t| matches!(t, Tok::Any))
}

/// A field with one value.
pub(crate) fn one(v: &str) -> Vec<String> {
    vec![v.to_owned()]
}

pub(crate) fn bool_str(b: bool) -> String {
    if b { "true" } else { "false" }.to_owned()
}

#[cfg(test)]
mod tests {
    use super::wildcard;

    #[test]
    fn wildcards() {
        let cases = [
            ("vpc-*", "vpc-0123", true),
            ("vpc-*", "subnet-1", false),
            ("*", "", true),
            ("", "", true),
            ("", "a", false),
            ("us-east-1?", "us-east-1a", true),
            ("us-east-1?", "us-east-1", false),
            ("*-1*", "us-east-1b", true),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
            ("\\*", "*", true),
            ("\\*", "x", false),
            ("DAX-*-default", "DAX-abc-default", true),
            ("d?x", "dax", true),
            ("exact", "Exact", false),
        ];
        for (p, v, want) in cases {
            assert_eq!(wildcard(p, v), want, "{p} ~ {v}");
        }
    }
}
