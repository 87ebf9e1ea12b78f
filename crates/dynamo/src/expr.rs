//! DynamoDB's expression language read as far as daxd needs without a
//! parser: its tokens. The language has no string literals, so every `#name`
//! and `:value` token is a placeholder, and a bare word is an attribute name,
//! a keyword or a function name. The request checks (`checks.rs`) and the
//! authorization of a request (`access.rs`) read expressions with this one
//! tokenizer; the engine parses them fully.

/// One token of an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok<'a> {
    /// A bare word: an attribute name, a keyword or a function name.
    Word(&'a str),
    /// `#name`.
    Name(&'a str),
    /// `:value`.
    Value(&'a str),
    /// Anything else (operators, parentheses, numbers), one character.
    Other(char),
}

pub(crate) fn tokens(expr: &str) -> Vec<Tok<'_>> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(c) = rest.chars().next() {
        if c.is_whitespace() {
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let (prefix, skip) = match c {
            '#' | ':' => (Some(c), 1),
            _ => (None, 0),
        };
        let end = skip + rest[skip..].find(|ch: char| !word(ch)).unwrap_or(rest.len() - skip);
        if end == skip || (prefix.is_none() && c.is_ascii_digit()) {
            // A lone '#' or ':', an operator, a number: one character.
            out.push(Tok::Other(c));
            rest = &rest[c.len_utf8()..];
            if c.is_ascii_digit() {
                rest = rest.trim_start_matches(|ch: char| word(ch));
            }
            continue;
        }
        let text = &rest[..end];
        out.push(match prefix {
            Some('#') => Tok::Name(text),
            Some(_) => Tok::Value(text),
            None => Tok::Word(text),
        });
        rest = &rest[end..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizes_placeholders_words_and_the_rest() {
        assert_eq!(
            tokens("(#0 = x) AND begins_with(sk, :v1) OR a.b[2] > 10"),
            [
                Tok::Other('('),
                Tok::Name("#0"),
                Tok::Other('='),
                Tok::Word("x"),
                Tok::Other(')'),
                Tok::Word("AND"),
                Tok::Word("begins_with"),
                Tok::Other('('),
                Tok::Word("sk"),
                Tok::Other(','),
                Tok::Value(":v1"),
                Tok::Other(')'),
                Tok::Word("OR"),
                Tok::Word("a"),
                Tok::Other('.'),
                Tok::Word("b"),
                Tok::Other('['),
                Tok::Other('2'),
                Tok::Other(']'),
                Tok::Other('>'),
                Tok::Other('1'),
            ]
        );
        assert_eq!(tokens("# : é"), [Tok::Other('#'), Tok::Other(':'), Tok::Other('é')]);
    }
}
