//! The `rest-json` protocol (FIS): a request is routed by its HTTP method and path against
//! each operation's `http.requestUri` template, its input is gathered from the path's
//! labels, the query string's members and the JSON body, and an error is answered with the
//! code in the `x-amzn-ErrorType` header and `{"message": …}` as the body.
//!
//! The model's HTTP bindings (`http`, a member's `location` and `locationName`) are read
//! from the model's JSON text by [`RestJson::from_model_json`]; [`crate::Model`] keeps the
//! shapes. Pure functions over strings and bytes: no service, no authentication.

use std::collections::HashMap;

use percent_encoding::percent_decode_str;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::model::{Kind, Model};
use crate::AwsError;

/// One segment of a request URI template's path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// Matched exactly.
    Literal(String),
    /// `{name}`: one segment, percent-decoded.
    Label(String),
    /// `{name+}`: the rest of the path (the last segment only), percent-decoded.
    Greedy(String),
}

/// A parsed `requestUri`: the path's segments and the query string's literal members
/// (`/x?tagging` routes only requests that carry `tagging`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    pub segments: Vec<Segment>,
    pub query: Vec<(String, Option<String>)>,
}

/// Parse a `requestUri` template.
///
/// # Errors
/// A template that does not start with `/`, a label that is empty, unclosed or not a whole
/// segment, or a greedy label that is not the last segment.
pub fn parse_template(uri: &str) -> Result<Template, String> {
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let Some(path) = path.strip_prefix('/') else {
        return Err(format!("request URI {uri:?} does not start with /"));
    };
    let mut segments = Vec::new();
    let parts: Vec<&str> = if path.is_empty() { Vec::new() } else { path.split('/').collect() };
    for (i, part) in parts.iter().enumerate() {
        let seg = if let Some(inner) = part.strip_prefix('{') {
            let name = inner.strip_suffix('}').ok_or_else(|| format!("unclosed label in {uri:?}"))?;
            match name.strip_suffix('+') {
                Some(greedy) if i + 1 == parts.len() && valid_label(greedy) => Segment::Greedy(greedy.to_owned()),
                Some(_) => return Err(format!("a greedy label must be the last segment and named: {uri:?}")),
                None if valid_label(name) => Segment::Label(name.to_owned()),
                None => return Err(format!("invalid label {name:?} in {uri:?}")),
            }
        } else if part.contains('{') || part.contains('}') {
            return Err(format!("a label must be a whole segment: {uri:?}"));
        } else {
            Segment::Literal((*part).to_owned())
        };
        segments.push(seg);
    }
    let query = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), (!v.is_empty()).then(|| v.into_owned())))
        .filter(|(k, _)| !k.is_empty())
        .collect();
    Ok(Template { segments, query })
}

fn valid_label(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl Template {
    /// The labels of `path` (raw, as sent: percent-encoded) if it matches, else `None`.
    #[must_use]
    pub fn matches(&self, path: &str) -> Option<Vec<(String, String)>> {
        let path = path.strip_prefix('/')?;
        let parts: Vec<&str> = if path.is_empty() { Vec::new() } else { path.split('/').collect() };
        let mut labels = Vec::new();
        for (i, seg) in self.segments.iter().enumerate() {
            match seg {
                Segment::Literal(l) => {
                    if parts.get(i).map(|p| decode(p)) != Some(Some(l.clone())) {
                        return None;
                    }
                }
                Segment::Label(name) => {
                    let value = decode(parts.get(i)?)?;
                    if value.is_empty() {
                        return None;
                    }
                    labels.push((name.clone(), value));
                }
                Segment::Greedy(name) => {
                    let rest = parts.get(i..)?.join("/");
                    let value = decode(&rest)?;
                    if value.is_empty() {
                        return None;
                    }
                    labels.push((name.clone(), value));
                    return Some(labels);
                }
            }
        }
        (parts.len() == self.segments.len()).then_some(labels)
    }

    /// How specific the template is: literal segments count most.
    fn specificity(&self) -> (usize, usize) {
        let literals = self.segments.iter().filter(|s| matches!(s, Segment::Literal(_))).count();
        (literals + self.query.len(), self.segments.len())
    }
}

fn decode(raw: &str) -> Option<String> {
    percent_decode_str(raw).decode_utf8().ok().map(|s| s.into_owned())
}

/// Where an input member travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    Uri,
    Query,
    Header,
}

/// An input member bound to the path, the query string or a header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    pub member: String,
    pub location: Location,
    /// Its name on the wire (the label, the query key, the header).
    pub wire_name: String,
    /// The member's shape name.
    pub shape: String,
}

