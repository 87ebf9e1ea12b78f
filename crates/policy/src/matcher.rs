//! Wildcard matching for actions, ARNs and `StringLike` values.
//!
//! Patterns are compiled to [`Tok`]ens first so that characters produced by
//! policy variables or by the `${*}` / `${?}` escapes stay literal: only a `*`
//! or `?` written directly in the policy is a wildcard.

/// One element of a compiled wildcard pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tok {
    /// A literal character.
    Lit(char),
    /// `*`: any run of characters, including none.
    Star,
    /// `?`: exactly one character.
    One,
}

/// Compiles a pattern in which `*` and `?` are wildcards and every other
/// character is literal.
pub fn compile(pattern: &str) -> Vec<Tok> {
    pattern
        .chars()
        .map(|c| match c {
            '*' => Tok::Star,
            '?' => Tok::One,
            c => Tok::Lit(c),
        })
        .collect()
}

/// Renders tokens back to text (`*` and `?` for wildcards).
pub fn render(tokens: &[Tok]) -> String {
    tokens
        .iter()
        .map(|t| match t {
            Tok::Lit(c) => *c,
            Tok::Star => '*',
            Tok::One => '?',
        })
        .collect()
}

/// Matches compiled tokens against `text` (whole-string match, case-sensitive).
///
/// Iterative with single-star backtracking: O(len(pattern) * len(text)) in the
/// worst case, no recursion, no allocation beyond the char buffer.
pub fn match_tokens(tokens: &[Tok], text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    match_token_chars(tokens, &chars)
}

fn match_token_chars(tokens: &[Tok], text: &[char]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if let Some(tok) = tokens.get(p) {
            match tok {
                Tok::Star => {
                    star = Some((p, t));
                    p += 1;
                    continue;
                }
                Tok::One => {
                    p += 1;
                    t += 1;
                    continue;
                }
                Tok::Lit(c) if *c == text[t] => {
                    p += 1;
                    t += 1;
                    continue;
                }
                Tok::Lit(_) => {}
            }
        }
        match star {
            Some((sp, st)) => {
                p = sp + 1;
                t = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    tokens[p.min(tokens.len())..].iter().all(|t| *t == Tok::Star)
}

/// Case-sensitive wildcard match (`*` and `?`) of a whole string.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    match_tokens(&compile(pattern), text)
}

/// Case-insensitive wildcard match (Unicode lower-casing of both sides).
pub fn wildcard_match_ignore_case(pattern: &str, text: &str) -> bool {
    wildcard_match(&pattern.to_lowercase(), &text.to_lowercase())
}

/// Whether an `Action` pattern such as `iam:Get*` matches a request action
/// such as `iam:GetUser`. Service prefix and action name are both
/// case-insensitive, as in AWS.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    wildcard_match_ignore_case(pattern, action)
}

/// A request action lower-cased once, to be matched against many `Action`
/// patterns with [`prepared_action_matches`] (a statement may list thousands,
/// and the action's length is the caller's: preparing it once per pattern made
/// evaluation quadratic).
pub fn prepare_action(action: &str) -> Vec<char> {
    action.to_lowercase().chars().collect()
}

/// [`action_matches`] against an action made by [`prepare_action`].
pub fn prepared_action_matches(pattern: &str, action: &[char]) -> bool {
    match_token_chars(&compile(&pattern.to_lowercase()), action)
}

/// Splits tokens at literal `:` into at most `n` parts (the last part keeps
/// any further colons).
fn split_tokens(tokens: &[Tok], n: usize) -> Vec<&[Tok]> {
    let mut parts = Vec::with_capacity(n);
    let mut start = 0usize;
    for (i, t) in tokens.iter().enumerate() {
        if parts.len() + 1 == n {
            break;
        }
        if *t == Tok::Lit(':') {
            parts.push(&tokens[start..i]);
            start = i + 1;
        }
    }
    parts.push(&tokens[start..]);
    parts
}

