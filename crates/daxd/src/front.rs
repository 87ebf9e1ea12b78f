//! The HTTP front door. Every AWS API request takes one path:
//! read the body (bounded) → route to a service, operation and protocol →
//! SigV4 authentication → decode and validate the input against the model →
//! `exec::execute` (authorize the principal → the service) → encode the
//! response in the request's protocol (JSON, Query/EC2 XML,
//! `smithy-rpc-v2-cbor` for a service that speaks it, or `rest-json` for FIS,
//! whose requests route by method and path).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use wire::query::{Flavor, Params};
use wire::xml::XmlStyle;
use wire::{AwsError, Protocol};

use crate::app::App;
use crate::auth::{self, Authenticator};
use crate::exec;
use crate::services::{self, def, Service, ServiceDef};

/// What the router found: the service, the protocol its errors are
/// written in, and the operation name as sent.
struct Route {
    service: Option<Service>,
    /// The protocol of the request; on `smithy-rpc-v2-cbor` the JSON protocol
    /// whose error codes it shares.
    protocol: Protocol,
    /// The body and the answer are `smithy-rpc-v2-cbor`.
    cbor: bool,
    op: Option<String>,
    params: Option<Params>,
}

/// The value of `Smithy-Protocol` on `smithy-rpc-v2-cbor` requests and responses.
const RPC_V2_CBOR: &str = "rpc-v2-cbor";