/// An operation's HTTP binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestOp {
    pub name: String,
    pub method: String,
    pub template: Template,
    /// The status of a success.
    pub response_code: u16,
    pub input_shape: Option<String>,
    pub bindings: Vec<Binding>,
}

/// The HTTP bindings of every operation of a rest-json model.
#[derive(Clone, Debug, Default)]
pub struct RestJson {
    pub ops: Vec<RestOp>,
}

#[derive(Deserialize)]
struct RawModel {
    operations: HashMap<String, RawOp>,
    shapes: HashMap<String, RawShape>,
}

#[derive(Deserialize)]
struct RawOp {
    http: Option<RawHttp>,
    input: Option<RawRef>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawHttp {
    method: String,
    request_uri: String,
    #[serde(default)]
    response_code: Option<u16>,
}

#[derive(Deserialize)]
struct RawRef {
    shape: String,
}

#[derive(Deserialize)]
struct RawShape {
    #[serde(default)]
    members: HashMap<String, RawMember>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMember {
    shape: String,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    location_name: Option<String>,
}

/// A request routed to an operation: its name and the path's labels, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Routed<'a> {
    pub op: &'a RestOp,
    pub labels: Vec<(String, String)>,
}

impl RestJson {
    /// The bindings of a model's JSON text (botocore's `service-2.json` format).
    ///
    /// # Errors
    /// Text that is not such a model, or a request URI template that does not parse.
    pub fn from_model_json(text: &str) -> Result<Self, String> {
        let raw: RawModel = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut ops = Vec::new();
        for (name, op) in &raw.operations {
            let Some(http) = &op.http else { continue };
            let template = parse_template(&http.request_uri)?;
            let mut bindings = Vec::new();
            if let Some(input) = &op.input {
                let shape = raw.shapes.get(&input.shape).ok_or_else(|| format!("no shape {}", input.shape))?;
                for (member, m) in &shape.members {
                    let location = match m.location.as_deref() {
                        Some("uri") => Location::Uri,
                        Some("querystring") => Location::Query,
                        Some("header") => Location::Header,
                        _ => continue,
                    };
                    bindings.push(Binding {
                        member: member.clone(),
                        location,
                        wire_name: m.location_name.clone().unwrap_or_else(|| member.clone()),
                        shape: m.shape.clone(),
                    });
                }
            }
            bindings.sort_by(|a, b| a.member.cmp(&b.member));
            ops.push(RestOp {
                name: name.clone(),
                method: http.method.to_ascii_uppercase(),
                template,
                response_code: http.response_code.unwrap_or(200),
                input_shape: op.input.as_ref().map(|r| r.shape.clone()),
                bindings,
            });
        }
        ops.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(RestJson { ops })
    }

    /// The operation `method` and `path` (raw) reach with `query` (raw), the most
    /// specific template first; `None` when no template matches.
    #[must_use]
    pub fn route(&self, method: &str, path: &str, query: &str) -> Option<Routed<'_>> {
        let keys: Vec<(String, String)> =
            form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        self.ops
            .iter()
            .filter(|op| op.method.eq_ignore_ascii_case(method))
            .filter(|op| {
                op.template
                    .query
                    .iter()
                    .all(|(k, v)| keys.iter().any(|(qk, qv)| qk == k && v.as_ref().is_none_or(|v| v == qv)))
            })
            .filter_map(|op| op.template.matches(path).map(|labels| Routed { op, labels }))
            .max_by_key(|r| r.op.template.specificity())
    }

    /// Whether any operation's template matches `path`, whatever the method.
    #[must_use]
    pub fn knows_path(&self, path: &str) -> bool {
        self.ops.iter().any(|op| op.template.matches(path).is_some())
    }
}

