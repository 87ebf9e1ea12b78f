//! DynamoDB JSON ↔ the wire types: key schemas from DescribeTable, consumed capacity,
//! item collection metrics, and the partial images of `UPDATED_OLD`/`UPDATED_NEW`.

use std::collections::BTreeMap;

use dax_wire::{
    AttributeValue, Capacity, ConsumedCapacity, DocumentPath, ExtendedConsumedCapacity, Item, ItemCollectionMetrics,
    KeySchema, KeyType, PathElement,
};
use serde_json::{Map, Value};

use crate::host::NodeError;

/// The table's key schema from a DescribeTable answer (`Table.KeySchema` and
/// `Table.AttributeDefinitions`).
pub(crate) fn key_schema(describe: &Value) -> Result<KeySchema, NodeError> {
    let bad = || NodeError::internal("DescribeTable returned no usable key schema");
    let table = describe.get("Table").ok_or_else(bad)?;
    let defs = table.get("AttributeDefinitions").and_then(Value::as_array).ok_or_else(bad)?;
    let type_of = |name: &str| -> Result<KeyType, NodeError> {
        defs.iter()
            .find(|d| d.get("AttributeName").and_then(Value::as_str) == Some(name))
            .and_then(|d| d.get("AttributeType")?.as_str())
            .and_then(KeyType::parse)
            .ok_or_else(bad)
    };
    let mut hash = None;
    let mut range = None;
    for k in table.get("KeySchema").and_then(Value::as_array).ok_or_else(bad)? {
        let name = k.get("AttributeName").and_then(Value::as_str).ok_or_else(bad)?;
        match k.get("KeyType").and_then(Value::as_str) {
            Some("HASH") => hash = Some((name.to_owned(), type_of(name)?)),
            Some("RANGE") => range = Some((name.to_owned(), type_of(name)?)),
            _ => return Err(bad()),
        }
    }
    let (h, ht) = hash.ok_or_else(bad)?;
    Ok(match range {
        Some((r, rt)) => KeySchema::hash_range(&h, ht, &r, rt),
        None => KeySchema::hash_only(&h, ht),
    })
}

/// An item from DynamoDB JSON.
pub(crate) fn item(v: &Value) -> Result<Item, NodeError> {
    dax_wire::item_from_json(v)
        .map_err(|e| NodeError::internal(format!("DynamoDB returned an unreadable item: {}", e.message())))
}

fn f(v: Option<&Value>) -> Option<f64> {
    v.and_then(Value::as_f64)
}

fn index_units(v: Option<&Value>) -> Option<Vec<(String, f64)>> {
    let m = v?.as_object()?;
    Some(m.iter().map(|(k, c)| (k.clone(), f(c.get("CapacityUnits")).unwrap_or(0.0))).collect())
}

/// Positional consumed capacity from DynamoDB's `ConsumedCapacity` object.
pub(crate) fn consumed_capacity(v: &Value) -> Option<ConsumedCapacity> {
    let o = v.as_object()?;
    Some(ConsumedCapacity {
        table_name: o.get("TableName").and_then(Value::as_str).unwrap_or_default().to_owned(),
        capacity_units: f(o.get("CapacityUnits")).unwrap_or(0.0),
        table_capacity_units: o.get("Table").and_then(|t| f(t.get("CapacityUnits"))),
        global_secondary_indexes: index_units(o.get("GlobalSecondaryIndexes")),
        local_secondary_indexes: index_units(o.get("LocalSecondaryIndexes")),
    })
}

/// Every element of a `ConsumedCapacity` array (or a single object).
pub(crate) fn consumed_capacities(v: Option<&Value>) -> Vec<ConsumedCapacity> {
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(consumed_capacity).collect(),
        Some(o @ Value::Object(_)) => consumed_capacity(o).into_iter().collect(),
        _ => Vec::new(),
    }
}

fn capacity(v: &Value) -> Capacity {
    Capacity {
        capacity_units: f(v.get("CapacityUnits")),
        read_capacity_units: f(v.get("ReadCapacityUnits")),
        write_capacity_units: f(v.get("WriteCapacityUnits")),
    }
}

fn index_capacities(v: Option<&Value>) -> Option<Vec<(String, Capacity)>> {
    Some(v?.as_object()?.iter().map(|(k, c)| (k.clone(), capacity(c))).collect())
}

