//! The remote backend: forward each call to a DynamoDB-compatible HTTP
//! endpoint (AWS DynamoDB, ScyllaDB Alternator, dynalite), signed with
//! SigV4.
//!
//! Plain `http://` only for now: TLS (`https://`, which AWS DynamoDB itself
//! requires) needs a TLS stack such as `hyper-rustls`, which is not in the
//! build yet; [`RemoteBackend::new`] refuses an `https://` endpoint rather
//! than sending in the clear. Put a TLS-originating proxy on loopback in the
//! meantime.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderValue, CONTENT_TYPE, HOST};
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use serde_json::{Map, Value};

use crate::arn;
use crate::{Backend, BoxFuture, DynamoError};

const JSON_1_0: &str = "application/x-amz-json-1.0";

/// The key pair (and session token) the remote backend signs with.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("session_token", &self.session_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// How to reach the remote endpoint.
#[derive(Debug, Clone)]
pub struct RemoteConfig {
    /// `http://host[:port][/path]`.
    pub endpoint: String,
    /// Where DynamoDB Streams calls go (`http://host[:port][/path]`);
    /// `None`: `endpoint`.
    pub streams_endpoint: Option<String>,
    pub credentials: Credentials,
    /// Sign (and so address) every request for this region instead of the
    /// request's own; for single-region servers such as Alternator.
    pub region: Option<String>,
    /// Time allowed to open a TCP connection.
    pub connect_timeout: Duration,
    /// Time allowed for one whole exchange: connecting, sending, and reading
    /// the full answer.
    pub request_timeout: Duration,
    /// How long an idle keep-alive connection stays in the pool.
    pub pool_idle_timeout: Duration,
    /// Idle keep-alive connections kept per host.
    pub pool_max_idle_per_host: usize,
    /// Send table names where the client gave table ARNs (Alternator and
    /// dynalite accept only names). Turn off in front of AWS DynamoDB to pass
    /// ARNs through, e.g. for cross-account tables.
    pub normalize_table_arns: bool,
    /// Largest answer accepted (DynamoDB's are at most a few MB).
    pub max_response_bytes: usize,
}

impl RemoteConfig {
    /// A configuration with the default timeouts: 5 s to connect, 30 s per
    /// request, idle connections kept 90 s, 64 per host.
    pub fn new(endpoint: impl Into<String>, credentials: Credentials) -> Self {
        RemoteConfig {
            endpoint: endpoint.into(),
            streams_endpoint: None,
            credentials,
            region: None,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            pool_idle_timeout: Duration::from_secs(90),
            pool_max_idle_per_host: 64,
            normalize_table_arns: true,
            max_response_bytes: 64 * 1024 * 1024,
        }
    }
}

/// DynamoDB behind an HTTP endpoint.
pub struct RemoteBackend {
    config: RemoteConfig,
    dynamodb: Endpoint,
    streams: Endpoint,
    client: Client<HttpConnector, Full<Bytes>>,
    clock: Arc<dyn base::Clock>,
}

/// One endpoint requests are sent to.
struct Endpoint {
    /// As configured, for messages.
    url: String,
    uri: Uri,
    /// The `Host` header, exactly as signed.
    host: String,
    path: String,
}

impl Endpoint {
    fn parse(url: &str) -> Result<Self, DynamoError> {
        let bad = |why: &str| DynamoError::internal(format!("DynamoDB endpoint {url:?}: {why}"));
        let uri: Uri = url.parse().map_err(|_| bad("not a URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(bad("https is not supported yet; use http:// (e.g. through a local TLS proxy)"))
            }
            _ => return Err(bad("expected an http:// URL")),
        }
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad("user info is not supported"));
        }
        if uri.query().is_some() {
            return Err(bad("a query string is not supported"));
        }
        let host = authority.as_str().to_owned();
        let path = if uri.path().is_empty() { "/".to_owned() } else { uri.path().to_owned() };
        Ok(Endpoint { url: url.to_owned(), uri, host, path })
    }
}

impl std::fmt::Debug for RemoteBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteBackend").field("config", &self.config).finish_non_exhaustive()
    }
}

