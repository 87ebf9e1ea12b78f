//! The AWS services daxd answers on its one HTTP endpoint, and how a
//! request is routed to one of them: by the `smithy-rpc-v2-cbor` path, by
//! `X-Amz-Target` for the JSON protocols, then by the form's `Version`,
//! then by the service named in the credential scope. A service may speak
//! several protocols (CloudWatch: JSON 1.0, Query and CBOR); the route picks
//! the request's.

use std::sync::OnceLock;

use wire::{AwsError, Model, Protocol};

/// Which service a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Iam,
    Sts,
    Ec2,
    Dax,
    DynamoDb,
    /// DynamoDB Streams: its own model and target prefix, DynamoDB's signing
    /// name and IAM action prefix.
    DynamoDbStreams,
    /// CloudWatch: signing name `monitoring`, IAM action prefix `cloudwatch`.
    CloudWatch,
    /// The AWS Fault Injection Service: `rest-json`, routed by method and path.
    Fis,
    /// daxd's own node-host service (docs/node-hosts.md): JSON 1.1, target prefix
    /// `DaxdNodeHost`, signing name and IAM action prefix `daxd`.
    NodeHost,
}

/// Everything about a service that the front door needs.
pub struct ServiceDef {
    pub model: Model,
    /// The protocol the pinned botocore sends, and the one a request answered
    /// outside the HTTP front door (the console, the DAX port) is worded in.
    pub protocol: Protocol,
    /// Every protocol the service is served over (`protocol` first), but
    /// `smithy-rpc-v2-cbor`, which [`ServiceDef::cbor_service`] marks.
    pub protocols: Vec<Protocol>,
    /// The Smithy service's absolute ID when the service speaks
    /// `smithy-rpc-v2-cbor`: its namespace prefixes the `__type` of CBOR errors,
    /// and its name (bare or qualified) is the path's service segment.
    pub cbor_service: Option<(&'static str, &'static str)>,
    /// The JSON and CBOR errors carry the Query code in `x-amzn-query-error`.
    pub query_compatible: bool,
    /// The XML namespace of the Query protocol, for a service whose
    /// `protocol` is a JSON one but which also speaks Query.
    pub query_namespace: Option<String>,
    /// The SigV4 signing name (`iam`, `dynamodb`, `monitoring`, ...).
    pub signing_name: &'static str,
    /// The IAM action prefix and Access Advisor's service namespace: the
    /// signing name, but for CloudWatch (`cloudwatch`).
    pub action_prefix: &'static str,
    /// XML namespace (query protocols) or `__type` prefix (JSON protocols).
    pub namespace: Option<String>,
    /// The error code for input that breaks the model's constraints.
    pub validation_code: &'static str,
    /// Shapes whose values are URL-encoded in responses.
    pub url_encoded_shapes: &'static [&'static str],
    /// The HTTP bindings of a `rest-json` service (FIS): requests route by method and
    /// path, errors go in `x-amzn-ErrorType`. Its `protocol` is then the JSON protocol
    /// whose words its authentication and authorization errors take.
    pub rest_json: Option<wire::restjson::RestJson>,
}

