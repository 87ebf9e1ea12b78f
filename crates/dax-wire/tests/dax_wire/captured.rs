//! Decodes bytes recorded from the official Python client 2.1.0 by
//! `tests/capture/capture.py` (a stub TCP server answering with canned bytes).

use dax_wire::*;

const SESSION: &[u8] = include_bytes!("../fixtures/py_session.bin");
const PREAMBLE: &[u8] = include_bytes!("../fixtures/py_preamble.bin");
const GET: &[u8] = include_bytes!("../fixtures/py_get_item.bin");
const GET_PROJ: &[u8] = include_bytes!("../fixtures/py_get_item_projection.bin");
const PUT: &[u8] = include_bytes!("../fixtures/py_put_item.bin");
const QUERY: &[u8] = include_bytes!("../fixtures/py_query.bin");
const UPDATE: &[u8] = include_bytes!("../fixtures/py_update_item.bin");
const DELETE: &[u8] = include_bytes!("../fixtures/py_delete_item.bin");
const SCAN: &[u8] = include_bytes!("../fixtures/py_scan.bin");
const BATCH_GET: &[u8] = include_bytes!("../fixtures/py_batch_get_item.bin");
const BATCH_WRITE: &[u8] = include_bytes!("../fixtures/py_batch_write_item.bin");
const TRANSACT_GET: &[u8] = include_bytes!("../fixtures/py_transact_get_items.bin");
const TRANSACT_WRITE: &[u8] = include_bytes!("../fixtures/py_transact_write_items.bin");

fn lim() -> Limits {
    Limits::default()
}

fn t1() -> KeySchema {
    KeySchema::hash_only("pk", KeyType::S)
}

fn t2() -> KeySchema {
    KeySchema::hash_range("pk", KeyType::S, "sk", KeyType::N)
}

fn num(v: &str) -> AttributeValue {
    AttributeValue::N(Number::parse(v).unwrap())
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// Decodes a burst of request frames (no preamble).
fn requests(bytes: &[u8]) -> Vec<Request> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < bytes.len() {
        match try_decode(&bytes[pos..], &lim()).expect("decodes").expect("complete") {
            (Frame::Request(r), n) => {
                out.push(r);
                pos += n;
            }
            (Frame::Rejected { method, error }, _) => panic!("{method:?} rejected: {error}"),
        }
    }
    out
}

/// The last request of a burst (the operation; earlier ones are auth or define*).
fn last(bytes: &[u8]) -> Request {
    let r = requests(bytes).pop().expect("a request");
    // Every captured request survives our own encoder.
    let again = r.encode();
    assert_eq!(requests(&again), vec![r.clone()]);
    r
}

#[test]
fn whole_session_decodes_in_order() {
    let mut d = StreamDecoder::new(lim());
    let mut pos = 0;
    let mut methods = Vec::new();
    while pos < SESSION.len() {
        let (ev, n) = d.decode(&SESSION[pos..]).unwrap().unwrap();
        pos += n;
        match ev {
            Event::Preamble(p) => {
                assert_eq!(p.user_agent.as_deref(), Some("DaxPythonClient-2.1.0"));
                assert!(matches!(p.session_id, SessionId::Bytes(ref b) if b.len() <= 16));
            }
            Event::Frame(Frame::Request(r)) => methods.push(r.method()),
            Event::Frame(f) => panic!("{f:?}"),
        }
    }
    use Method::*;
    assert_eq!(
        methods,
        vec![
            AuthorizeConnection,
            DefineKeySchema,
            GetItem,
            DefineAttributeListId,
            PutItem,
            DefineKeySchema,
            Query,
            UpdateItem,
            DeleteItem,
            GetItem,
            Scan,
            BatchGetItem,
            BatchWriteItem,
            TransactGetItems,
            TransactWriteItems,
        ]
    );
}

#[test]
fn preamble_and_auth() {
    let (p, n) = try_decode_preamble(PREAMBLE, &lim()).unwrap().unwrap();
    assert_eq!(p.layering, 0);
    assert_eq!(p.client_mode, 0);
    let reqs = requests(&PREAMBLE[n..]);
    let Request::AuthorizeConnection(a) = &reqs[0] else { panic!() };
    assert_eq!(a.access_key_id, "AKIDEXAMPLE");
    assert_eq!(a.signature.len(), 64);
    assert_eq!(a.user_agent.as_deref(), Some("DaxPythonClient-2.1.0"));
    assert!(a.session_token.is_none());
    let sts = parse_string_to_sign(&a.string_to_sign).unwrap();
    assert_eq!(sts.region, "us-east-1");
    assert!(sts.has_known_canonical_request());
    assert_eq!(
        std::str::from_utf8(&a.string_to_sign).unwrap(),
        expected_string_to_sign(sts.amz_date, "us-east-1", SIGNED_HOST)
    );
    assert_eq!(reqs[1], Request::DefineKeySchema { table_name: "t1".into() });
}

#[test]
fn get_item() {
    let Request::GetItem(g) = last(GET) else { panic!() };
    assert_eq!(g.table_name, "t1");
    assert_eq!(decode_key(&g.key, &t1(), &lim()).unwrap()["pk"], s("a"));
    // Python always sends RCC, so our encoder reproduces its bytes exactly.
    assert_eq!(Request::GetItem(g).encode(), GET);

    let Request::GetItem(g) = last(GET_PROJ) else { panic!() };
    assert!(g.consistent_read);
    let mut w = ExpressionWriter::new();
    assert_eq!(w.projection(g.projection.as_ref().unwrap()), "#n0, #n1.#n2, #n3[2].#n4, #n5[1][3]");
    assert_eq!(w.names()["#n3"], "name");
}

