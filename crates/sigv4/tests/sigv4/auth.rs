//! Behavioural tests of `parse` / `verify`: time windows, payload hashes,
//! session tokens, presigned URLs and every malformed-request mapping.

use crate::common::aws_oracle::{at, oracle_sign, Oracle, Unsigned, AKID, SECRET};
use crate::common::OwnedRequest;
use sigv4::{
    canonical_request, hmac_sha256, parse, sign, signing_key, string_to_sign, verify, verify_with_cache, AuthError,
    Parsed, SigningKeyCache,
};

/// 2024-01-01T00:00:00Z
const T: i64 = 1_704_067_200;

fn parse_only(req: &OwnedRequest) -> Result<Parsed, AuthError> {
    req.with(parse)
}

fn check(req: &OwnedRequest, secret: &str, now: i64) -> Result<Parsed, AuthError> {
    req.with(|r| {
        let parsed = parse(r)?;
        verify(r, &parsed, secret, at(now))?;
        Ok(parsed)
    })
}

fn set_header(req: &mut OwnedRequest, name: &str, value: &[u8]) {
    req.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    req.headers.push((name.to_owned(), value.to_vec()));
}

fn remove_header(req: &mut OwnedRequest, name: &str) {
    req.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
}

/// A plain request carrying only the given headers.
fn raw(headers: &[(&str, &str)]) -> OwnedRequest {
    OwnedRequest {
        method: "POST".to_owned(),
        path: "/".to_owned(),
        query: String::new(),
        headers: headers.iter().map(|(n, v)| ((*n).to_owned(), v.as_bytes().to_vec())).collect(),
        body: Vec::new(),
    }
}

fn incomplete(res: Result<Parsed, AuthError>) -> String {
    match res {
        Err(AuthError::Incomplete(msg)) => msg,
        other => panic!("expected Incomplete, got {other:?}"),
    }
}

#[test]
fn header_signed_request_verifies_with_and_without_cache() {
    let signed = oracle_sign(&Unsigned::dynamodb("{}"), &Oracle::header(T));
    let parsed = check(&signed, SECRET, T).expect("valid");
    assert_eq!(parsed.access_key_id, AKID);
    assert_eq!(parsed.date, "20240101");
    assert_eq!(parsed.region, "us-east-1");
    assert_eq!(parsed.service, "dynamodb");
    assert_eq!(parsed.amz_date, "20240101T000000Z");
    assert_eq!(parsed.credential_scope(), "20240101/us-east-1/dynamodb/aws4_request");
    assert!(!parsed.presigned);
    assert_eq!(parsed.expires, None);
    assert_eq!(parsed.security_token, None);
    assert_eq!(parsed.signed_headers, ["content-type", "host", "x-amz-date", "x-amz-target"]);

    let cache = SigningKeyCache::new(8);
    signed.with(|r| {
        assert_eq!(verify_with_cache(r, &parsed, SECRET, at(T), &cache), Ok(()));
        assert_eq!(verify_with_cache(r, &parsed, SECRET, at(T), &cache), Ok(()));
        assert_eq!(verify_with_cache(r, &parsed, "other", at(T), &cache), Err(AuthError::SignatureMismatch));
    });
    assert_eq!(cache.len(), 2);
}

#[test]
fn clock_skew_in_the_past() {
    let signed = oracle_sign(&Unsigned::dynamodb("{}"), &Oracle::header(T));
    let err = check(&signed, SECRET, T + 25 * 60).unwrap_err();
    assert_eq!(
        err,
        AuthError::Expired {
            amz_date: "20240101T000000Z".into(),
            now: "20240101T002500Z".into(),
            earliest: "20240101T001000Z".into(),
            latest: "20240101T004000Z".into(),
        }
    );
    assert_eq!(
        err.to_string(),
        "Signature expired: 20240101T000000Z is now earlier than 20240101T001000Z (20240101T002500Z - 15 min.)"
    );
}

#[test]
fn clock_skew_in_the_future() {
    let signed = oracle_sign(&Unsigned::dynamodb("{}"), &Oracle::header(T));
    let err = check(&signed, SECRET, T - 25 * 60).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Signature not yet current: 20240101T000000Z is still later than 20231231T235000Z (20231231T233500Z + 15 min.)"
    );
}

