//! Policy variables: `${aws:username}`, `${aws:PrincipalTag/team}`,
//! `${key, 'default'}` and the `${*}`, `${?}`, `${$}` escapes.
//!
//! Variables are expanded only in 2012-10-17 documents, only in `Resource` /
//! `NotResource` entries (and there only after the ARN's fifth colon, see
//! [`expand_resource`]) and in the values of string and ARN condition
//! operators (as AWS documents). Substituted text is always literal: a `*`
//! inside a user name or tag value is not a wildcard.
//!
//! A variable whose key has no value (absent, or multivalued) and no default
//! makes the one string it appears in unresolvable ([`expand`] returns
//! `None`). Callers treat such a string as matching nothing (IAM User Guide,
//! "Policy variables with no value"): a `Resource` / `NotResource` entry that
//! matches no resource, a condition value that equals no request value. The
//! other entries and values of the same element are unaffected.

use crate::context::Context;
use crate::matcher::{self, Tok};

/// Expands a policy string into wildcard tokens.
///
/// * `enabled == false` (2008-10-17 / no `Version`): `${...}` is literal text.
/// * A variable whose key has no single value (and no default) makes this
///   string unresolvable: `None`. The caller treats it as matching nothing;
///   it does not affect the other entries or values of the element.
/// * `lookup` receives the key name as written (callers compare case-insensitively).
pub fn expand(template: &str, enabled: bool, lookup: &dyn Fn(&str) -> Option<String>) -> Option<Vec<Tok>> {
    if !enabled || !template.contains("${") {
        return Some(matcher::compile(template));
    }
    let chars: Vec<char> = template.chars().collect();
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0usize;
    while i < chars.len() {
        let c = chars[i];
        if c == '$' && chars.get(i + 1) == Some(&'{') {
            if let Some(rel) = chars[i + 2..].iter().position(|&c| c == '}') {
                let j = i + 2 + rel;
                let inner: String = chars[i + 2..j].iter().collect();
                match inner.as_str() {
                    "*" => out.push(Tok::Lit('*')),
                    "?" => out.push(Tok::Lit('?')),
                    "$" => out.push(Tok::Lit('$')),
                    _ => {
                        let (key, default) = split_default(&inner);
                        let value = lookup(key).or(default)?;
                        out.extend(value.chars().map(Tok::Lit));
                    }
                }
                i = j + 1;
                continue;
            }
        }
        out.push(match c {
            '*' => Tok::Star,
            '?' => Tok::One,
            c => Tok::Lit(c),
        });
        i += 1;
    }
    Some(out)
}

/// Expands a `Resource` / `NotResource` entry: policy variables are
/// substituted only in the resource part of the ARN, the text after its fifth
/// colon (IAM User Guide, "Policy variables", "Resource element": "You can't
/// use a variable to replace parts of the ARN before the fifth colon"). A
/// `${...}` that begins before the fifth colon (every `:` as written counts,
/// including one inside `${aws:...}`) is plain text there, as in a
/// 2008-10-17 policy; it matches no real ARN. `None` when a variable of the
/// resource part has no value.
pub fn expand_resource(template: &str, enabled: bool, lookup: &dyn Fn(&str) -> Option<String>) -> Option<Vec<Tok>> {
    match resource_part_start(template) {
        Some(start) if enabled => {
            let mut toks = matcher::compile(&template[..start]);
            toks.extend(expand(&template[start..], true, lookup)?);
            Some(toks)
        }
        _ => Some(matcher::compile(template)),
    }
}

/// The byte offset just after the fifth `:` of an ARN pattern, if it has one.
fn resource_part_start(template: &str) -> Option<usize> {
    template.match_indices(':').nth(4).map(|(i, _)| i + 1)
}