#[test]
fn put_item() {
    let reqs = requests(PUT);
    let Request::PutItem(p) = reqs.last().unwrap() else { panic!() };
    let (id, values) = decode_value_bytes(&p.value, &lim()).unwrap();
    assert_eq!(id, 2);
    assert_eq!(values, vec![num("42"), s("hi")]);
}

#[test]
fn query() {
    let Request::Query(q) = last(QUERY) else { panic!() };
    assert_eq!(q.table_name, "t2");
    assert_eq!(q.limit, Some(10));
    assert!(!q.scan_index_forward);
    assert_eq!(q.return_consumed_capacity, ReturnConsumedCapacity::Total);
    let mut w = ExpressionWriter::new();
    let kc = w.condition(q.key_condition.as_ref().unwrap(), "k");
    assert_eq!(kc, "#n0 = :k0 AND #n1 BETWEEN :k1 AND :k2");
    assert_eq!(w.values()[":k2"], num("2.5"));
    assert_eq!(
        w.values_json().unwrap(),
        serde_json::json!({":k0": {"S": "h"}, ":k1": {"N": "1"}, ":k2": {"N": "2.5"}})
    );
    assert_eq!(w.names_json().unwrap(), serde_json::json!({"#n0": "pk", "#n1": "sk"}));
}

#[test]
fn update_item() {
    let Request::UpdateItem(u) = last(UPDATE) else { panic!() };
    assert_eq!(u.return_values, ReturnValues::UpdatedNew);
    let mut w = ExpressionWriter::new();
    let cond = w.condition(u.condition.as_ref().unwrap(), "c");
    let upd = w.update(u.update.as_ref().unwrap(), "u");
    assert_eq!(cond, "attribute_exists(#n0) AND (#n1 <> :c0 OR size(#n2) > :c1)");
    assert_eq!(upd, "SET #n1 = :u0, #n3 = #n3 + :u1 REMOVE #n4 ADD #n5 :u1 DELETE #n6 :u2");
    assert_eq!(w.names()["#n1"], "name");
    assert_eq!(w.values()[":u2"], AttributeValue::Ss(vec!["p".into(), "q".into()]));
}

#[test]
fn delete_item() {
    let Request::DeleteItem(d) = last(DELETE) else { panic!() };
    assert_eq!(d.return_values, ReturnValues::AllOld);
    assert_eq!(ExpressionWriter::new().condition(d.condition.as_ref().unwrap(), "c"), "attribute_not_exists(#n0)");
}

#[test]
fn scan() {
    let Request::Scan(sc) = last(SCAN) else { panic!() };
    assert_eq!((sc.segment, sc.total_segments), (Some(1), Some(4)));
    assert_eq!(sc.select, Some(Select::Count));
    let f = sc.filter.as_ref().unwrap();
    assert_eq!(f.values[1], num("-12345678901234567890123"));
    assert_eq!(ExpressionWriter::new().condition(f, "f"), "#n0 IN (:f0, :f1) AND NOT (begins_with(#n1, :f0))");
}

#[test]
fn batch_get_item() {
    let Request::BatchGetItem(b) = last(BATCH_GET) else { panic!() };
    assert_eq!(b.tables.len(), 2);
    let t1_entry = b.tables.iter().find(|t| t.table_name == "t1").unwrap();
    assert!(t1_entry.consistent_read);
    assert_eq!(t1_entry.keys, vec![b"a".to_vec(), b"b".to_vec()]);
    let t2_entry = b.tables.iter().find(|t| t.table_name == "t2").unwrap();
    let key = decode_key(&t2_entry.keys[0], &t2(), &lim()).unwrap();
    assert_eq!(key["sk"], num("2.5"));
    assert!(t2_entry.projection.is_some());
}

#[test]
fn batch_write_item() {
    let Request::BatchWriteItem(b) = last(BATCH_WRITE) else { panic!() };
    let w = &b.tables[0].writes;
    assert!(matches!(&w[0], BatchWrite::Put { key, .. } if key == b"c"));
    assert_eq!(w[1], BatchWrite::Delete { key: b"d".to_vec() });
}

#[test]
fn transact_get_items() {
    let Request::TransactGetItems(t) = last(TRANSACT_GET) else { panic!() };
    assert_eq!(t.items.len(), 2);
    assert!(t.items[0].projection.is_none());
    let key = decode_key(&t.items[1].key, &t2(), &lim()).unwrap();
    assert_eq!(key["sk"], num("-0.5"));
}

#[test]
fn transact_write_items() {
    let Request::TransactWriteItems(t) = last(TRANSACT_WRITE) else { panic!() };
    let ops: Vec<_> = t.items.iter().map(|i| i.operation).collect();
    assert_eq!(
        ops,
        vec![
            TransactOperation::Put,
            TransactOperation::Update,
            TransactOperation::Delete,
            TransactOperation::ConditionCheck
        ]
    );
    assert_eq!(t.client_request_token.as_deref(), Some("tok-1"));
    assert_eq!(t.items[1].return_values_on_condition_check_failure, ReturnValuesOnConditionCheckFailure::AllOld);
    let u = t.items[1].update.as_ref().unwrap();
    assert_eq!(u.values, vec![num("100000")]);
    assert!(t.items[0].value.is_some() && t.items[2].value.is_none());
}
