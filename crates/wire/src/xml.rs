//! XML responses for `awsQuery` and `ec2Query`, written by walking the
//! output shape.

use std::fmt::Write as _;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

use crate::model::{Kind, Member, Model};
use crate::timestamp;

/// RFC 3986 unreserved characters stay as they are; everything else is
/// percent-encoded (how IAM encodes policy documents).
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// How one service's responses are written.
pub struct XmlStyle<'a> {
    pub namespace: &'a str,
    /// Shapes whose string values are URL-encoded (IAM's `policyDocumentType`).
    pub url_encoded_shapes: &'a [&'a str],
    pub ec2: bool,
}

/// Escape text for an XML element body.
#[must_use]
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
    out
}

/// A successful response. `output` is the operation's output structure as
/// JSON, with timestamps as epoch seconds or preformatted strings.
#[must_use]
pub fn response(model: &Model, op: &str, output: &Value, request_id: &str, style: &XmlStyle) -> String {
    let mut x = String::with_capacity(512);
    let _ = write!(x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{op}Response xmlns=\"{}\">", style.namespace);
    let operation = model.operation(op);
    let out_shape = operation.and_then(|o| o.output.as_ref());
    if style.ec2 {
        let _ = write!(x, "<requestId>{}</requestId>", escape(request_id));
        if let Some(o) = out_shape {
            members(model, &o.shape, output, style, &mut x);
        }
    } else {
        if let Some(o) = out_shape {
            let wrapper = o.result_wrapper.clone().unwrap_or_else(|| format!("{op}Result"));
            let _ = write!(x, "<{wrapper}>");
            members(model, &o.shape, output, style, &mut x);
            let _ = write!(x, "</{wrapper}>");
        }
        let _ = write!(x, "<ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata>", escape(request_id));
    }
    let _ = write!(x, "</{op}Response>");
    x
}

fn element_name<'a>(name: &'a str, member: &'a Member) -> &'a str {
    member.location_name.as_deref().unwrap_or(name)
}

fn members(model: &Model, shape: &str, value: &Value, style: &XmlStyle, x: &mut String) {
    let (Some(s), Some(obj)) = (model.shape(shape), value.as_object()) else { return };
    for (name, member) in s.members.iter() {
        let Some(v) = obj.get(name) else { continue };
        if v.is_null() {
            continue;
        }
        let tag = element_name(name, member);
        let flattened = member.flattened || model.shape(&member.shape).is_some_and(|m| m.flattened);
        if flattened {
            if let (Some(items), Some(elem)) =
                (v.as_array(), model.shape(&member.shape).and_then(|m| m.member.as_ref()))
            {
                for item in items {
                    element(model, tag, &elem.shape, item, style, x);
                }
                continue;
            }
        }
        element(model, tag, &member.shape, v, style, x);
    }
}

fn element(model: &Model, tag: &str, shape: &str, value: &Value, style: &XmlStyle, x: &mut String) {
    let Some(s) = model.shape(shape) else { return };
    match s.kind {
        Kind::Structure => {
            let _ = write!(x, "<{tag}>");
            members(model, shape, value, style, x);
            let _ = write!(x, "</{tag}>");
        }
        Kind::List => {
            let items = value.as_array().map(Vec::as_slice).unwrap_or_default();
            if items.is_empty() {
                let _ = write!(x, "<{tag}/>");
                return;
            }
            let _ = write!(x, "<{tag}>");
            if let Some(elem) = &s.member {
                let inner = elem.location_name.as_deref().unwrap_or(if style.ec2 { "item" } else { "member" });
                for item in items {
                    element(model, inner, &elem.shape, item, style, x);
                }
            }
            let _ = write!(x, "</{tag}>");
        }
        Kind::Map => {
            let _ = write!(x, "<{tag}>");
            if let (Some(obj), Some(k), Some(v)) = (value.as_object(), &s.key, &s.value) {
                for (key, val) in obj {
                    x.push_str("<entry>");
                    element(
                        model,
                        k.location_name.as_deref().unwrap_or("key"),
                        &k.shape,
                        &Value::String(key.clone()),
                        style,
                        x,
                    );
                    element(model, v.location_name.as_deref().unwrap_or("value"), &v.shape, val, style, x);
                    x.push_str("</entry>");
                }
            }
            let _ = write!(x, "</{tag}>");
        }
        Kind::Timestamp => {
            let text = timestamp::iso8601(value);
            let _ = write!(x, "<{tag}>{}</{tag}>", escape(&text));
        }
        _ => {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let text = if style.url_encoded_shapes.contains(&shape) {
                utf8_percent_encode(&text, RFC3986).to_string()
            } else {
                text
            };
            let _ = write!(x, "<{tag}>{}</{tag}>", escape(&text));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const IAM: XmlStyle = XmlStyle {
        namespace: "https://iam.amazonaws.com/doc/2010-05-08/",
        url_encoded_shapes: &["policyDocumentType"],
        ec2: false,
    };

    #[test]
    fn iam_user_response() {
        let m = Model::from_json(include_str!("../../../models/iam.json")).expect("model");
        let out = json!({"User": {"Path": "/", "UserName": "bob", "UserId": "AIDAX", "Arn": "arn:aws:iam::1:user/bob", "CreateDate": 1_555_533_254.0}});
        let xml = response(&m, "CreateUser", &out, "req-1", &IAM);
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CreateUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><CreateUserResult><User><Path>/</Path><UserName>bob</UserName><UserId>AIDAX</UserId><Arn>arn:aws:iam::1:user/bob</Arn><CreateDate>2019-04-17T20:34:14Z</CreateDate></User></CreateUserResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></CreateUserResponse>"
        );
    }

    #[test]
    fn empty_lists_and_no_output() {
        let m = Model::from_json(include_str!("../../../models/iam.json")).expect("model");
        let xml = response(&m, "ListUsers", &json!({"Users": [], "IsTruncated": false}), "r", &IAM);
        assert!(xml.contains("<ListUsersResult><Users/><IsTruncated>false</IsTruncated></ListUsersResult>"), "{xml}");
        let xml = response(&m, "DeleteUser", &json!({}), "r", &IAM);
        assert!(xml.ends_with("<DeleteUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeleteUserResponse>"), "{xml}");
    }

    #[test]
    fn policy_documents_are_url_encoded() {
        let m = Model::from_json(include_str!("../../../models/iam.json")).expect("model");
        let out = json!({"PolicyName": "p", "PolicyDocument": "{\"a\": \"b&c\"}", "RoleName": "r"});
        let xml = response(&m, "GetRolePolicy", &out, "r", &IAM);
        assert!(xml.contains("<PolicyDocument>%7B%22a%22%3A%20%22b%26c%22%7D</PolicyDocument>"), "{xml}");
    }

    #[test]
    fn escapes_text() {
        assert_eq!(escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
    }
}
