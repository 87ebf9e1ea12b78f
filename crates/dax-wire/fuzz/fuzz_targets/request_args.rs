//! The arguments of every DAX method. The first byte picks the method (in the order of
//! `Method::ALL`), the rest are its arguments as they follow the method id on the wire.
//!
//! Invariants: a decoded request is of the method called, consumes no more than the frame,
//! and re-encodes (as a client would) to a frame that decodes to the same request; its
//! expressions render to DynamoDB text as the node does; the string-to-sign of
//! `authorizeConnection` is checked the way the node checks it.
#![no_main]

use dax_wire::*;
use libfuzzer_sys::fuzz_target;

/// Service id 1, then the method id as a CBOR integer.
fn prefix(method: Method) -> Vec<u8> {
    let id = method.id();
    let mut out = vec![0x01];
    if id >= 0 {
        out.push(0x1a);
        out.extend_from_slice(&(id as u32).to_be_bytes());
    } else {
        out.push(0x3a);
        out.extend_from_slice(&((-1 - i64::from(id)) as u32).to_be_bytes());
    }
    out
}

fn render(req: &Request) {
    let mut w = ExpressionWriter::new();
    let (cond, update, proj): (Vec<&ConditionExpression>, Vec<&UpdateExpression>, Vec<&ProjectionExpression>) = match req {
        Request::GetItem(g) => (vec![], vec![], g.projection.iter().collect()),
        Request::PutItem(p) => (p.condition.iter().collect(), vec![], vec![]),
        Request::DeleteItem(d) => (d.condition.iter().collect(), vec![], vec![]),
        Request::UpdateItem(u) => (u.condition.iter().collect(), u.update.iter().collect(), vec![]),
        Request::Query(q) => (
            q.key_condition.iter().chain(q.filter.iter()).collect(),
            vec![],
            q.projection.iter().collect(),
        ),
        Request::Scan(s) => (s.filter.iter().collect(), vec![], s.projection.iter().collect()),
        Request::BatchGetItem(b) => (vec![], vec![], b.tables.iter().filter_map(|t| t.projection.as_ref()).collect()),
        Request::TransactGetItems(t) => (vec![], vec![], t.items.iter().filter_map(|i| i.projection.as_ref()).collect()),
        Request::TransactWriteItems(t) => (
            t.items.iter().filter_map(|i| i.condition.as_ref()).collect(),
            t.items.iter().filter_map(|i| i.update.as_ref()).collect(),
            vec![],
        ),
        Request::AuthorizeConnection(a) => {
            if let Ok(sts) = parse_string_to_sign(&a.string_to_sign) {
                let _ = sts.has_known_canonical_request();
                assert_eq!(sts.service, SERVICE);
            }
            return;
        }
        _ => return,
    };
    for c in cond {
        let _ = w.condition(c, "c");
    }
    for u in update {
        let _ = w.update(u, "u");
    }
    for p in proj {
        let _ = w.projection(p);
    }
    let _ = (w.names_json(), w.values_json());
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, args)) = data.split_first() else { return };
    let method = Method::ALL[usize::from(pick) % Method::ALL.len()];
    let frame = [prefix(method), args.to_vec()].concat();
    let l = Limits::default();
    let Ok(Some((decoded, n))) = try_decode(&frame, &l) else { return };
    assert!(n <= frame.len());
    match decoded {
        Frame::Request(req) => {
            assert_eq!(req.method(), method);
            render(&req);
            let again = req.encode();
            match try_decode(&again, &l) {
                Ok(Some((Frame::Request(back), m))) => {
                    assert_eq!(m, again.len());
                    assert_eq!(back, req);
                }
                other => panic!("{method:?} re-encoded does not decode: {other:?}"),
            }
        }
        Frame::Rejected { method: m, error } => {
            assert_eq!(m, method);
            let _ = error.exception_name();
        }
    }
});
