//! Round-trip property tests: numbers, values, keys, expressions, requests, framing.

use dax_wire::*;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;

fn lim() -> Limits {
    Limits::default()
}

fn arb_number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::from),
        (any::<bool>(), 1u128..10u128.pow(38), -167i32..=125).prop_filter_map("in range", |(neg, c, e)| {
            Number::parse(&format!("{}{}e{}", if neg { "-" } else { "" }, c, e)).ok()
        }),
        (any::<bool>(), 1u128..1000, -140i32..=130).prop_filter_map("in range", |(neg, c, e)| {
            Number::parse(&format!("{}{}E{}", if neg { "-" } else { "" }, c, e)).ok()
        }),
    ]
}

fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z]{0,6}", "\\PC{0,8}"]
}

fn arb_av() -> impl Strategy<Value = AttributeValue> {
    let leaf = prop_oneof![
        arb_text().prop_map(AttributeValue::S),
        arb_number().prop_map(AttributeValue::N),
        vec(any::<u8>(), 0..8).prop_map(AttributeValue::B),
        any::<bool>().prop_map(AttributeValue::Bool),
        Just(AttributeValue::Null),
        vec(arb_text(), 1..4).prop_map(AttributeValue::Ss),
        vec(arb_number(), 1..4).prop_map(AttributeValue::Ns),
        vec(vec(any::<u8>(), 0..4), 1..4).prop_map(AttributeValue::Bs),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(AttributeValue::L),
            btree_map(arb_text(), inner, 0..4).prop_map(AttributeValue::M),
        ]
    })
}

fn arb_key_type() -> impl Strategy<Value = KeyType> {
    prop_oneof![Just(KeyType::S), Just(KeyType::N), Just(KeyType::B)]
}

fn arb_scalar(t: KeyType) -> BoxedStrategy<AttributeValue> {
    match t {
        KeyType::S => arb_text().prop_map(AttributeValue::S).boxed(),
        KeyType::N => arb_number().prop_map(AttributeValue::N).boxed(),
        KeyType::B => vec(any::<u8>(), 0..8).prop_map(AttributeValue::B).boxed(),
    }
}

fn arb_key() -> impl Strategy<Value = (KeySchema, Item)> {
    (arb_key_type(), proptest::option::of(arb_key_type())).prop_flat_map(|(h, r)| {
        let schema = match r {
            Some(r) => KeySchema::hash_range("h", h, "r", r),
            None => KeySchema::hash_only("h", h),
        };
        let range = match r {
            Some(r) => arb_scalar(r).prop_map(Some).boxed(),
            None => Just(None).boxed(),
        };
        (Just(schema), arb_scalar(h), range).prop_map(|(schema, hv, rv)| {
            let mut item = Item::new();
            item.insert("h".into(), hv);
            if let Some(rv) = rv {
                item.insert("r".into(), rv);
            }
            (schema, item)
        })
    })
}

fn arb_path() -> impl Strategy<Value = DocumentPath> {
    (
        arb_text(),
        vec(prop_oneof![arb_text().prop_map(PathElement::Name), (0u64..100).prop_map(PathElement::Index)], 0..3),
    )
        .prop_map(|(first, rest)| {
            let mut v = vec![PathElement::Name(first)];
            v.extend(rest);
            DocumentPath(v)
        })
}

/// Operands referencing up to `nvalues` values.
fn arb_operand(nvalues: usize) -> BoxedStrategy<Expr> {
    let leaf = prop_oneof![
        arb_path().prop_map(Expr::Path),
        (0..nvalues).prop_map(Expr::Value),
        arb_path().prop_map(|p| Expr::Call(Function::Size, vec![Expr::Path(p)])),
    ];
    leaf.prop_recursive(2, 8, 2, move |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::Plus(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::Minus(Box::new(a), Box::new(b))),
            (arb_path(), inner.clone()).prop_map(|(p, b)| Expr::Call(Function::IfNotExists, vec![Expr::Path(p), b])),
            (inner.clone(), inner).prop_map(|(a, b)| Expr::Call(Function::ListAppend, vec![a, b])),
        ]
    })
    .boxed()
}