/// Extended consumed capacity (transactions) from a `ConsumedCapacity` array.
pub(crate) fn extended_capacities(v: Option<&Value>) -> Vec<ExtendedConsumedCapacity> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| ExtendedConsumedCapacity {
            units: capacity(c),
            table_name: c.get("TableName").and_then(Value::as_str).map(str::to_owned),
            table: c.get("Table").map(capacity),
            global_secondary_indexes: index_capacities(c.get("GlobalSecondaryIndexes")),
            local_secondary_indexes: index_capacities(c.get("LocalSecondaryIndexes")),
        })
        .collect()
}

/// Item collection metrics from DynamoDB's object.
pub(crate) fn item_collection_metrics(v: &Value) -> Option<ItemCollectionMetrics> {
    let key = v.get("ItemCollectionKey")?.as_object()?;
    let (_, pk) = key.iter().next()?;
    let range = v.get("SizeEstimateRangeGB")?.as_array()?;
    Some(ItemCollectionMetrics {
        partition_key: AttributeValue::from_json(pk).ok()?,
        size_lower_gb: f(range.first()).unwrap_or(0.0),
        size_upper_gb: f(range.get(1)).unwrap_or(0.0),
    })
}

/// `ItemCollectionMetrics` of a batch or transaction: table → list.
pub(crate) fn item_collection_map(v: Option<&Value>) -> Vec<(String, Vec<ItemCollectionMetrics>)> {
    v.and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(t, list)| {
            (t.clone(), list.as_array().into_iter().flatten().filter_map(item_collection_metrics).collect())
        })
        .collect()
}

/// The attributes of `item` an update's target `paths` touched, as daxd's DynamoDB API
/// answers `UPDATED_NEW` (the reference for what a node returns): a path through a list
/// index gives its whole top-level attribute, any other path the fragment at it
/// ([`project_nested`]); a path the item no longer has (a removed attribute) gives nothing.
pub(crate) fn updated_part(item: &Item, paths: &[DocumentPath]) -> Item {
    let (through_lists, plain): (Vec<&DocumentPath>, Vec<&DocumentPath>) =
        paths.iter().partition(|p| p.0.iter().any(|e| matches!(e, PathElement::Index(_))));
    let plain: Vec<DocumentPath> = plain.into_iter().cloned().collect();
    let mut out = project_nested(item, &plain);
    for p in through_lists {
        if let Some(PathElement::Name(root)) = p.0.first() {
            if let Some(v) = item.get(root) {
                out.insert(root.clone(), v.clone());
            }
        }
    }
    out
}

/// The part of `item` at `paths`, nesting rebuilt (what DynamoDB returns for
/// `UPDATED_NEW`: only the updated attributes, as they are after the update). List
/// elements keep their relative order.
pub(crate) fn project_nested(item: &Item, paths: &[DocumentPath]) -> Item {
    let mut out = Item::new();
    for p in paths {
        let Some(PathElement::Name(root)) = p.0.first() else { continue };
        let Some(v) = item.get(root) else { continue };
        let Some(part) = extract(v, &p.0[1..]) else { continue };
        match out.remove(root) {
            Some(existing) => {
                out.insert(root.clone(), merge(existing, part));
            }
            None => {
                out.insert(root.clone(), part);
            }
        }
    }
    out.into_iter().map(|(k, v)| (k, untag(v))).collect()
}

/// A value holding only the part of `v` at `rest`. Lists are kept as sparse maps of
/// index → value while merging (`Sparse`), then turned back into lists.
fn extract(v: &AttributeValue, rest: &[PathElement]) -> Option<AttributeValue> {
    let Some((first, tail)) = rest.split_first() else { return Some(v.clone()) };
    match (first, v) {
        (PathElement::Name(n), AttributeValue::M(m)) => {
            let inner = extract(m.get(n)?, tail)?;
            Some(AttributeValue::M(BTreeMap::from([(n.clone(), inner)])))
        }
        (PathElement::Index(i), AttributeValue::L(l)) => {
            let inner = extract(l.get(usize::try_from(*i).ok()?)?, tail)?;
            // A one-element list; merging keeps elements in index order.
            Some(AttributeValue::L(vec![tagged(*i, inner)]))
        }
        _ => None,
    }
}