/// The input of a routed request: the JSON body's object, with the path's labels, the
/// query string's members and the headers' bound members set, each as the JSON type of its
/// shape (`maxResults=5` is the number 5; a list member repeats its key).
///
/// # Errors
/// `SerializationException` (400) for a body that is not a JSON object or a bound value
/// that is not of its shape's type.
pub fn decode_request(
    model: &Model,
    routed: &Routed<'_>,
    query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Value, AwsError> {
    let serialization = |m: String| AwsError::new(400, "SerializationException", m);
    let mut out = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return Err(serialization("Start of structure or map found where not expected.".to_owned())),
            Err(e) => return Err(serialization(format!("Could not parse the request body as JSON: {e}"))),
        }
    };
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    for b in &routed.op.bindings {
        out.remove(&b.member);
        let kind = model.shape(&b.shape).map(|s| s.kind);
        let raw: Vec<String> = match b.location {
            Location::Uri => routed.labels.iter().filter(|(k, _)| *k == b.wire_name).map(|(_, v)| v.clone()).collect(),
            Location::Query => pairs.iter().filter(|(k, _)| *k == b.wire_name).map(|(_, v)| v.clone()).collect(),
            Location::Header => headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(&b.wire_name))
                .map(|(_, v)| (*v).to_owned())
                .collect(),
        };
        if raw.is_empty() {
            continue;
        }
        let value = if kind == Some(Kind::List) {
            let element = model.shape(&b.shape).and_then(|s| s.member.as_ref()).map(|m| m.shape.as_str());
            let element_kind = element.and_then(|e| model.shape(e)).map(|s| s.kind);
            let mut items = Vec::new();
            for r in &raw {
                for piece in split_list(r, b.location) {
                    items.push(scalar(element_kind, &piece).ok_or_else(|| bad_value(b, &piece))?);
                }
            }
            Value::Array(items)
        } else {
            let last = raw.last().cloned().unwrap_or_default();
            scalar(kind, &last).ok_or_else(|| bad_value(b, &last))?
        };
        out.insert(b.member.clone(), value);
    }
    Ok(Value::Object(out))
}

/// A header list is comma-separated; a query list repeats its key.
fn split_list(raw: &str, location: Location) -> Vec<String> {
    if location == Location::Header {
        raw.split(',').map(|s| s.trim().to_owned()).collect()
    } else {
        vec![raw.to_owned()]
    }
}

fn bad_value(b: &Binding, value: &str) -> AwsError {
    AwsError::new(400, "SerializationException", format!("Invalid value {value:?} for {}", b.wire_name))
}

/// A bound string as the JSON value of its shape's type; `None` when it is not one.
fn scalar(kind: Option<Kind>, raw: &str) -> Option<Value> {
    match kind {
        Some(Kind::Integer | Kind::Long) => raw.trim().parse::<i64>().ok().map(Value::from),
        Some(Kind::Float | Kind::Double) => raw
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number),
        Some(Kind::Boolean) => match raw.trim() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        _ => Some(Value::String(raw.to_owned())),
    }
}