#[test]
fn clock_skew_boundaries() {
    let signed = oracle_sign(&Unsigned::dynamodb("{}"), &Oracle::header(T));
    assert!(check(&signed, SECRET, T + 900).is_ok());
    assert!(check(&signed, SECRET, T - 900).is_ok());
    assert!(matches!(check(&signed, SECRET, T + 901), Err(AuthError::Expired { .. })));
    assert!(matches!(check(&signed, SECRET, T - 901), Err(AuthError::Expired { .. })));
}

#[test]
fn presigned_url_from_aws_sigv4() {
    let mut req = Unsigned::dynamodb("");
    req.method = "GET".into();
    req.query = "Action=ListUsers&Version=2010-05-08".into();
    let signed = oracle_sign(&req, &Oracle::presigned(T, 300));
    assert!(signed.query.contains("X-Amz-Signature="));
    assert!(!signed.headers.iter().any(|(n, _)| n == "authorization"));

    let parsed = check(&signed, SECRET, T + 100).expect("valid presigned");
    assert!(parsed.presigned);
    assert_eq!(parsed.expires, Some(300));
    assert_eq!(parsed.amz_date, "20240101T000000Z");
    assert!(check(&signed, SECRET, T + 300).is_ok());
    assert!(check(&signed, SECRET, T - 900).is_ok());

    let err = check(&signed, SECRET, T + 301).unwrap_err();
    assert_eq!(err, AuthError::PresignExpired);
    assert_eq!(err.to_string(), "Request has expired");
    assert!(matches!(check(&signed, SECRET, T - 901), Err(AuthError::Expired { .. })));
    assert_eq!(check(&signed, "wrong", T).unwrap_err(), AuthError::SignatureMismatch);

    // Any extra or changed parameter breaks the signature.
    let mut tampered = signed.clone();
    tampered.query.push_str("&Extra=1");
    assert_eq!(check(&tampered, SECRET, T).unwrap_err(), AuthError::SignatureMismatch);
    let mut tampered = signed.clone();
    tampered.query = tampered.query.replace("ListUsers", "ListRoles");
    assert_eq!(check(&tampered, SECRET, T).unwrap_err(), AuthError::SignatureMismatch);

    // aws-sigv4 signed the body's hash here, so the body is covered too.
    let mut tampered = signed.clone();
    tampered.body = b"x".to_vec();
    assert_eq!(check(&tampered, SECRET, T).unwrap_err(), AuthError::SignatureMismatch);
}

#[test]
fn presigned_url_with_unsigned_payload_ignores_body() {
    let mut o = Oracle::presigned(T, 60);
    o.unsigned_payload = true;
    let signed = oracle_sign(&Unsigned::dynamodb("{}"), &o);
    assert!(check(&signed, SECRET, T).is_ok());
    let mut other_body = signed.clone();
    other_body.body = b"anything".to_vec();
    assert!(check(&other_body, SECRET, T).is_ok());
}

#[test]
fn presigned_url_with_session_token() {
    let mut o = Oracle::presigned(T, 60);
    o.session_token = Some("FwoGZXIvYXdzEXAMPLE/token+with=chars".into());
    let signed = oracle_sign(&Unsigned::dynamodb(""), &o);
    let parsed = check(&signed, SECRET, T).expect("valid");
    assert_eq!(parsed.security_token, o.session_token);
}