/// Splits `aws:username, 'anonymous'` into the key and its default value.
fn split_default(inner: &str) -> (&str, Option<String>) {
    if let Some((key, rest)) = inner.split_once(',') {
        let rest = rest.trim();
        if rest.len() >= 2 && rest.starts_with('\'') && rest.ends_with('\'') {
            return (key.trim(), Some(rest[1..rest.len() - 1].to_string()));
        }
    }
    (inner.trim(), None)
}

/// Whether a string contains something that looks like a policy variable.
pub fn has_variables(s: &str) -> bool {
    s.contains("${")
}

/// Substitutes policy variables from a context and returns the literal text
/// (wildcards rendered as `*` / `?`). `None` when a variable has no value.
///
/// ```
/// let mut ctx = policy::Context::new();
/// ctx.set("aws:username", "bob");
/// assert_eq!(
///     policy::variables::substitute("arn:aws:s3:::b/${aws:username}/*", &ctx).as_deref(),
///     Some("arn:aws:s3:::b/bob/*"),
/// );
/// assert_eq!(policy::variables::substitute("${aws:userid, 'anonymous'}", &ctx).as_deref(), Some("anonymous"));
/// ```
pub fn substitute(template: &str, ctx: &Context) -> Option<String> {
    let lookup = |k: &str| single_text(ctx, k);
    expand(template, true, &lookup).map(|t| matcher::render(&t))
}

/// The single value of a key as text; multivalued or absent keys have none.
pub(crate) fn single_text(ctx: &Context, key: &str) -> Option<String> {
    match ctx.get(key) {
        Some([v]) => Some(v.to_text()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn look(k: &str) -> Option<String> {
        match k.to_lowercase().as_str() {
            "aws:username" => Some("bo*b".into()),
            _ => None,
        }
    }

    #[test]
    fn expands_literal_values() {
        let t = expand("a/${aws:username}/*", true, &look).unwrap();
        assert_eq!(t[2], Tok::Lit('b'));
        assert_eq!(t[4], Tok::Lit('*'));
        assert_eq!(*t.last().unwrap(), Tok::Star);
    }

    #[test]
    fn resource_variables_only_after_the_fifth_colon() {
        let r = |t: &str| expand_resource(t, true, &look).map(|t| matcher::render(&t));
        assert_eq!(r("arn:aws:s3:::b/${aws:username}").as_deref(), Some("arn:aws:s3:::b/bo*b"));
        // Before the fifth colon `${...}` is plain text, never looked up.
        assert_eq!(
            r("arn:aws:dynamodb:${aws:username}:1:table/t").as_deref(),
            Some("arn:aws:dynamodb:${aws:username}:1:table/t")
        );
        assert_eq!(r("arn:aws:iam::${aws:userid}:user/x").as_deref(), Some("arn:aws:iam::${aws:userid}:user/x"));
        // After it, a variable without a value makes the entry unresolvable.
        assert!(r("arn:aws:iam::1:user/${aws:userid}").is_none());
        // Fewer than five colons: no resource part, nothing expanded.
        assert_eq!(r("arn:${aws:userid}").as_deref(), Some("arn:${aws:userid}"));
        // 2008-10-17: literal everywhere.
        assert_eq!(
            expand_resource("arn:aws:s3:::${aws:userid}", false, &look).map(|t| matcher::render(&t)),
            Some("arn:aws:s3:::${aws:userid}".to_string())
        );
    }

    #[test]
    fn escapes_and_defaults() {
        let t = expand("${*}${?}${$}", true, &look).unwrap();
        assert_eq!(t, vec![Tok::Lit('*'), Tok::Lit('?'), Tok::Lit('$')]);
        let t = expand("${aws:userid, 'anon'}", true, &look).unwrap();
        assert_eq!(matcher::render(&t), "anon");
        assert!(expand("${aws:userid}", true, &look).is_none());
        assert_eq!(matcher::render(&expand("${aws:userid}", false, &look).unwrap()), "${aws:userid}");
        assert_eq!(matcher::render(&expand("${unterminated", true, &look).unwrap()), "${unterminated");
    }
}