impl ServiceDef {
    fn load(service: Service, text: &str) -> Self {
        let model = Model::from_json(text).unwrap_or_else(|e| panic!("embedded model for {service:?} is invalid: {e}"));
        let rest_json = (model.metadata.protocol == "rest-json").then(|| {
            wire::restjson::RestJson::from_model_json(text)
                .unwrap_or_else(|e| panic!("embedded model for {service:?} has invalid HTTP bindings: {e}"))
        });
        let (protocol, protocols) = if rest_json.is_some() {
            (Protocol::Json11, Vec::new())
        } else {
            (Protocol::of(&model), Protocol::all_of(&model))
        };
        let cbor_service = (service == Service::CloudWatch
            && model.metadata.protocols.iter().any(|p| p == "smithy-rpc-v2-cbor"))
        .then_some(("com.amazonaws.cloudwatch", "GraniteServiceVersion20100801"));
        let query_compatible = model.metadata.aws_query_compatible.is_some();
        let query_namespace = model.metadata.xml_namespace.clone();
        let (signing_name, validation_code, url_encoded_shapes, json_prefix): (_, _, &'static [&'static str], _) =
            match service {
                Service::Iam => ("iam", "ValidationError", &["policyDocumentType"], None),
                Service::Sts => ("sts", "ValidationError", &[], None),
                Service::Ec2 => ("ec2", "InvalidParameterValue", &[], None),
                Service::Dax => ("dax", "InvalidParameterValueException", &[], None),
                Service::DynamoDb | Service::DynamoDbStreams => {
                    ("dynamodb", "ValidationException", &[], Some("com.amazonaws.dynamodb.v20120810"))
                }
                // The model is awsQueryCompatible: a JSON error's `__type` is the Query
                // code, the code boto3 names the modelled exceptions by.
                Service::CloudWatch => ("monitoring", "InvalidParameterValue", &[], None),
                Service::Fis => ("fis", "ValidationException", &[], None),
                Service::NodeHost => ("daxd", "InvalidParameterValueException", &[], None),
            };
        let action_prefix = if service == Service::CloudWatch { "cloudwatch" } else { signing_name };
        let namespace = if protocol.is_json() {
            json_prefix.map(str::to_owned)
        } else if service == Service::Ec2 {
            // EC2 answers with the trailing slash its model omits.
            Some(format!("http://ec2.amazonaws.com/doc/{}/", model.metadata.api_version))
        } else {
            model.metadata.xml_namespace.clone()
        };
        ServiceDef {
            model,
            protocol,
            protocols,
            cbor_service,
            query_compatible,
            query_namespace,
            signing_name,
            action_prefix,
            namespace,
            validation_code,
            url_encoded_shapes,
            rest_json,
        }
    }

    /// The XML namespace (Query, EC2) or `__type` prefix (JSON) of responses in `protocol`.
    #[must_use]
    pub fn namespace_in(&self, protocol: Protocol) -> Option<&str> {
        if protocol.is_json() == self.protocol.is_json() {
            self.namespace.as_deref()
        } else if protocol.is_json() {
            None
        } else {
            self.query_namespace.as_deref()
        }
    }
}

impl ServiceDef {
    /// The error for an operation the model does not have (or a missing one), in
    /// the service's words; `version` is the request's query-protocol `Version`.
    #[must_use]
    pub fn unknown_operation(&self, op: Option<&str>, version: Option<&str>) -> AwsError {
        Self::unknown_operation_in(self.protocol, op, version)
    }

    /// [`ServiceDef::unknown_operation`] in the words of `protocol`.
    #[must_use]
    pub fn unknown_operation_in(protocol: Protocol, op: Option<&str>, version: Option<&str>) -> AwsError {
        match (protocol, op) {
            (Protocol::Json10 | Protocol::Json11, _) => AwsError::new(400, "UnknownOperationException", ""),
            (_, None) => AwsError::new(400, "MissingAction", "Missing Action"),
            (Protocol::Ec2, Some(op)) => {
                AwsError::new(400, "InvalidAction", format!("The action {op} is not valid for this web service."))
            }
            (_, Some(op)) => AwsError::new(
                400,
                "InvalidAction",
                format!("Could not find operation {op} for version {}", version.unwrap_or("NO_VERSION_SPECIFIED")),
            ),
        }
    }
}

/// The embedded service models, parsed once.
pub fn def(service: Service) -> &'static ServiceDef {
    static DEFS: OnceLock<[ServiceDef; 9]> = OnceLock::new();
    let defs = DEFS.get_or_init(|| {
        [
            ServiceDef::load(Service::Iam, include_str!("../../../models/iam.json")),
            ServiceDef::load(Service::Sts, include_str!("../../../models/sts.json")),
            ServiceDef::load(Service::Ec2, include_str!("../../../models/ec2.json")),
            ServiceDef::load(Service::Dax, include_str!("../../../models/dax.json")),
            ServiceDef::load(Service::DynamoDb, include_str!("../../../models/dynamodb.json")),
            ServiceDef::load(Service::DynamoDbStreams, include_str!("../../../models/dynamodbstreams.json")),
            ServiceDef::load(Service::CloudWatch, include_str!("../../../models/monitoring.json")),
            ServiceDef::load(Service::Fis, include_str!("../../../models/fis.json")),
            ServiceDef::load(Service::NodeHost, include_str!("../../../models/daxd-nodehost.json")),
        ]
    });
    match service {
        Service::Iam => &defs[0],
        Service::Sts => &defs[1],
        Service::Ec2 => &defs[2],
        Service::Dax => &defs[3],
        Service::DynamoDb => &defs[4],
        Service::DynamoDbStreams => &defs[5],
        Service::CloudWatch => &defs[6],
        Service::Fis => &defs[7],
        Service::NodeHost => &defs[8],
    }
}

