//! Every byte sequence shown in the DAX protocol description dax-wire was written from (kept
//! outside this repository), decoded and re-encoded.

use dax_wire::*;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

fn lim() -> Limits {
    Limits::default()
}

fn n(s: &str) -> Number {
    Number::parse(s).expect("number")
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn num(v: &str) -> AttributeValue {
    AttributeValue::N(n(v))
}

fn item(pairs: &[(&str, AttributeValue)]) -> Item {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

/// Decodes one request frame that must be complete and valid.
fn request(bytes: &[u8]) -> Request {
    match try_decode(bytes, &lim()) {
        Ok(Some((Frame::Request(r), used))) => {
            assert_eq!(used, bytes.len(), "whole frame consumed");
            r
        }
        other => panic!("not a request: {other:?}"),
    }
}

/// Decodes, re-encodes and checks the re-encoding decodes to the same request; when
/// `exact`, also that the bytes are identical.
fn round_trip(bytes: &[u8], exact: bool) -> Request {
    let r = request(bytes);
    let again = r.encode();
    if exact {
        assert_eq!(again, bytes, "re-encoding of {r:?}");
    }
    assert_eq!(request(&again), r);
    r
}

fn t1() -> KeySchema {
    KeySchema::hash_only("pk", KeyType::S)
}

fn t2() -> KeySchema {
    KeySchema::hash_range("pk", KeyType::S, "sk", KeyType::N)
}

// ---- §1.3 preamble ------------------------------------------------------------------------

#[test]
fn preamble_python() {
    let bytes = hex("67 4a37796e653547 00 50 d3f07edefbb41399b37c4354530f8079
         a1 69 557365724167656e74 75 446178507974686f6e436c69656e742d322e312e30 00");
    let (p, used) = try_decode_preamble(&bytes, &lim()).unwrap().unwrap();
    assert_eq!(used, bytes.len());
    assert_eq!(p.layering, 0);
    assert_eq!(p.client_mode, 0);
    assert_eq!(p.session_id, SessionId::Bytes(hex("d3f07edefbb41399b37c4354530f8079")));
    assert_eq!(p.user_agent.as_deref(), Some("DaxPythonClient-2.1.0"));
    assert_eq!(p.encode(), bytes);
}

#[test]
fn preamble_session_id_variants() {
    for sid in [SessionId::None, SessionId::Text("-1234567890123".into()), SessionId::Bytes(vec![1, 2, 3])] {
        let p = Preamble { session_id: sid, user_agent: Some("DaxGoV2Client-1.0.3".into()), ..Preamble::default() };
        let (q, _) = try_decode_preamble(&p.encode(), &lim()).unwrap().unwrap();
        assert_eq!(p, q);
    }
    // Indefinite header map with an unknown extra header.
    let bytes = hex("67 4a37796e653547 00 f6 bf 61 78 01 69 557365724167656e74 61 75 ff 00");
    let (p, _) = try_decode_preamble(&bytes, &lim()).unwrap().unwrap();
    assert_eq!(p.user_agent.as_deref(), Some("u"));
    // Wrong magic fails at once.
    assert!(try_decode_preamble(&hex("01"), &lim()).is_err());
}

// ---- §2 auth ------------------------------------------------------------------------------

const STS_VECTOR: &str = "AWS4-HMAC-SHA256\n20240101T000000Z\n20240101/us-east-1/dax/aws4_request\n2b8d66a38b52b11b008d6d03e55e381356e0b4bc462bba2236c158792b5f3eef";

#[test]
fn string_to_sign_vector() {
    assert_eq!(expected_string_to_sign("20240101T000000Z", "us-east-1", SIGNED_HOST), STS_VECTOR);
    let go = expected_string_to_sign("20240101T000000Z", "us-east-1", SIGNED_HOST_GO);
    assert!(go.ends_with("549583b766b67579405ea2214348e8a4d8b3ba045f19b2b2218707cb502c1b77"));
    let p = parse_string_to_sign(STS_VECTOR.as_bytes()).unwrap();
    assert_eq!(p.amz_date, "20240101T000000Z");
    assert_eq!(p.date, "20240101");
    assert_eq!(p.region, "us-east-1");
    assert_eq!(p.service, "dax");
    assert!(p.has_known_canonical_request());
    let go_p = parse_string_to_sign(go.as_bytes()).unwrap();
    assert!(go_p.has_known_canonical_request());
    for bad in [
        "",
        "AWS4-HMAC-SHA256\n20240101T000000Z\n20240102/us-east-1/dax/aws4_request\n2b8d66a38b52b11b008d6d03e55e381356e0b4bc462bba2236c158792b5f3eef",
        "AWS4-HMAC-SHA256\n20240101T000000Z\n20240101/us-east-1/s3/aws4_request\n2b8d66a38b52b11b008d6d03e55e381356e0b4bc462bba2236c158792b5f3eef",
        "AWS4-HMAC-SHA1\n20240101T000000Z\n20240101/us-east-1/dax/aws4_request\n2b8d66a38b52b11b008d6d03e55e381356e0b4bc462bba2236c158792b5f3eef",
        "AWS4-HMAC-SHA256\n20240101T000000Z\n20240101/us-east-1/dax/aws4_request\nzz",
        "AWS4-HMAC-SHA256\n20240101T000000Z\n20240101/us-east-1/dax/aws4_request\n2b8d66a38b52b11b008d6d03e55e381356e0b4bc462bba2236c158792b5f3eef\n",
    ] {
        assert!(parse_string_to_sign(bad.as_bytes()).is_err(), "{bad:?}");
    }
}

/// HMAC-SHA256 (test-only, to check the doc's signature against the string-to-sign).
fn hmac(key: &[u8], msg: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::digest([ipad.as_slice(), msg].concat());
    Sha256::digest([opad.as_slice(), inner.as_slice()].concat()).to_vec()
}

#[test]
fn signature_vector() {
    let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), b"20240101");
    for part in ["us-east-1", "dax", "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let sig: String = hmac(&key, STS_VECTOR.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(sig, "090d47a2d628e30560d3ad88607755bdbbc890d5ad915c52e905e6e2a81243c8");
}

#[test]
fn authorize_connection_frame() {
    let a = AuthorizeConnection {
        access_key_id: "AKIDEXAMPLE".into(),
        signature: "090d47a2d628e30560d3ad88607755bdbbc890d5ad915c52e905e6e2a81243c8".into(),
        string_to_sign: STS_VECTOR.as_bytes().to_vec(),
        session_token: Some("token".into()),
        user_agent: None,
    };
    let bytes = Request::AuthorizeConnection(a.clone()).encode();
    assert_eq!(&bytes[..6], &hex("01 1a58c2336b")[..]);
    assert_eq!(round_trip(&bytes, true), Request::AuthorizeConnection(a.clone()));
    assert!(!format!("{a:?}").contains("token\""), "session token must not be printed");
}

// ---- §3.4 method ids ----------------------------------------------------------------------

#[test]
fn method_ids() {
    let table = [
        (Method::AuthorizeConnection, "1a58c2336b"),
        (Method::Endpoints, "1a1b2bcf02"),
        (Method::DefineKeySchema, "3a2c43e27e"),
        (Method::DefineAttributeListId, "3a495927bb"),
        (Method::DefineAttributeList, "1a27f9bd71"),
        (Method::GetItem, "1a0fb0cc6a"),
        (Method::PutItem, "3a7d8e7e56"),
        (Method::DeleteItem, "1a3c696221"),
        (Method::UpdateItem, "1a54f89c0f"),
        (Method::Query, "3a3781c2ae"),
        (Method::Scan, "3a6fc8309b"),
        (Method::BatchGetItem, "3a29985cdb"),
        (Method::BatchWriteItem, "1a06ed585f"),
        (Method::TransactGetItems, "1a6f3d49db"),
        (Method::TransactWriteItems, "3a4524c569"),
    ];
    for (m, h) in table {
        let id = i64::from(m.id());
        let enc = hex(h);
        let (major, mag) = (enc[0] >> 5, u32::from_be_bytes([enc[1], enc[2], enc[3], enc[4]]));
        let decoded = if major == 0 { i64::from(mag) } else { -1 - i64::from(mag) };
        assert_eq!(decoded, id, "{m:?}");
        assert_eq!(Method::from_id(id), Some(m));
    }
    for (name, h) in [
        ("methods", "1a2ecb30e7"),
        ("services", "3a3c9b09af"),
        ("createTable", "3a12ae94f5"),
        ("deleteTable", "1a7e643439"),
        ("describeTable", "3a30d5fc90"),
        ("updateTable", "1a16df8595"),
        ("listTables", "1a6fb4ca33"),
        ("describeLimits", "3a1c5a034e"),
    ] {
        let frame = [hex("01"), hex(h)].concat();
        let Err(WireError::UnknownMethod(id)) = try_decode(&frame, &lim()) else {
            panic!("{name} should be unknown");
        };
        assert_eq!(reserved_method_name(id), Some(name));
        assert!(is_reserved_method(id));
    }
}

// ---- §4 control methods -------------------------------------------------------------------

#[test]
fn endpoints() {
    assert_eq!(round_trip(&hex("01 1a1b2bcf02"), true), Request::Endpoints);
    let answer = hex("80 81 a7 00 01 01 69 6c6f63616c686f7374 02 44 7f000001 03 19 1faf 04 01 05 6a
         75732d656173742d3161 06 18 2a");
    let ep = Endpoint {
        node_id: 1,
        hostname: "localhost".into(),
        address: IpAddr::V4(Ipv4Addr::LOCALHOST),
        port: 8111,
        role: NodeRole::Leader,
        availability_zone: "us-east-1a".into(),
        leader_session_id: 42,
    };
    assert_eq!(encode_endpoints(std::slice::from_ref(&ep)), answer);
    let v6 = Endpoint { address: "::1".parse().unwrap(), role: NodeRole::Replica, ..ep };
    let b = encode_endpoints(&[v6]);
    assert!(b.windows(17).any(|w| w[0] == 0x50 && w[16] == 1), "16-byte address");
}

#[test]
fn define_key_schema() {
    let r = round_trip(&hex("01 3a2c43e27e 42 7431"), true);
    assert_eq!(r, Request::DefineKeySchema { table_name: "t1".into() });
    assert_eq!(encode_key_schema(&t1()), hex("80 a1 62 706b 61 53"));
    assert_eq!(encode_key_schema(&t2()), hex("80 a2 62706b 6153 62736b 614e"));
}

#[test]
fn attribute_lists() {
    let r = round_trip(&hex("01 3a495927bb 82 616e 6173"), true);
    assert_eq!(r, Request::DefineAttributeListId { attribute_names: vec!["n".into(), "s".into()] });
    assert_eq!(encode_attribute_list_id(2), hex("80 02"));
    let r = round_trip(&hex("01 1a27f9bd71 02"), true);
    assert_eq!(r, Request::DefineAttributeList { attribute_list_id: 2 });
    assert_eq!(encode_attribute_list(&["n".into(), "s".into()]), hex("80 82 616e 6173"));
}

// ---- §5 values, numbers, keys -------------------------------------------------------------

#[test]
fn number_encodings() {
    let l = lim();
    // Python decimals.
    assert_eq!(AttributeValue::from_cbor(&hex("c4 82 20 18 19"), &l).unwrap(), num("2.5"));
    assert_eq!(num("2.5").to_cbor(), hex("c4 82 20 18 19"));
    assert_eq!(AttributeValue::from_cbor(&hex("c4 82 02 2e"), &l).unwrap(), num("-1500"));
    // JavaScript float64.
    assert_eq!(AttributeValue::from_cbor(&hex("fb 4004000000000000"), &l).unwrap(), num("2.5"));
    // 0.1 as float64 is the shortest round-trip decimal "0.1".
    assert_eq!(AttributeValue::from_cbor(&hex("fb 3fb999999999999a"), &l).unwrap(), num("0.1"));
    // JS "1e300" → [300, 1] is out of DynamoDB's range.
    assert!(matches!(
        AttributeValue::from_cbor(&hex("c4 82 19 012c 01"), &l),
        Err(WireError::Validation(m)) if m == NUMBER_OVERFLOW
    ));
    // Bignums (tag 2/3) and ints of every width.
    let big = hex("c2 4a 029d42b64e76714244cb");
    assert_eq!(AttributeValue::from_cbor(&big, &l).unwrap(), num("12345678901234567890123"));
    assert_eq!(num("12345678901234567890123").to_cbor(), big);
    let neg_big = hex("c3 4a 029d42b64e76714244ca");
    assert_eq!(AttributeValue::from_cbor(&neg_big, &l).unwrap(), num("-12345678901234567890123"));
    assert_eq!(num("-12345678901234567890123").to_cbor(), neg_big);
    for (h, v) in [
        ("00", "0"),
        ("17", "23"),
        ("18 18", "24"),
        ("19 0100", "256"),
        ("1a 00010000", "65536"),
        ("1b 0000000100000000", "4294967296"),
        ("20", "-1"),
        ("3b ffffffffffffffff", "-18446744073709551616"),
        ("f9 3e00", "1.5"),
        ("fa 3fc00000", "1.5"),
    ] {
        assert_eq!(AttributeValue::from_cbor(&hex(h), &l).unwrap(), num(v), "{h}");
    }
    assert_eq!(num("-18446744073709551616").to_cbor(), hex("3b ffffffffffffffff"));
    assert_eq!(num("18446744073709551616").to_cbor(), hex("c2 49 010000000000000000"));
    // A decimal whose mantissa is a bignum.
    assert_eq!(
        AttributeValue::from_cbor(&hex("c4 82 38 24 c2 4a 029d42b64e76714244cb"), &l).unwrap(),
        num("1.2345678901234567890123E-15")
    );
    let tiny = num("-1.2345678901234567890123456789012345678E-100");
    assert_eq!(AttributeValue::from_cbor(&tiny.to_cbor(), &l).unwrap(), tiny);
}

#[test]
fn lexdecimal_vectors() {
    for (v, h) in [
        ("0", "80"),
        ("1", "c11c0000"),
        ("-1", "3ee3fff0"),
        ("2.5", "c1418010"),
        ("-2", "3ecafff0"),
        ("-0.5", "3f7ffff0"),
        ("10", "c21c0010"),
        ("100", "c31c0020"),
        ("1000", "c41c00c000"),
        ("123.456", "c321dd4008"),
        ("-123.456", "3cde22bff4"),
        ("1E+10", "cb1c0000"),
        ("1E-10", "b71c0000"),
        ("0.001", "be1c0000"),
        ("1E+125", "fe8000007e1c0000"),
        ("-1E-130", "7e80000080e3fff0"),
        ("99999999999999999999999999999999999999", "e6fcff3fcff3fcff3fcff3fcff3fcff3fa8010"),
    ] {
        let x = n(v);
        assert_eq!(Number::from_lex_bytes(&hex(h)).unwrap(), x, "decode {v}");
        assert_eq!(Number::from_lex_bytes(&x.to_lex_bytes()).unwrap(), x, "round trip {v}");
        // The server writes integers with all their digits up to 38, as DynamoDB does
        // ("10", not "1E+1"); the clients' "1E+10" as written decodes to the same value.
        if v != "1E+10" {
            assert_eq!(x.to_lex_bytes(), hex(h), "encode {v}");
        }
    }
    assert_eq!(n("1E+10").to_lex_bytes(), n("10000000000").to_lex_bytes());
    assert_eq!(n("1E+10").to_lex_bytes(), hex("cb1c00c0300c0040"));
    // Past 38 digits the coefficient's digits and the exponent, as the clients write
    // them (a 101-digit `1E+100` makes the Python client fail with `decimal.Rounded`).
    assert_eq!(n("1E+100").to_lex_bytes(), hex("fe800000651c0000"));
    assert_eq!(n("1E+37").to_lex_bytes().len(), 1 + (13 * 10 + 10_usize).div_ceil(8));
    assert_eq!(n("12E+36").to_lex_bytes().len(), 1 + (13 * 10 + 10_usize).div_ceil(8));
    assert_eq!(n("1E+38").to_lex_bytes(), hex("e71c0000"));
    assert!(n("1E+38") < n("12E+37") && n("12E+37") > n("1E+37"));
    assert!(n("1E+38").to_lex_bytes() < n("12E+37").to_lex_bytes());
    assert!(n("99999999999999999999999999999999999999").to_lex_bytes() < n("1E+38").to_lex_bytes());
    // "2.50" keeps its trailing zero on the wire and still means 2.5.
    assert_eq!(Number::from_lex_bytes(&hex("c1418020")).unwrap(), n("2.5"));
    assert!(Number::from_lex_bytes(&hex("00")).is_err());
    assert!(Number::from_lex_bytes(&hex("c1")).is_err());
}

#[test]
fn key_bytes() {
    let l = lim();
    let cases: Vec<(KeySchema, Item, &str)> = vec![
        (t1(), item(&[("pk", s("a"))]), "61"),
        (t2(), item(&[("pk", s("h")), ("sk", num("2.5"))]), "6168 c1418010"),
        (
            KeySchema::hash_range("pk", KeyType::S, "sk", KeyType::B),
            item(&[("pk", s("h")), ("sk", AttributeValue::B(vec![1, 2]))]),
            "6168 0102",
        ),
        (
            KeySchema::hash_range("pk", KeyType::B, "sk", KeyType::S),
            item(&[("pk", AttributeValue::B(vec![0xff])), ("sk", s("x"))]),
            "41ff 78",
        ),
        (
            KeySchema::hash_only("pk", KeyType::N),
            item(&[("pk", num("12345678901234567890123"))]),
            "c24a029d42b64e76714244cb",
        ),
    ];
    for (schema, it, h) in cases {
        assert_eq!(encode_key(&it, &schema).unwrap(), hex(h));
        assert_eq!(decode_key(&hex(h), &schema, &l).unwrap(), it);
    }
    // The same JS float key decodes to the same value as the Python decimal.
    let js = decode_key(&hex("fb4004000000000000"), &KeySchema::hash_only("pk", KeyType::N), &l).unwrap();
    let py = decode_key(&hex("c482201819"), &KeySchema::hash_only("pk", KeyType::N), &l).unwrap();
    assert_eq!(js, py);
    assert!(encode_key(&item(&[("pk", num("1"))]), &t1()).is_err());
    assert!(encode_key(&item(&[("x", s("1"))]), &t1()).is_err());
}

#[test]
fn value_bytes() {
    let l = lim();
    let it = item(&[("pk", s("a")), ("n", num("42")), ("s", s("hi"))]);
    let names = t1().non_key_attribute_names(&it);
    assert_eq!(names, vec!["n".to_string(), "s".to_string()]);
    let v = encode_item_values(&it, &names, 2).unwrap();
    assert_eq!(v, hex("02 18 2a 62 6869"));
    let (id, values) = decode_value_bytes(&v, &l).unwrap();
    assert_eq!(id, 2);
    let mut back = assemble_item(&names, values).unwrap();
    back.extend(decode_key(&hex("61"), &t1(), &l).unwrap());
    assert_eq!(back, it);
    // Key-only item: id 1, no values.
    assert_eq!(encode_value_bytes(1, &[]), hex("01"));
    assert_eq!(decode_value_bytes(&hex("01"), &l).unwrap(), (1, vec![]));
    assert!(assemble_item(&names, vec![]).is_err());
}

#[test]
fn attribute_value_types() {
    let l = lim();
    let all = AttributeValue::M(
        [
            ("b", AttributeValue::B(vec![1])),
            ("bool", AttributeValue::Bool(true)),
            ("bs", AttributeValue::Bs(vec![vec![1], vec![2]])),
            ("l", AttributeValue::L(vec![num("1"), s("x")])),
            ("n", num("-1.5")),
            ("ns", AttributeValue::Ns(vec![n("1"), n("2.5")])),
            ("null", AttributeValue::Null),
            ("s", s("x")),
            ("ss", AttributeValue::Ss(vec!["a".into(), "b".into()])),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect::<BTreeMap<_, _>>(),
    );
    let bytes = all.to_cbor();
    assert_eq!(AttributeValue::from_cbor(&bytes, &l).unwrap(), all);
    // Sets use tags 3321..3323 (d9 0cf9 / 0cfa / 0cfb).
    assert_eq!(AttributeValue::Ss(vec!["a".into()]).to_cbor(), hex("d9 0cf9 81 61 61"));
    assert_eq!(AttributeValue::Ns(vec![n("1")]).to_cbor(), hex("d9 0cfa 81 01"));
    assert_eq!(AttributeValue::Bs(vec![vec![1]]).to_cbor(), hex("d9 0cfb 81 41 01"));
    assert_eq!(AttributeValue::Bool(false).to_cbor(), hex("f4"));
    assert_eq!(AttributeValue::Null.to_cbor(), hex("f6"));
    // Indefinite containers and strings are accepted.
    assert_eq!(
        AttributeValue::from_cbor(&hex("9f 7f 61 61 61 62 ff 5f 41 01 ff ff"), &l).unwrap(),
        AttributeValue::L(vec![s("ab"), AttributeValue::B(vec![1])])
    );
    // JSON round trip.
    let json = all.to_json();
    assert_eq!(AttributeValue::from_json(&json).unwrap(), all);
    assert_eq!(serde_json::to_string(&num("1e2").to_json()).unwrap(), r#"{"N":"100"}"#);
    assert_eq!(serde_json::to_string(&AttributeValue::B(b"hi".to_vec()).to_json()).unwrap(), r#"{"B":"aGk="}"#);
}

#[test]
fn compound_key() {
    let l = lim();
    let doc = hex("bf 62706b 6168 63677369 05 ff");
    let key = item(&[("pk", s("h")), ("gsi", num("5"))]);
    assert_eq!(decode_compound_key(&doc, &l).unwrap(), key);
    let enc = encode_compound_key(&key);
    assert_eq!((enc[0], enc[enc.len() - 1]), (0xbf, 0xff), "indefinite map");
    assert_eq!(decode_compound_key(&enc, &l).unwrap(), key);
}

// ---- §5.7 expressions ---------------------------------------------------------------------

fn path(p: &[&str]) -> DocumentPath {
    DocumentPath(p.iter().map(|x| PathElement::Name(x.to_string())).collect())
}

#[test]
fn key_condition_python_and_js() {
    let l = lim();
    let py = hex("830183068300821262706b8211008409821262736b82110182110283617801c482201819");
    let kc = ConditionExpression::decode(&py, &l).unwrap();
    let expected = ConditionExpression {
        expr: Expr::And(
            Box::new(Expr::Compare(Comparator::Eq, Box::new(Expr::Path(path(&["pk"]))), Box::new(Expr::Value(0)))),
            Box::new(Expr::Between(
                Box::new(Expr::Path(path(&["sk"]))),
                Box::new(Expr::Value(1)),
                Box::new(Expr::Value(2)),
            )),
        ),
        values: vec![s("x"), num("1"), num("2.5")],
    };
    assert_eq!(kc, expected);
    assert_eq!(kc.encode(), py);
    let js = hex("830183068300821262706b8211008409821262736b82110182110283617801fb4004000000000000");
    assert_eq!(ConditionExpression::decode(&js, &l).unwrap(), expected);
    let mut w = ExpressionWriter::new();
    assert_eq!(w.condition(&kc, "k"), "#n0 = :k0 AND #n1 BETWEEN :k1 AND :k2");
    assert_eq!(w.names()["#n0"], "pk");
    assert_eq!(w.values()[":k2"], num("2.5"));
}

#[test]
fn projection_doc_example() {
    let bytes = hex("820184821261618312616261638412646e616d65d90cfc02616484126165d90cfc01d90cfc03");
    let p = ProjectionExpression::decode(&bytes, &lim()).unwrap();
    assert_eq!(
        p.paths,
        vec![
            path(&["a"]),
            path(&["b", "c"]),
            DocumentPath(vec![PathElement::Name("name".into()), PathElement::Index(2), PathElement::Name("d".into())]),
            DocumentPath(vec![PathElement::Name("e".into()), PathElement::Index(1), PathElement::Index(3)]),
        ]
    );
    assert_eq!(p.encode(), bytes);
    // §5.8: ordinals index the projection; missing paths are omitted.
    let it = item_from_json(&serde_json::json!({
        "a": {"S": "x"},
        "b": {"M": {"c": {"N": "1"}}},
        "name": {"L": [{"N": "0"}, {"N": "1"}, {"M": {"d": {"BOOL": true}}}]},
        "e": {"L": [{"S": "no list"}]}
    }))
    .unwrap();
    assert_eq!(p.project(&it), vec![(0, s("x")), (1, num("1")), (2, AttributeValue::Bool(true))]);
    let mut w = ExpressionWriter::new();
    assert_eq!(w.projection(&p), "#n0, #n1.#n2, #n3[2].#n4, #n5[1][3]");
    assert_eq!(w.names()["#n3"], "name");
    assert!(w.values_json().is_none());
}

#[test]
fn condition_doc_example() {
    let bytes = hex("8301820c821262706b80");
    let c = ConditionExpression::decode(&bytes, &lim()).unwrap();
    assert_eq!(c.expr, Expr::Call(Function::AttributeNotExists, vec![Expr::Path(path(&["pk"]))]));
    assert_eq!(c.encode(), bytes);
    assert_eq!(ExpressionWriter::new().condition(&c, "c"), "attribute_not_exists(#n0)");
}

#[test]
fn update_doc_example() {
    // SET a = :v, b = b + :one REMOVE d ADD cnt :one DELETE ss :ss
    let u = UpdateExpression {
        actions: vec![
            UpdateAction::Set(path(&["a"]), Expr::Value(0)),
            UpdateAction::Set(path(&["b"]), Expr::Plus(Box::new(Expr::Path(path(&["b"]))), Box::new(Expr::Value(1)))),
            UpdateAction::Remove(path(&["d"])),
            UpdateAction::Add(path(&["cnt"]), Expr::Value(1)),
            UpdateAction::Delete(path(&["ss"]), Expr::Value(3)),
        ],
        values: vec![s("v"), num("1"), s("unused"), AttributeValue::Ss(vec!["x".into()])],
    };
    let spec = hex("85 83 13 82 12 61 61 82 11 00
            83 13 82 12 61 62 83 18 19 82 12 61 62 82 11 01
            82 16 82 12 61 64
            83 14 82 12 63 636e74 82 11 01
            83 15 82 12 62 7373 82 11 03");
    let bytes = u.encode();
    assert_eq!(&bytes[..2], &hex("83 01")[..]);
    assert_eq!(&bytes[2..2 + spec.len()], &spec[..]);
    assert_eq!(UpdateExpression::decode(&bytes, &lim()).unwrap(), u);
    let mut w = ExpressionWriter::new();
    assert_eq!(w.update(&u, "u"), "SET #n0 = :u0, #n1 = #n1 + :u1 REMOVE #n2 ADD #n3 :u1 DELETE #n4 :u3");
    // The unreferenced value is not sent to DynamoDB.
    assert_eq!(w.values().keys().collect::<Vec<_>>(), vec![":u0", ":u1", ":u3"]);
}

// ---- §6 data methods ----------------------------------------------------------------------

#[test]
fn get_item() {
    let r = round_trip(&hex("01 1a0fb0cc6a 42 7431 41 61 bf 03 00 ff"), true);
    let Request::GetItem(g) = r else { panic!() };
    assert_eq!(g.table_name, "t1");
    assert_eq!(decode_key(&g.key, &t1(), &lim()).unwrap(), item(&[("pk", s("a"))]));
    assert!(!g.consistent_read && g.projection.is_none());
    // Not found, and found with value bytes.
    assert_eq!(encode_item_response(&ItemResponse::default()), hex("80 a0"));
    let found = ItemResponse { item: Some(ItemPayload::Values(hex("02 18 2a 62 6869"))), ..Default::default() };
    assert_eq!(encode_item_response(&found), hex("80 a1 00 46 02182a626869"));
    // A cache hit's answer: the same bytes, without a payload.
    assert_eq!(encode_item_values_response(None), hex("80 a0"));
    assert_eq!(encode_item_values_response(Some(&hex("02 18 2a 62 6869"))), hex("80 a1 00 46 02182a626869"));
    let big = vec![7u8; 1015];
    let found = ItemResponse { item: Some(ItemPayload::Values(big.clone())), ..Default::default() };
    assert_eq!(encode_item_values_response(Some(&big)), encode_item_response(&found));
}

#[test]
fn put_item() {
    let r = round_trip(&hex("01 3a7d8e7e56 42 7431 41 61 46 02182a626869 bf 03 00 ff"), true);
    let Request::PutItem(p) = r else { panic!() };
    assert_eq!(p.value, hex("02182a626869"));
    assert_eq!(p.return_values, ReturnValues::None);
}

#[test]
fn query_request() {
    let bytes = hex("01 3a3781c2ae 42 7432 4f 83018300821262706b821100816168 bf 03 00 05 a1 623a68 6168 ff");
    let r = round_trip(&bytes, false);
    let Request::Query(q) = r else { panic!() };
    assert_eq!(q.table_name, "t2");
    let kc = q.key_condition.unwrap();
    assert_eq!(kc.expr, Expr::Compare(Comparator::Eq, Box::new(Expr::Path(path(&["pk"]))), Box::new(Expr::Value(0))));
    assert_eq!(kc.values, vec![s("h")]);
    assert!(q.scan_index_forward);
}

#[test]
fn query_response() {
    // One item of the doc's example: key {pk:"h", sk:1}, list id 3 with v:"v2".
    let r = QueryResponse {
        items: Some(vec![QueryItem::Full { key: hex("6168c11c0000"), value: hex("03627632") }]),
        count: 1,
        scanned_count: 1,
        ..Default::default()
    };
    let bytes = encode_query_response(&r);
    assert_eq!(bytes, hex("80 a3 07 81 82 46 6168c11c0000 44 03627632 08 01 0a 01"));
    assert_eq!(decode_key(&hex("6168c11c0000"), &t2(), &lim()).unwrap(), item(&[("pk", s("h")), ("sk", num("1"))]));
    let with_lek = QueryResponse {
        last_evaluated_key: Some(hex("6168c11c0000")),
        consumed_capacity: Some(ConsumedCapacity {
            table_name: "t2".into(),
            capacity_units: 0.5,
            ..Default::default()
        }),
        items: None,
        ..r
    };
    assert_eq!(
        encode_query_response(&with_lek),
        hex("80 a4 08 01 09 46 6168c11c0000 0a 01 01 4f 627432 fb3fe0000000000000 f6 f6 f6")
    );
}

#[test]
fn projected_item_and_updated_attributes() {
    let r = ItemResponse {
        item: Some(ItemPayload::Projected(vec![
            (0, s("hello")),
            (1, AttributeValue::Bool(true)),
            (2, num("1")),
            (3, num("42")),
        ])),
        ..Default::default()
    };
    assert_eq!(encode_item_response(&r), hex("80 a1 00 a4 00 6568656c6c6f 01 f5 02 01 03 182a"));
    let upd = encode_updated_attributes(4, &[(4, num("43")), (5, s("new"))]);
    assert_eq!(upd, hex("04 a2 04 182b 05 636e6577"));
    assert_eq!(decode_updated_attributes(&upd, &lim()).unwrap(), (4, vec![(4, num("43")), (5, s("new"))]));
    let r = ItemResponse { attributes: Some(Attributes::Updated(upd)), ..Default::default() };
    assert_eq!(encode_item_response(&r), hex("80 a1 02 4a 04 a2 04 182b 05 636e6577"));
}

#[test]
fn consumed_capacity_and_icm() {
    let cc = ConsumedCapacity { table_name: "t2".into(), capacity_units: 0.5, ..Default::default() };
    assert_eq!(cc.encode(), hex("627432 fb3fe0000000000000 f6 f6 f6"));
    let full = ConsumedCapacity {
        table_name: "t".into(),
        capacity_units: 1.0,
        table_capacity_units: Some(1.0),
        global_secondary_indexes: Some(vec![("g".into(), 0.5)]),
        local_secondary_indexes: Some(vec![]),
    };
    assert_eq!(full.encode(), hex("6174 fb3ff0000000000000 fb3ff0000000000000 a1 6167 fb3fe0000000000000 a0"));
    let icm = ItemCollectionMetrics { partition_key: s("h"), size_lower_gb: 0.0, size_upper_gb: 1.0 };
    assert_eq!(icm.encode(), hex("6168 fb0000000000000000 fb3ff0000000000000"));
    let r = ItemResponse { consumed_capacity: Some(cc), item_collection_metrics: Some(icm), ..Default::default() };
    let b = encode_item_response(&r);
    assert_eq!(&b[..4], &hex("80 a2 01 4f")[..]);
}

#[test]
fn batch_get() {
    let l = lim();
    let req = Request::BatchGetItem(BatchGetItemRequest {
        tables: vec![BatchGetTable {
            table_name: "t1".into(),
            consistent_read: true,
            projection: None,
            keys: vec![hex("61"), hex("62")],
        }],
        return_consumed_capacity: ReturnConsumedCapacity::Total,
    });
    let bytes = req.encode();
    assert_eq!(request(&bytes), req);
    let r = BatchGetResponse {
        responses: vec![("t1".into(), BatchGetItems::Full(vec![(hex("6a73"), hex("01"))]))],
        ..Default::default()
    };
    assert_eq!(encode_batch_get_response(&r), hex("80 82 a1 62 7431 82 42 6a73 41 01 a0 80"));
    // Shared value bytes are the same on the wire.
    let shared = BatchGetResponse {
        responses: vec![("t1".into(), BatchGetItems::Shared(vec![(hex("6a73"), std::sync::Arc::from(hex("01")))]))],
        ..Default::default()
    };
    assert_eq!(encode_batch_get_response(&shared), encode_batch_get_response(&r));
    let r = BatchGetResponse {
        responses: vec![("t1".into(), BatchGetItems::Projected(vec![vec![(0, s("x"))]]))],
        unprocessed_keys: vec![("t1".into(), vec![hex("61")])],
        consumed_capacity: vec![ConsumedCapacity {
            table_name: "t1".into(),
            capacity_units: 0.5,
            ..Default::default()
        }],
    };
    assert_eq!(
        encode_batch_get_response(&r),
        hex("80 82 a1 62 7431 81 a1 00 61 78 a1 62 7431 81 41 61 81 4f 627431 fb3fe0000000000000 f6 f6 f6")
    );
    let _ = l;
}

#[test]
fn batch_write() {
    assert_eq!(encode_batch_write_response(&BatchWriteResponse::default()), hex("80 a0 80 a0"));
    let r = BatchWriteResponse {
        unprocessed_items: vec![("t1".into(), vec![(hex("61"), Some(hex("01"))), (hex("62"), None)])],
        consumed_capacity: vec![],
        item_collection_metrics: vec![("t1".into(), vec![])],
    };
    assert_eq!(encode_batch_write_response(&r), hex("80 a1 62 7431 84 41 61 41 01 41 62 f6 80 a1 62 7431 80"));
    let req = Request::BatchWriteItem(BatchWriteItemRequest {
        tables: vec![BatchWriteTable {
            table_name: "t1".into(),
            writes: vec![
                BatchWrite::Put { key: hex("63"), value: hex("02 01 61 7a") },
                BatchWrite::Delete { key: hex("64") },
            ],
        }],
        return_consumed_capacity: ReturnConsumedCapacity::None,
        return_item_collection_metrics: ReturnItemCollectionMetrics::Size,
    });
    assert_eq!(request(&req.encode()), req);
}

#[test]
fn transact_get() {
    let r = TransactGetResponse { items: vec![Some(ItemPayload::Values(hex("01"))), None], consumed_capacity: vec![] };
    assert_eq!(encode_transact_get_response(&r), hex("80 82 82 41 01 f6 80"));
    let r = TransactGetResponse {
        items: vec![Some(ItemPayload::Projected(vec![(0, num("1"))]))],
        consumed_capacity: vec![ExtendedConsumedCapacity {
            units: Capacity { capacity_units: Some(2.0), read_capacity_units: Some(2.0), write_capacity_units: None },
            table_name: Some("t1".into()),
            table: Some(Capacity { capacity_units: Some(2.0), ..Default::default() }),
            global_secondary_indexes: None,
            local_secondary_indexes: None,
        }],
    };
    assert_eq!(
        encode_transact_get_response(&r),
        hex(
            "80 82 81 a1 00 01 81 a4 01 fb4000000000000000 02 fb4000000000000000 04 627431 05 a1 01 fb4000000000000000"
        )
    );
}

#[test]
fn transact_write() {
    assert_eq!(encode_transact_write_response(&TransactWriteResponse::default()), hex("80 83 80 80 a0"));
    // The JS client's example, with a definite kwargs map.
    let bytes = hex("01 3a4524c569 81 02 81 44 74616233 81 42 184e 81 41 01 f6 81 01 81 f6 81 f6
         a1 13 64 75756964");
    let Request::TransactWriteItems(t) = round_trip(&bytes, false) else { panic!() };
    assert_eq!(t.items.len(), 1);
    let i = &t.items[0];
    assert_eq!(i.operation, TransactOperation::Put);
    assert_eq!(i.table_name, "tab3");
    assert_eq!(
        decode_key(&i.key, &KeySchema::hash_only("id", KeyType::N), &lim()).unwrap(),
        item(&[("id", num("78"))])
    );
    assert_eq!(i.value, Some(hex("01")));
    assert_eq!(t.client_request_token.as_deref(), Some("uuid"));
    assert!(t.return_values.is_none());
    // Arrays that disagree in length are a validation error, not a broken stream.
    let bad = hex("01 3a4524c569 82 02 07 81 44 74616233 81 42 184e f6 f6 f6 f6 f6 f6");
    match try_decode(&bad, &lim()).unwrap().unwrap() {
        (Frame::Rejected { method, error: WireError::Validation(_) }, used) => {
            assert_eq!(method, Method::TransactWriteItems);
            assert_eq!(used, bad.len());
        }
        other => panic!("{other:?}"),
    }
}

// ---- §7 errors ----------------------------------------------------------------------------

#[test]
fn error_frame_doc_example() {
    let msg = "The conditional request failed";
    let rid = "req-1";
    let mut expected = hex("85 04 1825 1826 1827 182b 78 1e");
    expected.extend_from_slice(msg.as_bytes());
    expected.extend_from_slice(&hex("83 65"));
    expected.extend_from_slice(rid.as_bytes());
    expected.extend_from_slice(&hex("78 1f"));
    expected.extend_from_slice(b"ConditionalCheckFailedException");
    expected.extend_from_slice(&hex("19 0190"));
    assert_eq!(encode_exception("ConditionalCheckFailedException", msg, Some(rid), None), expected);
    assert_eq!(
        encode_error(
            &[4, 37, 38, 39, 43],
            msg,
            Some(rid),
            Some(400),
            &ErrorExtra { error_code: Some("ConditionalCheckFailedException"), cancellation_reasons: None }
        ),
        expected
    );
}

#[test]
fn cancellation_reasons() {
    let reasons = [
        CancellationReason {
            code: Some("ConditionalCheckFailed".into()),
            message: Some("The conditional request failed".into()),
            item: Some(hex("01")),
        },
        CancellationReason { code: Some("None".into()), message: None, item: None },
    ];
    let b = encode_exception("TransactionCanceledException", "Transaction cancelled", None, Some(&reasons));
    let tail = {
        let mut t = hex("84 f6 78 1c");
        t.extend_from_slice(b"TransactionCanceledException");
        t.extend_from_slice(&hex("19 0190 86 76"));
        t.extend_from_slice(b"ConditionalCheckFailed");
        t.extend_from_slice(&hex("78 1e"));
        t.extend_from_slice(b"The conditional request failed");
        t.extend_from_slice(&hex("41 01 64"));
        t.extend_from_slice(b"None");
        t.extend_from_slice(&hex("f6 f6"));
        t
    };
    assert_eq!(&b[..10], &hex("85 04 1825 1826 1827 183a")[..]);
    assert!(b.ends_with(&tail), "{b:02x?}");
}

#[test]
fn exception_table_matches_doc() {
    for (codes, name) in [
        (&[4, 23, 24][..], "ResourceNotFoundException"),
        (&[4, 23, 35][..], "ResourceInUseException"),
        (&[4, 23, 31, 33][..], "AuthenticationRequiredException"),
        (&[4, 37, 38, 39, 40][..], "ProvisionedThroughputExceededException"),
        (&[4, 37, 38, 39, 41][..], "ResourceNotFoundException"),
        (&[4, 37, 38, 39, 43][..], "ConditionalCheckFailedException"),
        (&[4, 37, 38, 39, 45][..], "ResourceInUseException"),
        (&[4, 37, 38, 39, 46][..], "ValidationException"),
        (&[4, 37, 38, 39, 48][..], "ItemCollectionSizeLimitExceededException"),
        (&[4, 37, 38, 39, 49][..], "LimitExceededException"),
        (&[4, 37, 38, 39, 50][..], "ThrottlingException"),
        (&[4, 37, 38, 39, 57][..], "TransactionConflictException"),
        (&[4, 37, 38, 39, 58][..], "TransactionCanceledException"),
        (&[4, 37, 38, 39, 59][..], "TransactionInProgressException"),
        (&[4, 37, 38, 39, 60][..], "IdempotentParameterMismatchException"),
        (&[4, 37, 38, 39, 61][..], "RequestLimitExceeded"),
        (&[4, 37, 38, 42][..], "AccessDeniedException"),
        (&[4, 37, 38, 44][..], "NotImplementedException"),
        (&[3, 37, 54][..], "InternalServerErrorException"),
        (&[1, 37, 38, 39, 47][..], "InternalServerError"),
        (&[4, 37, 38, 39, 47][..], "InternalServerError"),
    ] {
        assert_eq!(exception_for_codes(codes), Some(name), "{codes:?}");
    }
    // §7.4 recommendations.
    for (name, codes, status) in [
        ("ResourceNotFoundException", &[4, 37, 38, 39, 41][..], 400),
        ("ValidationException", &[4, 37, 38, 39, 46][..], 400),
        ("ConditionalCheckFailedException", &[4, 37, 38, 39, 43][..], 400),
        ("TransactionCanceledException", &[4, 37, 38, 39, 58][..], 400),
        ("ThrottlingException", &[4, 37, 38, 39, 50][..], 400),
        ("AuthenticationRequiredException", &[4, 23, 31, 33][..], 400),
        ("UnrecognizedClientException", &[4, 23, 31, 33][..], 400),
        ("AccessDeniedException", &[4, 37, 38, 42][..], 400),
        ("NotImplementedException", &[4, 37, 38, 44][..], 400),
        ("InternalServerError", &[1, 37, 38, 39, 47][..], 500),
    ] {
        let e = exception_codes(name).unwrap();
        assert_eq!((e.codes, e.http_status), (codes, status), "{name}");
    }
    // Unknown names fall back to an unmapped class-4 sequence with the name in detail[1];
    // it ends on a code no client knows (a prefix of a mapped one crashes the Python client).
    let b = encode_exception("SomethingNewException", "m", None, None);
    assert_eq!(&b[..9], &hex("85 04 1825 1826 1827 00")[..]);
}
