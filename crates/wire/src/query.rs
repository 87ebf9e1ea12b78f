//! Decoding `awsQuery` and `ec2Query` form parameters into a JSON value
//! shaped like the operation's input structure.
//!
//! awsQuery (IAM, STS) nests lists as `Name.member.N` and maps as
//! `Name.entry.N.key`; ec2Query flattens every list as `Name.N` and names
//! members by `queryName` or the capitalised `locationName`.

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};

use crate::model::{Kind, Member, Model};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    AwsQuery,
    Ec2,
}

/// A parameter whose text does not fit its shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub param: String,
    pub value: String,
    pub expected: &'static str,
}

/// Form parameters, sorted by name, with `Action` and `Version` removed.
#[derive(Debug, Default)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    /// Parse an `application/x-www-form-urlencoded` body or query string.
    #[must_use]
    pub fn parse(text: &[u8]) -> Self {
        let mut map = BTreeMap::new();
        for (k, v) in form_urlencoded::parse(text) {
            map.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
        Params(map)
    }

    #[must_use]
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Set a parameter, replacing an earlier value.
    pub fn insert(&mut self, key: String, value: String) {
        self.0.insert(key, value);
    }

    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.0.remove(key)
    }

    /// Indices `N` present under `prefix.N...`, in numeric order.
    fn indices(&self, prefix: &str) -> Vec<u32> {
        let dotted = format!("{prefix}.");
        let mut out: Vec<u32> = self
            .0
            .range(dotted.clone()..)
            .take_while(|(k, _)| k.starts_with(&dotted))
            .filter_map(|(k, _)| k[dotted.len()..].split('.').next()?.parse().ok())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    fn has_prefix(&self, prefix: &str) -> bool {
        let dotted = format!("{prefix}.");
        self.0.contains_key(prefix)
            || self.0.range(dotted.clone()..).next().is_some_and(|(k, _)| k.starts_with(&dotted))
    }
}

/// Decode the members of `shape` (a structure) from `params`.
///
/// # Errors
/// A scalar whose text cannot be read as its type.
pub fn decode(model: &Model, shape: &str, params: &Params, flavor: Flavor) -> Result<Value, DecodeError> {
    decode_struct(model, shape, params, "", flavor).map(|v| v.unwrap_or_else(|| Value::Object(Map::new())))
}

