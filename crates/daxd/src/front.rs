//! The HTTP front door. Every AWS API request takes one path:
//! read the body (bounded) → route to a service and operation → SigV4
//! authentication → decode and validate the input against the model →
//! `exec::execute` (authorize the principal → the service) → encode the response.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
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
    protocol: Protocol,
    op: Option<String>,
    params: Option<Params>,
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

fn route(method: &Method, query: &str, headers: &HeaderMap, body: &[u8]) -> Route {
    if let Some(target) = headers.get("x-amz-target") {
        let target = target.to_str().unwrap_or_default();
        return match services::by_target(target) {
            Some((service, op)) => {
                Route { service: Some(service), protocol: def(service).protocol, op: Some(op.to_owned()), params: None }
            }
            None => Route {
                service: None,
                protocol: json_protocol_of(headers).unwrap_or(Protocol::Json10),
                op: None,
                params: None,
            },
        };
    }
    if let Some(protocol) = json_protocol_of(headers) {
        return Route { service: None, protocol, op: None, params: None };
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
        .filter(|s| !def(*s).protocol.is_json());
    let protocol = service.map_or(Protocol::Query, |s| def(s).protocol);
    let op = params.remove("Action");
    Route { service, protocol, op, params: Some(params) }
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
    let mut route = route(&parts.method, &query, &parts.headers, &body);
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
    let ns = d.namespace.as_deref();
    let authn = Authenticator { root: &app.root, iam: &app.iam, keys: &app.signing_keys };
    let authed = match authn.authenticate(&sreq, d, app.env.clock.now()) {
        Ok(a) => a,
        Err(f) => {
            tracing::debug!(request_id, ?service, failure = ?f, "authentication failed");
            return error_response(&auth::error(d.protocol, &f), d.protocol, ns, &request_id);
        }
    };
    let op = match route.op.take() {
        Some(op) if d.model.operation(&op).is_some() => op,
        other => {
            let version = route.params.as_ref().and_then(|p| p.get("Version"));
            return error_response(&d.unknown_operation(other.as_deref(), version), d.protocol, ns, &request_id);
        }
    };
    let input = match decode_input(d, &op, route.params.as_ref(), &body) {
        Ok(v) => v,
        Err(e) => return error_response(&e, d.protocol, ns, &request_id),
    };
    if let Err(e) = exec::validate(&app, service, &op, &input) {
        return error_response(&e, d.protocol, ns, &request_id);
    }
    let region = authed.region;
    let call =
        exec::Call { caller: &authed.caller, op: &op, input, region: &region, source_ip: Some(source_ip), secure };
    match exec::execute(&app, service, call).await {
        Ok(out) => encode_output(d, &op, &out, &request_id),
        Err(e) => {
            tracing::debug!(request_id, op, code = e.code, "request failed");
            error_response(&e, d.protocol, ns, &request_id)
        }
    }
}

fn decode_input(d: &ServiceDef, op: &str, params: Option<&Params>, body: &[u8]) -> Result<Value, AwsError> {
    let shape = d.model.operation(op).and_then(|o| o.input.as_ref()).map(|r| r.shape.as_str());
    let value = match (d.protocol, params) {
        (Protocol::Query | Protocol::Ec2, Some(params)) => match shape {
            None => Value::Object(serde_json::Map::new()),
            Some(shape) => {
                let flavor = if d.protocol == Protocol::Ec2 { Flavor::Ec2 } else { Flavor::AwsQuery };
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

fn encode_output(d: &ServiceDef, op: &str, out: &Value, request_id: &str) -> Response {
    match d.protocol {
        Protocol::Query | Protocol::Ec2 => {
            let style = XmlStyle {
                namespace: d.namespace.as_deref().unwrap_or_default(),
                url_encoded_shapes: d.url_encoded_shapes,
                ec2: d.protocol == Protocol::Ec2,
            };
            respond(200, "text/xml", wire::xml::response(&d.model, op, out, request_id, &style), request_id)
        }
        Protocol::Json10 => respond(200, "application/x-amz-json-1.0", out.to_string(), request_id),
        Protocol::Json11 => respond(200, "application/x-amz-json-1.1", out.to_string(), request_id),
    }
}