#[test]
fn presigned_parameter_errors() {
    let mut req = Unsigned::dynamodb("");
    req.method = "GET".into();
    let signed = oracle_sign(&req, &Oracle::presigned(T, 300));

    let mut too_long = signed.clone();
    too_long.query = too_long.query.replace("X-Amz-Expires=300", "X-Amz-Expires=604801");
    assert_eq!(incomplete(parse_only(&too_long)), "X-Amz-Expires must be less than a week (in seconds) that is 604800");
    let mut week = signed.clone();
    week.query = week.query.replace("X-Amz-Expires=300", "X-Amz-Expires=604800");
    assert_eq!(parse_only(&week).unwrap().expires, Some(604_800));

    let mut nan = signed.clone();
    nan.query = nan.query.replace("X-Amz-Expires=300", "X-Amz-Expires=soon");
    assert_eq!(incomplete(parse_only(&nan)), "X-Amz-Expires should be a number");

    let mut algo = signed.clone();
    algo.query = algo.query.replace("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256");
    assert_eq!(parse_only(&algo).unwrap_err(), AuthError::UnsupportedAlgorithm("AWS4-ECDSA-P256-SHA256".into()));

    let partial = OwnedRequest {
        query: "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20240101T000000Z".into(),
        ..raw(&[("host", "localhost")])
    };
    assert_eq!(
        incomplete(parse_only(&partial)),
        "AWS query-string parameters must include 'X-Amz-Credential'. \
         AWS query-string parameters must include 'X-Amz-Signature'. \
         AWS query-string parameters must include 'X-Amz-SignedHeaders'. \
         Re-examine the query-string parameters."
    );

    // Both mechanisms at once.
    let mut both = signed.clone();
    both.headers.push(("Authorization".into(), b"AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request".to_vec()));
    assert!(incomplete(parse_only(&both)).starts_with("Only one auth mechanism allowed"));
}

#[test]
fn unsigned_payload_header() {
    let mut o = Oracle::header(T);
    o.unsigned_payload = true;
    let signed = oracle_sign(&Unsigned::dynamodb("{}"), &o);
    let sha = signed.headers.iter().find(|(n, _)| n == "x-amz-content-sha256").map(|(_, v)| v.clone());
    assert_eq!(sha.as_deref(), Some(&b"UNSIGNED-PAYLOAD"[..]));
    assert!(check(&signed, SECRET, T).is_ok());
    let mut other_body = signed.clone();
    other_body.body = b"{\"TableName\":\"x\"}".to_vec();
    assert!(check(&other_body, SECRET, T).is_ok());
}

#[test]
fn content_sha256_header_must_match_body() {
    let mut o = Oracle::header(T);
    o.content_sha_header = true;
    let signed = oracle_sign(&Unsigned::dynamodb("{\"a\":1}"), &o);
    assert!(check(&signed, SECRET, T).is_ok());

    let mut other_body = signed.clone();
    other_body.body = b"{\"a\":2}".to_vec();
    let err = check(&other_body, SECRET, T).unwrap_err();
    assert_eq!(err, AuthError::BadPayloadHash);
    assert_eq!(err.to_string(), "The provided 'x-amz-content-sha256' header does not match what was computed.");

    for bogus in [&b"STREAMING-AWS4-HMAC-SHA256-PAYLOAD"[..], b"abc", b"\xff\xfe"] {
        let mut streaming = signed.clone();
        set_header(&mut streaming, "x-amz-content-sha256", bogus);
        assert_eq!(check(&streaming, SECRET, T).unwrap_err(), AuthError::BadPayloadHash);
    }
}

#[test]
fn security_token_header() {
    let mut o = Oracle::header(T);
    o.session_token = Some("IQoJb3JpZ2luX2VjEXAMPLE==".into());
    let signed = oracle_sign(&Unsigned::dynamodb("{}"), &o);
    let parsed = check(&signed, SECRET, T).expect("valid");
    assert_eq!(parsed.security_token.as_deref(), Some("IQoJb3JpZ2luX2VjEXAMPLE=="));
    assert!(parsed.signed_headers.iter().any(|h| h == "x-amz-security-token"));

    // The token is signed: swapping it breaks the signature.
    let mut swapped = signed.clone();
    set_header(&mut swapped, "X-Amz-Security-Token", b"SomeOtherToken");
    assert_eq!(check(&swapped, SECRET, T).unwrap_err(), AuthError::SignatureMismatch);

    // An unsigned token header (as some SDKs send for STS) is still reported.
    let mut unsigned = oracle_sign(&Unsigned::dynamodb("{}"), &Oracle::header(T));
    unsigned.headers.push(("X-Amz-Security-Token".into(), b"tok".to_vec()));
    let parsed = check(&unsigned, SECRET, T).expect("valid");
    assert_eq!(parsed.security_token.as_deref(), Some("tok"));
}

