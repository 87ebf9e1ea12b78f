//! AWS errors and their envelopes on each protocol.

use serde_json::json;

use crate::xml::escape;
use crate::Protocol;

/// An error as the client will see it: the wire code, the message and the
/// HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    pub code: String,
    pub message: String,
    pub status: u16,
    /// Members of a JSON error body beyond `__type` and `message`
    /// (DynamoDB's `CancellationReasons`, a conditional failure's `Item`).
    pub extra: Option<serde_json::Map<String, serde_json::Value>>,
}

impl AwsError {
    #[must_use]
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        AwsError { code: code.into(), message: message.into(), status, extra: None }
    }

    /// The same error with extra JSON members.
    #[must_use]
    pub fn with_extra(mut self, extra: serde_json::Map<String, serde_json::Value>) -> Self {
        self.extra = Some(extra);
        self
    }

    /// The error body for `protocol`, and its content type. `namespace` is
    /// the XML namespace on `awsQuery`, and the `__type` prefix (if any) on
    /// the JSON protocols.
    #[must_use]
    pub fn render(&self, protocol: Protocol, request_id: &str, namespace: Option<&str>) -> (String, &'static str) {
        match protocol {
            Protocol::Query => {
                let kind = if self.status >= 500 { "Receiver" } else { "Sender" };
                (
                    format!(
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse xmlns=\"{}\"><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
                        escape(namespace.unwrap_or("https://iam.amazonaws.com/doc/2010-05-08/")),
                        escape(&self.code),
                        escape(&self.message),
                        escape(request_id)
                    ),
                    "text/xml",
                )
            }
            Protocol::Ec2 => (
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{}</Code><Message>{}</Message></Error></Errors><RequestID>{}</RequestID></Response>",
                    escape(&self.code),
                    escape(&self.message),
                    escape(request_id)
                ),
                "text/xml",
            ),
            Protocol::Json10 | Protocol::Json11 => {
                let kind = match namespace {
                    Some(ns) => format!("{ns}#{}", self.code),
                    None => self.code.clone(),
                };
                let content_type =
                    if protocol == Protocol::Json10 { "application/x-amz-json-1.0" } else { "application/x-amz-json-1.1" };
                let mut body = serde_json::Map::new();
                body.insert("__type".into(), json!(kind));
                // DynamoDB (JSON 1.0) leaves the member out of an error it
                // gives no message (a bare `SerializationException`).
                if !(self.message.is_empty() && protocol == Protocol::Json10) {
                    body.insert("message".into(), json!(self.message));
                }
                for (k, v) in self.extra.iter().flatten() {
                    if k != "__type" && !k.eq_ignore_ascii_case("message") {
                        body.insert(k.clone(), v.clone());
                    }
                }
                (serde_json::Value::Object(body).to_string(), content_type)
            }
        }
    }
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for AwsError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dynamodb_error_without_a_message_leaves_the_member_out() {
        let (body, _) = AwsError::new(400, "SerializationException", "").render(Protocol::Json10, "r", Some("ns"));
        assert_eq!(body, r#"{"__type":"ns#SerializationException"}"#);
        let (body, _) = AwsError::new(400, "X", "m").render(Protocol::Json10, "r", None);
        assert_eq!(body, r#"{"__type":"X","message":"m"}"#);
        let (body, _) = AwsError::new(400, "X", "").render(Protocol::Json11, "r", None);
        assert_eq!(body, r#"{"__type":"X","message":""}"#);
    }
}