/// Matches an ARN pattern (already compiled) against a concrete ARN.
///
/// When the pattern has the six colon-separated fields of an ARN, each of the
/// first five fields (`arn`, partition, service, region, account) is matched on
/// its own, so a wildcard never crosses into the next field; the sixth field
/// (the resource part) may contain colons and its wildcards may cross them.
/// A pattern with fewer than six fields matches only when it is made of `*`
/// alone (which matches anything, including the `*` resource of actions
/// without resource-level permissions).
pub fn arn_tokens_match(pattern: &[Tok], arn: &str) -> bool {
    let pparts = split_tokens(pattern, 6);
    if pparts.len() < 6 {
        return pattern.iter().all(|t| *t == Tok::Star);
    }
    let aparts: Vec<&str> = arn.splitn(6, ':').collect();
    if aparts.len() != 6 {
        return false;
    }
    pparts.iter().zip(aparts.iter()).all(|(p, a)| match_tokens(p, a))
}

/// [`arn_tokens_match`] for a pattern given as text (`*` and `?` are wildcards).
pub fn arn_matches(pattern: &str, arn: &str) -> bool {
    arn_tokens_match(&compile(pattern), arn)
}

/// Like [`arn_tokens_match`] but requires the value to be a full six-field ARN
/// (used by the `Arn*` condition operators: a value that is not an ARN never
/// matches, whatever the pattern).
pub fn arn_condition_match(pattern: &[Tok], value: &str) -> bool {
    value.splitn(6, ':').count() == 6 && arn_tokens_match(pattern, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_globs() {
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a*c", "abbbc"));
        assert!(wildcard_match("a?c", "abc"));
        assert!(!wildcard_match("a?c", "ac"));
        assert!(wildcard_match("*a*b*", "xxaxxbxx"));
        assert!(!wildcard_match("abc", "abcd"));
        assert!(wildcard_match("", ""));
        assert!(!wildcard_match("", "a"));
    }

    #[test]
    fn prepared_actions_match_as_plain_ones() {
        for (p, a) in [
            ("IAM:createuser", "iam:CreateUser"),
            ("ec2:Describe*", "ec2:DescribeVpcs"),
            ("*", ""),
            ("s3:?et*", "S3:GetObject"),
            ("dax:Get", "dax:GetItem"),
            ("İ*", "i̇x"),
            ("a*b*c", "AXXBXXC"),
        ] {
            assert_eq!(prepared_action_matches(p, &prepare_action(a)), action_matches(p, a), "{p} {a}");
        }
    }

    /// Found by the `evaluate` fuzz target: a managed policy listing thousands of
    /// actions, evaluated for a very long action, took seconds (the action was
    /// lower-cased and copied once per pattern).
    #[test]
    fn many_patterns_against_a_long_action_are_fast() {
        let patterns: Vec<String> = (0..20_000).map(|i| format!("svc{i}:Get*")).collect();
        let action = "x".repeat(100_000);
        let start = std::time::Instant::now();
        let prepared = prepare_action(&action);
        assert!(!patterns.iter().any(|p| prepared_action_matches(p, &prepared)));
        assert!(start.elapsed() < std::time::Duration::from_secs(3), "{:?}", start.elapsed());
    }

    #[test]
    fn actions_are_case_insensitive() {
        assert!(action_matches("IAM:createuser", "iam:CreateUser"));
        assert!(action_matches("ec2:Describe*", "ec2:DescribeVpcs"));
        assert!(!action_matches("ec2:Describe*", "ec2:CreateVpc"));
    }

    #[test]
    fn arn_fields_do_not_cross() {
        assert!(arn_matches("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b:c"));
        assert!(!arn_matches("arn:aws:*:123:*:*", "arn:aws:iam::123:user/bob"));
        assert!(arn_matches("arn:aws:iam::*:user/*", "arn:aws:iam::123:user/bob"));
        assert!(arn_matches("arn:aws:*:*:*:*", "arn:aws:dax:us-east-1:123:cache/c"));
        assert!(!arn_matches("arn:aws:s3:::bucket", "*"));
        assert!(arn_matches("*", "*"));
        assert!(!arn_matches("arn:aws:s3:::b", "arn:aws:S3:::b"));
    }
}
