//! Untrusted input never panics: random, truncated and mutated frames, resource bombs,
//! and incremental decoding split at every byte boundary.

use dax_wire::*;

const SESSION: &[u8] = include_bytes!("../fixtures/py_session.bin");

/// Small deterministic PRNG (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn lim() -> Limits {
    Limits::default()
}

/// Feeds `bytes` to every decoder entry point; only checks that nothing panics and that
/// a reported consumption stays within the input.
fn exercise(bytes: &[u8]) {
    let l = lim();
    if let Ok(Some((_, n))) = try_decode(bytes, &l) {
        assert!(n <= bytes.len());
    }
    if let Ok(Some((_, n))) = try_decode_preamble(bytes, &l) {
        assert!(n <= bytes.len());
    }
    let _ = AttributeValue::from_cbor(bytes, &l);
    let _ = decode_value_bytes(bytes, &l);
    let _ = decode_updated_attributes(bytes, &l);
    let _ = decode_compound_key(bytes, &l);
    let _ = ConditionExpression::decode(bytes, &l).map(|c| ExpressionWriter::new().condition(&c, "c"));
    let _ = UpdateExpression::decode(bytes, &l).map(|u| ExpressionWriter::new().update(&u, "u"));
    let _ = ProjectionExpression::decode(bytes, &l);
    let _ = Number::from_lex_bytes(bytes);
    let _ = parse_string_to_sign(bytes);
    for schema in [
        KeySchema::hash_only("h", KeyType::S),
        KeySchema::hash_only("h", KeyType::N),
        KeySchema::hash_range("h", KeyType::N, "r", KeyType::N),
        KeySchema::hash_range("h", KeyType::B, "r", KeyType::S),
    ] {
        let _ = decode_key(bytes, &schema, &l);
    }
}

/// Valid frames of every method, from the captured session and our own encoder.
fn corpus() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let (_, mut pos) = try_decode_preamble(SESSION, &lim()).unwrap().unwrap();
    out.push(SESSION[..pos].to_vec());
    while pos < SESSION.len() {
        let (_, n) = try_decode(&SESSION[pos..], &lim()).unwrap().unwrap();
        out.push(SESSION[pos..pos + n].to_vec());
        pos += n;
    }
    let cond = ConditionExpression {
        expr: Expr::Or(
            Box::new(Expr::Call(Function::BeginsWith, vec![Expr::Path(DocumentPath::attribute("a")), Expr::Value(0)])),
            Box::new(Expr::Not(Box::new(Expr::In(
                Box::new(Expr::Path(DocumentPath::attribute("b"))),
                vec![Expr::Value(1), Expr::Value(0)],
            )))),
        ),
        values: vec![AttributeValue::S("x".into()), AttributeValue::Ns(vec![Number::parse("-1.25E-7").unwrap()])],
    };
    out.push(cond.encode());
    out.push(
        Request::Query(QueryRequest {
            table_name: "tbl".into(),
            key_condition: Some(cond.clone()),
            filter: Some(cond),
            index_name: Some("gsi".into()),
            exclusive_start_key: Some(encode_compound_key(
                &[("pk".to_string(), AttributeValue::B(vec![1, 2]))].into_iter().collect(),
            )),
            ..Default::default()
        })
        .encode(),
    );
    out
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        let n = rng.below(48);
        let b = rng.bytes(n);
        exercise(&b);
        // Random bytes behind a valid header make the decoders go deeper.
        let mut framed = vec![0x01, 0x1a, 0x0f, 0xb0, 0xcc, 0x6a];
        framed.extend_from_slice(&b);
        exercise(&framed);
    }
}

#[test]
fn truncated_frames_need_more_and_never_panic() {
    for frame in corpus() {
        for cut in 0..frame.len() {
            exercise(&frame[..cut]);
            if frame[0] == 0x67 {
                assert_eq!(try_decode_preamble(&frame[..cut], &lim()).unwrap(), None);
            } else if frame.len() > 12 {
                assert_eq!(try_decode(&frame[..cut], &lim()).unwrap(), None, "cut {cut}");
            }
        }
    }
}