fn arb_condition(nvalues: usize) -> BoxedStrategy<Expr> {
    let cmp = prop_oneof![
        Just(Comparator::Eq),
        Just(Comparator::Ne),
        Just(Comparator::Lt),
        Just(Comparator::Le),
        Just(Comparator::Gt),
        Just(Comparator::Ge)
    ];
    let op = arb_operand(nvalues);
    let atom = prop_oneof![
        (cmp, op.clone(), op.clone()).prop_map(|(c, a, b)| Expr::Compare(c, Box::new(a), Box::new(b))),
        (op.clone(), op.clone(), op.clone()).prop_map(|(a, b, c)| Expr::Between(Box::new(a), Box::new(b), Box::new(c))),
        (op.clone(), vec(op.clone(), 1..4)).prop_map(|(a, l)| Expr::In(Box::new(a), l)),
        arb_path().prop_map(|p| Expr::Call(Function::AttributeExists, vec![Expr::Path(p)])),
        arb_path().prop_map(|p| Expr::Call(Function::AttributeNotExists, vec![Expr::Path(p)])),
        (arb_path(), op.clone()).prop_map(|(p, o)| Expr::Call(Function::AttributeType, vec![Expr::Path(p), o])),
        (arb_path(), op.clone()).prop_map(|(p, o)| Expr::Call(Function::BeginsWith, vec![Expr::Path(p), o])),
        (arb_path(), op).prop_map(|(p, o)| Expr::Call(Function::Contains, vec![Expr::Path(p), o])),
    ];
    atom.prop_recursive(4, 16, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|a| Expr::Not(Box::new(a))),
        ]
    })
    .boxed()
}

fn arb_condition_expr() -> impl Strategy<Value = ConditionExpression> {
    vec(arb_av(), 1..4).prop_flat_map(|values| {
        let n = values.len();
        (arb_condition(n), Just(values)).prop_map(|(expr, values)| ConditionExpression { expr, values })
    })
}

fn arb_update_expr() -> impl Strategy<Value = UpdateExpression> {
    vec(arb_av(), 1..4).prop_flat_map(|values| {
        let n = values.len();
        let action = prop_oneof![
            (arb_path(), arb_operand(n)).prop_map(|(p, v)| UpdateAction::Set(p, v)),
            (arb_path(), (0..n).prop_map(Expr::Value)).prop_map(|(p, v)| UpdateAction::Add(p, v)),
            (arb_path(), (0..n).prop_map(Expr::Value)).prop_map(|(p, v)| UpdateAction::Delete(p, v)),
            arb_path().prop_map(UpdateAction::Remove),
        ];
        (vec(action, 1..5), Just(values)).prop_map(|(actions, values)| UpdateExpression { actions, values })
    })
}

fn arb_projection() -> impl Strategy<Value = ProjectionExpression> {
    vec(arb_path(), 1..4).prop_map(|paths| ProjectionExpression { paths })
}

fn arb_bytes() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..12)
}

fn arb_rcc() -> impl Strategy<Value = ReturnConsumedCapacity> {
    prop_oneof![
        Just(ReturnConsumedCapacity::None),
        Just(ReturnConsumedCapacity::Total),
        Just(ReturnConsumedCapacity::Indexes)
    ]
}

fn arb_rv() -> impl Strategy<Value = ReturnValues> {
    prop_oneof![
        Just(ReturnValues::None),
        Just(ReturnValues::AllOld),
        Just(ReturnValues::UpdatedOld),
        Just(ReturnValues::AllNew),
        Just(ReturnValues::UpdatedNew)
    ]
}

fn arb_ricm() -> impl Strategy<Value = ReturnItemCollectionMetrics> {
    prop_oneof![Just(ReturnItemCollectionMetrics::None), Just(ReturnItemCollectionMetrics::Size)]
}