/// The service for an `X-Amz-Target` header, and the operation it names.
#[must_use]
pub fn by_target(target: &str) -> Option<(Service, &str)> {
    let (prefix, op) = target.split_once('.')?;
    let service = match prefix {
        "DynamoDB_20120810" => Service::DynamoDb,
        "DynamoDBStreams_20120810" => Service::DynamoDbStreams,
        "AmazonDAXV3" => Service::Dax,
        "GraniteServiceVersion20100801" => Service::CloudWatch,
        "DaxdNodeHost" => Service::NodeHost,
        _ => return None,
    };
    Some((service, op))
}

/// The service for a `smithy-rpc-v2-cbor` path's service segment: the Smithy
/// service's name, bare or with its namespace.
#[must_use]
pub fn by_cbor_service(segment: &str) -> Option<Service> {
    let all = [Service::CloudWatch];
    all.into_iter().find(|s| {
        def(*s).cbor_service.is_some_and(|(ns, name)| {
            segment == name || segment.strip_prefix(ns).and_then(|r| r.strip_prefix('.')) == Some(name)
        })
    })
}

/// The service for a query-protocol `Version`.
#[must_use]
pub fn by_version(version: &str) -> Option<Service> {
    match version {
        "2010-05-08" => Some(Service::Iam),
        "2011-06-15" => Some(Service::Sts),
        "2016-11-15" => Some(Service::Ec2),
        "2010-08-01" => Some(Service::CloudWatch),
        _ => None,
    }
}