#[test]
fn mutated_frames_never_panic() {
    let mut rng = Rng(42);
    let corpus = corpus();
    for _ in 0..30_000 {
        let mut f = corpus[rng.below(corpus.len())].clone();
        for _ in 0..1 + rng.below(4) {
            let i = rng.below(f.len());
            match rng.below(4) {
                0 => f[i] = rng.next() as u8,
                1 => f[i] ^= 1 << rng.below(8),
                2 => {
                    f.remove(i);
                    if f.is_empty() {
                        f.push(0);
                    }
                }
                _ => f.insert(i, rng.next() as u8),
            }
        }
        exercise(&f);
    }
}

#[test]
fn whole_session_split_at_every_byte() {
    // Decode the captured stream with a buffer that grows one byte at a time.
    let mut reference = Vec::new();
    {
        let mut d = StreamDecoder::new(lim());
        let mut pos = 0;
        while pos < SESSION.len() {
            let (ev, n) = d.decode(&SESSION[pos..]).unwrap().unwrap();
            reference.push(ev);
            pos += n;
        }
    }
    let mut d = StreamDecoder::new(lim());
    let mut buf: Vec<u8> = Vec::new();
    let mut events = Vec::new();
    for &b in SESSION {
        buf.push(b);
        while let Some((ev, n)) = d.decode(&buf).unwrap() {
            events.push(ev);
            buf.drain(..n);
        }
    }
    assert!(buf.is_empty());
    assert_eq!(events, reference);

    // Every two-chunk split of the stream gives the same events too.
    for cut in (0..SESSION.len()).step_by(7) {
        let mut d = StreamDecoder::new(lim());
        let mut buf = SESSION[..cut].to_vec();
        let mut events = Vec::new();
        while let Some((ev, n)) = d.decode(&buf).unwrap() {
            events.push(ev);
            buf.drain(..n);
        }
        buf.extend_from_slice(&SESSION[cut..]);
        while let Some((ev, n)) = d.decode(&buf).unwrap() {
            events.push(ev);
            buf.drain(..n);
        }
        assert_eq!(events, reference, "cut {cut}");
    }
}

#[test]
fn nesting_bomb_is_limited() {
    let l = lim();
    let mut deep = vec![0x01, 0x1a, 0x0f, 0xb0, 0xcc, 0x6a];
    deep.extend(std::iter::repeat_n(0x81, 100_000));
    assert!(matches!(try_decode(&deep, &l), Err(WireError::LimitExceeded(_))));
    let mut deep_tags = vec![0x01, 0x1a, 0x0f, 0xb0, 0xcc, 0x6a];
    deep_tags.extend(std::iter::repeat_n(0xc2, 100_000));
    assert!(matches!(try_decode(&deep_tags, &l), Err(WireError::LimitExceeded(_))));
    // Indefinite arrays too.
    let bomb: Vec<u8> = std::iter::repeat_n(0x9f, 100_000).collect();
    assert!(matches!(AttributeValue::from_cbor(&bomb, &l), Err(WireError::LimitExceeded(_))));
    // A deep but legal value decodes.
    let mut ok: Vec<u8> = std::iter::repeat_n(0x81, 100).collect();
    ok.push(0x01);
    assert!(AttributeValue::from_cbor(&ok, &l).is_ok());
    // Whatever depth CBOR decoding takes, DynamoDB JSON conversion takes too (the node
    // sends such a value to DynamoDB as JSON). The fuzz target `value` found 151 nested
    // lists that decoded from CBOR but not back from JSON.
    for levels in [151, 200, Limits::DEFAULT.max_depth - 1] {
        let mut deep: Vec<u8> = std::iter::repeat_n(0x81, levels).collect();
        deep.push(0xf4);
        let Ok(v) = AttributeValue::from_cbor(&deep, &Limits::DEFAULT) else { continue };
        assert_eq!(AttributeValue::from_json(&v.to_json()).ok(), Some(v), "{levels} levels");
    }
    // A deep expression inside a byte string is limited separately.
    let mut expr = vec![0x83, 0x01];
    expr.extend(std::iter::repeat_n(0x82, 10_000));
    assert!(ConditionExpression::decode(&expr, &l).is_err());
}

