//! `frames`: recorded DAX client connections cut into their preamble and request frames by
//! `dax-wire`'s own decoder, for `scripts/fuzz-seeds`, which turns the pieces into seed
//! inputs. The framing, the method table and the item boundaries are the codec's, so the
//! seeds are cut exactly as a node reads the bytes.
//!
//! Input (stdin): a JSON array of connections, each the hex of every byte a client wrote.
//! Output (stdout): a JSON array with, per connection, the hex of its `preamble` and its
//! `frames`: each frame's `method_id`, its `index` in `dax_wire::Method::ALL`, whether it
//! ends with kwargs (`has_kwargs`), its bytes (`frame`), and its arguments (`args`), each
//! as its bytes (`raw`) and as a generic CBOR value (`value`: integers, floats, strings,
//! booleans and null as themselves; `{"bytes": hex}`, arrays as lists, `{"map": [[k, v], …]}`,
//! `{"tag": n, "value": v}`, `{"simple": n}`).

use dax_wire::{try_decode, try_decode_preamble, Frame, Limits, Method};
use minicbor::data::Type;
use minicbor::Decoder;
use serde_json::{json, Value};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Result<Vec<u8>, String> {
    let pairs = text.as_bytes().chunks_exact(2);
    if !pairs.remainder().is_empty() {
        return Err("odd number of hex digits".to_owned());
    }
    pairs
        .map(|p| {
            std::str::from_utf8(p)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(|| format!("bad hex digits {:?}", String::from_utf8_lossy(p)))
        })
        .collect()
}

/// One CBOR item as a JSON value (see the module documentation).
fn item(d: &mut Decoder<'_>) -> Result<Value, String> {
    let err = |e: minicbor::decode::Error| e.to_string();
    Ok(match d.datatype().map_err(err)? {
        Type::Bool => Value::Bool(d.bool().map_err(err)?),
        Type::Null => {
            d.skip().map_err(err)?;
            Value::Null
        }
        Type::Undefined => {
            d.skip().map_err(err)?;
            json!({ "simple": 23 })
        }
        Type::Simple => json!({ "simple": d.simple().map_err(err)? }),
        Type::U8 | Type::U16 | Type::U32 | Type::U64 => json!(d.u64().map_err(err)?),
        Type::I8 | Type::I16 | Type::I32 | Type::I64 | Type::Int => {
            let n = i128::from(d.int().map_err(err)?);
            i64::try_from(n).map_or_else(|_| json!(n.to_string()), |n| json!(n))
        }
        Type::F16 | Type::F32 | Type::F64 => json!(d.f64().map_err(err)?),
        Type::Bytes => json!({ "bytes": hex(d.bytes().map_err(err)?) }),
        Type::BytesIndef => {
            let mut all = Vec::new();
            for chunk in d.bytes_iter().map_err(err)? {
                all.extend_from_slice(chunk.map_err(err)?);
            }
            json!({ "bytes": hex(&all) })
        }
        Type::String => json!(d.str().map_err(err)?),
        Type::StringIndef => {
            let mut all = String::new();
            for chunk in d.str_iter().map_err(err)? {
                all.push_str(chunk.map_err(err)?);
            }
            json!(all)
        }
        Type::Array | Type::ArrayIndef => {
            let len = d.array().map_err(err)?;
            let mut out = Vec::new();
            match len {
                Some(n) => {
                    for _ in 0..n {
                        out.push(item(d)?);
                    }
                }
                None => {
                    while d.datatype().map_err(err)? != Type::Break {
                        out.push(item(d)?);
                    }
                    d.skip().map_err(err)?;
                }
            }
            Value::Array(out)
        }
        Type::Map | Type::MapIndef => {
            let len = d.map().map_err(err)?;
            let mut out = Vec::new();
            match len {
                Some(n) => {
                    for _ in 0..n {
                        out.push(json!([item(d)?, item(d)?]));
                    }
                }
                None => {
                    while d.datatype().map_err(err)? != Type::Break {
                        out.push(json!([item(d)?, item(d)?]));
                    }
                    d.skip().map_err(err)?;
                }
            }
            json!({ "map": out })
        }
        Type::Tag => {
            let tag = u64::from(d.tag().map_err(err)?);
            json!({ "tag": tag, "value": item(d)? })
        }
        other => return Err(format!("unexpected CBOR item {other:?}")),
    })
}

/// One connection's bytes: its preamble and frames (see the module documentation).
fn connection(stream: &[u8]) -> Result<Value, String> {
    let limits = Limits::default();
    let (_, mut pos) = try_decode_preamble(stream, &limits)
        .map_err(|e| format!("preamble: {e}"))?
        .ok_or("the stream ends inside its preamble")?;
    let preamble = &stream[..pos];
    let mut frames = Vec::new();
    while pos < stream.len() {
        let (frame, used) = try_decode(&stream[pos..], &limits)
            .map_err(|e| format!("frame at byte {pos}: {e}"))?
            .ok_or_else(|| format!("the stream ends inside the frame at byte {pos}"))?;
        let method = match frame {
            Frame::Request(r) => r.method(),
            Frame::Rejected { method, .. } => method,
        };
        let bytes = &stream[pos..pos + used];
        // The service id and the method id, then the arguments up to the frame's end.
        let mut d = Decoder::new(bytes);
        d.skip().and_then(|()| d.skip()).map_err(|e| e.to_string())?;
        let mut args = Vec::new();
        while d.position() < bytes.len() {
            let start = d.position();
            let value = item(&mut d)?;
            args.push(json!({ "raw": hex(&bytes[start..d.position()]), "value": value }));
        }
        frames.push(json!({
            "method_id": method.id(),
            "index": Method::ALL.iter().position(|m| *m == method),
            "has_kwargs": method.has_kwargs(),
            "frame": hex(bytes),
            "args": args,
        }));
        pos += used;
    }
    Ok(json!({ "preamble": hex(preamble), "frames": frames }))
}

/// Reads the connections from `input` (a JSON array of hex strings) and returns the JSON
/// array of their frames.
pub fn cut(input: &str) -> Result<String, String> {
    let streams: Vec<String> = serde_json::from_str(input).map_err(|e| format!("input: {e}"))?;
    let out = streams
        .iter()
        .enumerate()
        .map(|(i, s)| connection(&unhex(s)?).map_err(|e| format!("connection {i}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Value::Array(out).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_items() {
        // [1, -2, h'ab', "x", {0: true}, null, 1(3)] and an indefinite byte string.
        let bytes = [0x87, 0x01, 0x21, 0x41, 0xab, 0x61, b'x', 0xa1, 0x00, 0xf5, 0xf6, 0xc1, 0x03];
        let v = item(&mut Decoder::new(&bytes)).expect("item");
        assert_eq!(v, json!([1, -2, {"bytes": "ab"}, "x", {"map": [[0, true]]}, null, {"tag": 1, "value": 3}]));
        let indef = [0x5f, 0x41, 0x01, 0x42, 0x02, 0x03, 0xff];
        assert_eq!(item(&mut Decoder::new(&indef)).expect("indef"), json!({"bytes": "010203"}));
    }
}
