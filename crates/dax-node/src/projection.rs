//! Projections on the node.
//!
//! A DAX client sends a projection as a list of document paths and reads the answer as a
//! *projection map*: `ordinal → value at that path of the stored item`, from which it
//! rebuilds what DynamoDB would have answered (nesting restored, the selected elements of
//! a list kept in index order, compacted). So the node must resolve each path against the
//! item as it is stored, never against an item DynamoDB has already projected: DynamoDB
//! compacts lists, so after `mylist[1]` the element is at index 0 and `mylist[1]` no
//! longer resolves (or resolves to the wrong element).
//!
//! Reads that hand DynamoDB a projection (Query, Scan, TransactGetItems) therefore ask it
//! for [`fetch`]: each path cut before its first list index. DynamoDB then answers every
//! list the paths go through whole, and every path resolves on its answer exactly as on
//! the stored item, while the attributes read (which decide what a local secondary index
//! fetches from its table, and what `Select` allows) stay the same.
//!
//! Since DynamoDB only sees that rewritten projection (and GetItem and BatchGetItem none
//! at all: the node reads whole items, to cache them), the node refuses a projection
//! DynamoDB would refuse itself ([`check`]): two paths that overlap (one a prefix of the
//! other, a duplicate included). The client could not rebuild such an answer anyway.

use dax_wire::{AttributeValue, DocumentPath, Item, PathElement, ProjectionExpression};

use crate::host::NodeError;

/// Refuses what DynamoDB refuses before reading: two document paths that overlap,
/// reported in request order with DynamoDB's message.
pub(crate) fn check(p: &ProjectionExpression) -> Result<(), NodeError> {
    for (i, a) in p.paths.iter().enumerate() {
        for b in &p.paths[i + 1..] {
            if a.0.starts_with(&b.0) || b.0.starts_with(&a.0) {
                return Err(NodeError::validation(format!(
                    "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite \
                     one of these paths; path one: {}, path two: {}",
                    error_path(a),
                    error_path(b)
                )));
            }
        }
    }
    Ok(())
}

/// A path as DynamoDB writes it in errors: `[a, b, [0]]`.
fn error_path(p: &DocumentPath) -> String {
    let parts: Vec<String> =
        p.0.iter()
            .map(|e| match e {
                PathElement::Name(n) => n.clone(),
                PathElement::Index(i) => format!("[{i}]"),
            })
            .collect();
    format!("[{}]", parts.join(", "))
}

/// The projection to ask DynamoDB for so that every path of `p` resolves on its answer
/// as on the stored item: each path cut before its first list index, without
/// duplicates, and without a path another one already covers (so it never overlaps).
pub(crate) fn fetch(p: &ProjectionExpression) -> ProjectionExpression {
    let mut cut: Vec<DocumentPath> = p
        .paths
        .iter()
        .map(|path| match path.0.iter().position(|e| matches!(e, PathElement::Index(_))) {
            // A path must start with a name; one that does not resolves nowhere anyway.
            Some(0) | None => path.clone(),
            Some(i) => DocumentPath(path.0[..i].to_vec()),
        })
        .collect();
    // Shorter paths first: a path is dropped when one kept before it is its prefix.
    cut.sort_by_key(|path| path.0.len());
    let mut paths: Vec<DocumentPath> = Vec::with_capacity(cut.len());
    for path in cut {
        if !paths.iter().any(|kept| path.0.starts_with(&kept.0)) {
            paths.push(path);
        }
    }
    ProjectionExpression { paths }
}

/// The projection map of `item` (as stored, or as DynamoDB answered [`fetch`]).
pub(crate) fn project(p: &ProjectionExpression, item: &Item) -> Vec<(u64, AttributeValue)> {
    p.project(item)
}

#[cfg(test)]
mod tests {
    //! The mechanism against a model of DynamoDB and of the client: for random items and
    //! projections, what the client rebuilds from the node's projection map (resolved on
    //! DynamoDB's answer to [`fetch`], or on the stored item) is what DynamoDB answers.

    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    /// DynamoDB's projection: every path that resolves, nesting rebuilt, the selected
    /// elements of a list in index order, compacted.
    fn dynamodb(item: &Item, p: &ProjectionExpression) -> Item {
        let mut out = Sparse::M(BTreeMap::new());
        for path in &p.paths {
            if let Some(v) = path.resolve(item) {
                out.insert(&path.0, v.clone());
            }
        }
        match out.finish() {
            AttributeValue::M(m) => m,
            _ => unreachable!(),
        }
    }

    /// What the client rebuilds from a projection map (`ItemBuilder` of the official
    /// clients).
    fn client(map: &[(u64, AttributeValue)], p: &ProjectionExpression) -> Item {
        let mut out = Sparse::M(BTreeMap::new());
        for (ordinal, v) in map {
            out.insert(&p.paths[usize::try_from(*ordinal).unwrap()].0, v.clone());
        }
        match out.finish() {
            AttributeValue::M(m) => m,
            _ => unreachable!(),
        }
    }

    /// A value being rebuilt: lists as index → element until [`Sparse::finish`].
    enum Sparse {
        M(BTreeMap<String, Sparse>),
        L(BTreeMap<u64, Sparse>),
        Leaf(AttributeValue),
    }