#[test]
fn huge_lengths_are_limited_without_allocation() {
    let l = lim();
    let header = [0x01, 0x1a, 0x0f, 0xb0, 0xcc, 0x6a];
    for tail in [
        vec![0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        vec![0x7b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        vec![0x9b, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00],
        vec![0xbb, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
    ] {
        let f = [&header[..], &tail[..]].concat();
        assert!(matches!(try_decode(&f, &l), Err(WireError::LimitExceeded(_))), "{tail:02x?}");
    }
    // An incomplete frame already past the size limit is an error, not "need more".
    let small = Limits { max_frame_bytes: 64, ..Limits::default() };
    let mut f = header.to_vec();
    f.push(0x58);
    f.push(200);
    f.extend(std::iter::repeat_n(0, 100));
    assert!(matches!(try_decode(&f, &small), Err(WireError::LimitExceeded(_))));
    // Item-count limit.
    let few = Limits { max_items: 10, ..Limits::default() };
    let mut many = header.to_vec();
    many.push(0x98);
    many.push(50);
    many.extend(std::iter::repeat_n(0, 50));
    assert!(matches!(try_decode(&many, &few), Err(WireError::LimitExceeded(_))));
    // Container-length limit.
    let short = Limits { max_container_len: 3, ..Limits::default() };
    assert!(matches!(AttributeValue::from_cbor(&[0x84, 1, 2, 3, 4], &short), Err(WireError::LimitExceeded(_))));
}

#[test]
fn malformed_streams_are_errors() {
    let l = lim();
    for bad in [
        &[0x02, 0x00][..],                         // service id 2
        &[0x61, 0x61][..],                         // text service id
        &[0x01, 0x1a, 0x00, 0x00, 0x00, 0x01][..], // unknown method
        &[0x01, 0x1c][..],                         // reserved additional info
        &[0x01, 0xff][..],                         // stray break
        &[0x01, 0x61, 0x61][..],                   // text method id
    ] {
        assert!(try_decode(bad, &l).is_err(), "{bad:02x?}");
    }
    // Wrong argument types are a rejected frame, the stream stays usable.
    let f = [0x01, 0x3a, 0x2c, 0x43, 0xe2, 0x7e, 0x05];
    assert!(matches!(
        try_decode(&f, &l).unwrap().unwrap(),
        (Frame::Rejected { method: Method::DefineKeySchema, .. }, 7)
    ));
    // Bad enum values in kwargs are validation errors.
    let f = [0x01, 0x1a, 0x0f, 0xb0, 0xcc, 0x6a, 0x42, 0x74, 0x31, 0x41, 0x61, 0xbf, 0x03, 0x09, 0xff];
    assert!(matches!(try_decode(&f, &l).unwrap().unwrap().0, Frame::Rejected { error: WireError::Validation(_), .. }));
    // Numbers beyond DynamoDB's range are validation errors with DynamoDB's text.
    for (s, msg) in [
        ("1e126", NUMBER_OVERFLOW),
        ("-1E+126", NUMBER_OVERFLOW),
        ("1e-131", NUMBER_UNDERFLOW),
        ("123456789012345678901234567890123456789", NUMBER_PRECISION),
        ("", NUMBER_NOT_NUMERIC),
    ] {
        assert_eq!(Number::parse(s), Err(WireError::Validation(msg.into())), "{s}");
    }
    for s in ["abc", "1.2.3", "+1", "1e", "--1", " 1", "1 ", "e5", ".", "0x10", "NaN", "Infinity"] {
        assert_eq!(Number::parse(s), Err(WireError::Validation(format!("{NUMBER_NOT_NUMERIC}: {s}"))), "{s}");
    }
    // Canonicalisation as DynamoDB does it.
    for (s, canon) in [
        ("00042", "42"),
        ("-0", "0"),
        ("0.000", "0"),
        ("1.50", "1.5"),
        ("1e2", "100"),
        (".5", "0.5"),
        ("5.", "5"),
        ("-1.5E-3", "-0.0015"),
        ("1000000000000000000000000000000000000000000000", "1000000000000000000000000000000000000000000000"),
        ("9.9999999999999999999999999999999999999E+125", "999999999999999999999999999999999999990000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"),
        ("1E-130", "0.0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001"),
        ("0e999999999999999999999", "0"),
    ] {
        assert_eq!(Number::parse(s).unwrap().to_string(), canon, "{s}");
    }
}