impl RemoteBackend {
    /// A backend for `config.endpoint`, signing with `clock`'s time.
    /// Connections are opened on first use.
    ///
    /// # Errors
    /// `InternalServerError` when the endpoint is not an `http://` URL with
    /// a host, or has a query string or user info.
    pub fn new(config: RemoteConfig, clock: Arc<dyn base::Clock>) -> Result<Self, DynamoError> {
        let bad = |why: &str| DynamoError::internal(format!("DynamoDB endpoint {:?}: {why}", config.endpoint));
        let dynamodb = Endpoint::parse(&config.endpoint)?;
        let streams = Endpoint::parse(config.streams_endpoint.as_deref().unwrap_or(&config.endpoint))?;
        if let Some(region) = &config.region {
            if !base::is_region(region) {
                return Err(bad(&format!("'{region}' is not a region name")));
            }
        }

        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(config.connect_timeout));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(config.pool_idle_timeout)
            .pool_max_idle_per_host(config.pool_max_idle_per_host)
            .build(connector);
        Ok(RemoteBackend { config, dynamodb, streams, client, clock })
    }

    /// The configuration in use.
    pub fn config(&self) -> &RemoteConfig {
        &self.config
    }

    async fn forward(&self, region: &str, op: &str, mut input: Value, streams: bool) -> Result<Value, DynamoError> {
        if op.is_empty() || !op.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(DynamoError::unknown_operation(op));
        }
        let renamed = if self.config.normalize_table_arns { arn::normalize_request(&mut input)? } else { Vec::new() };
        let region = self.config.region.as_deref().unwrap_or(region);
        let body =
            serde_json::to_vec(&input).map_err(|e| DynamoError::internal(format!("encoding the request: {e}")))?;
        let (endpoint, prefix) =
            if streams { (&self.streams, "DynamoDBStreams_20120810") } else { (&self.dynamodb, "DynamoDB_20120810") };
        let target = format!("{prefix}.{op}");

        let creds = &self.config.credentials;
        let signed = sigv4::sign(
            "POST",
            &endpoint.host,
            &endpoint.path,
            "",
            &[("content-type", JSON_1_0), ("x-amz-target", &target)],
            &body,
            &creds.access_key_id,
            &creds.secret_access_key,
            creds.session_token.as_deref(),
            region,
            "dynamodb",
            self.clock.now(),
        );
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(endpoint.uri.clone())
            .header(HOST, &endpoint.host)
            .header(CONTENT_TYPE, JSON_1_0)
            .header("x-amz-target", &target);
        for (name, value) in &signed {
            request = request.header(name.as_str(), value.as_str());
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| DynamoError::internal(format!("building the request to the DynamoDB endpoint: {e}")))?;

        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| {
                if e.is_connect() {
                    DynamoError::unavailable(format!(
                        "could not connect to the DynamoDB endpoint {}: {}",
                        endpoint.url,
                        chain(&e)
                    ))
                } else {
                    DynamoError::unavailable(format!(
                        "the exchange with the DynamoDB endpoint {} failed (the request may or may not have been applied): {}",
                        endpoint.url,
                        chain(&e)
                    ))
                }
            })?;
            let status = response.status().as_u16();
            let error_type = response
                .headers()
                .get("x-amzn-errortype")
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_owned);
            let bytes = Limited::new(response.into_body(), self.config.max_response_bytes)
                .collect()
                .await
                .map_err(|e| {
                    DynamoError::unavailable(format!(
                        "reading the answer of the DynamoDB endpoint {} failed: {e}",
                        endpoint.url
                    ))
                })?
                .to_bytes();
            Ok::<_, DynamoError>((status, error_type, bytes))
        };
        let (status, error_type, bytes) = match tokio::time::timeout(self.config.request_timeout, exchange).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(DynamoError::unavailable(format!(
                "the DynamoDB endpoint {} did not answer within {} ms (the request may or may not have been applied)",
                endpoint.url,
                self.config.request_timeout.as_millis()
            )))
            }
        };

        if (200..300).contains(&status) {
            let mut output = if bytes.iter().all(u8::is_ascii_whitespace) {
                Value::Object(Map::new())
            } else {
                serde_json::from_slice(&bytes).map_err(|e| {
                    DynamoError::internal(format!(
                        "the DynamoDB endpoint {} answered {status} with a body that is not JSON: {e}",
                        endpoint.url
                    ))
                })?
            };
            arn::restore_response_keys(&mut output, &renamed);
            Ok(output)
        } else {
            Err(error_from_answer(status, error_type.as_deref(), &bytes))
        }
    }
}

/// An error answer as the endpoint gave it: the code from `__type` (or the
/// `x-amzn-ErrorType` header) without its namespace, the message from
/// `message` or `Message`, the status, and every other member as `extra`.
pub(crate) fn error_from_answer(status: u16, error_type: Option<&str>, body: &[u8]) -> DynamoError {
    let strip = |t: &str| -> String {
        let t = t.split(':').next().unwrap_or(t);
        t.rsplit('#').next().unwrap_or(t).to_owned()
    };
    if let Ok(Value::Object(mut members)) = serde_json::from_slice::<Value>(body) {
        let code = match members.remove("__type") {
            Some(Value::String(t)) => Some(strip(&t)),
            _ => None,
        };
        let lower = members.remove("message");
        let upper = members.remove("Message");
        let message = match (lower, upper) {
            (Some(Value::String(m)), upper) => {
                if let Some(u) = upper {
                    members.insert("Message".to_owned(), u);
                }
                m
            }
            (lower, Some(Value::String(m))) => {
                if let Some(l) = lower {
                    members.insert("message".to_owned(), l);
                }
                m
            }
            (lower, upper) => {
                for (name, v) in [("message", lower), ("Message", upper)] {
                    if let Some(v) = v {
                        members.insert(name.to_owned(), v);
                    }
                }
                String::new()
            }
        };
        let code = code.or_else(|| error_type.map(strip)).unwrap_or_else(|| fallback_code(status).to_owned());
        let extra = (!members.is_empty()).then_some(Value::Object(members));
        return DynamoError { code, message, status, extra };
    }
    let text = String::from_utf8_lossy(body);
    let snippet: String = text.chars().take(200).collect();
    DynamoError::new(
        error_type.map_or_else(|| fallback_code(status).to_owned(), strip),
        status,
        format!("the DynamoDB endpoint answered HTTP {status} without a DynamoDB error body: {snippet}"),
    )
}

