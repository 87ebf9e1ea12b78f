//! Target selection modes (`ALL`, `COUNT(n)`, `PERCENT(n)`) and the choice of resources
//! they make, drawn from a seed rather than a random source so that an experiment's
//! targets are reproducible.

use crate::FisError;

/// How many of the matching resources a target takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectionMode {
    /// Every one.
    All,
    /// `n` of them (all when fewer match).
    Count(u32),
    /// `n` % of them, rounded down but at least one when any match.
    Percent(u32),
}

/// A selection mode as a template spells it.
///
/// # Errors
/// `ValidationException` for another spelling, a count of 0 or a percentage outside 1–100.
pub fn parse_selection_mode(s: &str) -> Result<SelectionMode, FisError> {
    let bad = || FisError::validation(format!("Invalid selection mode: {s}"));
    if s == "ALL" {
        return Ok(SelectionMode::All);
    }
    let arg = |prefix: &str| -> Option<u32> {
        let n = s.strip_prefix(prefix)?.strip_suffix(')')?;
        if n.is_empty() || n.len() > 9 || !n.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        n.parse().ok()
    };
    if let Some(n) = arg("COUNT(") {
        return if n >= 1 { Ok(SelectionMode::Count(n)) } else { Err(bad()) };
    }
    if let Some(n) = arg("PERCENT(") {
        return if (1..=100).contains(&n) { Ok(SelectionMode::Percent(n)) } else { Err(bad()) };
    }
    Err(bad())
}

impl SelectionMode {
    /// How many of `available` resources it takes.
    #[must_use]
    pub fn how_many(self, available: usize) -> usize {
        match self {
            SelectionMode::All => available,
            SelectionMode::Count(n) => available.min(n as usize),
            SelectionMode::Percent(p) => {
                if available == 0 {
                    0
                } else {
                    (available * p as usize / 100).max(1)
                }
            }
        }
    }

    /// The chosen items of `items` (given in a stable order), kept in that order: the
    /// first [`SelectionMode::how_many`] of a shuffle seeded by `seed`.
    #[must_use]
    pub fn choose<T: Clone>(self, items: &[T], seed: u64) -> Vec<T> {
        let n = self.how_many(items.len());
        if n == items.len() {
            return items.to_vec();
        }
        let mut order: Vec<usize> = (0..items.len()).collect();
        let mut state = seed;
        for i in (1..order.len()).rev() {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let j = usize::try_from(mix(state) % (i as u64 + 1)).unwrap_or(0);
            order.swap(i, j);
        }
        let mut chosen: Vec<usize> = order.into_iter().take(n).collect();
        chosen.sort_unstable();
        chosen.into_iter().map(|i| items[i].clone()).collect()
    }
}

/// SplitMix64's output function.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_counts() {
        let cases = [
            ("ALL", Some(SelectionMode::All), 10, 10),
            ("COUNT(3)", Some(SelectionMode::Count(3)), 10, 3),
            ("COUNT(30)", Some(SelectionMode::Count(30)), 10, 10),
            ("PERCENT(25)", Some(SelectionMode::Percent(25)), 10, 2),
            ("PERCENT(1)", Some(SelectionMode::Percent(1)), 3, 1),
            ("PERCENT(100)", Some(SelectionMode::Percent(100)), 3, 3),
            ("PERCENT(50)", Some(SelectionMode::Percent(50)), 0, 0),
            ("COUNT(0)", None, 0, 0),
            ("PERCENT(0)", None, 0, 0),
            ("PERCENT(101)", None, 0, 0),
            ("all", None, 0, 0),
            ("COUNT()", None, 0, 0),
            ("COUNT(-1)", None, 0, 0),
            ("COUNT(1", None, 0, 0),
            ("RANDOM", None, 0, 0),
        ];
        for (s, want, avail, n) in cases {
            match want {
                Some(m) => {
                    assert_eq!(parse_selection_mode(s).unwrap(), m, "{s}");
                    assert_eq!(m.how_many(avail), n, "{s} of {avail}");
                }
                None => assert_eq!(parse_selection_mode(s).unwrap_err().code, "ValidationException", "{s}"),
            }
        }
    }

    #[test]
    fn choice_is_seeded_and_ordered() {
        let items: Vec<u32> = (0..20).collect();
        let a = SelectionMode::Count(5).choose(&items, 42);
        assert_eq!(a, SelectionMode::Count(5).choose(&items, 42));
        assert_eq!(a.len(), 5);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        let others: Vec<Vec<u32>> = (0..10).map(|s| SelectionMode::Count(5).choose(&items, s)).collect();
        assert!(others.iter().any(|o| *o != a), "other seeds choose otherwise");
        assert_eq!(SelectionMode::All.choose(&items, 1), items);
    }
}
