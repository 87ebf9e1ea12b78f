//! Execute one authenticated call, whoever makes it: a signed HTTP request
//! (`front`), a console action (`call_as`) or a DAX node's call to DynamoDB
//! (`dax_host`). One path for all: the service's handler works out the
//! targets → IAM authorizes the caller for each → the access is recorded →
//! the handler calls the domain.

use std::net::IpAddr;
use std::sync::Arc;

use iam::Caller;
use serde_json::Value;
use wire::{AwsError, Protocol};

use crate::api::handler::{Grant, Handler, Operation, Principal};
use crate::api::{self, Target};
use crate::app::App;
use crate::auth::{self, RequestFacts};
use crate::services::{def, Service, ServiceDef};

/// One authenticated call, its input decoded (and, for requests from outside, validated).
pub struct Call<'a> {
    pub caller: &'a Caller,
    /// The operation as the model names it.
    pub op: &'a str,
    pub input: Value,
    pub region: &'a str,
    /// `aws:SourceIp`, when the call came over a socket from a client.
    pub source_ip: Option<IpAddr>,
    /// `aws:SecureTransport`.
    pub secure: bool,
    /// The protocol the call came in, whose words a denial takes (CloudWatch's
    /// Query requests are denied as `AccessDenied`, its JSON and CBOR ones as
    /// `AccessDeniedException`); the service's default protocol for calls made
    /// outside the HTTP front door.
    pub protocol: Protocol,
}

/// Run `call` on `service`: authorize, record, call.
///
/// # Errors
/// The AWS error the API answers: a denial, or the service's own.
pub async fn execute(app: &Arc<App>, service: Service, call: Call<'_>) -> Result<Value, AwsError> {
    match service {
        Service::Iam => run(app, api::iam::IamApi { iam: Arc::clone(&app.iam) }, call).await,
        Service::Sts => run(app, api::sts::StsApi { iam: Arc::clone(&app.iam) }, call).await,
        Service::Ec2 => run(app, api::ec2::Ec2Api { ec2: Arc::clone(&app.ec2) }, call).await,
        Service::Dax => {
            let handler = api::dax::DaxApi {
                dax: Arc::clone(&app.dax),
                iam: Arc::clone(&app.iam),
                role_in_use: Arc::clone(&app.role_in_use),
            };
            run(app, handler, call).await
        }
        Service::DynamoDb => run(app, api::dynamodb::DynamoApi { dynamo: Arc::clone(&app.dynamo) }, call).await,
        Service::DynamoDbStreams => {
            run(app, api::dynamodbstreams::StreamsApi { dynamo: Arc::clone(&app.dynamo) }, call).await
        }
        Service::CloudWatch => run(app, api::cloudwatch::CloudWatchApi { cw: Arc::clone(&app.cloudwatch) }, call).await,
        Service::Fis => run(app, api::fis::FisApi { fis: Arc::clone(&app.fis), iam: Arc::clone(&app.iam) }, call).await,
        Service::NodeHost => {
            let handler = api::nodehost::NodeHostApi { app: Arc::clone(app) };
            run(app, handler, call).await
        }
    }
}

/// [`pipeline`] where the handler's calls may run: a blocking handler's whole
/// call on the blocking pool, an async one's on this task.
async fn run<H: Handler>(app: &Arc<App>, handler: H, call: Call<'_>) -> Result<Value, AwsError> {
    if !H::BLOCKING {
        return pipeline(app, &handler, call).await;
    }
    let app = Arc::clone(app);
    let (caller, op, region) = (call.caller.clone(), call.op.to_owned(), call.region.to_owned());
    let (input, source_ip, secure, protocol) = (call.input, call.source_ip, call.secure, call.protocol);
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let call = Call { caller: &caller, op: &op, input, region: &region, source_ip, secure, protocol };
        // A blocking handler's futures never wait: this only runs them to their end here.
        runtime.block_on(pipeline(&app, &handler, call))
    })
    .await
    .unwrap_or_else(|e| Err(AwsError::new(500, "InternalFailure", format!("The request processing has failed: {e}"))))
}

/// The one path: targets → authorization → access record → the call.
async fn pipeline<H: Handler>(app: &App, handler: &H, call: Call<'_>) -> Result<Value, AwsError> {
    let d = def(H::SERVICE);
    let caller = call.caller;
    let facts =
        RequestFacts { region: call.region, source_ip: call.source_ip, secure: call.secure, now: app.env.clock.now() };
    let who = Principal { caller, account: &app.account, region: call.region };
    let op = H::Op::parse(call.op);
    let targets = match op {
        // The root user is allowed everything (`Iam::authorize`): no need to work out
        // the targets and condition keys of its request.
        _ if H::ROOT_SKIPS_TARGETS && caller.is_root() => Vec::new(),
        Some(op) => handler.targets(op, &call.input, &who).await,
        None => vec![handler.not_served_target(call.op, &call.input)],
    };
    let self_authorized = op.is_some_and(|op| handler.self_authorized(op));
    let mut context = None;
    for target in &targets {
        let ctx = auth::context(&app.iam, caller, &facts, target);
        if !self_authorized {
            auth::authorize_in(&app.iam, caller, target, &ctx, d, call.protocol)?;
        }
        context.get_or_insert(ctx);
    }
    record_access(app, caller, d.action_prefix, call.op, call.region);
    // An operation of the model daxd does not serve is authorized like any other, then refused.
    let Some(op) = op else { return Err(api::not_served(d.action_prefix, call.op)) };
    let context = context.unwrap_or_default();
    let protocol = call.protocol;
    let authorize = |target: &Target| {
        let ctx = auth::context(&app.iam, caller, &facts, target);
        auth::authorize_in(&app.iam, caller, target, &ctx, d, protocol)
    };
    handler.call(op, call.input, &who, &Grant { context: &context, authorize: &authorize }).await
}

/// Last activity: Access Advisor's records and a role's `RoleLastUsed`.
pub fn record_access(app: &App, caller: &Caller, service: &str, op: &str, region: &str) {
    if matches!(caller, Caller::Root) {
        return;
    }
    let who = app.iam.identity(caller);
    app.iam.record_access(&who.entity_arn, service, op, region);
    if matches!(caller, Caller::Session(s) if s.is_role()) {
        app.iam.stamp_role_used(&who.entity_arn, region);
    }
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
///
/// # Errors
/// The service's validation error, with AWS's message.
pub fn validate(app: &App, service: Service, op: &str, input: &Value) -> Result<(), AwsError> {
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
/// call takes exactly the path of a signed API request ([`execute`]), so
/// the console has no back door. `secure` is `aws:SecureTransport`: the
/// console's request came over TLS.
///
/// # Errors
/// The AWS error the API would answer.
#[allow(clippy::too_many_arguments)]
pub async fn call_as(
    app: &Arc<App>,
    caller: &Caller,
    region: &str,
    source_ip: Option<IpAddr>,
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
        return Err(d.unknown_operation(Some(op), None));
    }
    if !input.is_object() {
        return Err(AwsError::new(
            400,
            "SerializationException",
            "Start of structure or map found where not expected.",
        ));
    }
    validate(app, service, op, &input)?;
    execute(app, service, Call { caller, op, input, region, source_ip, secure, protocol: d.protocol }).await
}