#[test]
fn missing_authentication() {
    let req = raw(&[("host", "localhost"), ("x-amz-date", "20240101T000000Z")]);
    let err = parse_only(&req).unwrap_err();
    assert_eq!(err, AuthError::Missing);
    assert_eq!(err.to_string(), "Missing Authentication Token");
    // A blank header counts as absent; X-Amz-* query parameters without
    // X-Amz-Algorithm do not make a presigned URL.
    let blank = raw(&[("Authorization", "  ")]);
    assert_eq!(parse_only(&blank).unwrap_err(), AuthError::Missing);
    let no_algo = OwnedRequest { query: "X-Amz-Signature=00&X-Amz-Credential=a".into(), ..raw(&[]) };
    assert_eq!(parse_only(&no_algo).unwrap_err(), AuthError::Missing);
}

#[test]
fn garbled_authorization_headers() {
    // Algorithm only, with a date header.
    let req = raw(&[("Authorization", "AWS4-HMAC-SHA256"), ("X-Amz-Date", "20240101T000000Z")]);
    assert_eq!(
        incomplete(parse_only(&req)),
        "Authorization header requires 'Credential' parameter. \
         Authorization header requires 'Signature' parameter. \
         Authorization header requires 'SignedHeaders' parameter. \
         Authorization=AWS4-HMAC-SHA256"
    );

    // Partial, and no date header at all.
    let value = "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/iam/aws4_request";
    let req = raw(&[("authorization", value)]);
    assert_eq!(
        incomplete(parse_only(&req)),
        format!(
            "Authorization header requires 'Signature' parameter. \
             Authorization header requires 'SignedHeaders' parameter. \
             Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. \
             Authorization={value}"
        )
    );

    // A token without '='.
    let value =
        "AWS4-HMAC-SHA256 Credential=AKID /20240101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00";
    let req = raw(&[("authorization", value), ("x-amz-date", "20240101T000000Z")]);
    assert_eq!(
        incomplete(parse_only(&req)),
        format!(
            "'/20240101/us-east-1/iam/aws4_request' not a valid key=value pair \
             (missing equal-sign) in Authorization header: '{value}'."
        )
    );

    let with = |cred: &str, signed: &str, date: &str| {
        raw(&[
            ("authorization", &format!("AWS4-HMAC-SHA256 Credential={cred}, SignedHeaders={signed}, Signature=00")),
            ("x-amz-date", date),
            ("host", "localhost"),
        ])
    };
    let ok_cred = "AKID/20240101/us-east-1/iam/aws4_request";
    let d = "20240101T000000Z";

    // Malformed credential scopes.
    assert_eq!(
        incomplete(parse_only(&with("AKID/20240101/us-east-1/iam", "host", d))),
        "Credential must have exactly 5 slash-delimited elements, \
         e.g. keyid/date/region/service/term, got 'AKID/20240101/us-east-1/iam'"
    );
    assert_eq!(
        incomplete(parse_only(&with("AKID/20240101/us-east-1/iam/aws5_request", "host", d))),
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. "
    );
    assert_eq!(
        incomplete(parse_only(&with("AKID/20240101//iam/aws4_request", "host", d))),
        "Credential should be scoped to a valid region. "
    );
    // The service is returned for the caller to check.
    let parsed = parse_only(&with("AKID/20240101/eu-west-1/sts/aws4_request", "host", d)).unwrap();
    assert_eq!((parsed.region.as_str(), parsed.service.as_str()), ("eu-west-1", "sts"));

    // Scope date vs request date.
    assert_eq!(
        incomplete(parse_only(&with("AKID/20231231/us-east-1/iam/aws4_request", "host", d))),
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: \
         '20231231' != '20240101', from '20240101T000000Z'."
    );
    // Bad timestamp.
    assert_eq!(
        incomplete(parse_only(&with(ok_cred, "host", "2024-01-01T00:00:00Z"))),
        "Date must be in ISO-8601 'basic format'. Got '2024-01-01T00:00:00Z'. \
         See http://en.wikipedia.org/wiki/ISO_8601"
    );
    // Host must be signed.
    assert_eq!(
        incomplete(parse_only(&with(ok_cred, "x-amz-date", d))),
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
    );
    // Header names in SignedHeaders are case-insensitive.
    let parsed = parse_only(&with(ok_cred, "Host;X-Amz-Date", d)).unwrap();
    assert_eq!(parsed.signed_headers, ["host", "x-amz-date"]);
}

