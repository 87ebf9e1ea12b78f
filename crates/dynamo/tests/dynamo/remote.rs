//! The remote backend against a small fake DynamoDB written here with hyper.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use dynamo::{Backend, Credentials, RemoteBackend, RemoteConfig};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;

const NOW: i64 = 1_700_000_000;
const SECRET: &str = "fake/secret/key";

/// What the fake server saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    target: String,
    content_type: String,
    access_key: String,
    region: String,
    service: String,
    token: Option<String>,
    body: Value,
}

#[derive(Default)]
struct Fake {
    seen: Mutex<Vec<Seen>>,
    connections: AtomicUsize,
}

fn json_response(status: u16, body: &Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert("content-type", hyper::header::HeaderValue::from_static("application/x-amz-json-1.0"));
    r
}

async fn handle(fake: Arc<Fake>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let headers: Vec<(String, Vec<u8>)> =
        parts.headers.iter().map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec())).collect();
    let header_refs: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
    let sreq = sigv4::Request {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &header_refs,
        body: &body,
    };
    let now = time::OffsetDateTime::from_unix_timestamp(NOW).expect("time");
    let parsed = match sigv4::parse(&sreq) {
        Ok(p) => p,
        Err(e) => {
            return Ok(json_response(
                400,
                &json!({"__type": "com.amazon.coral.service#IncompleteSignatureException", "message": e.to_string()}),
            ))
        }
    };
    if let Err(e) = sigv4::verify(&sreq, &parsed, SECRET, now) {
        return Ok(json_response(
            403,
            &json!({"__type": "com.amazon.coral.service#InvalidSignatureException", "message": e.to_string()}),
        ));
    }
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let target = header("x-amz-target");
    let input: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    fake.seen.lock().expect("lock").push(Seen {
        target: target.clone(),
        content_type: header("content-type"),
        access_key: parsed.access_key_id.clone(),
        region: parsed.region.clone(),
        service: parsed.service.clone(),
        token: parsed.security_token.clone(),
        body: input.clone(),
    });
    let op = target.strip_prefix("DynamoDB_20120810.").unwrap_or("");
    Ok(match op {
        "GetItem" => json_response(
            200,
            &json!({"Item": {"id": {"S": "1"}, "n": {"N": "12345678901234567890123456789012345678"}}}),
        ),
        "BatchGetItem" => {
            let tables: Vec<String> =
                input["RequestItems"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
            let responses: serde_json::Map<String, Value> = tables.into_iter().map(|t| (t, json!([]))).collect();
            json_response(200, &json!({"Responses": responses, "UnprocessedKeys": {}}))
        }
        "PutItem" => json_response(
            400,
            &json!({"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
                    "message": "The conditional request failed", "Item": {"id": {"S": "1"}}}),
        ),
        "TransactWriteItems" => json_response(
            400,
            &json!({"__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                    "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]",
                    "CancellationReasons": [{"Code": "None"}, {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}]}),
        ),
        "DescribeTable" => json_response(
            500,
            &json!({"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError", "message": "boom"}),
        ),
        "ListTables" => json_response(200, &json!({"TableNames": ["a", "b"]})),
        _ if target == "DynamoDBStreams_20120810.GetRecords" => {
            json_response(200, &json!({"Records": [], "NextShardIterator": input["ShardIterator"]}))
        }
        "DeleteTable" => {
            let mut r = Response::new(Full::new(Bytes::from_static(b"<html>no</html>")));
            *r.status_mut() = hyper::StatusCode::BAD_GATEWAY;
            r
        }
        _ => json_response(400, &json!({"__type": "com.amazon.coral.service#UnknownOperationException"})),
    })
}

