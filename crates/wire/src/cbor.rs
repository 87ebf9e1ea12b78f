//! The body encoding of Smithy RPC v2 CBOR (`smithy-rpc-v2-cbor`), which
//! CloudWatch's model lists first: CBOR (RFC 8949) to and from the JSON values
//! the rest of daxd works with, as the JSON protocols shape them.
//!
//! Decoding needs no model: a timestamp (tag 1 around a number of epoch
//! seconds) becomes that number, as in JSON 1.0; a byte string becomes base64,
//! as a JSON blob; `null` and `undefined` members are left out. Encoding walks
//! the output shape to write timestamps under tag 1 and blobs as byte strings,
//! and writes every number in its smallest lossless form.

use serde_json::{Map, Number, Value};

use crate::model::{Kind, Model};

/// Nesting deeper than this is refused (bounds the decoder's recursion).
const MAX_DEPTH: usize = 64;

/// A body that is not well-formed CBOR, or not a value the protocol allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CborError(pub String);

impl std::fmt::Display for CborError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Decode a request body: a CBOR map (an empty body is an empty map).
///
/// # Errors
/// When the bytes are not one well-formed CBOR map with text keys.
pub fn decode_cbor(bytes: &[u8]) -> Result<Value, CborError> {
    if bytes.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let mut r = Reader { b: bytes, i: 0 };
    let v = r.item(0)?.ok_or_else(|| CborError("the body is undefined".into()))?;
    if r.i != bytes.len() {
        return Err(CborError(format!("{} bytes follow the body's value", bytes.len() - r.i)));
    }
    if !v.is_object() {
        return Err(CborError("the body is not a map".into()));
    }
    Ok(v)
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

/// What a head announces.
enum Len {
    Definite(u64),
    Indefinite,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, CborError> {
        let b = *self.b.get(self.i).ok_or_else(|| CborError("unexpected end of the body".into()))?;
        self.i += 1;
        Ok(b)
    }

    fn take(&mut self, n: u64) -> Result<&[u8], CborError> {
        let n = usize::try_from(n).map_err(|_| CborError("length out of range".into()))?;
        let end = self.i.checked_add(n).filter(|e| *e <= self.b.len());
        let end = end.ok_or_else(|| CborError("a length runs past the end of the body".into()))?;
        let s = &self.b[self.i..end];
        self.i = end;
        Ok(s)
    }

    fn uint(&mut self, info: u8) -> Result<Len, CborError> {
        let n = match info {
            0..=23 => u64::from(info),
            24 => u64::from(self.byte()?),
            25 => u64::from(u16::from_be_bytes(self.take(2)?.try_into().unwrap_or_default())),
            26 => u64::from(u32::from_be_bytes(self.take(4)?.try_into().unwrap_or_default())),
            27 => u64::from_be_bytes(self.take(8)?.try_into().unwrap_or_default()),
            31 => return Ok(Len::Indefinite),
            _ => return Err(CborError(format!("reserved additional information {info}"))),
        };
        Ok(Len::Definite(n))
    }

    fn definite(&mut self, info: u8) -> Result<u64, CborError> {
        match self.uint(info)? {
            Len::Definite(n) => Ok(n),
            Len::Indefinite => Err(CborError("an integer cannot be indefinite".into())),
        }
    }

    fn at_break(&mut self) -> bool {
        if self.b.get(self.i) == Some(&0xff) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// The bytes of a (possibly chunked) string of major type `major`.
    fn string_bytes(&mut self, major: u8, info: u8) -> Result<Vec<u8>, CborError> {
        match self.uint(info)? {
            Len::Definite(n) => Ok(self.take(n)?.to_vec()),
            Len::Indefinite => {
                let mut out = Vec::new();
                while !self.at_break() {
                    let head = self.byte()?;
                    if head >> 5 != major || head & 0x1f == 31 {
                        return Err(CborError("a chunk of an indefinite string has the wrong type".into()));
                    }
                    let n = self.definite(head & 0x1f)?;
                    out.extend_from_slice(self.take(n)?);
                }
                Ok(out)
            }
        }
    }

    /// One item; `None` for `null` and `undefined`.
    fn item(&mut self, depth: usize) -> Result<Option<Value>, CborError> {
        if depth > MAX_DEPTH {
            return Err(CborError("the body nests too deeply".into()));
        }
        let head = self.byte()?;
        let (major, info) = (head >> 5, head & 0x1f);
        Ok(Some(match major {
            0 => Value::Number(self.definite(info)?.into()),
            1 => {
                let n = self.definite(info)?;
                match i64::try_from(n) {
                    Ok(n) => Value::Number((-1 - n).into()),
                    #[allow(clippy::cast_precision_loss)]
                    Err(_) => float(-1.0 - n as f64),
                }
            }
            2 => Value::String(base64(&self.string_bytes(2, info)?)),
            3 => Value::String(
                String::from_utf8(self.string_bytes(3, info)?)
                    .map_err(|_| CborError("a text string is not UTF-8".into()))?,
            ),
            4 => {
                let mut out = Vec::new();
                let mut push = |v: Option<Value>| out.push(v.unwrap_or(Value::Null));
                match self.uint(info)? {
                    Len::Definite(n) => {
                        for _ in 0..n {
                            push(self.item(depth + 1)?);
                        }
                    }
                    Len::Indefinite => {
                        while !self.at_break() {
                            push(self.item(depth + 1)?);
                        }
                    }
                }
                Value::Array(out)
            }
            5 => {
                let mut out = Map::new();
                let len = self.uint(info)?;
                let mut k = 0u64;
                loop {
                    match len {
                        Len::Definite(n) if k == n => break,
                        Len::Indefinite if self.at_break() => break,
                        _ => {}
                    }
                    k += 1;
                    let Some(Value::String(key)) = self.item(depth + 1)? else {
                        return Err(CborError("a map key is not a text string".into()));
                    };
                    if let Some(v) = self.item(depth + 1)? {
                        out.insert(key, v);
                    }
                }
                Value::Object(out)
            }
            6 => {
                let tag = self.definite(info)?;
                let inner = self.item(depth + 1)?;
                if tag == 1 && !inner.as_ref().is_some_and(Value::is_number) {
                    return Err(CborError("a timestamp (tag 1) does not hold a number".into()));
                }
                return Ok(inner);
            }
            _ => match info {
                20 => Value::Bool(false),
                21 => Value::Bool(true),
                22 | 23 => return Ok(None),
                25 => float(half(u16::from_be_bytes(self.take(2)?.try_into().unwrap_or_default()))),
                26 => float(f64::from(f32::from_be_bytes(self.take(4)?.try_into().unwrap_or_default()))),
                27 => float(f64::from_be_bytes(self.take(8)?.try_into().unwrap_or_default())),
                _ => return Err(CborError(format!("simple value {info} is not allowed here"))),
            },
        }))
    }
}

/// A float as JSON carries it: a number, or the strings botocore uses for the others.
fn float(f: f64) -> Value {
    match Number::from_f64(f) {
        Some(n) => Value::Number(n),
        None if f.is_nan() => Value::String("NaN".into()),
        None if f > 0.0 => Value::String("Infinity".into()),
        None => Value::String("-Infinity".into()),
    }
}

/// An IEEE 754 half-precision float.
fn half(h: u16) -> f64 {
    let exp = (h >> 10) & 0x1f;
    let mant = f64::from(h & 0x3ff);
    let v = match exp {
        0 => mant * 2f64.powi(-24),
        31 if mant == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1.0 + mant / 1024.0) * 2f64.powi(i32::from(e) - 15),
    };
    if h & 0x8000 == 0 {
        v
    } else {
        -v
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (k, b)| n | u32::from(*b) << (16 - 8 * k));
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(char::from(B64[(n >> (18 - 6 * k) & 0x3f) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn unbase64(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes() {
        let v = u32::try_from(B64.iter().position(|x| *x == c)?).ok()?;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from(acc >> bits & 0xff).ok()?);
        }
    }
    Some(out)
}

fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | u8::try_from(n).unwrap_or(0)),
        24..=0xff => out.extend([m | 24, u8::try_from(n).unwrap_or(0)]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend(u16::try_from(n).unwrap_or(0).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(m | 26);
            out.extend(u32::try_from(n).unwrap_or(0).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend(n.to_be_bytes());
        }
    }
}

fn number(out: &mut Vec<u8>, n: &Number) {
    if let Some(u) = n.as_u64() {
        head(out, 0, u);
    } else if let Some(i) = n.as_i64() {
        head(out, 1, (-1 - i).unsigned_abs());
    } else {
        let f = n.as_f64().unwrap_or(0.0);
        #[allow(clippy::cast_possible_truncation)]
        let single = f as f32;
        if f64::from(single) == f {
            out.push(0xfa);
            out.extend(single.to_be_bytes());
        } else {
            out.push(0xfb);
            out.extend(f.to_be_bytes());
        }
    }
}

fn text(out: &mut Vec<u8>, s: &str) {
    head(out, 3, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Encode a value of `shape` (an operation's output, or an error's members): nulls
/// are left out, timestamps go under tag 1, blobs as byte strings. Members the
/// model does not know are written by their JSON type.
#[must_use]
pub fn encode(model: &Model, shape: Option<&str>, value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write(model, shape, value, &mut out);
    out
}

/// The body of an error on `smithy-rpc-v2-cbor`: `__type` is the absolute
/// shape ID of the model's error whose wire code is `code` (`namespace#Shape`;
/// the code itself when the model has no such shape), and the message goes in
/// the member that shape names it by (`message`, or `Message` on a few).
#[must_use]
pub fn error_body(model: &Model, namespace: &str, code: &str, message: &str) -> Vec<u8> {
    // Several shapes may share a code (CloudWatch's `ResourceNotFound` and
    // `DashboardNotFoundError`): the shape named by the code wins, else the first by name.
    let found = model.shapes.get_key_value(code).filter(|(_, s)| s.exception).or_else(|| {
        let mut all: Vec<_> = model
            .shapes
            .iter()
            .filter(|(name, s)| {
                s.exception && s.error.as_ref().and_then(|e| e.code.as_deref()).unwrap_or(name.as_str()) == code
            })
            .collect();
        all.sort_by(|a, b| a.0.cmp(b.0));
        all.into_iter().next()
    });
    let (name, member) = match found {
        Some((name, s)) if s.members.get("Message").is_some() => (name.as_str(), "Message"),
        Some((name, _)) => (name.as_str(), "message"),
        None => (code, "message"),
    };
    let mut body = Map::new();
    body.insert("__type".into(), Value::String(format!("{namespace}#{name}")));
    if !message.is_empty() {
        body.insert(member.into(), Value::String(message.to_owned()));
    }
    encode(model, None, &Value::Object(body))
}

fn write(model: &Model, shape: Option<&str>, value: &Value, out: &mut Vec<u8>) {
    let s = shape.and_then(|n| model.shape(n));
    match (s.map(|s| s.kind), value) {
        (Some(Kind::Timestamp), Value::Number(n)) => {
            out.push(0xc1);
            match n.as_f64() {
                #[allow(clippy::cast_possible_truncation)]
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                    let i = f as i64;
                    if i >= 0 {
                        head(out, 0, i.unsigned_abs());
                    } else {
                        head(out, 1, (-1 - i).unsigned_abs());
                    }
                }
                Some(f) => {
                    out.push(0xfb);
                    out.extend(f.to_be_bytes());
                }
                None => number(out, n),
            }
        }
        (Some(Kind::Blob), Value::String(b)) => match unbase64(b) {
            Some(bytes) => {
                head(out, 2, bytes.len() as u64);
                out.extend(bytes);
            }
            None => text(out, b),
        },
        (Some(Kind::Float | Kind::Double), Value::String(t))
            if ["NaN", "Infinity", "-Infinity"].contains(&t.as_str()) =>
        {
            let f = match t.as_str() {
                "NaN" => f64::NAN,
                "Infinity" => f64::INFINITY,
                _ => f64::NEG_INFINITY,
            };
            out.push(0xfb);
            out.extend(f.to_be_bytes());
        }
        (_, Value::Null) => out.push(0xf6),
        (_, Value::Bool(b)) => out.push(if *b { 0xf5 } else { 0xf4 }),
        (_, Value::Number(n)) => number(out, n),
        (_, Value::String(t)) => text(out, t),
        (_, Value::Array(items)) => {
            let member = s.and_then(|s| s.member.as_ref()).map(|m| m.shape.as_str());
            head(out, 4, items.len() as u64);
            for v in items {
                write(model, member, v, out);
            }
        }
        (_, Value::Object(map)) => {
            let present: Vec<(&String, &Value)> = map.iter().filter(|(_, v)| !v.is_null()).collect();
            head(out, 5, present.len() as u64);
            for (k, v) in present {
                text(out, k);
                let member = match s {
                    Some(s) if s.kind == Kind::Map => s.value.as_ref().map(|m| m.shape.as_str()),
                    Some(s) => s.members.get(k).map(|m| m.shape.as_str()),
                    None => None,
                };
                write(model, member, v, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn model() -> Model {
        Model::from_json(
            r#"{"metadata":{"apiVersion":"1","endpointPrefix":"x","protocol":"json","serviceId":"X"},
            "operations":{},
            "shapes":{"Out":{"type":"structure","members":{"T":{"shape":"Ts"},"B":{"shape":"Bl"},
              "L":{"shape":"Tl"},"D":{"shape":"Db"}}},
              "Ts":{"type":"timestamp"},"Bl":{"type":"blob"},"Db":{"type":"double"},
              "Tl":{"type":"list","member":{"shape":"Ts"}}}}"#,
        )
        .unwrap()
    }

    #[test]
    fn errors_name_the_shape_of_their_query_code() {
        let m = Model::from_json(
            r#"{"metadata":{"apiVersion":"1","endpointPrefix":"x","protocol":"json","serviceId":"X"},
            "operations":{},
            "shapes":{"BadValue":{"type":"structure","members":{"message":{"shape":"S"}},"exception":true,
              "error":{"code":"InvalidParameterValue","httpStatusCode":400,"senderFault":true}},
              "NotFound":{"type":"structure","members":{"message":{"shape":"S"}},"exception":true,
              "error":{"code":"Gone","httpStatusCode":404,"senderFault":true}},
              "Gone":{"type":"structure","members":{"message":{"shape":"S"}},"exception":true,
              "error":{"code":"Gone","httpStatusCode":404,"senderFault":true}},
              "Fault":{"type":"structure","members":{"Message":{"shape":"S"}},"exception":true,
              "error":{"code":"InternalServiceError","httpStatusCode":500}},
              "S":{"type":"string"}}}"#,
        )
        .unwrap();
        let v = decode_cbor(&error_body(&m, "ns.x", "InvalidParameterValue", "bad")).unwrap();
        assert_eq!(v, json!({"__type": "ns.x#BadValue", "message": "bad"}));
        let v = decode_cbor(&error_body(&m, "ns.x", "InternalServiceError", "boom")).unwrap();
        assert_eq!(v, json!({"__type": "ns.x#Fault", "Message": "boom"}));
        let v = decode_cbor(&error_body(&m, "ns.x", "Gone", "g")).unwrap();
        assert_eq!(v, json!({"__type": "ns.x#Gone", "message": "g"}));
        let v = decode_cbor(&error_body(&m, "ns.x", "AccessDeniedException", "")).unwrap();
        assert_eq!(v, json!({"__type": "ns.x#AccessDeniedException"}));
    }

    #[test]
    fn round_trips_through_the_model() {
        let m = model();
        let v = json!({"T": 1_700_000_000, "B": "AAH+/w==", "L": [1.5, 2], "D": 0.1, "S": "héllo", "N": -7,
                       "Big": 1u64 << 40, "M": {"k": [true, false]}, "Skip": null});
        let bytes = encode(&m, Some("Out"), &v);
        let back = decode_cbor(&bytes).unwrap();
        let mut want = v.clone();
        want.as_object_mut().unwrap().remove("Skip");
        assert_eq!(back, want);
        // The timestamp is tag 1 around an integer.
        let t = bytes.windows(2).position(|w| w == [0x61, b'T']).unwrap();
        assert_eq!(bytes[t + 2], 0xc1);
    }

    #[test]
    fn decodes_what_other_encoders_send() {
        // {"a": [1, -1, 1.5 (half), "x" (indefinite chunks), h'01', undefined], "t": 1(1.5)}
        let bytes = [
            0xbf, 0x61, b'a', 0x9f, 0x01, 0x20, 0xf9, 0x3e, 0x00, 0x7f, 0x61, b'x', 0xff, 0x41, 0x01, 0xf7, 0xff, 0x61,
            b't', 0xc1, 0xfb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0xff,
        ];
        let v = decode_cbor(&bytes).unwrap();
        assert_eq!(v, json!({"a": [1, -1, 1.5, "x", "AQ==", null], "t": 1.5}));
        assert_eq!(decode_cbor(&[]).unwrap(), json!({}));
    }

    #[test]
    fn refuses_malformed_bodies() {
        let cases: &[&[u8]] = &[
            &[0x01],                                                 // not a map
            &[0xa1, 0x01, 0x01],                                     // a key that is not text
            &[0xa1, 0x61],                                           // truncated
            &[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // huge length
            &[0xa0, 0x00],                                           // trailing bytes
            &[0xa1, 0x61, b'a', 0xc1, 0x61, b'x'],                   // a timestamp of text
            &[0xa1, 0x61, b'a', 0x62, 0xff, 0xfe],                   // text that is not UTF-8
            &[0xa1, 0x61, b'a', 0xfc],                               // reserved
        ];
        for c in cases {
            assert!(decode_cbor(c).is_err(), "{c:02x?}");
        }
        let deep: Vec<u8> = std::iter::once(0xa1)
            .chain(std::iter::once(0x61))
            .chain(std::iter::once(b'a'))
            .chain(std::iter::repeat_n(0x81, 200))
            .chain(std::iter::once(0x01))
            .collect();
        assert!(decode_cbor(&deep).is_err());
    }

    #[test]
    fn base64_round_trips() {
        for bytes in [&b""[..], b"a", b"ab", b"abc", b"abcd", &[0, 255, 254, 1]] {
            assert_eq!(unbase64(&base64(bytes)).as_deref(), Some(bytes));
        }
        assert_eq!(half(0x3c00), 1.0);
        assert_eq!(half(0xc000), -2.0);
        assert!(half(0x7e00).is_nan());
    }
}