fn arb_request() -> impl Strategy<Value = Request> {
    let name = "[a-zA-Z0-9_.-]{3,12}";
    prop_oneof![
        Just(Request::Endpoints),
        name.prop_map(|table_name| Request::DefineKeySchema { table_name }),
        vec(arb_text(), 1..4).prop_map(|attribute_names| Request::DefineAttributeListId { attribute_names }),
        any::<u64>().prop_map(|attribute_list_id| Request::DefineAttributeList { attribute_list_id }),
        (name, arb_bytes(), any::<bool>(), arb_rcc(), proptest::option::of(arb_projection())).prop_map(
            |(table_name, key, consistent_read, return_consumed_capacity, projection)| {
                Request::GetItem(GetItemRequest {
                    table_name,
                    key,
                    consistent_read,
                    return_consumed_capacity,
                    projection,
                })
            }
        ),
        (name, arb_bytes(), arb_bytes(), proptest::option::of(arb_condition_expr()), arb_rv(), arb_rcc(), arb_ricm())
            .prop_map(|(table_name, key, value, condition, return_values, rcc, ricm)| {
                Request::PutItem(PutItemRequest {
                    table_name,
                    key,
                    value,
                    condition,
                    return_values,
                    return_consumed_capacity: rcc,
                    return_item_collection_metrics: ricm,
                })
            }),
        (
            name,
            arb_bytes(),
            proptest::option::of(arb_update_expr()),
            proptest::option::of(arb_condition_expr()),
            arb_rv()
        )
            .prop_map(|(table_name, key, update, condition, return_values)| {
                Request::UpdateItem(UpdateItemRequest {
                    table_name,
                    key,
                    update,
                    condition,
                    return_values,
                    ..Default::default()
                })
            }),
        (name, arb_bytes(), proptest::option::of(arb_condition_expr())).prop_map(|(table_name, key, condition)| {
            Request::DeleteItem(DeleteItemRequest { table_name, key, condition, ..Default::default() })
        }),
        (
            name,
            proptest::option::of(arb_condition_expr()),
            proptest::option::of(arb_condition_expr()),
            proptest::option::of(arb_projection()),
            proptest::option::of(name),
            proptest::option::of(arb_bytes()),
            proptest::option::of(any::<u64>()),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(table_name, kc, filter, projection, index_name, esk, limit, cr, fwd)| {
                Request::Query(QueryRequest {
                    table_name,
                    key_condition: kc,
                    filter,
                    projection,
                    index_name,
                    exclusive_start_key: esk,
                    limit,
                    consistent_read: cr,
                    scan_index_forward: fwd,
                    select: Some(Select::SpecificAttributes),
                    return_consumed_capacity: ReturnConsumedCapacity::Indexes,
                })
            }),
        (
            name,
            proptest::option::of(arb_condition_expr()),
            proptest::option::of(0u64..10),
            proptest::option::of(1u64..10)
        )
            .prop_map(|(table_name, filter, segment, total_segments)| {
                Request::Scan(ScanRequest {
                    table_name,
                    filter,
                    segment,
                    total_segments,
                    select: Some(Select::Count),
                    ..Default::default()
                })
            }),
        vec((name, any::<bool>(), proptest::option::of(arb_projection()), vec(arb_bytes(), 0..3)), 0..3).prop_map(
            |tables| {
                Request::BatchGetItem(BatchGetItemRequest {
                    tables: tables
                        .into_iter()
                        .map(|(table_name, consistent_read, projection, keys)| BatchGetTable {
                            table_name,
                            consistent_read,
                            projection,
                            keys,
                        })
                        .collect(),
                    return_consumed_capacity: ReturnConsumedCapacity::Total,
                })
            }
        ),
        vec((name, vec((arb_bytes(), proptest::option::of(arb_bytes())), 0..3)), 0..3).prop_map(|tables| {
            Request::BatchWriteItem(BatchWriteItemRequest {
                tables: tables
                    .into_iter()
                    .map(|(table_name, writes)| BatchWriteTable {
                        table_name,
                        writes: writes
                            .into_iter()
                            .map(|(key, v)| match v {
                                Some(value) => BatchWrite::Put { key, value },
                                None => BatchWrite::Delete { key },
                            })
                            .collect(),
                    })
                    .collect(),
                return_consumed_capacity: ReturnConsumedCapacity::None,
                return_item_collection_metrics: ReturnItemCollectionMetrics::Size,
            })
        }),
        vec((name, arb_bytes(), proptest::option::of(arb_projection())), 0..3).prop_map(|items| {
            Request::TransactGetItems(TransactGetItemsRequest {
                items: items
                    .into_iter()
                    .map(|(table_name, key, projection)| TransactGetItem { table_name, key, projection })
                    .collect(),
                return_consumed_capacity: ReturnConsumedCapacity::None,
            })
        }),
        vec(
            (
                prop_oneof![
                    Just(TransactOperation::Put),
                    Just(TransactOperation::Delete),
                    Just(TransactOperation::Update),
                    Just(TransactOperation::ConditionCheck)
                ],
                name,
                arb_bytes(),
                proptest::option::of(arb_bytes()),
                any::<bool>(),
                proptest::option::of(arb_condition_expr()),
                proptest::option::of(arb_update_expr())
            ),
            0..3
        )
        .prop_map(|items| {
            Request::TransactWriteItems(TransactWriteItemsRequest {
                items: items
                    .into_iter()
                    .map(|(operation, table_name, key, value, all_old, condition, update)| TransactWriteItem {
                        operation,
                        table_name,
                        key,
                        value,
                        return_values_on_condition_check_failure: if all_old {
                            ReturnValuesOnConditionCheckFailure::AllOld
                        } else {
                            ReturnValuesOnConditionCheckFailure::None
                        },
                        condition,
                        update,
                    })
                    .collect(),
                return_values: None,
                return_consumed_capacity: ReturnConsumedCapacity::Total,
                return_item_collection_metrics: ReturnItemCollectionMetrics::None,
                client_request_token: Some("tok".into()),
            })
        }),
    ]
}