/// Serve the fake on a loopback port; returns its URL.
async fn start(fake: Arc<Fake>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            fake.connections.fetch_add(1, Ordering::SeqCst);
            let fake = Arc::clone(&fake);
            tokio::spawn(async move {
                let service = service_fn(move |req| handle(Arc::clone(&fake), req));
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    format!("http://{addr}")
}

fn credentials(token: Option<&str>) -> Credentials {
    Credentials {
        access_key_id: "AKIDFAKE".to_owned(),
        secret_access_key: SECRET.to_owned(),
        session_token: token.map(str::to_owned),
    }
}

fn clock() -> Arc<dyn base::Clock> {
    Arc::new(base::ManualClock::at(NOW))
}

#[tokio::test]
async fn forwards_signed_requests_and_answers() {
    let fake = Arc::new(Fake::default());
    let url = start(Arc::clone(&fake)).await;
    let backend =
        RemoteBackend::new(RemoteConfig::new(url, credentials(Some("session-token"))), clock()).expect("backend");

    let arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/Music";
    let out = backend
        .call("eu-west-1", "GetItem", json!({"TableName": arn, "Key": {"id": {"S": "1"}}}))
        .await
        .expect("GetItem");
    assert_eq!(out["Item"]["n"], json!({"N": "12345678901234567890123456789012345678"}));
    let listed = backend.call("eu-west-1", "ListTables", json!({})).await.expect("ListTables");
    assert_eq!(listed, json!({"TableNames": ["a", "b"]}));
    let batch = backend
        .call("eu-west-1", "BatchGetItem", json!({"RequestItems": {arn: {"Keys": [{"id": {"S": "1"}}]}}}))
        .await
        .expect("BatchGetItem");
    assert!(batch["Responses"].get(arn).is_some(), "the client's key comes back: {batch}");

    let seen = fake.seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 3);
    let first = &seen[0];
    assert_eq!(first.target, "DynamoDB_20120810.GetItem");
    assert_eq!(first.content_type, "application/x-amz-json-1.0");
    assert_eq!(
        (first.access_key.as_str(), first.region.as_str(), first.service.as_str()),
        ("AKIDFAKE", "eu-west-1", "dynamodb")
    );
    assert_eq!(first.token.as_deref(), Some("session-token"));
    assert_eq!(first.body["TableName"], "Music", "table ARNs become names");
    assert_eq!(
        seen[2].body["RequestItems"].as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["Music".to_owned()])
    );
    // Pooled keep-alive: one connection for the three sequential calls.
    assert_eq!(fake.connections.load(Ordering::SeqCst), 1);
}

/// Streams calls go to `--dynamodb-streams-endpoint` (by default the DynamoDB
/// endpoint), with the Streams target prefix, signed alike.
#[tokio::test]
async fn streams_go_to_the_streams_endpoint() {
    let (ddb_fake, streams_fake) = (Arc::new(Fake::default()), Arc::new(Fake::default()));
    let ddb_url = start(Arc::clone(&ddb_fake)).await;
    let streams_url = start(Arc::clone(&streams_fake)).await;
    let mut config = RemoteConfig::new(ddb_url.clone(), credentials(None));
    config.streams_endpoint = Some(streams_url);
    let backend = RemoteBackend::new(config, clock()).expect("backend");
    let out = backend
        .streams("eu-west-1", "GetRecords", json!({"ShardIterator": "it", "Limit": 5}))
        .await
        .expect("GetRecords");
    assert_eq!(out, json!({"Records": [], "NextShardIterator": "it"}));
    backend.call("eu-west-1", "ListTables", json!({})).await.expect("ListTables");
    let seen = streams_fake.seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].target, "DynamoDBStreams_20120810.GetRecords");
    assert_eq!((seen[0].service.as_str(), seen[0].region.as_str()), ("dynamodb", "eu-west-1"));
    assert_eq!(seen[0].body, json!({"ShardIterator": "it", "Limit": 5}), "the input whole");
    assert_eq!(ddb_fake.seen.lock().expect("lock").len(), 1, "DynamoDB calls stay on the DynamoDB endpoint");

    let same = RemoteBackend::new(RemoteConfig::new(ddb_url, credentials(None)), clock()).expect("backend");
    same.streams("eu-west-1", "GetRecords", json!({"ShardIterator": "x"})).await.expect("GetRecords");
    assert_eq!(
        ddb_fake.seen.lock().expect("lock").last().map(|s| s.target.clone()).as_deref(),
        Some("DynamoDBStreams_20120810.GetRecords")
    );
}

