//! The HTTP front door. Every AWS API request takes one path:
//! read the body (bounded) → route to a service and operation → SigV4
//! authentication → decode and validate the input against the model →
//! authorize the principal → the service → encode the response.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use wire::query::{Flavor, Params};
use wire::xml::XmlStyle;
use wire::{AwsError, Protocol};

use crate::api;
use crate::api::Target;
use crate::app::App;
use crate::auth::{self, Authenticator, RequestFacts};
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
            return error_response(&unknown_op(d, other.as_deref(), route.params.as_ref()), d.protocol, ns, &request_id)
        }
    };
    let input = match decode_input(d, &op, route.params.as_ref(), &body) {
        Ok(v) => v,
        Err(e) => return error_response(&e, d.protocol, ns, &request_id),
    };
    if let Err(e) = validate_for(&app, service, &op, &input) {
        return error_response(&e, d.protocol, ns, &request_id);
    }
    let caller = authed.caller;
    let region = authed.region;
    if matches!(service, Service::DynamoDb | Service::DynamoDbStreams) {
        let facts = RequestFacts { region: &region, source_ip: Some(source_ip), secure, now: app.env.clock.now() };
        let result = if service == Service::DynamoDb {
            dynamodb_call(&app, &caller, &facts, &op, input).await
        } else {
            streams_call(&app, &caller, &facts, &op, input).await
        };
        return match result {
            Ok(out) => encode_output(d, &op, &out, &request_id),
            Err(e) => error_response(&e, d.protocol, ns, &request_id),
        };
    }
    let app2 = Arc::clone(&app);
    let op2 = op.clone();
    let result = tokio::task::spawn_blocking(move || {
        let facts = RequestFacts { region: &region, source_ip: Some(source_ip), secure, now: app2.env.clock.now() };
        dispatch(&app2, service, &caller, &facts, &op2, &input)
    })
    .await
    .unwrap_or_else(|e| Err(AwsError::new(500, "InternalFailure", format!("The request processing has failed: {e}"))));
    match result {
        Ok(out) => encode_output(d, &op, &out, &request_id),
        Err(e) => {
            tracing::debug!(request_id, op, code = e.code, "request failed");
            error_response(&e, d.protocol, ns, &request_id)
        }
    }
}