    impl Sparse {
        fn insert(&mut self, path: &[PathElement], v: AttributeValue) {
            let Some((first, rest)) = path.split_first() else {
                *self = Sparse::Leaf(v);
                return;
            };
            let fresh = || match rest.first() {
                Some(PathElement::Index(_)) => Sparse::L(BTreeMap::new()),
                _ => Sparse::M(BTreeMap::new()),
            };
            match (self, first) {
                (Sparse::M(m), PathElement::Name(n)) => m.entry(n.clone()).or_insert_with(fresh).insert(rest, v),
                (Sparse::L(l), PathElement::Index(i)) => l.entry(*i).or_insert_with(fresh).insert(rest, v),
                _ => panic!("paths of a valid projection never conflict on resolved values"),
            }
        }

        fn finish(self) -> AttributeValue {
            match self {
                Sparse::M(m) => AttributeValue::M(m.into_iter().map(|(k, v)| (k, v.finish())).collect()),
                Sparse::L(l) => AttributeValue::L(l.into_values().map(Sparse::finish).collect()),
                Sparse::Leaf(v) => v,
            }
        }
    }

    const NAMES: [&str; 4] = ["a", "b", "c", "d"];

    fn value() -> impl Strategy<Value = AttributeValue> {
        let leaf = prop_oneof![
            "[a-z]{0,3}".prop_map(AttributeValue::S),
            any::<i32>().prop_map(|n| AttributeValue::N(i64::from(n).into())),
            proptest::collection::vec(any::<u8>(), 0..3).prop_map(AttributeValue::B),
            any::<bool>().prop_map(AttributeValue::Bool),
            Just(AttributeValue::Null),
            Just(AttributeValue::Ss(vec!["x".into(), "y".into()])),
        ];
        leaf.prop_recursive(4, 40, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(AttributeValue::L),
                proptest::collection::btree_map(
                    proptest::sample::select(NAMES.to_vec()).prop_map(String::from),
                    inner,
                    0..4
                )
                .prop_map(AttributeValue::M),
            ]
        })
    }

    fn item() -> impl Strategy<Value = Item> {
        proptest::collection::btree_map(proptest::sample::select(NAMES.to_vec()).prop_map(String::from), value(), 0..4)
    }

    fn path() -> impl Strategy<Value = DocumentPath> {
        let elem = prop_oneof![
            proptest::sample::select(NAMES.to_vec()).prop_map(|n| PathElement::Name(n.into())),
            (0u64..5).prop_map(PathElement::Index),
        ];
        (proptest::sample::select(NAMES.to_vec()), proptest::collection::vec(elem, 0..4)).prop_map(|(root, rest)| {
            let mut p = vec![PathElement::Name(root.into())];
            p.extend(rest);
            DocumentPath(p)
        })
    }

    fn projection() -> impl Strategy<Value = ProjectionExpression> {
        proptest::collection::vec(path(), 1..6).prop_map(|paths| ProjectionExpression { paths })
    }

    fn p(paths: &[&[PathElement]]) -> ProjectionExpression {
        ProjectionExpression { paths: paths.iter().map(|e| DocumentPath(e.to_vec())).collect() }
    }

    fn n(s: &str) -> PathElement {
        PathElement::Name(s.into())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

        #[test]
        fn the_client_rebuilds_what_dynamodb_answers(item in item(), proj in projection()) {
            let valid = check(&proj).is_ok();
            // A duplicate or a prefix is what `check` refuses.
            let overlapping = proj.paths.iter().enumerate().any(|(i, a)| {
                proj.paths.iter().enumerate().any(|(j, b)| i != j && a.0.starts_with(&b.0))
            });
            prop_assert_eq!(valid, !overlapping);
            prop_assume!(valid);
            let want = dynamodb(&item, &proj);
            // From the stored item (GetItem, BatchGetItem, cache hits).
            prop_assert_eq!(client(&project(&proj, &item), &proj), want.clone());
            // From DynamoDB's answer to the rewritten projection (Query, Scan,
            // TransactGetItems), which DynamoDB accepts (no overlap).
            let f = fetch(&proj);
            prop_assert!(check(&f).is_ok(), "fetch {:?} overlaps", f);
            let answered = dynamodb(&item, &f);
            prop_assert_eq!(client(&project(&proj, &answered), &proj), want);
        }
    }

    #[test]
    fn fetch_cuts_paths_before_list_indexes() {
        use PathElement::Index as I;
        let f = fetch(&p(&[&[n("l"), I(1)], &[n("m"), n("x")], &[n("l"), I(2), n("y")], &[n("m"), n("z"), I(0)]]));
        assert_eq!(f, p(&[&[n("l")], &[n("m"), n("x")], &[n("m"), n("z")]]));
    }

    #[test]
    fn overlaps_are_refused_with_dynamodbs_message() {
        let e = check(&p(&[&[n("a"), n("b")], &[n("a")]])).unwrap_err();
        assert_eq!(
            e.message,
            "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of \
             these paths; path one: [a, b], path two: [a]"
        );
        let e =
            check(&p(&[&[n("x")], &[n("l"), PathElement::Index(0)], &[n("l"), PathElement::Index(0)]])).unwrap_err();
        assert!(e.message.ends_with("path one: [l, [0]], path two: [l, [0]]"), "{}", e.message);
        assert!(check(&p(&[&[n("l"), PathElement::Index(0)], &[n("l"), PathElement::Index(1)]])).is_ok());
    }
}