/// The service for a credential-scope service name.
#[must_use]
pub fn by_signing_name(name: &str) -> Option<Service> {
    match name {
        "iam" => Some(Service::Iam),
        "sts" => Some(Service::Sts),
        "ec2" => Some(Service::Ec2),
        "dax" => Some(Service::Dax),
        "dynamodb" => Some(Service::DynamoDb),
        "monitoring" => Some(Service::CloudWatch),
        "fis" => Some(Service::Fis),
        "daxd" => Some(Service::NodeHost),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_load_with_their_protocols() {
        let cases = [
            (Service::Iam, Protocol::Query, "iam"),
            (Service::Sts, Protocol::Query, "sts"),
            (Service::Ec2, Protocol::Ec2, "ec2"),
            (Service::Dax, Protocol::Json11, "dax"),
            (Service::DynamoDb, Protocol::Json10, "dynamodb"),
            (Service::CloudWatch, Protocol::Json10, "monitoring"),
            (Service::NodeHost, Protocol::Json11, "daxd"),
        ];
        for (s, p, name) in cases {
            assert_eq!(def(s).protocol, p, "{s:?}");
            assert_eq!(def(s).signing_name, name);
            assert_eq!(by_signing_name(name), Some(s));
        }
        // Streams share DynamoDB's signing name: a credential scope names DynamoDB.
        assert_eq!(def(Service::DynamoDbStreams).protocol, Protocol::Json10);
        assert_eq!(def(Service::DynamoDbStreams).signing_name, "dynamodb");
        assert!(def(Service::DynamoDbStreams).model.operation("GetRecords").is_some());
        assert_eq!(def(Service::Iam).namespace.as_deref(), Some("https://iam.amazonaws.com/doc/2010-05-08/"));
        assert_eq!(def(Service::Ec2).namespace.as_deref(), Some("http://ec2.amazonaws.com/doc/2016-11-15/"));
    }

    #[test]
    fn routing_tables() {
        assert_eq!(by_target("DynamoDB_20120810.GetItem"), Some((Service::DynamoDb, "GetItem")));
        assert_eq!(by_target("AmazonDAXV3.DescribeClusters"), Some((Service::Dax, "DescribeClusters")));
        assert_eq!(by_target("DynamoDBStreams_20120810.GetRecords"), Some((Service::DynamoDbStreams, "GetRecords")));
        assert_eq!(by_target("GraniteServiceVersion20100801.ListMetrics"), Some((Service::CloudWatch, "ListMetrics")));
        assert_eq!(def(Service::CloudWatch).action_prefix, "cloudwatch");
        assert_eq!(by_target("DaxdNodeHost.JoinNodeHost"), Some((Service::NodeHost, "JoinNodeHost")));
        assert_eq!(def(Service::NodeHost).action_prefix, "daxd");
        assert_eq!(by_target("Nope.X"), None);
        assert_eq!(by_target("garbage"), None);
        assert_eq!(by_version("2010-05-08"), Some(Service::Iam));
        assert_eq!(by_version("2099-01-01"), None);
        assert_eq!(by_version("2010-08-01"), Some(Service::CloudWatch));
        assert_eq!(by_cbor_service("GraniteServiceVersion20100801"), Some(Service::CloudWatch));
        assert_eq!(
            by_cbor_service("com.amazonaws.cloudwatch.GraniteServiceVersion20100801"),
            Some(Service::CloudWatch)
        );
        assert_eq!(by_cbor_service("DynamoDB_20120810"), None);
    }

    #[test]
    fn cloudwatch_speaks_json_query_and_cbor_and_the_others_one_protocol() {
        let cw = def(Service::CloudWatch);
        assert_eq!(cw.protocols, [Protocol::Json10, Protocol::Query]);
        assert!(cw.cbor_service.is_some() && cw.query_compatible);
        assert_eq!(cw.namespace_in(Protocol::Json10), None);
        assert_eq!(cw.namespace_in(Protocol::Query), Some("http://monitoring.amazonaws.com/doc/2010-08-01/"));
        for s in [Service::Iam, Service::Sts, Service::Ec2, Service::Dax, Service::DynamoDb, Service::DynamoDbStreams] {
            let d = def(s);
            assert_eq!(d.protocols, [d.protocol], "{s:?}");
            assert!(d.cbor_service.is_none() && !d.query_compatible, "{s:?}");
            assert_eq!(d.namespace_in(d.protocol), d.namespace.as_deref());
            assert!(d.rest_json.is_none(), "{s:?}");
        }
    }

    #[test]
    fn fis_is_rest_json_routed_by_method_and_path() {
        let d = def(Service::Fis);
        assert_eq!((d.signing_name, d.action_prefix), ("fis", "fis"));
        assert_eq!(by_signing_name("fis"), Some(Service::Fis));
        // No form protocol: a form signed for `fis` is not taken as a Query request.
        assert!(d.protocols.is_empty());
        let rest = d.rest_json.as_ref().expect("rest-json bindings");
        let cases = [
            ("POST", "/experimentTemplates", "CreateExperimentTemplate"),
            ("GET", "/experimentTemplates", "ListExperimentTemplates"),
            ("PATCH", "/experimentTemplates/EXT1", "UpdateExperimentTemplate"),
            ("DELETE", "/experiments/EXP1", "StopExperiment"),
            ("GET", "/experiments/EXP1/resolvedTargets", "ListExperimentResolvedTargets"),
            ("GET", "/actions/daxd%3Adax%3Astall-node", "GetAction"),
            ("GET", "/targetResourceTypes/aws%3Aec2%3Asubnet", "GetTargetResourceType"),
            ("DELETE", "/tags/arn%3Aaws%3Afis%3Aus-east-1%3A1%3Aexperiment%2FX", "UntagResource"),
        ];
        for (method, path, op) in cases {
            assert_eq!(rest.route(method, path, "").map(|r| r.op.name.clone()).as_deref(), Some(op), "{method} {path}");
        }
        assert!(rest.route("PUT", "/experiments", "").is_none());
    }
}