#[tokio::test]
async fn errors_pass_through_unchanged() {
    let fake = Arc::new(Fake::default());
    let url = start(Arc::clone(&fake)).await;
    let backend = RemoteBackend::new(RemoteConfig::new(url, credentials(None)), clock()).expect("backend");

    let e = backend.call("us-east-1", "PutItem", json!({"TableName": "t", "Item": {}})).await.expect_err("ccf");
    assert_eq!(
        (e.code.as_str(), e.status, e.message.as_str()),
        ("ConditionalCheckFailedException", 400, "The conditional request failed")
    );
    assert_eq!(e.extra, Some(json!({"Item": {"id": {"S": "1"}}})));

    let e = backend.call("us-east-1", "TransactWriteItems", json!({"TransactItems": []})).await.expect_err("tx");
    assert_eq!((e.code.as_str(), e.status), ("TransactionCanceledException", 400));
    assert!(e.message.starts_with("Transaction cancelled"));
    assert_eq!(
        e.extra.as_ref().map(|x| x["CancellationReasons"][1]["Code"].clone()),
        Some(json!("ConditionalCheckFailed"))
    );

    let e = backend.call("us-east-1", "DescribeTable", json!({"TableName": "t"})).await.expect_err("500");
    assert_eq!((e.code.as_str(), e.status, e.message.as_str()), ("InternalServerError", 500, "boom"));

    let e = backend.call("us-east-1", "DeleteTable", json!({"TableName": "t"})).await.expect_err("502");
    assert_eq!(e.status, 502);
    assert!(e.message.contains("<html>no</html>"), "{}", e.message);

    let e = backend.call("us-east-1", "NoSuchOperation", json!({})).await.expect_err("unknown");
    assert_eq!((e.code.as_str(), e.status), ("UnknownOperationException", 400));
    let e = backend.call("us-east-1", "Bad\r\nOp", json!({})).await.expect_err("bad op");
    assert_eq!(e.code, "UnknownOperationException");

    // No request failed its signature check.
    assert_eq!(fake.seen.lock().expect("lock").len(), 5);
    // Reset leaves the remote alone.
    backend.reset().await.expect("reset");
}

#[tokio::test]
async fn a_fixed_region_overrides_the_request_region() {
    let fake = Arc::new(Fake::default());
    let url = start(Arc::clone(&fake)).await;
    let mut config = RemoteConfig::new(format!("{url}/"), credentials(None));
    config.region = Some("ap-south-1".to_owned());
    config.normalize_table_arns = false;
    let backend = RemoteBackend::new(config, clock()).expect("backend");
    let arn = "arn:aws:dynamodb:us-east-1:123456789012:table/Music";
    backend.call("us-east-1", "GetItem", json!({"TableName": arn})).await.expect("GetItem");
    let seen = fake.seen.lock().expect("lock").clone();
    assert_eq!(seen[0].region, "ap-south-1");
    assert_eq!(seen[0].body["TableName"], arn, "ARNs pass through when asked");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let held = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&held);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            keep.lock().expect("lock").push(stream);
        }
    });
    let mut config = RemoteConfig::new(format!("http://{addr}"), credentials(None));
    config.request_timeout = Duration::from_millis(300);
    let backend = RemoteBackend::new(config, clock()).expect("backend");
    let started = Instant::now();
    let e = backend.call("us-east-1", "GetItem", json!({"TableName": "t"})).await.expect_err("timeout");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!((e.code.as_str(), e.status), ("ServiceUnavailable", 503));
    assert!(e.message.contains("did not answer within 300 ms"), "{}", e.message);
}

#[tokio::test]
async fn an_endpoint_that_is_down_fails_fast() {
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    };
    let backend =
        RemoteBackend::new(RemoteConfig::new(format!("http://{addr}"), credentials(None)), clock()).expect("backend");
    let e = backend.call("us-east-1", "GetItem", json!({"TableName": "t"})).await.expect_err("down");
    assert_eq!((e.code.as_str(), e.status), ("ServiceUnavailable", 503));
    assert!(e.message.contains("could not connect"), "{}", e.message);
}
