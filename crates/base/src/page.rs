//! Paging of listings held in key order: the one walk behind IAM's
//! `Marker`/`MaxItems`, EC2's and DAX's `NextToken`/`MaxResults`.
//!
//! A continuation token names the sort key of the first item of the next
//! page, so it stays valid while items come and go. The services spell it
//! differently ([`TokenForm`]); each checks its own page size, because
//! their limits and messages differ.

use std::borrow::Borrow;

/// One page of an AWS listing (`Describe*` of EC2 and DAX): pass
/// `next_token` back as `NextToken`.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Present when more items follow.
    pub next_token: Option<String>,
}

/// `MaxResults` / `NextToken` of a listing request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Paging {
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

/// How a listing spells its continuation token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenForm<'a> {
    /// The sort key itself; an empty token is refused (IAM's `Marker`).
    Key,
    /// The sort key, an id: the prefix, then one or more ASCII letters or
    /// digits; an empty token counts as absent (EC2's `NextToken`).
    Id(&'a str),
    /// The hex spelling of the sort key's bytes (DAX's `NextToken`), so that
    /// keys of any characters travel as plain ASCII.
    Hex,
}

/// A token the listing did not hand out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadToken;

/// The items whose key is at or after `from` (all when `None`), at most
/// `max` of them, and the key of the first item left out. `items` come in
/// ascending key order.
pub fn walk<K, Q, T>(items: impl IntoIterator<Item = (K, T)>, from: Option<&Q>, max: usize) -> (Vec<T>, Option<K>)
where
    K: Borrow<Q>,
    Q: Ord + ?Sized,
{
    let mut out = Vec::new();
    for (key, item) in items {
        if from.is_some_and(|f| key.borrow() < f) {
            continue;
        }
        if out.len() == max {
            return (out, Some(key));
        }
        out.push(item);
    }
    (out, None)
}

/// Page through `(sort key, item)` pairs given in ascending key order,
/// starting at `token` (spelled as `form` says), at most `max` items.
///
/// # Errors
/// [`BadToken`] for a token that `form` could not have produced.
pub fn paginate<K: AsRef<str>, T>(
    items: impl IntoIterator<Item = (K, T)>,
    token: Option<&str>,
    form: TokenForm<'_>,
    max: usize,
) -> Result<Page<T>, BadToken> {
    let from: Option<String> = match (form, token) {
        (_, None) => None,
        (TokenForm::Key, Some("")) => return Err(BadToken),
        (TokenForm::Key, Some(t)) => Some(t.to_owned()),
        (TokenForm::Id(_), Some("")) => None,
        (TokenForm::Id(prefix), Some(t)) => {
            let well_formed = t
                .strip_prefix(prefix)
                .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()));
            if !well_formed {
                return Err(BadToken);
            }
            Some(t.to_owned())
        }
        (TokenForm::Hex, Some(t)) => Some(unhex(t).ok_or(BadToken)?),
    };
    let (items, next) = walk(items.into_iter().map(|(k, v)| (KeyStr(k), v)), from.as_deref(), max);
    let next_token = next.map(|KeyStr(k)| match form {
        TokenForm::Hex => hex(k.as_ref()),
        TokenForm::Key | TokenForm::Id(_) => k.as_ref().to_owned(),
    });
    Ok(Page { items, next_token })
}

/// A key compared as the string it holds.
struct KeyStr<K>(K);

impl<K: AsRef<str>> Borrow<str> for KeyStr<K> {
    fn borrow(&self) -> &str {
        self.0.as_ref()
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn keyed(keys: &[&'static str]) -> Vec<(&'static str, &'static str)> {
        keys.iter().map(|k| (*k, *k)).collect()
    }

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        assert_eq!(unhex(&hex("us-east-1/a-b")).as_deref(), Some("us-east-1/a-b"));
        for bad in ["x", "zz", "é1", "ff"] {
            assert_eq!(unhex(bad), None, "{bad}");
        }
    }

    #[test]
    fn walk_resumes_at_the_first_key_at_or_after_the_token() {
        assert_eq!(walk(keyed(&["a", "b", "c"]), Some("b"), 1), (vec!["b"], Some("c")));
        assert_eq!(walk(keyed(&["a", "c"]), Some("b"), 5), (vec!["c"], None));
        assert_eq!(walk(keyed(&["a", "b"]), None::<&str>, 2), (vec!["a", "b"], None));
        assert_eq!(walk((0..25usize).map(|i| (i, i)), Some(&10), 10), ((10..20).collect(), Some(20)));
    }

    #[test]
    fn each_form_spells_and_checks_its_tokens() {
        let ids = keyed(&["vpc-1", "vpc-2", "vpc-3"]);
        let p = paginate(ids.clone(), None, TokenForm::Id("vpc-"), 2).expect("first");
        assert_eq!((p.items, p.next_token.as_deref()), (vec!["vpc-1", "vpc-2"], Some("vpc-3")));
        let p = paginate(ids.clone(), Some(""), TokenForm::Id("vpc-"), 5).expect("empty is absent");
        assert_eq!(p.items.len(), 3);
        for bad in ["vpc-", "sg-1", "vpc-1/2"] {
            assert_eq!(paginate(ids.clone(), Some(bad), TokenForm::Id("vpc-"), 5), Err(BadToken), "{bad}");
        }
        let p = paginate(ids.clone(), None, TokenForm::Hex, 1).expect("hex");
        assert_eq!(p.next_token.as_deref(), Some(hex("vpc-2").as_str()));
        let p = paginate(ids.clone(), p.next_token.as_deref(), TokenForm::Hex, 5).expect("resume");
        assert_eq!(p.items, vec!["vpc-2", "vpc-3"]);
        assert_eq!(paginate(ids.clone(), Some("zz"), TokenForm::Hex, 5), Err(BadToken));
        assert_eq!(paginate(ids.clone(), Some(""), TokenForm::Hex, 5).map(|p| p.items.len()), Ok(3));
        assert_eq!(paginate(ids.clone(), Some(""), TokenForm::Key, 5), Err(BadToken));
        let p = paginate(ids, Some("vpc-2"), TokenForm::Key, 1).expect("key");
        assert_eq!((p.items, p.next_token.as_deref()), (vec!["vpc-2"], Some("vpc-3")));
    }
}