/// The JSON body of a rest-json error: `{"message": …}` with any extra members (the code
/// goes in the `x-amzn-ErrorType` header).
#[must_use]
pub fn error_body(err: &AwsError) -> String {
    let mut body = Map::new();
    body.insert("message".into(), Value::String(err.message.clone()));
    for (k, v) in err.extra.iter().flatten() {
        if !k.eq_ignore_ascii_case("message") {
            body.insert(k.clone(), v.clone());
        }
    }
    Value::Object(body).to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const MODEL: &str = r#"{
        "metadata": {"apiVersion": "2020-12-01", "endpointPrefix": "x", "protocol": "rest-json", "serviceId": "X"},
        "operations": {
            "ListThings": {"name": "ListThings", "http": {"method": "GET", "requestUri": "/things"},
                "input": {"shape": "ListIn"}},
            "GetThing": {"name": "GetThing", "http": {"method": "GET", "requestUri": "/things/{id}"},
                "input": {"shape": "GetIn"}},
            "GetParts": {"name": "GetParts", "http": {"method": "GET", "requestUri": "/things/{id}/parts"},
                "input": {"shape": "GetIn"}},
            "GetSpecial": {"name": "GetSpecial", "http": {"method": "GET", "requestUri": "/things/special"}},
            "Untag": {"name": "Untag", "http": {"method": "DELETE", "requestUri": "/tags/{resourceArn}", "responseCode": 204},
                "input": {"shape": "UntagIn"}},
            "Put": {"name": "Put", "http": {"method": "POST", "requestUri": "/files/{key+}?upload"},
                "input": {"shape": "PutIn"}}
        },
        "shapes": {
            "ListIn": {"type": "structure", "members": {
                "maxResults": {"shape": "Int", "location": "querystring", "locationName": "maxResults"},
                "flag": {"shape": "Bool", "location": "querystring", "locationName": "flag"},
                "nextToken": {"shape": "Str", "location": "querystring", "locationName": "nextToken"}}},
            "GetIn": {"type": "structure", "required": ["id"], "members": {
                "thingId": {"shape": "Str", "location": "uri", "locationName": "id"}}},
            "UntagIn": {"type": "structure", "members": {
                "resourceArn": {"shape": "Str", "location": "uri", "locationName": "resourceArn"},
                "tagKeys": {"shape": "Keys", "location": "querystring", "locationName": "tagKeys"}}},
            "PutIn": {"type": "structure", "members": {
                "key": {"shape": "Str", "location": "uri", "locationName": "key"},
                "tags": {"shape": "Keys", "location": "header", "locationName": "x-tags"},
                "body": {"shape": "Str"}}},
            "Int": {"type": "integer"},
            "Bool": {"type": "boolean"},
            "Str": {"type": "string"},
            "Keys": {"type": "list", "member": {"shape": "Str"}}
        }
    }"#;

    fn setup() -> (Model, RestJson) {
        (Model::from_json(MODEL).unwrap(), RestJson::from_model_json(MODEL).unwrap())
    }

    #[test]
    fn templates_parse_and_bad_ones_are_refused() {
        let t = parse_template("/a/{b}/c/{d+}?x=1&y").unwrap();
        assert_eq!(
            t.segments,
            [
                Segment::Literal("a".into()),
                Segment::Label("b".into()),
                Segment::Literal("c".into()),
                Segment::Greedy("d".into())
            ]
        );
        assert_eq!(t.query, [("x".into(), Some("1".into())), ("y".into(), None)]);
        assert_eq!(parse_template("/").unwrap().segments, []);
        for bad in ["", "a/b", "/{a", "/{}", "/{a+}/b", "/x{a}", "/{a b}", "/{+}"] {
            assert!(parse_template(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn routing_by_method_and_path_prefers_literals_and_decodes_labels() {
        let (_, rj) = setup();
        let r = rj.route("GET", "/things", "").unwrap();
        assert_eq!(r.op.name, "ListThings");
        let r = rj.route("get", "/things/abc", "").unwrap();
        assert_eq!((r.op.name.as_str(), r.labels.clone()), ("GetThing", vec![("id".into(), "abc".into())]));
        assert_eq!(rj.route("GET", "/things/special", "").unwrap().op.name, "GetSpecial");
        assert_eq!(rj.route("GET", "/things/a/parts", "").unwrap().op.name, "GetParts");
        assert!(rj.route("POST", "/things", "").is_none());
        assert!(rj.route("GET", "/things/a/b", "").is_none());
        assert!(rj.route("GET", "/things/", "").is_none());
        assert!(rj.route("GET", "/nothing", "").is_none());
        let r = rj.route("DELETE", "/tags/arn%3Aaws%3Afis%3Aus-east-1%3A1%3Aexperiment%2FX", "").unwrap();
        assert_eq!(r.labels[0].1, "arn:aws:fis:us-east-1:1:experiment/X");
        assert_eq!(r.op.response_code, 204);
        // A literal query member must be present; a greedy label takes the rest of the path.
        assert!(rj.route("POST", "/files/a/b", "").is_none());
        let r = rj.route("POST", "/files/a/b%20c", "upload").unwrap();
        assert_eq!(r.labels, [("key".to_owned(), "a/b c".to_owned())]);
        assert!(rj.knows_path("/things/x") && !rj.knows_path("/"));
        // Invalid UTF-8 in an escape matches nothing.
        assert!(rj.route("GET", "/things/%ff", "").is_none());
    }

    #[test]
    fn input_gathers_labels_query_headers_and_body_as_their_types() {
        let (model, rj) = setup();
        let r = rj.route("GET", "/things", "maxResults=5&flag=true&nextToken=a%2Bb").unwrap();
        let v = decode_request(&model, &r, "maxResults=5&flag=true&nextToken=a%2Bb", &[], b"").unwrap();
        assert_eq!(v, json!({"maxResults": 5, "flag": true, "nextToken": "a+b"}));
        let e = decode_request(&model, &r, "maxResults=five", &[], b"").unwrap_err();
        assert_eq!((e.status, e.code.as_str()), (400, "SerializationException"));
        assert!(decode_request(&model, &r, "flag=yes", &[], b"").is_err());

        let r = rj.route("DELETE", "/tags/arn", "tagKeys=a&tagKeys=b").unwrap();
        let v = decode_request(&model, &r, "tagKeys=a&tagKeys=b", &[], b"").unwrap();
        assert_eq!(v, json!({"resourceArn": "arn", "tagKeys": ["a", "b"]}));

        let r = rj.route("POST", "/files/k", "upload").unwrap();
        let body = br#"{"body": "text", "key": "from-body"}"#;
        let v = decode_request(&model, &r, "upload", &[("X-Tags", "a, b")], body).unwrap();
        assert_eq!(v, json!({"key": "k", "tags": ["a", "b"], "body": "text"}));

        for bad in [&b"[1]"[..], b"{", b"\"s\""] {
            let e = decode_request(&model, &r, "", &[], bad).unwrap_err();
            assert_eq!(e.code, "SerializationException");
        }
    }

    #[test]
    fn errors_carry_the_message_in_the_body() {
        let e = AwsError::new(404, "ResourceNotFoundException", "gone");
        assert_eq!(error_body(&e), r#"{"message":"gone"}"#);
    }
}