/// A `smithy-rpc-v2-cbor` request: `Smithy-Protocol: rpc-v2-cbor` and a path
/// ending `/service/<ServiceName>/operation/<Operation>` (only those four
/// segments route) naming a service that speaks the protocol.
fn cbor_route(path: &str, headers: &HeaderMap) -> Option<Route> {
    if !header_str(headers, "smithy-protocol").is_some_and(|p| p.trim().eq_ignore_ascii_case(RPC_V2_CBOR)) {
        return None;
    }
    let segments: Vec<&str> = path.split('/').collect();
    let [.., "service", name, "operation", op] = segments.as_slice() else { return None };
    let service = services::by_cbor_service(name)?;
    let op = (!op.is_empty()).then(|| (*op).to_owned());
    Some(Route { service: Some(service), protocol: def(service).protocol, cbor: true, op, params: None })
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn json_protocol_of(headers: &HeaderMap) -> Option<Protocol> {
    let ct = header_str(headers, "content-type").unwrap_or_default();
    if ct.contains("amz-json-1.1") {
        Some(Protocol::Json11)
    } else if ct.contains("amz-json-1.0") || ct.contains("application/json") {
        Some(Protocol::Json10)
    } else {
        None
    }
}

fn route(method: &Method, path: &str, query: &str, headers: &HeaderMap, body: &[u8]) -> Route {
    if let Some(route) = cbor_route(path, headers) {
        return route;
    }
    if let Some(target) = headers.get("x-amz-target") {
        let target = target.to_str().unwrap_or_default();
        return match services::by_target(target) {
            Some((service, op)) => Route {
                service: Some(service),
                protocol: def(service).protocol,
                cbor: false,
                op: Some(op.to_owned()),
                params: None,
            },
            None => Route {
                service: None,
                protocol: json_protocol_of(headers).unwrap_or(Protocol::Json10),
                cbor: false,
                op: None,
                params: None,
            },
        };
    }
    if let Some(route) = rest_route(method, path, query, headers) {
        return route;
    }
    if let Some(protocol) = json_protocol_of(headers) {
        return Route { service: None, protocol, cbor: false, op: None, params: None };
    }
    let mut params = Params::parse(query.as_bytes());
    if method == Method::POST {
        for (k, v) in form_urlencoded::parse(body) {
            params.insert(k.into_owned(), v.into_owned());
        }
    }
    let service = params
        .get("Version")
        .and_then(services::by_version)
        .or_else(|| scope_service(query, headers).and_then(|s| services::by_signing_name(&s)))
        .filter(|s| form_protocol(def(*s)).is_some());
    let protocol = service.and_then(|s| form_protocol(def(s))).unwrap_or(Protocol::Query);
    let op = params.remove("Action");
    Route { service, protocol, cbor: false, op, params: Some(params) }
}

/// A `rest-json` request (FIS): signed for the service, or, unsigned, to a path of its
/// model (so that an unsigned call is refused in its words). The operation is the one
/// whose method and `requestUri` template match; `None` when none does.
fn rest_route(method: &Method, path: &str, query: &str, headers: &HeaderMap) -> Option<Route> {
    let service = Service::Fis;
    let rest = def(service).rest_json.as_ref()?;
    let scoped = scope_service(query, headers);
    let ours = match scoped.as_deref() {
        Some(name) => services::by_signing_name(name) == Some(service),
        None => rest.knows_path(path),
    };
    if !ours {
        return None;
    }
    let op = rest.route(method.as_str(), path, query).map(|r| r.op.name.clone());
    Some(Route { service: Some(service), protocol: def(service).protocol, cbor: false, op, params: None })
}

/// A `rest-json` error: the code in `x-amzn-ErrorType`, `{"message": …}` as the body.
/// Authentication and authorization failures are 403s on rest-json services.
fn rest_error(err: &AwsError, request_id: &str) -> Response {
    const FORBIDDEN: &[&str] = &[
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "MissingAuthenticationTokenException",
        "ExpiredTokenException",
    ];
    let status = if FORBIDDEN.contains(&err.code.as_str()) { 403 } else { err.status };
    let mut response = respond(status, "application/json", wire::restjson::error_body(err), request_id);
    if let Ok(v) = HeaderValue::from_str(&err.code) {
        response.headers_mut().insert("x-amzn-ErrorType", v);
    }
    response
}

/// The form-encoded protocol (Query or EC2) a service speaks, if any.
fn form_protocol(d: &ServiceDef) -> Option<Protocol> {
    d.protocols.iter().copied().find(|p| !p.is_json())
}

/// The service named in the credential scope, if the request carries one.
fn scope_service(query: &str, headers: &HeaderMap) -> Option<String> {
    let pairs: Vec<(&str, &[u8])> = headers.iter().map(|(k, v)| (k.as_str(), v.as_bytes())).collect();
    let req = sigv4::Request { method: "POST", path: "/", query, headers: &pairs, body: &[] };
    sigv4::parse(&req).ok().map(|p| p.service)
}

fn respond(status: u16, content_type: &str, body: String, request_id: &str) -> Response {
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, content_type)
        .header("x-amzn-RequestId", request_id);
    if content_type == "application/x-amz-json-1.0" {
        // DynamoDB sends the CRC32 of the body, and SDKs check it.
        builder = builder.header("x-amz-crc32", crc32fast::hash(body.as_bytes()).to_string());
    }
    builder.body(Body::from(body)).unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn error_response(err: &AwsError, protocol: Protocol, namespace: Option<&str>, request_id: &str) -> Response {
    let (body, content_type) = err.render(protocol, request_id, namespace);
    respond(err.status, content_type, body, request_id)
}

/// A `smithy-rpc-v2-cbor` answer: the protocol is echoed in `Smithy-Protocol`.
fn respond_cbor(status: u16, body: Vec<u8>, request_id: &str) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, "application/cbor")
        .header("smithy-protocol", RPC_V2_CBOR)
        .header("x-amzn-RequestId", request_id)
        .body(Body::from(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// An error of a routed service, in the request's protocol. A query-compatible
/// service's JSON and CBOR errors also carry `x-amzn-query-error: <Code>;<Sender|Receiver>`,
/// from which the SDKs take the Query code their modelled exceptions are named by.
fn service_error(err: &AwsError, d: &ServiceDef, protocol: Protocol, cbor: bool, request_id: &str) -> Response {
    if d.rest_json.is_some() {
        return rest_error(err, request_id);
    }
    let mut response = match d.cbor_service {
        Some((namespace, _)) if cbor => {
            respond_cbor(err.status, wire::cbor::error_body(&d.model, namespace, &err.code, &err.message), request_id)
        }
        _ => error_response(err, protocol, d.namespace_in(protocol), request_id),
    };
    if d.query_compatible && (cbor || protocol.is_json()) {
        let fault = if err.status >= 500 { "Receiver" } else { "Sender" };
        // A denial's JSON code is `AccessDeniedException`; its Query code, `AccessDenied`.
        let code = if err.code == "AccessDeniedException" { "AccessDenied" } else { err.code.as_str() };
        if let Ok(v) = HeaderValue::from_str(&format!("{code};{fault}")) {
            response.headers_mut().insert("x-amzn-query-error", v);
        }
    }
    response
}

/// Every request that is not `/health` or an admin call.
pub async fn handle(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    req: Request,
) -> Response {
    let request_id = app.env.ids.uuid();
    let (parts, body) = req.into_parts();
    let early_protocol = if parts.headers.contains_key("x-amz-target") {
        json_protocol_of(&parts.headers).unwrap_or(Protocol::Json10)
    } else {
        json_protocol_of(&parts.headers).unwrap_or(Protocol::Query)
    };
    let too_large_error = || {
        AwsError::new(
            413,
            "RequestEntityTooLarge",
            format!("Request body exceeds the limit of {} bytes", app.max_body_bytes),
        )
    };
    // A declared length over the limit is refused before a byte of the body is read.
    let declared = header_str(&parts.headers, "content-length").and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > app.max_body_bytes as u64) {
        return error_response(&too_large_error(), early_protocol, None, &request_id);
    }
    // The body must arrive within the read timeout: a client that trickles it is cut off.
    let read = tokio::time::timeout(app.http_read_timeout, axum::body::to_bytes(body, app.max_body_bytes)).await;
    let Ok(read) = read else {
        let err = AwsError::new(
            400,
            "RequestTimeout",
            format!("The request body was not received within {} ms", app.http_read_timeout.as_millis()),
        );
        let mut response = error_response(&err, early_protocol, None, &request_id);
        response.headers_mut().insert(header::CONNECTION, axum::http::HeaderValue::from_static("close"));
        return response;
    };
    let body = match read {
        Ok(b) => b,
        Err(e) => {
            let too_large = std::error::Error::source(&e).is_some_and(|s| s.to_string().contains("length limit"))
                || e.to_string().contains("length limit");
            let err = if too_large {
                too_large_error()
            } else {
                AwsError::new(400, "MalformedRequest", format!("Could not read the request body: {e}"))
            };
            return error_response(&err, early_protocol, None, &request_id);
        }
    };
    // `aws:SecureTransport`: the request came on `--tls-listen` (main.rs marks those).
    let secure = parts.extensions.get::<console::OverTls>().is_some();
    process(app, parts, body, request_id, peer.ip(), secure).await
}

async fn process(
    app: Arc<App>,
    parts: axum::http::request::Parts,
    body: Bytes,
    request_id: String,
    source_ip: std::net::IpAddr,
    secure: bool,
) -> Response {
    let query = parts.uri.query().unwrap_or_default().to_owned();
    let mut route = route(&parts.method, parts.uri.path(), &query, &parts.headers, &body);
    let pairs: Vec<(&str, &[u8])> = parts.headers.iter().map(|(k, v)| (k.as_str(), v.as_bytes())).collect();
    let sreq = sigv4::Request {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: &query,
        headers: &pairs,
        body: &body,
    };

    let Some(service) = route.service else {
        // Nothing names a service. Still answer an unsigned request with the
        // authentication error, as AWS does.
        let err = match sigv4::parse(&sreq) {
            Err(e) => auth::error(route.protocol, &auth::Failure::Signature(e)),
            Ok(_) if route.protocol.is_json() => AwsError::new(400, "UnknownOperationException", ""),
            Ok(_) => match &route.op {
                None => AwsError::new(400, "MissingAction", "Missing Action"),
                Some(op) => AwsError::new(
                    400,
                    "InvalidAction",
                    format!(
                        "Could not find operation {op} for version {}",
                        route.params.as_ref().and_then(|p| p.get("Version")).unwrap_or("NO_VERSION_SPECIFIED")
                    ),
                ),
            },
        };
        return error_response(&err, route.protocol, None, &request_id);
    };
    let d = def(service);
    let (protocol, cbor) = (route.protocol, route.cbor);
    let fail = |e: &AwsError| service_error(e, d, protocol, cbor, &request_id);
    if cbor {
        if let Some(e) = cbor_header_fault(&parts.headers, &body) {
            return fail(&e);
        }
    }
    let authn = Authenticator { root: &app.root, iam: &app.iam, keys: &app.signing_keys };
    let authed = match authn.authenticate(&sreq, d, app.env.clock.now()) {
        Ok(a) => a,
        Err(f) => {
            tracing::debug!(request_id, ?service, failure = ?f, "authentication failed");
            return fail(&auth::error(protocol, &f));
        }
    };
    let op = match route.op.take() {
        Some(op) if d.model.operation(&op).is_some() => op,
        None if d.rest_json.is_some() => {
            let err = AwsError::new(
                404,
                "UnknownOperationException",
                format!("No operation of {} matches {} {}", d.signing_name, parts.method, parts.uri.path()),
            );
            return fail(&err);
        }
        other => {
            let version = route.params.as_ref().and_then(|p| p.get("Version"));
            return fail(&ServiceDef::unknown_operation_in(protocol, other.as_deref(), version));
        }
    };
    let decoded = match &d.rest_json {
        Some(rest) => decode_rest(d, rest, &parts.method, parts.uri.path(), &query, &pairs, &body),
        None => decode_input(d, &op, protocol, cbor, route.params.as_ref(), &body),
    };
    let input = match decoded {
        Ok(v) => v,
        Err(e) => return fail(&e),
    };
    if let Err(e) = exec::validate(&app, service, &op, &input) {
        return fail(&e);
    }
    let region = authed.region;
    let call = exec::Call {
        caller: &authed.caller,
        op: &op,
        input,
        region: &region,
        source_ip: Some(source_ip),
        secure,
        protocol,
    };
    match exec::execute(&app, service, call).await {
        Ok(out) if d.rest_json.is_some() => {
            let status =
                d.rest_json.as_ref().and_then(|r| r.ops.iter().find(|o| o.name == op)).map_or(200, |o| o.response_code);
            respond(status, "application/json", out.to_string(), &request_id)
        }
        Ok(out) => encode_output(d, &op, protocol, cbor, &out, &request_id),
        Err(e) => {
            tracing::debug!(request_id, op, code = e.code, "request failed");
            fail(&e)
        }
    }
}

/// A `rest-json` request's input: the path's labels, the query string's members, the
/// headers' and the JSON body's, each as its shape's JSON type.
fn decode_rest(
    d: &ServiceDef,
    rest: &wire::restjson::RestJson,
    method: &Method,
    path: &str,
    query: &str,
    headers: &[(&str, &[u8])],
    body: &[u8],
) -> Result<Value, AwsError> {
    let routed = rest.route(method.as_str(), path, query).ok_or_else(|| {
        AwsError::new(404, "UnknownOperationException", format!("No operation matches {method} {path}"))
    })?;
    let headers: Vec<(&str, &str)> =
        headers.iter().filter_map(|(k, v)| std::str::from_utf8(v).ok().map(|v| (*k, v))).collect();
    wire::restjson::decode_request(&d.model, &routed, query, &headers, body)
}

/// What a `smithy-rpc-v2-cbor` request's headers get wrong: the protocol forbids
/// `X-Amz-Target`, and a body must be declared `application/cbor`.
fn cbor_header_fault(headers: &HeaderMap, body: &[u8]) -> Option<AwsError> {
    if headers.contains_key("x-amz-target") {
        return Some(AwsError::new(
            400,
            "SerializationException",
            "X-Amz-Target is not allowed on rpc-v2-cbor requests.",
        ));
    }
    let ct = header_str(headers, "content-type").unwrap_or_default();
    let media = ct.split(';').next().unwrap_or_default().trim();
    if !body.is_empty() && !media.eq_ignore_ascii_case("application/cbor") {
        return Some(AwsError::new(
            400,
            "SerializationException",
            format!("Content-Type must be application/cbor on rpc-v2-cbor requests, not '{ct}'."),
        ));
    }
    None
}

fn decode_input(
    d: &ServiceDef,
    op: &str,
    protocol: Protocol,
    cbor: bool,
    params: Option<&Params>,
    body: &[u8],
) -> Result<Value, AwsError> {
    if cbor {
        return wire::cbor::decode_cbor(body).map_err(|e| {
            AwsError::new(400, "SerializationException", format!("Could not parse the request body as CBOR: {e}"))
        });
    }
    let shape = d.model.operation(op).and_then(|o| o.input.as_ref()).map(|r| r.shape.as_str());
    let value = match (protocol, params) {
        (Protocol::Query | Protocol::Ec2, Some(params)) => match shape {
            None => Value::Object(serde_json::Map::new()),
            Some(shape) => {
                let flavor = if protocol == Protocol::Ec2 { Flavor::Ec2 } else { Flavor::AwsQuery };
                wire::query::decode(&d.model, shape, params, flavor).map_err(|e| {
                    AwsError::new(
                        400,
                        d.validation_code,
                        format!(
                            "Value '{}' for parameter {} is invalid: it must be a {}.",
                            e.value, e.param, e.expected
                        ),
                    )
                })?
            }
        },
        _ => {
            if body.iter().all(u8::is_ascii_whitespace) {
                Value::Object(serde_json::Map::new())
            } else {
                let v: Value = serde_json::from_slice(body).map_err(|e| {
                    AwsError::new(
                        400,
                        "SerializationException",
                        format!("Could not parse the request body as JSON: {e}"),
                    )
                })?;
                if !v.is_object() {
                    return Err(AwsError::new(
                        400,
                        "SerializationException",
                        "Start of structure or map found where not expected.",
                    ));
                }
                v
            }
        }
    };
    Ok(value)
}

fn encode_output(d: &ServiceDef, op: &str, protocol: Protocol, cbor: bool, out: &Value, request_id: &str) -> Response {
    if cbor {
        let shape = d.model.operation(op).and_then(|o| o.output.as_ref()).map(|r| r.shape.as_str());
        return respond_cbor(200, wire::cbor::encode(&d.model, shape, out), request_id);
    }
    match protocol {
        Protocol::Query | Protocol::Ec2 => {
            let style = XmlStyle {
                namespace: d.namespace_in(protocol).unwrap_or_default(),
                url_encoded_shapes: d.url_encoded_shapes,
                ec2: protocol == Protocol::Ec2,
            };
            respond(200, "text/xml", wire::xml::response(&d.model, op, out, request_id, &style), request_id)
        }
        Protocol::Json10 => respond(200, "application/x-amz-json-1.0", out.to_string(), request_id),
        Protocol::Json11 => respond(200, "application/x-amz-json-1.1", out.to_string(), request_id),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn body_of(r: Response) -> Vec<u8> {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(axum::body::to_bytes(r.into_body(), usize::MAX)).unwrap().to_vec()
    }

    fn query_error(r: &Response) -> Option<&str> {
        r.headers().get("x-amzn-query-error").and_then(|v| v.to_str().ok())
    }

    #[test]
    fn cloudwatch_json_errors_carry_the_query_code() {
        let h = headers(&[
            ("x-amz-target", "GraniteServiceVersion20100801.DescribeAlarms"),
            ("content-type", "application/x-amz-json-1.0"),
        ]);
        let r = route(&Method::POST, "/", "", &h, b"{}");
        assert_eq!((r.service, r.protocol, r.cbor), (Some(Service::CloudWatch), Protocol::Json10, false));
        let d = def(Service::CloudWatch);
        let resp = service_error(&AwsError::new(400, "InvalidParameterValue", "bad"), d, r.protocol, false, "rid");
        assert_eq!(resp.status(), 400);
        assert_eq!(query_error(&resp), Some("InvalidParameterValue;Sender"));
        let body: Value = serde_json::from_slice(&body_of(resp)).unwrap();
        assert_eq!(body, json!({"__type": "InvalidParameterValue", "message": "bad"}));
        let resp = service_error(&AwsError::new(500, "InternalServiceError", "x"), d, r.protocol, false, "rid");
        assert_eq!(query_error(&resp), Some("InternalServiceError;Receiver"));
        // Services whose models are not query-compatible send no such header.
        let ddb = def(Service::DynamoDb);
        let resp = service_error(&AwsError::new(400, "ValidationException", "x"), ddb, Protocol::Json10, false, "r");
        assert_eq!(query_error(&resp), None);
    }

    #[test]
    fn cloudwatch_query_forms_route_decode_and_answer_in_xml() {
        let form = "Action=GetMetricStatistics&Version=2010-08-01&Namespace=AWS%2FDAX&MetricName=CPUUtilization\
            &Dimensions.member.1.Name=ClusterId&Dimensions.member.1.Value=c1&StartTime=2026-01-01T00%3A00%3A00Z\
            &EndTime=2026-01-01T01%3A00%3A00Z&Period=60&Statistics.member.1=Maximum";
        let h = headers(&[("content-type", "application/x-www-form-urlencoded; charset=utf-8")]);
        let mut r = route(&Method::POST, "/", "", &h, form.as_bytes());
        assert_eq!((r.service, r.protocol, r.cbor), (Some(Service::CloudWatch), Protocol::Query, false));
        let op = r.op.take().unwrap();
        assert_eq!(op, "GetMetricStatistics");
        let d = def(Service::CloudWatch);
        let input = decode_input(d, &op, r.protocol, false, r.params.as_ref(), form.as_bytes()).unwrap();
        assert_eq!(input["Dimensions"], json!([{"Name": "ClusterId", "Value": "c1"}]));
        assert_eq!(input["Statistics"], json!(["Maximum"]));
        assert_eq!(wire::timestamp::parse(&input["StartTime"]), Some(1_767_225_600.0));

        let out = json!({"Label": "CPUUtilization", "Datapoints": [{"Timestamp": 1_767_225_600, "Maximum": 5.0}]});
        let xml = String::from_utf8(body_of(encode_output(d, &op, Protocol::Query, false, &out, "rid"))).unwrap();
        assert!(
            xml.contains(r#"<GetMetricStatisticsResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">"#),
            "{xml}"
        );
        assert!(xml.contains("<Timestamp>2026-01-01T00:00:00Z</Timestamp>"), "{xml}");

        let resp = service_error(&AwsError::new(400, "MissingParameter", "m"), d, Protocol::Query, false, "rid");
        assert_eq!(query_error(&resp), None);
        let xml = String::from_utf8(body_of(resp)).unwrap();
        assert!(xml.contains(r#"<ErrorResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">"#), "{xml}");
        assert!(xml.contains("<Type>Sender</Type><Code>MissingParameter</Code>"), "{xml}");

        // IAM's forms still route to IAM, and a JSON-only service takes no forms.
        let r = route(&Method::POST, "/", "", &h, b"Action=ListUsers&Version=2010-05-08");
        assert_eq!((r.service, r.protocol), (Some(Service::Iam), Protocol::Query));
        let r = route(&Method::POST, "/", "", &h, b"Action=ListTables&Version=2012-08-10");
        assert_eq!(r.service, None);
    }

    #[test]
    fn fis_routes_by_method_and_path_and_answers_rest_json_errors() {
        let scope = "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/fis/aws4_request, \
            SignedHeaders=host;x-amz-date, Signature=00";
        let signed = headers(&[
            ("authorization", scope),
            ("x-amz-date", "20260101T000000Z"),
            ("content-type", "application/json"),
        ]);
        let r = route(&Method::GET, "/experiments/EXP1/resolvedTargets", "maxResults=5", &signed, b"");
        assert_eq!((r.service, r.op.as_deref()), (Some(Service::Fis), Some("ListExperimentResolvedTargets")));
        // Signed for FIS but matching no template: FIS's, with no operation.
        let r = route(&Method::PUT, "/experiments", "", &signed, b"");
        assert_eq!((r.service, r.op), (Some(Service::Fis), None));
        // Unsigned, a path of FIS's model is FIS's (so the refusal is in its words); `/` is not.
        let r = route(&Method::GET, "/actions", "", &HeaderMap::new(), b"");
        assert_eq!(r.service, Some(Service::Fis));
        let r = route(&Method::POST, "/", "", &HeaderMap::new(), b"Action=ListUsers&Version=2010-05-08");
        assert_eq!(r.service, Some(Service::Iam));

        let d = def(Service::Fis);
        let rest = d.rest_json.as_ref().unwrap();
        let input =
            decode_rest(d, rest, &Method::GET, "/experiments/EXP1/resolvedTargets", "maxResults=5", &[], b"").unwrap();
        assert_eq!(input, json!({"experimentId": "EXP1", "maxResults": 5}));

        let resp = service_error(&AwsError::new(404, "ResourceNotFoundException", "gone"), d, d.protocol, false, "r");
        assert_eq!(resp.status(), 404);
        assert_eq!(resp.headers()["x-amzn-ErrorType"], "ResourceNotFoundException");
        assert_eq!(resp.headers()["content-type"], "application/json");
        let body: Value = serde_json::from_slice(&body_of(resp)).unwrap();
        assert_eq!(body, json!({"message": "gone"}));
        // Authentication and authorization failures are 403s on rest-json.
        let denied = crate::auth::denied(d.protocol, "no".into());
        assert_eq!(service_error(&denied, d, d.protocol, false, "r").status(), 403);
    }

    #[test]
    fn cloudwatch_rpc_v2_cbor_routes_by_path_and_answers_in_cbor() {
        let h = headers(&[("smithy-protocol", "rpc-v2-cbor"), ("content-type", "application/cbor")]);
        for path in [
            "/service/GraniteServiceVersion20100801/operation/DescribeAlarms",
            "/prefix/service/com.amazonaws.cloudwatch.GraniteServiceVersion20100801/operation/DescribeAlarms",
        ] {
            let r = route(&Method::POST, path, "", &h, b"");
            assert_eq!((r.service, r.cbor, r.op.as_deref()), (Some(Service::CloudWatch), true, Some("DescribeAlarms")));
        }
        // Without the protocol header the path does not route as CBOR.
        let r = route(&Method::POST, "/service/GraniteServiceVersion20100801/operation/X", "", &HeaderMap::new(), b"");
        assert!(!r.cbor);

        let d = def(Service::CloudWatch);
        let sent = wire::cbor::encode(&d.model, Some("DescribeAlarmsInput"), &json!({"AlarmNames": ["a"]}));
        let input = decode_input(d, "DescribeAlarms", Protocol::Json10, true, None, &sent).unwrap();
        assert_eq!(input, json!({"AlarmNames": ["a"]}));
        assert!(decode_input(d, "DescribeAlarms", Protocol::Json10, true, None, &[0xff]).is_err());

        let out = json!({"MetricAlarms": [{"AlarmName": "a", "StateUpdatedTimestamp": 1_767_225_600}]});
        let resp = encode_output(d, "DescribeAlarms", Protocol::Json10, true, &out, "rid");
        assert_eq!(resp.headers()["content-type"], "application/cbor");
        assert_eq!(resp.headers()["smithy-protocol"], "rpc-v2-cbor");
        let bytes = body_of(resp);
        // The timestamp goes under tag 1 (0xc1) as an integer of epoch seconds (0x1a: 4 bytes).
        let ts = [0xc1, 0x1a, 0x69, 0x55, 0xb9, 0x00];
        assert!(bytes.windows(ts.len()).any(|w| w == ts), "{bytes:02x?}");
        assert_eq!(wire::cbor::decode_cbor(&bytes).unwrap(), out);

        let err = AwsError::new(400, "InvalidParameterValue", "bad");
        let resp = service_error(&err, d, Protocol::Json10, true, "rid");
        assert_eq!(resp.status(), 400);
        assert_eq!(query_error(&resp), Some("InvalidParameterValue;Sender"));
        let body = wire::cbor::decode_cbor(&body_of(resp)).unwrap();
        assert_eq!(
            body,
            json!({"__type": "com.amazonaws.cloudwatch#InvalidParameterValueException", "message": "bad"})
        );

        assert!(cbor_header_fault(&h, b"\xa0").is_none());
        let with_target = headers(&[("x-amz-target", "GraniteServiceVersion20100801.DescribeAlarms")]);
        assert!(cbor_header_fault(&with_target, b"").is_some());
        let as_json = headers(&[("content-type", "application/x-amz-json-1.0")]);
        assert!(cbor_header_fault(&as_json, b"\xa0").is_some());
    }
}