#[test]
fn unsupported_algorithms() {
    for (value, algo) in [
        ("AWS3-HTTPS AWSAccessKeyId=AKID,Algorithm=HmacSHA256,Signature=x", "AWS3-HTTPS"),
        ("AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=", "AWS"),
        ("AWS4-HMAC-SHA512 Credential=a/b/c/d/aws4_request", "AWS4-HMAC-SHA512"),
        ("Bearer eyJhbGciOiJIUzI1NiJ9", "Bearer"),
        ("junk", "junk"),
    ] {
        let err = parse_only(&raw(&[("Authorization", value)])).unwrap_err();
        assert_eq!(err, AuthError::UnsupportedAlgorithm(algo.into()), "{value}");
        assert!(err.is_malformed());
        assert_eq!(
            err.to_string(),
            "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."
        );
    }
}

#[test]
fn invalid_utf8_header_values_are_errors_not_panics() {
    // In the Authorization header itself.
    let mut req = raw(&[("x-amz-date", "20240101T000000Z")]);
    req.headers.push(("Authorization".into(), b"AWS4-HMAC-SHA256 Credential=\xff\xfe".to_vec()));
    assert!(matches!(parse_only(&req), Err(AuthError::Incomplete(_))));

    // In X-Amz-Date.
    let mut signed = oracle_sign(&Unsigned::dynamodb("{}"), &Oracle::header(T));
    let mut bad_date = signed.clone();
    set_header(&mut bad_date, "x-amz-date", b"2024\xff");
    assert!(matches!(parse_only(&bad_date), Err(AuthError::Incomplete(_))));

    // In a signed header: cannot match any signature.
    let mut bad_signed = signed.clone();
    set_header(&mut bad_signed, "x-amz-target", b"DynamoDB_20120810.\xffListTables");
    let parsed = parse_only(&bad_signed).expect("parse succeeds");
    bad_signed.with(|r| {
        assert_eq!(canonical_request(r, &parsed), Err(AuthError::SignatureMismatch));
        assert_eq!(verify(r, &parsed, SECRET, at(T)), Err(AuthError::SignatureMismatch));
    });

    // In an unsigned header: irrelevant.
    signed.headers.push(("x-unsigned".into(), b"\xff\xff".to_vec()));
    assert!(check(&signed, SECRET, T).is_ok());
}

#[test]
fn absent_signed_header_is_a_mismatch() {
    let signed = oracle_sign(&Unsigned::dynamodb("{}"), &Oracle::header(T));
    let mut missing = signed.clone();
    remove_header(&mut missing, "content-type");
    let parsed = parse_only(&missing).expect("parse");
    missing.with(|r| {
        assert_eq!(canonical_request(r, &parsed), Err(AuthError::SignatureMismatch));
        assert_eq!(verify(r, &parsed, SECRET, at(T)), Err(AuthError::SignatureMismatch));
    });
}

#[test]
fn duplicate_headers_are_joined_in_order() {
    let mut req = Unsigned::dynamodb("{}");
    req.headers.push(("x-dup".into(), "first".into()));
    req.headers.push(("x-dup".into(), "  second   value ".into()));
    let signed = oracle_sign(&req, &Oracle::header(T));
    let parsed = check(&signed, SECRET, T).expect("valid");
    let creq = signed.with(|r| canonical_request(r, &parsed)).unwrap();
    assert!(creq.contains("\nx-dup:first,second value\n"), "{creq}");

    // Differently-cased duplicate names are the same header.
    let mut recased = signed.clone();
    for (n, _) in &mut recased.headers {
        if n == "x-dup" {
            *n = "X-Dup".into();
            break;
        }
    }
    assert!(check(&recased, SECRET, T).is_ok());

    // Order matters.
    let mut swapped = signed.clone();
    let idx: Vec<usize> = (0..swapped.headers.len()).filter(|&i| swapped.headers[i].0 == "x-dup").collect();
    swapped.headers.swap(idx[0], idx[1]);
    assert_eq!(check(&swapped, SECRET, T).unwrap_err(), AuthError::SignatureMismatch);
}