fn unknown_op(d: &ServiceDef, op: Option<&str>, params: Option<&Params>) -> AwsError {
    match (d.protocol, op) {
        (Protocol::Json10 | Protocol::Json11, _) => AwsError::new(400, "UnknownOperationException", ""),
        (_, None) => AwsError::new(400, "MissingAction", "Missing Action"),
        (Protocol::Ec2, Some(op)) => {
            AwsError::new(400, "InvalidAction", format!("The action {op} is not valid for this web service."))
        }
        (_, Some(op)) => AwsError::new(
            400,
            "InvalidAction",
            format!(
                "Could not find operation {op} for version {}",
                params.and_then(|p| p.get("Version")).unwrap_or("NO_VERSION_SPECIFIED")
            ),
        ),
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

/// Model validation of a decoded input, unless the service validates it
/// itself: DynamoDB operations that the backend checks with DynamoDB's own
/// words and order (the embedded engine, a remote DynamoDB) reach it
/// unvalidated, so a fault is reported once, as DynamoDB reports it.
///
/// One check stays here for the embedded engine: a value of the wrong JSON
/// type. DynamoDB's reader refuses it first, in a `SerializationException`
/// worded after the JSON token and the Java type (the engine's own server
/// does this in a pre-pass its library API lacks); attribute values are left
/// to the engine, whose reader words their faults as DynamoDB does.
fn validate_for(app: &App, service: Service, op: &str, input: &Value) -> Result<(), AwsError> {
    if service != Service::DynamoDb || !app.dynamo.validates(op) {
        return validate_input(def(service), op, input);
    }
    if !app.dynamo.checks_json_types(op) {
        let d = def(service);
        if let Some(shape) = d.model.operation(op).and_then(|o| o.input.as_ref()) {
            if let Some(message) = wire::validate::serialization_fault(&d.model, &shape.shape, input, DYNAMODB_OPAQUE) {
                return Err(AwsError::new(400, "SerializationException", message));
            }
        }
    }
    Ok(())
}

/// DynamoDB shapes whose values the embedded engine reads (and words the
/// faults of) itself: attribute values and the maps of them.
const DYNAMODB_OPAQUE: &[&str] = &["AttributeValue", "AttributeValueList"];

/// Check an operation's input against the model's constraints, with AWS's messages.
fn validate_input(d: &ServiceDef, op: &str, value: &Value) -> Result<(), AwsError> {
    let shape = d.model.operation(op).and_then(|o| o.input.as_ref()).map(|r| r.shape.as_str());
    if let Some(shape) = shape {
        let errors = wire::validate::validate(&d.model, shape, value).map_err(|m| {
            let code = if d.protocol.is_json() { "SerializationException" } else { d.validation_code };
            AwsError::new(400, code, format!("Value at '{}' is not a valid {}.", m.path, m.expected))
        })?;
        if !errors.is_empty() {
            return Err(AwsError::new(400, d.validation_code, wire::validate::message(&errors)));
        }
    }
    Ok(())
}

/// A call made for the web console: `op` of `service` as the signed-in
/// `caller`, in `region`, with `input` shaped as the model's JSON. The
/// input is validated against the model like a decoded request, then the
/// call takes exactly the path of a signed API request — authorization of
/// the caller (with the request's condition keys), the access record,
/// CreateCluster's preflight, DynamoDB's per-table asynchronous path — so
/// the console has no back door. `secure` is `aws:SecureTransport`: the
/// console's request came over TLS.
///
/// # Errors
/// The AWS error the API would answer.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn call_as(
    app: &Arc<App>,
    caller: &iam::Caller,
    region: &str,
    source_ip: Option<std::net::IpAddr>,
    secure: bool,
    service: Service,
    op: &str,
    input: Value,
) -> Result<Value, AwsError> {
    let d = def(service);
    if !base::is_region(region) {
        return Err(auth::error(
            d.protocol,
            &auth::Failure::WrongScope("Credential should be scoped to a valid region. ".to_owned()),
        ));
    }
    if d.model.operation(op).is_none() {
        return Err(unknown_op(d, Some(op), None));
    }
    if !input.is_object() {
        return Err(AwsError::new(
            400,
            "SerializationException",
            "Start of structure or map found where not expected.",
        ));
    }
    validate_for(app, service, op, &input)?;
    if service == Service::DynamoDb {
        let facts = RequestFacts { region, source_ip, secure, now: app.env.clock.now() };
        return dynamodb_call(app, caller, &facts, op, input).await;
    }
    if service == Service::DynamoDbStreams {
        let facts = RequestFacts { region, source_ip, secure, now: app.env.clock.now() };
        return streams_call(app, caller, &facts, op, input).await;
    }
    let (app2, caller, region, op) = (Arc::clone(app), caller.clone(), region.to_owned(), op.to_owned());
    tokio::task::spawn_blocking(move || {
        let facts = RequestFacts { region: &region, source_ip, secure, now: app2.env.clock.now() };
        dispatch(&app2, service, &caller, &facts, &op, &input)
    })
    .await
    .unwrap_or_else(|e| Err(AwsError::new(500, "InternalFailure", format!("The request processing has failed: {e}"))))
}

/// Authorize the caller for the operation, record the access, and call the service.
fn dispatch(
    app: &App,
    service: Service,
    caller: &iam::Caller,
    facts: &RequestFacts,
    op: &str,
    input: &Value,
) -> Result<Value, AwsError> {
    let d = def(service);
    let target = match service {
        Service::Iam => api::iam::target(&app.iam, caller, op, input),
        Service::Sts => api::sts::target(op, input),
        Service::Ec2 => api::ec2::target(&app.account, facts.region, op, input),
        Service::Dax => api::dax::target(&app.account, facts.region, op, input),
        Service::DynamoDb | Service::DynamoDbStreams => Target::new(d.signing_name, op, "*"),
    };
    let ctx = auth::context(&app.iam, caller, facts, &target);
    let self_authorized = service == Service::Sts && api::sts::self_authorized(op);
    if !self_authorized {
        auth::authorize(&app.iam, caller, &target, &ctx, d.protocol)?;
    }
    record_access(app, caller, d.signing_name, op, facts.region);
    match service {
        Service::Iam => api::iam::call(&app.iam, caller, op, input),
        Service::Sts => api::sts::call(&app.iam, caller, op, input, &ctx),
        Service::Ec2 => api::ec2::call(&app.ec2, facts.region, op, input),
        Service::Dax => {
            if op == "CreateCluster" {
                // Hold off the role's deletion from the check that it exists until the
                // cluster that uses it is saved (see `App::role_in_use`).
                let _using = app.role_in_use.read().unwrap_or_else(std::sync::PoisonError::into_inner);
                dax_preflight(app, caller, facts, input)?;
                return api::dax::call(&app.dax, facts.region, op, input);
            }
            api::dax::call(&app.dax, facts.region, op, input)
        }
        Service::DynamoDb | Service::DynamoDbStreams => {
            Err(AwsError::new(500, "InternalFailure", "DynamoDB calls take the asynchronous path"))
        }
    }
}

/// A DynamoDB call by `caller`: authorized table by table (with each table's
/// resource policy), recorded, then run on the backend. DAX nodes call this
/// too, as their cluster's role.
pub(crate) async fn dynamodb_call(
    app: &App,
    caller: &iam::Caller,
    facts: &RequestFacts<'_>,
    op: &str,
    input: Value,
) -> Result<Value, AwsError> {
    // The root user is allowed everything (`Iam::authorize`): no need to
    // work out the tables and condition keys of its request.
    if !caller.is_root() {
        for target in app.dynamo.targets(&app.account, facts.region, op, &input).await {
            let ctx = auth::context(&app.iam, caller, facts, &target);
            auth::authorize(&app.iam, caller, &target, &ctx, Protocol::Json10)?;
        }
    }
    record_access(app, caller, "dynamodb", op, facts.region);
    app.dynamo.call(facts.region, op, input).await
}

/// A DynamoDB Streams call by `caller`: authorized on the stream (its ARN, or
/// the one its shard iterator names), recorded for Access Advisor under
/// `dynamodb`, then run on the backend's streams path with the input whole.
pub(crate) async fn streams_call(
    app: &App,
    caller: &iam::Caller,
    facts: &RequestFacts<'_>,
    op: &str,
    input: Value,
) -> Result<Value, AwsError> {
    if !caller.is_root() {
        let target = api::dynamodbstreams::target(&app.dynamo, op, &input);
        let ctx = auth::context(&app.iam, caller, facts, &target);
        auth::authorize(&app.iam, caller, &target, &ctx, Protocol::Json10)?;
    }
    record_access(app, caller, "dynamodb", op, facts.region);
    api::dynamodbstreams::call(&app.dynamo, facts.region, op, input).await
}

/// What `CreateCluster` checks before DAX acts (api-and-peers.md B.5): the
/// caller may pass the cluster's role to DAX, and `AWSServiceRoleForDAX`
/// exists, or the caller may have DAX create it on its behalf.
fn dax_preflight(app: &App, caller: &iam::Caller, facts: &RequestFacts, input: &Value) -> Result<(), AwsError> {
    let role_arn = input.get("IamRoleArn").and_then(Value::as_str).unwrap_or_default();
    let mut pass = Target::new("iam", "PassRole", role_arn);
    pass.context.push(("iam:PassedToService".into(), iam::DAX_SERVICE.into()));
    let ctx = auth::context(&app.iam, caller, facts, &pass);
    auth::authorize(&app.iam, caller, &pass, &ctx, wire::Protocol::Json11)?;
    if app.iam.service_linked_role(iam::DAX_SERVICE).is_ok() {
        return Ok(());
    }
    let service = iam::Iam::linked_service(iam::DAX_SERVICE)
        .ok_or_else(|| AwsError::new(500, "InternalFailure", "DAX is missing from the service-linked role catalog"))?;
    let mut create = Target::new("iam", "CreateServiceLinkedRole", &app.iam.slr_arn(service, None));
    create.context.push(("iam:AWSServiceName".into(), iam::DAX_SERVICE.into()));
    let ctx = auth::context(&app.iam, caller, facts, &create);
    auth::authorize(&app.iam, caller, &create, &ctx, wire::Protocol::Json11)?;
    match app.iam.create_service_linked_role(iam::DAX_SERVICE, None, None) {
        Ok(_) => Ok(()),
        // Created meanwhile by another request: what matters is that it exists.
        Err(_) if app.iam.service_linked_role(iam::DAX_SERVICE).is_ok() => Ok(()),
        Err(e) => Err(AwsError::new(500, "InternalFailure", e.to_string())),
    }
}

/// Last activity: Access Advisor's records and a role's `RoleLastUsed`.
pub(crate) fn record_access(app: &App, caller: &iam::Caller, service: &str, op: &str, region: &str) {
    if matches!(caller, iam::Caller::Root) {
        return;
    }
    let who = app.iam.identity(caller);
    app.iam.record_access(&who.entity_arn, service, op, region);
    if matches!(caller, iam::Caller::Session(s) if s.is_role()) {
        app.iam.stamp_role_used(&who.entity_arn, region);
    }
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