fn wire_name(name: &str, member: &Member, flavor: Flavor) -> String {
    match flavor {
        Flavor::AwsQuery => member.location_name.clone().unwrap_or_else(|| name.to_owned()),
        Flavor::Ec2 => member
            .query_name
            .clone()
            .or_else(|| member.location_name.as_deref().map(capitalise))
            .unwrap_or_else(|| name.to_owned()),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

fn decode_struct(
    model: &Model,
    shape: &str,
    params: &Params,
    prefix: &str,
    flavor: Flavor,
) -> Result<Option<Value>, DecodeError> {
    let Some(s) = model.shape(shape) else { return Ok(None) };
    let mut out = Map::new();
    for (name, member) in s.members.iter() {
        let key = join(prefix, &wire_name(name, member, flavor));
        if let Some(v) = decode_member(model, member, params, &key, flavor)? {
            out.insert(name.to_owned(), v);
        }
    }
    Ok((!out.is_empty() || prefix.is_empty()).then_some(Value::Object(out)))
}

fn decode_member(
    model: &Model,
    member: &Member,
    params: &Params,
    key: &str,
    flavor: Flavor,
) -> Result<Option<Value>, DecodeError> {
    let Some(shape) = model.shape(&member.shape) else { return Ok(None) };
    match shape.kind {
        Kind::Structure => {
            if !params.has_prefix(key) {
                return Ok(None);
            }
            decode_struct(model, &member.shape, params, key, flavor)
        }
        Kind::List => {
            let Some(elem) = shape.member.as_deref() else { return Ok(None) };
            let base = if flavor == Flavor::Ec2 || shape.flattened || member.flattened {
                key.to_owned()
            } else {
                join(key, elem.location_name.as_deref().unwrap_or("member"))
            };
            let idx = params.indices(&base);
            if idx.is_empty() {
                // An empty list is sent as the bare name with no value.
                return Ok(params.get(key).filter(|v| v.is_empty()).map(|_| Value::Array(Vec::new())));
            }
            let mut items = Vec::with_capacity(idx.len());
            for i in idx {
                let k = format!("{base}.{i}");
                if let Some(v) = decode_member(model, elem, params, &k, flavor)? {
                    items.push(v);
                }
            }
            Ok(Some(Value::Array(items)))
        }
        Kind::Map => {
            let (Some(kk), Some(vv)) = (shape.key.as_deref(), shape.value.as_deref()) else { return Ok(None) };
            let base = if shape.flattened || member.flattened { key.to_owned() } else { join(key, "entry") };
            let idx = params.indices(&base);
            if idx.is_empty() {
                return Ok(None);
            }
            let kname = kk.location_name.as_deref().unwrap_or("key");
            let vname = vv.location_name.as_deref().unwrap_or("value");
            let mut out = Map::new();
            for i in idx {
                let entry = format!("{base}.{i}");
                let Some(Value::String(k)) = decode_member(model, kk, params, &join(&entry, kname), flavor)? else {
                    continue;
                };
                let v = decode_member(model, vv, params, &join(&entry, vname), flavor)?.unwrap_or(Value::Null);
                out.insert(k, v);
            }
            Ok(Some(Value::Object(out)))
        }
        kind => match params.get(key) {
            None => Ok(None),
            Some(text) => scalar(kind, key, text).map(Some),
        },
    }
}

fn scalar(kind: Kind, key: &str, text: &str) -> Result<Value, DecodeError> {
    let err = |expected| DecodeError { param: key.to_owned(), value: text.to_owned(), expected };
    Ok(match kind {
        Kind::Integer | Kind::Long => Value::Number(text.trim().parse::<i64>().map_err(|_| err("integer"))?.into()),
        Kind::Float | Kind::Double => {
            let f = text.trim().parse::<f64>().map_err(|_| err("number"))?;
            Value::Number(Number::from_f64(f).ok_or_else(|| err("number"))?)
        }
        Kind::Boolean => match text.trim().to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(err("boolean")),
        },
        _ => Value::String(text.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iam() -> Model {
        Model::from_json(include_str!("../../../models/iam.json")).expect("model")
    }

    fn ec2() -> Model {
        Model::from_json(include_str!("../../../models/ec2.json")).expect("model")
    }

    #[test]
    fn awsquery_cases() {
        let m = iam();
        let cases: &[(&str, &str, Value)] = &[
            (
                "CreateUserRequest",
                "UserName=bob&Path=%2Fdev%2F",
                serde_json::json!({"UserName": "bob", "Path": "/dev/"}),
            ),
            (
                "CreateUserRequest",
                "UserName=bob&Tags.member.1.Key=a&Tags.member.1.Value=1&Tags.member.2.Key=b&Tags.member.2.Value=2",
                serde_json::json!({"UserName": "bob", "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]}),
            ),
            ("ListUsersRequest", "MaxItems=10&Marker=abc", serde_json::json!({"MaxItems": 10, "Marker": "abc"})),
            ("UntagUserRequest", "UserName=bob&TagKeys=", serde_json::json!({"UserName": "bob", "TagKeys": []})),
            (
                "UntagUserRequest",
                "UserName=bob&TagKeys.member.10=j&TagKeys.member.2=b",
                serde_json::json!({"UserName": "bob", "TagKeys": ["b", "j"]}),
            ),
            ("ListUsersRequest", "", serde_json::json!({})),
        ];
        for (shape, form, want) in cases {
            let got = decode(&m, shape, &Params::parse(form.as_bytes()), Flavor::AwsQuery).expect("decode");
            assert_eq!(&got, want, "{shape} {form}");
        }
    }

    #[test]
    fn awsquery_type_errors() {
        let m = iam();
        let err = decode(&m, "ListUsersRequest", &Params::parse(b"MaxItems=ten"), Flavor::AwsQuery).unwrap_err();
        assert_eq!(err.param, "MaxItems");
        assert_eq!(err.expected, "integer");
    }

    #[test]
    fn ec2_flattened_lists() {
        let m = ec2();
        let form = "SubnetId.1=subnet-1&SubnetId.2=subnet-2&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-9&MaxResults=5";
        let got = decode(&m, "DescribeSubnetsRequest", &Params::parse(form.as_bytes()), Flavor::Ec2).expect("decode");
        assert_eq!(
            got,
            serde_json::json!({"SubnetIds": ["subnet-1", "subnet-2"], "Filters": [{"Name": "vpc-id", "Values": ["vpc-9"]}], "MaxResults": 5})
        );
    }
}

#[cfg(test)]
mod no_panic {
    use super::*;

    /// A cheap stand-in for the fuzz targets in `fuzz/`: pseudo-random
    /// forms decoded against every IAM and EC2 input shape must never panic.
    #[test]
    fn random_forms_never_panic() {
        let iam = Model::from_json(include_str!("../../../models/iam.json")).expect("model");
        let ec2 = Model::from_json(include_str!("../../../models/ec2.json")).expect("model");
        let pieces = [
            "UserName=",
            "Tags.member.",
            "1",
            "2",
            ".Key=",
            ".Value=",
            "&",
            "Filter.",
            ".Name=",
            "Value.",
            "%ff",
            "%",
            "MaxItems=",
            "-1",
            "99999999999999999999",
            "true",
            "Path=/",
            "PolicyDocument=%7B",
            ".entry.",
            "..",
            "=",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..3000 {
            let mut form = String::new();
            for _ in 0..12 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                #[allow(clippy::cast_possible_truncation)]
                form.push_str(pieces[(seed % pieces.len() as u64) as usize]);
            }
            let params = Params::parse(form.as_bytes());
            for (model, flavor) in [(&iam, Flavor::AwsQuery), (&ec2, Flavor::Ec2)] {
                for op in model.operations.values().filter_map(|o| o.input.as_ref()).take(40) {
                    if let Ok(v) = decode(model, &op.shape, &params, flavor) {
                        let _ = crate::validate::validate(model, &op.shape, &v);
                    }
                }
            }
        }
    }
}