#[test]
fn http_date_header_instead_of_x_amz_date() {
    let date = "Mon, 01 Jan 2024 00:00:00 GMT";
    let mut req = raw(&[("Host", "localhost:8000"), ("Date", date)]);
    req.body = b"Action=GetCallerIdentity&Version=2011-06-15".to_vec();
    let auth = |sig: &str| {
        format!(
            "AWS4-HMAC-SHA256 Credential={AKID}/20240101/us-east-1/sts/aws4_request, \
             SignedHeaders=date;host, Signature={sig}"
        )
    };
    req.headers.push(("Authorization".into(), auth("00").into_bytes()));
    let parsed = parse_only(&req).expect("parse");
    assert_eq!(parsed.amz_date, date);
    assert_eq!(parsed.iso_date(), "20240101T000000Z");
    let creq = req.with(|r| canonical_request(r, &parsed)).unwrap();
    let sts = string_to_sign("20240101T000000Z", &parsed.credential_scope(), &creq);
    let key = signing_key(SECRET, "20240101", "us-east-1", "sts");
    let sig = hex::encode(hmac_sha256(&key, sts.as_bytes()));
    set_header(&mut req, "Authorization", auth(&sig).as_bytes());
    assert!(check(&req, SECRET, T).is_ok());
    // An ISO-8601 value in Date works too; garbage does not.
    let mut iso = req.clone();
    set_header(&mut iso, "Date", b"20240101T000000Z");
    assert_eq!(check(&iso, SECRET, T).unwrap_err(), AuthError::SignatureMismatch);
    let mut junk = req.clone();
    set_header(&mut junk, "Date", b"yesterday");
    assert!(matches!(parse_only(&junk), Err(AuthError::Incomplete(_))));
}

#[test]
fn own_sign_round_trips() {
    let headers = [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"), ("X-Custom", "  a   b  ")];
    for (service, path, token) in [
        ("iam", "/", None),
        ("sts", "/", Some("session-token")),
        ("dynamodb", "/a/./b/../c%20d", None),
        ("s3", "/bucket/key%20with%20spaces/./x", None),
    ] {
        let out = sign(
            "POST",
            "localhost:4566",
            path,
            "Action=ListUsers&Version=2010-05-08",
            &headers,
            b"body",
            AKID,
            SECRET,
            token,
            "us-east-1",
            service,
            at(T),
        );
        let names: Vec<&str> = out.iter().map(|(n, _)| n.as_str()).collect();
        let mut want = vec!["authorization", "x-amz-date", "x-amz-content-sha256"];
        if token.is_some() {
            want.push("x-amz-security-token");
        }
        assert_eq!(names, want);

        let mut req = OwnedRequest {
            method: "POST".into(),
            path: path.into(),
            query: "Action=ListUsers&Version=2010-05-08".into(),
            headers: headers.iter().map(|(n, v)| ((*n).to_owned(), v.as_bytes().to_vec())).collect(),
            body: b"body".to_vec(),
        };
        req.headers.push(("Host".into(), b"localhost:4566".to_vec()));
        for (n, v) in &out {
            req.headers.push((n.clone(), v.clone().into_bytes()));
        }
        let parsed = check(&req, SECRET, T).unwrap_or_else(|e| panic!("{service}: {e}"));
        assert_eq!(parsed.service, service);
        assert_eq!(parsed.normalize_path, service != "s3");
        assert_eq!(parsed.security_token.as_deref(), token);
    }
}

#[test]
fn signature_mismatch_message() {
    assert_eq!(
        AuthError::SignatureMismatch.to_string(),
        "The request signature we calculated does not match the signature you provided. \
         Check your AWS Secret Access Key and signing method. \
         Consult the service documentation for details."
    );
    let err: Box<dyn std::error::Error> = Box::new(AuthError::PresignExpired);
    assert_eq!(err.to_string(), "Request has expired");
}