fn fallback_code(status: u16) -> &'static str {
    if status >= 500 {
        "InternalServerError"
    } else {
        "InternalFailure"
    }
}

/// An error and its causes, for messages.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

impl Backend for RemoteBackend {
    fn call<'a>(&'a self, region: &'a str, op: &'a str, input: Value) -> BoxFuture<'a, Result<Value, DynamoError>> {
        Box::pin(self.forward(region, op, input, false))
    }

    /// Streams calls go to the Streams endpoint, signed alike (signing name `dynamodb`).
    fn streams<'a>(&'a self, region: &'a str, op: &'a str, input: Value) -> BoxFuture<'a, Result<Value, DynamoError>> {
        Box::pin(self.forward(region, op, input, true))
    }

    fn reset(&self) -> BoxFuture<'_, Result<(), DynamoError>> {
        Box::pin(async { Ok(()) })
    }

    /// The remote service validates every request itself.
    fn validates(&self, _op: &str) -> bool {
        true
    }

    /// Type faults included.
    fn checks_json_types(&self, _op: &str) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_pass_through() {
        let body = br#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled","CancellationReasons":[{"Code":"None"}]}"#;
        let e = error_from_answer(400, None, body);
        assert_eq!(e.code, "TransactionCanceledException");
        assert_eq!(e.message, "Transaction cancelled");
        assert_eq!(e.status, 400);
        assert_eq!(e.extra, Some(json!({"CancellationReasons": [{"Code": "None"}]})));

        let e = error_from_answer(400, None, br#"{"__type":"ValidationException","message":"bad"}"#);
        assert_eq!((e.code.as_str(), e.message.as_str(), e.extra), ("ValidationException", "bad", None));

        let e = error_from_answer(500, Some("InternalServerError:http://internal.amazon.com/"), b"{}");
        assert_eq!(e.code, "InternalServerError");

        let e = error_from_answer(502, None, b"<html>bad gateway</html>");
        assert_eq!((e.code.as_str(), e.status), ("InternalServerError", 502));
        assert!(e.message.contains("bad gateway"));

        let e = error_from_answer(400, None, br#"{"__type":"X","message":5}"#);
        assert_eq!(e.extra, Some(json!({"message": 5})));
    }

    proptest::proptest! {
        #[test]
        fn any_error_answer_is_an_error(status in 100u16..600, body in proptest::collection::vec(proptest::num::u8::ANY, 0..200), t in proptest::option::of("[ -~]{0,30}")) {
            let e = error_from_answer(status, t.as_deref(), &body);
            proptest::prop_assert_eq!(e.status, status);
            proptest::prop_assert!(!e.code.is_empty() || t.is_some() || !body.is_empty());
        }
    }

    #[test]
    fn endpoints_are_checked() {
        let creds = Credentials { access_key_id: "AK".into(), secret_access_key: "SK".into(), session_token: None };
        let clock: Arc<dyn base::Clock> = Arc::new(base::SystemClock);
        for bad in [
            "https://dynamodb.us-east-1.amazonaws.com",
            "ftp://x",
            "localhost:8000",
            "http://u@h:1/",
            "http://h/?a=b",
            "",
        ] {
            assert!(RemoteBackend::new(RemoteConfig::new(bad, creds.clone()), clock.clone()).is_err(), "{bad}");
        }
        let ok =
            RemoteBackend::new(RemoteConfig::new("http://127.0.0.1:8000", creds.clone()), clock.clone()).expect("ok");
        assert_eq!((ok.dynamodb.host.as_str(), ok.dynamodb.path.as_str()), ("127.0.0.1:8000", "/"));
        assert_eq!(ok.streams.host, "127.0.0.1:8000", "Streams default to the DynamoDB endpoint");
        let mut config = RemoteConfig::new("http://127.0.0.1:8000", creds.clone());
        config.streams_endpoint = Some("http://127.0.0.1:8001/streams".into());
        let split = RemoteBackend::new(config.clone(), clock.clone()).expect("ok");
        assert_eq!((split.streams.host.as_str(), split.streams.path.as_str()), ("127.0.0.1:8001", "/streams"));
        config.streams_endpoint = Some("https://x".into());
        assert!(RemoteBackend::new(config, clock.clone()).is_err());
        assert!(!format!("{ok:?}").contains("SK"));
    }
}