proptest! {
    #[test]
    fn number_text_round_trip(x in arb_number()) {
        let s = x.to_string();
        prop_assert_eq!(Number::parse(&s).unwrap(), x);
        prop_assert!(!s.contains('e') && !s.contains('E'));
    }

    #[test]
    fn number_cbor_round_trip(x in arb_number()) {
        let v = AttributeValue::N(x);
        prop_assert_eq!(AttributeValue::from_cbor(&v.to_cbor(), &lim()).unwrap(), v);
    }

    #[test]
    fn number_lex_round_trip_and_order(a in arb_number(), b in arb_number()) {
        prop_assert_eq!(Number::from_lex_bytes(&a.to_lex_bytes()).unwrap(), a);
        prop_assert_eq!(a.cmp(&b), a.to_lex_bytes().cmp(&b.to_lex_bytes()), "{} vs {}", a, b);
    }

    #[test]
    fn number_order_matches_f64(a in arb_number(), b in arb_number()) {
        let (fa, fb) = (a.to_f64(), b.to_f64());
        if fa < fb { prop_assert!(a < b); }
        if fa > fb { prop_assert!(a > b); }
    }

    #[test]
    fn number_float_inputs(f in any::<f64>()) {
        // Floats in range become the shortest round-trip decimal; others are refused.
        if let Ok(n) = Number::from_f64(f) {
            prop_assert_eq!(n.to_f64(), f + 0.0);
        }
    }

    #[test]
    fn number_parse_never_panics(s in "[-+0-9.eE]{0,20}") {
        let _ = Number::parse(&s);
    }

    #[test]
    fn number_trailing_zeros_canonical(x in arb_number(), zeros in 0usize..5) {
        let s = x.to_string();
        let padded = if s.contains('.') { format!("{s}{}", "0".repeat(zeros)) } else { s.clone() };
        prop_assert_eq!(Number::parse(&padded).unwrap(), x);
    }

    #[test]
    fn value_cbor_round_trip(v in arb_av()) {
        prop_assert_eq!(AttributeValue::from_cbor(&v.to_cbor(), &lim()).unwrap(), v);
    }

    #[test]
    fn value_json_round_trip(v in arb_av()) {
        prop_assert_eq!(AttributeValue::from_json(&v.to_json()).unwrap(), v);
    }

    #[test]
    fn value_bytes_round_trip(id in 1u64..1_000_000, vals in vec(arb_av(), 0..5)) {
        let refs: Vec<&AttributeValue> = vals.iter().collect();
        let b = encode_value_bytes(id, &refs);
        prop_assert_eq!(decode_value_bytes(&b, &lim()).unwrap(), (id, vals));
    }

    #[test]
    fn key_round_trip((schema, item) in arb_key()) {
        let b = encode_key(&item, &schema).unwrap();
        prop_assert_eq!(decode_key(&b, &schema, &lim()).unwrap(), item);
    }

    /// The fast path gives what decoding and encoding give, on keys as clients encode
    /// them and on any bytes.
    #[test]
    fn canonical_key_is_encode_of_decode((schema, item) in arb_key(), noise in vec(any::<u8>(), 0..12)) {
        let b = encode_key(&item, &schema).unwrap();
        for bytes in [b.clone(), noise.clone(), [b.as_slice(), noise.as_slice()].concat()] {
            let slow = decode_key(&bytes, &schema, &lim()).and_then(|k| encode_key(&k, &schema));
            prop_assert_eq!(canonical_key(&bytes, &schema, &lim()).map(|c| c.into_owned()), slow);
        }
    }

    #[test]
    fn compound_key_round_trip(key in btree_map(arb_text(), arb_av(), 0..4)) {
        prop_assert_eq!(decode_compound_key(&encode_compound_key(&key), &lim()).unwrap(), key);
    }

    #[test]
    fn condition_round_trip(c in arb_condition_expr()) {
        prop_assert_eq!(ConditionExpression::decode(&c.encode(), &lim()).unwrap(), c.clone());
        let mut w = ExpressionWriter::new();
        let text = w.condition(&c, "c");
        prop_assert!(!text.is_empty());
        for k in w.values().keys() {
            prop_assert!(text.contains(k.as_str()));
        }
    }

    #[test]
    fn update_round_trip(u in arb_update_expr()) {
        prop_assert_eq!(UpdateExpression::decode(&u.encode(), &lim()).unwrap(), u.clone());
        let text = ExpressionWriter::new().update(&u, "u");
        prop_assert!(text.starts_with("SET") || text.starts_with("ADD") || text.starts_with("DELETE") || text.starts_with("REMOVE"));
    }

    #[test]
    fn projection_round_trip(p in arb_projection()) {
        prop_assert_eq!(ProjectionExpression::decode(&p.encode(), &lim()).unwrap(), p);
    }

    #[test]
    fn request_round_trip(r in arb_request()) {
        let bytes = r.encode();
        let (f, used) = try_decode(&bytes, &lim()).unwrap().unwrap();
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(f, Frame::Request(r));
    }

    #[test]
    fn request_split_anywhere(r in arb_request(), cut in any::<prop::sample::Index>()) {
        let mut bytes = r.encode();
        let second = Request::Endpoints.encode();
        let first_len = bytes.len();
        bytes.extend_from_slice(&second);
        let cut = cut.index(first_len);
        prop_assert_eq!(try_decode(&bytes[..cut], &lim()).unwrap(), None);
        let (_, used) = try_decode(&bytes, &lim()).unwrap().unwrap();
        prop_assert_eq!(used, first_len);
    }
}