/// List elements carry their source index while merging, in a one-entry map under a key
/// no attribute can have; [`untag`] removes it.
const INDEX_TAG: &str = "\u{0}dax-node-index";

fn tagged(i: u64, v: AttributeValue) -> AttributeValue {
    AttributeValue::M(BTreeMap::from([(INDEX_TAG.to_owned(), AttributeValue::L(vec![AttributeValue::N(i.into()), v]))]))
}

fn tag_of(v: &AttributeValue) -> Option<(u64, &AttributeValue)> {
    let AttributeValue::M(m) = v else { return None };
    let AttributeValue::L(pair) = m.get(INDEX_TAG)? else { return None };
    let (AttributeValue::N(n), inner) = (pair.first()?, pair.get(1)?) else { return None };
    Some((u64::try_from(n.to_i64()?).ok()?, inner))
}

fn merge(a: AttributeValue, b: AttributeValue) -> AttributeValue {
    match (a, b) {
        (AttributeValue::M(mut x), AttributeValue::M(y)) => {
            for (k, v) in y {
                let merged = match x.remove(&k) {
                    Some(old) => merge(old, v),
                    None => v,
                };
                x.insert(k, merged);
            }
            AttributeValue::M(x)
        }
        (AttributeValue::L(mut x), AttributeValue::L(y)) => {
            for v in y {
                let idx = tag_of(&v).map(|(i, _)| i);
                let pos = x.iter().position(|e| tag_of(e).map(|(i, _)| i) == idx);
                match pos {
                    Some(p) => {
                        let old = x.remove(p);
                        let (Some((i, ov)), Some((_, nv))) = (tag_of(&old), tag_of(&v)) else { continue };
                        let m = merge(ov.clone(), nv.clone());
                        x.insert(p, tagged(i, m));
                    }
                    None => x.push(v),
                }
            }
            x.sort_by_key(|e| tag_of(e).map_or(u64::MAX, |(i, _)| i));
            AttributeValue::L(x)
        }
        (_, b) => b,
    }
}

/// Removes the index tags [`extract`] put on list elements.
fn untag(v: AttributeValue) -> AttributeValue {
    match v {
        AttributeValue::L(l) => AttributeValue::L(
            l.into_iter()
                .map(|e| match tag_of(&e) {
                    Some((_, inner)) => untag(inner.clone()),
                    None => untag(e),
                })
                .collect(),
        ),
        AttributeValue::M(m) => AttributeValue::M(m.into_iter().map(|(k, v)| (k, untag(v))).collect()),
        other => other,
    }
}

/// JSON object helper: insert when `Some`.
pub(crate) fn put_opt(obj: &mut Map<String, Value>, key: &str, v: Option<Value>) {
    if let Some(v) = v {
        obj.insert(key.to_owned(), v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(elems: &[PathElement]) -> DocumentPath {
        DocumentPath(elems.to_vec())
    }

    #[test]
    fn nested_projection_rebuilds_maps_and_lists() {
        let item = dax_wire::item_from_json(&json!({
            "a": {"M": {"b": {"S": "x"}, "c": {"N": "1"}}},
            "l": {"L": [{"S": "0"}, {"S": "1"}, {"S": "2"}]},
            "top": {"N": "5"}
        }))
        .unwrap();
        let out = project_nested(
            &item,
            &[
                p(&[PathElement::Name("a".into()), PathElement::Name("b".into())]),
                p(&[PathElement::Name("l".into()), PathElement::Index(2)]),
                p(&[PathElement::Name("l".into()), PathElement::Index(0)]),
                p(&[PathElement::Name("top".into())]),
                p(&[PathElement::Name("gone".into())]),
            ],
        );
        assert_eq!(
            dax_wire::item_to_json(&out),
            json!({"a": {"M": {"b": {"S": "x"}}}, "l": {"L": [{"S": "0"}, {"S": "2"}]}, "top": {"N": "5"}})
        );
    }

    #[test]
    fn key_schema_from_describe_table() {
        let d = json!({"Table": {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "sk", "AttributeType": "N"}, {"AttributeName": "pk", "AttributeType": "S"}]}});
        assert_eq!(key_schema(&d).unwrap(), KeySchema::hash_range("pk", KeyType::S, "sk", KeyType::N));
        assert!(key_schema(&json!({"Table": {}})).is_err());
    }
}
