//! Signing with the `aws-sigv4` crate, used as a test oracle.

use std::time::{Duration, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign as aws_sign, PayloadChecksumKind, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use time::OffsetDateTime;

use super::OwnedRequest;

pub const AKID: &str = "AKIDEXAMPLE";
pub const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// How `aws-sigv4` should sign.
#[derive(Debug, Clone)]
pub struct Oracle {
    pub presign_expires: Option<u64>,
    /// Sign `UNSIGNED-PAYLOAD` instead of the body hash.
    pub unsigned_payload: bool,
    /// Send the payload hash in `x-amz-content-sha256` (header mode only).
    pub content_sha_header: bool,
    pub session_token: Option<String>,
    pub region: String,
    pub service: String,
    pub time: i64,
}

/// A request before signing.
#[derive(Debug, Clone)]
pub struct Unsigned {
    pub method: String,
    pub host: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Signs with `aws-sigv4` and returns the request as a server would see it.
pub fn oracle_sign(req: &Unsigned, o: &Oracle) -> OwnedRequest {
    let identity: Identity = Credentials::new(AKID, SECRET, o.session_token.clone(), None, "test").into();
    let mut settings = SigningSettings::default();
    if let Some(expires) = o.presign_expires {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(expires));
    } else if o.content_sha_header || o.unsigned_payload {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let time = UNIX_EPOCH + Duration::from_secs(u64::try_from(o.time).expect("positive time"));
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&o.region)
        .name(&o.service)
        .time(time)
        .settings(settings)
        .build()
        .expect("signing params")
        .into();
    let uri = if req.query.is_empty() {
        format!("https://{}{}", req.host, req.path)
    } else {
        format!("https://{}{}?{}", req.host, req.path, req.query)
    };
    let mut headers: Vec<(&str, &str)> = vec![("host", req.host.as_str())];
    headers.extend(req.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    let body = if o.unsigned_payload { SignableBody::UnsignedPayload } else { SignableBody::Bytes(&req.body) };
    let signable = SignableRequest::new(&req.method, uri.clone(), headers.iter().copied(), body).expect("signable");
    let (instructions, _) = aws_sign(signable, &params).expect("aws-sigv4 sign").into_parts();

    let mut http_req = http::Request::builder().method(req.method.as_str()).uri(uri).body(()).expect("http request");
    for (n, v) in &headers {
        http_req.headers_mut().append(
            http::HeaderName::from_bytes(n.as_bytes()).expect("header name"),
            http::HeaderValue::from_str(v).expect("header value"),
        );
    }
    instructions.apply_to_request_http1x(&mut http_req);
    OwnedRequest {
        method: req.method.clone(),
        path: http_req.uri().path().to_owned(),
        query: http_req.uri().query().unwrap_or_default().to_owned(),
        headers: http_req.headers().iter().map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec())).collect(),
        body: req.body.clone(),
    }
}

pub fn at(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).expect("valid time")
}

impl Oracle {
    /// Header signing for DynamoDB in us-east-1 at `time`, body hash signed.
    pub fn header(time: i64) -> Self {
        Oracle {
            presign_expires: None,
            unsigned_payload: false,
            content_sha_header: false,
            session_token: None,
            region: "us-east-1".to_owned(),
            service: "dynamodb".to_owned(),
            time,
        }
    }

    /// Presigned URL valid for `expires` seconds.
    pub fn presigned(time: i64, expires: u64) -> Self {
        Oracle { presign_expires: Some(expires), ..Self::header(time) }
    }
}

impl Unsigned {
    /// A DynamoDB-style JSON POST.
    pub fn dynamodb(body: &str) -> Self {
        Unsigned {
            method: "POST".to_owned(),
            host: "localhost:8000".to_owned(),
            path: "/".to_owned(),
            query: String::new(),
            headers: vec![
                ("content-type".to_owned(), "application/x-amz-json-1.0".to_owned()),
                ("x-amz-target".to_owned(), "DynamoDB_20120810.ListTables".to_owned()),
            ],
            body: body.as_bytes().to_vec(),
        }
    }
}
